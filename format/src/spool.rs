//! The spool: rows of the segment being written, kept in an append-only
//! Arrow IPC stream `spool/spool-NNNNNN.arrows` (one per segment) so that a
//! crash loses at most the rows since the last flush. A committed segment's
//! spool file is deleted; what is left after a crash is salvaged by the
//! reader (in memory) or by [`crate::recover()`] (into segments).
//!
//! At high rates the writer makes rows durable with a checkpoint instead
//! (see [`crate::checkpoint`]) and then starts the spool over: each spool
//! file carries its generation in its schema metadata, and [`read_spool`]
//! returns the checkpoint's rows plus the spool's rows of a newer generation.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::ipc::CompressionType;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};

use crate::checkpoint::{GENERATION_KEY, read_checkpoint};
use crate::error::{FormatError, Result};
use crate::manifest::{create_private, parse_index, remove_if_exists, segment_file_name, sync_dir};
use crate::schema::events_schema;
use crate::segment::read_segment;

/// Directory of the spool inside a recording.
pub const SPOOL_DIR: &str = "spool";

/// The spool file of segment `index`, relative to the recording.
pub fn spool_file_name(index: u64) -> String {
    format!("{SPOOL_DIR}/spool-{index:06}.arrows")
}

/// An open spool file being appended to.
pub struct SpoolWriter {
    path: PathBuf,
    generation: u64,
    writer: StreamWriter<BufWriter<File>>,
}

impl SpoolWriter {
    /// Creates the spool file of segment `index` (its directory must exist),
    /// generation 0.
    pub fn create(dir: &Path, index: u64) -> Result<Self> {
        let path = dir.join(spool_file_name(index));
        Self::create_at(path.clone(), path, 0)
    }

    /// The generation of this spool file (see [`crate::checkpoint`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Replaces the spool file with an empty one of the next generation,
    /// after a checkpoint of this generation made its rows durable. The new
    /// file is written and fsynced under a temporary name, then renamed over
    /// the old one.
    pub fn restart(self) -> Result<Self> {
        let path = self.path.clone();
        let generation = self.generation + 1;
        drop(self);
        let tmp = path.with_extension("arrows.new");
        let mut next = Self::create_at(tmp.clone(), path.clone(), generation)?;
        next.flush()?;
        fs::rename(&tmp, &path).map_err(|e| FormatError::io(&path, e))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        Ok(next)
    }

    /// Creates a spool file of `generation` at `at`, to be known as `path`.
    fn create_at(at: PathBuf, path: PathBuf, generation: u64) -> Result<Self> {
        let file = create_private(&at)?;
        // LZ4-compressed buffers: the spool is written for every row, and
        // compressing costs the recorder less CPU than copying the raw Arrow
        // buffers into the page cache (readers decompress transparently).
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .map_err(|e| FormatError::arrow_write(&path, e))?;
        let mut schema = events_schema().as_ref().clone();
        schema
            .metadata
            .insert(GENERATION_KEY.to_string(), generation.to_string());
        let writer = StreamWriter::try_new_with_options(
            BufWriter::with_capacity(1 << 20, file),
            &schema,
            options,
        )
        .map_err(|e| FormatError::arrow_write(&at, e))?;
        Ok(SpoolWriter {
            path,
            generation,
            writer,
        })
    }

    /// Appends a batch (buffered; see [`SpoolWriter::flush`]).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| FormatError::arrow_write(&self.path, e))
    }

    /// Writes buffered bytes to the file and fsyncs it.
    pub fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| FormatError::arrow_write(&self.path, e))?;
        self.writer
            .get_mut()
            .get_mut()
            .sync_data()
            .map_err(|e| FormatError::io(&self.path, e))
    }
}

/// Removes the spool file of segment `index` (after the segment was
/// committed), and the next generation's file if a restart was cut short.
pub fn remove_spool(dir: &Path, index: u64) -> Result<()> {
    let path = dir.join(spool_file_name(index));
    remove_if_exists(&path.with_extension("arrows.new"))?;
    remove_if_exists(&path)
}

