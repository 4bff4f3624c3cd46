//! Conversion between [`Event`] rows and Arrow [`RecordBatch`]es of the
//! `events` schema, and [`EventColumns`]: typed, zero-copy access to a batch's
//! columns for code that wants speed rather than `Event` values.
//!
//! Rows become a batch through [`EventBatchBuilder`] (one pass over the
//! rows); a batch becomes rows column by column (no per-row schema lookups).

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, GenericListArray, Int32Array, Int64Array,
    LargeStringArray, PrimitiveArray, RecordBatch, StringArray, StringViewArray, UInt16Array,
    UInt32Array, UInt64Array,
};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int32Type, Int64Type, UInt16Type, UInt32Type, UInt64Type,
};

use crate::builder::EventBatchBuilder;
use crate::error::{FormatError, Result};
use crate::event::{Event, EventKind};

/// Builds one [`RecordBatch`] of the `events` schema from `events`, in the
/// given order.
pub fn events_to_batch(events: &[Event]) -> RecordBatch {
    let mut b = EventBatchBuilder::with_capacity(events.len());
    for e in events {
        b.push(e);
    }
    b.finish()
}

/// Converts a batch of the `events` schema back into [`Event`]s.
///
/// Accepts batches read from Parquet, from the spool, or from DataFusion
/// (string columns may be `Utf8`, `LargeUtf8` or `Utf8View`). Nullable columns
/// that are absent (a projection) come back as `None`; a missing non-null
/// column is an error.
pub fn batch_to_events(batch: &RecordBatch) -> Result<Vec<Event>> {
    let cols = EventColumns::new(batch)?;
    Ok((0..batch.num_rows()).map(|i| cols.event(i)).collect())
}

