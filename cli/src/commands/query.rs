//! `hindsight query`: SQL over recordings, one-shot or as an interactive shell.

mod shell;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures::StreamExt;
use hindsight_query::datafusion::dataframe::DataFrame;
use hindsight_query::datafusion::execution::context::SessionContext;
use hindsight_query::datafusion::logical_expr::LogicalPlan;
use hindsight_query::output::{OutputFormat, ResultWriter, check_time_zone, to_zone};
use hindsight_query::{SessionOptions, run_sql};

/// Arguments of `hindsight query`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Recordings to query, then optionally the SQL. Each PATH is a recording
    /// directory, a tree of recordings (host=NAME/date=YYYY-MM-DD/... partitions
    /// become columns), a segment file, or s3://bucket/prefix. The last
    /// argument is taken as SQL when it is not an existing path and reads like
    /// SQL (starts with SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES, CREATE,
    /// SET or FROM); use -c to say so explicitly.
    #[arg(value_name = "PATH... [SQL]", required = true, num_args = 1..)]
    pub args: Vec<String>,

    /// The SQL to run (then every positional argument is a PATH).
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Option<String>,

    /// Run the statements of a SQL script (`;`-separated; repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Vec<PathBuf>,

    /// Output format: table, csv, json (one array), jsonl (one object per
    /// line) or parquet.
    #[arg(long, default_value = "table", value_name = "FORMAT", value_parser = parse_format)]
    pub format: OutputFormat,

    /// Write results to FILE instead of stdout (never inside a recording).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show times in this zone (IANA name such as Europe/Berlin, or +05:30).
    /// Stored times are UTC and are shown in UTC by default.
    #[arg(long, value_name = "ZONE", env = "HINDSIGHT_TZ")]
    pub tz: Option<String>,

    /// At most N rows per result (0: all). Default: 1000 for table, all otherwise.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,

    /// Skip reading every segment's footer before the first query.
    #[arg(long)]
    pub no_validate: bool,
}

const AFTER_HELP: &str = "\
Tables: events (every recorded row), processes, process_tree, files, network, execs,
toctou, loss; table functions descendants(pid [, host]) and ancestors(pid [, host]).
Functions: basename, dirname, path_match, errno_name, open_flags, cidr_match,
human_duration. Without SQL an interactive shell starts (.help lists its commands).

Examples:
  hindsight query rec/ \"SELECT exe, count(*) FROM files WHERE path = '/etc/shadow' GROUP BY exe\"
  hindsight query fleet/ -c \"SELECT host, count(*) FROM events GROUP BY host\" --format csv
  hindsight query s3://forensics/fleet/ -f questions.sql --format jsonl -o answers.jsonl
  hindsight query rec/ \"SELECT * FROM execs\" --tz Europe/Berlin
  hindsight query rec/                      # interactive shell

Exit status: 0 success, 2 error (bad SQL, missing path, corrupt segment).
See the book's \"Querying\" chapter for every table, column and function.";

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    s.parse()
}

/// Words a SQL statement can start with.
const SQL_STARTS: &[&str] = &[
    "select", "with", "show", "describe", "desc", "explain", "values", "create", "set", "from",
    "(", "copy", "insert", "update", "delete", "drop",
];

/// Whether `arg` (the last positional) reads like SQL rather than a path.
pub fn looks_like_sql(arg: &str) -> bool {
    if arg.contains("://") || Path::new(arg).exists() {
        return false;
    }
    let first = arg
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    SQL_STARTS.contains(&first.to_ascii_lowercase().as_str())
        || (arg.trim_start().starts_with('(') && arg.contains(' '))
}

