//! The state model: what the kernel knew at each event.
//!
//! A process table (pid → image, argv, cwd, ids, parent, start time,
//! container, fd table) and per-process fd tables, kept up to date from the
//! events in `seq` order:
//!
//! * `process_fork` creates the child (pid reuse replaces the old entry),
//!   copying the parent's image, cwd and fd table (close-on-exec flags too);
//!   a fork row of a thread (`thread_id != process_pid` of a known process)
//!   changes nothing.
//! * `process_exec` installs the new image and closes close-on-exec fds.
//! * `process_exit` empties the fd table and marks the process exited; the
//!   entry stays so its children's ancestry still resolves.
//! * Successful `open*`/`creat`/`memfd_create`/`socket`/`accept*` add an fd;
//!   `connect`/`bind` fill in socket addresses; the `dup` family and
//!   `fcntl(F_DUPFD*)` copy one; `fcntl(F_SETFD)` sets close-on-exec;
//!   `close` removes one; `chdir`/`fchdir` change the cwd.
//! * A process first seen mid-recording (no fork row: it predates the
//!   recording, or events were lost) is created from its event's own fields;
//!   later events fill in what was missing and correct the image if it
//!   changed without an exec row.
//!
//! [`State::before`] applies what must be visible when rules look at the
//! event (new process, new image, new fd); [`State::after`] applies what
//! ends with it (close, exit).
//!
//! Memory stays bounded on long recordings: an exited process that no known
//! process names as its parent is kept for the next [`MAX_EXITED`] such
//! exits (a child whose fork row was lost may still name it), then forgotten.
//! Exited processes with known descendants are kept as long as those are, so
//! the ancestry of every known process resolves as before.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use hindsight_format::{Event, EventKind};

use crate::row::{List, ProcKey, Row};

use crate::accounts::Accounts;
use crate::fdtable::FdTable;
use crate::field::Col;
use crate::intern::{Interner, PathCache, StrHasher};
use crate::syscall::Sc;

/// A small, fast, deterministic hasher for integer keys (pids).
#[derive(Default, Clone, Copy)]
pub struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_i32(&mut self, i: i32) {
        self.0 = (i as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A `HashMap` keyed by pid with [`PidHasher`] (lookups only; never iterated for output).
pub type PidMap<V> = HashMap<i32, V, BuildHasherDefault<PidHasher>>;

/// One open file descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// File path, `memfd:NAME`, unix socket path, or `sip:sport->dip:dport` for IP sockets.
    pub path: Option<Arc<str>>,
    /// `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`, `memfd`, … (as `fd_type`).
    pub kind: Option<Arc<str>>,
    /// Open flags, symbolic.
    pub flags: Option<Arc<str>>,
    /// Close-on-exec.
    pub cloexec: bool,
    /// A socket's addresses ([`FdInfo::net`]); `None` when all are unset,
    /// so that the descriptors most events touch (files) stay small: one
    /// allocation each that the allocator's fast bins serve.
    pub net: Option<Box<Net>>,
    /// Enforcement simulation: the syscall that made this fd was denied, so it does not exist.
    pub denied_by: Option<u64>,
}

/// The addresses of a socket descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Net {
    /// Local address of a socket.
    pub sip: Option<Arc<str>>,
    /// Local port.
    pub sport: Option<u16>,
    /// Remote address.
    pub dip: Option<Arc<str>>,
    /// Remote port.
    pub dport: Option<u16>,
    /// `tcp`, `udp`, `raw`, `unix`.
    pub transport: Option<Arc<str>>,
}

/// A [`Net`] with nothing set.
static NO_NET: Net = Net {
    sip: None,
    sport: None,
    dip: None,
    dport: None,
    transport: None,
};

impl FdInfo {
    /// The socket addresses (all unset for descriptors that are not sockets).
    #[inline]
    pub fn net(&self) -> &Net {
        self.net.as_deref().unwrap_or(&NO_NET)
    }
}

/// One process (thread group).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    /// Process id.
    pub pid: i32,
    /// Parent pid.
    pub ppid: Option<i32>,
    /// Executable (kernel view).
    pub exe: Option<Arc<str>>,
    /// Command name.
    pub name: Option<Arc<str>>,
    /// argv (argv\[0\] included).
    pub argv: Option<Arc<[String]>>,
    /// argv\[1..\] joined with spaces.
    pub args: Option<Arc<str>>,
    /// Command name and arguments joined with spaces.
    pub cmdline: Option<Arc<str>>,
    /// Current working directory.
    pub cwd: Option<Arc<str>>,
    /// Controlling terminal.
    pub tty: Option<u32>,
    /// Session id.
    pub sid: Option<i32>,
    /// Real uid.
    pub uid: Option<u32>,
    /// Effective uid.
    pub euid: Option<u32>,
    /// Real gid.
    pub gid: Option<u32>,
    /// Audit login uid.
    pub loginuid: Option<u32>,
    /// Name of the real user.
    pub user_name: Option<Arc<str>>,
    /// Container id.
    pub container: Option<Arc<str>>,
    /// Start time (fork, or first seen), ns.
    pub start_ns: i64,
    /// The `seq` of the event that created this entry.
    pub created_seq: u64,
    /// Exited (the entry is kept for ancestry).
    pub exited: bool,
    /// Open descriptors, by number (shared with the parent until either changes).
    pub fds: FdTable,
    /// Executable path of the process that last created or opened for
    /// writing the current executable during the recording (set at exec).
    pub exe_writer: Option<Arc<str>>,
    /// Where the strings [`Process::update_from`] last took sat.
    seen: Seen,
}

