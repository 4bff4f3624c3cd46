//! Wire types shared by the kernel programs (`hindsight-recorder-ebpf`) and
//! the user-space recorder: `#[repr(C)]`, explicit padding, no `bool` or
//! `usize`, with their sizes asserted at compile time.
//!
//! One ring-buffer record is a [`WireEvent`] packed: the [`WireHeader`],
//! then each section the record uses, in the fixed order of [`WireEvent`],
//! with only its used bytes ([`section_lens`] says which and how many);
//! [`WireHeader::len`] is the total sent. User space lays the sections back
//! at their fixed offsets (`OFF_*`) before decoding.
#![no_std]

use core::mem::{offset_of, size_of};

/// Bytes of a user-memory path read (`file_path_user`, incl. the NUL).
pub const USER_PATH_LEN: usize = 256;
/// Bytes of a whole path (`PATH_MAX`, with its NUL): how much of a path cut
/// short is read again to be compared whole.
pub const WHOLE_PATH_LEN: usize = 4096;
/// Entries of the kernel's `LONG_NAMES` map: whole paths of syscalls in
/// flight, for the kernel's copy to be compared with.
pub const LONG_NAMES_ENTRIES: u32 = 512;
/// Bytes of a kernel path buffer (dentry-walk components, leaf first).
pub const KPATH_LEN: usize = 768;
/// Component writes start below this offset (mask `KPATH_OFF_MASK`), so a
/// 256-byte component always fits in [`KPATH_LEN`].
pub const KPATH_OFF_MASK: u32 = 511;
/// Largest single path component read.
pub const NAME_LEN: u32 = 256;
/// Bytes of the auxiliary section (exec argv, NUL-separated).
pub const AUX_LEN: usize = 768;
/// Largest syscall number the filter table covers (exclusive).
pub const MAX_SYSCALLS: u32 = 1024;
/// Words of the `TRACKED` bitmap: one bit per thread-group id up to the
/// kernel's `PID_MAX_LIMIT` (4194304), bit `tgid % 64` of word `tgid / 64`.
pub const TRACKED_WORDS: u32 = 4_194_304 / 64;

/// [`WireHeader::kind`]: a syscall, entry and exit merged.
pub const KIND_SYSCALL: u32 = 1;
/// [`WireHeader::kind`]: `sched_process_fork`.
pub const KIND_FORK: u32 = 2;
/// [`WireHeader::kind`]: `sched_process_exec`.
pub const KIND_EXEC: u32 = 3;
/// [`WireHeader::kind`]: `sched_process_exit` of the last thread of a process.
pub const KIND_EXIT: u32 = 4;

