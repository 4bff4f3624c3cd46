//! The write stage of the recorder on real rows: the batches of an existing
//! recording are written again through [`RecordingWriter`] (Parquet segment
//! and spool), in batches of the recorder's size, and the CPU time per row
//! of the writing thread is printed, with and without the spool, and the
//! bytes per row on disk.
//!
//! `cargo run --release -p hindsight-format --example write_bench -- RECORDING [BATCH_ROWS]`
//!
//! A recording of `find /usr -type f | xargs stat` (long argv on every row of
//! a `stat` process) and one of an open/close loop show the two ends.

use std::time::Duration;

use arrow::array::RecordBatch;
use hindsight_format::manifest::Manifest;
use hindsight_format::{Recording, RecordingWriter, WriterOptions};

fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Writes `batches` into a new recording under `tmp`; CPU time and bytes.
fn write_all(batches: &[RecordBatch], tmp: &std::path::Path, spool: bool) -> (Duration, u64) {
    let out = tmp.join(if spool { "with-spool" } else { "no-spool" });
    let _ = std::fs::remove_dir_all(&out);
    let opts = WriterOptions {
        spool,
        ..WriterOptions::default()
    };
    let t0 = cpu_now();
    let mut w = RecordingWriter::create(&out, Manifest::default(), opts).expect("writer");
    for b in batches {
        w.append_batch(b).expect("append");
    }
    let m = w.finish().expect("finish");
    let t = cpu_now() - t0;
    let _ = std::fs::remove_dir_all(&out);
    (t, m.segment_bytes())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: write_bench RECORDING [BATCH_ROWS]");
    let batch_rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8192);
    let rec = Recording::open(&dir).expect("open recording");
    let mut batches = Vec::new();
    for b in rec.batches(None) {
        let b = b.expect("read batch");
        let mut off = 0;
        while off < b.num_rows() {
            let len = batch_rows.min(b.num_rows() - off);
            // A copy, as the recorder's builders hand over fresh buffers.
            let part = b.slice(off, len);
            let cols = part
                .columns()
                .iter()
                .map(|c| arrow::array::make_array(c.to_data()))
                .collect();
            batches.push(RecordBatch::try_new(part.schema(), cols).expect("batch"));
            off += len;
        }
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let tmp = std::env::temp_dir().join(format!("hindsight-write-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("scratch dir");
    let per = |d: Duration| d.as_nanos() as f64 / rows as f64;
    let (with, bytes) = write_all(&batches, &tmp, true);
    let (without, _) = write_all(&batches, &tmp, false);
    let _ = std::fs::remove_dir_all(&tmp);
    println!("rows: {rows} in batches of {batch_rows}");
    println!("write (Parquet + spool): {:>7.0} ns/row", per(with));
    println!("  Parquet only:          {:>7.0} ns/row", per(without));
    println!(
        "bytes/row on disk:       {:>7.2}",
        bytes as f64 / rows as f64
    );
}
