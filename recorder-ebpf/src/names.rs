//! The kernel's own copy of path arguments, from a tracepoint.
//!
//! Every path syscall copies its path with `getname()` into a `struct
//! filename` allocated from the `names_cache` slab, and frees it with
//! `putname()` before returning. `kmem:kmem_cache_free` fires just before
//! that free, while the name is still intact: the object's `uptr` says
//! which user pointer (which argument) it was copied from, and `name` is
//! the string the kernel really used. This runs before `sys_exit`, so the
//! comparison with the entry copy is stored into the thread's entry state
//! (`F_KNAME*`), and a differing name into `KNAMES` for `sys_exit` to send.

use aya_ebpf::{
    helpers::generated as h,
    macros::{map, raw_tracepoint},
    maps::{Array, LruHashMap, PerCpuArray},
    programs::RawTracePointContext,
};
use hindsight_recorder_common::{
    EntryState, ExtConfig, F_KNAME1, F_KNAME1_BYTES, F_KNAME1_DIFF, F_KNAME2, F_KNAME2_BYTES,
    F_KNAME2_DIFF, F_USER_TRUNC, F_USER_TRUNC2, LONG_NAMES_ENTRIES, MAX_SYSCALLS, USER_PATH_LEN,
    WHOLE_PATH_LEN, WireEvent,
};

use crate::kernel::{SPECS, cur_entry, rd};
use crate::syscalls::arg;

/// Load-time configuration of the optional hooks (`EbpfLoader::set_global`).
#[unsafe(no_mangle)]
pub static EXT: ExtConfig = unsafe { core::mem::zeroed() };

/// Reads one field of `EXT` without letting the compiler fold it.
macro_rules! ext {
    ($field:ident) => {
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!($crate::names::EXT.$field)) }
    };
}
pub(crate) use ext;

/// Address of the `names_cache` `struct kmem_cache`, learnt from its name.
#[map]
pub static NAMES_CACHE: Array<u64> = Array::with_max_entries(1, 0);

/// Kernel copies that differed from the entry copy, per `tid | which << 32`.
#[map]
pub static KNAMES: LruHashMap<u64, [u8; USER_PATH_LEN]> = LruHashMap::with_max_entries(4096, 0);

/// Scratch space for one kernel name.
#[map]
pub static NAME_SCRATCH: PerCpuArray<[u8; USER_PATH_LEN]> = PerCpuArray::with_max_entries(1, 0);

/// The key of [`LONG_NAMES`]: one path of one syscall, whole.
#[repr(C)]
pub struct LongKey {
    /// Thread id.
    tid: u32,
    /// Which path argument (1 or 2).
    which: u32,
    /// The syscall's entry time (`EntryState::ts`): an entry kept by an
    /// earlier syscall of the thread never matches a later one.
    ts: u64,
    /// The path, NUL-padded to `PATH_MAX`.
    pub name: [u8; WHOLE_PATH_LEN],
}

/// The whole entry copies of paths cut short (longer than the
/// [`USER_PATH_LEN`] bytes kept in the entry state). The kernel's copy is
/// looked up here: found, the two are equal byte for byte (the map's own
/// hash and compare, with no loop for the verifier to walk); not found,
/// they differ. Entries are not deleted but age out (LRU); the entry time in
/// the key keeps an old entry from matching a later syscall. An entry
/// evicted before its lookup makes a false mismatch, never a missed one.
#[map]
pub static LONG_NAMES: LruHashMap<LongKey, u8> =
    LruHashMap::with_max_entries(LONG_NAMES_ENTRIES, 0);

/// Scratch space for one [`LongKey`].
#[map]
pub static LONG_SCRATCH: PerCpuArray<LongKey> = PerCpuArray::with_max_entries(1, 0);

/// `PATH_MAX` zero bytes (never written): copied over [`LONG_SCRATCH`]'s
/// name by one helper call before a string is read into it.
#[map]
pub static ZEROS: Array<[u8; WHOLE_PATH_LEN]> = Array::with_max_entries(1, 0);

/// [`LONG_SCRATCH`] filled with the whole NUL-terminated string at `src`,
/// in user memory (`user`) or the kernel's, and the string's length with
/// its NUL; `None` when it cannot be read.
#[inline(always)]
pub fn long_key(
    tid: u32,
    which: u32,
    ts: u64,
    src: u64,
    user: bool,
) -> Option<(*mut LongKey, u32)> {
    let k = LONG_SCRATCH.get_ptr_mut(0)?;
    let z = ZEROS.get_ptr(0)?;
    let k_ref = unsafe { &mut *k };
    k_ref.tid = tid;
    k_ref.which = which;
    k_ref.ts = ts;
    let dst = k_ref.name.as_mut_ptr().cast();
    let len = WHOLE_PATH_LEN as u32;
    if unsafe { h::bpf_probe_read_kernel(dst, len, z.cast()) } != 0 {
        return None;
    }
    let n = unsafe {
        if user {
            h::bpf_probe_read_user_str(dst, len, src as *const _)
        } else {
            h::bpf_probe_read_kernel_str(dst, len, src as *const _)
        }
    };
    (n > 0).then_some((k, n as u32))
}

