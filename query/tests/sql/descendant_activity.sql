-- Everything the first sshd session (pid 1255) and its descendants did, by kind.
SELECT e.event_kind, e.syscall, count(*) AS n
FROM events e
JOIN descendants(1255) d
  ON e.process_pid = d.pid AND e.host_name = d.host_name AND e.boot_id = d.boot_id
GROUP BY e.event_kind, e.syscall
ORDER BY n DESC, e.event_kind, e.syscall;

-- The same with a recursive CTE over processes (works on DataFusion 55).
WITH RECURSIVE tree(pid, depth) AS (
  SELECT pid, 0 FROM processes WHERE pid = 1255
  UNION ALL
  SELECT p.pid, t.depth + 1 FROM processes p JOIN tree t ON p.parent_pid = t.pid
)
SELECT count(*) AS processes, max(depth) AS deepest FROM tree;
