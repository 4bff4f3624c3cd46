//! `hindsight record` from the command line: what its `--help` and the book
//! promise about the recording directory, the arguments and the progress
//! line. Needs root; skips with a printed reason otherwise.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[path = "support/root.rs"]
mod root;
use root::is_root;

fn hindsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

/// Runs `hindsight record -o REC ARGS...`, which must succeed, and returns
/// its stderr and the recording's manifest.
fn record_ok(rec: &std::path::Path, args: &[&str]) -> (String, serde_json::Value) {
    let o = hindsight()
        .args(["record", "-o"])
        .arg(rec)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let manifest = serde_json::from_slice(&std::fs::read(rec.join("manifest.json")).unwrap());
    (err, manifest.unwrap())
}

/// An existing empty directory becomes private (0700) like one the recorder
/// creates: world-writable, anyone could replace its `manifest.json`.
#[test]
fn an_existing_empty_directory_becomes_private() {
    if !is_root() {
        eprintln!("skipped an_existing_empty_directory_becomes_private: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&rec)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode = std::fs::metadata(&rec).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "mode of the recording directory: {mode:o}");
    assert!(rec.join("manifest.json").exists());
}

#[test]
fn an_empty_directory_of_another_user_is_taken_over_and_a_link_refused() {
    if !is_root() {
        eprintln!("skipped an_empty_directory_of_another_user_is_taken_over: recording needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    // Pre-created by someone else (nobody): after chmod alone its owner
    // could chmod it back and replace the manifest.
    let rec = tmp.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    std::os::unix::fs::chown(&rec, Some(65534), Some(65534)).unwrap();
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&rec)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = std::fs::metadata(&rec).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o700));
    // A symbolic link to an empty directory: refused, naming it, and the
    // directory it points at left as it was.
    let target = tmp.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&link)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(
        err.contains("symbolic link") && err.contains("link"),
        "{err}"
    );
    let m = std::fs::metadata(&target).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o755);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

