SELECT basename('/usr/bin/curl') AS b, dirname('/usr/bin/curl') AS d, basename('/') AS root_b, dirname('curl') AS rel_d;
SELECT path_match('/etc/shadow', '/etc/*') AS star, path_match('/etc/ssh/sshd_config', '/etc/*') AS star_deep, path_match('/etc/ssh/sshd_config', '/etc/**') AS globstar, path_match('/tmp/x.py', '/tmp/*.{sh,py}') AS alt;
SELECT errno_name(-13) AS eacces, errno_name(2) AS enoent, errno_name(0) AS zero, errno_name(-110) AS etimedout;
SELECT open_flags(577) AS creat_trunc, open_flags(0) AS rdonly, open_flags(524290) AS rdwr_cloexec, open_flags('O_RDONLY|O_CLOEXEC') AS passthrough;
SELECT cidr_match('10.0.1.30', '10.0.0.0/16') AS in_net, cidr_match('93.184.215.14', '10.0.0.0/8') AS outside, cidr_match('::ffff:10.1.2.3', '10.0.0.0/8') AS mapped, cidr_match('fd00::1', 'fd00::/8') AS v6;
SELECT human_duration(850) AS ns, human_duration(12300) AS us, human_duration(4560000) AS ms, human_duration(303000000000) AS min;
SELECT error, count(*) AS n FROM files WHERE ret < 0 GROUP BY error ORDER BY n DESC, error;
SELECT basename(process_executable) AS program, human_duration(max(latency_ns)) AS slowest FROM events WHERE latency_ns IS NOT NULL GROUP BY basename(process_executable) ORDER BY program LIMIT 5;
SELECT destination_ip, cidr_match(destination_ip, '10.0.0.0/8') AS internal, count(*) AS n FROM network WHERE syscall = 'connect' GROUP BY destination_ip ORDER BY destination_ip;
