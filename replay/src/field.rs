//! [`Field`]: every value a rule can read, and its registry of names.
//!
//! A field is either a column of the event row ([`Col`], named exactly like
//! the column in [`hindsight_format::COLUMNS`]) or a fact kept by the state
//! model ([`ProcField`] of the event's process, its parent or its ancestors;
//! [`FdField`] of the descriptor the event used). Rule languages map their own
//! names onto these (Falco's `proc.exepath` → [`Field::Proc`]`(`[`ProcField::Exe`]`)`).
//!
//! The canonical names ([`Field::name`], parsed back by [`Field::parse`]) are
//! what Hindsight's native rules use, what verdicts print, and what the book
//! lists ([`Field::catalogue`]).

use std::fmt;

/// The kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A string.
    Str,
    /// A signed 64-bit integer (unsigned columns are widened; none exceeds `i64::MAX` in practice).
    Int,
    /// A boolean.
    Bool,
    /// A list of strings (`process_args`, `proc_argv`): multi-valued, a test holds if any element matches.
    StrList,
}

impl Kind {
    /// Lower-case name used in error messages and the book.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Int => "integer",
            Kind::Bool => "boolean",
            Kind::StrList => "list of strings",
        }
    }
}

macro_rules! columns {
    ($($var:ident $name:literal $kind:ident;)*) => {
        /// A column of the `events` table (see [`hindsight_format::COLUMNS`]).
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Col { $($var,)* }

        impl Col {
            /// Every column, in schema order.
            pub const ALL: &'static [Col] = &[$(Col::$var,)*];

            /// The column name.
            pub fn name(self) -> &'static str {
                match self { $(Col::$var => $name,)* }
            }

            /// The kind of value it holds.
            pub fn kind(self) -> Kind {
                match self { $(Col::$var => Kind::$kind,)* }
            }
        }
    };
}

columns! {
    Time "time" Int;
    TimeNs "time_ns" Int;
    Seq "seq" Int;
    HostName "host_name" Str;
    BootId "boot_id" Str;
    EventKind "event_kind" Str;
    Syscall "syscall" Str;
    Ret "ret" Int;
    LatencyNs "latency_ns" Int;
    ProcessPid "process_pid" Int;
    ThreadId "thread_id" Int;
    ProcessParentPid "process_parent_pid" Int;
    ProcessVpid "process_vpid" Int;
    ProcessSessionId "process_session_id" Int;
    ProcessTty "process_tty" Int;
    ProcessName "process_name" Str;
    ProcessExecutable "process_executable" Str;
    ProcessArgs "process_args" StrList;
    ProcessCommandLine "process_command_line" Str;
    ProcessCwd "process_cwd" Str;
    ProcessExitCode "process_exit_code" Int;
    ProcessExitSignal "process_exit_signal" Int;
    ProcessCapEffective "process_cap_effective" Int;
    ProcessCapPermitted "process_cap_permitted" Int;
    UserId "user_id" Int;
    UserName "user_name" Str;
    GroupId "group_id" Int;
    ProcessEffectiveUserId "process_effective_user_id" Int;
    LoginUid "login_uid" Int;
    CgroupId "cgroup_id" Int;
    ContainerId "container_id" Str;
    FilePath "file_path" Str;
    FilePathUser "file_path_user" Str;
    FilePathUserErr "file_path_user_err" Int;
    FileInode "file_inode" Int;
    FileDevice "file_device" Int;
    FileFlags "file_flags" Str;
    FileMode "file_mode" Int;
    FileTargetPath "file_target_path" Str;
    FileTargetPathUser "file_target_path_user" Str;
    Fd "fd" Int;
    FdType "fd_type" Str;
    NetworkFamily "network_family" Str;
    NetworkTransport "network_transport" Str;
    SourceIp "source_ip" Str;
    SourcePort "source_port" Int;
    DestinationIp "destination_ip" Str;
    DestinationPort "destination_port" Int;
    DestinationAddrUser "destination_addr_user" Str;
    ToctouMismatch "toctou_mismatch" Bool;
    KernelSource "kernel_source" Str;
    SyscallArgs "syscall_args" Str;
    LostEvents "lost_events" Int;
    FilePathTruncated "file_path_truncated" Bool;
    ProcessExeUpperLayer "process_exe_upper_layer" Bool;
}

