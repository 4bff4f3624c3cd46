//! `hindsight sigma`: how Sigma rules apply to syscall recordings.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use hindsight_replay::sigma::compile::diagnostic;
use hindsight_replay::sigma::fields::VIEWS;
use hindsight_replay::sigma::{self, Applicability, Compiled};

/// Arguments of `hindsight sigma`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight sigma check rules/sigma
  hindsight sigma check ../sigma/rules/linux --status cannot-fire --status not-applicable
  hindsight sigma check my_rule.yml --format jsonl
  hindsight sigma fields process_creation

Sigma rules run with `hindsight replay`, `diff` and `test` like any other
rules; this command explains what they will do there.")]
pub struct Args {
    /// What to show.
    #[command(subcommand)]
    pub command: SigmaCommand,
}

/// The `hindsight sigma` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SigmaCommand {
    /// Load Sigma rule files and say, per rule, whether it runs on syscall
    /// recordings, and why not.
    #[command(after_help = "\
Each rule is one of:
  runs            it reads the recording through the views listed
                  (e.g. process_creation, auditd:EXECVE)
  cannot fire     it applies, but every way it could match needs a field no
                  recording has (DestinationHostname, auditd key, ...)
  not applicable  its log source is not syscalls (sshd, syslog, keyword rules)
Rules that do not run are still loaded by replay/diff/test (kept disabled).
Text output: FILE:LINE: STATUS: ID TITLE [LEVEL, STATUS], then a summary.
Exit status: 0 every file loaded, 2 a rule file is malformed (file, rule id,
line and column are named).")]
    Check(CheckArgs),
    /// Print how Sigma fields map onto recording columns, per view.
    #[command(after_help = "\
A rule's logsource selects views: process_creation, process_termination,
file_event (create, mknod, rename), file_delete, network_connection
(connect, accept) or auditd (EXECVE, SYSCALL, PATH...). Each view says
which rows it reads and where each Sigma field comes from: a column of the
events table, the replay state (the parent's image and command line), one
argv element, or a fixed value. Fields a view does not list are not
recorded: a test on them is false.")]
    Fields(FieldsArgs),
}

/// Whether a rule runs, for `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    /// It runs.
    Runs,
    /// It applies but needs fields no recording has.
    CannotFire,
    /// Its log source is not syscalls.
    NotApplicable,
}

/// Output format of `hindsight sigma check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// One line per rule, then a summary.
    Text,
    /// One JSON array of the rules' objects (the fields of `jsonl`).
    Json,
    /// One JSON object per rule and line.
    Jsonl,
}

/// Arguments of `hindsight sigma check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Sigma rule files or directories (searched for *.yml/*.yaml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show only rules with this status (repeatable).
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Vec<Status>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

/// Arguments of `hindsight sigma fields`.
#[derive(Debug, clap::Args)]
pub struct FieldsArgs {
    /// Only the views of this log source (process_creation,
    /// process_termination, file_event, file_delete, network_connection,
    /// auditd).
    #[arg(value_name = "LOGSOURCE")]
    pub logsource: Option<String>,
}

/// Runs `hindsight sigma`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SigmaCommand::Check(a) => check(a),
        SigmaCommand::Fields(a) => fields(a),
    }
}

