//! Shared maps, the load-time `CONFIG`, and helpers that read kernel memory
//! at BTF-resolved offsets (`bpf_probe_read_kernel`, never baked-in layouts).

use core::cmp::{max, min};

use aya_ebpf::{
    bindings::bpf_dynptr,
    helpers::generated as h,
    macros::map,
    maps::{Array, HashMap, PerCpuArray, RingBuf},
};
use hindsight_recorder_common::{
    AUX_LEN, Config, EntryState, F_EXEC_KNAME, F_KNAME1, F_KNAME1_BYTES, F_KNAME1_DIFF, F_KNAME2,
    F_KNAME2_BYTES, F_KNAME2_DIFF, F_USER_PATH, F_USER_PATH2, F_USER_TRUNC, F_USER_TRUNC2,
    KIND_SYSCALL, KPATH_LEN, KPATH_OFF_MASK, LossCounter, MAX_SYSCALLS, NAME_LEN, ProcIds,
    SyscallSpec, TRACKED_WORDS, USER_PATH_LEN, WireEvent, WireHeader,
};

/// Load-time configuration; user space fills it with `EbpfLoader::set_global`.
#[unsafe(no_mangle)]
pub static CONFIG: Config = unsafe { core::mem::zeroed() };

/// Events to user space.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(8 * 1024 * 1024, 0);

/// Per-CPU count of records that did not fit into `EVENTS`.
#[map]
pub static LOSS: PerCpuArray<LossCounter> = PerCpuArray::with_max_entries(1, 0);

/// Capture spec per syscall number.
#[map]
pub static SPECS: Array<SyscallSpec> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// Tracked thread-group ids (when `CONFIG.filter_tracked` is set): one bit
/// per id up to the kernel's `PID_MAX_LIMIT`, bit `tgid % 64` of word
/// `tgid / 64` ([`track`]). Every syscall of every process asks it; the
/// verifier inlines an array lookup into an address computation, where a
/// hash lookup cost ~35 ns (and a full hash map left new children out).
#[map]
pub static TRACKED: Array<u64> = Array::with_max_entries(TRACKED_WORDS, 0);

/// Syscall entry state of threads that were switched out during a recorded
/// syscall, per thread id ([`hs_switch`] moves it here from the CPU's
/// [`CPU_ENTRY`] slot); marked [`IDLE`] when consumed and deleted when the
/// thread exits.
#[map]
pub static ENTRY: HashMap<u32, EntryState> = HashMap::with_max_entries(16384, 0);

/// [`EntryState::nr`] of a thread with no recorded syscall in flight.
pub const IDLE: u32 = u32::MAX;

/// The entry state of the recorded syscall in flight on this CPU, tagged
/// with its thread id. A thread cannot leave its CPU during a syscall
/// without `sched_switch`, which moves a state still in flight to
/// [`ENTRY`]; so at exit the slot is this thread's when its tid matches,
/// and otherwise the state is in [`ENTRY`]. Two hash lookups per syscall
/// (entry and exit) become two array lookups, which the verifier inlines.
#[map]
pub static CPU_ENTRY: PerCpuArray<EntryState> = PerCpuArray::with_max_entries(1, 0);

/// Scratch space to build a `WireEvent`.
#[map]
pub static EVENT_SCRATCH: PerCpuArray<WireEvent> = PerCpuArray::with_max_entries(1, 0);

/// Reads one field of `CONFIG` without letting the compiler fold it.
macro_rules! conf {
    ($($field:tt)+) => {
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!($crate::kernel::CONFIG.$($field)+)) }
    };
}
pub(crate) use conf;

/// Reads a `T` at kernel address `base + off`; zero when unreadable.
#[inline(always)]
pub fn rd<T: Copy>(base: u64, off: u32) -> T {
    let mut v = core::mem::MaybeUninit::<T>::zeroed();
    unsafe {
        let r = h::bpf_probe_read_kernel(
            v.as_mut_ptr().cast(),
            core::mem::size_of::<T>() as u32,
            (base + off as u64) as *const core::ffi::c_void,
        );
        if r < 0 {
            return core::mem::zeroed();
        }
        v.assume_init()
    }
}

/// Whether events of this thread group are recorded.
#[inline(always)]
pub fn tracked(tgid: u32) -> bool {
    if tgid == conf!(self_tgid) {
        return false;
    }
    if conf!(filter_tracked) != 0 {
        let word = TRACKED.get(tgid >> 6).copied().unwrap_or(0);
        if (word >> (tgid & 63)) & 1 == 0 {
            return false;
        }
    }
    let cg = conf!(cgroup_id);
    if cg != 0 {
        let level = conf!(cgroup_level) as i32;
        if unsafe { h::bpf_get_current_ancestor_cgroup_id(level) } != cg {
            return false;
        }
    }
    true
}

