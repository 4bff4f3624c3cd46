//! How Sigma's log sources and fields map onto a syscall recording.
//!
//! A rule's `logsource` selects one or more *views*: a filter on recording
//! rows (e.g. `process_exec` rows for `process_creation`) and a table that
//! says where each Sigma field comes from in such a row (an event column, the
//! replay state, one `argv` element, or a constant). An auditd rule looks at
//! a row as the audit records auditd would have written for it (`EXECVE`,
//! `SYSCALL`, `PATH`); the rule fires when any of them matches.

use super::rule::LogSource;

/// Where a Sigma field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Source {
    /// An event column (`format::schema::COLUMNS`).
    Column(&'static str),
    /// A replay state field, by its canonical name ([`crate::field::Field::parse`]:
    /// `parent_exe`, `parent_command_line`).
    State(&'static str),
    /// One element of `process_args` (`process_args[N]`).
    Arg(u16),
    /// A value fixed by the view (`Initiated: 'true'` for `connect`).
    Const(&'static str),
    /// Nothing in a syscall recording holds this field.
    Missing,
}

impl Source {
    /// Where the value comes from, for people: a column name, `parent_exe`
    /// (replay state), `process_args[N]`, a quoted constant, or `not recorded`.
    pub fn describe(&self) -> String {
        match self {
            Source::Column(c) => (*c).to_owned(),
            Source::State(s) => format!("{s} (replay state)"),
            Source::Arg(n) => format!("process_args[{n}]"),
            Source::Const(k) => format!("'{k}' (fixed)"),
            Source::Missing => "not recorded".to_owned(),
        }
    }
}

/// What a row must look like to belong to a view.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    /// Allowed `event_kind` values.
    pub kinds: &'static [&'static str],
    /// Allowed `syscall` values (`None`: any).
    pub syscalls: Option<&'static [&'static str]>,
    /// `file_flags` must contain this flag.
    pub flag: Option<&'static str>,
    /// This column must not be null.
    pub non_null: Option<&'static str>,
    /// `ret` must be non-negative (or `-EINPROGRESS` when `in_progress_ok`).
    pub success: bool,
    /// Accept `ret = -115` (`EINPROGRESS`, a non-blocking `connect`).
    pub in_progress_ok: bool,
    /// Allowed `network_family` values (`None`: any).
    pub families: Option<&'static [&'static str]>,
    /// Leave out the `syscall` row of a successful `execve`/`execveat`:
    /// the exec's `process_exec` row stands for it, so one exec is one record.
    pub not_exec_syscall: bool,
}

impl Filter {
    /// The rows, for people: `process_exec rows`, `successful openat, … with O_CREAT`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.success {
            s.push_str("successful ");
        }
        match self.syscalls {
            Some(sc) => s.push_str(&sc.join(", ")),
            None => {
                s.push_str(&self.kinds.join(", "));
                s.push_str(" rows");
            }
        }
        if self.in_progress_ok {
            s.push_str(" (or EINPROGRESS)");
        }
        if let Some(f) = self.families {
            s.push_str(&format!(" on {}", f.join("/")));
        }
        if let Some(flag) = self.flag {
            s.push_str(&format!(" with {flag}"));
        }
        if let Some(c) = self.non_null {
            s.push_str(&format!(" with a {c}"));
        }
        if self.not_exec_syscall {
            s.push_str(
                " except a successful execve or execveat (its process_exec row is the record)",
            );
        }
        s
    }
}

const ANY: Filter = Filter {
    kinds: &[],
    syscalls: None,
    flag: None,
    non_null: None,
    success: false,
    in_progress_ok: false,
    families: None,
    not_exec_syscall: false,
};

/// Syscalls whose success is a `process_exec` row.
pub const EXEC: &[&str] = &["execve", "execveat"];

/// A way of reading recording rows as Sigma events.
#[derive(Debug)]
pub struct View {
    /// Short name, e.g. `process_creation` or `auditd:EXECVE`.
    pub name: &'static str,
    /// Which rows.
    pub filter: Filter,
    fields: &'static [(&'static str, Source)],
    /// Where keyword searches (values without a field) look.
    pub keywords: Source,
    /// Whether the argument columns `a0`, `a1`, … are `process_args`.
    args: bool,
}

impl View {
    /// Where `field` comes from in this view.
    pub fn source(&self, field: &str) -> Source {
        if self.args
            && let Some(n) = field.strip_prefix('a')
            && let Ok(i) = n.parse::<u16>()
            && n == i.to_string()
        {
            return Source::Arg(i);
        }
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(Source::Missing, |(_, s)| *s)
    }

