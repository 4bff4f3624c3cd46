//! The forensic views over `events`: `processes`, `files`, `network`,
//! `execs`, `toctou`, `loss` (SQL views), and `process_tree` (a table computed
//! from `processes`, see [`crate::tablefn`]).
//!
//! View columns use short names (`pid`, `exe`, `path`); the book lists them.

use datafusion::execution::context::SessionContext;

use crate::QueryError;

/// `(name, one-line meaning, SQL)` of every SQL view, in registration order.
pub const VIEWS: &[(&str, &str, &str)] = &[
    (
        "processes",
        "One row per process (host, boot, pid): parent, executable, argv, cwd, user, first and last time seen, exit status.",
        PROCESSES,
    ),
    (
        "files",
        "File activity: every syscall with a path, both the kernel's and user memory's view, flags and result.",
        FILES,
    ),
    (
        "network",
        "Socket activity: connect, accept, bind, listen, send/recv with addresses (the kernel's and user memory's).",
        NETWORK,
    ),
    (
        "execs",
        "Every successful exec: the executable the kernel ran, what user memory asked for, argv, cwd, user.",
        EXECS,
    ),
    (
        "toctou",
        "Every row where user memory and the kernel disagree, with both values and the hook that saw the kernel's.",
        TOCTOU,
    ),
    (
        "loss",
        "Dropped events: how many, and the time window they fall in.",
        LOSS,
    ),
];

// The last value of a column is the latest in time: `seq` starts again in
// each recording, so it orders only the rows of one (`time_ns` ties, then it).
const PROCESSES: &str = "
SELECT
  host_name,
  boot_id,
  process_pid AS pid,
  last_value(process_parent_pid ORDER BY time_ns, seq) FILTER (WHERE process_parent_pid IS NOT NULL) AS parent_pid,
  last_value(process_name ORDER BY time_ns, seq) FILTER (WHERE process_name IS NOT NULL) AS name,
  last_value(process_executable ORDER BY time_ns, seq) FILTER (WHERE process_executable IS NOT NULL) AS exe,
  last_value(process_args ORDER BY time_ns, seq) FILTER (WHERE process_args IS NOT NULL) AS argv,
  last_value(process_command_line ORDER BY time_ns, seq) FILTER (WHERE process_command_line IS NOT NULL) AS command_line,
  last_value(process_cwd ORDER BY time_ns, seq) FILTER (WHERE process_cwd IS NOT NULL) AS cwd,
  last_value(user_id ORDER BY time_ns, seq) FILTER (WHERE user_id IS NOT NULL) AS user_id,
  last_value(user_name ORDER BY time_ns, seq) FILTER (WHERE user_name IS NOT NULL) AS user_name,
  last_value(container_id ORDER BY time_ns, seq) FILTER (WHERE container_id IS NOT NULL) AS container_id,
  min(time) AS start,
  max(time) FILTER (WHERE event_kind = 'process_exit') AS \"end\",
  last_value(process_exit_code ORDER BY time_ns, seq) FILTER (WHERE event_kind = 'process_exit') AS exit_code,
  last_value(process_exit_signal ORDER BY time_ns, seq) FILTER (WHERE event_kind = 'process_exit') AS exit_signal,
  count(*) FILTER (WHERE event_kind = 'process_exec') AS exec_count,
  bool_or(event_kind = 'process_snapshot') AS alive_at_start
FROM events
WHERE event_kind IN ('process_fork', 'process_exec', 'process_exit', 'process_snapshot')
  -- The exit row comes from the process's last thread, which need not be its first.
  AND (process_pid = thread_id OR event_kind = 'process_exit')
GROUP BY host_name, boot_id, process_pid";

const FILES: &str = "
SELECT
  time, host_name, boot_id, process_pid AS pid, thread_id AS tid,
  process_executable AS exe, user_name, syscall, ret,
  CASE WHEN ret < 0 THEN errno_name(ret) END AS error,
  file_path AS path, file_path_user AS path_user, file_path_user_err AS path_user_err,
  toctou_mismatch AS mismatch, file_flags AS flags, file_mode AS mode,
  file_target_path AS target_path, file_target_path_user AS target_path_user,
  fd, fd_type, file_inode AS inode, file_device AS device, kernel_source, seq
FROM events
WHERE event_kind = 'syscall' AND (file_path IS NOT NULL OR file_path_user IS NOT NULL)";

const NETWORK: &str = "
SELECT
  time, host_name, boot_id, process_pid AS pid, thread_id AS tid,
  process_executable AS exe, user_name, syscall, ret,
  CASE WHEN ret < 0 THEN errno_name(ret) END AS error,
  network_family AS family, network_transport AS transport,
  source_ip, source_port, destination_ip, destination_port,
  destination_addr_user, toctou_mismatch AS mismatch, fd, kernel_source, seq
FROM events
WHERE event_kind = 'syscall'
  AND (network_family IS NOT NULL OR destination_ip IS NOT NULL OR source_ip IS NOT NULL)";

const EXECS: &str = "
SELECT
  time, host_name, boot_id, process_pid AS pid, process_parent_pid AS parent_pid,
  process_executable AS exe, file_path AS path, file_path_user AS path_user,
  toctou_mismatch AS mismatch, process_args AS argv, process_command_line AS command_line,
  process_cwd AS cwd, user_id, user_name, process_effective_user_id AS effective_user_id,
  login_uid, container_id, kernel_source, seq
