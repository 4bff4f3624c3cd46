//! Decoder unit tests: records shaped like the kernel programs'.

use super::*;
use hindsight_recorder_common::WireEvent;

fn record(kind: u32, nr: u32, flags: u32, sections: &[(usize, &[u8])]) -> Vec<u8> {
    record_with(kind, nr, flags, sections, |_| {})
}

fn record_with(
    kind: u32,
    nr: u32,
    flags: u32,
    sections: &[(usize, &[u8])],
    tweak: impl Fn(&mut WireHeader),
) -> Vec<u8> {
    // SAFETY: WireHeader is plain old data; all zeroes is a valid value.
    let mut h: WireHeader = unsafe { std::mem::zeroed() };
    h.kind = kind;
    h.flags = flags;
    h.syscall_nr = nr;
    h.ts_enter = 1000;
    h.ts_exit = 1700;
    h.tgid = std::process::id();
    h.tid = h.tgid;
    h.ppid = 1;
    h.child_tgid = h.tgid;
    h.comm[..4].copy_from_slice(b"test");
    h.loginuid = u32::MAX;
    let len = sections
        .iter()
        .map(|(o, b)| o + b.len())
        .max()
        .unwrap_or(0)
        .max(size_of::<WireHeader>())
        .min(size_of::<WireEvent>());
    let used = |off: usize| {
        sections
            .iter()
            .find(|(o, _)| *o == off)
            .map_or(0, |(_, b)| b.len() as u32)
    };
    h.kpath_len = used(OFF_KPATH);
    h.kpath2_len = used(OFF_KPATH2);
    h.aux_len = used(OFF_AUX);
    tweak(&mut h);
    let mut rec = vec![0u8; len];
    h.len = len as u32;
    // SAFETY: `rec` holds at least a WireHeader's bytes.
    unsafe { std::ptr::write_unaligned(rec.as_mut_ptr().cast(), h) };
    for (off, b) in sections {
        rec[*off..off + b.len()].copy_from_slice(b);
    }
    rec
}

#[test]
fn decode_into_pushes_the_rows_decode_returns() {
    let recs = [
        record(KIND_SYSCALL, 110, 0, &[]),
        record(
            KIND_SYSCALL,
            257,
            F_USER_PATH | F_KPATH_WALK | F_KPATH_COMPLETE | F_FILE,
            &[
                (OFF_USER_PATH, b"/etc/hostname\0"),
                (OFF_KPATH, b"hostname\0etc\0"),
            ],
        ),
        record(KIND_FORK, u32::MAX, 0, &[]),
        record(KIND_EXIT, u32::MAX, 0, &[]),
        record(KIND_SYSCALL, 110, 0, &[]),
        // An exec with argv and cwd, then a fork into a process the
        // table does not know (it inherits the parent's context), a
        // syscall and the exit of that child.
        record(
            KIND_EXEC,
            59,
            F_KPATH_WALK | F_KPATH_COMPLETE | F_KPATH2_WALK | F_KPATH2_COMPLETE | F_AUX,
            &[
                (OFF_KPATH, b"true\0bin\0usr\0"),
                (OFF_KPATH2, b"tmp\0"),
                (OFF_AUX, b"true\0--version\0"),
            ],
        ),
        record_with(KIND_FORK, u32::MAX, 0, &[], |h| h.child_tgid = 999_999_999),
        record_with(KIND_SYSCALL, 110, 0, &[], |h| h.tgid = 999_999_999),
        record_with(KIND_EXIT, u32::MAX, 0, &[], |h| h.tgid = 999_999_999),
    ];
    let host = HostInfo {
        host_name: "h".into(),
        boot_id: "b".into(),
        monotonic_to_wall_ns: 0,
        users: [(0, "root".to_string())].into_iter().collect(),
    };
    let mut slow = Decoder::new(host.clone(), Vec::new());
    let mut fast = Decoder::new(host, Vec::new());
    let mut events = Vec::new();
    let mut rows = EventBatchBuilder::with_capacity(recs.len());
    for (seq, r) in recs.iter().enumerate() {
        let mut e = slow.decode(r).unwrap().unwrap();
        e.seq = seq as u64;
        events.push(e);
        assert!(fast.decode_into(r, seq as u64, &mut rows).unwrap());
    }
    assert_eq!(events[1].file_path.as_deref(), Some("/etc/hostname"));
    assert_eq!(events[0].syscall.as_deref(), Some("getppid"));
    assert_eq!(events[0].process_name.as_deref(), Some("test"));
    assert!(events[0].process_command_line.is_some());
    assert_eq!(
        events[5].process_command_line.as_deref(),
        Some("true --version")
    );
    assert_eq!(events[6].process_pid, 999_999_999);
    assert_eq!(
        events[6].process_executable.as_deref(),
        Some("/usr/bin/true")
    );
    assert_eq!(events[7].process_cwd.as_deref(), Some("/tmp"));
    assert_eq!(events[8].process_args, events[5].process_args);
    assert_eq!(rows.finish(), hindsight_format::events_to_batch(&events));
}

