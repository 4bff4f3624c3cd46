//! One recording session: load and attach the kernel programs, run the
//! ring-buffer reader thread and the decode + write thread, stop cleanly.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::{CgroupAttachMode, CgroupSockAddr, RawTracePoint};
use aya::{Ebpf, EbpfLoader};
use hindsight_format::manifest::{Clock, Hooks, Manifest, UnavailableHook};
use hindsight_format::{Event, RecordingWriter, WriterOptions};
use hindsight_recorder_common::{Config, ExtConfig, LossCounter, SyscallSpec};

use crate::decode::{Decoder, HostInfo};
use crate::spawn::{self, Held};
use crate::{RecordError, btf::Btf, hooks, objfile, offsets, outdir, pipeline, snapshot, syscalls};

/// The kernel programs, built by `build.rs`.
static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/hindsight-recorder-ebpf"));

/// The kernel programs' object file, as built.
#[cfg(test)]
pub(crate) fn ebpf_object() -> &'static [u8] {
    EBPF_OBJECT
}

/// What to record.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start this command (argv) and record it and its descendants.
    Command(Vec<String>),
    /// Record the whole host (minus the recorder).
    Host,
}

/// Options of [`record`].
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Recording directory (must not exist or be empty).
    pub out_dir: PathBuf,
    /// What to record.
    pub target: Target,
    /// `--syscalls` value (`default`, `all`, names, `+x,-y`).
    pub syscalls: String,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Only record tasks in this cgroup v2 directory (and below).
    pub cgroup: Option<PathBuf>,
    /// Drop rows whose path starts with one of these.
    pub ignore_prefixes: Vec<String>,
    /// Ring-buffer size in bytes (power of two, multiple of the page size).
    pub ring_bytes: u32,
    /// Segment/rotation options of the writer.
    pub writer: WriterOptions,
    /// Read the recorded task's fields (ids, capabilities, name, parent)
    /// with BTF-checked plain loads where the kernel allows it (the
    /// default), else, or when false, with `bpf_probe_read_kernel`. The
    /// values are the same either way.
    pub task_btf: bool,
    /// Write records into the ring buffer through dynptrs where the kernel
    /// has them (Linux 5.19 and later; the default), else, or when false,
    /// lay each out in a per-CPU buffer and copy it in with
    /// `bpf_ringbuf_output`, as on older kernels. The records are the same
    /// either way.
    pub dynptr: bool,
    /// Compare paths longer than an entry copy's 255 bytes whole, where the
    /// kernel-name hook knows the cache (Linux 5.12 and later; the default).
    /// Off (or where the kernel refuses the map this needs), such a path
    /// whose first 255 bytes agree with the kernel's copy gets no verdict,
    /// as on kernels before 5.12.
    pub long_names: bool,
}

impl RecordOptions {
    /// Defaults for recording `target` into `out_dir`.
    pub fn new(out_dir: PathBuf, target: Target) -> RecordOptions {
        RecordOptions {
            out_dir,
            target,
            syscalls: "default".into(),
            duration: None,
            cgroup: None,
            ignore_prefixes: Vec::new(),
            ring_bytes: 16 << 20,
            writer: WriterOptions::default(),
            task_btf: true,
            dynptr: true,
            long_names: true,
        }
    }
}

/// Live counters, readable while recording (progress line).
#[derive(Debug, Default)]
pub struct Counters {
    /// Rows written.
    pub events: AtomicU64,
    /// Records the kernel dropped.
    pub lost: AtomicU64,
    /// Bytes received from the ring buffer.
    pub wire_bytes: AtomicU64,
    /// Bytes of the recording's events on disk: committed segments, the
    /// segment being written (its closed row groups) and the crash-safety
    /// spool (rows waiting for their row group, in a less compact form).
    /// Sampled just before each progress call.
    pub disk_bytes: AtomicU64,
    /// Rows already compressed into Parquet (committed segments and closed
    /// row groups), and their bytes: with `events` and `wire_bytes`, the
    /// compression so far.
    pub compressed_rows: AtomicU64,
    /// Bytes of those rows.
    pub compressed_bytes: AtomicU64,
    /// The process's CPU time ([`process_cpu_ns`]) when recording began:
    /// its start-up; 0 until then.
    pub startup_cpu_ns: AtomicU64,
    /// Set, with the error, when writing failed and recording stopped
    /// while the recorded command runs on (see [`RecordError::Stopped`]).
    pub stopped: std::sync::OnceLock<String>,
}

/// CPU time (user + system) of the whole process so far, all threads
/// (ended ones included), in ns.
pub fn process_cpu_ns() -> u64 {
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(ru.ru_utime) + ns(ru.ru_stime)
}

