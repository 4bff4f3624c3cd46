//! `events` includes the rows an unfinished recording holds in its
//! checkpoint and spool (its writer killed, or stopped by an error), as
//! `hindsight info` counts them, with the partition columns of its place in
//! a tree; the recording is left as it was.

use std::path::Path;

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_format::{Recording, RecordingWriter, WriterOptions};
use hindsight_query::{run_sql, session};

/// Writes `events` generated rows into `dir` with segments of
/// `segment_rows`; finishes the recording only if `finish`, else drops the
/// writer after a flush (as a killed recorder leaves it: the rows after the
/// last committed segment only in the checkpoint and spool).
fn write(dir: &Path, host: &str, events: u64, segment_rows: u64, finish: bool) {
    let mut generator = Generator::new(GeneratorConfig {
        events,
        host_name: host.into(),
        ..Default::default()
    });
    let opts = WriterOptions {
        segment_rows,
        checkpoint_rows: 2_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(dir, generator.manifest(), opts).unwrap();
    loop {
        let batch = generator.next_batch(1_500);
        if batch.is_empty() {
            break;
        }
        w.append_owned(batch).unwrap();
        w.flush().unwrap();
    }
    if finish {
        w.finish().unwrap();
    }
}

/// Every file under `dir` with its size.
fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            out.extend(files(&entry.path()));
        } else {
            out.push((entry.path().display().to_string(), meta.len()));
        }
    }
    out.sort();
    out
}

async fn rows(path: &Path, sql: &str) -> Vec<String> {
    let ctx = session(&[path.display().to_string()], Default::default())
        .await
        .unwrap();
    let mut out = Vec::new();
    for df in run_sql(&ctx, sql).await.unwrap() {
        let batches = df.collect().await.unwrap();
        let text =
            hindsight_query::datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string();
        out.extend(
            text.lines()
                .filter(|l| l.starts_with('|'))
                .skip(1)
                .map(|l| {
                    l.split('|').map(str::trim).collect::<Vec<_>>()[1..]
                        .join(" ")
                        .trim()
                        .to_string()
                }),
        );
    }
    out
}

#[tokio::test]
async fn unfinished_recordings_are_queried_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path().join("fleet");
    // Killed: two committed segments, the rest in the checkpoint and spool.
    let killed = fleet.join("host=a").join("rec");
    write(&killed, "a", 25_000, 10_000, false);
    // Killed before its first segment was committed.
    let early = fleet.join("host=b").join("rec");
    write(&early, "b", 7_000, 10_000, false);
    let finished = fleet.join("host=c").join("rec");
    write(&finished, "c", 12_000, 10_000, true);

    let a = Recording::open(&killed).unwrap();
    assert!(a.manifest().rows() > 0 && a.salvaged_rows() > 0);
    let b = Recording::open(&early).unwrap();
    assert!(b.manifest().rows() == 0 && b.salvaged_rows() > 0);
    let before = files(&fleet);

    // One recording.
    assert_eq!(
        rows(
            &killed,
            "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events"
        )
        .await,
        [format!("{0} {0} 0 {1}", a.rows(), a.rows() - 1)]
    );
    assert_eq!(
        rows(&early, "SELECT count(*) FROM events").await,
        [b.rows().to_string()]
    );
    // A tree: the partition column of each recording's rows, spool rows included.
    assert_eq!(
        rows(
            &fleet,
            "SELECT host, count(*) FROM events GROUP BY host ORDER BY host"
        )
        .await,
        [
            format!("a {}", a.rows()),
            format!("b {}", b.rows()),
            "c 12000".to_string()
        ]
    );
    // The views see them too.
    let processes = rows(&killed, "SELECT count(*) > 0 FROM processes").await;
    assert_eq!(processes, ["true"]);
    assert_eq!(files(&fleet), before, "a query changed the recordings");
}

