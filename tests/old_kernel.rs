//! `hindsight record` on older kernels: Debian 11's Linux 5.10 and Debian
//! 12's 6.1, booted in QEMU by `scripts/old-kernel.sh`. 5.10 has no
//! ring-buffer dynptrs (5.19), no `bpf_get_current_task_btf` (5.11) and no
//! cache argument to `kmem_cache_free` (5.12), so the recorder packs its
//! records before copying them into the ring buffer, reads the task with
//! `bpf_probe_read_kernel`, and knows the kernel's copies of names by their
//! shape. Every Phantom-Attack mode must still be seen through there,
//! judged by the same checks as on this kernel (`record_phantom.rs`).
//!
//! The recordings come back from the guest as a base64 tar on its console.
//! Needs root (QEMU and the kernel package are installed on first use).

#[path = "support/phantom.rs"]
mod phantom;

#[path = "support/phantom_check.rs"]
mod check;

#[path = "support/root.rs"]
mod root;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use hindsight_format::EventKind;
use hindsight_format::manifest::Manifest;
use phantom::{Mode, Phantom};

/// Attempts per mode: the guest is emulated (TCG), so fewer than on the host.
fn count(mode: Mode) -> u32 {
    if mode.is_deterministic() { 20 } else { 100 }
}

/// A directory whose path is longer than the 255 bytes of an entry copy.
fn long_dir() -> String {
    format!("/tmp/f/{}/{}", "l".repeat(200), "m".repeat(100))
}

/// The guest's script: one recording per Phantom mode (with its ground
/// truth), one of ordinary file work and an exec, then everything as a tar.
fn guest_script() -> String {
    let mut s = String::from("set -u\nmkdir -p /tmp/out /tmp/f\nuname -r > /tmp/out/uname\n");
    for mode in Mode::EACH {
        let m = mode.as_str();
        let w = format!("/tmp/w/{m}");
        let mut extra = String::new();
        if mode == Mode::Symlink {
            // Files that outlive the recording, so that the decoder can
            // resolve the link it was given (see record_phantom.rs).
            let _ = writeln!(
                s,
                "mkdir -p {w} && echo harmless > {w}/harmless && echo target > {w}/target"
            );
            extra = format!(" --harmless {w}/harmless --target {w}/target");
        }
        let _ = write!(
            s,
            "mkdir -p {w}\n\
             hindsight record -o /tmp/out/{m} --syscalls openat,openat2,connect -- \
             /phantom {m} --count {n} --workdir {w} --log /tmp/out/{m}.jsonl{extra}\n\
             echo \"HS-RECORDED {m} $?\"\n",
            n = count(mode)
        );
    }
    s + &files_script()
}

/// Records the `files` workload into `/tmp/out/files` (see [`check_files`])
/// and prints `/tmp/out` as a base64 tar on the console.
fn files_script() -> String {
    let long = long_dir();
    format!(
        "mkdir -p /tmp/out /tmp/f\n\
         hindsight record -o /tmp/out/files -- sh -c 'cd /tmp/f && echo hi > a && mv a b && \
         ln -s b c && cat c > /dev/null && chmod 600 b && echo x > d && rm d && \
         mkdir -p {long} && echo y > e && mv e {long}/e && \
         /bin/busybox echo one two three > /dev/null'\n\
         echo \"HS-RECORDED files $?\"\n\
         tar c -C /tmp out > /tmp/out.tar\n\
         sha256sum /tmp/out.tar\n\
         echo HS-TAR-BEGIN\nbase64 /tmp/out.tar\necho HS-TAR-END\n"
    )
}

