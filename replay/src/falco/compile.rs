//! Lowering expanded Falco conditions to the shared IR ([`crate::ir::Cond`]).
//!
//! Most Falco fields map to one IR field. The others are *derived* (their
//! Falco value is computed from a column, like `evt.res` from `ret`) and are
//! lowered by rewriting the test, so the engine never needs Falco-specific
//! code:
//!
//! * finite domains (`evt.dir`, `fd.typechar`, `fd.sockfamily`, the event
//!   type of lifecycle rows, `SUCCESS`): the test is folded at compile time
//!   for every possible value;
//! * defaults (`container.id` is `host` outside containers, `user.loginuid`
//!   is `-1` when unset): `T(x ?? d)` becomes `T(x) or (x missing and T(d))`;
//! * fallbacks (`fd.name` from the event's `file_path`, else the fd table):
//!   `T(a) or (a missing and T(b))`;
//! * `evt.res`: `ret >= 0` for `SUCCESS`, `ret in (-errno, ...)` for the
//!   errno names the test accepts.
//!
//! A field no recording can provide compiles to "missing" (`false`, as Falco
//! treats a missing value) and is listed in [`Lowered::needs`].

use std::collections::BTreeSet;

use crate::field::{Col, FdField, Field, Kind, ProcField};
use crate::ir::{self, Cond, Literal, Op, Test, Transform};

use super::ast::{CmpOp, Expr, Operand, Rhs, Span, Transformer};
use super::consteval;
use super::error::{Diagnostic, suggest};
use super::fields::{self, ArgKind, FType};
use super::resolve::diag;
use super::source::SourceMap;

/// How a Falco field's value is obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// One IR field (with transformers).
    Ir(ir::Expr),
    /// The first present of several IR fields.
    Coalesce(Vec<ir::Expr>),
    /// An IR field, or this Falco value when it is missing.
    Default(ir::Expr, String),
    /// `host` when the IR field (the container id) is missing, else missing.
    HostOnly(ir::Expr),
    /// A constant.
    Const(String),
    /// `evt.type` (or `syscall.type` when `syscall_only`).
    EvtType {
        /// Only `syscall` rows.
        syscall_only: bool,
    },
    /// `evt.res`.
    EvtRes,
    /// `evt.num` (`seq` + 1).
    EvtNum,
    /// `fd.sockfamily`.
    SockFamily,
    /// `proc.cwd`: the IR value plus a trailing `/`.
    CwdSlash(ir::Expr),
    /// `evt.is_open_*`.
    OpenFlag(OpenFlag),
    /// `evt.is_open_exec`: an open that creates a file with an execute bit.
    OpenExec,
    /// A numeric syscall argument Falco renders by name (`evt.arg.domain`
    /// `AF_PACKET`, `evt.arg.request` `PTRACE_SEIZE`): the `syscall_args`
    /// entry and the (name, value) table.
    Enum(ir::Expr, &'static [(&'static str, i64)]),
    /// `fd.type` (`typechar` false) or `fd.typechar` (true): the event's
    /// `fd_type`, except that the recorder's `other` (a socket it could not
    /// classify, e.g. the old fd of a `dup2`) yields to the fd table's kind.
    FdType {
        /// `fd.typechar` rather than `fd.type`.
        typechar: bool,
    },
    /// `fd.name`: the event's `file_path`, except that the recorder's
    /// `socket:[INODE]` yields to the fd table's `ip:port->ip:port`.
    FdName,
    /// `fd.num`: the `fd` column, `-1` for failed calls.
    FdNum,
    /// Server or client side of a socket.
    Role {
        /// Server side (`fd.sip`) or client side (`fd.cip`).
        server: bool,
        /// Local value (fallbacks).
        local: Vec<ir::Expr>,
        /// Remote value (fallbacks).
        remote: Vec<ir::Expr>,
    },
    /// Either of two values (`fd.ip`, `fd.port`, `fd.net`).
    Either(Box<Val>, Box<Val>),
    /// Not recordable.
    Unavailable(String),
}

/// Which `evt.is_open_*` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFlag {
    /// `evt.is_open_read`.
    Read,
    /// `evt.is_open_write`.
    Write,
    /// `evt.is_open_create`.
    Create,
}

/// The lowered Falco field: value, Falco type.
#[derive(Debug, Clone, PartialEq)]
pub struct FalcoField {
    /// How to obtain the value.
    pub val: Val,
    /// Its Falco type.
    pub ty: FType,
}

fn col(c: Col) -> ir::Expr {
    ir::Expr::field(Field::Column(c))
}
/// The descriptor an event is about (the returned one for `socket` and
/// `accept*`, see [`crate::value::event_fd`]), as Falco's `fd.num`.
pub(crate) fn fd_num() -> ir::Expr {
    ir::Expr::field(Field::Fd(FdField::Num))
}
fn proc(p: ProcField) -> ir::Expr {
    ir::Expr::field(Field::Proc(p))
}
fn fd(f: FdField) -> ir::Expr {
    ir::Expr::field(Field::Fd(f))
}
fn caps(c: Col) -> ir::Expr {
    ir::Expr {
        field: Field::Column(c),
        transforms: vec![Transform::CapNames],
    }
}

/// Socket address families (`evt.arg.domain` of `socket`), as libs names them.
pub const SOCKET_FAMILIES: &[(&str, i64)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
];

