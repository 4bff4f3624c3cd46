//! The recording directory: taken over before the writer fills it, and its
//! recording removed again when the recorded command never ran.
//!
//! The directory is held open from the take-over on, and the recording is
//! removed through that descriptor (and `DIR` by its name in its parent,
//! held open too), never by path: a directory above it renamed or replaced
//! by a symbolic link meanwhile must not make the recorder, running as
//! root, delete `events` or `spool` trees somewhere else.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Error, ErrorKind};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use hindsight_format::manifest::MANIFEST_FILE;
use hindsight_format::reserve::RESERVE_FILE;
use hindsight_format::spool::SPOOL_DIR;

use crate::dirfd::{self, Id, Kind};
use crate::parents;

/// A recording directory the recorder took over, held open.
#[derive(Debug)]
pub(crate) struct OutDir {
    /// The directory itself.
    dir: File,
    /// Its identity.
    id: Id,
    /// Its parent and its name there, when the recorder created it (the
    /// only case it removes the directory itself).
    created: Option<(File, CString)>,
    /// Owner, group and mode of a directory that existed, given back when
    /// the recording is removed (`mkdir ~/rec; sudo hindsight record -o
    /// ~/rec -- typo` left `~/rec` root's, 0700).
    before: (u32, u32, u32),
}

/// Makes `dir` the recorder's before the writer fills it: a directory that
/// does not exist is created (0700); an existing empty one is taken over,
/// owned by the recorder's user and set to 0700 as well. Left as it was, a
/// directory someone else owns or anyone may write would let them rename or
/// replace the manifest and segments. The change is made on the directory
/// opened without following a symbolic link (`-o` naming a link is refused:
/// the link's owner could point it elsewhere), and the path must still name
/// that directory afterwards (once it is ours, nobody else can move it out
/// of a sticky directory such as `/tmp`). A directory that is not empty is
/// left for [`RecordingWriter::create`] to refuse (`None`); anything but a
/// directory is refused here.
/// Missing parents are created 0700 ([`parents::create`]), and removed
/// with the recording.
///
/// [`RecordingWriter::create`]: hindsight_format::RecordingWriter::create
pub(crate) fn take_over(dir: &Path) -> io::Result<Taken> {
    let (parents, parent) = parents::create(dir)?;
    match take_over_in(dir, parent) {
        Ok(out) => Ok(Taken { out, parents }),
        Err(e) => {
            parents.undo();
            Err(dirfd::naming(e, dir))
        }
    }
}

/// [`take_over`] once the parents exist, `parent` (`dir`'s, open).
fn take_over_in(dir: &Path, parent: File) -> io::Result<Option<OutDir>> {
    let Some(name) = dir.file_name() else {
        // `/` or a path ending in `..`: it exists, and is never created
        // (nor removed).
        return take_over_open(dir, dirfd::open(dir)?, None);
    };
    let cname = dirfd::c_name(name)?;
    let made = match dirfd::make_at(&parent, &cname, 0o700) {
        Ok(()) => true,
        // Made by someone else meanwhile, or there before: checked below.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e),
    };
    match dirfd::stat_at(&parent, &cname)?.1 {
        Kind::Symlink => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "is a symbolic link: give the recording directory itself",
            ));
        }
        Kind::Other => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "exists and is not a directory: -o names the recording's directory, new or empty",
            ));
        }
        Kind::Dir => {}
    }
    let d = dirfd::open_at(&parent, &cname, false)?;
    // SAFETY: geteuid has no preconditions.
    if made && d.metadata()?.uid() != unsafe { libc::geteuid() } {
        return Err(replaced());
    }
    take_over_open(dir, d, made.then_some((parent, cname)))
}

/// [`take_over`] once `dir` is open as `d`.
fn take_over_open(
    dir: &Path,
    d: File,
    created: Option<(File, CString)>,
) -> io::Result<Option<OutDir>> {
    let opened = d.metadata()?;
    // Empty: the directory opened, not whatever the path names now.
    let entries = std::fs::read_dir(dirfd::proc_path(&d, OsStr::new("")));
    if !entries.is_ok_and(|mut e| e.next().is_none()) {
        return Ok(None);
    }
    // SAFETY: geteuid and getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if opened.uid() != uid || opened.gid() != gid {
        std::os::unix::fs::fchown(&d, Some(uid), Some(gid))?;
    }
    d.set_permissions(std::fs::Permissions::from_mode(0o700))?;
    // The writer goes by the path: it must still lead here.
    let now = std::fs::symlink_metadata(dir)?;
    let id = (opened.dev(), opened.ino());
    if (now.dev(), now.ino()) != id {
        return Err(replaced());
    }
    Ok(Some(OutDir {
        dir: d,
        id,
        created,
        before: (opened.uid(), opened.gid(), opened.mode() & 0o7777),
    }))
}

