//! The Arrow schema of the `events` table, format version 1.
//!
//! [`COLUMNS`] is the single source of truth: the Arrow schema, the book's
//! column reference and the schema snapshot test are all derived from it. Any
//! change to it must bump [`FORMAT_VERSION`].

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The version of the recording format this crate writes and reads.
///
/// 1: the first. 2: `file_path_truncated` (files of version 1 read with it
/// null). 3: `process_exe_upper_layer`. Columns are only ever appended: see
/// [`added_in`].
pub const FORMAT_VERSION: u32 = 3;

/// The format version that added column `name` (1 for the original ones).
/// A file of an older version may lack these trailing columns; readers
/// treat them as null.
pub fn added_in(name: &str) -> u32 {
    match name {
        "file_path_truncated" => 2,
        "process_exe_upper_layer" => 3,
        _ => 1,
    }
}

/// The logical type of a column, mapped to one Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `Timestamp(Microsecond, "UTC")`.
    TimestampMicros,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `Boolean`.
    Boolean,
    /// `Utf8`, few distinct values (dictionary-encoded in Parquet).
    Utf8Dict,
    /// `Utf8`, many distinct values.
    Utf8,
    /// `List<Utf8>`.
    Utf8List,
}

impl ColumnType {
    /// The Arrow data type of this column type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::TimestampMicros => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnType::Int16 => DataType::Int16,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::UInt16 => DataType::UInt16,
            ColumnType::UInt32 => DataType::UInt32,
            ColumnType::UInt64 => DataType::UInt64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Utf8Dict | ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Utf8List => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
        }
    }

    /// The SQL-ish type name shown in the book and in `\d events`.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::TimestampMicros => "TIMESTAMP(µs, UTC)",
            ColumnType::Int16 => "SMALLINT",
            ColumnType::Int32 => "INT",
            ColumnType::Int64 => "BIGINT",
            ColumnType::UInt16 => "USMALLINT",
            ColumnType::UInt32 => "UINT",
            ColumnType::UInt64 => "UBIGINT",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Utf8Dict | ColumnType::Utf8 => "VARCHAR",
            ColumnType::Utf8List => "VARCHAR[]",
        }
    }
}

/// One column of the `events` table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// snake_case name, after ECS / OpenTelemetry conventions.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// One-line meaning, as printed in the book.
    pub doc: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

use ColumnType as T;

