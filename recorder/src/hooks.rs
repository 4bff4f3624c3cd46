//! Optional hooks and kernel-side filters: the kernel's copy of path names
//! (`kmem_cache_free` of `names_cache`), `--ignore-prefix` directories, and
//! the probe of trampoline programs (LSM, fentry) reported in the manifest.

use std::os::unix::fs::MetadataExt;

use aya::Ebpf;
use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray};
use aya::programs::RawTracePoint;
use hindsight_format::manifest::{Hooks, UnavailableHook};
use hindsight_recorder_common::{DirKey, ExtConfig, IGNORE_BELOW, IGNORE_SELF};

use crate::RecordError;
use crate::btf::Btf;

/// The `EXT` global: offsets for the kernel-name hook (`filename_name` is
/// `u32::MAX` when [`names_hook_missing`] says the hook cannot run; the
/// programs then also see `long_names` off), how it knows a name (by the cache,
/// or by shape before 5.12) and whether whole long paths are compared; the
/// number of ignored directories; `setsid`'s and `mount`'s numbers;
/// whether records go through ring-buffer dynptrs; `task_btf` is left off
/// for the caller to set. Beside it, why the kernel-name hook cannot run,
/// if it cannot ([`names_hook_missing`]).
pub fn ext_config(btf: &Btf, ignore_dirs: usize) -> (ExtConfig, Option<String>) {
    let opt = |s: &str, f: &str| btf.member_offset(s, f).unwrap_or(u32::MAX);
    let missing = names_hook_missing(btf).or_else(names_wiped_here);
    let names_on = missing.is_none();
    let by_shape = names_on && names_by_shape(btf);
    let ext = ExtConfig {
        filename_name: if names_on {
            opt("filename", "name")
        } else {
            u32::MAX
        },
        filename_uptr: opt("filename", "uptr"),
        filename_iname: opt("filename", "iname"),
        kmem_cache_name: opt("kmem_cache", "name"),
        dentry_d_inode: opt("dentry", "d_inode"),
        ignore_dirs: ignore_dirs as u32,
        task_btf: 0,
        setsid_nr: crate::syscalls::number("setsid").unwrap_or(u32::MAX),
        mount_nr: crate::syscalls::number("mount").unwrap_or(u32::MAX),
        dynptr: btf.has_func("bpf_ringbuf_reserve_dynptr") as u32,
        names_by_shape: by_shape as u32,
        long_names: (names_on && !by_shape) as u32,
    };
    (ext, missing)
}

/// Turns the kernel-name hook off in `ext` (it did not load or attach),
/// with whole long-path comparison, which needs it.
pub fn names_off(ext: &mut ExtConfig) {
    ext.filename_name = u32::MAX;
    ext.names_by_shape = 0;
    ext.long_names = 0;
}

/// Why the kernel-name hook cannot run on this kernel, if it cannot: its
/// BTF lacks a member the hook reads, or there is no `kmem_cache_free`
/// tracepoint. Decided before the programs are loaded, so that they know
/// whether kernel copies of names will come.
pub fn names_hook_missing(btf: &Btf) -> Option<String> {
    for (s, f) in [
        ("filename", "name"),
        ("filename", "uptr"),
        ("filename", "iname"),
        ("kmem_cache", "name"),
    ] {
        if btf.member_offset(s, f).is_err() {
            return Some(format!("this kernel's BTF lacks {s}.{f}"));
        }
    }
    match btf.tracepoint_args("kmem_cache_free") {
        Some(n) if n >= 2 => None,
        _ => Some("this kernel has no kmem_cache_free tracepoint with its object".into()),
    }
}

/// Why the kernel-name hook would see only wiped names on the running
/// kernel, if it would ([`names_wiped`] of its release, command line and
/// `/boot/config-RELEASE`).
pub fn names_wiped_here() -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let release = read("/proc/sys/kernel/osrelease")?;
    let release = release.trim();
    let cmdline = read("/proc/cmdline").unwrap_or_default();
    names_wiped(
        release,
        &cmdline,
        read(&format!("/boot/config-{release}")).as_deref(),
    )
}

