//! [`Event`]: one row of the `events` table as a plain Rust value.
//!
//! The recorder's decoder produces these, the synthetic generator produces
//! these, and the replay engine reads them back. Field names and meanings are
//! those of [`crate::schema::COLUMNS`]; `None` is SQL `NULL`.

/// What kind of row an [`Event`] is (the `event_kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum EventKind {
    /// A syscall (entry and exit merged into one row).
    #[default]
    Syscall,
    /// A new process or thread (fork, vfork, clone, clone3).
    ProcessFork,
    /// A successful exec: the process now runs a new image.
    ProcessExec,
    /// A process (thread group) exited.
    ProcessExit,
    /// A process that was alive when recording started.
    ProcessSnapshot,
    /// Events were dropped: `lost_events` says how many.
    Loss,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 6] = [
        EventKind::Syscall,
        EventKind::ProcessFork,
        EventKind::ProcessExec,
        EventKind::ProcessExit,
        EventKind::ProcessSnapshot,
        EventKind::Loss,
    ];

    /// The value stored in the `event_kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Syscall => "syscall",
            EventKind::ProcessFork => "process_fork",
            EventKind::ProcessExec => "process_exec",
            EventKind::ProcessExit => "process_exit",
            EventKind::ProcessSnapshot => "process_snapshot",
            EventKind::Loss => "loss",
        }
    }

    /// Parses the `event_kind` column's value.
    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "syscall" => Some(EventKind::Syscall),
            "process_fork" => Some(EventKind::ProcessFork),
            "process_exec" => Some(EventKind::ProcessExec),
            "process_exit" => Some(EventKind::ProcessExit),
            "process_snapshot" => Some(EventKind::ProcessSnapshot),
            "loss" => Some(EventKind::Loss),
            _ => None,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the `events` table. See [`crate::schema::COLUMNS`] for the
/// meaning of every field; the names are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub time_ns: i64,
    pub seq: u64,
    pub host_name: String,
    pub boot_id: String,
    pub event_kind: EventKind,
    pub syscall: Option<String>,
    pub ret: Option<i64>,
    pub latency_ns: Option<i64>,
    pub process_pid: i32,
    pub thread_id: i32,
    pub process_parent_pid: Option<i32>,
    pub process_vpid: Option<i32>,
    pub process_session_id: Option<i32>,
    pub process_tty: Option<u32>,
    pub process_name: Option<String>,
    pub process_executable: Option<String>,
    pub process_args: Option<Vec<String>>,
    pub process_command_line: Option<String>,
    pub process_cwd: Option<String>,
    pub process_exit_code: Option<i32>,
    pub process_exit_signal: Option<i32>,
    pub process_cap_effective: Option<u64>,
    pub process_cap_permitted: Option<u64>,
    pub user_id: Option<u32>,
    pub user_name: Option<String>,
    pub group_id: Option<u32>,
    pub process_effective_user_id: Option<u32>,
    pub login_uid: Option<u32>,
    pub cgroup_id: Option<u64>,
    pub container_id: Option<String>,
    pub file_path: Option<String>,
    pub file_path_user: Option<String>,
    pub file_path_user_err: Option<i32>,
    pub file_path_truncated: Option<bool>,
    /// The executable is in overlayfs' upper layer (see the schema).
    pub process_exe_upper_layer: Option<bool>,
    pub file_inode: Option<u64>,
    pub file_device: Option<u64>,
    pub file_flags: Option<String>,
    pub file_mode: Option<u32>,
    pub file_target_path: Option<String>,
    pub file_target_path_user: Option<String>,
    pub fd: Option<i32>,
    pub fd_type: Option<String>,
    pub network_family: Option<String>,
    pub network_transport: Option<String>,
    pub source_ip: Option<String>,
    pub source_port: Option<u16>,
    pub destination_ip: Option<String>,
    pub destination_port: Option<u16>,
    pub destination_addr_user: Option<String>,
    pub toctou_mismatch: Option<bool>,
    pub kernel_source: Option<String>,
    pub syscall_args: Option<String>,
    pub lost_events: Option<u64>,
}