    /// Every field this view maps, in table order.
    pub fn fields(&self) -> &'static [(&'static str, Source)] {
        self.fields
    }

    /// Whether `a0`, `a1`, … read the elements of `process_args`.
    pub fn reads_args(&self) -> bool {
        self.args
    }
}

use Source::{Column as C, Const as K, Missing as M, State as S};

const OPEN: &[&str] = &["open", "openat", "openat2"];
/// Syscalls that give a file a new name (read through `file_target_path`).
const NEW_NAME: &[&str] = &[
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
];
const PROCESS: &[(&str, Source)] = &[
    ("Image", C("process_executable")),
    ("CommandLine", C("process_command_line")),
    ("ParentImage", S("parent_exe")),
    ("ParentCommandLine", S("parent_command_line")),
    ("OriginalFileName", M),
    ("User", C("user_name")),
    ("CurrentDirectory", C("process_cwd")),
    ("LogonId", C("login_uid")),
    ("ProcessId", C("process_pid")),
    ("ParentProcessId", C("process_parent_pid")),
];
const FILE: &[(&str, Source)] = &[
    ("TargetFilename", C("file_path")),
    ("Image", C("process_executable")),
    ("User", C("user_name")),
    ("ProcessId", C("process_pid")),
];
const FILE_TARGET: &[(&str, Source)] = &[
    ("TargetFilename", C("file_target_path")),
    ("Image", C("process_executable")),
    ("User", C("user_name")),
    ("ProcessId", C("process_pid")),
];
const TERMINATION: &[(&str, Source)] = &[
    ("Image", C("process_executable")),
    ("User", C("user_name")),
    ("ProcessId", C("process_pid")),
];
const CONNECT: &[(&str, Source)] = &[
    ("Image", C("process_executable")),
    ("User", C("user_name")),
    ("ProcessId", C("process_pid")),
    ("Initiated", K("true")),
    ("Protocol", C("network_transport")),
    ("SourceIp", C("source_ip")),
    ("SourcePort", C("source_port")),
    ("DestinationIp", C("destination_ip")),
    ("DestinationPort", C("destination_port")),
    ("DestinationHostname", M),
];
const ACCEPT: &[(&str, Source)] = &[
    ("Image", C("process_executable")),
    ("User", C("user_name")),
    ("ProcessId", C("process_pid")),
    ("Initiated", K("false")),
    ("Protocol", C("network_transport")),
    // Sysmon's convention: the peer that initiated is the source.
    ("SourceIp", C("destination_ip")),
    ("SourcePort", C("destination_port")),
    ("DestinationIp", C("source_ip")),
    ("DestinationPort", C("source_port")),
    ("DestinationHostname", M),
];
/// The fields of one auditd record type. Only SYSCALL records carry the
/// process (`syscall_fields!`); EXECVE has the arguments, PATH the name.
macro_rules! audit_fields {
    ($ty:expr; $($extra:tt)*) => {
        &[("type", K($ty)), $($extra)*]
    };
}
/// A SYSCALL record's fields: the process, then the syscall's own.
macro_rules! syscall_fields {
    ($($extra:tt)*) => {
        audit_fields!("SYSCALL";
            ("exe", C("process_executable")),
            ("comm", C("process_name")),
            ("pid", C("process_pid")),
            ("ppid", C("process_parent_pid")),
            ("uid", C("user_id")),
            ("euid", C("process_effective_user_id")),
            ("gid", C("group_id")),
            ("auid", C("login_uid")),
            // auditd's `ses` is the audit session id (`task->sessionid`,
            // set at login with `auid`), not the POSIX session of
            // `process_session_id`: not recorded.
            ("ses", M),
            ("key", M),
            $($extra)*
        )
    };
}
const INET: &[&str] = &["AF_INET", "AF_INET6"];