/// Runs `hindsight query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut paths = args.args.clone();
    let mut sql_texts: Vec<String> = Vec::new();
    if let Some(c) = &args.command {
        sql_texts.push(c.clone());
    }
    if args.command.is_none()
        && args.file.is_empty()
        && paths.len() >= 2
        && looks_like_sql(paths.last().expect("non-empty"))
    {
        sql_texts.push(paths.pop().expect("non-empty"));
    } else if args.command.is_none()
        && args.file.is_empty()
        && paths.len() == 1
        && looks_like_sql(&paths[0])
    {
        bail!("no PATH given: the only argument reads like SQL; put the recording before it");
    }
    if sql_texts.is_empty()
        && args.command.is_none()
        && args.file.is_empty()
        && let Some(last) = paths.last()
        && last.contains(char::is_whitespace)
        && !last.contains("://")
        && !Path::new(last).exists()
    {
        bail!(
            "{last}: no such file or directory, and it does not start like SQL \
             (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES, ...); pass SQL with -c \"...\""
        );
    }
    for file in &args.file {
        sql_texts.push(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read SQL script {}", file.display()))?,
        );
    }

    if let Some(tz) = &args.tz {
        check_time_zone(tz).map_err(anyhow::Error::msg)?;
    }
    if let Some(out) = &args.output {
        refuse_inside_recordings(out, &paths)?;
    }
    if args.format == OutputFormat::Parquet
        && args.output.is_none()
        && !sql_texts.is_empty()
        && stdout_is_terminal()
    {
        bail!("--format parquet is binary: write it to a file with -o FILE.parquet or a pipe");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let options = SessionOptions {
            validate_segments: !args.no_validate,
            target_partitions: None,
            time_zone: args.tz.clone(),
        };
        let ctx = hindsight_query::session(&paths, options).await?;
        if sql_texts.is_empty() {
            return shell::run(&ctx, &args, &paths).await;
        }
        let result = run_all(&ctx, &args, &sql_texts).await;
        match result {
            Err(err) if is_parquet_error(&err) => Err(name_damaged_segment(&paths, err).await),
            other => other,
        }
    })
}

/// Whether a failed query failed while decoding Parquet (a damaged segment).
fn is_parquet_error(err: &anyhow::Error) -> bool {
    let text = format!("{err:#}");
    text.contains("Parquet") || text.contains("parquet")
}

/// A decoding error does not say which file it came from: find the segment
/// that does not decode and name it (reads every segment, so only on error).
async fn name_damaged_segment(paths: &[String], err: anyhow::Error) -> anyhow::Error {
    eprintln!("the query failed decoding a segment; reading every segment to find which…");
    match hindsight_query::source::find_corrupt_segment(paths).await {
        Ok(Some(corrupt)) => anyhow::Error::new(corrupt),
        _ => err,
    }
}

/// Runs every SQL text and writes the results to `-o` or stdout.
async fn run_all(
    ctx: &SessionContext,
    args: &Args,
    sql_texts: &[String],
) -> anyhow::Result<ExitCode> {
    let mut out = Output::open(args.output.as_deref())?;
    let scripts_from = sql_texts.len() - args.file.len();
    for (k, sql) in sql_texts.iter().enumerate() {
        let frames = run_sql(ctx, sql).await.map_err(|e| {
            // A script's error names the file along with line and column.
            let script = k.checked_sub(scripts_from).map(|f| args.file[f].display());
            match (script, e) {
                (Some(file), hindsight_query::QueryError::Sql(text)) => anyhow::anyhow!(
                    "{}",
                    text.replacen("--> line ", &format!("--> {file}: line "), 1)
                ),
                (_, e) => e.into(),
            }
        })?;
        let results = frames
            .into_iter()
            .filter(|df| !df.schema().fields().is_empty())
            .collect::<Vec<_>>();
        if args.format == OutputFormat::Parquet && results.len() > 1 {
            bail!(
                "--format parquet writes one result; the SQL has {} queries",
                results.len()
            );
        }
        for (i, df) in results.into_iter().enumerate() {
            if i > 0 && args.format == OutputFormat::Table {
                writeln!(out)?;
            }
            let limit = effective_max_rows(args);
            write_frame(ctx, df, args.format, args.tz.as_deref(), limit, &mut out).await?;
        }
    }
    out.commit()?;
    Ok(ExitCode::SUCCESS)
}

fn effective_max_rows(args: &Args) -> Option<usize> {
    match (args.max_rows, args.format) {
        (Some(0), _) => None,
        (Some(n), _) => Some(n),
        (None, OutputFormat::Table) => Some(1000),
        (None, _) => None,
    }
}

