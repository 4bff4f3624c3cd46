//! `SELECT count(*) FROM events` through the built `hindsight query`.

use std::path::Path;
use std::process::Command;

/// The rows `hindsight query REC` counts in `events`, and what it printed
/// on stderr (its warnings); panics when the query fails or prints no count.
pub fn count_events(rec: &Path) -> (u64, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("query")
        .arg(rec)
        .args(["SELECT count(*) AS n FROM events", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let n = stdout
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout:?}; stderr: {stderr}"));
    (n, stderr)
}
