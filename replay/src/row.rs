//! [`Row`]: one event as the engine reads it, either an [`Event`] or a row
//! of an Arrow batch read in place.
//!
//! Replaying from disk used to copy every decoded row into an [`Event`]
//! first (a dozen strings per row); a [`Row`] over [`EventColumns`] reads a
//! column only when the state model or a rule asks for it, straight from the
//! Arrow arrays, so the columns a row's syscall does not need are never
//! touched. The columns every consumer reads on every row (time, seq, kind,
//! syscall, pid, tid, ret, fd) are decoded once when the row is made.

use arrow::array::{Array, ArrowPrimitiveType, PrimitiveArray};
use hindsight_format::batch::StrColumn;
use hindsight_format::{Event, EventColumns, EventKind};

use crate::syscall::Sc;

/// Where a [`Row`]'s values come from.
#[derive(Clone, Copy)]
enum Src<'a> {
    Event(&'a Event),
    Cols(&'a EventColumns<'a>, usize),
}

/// One event, read in place (see the module documentation).
#[derive(Clone, Copy)]
pub struct Row<'a> {
    src: Src<'a>,
    /// `time_ns`.
    pub time_ns: i64,
    /// `seq`.
    pub seq: u64,
    /// `event_kind`.
    pub event_kind: EventKind,
    /// `syscall`.
    pub syscall: Option<&'a str>,
    /// `syscall`, told apart once for the state model and the engine.
    pub sc: Sc,
    /// `process_pid`.
    pub process_pid: i32,
    /// `thread_id`.
    pub thread_id: i32,
    /// `ret`.
    pub ret: Option<i64>,
    /// `fd`.
    pub fd: Option<i32>,
    /// `file_path`, `file_flags` and `fd_type`, decoded with the row: the
    /// state model reads them on most syscall rows and open rules several
    /// times each.
    file: [Option<&'a str>; 3],
    /// The batch's [`batch_id`] (0 for an [`Event`]).
    batch: u64,
}

/// A number no other batch of this process gets (never 0), for [`Row::at`].
pub fn batch_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The process strings a row carries ([`Row::proc_key`]), as the places
/// they sit in their batch: two rows with equal keys hold the same
/// strings.
#[derive(Debug, Clone, Copy, Eq)]
pub struct ProcKey {
    batch: u64,
    views: [u128; 5],
    valid: u8,
}

impl PartialEq for ProcKey {
    /// Field by field, inline (the derived comparison called `memcmp` for
    /// the views, and this runs on every row).
    #[inline]
    fn eq(&self, o: &ProcKey) -> bool {
        self.batch == o.batch
            && self.valid == o.valid
            && self.views.iter().zip(&o.views).all(|(a, b)| a == b)
    }
}

/// A list of strings: an [`Event`]'s `Vec`, or a slice of an Arrow list's values.
#[derive(Debug, Clone, Copy)]
pub enum List<'a> {
    /// Owned strings.
    Strings(&'a [String]),
    /// Values `start..end` of a string column.
    Arrow(StrColumn<'a>, usize, usize),
}

impl<'a> List<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            List::Strings(s) => s.len(),
            List::Arrow(_, start, end) => end - start,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `j` (a null element reads as empty).
    pub fn get(&self, j: usize) -> Option<&'a str> {
        match *self {
            List::Strings(s) => s.get(j).map(String::as_str),
            List::Arrow(c, start, end) => {
                (j < end - start).then(|| c.get(start + j).unwrap_or_default())
            }
        }
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let l = *self;
        (0..l.len()).map(move |j| l.get(j).unwrap_or_default())
    }

    /// The elements joined with `sep`.
    pub fn join(&self, sep: &str) -> String {
        let mut out = String::new();
        for (j, s) in self.iter().enumerate() {
            if j > 0 {
                out.push_str(sep);
            }
            out.push_str(s);
        }
        out
    }
}

impl PartialEq for List<'_> {
    fn eq(&self, other: &List<'_>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

#[inline]
fn prim<T: ArrowPrimitiveType>(a: Option<&PrimitiveArray<T>>, i: usize) -> Option<T::Native> {
    a.and_then(|a| a.is_valid(i).then(|| a.value(i)))
}

macro_rules! strs {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "`.")]
        #[inline]
        pub fn $name(&self) -> Option<&'a str> {
            match self.src {
                Src::Event(e) => e.$name.as_deref(),
                Src::Cols(c, i) => c.$name.as_ref().and_then(|s| s.get(i)),
            }
        }
    )*};
}

macro_rules! prims {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "`.")]
        #[inline]
        pub fn $name(&self) -> Option<$t> {
            match self.src {
                Src::Event(e) => e.$name,
                Src::Cols(c, i) => prim(c.$name, i),
            }
        }
    )*};
}

macro_rules! bools {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "`.")]
        #[inline]
        pub fn $name(&self) -> Option<bool> {
            match self.src {
                Src::Event(e) => e.$name,
                Src::Cols(c, i) => c.$name.and_then(|a| a.is_valid(i).then(|| a.value(i))),
            }
        }
    )*};
}