/// `ptrace` requests (`evt.arg.request`), as libs names them.
pub const PTRACE_REQUESTS: &[(&str, i64)] = &[
    ("PTRACE_TRACEME", 0),
    ("PTRACE_PEEKTEXT", 1),
    ("PTRACE_PEEKDATA", 2),
    ("PTRACE_PEEKUSR", 3),
    ("PTRACE_POKETEXT", 4),
    ("PTRACE_POKEDATA", 5),
    ("PTRACE_POKEUSR", 6),
    ("PTRACE_CONT", 7),
    ("PTRACE_KILL", 8),
    ("PTRACE_SINGLESTEP", 9),
    ("PTRACE_GETREGS", 12),
    ("PTRACE_SETREGS", 13),
    ("PTRACE_GETFPREGS", 14),
    ("PTRACE_SETFPREGS", 15),
    ("PTRACE_ATTACH", 16),
    ("PTRACE_DETACH", 17),
    ("PTRACE_GETFPXREGS", 18),
    ("PTRACE_SETFPXREGS", 19),
    ("PTRACE_SET_SYSCALL", 23),
    ("PTRACE_SYSCALL", 24),
    ("PTRACE_GET_THREAD_AREA", 25),
    ("PTRACE_SET_THREAD_AREA", 26),
    ("PTRACE_ARCH_PRCTL", 30),
    ("PTRACE_SYSEMU", 31),
    ("PTRACE_SYSEMU_SINGLESTEP", 32),
    ("PTRACE_SINGLEBLOCK", 33),
    ("PTRACE_SETOPTIONS", 0x4200),
    ("PTRACE_GETEVENTMSG", 0x4201),
    ("PTRACE_GETSIGINFO", 0x4202),
    ("PTRACE_SETSIGINFO", 0x4203),
    ("PTRACE_GETREGSET", 0x4204),
    ("PTRACE_SETREGSET", 0x4205),
    ("PTRACE_SEIZE", 0x4206),
    ("PTRACE_INTERRUPT", 0x4207),
    ("PTRACE_LISTEN", 0x4208),
    ("PTRACE_PEEKSIGINFO", 0x4209),
    ("PTRACE_GETSIGMASK", 0x420a),
    ("PTRACE_SETSIGMASK", 0x420b),
    ("PTRACE_SECCOMP_GET_FILTER", 0x420c),
    ("PTRACE_SECCOMP_GET_METADATA", 0x420d),
    ("PTRACE_GET_SYSCALL_INFO", 0x420e),
    ("PTRACE_GET_RSEQ_CONFIGURATION", 0x420f),
];

/// The spellings of an enum value the recorder may write: its name,
/// decimal, and `0x` hex.
fn enum_spellings(name: &str, v: i64) -> [String; 3] {
    [name.to_string(), v.to_string(), format!("{v:#x}")]
}

