//! Crash safety of a busy writer: rows made durable by checkpoints (closed
//! row groups of the temporary segment file plus their footer) instead of
//! the spool, read back in memory and by `recover`.

use std::fs;
use std::path::Path;

mod common;

use common::{SmallTmpfs, events, header, read_all};
use hindsight_format::{Manifest, Recording, RecordingWriter, WriterOptions, recover};

/// A writer that checkpoints once 1 000 rows arrived between flushes.
fn busy_writer(dir: &Path) -> RecordingWriter {
    let opts = WriterOptions {
        batch_rows: 500,
        checkpoint_rows: 1_000,
        ..Default::default()
    };
    RecordingWriter::create(dir, header(), opts).unwrap()
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn busy_writer_checkpoints_and_a_crash_keeps_every_flushed_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(5_800, 21);
    let mut w = busy_writer(&dir);
    let spool = dir.join("spool/spool-000000.arrows");

    w.append(&ev[..5_000]).unwrap();
    w.flush().unwrap();
    // 5 000 rows arrived: checkpointed, not copied into the spool.
    let checkpoint = dir.join("spool/checkpoint-000000.parquet-footer");
    assert!(checkpoint.exists());
    let empty_spool = size(&spool);
    assert!(
        empty_spool < 16 << 10,
        "the spool restarted empty: {empty_spool}"
    );

    w.append(&ev[5_000..5_300]).unwrap();
    w.flush().unwrap();
    // 300 rows: few enough for the spool.
    assert!(size(&spool) > empty_spool);

    w.append(&ev[5_300..]).unwrap(); // never flushed: lost by the "kill"
    w.abandon();

    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.salvaged_rows(), 5_300);
    assert_eq!(read_all(&dir), ev[..5_300].to_vec());

    let report = recover(&dir).unwrap();
    assert_eq!(report.rows_salvaged, 5_300);
    assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
    assert_eq!(read_all(&dir), ev[..5_300].to_vec());
    assert!(!dir.join("spool").exists(), "checkpoint and spool removed");
    let names: Vec<_> = fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["part-000000.parquet"]);
    assert!(recover(&dir).unwrap().already_complete);
}

#[test]
fn crash_between_checkpoint_and_spool_restart_reads_no_row_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(3_000, 22);
    let mut w = busy_writer(&dir);
    w.append(&ev[..400]).unwrap();
    w.flush().unwrap(); // into the spool (generation 0)
    let spool = dir.join("spool/spool-000000.arrows");
    let generation0 = fs::read(&spool).unwrap();
    w.append(&ev[400..]).unwrap();
    w.flush().unwrap(); // checkpoint of generation 0, spool restarted
    w.abandon();
    // As if the writer died before renaming the new spool into place.
    fs::write(&spool, generation0).unwrap();

    assert_eq!(Recording::open(&dir).unwrap().salvaged_rows(), 3_000);
    assert_eq!(read_all(&dir), ev);
    recover(&dir).unwrap();
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn committed_segments_leave_no_checkpoint_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(12_000, 23);
    let opts = WriterOptions {
        segment_rows: 5_000,
        batch_rows: 700,
        checkpoint_rows: 1_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    for chunk in ev.chunks(1_500) {
        w.append(chunk).unwrap();
        w.flush().unwrap();
    }
    let m = w.finish().unwrap();
    assert_eq!(m.segments.len(), 3);
    assert_eq!(read_all(&dir), ev);
    assert!(!dir.join("spool").exists());
    // A checkpointing writer's row groups are about a flush interval of rows.
    let seg = fs::File::open(dir.join(&m.segments[0].file)).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(
        &parquet::file::reader::SerializedFileReader::new(seg).unwrap(),
    )
    .clone();
    assert!(meta.num_row_groups() > 1, "{}", meta.num_row_groups());
}

#[test]
fn unreadable_checkpoint_keeps_the_temporary_file_and_salvages_the_spool() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(2_500, 24);
    let mut w = busy_writer(&dir);
    w.append(&ev[..2_000]).unwrap();
    w.flush().unwrap(); // checkpoint
    w.append(&ev[2_000..]).unwrap();
    w.flush().unwrap(); // spool, generation 1
    w.abandon();
    let part = dir.join("events/.part-000000.parquet.tmp");
    let f = fs::OpenOptions::new().write(true).open(&part).unwrap();
    f.set_len(100).unwrap(); // the row groups are gone

    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.salvaged_rows(), 500);
    assert!(
        rec.warnings().iter().any(|w| w.contains("checkpoint")),
        "{:?}",
        rec.warnings()
    );
    let report = recover(&dir).unwrap();
    assert_eq!(report.rows_salvaged, 500);
    assert_eq!(report.unreadable.len(), 1, "{:?}", report.unreadable);
    assert!(
        dir.join("events/.part-000000.parquet.tmp.unreadable")
            .exists(),
        "kept, not deleted"
    );
    assert_eq!(read_all(&dir), ev[2_000..].to_vec());
    let m = Manifest::read(&dir).unwrap();
    assert!(m.complete && m.recovered);
}

