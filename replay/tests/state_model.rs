//! The state model and the engine on synthetic event streams: fork, exec,
//! dup, close, exit, close-on-exec, fd inheritance, timestamp ties, missing
//! parents, pid reuse, and the would-block simulation.

use hindsight_format::{Event, EventKind};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang::{SourceFile, load_sources};
use hindsight_replay::state::State;
use hindsight_replay::verdict::Report;

/// Builds events with increasing seq; `t` is the time (ties allowed).
struct Stream {
    events: Vec<Event>,
}

impl Stream {
    fn new() -> Stream {
        Stream { events: Vec::new() }
    }
    fn push(
        &mut self,
        t: i64,
        pid: i32,
        kind: EventKind,
        syscall: Option<&str>,
        f: impl FnOnce(&mut Event),
    ) -> &mut Self {
        let mut e = Event {
            time_ns: t,
            seq: self.events.len() as u64,
            host_name: "h".into(),
            boot_id: "b".into(),
            event_kind: kind,
            syscall: syscall.map(str::to_string),
            process_pid: pid,
            thread_id: pid,
            ..Event::default()
        };
        f(&mut e);
        self.events.push(e);
        self
    }
    fn fork(&mut self, t: i64, parent: i32, child: i32) -> &mut Self {
        self.push(t, child, EventKind::ProcessFork, Some("clone"), |e| {
            e.process_parent_pid = Some(parent);
            e.ret = Some(0);
        })
    }
    fn exec(&mut self, t: i64, pid: i32, exe: &str, argv: &[&str]) -> &mut Self {
        let name = exe.rsplit('/').next().unwrap_or(exe).to_string();
        self.push(t, pid, EventKind::ProcessExec, Some("execve"), |e| {
            e.process_executable = Some(exe.into());
            e.process_name = Some(name);
            e.process_args = Some(argv.iter().map(|s| s.to_string()).collect());
            e.file_path = Some(exe.into());
            e.ret = Some(0);
        })
    }
    fn open(&mut self, t: i64, pid: i32, path: &str, flags: &str, fd: i32) -> &mut Self {
        self.push(t, pid, EventKind::Syscall, Some("openat"), |e| {
            e.file_path = Some(path.into());
            e.file_flags = Some(flags.into());
            e.fd = Some(fd);
            e.fd_type = Some("file".into());
            e.ret = Some(fd.into());
        })
    }
    fn fd_call(&mut self, t: i64, pid: i32, syscall: &str, fd: i32, ret: i64) -> &mut Self {
        self.push(t, pid, EventKind::Syscall, Some(syscall), |e| {
            e.fd = Some(fd);
            e.ret = Some(ret);
        })
    }
    fn exit(&mut self, t: i64, pid: i32) -> &mut Self {
        self.push(t, pid, EventKind::ProcessExit, Some("exit_group"), |e| {
            e.process_exit_code = Some(0)
        })
    }
    fn state(&self) -> State {
        let mut s = State::new();
        for e in &self.events {
            s.before(e);
            s.after(e);
        }
        s
    }
}

fn fd_path(s: &State, pid: i32, fd: i32) -> Option<String> {
    s.process(pid)?.fd(fd)?.path.as_deref().map(str::to_string)
}

#[test]
fn fork_inherits_fds_and_exec_closes_cloexec() {
    let mut st = Stream::new();
    st.exec(1, 100, "/bin/bash", &["bash"])
        .open(2, 100, "/etc/passwd", "O_RDONLY", 3)
        .open(3, 100, "/etc/hosts", "O_RDONLY|O_CLOEXEC", 4)
        .fork(4, 100, 101);
    let s = st.state();
    assert_eq!(fd_path(&s, 101, 3).as_deref(), Some("/etc/passwd"));
    assert_eq!(fd_path(&s, 101, 4).as_deref(), Some("/etc/hosts"));
    assert_eq!(
        s.process(101).and_then(|p| p.exe.as_deref()),
        Some("/bin/bash")
    );
    st.exec(5, 101, "/usr/bin/cat", &["cat", "x"]);
    let s = st.state();
    assert_eq!(
        fd_path(&s, 101, 3).as_deref(),
        Some("/etc/passwd"),
        "plain fds survive exec"
    );
    assert_eq!(
        fd_path(&s, 101, 4),
        None,
        "close-on-exec fds are closed at exec"
    );
    assert_eq!(
        fd_path(&s, 100, 4).as_deref(),
        Some("/etc/hosts"),
        "the parent keeps its own"
    );
    let p = s.process(101).unwrap();
    assert_eq!(p.cmdline.as_deref(), Some("cat x"));
    assert_eq!(p.args.as_deref(), Some("x"));
    assert_eq!(s.parent(p).map(|p| p.pid), Some(100));
}

