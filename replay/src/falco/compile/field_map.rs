//! How each Falco field is obtained: a column, the process or descriptor
//! state, or a derived value (see the parent module).

use crate::falco::error::suggest;
use crate::falco::fields::{self, ArgKind, FType};
use crate::field::{Col, FdField, Field, ProcField};
use crate::ir::{self, Transform};

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
    /// `evt.rawres`: `ret`, and 0 on lifecycle rows (`execve` and the
    /// child's `clone` return 0 in Falco).
    RawRes,
    /// `evt.failed`: `ret < 0`; false on lifecycle rows.
    Failed,
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
    /// `evt.arg.mode`: on `chmod`, `fchmod`, `fchmodat` and the `open`
    /// family the recorded `file_mode`, rendered as libs renders the call's
    /// `mode` parameter ([`render_mode`]); on other calls the `mode` entry
    /// of `syscall_args`.
    Mode,
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

pub(super) fn col(c: Col) -> ir::Expr {
    ir::Expr::field(Field::Column(c))
}
/// The descriptor an event is about (the returned one for `socket` and
/// `accept*`, see [`crate::value::event_fd`]), as Falco's `fd.num`.
pub(crate) fn fd_num() -> ir::Expr {
    ir::Expr::field(Field::Fd(FdField::Num))
}
pub(super) fn proc(p: ProcField) -> ir::Expr {
    ir::Expr::field(Field::Proc(p))
}
pub(super) fn fd(f: FdField) -> ir::Expr {
    ir::Expr::field(Field::Fd(f))
}
pub(super) fn caps(c: Col) -> ir::Expr {
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

/// Calls whose `mode` libs renders as permission names (`PT_MODE`, `chmod_mode`).
pub const CHMOD_SYSCALLS: [&str; 4] = ["chmod", "fchmod", "fchmodat", "fchmodat2"];
/// Calls whose `mode` libs renders in octal (`PT_UINT32`, `PF_OCT`).
pub const OPEN_MODE_SYSCALLS: [&str; 4] = ["open", "openat", "openat2", "creat"];

/// libs' `chmod_mode` table, in its order.
const CHMOD_MODE: [(&str, u32); 12] = [
    ("S_IXOTH", 0o1),
    ("S_IWOTH", 0o2),
    ("S_IROTH", 0o4),
    ("S_IXGRP", 0o10),
    ("S_IWGRP", 0o20),
    ("S_IRGRP", 0o40),
    ("S_IXUSR", 0o100),
    ("S_IWUSR", 0o200),
    ("S_IRUSR", 0o400),
    ("S_ISVTX", 0o1000),
    ("S_ISGID", 0o2000),
    ("S_ISUID", 0o4000),
];

/// `evt.arg.mode` of `syscall` with mode `mode`, as libs renders it: the
/// names of the permission bits in `chmod_mode` order joined by `|` for
/// the `chmod` family (`S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR` for 0644), C's
/// `%#o` for the `open` family (`0644`). `None` for other calls.
pub fn render_mode(syscall: &str, mode: u32) -> Option<String> {
    let octal = || {
        if mode == 0 {
            "0".to_string()
        } else {
            format!("0{mode:o}")
        }
    };
    if CHMOD_SYSCALLS.contains(&syscall) {
        let names: Vec<&str> = CHMOD_MODE
            .iter()
            .filter(|(_, b)| mode & b == *b)
            .map(|(n, _)| *n)
            .collect();
        // No name: libs falls back to the number, in octal.
        return Some(if names.is_empty() {
            octal()
        } else {
            names.join("|")
        });
    }
    OPEN_MODE_SYSCALLS.contains(&syscall).then(octal)
}

/// The spellings of an enum value the recorder may write: its name,
/// decimal, and `0x` hex.
pub(super) fn enum_spellings(name: &str, v: i64) -> [String; 3] {
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
        "evt.rawres" => Val::RawRes,
        "evt.failed" => Val::Failed,
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
                // `PT_UID` arguments: libs renders the user's name.
                "uid" | "ruid" | "euid" | "suid" => {
                    Val::Ir(ir::Expr::field(Field::UserArg(a.into())))
                }
                // `PT_GID` arguments: the group's name.
                "gid" | "rgid" | "egid" | "sgid" => {
                    Val::Ir(ir::Expr::field(Field::GroupArg(a.into())))
                }
                "mode" => Val::Mode,
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
        // argv[0] of the parent, as `proc.exe` is of the process.
        "proc.pexe" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Argv0))),
        "proc.pexepath" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Exe))),
        "proc.pcmdline" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::Cmdline))),
        "proc.ppid.duration" => Val::Ir(ir::Expr::field(Field::Parent(ProcField::DurationNs))),
        "proc.aname" => Val::Ir(ancestor(ProcField::Name)),
        "proc.apid" => Val::Ir(ancestor(ProcField::Pid)),
        "proc.aexe" => Val::Ir(ancestor(ProcField::Argv0)),
        "proc.aexepath" => Val::Ir(ancestor(ProcField::Exe)),
        "proc.acmdline" => Val::Ir(ancestor(ProcField::Cmdline)),
        "thread.tid" => Val::Ir(col(Col::ThreadId)),
        "thread.cap_effective" => Val::Ir(caps(Col::ProcessCapEffective)),
        "thread.cap_permitted" => Val::Ir(caps(Col::ProcessCapPermitted)),
        "user.uid" => Val::Coalesce(vec![proc(ProcField::Euid), proc(ProcField::Uid)]),
        // libs' user is the effective one, as for `user.uid`.
        "user.name" => Val::Ir(proc(ProcField::EuserName)),
        "user.loginuid" => Val::Default(proc(ProcField::LoginUid), "-1".into()),
        "user.loginname" => Val::Ir(proc(ProcField::LoginName)),
        "group.gid" => Val::Ir(proc(ProcField::Gid)),
        "group.name" => Val::Ir(proc(ProcField::GroupName)),
        // libs' `container.id` is the short id: the first 12 characters.
        "container.id" => Val::Default(
            ir::Expr {
                field: Field::Proc(ProcField::Container),
                transforms: vec![Transform::ShortId],
            },
            "host".into(),
        ),
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
