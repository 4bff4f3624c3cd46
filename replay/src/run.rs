//! Replaying recordings from disk: finds recordings under the given paths,
//! reads them in `seq` order through [`hindsight_format::reader`] and merges
//! the reports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hindsight_format::EventKind;
use hindsight_format::batch::EventColumns;
use hindsight_format::reader::{Recording, discover};
use hindsight_format::{Event, FormatError};

use crate::accounts::Accounts;
use crate::engine::{Engine, Options, event_json_from};
use crate::field::Col;
use crate::row::Row;
use crate::value::column;
use crate::verdict::Report;

/// A recording that could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No recording (no `manifest.json`) under the path.
    #[error("{}: no recording here (a recording is a directory with manifest.json)", .0.display())]
    NoRecording(PathBuf),
    /// Opening or reading failed; the message names the file.
    #[error("cannot read recording {}: {source}", path.display())]
    Read {
        /// The recording.
        path: PathBuf,
        /// What went wrong.
        source: FormatError,
    },
}

/// Every recording under `paths` (each a recording or a tree of them), in
/// the order given, each tree sorted by path. A recording reached twice (the
/// same path given twice, spelt differently, or both directly and inside a
/// given tree) is listed once, where it was first reached, so that its
/// events are replayed and counted once.
pub fn find_recordings(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |p: PathBuf, out: &mut Vec<PathBuf>| {
        // A path that cannot be resolved is kept as given: opening it names it.
        let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.insert(key) {
            out.push(p);
        }
    };
    for p in paths {
        if p.join("manifest.json").is_file() {
            add(p.clone(), &mut out);
            continue;
        }
        let found = discover(p).map_err(|source| RunError::Read {
            path: p.clone(),
            source,
        })?;
        if found.is_empty() {
            return Err(RunError::NoRecording(p.clone()));
        }
        for d in found {
            add(d.path, &mut out);
        }
    }
    Ok(out)
}

/// Progress of a long replay, for a caller that shows it.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The recording being replayed.
    pub recording: &'a Path,
    /// Events replayed in this recording so far.
    pub events: u64,
    /// Rows the recording holds.
    pub total: u64,
}

