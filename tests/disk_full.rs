//! A recording whose writer stopped on a full disk: its manifest says so,
//! and `info` and `query` give that reason (not a guess that the recorder
//! was killed) while reading every row it made durable. Needs root (it
//! mounts a small tmpfs); skips with a printed reason otherwise.

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

/// A small tmpfs, unmounted on drop.
struct SmallTmpfs(tempfile::TempDir);

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

impl SmallTmpfs {
    /// Mounts one of `size` (`mount -o size=`).
    fn mount(size: &str) -> SmallTmpfs {
        let tmpfs = SmallTmpfs(tempfile::tempdir().unwrap());
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(tmpfs.0.path())
            .status()
            .unwrap();
        assert!(mounted.success());
        tmpfs
    }
}

#[test]
fn info_and_query_name_the_full_disk() {
    if !is_root() {
        eprintln!("skipped info_and_query_name_the_full_disk: mounting a tmpfs needs root");
        return;
    }
    let tmpfs = SmallTmpfs::mount("2m");
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
    // The note counts the spool's rows, which recovery would add: those the
    // last successful flush made durable. (A flush that failed half-way may
    // have left a few more readable, fewer than one append.)
    let note = m
        .notes
        .iter()
        .find_map(|n| n.split_once(" more row(s), made durable by the last flush"))
        .unwrap_or_else(|| panic!("no note counts the spool's rows: {:?}", m.notes))
        .0;
    let spooled: u64 = note.rsplit(' ').next().unwrap().parse().unwrap();
    let beyond = expected - m.rows();
    assert!(
        spooled > 0 && spooled <= beyond && beyond - spooled < 3_000,
        "the note says {spooled} rows, the spool holds {beyond}"
    );

    let o = hindsight().arg("info").arg(&rec).output().unwrap();
    // The report on stdout, its warnings (the error itself) on stderr.
    let out = String::from_utf8_lossy(&o.stdout);
    let warnings = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{warnings}");
    assert!(
        out.contains("INCOMPLETE (its writer stopped on an error")
            && warnings.contains("no space left on device"),
        "{out}\n{warnings}"
    );
    assert!(
        !out.contains("killed") && !warnings.contains("killed"),
        "{out}"
    );

    let (n, stderr) = count_events(&rec);
    assert_eq!(n, expected, "{stderr}");
    assert!(
        stderr.contains("no space left on device") && !stderr.contains("killed"),
        "{stderr}"
    );
    drop(tmpfs);
}

/// `hindsight record -- CMD` onto a disk that fills up: recording stops
/// there (the recorder says so at once, while the command runs on), the
/// summary still comes with the command's exit code, and the recorder
/// exits 125 (its own failure, not the command's status) with the error. (It used to wait silently, then print the error
/// alone: the exit code and the summary were lost.)
#[test]
fn record_onto_a_full_disk_keeps_the_summary_and_the_exit_code() {
    if !is_root() {
        eprintln!(
            "skipped record_onto_a_full_disk_keeps_the_summary_and_the_exit_code: needs root"
        );
        return;
    }
    let tmpfs = SmallTmpfs::mount("512k");
    let rec = tmpfs.0.path().join("rec");
    // Random paths, which no encoding shrinks much: 512 KiB fill up
    // within the first second, whatever share the ring buffer drops.
    let busy = "import os, sys, time\n\
                t = time.time()\n\
                while time.time() - t < 3:\n    \
                    os.access('/nonexistent/' + os.urandom(24).hex(), 0)\n\
                time.sleep(3)\n\
                sys.exit(5)";
    let o = hindsight()
        .args(["record", "--syscalls", "all", "-o"])
        .arg(&rec)
        .args(["--", "python3", "-c", busy])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    for want in [
        "no space left on device",
        "recording stopped after",
        "the command runs on unrecorded until it exits",
        "The command exited with code 5.",
        "error: recording into",
    ] {
        assert!(err.contains(want), "{want:?} in {err}");
    }
    let m = Manifest::read(&rec).unwrap();
    assert!(!m.complete);
    assert!(
        m.stopped
            .as_deref()
            .is_some_and(|s| s.contains("no space left on device")),
        "{m:?}"
    );
    drop(tmpfs);
}