impl Counters {
    /// Compression so far: the bytes received for the rows already in
    /// Parquet (their share of all rows) over the bytes they take there;
    /// `None` before the first row group is closed.
    pub fn compression(&self) -> Option<f64> {
        let (rows, bytes) = (
            self.compressed_rows.load(Ordering::Relaxed),
            self.compressed_bytes.load(Ordering::Relaxed),
        );
        let events = self.events.load(Ordering::Relaxed);
        if rows == 0 || bytes == 0 || events == 0 {
            return None;
        }
        let wire = self.wire_bytes.load(Ordering::Relaxed) as f64 * rows.min(events) as f64
            / events as f64;
        Some(wire / bytes as f64)
    }

    /// Samples the size of the files in `dir/events` and `dir/spool` into
    /// [`Counters::disk_bytes`] (two directory listings).
    pub fn sample_disk(&self, dir: &Path) {
        // A file the writer renames (a committed segment) or replaces (a
        // restarted spool) between listing and stat is missed: list again.
        for _ in 0..3 {
            if let Some(bytes) = disk_usage(dir) {
                self.disk_bytes.store(bytes, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Bytes of the files in `dir/events` and `dir/spool`; None when a listed
/// file vanished meanwhile.
fn disk_usage(dir: &Path) -> Option<u64> {
    let mut bytes = 0;
    for sub in ["events", hindsight_format::spool::SPOOL_DIR] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_file() => bytes += m.len(),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
    Some(bytes)
}

/// What a session did.
#[derive(Debug, Clone)]
pub struct RecordSummary {
    /// Recording directory.
    pub dir: PathBuf,
    /// Rows written (incl. loss rows).
    pub events: u64,
    /// Records dropped in the kernel.
    pub lost: u64,
    /// Loss rows written.
    pub loss_rows: u64,
    /// Rows dropped by `--ignore-prefix` (in the kernel and in the decoder).
    pub ignored: u64,
    /// Of these, syscalls the kernel did not submit.
    pub ignored_kernel: u64,
    /// Records that could not be decoded.
    pub decode_errors: u64,
    /// Bytes received from the kernel.
    pub wire_bytes: u64,
    /// Bytes of committed segments.
    pub disk_bytes: u64,
    /// Committed segments.
    pub segments: usize,
    /// Segments deleted by `--max-size` (ring mode), and the rows they held:
    /// `events` counts them, `segments` and `disk_bytes` do not.
    pub deleted_segments: u64,
    /// Rows of the deleted segments.
    pub deleted_events: u64,
    /// Wall time recorded.
    pub elapsed: Duration,
    /// Exit code of the recorded command (128 + the signal when one
    /// killed it).
    pub exit_code: Option<i32>,
    /// The signal that killed the recorded command, if one did.
    pub exit_signal: Option<i32>,
    /// Hooks attached.
    pub hooks_active: Vec<String>,
    /// Hooks not available, with reasons.
    pub hooks_unavailable: Vec<(String, String)>,
    /// The task's fields were read with BTF-checked plain loads (see
    /// [`RecordOptions::task_btf`]), not `bpf_probe_read_kernel`.
    pub task_btf: bool,
    /// Records went through ring-buffer dynptrs (see
    /// [`RecordOptions::dynptr`]), not `bpf_ringbuf_output`.
    pub dynptr: bool,
    /// Paths longer than 255 bytes were compared whole (see
    /// [`RecordOptions::long_names`]).
    pub long_names: bool,
    /// The recorder's CPU time, start-up included (the manifest's
    /// `totals.recorder_cpu_ns`).
    pub cpu: Option<Duration>,
    /// Of that, the start-up (`totals.recorder_startup_cpu_ns`).
    pub startup_cpu: Option<Duration>,
}

/// From the ring reader to the decode thread.
enum Msg {
    /// Packed records as the kernel sent them, back to back, and their
    /// lengths.
    Records(Vec<u8>, Vec<u32>),
    Loss {
        lost: u64,
        first_ns: u64,
        last_ns: u64,
    },
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn id_names(path: &str) -> BTreeMap<u32, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain clock_gettime into a local.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// The cgroup v2 mount point, from `/proc/mounts`.
pub fn cgroup2_root() -> Option<PathBuf> {
    std::fs::read_to_string("/proc/mounts")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
        })
}

fn cgroup_filter(path: &Path) -> Result<(u64, u32), RecordError> {
    use std::os::unix::fs::MetadataExt;
    let root = cgroup2_root()
        .ok_or_else(|| RecordError::Cgroup("no cgroup2 mount in /proc/mounts".into()))?;
    // An absolute path outside the mount is taken as relative to it (as
    // /proc/PID/cgroup writes them).
    let outside = path.is_absolute() && !path.starts_with(&root);
    let full = if path.is_absolute() && !outside {
        path.to_path_buf()
    } else {
        root.join(path.strip_prefix("/").unwrap_or(path))
    };
    // `..` and symbolic links resolved: the level is counted on the real
    // path, which must be a directory of the cgroup2 hierarchy.
    let real = std::fs::canonicalize(&full).map_err(|e| {
        // Say so when that is what happened.
        let taken = if outside {
            format!(
                " ({} is taken under the cgroup2 mount {}, as /proc/PID/cgroup writes paths)",
                path.display(),
                root.display()
            )
        } else {
            String::new()
        };
        RecordError::Cgroup(format!("{}: {e}{taken}", full.display()))
    })?;
    let real_root = std::fs::canonicalize(&root).unwrap_or(root.clone());
    let meta = std::fs::metadata(&real)
        .map_err(|e| RecordError::Cgroup(format!("{}: {e}", real.display())))?;
    let rel = match real.strip_prefix(&real_root) {
        Ok(rel) if meta.is_dir() && is_cgroup2(&real) => rel,
        _ => {
            return Err(RecordError::Cgroup(format!(
                "{} is not a cgroup of the cgroup2 hierarchy mounted at {}",
                real.display(),
                root.display()
            )));
        }
    };
    let level = rel.components().count() as u32;
    Ok((meta.ino(), level))
}

/// Whether `dir` lies on a cgroup2 file system.
fn is_cgroup2(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a zeroed statfs is a valid out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path, `st` a writable statfs.
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC }
}

fn check_prereqs() -> Result<(), RecordError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(RecordError::NotRoot);
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Err(RecordError::NoBtf);
    }
    Ok(())
}

struct Loaded {
    ebpf: Ebpf,
    hooks: Hooks,
}

fn load(
    config: &Config,
    ext: &ExtConfig,
    specs: &[(u32, SyscallSpec)],
    ring_bytes: u32,
) -> Result<Loaded, RecordError> {
    // Without whole-path comparison nothing uses LONG_NAMES, and kernels
    // without it (before 5.12) may refuse its 4 KiB key (5.10 does).
    let small;
    let (obj, long_names) = match ext.long_names {
        0 => {
            small = objfile::with_map_key_size(EBPF_OBJECT, "LONG_NAMES", 8)
                .ok_or_else(|| RecordError::Load("no LONG_NAMES map in the object".into()))?;
            (small.bytes(), 1)
        }
        _ => (EBPF_OBJECT, hindsight_recorder_common::LONG_NAMES_ENTRIES),
    };
    let ebpf = EbpfLoader::new()
        .override_global("CONFIG", config, true)
        .override_global("EXT", ext, true)
        .map_max_entries("EVENTS", ring_bytes)
        .map_max_entries("LONG_NAMES", long_names)
        .load(obj)
        .map_err(|e| RecordError::Load(format!("{e:#}")))?;
    let mut ebpf = ebpf;
    {
        let mut arr: Array<&mut MapData, SyscallSpec> =
            Array::try_from(ebpf.map_mut("SPECS").expect("SPECS map"))
                .map_err(|e| RecordError::Load(format!("SPECS: {e}")))?;
        for (nr, spec) in specs {
            arr.set(*nr, *spec, 0)
                .map_err(|e| RecordError::Load(format!("SPECS[{nr}]: {e}")))?;
        }
    }
    Ok(Loaded {
        ebpf,
        hooks: Hooks::default(),
    })
}

/// The core tracepoint programs, in attach order: `sched_switch` first, as it
/// moves a switched-out thread's syscall state out of the CPU's slot, which
/// `sys_enter` fills from its first call.
const CORE_PROGRAMS: [(&str, &str); 6] = [
    ("hs_switch", "sched_switch"),
    ("hs_sys_enter", "sys_enter"),
    ("hs_sys_exit", "sys_exit"),
    ("hs_fork", "sched_process_fork"),
    ("hs_exec", "sched_process_exec"),
    ("hs_exit", "sched_process_exit"),
];

/// The core program `prog` of the object.
fn core_program<'a>(l: &'a mut Loaded, prog: &str) -> Result<&'a mut RawTracePoint, RecordError> {
    l.ebpf
        .program_mut(prog)
        .expect("program in object")
        .try_into()
        .map_err(|e| RecordError::Load(format!("{prog}: {e}")))
}

