//! Every command that reads or writes a recording takes its path as `query`
//! does: a plain path, or a percent-encoded `file://` URL (`query` alone
//! took URLs; `info file:///...` said "no such directory"). Each command is
//! checked on a recording whose name needs encoding (`rec [a]`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/root.rs"]
mod root;

fn hindsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the small synthetic fixture in `dir/rec [a]`, its path and its
/// `file://` URL.
fn recording(dir: &Path) -> (PathBuf, String) {
    let rec = dir.join("rec [a]");
    let o = Command::new("cp")
        .arg("-r")
        .arg("fixtures/recordings/synthetic-small")
        .arg(&rec)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let url = format!("file://{}/rec%20%5Ba%5D", dir.display());
    (rec, url)
}

/// The same stdout and exit status for the path and the URL.
fn same(path_args: &[&str], url_args: &[&str]) -> Output {
    let by_path = hindsight(path_args);
    let by_url = hindsight(url_args);
    assert_eq!(
        by_url.status.code(),
        by_path.status.code(),
        "{url_args:?}: {}",
        text(&by_url.stderr)
    );
    assert_eq!(text(&by_url.stdout), text(&by_path.stdout), "{url_args:?}");
    by_url
}

#[test]
fn info_takes_a_file_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, url) = recording(tmp.path());
    let rec = rec.to_str().unwrap();
    let o = same(
        &["info", "--format", "json", rec],
        &["info", "--format", "json", &url],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("rec [a]"));
}

/// A rule that fires on the fixture, written next to it.
fn rules(dir: &Path) -> String {
    let rules = dir.join("exec.yaml");
    std::fs::write(
        &rules,
        "- rule: exec\n  description: d\n  condition: event_kind = 'process_exec'\n",
    )
    .unwrap();
    rules.to_str().unwrap().to_string()
}

#[test]
fn replay_takes_a_file_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, url) = recording(tmp.path());
    let rules = rules(tmp.path());
    let rec = rec.to_str().unwrap();
    let o = same(
        &["replay", rec, "--rules", &rules, "--format", "jsonl"],
        &["replay", &url, "--rules", &rules, "--format", "jsonl"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

#[test]
fn diff_takes_a_file_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, url) = recording(tmp.path());
    let rules = rules(tmp.path());
    let none = tmp.path().join("none.yaml");
    std::fs::write(
        &none,
        "- rule: exec\n  description: d\n  condition: event_kind = 'process_exec' and proc_pid = -1\n",
    )
    .unwrap();
    let none = none.to_str().unwrap();
    let rec = rec.to_str().unwrap();
    let o = same(
        &[
            "diff", rec, "--old", none, "--new", &rules, "--format", "json",
        ],
        &[
            "diff", &url, "--old", none, "--new", &rules, "--format", "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

#[test]
fn recover_takes_a_file_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, url) = recording(tmp.path());
    let o = hindsight(&["recover", &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("rec [a]: complete"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn generate_writes_to_a_file_url() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/gen%20%5Bb%5D", tmp.path().display());
    let o = hindsight(&["generate", "-o", &url, "--events", "1000"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(tmp.path().join("gen [b]/manifest.json").is_file());
}

#[test]
fn record_writes_to_a_file_url() {
    if !root::is_root() {
        eprintln!("skipped record_writes_to_a_file_url: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/rec%20%5Bc%5D", tmp.path().display());
    let o = hindsight(&["record", "-o", &url, "--", "true"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(tmp.path().join("rec [c]/manifest.json").is_file());
}

/// What `query` refuses in a URL, the others refuse too, as a usage error;
/// an s3:// URL, which only `query` reads, is named as such.
#[test]
fn urls_query_refuses_or_only_query_reads_are_refused() {
    for (args, want) in [
        (vec!["info", "file:///tmp/rec?x"], "%3F"),
        (
            vec!["recover", "file://otherhost/rec"],
            "not a local file URL",
        ),
        (
            vec!["replay", "s3://bucket/rec", "--rules", "x.yaml"],
            "only `hindsight query` reads s3://",
        ),
    ] {
        let o = hindsight(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {want} in {err}");
    }
}
