//! The on-disk recording format of Hindsight, version 1.
//!
//! A recording is a directory holding `manifest.json` and `events/`, where the
//! events live in zstd-compressed Parquet segments `events/part-NNNNNN.parquet`.
//! Every segment has the one wide [`schema::events_schema`]; every row is one
//! [`Event`]. This crate depends on neither aya nor DataFusion: the recorder
//! writes through it, and the query and replay crates read through it.
//!
//! - write: [`RecordingWriter`] (crash-safe: spool, atomic segments and manifest)
//! - read: [`Recording::open`], [`discover`] for fleet trees
//! - repair: [`recover()`]
//! - describe: [`Summary`]
//! - synthesize: [`generate::generate_recording`]

pub mod batch;
pub mod builder;
pub mod checkpoint;
mod columns;
pub mod errno;
pub mod error;
pub mod event;
pub mod generate;
pub mod lock;
pub mod manifest;
pub mod reader;
pub mod recover;
pub mod reserve;
pub mod schema;
pub mod segment;
pub mod spool;
pub mod summary;
pub mod writer;

pub use batch::{EventColumns, batch_to_events, events_to_batch};
pub use builder::{EventBatchBuilder, SharedValues};
pub use error::{FormatError, Result};
pub use event::{Event, EventKind};
pub use manifest::{Manifest, SegmentInfo};
pub use reader::{DiscoveredRecording, OpenOptions, Recording, discover};
pub use recover::{RecoveryReport, recover};
pub use schema::{COLUMNS, Column, ColumnType, FORMAT_VERSION, events_schema};
pub use summary::Summary;
pub use writer::{RecordingWriter, WriterOptions};