/// A string column of any Arrow string representation.
#[derive(Debug, Clone, Copy)]
pub enum StrColumn<'a> {
    /// `Utf8`.
    Utf8(&'a StringArray),
    /// `LargeUtf8`.
    Large(&'a LargeStringArray),
    /// `Utf8View` (DataFusion's default).
    View(&'a StringViewArray),
}

impl<'a> StrColumn<'a> {
    fn from_array(name: &str, a: &'a dyn Array) -> Result<Self> {
        match a.data_type() {
            DataType::Utf8 => Ok(StrColumn::Utf8(a.as_string::<i32>())),
            DataType::LargeUtf8 => Ok(StrColumn::Large(a.as_string::<i64>())),
            DataType::Utf8View => Ok(StrColumn::View(a.as_string_view())),
            other => Err(FormatError::BadBatch(format!(
                "column {name} has type {other}, expected a string"
            ))),
        }
    }

    /// Whether row `i` (> 0) certainly holds the same value (or null) as row
    /// `i - 1`: both are `Utf8View` views with the same bytes — the same
    /// short string inline, or the same place in the same buffer. `false`
    /// means "maybe not".
    #[inline]
    pub fn same_as_previous(&self, i: usize) -> bool {
        match self {
            StrColumn::View(a) => {
                let v = a.views();
                v[i] == v[i - 1] && a.is_valid(i) == a.is_valid(i - 1)
            }
            _ => false,
        }
    }

    /// The value at row `i`, `None` when null.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// A `List<Utf8>` column (either list offset width).
#[derive(Debug, Clone)]
pub enum ListColumn<'a> {
    /// `List`.
    List(&'a GenericListArray<i32>),
    /// `LargeList`.
    Large(&'a GenericListArray<i64>),
}

impl<'a> ListColumn<'a> {
    /// The elements of the list at row `i`, read in place: the string
    /// column of the whole list's values and the range `start..end` of row
    /// `i`'s elements in it. `None` when the row is null or the elements
    /// are not strings.
    #[inline]
    pub fn values_at(&self, i: usize) -> Option<(StrColumn<'a>, usize, usize)> {
        let (values, start, end) = match *self {
            ListColumn::List(a) => {
                if !a.is_valid(i) {
                    return None;
                }
                let o = a.value_offsets();
                (a.values(), o[i] as usize, o[i + 1] as usize)
            }
            ListColumn::Large(a) => {
                if !a.is_valid(i) {
                    return None;
                }
                let o = a.value_offsets();
                (a.values(), o[i] as usize, o[i + 1] as usize)
            }
        };
        let strs = StrColumn::from_array("process_args.item", values.as_ref()).ok()?;
        Some((strs, start, end))
    }

    /// The list at row `i` as owned strings, `None` when null.
    pub fn get(&self, i: usize) -> Option<Vec<String>> {
        let (strs, start, end) = self.values_at(i)?;
        Some(
            (start..end)
                .map(|j| strs.get(j).unwrap_or_default().to_string())
                .collect(),
        )
    }
}

/// Typed access to the columns of one `events` batch, without converting
/// rows. Fields are named after the columns; nullable columns missing from the
/// batch (projections) are `None`.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct EventColumns<'a> {
    pub time_ns: &'a Int64Array,
    pub seq: &'a UInt64Array,
    pub host_name: StrColumn<'a>,
    pub boot_id: StrColumn<'a>,
    pub event_kind: StrColumn<'a>,
    pub syscall: Option<StrColumn<'a>>,
    pub ret: Option<&'a Int64Array>,
    pub latency_ns: Option<&'a Int64Array>,
    pub process_pid: &'a Int32Array,
    pub thread_id: &'a Int32Array,
    pub process_parent_pid: Option<&'a Int32Array>,
    pub process_vpid: Option<&'a Int32Array>,
    pub process_session_id: Option<&'a Int32Array>,
    pub process_tty: Option<&'a UInt32Array>,
    pub process_name: Option<StrColumn<'a>>,
    pub process_executable: Option<StrColumn<'a>>,
    pub process_args: Option<ListColumn<'a>>,
    pub process_command_line: Option<StrColumn<'a>>,
    pub process_cwd: Option<StrColumn<'a>>,
    pub process_exit_code: Option<&'a Int32Array>,
    pub process_exit_signal: Option<&'a Int32Array>,
    pub process_cap_effective: Option<&'a UInt64Array>,
    pub process_cap_permitted: Option<&'a UInt64Array>,
    pub user_id: Option<&'a UInt32Array>,
    pub user_name: Option<StrColumn<'a>>,
    pub group_id: Option<&'a UInt32Array>,
    pub process_effective_user_id: Option<&'a UInt32Array>,
    pub login_uid: Option<&'a UInt32Array>,
    pub cgroup_id: Option<&'a UInt64Array>,
    pub container_id: Option<StrColumn<'a>>,
    pub file_path: Option<StrColumn<'a>>,
    pub file_path_user: Option<StrColumn<'a>>,
    pub file_path_user_err: Option<&'a Int32Array>,
    pub file_path_truncated: Option<&'a BooleanArray>,
    pub process_exe_upper_layer: Option<&'a BooleanArray>,
    pub file_inode: Option<&'a UInt64Array>,
    pub file_device: Option<&'a UInt64Array>,
    pub file_flags: Option<StrColumn<'a>>,
    pub file_mode: Option<&'a UInt32Array>,
    pub file_target_path: Option<StrColumn<'a>>,
    pub file_target_path_user: Option<StrColumn<'a>>,
    pub fd: Option<&'a Int32Array>,
    pub fd_type: Option<StrColumn<'a>>,
    pub network_family: Option<StrColumn<'a>>,
    pub network_transport: Option<StrColumn<'a>>,
    pub source_ip: Option<StrColumn<'a>>,
    pub source_port: Option<&'a UInt16Array>,
    pub destination_ip: Option<StrColumn<'a>>,
    pub destination_port: Option<&'a UInt16Array>,
    pub destination_addr_user: Option<StrColumn<'a>>,
    pub toctou_mismatch: Option<&'a BooleanArray>,
    pub kernel_source: Option<StrColumn<'a>>,
    pub syscall_args: Option<StrColumn<'a>>,
    pub lost_events: Option<&'a UInt64Array>,
}

struct Lookup<'a>(&'a RecordBatch);

impl<'a> Lookup<'a> {
    fn col(&self, name: &str) -> Option<&'a ArrayRef> {
        self.0
            .schema_ref()
            .index_of(name)
            .ok()
            .map(|i| self.0.column(i))
    }
    fn prim<T: ArrowPrimitiveType>(&self, name: &str) -> Result<Option<&'a PrimitiveArray<T>>> {
        match self.col(name) {
            None => Ok(None),
            Some(a) => a.as_primitive_opt::<T>().map(Some).ok_or_else(|| {
                FormatError::BadBatch(format!(
                    "column {name} has type {}, expected {}",
                    a.data_type(),
                    T::DATA_TYPE
                ))
            }),
        }
    }
    fn req_prim<T: ArrowPrimitiveType>(&self, name: &str) -> Result<&'a PrimitiveArray<T>> {
        self.prim::<T>(name)?
            .ok_or_else(|| FormatError::BadBatch(format!("missing column {name}")))
    }
    fn str(&self, name: &str) -> Result<Option<StrColumn<'a>>> {
        self.col(name)
            .map(|a| StrColumn::from_array(name, a.as_ref()))
            .transpose()
    }
    fn req_str(&self, name: &str) -> Result<StrColumn<'a>> {
        self.str(name)?
            .ok_or_else(|| FormatError::BadBatch(format!("missing column {name}")))
    }
    fn bool(&self, name: &str) -> Result<Option<&'a BooleanArray>> {
        match self.col(name) {
            None => Ok(None),
            Some(a) => a.as_boolean_opt().map(Some).ok_or_else(|| {
                FormatError::BadBatch(format!(
                    "column {name} has type {}, expected Boolean",
                    a.data_type()
                ))
            }),
        }
    }
    fn list(&self, name: &str) -> Result<Option<ListColumn<'a>>> {
        match self.col(name) {
            None => Ok(None),
            Some(a) => match a.data_type() {
                DataType::List(_) => Ok(Some(ListColumn::List(a.as_list::<i32>()))),
                DataType::LargeList(_) => Ok(Some(ListColumn::Large(a.as_list::<i64>()))),
                other => Err(FormatError::BadBatch(format!(
                    "column {name} has type {other}, expected List<Utf8>"
                ))),
            },
        }
    }
}

