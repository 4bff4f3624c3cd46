//! `hindsight bench record`: what recording costs the recorded programs,
//! against bpftrace (counting in the kernel; printing one line per event)
//! and strace, on syscall-heavy workloads; and a sustained-rate run that
//! counts lost events.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hindsight_format::manifest::{MANIFEST_FILE, Manifest};
use serde::Serialize;

use crate::commands::record::parse_duration;

/// Source of the workload and timing helper, compiled with gcc at start.
const HELPER_C: &str = include_str!("record_helper.c");

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
  sudo hindsight bench record --sustained --rate 300000 --duration 60s
  sudo hindsight bench record --sustained --rate 0 --threads 2  # as fast as possible
  sudo hindsight bench record --format json > record-bench.json

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

    /// `--syscalls` of `hindsight record` (`all`: every syscall, like the
    /// bpftrace scripts on raw_syscalls).
    #[arg(long, default_value = "all", value_name = "SET")]
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

/// The syscall-heavy workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// open(2) + close(2) of one file, `--iterations` times.
    OpenClose,
    /// getppid(2), `--iterations` times.
    Getppid,
    /// `find /usr -type f -print0 | xargs -0 stat > /dev/null`.
    FindStat,
    /// `tar -C / -c usr/lib > /dev/null` (`tar c /usr/lib` without the leading-slash warning).
    Tar,
}

/// The tracers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tracer {
    /// No tracer (the baseline).
    None,
    /// `hindsight record --syscalls SET -- ...` (this binary).
    Hindsight,
    /// bpftrace on raw_syscalls sys_enter/sys_exit, counting in the kernel.
    BpftraceCount,
    /// bpftrace on raw_syscalls sys_enter/sys_exit, one printed line per syscall.
    BpftracePrint,
    /// `strace -f -o FILE`.
    Strace,
}

impl Tracer {
    fn name(self) -> &'static str {
        match self {
            Tracer::None => "none",
            Tracer::Hindsight => "hindsight",
            Tracer::BpftraceCount => "bpftrace-count",
            Tracer::BpftracePrint => "bpftrace-print",
            Tracer::Strace => "strace",
        }
    }
}

/// One traced run.
#[derive(Debug, Clone, Default)]
struct Sample {
    wall_ns: u64,
    syscalls: Option<u64>,
    events: Option<u64>,
    lost: Option<u64>,
    disk_bytes: Option<u64>,
    tracer_cpu_ns: Option<u64>,
}

/// Medians of one tracer on one workload.
#[derive(Debug, Clone, Serialize)]
struct TracerResult {
    tracer: Tracer,
    wall_ms: f64,
    added_ns_per_syscall: Option<f64>,
    events: Option<u64>,
    events_per_sec: Option<f64>,
    lost: Option<u64>,
    bytes_per_event: Option<f64>,
    tracer_cpu_ns_per_event: Option<f64>,
}

/// One workload's results.
#[derive(Debug, Clone, Serialize)]
struct WorkloadResult {
    workload: Workload,
    command: String,
    syscalls: u64,
    tracers: Vec<TracerResult>,
    /// hindsight added time / bpftrace-count added time.
    ratio_vs_bpftrace_count: Option<f64>,
    /// bpftrace-print added time / hindsight added time.
    bpftrace_print_over_hindsight: Option<f64>,
    /// strace added time / hindsight added time.
    strace_over_hindsight: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    date_utc: String,
    kernel: String,
    cpus: usize,
    rounds: usize,
    iterations: u64,
    syscalls_set: String,
    notes: Vec<String>,
    workloads: Vec<WorkloadResult>,
}

#[derive(Debug, Serialize)]
struct SustainedReport {
    date_utc: String,
    kernel: String,
    cpus: usize,
    target_rate: u64,
    threads: u32,
    duration_s: f64,
    generated_calls: u64,
    generated_per_sec: f64,
    events: u64,
    events_per_sec: f64,
    lost: u64,
    loss_rows: u64,
    bytes_per_event: f64,
    recorder_cpu_percent: f64,
}

/// Scratch space, the helper binary and the cgroup of one bench run.
struct Bench {
    dir: PathBuf,
    remove_dir: bool,
    helper: PathBuf,
    cgroup: PathBuf,
    hindsight: PathBuf,
    syscalls: String,
    ring_buffer: String,
    test_file: PathBuf,
    iterations: u64,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.cgroup);
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn median_u64(v: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    let v: Vec<f64> = v.flatten().map(|x| x as f64).collect();
    (!v.is_empty()).then(|| median(v).round() as u64)
}

