//! Syscall names, numbers and how the kernel side captures each one.

use hindsight_recorder_common::{
    D_CWD_AFTER, D_DUP_CMDS, D_FD_PAIR, D_FD_PAIR_ARG3, D_OPENAT2, MAX_SYSCALLS, S_ARG_FD,
    S_ENABLED, S_REREAD, S_RET_FD, S_SOCK, S_SOCKADDR, S_SOCKADDR_ARG4, S_SOCKADDR_MSG,
    SyscallSpec,
};

#[cfg(target_arch = "x86_64")]
#[path = "syscall_table_x86_64.rs"]
mod table;

#[cfg(not(target_arch = "x86_64"))]
mod table {
    /// No table for this architecture yet.
    pub const SYSCALLS: &[(&str, u32)] = &[];
}

/// Errors in a `--syscalls` set.
#[derive(Debug, thiserror::Error)]
pub enum SyscallError {
    /// An unknown name, with the closest known one if any is close.
    #[error(
        "unknown syscall `{0}` in --syscalls{hint} (see `hindsight record --help` for the set names)",
        hint = .1.map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
    )]
    Unknown(String, Option<&'static str>),
    /// The architecture has no table.
    #[error("no syscall table for this architecture")]
    NoTable,
    /// A value naming no syscall at all (`''`, `,`).
    #[error(
        "--syscalls `{0}` names no syscall (use default, all, or names such as openat,connect)"
    )]
    Empty(String),
    /// `exit` or `exit_group` named: they never return, so no syscall row
    /// can record them.
    #[error(
        "--syscalls: `{0}` never returns, so it has no syscall row; every process's end is a process_exit row (with its exit code or signal), recorded whatever the set"
    )]
    NoReturn(String),
}

/// The default set: what the Falco rule sets look at (files, process,
/// network, privilege), without read/write.
pub const DEFAULT_SET: &[&str] = &[
    // files
    "open",
    "openat",
    "openat2",
    "creat",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "truncate",
    "ftruncate",
    "mount",
    "umount2",
    "chdir",
    "fchdir",
    "chroot",
    "mknod",
    "mknodat",
    // descriptors: without their ends, replay's descriptor table would keep
    // a closed socket's number until something recorded reuses it; without
    // pipes, a pipe's descriptors would be unknown to it
    "close",
    "close_range",
    "pipe",
    "pipe2",
    "socketpair",
    // process
    "execve",
    "execveat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "kill",
    "tgkill",
    // network
    "socket",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "sendto",
    "sendmsg",
    // privilege and other sensitive calls
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "capset",
    // a new session, without a controlling terminal: the rows after it
    // carry the new ids
    "setsid",
    "setns",
    "unshare",
    "ptrace",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "memfd_create",
    "userfaultfd",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "prctl",
];

/// The error for `name`, not a syscall of this architecture: with the
/// closest name within a third of its length (1 to 3 edits, as replay
/// suggests for a rule's `syscall = 'clsoe'`), or the closest set name.
fn unknown(name: &str) -> SyscallError {
    let names = table::SYSCALLS.iter().map(|&(n, _)| n);
    SyscallError::Unknown(
        name.to_string(),
        closest(name, names.chain(["default", "all"])),
    )
}

/// The candidate closest to `name` within a third of its length (at least
/// 1, at most 3 edits); ties go to the first. The recorder does not depend
/// on replay, whose `diag::suggest` this mirrors.
fn closest(name: &str, candidates: impl IntoIterator<Item = &'static str>) -> Option<&'static str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'static str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance with adjacent transpositions (optimal string alignment),
/// in characters: `clsoe` is one edit from `close`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d: Vec<usize> = (0..(a.len() + 1) * w)
        .map(|k| if k < w { k } else { 0 })
        .collect();
    for i in 1..=a.len() {
        d[i * w] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// Syscall number of `name` on this architecture.
pub fn number(name: &str) -> Option<u32> {
    table::SYSCALLS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, nr)| nr)
}