/// Key of `KNAMES`.
#[inline(always)]
pub fn kname_key(tid: u32, which: u32) -> u64 {
    tid as u64 | (which as u64) << 32
}

/// Whether `s` is the `names_cache` slab (learnt on first sight).
#[inline(always)]
fn is_names_cache(s: u64) -> bool {
    let Some(known) = NAMES_CACHE.get_ptr_mut(0) else {
        return false;
    };
    let k = unsafe { *known };
    if k != 0 {
        return k == s;
    }
    // `s` is the `struct kmem_cache` (Linux 6.1 and later), or its name
    // (5.12 to 6.0, whose tracepoint passed `s->name`): constant per cache
    // either way. (Before 5.12 there is no such argument: the hook knows
    // names by shape there, `EXT.names_by_shape`, and does not come here.)
    let name = rd::<u64>(s, ext!(kmem_cache_name));
    let mut b = [0u8; 12];
    let n = unsafe { h::bpf_probe_read_kernel_str(b.as_mut_ptr().cast(), 12, name as *const _) };
    if n != 12 || b != *b"names_cache\0" {
        let n = unsafe { h::bpf_probe_read_kernel_str(b.as_mut_ptr().cast(), 12, s as *const _) };
        if n != 12 || b != *b"names_cache\0" {
            return false;
        }
    }
    unsafe { *known = s };
    true
}

/// Whether the NUL-terminated strings `a` and `b` differ.
#[inline(always)]
fn differs(a: &[u8; USER_PATH_LEN], b: &[u8; USER_PATH_LEN]) -> bool {
    let mut i = 0;
    while i < USER_PATH_LEN {
        let (x, y) = (a[i], b[i]);
        if x != y {
            return true;
        }
        if x == 0 {
            return false;
        }
        i += 1;
    }
    false
}

/// Whether the first `n` bytes of `a` and `b` (`n` in 1..=256: a string and
/// its NUL) are equal, compared 8 bytes at a time.
#[inline(always)]
fn same_prefix(a: &[u8; USER_PATH_LEN], b: &[u8; USER_PATH_LEN], n: u32) -> bool {
    if n == 0 || n as usize > USER_PATH_LEN {
        return false;
    }
    let (pa, pb) = (a.as_ptr().cast::<u64>(), b.as_ptr().cast::<u64>());
    let mut i = 0u32;
    while i < (USER_PATH_LEN / 8) as u32 {
        let at = i * 8;
        if at >= n {
            return true;
        }
        // SAFETY: both arrays are 8-aligned (map values, `EntryState`
        // fields at multiples of 8) and `i` < 32 keeps the reads inside.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(pa.add(i as usize)),
                core::ptr::read_volatile(pb.add(i as usize)),
            )
        };
        let left = n - at;
        let mask = if left >= 8 {
            u64::MAX
        } else {
            (1u64 << (left * 8)) - 1
        };
        if (x ^ y) & mask != 0 {
            return false;
        }
        i += 1;
    }
    true
}

/// `filename->name` and `filename->uptr`: one 16-byte read when `uptr`
/// follows `name` (it does in every kernel since 3.x), else two.
#[inline(always)]
fn name_and_uptr(obj: u64) -> (u64, u64) {
    let (n, u) = (ext!(filename_name), ext!(filename_uptr));
    if u == n + 8 {
        let mut w = core::mem::MaybeUninit::<[u64; 2]>::uninit();
        let r = unsafe {
            h::bpf_probe_read_kernel(w.as_mut_ptr().cast(), 16, (obj + n as u64) as *const _)
        };
        if r < 0 {
            return (0, 0);
        }
        // SAFETY: the read above filled all 16 bytes.
        let w = unsafe { w.assume_init() };
        return (w[0], w[1]);
    }
    (rd::<u64>(obj, n), rd::<u64>(obj, u))
}