/// Why a freed name is wiped before the hook reads it, if it is: before
/// Linux 6.1 `kmem_cache_free`'s tracepoint runs after the object was
/// freed, and `init_on_free` zeroes it there, slab poisoning (`slub_debug`
/// with `P`) overwrites it. The hook would then never see a name while
/// the manifest called it active. `config` is the kernel's build
/// configuration, where known (for the defaults).
pub fn names_wiped(release: &str, cmdline: &str, config: Option<&str>) -> Option<String> {
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let version = (nums.next()?, nums.next().unwrap_or(0));
    if version >= (6, 1) {
        return None;
    }
    let built_in =
        |opt: &str| config.is_some_and(|c| c.lines().any(|l| l.trim() == format!("{opt}=y")));
    let mut init_on_free = built_in("CONFIG_INIT_ON_FREE_DEFAULT_ON");
    let mut poison = built_in("CONFIG_SLUB_DEBUG_ON");
    for arg in cmdline.split_whitespace() {
        let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
        match key {
            // kstrtobool: 1/y/on, 0/n/off.
            "init_on_free" => {
                let v = value.to_ascii_lowercase();
                if v.starts_with(['1', 'y']) || v == "on" {
                    init_on_free = true;
                } else if v.starts_with(['0', 'n']) || v == "off" {
                    init_on_free = false;
                }
            }
            // Bare, or flags (before a `,` cache list) with P, or none
            // (all); `-` turns debugging off. A list of caches without
            // names_cache leaves it alone.
            "slub_debug" => {
                poison = value.split(';').any(|block| {
                    let (flags, caches) = block.split_once(',').unwrap_or((block, ""));
                    let flags = flags.to_ascii_lowercase();
                    let on = flags.is_empty() || flags.contains('p');
                    on && !flags.starts_with('-')
                        && (caches.is_empty() || caches.split(',').any(|c| c == "names_cache"))
                });
            }
            _ => {}
        }
    }
    let why = match (init_on_free, poison) {
        (false, false) => return None,
        (true, _) => "init_on_free",
        (false, true) => "slab poisoning (slub_debug)",
    };
    Some(format!(
        "{why} wipes a freed name before kmem_cache_free's tracepoint runs on this kernel \
         ({release}; it runs first from Linux 6.1), so the hook would see none"
    ))
}

/// Whether the kernel-name hook must know a `struct filename` by its shape:
/// `kmem_cache_free` does not say which cache an object came from (its
/// third argument came in Linux 5.12).
pub fn names_by_shape(btf: &Btf) -> bool {
    btf.tracepoint_args("kmem_cache_free")
        .is_some_and(|n| n < 3)
}

/// Linux's internal `dev_t` (`MAJOR << 20 | MINOR`) of a user-space `st_dev`.
pub fn kernel_dev(st_dev: u64) -> u32 {
    (libc::major(st_dev) << 20) | (libc::minor(st_dev) & 0xfffff)
}

/// The directories the kernel filters for `--ignore-prefix`: a prefix that
/// ends with `/` ignores what lies below the directory; one that names a
/// directory without the slash ignores the directory too. A prefix that is
/// no directory (e.g. `/var/log/syslog.`) is left to the decoder's filter.
pub fn ignore_dirs(prefixes: &[String]) -> Vec<(DirKey, u8, String)> {
    let mut out: Vec<(DirKey, u8, String)> = Vec::new();
    for p in prefixes {
        let (dir, bits) = match p.strip_suffix('/') {
            Some(d) => (if d.is_empty() { "/" } else { d }, IGNORE_BELOW),
            None => (p.as_str(), IGNORE_BELOW | IGNORE_SELF),
        };
        let Ok(m) = std::fs::metadata(dir) else {
            continue;
        };
        if !m.is_dir() {
            continue;
        }
        let key = DirKey {
            ino: m.ino(),
            dev: kernel_dev(m.dev()),
            _pad: 0,
        };
        if let Some(e) = out.iter_mut().find(|e| e.0 == key) {
            e.1 |= bits;
        } else {
            out.push((key, bits, p.clone()));
        }
    }
    out
}