/// Name of syscall `nr` on this architecture.
pub fn name(nr: u32) -> Option<&'static str> {
    static BY_NUMBER: std::sync::OnceLock<Vec<Option<&'static str>>> = std::sync::OnceLock::new();
    let by_number = BY_NUMBER.get_or_init(|| {
        let max = table::SYSCALLS.iter().map(|&(_, n)| n).max().unwrap_or(0);
        let mut v = vec![None; max as usize + 1];
        for &(name, n) in table::SYSCALLS {
            v[n as usize].get_or_insert(name);
        }
        v
    });
    by_number.get(nr as usize).copied().flatten()
}

const fn spec(flags: u8, path1: u8, path2: u8, dirfd: u8) -> SyscallSpec {
    SyscallSpec {
        flags: flags | S_ENABLED,
        path1,
        path2,
        dirfd,
    }
}

/// How to capture `name` (argument indexes are 1-based, 0 = none).
pub fn spec_for(name: &str) -> SyscallSpec {
    match name {
        "open" | "creat" => spec(S_RET_FD, 1, 0, 0),
        "openat" => spec(S_RET_FD, 2, 0, 1),
        "openat2" => spec(S_RET_FD, 2, 0, D_OPENAT2),
        "execve" => spec(0, 1, 0, 0),
        "execveat" => spec(0, 2, 0, 1),
        "unlink" | "rmdir" | "mkdir" | "chmod" | "chown" | "lchown" | "truncate" | "chroot"
        | "mknod" | "umount2" => spec(S_REREAD, 1, 0, 0),
        "chdir" => spec(S_REREAD, 1, 0, D_CWD_AFTER),
        "unlinkat" | "mkdirat" | "fchmodat" | "fchmodat2" | "fchownat" | "mknodat" => {
            spec(S_REREAD, 2, 0, 1)
        }
        "rename" | "link" | "symlink" | "mount" => spec(S_REREAD, 1, 2, 0),
        "renameat" | "renameat2" | "linkat" => spec(S_REREAD, 2, 4, 1),
        // The link text (arg 1) is never resolved; the link's own path is
        // relative to newdirfd (arg 2).
        "symlinkat" => spec(S_REREAD, 1, 3, 2),
        "connect" | "bind" => spec(S_SOCKADDR | S_SOCK, 0, 0, 0),
        "sendto" => spec(S_SOCKADDR_ARG4 | S_SOCK, 0, 0, 0),
        "sendmsg" => spec(S_SOCKADDR_MSG | S_SOCK, 0, 0, 0),
        "socket" | "accept" | "accept4" => spec(S_RET_FD | S_SOCK, 0, 0, 0),
        // The new file (`memfd:NAME`) behind the returned descriptor.
        "memfd_create" => spec(S_RET_FD, 0, 0, 0),
        "listen" | "recvfrom" | "recvmsg" | "getsockname" | "getpeername" | "shutdown" => {
            spec(S_SOCK, 0, 0, 0)
        }
        // The file behind the descriptor in arg 0: for the copy calls the
        // source (copy_file_range, splice, tee) or, for sendfile, the
        // destination. (Not setns: a namespace file's name, `net:[…]`, is
        // made up by the kernel when asked, and its dentry's own is "/".)
        "fchmod" | "fchown" | "ftruncate" | "fchdir" | "read" | "write" | "pread64"
        | "pwrite64" | "readv" | "writev" | "preadv" | "pwritev" | "preadv2" | "pwritev2"
        | "copy_file_range" | "sendfile" | "splice" | "tee" | "finit_module" | "dup" | "dup2"
        | "dup3" => spec(S_ARG_FD, 0, 0, 0),
        "fcntl" => spec(S_ARG_FD, 0, 0, D_DUP_CMDS),
        // The two descriptors, read back at exit from the array the kernel
        // filled (arg 0, or socketpair's arg 3).
        "pipe" | "pipe2" => spec(0, 0, 0, D_FD_PAIR),
        "socketpair" => spec(0, 0, 0, D_FD_PAIR_ARG3),
        _ => spec(0, 0, 0, 0),
    }
}

