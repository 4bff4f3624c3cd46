//! The Phantom Attack reproducer (`fixtures/phantom/`) builds, runs every mode
//! and logs ground truth that agrees with itself — the precondition for using
//! it to judge the recorder. Needs root (userfaultfd on kernel faults, reading
//! /etc/shadow); skips with a printed reason otherwise.

#[path = "support/phantom.rs"]
mod phantom;

use phantom::{Actual, Log, Mode, Phantom, RunOptions};

#[path = "support/root.rs"]
mod root;
use root::is_root;

/// Runs `mode`, asserts the log is self-consistent, returns it; `None` when the
/// mode is unavailable here (reason printed).
fn run_checked(bin: &Phantom, mode: Mode, opts: &RunOptions) -> Option<Log> {
    let run = bin.run(mode, opts).unwrap_or_else(|e| panic!("{e}"));
    if let Some(s) = run.log.skipped(mode) {
        assert_eq!(
            run.status.code(),
            Some(phantom::EXIT_UNAVAILABLE),
            "skipped mode must exit 3"
        );
        eprintln!("skipping {mode}: {}", s.reason);
        return None;
    }
    assert!(
        run.status.success(),
        "phantom {mode}: {}\n{}",
        run.status,
        run.stderr
    );
    let problems = run.log.self_check();
    assert!(
        problems.is_empty(),
        "phantom {mode} ground truth inconsistent:\n{}",
        problems.join("\n")
    );
    let want = opts.count.unwrap() as usize;
    assert_eq!(
        run.log.attempts(mode).len(),
        want,
        "phantom {mode}: attempts logged"
    );
    Some(run.log)
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!(
                "skipping: the Phantom reproducer tests need root (userfaultfd on kernel faults)"
            );
            return;
        }
    };
}

#[test]
fn openat2_uffd_opens_the_target_every_time() {
    require_root!();
    let bin = Phantom::build().unwrap();
    let Some(log) = run_checked(&bin, Mode::Openat2Uffd, &RunOptions::count(100)) else {
        return;
    };
    let setup = log.setup(Mode::Openat2Uffd).unwrap();
    for a in log.attempts(Mode::Openat2Uffd) {
        assert_eq!(a.actual, Actual::Target, "attempt {}", a.attempt);
        assert_eq!(a.actual_inode, setup.target_inode);
        // The handler ran while the kernel copied open_how, before the path:
        assert!(a.uffd_faults.unwrap() >= 1);
        assert_eq!(a.path_at_fault.as_deref(), Some(setup.harmless.as_str()));
        assert_eq!(a.user_before.as_deref(), Some(setup.harmless.as_str()));
        assert_eq!(a.user_after.as_deref(), Some(setup.target.as_str()));
        let e = a.expected.as_ref().unwrap();
        assert_eq!(
            (e.user.as_deref(), e.mismatch),
            (Some(setup.harmless.as_str()), true)
        );
        assert_eq!(a.expected_how_user_err, Some(-14));
    }
}

#[test]
fn unfaulted_buffers_reach_the_kernel() {
    require_root!();
    let bin = Phantom::build().unwrap();
    let Some(log) = run_checked(&bin, Mode::OpenUnfaulted, &RunOptions::count(100)) else {
        return;
    };
    let setup = log.setup(Mode::OpenUnfaulted).unwrap();
    for a in log.attempts(Mode::OpenUnfaulted) {
        assert_eq!(
            (a.actual, a.actual_inode),
            (Actual::Target, setup.target_inode)
        );
        assert_eq!(a.user_after.as_deref(), Some(setup.target.as_str()));
        assert_eq!(a.expected.as_ref().unwrap().user_err, Some(-14));
    }
    // A fresh mapping each attempt (the same address may be reused, the page
    // table entry is not): the before-value is never read.
    assert!(
        log.attempts(Mode::OpenUnfaulted)
            .iter()
            .all(|a| a.user_before.is_none())
    );

    let Some(log) = run_checked(&bin, Mode::ConnectUnfaulted, &RunOptions::count(50)) else {
        return;
    };
    let setup = log.setup(Mode::ConnectUnfaulted).unwrap();
    for a in log.attempts(Mode::ConnectUnfaulted) {
        assert_eq!(a.actual, Actual::Target);
        assert_eq!(a.accepted_by, Some(Actual::Target));
        assert_eq!(a.actual_port(), setup.target_port);
        assert_eq!(
            a.expected.as_ref().unwrap().kernel,
            format!("127.0.0.1:{}", setup.target_port.unwrap())
        );
    }
}

