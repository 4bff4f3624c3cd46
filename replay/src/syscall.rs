//! [`Sc`]: the syscalls the state model and the engine treat specially,
//! told apart once per event.
//!
//! The state model, the engine and the `fd` fields ask "is this an open?",
//! "a close?", "a socket?" several times per event; as string comparisons
//! that was a dozen `memcmp` calls per event. [`Sc::of`] packs a name of up
//! to 15 bytes and its length into one integer and matches that against
//! constants: a few integer comparisons, once per row.

/// A syscall the state model or the engine treats specially, or
/// [`Sc::Other`] (any other name, or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub enum Sc {
    #[default]
    Other,
    Open,
    Openat,
    Openat2,
    Creat,
    OpenByHandleAt,
    Close,
    CloseRange,
    MemfdCreate,
    Socket,
    Accept,
    Accept4,
    Connect,
    Bind,
    Listen,
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Pipe,
    Pipe2,
    Socketpair,
    Chdir,
    Fchdir,
    Rename,
    Renameat,
    Renameat2,
}

/// A name of at most 15 bytes, zero-padded, with its length in the top byte.
const fn key(s: &str) -> u128 {
    let b = s.as_bytes();
    let mut k = (b.len() as u128) << 120;
    let mut i = 0;
    while i < b.len() {
        k |= (b[i] as u128) << (8 * i);
        i += 1;
    }
    k
}

impl Sc {
    /// The syscall named `name` (`None`: no syscall).
    #[inline]
    pub fn of(name: Option<&str>) -> Sc {
        let Some(s) = name else {
            return Sc::Other;
        };
        if s.len() > 15 {
            return if s == "open_by_handle_at" {
                Sc::OpenByHandleAt
            } else {
                Sc::Other
            };
        }
        let mut buf = [0u8; 16];
        buf[..s.len()].copy_from_slice(s.as_bytes());
        buf[15] = s.len() as u8;
        const OPEN: u128 = key("open");
        const OPENAT: u128 = key("openat");
        const OPENAT2: u128 = key("openat2");
        const CREAT: u128 = key("creat");
        const CLOSE: u128 = key("close");
        const CLOSE_RANGE: u128 = key("close_range");
        const MEMFD_CREATE: u128 = key("memfd_create");
        const SOCKET: u128 = key("socket");
        const ACCEPT: u128 = key("accept");
        const ACCEPT4: u128 = key("accept4");
        const CONNECT: u128 = key("connect");
        const BIND: u128 = key("bind");
        const LISTEN: u128 = key("listen");
        const DUP: u128 = key("dup");
        const DUP2: u128 = key("dup2");
        const DUP3: u128 = key("dup3");
        const FCNTL: u128 = key("fcntl");
        const PIPE: u128 = key("pipe");
        const PIPE2: u128 = key("pipe2");
        const SOCKETPAIR: u128 = key("socketpair");
        const CHDIR: u128 = key("chdir");
        const FCHDIR: u128 = key("fchdir");
        const RENAME: u128 = key("rename");
        const RENAMEAT: u128 = key("renameat");
        const RENAMEAT2: u128 = key("renameat2");
        match u128::from_le_bytes(buf) {
            OPEN => Sc::Open,
            OPENAT => Sc::Openat,
            OPENAT2 => Sc::Openat2,
            CREAT => Sc::Creat,
            CLOSE => Sc::Close,
            CLOSE_RANGE => Sc::CloseRange,
            MEMFD_CREATE => Sc::MemfdCreate,
            SOCKET => Sc::Socket,
            ACCEPT => Sc::Accept,
            ACCEPT4 => Sc::Accept4,
            CONNECT => Sc::Connect,
            BIND => Sc::Bind,
            LISTEN => Sc::Listen,
            DUP => Sc::Dup,
            DUP2 => Sc::Dup2,
            DUP3 => Sc::Dup3,
            FCNTL => Sc::Fcntl,
            PIPE => Sc::Pipe,
            PIPE2 => Sc::Pipe2,
            SOCKETPAIR => Sc::Socketpair,
            CHDIR => Sc::Chdir,
            FCHDIR => Sc::Fchdir,
            RENAME => Sc::Rename,
            RENAMEAT => Sc::Renameat,
            RENAMEAT2 => Sc::Renameat2,
            _ => Sc::Other,
        }
    }

