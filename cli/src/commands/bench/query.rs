//! `hindsight bench query`: times forensic queries with DataFusion (the
//! engine of `hindsight query`) and with DuckDB (python3 `duckdb`) on the same
//! generated recording, and prints medians and their ratio.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use hindsight_format::WriterOptions;
use hindsight_format::generate::{GeneratorConfig, generate_recording};
use hindsight_query::{SessionOptions, run_sql, session};

/// Arguments of `hindsight bench query`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hindsight bench query                         # 50M events (generated once into target/bench/)
  hindsight bench query --events 5000000 --rounds 5
  hindsight bench query --only 'process tree' --only shadow
  hindsight bench query --dir /data/rec --no-duckdb --format json > figures.json

Both engines read the same events/*.parquet with the same SQL text over the raw
events table (no Hindsight views or functions, so DuckDB runs it unchanged),
round by round in turn (DataFusion, DuckDB, DataFusion, ...) so both see the
same page cache and background load. Progress goes to stderr, the table (or
JSON) to stdout. Ratio = DataFusion median / DuckDB median: below 1 DataFusion
is faster. Two extra rows time Hindsight's own form of the process-tree
questions (DataFusion: descendants(); DuckDB: the recursive CTE); they are not
in the summary. DuckDB runs through python3's duckdb package (scripts/setup.sh).
Build with --release: debug builds measure the compiler, not the engine.")]
pub struct Args {
    /// Events in the generated recording.
    #[arg(long, default_value_t = 50_000_000, value_name = "N")]
    pub events: u64,

    /// Recording to use; generated there first if it does not exist.
    /// Default: target/bench/query-<N>.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Timed rounds per query and engine (the median is reported).
    #[arg(long, default_value_t = 3, value_name = "R")]
    pub rounds: usize,

    /// Only time DataFusion.
    #[arg(long)]
    pub no_duckdb: bool,

    /// Only run the queries whose name contains this text (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,

    /// Output: `table` (Markdown, as in the book) or `json` (one object).
    #[arg(long, value_enum, default_value_t = BenchFormat::Table, value_name = "FORMAT")]
    pub format: BenchFormat,
}

/// Output formats of `hindsight bench query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFormat {
    /// A Markdown table with a summary line.
    Table,
    /// One JSON object: settings, one entry per query, the summary ratios.
    Json,
}

/// Start of the generated recording (the generator's default): 08:00 UTC.
const START_NS: i64 = 1_795_161_600_000_000_000;

/// The suite: (name, SQL). `{w0}`/`{w1}` are a 5-minute window in ns.
const QUERIES: &[(&str, &str)] = &[
    (
        "who opened /etc/shadow",
        "SELECT process_executable, user_name, toctou_mismatch, count(*) AS n FROM events \
         WHERE file_path = '/etc/shadow' GROUP BY 1, 2, 3 ORDER BY n DESC",
    ),
    (
        "process tree of a pid",
        "WITH RECURSIVE procs AS (SELECT DISTINCT process_pid AS pid, process_parent_pid AS ppid \
         FROM events WHERE event_kind = 'process_fork'), \
         tree(pid, depth) AS (SELECT 581, 0 UNION ALL \
         SELECT p.pid, t.depth + 1 FROM procs p JOIN tree t ON p.ppid = t.pid WHERE t.depth < 20) \
         SELECT count(*) AS processes, max(depth) AS deepest FROM tree",
    ),
    (
        "activity of a descendant tree",
        "WITH RECURSIVE procs AS (SELECT DISTINCT process_pid AS pid, process_parent_pid AS ppid \
         FROM events WHERE event_kind = 'process_fork'), \
         tree(pid, depth) AS (SELECT 581, 0 UNION ALL \
         SELECT p.pid, t.depth + 1 FROM procs p JOIN tree t ON p.ppid = t.pid WHERE t.depth < 20) \
         SELECT e.syscall, count(*) AS n FROM events e JOIN (SELECT DISTINCT pid FROM tree) t \
         ON e.process_pid = t.pid GROUP BY e.syscall ORDER BY n DESC",
    ),
    (
        "connections by executable",
        "SELECT process_executable, destination_ip, destination_port, count(*) AS n FROM events \
         WHERE syscall = 'connect' GROUP BY 1, 2, 3 ORDER BY n DESC",
    ),
    (
        "top talkers",
        "SELECT process_pid, process_executable, count(*) AS n, count(DISTINCT destination_ip) AS peers \
         FROM events WHERE destination_ip IS NOT NULL GROUP BY 1, 2 ORDER BY n DESC LIMIT 10",
    ),
    (
        "5-minute window",
        "SELECT event_kind, syscall, count(*) AS n FROM events \
         WHERE time_ns >= {w0} AND time_ns < {w1} GROUP BY 1, 2 ORDER BY n DESC",
    ),
    (
        "mismatch list",
        "SELECT seq, process_pid, process_executable, syscall, file_path_user, file_path, \
         destination_addr_user, destination_ip FROM events WHERE toctou_mismatch ORDER BY seq",
    ),
    (
        "rare executables",
        "SELECT process_executable, count(DISTINCT process_pid) AS procs FROM events \
         WHERE event_kind = 'process_exec' GROUP BY 1 HAVING count(DISTINCT process_pid) <= 2 ORDER BY 1",
    ),
    (
        "first-seen binaries",
        "SELECT process_executable, min(time_ns) AS first_ns, count(*) AS execs FROM events \
         WHERE event_kind = 'process_exec' GROUP BY 1 ORDER BY first_ns",
    ),
    (
        "writes under /etc",
        "SELECT process_executable, syscall, file_path, count(*) AS n FROM events \
         WHERE file_path LIKE '/etc/%' AND (file_flags LIKE '%O_WRONLY%' OR file_flags LIKE '%O_RDWR%' \
         OR syscall IN ('unlinkat', 'renameat2', 'fchmodat')) GROUP BY 1, 2, 3 ORDER BY n DESC",
    ),
    (
        "failed opens by errno",
        "SELECT ret, count(*) AS n FROM events WHERE syscall = 'openat' AND ret < 0 GROUP BY ret ORDER BY n DESC",
    ),
    (
        "events per user",
        "SELECT user_name, count(*) AS n FROM events GROUP BY user_name ORDER BY n DESC",
    ),
];

/// The same questions in Hindsight's own form: DataFusion runs this SQL
/// (the `descendants()` table function: one scan of the lifecycle rows),
/// DuckDB the recursive CTE of the same-named entry of [`QUERIES`]. Reported
/// apart and left out of the summary ratios.
const IDIOMATIC: &[(&str, &str)] = &[
    (
        "process tree of a pid",
        "SELECT count(*) AS processes, max(depth) AS deepest FROM descendants(581)",
    ),
    (
        "activity of a descendant tree",
        "SELECT e.syscall, count(*) AS n FROM events e JOIN descendants(581) d \
         ON e.process_pid = d.pid GROUP BY e.syscall ORDER BY n DESC",
    ),
];

/// One timed question.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    /// What DuckDB runs.
    duckdb_sql: String,
    /// What DataFusion runs (the same text except for [`IDIOMATIC`] cases).
    datafusion_sql: String,
}

impl Case {
    fn same_sql(&self) -> bool {
        self.duckdb_sql == self.datafusion_sql
    }
}

fn suite() -> Vec<Case> {
    let w0 = START_NS + 5 * 60 * 1_000_000_000 / 5; // one minute in
    let w1 = w0 + 5 * 60 * 1_000_000_000;
    let fill = |q: &str| {
        q.replace("{w0}", &w0.to_string())
            .replace("{w1}", &w1.to_string())
    };
    let mut cases: Vec<Case> = QUERIES
        .iter()
        .map(|(n, q)| Case {
            name: n.to_string(),
            duckdb_sql: fill(q),
            datafusion_sql: fill(q),
        })
        .collect();
    for (name, df_sql) in IDIOMATIC {
        let cte = QUERIES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, q)| fill(q))
            .expect("every idiomatic case has a same-SQL twin");
        cases.push(Case {
            name: format!("{name} [descendants()]"),
            duckdb_sql: cte,
            datafusion_sql: df_sql.to_string(),
        });
    }
    cases
}

/// Runs `hindsight bench query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/bench/query-{}", args.events)));
    if !dir.join("manifest.json").exists() {
        generate(&dir, args.events)?;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; build with --release for meaningful figures");
    }
    let all = suite();
    let queries: Vec<Case> = all
        .iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| c.name.contains(o)))
        .cloned()
        .collect();
    if queries.is_empty() {
        bail!(
            "--only matches no query; the queries are: {}",
            all.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (df, duck) = time_both(&dir, &queries, args.rounds, !args.no_duckdb)?;
    let report = Report::new(&dir, &queries, &df, duck.as_deref(), args.rounds);
    match args.format {
        BenchFormat::Table => report.print_table(),
        BenchFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(dir: &Path, events: u64) -> anyhow::Result<()> {
    eprintln!("generating {events} events into {} (once)", dir.display());
    let cfg = GeneratorConfig {
        events,
        ..GeneratorConfig::default()
    };
    let started = Instant::now();
    let mut last = Instant::now();
    // A throw-away recording: no crash-safety spool (it would double the writes).
    let options = WriterOptions {
        spool: false,
        ..WriterOptions::default()
    };
    generate_recording(dir, &cfg, options, &mut |done| {
        if last.elapsed().as_secs() >= 5 {
            eprintln!(
                "  {done} / {events} events ({:.0}s)",
                started.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
    })
    .with_context(|| format!("generating {}", dir.display()))?;
    eprintln!("generated in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// (median seconds, rows) per query.
type Timings = Vec<(f64, usize)>;

/// The median (mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Times every case, alternating the engines round by round (DataFusion,
/// then DuckDB, then DataFusion again...) so that both see the same page
/// cache and the same background load.
fn time_both(
    dir: &Path,
    queries: &[Case],
    rounds: usize,
    with_duckdb: bool,
) -> anyhow::Result<(Timings, Option<Timings>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut duck = if with_duckdb {
        Some(DuckDb::start(dir)?)
    } else {
        None
    };
    runtime.block_on(async {
        let path = dir.display().to_string();
        let ctx = session(&[path], SessionOptions::default()).await?;
        let (mut df_out, mut duck_out) = (Vec::new(), Vec::new());
        for (i, case) in queries.iter().enumerate() {
            let (mut df_times, mut duck_times) = (Vec::new(), Vec::new());
            let (mut df_rows, mut duck_rows) = (0, 0);
            for _ in 0..rounds {
                let started = Instant::now();
                let mut n = 0;
                for df in run_sql(&ctx, &case.datafusion_sql)
                    .await
                    .with_context(|| format!("DataFusion: {}", case.name))?
                {
                    n += df
                        .collect()
                        .await?
                        .iter()
                        .map(|b| b.num_rows())
                        .sum::<usize>();
                }
                df_times.push(started.elapsed().as_secs_f64());
                df_rows = n;
                if let Some(d) = duck.as_mut() {
                    let (t, rows) = d
                        .run(&case.duckdb_sql)
                        .with_context(|| format!("DuckDB: {}", case.name))?;
                    duck_times.push(t);
                    duck_rows = rows;
                }
            }
            let df_median = median(df_times);
            let line = format!(
                "[{}/{}] {:<46} DataFusion {:>9.1} ms",
                i + 1,
                queries.len(),
                case.name,
                df_median * 1e3
            );
            df_out.push((df_median, df_rows));
            if duck.is_some() {
                let duck_median = median(duck_times);
                eprintln!(
                    "{line}  DuckDB {:>9.1} ms  ratio {:.2}",
                    duck_median * 1e3,
                    df_median / duck_median
                );
                duck_out.push((duck_median, duck_rows));
            } else {
                eprintln!("{line}");
            }
        }
        if let Some(d) = duck {
            d.finish()?;
        }
        Ok((df_out, with_duckdb.then_some(duck_out)))
    })
}

/// A python3 process that runs one query per stdin line (JSON string) and
/// answers `[seconds, rows]` per stdout line.
const DUCKDB_SCRIPT: &str = r#"
import json, sys, time, duckdb
# No progress bar: it would be printed into the answers on stdout.
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
try:
    import pyarrow  # noqa: F401  (columnar results, as DataFusion collects them)
    run = lambda sql: con.sql(sql).to_arrow_table().num_rows
except ImportError:
    run = lambda sql: len(con.execute(sql).fetchall())
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{sys.argv[1]}/events/*.parquet')")
print(json.dumps(["ready", duckdb.__version__]), flush=True)
for line in sys.stdin:
    sql = json.loads(line)
    t = time.perf_counter()
    rows = run(sql)
    print(json.dumps([time.perf_counter() - t, rows]), flush=True)
"#;

/// The DuckDB side of the benchmark (python3 with the `duckdb` package).
struct DuckDb {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl DuckDb {
    fn start(dir: &Path) -> anyhow::Result<DuckDb> {
        use std::io::BufRead;
        let abs = std::fs::canonicalize(dir)?;
        let mut child = Command::new("python3")
            .args(["-c", DUCKDB_SCRIPT])
            .arg(&abs)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("cannot run python3 (DuckDB runs through python3's duckdb package)")?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let ready: Option<(String, String)> = serde_json::from_str(&line).ok();
        match ready {
            Some((_, version)) => eprintln!("DuckDB {version} (python3) on the same files"),
            None => bail!(
                "DuckDB did not start (is the python3 duckdb package installed? \
                 scripts/setup.sh installs it)"
            ),
        }
        Ok(DuckDb {
            child,
            stdin,
            stdout,
        })
    }

    /// Runs one query: (seconds, rows).
    fn run(&mut self, sql: &str) -> anyhow::Result<(f64, usize)> {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{}", serde_json::to_string(sql)?)?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        serde_json::from_str(&line).with_context(|| format!("the DuckDB process failed on: {sql}"))
    }

    fn finish(self) -> anyhow::Result<()> {
        let DuckDb {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        child.wait()?;
        Ok(())
    }
}

/// One query's result in the report.
#[derive(Debug, serde::Serialize)]
struct QueryReport {
    name: String,
    /// The SQL both engines ran, or DuckDB's when they differ.
    sql: String,
    /// DataFusion's SQL when it differs (the idiomatic cases).
    datafusion_sql: Option<String>,
    rows: usize,
    datafusion_ms: f64,
    duckdb_ms: Option<f64>,
    duckdb_rows: Option<usize>,
    /// DataFusion median / DuckDB median.
    ratio: Option<f64>,
}

/// Everything `hindsight bench query` prints.
#[derive(Debug, serde::Serialize)]
struct Report {
    events: u64,
    dir: String,
    rounds: usize,
    threads: usize,
    release_build: bool,
    queries: Vec<QueryReport>,
    median_ratio: Option<f64>,
    geometric_mean_ratio: Option<f64>,
}

impl Report {
    fn new(
        dir: &Path,
        queries: &[Case],
        df: &Timings,
        duck: Option<&[(f64, usize)]>,
        rounds: usize,
    ) -> Report {
        let events = hindsight_format::Manifest::read(dir)
            .map(|m| m.rows())
            .unwrap_or(0);
        let mut out = Vec::new();
        for (i, case) in queries.iter().enumerate() {
            let (t, rows) = df[i];
            let d = duck.map(|d| d[i]);
            out.push(QueryReport {
                name: case.name.clone(),
                sql: case.duckdb_sql.clone(),
                datafusion_sql: (!case.same_sql()).then(|| case.datafusion_sql.clone()),
                rows,
                datafusion_ms: t * 1e3,
                duckdb_ms: d.map(|(u, _)| u * 1e3),
                duckdb_rows: d.map(|(_, r)| r),
                ratio: d.map(|(u, _)| t / u),
            });
        }
        let ratios: Vec<f64> = out
            .iter()
            .filter(|q| q.datafusion_sql.is_none())
            .filter_map(|q| q.ratio)
            .collect();
        let (median_ratio, geometric_mean_ratio) = if ratios.is_empty() {
            (None, None)
        } else {
            let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
            (Some(median(ratios)), Some(geo))
        };
        Report {
            events,
            dir: dir.display().to_string(),
            rounds,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            release_build: !cfg!(debug_assertions),
            queries: out,
            median_ratio,
            geometric_mean_ratio,
        }
    }

    fn print_table(&self) {
        println!(
            "{} events in {}, median of {} rounds, {} threads, {} build",
            self.events,
            self.dir,
            self.rounds,
            self.threads,
            if self.release_build {
                "release"
            } else {
                "debug"
            }
        );
        if self.queries.iter().any(|q| q.datafusion_sql.is_none()) {
            println!();
            println!("| Query | Rows | DataFusion (ms) | DuckDB (ms) | Ratio DF/DuckDB |");
            println!("| --- | ---: | ---: | ---: | ---: |");
            for q in self.queries.iter().filter(|q| q.datafusion_sql.is_none()) {
                print_row(q);
            }
        }
        if let (Some(m), Some(g)) = (self.median_ratio, self.geometric_mean_ratio) {
            println!();
            println!("median ratio {m:.2}, geometric mean {g:.2} (below 1: DataFusion faster)");
        }
        if self.queries.iter().any(|q| q.datafusion_sql.is_some()) {
            println!();
            println!(
                "Hindsight's own form (DataFusion: descendants(); DuckDB: the recursive CTE above), \
                 not in the summary:"
            );
            println!();
            println!("| Query | Rows | DataFusion (ms) | DuckDB (ms) | Ratio DF/DuckDB |");
            println!("| --- | ---: | ---: | ---: | ---: |");
            for q in self.queries.iter().filter(|q| q.datafusion_sql.is_some()) {
                print_row(q);
            }
        }
    }
}

/// One Markdown table row.
fn print_row(q: &QueryReport) {
    match (q.duckdb_ms, q.ratio) {
        (Some(u), Some(ratio)) => {
            let mark = if q.duckdb_rows == Some(q.rows) {
                ""
            } else {
                " (row counts differ!)"
            };
            println!(
                "| {} | {} | {:.1} | {u:.1} | {ratio:.2}{mark} |",
                q.name, q.rows, q.datafusion_ms
            );
        }
        _ => println!(
            "| {} | {} | {:.1} | - | - |",
            q.name, q.rows, q.datafusion_ms
        ),
    }
}
