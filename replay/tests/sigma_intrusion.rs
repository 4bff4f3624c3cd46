//! Small Sigma rules written for one point of Sigma's semantics each,
//! replayed over the committed intrusion recording
//! (`fixtures/recordings/intrusion`; events built for the test where it has
//! none of the kind) through the replay engine; each test checks the exact
//! events that fire, and that the reference evaluator
//! ([`hindsight_replay::sigma::eval`]) agrees. The expected events are found
//! in the recording by plain Rust predicates on its rows (no pinned seqs,
//! pids or ports), so the tests survive a re-recording.

use std::collections::BTreeSet;
use std::path::Path;

use hindsight_format::{Event, EventKind};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang::{self, SourceFile};
use hindsight_replay::run::replay_paths;
use hindsight_replay::sigma::{self, Compiled};
use hindsight_replay::state::State;
use hindsight_replay::value::Ctx;

mod recording_rows {
    include!("common/recording_rows.rs");
}
use recording_rows::{events, one, rows, seqs_where};

fn intrusion() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings/intrusion")
}

/// A rule with this log source and detection (YAML, indented by two).
fn rule(logsource: &str, detection: &str) -> String {
    format!(
        "title: t\nid: t\nlogsource:\n  product: linux\n  {logsource}\ndetection:\n{detection}\nlevel: low\n"
    )
}

