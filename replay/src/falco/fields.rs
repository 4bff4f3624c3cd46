//! The Falco field table: which Falco fields exist, which a Hindsight
//! recording can provide and how each maps onto recording columns and the
//! replay state ([`crate::field::Field`]).
//!
//! [`SUPPORTED`] is the single source of truth for the book's mapping table;
//! [`super::compile`] implements each entry (a test checks they agree).

/// The type of a Falco field, for operator and value checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FType {
    /// A string (`PT_CHARBUF`, `PT_FSPATH`, ...).
    Str,
    /// A number (`PT_INT*`, `PT_UINT*`, `PT_RELTIME`, `PT_ABSTIME`, ports).
    Num,
    /// A boolean (`PT_BOOL`).
    Bool,
    /// An IP address (`PT_IPADDR`).
    Ip,
    /// An IP network (`PT_IPNET`): compared with CIDR values.
    Net,
}

/// Whether a field takes an argument in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// An optional ancestor level (`proc.aname[2]`); without it: every ancestor.
    Level,
    /// A required argument (`evt.arg[0]`).
    Required,
}

/// A field Hindsight evaluates: name, type, argument, and how it is mapped
/// (shown in the book).
#[derive(Debug, Clone, Copy)]
pub struct Supported {
    /// Falco name.
    pub name: &'static str,
    /// Type.
    pub ty: FType,
    /// Argument.
    pub arg: ArgKind,
    /// How the value is obtained, for the book.
    pub mapping: &'static str,
}

const fn s(name: &'static str, ty: FType, arg: ArgKind, mapping: &'static str) -> Supported {
    Supported {
        name,
        ty,
        arg,
        mapping,
    }
}

use ArgKind as A;
use FType as T;

