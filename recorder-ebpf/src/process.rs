//! Process lifecycle: `sched_process_fork` (children join the tracked set;
//! the row names the parent's in-flight clone-family call),
//! `sched_process_exec` (the binary the kernel executed, argv from the new
//! image, cwd) and `sched_process_exit` (last thread of a process).

use aya_ebpf::{helpers::generated as h, macros::raw_tracepoint, programs::RawTracePointContext};
use hindsight_recorder_common::{
    AUX_LEN, EntryState, F_AUX, F_EXE_OVERLAY, F_EXE_UPPER, F_EXEC_KNAME, F_FILE, F_KNAME1,
    F_KNAME1_DIFF, F_KPATH_COMPLETE, F_KPATH_PSEUDO, F_KPATH_WALK, F_KPATH2_COMPLETE,
    F_KPATH2_WALK, F_PROC_IDS, F_USER_PATH, F_USER_TRUNC, KIND_EXEC, KIND_EXIT, KIND_FORK,
    USER_PATH_LEN, WireHeader,
};

use crate::names::{LONG_NAMES, long_key};

use crate::kernel::{
    CPU_ENTRY, ENTRY, EVENT_SCRATCH, IDLE, conf, cur_entry, current_task, drop_slot, fill_file,
    fill_proc_ids, fill_task, now, rd, send, track, tracked, walk_path,
};

/// Resets the header fields a lifecycle event does not set.
#[inline(always)]
fn reset(h: &mut WireHeader, kind: u32) {
    h.kind = kind;
    h.flags = 0;
    h.syscall_nr = u32::MAX;
    h.ts_enter = now();
    h.ts_exit = 0;
    h.ret = 0;
    h.args = [0; 6];
    h.ino = 0;
    h.dev = 0;
    h.f_flags = 0;
    h.i_mode = 0;
    h.user_err = 0;
    h.user_err2 = 0;
    h.user_len = 0;
    h.user_len2 = 0;
    h.aux_int = 0;
    h.child_tgid = 0;
    h.kpath_len = 0;
    h.kpath2_len = 0;
    h.aux_len = 0;
    h.kaddr_family = 0;
    h.uaddr_family = 0;
    h.uaddr_err = 0;
}

#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn hs_fork(ctx: RawTracePointContext) -> i32 {
    let parent: u64 = ctx.arg(0);
    let child: u64 = ctx.arg(1);
    let ptgid = rd::<u32>(parent, conf!(off.task_tgid));
    if !tracked(ptgid) {
        return 0;
    }
    let ctgid = rd::<u32>(child, conf!(off.task_tgid));
    let ctid = rd::<u32>(child, conf!(off.task_pid));
    if conf!(filter_tracked) != 0 && ctgid != ptgid {
        track(ctgid, true);
    }
    let Some(ev) = EVENT_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    fill_task(ev, parent);
    let h = unsafe { &mut (*ev).header };
    reset(h, KIND_FORK);
    h.child_tgid = ctgid;
    h.aux_int = ctid as i32;
    // A new process: its own pid in its namespace (a CLONE_NEWPID child is
    // 1 there), session and terminal, inherited or not.
    if ctgid != ptgid && fill_proc_ids(h, child) {
        h.flags |= F_PROC_IDS;
    }
    // The call that forked: the parent (the current task) is inside it, so
    // its entry state names it (IDLE when that call is not recorded).
    let tid = unsafe { h::bpf_get_current_pid_tgid() } as u32;
    if let Some(st) = cur_entry(tid) {
        h.syscall_nr = unsafe { (*st).nr };
    }
    send(ev);
    0
}

/// `OVERLAYFS_SUPER_MAGIC`.
const OVERLAYFS_MAGIC: u64 = 0x794c_7630;

/// Whether the executed `file` is on overlayfs and, if so, in its upper
/// layer: the overlay inode has an upper dentry whose inode number is the
/// overlay inode's own, i.e. the file was created in the upper layer after
/// the mount. A file copied up from a lower layer (chmod, write) keeps its
/// lower inode number and counts as lower, as in Falco's
/// `proc.is_exe_upper_layer`.
#[inline(always)]
fn overlay_layer(file: u64) -> u32 {
    let up = conf!(off.ovl_upperdentry);
    if up == u32::MAX {
        return 0;
    }
    let inode = rd::<u64>(file, conf!(off.file_f_inode));
    let sb = rd::<u64>(inode, conf!(off.inode_i_sb));
    if rd::<u64>(sb, conf!(off.sb_s_magic)) & 0xffff_ffff != OVERLAYFS_MAGIC {
        return 0;
    }
    let upper = rd::<u64>(inode, up);
    if upper == 0 {
        return F_EXE_OVERLAY;
    }
    let upper_inode = rd::<u64>(upper, conf!(off.dentry_d_inode));
    let ino = conf!(off.inode_i_ino);
    if upper_inode != 0 && rd::<u64>(upper_inode, ino) == rd::<u64>(inode, ino) {
        F_EXE_OVERLAY | F_EXE_UPPER
    } else {
        F_EXE_OVERLAY
    }
}

/// A file name cut short in the entry state, compared whole with the
/// kernel's copy `kname` (see `names::LONG_NAMES`): `F_KNAME1`, with
/// `F_KNAME1_DIFF` when they differ or user memory could not be read whole
/// at entry; 0 when the kernel's copy cannot be read.
#[inline(always)]
fn whole_verdict(st: &EntryState, tid: u32, kname: u64) -> u32 {
    // Without whole-path comparison (`EXT.long_names`) none was kept.
    if crate::names::ext!(long_names) == 0 {
        return 0;
    }
    if st.user_whole & 1 == 0 {
        return F_KNAME1 | F_KNAME1_DIFF;
    }
    match long_key(tid, 1, st.ts, kname, false) {
        Some((k, _)) if unsafe { LONG_NAMES.get(&*k) }.is_some() => F_KNAME1,
        Some(_) => F_KNAME1 | F_KNAME1_DIFF,
        None => 0,
    }
}

