//! Process context the kernel events do not carry on every row (executable,
//! argv, cwd, session, tty, container), kept per process by the decoder and
//! seeded from `/proc` for processes that existed before recording.

/// The kernel's view of the latest exec of a process.
#[derive(Debug, Clone, Default)]
pub struct LastExec {
    /// Path of the binary (dentry walk of `bprm->file`).
    pub path: String,
    /// Its inode.
    pub ino: u64,
    /// Its device (`st_dev` encoding).
    pub dev: u64,
    /// TOCTOU verdict of that exec.
    pub mismatch: Option<bool>,
    /// On overlayfs: created in the upper layer (`process_exe_upper_layer`).
    pub upper_layer: Option<bool>,
}

/// What the decoder knows about one process.
#[derive(Debug, Clone, Default)]
pub struct ProcInfo {
    /// Executable.
    pub exe: Option<String>,
    /// argv.
    pub args: Option<Vec<String>>,
    /// `args` joined with spaces (`process_command_line`), made by the
    /// decoder the first time a row needs it; `None` whenever `args` is set.
    pub cmdline: Option<String>,
    /// Working directory at exec (or at first sight).
    pub cwd: Option<String>,
    /// Container id from the cgroup path.
    pub container_id: Option<String>,
    /// Session id.
    pub session_id: Option<i32>,
    /// Controlling tty device number.
    pub tty: Option<u32>,
    /// pid in its own namespace.
    pub vpid: Option<i32>,
    /// Latest exec.
    pub last_exec: Option<LastExec>,
}

impl ProcInfo {
    /// Best effort from `/proc/PID` (the process may already be gone).
    pub fn from_proc(pid: i32) -> ProcInfo {
        let base = format!("/proc/{pid}");
        // Names escaped as the decoder's rows escape them (format.md).
        use crate::decode::{escape_bytes, escape_invalid};
        use std::os::unix::ffi::OsStrExt;
        let exe = std::fs::read_link(format!("{base}/exe"))
            .ok()
            .map(|p| escape_bytes(p.as_os_str().as_bytes()).into_owned());
        let args = std::fs::read(format!("{base}/cmdline")).ok().map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| escape_invalid(s).into_owned())
                .collect::<Vec<_>>()
        });
        let cwd = std::fs::read_link(format!("{base}/cwd"))
            .ok()
            .map(|p| escape_bytes(p.as_os_str().as_bytes()).into_owned());
        let (session_id, tty) = std::fs::read_to_string(format!("{base}/stat"))
            .ok()
            .and_then(|s| {
                // Fields after the `(comm)`: state ppid pgrp session tty_nr ...
                let rest = &s[s.rfind(')')? + 2..];
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some((
                    f.get(3)?.parse().ok(),
                    f.get(4)?.parse::<i64>().ok().map(|t| t as u32),
                ))
            })
            .unwrap_or((None, None));
        let vpid = std::fs::read_to_string(format!("{base}/status"))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("NSpid:"))?;
                line.split_whitespace().last()?.parse().ok()
            });
        let container_id = std::fs::read_to_string(format!("{base}/cgroup"))
            .ok()
            .and_then(|s| container_id_of(&s));
        ProcInfo {
            exe,
            args: args.filter(|a| !a.is_empty()),
            cmdline: None,
            cwd,
            container_id,
            session_id,
            tty,
            vpid,
            last_exec: None,
        }
    }
}

/// The 64-hex container id in a `/proc/PID/cgroup` text (docker, containerd,
/// cri-o, podman naming), if any.
pub fn container_id_of(cgroup: &str) -> Option<String> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or(line);
        for seg in path.split('/').rev() {
            let seg = seg.trim_end_matches(".scope");
            let id = seg.rsplit(['-', ':']).next().unwrap_or(seg);
            if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(id.to_ascii_lowercase());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids() {
        let id = "a".repeat(64);
        assert_eq!(
            container_id_of(&format!("0::/system.slice/docker-{id}.scope")),
            Some(id.clone())
        );
        assert_eq!(
            container_id_of(&format!("12:memory:/docker/{id}")),
            Some(id.clone())
        );
        assert_eq!(
            container_id_of(&format!("0::/kubepods/pod1/cri-containerd-{id}.scope")),
            Some(id)
        );
        assert_eq!(
            container_id_of("0::/user.slice/user-0.slice/session-1.scope"),
            None
        );
    }

    #[test]
    fn reads_own_process() {
        let me = ProcInfo::from_proc(std::process::id() as i32);
        assert!(me.exe.is_some());
        assert!(me.args.is_some_and(|a| !a.is_empty()));
    }
}