impl<'a> Row<'a> {
    /// A row over an [`Event`].
    pub fn event(ev: &'a Event) -> Row<'a> {
        Row {
            src: Src::Event(ev),
            time_ns: ev.time_ns,
            seq: ev.seq,
            event_kind: ev.event_kind,
            syscall: ev.syscall.as_deref(),
            sc: Sc::of(ev.syscall.as_deref()),
            process_pid: ev.process_pid,
            thread_id: ev.thread_id,
            ret: ev.ret,
            fd: ev.fd,
            file: [
                ev.file_path.as_deref(),
                ev.file_flags.as_deref(),
                ev.fd_type.as_deref(),
            ],
            batch: 0,
        }
    }

    /// Row `i` of a batch, read in place; `kind` is its `event_kind`,
    /// `batch` the batch's [`batch_id`].
    #[inline]
    pub fn at(cols: &'a EventColumns<'a>, i: usize, kind: EventKind, batch: u64) -> Row<'a> {
        let syscall = cols.syscall.as_ref().and_then(|s| s.get(i));
        Row {
            src: Src::Cols(cols, i),
            time_ns: cols.time_ns.value(i),
            seq: cols.seq.value(i),
            event_kind: kind,
            syscall,
            sc: Sc::of(syscall),
            process_pid: cols.process_pid.value(i),
            thread_id: cols.thread_id.value(i),
            ret: prim(cols.ret, i),
            fd: prim(cols.fd, i),
            file: [
                cols.file_path.as_ref().and_then(|s| s.get(i)),
                cols.file_flags.as_ref().and_then(|s| s.get(i)),
                cols.fd_type.as_ref().and_then(|s| s.get(i)),
            ],
            batch,
        }
    }

    /// Where the row's `process_executable`, `process_name`, `process_cwd`,
    /// `user_name` and `container_id` sit: equal keys mean equal values
    /// (and equal nulls). `None` when that cannot be told cheaply (an
    /// [`Event`], or columns that are not `Utf8View`). Within one batch, a
    /// view longer than 12 bytes that points to the same bytes of the same
    /// buffer (the Parquet reader shares dictionary values) is the same
    /// string, and a shorter one holds its bytes inline.
    #[inline]
    pub fn proc_key(&self) -> Option<ProcKey> {
        let Src::Cols(c, i) = self.src else {
            return None;
        };
        if self.batch == 0 {
            return None;
        }
        let mut key = ProcKey {
            batch: self.batch,
            views: [0; 5],
            valid: 0,
        };
        let cols = [
            &c.process_executable,
            &c.process_name,
            &c.process_cwd,
            &c.user_name,
            &c.container_id,
        ];
        for (j, col) in cols.into_iter().enumerate() {
            match col {
                Some(StrColumn::View(a)) if a.is_valid(i) => {
                    key.valid |= 1 << j;
                    key.views[j] = a.views()[i];
                }
                None | Some(StrColumn::View(_)) => {}
                Some(_) => return None,
            }
        }
        Some(key)
    }

    /// The row as an owned [`Event`] (the columns its batch holds).
    pub fn to_event(&self) -> Event {
        match self.src {
            Src::Event(e) => e.clone(),
            Src::Cols(c, i) => c.event(i),
        }
    }

    /// `host_name`.
    pub fn host_name(&self) -> &'a str {
        match self.src {
            Src::Event(e) => &e.host_name,
            Src::Cols(c, i) => c.host_name.get(i).unwrap_or_default(),
        }
    }

    /// `boot_id`.
    pub fn boot_id(&self) -> &'a str {
        match self.src {
            Src::Event(e) => &e.boot_id,
            Src::Cols(c, i) => c.boot_id.get(i).unwrap_or_default(),
        }
    }

    /// `process_args`.
    pub fn process_args(&self) -> Option<List<'a>> {
        match self.src {
            Src::Event(e) => e.process_args.as_deref().map(List::Strings),
            Src::Cols(c, i) => {
                let (strs, start, end) = c.process_args.as_ref()?.values_at(i)?;
                Some(List::Arrow(strs, start, end))
            }
        }
    }

    /// `file_path`.
    #[inline]
    pub fn file_path(&self) -> Option<&'a str> {
        self.file[0]
    }

    /// `file_flags`.
    #[inline]
    pub fn file_flags(&self) -> Option<&'a str> {
        self.file[1]
    }

    /// `fd_type`.
    #[inline]
    pub fn fd_type(&self) -> Option<&'a str> {
        self.file[2]
    }

    strs!(
        process_name,
        process_executable,
        process_command_line,
        process_cwd,
        user_name,
        container_id,
        file_path_user,
        file_target_path,
        file_target_path_user,
        network_family,
        network_transport,
        source_ip,
        destination_ip,
        destination_addr_user,
        kernel_source,
        syscall_args,
    );

    prims!(
        latency_ns: i64,
        process_parent_pid: i32,
        process_vpid: i32,
        process_session_id: i32,
        process_tty: u32,
        process_exit_code: i32,
        process_exit_signal: i32,
        process_cap_effective: u64,
        process_cap_permitted: u64,
        user_id: u32,
        group_id: u32,
        process_effective_user_id: u32,
        login_uid: u32,
        cgroup_id: u64,
        file_path_user_err: i32,
        file_inode: u64,
        file_device: u64,
        file_mode: u32,
        source_port: u16,
        destination_port: u16,
        lost_events: u64,
    );

    bools!(
        file_path_truncated,
        process_exe_upper_layer,
        toctou_mismatch
    );
}
