//! The one wire → [`Event`] decoder: times, process context, symbolic
//! flags, kernel-authoritative paths and addresses, and the TOCTOU verdict.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;

use hindsight_format::event::{Event, EventKind};
use hindsight_format::{EventBatchBuilder, SharedValues};
use hindsight_recorder_common::{
    F_AUX, F_BASE2_COMPLETE, F_BASE2_WALK, F_EXE_OVERLAY, F_EXE_UPPER, F_EXEC_KNAME, F_FD_ARG,
    F_FILE, F_KADDR, F_KNAME1, F_KNAME1_BYTES, F_KNAME1_DIFF, F_KNAME2, F_KNAME2_BYTES,
    F_KNAME2_DIFF, F_KPATH_COMPLETE, F_KPATH_PSEUDO, F_KPATH_REREAD, F_KPATH_WALK,
    F_KPATH2_COMPLETE, F_KPATH2_WALK, F_SOCK, F_UADDR, F_UADDR_ABSTRACT, F_UNIX_ADDR, F_USER_PATH,
    F_USER_PATH2, F_USER_TRUNC, F_USER_TRUNC2, KIND_EXEC, KIND_EXIT, KIND_FORK, KIND_SYSCALL,
    OFF_AUX, OFF_KNAME, OFF_KNAME2, OFF_KPATH, OFF_KPATH2, OFF_USER_PATH, OFF_USER_PATH2, S_REREAD,
    USER_PATH_LEN, WireHeader,
};

use crate::cgroups::CgroupContainers;
use crate::flags::{open_flags, syscall_args};
use crate::procinfo::ProcInfo;
use crate::syscalls;

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its header or its declared length.
    #[error("ring-buffer record of {got} bytes is shorter than {want}")]
    Short {
        /// Bytes received.
        got: usize,
        /// Bytes needed.
        want: usize,
    },
    /// Unknown kind.
    #[error("ring-buffer record of unknown kind {0}")]
    Kind(u32),
}

/// Host-wide facts stamped on every event.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    /// Host name.
    pub host_name: String,
    /// Kernel boot id.
    pub boot_id: String,
    /// Add to `bpf_ktime_get_ns` to get ns since the epoch.
    pub monotonic_to_wall_ns: i64,
    /// uid → name.
    pub users: HashMap<u32, String, crate::IdHash>,
}

/// Decodes ring-buffer records, keeping a process table for context.
#[derive(Debug, Default)]
pub struct Decoder {
    host: HostInfo,
    procs: HashMap<i32, ProcInfo, crate::IdHash>,
    ignore_prefixes: Vec<String>,
    /// Rows dropped by `--ignore-prefix`.
    pub ignored: u64,
    /// Scratch for the `process_name` of the row being pushed.
    name_buf: String,
    /// Scratch for the `process_command_line` of the row being pushed.
    cmdline_buf: String,
    /// Container ids by cgroup id.
    cgroups: CgroupContainers,
    /// The recorded command's pid while it is still the recorder's own
    /// child, held before its first successful exec ([`Decoder::hold`]).
    held: Option<i32>,
}

/// A decoded row before the values it shares with other rows (host, syscall
/// name, process context) are attached.
struct Decoded {
    event: Event,
    syscall: Option<&'static str>,
    comm: [u8; 16],
}

/// Appends `args` joined with spaces to `out`.
fn join_args(out: &mut String, args: &[String]) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(arg);
    }
}

/// The text before the first NUL of `b` (all of it without one), escaped
/// like [`escape_bytes`].
fn cstr_lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
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

fn escape_with(b: &[u8], backslash: bool) -> std::borrow::Cow<'_, str> {
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

fn cstr(b: &[u8]) -> String {
    cstr_lossy(b).into_owned()
}

/// Joins leaf-first NUL-separated components into an absolute path.
fn join_walk(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 1);
    for p in b.split(|&c| c == 0).rev().filter(|p| !p.is_empty()) {
        s.push('/');
        s.push_str(&escape_bytes(p));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// The name of an object on an internal mount (memfd, pipe, socket, anon
/// inode) from its dentry's own name, as `/proc/PID/fd` and Falco show it:
/// `memfd:NAME`, `pipe:[INO]`, `socket:[INO]`, `anon_inode:[eventfd]`.
fn pseudo_name(b: &[u8], i_mode: u32, ino: u64) -> String {
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
fn via_fd_link(user: &str) -> bool {
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
fn resolve_proc_self(user: &str, pid: i32, tid: i32) -> String {
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
    // Most names are already clean: no `.`, `..` or empty components.
    let clean = |p: &str| p.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if let Some(rest) = user.strip_prefix('/') {
        if rest.is_empty() || clean(rest) {
            return user.to_string();
        }
    } else {
        let base = base.unwrap_or("/");
        if !user.is_empty() && clean(user) {
            if base == "/" {
                return format!("/{user}");
            }
            if let Some(b) = base.strip_prefix('/')
                && clean(b)
            {
                return format!("{base}/{user}");
            }
        }
    }
    resolve_components(user, base)
}

/// [`absolutize`] by components, for any name.
fn resolve_components(user: &str, base: Option<&str>) -> String {
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
        for c in rest.split('/') {
            match c {
                "" | "." => {}
                ".." if out.len() > exact || (cut && out.is_empty()) => out.push(c),
                ".." => {
                    out.pop();
                    exact = out.len();
                }
                c => {
                    out.push(c);
                    exact = out.len();
                }
            }
        }
    }
    for c in user.split('/') {
        match c {
            "" | "." => {}
            // After a component of the user's (maybe a symlink), or above a
            // cut base: kept as named.
            ".." if out.len() > exact || (cut && out.is_empty()) => out.push(c),
            ".." => {
                out.pop();
                exact = out.len();
            }
            c => out.push(c),
        }
    }
    let lead = if cut { "..." } else { "" };
    format!("{lead}/{}", out.join("/"))
}

/// Linux `dev_t` (`MAJOR << 20 | MINOR`) to the user-space `st_dev` encoding.
pub fn user_dev(kdev: u32) -> u64 {
    libc::makedev(kdev >> 20, kdev & 0xfffff)
}

fn fd_type(i_mode: u32, path: Option<&str>, family: Option<u16>) -> &'static str {
    match i_mode & 0o170000 {
        0o100000 => {
            if path.is_some_and(|p| p.starts_with("memfd:")) {
                "memfd"
            } else {
                "file"
            }
        }
        0o040000 => "directory",
        0o010000 => "pipe",
        0o140000 => match family {
            Some(2) => "ipv4",
            Some(10) => "ipv6",
            Some(1) => "unix",
            _ => "other",
        },
        _ => match path.unwrap_or("") {
            p if p.contains("eventfd") => "event",
            p if p.contains("signalfd") => "signalfd",
            p if p.contains("timerfd") => "timerfd",
            p if p.contains("inotify") => "inotify",
            p if p.contains("bpf") => "bpf",
            p if p.contains("userfaultfd") => "userfaultfd",
            _ => "other",
        },
    }
}

fn family_name(f: u16) -> String {
    match f {
        1 => "AF_UNIX".into(),
        2 => "AF_INET".into(),
        10 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        other => format!("AF_{other}"),
    }
}

/// `network_transport` of a socket: family, `sk_type` and `sk_protocol`.
fn transport(family: u16, ty: u16, proto: u16) -> Option<String> {
    let t = match (family, ty, proto) {
        (1, _, _) => "unix",
        (2 | 10, 3, _) => "raw",
        (2 | 10, _, 6) => "tcp",
        (2 | 10, _, 17) => "udp",
        _ => return None,
    };
    Some(t.into())
}

fn ip_string(family: u16, a: &[u8; 16]) -> Option<String> {
    match family {
        2 => Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()),
        10 => Some(Ipv6Addr::from(*a).to_string()),
        _ => None,
    }
}

