//! [`tune_allocator`]: glibc `malloc` settings for a process that scans
//! recordings or records one.
//!
//! A scan decodes Parquet pages into buffers of a few hundred KiB to a few
//! MiB and frees them a moment later. glibc serves such a request with its
//! own `mmap` and gives it back with `munmap` on free (above its adaptive
//! threshold), so every batch paid for fresh zeroed pages: a sixth of the CPU
//! time of a filtered scan went to the kernel's page faults and unmapping.
//! Kept on the heap instead, the same memory is reused batch after batch.

use std::sync::Once;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc's `mallopt(3)` (the C library every Rust program on glibc links).
    fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
}

/// `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` of glibc's `<malloc.h>`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_MMAP_THRESHOLD: std::ffi::c_int = -3;

/// Buffers below this size come from the heap instead of their own mapping.
pub const MMAP_THRESHOLD: i32 = 32 << 20;

/// Free memory at the top of the heap is given back to the system only above
/// this size, in a process that scans recordings (a query's working set is
/// reused by the next batch or query).
pub const TRIM_THRESHOLD: i32 = 1 << 30;

/// The same for `record`, a long-running process: the queues between its
/// threads bound the batches in use, so less free heap is kept.
pub const RECORD_TRIM_THRESHOLD: i32 = 64 << 20;

/// Sets [`MMAP_THRESHOLD`] and the trim threshold (`trim`:
/// [`TRIM_THRESHOLD`] or [`RECORD_TRIM_THRESHOLD`]) for this process, once.
///
/// Called by [`crate::main`] before every command. The recorder hands each
/// batch's column buffers from its decode thread to its write thread, and a
/// scan decodes pages into buffers of the same sizes: either way, kept on the
/// heap they are reused batch after batch instead of being fresh zeroed pages
/// each time. Does nothing where the C library is not glibc.
pub fn tune_allocator(trim: i32) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator parameters; it is safe to
        // call at any time, from any thread.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            mallopt(M_TRIM_THRESHOLD, trim);
        }
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        let _ = trim;
    });
}
