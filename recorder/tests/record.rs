//! Live tests: load the real eBPF programs, run real commands, assert on the
//! rows of the recording. They need root and skip (saying so) without it.

mod common;

use common::{can_record, record};
use hindsight_format::{Event, EventKind};

#[test]
fn exec_of_a_known_binary_with_argv_and_open() {
    if !can_record("exec_of_a_known_binary_with_argv_and_open") {
        return;
    }
    let rec = record(&["/bin/cat", "/etc/hostname"]);
    let execs = rec.kind(EventKind::ProcessExec);
    let exec = execs
        .iter()
        .find(|e| {
            e.process_args.as_deref()
                == Some(&["/bin/cat".to_string(), "/etc/hostname".to_string()][..])
        })
        .unwrap_or_else(|| panic!("no exec of cat:\n{}", rec.dump()));
    // /bin is a symlink to /usr/bin on Debian: the kernel's object is the real file.
    let real = std::fs::canonicalize("/bin/cat").unwrap();
    assert_eq!(
        exec.file_path.as_deref(),
        Some(real.to_str().unwrap()),
        "{}",
        rec.dump()
    );
    assert_eq!(exec.file_path_user.as_deref(), Some("/bin/cat"));
    assert_eq!(exec.toctou_mismatch, Some(false));
    assert_eq!(exec.kernel_source.as_deref(), Some("sched_process_exec"));
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some("/etc/hostname"))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    let o = opens[0];
    assert_eq!(o.file_path.as_deref(), Some("/etc/hostname"));
    assert_eq!(o.toctou_mismatch, Some(false));
    assert_eq!(o.kernel_source.as_deref(), Some("sys_exit_fd"));
    let exits = rec.kind(EventKind::ProcessExit);
    assert_eq!(exits.len(), 1, "{}", rec.dump());
    assert_eq!(exits[0].process_exit_code, Some(0));
    assert_eq!(rec.summary.exit_code, Some(0));
}

#[test]
fn open_of_a_unique_temp_path_with_flags_inode_and_kernel_path() {
    if !can_record("open_of_a_unique_temp_path") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hindsight-open-test.txt");
    let p = path.to_str().unwrap();
    // Relative path from a cwd: made absolute against the kernel's cwd walk.
    let script = format!(
        "cd {} && echo hi > hindsight-open-test.txt",
        dir.path().display()
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path.as_deref() == Some(p))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    let o = opens[0];
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(o.file_inode, Some(meta.ino()));
    assert_eq!(o.file_device, Some(meta.dev()));
    assert_eq!(o.file_path_user.as_deref(), Some("hindsight-open-test.txt"));
    assert_eq!(o.file_path_user_err, Some(0));
    assert_eq!(o.file_flags.as_deref(), Some("O_WRONLY|O_CREAT|O_TRUNC"));
    assert_eq!(o.file_mode, Some(0o666));
    assert_eq!(o.toctou_mismatch, Some(false));
    assert_eq!(o.fd_type.as_deref(), Some("file"));
    assert!(o.fd.is_some_and(|fd| fd >= 0));
    assert!(o.latency_ns.is_some_and(|l| l > 0));
}