#[raw_tracepoint(tracepoint = "kmem_cache_free")]
pub fn hs_names_free(ctx: RawTracePointContext) -> i32 {
    // Before 5.12 the tracepoint does not say which cache the object came
    // from (it has no third argument, which is not read then): the object
    // is known by its shape below instead, after the cheaper test of a
    // path syscall in flight, as every slab free comes here.
    let shape = ext!(names_by_shape) != 0;
    if !shape {
        let s: u64 = ctx.arg(2);
        if !is_names_cache(s) {
            return 0;
        }
    }
    let tid = unsafe { h::bpf_get_current_pid_tgid() } as u32;
    let Some(st) = cur_entry(tid) else {
        return 0;
    };
    let st = unsafe { &mut *st };
    if st.nr >= MAX_SYSCALLS {
        return 0;
    }
    let Some(spec) = SPECS.get(st.nr) else {
        return 0;
    };
    if spec.path1 == 0 && spec.path2 == 0 {
        return 0;
    }
    let obj: u64 = ctx.arg(1);
    // A `struct filename` with its name inline; else the object may be a
    // name too long for that (see `out_of_line`), which only the cache
    // tells: by shape, a name kept out of line is not known (its path is
    // longer than the entry copy; the decoder leaves its row undecided), and
    // without whole-path comparison (`EXT.long_names`) it is not compared.
    let (name, uptr) = name_and_uptr(obj);
    if name != obj + ext!(filename_iname) as u64 {
        if !shape && ext!(long_names) != 0 {
            out_of_line(st, spec.path1, spec.path2, tid, obj);
        }
        return 0;
    }
    if uptr == 0 {
        return 0;
    }
    // mount's source is no `struct filename`; two arguments at one
    // address (`rename(p, p)`, `mount(d, d, MS_BIND)`) are taken in turn.
    let m1 = spec.path1 != 0 && st.nr != ext!(mount_nr) && uptr == arg(&st.args, spec.path1);
    let m2 = spec.path2 != 0 && uptr == arg(&st.args, spec.path2);
    let which = match (m1, m2) {
        (true, true) if st.flags & F_KNAME1 != 0 => 2,
        (true, _) => 1,
        (false, true) => 2,
        _ => return 0,
    };
    let Some(buf) = NAME_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    let buf = unsafe { &mut *buf };
    let (user, err, ulen, cut, seen, diff) = if which == 1 {
        (
            &st.user_path,
            st.user_err,
            st.user_len,
            st.flags & F_USER_TRUNC != 0,
            F_KNAME1,
            F_KNAME1_DIFF,
        )
    } else {
        (
            &st.user_path2,
            st.user_err2,
            st.user_len2,
            st.flags & F_USER_TRUNC2 != 0,
            F_KNAME2,
            F_KNAME2_DIFF,
        )
    };
    // The common case, a kernel name equal to the entry copy: one block
    // read of the inline name (it lies in a PATH_MAX-sized names_cache
    // object, so 256 bytes are always readable) and a word-wise compare of
    // the entry copy's bytes with its NUL, instead of a byte-wise string
    // copy and a byte loop. Anything else takes the exact path below, also
    // an entry copy cut short: its 255 bytes and added NUL equal a kernel
    // name cut to those 255 bytes, which is another name.
    if err == 0
        && !cut
        && unsafe {
            h::bpf_probe_read_kernel(
                buf.as_mut_ptr().cast(),
                USER_PATH_LEN as u32,
                name as *const _,
            )
        } == 0
        && same_prefix(buf, user, ulen as u32)
    {
        st.flags |= seen;
        return 0;
    }
    let n = unsafe {
        h::bpf_probe_read_kernel_str(
            buf.as_mut_ptr().cast(),
            USER_PATH_LEN as u32,
            name as *const _,
        )
    };
    if n <= 0 {
        return 0;
    }
    let long = n as usize >= USER_PATH_LEN;
    let mut d = err != 0 || differs(buf, user);
    if long && !d {
        // Same first 255 bytes of a longer name: the whole names decide,
        // where they are kept (`EXT.long_names`). An entry copy that could
        // not be read whole differs; a kernel copy that cannot be read gives
        // no verdict.
        if ext!(long_names) == 0 {
            // Not kept (before 5.12): a kernel copy of exactly 255 bytes
            // (its NUL at byte 255) against a longer entry copy differs; a
            // longer one gets no verdict here (the decoder leaves the row
            // undecided).
            let mut next = 1u8;
            let r = unsafe {
                h::bpf_probe_read_kernel(
                    (&mut next as *mut u8).cast(),
                    1,
                    (name + USER_PATH_LEN as u64 - 1) as *const _,
                )
            };
            if r != 0 || next != 0 || !cut {
                return 0;
            }
            d = true;
        } else if st.user_whole & which == 0 {
            d = true;
        } else {
            let Some((k, _)) = long_key(tid, which, st.ts, name, false) else {
                return 0;
            };
            let k = unsafe { &*k };
            // Not removed when found: a name the kernel copies twice is
            // looked up twice.
            d = unsafe { LONG_NAMES.get(k) }.is_none();
        }
    }
    st.flags |= seen;
    if d {
        st.flags |= diff;
        let _ = KNAMES.insert(&kname_key(tid, which), &*buf, 0);
    }
    0
}

