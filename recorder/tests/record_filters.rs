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
