//! One Parquet segment on disk: the writer properties every segment shares,
//! [`SegmentWriter`] (streams batches into `events/.part-NNNNNN.parquet.tmp`
//! and commits it by fsync + rename), and helpers to read a segment back.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};

use crate::batch::{seq_column, sort_by_seq, time_ns_column};
use crate::checkpoint::{temporary_file_name, write_checkpoint};
use crate::error::{FormatError, Result};
use crate::manifest::{SegmentInfo, create_private, segment_file_name, sync_dir};
use crate::schema::{COLUMNS, ColumnType, FORMAT_VERSION, column_index, events_schema};

/// Columns that get a Parquet bloom filter (point lookups by id, path, address).
pub const BLOOM_FILTER_COLUMNS: &[&str] = &["process_pid", "file_path", "destination_ip"];

/// Monotonic integer columns written with `DELTA_BINARY_PACKED` (a few bits
/// a row instead of 3 to 4 bytes with a dictionary).
pub const DELTA_COLUMNS: &[&str] = &["time", "time_ns", "seq"];

/// Many-valued string columns that still get a dictionary: the command line
/// is the same long string on every row of a process, so a dictionary keeps
/// it once per column chunk (each row costs a hash and a few bits) where
/// plain encoding copies it into the page and zstd compresses it again on
/// every row.
pub const DICTIONARY_TEXT_COLUMNS: &[&str] = &["process_command_line"];

/// Many-valued integer columns written PLAIN: a dictionary of inode
/// numbers holds nearly every value once and still costs an index per row
/// (PLAIN and zstd: 30 % smaller on `tar`, 6-14 % on `find | xargs stat`).
/// `BYTE_STREAM_SPLIT` would be smaller still, but DuckDB up to 1.5 and
/// Spark cannot read it on integers.
pub const PLAIN_INTEGER_COLUMNS: &[&str] = &["file_inode"];

/// Leaf columns written without statistics: min/max of `argv` elements
/// serve no query (no filter on a list prunes by its elements' range) and
/// cost two string comparisons per element per row.
pub const NO_STATISTICS_COLUMNS: &[&str] = &["process_args.list.item"];

/// The Parquet writer properties of every segment: zstd, page statistics and
/// page index, dictionary encoding for low-cardinality strings (and
/// [`DICTIONARY_TEXT_COLUMNS`]) only, bloom filters on
/// [`BLOOM_FILTER_COLUMNS`], sorted by `seq`.
pub fn writer_properties(row_group_rows: usize, zstd_level: i32) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(zstd_level)
        .map_err(|e| FormatError::Invalid(format!("invalid zstd level {zstd_level}: {e}")))?;
    let seq = column_index("seq").expect("seq column") as i32;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: seq,
            descending: false,
            nulls_first: false,
        }]))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "hindsight.format_version".to_string(),
            FORMAT_VERSION.to_string(),
        )]));
    for c in COLUMNS {
        if matches!(c.ty, ColumnType::Utf8) && !DICTIONARY_TEXT_COLUMNS.contains(&c.name) {
            b = b.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
        }
    }
    for name in PLAIN_INTEGER_COLUMNS {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*name), false);
    }
    for name in NO_STATISTICS_COLUMNS {
        let path = ColumnPath::from(name.split('.').map(str::to_owned).collect::<Vec<_>>());
        b = b.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    // Time and sequence columns grow steadily: delta encoding stores the small
    // steps (a few bits a row) where a dictionary of distinct values cannot.
    for name in DELTA_COLUMNS {
        let path = ColumnPath::from(*name);
        b = b
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
    }
    // Size the filters for the distinct values of one row group, not the
    // library default (1M values, ~1 MiB per column and row group).
    let ndv = (row_group_rows as u64 / 16).clamp(1024, 65536);
    for name in BLOOM_FILTER_COLUMNS {
        let path = ColumnPath::from(*name);
        b = b
            .set_column_bloom_filter_enabled(path.clone(), true)
            .set_column_bloom_filter_fpp(path.clone(), 0.01)
            .set_column_bloom_filter_max_ndv(path, ndv);
    }
    Ok(b.build())
}

/// A file writer that hashes and counts what passes through it.
pub(crate) struct HashingFile {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Streams sorted batches into a temporary segment file and commits it.
pub struct SegmentWriter {
    index: u64,
    dir: PathBuf,
    tmp: PathBuf,
    writer: Option<ArrowWriter<HashingFile>>,
    props: WriterProperties,
    /// Rows written.
    pub rows: u64,
    first_seq: u64,
    last_seq: u64,
    min_time: i64,
    max_time: i64,
    arrow_bytes: u64,
    sorted: bool,
    /// A checkpoint was written (and `events/` fsynced, so that the
    /// temporary file's name survives a power loss).
    checkpointed: bool,
}

impl SegmentWriter {
    /// Starts segment `index` of the recording at `dir` (its `events/` must exist).
    pub fn create(dir: &Path, index: u64, props: WriterProperties) -> Result<Self> {
        Self::create_as(dir, index, props, &temporary_file_name(index))
    }