/// Replays every recording under `paths` and merges the reports (recordings
/// in order). `progress` is called every 1,048,576 events.
pub fn replay_paths(
    engine: &Engine,
    paths: &[PathBuf],
    options: Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, RunError> {
    let mut report = Report {
        rules: engine.len(),
        ..Report::default()
    };
    for path in find_recordings(paths)? {
        let r = replay_one(engine, &path, options, progress)?;
        report.recordings.push(path.display().to_string());
        report.verdicts.extend(r.verdicts);
        report.enforcements.extend(r.enforcements);
        report.suppressed.extend(r.suppressed);
        report.events += r.events;
        report.lost_events += r.lost_events;
        report.warnings.extend(r.warnings);
    }
    Ok(report)
}

/// Opens one recording, naming it in errors.
pub fn open(path: &Path) -> Result<Recording, RunError> {
    Recording::open(path).map_err(|source| RunError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Replays one recording.
///
/// Only the columns the engine reads ([`Engine::columns`]) are decoded. A
/// decode thread reads and decompresses the Parquet segments into Arrow
/// batches (two batches ahead, bounded memory); this thread runs the engine
/// on each row in place ([`Row`]): a column is read from the Arrow arrays
/// only when the state model or a rule asks for it, nothing is copied. With one core both share it; with more, decoding
/// overlaps evaluation. Verdicts are rare: the whole row of each event that
/// produced one is read back afterwards for [`crate::verdict::Verdict::event`],
/// so the report is the one a replay of every column gives.
pub fn replay_one(
    engine: &Engine,
    path: &Path,
    options: Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, RunError> {
    let mut columns = engine.columns();
    // Not read by the engine, but every row of a batch must have them.
    columns.extend([Col::HostName, Col::BootId]);
    replay_columns(engine, path, options, Some(&columns), progress)
}

/// Replays one recording reading every column (the reference that
/// [`replay_one`]'s projection must equal; for tests and measurements).
pub fn replay_one_unprojected(
    engine: &Engine,
    path: &Path,
    options: Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, RunError> {
    replay_columns(engine, path, options, None, progress)
}

fn replay_columns(
    engine: &Engine,
    path: &Path,
    options: Options,
    columns: Option<&BTreeSet<Col>>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, RunError> {
    let names: Option<Vec<&str>> = columns.map(|c| c.iter().map(|c| c.name()).collect());
    let rec = open(path)?;
    let total = rec.rows();
    let label = path.display().to_string();
    let mut replay = engine.replay(&label, options);
    // This recording's own host names its users and groups.
    replay.set_accounts(Arc::new(Accounts::from_manifest(rec.manifest())));
    let read_err = |source| RunError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut n = 0u64;
    // Row position of every verdict's event and the event as read, in verdict order.
    let mut verdict_rows: Vec<(u64, Event)> = Vec::new();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let rec = &rec;
        scope.spawn(move || {
            for batch in rec.view_batches(names.as_deref()) {
                let stop = batch.is_err();
                if tx.send(batch).is_err() || stop {
                    break;
                }
            }
        });
        for batch in rx {
            let batch = batch.map_err(read_err)?;
            let cols = EventColumns::new(&batch).map_err(read_err)?;
            let mut kind = EventKind::default();
            let batch_id = crate::row::batch_id();
            for i in 0..batch.num_rows() {
                if i == 0 || !cols.event_kind.same_as_previous(i) {
                    kind = cols.kind(i);
                }
                let row = Row::at(&cols, i, kind, batch_id);
                replay.push_row(&row);
                if replay.verdict_count() > verdict_rows.len() {
                    verdict_rows.resize(replay.verdict_count(), (n, row.to_event()));
                }
                n += 1;
                if n.is_multiple_of(1 << 20) {
                    progress(Progress {
                        recording: path,
                        events: n,
                        total,
                    });
                }
            }
        }
        Ok(())
    })?;
    let mut report = replay.finish_partial();
    report.warnings = rec.warnings().to_vec();
    if rec.manifest().records_close() == Some(false) {
        report.warnings.push(format!(
            "{label}: `close` was not recorded (its syscall set, or a recorder from \
             before `close` joined the default set): replay keeps closed descriptors \
             open, so one reusing a closed socket's number (a pipe) can look like that \
             socket (e.g. a false Reverse shell on `dup2`)"
        ));
    }
    if let Some(read) = columns
        && !report.verdicts.is_empty()
    {
        // The rest of each verdict's row, from the columns left out.
        let rest: Vec<&str> = Col::ALL
            .iter()
            .filter(|c| !read.contains(c) && **c != Col::Time)
            .map(|c| c.name())
            .collect();
        let mut rows: Vec<u64> = verdict_rows.iter().map(|(r, _)| *r).collect();
        rows.dedup();
        let others = rec.rows_at(&rows, Some(&rest)).map_err(read_err)?;
        for (v, (row, seen)) in report.verdicts.iter_mut().zip(&verdict_rows) {
            let other = &others[rows.partition_point(|r| r < row)];
            v.event = event_json_from(&|c| if read.contains(&c) { seen } else { other });
        }
    }
    // Outputs rendered from the whole event, now that it is whole.
    engine.render_late_outputs(&mut report);
    Ok(report)
}

/// The columns that hold a value in at least one row of the recording.
pub fn columns_present(path: &Path) -> Result<BTreeSet<Col>, RunError> {
    let rec = open(path)?;
    let mut present = BTreeSet::new();
    for ev in rec.events() {
        let ev: Event = ev.map_err(|source| RunError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        for &c in Col::ALL {
            if !present.contains(&c) && !column(c, &ev).is_null() {
                present.insert(c);
            }
        }
        if present.len() == Col::ALL.len() {
            break;
        }
    }
    Ok(present)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording without `close` rows (format-v2's recorder had none in
    /// its default set) is replayed with a warning that its descriptor
    /// table keeps closed descriptors; the current fixtures have them.
    #[test]
    fn a_recording_without_close_is_replayed_with_a_warning() {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings");
        let engine = Engine::new(&[]).unwrap();
        let warned = |name: &str| {
            let report = replay_one(
                &engine,
                &fixtures.join(name),
                Options::default(),
                &mut |_| {},
            )
            .unwrap();
            report
                .warnings
                .iter()
                .any(|w| w.contains("`close` was not recorded"))
        };
        assert!(warned("format-v2"));
        assert!(!warned("intrusion"));
        assert!(!warned("synthetic-small"), "generated: cannot be told");
    }

    #[test]
    fn a_recording_reached_twice_is_listed_once() {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings");
        let small = fixtures.join("synthetic-small");
        let fleet = fixtures.join("fleet");
        let db = fleet.join("host=db-1/date=2026-11-20/rec");
        let found = find_recordings(&[
            small.clone(),
            fixtures.join("synthetic-small/"),
            fixtures.join("../recordings/synthetic-small"),
            db.clone(),
            fleet.clone(),
        ])
        .unwrap();
        assert_eq!(
            found,
            [small, db, fleet.join("host=web-1/date=2026-11-20/rec")]
        );
    }
}
