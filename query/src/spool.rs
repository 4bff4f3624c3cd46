//! The rows of unfinished recordings that are not in a segment yet.
//!
//! A recording whose recorder is still running, was killed or stopped on an
//! error (a full disk) keeps its newest rows in the checkpoint and spool of
//! its open segment (see the format's crash safety). For a local recording
//! they are read in memory, as `hindsight info` and `replay` do
//! ([`hindsight_format::Recording::salvaged`]), and `events` is the union
//! of the Parquet segments and those rows. Nothing is written: `hindsight
//! recover` makes them a segment. An object store's recording is read from
//! its segments only, with a warning.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::object_store::path::Path as StorePath;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use futures::TryStreamExt;

use crate::QueryError;
use crate::source::is_segment_in;

/// An unfinished recording found under a PATH.
#[derive(Debug, Clone)]
pub struct Unfinished {
    /// Its directory, as named in messages.
    pub dir: String,
    /// Hive partition values above it (key, value), outermost first.
    pub partition_values: Vec<(String, String)>,
    /// The rows of its checkpoint and spool beyond its committed segments,
    /// in `seq` order (read for local recordings only).
    pub rows: Vec<RecordBatch>,
}

/// Reads the rows of the unfinished local recording at `dir` and logs why it
/// is incomplete and what was read (the warnings `hindsight info` gives).
///
/// Both halves of the recording come from one snapshot: its `events/`
/// directory (`events`, its location in `store`) is listed once, after the
/// checkpoint and spool were read, and that listing is returned to be
/// scanned as it is; the rows read in memory of a segment whose file the
/// listing holds are left out. A segment committed while the session is set
/// up (or used) is thus counted once: from its file if it was there at the
/// listing, else from the rows read before.
pub async fn read_local(
    dir: &std::path::Path,
    store: &dyn ObjectStore,
    events: &StorePath,
    partition_values: Vec<(String, String)>,
) -> Result<(Unfinished, Vec<ObjectMeta>), QueryError> {
    let rec = hindsight_format::Recording::open(dir)?;
    for w in rec.warnings() {
        log::warn!("{w}");
    }
    let listed: Vec<ObjectMeta> = match store.list(Some(events)).try_collect().await {
        Ok(listed) => listed,
        Err(datafusion::object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => {
            return Err(QueryError::ObjectStore {
                url: dir.join("events").display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let segments: Vec<ObjectMeta> = listed
        .into_iter()
        .filter(|m| is_segment_in(&m.location, events))
        .collect();
    let names: std::collections::BTreeSet<&str> = segments
        .iter()
        .filter_map(|m| m.location.filename())
        .collect();
    let rows = rec
        .salvaged_by_segment()
        .filter(|(index, _)| {
            let file = hindsight_format::manifest::segment_file_name(*index);
            !names.contains(file.rsplit('/').next().unwrap_or(&file))
        })
        .map(|(_, b)| b.clone())
        .collect();
    Ok((
        Unfinished {
            dir: dir.display().to_string(),
            partition_values,
            rows,
        },
        segments,
    ))
}

/// Logs that an unfinished recording in an object store is read from its
/// committed segments only.
pub fn warn_remote(dir: &str, manifest: &hindsight_format::Manifest) {
    let why = manifest.incomplete_because().unwrap_or_default();
    log::warn!(
        "{dir}: the recording is not complete ({why}): rows not yet in a segment are in its \
         spool, which is not read from an object store; run `hindsight recover` on the \
         directory before copying it to make them a segment"
    );
}

/// `events` over one group of inputs: their segments (`segments`), and the
/// spool rows of their unfinished recordings when there are any (then a
/// union of the two, its tables registered as `hindsight.internal.NAME_*`).
pub async fn with_spool_rows(
    ctx: &SessionContext,
    name: &str,
    segments: Arc<dyn TableProvider>,
    unfinished: &[&Unfinished],
) -> Result<Arc<dyn TableProvider>, QueryError> {
    let schema = segments.schema();
    let mut batches = Vec::new();
    for u in unfinished {
        for b in &u.rows {
            let b =
                conform(b, &schema, &u.partition_values).map_err(|e| QueryError::SpoolRows {
                    dir: u.dir.clone(),
                    reason: e.to_string(),
                })?;
            batches.push(b);
        }
    }
    if batches.is_empty() {
        return Ok(segments);
    }
    let memory = MemTable::try_new(Arc::clone(&schema), vec![batches])?;
    let seg_name = format!("hindsight.internal.{name}_segments");
    let spool_name = format!("hindsight.internal.{name}_spool");
    ctx.register_table(seg_name.as_str(), segments)?;
    ctx.register_table(spool_name.as_str(), Arc::new(memory))?;
    let union = ctx
        .table(seg_name.as_str())
        .await?
        .union(ctx.table(spool_name.as_str()).await?)?;
    Ok(union.into_view())
}

/// A spool batch (the events schema) in the table's schema: strings as the
/// scan reads them, partition columns from the recording's path, columns it
/// lacks (an older format) null.
fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    partition_values: &[(String, String)],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = match batch.column_by_name(field.name()) {
            Some(c) => cast(c, field.data_type())?,
            None => match partition_values.iter().find(|(k, _)| k == field.name()) {
                Some((_, v)) => {
                    let values: ArrayRef = Arc::new(StringArray::from(vec![v.as_str(); n]));
                    cast(&values, field.data_type())?
                }
                None => new_null_array(field.data_type(), n),
            },
        };
        columns.push(column);
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
}
