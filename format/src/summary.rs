//! [`Summary`]: what a recording holds, for `hindsight info`. Reads only the
//! columns it needs (`event_kind`, `syscall`, `lost_events`,
//! `toctou_mismatch`, `time_ns`).

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int32Type, Int64Type, UInt64Type};
use serde::Serialize;

use crate::batch::StrColumn;
use crate::error::{FormatError, Result};
use crate::manifest::{Hooks, MANIFEST_FILE};
use crate::reader::Recording;

/// A summary of one recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The recording directory.
    pub path: String,
    /// Host name.
    pub host_name: String,
    /// Kernel release.
    pub kernel_release: String,
    /// Boot id.
    pub boot_id: String,
    /// Format version.
    pub format_version: u32,
    /// Version of the hindsight that wrote it.
    pub hindsight_version: String,
    /// First event time (RFC 3339), if any rows.
    pub first_event: Option<String>,
    /// Last event time (RFC 3339), if any rows.
    pub last_event: Option<String>,
    /// Seconds between first and last event.
    pub duration_seconds: f64,
    /// Rows (segments plus rows salvaged in memory from a spool).
    pub events: u64,
    /// Rows per `event_kind`.
    pub event_kinds: BTreeMap<String, u64>,
    /// `syscall` rows per syscall name (lifecycle rows such as an exec's are left out).
    pub syscalls: BTreeMap<String, u64>,
    /// Number of `loss` rows.
    pub loss_rows: u64,
    /// Sum of `lost_events` over the loss rows.
    pub lost_events: u64,
    /// Events lost per cause, from the manifest.
    pub lost_by_cause: BTreeMap<String, u64>,
    /// Rows with `toctou_mismatch = true`.
    pub toctou_mismatches: u64,
    /// Of these, rows where user memory could not be read at entry
    /// (`file_path_user_err <> 0`): often harmless (a constant path on a page
    /// not touched yet), unlike a readable value naming another object.
    pub toctou_unreadable: u64,
    /// Number of segment files.
    pub segments: usize,
    /// Segments deleted in ring mode.
    pub deleted_segments: u64,
    /// Bytes on disk: segments plus manifest.
    pub size_on_disk: u64,
    /// `size_on_disk / events`.
    pub bytes_per_event: f64,
    /// Uncompressed Arrow size of the rows divided by the segments' size.
    pub compression_ratio: f64,
    /// The recorder's CPU time in seconds, start-up included (the
    /// manifest's `totals.recorder_cpu_ns`; absent when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder_cpu_seconds: Option<f64>,
    /// Of that, its start-up (`totals.recorder_startup_cpu_ns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder_startup_cpu_seconds: Option<f64>,
    /// The syscall set the recorder was given and what it resolved to
    /// (`default (77 calls)`; `..., without close` when replay's descriptor
    /// table lacks closes); absent for recordings not made by the recorder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall_set: Option<String>,
    /// The manifest says `complete`.
    pub complete: bool,
    /// `hindsight recover` finished this recording.
    pub recovered: bool,
    /// Why the writer stopped before finishing (the manifest's `stopped`),
    /// while the recording is incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Kernel hooks.
    pub hooks: Hooks,
    /// Warnings from opening (incomplete, salvaged spool).
    pub warnings: Vec<String>,
}

fn count_strings(
    map: &mut BTreeMap<String, u64>,
    col: StrColumn<'_>,
    len: usize,
    keep: impl Fn(usize) -> bool,
) {
    // Counting runs first keeps this fast on long runs of equal values.
    let mut local: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for i in (0..len).filter(|&i| keep(i)) {
        if let Some(v) = col.get(i) {
            *local.entry(v).or_default() += 1;
        }
    }
    for (k, v) in local {
        *map.entry(k.to_string()).or_default() += v;
    }
}

