//! The interactive SQL shell of `hindsight query` (no SQL argument).
//!
//! Statements end with `;` and may span lines. Dot commands (`.tables`,
//! `.schema NAME`, `.format FMT`, `.timer on`, `.maxrows N`, `.help`, `.quit`)
//! and their psql spellings (`\d`, `\d NAME`, `\q`) take one line. On a
//! terminal: line editing, history, tab completion of tables, columns and
//! functions, and long results through `$PAGER`. With stdin not a terminal
//! the same commands are read line by line (a script).

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use hindsight_query::datafusion::execution::context::SessionContext;
use hindsight_query::output::OutputFormat;
use hindsight_query::run_sql;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::Args;

const HELP: &str = "\
Statements end with ';' and may span several lines.
  .tables              list tables and views            (also \\d)
  .schema NAME         columns of a table or view       (also \\d NAME)
  .format FMT          table, csv, json, jsonl          (now: {format})
  .timer on|off        print how long each statement took
  .maxrows N           show at most N rows (0: all)      (now: {maxrows})
  .help                this text                        (also \\?)
  .quit                leave                            (also .exit, \\q, Ctrl-D)
Tables: events, processes, process_tree, files, network, execs, toctou, loss;
descendants(pid) and ancestors(pid). Example:
  SELECT exe, count(*) FROM files WHERE path_match(path, '/etc/**') GROUP BY exe;";

struct State {
    format: OutputFormat,
    timer: bool,
    /// `--max-rows` or `.maxrows` when given (0: all).
    max_rows: Option<usize>,
    tz: Option<String>,
    /// Results printed so far.
    results: usize,
}

impl State {
    fn new(args: &Args) -> Self {
        State {
            format: if args.format == OutputFormat::Parquet {
                OutputFormat::Table
            } else {
                args.format
            },
            timer: false,
            results: 0,
            max_rows: args.max_rows,
            tz: args.tz.clone(),
        }
    }

    /// The row limit now: 1000 for a table and all for the other formats,
    /// unless `.maxrows` said otherwise.
    fn limit(&self) -> Option<usize> {
        super::effective_max_rows(self.max_rows, self.format)
    }
}