/// Adds `tgid` to (`on`) or removes it from the tracked set.
///
/// Other CPUs may flip other bits of the same word at the same time, so the
/// change is one atomic add (BPF has atomic add in every version; core's
/// atomics offer no read-modify-write on this target). Adding is only right
/// when the bit is not already as wanted, which is checked first: a bit is
/// set once, when its process is forked (or started by the recorder), and
/// cleared once, when that process's last thread exits, so no two CPUs
/// change the same bit at once.
#[inline(always)]
pub fn track(tgid: u32, on: bool) {
    let Some(w) = TRACKED.get_ptr_mut(tgid >> 6) else {
        return;
    };
    let bit = 1u64 << (tgid & 63);
    let set = unsafe { core::ptr::read_volatile(w) } & bit != 0;
    if set == on {
        return;
    }
    let delta = if on { bit } else { bit.wrapping_neg() };
    // SAFETY: `w` is an 8-aligned u64 in the array's memory.
    unsafe { core::arch::asm!("lock *(u64 *)({0} + 0) += {1}", in(reg) w, in(reg) delta) };
}

/// Counts one record that did not fit into the ring buffer.
#[inline(always)]
pub fn count_loss() {
    if let Some(c) = LOSS.get_ptr_mut(0) {
        let now = unsafe { h::bpf_ktime_get_ns() };
        unsafe {
            (*c).lost += 1;
            if (*c).first_ns == 0 {
                (*c).first_ns = now;
            }
            (*c).last_ns = now;
        }
    }
}

/// The slot for the calling thread's new syscall: this CPU's [`CPU_ENTRY`],
/// now tagged with `tid` (a state still in flight there is this thread's
/// own from a syscall whose exit was not seen; any other thread's was moved
/// out when it was switched out).
#[inline(always)]
pub fn entry_slot(tid: u32) -> Option<*mut EntryState> {
    let s = CPU_ENTRY.get_ptr_mut(0)?;
    unsafe { (*s).tid = tid };
    Some(s)
}

/// The calling thread's entry state of the syscall in flight, if any: the
/// CPU's slot when it is tagged with `tid`, else the state moved to
/// [`ENTRY`] when the thread was switched out (which may be [`IDLE`]).
#[inline(always)]
pub fn cur_entry(tid: u32) -> Option<*mut EntryState> {
    if let Some(s) = CPU_ENTRY.get_ptr_mut(0)
        && unsafe { (*s).tid } == tid
        && unsafe { (*s).nr } != IDLE
    {
        return Some(s);
    }
    ENTRY.get_ptr_mut(&tid)
}

/// Forgets the CPU slot's state when it belongs to `tid` (a thread that
/// exits, or the old id of a thread that exec'd).
#[inline(always)]
pub fn drop_slot(tid: u32) {
    if let Some(s) = CPU_ENTRY.get_ptr_mut(0)
        && unsafe { (*s).tid } == tid
    {
        unsafe { (*s).nr = IDLE };
    }
}

/// `sched_switch`, in the context of the task being switched out: its
/// syscall state still in this CPU's slot moves to [`ENTRY`], so that the
/// exit finds it on whichever CPU the thread resumes, and no other thread's
/// syscall overwrites it here. Attached before `sys_enter`.
#[aya_ebpf::macros::raw_tracepoint(tracepoint = "sched_switch")]
pub fn hs_switch(_ctx: aya_ebpf::programs::RawTracePointContext) -> i32 {
    let tid = unsafe { h::bpf_get_current_pid_tgid() } as u32;
    if tid == 0 {
        return 0;
    }
    let Some(s) = CPU_ENTRY.get_ptr_mut(0) else {
        return 0;
    };
    if unsafe { (*s).tid } != tid || unsafe { (*s).nr } == IDLE {
        return 0;
    }
    if ENTRY.insert(&tid, unsafe { &*s }, 0).is_err() {
        count_loss();
    }
    unsafe { (*s).nr = IDLE };
    0
}

/// Marks the thread's syscall finished (its entry state stays for the next).
#[inline(always)]
pub fn entry_done(st: *mut EntryState) {
    unsafe { (*st).nr = IDLE };
}

/// Ring-buffer flags for a record of `len` bytes. Wake-ups are batched:
/// the reader polls on a short timer and is only woken early by the record
/// that makes the waiting data cross `wakeup_bytes` (BPF_RB_AVAIL_DATA = 0).
/// Not by every record above it: a wake-up is an irq_work self-IPI, which
/// costs microseconds in a VM, and a reader that is behind does not sleep
/// (its poll returns at once while data waits), so further wake-ups would
/// only burn the traced program's time.
#[inline(always)]
fn wake_flags(len: u32) -> u64 {
    let wake = conf!(wakeup_bytes) as u64;
    let waiting = EVENTS.query(0);
    if waiting < wake && waiting + len as u64 >= wake {
        2 // BPF_RB_FORCE_WAKEUP
    } else {
        1 // BPF_RB_NO_WAKEUP
    }
}

/// Bytes of one section to send: `n` if `present`, at most `max`. The
/// volatile re-read keeps the clamp where the verifier sees it.
#[inline(always)]
fn sect_len(present: bool, n: u32, max: u32) -> u32 {
    if !present {
        return 0;
    }
    let n = unsafe { core::ptr::read_volatile(&n) };
    if n > max { max } else { n }
}

