//! `hindsight query`: SQL over recordings, one-shot or as an interactive shell.

mod shell;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures::StreamExt;
use hindsight_query::datafusion::arrow::array::RecordBatch;
use hindsight_query::datafusion::arrow::error::ArrowError;
use hindsight_query::datafusion::dataframe::DataFrame;
use hindsight_query::datafusion::error::DataFusionError;
use hindsight_query::datafusion::execution::context::SessionContext;
use hindsight_query::datafusion::logical_expr::LogicalPlan;
use hindsight_query::datafusion::parquet::errors::ParquetError;
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
    /// SQL (starts, after any comments, with SELECT, WITH, SHOW, DESCRIBE,
    /// EXPLAIN, VALUES, CREATE, SET, FROM or another statement's first word);
    /// use -c to say so explicitly (SQL starting with `--` after `--`, or -c).
    #[arg(value_name = "PATH... [SQL]", required = true, num_args = 1..)]
    pub args: Vec<String>,

    /// The SQL to run (then every positional argument is a PATH); it may
    /// start with a -- comment.
    #[arg(
        short = 'c',
        long = "command",
        value_name = "SQL",
        allow_hyphen_values = true
    )]
    pub command: Option<String>,

    /// Run the statements of a SQL script (`;`-separated; repeatable). SQL
    /// given as an argument or with -c runs first.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Vec<PathBuf>,

    /// Output format: table, csv, json (one array per result), jsonl (one object per
    /// line) or parquet.
    #[arg(long, default_value = "table", value_name = "FORMAT", value_parser = parse_format)]
    pub format: OutputFormat,

    /// Write results to FILE instead of stdout (never inside a recording).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show times in this zone (IANA name such as Europe/Berlin, or +05:30).
    /// Stored times are UTC and are shown in UTC by default. Only how times
    /// print changes (and TIMESTAMPTZ '...' literals, read in ZONE): SQL still
    /// computes in UTC, so a time without an offset is UTC (time >= '2026-11-20
    /// 09:00' is 09:00 UTC) and date_trunc and extract(hour ...) use UTC days
    /// and hours. Give the offset: WHERE time >= '2026-11-20T09:00:00+01:00'.
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

/// Words a SQL statement can start with: every statement DataFusion's
/// parser knows, also those a query refuses (which then get the SQL error
/// that says why, not "no such file").
const SQL_STARTS: &[&str] = &[
    "select",
    "with",
    "show",
    "describe",
    "desc",
    "explain",
    "values",
    "create",
    "set",
    "reset",
    "from",
    "(",
    "copy",
    "insert",
    "update",
    "delete",
    "drop",
    "truncate",
    "alter",
    "prepare",
    "execute",
    "deallocate",
    "merge",
    "begin",
    "commit",
    "rollback",
];

/// `sql` without the comments (`-- …` lines, `/* … */`) and white space it
/// starts with.
fn skip_leading_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

/// Whether `arg` (the last positional) reads like SQL rather than a path:
/// after any leading comments it starts with a statement's first word.
pub fn looks_like_sql(arg: &str) -> bool {
    if arg.contains("://") || Path::new(arg).exists() {
        return false;
    }
    let sql = skip_leading_comments(arg);
    let first = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .next()
        .unwrap_or("");
    SQL_STARTS.contains(&first.to_ascii_lowercase().as_str())
        || (sql.starts_with('(') && sql.contains(' '))
}

/// One SQL text to run, and the script file it came from (named in errors).
pub(crate) struct SqlText {
    sql: String,
    script: Option<String>,
}

