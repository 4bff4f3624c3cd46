//! The recorder's user-space cost per event, without the kernel: wire
//! records shaped like the ones the eBPF programs send (getppid, openat of a
//! file, close) go through the decoder, batching into Arrow, and the
//! recording writer (Parquet segments + spool), each stage timed in CPU time
//! on one thread.
//!
//! `cargo bench -p hindsight-recorder --bench pipeline [-- ROWS [BATCH_ROWS] [argv]]`
//!
//! With `argv`, the rows belong to a process whose exec carried a long
//! argv (700 bytes, as `xargs stat` gets in `find-stat`), so every row also
//! carries a long `process_args` and `process_command_line`. With
//! `HS_NO_SPOOL=1` in the environment the writer leaves the spool and
//! checkpoints out (to tell their share of the write stage).
//!
//! The writer flushes (makes rows durable) every `HS_FLUSH_ROWS` rows
//! (default 300 000: once a second at the rate of the sustained goal), not
//! by the clock, so that a run under callgrind, 50 times slower, takes the
//! same path as a live recorder (a checkpoint, not the spool, at such rates).
//!
//! The live recorder runs these stages on two threads beside the workload;
//! their sum is the CPU the recorder takes per event (`hindsight bench
//! record` reports that figure for real workloads).

use std::time::Duration;

use hindsight_format::manifest::Manifest;
use hindsight_format::{EventBatchBuilder, RecordingWriter, WriterOptions};
use hindsight_recorder::decode::{Decoder, HostInfo};
use hindsight_recorder_common::{
    F_AUX, F_FILE, F_KNAME1, F_KPATH_COMPLETE, F_KPATH_WALK, F_KPATH2_COMPLETE, F_KPATH2_WALK,
    F_USER_PATH, KIND_EXEC, KIND_SYSCALL, OFF_AUX, OFF_KPATH, OFF_KPATH2, OFF_USER_PATH, WireEvent,
    WireHeader,
};

fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn header(nr: u32, ts: u64, pid: u32) -> WireHeader {
    // SAFETY: WireHeader is plain old data; all zeroes is a valid value.
    let mut h: WireHeader = unsafe { std::mem::zeroed() };
    h.kind = KIND_SYSCALL;
    h.syscall_nr = nr;
    h.ts_enter = ts;
    h.ts_exit = ts + 700;
    h.tgid = pid;
    h.tid = pid;
    h.ppid = 1;
    h.comm[..8].copy_from_slice(b"hs-bench");
    h.loginuid = u32::MAX;
    h.cgroup_id = 4242;
    h
}

fn record(h: WireHeader, sections: &[(usize, &[u8])]) -> Vec<u8> {
    let len = sections
        .iter()
        .map(|(off, b)| off + b.len())
        .max()
        .unwrap_or(size_of::<WireHeader>())
        .max(size_of::<WireHeader>());
    let mut rec = vec![0u8; len.min(size_of::<WireEvent>())];
    let mut h = h;
    h.len = rec.len() as u32;
    // SAFETY: `rec` holds at least a WireHeader's bytes.
    unsafe { std::ptr::write_unaligned(rec.as_mut_ptr().cast(), h) };
    for (off, b) in sections {
        rec[*off..off + b.len()].copy_from_slice(b);
    }
    rec
}

/// An exec of `stat` with ~700 bytes of argv (what `xargs stat` runs).
fn exec_long_argv(ts: u64, pid: u32) -> Vec<u8> {
    let mut h = header(59, ts, pid);
    h.kind = KIND_EXEC;
    h.flags = F_KPATH_WALK | F_KPATH_COMPLETE | F_KPATH2_WALK | F_KPATH2_COMPLETE | F_AUX;
    let mut argv = b"stat\0".to_vec();
    let mut k = 0;
    while argv.len() < 700 {
        argv.extend_from_slice(format!("/usr/share/doc/package-{k}/changelog.gz\0").as_bytes());
        k += 1;
    }
    let kpath = b"stat\0bin\0usr\0";
    let cwd = b"tmp\0";
    h.kpath_len = kpath.len() as u32;
    h.kpath2_len = cwd.len() as u32;
    h.aux_len = argv.len() as u32;
    record(
        h,
        &[(OFF_KPATH, kpath), (OFF_KPATH2, cwd), (OFF_AUX, &argv)],
    )
}

