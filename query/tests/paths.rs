//! How a PATH argument names a local recording: a plain path as it is, a
//! `file://` URL percent-decoded, and names an object-store path cannot
//! hold refused with a message that says so.

mod common;

use std::path::Path;

use hindsight_query::QueryError;
use hindsight_query::source::resolve;

/// Copies the directory `from` (a recording) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `count(*)` of `events` over `path`.
async fn count(path: &str) -> String {
    common::single_i64(path, "SELECT count(*) FROM events")
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_string()
}

/// A `file://` URL is percent-decoded (before, `file:///…/rec%20%5Ba%5D`
/// was looked up as it is: no such file or directory); the raw characters
/// still work, and a plain path is taken as it is, `%` and all.
#[tokio::test]
async fn file_urls_are_percent_decoded_and_plain_paths_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let small = common::small();
    copy_dir(Path::new(&small), &base.join("rec [a]"));
    copy_dir(Path::new(&small), &base.join("rec%20x"));
    let base = base.display().to_string();
    for path in [
        format!("file://{base}/rec%20%5Ba%5D"),
        format!("file://{base}/rec [a]"),
        format!("{base}/rec [a]"),
        format!("{base}/rec%20x"),
        format!("file://{base}/rec%2520x"),
    ] {
        assert_eq!(count(&path).await, "20000", "{path}");
    }
    // The plain path `rec%20x` is that directory, not `rec x`.
    let err = resolve(&format!("{base}/rec%20%5Ba%5D"))
        .await
        .expect_err("no such directory");
    assert!(matches!(err, QueryError::NotFound { .. }), "{err}");
    // `#` and `?` of a name are encoded in a URL; raw, they are refused.
    let err = resolve(&format!("file://{base}/rec#x"))
        .await
        .expect_err("a fragment");
    assert!(
        err.to_string().contains("write ? as %3F and # as %23"),
        "{err}"
    );
}

/// A name with a control character (a newline) cannot be read through an
/// object-store path: a recording so named, or a tree holding one, is
/// refused with an error that names it and says why (before: the object
/// store's "illegal character sequence" about a path without its root, or
/// for the tree "Encountered object with invalid path").
#[tokio::test]
async fn names_with_control_characters_are_refused_saying_which() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let small = common::small();
    let rec = base.join("rec\nx");
    copy_dir(Path::new(&small), &rec);
    let tree = base.join("tree");
    let inner = tree.join("host=a").join("b\u{7}c");
    copy_dir(Path::new(&small), &inner);
    let tree2 = base.join("tree2");
    let bad_utf8 =
        tree2.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"rec\xff"));
    copy_dir(Path::new(&small), &bad_utf8);
    let cases = [
        (
            rec.clone(),
            rec.clone(),
            "rec\nx",
            "holds the control character '\\n'",
        ),
        (
            rec.join("events"),
            rec.join("events"),
            "rec\nx",
            "holds the control character '\\n'",
        ),
        (
            tree.clone(),
            inner.clone(),
            "b\u{7}c",
            "holds the control character '\\u{7}'",
        ),
        (
            tree2.clone(),
            bad_utf8.clone(),
            "rec\u{fffd}",
            "is not UTF-8",
        ),
    ];
    for (path, file, name, reason) in cases {
        let err = resolve(&path.display().to_string())
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(&err, QueryError::IllegalName { file: f, name: n, reason: r }
                if *f == file.display().to_string() && n == name && r == reason),
            "{text}"
        );
        assert!(
            text.starts_with(&format!(
                "{:?}: cannot be queried",
                file.display().to_string()
            )),
            "{text}"
        );
        assert!(text.ends_with("; rename it"), "{text}");
    }
}

/// A tree whose listing fails on a loop of symbolic links (two of them,
/// `loop-a -> .` and `loop-b -> ..`) is an error at once: the search for
/// an illegal name that follows a failed listing enters each directory once
/// (before, it followed both links down to depth 64: 2^64 paths, and
/// `hindsight query TREE` hung instead of reporting).
#[test]
fn a_tree_with_looping_links_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let tree = base.join("tree");
    let rec = tree.join("rec");
    copy_dir(Path::new(&common::small()), &rec);
    std::os::unix::fs::symlink(".", tree.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("..", rec.join("loop-b")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = tree.display().to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _ = tx.send(runtime.block_on(resolve(&path)).map(|_| ()));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("resolve hung on a tree with looping links");
    let err = result.expect_err("the listing fails on the loop");
    assert!(!matches!(err, QueryError::IllegalName { .. }), "{err}");
}