/// Every Falco field Hindsight can evaluate on a recording.
pub const SUPPORTED: &[Supported] = &[
    s(
        "evt.type",
        T::Str,
        A::None,
        "`syscall`; `process_exec` rows are `execve`/`execveat` exits and `process_fork` rows `clone`/`fork`/`vfork`/`clone3` exits (their `syscall`), `process_exit` rows `procexit` (see *Event mapping*)",
    ),
    s(
        "syscall.type",
        T::Str,
        A::None,
        "as `evt.type`, on `syscall` rows only",
    ),
    s(
        "evt.dir",
        T::Str,
        A::None,
        "always `<`: a row is the merged syscall, evaluated as Falco's exit event",
    ),
    s(
        "evt.res",
        T::Str,
        A::None,
        "`SUCCESS` when `ret` ≥ 0, else the errno name of `-ret` (`ENOENT`)",
    ),
    s("evt.rawres", T::Num, A::None, "`ret`"),
    s("evt.failed", T::Bool, A::None, "`ret` < 0"),
    s(
        "evt.num",
        T::Num,
        A::None,
        "`seq` + 1 (Falco numbers events from 1)",
    ),
    s(
        "evt.time",
        T::Num,
        A::None,
        "`time_ns`; rendered `HH:MM:SS.nnnnnnnnn` (UTC)",
    ),
    s("evt.rawtime", T::Num, A::None, "`time_ns`"),
    s(
        "evt.datetime",
        T::Num,
        A::None,
        "`time_ns`; rendered `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC)",
    ),
    s(
        "evt.time.iso8601",
        T::Num,
        A::None,
        "`time_ns`; rendered RFC 3339 (UTC)",
    ),
    s("evt.hostname", T::Str, A::None, "`host_name`"),
    s("evt.source", T::Str, A::None, "always `syscall`"),
    s("evt.args", T::Str, A::None, "`syscall_args`"),
    s(
        "evt.arg",
        T::Str,
        A::Required,
        "`evt.arg.NAME` / `evt.arg[NAME]`: path arguments (`name`, `path`, `pathname`, `filename`, `oldpath`) → `file_path` (the kernel's value); a symlink's `target` → its `syscall_args` entry, else `file_path`; `linkpath`/`newpath` → `file_target_path`; `flags` → `file_flags` (symbolic, so `contains O_TRUNC` works), `fd` → `fd`, `res` → `ret`; `domain`/`family` (socket families, `AF_PACKET`) and `request` (ptrace, `PTRACE_SEIZE`) → that `syscall_args` entry, read by name as libs renders it; `uid`/`ruid`/`euid`/`suid` of the `set*uid` calls → the user's name, `gid`/`rgid`/`egid`/`sgid` of the `set*gid` calls → the group's name (the recording's manifest tables); anything else → that entry of `syscall_args`. Numeric indexes `evt.arg[0]` are not supported",
    ),
    s(
        "evt.is_open_read",
        T::Bool,
        A::None,
        "`file_flags` has `O_RDONLY` or `O_RDWR` access",
    ),
    s(
        "evt.is_open_write",
        T::Bool,
        A::None,
        "`file_flags` has `O_WRONLY` or `O_RDWR`",
    ),
    s(
        "evt.is_open_create",
        T::Bool,
        A::None,
        "`file_flags` has `O_CREAT`",
    ),
    s(
        "evt.is_open_exec",
        T::Bool,
        A::None,
        "`file_flags` has `O_CREAT` or `O_TMPFILE` and `file_mode` has an execute bit",
    ),
    s("proc.name", T::Str, A::None, "state `proc_name` (`comm`)"),
    s(
        "proc.exe",
        T::Str,
        A::None,
        "`process_args[0]`: argv[0] as the process passed it (Falco's semantics; see *Semantic choices*)",
    ),
    s(
        "proc.exepath",
        T::Str,
        A::None,
        "state `proc_exe`: the executable's path (kernel view)",
    ),
    s(
        "proc.cmdline",
        T::Str,
        A::None,
        "state `proc_cmdline`: `comm` and the arguments",
    ),
    s(
        "proc.args",
        T::Str,
        A::None,
        "state `proc_args`: arguments after argv[0], space-joined",
    ),
    s("proc.pid", T::Num, A::None, "state `proc_pid`"),
    s("proc.ppid", T::Num, A::None, "state `proc_ppid`"),
    s("proc.vpid", T::Num, A::None, "`process_vpid`"),
    s("proc.sid", T::Num, A::None, "state `proc_sid`"),
    s("proc.tty", T::Num, A::None, "state `proc_tty`"),
    s(
        "proc.cwd",
        T::Str,
        A::None,
        "state `proc_cwd` with a trailing `/`, as Falco prints it",
    ),
    s("proc.duration", T::Num, A::None, "state `proc_duration_ns`"),
    s(
        "proc.is_exe_from_memfd",
        T::Bool,
        A::None,
        "state `proc_exe_from_memfd` (executable path is `memfd:…`)",
    ),
    s(
        "proc.is_exe_upper_layer",
        T::Bool,
        A::None,
        "`process_exe_upper_layer` (exec rows: the executable was created in overlayfs' upper layer)",
    ),
    s("proc.pname", T::Str, A::None, "state `parent_name`"),
    s("proc.pexe", T::Str, A::None, "state `parent_exe`"),
    s("proc.pexepath", T::Str, A::None, "state `parent_exe`"),
    s("proc.pcmdline", T::Str, A::None, "state `parent_cmdline`"),
    s(
        "proc.ppid.duration",
        T::Num,
        A::None,
        "state `parent_duration_ns`",
    ),
    s(
        "proc.aname",
        T::Str,
        A::Level,
        "`[0]` the process, `[N]` state `ancestor_name[N]`; without a level any ancestor (`ancestor_name`)",
    ),
    s("proc.apid", T::Num, A::Level, "as `proc.aname`, with `pid`"),
    s("proc.aexe", T::Str, A::Level, "as `proc.aname`, with `exe`"),
    s(
        "proc.aexepath",
        T::Str,
        A::Level,
        "as `proc.aname`, with `exe`",
    ),
    s(
        "proc.acmdline",
        T::Str,
        A::Level,
        "as `proc.aname`, with `cmdline`",
    ),
    s("thread.tid", T::Num, A::None, "`thread_id`"),
    s(
        "thread.cap_effective",
        T::Str,
        A::None,
        "`process_cap_effective` (bit mask) as space-separated capability names, as libs renders it (`contains CAP_SYS_ADMIN`)",
    ),
    s(
        "thread.cap_permitted",
        T::Str,
        A::None,
        "`process_cap_permitted`, as capability names",
    ),
    s(
        "user.uid",
        T::Num,
        A::None,
        "state `proc_euid` (Falco tracks the effective uid)",
    ),
    s(
        "user.name",
        T::Str,
        A::None,
        "state `proc_euser_name` (the recorded host's passwd at record time)",
    ),
    s(
        "user.loginuid",
        T::Num,
        A::None,
        "state `proc_loginuid`; `-1` when unset",
    ),
    s("user.loginname", T::Str, A::None, "state `proc_login_name`"),
    s("group.gid", T::Num, A::None, "state `proc_gid`"),
    s(
        "group.name",
        T::Str,
        A::None,
        "state `proc_group_name` (the recorded host's group file at record time)",
    ),
    s(
        "container.id",
        T::Str,
        A::None,
        "state `proc_container`; `host` outside containers",
    ),
    s(
        "container.name",
        T::Str,
        A::None,
        "`host` outside containers; unknown inside (no runtime metadata)",
    ),
    s("fd.num", T::Num, A::None, "`fd`; `-1` when an open failed"),
    s(
        "fd.name",
        T::Str,
        A::None,
        "`file_path`, else the state's `fd_path` (`ip:port->ip:port` for sockets; also instead of the recorder's `socket:[INODE]`)",
    ),
    s(
        "fd.nameraw",
        T::Str,
        A::None,
        "`file_path_user` (the path as the process passed it), else as `fd.name`",
    ),
    s("fd.directory", T::Str, A::None, "state `fd_directory`"),
    s(
        "fd.filename",
        T::Str,
        A::None,
        "basename of `file_path`, else state `fd_filename`",
    ),
    s(
        "fd.type",
        T::Str,
        A::None,
        "`fd_type` (else state `fd_kind`; the recorder's `other` yields to the fd table's kind): `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`, `memfd`, …",
    ),
    s(
        "fd.typechar",
        T::Str,
        A::None,
        "from `fd.type`: `f` file, `d` directory, `4` ipv4, `6` ipv6, `u` unix, `p` pipe, `m` memfd, `e` event, `s` signalfd, `t` timerfd, `i` inotify, `b` bpf, `o` other",
    ),
    s(
        "fd.sockfamily",
        T::Str,
        A::None,
        "`ip` or `unix`, from `network_family`",
    ),
    s(
        "fd.l4proto",
        T::Str,
        A::None,
        "`network_transport` (else state `fd_transport`): `tcp`, `udp`, `raw`",
    ),
    s(
        "fd.lip",
        T::Ip,
        A::None,
        "`source_ip` (else state `fd_sip`): the local address",
    ),
    s(
        "fd.rip",
        T::Ip,
        A::None,
        "`destination_ip` (else state `fd_dip`): the remote address",
    ),
    s(
        "fd.lport",
        T::Num,
        A::None,
        "`source_port` (else state `fd_sport`)",
    ),
    s(
        "fd.rport",
        T::Num,
        A::None,
        "`destination_port` (else state `fd_dport`)",
    ),
    s(
        "fd.sip",
        T::Ip,
        A::None,
        "server address: the local one on `accept`/`accept4`/`listen`/`bind`, else the remote one",
    ),
    s(
        "fd.cip",
        T::Ip,
        A::None,
        "client address: the other side of `fd.sip`",
    ),
    s("fd.sport", T::Num, A::None, "server port (as `fd.sip`)"),
    s("fd.cport", T::Num, A::None, "client port (as `fd.cip`)"),
    s("fd.ip", T::Ip, A::None, "either address matches"),
    s("fd.port", T::Num, A::None, "either port matches"),
    s(
        "fd.net",
        T::Net,
        A::None,
        "either address lies in the network",
    ),
    s(
        "fd.snet",
        T::Net,
        A::None,
        "server address lies in the network",
    ),
    s(
        "fd.cnet",
        T::Net,
        A::None,
        "client address lies in the network",
    ),
    s(
        "fd.lnet",
        T::Net,
        A::None,
        "local address lies in the network",
    ),
    s(
        "fd.rnet",
        T::Net,
        A::None,
        "remote address lies in the network",
    ),
    s("fd.ino", T::Num, A::None, "`file_inode`"),
    s("fd.dev", T::Num, A::None, "`file_device`"),
];