/// Every view, in a fixed order.
pub static VIEWS: &[View] = &[
    View {
        name: "process_creation",
        filter: Filter {
            kinds: &["process_exec"],
            ..ANY
        },
        fields: PROCESS,
        keywords: C("process_command_line"),
        args: false,
    },
    View {
        name: "file_event:create",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(OPEN),
            flag: Some("O_CREAT"),
            success: true,
            ..ANY
        },
        fields: FILE,
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "file_event:mknod",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["creat", "mknod", "mknodat"]),
            success: true,
            ..ANY
        },
        fields: FILE,
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "file_event:rename",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(NEW_NAME),
            non_null: Some("file_target_path"),
            success: true,
            ..ANY
        },
        fields: FILE_TARGET,
        keywords: C("file_target_path"),
        args: false,
    },
    View {
        name: "file_delete",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["unlink", "unlinkat"]),
            success: true,
            ..ANY
        },
        fields: FILE,
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "process_termination",
        filter: Filter {
            kinds: &["process_exit"],
            ..ANY
        },
        fields: TERMINATION,
        keywords: C("process_executable"),
        args: false,
    },
    View {
        name: "network_connection:connect",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["connect"]),
            success: true,
            in_progress_ok: true,
            families: Some(INET),
            ..ANY
        },
        fields: CONNECT,
        keywords: M,
        args: false,
    },
    View {
        name: "network_connection:accept",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["accept", "accept4"]),
            success: true,
            families: Some(INET),
            ..ANY
        },
        fields: ACCEPT,
        keywords: M,
        args: false,
    },
    View {
        name: "auditd:EXECVE",
        filter: Filter {
            kinds: &["process_exec"],
            ..ANY
        },
        fields: audit_fields!("EXECVE";),
        keywords: C("process_command_line"),
        args: true,
    },
    View {
        name: "auditd:SYSCALL",
        filter: Filter {
            kinds: &["syscall"],
            non_null: Some("syscall"),
            not_exec_syscall: true,
            ..ANY
        },
        fields: syscall_fields!(("SYSCALL", C("syscall")), ("exit", C("ret"))),
        keywords: M,
        args: false,
    },
    View {
        name: "auditd:SYSCALL:exec",
        filter: Filter {
            kinds: &["process_exec"],
            non_null: Some("syscall"),
            ..ANY
        },
        // A successful execve returns 0 (the row's `ret` may be null).
        fields: syscall_fields!(("SYSCALL", C("syscall")), ("exit", K("0"))),
        keywords: M,
        args: false,
    },
    View {
        name: "auditd:PATH:exec",
        filter: Filter {
            kinds: &["process_exec"],
            non_null: Some("process_executable"),
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("process_executable")), ("nametype", K("NORMAL")), ("inode", C("file_inode"))),
        keywords: C("process_executable"),
        args: false,
    },
    View {
        name: "auditd:PATH",
        filter: Filter {
            kinds: &["syscall"],
            non_null: Some("file_path"),
            not_exec_syscall: true,
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("file_path")), ("nametype", K("NORMAL")), ("inode", C("file_inode"))),
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "auditd:PATH:create",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(OPEN),
            flag: Some("O_CREAT"),
            non_null: Some("file_path"),
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("file_path")), ("nametype", K("CREATE")), ("inode", C("file_inode"))),
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "auditd:PATH:mkdir",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["creat", "mkdir", "mkdirat", "mknod", "mknodat"]),
            non_null: Some("file_path"),
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("file_path")), ("nametype", K("CREATE")), ("inode", C("file_inode"))),
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "auditd:PATH:delete",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(&["unlink", "unlinkat", "rmdir"]),
            non_null: Some("file_path"),
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("file_path")), ("nametype", K("DELETE")), ("inode", C("file_inode"))),
        keywords: C("file_path"),
        args: false,
    },
    View {
        name: "auditd:PATH:target",
        filter: Filter {
            kinds: &["syscall"],
            syscalls: Some(NEW_NAME),
            non_null: Some("file_target_path"),
            ..ANY
        },
        fields: audit_fields!("PATH"; ("name", C("file_target_path")), ("nametype", K("CREATE"))),
        keywords: C("file_target_path"),
        args: false,
    },
];

/// The auditd record types a recording can stand in for.
pub const AUDIT_TYPES: &[&str] = &["EXECVE", "SYSCALL", "PATH"];

/// Why a rule does not look at a recording at all.
pub fn not_applicable(ls: &LogSource) -> Option<String> {
    if let Some(p) = &ls.product
        && p != "linux"
    {
        return Some(format!("product `{p}` is not Linux"));
    }
    match (ls.category.as_deref(), ls.service.as_deref()) {
        (
            Some(
                "process_creation" | "file_event" | "file_delete" | "network_connection"
                | "process_termination",
            ),
            _,
        ) => None,
        (None, Some("auditd")) => None,
        (Some(c), _) => Some(format!("category `{c}` has no equivalent in a syscall recording")),
        (None, Some(s)) => Some(format!(
            "service `{s}` is a log file, not syscalls: not applicable to a syscall recording"
        )),
        (None, None) => Some(
            "no category or service: a keyword search over system logs, not applicable to a syscall recording".into(),
        ),
    }
}

/// The views of an applicable log source.
pub fn views_for(ls: &LogSource) -> Vec<&'static View> {
    let prefix = match (ls.category.as_deref(), ls.service.as_deref()) {
        (Some(c), _) => c,
        (None, Some("auditd")) => "auditd",
        _ => return Vec::new(),
    };
    VIEWS
        .iter()
        .filter(|v| v.name == prefix || v.name.starts_with(&format!("{prefix}:")))
        .collect()
}