/// Appends `n` bytes at `src` to the reserved record `d` at `*pos`.
#[inline(always)]
fn put(d: *mut bpf_dynptr, pos: &mut u32, src: *const u8, n: u32) {
    if n > 0 {
        unsafe { h::bpf_dynptr_write(d, *pos, src as *mut _, n, 0) };
        *pos += n;
    }
}

/// Sends the record in `ev` packed: the header, then the used bytes of
/// each section the record uses, in [`WireEvent`] order (the rule is
/// `hindsight_recorder_common::section_lens`), written straight into the
/// ring buffer. Sets `header.len` to the bytes sent; counts a loss when the
/// ring is full. A `stat` of a relative name sent ~2.3 KB when whole
/// sections went out; now its header, name and directory.
///
/// Not inlined: the verifier checks one copy, not one per caller path.
#[inline(always)]
pub fn send(ev: *mut WireEvent) {
    let e = unsafe { &*ev };
    send_from(ev, e.user_path.as_ptr(), e.user_path2.as_ptr());
}

/// [`send`] with the two user-path sections taken from `up1` and `up2`
/// (each [`USER_PATH_LEN`] bytes) instead of `ev`'s own: a syscall sends
/// them straight from its entry state, without copying them into `ev`.
#[inline(never)]
pub fn send_from(ev: *mut WireEvent, up1: *const u8, up2: *const u8) {
    let e = unsafe { &mut *ev };
    // A path cut short at entry, of a call that succeeded, whose kernel
    // copy was never seen, where whole paths are compared (`EXT.long_names`;
    // elsewhere the decoder leaves such a row undecided): the kernel used a
    // name the names hook could not attribute (e.g. one getname read twice,
    // shorter the second time), so nothing shows it equal to the entry copy. (Not mount's source, which
    // is no `struct filename`.) Here, at the end of every path of
    // `hs_sys_exit`, so that the verifier does not walk the exit twice.
    if e.header.kind == KIND_SYSCALL && e.header.ret >= 0 && crate::names::ext!(long_names) != 0 {
        let f = e.header.flags;
        let mut add = 0;
        if f & (F_USER_TRUNC | F_KNAME1) == F_USER_TRUNC
            && e.header.syscall_nr != crate::names::ext!(mount_nr)
        {
            add |= F_KNAME1 | F_KNAME1_DIFF;
        }
        if f & (F_USER_TRUNC2 | F_KNAME2) == F_USER_TRUNC2 {
            add |= F_KNAME2 | F_KNAME2_DIFF;
        }
        e.header.flags = f | add;
    }
    let f = e.header.flags;
    let u1 = sect_len(
        f & F_USER_PATH != 0,
        e.header.user_len as u32,
        USER_PATH_LEN as u32,
    );
    let u2 = sect_len(
        f & (F_USER_PATH2 | F_EXEC_KNAME) != 0,
        e.header.user_len2 as u32,
        USER_PATH_LEN as u32,
    );
    let k1 = sect_len(true, e.header.kpath_len, KPATH_LEN as u32);
    let k2 = sect_len(true, e.header.kpath2_len, KPATH_LEN as u32);
    let a = sect_len(true, e.header.aux_len, AUX_LEN as u32);
    let n1 = if f & F_KNAME1_BYTES != 0 {
        USER_PATH_LEN as u32
    } else {
        0
    };
    let n2 = if f & F_KNAME2_BYTES != 0 {
        USER_PATH_LEN as u32
    } else {
        0
    };
    let hdr = core::mem::size_of::<WireHeader>() as u32;
    let total = hdr + u1 + u2 + k1 + k2 + a + n1 + n2;
    e.header.len = total;
    let flags = wake_flags(total);
    if total == hdr {
        // Header only (most syscalls): one copy by the kernel.
        let bytes = unsafe { core::slice::from_raw_parts(ev.cast::<u8>(), hdr as usize) };
        if EVENTS.output::<[u8]>(bytes, flags).is_err() {
            count_loss();
        }
        return;
    }
    if crate::names::ext!(dynptr) == 0 {
        send_packed(ev, [up1, up2], [u1, u2, k1, k2, a, n1, n2], total, flags);
        return;
    }
    let mut dp = core::mem::MaybeUninit::<bpf_dynptr>::uninit();
    let d = dp.as_mut_ptr();
    let map = (&EVENTS as *const RingBuf).cast_mut().cast();
    if unsafe { h::bpf_ringbuf_reserve_dynptr(map, total, 0, d) } != 0 {
        // A failed reservation must still be released.
        unsafe { h::bpf_ringbuf_discard_dynptr(d, 0) };
        count_loss();
        return;
    }
    let mut pos = 0;
    put(d, &mut pos, ev.cast::<u8>(), hdr);
    put(d, &mut pos, up1, u1);
    put(d, &mut pos, up2, u2);
    put(d, &mut pos, e.kpath.as_ptr(), k1);
    put(d, &mut pos, e.kpath2.as_ptr(), k2);
    put(d, &mut pos, e.aux.as_ptr(), a);
    put(d, &mut pos, e.kname.as_ptr(), n1);
    put(d, &mut pos, e.kname2.as_ptr(), n2);
    unsafe { h::bpf_ringbuf_submit_dynptr(d, flags) };
}