/// Loads (verifies) the core programs without attaching them.
fn load_core(l: &mut Loaded) -> Result<(), RecordError> {
    for (prog, _) in CORE_PROGRAMS {
        core_program(l, prog)?
            .load()
            .map_err(|e| RecordError::Load(format!("{prog}: {e:#}")))?;
    }
    Ok(())
}

/// Loads the object, its core programs and the kernel-name hook.
///
/// With `ext.task_btf` set (and the kernel has `bpf_get_current_task_btf`,
/// 5.11), a kernel whose verifier refuses the BTF-typed loads of the task's
/// fields (a different layout of a field read) gets the object again with
/// `bpf_probe_read_kernel` reads instead. With the kernel-name hook on in
/// `ext`, a hook that does not load or attach gets the object again with
/// it off, so that no program waits for kernel copies of names that never
/// come (that would make every long path a mismatch). The hook's outcome
/// is kept for the manifest ([`hooks::report_names`]).
fn load_verified(
    config: &Config,
    ext: &mut ExtConfig,
    specs: &[(u32, SyscallSpec)],
    ring_bytes: u32,
    btf: &Btf,
    names_missing: Option<String>,
) -> Result<(Loaded, Result<(), String>), RecordError> {
    if !btf.has_func("bpf_get_current_task_btf") {
        ext.task_btf = 0;
    }
    let mut loaded = match load(config, ext, specs, ring_bytes) {
        // A kernel may have the hook's cache argument (backported) and still
        // refuse LONG_NAMES's 4 KiB key (before 5.11): compare without it.
        Err(e) if ext.long_names != 0 => {
            log::warn!(
                "loading failed ({e}); trying again without whole comparison of paths over 255 bytes"
            );
            ext.long_names = 0;
            load(config, ext, specs, ring_bytes)?
        }
        l => l?,
    };
    if let Err(e) = load_core(&mut loaded) {
        if ext.task_btf == 0 {
            return Err(e);
        }
        log::info!("task fields read with bpf_probe_read_kernel: {e}");
        drop(loaded);
        ext.task_btf = 0;
        loaded = load(config, ext, specs, ring_bytes)?;
        load_core(&mut loaded)?;
    }
    if let Some(reason) = names_missing {
        return Ok((loaded, Err(reason)));
    }
    match hooks::attach_names(&mut loaded.ebpf) {
        Ok(()) => Ok((loaded, Ok(()))),
        Err(reason) => {
            drop(loaded);
            hooks::names_off(ext);
            let mut loaded = load(config, ext, specs, ring_bytes)?;
            load_core(&mut loaded)?;
            Ok((loaded, Err(reason)))
        }
    }
}