/// What could be read back from one spool file and its segment's checkpoint.
#[derive(Debug)]
pub struct SpoolContents {
    /// The spool file.
    pub path: PathBuf,
    /// Segment index from the file name.
    pub index: u64,
    /// Every batch that decoded: the checkpoint's rows, then the spool's.
    pub batches: Vec<RecordBatch>,
    /// Rows that came from the checkpoint (the segment's temporary file).
    pub checkpoint_rows: usize,
    /// The segment was committed (`events/part-NNNNNN.parquet` exists) and
    /// every row was read from that file, not from the checkpoint or spool.
    pub from_segment: bool,
    /// Why reading the spool stopped early (a torn last write after a
    /// crash, or corruption).
    pub error: Option<String>,
    /// Why the checkpoint (or the row groups it lists) could not be read.
    pub checkpoint_error: Option<String>,
}

impl SpoolContents {
    /// Rows salvaged.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Reads what segment `index` made durable before it was committed: the row
/// groups its checkpoint lists (if any), then the spool file at `path` up to
/// its end or its first undecodable byte (unless the checkpoint covers the
/// spool's generation).
///
/// A live writer may checkpoint, restart the spool or commit the segment
/// while this reads. The spool is opened first and read through that open
/// file, so its generation is the one compared with the checkpoint read
/// after it (a newer checkpoint covers it). When `events/part-NNNNNN.parquet`
/// exists, the segment was committed: its rows are read from there (unless
/// that file cannot be read: then from the checkpoint and spool).
pub fn read_spool(path: &Path, index: u64) -> Result<SpoolContents> {
    let mut out = SpoolContents {
        path: path.to_path_buf(),
        index,
        batches: Vec::new(),
        checkpoint_rows: 0,
        from_segment: false,
        error: None,
        checkpoint_error: None,
    };
    let dir = path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let file = match File::open(path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(FormatError::io(path, e)),
    };
    let committed = dir.join(segment_file_name(index));
    if committed.exists() {
        // Committed since the caller looked (or before a crash that kept
        // the manifest from listing it): the segment holds every row. A
        // segment file is only ever renamed into place whole and synced,
        // so this holds even while its temporary file is still there (an
        // unsorted segment's sorted copy is renamed before the temporary
        // file the checkpoint lists is removed; `recover` commits the
        // spool's rows before removing the crashed writer's).
        if let Ok(batches) = read_segment(&committed, None) {
            out.batches = batches;
            out.from_segment = true;
            return Ok(out);
        }
    }
    let Some(file) = file else {
        return Ok(out);
    };
    let stream = match StreamReader::try_new(BufReader::new(file), None) {
        Ok(r) => {
            crate::segment::check_schema(path, &r.schema())?;
            Some(r)
        }
        Err(e) => {
            // An empty file (crash right after creation) holds nothing to lose.
            let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if len > 0 {
                out.error = Some(e.to_string());
            }
            None
        }
    };
    let covered = match read_checkpoint(dir, index) {
        Ok(Some(c)) => {
            out.batches = c.batches;
            out.checkpoint_rows = out.rows();
            Some(c.generation)
        }
        Ok(None) => None,
        Err(_) if committed.exists() => {
            // Committed while this read.
            out.batches = read_segment(&committed, None)?;
            out.from_segment = true;
            return Ok(out);
        }
        // The spool's own rows are still worth reading.
        Err(e) => {
            out.checkpoint_error = Some(e.to_string());
            None
        }
    };
    let Some(reader) = stream else {
        return Ok(out);
    };
    let generation = reader
        .schema()
        .metadata()
        .get(GENERATION_KEY)
        .and_then(|g| g.parse::<u64>().ok())
        .unwrap_or(0);
    if covered.is_some_and(|c| generation <= c) {
        // Every row of this spool is in the checkpoint (a crash between the
        // checkpoint and the spool's restart, or a writer that checkpointed
        // while this read).
        return Ok(out);
    }
    // Rows read back carry the schema's own metadata, not the spool's.
    let mut metadata = reader.schema().metadata().clone();
    metadata.remove(GENERATION_KEY);
    let schema = std::sync::Arc::new(reader.schema().as_ref().clone().with_metadata(metadata));
    for batch in reader {
        match batch.and_then(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec())) {
            Ok(b) => out.batches.push(b),
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(out)
}

/// The spool files of the recording at `dir`, as (index, path), by index.
pub fn list_spool(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let spool = dir.join(SPOOL_DIR);
    let rd = match fs::read_dir(&spool) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FormatError::io(&spool, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| FormatError::io(&spool, e))?;
        let name = entry.file_name();
        if let Some(i) = name
            .to_str()
            .and_then(|n| parse_index(n, "spool-", ".arrows"))
        {
            out.push((i, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}
