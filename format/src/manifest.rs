//! [`Manifest`]: the `manifest.json` of a recording.
//!
//! The manifest says where and when a recording was made, which segments it
//! holds (with row counts, time ranges and sha256), how many events were lost
//! and why, which kernel hooks were active, and whether the recording is
//! complete. It is pretty-printed JSON, rewritten atomically (temporary file,
//! fsync, rename, fsync of the directory) every time it changes.
//!
//! Reading is forward compatible within a format version: unknown fields are
//! kept (and written back), missing fields take their defaults. A manifest
//! whose `format_version` is newer than [`FORMAT_VERSION`] is refused with
//! [`FormatError::NewerFormat`].

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Result};
use crate::schema::FORMAT_VERSION;

/// File name of the manifest inside a recording directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest of one recording (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// Version of the recording format ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// Version of the hindsight that wrote the recording.
    pub hindsight_version: String,
    /// Host name of the recorded machine.
    pub host_name: String,
    /// `uname -r` of the recorded machine.
    pub kernel_release: String,
    /// Kernel boot id of the recorded boot.
    pub boot_id: String,
    /// How kernel (monotonic) time maps to wall-clock time.
    pub clock: Clock,
    /// When recording started, ns since the Unix epoch.
    pub start_time_ns: Option<i64>,
    /// `start_time_ns` as RFC 3339 (UTC).
    pub start_time: Option<String>,
    /// When recording ended (or the last event, while running), ns since the epoch.
    pub end_time_ns: Option<i64>,
    /// `end_time_ns` as RFC 3339 (UTC).
    pub end_time: Option<String>,
    /// The recorder's (or generator's) configuration, free-form.
    pub recorder_config: serde_json::Map<String, serde_json::Value>,
    /// Committed segments, in `seq` order.
    pub segments: Vec<SegmentInfo>,
    /// Counts of events recorded and lost.
    pub totals: Totals,
    /// Which kernel hooks were attached, and which could not be.
    pub hooks: Hooks,
    /// uid → user name, from the recorded host's passwd at record time.
    pub users: BTreeMap<u32, String>,
    /// gid → group name, from the recorded host's group file at record time.
    pub groups: BTreeMap<u32, String>,
    /// Segments deleted in ring mode (`max_size`) to bound disk use.
    pub deleted_segments: u64,
    /// Rows held by the deleted segments.
    pub deleted_events: u64,
    /// True once the writer finished cleanly (or `hindsight recover` salvaged it).
    pub complete: bool,
    /// True when `hindsight recover` finished this recording after a crash.
    pub recovered: bool,
    /// Why the writer stopped before finishing (the error, e.g. a full
    /// disk), when it did; absent after a clean finish or a kill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Human-readable notes (recovery reports, why the writer stopped, warnings).
    pub notes: Vec<String>,
    /// Fields written by a newer hindsight of the same format version, kept as they are.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            hindsight_version: env!("CARGO_PKG_VERSION").to_string(),
            host_name: String::new(),
            kernel_release: String::new(),
            boot_id: String::new(),
            clock: Clock::default(),
            start_time_ns: None,
            start_time: None,
            end_time_ns: None,
            end_time: None,
            recorder_config: serde_json::Map::new(),
            segments: Vec::new(),
            totals: Totals::default(),
            hooks: Hooks::default(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            deleted_segments: 0,
            deleted_events: 0,
            complete: false,
            recovered: false,
            stopped: None,
            notes: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// The monotonic → wall-clock mapping used to stamp events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Clock {
    /// Add this to a `CLOCK_MONOTONIC`/`bpf_ktime_get_ns` value to get ns since the Unix epoch.
    pub monotonic_to_wall_ns: i64,
    /// Which kernel clock the events were stamped with (e.g. `bpf_ktime_get_ns`).
    pub source: String,
}