/// Runs the shell until `.quit` or end of input.
pub async fn run(ctx: &SessionContext, args: &Args, paths: &[String]) -> anyhow::Result<ExitCode> {
    let mut state = State::new(args);
    let names = completion_names(ctx).await;
    let mut editor: Editor<ShellHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(ShellHelper { names }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    eprintln!(
        "hindsight query shell over {} — .help for help, .quit to leave",
        paths.join(", ")
    );
    loop {
        match editor.readline("hindsight> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                match handle(ctx, &mut state, &line, true).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    Ok(ExitCode::SUCCESS)
}

/// A script of shell commands and `;`-terminated statements (stdin that is
/// not a terminal and holds shell commands). Stops at the first error with
/// exit status 2.
pub async fn run_script(
    ctx: &SessionContext,
    args: &Args,
    script: &str,
) -> anyhow::Result<ExitCode> {
    let state = &mut State::new(args);
    let mut buffer = String::new();
    for (number, line) in script.lines().enumerate() {
        if buffer.trim().is_empty() && is_command(line) {
            buffer.clear();
            if !handle(ctx, state, line, false).await? {
                return Ok(ExitCode::SUCCESS);
            }
            continue;
        }
        if buffer.is_empty() {
            // Errors then name lines of the script, not of the statement.
            buffer.push_str(&"\n".repeat(number));
        }
        buffer.push_str(line);
        buffer.push('\n');
        if line.trim_end().ends_with(';') {
            let sql = std::mem::take(&mut buffer);
            handle(ctx, state, &sql, false).await?;
        }
    }
    if !buffer.trim().is_empty() {
        handle(ctx, state, &buffer, false).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a line is a shell command (`.format csv`, `\\d events`).
pub fn is_command(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('.') || t.starts_with('\\')
}

/// Runs one command or statement; `Ok(false)` means quit.
async fn handle(
    ctx: &SessionContext,
    state: &mut State,
    input: &str,
    interactive: bool,
) -> anyhow::Result<bool> {
    let text = input.trim();
    if is_command(text) {
        let mut words = text.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let arg = words.next();
        match (cmd, arg) {
            (".quit" | ".exit" | "\\q", _) => return Ok(false),
            (".help" | "\\?" | "\\h", _) => {
                let max = state.limit().map_or("all".to_string(), |n| n.to_string());
                println!(
                    "{}",
                    HELP.replace("{format}", &state.format.to_string())
                        .replace("{maxrows}", &max)
                );
            }
            (".tables" | "\\d" | "\\dt", None) => {
                let sql = "SELECT table_name, table_type FROM information_schema.tables \
                           WHERE table_schema = 'public' ORDER BY table_name";
                run_statement(ctx, state, sql, interactive).await?;
            }
            (".schema" | "\\d" | ".describe", Some(name)) => {
                let name = name.trim_end_matches(';').replace('\'', "''");
                let sql = format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{name}' ORDER BY ordinal_position"
                );
                let df = ctx.sql(&sql).await?;
                if df.clone().count().await? == 0 {
                    anyhow::bail!("no table or view named {name} (.tables lists them)");
                }
                run_statement(ctx, state, &sql, interactive).await?;
            }
            (".schema", None) => {
                run_statement(
                    ctx,
                    state,
                    "SELECT table_name, column_name, data_type FROM information_schema.columns \
                     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
                    interactive,
                )
                .await?;
            }
            (".format", Some(f)) => {
                // The shell's formats: not parquet, which is refused below.
                let Ok(f) = f.parse::<OutputFormat>() else {
                    anyhow::bail!("unknown format {f:?} (one of table, csv, json, jsonl)");
                };
                if f == OutputFormat::Parquet {
                    anyhow::bail!(
                        "parquet is binary: use hindsight query -c SQL --format parquet -o FILE"
                    );
                }
                state.format = f;
            }
            (".format", None) => println!("{}", state.format),
            (".timer", Some("on")) => state.timer = true,
            (".timer", Some("off")) => state.timer = false,
            (".maxrows", Some(n)) => {
                let n: usize = n
                    .parse()
                    .map_err(|_| anyhow::anyhow!(".maxrows takes a number"))?;
                state.max_rows = Some(n);
            }
            _ => anyhow::bail!("unknown command {text:?} (.help lists the commands)"),
        }
        return Ok(true);
    }
    // Leading newlines are kept: they place a script's statement at its line.
    run_statement(ctx, state, input.trim_end(), interactive).await?;
    Ok(true)
}

async fn run_statement(
    ctx: &SessionContext,
    state: &mut State,
    sql: &str,
    interactive: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let frames = run_sql(ctx, sql).await?;
    for df in frames {
        if df.schema().fields().is_empty() {
            continue;
        }
        let mut buf: Vec<u8> = Vec::new();
        // A script's tables and CSV results are separated by a blank line,
        // as `-f` separates them (the prompt separates them at a terminal).
        if !interactive
            && state.results > 0
            && matches!(state.format, OutputFormat::Table | OutputFormat::Csv)
        {
            buf.push(b'\n');
        }
        state.results += 1;
        let written = super::write_frame(
            ctx,
            df,
            state.format,
            state.tz.as_deref(),
            state.limit(),
            &mut buf,
        )
        .await?;
        emit(&buf, interactive)?;
        written.note_cut(".maxrows N");
        if state.timer {
            eprintln!(
                "{} rows in {:.3}s",
                written.rows,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Prints a result, through `$PAGER` when it is taller than the terminal.
fn emit(buf: &[u8], interactive: bool) -> anyhow::Result<()> {
    let lines = buf.iter().filter(|b| **b == b'\n').count();
    let height: usize = std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(40);
    if interactive && super::stdout_is_terminal() && lines + 2 > height {
        let pager = std::env::var("PAGER").unwrap_or_else(|_| "less -FRSX".into());
        let mut parts = pager.split_whitespace();
        if let Some(program) = parts.next()
            && let Ok(mut child) = std::process::Command::new(program)
                .args(parts)
                .stdin(std::process::Stdio::piped())
                .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(buf);
            }
            child.wait()?;
            return Ok(());
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(buf)?;
    out.flush()?;
    Ok(())
}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HINDSIGHT_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("hindsight").join("query_history"))
}

/// Table, column and function names for tab completion.
async fn completion_names(ctx: &SessionContext) -> Vec<String> {
    let mut names: Vec<String> = [
        "SELECT",
        "FROM",
        "WHERE",
        "GROUP BY",
        "ORDER BY",
        "LIMIT",
        "JOIN",
        "LEFT JOIN",
        "ON",
        "AND",
        "OR",
        "NOT",
        "DISTINCT",
        "COUNT",
        "HAVING",
        "WITH",
        "AS",
        "DESC",
        "ASC",
        "BETWEEN",
        "INTERVAL",
        "LIKE",
        "IS NULL",
        "IS NOT NULL",
        "UNION ALL",
        ".tables",
        ".schema",
        ".format",
        ".timer",
        ".maxrows",
        ".help",
        ".quit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend(hindsight_query::udf::NAMES.iter().map(|s| s.to_string()));
    names.extend(["descendants".to_string(), "ancestors".to_string()]);
    let sql = "SELECT DISTINCT table_name AS n FROM information_schema.tables WHERE table_schema = 'public' \
               UNION SELECT DISTINCT column_name AS n FROM information_schema.columns WHERE table_schema = 'public'";
    if let Ok(df) = ctx.sql(sql).await
        && let Ok(batches) = df.collect().await
    {
        for b in batches {
            if let Ok(col) = hindsight_query::udf::utf8_array(b.column(0)) {
                names.extend(col.iter().flatten().map(str::to_string));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

struct ShellHelper {
    names: Vec<String>,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((start, Vec::new()));
        }
        let lower = word.to_lowercase();
        let upper_case = word.chars().next().is_some_and(char::is_uppercase);
        let pairs = self
            .names
            .iter()
            .filter(|n| n.to_lowercase().starts_with(&lower))
            .map(|n| {
                let replacement = if n.chars().all(|c| c.is_uppercase() || c == ' ') && !upper_case
                {
                    n.to_lowercase()
                } else {
                    n.clone()
                };
                Pair {
                    display: n.clone(),
                    replacement,
                }
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input().trim();
        if input.is_empty() || is_command(input) || input.ends_with(';') {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ShellHelper {}
