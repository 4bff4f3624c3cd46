//! Container ids by cgroup v2 id: every record carries the task's cgroup id
//! (read in the kernel), and the decoder names the container from that
//! cgroup's path. So a process that moves into a container's cgroup after
//! the recorder first saw it (`docker exec`: runc starts on the host, then
//! joins the container) is attributed to the container from then on.
//!
//! A cgroup id is a kernfs node id; `open_by_handle_at(2)` on the cgroup2
//! mount turns it back into a directory while the cgroup exists (root only).
//! A cgroup already removed when its first record is decoded cannot be
//! named: the decoder then keeps the process's container id from `/proc`.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::procinfo::container_id_of;

/// `FILEID_KERNFS`: the file handle type of kernfs (cgroup) nodes.
const FILEID_KERNFS: i32 = 0xfe;

/// `struct file_handle` with the 8-byte kernfs id.
#[repr(C)]
struct KernfsHandle {
    handle_bytes: u32,
    handle_type: i32,
    id: u64,
}

/// Resolves and caches the container id of each cgroup id.
#[derive(Debug, Default)]
pub struct CgroupContainers {
    /// The cgroup2 mount, when there is one and it could be opened.
    mount: Option<File>,
    /// Where the mount is (to make paths relative to the hierarchy's root).
    mount_point: String,
    /// cgroup id → `Some(container id or None for the host)` once resolved,
    /// `None` when the cgroup could not be opened.
    cache: HashMap<u64, Option<Option<String>>, crate::IdHash>,
}

impl CgroupContainers {
    /// Opens the host's cgroup2 mount (found in `/proc/self/mounts`); without
    /// one every lookup answers "unknown".
    pub fn open() -> CgroupContainers {
        let mount_point = std::fs::read_to_string("/proc/self/mounts")
            .ok()
            .and_then(|m| {
                m.lines().find_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.get(2) == Some(&"cgroup2")).then(|| f[1].to_string())
                })
            })
            .unwrap_or_default();
        let mount = (!mount_point.is_empty())
            .then(|| File::open(&mount_point).ok())
            .flatten();
        CgroupContainers {
            mount,
            mount_point,
            cache: HashMap::default(),
        }
    }

    /// Resolves `id` once (later calls are one map lookup) and answers as
    /// [`get`](Self::get) does.
    pub fn resolve(&mut self, id: u64) -> Option<Option<&str>> {
        if !self.cache.contains_key(&id) {
            let answer = self.path(id).map(|p| container_id_of(&format!("0::{p}")));
            self.cache.insert(id, answer);
        }
        self.get(id)
    }

    /// The container id of cgroup `id` after [`resolve`](Self::resolve):
    /// `Some(None)` for a cgroup outside any container, `None` when unknown.
    pub fn get(&self, id: u64) -> Option<Option<&str>> {
        self.cache.get(&id)?.as_ref().map(|c| c.as_deref())
    }

    /// The path of cgroup `id` below the hierarchy's root (`/system.slice/…`).
    fn path(&self, id: u64) -> Option<String> {
        let mount = self.mount.as_ref()?;
        let handle = KernfsHandle {
            handle_bytes: 8,
            handle_type: FILEID_KERNFS,
            id,
        };
        // SAFETY: a valid `struct file_handle` with an 8-byte payload, and
        // the result is checked before it is used as a descriptor.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_open_by_handle_at,
                mount.as_raw_fd(),
                &handle as *const KernfsHandle,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just returned by the kernel and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let full = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let full = full.to_string_lossy();
        let rel = full
            .strip_prefix(self.mount_point.as_str())
            .unwrap_or(&full);
        Some(if rel.is_empty() {
            "/".into()
        } else {
            rel.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorder's own cgroup resolves to the path `/proc/self/cgroup`
    /// names (root only: `open_by_handle_at` needs CAP_DAC_READ_SEARCH).
    #[test]
    fn own_cgroup_resolves_to_its_path() {
        let mut c = CgroupContainers::open();
        let Some(mount) = c.mount.as_ref().map(|_| c.mount_point.clone()) else {
            eprintln!("skipped: no cgroup2 mount");
            return;
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let rel = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap()
            .to_string();
        let dir = format!("{mount}{rel}");
        let id = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&dir).unwrap());
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        match c.path(id) {
            Some(p) => assert_eq!(p, rel),
            None if root => panic!("open_by_handle_at failed as root for {dir}"),
            None => eprintln!("skipped: open_by_handle_at refused (not root)"),
        }
        c.resolve(id);
        if root {
            let expected = container_id_of(&own);
            assert_eq!(c.get(id), Some(expected.as_deref()));
        }
        c.resolve(u64::MAX);
        assert_eq!(
            c.get(u64::MAX),
            None,
            "an id that names no cgroup is unknown"
        );
    }
}