/// Looks a Falco field up. `Err` carries "unknown field" text and a suggestion.
pub fn lookup(name: &str, arg: Option<&str>) -> Result<FalcoField, (String, Option<String>)> {
    let (name, arg) = fields::split_arg_field(name, arg);
    let Some(sup) = fields::supported(&name) else {
        if let Some(reason) = fields::unavailable_reason(&name) {
            return Ok(FalcoField {
                val: Val::Unavailable(reason.to_string()),
                ty: FType::Str,
            });
        }
        let names = fields::KNOWN_LIBS_FIELDS.iter().copied();
        let help = suggest(&name, names).map(|s| format!("did you mean '{s}'?"));
        return Err((format!("unknown field '{name}'"), help));
    };
    let level = match (sup.arg, &arg) {
        (ArgKind::None, Some(a)) => {
            return Err((
                format!("field '{name}' takes no argument, got '[{a}]'"),
                None,
            ));
        }
        (ArgKind::Required, None) => {
            return Err((
                format!("field '{name}' needs an argument, e.g. '{name}.flags' or '{name}[flags]'"),
                None,
            ));
        }
        (ArgKind::Level, Some(a)) => match a.parse::<u8>() {
            Ok(n) if n <= crate::field::MAX_ANCESTOR_LEVEL => Some(n),
            _ => {
                return Err((
                    format!(
                        "'{name}[{a}]': the ancestor level must be a number from 0 to {}",
                        crate::field::MAX_ANCESTOR_LEVEL
                    ),
                    None,
                ));
            }
        },
        _ => None,
    };
    let ancestor = |p: ProcField| {
        ir::Expr::field(match level {
            None => Field::Ancestors(p),
            Some(0) => Field::Proc(p),
            Some(n) => Field::Ancestor(n, p),
        })
    };
    let local = |c: Col, f: FdField| vec![col(c), fd(f)];
    let val = match name.as_str() {
        "evt.type" => Val::EvtType {
            syscall_only: false,
        },
        "syscall.type" => Val::EvtType { syscall_only: true },
        "evt.dir" => Val::Const("<".into()),
        "evt.source" => Val::Const("syscall".into()),
        "evt.res" => Val::EvtRes,
        "evt.rawres" => Val::Ir(col(Col::Ret)),
        "evt.failed" => Val::Ir(col(Col::Ret)),
        "evt.num" => Val::EvtNum,
        "evt.time" | "evt.rawtime" | "evt.datetime" | "evt.time.iso8601" => {
            Val::Ir(col(Col::TimeNs))
        }
        "evt.hostname" => Val::Ir(col(Col::HostName)),
        "evt.args" => Val::Ir(col(Col::SyscallArgs)),
        "evt.arg" => {
            let a = arg.clone().unwrap_or_default();
            match a.as_str() {
                // A symlink's target is a string, not an object the kernel resolved.
                "target" => Val::Coalesce(vec![
                    ir::Expr::field(Field::SyscallArg(a.into())),
                    col(Col::FilePath),
                ]),
                "name" | "path" | "pathname" | "filename" | "oldpath" | "exe" => {
                    Val::Coalesce(vec![
                        col(Col::FilePath),
                        ir::Expr::field(Field::SyscallArg(a.into())),
                    ])
                }
                "linkpath" | "newpath" => Val::Coalesce(vec![
                    col(Col::FileTargetPath),
                    ir::Expr::field(Field::SyscallArg(a.into())),
                ]),
                "flags" => Val::Coalesce(vec![
                    col(Col::FileFlags),
                    ir::Expr::field(Field::SyscallArg("flags".into())),
                ]),
                "fd" => Val::Ir(col(Col::Fd)),
                "res" => Val::Ir(col(Col::Ret)),
                "domain" | "family" => Val::Enum(
                    ir::Expr::field(Field::SyscallArg(a.into())),
                    SOCKET_FAMILIES,
                ),
                "request" => Val::Enum(
                    ir::Expr::field(Field::SyscallArg(a.into())),
                    PTRACE_REQUESTS,
                ),
                n if n.chars().all(|c| c.is_ascii_digit()) => Val::Unavailable(
                    "numeric argument indexes (evt.arg[N]) are not recorded".into(),
                ),
                n => Val::Ir(ir::Expr::field(Field::SyscallArg(n.into()))),
            }
        }
        "evt.is_open_read" => Val::OpenFlag(OpenFlag::Read),
        "evt.is_open_write" => Val::OpenFlag(OpenFlag::Write),
        "evt.is_open_create" => Val::OpenFlag(OpenFlag::Create),
        "evt.is_open_exec" => Val::OpenExec,
        "proc.name" => Val::Ir(proc(ProcField::Name)),
        // Falco: `proc.exe` is argv[0] as the process passed it, `proc.exepath`
        // the executable's path.
        "proc.exe" => Val::Ir(ir::Expr::field(Field::ArgvAt(0))),
        "proc.exepath" => Val::Ir(proc(ProcField::Exe)),
        "proc.cmdline" => Val::Ir(proc(ProcField::Cmdline)),
        "proc.args" => Val::Ir(proc(ProcField::Args)),
        "proc.pid" => Val::Ir(proc(ProcField::Pid)),
        "proc.ppid" => Val::Ir(proc(ProcField::Ppid)),
        "proc.vpid" => Val::Ir(col(Col::ProcessVpid)),
        "proc.sid" => Val::Ir(proc(ProcField::Sid)),
        "proc.tty" => Val::Ir(proc(ProcField::Tty)),
        "proc.cwd" => Val::CwdSlash(proc(ProcField::Cwd)),
        "proc.duration" => Val::Ir(proc(ProcField::DurationNs)),
        "proc.is_exe_from_memfd" => Val::Ir(proc(ProcField::ExeFromMemfd)),
        // Set on exec rows, where Falco's rules test it (`spawned_process`).
        "proc.is_exe_upper_layer" => Val::Ir(col(Col::ProcessExeUpperLayer)),
        "proc.pname" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Name))),
        "proc.pexe" | "proc.pexepath" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Exe))),
        "proc.pcmdline" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Cmdline))),
        "proc.ppid.duration" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::DurationNs))),
        "proc.aname" => Val::Ir(ancestor(ProcField::Name)),
        "proc.apid" => Val::Ir(ancestor(ProcField::Pid)),
        "proc.aexe" | "proc.aexepath" => Val::Ir(ancestor(ProcField::Exe)),
        "proc.acmdline" => Val::Ir(ancestor(ProcField::Cmdline)),
        "thread.tid" => Val::Ir(col(Col::ThreadId)),
        "thread.cap_effective" => Val::Ir(caps(Col::ProcessCapEffective)),
        "thread.cap_permitted" => Val::Ir(caps(Col::ProcessCapPermitted)),
        "user.uid" => Val::Coalesce(vec![proc(ProcField::Euid), proc(ProcField::Uid)]),
        "user.name" => Val::Ir(proc(ProcField::UserName)),
        "user.loginuid" => Val::Default(proc(ProcField::LoginUid), "-1".into()),
        "user.loginname" => Val::Ir(proc(ProcField::LoginName)),
        "group.gid" => Val::Ir(proc(ProcField::Gid)),
        "container.id" => Val::Default(proc(ProcField::Container), "host".into()),
        "container.name" => Val::HostOnly(proc(ProcField::Container)),
        "fd.num" => Val::FdNum,
        "fd.name" => Val::FdName,
        "fd.nameraw" => Val::Coalesce(vec![
            col(Col::FilePathUser),
            col(Col::FilePath),
            fd(FdField::Path),
        ]),
        "fd.directory" => Val::Ir(fd(FdField::Directory)),
        "fd.filename" => Val::Coalesce(vec![
            ir::Expr {
                field: Field::Column(Col::FilePath),
                transforms: vec![Transform::Basename],
            },
            fd(FdField::Filename),
        ]),
        "fd.type" => Val::FdType { typechar: false },
        "fd.typechar" => Val::FdType { typechar: true },
        "fd.sockfamily" => Val::SockFamily,
        "fd.l4proto" => Val::Coalesce(local(Col::NetworkTransport, FdField::Transport)),
        "fd.lip" | "fd.lnet" => Val::Coalesce(local(Col::SourceIp, FdField::SourceIp)),
        "fd.rip" | "fd.rnet" => Val::Coalesce(local(Col::DestinationIp, FdField::DestIp)),
        "fd.lport" => Val::Coalesce(local(Col::SourcePort, FdField::SourcePort)),
        "fd.rport" => Val::Coalesce(local(Col::DestinationPort, FdField::DestPort)),
        "fd.sip" | "fd.snet" | "fd.cip" | "fd.cnet" => Val::Role {
            server: matches!(name.as_str(), "fd.sip" | "fd.snet"),
            local: local(Col::SourceIp, FdField::SourceIp),
            remote: local(Col::DestinationIp, FdField::DestIp),
        },
        "fd.sport" | "fd.cport" => Val::Role {
            server: name == "fd.sport",
            local: local(Col::SourcePort, FdField::SourcePort),
            remote: local(Col::DestinationPort, FdField::DestPort),
        },
        "fd.ip" | "fd.net" => Val::Either(
            Box::new(Val::Coalesce(local(Col::SourceIp, FdField::SourceIp))),
            Box::new(Val::Coalesce(local(Col::DestinationIp, FdField::DestIp))),
        ),
        "fd.port" => Val::Either(
            Box::new(Val::Coalesce(local(Col::SourcePort, FdField::SourcePort))),
            Box::new(Val::Coalesce(local(
                Col::DestinationPort,
                FdField::DestPort,
            ))),
        ),
        "fd.ino" => Val::Ir(col(Col::FileInode)),
        "fd.dev" => Val::Ir(col(Col::FileDevice)),
        other => return Err((format!("field '{other}' is listed but not mapped"), None)),
    };
    let ty = if name == "evt.failed" {
        FType::Bool
    } else {
        sup.ty
    };
    Ok(FalcoField { val, ty })
}

