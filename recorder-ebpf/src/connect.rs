//! cgroup `connect4` / `connect6` and `sendmsg4` / `sendmsg6` on the cgroup v2
//! root: the kernel's own copy of the address a socket connects or sends to
//! (after `move_addr_to_kernel`), stored into the thread's entry state for
//! `sys_exit` to merge.

use aya_ebpf::{helpers::generated as h, macros::cgroup_sock_addr, programs::SockAddrContext};
use hindsight_recorder_common::F_KADDR;

use crate::kernel::{IDLE, cur_entry};

#[inline(always)]
fn store(ctx: &SockAddrContext, v6: bool) {
    let tid = unsafe { h::bpf_get_current_pid_tgid() } as u32;
    let Some(st) = cur_entry(tid) else {
        return;
    };
    let st = unsafe { &mut *st };
    if st.nr == IDLE {
        return;
    }
    let sa = unsafe { &*ctx.sock_addr };
    st.kaddr_port = u16::from_be(sa.user_port as u16);
    if v6 {
        st.kaddr_family = 10;
        let mut a = [0u8; 16];
        let w0 = sa.user_ip6[0].to_ne_bytes();
        let w1 = sa.user_ip6[1].to_ne_bytes();
        let w2 = sa.user_ip6[2].to_ne_bytes();
        let w3 = sa.user_ip6[3].to_ne_bytes();
        let mut i = 0;
        while i < 4 {
            a[i] = w0[i];
            a[4 + i] = w1[i];
            a[8 + i] = w2[i];
            a[12 + i] = w3[i];
            i += 1;
        }
        st.kaddr = a;
    } else {
        st.kaddr_family = 2;
        let b = sa.user_ip4.to_ne_bytes();
        st.kaddr = [b[0], b[1], b[2], b[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    }
    st.flags |= F_KADDR;
}

#[cgroup_sock_addr(connect4)]
pub fn hs_connect4(ctx: SockAddrContext) -> i32 {
    store(&ctx, false);
    1
}

#[cgroup_sock_addr(connect6)]
pub fn hs_connect6(ctx: SockAddrContext) -> i32 {
    store(&ctx, true);
    1
}

/// `sendto`/`sendmsg` with a destination on an unconnected UDP (or raw)
/// socket: the kernel's copy of that destination.
#[cgroup_sock_addr(sendmsg4)]
pub fn hs_sendmsg4(ctx: SockAddrContext) -> i32 {
    store(&ctx, false);
    1
}

#[cgroup_sock_addr(sendmsg6)]
pub fn hs_sendmsg6(ctx: SockAddrContext) -> i32 {
    store(&ctx, true);
    1
}
