//! Kernel struct offsets for the programs, resolved from BTF at load time.

use hindsight_recorder_common::KernelOffsets;

use crate::btf::{Btf, BtfError};

/// Resolves every offset the kernel programs read. Optional members (audit's
/// `loginuid`/`sessionid`, the pid namespace and terminal chains) become
/// `u32::MAX` when the kernel lacks them.
pub fn resolve(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    let m = |s: &str, f: &str| btf.member_offset(s, f);
    let opt = |s: &str, f: &str| btf.member_offset(s, f).unwrap_or(u32::MAX);
    let regs_arg = regs_offsets(btf)?;
    Ok(KernelOffsets {
        task_pid: m("task_struct", "pid")?,
        task_tgid: m("task_struct", "tgid")?,
        task_real_parent: m("task_struct", "real_parent")?,
        task_cred: m("task_struct", "cred")?,
        task_files: m("task_struct", "files")?,
        task_fs: m("task_struct", "fs")?,
        task_mm: m("task_struct", "mm")?,
        task_signal: m("task_struct", "signal")?,
        task_exit_code: m("task_struct", "exit_code")?,
        task_loginuid: opt("task_struct", "loginuid"),
        task_sessionid: opt("task_struct", "sessionid"),
        cred_uid: m("cred", "uid")?,
        cred_gid: m("cred", "gid")?,
        cred_euid: m("cred", "euid")?,
        cred_cap_effective: m("cred", "cap_effective")?,
        cred_cap_permitted: m("cred", "cap_permitted")?,
        files_fdt: m("files_struct", "fdt")?,
        fdtable_max_fds: m("fdtable", "max_fds")?,
        fdtable_fd: m("fdtable", "fd")?,
        file_f_path: m("file", "f_path")?,
        file_f_inode: m("file", "f_inode")?,
        file_f_flags: m("file", "f_flags")?,
        path_mnt: m("path", "mnt")?,
        path_dentry: m("path", "dentry")?,
        dentry_d_parent: m("dentry", "d_parent")?,
        dentry_d_name_name: m("dentry", "d_name.name")?,
        inode_i_ino: m("inode", "i_ino")?,
        inode_i_mode: m("inode", "i_mode")?,
        inode_i_sb: m("inode", "i_sb")?,
        sb_s_dev: m("super_block", "s_dev")?,
        mount_mnt: m("mount", "mnt")?,
        mount_mnt_parent: m("mount", "mnt_parent")?,
        mount_mnt_mountpoint: m("mount", "mnt_mountpoint")?,
        vfsmount_mnt_root: m("vfsmount", "mnt_root")?,
        fs_pwd: m("fs_struct", "pwd")?,
        mm_arg_start: m("mm_struct", "arg_start")?,
        mm_arg_end: m("mm_struct", "arg_end")?,
        signal_live: m("signal_struct", "live")?,
        bprm_file: m("linux_binprm", "file")?,
        bprm_filename: m("linux_binprm", "filename")?,
        file_private_data: m("file", "private_data")?,
        socket_sk: m("socket", "sk")?,
        sk_family: m("sock", "__sk_common.skc_family")?,
        sk_num: m("sock", "__sk_common.skc_num")?,
        sk_dport: m("sock", "__sk_common.skc_dport")?,
        sk_rcv_saddr: m("sock", "__sk_common.skc_rcv_saddr")?,
        sk_daddr: m("sock", "__sk_common.skc_daddr")?,
        sk_v6_rcv_saddr: opt("sock", "__sk_common.skc_v6_rcv_saddr"),
        sk_v6_daddr: opt("sock", "__sk_common.skc_v6_daddr"),
        sk_type: m("sock", "sk_type")?,
        sk_protocol: m("sock", "sk_protocol")?,
        sb_s_magic: m("super_block", "s_magic")?,
        ovl_upperdentry: ovl_upperdentry(btf),
        dentry_d_inode: m("dentry", "d_inode")?,
        task_comm: m("task_struct", "comm")?,
        unix_peer: opt("unix_sock", "peer"),
        unix_addr: opt("unix_sock", "addr"),
        unix_address_len: opt("unix_address", "len"),
        unix_address_name: opt("unix_address", "name"),
        unix_path: opt("unix_sock", "path"),
        pid_level: opt("pid", "level"),
        pid_numbers: opt("pid", "numbers"),
        upid_size: btf.struct_size("upid").unwrap_or(u32::MAX),
        upid_nr: opt("upid", "nr"),
        signal_pids: opt("signal_struct", "pids"),
        signal_tty: opt("signal_struct", "tty"),
        tty_index: opt("tty_struct", "index"),
        tty_driver: opt("tty_struct", "driver"),
        tty_driver_major: opt("tty_driver", "major"),
        tty_driver_minor_start: opt("tty_driver", "minor_start"),
        regs_arg,
    })
}

