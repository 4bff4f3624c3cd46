//! Results of `hindsight bench record`: medians, ratios against the peers,
//! and the Markdown table and JSON output.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::Context;
use serde::Serialize;

use super::peers::{Sample, Tracer};
use super::workloads::{Bench, Workload, wl_name};

/// Medians of one tracer on one workload.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TracerResult {
    tracer: Tracer,
    wall_ms: f64,
    added_ns_per_syscall: Option<f64>,
    events: Option<u64>,
    events_per_sec: Option<f64>,
    lost: Option<u64>,
    /// `lost` as a percentage of the workload's syscalls (max over rounds).
    lost_percent: Option<f64>,
    bytes_per_event: Option<f64>,
    /// The tracer's own CPU time (user + system, start-up included) per
    /// event, or per syscall for tracers that record no events.
    tracer_cpu_ns_per_event: Option<f64>,
    /// The same without the recorder's start-up (Hindsight's tracers only):
    /// the median over the runs of the CPU time less that run's own
    /// start-up (as its recorder measured it, in its manifest's totals),
    /// or, for a build that predates that, the median CPU time less
    /// [`Report::startup_cpu_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    recorder_cpu_ns_per_event_after_startup: Option<f64>,
    /// The recorder's start-up as each run measured it itself (median; see
    /// `recorder_cpu_ns_per_event_after_startup`).
    #[serde(skip_serializing_if = "Option::is_none")]
    recorder_startup_cpu_ms: Option<f64>,
}

/// One workload's results.
#[derive(Debug, Clone, Serialize)]
pub(super) struct WorkloadResult {
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
    /// hindsight-baseline added time / bpftrace-count added time.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_vs_bpftrace_count: Option<f64>,
    /// bpftrace-print added time / hindsight-baseline added time.
    #[serde(skip_serializing_if = "Option::is_none")]
    bpftrace_print_over_baseline: Option<f64>,
    /// hindsight added time / hindsight-baseline added time.
    #[serde(skip_serializing_if = "Option::is_none")]
    hindsight_over_baseline: Option<f64>,
    /// Tracers that lost more than [`LOSSY_PERCENT`] of the events: their
    /// added time is not the cost of handling every event, so ratios that
    /// involve them do not compare like with like (marked † in the table).
    lossy: Vec<Tracer>,
}

/// Loss above which a tracer's added time is not comparable (percent of
/// the workload's syscalls).
pub(super) const LOSSY_PERCENT: f64 = 1.0;

#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) date_utc: String,
    pub(super) kernel: String,
    pub(super) cpus: usize,
    pub(super) rounds: usize,
    pub(super) iterations: u64,
    pub(super) syscalls_set: String,
    /// `--baseline`: the build run as `hindsight-baseline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) baseline: Option<String>,
    /// CPU time of `hindsight record -- true` (loading and verifying the
    /// eBPF programs, then stopping) by tracer name, median of three runs.
    pub(super) startup_cpu_ms: BTreeMap<String, f64>,
    pub(super) notes: Vec<String>,
    pub(super) workloads: Vec<WorkloadResult>,
}

