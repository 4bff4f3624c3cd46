-- Writes (or creates, renames, deletes) under /etc.
SELECT syscall, path, flags, exe, count(*) AS n
FROM files
WHERE path_match(path, '/etc/**')
  AND (flags LIKE '%O_WRONLY%' OR flags LIKE '%O_RDWR%' OR flags LIKE '%O_CREAT%'
       OR syscall IN ('unlinkat', 'renameat2', 'fchmodat', 'mkdirat'))
GROUP BY syscall, path, flags, exe
ORDER BY n DESC, syscall, path, exe
LIMIT 20;
