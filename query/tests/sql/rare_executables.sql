-- Rare executables: run by at most two processes.
SELECT exe, count(*) AS processes, min(start) AS first_start
FROM processes
GROUP BY exe
HAVING count(*) <= 2
ORDER BY processes, exe;