#[test]
fn connect_to_a_loopback_listener() {
    if !can_record("connect_to_a_loopback_listener") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    let rec = record(&["/bin/bash", "-c", &script]);
    let c: Vec<_> = rec
        .sys("connect")
        .into_iter()
        .filter(|e| e.destination_port == Some(port))
        .collect();
    assert_eq!(c.len(), 1, "{:?}\n{}", rec.manifest.hooks, rec.dump());
    let c = c[0];
    assert_eq!(c.destination_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        c.destination_addr_user.as_deref(),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert_eq!(c.network_family.as_deref(), Some("AF_INET"));
    assert_eq!(c.kernel_source.as_deref(), Some("cgroup_connect4"));
    assert_eq!(c.toctou_mismatch, Some(false));
    // The sockaddr was readable at entry.
    assert_eq!(c.file_path_user_err, Some(0));
    assert_eq!(c.ret, Some(0));
}

#[test]
fn rename_chmod_unlink_symlink() {
    if !can_record("rename_chmod_unlink_symlink") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!(
        "touch {d}/a && mv {d}/a {d}/b && chmod 600 {d}/b && ln -s {d}/b {d}/l && rm {d}/l {d}/b"
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    let find = |name: &str| -> Vec<&hindsight_format::Event> {
        rec.events
            .iter()
            .filter(|e| e.syscall.as_deref().is_some_and(|s| s.starts_with(name)))
            .filter(|e| e.event_kind == EventKind::Syscall)
            .collect()
    };
    let ren = find("rename");
    assert_eq!(ren.len(), 1, "{}", rec.dump());
    assert_eq!(ren[0].file_path.as_deref(), Some(format!("{d}/a").as_str()));
    assert_eq!(
        ren[0].file_target_path.as_deref(),
        Some(format!("{d}/b").as_str())
    );
    assert_eq!(ren[0].toctou_mismatch, Some(false));
    let ch = find("fchmodat");
    assert_eq!(ch.len(), 1, "{}", rec.dump());
    assert_eq!(ch[0].file_path.as_deref(), Some(format!("{d}/b").as_str()));
    assert_eq!(ch[0].file_mode, Some(0o600));
    let sl = find("symlink");
    assert_eq!(sl.len(), 1, "{}", rec.dump());
    assert_eq!(sl[0].file_path.as_deref(), Some(format!("{d}/b").as_str()));
    assert_eq!(
        sl[0].file_target_path.as_deref(),
        Some(format!("{d}/l").as_str())
    );
    let un: Vec<_> = find("unlink")
        .into_iter()
        .filter_map(|e| e.file_path.clone())
        .collect();
    assert!(
        un.contains(&format!("{d}/l")) && un.contains(&format!("{d}/b")),
        "{un:?}"
    );
}

#[test]
fn fork_and_exit_code_and_descendants() {
    if !can_record("fork_and_exit_code") {
        return;
    }
    let rec = record(&["/bin/sh", "-c", "/bin/true; (exit 3); /bin/sh -c 'exit 7'"]);
    assert_eq!(rec.summary.exit_code, Some(7));
    let forks = rec.kind(EventKind::ProcessFork);
    assert!(forks.len() >= 2, "{}", rec.dump());
    // Each fork row names the call that forked, and the parent's row of that
    // call returned the child's pid.
    for f in &forks {
        let call = f.syscall.as_deref();
        assert!(
            matches!(call, Some("clone" | "clone3" | "fork" | "vfork")),
            "fork row with syscall {call:?}\n{}",
            rec.dump()
        );
        let parent_call = rec.sys(call.unwrap()).into_iter().any(|c| {
            Some(c.process_pid) == f.process_parent_pid && c.ret == Some(i64::from(f.thread_id))
        });
        assert!(
            parent_call,
            "no {call:?} returning {}\n{}",
            f.thread_id,
            rec.dump()
        );
    }
    let root = rec.kind(EventKind::ProcessExec)[0].process_pid;
    assert!(
        forks.iter().all(|f| f.process_parent_pid == Some(root)),
        "{}",
        rec.dump()
    );
    let exits = rec.kind(EventKind::ProcessExit);
    let codes: Vec<_> = exits.iter().filter_map(|e| e.process_exit_code).collect();
    assert!(
        codes.contains(&3) && codes.contains(&7) && codes.contains(&0),
        "{codes:?}"
    );
    let child_execs: Vec<_> = rec
        .kind(EventKind::ProcessExec)
        .into_iter()
        .filter(|e| e.file_path.as_deref().is_some_and(|p| p.ends_with("/true")))
        .collect();
    assert_eq!(child_execs.len(), 1, "{}", rec.dump());
}

/// Fields 6 (session) and 7 (tty_nr) of a saved `/proc/PID/stat`.
fn session_and_tty(stat: &str) -> (i32, u32) {
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    (f[3].parse().unwrap(), f[4].parse::<i64>().unwrap() as u32)
}

#[test]
fn vpid_session_and_tty_follow_namespaces_setsid_and_terminals() {
    if !can_record("vpid_session_and_tty") {
        return;
    }
    for tool in ["unshare", "setsid", "script", "python3"] {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped vpid_session_and_tty: no {tool}");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Each file is written by a shell whose own stat (or $$) is the truth
    // for the row of the open that created the file.
    let script = format!(
        "unshare --pid --fork /bin/sh -c 'echo $$ > {d}/ns'\n\
         setsid /bin/sh -c 'cat /proc/$$/stat > {d}/sid'\n\
         script -qc \"/bin/sh -c 'cat /proc/\\$\\$/stat > {d}/tty'\" /dev/null\n\
         python3 -c 'import os, threading\n\
         t = threading.Thread(target=os.setsid); t.start(); t.join()\n\
         open(\"{d}/thread\", \"w\")'\n"
    );
    std::fs::write(dir.path().join("run.sh"), script).unwrap();
    let run = dir.path().join("run.sh");
    let rec = record(&["/bin/sh", run.to_str().unwrap()]);
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    let open_of = |name: &str| {
        let path = format!("{d}/{name}");
        let rows: Vec<_> = rec
            .sys("openat")
            .into_iter()
            .filter(|e| e.file_path.as_deref() == Some(path.as_str()))
            .collect();
        assert_eq!(rows.len(), 1, "open of {path}\n{}", rec.dump());
        rows[0]
    };
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();

    // A CLONE_NEWPID child is pid 1 in its namespace, not its parent's vpid.
    let ns = open_of("ns");
    assert_eq!(read("ns").trim(), "1");
    assert_eq!(ns.process_vpid, Some(1), "{}", rec.dump());
    assert_ne!(ns.process_pid, 1);
    // Everyone else here is in the initial namespace: vpid is the pid.
    let root = rec.kind(EventKind::ProcessExec)[0];
    assert_eq!(root.process_vpid, Some(root.process_pid));

    // setsid: a new session led by the caller, without a terminal.
    let sid = open_of("sid");
    let (session, tty) = session_and_tty(&read("sid"));
    assert_eq!(sid.process_session_id, Some(session), "{}", rec.dump());
    assert_eq!((tty, sid.process_tty), (0, Some(0)));
    // setsid(2) returned the new session's id: its caller's pid.
    let calls = rec.sys("setsid");
    assert!(
        calls
            .iter()
            .any(|c| c.ret == Some(i64::from(session)) && c.process_pid == session),
        "{}",
        rec.dump()
    );
    assert_ne!(root.process_session_id, Some(session));

    // setsid from a thread other than the leader: the process's own ids,
    // not the thread's (the session is the thread group's).
    let thread = open_of("thread");
    assert_eq!(thread.process_vpid, Some(thread.process_pid));
    assert_eq!(thread.process_session_id, Some(thread.process_pid));
    assert!(
        rec.sys("setsid")
            .iter()
            .any(|c| c.process_pid == thread.process_pid && c.thread_id != thread.process_pid),
        "{}",
        rec.dump()
    );

    // script(1) gives its child a pseudo-terminal as controlling terminal.
    let t = open_of("tty");
    let (session, tty) = session_and_tty(&read("tty"));
    assert_ne!(tty, 0);
    assert_eq!(t.process_tty, Some(tty), "{}", rec.dump());
    assert_eq!(t.process_session_id, Some(session));
}

#[test]
fn recorder_absent_from_its_own_recording() {
    if !can_record("recorder_absent") {
        return;
    }
    let rec = record(&["/bin/true"]);
    let me = std::process::id() as i32;
    assert!(
        rec.events.iter().all(|e| e.process_pid != me),
        "{}",
        rec.dump()
    );
    assert!(!rec.events.is_empty());
    assert!(rec.manifest.complete);
    assert!(
        rec.manifest
            .hooks
            .active
            .iter()
            .any(|h| h == "raw_tracepoint/sys_exit")
    );
}

#[test]
fn loss_rows_under_a_tiny_ring_buffer() {
    if !can_record("loss_rows_under_a_tiny_ring_buffer") {
        return;
    }
    // 4 KiB holds one exec record: a burst of opens must overflow it.
    let rec = common::record_with(
        &[
            "/bin/sh",
            "-c",
            "for i in $(seq 300); do : < /etc/hostname; done",
        ],
        "default",
        4096,
    );
    let loss = rec.kind(EventKind::Loss);
    assert!(!loss.is_empty(), "no loss rows:\n{}", rec.dump());
    let lost: u64 = loss.iter().filter_map(|e| e.lost_events).sum();
    assert!(lost > 0);
    assert_eq!(rec.manifest.totals.lost(), lost);
    assert_eq!(rec.manifest.totals.loss_rows, loss.len() as u64);
    // Nothing silent: every open is either recorded or counted.
    let opens = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some("/etc/hostname"))
        .count() as u64;
    assert!(opens + lost >= 300, "opens {opens} + lost {lost} < 300");
}

#[test]
fn memfd_exec_is_named_memfd_and_proc_self_opens_are_no_mismatch() {
    if !can_record("memfd_exec_is_named_memfd") {
        return;
    }
    let script = r#"
import os
print(open("/proc/self/status").read()[:0], end="")
print(open("/proc/thread-self/comm").read()[:0], end="")
fd = os.memfd_create("hindsight-test", 0)
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
print(open(f"/proc/self/fd/{fd}", "rb").read()[:0].decode(), end="")
pid = os.fork()
if pid == 0:
    os.execv(f"/proc/self/fd/{fd}", ["kworker-test"])
os.waitpid(pid, 0)
"#;
    let rec = record(&["/usr/bin/python3", "-c", script]);
    let exec = rec
        .kind(EventKind::ProcessExec)
        .into_iter()
        .find(|e| e.process_args.as_deref() == Some(&["kworker-test".to_string()][..]))
        .unwrap_or_else(|| panic!("no memfd exec:\n{}", rec.dump()));
    assert_eq!(
        exec.process_executable.as_deref(),
        Some("memfd:hindsight-test"),
        "{}",
        rec.dump()
    );
    assert!(
        exec.file_path
            .as_deref()
            .unwrap_or("")
            .starts_with("memfd:")
    );
    assert_eq!(exec.toctou_mismatch, Some(false));
    for user in ["/proc/self/status", "/proc/thread-self/comm"] {
        let opens: Vec<_> = rec
            .sys("openat")
            .into_iter()
            .filter(|e| e.file_path_user.as_deref() == Some(user))
            .collect();
        assert_eq!(opens.len(), 1, "{user}:\n{}", rec.dump());
        assert_eq!(opens[0].toctou_mismatch, Some(false), "{user}");
        assert!(
            opens[0]
                .file_path
                .as_deref()
                .unwrap_or("")
                .starts_with("/proc/"),
            "{user}: {:?}",
            opens[0].file_path
        );
    }
    // Reopening the memfd through its descriptor link: the memfd, not flagged.
    let reopen = rec
        .sys("openat")
        .into_iter()
        .find(|e| {
            e.file_path_user
                .as_deref()
                .is_some_and(|u| u.starts_with("/proc/self/fd/"))
        })
        .unwrap_or_else(|| panic!("no reopen:\n{}", rec.dump()));
    assert_eq!(reopen.file_path.as_deref(), Some("memfd:hindsight-test"));
    assert_eq!(reopen.fd_type.as_deref(), Some("memfd"));
    assert_eq!(reopen.toctou_mismatch, Some(false));
}

#[test]
fn open_through_a_symlink_is_no_mismatch() {
    if !can_record("open_through_a_symlink") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("hostname-link");
    let l = link.to_str().unwrap();
    // The link outlives the recording, so the decoder can check it names the
    // kernel's object. (A name that no longer resolves is flagged instead:
    // see `same_object` in decode.rs.)
    std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
    let script = format!("cat {l} >/dev/null");
    let rec = record(&["/bin/sh", "-c", &script]);
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some(l))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    assert_eq!(opens[0].file_path.as_deref(), Some("/etc/hostname"));
    assert_eq!(opens[0].toctou_mismatch, Some(false), "{}", rec.dump());
}

/// Executables on overlayfs (the union mount container runtimes use): a
/// binary written into the mounted overlay after the mount lives in the
/// upper layer (`process_exe_upper_layer` true), one from the lower layer is
/// false — also after a `chmod` copied it up, as in Falco's
/// `proc.is_exe_upper_layer` — and one outside overlayfs is null.
#[test]
fn exec_on_overlayfs_upper_and_lower_layers() {
    if !can_record("exec_on_overlayfs_upper_and_lower_layers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let script = format!(
        "set -e; cd {d}; mkdir lower upper work merged\n\
         cp /bin/true lower/from-lower; cp /bin/true lower/copied-up\n\
         mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged\n\
         cp /bin/true merged/dropped; chmod 700 merged/copied-up\n\
         merged/from-lower; merged/dropped; merged/copied-up; /bin/true\n\
         umount merged"
    );
    let rec = record(&["/bin/sh", "-c", &script]);
    let layer = |name: &str| {
        let rows: Vec<_> = rec
            .kind(EventKind::ProcessExec)
            .into_iter()
            .filter(|e| {
                e.process_executable
                    .as_deref()
                    .is_some_and(|p| p.ends_with(name))
            })
            .collect();
        assert_eq!(rows.len(), 1, "{name}\n{}", rec.dump());
        rows[0].process_exe_upper_layer
    };
    assert_eq!(layer("/merged/dropped"), Some(true));
    assert_eq!(layer("/merged/from-lower"), Some(false));
    assert_eq!(layer("/merged/copied-up"), Some(false));
    assert_eq!(layer("/usr/bin/true"), None);
    // The execve row of the dropped binary carries it too.
    assert!(rec.sys("execve").iter().any(|e| {
        e.file_path
            .as_deref()
            .is_some_and(|p| p.ends_with("/merged/dropped"))
            && e.process_exe_upper_layer == Some(true)
    }));
}

/// A process that joins a container's cgroup after the recorder first saw it
/// (as `docker exec` does: runc starts on the host, then joins the
/// container) is attributed to that container from then on: the container id
/// comes from the cgroup id each record carries, not only from `/proc` at
/// first sight.
#[test]
fn container_id_follows_the_cgroup_a_process_joins() {
    if !can_record("container_id_follows_the_cgroup_a_process_joins") {
        return;
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let Some(root) = mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| f[1].to_string())
    }) else {
        eprintln!("skipped: no cgroup2 mount");
        return;
    };
    let id = format!(
        "{:064x}",
        std::process::id() as u128 * 0x9e37_79b9_7f4a_7c15
    );
    let id = &id[id.len() - 64..];
    let cg = format!("{root}/system.slice/docker-{id}.scope");
    std::fs::create_dir_all(&cg).unwrap();
    // The shell is seen on the host first (its execve), then joins the
    // group and runs `true` there.
    let script = format!("echo $$ > {cg}/cgroup.procs && exec /bin/true");
    let rec = record(&["/bin/sh", "-c", &script]);
    std::fs::remove_dir(&cg).unwrap();
    let exec_of = |exe: &str| {
        rec.kind(EventKind::ProcessExec)
            .into_iter()
            .find(|e| e.process_executable.as_deref() == Some(exe))
            .unwrap_or_else(|| panic!("no exec of {exe}\n{}", rec.dump()))
            .clone()
    };
    let real = |p: &str| std::fs::canonicalize(p).unwrap().display().to_string();
    assert_eq!(exec_of(&real("/bin/sh")).container_id, None, "on the host");
    assert_eq!(
        exec_of(&real("/bin/true")).container_id.as_deref(),
        Some(id)
    );
}