/// The tar between the markers of the guest's console, checked against the
/// sha256 the guest printed, unpacked into `dir`.
fn unpack(console: &str, dir: &Path) {
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    let begin = lines.iter().position(|l| *l == "HS-TAR-BEGIN");
    let end = lines.iter().position(|l| *l == "HS-TAR-END");
    let (Some(begin), Some(end)) = (begin, end) else {
        panic!("no tar on the guest's console:\n{console}");
    };
    let sum = lines[..begin]
        .iter()
        .rev()
        .find_map(|l| l.strip_suffix("  /tmp/out.tar"))
        .expect("the guest's sha256sum line");
    let b64 = dir.join("out.tar.b64");
    std::fs::write(&b64, lines[begin + 1..end].join("\n")).unwrap();
    let tar = dir.join("out.tar");
    let decoded = Command::new("base64")
        .arg("-d")
        .arg(&b64)
        .stdout(std::fs::File::create(&tar).unwrap())
        .status()
        .unwrap();
    assert!(decoded.success(), "base64 -d of the guest's tar failed");
    let ours = Command::new("sha256sum").arg(&tar).output().unwrap();
    let ours = String::from_utf8_lossy(&ours.stdout);
    assert!(
        ours.starts_with(sum),
        "the tar changed on the console (a kernel message in it?): {ours} vs {sum}"
    );
    let x = Command::new("tar")
        .arg("xf")
        .arg(&tar)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(x.success(), "tar x failed");
}

/// `scripts/old-kernel.sh`'s exit code when the guest hung.
const GUEST_HUNG: i32 = 124;

/// Boots `series` with this build of `hindsight`, `files` (host path,
/// guest path) and `append` on the kernel's command line, runs `script`
/// there and returns the console; asserts that the script exited 0. The
/// console is also kept in `target/old-kernel/SERIES/last-run-NAME.log`.
///
/// A guest whose script prints nothing for 5 minutes is stopped and fails
/// the test as hung. The hangs seen so far came from QEMU, not the
/// recorder: with a host thread per guest CPU (multi-threaded TCG) a CPU
/// could keep running an `int3` the guest kernel had already patched away,
/// at `do_exit`'s `sched_process_exit` tracepoint, which the recorder's
/// programs switch on and off (about one CI run in three hung, for the
/// whole 15-minute timeout). `old-kernel.sh` runs TCG on one thread since.
/// A hang is not retried: one the recorder caused must not pass.
fn boot(series: &str, name: &str, append: &str, files: &[(&Path, &str)], script: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("guest.sh");
    std::fs::write(&path, script).unwrap();
    // Each test its own console log, kept after the run: two guests of one
    // series run at once here, and a shared `last-run.log` mixed their lines.
    let log = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/old-kernel")
        .join(series)
        .join(format!("last-run-{name}.log"));
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/old-kernel.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&harness)
        .args(["--kernel", series, "--idle-timeout", "300", "--log"])
        .arg(&log);
    for (src, dest) in files {
        cmd.arg("--file").arg(format!("{}:{dest}", src.display()));
    }
    let out = cmd
        .args(["--append", append])
        .arg(env!("CARGO_BIN_EXE_hindsight"))
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/old-kernel.sh");
    let console = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code() != Some(GUEST_HUNG),
        "the Linux {series} guest hung ({name}; console in {}):\n{console}",
        log.display()
    );
    assert!(
        out.status.success(),
        "old-kernel.sh --kernel {series}: {}\n{console}",
        out.status
    );
    console
}