/// A cache of where a process's image strings were last taken from: a
/// later row with the same [`ProcKey`] holds the same strings, so taking
/// them again would change nothing (most rows of a process repeat them; the
/// comparisons were a large share of the state model's cost). Any other
/// change of those strings clears it. Not part of the state: it compares
/// equal and prints as nothing.
#[derive(Clone, Copy, Default)]
struct Seen(Option<ProcKey>);

impl PartialEq for Seen {
    fn eq(&self, _: &Seen) -> bool {
        true
    }
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

fn arc(s: Option<&str>) -> Option<Arc<str>> {
    s.map(Arc::from)
}

/// Replaces `slot` with `new` when `new` is set and differs (no allocation when equal).
fn refresh(slot: &mut Option<Arc<str>>, new: Option<&str>) {
    if let Some(n) = new
        && slot.as_deref() != Some(n)
    {
        *slot = Some(Arc::from(n));
    }
}

impl Process {
    fn from_event(ev: &Row<'_>) -> Process {
        let mut p = Process {
            pid: ev.process_pid,
            start_ns: ev.time_ns,
            created_seq: ev.seq,
            ..Process::default()
        };
        p.update_from(ev);
        if let Some(argv) = ev.process_args() {
            p.set_argv(argv);
        } else if let Some(cl) = ev.process_command_line() {
            p.cmdline = Some(Arc::from(cl));
        }
        p
    }

    /// Takes the ids and names the event carries; fills in the image when it changed.
    fn update_from(&mut self, ev: &Row<'_>) {
        if let Some(pp) = ev.process_parent_pid() {
            self.ppid = Some(pp);
        }
        let key = ev.proc_key();
        if key.is_none() || key != self.seen.0 {
            refresh(&mut self.exe, ev.process_executable());
            refresh(&mut self.name, ev.process_name());
            refresh(&mut self.cwd, ev.process_cwd());
            refresh(&mut self.user_name, ev.user_name());
            if ev.container_id().is_some() {
                refresh(&mut self.container, ev.container_id());
            }
            self.seen = Seen(key);
        }
        if self.cmdline.is_none() {
            self.cmdline = arc(ev.process_command_line());
        }
        macro_rules! take {
            ($($slot:ident = $src:ident),*) => { $( if let Some(v) = ev.$src() { self.$slot = Some(v); } )* };
        }
        take!(
            tty = process_tty,
            sid = process_session_id,
            uid = user_id,
            euid = process_effective_user_id,
            gid = group_id
        );
        if let Some(l) = ev.login_uid() {
            self.loginuid = Some(l);
        }
    }

    fn set_argv(&mut self, argv: List<'_>) {
        let name = self
            .name
            .as_deref()
            .unwrap_or_else(|| argv.get(0).unwrap_or(""));
        // `name args`, built in one buffer: `args` is its tail.
        let mut cmdline = String::with_capacity(256);
        cmdline.push_str(name);
        let at = cmdline.len();
        for a in argv.iter().skip(1) {
            cmdline.push(' ');
            cmdline.push_str(a);
        }
        let args = cmdline.get(at + 1..).unwrap_or_default();
        self.args = Some(Arc::from(args));
        if args.is_empty() {
            // No separator after the name when there are no arguments.
            cmdline.truncate(at);
        }
        self.cmdline = Some(Arc::from(cmdline));
        self.argv = Some(argv.iter().map(str::to_string).collect());
    }