#[test]
fn symlink_opens_the_target_without_a_mismatch() {
    require_root!();
    let bin = Phantom::build().unwrap();
    // The target given explicitly, as a harness would: the sensitive file.
    let opts = RunOptions {
        count: Some(20),
        target: Some("/etc/shadow".into()),
        ..RunOptions::default()
    };
    let Some(log) = run_checked(&bin, Mode::Symlink, &opts) else {
        return;
    };
    let setup = log.setup(Mode::Symlink).unwrap();
    let link = setup.link.clone().unwrap();
    assert_eq!(
        std::fs::symlink_metadata(&link).ok().map(|_| ()),
        None,
        "symlink {link} was not cleaned up"
    );
    for a in log.attempts(Mode::Symlink) {
        assert_eq!(a.actual, Actual::Target);
        assert_eq!(a.actual_value.as_deref(), Some("/etc/shadow"));
        assert_eq!(a.user_before.as_deref(), Some(link.as_str()));
        let e = a.expected.as_ref().unwrap();
        assert_eq!(
            (e.user.as_deref(), e.kernel.as_str(), e.mismatch),
            (Some(link.as_str()), "/etc/shadow", false)
        );
    }
}

#[test]
fn races_are_won_both_ways_and_never_torn() {
    require_root!();
    let bin = Phantom::build().unwrap();
    for mode in [Mode::OpenRace, Mode::ConnectRace] {
        let Some(log) = run_checked(&bin, mode, &RunOptions::count(2000)) else {
            continue;
        };
        let setup = log.setup(mode).unwrap();
        // Defaults are chosen so one atomic store flips the value.
        assert_eq!(
            setup.flip.as_deref(),
            Some(if mode == Mode::OpenRace { "u64" } else { "u16" })
        );
        let live = log
            .attempts(mode)
            .iter()
            .filter(|a| a.flips.unwrap_or(0) > 0)
            .count();
        assert!(
            live > 0,
            "{mode}: the racer flipped during none of the syscalls"
        );
        let s = log.summary(mode).unwrap();
        assert_eq!(
            (s.other, s.failed),
            (0, 0),
            "{mode}: an untorn flip never yields a third outcome"
        );
        assert!(
            s.harmless > 0 && s.target > 0,
            "{mode}: the racer must win sometimes and lose sometimes: {s:?}"
        );
    }
}

#[test]
fn all_runs_every_mode_with_targets_given() {
    require_root!();
    let bin = Phantom::build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (harmless, target) = (
        dir.path().join("harmless.txt"),
        dir.path().join("target.txt"),
    );
    std::fs::write(&harmless, "harmless\n").unwrap();
    std::fs::write(&target, "target\n").unwrap();
    let log_path = dir.path().join("phantom.jsonl");
    let opts = RunOptions {
        count: Some(10),
        harmless: Some(harmless.clone()),
        target: Some(target.clone()),
        workdir: Some(dir.path().into()),
        log: Some(log_path.clone()),
    };
    let run = bin.run(Mode::All, &opts).unwrap();
    assert!(run.status.success(), "{}", run.stderr);
    let problems = run.log.self_check();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for mode in Mode::EACH {
        if run.log.skipped(mode).is_some() {
            continue;
        }
        assert_eq!(run.log.attempts(mode).len(), 10, "{mode}");
        if !mode.is_connect() {
            assert_eq!(
                run.log.setup(mode).unwrap().target,
                target.to_str().unwrap()
            );
        }
    }
    // Only the caller's files, the log and the symlink mode's link (left in a
    // caller's work dir on purpose) remain: phantom cleaned up the rest.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("phantom-link."))
        .collect();
    left.sort();
    assert_eq!(left, ["harmless.txt", "phantom.jsonl", "target.txt"]);
}

