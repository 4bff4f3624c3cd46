//! Errno names for `deny:` actions and for printing.

const TABLE: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("ENOSYS", 38),
    ("ELOOP", 40),
    ("ENOTSUP", 95),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("ENETUNREACH", 101),
    ("ECONNREFUSED", 111),
    ("EHOSTUNREACH", 113),
];

/// The symbolic name of a (positive) errno, or the number as text.
pub fn name(errno: i32) -> String {
    TABLE
        .iter()
        .find(|(_, n)| *n == errno)
        .map_or_else(|| errno.to_string(), |(s, _)| (*s).to_string())
}

/// Parses `EACCES` (any case) or a positive number.
pub fn parse(s: &str) -> Option<i32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return (n > 0).then_some(n);
    }
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, n)| *n)
}

/// Every known name, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(s, _)| *s)
}