/// One committed Parquet segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentInfo {
    /// Path relative to the recording directory, e.g. `events/part-000000.parquet`.
    pub file: String,
    /// Number of rows.
    pub rows: u64,
    /// Smallest `seq`.
    pub first_seq: u64,
    /// Largest `seq`.
    pub last_seq: u64,
    /// Smallest `time_ns`.
    pub min_time_ns: i64,
    /// Largest `time_ns`.
    pub max_time_ns: i64,
    /// File size in bytes.
    pub bytes: u64,
    /// In-memory Arrow size of the rows before encoding (for the compression ratio).
    pub arrow_bytes: u64,
    /// sha256 of the file, lower-case hex.
    pub sha256: String,
}

/// Totals over the whole recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Rows written (including rows of segments later deleted in ring mode).
    pub events_recorded: u64,
    /// Events the kernel side dropped, per cause (e.g. `ringbuf_full`).
    pub events_lost: BTreeMap<String, u64>,
    /// Number of `loss` rows written.
    pub loss_rows: u64,
    /// CPU time (user + system) the recorder process used, in ns, its
    /// start-up included; absent in recordings that predate it and in
    /// generated ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder_cpu_ns: Option<u64>,
    /// Of [`Totals::recorder_cpu_ns`], the start-up: loading and verifying
    /// the kernel programs, until recording began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder_startup_cpu_ns: Option<u64>,
}

impl Totals {
    /// The recorder's CPU time after its start-up (see
    /// [`Totals::recorder_cpu_ns`]): what recording the events cost.
    pub fn recording_cpu_ns(&self) -> Option<u64> {
        self.recorder_cpu_ns
            .zip(self.recorder_startup_cpu_ns)
            .map(|(all, startup)| all.saturating_sub(startup))
    }

    /// Sum of [`Totals::events_lost`] over all causes.
    pub fn lost(&self) -> u64 {
        self.events_lost.values().sum()
    }
}

/// Kernel hooks of a recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hooks {
    /// Names of the hooks that were attached.
    pub active: Vec<String>,
    /// Hooks that could not be attached, and why.
    pub unavailable: Vec<UnavailableHook>,
}

/// A hook that could not be attached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnavailableHook {
    /// Hook name.
    pub name: String,
    /// Why it is unavailable (e.g. `LSM programs refused: EPERM`).
    pub reason: String,
}

/// Formats ns since the epoch as RFC 3339 UTC with nanoseconds.
pub fn rfc3339(time_ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(time_ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Parses an RFC 3339 time into ns since the epoch.
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| FormatError::Invalid(format!("invalid RFC 3339 time {s:?}: {e}")))?;
    t.timestamp_nanos_opt()
        .ok_or_else(|| FormatError::Invalid(format!("time {s:?} is out of range")))
}

impl Manifest {
    /// Sets the start time (ns and RFC 3339).
    pub fn set_start(&mut self, time_ns: i64) {
        self.start_time_ns = Some(time_ns);
        self.start_time = Some(rfc3339(time_ns));
    }

    /// Sets the end time (ns and RFC 3339).
    pub fn set_end(&mut self, time_ns: i64) {
        self.end_time_ns = Some(time_ns);
        self.end_time = Some(rfc3339(time_ns));
    }

    /// The syscall set the recorder was given (`recorder_config.syscalls`,
    /// e.g. `default`) and how many calls it resolved to; `None` for a
    /// recording not made by the recorder (`hindsight generate`).
    pub fn syscall_set(&self) -> Option<(String, u64)> {
        let set = self.recorder_config.get("syscalls")?.as_str()?.to_string();
        let n = match self.recorder_config.get("syscall_names") {
            Some(serde_json::Value::Array(a)) => a.len() as u64,
            _ => self.recorder_config.get("syscall_count")?.as_u64()?,
        };
        Some((set, n))
    }

    /// Whether the recorder recorded `close` (replay's descriptor table
    /// needs it): from `recorder_config.syscall_names` where the recorder
    /// wrote it; before that, from the set it was given (`all`, or `close`
    /// named; the default set had no `close` then). `None` for a recording
    /// not made by the recorder.
    pub fn records_close(&self) -> Option<bool> {
        if let Some(serde_json::Value::Array(names)) = self.recorder_config.get("syscall_names") {
            return Some(names.iter().any(|n| n.as_str() == Some("close")));
        }
        let set = self.recorder_config.get("syscalls")?.as_str()?;
        Some(
            set.split(',')
                .any(|item| matches!(item.trim(), "all" | "close" | "+close")),
        )
    }

