//! Live tests of socket destinations. Root only.

mod common;

use common::{can_record, record};

/// A real UDP `sendto` and `sendmsg` to loopback ports (IPv4 and IPv6): the
/// destination as user memory held it at entry, and the kernel's own copy
/// from the cgroup `sendmsg4`/`sendmsg6` programs.
#[test]
fn udp_sendto_and_sendmsg_destinations() {
    if !can_record("udp_sendto_and_sendmsg_destinations") {
        return;
    }
    let rx4 = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let rx6 = std::net::UdpSocket::bind("[::1]:0").ok();
    let p4 = rx4.local_addr().unwrap().port();
    let p6 = rx6.as_ref().map(|s| s.local_addr().unwrap().port());
    let v6 = match p6 {
        Some(p) => format!(
            "s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
             s6.sendto(b'six', ('::1', {p}))\n"
        ),
        None => String::new(),
    };
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.sendto(b'to', ('127.0.0.1', {p4}))\n\
         s.sendmsg([b'msg'], [], 0, ('127.0.0.1', {p4}))\n\
         {v6}"
    );
    let rec = record(&["/usr/bin/python3", "-c", &script]);
    // The datagrams really went there.
    let mut buf = [0u8; 16];
    rx4.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    let n = rx4.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to");
    for (call, len) in [("sendto", 2), ("sendmsg", 3)] {
        let rows: Vec<_> = rec
            .sys(call)
            .into_iter()
            .filter(|e| e.destination_port == Some(p4))
            .collect();
        assert_eq!(
            rows.len(),
            1,
            "{call}: {:?}\n{}",
            rec.manifest.hooks,
            rec.dump()
        );
        let e = rows[0];
        assert_eq!(e.ret, Some(len), "{call}");
        assert_eq!(e.destination_ip.as_deref(), Some("127.0.0.1"), "{call}");
        assert_eq!(
            e.destination_addr_user.as_deref(),
            Some(format!("127.0.0.1:{p4}").as_str()),
            "{call}"
        );
        assert_eq!(e.network_family.as_deref(), Some("AF_INET"));
        assert_eq!(e.kernel_source.as_deref(), Some("cgroup_sendmsg4"));
        assert_eq!(e.toctou_mismatch, Some(false), "{call}");
        assert!(e.fd.is_some_and(|fd| fd >= 0));
    }
    if let Some(p6) = p6 {
        let rows: Vec<_> = rec
            .sys("sendto")
            .into_iter()
            .filter(|e| e.destination_port == Some(p6))
            .collect();
        assert_eq!(rows.len(), 1, "{}", rec.dump());
        assert_eq!(rows[0].destination_ip.as_deref(), Some("::1"));
        assert_eq!(
            rows[0].destination_addr_user.as_deref(),
            Some(format!("[::1]:{p6}").as_str())
        );
        assert_eq!(rows[0].kernel_source.as_deref(), Some("cgroup_sendmsg6"));
        assert_eq!(rows[0].toctou_mismatch, Some(false));
    }
    for hook in ["cgroup/sendmsg4", "cgroup/sendmsg6"] {
        assert!(
            rec.manifest.hooks.active.iter().any(|h| h == hook),
            "{hook}: {:?}",
            rec.manifest.hooks
        );
    }
}