/// The task's context on every row (ids, capabilities, name, parent) is the
/// same whether the kernel programs read it with BTF-checked plain loads
/// (the default where the kernel allows them) or with
/// `bpf_probe_read_kernel`, and it is the context the process really had.
#[test]
fn task_context_is_the_same_with_btf_loads_and_probe_reads() {
    if !can_record("task_context_is_the_same_with_btf_loads_and_probe_reads") {
        return;
    }
    let argv = [
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        "/usr/bin/stat",
        "/etc/hostname",
    ];
    if !std::path::Path::new(argv[0]).exists() {
        eprintln!("skipped: no {}", argv[0]);
        return;
    }
    let me = std::process::id() as i32;
    let context = |task_btf: bool| {
        let rec = common::record_opts(&argv, |o| {
            o.syscalls = "all".into();
            o.task_btf = task_btf;
        });
        let rows: Vec<_> = rec
            .events
            .iter()
            .filter(|e| {
                e.event_kind == EventKind::Syscall && e.process_name.as_deref() == Some("stat")
            })
            .map(|e| {
                (
                    e.user_id,
                    e.group_id,
                    e.process_effective_user_id,
                    e.login_uid,
                    e.process_session_id,
                    e.process_cap_effective,
                    e.process_cap_permitted,
                    e.process_parent_pid,
                )
            })
            .collect();
        assert!(rows.len() > 10, "{}", rec.dump());
        // This kernel (>= 5.11) takes the BTF loads; the option turns them off.
        assert_eq!(rec.summary.task_btf, task_btf);
        let first = rows[0];
        assert!(rows.iter().all(|r| *r == first), "{}", rec.dump());
        // The files behind descriptors (also read through the task).
        let mut files: Vec<_> = rec
            .events
            .iter()
            .filter(|e| e.process_name.as_deref() == Some("stat") && e.fd.is_some_and(|f| f >= 0))
            .filter_map(|e| Some((e.syscall.clone()?, e.file_path.clone()?, e.file_inode?)))
            .collect();
        files.sort();
        files.dedup();
        assert!(
            files.iter().any(|f| f.1.ends_with("libc.so.6")),
            "{}",
            rec.dump()
        );
        (first, files)
    };
    let (btf, btf_files) = context(true);
    let (probe, probe_files) = context(false);
    assert_eq!(btf, probe);
    assert_eq!(btf_files, probe_files);
    let (uid, gid, euid, _, _, cap_eff, cap_perm, ppid) = btf;
    assert_eq!((uid, gid, euid), (Some(65534), Some(65534), Some(65534)));
    assert_eq!((cap_eff, cap_perm), (Some(0), Some(0)));
    assert_eq!(ppid, Some(me));
}

