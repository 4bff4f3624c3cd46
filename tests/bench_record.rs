//! `hindsight bench record` end to end on a small workload: the report's
//! figures are present and consistent, and the recorder's start-up (as each
//! run's recorder measured it) is left out of the per-event CPU figure. Needs root (it
//! records) and gcc (its workload helper); skips with a printed reason
//! otherwise.

use std::process::Command;

#[path = "support/root.rs"]
mod root;
use root::is_root;

/// Runs `hindsight bench record --format json` on the getppid loop with
/// `tracers` and `iterations`, and returns its report.
fn bench_getppid(tracers: &str, iterations: &str) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["bench", "record", "--workloads", "getppid", "--rounds", "1"])
        .args(["--iterations", iterations, "--tracers", tracers])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// One tracer's result in a workload of the report.
fn tracer<'a>(w: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    w["tracers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tracer"] == name)
        .unwrap_or_else(|| panic!("{name}'s result"))
}

#[test]
fn bench_record_reports_startup_apart_from_per_event_cpu() {
    if !is_root() {
        eprintln!("skipped: bench record needs root");
        return;
    }
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("skipped: bench record needs gcc");
        return;
    }
    let r = bench_getppid("hindsight", "20000");
    let startup = r["startup_cpu_ms"]["hindsight"].as_f64().expect("start-up");
    // Loading and verifying the eBPF programs takes CPU time.
    assert!(startup > 1.0 && startup < 60_000.0, "start-up {startup} ms");
    let w = &r["workloads"][0];
    assert_eq!(w["workload"], "getppid");
    let h = tracer(w, "hindsight");
    // Loss is reported as a share of the syscalls, and a tracer that lost
    // more than 1 % is named as making its ratios not comparable.
    let syscalls = w["syscalls"].as_u64().unwrap() as f64;
    let lost = h["lost"].as_u64().expect("lost") as f64;
    let lost_percent = h["lost_percent"].as_f64().expect("lost_percent");
    assert!((lost_percent - 100.0 * lost / syscalls).abs() < 1e-9);
    let lossy = w["lossy"].as_array().expect("lossy");
    assert_eq!(
        lossy.iter().any(|t| t == "hindsight"),
        lost_percent > 1.0,
        "{lossy:?} with {lost_percent} % lost"
    );
    let events = h["events"].as_u64().unwrap();
    assert!(events >= 20_000, "{events} events for 20000 getppid calls");
    let with = h["tracer_cpu_ns_per_event"].as_f64().unwrap();
    let without = h["recorder_cpu_ns_per_event_after_startup"]
        .as_f64()
        .unwrap();
    assert!(
        without >= 0.0 && without < with,
        "{without} ns/event without start-up, {with} with"
    );
    // What start-up adds per event is the run's own start-up, as the
    // recorder measured it, spread over the events (one round: exactly).
    let own = h["recorder_startup_cpu_ms"].as_f64().expect("own start-up");
    assert!(own > 1.0, "own start-up {own} ms");
    let added_ms = (with - without) * events as f64 / 1e6;
    assert!(
        (added_ms - own).abs() <= own * 1e-6 + 0.001,
        "{added_ms} ms taken out, the run's own start-up {own} ms"
    );
}

#[test]
fn bpftrace_print_is_drained_before_it_is_stopped() {
    if !is_root() {
        eprintln!("skipped: bench record needs root");
        return;
    }
    for tool in ["gcc", "bpftrace"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("skipped: this test needs {tool}");
            return;
        }
    }
    // 100 000 getppid calls are about 8 MB of events: they fit the perf
    // buffer the bench gives bpftrace (16 MiB per CPU), so every one must
    // be printed. bpftrace leaves unprinted whatever its buffer holds at
    // SIGINT (60-70 % of these when stopped as the loop ends), and the bench
    // counts an exit without a printed line as lost: a bench that stopped
    // bpftrace before it caught up would report that loss here.
    let r = bench_getppid("bpftrace-count,bpftrace-print", "100000");
    let p = tracer(&r["workloads"][0], "bpftrace-print");
    assert_eq!(p["lost"].as_u64(), Some(0), "{p}");
}
