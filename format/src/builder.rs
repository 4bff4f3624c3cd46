//! [`EventBatchBuilder`]: Arrow batches of the `events` schema built row by
//! row, one typed builder per column.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanBuilder, ListBuilder, PrimitiveBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Int32Type, Int64Type, UInt16Type, UInt32Type, UInt64Type};

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
/// column (the recorder pushes rows as it decodes them).
#[derive(Debug)]
pub struct EventBatchBuilder {
    rows: usize,
    time: TimestampMicrosecondBuilder,
    time_ns: PrimitiveBuilder<Int64Type>,
    seq: PrimitiveBuilder<UInt64Type>,
    host_name: StringBuilder,
    boot_id: StringBuilder,
    event_kind: StringBuilder,
    syscall: StringBuilder,
    ret: PrimitiveBuilder<Int64Type>,
    latency_ns: PrimitiveBuilder<Int64Type>,
    process_pid: PrimitiveBuilder<Int32Type>,
    thread_id: PrimitiveBuilder<Int32Type>,
    process_parent_pid: PrimitiveBuilder<Int32Type>,
    process_vpid: PrimitiveBuilder<Int32Type>,
    process_session_id: PrimitiveBuilder<Int32Type>,
    process_tty: PrimitiveBuilder<UInt32Type>,
    process_name: StringBuilder,
    process_executable: StringBuilder,
    process_args: ListBuilder<StringBuilder>,
    process_command_line: StringBuilder,
    process_cwd: StringBuilder,
    process_exit_code: PrimitiveBuilder<Int32Type>,
    process_exit_signal: PrimitiveBuilder<Int32Type>,
    process_cap_effective: PrimitiveBuilder<UInt64Type>,
    process_cap_permitted: PrimitiveBuilder<UInt64Type>,
    user_id: PrimitiveBuilder<UInt32Type>,
    user_name: StringBuilder,
    group_id: PrimitiveBuilder<UInt32Type>,
    process_effective_user_id: PrimitiveBuilder<UInt32Type>,
    login_uid: PrimitiveBuilder<UInt32Type>,
    cgroup_id: PrimitiveBuilder<UInt64Type>,
    container_id: StringBuilder,
    file_path: StringBuilder,
    file_path_user: StringBuilder,
    file_path_user_err: PrimitiveBuilder<Int32Type>,
    file_inode: PrimitiveBuilder<UInt64Type>,
    file_device: PrimitiveBuilder<UInt64Type>,
    file_flags: StringBuilder,
    file_mode: PrimitiveBuilder<UInt32Type>,
    file_target_path: StringBuilder,
    file_target_path_user: StringBuilder,
    fd: PrimitiveBuilder<Int32Type>,
    fd_type: StringBuilder,
    network_family: StringBuilder,
    network_transport: StringBuilder,
    source_ip: StringBuilder,
    source_port: PrimitiveBuilder<UInt16Type>,
    destination_ip: StringBuilder,
    destination_port: PrimitiveBuilder<UInt16Type>,
    destination_addr_user: StringBuilder,
    toctou_mismatch: BooleanBuilder,
    kernel_source: StringBuilder,
    syscall_args: StringBuilder,
    lost_events: PrimitiveBuilder<UInt64Type>,
    file_path_truncated: BooleanBuilder,
    process_exe_upper_layer: BooleanBuilder,
}