/// A syscall that sleeps is switched out between entry and exit: its entry
/// state leaves the CPU's slot for the per-thread map on `sched_switch`,
/// and the exit (on whichever CPU) and the kernel-name hook find it there.
/// An `open` of a FIFO blocks until a writer comes; its row must still carry
/// the user path at entry, the kernel's object, the comparison and the wait.
#[test]
fn blocking_syscalls_keep_their_entry_state_across_a_switch() {
    if !can_record("blocking_syscalls_keep_their_entry_state_across_a_switch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // The writer comes a second later, so `cat` blocks in its open for most
    // of that second even when a loaded machine starts it late.
    let script = format!(
        "cd {d} && mkfifo fifo && (sleep 1; echo x > fifo) & sleep 0.1; cd {d} && cat fifo; wait"
    );
    let rec = common::record_with(&["/bin/sh", "-c", &script], "all", 16 << 20);
    let opens: Vec<_> = rec
        .sys("openat")
        .into_iter()
        .filter(|e| e.process_name.as_deref() == Some("cat"))
        .filter(|e| e.file_path_user.as_deref() == Some("fifo"))
        .collect();
    assert_eq!(opens.len(), 1, "{}", rec.dump());
    let o = opens[0];
    assert_eq!(o.file_path.as_deref(), Some(format!("{d}/fifo").as_str()));
    assert_eq!(o.file_path_user_err, Some(0));
    assert_eq!(o.toctou_mismatch, Some(false));
    assert!(o.ret.is_some_and(|r| r >= 0), "{}", rec.dump());
    assert!(
        o.latency_ns.is_some_and(|l| l >= 100_000_000),
        "{:?}",
        o.latency_ns
    );
    let sleeps: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.process_name.as_deref() == Some("sleep"))
        .filter(|e| {
            e.syscall
                .as_deref()
                .is_some_and(|s| s.contains("nanosleep"))
        })
        .collect();
    assert_eq!(sleeps.len(), 2, "{}", rec.dump());
    assert!(
        sleeps
            .iter()
            .all(|e| e.ret == Some(0) && e.latency_ns.is_some_and(|l| l >= 90_000_000)),
        "{}",
        rec.dump()
    );
}