/// A fact about a process, kept by the state model. Used for the event's own
/// process ([`Field::Proc`]), its parent ([`Field::Parent`]), the ancestor `n`
/// levels up ([`Field::Ancestor`]) or every ancestor ([`Field::Ancestors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProcField {
    /// Process id (thread-group id).
    Pid,
    /// Parent process id.
    Ppid,
    /// Absolute path of the executable (kernel view).
    Exe,
    /// Command name (`comm`).
    Name,
    /// argv as a list (argv\[0\] included).
    Argv,
    /// argv\[0\] as the process passed it (Falco's `proc.exe`).
    Argv0,
    /// Arguments after argv\[0\], joined with spaces (Falco's `proc.args`).
    Args,
    /// Command name followed by the arguments (Falco's `proc.cmdline`).
    Cmdline,
    /// argv joined with spaces, as the `process_command_line` column (Sigma's `CommandLine`).
    CommandLine,
    /// Current working directory.
    Cwd,
    /// Controlling terminal device number (0: none).
    Tty,
    /// Session id.
    Sid,
    /// Real user id.
    Uid,
    /// Effective user id.
    Euid,
    /// Audit login uid (null when unset).
    LoginUid,
    /// Name of the real user.
    UserName,
    /// Name of the effective user (Falco's `user.name`): the real user's
    /// name when they are the same, else the name events showed for that uid.
    EuserName,
    /// Name of the login user (resolved from the user names seen for `login_uid`).
    LoginName,
    /// Real group id.
    Gid,
    /// Name of the real group (the recorded host's group table).
    GroupName,
    /// Container id (null on the host).
    Container,
    /// When the process was started (fork or first seen), ns since the epoch.
    StartNs,
    /// Nanoseconds between the process's start and the current event.
    DurationNs,
    /// Whether the executable is a memfd (`memfd:` path): fileless execution.
    ExeFromMemfd,
    /// Executable path of the process that last created or opened for
    /// writing the executable's file during the recording (null when none
    /// did).
    ExeWriter,
    /// Number of open descriptors in the state's fd table.
    FdCount,
}

impl ProcField {
    /// Every process field, in a stable order.
    pub const ALL: &'static [ProcField] = &[
        ProcField::Pid,
        ProcField::Ppid,
        ProcField::Exe,
        ProcField::Name,
        ProcField::Argv,
        ProcField::Argv0,
        ProcField::Args,
        ProcField::Cmdline,
        ProcField::CommandLine,
        ProcField::Cwd,
        ProcField::Tty,
        ProcField::Sid,
        ProcField::Uid,
        ProcField::Euid,
        ProcField::LoginUid,
        ProcField::UserName,
        ProcField::EuserName,
        ProcField::LoginName,
        ProcField::Gid,
        ProcField::GroupName,
        ProcField::Container,
        ProcField::StartNs,
        ProcField::DurationNs,
        ProcField::ExeFromMemfd,
        ProcField::ExeWriter,
        ProcField::FdCount,
    ];

    /// The suffix used in names (`proc_<suffix>`, `parent_<suffix>`, `ancestor_<suffix>`).
    pub fn suffix(self) -> &'static str {
        match self {
            ProcField::Pid => "pid",
            ProcField::Ppid => "ppid",
            ProcField::Exe => "exe",
            ProcField::Name => "name",
            ProcField::Argv => "argv",
            ProcField::Argv0 => "argv0",
            ProcField::Args => "args",
            ProcField::Cmdline => "cmdline",
            ProcField::CommandLine => "command_line",
            ProcField::Cwd => "cwd",
            ProcField::Tty => "tty",
            ProcField::Sid => "sid",
            ProcField::Uid => "uid",
            ProcField::Euid => "euid",
            ProcField::LoginUid => "loginuid",
            ProcField::UserName => "user_name",
            ProcField::EuserName => "euser_name",
            ProcField::LoginName => "login_name",
            ProcField::Gid => "gid",
            ProcField::GroupName => "group_name",
            ProcField::Container => "container",
            ProcField::StartNs => "start_ns",
            ProcField::DurationNs => "duration_ns",
            ProcField::ExeFromMemfd => "exe_from_memfd",
            ProcField::ExeWriter => "exe_writer",
            ProcField::FdCount => "fd_count",
        }
    }

    /// The kind of value.
    pub fn kind(self) -> Kind {
        match self {
            ProcField::Exe
            | ProcField::Name
            | ProcField::Argv0
            | ProcField::Args
            | ProcField::Cmdline
            | ProcField::CommandLine
            | ProcField::Cwd
            | ProcField::UserName
            | ProcField::EuserName
            | ProcField::LoginName
            | ProcField::GroupName
            | ProcField::Container
            | ProcField::ExeWriter => Kind::Str,
            ProcField::Argv => Kind::StrList,
            ProcField::ExeFromMemfd => Kind::Bool,
            _ => Kind::Int,
        }
    }

    /// One-line meaning, for the book and `--help`.
    pub fn doc(self) -> &'static str {
        match self {
            ProcField::Pid => "process id",
            ProcField::Ppid => "parent process id",
            ProcField::Exe => "executable path (kernel view)",
            ProcField::Name => "command name (comm)",
            ProcField::Argv => "argv as a list, argv[0] included",
            ProcField::Argv0 => "argv[0] as the process passed it",
            ProcField::Args => "arguments after argv[0], joined with spaces",
            ProcField::Cmdline => "command name and arguments, joined with spaces",
            ProcField::CommandLine => "argv joined with spaces (as process_command_line)",
            ProcField::Cwd => "current working directory",
            ProcField::Tty => "controlling terminal device number, 0 when none",
            ProcField::Sid => "session id",
            ProcField::Uid => "real user id",
            ProcField::Euid => "effective user id",
            ProcField::LoginUid => "audit login uid, null when unset",
            ProcField::UserName => "name of the real user",
            ProcField::EuserName => {
                "name of the effective user (the recorded host's passwd, else as seen for that uid in the recording)"
            }
            ProcField::LoginName => "name of the audit login user",
            ProcField::Gid => "real group id",
            ProcField::GroupName => "name of the real group (the recorded host's group file)",
            ProcField::Container => "container id, null on the host",
            ProcField::StartNs => "start time (fork, or first seen), ns since the epoch",
            ProcField::DurationNs => "ns since the process started",
            ProcField::ExeFromMemfd => "true when the executable is a memfd (fileless)",
            ProcField::ExeWriter => {
                "executable path of the process that last created or opened for writing the executable during the recording (a linker, for a program built while recording), null when none did"
            }
            ProcField::FdCount => "number of open descriptors",
        }
    }
}

