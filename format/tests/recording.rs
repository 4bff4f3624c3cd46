//! Writing, reading, crash safety and validation of recordings.

use std::fs;

mod common;

use common::{SmallTmpfs, events, header, read_all};
use hindsight_format::reader::{OpenOptions, discover};
use hindsight_format::{
    EventKind, FORMAT_VERSION, FormatError, Manifest, Recording, RecordingWriter, WriterOptions,
    recover,
};

#[test]
fn roundtrip_through_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(25_000, 3);
    let opts = WriterOptions {
        segment_rows: 10_000,
        batch_rows: 3_000,
        row_group_rows: 4_096,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    for chunk in ev.chunks(777) {
        w.append(chunk).unwrap();
    }
    let m = w.finish().unwrap();
    assert!(m.complete);
    assert_eq!(m.segments.len(), 3);
    assert_eq!(m.rows(), 25_000);
    assert_eq!(m.segments[1].first_seq, 10_000);
    assert!(!dir.join("spool").exists(), "spool removed after finish");
    let rec = Recording::open_with(
        &dir,
        OpenOptions {
            verify: true,
            salvage: true,
        },
    )
    .unwrap();
    assert!(rec.warnings().is_empty(), "{:?}", rec.warnings());
    assert_eq!(read_all(&dir), ev);
    // Permissions: directory 0700, files 0600.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let seg = dir.join(&m.segments[0].file);
    assert_eq!(
        fs::metadata(seg).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn out_of_order_batches_are_sorted_by_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(5_000, 4);
    let opts = WriterOptions {
        batch_rows: 1_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    let (a, b) = ev.split_at(2_500);
    w.append(b).unwrap();
    w.append(a).unwrap();
    w.finish().unwrap();
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn killed_writer_loses_nothing_flushed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(12_000, 5);
    let opts = WriterOptions {
        segment_rows: 5_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&ev[..11_000]).unwrap();
    w.flush().unwrap();
    w.append(&ev[11_000..]).unwrap(); // never flushed: lost by the "kill"
    w.abandon(); // like SIGKILL: no destructor, no finish

    let m = Manifest::read(&dir).unwrap();
    assert!(!m.complete);
    assert_eq!(m.segments.len(), 2);
    // A plain open salvages the spool in memory and changes nothing on disk.
    let before = fs::read(dir.join("manifest.json")).unwrap();
    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.salvaged_rows(), 1_000);
    assert!(
        rec.warnings()
            .iter()
            .any(|w| w.contains("hindsight recover")),
        "{:?}",
        rec.warnings()
    );
    assert_eq!(read_all(&dir), ev[..11_000].to_vec());
    assert_eq!(fs::read(dir.join("manifest.json")).unwrap(), before);

    let report = recover(&dir).unwrap();
    assert_eq!(report.rows_salvaged, 1_000);
    assert_eq!(report.rows, 11_000);
    let m = Manifest::read(&dir).unwrap();
    assert!(m.complete && m.recovered);
    assert_eq!(m.segments.len(), 3);
    assert!(!dir.join("spool").exists());
    let rec = Recording::open_with(
        &dir,
        OpenOptions {
            verify: true,
            salvage: true,
        },
    )
    .unwrap();
    assert_eq!(rec.salvaged_rows(), 0);
    assert_eq!(read_all(&dir), ev[..11_000].to_vec());
    // Idempotent.
    let again = recover(&dir).unwrap();
    assert!(again.already_complete);
    assert_eq!(Manifest::read(&dir).unwrap(), m);
}

#[test]
fn dropped_writer_flushes_its_spool() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(3_000, 6);
    let mut w = RecordingWriter::create(&dir, header(), WriterOptions::default()).unwrap();
    w.append(&ev).unwrap();
    drop(w); // e.g. a panic unwinding: rows reach the spool
    assert_eq!(Recording::open(&dir).unwrap().salvaged_rows(), 3_000);
    recover(&dir).unwrap();
    assert_eq!(read_all(&dir), ev);
}