/// Why a known Falco field cannot be evaluated on a recording.
pub fn unavailable_reason(name: &str) -> Option<&'static str> {
    if supported(name).is_some() {
        return None;
    }
    let plugin_prefixes = [
        ("k8s.", "Kubernetes metadata is not recorded"),
        ("k8smeta.", "Kubernetes metadata is not recorded"),
        (
            "container.",
            "container runtime metadata (images, mounts, privileges) is not recorded",
        ),
        ("ka.", "the k8s_audit plugin's events are not syscalls"),
        ("jevt.", "the json plugin's events are not syscalls"),
        ("ct.", "the cloudtrail plugin's events are not syscalls"),
        ("okta.", "the okta plugin's events are not syscalls"),
        ("github.", "the github plugin's events are not syscalls"),
        ("gcp.", "the gcpaudit plugin's events are not syscalls"),
    ];
    if KNOWN_LIBS_FIELDS.contains(&name) {
        return Some(match name {
            "proc.env" | "proc.aenv" => "process environments are not recorded",
            "fd.sip.name" | "fd.cip.name" | "fd.lip.name" | "fd.rip.name" => {
                "DNS names of addresses are not recorded"
            }
            "evt.buffer" | "evt.buflen" | "evt.rawarg" => {
                "I/O buffers and raw arguments are not recorded"
            }
            "user.homedir" | "user.shell" => {
                "only user and group names are captured from the recorded host"
            }
            n if n.starts_with("proc.exe_ino") || n == "proc.is_exe_writable" => {
                "executable inode times and modes are not recorded"
            }
            n if n.contains("layer") => {
                "only the executable's upper layer is recorded (`proc.is_exe_upper_layer`)"
            }
            _ => "this field is not recorded",
        });
    }
    plugin_prefixes
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .map(|(_, r)| *r)
}