/// The values on the right of a test.
#[derive(Debug, Clone)]
enum RhsVals {
    One(String, Span),
    List(Vec<String>, Span),
    Field(ir::Expr),
}

/// A lowered rule condition.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The IR condition.
    pub cond: Cond,
    /// Falco fields the rule needs that no recording provides (with reasons).
    pub needs: BTreeSet<String>,
}

/// Lowers one expanded condition. Errors name the spot.
pub struct Lowerer<'a> {
    sources: &'a SourceMap,
    owner: String,
    needs: BTreeSet<String>,
    errors: Vec<Diagnostic>,
}

const SERVER_SYSCALLS: [&str; 4] = ["accept", "accept4", "listen", "bind"];
const OPEN_SYSCALLS: [&str; 4] = ["open", "openat", "openat2", "open_by_handle_at"];
const TYPECHARS: [(&str, &str); 15] = [
    ("file", "f"),
    ("directory", "d"),
    ("ipv4", "4"),
    ("ipv6", "6"),
    ("unix", "u"),
    ("pipe", "p"),
    ("memfd", "m"),
    ("event", "e"),
    ("signalfd", "s"),
    ("timerfd", "t"),
    ("inotify", "i"),
    ("bpf", "b"),
    ("userfaultfd", "o"),
    ("netlink", "n"),
    ("other", "o"),
];