/// Where [`send_packed`] lays a record out before it is copied into the
/// ring buffer (kernels without ring-buffer dynptrs).
#[map]
pub static PACKED: PerCpuArray<WireEvent> = PerCpuArray::with_max_entries(1, 0);

/// Appends `n` bytes at `src` to `dst` at `*pos`; `*pos + n` stays within a
/// [`WireEvent`] because each section's length is clamped to its own size.
#[inline(always)]
fn pack(dst: *mut u8, pos: &mut u32, src: *const u8, n: u32) {
    if n > 0 {
        unsafe {
            h::bpf_probe_read_kernel(dst.add(*pos as usize).cast(), n, src.cast());
        }
        *pos += n;
    }
}

/// [`send_from`] for kernels without ring-buffer dynptrs (Linux 5.8 to
/// 5.18): the same packed record, laid out in this CPU's [`PACKED`] first
/// and copied into the ring buffer by `bpf_ringbuf_output`, one more copy
/// than a dynptr needs. `lens` are the sections' bytes in [`WireEvent`]
/// order after the header, `total` their sum with the header's.
#[inline(always)]
fn send_packed(ev: *mut WireEvent, up: [*const u8; 2], lens: [u32; 7], total: u32, flags: u64) {
    let Some(dst) = PACKED.get_ptr_mut(0) else {
        count_loss();
        return;
    };
    let dst = dst.cast::<u8>();
    let e = unsafe { &*ev };
    let hdr = core::mem::size_of::<WireHeader>() as u32;
    let mut pos = 0;
    pack(dst, &mut pos, ev.cast::<u8>(), hdr);
    pack(dst, &mut pos, up[0], lens[0]);
    pack(dst, &mut pos, up[1], lens[1]);
    pack(dst, &mut pos, e.kpath.as_ptr(), lens[2]);
    pack(dst, &mut pos, e.kpath2.as_ptr(), lens[3]);
    pack(dst, &mut pos, e.aux.as_ptr(), lens[4]);
    pack(dst, &mut pos, e.kname.as_ptr(), lens[5]);
    pack(dst, &mut pos, e.kname2.as_ptr(), lens[6]);
    let total = sect_len(true, total, core::mem::size_of::<WireEvent>() as u32);
    let bytes = unsafe { core::slice::from_raw_parts(dst, total as usize) };
    if EVENTS.output::<[u8]>(bytes, flags).is_err() {
        count_loss();
    }
}

/// Scratch for one block read of `struct cred` (see [`fill_task`]).
#[map]
pub static CRED_SCRATCH: PerCpuArray<[u64; 8]> = PerCpuArray::with_max_entries(1, 0);

/// Fills the task-describing header fields from `task`, which must be the
/// current task (every caller runs in its context: syscall exit, fork in
/// the parent, exec, exit).
///
/// Kept to few kernel reads: tgid and tid come from
/// `bpf_get_current_pid_tgid`; the ids and capabilities of `struct cred`
/// (which keeps them within 64 bytes of one another) are one read into a
/// per-CPU scratch when the offsets allow it; `loginuid` and `sessionid`
/// are one read when adjacent. Every value is read afresh for every record:
/// nothing is cached across records, so no record can carry stale context.
#[inline(always)]
pub fn fill_task(ev: *mut WireEvent, task: u64) {
    fill_task_id(ev, task, unsafe { h::bpf_get_current_pid_tgid() });
}

/// `PIDTYPE_TGID` and `PIDTYPE_SID` in `enum pid_type` (PID, TGID, PGID,
/// SID since Linux 4.19, below the oldest kernel the recorder supports):
/// indexes of the process's and the session's `struct pid` in
/// `signal_struct.pids`.
const PIDTYPE_TGID: u32 = 1;
const PIDTYPE_SID: u32 = 3;

