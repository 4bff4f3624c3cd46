//! SQL over Hindsight recordings: [`session`] returns a DataFusion
//! `SessionContext` with the `events` table, forensic views and UDFs.
