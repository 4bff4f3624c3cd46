//! [`recover()`]: finishes a recording whose writer crashed or was killed.
//!
//! It turns what an unfinished segment made durable (its checkpoint's row
//! groups and its spool file) into proper segments, adopts complete segment
//! files the manifest does not list yet, recomputes the manifest (rows,
//! hashes, time range, totals) and marks it `complete` and `recovered`. It
//! is idempotent, and never deletes data it could not convert: an
//! unreadable spool, or the temporary file of an unreadable checkpoint, is
//! renamed `*.unreadable` and reported, a segment listed in the manifest
//! that fails its checks is left in place and reported.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use crate::batch::{EventColumns, sort_by_seq};
use crate::checkpoint::{checkpoint_file_name, remove_checkpoint, temporary_file_name};
use crate::error::{FormatError, Result};
use crate::event::EventKind;
use crate::manifest::{
    MANIFEST_FILE, Manifest, SegmentInfo, parse_index, remove_if_exists, segment_file_name,
    sync_dir,
};
use crate::reader::{REQUIRED_COLUMNS, check_segment};
use crate::schema::events_schema;
use crate::segment::{SegmentWriter, read_segment, sha256_file, writer_properties};
use crate::spool::{list_spool, read_spool};
use crate::writer::WriterOptions;

/// What [`recover()`] did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct RecoveryReport {
    /// The recording directory.
    pub dir: PathBuf,
    /// The recording was already complete and consistent: nothing changed.
    pub already_complete: bool,
    /// Segments written from spool files.
    pub segments_from_spool: Vec<String>,
    /// Rows salvaged from spool files.
    pub rows_salvaged: u64,
    /// Complete segment files found on disk but missing from the manifest, now listed.
    pub segments_adopted: Vec<String>,
    /// Spool files (or the temporary files of checkpoints) that could not be
    /// (fully) read, kept as `*.unreadable`, with the reason.
    pub unreadable: Vec<(String, String)>,
    /// Segments listed in the manifest that fail their checks (left untouched).
    pub bad_segments: Vec<(String, String)>,
    /// Temporary files removed (their rows were in the spool).
    pub removed_temporary: Vec<String>,
    /// Rows in the recording after recovery.
    pub rows: u64,
}