#[inline]
fn opt<T: ArrowPrimitiveType>(a: Option<&PrimitiveArray<T>>, i: usize) -> Option<T::Native> {
    a.and_then(|a| a.is_valid(i).then(|| a.value(i)))
}

impl<'a> EventColumns<'a> {
    /// Looks up and type-checks every column of `batch` once.
    pub fn new(batch: &'a RecordBatch) -> Result<Self> {
        let l = Lookup(batch);
        Ok(EventColumns {
            time_ns: l.req_prim::<Int64Type>("time_ns")?,
            seq: l.req_prim::<UInt64Type>("seq")?,
            host_name: l.req_str("host_name")?,
            boot_id: l.req_str("boot_id")?,
            event_kind: l.req_str("event_kind")?,
            syscall: l.str("syscall")?,
            ret: l.prim::<Int64Type>("ret")?,
            latency_ns: l.prim::<Int64Type>("latency_ns")?,
            process_pid: l.req_prim::<Int32Type>("process_pid")?,
            thread_id: l.req_prim::<Int32Type>("thread_id")?,
            process_parent_pid: l.prim::<Int32Type>("process_parent_pid")?,
            process_vpid: l.prim::<Int32Type>("process_vpid")?,
            process_session_id: l.prim::<Int32Type>("process_session_id")?,
            process_tty: l.prim::<UInt32Type>("process_tty")?,
            process_name: l.str("process_name")?,
            process_executable: l.str("process_executable")?,
            process_args: l.list("process_args")?,
            process_command_line: l.str("process_command_line")?,
            process_cwd: l.str("process_cwd")?,
            process_exit_code: l.prim::<Int32Type>("process_exit_code")?,
            process_exit_signal: l.prim::<Int32Type>("process_exit_signal")?,
            process_cap_effective: l.prim::<UInt64Type>("process_cap_effective")?,
            process_cap_permitted: l.prim::<UInt64Type>("process_cap_permitted")?,
            user_id: l.prim::<UInt32Type>("user_id")?,
            user_name: l.str("user_name")?,
            group_id: l.prim::<UInt32Type>("group_id")?,
            process_effective_user_id: l.prim::<UInt32Type>("process_effective_user_id")?,
            login_uid: l.prim::<UInt32Type>("login_uid")?,
            cgroup_id: l.prim::<UInt64Type>("cgroup_id")?,
            container_id: l.str("container_id")?,
            file_path: l.str("file_path")?,
            file_path_user: l.str("file_path_user")?,
            file_path_user_err: l.prim::<Int32Type>("file_path_user_err")?,
            file_path_truncated: l.bool("file_path_truncated")?,
            process_exe_upper_layer: l.bool("process_exe_upper_layer")?,
            file_inode: l.prim::<UInt64Type>("file_inode")?,
            file_device: l.prim::<UInt64Type>("file_device")?,
            file_flags: l.str("file_flags")?,
            file_mode: l.prim::<UInt32Type>("file_mode")?,
            file_target_path: l.str("file_target_path")?,
            file_target_path_user: l.str("file_target_path_user")?,
            fd: l.prim::<Int32Type>("fd")?,
            fd_type: l.str("fd_type")?,
            network_family: l.str("network_family")?,
            network_transport: l.str("network_transport")?,
            source_ip: l.str("source_ip")?,
            source_port: l.prim::<UInt16Type>("source_port")?,
            destination_ip: l.str("destination_ip")?,
            destination_port: l.prim::<UInt16Type>("destination_port")?,
            destination_addr_user: l.str("destination_addr_user")?,
            toctou_mismatch: l.bool("toctou_mismatch")?,
            kernel_source: l.str("kernel_source")?,
            syscall_args: l.str("syscall_args")?,
            lost_events: l.prim::<UInt64Type>("lost_events")?,
        })
    }

