//! SQL over Hindsight recordings: [`session`] returns a DataFusion
//! `SessionContext` with the `events` table, forensic views and UDFs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hindsight_query::QueryError> {
//! let ctx = hindsight_query::session(&["fixtures/recordings/synthetic-small"], Default::default()).await?;
//! for df in hindsight_query::run_sql(&ctx, "SELECT pid, exe FROM processes LIMIT 3").await? {
//!     df.show().await?;
//! }
//! # Ok(()) }
//! ```
//!
//! Recordings are only ever read: every object store is wrapped in
//! [`readonly::ReadOnlyStore`] and [`run_sql`] rejects statements that write.

pub mod build_side;
pub mod cache;
pub mod cheap_first;
pub mod distinct;
mod error;
pub mod filters;
pub mod group_codes;
pub mod like;
pub mod output;
pub mod pushdown;
pub mod readonly;
mod session;
pub mod share_work;
pub mod snapshot;
pub mod source;
pub mod spool;
pub mod sql;
pub mod store;
pub mod tablefn;
pub mod udf;
pub mod view_eq;
pub mod views;

pub use datafusion;
pub use error::QueryError;
pub use session::{SessionOptions, session, session_config};
pub use sql::{diagnose, run_sql};
