//! Directories by an open descriptor and a name in it (`openat(2)` and
//! kin), for creating and removing directories that a path could no longer
//! reach safely: what a path names changes when a directory above it is
//! renamed or replaced by a symbolic link, what a descriptor names does not.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A directory's identity: its device and inode numbers.
pub type Id = (u64, u64);

/// `e` with `path` in front of its message (same kind), for errors of a
/// step that only knew a descriptor.
pub fn naming(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// `name` as a C string (a path from the command line holds no NUL).
pub fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Opens the directory `path` (relative to the working directory),
/// following symbolic links.
pub fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
}

/// Opens the directory `name` in `at` (`..` included); a symbolic link is
/// followed only when `follow`, else the open fails (`ELOOP`).
pub fn open_at(at: &File, name: &CStr, follow: bool) -> io::Result<File> {
    let mut flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: `at` is an open descriptor and `name` a NUL-terminated string
    // that outlive the call.
    let fd = unsafe { libc::openat(at.as_raw_fd(), name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Creates the directory `name` in `at` with `mode` (less the umask).
pub fn make_at(at: &File, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: as in `open_at`.
    if unsafe { libc::mkdirat(at.as_raw_fd(), name.as_ptr(), mode) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What `name` in `at` is, without following a symbolic link: its
/// identity, whether it is a directory, and whether a symbolic link.
pub fn stat_at(at: &File, name: &CStr) -> io::Result<(Id, Kind)> {
    // SAFETY: an all-zero `stat` is a valid value, filled in by fstatat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as in `open_at`; `st` is a valid place to write a stat to.
    let r = unsafe {
        libc::fstatat(
            at.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    #[allow(clippy::unnecessary_cast)] // u64 on 64-bit targets, not on all
    Ok(((st.st_dev as u64, st.st_ino as u64), kind))
}

/// What [`stat_at`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else.
    Other,
}

/// Removes the empty directory `name` from `at` if it is still the
/// directory `id`: one moved away, or replaced by another directory or a
/// symbolic link (to someone else's directory), stays. Whether it was
/// removed.
pub fn remove_at(at: &File, name: &CStr, id: Id) -> bool {
    if !matches!(stat_at(at, name), Ok((now, Kind::Dir)) if now == id) {
        return false;
    }
    // SAFETY: as in `open_at`.
    unsafe { libc::unlinkat(at.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) == 0 }
}

/// The path through which `name` in the open directory `at` is reached
/// whatever has become of the path `at` was opened by (`/proc/self/fd`'s
/// link leads to the directory itself); the last component of it is not
/// a link that path resolution follows unless asked to.
pub fn proc_path(at: &File, name: &OsStr) -> std::path::PathBuf {
    Path::new(&format!("/proc/self/fd/{}", at.as_raw_fd())).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory replaced by a symbolic link to another, empty one
    /// between creation and removal: the other one stays.
    #[test]
    fn remove_at_leaves_a_swapped_in_link_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let at = open(tmp.path()).unwrap();
        let name = c_name(OsStr::new("d")).unwrap();
        make_at(&at, &name, 0o700).unwrap();
        let made = stat_at(&at, &name).unwrap().0;
        std::fs::rename(tmp.path().join("d"), tmp.path().join("moved")).unwrap();
        std::fs::create_dir(tmp.path().join("theirs")).unwrap();
        std::os::unix::fs::symlink("theirs", tmp.path().join("d")).unwrap();
        assert!(!remove_at(&at, &name, made));
        assert!(tmp.path().join("theirs").is_dir());
        assert!(tmp.path().join("moved").is_dir());
        // Back under its name, it goes.
        std::fs::remove_file(tmp.path().join("d")).unwrap();
        std::fs::rename(tmp.path().join("moved"), tmp.path().join("d")).unwrap();
        assert!(remove_at(&at, &name, made));
        assert!(!tmp.path().join("d").exists());
    }
}