/// Boots `series` with the reproducer and this build of `hindsight`, runs
/// [`guest_script`], checks every Phantom mode's recording against its
/// ground truth, and returns the unpacked recordings (`DIR/out/...`).
fn run_guest(series: &str) -> Option<tempfile::TempDir> {
    if !root::is_root() {
        eprintln!("skipped the Linux {series} test: installing QEMU and the kernel needs root");
        return None;
    }
    let bin = Phantom::build().unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let console = boot(
        series,
        "phantom",
        "loglevel=1",
        &[(bin.path(), "/phantom")],
        &guest_script(),
    );
    // One line per recording (the six modes and `files`), each exit 0.
    let recorded: Vec<&str> = console
        .lines()
        .filter_map(|l| l.split_once("HS-RECORDED ").map(|(_, r)| r.trim_end()))
        .collect();
    assert_eq!(recorded.len(), Mode::EACH.len() + 1, "{console}");
    for r in &recorded {
        assert!(r.ends_with(" 0"), "{r}\n{console}");
    }
    unpack(&console, tmp.path());
    let rec = tmp.path().join("out");
    let uname = std::fs::read_to_string(rec.join("uname")).unwrap();
    assert!(uname.starts_with(&format!("{series}.")), "{uname}");

    // Every Phantom mode, by the checks record_phantom.rs uses on this kernel.
    let mut problems = Vec::new();
    for mode in Mode::EACH {
        let m = mode.as_str();
        let p = check::check_recording(&rec.join(m), &rec.join(format!("{m}.jsonl")), mode, true);
        let p = p.unwrap_or_else(|| panic!("{m} unavailable on {series}"));
        let truth = phantom::read_log(&rec.join(format!("{m}.jsonl"))).expect("ground truth");
        assert_eq!(truth.attempts(mode).len(), count(mode) as usize, "{m}");
        eprintln!(
            "{series}: {m}: {} problem(s) in {} attempts",
            p.len(),
            count(mode)
        );
        problems.extend(p);
    }
    assert!(
        problems.is_empty(),
        "Linux {series}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    Some(tmp)
}

/// The rows of the `files` recording, with a dump of them for messages.
fn files(tmp: &Path) -> (Vec<hindsight_format::Event>, Manifest, String) {
    let (events, manifest) = check::read_recording(&tmp.join("out/files"));
    let dump = events
        .iter()
        .map(|e| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                e.syscall, e.file_path, e.file_path_user, e.toctou_mismatch, e.kernel_source
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    (events, manifest, dump)
}

/// A row of `syscall` (or, ending in `*`, a syscall starting so) whose user
/// path is `user`.
fn row<'a>(
    events: &'a [hindsight_format::Event],
    syscall: &str,
    user: &str,
    dump: &str,
) -> &'a hindsight_format::Event {
    events
        .iter()
        .find(|e| {
            let name = e.syscall.as_deref().unwrap_or("");
            let by_name = match syscall.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == syscall,
            };
            by_name && e.file_path_user.as_deref() == Some(user)
        })
        .unwrap_or_else(|| panic!("no {syscall} row of {user}:\n{dump}"))
}

/// The `files` recording: the kernel-name hook active; the rename and the
/// unlink with the kernel's copies of their names (`names_cache`), the open
/// through a symlink (no mismatch), a rename to a path over 255 bytes
/// (`long`: its verdict), the exec with its argv; `features`, the manifest's
/// `recorder_config.kernel_features` (records, task_reads, kernel_names,
/// long_paths).
/// With the hook off (`kernel_names` `off`), the rename and the unlink
/// compare the user path re-read at exit instead.
fn check_files(tmp: &Path, long: Option<bool>, features: [&str; 4]) {
    let (events, manifest, dump) = files(tmp);
    let got = &manifest.recorder_config["kernel_features"];
    for (key, want) in ["records", "task_reads", "kernel_names", "long_paths"]
        .into_iter()
        .zip(features)
    {
        assert_eq!(got[key], want, "{key}: {got}");
    }
    let hook_on = features[2] != "off";
    let names = if hook_on {
        "names_cache"
    } else {
        "sys_exit_reread"
    };
    let hook = "raw_tracepoint/kmem_cache_free";
    assert_eq!(
        manifest.hooks.active.iter().any(|h| h == hook),
        hook_on,
        "{:?}",
        manifest.hooks
    );
    let to_long = row(&events, "rename*", "e", &dump);
    // Its target is kept cut (to the 255 bytes of a record's name).
    let target = to_long.file_target_path.as_deref().unwrap_or("");
    assert!(
        target.len() >= 200 && format!("{}/e", long_dir()).starts_with(target),
        "{dump}"
    );
    assert_eq!(to_long.file_path_truncated, Some(true), "{dump}");
    assert_eq!(to_long.toctou_mismatch, long, "{dump}");
    assert_eq!(manifest.totals.loss_rows, 0);
    let rename = row(&events, "rename*", "a", &dump);
    assert_eq!(rename.file_path.as_deref(), Some("/tmp/f/a"), "{dump}");
    assert_eq!(rename.file_target_path.as_deref(), Some("/tmp/f/b"));
    assert_eq!(rename.toctou_mismatch, Some(false), "{dump}");
    assert_eq!(rename.kernel_source.as_deref(), Some(names), "{dump}");
    let opened = row(&events, "open*", "c", &dump);
    assert_eq!(opened.file_path.as_deref(), Some("/tmp/f/b"), "{dump}");
    assert_eq!(opened.toctou_mismatch, Some(false), "{dump}");
    let unlink = row(&events, "unlink*", "d", &dump);
    assert_eq!(unlink.file_path.as_deref(), Some("/tmp/f/d"), "{dump}");
    assert_eq!(unlink.toctou_mismatch, Some(false), "{dump}");
    assert_eq!(unlink.kernel_source.as_deref(), Some(names), "{dump}");
    let echo = events
        .iter()
        .find(|e| {
            e.event_kind == EventKind::ProcessExec
                && e.process_args.as_ref().is_some_and(|a| a.len() == 5)
        })
        .unwrap_or_else(|| panic!("no exec of busybox echo:\n{dump}"));
    assert_eq!(
        echo.process_args.as_ref().unwrap().join(" "),
        "/bin/busybox echo one two three"
    );
    assert_eq!(echo.process_executable.as_deref(), Some("/bin/busybox"));
}

