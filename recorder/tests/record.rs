//! Live tests: load the real eBPF programs, run real commands, assert on the
//! rows of the recording. They need root and skip (saying so) without it.

mod common;

use common::{can_record, record};
use hindsight_format::EventKind;

#[test]
fn exec_of_a_known_binary_with_argv_and_open() {
    if !can_record("exec_of_a_known_binary_with_argv_and_open") {
        return;
    }
    let rec = record(&["/bin/cat", "/etc/hostname"]);
    let execs = rec.kind(EventKind::ProcessExec);
    let exec = execs
        .iter()
        .find(|e| {
            e.process_args.as_deref()
                == Some(&["/bin/cat".to_string(), "/etc/hostname".to_string()][..])
        })
        .unwrap_or_else(|| panic!("no exec of cat:\n{}", rec.dump()));
    // /bin is a symlink to /usr/bin on Debian: the kernel's object is the real file.
    let real = std::fs::canonicalize("/bin/cat").unwrap();
    assert_eq!(
        exec.file_path.as_deref(),
        Some(real.to_str().unwrap()),
        "{}",
        rec.dump()
    );
    assert_eq!(exec.file_path_user.as_deref(), Some("/bin/cat"));
    assert_eq!(exec.toctou_mismatch, Some(false));
    assert_eq!(exec.kernel_source.as_deref(), Some("sched_process_exec"));
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some("/etc/hostname"))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    let o = opens[0];
    assert_eq!(o.file_path.as_deref(), Some("/etc/hostname"));
    assert_eq!(o.toctou_mismatch, Some(false));
    assert_eq!(o.kernel_source.as_deref(), Some("sys_exit_fd"));
    let exits = rec.kind(EventKind::ProcessExit);
    assert_eq!(exits.len(), 1, "{}", rec.dump());
    assert_eq!(exits[0].process_exit_code, Some(0));
    assert_eq!(rec.summary.exit_code, Some(0));
}
