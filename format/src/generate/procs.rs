//! Process lifecycle of the simulated host: the services alive at start,
//! fork and exec of tools (rare executables included), and exit.

use rand::Rng;

use super::files::FdTable;
use super::tables::{RARE_TOOLS, Tool, tool};
use super::{Generator, Proc, fnv, user_name};
use crate::event::EventKind;

impl Generator {
    pub(super) fn spawn(
        &mut self,
        parent: Option<usize>,
        t: &'static Tool,
        uid: u32,
        daemon: bool,
    ) -> usize {
        let pid = self.next_pid;
        self.next_pid = if self.next_pid >= 4_194_303 {
            300
        } else {
            self.next_pid + 1
        };
        let argv = t.argv[self.rng.random_range(0..t.argv.len())];
        let (ppid, sid, tty, home, cgroup, container, vpid_base, login) = match parent {
            Some(i) => {
                let p = &self.procs[i];
                (
                    p.pid,
                    p.sid,
                    p.tty,
                    p.home,
                    p.cgroup_id,
                    p.container_id.clone(),
                    p.vpid_base,
                    p.login_uid,
                )
            }
            None => (0, pid, 0, "/root", 2, None, None, None),
        };
        let home = match uid {
            1000 => "/home/alice",
            1001 => "/home/bob",
            0 if home.starts_with("/home") => home,
            0 => "/root",
            _ => home,
        };
        let cwd = if daemon {
            "/".to_string()
        } else {
            home.to_string()
        };
        let life = if t.life == u32::MAX {
            u32::MAX
        } else {
            self.rng.random_range(t.life / 2..=t.life * 3 / 2 + 1)
        };
        self.procs.push(Proc {
            pid,
            ppid,
            sid,
            tty,
            vpid_base,
            tool: t,
            cmdline: argv.join(" "),
            cwd,
            home,
            uid,
            user: user_name(uid),
            login_uid: login,
            cgroup_id: cgroup,
            container_id: container,
            fds: FdTable::default(),
            startup: 0,
            remaining: life,
            waiting_on: None,
            daemon,
        });
        self.procs.len() - 1
    }

    pub(super) fn start_services(&mut self) {
        let role = if self.cfg.host_name.contains("db") {
            "postgres"
        } else {
            "nginx"
        };
        let services: [(&str, u32, u64); 5] = [
            ("systemd-journal", 0, 1201),
            ("sshd", 0, 1302),
            ("cron", 0, 1403),
            (role, if role == "nginx" { 33 } else { 113 }, 1504),
            ("redis-server", 999, 9001),
        ];
        self.next_pid = 1;
        let init = self.spawn(None, tool("cron"), 0, true);
        self.procs[init].cmdline = "/sbin/init splash".into();
        self.procs.remove(init); // pid 1 only appears as a parent
        self.next_pid = 212;
        for (name, uid, cgroup) in services {
            let i = self.spawn(None, tool(name), uid, true);
            let p = &mut self.procs[i];
            p.ppid = 1;
            p.cgroup_id = cgroup;
            if name == "redis-server" {
                let digest = fnv(&self.cfg.host_name) ^ self.cfg.seed;
                p.container_id = Some(format!("{digest:016x}").repeat(4));
                p.vpid_base = Some(p.pid - 1);
                p.cwd = "/data".into();
            }
            self.next_pid += self.rng.random_range(40..400);
        }
        for i in 0..self.procs.len() {
            let mut e = self.base(i, EventKind::ProcessSnapshot, None);
            let p = &self.procs[i];
            e.process_args = Some(p.cmdline.split(' ').map(str::to_string).collect());
            e.file_path = Some(p.tool.exe.to_string());
            e.kernel_source = Some("iter_task".into());
            self.out.push(e);
        }
    }