/// `kpath` holds dentry-walk components of the object behind the result fd
/// (or the executed binary).
pub const F_KPATH_WALK: u32 = 1 << 0;
/// The walk reached the global root (the path is complete and absolute).
pub const F_KPATH_COMPLETE: u32 = 1 << 1;
/// `kpath` holds the first path argument re-read from user memory at exit.
pub const F_KPATH_REREAD: u32 = 1 << 2;
/// `kpath2` holds the walk of the directory a relative `user_path` is
/// relative to (dirfd or cwd); on exec rows, the cwd.
pub const F_KPATH2_WALK: u32 = 1 << 3;
/// `kpath2` walk reached the global root.
pub const F_KPATH2_COMPLETE: u32 = 1 << 4;
/// `ino`, `dev`, `f_flags`, `i_mode` describe a file object.
pub const F_FILE: u32 = 1 << 5;
/// `kaddr_*` holds the kernel's copy of a socket address.
pub const F_KADDR: u32 = 1 << 6;
/// `uaddr_*` holds a socket address read from user memory at entry.
pub const F_UADDR: u32 = 1 << 7;
/// `user_path` is valid (read attempted; see `user_err`).
pub const F_USER_PATH: u32 = 1 << 8;
/// `user_path2` is valid (read attempted; see `user_err2`).
pub const F_USER_PATH2: u32 = 1 << 9;
/// `aux` holds argv (exec) or the second path re-read at exit (syscall).
pub const F_AUX: u32 = 1 << 10;
/// Exec: `user_path2` holds `bprm->filename`, the kernel's copy of the name.
pub const F_EXEC_KNAME: u32 = 1 << 11;
/// The fd argument (arg 0) was resolved (read/write/fchmod...), not the result.
pub const F_FD_ARG: u32 = 1 << 12;
/// The object lives on an internal mount (memfd, pipe, socket, anon inode):
/// its dentry is a root of its own, and `kpath` holds just that dentry's
/// name (e.g. `memfd:NAME`), not a path.
pub const F_KPATH_PSEUDO: u32 = 1 << 13;
/// The kernel's own copy of path 1 (its `struct filename`, seen when the
/// syscall freed it to `names_cache`) was compared with `user_path`.
pub const F_KNAME1: u32 = 1 << 14;
/// That copy differed from `user_path` (or the user read failed).
pub const F_KNAME1_DIFF: u32 = 1 << 15;
/// The kernel's copy of path 2 was compared with `user_path2`.
pub const F_KNAME2: u32 = 1 << 16;
/// That copy differed from `user_path2`.
pub const F_KNAME2_DIFF: u32 = 1 << 17;
/// `kname` holds the kernel's copy of path 1 (sent when it differed).
pub const F_KNAME1_BYTES: u32 = 1 << 18;
/// `kname2` holds the kernel's copy of path 2 (sent when it differed).
pub const F_KNAME2_BYTES: u32 = 1 << 19;
/// `user_path` is cut short: user memory held a longer path.
pub const F_USER_TRUNC: u32 = 1 << 20;
/// `user_path2` is cut short.
pub const F_USER_TRUNC2: u32 = 1 << 21;
/// Exec: the executable is on overlayfs (see [`F_EXE_UPPER`]).
pub const F_EXE_OVERLAY: u32 = 1 << 23;
/// Exec: the overlayfs executable is in the upper (writable) layer: it was
/// written or copied up after the mount, not part of a lower (image) layer.
pub const F_EXE_UPPER: u32 = 1 << 24;
/// `sock_*`, `lport` and `laddr` describe the socket behind the fd, read
/// from the kernel's `struct sock` at exit; on `accept`/`accept4` the
/// `kaddr_*` fields hold its peer (also from `struct sock`).
pub const F_SOCK: u32 = 1 << 22;
/// Syscall: the second path has a base directory of its own (the *at
/// calls' new dirfd differs from the first path's): `aux` holds its walk
/// (leaf first), and the second path re-read at exit ([`F_AUX`]) is in
/// `kpath` after the first's, at [`USER_PATH_LEN`].
pub const F_BASE2_WALK: u32 = 1 << 25;
/// The [`F_BASE2_WALK`] walk reached the global root.
pub const F_BASE2_COMPLETE: u32 = 1 << 26;
/// Socket call on an `AF_UNIX` socket: `kpath` holds the address the kernel
/// keeps (`sun_path`, `kpath_len` bytes): the peer's when the socket has a
/// peer (connect), else its own (bind, listen); with [`F_KPATH_WALK`] the
/// walk of that socket's file (leaf first) instead of its name.
pub const F_UNIX_ADDR: u32 = 1 << 27;
/// The user's `AF_UNIX` address is abstract (`sun_path` starts with a NUL):
/// `user_path` holds the name after that NUL.
pub const F_UADDR_ABSTRACT: u32 = 1 << 28;

/// `laddr` holds the process's ids ([`ProcIds`]) instead of a socket
/// address: on fork rows (the child's), exec rows, and the exit of `setsid`.
pub const F_PROC_IDS: u32 = 1 << 29;
/// `pipe`, `pipe2`, `socketpair`: the two descriptors the call returned,
/// read back at exit from the `int[2]` the kernel wrote to user memory,
/// are in `aux_int` and `child_tgid`; the first one's file is resolved
/// (`F_FILE`) as the kernel's own view of what that number now refers to.
pub const F_FD_PAIR: u32 = 1 << 30;
/// With [`F_FD_PAIR`]: the two descriptors are the ends of one pair at exit
/// (one pipe's, or two `AF_UNIX` sockets each other's peer): checked in the
/// kernel, since the numbers come from user memory a racing thread can
/// rewrite.
pub const F_FD_PAIR_SAME: u32 = 1 << 31;

