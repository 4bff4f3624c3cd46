//! Text of a record: C strings, escapes of bytes that are not UTF-8, the
//! kernel's path walks, and user paths made absolute.

/// Appends `args` joined with spaces to `out`.
pub(super) fn join_args(out: &mut String, args: &[String]) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(arg);
    }
}

/// The text before the first NUL of `b` (all of it without one), escaped
/// like [`escape_bytes`].
pub(super) fn cstr_lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    escape_bytes(&b[..end])
}

/// Bytes of a name as text, unambiguously: UTF-8 as is, each byte that is
/// not UTF-8 as `\xNN` (two lower-case hex digits) and a backslash as
/// `\\`, so that two different names never read the same (a lossy
/// conversion made `n\xff.txt` and `n\xfe.txt` one name).
pub fn escape_bytes(b: &[u8]) -> std::borrow::Cow<'_, str> {
    escape_with(b, true)
}

/// Like [`escape_bytes`] but keeping backslashes as they are: for argv and
/// `comm`, where a backslash is common (`sed 's/a\.b/'`) and rules match the
/// command line as the process wrote it; only bytes that are not UTF-8 are
/// escaped (`\xNN`).
pub fn escape_invalid(b: &[u8]) -> std::borrow::Cow<'_, str> {
    escape_with(b, false)
}

pub(super) fn escape_with(b: &[u8], backslash: bool) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) if !backslash || !s.contains('\\') => std::borrow::Cow::Borrowed(s),
        _ => {
            use std::fmt::Write;
            let mut out = String::with_capacity(b.len() + 8);
            for chunk in b.utf8_chunks() {
                for c in chunk.valid().chars() {
                    if c == '\\' && backslash {
                        out.push_str("\\\\");
                    } else {
                        out.push(c);
                    }
                }
                for x in chunk.invalid() {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\x{x:02x}");
                }
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

pub(super) fn cstr(b: &[u8]) -> String {
    cstr_lossy(b).into_owned()
}

/// [`cstr`] written into the empty `out` (a kept buffer), which it returns.
pub(super) fn cstr_in(mut out: String, b: &[u8]) -> String {
    out.push_str(&cstr_lossy(b));
    out
}

/// Joins leaf-first NUL-separated components into an absolute path.
pub(super) fn join_walk(b: &[u8]) -> String {
    join_walk_in(String::with_capacity(b.len() + 1), b)
}

/// [`join_walk`] appended to `s` (a kept buffer, empty or holding a `...`
/// prefix), which it returns.
pub(super) fn join_walk_in(mut s: String, b: &[u8]) -> String {
    let start = s.len();
    for p in b.split(|&c| c == 0).rev().filter(|p| !p.is_empty()) {
        s.push('/');
        s.push_str(&escape_bytes(p));
    }
    if s.len() == start {
        s.push('/');
    }
    s
}

/// The name of an object on an internal mount (memfd, pipe, socket, anon
/// inode) from its dentry's own name, as `/proc/PID/fd` and Falco show it:
/// `memfd:NAME`, `pipe:[INO]`, `socket:[INO]`, `anon_inode:[eventfd]`.
pub(super) fn pseudo_name(b: &[u8], i_mode: u32, ino: u64) -> String {
    let name = cstr(b);
    match i_mode & 0o170000 {
        0o010000 => format!("pipe:[{ino}]"),
        0o140000 => format!("socket:[{ino}]"),
        _ if name.starts_with('[') => format!("anon_inode:{name}"),
        _ if name.is_empty() => format!("anon_inode:[{ino}]"),
        _ => name,
    }
}

/// Whether `user` (absolute, lexically clean) goes through a magic link to
/// an open descriptor (`/dev/fd/N`, `/proc/self/fd/N`, `/dev/stdin`...): the
/// kernel's object is whatever that descriptor is, so no name can disagree.
pub(super) fn via_fd_link(user: &str) -> bool {
    if matches!(user, "/dev/stdin" | "/dev/stdout" | "/dev/stderr") || user.starts_with("/dev/fd/")
    {
        return true;
    }
    let Some(rest) = user.strip_prefix("/proc/") else {
        return false;
    };
    let mut parts = rest.split('/');
    let mut who = parts.next();
    if who == Some("thread-self") {
        who = Some("self");
    } else if parts.clone().next() == Some("task") {
        parts.next();
        parts.next();
    }
    let is_proc = who.is_some_and(|w| w == "self" || w.parse::<u32>().is_ok());
    is_proc && parts.next() == Some("fd") && parts.next().is_some()
}

/// `user` with the magic links `/proc/self` and `/proc/thread-self` replaced
/// by the process's own directory (the decoder must not resolve them: they
/// would name the recorder).
pub(super) fn resolve_proc_self(user: &str, pid: i32, tid: i32) -> String {
    if let Some(rest) = user.strip_prefix("/proc/self")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("/proc/{pid}{rest}");
    }
    if let Some(rest) = user.strip_prefix("/proc/thread-self")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("/proc/{pid}/task/{tid}{rest}");
    }
    user.to_string()
}