/// A fact about the descriptor the event used (the `fd` column), looked up in
/// the state's fd table of the event's process.
///
/// For a syscall that creates a descriptor (`open*`, `socket`, `accept*`,
/// `dup*`, `memfd_create`) this is the new descriptor; for `close` it is the
/// descriptor being closed (it is removed after the rules ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FdField {
    /// The descriptor number.
    Num,
    /// Path (files, directories, memfds as `memfd:NAME`, unix sockets) or `ip:port->ip:port` for sockets.
    Path,
    /// `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`, `memfd`, … (as the `fd_type` column).
    Type,
    /// Open flags, symbolic, as recorded at open.
    Flags,
    /// Directory part of the path.
    Directory,
    /// File name part of the path.
    Filename,
    /// Whether close-on-exec is set.
    Cloexec,
    /// Local address of a socket.
    SourceIp,
    /// Local port of a socket.
    SourcePort,
    /// Remote address of a socket.
    DestIp,
    /// Remote port of a socket.
    DestPort,
    /// `tcp`, `udp`, `raw`, `unix`.
    Transport,
}

impl FdField {
    /// Every fd field, in a stable order.
    pub const ALL: &'static [FdField] = &[
        FdField::Num,
        FdField::Path,
        FdField::Type,
        FdField::Flags,
        FdField::Directory,
        FdField::Filename,
        FdField::Cloexec,
        FdField::SourceIp,
        FdField::SourcePort,
        FdField::DestIp,
        FdField::DestPort,
        FdField::Transport,
    ];

    /// The suffix used in names (`fd_<suffix>`).
    pub fn suffix(self) -> &'static str {
        match self {
            FdField::Num => "num",
            FdField::Path => "path",
            FdField::Type => "kind",
            FdField::Flags => "flags",
            FdField::Directory => "directory",
            FdField::Filename => "filename",
            FdField::Cloexec => "cloexec",
            FdField::SourceIp => "sip",
            FdField::SourcePort => "sport",
            FdField::DestIp => "dip",
            FdField::DestPort => "dport",
            FdField::Transport => "transport",
        }
    }

    /// The kind of value.
    pub fn kind(self) -> Kind {
        match self {
            FdField::Num | FdField::SourcePort | FdField::DestPort => Kind::Int,
            FdField::Cloexec => Kind::Bool,
            _ => Kind::Str,
        }
    }

    /// One-line meaning.
    pub fn doc(self) -> &'static str {
        match self {
            FdField::Num => "descriptor number",
            FdField::Path => "path of the file, memfd:NAME, unix socket path, or ip:port->ip:port",
            FdField::Type => {
                "file, directory, ipv4, ipv6, unix, pipe, memfd, … (from the fd table)"
            }
            FdField::Flags => "open flags, symbolic",
            FdField::Directory => "directory part of fd_path",
            FdField::Filename => "file name part of fd_path",
            FdField::Cloexec => "close-on-exec is set",
            FdField::SourceIp => "local address of the socket",
            FdField::SourcePort => "local port of the socket",
            FdField::DestIp => "remote address of the socket",
            FdField::DestPort => "remote port of the socket",
            FdField::Transport => "tcp, udp, raw or unix",
        }
    }
}

