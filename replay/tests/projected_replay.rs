//! Replay reads only the columns its rules and state model need
//! ([`Engine::columns`]) and reads the whole row of each verdict's event back
//! afterwards. These tests prove that changes nothing: on every committed
//! fixture recording and on a generated one spread over several segments and
//! row groups, with Falco's stable rules, Hindsight's default rules and the
//! vendored Sigma rules, with and without enforcement simulation, the
//! projected replay's report equals the one from reading every column —
//! verdicts (rule, output, fields and the whole `event`), enforcements,
//! suppressed events and counts.

use std::path::{Path, PathBuf};

use hindsight_format::generate::{GeneratorConfig, generate_recording};
use hindsight_format::{Recording, WriterOptions};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::field::Col;
use hindsight_replay::lang::load;
use hindsight_replay::run::{find_recordings, replay_one, replay_one_unprojected};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn engines() -> Vec<(&'static str, Engine)> {
    let sets: [(&str, Vec<PathBuf>); 3] = [
        ("falco", vec![repo().join("rules/falco/falco_rules.yaml")]),
        (
            "hindsight",
            vec![repo().join("rules/hindsight/default.yaml")],
        ),
        ("sigma", vec![repo().join("rules/sigma/linux")]),
    ];
    sets.into_iter()
        .map(|(name, files)| {
            let set = load(&files).unwrap_or_else(|d| panic!("{name}: {d}"));
            (name, Engine::new(&set.rules).expect("rules compile"))
        })
        .collect()
}

/// Replays `rec` both ways with every rule set and enforcement on and off;
/// returns how many verdicts they produced (all must be equal).
fn assert_projection_changes_nothing(rec: &Path) -> usize {
    let mut verdicts = 0;
    for (name, engine) in engines() {
        for simulate_enforcement in [false, true] {
            let options = Options {
                simulate_enforcement,
            };
            let projected = replay_one(&engine, rec, options, &mut |_| {})
                .unwrap_or_else(|e| panic!("{}: {e}", rec.display()));
            let full = replay_one_unprojected(&engine, rec, options, &mut |_| {})
                .unwrap_or_else(|e| panic!("{}: {e}", rec.display()));
            assert_eq!(full.events, projected.events);
            for (p, f) in projected.verdicts.iter().zip(&full.verdicts) {
                assert_eq!(
                    p,
                    f,
                    "{} with {name} rules (enforcement {simulate_enforcement}): verdict at seq {} differs",
                    rec.display(),
                    f.seq
                );
            }
            assert_eq!(
                projected,
                full,
                "{} with {name} rules (enforcement {simulate_enforcement})",
                rec.display()
            );
            verdicts += full.verdicts.len();
        }
    }
    verdicts
}

#[test]
fn projection_reads_fewer_columns_than_the_table_has() {
    for (name, engine) in engines() {
        let cols = engine.columns();
        eprintln!(
            "{name} rules read {} of {} columns",
            cols.len(),
            Col::ALL.len()
        );
        assert!(
            cols.len() < Col::ALL.len() - 5,
            "{name}: {} of {} columns",
            cols.len(),
            Col::ALL.len()
        );
        for needed in [Col::Seq, Col::EventKind, Col::ProcessExecutable, Col::Fd] {
            assert!(cols.contains(&needed), "{name}: {needed:?} missing");
        }
    }
}

#[test]
fn projected_replay_equals_full_replay_on_every_fixture() {
    let recs = find_recordings(&[repo().join("fixtures/recordings")]).expect("fixtures");
    assert!(recs.len() >= 5, "{} fixture recordings", recs.len());
    let mut verdicts = 0;
    for rec in &recs {
        verdicts += assert_projection_changes_nothing(rec);
    }
    // Verdict output (the whole `event` row) is compared, not just counted.
    assert!(verdicts > 50, "only {verdicts} verdicts over the fixtures");
}

#[test]
fn projected_replay_equals_full_replay_across_segments_and_row_groups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("rec");
    let cfg = GeneratorConfig {
        events: 300_000,
        ..GeneratorConfig::default()
    };
    let opts = WriterOptions {
        segment_rows: 70_000,
        row_group_rows: 8_192,
        spool: false,
        ..WriterOptions::default()
    };
    generate_recording(&rec, &cfg, opts, &mut |_| {}).expect("generate");
    assert!(
        Recording::open(&rec)
            .expect("open")
            .manifest()
            .segments
            .len()
            >= 4
    );
    let verdicts = assert_projection_changes_nothing(&rec);
    assert!(verdicts > 0, "no verdict on the generated recording");
}

#[test]
fn rows_at_reads_rows_by_position_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("rec");
    let cfg = GeneratorConfig {
        events: 50_000,
        ..GeneratorConfig::default()
    };
    let opts = WriterOptions {
        segment_rows: 12_000,
        row_group_rows: 1_000,
        spool: false,
        ..WriterOptions::default()
    };
    generate_recording(&rec, &cfg, opts, &mut |_| {}).expect("generate");
    let rec = Recording::open(&rec).expect("open");
    let all: Vec<_> = rec.events().map(|e| e.expect("row")).collect();
    let at = [0u64, 1, 999, 1_000, 11_999, 12_000, 30_001, 49_999];
    let rows = rec.rows_at(&at, None).expect("rows_at");
    let want: Vec<_> = at.iter().map(|&i| all[i as usize].clone()).collect();
    assert_eq!(rows, want);
    let some = rec.rows_at(&at, Some(&["file_inode"])).expect("projected");
    for (r, w) in some.iter().zip(&want) {
        assert_eq!(
            (r.seq, r.file_inode, r.file_path.as_deref()),
            (w.seq, w.file_inode, None)
        );
    }
    assert!(rec.rows_at(&[5, 5], None).is_err());
    assert!(rec.rows_at(&[50_000], None).is_err());
}
