//! Wire types shared by the kernel programs (`hindsight-recorder-ebpf`) and
//! the user-space recorder: `#[repr(C)]`, explicit padding, no `bool` or
//! `usize`, with their sizes asserted at compile time.
#![no_std]
