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
  hindsight bench query --dir /data/rec --no-duckdb

Both engines read the same events/*.parquet with the same SQL text over the raw
events table (no Hindsight views or functions, so DuckDB runs it unchanged).
Ratio = DataFusion median / DuckDB median: below 1 DataFusion is faster.
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

fn suite() -> Vec<(String, String)> {
    let w0 = START_NS + 5 * 60 * 1_000_000_000 / 5; // one minute in
    let w1 = w0 + 5 * 60 * 1_000_000_000;
    QUERIES
        .iter()
        .map(|(n, q)| {
            (
                n.to_string(),
                q.replace("{w0}", &w0.to_string())
                    .replace("{w1}", &w1.to_string()),
            )
        })
        .collect()
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
    let queries = suite();
    let df = time_datafusion(&dir, &queries, args.rounds)?;
    let duck = if args.no_duckdb {
        None
    } else {
        Some(time_duckdb(&dir, &queries, args.rounds)?)
    };
    print_table(&dir, &queries, &df, duck.as_deref(), args.rounds);
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
    generate_recording(dir, &cfg, WriterOptions::default(), &mut |done| {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_datafusion(
    dir: &Path,
    queries: &[(String, String)],
    rounds: usize,
) -> anyhow::Result<Timings> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let path = dir.display().to_string();
        let ctx = session(&[path], SessionOptions::default()).await?;
        let mut out = Vec::new();
        for (name, sql) in queries {
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..rounds {
                let started = Instant::now();
                let mut n = 0;
                for df in run_sql(&ctx, sql).await? {
                    n += df
                        .collect()
                        .await?
                        .iter()
                        .map(|b| b.num_rows())
                        .sum::<usize>();
                }
                times.push(started.elapsed().as_secs_f64());
                rows = n;
            }
            eprintln!(
                "datafusion  {name:<32} {:>9.1} ms",
                median(times.clone()) * 1e3
            );
            out.push((median(times), rows));
        }
        Ok(out)
    })
}

const DUCKDB_SCRIPT: &str = r#"
import json, statistics, sys, time, duckdb
d, rounds, queries = sys.argv[1], int(sys.argv[2]), json.loads(sys.stdin.read())
con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{d}/events/*.parquet')")
out = []
for name, sql in queries:
    times, rows = [], 0
    for _ in range(rounds):
        t = time.perf_counter()
        rows = len(con.execute(sql).fetchall())
        times.append(time.perf_counter() - t)
    m = statistics.median_low(times)
    print(f"duckdb      {name:<32} {m * 1e3:>9.1f} ms", file=sys.stderr)
    out.append([m, rows])
print(json.dumps(out))
"#;

fn time_duckdb(dir: &Path, queries: &[(String, String)], rounds: usize) -> anyhow::Result<Timings> {
    use std::io::Write;
    let abs = std::fs::canonicalize(dir)?;
    let mut child = Command::new("python3")
        .args(["-c", DUCKDB_SCRIPT])
        .arg(&abs)
        .arg(rounds.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot run python3 (DuckDB runs through python3 -m pip's duckdb)")?;
    let list: Vec<[&str; 2]> = queries
        .iter()
        .map(|(n, q)| [n.as_str(), q.as_str()])
        .collect();
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(serde_json::to_string(&list)?.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "the DuckDB run failed (is the python3 duckdb package installed? scripts/setup.sh installs it)"
        );
    }
    let v: Vec<(f64, usize)> = serde_json::from_slice(&out.stdout).context("DuckDB output")?;
    Ok(v)
}

fn print_table(
    dir: &Path,
    queries: &[(String, String)],
    df: &Timings,
    duck: Option<&[(f64, usize)]>,
    rounds: usize,
) {
    let events = hindsight_format::Manifest::read(dir)
        .map(|m| m.rows())
        .unwrap_or(0);
    println!(
        "{} events in {}, median of {rounds} rounds, {} threads",
        events,
        dir.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| Query | Rows | DataFusion (ms) | DuckDB (ms) | Ratio DF/DuckDB |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut ratios = Vec::new();
    for (i, (name, _)) in queries.iter().enumerate() {
        let (t, rows) = df[i];
        match duck {
            Some(d) => {
                let (u, urows) = d[i];
                let ratio = t / u;
                ratios.push(ratio);
                let mark = if rows == urows {
                    ""
                } else {
                    " (row counts differ!)"
                };
                println!(
                    "| {name} | {rows} | {:.1} | {:.1} | {ratio:.2}{mark} |",
                    t * 1e3,
                    u * 1e3
                );
            }
            None => println!("| {name} | {rows} | {:.1} | - | - |", t * 1e3),
        }
    }
    if !ratios.is_empty() {
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        println!();
        println!(
            "median ratio {:.2}, geometric mean {:.2} (below 1: DataFusion faster)",
            median(ratios.clone()),
            geo
        );
    }
}