/// Runs `hindsight query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut paths = args.args.clone();
    let mut sql_texts: Vec<SqlText> = Vec::new();
    let inline = |sql: String| SqlText { sql, script: None };
    if let Some(c) = &args.command {
        sql_texts.push(inline(c.clone()));
    }
    if args.command.is_none()
        && paths.len() >= 2
        && looks_like_sql(paths.last().expect("non-empty"))
    {
        sql_texts.push(inline(paths.pop().expect("non-empty")));
    } else if args.command.is_none() && paths.len() == 1 && looks_like_sql(&paths[0]) {
        bail!("no PATH given: the only argument reads like SQL; put the recording before it");
    }
    if sql_texts.is_empty()
        && args.command.is_none()
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
        sql_texts.push(SqlText {
            sql: std::fs::read_to_string(file)
                .with_context(|| format!("cannot read SQL script {}", file.display()))?,
            script: Some(file.display().to_string()),
        });
    }
    // SQL on a pipe (`hindsight query rec/ < questions.sql`) is a script like
    // -f; with shell commands (.format, \\d, ...) in it, the shell runs it.
    let mut shell_script = None;
    if sql_texts.is_empty() && !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read SQL from standard input")?;
        if text.lines().any(shell::is_command) {
            if args.output.is_some() || args.format == OutputFormat::Parquet {
                bail!(
                    "standard input holds shell commands (.format, \\d, ...), which print to \
                     stdout: -o and --format parquet need plain SQL (or -f FILE.sql)"
                );
            }
            shell_script = Some(text);
        } else if !text.trim().is_empty() {
            sql_texts.push(inline(text));
        } else {
            shell_script = Some(text);
        }
    }
    // Without SQL, the shell runs; it prints to the terminal (`.format`
    // changes how): it has no file to write nor a binary format.
    if sql_texts.is_empty() && (args.output.is_some() || args.format == OutputFormat::Parquet) {
        bail!(
            "the shell prints to the terminal: -o FILE and --format parquet need SQL (an argument, -c SQL or -f FILE.sql)"
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
    // DataFusion walks expression trees by recursion, one level per term of
    // an `a OR b OR ...` chain: the main thread's 8 MiB overflowed (SIGABRT)
    // near 10 000 terms in a debug build. The queries are planned on a
    // thread, and run on workers, with room for far more; the stacks are
    // address space, touched only as deep as a query goes.
    std::thread::Builder::new()
        .name("hs-query".into())
        .stack_size(QUERY_STACK)
        .spawn(move || run_queries(args, paths, sql_texts, shell_script))
        .context("cannot start the query thread")?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Stack size of the thread that plans the queries and of the runtime's
/// workers (see [`run`]).
const QUERY_STACK: usize = 256 << 20;

/// Opens the recordings and runs the SQL, the script or the shell.
fn run_queries(
    args: Args,
    paths: Vec<String>,
    sql_texts: Vec<SqlText>,
    shell_script: Option<String>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(QUERY_STACK)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let options = SessionOptions {
            validate_segments: !args.no_validate,
            target_partitions: None,
            time_zone: args.tz.clone(),
        };
        let ctx = hindsight_query::session(&paths, options).await?;
        if let Some(script) = shell_script {
            return shell::run_script(&ctx, &args, &script).await;
        }
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

/// Whether a failed query failed while decoding Parquet (a damaged segment),
/// judged by the error's type, never its text.
fn is_parquet_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(hindsight_query::QueryError::DataFusion(e)) =
            cause.downcast_ref::<hindsight_query::QueryError>()
        {
            return datafusion_is_parquet(e);
        }
        cause
            .downcast_ref::<DataFusionError>()
            .is_some_and(datafusion_is_parquet)
            || cause.is::<ParquetError>()
    })
}

fn datafusion_is_parquet(e: &DataFusionError) -> bool {
    match e.find_root() {
        DataFusionError::ParquetError(_) => true,
        DataFusionError::ArrowError(a, _) => arrow_is_parquet(a),
        DataFusionError::External(b) => {
            b.is::<ParquetError>() || b.downcast_ref::<ArrowError>().is_some_and(arrow_is_parquet)
        }
        _ => false,
    }
}

