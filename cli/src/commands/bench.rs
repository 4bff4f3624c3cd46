//! `hindsight bench`: benchmarks, reported as ratios against peer tools.

pub mod query;
pub mod record;
pub mod replay;

use std::process::ExitCode;

/// Arguments of `hindsight bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Forensic SQL queries: DataFusion (hindsight query) against DuckDB on the same Parquet.
    Query(query::Args),
    /// Rule replay: events per second through the state model and every rule (one core).
    Replay(replay::Args),
    /// Recorder cost: added time per syscall against bpftrace and strace, bytes per event, sustained rate.
    Record(record::Args),
}

/// Runs `hindsight bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        BenchCommand::Query(a) => query::run(a),
        BenchCommand::Replay(a) => replay::run(a),
        BenchCommand::Record(a) => record::run(a),
    }
}