fn attach(l: &mut Loaded) -> Result<(), RecordError> {
    for (prog, tp) in CORE_PROGRAMS {
        core_program(l, prog)?
            .attach(tp)
            .map_err(|e| RecordError::Load(format!("attach {prog} to {tp}: {e:#}")))?;
        l.hooks.active.push(format!("raw_tracepoint/{tp}"));
    }
    // Optional: the kernel's copy of connect() addresses.
    let root = cgroup2_root();
    for (prog, name) in [
        ("hs_connect4", "cgroup/connect4"),
        ("hs_connect6", "cgroup/connect6"),
        ("hs_sendmsg4", "cgroup/sendmsg4"),
        ("hs_sendmsg6", "cgroup/sendmsg6"),
    ] {
        let res = (|| -> Result<(), String> {
            let root = root.as_ref().ok_or("no cgroup2 mount in /proc/mounts")?;
            let f = std::fs::File::open(root).map_err(|e| format!("{}: {e}", root.display()))?;
            let p: &mut CgroupSockAddr = l
                .ebpf
                .program_mut(prog)
                .ok_or("missing program")?
                .try_into()
                .map_err(|e| format!("{e}"))?;
            p.load().map_err(|e| format!("{e:#}"))?;
            // With bpf_link (5.7+) the kernel wants flags 0 and already
            // allows several programs per cgroup; `Single` passes 0.
            p.attach(f, CgroupAttachMode::Single)
                .map_err(|e| format!("{e:#}"))?;
            Ok(())
        })();
        match res {
            Ok(()) => l.hooks.active.push(name.to_string()),
            Err(reason) => {
                log::warn!("{name} unavailable: {reason}");
                l.hooks.unavailable.push(UnavailableHook {
                    name: name.to_string(),
                    reason,
                })
            }
        }
    }
    Ok(())
}

/// The ring reader thread: copies batches of records out of the ring
/// buffer for the decode thread (reusing the buffers it hands back) and
/// turns the kernel's loss counters into [`Msg::Loss`].
fn reader_loop(
    mut ring: RingBuf<MapData>,
    loss: PerCpuArray<MapData, LossCounter>,
    tx: mpsc::SyncSender<Msg>,
    spare: mpsc::Receiver<(Vec<u8>, Vec<u32>)>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let fd = ring.as_raw_fd();
    let mut seen_lost = 0u64;
    let mut last_loss_ns = 0u64;
    let mut check_loss = |tx: &mpsc::SyncSender<Msg>| {
        if let Ok(per_cpu) = loss.get(&0, 0) {
            let lost: u64 = per_cpu.iter().map(|c| c.lost).sum();
            if lost > seen_lost {
                let first = per_cpu
                    .iter()
                    .filter(|c| c.lost > 0)
                    .map(|c| c.first_ns)
                    .min()
                    .unwrap_or(0);
                let last = per_cpu.iter().map(|c| c.last_ns).max().unwrap_or(0);
                let start = if seen_lost == 0 { first } else { last_loss_ns };
                let _ = tx.send(Msg::Loss {
                    lost: lost - seen_lost,
                    first_ns: start,
                    last_ns: last,
                });
                counters.lost.store(lost, Ordering::Relaxed);
                seen_lost = lost;
                last_loss_ns = last;
            }
        }
    };
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        if !stopping {
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, 20) };
        }
        // Buffers the decode thread is done with: their memory is already
        // mapped, so no page faults for each batch.
        let (mut buf, mut lens) = spare
            .try_recv()
            .unwrap_or_else(|_| (Vec::with_capacity(64 * 1024), Vec::new()));
        let mut wire = 0;
        while let Some(item) = ring.next() {
            // Copied as packed (several times smaller than the fixed
            // layout); the decode thread lays each record out again.
            buf.extend_from_slice(&item);
            lens.push(item.len() as u32);
            wire += item.len();
            if lens.len() >= 4096 {
                break;
            }
        }
        check_loss(&tx);
        let n = lens.len();
        if n > 0 {
            counters
                .wire_bytes
                .fetch_add(wire as u64, Ordering::Relaxed);
            if tx.send(Msg::Records(buf, lens)).is_err() {
                return;
            }
        }
        if stopping && n == 0 {
            return;
        }
    }
}