    /// The `event_kind` of row `i` (unknown values read as `syscall`).
    pub fn kind(&self, i: usize) -> EventKind {
        self.event_kind
            .get(i)
            .and_then(EventKind::parse)
            .unwrap_or_default()
    }

    /// Row `i` as an owned [`Event`].
    pub fn event(&self, i: usize) -> Event {
        let mut ev = Event::default();
        self.fill(i, &mut ev, &mut Spare::default());
        ev
    }

    /// Overwrites `ev` with row `i`, reusing its string buffers: a reader
    /// that keeps one `Event` (and one [`Spare`]) allocates nothing once the
    /// buffers have grown, even as columns turn null and back from row to
    /// row (replay decodes millions of rows per second this way).
    pub fn fill(&self, i: usize, ev: &mut Event, spare: &mut Spare) {
        self.fill_as::<false>(i, ev, spare);
    }

    /// [`EventColumns::fill`] for a reader going through the batch in
    /// order: `ev` must hold row `i - 1` of this batch (filled by `fill` or
    /// `fill_next`, untouched since). A string that is the same as in the
    /// row before — the same `Utf8View` view: the same inline bytes, or the
    /// same place in the same buffer, as every repeat of a dictionary-encoded
    /// value is — is not copied again.
    pub fn fill_next(&self, i: usize, ev: &mut Event, spare: &mut Spare) {
        if i == 0 {
            self.fill_as::<false>(i, ev, spare);
        } else {
            self.fill_as::<true>(i, ev, spare);
        }
    }