/// Linux 5.10: no dynptrs, no BTF-typed task pointer, and a
/// `kmem_cache_free` that does not say which cache: the kernel-name hook
/// knows a `struct filename` by its shape there, so the rename and the
/// unlink get the kernel's copy of their names, as on 6.1.
#[test]
fn records_on_linux_5_10() {
    let Some(tmp) = run_guest("5.10") else {
        return;
    };
    // The long path is not compared whole there: no verdict, although the
    // other path agreed (it was false before, on the other path alone).
    check_files(
        tmp.path(),
        None,
        [
            "ringbuf_output",
            "probe_read_kernel",
            "by_shape",
            "first_255_bytes",
        ],
    );
}

/// Linux 6.1 (Debian 12), the second kernel whose BTF the offsets are
/// tested against, now recording for real: dynptrs, and the kernel-name
/// hook, whose tracepoint passes the cache itself there (6.1 and later).
#[test]
fn records_on_linux_6_1() {
    let Some(tmp) = run_guest("6.1") else {
        return;
    };
    check_files(
        tmp.path(),
        Some(false),
        ["dynptr", "btf", "by_cache", "whole"],
    );
}

/// Linux 5.10 with `init_on_free=1`: before 6.1 `kmem_cache_free`'s
/// tracepoint runs after the object is freed, so every name the hook could
/// read is zeroed. The recorder leaves the hook off there and says why
/// (before, the manifest called it active while it saw nothing); the
/// rename and the unlink fall back on the re-read at exit, still right.
#[test]
fn names_hook_is_off_where_freed_names_are_wiped() {
    if !root::is_root() {
        eprintln!("skipped the Linux 5.10 init_on_free test: QEMU and the kernel need root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let console = boot(
        "5.10",
        "init-on-free",
        "loglevel=1 init_on_free=1",
        &[],
        &files_script(),
    );
    assert!(console.contains("HS-RECORDED files 0"), "{console}");
    unpack(&console, tmp.path());
    check_files(
        tmp.path(),
        None,
        [
            "ringbuf_output",
            "probe_read_kernel",
            "off",
            "first_255_bytes",
        ],
    );
    let (_, manifest, _) = files(tmp.path());
    let off = manifest
        .hooks
        .unavailable
        .iter()
        .find(|u| u.name == "raw_tracepoint/kmem_cache_free")
        .unwrap_or_else(|| panic!("{:?}", manifest.hooks));
    assert!(off.reason.contains("init_on_free"), "{}", off.reason);
}
