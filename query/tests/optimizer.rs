//! Hindsight's optimizer rules (`LIKE` prefilter, `count` beside `DISTINCT`,
//! cached invariants of recursive terms)
//! fire where they should and change no result: every query here runs in a
//! Hindsight session and in a plain DataFusion context over the same
//! segments, and both answers must be equal.

mod common;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use hindsight_query::datafusion;
use hindsight_query::{SessionOptions, run_sql, session};

async fn hindsight() -> SessionContext {
    session(&[common::small()], SessionOptions::default())
        .await
        .expect("session")
}

/// DataFusion as it comes: its own rules only.
async fn plain() -> SessionContext {
    let ctx = SessionContext::new();
    ctx.register_parquet(
        "events",
        format!("{}/events/", common::small()),
        ParquetReadOptions::default(),
    )
    .await
    .expect("register");
    ctx
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for df in run_sql(ctx, sql).await.expect(sql) {
        let batches = df.collect().await.expect(sql);
        let text = pretty_format_batches(&batches).expect("render").to_string();
        // Data lines only (headers may name types differently), sorted.
        out.extend(
            text.lines()
                .filter(|l| l.starts_with('|'))
                .skip(1)
                .map(str::to_string),
        );
    }
    out.sort();
    out
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    rows(ctx, &format!("EXPLAIN {sql}")).await.join("\n")
}

