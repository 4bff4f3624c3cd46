//! Judges a recording of one Phantom-reproducer mode against the ground
//! truth the reproducer logged (shared by `record_phantom.rs`, which records
//! on this kernel, and `old_kernel.rs`, which records on an older one).

use std::path::Path;
use std::process::Command;

use hindsight_format::manifest::Manifest;
use hindsight_format::{Event, EventKind};

use crate::phantom::{self, Mode, RecordedArg};

/// Every row of the recording in `dir`, and its manifest.
pub fn read_recording(dir: &Path) -> (Vec<Event>, Manifest) {
    let manifest = Manifest::read(dir).expect("manifest");
    let mut events = Vec::new();
    for seg in &manifest.segments {
        for b in
            hindsight_format::segment::read_segment(&dir.join(&seg.file), None).expect("segment")
        {
            events.extend(hindsight_format::batch_to_events(&b).expect("rows"));
        }
    }
    (events, manifest)
}

/// Every disagreement between the recording `out` of `mode` and the ground
/// truth in `log` (None: the mode was unavailable where it ran). `recorded`
/// says whether `hindsight record` succeeded.
pub fn check_recording(out: &Path, log: &Path, mode: Mode, recorded: bool) -> Option<Vec<String>> {
    let truth = phantom::read_log(log).expect("ground truth");
    if let Some(s) = truth.skipped(mode) {
        eprintln!("skipped {mode}: {}", s.reason);
        return None;
    }
    assert!(recorded, "hindsight record -- phantom {mode} failed");
    let (events, manifest) = read_recording(out);
    let mono = manifest.clock.monotonic_to_wall_ns;
    let setup = truth.setup(mode).expect("setup");
    let mut problems = Vec::new();
    for a in truth.attempts(mode) {
        let rows: Vec<&Event> = events
            .iter()
            .filter(|e| e.event_kind == EventKind::Syscall)
            .filter(|e| e.thread_id == a.tid && e.syscall.as_deref() == Some(a.syscall.as_str()))
            .filter(|e| a.contains_mono((e.time_ns - mono) as u64))
            .collect();
        if rows.len() != 1 {
            problems.push(format!("{mode} #{}: {} rows", a.attempt, rows.len()));
            continue;
        }
        let e = rows[0];
        // Every row of an attempt gets a verdict: NULL would hide a miss.
        let Some(mismatch) = e.toctou_mismatch else {
            problems.push(format!("{mode} #{}: toctou_mismatch is NULL", a.attempt));
            continue;
        };
        // openat2's open_how, unreadable at entry (userfaultfd), is said so.
        if let Some(how_err) = a.expected_how_user_err {
            let want = format!("open_how_err={how_err}");
            let args = e.syscall_args.as_deref().unwrap_or("");
            if !args.contains(&want) {
                problems.push(format!(
                    "{mode} #{}: syscall_args {args:?}, not {want}",
                    a.attempt
                ));
            }
        }
        let err = e.file_path_user_err.filter(|&x| x != 0);
        let kernel_addr = e
            .destination_ip
            .as_ref()
            .zip(e.destination_port)
            .map(|(ip, p)| format!("{ip}:{p}"));
        let r = if mode.is_connect() {
            RecordedArg {
                user: e.destination_addr_user.as_deref(),
                user_err: err,
                kernel: kernel_addr.as_deref(),
                inode: None,
                mismatch,
            }
        } else {
            RecordedArg {
                user: e.file_path_user.as_deref(),
                user_err: err,
                kernel: e.file_path.as_deref(),
                inode: e.file_inode,
                mismatch,
            }
        };
        problems.extend(a.check_recorded(setup, &r));
    }
    if mode.is_connect() {
        // The toctou view calls every connect mismatch an address, also when
        // user memory could not be read, with the kernel's address.
        let o = Command::new(env!("CARGO_BIN_EXE_hindsight"))
            .arg("query")
            .arg(out)
            .args([
                "SELECT DISTINCT what, kernel_value IS NULL AS no_kernel_value FROM toctou \
                 WHERE syscall = 'connect'",
                "--format",
                "csv",
            ])
            .output()
            .expect("run hindsight query");
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        for line in text.lines().skip(1) {
            if line != "address,false" {
                problems.push(format!("{mode}: toctou view row {line}"));
            }
        }
    }
    Some(problems)
}