    /// The fd info for `fd`, if open (and not denied by enforcement simulation).
    pub fn fd(&self, fd: i32) -> Option<&FdInfo> {
        self.fds.get(&fd).filter(|f| f.denied_by.is_none())
    }
}

/// The whole state at one moment of a replay.
#[derive(Debug, Clone)]
pub struct State {
    procs: PidMap<Process>,
    /// pid → number of entries of `procs` whose `ppid` is that pid.
    children: PidMap<u32>,
    /// Exited processes that no entry names as parent, oldest first, with
    /// the `created_seq` of the entry (a reused pid is another entry).
    childless_exited: VecDeque<(i32, u64)>,
    /// How many of those are kept ([`MAX_EXITED`] unless set otherwise).
    max_exited: usize,
    /// Shared copies of fd kinds and open flags.
    strings: Interner,
    /// The paths of recently opened files, shared.
    paths: PathCache,
    /// The recorded host's user and group names (its manifest's), shared
    /// by clones; looked up before the names learned from rows.
    accounts: Arc<Accounts>,
    /// Login uid → user name, learned from events whose `user_id` equals it.
    login_names: BTreeMap<u32, Arc<str>>,
    /// Uid → user name, learned from every event's `user_id` and
    /// `user_name` (the real user's): names the effective user too.
    user_names: BTreeMap<u32, Arc<str>>,
    /// Path → executable of the process that last created or opened it for
    /// writing (`creat`, opens with `O_CREAT`, `O_TRUNC`, `O_WRONLY` or
    /// `O_RDWR`), following renames; see
    /// [`Process::exe_writer`]. Bounded by [`MAX_WRITTEN`].
    written: HashMap<Arc<str>, Arc<str>, BuildHasherDefault<StrHasher>>,
}

/// Every event column the state model reads ([`State::before`] and
/// [`State::after`]); a reader may leave the others out.
pub const COLUMNS: &[Col] = &[
    Col::TimeNs,
    Col::Seq,
    Col::EventKind,
    Col::Syscall,
    Col::Ret,
    Col::ProcessPid,
    Col::ThreadId,
    Col::ProcessParentPid,
    Col::ProcessSessionId,
    Col::ProcessTty,
    Col::ProcessName,
    Col::ProcessExecutable,
    Col::ProcessArgs,
    Col::ProcessCommandLine,
    Col::ProcessCwd,
    Col::UserId,
    Col::UserName,
    Col::GroupId,
    Col::ProcessEffectiveUserId,
    Col::LoginUid,
    Col::ContainerId,
    Col::FilePath,
    Col::FileFlags,
    Col::FileTargetPath,
    Col::Fd,
    Col::FdType,
    Col::NetworkTransport,
    Col::SourceIp,
    Col::SourcePort,
    Col::DestinationIp,
    Col::DestinationPort,
    Col::SyscallArgs,
];

/// Exited processes without known children are forgotten after this many
/// more of them (see the module documentation).
pub const MAX_EXITED: usize = 1 << 14;

impl Default for State {
    fn default() -> State {
        State::with_max_exited(MAX_EXITED)
    }
}

/// At most this many written paths are remembered; beyond it the table is
/// cleared (deterministically), so memory stays bounded on long recordings.
pub const MAX_WRITTEN: usize = 1 << 16;

/// The fd kind and transport of a `socket(domain, type, protocol)` call
/// from its `syscall_args` (numbers, or names such as `AF_INET`).
fn socket_kind(args: &str) -> (Option<&'static str>, Option<&'static str>) {
    let num = |k: &str| {
        syscall_arg(args, k).and_then(|v| {
            v.strip_prefix("0x").map_or_else(
                || v.parse::<i64>().ok(),
                |h| i64::from_str_radix(h, 16).ok(),
            )
        })
    };
    let domain = syscall_arg(args, "domain").unwrap_or("");
    let kind = match (num("domain"), domain) {
        (Some(2), _) | (_, "AF_INET") => Some("ipv4"),
        (Some(10), _) | (_, "AF_INET6") => Some("ipv6"),
        (Some(1), _) | (_, "AF_UNIX") => Some("unix"),
        (Some(16), _) | (_, "AF_NETLINK") => Some("netlink"),
        _ => None,
    };
    let ip = matches!(kind, Some("ipv4" | "ipv6"));
    // SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3 in the low bits of `type`.
    let transport = match num("type").map(|t| t & 0xf) {
        Some(1) if ip => Some("tcp"),
        Some(2) if ip => Some("udp"),
        Some(3) if ip => Some("raw"),
        _ => None,
    };
    (kind, transport)
}

/// Whether symbolic open flags contain `O_CREAT`, `O_TRUNC`, `O_WRONLY` or
/// `O_RDWR` (as substrings): one pass over the `O_`s instead of four searches.
fn opens_for_writing(flags: &str) -> bool {
    let b = flags.as_bytes();
    let mut at = 0;
    while let Some(p) = b[at..].iter().position(|&c| c == b'O') {
        let rest = &b[at + p + 1..];
        if let Some(name) = rest.strip_prefix(b"_")
            && [&b"CREAT"[..], b"TRUNC", b"WRONLY", b"RDWR"]
                .iter()
                .any(|w| name.starts_with(w))
        {
            return true;
        }
        at += p + 1;
    }
    false
}

/// Whether `flags` (symbolic) include close-on-exec.
/// (`O_CLOEXEC` or `FD_CLOEXEC` anywhere in them: one pass over the short
/// string instead of two substring searches, on every open).
fn has_cloexec(flags: Option<&str>) -> bool {
    let Some(f) = flags else {
        return false;
    };
    let b = f.as_bytes();
    (1..b.len()).any(|i| {
        b[i..].starts_with(b"_CLOEXEC") && (b[i - 1] == b'O' || (i >= 2 && &b[i - 2..i] == b"FD"))
    })
}

/// `EBADF`: the one error after which `close` has released nothing.
const EBADF: i64 = 9;

/// `SOCK_CLOEXEC`, `O_CLOEXEC` (both 0o2000000).
const CLOEXEC_BIT: u64 = 0o2000000;

/// A numeric `name=value` of `syscall_args` (decimal or `0x` hex).
fn arg_num(args: &str, name: &str) -> Option<u64> {
    let v = syscall_arg(args, name)?;
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse::<i64>().ok().map(|n| n as u64),
    }
}