impl EventBatchBuilder {
    /// An empty builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        EventBatchBuilder {
            rows: 0,
            time: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            time_ns: PrimitiveBuilder::with_capacity(rows),
            seq: PrimitiveBuilder::with_capacity(rows),
            host_name: StringBuilder::with_capacity(rows, rows * 16),
            boot_id: StringBuilder::with_capacity(rows, rows * 16),
            event_kind: StringBuilder::with_capacity(rows, rows * 8),
            syscall: StringBuilder::with_capacity(rows, rows * 8),
            ret: PrimitiveBuilder::with_capacity(rows),
            latency_ns: PrimitiveBuilder::with_capacity(rows),
            process_pid: PrimitiveBuilder::with_capacity(rows),
            thread_id: PrimitiveBuilder::with_capacity(rows),
            process_parent_pid: PrimitiveBuilder::with_capacity(rows),
            process_vpid: PrimitiveBuilder::with_capacity(rows),
            process_session_id: PrimitiveBuilder::with_capacity(rows),
            process_tty: PrimitiveBuilder::with_capacity(rows),
            process_name: StringBuilder::with_capacity(rows, rows * 8),
            process_executable: StringBuilder::with_capacity(rows, rows * 8),
            process_args: ListBuilder::with_capacity(StringBuilder::new(), rows),
            process_command_line: StringBuilder::with_capacity(rows, rows * 8),
            process_cwd: StringBuilder::with_capacity(rows, rows * 8),
            process_exit_code: PrimitiveBuilder::with_capacity(rows),
            process_exit_signal: PrimitiveBuilder::with_capacity(rows),
            process_cap_effective: PrimitiveBuilder::with_capacity(rows),
            process_cap_permitted: PrimitiveBuilder::with_capacity(rows),
            user_id: PrimitiveBuilder::with_capacity(rows),
            user_name: StringBuilder::with_capacity(rows, rows * 8),
            group_id: PrimitiveBuilder::with_capacity(rows),
            process_effective_user_id: PrimitiveBuilder::with_capacity(rows),
            login_uid: PrimitiveBuilder::with_capacity(rows),
            cgroup_id: PrimitiveBuilder::with_capacity(rows),
            container_id: StringBuilder::with_capacity(rows, rows * 8),
            file_path: StringBuilder::with_capacity(rows, rows * 8),
            file_path_user: StringBuilder::with_capacity(rows, rows * 8),
            file_path_user_err: PrimitiveBuilder::with_capacity(rows),
            file_inode: PrimitiveBuilder::with_capacity(rows),
            file_device: PrimitiveBuilder::with_capacity(rows),
            file_flags: StringBuilder::with_capacity(rows, rows * 8),
            file_mode: PrimitiveBuilder::with_capacity(rows),
            file_target_path: StringBuilder::with_capacity(rows, rows * 8),
            file_target_path_user: StringBuilder::with_capacity(rows, rows * 8),
            fd: PrimitiveBuilder::with_capacity(rows),
            fd_type: StringBuilder::with_capacity(rows, rows * 8),
            network_family: StringBuilder::with_capacity(rows, rows * 8),
            network_transport: StringBuilder::with_capacity(rows, rows * 8),
            source_ip: StringBuilder::with_capacity(rows, rows * 8),
            source_port: PrimitiveBuilder::with_capacity(rows),
            destination_ip: StringBuilder::with_capacity(rows, rows * 8),
            destination_port: PrimitiveBuilder::with_capacity(rows),
            destination_addr_user: StringBuilder::with_capacity(rows, rows * 8),
            toctou_mismatch: BooleanBuilder::with_capacity(rows),
            kernel_source: StringBuilder::with_capacity(rows, rows * 8),
            syscall_args: StringBuilder::with_capacity(rows, rows * 8),
            lost_events: PrimitiveBuilder::with_capacity(rows),
            file_path_truncated: BooleanBuilder::with_capacity(rows),
            process_exe_upper_layer: BooleanBuilder::with_capacity(rows),
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
        self.time.append_value(e.time_ns.div_euclid(1000));
        self.time_ns.append_value(e.time_ns);
        self.seq.append_value(e.seq);
        self.host_name.append_value(s.host_name);
        self.boot_id.append_value(s.boot_id);
        self.event_kind.append_value(e.event_kind.as_str());
        self.syscall.append_option(s.syscall);
        self.ret.append_option(e.ret);
        self.latency_ns.append_option(e.latency_ns);
        self.process_pid.append_value(e.process_pid);
        self.thread_id.append_value(e.thread_id);
        self.process_parent_pid.append_option(e.process_parent_pid);
        self.process_vpid.append_option(e.process_vpid);
        self.process_session_id.append_option(e.process_session_id);
        self.process_tty.append_option(e.process_tty);
        self.process_name.append_option(s.process_name);
        self.process_executable.append_option(s.process_executable);
        match s.process_args {
            Some(a) => {
                for s in a {
                    self.process_args.values().append_value(s);
                }
                self.process_args.append(true);
            }
            None => self.process_args.append(false),
        }
        self.process_command_line
            .append_option(s.process_command_line);
        self.process_cwd.append_option(s.process_cwd);
        self.process_exit_code.append_option(e.process_exit_code);
        self.process_exit_signal
            .append_option(e.process_exit_signal);
        self.process_cap_effective
            .append_option(e.process_cap_effective);
        self.process_cap_permitted
            .append_option(e.process_cap_permitted);
        self.user_id.append_option(e.user_id);
        self.user_name.append_option(s.user_name);
        self.group_id.append_option(e.group_id);
        self.process_effective_user_id
            .append_option(e.process_effective_user_id);
        self.login_uid.append_option(e.login_uid);
        self.cgroup_id.append_option(e.cgroup_id);
        self.container_id.append_option(s.container_id);
        self.file_path.append_option(e.file_path.as_deref());
        self.file_path_user
            .append_option(e.file_path_user.as_deref());
        self.file_path_user_err.append_option(e.file_path_user_err);
        self.file_inode.append_option(e.file_inode);
        self.file_device.append_option(e.file_device);
        self.file_flags.append_option(e.file_flags.as_deref());
        self.file_mode.append_option(e.file_mode);
        self.file_target_path
            .append_option(e.file_target_path.as_deref());
        self.file_target_path_user
            .append_option(e.file_target_path_user.as_deref());
        self.fd.append_option(e.fd);
        self.fd_type.append_option(e.fd_type.as_deref());
        self.network_family
            .append_option(e.network_family.as_deref());
        self.network_transport
            .append_option(e.network_transport.as_deref());
        self.source_ip.append_option(e.source_ip.as_deref());
        self.source_port.append_option(e.source_port);
        self.destination_ip
            .append_option(e.destination_ip.as_deref());
        self.destination_port.append_option(e.destination_port);
        self.destination_addr_user
            .append_option(e.destination_addr_user.as_deref());
        self.toctou_mismatch.append_option(e.toctou_mismatch);
        self.kernel_source.append_option(e.kernel_source.as_deref());
        self.syscall_args.append_option(e.syscall_args.as_deref());
        self.lost_events.append_option(e.lost_events);
        self.file_path_truncated
            .append_option(e.file_path_truncated);
        self.process_exe_upper_layer
            .append_option(e.process_exe_upper_layer);
    }

    /// The rows pushed so far as one batch; the builder is empty afterwards,
    /// with room for as many rows and string bytes as this batch had (Arrow's
    /// builders hand their buffers to the arrays and start again from none,
    /// so the next batch would otherwise regrow every buffer by doubling,
    /// copying it each time).
    pub fn finish(&mut self) -> RecordBatch {
        let rows = self.rows;
        let batch = self.finish_columns();
        self.reserve_like(rows, &batch);
        batch
    }

    /// Makes room for `rows` rows and, in every string column, for the
    /// string bytes of the same column of `batch`.
    fn reserve_like(&mut self, rows: usize, batch: &RecordBatch) {
        let bytes = |i: usize| {
            batch
                .column(i)
                .as_string_opt::<i32>()
                .map_or(0, |a| a.values().len())
        };
        macro_rules! prim {
            ($($f:ident),*) => { $( self.$f = PrimitiveBuilder::with_capacity(rows); )* };
        }
        macro_rules! strs {
            ($($f:ident),*) => { $(
                let i = column_index(stringify!($f)).expect("a column of COLUMNS");
                self.$f = StringBuilder::with_capacity(rows, bytes(i));
            )* };
        }
        self.time = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
        prim!(
            time_ns,
            seq,
            ret,
            latency_ns,
            process_pid,
            thread_id,
            process_parent_pid,
            process_vpid,
            process_session_id,
            process_tty,
            process_exit_code,
            process_exit_signal,
            process_cap_effective,
            process_cap_permitted,
            user_id,
            group_id,
            process_effective_user_id,
            login_uid,
            cgroup_id,
            file_path_user_err,
            file_inode,
            file_device,
            file_mode,
            fd,
            source_port,
            destination_port,
            lost_events
        );
        strs!(
            host_name,
            boot_id,
            event_kind,
            syscall,
            process_name,
            process_executable,
            process_command_line,
            process_cwd,
            user_name,
            container_id,
            file_path,
            file_path_user,
            file_flags,
            file_target_path,
            file_target_path_user,
            fd_type,
            network_family,
            network_transport,
            source_ip,
            destination_ip,
            destination_addr_user,
            kernel_source,
            syscall_args
        );
        let args = batch
            .column(column_index("process_args").expect("a column of COLUMNS"))
            .as_list_opt::<i32>()
            .map_or((0, 0), |l| {
                let v = l.values();
                (
                    v.len(),
                    v.as_string_opt::<i32>().map_or(0, |s| s.values().len()),
                )
            });
        self.process_args =
            ListBuilder::with_capacity(StringBuilder::with_capacity(args.0, args.1), rows);
        self.toctou_mismatch = BooleanBuilder::with_capacity(rows);
        self.file_path_truncated = BooleanBuilder::with_capacity(rows);
        self.process_exe_upper_layer = BooleanBuilder::with_capacity(rows);
    }

    fn finish_columns(&mut self) -> RecordBatch {
        self.rows = 0;
        // The order below is the order of `COLUMNS`; `try_new` checks it.
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
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