/// Looks up a supported field.
pub fn supported(name: &str) -> Option<&'static Supported> {
    SUPPORTED.iter().find(|f| f.name == name)
}

/// Every field name that falcosecurity/libs defines for syscall events
/// (names only, used to tell "unknown field" from "not recorded").
pub const KNOWN_LIBS_FIELDS: &[&str] = &[
    "evt.abspath",
    "evt.arg",
    "evt.args",
    "evt.around",
    "evt.asynctype",
    "evt.buffer",
    "evt.buflen",
    "evt.buflen.file",
    "evt.buflen.file.in",
    "evt.buflen.file.out",
    "evt.buflen.in",
    "evt.buflen.net",
    "evt.buflen.net.in",
    "evt.buflen.net.out",
    "evt.buflen.out",
    "evt.category",
    "evt.count",
    "evt.count.error",
    "evt.count.error.file",
    "evt.count.error.memory",
    "evt.count.error.net",
    "evt.count.error.other",
    "evt.count.exit",
    "evt.count.procinfo",
    "evt.count.threadinfo",
    "evt.cpu",
    "evt.datetime",
    "evt.datetime.s",
    "evt.deltatime",
    "evt.deltatime.ns",
    "evt.deltatime.s",
    "evt.dir",
    "evt.failed",
    "evt.hostname",
    "evt.info",
    "evt.io_dir",
    "evt.is_async",
    "evt.is_io",
    "evt.is_io_read",
    "evt.is_io_write",
    "evt.is_open_create",
    "evt.is_open_exec",
    "evt.is_open_read",
    "evt.is_open_write",
    "evt.is_syslog",
    "evt.is_wait",
    "evt.latency",
    "evt.latency.human",
    "evt.latency.ns",
    "evt.latency.quantized",
    "evt.latency.s",
    "evt.num",
    "evt.outputtime",
    "evt.plugininfo",
    "evt.pluginname",
    "evt.rawarg",
    "evt.rawres",
    "evt.rawtime",
    "evt.rawtime.ns",
    "evt.rawtime.s",
    "evt.reltime",
    "evt.reltime.ns",
    "evt.reltime.s",
    "evt.res",
    "evt.source",
    "evt.time",
    "evt.time.iso8601",
    "evt.time.s",
    "evt.type",
    "evt.type.is",
    "evt.wait_latency",
    "fd.cip",
    "fd.cip.name",
    "fd.cnet",
    "fd.connected",
    "fd.containerdirectory",
    "fd.containername",
    "fd.cport",
    "fd.cproto",
    "fd.dev",
    "fd.dev.major",
    "fd.dev.minor",
    "fd.directory",
    "fd.filename",
    "fd.ino",
    "fd.ip",
    "fd.is_lower_layer",
    "fd.is_server",
    "fd.is_upper_layer",
    "fd.l4proto",
    "fd.lip",
    "fd.lip.name",
    "fd.lnet",
    "fd.lport",
    "fd.lproto",
    "fd.name",
    "fd.name_changed",
    "fd.nameraw",
    "fd.net",
    "fd.num",
    "fd.port",
    "fd.proto",
    "fd.rip",
    "fd.rip.name",
    "fd.rnet",
    "fd.rport",
    "fd.rproto",
    "fd.sip",
    "fd.sip.name",
    "fd.snet",
    "fd.sockfamily",
    "fd.sport",
    "fd.sproto",
    "fd.type",
    "fd.typechar",
    "fd.types",
    "fd.uid",
    "fdlist.cips",
    "fdlist.cports",
    "fdlist.names",
    "fdlist.nums",
    "fdlist.sips",
    "fdlist.sports",
    "fs.path.name",
    "fs.path.nameraw",
    "fs.path.source",
    "fs.path.sourceraw",
    "fs.path.target",
    "fs.path.targetraw",
    "group.gid",
    "group.name",
    "proc.aargs",
    "proc.acmdline",
    "proc.aenv",
    "proc.aexe",
    "proc.aexepath",
    "proc.aname",
    "proc.apid",
    "proc.args",
    "proc.cmdlenargs",
    "proc.cmdline",
    "proc.cmdnargs",
    "proc.cwd",
    "proc.duration",
    "proc.env",
    "proc.exe",
    "proc.exe_ino",
    "proc.exe_ino.ctime",
    "proc.exe_ino.ctime_duration_pidns_start",
    "proc.exe_ino.ctime_duration_proc_start",
    "proc.exe_ino.mtime",
    "proc.exeline",
    "proc.exepath",
    "proc.fdlimit",
    "proc.fdopencount",
    "proc.fdusage",
    "proc.is_exe_from_memfd",
    "proc.is_exe_lower_layer",
    "proc.is_exe_upper_layer",
    "proc.is_exe_writable",
    "proc.is_pgid_leader",
    "proc.is_sid_leader",
    "proc.is_vpgid_leader",
    "proc.loginshellid",
    "proc.name",
    "proc.nchilds",
    "proc.nthreads",
    "proc.pcmdline",
    "proc.pexe",
    "proc.pexepath",
    "proc.pgid",
    "proc.pgid.exe",
    "proc.pgid.exepath",
    "proc.pgid.name",
    "proc.pid",
    "proc.pid.ts",
    "proc.pidns_init_start_ts",
    "proc.pname",
    "proc.ppid",
    "proc.ppid.duration",
    "proc.ppid.ts",
    "proc.pvpid",
    "proc.sid",
    "proc.sid.exe",
    "proc.sid.exepath",
    "proc.sname",
    "proc.stderr.name",
    "proc.stderr.type",
    "proc.stdin.name",
    "proc.stdin.type",
    "proc.stdout.name",
    "proc.stdout.type",
    "proc.tty",
    "proc.vmrss",
    "proc.vmsize",
    "proc.vmswap",
    "proc.vpgid",
    "proc.vpgid.exe",
    "proc.vpgid.exepath",
    "proc.vpgid.name",
    "proc.vpid",
    "syscall.type",
    "thread.cap_effective",
    "thread.cap_inheritable",
    "thread.cap_permitted",
    "thread.cgroup",
    "thread.cgroups",
    "thread.cpu",
    "thread.cpu.system",
    "thread.cpu.user",
    "thread.exectime",
    "thread.ismain",
    "thread.nametid",
    "thread.pfmajor",
    "thread.pfminor",
    "thread.tid",
    "thread.totexectime",
    "thread.vmrss",
    "thread.vmrss.b",
    "thread.vmsize",
    "thread.vmsize.b",
    "thread.vtid",
    "user.homedir",
    "user.loginname",
    "user.loginuid",
    "user.name",
    "user.shell",
    "user.uid",
];

/// Normalises `evt.arg.NAME` to (`evt.arg`, `NAME`) and `evt.rawarg.NAME` likewise.
pub fn split_arg_field(name: &str, arg: Option<&str>) -> (String, Option<String>) {
    for base in ["evt.arg.", "evt.rawarg."] {
        if let Some(rest) = name.strip_prefix(base) {
            return (
                base.trim_end_matches('.').to_string(),
                Some(rest.to_string()),
            );
        }
    }
    (name.to_string(), arg.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_fields_are_libs_fields() {
        for f in SUPPORTED {
            assert!(
                KNOWN_LIBS_FIELDS.contains(&f.name) || f.name.starts_with("container."),
                "{} is not a libs field",
                f.name
            );
            assert!(unavailable_reason(f.name).is_none());
        }
    }
}
