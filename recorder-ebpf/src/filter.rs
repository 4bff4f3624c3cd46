//! `--ignore-prefix` in the kernel: a syscall whose file object (the fd it
//! returned or used) lies in an ignored directory is not submitted. The
//! directories are matched by inode and device while walking the object's
//! dentries up to the global root (across mount points), so symlinks, `..`
//! or a flipped user buffer cannot smuggle an object out of or into them.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, PerCpuArray},
};
use hindsight_recorder_common::{DirKey, IGNORE_BELOW, IGNORE_SELF};

use crate::kernel::{conf, rd};
use crate::names::ext;

/// Ignored directories (inode, device) → `IGNORE_*` bits.
#[map]
pub static IGNORE_DIRS: HashMap<DirKey, u8> = HashMap::with_max_entries(64, 0);

/// Per-CPU count of syscalls not submitted because of `IGNORE_DIRS`.
#[map]
pub static IGNORED: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn dir_bits(dentry: u64) -> u8 {
    let inode = rd::<u64>(dentry, ext!(dentry_d_inode));
    if inode == 0 {
        return 0;
    }
    let sb = rd::<u64>(inode, conf!(off.inode_i_sb));
    let key = DirKey {
        ino: rd::<u64>(inode, conf!(off.inode_i_ino)),
        dev: rd::<u32>(sb, conf!(off.sb_s_dev)),
        _pad: 0,
    };
    unsafe { IGNORE_DIRS.get(&key) }.copied().unwrap_or(0)
}

/// Whether `file` (a `struct file *`) is in an ignored directory; counts it.
/// Not inlined: a BPF-to-BPF call keeps the walk's verifier states out of
/// `sys_exit`'s.
#[inline(never)]
pub fn ignored(file: u64) -> bool {
    if ext!(ignore_dirs) == 0 || file == 0 {
        return false;
    }
    let path = file + conf!(off.file_f_path) as u64;
    let mut dentry = rd::<u64>(path, conf!(off.path_dentry));
    let mut vfsmnt = rd::<u64>(path, conf!(off.path_mnt));
    let mount_mnt = conf!(off.mount_mnt) as u64;
    let mut mnt = vfsmnt.wrapping_sub(mount_mnt);
    let mut hit = dir_bits(dentry) & IGNORE_SELF != 0;
    let mut i = 0;
    while i < 48 {
        if hit {
            break;
        }
        i += 1;
        if dentry == 0 || vfsmnt == 0 {
            break;
        }
        let root = rd::<u64>(vfsmnt, conf!(off.vfsmount_mnt_root));
        if dentry == root {
            // Cross to the mount point; this mount's root was checked.
            let mp = rd::<u64>(mnt, conf!(off.mount_mnt_parent));
            if mp == mnt || mp == 0 {
                break;
            }
            dentry = rd::<u64>(mnt, conf!(off.mount_mnt_mountpoint));
            mnt = mp;
            vfsmnt = mnt + mount_mnt;
            continue;
        }
        let parent = rd::<u64>(dentry, conf!(off.dentry_d_parent));
        if parent == dentry {
            break;
        }
        dentry = parent;
        if dir_bits(dentry) & IGNORE_BELOW != 0 {
            hit = true;
        }
    }
    if hit && let Some(c) = IGNORED.get_ptr_mut(0) {
        unsafe { *c += 1 };
    }
    hit
}
