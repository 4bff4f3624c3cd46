//! `hindsight query` safety and scripts: `-o` never lands in a recording,
//! SQL on a pipe is a script with every option, scripts are planned whole,
//! a Parquet file that is not a segment is named.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const INTRUSION: &str = "fixtures/recordings/intrusion";

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn query(args: &[&str]) -> Output {
    bin().arg("query").args(args).output().unwrap()
}

/// `hindsight query ARGS < stdin`.
fn query_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = bin()
        .arg("query")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the intrusion fixture in a temporary directory.
fn copy_intrusion(to: &Path) {
    std::fs::create_dir_all(to.join("events")).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(INTRUSION);
    std::fs::copy(from.join("manifest.json"), to.join("manifest.json")).unwrap();
    for entry in std::fs::read_dir(from.join("events")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("events").join(entry.file_name())).unwrap();
    }
}

#[test]
fn output_never_replaces_an_input_or_lands_in_any_recording() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_intrusion(&rec);
    let segment = rec.join("events/part-000000.parquet");
    let size = std::fs::metadata(&segment).unwrap().len();
    let manifest = std::fs::read(rec.join("manifest.json")).unwrap();
    let seg = segment.to_str().unwrap();
    // The segment queried on its own, written over itself.
    let o = query(&[seg, "SELECT 1 AS x", "--format", "csv", "-o", seg]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("which it reads"),
        "{}",
        text(&o.stderr)
    );
    // Another recording's manifest and events/, not named on the command line.
    for target in [rec.join("manifest.json"), rec.join("events/new.csv")] {
        let o = query(&[INTRUSION, "SELECT 1", "-o", target.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("inside the recording"),
            "{}",
            text(&o.stderr)
        );
    }
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), size);
    assert_eq!(std::fs::read(rec.join("manifest.json")).unwrap(), manifest);
    assert!(!rec.join("events/new.csv").exists());
    // Next to the recording is fine.
    let beside = dir.path().join("answer.csv");
    let o = query(&[
        INTRUSION,
        "SELECT 1 AS x",
        "--format",
        "csv",
        "-o",
        beside.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(beside).unwrap(), "x\n1\n");
}

#[test]
fn max_rows_beyond_any_result_means_all() {
    let o = query(&[
        INTRUSION,
        "SELECT 1 AS x",
        "--format",
        "csv",
        "--max-rows",
        "18446744073709551615",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "x\n1\n");
    let o = query_stdin(
        &[INTRUSION],
        ".format csv\n.maxrows 18446744073709551615\nSELECT 1 AS x;\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "x\n1\n");
}

#[test]
fn sql_on_a_pipe_is_a_script_with_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.csv");
    let o = query_stdin(
        &[INTRUSION, "--format", "csv", "-o", out.to_str().unwrap()],
        "SELECT 1 AS a;\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a\n1\n");
    // All rows for the formats other than table, as with -c.
    let piped = query_stdin(
        &[INTRUSION, "--format", "jsonl"],
        "SELECT seq FROM events;\n",
    );
    let given = query(&[INTRUSION, "SELECT seq FROM events", "--format", "jsonl"]);
    assert!(piped.status.success() && given.status.success());
    assert!(text(&given.stdout).lines().count() > 1000);
    assert_eq!(piped.stdout, given.stdout);
    // The table's cut names the option of the way it was run.
    let o = query_stdin(&[INTRUSION], ".maxrows 2\nSELECT seq FROM events;\n");
    assert!(
        text(&o.stderr).contains("showing the first 2 rows; .maxrows N"),
        "{}",
        text(&o.stderr)
    );
    // Shell commands print to stdout: -o is refused, nothing written.
    let o = query_stdin(
        &[INTRUSION, "-o", dir.path().join("b.csv").to_str().unwrap()],
        ".format csv\nSELECT 1;\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("shell commands"),
        "{}",
        text(&o.stderr)
    );
    assert!(!dir.path().join("b.csv").exists());
}

#[test]
fn scripts_are_planned_whole_and_name_the_failing_statement() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.sql");
    std::fs::write(&one, "SELECT 2 AS b;\n").unwrap();
    let one = one.to_str().unwrap();
    // Two results cannot share one Parquet file: refused, no file.
    let pq = dir.path().join("two.parquet");
    let o = query(&[
        INTRUSION,
        "-c",
        "SELECT 1 AS a",
        "-f",
        one,
        "--format",
        "parquet",
        "-o",
        pq.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("writes one result"),
        "{}",
        text(&o.stderr)
    );
    assert!(!pq.exists());
    // SQL as an argument runs before the script.
    let o = query(&[INTRUSION, "-f", one, "SELECT 9 AS a", "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "a\n9\n\nb\n2\n");
    // A mistake in the last statement: nothing printed before the error.
    let s = dir.path().join("s.sql");
    std::fs::write(&s, "SELECT 1 AS a;\nSELECT nosuch FROM events;\n").unwrap();
    let o = query(&[INTRUSION, "-f", s.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stdout), "");
    // An error while running names the statement and the script.
    std::fs::write(&s, "SELECT 1 AS a;\nSELECT 2 AS b;\nSELECT 1/0 AS c;\n").unwrap();
    let o = query(&[INTRUSION, "-f", s.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!("running statement 3 of {}", s.display());
    assert!(text(&o.stderr).contains(&want), "{}", text(&o.stderr));
}

#[test]
fn errors_mentioning_parquet_do_not_start_a_segment_hunt() {
    let o = query(&[INTRUSION, "SELECT * FROM parquet_stuff"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("parquet_stuff"), "{err}");
    assert!(!err.contains("reading every segment"), "{err}");
}

#[test]
fn a_parquet_file_of_other_data_is_not_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    // A query result saved as Parquet has columns, but not the events schema.
    let file = dir.path().join("answer.parquet");
    let o = query(&[
        INTRUSION,
        "SELECT pid, exe FROM execs",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = query(&[file.to_str().unwrap(), "SELECT count(*) FROM events"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("not a Hindsight segment"), "{err}");
    assert!(err.contains("CREATE EXTERNAL TABLE"), "{err}");
}

#[test]
fn a_damaged_manifest_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_intrusion(&rec);
    std::fs::write(rec.join("manifest.json"), "{bad").unwrap();
    let o = query(&[rec.to_str().unwrap(), "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    let name = rec.join("manifest.json").display().to_string();
    assert_eq!(err.matches(&name).count(), 1, "{err}");
}

#[test]
fn record_refuses_a_ring_smaller_than_two_segments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    for bad in [vec!["--max-size", "1K"], vec!["--segment-duration", "0s"]] {
        let o = bin()
            .args(["record", "-o", out.to_str().unwrap()])
            .args(&bad)
            .args(["--", "true"])
            .output()
            .unwrap();
        // 125: the recorder's own failure, with a command (as timeout(1)).
        assert_eq!(o.status.code(), Some(125), "{bad:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(bad[0]), "{}", text(&o.stderr));
        assert!(!out.exists());
    }
}