async fn same_answer(sql: &str) {
    let (ours, theirs) = (
        rows(&hindsight().await, sql).await,
        rows(&plain().await, sql).await,
    );
    assert!(!ours.is_empty(), "no rows: {sql}");
    assert_eq!(ours, theirs, "{sql}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn like_prefilter_keeps_every_answer() {
    for sql in [
        // In a filter, negated, beside other predicates, with NULL flags.
        "SELECT count(*) FROM events WHERE file_flags LIKE '%O_WRONLY%'",
        "SELECT count(*) FROM events WHERE file_flags NOT LIKE '%O_WRONLY%'",
        "SELECT count(*) FROM events WHERE file_path LIKE '/etc/%' \
         AND (file_flags LIKE '%O_WRONLY%' OR file_flags LIKE '%O_RDWR%' OR syscall = 'unlinkat')",
        // A literal prefix, `_` inside, `%` inside.
        "SELECT file_path, count(*) FROM events WHERE file_path LIKE '/usr/lib/x86_64_linux%' GROUP BY 1",
        "SELECT file_path, count(*) FROM events WHERE file_path LIKE '/etc/%.conf' GROUP BY 1",
        "SELECT file_path, count(*) FROM events WHERE file_path LIKE '%lib%so._' GROUP BY 1",
        // In a projection: NULL stays NULL, the column keeps its name.
        "SELECT file_flags LIKE '%O_CLOEXEC%' AS cloexec, file_flags LIKE '%_CREAT|%' AS creat, \
         count(*) FROM events GROUP BY 1, 2",
    ] {
        same_answer(sql).await;
    }
    let explained = plan(
        &hindsight().await,
        "SELECT count(*) FROM events WHERE file_flags LIKE '%O_WRONLY%'",
    )
    .await;
    assert!(explained.contains("like_prefiltered"), "{explained}");
    let prefix = plan(
        &hindsight().await,
        "SELECT count(*) FROM events WHERE file_path LIKE '/etc/%.conf'",
    )
    .await;
    assert!(
        prefix.contains("LIKE Utf8View(\"/etc/%\")"),
        "pruning prefix kept: {prefix}"
    );
    // Shapes Arrow runs without a regex are left alone.
    let fast = plan(
        &hindsight().await,
        "SELECT count(*) FROM events WHERE file_path LIKE '/etc/%'",
    )
    .await;
    assert!(!fast.contains("like_prefiltered"), "{fast}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_beside_distinct_keeps_every_answer() {
    let top_talkers = "SELECT process_pid, process_executable, count(*) AS n, \
         count(DISTINCT destination_ip) AS peers FROM events \
         WHERE destination_ip IS NOT NULL GROUP BY 1, 2";
    for sql in [
        top_talkers,
        // count(column) with NULLs, sum/min/max beside it, a computed group.
        "SELECT user_name, count(destination_port) AS ports, count(DISTINCT process_executable) AS exes, \
         sum(latency_ns) AS total, min(ret), max(ret) FROM events GROUP BY user_name",
        "SELECT event_kind = 'syscall' AS sys, count(*), count(DISTINCT syscall) FROM events GROUP BY 1",
        // No GROUP BY: not rewritten (count over no rows must stay 0).
        "SELECT count(*), count(DISTINCT destination_ip) FROM events WHERE process_pid < 0",
        "SELECT count(*), count(DISTINCT destination_ip) FROM events",
    ] {
        same_answer(sql).await;
    }
    let explained = plan(&hindsight().await, top_talkers).await;
    assert!(
        !explained.contains("count(DISTINCT"),
        "distinct values per group remain: {explained}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_recursive_invariants_keep_every_answer() {
    // The root: the process with the most forked children.
    let procs = "procs AS (SELECT DISTINCT process_pid AS pid, process_parent_pid AS ppid \
         FROM events WHERE event_kind = 'process_fork')";
    let root = "SELECT * FROM (SELECT process_parent_pid, 0 FROM events \
         WHERE event_kind = 'process_fork' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)";
    let tree = format!(
        "WITH RECURSIVE {procs}, tree(pid, depth) AS ({root} UNION ALL \
         SELECT p.pid, t.depth + 1 FROM procs p JOIN tree t ON p.ppid = t.pid WHERE t.depth < 20)"
    );
    let count = format!("{tree} SELECT count(*) AS processes, max(depth) AS deepest FROM tree");
    for sql in [
        count.clone(),
        format!("{tree} SELECT pid, depth FROM tree"),
        // The tree joined with the events again (activity of the tree).
        format!(
            "{tree} SELECT e.syscall, count(*) AS n FROM events e JOIN (SELECT DISTINCT pid FROM tree) t \
             ON e.process_pid = t.pid GROUP BY e.syscall"
        ),
        // The events themselves in the recursive term (no CTE), walking up.
        "WITH RECURSIVE up(pid, depth) AS (SELECT max(process_pid), 0 FROM events UNION ALL \
         SELECT e.process_parent_pid, u.depth + 1 FROM events e JOIN up u ON e.process_pid = u.pid \
         WHERE e.event_kind = 'process_fork' AND u.depth < 10) SELECT DISTINCT pid, depth FROM up"
            .to_string(),
    ] {
        same_answer(&sql).await;
    }
    let explained = plan(&hindsight().await, &count).await;
    assert!(explained.contains("CachedExec"), "{explained}");
    // Plain DataFusion rescans at every level; the fork rows are kept here.
    let plain_plan = plan(&plain().await, &count).await;
    assert!(!plain_plan.contains("CachedExec"), "{plain_plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_on_recursive_result_keeps_every_answer() {
    // The fixture is small: lower DataFusion's one-partition threshold so
    // that `events` counts as a large build side.
    let ctx = hindsight().await;
    run_sql(
        &ctx,
        "SET datafusion.optimizer.hash_join_single_partition_threshold_rows = 100",
    )
    .await
    .expect("set");
    let activity = "WITH RECURSIVE procs AS (SELECT DISTINCT process_pid AS pid, \
         process_parent_pid AS ppid FROM events WHERE event_kind = 'process_fork'), \
         tree(pid, depth) AS (SELECT * FROM (SELECT process_parent_pid, 0 FROM events \
         WHERE event_kind = 'process_fork' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) \
         UNION ALL SELECT p.pid, t.depth + 1 FROM procs p JOIN tree t ON p.ppid = t.pid \
         WHERE t.depth < 20) \
         SELECT e.syscall, count(*) AS n FROM events e JOIN (SELECT DISTINCT pid FROM tree) t \
         ON e.process_pid = t.pid GROUP BY e.syscall";
    let explained = plan(&ctx, activity).await;
    // Built on the tree (right), probed with the events.
    assert!(explained.contains("join_type=RightSemi"), "{explained}");
    let (ours, theirs) = (
        rows(&ctx, activity).await,
        rows(&plain().await, activity).await,
    );
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_on_codes_keeps_every_answer() {
    let per_user = "SELECT user_name, count(*) AS n FROM events GROUP BY user_name";
    for sql in [
        per_user,
        // A key declared non-nullable; two name keys; NULL keys (syscall and
        // file_flags are NULL on some rows).
        "SELECT host_name, count(*) FROM events GROUP BY 1",
        "SELECT event_kind, syscall, count(*) AS n FROM events GROUP BY 1, 2",
        "SELECT file_flags, count(*), count(file_path), min(ret), max(latency_ns) FROM events GROUP BY 1",
        // A filter below, min beside count (first-seen binaries).
        "SELECT process_executable, min(time_ns) AS first_ns, count(*) AS execs FROM events \
         WHERE event_kind = 'process_exec' GROUP BY 1",
        // A name and an integer key (left to DataFusion); DISTINCT below a count.
        "SELECT process_executable, count(DISTINCT process_pid) AS procs FROM events \
         WHERE event_kind = 'process_exec' GROUP BY 1 HAVING count(DISTINCT process_pid) <= 20",
        "SELECT syscall, ret, process_pid, count(*), sum(latency_ns), avg(latency_ns) FROM events GROUP BY 1, 2, 3",
        // An aggregate's own FILTER, a string key that is no name column.
        "SELECT user_name, count(*) FILTER (WHERE ret < 0) AS failed, count(*) FROM events GROUP BY 1",
        "SELECT user_name, file_path, count(*) FROM events GROUP BY 1, 2",
        // No rows at all.
        "SELECT user_name, count(*) FROM events WHERE process_pid < 0 GROUP BY 1 \
         UNION ALL SELECT 'none', 0",
    ] {
        same_answer(sql).await;
    }
    let explained = plan(&hindsight().await, per_user).await;
    assert!(explained.contains("CodeGroupExec"), "{explained}");
    let plain_plan = plan(&plain().await, per_user).await;
    assert!(!plain_plan.contains("CodeGroupExec"), "{plain_plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_filtered_while_decoding_keep_every_answer() {
    for sql in [
        "SELECT count(*), min(seq), max(seq), count(file_path_user) FROM events WHERE toctou_mismatch",
        "SELECT count(*), min(seq) FROM events WHERE toctou_mismatch = true AND ret < 0",
        "SELECT count(*), min(seq) FROM events WHERE NOT toctou_mismatch",
        "SELECT count(*), max(seq) FROM events WHERE file_path_truncated OR process_exe_upper_layer",
    ] {
        same_answer(sql).await;
    }
}
