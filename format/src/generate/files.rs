//! File activity of the simulated processes: which paths they touch, with
//! which flags, and the `openat` / `newfstatat` / `close` rows, with the
//! descriptor numbers the kernel would hand out.

use std::collections::BTreeSet;

use rand::Rng;

use super::tables::PHANTOM_OPENS;
use super::{Generator, fnv};
use crate::event::EventKind;

/// A process's open descriptors: the order they were opened in (closes pick
/// among them at random) plus what is needed to find the lowest free number
/// in O(log n), as the kernel hands out descriptors.
#[derive(Debug, Clone)]
pub(super) struct FdTable {
    order: Vec<i32>,
    /// Numbers below `high` that are free again.
    free: BTreeSet<i32>,
    /// Every number from `high` up is free.
    high: i32,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable {
            order: Vec::new(),
            free: BTreeSet::new(),
            high: 3,
        }
    }
}

impl FdTable {
    /// Takes the lowest free descriptor number (from 3) and returns it.
    pub(super) fn open_lowest(&mut self) -> i32 {
        let fd = match self.free.pop_first() {
            Some(fd) => fd,
            None => {
                self.high += 1;
                self.high - 1
            }
        };
        self.order.push(fd);
        fd
    }

    /// Closes the `k`-th open descriptor (in `order`, swap-removed).
    pub(super) fn swap_remove(&mut self, k: usize) -> i32 {
        let fd = self.order.swap_remove(k);
        self.free.insert(fd);
        fd
    }

    pub(super) fn last(&self) -> Option<&i32> {
        self.order.last()
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub(super) fn clear(&mut self) {
        *self = FdTable::default();
    }
}

impl Generator {
    pub(super) fn pick_path(&mut self, i: usize) -> String {
        let p = &self.procs[i];
        let files = p.tool.files;
        let f = files[self.rng.random_range(0..files.len())];
        if let Some(rest) = f.strip_prefix('~') {
            format!("{}{rest}", p.home)
        } else if f.contains("$$") {
            let target = self.procs[self.rng.random_range(0..self.procs.len())].pid;
            f.replace("$$", &target.to_string())
        } else if f == "." {
            p.cwd.clone()
        } else {
            f.to_string()
        }
    }

    pub(super) fn pick_flags(&mut self, path: &str) -> &'static str {
        if path.ends_with(".log") || path.ends_with("history") || path.ends_with(".journal") {
            "O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC"
        } else if path.starts_with("/tmp/")
            || path.ends_with(".o")
            || path.ends_with(".swp")
            || path.ends_with(".gz")
        {
            "O_WRONLY|O_CREAT|O_TRUNC"
        } else if !path.contains('.') && !path.starts_with("/proc") && !path.starts_with("/etc") {
            "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY"
        } else {
            "O_RDONLY|O_CLOEXEC"
        }
    }

    pub(super) fn open_stat_close(&mut self, i: usize, path: &str, flags: &'static str) {
        if let Some(fd) = self.open(i, path, flags) {
            let mut e = self.base(i, EventKind::Syscall, Some("newfstatat"));
            e.fd = Some(fd);
            e.fd_type = Some("file".into());
            e.ret = Some(0);
            e.latency_ns = self.latency(300, 400.0);
            e.syscall_args = Some("flags=AT_EMPTY_PATH".into());
            self.out.push(e);
            self.close(i);
        }
    }

    pub(super) fn open(&mut self, i: usize, path: &str, flags: &'static str) -> Option<i32> {
        let mut e = self.base(i, EventKind::Syscall, Some("openat"));
        e.latency_ns = self.latency(1_500, 4_000.0);
        let p = &self.procs[i];
        let denied = p.uid != 0 && matches!(path, "/etc/shadow" | "/etc/sudoers" | "/root");
        let missing = self.rng.random_ratio(1, 14) && !path.starts_with("/usr/lib/x86_64");
        e.file_flags = Some(flags.to_string());
        e.file_mode = flags.contains("O_CREAT").then_some(0o666);
        // Relative names as a shell user types them; the kernel path is absolute.
        let user_path = match path.strip_prefix(&format!("{}/", p.cwd)) {
            Some(rel) if !p.daemon && self.rng.random_ratio(1, 2) => rel.to_string(),
            _ => path.to_string(),
        };
        let phantom = self.seq >= self.next_phantom_at && !p.daemon;
        if phantom {
            self.next_phantom_at = self.seq + self.rng.random_range(3_000..12_000);
            let (user, kernel) = PHANTOM_OPENS[self.rng.random_range(0..PHANTOM_OPENS.len())];
            e.file_path_user = Some(user.into());
            e.file_path = Some(kernel.into());
            e.toctou_mismatch = Some(true);
        } else {
            e.file_path_user = Some(user_path);
        }
        e.file_path_user_err = Some(0);
        e.syscall_args = Some("dirfd=AT_FDCWD".into());
        if (denied || missing) && !phantom {
            e.ret = Some(if denied { -13 } else { -2 });
            e.toctou_mismatch = None;
            self.out.push(e);
            return None;
        }
        let kernel_path = e.file_path.clone().unwrap_or_else(|| path.to_string());
        let fd = self.procs[i].fds.open_lowest();
        e.ret = Some(fd.into());
        e.fd = Some(fd);
        e.fd_type = Some(
            if flags.contains("O_DIRECTORY") {
                "directory"
            } else {
                "file"
            }
            .into(),
        );
        e.file_inode = Some(fnv(&kernel_path) % 9_000_000 + 1_000);
        e.file_device = Some(match kernel_path.split('/').nth(1) {
            Some("proc") => 0x16,
            Some("tmp") | Some("run") => 0x1b,
            Some("data") => 0x2d,
            _ => 0x10302,
        });
        e.file_path = Some(kernel_path);
        e.toctou_mismatch.get_or_insert(false);
        e.kernel_source = Some("sys_exit_fd".into());
        self.out.push(e);
        Some(fd)
    }

    pub(super) fn close(&mut self, i: usize) {
        let fds = &mut self.procs[i].fds;
        let fd = if fds.is_empty() {
            None
        } else {
            let k = self.rng.random_range(0..fds.len());
            Some(fds.swap_remove(k))
        };
        let mut e = self.base(i, EventKind::Syscall, Some("close"));
        e.fd = Some(fd.unwrap_or(3));
        e.ret = Some(if fd.is_some() { 0 } else { -9 });
        e.latency_ns = self.latency(200, 300.0);
        self.out.push(e);
    }

    pub(super) fn path_syscall(&mut self, i: usize, name: &str, path: &str, min: i64, mean: f64) {
        let mut e = self.base(i, EventKind::Syscall, Some(name));
        e.ret = Some(if self.rng.random_ratio(1, 10) { -2 } else { 0 });
        e.latency_ns = self.latency(min, mean);
        e.file_path_user = Some(path.to_string());
        e.file_path_user_err = Some(0);
        self.out.push(e);
    }
}