/// Writes one result; returns the number of rows written. Prints a note on
/// stderr when `limit` cut it short.
pub(crate) async fn write_frame<W: Write + Send>(
    _ctx: &SessionContext,
    df: DataFrame,
    format: OutputFormat,
    tz: Option<&str>,
    limit: Option<usize>,
    out: W,
) -> anyhow::Result<usize> {
    // EXPLAIN [ANALYZE] must stay the root of its plan (a limit on top would
    // make DataFusion refuse it), and its answer is short anyway.
    let explain = matches!(
        df.logical_plan(),
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
    );
    let limit = limit.filter(|_| !explain);
    let df = match limit {
        Some(n) => df.limit(0, Some(n + 1))?,
        None => df,
    };
    let schema = df.schema().inner().clone();
    let schema = match tz {
        Some(tz) => hindsight_query::output::zoned_schema(&schema, tz),
        None => schema,
    };
    let mut writer = ResultWriter::new(out, format, schema)?;
    let mut stream = df
        .execute_stream()
        .await
        .map_err(hindsight_query::QueryError::from)?;
    let mut rows = 0usize;
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        let mut batch = batch.map_err(hindsight_query::QueryError::from)?;
        if let Some(n) = limit
            && rows + batch.num_rows() > n
        {
            batch = batch.slice(0, n - rows);
            truncated = true;
        }
        if let Some(tz) = tz {
            batch = to_zone(&batch, tz)?;
        }
        rows += batch.num_rows();
        writer.write(&batch)?;
        if truncated {
            break;
        }
    }
    writer.finish()?;
    if truncated {
        eprintln!("note: showing the first {rows} rows; --max-rows N shows more (0: all)");
    }
    Ok(rows)
}

/// Where results go: stdout or a file.
enum Output {
    Stdout(std::io::Stdout),
    /// Written to a hidden temporary file next to the target, renamed over
    /// it by [`Output::commit`]: a query that fails half-way leaves no
    /// partial file behind (and an earlier file of that name untouched).
    File {
        out: std::io::BufWriter<std::fs::File>,
        partial: std::path::PathBuf,
        target: std::path::PathBuf,
    },
}

impl Output {
    fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(match path {
            None => Output::Stdout(std::io::stdout()),
            Some(p) => {
                let name = p
                    .file_name()
                    .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
                let partial = p.with_file_name(format!(".{name}.partial-{}", std::process::id()));
                let file = std::fs::File::create(&partial)
                    .with_context(|| format!("cannot create {}", p.display()))?;
                Output::File {
                    out: std::io::BufWriter::new(file),
                    partial,
                    target: p.to_path_buf(),
                }
            }
        })
    }

    /// Flushes, and for a file moves the finished result into place.
    fn commit(mut self) -> anyhow::Result<()> {
        self.flush()?;
        if let Output::File {
            partial, target, ..
        } = &self
        {
            std::fs::rename(partial, target)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
        // Renamed: nothing left for `drop` to clean up.
        if let Output::File { partial, .. } = &mut self {
            partial.clear();
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Output::File { partial, .. } = self
            && !partial.as_os_str().is_empty()
        {
            let _ = std::fs::remove_file(partial);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(s) => s.write(buf),
            Output::File { out, .. } => out.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(s) => s.flush(),
            Output::File { out, .. } => out.flush(),
        }
    }
}

/// Refuses an output file inside any local PATH (a query never writes into a
/// recording).
fn refuse_inside_recordings(out: &Path, paths: &[String]) -> anyhow::Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(dir) = std::fs::canonicalize(parent) else {
        bail!(
            "cannot write {}: its directory does not exist",
            out.display()
        );
    };
    for p in paths {
        if p.contains("://") {
            continue;
        }
        if let Ok(root) = std::fs::canonicalize(p)
            && dir.starts_with(&root)
        {
            bail!(
                "refusing to write {} inside the recording {p}: hindsight query never modifies a recording",
                out.display()
            );
        }
    }
    Ok(())
}

/// Whether stdout is a terminal (the shell pages long results only then).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
