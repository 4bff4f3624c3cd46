//! `hindsight bench replay`: rule-engine throughput in events per second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_replay::accounts::Accounts;
use hindsight_replay::engine::Options;
use hindsight_replay::run::replay_paths;

use crate::commands::replay::load_engine;

/// Falco's own live throughput per CPU (syscalls/s), the reference for the ratio.
const FALCO_EVENTS_PER_SEC: f64 = 250_000.0;

/// Arguments of `hindsight bench replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Two measurements:

  engine (default)  generates N synthetic events in memory (batches of 65536,
                    not timed) and times only the engine: state model + every
                    rule on every event, on the calling thread.
  --recording DIR   replays a recording from disk end to end: Parquet decode
                    (a reader thread) + the engine reading each row in place.

Both report wall time and CPU time (the engine thread's own CPU time, or for
--recording the whole process's user+system time). Pin to one core with
taskset so that the reader thread shares it: `taskset -c 0 hindsight bench ...`.

Examples:
  taskset -c 0 hindsight bench replay --rules rules/falco/falco_rules.yaml
  hindsight generate -o /tmp/rec10m --events 10000000
  taskset -c 0 hindsight bench replay --rules rules/falco/falco_rules.yaml --recording /tmp/rec10m")]
pub struct Args {
    /// Events to generate in memory (engine mode).
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub events: u64,

    /// Rule files (repeatable). Default: rules/hindsight/default.yaml.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Replay this recording from disk instead (end to end, decode included).
    #[arg(long, value_name = "DIR")]
    pub recording: Option<PathBuf>,

    /// Also simulate enforcement.
    #[arg(long)]
    pub simulate_enforcement: bool,
}

/// CPU time of a clock (`CLOCK_THREAD_CPUTIME_ID`, `CLOCK_PROCESS_CPUTIME_ID`).
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids are constants.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `hindsight bench replay`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rules = if args.rules.is_empty() {
        vec![PathBuf::from("rules/hindsight/default.yaml")]
    } else {
        args.rules.clone()
    };
    let engine = load_engine(&rules)?;
    let options = Options {
        simulate_enforcement: args.simulate_enforcement,
    };
    let (n, verdicts, wall, cpu, mode) = if let Some(rec) = &args.recording {
        let cpu0 = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID);
        let t = Instant::now();
        let report = replay_paths(&engine, std::slice::from_ref(rec), options, &mut |p| {
            eprintln!("bench replay: {}/{} events", p.events, p.total);
        })?;
        let wall = t.elapsed();
        let cpu = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).saturating_sub(cpu0);
        let mode = "recording (decode + engine), process CPU";
        (report.events, report.verdicts.len(), wall, cpu, mode)
    } else {
        let mut generator = Generator::new(GeneratorConfig {
            events: args.events,
            ..GeneratorConfig::default()
        });
        let mut replay = engine.replay("bench", options);
        // As `replay` does with a recording's manifest.
        replay.set_accounts(std::sync::Arc::new(Accounts::from_manifest(
            &generator.manifest(),
        )));
        let mut wall = Duration::ZERO;
        let mut cpu = Duration::ZERO;
        let mut n = 0u64;
        loop {
            let batch = generator.next_batch(65_536);
            if batch.is_empty() {
                break;
            }
            let c = cpu_time(libc::CLOCK_THREAD_CPUTIME_ID);
            let t = Instant::now();
            for e in &batch {
                replay.push(e);
            }
            wall += t.elapsed();
            cpu += cpu_time(libc::CLOCK_THREAD_CPUTIME_ID).saturating_sub(c);
            n += batch.len() as u64;
            if n % (1 << 22) < 65_536 {
                eprintln!("bench replay: {n}/{} events", args.events);
            }
        }
        let report = replay.finish();
        (
            n,
            report.verdicts.len(),
            wall,
            cpu,
            "engine only, thread CPU",
        )
    };
    let per = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!("rules:           {} enabled", engine.len());
    println!("events:          {n}");
    println!("verdicts:        {verdicts}");
    println!("measured:        {mode}");
    println!("wall time:       {:.3} s", wall.as_secs_f64());
    println!("cpu time:        {:.3} s", cpu.as_secs_f64());
    println!("throughput:      {:.0} events/s (wall)", per(wall));
    println!("per CPU second:  {:.0} events/s", per(cpu));
    println!(
        "vs Falco live:   {:.1}x its ~250k syscalls/s per CPU",
        per(cpu) / FALCO_EVENTS_PER_SEC
    );
    Ok(ExitCode::SUCCESS)
}