    /// Why the recording is incomplete, for messages: the error that
    /// stopped its writer, or (without one) that it is still being written
    /// or its writer was killed. `None` when it is complete.
    pub fn incomplete_because(&self) -> Option<String> {
        if self.complete {
            return None;
        }
        Some(match &self.stopped {
            Some(why) => format!("its writer stopped on an error: {why}"),
            None => "still being written, or its writer was killed".to_string(),
        })
    }

    /// Rows in the committed segments.
    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows).sum()
    }

    /// Bytes of the committed segments.
    pub fn segment_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Smallest and largest `time_ns` over the committed segments.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.segments.iter().map(|s| s.min_time_ns).min()?;
        let max = self.segments.iter().map(|s| s.max_time_ns).max()?;
        Some((min, max))
    }

    /// Parses a manifest from JSON text; `path` is used in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Manifest> {
        let bad = |message: String| FormatError::BadManifest {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        let version = obj
            .get("format_version")
            .ok_or_else(|| bad("missing field format_version".into()))?
            .as_u64()
            .ok_or_else(|| bad("format_version is not a non-negative integer".into()))?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(FormatError::NewerFormat {
                path: path.to_path_buf(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        // From the text, not `value`: serde_json's errors then say where
        // (`invalid type: integer `5`, expected a string at line 4 column
        // 16`).
        let m: Manifest = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        // Segment files are read relative to the recording: one that names
        // a file elsewhere (`../other/events/part-000000.parquet`, `/etc/…`)
        // is refused, not read.
        for (i, seg) in m.segments.iter().enumerate() {
            let inside = Path::new(&seg.file)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside || seg.file.is_empty() {
                return Err(bad(format!(
                    "segments[{i}].file {:?} is not a path inside the recording",
                    seg.file
                )));
            }
        }
        Ok(m)
    }

    /// Reads `DIR/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FormatError::MissingManifest {
                    dir: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(FormatError::io(&path, e)),
        };
        Manifest::from_json(&text, &path)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest always serializes");
        s.push('\n');
        s
    }

    /// Writes `DIR/manifest.json` atomically: a temporary file is written and
    /// fsynced, renamed over the old manifest, and the directory is fsynced. A
    /// failure (e.g. a full disk) leaves the previous manifest in place.
    pub fn write_atomic(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(".manifest.json.tmp");
        let res = (|| -> Result<()> {
            let mut f = create_private(&tmp)?;
            f.write_all(self.to_json().as_bytes())
                .map_err(|e| FormatError::io(&tmp, e))?;
            f.sync_all().map_err(|e| FormatError::io(&tmp, e))?;
            drop(f);
            fs::rename(&tmp, &path).map_err(|e| FormatError::io(&path, e))?;
            sync_dir(dir)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }
}

/// Creates (truncating) a file readable and writable only by its owner (0600).
pub(crate) fn create_private(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| FormatError::io(path, e))
}

/// Removes a file; one that is already gone is not an error.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FormatError::io(path, e)),
    }
}

/// fsyncs a directory so that renames and creations in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FormatError::io(dir, e))
}

/// The path of segment number `index` relative to the recording directory.
pub fn segment_file_name(index: u64) -> String {
    format!("events/part-{index:06}.parquet")
}

/// Parses the index out of `part-NNNNNN.parquet` (or `spool-NNNNNN.arrows`).
pub fn parse_index(file_name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    file_name
        .strip_prefix(prefix)?
        .strip_suffix(suffix)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
}

