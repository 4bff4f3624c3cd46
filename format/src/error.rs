//! [`FormatError`]: everything that can go wrong reading or writing a
//! recording. Every variant that concerns a file names it.

use std::path::{Path, PathBuf};

/// A `Result` whose error is a [`FormatError`].
pub type Result<T, E = FormatError> = std::result::Result<T, E>;

/// An error reading, writing, validating or recovering a recording.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// An I/O error on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A path that should be a directory does not exist.
    #[error("{}: no such directory", path.display())]
    NoSuchDirectory {
        /// The path.
        path: PathBuf,
    },
    /// A path that should be a directory is a file (or another non-directory).
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The disk is full. What was committed before stays valid.
    #[error(
        "{}: no space left on device; the recording holds every segment committed before this \
         (see its manifest.json); free some space and run `hindsight recover` on it",
        path.display()
    )]
    DiskFull {
        /// The file being written when the disk filled up.
        path: PathBuf,
    },
    /// The directory has no `manifest.json`: it is not a recording.
    #[error("{}: missing manifest.json: not a Hindsight recording", dir.display())]
    MissingManifest {
        /// The directory.
        dir: PathBuf,
    },
    /// `manifest.json` is not valid JSON or does not have the expected fields.
    #[error("{}: invalid manifest: {message}", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The recording was written by a newer Hindsight.
    #[error(
        "{}: format version {found} is newer than this hindsight supports ({supported}); \
         upgrade hindsight to read it",
        path.display()
    )]
    NewerFormat {
        /// The manifest or segment.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A segment listed in the manifest does not exist.
    #[error("{}: segment listed in manifest.json is missing", path.display())]
    MissingSegment {
        /// The segment file.
        path: PathBuf,
    },
    /// A segment is shorter or longer than the manifest says.
    #[error(
        "{}: segment is truncated or was changed: {actual} bytes on disk, manifest.json says {expected}",
        path.display()
    )]
    SizeMismatch {
        /// The segment file.
        path: PathBuf,
        /// Size recorded in the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// A segment's sha256 differs from the manifest's.
    #[error(
        "{}: sha256 mismatch: file has {actual}, manifest.json says {expected}; the segment was corrupted or modified",
        path.display()
    )]
    HashMismatch {
        /// The segment file.
        path: PathBuf,
        /// Hash recorded in the manifest.
        expected: String,
        /// Hash of the file on disk.
        actual: String,
    },
    /// A complete recording's `events/` holds a segment file its manifest
    /// does not list (a stray copy): it is not part of the recording.
    #[error(
        "{}: not listed in {}; this segment does not belong to the recording and is not read \
         (move it away: `hindsight query` refuses the recording while it is there)",
        path.display(),
        manifest.display()
    )]
    UnlistedSegment {
        /// The segment file.
        path: PathBuf,
        /// The recording's manifest.
        manifest: PathBuf,
    },
    /// A Parquet segment or spool file cannot be decoded.
    #[error("{}: corrupt or truncated file: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// A file's columns differ from [`crate::events_schema`].
    #[error("{}: schema mismatch: {message}", path.display())]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// Which column differs and how.
        message: String,
    },
    /// A record batch does not have the columns of the `events` table.
    #[error("record batch does not match the events schema: {0}")]
    BadBatch(String),
    /// Encoding a batch (Arrow or Parquet) failed.
    #[error("{}: cannot encode: {message}", path.display())]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
    /// A caller-supplied value is invalid (e.g. a bad option).
    #[error("{0}")]
    Invalid(String),
}

impl FormatError {
    /// [`FormatError::NotADirectory`] when `path` exists, else
    /// [`FormatError::NoSuchDirectory`]: for a `path` that is not a directory.
    pub fn not_a_directory(path: &Path) -> FormatError {
        if path.exists() {
            FormatError::NotADirectory {
                path: path.to_path_buf(),
            }
        } else {
            FormatError::NoSuchDirectory {
                path: path.to_path_buf(),
            }
        }
    }

    /// Wraps an I/O error on `path`, turning ENOSPC/EDQUOT into [`FormatError::DiskFull`].
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => FormatError::DiskFull { path },
            _ => FormatError::Io { path, source },
        }
    }

    /// Wraps a Parquet error on `path` (while writing): disk-full stays disk-full.
    pub(crate) fn parquet_write(path: &Path, err: parquet::errors::ParquetError) -> Self {
        let full = match &err {
            parquet::errors::ParquetError::External(e) => e
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))),
            // Closing the file (`fail to get inner writer: ...`) keeps only
            // the I/O error's text, which ends in its OS error number.
            other => {
                let text = other.to_string();
                [libc::ENOSPC, libc::EDQUOT]
                    .iter()
                    .any(|n| text.contains(&format!("(os error {n})")))
            }
        };
        if full {
            return FormatError::DiskFull {
                path: path.to_path_buf(),
            };
        }
        FormatError::Encode {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }

    /// Wraps an Arrow error on `path` (while writing): disk-full stays disk-full.
    pub(crate) fn arrow_write(path: &Path, err: arrow::error::ArrowError) -> Self {
        if let arrow::error::ArrowError::IoError(_, io) = &err
            && matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        {
            return FormatError::DiskFull {
                path: path.to_path_buf(),
            };
        }
        FormatError::Encode {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }

    /// Whether this error means the disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, FormatError::DiskFull { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_in_parquet_errors() {
        let p = Path::new("/r/events/.part-000000.parquet.tmp");
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        // The text parquet-rs keeps when closing the file fails.
        let closing = parquet::errors::ParquetError::General(format!(
            "fail to get inner writer: {:?}",
            io.to_string()
        ));
        assert!(FormatError::parquet_write(p, closing).is_disk_full());
        let external = parquet::errors::ParquetError::External(Box::new(io));
        assert!(FormatError::parquet_write(p, external).is_disk_full());
        let other = parquet::errors::ParquetError::General("(os error 5)".into());
        assert!(!FormatError::parquet_write(p, other).is_disk_full());
    }
}