/// Whether the numeric argument `name` has any of `bits`.
fn arg_has(args: &str, name: &str, bits: u64) -> bool {
    arg_num(args, name).is_some_and(|v| v & bits != 0)
}

/// One `name=value` of a Falco-style `syscall_args` string.
pub fn syscall_arg<'a>(args: &'a str, name: &str) -> Option<&'a str> {
    args.split(' ').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

impl State {
    /// An empty state.
    pub fn new() -> State {
        State::default()
    }

    /// An empty state that keeps `max` exited processes without known
    /// children (instead of [`MAX_EXITED`]).
    pub fn with_max_exited(max: usize) -> State {
        State {
            procs: PidMap::default(),
            children: PidMap::default(),
            childless_exited: VecDeque::new(),
            max_exited: max,
            strings: Interner::default(),
            paths: PathCache::default(),
            accounts: Arc::default(),
            login_names: BTreeMap::new(),
            user_names: BTreeMap::new(),
            written: HashMap::default(),
        }
    }

    /// Counts `pid` as a child of `ppid`.
    fn link(&mut self, pid: i32, ppid: Option<i32>) {
        if let Some(pp) = ppid.filter(|&pp| pp != pid) {
            *self.children.entry(pp).or_default() += 1;
        }
    }

    /// No longer counts `pid` as a child of `ppid`; a parent that exited
    /// and has no children left becomes forgettable.
    fn unlink(&mut self, pid: i32, ppid: Option<i32>) {
        let Some(pp) = ppid.filter(|&pp| pp != pid) else {
            return;
        };
        let Some(n) = self.children.get_mut(&pp) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            self.children.remove(&pp);
            if let Some(parent) = self.procs.get(&pp)
                && parent.exited
            {
                self.childless_exited.push_back((pp, parent.created_seq));
            }
        }
    }

    /// Files `p` under its pid, replacing (and unlinking) what was there.
    fn put(&mut self, p: Process) {
        self.link(p.pid, p.ppid);
        if let Some(old) = self.procs.insert(p.pid, p) {
            self.unlink(old.pid, old.ppid);
        }
    }

    /// Marks `pid` exited (its descriptors closed); forgets the oldest
    /// childless exited processes beyond the bound.
    fn exited(&mut self, pid: i32) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.exited = true;
        p.fds.clear();
        if !self.children.contains_key(&pid) {
            let seq = p.created_seq;
            self.childless_exited.push_back((pid, seq));
        }
        while self.childless_exited.len() > self.max_exited {
            let Some((pid, seq)) = self.childless_exited.pop_front() else {
                break;
            };
            // Still the same entry, still exited, still without children?
            if self.procs.get(&pid).is_some_and(|p| {
                p.exited && p.created_seq == seq && !self.children.contains_key(&pid)
            }) && let Some(old) = self.procs.remove(&pid)
            {
                self.unlink(old.pid, old.ppid);
            }
        }
    }

    /// Replaces the entry of `p.pid` (the enforcement simulation's denied
    /// exec puts the old image back).
    pub fn restore(&mut self, p: Process) {
        self.put(p);
    }

    /// The process `pid`, if known.
    pub fn process(&self, pid: i32) -> Option<&Process> {
        self.procs.get(&pid)
    }

    /// Mutable access for the enforcement simulation.
    pub fn process_mut(&mut self, pid: i32) -> Option<&mut Process> {
        let p = self.procs.get_mut(&pid)?;
        // The caller may change the strings the cache stands for.
        p.seen = Seen::default();
        Some(p)
    }

    /// The parent of `p`, if known (a process is never its own parent).
    pub fn parent(&self, p: &Process) -> Option<&Process> {
        let ppid = p.ppid?;
        if ppid == p.pid {
            return None;
        }
        self.procs.get(&ppid)
    }

    /// The ancestors of `p`, nearest first, stopping at an unknown parent or
    /// after [`crate::field::MAX_ANCESTOR_LEVEL`] levels (so cycles end).
    pub fn ancestors<'a>(&'a self, p: &'a Process) -> impl Iterator<Item = &'a Process> + 'a {
        let mut cur = Some(p);
        let mut n = 0u8;
        std::iter::from_fn(move || {
            if n >= crate::field::MAX_ANCESTOR_LEVEL {
                return None;
            }
            let next = self.parent(cur?)?;
            n += 1;
            cur = Some(next);
            Some(next)
        })
    }

    /// Pids of the live descendants of `pid`, sorted.
    pub fn descendants(&self, pid: i32) -> Vec<i32> {
        let mut out: Vec<i32> = self
            .procs
            .values()
            .filter(|p| !p.exited && p.pid != pid && self.ancestors(p).any(|a| a.pid == pid))
            .map(|p| p.pid)
            .collect();
        out.sort_unstable();
        out
    }

    /// Names users and groups from the recorded host's tables (its
    /// manifest's, [`Accounts::from_manifest`]) from now on.
    pub fn set_accounts(&mut self, accounts: Arc<Accounts>) {
        self.accounts = accounts;
    }

    /// The login user's name for a login uid: from the recorded host's
    /// tables, else when some event showed it.
    pub fn login_name(&self, loginuid: u32) -> Option<&Arc<str>> {
        self.accounts
            .user(loginuid)
            .or_else(|| self.login_names.get(&loginuid))
    }

    /// The name of user `uid`: from the recorded host's tables, else when
    /// some event so far had it as its real user (`user_id`, `user_name`).
    pub fn user_name(&self, uid: u32) -> Option<&Arc<str>> {
        self.accounts
            .user(uid)
            .or_else(|| self.user_names.get(&uid))
    }

    /// The name of group `gid` in the recorded host's tables.
    pub fn group_name(&self, gid: u32) -> Option<&Arc<str>> {
        self.accounts.group(gid)
    }

    /// Number of processes known (alive or exited).
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether no process is known.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Applies what rules must already see at `ev`: the process exists (with
    /// a new image at exec), and a descriptor the syscall creates is open.
    pub fn before(&mut self, ev: &Event) {
        self.before_row(&Row::event(ev));
    }

    /// [`State::before`] of a [`Row`].
    pub fn before_row(&mut self, ev: &Row<'_>) {
        if ev.event_kind == EventKind::Loss {
            return;
        }
        let pid = ev.process_pid;
        if ev.event_kind == EventKind::ProcessFork {
            self.fork(ev);
        } else {
            match self.procs.get_mut(&pid) {
                Some(p) if !p.exited => {
                    let old = p.ppid;
                    p.update_from(ev);
                    if p.ppid != old {
                        self.reparented(pid, old);
                    }
                }
                _ => {
                    // First seen, or a pid reused after an exit we saw without its fork.
                    self.put(Process::from_event(ev));
                }
            }
        }
        if let Some(u) = ev.user_id()
            && !self.user_names.contains_key(&u)
            && let Some(name) = ev.user_name()
        {
            self.user_names.insert(u, Arc::from(name));
        }
        if let (Some(l), Some(u)) = (ev.login_uid(), ev.user_id())
            && l == u
            && !self.login_names.contains_key(&l)
            && let Some(name) = ev.user_name()
        {
            self.login_names.insert(l, Arc::from(name));
        }
        match ev.event_kind {
            EventKind::ProcessExec => self.exec(ev),
            EventKind::Syscall => self.syscall_before(ev),
            _ => {}
        }
    }

    /// Applies what ends with `ev`: a closed descriptor, an exited process.
    pub fn after(&mut self, ev: &Event) {
        self.after_row(&Row::event(ev));
    }

    /// [`State::after`] of a [`Row`].
    pub fn after_row(&mut self, ev: &Row<'_>) {
        match ev.event_kind {
            EventKind::ProcessExit => self.exited(ev.process_pid),
            EventKind::Syscall => {
                // Linux releases the descriptor whatever close returns
                // (EINTR, EIO), except EBADF: there was none.
                if ev.sc == Sc::Close
                    && ev.ret != Some(-EBADF)
                    && let (Some(fd), Some(p)) = (ev.fd, self.procs.get_mut(&ev.process_pid))
                {
                    p.fds.remove(&fd);
                } else if ev.sc == Sc::CloseRange
                    && ev.ret.is_none_or(|r| r >= 0)
                    && let Some(args) = ev.syscall_args()
                    && let (Some(first), Some(last)) =
                        (arg_num(args, "first"), arg_num(args, "last"))
                    && let Some(p) = self.procs.get_mut(&ev.process_pid)
                {
                    // CLOSE_RANGE_CLOEXEC marks the range close-on-exec
                    // instead of closing it.
                    const CLOSE_RANGE_CLOEXEC: u64 = 4;
                    let mark = arg_has(args, "flags", CLOSE_RANGE_CLOEXEC);
                    let range: Vec<i32> = p
                        .fds
                        .iter()
                        .map(|(fd, _)| fd)
                        .filter(|&fd| fd >= 0 && (first..=last).contains(&(fd as u64)))
                        .collect();
                    for fd in range {
                        if mark {
                            if let Some(mut f) = p.fds.get_mut(&fd) {
                                f.cloexec = true;
                            }
                        } else {
                            p.fds.remove(&fd);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn fork(&mut self, ev: &Row<'_>) {
        let pid = ev.process_pid;
        if ev.thread_id != pid
            && let Some(p) = self.procs.get_mut(&pid)
            && !p.exited
        {
            // A new thread of a known process: same image, same fd table.
            let old = p.ppid;
            p.update_from(ev);
            if p.ppid != old {
                self.reparented(pid, old);
            }
            return;
        }
        let mut child = match ev.process_parent_pid().and_then(|pp| self.procs.get(&pp)) {
            Some(parent) if parent.pid != pid => Process {
                pid,
                ppid: Some(parent.pid),
                start_ns: ev.time_ns,
                created_seq: ev.seq,
                exited: false,
                ..parent.clone()
            },
            _ => Process::from_event(ev),
        };
        child.start_ns = ev.time_ns;
        child.created_seq = ev.seq;
        child.update_from(ev);
        self.put(child);
    }

    /// Moves `pid`'s child count from its old parent to its new one.
    fn reparented(&mut self, pid: i32, old: Option<i32>) {
        let now = self.procs.get(&pid).and_then(|p| p.ppid);
        self.link(pid, now);
        self.unlink(pid, old);
    }

    /// Remembers who last created or opened a path for writing, and moves
    /// that along renames. Returns the shared copy of the path it filed, if
    /// any (the new descriptor's path shares it).
    fn track_written(&mut self, sc: Sc, ev: &Row<'_>) -> Option<Arc<str>> {
        let path = ev.file_path()?;
        let creates =
            sc == Sc::Creat || (sc.opens_file() && ev.file_flags().is_some_and(opens_for_writing));
        if creates {
            // The process's own copy when it is the same (it is refreshed from the event).
            let own = self.procs.get(&ev.process_pid).and_then(|p| p.exe.clone());
            let exe = match ev.process_executable() {
                Some(e) if own.as_deref() != Some(e) => Some(Arc::from(e)),
                _ => own,
            };
            let exe = exe?;
            if self.written.len() >= MAX_WRITTEN {
                self.written.clear();
            }
            let key = match self.written.get_key_value(path) {
                Some((k, _)) => Arc::clone(k),
                None => Arc::from(path),
            };
            self.written.insert(Arc::clone(&key), exe);
            return Some(key);
        } else if matches!(sc, Sc::Rename | Sc::Renameat | Sc::Renameat2)
            && let Some(to) = ev.file_target_path()
        {
            match self.written.remove(path) {
                Some(w) => {
                    self.written.insert(Arc::from(to), w);
                }
                None => {
                    self.written.remove(to);
                }
            }
        }
        None
    }

    fn exec(&mut self, ev: &Row<'_>) {
        if ev.ret.is_some_and(|r| r < 0) {
            return;
        }
        let Some(p) = self.procs.get_mut(&ev.process_pid) else {
            return;
        };
        p.seen = Seen::default();
        if let Some(exe) = ev.process_executable().or(ev.file_path()) {
            p.exe = Some(Arc::from(exe));
        }
        p.exe_writer = p.exe.as_ref().and_then(|e| self.written.get(e).cloned());
        if let Some(name) = ev.process_name() {
            p.name = Some(Arc::from(name));
        }
        match ev.process_args() {
            Some(argv) => p.set_argv(argv),
            None => {
                p.argv = None;
                p.args = None;
                p.cmdline = arc(ev.process_command_line());
            }
        }
        p.fds.close_on_exec();
    }

    fn syscall_before(&mut self, ev: &Row<'_>) {
        if ev.syscall.is_none() {
            return;
        }
        let sc = ev.sc;
        let ret = ev.ret;
        // connect on a non-blocking socket returns -EINPROGRESS and still connects.
        let ok = ret.is_none_or(|r| r >= 0 || (sc == Sc::Connect && r == -115));
        if !ok {
            return;
        }
        let filed = self.track_written(sc, ev);
        let strings = &mut self.strings;
        let paths = &mut self.paths;
        let Some(p) = self.procs.get_mut(&ev.process_pid) else {
            return;
        };
        let new_fd = ret.and_then(|r| i32::try_from(r).ok()).or(ev.fd);
        let kind = || arc(ev.fd_type());
        if sc.opens_file() {
            if let Some(fd) = new_fd {
                let flags = ev.file_flags();
                p.fds.insert(
                    fd,
                    FdInfo {
                        path: filed.or_else(|| ev.file_path().map(|f| paths.get(f))),
                        kind: Some(strings.get(ev.fd_type().unwrap_or("file"))),
                        flags: flags.map(|f| strings.get(f)),
                        cloexec: has_cloexec(flags),
                        ..FdInfo::default()
                    },
                );
            }
            return;
        }
        match sc {
            Sc::MemfdCreate => {
                if let Some(fd) = new_fd {
                    let name = ev
                        .file_path()
                        .or_else(|| ev.syscall_args().and_then(|a| syscall_arg(a, "name")))
                        .unwrap_or_default()
                        .to_string();
                    let path = if name.starts_with("memfd:") {
                        name
                    } else {
                        format!("memfd:{name}")
                    };
                    // MFD_CLOEXEC is 1; the recorder may write `flags=0x1`.
                    let cloexec = has_cloexec(ev.file_flags())
                        || ev
                            .syscall_args()
                            .is_some_and(|a| a.contains("MFD_CLOEXEC") || arg_has(a, "flags", 1));
                    p.fds.insert(
                        fd,
                        FdInfo {
                            path: Some(Arc::from(path)),
                            kind: Some(Arc::from("memfd")),
                            cloexec,
                            ..FdInfo::default()
                        },
                    );
                }
            }
            Sc::Socket | Sc::Accept | Sc::Accept4 | Sc::Connect | Sc::Bind | Sc::Listen => {
                let fd = if sc.returns_socket() { new_fd } else { ev.fd };
                let Some(fd) = fd else { return };
                let entry = if sc.returns_socket() {
                    p.fds.insert(fd, FdInfo::default());
                    p.fds.get_mut(&fd)
                } else {
                    Some(p.fds.get_or_default(fd))
                };
                let Some(mut f) = entry else { return };
                let mut net = f.net.take().map_or_else(Net::default, |b| *b);
                if ev.fd_type().is_some() {
                    f.kind = kind();
                }
                if ev.network_transport().is_some() {
                    net.transport = arc(ev.network_transport());
                }
                if sc == Sc::Socket {
                    // `socket` rows carry only `domain=N type=N protocol=N`.
                    let (kind, transport) = socket_kind(ev.syscall_args().unwrap_or(""));
                    f.kind = f.kind.take().or(kind.map(Arc::from));
                    net.transport = net.transport.take().or(transport.map(Arc::from));
                }
                if ev.source_ip().is_some() {
                    net.sip = arc(ev.source_ip());
                    net.sport = ev.source_port();
                }
                if ev.destination_ip().is_some() {
                    net.dip = arc(ev.destination_ip());
                    net.dport = ev.destination_port();
                }
                if sc == Sc::Accept4 || sc == Sc::Socket {
                    // `socket type=524289`, `accept4 flags=0x80000`: SOCK_CLOEXEC.
                    let key = if sc == Sc::Socket { "type" } else { "flags" };
                    f.cloexec = has_cloexec(ev.file_flags())
                        || ev
                            .syscall_args()
                            .is_some_and(|a| a.contains("CLOEXEC") || arg_has(a, key, CLOEXEC_BIT));
                }
                f.path = if matches!(sc, Sc::Accept | Sc::Accept4) {
                    // Falco names a connection client first: peer -> local.
                    let peer_first = Net {
                        sip: net.dip.clone(),
                        sport: net.dport,
                        dip: net.sip.clone(),
                        dport: net.sport,
                        transport: None,
                    };
                    socket_name(&peer_first, f.kind.as_deref(), None)
                } else {
                    socket_name(&net, f.kind.as_deref(), f.path.clone())
                };
                // Only sockets with an address carry one (see `FdInfo::net`).
                f.net = (net != Net::default()).then(|| Box::new(net));
            }
            Sc::Dup | Sc::Dup2 | Sc::Dup3 | Sc::Fcntl => {
                let args = ev.syscall_args().unwrap_or("");
                // The recorder names F_DUPFD (0) and F_DUPFD_CLOEXEC (1030)
                // and writes other commands as numbers (F_SETFD is 2).
                let cmd = match syscall_arg(args, "cmd").unwrap_or("") {
                    "0" => "F_DUPFD",
                    "1030" | "0x406" => "F_DUPFD_CLOEXEC",
                    "2" | "0x2" => "F_SETFD",
                    c => c,
                };
                if sc == Sc::Fcntl && cmd == "F_SETFD" {
                    if let Some(mut f) = ev.fd.and_then(|fd| p.fds.get_mut(&fd)) {
                        // FD_CLOEXEC is 1.
                        f.cloexec = args.contains("FD_CLOEXEC") || arg_has(args, "arg", 1);
                    }
                    return;
                }
                if sc == Sc::Fcntl && !cmd.starts_with("F_DUPFD") {
                    return;
                }
                let (Some(old), Some(new)) = (ev.fd, ret.and_then(|r| i32::try_from(r).ok()))
                else {
                    return;
                };
                if old == new {
                    return;
                }
                let mut info = p.fds.get(&old).cloned().unwrap_or_default();
                info.cloexec = cmd == "F_DUPFD_CLOEXEC"
                    || (sc == Sc::Dup3
                        && (args.contains("O_CLOEXEC")
                            || arg_has(args, "flags", CLOEXEC_BIT)
                            || has_cloexec(ev.file_flags())));
                p.fds.insert(new, info);
            }
            // Numbers the recorder could not match to the pair the kernel
            // made (a racing thread rewrote the array): they label nothing.
            Sc::Pipe | Sc::Pipe2 | Sc::Socketpair if ev.toctou_mismatch() == Some(true) => {}
            Sc::Pipe | Sc::Pipe2 | Sc::Socketpair => {
                let args = ev.syscall_args().unwrap_or("");
                for key in ["fd0", "fd1"] {
                    if let Some(fd) = syscall_arg(args, key).and_then(|v| v.parse().ok()) {
                        p.fds.insert(
                            fd,
                            FdInfo {
                                kind: Some(Arc::from(if sc == Sc::Socketpair {
                                    "unix"
                                } else {
                                    "pipe"
                                })),
                                cloexec: args.contains("O_CLOEXEC")
                                    || args.contains("SOCK_CLOEXEC")
                                    || arg_has(args, "flags", CLOEXEC_BIT)
                                    || arg_has(args, "type", CLOEXEC_BIT),
                                ..FdInfo::default()
                            },
                        );
                    }
                }
            }
            Sc::Chdir => {
                if let Some(path) = ev.file_path() {
                    p.cwd = Some(Arc::from(path));
                    p.seen = Seen::default();
                }
            }
            Sc::Fchdir => {
                if let Some(path) = ev
                    .fd
                    .and_then(|fd| p.fds.get(&fd))
                    .and_then(|f| f.path.clone())
                {
                    p.cwd = Some(path);
                    p.seen = Seen::default();
                }
            }
            _ => {
                // Other fd-returning syscalls (eventfd, signalfd, timerfd, inotify, bpf, …)
                // say what they made in `fd_type`.
                if let (Some(fd), Some(_)) = (ret.and_then(|r| i32::try_from(r).ok()), ev.fd_type())
                    && ev.fd == Some(fd)
                    && !p.fds.contains_key(&fd)
                {
                    p.fds.insert(
                        fd,
                        FdInfo {
                            kind: kind(),
                            path: arc(ev.file_path()),
                            ..FdInfo::default()
                        },
                    );
                }
            }
        }
    }
}

/// The `fd.name` of a socket of kind `kind` with addresses `f` (`path`
/// when it has none).
fn socket_name(f: &Net, kind: Option<&str>, path: Option<Arc<str>>) -> Option<Arc<str>> {
    if kind == Some("unix") {
        return f.dip.clone().or_else(|| f.sip.clone()).or(path);
    }
    match (&f.sip, &f.dip) {
        (None, None) => path,
        (s, d) => {
            use std::fmt::Write as _;
            // One buffer for the whole name (it is made on every socket call).
            let mut out = String::with_capacity(64);
            let side = |out: &mut String, ip: &Option<Arc<str>>, port: Option<u16>| {
                let port = port.unwrap_or(0);
                let _ = match ip {
                    Some(ip) if ip.contains(':') => write!(out, "[{ip}]:{port}"),
                    Some(ip) => write!(out, "{ip}:{port}"),
                    None => Ok(()),
                };
            };
            side(&mut out, s, f.sport);
            out.push_str("->");
            side(&mut out, d, f.dport);
            Some(Arc::from(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, kind: EventKind, pid: i32, ppid: i32) -> Event {
        Event {
            seq,
            time_ns: seq as i64,
            event_kind: kind,
            process_pid: pid,
            thread_id: pid,
            process_parent_pid: Some(ppid),
            ..Event::default()
        }
    }

    #[test]
    fn opens_for_writing_agrees_with_substring_search() {
        let old = |f: &str| {
            ["O_CREAT", "O_TRUNC", "O_WRONLY", "O_RDWR"]
                .iter()
                .any(|w| f.contains(w))
        };
        for f in [
            "",
            "O",
            "O_",
            "O_RDONLY",
            "O_RDONLY|O_CLOEXEC",
            "O_WRONLY|O_CREAT|O_TRUNC",
            "O_RDWR",
            "OO_RDWR",
            "O_RDONLY|O_NOFOLLOW|O_TRUNC",
            "XO_CREATX",
            "O_CREA",
            "O_O_WRONLY",
            "0x8000",
        ] {
            assert_eq!(opens_for_writing(f), old(f), "{f:?}");
        }
    }

    #[test]
    fn has_cloexec_agrees_with_substring_search() {
        let old = |f: &str| f.contains("O_CLOEXEC") || f.contains("FD_CLOEXEC");
        for f in [
            "",
            "_CLOEXEC",
            "O_CLOEXEC",
            "FD_CLOEXEC",
            "D_CLOEXEC",
            "O_RDONLY|O_CLOEXEC",
            "O_CLOEXEC|O_RDONLY",
            "O_RDONLY|FD_CLOEXEC",
            "O_RDONLY|X_CLOEXEC",
            "O_CLOEXE",
            "FD_CLOEXE",
            "O__CLOEXEC",
            "0x80000",
        ] {
            assert_eq!(has_cloexec(Some(f)), old(f), "{f:?}");
        }
        assert!(!has_cloexec(None));
    }

    #[test]
    fn exited_processes_are_forgotten_beyond_the_bound_unless_they_have_children() {
        let mut s = State::with_max_exited(10);
        let mut seq = 0;
        let push = |s: &mut State, e: Event| {
            s.before(&e);
            s.after(&e);
        };
        push(&mut s, ev(0, EventKind::ProcessSnapshot, 100, 1));
        // 101 forks 102 and exits; 102 lives on: 101 stays for its ancestry.
        push(&mut s, ev(1, EventKind::ProcessFork, 101, 100));
        push(&mut s, ev(2, EventKind::ProcessFork, 102, 101));
        push(&mut s, ev(3, EventKind::ProcessExit, 101, 100));
        seq += 4;
        for pid in 1000..2000 {
            push(&mut s, ev(seq, EventKind::ProcessFork, pid, 100));
            push(&mut s, ev(seq + 1, EventKind::ProcessExit, pid, 100));
            seq += 2;
        }
        assert!(s.len() <= 10 + 4, "{} processes kept", s.len());
        let child = s.process(102).expect("live child kept");
        let names: Vec<i32> = s.ancestors(child).map(|p| p.pid).collect();
        assert_eq!(names, vec![101, 100]);
        assert!(s.process(101).expect("exited parent kept").exited);
        // Once 102 exits too, both go after enough other exits.
        push(&mut s, ev(seq, EventKind::ProcessExit, 102, 101));
        seq += 1;
        for pid in 3000..3020 {
            push(&mut s, ev(seq, EventKind::ProcessFork, pid, 100));
            push(&mut s, ev(seq + 1, EventKind::ProcessExit, pid, 100));
            seq += 2;
        }
        assert!(s.process(102).is_none() && s.process(101).is_none());
        assert!(s.process(100).is_some_and(|p| !p.exited));
    }
}
