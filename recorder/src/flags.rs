//! Symbolic rendering of flag arguments and Falco-style `syscall_args`.

/// `open(2)` flags as `O_WRONLY|O_CREAT|O_TRUNC` (x86_64/generic values).
pub fn open_flags(f: u32) -> String {
    let mut out = String::new();
    open_flags_into(&mut out, f);
    out
}

/// [`open_flags`] appended to `out` (the decoder fills a kept buffer).
pub fn open_flags_into(out: &mut String, f: u32) {
    out.push_str(match f & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    // O_TMPFILE includes O_DIRECTORY's bit: tested first.
    const NAMED: &[(u32, &str)] = &[
        (0o20200000, "O_TMPFILE"),
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o4010000, "O_SYNC"),
        (0o10000, "O_DSYNC"),
        (0o20000, "O_ASYNC"),
        (0o40000, "O_DIRECT"),
        (0o100000, "O_LARGEFILE"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o1000000, "O_NOATIME"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
    ];
    let mut rest = f & !3;
    for &(bit, name) in NAMED {
        if rest & bit == bit && bit != 0 {
            out.push('|');
            out.push_str(name);
            rest &= !bit;
        }
    }
    if rest != 0 {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "|0{rest:o}");
    }
}

/// `openat2`'s `open_how.resolve` as `RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH`
/// (`0` when none).
pub fn resolve_flags(r: u64) -> String {
    const NAMED: &[(u64, &str)] = &[
        (0x01, "RESOLVE_NO_XDEV"),
        (0x02, "RESOLVE_NO_MAGICLINKS"),
        (0x04, "RESOLVE_NO_SYMLINKS"),
        (0x08, "RESOLVE_BENEATH"),
        (0x10, "RESOLVE_IN_ROOT"),
        (0x20, "RESOLVE_CACHED"),
    ];
    let mut parts: Vec<String> = NAMED
        .iter()
        .filter(|(b, _)| r & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = r & !0x3f;
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

/// Names of the arguments worth showing, per syscall (`name=value`).
fn arg_names(name: &str) -> &'static [&'static str] {
    match name {
        "openat" | "mkdirat" | "mknodat" => &["dirfd"],
        "openat2" => &["dirfd"],
        "unlinkat" => &["dirfd", "path", "flags"],
        "fchmodat" => &["dirfd", "path", "mode"],
        "fchmodat2" => &["dirfd", "path", "mode", "flags"],
        "execveat" => &["dirfd", "path", "argv_ptr", "envp_ptr", "flags"],
        "renameat" => &["olddirfd", "oldpath", "newdirfd"],
        "linkat" => &["olddirfd", "oldpath", "newdirfd", "newpath", "flags"],
        "symlinkat" => &["target", "newdirfd"],
        "capset" => &["header_ptr", "data_ptr"],
        "fcntl" => &["fd", "cmd", "arg"],
        "socket" => &["domain", "type", "protocol"],
        "kill" => &["pid", "sig"],
        "tgkill" => &["tgid", "tid", "sig"],
        "setuid" | "setfsuid" => &["uid"],
        "setgid" | "setfsgid" => &["gid"],
        "setreuid" => &["ruid", "euid"],
        "setregid" => &["rgid", "egid"],
        "setresuid" => &["ruid", "euid", "suid"],
        "setresgid" => &["rgid", "egid", "sgid"],
        "setns" => &["fd", "nstype"],
        "unshare" => &["flags"],
        "clone" => &["flags"],
        "ptrace" => &["request", "pid"],
        "prctl" => &["option", "arg2"],
        "bpf" => &["cmd"],
        "memfd_create" => &["name_ptr", "flags"],
        "mount" => &["source_ptr", "target_ptr", "fstype_ptr", "flags"],
        "umount2" => &["target_ptr", "flags"],
        "listen" => &["fd", "backlog"],
        "dup2" => &["oldfd", "newfd"],
        "dup3" => &["oldfd", "newfd", "flags"],
        // The other descriptor of the copy calls (argument 0's file is
        // resolved: `fd`, `file_path`).
        "sendfile" => &["out_fd", "in_fd"],
        "copy_file_range" | "splice" => &["fd_in", "off_in_ptr", "fd_out"],
        "tee" => &["fd_in", "fd_out"],
        // `uargs` is a pointer to the module's parameter string.
        "finit_module" => &["fd", "uargs_ptr", "flags"],
        "renameat2" => &["olddirfd", "oldpath", "newdirfd", "newpath", "flags"],
        "fchown" | "chown" | "lchown" => &["path_or_fd", "uid", "gid"],
        "fchownat" => &["dirfd", "path", "uid", "gid", "flags"],
        "accept4" => &["fd", "addr", "addrlen", "flags"],
        "close_range" => &["first", "last", "flags"],
        // The descriptors the call returned follow as `fd0=` and `fd1=`.
        "pipe2" => &["fds_ptr", "flags"],
        "socketpair" => &["domain", "type", "protocol"],
        _ => &[],
    }
}

/// `name=value ...` for the arguments that have no column of their own.
pub fn syscall_args(name: &str, a: &[u64; 6]) -> Option<String> {
    let mut out = String::new();
    syscall_args_into(&mut out, name, a);
    (!out.is_empty()).then_some(out)
}

/// [`syscall_args`] written into the empty `out` (a buffer the decoder
/// keeps); `out` stays empty when there is nothing to write.
pub fn syscall_args_into(out: &mut String, name: &str, a: &[u64; 6]) {
    use std::fmt::Write;
    for (i, n) in arg_names(name).iter().enumerate() {
        if n.ends_with("_ptr")
            || n.contains("path")
            || matches!(*n, "addr" | "addrlen" | "target" | "mode" | "how_size")
        {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let v = a[i];
        // Writing to a String cannot fail.
        let _ = match (name, *n) {
            ("fcntl", "cmd") => match v {
                0 => write!(out, "cmd=F_DUPFD"),
                1030 => write!(out, "cmd=F_DUPFD_CLOEXEC"),
                2 => write!(out, "cmd=F_SETFD"),
                _ => write!(out, "cmd={v}"),
            },
            ("dup3" | "pipe2", "flags") if v == 0o2000000 => write!(out, "flags=O_CLOEXEC"),
            ("memfd_create", "flags") if v != 0 => {
                const MFD: &[(u64, &str)] = &[
                    (1, "MFD_CLOEXEC"),
                    (2, "MFD_ALLOW_SEALING"),
                    (4, "MFD_HUGETLB"),
                    (8, "MFD_NOEXEC_SEAL"),
                    (0x10, "MFD_EXEC"),
                ];
                let names: Vec<&str> = MFD
                    .iter()
                    .filter(|(b, _)| v & b != 0)
                    .map(|(_, n)| *n)
                    .collect();
                let rest = v & !0x1f;
                if rest == 0 {
                    write!(out, "flags={}", names.join("|"))
                } else {
                    write!(out, "flags={v:#x}")
                }
            }
            ("unlinkat", "flags") if v == 0x200 => write!(out, "flags=AT_REMOVEDIR"),
            // Unsigned: `last` is ~0U for "every descriptor from `first` on".
            ("close_range", "first" | "last") => write!(out, "{n}={}", v as u32),
            (_, "flags" | "nstype" | "request" | "cmd" | "option") => write!(out, "{n}={v:#x}"),
            (_, "uid" | "gid" | "ruid" | "euid" | "suid" | "rgid" | "egid" | "sgid") => {
                write!(out, "{n}={}", v as u32 as i32)
            }
            _ => write!(out, "{n}={}", v as i64 as i32),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_symbolic() {
        assert_eq!(open_flags(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000002), "O_RDWR|O_CLOEXEC");
        assert_eq!(open_flags(0o20200002), "O_RDWR|O_TMPFILE");
        assert_eq!(open_flags(0o200000), "O_RDONLY|O_DIRECTORY");
    }

    #[test]
    fn args_render() {
        assert_eq!(
            syscall_args("openat", &[(-100i64) as u64, 0, 0, 0, 0, 0]).as_deref(),
            Some("dirfd=-100")
        );
        assert_eq!(
            syscall_args("kill", &[42, 9, 0, 0, 0, 0]).as_deref(),
            Some("pid=42 sig=9")
        );
        assert_eq!(syscall_args("getppid", &[0; 6]), None);
        assert_eq!(
            syscall_args("fcntl", &[3, 1030, 0, 0, 0, 0]).as_deref(),
            Some("fd=3 cmd=F_DUPFD_CLOEXEC arg=0")
        );
        assert_eq!(
            syscall_args("unlinkat", &[5, 0, 0x200, 0, 0, 0]).as_deref(),
            Some("dirfd=5 flags=AT_REMOVEDIR")
        );
        assert_eq!(
            syscall_args("linkat", &[3, 0, (-100i64) as u64, 0, 0x1000, 0]).as_deref(),
            Some("olddirfd=3 newdirfd=-100 flags=0x1000")
        );
        assert_eq!(
            syscall_args("close_range", &[3, u32::MAX as u64, 4, 0, 0, 0]).as_deref(),
            Some("first=3 last=4294967295 flags=0x4")
        );
    }
}