/// Ids of a process that only its own changes move (pid namespace, session,
/// controlling terminal), sent in `laddr` with [`F_PROC_IDS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcIds {
    /// Process id in the process's own pid namespace (0: unknown).
    pub vpid: u32,
    /// Session id, in the initial pid namespace (0: unknown).
    pub sid: u32,
    /// Kernel `dev_t` (`MAJOR << 20 | MINOR`) of the controlling terminal,
    /// 0 when none.
    pub tty: u32,
    /// Set when the three fields above were read (their offsets resolved).
    pub valid: u32,
}

impl ProcIds {
    /// The 16 bytes sent in `laddr`.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.vpid.to_ne_bytes());
        b[4..8].copy_from_slice(&self.sid.to_ne_bytes());
        b[8..12].copy_from_slice(&self.tty.to_ne_bytes());
        b[12..16].copy_from_slice(&self.valid.to_ne_bytes());
        b
    }

    /// Reads them back from `laddr`.
    pub fn from_bytes(b: &[u8; 16]) -> ProcIds {
        let w = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        ProcIds {
            vpid: w(0),
            sid: w(4),
            tty: w(8),
            valid: w(12),
        }
    }
}

/// Per-syscall capture spec ([`SyscallSpec::flags`]): record this syscall.
pub const S_ENABLED: u8 = 1 << 0;
/// Resolve the returned fd at exit (open family).
pub const S_RET_FD: u8 = 1 << 1;
/// Resolve the fd in arg 0 at exit.
pub const S_ARG_FD: u8 = 1 << 2;
/// Arg 1 is a `struct sockaddr *` (arg 2 its length) read at entry.
pub const S_SOCKADDR: u8 = 1 << 3;
/// Re-read the path arguments at exit (no kernel object to resolve).
pub const S_REREAD: u8 = 1 << 4;
/// Arg 4 is a destination `struct sockaddr *` (arg 5 its length), may be
/// NULL (`sendto`).
pub const S_SOCKADDR_ARG4: u8 = 1 << 5;
/// Arg 1 is a `struct user_msghdr *` whose `msg_name` is the destination
/// (`sendmsg`).
pub const S_SOCKADDR_MSG: u8 = 1 << 6;
/// Read the socket behind the fd at exit (family, type, protocol, local
/// address; the peer too for a returned fd): the returned fd when
/// [`S_RET_FD`] is also set, else the fd in arg 0. No path walk then.
pub const S_SOCK: u8 = 1 << 7;

/// How the kernel side captures one syscall number (array value).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallSpec {
    /// `S_*` bits.
    pub flags: u8,
    /// Argument index + 1 of the first path, 0 = none.
    pub path1: u8,
    /// Argument index + 1 of the second path, 0 = none.
    pub path2: u8,
    /// Argument index + 1 of the dirfd the first path is relative to, 0 = cwd;
    /// or one of the markers [`D_CWD_AFTER`], [`D_DUP_CMDS`], [`D_OPENAT2`],
    /// [`D_FD_PAIR`], [`D_FD_PAIR_ARG3`].
    pub dirfd: u8,
}

/// [`SyscallSpec::dirfd`] marker: the path is relative to the cwd, and the
/// call changes the cwd (`chdir`): on success the cwd it left is walked at
/// exit, whether the path was relative or not.
pub const D_CWD_AFTER: u8 = 0xff;
/// [`SyscallSpec::dirfd`] marker: `fcntl`, recorded only for the commands
/// that create a descriptor (`F_DUPFD`, `F_DUPFD_CLOEXEC`) or set
/// close-on-exec (`F_SETFD`) (arg 2).
pub const D_DUP_CMDS: u8 = 0xfe;
/// [`SyscallSpec::dirfd`] marker: `openat2`, whose dirfd is arg 1 and whose
/// `struct open_how` (arg 3) is read at entry: `flags` and `resolve` into
/// `uaddr` bytes 0..8 and 8..16 (no socket address on this call).
pub const D_OPENAT2: u8 = 0xfd;
/// [`SyscallSpec::dirfd`] marker: `pipe`/`pipe2`, whose arg 0 points at the
/// `int[2]` of descriptors the call returns (read at exit, [`F_FD_PAIR`]).
pub const D_FD_PAIR: u8 = 0xfc;
/// [`SyscallSpec::dirfd`] marker: `socketpair`, whose arg 3 points at the
/// `int[2]` of descriptors the call returns (read at exit, [`F_FD_PAIR`]).
pub const D_FD_PAIR_ARG3: u8 = 0xfb;