#[test]
fn dup_close_and_exit() {
    let mut st = Stream::new();
    st.exec(1, 200, "/bin/sh", &["sh"])
        .push(2, 200, EventKind::Syscall, Some("connect"), |e| {
            e.fd = Some(3);
            e.fd_type = Some("ipv4".into());
            e.source_ip = Some("10.0.0.1".into());
            e.source_port = Some(40000);
            e.destination_ip = Some("192.0.2.7".into());
            e.destination_port = Some(4444);
            e.ret = Some(0);
        })
        .fd_call(3, 200, "dup2", 3, 0)
        .push(4, 200, EventKind::Syscall, Some("dup3"), |e| {
            e.fd = Some(3);
            e.ret = Some(1);
            e.syscall_args = Some("flags=O_CLOEXEC".into());
        });
    let s = st.state();
    assert_eq!(
        fd_path(&s, 200, 0).as_deref(),
        Some("10.0.0.1:40000->192.0.2.7:4444")
    );
    assert!(s.process(200).unwrap().fd(1).unwrap().cloexec);
    assert!(!s.process(200).unwrap().fd(0).unwrap().cloexec);
    st.fd_call(5, 200, "close", 3, 0);
    let s = st.state();
    assert_eq!(fd_path(&s, 200, 3), None);
    assert!(fd_path(&s, 200, 0).is_some());
    // A close that fails with EBADF changes nothing; one that fails
    // otherwise (EINTR, EIO) has released the descriptor anyway.
    st.fd_call(6, 200, "close", 0, -9);
    assert!(fd_path(&st.state(), 200, 0).is_some());
    st.fd_call(6, 200, "dup2", 0, 2)
        .fd_call(6, 200, "close", 2, -4);
    assert!(fd_path(&st.state(), 200, 2).is_none());
    assert!(fd_path(&st.state(), 200, 0).is_some());
    st.exit(7, 200);
    let s = st.state();
    let p = s.process(200).unwrap();
    assert!(p.exited && p.fds.is_empty());
}

#[test]
fn missing_parents_and_mid_recording_processes() {
    let mut st = Stream::new();
    // A process that predates the recording: only its own events tell about it.
    st.push(1, 300, EventKind::Syscall, Some("openat"), |e| {
        e.process_executable = Some("/usr/sbin/nginx".into());
        e.process_name = Some("nginx".into());
        e.process_parent_pid = Some(1);
        e.process_command_line = Some("nginx: worker process".into());
        e.process_cwd = Some("/".into());
        e.user_id = Some(33);
        e.file_path = Some("/var/www/index.html".into());
        e.fd = Some(7);
        e.ret = Some(7);
    });
    // A fork whose parent was never seen.
    st.fork(2, 999, 301);
    let s = st.state();
    let p = s.process(300).unwrap();
    assert_eq!(p.exe.as_deref(), Some("/usr/sbin/nginx"));
    assert_eq!(p.uid, Some(33));
    assert_eq!(p.cmdline.as_deref(), Some("nginx: worker process"));
    assert_eq!(fd_path(&s, 300, 7).as_deref(), Some("/var/www/index.html"));
    assert!(s.parent(p).is_none(), "pid 1 was never seen");
    let c = s.process(301).unwrap();
    assert_eq!(c.ppid, Some(999));
    assert_eq!(s.ancestors(c).count(), 0);
}

