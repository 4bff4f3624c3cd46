//! `hindsight record` against the Phantom Attack reproducer: every attempt's
//! row must show the object the kernel really used, the user-memory value (or
//! its read error) and a correct `toctou_mismatch` — 100 % in deterministic
//! modes; in race modes the flag must equal "user value differs from the
//! kernel's" on every row. Needs root; skips with a printed reason otherwise.

#[path = "support/phantom.rs"]
mod phantom;

use std::path::Path;
use std::process::Command;

use hindsight_format::{Event, EventKind};
use phantom::{Mode, Phantom, RunOptions};

#[path = "support/root.rs"]
mod root;
use root::is_root;

#[path = "support/phantom_check.rs"]
mod check;
use check::read_recording;

/// Records `mode` under `hindsight record` and returns every disagreement
/// between the recording and the ground truth (None: mode unavailable here).
fn check_mode(bin: &Phantom, mode: Mode, count: u32) -> Option<Vec<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rec");
    let log = tmp.path().join("truth.jsonl");
    // Our own work dir outlives the recording, so the symlink mode's link
    // still resolves when the recorder decodes its rows; so must its target
    // (phantom's default files are removed when it exits).
    let mut opts = RunOptions {
        count: Some(count),
        log: Some(log.clone()),
        workdir: Some(tmp.path().to_path_buf()),
        ..RunOptions::default()
    };
    if mode == Mode::Symlink {
        let (harmless, target) = (tmp.path().join("harmless"), tmp.path().join("target"));
        std::fs::write(&harmless, "harmless\n").unwrap();
        std::fs::write(&target, "target\n").unwrap();
        opts.harmless = Some(harmless);
        opts.target = Some(target);
    }
    let status = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["record", "-o"])
        .arg(&out)
        .args(["--syscalls", "openat,openat2,connect", "--"])
        .args(bin.args(mode, &opts))
        .status()
        .expect("run hindsight record");
    check::check_recording(&out, &log, mode, status.success())
}

#[test]
fn phantom_attack_modes_are_seen_through() {
    if !is_root() {
        eprintln!("skipped phantom_attack_modes_are_seen_through: recording needs root");
        return;
    }
    let bin = Phantom::build().unwrap_or_else(|e| panic!("{e}"));
    let mut all = Vec::new();
    for mode in Mode::EACH {
        let count = if mode.is_deterministic() { 50 } else { 200 };
        if let Some(p) = check_mode(&bin, mode, count) {
            eprintln!("{mode}: {} problem(s) in {count} attempts", p.len());
            all.extend(p);
        }
    }
    assert!(
        all.is_empty(),
        "{} problem(s):\n{}",
        all.len(),
        all.join("\n")
    );
}

/// Records `sh -c SCRIPT sh ARGS...` with `--syscalls SET` and returns the
/// recording's rows.
fn record_sh(dir: &Path, set: &str, script: &str, args: &[String]) -> Vec<Event> {
    let out = dir.join("rec");
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["record", "-o"])
        .arg(&out)
        .args(["--syscalls", set, "--", "sh", "-c", script, "sh"])
        .args(args)
        .status()
        .expect("run hindsight record");
    assert!(
        status.success(),
        "hindsight record -- sh -c {script}: {status}"
    );
    read_recording(&out).0
}

