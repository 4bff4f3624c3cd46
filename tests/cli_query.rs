//! `hindsight query` end to end: output formats, exit codes, safety, shell.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

/// A 3000-event recording made once with `hindsight generate`.
fn recording() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hindsight-cli-query-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = bin()
            .args(["generate", "-q", "--events", "3000", "-o"])
            .arg(dir.join("rec"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("rec")
    })
}

fn query(args: &[&str]) -> Output {
    bin()
        .arg("query")
        .arg(recording())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `hindsight query RECORDING` (the shell, or a script, read from stdin)
/// given `input` on stdin.
fn query_with_stdin(input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = bin()
        .arg("query")
        .arg(recording())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

const Q: &str = "SELECT pid, exe FROM processes ORDER BY pid LIMIT 2";

#[test]
fn table_format() {
    let o = query(&[Q]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.starts_with("+-----+"), "{s}");
    assert!(s.contains("| pid | exe "), "{s}");
    assert_eq!(s.lines().count(), 6, "{s}");
}

#[test]
fn csv_format() {
    let o = query(&["-c", Q, "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "pid,exe");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("212,/"), "{s}");
}

#[test]
fn json_and_jsonl_formats() {
    let o = query(&[Q, "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["pid"], 212);

    let o = query(&[Q, "--format", "jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[1]["exe"].as_str().unwrap().starts_with('/'));
    // Null columns keep their key, so every object has the same keys.
    for format in ["json", "jsonl"] {
        let o = query(&["SELECT NULL AS a, 1 AS b", "--format", format]);
        assert!(stdout(&o).contains(r#"{"a":null,"b":1}"#), "{}", stdout(&o));
    }
}

#[test]
fn parquet_format_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.parquet");
    let o = query(&[
        "SELECT time, exe, path FROM files WHERE path LIKE '/etc/%'",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&file).unwrap()[..4], b"PAR1");
    // A saved result is not a segment: it is read as an external table.
    let count = query(&[
        "-c",
        &format!(
            "CREATE EXTERNAL TABLE answer STORED AS PARQUET LOCATION '{}'; \
             SELECT count(*) > 0 AS some FROM answer",
            file.display()
        ),
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&count), "some\ntrue\n", "{}", stderr(&count));
    assert!(count.status.success(), "{}", stderr(&count));
}

#[test]
fn tz_changes_only_the_display() {
    let sql = "SELECT min(time) AS t FROM events";
    let utc = stdout(&query(&[sql, "--format", "csv"]));
    let berlin = stdout(&query(&[sql, "--format", "csv", "--tz", "Europe/Berlin"]));
    assert!(utc.contains("+00:00"), "{utc}");
    assert!(berlin.contains("+01:00"), "{berlin}");
    // SQL still computes in UTC: a time without an offset is UTC, hours are
    // UTC hours; a time with an offset is exact. --help says so.
    let sql = "SELECT count(*) FILTER (WHERE time >= '1970-01-01 00:30:00') AS a, \
               count(*) FILTER (WHERE time >= '1970-01-01T00:30:00+01:00') AS b, \
               min(extract(hour FROM time)) = min(extract(hour FROM time AT TIME ZONE 'UTC')) AS h \
               FROM events";
    let utc = stdout(&query(&[sql, "--format", "csv"]));
    let berlin = stdout(&query(&[sql, "--format", "csv", "--tz", "Europe/Berlin"]));
    assert_eq!(utc, berlin);
    let help = bin().args(["query", "--help"]).output().unwrap();
    assert!(
        stdout(&help).contains("'2026-11-20T09:00:00+01:00'"),
        "{}",
        stdout(&help)
    );
    let bad = query(&[sql, "--tz", "Mars/Olympus"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown time zone"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn max_rows_truncates_with_a_note() {
    let o = query(&[
        "SELECT seq FROM events ORDER BY seq",
        "--format",
        "csv",
        "--max-rows",
        "5",
    ]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 6);
    assert!(stderr(&o).contains("first 5 rows"), "{}", stderr(&o));
}

#[test]
fn bad_sql_exits_2_with_position() {
    let o = query(&["SELECT procss_pid FROM events"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("line 1, column 8"), "{e}");
    assert!(e.contains("did you mean process_pid"), "{e}");

    let o = query(&["SELECT pid FROM processes WHERE"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1, column"), "{}", stderr(&o));

    let o = query(&["SELECT * FROM proceses"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean processes"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_path_exits_2_naming_it() {
    let o = bin()
        .args(["query", "/nonexistent/rec", "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/rec: no such file or directory"),
        "{}",
        stderr(&o)
    );

    let empty = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("query")
        .arg(empty.path())
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no recording here"), "{}", stderr(&o));
}

/// A `file://` PATH is percent-decoded (`rec%20%5Ba%5D` is `rec [a]`); a
/// name with a newline is refused naming it, with exit status 2.
#[test]
fn file_urls_are_decoded_and_unreadable_names_named() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    std::os::unix::fs::symlink(recording(), base.join("rec [a]")).unwrap();
    let url = format!("file://{}/rec%20%5Ba%5D", base.display());
    let o = bin()
        .args(["query", &url, "-c", "SELECT count(*) AS n FROM events"])
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n3000\n");

    let odd = base.join("rec\nx");
    std::fs::create_dir(&odd).unwrap();
    std::fs::create_dir(odd.join("events")).unwrap();
    let o = bin()
        .arg("query")
        .arg(&odd)
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let want = format!(
        "{:?}: cannot be queried: its name \"rec\\nx\" holds the control character '\\n'",
        odd.display().to_string()
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn mistyped_sql_is_not_taken_for_a_path() {
    let o = query(&["SELEC exe FROM processes"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("does not start like SQL") && stderr(&o).contains("-c"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn corrupt_segment_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir_all(rec.join("events")).unwrap();
    for entry in std::fs::read_dir(recording().join("events")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, rec.join("events").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(rec.join("events/part-000099.parquet"), b"PAR1 not really").unwrap();
    let o = bin()
        .arg("query")
        .arg(&rec)
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("part-000099.parquet: corrupt segment"), "{e}");
}

#[test]
fn csv_writes_list_columns_as_text_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("execs.csv");
    let o = query(&[
        "SELECT pid, argv FROM execs ORDER BY pid LIMIT 2",
        "--format",
        "csv",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let second = text.lines().nth(1).unwrap();
    assert!(second.contains(",[") || second.contains(",\"["), "{text}");
    // A failing query leaves no file (and no temporary one) behind.
    let bad = dir.path().join("bad.csv");
    let o = query(&[
        "SELECT CAST('x' AS INT) FROM events",
        "--format",
        "csv",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// A copy of the 3-segment fixture, manifest included.
fn copy_synthetic_small(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recordings/synthetic-small");
    std::fs::create_dir_all(to.join("events")).unwrap();
    std::fs::copy(from.join("manifest.json"), to.join("manifest.json")).unwrap();
    for entry in std::fs::read_dir(from.join("events")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join("events").join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn segments_follow_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_synthetic_small(&rec);
    let count = |rec: &Path| {
        bin()
            .arg("query")
            .arg(rec)
            .args(["SELECT count(*) AS n FROM events", "--format", "csv"])
            .output()
            .unwrap()
    };
    let o = count(&rec);
    assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
    // A stray copy in events/ would count its rows twice: an error naming it.
    let stray = rec.join("events/part-000009.parquet");
    std::fs::copy(rec.join("events/part-000000.parquet"), &stray).unwrap();
    let o = count(&rec);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("part-000009.parquet: not listed in"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(&stray).unwrap();
    // An incomplete recording is queried whole, with a warning that it is
    // incomplete and that `recover` completes it.
    let manifest = rec.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["complete"] = false.into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let o = count(&rec);
    assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the recording is not complete") && stderr(&o).contains("recover"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&manifest, text).unwrap();
    // A listed segment that is gone is an error naming it, not a smaller answer.
    std::fs::remove_file(rec.join("events/part-000000.parquet")).unwrap();
    let o = count(&rec);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("part-000000.parquet: segment listed in"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn damaged_page_names_its_segment() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_synthetic_small(&rec);
    // Footer intact, pages in the middle overwritten.
    let seg = rec.join("events/part-000001.parquet");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    for (i, b) in bytes[at..at + 3000].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(&seg, bytes).unwrap();
    let o = bin()
        .arg("query")
        .arg(&rec)
        .args(["SELECT * FROM events", "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("part-000001.parquet: corrupt segment"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn never_writes_into_a_recording() {
    let before: Vec<_> = std::fs::read_dir(recording().join("events"))
        .unwrap()
        .count()
        .to_string()
        .into();
    let target = recording().join("events/evil.parquet");
    let o = query(&[&format!("COPY (SELECT 1) TO '{}'", target.display())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("COPY is not allowed"), "{}", stderr(&o));
    let o = query(&["SELECT 1", "-o", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("refusing to write"), "{}", stderr(&o));
    assert!(!target.exists());
    let after: Vec<_> = std::fs::read_dir(recording().join("events"))
        .unwrap()
        .count()
        .to_string()
        .into();
    assert_eq!(before, after);
}

/// An error in a script (stdin or `-f`) names the line of the script, and
/// `-f` the file.
#[test]
fn script_errors_name_the_script_line() {
    let script = "SELECT 1;\n\nSELECT\n  nosuch\nFROM events;\n";
    let o = query_with_stdin(script.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--> line 4, column 3"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, script).unwrap();
    let o = query(&["-f", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!("--> {}: line 4, column 3", file.display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn shell_reads_commands_from_stdin() {
    let o = query_with_stdin(b".tables\n.format csv\nSELECT count(*) AS n\n  FROM processes\n  WHERE pid = 581;\n\\d loss\n.quit\n");
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    for want in [
        "| processes ",
        "| process_tree ",
        "| toctou ",
        "n\n1\n",
        "lost_events,UInt64",
    ] {
        assert!(s.contains(want), "missing {want:?} in {s}");
    }
}

#[test]
fn script_file_runs_every_statement() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("q.sql");
    std::fs::write(&script, "CREATE VIEW shells AS SELECT * FROM execs WHERE exe = '/usr/bin/bash';\nSELECT count(*) > 0 AS some FROM shells;\nSELECT 2 AS two;\n").unwrap();
    let o = query(&["-f", script.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Each CSV result has its header, after a blank line (before: one CSV
    // with the second header as a row).
    assert_eq!(stdout(&o), "some\ntrue\n\ntwo\n2\n");
}

#[test]
fn csv_of_an_empty_result_has_its_header() {
    let sql = "SELECT pid, exe FROM processes WHERE pid < 0";
    let o = query(&[sql, "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "pid,exe\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("none.csv");
    let o = query(&[sql, "--format", "csv", "-o", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "pid,exe\n");
}

/// A partition directory named like a column (`host_name=web-1`, `seq=5`)
/// is not a column twice (before: DataFusion's "duplicate qualified field
/// name events.host_name", naming no directory): the column keeps each
/// row's own value, keys above it stay columns, and a warning names it.
#[test]
fn partition_keys_named_like_columns_are_not_added() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_synthetic_small(&tree.join("site=eu/host_name=web-1/date=2026-11-20/rec"));
    copy_synthetic_small(&tree.join("site=us/host_name=db-1/date=2026-11-20/rec"));
    let o = bin()
        .arg("query")
        .arg(&tree)
        .args([
            "SELECT site, count(DISTINCT host_name) AS hosts, count(*) AS n \
             FROM events GROUP BY site ORDER BY site",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        "site,hosts,n\neu,1,20000\nus,1,20000\n",
        "{}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("/host_name=") && err.contains("column host_name") && err.contains("(date)"),
        "{err}"
    );
    let seq = dir.path().join("seq");
    copy_synthetic_small(&seq.join("seq=5/rec"));
    let o = bin()
        .arg("query")
        .arg(&seq)
        .args([
            "SELECT count(*) AS n, min(seq) >= 0 AS own FROM events",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "n,own\n20000,true\n", "{}", stderr(&o));
}

/// A recording inside another recording's directory (`record -o rec/inner`)
/// is not part of the outer one: its rows are not counted in it (before:
/// `query rec` counted both, while `info` and `replay` read the outer
/// only), a warning names it, and it is queried by naming it.
#[test]
fn a_recording_inside_a_recording_is_not_read_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_synthetic_small(&rec);
    copy_synthetic_small(&rec.join("inner"));
    let count = |path: &Path| {
        bin()
            .arg("query")
            .arg(path)
            .args(["SELECT count(*) AS n FROM events", "--format", "csv"])
            .output()
            .unwrap()
    };
    let o = count(&rec);
    assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rec/inner: a recording inside the recording"),
        "{}",
        stderr(&o)
    );
    let o = count(&rec.join("inner"));
    assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
    // In a tree, the outer recording is one recording, as `info` lists it.
    let o = count(dir.path());
    assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
}

/// An unterminated string is a readable message with its position (before:
/// `TokenizerError("Unterminated string literal …` in Debug form).
#[test]
fn unterminated_string_is_readable() {
    let o = query(&["SELECT 'abc FROM events"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: SQL error: Unterminated string literal")
            && !err.contains("TokenizerError")
            && err.contains("--> line 1, column 8")
            && err.contains("hint: "),
        "{err}"
    );
}

/// SQL that starts with a comment is SQL, as an argument, after `--` and
/// with -c (before: "does not start like SQL", or clap's "unexpected
/// argument"); other statements are SQL too (TRUNCATE was "no such file").
#[test]
fn sql_starting_with_a_comment_or_any_statement_is_sql() {
    let o = query(&["/* why */ SELECT 1 AS one", "--format", "csv"]);
    assert_eq!(stdout(&o), "one\n1\n", "{}", stderr(&o));
    let o = query(&["--format", "csv", "--", "-- why\nSELECT 1 AS one"]);
    assert_eq!(stdout(&o), "one\n1\n", "{}", stderr(&o));
    let o = query(&["--format", "csv", "-c", "-- why\nSELECT 1 AS one"]);
    assert_eq!(stdout(&o), "one\n1\n", "{}", stderr(&o));
    let o = query(&["TRUNCATE events"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("no such file"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("TRUNCATE is not allowed"),
        "{}",
        stderr(&o)
    );
}

/// A pid beyond the pid range is "out of range", not "must be an integer".
#[test]
fn pid_out_of_range_says_so() {
    let o = query(&["SELECT * FROM descendants(99999999999)"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("out of range") && !err.contains("must be an integer"),
        "{err}"
    );
    let o = query(&["SELECT * FROM descendants('x')"]);
    assert!(stderr(&o).contains("must be an integer"), "{}", stderr(&o));
}

/// The shell's `.format` lists the formats it takes (before: parquet too,
/// which it then refused).
#[test]
fn shell_format_lists_only_its_formats() {
    let o = query_with_stdin(b".format xml\n.quit\n");
    let err = stderr(&o);
    assert!(
        err.contains("table, csv, json, jsonl") && !err.contains("parquet"),
        "{err}"
    );
}

/// A shell script's CSV results are separated by a blank line, as with -f
/// (before: one CSV, the second header a row of the first).
#[test]
fn shell_script_separates_csv_results() {
    let o = query_with_stdin(b".format csv\nSELECT 1 AS a;\nSELECT 2 AS b;\n");
    assert_eq!(stdout(&o), "a\n1\n\nb\n2\n", "{}", stderr(&o));
}

/// A segment whose size is not the one its manifest records (a file of
/// another recording copied over it, a truncated one) is refused, naming
/// it, as `info` refuses it: its rows are not the recording's.
#[test]
fn a_segment_of_another_size_than_its_manifest_says_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_synthetic_small(&rec);
    let other = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/recordings/fleet/host=db-1/date=2026-11-20/rec/events/part-000000.parquet");
    std::fs::copy(other, rec.join("events/part-000001.parquet")).unwrap();
    let o = bin()
        .arg("query")
        .arg(&rec)
        .arg("SELECT host_name, count(*) FROM events GROUP BY 1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("part-000001.parquet: segment is truncated or was changed")
            && stderr(&o).contains("bytes"),
        "{}",
        stderr(&o)
    );
}

/// Parquet files in a directory below a recording's `events/` (a backup
/// copy) are no segments of it: not counted.
#[test]
fn parquet_files_below_events_are_not_segments() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    copy_synthetic_small(&rec);
    let backup = rec.join("events/backup");
    std::fs::create_dir(&backup).unwrap();
    std::fs::copy(
        rec.join("events/part-000000.parquet"),
        backup.join("part-000000.parquet"),
    )
    .unwrap();
    for path in [rec.clone(), dir.path().to_path_buf()] {
        let o = bin()
            .arg("query")
            .arg(&path)
            .args(["SELECT count(*) AS n FROM events", "--format", "csv"])
            .output()
            .unwrap();
        assert_eq!(stdout(&o), "n\n20000\n", "{}", stderr(&o));
    }
}

/// Control characters in strings (a file named with an escape sequence)
/// print visibly escaped in tables, in the header too, and in the shell;
/// CSV keeps the bytes; JSON escapes them.
#[test]
fn control_characters_are_escaped_in_tables() {
    let sql = "SELECT concat('/tmp/', chr(27), '[2J', chr(10), chr(9), chr(127), chr(155), 'x') \
               AS \"p\u{1b}[1m\"";
    let o = query(&[sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        !s.bytes().any(|b| b == 0x1b || b == 0x7f)
            && !s.contains('\u{9b}')
            && s.contains(r"/tmp/\x1b[2J\n\t\x7f\u{9b}x")
            && s.contains(r"p\x1b[1m"),
        "{s}"
    );
    // An EXPLAIN plan keeps its lines.
    let o = query(&["EXPLAIN SELECT count(*) FROM events"]);
    assert!(stdout(&o).contains("|   Aggregate: "), "{}", stdout(&o));
    let o = query(&[sql, "--format", "csv"]);
    assert!(
        stdout(&o).contains("/tmp/\u{1b}[2J\n\t\u{7f}\u{9b}x"),
        "{}",
        stdout(&o)
    );
    let o = query_with_stdin(format!(".format table\n{sql};\n").as_bytes());
    let s = stdout(&o);
    assert!(
        !s.bytes().any(|b| b == 0x1b) && s.contains(r"/tmp/\x1b[2J"),
        "{s}{}",
        stderr(&o)
    );
}

/// Columns of the same name from two relations (a self-join) are named
/// with their relation (`p.exe`, `c.exe`) in every format: JSON objects had
/// the key twice, and the Parquet file could not be read back.
#[test]
fn columns_of_the_same_name_are_qualified() {
    let join = "SELECT p.exe, c.exe FROM processes c JOIN processes p \
                ON c.parent_pid = p.pid AND c.boot_id = p.boot_id ORDER BY 1, 2 LIMIT 1";
    let o = query(&[join, "--format", "jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let row: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["c.exe", "p.exe"], "{}", stdout(&o));
    let o = query(&[
        "SELECT * FROM (SELECT 1 AS a) x CROSS JOIN (SELECT 2 AS a) y",
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&o), "x.a,y.a\n1,2\n", "{}", stderr(&o));
    let o = query(&["SELECT * FROM (SELECT 1 AS a) x CROSS JOIN (SELECT 2 AS a) y"]);
    assert!(stdout(&o).contains("| x.a | y.a |"), "{}", stdout(&o));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.parquet");
    let o = query(&[join, "--format", "parquet", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = format!(
        "CREATE EXTERNAL TABLE answer STORED AS PARQUET LOCATION '{}'; SELECT * FROM answer",
        out.display()
    );
    let o = query(&["-c", &back, "--format", "csv"]);
    assert!(
        o.status.success() && stdout(&o).starts_with("p.exe,c.exe\n"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
}

/// The shell prints to the terminal: `-o FILE` and `--format parquet`
/// without SQL are refused, not silently ignored.
#[test]
fn shell_refuses_output_file_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("answer.csv");
    let cases: [&[&str]; 2] = [&["-o", out.to_str().unwrap()], &["--format", "parquet"]];
    for args in cases {
        // At a terminal (through script(1), when there is one) and with
        // nothing on standard input.
        let mut runs = vec![
            bin()
                .arg("query")
                .arg(recording())
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap(),
        ];
        if Path::new("/usr/bin/script").exists() {
            let cmd = format!(
                "timeout 20 {} query {} {} </dev/tty",
                env!("CARGO_BIN_EXE_hindsight"),
                recording().display(),
                args.join(" ")
            );
            runs.push(
                Command::new("/usr/bin/script")
                    .args(["-qec", &cmd, "/dev/null"])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap(),
            );
        }
        for o in runs {
            let all = format!("{}{}", stdout(&o), stderr(&o));
            assert_ne!(o.status.code(), Some(0), "{args:?}: {all}");
            assert!(
                all.contains("the shell prints to the terminal"),
                "{args:?}: {all}"
            );
        }
        assert!(!out.exists());
    }
}

/// CSV tells NULL (an empty field) from '' (`""`), and writes lists as
/// JSON arrays, so `['a', 'b, c']` and `['a', 'b', 'c']` differ.
#[test]
fn csv_tells_null_from_empty_and_writes_lists_as_json() {
    let o = query(&[
        "SELECT CAST(NULL AS VARCHAR) AS n, '' AS e, 'x,\"y\"' AS q, 1.5 AS f, \
         make_array('a', 'b, c') AS l1, make_array('a', 'b', 'c') AS l2, \
         make_array('a', NULL) AS l3, CAST(NULL AS VARCHAR[]) AS l4, \
         min(time) AS t FROM events",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let row = s.lines().nth(1).unwrap();
    let (row, time) = row.rsplit_once(',').unwrap();
    assert_eq!(
        row, r#","","x,""y""",1.5,"[""a"",""b, c""]","[""a"",""b"",""c""]","[""a"",null]","#,
        "{s}"
    );
    assert!(s.starts_with("n,e,q,f,l1,l2,l3,l4,t\n"), "{s}");
    assert!(time.starts_with("20") && time.ends_with("+00:00"), "{s}");
}
