//! The on-disk recording format of Hindsight, version 1.
//!
//! A recording is a directory holding `manifest.json` and `events/`, where the
//! events live in zstd-compressed Parquet segments `events/part-NNNNNN.parquet`.
//! Every segment has the one wide [`schema::events_schema`]; every row is one
//! [`Event`]. This crate depends on neither aya nor DataFusion: the recorder
//! writes through it, and the query and replay crates read through it.

pub mod event;
pub mod schema;

pub use event::Event;
pub use schema::{COLUMNS, Column, FORMAT_VERSION, events_schema};