/// Paths longer than the 255 bytes kept of them: the kernel compares the
/// whole entry copy with its own copy, so a Phantom Attack that changes only
/// the part past byte 255 is flagged, also when the kernel's copy is those
/// 255 bytes alone (a NUL written at byte 255) and when it is too long for
/// the kernel to keep it inline (4 064 bytes or more); a long path used as it
/// is, is not flagged. Before, these rows had a null verdict (the
/// 255-byte case: false).
#[test]
fn long_paths_get_a_verdict() {
    if !is_root() {
        eprintln!("skipped long_paths_get_a_verdict: recording needs root");
        return;
    }
    let bin = Phantom::build().unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    // `dir`, `slashes` slashes, then `name`.
    let long =
        |slashes: usize, name: &str| format!("{}{}{name}", dir.display(), "/".repeat(slashes));
    for name in ["benign", "secret", "plain", "gone", "plain2", "gone2"] {
        std::fs::write(dir.join(name), "x\n").unwrap();
    }
    let log = dir.join("truth.jsonl");
    // The exactly-255-byte target: the directory and slashes, nothing more.
    let prefix_255 = &long(300, "")[..255];
    let attacks = [
        (
            "tail past byte 255",
            long(300, "benign"),
            long(300, "secret"),
            "/secret",
        ),
        (
            "kernel copy cut to the 255 bytes",
            long(300, "benign"),
            prefix_255.to_string(),
            &*dir.to_string_lossy(),
        ),
        (
            "names kept out of line",
            long(4070, "benign"),
            long(4070, "secret"),
            "/secret",
        ),
    ];
    for (what, harmless, target, opened) in attacks {
        let opts = RunOptions {
            count: Some(10),
            log: Some(log.clone()),
            workdir: Some(dir.clone()),
            harmless: Some(harmless.into()),
            target: Some(target.into()),
        };
        let argv: Vec<String> = bin
            .args(Mode::Openat2Uffd, &opts)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let events = record_sh(&dir, "openat2", r#""$@""#, &argv);
        if let Some(s) = phantom::read_log(&log)
            .expect("truth")
            .skipped(Mode::Openat2Uffd)
        {
            eprintln!("skipped long_paths_get_a_verdict: {}", s.reason);
            return;
        }
        let rows: Vec<&Event> = events
            .iter()
            .filter(|e| e.syscall.as_deref() == Some("openat2"))
            .filter(|e| e.file_path.as_deref().is_some_and(|p| p.ends_with(opened)))
            .collect();
        assert_eq!(rows.len(), 10, "{what}: openat2 rows");
        for e in rows {
            assert_eq!(e.file_path_truncated, Some(true), "{what}");
            assert_eq!(
                e.file_path_user.as_ref().map(String::len),
                Some(255),
                "{what}"
            );
            assert_eq!(e.toctou_mismatch, Some(true), "{what}: {e:?}");
        }
    }
    // Long paths used as they are: an open and an unlink, each inline and
    // out of line; a symlink and a rename with one name of each kind.
    let script = r#"cat "$1" "$2" > /dev/null; rm "$3" "$4"; ln -s plain "$5"; mv "$6" "$7""#;
    std::fs::write(dir.join("moved"), "x\n").unwrap();
    let args = [
        long(300, "plain"),
        long(4070, "plain2"),
        long(300, "gone"),
        long(4070, "gone2"),
        long(4070, "link"),
        long(300, "moved"),
        long(4070, "moved2"),
    ];
    let set = "openat,unlinkat,symlinkat,renameat,renameat2";
    let events = record_sh(&dir, set, script, &args);
    let two_paths: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e.syscall.as_deref(),
                Some("symlinkat" | "renameat" | "renameat2")
            )
        })
        .filter(|e| e.ret == Some(0))
        .collect();
    assert_eq!(two_paths.len(), 2, "symlink and rename rows");
    for e in two_paths {
        assert_eq!(e.kernel_source.as_deref(), Some("names_cache"));
        assert_eq!(e.toctou_mismatch, Some(false), "{e:?}");
    }
    assert!(dir.join("link").is_symlink() && dir.join("moved2").exists());
    let opens: Vec<&Event> = events
        .iter()
        .filter(|e| e.syscall.as_deref() == Some("openat"))
        .filter(|e| e.file_path.as_deref().is_some_and(|p| p.contains("/plain")))
        .collect();
    // The unlinked paths keep their first 255 bytes (the directory and
    // slashes), so their rows are found by the cut.
    let unlinks: Vec<&Event> = events
        .iter()
        .filter(|e| e.syscall.as_deref() == Some("unlinkat"))
        .filter(|e| e.file_path_truncated == Some(true))
        .collect();
    for (what, rows, source) in [
        ("openat", opens, "sys_exit_fd"),
        ("unlinkat", unlinks, "names_cache"),
    ] {
        assert_eq!(rows.len(), 2, "{what} rows");
        for e in rows {
            assert_eq!(e.kernel_source.as_deref(), Some(source), "{what}");
            assert_eq!(e.file_path_truncated, Some(true), "{what}");
            assert_eq!(e.toctou_mismatch, Some(false), "{what}: {e:?}");
        }
    }
    assert!(!dir.join("gone").exists() && !dir.join("gone2").exists());
}

/// Execs a binary through a path longer than the 255 bytes kept of it: used
/// as it is, no mismatch; with its tail in a page not yet faulted in (user
/// memory cannot be read whole at entry, the kernel faults it in and runs
/// the binary), a mismatch. Before, the exec verdict compared the 255 bytes
/// kept and said false.
#[test]
fn long_exec_paths_are_compared_whole() {
    if !is_root() {
        eprintln!("skipped long_exec_paths_are_compared_whole: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rec");
    let long = format!("{}bin/true", "/".repeat(300));
    // The path's 300 slashes at the end of an anonymous page, "bin/true"
    // at the start of the next: a file page mapped in its own mapping and
    // never touched, so no fault-around maps it early.
    let unfaulted = r#"
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.execve.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
P = mmap.PAGESIZE
base = libc.mmap(None, 2 * P, 3, 0x22, -1, 0)
fd = os.memfd_create("tail")
os.write(fd, b"bin/true\0".ljust(P, b"\0"))
assert libc.mmap(base + P, P, 1, 0x12, fd, 0) == base + P
head = b"/" * 300
ctypes.memmove(base + P - len(head), head, len(head))
argv = (ctypes.c_char_p * 2)(b"true", None)
envp = (ctypes.c_char_p * 1)(None)
libc.execve(base + P - len(head), argv, envp)
raise SystemExit("execve failed: errno %d" % ctypes.get_errno())
"#;
    let script = format!(r#"{long}; python3 -c '{unfaulted}'"#);
    let status = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["record", "-o"])
        .arg(&out)
        .args(["--syscalls", "execve", "--", "sh", "-c", &script])
        .status()
        .expect("run hindsight record");
    assert!(status.success(), "hindsight record: {status}");
    let (events, _) = read_recording(&out);
    let execs: Vec<&Event> = events
        .iter()
        .filter(|e| e.event_kind == EventKind::ProcessExec)
        .filter(|e| e.file_path_truncated == Some(true))
        .collect();
    let verdicts: Vec<_> = execs
        .iter()
        .map(|e| (e.process_name.as_deref(), e.toctou_mismatch))
        .collect();
    assert_eq!(execs.len(), 2, "{verdicts:?}");
    for e in &execs {
        assert!(
            e.file_path.as_deref().is_some_and(|p| p.ends_with("/true")),
            "{e:?}"
        );
        assert_eq!(e.kernel_source.as_deref(), Some("sched_process_exec"));
    }
    // In order: the long path used as it is, then the unfaulted one.
    assert_eq!(execs[0].toctou_mismatch, Some(false), "{verdicts:?}");
    assert_eq!(execs[1].toctou_mismatch, Some(true), "{verdicts:?}");
}