    /// `open`, `openat`, `openat2`, `creat`, `open_by_handle_at`: a new
    /// descriptor in `ret` describing `file_path`.
    #[inline]
    pub fn opens_file(self) -> bool {
        matches!(
            self,
            Sc::Open | Sc::Openat | Sc::Openat2 | Sc::Creat | Sc::OpenByHandleAt
        )
    }

    /// `socket`, `accept`, `accept4`: the new descriptor is `ret`.
    #[inline]
    pub fn returns_socket(self) -> bool {
        matches!(self, Sc::Socket | Sc::Accept | Sc::Accept4)
    }
}

/// The recorder's x86_64 syscall table (name, number): the names a
/// recording's `syscall` column holds. Read from the recorder's source so
/// that the two never disagree; a rule is checked against it whatever the
/// architecture it is loaded on.
#[path = "../../recorder/src/syscall_table_x86_64.rs"]
mod table;

/// Whether the `syscall` column of a recording can hold `name`: a syscall of
/// the recorder's table, `unknown` (a number the table lacks) or `""`
/// (what a rule compares with for rows without a syscall).
pub fn is_known(name: &str) -> bool {
    name.is_empty() || name == "unknown" || table::SYSCALLS.iter().any(|&(n, _)| n == name)
}

/// Every syscall name the recorder knows (for suggestions).
pub fn names() -> impl Iterator<Item = &'static str> {
    table::SYSCALLS.iter().map(|&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_near_misses() {
        let all = [
            ("open", Sc::Open),
            ("openat", Sc::Openat),
            ("openat2", Sc::Openat2),
            ("creat", Sc::Creat),
            ("open_by_handle_at", Sc::OpenByHandleAt),
            ("close", Sc::Close),
            ("close_range", Sc::CloseRange),
            ("memfd_create", Sc::MemfdCreate),
            ("socket", Sc::Socket),
            ("accept", Sc::Accept),
            ("accept4", Sc::Accept4),
            ("connect", Sc::Connect),
            ("bind", Sc::Bind),
            ("listen", Sc::Listen),
            ("dup", Sc::Dup),
            ("dup2", Sc::Dup2),
            ("dup3", Sc::Dup3),
            ("fcntl", Sc::Fcntl),
            ("pipe", Sc::Pipe),
            ("pipe2", Sc::Pipe2),
            ("socketpair", Sc::Socketpair),
            ("chdir", Sc::Chdir),
            ("fchdir", Sc::Fchdir),
            ("rename", Sc::Rename),
            ("renameat", Sc::Renameat),
            ("renameat2", Sc::Renameat2),
        ];
        for (name, sc) in all {
            assert_eq!(Sc::of(Some(name)), sc, "{name}");
        }
        for other in [
            "",
            "ope",
            "open\0",
            "openat\0\0",
            "Open",
            "closes",
            "open_by_handle_a",
            "open_by_handle_att",
            "newfstatat",
            "exit_group",
            "x\u{e9}",
        ] {
            assert_eq!(Sc::of(Some(other)), Sc::Other, "{other:?}");
        }
        assert_eq!(Sc::of(None), Sc::Other);
    }

    #[test]
    fn the_recorders_table_is_known() {
        for name in ["openat", "execve", "open_by_handle_at", "unknown", ""] {
            assert!(is_known(name), "{name}");
        }
        for name in ["opnat", "OPENAT", "sys_openat"] {
            assert!(!is_known(name), "{name}");
        }
        assert!(names().count() > 300);
    }
}