/// Fills the `IGNORE_DIRS` map.
pub fn fill_ignore_dirs(ebpf: &mut Ebpf, dirs: &[(DirKey, u8, String)]) -> Result<(), RecordError> {
    if dirs.is_empty() {
        return Ok(());
    }
    let mut map: BpfHashMap<&mut MapData, DirKey, u8> =
        BpfHashMap::try_from(ebpf.map_mut("IGNORE_DIRS").expect("IGNORE_DIRS map"))
            .map_err(|e| RecordError::Load(format!("IGNORE_DIRS: {e}")))?;
    for (key, bits, prefix) in dirs {
        map.insert(key, bits, 0)
            .map_err(|e| RecordError::Load(format!("--ignore-prefix {prefix}: {e}")))?;
    }
    Ok(())
}

/// Syscalls the kernel did not submit because of `--ignore-prefix`.
pub fn ignored_in_kernel(ebpf: &Ebpf) -> u64 {
    let Some(map) = ebpf.map("IGNORED") else {
        return 0;
    };
    let Ok(arr) = PerCpuArray::<&MapData, u64>::try_from(map) else {
        return 0;
    };
    arr.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0)
}

/// Loads and attaches the kernel-name hook. Done right after the core
/// programs are verified, before anything is recorded: the programs were
/// told (`EXT`) that the kernel's copies of names will come, so a hook that
/// cannot run means loading them again without it.
pub fn attach_names(ebpf: &mut Ebpf) -> Result<(), String> {
    let p: &mut RawTracePoint = ebpf
        .program_mut("hs_names_free")
        .ok_or("missing program")?
        .try_into()
        .map_err(|e| format!("{e}"))?;
    p.load().map_err(|e| format!("{e:#}"))?;
    p.attach("kmem_cache_free").map_err(|e| format!("{e:#}"))?;
    Ok(())
}

/// Reports the kernel-name hook as active, or unavailable with its reason
/// (warned on stderr); optional: without it the decoder takes the object's
/// path and inode, and the re-read at exit, for a row's kernel side.
pub fn report_names(outcome: &Result<(), String>, hooks: &mut Hooks) {
    let name = "raw_tracepoint/kmem_cache_free";
    match outcome {
        Ok(()) => hooks.active.push(name.into()),
        Err(reason) => {
            log::warn!("{name} unavailable: {reason}");
            hooks.unavailable.push(UnavailableHook {
                name: name.into(),
                reason: reason.clone(),
            });
        }
    }
}

/// The `recorder_config.kernel_features` object: how this kernel's records
/// were made, chosen at load from its BTF (record.md, "Kernels"). `records`
/// is `dynptr` or `ringbuf_output`; `task_reads` is `btf` or
/// `probe_read_kernel`; `kernel_names` (the kernel-name hook) is `by_cache`,
/// `by_shape` or `off`; `long_paths` is `whole` (paths over 255 bytes are
/// compared whole) or `first_255_bytes`.
pub fn kernel_features(ext: &ExtConfig, names_active: bool) -> serde_json::Value {
    let pick = |on: u32, yes: &str, no: &str| -> serde_json::Value {
        if on != 0 { yes } else { no }.into()
    };
    let names = match (names_active, ext.names_by_shape) {
        (false, _) => "off",
        (true, 0) => "by_cache",
        (true, _) => "by_shape",
    };
    serde_json::json!({
        "records": pick(ext.dynptr, "dynptr", "ringbuf_output"),
        "task_reads": pick(ext.task_btf, "btf", "probe_read_kernel"),
        "kernel_names": names,
        "long_paths": pick(ext.long_names, "whole", "first_255_bytes"),
    })
}

/// Outcome of loading one trampoline program at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Hook name (`lsm/file_open`, `fentry/do_filp_open`).
    pub hook: &'static str,
    /// `None` when the kernel accepted the program, else why not.
    pub refused: Option<String>,
}