impl<'a> Lowerer<'a> {
    /// A lowerer for one rule.
    pub fn new(sources: &'a SourceMap, owner: String) -> Self {
        Lowerer {
            sources,
            owner,
            needs: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    /// Lowers the rule's expression.
    pub fn lower(mut self, e: &Expr) -> Result<Lowered, Vec<Diagnostic>> {
        let cond = self.expr(e);
        if self.errors.is_empty() {
            Ok(Lowered {
                cond: simplify(cond),
                needs: self.needs,
            })
        } else {
            Err(self.errors)
        }
    }

    fn error(&mut self, span: Span, msg: String, help: Option<String>) -> Cond {
        let owner = self.owner.clone();
        self.errors
            .push(diag(self.sources, span, &owner, msg, help));
        Cond::Const(false)
    }

    fn expr(&mut self, e: &Expr) -> Cond {
        match e {
            Expr::And(c, _) => Cond::And(c.iter().map(|x| self.expr(x)).collect()),
            Expr::Or(c, _) => Cond::Or(c.iter().map(|x| self.expr(x)).collect()),
            Expr::Not(x, _) => Cond::Not(Box::new(self.expr(x))),
            Expr::Macro(name, span) => {
                self.error(*span, format!("unresolved macro '{name}'"), None)
            }
            Expr::Exists(op, _) => match self.operand(op) {
                Some((f, ts)) => self.exists(&f.val, &ts),
                None => Cond::Const(false),
            },
            Expr::Compare { lhs, op, rhs, span } => self.compare(lhs, *op, rhs, *span),
        }
    }

    /// Looks up the operand's field; `None` on error (reported).
    fn operand(&mut self, op: &Operand) -> Option<(FalcoField, Vec<Transformer>)> {
        let mut ts = Vec::new();
        let mut cur = op;
        while let Operand::Transform(t, inner, _) = cur {
            ts.push(*t);
            cur = inner;
        }
        ts.reverse();
        let f = cur.field();
        match lookup(&f.name, f.arg.as_deref()) {
            Ok(ff) => {
                if let Val::Unavailable(_) = &ff.val {
                    let (name, arg) = fields::split_arg_field(&f.name, f.arg.as_deref());
                    let shown = match (name.as_str(), arg) {
                        ("evt.arg", Some(a)) => format!("evt.arg[{a}]"),
                        _ => name,
                    };
                    self.needs.insert(shown);
                }
                Some((ff, ts))
            }
            Err((msg, help)) => {
                self.error(f.span, msg, help);
                None
            }
        }
    }

    fn exists(&self, v: &Val, ts: &[Transformer]) -> Cond {
        let ex = |e: &ir::Expr| Cond::Exists(with_ts(e, ts));
        match v {
            Val::Ir(e) | Val::CwdSlash(e) => ex(e),
            Val::Coalesce(v) => Cond::Or(v.iter().map(ex).collect()),
            Val::Default(..) | Val::Const(_) | Val::OpenFlag(_) | Val::OpenExec | Val::EvtNum => {
                Cond::Const(true)
            }
            Val::Enum(e, _) => ex(e),
            Val::FdType { .. } => Cond::Or(vec![ex(&col(Col::FdType)), ex(&fd(FdField::Type))]),
            Val::FdName => Cond::Or(vec![ex(&col(Col::FilePath)), ex(&fd(FdField::Path))]),
            Val::HostOnly(e) => Cond::Not(Box::new(ex(e))),
            Val::EvtType { syscall_only } => {
                if *syscall_only {
                    kind_is(&["syscall"])
                } else {
                    Cond::Const(true)
                }
            }
            Val::EvtRes => success_or_failure(),
            Val::SockFamily => ex(&col(Col::NetworkFamily)),
            Val::FdNum => Cond::Or(vec![ex(&fd_num()), ret_test(Op::Lt, 0)]),
            Val::Role { local, remote, .. } => {
                Cond::Or(local.iter().chain(remote).map(ex).collect())
            }
            Val::Either(a, b) => Cond::Or(vec![self.exists(a, ts), self.exists(b, ts)]),
            Val::Unavailable(_) => Cond::Const(false),
        }
    }

    fn rhs(&mut self, rhs: &Rhs) -> Option<RhsVals> {
        Some(match rhs {
            Rhs::Value(v) => RhsVals::One(v.text.clone(), v.span),
            Rhs::List(v, s) => RhsVals::List(v.iter().map(|v| v.text.clone()).collect(), *s),
            Rhs::ListName(v) => {
                self.error(v.span, format!("undefined list '{}'", v.text), None);
                return None;
            }
            Rhs::Operand(o) => {
                let (f, ts) = self.operand(o)?;
                match f.val {
                    Val::Ir(e) => RhsVals::Field(with_ts(&e, &ts)),
                    Val::Coalesce(v) => RhsVals::Field(with_ts(&v[0], &ts)),
                    Val::Unavailable(_) => return Some(RhsVals::List(Vec::new(), o.span())),
                    _ => {
                        self.error(
                            o.span(),
                            format!(
                                "'{}' is a derived field and cannot be used inside val(...)",
                                o.field().display()
                            ),
                            None,
                        );
                        return None;
                    }
                }
            }
        })
    }

    fn compare(&mut self, lhs: &Operand, op: CmpOp, rhs: &Rhs, span: Span) -> Cond {
        let Some((f, ts)) = self.operand(lhs) else {
            return Cond::Const(false);
        };
        let Some(r) = self.rhs(rhs) else {
            return Cond::Const(false);
        };
        let ty = if ts.contains(&Transformer::Len) {
            FType::Num
        } else {
            f.ty
        };
        if let Err(msg) = check_op(ty, op, &r) {
            let fname = lhs.field().display();
            return self.error(span, format!("{msg} (field '{fname}')"), None);
        }
        if let Val::Unavailable(_) = f.val {
            return Cond::Const(false);
        }
        match self.test(&f.val, ty, &ts, op, &r) {
            Ok(c) => c,
            Err(msg) => {
                let at = match &r {
                    RhsVals::One(_, s) | RhsVals::List(_, s) => *s,
                    RhsVals::Field(_) => span,
                };
                self.error(at, msg, None)
            }
        }
    }

    /// `val OP rhs` as an IR condition.
    fn test(
        &self,
        v: &Val,
        ty: FType,
        ts: &[Transformer],
        op: CmpOp,
        r: &RhsVals,
    ) -> Result<Cond, String> {
        let folded = |value: &str| -> bool {
            let Some(value) = consteval::transform(value, ts) else {
                return false;
            };
            match r {
                RhsVals::One(s, _) => consteval::eval(op, &value, std::slice::from_ref(s)),
                RhsVals::List(l, _) => consteval::eval(op, &value, l),
                RhsVals::Field(_) => false,
            }
        };
        Ok(match v {
            Val::Ir(e) => ir_test(&with_ts(e, ts), ty, op, r)?,
            Val::Coalesce(list) => coalesce(list, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
            Val::Default(e, d) => Cond::Or(vec![
                ir_test(&with_ts(e, ts), ty, op, r)?,
                Cond::And(vec![
                    Cond::Not(Box::new(Cond::Exists(e.clone()))),
                    Cond::Const(folded(d)),
                ]),
            ]),
            Val::HostOnly(e) => Cond::And(vec![
                Cond::Not(Box::new(Cond::Exists(e.clone()))),
                Cond::Const(folded("host")),
            ]),
            Val::Const(c) => Cond::Const(folded(c)),
            Val::EvtType { syscall_only } => {
                let sys = ir_test(&with_ts(&col(Col::Syscall), ts), FType::Str, op, r)?;
                if *syscall_only {
                    Cond::And(vec![kind_is(&["syscall"]), sys])
                } else {
                    // The schema sets `syscall` on lifecycle rows caused by one
                    // (`execve` for `process_exec`, `clone`... for `process_fork`),
                    // so the engine's per-syscall index applies to Falco rules too.
                    Cond::Or(vec![
                        Cond::And(vec![
                            kind_is(&["syscall", "process_exec", "process_fork"]),
                            sys,
                        ]),
                        Cond::And(vec![
                            kind_is(&["process_exit"]),
                            Cond::Const(folded("procexit")),
                        ]),
                    ])
                }
            }
            Val::EvtRes => {
                let errnos: Vec<Literal> = super::errno::all()
                    .filter(|(n, _)| folded(n))
                    .map(|(_, v)| Literal::Int(-v))
                    .collect();
                Cond::Or(vec![
                    Cond::And(vec![success(), Cond::Const(folded("SUCCESS"))]),
                    Cond::Test(Test {
                        lhs: col(Col::Ret),
                        op: Op::In,
                        rhs: ir::Rhs::Lit(Literal::List(errnos)),
                        nocase: false,
                    }),
                ])
            }
            Val::EvtNum => {
                let shift = |s: &str| -> Result<String, String> {
                    let n = parse_int(s).ok_or_else(|| format!("'{s}' is not a number"))?;
                    Ok((n - 1).to_string())
                };
                let r2 = match r {
                    RhsVals::One(s, sp) => RhsVals::One(shift(s)?, *sp),
                    RhsVals::List(l, sp) => {
                        RhsVals::List(l.iter().map(|s| shift(s)).collect::<Result<_, _>>()?, *sp)
                    }
                    RhsVals::Field(_) => {
                        return Err("evt.num cannot be compared with val(...)".into());
                    }
                };
                ir_test(&col(Col::Seq), FType::Num, op, &r2)?
            }
            Val::FdType { typechar } => {
                let r2;
                let (op2, r) = if *typechar {
                    let set: Vec<String> = TYPECHARS
                        .iter()
                        .filter(|(_, c)| folded(c))
                        .map(|(t, _)| (*t).to_string())
                        .collect();
                    r2 = RhsVals::List(set, Span::default());
                    (CmpOp::In, &r2)
                } else {
                    (op, r)
                };
                let ts: &[Transformer] = if *typechar { &[] } else { ts };
                weak_event_value(Col::FdType, Op::Eq, "other", FdField::Type, |e| {
                    ir_test(&with_ts(e, ts), FType::Str, op2, r)
                })?
            }
            Val::FdName => weak_event_value(
                Col::FilePath,
                Op::StartsWith,
                "socket:[",
                FdField::Path,
                |e| ir_test(&with_ts(e, ts), ty, op, r),
            )?,
            Val::Enum(e, table) => {
                let set: Vec<String> = table
                    .iter()
                    .filter(|(n, _)| folded(n))
                    .flat_map(|(n, v)| enum_spellings(n, *v))
                    .collect();
                ir_test(
                    e,
                    FType::Str,
                    CmpOp::In,
                    &RhsVals::List(set, Span::default()),
                )?
            }
            Val::OpenExec => {
                let want = match r {
                    RhsVals::One(s, _) => {
                        parse_bool(s).ok_or_else(|| format!("'{s}' is not true or false"))?
                    }
                    RhsVals::List(l, _) => l.iter().any(|s| parse_bool(s) == Some(true)),
                    RhsVals::Field(_) => {
                        return Err("flags cannot be compared with val(...)".into());
                    }
                };
                let want = if op == CmpOp::Ne { !want } else { want };
                let flags = |s: &str| {
                    Cond::test(
                        Field::Column(Col::FileFlags),
                        Op::Contains,
                        Literal::Str(s.into()),
                    )
                };
                // Every permission value (0..=0o7777) with an execute bit.
                let exec_modes: Vec<Literal> = (0..0o10000_i64)
                    .filter(|m| m & 0o111 != 0)
                    .map(Literal::Int)
                    .collect();
                let c = Cond::And(vec![
                    is_open(),
                    Cond::Or(vec![flags("O_CREAT"), flags("O_TMPFILE")]),
                    Cond::test(
                        Field::Column(Col::FileMode),
                        Op::In,
                        Literal::List(exec_modes),
                    ),
                ]);
                if want { c } else { Cond::Not(Box::new(c)) }
            }
            Val::SockFamily => {
                let set: Vec<String> = [("AF_INET", "ip"), ("AF_INET6", "ip"), ("AF_UNIX", "unix")]
                    .iter()
                    .filter(|(_, v)| folded(v))
                    .map(|(f, _)| (*f).to_string())
                    .collect();
                ir_test(
                    &col(Col::NetworkFamily),
                    FType::Str,
                    CmpOp::In,
                    &RhsVals::List(set, Span::default()),
                )?
            }
            Val::CwdSlash(e) => cwd_test(&with_ts(e, ts), !ts.is_empty(), op, r)?,
            Val::OpenFlag(flag) => {
                let want = match r {
                    RhsVals::One(s, _) => {
                        parse_bool(s).ok_or_else(|| format!("'{s}' is not true or false"))?
                    }
                    RhsVals::List(l, _) => l.iter().any(|s| parse_bool(s) == Some(true)),
                    RhsVals::Field(_) => {
                        return Err("flags cannot be compared with val(...)".into());
                    }
                };
                let want = if op == CmpOp::Ne { !want } else { want };
                let flags = |s: &str| {
                    Cond::test(
                        Field::Column(Col::FileFlags),
                        Op::Contains,
                        Literal::Str(s.into()),
                    )
                };
                let is_open = is_open();
                let c = match flag {
                    OpenFlag::Read => Cond::And(vec![
                        is_open,
                        Cond::Exists(col(Col::FileFlags)),
                        Cond::Not(Box::new(flags("O_WRONLY"))),
                    ]),
                    OpenFlag::Write => Cond::And(vec![
                        is_open,
                        Cond::Or(vec![flags("O_WRONLY"), flags("O_RDWR")]),
                    ]),
                    OpenFlag::Create => Cond::And(vec![is_open, flags("O_CREAT")]),
                };
                if want { c } else { Cond::Not(Box::new(c)) }
            }
            Val::FdNum => Cond::Or(vec![
                ir_test(&with_ts(&fd_num(), ts), ty, op, r)?,
                Cond::And(vec![
                    Cond::Not(Box::new(Cond::Exists(fd_num()))),
                    ret_test(Op::Lt, 0),
                    Cond::Const(folded("-1")),
                ]),
            ]),
            Val::Role {
                server,
                local,
                remote,
            } => {
                let srv = Cond::test(
                    Field::Column(Col::Syscall),
                    Op::In,
                    Literal::List(
                        SERVER_SYSCALLS
                            .iter()
                            .map(|s| Literal::Str((*s).into()))
                            .collect(),
                    ),
                );
                let (on_server, on_client) = if *server {
                    (local, remote)
                } else {
                    (remote, local)
                };
                Cond::Or(vec![
                    Cond::And(vec![
                        srv.clone(),
                        coalesce(on_server, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
                    ]),
                    Cond::And(vec![
                        Cond::Not(Box::new(srv)),
                        coalesce(on_client, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
                    ]),
                ])
            }
            Val::Either(a, b) => Cond::Or(vec![
                self.test(a, ty, ts, op, r)?,
                self.test(b, ty, ts, op, r)?,
            ]),
            Val::Unavailable(_) => Cond::Const(false),
        })
    }
}

fn with_ts(e: &ir::Expr, ts: &[Transformer]) -> ir::Expr {
    let mut e = e.clone();
    e.transforms.extend(ts.iter().map(|t| match t {
        Transformer::ToLower => Transform::ToLower,
        Transformer::ToUpper => Transform::ToUpper,
        Transformer::Basename => Transform::Basename,
        Transformer::Len => Transform::Len,
        Transformer::B64 => Transform::B64,
    }));
    e
}

/// The event's column `event`, unless it is missing or only a placeholder
/// (`event OP placeholder`, e.g. the recorder's `other` fd type or
/// `socket:[INODE]` name), in which case the fd table's `table` value when
/// it has one: `T(event)` or `T(table)` accordingly.
fn weak_event_value(
    event: Col,
    op: Op,
    placeholder: &str,
    table: FdField,
    t: impl Fn(&ir::Expr) -> Result<Cond, String>,
) -> Result<Cond, String> {
    let ev = col(event);
    let weak = Cond::Or(vec![
        Cond::Not(Box::new(Cond::Exists(ev.clone()))),
        Cond::test(Field::Column(event), op, Literal::Str(placeholder.into())),
    ]);
    let table = fd(table);
    Ok(Cond::Or(vec![
        Cond::And(vec![Cond::Not(Box::new(weak.clone())), t(&ev)?]),
        Cond::And(vec![weak.clone(), Cond::Exists(table.clone()), t(&table)?]),
        Cond::And(vec![
            weak,
            Cond::Not(Box::new(Cond::Exists(table))),
            t(&ev)?,
        ]),
    ]))
}

/// `T(a) or (a missing and T(b)) or ...`.
fn coalesce(
    list: &[ir::Expr],
    mut t: impl FnMut(&ir::Expr) -> Result<Cond, String>,
) -> Result<Cond, String> {
    let mut alts = Vec::new();
    let mut missing: Vec<Cond> = Vec::new();
    for e in list {
        let mut conj = missing.clone();
        conj.push(t(e)?);
        alts.push(Cond::And(conj));
        missing.push(Cond::Not(Box::new(Cond::Exists(e.clone()))));
    }
    Ok(Cond::Or(alts))
}

/// The row is an open (`open`, `openat`, `openat2`, `open_by_handle_at`).
fn is_open() -> Cond {
    Cond::test(
        Field::Column(Col::Syscall),
        Op::In,
        Literal::List(
            OPEN_SYSCALLS
                .iter()
                .map(|s| Literal::Str((*s).into()))
                .collect(),
        ),
    )
}

fn kind_is(kinds: &[&str]) -> Cond {
    Cond::test(
        Field::Column(Col::EventKind),
        Op::In,
        Literal::List(kinds.iter().map(|k| Literal::Str((*k).into())).collect()),
    )
}

fn ret_test(op: Op, v: i64) -> Cond {
    Cond::test(Field::Column(Col::Ret), op, Literal::Int(v))
}

/// The event succeeded (`ret >= 0`, or a lifecycle row without `ret`).
fn success() -> Cond {
    Cond::Or(vec![
        ret_test(Op::Ge, 0),
        Cond::And(vec![
            Cond::Not(Box::new(Cond::Exists(col(Col::Ret)))),
            kind_is(&["process_exec", "process_fork"]),
        ]),
    ])
}

fn success_or_failure() -> Cond {
    Cond::Or(vec![
        Cond::Exists(col(Col::Ret)),
        kind_is(&["process_exec", "process_fork"]),
    ])
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    s.parse::<i64>().ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Falco's per-type operator rules (libs `flt_is_comparable_*`).
fn check_op(ty: FType, op: CmpOp, r: &RhsVals) -> Result<(), String> {
    let ok = match ty {
        FType::Str => true,
        FType::Num => matches!(
            op,
            CmpOp::Eq
                | CmpOp::Ne
                | CmpOp::Lt
                | CmpOp::Le
                | CmpOp::Gt
                | CmpOp::Ge
                | CmpOp::In
                | CmpOp::Intersects
        ),
        FType::Bool => matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects),
        FType::Ip | FType::Net => {
            matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects)
        }
    };
    if !ok {
        let t = match ty {
            FType::Str => "string",
            FType::Num => "numeric",
            FType::Bool => "boolean",
            FType::Ip => "IP address",
            FType::Net => "IP network",
        };
        return Err(format!(
            "operator '{}' cannot be used on a {t} field",
            op.as_str()
        ));
    }
    let vals: Vec<&str> = match r {
        RhsVals::One(s, _) => vec![s],
        RhsVals::List(l, _) => l.iter().map(String::as_str).collect(),
        RhsVals::Field(_) => vec![],
    };
    for v in vals {
        match ty {
            FType::Num if parse_int(v).is_none() => {
                return Err(format!("wrong-type comparison: '{v}' is not a number"));
            }
            FType::Bool if parse_bool(v).is_none() => {
                return Err(format!("wrong-type comparison: '{v}' is not true or false"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A test on one IR expression.
fn ir_test(e: &ir::Expr, ty: FType, op: CmpOp, r: &RhsVals) -> Result<Cond, String> {
    let kind = crate::eval::expr_kind(e);
    let lit = |s: &str| -> Result<Literal, String> {
        Ok(match kind {
            Kind::Int => Literal::Int(
                parse_int(s)
                    .ok_or_else(|| format!("wrong-type comparison: '{s}' is not a number"))?,
            ),
            Kind::Bool => Literal::Bool(
                parse_bool(s)
                    .ok_or_else(|| format!("wrong-type comparison: '{s}' is not true or false"))?,
            ),
            Kind::Str | Kind::StrList => Literal::Str(s.to_string()),
        })
    };
    if ty == FType::Net {
        let nets: Vec<Literal> = match r {
            RhsVals::One(s, _) => vec![Literal::Str(s.clone())],
            RhsVals::List(l, _) => l.iter().map(|s| Literal::Str(s.clone())).collect(),
            RhsVals::Field(_) => return Err("networks cannot be compared with val(...)".into()),
        };
        for n in &nets {
            if let Literal::Str(s) = n {
                check_cidr(s)?;
            }
        }
        let c = Cond::Test(Test {
            lhs: e.clone(),
            op: Op::Cidr,
            rhs: ir::Rhs::Lit(Literal::List(nets)),
            nocase: false,
        });
        return Ok(if op == CmpOp::Ne {
            Cond::And(vec![Cond::Exists(e.clone()), Cond::Not(Box::new(c))])
        } else {
            c
        });
    }
    let (irop, nocase) = match op {
        CmpOp::Eq => (Op::Eq, false),
        CmpOp::Ne => (Op::Ne, false),
        CmpOp::Lt => (Op::Lt, false),
        CmpOp::Le => (Op::Le, false),
        CmpOp::Gt => (Op::Gt, false),
        CmpOp::Ge => (Op::Ge, false),
        CmpOp::Contains => (Op::Contains, false),
        CmpOp::IContains => (Op::Contains, true),
        CmpOp::BContains => (Op::BContains, false),
        CmpOp::StartsWith => (Op::StartsWith, false),
        CmpOp::BStartsWith => (Op::BStartsWith, false),
        CmpOp::EndsWith => (Op::EndsWith, false),
        CmpOp::Glob => (Op::Glob, false),
        CmpOp::IGlob => (Op::Glob, true),
        CmpOp::Regex => (Op::Regex { anchored: true }, false),
        CmpOp::In => (Op::In, false),
        CmpOp::Intersects => (Op::Intersects, false),
        CmpOp::PMatch => (Op::PMatch, false),
    };
    let rhs = match r {
        RhsVals::Field(f) => ir::Rhs::Field(f.clone()),
        RhsVals::One(s, _) => {
            if op.is_list_op() {
                ir::Rhs::Lit(Literal::List(vec![lit(s)?]))
            } else if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
                ir::Rhs::Lit(Literal::Bytes(hex(s)?))
            } else if op == CmpOp::Regex {
                regex::Regex::new(&format!("^(?:{s})$"))
                    .map_err(|e| format!("invalid regex '{s}': {e}"))?;
                ir::Rhs::Lit(Literal::Str(s.clone()))
            } else {
                ir::Rhs::Lit(lit(s)?)
            }
        }
        RhsVals::List(l, _) => {
            if !op.is_list_op() {
                return Err(format!(
                    "operator '{}' takes one value, not a list",
                    op.as_str()
                ));
            }
            ir::Rhs::Lit(Literal::List(
                l.iter().map(|s| lit(s)).collect::<Result<_, _>>()?,
            ))
        }
    };
    Ok(Cond::Test(Test {
        lhs: e.clone(),
        op: irop,
        rhs,
        nocase,
    }))
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}' is not a hex byte string (bcontains/bstartswith take hex, e.g. 7f454c46)"
        ));
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect())
}

fn check_cidr(s: &str) -> Result<(), String> {
    let (addr, len) = s
        .split_once('/')
        .unwrap_or((s, if s.contains(':') { "128" } else { "32" }));
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("'{s}' is not an IP network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len.parse::<u32>() {
        Ok(n) if n <= max => Ok(()),
        _ => Err(format!("'{s}' is not an IP network")),
    }
}

/// Tests on `cwd + "/"` (Falco prints `proc.cwd` with a trailing slash).
fn cwd_test(e: &ir::Expr, transformed: bool, op: CmpOp, r: &RhsVals) -> Result<Cond, String> {
    let RhsVals::One(p, _) = r else {
        if let (CmpOp::In, RhsVals::List(l, sp)) = (op, r) {
            let alts = l
                .iter()
                .map(|p| cwd_test(e, transformed, CmpOp::Eq, &RhsVals::One(p.clone(), *sp)))
                .collect::<Result<_, _>>()?;
            return Ok(Cond::Or(alts));
        }
        return ir_test(e, FType::Str, op, r);
    };
    if transformed {
        return ir_test(e, FType::Str, op, r);
    }
    let s = |x: &str| Literal::Str(x.to_string());
    let t = |op: Op, x: &str| {
        Cond::Test(Test {
            lhs: e.clone(),
            op,
            rhs: ir::Rhs::Lit(s(x)),
            nocase: false,
        })
    };
    let trimmed = p.strip_suffix('/').filter(|t| !t.is_empty());
    let eq_slash = || match (p.as_str(), trimmed) {
        ("/", _) => t(Op::Eq, "/"),
        (_, Some(base)) => t(Op::Eq, base),
        _ => Cond::Const(false),
    };
    Ok(match op {
        CmpOp::Eq => eq_slash(),
        CmpOp::Ne => Cond::And(vec![
            Cond::Exists(e.clone()),
            Cond::Not(Box::new(eq_slash())),
        ]),
        CmpOp::StartsWith => Cond::Or(vec![t(Op::StartsWith, p), eq_slash()]),
        CmpOp::Contains => match trimmed {
            Some(base) => Cond::Or(vec![t(Op::Contains, p), t(Op::EndsWith, base)]),
            None => t(Op::Contains, p),
        },
        CmpOp::EndsWith => match (p.as_str(), trimmed) {
            ("/", _) => Cond::Exists(e.clone()),
            (_, Some(base)) => t(Op::EndsWith, base),
            _ => Cond::Const(false),
        },
        _ => ir_test(e, FType::Str, op, r)?,
    })
}

/// Removes constant branches.
pub fn simplify(c: Cond) -> Cond {
    match c {
        Cond::And(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Cond::Const(true) => {}
                    Cond::Const(false) => return Cond::Const(false),
                    Cond::And(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Cond::Const(true),
                1 => out.pop().expect("one"),
                _ => Cond::And(out),
            }
        }
        Cond::Or(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Cond::Const(false) => {}
                    Cond::Const(true) => return Cond::Const(true),
                    Cond::Or(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Cond::Const(false),
                1 => out.pop().expect("one"),
                _ => Cond::Or(out),
            }
        }
        Cond::Not(x) => match simplify(*x) {
            Cond::Const(b) => Cond::Const(!b),
            Cond::Not(y) => *y,
            y => Cond::Not(Box::new(y)),
        },
        c => c,
    }
}