#[test]
fn rows_of_a_later_generation_follow_a_later_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(10_500, 25);
    let mut w = busy_writer(&dir);
    for range in [0..5_000, 5_000..5_300, 5_300..10_300, 10_300..10_500] {
        w.append(&ev[range]).unwrap();
        w.flush().unwrap(); // checkpoint, spool, checkpoint, spool
    }
    w.abandon();
    assert_eq!(read_all(&dir), ev);
    recover(&dir).unwrap();
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn dropping_a_busy_writer_checkpoints_what_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(5_000, 26);
    let mut w = busy_writer(&dir);
    w.append(&ev).unwrap(); // 5 000 rows held: a checkpoint is due
    drop(w); // e.g. a panic unwinding
    assert!(dir.join("spool/checkpoint-000000.parquet-footer").exists());
    assert_eq!(Recording::open(&dir).unwrap().salvaged_rows(), 5_000);
    recover(&dir).unwrap();
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn rewriting_an_unsorted_segment_keeps_the_checkpointed_file_until_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(4_000, 27);
    let mut w = busy_writer(&dir);
    w.append(&ev[2_000..]).unwrap();
    w.flush().unwrap(); // checkpoint of rows 2000..4000
    let part = dir.join("events/.part-000000.parquet.tmp");
    let link = tmp.path().join("checkpointed.parquet");
    fs::hard_link(&part, &link).unwrap();
    let before = fs::read(&link).unwrap();
    w.append(&ev[..2_000]).unwrap(); // out of seq order: rewritten at commit
    w.finish().unwrap();
    // The file the checkpoint listed was never rewritten in place (a crash
    // during the rewrite would have lost its rows).
    assert!(fs::read(&link).unwrap().starts_with(&before));
    assert!(!part.exists(), "removed once the sorted copy was committed");
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn a_segment_committed_but_not_yet_listed_is_read_whole() {
    // The window between a segment's rename and the manifest naming it.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(5_500, 28);
    let opts = WriterOptions {
        segment_rows: 5_000,
        batch_rows: 500,
        checkpoint_rows: 1_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&ev[..3_000]).unwrap();
    w.flush().unwrap(); // checkpoint of segment 0
    let manifest = fs::read(dir.join("manifest.json")).unwrap();
    let spool = dir.join("spool/spool-000000.arrows");
    let checkpoint = dir.join("spool/checkpoint-000000.parquet-footer");
    let (spool_bytes, checkpoint_bytes) =
        (fs::read(&spool).unwrap(), fs::read(&checkpoint).unwrap());
    w.append(&ev[3_000..]).unwrap(); // segment 0 committed at 5 000 rows
    w.flush().unwrap(); // 500 rows of segment 1 in its spool
    w.abandon();
    // As if the writer died before rewriting the manifest and cleaning up.
    fs::write(dir.join("manifest.json"), manifest).unwrap();
    fs::write(&spool, spool_bytes).unwrap();
    fs::write(&checkpoint, checkpoint_bytes).unwrap();

    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.salvaged_rows(), 5_500, "{:?}", rec.warnings());
    assert_eq!(read_all(&dir), ev);
    let report = recover(&dir).unwrap();
    assert_eq!(report.segments_adopted, ["events/part-000000.parquet"]);
    assert_eq!(read_all(&dir), ev);
    assert!(!dir.join("spool").exists());
}

#[test]
fn full_disk_while_checkpointing_fails_every_later_flush() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let mnt = tmpfs.path();
    let dir = mnt.join("rec");
    let opts = WriterOptions {
        segment_rows: 1 << 30,
        segment_bytes: 1 << 40,
        batch_rows: 2_000,
        checkpoint_rows: 4_000,
        zstd_level: 1,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    let ev = events(8_000, 29);
    let mut err = None;
    let mut durable = 0;
    for _ in 0..400 {
        // The same rows again and again: seq order does not matter here.
        match w.append(&ev).and_then(|()| w.flush()) {
            Ok(()) => durable += ev.len(),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("the disk fills up");
    assert!(err.is_disk_full(), "{err}");
    // Nothing is durable any more: later flushes say so.
    let again = w.flush().unwrap_err();
    assert!(
        again.to_string().contains("no longer made durable"),
        "{again}"
    );
    drop(w); // closes its files (so that the tmpfs can be unmounted)
    let m = Manifest::read(&dir).expect("manifest still valid");
    assert!(!m.complete);
    // What was checkpointed before the disk filled up is still readable.
    let rec = Recording::open(&dir).unwrap();
    assert!(
        rec.salvaged_rows() >= durable as u64,
        "{} < {durable}",
        rec.salvaged_rows()
    );
}

/// A kill after an unsorted segment's sorted copy was renamed into place but
/// before its temporary file was removed (and before the manifest named it):
/// the committed file holds every row of the segment, and readers take them
/// from there. (Before, the temporary file made readers take the checkpoint
/// and spool instead, without the rows appended since the last flush, while
/// `query` also read the committed file.)
#[test]
fn a_sorted_copy_committed_before_its_temporary_file_was_removed_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(4_000, 29);
    let mut w = busy_writer(&dir);
    w.append(&ev[2_000..]).unwrap();
    w.flush().unwrap(); // checkpoint of rows 2000..4000
    let manifest = fs::read(dir.join("manifest.json")).unwrap();
    let part = dir.join("events/.part-000000.parquet.tmp");
    let link = tmp.path().join("checkpointed.parquet");
    fs::hard_link(&part, &link).unwrap();
    let kept: Vec<_> = fs::read_dir(dir.join("spool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    // Out of seq order and not flushed: only the segment holds these rows.
    w.append(&ev[..2_000]).unwrap();
    w.finish().unwrap();
    // As if the writer died right after renaming the sorted copy.
    fs::write(dir.join("manifest.json"), manifest).unwrap();
    fs::create_dir_all(dir.join("spool")).unwrap();
    for (p, bytes) in &kept {
        fs::write(p, bytes).unwrap();
    }
    fs::hard_link(&link, &part).unwrap();

    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.rows(), 4_000, "{:?}", rec.warnings());
    let mut seqs: Vec<u64> = read_all(&dir).iter().map(|e| e.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..4_000).collect::<Vec<_>>());
    recover(&dir).unwrap();
    assert_eq!(Manifest::read(&dir).unwrap().rows(), 4_000);
    assert!(!part.exists());
}
