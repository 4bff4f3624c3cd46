SELECT pid, parent_pid, name, exe, argv, cwd, user_name, start, "end", exit_code, exit_signal, exec_count, alive_at_start
FROM processes ORDER BY start, pid LIMIT 8;
