//! Reading a [`Field`] from an event and the state: [`Ctx`] and [`Value`].

use std::borrow::Cow;
use std::cell::OnceCell;
use std::sync::Arc;

use hindsight_format::Event;

use crate::row::{List, Row};

use crate::field::{Col, FdField, Field, ProcField};
use crate::ir::{Expr, Transform};
use crate::state::{FdInfo, Process, State, syscall_arg};

/// One value read from a field. Multi-valued fields are visited element by element.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Missing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (borrowed from the event or the state when possible).
    Str(Cow<'a, str>),
    /// A list of strings.
    List(List<'a>),
}

impl Value<'_> {
    /// Whether the value is missing.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// As JSON (lists as arrays, missing as `null`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Str(s) => s.as_ref().into(),
            Value::List(l) => l.iter().map(serde_json::Value::from).collect(),
        }
    }

    /// As output text: `<NA>` when missing, list elements joined with spaces.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Null => out.push_str("<NA>"),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Str(s) => out.push_str(s),
            Value::List(l) => out.push_str(&l.join(" ")),
        }
    }
}

/// What a condition sees: the event, the state after [`State::before`], and
/// the event's process (looked up once; its parent and the descriptor the
/// event used are looked up on first use, once per event).
pub struct Ctx<'a> {
    /// The event.
    pub ev: Row<'a>,
    /// The state.
    pub state: &'a State,
    /// The event's process.
    pub proc: Option<&'a Process>,
    parent: OnceCell<Option<&'a Process>>,
    fd: OnceCell<Option<&'a FdInfo>>,
}

impl<'a> Ctx<'a> {
    /// A context for `ev` in `state`.
    pub fn new(ev: &'a Event, state: &'a State) -> Ctx<'a> {
        Ctx::row(Row::event(ev), state)
    }

    /// A context for a row in `state`.
    pub fn row(ev: Row<'a>, state: &'a State) -> Ctx<'a> {
        Ctx {
            ev,
            state,
            proc: state.process(ev.process_pid),
            parent: OnceCell::new(),
            fd: OnceCell::new(),
        }
    }

    /// The parent of the event's process, if known.
    pub fn parent(&self) -> Option<&'a Process> {
        *self
            .parent
            .get_or_init(|| self.proc.and_then(|p| self.state.parent(p)))
    }

    /// The open descriptor the event used (see [`event_fd`]), if known.
    pub fn fd_info(&self) -> Option<&'a FdInfo> {
        *self
            .fd
            .get_or_init(|| self.proc.zip(row_fd(&self.ev)).and_then(|(p, fd)| p.fd(fd)))
    }
}

/// The descriptor an event is about: the one it returned for `socket`,
/// `accept` and `accept4` (whose `fd` column is the listening socket, or
/// none), else its `fd` column — as Falco's `fd.*` fields on those calls'
/// exit events describe the new connection.
pub fn event_fd(ev: &Event) -> Option<i32> {
    row_fd(&Row::event(ev))
}

/// [`event_fd`] of a [`Row`].
#[inline]
pub fn row_fd(ev: &Row<'_>) -> Option<i32> {
    match ev.ret {
        Some(r) if r >= 0 && ev.sc.returns_socket() => i32::try_from(r).ok(),
        _ => ev.fd,
    }
}

fn s(v: Option<&str>) -> Value<'_> {
    v.map_or(Value::Null, |x| Value::Str(Cow::Borrowed(x)))
}
fn i<T: Into<i64> + Copy>(v: Option<T>) -> Value<'static> {
    v.map_or(Value::Null, |x| Value::Int(x.into()))
}
fn a<'a>(v: &'a Option<std::sync::Arc<str>>) -> Value<'a> {
    v.as_deref()
        .map_or(Value::Null, |x| Value::Str(Cow::Borrowed(x)))
}

/// Reads a column of the event.
pub fn column<'a>(c: Col, ev: &'a Event) -> Value<'a> {
    row_column(c, &Row::event(ev))
}