/// The error of a directory changed under the recorder's hands.
fn replaced() -> Error {
    Error::other(
        "was replaced while the recorder took it over; give a directory only you can change",
    )
}

/// What [`take_over`] made the recorder's: the recording directory (`None`
/// when it was not empty, or no directory, for the writer to refuse) and
/// the parents it created.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The recording directory.
    out: Option<OutDir>,
    /// The missing parents it created.
    parents: parents::Created,
}

impl Taken {
    /// Removes the recording ([`OutDir::remove_recording`]) and the parents
    /// created for it, when they are empty and still where they were made:
    /// recording failed before it started.
    pub(crate) fn remove_recording(self) {
        if let Some(out) = self.out {
            out.remove_recording();
        }
        self.parents.undo();
    }
}

impl OutDir {
    /// Removes what the writer made in the directory (its manifest and
    /// reserve, segments and spool), and the directory itself if the
    /// recorder created it and its name still names it.
    pub(crate) fn remove_recording(self) {
        for name in [MANIFEST_FILE, RESERVE_FILE, "events", SPOOL_DIR] {
            // Through the open directory: the path `-o` gave may lead
            // elsewhere by now. remove_dir_all does not follow a link
            // (neither `name` nor one inside it).
            let p = dirfd::proc_path(&self.dir, OsStr::new(name));
            let _ = match p.symlink_metadata() {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p),
                Ok(_) => std::fs::remove_file(&p),
                Err(_) => continue,
            };
        }
        if let Some((parent, name)) = &self.created {
            dirfd::remove_at(parent, name, self.id);
        } else {
            // Through the open directory, as above.
            let (uid, gid, mode) = self.before;
            let _ = std::os::unix::fs::fchown(&self.dir, Some(uid), Some(gid));
            let _ = self
                .dir
                .set_permissions(std::fs::Permissions::from_mode(mode));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory above the recording replaced by a symbolic link between
    /// take-over and removal: the `events` and `spool` trees the link leads
    /// to stay; the recording's own (moved) go.
    #[test]
    fn remove_recording_follows_the_directory_not_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let out = take_over(&t.join("p/rec")).unwrap();
        assert!(out.out.is_some(), "taken over");
        for d in [
            "p/rec/events/h",
            "p/rec/spool",
            "victim/rec/events/x",
            "victim/rec/spool/cron",
        ] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        std::fs::write(t.join("p/rec/manifest.json"), "{}").unwrap();
        std::fs::write(t.join("victim/rec/manifest.json"), "{}").unwrap();
        std::fs::write(t.join("victim/rec/spool/cron/root"), "* * * * *").unwrap();
        std::fs::rename(t.join("p"), t.join("moved")).unwrap();
        std::os::unix::fs::symlink("victim", t.join("p")).unwrap();
        out.remove_recording();
        assert!(t.join("victim/rec/spool/cron/root").is_file());
        assert!(t.join("victim/rec/events/x").is_dir());
        assert!(t.join("victim/rec/manifest.json").is_file());
        // Created by take_over, emptied, and still named `rec` in its
        // (moved) parent: gone.
        assert!(!t.join("moved/rec").exists());
    }

    /// A directory that existed (empty) is taken over and kept; what the
    /// writer made in it goes, and it gets its owner and mode back.
    #[test]
    fn an_existing_directory_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        std::fs::create_dir(&rec).unwrap();
        std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Someone else's, where the test can give it away (root).
        // SAFETY: geteuid has no preconditions.
        let other = unsafe { libc::geteuid() } == 0;
        if other {
            std::os::unix::fs::chown(&rec, Some(65534), Some(65534)).unwrap();
        }
        let out = take_over(&rec).unwrap();
        assert!(out.out.is_some(), "taken over");
        let mode = std::fs::metadata(&rec).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o700);
        std::fs::create_dir_all(rec.join("events/h")).unwrap();
        out.remove_recording();
        assert_eq!(std::fs::read_dir(&rec).unwrap().count(), 0);
        let m = std::fs::metadata(&rec).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o755);
        if other {
            assert_eq!((m.uid(), m.gid()), (65534, 65534));
        }
    }

    /// Not empty (left to the writer to refuse), a link, or no directory:
    /// not taken over.
    #[test]
    fn not_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::create_dir_all(t.join("full/events")).unwrap();
        assert!(take_over(&t.join("full")).unwrap().out.is_none());
        std::fs::write(t.join("file"), "").unwrap();
        let e = take_over(&t.join("file")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(
            e.to_string()
                .contains("file: exists and is not a directory"),
            "{e}"
        );
        std::os::unix::fs::symlink("full", t.join("link")).unwrap();
        let e = take_over(&t.join("link")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