/// Copies the recording `from` (directories one level deep) to `to`.
fn copy_recording(from: &Path, to: &Path) {
    for sub in ["", "events", "spool"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
}

/// Leaves at `rec` (a copy taken of it beside, at `copy`) a killed
/// recording of 15 000 rows in the state of a kill between renaming segment
/// 1 into place and rewriting the manifest: the file exists, its spool too,
/// the manifest lists segment 0 only. (Segment 1 as `recover` writes it, on
/// the copy.)
fn committed_but_not_listed(rec: &Path, copy: &Path) {
    write(rec, "a", 15_000, 10_000, false);
    copy_recording(rec, copy);
    hindsight_format::recover(copy).unwrap();
    std::fs::copy(
        copy.join("events/part-000001.parquet"),
        rec.join("events/part-000001.parquet"),
    )
    .unwrap();
    std::fs::remove_file(rec.join("events/.part-000001.parquet.tmp")).unwrap();
    let r = Recording::open(rec).unwrap();
    assert_eq!(r.manifest().segments.len(), 1);
    assert_eq!(r.rows(), 15_000);
}

#[tokio::test]
async fn a_segment_committed_but_not_yet_listed_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    committed_but_not_listed(&rec, &tmp.path().join("copy"));
    assert_eq!(
        rows(&rec, "SELECT count(*), count(DISTINCT seq) FROM events").await,
        ["15000 15000"]
    );
}

/// A session on a recording still being written counts each row once when a
/// segment is committed between setting up the session and its first
/// statement: the rows read in memory and the segment files scanned come
/// from one snapshot (before, DataFusion listed `events/` at the first
/// statement and found the new segment beside the same rows read in memory).
#[tokio::test]
async fn a_segment_committed_after_the_session_is_set_up_is_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let mut generator = Generator::new(GeneratorConfig {
        events: 20_000,
        host_name: "a".into(),
        ..Default::default()
    });
    let opts = WriterOptions {
        segment_rows: 10_000,
        checkpoint_rows: 2_000,
        ..Default::default()
    };
    let mut w = RecordingWriter::create(&rec, generator.manifest(), opts).unwrap();
    w.append_owned(generator.next_batch(6_000)).unwrap();
    w.flush().unwrap();
    let ctx = session(&[rec.display().to_string()], Default::default())
        .await
        .unwrap();
    // Segment 0 is committed (its 6 000 rows were read in memory above).
    w.append_owned(generator.next_batch(6_000)).unwrap();
    w.flush().unwrap();
    assert!(rec.join("events/part-000000.parquet").exists());
    let mut out = Vec::new();
    for df in run_sql(&ctx, "SELECT count(*), count(DISTINCT seq) FROM events")
        .await
        .unwrap()
    {
        let batches = df.collect().await.unwrap();
        out.push(
            hindsight_query::datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string(),
        );
    }
    let text = out.join("\n");
    assert!(text.contains("| 6000     | 6000"), "{text}");
    drop(w);
}

/// Rows read in memory that do not fit `events` give an error that names
/// their recording (before, DataFusion's cast error named nothing).
#[tokio::test]
async fn spool_rows_that_do_not_fit_name_their_recording() {
    use std::sync::Arc;

    use hindsight_query::datafusion::arrow::array::{
        ArrayRef, RecordBatch, StructArray, UInt64Array,
    };
    use hindsight_query::datafusion::arrow::datatypes::{DataType, Field, Schema};
    use hindsight_query::datafusion::datasource::MemTable;
    use hindsight_query::datafusion::prelude::SessionContext;
    use hindsight_query::spool::{Unfinished, with_spool_rows};

    let schema = Arc::new(Schema::new(vec![Field::new("seq", DataType::UInt64, true)]));
    let segments = Arc::new(MemTable::try_new(Arc::clone(&schema), vec![vec![]]).unwrap());
    let inner: ArrayRef = Arc::new(UInt64Array::from(vec![1u64]));
    let odd = StructArray::from(vec![(
        Arc::new(Field::new("x", DataType::UInt64, true)),
        inner,
    )]);
    let batch = RecordBatch::try_from_iter([("seq", Arc::new(odd) as ArrayRef)]).unwrap();
    let unfinished = Unfinished {
        dir: "/recordings/web-1".into(),
        partition_values: Vec::new(),
        rows: vec![batch],
    };
    let ctx = SessionContext::new();
    let err = with_spool_rows(&ctx, "events", segments, &[&unfinished])
        .await
        .expect_err("the rows do not fit");
    let text = err.to_string();
    assert!(text.starts_with("/recordings/web-1: "), "{text}");
}

