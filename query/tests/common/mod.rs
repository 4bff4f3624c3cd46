//! Test recordings, made once per test binary with the format's deterministic
//! generator (the same config always gives the same rows).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hindsight_format::WriterOptions;
use hindsight_format::generate::{GeneratorConfig, generate_recording};
use hindsight_format::manifest::parse_rfc3339;

/// Events in the single-host recording.
pub const EVENTS: u64 = 20_000;

fn generate(dir: &Path, host: &str, seed: u64, start: &str, events: u64) {
    let cfg = GeneratorConfig {
        seed,
        events,
        host_name: host.into(),
        mean_gap_ns: 20_000_000,
        start_time_ns: parse_rfc3339(start).expect("start"),
        ..GeneratorConfig::default()
    };
    let opts = WriterOptions {
        segment_rows: 8_192,
        ..WriterOptions::default()
    };
    generate_recording(dir, &cfg, opts, &mut |_| {}).expect("generate");
}

/// The root of all test data: `<tmp>/small` (one recording of host web-1)
/// and `<tmp>/fleet/host=NAME/date=DAY/rec/` (three hosts).
pub fn data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("hindsight-query-tests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        generate(
            &dir.join("small"),
            "web-1",
            1,
            "2026-11-20T08:00:00Z",
            EVENTS,
        );
        for (host, seed, day) in [
            ("web-1", 2, "2026-11-20"),
            ("web-2", 3, "2026-11-20"),
            ("db-1", 4, "2026-11-21"),
        ] {
            generate(
                &dir.join(format!("fleet/host={host}/date={day}/rec")),
                host,
                seed,
                &format!("{day}T09:00:00Z"),
                4_000,
            );
        }
        dir
    })
}

/// The single-host recording.
pub fn small() -> String {
    data().join("small").display().to_string()
}

/// The fleet tree.
pub fn fleet() -> String {
    data().join("fleet").display().to_string()
}