/// Waits for `child` and returns its exit status and CPU time (user + system).
fn wait_rusage(child: &Child) -> anyhow::Result<(i32, u64)> {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; pointers to locals.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    if r < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    Ok((status, ns(ru.ru_utime) + ns(ru.ru_stime)))
}

impl Bench {
    fn setup(args: &Args) -> anyhow::Result<Bench> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            bail!("bench record needs root (it loads eBPF programs): run it with sudo");
        }
        let (dir, remove_dir) = match &args.work_dir {
            Some(d) => (d.clone(), false),
            None => (
                std::env::temp_dir().join(format!("hindsight-bench-record-{}", std::process::id())),
                true,
            ),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let root = hindsight_recorder::session::cgroup2_root()
            .context("no cgroup2 mount in /proc/mounts (the workloads run in a cgroup v2)")?;
        let cgroup = root.join(format!("hindsight-bench-{}", std::process::id()));
        std::fs::create_dir_all(&cgroup)
            .with_context(|| format!("creating cgroup {}", cgroup.display()))?;
        let mut bench = Bench {
            helper: dir.join("hs-bench"),
            test_file: dir.join("open-close-target"),
            dir,
            remove_dir,
            cgroup,
            hindsight: std::env::current_exe().context("locating the hindsight binary")?,
            syscalls: args.syscalls.clone(),
            ring_buffer: args.ring_buffer.clone(),
            iterations: args.iterations,
        };
        let src = bench.dir.join("hs-bench.c");
        std::fs::write(&src, HELPER_C).with_context(|| format!("writing {}", src.display()))?;
        std::fs::write(&bench.test_file, b"hindsight\n")?;
        let out = Command::new("gcc")
            .args(["-O2", "-pthread", "-o"])
            .arg(&bench.helper)
            .arg(&src)
            .output()
            .context("running gcc (needed to build the workload helper)")?;
        if !out.status.success() {
            bail!(
                "gcc failed to build the workload helper:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        bench.helper = bench.helper.canonicalize()?;
        Ok(bench)
    }

    fn workload_argv(&self, w: Workload) -> Vec<String> {
        let helper = self.helper.display().to_string();
        match w {
            Workload::OpenClose => vec![
                helper,
                "openclose".into(),
                self.iterations.to_string(),
                self.test_file.display().to_string(),
            ],
            Workload::Getppid => vec![helper, "getppid".into(), self.iterations.to_string()],
            Workload::FindStat => vec![
                "sh".into(),
                "-c".into(),
                "find /usr -type f -print0 | xargs -0 stat > /dev/null".into(),
            ],
            Workload::Tar => vec![
                "sh".into(),
                "-c".into(),
                "tar -C / -c usr/lib > /dev/null".into(),
            ],
        }
    }

    /// `hs-bench time OUT PROCS CMD...`: the timed, cgroup-placed workload.
    fn timed_argv(&self, w: Workload, out: &Path) -> Vec<String> {
        let mut v = vec![
            self.helper.display().to_string(),
            "time".into(),
            out.display().to_string(),
            self.cgroup.join("cgroup.procs").display().to_string(),
        ];
        v.extend(self.workload_argv(w));
        v
    }

    fn read_time(out: &Path) -> anyhow::Result<u64> {
        let text = std::fs::read_to_string(out)
            .with_context(|| format!("the workload left no timing in {}", out.display()))?;
        let mut it = text.split_whitespace();
        let ns: u64 = it.next().unwrap_or("").parse().context("timing file")?;
        let status: i32 = it.next().unwrap_or("").parse().context("timing file")?;
        if status != 0 {
            bail!("the workload failed (wait status {status})");
        }
        Ok(ns)
    }

    fn run(&self, w: Workload, t: Tracer, round: usize) -> anyhow::Result<Sample> {
        let tag = format!("{}-{}-{round}", t.name(), wl_name(w));
        let out = self.dir.join(format!("{tag}.time"));
        let _ = std::fs::remove_file(&out);
        let argv = self.timed_argv(w, &out);
        let mut s = Sample::default();
        match t {
            Tracer::None => {
                let st = Command::new(&argv[0]).args(&argv[1..]).status()?;
                if !st.success() {
                    bail!("{}: {st}", argv.join(" "));
                }
            }
            Tracer::Hindsight => {
                let rec = self.dir.join(format!("{tag}.rec"));
                let _ = std::fs::remove_dir_all(&rec);
                let log = self.dir.join(format!("{tag}.log"));
                let child = Command::new(&self.hindsight)
                    .arg("record")
                    .arg("-o")
                    .arg(&rec)
                    .args([
                        "--syscalls",
                        self.syscalls.as_str(),
                        "--ring-buffer",
                        self.ring_buffer.as_str(),
                    ])
                    .arg("--")
                    .args(&argv)
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&log)?)
                    .spawn()?;
                let (status, cpu) = wait_rusage(&child)?;
                if status != 0 {
                    bail!(
                        "hindsight record failed (wait status {status}):\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                let mpath = rec.join(MANIFEST_FILE);
                let text = std::fs::read_to_string(&mpath)
                    .with_context(|| format!("reading {}", mpath.display()))?;
                let m = Manifest::from_json(&text, &mpath)?;
                s.events = Some(m.totals.events_recorded);
                s.lost = Some(m.totals.lost());
                s.disk_bytes = Some(m.segment_bytes());
                s.tracer_cpu_ns = Some(cpu);
                let _ = std::fs::remove_dir_all(&rec);
            }
            Tracer::BpftraceCount | Tracer::BpftracePrint => {
                let cg = self.cgroup.display().to_string();
                let filter = format!("/cgroup == cgroupid(\"{cg}\")/");
                let script = if t == Tracer::BpftraceCount {
                    format!(
                        "BEGIN {{ printf(\"ready\\n\"); }}\n\
                         tracepoint:raw_syscalls:sys_enter {filter} {{ @enter = count(); }}\n\
                         tracepoint:raw_syscalls:sys_exit {filter} {{ @exit = count(); }}"
                    )
                } else {
                    format!(
                        "BEGIN {{ printf(\"ready\\n\"); }}\n\
                         tracepoint:raw_syscalls:sys_enter {filter} {{ @ts[tid] = nsecs; }}\n\
                         tracepoint:raw_syscalls:sys_exit {filter} {{ \
                         printf(\"%d %d %s %d %d %d\\n\", pid, tid, comm, args->id, args->ret, \
                         nsecs - @ts[tid]); delete(@ts[tid]); }}"
                    )
                };
                let printed = self.dir.join(format!("{tag}.out"));
                let mut child = Command::new("bpftrace")
                    .arg("-e")
                    .arg(&script)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("starting bpftrace")?;
                let stdout = child.stdout.take().expect("piped");
                // Readiness (BEGIN runs once every probe is attached), then
                // the output goes to a file so bpftrace is never blocked by us.
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        bail!("bpftrace exited before attaching its probes");
                    }
                    if line.trim() == "ready" {
                        break;
                    }
                }
                let copier = {
                    let printed = printed.clone();
                    std::thread::spawn(move || -> std::io::Result<String> {
                        // Keep only the map lines and loss notes; print lines are discarded.
                        let mut tail = String::new();
                        let mut sink = std::io::BufWriter::new(std::fs::File::create(printed)?);
                        let mut line = String::new();
                        while reader.read_line(&mut line)? > 0 {
                            if line.starts_with('@') || line.contains("Lost") {
                                tail.push_str(&line);
                            } else {
                                std::io::Write::write_all(&mut sink, line.as_bytes())?;
                            }
                            line.clear();
                        }
                        Ok(tail)
                    })
                };
                let st = Command::new(&argv[0]).args(&argv[1..]).status()?;
                // SAFETY: signals our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let (_, cpu) = wait_rusage(&child)?;
                let tail = copier
                    .join()
                    .map_err(|_| anyhow::anyhow!("bpftrace reader panicked"))??;
                if !st.success() {
                    bail!("{}: {st}", argv.join(" "));
                }
                s.tracer_cpu_ns = Some(cpu);
                let mut lost = 0;
                for l in tail.lines() {
                    if let Some(n) = l.strip_prefix("@enter: ") {
                        s.syscalls = n.trim().parse().ok();
                    }
                    if let Some(rest) = l.split("Lost ").nth(1) {
                        lost += rest
                            .split_whitespace()
                            .next()
                            .and_then(|n| n.parse::<u64>().ok())
                            .unwrap_or(0);
                    }
                }
                s.lost = Some(lost);
                let _ = std::fs::remove_file(&printed);
            }
            Tracer::Strace => {
                let printed = self.dir.join(format!("{tag}.strace"));
                let child = Command::new("strace")
                    .args(["-f", "-qq", "-o"])
                    .arg(&printed)
                    .args(&argv)
                    .stdout(Stdio::null())
                    .spawn()
                    .context("starting strace")?;
                let (status, cpu) = wait_rusage(&child)?;
                if status != 0 {
                    bail!("strace: wait status {status}");
                }
                s.tracer_cpu_ns = Some(cpu);
                let _ = std::fs::remove_file(&printed);
            }
        }
        s.wall_ns = Self::read_time(&out)?;
        Ok(s)
    }
}

