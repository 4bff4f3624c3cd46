//! `hindsight diff`: compare the verdicts of two rule versions.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use hindsight_replay::diff::{diff, write_text};
use hindsight_replay::engine::Options;
use hindsight_replay::run::replay_paths;

use super::replay::{load_engine, progress_printer};

/// Output format of `hindsight diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Grouped per rule, with counts and a few example events.
    Text,
    /// The same as one JSON document.
    Json,
}

/// Arguments of `hindsight diff`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight diff rec/ --old rules-v1.yaml --new rules-v2.yaml
  git show main:rules/my.yaml > /tmp/old.yaml
  hindsight diff fleet/ --old /tmp/old.yaml --new rules/my.yaml

Verdicts are matched on (recording, seq, rule id). Exit status: 0 no change,
1 verdicts appeared, disappeared or changed, 2 error.")]
pub struct Args {
    /// Recordings or trees of recordings (paths, or file:// URLs as `query`
    /// takes them).
    #[arg(required = true, value_name = "PATH", value_parser = crate::path::recording())]
    pub paths: Vec<PathBuf>,

    /// The old rule files (repeatable).
    #[arg(long, required = true, value_name = "FILE")]
    pub old: Vec<PathBuf>,

    /// The new rule files (repeatable).
    #[arg(long, required = true, value_name = "FILE")]
    pub new: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// Runs `hindsight diff`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let old = load_engine(&args.old)?;
    let new = load_engine(&args.new)?;
    let options = Options::default();
    let mut progress = progress_printer();
    let a = replay_paths(&old, &args.paths, options, &mut progress)?;
    let b = replay_paths(&new, &args.paths, options, &mut progress)?;
    // The same recordings twice: their warnings once.
    for w in &a.warnings {
        eprintln!("warning: {w}");
    }
    let d = diff(&a, &b);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        DiffFormat::Text => write_text(&mut out, &d)?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &d)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(u8::from(!d.is_empty())))
}