#[test]
fn bad_arguments_fail_clearly() {
    // Needs no root: argument errors come before anything privileged.
    let bin = Phantom::build().unwrap();
    let out = bin
        .command(Mode::OpenRace, &RunOptions::default())
        .arg("--count")
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--count x: not a non-negative integer"));
    let out = bin
        .command(
            Mode::Openat2Uffd,
            &RunOptions {
                target: Some("/nonexistent/x".into()),
                ..RunOptions::count(1)
            },
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--target /nonexistent/x: No such file or directory")
    );
    // A log that is not ours is rejected with file and line.
    let e = phantom::parse_log("{\"record\":\"attempt\",\"mode\":\"symlink\"}\n", "x.jsonl")
        .unwrap_err();
    assert!(
        e.0.starts_with("x.jsonl:1: missing field \"attempt\""),
        "{e}"
    );
}

#[test]
fn self_check_catches_inconsistent_ground_truth() {
    require_root!();
    let bin = Phantom::build().unwrap();
    let Some(good) = run_checked(&bin, Mode::Openat2Uffd, &RunOptions::count(3)) else {
        return;
    };

    let mut log = good.clone();
    log.attempts[1].actual = Actual::Harmless; // outcome no longer matches the inode
    let problems = log.self_check();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("openat2-uffd #1: inode")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("summary")),
        "{problems:?}"
    );

    let mut log = good.clone();
    log.attempts[2].uffd_faults = Some(0); // the swap did not happen in the kernel's copy
    assert!(
        log.self_check()
            .iter()
            .any(|p| p.contains("no userfault served"))
    );

    let mut log = good;
    log.summaries.clear(); // a run cut short
    assert!(
        log.self_check()
            .iter()
            .any(|p| p.contains("attempt without summary"))
    );
}

#[test]
fn check_recorded_judges_rows_like_the_recorder_tests_will() {
    require_root!();
    let bin = Phantom::build().unwrap();
    let Some(log) = run_checked(&bin, Mode::Openat2Uffd, &RunOptions::count(1)) else {
        return;
    };
    let (setup, a) = (log.setup(Mode::Openat2Uffd).unwrap(), &log.attempts[0]);
    let right = phantom::RecordedArg {
        user: Some(&setup.harmless),
        user_err: None,
        kernel: a.actual_value.as_deref(),
        inode: a.actual_inode,
        mismatch: true,
    };
    assert_eq!(a.check_recorded(setup, &right), Vec::<String>::new());
    // A naive recorder: trusts user memory for the kernel value, flags nothing.
    let naive = phantom::RecordedArg {
        kernel: Some(&setup.harmless),
        mismatch: false,
        ..right
    };
    assert_eq!(a.check_recorded(setup, &naive).len(), 2);

    let Some(log) = run_checked(&bin, Mode::OpenRace, &RunOptions::count(50)) else {
        return;
    };
    let setup = log.setup(Mode::OpenRace).unwrap();
    for a in log.attempts(Mode::OpenRace) {
        let mut r = phantom::RecordedArg {
            user: Some(&setup.harmless),
            user_err: None,
            kernel: a.actual_value.as_deref(),
            inode: a.actual_inode,
            mismatch: a.actual == Actual::Target,
        };
        assert_eq!(a.check_recorded(setup, &r), Vec::<String>::new());
        r.mismatch = !r.mismatch;
        assert_eq!(a.check_recorded(setup, &r).len(), 1);
    }
}