#[test]
fn pid_reuse_and_timestamp_ties() {
    let mut st = Stream::new();
    // Everything at the same instant: seq decides.
    st.exec(5, 400, "/bin/bash", &["bash"])
        .fork(5, 400, 401)
        .exec(5, 401, "/usr/bin/sleep", &["sleep", "1"])
        .open(5, 401, "/tmp/a", "O_RDONLY", 3)
        .exit(5, 401)
        // pid 401 reused by a new child of 400: a fresh process, no old fds.
        .fork(5, 400, 401);
    let s = st.state();
    let p = s.process(401).unwrap();
    assert!(!p.exited);
    assert_eq!(p.exe.as_deref(), Some("/bin/bash"));
    assert_eq!(fd_path(&s, 401, 3), None);
    // pid reuse without a fork row (lost): the exited entry is replaced from the event.
    let mut st2 = Stream::new();
    st2.exec(1, 500, "/bin/a", &["a"]).exit(2, 500).push(
        3,
        500,
        EventKind::Syscall,
        Some("getpid"),
        |e| {
            e.process_executable = Some("/bin/b".into());
        },
    );
    let s2 = st2.state();
    assert_eq!(s2.process(500).unwrap().exe.as_deref(), Some("/bin/b"));
    assert!(!s2.process(500).unwrap().exited);
}

#[test]
fn ancestors_chain() {
    let mut st = Stream::new();
    st.exec(1, 1, "/sbin/init", &["init"])
        .fork(2, 1, 10)
        .exec(3, 10, "/usr/sbin/sshd", &["sshd"])
        .fork(4, 10, 11)
        .exec(5, 11, "/bin/bash", &["bash"])
        .fork(6, 11, 12)
        .exec(7, 12, "/usr/bin/curl", &["curl", "x"]);
    let s = st.state();
    let p = s.process(12).unwrap();
    let chain: Vec<i32> = s.ancestors(p).map(|a| a.pid).collect();
    assert_eq!(chain, vec![11, 10, 1]);
    assert_eq!(s.descendants(10), vec![11, 12]);
}

fn rules(yaml: &str) -> Engine {
    let set = load_sources(
        vec![SourceFile {
            path: "t.yaml".into(),
            text: yaml.into(),
        }],
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    Engine::new(&set.rules).unwrap()
}

fn replay(engine: &Engine, st: &Stream, simulate: bool) -> Report {
    let mut r = engine.replay(
        "synthetic",
        Options {
            simulate_enforcement: simulate,
        },
    );
    for e in &st.events {
        r.push(e);
    }
    r.finish()
}

/// A process tree where a rule kills the parent midway: bash (600) runs a
/// dropper from /tmp (601), which forks a miner (602), which connects out.
fn tree() -> Stream {
    let mut st = Stream::new();
    st.exec(1, 600, "/bin/bash", &["bash"])
        .fork(2, 600, 601)
        .exec(3, 601, "/tmp/dropper", &["/tmp/dropper"])
        .open(4, 601, "/etc/shadow", "O_RDONLY", 3)
        .fd_call(5, 601, "read", 3, 512)
        .fd_call(6, 601, "close", 3, 0)
        .fork(7, 601, 602)
        .exec(8, 602, "/usr/bin/miner", &["miner"])
        .fd_call(9, 602, "connect", 4, 0)
        .exit(10, 602)
        .exit(11, 601)
        .open(12, 600, "/home/u/.bashrc", "O_RDONLY", 3);
    st
}

const TREE_RULES: &str = "
- rule: Exec from tmp
  description: d
  condition: event_kind = 'process_exec' AND proc_exe LIKE '/tmp/%'
  output: '%proc_exe child of %parent_exe'
  action: kill
- rule: Shadow read
  description: d
  condition: syscall = 'openat' AND file_path = '/etc/shadow'
  output: '%proc_exe read %file_path'
- rule: Any connect
  description: d
  condition: syscall = 'connect'
  output: '%proc_exe connect'
";

#[test]
fn verdicts_without_enforcement() {
    let e = rules(TREE_RULES);
    let r = replay(&e, &tree(), false);
    let got: Vec<(u64, &str, &str)> = r
        .verdicts
        .iter()
        .map(|v| (v.seq, v.rule_id.as_str(), v.output.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "Exec from tmp", "/tmp/dropper child of /bin/bash"),
            (3, "Shadow read", "/tmp/dropper read /etc/shadow"),
            (8, "Any connect", "/usr/bin/miner connect"),
        ]
    );
    assert!(r.enforcements.is_empty() && r.suppressed.is_empty());
}