fn arrow_is_parquet(e: &ArrowError) -> bool {
    match e {
        ArrowError::ParquetError(_) => true,
        ArrowError::ExternalError(b) => b.is::<ParquetError>(),
        _ => false,
    }
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

/// Plans every SQL text, then writes the results to `-o` or stdout. Every
/// statement is planned before any runs, so a script with a mistake in its
/// last statement prints nothing.
async fn run_all(
    ctx: &SessionContext,
    args: &Args,
    sql_texts: &[SqlText],
) -> anyhow::Result<ExitCode> {
    let mut planned = Vec::new();
    for text in sql_texts {
        let frames = run_sql(ctx, &text.sql)
            .await
            .map_err(|e| match (&text.script, e) {
                // A script's error names the file along with line and column.
                (Some(file), hindsight_query::QueryError::Sql(msg)) => anyhow::anyhow!(
                    "{}",
                    msg.replacen("--> line ", &format!("--> {file}: line "), 1)
                ),
                (_, e) => e.into(),
            })?;
        let many = frames.len() > 1;
        for (k, df) in frames.into_iter().enumerate() {
            // Statements without a result (CREATE VIEW, SET) already ran.
            if df.schema().fields().is_empty() {
                continue;
            }
            let at = match (&text.script, many) {
                (Some(file), _) => Some(format!("statement {} of {file}", k + 1)),
                (None, true) => Some(format!("statement {}", k + 1)),
                (None, false) => None,
            };
            planned.push((df, at));
        }
    }
    if args.format == OutputFormat::Parquet && planned.len() > 1 {
        bail!(
            "--format parquet writes one result into one file; the SQL has {} queries \
             (run them one at a time, each with its own -o FILE)",
            planned.len()
        );
    }
    let mut out = Output::open(args.output.as_deref())?;
    let limit = effective_max_rows(args.max_rows, args.format);
    for (i, (df, at)) in planned.into_iter().enumerate() {
        // Tables and CSV results are separated by a blank line (each CSV
        // result has its header); JSON gives one array, JSON lines one
        // object per row, whatever the result.
        if i > 0 && matches!(args.format, OutputFormat::Table | OutputFormat::Csv) {
            writeln!(out)?;
        }
        let written = write_frame(ctx, df, args.format, args.tz.as_deref(), limit, &mut out).await;
        match (written, at) {
            (Err(e), Some(at)) => return Err(e.context(format!("running {at}"))),
            (Err(e), None) => return Err(e),
            (Ok(written), _) => written.note_cut("--max-rows N"),
        }
    }
    out.commit()?;
    Ok(ExitCode::SUCCESS)
}

/// The row limit: `--max-rows` (or the shell's `.maxrows`) when given (0:
/// all), else 1000 for a table and all for the other formats.
pub(crate) fn effective_max_rows(max_rows: Option<usize>, format: OutputFormat) -> Option<usize> {
    match (max_rows, format) {
        (Some(0), _) => None,
        (Some(n), _) => Some(n),
        (None, OutputFormat::Table) => Some(1000),
        (None, _) => None,
    }
}

/// What [`write_frame`] wrote.
pub(crate) struct Written {
    /// Rows written.
    pub rows: usize,
    /// Whether the row limit cut the result short.
    pub truncated: bool,
}

impl Written {
    /// Prints the note that says the result was cut, naming how to see more.
    pub fn note_cut(&self, how: &str) {
        if self.truncated {
            eprintln!(
                "note: showing the first {} rows; {how} shows more (0: all)",
                self.rows
            );
        }
    }
}

/// Writes one result, at most `limit` rows.
pub(crate) async fn write_frame<W: Write + Send>(
    _ctx: &SessionContext,
    df: DataFrame,
    format: OutputFormat,
    tz: Option<&str>,
    limit: Option<usize>,
    out: W,
) -> anyhow::Result<Written> {
    // EXPLAIN [ANALYZE] must stay the root of its plan (a limit on top would
    // make DataFusion refuse it), and its answer is short anyway.
    let explain = matches!(
        df.logical_plan(),
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
    );
    // A limit beyond any result (`--max-rows 18446744073709551615`) is none:
    // DataFusion takes LIMIT as a signed number.
    let limit = limit.filter(|&n| !explain && n < i64::MAX as usize / 2);
    let df = match limit {
        Some(n) => df.limit(0, Some(n + 1))?,
        None => df,
    };
    let schema =
        hindsight_query::output::unique_names(df.schema()).map_err(|e| anyhow::anyhow!(e))?;
    let renamed = schema.fields() != df.schema().inner().fields();
    let named = schema.clone();
    let schema = match tz {
        Some(tz) => hindsight_query::output::zoned_schema(&schema, tz),
        None => schema,
    };
    let mut writer = ResultWriter::new(out, format, schema)?;
    if explain {
        writer = writer.with_line_breaks();
    }
    let mut stream = df
        .execute_stream()
        .await
        .map_err(hindsight_query::QueryError::from)?;
    let mut rows = 0usize;
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        let mut batch = batch.map_err(hindsight_query::QueryError::from)?;
        if renamed {
            batch = RecordBatch::try_new(named.clone(), batch.columns().to_vec())?;
        }
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
    Ok(Written { rows, truncated })
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

/// Refuses an output file that is one of the PATHs, lies inside a local
/// PATH, or lies inside any recording (a directory with a `manifest.json`,
/// or a recording's `events/`): a query never modifies a recording.
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
    let target = match out.file_name() {
        Some(name) => dir.join(name),
        None => dir.clone(),
    };
    let refuse = |what: &str| {
        bail!(
            "refusing to write {} {what}: hindsight query never modifies a recording",
            out.display()
        )
    };
    for p in paths {
        if p.contains("://") {
            continue;
        }
        let Ok(root) = std::fs::canonicalize(p) else {
            continue;
        };
        if root == target || std::fs::canonicalize(&target).is_ok_and(|t| t == root) {
            return refuse(&format!("over {p}, which it reads"));
        }
        if root.is_dir() && dir.starts_with(&root) {
            return refuse(&format!("inside the recording {p}"));
        }
    }
    if let Some(rec) = dir.ancestors().find(|d| is_recording_dir(d)) {
        return refuse(&format!("inside the recording {}", rec.display()));
    }
    Ok(())
}

/// Whether `dir` is a recording (or a recording's `events/` directory).
fn is_recording_dir(dir: &Path) -> bool {
    dir.join("manifest.json").is_file()
        || (dir.file_name().is_some_and(|n| n == "events")
            && dir
                .parent()
                .is_some_and(|p| p.join("manifest.json").is_file()))
}

/// Whether stdout is a terminal (the shell pages long results only then).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
