//! [`EventBatchBuilder`]: Arrow batches of the `events` schema built row by
//! row, one column accumulator per column (`crate::columns`).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{
    DataType, Int32Type, Int64Type, TimestampMicrosecondType, UInt16Type, UInt32Type, UInt64Type,
};

use crate::columns::{BoolCol, PrimCol, StrCol, StrListCol};
use crate::event::Event;
use crate::schema::{column_index, events_schema};

/// The string values of a row that are the same on many rows (the host, the
/// syscall, the process context). The recorder lends them to
/// [`EventBatchBuilder::push_with`] from its process table instead of
/// copying them into every [`Event`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedValues<'a> {
    /// `host_name`.
    pub host_name: &'a str,
    /// `boot_id`.
    pub boot_id: &'a str,
    /// `syscall`.
    pub syscall: Option<&'a str>,
    /// `process_name`.
    pub process_name: Option<&'a str>,
    /// `process_executable`.
    pub process_executable: Option<&'a str>,
    /// `process_args`.
    pub process_args: Option<&'a [String]>,
    /// `process_command_line`.
    pub process_command_line: Option<&'a str>,
    /// `process_cwd`.
    pub process_cwd: Option<&'a str>,
    /// `user_name`.
    pub user_name: Option<&'a str>,
    /// `container_id`.
    pub container_id: Option<&'a str>,
}

impl<'a> SharedValues<'a> {
    /// The values `e` holds itself.
    pub fn of(e: &'a Event) -> Self {
        SharedValues {
            host_name: &e.host_name,
            boot_id: &e.boot_id,
            syscall: e.syscall.as_deref(),
            process_name: e.process_name.as_deref(),
            process_executable: e.process_executable.as_deref(),
            process_args: e.process_args.as_deref(),
            process_command_line: e.process_command_line.as_deref(),
            process_cwd: e.process_cwd.as_deref(),
            user_name: e.user_name.as_deref(),
            container_id: e.container_id.as_deref(),
        }
    }

    /// Copies the values into `e` (the inverse of [`Self::of`]).
    pub fn fill(&self, e: &mut Event) {
        let own = |v: Option<&str>| v.map(str::to_owned);
        e.host_name = self.host_name.to_owned();
        e.boot_id = self.boot_id.to_owned();
        e.syscall = own(self.syscall);
        e.process_name = own(self.process_name);
        e.process_executable = own(self.process_executable);
        e.process_args = self.process_args.map(<[String]>::to_vec);
        e.process_command_line = own(self.process_command_line);
        e.process_cwd = own(self.process_cwd);
        e.user_name = own(self.user_name);
        e.container_id = own(self.container_id);
    }
}

