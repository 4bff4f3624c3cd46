SELECT time, pid, parent_pid, exe, path, path_user, mismatch, argv, cwd, user_name
FROM execs ORDER BY seq LIMIT 8;
