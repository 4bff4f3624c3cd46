//! Tracers of `hindsight bench record`: the untraced baseline, `hindsight
//! record`, and the peers (bpftrace counting or printing, strace), each run
//! around one timed workload.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hindsight_format::manifest::{MANIFEST_FILE, Manifest};
use serde::Serialize;

use super::workloads::{Bench, Workload, wl_name};

/// The tracers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tracer {
    /// No tracer (the baseline).
    None,
    /// `hindsight record --syscalls SET -- ...` (this binary).
    Hindsight,
    /// `--baseline PATH record --syscalls SET -- ...` (another build).
    HindsightBaseline,
    /// bpftrace on raw_syscalls sys_enter/sys_exit, counting in the kernel.
    BpftraceCount,
    /// bpftrace on raw_syscalls sys_enter/sys_exit, one printed line per syscall.
    BpftracePrint,
    /// `strace -f -o FILE`.
    Strace,
}

impl Tracer {
    pub(super) fn name(self) -> &'static str {
        match self {
            Tracer::None => "none",
            Tracer::Hindsight => "hindsight",
            Tracer::HindsightBaseline => "hindsight-baseline",
            Tracer::BpftraceCount => "bpftrace-count",
            Tracer::BpftracePrint => "bpftrace-print",
            Tracer::Strace => "strace",
        }
    }
}

/// One traced run.
#[derive(Debug, Clone, Default)]
pub(super) struct Sample {
    pub(super) wall_ns: u64,
    pub(super) syscalls: Option<u64>,
    pub(super) events: Option<u64>,
    pub(super) lost: Option<u64>,
    pub(super) disk_bytes: Option<u64>,
    pub(super) tracer_cpu_ns: Option<u64>,
    /// Hindsight's start-up, as the recorder measured it itself (the
    /// manifest's totals; absent from builds that predate it).
    pub(super) startup_cpu_ns: Option<u64>,
}