/// A mix of records: 3 getppid, then openat of a file, then close (after
/// an exec with a long argv when `long_argv`).
fn records(n: usize, long_argv: bool) -> Vec<Vec<u8>> {
    let pid = std::process::id();
    (0..n)
        .map(|i| {
            let ts = 1_000_000 + i as u64 * 1000;
            if i == 0 && long_argv {
                return exec_long_argv(ts, pid);
            }
            match i % 5 {
                3 => {
                    let mut h = header(257, ts, pid);
                    h.flags = F_USER_PATH
                        | F_KPATH_WALK
                        | F_KPATH_COMPLETE
                        | F_KPATH2_WALK
                        | F_KPATH2_COMPLETE
                        | F_FILE
                        | F_KNAME1;
                    h.ret = 3;
                    h.args = [(-100i64) as u64, 0x7ff0, 0, 0, 0, 0];
                    h.ino = 1234;
                    h.dev = 8 << 20 | 1;
                    h.i_mode = 0o100644;
                    let kpath = b"open-close-target\0hindsight-bench\0tmp\0";
                    let cwd = b"tmp\0";
                    h.kpath_len = kpath.len() as u32;
                    h.kpath2_len = cwd.len() as u32;
                    record(
                        h,
                        &[
                            (OFF_USER_PATH, b"/tmp/hindsight-bench/open-close-target\0"),
                            (OFF_KPATH, kpath),
                            (OFF_KPATH2, cwd),
                        ],
                    )
                }
                4 => {
                    let mut h = header(3, ts, pid);
                    h.args = [3, 0, 0, 0, 0, 0];
                    record(h, &[])
                }
                _ => record(header(110, ts, pid), &[]),
            }
        })
        .collect()
}

fn decoder_for_bench() -> Decoder {
    let host = HostInfo {
        host_name: "bench-host".into(),
        boot_id: "00000000-0000-0000-0000-000000000000".into(),
        monotonic_to_wall_ns: 1_700_000_000_000_000_000,
        users: [(0, "root".to_string())].into_iter().collect(),
    };
    Decoder::new(host, Vec::new())
}

fn main() {
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = nums.first().copied().unwrap_or(1_000_000);
    let chunk_rows = nums
        .get(1)
        .copied()
        .unwrap_or(hindsight_recorder::pipeline::BATCH_ROWS);
    let long_argv = std::env::args().any(|a| a == "argv");
    let recs = records(rows, long_argv);
    let mut decoder = decoder_for_bench();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("rec");
    let mut opts = WriterOptions {
        flush_interval: Duration::from_secs(3600),
        ..WriterOptions::default()
    };
    if std::env::var_os("HS_NO_SPOOL").is_some() {
        opts.spool = false;
    }
    let flush_rows: u64 = std::env::var("HS_FLUSH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let mut flushed_at = 0u64;
    let mut writer = RecordingWriter::create(&out, Manifest::default(), opts).expect("writer");

    // As the decode thread does: decode a row, push it into the Arrow
    // builders, drop it. Decoding and pushing interleave, so they are timed
    // together; the push alone is timed on a second pass over kept rows.
    let (mut t_decode, mut t_batch, mut t_write) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut rows_b = EventBatchBuilder::with_capacity(chunk_rows);
    let mut seq = 0u64;
    for chunk in recs.chunks(chunk_rows) {
        let t0 = cpu_now();
        for rec in chunk {
            if decoder.decode_into(rec, seq, &mut rows_b).expect("decode") {
                seq += 1;
            }
        }
        let batch = rows_b.finish();
        let t1 = cpu_now();
        writer.append_batch(&batch).expect("append");
        if seq - flushed_at >= flush_rows {
            writer.flush().expect("flush");
            flushed_at = seq;
        }
        let t2 = cpu_now();
        t_decode += t1 - t0;
        t_write += t2 - t1;
    }
    // The push alone: the same rows, decoded once more and kept, then pushed.
    let mut decoder2 = decoder_for_bench();
    let kept: Vec<_> = recs
        .iter()
        .take(chunk_rows)
        .filter_map(|r| decoder2.decode(r).expect("decode"))
        .collect();
    let t0 = cpu_now();
    for e in &kept {
        rows_b.push(e);
    }
    let _ = rows_b.finish();
    t_batch += (cpu_now() - t0) * (rows / kept.len().max(1)) as u32;
    let t0 = cpu_now();
    let manifest = writer.finish().expect("finish");
    t_write += cpu_now() - t0;
    let per = |d: Duration| d.as_nanos() as f64 / rows as f64;
    let bytes = manifest.segment_bytes();
    println!("rows: {rows}");
    println!("decode + batch columns:   {:>7.0} ns/row", per(t_decode));
    println!("  of which the push:      {:>7.0} ns/row", per(t_batch));
    println!("write  (Parquet + spool): {:>7.0} ns/row", per(t_write));
    println!("(flushed every {flush_rows} rows)");
    println!(
        "total:                    {:>7.0} ns/row",
        per(t_decode + t_write)
    );
    println!(
        "bytes/row on disk:        {:>7.2}",
        bytes as f64 / rows as f64
    );
}
