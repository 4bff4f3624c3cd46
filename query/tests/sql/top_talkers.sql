-- Top talkers: processes with the most socket activity, with distinct peers.
SELECT pid, exe, count(*) AS socket_calls, count(DISTINCT destination_ip) AS peers
FROM network
GROUP BY pid, exe
ORDER BY socket_calls DESC, pid
LIMIT 10;
