//! Rows compared with ground truth: a C program (`ground_truth.c`, compiled
//! with `cc` here) makes calls whose kernel object is known, and every row
//! must name that object, the user value and the verdict. Root only.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Rec, can_record, record};
use hindsight_format::{Event, EventKind};

/// Compiles `ground_truth.c` into `dir`.
fn compile(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ground_truth.c");
    let bin = dir.join("ground_truth");
    let o = Command::new("cc")
        .args(["-O0", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) is needed for this test");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    bin
}

/// Records the ground-truth program's `mode` working in a fresh directory:
/// the tempdir holding it (kept alive by the caller), its path, the rows.
fn run_in_workdir(mode: &str) -> (tempfile::TempDir, String, Rec) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = compile(tmp.path());
    let work = tmp.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let w = work.to_str().unwrap().to_string();
    let rec = record(&[bin.to_str().unwrap(), mode, &w]);
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    (tmp, w, rec)
}

/// The one successful row of `syscall` whose user path is `user`.
fn row<'a>(rec: &'a Rec, syscall: &str, user: &str) -> &'a Event {
    let rows: Vec<_> = rec
        .sys(syscall)
        .into_iter()
        .filter(|e| e.file_path_user.as_deref() == Some(user))
        .collect();
    assert_eq!(rows.len(), 1, "{syscall} {user}:\n{}", rec.dump());
    rows[0]
}

/// The row of the open that created `leaf` (its kernel path ends with it).
fn open_of<'a>(rec: &'a Rec, leaf: &str) -> &'a Event {
    rec.sys("openat")
        .into_iter()
        .find(|e| e.file_path.as_deref().is_some_and(|p| p.ends_with(leaf)))
        .unwrap_or_else(|| panic!("no open of {leaf}:\n{}", rec.dump()))
}

#[test]
fn paths_name_the_kernels_objects() {
    if !can_record("paths_name_the_kernels_objects") {
        return;
    }
    let (_tmp, w, rec) = run_in_workdir("paths");
    let work = PathBuf::from(&w);
    let w = w.as_str();
    let pair = |e: &Event| {
        (
            e.file_path.clone().unwrap_or_default(),
            e.file_target_path.clone().unwrap_or_default(),
            e.kernel_source.clone().unwrap_or_default(),
            e.toctou_mismatch,
        )
    };
    let names = |a: &str, b: &str| {
        (
            a.to_string(),
            b.to_string(),
            "names_cache".to_string(),
            Some(false),
        )
    };
    // Each second path is relative to its own (new) dirfd.
    assert_eq!(
        pair(row(&rec, "renameat", "a")),
        names(&format!("{w}/d1/a"), &format!("{w}/d2/b"))
    );
    assert_eq!(
        pair(row(&rec, "linkat", "b")),
        names(&format!("{w}/d2/b"), &format!("{w}/d1/hard"))
    );
    assert_eq!(
        pair(row(&rec, "symlinkat", "b")),
        names("b", &format!("{w}/d2/sym"))
    );
    assert_eq!(
        pair(row(&rec, "renameat2", "hard")),
        names(&format!("{w}/d1/hard"), &format!("{w}/d2/hard2"))
    );
    // `..` after a symlink is not collapsed into `w/victim` (another file,
    // which still exists): the path stays as the process named it.
    for call in ["chmod", "unlink"] {
        let e = row(&rec, call, "ls/../victim");
        assert_eq!(
            e.file_path.as_deref(),
            Some(format!("{w}/ls/../victim").as_str())
        );
        assert_eq!(e.toctou_mismatch, Some(false));
    }
    assert!(work.join("victim").exists());
    assert!(!work.join("real/victim").exists());
    // chdir: the directory the kernel moved to, and the cwd of what follows.
    let cd = row(&rec, "chdir", "d1");
    assert_eq!(cd.file_path.as_deref(), Some(format!("{w}/d1").as_str()));
    let in_d1 = format!("{w}/d1");
    assert_eq!(
        open_of(&rec, "/in-d1").process_cwd.as_deref(),
        Some(in_d1.as_str())
    );
    let in_d2 = format!("{w}/d2");
    assert_eq!(
        open_of(&rec, "/in-d2").process_cwd.as_deref(),
        Some(in_d2.as_str())
    );
    let up = row(&rec, "chdir", "../ls/..");
    let real = format!("{w}/real");
    assert_eq!(up.file_path.as_deref(), Some(real.as_str()));
    let in_real = open_of(&rec, "/in-real");
    assert_eq!(
        in_real.file_path.as_deref(),
        Some(format!("{real}/in-real").as_str())
    );
    assert_eq!(in_real.process_cwd.as_deref(), Some(real.as_str()));
    // A base cut short starts with `...`, not `/...`.
    let deep = row(&rec, "unlink", "deep.txt");
    let p = deep.file_path.as_deref().unwrap();
    assert!(p.starts_with(".../") && p.ends_with("/deep.txt"), "{p}");
    assert_eq!(deep.file_path_truncated, Some(true));
    // The processes view's cwd comes from these rows too.
    let exit = rec.kind(EventKind::ProcessExit);
    assert!(
        exit.iter().any(|e| e
            .process_cwd
            .as_deref()
            .is_some_and(|c| c.starts_with("..."))),
        "{}",
        rec.dump()
    );
}