/// Byte offsets of the kernel struct members the programs read, resolved
/// from the running kernel's BTF at load time (`.rodata` global `CONFIG`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    /// `task_struct.pid`.
    pub task_pid: u32,
    /// `task_struct.tgid`.
    pub task_tgid: u32,
    /// `task_struct.real_parent`.
    pub task_real_parent: u32,
    /// `task_struct.cred`.
    pub task_cred: u32,
    /// `task_struct.files`.
    pub task_files: u32,
    /// `task_struct.fs`.
    pub task_fs: u32,
    /// `task_struct.mm`.
    pub task_mm: u32,
    /// `task_struct.signal`.
    pub task_signal: u32,
    /// `task_struct.exit_code`.
    pub task_exit_code: u32,
    /// `task_struct.loginuid` (u32::MAX when the kernel has no audit).
    pub task_loginuid: u32,
    /// `task_struct.sessionid` (u32::MAX when the kernel has no audit).
    pub task_sessionid: u32,
    /// `cred.uid`.
    pub cred_uid: u32,
    /// `cred.gid`.
    pub cred_gid: u32,
    /// `cred.euid`.
    pub cred_euid: u32,
    /// `cred.cap_effective`.
    pub cred_cap_effective: u32,
    /// `cred.cap_permitted`.
    pub cred_cap_permitted: u32,
    /// `files_struct.fdt`.
    pub files_fdt: u32,
    /// `fdtable.max_fds`.
    pub fdtable_max_fds: u32,
    /// `fdtable.fd`.
    pub fdtable_fd: u32,
    /// `file.f_path`.
    pub file_f_path: u32,
    /// `file.f_inode`.
    pub file_f_inode: u32,
    /// `file.f_flags`.
    pub file_f_flags: u32,
    /// `path.mnt`.
    pub path_mnt: u32,
    /// `path.dentry`.
    pub path_dentry: u32,
    /// `dentry.d_parent`.
    pub dentry_d_parent: u32,
    /// `dentry.d_name.name` (qstr offset + name offset).
    pub dentry_d_name_name: u32,
    /// `inode.i_ino`.
    pub inode_i_ino: u32,
    /// `inode.i_mode`.
    pub inode_i_mode: u32,
    /// `inode.i_sb`.
    pub inode_i_sb: u32,
    /// `super_block.s_dev`.
    pub sb_s_dev: u32,
    /// `mount.mnt` (the embedded `vfsmount`).
    pub mount_mnt: u32,
    /// `mount.mnt_parent`.
    pub mount_mnt_parent: u32,
    /// `mount.mnt_mountpoint`.
    pub mount_mnt_mountpoint: u32,
    /// `vfsmount.mnt_root`.
    pub vfsmount_mnt_root: u32,
    /// `fs_struct.pwd`.
    pub fs_pwd: u32,
    /// `mm_struct.arg_start`.
    pub mm_arg_start: u32,
    /// `mm_struct.arg_end`.
    pub mm_arg_end: u32,
    /// `signal_struct.live` (an `atomic_t`).
    pub signal_live: u32,
    /// `linux_binprm.file`.
    pub bprm_file: u32,
    /// `linux_binprm.filename`.
    pub bprm_filename: u32,
    /// `file.private_data` (a socket file's `struct socket *`).
    pub file_private_data: u32,
    /// `socket.sk`.
    pub socket_sk: u32,
    /// `sock_common.skc_family` (as a member of `struct sock`).
    pub sk_family: u32,
    /// `sock_common.skc_num`: local port, host order.
    pub sk_num: u32,
    /// `sock_common.skc_dport`: remote port, network order.
    pub sk_dport: u32,
    /// `sock_common.skc_rcv_saddr`: local IPv4 address.
    pub sk_rcv_saddr: u32,
    /// `sock_common.skc_daddr`: remote IPv4 address.
    pub sk_daddr: u32,
    /// `sock_common.skc_v6_rcv_saddr` (u32::MAX without IPv6).
    pub sk_v6_rcv_saddr: u32,
    /// `sock_common.skc_v6_daddr` (u32::MAX without IPv6).
    pub sk_v6_daddr: u32,
    /// `sock.sk_type`.
    pub sk_type: u32,
    /// `sock.sk_protocol`.
    pub sk_protocol: u32,
    /// `super_block.s_magic`.
    pub sb_s_magic: u32,
    /// Distance from an overlayfs inode's embedded `vfs_inode` to its
    /// `__upperdentry` (`struct ovl_inode`; u32::MAX without overlayfs).
    pub ovl_upperdentry: u32,
    /// `dentry.d_inode`.
    pub dentry_d_inode: u32,
    /// `task_struct.comm`.
    pub task_comm: u32,
    /// `unix_sock.peer` (u32::MAX without `struct unix_sock` in BTF).
    pub unix_peer: u32,
    /// `unix_sock.addr` (a `struct unix_address *`; u32::MAX without it).
    pub unix_addr: u32,
    /// `unix_address.len` (bytes of `name`, `sun_family` included).
    pub unix_address_len: u32,
    /// `unix_address.name` (a `struct sockaddr_un`).
    pub unix_address_name: u32,
    /// `unix_sock.path`: the socket file of a bound filesystem socket.
    pub unix_path: u32,
    /// `pid.level`: depth of the task's pid namespace.
    pub pid_level: u32,
    /// `pid.numbers` (a `struct upid` per namespace level).
    pub pid_numbers: u32,
    /// `sizeof(struct upid)`.
    pub upid_size: u32,
    /// `upid.nr`.
    pub upid_nr: u32,
    /// `signal_struct.pids` (`struct pid *` per `enum pid_type`).
    pub signal_pids: u32,
    /// `signal_struct.tty` (a `struct tty_struct *`).
    pub signal_tty: u32,
    /// `tty_struct.index`.
    pub tty_index: u32,
    /// `tty_struct.driver`.
    pub tty_driver: u32,
    /// `tty_driver.major`.
    pub tty_driver_major: u32,
    /// `tty_driver.minor_start`.
    pub tty_driver_minor_start: u32,
    /// `pt_regs` offsets of syscall arguments 0..6.
    pub regs_arg: [u32; 6],
}