#[test]
fn torn_spool_is_salvaged_up_to_the_tear_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(4_000, 7);
    let opts = WriterOptions {
        batch_rows: 1_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&ev).unwrap();
    w.flush().unwrap();
    w.abandon();
    let spool = dir.join("spool/spool-000000.arrows");
    let len = fs::metadata(&spool).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&spool).unwrap();
    f.set_len(len - 100).unwrap(); // the last write was torn
    let report = recover(&dir).unwrap();
    assert_eq!(report.rows_salvaged, 3_000);
    assert_eq!(report.unreadable.len(), 1);
    assert!(
        dir.join("spool/spool-000000.arrows.unreadable").exists(),
        "kept, not deleted"
    );
    assert_eq!(read_all(&dir), ev[..3_000].to_vec());
    // A second recover does not salvage the kept file twice.
    recover(&dir).unwrap();
    assert_eq!(read_all(&dir).len(), 3_000);
}

#[test]
fn ring_mode_deletes_oldest_segments_and_counts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let ev = events(20_000, 8);
    let opts = WriterOptions {
        segment_rows: 2_000,
        max_size: Some(150_000),
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&ev).unwrap();
    let m = w.finish().unwrap();
    assert!(m.deleted_segments > 0, "{m:?}");
    assert!(m.segment_bytes() <= 150_000 || m.segments.len() == 1);
    assert_eq!(m.deleted_events + m.rows(), 20_000);
    assert_eq!(m.totals.events_recorded, 20_000);
    assert_eq!(m.segments.len() as u64 + m.deleted_segments, 10);
    let files = fs::read_dir(dir.join("events")).unwrap().count();
    assert_eq!(files, m.segments.len());
    let got = read_all(&dir);
    assert_eq!(got.first().unwrap().seq, m.deleted_events);
    assert_eq!(got, ev[m.deleted_events as usize..].to_vec());
}

fn finished(seed: u64) -> (tempfile::TempDir, std::path::PathBuf, Manifest) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let mut w = RecordingWriter::create(&dir, header(), WriterOptions::default()).unwrap();
    w.append(&events(2_000, seed)).unwrap();
    let m = w.finish().unwrap();
    (tmp, dir, m)
}

#[test]
fn missing_manifest_names_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Recording::open(tmp.path()).unwrap_err();
    assert!(matches!(err, FormatError::MissingManifest { .. }));
    assert!(
        err.to_string().contains(&tmp.path().display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("manifest.json"), "{err}");
}

#[test]
fn newer_format_version_is_refused() {
    let (_t, dir, _) = finished(9);
    let path = dir.join("manifest.json");
    let text = fs::read_to_string(&path).unwrap().replace(
        &format!("\"format_version\": {FORMAT_VERSION}"),
        &format!("\"format_version\": {}", FORMAT_VERSION + 1),
    );
    fs::write(&path, text).unwrap();
    let err = Recording::open(&dir).unwrap_err();
    assert!(
        matches!(err, FormatError::NewerFormat { found, .. } if found == FORMAT_VERSION + 1),
        "{err}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn truncated_segment_is_reported_with_its_name() {
    let (_t, dir, m) = finished(10);
    let seg = dir.join(&m.segments[0].file);
    let len = fs::metadata(&seg).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let err = Recording::open(&dir).unwrap_err();
    assert!(matches!(err, FormatError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("part-000000.parquet"), "{err}");
    // A manifest that agrees with the truncated size still fails: corrupt footer.
    let mut m2 = m.clone();
    m2.segments[0].bytes = len / 2;
    m2.write_atomic(&dir).unwrap();
    let err = Recording::open(&dir).unwrap_err();
    assert!(matches!(err, FormatError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("part-000000.parquet"), "{err}");
}

#[test]
fn hash_mismatch_is_found_when_verifying() {
    let (_t, dir, m) = finished(11);
    let seg = dir.join(&m.segments[0].file);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&seg, bytes).unwrap();
    Recording::open(&dir).expect("a plain open does not hash");
    let err = Recording::open_with(
        &dir,
        OpenOptions {
            verify: true,
            salvage: true,
        },
    )
    .unwrap_err();
    assert!(matches!(err, FormatError::HashMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("part-000000.parquet") && err.to_string().contains("sha256"),
        "{err}"
    );
}

#[test]
fn missing_segment_and_schema_mismatch() {
    let (_t, dir, m) = finished(12);
    let seg = dir.join(&m.segments[0].file);
    let saved = fs::read(&seg).unwrap();
    fs::remove_file(&seg).unwrap();
    let err = Recording::open(&dir).unwrap_err();
    assert!(matches!(err, FormatError::MissingSegment { .. }), "{err}");
    // A Parquet file with other columns.
    use arrow::array::{Int64Array, RecordBatch};
    use std::sync::Arc;
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("time", arrow::datatypes::DataType::Int64, false),
    ]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1i64]))]).unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    fs::write(&seg, &buf).unwrap();
    let mut m2 = m.clone();
    m2.segments[0].bytes = buf.len() as u64;
    m2.write_atomic(&dir).unwrap();
    let err = Recording::open(&dir).unwrap_err();
    assert!(matches!(err, FormatError::SchemaMismatch { .. }), "{err}");
    assert!(err.to_string().contains("part-000000.parquet"), "{err}");
    drop(saved);
}