#[derive(Debug, Serialize)]
pub(super) struct SustainedReport {
    pub(super) date_utc: String,
    pub(super) kernel: String,
    pub(super) cpus: usize,
    pub(super) target_rate: u64,
    pub(super) threads: u32,
    pub(super) duration_s: f64,
    pub(super) generated_calls: u64,
    pub(super) generated_per_sec: f64,
    pub(super) events: u64,
    pub(super) events_per_sec: f64,
    pub(super) lost: u64,
    pub(super) loss_rows: u64,
    pub(super) bytes_per_event: f64,
    pub(super) recorder_cpu_percent: f64,
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

pub(super) fn date_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub(super) fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub(super) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(super) fn summarize(
    bench: &Bench,
    w: Workload,
    tracers: &[Tracer],
    samples: &BTreeMap<Tracer, Vec<Sample>>,
    startup: &BTreeMap<Tracer, u64>,
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
            lost_percent: lost.map(|l| 100.0 * l as f64 / syscalls.max(1) as f64),
            bytes_per_event: disk.zip(events).map(|(d, e)| d as f64 / e.max(1) as f64),
            tracer_cpu_ns_per_event: (t != Tracer::None)
                .then_some(cpu)
                .flatten()
                .map(|c| c as f64 / per_event_base),
            // Each run's CPU less that run's own start-up; for a build that
            // does not record it, the median CPU less `record -- true`'s.
            recorder_cpu_ns_per_event_after_startup: v
                .iter()
                .map(|s| {
                    s.tracer_cpu_ns
                        .zip(s.startup_cpu_ns)
                        .map(|(c, st)| c.saturating_sub(st))
                })
                .collect::<Option<Vec<u64>>>()
                .and_then(|own| median_u64(own.into_iter().map(Some)))
                .or_else(|| cpu.zip(startup.get(&t)).map(|(c, s)| c.saturating_sub(*s)))
                .map(|c| c as f64 / per_event_base),
            recorder_startup_cpu_ms: median_u64(v.iter().map(|s| s.startup_cpu_ns))
                .map(|ns| ns as f64 / 1e6),
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
        baseline_vs_bpftrace_count: ratio(
            added(Tracer::HindsightBaseline),
            added(Tracer::BpftraceCount),
        ),
        bpftrace_print_over_baseline: ratio(
            added(Tracer::BpftracePrint),
            added(Tracer::HindsightBaseline),
        ),
        hindsight_over_baseline: ratio(hs, added(Tracer::HindsightBaseline)),
        lossy: out
            .iter()
            .filter(|r| r.lost_percent.is_some_and(|p| p > LOSSY_PERCENT))
            .map(|r| r.tracer)
            .collect(),
        tracers: out,
    })
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.prec$}"),
        _ => "-".into(),
    }
}

impl WorkloadResult {
    /// A ratio between tracers `a` and `b`, marked † when either lost more
    /// than [`LOSSY_PERCENT`] of the events.
    fn ratio_cell(&self, v: Option<f64>, prec: usize, a: Tracer, b: Tracer) -> String {
        let cell = fmt_opt(v, prec);
        if cell != "-" && (self.lossy.contains(&a) || self.lossy.contains(&b)) {
            format!("{cell} †")
        } else {
            cell
        }
    }
}

