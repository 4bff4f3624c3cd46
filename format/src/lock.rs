//! The writer's lock on a recording directory.
//!
//! A [`RecordingWriter`](crate::RecordingWriter) holds an exclusive `flock`
//! on its directory for as long as it writes; the kernel drops it when the
//! writer's process ends, however it ends (`kill -9` included). So a lock
//! that is held means a live writer, and one that can be taken means the
//! writer finished or died. [`recover()`](crate::recover()) takes it too, and
//! refuses a recording whose writer is still running: recovering under a
//! live writer would take its temporary segment away from it.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{FormatError, Result};

/// An exclusive lock on a recording directory, released when dropped.
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

/// Takes the exclusive lock on `dir` without waiting: an error that says so
/// when another process (a running recorder, or a recovery) holds it.
pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    let file = File::open(dir).map_err(|e| FormatError::io(dir, e))?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _dir: file }),
        Err(TryLockError::WouldBlock) => Err(FormatError::Invalid(format!(
            "{}: a running recorder is still writing this recording (it holds the directory's \
             lock); stop it first (SIGINT or SIGTERM finish the recording)",
            dir.display()
        ))),
        Err(TryLockError::Error(e)) => Err(FormatError::io(dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_dir(tmp.path()).unwrap();
        let err = lock_dir(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("still writing"), "{err}");
        drop(held);
        lock_dir(tmp.path()).unwrap();
    }
}