impl Summary {
    /// Computes the summary of an opened recording.
    pub fn compute(rec: &Recording) -> Result<Summary> {
        let m = rec.manifest();
        let mut s = Summary {
            path: rec.dir().display().to_string(),
            host_name: m.host_name.clone(),
            kernel_release: m.kernel_release.clone(),
            boot_id: m.boot_id.clone(),
            format_version: m.format_version,
            hindsight_version: m.hindsight_version.clone(),
            first_event: None,
            last_event: None,
            duration_seconds: 0.0,
            events: 0,
            event_kinds: BTreeMap::new(),
            syscalls: BTreeMap::new(),
            loss_rows: 0,
            lost_events: 0,
            lost_by_cause: m.totals.events_lost.clone(),
            toctou_mismatches: 0,
            toctou_unreadable: 0,
            segments: m.segments.len(),
            deleted_segments: m.deleted_segments,
            size_on_disk: 0,
            bytes_per_event: 0.0,
            compression_ratio: 0.0,
            recorder_cpu_seconds: m.totals.recorder_cpu_ns.map(|ns| ns as f64 / 1e9),
            recorder_startup_cpu_seconds: m
                .totals
                .recorder_startup_cpu_ns
                .map(|ns| ns as f64 / 1e9),
            syscall_set: m.syscall_set().map(|(set, n)| {
                let close = if m.records_close() == Some(false) {
                    ", without close"
                } else {
                    ""
                };
                format!("{set} ({n} calls{close})")
            }),
            complete: m.complete,
            recovered: m.recovered,
            stopped: m.stopped.clone().filter(|_| !m.complete),
            hooks: m.hooks.clone(),
            warnings: rec.warnings().to_vec(),
        };
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        let cols = [
            "time_ns",
            "event_kind",
            "syscall",
            "toctou_mismatch",
            "file_path_user_err",
            "lost_events",
        ];
        for batch in rec.batches(Some(&cols)) {
            let batch = batch?;
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| FormatError::BadBatch(format!("missing column {name}")))
            };
            let n = batch.num_rows();
            s.events += n as u64;
            let t = col("time_ns")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| FormatError::BadBatch("time_ns is not Int64".into()))?;
            if let (Some(lo), Some(hi)) = (arrow::compute::min(t), arrow::compute::max(t)) {
                min_t = min_t.min(lo);
                max_t = max_t.max(hi);
            }
            let strcol = |name: &str| -> Result<StrColumn<'_>> {
                let a = col(name)?;
                match a.as_string_opt::<i32>() {
                    Some(a) => Ok(StrColumn::Utf8(a)),
                    None => Err(FormatError::BadBatch(format!("{name} is not Utf8"))),
                }
            };
            let kinds = strcol("event_kind")?;
            count_strings(&mut s.event_kinds, kinds, n, |_| true);
            // Syscall rows only (an exec's process_exec row also names execve).
            count_strings(&mut s.syscalls, strcol("syscall")?, n, |i| {
                kinds.get(i) == Some("syscall")
            });
            if let Some(b) = col("toctou_mismatch")?.as_boolean_opt() {
                s.toctou_mismatches += b.true_count() as u64;
                if let Some(err) = col("file_path_user_err")?.as_primitive_opt::<Int32Type>() {
                    s.toctou_unreadable += (0..n)
                        .filter(|&i| {
                            b.is_valid(i) && b.value(i) && err.is_valid(i) && err.value(i) != 0
                        })
                        .count() as u64;
                }
            }
            if let Some(l) = col("lost_events")?.as_primitive_opt::<UInt64Type>() {
                s.loss_rows += (l.len() - l.null_count()) as u64;
                s.lost_events += arrow::compute::sum(l).unwrap_or(0);
            }
        }
        if s.events > 0 {
            s.first_event = Some(crate::manifest::rfc3339(min_t));
            s.last_event = Some(crate::manifest::rfc3339(max_t));
            s.duration_seconds = (max_t - min_t) as f64 / 1e9;
        }
        let seg_bytes = m.segment_bytes();
        let manifest_bytes =
            std::fs::metadata(rec.dir().join(MANIFEST_FILE)).map_or(0, |md| md.len());
        s.size_on_disk = seg_bytes + manifest_bytes;
        // Per row in segments: rows still in a spool take no segment bytes.
        let seg_rows: u64 = m.segments.iter().map(|s| s.rows).sum();
        if seg_rows > 0 {
            s.bytes_per_event = s.size_on_disk as f64 / seg_rows as f64;
        }
        let arrow_bytes: u64 = m.segments.iter().map(|s| s.arrow_bytes).sum();
        if seg_bytes > 0 {
            s.compression_ratio = arrow_bytes as f64 / seg_bytes as f64;
        }
        Ok(s)
    }

    /// Opens and summarizes the recording at `dir`.
    pub fn of(dir: &Path) -> Result<Summary> {
        Summary::compute(&Recording::open(dir)?)
    }

    /// A readable, aligned text report.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let kv = |o: &mut String, k: &str, v: &str| {
            let _ = writeln!(o, "{:<19}{v}", format!("{k}:"));
        };
        kv(&mut o, "recording", &self.path);
        kv(&mut o, "host", &self.host_name);
        kv(&mut o, "kernel", &self.kernel_release);
        kv(&mut o, "boot id", &self.boot_id);
        kv(
            &mut o,
            "format",
            &format!(
                "v{} (written by hindsight {})",
                self.format_version, self.hindsight_version
            ),
        );
        let state = match (self.complete, self.recovered, &self.stopped) {
            (true, true, _) => "complete (recovered after a crash)",
            (true, false, _) => "complete",
            (false, _, Some(_)) => "INCOMPLETE (its writer stopped on an error, see below)",
            (false, _, None) => "INCOMPLETE",
        };
        kv(&mut o, "status", state);
        match (&self.first_event, &self.last_event) {
            (Some(a), Some(b)) => {
                kv(&mut o, "time range", &format!("{a} .. {b}"));
                kv(
                    &mut o,
                    "duration",
                    &format!("{:.3}s", self.duration_seconds),
                );
            }
            _ => kv(&mut o, "time range", "(no events)"),
        }
        kv(&mut o, "events", &self.events.to_string());
        let lost: u64 = self.lost_by_cause.values().sum();
        let causes: Vec<String> = self
            .lost_by_cause
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        kv(
            &mut o,
            "loss",
            &format!(
                "{} loss rows, {} events lost{}",
                self.loss_rows,
                self.lost_events.max(lost),
                if causes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", causes.join(", "))
                }
            ),
        );
        let unreadable = if self.toctou_unreadable > 0 {
            format!(
                " ({} with user memory unreadable at entry)",
                self.toctou_unreadable
            )
        } else {
            String::new()
        };
        kv(
            &mut o,
            "toctou mismatches",
            &format!("{}{unreadable}", self.toctou_mismatches),
        );
        let deleted = if self.deleted_segments > 0 {
            format!(" ({} older deleted in ring mode)", self.deleted_segments)
        } else {
            String::new()
        };
        kv(&mut o, "segments", &format!("{}{deleted}", self.segments));
        kv(
            &mut o,
            "size on disk",
            &format!(
                "{} ({} bytes)",
                human_bytes(self.size_on_disk),
                self.size_on_disk
            ),
        );
        // No segment yet (a crashed recording before `recover`): no ratio.
        let or_none = |v: f64, text: String| if v > 0.0 { text } else { "-".into() };
        kv(
            &mut o,
            "bytes per event",
            &or_none(self.bytes_per_event, format!("{:.1}", self.bytes_per_event)),
        );
        kv(
            &mut o,
            "compression",
            &or_none(
                self.compression_ratio,
                format!(
                    "{:.1}x (Arrow in memory vs Parquet on disk)",
                    self.compression_ratio
                ),
            ),
        );
        if let Some(all) = self.recorder_cpu_seconds {
            kv(
                &mut o,
                "recorder CPU",
                &cpu_text(all, self.recorder_startup_cpu_seconds),
            );
        }
        if let Some(set) = &self.syscall_set {
            kv(&mut o, "syscall set", set);
        }
        if !self.hooks.active.is_empty() {
            kv(&mut o, "hooks", &self.hooks.active.join(", "));
        }
        for h in &self.hooks.unavailable {
            kv(
                &mut o,
                "hook unavailable",
                &format!("{}: {}", h.name, h.reason),
            );
        }
        table(&mut o, "event kinds", &self.event_kinds, self.events);
        table(&mut o, "syscalls", &self.syscalls, self.events);
        for w in &self.warnings {
            let _ = writeln!(o, "warning: {w}");
        }
        o
    }
}

fn table(o: &mut String, title: &str, map: &BTreeMap<String, u64>, total: u64) {
    use std::fmt::Write;
    let _ = writeln!(o, "\n{title}:");
    let mut rows: Vec<(&String, &u64)> = map.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(8);
    let nwidth = rows
        .iter()
        .map(|r| r.1.to_string().len())
        .max()
        .unwrap_or(1);
    for (k, v) in rows {
        let pct = if total > 0 {
            *v as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let _ = writeln!(o, "  {k:<width$}  {v:>nwidth$}  {pct:>5.1}%");
    }
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The recorder's CPU time as `hindsight info` and the end-of-recording
/// summary show it: `0.45s (0.41s of it start-up)`, or `0.45s` when the
/// start-up is not known.
pub fn cpu_text(all_seconds: f64, startup_seconds: Option<f64>) -> String {
    match startup_seconds {
        Some(s) => format!("{all_seconds:.2}s ({s:.2}s of it start-up)"),
        None => format!("{all_seconds:.2}s"),
    }
}