/// What [`records_are_the_same_without_dynptrs`] compares of a row: kind,
/// syscall, return value, paths (kernel, user, cut, target), verdict, its
/// source, argv and executable.
type Row = (
    EventKind,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<Vec<String>>,
    Option<String>,
);

/// Kernels before 5.19 have no ring-buffer dynptrs: records are laid out
/// in a per-CPU buffer and copied in with `bpf_ringbuf_output`. Forced on
/// this kernel, that path must give the same rows: paths (short and past
/// the 255 bytes of an entry copy), kernel objects, verdicts, argv.
#[test]
fn records_are_the_same_without_dynptrs() {
    if !can_record("records_are_the_same_without_dynptrs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let long = format!("{d}/{}/{}", "l".repeat(200), "m".repeat(100));
    // An unlink whose name sits in a page not yet faulted in: the entry read
    // fails (-14), the kernel faults it in, and its copy of the name is sent
    // in the record's kernel-name section (F_KNAME1_BYTES) as `file_path`.
    let unfaulted = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
victim, holder = sys.argv[1], sys.argv[2]
open(victim, "w").close()
with open(holder, "wb") as f:
    f.write(victim.encode() + bytes(1))
fd = os.open(holder, os.O_RDONLY)
addr = libc.mmap(None, 4096, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED; never touched here
sys.exit(0 if libc.syscall(87, ctypes.c_void_p(addr)) == 0 else 1)  # unlink
"#;
    let script = format!(
        "cd {d} && mkdir -p {long} && touch a {long}/f && mv a b && ln -s b c && \
         cat c {long}/f /etc/hostname > /dev/null && chmod 600 b && rm b c {long}/f && \
         /bin/echo one two three > /dev/null && python3 -c '{unfaulted}' {d}/u {d}/u.name"
    );
    let rows = |dynptr: bool| {
        let rec = common::record_opts(&["/bin/sh", "-c", &script], |o| {
            o.syscalls = "all".into();
            o.dynptr = dynptr;
        });
        // This kernel (>= 5.19) has dynptrs; the option turns them off.
        assert_eq!(rec.summary.dynptr, dynptr);
        let want = if dynptr { "dynptr" } else { "ringbuf_output" };
        let features = &rec.manifest.recorder_config["kernel_features"];
        assert_eq!(features["records"], want, "{features}");
        assert_eq!(rec.manifest.totals.loss_rows, 0, "{}", rec.dump());
        let mut rows: Vec<Row> = rec
            .events
            .iter()
            .filter(|e| {
                e.file_path.as_deref().is_some_and(|p| p.starts_with(&d))
                    || e.file_path_user.as_deref().is_some_and(|p| p.contains(&d))
                    || e.event_kind == EventKind::ProcessExec
            })
            .map(|e| {
                (
                    e.event_kind,
                    e.syscall.clone(),
                    e.ret,
                    e.file_path.clone(),
                    e.file_path_user.clone(),
                    e.file_path_truncated,
                    e.file_target_path.clone(),
                    e.toctou_mismatch,
                    e.kernel_source.clone(),
                    e.process_args.clone(),
                    e.process_executable.clone(),
                )
            })
            .collect();
        rows.sort();
        // Clean up for the next run, which must see the same directory.
        let _ = std::fs::remove_dir_all(format!("{d}/{}", "l".repeat(200)));
        (rows, rec.dump())
    };
    let (with, dump) = rows(true);
    let (without, dump2) = rows(false);
    assert!(with.len() >= 12, "{dump}");
    assert!(
        with.iter()
            .any(|r| r.3.as_deref() == Some(&format!("{long}/f")) && r.7 == Some(false)),
        "{dump}"
    );
    assert!(
        with.iter().any(|r| r
            .9
            .as_ref()
            .is_some_and(|a| a.join(" ") == "/bin/echo one two three")),
        "{dump}"
    );
    let victim = format!("{d}/u");
    assert!(
        with.iter().any(|r| r.1.as_deref() == Some("unlink")
            && r.3.as_deref() == Some(victim.as_str())
            && r.4.is_none()
            && r.7 == Some(true)
            && r.8.as_deref() == Some("names_cache")),
        "{dump}"
    );
    let only = |a: &[Row], b: &[Row]| -> Vec<Row> {
        a.iter().filter(|r| !b.contains(r)).cloned().collect()
    };
    assert!(
        with == without,
        "only with dynptrs: {:#?}\nonly without: {:#?}\nwith:\n{dump}\nwithout:\n{dump2}",
        only(&with, &without),
        only(&without, &with)
    );
}

/// `execveat` with a descriptor: the kernel names the file `/dev/fd/N/NAME`
/// (or `/dev/fd/N` for `AT_EMPTY_PATH`), which is the user's name after the
/// descriptor, not a different one. A relative name under a directory
/// descriptor, `fexecve` of an open file and of a memfd are no mismatch;
/// each row names the file the kernel executed.
#[test]
fn execveat_by_descriptor_is_no_mismatch() {
    if !can_record("execveat_by_descriptor_is_no_mismatch") {
        return;
    }
    // execveat is syscall 322 on x86_64 (the only target the recorder builds for).
    let script = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
argv = (ctypes.c_char_p * 2)(b"true", None)
envp = (ctypes.c_char_p * 1)(None)
mode = sys.argv[1]
if mode == "dirfd":
    fd, name, flags = os.open("/usr/bin", os.O_RDONLY | os.O_DIRECTORY), b"true", 0
elif mode == "fd":
    fd, name, flags = os.open("/usr/bin/true", os.O_RDONLY), b"", 0x1000
else:
    fd = os.memfd_create("hs-memfd", 0)
    os.write(fd, open("/usr/bin/true", "rb").read())
    name, flags = b"", 0x1000
libc.syscall(322, fd, name, argv, envp, flags)
sys.exit(90 + ctypes.get_errno())
"#;
    for (mode, user, kernel) in [
        ("dirfd", "true", "/usr/bin/true"),
        ("fd", "", "/usr/bin/true"),
        ("memfd", "", "memfd:hs-memfd"),
    ] {
        let rec = common::record(&["python3", "-c", script, mode]);
        let execs: Vec<_> = rec
            .kind(EventKind::ProcessExec)
            .into_iter()
            .filter(|e| e.syscall.as_deref() == Some("execveat"))
            .collect();
        assert_eq!(execs.len(), 1, "{mode}: {}", rec.dump());
        let e = execs[0];
        assert_eq!(e.file_path_user.as_deref(), Some(user), "{mode}");
        assert!(
            e.file_path
                .as_deref()
                .is_some_and(|p| p.starts_with(kernel)),
            "{mode}: {:?}",
            e.file_path
        );
        assert_eq!(e.toctou_mismatch, Some(false), "{mode}: {}", rec.dump());
        assert_eq!(rec.summary.exit_code, Some(0), "{mode}");
    }
}

/// Where whole long-path comparison is off (kernels before 5.12, or one that
/// refuses the 4 KiB key of the map it needs), a path over 255 bytes whose
/// first 255 agree with the kernel's copy gets no verdict: never a false
/// mismatch, also for names the kernel keeps out of line (4 064 bytes or
/// more). With it on, the same rows are compared whole (false). The
/// manifest says which.
#[test]
fn long_paths_without_whole_comparison_have_no_verdict() {
    if !can_record("long_paths_without_whole_comparison_have_no_verdict") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap().display().to_string();
    let long = |slashes: usize, name: &str| format!("{d}{}{name}", "/".repeat(slashes));
    let script = r#"cd "$1" && touch a b c && cat "$2" "$3" a > /dev/null && rm "$4" "$5" && \
        ln -s a "$6" && mv "$7" "$8" && chmod 600 moved"#;
    let args = [
        d.clone(),
        long(300, "a"),
        long(4070, "b"),
        long(300, "b"),
        long(4070, "c"),
        long(4070, "link"),
        long(300, "a"),
        long(4070, "moved"),
    ];
    let rows = |long_names: bool| {
        // The same directory for both runs: what the first made goes.
        for f in ["link", "moved"] {
            let _ = std::fs::remove_file(format!("{d}/{f}"));
        }
        let mut argv = vec!["/bin/sh", "-c", script, "sh"];
        argv.extend(args.iter().map(String::as_str));
        let rec = common::record_opts(&argv, |o| {
            o.syscalls = "openat,unlinkat,symlinkat,renameat,renameat2,fchmodat".into();
            o.long_names = long_names;
        });
        assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
        assert_eq!(rec.summary.long_names, long_names);
        let features = &rec.manifest.recorder_config["kernel_features"];
        let want = if long_names {
            "whole"
        } else {
            "first_255_bytes"
        };
        assert_eq!(features["long_paths"], want, "{features}");
        assert_eq!(features["kernel_names"], "by_cache", "{features}");
        let mine: Vec<Event> = rec
            .events
            .iter()
            .filter(|e| e.ret.is_some_and(|r| r >= 0))
            .filter(|e| {
                [&e.file_path, &e.file_path_user, &e.file_target_path]
                    .iter()
                    .any(|p| p.as_deref().is_some_and(|p| p.starts_with(&d)))
            })
            .cloned()
            .collect();
        (mine, rec.dump())
    };
    for long_names in [false, true] {
        let (events, dump) = rows(long_names);
        let cut = events
            .iter()
            .filter(|e| e.file_path_truncated == Some(true))
            .count();
        let brief: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.syscall.clone(),
                    e.file_path.as_ref().map(String::len),
                    e.file_path_user.as_ref().map(String::len),
                    e.file_path_truncated,
                    e.toctou_mismatch,
                    e.kernel_source.clone(),
                )
            })
            .collect();
        // Two opens, two unlinks, the symlink and the rename.
        assert_eq!(cut, 6, "{brief:#?}");
        for e in &events {
            let want = match e.file_path_truncated {
                Some(true) if !long_names => None,
                _ => Some(false),
            };
            assert_eq!(e.toctou_mismatch, want, "long_names {long_names}: {e:?}");
        }
        assert!(
            events
                .iter()
                .any(|e| e.syscall.as_deref() == Some("fchmodat")),
            "{dump}"
        );
    }
}

