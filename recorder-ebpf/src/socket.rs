//! The socket behind a descriptor, read at `sys_exit` from the kernel's own
//! `struct sock`: family, type, protocol, the local address the kernel bound
//! (an ephemeral port is assigned by then) and, for a returned descriptor
//! (`accept`), the peer.

use aya_ebpf::helpers::generated as h;
use hindsight_recorder_common::{
    F_KADDR, F_KPATH_COMPLETE, F_KPATH_WALK, F_SOCK, F_UNIX_ADDR, WireHeader,
};

use crate::kernel::{conf, fd_file, rd, walk_path};

/// The socket file of the `AF_UNIX` socket behind `fd` (its peer's when it
/// has one), walked into `buf` like any file: returns `F_KPATH_WALK` (and
/// `F_KPATH_COMPLETE`) with `kpath_len` set, or 0 (not a filesystem socket).
/// Called from `sys_exit`'s socket path only, after [`read_sock`] found a
/// unix address.
#[inline(always)]
pub fn unix_walk(hd: &mut WireHeader, task: u64, fd: i64, buf: *mut u8) -> u32 {
    let path_off = conf!(off.unix_path);
    if path_off == u32::MAX {
        return 0;
    }
    let file = fd_file(task, fd);
    let sock = rd::<u64>(file, conf!(off.file_private_data));
    let sk = rd::<u64>(sock, conf!(off.socket_sk));
    if sk == 0 {
        return 0;
    }
    let peer = rd::<u64>(sk, conf!(off.unix_peer));
    let owner = if peer != 0 { peer } else { sk };
    if rd::<u64>(owner, path_off + conf!(off.path_dentry)) == 0 {
        return 0;
    }
    let w = walk_path(owner + path_off as u64, buf);
    if w.len == 0 {
        return 0;
    }
    hd.kpath_len = w.len;
    F_KPATH_WALK | if w.complete { F_KPATH_COMPLETE } else { 0 }
}

/// `S_IFMT` / `S_IFSOCK` of `inode.i_mode`.
const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;