struct WriterResult {
    manifest: Manifest,
    ignored: u64,
    decode_errors: u64,
}

/// The decode thread: wire records to rows (sequence numbers, loss rows),
/// batched into Arrow for the write thread ([`pipeline::WriteStage`]).
fn writer_loop(
    writer: RecordingWriter,
    mut decoder: Decoder,
    initial: Vec<Event>,
    rx: mpsc::Receiver<Msg>,
    spare: mpsc::SyncSender<(Vec<u8>, Vec<u32>)>,
    counters: Arc<Counters>,
) -> Result<WriterResult, RecordError> {
    let stage = pipeline::WriteStage::spawn(writer, counters.clone());
    let mut decode_errors = 0u64;
    let mut seq = 0u64;
    let mut pending = pipeline::Pending::default();
    for mut e in initial {
        e.seq = seq;
        seq += 1;
        pending.push(&e);
    }
    let mut record = Vec::with_capacity(4096);
    let mut writing = true;
    while writing {
        let msg = rx.recv_timeout(Duration::from_millis(50));
        match msg {
            Ok(Msg::Records(mut buf, mut lens)) => {
                let mut off = 0usize;
                for &len in &lens {
                    let packed = &buf[off..off + len as usize];
                    off += len as usize;
                    // One record at a time into a buffer that stays in cache.
                    record.clear();
                    crate::wire::unpack_into(packed, &mut record);
                    match decoder.decode_into(&record, seq, pending.rows()) {
                        Ok(true) => seq += 1,
                        Ok(false) => {}
                        Err(err) => {
                            decode_errors += 1;
                            log::debug!("{err}");
                        }
                    }
                }
                buf.clear();
                lens.clear();
                // Back to the reader; dropped when it has enough spares.
                let _ = spare.try_send((buf, lens));
            }
            Ok(Msg::Loss {
                lost,
                first_ns,
                last_ns,
            }) => {
                let mut e = decoder.loss_event(lost, first_ns, last_ns);
                e.seq = seq;
                seq += 1;
                pending.push(&e);
                writing = stage.lost(lost);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if writing && pending.due() {
            writing = send(&stage, &mut pending, &counters);
        }
    }
    if writing {
        send(&stage, &mut pending, &counters);
    }
    let ignored = decoder.ignored;
    // After a write error this returns it (the writer thread stopped first).
    let manifest = stage.finish().map_err(RecordError::Write)?;
    Ok(WriterResult {
        manifest,
        ignored,
        decode_errors,
    })
}

fn send(stage: &pipeline::WriteStage, pending: &mut pipeline::Pending, c: &Counters) -> bool {
    c.events.fetch_add(pending.len() as u64, Ordering::Relaxed);
    stage.send(pending)
}

/// Records until the command exits, `stop` is set, or the duration passes.
/// `progress` is called about once a second while recording.
pub fn record(
    opts: &RecordOptions,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Counters, Duration),
) -> Result<RecordSummary, RecordError> {
    check_prereqs()?;
    let specs = syscalls::parse_set(&opts.syscalls).map_err(RecordError::Syscalls)?;
    let btf = Btf::from_sys_fs().map_err(RecordError::Btf)?;
    if !btf.has_func("bpf_ringbuf_output") {
        return Err(RecordError::NoRingBuf(read_trim(
            "/proc/sys/kernel/osrelease",
        )));
    }
    let off = offsets::resolve(&btf).map_err(RecordError::Btf)?;
    let (cgroup_id, cgroup_level) = match &opts.cgroup {
        Some(p) => cgroup_filter(p)?,
        None => (0, 0),
    };
    if !opts.ring_bytes.is_power_of_two() || opts.ring_bytes < 4096 {
        return Err(RecordError::Options(format!(
            "ring-buffer size {} must be a power of two of at least 4096",
            opts.ring_bytes
        )));
    }
    let config = Config {
        self_tgid: std::process::id(),
        filter_tracked: matches!(opts.target, Target::Command(_)) as u32,
        cgroup_id,
        cgroup_level,
        wakeup_bytes: (opts.ring_bytes / 8).max(4096),
        off,
    };
    let ignore_dirs = hooks::ignore_dirs(&opts.ignore_prefixes);
    let (mut ext, names_missing) = hooks::ext_config(&btf, ignore_dirs.len());
    ext.task_btf = opts.task_btf as u32;
    ext.dynptr &= opts.dynptr as u32;
    ext.long_names &= opts.long_names as u32;
    let (mut loaded, names) = load_verified(
        &config,
        &mut ext,
        &specs,
        opts.ring_bytes,
        &btf,
        names_missing,
    )?;
    hooks::fill_ignore_dirs(&mut loaded.ebpf, &ignore_dirs)?;
    // Hold the command before exec and put its pid in the filter first.
    let held: Option<Held> = match &opts.target {
        Target::Command(argv) => {
            let h = spawn::spawn_held(argv)?;
            // The tracked set is a bitmap: bit `tgid % 64` of word `tgid / 64`.
            let mut tracked: Array<&mut MapData, u64> =
                Array::try_from(loaded.ebpf.map_mut("TRACKED").expect("TRACKED map"))
                    .map_err(|e| RecordError::Load(format!("TRACKED: {e}")))?;
            let pid = h.pid as u32;
            tracked
                .set(pid / 64, 1u64 << (pid % 64), 0)
                .map_err(|e| RecordError::Load(format!("TRACKED: {e}")))?;
            Some(h)
        }
        Target::Host => None,
    };
    let snap_ns = hindsight_format::writer::now_ns();
    if let Err(e) = attach(&mut loaded) {
        if let Some(h) = held {
            spawn::kill(h.pid, libc::SIGKILL);
        }
        return Err(e);
    }
    hooks::report_names(&names, &mut loaded.hooks);
    let probes = hooks::probe_trampolines(&mut loaded.ebpf);
    let hook_probes = hooks::report_probes(&probes, &mut loaded.hooks);
    // Host facts and the manifest.
    let host_name = read_trim("/proc/sys/kernel/hostname");
    let boot_id = read_trim("/proc/sys/kernel/random/boot_id");
    let mono_to_wall = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC);
    let users = id_names("/etc/passwd");
    let groups = id_names("/etc/group");
    let start_ns = hindsight_format::writer::now_ns();
    let mut manifest = Manifest {
        host_name: host_name.clone(),
        kernel_release: read_trim("/proc/sys/kernel/osrelease"),
        boot_id: boot_id.clone(),
        clock: Clock {
            monotonic_to_wall_ns: mono_to_wall,
            source: "bpf_ktime_get_ns".into(),
        },
        hooks: loaded.hooks.clone(),
        users: users.clone(),
        groups,
        ..Manifest::default()
    };
    manifest.set_start(start_ns);
    let mut cfg = serde_json::Map::new();
    cfg.insert("syscalls".into(), opts.syscalls.clone().into());
    cfg.insert("syscall_count".into(), specs.len().into());
    // The calls themselves: what a set such as `default` meant for this
    // recorder (it changes between versions; `close` joined it later).
    let mut calls: Vec<&str> = specs
        .iter()
        .filter_map(|(nr, _)| syscalls::name(*nr))
        .collect();
    calls.sort_unstable();
    cfg.insert("syscall_names".into(), calls.into());
    cfg.insert(
        "target".into(),
        match &opts.target {
            Target::Command(a) => serde_json::json!({"command": a}),
            Target::Host => "host".into(),
        },
    );
    if let Some(c) = &opts.cgroup {
        cfg.insert("cgroup".into(), c.display().to_string().into());
    }
    cfg.insert(
        "ignore_prefixes".into(),
        opts.ignore_prefixes.clone().into(),
    );
    cfg.insert("ring_buffer_bytes".into(), opts.ring_bytes.into());
    cfg.insert("hook_probes".into(), hook_probes);
    cfg.insert(
        "kernel_features".into(),
        hooks::kernel_features(&ext, names.is_ok()),
    );
    manifest.recorder_config = cfg;
    let taken = outdir::take_over(&opts.out_dir).map_err(RecordError::OutDir);
    let created = taken.and_then(|out| {
        match RecordingWriter::create(&opts.out_dir, manifest, opts.writer.clone()) {
            Ok(w) => Ok((w, out)),
            Err(e) => {
                // What it made before it failed goes, and the directory
                // (and its parents) if the recorder made it.
                out.remove_recording();
                Err(RecordError::Create(e))
            }
        }
    });
    let (writer, out) = match created {
        Ok(w) => w,
        Err(e) => {
            if let Some(h) = held {
                spawn::kill(h.pid, libc::SIGKILL);
            }
            return Err(e);
        }
    };
    let host = HostInfo {
        host_name,
        boot_id,
        monotonic_to_wall_ns: mono_to_wall,
        users: users.into_iter().collect(),
    };
    // Whole host: what was already running (after attach, so a process is
    // either here or seen forking), stamped just before the attach.
    let mut initial = Vec::new();
    let mut seeds = Vec::new();
    if matches!(opts.target, Target::Host) {
        let root = cgroup2_root();
        let within = opts.cgroup.as_ref().zip(root.as_ref()).map(|(c, r)| {
            if c.is_absolute() && c.starts_with(r) {
                c.clone()
            } else {
                r.join(c.strip_prefix("/").unwrap_or(c))
            }
        });
        let me = std::process::id() as i32;
        for (pid, facts, info, cgroup_id) in
            snapshot::read_processes(me, root.as_deref(), within.as_deref())
        {
            initial.push(snapshot::snapshot_event(
                &host, snap_ns, pid, &facts, &info, cgroup_id,
            ));
            seeds.push((pid, info));
        }
    }
    let mut decoder = Decoder::new(host, opts.ignore_prefixes.clone());
    for (pid, info) in seeds {
        decoder.seed(pid, info);
    }
    if let Some(h) = &held {
        // The recorder never records itself: not its child before exec.
        decoder.hold(h.pid);
    }
    let ring = RingBuf::try_from(loaded.ebpf.take_map("EVENTS").expect("EVENTS map"))
        .map_err(|e| RecordError::Load(format!("EVENTS: {e}")))?;
    let loss: PerCpuArray<MapData, LossCounter> =
        PerCpuArray::try_from(loaded.ebpf.take_map("LOSS").expect("LOSS map"))
            .map_err(|e| RecordError::Load(format!("LOSS: {e}")))?;
    let counters = Arc::new(Counters::default());
    let reader_stop = Arc::new(AtomicBool::new(false));
    // Bounded: a decoder that falls behind makes the kernel count loss
    // rather than the recorder's memory grow without limit.
    let (tx, rx) = mpsc::sync_channel(64);
    let (spare_tx, spare_rx) = mpsc::sync_channel(4);
    let reader = {
        let (stop, counters) = (reader_stop.clone(), counters.clone());
        std::thread::Builder::new()
            .name("hs-ring".into())
            .spawn(move || reader_loop(ring, loss, tx, spare_rx, stop, counters))
            .expect("spawn reader")
    };
    let mut writer_thread = Some({
        let counters = counters.clone();
        std::thread::Builder::new()
            .name("hs-decode".into())
            .spawn(move || writer_loop(writer, decoder, initial, rx, spare_tx, counters))
            .expect("spawn decoder")
    });
    let mut ebpf = Some(loaded.ebpf);
    let mut ignored_kernel = 0;
    // The writer's result, taken early when it stopped on an error.
    let mut written = None;
    counters
        .startup_cpu_ns
        .store(process_cpu_ns().max(1), Ordering::Relaxed);
    let started = Instant::now();
    let mut ended = None;
    let mut child = None;
    let mut release_err = None;
    if let Some(h) = held {
        let program = match &opts.target {
            Target::Command(a) => a[0].clone(),
            Target::Host => String::new(),
        };
        match h.release(&program) {
            Ok(pid) => child = Some(pid),
            Err(e) => release_err = Some(e),
        }
    }
    let mut last_progress = Instant::now();
    let mut forwarded = false;
    if release_err.is_none() {
        loop {
            std::thread::sleep(Duration::from_millis(20));
            if let Some(pid) = child {
                if let Some(end) = spawn::try_wait(pid) {
                    ended = Some(end);
                    break;
                }
                if stop.load(Ordering::SeqCst) && !forwarded {
                    spawn::kill(pid, libc::SIGTERM);
                    forwarded = true;
                }
            } else if stop.load(Ordering::SeqCst) {
                break;
            }
            // The writer stopped on an error (a full disk): stop recording
            // at once, and say so while the command runs on.
            if written.is_none() && writer_thread.as_ref().is_some_and(|t| t.is_finished()) {
                reader_stop.store(true, Ordering::SeqCst);
                if let Some(b) = ebpf.take() {
                    ignored_kernel = hooks::ignored_in_kernel(&b);
                }
                let res = join_writer(writer_thread.take());
                let why = match &res {
                    Err(e) => e.to_string(),
                    // Only when the ring-buffer reader died (a panic).
                    Ok(_) => "the ring-buffer reader stopped unexpectedly".to_string(),
                };
                let _ = counters.stopped.set(why);
                progress(&counters, started.elapsed());
                written = Some(res);
                if child.is_none() {
                    break;
                }
            }
            if opts.duration.is_some_and(|d| started.elapsed() >= d) {
                if let Some(pid) = child {
                    // As `timeout --foreground -k 2s`: SIGTERM, and SIGKILL for a command
                    // still running 2 s later (one that ignores SIGTERM was
                    // left running, and record exited 0).
                    ended = end_command(pid);
                }
                break;
            }
            if written.is_none() && last_progress.elapsed() >= Duration::from_secs(1) {
                counters.sample_disk(&opts.out_dir);
                progress(&counters, started.elapsed());
                last_progress = Instant::now();
            }
        }
    }
    let elapsed = started.elapsed();
    // Let the last records arrive, detach the programs, then drain and stop:
    // every record the programs wrote while attached is read (stopping the
    // reader first left those written in between unread, and uncounted).
    std::thread::sleep(Duration::from_millis(50));
    if let Some(b) = ebpf.take() {
        ignored_kernel = hooks::ignored_in_kernel(&b);
    }
    // A program already running on another CPU when its link closed may
    // still commit a record: the reader goes on for a moment.
    std::thread::sleep(Duration::from_millis(20));
    reader_stop.store(true, Ordering::SeqCst);
    let _ = reader.join();
    let res = match written {
        Some(res) => res,
        None => join_writer(writer_thread.take()),
    };
    if let Some(e) = release_err {
        // The command never ran: nothing worth keeping was recorded, and a
        // new attempt must be able to use the same directory.
        out.remove_recording();
        return Err(e);
    }
    // After a write error, what the writer left: its last manifest
    // (committed segments, `stopped`).
    let (res, error) = match res {
        Ok(res) => (res, None),
        Err(RecordError::Write(error)) => {
            let res = WriterResult {
                manifest: Manifest::read(&opts.out_dir).unwrap_or_default(),
                ignored: 0,
                decode_errors: 0,
            };
            (res, Some(error))
        }
        Err(e) => return Err(e),
    };
    let mut summary = summarize(opts, &res, &counters, &ext, elapsed, ended, ignored_kernel);
    let Some(error) = error else {
        return Ok(summary);
    };
    // Rows the writer made durable beyond its segments (checkpoint, spool),
    // which `hindsight recover` turns into a segment.
    if let Ok(r) = hindsight_format::Recording::open(&opts.out_dir) {
        summary.events = summary.events.max(r.rows());
    }
    Err(RecordError::Stopped {
        error,
        summary: Box::new(summary),
    })
}