/// Ancestor levels are 1 (parent) to this.
pub const MAX_ANCESTOR_LEVEL: u8 = 32;

/// Everything a rule condition or output can read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// A column of the event row, as recorded.
    Column(Col),
    /// A fact about the event's process from the state model.
    Proc(ProcField),
    /// The same fact about its parent (level 1).
    Parent(ProcField),
    /// The same fact about the ancestor `n` levels up (1 = parent, 2 = grandparent, …).
    Ancestor(u8, ProcField),
    /// The fact for every ancestor, nearest first: multi-valued.
    Ancestors(ProcField),
    /// A fact about the descriptor the event used.
    Fd(FdField),
    /// One `name=value` entry of the `syscall_args` column (Falco's `evt.arg.NAME`).
    SyscallArg(Box<str>),
    /// A user id entry of `syscall_args` as libs renders it (Falco's
    /// `evt.arg.uid` of `setuid` and the like): on the `set*uid` calls the
    /// user's name (as the state saw it, [`crate::state::State::user_name`]),
    /// `<NONE>` for -1 and `<NA>` for a uid with no name; on other calls the
    /// entry as written. Named `user_arg_NAME`.
    UserArg(Box<str>),
    /// A group id entry of `syscall_args` as libs renders it (Falco's
    /// `evt.arg.gid` of `setgid` and the like): on the `set*gid` calls the
    /// group's name ([`crate::state::State::group_name`]), `<NONE>` for -1
    /// and `<NA>` for a gid with no name; on other calls the entry as
    /// written. Named `group_arg_NAME`.
    GroupArg(Box<str>),
    /// Element `N` of the event's `process_args` column (0 = argv\[0\]),
    /// named `process_args[N]`; missing when argv is shorter.
    ArgvAt(u16),
}

impl Field {
    /// The canonical name (what native rules write, verdicts print and [`Field::parse`] reads).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The kind of value this field yields. Multi-valued fields report the
    /// kind of one element ([`Field::is_multi`] says whether it is a list).
    pub fn kind(&self) -> Kind {
        match self {
            Field::Column(c) => c.kind(),
            Field::Proc(p) | Field::Parent(p) | Field::Ancestor(_, p) | Field::Ancestors(p) => {
                p.kind()
            }
            Field::Fd(f) => f.kind(),
            Field::SyscallArg(_) | Field::UserArg(_) | Field::GroupArg(_) | Field::ArgvAt(_) => {
                Kind::Str
            }
        }
    }

    /// Whether the field may hold several values (lists and `ancestor_*`).
    pub fn is_multi(&self) -> bool {
        matches!(self, Field::Ancestors(_)) || self.kind() == Kind::StrList
    }