#[test]
fn discover_finds_recordings_with_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    for host in ["web-1", "db-1"] {
        let dir = tmp.path().join(format!("host={host}/date=2026-11-20/rec"));
        let mut w = RecordingWriter::create(&dir, header(), WriterOptions::default()).unwrap();
        w.append(&events(10, 1)).unwrap();
        w.finish().unwrap();
    }
    let found = discover(tmp.path()).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0].partitions,
        vec![
            ("host".into(), "db-1".into()),
            ("date".into(), "2026-11-20".into())
        ]
    );
    assert_eq!(discover(&found[1].path).unwrap().len(), 1);
}

#[test]
fn loss_rows_are_counted() {
    let (_t, _dir, m) = finished(13);
    let ev = events(2_000, 13);
    let loss = ev
        .iter()
        .filter(|e| e.event_kind == EventKind::Loss)
        .count() as u64;
    assert_eq!(m.totals.loss_rows, loss);
}

#[test]
fn full_disk_gives_a_clear_error_and_a_valid_manifest() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let mnt = tmpfs.path();
    let dir = mnt.join("rec");
    let opts = WriterOptions {
        segment_rows: 20_000,
        zstd_level: 1,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    let mut err = None;
    for i in 0..200 {
        if let Err(e) = w.append(&events(10_000, 100 + i)).and_then(|()| w.flush()) {
            err = Some(e);
            break;
        }
    }
    let err = err.expect("the disk fills up");
    assert!(err.is_disk_full(), "{err}");
    assert!(err.to_string().contains("no space left on device"), "{err}");
    drop(w);
    let m = Manifest::read(&dir).expect("manifest still valid");
    assert!(!m.complete);
    for seg in &m.segments {
        assert!(dir.join(&seg.file).exists());
    }
}

#[test]
fn full_disk_manifest_says_why_the_writer_stopped() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let dir = tmpfs.path().join("rec");
    let opts = WriterOptions {
        segment_rows: 5_000,
        zstd_level: 1,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    let mut err = None;
    for i in 0..200 {
        if let Err(e) = w.append(&events(10_000, 300 + i)).and_then(|()| w.flush()) {
            err = Some(e);
            break;
        }
    }
    let err = err.expect("the disk fills up");
    assert!(err.is_disk_full(), "{err}");
    drop(w);
    let m = Manifest::read(&dir).expect("manifest still valid");
    assert!(!m.segments.is_empty(), "a segment was committed first");
    // Rows may remain in the spool: not complete, but it says why.
    assert!(!m.complete);
    let why = m
        .stopped
        .as_deref()
        .expect("the manifest says why it stopped");
    assert!(why.contains("no space left on device"), "{why}");
    let note = m.notes.last().expect("a note");
    assert!(
        note.contains("no space left on device")
            && note.contains(&format!(
                "up to seq {}",
                m.segments.iter().map(|s| s.last_seq).max().unwrap()
            ))
            && note.contains("hindsight recover"),
        "{note}"
    );
    assert_eq!(m.totals.events_recorded, m.rows() + m.deleted_events);
    for seg in &m.segments {
        assert!(dir.join(&seg.file).exists());
    }
    // Readers give that reason, not a guess.
    let rec = Recording::open(&dir).unwrap();
    let warning = rec.warnings().join("\n");
    assert!(
        warning.contains("stopped on an error") && warning.contains("no space left on device"),
        "{warning}"
    );
    assert!(!warning.contains("killed"), "{warning}");
    assert!(rec.rows() >= m.rows());
    drop(rec);
    drop(tmpfs);
}