/// The replay engine for one Sigma rule file's `text`.
fn engine(text: &str) -> Engine {
    let set = lang::load_sources(
        vec![SourceFile {
            path: "t.yml".into(),
            text: text.into(),
        }],
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    Engine::new(&set.rules).unwrap()
}

/// The seqs the rule fires on in the intrusion recording, by the replay
/// engine; asserts that the reference evaluator fires on the same events.
fn fires(text: &str) -> Vec<u64> {
    let engine = engine(text);
    let report = replay_paths(&engine, &[intrusion()], Options::default(), &mut |_| {}).unwrap();
    let engine_seqs: Vec<u64> = report.verdicts.iter().map(|v| v.seq).collect();

    let c = Compiled::new(sigma::load_str("t.yml", text).unwrap().remove(0));
    let rec = hindsight_format::reader::Recording::open(intrusion()).unwrap();
    let mut state = State::new();
    let mut reference = Vec::new();
    for e in rec.events() {
        let ev = e.unwrap();
        state.before(&ev);
        if c.matches(&ev, &Ctx::new(&ev, &state)) {
            reference.push(ev.seq);
        }
        state.after(&ev);
    }
    assert_eq!(engine_seqs, reference, "engine vs reference evaluator");
    engine_seqs
}

/// The seqs the rule fires on in `events` (built for the test), by the
/// replay engine; asserts that the reference evaluator fires on the same
/// events.
fn fires_on_events(text: &str, events: &[Event]) -> Vec<u64> {
    let engine = engine(text);
    let c = Compiled::new(sigma::load_str("t.yml", text).unwrap().remove(0));
    let mut replay = engine.replay("t", Options::default());
    let mut state = State::new();
    let mut reference = Vec::new();
    for e in events {
        state.before(e);
        if c.matches(e, &Ctx::new(e, &state)) {
            reference.push(e.seq);
        }
        state.after(e);
        replay.push(e);
    }
    let engine_seqs: Vec<u64> = replay.finish().verdicts.iter().map(|v| v.seq).collect();
    assert_eq!(engine_seqs, reference, "engine vs reference evaluator");
    engine_seqs
}

/// The row is a `process_exec` row.
fn is_exec(e: &Event) -> bool {
    e.event_kind == EventKind::ProcessExec
}

/// The seqs of the `process_exec` rows of the two `cat`s of the intrusion
/// recording (`cat /etc/shadow` and `cat` of a symlink to it), found by
/// `pred` on those rows (`what` names it in a failure).
fn cat_execs(what: &str, pred: impl Fn(&Event) -> bool) -> Vec<u64> {
    rows(&events(&intrusion()), what, 2, |e| is_exec(e) && pred(e))
        .iter()
        .map(|e| e.seq)
        .collect()
}

/// The seqs of the intrusion recording's process_exec rows of `cat`.
fn cat_execs_by_name() -> Vec<u64> {
    cat_execs("process_exec rows of cat", |e| {
        e.process_name.as_deref() == Some("cat")
    })
}

/// The seqs of the intrusion recording's process_exec rows whose argv[0]
/// is `cat`.
fn cat_execs_by_argv0() -> Vec<u64> {
    cat_execs("process_exec rows with argv[0] cat", |e| {
        e.process_args
            .as_ref()
            .and_then(|a| a.first())
            .is_some_and(|a| a == "cat")
    })
}

/// auditd writes one SYSCALL and one PATH record per successful `execve`:
/// the recording's `process_exec` row and the `syscall` row of the same
/// call are one exec, so a rule fires once per exec, not twice.
#[test]
fn auditd_records_once_per_exec() {
    let cats = cat_execs_by_name();
    let syscall = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    comm: cat\n  condition: sel",
    );
    assert_eq!(fires(&syscall), cats);
    let path = rule(
        "service: auditd",
        "  sel:\n    type: PATH\n    name: /usr/bin/cat\n  condition: sel",
    );
    let by_path = cat_execs("process_exec rows of /usr/bin/cat", |e| {
        e.file_path.as_deref() == Some("/usr/bin/cat")
    });
    assert_eq!(fires(&path), by_path);
    // A successful execve returns 0, as auditd's `exit=0` says.
    let exit = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    exit: 0\n    comm: cat\n  condition: sel",
    );
    assert_eq!(fires(&exit), cats);
    // A failed execve has no process_exec row: its syscall row is the record.
    // (The recording's failed execves, if any, are a PATH search: they depend
    // on the PATH of the recording host; the rows built below always have one.)
    let failed = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    exit: -2\n  condition: sel",
    );
    let failed_execves = seqs_where(&events(&intrusion()), |e| {
        e.event_kind == EventKind::Syscall
            && e.syscall.as_deref() == Some("execve")
            && e.ret == Some(-2)
    });
    assert_eq!(fires(&failed), failed_execves);
    // sh's PATH search for cat: a failed execve, then one that succeeds.
    let execve = |seq: u64, kind: EventKind, ret: Option<i64>, comm: &str, path: &str| Event {
        seq,
        event_kind: kind,
        syscall: Some("execve".into()),
        ret,
        process_pid: 10,
        thread_id: 10,
        process_name: Some(comm.into()),
        process_executable: Some(format!("/usr/bin/{comm}")),
        file_path: Some(path.into()),
        ..Event::default()
    };
    let built = [
        execve(1, EventKind::Syscall, Some(-2), "sh", "/usr/local/bin/cat"),
        execve(2, EventKind::ProcessExec, None, "cat", "/usr/bin/cat"),
        execve(3, EventKind::Syscall, Some(0), "cat", "/usr/bin/cat"),
    ];
    assert_eq!(fires_on_events(&failed, &built), [1]);
    assert_eq!(fires_on_events(&syscall, &built), [2]);
    let any_execve = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n  condition: sel",
    );
    assert_eq!(fires_on_events(&any_execve, &built), [1, 2]);
}

/// Sigma's `DestinationPort` of a `network_connection` row: a connect's
/// destination port, an accepted connection's local port (Sysmon's
/// convention); `None` for rows outside the category.
fn sigma_destination_port(e: &Event) -> Option<u16> {
    let inet = matches!(e.network_family.as_deref(), Some("AF_INET" | "AF_INET6"));
    let ret = e.ret?;
    if e.event_kind != EventKind::Syscall || !inet {
        return None;
    }
    match e.syscall.as_deref()? {
        // -115: EINPROGRESS, a non-blocking connect under way.
        "connect" if ret >= 0 || ret == -115 => e.destination_port,
        "accept" | "accept4" if ret >= 0 => e.source_port,
        _ => None,
    }
}