fn wl_name(w: Workload) -> &'static str {
    match w {
        Workload::OpenClose => "open-close",
        Workload::Getppid => "getppid",
        Workload::FindStat => "find-stat",
        Workload::Tar => "tar",
    }
}

fn date_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
        if !tracers.contains(t) {
            tracers.push(*t);
        }
    }
    let mut workloads = args.workloads.clone();
    workloads.dedup();
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
                let s = bench
                    .run(w, t, round)
                    .with_context(|| format!("{} under {}", wl_name(w), t.name()))?;
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
        results.push(summarize(&bench, w, &tracers, &samples)?);
    }
    let report = Report {
        date_utc: date_utc(),
        kernel: kernel(),
        cpus: cpus(),
        rounds: args.rounds,
        iterations: args.iterations,
        syscalls_set: args.syscalls.clone(),
        notes,
        workloads: results,
    };
    match args.format {
        Format::Table => print_table(&report),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn summarize(
    bench: &Bench,
    w: Workload,
    tracers: &[Tracer],
    samples: &BTreeMap<Tracer, Vec<Sample>>,
) -> anyhow::Result<WorkloadResult> {
    let wall = |t: Tracer| -> Option<f64> {
        samples
            .get(&t)
            .map(|v| median(v.iter().map(|s| s.wall_ns as f64).collect()))
    };
    let base = wall(Tracer::None).unwrap_or(f64::NAN);
    let syscalls = samples
        .get(&Tracer::BpftraceCount)
        .and_then(|v| median_u64(v.iter().map(|s| s.syscalls)))
        .or_else(|| {
            samples
                .get(&Tracer::Hindsight)
                .and_then(|v| median_u64(v.iter().map(|s| s.events)))
        })
        .context("no syscall count: run with bpftrace-count or hindsight among --tracers")?;
    let mut out = Vec::new();
    for &t in tracers {
        let Some(v) = samples.get(&t) else { continue };
        let wall_ns = wall(t).unwrap_or(f64::NAN);
        let events = median_u64(v.iter().map(|s| s.events));
        let disk = median_u64(v.iter().map(|s| s.disk_bytes));
        let cpu = median_u64(v.iter().map(|s| s.tracer_cpu_ns));
        let lost = v.iter().filter_map(|s| s.lost).max();
        let per_event_base = events.unwrap_or(syscalls).max(1) as f64;
        out.push(TracerResult {
            tracer: t,
            wall_ms: wall_ns / 1e6,
            added_ns_per_syscall: (t != Tracer::None)
                .then(|| (wall_ns - base) / syscalls.max(1) as f64),
            events,
            events_per_sec: events.map(|e| e as f64 / (wall_ns / 1e9)),
            lost,
            bytes_per_event: disk.zip(events).map(|(d, e)| d as f64 / e.max(1) as f64),
            tracer_cpu_ns_per_event: (t != Tracer::None)
                .then_some(cpu)
                .flatten()
                .map(|c| c as f64 / per_event_base),
        });
    }
    let added = |t: Tracer| {
        out.iter()
            .find(|r| r.tracer == t)
            .and_then(|r| r.added_ns_per_syscall)
    };
    let hs = added(Tracer::Hindsight);
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    Ok(WorkloadResult {
        workload: w,
        command: bench
            .workload_argv(w)
            .join(" ")
            .replace(&bench.helper.display().to_string(), "hs-bench"),
        syscalls,
        ratio_vs_bpftrace_count: ratio(hs, added(Tracer::BpftraceCount)),
        bpftrace_print_over_hindsight: ratio(added(Tracer::BpftracePrint), hs),
        strace_over_hindsight: ratio(added(Tracer::Strace), hs),
        tracers: out,
    })
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.prec$}"),
        _ => "-".into(),
    }
}

