-- Every TOCTOU mismatch: what user memory said versus what the kernel used.
SELECT seq, pid, exe, syscall, what, user_value, kernel_value, kernel_source
FROM toctou
ORDER BY seq;
