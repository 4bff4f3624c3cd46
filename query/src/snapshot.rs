//! [`SnapshotStore`]: a local store whose listings hold only the segment
//! files found when the session was set up.
//!
//! DataFusion lists a table's files when it first plans a statement, which
//! can be long after the session read an unfinished recording's checkpoint
//! and spool in memory ([`crate::spool`]); a segment committed in between
//! would then be read twice, from its file and from memory. Listing through
//! this store gives the scan exactly the files [`crate::source::resolve`]
//! found, in the same snapshot as the rows read in memory.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::object_store::path::Path;
use datafusion::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::source::{is_segment_in, parent};

/// Wraps a store; listings leave out the segment files (`.parquet` files in
/// an `events` directory below one of the inputs' roots) not in the
/// snapshot, and `.parquet` files in directories below such an `events`
/// directory (no segments, though the segment glob matches them);
/// everything else passes through, so that a table the user
/// declares over other Parquet files (`CREATE EXTERNAL TABLE`) sees them all.
#[derive(Debug)]
pub struct SnapshotStore {
    inner: Arc<dyn ObjectStore>,
    snapshot: Arc<Snapshot>,
}

/// The segments found (`None`: every segment file as the store lists it),
/// and the roots below which they were looked for.
#[derive(Debug)]
struct Snapshot {
    segments: Option<HashSet<Path>>,
    roots: Vec<Path>,
}

impl Snapshot {
    fn keeps(&self, location: &Path) -> bool {
        if !location.as_ref().ends_with(".parquet")
            || self.segments.as_ref().is_some_and(|s| s.contains(location))
        {
            return true;
        }
        let Some(rel) = self
            .roots
            .iter()
            .find_map(|r| location.prefix_match(r).map(|rel| rel.collect::<Vec<_>>()))
        else {
            return true;
        };
        if is_segment_in(location, &parent(location)) {
            return self.segments.is_none();
        }
        // Below a directory named `events` but not directly in it: the
        // segment glob (`**/events/*.parquet`, whose `*` spans `/`) would
        // take it for a segment.
        !rel[..rel.len().saturating_sub(1)]
            .iter()
            .any(|p| p.as_ref() == "events")
    }
}

impl SnapshotStore {
    /// Wraps `inner`, listing of the segment files below `roots` only
    /// `segments`.
    pub fn new(inner: Arc<dyn ObjectStore>, segments: HashSet<Path>, roots: Vec<Path>) -> Self {
        Self {
            inner,
            snapshot: Arc::new(Snapshot {
                segments: Some(segments),
                roots,
            }),
        }
    }

    /// Wraps `inner` (an object store, listed as it is when scanned),
    /// leaving out only the `.parquet` files below `roots` that are in a
    /// directory below an `events` directory: no segments.
    pub fn segments_only(inner: Arc<dyn ObjectStore>, roots: Vec<Path>) -> Self {
        Self {
            inner,
            snapshot: Arc::new(Snapshot {
                segments: None,
                roots,
            }),
        }
    }

    fn filtered(
        &self,
        stream: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let snapshot = Arc::clone(&self.snapshot);
        stream
            .filter(move |m| {
                let keep = match m {
                    Ok(m) => snapshot.keeps(&m.location),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }
}

impl fmt::Display for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snapshot({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for SnapshotStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.filtered(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.filtered(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects.retain(|m| self.snapshot.keeps(&m.location));
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unlisted_segment_files_below_the_roots_are_left_out() {
        let snapshot = Snapshot {
            segments: Some(
                [Path::from("data/rec/events/part-000000.parquet")]
                    .into_iter()
                    .collect(),
            ),
            roots: vec![Path::from("data")],
        };
        assert!(snapshot.keeps(&Path::from("data/rec/events/part-000000.parquet")));
        // A segment committed after the snapshot.
        assert!(!snapshot.keeps(&Path::from("data/rec/events/part-000001.parquet")));
        // Not a segment: the manifest, a spool, other Parquet files.
        assert!(snapshot.keeps(&Path::from("data/rec/manifest.json")));
        assert!(snapshot.keeps(&Path::from("data/results/answer.parquet")));
        assert!(snapshot.keeps(&Path::from("elsewhere/events/x.parquet")));
        // In a directory below a recording's events/ (a backup copy): no
        // segment, and not to be scanned as one.
        assert!(!snapshot.keeps(&Path::from("data/rec/events/backup/part-000000.parquet")));
        assert!(!snapshot.keeps(&Path::from("data/events/a/b/x.parquet")));
    }

    #[test]
    fn without_a_snapshot_only_files_below_events_dirs_are_left_out() {
        let snapshot = Snapshot {
            segments: None,
            roots: vec![Path::from("data")],
        };
        assert!(snapshot.keeps(&Path::from("data/rec/events/part-000007.parquet")));
        assert!(snapshot.keeps(&Path::from("data/events/rec/events/part-000007.parquet")));
        assert!(!snapshot.keeps(&Path::from("data/rec/events/backup/part-000000.parquet")));
        assert!(snapshot.keeps(&Path::from("elsewhere/events/backup/x.parquet")));
    }
}
