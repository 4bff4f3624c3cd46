//! [`QueryError`]: everything that can go wrong opening recordings or running SQL.

use datafusion::error::DataFusionError;

/// An error from [`crate::session`] or [`crate::run_sql`].
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A local path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as the user gave it.
        path: String,
    },
    /// A path exists but holds no recording (no `events/*.parquet`, no `manifest.json`).
    #[error(
        "{path}: no recording here (expected a recording directory with manifest.json and \
         events/part-*.parquet, or a tree of them such as host=NAME/date=YYYY-MM-DD/...)"
    )]
    NoRecording {
        /// The path as the user gave it.
        path: String,
    },
    /// The Hive partition directories (`key=value`) of one tree disagree.
    #[error(
        "{path}: inconsistent partition directories: {first} is under {first_keys:?} but {other} is under {other_keys:?}"
    )]
    InconsistentPartitions {
        /// The tree as the user gave it.
        path: String,
        /// A file with the first layout.
        first: String,
        /// Its partition keys.
        first_keys: Vec<String>,
        /// A file with another layout.
        other: String,
        /// Its partition keys.
        other_keys: Vec<String>,
    },
    /// A segment that a recording's manifest lists is not there: the
    /// recording is incomplete, and an answer over it would be wrong.
    #[error(
        "{file}: segment listed in {manifest} is missing (a query over the rest would \
         silently miss its rows)"
    )]
    MissingSegment {
        /// The missing segment's location (path or URL).
        file: String,
        /// The manifest that lists it.
        manifest: String,
    },
    /// A segment's size is not the one its manifest records: it was
    /// truncated, or replaced by another file (another recording's segment),
    /// so its rows are not the recording's.
    #[error(
        "{file}: segment is truncated or was changed: {actual} bytes, {manifest} says {expected}"
    )]
    SegmentSize {
        /// The segment's location (path or URL).
        file: String,
        /// The manifest that lists it.
        manifest: String,
        /// Its size in the manifest.
        expected: u64,
        /// Its size in the store.
        actual: u64,
    },
    /// A complete recording's `events/` holds a segment its manifest does
    /// not list (a stray copy): its rows would be counted in every answer.
    #[error(
        "{file}: not listed in {manifest}; this segment does not belong to the recording \
         (move it away, or query it on its own by naming the file)"
    )]
    UnlistedSegment {
        /// The segment's location (path or URL).
        file: String,
        /// The manifest of its recording.
        manifest: String,
    },
    /// A recording (or segment files) inside another recording's directory,
    /// on an object store, whose scan would read them with the outer one.
    #[error(
        "{inner}: a recording inside the recording {outer}: move it out of it, or name each \
         as a PATH of its own"
    )]
    NestedRecording {
        /// The inner recording's directory (path or URL).
        inner: String,
        /// The recording around it.
        outer: String,
    },
    /// A recording's `manifest.json` cannot be read.
    #[error("{manifest}: {reason}")]
    BadManifest {
        /// The manifest's location (path or URL).
        manifest: String,
        /// What is wrong.
        reason: String,
    },
    /// A segment is not a readable Parquet file.
    #[error("{file}: corrupt segment: {reason}")]
    CorruptSegment {
        /// The segment's location (path or URL).
        file: String,
        /// What the Parquet reader said.
        reason: String,
    },
    /// An object-store URL could not be used.
    #[error("{url}: {reason}")]
    ObjectStore {
        /// The URL as the user gave it.
        url: String,
        /// Why not.
        reason: String,
    },
    /// A local file or directory whose name an object-store path cannot
    /// hold (a control character such as a newline, or bytes that are not
    /// UTF-8): recordings are read through such paths.
    #[error(
        "{file:?}: cannot be queried: its name {name:?} {reason}, which the object-store \
         paths that recordings are read through cannot hold; rename it"
    )]
    IllegalName {
        /// The file or directory (an input, or one in its tree).
        file: String,
        /// Its name, or the name of the directory above it that is at fault.
        name: String,
        /// What the name holds.
        reason: String,
    },
    /// A statement would write (COPY, INSERT, ...): queries never modify recordings.
    #[error(
        "{statement} is not allowed: hindsight query never writes. To save a result use \
         `-o FILE --format parquet|csv|json|jsonl` (or CREATE TABLE name AS SELECT ... for a \
         table that lives in memory for this session)"
    )]
    WriteRejected {
        /// The kind of statement.
        statement: String,
    },
    /// A SQL error, rendered with position and hint (see [`crate::diagnose`]).
    #[error("{0}")]
    Sql(String),
    /// Any other DataFusion error.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// The rows read from an unfinished recording's checkpoint and spool do
    /// not fit the `events` table.
    #[error("{dir}: the rows of its checkpoint and spool cannot be read as `events`: {reason}")]
    SpoolRows {
        /// The recording's directory.
        dir: String,
        /// What did not fit.
        reason: String,
    },
    /// Reading an unfinished recording's spool failed (the format's error
    /// names the file).
    #[error(transparent)]
    Recording(#[from] hindsight_format::FormatError),
}