/// The kernel's own copy of one path argument (from `names_cache`), as far
/// as the record tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KName {
    /// It differed from the user-memory copy (or that read failed).
    differs: bool,
    /// Its bytes: the user copy when equal, the sent section when not.
    value: Option<String>,
}

impl KName {
    fn of(
        h: &WireHeader,
        rec: &[u8],
        bits: (u32, u32, u32),
        off: usize,
        user: &Option<String>,
    ) -> Option<KName> {
        let (seen, diff, bytes) = bits;
        if h.flags & seen == 0 {
            return None;
        }
        let differs = h.flags & diff != 0;
        let value = if !differs {
            user.clone()
        } else if h.flags & bytes != 0 {
            Some(cstr(sect(rec, off, 256)))
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
fn unix_verdict(
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
fn reread_verdict(err: i32, entry: Option<&str>, exit: &str, cut: bool) -> Option<bool> {
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
fn kname_abs(k: &str, base: Option<&str>) -> String {
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
fn same_object(user_abs: &str, kpath: &str, ino: u64, dev: u64, nofollow: bool) -> bool {
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

impl Decoder {
    /// A decoder for one recording.
    pub fn new(host: HostInfo, ignore_prefixes: Vec<String>) -> Decoder {
        Decoder {
            host,
            procs: HashMap::default(),
            ignore_prefixes,
            ignored: 0,
            name_buf: String::new(),
            cmdline_buf: String::new(),
            cgroups: CgroupContainers::open(),
            held: None,
        }
    }

    /// Drops the syscall rows of `pid` until its first successful exec:
    /// until then it runs the recorder's own code (waiting to be released,
    /// the `execvp` search of `PATH`), which is never recorded.
    /// Its context (session, tty, pid namespace...) is read from `/proc`
    /// now, while it waits to be released, not when its first row is
    /// decoded (it may have exited by then).
    pub fn hold(&mut self, pid: i32) {
        self.held = Some(pid);
        self.procs.insert(pid, ProcInfo::from_proc(pid));
    }

    /// The `loss` row for `lost` records dropped between two kernel times.
    pub fn loss_event(&self, lost: u64, first_ns: u64, last_ns: u64) -> Event {
        let t = first_ns as i64 + self.host.monotonic_to_wall_ns;
        Event {
            time_ns: t,
            host_name: self.host.host_name.clone(),
            boot_id: self.host.boot_id.clone(),
            event_kind: EventKind::Loss,
            latency_ns: Some(last_ns.saturating_sub(first_ns) as i64),
            lost_events: Some(lost),
            kernel_source: Some("ringbuf_reserve".into()),
            ..Event::default()
        }
    }

    /// Seeds the process table with a process seen before recording began
    /// (the `process_snapshot` rows).
    pub fn seed(&mut self, pid: i32, info: ProcInfo) {
        self.procs.insert(pid, info);
    }

    fn proc_info(&mut self, pid: i32) -> &mut ProcInfo {
        self.procs
            .entry(pid)
            .or_insert_with(|| ProcInfo::from_proc(pid))
    }

    /// Decodes one record; `None` for rows dropped by `--ignore-prefix`.
    pub fn decode(&mut self, rec: &[u8]) -> Result<Option<Event>, DecodeError> {
        let Some(d) = self.decode_row(rec)? else {
            return Ok(None);
        };
        let mut e = d.event.clone();
        self.shared(&d).fill(&mut e);
        self.forget_exited(&e);
        Ok(Some(e))
    }

    /// Decodes one record straight into `out` as row `seq`, lending the
    /// host and process context from the decoder's tables instead of
    /// copying them into an [`Event`] (the recorder's hot path); false for
    /// rows dropped by `--ignore-prefix`.
    pub fn decode_into(
        &mut self,
        rec: &[u8],
        seq: u64,
        out: &mut EventBatchBuilder,
    ) -> Result<bool, DecodeError> {
        let Some(mut d) = self.decode_row(rec)? else {
            return Ok(false);
        };
        d.event.seq = seq;
        out.push_with(&d.event, &self.shared(&d));
        self.forget_exited(&d.event);
        Ok(true)
    }

    /// The values of `d` that come from the decoder's tables (see
    /// [`SharedValues`]); fills the scratch buffers they borrow.
    fn shared<'a>(&'a mut self, d: &'a Decoded) -> SharedValues<'a> {
        let e = &d.event;
        self.name_buf.clear();
        let end = d.comm.iter().position(|&c| c == 0).unwrap_or(d.comm.len());
        self.name_buf.push_str(&escape_invalid(&d.comm[..end]));
        let by_cgroup = e.cgroup_id.and_then(|cg| self.cgroups.resolve(cg));
        // The command line: joined once per process (and exec), not per row.
        self.cmdline_buf.clear();
        if let Some(a) = &e.process_args {
            join_args(&mut self.cmdline_buf, a);
        }
        let info: Option<&ProcInfo> = self.procs.get_mut(&e.process_pid).map(|i| {
            if e.process_args.is_none()
                && i.cmdline.is_none()
                && let Some(a) = &i.args
            {
                let mut joined = String::new();
                join_args(&mut joined, a);
                i.cmdline = Some(joined);
            }
            &*i
        });
        let args = e
            .process_args
            .as_deref()
            .or_else(|| info.and_then(|i| i.args.as_deref()));
        let cmdline = if e.process_args.is_some() {
            Some(self.cmdline_buf.as_str())
        } else {
            info.and_then(|i| i.cmdline.as_deref())
        };
        SharedValues {
            host_name: &self.host.host_name,
            boot_id: &self.host.boot_id,
            syscall: d.syscall,
            process_name: Some(&self.name_buf),
            process_executable: e
                .process_executable
                .as_deref()
                .or_else(|| info.and_then(|i| i.exe.as_deref())),
            process_args: args,
            process_command_line: cmdline,
            process_cwd: e
                .process_cwd
                .as_deref()
                .or_else(|| info.and_then(|i| i.cwd.as_deref())),
            user_name: e
                .user_id
                .and_then(|u| self.host.users.get(&u))
                .map(String::as_str),
            // The cgroup the task is in at this record, when it can be
            // named (also when it names no container: /proc, read when the
            // decoder first sees the process, may already show a later
            // cgroup); else what /proc said.
            container_id: match by_cgroup {
                Some(by_cgroup) => by_cgroup,
                None => info.and_then(|i| i.container_id.as_deref()),
            },
        }
    }

    /// Drops the process table entry of a process that exited.
    fn forget_exited(&mut self, e: &Event) {
        if e.event_kind == EventKind::ProcessExit {
            self.procs.remove(&e.process_pid);
        }
    }

    /// Decodes everything but the shared values.
    fn decode_row(&mut self, rec: &[u8]) -> Result<Option<Decoded>, DecodeError> {
        let hlen = size_of::<WireHeader>();
        if rec.len() < hlen {
            return Err(DecodeError::Short {
                got: rec.len(),
                want: hlen,
            });
        }
        // SAFETY: WireHeader is plain old data and `rec` holds enough bytes.
        let h: WireHeader = unsafe { std::ptr::read_unaligned(rec.as_ptr().cast()) };
        if let Some(held) = self.held
            && h.tgid as i32 == held
        {
            match h.kind {
                KIND_EXEC => self.held = None,
                KIND_SYSCALL => return Ok(None),
                _ => {}
            }
        }
        let sect = |off: usize, len: usize| -> &[u8] {
            rec.get(off..(off + len).min(rec.len())).unwrap_or(&[])
        };
        let mut e = Event {
            time_ns: h.ts_enter as i64 + self.host.monotonic_to_wall_ns,
            process_pid: h.tgid as i32,
            thread_id: h.tid as i32,
            process_parent_pid: Some(h.ppid as i32),
            process_cap_effective: Some(h.cap_eff),
            process_cap_permitted: Some(h.cap_perm),
            user_id: Some(h.uid),
            group_id: Some(h.gid),
            process_effective_user_id: Some(h.euid),
            login_uid: (h.loginuid != u32::MAX).then_some(h.loginuid),
            cgroup_id: Some(h.cgroup_id),
            ..Event::default()
        };
        // A walk that stopped short of the root with components in hand
        // did not fit: keep what it has, marked with a leading `...`.
        let kpath_cut = h.flags & F_KPATH_WALK != 0
            && h.flags & (F_KPATH_COMPLETE | F_KPATH_PSEUDO) == 0
            && h.kpath_len > 0;
        let kpath2_cut =
            h.flags & F_KPATH2_WALK != 0 && h.flags & F_KPATH2_COMPLETE == 0 && h.kpath2_len > 0;
        let kpath = (h.flags & F_KPATH_WALK != 0).then(|| {
            let walk = sect(OFF_KPATH, (h.kpath_len as usize).min(768));
            if h.flags & F_KPATH_PSEUDO != 0 {
                pseudo_name(walk, h.i_mode, h.ino)
            } else if kpath_cut {
                format!("...{}", join_walk(walk))
            } else {
                join_walk(walk)
            }
        });
        let kpath2 = (h.flags & F_KPATH2_WALK != 0).then(|| {
            let walk = join_walk(sect(OFF_KPATH2, (h.kpath2_len as usize).min(768)));
            if kpath2_cut {
                format!("...{walk}")
            } else {
                walk
            }
        });
        let base2_cut =
            h.flags & F_BASE2_WALK != 0 && h.flags & F_BASE2_COMPLETE == 0 && h.aux_len > 0;
        let user_cut = h.flags & (F_USER_TRUNC | F_USER_TRUNC2) != 0 || base2_cut;
        let user_path = (h.flags & F_USER_PATH != 0).then(|| cstr(sect(OFF_USER_PATH, 256)));
        let user_path2 = (h.flags & F_USER_PATH2 != 0).then(|| cstr(sect(OFF_USER_PATH2, 256)));
        let has_path = user_path.is_some() || user_path2.is_some() || kpath.is_some();
        if has_path {
            e.file_path_truncated = Some(user_cut || kpath_cut || kpath2_cut);
        }
        let syscall = match h.kind {
            KIND_SYSCALL => syscalls::name(h.syscall_nr).or(Some("unknown")),
            KIND_EXEC if h.syscall_nr != u32::MAX => {
                syscalls::name(h.syscall_nr).or(Some("execve"))
            }
            KIND_EXEC => Some("execve"),
            _ => None,
        };
        match h.kind {
            KIND_SYSCALL => self.decode_syscall(
                &h,
                &mut e,
                rec,
                syscall.unwrap_or("unknown"),
                kpath,
                kpath2,
                user_path,
                user_path2,
            ),
            KIND_EXEC => self.decode_exec(&h, &mut e, rec, kpath, kpath2, user_path),
            KIND_FORK => {
                e.event_kind = EventKind::ProcessFork;
                let parent = h.tgid as i32;
                e.process_pid = h.child_tgid as i32;
                e.thread_id = h.aux_int;
                if h.child_tgid == h.tgid {
                    e.process_parent_pid = Some(h.ppid as i32);
                } else {
                    e.process_parent_pid = Some(parent);
                    let info = self.proc_info(parent).clone();
                    self.procs.insert(e.process_pid, info);
                }
            }
            KIND_EXIT => {
                e.event_kind = EventKind::ProcessExit;
                let status = h.aux_int;
                if status & 0x7f == 0 {
                    e.process_exit_code = Some((status >> 8) & 0xff);
                } else {
                    e.process_exit_signal = Some(status & 0x7f);
                }
            }
            other => return Err(DecodeError::Kind(other)),
        }
        let pid = e.process_pid;
        let info = self.proc_info(pid);
        e.process_session_id = info.session_id;
        e.process_tty = info.tty;
        e.process_vpid = info.vpid.or(Some(pid));
        if !self.ignore_prefixes.is_empty()
            && e.event_kind == EventKind::Syscall
            && let Some(p) = e.file_path.as_deref().or(e.file_path_user.as_deref())
            // A `..` kept as named (after a component that may be a symlink)
            // may lead out of the prefix: `/proc/../tmp/x` is kept.
            && !p.split('/').any(|c| c == "..")
            && self
                .ignore_prefixes
                .iter()
                .any(|pre| p.starts_with(pre.as_str()))
        {
            self.ignored += 1;
            return Ok(None);
        }
        Ok(Some(Decoded {
            event: e,
            syscall,
            comm: h.comm,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn decode_syscall(
        &mut self,
        h: &WireHeader,
        e: &mut Event,
        rec: &[u8],
        name: &'static str,
        kpath: Option<String>,
        kpath2: Option<String>,
        user_path: Option<String>,
        user_path2: Option<String>,
    ) {
        e.event_kind = EventKind::Syscall;
        e.ret = Some(h.ret);
        e.latency_ns = Some(h.ts_exit.saturating_sub(h.ts_enter) as i64);
        let a = h.args;
        let user_err = h.user_err;
        let user_abs = user_path
            .as_deref()
            .filter(|_| user_err == 0)
            .map(|u| absolutize(u, kpath2.as_deref()));
        if let Some(u) = &user_path {
            // A failed read leaves no value, only its error.
            e.file_path_user = (user_err == 0).then(|| u.clone());
            e.file_path_user_err = Some(user_err);
        }
        if let Some(u) = &user_path2 {
            // A failed read leaves no value (its error has no column).
            e.file_target_path_user = (h.user_err2 == 0).then(|| u.clone());
        }
        // The directory the second path is relative to: its own walk when
        // it differs from the first's (`renameat(d1, "a", d2, "b")`).
        let base2 = if h.flags & F_BASE2_WALK != 0 {
            let walk = join_walk(sect(rec, OFF_AUX, (h.aux_len as usize).min(768)));
            Some(if h.flags & F_BASE2_COMPLETE == 0 && h.aux_len > 0 {
                format!("...{walk}")
            } else {
                walk
            })
        } else {
            kpath2.clone()
        };
        // The second path re-read at exit: after the first in `kpath` when
        // `aux` holds the second base.
        let exit2_off = if h.flags & F_BASE2_WALK != 0 {
            OFF_KPATH + USER_PATH_LEN
        } else {
            OFF_AUX
        };
        let is_open = matches!(name, "open" | "openat" | "openat2" | "creat");
        let kname1 = KName::of(
            h,
            rec,
            (F_KNAME1, F_KNAME1_DIFF, F_KNAME1_BYTES),
            OFF_KNAME,
            &user_path,
        );
        let kname2 = KName::of(
            h,
            rec,
            (F_KNAME2, F_KNAME2_DIFF, F_KNAME2_BYTES),
            OFF_KNAME2,
            &user_path2,
        );
        let reread_call = syscalls::name(h.syscall_nr).is_some()
            && syscalls::spec_for(name).flags & S_REREAD != 0;
        // Flags and mode arguments.
        let (flags, mode) = match name {
            "open" => (Some(a[1]), Some(a[2])),
            "openat" => (Some(a[2]), Some(a[3])),
            "creat" => (Some(0o1101), Some(a[1])),
            // The opened file's flags; else open_how's as user memory held it.
            "openat2" => (
                Some(if h.flags & F_FILE != 0 {
                    h.f_flags as u64
                } else {
                    u64::from_ne_bytes(h.uaddr[..8].try_into().unwrap_or_default())
                }),
                None,
            ),
            "mkdir" | "chmod" | "fchmod" | "mknod" => (None, Some(a[1])),
            "mkdirat" | "fchmodat" | "fchmodat2" | "mknodat" => (None, Some(a[2])),
            _ => (None, None),
        };
        if let Some(f) = flags {
            e.file_flags = Some(open_flags(f as u32));
        }
        if let Some(m) = mode
            && (!is_open || flags.is_some_and(|f| f & 0o100 != 0 || f & 0o20000000 != 0))
        {
            e.file_mode = Some(m as u32);
        }
        // The kernel's object.
        if h.flags & F_FILE != 0 {
            e.file_inode = Some(h.ino);
            e.file_device = Some(user_dev(h.dev));
            e.file_path = kpath.clone();
            e.fd_type = Some(fd_type(h.i_mode, kpath.as_deref(), None).to_string());
            e.kernel_source = Some(
                if h.flags & F_FD_ARG != 0 {
                    "sys_exit_fd_arg"
                } else {
                    "sys_exit_fd"
                }
                .into(),
            );
            if h.flags & (F_KPATH_COMPLETE | F_KPATH_PSEUDO) == 0 && h.kpath_len == 0 {
                // Not reachable from the global root, and not an object of
                // an internal mount either. (A walk cut short keeps its
                // `...` path, with `file_path_truncated`.)
                e.file_path = None;
            }
        }
        if (is_open || name == "memfd_create") && h.ret >= 0 {
            e.fd = Some(h.ret as i32);
        } else if h.flags & F_FD_ARG != 0
            || matches!(
                name,
                "connect"
                    | "bind"
                    | "listen"
                    | "accept"
                    | "accept4"
                    | "sendto"
                    | "sendmsg"
                    | "recvfrom"
                    | "recvmsg"
                    | "getsockname"
                    | "getpeername"
                    | "shutdown"
                    | "close"
            )
        {
            e.fd = Some(a[0] as i32);
        }
        if reread_call && (kname1.is_some() || kname2.is_some()) {
            // No object remains (unlink, rename...): the kernel's own copies
            // of the names are the authoritative values.
            let mut mismatch = false;
            // A path cut short whose re-read agrees on what was read.
            let mut undecided = false;
            match &kname1 {
                // An empty name with AT_EMPTY_PATH: the object is the dirfd's
                // file, resolved above.
                Some(k) if h.flags & F_FILE != 0 => mismatch |= k.differs,
                Some(k) => {
                    mismatch |= k.differs;
                    e.file_path = k.value.as_deref().map(|v| {
                        if name == "symlink" || name == "symlinkat" {
                            // The target is stored verbatim; it is not resolved.
                            v.to_string()
                        } else {
                            kname_abs(v, kpath2.as_deref())
                        }
                    });
                }
                None if h.flags & F_KPATH_REREAD != 0 => {
                    // e.g. mount's source, which is not a `struct filename`.
                    let exit_val = cstr(sect(rec, OFF_KPATH, 256));
                    match reread_verdict(
                        user_err,
                        user_path.as_deref(),
                        &exit_val,
                        h.flags & F_USER_TRUNC != 0,
                    ) {
                        Some(m) => mismatch |= m,
                        None => undecided = true,
                    }
                    e.file_path = Some(exit_val);
                }
                None => {}
            }
            match &kname2 {
                Some(k) => {
                    mismatch |= k.differs;
                    e.file_target_path = k.value.as_deref().map(|v| kname_abs(v, base2.as_deref()));
                }
                None if h.flags & F_AUX != 0 => {
                    let exit2 = cstr(sect(rec, exit2_off, 256));
                    match reread_verdict(
                        h.user_err2,
                        user_path2.as_deref(),
                        &exit2,
                        h.flags & F_USER_TRUNC2 != 0,
                    ) {
                        Some(m) => mismatch |= m,
                        None => undecided = true,
                    }
                    e.file_target_path = Some(absolutize(&exit2, base2.as_deref()));
                }
                None => {}
            }
            e.kernel_source = Some("names_cache".into());
            e.toctou_mismatch = (mismatch || !undecided).then_some(mismatch);
        } else if h.flags & F_KPATH_REREAD != 0 {
            let exit_val = cstr(sect(rec, OFF_KPATH, 256));
            e.file_path = Some(absolutize(&exit_val, kpath2.as_deref()));
            e.kernel_source = Some("sys_exit_reread".into());
            let mut verdict = reread_verdict(
                user_err,
                user_path.as_deref(),
                &exit_val,
                h.flags & F_USER_TRUNC != 0,
            );
            if h.flags & F_AUX != 0 {
                let exit2 = cstr(sect(rec, exit2_off, 256));
                e.file_target_path = Some(absolutize(&exit2, base2.as_deref()));
                let v2 = reread_verdict(
                    h.user_err2,
                    user_path2.as_deref(),
                    &exit2,
                    h.flags & F_USER_TRUNC2 != 0,
                );
                verdict = match (verdict, v2) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (None, _) | (_, None) => None,
                    _ => Some(false),
                };
            }
            e.toctou_mismatch = verdict;
            if name == "symlink" || name == "symlinkat" {
                // The target is stored verbatim; it is not resolved.
                e.file_path = Some(exit_val);
            }
        } else if is_open && h.flags & F_FILE != 0 {
            e.toctou_mismatch = if let Some(k) = &kname1 {
                // The kernel's own copy of the name, compared in the kernel
                // with the entry copy: no file-system state involved.
                Some(k.differs)
            } else {
                // Without the kernel's copy, judge by name and identity.
                // In a PID namespace, `/proc/self` names the namespace's pid.
                let vpid = self.procs.get(&e.process_pid).and_then(|p| p.vpid);
                let ns_abs = user_abs
                    .as_deref()
                    .zip(vpid.filter(|v| *v != e.process_pid))
                    .map(|(u, v)| resolve_proc_self(u, v, e.thread_id));
                let user_abs = user_abs
                    .as_deref()
                    .map(|u| resolve_proc_self(u, e.process_pid, e.thread_id));
                if user_abs.as_deref().is_some_and(via_fd_link) {
                    // A symlink to an open descriptor, not a second name.
                    Some(false)
                } else if h.flags & F_KPATH_COMPLETE == 0 || h.flags & F_USER_TRUNC != 0 {
                    // No whole path on one side: no verdict by name.
                    None
                } else if user_err != 0 {
                    Some(true)
                } else if ns_abs.is_some() && ns_abs == kpath {
                    Some(false)
                } else {
                    let nofollow = flags.is_some_and(|f| f & 0o400000 != 0);
                    Some(!same_object(
                        user_abs.as_deref().unwrap_or(""),
                        kpath.as_deref().unwrap_or(""),
                        h.ino,
                        user_dev(h.dev),
                        nofollow,
                    ))
                }
            };
        } else if (is_open || (matches!(name, "execve" | "execveat") && h.ret < 0))
            && let Some(k) = &kname1
        {
            // A failed open or exec: no object, but the name the kernel tried
            // (an empty one, `execveat(fd, "", ...)`, names the dirfd's file).
            if let Some(v) = k.value.as_deref().filter(|v| !v.is_empty()) {
                e.file_path = Some(kname_abs(v, kpath2.as_deref()));
            }
            e.kernel_source = Some("names_cache".into());
            e.toctou_mismatch = Some(k.differs);
        } else if matches!(name, "execve" | "execveat") && h.ret == 0 {
            // The kernel's view came with the process_exec row just before.
            if let Some(info) = self.procs.get(&e.process_pid)
                && let Some(x) = &info.last_exec
            {
                e.file_path = Some(x.path.clone());
                e.file_inode = Some(x.ino);
                e.file_device = Some(x.dev);
                e.toctou_mismatch = x.mismatch;
                e.process_exe_upper_layer = x.upper_layer;
                e.kernel_source = Some("sched_process_exec".into());
            }
        }
        // A working directory changed: the kernel's new one (walked at exit)
        // is the object the call used, and the process's cwd from now on.
        if h.ret == 0 {
            let cwd = match name {
                "chdir" if h.flags & F_KPATH2_WALK != 0 => kpath2.clone(),
                "fchdir" if h.flags & F_FILE != 0 => kpath.clone(),
                _ => None,
            };
            if let Some(cwd) = cwd {
                if name == "chdir" {
                    e.file_path = Some(cwd.clone());
                }
                self.proc_info(e.process_pid).cwd = Some(cwd);
            }
        }
        // Socket addresses.
        if h.flags & F_UADDR != 0 {
            e.network_family = Some(family_name(h.uaddr_family));
            if h.uaddr_err != 0 {
                e.destination_addr_user = None;
                e.file_path_user_err = Some(h.uaddr_err);
            } else if h.uaddr_family == 1 {
                e.destination_addr_user = if h.flags & F_UADDR_ABSTRACT != 0 {
                    user_path.as_ref().map(|p| format!("@{p}"))
                } else {
                    user_path.clone()
                };
                e.file_path_user = None;
                e.file_path_user_err = None;
            } else if let Some(ip) = ip_string(h.uaddr_family, &h.uaddr) {
                let s = if h.uaddr_family == 10 {
                    format!("[{ip}]:{}", h.uaddr_port)
                } else {
                    format!("{ip}:{}", h.uaddr_port)
                };
                if name == "bind" {
                    e.source_ip = Some(ip);
                    e.source_port = Some(h.uaddr_port);
                }
                e.destination_addr_user = Some(s);
            }
        }
        if h.flags & F_KADDR != 0 {
            e.network_family = Some(family_name(h.kaddr_family));
            e.destination_ip = ip_string(h.kaddr_family, &h.kaddr);
            e.destination_port = Some(h.kaddr_port);
            e.network_transport = None;
            e.fd_type = Some(if h.kaddr_family == 10 { "ipv6" } else { "ipv4" }.into());
            let sends = matches!(name, "sendto" | "sendmsg");
            if matches!(name, "accept" | "accept4") {
                // The peer, from the accepted socket: no user value to compare.
                e.kernel_source = Some("sys_exit_sock".into());
            } else {
                e.kernel_source = Some(
                    match (sends, h.kaddr_family == 10) {
                        (false, false) => "cgroup_connect4",
                        (false, true) => "cgroup_connect6",
                        (true, false) => "cgroup_sendmsg4",
                        (true, true) => "cgroup_sendmsg6",
                    }
                    .into(),
                );
                e.toctou_mismatch = Some(
                    h.uaddr_err != 0
                        || h.flags & F_UADDR == 0
                        || h.uaddr_family != h.kaddr_family
                        || h.uaddr_port != h.kaddr_port
                        || h.uaddr != h.kaddr,
                );
            }
        }
        if h.flags & F_SOCK != 0 {
            // The socket itself, read from `struct sock` at exit.
            e.network_family = Some(family_name(h.sock_family));
            e.network_transport = transport(h.sock_family, h.sock_type, h.sock_proto);
            // Other families (netlink, packet...) keep the type the `socket`
            // call's arguments give (replay's state model reads them).
            e.fd_type = match h.sock_family {
                1 => Some("unix".into()),
                2 => Some("ipv4".into()),
                10 => Some("ipv6".into()),
                _ => None,
            };
            e.file_inode = Some(h.ino);
            // A raw socket's `skc_num` is its protocol, not a port; port 0
            // means no local port (yet, or any more: a refused connect).
            if h.sock_type != 3
                && h.lport != 0
                && let Some(ip) = ip_string(h.sock_family, &h.laddr)
            {
                e.source_ip = Some(ip);
                e.source_port = Some(h.lport);
            }
            if e.kernel_source.is_none() {
                e.kernel_source = Some("sys_exit_sock".into());
            }
            if h.flags & F_UNIX_ADDR != 0
                && matches!(name, "connect" | "bind" | "accept" | "accept4")
            {
                // The kernel's own name of the socket: the one connected to
                // (its bound name), or the one bound.
                let raw = sect(rec, OFF_KPATH, (h.kpath_len as usize).min(108));
                let kname = match (&kpath, raw.split_first()) {
                    // The socket file, walked in the kernel.
                    (Some(walked), _) => walked.clone(),
                    // Abstract names start with a NUL; shown `@name` as `ss` does.
                    (None, Some((0, rest))) => format!("@{}", escape_bytes(rest)),
                    _ => cstr(raw),
                };
                if matches!(name, "connect" | "bind") {
                    let cwd = self.procs.get(&e.process_pid).and_then(|p| p.cwd.clone());
                    e.toctou_mismatch = unix_verdict(
                        h,
                        e.destination_addr_user.as_deref(),
                        &kname,
                        cwd.as_deref(),
                    );
                }
                e.destination_ip = Some(kname);
            }
        }
        e.syscall_args = syscall_args(name, &a);
        if name == "openat2" {
            // open_how.resolve, read at entry.
            let resolve = u64::from_ne_bytes(h.uaddr[8..].try_into().unwrap_or_default());
            let r = crate::flags::resolve_flags(resolve);
            e.syscall_args = Some(match e.syscall_args.take() {
                Some(s) => format!("{s} resolve={r}"),
                None => format!("resolve={r}"),
            });
        }
    }

    fn decode_exec(
        &mut self,
        h: &WireHeader,
        e: &mut Event,
        rec: &[u8],
        kpath: Option<String>,
        kpath2: Option<String>,
        user_path: Option<String>,
    ) {
        e.event_kind = EventKind::ProcessExec;
        e.file_path = kpath.clone();
        e.process_executable = kpath.clone();
        e.file_inode = Some(h.ino);
        e.file_device = Some(user_dev(h.dev));
        e.kernel_source = Some("sched_process_exec".into());
        if h.flags & F_AUX != 0 {
            let argv = sect(rec, OFF_AUX, h.aux_len as usize);
            let mut args: Vec<String> = argv
                .split(|&c| c == 0)
                .map(|s| escape_invalid(s).into_owned())
                .collect();
            if args.last().is_some_and(|s| s.is_empty()) {
                args.pop();
            }
            e.process_args = Some(args);
            if h.child_tgid > h.aux_len {
                // Cut to fit the record: say so, and how much there was.
                e.syscall_args = Some(format!(
                    "argv_bytes={} argv_recorded={}",
                    h.child_tgid, h.aux_len
                ));
            }
        }
        e.process_cwd = kpath2.clone();
        if h.flags & F_EXE_OVERLAY != 0 {
            e.process_exe_upper_layer = Some(h.flags & F_EXE_UPPER != 0);
        }
        let kname = (h.flags & F_EXEC_KNAME != 0).then(|| cstr(sect(rec, OFF_USER_PATH2, 256)));
        if let Some(u) = &user_path {
            e.file_path_user = (h.user_err == 0).then(|| u.clone());
            e.file_path_user_err = Some(h.user_err);
        }
        e.toctou_mismatch = match (&user_path, &kname) {
            (Some(_), _) if h.user_err != 0 => Some(true),
            (Some(u), Some(k)) => Some(u != k),
            _ => None,
        };
        let info = ProcInfo {
            exe: kpath.clone(),
            args: e.process_args.clone(),
            cmdline: None,
            cwd: kpath2,
            last_exec: kpath.map(|path| crate::procinfo::LastExec {
                path,
                ino: h.ino,
                dev: user_dev(h.dev),
                mismatch: e.toctou_mismatch,
                upper_layer: e.process_exe_upper_layer,
            }),
            ..self.proc_info(e.process_pid).clone()
        };
        self.procs.insert(e.process_pid, info);
    }
}

fn sect(rec: &[u8], off: usize, len: usize) -> &[u8] {
    rec.get(off..(off + len).min(rec.len())).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_recorder_common::WireEvent;

    fn record(kind: u32, nr: u32, flags: u32, sections: &[(usize, &[u8])]) -> Vec<u8> {
        record_with(kind, nr, flags, sections, |_| {})
    }

    fn record_with(
        kind: u32,
        nr: u32,
        flags: u32,
        sections: &[(usize, &[u8])],
        tweak: impl Fn(&mut WireHeader),
    ) -> Vec<u8> {
        // SAFETY: WireHeader is plain old data; all zeroes is a valid value.
        let mut h: WireHeader = unsafe { std::mem::zeroed() };
        h.kind = kind;
        h.flags = flags;
        h.syscall_nr = nr;
        h.ts_enter = 1000;
        h.ts_exit = 1700;
        h.tgid = std::process::id();
        h.tid = h.tgid;
        h.ppid = 1;
        h.child_tgid = h.tgid;
        h.comm[..4].copy_from_slice(b"test");
        h.loginuid = u32::MAX;
        let len = sections
            .iter()
            .map(|(o, b)| o + b.len())
            .max()
            .unwrap_or(0)
            .max(size_of::<WireHeader>())
            .min(size_of::<WireEvent>());
        let used = |off: usize| {
            sections
                .iter()
                .find(|(o, _)| *o == off)
                .map_or(0, |(_, b)| b.len() as u32)
        };
        h.kpath_len = used(OFF_KPATH);
        h.kpath2_len = used(OFF_KPATH2);
        h.aux_len = used(OFF_AUX);
        tweak(&mut h);
        let mut rec = vec![0u8; len];
        h.len = len as u32;
        // SAFETY: `rec` holds at least a WireHeader's bytes.
        unsafe { std::ptr::write_unaligned(rec.as_mut_ptr().cast(), h) };
        for (off, b) in sections {
            rec[*off..off + b.len()].copy_from_slice(b);
        }
        rec
    }

    #[test]
    fn decode_into_pushes_the_rows_decode_returns() {
        let recs = [
            record(KIND_SYSCALL, 110, 0, &[]),
            record(
                KIND_SYSCALL,
                257,
                F_USER_PATH | F_KPATH_WALK | F_KPATH_COMPLETE | F_FILE,
                &[
                    (OFF_USER_PATH, b"/etc/hostname\0"),
                    (OFF_KPATH, b"hostname\0etc\0"),
                ],
            ),
            record(KIND_FORK, u32::MAX, 0, &[]),
            record(KIND_EXIT, u32::MAX, 0, &[]),
            record(KIND_SYSCALL, 110, 0, &[]),
            // An exec with argv and cwd, then a fork into a process the
            // table does not know (it inherits the parent's context), a
            // syscall and the exit of that child.
            record(
                KIND_EXEC,
                59,
                F_KPATH_WALK | F_KPATH_COMPLETE | F_KPATH2_WALK | F_KPATH2_COMPLETE | F_AUX,
                &[
                    (OFF_KPATH, b"true\0bin\0usr\0"),
                    (OFF_KPATH2, b"tmp\0"),
                    (OFF_AUX, b"true\0--version\0"),
                ],
            ),
            record_with(KIND_FORK, u32::MAX, 0, &[], |h| h.child_tgid = 999_999_999),
            record_with(KIND_SYSCALL, 110, 0, &[], |h| h.tgid = 999_999_999),
            record_with(KIND_EXIT, u32::MAX, 0, &[], |h| h.tgid = 999_999_999),
        ];
        let host = HostInfo {
            host_name: "h".into(),
            boot_id: "b".into(),
            monotonic_to_wall_ns: 0,
            users: [(0, "root".to_string())].into_iter().collect(),
        };
        let mut slow = Decoder::new(host.clone(), Vec::new());
        let mut fast = Decoder::new(host, Vec::new());
        let mut events = Vec::new();
        let mut rows = EventBatchBuilder::with_capacity(recs.len());
        for (seq, r) in recs.iter().enumerate() {
            let mut e = slow.decode(r).unwrap().unwrap();
            e.seq = seq as u64;
            events.push(e);
            assert!(fast.decode_into(r, seq as u64, &mut rows).unwrap());
        }
        assert_eq!(events[1].file_path.as_deref(), Some("/etc/hostname"));
        assert_eq!(events[0].syscall.as_deref(), Some("getppid"));
        assert_eq!(events[0].process_name.as_deref(), Some("test"));
        assert!(events[0].process_command_line.is_some());
        assert_eq!(
            events[5].process_command_line.as_deref(),
            Some("true --version")
        );
        assert_eq!(events[6].process_pid, 999_999_999);
        assert_eq!(
            events[6].process_executable.as_deref(),
            Some("/usr/bin/true")
        );
        assert_eq!(events[7].process_cwd.as_deref(), Some("/tmp"));
        assert_eq!(events[8].process_args, events[5].process_args);
        assert_eq!(rows.finish(), hindsight_format::events_to_batch(&events));
    }

    #[test]
    fn decode_into_drops_ignored_rows_like_decode() {
        let open = record(
            KIND_SYSCALL,
            257,
            F_USER_PATH | F_KPATH_WALK | F_KPATH_COMPLETE | F_FILE,
            &[
                (OFF_USER_PATH, b"/etc/hostname\0"),
                (OFF_KPATH, b"hostname\0etc\0"),
            ],
        );
        let ignore = vec!["/etc/".to_string()];
        let mut slow = Decoder::new(HostInfo::default(), ignore.clone());
        let mut fast = Decoder::new(HostInfo::default(), ignore);
        let mut rows = EventBatchBuilder::with_capacity(1);
        assert!(slow.decode(&open).unwrap().is_none());
        assert!(!fast.decode_into(&open, 0, &mut rows).unwrap());
        assert!(rows.is_empty());
        assert_eq!((slow.ignored, fast.ignored), (1, 1));
    }

    #[test]
    fn names_that_are_not_utf8_stay_distinct() {
        assert_eq!(escape_bytes(b"/tmp/plain"), "/tmp/plain");
        assert_eq!(escape_bytes(b"/tmp/\xc3\xa9"), "/tmp/\u{e9}");
        assert_eq!(escape_bytes(b"n\xff\xfe.txt"), "n\\xff\\xfe.txt");
        assert_ne!(escape_bytes(b"n\xff"), escape_bytes(b"n\xfe"));
        // A literal backslash cannot pass for an escape.
        assert_eq!(escape_bytes(b"n\\xff"), "n\\\\xff");
        assert_ne!(escape_bytes(b"n\\xff"), escape_bytes(b"n\xff"));
        assert_eq!(join_walk(b"\xff\0tmp\0"), "/tmp/\\xff");
        // argv and comm keep backslashes as written.
        assert_eq!(escape_invalid(b"s/a\\.b/\xff"), "s/a\\.b/\\xff");
    }

    #[test]
    fn walk_components_join_leaf_first() {
        assert_eq!(join_walk(b"file\0tmp\0"), "/tmp/file");
        assert_eq!(join_walk(b""), "/");
    }

    #[test]
    fn absolutize_fast_path_agrees_with_components() {
        let names = [
            "",
            "/",
            "//",
            "a",
            "a/",
            "a//b",
            "./a",
            "a/.",
            "a/./b",
            "../a",
            "a/..",
            "a/../b",
            "/a",
            "/a/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/.a/..b/...",
            ".",
            "..",
            "/.",
            "/..",
            "a b/c",
            "/tmp/x.py",
            "é/ü",
        ];
        let bases = [
            None,
            Some("/"),
            Some("/tmp"),
            Some("/tmp/"),
            Some("/a/../b"),
            Some("rel"),
            Some("/a//b"),
            Some("..."),
        ];
        for u in names {
            for b in bases {
                assert_eq!(absolutize(u, b), resolve_components(u, b), "{u:?} {b:?}");
            }
        }
    }

    #[test]
    fn absolutize_resolves_dotdot_only_against_the_kernels_base() {
        // `..` after a component the process named may cross a symlink:
        // kept as named, never collapsed into another existing file.
        assert_eq!(absolutize("a/../b//c", Some("/tmp")), "/tmp/a/../b/c");
        assert_eq!(absolutize("ls/../victim", Some("/w2")), "/w2/ls/../victim");
        assert_eq!(absolutize("/x/./y", None), "/x/y");
        assert_eq!(absolutize("/x/../y", None), "/x/../y");
        // Against the walked base (no symlinks in it) it is exact.
        assert_eq!(absolutize("../../..", Some("/a")), "/");
        assert_eq!(absolutize("../d2/./b", Some("/w/d1")), "/w/d2/b");
        assert_eq!(absolutize("/../etc", None), "/etc");
        // A base cut short keeps its leading `...` (no `/` before it).
        assert_eq!(absolutize("deep.txt", Some(".../x/y")), ".../x/y/deep.txt");
        assert_eq!(absolutize("../../../z", Some(".../x/y")), ".../../z");
    }

    #[test]
    fn proc_self_resolves_to_the_process_not_the_decoder() {
        assert_eq!(
            resolve_proc_self("/proc/self/status", 42, 43),
            "/proc/42/status"
        );
        assert_eq!(resolve_proc_self("/proc/self", 42, 43), "/proc/42");
        assert_eq!(
            resolve_proc_self("/proc/thread-self/comm", 42, 43),
            "/proc/42/task/43/comm"
        );
        assert_eq!(
            resolve_proc_self("/proc/selfish/x", 42, 43),
            "/proc/selfish/x"
        );
        assert_eq!(resolve_proc_self("/etc/passwd", 42, 43), "/etc/passwd");
        // The decoder's own /proc/self/status is another inode: had it been
        // resolved in the decoder, this would be a mismatch.
        let me = std::process::id() as i32;
        let user = resolve_proc_self("/proc/self/status", me, me);
        let m = std::fs::metadata(format!("/proc/{me}/status")).unwrap();
        assert!(same_object(
            &user,
            &format!("/proc/{me}/status"),
            m.ino(),
            m.dev(),
            false,
        ));
    }

    #[test]
    fn descriptor_links_are_not_second_names() {
        for p in [
            "/dev/fd/3",
            "/dev/stdin",
            "/proc/self/fd/7",
            "/proc/thread-self/fd/7",
            "/proc/42/fd/0",
            "/proc/42/task/43/fd/1",
        ] {
            assert!(via_fd_link(p), "{p}");
        }
        for p in [
            "/proc/self/status",
            "/proc/42/fdinfo/1",
            "/proc/self/fd",
            "/dev/fdx/1",
        ] {
            assert!(!via_fd_link(p), "{p}");
        }
    }

    #[test]
    fn pseudo_files_are_named_like_proc_fd() {
        assert_eq!(
            pseudo_name(b"memfd:hindsight-demo\0", 0o100777, 9),
            "memfd:hindsight-demo"
        );
        assert_eq!(
            pseudo_name(b"[eventfd]\0", 0o600, 9),
            "anon_inode:[eventfd]"
        );
        assert_eq!(pseudo_name(b"\0", 0o010600, 9), "pipe:[9]");
        assert_eq!(pseudo_name(b"TCP\0", 0o140777, 9), "socket:[9]");
        assert_eq!(fd_type(0o100777, Some("memfd:x"), None), "memfd");
    }

    #[test]
    fn dev_encoding_matches_stat() {
        // 8:1 (sda1) in the kernel's internal encoding.
        assert_eq!(user_dev((8 << 20) | 1), libc::makedev(8, 1));
        let m = std::fs::metadata("/").unwrap();
        let kdev = ((libc::major(m.dev())) << 20) | libc::minor(m.dev());
        assert_eq!(user_dev(kdev), m.dev());
    }
}