    /// Like [`SegmentWriter::create`], writing to the temporary file `tmp`
    /// (relative to `dir`) instead of the usual one: recovery rewrites a
    /// segment while the crashed writer's temporary file is still needed.
    pub(crate) fn create_as(
        dir: &Path,
        index: u64,
        props: WriterProperties,
        tmp: &str,
    ) -> Result<Self> {
        let tmp = dir.join(tmp);
        let file = create_private(&tmp)?;
        let hf = HashingFile {
            file,
            path: tmp.clone(),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = ArrowWriter::try_new(hf, events_schema(), Some(props.clone()))
            .map_err(|e| FormatError::parquet_write(&tmp, e))?;
        Ok(SegmentWriter {
            index,
            dir: dir.to_path_buf(),
            tmp,
            writer: Some(writer),
            props,
            rows: 0,
            first_seq: u64::MAX,
            last_seq: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
            arrow_bytes: 0,
            sorted: true,
            checkpointed: false,
        })
    }

    /// The temporary file being written.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Estimated size of the finished file (bytes written plus the row group in memory).
    pub fn estimated_bytes(&self) -> u64 {
        self.writer
            .as_ref()
            .map_or(0, |w| (w.bytes_written() + w.in_progress_size()) as u64)
    }

    /// Rows and compressed bytes of the row groups already closed (in the
    /// file; the row group in progress is not counted).
    pub fn closed_row_groups(&self) -> (u64, u64) {
        self.writer.as_ref().map_or((0, 0), |w| {
            w.flushed_row_groups().iter().fold((0, 0), |(r, b), g| {
                (r + g.num_rows() as u64, b + g.compressed_size() as u64)
            })
        })
    }

    /// Rows in the row group in progress (not yet in the file).
    pub fn in_progress_rows(&self) -> usize {
        self.writer
            .as_ref()
            .map_or(0, ArrowWriter::in_progress_rows)
    }

    /// Makes every row written so far durable in the temporary file: closes
    /// the row group in progress, writes and fsyncs the file, and writes the
    /// checkpoint of its row groups for spool generation `generation` (see
    /// [`crate::checkpoint`]).
    pub fn checkpoint(&mut self, generation: u64) -> Result<()> {
        let tmp = &self.tmp;
        let w = self
            .writer
            .as_mut()
            .expect("segment writer used after commit");
        w.flush().map_err(|e| FormatError::parquet_write(tmp, e))?;
        w.sync().map_err(|e| FormatError::io(tmp, e))?;
        w.inner()
            .file
            .sync_data()
            .map_err(|e| FormatError::io(tmp, e))?;
        if !self.checkpointed {
            sync_dir(&self.dir.join("events"))?;
            self.checkpointed = true;
        }
        write_checkpoint(
            &self.dir,
            self.index,
            &self.props,
            w.flushed_row_groups(),
            generation,
        )
    }

    /// Appends a batch of the events schema (it is sorted by `seq` first).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = sort_by_seq(batch)?;
        let seq = seq_column(&batch)?;
        let (lo, hi) = (seq.value(0), seq.value(seq.len() - 1));
        if self.rows > 0 && lo < self.last_seq {
            self.sorted = false;
        }
        self.first_seq = self.first_seq.min(lo);
        self.last_seq = self.last_seq.max(hi);
        let t = time_ns_column(&batch)?;
        if let (Some(min), Some(max)) = (arrow::compute::min(t), arrow::compute::max(t)) {
            self.min_time = self.min_time.min(min);
            self.max_time = self.max_time.max(max);
        }
        self.arrow_bytes += batch
            .columns()
            .iter()
            .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
            .sum::<u64>();
        self.rows += batch.num_rows() as u64;
        let tmp = &self.tmp;
        self.writer
            .as_mut()
            .expect("segment writer used after commit")
            .write(&batch)
            .map_err(|e| FormatError::parquet_write(tmp, e))
    }

    /// Finishes the file, fsyncs it, renames it to `events/part-NNNNNN.parquet`,
    /// fsyncs `events/`, and returns its manifest entry.
    pub fn commit(mut self) -> Result<SegmentInfo> {
        let writer = self.writer.take().expect("commit once");
        let mut hf = writer
            .into_inner()
            .map_err(|e| FormatError::parquet_write(&self.tmp, e))?;
        hf.file.flush().map_err(|e| FormatError::io(&hf.path, e))?;
        if !self.sorted {
            // Rare: batches arrived out of seq order. Rewrite the file sorted.
            drop(hf);
            let batches = read_segment(&self.tmp, None)?;
            let all = arrow::compute::concat_batches(&events_schema(), &batches)
                .map_err(|e| FormatError::BadBatch(e.to_string()))?;
            // Under another name: until the sorted copy is committed, this
            // file holds the rows a checkpoint may list.
            let mut again = SegmentWriter::create_as(
                &self.dir,
                self.index,
                self.props.clone(),
                &sorting_file_name(self.index),
            )?;
            again.write(&all)?;
            let info = again.commit()?;
            fs::remove_file(&self.tmp).map_err(|e| FormatError::io(&self.tmp, e))?;
            return Ok(info);
        }
        hf.file
            .sync_all()
            .map_err(|e| FormatError::io(&hf.path, e))?;
        let file = segment_file_name(self.index);
        let final_path = self.dir.join(&file);
        fs::rename(&self.tmp, &final_path).map_err(|e| FormatError::io(&final_path, e))?;
        sync_dir(&self.dir.join("events"))?;
        let sha256 = hex(&hf.hasher.finalize());
        Ok(SegmentInfo {
            file,
            rows: self.rows,
            first_seq: if self.rows == 0 { 0 } else { self.first_seq },
            last_seq: self.last_seq,
            min_time_ns: if self.rows == 0 { 0 } else { self.min_time },
            max_time_ns: if self.rows == 0 { 0 } else { self.max_time },
            bytes: hf.bytes,
            arrow_bytes: self.arrow_bytes,
            sha256,
        })
    }