    /// A shell runs one of [`RARE_TOOLS`], the first ones more often (weight
    /// 1/rank, as in a Zipf tail); false when no shell is free to do it.
    pub(super) fn rare_exec(&mut self) -> bool {
        let shells: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].tool.name == "bash" && self.procs[i].waiting_on.is_none())
            .collect();
        if shells.is_empty() {
            return false;
        }
        let shell = shells[self.rare_rng.random_range(0..shells.len())];
        let total: f64 = (1..=RARE_TOOLS.len()).map(|k| 1.0 / k as f64).sum();
        let mut u = self.rare_rng.random::<f64>() * total;
        let mut pick = RARE_TOOLS.len() - 1;
        for k in 0..RARE_TOOLS.len() {
            u -= 1.0 / (k + 1) as f64;
            if u <= 0.0 {
                pick = k;
                break;
            }
        }
        self.fork_exec(shell, &RARE_TOOLS[pick]);
        true
    }

    pub(super) fn fork_exec(&mut self, parent: usize, t: &'static Tool) {
        let pp = &self.procs[parent];
        let uid = match (pp.tool.name, t.name) {
            ("sshd", _) => {
                if self.rng.random_ratio(2, 3) {
                    1000
                } else {
                    1001
                }
            }
            ("sudo", _) => 0,
            _ => pp.uid,
        };
        let parent_tool = pp.tool;
        let child = self.spawn(Some(parent), parent_tool, uid, false);
        let child_pid = self.procs[child].pid;
        if parent_tool.name == "sshd" {
            // A new login session on a new pseudo-terminal.
            self.accept(parent);
            self.next_tty = (self.next_tty + 1) % 16;
            let c = &mut self.procs[child];
            c.sid = c.pid;
            c.tty = 0x8800 + self.next_tty;
            c.login_uid = Some(uid);
            c.cgroup_id = 3000 + u64::from(self.next_tty);
        }
        let mut e = self.base(parent, EventKind::Syscall, Some("clone"));
        e.ret = Some(child_pid.into());
        e.latency_ns = self.latency(40_000, 60_000.0);
        e.syscall_args = Some("flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD".into());
        self.out.push(e);
        let mut e = self.base(child, EventKind::ProcessFork, Some("clone"));
        e.ret = Some(0);
        self.out.push(e);
        // The child execs the new image.
        let argv = t.argv[self.rng.random_range(0..t.argv.len())];
        let c = &mut self.procs[child];
        c.tool = t;
        c.cmdline = argv.join(" ");
        c.remaining = self.rng.random_range(t.life / 2..=t.life * 3 / 2 + 1);
        c.fds.clear();
        let mut e = self.base(child, EventKind::ProcessExec, Some("execve"));
        e.ret = Some(0);
        e.latency_ns = self.latency(150_000, 400_000.0);
        e.process_args = Some(argv.iter().map(|s| s.to_string()).collect());
        e.file_path = Some(t.exe.to_string());
        e.file_path_user = Some(if t.exe.starts_with("/usr/bin/") {
            format!("/usr/bin/{}", argv[0].trim_start_matches('-'))
        } else {
            t.exe.to_string()
        });
        e.file_path_user_err = Some(0);
        e.file_inode = Some(fnv(t.exe) % 9_000_000 + 1_000);
        e.file_device = Some(0x10302);
        e.toctou_mismatch = Some(false);
        e.kernel_source = Some("sched_process_exec".into());
        self.out.push(e);
        if matches!(parent_tool.name, "bash" | "sh" | "make" | "sudo") {
            self.procs[parent].waiting_on = Some(child_pid);
        }
    }

    pub(super) fn exit(&mut self, i: usize) {
        let mut e = self.base(i, EventKind::ProcessExit, Some("exit_group"));
        let r = self.rng.random_range(0..100);
        match r {
            0 => {
                e.process_exit_signal = Some(if self.rng.random_ratio(1, 2) { 9 } else { 11 });
                e.syscall = None;
            }
            1..=8 => e.process_exit_code = Some(if r < 5 { 1 } else { 2 }),
            _ => e.process_exit_code = Some(0),
        }
        self.out.push(e);
        let p = self.procs.swap_remove(i);
        for q in &mut self.procs {
            if q.waiting_on == Some(p.pid) {
                q.waiting_on = None;
            }
            if q.ppid == p.pid {
                q.ppid = 1;
            }
        }
    }
}