#[test]
fn calls_and_arguments_are_whole() {
    if !can_record("calls_and_arguments_are_whole") {
        return;
    }
    let (_tmp, w, rec) = run_in_workdir("calls");
    let work = PathBuf::from(&w);
    let w = w.as_str();
    // fcntl's dup commands are recorded, the others are not.
    let dups: Vec<_> = rec
        .sys("fcntl")
        .into_iter()
        .map(|e| {
            (
                e.ret,
                e.syscall_args.clone().unwrap_or_default(),
                e.file_path.clone(),
            )
        })
        .collect();
    let f = Some(format!("{w}/f"));
    assert_eq!(
        dups,
        [
            (
                Some(30),
                "fd=3 cmd=F_DUPFD_CLOEXEC arg=30".to_string(),
                f.clone()
            ),
            (Some(40), "fd=3 cmd=F_DUPFD arg=40".to_string(), f.clone()),
        ],
        "{}",
        rec.dump()
    );
    // openat2's resolve flags, and its open flags although it failed.
    let o2 = row(&rec, "openat2", "fl");
    assert_eq!(o2.ret, Some(-40), "ELOOP");
    assert_eq!(o2.file_flags.as_deref(), Some("O_RDONLY"));
    assert_eq!(
        o2.syscall_args.as_deref(),
        Some("dirfd=-100 resolve=RESOLVE_NO_SYMLINKS")
    );
    assert_eq!(o2.file_path.as_deref(), Some(format!("{w}/fl").as_str()));
    // A failed exec has the name the kernel tried.
    for (user, ret) in [("./nonexist-bin", -2), ("f", -13)] {
        let e = row(&rec, "execve", user);
        assert_eq!(e.ret, Some(ret));
        let want = format!("{w}/{}", user.trim_start_matches("./"));
        assert_eq!(e.file_path.as_deref(), Some(want.as_str()));
        assert_eq!(e.kernel_source.as_deref(), Some("names_cache"));
        assert_eq!(e.toctou_mismatch, Some(false));
    }
    // An unreadable second path has no value (not '').
    let bad = row(&rec, "rename", "f");
    assert_eq!(bad.ret, Some(-14));
    assert_eq!(bad.file_target_path_user, None, "{}", rec.dump());
    // O_TMPFILE by name.
    let tmpfile = rec
        .sys("openat")
        .into_iter()
        .find(|e| e.file_path_user.as_deref() == Some("."))
        .unwrap();
    assert_eq!(tmpfile.file_flags.as_deref(), Some("O_RDWR|O_TMPFILE"));
    // linkat(fd, "", ..., AT_EMPTY_PATH): the object is the descriptor's file.
    use std::os::unix::fs::MetadataExt;
    let linked = std::fs::metadata(work.join("linked")).unwrap();
    let link = rec
        .sys("linkat")
        .into_iter()
        .find(|e| e.file_target_path_user.as_deref() == Some("linked"))
        .unwrap_or_else(|| panic!("no linkat:\n{}", rec.dump()));
    assert_eq!(link.ret, Some(0));
    assert_eq!(link.file_inode, Some(linked.ino()), "{}", rec.dump());
    assert_eq!(link.file_device, Some(linked.dev()));
    assert!(link.file_path.as_deref().is_some_and(|p| p.starts_with(w)));
    assert_eq!(
        link.file_target_path.as_deref(),
        Some(format!("{w}/linked").as_str())
    );
    assert_eq!(link.toctou_mismatch, Some(false));
    // A socket duplicated by dup2 is still a socket of its family.
    let dup2 = rec
        .sys("dup2")
        .into_iter()
        .find(|e| e.ret == Some(50))
        .unwrap_or_else(|| panic!("no dup2:\n{}", rec.dump()));
    assert_eq!(dup2.fd_type.as_deref(), Some("ipv4"), "{}", rec.dump());
    assert_eq!(dup2.network_family.as_deref(), Some("AF_INET"));
    assert!(
        dup2.file_path
            .as_deref()
            .is_some_and(|p| p.starts_with("socket:["))
    );
    // AF_UNIX: the kernel's name of the socket bound and connected to.
    let sock = format!("{w}/u.sock");
    for call in ["bind", "connect"] {
        let e = rec
            .sys(call)
            .into_iter()
            .find(|e| e.network_family.as_deref() == Some("AF_UNIX"))
            .unwrap_or_else(|| panic!("no AF_UNIX {call}:\n{}", rec.dump()));
        assert_eq!(e.ret, Some(0));
        assert_eq!(e.destination_addr_user.as_deref(), Some(sock.as_str()));
        assert_eq!(e.destination_ip.as_deref(), Some(sock.as_str()), "{call}");
        assert_eq!(e.kernel_source.as_deref(), Some("sys_exit_sock"));
        assert_eq!(e.toctou_mismatch, Some(false), "{call}");
    }
    let via_link = rec
        .sys("connect")
        .into_iter()
        .find(|e| e.destination_addr_user.as_deref() == Some("ul.sock"))
        .unwrap_or_else(|| panic!("no connect to ul.sock:\n{}", rec.dump()));
    assert_eq!(via_link.destination_ip.as_deref(), Some(sock.as_str()));
    assert_eq!(via_link.toctou_mismatch, Some(false));
    // An abstract name, `@NAME` on both sides.
    for call in ["bind", "connect"] {
        let e = rec
            .sys(call)
            .into_iter()
            .find(|e| e.destination_ip.as_deref() == Some("@hs-ground-truth"))
            .unwrap_or_else(|| panic!("no abstract {call}:\n{}", rec.dump()));
        assert_eq!(e.destination_addr_user.as_deref(), Some("@hs-ground-truth"));
        assert_eq!(e.toctou_mismatch, Some(false), "{call}");
    }
    // memfd_create: the file behind the returned descriptor.
    let memfd = rec.sys("memfd_create");
    assert_eq!(memfd.len(), 1, "{}", rec.dump());
    assert_eq!(memfd[0].file_path.as_deref(), Some("memfd:hs-evil"));
    assert_eq!(memfd[0].fd_type.as_deref(), Some("memfd"));
    assert_eq!(memfd[0].fd, memfd[0].ret.map(|r| r as i32));
    // Bytes that are not UTF-8 are escaped, not replaced.
    let odd = row(&rec, "unlink", "n\\xff\\xfe.txt");
    assert_eq!(
        odd.file_path.as_deref(),
        Some(format!("{w}/n\\xff\\xfe.txt").as_str())
    );
    assert!(
        rec.events
            .iter()
            .all(|e| !e.file_path.as_deref().unwrap_or("").contains('\u{fffd}')),
        "{}",
        rec.dump()
    );
    // A user path cut at 255 bytes: its whole entry copy, kept in the
    // kernel, equals the kernel's copy.
    let long: Vec<_> = rec
        .sys("unlink")
        .into_iter()
        .filter(|e| {
            e.file_path_user
                .as_deref()
                .is_some_and(|u| u.starts_with("yyy"))
        })
        .collect();
    assert_eq!(long.len(), 1, "{}", rec.dump());
    assert_eq!(long[0].file_path_truncated, Some(true));
    assert_eq!(long[0].toctou_mismatch, Some(false), "{}", rec.dump());
    assert_eq!(long[0].kernel_source.as_deref(), Some("names_cache"));
    // rmdir by unlinkat says so.
    let rmdir = row(&rec, "unlinkat", "sub");
    assert!(
        rmdir
            .syscall_args
            .as_deref()
            .is_some_and(|a| a.ends_with("flags=AT_REMOVEDIR")),
        "{:?}",
        rmdir.syscall_args
    );
}