/// `close` and `close_range` are in the default set (replay's descriptor
/// table needs them), with the descriptor and the range's arguments; and a
/// recording directory's missing parents are created private (0700), as
/// the recording itself is.
#[test]
fn closes_are_recorded_by_default_into_private_parents() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::AtomicBool;
    if !can_record("closes_are_recorded_by_default_into_private_parents") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("a/b/rec");
    let script = "exec 7</etc/hostname; exec 7<&-; \
                  python3 -c 'import os; os.closerange(40, 42)'";
    let opts = hindsight_recorder::RecordOptions::new(
        out.clone(),
        hindsight_recorder::Target::Command(vec!["sh".into(), "-c".into(), script.into()]),
    );
    static NEVER: AtomicBool = AtomicBool::new(false);
    hindsight_recorder::record(&opts, &NEVER, |_, _| {}).expect("record");
    for d in [dir.path().join("a"), dir.path().join("a/b"), out.clone()] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "{}: {mode:o}", d.display());
    }
    let (events, _) = common::read_events(&out);
    let closes: Vec<&Event> = events
        .iter()
        .filter(|e| e.syscall.as_deref() == Some("close") && e.fd == Some(7))
        .collect();
    assert!(
        closes.iter().any(|e| e.ret == Some(0)),
        "no close of fd 7 in {:?}",
        events
            .iter()
            .filter_map(|e| e.syscall.as_deref())
            .collect::<Vec<_>>()
    );
    // CPython closes a range with close_range(2) where the kernel has it
    // (5.9 on); its `high` is exclusive.
    let ranges: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.syscall.as_deref() == Some("close_range")
                && e.syscall_args.as_deref() == Some("first=40 last=41 flags=0x0")
        })
        .collect();
    assert_eq!(ranges.len(), 1, "one close_range(40, 41, 0) row");
}