/// A table the user declares over a local directory of Parquet files sees
/// them all: only the recordings' own segment files come from the snapshot.
#[tokio::test]
async fn an_external_table_over_a_local_directory_sees_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    write(&rec, "a", 3_000, 1_000, true);
    // Another directory of Parquet files, outside the recording.
    let results = tmp.path().join("results");
    std::fs::create_dir(&results).unwrap();
    for k in 0..2 {
        std::fs::copy(
            rec.join(format!("events/part-00000{k}.parquet")),
            results.join(format!("r{k}.parquet")),
        )
        .unwrap();
    }
    let sql = format!(
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}/'; SELECT count(*) FROM t",
        results.display()
    );
    assert_eq!(rows(&rec, &sql).await, ["2000"]);
    assert_eq!(rows(&rec, "SELECT count(*) FROM events").await, ["3000"]);
}

/// Recordings whose directory names hold characters an object-store path
/// percent-encodes when built from a string (`[ ] # ~ % { } |`) or spaces
/// are read, finished or not, each row once. (Before, the `events/` of an
/// unfinished one was listed at its encoded name, found empty: a segment
/// committed but not yet in the manifest was counted twice, from its file
/// and from the spool.)
#[tokio::test]
async fn recordings_at_paths_with_special_characters_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("x [1]");
    let unfinished = parent.join("rec [a]#~%{b}|c");
    committed_but_not_listed(&unfinished, &tmp.path().join("copy [a]"));
    let finished = parent.join("done [a]#~%{b}|c %41");
    write(&finished, "b", 3_000, 1_000, true);
    assert_eq!(
        rows(
            &unfinished,
            "SELECT count(*), count(DISTINCT seq) FROM events"
        )
        .await,
        ["15000 15000"]
    );
    assert_eq!(
        rows(&finished, "SELECT count(*) FROM events").await,
        ["3000"]
    );
    // Both as one tree.
    assert_eq!(
        rows(&parent, "SELECT count(*) FROM events").await,
        ["18000"]
    );
    // Messages name the files as they are.
    let missing = finished.join("events/part-000001.parquet");
    std::fs::remove_file(&missing).unwrap();
    let Err(err) = session(&[finished.display().to_string()], Default::default()).await else {
        panic!("a listed segment is missing");
    };
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}: ", missing.display())),
        "{text}"
    );
}

/// A recording with no segment yet (killed before its first commit, or
/// just created: a manifest only) is held to the tree's partition layout
/// like the rest: under `host=` only in a tree of `host=/date=` it is an
/// error naming its manifest. (Before, only segments found by the listing
/// were checked: its spool rows failed to fit with an opaque message about
/// a null `date`, and a manifest-only one passed unnoticed.)
#[tokio::test]
async fn a_recording_without_segments_is_held_to_the_partition_layout() {
    for events in [500, 0] {
        let tmp = tempfile::tempdir().unwrap();
        let fleet = tmp.path().join("fleet");
        write(
            &fleet.join("host=a/date=2026-11-20/rec"),
            "a",
            3_000,
            1_000,
            true,
        );
        let odd = fleet.join("host=b").join("rec");
        write(&odd, "b", events, 1_000, false);
        assert!(!odd.join("events/part-000000.parquet").exists());
        let Err(err) = session(&[fleet.display().to_string()], Default::default()).await else {
            panic!("{events} events: host=b/rec is not under date=");
        };
        let manifest = odd.join("manifest.json").display().to_string();
        let ok = match &err {
            hindsight_query::QueryError::InconsistentPartitions {
                first,
                first_keys,
                other,
                other_keys,
                ..
            } => {
                let [a, b] = [first_keys, other_keys].map(|k| k.join(","));
                (*first == manifest && a == "host" && b == "host,date")
                    || (*other == manifest && b == "host" && a == "host,date")
            }
            _ => false,
        };
        assert!(ok, "{events} events: {err}");
    }
}