fn print_table(r: &Report) {
    println!(
        "hindsight bench record: {}, Linux {}, {} CPUs, {} rounds (medians), --syscalls {}, {} loop iterations",
        r.date_utc, r.kernel, r.cpus, r.rounds, r.syscalls_set, r.iterations
    );
    println!();
    println!("Added wall time per syscall (ns), medians:");
    println!();
    println!(
        "| workload | syscalls | baseline ms | hindsight | bpftrace-count | bpftrace-print | strace | hindsight ÷ bpftrace-count | bpftrace-print ÷ hindsight | strace ÷ hindsight |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for w in &r.workloads {
        let get = |t: Tracer| w.tracers.iter().find(|x| x.tracer == t);
        let added = |t: Tracer| fmt_opt(get(t).and_then(|x| x.added_ns_per_syscall), 0);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            wl_name(w.workload),
            w.syscalls,
            fmt_opt(get(Tracer::None).map(|x| x.wall_ms), 1),
            added(Tracer::Hindsight),
            added(Tracer::BpftraceCount),
            added(Tracer::BpftracePrint),
            added(Tracer::Strace),
            fmt_opt(w.ratio_vs_bpftrace_count, 2),
            fmt_opt(w.bpftrace_print_over_hindsight, 1),
            fmt_opt(w.strace_over_hindsight, 1),
        );
    }
    println!();
    println!("Hindsight's recording:");
    println!();
    println!(
        "| workload | events | events/s | lost | bytes/event on disk | recorder CPU ns/event |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for w in &r.workloads {
        if let Some(h) = w.tracers.iter().find(|x| x.tracer == Tracer::Hindsight) {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                wl_name(w.workload),
                h.events.map_or("-".into(), |e| e.to_string()),
                fmt_opt(h.events_per_sec, 0),
                h.lost.map_or("-".into(), |e| e.to_string()),
                fmt_opt(h.bytes_per_event, 2),
                fmt_opt(h.tracer_cpu_ns_per_event, 0),
            );
        }
    }
    let print_lost: Vec<String> = r
        .workloads
        .iter()
        .filter_map(|w| {
            let x = w
                .tracers
                .iter()
                .find(|x| x.tracer == Tracer::BpftracePrint)?;
            Some(format!("{} {}", wl_name(w.workload), x.lost?))
        })
        .collect();
    if !print_lost.is_empty() {
        println!();
        println!(
            "bpftrace-print lost events (max over rounds): {}",
            print_lost.join(", ")
        );
    }
    println!();
    println!("Workloads:");
    for w in &r.workloads {
        println!("  {}: {}", wl_name(w.workload), w.command);
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

fn sustained(bench: &Bench, args: &Args) -> anyhow::Result<ExitCode> {
    let count = bench.dir.join("sustained.count");
    let rec = bench.dir.join("sustained.rec");
    let _ = std::fs::remove_dir_all(&rec);
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
    let child = Command::new(&bench.hindsight)
        .arg("record")
        .arg("-o")
        .arg(&rec)
        .args([
            "--syscalls",
            "all",
            "--ring-buffer",
            bench.ring_buffer.as_str(),
        ])
        .arg("--")
        .arg(&bench.helper)
        .arg("rate")
        .arg(args.rate.to_string())
        .arg(args.duration.as_secs_f64().to_string())
        .arg(args.threads.to_string())
        .arg(&count)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let (status, cpu) = wait_rusage(&child)?;
    if status != 0 {
        bail!(
            "hindsight record failed (wait status {status}):\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let calls: u64 = std::fs::read_to_string(&count)
        .context("the generator left no count")?
        .trim()
        .parse()
        .context("generator count")?;
    let mpath = rec.join(MANIFEST_FILE);
    let m = Manifest::from_json(&std::fs::read_to_string(&mpath)?, &mpath)?;
    let _ = std::fs::remove_dir_all(&rec);
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
        Format::Table => {
            println!(
                "hindsight bench record --sustained: {}, Linux {}, {} CPUs",
                r.date_utc, r.kernel, r.cpus
            );
            println!();
            println!(
                "| target calls/s | threads | seconds | generated calls/s | events/s recorded | lost | loss rows | bytes/event | recorder CPU |"
            );
            println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {:.2} | {:.0} % |",
                if r.target_rate == 0 {
                    "max".to_string()
                } else {
                    r.target_rate.to_string()
                },
                r.threads,
                r.duration_s,
                r.generated_per_sec,
                r.events_per_sec,
                r.lost,
                r.loss_rows,
                r.bytes_per_event,
                r.recorder_cpu_percent
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