/// Load-time configuration of the kernel programs (`.rodata` global `CONFIG`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The recorder's own tgid: never recorded.
    pub self_tgid: u32,
    /// 0: record every process; 1: only tgids in the `TRACKED` map.
    pub filter_tracked: u32,
    /// Non-zero: record only tasks whose cgroup v2 ancestor at
    /// `cgroup_level` has this id.
    pub cgroup_id: u64,
    /// Level of `cgroup_id` in the cgroup v2 hierarchy (root = 0).
    pub cgroup_level: u32,
    /// Wake the reader only when this many bytes are waiting (batching).
    pub wakeup_bytes: u32,
    /// Struct offsets from BTF.
    pub off: KernelOffsets,
}

/// Fixed part of every ring-buffer record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WireHeader {
    /// `KIND_*`.
    pub kind: u32,
    /// `F_*` bits.
    pub flags: u32,
    /// Syscall number (syscall rows), else u32::MAX.
    pub syscall_nr: u32,
    /// Bytes of this record that were sent (header + used sections).
    pub len: u32,
    /// `bpf_ktime_get_ns` at syscall entry (or at the event).
    pub ts_enter: u64,
    /// `bpf_ktime_get_ns` at syscall exit (0 for lifecycle events).
    pub ts_exit: u64,
    /// Syscall return value.
    pub ret: i64,
    /// Raw syscall arguments.
    pub args: [u64; 6],
    /// Thread-group id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent tgid (`real_parent`).
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Audit login uid.
    pub loginuid: u32,
    /// Audit session id.
    pub sessionid: u32,
    /// cgroup v2 id.
    pub cgroup_id: u64,
    /// Effective capabilities.
    pub cap_eff: u64,
    /// Permitted capabilities.
    pub cap_perm: u64,
    /// `comm`.
    pub comm: [u8; 16],
    /// Inode number of the resolved file.
    pub ino: u64,
    /// Kernel `dev_t` (`MAJOR << 20 | MINOR`) of the resolved file's sb.
    pub dev: u32,
    /// `file.f_flags` of the resolved file.
    pub f_flags: u32,
    /// `inode.i_mode` of the resolved file.
    pub i_mode: u32,
    /// Error (negative errno) of the user read of path 1, 0 when fine.
    pub user_err: i32,
    /// Error of the user read of path 2.
    pub user_err2: i32,
    /// Exit: `task.exit_code` (wait status); fork: child tid; exec: old pid;
    /// `pipe`-like syscalls ([`F_FD_PAIR`]): the first descriptor.
    pub aux_int: i32,
    /// Fork: child tgid; exec: bytes of the new image's whole argv (more
    /// than `aux_len` when argv was cut to fit `aux`); `pipe`-like syscalls
    /// ([`F_FD_PAIR`]): the second descriptor.
    pub child_tgid: u32,
    /// Bytes of `kpath` used.
    pub kpath_len: u32,
    /// Bytes of `kpath2` used.
    pub kpath2_len: u32,
    /// Bytes of `aux` used.
    pub aux_len: u32,
    /// Kernel copy of the socket address: family.
    pub kaddr_family: u16,
    /// Kernel copy: port (host order).
    pub kaddr_port: u16,
    /// User copy: family.
    pub uaddr_family: u16,
    /// User copy: port (host order).
    pub uaddr_port: u16,
    /// Kernel copy: address bytes (4 or 16 used).
    pub kaddr: [u8; 16],
    /// User copy: address bytes.
    pub uaddr: [u8; 16],
    /// Error of the user sockaddr read.
    pub uaddr_err: i32,
    /// Socket (`F_SOCK`): `sock_common.skc_family`.
    pub sock_family: u16,
    /// Socket: `sock.sk_type` (`SOCK_STREAM` 1, `SOCK_DGRAM` 2, `SOCK_RAW` 3, ...).
    pub sock_type: u16,
    /// Socket: `sock.sk_protocol` (`IPPROTO_TCP` 6, `IPPROTO_UDP` 17, ...).
    pub sock_proto: u16,
    /// Socket: local port (host order, `skc_num`).
    pub lport: u16,
    /// Bytes of `user_path` used (incl. its NUL).
    pub user_len: u16,
    /// Bytes of `user_path2` used (incl. its NUL).
    pub user_len2: u16,
    /// Socket: local address bytes (4 or 16 used); with [`F_PROC_IDS`] the
    /// process's [`ProcIds`] instead.
    pub laddr: [u8; 16],
}