/// Runs `hindsight record -o REC --syscalls SET --ring-buffer SIZE -- ARGV...`
/// with its stderr in `log`, then reads the recording's manifest and deletes
/// the recording. Returns the manifest and the recorder's CPU time (ns);
/// a failed recorder is an error quoting its log.
pub(super) fn record_with_hindsight(
    hindsight: &Path,
    rec: &Path,
    syscalls: &str,
    ring_buffer: &str,
    argv: &[OsString],
    log: &Path,
) -> anyhow::Result<(Manifest, u64)> {
    let _ = std::fs::remove_dir_all(rec);
    let child = Command::new(hindsight)
        .arg("record")
        .arg("-o")
        .arg(rec)
        // One argument, so that a set starting with `-` needs no help from
        // the binary (a `--baseline` build may predate that).
        .arg(format!("--syscalls={syscalls}"))
        .args(["--ring-buffer", ring_buffer])
        .arg("--")
        .args(argv)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?;
    let (status, cpu) = wait_rusage(&child)?;
    if status != 0 {
        bail!(
            "hindsight record failed (wait status {status}):\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    let mpath = rec.join(MANIFEST_FILE);
    let text =
        std::fs::read_to_string(&mpath).with_context(|| format!("reading {}", mpath.display()))?;
    let m = Manifest::from_json(&text, &mpath)?;
    let _ = std::fs::remove_dir_all(rec);
    Ok((m, cpu))
}

/// Waits for `child` and returns its exit status and CPU time (user + system).
pub(super) fn wait_rusage(child: &Child) -> anyhow::Result<(i32, u64)> {
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
    pub(super) fn run(&self, w: Workload, t: Tracer, round: usize) -> anyhow::Result<Sample> {
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
            Tracer::Hindsight | Tracer::HindsightBaseline => {
                let binary = match (t, &self.baseline) {
                    (Tracer::HindsightBaseline, Some(b)) => b,
                    _ => &self.hindsight,
                };
                let rec = self.dir.join(format!("{tag}.rec"));
                let log = self.dir.join(format!("{tag}.log"));
                let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
                let (m, cpu) = record_with_hindsight(
                    binary,
                    &rec,
                    &self.syscalls,
                    &self.ring_buffer,
                    &argv,
                    &log,
                )?;
                s.events = Some(m.totals.events_recorded);
                s.lost = Some(m.totals.lost());
                s.disk_bytes = Some(m.segment_bytes());
                s.tracer_cpu_ns = Some(cpu);
                s.startup_cpu_ns = m.totals.recorder_startup_cpu_ns;
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
                         tracepoint:raw_syscalls:sys_exit {filter} {{ @exit = count(); \
                         printf(\"%d %d %s %d %d %d\\n\", pid, tid, comm, args->id, args->ret, \
                         nsecs - @ts[tid]); delete(@ts[tid]); }}"
                    )
                };
                let printed = self.dir.join(format!("{tag}.out"));
                let mut child = Command::new("bpftrace")
                    // At least Hindsight's memory, so the printer is not
                    // compared while it drops events a larger buffer
                    // would have kept.
                    .env("BPFTRACE_PERF_RB_PAGES", self.perf_rb_pages.to_string())
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
                let lines = Arc::new(AtomicU64::new(0));
                let copier = {
                    let (printed, lines) = (printed.clone(), lines.clone());
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
                                lines.fetch_add(1, Ordering::Relaxed);
                            }
                            line.clear();
                        }
                        Ok(tail)
                    })
                };
                let st = Command::new(&argv[0]).args(&argv[1..]).status()?;
                // bpftrace exits on SIGINT without printing what its buffer
                // still holds: let it print that first (after the timed
                // workload, so it costs the workload nothing).
                if t == Tracer::BpftracePrint {
                    wait_until_still(&lines);
                }
                // SAFETY: signals our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                // bpftrace has been seen not to exit after SIGINT (printing
                // under load): kill it after a grace period, so the bench
                // does not hang.
                let reaped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let watchdog = {
                    let (reaped, pid) = (reaped.clone(), child.id() as i32);
                    std::thread::spawn(move || {
                        for _ in 0..600 {
                            std::thread::sleep(std::time::Duration::from_millis(100));
                            if reaped.load(std::sync::atomic::Ordering::SeqCst) {
                                return false;
                            }
                        }
                        // SAFETY: our child; `reaped` is set as soon as wait4
                        // returns, so at worst a 100 ms window remains.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        true
                    })
                };
                let waited = wait_rusage(&child);
                reaped.store(true, std::sync::atomic::Ordering::SeqCst);
                let killed = watchdog.join().unwrap_or(false);
                let (_, cpu) = waited?;
                if killed {
                    // Its counts and CPU time are not a measurement.
                    bail!("bpftrace did not exit 60 s after SIGINT and was killed");
                }
                let tail = copier
                    .join()
                    .map_err(|_| anyhow::anyhow!("bpftrace reader panicked"))??;
                if !st.success() {
                    bail!("{}: {st}", argv.join(" "));
                }
                s.tracer_cpu_ns = Some(cpu);
                let mut lost = 0;
                let mut exits = None;
                for l in tail.lines() {
                    if let Some(n) = l.strip_prefix("@enter: ") {
                        s.syscalls = n.trim().parse().ok();
                    }
                    if let Some(n) = l.strip_prefix("@exit: ") {
                        exits = n.trim().parse::<u64>().ok();
                    }
                    if let Some(rest) = l.split("Lost ").nth(1) {
                        lost += rest
                            .split_whitespace()
                            .next()
                            .and_then(|n| n.parse::<u64>().ok())
                            .unwrap_or(0);
                    }
                }
                if t == Tracer::BpftracePrint {
                    // Every exit should have printed a line: what did not is
                    // lost, whether bpftrace said so or not.
                    let missing = exits
                        .unwrap_or(0)
                        .saturating_sub(lines.load(Ordering::Relaxed));
                    lost = lost.max(missing);
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
        let (wall, workload_cpu) = Self::read_time(&out)?;
        s.wall_ns = wall;
        if matches!(
            t,
            Tracer::Hindsight | Tracer::HindsightBaseline | Tracer::Strace
        ) {
            // The tracer is the workload's ancestor, so the CPU time it
            // reaped includes the workload's: keep the tracer's own.
            s.tracer_cpu_ns = s.tracer_cpu_ns.map(|c| c.saturating_sub(workload_cpu));
        }
        Ok(s)
    }
}

/// Returns when `count` has not moved for half a second (or after two
/// minutes): a printer reading its buffer has caught up.
fn wait_until_still(count: &AtomicU64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut last, mut still) = (count.load(Ordering::Relaxed), 0);
    while still < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = count.load(Ordering::Relaxed);
        if now == last {
            still += 1;
        } else {
            (last, still) = (now, 0);
        }
    }
}

/// bpftrace's perf buffer pages per CPU (`BPFTRACE_PERF_RB_PAGES`): each
/// CPU's buffer as large as Hindsight's whole ring buffer of `ring_bytes`
/// (which all CPUs share), so the printer gets more memory than Hindsight,
/// not less. A power of two, never below bpftrace's default of 64.
pub(super) fn perf_rb_pages(ring_bytes: u64) -> u64 {
    let pages = ring_bytes / 4096;
    if pages <= 64 { 64 } else { 1 << pages.ilog2() }
}

#[cfg(test)]
mod tests {
    use super::perf_rb_pages;

    #[test]
    fn perf_buffer_per_cpu_is_the_whole_ring_buffer() {
        // 16 MiB: 4 096 pages of 4 KiB on each CPU.
        assert_eq!(perf_rb_pages(16 << 20), 4096);
        // Not a power of two: rounded down, never above the ring's size.
        assert_eq!(perf_rb_pages(24 << 20), 4096);
        // Small rings keep bpftrace's default.
        assert_eq!(perf_rb_pages(1 << 20), 256);
        assert_eq!(perf_rb_pages(64 << 10), 64);
        assert_eq!(perf_rb_pages(0), 64);
    }
}