/// A `names_cache` object freed during a path syscall that is not a
/// `struct filename` with its name inline. A name of `EMBEDDED_NAME_MAX`
/// bytes or more (`PATH_MAX` less the offset of `iname`: 4 064 here) is
/// kept out of line: the object is then the string itself, and the `struct
/// filename` that says which argument it was copied from is elsewhere. Such
/// a string is looked up in [`LONG_NAMES`] only when it can be one argument
/// alone; anything else is a mismatch (see below). (Other users of the
/// slab, e.g. `d_path` buffers, rarely start with a string that long.)
#[inline(always)]
fn out_of_line(st: &mut EntryState, path1: u8, path2: u8, tid: u32, obj: u64) {
    // mount's source is no `struct filename`: never this.
    let path1 = if st.nr == ext!(mount_nr) { 0 } else { path1 };
    let open1 = path1 != 0 && st.flags & F_KNAME1 == 0;
    let open2 = path2 != 0 && st.flags & F_KNAME2 == 0;
    let Some((k, n)) = long_key(tid, 1, st.ts, obj, false) else {
        return;
    };
    let embedded_max = WHOLE_PATH_LEN as u32 - ext!(filename_iname);
    if n <= embedded_max {
        return;
    }
    // Which argument it was copied from is not known, and the kernel frees
    // two names in an order of its own (symlink: the new path first). Only
    // a name that can be told apart may compare equal: the one argument
    // still open whose whole entry copy was this long too. Otherwise (both
    // were, or neither, or none is still open: a second long name, or
    // another user of the slab) the first argument still open, else path
    // 1, differs: a false mismatch, never a missed one.
    let cut1 = open1 && st.user_ool & 1 != 0;
    let cut2 = open2 && st.user_ool & 2 != 0;
    if cut1 != cut2 {
        let which = if cut1 { 1 } else { 2 };
        unsafe { (*k).which = which };
        let equal = st.user_whole & which != 0 && unsafe { LONG_NAMES.get(&*k) }.is_some();
        st.flags |= match (which, equal) {
            (1, true) => F_KNAME1,
            (1, false) => F_KNAME1 | F_KNAME1_DIFF,
            (_, true) => F_KNAME2,
            _ => F_KNAME2 | F_KNAME2_DIFF,
        };
    } else if open1 || !open2 {
        st.flags |= F_KNAME1 | F_KNAME1_DIFF;
    } else {
        st.flags |= F_KNAME2 | F_KNAME2_DIFF;
    }
}

/// Drops the kernel names kept for `tid` (a row that is not sent).
#[inline(always)]
pub fn forget(tid: u32, flags: u32) {
    if flags & F_KNAME1_DIFF != 0 {
        let _ = KNAMES.remove(&kname_key(tid, 1));
    }
    if flags & F_KNAME2_DIFF != 0 {
        let _ = KNAMES.remove(&kname_key(tid, 2));
    }
}

/// Copies the differing kernel names of `tid` into `e`'s `kname` sections;
/// returns the `F_KNAME*_BYTES` bits set.
#[inline(always)]
pub fn attach(tid: u32, flags: u32, e: &mut WireEvent) -> u32 {
    let mut out = 0;
    if flags & F_KNAME1_DIFF != 0 {
        let key = kname_key(tid, 1);
        if let Some(k) = unsafe { KNAMES.get(&key) } {
            unsafe {
                h::bpf_probe_read_kernel(
                    e.kname.as_mut_ptr().cast(),
                    USER_PATH_LEN as u32,
                    k.as_ptr().cast(),
                );
            }
            out |= F_KNAME1_BYTES;
        }
        let _ = KNAMES.remove(&key);
    }
    if flags & F_KNAME2_DIFF != 0 {
        let key = kname_key(tid, 2);
        if let Some(k) = unsafe { KNAMES.get(&key) } {
            unsafe {
                h::bpf_probe_read_kernel(
                    e.kname2.as_mut_ptr().cast(),
                    USER_PATH_LEN as u32,
                    k.as_ptr().cast(),
                );
            }
            out |= F_KNAME2_BYTES;
        }
        let _ = KNAMES.remove(&key);
    }
    out
}