#[test]
fn exec_from_a_thread_keeps_its_row() {
    if !can_record("exec_from_a_thread_keeps_its_row") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = compile(tmp.path());
    let rec = record(&[bin.to_str().unwrap(), "thread"]);
    assert_eq!(rec.summary.exit_code, Some(0), "{}", rec.dump());
    let execs: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.file_path.as_deref() == Some("/usr/bin/true"))
        .map(|e| (e.event_kind, e.ret))
        .collect();
    assert_eq!(
        execs,
        [
            (EventKind::ProcessExec, None),
            (EventKind::Syscall, Some(0))
        ],
        "{}",
        rec.dump()
    );
}

#[test]
fn the_command_is_recorded_from_its_exec() {
    if !can_record("the_command_is_recorded_from_its_exec") {
        return;
    }
    // `true` is found by execvp's PATH search (failed execs first) in the
    // recorder's child, which also waits on the release pipe: none of that
    // is the command's.
    let rec = common::record_with(&["true"], "all", 16 << 20);
    assert_eq!(rec.summary.exit_code, Some(0));
    let first = &rec.events[0];
    assert_eq!(first.event_kind, EventKind::ProcessExec, "{}", rec.dump());
    assert!(
        rec.events
            .iter()
            .all(|e| !(e.syscall.as_deref() == Some("execve") && e.ret.is_some_and(|r| r < 0))),
        "{}",
        rec.dump()
    );
    let execve = &rec.events[1];
    assert_eq!(
        (execve.syscall.as_deref(), execve.ret),
        (Some("execve"), Some(0))
    );
    assert_eq!(execve.process_executable.as_deref(), Some("/usr/bin/true"));
}

