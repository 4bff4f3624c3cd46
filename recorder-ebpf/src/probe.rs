//! Feature probes: trampoline programs (LSM, fentry) that do nothing. The
//! recorder loads them at start only to learn whether this kernel allows
//! such programs (reported in the manifest); it never attaches them and
//! never needs them.

use aya_ebpf::{
    macros::{fentry, lsm},
    programs::{FEntryContext, LsmContext},
};

#[lsm(hook = "file_open")]
pub fn hs_probe_lsm(_ctx: LsmContext) -> i32 {
    0
}

#[fentry(function = "do_filp_open")]
pub fn hs_probe_fentry(_ctx: FEntryContext) -> u32 {
    0
}