pub(super) fn print_table(r: &Report) {
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
            w.ratio_cell(
                w.ratio_vs_bpftrace_count,
                2,
                Tracer::Hindsight,
                Tracer::BpftraceCount
            ),
            w.ratio_cell(
                w.bpftrace_print_over_hindsight,
                1,
                Tracer::BpftracePrint,
                Tracer::Hindsight
            ),
            w.ratio_cell(
                w.strace_over_hindsight,
                1,
                Tracer::Strace,
                Tracer::Hindsight
            ),
        );
    }
    print_lossy_note(r);
    if let Some(b) = &r.baseline {
        println!();
        println!("Against the baseline build ({b}), same rounds:");
        println!();
        println!(
            "| workload | hindsight | hindsight-baseline | hindsight ÷ baseline | hindsight ÷ bpftrace-count | baseline ÷ bpftrace-count | bpftrace-print ÷ hindsight | bpftrace-print ÷ baseline |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for w in &r.workloads {
            let added = |t: Tracer| {
                fmt_opt(
                    w.tracers
                        .iter()
                        .find(|x| x.tracer == t)
                        .and_then(|x| x.added_ns_per_syscall),
                    0,
                )
            };
            let (hs, base) = (Tracer::Hindsight, Tracer::HindsightBaseline);
            let (count, print) = (Tracer::BpftraceCount, Tracer::BpftracePrint);
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                wl_name(w.workload),
                added(hs),
                added(base),
                w.ratio_cell(w.hindsight_over_baseline, 2, hs, base),
                w.ratio_cell(w.ratio_vs_bpftrace_count, 2, hs, count),
                w.ratio_cell(w.baseline_vs_bpftrace_count, 2, base, count),
                w.ratio_cell(w.bpftrace_print_over_hindsight, 1, print, hs),
                w.ratio_cell(w.bpftrace_print_over_baseline, 1, print, base),
            );
        }
        print_lossy_note(r);
    }
    for (t, title) in [
        (Tracer::Hindsight, "Hindsight's recording:"),
        (Tracer::HindsightBaseline, "The baseline build's recording:"),
    ] {
        if !r
            .workloads
            .iter()
            .any(|w| w.tracers.iter().any(|x| x.tracer == t))
        {
            continue;
        }
        println!();
        println!("{title}");
        println!();
        println!(
            "| workload | events | events/s | lost | bytes/event on disk | recorder CPU ns/event | without start-up |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for w in &r.workloads {
            if let Some(h) = w.tracers.iter().find(|x| x.tracer == t) {
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    wl_name(w.workload),
                    h.events.map_or("-".into(), |e| e.to_string()),
                    fmt_opt(h.events_per_sec, 0),
                    h.lost.map_or("-".into(), |e| e.to_string()),
                    fmt_opt(h.bytes_per_event, 2),
                    fmt_opt(h.tracer_cpu_ns_per_event, 0),
                    fmt_opt(h.recorder_cpu_ns_per_event_after_startup, 0),
                );
            }
        }
        if let Some(ms) = r.startup_cpu_ms.get(t.name()) {
            println!();
            println!(
                "Start-up of this build (`hindsight record -- true`, median of 3 runs): {ms:.0} ms of recorder CPU; the last column leaves out each run's own start-up (or this, for a build that does not record it)."
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
            Some(format!(
                "{} {} ({:.1} %)",
                wl_name(w.workload),
                x.lost?,
                x.lost_percent?
            ))
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

/// Explains the † marks of the ratio tables, naming who lost what.
fn print_lossy_note(r: &Report) {
    let lossy: Vec<String> = r
        .workloads
        .iter()
        .flat_map(|w| {
            w.tracers
                .iter()
                .filter(|x| w.lossy.contains(&x.tracer))
                .map(|x| {
                    format!(
                        "{} on {} ({:.1} %)",
                        x.tracer.name(),
                        wl_name(w.workload),
                        x.lost_percent.unwrap_or(f64::NAN)
                    )
                })
        })
        .collect();
    if lossy.is_empty() {
        return;
    }
    println!();
    println!(
        "† not comparable: a tracer in this ratio lost more than {LOSSY_PERCENT} % of the events \
         ({}). A tracer that drops events does not wait for them, so its added time \
         is not the cost of handling every event.",
        lossy.join(", ")
    );
}

/// Prints the `--sustained` result as a Markdown table.
pub(super) fn print_sustained_table(r: &SustainedReport) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(lossy: Vec<Tracer>) -> WorkloadResult {
        WorkloadResult {
            workload: Workload::Getppid,
            command: String::new(),
            syscalls: 1000,
            tracers: Vec::new(),
            ratio_vs_bpftrace_count: Some(2.0),
            bpftrace_print_over_hindsight: Some(12.0),
            strace_over_hindsight: None,
            baseline_vs_bpftrace_count: None,
            bpftrace_print_over_baseline: None,
            hindsight_over_baseline: None,
            lossy,
        }
    }

    #[test]
    fn ratios_with_a_lossy_tracer_are_marked() {
        let (hs, count, print) = (
            Tracer::Hindsight,
            Tracer::BpftraceCount,
            Tracer::BpftracePrint,
        );
        let w = result(vec![print]);
        assert_eq!(w.ratio_cell(Some(12.0), 1, print, hs), "12.0 †");
        assert_eq!(w.ratio_cell(Some(2.0), 2, hs, count), "2.00");
        assert_eq!(w.ratio_cell(None, 1, print, hs), "-");
        let w = result(vec![hs]);
        assert_eq!(w.ratio_cell(Some(2.0), 2, hs, count), "2.00 †");
    }
}
