//! `hindsight bench replay`: rule-engine throughput in events per second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_replay::engine::Options;

use crate::commands::replay::load_engine;

/// Falco's own live throughput per CPU (syscalls/s), the reference for the ratio.
const FALCO_EVENTS_PER_SEC: f64 = 250_000.0;

/// Arguments of `hindsight bench replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Generates N synthetic events in memory (batches of 65536, not timed) and times
only the engine: state model + every rule on every event, one core.

Examples:
  hindsight bench replay                                   # 10M events, default rules
  hindsight bench replay --rules rules/falco/falco_rules.yaml --events 20000000")]
pub struct Args {
    /// Events to replay.
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub events: u64,

    /// Rule files (repeatable). Default: rules/hindsight/default.yaml.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Also simulate enforcement.
    #[arg(long)]
    pub simulate_enforcement: bool,
}

/// Runs `hindsight bench replay`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rules = if args.rules.is_empty() {
        vec![PathBuf::from("rules/hindsight/default.yaml")]
    } else {
        args.rules.clone()
    };
    let engine = load_engine(&rules)?;
    let mut generator = Generator::new(GeneratorConfig {
        events: args.events,
        ..GeneratorConfig::default()
    });
    let mut replay = engine.replay(
        "bench",
        Options {
            simulate_enforcement: args.simulate_enforcement,
        },
    );
    let mut timed = Duration::ZERO;
    let mut n = 0u64;
    loop {
        let batch = generator.next_batch(65_536);
        if batch.is_empty() {
            break;
        }
        let t = Instant::now();
        for e in &batch {
            replay.push(e);
        }
        timed += t.elapsed();
        n += batch.len() as u64;
        if n % (1 << 22) < 65_536 {
            eprintln!("bench replay: {n}/{} events", args.events);
        }
    }
    let report = replay.finish();
    let rate = n as f64 / timed.as_secs_f64().max(1e-9);
    println!("rules:           {} enabled", engine.len());
    println!("events:          {n}");
    println!("verdicts:        {}", report.verdicts.len());
    println!("engine time:     {:.3} s", timed.as_secs_f64());
    println!("throughput:      {:.0} events/s on one core", rate);
    println!(
        "vs Falco live:   {:.1}x its ~250k syscalls/s per CPU",
        rate / FALCO_EVENTS_PER_SEC
    );
    Ok(ExitCode::SUCCESS)
}