/// Writes `task`'s [`ProcIds`] (vpid, session, controlling terminal) into
/// `h.laddr`; false, and nothing written, when the kernel lacks a member of
/// the chains (the decoder then keeps what it knew).
#[inline(always)]
pub fn fill_proc_ids(h: &mut WireHeader, task: u64) -> bool {
    let level_off = conf!(off.pid_level);
    let numbers = conf!(off.pid_numbers);
    let upid_size = conf!(off.upid_size);
    let upid_nr = conf!(off.upid_nr);
    let pids = conf!(off.signal_pids);
    let tty_off = conf!(off.signal_tty);
    if level_off == u32::MAX
        || numbers == u32::MAX
        || upid_size == u32::MAX
        || upid_nr == u32::MAX
        || pids == u32::MAX
        || tty_off == u32::MAX
    {
        return false;
    }
    // The process's (thread group's) pid, not the calling thread's: setsid
    // may come from any thread. Its number at the level of its own
    // namespace.
    let signal = rd::<u64>(task, conf!(off.task_signal));
    let pid = rd::<u64>(signal, pids.wrapping_add(PIDTYPE_TGID * 8));
    let level = rd::<u32>(pid, level_off);
    let vpid = rd::<u32>(
        pid,
        numbers
            .wrapping_add(level.wrapping_mul(upid_size))
            .wrapping_add(upid_nr),
    );
    // The session's pid, at level 0 (the initial namespace, as /proc shows).
    let session = rd::<u64>(signal, pids.wrapping_add(PIDTYPE_SID * 8));
    let sid = rd::<u32>(session, numbers.wrapping_add(upid_nr));
    // tty_devnum(): the driver's first minor plus the tty's index.
    let tty = rd::<u64>(signal, tty_off);
    let mut dev = 0u32;
    let (index, driver) = (conf!(off.tty_index), conf!(off.tty_driver));
    let (major, minor_start) = (
        conf!(off.tty_driver_major),
        conf!(off.tty_driver_minor_start),
    );
    if tty != 0 && index != u32::MAX && driver != u32::MAX && major != u32::MAX {
        let drv = rd::<u64>(tty, driver);
        let minor = rd::<u32>(drv, minor_start).wrapping_add(rd::<u32>(tty, index));
        dev = (rd::<u32>(drv, major) << 20) | (minor & 0xf_ffff);
    }
    let ids = ProcIds {
        vpid,
        sid,
        tty: dev,
        valid: 1,
    };
    // SAFETY: `laddr` is 16 bytes, the size of ProcIds (asserted in common).
    unsafe { core::ptr::write_unaligned(h.laddr.as_mut_ptr().cast::<ProcIds>(), ids) };
    true
}

/// [`fill_task`] for a caller that already has `bpf_get_current_pid_tgid`.
#[inline(always)]
pub fn fill_task_id(ev: *mut WireEvent, task: u64, pid_tgid: u64) {
    let h = unsafe { &mut (*ev).header };
    h.tgid = (pid_tgid >> 32) as u32;
    h.tid = pid_tgid as u32;
    h.cgroup_id = unsafe { h::bpf_get_current_cgroup_id() };
    if crate::names::ext!(task_btf) != 0 {
        fill_task_btf(h);
        return;
    }
    let parent = rd::<u64>(task, conf!(off.task_real_parent));
    h.ppid = rd::<u32>(parent, conf!(off.task_tgid));
    let cred = rd::<u64>(task, conf!(off.task_cred));
    fill_cred(h, cred);
    let lo = conf!(off.task_loginuid);
    let so = conf!(off.task_sessionid);
    if lo != u32::MAX && so == lo + 4 {
        let both = rd::<u64>(task, lo);
        h.loginuid = both as u32;
        h.sessionid = (both >> 32) as u32;
    } else {
        h.loginuid = if lo == u32::MAX {
            u32::MAX
        } else {
            rd::<u32>(task, lo)
        };
        h.sessionid = if so == u32::MAX {
            u32::MAX
        } else {
            rd::<u32>(task, so)
        };
    }
    // Straight into the record (a stack copy would go through memmove),
    // as one plain read: `bpf_get_current_comm` copies and pads it with
    // strscpy_pad, about twice the cost. The kernel keeps `comm`
    // NUL-terminated within its 16 bytes.
    let comm = task + conf!(off.task_comm) as u64;
    unsafe {
        h::bpf_probe_read_kernel(h.comm.as_mut_ptr().cast(), 16, comm as *const _);
    }
}

/// A plain load of a `T` at `base + off`, where `base` is a BTF-typed
/// kernel pointer (`bpf_get_current_task_btf` or a pointer loaded through
/// one) and `off` a load-time constant from `CONFIG`: the verifier checks
/// the access against the running kernel's BTF and turns it into a
/// fault-safe load, without a helper call.
#[inline(always)]
fn ld<T: Copy>(base: u64, off: u32) -> T {
    unsafe { core::ptr::read_volatile((base + off as u64) as *const T) }
}

/// [`fill_task`] with plain loads through `bpf_get_current_task_btf`
/// (`EXT.task_btf`): the same fields, no `bpf_probe_read_kernel` calls.
#[inline(always)]
fn fill_task_btf(h: &mut WireHeader) {
    let task = unsafe { h::bpf_get_current_task_btf() } as u64;
    let parent = ld::<u64>(task, conf!(off.task_real_parent));
    h.ppid = ld::<u32>(parent, conf!(off.task_tgid));
    let cred = ld::<u64>(task, conf!(off.task_cred));
    h.uid = ld::<u32>(cred, conf!(off.cred_uid));
    h.gid = ld::<u32>(cred, conf!(off.cred_gid));
    h.euid = ld::<u32>(cred, conf!(off.cred_euid));
    h.cap_eff = ld::<u64>(cred, conf!(off.cred_cap_effective));
    h.cap_perm = ld::<u64>(cred, conf!(off.cred_cap_permitted));
    let lo = conf!(off.task_loginuid);
    let so = conf!(off.task_sessionid);
    h.loginuid = if lo == u32::MAX {
        u32::MAX
    } else {
        ld::<u32>(task, lo)
    };
    h.sessionid = if so == u32::MAX {
        u32::MAX
    } else {
        ld::<u32>(task, so)
    };
    let co = conf!(off.task_comm);
    let c0 = ld::<u64>(task, co);
    let c1 = ld::<u64>(task, co + 8);
    let comm = h.comm.as_mut_ptr().cast::<u64>();
    unsafe {
        core::ptr::write_volatile(comm, c0);
        core::ptr::write_volatile(comm.add(1), c1);
    }
}

