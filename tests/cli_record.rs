//! `hindsight record` from the command line: what its `--help` and the book
//! promise about the recording directory, the arguments and the progress
//! line. Needs root; skips with a printed reason otherwise.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[path = "support/root.rs"]
mod root;
use root::is_root;

fn hindsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
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