/// Wildcards and string modifiers on a numeric field match its decimal
/// text, as pySigma's SQL (`LIKE '6080%'`) does, instead of never. The
/// patterns are built from the digits of real ports and pids of the
/// recording; the expected events come from string tests on their decimal
/// text.
#[test]
fn wildcards_on_numbers_match_their_decimal_text() {
    let ev = events(&intrusion());
    let net = |sel: &str| {
        fires(&rule(
            "category: network_connection",
            &format!("  sel:\n    {sel}\n  condition: sel"),
        ))
    };
    let is_connect_by = |e: &Event, comm: &str| {
        e.syscall.as_deref() == Some("connect")
            && e.process_name.as_deref() == Some(comm)
            && sigma_destination_port(e).is_some()
    };
    // The reverse shell's connect, and the port of the HTTP server every
    // curl connects to.
    let shell = one(&ev, "the reverse shell's connect (by bash)", |e| {
        is_connect_by(e, "bash")
    })
    .destination_port
    .unwrap();
    let http: BTreeSet<u16> = ev
        .iter()
        .filter(|e| is_connect_by(e, "curl"))
        .filter_map(|e| e.destination_port)
        .collect();
    assert_eq!(http.len(), 1, "ports curl connects to: {http:?}");
    for port in [shell, *http.first().unwrap()] {
        let text = port.to_string();
        let n = text.len();
        assert!(n >= 4, "{text}");
        let expect = |matches: &dyn Fn(&str) -> bool| {
            seqs_where(&ev, |e| {
                sigma_destination_port(e).is_some_and(|p| matches(&p.to_string()))
            })
        };
        let (head, middle, tail) = (&text[..4], &text[1..4], &text[n - 3..]);
        let all_but_last = &text[..n - 1];
        let (inner, last) = (&text[n - 2..n - 1], &text[n - 1..]);
        let exact = expect(&|t| t == text);
        assert!(!exact.is_empty(), "{text}");
        assert_eq!(net(&format!("DestinationPort: {text}")), exact);
        let starts = expect(&|t| t.starts_with(head));
        assert_eq!(
            net(&format!("DestinationPort|startswith: '{head}'")),
            starts
        );
        assert_eq!(net(&format!("DestinationPort: '{head}*'")), starts);
        assert_eq!(
            net(&format!("DestinationPort|contains: '{middle}'")),
            expect(&|t| t.contains(middle))
        );
        assert_eq!(
            net(&format!("DestinationPort|endswith: '{tail}'")),
            expect(&|t| t.ends_with(tail))
        );
        assert_eq!(
            net(&format!("DestinationPort: '{all_but_last}?'")),
            expect(&|t| t.len() == n && t.starts_with(all_but_last))
        );
        assert_eq!(
            net(&format!("DestinationPort: '*{inner}*{last}'")),
            expect(&|t| t.ends_with(last) && t[..t.len() - 1].contains(inner))
        );
    }
    let exec = |sel: &str| {
        fires(&rule(
            "category: process_creation",
            &format!("  sel:\n    {sel}\n  condition: sel"),
        ))
    };
    // The pid of `cat /etc/shadow`, all but its last digit.
    let pid = one(&ev, "the process_exec row of `cat /etc/shadow`", |e| {
        is_exec(e)
            && e.process_args
                .as_ref()
                .is_some_and(|a| a.iter().eq(["cat", "/etc/shadow"]))
    })
    .process_pid
    .to_string();
    let prefix = &pid[..pid.len() - 1];
    let execs = |matches: &dyn Fn(&str) -> bool| {
        seqs_where(&ev, |e| is_exec(e) && matches(&e.process_pid.to_string()))
    };
    let starts = execs(&|t| t.starts_with(prefix));
    assert_eq!(exec(&format!("ProcessId: '{prefix}*'")), starts);
    assert_eq!(
        exec(&format!("ProcessId: '{prefix}?'")),
        execs(&|t| t.len() == pid.len() && t.starts_with(prefix))
    );
    assert_eq!(exec(&format!("ProcessId|startswith: '{prefix}'")), starts);
}