/// Fills uid, gid, euid and the capabilities from `cred`: one 64-byte read
/// when the five members lie in one 8-aligned 64-byte window (they do in
/// every kernel since `struct cred` gained them), else one read each.
#[inline(always)]
fn fill_cred(h: &mut hindsight_recorder_common::WireHeader, cred: u64) {
    let (u, g, e) = (
        conf!(off.cred_uid),
        conf!(off.cred_gid),
        conf!(off.cred_euid),
    );
    let (ce, cp) = (conf!(off.cred_cap_effective), conf!(off.cred_cap_permitted));
    let lo = u & !7;
    let fits = u >= lo
        && g >= lo
        && e >= lo
        && ce >= lo
        && cp >= lo
        && g + 4 <= lo + 64
        && e + 4 <= lo + 64
        && ce + 8 <= lo + 64
        && cp + 8 <= lo + 64
        && (u | g | e) & 3 == 0
        && (ce | cp) & 7 == 0;
    if fits
        && let Some(w) = CRED_SCRATCH.get_ptr_mut(0)
        && unsafe { h::bpf_probe_read_kernel(w.cast(), 64, (cred + lo as u64) as *const _) } == 0
    {
        let w = unsafe { &*w };
        // A u32 at byte `o` of the window: word `o / 8`, half `o % 8 / 4`.
        let word32 = |o: u32| (w[((o >> 3) & 7) as usize] >> ((o & 4) * 8)) as u32;
        h.uid = word32(u - lo);
        h.gid = word32(g - lo);
        h.euid = word32(e - lo);
        h.cap_eff = w[(((ce - lo) >> 3) & 7) as usize];
        h.cap_perm = w[(((cp - lo) >> 3) & 7) as usize];
        return;
    }
    h.uid = rd::<u32>(cred, u);
    h.gid = rd::<u32>(cred, g);
    h.euid = rd::<u32>(cred, e);
    h.cap_eff = rd::<u64>(cred, ce);
    h.cap_perm = rd::<u64>(cred, cp);
}

/// The raw syscall arguments saved in `regs` (a `struct pt_regs *`): one
/// read when they lie within 64 bytes of one another (x86_64, arm64), one
/// read each otherwise.
#[inline(always)]
pub fn read_args(regs: u64) -> [u64; 6] {
    let o = [
        conf!(off.regs_arg[0]),
        conf!(off.regs_arg[1]),
        conf!(off.regs_arg[2]),
        conf!(off.regs_arg[3]),
        conf!(off.regs_arg[4]),
        conf!(off.regs_arg[5]),
    ];
    let lo = min(min(min(o[0], o[1]), min(o[2], o[3])), min(o[4], o[5]));
    let hi = max(max(max(o[0], o[1]), max(o[2], o[3])), max(o[4], o[5]));
    let mut w = core::mem::MaybeUninit::<[u64; 8]>::uninit();
    if hi + 8 - lo <= 64
        && (o[0] | o[1] | o[2] | o[3] | o[4] | o[5] | lo) & 7 == 0
        && unsafe {
            h::bpf_probe_read_kernel(w.as_mut_ptr().cast(), 64, (regs + lo as u64) as *const _)
        } == 0
    {
        // SAFETY: the read above filled all 64 bytes.
        let w = unsafe { w.assume_init() };
        let at = |off: u32| w[(((off - lo) >> 3) & 7) as usize];
        return [at(o[0]), at(o[1]), at(o[2]), at(o[3]), at(o[4]), at(o[5])];
    }
    [
        rd::<u64>(regs, o[0]),
        rd::<u64>(regs, o[1]),
        rd::<u64>(regs, o[2]),
        rd::<u64>(regs, o[3]),
        rd::<u64>(regs, o[4]),
        rd::<u64>(regs, o[5]),
    ]
}

/// The `struct file *` behind descriptor `fd` of `task` (0 if none).
#[inline(always)]
pub fn fd_file(task: u64, fd: i64) -> u64 {
    if fd < 0 {
        return 0;
    }
    if crate::names::ext!(task_btf) != 0 {
        // Plain loads down to the descriptor array (`task` is current).
        let t = unsafe { h::bpf_get_current_task_btf() } as u64;
        let files = ld::<u64>(t, conf!(off.task_files));
        if files == 0 {
            return 0;
        }
        let fdt = ld::<u64>(files, conf!(off.files_fdt));
        if fdt == 0 || fd >= ld::<u32>(fdt, conf!(off.fdtable_max_fds)) as i64 {
            return 0;
        }
        let arr = ld::<u64>(fdt, conf!(off.fdtable_fd));
        return rd::<u64>(arr, (fd as u32) * 8);
    }
    let files = rd::<u64>(task, conf!(off.task_files));
    if files == 0 {
        return 0;
    }
    let fdt = rd::<u64>(files, conf!(off.files_fdt));
    let max = rd::<u32>(fdt, conf!(off.fdtable_max_fds)) as i64;
    if fd >= max {
        return 0;
    }
    let arr = rd::<u64>(fdt, conf!(off.fdtable_fd));
    rd::<u64>(arr, (fd as u32) * 8)
}

