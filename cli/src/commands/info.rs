//! `hindsight info`: what a recording (or every recording in a tree) holds.

use std::path::PathBuf;
use std::process::ExitCode;

use hindsight_format::reader::{OpenOptions, Recording, discover};
use hindsight_format::summary::Summary;

/// Output format of `hindsight info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable, aligned report.
    Text,
    /// One JSON document: an object for a recording, an array of objects
    /// (one per recording, in path order) for a tree of recordings.
    Json,
    /// One JSON object per recording, one per line (JSON lines).
    Jsonl,
}

/// Arguments of `hindsight info`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight info fixtures/recordings/synthetic-small
  hindsight info --format json fixtures/recordings/synthetic-small   # one JSON object
  hindsight info --format jsonl fixtures/recordings/fleet     # one JSON line per recording
  hindsight info --verify /var/lib/hindsight/rec-2026-11-20   # also check every sha256

PATH may be a recording (a directory holding manifest.json) or any directory
above recordings, such as a fleet tree host=NAME/date=YYYY-MM-DD/...: each
recording found is summarized in path order.

The report shows the host, kernel, time range, counts per event kind and per
syscall, loss (loss rows and events lost), TOCTOU mismatches (rows where user
memory named another object than the kernel used), segments, size on disk,
bytes per event, the compression ratio (Arrow in memory vs Parquet on disk),
and whether the recording is complete. An incomplete recording's spool is read
in memory and reported; `hindsight recover` makes it permanent. Warnings go to
stderr. In a tree, a recording that cannot be read is named on stderr, the
others are reported, and the exit status is 2.")]
pub struct Args {
    /// Recording directory, or a tree of recordings (a path, or a file://
    /// URL as `query` takes it).
    #[arg(value_name = "PATH", value_parser = crate::path::recording())]
    pub path: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Check every segment's sha256 against the manifest (reads every byte).
    #[arg(long)]
    pub verify: bool,
}

/// Runs `hindsight info`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let found = discover(&args.path)?;
    if found.is_empty() {
        anyhow::bail!(
            "{}: no recording here (no manifest.json in it or below it)",
            args.path.display()
        );
    }
    let opts = OpenOptions {
        verify: args.verify,
        ..Default::default()
    };
    // A tree gives an array, a recording (PATH holds manifest.json) an object.
    let tree = !args.path.join("manifest.json").is_file();
    let mut out = String::new();
    let mut docs = Vec::new();
    let mut bad = 0usize;
    for rec in &found {
        let summary = match Recording::open_with(&rec.path, opts).and_then(|r| Summary::compute(&r))
        {
            Ok(summary) => summary,
            // One recording: its error is the command's.
            Err(e) if !tree => return Err(e.into()),
            // In a tree, a bad recording does not hide the others: each is
            // named on stderr, and the exit status says something failed.
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
                continue;
            }
        };
        // Warnings go to stderr (stdout stays the report, or the JSON); the
        // JSON keeps them in `warnings` too.
        for w in &summary.warnings {
            eprintln!("warning: {w}");
        }
        match args.format {
            Format::Text => {
                if !out.is_empty() {
                    out.push('\n');
                }
                let mut summary = summary;
                summary.warnings.clear();
                out.push_str(&summary.to_text());
            }
            Format::Json => docs.push(serde_json::to_value(&summary)?),
            Format::Jsonl => {
                out.push_str(&serde_json::to_string(&summary)?);
                out.push('\n');
            }
        }
    }
    if args.format == Format::Json {
        let doc = match docs.pop() {
            Some(one) if !tree && docs.is_empty() => one,
            last => {
                docs.extend(last);
                serde_json::Value::Array(docs)
            }
        };
        out = serde_json::to_string_pretty(&doc)? + "\n";
    }
    print!("{out}");
    if bad > 0 {
        eprintln!(
            "error: {bad} of the {} recordings under {} could not be read (see above)",
            found.len(),
            args.path.display()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