/// Builds a [`RecordBatch`] of the `events` schema row by row: each
/// [`Event`] is read once, while it is still in cache, instead of once per
/// column (the recorder pushes rows as it decodes them). The columns are
/// the plain accumulators of [`crate::columns`].
#[derive(Debug)]
pub struct EventBatchBuilder {
    rows: usize,
    time: PrimCol<TimestampMicrosecondType>,
    time_ns: PrimCol<Int64Type>,
    seq: PrimCol<UInt64Type>,
    host_name: StrCol,
    boot_id: StrCol,
    event_kind: StrCol,
    syscall: StrCol,
    ret: PrimCol<Int64Type>,
    latency_ns: PrimCol<Int64Type>,
    process_pid: PrimCol<Int32Type>,
    thread_id: PrimCol<Int32Type>,
    process_parent_pid: PrimCol<Int32Type>,
    process_vpid: PrimCol<Int32Type>,
    process_session_id: PrimCol<Int32Type>,
    process_tty: PrimCol<UInt32Type>,
    process_name: StrCol,
    process_executable: StrCol,
    process_args: StrListCol,
    process_command_line: StrCol,
    process_cwd: StrCol,
    process_exit_code: PrimCol<Int32Type>,
    process_exit_signal: PrimCol<Int32Type>,
    process_cap_effective: PrimCol<UInt64Type>,
    process_cap_permitted: PrimCol<UInt64Type>,
    user_id: PrimCol<UInt32Type>,
    user_name: StrCol,
    group_id: PrimCol<UInt32Type>,
    process_effective_user_id: PrimCol<UInt32Type>,
    login_uid: PrimCol<UInt32Type>,
    cgroup_id: PrimCol<UInt64Type>,
    container_id: StrCol,
    file_path: StrCol,
    file_path_user: StrCol,
    file_path_user_err: PrimCol<Int32Type>,
    file_inode: PrimCol<UInt64Type>,
    file_device: PrimCol<UInt64Type>,
    file_flags: StrCol,
    file_mode: PrimCol<UInt32Type>,
    file_target_path: StrCol,
    file_target_path_user: StrCol,
    fd: PrimCol<Int32Type>,
    fd_type: StrCol,
    network_family: StrCol,
    network_transport: StrCol,
    source_ip: StrCol,
    source_port: PrimCol<UInt16Type>,
    destination_ip: StrCol,
    destination_port: PrimCol<UInt16Type>,
    destination_addr_user: StrCol,
    toctou_mismatch: BoolCol,
    kernel_source: StrCol,
    syscall_args: StrCol,
    lost_events: PrimCol<UInt64Type>,
    file_path_truncated: BoolCol,
    process_exe_upper_layer: BoolCol,
}