#[test]
fn long_text_columns_are_encoded_for_repetition() {
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let mut w = RecordingWriter::create(&dir, header(), WriterOptions::default()).unwrap();
    let ev = events(5_000, 9);
    assert!(ev.iter().any(|e| e.process_args.is_some()));
    w.append(&ev).unwrap();
    let m = w.finish().unwrap();
    let file = fs::File::open(dir.join(&m.segments[0].file)).unwrap();
    let meta = SerializedFileReader::new(file).unwrap().metadata().clone();
    let rg = meta.row_group(0);
    let chunk = |path: &str| {
        rg.columns()
            .iter()
            .find(|c| c.column_path().string() == path)
            .unwrap_or_else(|| panic!("no column {path}"))
    };
    // The command line, the same long string on every row of a process, is
    // dictionary-encoded; file paths stay plain.
    let cmd = chunk("process_command_line");
    assert!(cmd.dictionary_page_offset().is_some());
    assert!(cmd.encodings().any(|e| e == Encoding::RLE_DICTIONARY));
    assert!(chunk("file_path").dictionary_page_offset().is_none());
    // argv elements carry no min/max (no query prunes on them); the
    // command line and paths keep theirs.
    assert!(chunk("process_args.list.item").statistics().is_none());
    assert!(
        cmd.statistics()
            .is_some_and(|s| s.min_bytes_opt().is_some())
    );
    assert!(chunk("file_path").statistics().is_some());
    // And everything reads back as written.
    assert_eq!(read_all(&dir), ev);
}

/// Fills the file system of `dir` with `dir/filler`, then frees `free`
/// bytes of it.
fn fill_leaving(dir: &std::path::Path, free: u64) {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = fs::File::create(&path).unwrap();
    let chunk = vec![0xa5u8; 4096];
    let mut written = 0u64;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    let _ = f.flush();
    f.set_len(written.saturating_sub(free)).unwrap();
}

