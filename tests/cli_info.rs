//! `hindsight info` end to end: warnings on stderr, trees with a bad
//! recording, stray segments, a PATH that is a file.

use std::path::Path;
use std::process::{Command, Output};

fn info(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("info")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

/// Sets the manifest's `complete` of the recording `rec`.
fn set_complete(rec: &Path, complete: bool) {
    let manifest = rec.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["complete"] = complete.into();
    std::fs::write(&manifest, m.to_string()).unwrap();
}

/// The "not complete" warning is on stderr, as `query` and `replay` give it
/// (before: in the text report on stdout); stdout stays the report, and
/// JSON keeps it in `warnings`.
#[test]
fn warnings_go_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    copy_synthetic_small(&rec);
    set_complete(&rec, false);
    let o = info(&[], &rec);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("warning"), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("INCOMPLETE"),
        "{}",
        text(&o.stdout)
    );
    let err = text(&o.stderr);
    assert!(
        err.starts_with("warning: ") && err.contains("not complete"),
        "{err}"
    );
    for format in ["json", "jsonl"] {
        let o = info(&["--format", format], &rec);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["warnings"][0].as_str().unwrap().contains("not complete"));
        assert!(text(&o.stderr).contains("not complete"), "{format}");
    }
}

/// A tree with a bad recording reports the good ones on stdout, each bad
/// one on stderr naming it, and exits 2 at the end (before: it stopped at
/// the first bad one and printed nothing for the others).
#[test]
fn a_bad_recording_in_a_tree_does_not_hide_the_good_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("fleet");
    copy_synthetic_small(&tree.join("host=a/rec"));
    copy_synthetic_small(&tree.join("host=b/rec"));
    copy_synthetic_small(&tree.join("host=c/rec"));
    std::fs::write(tree.join("host=b/rec/manifest.json"), "{ not json").unwrap();
    std::fs::remove_file(tree.join("host=c/rec/events/part-000001.parquet")).unwrap();
    let o = info(&[], &tree);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(out.contains("host=a/rec"), "{out}");
    assert_eq!(out.matches("recording:").count(), 1, "{out}");
    let err = text(&o.stderr);
    assert!(
        err.contains("host=b/rec/manifest.json") && err.contains("host=c/rec/events/part-000001"),
        "{err}"
    );
    let o = info(&["--format", "json"], &tree);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
}

/// A segment file that the manifest of a complete recording does not list
/// is not part of it: `info` says so (a warning), `info --verify` fails
/// naming it, as `query` refuses such a recording (before: both silent).
#[test]
fn a_stray_segment_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    copy_synthetic_small(&rec);
    std::fs::copy(
        rec.join("events/part-000000.parquet"),
        rec.join("events/part-000009.parquet"),
    )
    .unwrap();
    let o = info(&[], &rec);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("events:            20000"));
    let err = text(&o.stderr);
    assert!(
        err.contains("part-000009.parquet: not listed in") && err.starts_with("warning: "),
        "{err}"
    );
    let o = info(&["--verify"], &rec);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("part-000009.parquet: not listed in") && err.starts_with("error: "),
        "{err}"
    );
}

/// A PATH that is a file is "not a directory" (before: "no such directory").
#[test]
fn a_file_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("passwd");
    std::fs::write(&file, "root:x:0:0::/root:/bin/sh\n").unwrap();
    let o = info(&[], &file);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("passwd: not a directory"), "{err}");
    let o = info(&[], &tmp.path().join("nothing"));
    assert!(text(&o.stderr).contains("nothing: no such directory"));
}