    #[inline(always)]
    fn fill_as<const NEXT: bool>(&self, i: usize, ev: &mut Event, spare: &mut Spare) {
        ev.time_ns = self.time_ns.value(i);
        ev.seq = self.seq.value(i);
        if !(NEXT && self.host_name.same_as_previous(i)) {
            set_str(&mut ev.host_name, self.host_name.get(i).unwrap_or_default());
        }
        if !(NEXT && self.boot_id.same_as_previous(i)) {
            set_str(&mut ev.boot_id, self.boot_id.get(i).unwrap_or_default());
        }
        if !(NEXT && self.event_kind.same_as_previous(i)) {
            ev.event_kind = self.kind(i);
        }
        set_ostr::<NEXT>(&mut ev.syscall, &self.syscall, i, spare);
        ev.ret = opt(self.ret, i);
        ev.latency_ns = opt(self.latency_ns, i);
        ev.process_pid = self.process_pid.value(i);
        ev.thread_id = self.thread_id.value(i);
        ev.process_parent_pid = opt(self.process_parent_pid, i);
        ev.process_vpid = opt(self.process_vpid, i);
        ev.process_session_id = opt(self.process_session_id, i);
        ev.process_tty = opt(self.process_tty, i);
        set_ostr::<NEXT>(&mut ev.process_name, &self.process_name, i, spare);
        set_ostr::<NEXT>(
            &mut ev.process_executable,
            &self.process_executable,
            i,
            spare,
        );
        set_list(&mut ev.process_args, self.process_args.as_ref(), i, spare);
        set_ostr::<NEXT>(
            &mut ev.process_command_line,
            &self.process_command_line,
            i,
            spare,
        );
        set_ostr::<NEXT>(&mut ev.process_cwd, &self.process_cwd, i, spare);
        ev.process_exit_code = opt(self.process_exit_code, i);
        ev.process_exit_signal = opt(self.process_exit_signal, i);
        ev.process_cap_effective = opt(self.process_cap_effective, i);
        ev.process_cap_permitted = opt(self.process_cap_permitted, i);
        ev.user_id = opt(self.user_id, i);
        set_ostr::<NEXT>(&mut ev.user_name, &self.user_name, i, spare);
        ev.group_id = opt(self.group_id, i);
        ev.process_effective_user_id = opt(self.process_effective_user_id, i);
        ev.login_uid = opt(self.login_uid, i);
        ev.cgroup_id = opt(self.cgroup_id, i);
        set_ostr::<NEXT>(&mut ev.container_id, &self.container_id, i, spare);
        set_ostr::<NEXT>(&mut ev.file_path, &self.file_path, i, spare);
        set_ostr::<NEXT>(&mut ev.file_path_user, &self.file_path_user, i, spare);
        ev.file_path_user_err = opt(self.file_path_user_err, i);
        ev.file_path_truncated = self
            .file_path_truncated
            .and_then(|a| a.is_valid(i).then(|| a.value(i)));
        ev.process_exe_upper_layer = self
            .process_exe_upper_layer
            .and_then(|a| a.is_valid(i).then(|| a.value(i)));
        ev.file_inode = opt(self.file_inode, i);
        ev.file_device = opt(self.file_device, i);
        set_ostr::<NEXT>(&mut ev.file_flags, &self.file_flags, i, spare);
        ev.file_mode = opt(self.file_mode, i);
        set_ostr::<NEXT>(&mut ev.file_target_path, &self.file_target_path, i, spare);
        set_ostr::<NEXT>(
            &mut ev.file_target_path_user,
            &self.file_target_path_user,
            i,
            spare,
        );
        ev.fd = opt(self.fd, i);
        set_ostr::<NEXT>(&mut ev.fd_type, &self.fd_type, i, spare);
        set_ostr::<NEXT>(&mut ev.network_family, &self.network_family, i, spare);
        set_ostr::<NEXT>(&mut ev.network_transport, &self.network_transport, i, spare);
        set_ostr::<NEXT>(&mut ev.source_ip, &self.source_ip, i, spare);
        ev.source_port = opt(self.source_port, i);
        set_ostr::<NEXT>(&mut ev.destination_ip, &self.destination_ip, i, spare);
        ev.destination_port = opt(self.destination_port, i);
        set_ostr::<NEXT>(
            &mut ev.destination_addr_user,
            &self.destination_addr_user,
            i,
            spare,
        );
        ev.toctou_mismatch = self
            .toctou_mismatch
            .and_then(|a| a.is_valid(i).then(|| a.value(i)));
        set_ostr::<NEXT>(&mut ev.kernel_source, &self.kernel_source, i, spare);
        set_ostr::<NEXT>(&mut ev.syscall_args, &self.syscall_args, i, spare);
        ev.lost_events = opt(self.lost_events, i);
    }
}

#[inline]
fn set_str(slot: &mut String, v: &str) {
    slot.clear();
    slot.push_str(v);
}

/// Spare buffers for [`EventColumns::fill`]: a string (or argv list) that
/// turns null leaves its buffer here and the next value to appear takes it
/// back, instead of freeing and allocating one per row.
#[derive(Debug, Default)]
pub struct Spare {
    strings: Vec<String>,
    list: Option<Vec<String>>,
}

#[inline(always)]
fn set_ostr<const NEXT: bool>(
    slot: &mut Option<String>,
    col: &Option<StrColumn<'_>>,
    i: usize,
    spare: &mut Spare,
) {
    let value = match col {
        // Views (what replay reads): validity and view looked up once.
        Some(StrColumn::View(a)) => {
            let views = a.views();
            let nulls = a.nulls();
            let valid = nulls.is_none_or(|n| n.is_valid(i));
            if NEXT && views[i] == views[i - 1] && valid == nulls.is_none_or(|n| n.is_valid(i - 1))
            {
                return;
            }
            valid.then(|| a.value(i))
        }
        Some(c) => c.get(i),
        None => None,
    };
    match (value, slot.as_mut()) {
        (Some(v), Some(s)) => set_str(s, v),
        (Some(v), None) => {
            *slot = Some(match spare.strings.pop() {
                Some(mut s) => {
                    set_str(&mut s, v);
                    s
                }
                None => v.to_string(),
            })
        }
        (None, Some(_)) => spare.strings.extend(slot.take()),
        (None, None) => {}
    }
}

