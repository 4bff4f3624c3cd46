//! The directories above `record -o DIR` that do not exist yet: created
//! private, and removed again when recording fails before it starts.

use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The directories `record` created above its recording directory (and
/// whether that did not exist), to be undone when recording fails.
#[derive(Debug, Default)]
pub struct Created {
    /// The parents it created, outermost first.
    parents: Vec<PathBuf>,
    /// The recording directory, when it did not exist before.
    dir: Option<PathBuf>,
}

/// Creates the directories missing above `dir`, 0700 as the recording
/// directory itself (a recording holds command lines and paths; nothing but
/// the recorder needs to enter them, and a parent meant to be shared is
/// made by whoever shares it).
pub fn create(dir: &Path) -> anyhow::Result<Created> {
    let mut created = Created {
        parents: Vec::new(),
        dir: missing(dir).then(|| dir.to_path_buf()),
    };
    let mut absent = Vec::new();
    let mut above = dir.parent();
    while let Some(p) = above.filter(|p| !p.as_os_str().is_empty()) {
        if !missing(p) {
            break;
        }
        absent.push(p);
        above = p.parent();
    }
    for p in absent.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o700).create(p) {
            Ok(()) => created.parents.push(p.to_path_buf()),
            // Made by someone else meanwhile: theirs, not ours to remove.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                created.undo();
                return Err(e).with_context(|| format!("creating {}", p.display()));
            }
        }
    }
    Ok(created)
}

/// Whether nothing (not even a dangling symbolic link) is at `path`.
fn missing(path: &Path) -> bool {
    matches!(path.symlink_metadata(), Err(e) if e.kind() == ErrorKind::NotFound)
}

impl Created {
    /// Removes what [`create`] made and the recording directory, when
    /// they are empty: recording failed before it wrote anything worth
    /// keeping. A directory something else has put a file in stays.
    pub fn undo(&self) {
        for d in self.dir.iter().chain(self.parents.iter().rev()) {
            let _ = std::fs::remove_dir(d);
        }
    }
}