#[test]
fn killing_the_parent_midway_stops_its_descendants() {
    let e = rules(TREE_RULES);
    let r = replay(&e, &tree(), true);
    insta::assert_yaml_snapshot!(
        "kill_parent_midway",
        (
            &r.enforcements,
            &r.suppressed,
            r.verdicts
                .iter()
                .map(|v| (v.seq, v.rule_id.clone()))
                .collect::<Vec<_>>()
        )
    );
    // The dropper's later events, its child and the child's events never happen; bash goes on.
    let suppressed: Vec<u64> = r.suppressed.iter().map(|s| s.seq).collect();
    assert_eq!(suppressed, vec![3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(r.verdicts.len(), 1, "only the exec verdict remains");
}

#[test]
fn kill_tree_and_denied_open_and_exec() {
    let e = rules(
        "
- rule: Deny shadow
  description: d
  condition: syscall = 'openat' AND file_path = '/etc/shadow'
  action: {deny: EACCES}
- rule: Deny miner exec
  description: d
  condition: event_kind = 'process_exec' AND proc_exe = '/usr/bin/miner'
  action: {deny: EPERM}
",
    );
    let r = replay(&e, &tree(), true);
    let sup: Vec<(u64, String)> = r
        .suppressed
        .iter()
        .map(|s| (s.seq, s.reason.clone()))
        .collect();
    assert_eq!(
        sup,
        vec![
            (4, "fd 3 was never opened".to_string()),
            (5, "fd 3 was never opened".to_string()),
            (8, "exec denied at seq 7".to_string()),
            (9, "exec denied at seq 7".to_string()),
        ]
    );
    assert_eq!(r.enforcements.len(), 2);
    assert!(
        r.enforcements[1]
            .summary
            .contains("old image keeps running"),
        "{:?}",
        r.enforcements[1]
    );

    let e = rules(
        "
- rule: Kill shell tree
  description: d
  condition: syscall = 'openat' AND file_path = '/etc/shadow'
  action: kill_tree
",
    );
    let mut st = Stream::new();
    st.exec(1, 700, "/bin/bash", &["bash"])
        .fork(2, 700, 701)
        .fork(3, 701, 702)
        .open(4, 700, "/etc/shadow", "O_RDONLY", 3)
        .fd_call(5, 702, "write", 1, 3)
        .fd_call(6, 701, "read", 0, 1);
    let r = replay(&e, &st, true);
    assert_eq!(
        r.enforcements[0].summary,
        "kill pid 700 (/bin/bash) and 2 descendant(s)"
    );
    assert_eq!(
        r.suppressed.iter().map(|s| s.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
}

#[test]
fn loss_marks_nearby_verdicts() {
    let e = rules("- rule: Opens\n  description: d\n  condition: syscall = 'openat'\n");
    let mut st = Stream::new();
    st.open(1_000_000_000, 1, "/a", "O_RDONLY", 3)
        .push(1_500_000_000, 0, EventKind::Loss, None, |e| {
            e.lost_events = Some(10)
        })
        .open(5_000_000_000, 1, "/b", "O_RDONLY", 4);
    let r = replay(&e, &st, false);
    assert_eq!(
        r.verdicts
            .iter()
            .map(|v| v.possibly_incomplete)
            .collect::<Vec<_>>(),
        vec![true, false]
    );
    assert_eq!(r.lost_events, 10);
}

#[test]
fn output_is_deterministic() {
    let e = rules(TREE_RULES);
    let a = serde_json::to_string(&replay(&e, &tree(), true)).unwrap();
    let b = serde_json::to_string(&replay(&e, &tree(), true)).unwrap();
    assert_eq!(a, b);
}

/// A server accepts a connection: the new descriptor (the call's result,
/// not the listening socket in the `fd` column) gets the connection, named
/// client first as Falco names it, and the `fd_*` fields of the `accept4`
/// event describe that new descriptor.
#[test]
fn accept_adds_the_connection_named_client_first() {
    let mut st = Stream::new();
    st.exec(1, 700, "/usr/sbin/httpd", &["httpd"])
        .push(2, 700, EventKind::Syscall, Some("socket"), |e| {
            e.ret = Some(3);
            e.network_transport = Some("tcp".into());
            e.fd_type = Some("ipv4".into());
        })
        .push(3, 700, EventKind::Syscall, Some("listen"), |e| {
            e.fd = Some(3);
            e.ret = Some(0);
            e.source_ip = Some("127.0.0.1".into());
            e.source_port = Some(8080);
        })
        .push(4, 700, EventKind::Syscall, Some("accept4"), |e| {
            e.fd = Some(3);
            e.ret = Some(5);
            e.fd_type = Some("ipv4".into());
            e.network_transport = Some("tcp".into());
            e.source_ip = Some("127.0.0.1".into());
            e.source_port = Some(8080);
            e.destination_ip = Some("10.0.0.5".into());
            e.destination_port = Some(40000);
        });
    let s = st.state();
    assert_eq!(
        fd_path(&s, 700, 5).as_deref(),
        Some("10.0.0.5:40000->127.0.0.1:8080")
    );
    assert_eq!(fd_path(&s, 700, 3).as_deref(), Some("127.0.0.1:8080->"));
    let e = rules(
        "
- rule: Accepted
  description: d
  condition: syscall = 'accept4' AND fd_path = '10.0.0.5:40000->127.0.0.1:8080'
  output: 'fd %fd_num %fd_path %fd_dport'
",
    );
    let r = replay(&e, &st, false);
    let got: Vec<&str> = r.verdicts.iter().map(|v| v.output.as_str()).collect();
    assert_eq!(got, ["fd 5 10.0.0.5:40000->127.0.0.1:8080 40000"]);
}

/// The recorder writes close-on-exec flags as numbers where it has no name
/// for them: `socket type=524289` (SOCK_CLOEXEC is 0x80000), `accept4
/// flags=0x80000`, `memfd_create flags=0x1`, `fcntl cmd=2 arg=1` (F_SETFD,
/// FD_CLOEXEC), `dup3 flags=0x80000`.
#[test]
fn numeric_close_on_exec_flags() {
    let call = |st: &mut Stream, t: i64, syscall: &str, fd: Option<i32>, ret: i64, args: &str| {
        let args = args.to_string();
        st.push(t, 400, EventKind::Syscall, Some(syscall), move |e| {
            e.fd = fd;
            e.ret = Some(ret);
            e.syscall_args = Some(args);
        });
    };
    let mut st = Stream::new();
    st.exec(1, 400, "/bin/sh", &["sh"]);
    call(
        &mut st,
        2,
        "socket",
        None,
        3,
        "domain=2 type=524289 protocol=0",
    );
    call(&mut st, 3, "accept4", Some(3), 4, "fd=3 flags=0x80000");
    call(&mut st, 4, "memfd_create", None, 5, "flags=0x1");
    st.open(5, 400, "/etc/hosts", "O_RDONLY", 6);
    call(&mut st, 6, "fcntl", Some(6), 0, "fd=6 cmd=2 arg=1");
    st.open(7, 400, "/etc/passwd", "O_RDONLY", 7);
    call(
        &mut st,
        8,
        "dup3",
        Some(7),
        8,
        "oldfd=7 newfd=8 flags=0x80000",
    );
    call(&mut st, 9, "socket", None, 9, "domain=2 type=1 protocol=6");
    call(&mut st, 10, "memfd_create", None, 10, "flags=0x0");
    let s = st.state();
    let cloexec = |fd: i32| s.process(400).unwrap().fd(fd).unwrap().cloexec;
    for fd in [3, 4, 5, 6, 8] {
        assert!(cloexec(fd), "fd {fd} is close-on-exec");
    }
    for fd in [7, 9, 10] {
        assert!(!cloexec(fd), "fd {fd} is not close-on-exec");
    }
    // F_SETFD with 0 clears it.
    call(&mut st, 11, "fcntl", Some(6), 0, "fd=6 cmd=2 arg=0");
    assert!(!st.state().process(400).unwrap().fd(6).unwrap().cloexec);
    // Exec closes every one of them.
    st.exec(12, 400, "/bin/true", &["true"]);
    let s = st.state();
    for fd in [3, 4, 5, 8] {
        assert!(fd_path(&s, 400, fd).is_none() && s.process(400).unwrap().fd(fd).is_none());
    }
}

/// `close_range(first, last, flags)` (the recorder's `syscall_args`:
/// `first=3 last=4294967295 flags=0x0`) closes every descriptor in the
/// range, or with `CLOSE_RANGE_CLOEXEC` (4) marks them close-on-exec; a
/// failed call changes nothing.
#[test]
fn close_range_closes_or_marks_the_range() {
    let range = |st: &mut Stream, t: i64, ret: i64, args: &str| {
        let args = args.to_string();
        st.push(t, 500, EventKind::Syscall, Some("close_range"), move |e| {
            e.ret = Some(ret);
            e.syscall_args = Some(args);
        });
    };
    let mut st = Stream::new();
    st.exec(1, 500, "/usr/bin/python3", &["python3"]);
    for fd in 3..8 {
        st.open(2, 500, &format!("/tmp/f{fd}"), "O_RDONLY", fd);
    }
    range(&mut st, 3, -22, "first=3 last=4294967295 flags=0x0");
    assert_eq!(st.state().process(500).unwrap().fds.len(), 5);
    range(&mut st, 4, 0, "first=6 last=6 flags=0x4");
    range(&mut st, 5, 0, "first=4 last=5 flags=0x0");
    let open = |s: &State| -> Vec<i32> {
        s.process(500)
            .unwrap()
            .fds
            .iter()
            .map(|(fd, _)| fd)
            .collect()
    };
    let s = st.state();
    assert_eq!(open(&s), [3, 6, 7]);
    assert!(s.process(500).unwrap().fd(6).unwrap().cloexec);
    assert!(!s.process(500).unwrap().fd(7).unwrap().cloexec);
    range(&mut st, 6, 0, "first=7 last=4294967295 flags=0x0");
    st.exec(7, 500, "/bin/true", &["true"]);
    assert_eq!(open(&st.state()), [3], "6 was close-on-exec, 7 closed");
}

/// `pipe2` and `socketpair` rows give their descriptors as `fd0=`/`fd1=`;
/// numbers the recorder flagged (`toctou_mismatch`: the kernel found no
/// pair behind them, a racing thread rewrote the array) label nothing, so
/// a socket cannot be passed off as a pipe.
#[test]
fn descriptor_pairs_label_their_fds_unless_flagged() {
    let pair = |st: &mut Stream, t: i64, call: &str, args: &str, mismatch: bool| {
        let args = args.to_string();
        st.push(t, 500, EventKind::Syscall, Some(call), move |e| {
            e.ret = Some(0);
            e.syscall_args = Some(args);
            e.toctou_mismatch = Some(mismatch);
        });
    };
    let kind = |s: &State, fd: i32| -> Option<String> {
        s.process(500)?.fd(fd)?.kind.as_deref().map(str::to_string)
    };
    let mut st = Stream::new();
    st.exec(1, 500, "/bin/sh", &["sh"]);
    st.open(2, 500, "/etc/hostname", "O_RDONLY", 4);
    pair(&mut st, 3, "pipe2", "flags=O_CLOEXEC fd0=5 fd1=6", false);
    pair(
        &mut st,
        4,
        "socketpair",
        "domain=1 type=1 protocol=0 fd0=7 fd1=8",
        false,
    );
    pair(&mut st, 5, "pipe2", "flags=0x0 fd0=4 fd1=4", true);
    let s = st.state();
    assert_eq!(kind(&s, 5).as_deref(), Some("pipe"));
    assert_eq!(kind(&s, 6).as_deref(), Some("pipe"));
    assert!(s.process(500).unwrap().fd(6).unwrap().cloexec);
    assert_eq!(kind(&s, 7).as_deref(), Some("unix"));
    assert_eq!(kind(&s, 8).as_deref(), Some("unix"));
    assert_eq!(
        s.process(500).unwrap().fd(4).unwrap().path.as_deref(),
        Some("/etc/hostname"),
        "a flagged row relabelled fd 4"
    );
}
