//! Live tests of whole-host recordings: the recorder never records itself,
//! even with every syscall on, and `--cgroup` keeps only that cgroup's
//! tasks (filtered in the kernel). Root only.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command};
use std::time::Duration;

use common::{can_record, record_opts};
use hindsight_format::EventKind;
use hindsight_recorder::Target;

/// A shell that runs `cat FILE` every 50 ms until killed, after `prelude`.
fn cat_loop(prelude: &str, file: &std::path::Path) -> Child {
    let script = format!(
        "{prelude}\nwhile :; do cat {} > /dev/null; sleep 0.05; done",
        file.display()
    );
    Command::new("/bin/sh")
        .args(["-c", &script])
        .spawn()
        .unwrap()
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
fn whole_host_with_every_syscall_never_records_the_recorder() {
    if !can_record("whole_host_never_records_the_recorder") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("host-marker");
    std::fs::write(&marker, "x").unwrap();
    let other = cat_loop("", &marker);
    // This process is the recorder: its reader, decoder and writer threads
    // make syscalls all along (futex, write, fsync, ...), and so does a
    // thread of its own doing the same opens as the other process.
    let stop_own = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let own = {
        let (stop_own, marker) = (stop_own.clone(), marker.clone());
        std::thread::spawn(move || {
            while !stop_own.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::read(&marker);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let rec = record_opts(&["/bin/true"], |o| {
        o.target = Target::Host;
        o.duration = Some(Duration::from_millis(1500));
        o.syscalls = "all".into();
    });
    stop_own.store(true, std::sync::atomic::Ordering::Relaxed);
    own.join().unwrap();
    stop(other);
    let me = std::process::id() as i32;
    let mine: Vec<_> = rec.events.iter().filter(|e| e.process_pid == me).collect();
    assert!(mine.is_empty(), "{} rows of the recorder", mine.len());
    // The recording was live: the other process's opens of the marker are in.
    let m = marker.to_str().unwrap();
    let opens = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path.as_deref() == Some(m))
        .count();
    assert!(opens >= 5, "{opens} opens of {m} by the other process");
    assert!(
        rec.events
            .iter()
            .any(|e| e.event_kind == EventKind::Syscall)
    );
}

#[test]
fn cgroup_filter_keeps_only_that_cgroup() {
    if !can_record("cgroup_filter_keeps_only_that_cgroup") {
        return;
    }
    let Some(root) = hindsight_recorder::session::cgroup2_root() else {
        eprintln!("skipped cgroup_filter_keeps_only_that_cgroup: no cgroup v2 mount");
        return;
    };
    let cg = root.join(format!("hindsight-test-{}", std::process::id()));
    std::fs::create_dir(&cg).unwrap();
    let cg_id = std::fs::metadata(&cg).unwrap().ino();
    let dir = tempfile::tempdir().unwrap();
    let (inside, outside) = (dir.path().join("inside"), dir.path().join("outside"));
    std::fs::write(&inside, "x").unwrap();
    std::fs::write(&outside, "x").unwrap();
    // The shell moves itself into the cgroup before its loop.
    let joined = cat_loop(&format!("echo $$ > {}/cgroup.procs", cg.display()), &inside);
    let left_out = cat_loop("", &outside);
    std::thread::sleep(Duration::from_millis(200));
    let rec = record_opts(&["/bin/true"], |o| {
        o.target = Target::Host;
        o.duration = Some(Duration::from_millis(1500));
        o.syscalls = "openat,execve".into();
        // Named with a detour through `..`: the level is the real path's.
        o.cgroup = Some(cg.join("..").join(cg.file_name().unwrap()));
    });
    stop(joined);
    stop(left_out);
    let _ = std::fs::remove_dir(&cg);
    let opened = |p: &std::path::Path| {
        let p = p.to_str().unwrap();
        rec.sys("openat")
            .into_iter()
            .filter(|e| e.file_path.as_deref() == Some(p))
            .count()
    };
    assert!(opened(&inside) >= 5, "{}", rec.dump());
    assert_eq!(opened(&outside), 0, "{}", rec.dump());
    // Every syscall row comes from a task of that cgroup.
    let syscalls: Vec<_> = rec.kind(EventKind::Syscall);
    assert!(
        syscalls.iter().all(|e| e.cgroup_id == Some(cg_id)),
        "{}",
        rec.dump()
    );
}

/// `--cgroup` naming something that is no cgroup of the cgroup2 hierarchy
/// (a plain directory, a cgroup v1 hierarchy, a path out of the mount
/// through `..`) is refused; it used to record nothing, silently.
#[test]
fn cgroup_filter_refuses_what_is_no_cgroup2_cgroup() {
    if !can_record("cgroup_filter_refuses_what_is_no_cgroup2_cgroup") {
        return;
    }
    let Some(root) = hindsight_recorder::session::cgroup2_root() else {
        eprintln!("skipped cgroup_filter_refuses_what_is_no_cgroup2_cgroup: no cgroup v2 mount");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Relative to the cgroup2 mount: out of it to /tmp, and to a cgroup v1
    // hierarchy beside it where there is one.
    let mut paths = vec![std::path::PathBuf::from("../../../../../tmp")];
    if root.join("../cpu").is_dir() {
        paths.push("../cpu".into());
    }
    for path in paths {
        let mut opts = hindsight_recorder::RecordOptions::new(dir.path().join("rec"), Target::Host);
        opts.duration = Some(Duration::from_millis(100));
        opts.cgroup = Some(path.clone());
        static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        match hindsight_recorder::record(&opts, &NEVER, |_, _| {}) {
            Err(hindsight_recorder::RecordError::Cgroup(msg)) => {
                assert!(
                    msg.contains("is not a cgroup of the cgroup2 hierarchy"),
                    "{msg}"
                );
            }
            other => panic!("{}: {:?}", path.display(), other.map(|s| s.events)),
        }
        assert!(!dir.path().join("rec").exists());
    }
}
