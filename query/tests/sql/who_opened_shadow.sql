-- Who opened /etc/shadow (the kernel's path), and what did user memory claim?
SELECT exe, user_name, syscall, flags, error, path_user, mismatch, count(*) AS opens
FROM files
WHERE path = '/etc/shadow'
GROUP BY exe, user_name, syscall, flags, error, path_user, mismatch
ORDER BY opens DESC, exe, path_user;