/// Reads a column of a [`Row`].
pub fn row_column<'a>(c: Col, ev: &Row<'a>) -> Value<'a> {
    match c {
        Col::Time => Value::Int(ev.time_ns / 1000),
        Col::TimeNs => Value::Int(ev.time_ns),
        Col::Seq => Value::Int(ev.seq as i64),
        Col::HostName => Value::Str(Cow::Borrowed(ev.host_name())),
        Col::BootId => Value::Str(Cow::Borrowed(ev.boot_id())),
        Col::EventKind => Value::Str(Cow::Borrowed(ev.event_kind.as_str())),
        Col::Syscall => s(ev.syscall),
        Col::Ret => i(ev.ret),
        Col::LatencyNs => i(ev.latency_ns()),
        Col::ProcessPid => Value::Int(ev.process_pid.into()),
        Col::ThreadId => Value::Int(ev.thread_id.into()),
        Col::ProcessParentPid => i(ev.process_parent_pid()),
        Col::ProcessVpid => i(ev.process_vpid()),
        Col::ProcessSessionId => i(ev.process_session_id()),
        Col::ProcessTty => i(ev.process_tty()),
        Col::ProcessName => s(ev.process_name()),
        Col::ProcessExecutable => s(ev.process_executable()),
        Col::ProcessArgs => ev.process_args().map_or(Value::Null, Value::List),
        Col::ProcessCommandLine => s(ev.process_command_line()),
        Col::ProcessCwd => s(ev.process_cwd()),
        Col::ProcessExitCode => i(ev.process_exit_code()),
        Col::ProcessExitSignal => i(ev.process_exit_signal()),
        Col::ProcessCapEffective => ev
            .process_cap_effective()
            .map_or(Value::Null, |x| Value::Int(x as i64)),
        Col::ProcessCapPermitted => ev
            .process_cap_permitted()
            .map_or(Value::Null, |x| Value::Int(x as i64)),
        Col::UserId => i(ev.user_id()),
        Col::UserName => s(ev.user_name()),
        Col::GroupId => i(ev.group_id()),
        Col::ProcessEffectiveUserId => i(ev.process_effective_user_id()),
        Col::LoginUid => i(ev.login_uid()),
        Col::CgroupId => ev.cgroup_id().map_or(Value::Null, |x| Value::Int(x as i64)),
        Col::ContainerId => s(ev.container_id()),
        Col::FilePath => s(ev.file_path()),
        Col::FilePathUser => s(ev.file_path_user()),
        Col::FilePathUserErr => i(ev.file_path_user_err()),
        Col::FilePathTruncated => ev.file_path_truncated().map_or(Value::Null, Value::Bool),
        Col::ProcessExeUpperLayer => ev
            .process_exe_upper_layer()
            .map_or(Value::Null, Value::Bool),
        Col::FileInode => ev
            .file_inode()
            .map_or(Value::Null, |x| Value::Int(x as i64)),
        Col::FileDevice => ev
            .file_device()
            .map_or(Value::Null, |x| Value::Int(x as i64)),
        Col::FileFlags => s(ev.file_flags()),
        Col::FileMode => i(ev.file_mode()),
        Col::FileTargetPath => s(ev.file_target_path()),
        Col::FileTargetPathUser => s(ev.file_target_path_user()),
        Col::Fd => i(ev.fd),
        Col::FdType => s(ev.fd_type()),
        Col::NetworkFamily => s(ev.network_family()),
        Col::NetworkTransport => s(ev.network_transport()),
        Col::SourceIp => s(ev.source_ip()),
        Col::SourcePort => i(ev.source_port()),
        Col::DestinationIp => s(ev.destination_ip()),
        Col::DestinationPort => i(ev.destination_port()),
        Col::DestinationAddrUser => s(ev.destination_addr_user()),
        Col::ToctouMismatch => ev.toctou_mismatch().map_or(Value::Null, Value::Bool),
        Col::KernelSource => s(ev.kernel_source()),
        Col::SyscallArgs => s(ev.syscall_args()),
        Col::LostEvents => ev
            .lost_events()
            .map_or(Value::Null, |x| Value::Int(x as i64)),
    }
}