impl EventBatchBuilder {
    /// An empty builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        EventBatchBuilder {
            rows: 0,
            time: PrimCol::with_capacity(rows),
            time_ns: PrimCol::with_capacity(rows),
            seq: PrimCol::with_capacity(rows),
            host_name: StrCol::with_capacity(rows, rows * 16),
            boot_id: StrCol::with_capacity(rows, rows * 16),
            event_kind: StrCol::with_capacity(rows, rows * 8),
            syscall: StrCol::with_capacity(rows, rows * 8),
            ret: PrimCol::with_capacity(rows),
            latency_ns: PrimCol::with_capacity(rows),
            process_pid: PrimCol::with_capacity(rows),
            thread_id: PrimCol::with_capacity(rows),
            process_parent_pid: PrimCol::with_capacity(rows),
            process_vpid: PrimCol::with_capacity(rows),
            process_session_id: PrimCol::with_capacity(rows),
            process_tty: PrimCol::with_capacity(rows),
            process_name: StrCol::with_capacity(rows, rows * 8),
            process_executable: StrCol::with_capacity(rows, rows * 8),
            process_args: StrListCol::with_capacity(rows, &column_type("process_args")),
            process_command_line: StrCol::with_capacity(rows, rows * 8),
            process_cwd: StrCol::with_capacity(rows, rows * 8),
            process_exit_code: PrimCol::with_capacity(rows),
            process_exit_signal: PrimCol::with_capacity(rows),
            process_cap_effective: PrimCol::with_capacity(rows),
            process_cap_permitted: PrimCol::with_capacity(rows),
            user_id: PrimCol::with_capacity(rows),
            user_name: StrCol::with_capacity(rows, rows * 8),
            group_id: PrimCol::with_capacity(rows),
            process_effective_user_id: PrimCol::with_capacity(rows),
            login_uid: PrimCol::with_capacity(rows),
            cgroup_id: PrimCol::with_capacity(rows),
            container_id: StrCol::with_capacity(rows, rows * 8),
            file_path: StrCol::with_capacity(rows, rows * 8),
            file_path_user: StrCol::with_capacity(rows, rows * 8),
            file_path_user_err: PrimCol::with_capacity(rows),
            file_inode: PrimCol::with_capacity(rows),
            file_device: PrimCol::with_capacity(rows),
            file_flags: StrCol::with_capacity(rows, rows * 8),
            file_mode: PrimCol::with_capacity(rows),
            file_target_path: StrCol::with_capacity(rows, rows * 8),
            file_target_path_user: StrCol::with_capacity(rows, rows * 8),
            fd: PrimCol::with_capacity(rows),
            fd_type: StrCol::with_capacity(rows, rows * 8),
            network_family: StrCol::with_capacity(rows, rows * 8),
            network_transport: StrCol::with_capacity(rows, rows * 8),
            source_ip: StrCol::with_capacity(rows, rows * 8),
            source_port: PrimCol::with_capacity(rows),
            destination_ip: StrCol::with_capacity(rows, rows * 8),
            destination_port: PrimCol::with_capacity(rows),
            destination_addr_user: StrCol::with_capacity(rows, rows * 8),
            toctou_mismatch: BoolCol::with_capacity(rows),
            kernel_source: StrCol::with_capacity(rows, rows * 8),
            syscall_args: StrCol::with_capacity(rows, rows * 8),
            lost_events: PrimCol::with_capacity(rows),
            file_path_truncated: BoolCol::with_capacity(rows),
            process_exe_upper_layer: BoolCol::with_capacity(rows),
        }
    }

    /// Rows pushed since the last [`Self::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was pushed since the last [`Self::finish`].
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row.
    pub fn push(&mut self, e: &Event) {
        self.push_with(e, &SharedValues::of(e));
    }

    /// Appends one row whose [`SharedValues`] columns come from `s` (the
    /// same fields of `e` are not read).
    pub fn push_with(&mut self, e: &Event, s: &SharedValues<'_>) {
        self.rows += 1;
        self.time.push(e.time_ns.div_euclid(1000));
        self.time_ns.push(e.time_ns);
        self.seq.push(e.seq);
        self.host_name.push(s.host_name);
        self.boot_id.push(s.boot_id);
        self.event_kind.push(e.event_kind.as_str());
        self.syscall.push_opt(s.syscall);
        self.ret.push_opt(e.ret);
        self.latency_ns.push_opt(e.latency_ns);
        self.process_pid.push(e.process_pid);
        self.thread_id.push(e.thread_id);
        self.process_parent_pid.push_opt(e.process_parent_pid);
        self.process_vpid.push_opt(e.process_vpid);
        self.process_session_id.push_opt(e.process_session_id);
        self.process_tty.push_opt(e.process_tty);
        self.process_name.push_opt(s.process_name);
        self.process_executable.push_opt(s.process_executable);
        self.process_args.push_opt(s.process_args);
        self.process_command_line.push_opt(s.process_command_line);
        self.process_cwd.push_opt(s.process_cwd);
        self.process_exit_code.push_opt(e.process_exit_code);
        self.process_exit_signal.push_opt(e.process_exit_signal);
        self.process_cap_effective.push_opt(e.process_cap_effective);
        self.process_cap_permitted.push_opt(e.process_cap_permitted);
        self.user_id.push_opt(e.user_id);
        self.user_name.push_opt(s.user_name);
        self.group_id.push_opt(e.group_id);
        self.process_effective_user_id
            .push_opt(e.process_effective_user_id);
        self.login_uid.push_opt(e.login_uid);
        self.cgroup_id.push_opt(e.cgroup_id);
        self.container_id.push_opt(s.container_id);
        self.file_path.push_opt(e.file_path.as_deref());
        self.file_path_user.push_opt(e.file_path_user.as_deref());
        self.file_path_user_err.push_opt(e.file_path_user_err);
        self.file_inode.push_opt(e.file_inode);
        self.file_device.push_opt(e.file_device);
        self.file_flags.push_opt(e.file_flags.as_deref());
        self.file_mode.push_opt(e.file_mode);
        self.file_target_path
            .push_opt(e.file_target_path.as_deref());
        self.file_target_path_user
            .push_opt(e.file_target_path_user.as_deref());
        self.fd.push_opt(e.fd);
        self.fd_type.push_opt(e.fd_type.as_deref());
        self.network_family.push_opt(e.network_family.as_deref());
        self.network_transport
            .push_opt(e.network_transport.as_deref());
        self.source_ip.push_opt(e.source_ip.as_deref());
        self.source_port.push_opt(e.source_port);
        self.destination_ip.push_opt(e.destination_ip.as_deref());
        self.destination_port.push_opt(e.destination_port);
        self.destination_addr_user
            .push_opt(e.destination_addr_user.as_deref());
        self.toctou_mismatch.push_opt(e.toctou_mismatch);
        self.kernel_source.push_opt(e.kernel_source.as_deref());
        self.syscall_args.push_opt(e.syscall_args.as_deref());
        self.lost_events.push_opt(e.lost_events);
        self.file_path_truncated.push_opt(e.file_path_truncated);
        self.process_exe_upper_layer
            .push_opt(e.process_exe_upper_layer);
    }

    /// The rows pushed so far as one batch; the builder is empty afterwards,
    /// each column that had values with room for as many rows and string
    /// bytes as this batch had (the arrays take the columns' vectors without
    /// a copy, so the next batch starts from new ones, sized so that they
    /// need not regrow; a column of only nulls keeps its vectors).
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        // The order below is the order of `COLUMNS`; `try_new` checks it.
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish().with_timezone("UTC")),
            Arc::new(self.time_ns.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.host_name.finish()),
            Arc::new(self.boot_id.finish()),
            Arc::new(self.event_kind.finish()),
            Arc::new(self.syscall.finish()),
            Arc::new(self.ret.finish()),
            Arc::new(self.latency_ns.finish()),
            Arc::new(self.process_pid.finish()),
            Arc::new(self.thread_id.finish()),
            Arc::new(self.process_parent_pid.finish()),
            Arc::new(self.process_vpid.finish()),
            Arc::new(self.process_session_id.finish()),
            Arc::new(self.process_tty.finish()),
            Arc::new(self.process_name.finish()),
            Arc::new(self.process_executable.finish()),
            Arc::new(self.process_args.finish()),
            Arc::new(self.process_command_line.finish()),
            Arc::new(self.process_cwd.finish()),
            Arc::new(self.process_exit_code.finish()),
            Arc::new(self.process_exit_signal.finish()),
            Arc::new(self.process_cap_effective.finish()),
            Arc::new(self.process_cap_permitted.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.user_name.finish()),
            Arc::new(self.group_id.finish()),
            Arc::new(self.process_effective_user_id.finish()),
            Arc::new(self.login_uid.finish()),
            Arc::new(self.cgroup_id.finish()),
            Arc::new(self.container_id.finish()),
            Arc::new(self.file_path.finish()),
            Arc::new(self.file_path_user.finish()),
            Arc::new(self.file_path_user_err.finish()),
            Arc::new(self.file_inode.finish()),
            Arc::new(self.file_device.finish()),
            Arc::new(self.file_flags.finish()),
            Arc::new(self.file_mode.finish()),
            Arc::new(self.file_target_path.finish()),
            Arc::new(self.file_target_path_user.finish()),
            Arc::new(self.fd.finish()),
            Arc::new(self.fd_type.finish()),
            Arc::new(self.network_family.finish()),
            Arc::new(self.network_transport.finish()),
            Arc::new(self.source_ip.finish()),
            Arc::new(self.source_port.finish()),
            Arc::new(self.destination_ip.finish()),
            Arc::new(self.destination_port.finish()),
            Arc::new(self.destination_addr_user.finish()),
            Arc::new(self.toctou_mismatch.finish()),
            Arc::new(self.kernel_source.finish()),
            Arc::new(self.syscall_args.finish()),
            Arc::new(self.lost_events.finish()),
            Arc::new(self.file_path_truncated.finish()),
            Arc::new(self.process_exe_upper_layer.finish()),
        ];
        RecordBatch::try_new(events_schema(), columns)
            .expect("EventBatchBuilder builds the columns of COLUMNS in order")
    }
}

/// The Arrow type of the `events` column `name`.
fn column_type(name: &str) -> DataType {
    let i = column_index(name).expect("a column of COLUMNS");
    events_schema().field(i).data_type().clone()
}
