//! Live tests of the kernel-side filters. Root only.

mod common;

use common::{can_record, record_opts};

/// `--ignore-prefix DIR/`: syscalls on objects in that directory are not
/// submitted by the kernel (counted instead), matched on the object the
/// kernel opened, so a symlink into the directory is ignored and a symlink
/// out of it is not.
#[test]
fn ignore_prefix_drops_objects_in_the_directory_in_the_kernel() {
    if !can_record("ignore_prefix_drops_objects_in_the_directory_in_the_kernel") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let ign = dir.path().join("ignored");
    std::fs::create_dir(&ign).unwrap();
    std::fs::write(ign.join("noise"), "noise\n").unwrap();
    std::os::unix::fs::symlink(ign.join("noise"), dir.path().join("into")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", ign.join("out")).unwrap();
    let script = format!(
        "cat /proc/version {d}/ignored/noise {d}/into {d}/ignored/out /etc/hostname >/dev/null"
    );
    let rec = record_opts(&["/bin/sh", "-c", &script], |o| {
        o.ignore_prefixes = vec!["/proc/".into(), format!("{d}/ignored/")];
    });
    let opens = rec.sys("openat");
    let users: Vec<_> = opens
        .iter()
        .filter_map(|e| e.file_path_user.as_deref())
        .collect();
    for gone in [
        "/proc/version".to_string(),
        format!("{d}/ignored/noise"),
        format!("{d}/into"),
    ] {
        assert!(!users.contains(&gone.as_str()), "{gone}:\n{}", rec.dump());
    }
    assert!(
        opens
            .iter()
            .all(|e| !e.file_path.as_deref().unwrap_or("").starts_with("/proc/")),
        "{}",
        rec.dump()
    );
    // A symlink out of the ignored directory names an object outside it.
    let out = format!("{d}/ignored/out");
    let kept: Vec<_> = opens
        .iter()
        .filter(|e| e.file_path_user.as_deref() == Some(out.as_str()))
        .collect();
    assert_eq!(kept.len(), 1, "{}", rec.dump());
    assert_eq!(kept[0].file_path.as_deref(), Some("/etc/hostname"));
    assert!(users.contains(&"/etc/hostname"), "{}", rec.dump());
    // The three opens (and any /proc reads of the loader) were dropped in
    // the kernel, and counted.
    assert!(
        rec.summary.ignored_kernel >= 3,
        "ignored in kernel: {}",
        rec.summary.ignored_kernel
    );
    assert!(rec.summary.ignored >= rec.summary.ignored_kernel);
    // Process rows stay: the exec of cat is there.
    assert!(
        rec.kind(hindsight_format::EventKind::ProcessExec)
            .iter()
            .any(|e| e.process_name.as_deref() == Some("cat")),
        "{}",
        rec.dump()
    );
}

/// LSM and fentry are probed at start and reported in the manifest; they
/// are never required (this recording works either way).
#[test]
fn trampoline_hooks_are_probed_and_reported() {
    if !can_record("trampoline_hooks_are_probed_and_reported") {
        return;
    }
    let rec = record_opts(&["/bin/true"], |_| {});
    let probes = rec.manifest.recorder_config["hook_probes"]
        .as_object()
        .unwrap_or_else(|| panic!("no hook_probes: {:?}", rec.manifest.recorder_config))
        .clone();
    for hook in ["lsm/file_open", "fentry/do_filp_open"] {
        let outcome = probes[hook].as_str().unwrap_or_else(|| panic!("{hook}"));
        let unavailable = rec
            .manifest
            .hooks
            .unavailable
            .iter()
            .find(|u| u.name == hook);
        if outcome.starts_with("loads") {
            assert!(unavailable.is_none(), "{hook}: {unavailable:?}");
        } else {
            let u = unavailable.unwrap_or_else(|| panic!("{hook} refused but not reported"));
            assert!(u.reason.starts_with("probed at start: "), "{}", u.reason);
            assert!(u.reason.contains(outcome), "{}", u.reason);
        }
        eprintln!("{hook}: {outcome}");
    }
    assert!(rec.manifest.complete);
    assert_eq!(rec.summary.exit_code, Some(0));
}