/// Reads a fact about process `p`.
pub fn proc_field<'a>(f: ProcField, p: &'a Process, ctx: &Ctx<'a>) -> Value<'a> {
    match f {
        ProcField::Pid => Value::Int(p.pid.into()),
        ProcField::Ppid => i(p.ppid),
        ProcField::Exe => a(&p.exe),
        ProcField::Name => a(&p.name),
        ProcField::Argv => p
            .argv
            .as_deref()
            .map_or(Value::Null, |a| Value::List(List::Strings(a))),
        ProcField::Argv0 => p
            .argv
            .as_deref()
            .and_then(|a| a.first())
            .map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s))),
        ProcField::Args => a(&p.args),
        ProcField::Cmdline => a(&p.cmdline),
        ProcField::CommandLine => p
            .argv
            .as_deref()
            .map_or(Value::Null, |v| Value::Str(Cow::Owned(v.join(" ")))),
        ProcField::Cwd => a(&p.cwd),
        ProcField::Tty => i(p.tty),
        ProcField::Sid => i(p.sid),
        ProcField::Uid => i(p.uid),
        ProcField::Euid => i(p.euid),
        ProcField::LoginUid => i(p.loginuid),
        ProcField::UserName => match (&p.user_name, p.uid) {
            (None, Some(u)) => name(ctx.state.user_name(u)),
            _ => a(&p.user_name),
        },
        ProcField::EuserName => match p.euid {
            Some(e) if p.uid != Some(e) => name(ctx.state.user_name(e)),
            _ => proc_field(ProcField::UserName, p, ctx),
        },
        ProcField::LoginName => p
            .loginuid
            .and_then(|l| ctx.state.login_name(l))
            .map_or(Value::Null, |n| Value::Str(Cow::Borrowed(n))),
        ProcField::Gid => i(p.gid),
        ProcField::GroupName => name(p.gid.and_then(|g| ctx.state.group_name(g))),
        ProcField::Container => a(&p.container),
        ProcField::StartNs => Value::Int(p.start_ns),
        ProcField::DurationNs => Value::Int(ctx.ev.time_ns - p.start_ns),
        ProcField::ExeWriter => a(&p.exe_writer),
        ProcField::ExeFromMemfd => Value::Bool(
            p.exe
                .as_deref()
                .is_some_and(|e| e.starts_with("memfd:") || e.starts_with("/memfd:")),
        ),
        ProcField::FdCount => Value::Int(p.fds.len() as i64),
    }
}

fn fd_field<'a>(f: FdField, ctx: &Ctx<'a>) -> Value<'a> {
    let Some(fd) = row_fd(&ctx.ev) else {
        return Value::Null;
    };
    if f == FdField::Num {
        return Value::Int(fd.into());
    }
    let Some(info) = ctx.fd_info() else {
        return Value::Null;
    };
    match f {
        FdField::Num => Value::Int(fd.into()),
        FdField::Path => a(&info.path),
        FdField::Type => a(&info.kind),
        FdField::Flags => a(&info.flags),
        FdField::Cloexec => Value::Bool(info.cloexec),
        FdField::SourceIp => a(&info.net().sip),
        FdField::SourcePort => i(info.net().sport),
        FdField::DestIp => a(&info.net().dip),
        FdField::DestPort => i(info.net().dport),
        FdField::Transport => a(&info.net().transport),
        FdField::Directory | FdField::Filename => {
            let Some(path) = info.path.as_deref() else {
                return Value::Null;
            };
            if !path.starts_with('/') {
                return Value::Null;
            }
            let cut = path.rfind('/').unwrap_or(0);
            Value::Str(Cow::Borrowed(if f == FdField::Directory {
                if cut == 0 { "/" } else { &path[..cut] }
            } else {
                &path[cut + 1..]
            }))
        }
    }
}

/// Visits every value of `field` (one for single-valued fields, each element
/// of lists and each ancestor for `ancestor_*`); stops and returns true as
/// soon as `f` does. Missing values are not visited.
pub fn any_value<'a>(field: &Field, ctx: &Ctx<'a>, f: &mut dyn FnMut(Value<'a>) -> bool) -> bool {
    let visit = |v: Value<'a>, f: &mut dyn FnMut(Value<'a>) -> bool| match v {
        Value::Null => false,
        Value::List(l) => l.iter().any(|x| f(Value::Str(Cow::Borrowed(x)))),
        v => f(v),
    };
    match field {
        Field::Ancestors(pf) => {
            let Some(p) = ctx.proc else { return false };
            ctx.state
                .ancestors(p)
                .any(|anc| visit(proc_field(*pf, anc, ctx), f))
        }
        _ => visit(single(field, ctx), f),
    }
}