#[test]
fn ignore_prefix_keeps_paths_that_climb_out_of_it() {
    if !can_record("ignore_prefix_keeps_paths_that_climb_out_of_it") {
        return;
    }
    // `/proc/../DIR/x` is DIR/x: kept as named (`..` is not collapsed), it
    // must not be dropped as if it were under /proc/.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    let script = format!("touch {d}/x && rm /proc/..{d}/x");
    let rec = common::record_opts(&["/bin/sh", "-c", &script], |o| {
        o.ignore_prefixes = vec!["/proc/".to_string()];
    });
    let user = format!("/proc/..{d}/x");
    let rows: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.file_path_user.as_deref() == Some(user.as_str()))
        .collect();
    assert_eq!(rows.len(), 1, "{}", rec.dump());
    assert_eq!(rows[0].ret, Some(0));
    assert_eq!(rows[0].file_path.as_deref(), Some(user.as_str()));
}

#[test]
fn argv_keeps_its_backslashes() {
    if !can_record("argv_keeps_its_backslashes") {
        return;
    }
    // Only paths double a backslash (format.md); argv is as written.
    let rec = record(&["/bin/echo", r"s/a\.b/", "n\u{e9}"]);
    let exec = rec
        .kind(EventKind::ProcessExec)
        .into_iter()
        .find(|e| e.process_name.as_deref() == Some("echo"))
        .unwrap_or_else(|| panic!("no exec:\n{}", rec.dump()));
    assert_eq!(
        exec.process_args.as_deref(),
        Some(
            &[
                "/bin/echo".to_string(),
                r"s/a\.b/".to_string(),
                "n\u{e9}".to_string()
            ][..]
        )
    );
}

/// `pipe2` while another thread rewrites the array the kernel fills (with
/// an older pipe's read end and a socket): the numbers the recorder reads
/// back at exit are flagged exactly when they are not what the call
/// returned, so replay can never be told the socket is a pipe.
#[test]
fn rewritten_pipe_numbers_are_flagged() {
    if !can_record("rewritten_pipe_numbers_are_flagged") {
        return;
    }
    let (_tmp, w, rec) = run_in_workdir("pipes");
    let truth: Vec<Vec<i32>> = std::fs::read_to_string(Path::new(&w).join("pipes"))
        .expect("the program's log")
        .lines()
        .map(|l| l.split(' ').map(|n| n.parse().unwrap()).collect())
        .collect();
    let rows = rec.sys("pipe2");
    assert_eq!(rows.len(), truth.len(), "{}", rec.dump());
    let mut rewritten = 0;
    for (row, t) in rows.iter().zip(&truth) {
        let args = row.syscall_args.as_deref().unwrap_or("");
        let fd = |k: &str| -> i32 {
            args.split(' ')
                .find_map(|kv| kv.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {args:?}"))
        };
        let genuine = (fd("fd0="), fd("fd1=")) == (t[0], t[1]);
        assert_eq!(
            row.toctou_mismatch,
            Some(!genuine),
            "{args:?}, returned {} {}",
            t[0],
            t[1]
        );
        rewritten += usize::from(!genuine);
    }
    eprintln!(
        "{rewritten} of {} calls' numbers were rewritten before the recorder read them",
        rows.len()
    );
    // With a second CPU the racer, pinned there, wins most races (about
    // 97 % here; the program goes on until it has seen 20).
    if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
        assert!(rewritten > 0, "the racer never won: the test saw no attack");
    }
}
