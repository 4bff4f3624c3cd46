//! `hindsight bench record`: what recording costs the recorded programs,
//! against bpftrace (counting in the kernel; printing one line per event)
//! and strace, on syscall-heavy workloads; and a sustained-rate run that
//! counts lost events.

mod peers;
mod report;
mod workloads;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::commands::record::{parse_duration, parse_syscall_set};

pub use peers::Tracer;
pub use workloads::Workload;

use peers::{Sample, record_with_hindsight};
use report::{
    Report, SustainedReport, cpus, date_utc, kernel, print_sustained_table, print_table, summarize,
};
use workloads::{Bench, have, wl_name};

/// Arguments of `hindsight bench record`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Needs root, gcc, and for the peers bpftrace and strace (a missing peer is
skipped with a note). Every workload runs in a fresh cgroup v2; bpftrace
filters on it, hindsight records the workload's process tree, strace -f
follows it. Rounds interleave the tracers, medians are reported.

Added time per syscall = (median wall time traced - median wall time
untraced) / syscalls of one run (counted by bpftrace-count, else taken from
the recording). Bytes per event = Parquet bytes on disk / rows.

Examples:
  sudo hindsight bench record                                   # all workloads, 3 rounds
  sudo hindsight bench record --workloads getppid,open-close --rounds 5
  sudo hindsight bench record --syscalls -openat,-openat2     # the default set minus opens
  sudo hindsight bench record --sustained --rate 300000 --duration 60s
  sudo hindsight bench record --sustained --rate 0 --threads 2  # as fast as possible
  sudo hindsight bench record --format json > record-bench.json
  sudo hindsight bench record --baseline /tmp/hindsight-before   # a change, within one run

Build with --release: a debug recorder measures the compiler, not the recorder.")]
pub struct Args {
    /// Workloads to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "open-close,getppid,find-stat,tar",
        value_name = "LIST"
    )]
    pub workloads: Vec<Workload>,

    /// Tracers to compare (comma-separated; `none` is always run as the baseline).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "hindsight,bpftrace-count,bpftrace-print,strace",
        value_name = "LIST"
    )]
    pub tracers: Vec<Tracer>,

    /// Timed rounds per workload and tracer (medians are reported).
    #[arg(long, default_value_t = 3, value_name = "R")]
    pub rounds: usize,

    /// Iterations of the open/close and getppid loops.
    #[arg(long, default_value_t = 500_000, value_name = "N")]
    pub iterations: u64,

    /// `--syscalls` of `hindsight record` on the workloads (`all`: every
    /// syscall, like the bpftrace scripts on raw_syscalls; `-NAME,...`: the
    /// default set minus these calls). `--sustained` always records `all`.
    #[arg(long, default_value = "all", value_name = "SET", value_parser = parse_syscall_set)]
    pub syscalls: String,

    /// `--ring-buffer` of `hindsight record`.
    #[arg(long, default_value = "16M", value_name = "SIZE")]
    pub ring_buffer: String,

    /// Instead of the workloads: getppid at `--rate` for `--duration` under
    /// `hindsight record --syscalls all`, reporting events/s and loss.
    #[arg(long)]
    pub sustained: bool,

    /// Sustained mode: target calls per second in total (0: as fast as possible).
    #[arg(long, default_value_t = 300_000, value_name = "N")]
    pub rate: u64,

    /// Sustained mode: how long.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Duration,

    /// Sustained mode: generator threads.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: u32,

    /// Another build of hindsight (e.g. `target/release/hindsight` copied
    /// before a change) to run as the tracer `hindsight-baseline`, in the
    /// same rounds as this binary, so that a change is measured within one
    /// run (the added times of separate runs move with the machine's load).
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// Scratch directory (default: a fresh directory under $TMPDIR, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Output: `table` (Markdown, as in the book) or `json` (one object).
    #[arg(long, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown table.
    Table,
    /// One JSON object.
    Json,
}