/// Loads (never attaches) the do-nothing LSM and fentry programs to learn
/// whether this kernel allows trampoline programs; unloads them again.
pub fn probe_trampolines(ebpf: &mut Ebpf) -> Vec<Probe> {
    use aya::programs::{FEntry, Lsm};
    let btf = aya::Btf::from_sys_fs().map_err(|e| format!("BTF: {e}"));
    let mut out = Vec::new();
    let lsm = (|| -> Result<(), String> {
        let btf = btf.as_ref().map_err(Clone::clone)?;
        let p: &mut Lsm = ebpf
            .program_mut("hs_probe_lsm")
            .ok_or("missing program")?
            .try_into()
            .map_err(|e| format!("{e}"))?;
        p.load("file_open", btf).map_err(|e| probe_error(&e))?;
        let _ = p.unload();
        Ok(())
    })();
    out.push(Probe {
        hook: "lsm/file_open",
        refused: lsm.err(),
    });
    let fentry = (|| -> Result<(), String> {
        let btf = btf.as_ref().map_err(Clone::clone)?;
        let p: &mut FEntry = ebpf
            .program_mut("hs_probe_fentry")
            .ok_or("missing program")?
            .try_into()
            .map_err(|e| format!("{e}"))?;
        p.load("do_filp_open", btf).map_err(|e| probe_error(&e))?;
        let _ = p.unload();
        Ok(())
    })();
    out.push(Probe {
        hook: "fentry/do_filp_open",
        refused: fentry.err(),
    });
    out
}

/// The errno of a refused load, without aya's (empty) verifier dump.
fn probe_error(e: &aya::programs::ProgramError) -> String {
    use std::error::Error;
    let mut cur: Option<&dyn Error> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return format!("the kernel refused it: {io}");
        }
        cur = err.source();
    }
    let s = e.to_string();
    s.split(". Verifier output")
        .next()
        .unwrap_or(&s)
        .to_string()
}

/// Records the probes in the manifest's hooks: refused ones as unavailable
/// (with the kernel's answer and what is used instead); returns the
/// `recorder_config.hook_probes` object (hook → `"loads"` or the reason).
pub fn report_probes(probes: &[Probe], hooks: &mut Hooks) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for p in probes {
        let instead = match p.hook {
            "lsm/file_open" => "the fd walk at sys_exit gives the opened file",
            _ => "names_cache gives the kernel's copy of path names",
        };
        match &p.refused {
            None => {
                obj.insert(p.hook.into(), "loads (not needed by this version)".into());
            }
            Some(reason) => {
                obj.insert(p.hook.into(), reason.clone().into());
                hooks.unavailable.push(UnavailableHook {
                    name: p.hook.into(),
                    reason: format!("probed at start: {reason}; optional: {instead}"),
                });
            }
        }
    }
    serde_json::Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::names_wiped;

    #[test]
    fn names_are_wiped_only_before_6_1_with_init_on_free_or_poisoning() {
        let old = "5.10.0-43-cloud-amd64";
        let quiet = "console=ttyS0 quiet";
        assert_eq!(names_wiped(old, quiet, None), None);
        for on in ["init_on_free=1", "init_on_free=on", "init_on_free=Y"] {
            let why = names_wiped(old, &format!("{quiet} {on}"), None).expect(on);
            assert!(why.contains("init_on_free") && why.contains(old), "{why}");
        }
        assert_eq!(
            names_wiped(old, "init_on_free=1 init_on_free=0", None),
            None
        );
        // Not from 6.1 on: the tracepoint runs before the free.
        assert_eq!(
            names_wiped("6.1.0-56-cloud-amd64", "init_on_free=1", None),
            None
        );
        assert_eq!(names_wiped("6.18.0", "slub_debug", None), None);
        assert!(names_wiped("6.0.19", "init_on_free=1", None).is_some());
        // The build's default, and a command line that overrides it.
        let config = "# comment\nCONFIG_INIT_ON_FREE_DEFAULT_ON=y\n";
        assert!(names_wiped(old, quiet, Some(config)).is_some());
        assert_eq!(names_wiped(old, "init_on_free=off", Some(config)), None);
        let debug_on = "CONFIG_SLUB_DEBUG_ON=y\n";
        assert!(names_wiped(old, quiet, Some(debug_on)).is_some());
        assert_eq!(names_wiped(old, "slub_debug=-", Some(debug_on)), None);
        // slub_debug: bare, with P, for names_cache; not without P or for
        // other caches only.
        for on in [
            "slub_debug",
            "slub_debug=FZP",
            "slub_debug=p,names_cache,dentry",
        ] {
            let why = names_wiped(old, on, None).expect(on);
            assert!(why.contains("slub_debug"), "{why}");
        }
        for off in ["slub_debug=FZ", "slub_debug=P,dentry", "slub_debug=-"] {
            assert_eq!(names_wiped(old, off, None), None, "{off}");
        }
    }
}