#[test]
fn decode_into_drops_ignored_rows_like_decode() {
    let open = record(
        KIND_SYSCALL,
        257,
        F_USER_PATH | F_KPATH_WALK | F_KPATH_COMPLETE | F_FILE,
        &[
            (OFF_USER_PATH, b"/etc/hostname\0"),
            (OFF_KPATH, b"hostname\0etc\0"),
        ],
    );
    let ignore = vec!["/etc/".to_string()];
    let mut slow = Decoder::new(HostInfo::default(), ignore.clone());
    let mut fast = Decoder::new(HostInfo::default(), ignore);
    let mut rows = EventBatchBuilder::with_capacity(1);
    assert!(slow.decode(&open).unwrap().is_none());
    assert!(!fast.decode_into(&open, 0, &mut rows).unwrap());
    assert!(rows.is_empty());
    assert_eq!((slow.ignored, fast.ignored), (1, 1));
}

#[test]
fn names_that_are_not_utf8_stay_distinct() {
    assert_eq!(escape_bytes(b"/tmp/plain"), "/tmp/plain");
    assert_eq!(escape_bytes(b"/tmp/\xc3\xa9"), "/tmp/\u{e9}");
    assert_eq!(escape_bytes(b"n\xff\xfe.txt"), "n\\xff\\xfe.txt");
    assert_ne!(escape_bytes(b"n\xff"), escape_bytes(b"n\xfe"));
    // A literal backslash cannot pass for an escape.
    assert_eq!(escape_bytes(b"n\\xff"), "n\\\\xff");
    assert_ne!(escape_bytes(b"n\\xff"), escape_bytes(b"n\xff"));
    assert_eq!(join_walk(b"\xff\0tmp\0"), "/tmp/\\xff");
    // argv and comm keep backslashes as written.
    assert_eq!(escape_invalid(b"s/a\\.b/\xff"), "s/a\\.b/\\xff");
}

#[test]
fn walk_components_join_leaf_first() {
    assert_eq!(join_walk(b"file\0tmp\0"), "/tmp/file");
    assert_eq!(join_walk(b""), "/");
}

#[test]
fn absolutize_fast_path_agrees_with_components() {
    let names = [
        "",
        "/",
        "//",
        "a",
        "a/",
        "a//b",
        "./a",
        "a/.",
        "a/./b",
        "../a",
        "a/..",
        "a/../b",
        "/a",
        "/a/",
        "/a//b",
        "/a/./b",
        "/a/../b",
        "/a/.",
        "/a/..",
        "/.a/..b/...",
        ".",
        "..",
        "/.",
        "/..",
        "a b/c",
        "/tmp/x.py",
        "é/ü",
    ];
    let bases = [
        None,
        Some("/"),
        Some("/tmp"),
        Some("/tmp/"),
        Some("/a/../b"),
        Some("rel"),
        Some("/a//b"),
        Some("..."),
    ];
    for u in names {
        for b in bases {
            assert_eq!(absolutize(u, b), resolve_components(u, b), "{u:?} {b:?}");
        }
    }
}

