SELECT time, pid, exe, syscall, ret, error, path, path_user, mismatch, flags, mode, target_path, fd
FROM files ORDER BY seq LIMIT 8;