/// Recovers the recording at `dir`. See the module documentation.
pub fn recover(dir: &Path) -> Result<RecoveryReport> {
    let mut report = RecoveryReport {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    // A path that is no directory says so, as `info` and `replay` do (not
    // "missing manifest.json").
    if !dir.is_dir() {
        return Err(FormatError::not_a_directory(dir));
    }
    // Not under a live writer, nor beside another recovery; taken before
    // the manifest is read, which a writer may still be rewriting.
    let _lock = crate::lock::lock_dir(dir)?;
    let mut manifest = match Manifest::read(dir) {
        Ok(m) => m,
        Err(FormatError::MissingManifest { .. })
            if dir.join("events").is_dir() || dir.join("spool").is_dir() =>
        {
            let mut m = Manifest::default();
            m.notes
                .push("manifest.json was missing; rebuilt from the data".into());
            m
        }
        Err(e) => return Err(e),
    };
    // Half-written output of an earlier recovery that stopped, or of a
    // writer that was rewriting a segment sorted (its rows are in the
    // segment's temporary file).
    for prefix in [".recover-", ".sort-"] {
        for (_, path) in list_events(dir, prefix, ".parquet.tmp")? {
            remove_if_exists(&path)?;
        }
    }
    let spools = list_spool(dir)?;
    let temporaries = list_events(dir, ".part-", ".parquet.tmp")?;
    let listed: BTreeSet<String> = manifest.segments.iter().map(|s| s.file.clone()).collect();
    let unlisted: Vec<(u64, PathBuf)> = list_events(dir, "part-", ".parquet")?
        .into_iter()
        .filter(|(i, _)| !listed.contains(&segment_file_name(*i)))
        .collect();

    // Segments the manifest lists: check them, change nothing.
    for seg in &manifest.segments {
        if let Err(e) = check_segment(dir, seg, true) {
            report.bad_segments.push((seg.file.clone(), e.to_string()));
        }
    }
    if manifest.complete && spools.is_empty() && temporaries.is_empty() && unlisted.is_empty() {
        // A writer killed between its last manifest and removing its
        // reserve leaves the reserve: nothing else to do.
        crate::reserve::remove_reserve(dir)?;
        report.already_complete = true;
        report.rows = manifest.rows();
        return Ok(report);
    }

    let props = writer_properties(
        WriterOptions::default().row_group_rows,
        WriterOptions::default().zstd_level,
    )?;
    let mut covered: BTreeSet<u64> = BTreeSet::new();

    // Complete segment files the manifest does not list (crash between rename and manifest).
    for (index, path) in &unlisted {
        match segment_info(dir, *index, path) {
            Ok((info, loss_rows)) => {
                report.segments_adopted.push(info.file.clone());
                // A killed writer's manifest counts the loss rows of the
                // segments it lists only.
                manifest.totals.loss_rows += loss_rows;
                manifest.segments.push(info);
                covered.insert(*index);
            }
            Err(e) => report
                .bad_segments
                .push((segment_file_name(*index), e.to_string())),
        }
    }
    for seg in &manifest.segments {
        if let Some(i) = Path::new(&seg.file)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| parse_index(n, "part-", ".parquet"))
        {
            covered.insert(i);
        }
    }
    let last_seq = manifest.segments.iter().map(|s| s.last_seq).max();

    // Spool files: convert to segments.
    for (index, path) in &spools {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if covered.contains(index) {
            // Its segment was committed; the spool is a duplicate.
            remove_if_exists(path)?;
            remove_checkpoint(dir, *index)?;
            continue;
        }
        let contents = read_spool(path, *index)?;
        if let Some(err) = &contents.checkpoint_error {
            // Kept before anything is written, so that no later step (nor a
            // later run) takes the temporary file for a converted one.
            let (tmp, checkpoint) = (temporary_file_name(*index), checkpoint_file_name(*index));
            let from = if dir.join(&tmp).exists() {
                tmp
            } else {
                checkpoint.clone()
            };
            let kept = format!("{from}.unreadable");
            fs::rename(dir.join(&from), dir.join(&kept))
                .map_err(|e| FormatError::io(dir.join(&from), e))?;
            report
                .unreadable
                .push((kept, format!("{err} (the row groups {checkpoint} lists)")));
        }
        let mut batches: Vec<RecordBatch> = Vec::new();
        for b in &contents.batches {
            let b = sort_by_seq(b)?;
            let seq = crate::batch::seq_column(&b)?;
            let start = match last_seq {
                Some(l) => seq
                    .values()
                    .iter()
                    .position(|&s| s > l)
                    .unwrap_or(b.num_rows()),
                None => 0,
            };
            if start < b.num_rows() {
                batches.push(b.slice(start, b.num_rows() - start));
            }
        }
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows > 0 {
            let all = arrow::compute::concat_batches(&events_schema(), &batches)
                .map_err(|e| FormatError::BadBatch(e.to_string()))?;
            // Not the usual temporary file: the crashed writer's one holds
            // the checkpoint's rows until this segment is committed.
            let mut w = SegmentWriter::create_as(
                dir,
                *index,
                props.clone(),
                &format!("events/.recover-{index:06}.parquet.tmp"),
            )?;
            w.write(&all)?;
            let info = w.commit()?;
            report.segments_from_spool.push(info.file.clone());
            report.rows_salvaged += info.rows;
            count_loss(&all, &mut manifest);
            manifest.segments.push(info);
            covered.insert(*index);
        }
        remove_checkpoint(dir, *index)?;
        match &contents.error {
            Some(err) => {
                let kept = path.with_file_name(format!("{name}.unreadable"));
                fs::rename(path, &kept).map_err(|e| FormatError::io(path, e))?;
                report.unreadable.push((
                    format!("spool/{name}.unreadable"),
                    format!("{err} (after {rows} salvaged rows)"),
                ));
            }
            None => remove_if_exists(path)?,
        }
    }
    // Temporary segment files: incomplete by definition; their rows are in the spool.
    for (index, path) in &temporaries {
        if covered.contains(index) || !spools.iter().any(|(i, _)| i == index) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            report.removed_temporary.push(format!("events/{name}"));
            remove_if_exists(path)?;
        }
    }
    remove_leftovers(&dir.join("spool"), &covered)?;
    let _ = fs::remove_dir(dir.join("spool"));
    crate::reserve::remove_reserve(dir)?;

    manifest.segments.sort_by_key(|s| s.first_seq);
    manifest.totals.events_recorded = manifest
        .totals
        .events_recorded
        .max(manifest.rows() + manifest.deleted_events);
    if let Some((min, max)) = manifest.time_range() {
        if manifest.start_time_ns.is_none_or(|t| t > min) {
            manifest.set_start(min);
        }
        if manifest.end_time_ns.is_none_or(|t| t < max) {
            manifest.set_end(max);
        }
    }
    if manifest.host_name.is_empty()
        && let Some(seg) = manifest.segments.first()
        && let Ok(b) = read_segment(&dir.join(&seg.file), Some(REQUIRED_COLUMNS))
        && let Some(b) = b.first()
        && let Ok(cols) = EventColumns::new(b)
        && b.num_rows() > 0
    {
        manifest.host_name = cols.host_name.get(0).unwrap_or_default().to_string();
        manifest.boot_id = cols.boot_id.get(0).unwrap_or_default().to_string();
    }
    manifest.complete = true;
    manifest.recovered = true;
    // The writer's note keeps why it stopped; the recording is whole now.
    manifest.stopped = None;
    manifest.notes.push(format!(
        "recovered by hindsight {} at {}: {} segment(s) from the spool ({} rows), {} adopted, {} unreadable file(s) kept",
        env!("CARGO_PKG_VERSION"),
        crate::manifest::rfc3339(crate::writer::now_ns()),
        report.segments_from_spool.len(),
        report.rows_salvaged,
        report.segments_adopted.len(),
        report.unreadable.len()
    ));
    manifest.write_atomic(dir)?;
    report.rows = manifest.rows();
    debug_assert!(dir.join(MANIFEST_FILE).exists());
    Ok(report)
}

