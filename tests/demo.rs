//! `hindsight demo` end to end: the no-root path on the committed fixture,
//! and (as root) the real recording of the intrusion scenario.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hindsight() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    cmd.current_dir(repo())
        .env("NO_COLOR", "1")
        .env("TZ", "UTC");
    cmd
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn demo_on_the_committed_recording_shows_every_section() {
    let out = hindsight()
        .args(["demo", "--no-record"])
        .output()
        .expect("run hindsight demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    for needle in [
        // The sections, in order.
        "1. What was recorded",
        "2. Forensic questions, in SQL",
        "3. The Phantom Attack",
        "4. Rules that fired",
        "5. The processes involved, as a tree",
        "6. What enforcement would have blocked",
        "Next (the recording stays in fixtures/recordings/intrusion)",
        // What they must show.
        "$ hindsight info fixtures/recordings/intrusion",
        "status:            complete",
        "| /dev/shm/hindsight-demo-true |",
        "harmless.txt | /etc/shadow",
        "Reverse shell [seq",
        "TOCTOU path mismatch [seq",
        "Read sensitive file untrusted [seq",
        "◀ Reverse shell",
        "Enforcement (simulated):",
        "Events that would not have happened:",
    ] {
        assert!(
            stdout.contains(needle),
            "the demo output lacks {needle:?}:\n{stdout}"
        );
    }
    // Readable in a minute: long answers are cut.
    assert!(
        stdout.lines().count() < 200,
        "the demo printed {} lines",
        stdout.lines().count()
    );
    assert!(!stdout.contains('\x1b'), "NO_COLOR is ignored");
    // The walkthrough shows the process tree as the demo draws it on this
    // recording (a `text` block: not run by tests/book.rs, so checked here).
    let book = std::fs::read_to_string(repo().join("book/src/walkthrough.md")).unwrap();
    let tree = book
        .split("```text\n")
        .find(|b| b.starts_with("bash fixtures/scenarios/intrusion/run.sh"))
        .and_then(|b| b.split("```").next())
        .expect("the walkthrough's process tree");
    assert!(
        stdout.contains(tree),
        "book/src/walkthrough.md's process tree is not what the demo draws:\n{tree}\ndemo:\n{stdout}"
    );
    // The rules' notes come once, although the rules are replayed twice.
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
    assert!(!notes.is_empty(), "no cannot-fire notes:\n{stderr}");
    let mut unique = notes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(notes.len(), unique.len(), "notes repeated:\n{stderr}");
}

#[test]
fn recording_the_intrusion_scenario_catches_the_phantom_attack() {
    if !is_root() {
        eprintln!("skipped: recording the intrusion scenario needs root (eBPF)");
        return;
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("skipped: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let phantom = tmp.path().join("phantom");
    let built = Command::new("bash")
        .arg(repo().join("fixtures/phantom/build.sh"))
        .arg(&phantom)
        .status()
        .expect("run fixtures/phantom/build.sh");
    assert!(built.success(), "building the phantom reproducer failed");
    let rec = tmp.path().join("rec");
    let out = hindsight()
        .arg("record")
        .arg("-o")
        .arg(&rec)
        .args(["--", "bash", "fixtures/scenarios/intrusion/run.sh"])
        .env("HINDSIGHT_PHANTOM", &phantom)
        .output()
        .expect("run hindsight record");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "record failed:\n{stderr}");
    assert!(
        !stderr.contains("phantom step skipped"),
        "the phantom step did not run:\n{stderr}"
    );

    let out = hindsight()
        .arg("query")
        .arg(&rec)
        .args([
            "--format",
            "jsonl",
            "-c",
            "SELECT syscall, file_path, file_path_user, toctou_mismatch FROM events \
             WHERE syscall = 'openat2' AND ret >= 0 ORDER BY seq",
        ])
        .output()
        .expect("run hindsight query");
    assert!(
        out.status.success(),
        "query failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let phantom_rows: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            r["file_path_user"]
                .as_str()
                .is_some_and(|p| p.ends_with("/harmless.txt"))
        })
        .collect();
    assert_eq!(phantom_rows.len(), 1, "openat2 rows: {rows:#?}");
    let row = phantom_rows[0];
    assert_eq!(row["file_path"], "/etc/shadow", "{row}");
    assert_eq!(row["toctou_mismatch"], true, "{row}");
}
