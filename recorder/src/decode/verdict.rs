//! TOCTOU verdicts: the kernel's copy of a name against the user-memory
//! copy, re-reads at exit, `AF_UNIX` names, and "same object" checks.

use super::*;

/// The kernel's own copy of one path argument (from `names_cache`), as far
/// as the record tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KName {
    /// It differed from the user-memory copy (or that read failed).
    pub(super) differs: bool,
    /// Its bytes: the user copy when equal, the sent section when not.
    pub(super) value: Option<String>,
}

impl KName {
    /// The kernel's copy named by the flag `bits` (seen, differs, bytes
    /// sent) and the section at `off`; `None` when the kernel saw none.
    pub(super) fn of(
        h: &WireHeader,
        rec: &[u8],
        bits: (u32, u32, u32),
        off: usize,
        user: &Option<String>,
        pool: &mut StrPool,
    ) -> Option<KName> {
        let (seen, diff, bytes) = bits;
        if h.flags & seen == 0 {
            return None;
        }
        let differs = h.flags & diff != 0;
        let value = if !differs {
            user.as_deref().map(|u| pool.of(u))
        } else if h.flags & bytes != 0 {
            Some(cstr_in(pool.take(), sect(rec, off, 256)))
        } else {
            None
        };
        Some(KName { differs, value })
    }
}

/// The verdict on an `AF_UNIX` address: the user copy (`user`, read at
/// entry) against the name the kernel keeps for the socket (`kname`).
/// Equal names agree; other names agree when they resolve now to the same
/// socket file (a relative name, a symlink); null when that cannot be told
/// (abstract or removed names, a relative name bound by another process).
pub(super) fn unix_verdict(
    h: &WireHeader,
    user: Option<&str>,
    kname: &str,
    cwd: Option<&str>,
) -> Option<bool> {
    if h.uaddr_err != 0 {
        return Some(true);
    }
    let user = user?;
    if user == kname {
        return Some(false);
    }
    if user.is_empty() || kname.starts_with('@') || !kname.starts_with('/') {
        return None;
    }
    let user_abs = if user.starts_with('/') {
        user.to_string()
    } else {
        absolutize(user, Some(cwd?))
    };
    match (std::fs::metadata(&user_abs), std::fs::metadata(kname)) {
        (Ok(u), Ok(k)) => Some(u.ino() != k.ino() || u.dev() != k.dev()),
        _ => None,
    }
}

/// The verdict of a path re-read at exit: a failed entry read or a change
/// is a mismatch; equal copies of a path cut short (`cut`, 255 bytes of a
/// longer one) leave no whole value to compare (null).
pub(super) fn reread_verdict(err: i32, entry: Option<&str>, exit: &str, cut: bool) -> Option<bool> {
    if err != 0 || entry != Some(exit) {
        Some(true)
    } else if cut {
        None
    } else {
        Some(false)
    }
}

/// The kernel's name made absolute like a user path (relative names are
/// relative to the walked dirfd/cwd when there is one, else kept as-is).
pub(super) fn kname_abs(k: &str, base: Option<&str>) -> String {
    if k.starts_with('/') || base.is_some() {
        absolutize(k, base)
    } else {
        k.to_string()
    }
}

/// Whether user path `user_abs` names the object the kernel used (`kpath`,
/// inode `ino` on device `dev`): equal paths, or the same inode when the
/// user path is resolved now (symlinks and `..` are not mismatches).
///
/// When the user path no longer resolves (the object was removed before the
/// decoder saw the row), nothing can show that it named the kernel's object,
/// so it is not the same: an unverifiable name is flagged rather than
/// trusted. (A buffer read again at exit cannot decide this: a racing thread
/// may flip it back between the kernel's copy and the re-read, which is
/// exactly the Phantom Attack.)
pub(super) fn same_object(user_abs: &str, kpath: &str, ino: u64, dev: u64, nofollow: bool) -> bool {
    if user_abs == kpath {
        return true;
    }
    let meta = if nofollow {
        std::fs::symlink_metadata(user_abs)
    } else {
        std::fs::metadata(user_abs)
    };
    match meta {
        Ok(m) => m.ino() == ino && m.dev() == dev,
        Err(_) => false,
    }
}