/// `hindsight query DIR SQL` as CSV lines, header first.
fn query(rec: &std::path::Path, sql: &str) -> Vec<String> {
    let o = hindsight()
        .arg("query")
        .arg(rec)
        .args([sql, "--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `--syscalls -NAME,...` as the help and the book write it (a separate
/// argument starting with `-`) removes those calls from the default set.
#[test]
fn syscalls_takes_a_value_starting_with_a_minus() {
    if !is_root() {
        eprintln!("skipped syscalls_takes_a_value_starting_with_a_minus: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (_, manifest) = record_ok(
        &rec,
        &[
            "--syscalls",
            "-openat,-openat2",
            "--",
            "cat",
            "/etc/hostname",
        ],
    );
    assert_eq!(
        manifest["recorder_config"]["syscalls"], "-openat,-openat2",
        "{manifest:#}"
    );
    // cat opens /etc/hostname with openat: no such row, but the rest of the
    // default set is there (cat's execve).
    let rows = query(
        &rec,
        "SELECT sum(CASE WHEN syscall IN ('openat', 'openat2') THEN 1 ELSE 0 END) AS opens, \
         sum(CASE WHEN syscall = 'execve' AND ret = 0 THEN 1 ELSE 0 END) AS execs FROM events",
    );
    assert_eq!(rows, ["opens,execs", "0,1"], "{rows:?}");
}

/// The recorder's CPU time, and the part of it that was start-up, are in
/// the summary and the manifest; the start-up is a part of the whole, and
/// recording a busy command costs CPU beyond it.
#[test]
fn the_recorders_cpu_time_is_reported() {
    if !is_root() {
        eprintln!("skipped the_recorders_cpu_time_is_reported: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let busy = "i=0; while [ $i -lt 3000 ]; do cat /etc/hostname; i=$((i+1)); done > /dev/null";
    let (err, manifest) = record_ok(&rec, &["--syscalls", "all", "--", "sh", "-c", busy]);
    let totals = &manifest["totals"];
    let all = totals["recorder_cpu_ns"].as_u64().expect("recorder_cpu_ns");
    let startup = totals["recorder_startup_cpu_ns"]
        .as_u64()
        .expect("recorder_startup_cpu_ns");
    assert!(0 < startup && startup < all, "{totals}");
    // The busy command's events cost CPU beyond the start-up that a command
    // with next to no events does not.
    let (_, m) = record_ok(
        &tmp.path().join("idle"),
        &["--syscalls", "all", "--", "true"],
    );
    let t = &m["totals"];
    let idle_recording =
        t["recorder_cpu_ns"].as_u64().unwrap() - t["recorder_startup_cpu_ns"].as_u64().unwrap();
    assert!(
        all - startup > idle_recording,
        "recording 3000 cats: {totals}; recording true: {t}"
    );
    let line = format!(
        "recorder CPU {:.2}s ({:.2}s of it start-up)",
        all as f64 / 1e9,
        startup as f64 / 1e9
    );
    assert!(err.contains(&line), "{line:?} not in {err}");
    // `hindsight info` shows it too, in text and JSON.
    let o = hindsight().arg("info").arg(&rec).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let shown = format!(
        "recorder CPU:      {:.2}s ({:.2}s of it start-up)",
        all as f64 / 1e9,
        startup as f64 / 1e9
    );
    assert!(text.contains(&shown), "{shown:?} not in {text}");
    let o = hindsight()
        .args(["info", "--format", "json"])
        .arg(&rec)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["recorder_cpu_seconds"], all as f64 / 1e9);
    assert_eq!(info["recorder_startup_cpu_seconds"], startup as f64 / 1e9);
}

/// `--syscalls` followed by another flag (its value forgotten) is still a
/// usage error saying the set is missing, not a set called `--duration`;
/// with a command after `--`, it exits 125 (the recorder's failure).
#[test]
fn syscalls_followed_by_a_flag_is_a_usage_error() {
    for next in ["--duration", "--", "-o"] {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        let o = hindsight()
            .args(["record", "-o"])
            .arg(&rec)
            .args(["--syscalls", next, "1s", "--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "--syscalls {next}: {err}");
        assert!(
            err.contains("a value is required for '--syscalls <SET>'"),
            "--syscalls {next}: {err}"
        );
        assert!(!rec.exists(), "--syscalls {next} made {}", rec.display());
    }
}

/// On a terminal, the progress line updated in place shows the bytes the
/// recording takes on disk, next to events, lost events and bytes received
/// (run under `script` for a terminal).
#[test]
fn progress_on_a_terminal_shows_the_bytes_on_disk() {
    if !is_root() {
        eprintln!("skipped progress_on_a_terminal_shows_the_bytes_on_disk: recording needs root");
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "skipped progress_on_a_terminal_shows_the_bytes_on_disk: no `script` (util-linux) \
             for a terminal"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    // A busy command for 8 s: a progress line each second. With every
    // syscall it makes enough rows for the flush to write row groups (of
    // 128 Ki rows), so the compression so far shows: a byte-at-a-time copy
    // makes rows as fast as the recorder takes them (a `cat` loop, bound by
    // fork and exec, made 77 000 in 2 s on a busy machine).
    let cmd = format!(
        "stty cols 200; {} record -o {} --duration 8s --syscalls all -- \
         dd if=/dev/zero of=/dev/null bs=1",
        env!("CARGO_BIN_EXE_hindsight"),
        rec.display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("hindsight: recorded"), "{out}");
    // Each update: `\r`, clear the line, the line.
    let lines: Vec<&str> = out
        .split('\r')
        .filter_map(|l| l.strip_prefix("\x1b[K"))
        .filter(|l| l.contains(" events ("))
        .collect();
    assert!(lines.len() >= 2, "{out:?}");
    let last = lines.last().unwrap();
    for field in ["lost ", " in, ", " on disk"] {
        assert!(last.contains(field), "no `{field}` in {last:?}");
    }
    // Once a row group is written, the compression so far: Parquet takes
    // many times less than the kernel's records. A debug build on a machine
    // busy with other tests once decoded only 40 964 rows in 2 s (losing
    // 716 119), too few for a row group; then the line has none.
    let events: u64 = last
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in {last:?}"));
    let ratio: Option<f64> = last
        .rsplit_once(" (")
        .and_then(|(_, r)| r.strip_suffix("x)"))
        .and_then(|r| r.trim().parse().ok());
    // The decoder counts a row before the writer has it: up to 16 queued
    // batches, one being sent and one being appended, each up to 12 Ki rows
    // (8 Ki and a reader's message), on top of the 128 Ki of a row group.
    // From 344 Ki rows the ratio must show (it showed from about 240 000 in
    // runs here, where the line at 7 s counts about 400 000).
    match ratio {
        Some(ratio) => assert!(ratio > 3.0, "{last:?}"),
        None if events >= 344 * 1024 => panic!("no compression in {last:?}"),
        None => {
            // Straight to stderr: libtest hides `eprintln!` of a test that passes.
            let _ = writeln!(
                std::io::stderr(),
                "{last}: too few events to be sure of a row group; its compression not checked"
            );
        }
    }
    // The summary says the whole recording's compression, however fast.
    let summary = out
        .lines()
        .find(|l| l.contains("hindsight: recorded"))
        .unwrap_or_else(|| panic!("{out}"));
    let whole: f64 = summary
        .rsplit_once("x compression vs. the kernel wire format")
        .and_then(|(head, _)| head.rsplit(' ').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no compression in {summary:?}"));
    assert!(whole > 3.0, "{summary:?}");
    // Seconds of a busy command take more than the files' headers.
    let on_disk = last
        .split(" on disk")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .unwrap();
    let split = on_disk.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (n, unit) = on_disk.split_at(split);
    let n: f64 = n.parse().unwrap();
    let bytes = match unit {
        "B" => n,
        "KiB" => n * 1024.0,
        "MiB" => n * 1024.0 * 1024.0,
        "GiB" => n * 1024.0 * 1024.0 * 1024.0,
        _ => panic!("{last:?}"),
    };
    assert!(bytes > 64.0 * 1024.0, "{last:?}");
}

/// Values that cannot mean what was asked are refused before anything runs:
/// exit 125 (a command follows), a message naming the flag, no recording
/// directory. (A huge
/// duration panicked, a huge size wrapped around, `--duration 0` killed the
/// command at once, an empty `--ignore-prefix` dropped every row with a
/// path, an empty `--syscalls` meant the default set, and `exit` was taken
/// but could never give a row.)
#[test]
fn values_that_cannot_mean_what_was_asked_are_refused() {
    let mut cases = vec![
        (
            vec!["--duration", "99999999999999999999h"],
            "too long a duration",
        ),
        (
            vec!["--segment-duration", "99999999999999999999h"],
            "too long a duration",
        ),
        (vec!["--max-size", "17179869185G"], "too large a size"),
        (vec!["--ring-buffer", "17179869184G"], "too large a size"),
        (vec!["--duration", "0"], "--duration 0"),
        (vec!["--ignore-prefix", ""], "--ignore-prefix ''"),
        (
            vec!["--ignore-prefix", "tmp/x"],
            "--ignore-prefix tmp/x: recorded paths are absolute",
        ),
        // Sizes are said as typed, and what they came to (not in bytes).
        (
            vec!["--ring-buffer", "3M"],
            "'3M' for '--ring-buffer <SIZE>': 3.0 MiB is not a power of two (",
        ),
        (
            vec!["--ring-buffer", "2K"],
            "'2K' for '--ring-buffer <SIZE>': 2.0 KiB is outside 4K to 2G",
        ),
        (
            vec!["--segment-size", "64K"],
            "'64K' for '--segment-size <SIZE>': 64.0 KiB is below the smallest",
        ),
        (
            vec!["--max-size", "1M"],
            "--max-size 1.0 MiB: the ring must hold at least two segments (2 x --segment-size, 256.0 MiB)",
        ),
    ];
    // The syscall set is read after the root check.
    if is_root() {
        cases.push((vec!["--syscalls", ""], "names no syscall"));
        cases.push((vec!["--syscalls", ","], "names no syscall"));
        cases.push((vec!["--syscalls", "openat,exit"], "`exit` never returns"));
    }
    for (flags, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        let o = hindsight()
            .args(["record", "-o"])
            .arg(&rec)
            .args(&flags)
            .args(["--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {want:?} in {err}");
        assert!(!err.contains("panicked"), "{flags:?}: {err}");
        assert!(!rec.exists(), "{flags:?} made {}", rec.display());
    }
}

/// `record -- CMD` passes CMD's exit status on, 2 included, and keeps 125
/// to 127 for its own failures, as timeout(1) and env(1) do: a bad flag, an
/// unusable `-o`, a command that cannot be executed or is not found. Without
/// a command (the whole host), an error still exits 2. (Every failure
/// exited 2, the same as a command that exits 2.)
#[test]
fn the_recorders_own_failures_exit_125_to_127() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_recording = tmp.path().join("notes");
    std::fs::create_dir(&not_a_recording).unwrap();
    std::fs::write(not_a_recording.join("todo.txt"), "x").unwrap();
    let script = tmp.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let status = |out: &std::path::Path, args: &[&str]| {
        let o = hindsight()
            .args(["record", "-o"])
            .arg(out)
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let fresh = |name: &str| tmp.path().join(name);
    // Usage errors: before the root check, so these run as any user.
    let (code, err) = status(&fresh("a"), &["--duration", "soon", "--", "true"]);
    assert_eq!(code, Some(125), "{err}");
    let (code, err) = status(&fresh("b"), &["--no-such-flag", "--", "true"]);
    assert_eq!(code, Some(125), "{err}");
    let (code, err) = status(&fresh("c"), &["--ring-buffer", "3", "--", "true"]);
    assert_eq!(code, Some(125), "{err}");
    // The same without a command: 2, as before.
    let (code, err) = status(&fresh("d"), &["--ring-buffer", "3"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = status(&fresh("e"), &["--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
    if !is_root() {
        eprintln!("skipped the rest of the_recorders_own_failures_exit_125_to_127: needs root");
        return;
    }
    let (code, err) = status(&not_a_recording, &["--", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("not empty"), "{err}");
    let (code, err) = status(&fresh("f"), &["--", "sh", "-c", "exit 2"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = status(&fresh("g"), &["--", "/nonexistent/command"]);
    assert_eq!(code, Some(127), "{err}");
    let (code, err) = status(&fresh("i"), &["--", script.to_str().unwrap()]);
    assert_eq!(code, Some(126), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    // A script whose #! interpreter is missing: 127 as env(1), and the
    // message says the script is there (ENOENT named the script).
    let orphan = tmp.path().join("orphan.sh");
    std::fs::write(&orphan, "#!/nonexistent/interp\n").unwrap();
    std::fs::set_permissions(&orphan, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, err) = status(&fresh("m"), &["--", orphan.to_str().unwrap()]);
    assert_eq!(code, Some(127), "{err}");
    assert!(err.contains("interpreter"), "{err}");
    // Killed by a signal: 128 + its number.
    let (code, err) = status(&fresh("j"), &["--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(code, Some(128 + 9), "{err}");
    // The summary names the signal (a command can also exit 137 itself).
    assert!(
        err.contains("The command was killed by signal 9 (SIGKILL) (exit status 137)."),
        "{err}"
    );
    let (code, err) = status(&fresh("j2"), &["--", "sh", "-c", "exit 137"]);
    assert_eq!(code, Some(137), "{err}");
    assert!(err.contains("The command exited with code 137."), "{err}");
    // --duration ends the command as `timeout --foreground -k 2s` does: SIGTERM (143),
    // and SIGKILL (137) for one that ignores SIGTERM (it was left running,
    // and record exited 0; bounded to 10 s, so that a regression fails
    // instead of hanging on the pipe the loop holds).
    let (code, err) = status(&fresh("k"), &["--duration", "1s", "--", "sleep", "30"]);
    assert_eq!(code, Some(128 + 15), "{err}");
    let (code, err) = status(
        &fresh("l"),
        &[
            "--duration",
            "1s",
            "--",
            "sh",
            "-c",
            "trap '' TERM; for i in $(seq 100); do sleep 0.1; done",
        ],
    );
    assert_eq!(code, Some(128 + 9), "{err}");
    assert!(err.contains("killed by signal 9 (SIGKILL)"), "{err}");
}

/// `-o a/b/rec` makes the missing `a` and `a/b` 0700, as the recording
/// directory (they were 0755), and when recording fails before it starts
/// removes them again, leaving directories that existed before.
#[test]
fn missing_parents_are_private_and_removed_when_recording_fails() {
    if !is_root() {
        eprintln!(
            "skipped missing_parents_are_private_and_removed_when_recording_fails: needs root"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let record = record_status;
    let (code, err) = record(&tmp.path().join("a/b/rec"), "/nonexistent/command");
    assert_eq!(code, Some(127), "{err}");
    assert!(!tmp.path().join("a").exists(), "{err}");
    // Below a directory that exists: that one stays.
    let kept = tmp.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    let (code, err) = record(&kept.join("n/rec"), "/nonexistent/command");
    assert_eq!(code, Some(127), "{err}");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 0, "{err}");
    let (code, err) = record(&tmp.path().join("a/b/rec"), "true");
    assert_eq!(code, Some(0), "{err}");
    for dir in ["a", "a/b", "a/b/rec"] {
        let mode = std::fs::metadata(tmp.path().join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o700, "{dir}: {mode:o}");
    }
}

/// Runs `hindsight record -o OUT -- COMMAND` and returns its exit code and
/// stderr.
fn record_status(out: &std::path::Path, command: &str) -> (Option<i32>, String) {
    let o = hindsight()
        .args(["record", "-o"])
        .arg(out)
        .args(["--", command])
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An `-o` that cannot name a recording directory is said for what it is:
/// a file (it said "File exists"), an empty argument (it said ": No such
/// file or directory").
#[test]
fn an_output_that_is_no_directory_is_named() {
    let (code, err) = record_status(std::path::Path::new(""), "true");
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("an empty path names no directory"), "{err}");
    if !is_root() {
        eprintln!("skipped the rest of an_output_that_is_no_directory_is_named: needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("afile");
    std::fs::write(&file, "keep").unwrap();
    let (code, err) = record_status(&file, "true");
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("afile: exists and is not a directory"),
        "{err}"
    );
    assert!(!err.contains("writing the recording failed"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    // A directory holding other files is refused without the prefix too.
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("x"), "").unwrap();
    let (code, err) = record_status(&full, "true");
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("full: directory is not empty"), "{err}");
    assert!(!err.contains("writing the recording failed"), "{err}");
}

/// `-o newdir/../keep` names the existing `keep` (as the kernel resolves
/// it once `newdir` is made): a command that cannot run leaves `keep` as
/// it was (taken over while recording was set up, and given its owner and
/// mode back), and removes only `newdir`. It used to decide that
/// `keep` was missing before `newdir` existed, and remove it. A directory
/// that existed above the recording stays too, however it is reached.
#[test]
fn a_failed_start_removes_only_what_record_made() {
    if !is_root() {
        eprintln!("skipped a_failed_start_removes_only_what_record_made: needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let keep = t.join("keep");
    std::fs::create_dir(&keep).unwrap();
    std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&keep, Some(65534), Some(65534)).unwrap();
    let (code, err) = record_status(&t.join("newdir/../keep"), "/nonexistent/command");
    assert_eq!(code, Some(127), "{err}");
    let meta = std::fs::metadata(&keep).expect("keep was removed");
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "{err}");
    assert_eq!(meta.mode() & 0o7777, 0o755, "{err}");
    assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 0, "{err}");
    assert!(!t.join("newdir").exists(), "{err}");
    // Not empty: refused before the take-over, and left exactly as it was.
    std::fs::write(keep.join("notes"), "").unwrap();
    std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, err) = record_status(&t.join("newdir/../keep"), "/nonexistent/command");
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("not empty"), "{err}");
    let meta = std::fs::metadata(&keep).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o755, "{err}");
    assert!(keep.join("notes").is_file(), "{err}");
    assert!(!t.join("newdir").exists(), "{err}");
    // An existing empty parent, reached through a missing one: kept.
    let parent = t.join("parent");
    std::fs::create_dir(&parent).unwrap();
    let (code, err) = record_status(&t.join("newdir/../parent/rec"), "/nonexistent/command");
    assert_eq!(code, Some(127), "{err}");
    assert!(parent.is_dir(), "{err}");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0, "{err}");
    assert!(!t.join("newdir").exists(), "{err}");
}

/// A dangling symbolic link above the recording directory is named as
/// one ("File exists" said nothing about it).
#[test]
fn a_dangling_link_above_the_recording_is_named() {
    if !is_root() {
        eprintln!("skipped a_dangling_link_above_the_recording_is_named: needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dang = tmp.path().join("dang");
    std::os::unix::fs::symlink("nowhere", &dang).unwrap();
    let (code, err) = record_status(&dang.join("rec"), "true");
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("dang: is a symbolic link to nowhere, which does not exist"),
        "{err}"
    );
    assert!(!tmp.path().join("nowhere").exists(), "{err}");
    // Said once, as what it is: not a failed write of the recording.
    assert!(!err.contains("writing the recording failed"), "{err}");
    assert_eq!(err.matches("/rec").count(), 0, "{err}");
    // A file on the way is named too.
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let (code, err) = record_status(&file.join("x/rec"), "true");
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(
        err.trim(),
        format!("error: {}: Not a directory (os error 20)", file.display())
    );
}
