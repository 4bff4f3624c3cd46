//! A recording whose recorder was killed (`kill -9`) is read whole: `query`
//! counts the rows of its checkpoint and spool as `info` does, without
//! changing a file. Needs root; skips with a printed reason otherwise.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/count.rs"]
mod count;
#[path = "support/root.rs"]
mod root;
use count::count_events;
use root::is_root;

fn hindsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

/// `hindsight info --format json` of `rec`: (events, complete, warnings).
fn info(rec: &Path) -> (u64, bool, Vec<String>) {
    let o = hindsight()
        .arg("info")
        .arg(rec)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    (
        v["events"].as_u64().unwrap(),
        v["complete"].as_bool().unwrap(),
        warnings,
    )
}

/// Every file under `dir` with its size, to check that reading changes nothing.
fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            out.extend(files(&entry.path()));
        } else {
            out.push((entry.path().display().to_string(), meta.len()));
        }
    }
    out.sort();
    out
}

/// Rows `info` says it read from the spool (0 without such a warning).
fn spool_rows(warnings: &[String]) -> u64 {
    warnings
        .iter()
        .find_map(|w| {
            let (_, rest) = w.split_once("; read ")?;
            rest.split_once(" rows from its checkpoint and spool")?
                .0
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Records a shell loop into `rec` and kills the recorder (SIGKILL) once it
/// has written for a few seconds: every row is in the checkpoint and spool
/// of its first segment. (The union with committed segments is tested in
/// query/tests/spool.rs.)
fn record_and_kill(rec: &Path) {
    // The loop ends by itself: killing the recorder does not kill it.
    let mut recorder = hindsight()
        .args(["record", "-o"])
        .arg(rec)
        .args([
            "--syscalls",
            "all",
            "--",
            "sh",
            "-c",
            "end=$(($(date +%s) + 15)); while [ $(date +%s) -lt $end ]; do cat /etc/hostname >/dev/null; done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the recorder wrote no rows");
        std::thread::sleep(Duration::from_millis(500));
        if rec.join("manifest.json").exists() && info(rec).0 > 0 {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(2500));
    recorder.kill().unwrap(); // SIGKILL
    recorder.wait().unwrap();
}

#[test]
fn query_reads_the_spool_of_a_killed_recording() {
    if !is_root() {
        eprintln!("skipped query_reads_the_spool_of_a_killed_recording: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A kill right after a segment was committed would leave no row in the
    // spool: record again (not expected with segments of 128 MiB).
    let mut attempt = 0;
    let (rec, events, warnings) = loop {
        attempt += 1;
        let rec = tmp.path().join(format!("rec{attempt}"));
        record_and_kill(&rec);
        let (events, complete, warnings) = info(&rec);
        assert!(!complete);
        if spool_rows(&warnings) > 0 || attempt == 3 {
            break (rec, events, warnings);
        }
    };
    assert!(events > 0);
    assert!(spool_rows(&warnings) > 0, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("hindsight recover")),
        "{warnings:?}"
    );
    let before = files(&rec);

    let (n, stderr) = count_events(&rec);
    assert_eq!(n, events, "query counts what info counts; stderr: {stderr}");
    assert!(
        stderr.contains("checkpoint and spool in memory") && stderr.contains("hindsight recover"),
        "{stderr}"
    );
    assert!(!stderr.contains("not queried"), "{stderr}");

    // No row twice, none missing: seq runs from 0 without a gap.
    let o = hindsight()
        .arg("query")
        .arg(&rec)
        .args([
            "SELECT count(DISTINCT seq) = count(*) AND min(seq) = 0 AND max(seq) + 1 = count(*) \
             AS whole FROM events",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().nth(1),
        Some("true")
    );
    // replay reads them too, and says the recording is incomplete.
    let rules = tmp.path().join("cat.yaml");
    std::fs::write(
        &rules,
        "- rule: cat\n  description: d\n  condition: event_kind = 'process_exec'\n",
    )
    .unwrap();
    let o = hindsight()
        .arg("replay")
        .arg(&rec)
        .arg("--rules")
        .arg(&rules)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("checkpoint and spool in memory"),
        "{stderr}"
    );
    assert_eq!(files(&rec), before, "reading changed the recording");

    // `hindsight recover` makes them a segment: the same count, complete.
    let o = hindsight().arg("recover").arg(&rec).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (after, complete, _) = info(&rec);
    assert!(complete);
    assert_eq!(after, events);
    assert!(!rec.join(".manifest.reserve").exists());
}
