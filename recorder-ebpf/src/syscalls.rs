//! `raw_syscalls:sys_enter` / `sys_exit`: per-thread entry state (arguments,
//! user-memory paths and socket address as they were at entry), merged at
//! exit with the return value, the latency and the kernel's own objects.

use aya_ebpf::{helpers::generated as h, macros::raw_tracepoint, programs::RawTracePointContext};
use hindsight_recorder_common::{
    D_CWD_AFTER, D_DUP_CMDS, D_FD_PAIR, D_FD_PAIR_ARG3, D_OPENAT2, EntryState, F_AUX,
    F_BASE2_COMPLETE, F_BASE2_WALK, F_FD_ARG, F_FD_PAIR, F_FD_PAIR_SAME, F_FILE, F_KADDR, F_KNAME1,
    F_KNAME1_DIFF, F_KNAME2, F_KNAME2_DIFF, F_KPATH_COMPLETE, F_KPATH_PSEUDO, F_KPATH_REREAD,
    F_KPATH_WALK, F_KPATH2_COMPLETE, F_KPATH2_WALK, F_PROC_IDS, F_UADDR, F_UADDR_ABSTRACT,
    F_UNIX_ADDR, F_USER_PATH, F_USER_PATH2, F_USER_TRUNC, F_USER_TRUNC2, KIND_SYSCALL,
    MAX_SYSCALLS, S_ARG_FD, S_ENABLED, S_REREAD, S_RET_FD, S_SOCK, S_SOCKADDR, S_SOCKADDR_ARG4,
    S_SOCKADDR_MSG, SyscallSpec, USER_PATH_LEN, WHOLE_PATH_LEN, WireEvent,
};

use crate::kernel::{
    EVENT_SCRATCH, IDLE, SPECS, conf, copy_words, cur_entry, current_task, entry_done, entry_slot,
    fd_file, fill_file, fill_task_id, now, rd, read_args, send_from, set, tracked, walk_path,
};

const AT_FDCWD: i64 = -100;

#[inline(always)]
fn spec_of(nr: i64) -> Option<SyscallSpec> {
    if nr < 0 || nr >= MAX_SYSCALLS as i64 {
        return None;
    }
    let s = *SPECS.get(nr as u32)?;
    if s.flags & S_ENABLED == 0 {
        None
    } else {
        Some(s)
    }
}

#[inline(always)]
pub(crate) fn arg(args: &[u64; 6], idx1: u8) -> u64 {
    // `idx1` is index + 1. LLVM may turn a match on it into an indexed load:
    // the volatile re-read keeps the bound check where the verifier sees it
    // (Linux 5.10's refused the kernel-name hook with a plain match).
    let i = unsafe { core::ptr::read_volatile(&idx1) } as usize;
    if i == 0 || i > 6 {
        return 0;
    }
    // SAFETY: 1 <= i <= 6.
    unsafe { core::ptr::read_volatile(args.as_ptr().add(i - 1)) }
}

/// Reads a NUL-terminated user string into `dst`: 0 or a negative errno,
/// and the bytes written (incl. the NUL; 1 after an error, which leaves an
/// empty string).
#[inline(always)]
fn read_user_str(dst: *mut u8, src: u64) -> (i32, u16) {
    if src == 0 {
        unsafe { *dst = 0 };
        return (-14, 1);
    }
    let n =
        unsafe { h::bpf_probe_read_user_str(dst.cast(), USER_PATH_LEN as u32, src as *const _) };
    if n <= 0 {
        unsafe { *dst = 0 };
        (n as i32, 1)
    } else {
        (0, n as u16)
    }
}

/// Like [`read_user_str`], and also whether the string was cut short: it
/// filled the buffer and user memory goes on past it.
#[inline(always)]
fn read_user_path(dst: *mut u8, src: u64) -> (i32, u16, bool) {
    if src == 0 {
        unsafe { *dst = 0 };
        return (-14, 1, false);
    }
    let n =
        unsafe { h::bpf_probe_read_user_str(dst.cast(), USER_PATH_LEN as u32, src as *const _) };
    if n <= 0 {
        unsafe { *dst = 0 };
        return (n as i32, 1, false);
    }
    if (n as usize) < USER_PATH_LEN {
        return (0, n as u16, false);
    }
    let mut next = 0u8;
    let r = unsafe {
        h::bpf_probe_read_user(
            (&mut next as *mut u8).cast(),
            1,
            (src + USER_PATH_LEN as u64 - 1) as *const _,
        )
    };
    (0, n as u16, r == 0 && next != 0)
}