fn count_loss(batch: &RecordBatch, manifest: &mut Manifest) {
    manifest.totals.loss_rows += loss_rows_in(batch);
}

/// The `loss` rows of `batch`.
fn loss_rows_in(batch: &RecordBatch) -> u64 {
    EventColumns::new(batch).map_or(0, |cols| {
        (0..batch.num_rows())
            .filter(|&i| cols.kind(i) == EventKind::Loss)
            .count() as u64
    })
}

/// Removes what a writer leaves in `spool/` besides spool files: checkpoints
/// of committed segments and files it was about to rename into place.
fn remove_leftovers(spool: &Path, covered: &BTreeSet<u64>) -> Result<()> {
    let Ok(rd) = fs::read_dir(spool) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let done = parse_index(name, "checkpoint-", ".parquet-footer")
            .is_some_and(|i| covered.contains(&i));
        if done || name.ends_with(".new") {
            remove_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

fn list_events(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(u64, PathBuf)>> {
    let events = dir.join("events");
    let rd = match fs::read_dir(&events) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FormatError::io(&events, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| FormatError::io(&events, e))?;
        if let Some(i) = entry
            .file_name()
            .to_str()
            .and_then(|n| parse_index(n, prefix, suffix))
        {
            out.push((i, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Builds the manifest entry of an existing segment file by reading it,
/// with the number of its `loss` rows.
fn segment_info(dir: &Path, index: u64, path: &Path) -> Result<(SegmentInfo, u64)> {
    let batches = read_segment(path, None)?;
    let loss_rows = batches.iter().map(loss_rows_in).sum();
    let mut info = SegmentInfo {
        file: segment_file_name(index),
        first_seq: u64::MAX,
        min_time_ns: i64::MAX,
        max_time_ns: i64::MIN,
        ..Default::default()
    };
    for b in &batches {
        let seq = crate::batch::seq_column(b)?;
        let t = crate::batch::time_ns_column(b)?;
        info.rows += b.num_rows() as u64;
        info.arrow_bytes += b
            .columns()
            .iter()
            .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
            .sum::<u64>();
        if let (Some(lo), Some(hi)) = (arrow::compute::min(seq), arrow::compute::max(seq)) {
            info.first_seq = info.first_seq.min(lo);
            info.last_seq = info.last_seq.max(hi);
        }
        if let (Some(lo), Some(hi)) = (arrow::compute::min(t), arrow::compute::max(t)) {
            info.min_time_ns = info.min_time_ns.min(lo);
            info.max_time_ns = info.max_time_ns.max(hi);
        }
    }
    if info.rows == 0 {
        info.first_seq = 0;
        info.min_time_ns = 0;
        info.max_time_ns = 0;
    }
    info.bytes = fs::metadata(path)
        .map_err(|e| FormatError::io(path, e))?
        .len();
    info.sha256 = sha256_file(path)?;
    let _ = sync_dir(&dir.join("events"));
    Ok((info, loss_rows))
}
