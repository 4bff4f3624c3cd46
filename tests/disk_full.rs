//! A recording whose writer stopped on a full disk: its manifest says so,
//! and `info` and `query` give that reason (not a guess that the recorder
//! was killed) while reading every row it made durable. Needs root (it
//! mounts a 2 MiB tmpfs); skips with a printed reason otherwise.

use std::process::Command;

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_format::{Manifest, Recording, RecordingWriter, WriterOptions};

#[path = "support/count.rs"]
mod count;
#[path = "support/root.rs"]
mod root;
use count::count_events;
use root::is_root;

fn hindsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

/// A 2 MiB tmpfs, unmounted on drop.
struct SmallTmpfs(tempfile::TempDir);

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn info_and_query_name_the_full_disk() {
    if !is_root() {
        eprintln!("skipped info_and_query_name_the_full_disk: mounting a tmpfs needs root");
        return;
    }
    let tmpfs = SmallTmpfs(tempfile::tempdir().unwrap());
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(tmpfs.0.path())
        .status()
        .unwrap();
    assert!(mounted.success());
    let rec = tmpfs.0.path().join("rec");
    let mut generator = Generator::new(GeneratorConfig {
        events: 10_000_000,
        ..Default::default()
    });
    let opts = WriterOptions {
        segment_rows: 10_000,
        checkpoint_rows: 4_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&rec, generator.manifest(), opts).unwrap();
    let err = loop {
        let batch = generator.next_batch(3_000);
        assert!(!batch.is_empty(), "the disk never filled up");
        if let Err(e) = w.append_owned(batch).and_then(|()| w.flush()) {
            break e;
        }
    };
    assert!(err.is_disk_full(), "{err}");
    drop(w);

    let m = Manifest::read(&rec).unwrap();
    assert!(!m.complete);
    assert!(
        m.stopped
            .as_deref()
            .is_some_and(|s| s.contains("no space left on device")),
        "{m:?}"
    );
    let expected = Recording::open(&rec).unwrap().rows();
    assert!(expected > m.rows(), "rows beyond the segments in the spool");

    let o = hindsight().arg("info").arg(&rec).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("INCOMPLETE (its writer stopped on an error")
            && out.contains("no space left on device"),
        "{out}"
    );
    assert!(!out.contains("killed"), "{out}");

    let (n, stderr) = count_events(&rec);
    assert_eq!(n, expected, "{stderr}");
    assert!(
        stderr.contains("no space left on device") && !stderr.contains("killed"),
        "{stderr}"
    );
    drop(tmpfs);
}