/// Every column of the `events` table, in schema order.
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    col("time", T::TimestampMicros, false, "Wall-clock time of the event (syscall entry), UTC, microseconds."),
    col("time_ns", T::Int64, false, "The same instant in nanoseconds since the Unix epoch."),
    col("seq", T::UInt64, false, "Total order of events within one recording, from 0."),
    col("host_name", T::Utf8Dict, false, "Host name of the recorded machine."),
    col("boot_id", T::Utf8Dict, false, "Kernel boot id (`/proc/sys/kernel/random/boot_id`) of the recorded boot."),
    col("event_kind", T::Utf8Dict, false, "`syscall`, `process_fork`, `process_exec`, `process_exit`, `process_snapshot` (alive when recording started) or `loss`."),
    col("syscall", T::Utf8Dict, true, "Syscall name (`openat`, `execve`, `connect`, …); set on `syscall` rows and on lifecycle rows caused by one."),
    col("ret", T::Int64, true, "Return value; negative values are `-errno`."),
    col("latency_ns", T::Int64, true, "Time from syscall entry to exit, nanoseconds."),
    col("process_pid", T::Int32, false, "Process id (thread-group id) as seen from the initial pid namespace."),
    col("thread_id", T::Int32, false, "Thread id as seen from the initial pid namespace."),
    col("process_parent_pid", T::Int32, true, "Parent process id."),
    col("process_vpid", T::Int32, true, "Process id inside the process's own pid namespace (differs in containers: a `CLONE_NEWPID` child is 1), read by the kernel at fork, exec and setsid."),
    col("process_session_id", T::Int32, true, "POSIX session id (`setsid`), as `/proc` shows it, read by the kernel at fork, exec and setsid."),
    col("process_tty", T::UInt32, true, "Controlling terminal, as `tty_nr` in `/proc/PID/stat` (e.g. 34816 for /dev/pts/0), 0 when none; read by the kernel at fork, exec and setsid."),
    col("process_name", T::Utf8Dict, true, "Command name (`comm`, at most 15 bytes)."),
    col("process_executable", T::Utf8Dict, true, "Absolute path of the executable the kernel runs for this process."),
    col("process_args", T::Utf8List, true, "argv, read from the new image at exec (the kernel's copy); its first 767 bytes, a longer one is marked in `syscall_args`."),
    col("process_command_line", T::Utf8, true, "argv joined with spaces."),
    col("process_cwd", T::Utf8Dict, true, "Current working directory."),
    col("process_exit_code", T::Int32, true, "Exit status on `process_exit` rows (null when killed by a signal)."),
    col("process_exit_signal", T::Int32, true, "Terminating signal on `process_exit` rows (null on a normal exit)."),
    col("process_cap_effective", T::UInt64, true, "Effective capability set (bit mask)."),
    col("process_cap_permitted", T::UInt64, true, "Permitted capability set (bit mask)."),
    col("user_id", T::UInt32, true, "Real user id."),
    col("user_name", T::Utf8Dict, true, "Name of `user_id` in the recorded host's passwd at record time."),
    col("group_id", T::UInt32, true, "Real group id."),
    col("process_effective_user_id", T::UInt32, true, "Effective user id."),
    col("login_uid", T::UInt32, true, "Audit login uid; null when unset (4294967295)."),
    col("cgroup_id", T::UInt64, true, "cgroup v2 id of the task."),
    col("container_id", T::Utf8Dict, true, "Container id (64 hex) when the process lives in a container cgroup."),
    col("file_path", T::Utf8, true, "Kernel-authoritative path: the object the kernel really opened, executed, created or changed."),
    col("file_path_user", T::Utf8, true, "The path as user memory held it at syscall entry (what a naive monitor logs)."),
    col("file_path_user_err", T::Int32, true, "0, or the negative errno of the failed user-memory read (e.g. -14, EFAULT)."),
    col("file_inode", T::UInt64, true, "Inode number of the object the kernel used."),
    col("file_device", T::UInt64, true, "Device number (`st_dev`) of the object the kernel used."),
    col("file_flags", T::Utf8Dict, true, "Open flags, symbolic (`O_WRONLY|O_CREAT|O_TRUNC`)."),
    col("file_mode", T::UInt32, true, "Mode argument (open/creat/mkdir/chmod/mknod), numeric."),
    col("file_target_path", T::Utf8, true, "Second path of rename/link/symlink (the new name), kernel view."),
    col("file_target_path_user", T::Utf8, true, "Second path as user memory held it at syscall entry."),
    col("fd", T::Int32, true, "File descriptor the syscall used or returned (on `accept`/`accept4` the listening socket, `ret` being the new one; null on `socket`, see `ret`)."),
    col("fd_type", T::Utf8Dict, true, "What `fd` refers to: `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`, `memfd`, `event`, `signalfd`, `timerfd`, `inotify`, `bpf`, `userfaultfd`, `other`."),
    col("network_family", T::Utf8Dict, true, "`AF_INET`, `AF_INET6`, `AF_UNIX`, …"),
    col("network_transport", T::Utf8Dict, true, "`tcp`, `udp`, `raw` or `unix`."),
    col("source_ip", T::Utf8, true, "Local address of the socket."),
    col("source_port", T::UInt16, true, "Local port of the socket."),
    col("destination_ip", T::Utf8, true, "Kernel-authoritative remote address (or unix socket path)."),
    col("destination_port", T::UInt16, true, "Kernel-authoritative remote port."),
    col("destination_addr_user", T::Utf8, true, "The address as user memory held it at syscall entry (`ip:port`)."),
    col("toctou_mismatch", T::Boolean, true, "True when the user-memory value names something other than what the kernel used; null where no kernel value exists."),
    col("kernel_source", T::Utf8Dict, true, "Hook that supplied the authoritative value (`sys_exit_fd`, `sched_process_exec`, `cgroup_connect4`, …)."),
    col("syscall_args", T::Utf8, true, "Other arguments, Falco style: `name=value name=value`; on a `process_exec` row whose argv was cut, `argv_bytes=N argv_recorded=M`."),
    col("lost_events", T::UInt64, true, "On `loss` rows: how many events were dropped in this window."),
    col("file_path_truncated", T::Boolean, true, "True when a path of this row did not fit the recorder's buffer and is cut short: a user-memory path over 255 bytes, or a kernel path whose walk to the root did not fit (then `file_path` starts with `...`); null on rows without a path, and in files of format version 1."),
    col("process_exe_upper_layer", T::Boolean, true, "On `process_exec` and successful `execve`/`execveat` rows: true when the executable is on overlayfs and was created in its upper (writable) layer — a binary dropped into a container after it started, not part of its image; false when it is on overlayfs but from a lower layer (copied-up files included); null when it is not on overlayfs, and in files of format version 1 or 2."),
];

/// The Arrow schema of the `events` table (cached; cheap to clone).
pub fn events_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> = COLUMNS
                .iter()
                .map(|c| Field::new(c.name, c.ty.data_type(), c.nullable))
                .collect();
            let mut metadata = std::collections::HashMap::new();
            metadata.insert(
                "hindsight.format_version".to_string(),
                FORMAT_VERSION.to_string(),
            );
            Arc::new(Schema::new_with_metadata(fields, metadata))
        })
        .clone()
}

/// `schema` with every `Utf8` field read as `Utf8View` (metadata kept).
///
/// Readers that scan many rows use views: strings decoded from dictionary
/// pages point into the decompressed page instead of being copied, and
/// comparisons see an inline prefix first.
pub fn with_string_views(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Index of a column by name.
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in COLUMNS {
            assert!(seen.insert(c.name), "duplicate column {}", c.name);
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{} is not snake_case",
                c.name
            );
            assert!(!c.doc.is_empty());
        }
    }

    #[test]
    fn schema_snapshot() {
        // Any change here is a format change: bump FORMAT_VERSION with it.
        let rendered: Vec<String> = events_schema()
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "{} {:?}{}",
                    f.name(),
                    f.data_type(),
                    if f.is_nullable() { "" } else { " NOT NULL" }
                )
            })
            .collect();
        insta::assert_snapshot!(format!(
            "format_version {FORMAT_VERSION}\n{}",
            rendered.join("\n")
        ));
    }
}