    /// Gives up on the segment and removes its temporary file.
    pub fn abort(mut self) {
        self.writer.take();
        let _ = fs::remove_file(&self.tmp);
    }
}

/// The temporary file of segment `index` rewritten sorted by `seq`,
/// relative to the recording.
pub(crate) fn sorting_file_name(index: u64) -> String {
    format!("events/.sort-{index:06}.parquet.tmp")
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| FormatError::io(path, e))?;
    Ok(hex(&h.finalize()))
}

/// The projection of a segment file to the named columns.
///
/// `file_schema` is the file's Arrow schema. Every name must be a column of
/// the events table; a column newer than the file's format version (files of
/// older versions lack the trailing columns) is left out, and reads as null.
pub(crate) fn projection_mask<'a>(
    file_schema: &arrow::datatypes::Schema,
    parquet_schema: &parquet::schema::types::SchemaDescriptor,
    names: impl IntoIterator<Item = &'a &'a str>,
) -> Result<parquet::arrow::ProjectionMask> {
    let mut idx = Vec::new();
    for n in names {
        column_index(n).ok_or_else(|| {
            FormatError::Invalid(format!("no column named {n} in the events table"))
        })?;
        if let Ok(i) = file_schema.index_of(n) {
            idx.push(i);
        }
    }
    Ok(parquet::arrow::ProjectionMask::roots(parquet_schema, idx))
}

/// Opens a segment for reading, checking that it is a Parquet file with the
/// events schema. `columns` projects to the named columns.
pub fn open_segment(
    path: &Path,
    columns: Option<&[&str]>,
    batch_size: usize,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| FormatError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    check_schema(path, builder.schema())?;
    let builder = match columns {
        None => builder,
        Some(names) => {
            let mask = projection_mask(builder.schema(), builder.parquet_schema(), names)?;
            builder.with_projection(mask)
        }
    };
    builder
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| FormatError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Reads a whole segment into batches (optionally projected).
pub fn read_segment(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
    open_segment(path, columns, 65536)?
        .map(|b| {
            b.map_err(|e| FormatError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Checks that `schema` has exactly the columns, types and nullability of
/// [`events_schema`] (metadata is ignored).
pub fn check_schema(path: &Path, schema: &arrow::datatypes::Schema) -> Result<()> {
    let want = events_schema();
    let mismatch = |message: String| FormatError::SchemaMismatch {
        path: path.to_path_buf(),
        message,
    };
    let version = schema
        .metadata()
        .get("hindsight.format_version")
        .and_then(|v| v.parse::<u32>().ok());
    if let Some(v) = version
        && v > FORMAT_VERSION
    {
        return Err(FormatError::NewerFormat {
            path: path.to_path_buf(),
            found: v,
            supported: FORMAT_VERSION,
        });
    }
    for (i, w) in want.fields().iter().enumerate() {
        let Some(f) = schema.fields().get(i) else {
            // An older file lacks the columns appended since its version.
            if let Some(v) = version
                && want.fields()[i..]
                    .iter()
                    .all(|w| w.is_nullable() && crate::schema::added_in(w.name()) > v)
            {
                break;
            }
            return Err(mismatch(format!(
                "missing column {} (and {} more)",
                w.name(),
                want.fields().len() - i - 1
            )));
        };
        if f.name() != w.name() {
            return Err(mismatch(format!(
                "column {} is {}, expected {}",
                i,
                f.name(),
                w.name()
            )));
        }
        if !types_match(f.data_type(), w.data_type()) {
            return Err(mismatch(format!(
                "column {} has type {}, expected {}",
                f.name(),
                f.data_type(),
                w.data_type()
            )));
        }
        if f.is_nullable() != w.is_nullable() && !w.is_nullable() {
            return Err(mismatch(format!(
                "column {} is nullable, expected NOT NULL",
                f.name()
            )));
        }
    }
    if schema.fields().len() > want.fields().len() {
        return Err(mismatch(format!(
            "unexpected extra column {}",
            schema.field(want.fields().len()).name()
        )));
    }
    Ok(())
}

fn types_match(got: &arrow::datatypes::DataType, want: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as D;
    match (got, want) {
        (D::List(g), D::List(w)) => g.data_type() == w.data_type(),
        _ => got == want,
    }
}
