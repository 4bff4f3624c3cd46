//! Live test of `process_snapshot` rows in whole-host recordings. Root only.

mod common;

use std::time::Duration;

use std::sync::atomic::AtomicBool;

use common::can_record;
use hindsight_format::EventKind;
use hindsight_recorder::{RecordOptions, Target};

/// A process started before the recording is in the snapshot with its
/// executable, argv and parent; when it is killed during the recording its
/// exit row still knows what it was (the zombie's /proc no longer does).
#[test]
fn whole_host_recording_starts_with_the_running_processes() {
    if !can_record("whole_host_recording_starts_with_the_running_processes") {
        return;
    }
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Let it exec before the snapshot is taken.
    std::thread::sleep(Duration::from_millis(200));
    // Killed once recording is under way (the first progress call, about a
    // second in; the snapshot is taken before): a fixed delay raced the
    // recorder's start-up on a loaded machine.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rec");
    let mut opts = RecordOptions::new(out.clone(), Target::Host);
    opts.duration = Some(Duration::from_millis(3000));
    opts.syscalls = "execve,kill".into();
    static NEVER: AtomicBool = AtomicBool::new(false);
    let mut killed = false;
    let summary = hindsight_recorder::record(&opts, &NEVER, |_, _| {
        if !killed {
            // SAFETY: plain kill of our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
    })
    .expect("record");
    assert!(killed, "no progress call during a 3 s recording");
    let _ = child.wait();
    let (events, manifest) = common::read_events(&out);
    let rec = common::Rec {
        events,
        manifest,
        summary,
        dir,
    };
    let snaps = rec.kind(EventKind::ProcessSnapshot);
    assert!(snaps.iter().any(|e| e.process_pid == 1), "no pid 1");
    let me = std::process::id() as i32;
    assert!(
        snaps.iter().all(|e| e.process_pid != me),
        "recorder in its snapshot"
    );
    let s: Vec<_> = snaps.iter().filter(|e| e.process_pid == pid).collect();
    assert_eq!(s.len(), 1, "no snapshot of the sleep ({pid})");
    let s = s[0];
    let sleep = std::fs::canonicalize("/bin/sleep").unwrap();
    let sleep = sleep.to_str().unwrap();
    assert_eq!(s.process_executable.as_deref(), Some(sleep));
    assert_eq!(s.file_path.as_deref(), Some(sleep));
    assert_eq!(
        s.process_args.as_deref(),
        Some(&["/bin/sleep".to_string(), "30".to_string()][..])
    );
    assert_eq!(s.process_command_line.as_deref(), Some("/bin/sleep 30"));
    assert_eq!(s.process_parent_pid, Some(me));
    assert_eq!(s.process_name.as_deref(), Some("sleep"));
    assert_eq!(s.user_id, Some(0));
    assert_eq!(s.user_name.as_deref(), Some("root"));
    assert_eq!(s.kernel_source.as_deref(), Some("procfs"));
    assert!(s.cgroup_id.is_some_and(|c| c > 0));
    // Snapshot rows come first, stamped before anything recorded.
    let first_other = rec
        .events
        .iter()
        .filter(|e| e.event_kind != EventKind::ProcessSnapshot)
        .map(|e| (e.seq, e.time_ns))
        .min();
    if let Some((seq, time)) = first_other {
        assert!(snaps.iter().all(|e| e.seq < seq && e.time_ns <= time));
    }
    // Its death, with what it was.
    let exits: Vec<_> = rec
        .kind(EventKind::ProcessExit)
        .into_iter()
        .filter(|e| e.process_pid == pid)
        .collect();
    assert_eq!(exits.len(), 1, "{}", rec.dump());
    assert_eq!(exits[0].process_exit_signal, Some(9));
    assert_eq!(exits[0].process_executable.as_deref(), Some(sleep));
    assert_eq!(
        exits[0].process_args.as_deref(),
        Some(&["/bin/sleep".to_string(), "30".to_string()][..])
    );
}
