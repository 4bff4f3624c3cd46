//! `hindsight replay`: run rules over recordings.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::output::{self, Format};
use hindsight_replay::run::{Progress, replay_paths};

/// Output format of `hindsight replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per verdict, then a summary.
    Text,
    /// One JSON document with every verdict (and enforcement results).
    Json,
    /// One JSON object per line, each with a "type" (verdict, enforcement, suppressed).
    Jsonl,
    /// One Falco-compatible JSON alert per line (what falco -o json_output=true prints).
    FalcoJson,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::FalcoJson => Format::FalcoJson,
        }
    }
}

/// Arguments of `hindsight replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight replay rec/ --rules rules/hindsight/default.yaml
  hindsight replay fleet/ --rules falco_rules.yaml --rules my.yaml --format jsonl
  hindsight replay rec/ --rules rules/hindsight/ --simulate-enforcement

Rule files may be Hindsight (native), Falco or Sigma YAML; the language is
detected per file (or put `# language: hindsight|falco|sigma` on line 1).
Directories are searched for *.yaml/*.yml. Exit status: 0 no rule fired,
1 rules fired, 2 error (bad rule file, unreadable recording).")]
pub struct Args {
    /// Recordings (directories with manifest.json) or trees of recordings
    /// (paths, or file:// URLs as `query` takes them).
    #[arg(required = true, value_name = "PATH", value_parser = crate::path::recording())]
    pub paths: Vec<PathBuf>,

    /// Rule files or directories (repeatable).
    #[arg(long = "rules", short = 'r', required = true, value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Apply rule actions (kill, kill_tree, deny) as an enforcer would, and
    /// report what would have been blocked and every later event that would
    /// not have happened.
    #[arg(long)]
    pub simulate_enforcement: bool,
}

/// Loads rules and compiles them, with readable errors.
pub fn load_engine(rules: &[PathBuf]) -> anyhow::Result<Engine> {
    let set = hindsight_replay::lang::load(rules).map_err(|d| anyhow::anyhow!("{d}"))?;
    for w in &set.remarks.warnings {
        eprintln!("warning: {w}");
    }
    for n in &set.remarks.notes {
        eprintln!("note: {n}");
    }
    if let Some(note) = hindsight_replay::sigma::inactive_summary(&set.rules) {
        eprintln!("note: {note}");
    }
    Engine::new(&set.rules).context("compiling rules")
}

/// Prints progress on stderr (every 2^20 events, when stderr is a terminal or -v).
pub fn progress_printer() -> impl FnMut(Progress<'_>) {
    let start = Instant::now();
    let show = std::io::stderr().is_terminal() || log::log_enabled!(log::Level::Info);
    move |p: Progress<'_>| {
        if show {
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "replay: {}: {}/{} events ({:.0} events/s)",
                p.recording.display(),
                p.events,
                p.total,
                p.events as f64 / secs
            );
        }
    }
}

/// Runs `hindsight replay`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = load_engine(&args.rules)?;
    let options = Options {
        simulate_enforcement: args.simulate_enforcement,
    };
    let report = replay_paths(&engine, &args.paths, options, &mut progress_printer())?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if matches!(args.format, OutputFormat::FalcoJson) {
        // Falco rules render their own templates, exactly as Falco does.
        let templates = hindsight_replay::falco::templates_for_paths(&args.rules)
            .map_err(|d| anyhow::anyhow!("{}", d[0]))?;
        hindsight_replay::falco::write_falco_json(&mut out, &report, &templates)?;
    } else {
        output::write(
            &mut out,
            &report,
            args.format.into(),
            args.simulate_enforcement,
        )?;
    }
    out.flush()?;
    Ok(ExitCode::from(u8::from(!report.verdicts.is_empty())))
}
