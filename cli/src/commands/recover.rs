//! `hindsight recover`: finish a recording after a crash.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hindsight recover`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight recover /var/lib/hindsight/rec-2026-11-20

A recording whose recorder was killed, crashed or lost power holds the rows
of its unfinished segment in events/.part-NNNNNN.parquet.tmp (the row groups
listed by spool/checkpoint-NNNNNN.parquet-footer) and in
spool/spool-NNNNNN.arrows; both are made durable every second. recover turns
them into a proper segment, lists complete segment files the manifest missed,
recomputes rows, hashes and the time range, and marks the manifest complete
and recovered. Running it again changes nothing. It never deletes data it
could not convert: an unreadable spool, or the temporary file of an
unreadable checkpoint, is kept as *.unreadable and reported.

Exit status: 0 when the recording is complete and consistent afterwards, 2 on
errors or when some file could not be salvaged.")]
pub struct Args {
    /// The recording directory (a path, or a file:// URL as `query` takes it).
    #[arg(value_name = "DIR", value_parser = crate::path::recording())]
    pub dir: PathBuf,

    /// Output format: `text` (a readable report) or `json` (one JSON object).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// The same as `--format json` (kept for scripts written for it).
    #[arg(long, hide = true)]
    pub json: bool,
}

/// Output format of `hindsight recover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable report.
    Text,
    /// One JSON object: what was converted, adopted, removed or left.
    Json,
}

/// Runs `hindsight recover`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report = hindsight_format::recover(&args.dir)?;
    if args.json || args.format == Format::Json {
        println!("{}", serde_json::to_string(&report)?);
    } else if report.already_complete && report.bad_segments.is_empty() {
        println!(
            "{}: complete, nothing to recover ({} events)",
            args.dir.display(),
            report.rows
        );
    } else if report.already_complete {
        println!(
            "{}: complete when written, but {} of its segments are damaged (listed below); \
             recover cannot restore them",
            args.dir.display(),
            report.bad_segments.len()
        );
    } else {
        println!("{}: recovered, {} events", args.dir.display(), report.rows);
        for s in &report.segments_from_spool {
            println!("  wrote {s} from the checkpoint and the spool");
        }
        if report.rows_salvaged > 0 {
            println!("  {} rows salvaged", report.rows_salvaged);
        }
        for s in &report.segments_adopted {
            println!("  listed {s} (complete, was missing from manifest.json)");
        }
        for s in &report.removed_temporary {
            println!("  removed {s} (unfinished; what it had made durable was salvaged)");
        }
    }
    let mut failed = false;
    for (file, why) in &report.unreadable {
        eprintln!(
            "warning: {}: kept unreadable data: {why}",
            args.dir.join(file).display()
        );
        failed = true;
    }
    for (file, why) in &report.bad_segments {
        let path = args.dir.join(file).display().to_string();
        if why.contains(&path) {
            eprintln!("error: {why}");
        } else {
            eprintln!("error: {path}: {why}");
        }
        failed = true;
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