/// Runs `hindsight bench record`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if !have("gcc") {
        bail!("bench record needs gcc to build its workload helper");
    }
    let bench = Bench::setup(&args)?;
    if args.sustained {
        return sustained(&bench, &args);
    }
    let mut notes = Vec::new();
    let mut tracers = vec![Tracer::None];
    for t in &args.tracers {
        let tool = match t {
            Tracer::BpftraceCount | Tracer::BpftracePrint => Some("bpftrace"),
            Tracer::Strace => Some("strace"),
            _ => None,
        };
        if let Some(tool) = tool
            && !have(tool)
        {
            notes.push(format!("{} skipped: {tool} not found", t.name()));
            continue;
        }
        if *t == Tracer::HindsightBaseline && args.baseline.is_none() {
            bail!("--tracers hindsight-baseline needs --baseline PATH");
        }
        if !tracers.contains(t) {
            tracers.push(*t);
        }
    }
    if args.baseline.is_some() && !tracers.contains(&Tracer::HindsightBaseline) {
        tracers.push(Tracer::HindsightBaseline);
    }
    let mut workloads = args.workloads.clone();
    workloads.dedup();
    // The recorder's fixed cost (loading and verifying its eBPF programs),
    // measured on a command that makes no syscalls of note, so that the
    // per-event CPU figure can leave it out.
    let mut startup: BTreeMap<Tracer, u64> = BTreeMap::new();
    for &t in &tracers {
        let binary = match (t, &bench.baseline) {
            (Tracer::Hindsight, _) => &bench.hindsight,
            (Tracer::HindsightBaseline, Some(b)) => b,
            _ => continue,
        };
        let mut cpu = Vec::new();
        for round in 1..=STARTUP_ROUNDS {
            eprintln!(
                "bench record: start-up {round}/{STARTUP_ROUNDS}: {} -- true",
                t.name()
            );
            let rec = bench.dir.join("startup.rec");
            let log = bench.dir.join("startup.log");
            let (_, c) = record_with_hindsight(
                binary,
                &rec,
                &bench.syscalls,
                &bench.ring_buffer,
                &[OsString::from("true")],
                &log,
            )
            .context("measuring the recorder's start-up (`hindsight record -- true`)")?;
            cpu.push(c);
        }
        cpu.sort_unstable();
        startup.insert(t, cpu[cpu.len() / 2]);
    }
    let mut results = Vec::new();
    for &w in &workloads {
        // Warm the page cache and dentries once, untimed.
        bench.run(w, Tracer::None, 0)?;
        let mut samples: BTreeMap<Tracer, Vec<Sample>> = BTreeMap::new();
        for round in 1..=args.rounds {
            for &t in &tracers {
                eprintln!(
                    "bench record: {} round {round}/{}: {}",
                    wl_name(w),
                    args.rounds,
                    t.name()
                );
                let started = Instant::now();
                let mut attempt = bench.run(w, t, round);
                // A bpftrace that hangs after SIGINT (seen under load) is
                // killed and its run discarded: that round is run again
                // (twice at most) instead of ending the whole bench.
                for _ in 0..2 {
                    match &attempt {
                        Err(e)
                            if matches!(t, Tracer::BpftraceCount | Tracer::BpftracePrint)
                                && format!("{e:#}").contains("was killed") =>
                        {
                            eprintln!("bench record: {e:#}; running that round again");
                            attempt = bench.run(w, t, round);
                        }
                        _ => break,
                    }
                }
                let s = attempt.with_context(|| format!("{} under {}", wl_name(w), t.name()))?;
                log::debug!(
                    "{} {}: {:?} in {:?}",
                    wl_name(w),
                    t.name(),
                    s,
                    started.elapsed()
                );
                samples.entry(t).or_default().push(s);
            }
        }
        results.push(summarize(&bench, w, &tracers, &samples, &startup)?);
    }
    let report = Report {
        date_utc: date_utc(),
        kernel: kernel(),
        cpus: cpus(),
        rounds: args.rounds,
        iterations: args.iterations,
        syscalls_set: args.syscalls.clone(),
        baseline: args.baseline.as_ref().map(|b| b.display().to_string()),
        startup_cpu_ms: startup
            .iter()
            .map(|(t, ns)| (t.name().to_string(), *ns as f64 / 1e6))
            .collect(),
        notes,
        workloads: results,
    };
    match args.format {
        Format::Table => print_table(&report),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs of `hindsight record -- true` whose median CPU time is the start-up.
const STARTUP_ROUNDS: usize = 3;

fn sustained(bench: &Bench, args: &Args) -> anyhow::Result<ExitCode> {
    let count = bench.dir.join("sustained.count");
    let rec = bench.dir.join("sustained.rec");
    let log = bench.dir.join("sustained.log");
    eprintln!(
        "bench record: sustained getppid at {} calls/s from {} thread(s) for {:?} under hindsight record --syscalls all",
        if args.rate == 0 {
            "max".to_string()
        } else {
            args.rate.to_string()
        },
        args.threads,
        args.duration
    );
    let generator: Vec<OsString> = vec![
        bench.helper.clone().into(),
        "rate".into(),
        args.rate.to_string().into(),
        args.duration.as_secs_f64().to_string().into(),
        args.threads.to_string().into(),
        count.clone().into(),
    ];
    let (m, cpu) = record_with_hindsight(
        &bench.hindsight,
        &rec,
        "all",
        &bench.ring_buffer,
        &generator,
        &log,
    )?;
    let text = std::fs::read_to_string(&count).context("the generator left no count")?;
    let mut it = text.split_whitespace();
    let calls: u64 = it.next().unwrap_or("").parse().context("generator count")?;
    let generator_cpu: u64 = it.next().unwrap_or("").parse().context("generator count")?;
    // `hindsight record` reaped the generator: its CPU time is not the recorder's.
    let cpu = cpu.saturating_sub(generator_cpu);
    let secs = args.duration.as_secs_f64();
    let events = m.totals.events_recorded;
    let r = SustainedReport {
        date_utc: date_utc(),
        kernel: kernel(),
        cpus: cpus(),
        target_rate: args.rate,
        threads: args.threads,
        duration_s: secs,
        generated_calls: calls,
        generated_per_sec: calls as f64 / secs,
        events,
        events_per_sec: events as f64 / secs,
        lost: m.totals.lost(),
        loss_rows: m.totals.loss_rows,
        bytes_per_event: m.segment_bytes() as f64 / events.max(1) as f64,
        recorder_cpu_percent: cpu as f64 / 1e9 / secs * 100.0,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        Format::Table => print_sustained_table(&r),
    }
    Ok(ExitCode::SUCCESS)
}