/// Joins the decode thread (once).
fn join_writer(
    thread: Option<std::thread::JoinHandle<Result<WriterResult, RecordError>>>,
) -> Result<WriterResult, RecordError> {
    let panicked = || {
        RecordError::Write(hindsight_format::FormatError::Invalid(
            "writer thread panicked".into(),
        ))
    };
    thread
        .ok_or_else(panicked)?
        .join()
        .map_err(|_| panicked())?
}

/// The session's summary from the writer's result.
fn summarize(
    opts: &RecordOptions,
    res: &WriterResult,
    counters: &Counters,
    ext: &ExtConfig,
    elapsed: Duration,
    ended: Option<spawn::Ended>,
    ignored_kernel: u64,
) -> RecordSummary {
    let m = &res.manifest;
    RecordSummary {
        dir: opts.out_dir.clone(),
        events: m.totals.events_recorded,
        lost: m.totals.lost(),
        loss_rows: m.totals.loss_rows,
        ignored: res.ignored + ignored_kernel,
        ignored_kernel,
        decode_errors: res.decode_errors,
        wire_bytes: counters.wire_bytes.load(Ordering::Relaxed),
        disk_bytes: m.segment_bytes(),
        segments: m.segments.len(),
        deleted_segments: m.deleted_segments,
        deleted_events: m.deleted_events,
        elapsed,
        exit_code: ended.map(|e| e.code),
        exit_signal: ended.and_then(|e| e.signal),
        hooks_active: m.hooks.active.clone(),
        hooks_unavailable: m
            .hooks
            .unavailable
            .iter()
            .map(|u| (u.name.clone(), u.reason.clone()))
            .collect(),
        task_btf: ext.task_btf != 0,
        dynptr: ext.dynptr != 0,
        long_names: ext.long_names != 0,
        cpu: m.totals.recorder_cpu_ns.map(Duration::from_nanos),
        startup_cpu: m.totals.recorder_startup_cpu_ns.map(Duration::from_nanos),
    }
}

/// Ends the command `pid` at `--duration`: SIGTERM, then SIGKILL if it is
/// still running 2 s later; its exit code (128 + the signal when one killed
/// it), or `None` if it could not be reaped.
fn end_command(pid: i32) -> Option<spawn::Ended> {
    let wait = |limit: Duration| {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(end) = spawn::try_wait(pid) {
                return Some(end);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    };
    spawn::kill(pid, libc::SIGTERM);
    wait(Duration::from_secs(2)).or_else(|| {
        spawn::kill(pid, libc::SIGKILL);
        wait(Duration::from_secs(5))
    })
}