/// The absolute path of a segment of the recording at `dir`.
pub fn segment_path(dir: &Path, seg: &SegmentInfo) -> PathBuf {
    dir.join(&seg.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a set meant: the recorder's own list where it wrote one, else
    /// the set as given (the default had no `close` before it wrote lists).
    #[test]
    fn syscall_set_and_close() {
        let with = |cfg: serde_json::Value| Manifest {
            recorder_config: cfg.as_object().unwrap().clone(),
            ..Manifest::default()
        };
        let m = with(serde_json::json!({"syscalls": "default", "syscall_count": 71}));
        assert_eq!(m.syscall_set(), Some(("default".into(), 71)));
        assert_eq!(m.records_close(), Some(false));
        let m = with(
            serde_json::json!({"syscalls": "default", "syscall_count": 3,
            "syscall_names": ["close", "close_range", "openat"]}),
        );
        assert_eq!(m.syscall_set(), Some(("default".into(), 3)));
        assert_eq!(m.records_close(), Some(true));
        for (set, close) in [("all", true), ("+close,-openat", true), ("openat", false)] {
            let m = with(serde_json::json!({"syscalls": set, "syscall_count": 1}));
            assert_eq!(m.records_close(), Some(close), "{set}");
        }
        let generated = with(serde_json::json!({"generator": "hindsight generate"}));
        assert_eq!(
            (generated.syscall_set(), generated.records_close()),
            (None, None)
        );
    }

    #[test]
    fn recorder_cpu_is_optional_and_split() {
        let t: Totals = serde_json::from_str(r#"{"events_recorded": 3}"#).unwrap();
        assert_eq!((t.recorder_cpu_ns, t.recording_cpu_ns()), (None, None));
        assert!(!serde_json::to_string(&t).unwrap().contains("cpu"));
        let t = Totals {
            recorder_cpu_ns: Some(900),
            recorder_startup_cpu_ns: Some(400),
            ..Totals::default()
        };
        assert_eq!(t.recording_cpu_ns(), Some(500));
        let back: Totals = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn roundtrip_and_unknown_fields() {
        let mut m = Manifest {
            host_name: "web-1".into(),
            ..Default::default()
        };
        m.users.insert(0, "root".into());
        m.set_start(1_700_000_000_000_000_001);
        let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        v["future_field"] = serde_json::json!({"x": 1});
        v.as_object_mut().unwrap().remove("notes");
        let back = Manifest::from_json(&v.to_string(), Path::new("m.json")).unwrap();
        assert_eq!(back.host_name, "web-1");
        assert_eq!(back.users[&0], "root");
        assert_eq!(
            back.start_time.as_deref(),
            Some("2023-11-14T22:13:20.000000001Z")
        );
        assert_eq!(back.extra["future_field"]["x"], 1);
        assert!(back.to_json().contains("future_field"));
    }

    #[test]
    fn newer_version_is_refused() {
        let err = Manifest::from_json(r#"{"format_version": 99}"#, Path::new("/r/manifest.json"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/r/manifest.json") && msg.contains("99"),
            "{msg}"
        );
    }

    #[test]
    fn a_wrong_type_names_its_line() {
        let good = Manifest::default().to_json();
        let bad = good.replacen("\"host_name\": \"\"", "\"host_name\": 5", 1);
        assert_ne!(good, bad, "the test edits host_name");
        let line = bad
            .lines()
            .position(|l| l.contains("\"host_name\": 5"))
            .unwrap()
            + 1;
        let err = Manifest::from_json(&bad, Path::new("/r/manifest.json")).unwrap_err();
        assert!(
            err.to_string().contains(&format!("at line {line} column")),
            "{err}"
        );
    }

    #[test]
    fn a_segment_outside_the_recording_is_refused() {
        for file in ["../other/events/part-000000.parquet", "/etc/passwd", ""] {
            let mut m = Manifest::default();
            m.segments.push(SegmentInfo {
                file: file.into(),
                ..Default::default()
            });
            let err = Manifest::from_json(&m.to_json(), Path::new("/r/manifest.json")).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("segments[0].file {file:?} is not a path inside")),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_json_names_the_file() {
        let err = Manifest::from_json("{", Path::new("/r/manifest.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/r/manifest.json: invalid manifest"),
            "{err}"
        );
    }

    #[test]
    fn index_parsing() {
        assert_eq!(
            parse_index("part-000012.parquet", "part-", ".parquet"),
            Some(12)
        );
        assert_eq!(parse_index("part-.parquet", "part-", ".parquet"), None);
        assert_eq!(parse_index("part-1x.parquet", "part-", ".parquet"), None);
        assert_eq!(
            parse_rfc3339("2026-11-20T08:00:00Z").unwrap(),
            1_795_161_600_000_000_000
        );
    }
}