#[test]
fn absolutize_resolves_dotdot_only_against_the_kernels_base() {
    // `..` after a component the process named may cross a symlink:
    // kept as named, never collapsed into another existing file.
    assert_eq!(absolutize("a/../b//c", Some("/tmp")), "/tmp/a/../b/c");
    assert_eq!(absolutize("ls/../victim", Some("/w2")), "/w2/ls/../victim");
    assert_eq!(absolutize("/x/./y", None), "/x/y");
    assert_eq!(absolutize("/x/../y", None), "/x/../y");
    // Against the walked base (no symlinks in it) it is exact.
    assert_eq!(absolutize("../../..", Some("/a")), "/");
    assert_eq!(absolutize("../d2/./b", Some("/w/d1")), "/w/d2/b");
    assert_eq!(absolutize("/../etc", None), "/etc");
    // A base cut short keeps its leading `...` (no `/` before it).
    assert_eq!(absolutize("deep.txt", Some(".../x/y")), ".../x/y/deep.txt");
    assert_eq!(absolutize("../../../z", Some(".../x/y")), ".../../z");
}

#[test]
fn proc_self_resolves_to_the_process_not_the_decoder() {
    assert_eq!(
        resolve_proc_self("/proc/self/status", 42, 43),
        "/proc/42/status"
    );
    assert_eq!(resolve_proc_self("/proc/self", 42, 43), "/proc/42");
    assert_eq!(
        resolve_proc_self("/proc/thread-self/comm", 42, 43),
        "/proc/42/task/43/comm"
    );
    assert_eq!(
        resolve_proc_self("/proc/selfish/x", 42, 43),
        "/proc/selfish/x"
    );
    assert_eq!(resolve_proc_self("/etc/passwd", 42, 43), "/etc/passwd");
    // The decoder's own /proc/self/status is another inode: had it been
    // resolved in the decoder, this would be a mismatch.
    let me = std::process::id() as i32;
    let user = resolve_proc_self("/proc/self/status", me, me);
    let m = std::fs::metadata(format!("/proc/{me}/status")).unwrap();
    assert!(same_object(
        &user,
        &format!("/proc/{me}/status"),
        m.ino(),
        m.dev(),
        false,
    ));
}

#[test]
fn descriptor_links_are_not_second_names() {
    for p in [
        "/dev/fd/3",
        "/dev/stdin",
        "/proc/self/fd/7",
        "/proc/thread-self/fd/7",
        "/proc/42/fd/0",
        "/proc/42/task/43/fd/1",
    ] {
        assert!(via_fd_link(p), "{p}");
    }
    for p in [
        "/proc/self/status",
        "/proc/42/fdinfo/1",
        "/proc/self/fd",
        "/dev/fdx/1",
    ] {
        assert!(!via_fd_link(p), "{p}");
    }
}

#[test]
fn pseudo_files_are_named_like_proc_fd() {
    assert_eq!(
        pseudo_name(b"memfd:hindsight-demo\0", 0o100777, 9),
        "memfd:hindsight-demo"
    );
    assert_eq!(
        pseudo_name(b"[eventfd]\0", 0o600, 9),
        "anon_inode:[eventfd]"
    );
    assert_eq!(pseudo_name(b"\0", 0o010600, 9), "pipe:[9]");
    assert_eq!(pseudo_name(b"TCP\0", 0o140777, 9), "socket:[9]");
    assert_eq!(fd_type(0o100777, Some("memfd:x"), None), "memfd");
}

#[test]
fn dev_encoding_matches_stat() {
    // 8:1 (sda1) in the kernel's internal encoding.
    assert_eq!(user_dev((8 << 20) | 1), libc::makedev(8, 1));
    let m = std::fs::metadata("/").unwrap();
    let kdev = ((libc::major(m.dev())) << 20) | libc::minor(m.dev());
    assert_eq!(user_dev(kdev), m.dev());
}

