-- Outbound connections by executable and destination.
SELECT exe, destination_ip, destination_port, count(*) AS connects,
       sum(CASE WHEN ret < 0 THEN 1 ELSE 0 END) AS failed
FROM network
WHERE syscall = 'connect'
GROUP BY exe, destination_ip, destination_port
ORDER BY connects DESC, exe, destination_ip
LIMIT 20;
