//! `hindsight generate`: write a synthetic recording.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hindsight_format::generate::{
    DEFAULT_START, GeneratorConfig, generate_recording, writer_options,
};
use hindsight_format::manifest::parse_rfc3339;

/// Arguments of `hindsight generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight generate -o /tmp/rec                      # 100000 events, seed 1
  hindsight generate -o /tmp/big --events 50000000    # benchmarks: streams in bounded memory
  hindsight generate -o /tmp/db --host db-1 --seed 7 --start 2026-11-21T00:00:00Z

The output is deterministic: the same options give the same rows and the same
bytes. A host name containing \"db\" runs postgres, any other runs nginx.")]
pub struct Args {
    /// Directory to create (must not exist, or be empty): a path, or a
    /// file:// URL as `query` takes it.
    #[arg(short, long, value_name = "DIR", value_parser = crate::path::recording())]
    pub output: PathBuf,

    /// Number of events (rows) to generate.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub events: u64,

    /// Seed of the random generator.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,

    /// Host name of the simulated machine.
    #[arg(long, default_value = "web-1", value_name = "NAME")]
    pub host: String,

    /// Time of the first event (RFC 3339).
    #[arg(long, default_value = DEFAULT_START, value_name = "RFC3339")]
    pub start: String,

    /// Rows per segment file (events/part-NNNNNN.parquet).
    #[arg(long, default_value_t = 1 << 20, value_name = "N")]
    pub segment_rows: u64,

    /// Also generate read and write syscalls (off, as in the recorder's default).
    #[arg(long)]
    pub read_write: bool,

    /// Do not print progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `hindsight generate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let start_time_ns = parse_rfc3339(&args.start).context("--start")?;
    if args.segment_rows == 0 {
        anyhow::bail!("--segment-rows must be at least 1");
    }
    let cfg = GeneratorConfig {
        seed: args.seed,
        events: args.events,
        host_name: args.host.clone(),
        start_time_ns,
        read_write: args.read_write,
        ..Default::default()
    };
    let opts = writer_options(args.segment_rows);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let total = args.events;
    let quiet = args.quiet;
    let mut progress = |done: u64| {
        if !quiet && (last_report.elapsed().as_millis() >= 500 || done == total) {
            last_report = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rgenerated {done}/{total} events ({:.0}%, {:.2}M events/s)",
                done as f64 * 100.0 / total.max(1) as f64,
                rate / 1e6
            );
            let _ = err.flush();
        }
    };
    let manifest = generate_recording(&args.output, &cfg, opts, &mut progress)?;
    let secs = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!();
        eprintln!(
            "wrote {} events in {} segment(s), {} bytes, to {} in {:.2}s ({:.2}M events/s)",
            manifest.rows(),
            manifest.segments.len(),
            manifest.segment_bytes(),
            args.output.display(),
            secs,
            manifest.rows() as f64 / secs.max(1e-9) / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}