/// auditd record types compare case-insensitively, like every Sigma value:
/// `type: 'execve'` reads EXECVE records, and `sigma check` does not call
/// them missing; a type no recording has is named.
#[test]
fn auditd_types_are_case_insensitive_in_check_too() {
    let text = rule(
        "service: auditd",
        "  sel:\n    type: 'execve'\n    a0: cat\n  condition: sel",
    );
    let by_argv0 = cat_execs_by_argv0();
    assert_eq!(fires(&text), by_argv0);
    let c = Compiled::new(sigma::load_str("t.yml", &text).unwrap().remove(0));
    assert_eq!(c.applicability, sigma::Applicability::Applicable);
    assert!(c.unfilled.is_empty(), "{:?}", c.unfilled);
    let other = rule(
        "service: auditd",
        "  sel:\n    type: 'service_stop'\n  condition: sel",
    );
    let c = Compiled::new(sigma::load_str("t.yml", &other).unwrap().remove(0));
    assert_eq!(
        c.applicability,
        sigma::Applicability::CannotFire(vec!["auditd service_stop records".into()])
    );
}

/// Real auditd puts the process (`exe`, `comm`, `pid`, `uid`, …) on the
/// SYSCALL record only: EXECVE has the arguments and PATH the name, so a
/// selection asking one record for both matches nothing.
#[test]
fn auditd_process_fields_are_on_syscall_records_only() {
    let audit = |sel: &str| {
        fires(&rule(
            "service: auditd",
            &format!("  sel:\n{sel}\n  condition: sel"),
        ))
    };
    let by_argv0 = cat_execs_by_argv0();
    assert_eq!(audit("    type: EXECVE\n    a0: cat"), by_argv0);
    assert_eq!(
        audit("    type: EXECVE\n    a0: cat\n    uid: 0"),
        [0u64; 0]
    );
    assert_eq!(
        audit("    type: PATH\n    name: /usr/bin/cat\n    comm: cat"),
        [0u64; 0]
    );
    let by_root = cat_execs("process_exec rows of cat by uid 0", |e| {
        e.process_name.as_deref() == Some("cat") && e.user_id == Some(0)
    });
    assert_eq!(
        audit("    type: SYSCALL\n    SYSCALL: execve\n    comm: cat\n    uid: 0"),
        by_root
    );
    // Without a type, the process fields match through the SYSCALL record.
    let by_exe = cat_execs("process_exec rows of /usr/bin/cat", |e| {
        e.process_executable.as_deref() == Some("/usr/bin/cat")
    });
    assert_eq!(audit("    exe: /usr/bin/cat\n    SYSCALL: execve"), by_exe);
}

/// `cidr` with an IPv4 network does not match an IPv4-mapped IPv6 address
/// (`::ffff:10.1.2.3`), as pySigma's SQL (`LIKE '10.%'`) does not: the
/// replay engine and the reference evaluator agree on a connect row built
/// for it (the intrusion recording has no IPv6 connection).
#[test]
fn cidr_does_not_match_ipv4_mapped_addresses() {
    let text = rule(
        "category: network_connection",
        "  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel",
    );
    let ev = |seq: u64, ip: &str, family: &str| Event {
        seq,
        event_kind: EventKind::Syscall,
        syscall: Some("connect".into()),
        ret: Some(0),
        process_pid: 10,
        thread_id: 10,
        network_family: Some(family.into()),
        network_transport: Some("tcp".into()),
        destination_ip: Some(ip.into()),
        destination_port: Some(443),
        ..Event::default()
    };
    let events = [
        ev(1, "10.1.2.3", "AF_INET"),
        ev(2, "::ffff:10.1.2.3", "AF_INET6"),
        ev(3, "11.1.2.3", "AF_INET"),
    ];
    assert_eq!(fires_on_events(&text, &events), [1]);
}