fn status_of(a: &Applicability) -> Status {
    match a {
        Applicability::Applicable => Status::Runs,
        Applicability::CannotFire(_) => Status::CannotFire,
        Applicability::NotApplicable(_) => Status::NotApplicable,
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let files = hindsight_replay::lang::expand(&args.paths).map_err(|d| anyhow::anyhow!("{d}"))?;
    let mut compiled = Vec::new();
    let mut errors = Vec::new();
    let mut read = 0usize;
    for f in &files {
        let path = f.display().to_string();
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("{path}: cannot read rule file: {e}"))?;
        if !sigma::looks_like_sigma(&text) && !text.starts_with("# language: sigma") {
            eprintln!(
                "note: {path}: not a Sigma rule file (no top-level logsource: and detection:), skipped"
            );
            continue;
        }
        read += 1;
        match sigma::load_str(&path, &text) {
            Ok(rules) => compiled.extend(rules.into_iter().map(Compiled::new)),
            Err(e) => errors.push(diagnostic(&e, &text).to_string()),
        }
    }
    if !errors.is_empty() {
        // `main` prints the whole error after `error: ` already.
        let all = errors.join("\n");
        anyhow::bail!(
            "{}\n{} of {read} Sigma files could not be loaded",
            all.strip_prefix("error: ").unwrap_or(&all),
            errors.len()
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut counts = [0usize; 3];
    let mut array = Vec::new();
    for c in &compiled {
        let status = status_of(&c.applicability);
        counts[status as usize] += 1;
        if !args.status.is_empty() && !args.status.contains(&status) {
            continue;
        }
        let r = &c.rule;
        let views: Vec<&str> = c.views.iter().map(|v| v.name).collect();
        match args.format {
            CheckFormat::Text => {
                let what = match &c.applicability {
                    Applicability::Applicable => {
                        let mut s = format!("runs on {}", views.join(", "));
                        if !c.unfilled.is_empty() {
                            s.push_str(&format!(" (never filled: {})", c.unfilled.join(", ")));
                        }
                        s
                    }
                    other => other.to_string(),
                };
                let meta: Vec<&str> = [r.level.as_deref(), r.status.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                writeln!(
                    out,
                    "{}:{}: {what}: {} {} [{}]",
                    r.file,
                    r.pos.line,
                    r.id,
                    r.title,
                    meta.join(", ")
                )?;
            }
            CheckFormat::Json | CheckFormat::Jsonl => {
                let (status, reason) = match &c.applicability {
                    Applicability::Applicable => ("runs", serde_json::Value::Null),
                    Applicability::CannotFire(needs) => ("cannot_fire", needs.join(", ").into()),
                    Applicability::NotApplicable(why) => ("not_applicable", why.clone().into()),
                };
                let v = serde_json::json!({
                    "file": r.file,
                    "line": r.pos.line,
                    "id": r.id,
                    "title": r.title,
                    "level": r.level,
                    "status": r.status,
                    "tags": r.tags,
                    "logsource": {
                        "product": r.logsource.product,
                        "category": r.logsource.category,
                        "service": r.logsource.service,
                    },
                    "runs": status,
                    "reason": reason,
                    "views": views,
                    "never_filled": c.unfilled,
                });
                if args.format == CheckFormat::Json {
                    array.push(v);
                } else {
                    writeln!(out, "{v}")?;
                }
            }
        }
    }
    if args.format == CheckFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&array)?)?;
    }
    if args.format == CheckFormat::Text {
        writeln!(
            out,
            "{} rules in {read} files: {} run, {} cannot fire, {} not applicable",
            compiled.len(),
            counts[Status::Runs as usize],
            counts[Status::CannotFire as usize],
            counts[Status::NotApplicable as usize]
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn fields(args: FieldsArgs) -> anyhow::Result<ExitCode> {
    const SOURCES: [&str; 6] = [
        "process_creation",
        "process_termination",
        "file_event",
        "file_delete",
        "network_connection",
        "auditd",
    ];
    if let Some(l) = &args.logsource
        && !SOURCES.contains(&l.as_str())
    {
        anyhow::bail!(
            "unknown log source `{l}`: syscall recordings have {}",
            SOURCES.join(", ")
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for v in VIEWS {
        let source = v.name.split(':').next().unwrap_or(v.name);
        if args.logsource.as_deref().is_some_and(|l| l != source) {
            continue;
        }
        writeln!(out, "{}: {}", v.name, v.filter.describe())?;
        for (field, src) in v.fields() {
            writeln!(out, "  {field:<20} {}", src.describe())?;
        }
        if v.reads_args() {
            writeln!(out, "  {:<20} process_args[N]", "a0, a1, ...")?;
        }
        writeln!(out, "  {:<20} {}", "(keywords)", v.keywords.describe())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