/// A ring-mode writer whose disk fills up as it drops its oldest segment
/// leaves a manifest that lists every segment file still there: the segment
/// is unlisted (and counted as deleted) only once the manifest without it
/// was written. (Before, the failed write left the edit in memory, and the
/// manifest written on drop unlisted a segment whose file stayed, so
/// `query` counted more rows than `info` and `recover` adopted rows
/// `deleted_events` still counted.)
#[test]
fn ring_mode_on_a_full_disk_unlists_only_deleted_segments() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let mut hit = 0;
    for pages in 0..120u64 {
        let dir = tmpfs.path().join("rec");
        let opts = WriterOptions {
            segment_rows: 3_000,
            max_size: Some(1),
            checkpoint_rows: 1 << 20,
            zstd_level: 1,
            ..Default::default()
        };
        // Rows in seq order, so that the segment is committed as written.
        let mut rows = hindsight_format::generate::Generator::new(
            hindsight_format::generate::GeneratorConfig {
                events: 6_000,
                seed: 7,
                ..Default::default()
            },
        );
        let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
        w.append(&rows.next_batch(3_000)).unwrap();
        w.flush().unwrap();
        w.append(&rows.next_batch(2_000)).unwrap();
        w.flush().unwrap();
        assert!(dir.join("events/part-000000.parquet").exists());
        fill_leaving(tmpfs.path(), pages * 4096);
        let result = w.append(&rows.next_batch(1_000)).and_then(|()| w.flush());
        drop(w);
        fs::remove_file(tmpfs.path().join("filler")).unwrap();
        let m = Manifest::read(&dir).expect("manifest still valid");
        let listed: Vec<&str> = m.segments.iter().map(|s| s.file.as_str()).collect();
        let first = dir.join("events/part-000000.parquet");
        let second = "events/part-000001.parquet";
        if result.is_err() && listed.contains(&second) && first.exists() {
            hit += 1;
        }
        if first.exists() {
            assert!(
                listed.contains(&"events/part-000000.parquet"),
                "{pages} pages free: segment 0 is there but unlisted: {m:?}"
            );
            assert_eq!(m.deleted_segments, 0, "{pages} pages free");
            assert_eq!(m.deleted_events, 0, "{pages} pages free");
        } else {
            assert_eq!(m.deleted_segments, 1, "{pages} pages free");
            assert_eq!(m.deleted_events, 3_000, "{pages} pages free");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    assert!(hit > 0, "no free space made the ring's manifest write fail");
    drop(tmpfs);
}

/// A writer killed after its last manifest (`complete`) but before it
/// removed `.manifest.reserve` leaves the reserve; `recover` removes it
/// (before, it returned early for a complete recording and kept it for good).
#[test]
fn recover_removes_the_reserve_of_a_complete_recording() {
    let (_t, dir, m) = finished(21);
    let reserve = dir.join(hindsight_format::reserve::RESERVE_FILE);
    assert!(!reserve.exists());
    fs::write(&reserve, vec![0u8; 4096]).unwrap();
    let report = recover(&dir).unwrap();
    assert!(report.already_complete);
    assert!(!reserve.exists(), "the reserve is left");
    assert_eq!(Manifest::read(&dir).unwrap(), m);
}

/// A writer stopped by a full disk, then recovered once there is space:
/// `loss_rows` counts each loss row of the recording once, and `stopped` is
/// cleared (the writer's note keeps why it stopped). Before, the stopped
/// manifest counted the loss rows of its uncommitted segment and `recover`
/// counted those in the spool again.
#[test]
fn a_stopped_writer_recovered_counts_each_loss_row_once() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let dir = tmpfs.path().join("rec");
    let opts = WriterOptions {
        segment_rows: 10_000,
        checkpoint_rows: 1 << 20,
        zstd_level: 1,
        ..Default::default()
    };
    let mut rows =
        hindsight_format::generate::Generator::new(hindsight_format::generate::GeneratorConfig {
            events: 100_000,
            seed: 5,
            ..Default::default()
        });
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&rows.next_batch(16_000)).unwrap();
    w.flush().unwrap();
    fill_leaving(tmpfs.path(), 0);
    let mut failed = false;
    for _ in 0..20 {
        if w.append(&rows.next_batch(500))
            .and_then(|()| w.flush())
            .is_err()
        {
            failed = true;
            break;
        }
    }
    assert!(failed, "the disk fills up");
    drop(w);
    let stopped = Manifest::read(&dir).unwrap();
    assert!(stopped.stopped.is_some());
    let loss_in = |events: &[hindsight_format::Event]| {
        events
            .iter()
            .filter(|e| e.event_kind == EventKind::Loss)
            .count() as u64
    };
    let committed: Vec<_> = read_all(&dir)
        .into_iter()
        .filter(|e| e.seq <= stopped.segments.iter().map(|s| s.last_seq).max().unwrap())
        .collect();
    let all = read_all(&dir);
    assert!(
        loss_in(&committed) > 0 && loss_in(&all) > loss_in(&committed),
        "loss rows in the committed segment and after it: {} of {}",
        loss_in(&committed),
        loss_in(&all)
    );
    assert_eq!(stopped.totals.loss_rows, loss_in(&committed));
    fs::remove_file(tmpfs.path().join("filler")).unwrap();
    recover(&dir).unwrap();
    let m = Manifest::read(&dir).unwrap();
    assert!(m.complete && m.stopped.is_none(), "{m:?}");
    assert!(m.notes.iter().any(|n| n.contains("stopped at")));
    assert_eq!(m.totals.loss_rows, loss_in(&read_all(&dir)));
    assert_eq!(m.totals.events_recorded, m.rows());
    drop(tmpfs);
}