/// A TCP connection over loopback: `socket`, `bind`, `listen`, `connect`
/// and `accept` rows carry the socket as the kernel holds it at exit — its
/// transport, the local address (the client's ephemeral port is assigned by
/// then) and, on `accept`, the peer. The ground truth is what the program
/// itself saw (`getsockname`/`accept`'s address), written to a file.
#[test]
fn tcp_connect_and_accept_local_and_peer_addresses() {
    if !can_record("tcp_connect_and_accept_local_and_peer_addresses") {
        return;
    }
    let truth = tempfile::NamedTempFile::new().unwrap();
    let script = "import socket, sys\n\
         srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n\
         cli = socket.socket(); cli.connect(srv.getsockname())\n\
         conn, peer = srv.accept()\n\
         u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n\
         n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n\
         open(sys.argv[1], 'w').write('%d %d %d' % (srv.getsockname()[1], cli.getsockname()[1], peer[1]))\n";
    let path = truth.path().to_str().unwrap();
    let rec = record(&["/usr/bin/python3", "-c", script, path]);
    let text = std::fs::read_to_string(truth.path()).unwrap();
    let ports: Vec<u16> = text.split(' ').map(|p| p.parse().unwrap()).collect();
    let (server, client, peer) = (ports[0], ports[1], ports[2]);
    assert_eq!(client, peer);
    let one = |call: &str| {
        let rows: Vec<_> = rec
            .sys(call)
            .into_iter()
            .filter(|e| e.network_family.as_deref() == Some("AF_INET"))
            .collect();
        assert_eq!(rows.len(), 1, "{call}\n{}", rec.dump());
        rows[0].clone()
    };
    let c = one("connect");
    assert_eq!(c.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(c.source_port, Some(client), "the kernel's ephemeral port");
    assert_eq!(c.destination_port, Some(server));
    assert_eq!(c.network_transport.as_deref(), Some("tcp"));
    assert_eq!(c.fd_type.as_deref(), Some("ipv4"));
    assert_eq!(c.kernel_source.as_deref(), Some("cgroup_connect4"));
    let a = rec
        .sys("accept4")
        .into_iter()
        .chain(rec.sys("accept"))
        .find(|e| e.ret.is_some_and(|r| r >= 0))
        .unwrap_or_else(|| panic!("no accept\n{}", rec.dump()))
        .clone();
    assert_eq!(a.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(a.source_port, Some(server));
    assert_eq!(a.destination_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        a.destination_port,
        Some(client),
        "the peer, from struct sock"
    );
    assert_eq!(a.kernel_source.as_deref(), Some("sys_exit_sock"));
    assert_eq!(a.network_transport.as_deref(), Some("tcp"));
    for call in ["bind", "listen"] {
        let e = one(call);
        assert_eq!(e.source_port, Some(server), "{call}");
        assert_eq!(e.kernel_source.as_deref(), Some("sys_exit_sock"), "{call}");
    }
    let transports: Vec<_> = rec
        .sys("socket")
        .into_iter()
        .filter(|e| e.network_family.as_deref() == Some("AF_INET"))
        .map(|e| e.network_transport.clone().unwrap_or_default())
        .collect();
    assert_eq!(transports, ["tcp", "tcp", "udp", "raw"], "{}", rec.dump());
    // A raw socket's kernel "port" is its protocol: no source port.
    let raw = rec
        .sys("socket")
        .into_iter()
        .find(|e| e.network_transport.as_deref() == Some("raw"))
        .unwrap();
    assert_eq!((raw.source_ip.as_deref(), raw.source_port), (None, None));
    // Netlink: no inet type or transport from the socket read (the state
    // model takes them from the call's arguments).
    let nl = rec
        .sys("socket")
        .into_iter()
        .find(|e| e.network_family.as_deref() == Some("AF_NETLINK"))
        .unwrap_or_else(|| panic!("no netlink socket\n{}", rec.dump()));
    assert_eq!(
        (nl.fd_type.as_deref(), nl.network_transport.as_deref()),
        (None, None)
    );
    // A new socket has neither a local nor a peer address yet.
    assert!(
        rec.sys("socket")
            .iter()
            .all(|e| e.source_port.is_none() && e.destination_ip.is_none()),
        "{}",
        rec.dump()
    );
}

/// The socket read at exit on IPv6 and AF_UNIX sockets, and on a refused
/// connect: an IPv6 loopback connection carries both ends as the program
/// saw them; a Unix-domain connection is typed `unix` (no IP, no port) and
/// its `connect` keeps the socket path read from user memory; a `connect`
/// to a closed port fails with `ECONNREFUSED` and still names where it was
/// going, from the kernel's copy.
#[test]
fn ipv6_unix_and_refused_connections() {
    if !can_record("ipv6_unix_and_refused_connections") {
        return;
    }
    // A port that nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("hs.sock");
    let truth = dir.path().join("truth");
    let script = format!(
        "import socket, sys\n\
         out = []\n\
         try:\n\
         \x20   s6 = socket.socket(socket.AF_INET6); s6.bind(('::1', 0)); s6.listen(1)\n\
         \x20   c6 = socket.socket(socket.AF_INET6); c6.connect(s6.getsockname())\n\
         \x20   a6, p6 = s6.accept()\n\
         \x20   out += [s6.getsockname()[1], c6.getsockname()[1]]\n\
         except OSError:\n\
         \x20   out += [0, 0]\n\
         su = socket.socket(socket.AF_UNIX); su.bind(sys.argv[1]); su.listen(1)\n\
         cu = socket.socket(socket.AF_UNIX); cu.connect(sys.argv[1])\n\
         au, _ = su.accept()\n\
         r = socket.socket()\n\
         try:\n\
         \x20   r.connect(('127.0.0.1', {closed}))\n\
         except ConnectionRefusedError:\n\
         \x20   out.append(111)\n\
         open(sys.argv[2], 'w').write(' '.join(map(str, out)))\n"
    );
    let rec = record(&[
        "/usr/bin/python3",
        "-c",
        &script,
        sock_path.to_str().unwrap(),
        truth.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&truth).unwrap();
    let seen: Vec<u16> = text.split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(seen.len(), 3, "{text}");
    assert_eq!(seen[2], 111, "the connect was refused");
    let (server6, client6) = (seen[0], seen[1]);

    // IPv6 (skipped where the host has no ::1).
    if server6 != 0 {
        let six = |call: &str| {
            rec.sys(call)
                .into_iter()
                .find(|e| {
                    e.network_family.as_deref() == Some("AF_INET6") && e.ret.is_some_and(|r| r >= 0)
                })
                .unwrap_or_else(|| panic!("no IPv6 {call}\n{}", rec.dump()))
                .clone()
        };
        let c = six("connect");
        assert_eq!(c.source_ip.as_deref(), Some("::1"));
        assert_eq!(c.source_port, Some(client6), "the kernel's ephemeral port");
        assert_eq!(c.destination_ip.as_deref(), Some("::1"));
        assert_eq!(c.destination_port, Some(server6));
        assert_eq!(
            c.destination_addr_user.as_deref(),
            Some(format!("[::1]:{server6}").as_str())
        );
        assert_eq!(c.kernel_source.as_deref(), Some("cgroup_connect6"));
        assert_eq!(c.toctou_mismatch, Some(false));
        assert_eq!(
            (c.fd_type.as_deref(), c.network_transport.as_deref()),
            (Some("ipv6"), Some("tcp"))
        );
        let a = rec
            .sys("accept4")
            .into_iter()
            .chain(rec.sys("accept"))
            .find(|e| e.network_family.as_deref() == Some("AF_INET6"))
            .unwrap_or_else(|| panic!("no IPv6 accept\n{}", rec.dump()))
            .clone();
        assert_eq!(a.source_port, Some(server6));
        assert_eq!(a.destination_ip.as_deref(), Some("::1"));
        assert_eq!(a.destination_port, Some(client6), "the peer");
        assert_eq!(a.fd_type.as_deref(), Some("ipv6"));
    }

    // AF_UNIX: typed, no IP addresses, the path as user memory held it and
    // as the kernel keeps it (the name the listener bound).
    let unix: Vec<_> = rec
        .sys("connect")
        .into_iter()
        .filter(|e| e.network_family.as_deref() == Some("AF_UNIX"))
        .collect();
    let path = sock_path.to_str().unwrap();
    let c = unix
        .iter()
        .find(|e| e.destination_addr_user.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no AF_UNIX connect to {path}\n{}", rec.dump()));
    assert_eq!(c.ret, Some(0));
    assert_eq!(
        (c.fd_type.as_deref(), c.network_transport.as_deref()),
        (Some("unix"), Some("unix"))
    );
    assert_eq!((c.source_ip.as_deref(), c.source_port), (None, None));
    assert_eq!(c.destination_ip.as_deref(), Some(path));
    assert_eq!(c.kernel_source.as_deref(), Some("sys_exit_sock"));
    assert_eq!(c.toctou_mismatch, Some(false));
    let a = rec
        .sys("accept4")
        .into_iter()
        .chain(rec.sys("accept"))
        .find(|e| e.network_family.as_deref() == Some("AF_UNIX"))
        .unwrap_or_else(|| panic!("no AF_UNIX accept\n{}", rec.dump()))
        .clone();
    assert!(a.ret.is_some_and(|r| r >= 0));
    assert_eq!(a.fd_type.as_deref(), Some("unix"));
    assert_eq!((a.destination_ip, a.destination_port), (None, None));

    // Refused: the call failed, and the row still says where it went.
    let r = rec
        .sys("connect")
        .into_iter()
        .find(|e| e.destination_port == Some(closed))
        .unwrap_or_else(|| panic!("no connect to port {closed}\n{}", rec.dump()))
        .clone();
    assert_eq!(r.ret, Some(-111), "ECONNREFUSED");
    assert_eq!(r.destination_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.kernel_source.as_deref(), Some("cgroup_connect4"));
    assert_eq!(r.toctou_mismatch, Some(false));
    assert_eq!(r.network_transport.as_deref(), Some("tcp"));
}
