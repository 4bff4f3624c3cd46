//! The one wire → [`Event`] decoder: times, process context, symbolic
//! flags, kernel-authoritative paths and addresses, and the TOCTOU verdict.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;

use hindsight_format::event::{Event, EventKind};
use hindsight_format::{EventBatchBuilder, SharedValues};
use hindsight_recorder_common::{
    F_AUX, F_BASE2_COMPLETE, F_BASE2_WALK, F_EXE_OVERLAY, F_EXE_UPPER, F_EXEC_KNAME, F_FD_ARG,
    F_FD_PAIR, F_FD_PAIR_SAME, F_FILE, F_KADDR, F_KNAME1, F_KNAME1_BYTES, F_KNAME1_DIFF, F_KNAME2,
    F_KNAME2_BYTES, F_KNAME2_DIFF, F_KPATH_COMPLETE, F_KPATH_PSEUDO, F_KPATH_REREAD, F_KPATH_WALK,
    F_KPATH2_COMPLETE, F_KPATH2_WALK, F_PROC_IDS, F_SOCK, F_UADDR, F_UADDR_ABSTRACT, F_UNIX_ADDR,
    F_USER_PATH, F_USER_PATH2, F_USER_TRUNC, F_USER_TRUNC2, KIND_EXEC, KIND_EXIT, KIND_FORK,
    KIND_SYSCALL, OFF_AUX, OFF_KNAME, OFF_KNAME2, OFF_KPATH, OFF_KPATH2, OFF_USER_PATH,
    OFF_USER_PATH2, ProcIds, S_REREAD, USER_PATH_LEN, WireHeader,
};

use crate::cgroups::CgroupContainers;
use crate::flags::{open_flags_into, syscall_args_into};
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
    /// The row being decoded, kept between rows: an [`Event`] is a
    /// kilobyte, which returning it by value copied two or three times.
    scratch: Option<Box<Decoded>>,
    /// Text buffers of earlier rows, filled again by the next ones.
    pool: StrPool,
}

/// A decoded row before the values it shares with other rows (host, syscall
/// name, process context) are attached.
#[derive(Debug, Default)]
struct Decoded {
    event: Event,
    syscall: Option<&'static str>,
    comm: [u8; 16],
}

mod exec;
mod kinds;
mod pool;
mod syscall;
mod text;
mod verdict;

pub use kinds::user_dev;
use kinds::*;
use pool::StrPool;
use text::*;
pub use text::{absolutize, escape_bytes, escape_invalid};
use verdict::*;

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
            scratch: None,
            pool: StrPool::default(),
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
        let mut d = Decoded::default();
        if !self.decode_row(rec, &mut d)? {
            return Ok(None);
        }
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
        let mut d = self.scratch.take().unwrap_or_default();
        let kept = self.decode_row(rec, &mut d);
        if let Ok(true) = kept {
            d.event.seq = seq;
            out.push_with(&d.event, &self.shared(&d));
            self.forget_exited(&d.event);
        }
        self.scratch = Some(d);
        kept
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

    /// Decodes everything but the shared values into `out` (every field of
    /// it is set); false for rows dropped by `--ignore-prefix` or held.
    fn decode_row(&mut self, rec: &[u8], out: &mut Decoded) -> Result<bool, DecodeError> {
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
                KIND_SYSCALL => return Ok(false),
                _ => {}
            }
        }
        let sect = |off: usize, len: usize| -> &[u8] {
            rec.get(off..(off + len).min(rec.len())).unwrap_or(&[])
        };
        let e = &mut out.event;
        // The previous row's text buffers go back to the pool first.
        self.pool.reclaim(e);
        *e = Event {
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
        let pool = &mut self.pool;
        let kpath = (h.flags & F_KPATH_WALK != 0).then(|| {
            let walk = sect(OFF_KPATH, (h.kpath_len as usize).min(768));
            if h.flags & F_KPATH_PSEUDO != 0 {
                pseudo_name(walk, h.i_mode, h.ino)
            } else {
                let mut s = pool.take();
                if kpath_cut {
                    s.push_str("...");
                }
                join_walk_in(s, walk)
            }
        });
        let kpath2 = (h.flags & F_KPATH2_WALK != 0).then(|| {
            let mut s = pool.take();
            if kpath2_cut {
                s.push_str("...");
            }
            join_walk_in(s, sect(OFF_KPATH2, (h.kpath2_len as usize).min(768)))
        });
        let base2_cut =
            h.flags & F_BASE2_WALK != 0 && h.flags & F_BASE2_COMPLETE == 0 && h.aux_len > 0;
        let user_cut = h.flags & (F_USER_TRUNC | F_USER_TRUNC2) != 0 || base2_cut;
        let user_path =
            (h.flags & F_USER_PATH != 0).then(|| cstr_in(pool.take(), sect(OFF_USER_PATH, 256)));
        let user_path2 =
            (h.flags & F_USER_PATH2 != 0).then(|| cstr_in(pool.take(), sect(OFF_USER_PATH2, 256)));
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
            // The parent's call in flight, if it is one that forks (a
            // kernel thread's fork, or a call outside the recorded set, has
            // none).
            KIND_FORK => syscalls::name(h.syscall_nr)
                .filter(|n| matches!(*n, "clone" | "clone3" | "fork" | "vfork")),
            _ => None,
        };
        match h.kind {
            KIND_SYSCALL => self.decode_syscall(
                &h,
                e,
                rec,
                syscall.unwrap_or("unknown"),
                kpath,
                kpath2,
                user_path,
                user_path2,
            ),
            KIND_EXEC => self.decode_exec(&h, e, rec, kpath, kpath2, user_path),
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
        // The kernel's ids of this process (a new child, an exec, setsid):
        // what it inherited or had at first sight may have changed.
        if h.flags & F_PROC_IDS != 0 {
            let ids = ProcIds::from_bytes(&h.laddr);
            if ids.valid != 0 {
                if ids.vpid != 0 {
                    info.vpid = Some(ids.vpid as i32);
                }
                if ids.sid != 0 {
                    info.session_id = Some(ids.sid as i32);
                }
                info.tty = Some(tty_nr(ids.tty));
            }
        }
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
            return Ok(false);
        }
        out.syscall = syscall;
        out.comm = h.comm;
        Ok(true)
    }
}

fn sect(rec: &[u8], off: usize, len: usize) -> &[u8] {
    rec.get(off..(off + len).min(rec.len())).unwrap_or(&[])
}

#[cfg(test)]
mod tests;
