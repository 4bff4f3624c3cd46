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

const PROCESSES: &str = "
SELECT
  host_name,
  boot_id,
  process_pid AS pid,
  last_value(process_parent_pid ORDER BY seq) FILTER (WHERE process_parent_pid IS NOT NULL) AS parent_pid,
  last_value(process_name ORDER BY seq) FILTER (WHERE process_name IS NOT NULL) AS name,
  last_value(process_executable ORDER BY seq) FILTER (WHERE process_executable IS NOT NULL) AS exe,
  last_value(process_args ORDER BY seq) FILTER (WHERE process_args IS NOT NULL) AS argv,
  last_value(process_command_line ORDER BY seq) FILTER (WHERE process_command_line IS NOT NULL) AS command_line,
  last_value(process_cwd ORDER BY seq) FILTER (WHERE process_cwd IS NOT NULL) AS cwd,
  last_value(user_id ORDER BY seq) FILTER (WHERE user_id IS NOT NULL) AS user_id,
  last_value(user_name ORDER BY seq) FILTER (WHERE user_name IS NOT NULL) AS user_name,
  last_value(container_id ORDER BY seq) FILTER (WHERE container_id IS NOT NULL) AS container_id,
  min(time) AS start,
  max(time) FILTER (WHERE event_kind = 'process_exit') AS \"end\",
  last_value(process_exit_code ORDER BY seq) FILTER (WHERE event_kind = 'process_exit') AS exit_code,
  last_value(process_exit_signal ORDER BY seq) FILTER (WHERE event_kind = 'process_exit') AS exit_signal,
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