/// Expands a `--syscalls` value: `default`, `all`, names, `+name`/`-name`
/// edits of the default set, comma-separated. Returns (number, spec) pairs.
pub fn parse_set(value: &str) -> Result<Vec<(u32, SyscallSpec)>, SyscallError> {
    if table::SYSCALLS.is_empty() {
        return Err(SyscallError::NoTable);
    }
    let mut names: Vec<&str> = Vec::new();
    let parts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(SyscallError::Empty(value.to_string()));
    }
    let edits_only = parts
        .iter()
        .all(|p| p.starts_with('+') || p.starts_with('-'));
    if edits_only {
        names.extend(DEFAULT_SET);
    }
    for part in parts {
        match part {
            "default" => names.extend(DEFAULT_SET),
            // exit and exit_group never return, so they would leave no row
            // (only an entry state): the process_exit row records them.
            "all" => names.extend(
                table::SYSCALLS
                    .iter()
                    .map(|&(n, _)| n)
                    .filter(|n| !matches!(*n, "exit" | "exit_group")),
            ),
            p if p.starts_with('-') => {
                let n = &p[1..];
                number(n).ok_or_else(|| unknown(n))?;
                names.retain(|x| *x != n);
            }
            p => {
                let n = p.strip_prefix('+').unwrap_or(p);
                number(n).ok_or_else(|| unknown(n))?;
                if matches!(n, "exit" | "exit_group") {
                    return Err(SyscallError::NoReturn(n.to_string()));
                }
                names.push(n);
            }
        }
    }
    let mut out: Vec<(u32, SyscallSpec)> = names
        .into_iter()
        .filter_map(|n| number(n).map(|nr| (nr, spec_for(n))))
        .filter(|(nr, _)| *nr < MAX_SYSCALLS)
        .collect();
    out.sort_by_key(|(nr, _)| *nr);
    out.dedup_by_key(|(nr, _)| *nr);
    Ok(out)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_x86_64_abi() {
        assert_eq!(number("openat"), Some(257));
        assert_eq!(number("getppid"), Some(110));
        assert_eq!(number("openat2"), Some(437));
        assert_eq!(name(59), Some("execve"));
    }

    #[test]
    fn sets_parse() {
        let d = parse_set("default").unwrap();
        assert!(
            d.iter()
                .any(|(nr, s)| *nr == 257 && s.flags & S_RET_FD != 0)
        );
        assert!(!d.iter().any(|(nr, _)| *nr == 0), "read is off by default");
        let plus = parse_set("+read").unwrap();
        assert_eq!(plus.len(), d.len() + 1);
        let minus = parse_set("-openat").unwrap();
        assert_eq!(minus.len(), d.len() - 1);
        assert!(parse_set("all").unwrap().len() > 300);
        assert!(parse_set("openat,nosuchcall").is_err());
        // A misspelt name gets the closest syscall (or set name), as a
        // rule's `syscall = 'clsoe'` does in replay.
        for (set, name, hint) in [
            ("+clsoe", "clsoe", Some("close")),
            ("-opneat", "opneat", Some("openat")),
            ("execve,conect", "conect", Some("connect")),
            ("defualt", "defualt", Some("default")),
            ("+zzzzzzzz", "zzzzzzzz", None),
        ] {
            match parse_set(set) {
                Err(e @ SyscallError::Unknown(..)) => {
                    let SyscallError::Unknown(n, h) = &e else {
                        unreachable!()
                    };
                    assert_eq!((n.as_str(), *h), (name, hint), "{set}");
                    let msg = e.to_string();
                    assert!(
                        msg.starts_with(&format!("unknown syscall `{name}` in --syscalls")),
                        "{msg}"
                    );
                    match hint {
                        Some(h) => {
                            assert!(msg.contains(&format!("; did you mean `{h}`?")), "{msg}")
                        }
                        None => assert!(!msg.contains("did you mean"), "{msg}"),
                    }
                }
                other => panic!("{set}: {other:?}"),
            }
        }
        assert_eq!(edit_distance("clsoe", "close"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(parse_set("getppid").unwrap().len(), 1);
        for empty in ["", ",", " , "] {
            assert!(
                matches!(parse_set(empty), Err(SyscallError::Empty(_))),
                "{empty:?}"
            );
        }
        for never in ["exit", "openat,+exit_group"] {
            assert!(
                matches!(parse_set(never), Err(SyscallError::NoReturn(_))),
                "{never}"
            );
        }
        // Taking them out is harmless.
        assert_eq!(parse_set("-exit").unwrap().len(), d.len());
    }
}
