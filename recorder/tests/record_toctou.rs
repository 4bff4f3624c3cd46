//! Live tests of the TOCTOU verdict that must not depend on the file system
//! at decode time: the kernel's own copy of each path (from `names_cache`)
//! is compared with the entry copy in the kernel. Root only.

mod common;

use common::{can_record, record};

/// `cat scratch/shadow-link` where `scratch` is removed right after (as in
/// `hindsight demo`): the link no longer resolves when the row is decoded,
/// yet the kernel copied exactly the name user memory held, so this is no
/// mismatch. A `..` path and an absolute path through the link neither.
#[test]
fn open_through_a_symlink_removed_before_decode_is_no_mismatch() {
    if !can_record("open_through_a_symlink_removed_before_decode") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "secret\n").unwrap();
    let script = format!(
        "cd {d} && mkdir scratch && ln -s {d}/target.txt scratch/shadow-link && \
         cat scratch/shadow-link scratch/../scratch/shadow-link {d}/scratch/shadow-link >/dev/null && \
         rm -rf scratch"
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    assert!(
        !dir.path().join("scratch").exists(),
        "the scratch dir must be gone before the rows are read"
    );
    assert!(
        rec.manifest
            .hooks
            .active
            .iter()
            .any(|h| h == "raw_tracepoint/kmem_cache_free"),
        "{:?}",
        rec.manifest.hooks
    );
    let t = target.to_str().unwrap();
    let abs = format!("{d}/scratch/shadow-link");
    for user in [
        "scratch/shadow-link",
        "scratch/../scratch/shadow-link",
        abs.as_str(),
    ] {
        let opens: Vec<_> = rec
            .sys("openat")
            .into_iter()
            .filter(|e| e.file_path_user.as_deref() == Some(user))
            .collect();
        assert_eq!(opens.len(), 1, "{user}:\n{}", rec.dump());
        let o = opens[0];
        assert_eq!(o.file_path.as_deref(), Some(t), "{user}");
        assert_eq!(o.toctou_mismatch, Some(false), "{user}:\n{}", rec.dump());
        assert_eq!(o.kernel_source.as_deref(), Some("sys_exit_fd"));
        assert_eq!(o.file_path_user_err, Some(0));
    }
}

/// A failed open has no object, but the kernel's copy of the name is still
/// the authoritative value of what was tried.
#[test]
fn failed_open_keeps_the_name_the_kernel_tried() {
    if !can_record("failed_open_keeps_the_name_the_kernel_tried") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let m = missing.to_str().unwrap();
    let script = format!("cat {m} 2>/dev/null; exit 0");
    let rec = record(&["/bin/sh", "-c", &script]);
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some(m))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    let o = opens[0];
    assert_eq!(o.ret, Some(-2), "ENOENT");
    assert_eq!(o.file_path.as_deref(), Some(m));
    assert_eq!(o.kernel_source.as_deref(), Some("names_cache"));
    assert_eq!(o.toctou_mismatch, Some(false));
    assert_eq!(o.file_inode, None);
}

/// unlink/rename/chmod of names in a directory removed before decode: the
/// kernel's copies of both names are the authoritative values.
#[test]
fn path_calls_use_the_kernel_copy_of_their_names() {
    if !can_record("path_calls_use_the_kernel_copy_of_their_names") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!(
        "cd {d} && mkdir w && touch w/a && mv w/a w/b && chmod 600 w/b && rm w/b && rmdir w"
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    let ren: Vec<_> = rec
        .events
        .iter()
        .filter(|e| {
            e.syscall
                .as_deref()
                .is_some_and(|s| s.starts_with("rename"))
        })
        .collect();
    assert_eq!(ren.len(), 1, "{}", rec.dump());
    assert_eq!(
        ren[0].file_path.as_deref(),
        Some(format!("{d}/w/a").as_str())
    );
    assert_eq!(
        ren[0].file_target_path.as_deref(),
        Some(format!("{d}/w/b").as_str())
    );
    assert_eq!(ren[0].kernel_source.as_deref(), Some("names_cache"));
    assert_eq!(ren[0].toctou_mismatch, Some(false));
    let un: Vec<_> = rec
        .events
        .iter()
        .filter(|e| {
            e.syscall
                .as_deref()
                .is_some_and(|s| s.starts_with("unlink"))
        })
        .filter(|e| e.file_path.as_deref() == Some(format!("{d}/w/b").as_str()))
        .collect();
    assert_eq!(un.len(), 1, "{}", rec.dump());
    assert_eq!(un[0].kernel_source.as_deref(), Some("names_cache"));
    assert_eq!(un[0].toctou_mismatch, Some(false));
}

/// Paths longer than the capture buffers are flagged `file_path_truncated`:
/// a user-memory path over 255 bytes (still compared whole), and a
/// kernel walk that does not fit (its `file_path` keeps the leaf side after
/// a leading `...`).
#[test]
fn long_paths_are_flagged_truncated() {
    if !can_record("long_paths_are_flagged_truncated") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut deep = dir.path().to_path_buf();
    for c in ['a', 'b', 'c', 'd', 'e'] {
        deep.push(c.to_string().repeat(200));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("leaf.txt"), "x\n").unwrap();
    let second = dir.path().join("a".repeat(200)).join("b".repeat(200));
    let long_user = second.join("second.txt");
    std::fs::write(&long_user, "y\n").unwrap();
    let lu = long_user.to_str().unwrap();
    assert!(lu.len() > 255);
    let script = format!(
        "cat {lu} >/dev/null && cd {} && cat leaf.txt >/dev/null",
        deep.display()
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    // The user path: its first 255 bytes, flagged; the kernel path whole.
    let o: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path.as_deref() == Some(lu))
        .collect();
    assert_eq!(o.len(), 1, "{}", rec.dump());
    assert_eq!(o[0].file_path_user.as_deref(), Some(&lu[..255]));
    assert_eq!(o[0].file_path_truncated, Some(true));
    // The whole entry copy (kept in the kernel) equals the kernel's copy.
    assert_eq!(o[0].toctou_mismatch, Some(false), "{}", rec.dump());
    // The kernel walk of a 1000-byte directory chain: cut, leaf side kept.
    let o: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some("leaf.txt"))
        .collect();
    assert_eq!(o.len(), 1, "{}", rec.dump());
    let kp = o[0].file_path.as_deref().unwrap_or("");
    assert!(kp.starts_with("..."), "{kp}");
    assert!(
        kp.ends_with(&format!("/{}/leaf.txt", "e".repeat(200))),
        "{kp}"
    );
    assert_eq!(o[0].file_path_truncated, Some(true));
    assert_eq!(
        o[0].toctou_mismatch,
        Some(false),
        "the kernel copied `leaf.txt`"
    );
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(deep.join("leaf.txt")).unwrap().ino()
    };
    assert_eq!(o[0].file_inode, Some(inode));
    // Ordinary rows say so too.
    let short = rec
        .kind(hindsight_format::EventKind::ProcessExec)
        .into_iter()
        .find(|e| e.process_name.as_deref() == Some("cat"))
        .unwrap();
    assert_eq!(short.file_path_truncated, Some(false));
}