    /// Parses a canonical name: a column name, `proc_X`, `parent_X`,
    /// `ancestor_X` (all ancestors), `ancestor_X[N]`, `fd_X`, `arg_NAME`, `user_arg_NAME`, `group_arg_NAME`,
    /// `process_args[N]`, and the aliases `proc_ancestors` (= `ancestor_exe`), `fd_path`, `fd_type`.
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(c) = Col::ALL.iter().find(|c| c.name() == name) {
            return Some(Field::Column(*c));
        }
        if let Some(idx) = name.strip_prefix("process_args[") {
            let idx = idx.strip_suffix(']')?;
            return (idx == "0" || !idx.starts_with('0'))
                .then(|| idx.parse().ok().map(Field::ArgvAt))
                .flatten();
        }
        if name == "proc_ancestors" {
            return Some(Field::Ancestors(ProcField::Exe));
        }
        if name == "fd_type" {
            // The column `fd_type` exists too; the column wins (it is what the event says).
            return Some(Field::Column(Col::FdType));
        }
        let arg_name =
            |a: &str| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if let Some(arg) = name.strip_prefix("arg_") {
            return arg_name(arg).then(|| Field::SyscallArg(arg.into()));
        }
        if let Some(arg) = name.strip_prefix("user_arg_") {
            return arg_name(arg).then(|| Field::UserArg(arg.into()));
        }
        if let Some(arg) = name.strip_prefix("group_arg_") {
            return arg_name(arg).then(|| Field::GroupArg(arg.into()));
        }
        if let Some(rest) = name.strip_prefix("fd_") {
            return FdField::ALL
                .iter()
                .find(|f| f.suffix() == rest)
                .map(|f| Field::Fd(*f));
        }
        let proc_field = |s: &str| ProcField::ALL.iter().copied().find(|p| p.suffix() == s);
        if let Some(rest) = name.strip_prefix("proc_") {
            return proc_field(rest).map(Field::Proc);
        }
        if let Some(rest) = name.strip_prefix("parent_") {
            return proc_field(rest).map(Field::Parent);
        }
        if let Some(rest) = name.strip_prefix("ancestor_") {
            if let Some((base, idx)) = rest.split_once('[') {
                let n: u8 = idx.strip_suffix(']')?.parse().ok()?;
                if n == 0 || n > MAX_ANCESTOR_LEVEL {
                    return None;
                }
                return proc_field(base).map(|p| Field::Ancestor(n, p));
            }
            return proc_field(rest).map(Field::Ancestors);
        }
        None
    }

    /// Every name [`Field::parse`] accepts (ancestor levels shown as `ancestor_X[N]`,
    /// syscall arguments as `arg_NAME`), with kind and meaning, in the book's order.
    pub fn catalogue() -> Vec<(String, Kind, &'static str)> {
        let mut out = Vec::new();
        for c in Col::ALL {
            let doc = hindsight_format::COLUMNS
                .iter()
                .find(|col| col.name == c.name())
                .map_or("", |col| col.doc);
            out.push((c.name().to_string(), c.kind(), doc));
        }
        for p in ProcField::ALL {
            out.push((format!("proc_{}", p.suffix()), p.kind(), p.doc()));
        }
        for p in ProcField::ALL {
            out.push((format!("parent_{}", p.suffix()), p.kind(), p.doc()));
        }
        for p in ProcField::ALL {
            out.push((format!("ancestor_{}", p.suffix()), p.kind(), p.doc()));
        }
        for p in ProcField::ALL {
            out.push((format!("ancestor_{}[N]", p.suffix()), p.kind(), p.doc()));
        }
        for f in FdField::ALL {
            out.push((format!("fd_{}", f.suffix()), f.kind(), f.doc()));
        }
        out.push((
            "process_args[N]".to_string(),
            Kind::Str,
            "element N of process_args (0 = argv[0]), null when argv is shorter",
        ));
        out.push((
            "arg_NAME".to_string(),
            Kind::Str,
            "the value of NAME in syscall_args",
        ));
        out
    }

    /// Every concrete name, for "did you mean" suggestions.
    pub fn all_names() -> Vec<String> {
        let mut v: Vec<String> = Self::catalogue()
            .into_iter()
            .map(|(n, _, _)| n.replace("[N]", "[1]"))
            .filter(|n| n != "arg_NAME")
            .collect();
        v.push("proc_ancestors".into());
        v
    }

    /// The event columns this field is derived from. A rule that needs a field
    /// whose columns are null in every row of a recording cannot fire on it.
    pub fn source_columns(&self) -> Vec<Col> {
        match self {
            Field::Column(c) => vec![*c],
            Field::SyscallArg(_) | Field::UserArg(_) | Field::GroupArg(_) => {
                vec![Col::SyscallArgs]
            }
            Field::ArgvAt(_) => vec![Col::ProcessArgs],
            Field::Fd(f) => match f {
                FdField::Num => vec![Col::Fd],
                FdField::Type => vec![Col::Fd, Col::FdType],
                FdField::Flags | FdField::Cloexec => vec![Col::Fd, Col::FileFlags],
                FdField::SourceIp | FdField::SourcePort => vec![Col::Fd, Col::SourceIp],
                FdField::DestIp | FdField::DestPort => vec![Col::Fd, Col::DestinationIp],
                FdField::Transport => vec![Col::Fd, Col::NetworkTransport],
                FdField::Path | FdField::Directory | FdField::Filename => {
                    vec![Col::Fd, Col::FilePath]
                }
            },
            Field::Proc(p) | Field::Parent(p) | Field::Ancestor(_, p) | Field::Ancestors(p) => {
                let own = match p {
                    ProcField::Pid | ProcField::StartNs | ProcField::DurationNs => vec![],
                    ProcField::Ppid => vec![Col::ProcessParentPid],
                    ProcField::Exe | ProcField::ExeFromMemfd => vec![Col::ProcessExecutable],
                    ProcField::ExeWriter => vec![Col::ProcessExecutable, Col::FileFlags],
                    ProcField::Name => vec![Col::ProcessName],
                    ProcField::Argv
                    | ProcField::Argv0
                    | ProcField::Args
                    | ProcField::Cmdline
                    | ProcField::CommandLine => {
                        vec![Col::ProcessArgs]
                    }
                    ProcField::Cwd => vec![Col::ProcessCwd],
                    ProcField::Tty => vec![Col::ProcessTty],
                    ProcField::Sid => vec![Col::ProcessSessionId],
                    ProcField::Uid => vec![Col::UserId],
                    ProcField::Euid => vec![Col::ProcessEffectiveUserId],
                    ProcField::LoginUid => vec![Col::LoginUid],
                    ProcField::UserName => vec![Col::UserName],
                    ProcField::EuserName => {
                        vec![Col::UserName, Col::UserId, Col::ProcessEffectiveUserId]
                    }
                    ProcField::LoginName => vec![Col::LoginUid, Col::UserName],
                    ProcField::Gid | ProcField::GroupName => vec![Col::GroupId],
                    ProcField::Container => vec![Col::ContainerId],
                    ProcField::FdCount => vec![Col::Fd],
                };
                if matches!(self, Field::Proc(_)) {
                    own
                } else {
                    let mut v = vec![Col::ProcessParentPid];
                    v.extend(own);
                    v
                }
            }
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Column(c) => f.write_str(c.name()),
            Field::Proc(p) => write!(f, "proc_{}", p.suffix()),
            Field::Parent(p) => write!(f, "parent_{}", p.suffix()),
            Field::Ancestor(n, p) => write!(f, "ancestor_{}[{n}]", p.suffix()),
            Field::Ancestors(p) => write!(f, "ancestor_{}", p.suffix()),
            Field::Fd(x) => write!(f, "fd_{}", x.suffix()),
            Field::SyscallArg(a) => write!(f, "arg_{a}"),
            Field::UserArg(a) => write!(f, "user_arg_{a}"),
            Field::GroupArg(a) => write!(f, "group_arg_{a}"),
            Field::ArgvAt(n) => write!(f, "process_args[{n}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_match_the_schema() {
        let ours: Vec<&str> = Col::ALL.iter().map(|c| c.name()).collect();
        let schema: Vec<&str> = hindsight_format::COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(ours, schema);
    }

    #[test]
    fn names_round_trip() {
        for name in Field::all_names() {
            let f = Field::parse(&name).unwrap_or_else(|| panic!("{name} does not parse"));
            if name != "proc_ancestors" {
                assert_eq!(f.name(), name);
            }
        }
        assert_eq!(
            Field::parse("ancestor_name[3]"),
            Some(Field::Ancestor(3, ProcField::Name))
        );
        assert_eq!(Field::parse("ancestor_name[0]"), None);
        assert_eq!(Field::parse("process_args[2]"), Some(Field::ArgvAt(2)));
        assert_eq!(Field::parse("process_args[0]"), Some(Field::ArgvAt(0)));
        assert_eq!(Field::parse("process_args[01]"), None);
        assert_eq!(Field::parse("process_args[x]"), None);
        assert_eq!(Field::parse("proc_exee"), None);
        assert_eq!(
            Field::parse("arg_flags"),
            Some(Field::SyscallArg("flags".into()))
        );
        assert_eq!(
            Field::parse("user_arg_euid"),
            Some(Field::UserArg("euid".into()))
        );
        assert_eq!(
            Field::parse("group_arg_rgid"),
            Some(Field::GroupArg("rgid".into()))
        );
        assert_eq!(Field::parse("group_arg_"), None);
        assert_eq!(Field::GroupArg("gid".into()).name(), "group_arg_gid");
    }
}