/// `offsetof(ovl_inode, __upperdentry) - offsetof(ovl_inode, vfs_inode)`:
/// where, from the `struct inode` the VFS hands out, an overlayfs inode keeps
/// its upper-layer dentry. From `ovl_inode` when vmlinux's BTF has it
/// (overlayfs built in); else — overlayfs as a module, as on most
/// distributions — the pointer right after the embedded `struct inode`, which
/// is where `ovl_inode` has always kept it (Falco reads it the same way).
fn ovl_upperdentry(btf: &Btf) -> u32 {
    match (
        btf.member_offset("ovl_inode", "vfs_inode"),
        btf.member_offset("ovl_inode", "__upperdentry"),
    ) {
        (Ok(v), Ok(u)) if u > v => u - v,
        _ => btf
            .struct_size("inode")
            .map_or(u32::MAX, |s| s.next_multiple_of(8)),
    }
}

/// Offsets in `struct pt_regs` of syscall arguments 0..6 for this build's
/// architecture (the syscall calling convention, names from BTF).
fn regs_offsets(btf: &Btf) -> Result<[u32; 6], BtfError> {
    let mut out = [0u32; 6];
    if cfg!(target_arch = "aarch64") {
        let base = btf.member_offset("user_pt_regs", "regs")?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = base + 8 * i as u32;
        }
    } else {
        for (o, name) in out.iter_mut().zip(["di", "si", "dx", "r10", "r8", "r9"]) {
            *o = btf.member_offset("pt_regs", name)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_on_the_running_kernel() {
        let Ok(btf) = Btf::from_sys_fs() else {
            eprintln!("skipped: /sys/kernel/btf/vmlinux not readable");
            return;
        };
        let off = resolve(&btf).expect("all members present");
        // pt_regs on x86_64 is the syscall ABI's register save area: di is
        // the 15th slot, and this never changed.
        #[cfg(target_arch = "x86_64")]
        assert_eq!(off.regs_arg, [112, 104, 96, 56, 72, 64]);
        assert_eq!(off.path_dentry, 8);
        assert!(off.task_tgid > off.task_pid - 1);
        // struct sock starts with its sock_common: daddr, rcv_saddr, hash,
        // then the port pair (dport, num), then family.
        assert_eq!((off.sk_daddr, off.sk_rcv_saddr), (0, 4));
        assert_eq!((off.sk_dport, off.sk_num, off.sk_family), (12, 14, 16));
        assert!(off.sk_type > off.sk_family && off.sk_protocol > off.sk_family);
        // The pid namespace and terminal chains resolve: upid is an int nr
        // then a namespace pointer.
        assert_eq!((off.upid_nr, off.upid_size), (0, 16));
        for o in [
            off.pid_level,
            off.pid_numbers,
            off.signal_pids,
            off.signal_tty,
            off.tty_index,
            off.tty_driver,
            off.tty_driver_major,
            off.tty_driver_minor_start,
        ] {
            assert_ne!(o, u32::MAX);
        }
        // Here overlayfs is built in: ovl_inode's own layout agrees with the
        // fallback (the pointer right after the embedded inode).
        if btf.has_struct("ovl_inode") {
            assert_eq!(
                off.ovl_upperdentry,
                btf.struct_size("inode").unwrap().next_multiple_of(8)
            );
        }
    }
}

#[cfg(test)]
mod second_kernel {
    use super::*;

    /// Offsets resolve from another kernel's BTF too (Debian 12's 6.1 cloud
    /// kernel, fetched by `scripts/fetch-second-btf.sh`), and differ from the
    /// running kernel's where the layouts differ.
    #[test]
    fn resolves_on_a_second_kernel() {
        let path = std::env::var("HINDSIGHT_SECOND_BTF").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/second-kernel/vmlinux"
            )
            .to_string()
        });
        let path = std::path::Path::new(&path);
        if !path.exists() {
            eprintln!(
                "skipped: no second kernel BTF at {} (run scripts/fetch-second-btf.sh)",
                path.display()
            );
            return;
        }
        let other = Btf::from_file(path).expect("second kernel's BTF parses");
        // Debian's 6.1 has the ring-buffer dynptrs the recorder needs.
        assert!(other.has_func("bpf_ringbuf_reserve_dynptr"));
        let off = resolve(&other).expect("every member present on the second kernel");
        assert_eq!(off.path_dentry, 8);
        // Debian builds overlayfs as a module (no ovl_inode in vmlinux): the
        // upper dentry is found after the embedded struct inode.
        assert_eq!(
            off.ovl_upperdentry,
            other.struct_size("inode").unwrap().next_multiple_of(8)
        );
        #[cfg(target_arch = "x86_64")]
        assert_eq!(off.regs_arg, [112, 104, 96, 56, 72, 64]);
        assert!(off.task_tgid > 0 && off.task_files > off.task_tgid);
        assert_ne!(off.signal_pids, u32::MAX);
        assert_ne!(off.signal_tty, u32::MAX);
        assert_eq!((off.upid_nr, off.upid_size), (0, 16));
        if let Ok(running) = Btf::from_sys_fs() {
            let mine = resolve(&running).unwrap();
            // task_struct's layout differs between 6.1 and the running kernel:
            // the offsets really come from the BTF given.
            assert_ne!(off, mine, "identical offsets: was the same BTF read twice?");
        }
    }
}