/// Reads the socket behind `fd` of `task` into `h`; `peer` also stores the
/// remote end, when there is one, as the kernel's address (`kaddr_*`).
/// Returns the `F_*` bits set (0 when `fd` is not a socket). An `AF_UNIX`
/// socket's address (its peer's when it has one, else its own) goes into
/// `unix_buf` (at least 128 bytes; `kpath_len` says how many), unless
/// `unix_buf` is 0.
///
/// Not inlined: as a BPF subprogram it costs the verifier far less than
/// inlined into `sys_exit`'s many paths (over its 1M-instruction budget).
#[inline(never)]
pub fn read_sock(h: &mut WireHeader, task: u64, fd: i64, peer: bool, unix_buf: u64) -> u32 {
    let file = fd_file(task, fd);
    if file == 0 {
        return 0;
    }
    let inode = rd::<u64>(file, conf!(off.file_f_inode));
    if rd::<u16>(inode, conf!(off.inode_i_mode)) & S_IFMT != S_IFSOCK {
        return 0;
    }
    let sock = rd::<u64>(file, conf!(off.file_private_data));
    let sk = rd::<u64>(sock, conf!(off.socket_sk));
    if sk == 0 {
        return 0;
    }
    let family = rd::<u16>(sk, conf!(off.sk_family));
    h.ino = rd::<u64>(inode, conf!(off.inode_i_ino));
    h.sock_family = family;
    h.sock_type = rd::<u16>(sk, conf!(off.sk_type));
    h.sock_proto = rd::<u16>(sk, conf!(off.sk_protocol));
    h.lport = rd::<u16>(sk, conf!(off.sk_num));
    let rport = u16::from_be(rd::<u16>(sk, conf!(off.sk_dport)));
    let mut flags = F_SOCK;
    // A new socket (`socket`) has no peer yet.
    let peer = peer && rport != 0;
    if family == 2 {
        let l = rd::<[u8; 4]>(sk, conf!(off.sk_rcv_saddr));
        h.laddr = [l[0], l[1], l[2], l[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        if peer {
            let r = rd::<[u8; 4]>(sk, conf!(off.sk_daddr));
            h.kaddr = [r[0], r[1], r[2], r[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            h.kaddr_family = 2;
            h.kaddr_port = rport;
            flags |= F_KADDR;
        }
    } else if family == 10 && conf!(off.sk_v6_rcv_saddr) != u32::MAX {
        h.laddr = rd::<[u8; 16]>(sk, conf!(off.sk_v6_rcv_saddr));
        if peer {
            h.kaddr = rd::<[u8; 16]>(sk, conf!(off.sk_v6_daddr));
            h.kaddr_family = 10;
            h.kaddr_port = rport;
            flags |= F_KADDR;
        }
    } else {
        h.laddr = [0; 16];
        if family == 1 && unix_buf != 0 {
            flags |= unix_addr(h, sk, unix_buf);
        }
    }
    flags
}

/// The address an `AF_UNIX` socket `sk` is tied to: its peer's bound name
/// when it has a peer (a connected client: the socket it connected to),
/// else its own (bound) name; copied into `buf`. Returns `F_UNIX_ADDR`, or
/// 0 when there is no such name (an unbound peer, or no BTF for it).
#[inline(always)]
fn unix_addr(hd: &mut WireHeader, sk: u64, buf: u64) -> u32 {
    let (peer_off, addr_off) = (conf!(off.unix_peer), conf!(off.unix_addr));
    if peer_off == u32::MAX || addr_off == u32::MAX || conf!(off.unix_address_name) == u32::MAX {
        return 0;
    }
    let peer = rd::<u64>(sk, peer_off);
    let owner = if peer != 0 { peer } else { sk };
    let addr = rd::<u64>(owner, addr_off);
    if addr == 0 {
        return 0;
    }
    // `len` counts `sun_family` (2 bytes) and the path (no NUL needed).
    let len = rd::<i32>(addr, conf!(off.unix_address_len)) - 2;
    if len <= 0 {
        return 0;
    }
    let n = if len > 108 { 108 } else { len as u32 };
    let n = unsafe { core::ptr::read_volatile(&n) } & 127;
    let src = addr + conf!(off.unix_address_name) as u64 + 2;
    let r = unsafe { h::bpf_probe_read_kernel(buf as *mut _, n, src as *const _) };
    if r != 0 {
        return 0;
    }
    hd.kpath_len = n;
    F_UNIX_ADDR
}

/// `S_IFIFO` of `inode.i_mode`.
const S_IFIFO: u16 = 0o010000;

/// Whether descriptors `fd0` and `fd1` of `task` are the two ends of one
/// object pair: one pipe (both refer to the same FIFO inode) when `socket`
/// is 0, else two `AF_UNIX` sockets each other's peer (`socketpair`; where
/// BTF has no `unix_sock.peer`, two `AF_UNIX` sockets). The numbers come
/// from user memory after the call (`pipe`, `pipe2`, `socketpair`): a
/// racing thread can rewrite them, and only numbers that pass this name
/// what replay may label a pipe or a unix socket.
///
/// Not inlined: `sys_exit` is near the verifier's budget.
#[inline(never)]
pub fn same_pair(task: u64, fd0: i64, fd1: i64, socket: u32) -> u32 {
    let (f0, f1) = (fd_file(task, fd0), fd_file(task, fd1));
    if f0 == 0 || f1 == 0 || f0 == f1 {
        return 0;
    }
    let i0 = rd::<u64>(f0, conf!(off.file_f_inode));
    let i1 = rd::<u64>(f1, conf!(off.file_f_inode));
    if i0 == 0 || i1 == 0 {
        return 0;
    }
    let m0 = rd::<u16>(i0, conf!(off.inode_i_mode)) & S_IFMT;
    let m1 = rd::<u16>(i1, conf!(off.inode_i_mode)) & S_IFMT;
    if socket == 0 {
        return (i0 == i1 && m0 == S_IFIFO) as u32;
    }
    if m0 != S_IFSOCK || m1 != S_IFSOCK {
        return 0;
    }
    let sk0 = rd::<u64>(
        rd::<u64>(f0, conf!(off.file_private_data)),
        conf!(off.socket_sk),
    );
    let sk1 = rd::<u64>(
        rd::<u64>(f1, conf!(off.file_private_data)),
        conf!(off.socket_sk),
    );
    if sk0 == 0 || sk1 == 0 {
        return 0;
    }
    if rd::<u16>(sk0, conf!(off.sk_family)) != 1 || rd::<u16>(sk1, conf!(off.sk_family)) != 1 {
        return 0;
    }
    let peer = conf!(off.unix_peer);
    if peer == u32::MAX {
        return 1;
    }
    (rd::<u64>(sk0, peer) == sk1 && rd::<u64>(sk1, peer) == sk0) as u32
}