/// Reads `field` as one value (lists as [`Value::List`]; `ancestor_*` as the parent's value).
pub fn single<'a>(field: &Field, ctx: &Ctx<'a>) -> Value<'a> {
    match field {
        Field::Column(c) => row_column(*c, &ctx.ev),
        Field::Proc(pf) => ctx.proc.map_or(Value::Null, |p| proc_field(*pf, p, ctx)),
        Field::Parent(pf) => ctx
            .parent()
            .map_or(Value::Null, |p| proc_field(*pf, p, ctx)),
        // From the (cached) parent: level n is the parent's ancestor n - 1.
        Field::Ancestor(n, pf) => ctx
            .parent()
            .and_then(|parent| match n {
                0 | 1 => Some(parent),
                _ => ctx.state.ancestors(parent).nth(usize::from(*n) - 2),
            })
            .map_or(Value::Null, |p| proc_field(*pf, p, ctx)),
        Field::Ancestors(pf) => ctx
            .parent()
            .map_or(Value::Null, |p| proc_field(*pf, p, ctx)),
        Field::Fd(f) => fd_field(*f, ctx),
        Field::SyscallArg(name) => ctx
            .ev
            .syscall_args()
            .and_then(|args| syscall_arg(args, name))
            .map_or(Value::Null, |v| Value::Str(Cow::Borrowed(v))),
        Field::UserArg(arg) => id_arg(
            ctx,
            arg,
            &["setuid", "setreuid", "setresuid", "setfsuid"],
            State::user_name,
        ),
        Field::GroupArg(arg) => id_arg(
            ctx,
            arg,
            &["setgid", "setregid", "setresgid", "setfsgid"],
            State::group_name,
        ),
        Field::ArgvAt(n) => ctx
            .ev
            .process_args()
            .and_then(|a| a.get(usize::from(*n)))
            .map_or(Value::Null, |v| Value::Str(Cow::Borrowed(v))),
    }
}

/// An id entry `arg` of `syscall_args` as libs renders a `PT_UID` or
/// `PT_GID` argument: on the `calls` that take one, the name `lookup` gives
/// (`<NONE>` for -1, `<NA>` when it has none); elsewhere the entry as written.
fn id_arg<'a>(
    ctx: &Ctx<'a>,
    arg: &str,
    calls: &[&str],
    lookup: fn(&'a State, u32) -> Option<&'a Arc<str>>,
) -> Value<'a> {
    let Some(raw) = ctx.ev.syscall_args().and_then(|a| syscall_arg(a, arg)) else {
        return Value::Null;
    };
    if !ctx.ev.syscall.is_some_and(|s| calls.contains(&s)) {
        return Value::Str(Cow::Borrowed(raw));
    }
    match raw.parse::<i64>() {
        Ok(-1 | 0xffff_ffff) => Value::Str(Cow::Borrowed("<NONE>")),
        Ok(id) => Value::Str(Cow::Borrowed(
            lookup(ctx.state, id as u32).map_or("<NA>", |n| n),
        )),
        Err(_) => Value::Str(Cow::Borrowed(raw)),
    }
}

/// A name, or null.
fn name(n: Option<&Arc<str>>) -> Value<'_> {
    n.map_or(Value::Null, |n| Value::Str(Cow::Borrowed(n)))
}

/// Applies transformers in order; `Null` when one cannot apply.
pub fn transform<'a>(mut v: Value<'a>, ts: &[Transform]) -> Value<'a> {
    for t in ts {
        v = match (t, v) {
            (_, Value::Null) => Value::Null,
            (Transform::Len, Value::Str(s)) => Value::Int(s.len() as i64),
            (Transform::Len, Value::List(l)) => Value::Int(l.len() as i64),
            (Transform::ToLower, Value::Str(s)) => {
                Value::Str(if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(s.to_ascii_lowercase())
                } else {
                    s
                })
            }
            (Transform::ToUpper, Value::Str(s)) => {
                Value::Str(if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    Cow::Owned(s.to_ascii_uppercase())
                } else {
                    s
                })
            }
            (Transform::Basename, Value::Str(s)) => Value::Str(match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.rsplit('/').next().unwrap_or(b)),
                Cow::Owned(o) => Cow::Owned(o.rsplit('/').next().unwrap_or(&o).to_string()),
            }),
            (Transform::CapNames, Value::Int(mask)) => Value::Str(Cow::Owned(cap_names(mask))),
            (Transform::ShortId, Value::Str(s)) => Value::Str(match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.get(..12).unwrap_or(b)),
                Cow::Owned(o) => Cow::Owned(o.get(..12).unwrap_or(&o).to_string()),
            }),
            (Transform::B64, Value::Str(s)) => b64_decode(&s)
                .and_then(|b| String::from_utf8(b).ok())
                .map_or(Value::Null, |d| Value::Str(Cow::Owned(d))),
            (_, Value::List(l)) => Value::List(l),
            (_, _) => Value::Null,
        };
    }
    v
}

/// Reads an expression as a single value (transformers applied).
pub fn expr_single<'a>(e: &Expr, ctx: &Ctx<'a>) -> Value<'a> {
    transform(single(&e.field, ctx), &e.transforms)
}

/// Linux capability names by bit number (`include/uapi/linux/capability.h`).
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The names of the capabilities set in `mask`, space-separated, lowest bit
/// first (Falco's rendering of `thread.cap_*`); unknown bits are skipped.
pub fn cap_names(mask: i64) -> String {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Standard base64 (padding optional); `None` when invalid.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