/// `pipe`, `pipe2` and `socketpair` are recorded by default with the two
/// descriptors they returned (read back at exit from the array the kernel
/// filled) and the first one's object, so that replay's descriptor table
/// knows them. The program writes the numbers it got (the ground truth).
#[test]
fn descriptor_pairs_are_recorded_with_their_numbers() {
    if !can_record("descriptor_pairs_are_recorded_with_their_numbers") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = dir.path().join("fds");
    let program = "import ctypes, os, socket, sys\n\
                   libc = ctypes.CDLL(None, use_errno=True)\n\
                   fds = (ctypes.c_int * 2)()\n\
                   assert libc.syscall(22, fds) == 0\n\
                   r, w = os.pipe()\n\
                   a, b = socket.socketpair()\n\
                   open(sys.argv[1], 'w').write(f'{fds[0]} {fds[1]} {r} {w} {a.fileno()} {b.fileno()}')\n";
    let rec = record(&["python3", "-c", program, truth.to_str().unwrap()]);
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    let fds: Vec<i32> = std::fs::read_to_string(&truth)
        .expect("the program's descriptors")
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let events = &rec.events;
    let row = |call: &str, fd0: i32, fd1: i32| {
        let want = format!("fd0={fd0} fd1={fd1}");
        events
            .iter()
            .find(|e| {
                e.syscall.as_deref() == Some(call)
                    && e.syscall_args
                        .as_deref()
                        .is_some_and(|a| a.ends_with(&want))
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {call} row with {want} in {:?}",
                    events
                        .iter()
                        .filter(|e| e.syscall.as_deref() == Some(call))
                        .map(|e| &e.syscall_args)
                        .collect::<Vec<_>>()
                )
            })
    };
    for (call, fd0, fd1, kind) in [
        ("pipe", fds[0], fds[1], "pipe"),
        ("pipe2", fds[2], fds[3], "pipe"),
        ("socketpair", fds[4], fds[5], "unix"),
    ] {
        let e = row(call, fd0, fd1);
        assert_eq!(e.ret, Some(0), "{call}");
        assert_eq!(e.fd, Some(fd0), "{call}");
        assert_eq!(e.fd_type.as_deref(), Some(kind), "{call}");
        assert_eq!(e.toctou_mismatch, Some(false), "{call}");
        let prefix = if kind == "pipe" { "pipe:[" } else { "socket:[" };
        assert!(
            e.file_path
                .as_deref()
                .is_some_and(|p| p.starts_with(prefix)),
            "{call}: {:?}",
            e.file_path
        );
    }
    // Python's os.pipe() asks for close-on-exec descriptors.
    assert!(
        row("pipe2", fds[2], fds[3])
            .syscall_args
            .as_deref()
            .is_some_and(|a| a.starts_with("flags=O_CLOEXEC ")),
    );
}