/// Result of a dentry walk: bytes written and whether the global root was
/// reached.
pub struct Walk {
    /// Bytes of NUL-separated components written.
    pub len: u32,
    /// The walk reached the root of the initial mount namespace.
    pub complete: bool,
    /// The leaf is a disconnected root dentry (memfd, pipe, socket, anon
    /// inode on an internal mount): its own name was written, nothing else.
    pub pseudo: bool,
}

/// `dentry->d_parent` and `dentry->d_name.name`: one kernel read when the
/// name pointer lies 8 or 16 bytes after `d_parent` (it follows it in
/// `struct dentry`), else two.
#[inline(always)]
fn parent_and_name(dentry: u64) -> (u64, u64) {
    let p = conf!(off.dentry_d_parent);
    let n = conf!(off.dentry_d_name_name);
    if n == p + 8 || n == p + 16 {
        let mut w = core::mem::MaybeUninit::<[u64; 3]>::uninit();
        let r = unsafe {
            h::bpf_probe_read_kernel(w.as_mut_ptr().cast(), 24, (dentry + p as u64) as *const _)
        };
        if r < 0 {
            return (0, 0);
        }
        // SAFETY: the read above filled all 24 bytes.
        let w = unsafe { w.assume_init() };
        return (w[0], if n == p + 8 { w[1] } else { w[2] });
    }
    (rd::<u64>(dentry, p), rd::<u64>(dentry, n))
}

/// `path->mnt` and `path->dentry`: one 16-byte read when they are adjacent
/// (`struct path` is just the two), else two.
#[inline(always)]
fn path_parts(path: u64) -> (u64, u64) {
    let (mo, d) = (conf!(off.path_mnt), conf!(off.path_dentry));
    if (mo == 0 && d == 8) || (mo == 8 && d == 0) {
        let mut w = core::mem::MaybeUninit::<[u64; 2]>::uninit();
        let r = unsafe { h::bpf_probe_read_kernel(w.as_mut_ptr().cast(), 16, path as *const _) };
        if r < 0 {
            return (0, 0);
        }
        // SAFETY: the read above filled all 16 bytes.
        let w = unsafe { w.assume_init() };
        return if mo == 0 { (w[0], w[1]) } else { (w[1], w[0]) };
    }
    (rd::<u64>(path, mo), rd::<u64>(path, d))
}

/// Walks `struct path` at `path` up to the global root, crossing mount
/// points, writing component names leaf first (each NUL-terminated) into
/// `buf` (at least `KPATH_OFF_MASK + NAME_LEN` bytes).
///
/// Two kernel reads per component (parent and name pointer together, then
/// the name); the mount's root is read once per mount, not per component.
#[inline(always)]
pub fn walk_path(path: u64, buf: *mut u8) -> Walk {
    let (mut vfsmnt, mut dentry) = path_parts(path);
    let mount_mnt = conf!(off.mount_mnt) as u64;
    let mut mnt = vfsmnt.wrapping_sub(mount_mnt);
    let mut root = rd::<u64>(vfsmnt, conf!(off.vfsmount_mnt_root));
    let mut len: u32 = 0;
    let mut complete = false;
    let mut pseudo = false;
    let mut i = 0;
    while i < 48 {
        i += 1;
        if dentry == 0 || vfsmnt == 0 {
            break;
        }
        let (parent, name) = parent_and_name(dentry);
        if dentry == root || dentry == parent {
            if dentry != root {
                // A pseudo file's dentry is its own parent but not its
                // mount's root; as the leaf, keep its name (`memfd:NAME`).
                if len == 0 {
                    let n = unsafe {
                        h::bpf_probe_read_kernel_str(
                            buf.cast(),
                            NAME_LEN,
                            name as *const core::ffi::c_void,
                        )
                    };
                    if n > 0 {
                        len = n as u32;
                        pseudo = true;
                    }
                }
                break;
            }
            let mp = rd::<u64>(mnt, conf!(off.mount_mnt_parent));
            if mp == mnt || mp == 0 {
                complete = true;
                break;
            }
            dentry = rd::<u64>(mnt, conf!(off.mount_mnt_mountpoint));
            mnt = mp;
            vfsmnt = mnt + mount_mnt;
            root = rd::<u64>(vfsmnt, conf!(off.vfsmount_mnt_root));
            continue;
        }
        if len > KPATH_OFF_MASK {
            break;
        }
        // A volatile re-read hides the bound above from LLVM, so the mask
        // survives and the verifier sees the write offset bounded.
        let at = unsafe { core::ptr::read_volatile(&len) } & KPATH_OFF_MASK;
        let n = unsafe {
            h::bpf_probe_read_kernel_str(
                buf.add(at as usize).cast(),
                NAME_LEN,
                name as *const core::ffi::c_void,
            )
        };
        if n <= 0 {
            break;
        }
        len += n as u32;
        dentry = parent;
    }
    Walk {
        len,
        complete,
        pseudo,
    }
}

