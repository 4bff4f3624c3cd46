//! `hindsight info`, `generate` and `recover` end to end: output, exit codes,
//! JSON, errors naming the file.

use std::path::Path;
use std::process::{Command, Output};

#[path = "support/root.rs"]
mod root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn generate(dir: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args(["generate", "-o"]).arg(dir).args(extra);
    c.output().unwrap()
}

#[test]
fn info_text_and_json_agree_with_the_manifest() {
    let o = run(&["info", "fixtures/recordings/synthetic-small"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("host:              web-1"), "{out}");
    assert!(out.contains("events:            20000"), "{out}");
    assert!(out.contains("status:            complete"), "{out}");

    let o = run(&[
        "info",
        "--format",
        "json",
        "fixtures/recordings/synthetic-small",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["events"], 20000);
    let kinds: u64 = v["event_kinds"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(kinds, 20000);
    assert!(v["syscalls"]["openat"].as_u64().unwrap() > 5000);
    assert!(v["loss_rows"].as_u64().unwrap() >= 1);
    assert_eq!(v["lost_events"], v["lost_by_cause"]["ringbuf_full"]);
    assert!(v["toctou_mismatches"].as_u64().unwrap() >= 1);
    assert!(v["toctou_unreadable"].as_u64().unwrap() <= v["toctou_mismatches"].as_u64().unwrap());
    assert_eq!(v["segments"], 3);
    assert!(v["compression_ratio"].as_f64().unwrap() > 2.0);
    assert_eq!(v["complete"], true);
}

#[test]
fn info_on_a_tree_prints_one_json_line_per_recording() {
    let o = run(&["info", "--format", "json", "fixtures/recordings/fleet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let array: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let hosts: Vec<&str> = array
        .as_array()
        .expect("a tree gives a JSON array")
        .iter()
        .map(|v| v["host_name"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["db-1", "web-1"]);

    let o = run(&[
        "info",
        "--format",
        "jsonl",
        "--verify",
        "fixtures/recordings/fleet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hosts: Vec<&str> = lines
        .iter()
        .map(|v| v["host_name"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["db-1", "web-1"]);
}

#[test]
fn info_errors_exit_2_and_name_the_file() {
    let o = run(&["info", "fixtures/recordings/does-not-exist"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("fixtures/recordings/does-not-exist: no such directory"),
        "{}",
        text(&o.stderr)
    );

    let tmp = tempfile::tempdir().unwrap();
    let o = bin().arg("info").arg(tmp.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no recording here"),
        "{}",
        text(&o.stderr)
    );

    // A corrupted segment is named with --verify.
    let dir = tmp.path().join("rec");
    assert!(generate(&dir, &["-q", "--events", "2000"]).status.success());
    let seg = dir.join("events/part-000000.parquet");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 0x55;
    std::fs::write(&seg, bytes).unwrap();
    let o = bin().args(["info", "--verify"]).arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("part-000000.parquet") && err.contains("sha256 mismatch"),
        "{err}"
    );
}

#[test]
fn generate_is_deterministic_and_validates_options() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&a, &b] {
        let o = generate(
            d,
            &["--events", "5000", "--seed", "9", "--segment-rows", "2000"],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("wrote 5000 events in 3 segment(s)"),
            "{}",
            text(&o.stderr)
        );
    }
    for f in [
        "manifest.json",
        "events/part-000000.parquet",
        "events/part-000002.parquet",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    // Existing recording: refused, nothing overwritten.
    let before = std::fs::read(a.join("manifest.json")).unwrap();
    let o = generate(&a, &["-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already holds a recording"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(a.join("manifest.json")).unwrap(), before);
    // Bad time.
    let o = generate(&tmp.path().join("c"), &["--start", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--start"), "{}", text(&o.stderr));
}

#[test]
fn recover_salvages_a_killed_recording() {
    use hindsight_format::generate::{Generator, GeneratorConfig};
    use hindsight_format::{Manifest, RecordingWriter, WriterOptions};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let events = Generator::new(GeneratorConfig {
        events: 3000,
        ..Default::default()
    })
    .next_batch(3000);
    let mut w =
        RecordingWriter::create(&dir, Manifest::default(), WriterOptions::default()).unwrap();
    w.append(&events).unwrap();
    w.flush().unwrap();
    w.abandon(); // as if killed

    let o = bin()
        .args(["info", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["events"], 3000, "spool rows are read in memory");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("hindsight recover")
    );

    let o = bin().arg("recover").arg(&dir).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("recovered, 3000 events") && out.contains("3000 rows salvaged"),
        "{out}"
    );

    let o = bin().arg("recover").arg(&dir).output().unwrap();
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains("complete, nothing to recover (3000 events)"),
        "{}",
        text(&o.stdout)
    );

    for args in [["recover", "--format", "json"], ["recover", "--json", "--"]] {
        let o = bin().args(args).arg(&dir).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["rows"], 3000, "{v}");
    }

    let o = bin().args(["info"]).arg(&dir).output().unwrap();
    assert!(
        text(&o.stdout).contains("complete (recovered after a crash)"),
        "{}",
        text(&o.stdout)
    );

    // A path that is not a directory says so, as `info` does; a directory
    // that is not a recording lacks its manifest (`info` looks for
    // recordings below it). Each exits 2.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, message, cmds) in [
        (
            tmp.path().join("nothing"),
            "no such directory",
            &["recover", "info"][..],
        ),
        (file, "not a directory", &["recover", "info"]),
        (
            empty,
            "missing manifest.json: not a Hindsight recording",
            &["recover"],
        ),
    ] {
        for cmd in cmds {
            let o = bin().arg(cmd).arg(&path).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{cmd} {}", path.display());
            assert_eq!(
                text(&o.stderr),
                format!("error: {}: {message}\n", path.display()),
                "{cmd}"
            );
        }
    }
}

#[test]
fn recover_names_a_damaged_segment_of_a_complete_recording_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    assert!(generate(&dir, &["--events", "3000"]).status.success());
    let seg = dir.join("events/part-000000.parquet");
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..bytes.len() / 2]).unwrap();
    let o = bin().arg("recover").arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o.stdout);
    assert!(!out.contains("recovered"), "{out}");
    assert!(out.contains("segments are damaged"), "{out}");
    let err = text(&o.stderr);
    assert_eq!(err.matches("part-000000.parquet").count(), 1, "{err}");
}

/// `record -- CMD` whose CMD is not found fails with exit 127 and leaves no
/// recording, so the same directory can be used again. Needs root.
#[test]
fn record_of_a_command_that_cannot_run_leaves_nothing() {
    if !root::is_root() {
        eprintln!("skipped: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let o = bin()
        .args(["record", "-o"])
        .arg(&dir)
        .args(["--", "/nonexistent/command"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(127));
    let err = text(&o.stderr);
    assert_eq!(err.matches("cannot run").count(), 1, "{err}");
    assert!(!dir.exists(), "{:?}", std::fs::read_dir(&dir).ok());
}

/// `recover` on a recording whose writer is still running refuses, names the
/// reason and changes nothing; the writer goes on and finishes every row.
/// (It used to take the writer's temporary segment away: the recorder then
/// failed and the rows after that moment were lost.)
#[test]
fn recover_refuses_a_recording_still_being_written() {
    use hindsight_format::generate::{Generator, GeneratorConfig};
    use hindsight_format::{Manifest, RecordingWriter, WriterOptions};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let events = Generator::new(GeneratorConfig {
        events: 3000,
        ..Default::default()
    })
    .next_batch(3000);
    let mut w =
        RecordingWriter::create(&dir, Manifest::default(), WriterOptions::default()).unwrap();
    w.append(&events[..1500]).unwrap();
    w.flush().unwrap();
    let o = bin().arg("recover").arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("still writing") && err.contains(&dir.display().to_string()),
        "{err}"
    );
    w.append(&events[1500..]).unwrap();
    let manifest = w.finish().unwrap();
    assert!(manifest.complete);
    assert_eq!(manifest.rows(), 3000);
    let o = bin().arg("recover").arg(&dir).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}
