//! [`tune_allocator`]: glibc `malloc` settings for a process that scans
//! recordings.
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
/// this size (a query's working set is reused by the next batch or query).
pub const TRIM_THRESHOLD: i32 = 1 << 30;

/// Sets [`MMAP_THRESHOLD`] and [`TRIM_THRESHOLD`] for this process, once.
///
/// Called by [`crate::main`] before every command but `record`: these are
/// process-wide settings, suited to a process that scans recordings
/// (`query`, `replay`, `diff`, `test`, the `bench` suites), not to the
/// long-running recorder. Does nothing where the C library is not glibc.
pub fn tune_allocator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator parameters; it is safe to
        // call at any time, from any thread.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    });
}