/// Keeps the whole entry copy of path `which` (1 or 2), cut short in the
/// entry state, in `LONG_NAMES` for the kernel's copy to be compared with
/// (bit `which` of `user_whole`).
#[inline(always)]
fn keep_whole(st: &mut EntryState, tid: u32, which: u32, src: u64) {
    // Without whole-path comparison (`EXT.long_names`) nothing would look
    // it up.
    if crate::names::ext!(long_names) == 0 {
        return;
    }
    let Some((k, n)) = crate::names::long_key(tid, which, st.ts, src, true) else {
        return;
    };
    // PATH_MAX bytes or more name nothing the kernel uses (ENAMETOOLONG;
    // a NUL written later could make a prefix of it one), and no more than
    // the 255 bytes read just before means user memory changed in between:
    // neither is kept, so the kernel's copy counts as differing.
    if n as usize >= WHOLE_PATH_LEN || n as usize <= USER_PATH_LEN {
        return;
    }
    // The entry copy's 255 bytes are taken from this same read: the row's
    // user value and the whole value compared are one read of user memory.
    let dst = if which == 1 {
        st.user_path.as_mut_ptr()
    } else {
        st.user_path2.as_mut_ptr()
    };
    let name = unsafe { (*k).name.as_ptr() };
    if unsafe { h::bpf_probe_read_kernel(dst.cast(), USER_PATH_LEN as u32 - 1, name.cast()) } != 0 {
        return;
    }
    if crate::names::LONG_NAMES
        .insert(unsafe { &*k }, &1, 0)
        .is_ok()
    {
        st.user_whole |= which;
        if n > WHOLE_PATH_LEN as u32 - crate::names::ext!(filename_iname) {
            st.user_ool |= which;
        }
    }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn hs_sys_enter(ctx: RawTracePointContext) -> i32 {
    let nr: i64 = ctx.arg(1);
    let Some(spec) = spec_of(nr) else { return 0 };
    let pid_tgid = unsafe { h::bpf_get_current_pid_tgid() };
    if !tracked((pid_tgid >> 32) as u32) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let regs: u64 = ctx.arg(0);
    let args = read_args(regs);
    // fcntl: only the commands that create a descriptor (F_DUPFD 0,
    // F_DUPFD_CLOEXEC 1030) or set close-on-exec (F_SETFD 2), which replay's
    // descriptor table follows; not the many F_GETFD/F_GETFL/F_SETFL calls.
    if spec.dirfd == D_DUP_CMDS && args[1] != 0 && args[1] != 1030 && args[1] != 2 {
        return 0;
    }
    let Some(st) = entry_slot(tid) else {
        return 0;
    };
    let st = unsafe { &mut *st };
    st.nr = nr as u32;
    st.flags = 0;
    st.ts = now();
    st.args = args;
    set(&mut st.user_err, 0);
    set(&mut st.user_err2, 0);
    set(&mut st.uaddr_err, 0);
    set(&mut st.kaddr_family, 0);
    set(&mut st.uaddr_family, 0);
    set(&mut st.user_whole, 0);
    set(&mut st.user_ool, 0);
    if spec.path1 != 0 {
        let (err, n, cut) = read_user_path(st.user_path.as_mut_ptr(), arg(&st.args, spec.path1));
        st.user_err = err;
        st.user_len = n;
        st.flags |= F_USER_PATH;
        if cut {
            st.flags |= F_USER_TRUNC;
            keep_whole(st, tid, 1, arg(&st.args, spec.path1));
        }
    }
    if spec.path2 != 0 {
        let (err, n, cut) = read_user_path(st.user_path2.as_mut_ptr(), arg(&st.args, spec.path2));
        st.user_err2 = err;
        st.user_len2 = n;
        st.flags |= F_USER_PATH2;
        if cut {
            st.flags |= F_USER_TRUNC2;
            keep_whole(st, tid, 2, arg(&st.args, spec.path2));
        }
    }
    if spec.dirfd == D_OPENAT2 {
        // open_how as user memory held it: flags (0) and resolve (16); the
        // read's error in `uaddr_err` (no socket address on this call).
        let how = st.args[2];
        let mut w = [0u64; 2];
        for (i, off) in [(0usize, 0u64), (1, 16)] {
            let r = unsafe {
                h::bpf_probe_read_user((&mut w[i] as *mut u64).cast(), 8, (how + off) as *const _)
            };
            if r != 0 {
                w[i] = 0;
                st.uaddr_err = r as i32;
            }
        }
        st.uaddr = unsafe { core::mem::transmute::<[u64; 2], [u8; 16]>(w) };
    }
    if spec.flags & S_SOCKADDR != 0 {
        let (ptr, len) = (st.args[1], st.args[2]);
        read_sockaddr(st, ptr, len);
    } else if spec.flags & S_SOCKADDR_ARG4 != 0 {
        // sendto: NULL on a connected socket (no destination to record).
        let (ptr, len) = (st.args[4], st.args[5]);
        if ptr != 0 {
            read_sockaddr(st, ptr, len);
        }
    } else if spec.flags & S_SOCKADDR_MSG != 0 {
        read_msg_name(st);
    }
    0
}

/// sendmsg: reads `msg_name`/`msg_namelen` of the `struct user_msghdr *`
/// in arg 1, then the destination they point at (none when NULL).
#[inline(always)]
fn read_msg_name(st: &mut EntryState) {
    let mut hdr = [0u64; 2];
    let r = unsafe { h::bpf_probe_read_user(hdr.as_mut_ptr().cast(), 16, st.args[1] as *const _) };
    if r < 0 {
        st.flags |= F_UADDR;
        st.uaddr_err = r as i32;
        return;
    }
    if hdr[0] != 0 {
        read_sockaddr(st, hdr[0], hdr[1] & 0xffff_ffff);
    }
}

/// Reads the `struct sockaddr *` at `ptr` (length `len`) at entry.
#[inline(always)]
fn read_sockaddr(st: &mut EntryState, ptr: u64, len: u64) {
    let mut raw = [0u8; 28];
    if ptr == 0 {
        return;
    }
    let r = unsafe { h::bpf_probe_read_user(raw.as_mut_ptr().cast(), 28, ptr as *const _) };
    let r = if r < 0 && len < 28 {
        // Short sockaddr_in at the end of a mapping: retry with 16 bytes.
        unsafe { h::bpf_probe_read_user(raw.as_mut_ptr().cast(), 16, ptr as *const _) }
    } else {
        r
    };
    st.flags |= F_UADDR;
    if r < 0 {
        st.uaddr_err = r as i32;
        return;
    }
    let family = u16::from_ne_bytes([raw[0], raw[1]]);
    st.uaddr_family = family;
    st.uaddr_port = u16::from_be_bytes([raw[2], raw[3]]);
    match family {
        2 => {
            st.uaddr = [0; 16];
            st.uaddr[0] = raw[4];
            st.uaddr[1] = raw[5];
            st.uaddr[2] = raw[6];
            st.uaddr[3] = raw[7];
        }
        10 => {
            let mut a = [0u8; 16];
            let mut i = 0;
            while i < 16 {
                a[i] = raw[8 + i];
                i += 1;
            }
            st.uaddr = a;
        }
        1 => {
            // AF_UNIX: the socket path goes where a file path would; an
            // abstract name (a NUL first) is read after its NUL.
            let (mut err, mut n) = read_user_str(st.user_path.as_mut_ptr(), ptr + 2);
            if err == 0 && n == 1 && len > 3 {
                (err, n) = read_user_str(st.user_path.as_mut_ptr(), ptr + 3);
                st.flags |= F_UADDR_ABSTRACT;
            }
            st.user_err = err;
            st.user_len = n;
            st.flags |= F_USER_PATH;
        }
        _ => {}
    }
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn hs_sys_exit(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = unsafe { h::bpf_get_current_pid_tgid() };
    // The rest of the host (`record -- CMD`) and the recorder itself stop
    // here, on the bitmap, before the entry state lookup.
    if !tracked((pid_tgid >> 32) as u32) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let Some(stp) = cur_entry(tid) else {
        return 0;
    };
    let st = unsafe { &*stp };
    if st.nr == IDLE {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    let Some(ev) = EVENT_SCRATCH.get_ptr_mut(0) else {
        entry_done(stp);
        return 0;
    };
    let task = current_task();
    fill_task_id(ev, task, pid_tgid);
    let spec = spec_of(st.nr as i64).unwrap_or_default();
    let e = unsafe { &mut *ev };
    let h = &mut e.header;
    h.kind = KIND_SYSCALL;
    h.syscall_nr = st.nr;
    h.ts_enter = st.ts;
    h.ts_exit = now();
    h.ret = ret;
    copy_words(&mut h.args, &st.args);
    h.user_err = st.user_err;
    h.user_err2 = st.user_err2;
    h.user_len = st.user_len;
    h.user_len2 = st.user_len2;
    h.uaddr_err = st.uaddr_err;
    h.uaddr_family = st.uaddr_family;
    h.uaddr_port = st.uaddr_port;
    copy_words(&mut h.uaddr, &st.uaddr);
    h.kaddr_family = st.kaddr_family;
    h.kaddr_port = st.kaddr_port;
    copy_words(&mut h.kaddr, &st.kaddr);
    set(&mut h.kpath_len, 0);
    set(&mut h.kpath2_len, 0);
    set(&mut h.aux_len, 0);
    set(&mut h.ino, 0);
    set(&mut h.dev, 0);
    set(&mut h.f_flags, 0);
    set(&mut h.i_mode, 0);
    let mut flags = st.flags
        & (F_USER_PATH
            | F_USER_PATH2
            | F_UADDR
            | F_KADDR
            | F_KNAME1
            | F_KNAME1_DIFF
            | F_KNAME2
            | F_KNAME2_DIFF
            | F_USER_TRUNC
            | F_USER_TRUNC2
            | F_UADDR_ABSTRACT);
    // The user paths are sent straight from the entry state (`send_from`).
    // setsid: the new session (and no controlling terminal any more); no
    // path or socket to resolve, so sent here like a socket call below.
    if st.nr == crate::names::ext!(setsid_nr) {
        if ret > 0 && crate::kernel::fill_proc_ids(&mut e.header, task) {
            flags |= F_PROC_IDS;
        }
        crate::names::forget(tid, flags);
        e.header.flags = flags;
        entry_done(stp);
        send_from(ev, st.user_path.as_ptr(), st.user_path2.as_ptr());
        return 0;
    }
    // A socket call: the socket behind the fd, and nothing else to resolve
    // (no dentry walk). Done here and returning, so that the verifier does
    // not explore the walks below once more for it.
    if spec.flags & S_SOCK != 0 {
        let returned = spec.flags & S_RET_FD != 0;
        let sfd = if returned {
            ret
        } else {
            st.args[0] as i32 as i64
        };
        if sfd >= 0 {
            let unix_buf = e.kpath.as_mut_ptr() as u64;
            flags |= crate::socket::read_sock(&mut e.header, task, sfd, returned, unix_buf);
            if flags & F_UNIX_ADDR != 0 {
                flags |= crate::socket::unix_walk(&mut e.header, task, sfd, e.kpath.as_mut_ptr());
            }
        }
        crate::names::forget(tid, flags);
        e.header.flags = flags;
        entry_done(stp);
        send_from(ev, st.user_path.as_ptr(), st.user_path2.as_ptr());
        return 0;
    }
    // pipe, pipe2, socketpair: the two descriptors, which the kernel wrote
    // to the `int[2]` in user memory before returning. Read back here; the
    // first one's file is resolved below, as the kernel's own view of what
    // that number now refers to (a racing thread could rewrite the array).
    if (spec.dirfd == D_FD_PAIR || spec.dirfd == D_FD_PAIR_ARG3) && ret == 0 {
        let ptr = if spec.dirfd == D_FD_PAIR {
            st.args[0]
        } else {
            st.args[3]
        };
        let mut fds = [0i32; 2];
        let r = unsafe { h::bpf_probe_read_user(fds.as_mut_ptr().cast(), 8, ptr as *const _) };
        if r == 0 {
            e.header.aux_int = fds[0];
            e.header.child_tgid = fds[1] as u32;
            flags |= F_FD_PAIR;
            let socket = (spec.dirfd == D_FD_PAIR_ARG3) as u32;
            if crate::socket::same_pair(task, fds[0] as i64, fds[1] as i64, socket) != 0 {
                flags |= F_FD_PAIR_SAME;
            }
        }
    }
    // From here on the flags are kept in the record (map memory, which the
    // verifier does not track), not in a register: paths that differ only
    // in them are one state for the verifier at each walk below.
    e.header.flags = flags;
    // A relative user path: walk the directory it is relative to (at exit:
    // the directory the kernel used, unless the call changed it, see
    // D_CWD_AFTER). The first path's base is its dirfd (`spec.dirfd`) or
    // the cwd; the second's is the argument just before it for the *at
    // calls (renameat, renameat2, linkat: 3; symlinkat: 2), else the cwd.
    // When both are relative to different directories (`renameat(d1, "a",
    // d2, "b")`), the second base is walked too, into `aux`, and the second
    // re-read goes to `kpath` after the first. The dirfds to walk are
    // decided here and stashed in the record, so that no value derived
    // from them is live (and splits the verifier's states) across a walk.
    {
        let base1 = if spec.dirfd == D_CWD_AFTER || spec.dirfd == D_DUP_CMDS {
            0
        } else if spec.dirfd == D_OPENAT2 {
            1
        } else {
            spec.dirfd
        };
        let base2 = if spec.path2 != 0 && (base1 != 0 || spec.path2 == 3) {
            spec.path2 - 1
        } else {
            0
        };
        let dirfd_of = |idx: u8| {
            if idx != 0 {
                arg(&st.args, idx) as i32 as i64
            } else {
                AT_FDCWD
            }
        };
        let (rel1, rel2) = (relative(st, 1), relative(st, 2));
        // chdir: on success the cwd it left is the object it used.
        let new_cwd = spec.dirfd == D_CWD_AFTER && ret == 0;
        let walk1 = if rel1 || new_cwd {
            dirfd_of(base1)
        } else if rel2 {
            dirfd_of(base2)
        } else {
            NO_WALK
        };
        let walk2 = if rel1 && rel2 && dirfd_of(base1) != dirfd_of(base2) {
            dirfd_of(base2)
        } else {
            NO_WALK
        };
        stash(e, walk1, walk2);
    }
    // The kernel's object: the fd the call returned, or the fd it used; for
    // an empty path relative to a dirfd (`linkat(fd, "", ..., AT_EMPTY_PATH)`,
    // the classic way to give an O_TMPFILE file a name), the dirfd's file.
    // (Every such call has its dirfd first: the same path as S_ARG_FD.)
    let empty1 = spec.flags & S_REREAD != 0
        && spec.dirfd == 1
        && st.flags & F_USER_PATH != 0
        && st.user_err == 0
        && st.user_path[0] == 0;
    let fd = if spec.flags & S_RET_FD != 0 && ret >= 0 {
        ret
    } else if spec.flags & S_ARG_FD != 0 || empty1 {
        add_flags(e, F_FD_ARG);
        st.args[0] as i32 as i64
    } else if get_flags(e) & F_FD_PAIR != 0 {
        let first = unsafe { core::ptr::read_volatile(&e.header.aux_int) };
        first as i64
    } else {
        -1
    };
    if fd >= 0 {
        let file = fd_file(task, fd);
        if crate::filter::ignored(file) {
            // --ignore-prefix: the object is in an ignored directory.
            crate::names::forget(tid, flags);
            entry_done(stp);
            return 0;
        }
        if file != 0 {
            let w = fill_file(ev, file, e.kpath.as_mut_ptr());
            e.header.kpath_len = w.len;
            add_flags(
                e,
                F_FILE
                    | F_KPATH_WALK
                    | if w.complete { F_KPATH_COMPLETE } else { 0 }
                    | if w.pseudo { F_KPATH_PSEUDO } else { 0 },
            );
            // A socket used by descriptor (`dup2`, `read`...): what it is.
            if get_flags(e) & F_FD_ARG != 0 && e.header.i_mode & 0o170000 == 0o140000 {
                let bits = crate::socket::read_sock(&mut e.header, task, fd, false, 0);
                add_flags(e, bits);
            }
        }
    }
    // The base directories to walk (stashed before the walks, see above).
    let (walk1, walk2) = unstash(e);
    let split = walk2 != NO_WALK;
    if fd < 0 && spec.flags & S_REREAD != 0 && spec.path1 != 0 {
        // No kernel object remains (unlink, rename...): keep the buffer as it
        // was at exit next to the one at entry.
        let (err, n) = read_user_str(e.kpath.as_mut_ptr(), arg(&st.args, spec.path1));
        if err == 0 {
            add_flags(e, F_KPATH_REREAD);
            e.header.kpath_len = n as u32;
        }
        if spec.path2 != 0 {
            if split {
                let dst = unsafe { e.kpath.as_mut_ptr().add(USER_PATH_LEN) };
                let (err, _) = read_user_str(dst, arg(&st.args, spec.path2));
                if err == 0 {
                    add_flags(e, F_AUX);
                    e.header.kpath_len = 2 * USER_PATH_LEN as u32;
                }
            } else {
                let (err, n) = read_user_str(e.aux.as_mut_ptr(), arg(&st.args, spec.path2));
                if err == 0 {
                    add_flags(e, F_AUX);
                    e.header.aux_len = n as u32;
                }
            }
        }
    }
    if walk1 != NO_WALK {
        let w = walk_base(task, walk1, e.kpath2.as_mut_ptr());
        e.header.kpath2_len = w.len;
        add_flags(
            e,
            F_KPATH2_WALK | if w.complete { F_KPATH2_COMPLETE } else { 0 },
        );
    }
    let (_, walk2) = unstash(e);
    if walk2 != NO_WALK {
        let w = walk_base(task, walk2, e.aux.as_mut_ptr());
        e.header.aux_len = w.len;
        add_flags(
            e,
            F_BASE2_WALK | if w.complete { F_BASE2_COMPLETE } else { 0 },
        );
    }
    // The kernel's own copies of the path arguments, where they differed.
    let flags = get_flags(e);
    e.header.flags = flags | crate::names::attach(tid, flags, e);
    entry_done(stp);
    send_from(ev, st.user_path.as_ptr(), st.user_path2.as_ptr());
    0
}

/// No base directory to walk (see [`stash`]).
const NO_WALK: i64 = i64::MIN;

/// Keeps the two dirfds to walk in the record's `kname2` section, which
/// nothing uses before `names::attach` fills it at the end of `sys_exit`
/// (and sends it only then): values read back from map memory are unknown
/// to the verifier, so the paths that chose them merge.
#[inline(always)]
fn stash(e: &mut WireEvent, walk1: i64, walk2: i64) {
    let p = e.kname2.as_mut_ptr().cast::<i64>();
    unsafe {
        core::ptr::write_unaligned(p, walk1);
        core::ptr::write_unaligned(p.add(1), walk2);
    }
}

/// The dirfds [`stash`] kept.
#[inline(always)]
fn unstash(e: &WireEvent) -> (i64, i64) {
    let p = e.kname2.as_ptr().cast::<i64>();
    unsafe {
        (
            core::ptr::read_volatile(p),
            core::ptr::read_volatile(p.add(1)),
        )
    }
}

/// Whether path `which` (1 or 2) was read at entry and is relative.
#[inline(always)]
fn relative(st: &EntryState, which: u8) -> bool {
    let (bit, err, first) = if which == 1 {
        (F_USER_PATH, st.user_err, st.user_path[0])
    } else {
        (F_USER_PATH2, st.user_err2, st.user_path2[0])
    };
    st.flags & bit != 0 && err == 0 && first != b'/' && first != 0
}

/// The record's flags, read from map memory.
#[inline(always)]
fn get_flags(e: &WireEvent) -> u32 {
    unsafe { core::ptr::read_volatile(&e.header.flags) }
}

/// Sets `bits` in the record's flags (in map memory, see `hs_sys_exit`).
#[inline(always)]
fn add_flags(e: &mut WireEvent, bits: u32) {
    let f = get_flags(e);
    unsafe { core::ptr::write_volatile(&mut e.header.flags, f | bits) };
}

/// Walks the directory `dirfd` names (the cwd for `AT_FDCWD`) into `buf`.
///
/// Not inlined: one BPF subprogram for both base walks, so the verifier
/// does not explore the walk once per caller path.
#[inline(never)]
fn walk_base(task: u64, dirfd: i64, buf: *mut u8) -> crate::kernel::Walk {
    if dirfd == AT_FDCWD {
        let fs = rd::<u64>(task, conf!(off.task_fs));
        return walk_path(fs + conf!(off.fs_pwd) as u64, buf);
    }
    let file = fd_file(task, dirfd);
    if file == 0 {
        return crate::kernel::Walk {
            len: 0,
            complete: false,
            pseudo: false,
        };
    }
    walk_path(file + conf!(off.file_f_path) as u64, buf)
}