/// A whole ring-buffer record; only `header.len` bytes of it are sent.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WireEvent {
    /// Fixed fields.
    pub header: WireHeader,
    /// Path argument 1 as user memory held it at entry (NUL-terminated).
    pub user_path: [u8; USER_PATH_LEN],
    /// Path argument 2 at entry; exec: `bprm->filename`.
    pub user_path2: [u8; USER_PATH_LEN],
    /// Kernel path components (leaf first, NUL-separated) or re-read path.
    pub kpath: [u8; KPATH_LEN],
    /// Base-directory (dirfd/cwd) components, leaf first; exec: cwd.
    pub kpath2: [u8; KPATH_LEN],
    /// Exec: argv (NUL-separated); syscall: second path re-read at exit.
    pub aux: [u8; AUX_LEN],
    /// The kernel's copy of path 1 (`F_KNAME1_BYTES`).
    pub kname: [u8; USER_PATH_LEN],
    /// The kernel's copy of path 2 (`F_KNAME2_BYTES`).
    pub kname2: [u8; USER_PATH_LEN],
}

/// Offset of the `user_path` section.
pub const OFF_USER_PATH: usize = offset_of!(WireEvent, user_path);
/// Offset of the `user_path2` section.
pub const OFF_USER_PATH2: usize = offset_of!(WireEvent, user_path2);
/// Offset of the `kpath` section.
pub const OFF_KPATH: usize = offset_of!(WireEvent, kpath);
/// Offset of the `kpath2` section.
pub const OFF_KPATH2: usize = offset_of!(WireEvent, kpath2);
/// Offset of the `aux` section.
pub const OFF_AUX: usize = offset_of!(WireEvent, aux);
/// Offset of the `kname` section.
pub const OFF_KNAME: usize = offset_of!(WireEvent, kname);
/// Offset of the `kname2` section.
pub const OFF_KNAME2: usize = offset_of!(WireEvent, kname2);

