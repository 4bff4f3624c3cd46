//! The committed fixture recordings (`fixtures/recordings/`, made by
//! `scripts/regen-fixtures.sh`; see its README).

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings")
}

/// The single-host recording (20 000 events of web-1).
pub fn small() -> String {
    fixtures().join("synthetic-small").display().to_string()
}

/// The fleet tree (`host=NAME/date=DAY/rec/`).
pub fn fleet() -> String {
    fixtures().join("fleet").display().to_string()
}
