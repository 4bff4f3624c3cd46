//! Checkpoints: the Parquet footer of the row groups a segment being written
//! has flushed so far, kept next to the spool as
//! `spool/checkpoint-NNNNNN.parquet-footer`.
//!
//! A busy recorder does not copy its rows into the spool: once a second it
//! closes the row group in progress, fsyncs the temporary segment file and
//! writes a checkpoint, which makes every row written so far readable from
//! that file after a crash. The spool then starts a new generation: a
//! checkpoint of generation `g` covers every row of spool generations up to
//! `g`, so after a crash between the two steps the older spool's rows are
//! not read twice.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::{ArrowSchemaConverter, encode_arrow_schema};
use parquet::file::metadata::{
    FileMetaData, KeyValue, ParquetMetaDataBuilder, ParquetMetaDataReader, ParquetMetaDataWriter,
    RowGroupMetaData,
};
use parquet::file::properties::WriterProperties;

use crate::error::{FormatError, Result};
use crate::manifest::{create_private, remove_if_exists, sync_dir};
use crate::schema::events_schema;
use crate::spool::SPOOL_DIR;

/// Key of the footer's key-value metadata that holds the spool generation
/// the checkpoint covers.
pub const GENERATION_KEY: &str = "hindsight.spool_generation";

/// The checkpoint file of segment `index`, relative to the recording.
pub fn checkpoint_file_name(index: u64) -> String {
    format!("{SPOOL_DIR}/checkpoint-{index:06}.parquet-footer")
}

/// The temporary segment file of segment `index`, relative to the recording.
pub fn temporary_file_name(index: u64) -> String {
    format!("events/.part-{index:06}.parquet.tmp")
}

/// Writes the checkpoint of segment `index`: a Parquet footer (metadata,
/// its length, `PAR1`) listing `row_groups`, which must already be durable
/// in the segment's temporary file. Written to a temporary name, fsynced and
/// renamed, so a checkpoint on disk is always whole.
pub fn write_checkpoint(
    dir: &Path,
    index: u64,
    props: &WriterProperties,
    row_groups: &[RowGroupMetaData],
    generation: u64,
) -> Result<()> {
    let path = dir.join(checkpoint_file_name(index));
    let schema = events_schema();
    let descr = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)
        .map_err(|e| FormatError::parquet_write(&path, e))?;
    let mut kv = props.key_value_metadata().cloned().unwrap_or_default();
    kv.push(KeyValue::new(
        "ARROW:schema".to_string(),
        encode_arrow_schema(&schema),
    ));
    kv.push(KeyValue::new(
        GENERATION_KEY.to_string(),
        generation.to_string(),
    ));
    let rows = row_groups.iter().map(RowGroupMetaData::num_rows).sum();
    let file_metadata = FileMetaData::new(
        props.writer_version().as_num(),
        rows,
        Some(props.created_by().to_string()),
        Some(kv),
        Arc::new(descr),
        None,
    );
    let metadata = ParquetMetaDataBuilder::new(file_metadata)
        .set_row_groups(row_groups.to_vec())
        .build();
    let mut footer = Vec::new();
    ParquetMetaDataWriter::new(&mut footer, &metadata)
        .finish()
        .map_err(|e| FormatError::parquet_write(&path, e))?;

    let tmp = path.with_extension("parquet-footer.new");
    let mut f = create_private(&tmp)?;
    f.write_all(&footer)
        .and_then(|()| f.sync_data())
        .map_err(|e| FormatError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| FormatError::io(&path, e))?;
    sync_dir(&dir.join(SPOOL_DIR))
}

/// The rows a checkpoint makes readable.
#[derive(Debug)]
pub struct CheckpointContents {
    /// The spool generation it covers.
    pub generation: u64,
    /// The rows of its row groups, read from the temporary segment file.
    pub batches: Vec<RecordBatch>,
}

/// Reads the checkpoint of segment `index` of the recording at `dir`, and the
/// row groups it lists from the temporary segment file. `Ok(None)` when
/// there is no checkpoint.
pub fn read_checkpoint(dir: &Path, index: u64) -> Result<Option<CheckpointContents>> {
    let path = dir.join(checkpoint_file_name(index));
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FormatError::io(&path, e)),
    };
    let corrupt = |message: String| FormatError::Corrupt {
        path: path.clone(),
        message,
    };
    let n = bytes.len();
    if n < 8 || &bytes[n - 4..] != b"PAR1" {
        return Err(corrupt("not a Parquet footer (no PAR1 at its end)".into()));
    }
    let len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    if len > n - 8 {
        return Err(corrupt(format!(
            "footer length {len} exceeds the file ({n} bytes)"
        )));
    }
    let metadata = ParquetMetaDataReader::decode_metadata(&bytes[n - 8 - len..n - 8])
        .map_err(|e| corrupt(e.to_string()))?;
    let generation = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == GENERATION_KEY))
        .and_then(|k| k.value.as_deref()?.parse::<u64>().ok())
        .ok_or_else(|| corrupt(format!("no {GENERATION_KEY} in its metadata")))?;

    let data = dir.join(temporary_file_name(index));
    let file = File::open(&data).map_err(|e| FormatError::io(&data, e))?;
    let bad = |e: parquet::errors::ParquetError| FormatError::Corrupt {
        path: data.clone(),
        message: format!("row groups listed by {}: {e}", path.display()),
    };
    let meta =
        ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new()).map_err(bad)?;
    crate::segment::check_schema(&data, meta.schema())?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
        .with_batch_size(65536)
        .build()
        .map_err(bad)?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| FormatError::Corrupt {
            path: data.clone(),
            message: format!("row groups listed by {}: {e}", path.display()),
        })?;
    Ok(Some(CheckpointContents {
        generation,
        batches,
    }))
}

/// Removes the checkpoint of segment `index`, if any.
pub fn remove_checkpoint(dir: &Path, index: u64) -> Result<()> {
    remove_if_exists(&dir.join(checkpoint_file_name(index)))
}