/// Fills inode, device, flags and mode of `file` and walks its path into
/// `buf`. Returns the walk (len 0 when `file` is 0).
#[inline(always)]
pub fn fill_file(ev: *mut WireEvent, file: u64, buf: *mut u8) -> Walk {
    if file == 0 {
        return Walk {
            len: 0,
            complete: false,
            pseudo: false,
        };
    }
    let h = unsafe { &mut (*ev).header };
    let inode = rd::<u64>(file, conf!(off.file_f_inode));
    fill_inode(h, inode);
    h.f_flags = rd::<u32>(file, conf!(off.file_f_flags));
    walk_path(file + conf!(off.file_f_path) as u64, buf)
}

/// Scratch for one read of a window of `struct inode` (see [`fill_inode`]).
#[map]
pub static INODE_SCRATCH: PerCpuArray<[u64; 16]> = PerCpuArray::with_max_entries(1, 0);

/// Fills inode number, mode and device of `inode`: `i_mode`, `i_sb` and
/// `i_ino` in one read when they lie in one 8-aligned 128-byte window (they
/// are 72 bytes apart here), else one read each; then the super block's
/// `s_dev`.
#[inline(always)]
fn fill_inode(h: &mut WireHeader, inode: u64) {
    let (m, sbo, ino) = (
        conf!(off.inode_i_mode),
        conf!(off.inode_i_sb),
        conf!(off.inode_i_ino),
    );
    let lo = min(m, min(sbo, ino)) & !7;
    let fits = m + 2 <= lo + 128
        && sbo + 8 <= lo + 128
        && ino + 8 <= lo + 128
        && m & 1 == 0
        && (sbo | ino) & 7 == 0;
    let mut sb = 0;
    let mut done = false;
    if fits
        && let Some(w) = INODE_SCRATCH.get_ptr_mut(0)
        && unsafe { h::bpf_probe_read_kernel(w.cast(), 128, (inode + lo as u64) as *const _) } == 0
    {
        let w = unsafe { &*w };
        let word = |o: u32| w[((o >> 3) & 15) as usize];
        h.ino = word(ino - lo);
        h.i_mode = ((word(m - lo) >> (((m - lo) & 6) * 8)) & 0xffff) as u32;
        sb = word(sbo - lo);
        done = true;
    }
    if !done {
        h.ino = rd::<u64>(inode, ino);
        h.i_mode = rd::<u16>(inode, m) as u32;
        sb = rd::<u64>(inode, sbo);
    }
    h.dev = rd::<u32>(sb, conf!(off.sb_s_dev));
}

/// Copies `src` to `dst` one u64 at a time. The accesses are volatile so
/// that LLVM cannot merge them back into a `memcpy`/`memmove` call: in BPF
/// those are compiler_builtins' byte-at-a-time loops (hundreds of
/// instructions for a 48-byte copy). `T` must be a whole number of u64s and
/// 8-aligned where it lives (asserted for the fields it is used on).
#[inline(always)]
pub fn copy_words<T: Copy>(dst: &mut T, src: &T) {
    const { assert!(core::mem::size_of::<T>() % 8 == 0) };
    let d = (dst as *mut T).cast::<u64>();
    let s = (src as *const T).cast::<u64>();
    let mut i = 0;
    while i < core::mem::size_of::<T>() / 8 {
        unsafe { core::ptr::write_volatile(d.add(i), core::ptr::read_volatile(s.add(i))) };
        i += 1;
    }
}

/// Stores `v` with a volatile store: neighbouring zero stores are not
/// merged into a (byte-at-a-time) `memset` call.
#[inline(always)]
pub fn set<T: Copy>(dst: &mut T, v: T) {
    unsafe { core::ptr::write_volatile(dst, v) };
}

// `copy_words` is used on these byte arrays: they must be 8-aligned.
const _: () = {
    use core::mem::offset_of;
    use hindsight_recorder_common::WireHeader;
    assert!(offset_of!(WireHeader, uaddr) % 8 == 0);
    assert!(offset_of!(WireHeader, kaddr) % 8 == 0);
    assert!(offset_of!(WireHeader, args) % 8 == 0);
    assert!(offset_of!(WireHeader, comm) % 8 == 0);
    assert!(offset_of!(EntryState, uaddr) % 8 == 0);
    assert!(offset_of!(EntryState, kaddr) % 8 == 0);
    assert!(offset_of!(EntryState, args) % 8 == 0);
    // `names::same_prefix` reads the entry copies 8 bytes at a time.
    assert!(offset_of!(EntryState, user_path) % 8 == 0);
    assert!(offset_of!(EntryState, user_path2) % 8 == 0);
};

/// Address of the current task.
#[inline(always)]
pub fn current_task() -> u64 {
    unsafe { h::bpf_get_current_task() }
}

/// Monotonic time in ns.
#[inline(always)]
pub fn now() -> u64 {
    unsafe { h::bpf_ktime_get_ns() }
}
