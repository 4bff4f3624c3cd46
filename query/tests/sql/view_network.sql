SELECT time, pid, exe, syscall, ret, family, transport, source_ip, source_port, destination_ip, destination_port, destination_addr_user, mismatch
FROM network ORDER BY seq LIMIT 8;
