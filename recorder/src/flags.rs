//! Symbolic rendering of flag arguments and Falco-style `syscall_args`.

/// `open(2)` flags as `O_WRONLY|O_CREAT|O_TRUNC` (x86_64/generic values).
pub fn open_flags(f: u32) -> String {
    let mut parts: Vec<String> = vec![
        match f & 3 {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        }
        .to_string(),
    ];
    const NAMED: &[(u32, &str)] = &[
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
        (0o20200000, "O_TMPFILE"),
        (0o10000000, "O_PATH"),
    ];
    let mut rest = f & !3;
    for &(bit, name) in NAMED {
        if rest & bit == bit && bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("0{rest:o}"));
    }
    parts.join("|")
}

/// Names of the arguments worth showing, per syscall (`name=value`).
fn arg_names(name: &str) -> &'static [&'static str] {
    match name {
        "openat" | "openat2" | "unlinkat" | "mkdirat" | "fchmodat" | "fchmodat2" | "mknodat"
        | "execveat" => &["dirfd"],
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
        "dup2" | "dup3" => &["oldfd", "newfd"],
        "finit_module" => &["fd", "uargs", "flags"],
        "renameat2" => &["olddirfd", "oldpath", "newdirfd", "newpath", "flags"],
        "fchown" | "chown" | "lchown" => &["path_or_fd", "uid", "gid"],
        "fchownat" => &["dirfd", "path", "uid", "gid"],
        "accept4" => &["fd", "addr", "addrlen", "flags"],
        _ => &[],
    }
}

/// `name=value ...` for the arguments that have no column of their own.
pub fn syscall_args(name: &str, a: &[u64; 6]) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, n) in arg_names(name).iter().enumerate() {
        if n.ends_with("_ptr") || n.contains("path") || *n == "addr" || *n == "addrlen" {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let v = a[i];
        // Writing to a String cannot fail.
        let _ = match *n {
            "flags" | "nstype" | "request" | "cmd" | "option" => write!(out, "{n}={v:#x}"),
            "uid" | "gid" | "ruid" | "euid" | "suid" | "rgid" | "egid" | "sgid" => {
                write!(out, "{n}={}", v as u32 as i32)
            }
            _ => write!(out, "{n}={}", v as i64 as i32),
        };
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_symbolic() {
        assert_eq!(open_flags(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000002), "O_RDWR|O_CLOEXEC");
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
    }
}