fn set_list(
    slot: &mut Option<Vec<String>>,
    col: Option<&ListColumn<'_>>,
    i: usize,
    spare: &mut Spare,
) {
    let values = col.and_then(|c| match c {
        ListColumn::List(a) => a.is_valid(i).then(|| a.value(i)),
        ListColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
    });
    let strs = values
        .as_ref()
        .and_then(|v| StrColumn::from_array("process_args.item", v.as_ref()).ok());
    let (Some(values), Some(strs)) = (values.as_ref(), strs) else {
        if let Some(old) = slot.take() {
            spare.list = Some(old);
        }
        return;
    };
    let v = match slot {
        Some(v) => v,
        None => slot.insert(spare.list.take().unwrap_or_default()),
    };
    v.truncate(values.len());
    for j in 0..values.len() {
        let x = strs.get(j).unwrap_or_default();
        match v.get_mut(j) {
            Some(s) => set_str(s, x),
            None => v.push(x.to_string()),
        }
    }
}

/// Sorts `batch` by `seq` (stable); returns it unchanged when already sorted.
pub fn sort_by_seq(batch: &RecordBatch) -> Result<RecordBatch> {
    let seq = Lookup(batch).req_prim::<UInt64Type>("seq")?;
    if seq.values().windows(2).all(|w| w[0] <= w[1]) {
        return Ok(batch.clone());
    }
    let idx = arrow::compute::sort_to_indices(seq, None, None)
        .map_err(|e| FormatError::BadBatch(e.to_string()))?;
    arrow::compute::take_record_batch(batch, &idx).map_err(|e| FormatError::BadBatch(e.to_string()))
}

/// The `seq` column of an `events` batch.
pub fn seq_column(batch: &RecordBatch) -> Result<&UInt64Array> {
    Lookup(batch).req_prim::<UInt64Type>("seq")
}

/// The `time_ns` column of an `events` batch.
pub fn time_ns_column(batch: &RecordBatch) -> Result<&Int64Array> {
    Lookup(batch).req_prim::<Int64Type>("time_ns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::events_schema;

    fn sample() -> Vec<Event> {
        vec![
            Event {
                time_ns: 1_700_000_000_123_456_789,
                seq: 0,
                host_name: "h".into(),
                boot_id: "b".into(),
                event_kind: EventKind::ProcessExec,
                syscall: Some("execve".into()),
                process_pid: 42,
                thread_id: 42,
                process_args: Some(vec!["ls".into(), "-l".into()]),
                toctou_mismatch: Some(false),
                lost_events: None,
                ..Default::default()
            },
            Event {
                time_ns: 1_700_000_000_123_456_999,
                seq: 1,
                host_name: "h".into(),
                boot_id: "b".into(),
                event_kind: EventKind::Loss,
                process_args: Some(vec![]),
                lost_events: Some(17),
                ..Default::default()
            },
        ]
    }

    #[test]
    fn roundtrip() {
        let ev = sample();
        let batch = events_to_batch(&ev);
        assert_eq!(batch.schema(), events_schema());
        assert_eq!(batch_to_events(&batch).unwrap(), ev);
    }

    #[test]
    fn time_column_is_micros_of_time_ns() {
        let batch = events_to_batch(&sample());
        let t = batch
            .column(0)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(t.value(0), 1_700_000_000_123_456);
    }

    #[test]
    fn sorts_by_seq() {
        let mut ev = sample();
        ev.reverse();
        let sorted = sort_by_seq(&events_to_batch(&ev)).unwrap();
        assert_eq!(seq_column(&sorted).unwrap().values().to_vec(), vec![0, 1]);
    }

    #[test]
    fn projection_keeps_nullable_columns_optional() {
        let batch = events_to_batch(&sample());
        let keep: Vec<usize> = crate::reader::REQUIRED_COLUMNS
            .iter()
            .map(|n| batch.schema().index_of(n).unwrap())
            .collect();
        let projected = batch.project(&keep).unwrap();
        let ev = batch_to_events(&projected).unwrap();
        assert_eq!(ev[1].lost_events, None);
        assert_eq!(ev[1].event_kind, EventKind::Loss);
        let without_pid = batch.project(&keep[..5]).unwrap();
        assert!(batch_to_events(&without_pid).is_err());
    }
}
