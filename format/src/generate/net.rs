//! Network activity of the simulated processes: `connect` to plausible
//! peers (and TOCTOU mismatches on the address) and `accept` by services.

use rand::Rng;

use super::Generator;
use super::tables::{CLIENTS, PEERS, PHANTOM_CONNECTS};
use crate::event::EventKind;

impl Generator {
    pub(super) fn connect(&mut self, i: usize) {
        let total: u32 = PEERS.iter().map(|p| p.2).sum();
        let mut r = self.rng.random_range(0..total);
        let &(ip, port, _) = PEERS
            .iter()
            .find(|p| {
                if r < p.2 {
                    true
                } else {
                    r -= p.2;
                    false
                }
            })
            .unwrap_or(&PEERS[0]);
        let v6 = ip.contains(':');
        let fd = self.procs[i].fds.open_lowest();
        let mut e = self.base(i, EventKind::Syscall, Some("connect"));
        e.fd = Some(fd);
        e.fd_type = Some(if v6 { "ipv6" } else { "ipv4" }.into());
        e.network_family = Some(if v6 { "AF_INET6" } else { "AF_INET" }.into());
        e.network_transport = Some(if port == 53 { "udp" } else { "tcp" }.into());
        e.source_ip = Some(if v6 {
            "2001:db8::10".into()
        } else {
            "10.0.1.10".into()
        });
        e.source_port = Some(self.rng.random_range(32768..61000));
        e.latency_ns = self.latency(40_000, 2_000_000.0);
        let phantom = self.seq >= self.next_phantom_at && self.rng.random_ratio(1, 3);
        if phantom {
            self.next_phantom_at = self.seq + self.rng.random_range(3_000..12_000);
            let (user, real, real_port) =
                PHANTOM_CONNECTS[self.rng.random_range(0..PHANTOM_CONNECTS.len())];
            e.destination_addr_user = Some(user.into());
            e.destination_ip = Some(real.into());
            e.destination_port = Some(real_port);
            e.toctou_mismatch = Some(true);
        } else {
            e.destination_addr_user = Some(if v6 {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            });
            e.destination_ip = Some(ip.into());
            e.destination_port = Some(port);
            e.toctou_mismatch = Some(false);
        }
        e.ret = Some(if port == 53 || self.rng.random_ratio(1, 6) {
            0
        } else {
            -115
        });
        e.kernel_source = Some(
            if v6 {
                "cgroup_connect6"
            } else {
                "cgroup_connect4"
            }
            .into(),
        );
        self.out.push(e);
    }

    pub(super) fn accept(&mut self, i: usize) {
        let port = match self.procs[i].tool.name {
            "nginx" => 443,
            "postgres" => 5432,
            "redis-server" => 6379,
            _ => 22,
        };
        let fd = self.procs[i].fds.open_lowest();
        let client = CLIENTS[self.rng.random_range(0..CLIENTS.len())];
        let mut e = self.base(i, EventKind::Syscall, Some("accept4"));
        e.fd = Some(fd);
        e.ret = Some(fd.into());
        e.fd_type = Some("ipv4".into());
        e.network_family = Some("AF_INET".into());
        e.network_transport = Some("tcp".into());
        e.source_ip = Some("10.0.1.10".into());
        e.source_port = Some(port);
        e.destination_ip = Some(client.into());
        e.destination_port = Some(self.rng.random_range(32768..61000));
        e.latency_ns = self.latency(5_000, 5_000_000.0);
        e.kernel_source = Some("sys_exit_fd".into());
        self.out.push(e);
    }
}