/// The sections a record with this header sends, in wire order, as
/// (fixed offset in [`WireEvent`], bytes sent): `user_path` and `user_path2`
/// by their flags and `user_len*`, `kpath`, `kpath2` and `aux` by their
/// `*_len`, `kname` and `kname2` whole by their `F_KNAME*_BYTES` flags.
/// Absent sections have 0 bytes. Lengths are clamped to the section sizes.
pub fn section_lens(h: &WireHeader) -> [(usize, usize); 7] {
    let f = h.flags;
    let clamp = |present: bool, n: usize, max: usize| if present { n.min(max) } else { 0 };
    [
        (
            OFF_USER_PATH,
            clamp(f & F_USER_PATH != 0, h.user_len as usize, USER_PATH_LEN),
        ),
        (
            OFF_USER_PATH2,
            clamp(
                f & (F_USER_PATH2 | F_EXEC_KNAME) != 0,
                h.user_len2 as usize,
                USER_PATH_LEN,
            ),
        ),
        (OFF_KPATH, clamp(true, h.kpath_len as usize, KPATH_LEN)),
        (OFF_KPATH2, clamp(true, h.kpath2_len as usize, KPATH_LEN)),
        (OFF_AUX, clamp(true, h.aux_len as usize, AUX_LEN)),
        (
            OFF_KNAME,
            clamp(f & F_KNAME1_BYTES != 0, USER_PATH_LEN, USER_PATH_LEN),
        ),
        (
            OFF_KNAME2,
            clamp(f & F_KNAME2_BYTES != 0, USER_PATH_LEN, USER_PATH_LEN),
        ),
    ]
}

/// Per-thread state kept from syscall entry to exit: in the CPU's slot
/// while the thread runs, in the per-thread hash map once the thread was
/// switched out during the call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EntryState {
    /// Syscall number.
    pub nr: u32,
    /// `F_*` bits gathered at entry (and by the connect hooks).
    pub flags: u32,
    /// Entry time.
    pub ts: u64,
    /// Raw arguments.
    pub args: [u64; 6],
    /// Read error of path 1.
    pub user_err: i32,
    /// Read error of path 2.
    pub user_err2: i32,
    /// Read error of the sockaddr.
    pub uaddr_err: i32,
    /// User sockaddr family.
    pub uaddr_family: u16,
    /// User sockaddr port (host order).
    pub uaddr_port: u16,
    /// User sockaddr address bytes.
    pub uaddr: [u8; 16],
    /// Kernel sockaddr family (from cgroup connect hooks).
    pub kaddr_family: u16,
    /// Kernel sockaddr port (host order).
    pub kaddr_port: u16,
    /// Bytes of `user_path` used (incl. its NUL).
    pub user_len: u16,
    /// Bytes of `user_path2` used (incl. its NUL).
    pub user_len2: u16,
    /// Kernel sockaddr address bytes.
    pub kaddr: [u8; 16],
    /// Thread id the state belongs to (validates a CPU slot).
    pub tid: u32,
    /// Padding.
    pub _pad: u32,
    /// Bit 0 (path 1) and bit 1 (path 2): the path is cut short
    /// ([`F_USER_TRUNC`]) and its whole entry copy (up to `PATH_MAX`) is
    /// kept in the kernel programs' `LONG_NAMES` map, for the kernel's copy
    /// to be compared with.
    pub user_whole: u32,
    /// Bit 0 (path 1) and bit 1 (path 2): that whole entry copy is long
    /// enough for the kernel to keep its copy out of line (`PATH_MAX` less
    /// the offset of `filename.iname`, 4 064 bytes, or more).
    pub user_ool: u32,
    /// Path 1 at entry.
    pub user_path: [u8; USER_PATH_LEN],
    /// Path 2 at entry.
    pub user_path2: [u8; USER_PATH_LEN],
}

