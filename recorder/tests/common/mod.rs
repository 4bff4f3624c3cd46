//! Helpers for the live recorder tests (root only).

#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::AtomicBool;

use hindsight_format::manifest::Manifest;
use hindsight_format::{Event, EventKind};
use hindsight_recorder::{RecordOptions, RecordSummary, Target};

/// Whether the live tests can run; prints why not.
pub fn can_record(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped {test}: recording needs root");
        return false;
    }
    true
}

/// A finished recording, read back.
pub struct Rec {
    pub events: Vec<Event>,
    pub manifest: Manifest,
    pub summary: RecordSummary,
    pub dir: tempfile::TempDir,
}

/// Reads every committed segment of a recording directory.
pub fn read_events(dir: &Path) -> (Vec<Event>, Manifest) {
    let manifest = Manifest::read(dir).expect("manifest");
    let mut events = Vec::new();
    for seg in &manifest.segments {
        let batches =
            hindsight_format::segment::read_segment(&dir.join(&seg.file), None).expect("segment");
        for b in batches {
            events.extend(hindsight_format::batch_to_events(&b).expect("events"));
        }
    }
    (events, manifest)
}

/// Records `argv` with `syscalls` and a ring buffer of `ring_bytes`.
pub fn record_with(argv: &[&str], syscalls: &str, ring_bytes: u32) -> Rec {
    record_opts(argv, |opts| {
        opts.syscalls = syscalls.to_string();
        opts.ring_bytes = ring_bytes;
    })
}

/// Records `argv` with options adjusted by `adjust`.
pub fn record_opts(argv: &[&str], adjust: impl FnOnce(&mut RecordOptions)) -> Rec {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("rec");
    let mut opts = RecordOptions::new(
        out.clone(),
        Target::Command(argv.iter().map(|s| s.to_string()).collect()),
    );
    adjust(&mut opts);
    static NEVER: AtomicBool = AtomicBool::new(false);
    let summary = hindsight_recorder::record(&opts, &NEVER, |_, _| {}).expect("record");
    let (events, manifest) = read_events(&out);
    Rec {
        events,
        manifest,
        summary,
        dir,
    }
}

/// Records `argv` with the default syscall set.
pub fn record(argv: &[&str]) -> Rec {
    record_with(argv, "default", 16 << 20)
}

impl Rec {
    /// Rows of one kind.
    pub fn kind(&self, k: EventKind) -> Vec<&Event> {
        self.events.iter().filter(|e| e.event_kind == k).collect()
    }

    /// Syscall rows of one syscall.
    pub fn sys(&self, name: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.syscall.as_deref() == Some(name) && e.event_kind == EventKind::Syscall)
            .collect()
    }

    /// Prints all rows (for failing assertions).
    pub fn dump(&self) -> String {
        self.events
            .iter()
            .map(|e| {
                format!(
                    "{} {:?} pid={} ret={:?} path={:?} user={:?} err={:?} mm={:?} src={:?} dst={:?}:{:?} user_addr={:?} args={:?}",
                    e.event_kind,
                    e.syscall,
                    e.process_pid,
                    e.ret,
                    e.file_path,
                    e.file_path_user,
                    e.file_path_user_err,
                    e.toctou_mismatch,
                    e.kernel_source,
                    e.destination_ip,
                    e.destination_port,
                    e.destination_addr_user,
                    e.process_args,
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