FROM events
WHERE event_kind = 'process_exec'";

const TOCTOU: &str = "
SELECT
  time, host_name, boot_id, process_pid AS pid, process_executable AS exe,
  event_kind, syscall, ret,
  CASE WHEN file_path IS NOT NULL OR file_path_user IS NOT NULL
            OR (file_path_user_err <> 0 AND destination_ip IS NULL)
       THEN 'path' ELSE 'address' END AS what,
  CASE WHEN file_path IS NOT NULL OR file_path_user IS NOT NULL
            OR (file_path_user_err <> 0 AND destination_ip IS NULL)
       THEN file_path_user ELSE destination_addr_user END AS user_value,
  CASE WHEN file_path IS NOT NULL OR file_path_user IS NOT NULL
            OR (file_path_user_err <> 0 AND destination_ip IS NULL)
       THEN file_path
       ELSE CASE WHEN destination_port IS NULL THEN destination_ip
                 WHEN destination_ip LIKE '%:%' THEN concat('[', destination_ip, ']:', destination_port)
                 ELSE concat(destination_ip, ':', destination_port) END END AS kernel_value,
  file_path_user_err AS user_read_err,
  file_target_path_user AS target_user_value, file_target_path AS target_kernel_value,
  kernel_source, seq
FROM events
WHERE toctou_mismatch";

const LOSS: &str = "
SELECT
  time, host_name, boot_id, lost_events,
  time AS window_start,
  time + arrow_cast(coalesce(latency_ns, 0), 'Duration(Nanosecond)') AS window_end,
  syscall_args AS detail, kernel_source, seq
FROM events
WHERE event_kind = 'loss'";

/// Registers every view of [`VIEWS`] and the `process_tree` table.
pub async fn register(ctx: &SessionContext) -> Result<(), QueryError> {
    for (name, _, sql) in VIEWS {
        ctx.sql(&format!("CREATE VIEW {name} AS {sql}")).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, Int64Array, RecordBatch, StringArray, new_null_array,
    };
    use datafusion::arrow::datatypes::{DataType, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::context::SessionContext;

    /// `events` with two exec rows of one process (host h, boot b, pid 100)
    /// from two recordings: the later one (`/new`, at 2 s) has the smaller
    /// `seq`, as `seq` starts again in each recording.
    async fn two_recordings() -> SessionContext {
        let schema = hindsight_format::events_schema();
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let given: Vec<(&str, ArrayRef)> = vec![
            ("host_name", Arc::new(StringArray::from(vec!["h", "h"]))),
            ("boot_id", Arc::new(StringArray::from(vec!["b", "b"]))),
            ("process_pid", Arc::new(Int64Array::from(vec![100, 100]))),
            ("thread_id", Arc::new(Int64Array::from(vec![100, 100]))),
            ("process_parent_pid", Arc::new(Int64Array::from(vec![7, 1]))),
            (
                "process_executable",
                Arc::new(StringArray::from(vec!["/new", "/old"])),
            ),
            (
                "event_kind",
                Arc::new(StringArray::from(vec!["process_exec"; 2])),
            ),
            ("seq", Arc::new(Int64Array::from(vec![1, 5]))),
            (
                "time_ns",
                Arc::new(Int64Array::from(vec![2_000_000_000, 1_000_000_000])),
            ),
            (
                "time",
                Arc::new(Int64Array::from(vec![2_000_000, 1_000_000])),
            ),
        ];
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| match given.iter().find(|(n, _)| n == f.name()) {
                Some((_, a)) => match (a.data_type(), f.data_type()) {
                    (DataType::Int64, DataType::Timestamp(unit, tz)) => {
                        let plain = DataType::Timestamp(*unit, None);
                        let t = datafusion::arrow::compute::cast(a, &plain).unwrap();
                        datafusion::arrow::compute::cast(
                            &t,
                            &DataType::Timestamp(*unit, tz.clone()),
                        )
                        .unwrap()
                    }
                    (_, to) => datafusion::arrow::compute::cast(a, to).unwrap(),
                },
                None => new_null_array(f.data_type(), 2),
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
        let ctx = SessionContext::new();
        let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
        ctx.register_table("events", Arc::new(table)).unwrap();
        crate::udf::register(&ctx);
        super::register(&ctx).await.unwrap();
        crate::tablefn::register(&ctx).await.unwrap();
        ctx
    }

    async fn one_row(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    /// The last parent and executable of a process seen in several
    /// recordings of one host and boot are the latest in time, not the
    /// ones with the largest `seq`.
    #[tokio::test]
    async fn last_values_are_the_latest_in_time_across_recordings() {
        let ctx = two_recordings().await;
        for sql in [
            "SELECT parent_pid, exe FROM processes",
            "SELECT ancestor_pid AS parent_pid, exe FROM process_tree WHERE depth = 0",
            "SELECT parent_pid, exe FROM ancestors(100)",
        ] {
            let text = one_row(&ctx, sql).await;
            assert!(text.contains("/new"), "{sql}: {text}");
            if sql.contains("parent_pid, exe FROM processes") || sql.contains("ancestors") {
                assert!(text.contains("| 7 "), "{sql}: {text}");
            }
        }
    }
}