/// Load-time configuration of the optional hooks and kernel filters
/// (`.rodata` global `EXT`), kept apart from [`Config`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtConfig {
    /// `filename.name` (u32::MAX: the kernel-name hook is off).
    pub filename_name: u32,
    /// `filename.uptr`.
    pub filename_uptr: u32,
    /// `filename.iname`.
    pub filename_iname: u32,
    /// `kmem_cache.name`.
    pub kmem_cache_name: u32,
    /// `dentry.d_inode`.
    pub dentry_d_inode: u32,
    /// Entries in the `IGNORE_DIRS` map (0: no `--ignore-prefix` in kernel).
    pub ignore_dirs: u32,
    /// 1: the current task's fields are read with plain loads through
    /// `bpf_get_current_task_btf` (Linux >= 5.11; the verifier checks each
    /// load against the kernel's BTF); 0: with `bpf_probe_read_kernel`.
    pub task_btf: u32,
    /// `setsid`'s syscall number: its exit rows carry [`ProcIds`]
    /// (u32::MAX: none).
    pub setsid_nr: u32,
    /// `mount`'s syscall number: its first path (the source) is copied
    /// without `getname`, so no kernel copy of it is looked for
    /// (u32::MAX: none).
    pub mount_nr: u32,
    /// 1: records are written through ring-buffer dynptrs
    /// (`bpf_ringbuf_reserve_dynptr`, Linux >= 5.19), straight from their
    /// sections; 0: packed into a per-CPU buffer first and copied with
    /// `bpf_ringbuf_output` (Linux >= 5.8).
    pub dynptr: u32,
    /// 1: the kernel-name hook knows a `struct filename` by its shape (its
    /// name inline, its `uptr` one of the call's path arguments), on
    /// kernels whose `kmem_cache_free` does not say which cache an object
    /// came from (before 5.12); 0: by the cache (`names_cache`).
    pub names_by_shape: u32,
    /// 1: whole paths longer than the entry copy are kept in `LONG_NAMES`
    /// and compared with the kernel's copy; 0: not (no kernel-name hook,
    /// or one that knows names by shape, which cannot tell a name kept out
    /// of line); a row with such a path whose first 255 bytes agree with
    /// the kernel's copy then has no verdict.
    pub long_names: u32,
}

/// `IGNORE_DIRS` key: a directory named by `--ignore-prefix`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirKey {
    /// Inode number.
    pub ino: u64,
    /// Kernel `dev_t` of its super block.
    pub dev: u32,
    /// Padding.
    pub _pad: u32,
}

/// `IGNORE_DIRS` value bit: objects strictly below the directory are ignored.
pub const IGNORE_BELOW: u8 = 1 << 0;
/// `IGNORE_DIRS` value bit: the directory itself is ignored too.
pub const IGNORE_SELF: u8 = 1 << 1;

/// Per-CPU loss counter (array value).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossCounter {
    /// Records that did not fit into the ring buffer.
    pub lost: u64,
    /// `bpf_ktime_get_ns` of the first loss.
    pub first_ns: u64,
    /// `bpf_ktime_get_ns` of the latest loss.
    pub last_ns: u64,
}

const _: () = assert!(size_of::<SyscallSpec>() == 4);
const _: () = assert!(size_of::<KernelOffsets>() == 76 * 4);
const _: () = assert!(size_of::<Config>() == 24 + 76 * 4);
const _: () = assert!(size_of::<WireHeader>() == 280);
const _: () = assert!(size_of::<WireEvent>() == 280 + 4 * USER_PATH_LEN + 2 * KPATH_LEN + AUX_LEN);
const _: () = assert!(size_of::<EntryState>() == 136 + 2 * USER_PATH_LEN);
const _: () = assert!(size_of::<LossCounter>() == 24);
const _: () = assert!(size_of::<ExtConfig>() == 48);
const _: () = assert!(size_of::<ProcIds>() == 16);
const _: () = assert!(size_of::<DirKey>() == 16);
const _: () = assert!((KPATH_OFF_MASK as usize) + (NAME_LEN as usize) <= KPATH_LEN);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are `#[repr(C)]`, made of integers and byte
    // arrays with explicit padding, so every bit pattern is valid.
    unsafe impl aya::Pod for super::SyscallSpec {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::Config {}
    unsafe impl aya::Pod for super::WireHeader {}
    unsafe impl aya::Pod for super::LossCounter {}
    unsafe impl aya::Pod for super::ExtConfig {}
    unsafe impl aya::Pod for super::DirKey {}
}