/// A segment committed by a writer killed before its manifest listed it is
/// adopted by `recover` with its `loss` rows: a killed writer's manifest
/// counts those of the segments it lists only.
#[test]
fn recover_counts_the_loss_rows_of_an_adopted_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let opts = WriterOptions {
        segment_rows: 10_000,
        ..Default::default()
    };
    let mut rows =
        hindsight_format::generate::Generator::new(hindsight_format::generate::GeneratorConfig {
            events: 30_000,
            seed: 5,
            ..Default::default()
        });
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&rows.next_batch(30_000)).unwrap();
    let full = w.finish().unwrap();
    assert_eq!(full.segments.len(), 3);
    let loss_in = |events: &[hindsight_format::Event]| {
        events
            .iter()
            .filter(|e| e.event_kind == EventKind::Loss)
            .count() as u64
    };
    let all = loss_in(&read_all(&dir));
    assert_eq!(full.totals.loss_rows, all);
    // As a kill between the last segment's rename and the manifest leaves it.
    let mut killed = full.clone();
    let last = killed.segments.pop().unwrap();
    killed.complete = false;
    killed.totals.loss_rows = loss_in(&read_all(&dir)[..(last.first_seq as usize)]);
    assert!(
        killed.totals.loss_rows < all,
        "loss rows in the last segment"
    );
    killed.write_atomic(&dir).unwrap();
    let report = recover(&dir).unwrap();
    assert_eq!(report.segments_adopted, std::slice::from_ref(&last.file));
    let m = Manifest::read(&dir).unwrap();
    assert!(m.complete);
    assert_eq!(m.totals.loss_rows, all);
}

/// `recover` on a complete recording on read-only media (evidence mounted
/// read-only) says it is complete: it looks for a reserve before removing
/// one, since removing a missing name there fails with EROFS.
#[test]
fn recover_of_a_complete_recording_on_read_only_media() {
    let Some(tmpfs) = SmallTmpfs::mount() else {
        return;
    };
    let dir = tmpfs.path().join("rec");
    let mut w = RecordingWriter::create(&dir, header(), WriterOptions::default()).unwrap();
    w.append(&events(1_000, 1)).unwrap();
    w.finish().unwrap();
    let remount = |mode: &str| {
        std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(tmpfs.path())
            .status()
            .unwrap()
            .success()
    };
    assert!(remount("ro"));
    let report = recover(&dir);
    assert!(remount("rw"));
    let report = report.unwrap();
    assert!(report.already_complete);
    assert_eq!(report.rows, 1_000);
    drop(tmpfs);
}

/// A segment ends at the first append after its time limit, not only at
/// the next flush (here never due: `flush_interval` is an hour).
#[test]
fn segment_duration_is_checked_on_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let opts = WriterOptions {
        // Long enough that the first append never reaches it, even on a
        // loaded two-core CI machine.
        segment_duration: Some(std::time::Duration::from_secs(1)),
        flush_interval: std::time::Duration::from_secs(3600),
        batch_rows: 10,
        ..Default::default()
    };
    let ev = events(30, 1);
    let mut w = RecordingWriter::create(&dir, header(), opts).unwrap();
    w.append(&ev[..10]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    w.append(&ev[10..20]).unwrap();
    let committed = Manifest::read(&dir).unwrap().segments.len();
    w.append(&ev[20..]).unwrap();
    let m = w.finish().unwrap();
    assert_eq!(
        committed, 1,
        "the segment past its limit was committed on append"
    );
    assert_eq!(m.segments.len(), 2);
    assert_eq!(m.segments[0].rows, 20);
    assert_eq!(m.rows(), 30);
}
