//! [`Reserve`]: disk space held back for the last manifest.
//!
//! When the disk fills up, the writer stops; the manifest it then writes says
//! why (see [`crate::Manifest::stopped`]). Writing a manifest needs room for
//! a copy of it, which a full disk does not have: the writer keeps a file,
//! `.manifest.reserve`, of at least twice the manifest's size and deletes it
//! right before writing that last manifest. A clean finish and `hindsight
//! recover` remove it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{FormatError, Result};
use crate::manifest::{create_private, remove_if_exists};

/// File name of the reserve inside a recording directory.
pub const RESERVE_FILE: &str = ".manifest.reserve";

/// Smallest reserve, in bytes.
const MIN_BYTES: u64 = 256 << 10;

/// Disk space held in `DIR/.manifest.reserve`.
#[derive(Debug)]
pub struct Reserve {
    path: PathBuf,
    file: File,
    bytes: u64,
}

impl Reserve {
    /// Creates the reserve of the recording at `dir`, big enough for a
    /// manifest of `manifest_bytes`.
    pub fn create(dir: &Path, manifest_bytes: u64) -> Result<Reserve> {
        let path = dir.join(RESERVE_FILE);
        let file = create_private(&path)?;
        let mut r = Reserve {
            path,
            file,
            bytes: 0,
        };
        r.hold(manifest_bytes)?;
        Ok(r)
    }

    /// Grows the reserve to room for a manifest of `manifest_bytes` (twice
    /// that: the old manifest stays until the new one replaces it).
    pub fn hold(&mut self, manifest_bytes: u64) -> Result<()> {
        let want = (2 * manifest_bytes).max(MIN_BYTES);
        if want <= self.bytes {
            return Ok(());
        }
        // Bytes that do not compress, so that a compressing file system
        // (btrfs) really sets the space aside; filled in blocks of 64 KiB.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ self.bytes;
        let mut block = vec![0u8; 64 << 10];
        while self.bytes < want {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            self.file
                .write_all(&block)
                .map_err(|e| FormatError::io(&self.path, e))?;
            self.bytes += block.len() as u64;
        }
        self.file
            .sync_data()
            .map_err(|e| FormatError::io(&self.path, e))
    }

    /// Deletes the reserve, giving its space back.
    pub fn release(self) -> Result<()> {
        drop(self.file);
        remove_if_exists(&self.path)
    }
}

/// Removes the reserve of the recording at `dir`, if any. Looked for first:
/// on read-only media removing a name that is not there fails with EROFS,
/// not ENOENT, and a complete recording there has nothing to remove.
pub fn remove_reserve(dir: &Path) -> Result<()> {
    let path = dir.join(RESERVE_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    remove_if_exists(&path)
}
