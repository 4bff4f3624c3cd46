//! The spool: rows of the segment being written, kept in an append-only
//! Arrow IPC stream `spool/spool-NNNNNN.arrows` (one per segment) so that a
//! crash loses at most the rows since the last flush. A committed segment's
//! spool file is deleted; what is left after a crash is salvaged by the
//! reader (in memory) or by [`crate::recover()`] (into segments).

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::ipc::CompressionType;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};

use crate::error::{FormatError, Result};
use crate::manifest::{create_private, parse_index};
use crate::schema::events_schema;

/// Directory of the spool inside a recording.
pub const SPOOL_DIR: &str = "spool";

/// The spool file of segment `index`, relative to the recording.
pub fn spool_file_name(index: u64) -> String {
    format!("{SPOOL_DIR}/spool-{index:06}.arrows")
}

/// An open spool file being appended to.
pub struct SpoolWriter {
    path: PathBuf,
    writer: StreamWriter<BufWriter<File>>,
}

impl SpoolWriter {
    /// Creates the spool file of segment `index` (its directory must exist).
    pub fn create(dir: &Path, index: u64) -> Result<Self> {
        let path = dir.join(spool_file_name(index));
        let file = create_private(&path)?;
        // LZ4-compressed buffers: the spool is written for every row, and
        // compressing costs the recorder less CPU than copying the raw Arrow
        // buffers into the page cache (readers decompress transparently).
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .map_err(|e| FormatError::arrow_write(&path, e))?;
        let writer = StreamWriter::try_new_with_options(
            BufWriter::with_capacity(1 << 20, file),
            &events_schema(),
            options,
        )
        .map_err(|e| FormatError::arrow_write(&path, e))?;
        Ok(SpoolWriter { path, writer })
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

    /// Removes the spool file (after its segment was committed).
    pub fn remove(self) -> Result<()> {
        let path = self.path.clone();
        drop(self);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FormatError::io(&path, e)),
        }
    }
}

/// What could be read back from one spool file.
#[derive(Debug)]
pub struct SpoolContents {
    /// The spool file.
    pub path: PathBuf,
    /// Segment index from the file name.
    pub index: u64,
    /// Every batch that decoded.
    pub batches: Vec<RecordBatch>,
    /// Why reading stopped early (a torn last write after a crash, or corruption).
    pub error: Option<String>,
}

impl SpoolContents {
    /// Rows salvaged.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Reads a spool file up to its end or its first undecodable byte.
pub fn read_spool(path: &Path, index: u64) -> Result<SpoolContents> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut out = SpoolContents {
        path: path.to_path_buf(),
        index,
        batches: Vec::new(),
        error: None,
    };
    let reader = match StreamReader::try_new(BufReader::new(file), None) {
        Ok(r) => r,
        Err(e) => {
            // An empty file (crash right after creation) holds nothing to lose.
            let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if len > 0 {
                out.error = Some(e.to_string());
            }
            return Ok(out);
        }
    };
    crate::segment::check_schema(path, &reader.schema())?;
    for batch in reader {
        match batch {
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
