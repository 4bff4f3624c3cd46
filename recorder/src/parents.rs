//! The directories above a recording directory that do not exist yet:
//! created private, and removed again when recording fails before it
//! starts.
//!
//! The path is walked one component at a time from an open directory (the
//! working directory, or `/`): an existing component is opened (following
//! a symbolic link: people keep recordings behind them), `..` is the parent
//! of the directory reached so far (as the kernel resolves `newdir/..`,
//! whether `newdir` existed before or not), and a missing one is created
//! in the directory reached so far. What is removed again is exactly what
//! was created: each directory by its name in the directory it was made in
//! (held open), and only while that name still names it; one renamed, or
//! replaced by a symbolic link to someone else's directory, meanwhile is
//! left alone. The recording directory itself is [`crate::outdir`]'s.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::dirfd::{self, Id};

/// A directory [`create`] made: its name in the directory it was made in
/// (held open), and its identity.
#[derive(Debug)]
struct Made {
    parent: File,
    name: CString,
    id: Id,
}

/// The directories `record` created above its recording directory, to be
/// removed when recording fails.
#[derive(Debug, Default)]
pub(crate) struct Created {
    /// Outermost first.
    made: Vec<Made>,
}

/// Creates the directories missing above `dir`, 0700 as the recording
/// directory itself (a recording holds command lines and paths; nothing but
/// the recorder needs to enter them, and a parent meant to be shared is
/// made by whoever shares it). Returns them, and `dir`'s parent, open.
pub(crate) fn create(dir: &Path) -> io::Result<(Created, File)> {
    let mut created = Created::default();
    let start = if dir.is_absolute() { "/" } else { "." };
    let mut at = dirfd::open(Path::new(start)).map_err(|e| dirfd::naming(e, Path::new(start)))?;
    let Some(parent) = dir.parent() else {
        return Ok((created, at));
    };
    let mut walked = PathBuf::new();
    for c in parent.components() {
        walked.push(c);
        let name = match c {
            Component::Normal(n) => n,
            Component::ParentDir => OsStr::new(".."),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        match step(&at, name, &walked, &mut created) {
            Ok(next) => at = next,
            Err(e) => {
                created.undo();
                return Err(e);
            }
        }
    }
    Ok((created, at))
}

/// Opens `name` in `at`, creating it (0700) when it is missing; `walked`
/// is the path so far, for messages.
fn step(at: &File, name: &OsStr, walked: &Path, created: &mut Created) -> io::Result<File> {
    let shown = |e: io::Error| dirfd::naming(e, walked);
    let cname = dirfd::c_name(name).map_err(shown)?;
    match dirfd::open_at(at, &cname, true) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        other => return other.map_err(shown),
    }
    match dirfd::make_at(at, &cname, 0o700) {
        Ok(()) => {}
        // Made by someone else meanwhile (theirs, not ours to remove), or
        // a symbolic link that leads nowhere.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return match dirfd::open_at(at, &cname, true) {
                Err(e) if e.kind() == ErrorKind::NotFound => Err(dangling(at, name, walked)),
                other => other.map_err(shown),
            };
        }
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("creating {}: {e}", walked.display()),
            ));
        }
    }
    // Ours only if it is still what was just made: not a link, and the
    // recorder's (a directory someone else swapped in is not ours).
    let d = dirfd::open_at(at, &cname, false).map_err(shown)?;
    let meta = d.metadata().map_err(shown)?;
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(io::Error::other(format!(
            "{}: was replaced while the recorder created it; record under directories \
             only you can change",
            walked.display()
        )));
    }
    created.made.push(Made {
        parent: at.try_clone().map_err(shown)?,
        name: cname,
        id: (meta.dev(), meta.ino()),
    });
    Ok(d)
}

/// The error for `walked`, a symbolic link in `at` whose target does not
/// exist (mkdir says only "File exists").
fn dangling(at: &File, name: &OsStr, walked: &Path) -> io::Error {
    match std::fs::read_link(dirfd::proc_path(at, name)) {
        Ok(target) => io::Error::new(
            ErrorKind::NotFound,
            format!(
                "{}: is a symbolic link to {}, which does not exist; create that directory, \
                 or record into a path without the link",
                walked.display(),
                target.display()
            ),
        ),
        Err(e) => dirfd::naming(e, walked),
    }
}

impl Created {
    /// Removes what [`create`] made, innermost first, when it is empty and
    /// still where it was made: recording failed before it wrote anything
    /// worth keeping. A directory something else has put a file in, moved,
    /// or replaced, stays.
    pub(crate) fn undo(&self) {
        for m in self.made.iter().rev() {
            dirfd::remove_at(&m.parent, &m.name, m.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `newdir/../keep/rec`: `newdir` is made (and removed), `keep` is the
    /// existing one and stays.
    #[test]
    fn dot_dot_after_a_missing_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::create_dir(t.join("keep")).unwrap();
        let (c, _) = create(&t.join("newdir/../keep/new/rec")).unwrap();
        assert!(t.join("newdir").is_dir());
        assert!(t.join("keep/new").is_dir());
        assert_eq!(c.made.len(), 2);
        c.undo();
        assert!(!t.join("newdir").exists());
        assert!(!t.join("keep/new").exists());
        assert!(t.join("keep").is_dir());
    }

    /// A created directory replaced by a symbolic link to someone else's
    /// between create and undo: theirs (the link's target) stays, ours is
    /// removed where it went.
    #[test]
    fn undo_leaves_a_swapped_in_link_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::create_dir_all(t.join("victim/b")).unwrap();
        let (c, _) = create(&t.join("a/b/rec")).unwrap();
        std::fs::rename(t.join("a"), t.join("moved")).unwrap();
        std::os::unix::fs::symlink("victim", t.join("a")).unwrap();
        c.undo();
        assert!(t.join("victim/b").is_dir());
        assert!(t.join("a").symlink_metadata().unwrap().is_symlink());
        // `b` was found by its name in ours, held open: removed.
        assert!(!t.join("moved/b").exists());
        assert!(t.join("moved").is_dir());
    }

    /// A directory something was put in meanwhile stays.
    #[test]
    fn undo_keeps_what_is_not_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let (c, _) = create(&t.join("a/b/rec")).unwrap();
        std::fs::write(t.join("a/file"), "").unwrap();
        c.undo();
        assert!(t.join("a/file").is_file());
        assert!(!t.join("a/b").exists());
    }

    /// A dangling symbolic link on the way is named as such.
    #[test]
    fn a_dangling_link_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::os::unix::fs::symlink("nowhere", t.join("dang")).unwrap();
        let e = create(&t.join("dang/x/rec")).unwrap_err().to_string();
        assert!(
            e.contains("dang: is a symbolic link to nowhere, which does not exist"),
            "{e}"
        );
        assert!(!t.join("nowhere").exists());
    }
}
