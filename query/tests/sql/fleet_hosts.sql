-- fixture: fleet
-- Several recordings of different hosts in one statement: partition columns host and date.
SELECT host, date, host_name, count(*) AS events, count(DISTINCT process_pid) AS pids
FROM events
GROUP BY host, date, host_name
ORDER BY host;

SELECT host_name, count(*) AS processes FROM processes GROUP BY host_name ORDER BY host_name;

SELECT host, process_executable AS exe, count(*) AS opens
FROM events WHERE file_path = '/etc/shadow'
GROUP BY host, exe ORDER BY host, exe;