#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn hs_exec(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = unsafe { h::bpf_get_current_pid_tgid() };
    if !tracked((pid_tgid >> 32) as u32) {
        return 0;
    }
    let old_pid: u32 = ctx.arg(1);
    let bprm: u64 = ctx.arg(2);
    let Some(ev) = EVENT_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    let task = current_task();
    fill_task(ev, task);
    let e = unsafe { &mut *ev };
    reset(&mut e.header, KIND_EXEC);
    e.header.aux_int = old_pid as i32;
    let mut flags = 0;
    // Ids that may have changed since the fork (setsid before exec).
    if fill_proc_ids(&mut e.header, task) {
        flags |= F_PROC_IDS;
    }
    // The binary the kernel really executed.
    let file = rd::<u64>(bprm, conf!(off.bprm_file));
    let w = fill_file(ev, file, e.kpath.as_mut_ptr());
    e.header.kpath_len = w.len;
    if file != 0 {
        flags |= F_FILE | F_KPATH_WALK;
        if w.complete {
            flags |= F_KPATH_COMPLETE;
        }
        if w.pseudo {
            flags |= F_KPATH_PSEUDO;
        }
        flags |= overlay_layer(file);
    }
    // The kernel's own copy of the file name.
    let kname = rd::<u64>(bprm, conf!(off.bprm_filename));
    if kname != 0 {
        let n = unsafe {
            h::bpf_probe_read_kernel_str(
                e.user_path2.as_mut_ptr().cast(),
                USER_PATH_LEN as u32,
                kname as *const _,
            )
        };
        if n > 0 {
            flags |= F_EXEC_KNAME;
            e.header.user_len2 = n as u16;
        }
    }
    // What user memory held at execve entry.
    if let Some(st) = cur_entry(old_pid) {
        let st = unsafe { &*st };
        if st.nr != IDLE && st.flags & F_USER_PATH != 0 {
            unsafe {
                h::bpf_probe_read_kernel(
                    e.user_path.as_mut_ptr().cast(),
                    USER_PATH_LEN as u32,
                    st.user_path.as_ptr().cast(),
                );
            }
            e.header.user_err = st.user_err;
            e.header.user_len = st.user_len;
            e.header.syscall_nr = st.nr;
            // execveat's descriptor: the kernel names a file relative to it
            // `/dev/fd/N/...` (the decoder checks N).
            e.header.args[0] = st.args[0];
            flags |= F_USER_PATH | (st.flags & F_USER_TRUNC);
            if st.flags & F_USER_TRUNC != 0 && kname != 0 {
                flags |= whole_verdict(st, old_pid, kname);
            }
        }
        // A thread other than the leader called exec and now runs under
        // the leader's id: its execve's entry state moves to that id, where
        // the syscall's exit looks for it (the old id's would outlive it and
        // make a later thread that reuses the id look tracked).
        let new_tid = pid_tgid as u32;
        if old_pid != new_tid {
            if let Some(slot) = CPU_ENTRY.get_ptr_mut(0)
                && unsafe { (*slot).tid } == old_pid
                && unsafe { (*slot).nr } != IDLE
            {
                unsafe { (*slot).tid = new_tid };
            } else if ENTRY.insert(&new_tid, st, 0).is_err() {
                drop_slot(old_pid);
            }
            let _ = ENTRY.remove(&old_pid);
        }
    }
    // argv from the new image, before it runs an instruction.
    let mm = rd::<u64>(task, conf!(off.task_mm));
    let start = rd::<u64>(mm, conf!(off.mm_arg_start));
    let end = rd::<u64>(mm, conf!(off.mm_arg_end));
    if end > start {
        // The whole argv's size, so that a cut one is known as cut.
        e.header.child_tgid = (end - start) as u32;
        let mut n = end - start;
        if n > (AUX_LEN - 1) as u64 {
            n = (AUX_LEN - 1) as u64;
        }
        let r = unsafe {
            h::bpf_probe_read_user(e.aux.as_mut_ptr().cast(), n as u32, start as *const _)
        };
        if r == 0 {
            e.header.aux_len = n as u32;
            flags |= F_AUX;
        }
    }
    // The working directory.
    let fs = rd::<u64>(task, conf!(off.task_fs));
    if fs != 0 {
        let w = walk_path(fs + conf!(off.fs_pwd) as u64, e.kpath2.as_mut_ptr());
        e.header.kpath2_len = w.len;
        flags |= F_KPATH2_WALK;
        if w.complete {
            flags |= F_KPATH2_COMPLETE;
        }
    }
    e.header.flags = flags;
    send(ev);
    0
}

#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn hs_exit(_ctx: RawTracePointContext) -> i32 {
    let pid_tgid = unsafe { h::bpf_get_current_pid_tgid() };
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    let _ = ENTRY.remove(&tid);
    drop_slot(tid);
    if !tracked(tgid) {
        return 0;
    }
    let task = current_task();
    let signal = rd::<u64>(task, conf!(off.task_signal));
    let live = rd::<i32>(signal, conf!(off.signal_live));
    if live != 0 {
        return 0;
    }
    let Some(ev) = EVENT_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    fill_task(ev, task);
    let h = unsafe { &mut (*ev).header };
    reset(h, KIND_EXIT);
    h.aux_int = rd::<i32>(task, conf!(off.task_exit_code));
    send(ev);
    if conf!(filter_tracked) != 0 {
        track(tgid, false);
    }
    0
}