/// Makes `user` absolute against `base` (the kernel's walk of the directory
/// it is relative to) and removes `.` and repeated slashes. A `..` is
/// resolved only where that is exact: against a component of `base`, which
/// the kernel walked (no symlinks in it). After a component of `user`,
/// which may be a symlink (`ls/../victim` with `ls -> real/sub` is
/// `real/victim`), the `..` is kept: the path stays what the process named,
/// unnormalised, rather than naming a different file. A `base` cut short
/// (`.../deep/dir`, see `file_path_truncated`) keeps its leading `...`.
pub fn absolutize(user: &str, base: Option<&str>) -> String {
    absolutize_in(String::new(), user, base)
}

/// [`absolutize`] written into the empty `out` (a kept buffer), which it
/// returns for the clean names that are most of them.
pub(super) fn absolutize_in(mut out: String, user: &str, base: Option<&str>) -> String {
    // Most names are already clean: no `.`, `..` or empty components.
    let clean = |p: &str| p.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if let Some(rest) = user.strip_prefix('/') {
        if rest.is_empty() || clean(rest) {
            out.push_str(user);
            return out;
        }
    } else {
        let base = base.unwrap_or("/");
        if !user.is_empty() && clean(user) {
            if base == "/" {
                out.push('/');
                out.push_str(user);
                return out;
            }
            if let Some(b) = base.strip_prefix('/')
                && clean(b)
            {
                out.push_str(base);
                out.push('/');
                out.push_str(user);
                return out;
            }
        }
    }
    resolve_components(user, base)
}

/// Appends the components of `path` to `out`. `exact` counts the leading
/// components a `..` may remove: the kernel's (`kernels`: the walked base,
/// whose components are no symlinks). A `..` after a component the process
/// named (maybe a symlink), or above a cut base, is kept as named.
fn push_components<'a>(
    out: &mut Vec<&'a str>,
    exact: &mut usize,
    cut: bool,
    path: &'a str,
    kernels: bool,
) {
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." if out.len() > *exact || (cut && out.is_empty()) => out.push(c),
            ".." => {
                out.pop();
                *exact = out.len();
            }
            c => {
                out.push(c);
                if kernels {
                    *exact = out.len();
                }
            }
        }
    }
}

/// [`absolutize`] by components, for any name.
pub(super) fn resolve_components(user: &str, base: Option<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    // A cut base: its `...` stays in front, and no `..` climbs past it.
    let mut cut = false;
    // Components of `out` that `..` may remove: the kernel's.
    let mut exact = 0;
    if !user.starts_with('/') {
        let base = base.unwrap_or("/");
        let rest = match base.strip_prefix("...") {
            Some(rest) => {
                cut = true;
                rest
            }
            None => base,
        };
        push_components(&mut out, &mut exact, cut, rest, true);
    }
    push_components(&mut out, &mut exact, cut, user, false);
    let lead = if cut { "..." } else { "" };
    format!("{lead}/{}", out.join("/"))
}
