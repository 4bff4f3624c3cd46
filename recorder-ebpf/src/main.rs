//! Hindsight's kernel programs, one hook family per module. Every kernel
//! struct member is read at an offset taken from the running kernel's BTF
//! (the `CONFIG` global), never from bindings compiled in.
#![no_std]
#![no_main]
// `asm!` for the one atomic add BPF has in every version (see `track`).
#![feature(asm_experimental_arch)]
#![allow(unsafe_op_in_unsafe_fn)]

mod connect;
mod filter;
mod kernel;
mod names;
mod probe;
mod process;
mod socket;
mod syscalls;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