/// `fcntl(F_SETFD)` is recorded (close-on-exec set after a descriptor was
/// made, which replay's descriptor table follows); `F_GETFD` and `F_SETFL`
/// stay filtered out in the kernel.
#[test]
fn fcntl_setfd_is_recorded_and_other_commands_are_not() {
    if !can_record("fcntl_setfd_is_recorded_and_other_commands_are_not") {
        return;
    }
    let program = "import fcntl, os\n\
                   fd = os.open('/etc/hostname', os.O_RDONLY)\n\
                   os.dup2(fd, 47)\n\
                   fcntl.fcntl(47, fcntl.F_SETFD, fcntl.FD_CLOEXEC)\n\
                   fcntl.fcntl(47, fcntl.F_GETFD)\n\
                   fcntl.fcntl(47, fcntl.F_SETFL, os.O_NONBLOCK)\n";
    let rec = record(&["python3", "-c", program]);
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    let on_47: Vec<&str> = rec
        .events
        .iter()
        .filter(|e| e.syscall.as_deref() == Some("fcntl") && e.fd == Some(47))
        .filter_map(|e| e.syscall_args.as_deref())
        .collect();
    assert_eq!(on_47, ["fd=47 cmd=F_SETFD arg=1"]);
}

/// The calls that copy between descriptors, enabled like `read`, name the
/// file behind their first argument (coreutils 9 copies with
/// `copy_file_range`, not `read`/`write`: the source; `sendfile`: the
/// destination), and the other descriptor's number.
#[test]
fn copy_calls_name_their_descriptors_file() {
    if !can_record("copy_calls_name_their_descriptors_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("copy-src");
    std::fs::write(&src, "hindsight\n").unwrap();
    let program = format!(
        "import os\n\
         a = os.open('{src}', os.O_RDONLY)\n\
         b = os.open('{dst}', os.O_WRONLY | os.O_CREAT, 0o600)\n\
         assert os.copy_file_range(a, b, 10) == 10\n\
         os.lseek(a, 0, 0)\n\
         c = os.open('{out}', os.O_WRONLY | os.O_CREAT, 0o600)\n\
         assert os.sendfile(c, a, None, 10) == 10\n",
        src = src.display(),
        dst = dir.path().join("copy-dst").display(),
        out = dir.path().join("sent").display(),
    );
    let rec = common::record_with(
        &["python3", "-c", &program],
        "+copy_file_range,+sendfile",
        16 << 20,
    );
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    let copy = rec.sys("copy_file_range");
    assert_eq!(copy.len(), 1, "{}", rec.dump());
    assert_eq!(copy[0].ret, Some(10));
    assert_eq!(
        copy[0].file_path.as_deref(),
        Some(src.canonicalize().unwrap().to_str().unwrap())
    );
    let (a, b) = (copy[0].fd.unwrap(), copy[0].fd.unwrap() + 1);
    assert_eq!(
        copy[0].syscall_args.as_deref(),
        Some(&*format!("fd_in={a} fd_out={b}"))
    );
    let sent = rec.sys("sendfile");
    assert_eq!(sent.len(), 1, "{}", rec.dump());
    assert_eq!(sent[0].ret, Some(10));
    let out = dir.path().canonicalize().unwrap().join("sent");
    assert_eq!(sent[0].file_path.as_deref(), out.to_str());
    assert_eq!(
        sent[0].syscall_args.as_deref(),
        Some(&*format!("out_fd={} in_fd={a}", b + 1))
    );
}