#[test]
fn tty_numbers_as_proc_stat_shows_them() {
    // /dev/pts/0 (136:0), /dev/tty1 (4:1), /dev/pts/300 (a minor above 255).
    assert_eq!(tty_nr(136 << 20), 136 << 8);
    assert_eq!(tty_nr((4 << 20) | 1), 1025);
    // /dev/pts/300: minor 300 = 0x12c, its low byte 0x2c in bits 0-7 and
    // 0x100 from bit 12 on.
    assert_eq!(tty_nr((136 << 20) | 300), 1_083_436);
    assert_eq!(tty_nr(0), 0);
}

#[test]
fn execveat_names_follow_the_descriptor() {
    use super::exec::fd_relative_name;
    assert_eq!(fd_relative_name("/dev/fd/3/true", 3), Some("true"));
    assert_eq!(fd_relative_name("/dev/fd/12/bin/x y", 12), Some("bin/x y"));
    assert_eq!(fd_relative_name("/dev/fd/3", 3), Some(""));
    // Another descriptor's directory: a swapped absolute name, not ours.
    assert_eq!(fd_relative_name("/dev/fd/4/true", 3), None);
    assert_eq!(fd_relative_name("/dev/fd/", 3), None);
    assert_eq!(fd_relative_name("/dev/fd/x/true", 3), None);
    assert_eq!(fd_relative_name("/dev/fd/3x", 3), None);
    assert_eq!(fd_relative_name("/usr/bin/true", 3), None);
}

/// pipe2 and socketpair rows carry both descriptors in their arguments,
/// and say whether the kernel found one pair's two ends behind them: the
/// numbers are read back from user memory, which a racing thread can
/// rewrite after the kernel filled it.
#[test]
fn descriptor_pairs_are_trusted_only_when_the_kernel_found_the_pair() {
    let pair = |nr: u32, args: [u64; 6], i_mode: u32, same: bool| {
        let flags = F_FD_PAIR
            | F_FILE
            | F_KPATH_WALK
            | F_KPATH_PSEUDO
            | if same { F_FD_PAIR_SAME } else { 0 };
        let rec = record_with(KIND_SYSCALL, nr, flags, &[(OFF_KPATH, b"\0")], |h| {
            h.args = args;
            h.aux_int = 5;
            h.child_tgid = 6;
            h.i_mode = i_mode;
            h.ino = 77;
        });
        Decoder::new(HostInfo::default(), Vec::new())
            .decode(&rec)
            .unwrap()
            .expect("a row")
    };
    // pipe2(fds, O_CLOEXEC): a pipe on fds 5 and 6.
    let e = pair(293, [0x7fff_0000, 0o2000000, 0, 0, 0, 0], 0o010600, true);
    assert_eq!(
        e.syscall_args.as_deref(),
        Some("flags=O_CLOEXEC fd0=5 fd1=6")
    );
    assert_eq!(e.fd, Some(5));
    assert_eq!(e.fd_type.as_deref(), Some("pipe"));
    assert_eq!(e.file_path.as_deref(), Some("pipe:[77]"));
    assert_eq!(e.toctou_mismatch, Some(false));
    // pipe(fds): rewritten to name something else (here an older pipe's
    // read end and a socket).
    let e = pair(22, [0x7fff_0000, 0, 0, 0, 0, 0], 0o010600, false);
    assert_eq!(e.syscall_args.as_deref(), Some("fd0=5 fd1=6"));
    assert_eq!(e.toctou_mismatch, Some(true));
    // socketpair(AF_UNIX, SOCK_STREAM, 0, fds): unix sockets on 5 and 6.
    let e = pair(53, [1, 1, 0, 0x7fff_0000, 0, 0], 0o140777, true);
    assert_eq!(
        e.syscall_args.as_deref(),
        Some("domain=1 type=1 protocol=0 fd0=5 fd1=6")
    );
    assert_eq!(e.fd_type.as_deref(), Some("unix"));
    assert_eq!(e.toctou_mismatch, Some(false));
    let e = pair(53, [1, 1, 0, 0x7fff_0000, 0, 0], 0o140777, false);
    assert_eq!(e.toctou_mismatch, Some(true));
}
