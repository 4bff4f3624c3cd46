//! Small Sigma rules written for one point of Sigma's semantics each,
//! replayed over the committed intrusion recording
//! (`fixtures/recordings/intrusion`; events built for the test where it has
//! none of the kind) through the replay engine; each test checks the exact
//! events that fire, and that the reference evaluator
//! ([`hindsight_replay::sigma::eval`]) agrees.

use std::path::Path;

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang::{self, SourceFile};
use hindsight_replay::run::replay_paths;
use hindsight_replay::sigma::{self, Compiled};
use hindsight_replay::state::State;
use hindsight_replay::value::Ctx;

fn intrusion() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings/intrusion")
}

/// A rule with this log source and detection (YAML, indented by two).
fn rule(logsource: &str, detection: &str) -> String {
    format!(
        "title: t\nid: t\nlogsource:\n  product: linux\n  {logsource}\ndetection:\n{detection}\nlevel: low\n"
    )
}

/// The seqs the rule fires on in the intrusion recording, by the replay
/// engine; asserts that the reference evaluator fires on the same events.
fn fires(text: &str) -> Vec<u64> {
    let set = lang::load_sources(
        vec![SourceFile {
            path: "t.yml".into(),
            text: text.into(),
        }],
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let engine = Engine::new(&set.rules).unwrap();
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

/// auditd writes one SYSCALL and one PATH record per successful `execve`:
/// the recording's `process_exec` row and the `syscall` row of the same
/// call are one exec, so a rule fires once per exec, not twice.
#[test]
fn auditd_records_once_per_exec() {
    let syscall = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    comm: cat\n  condition: sel",
    );
    assert_eq!(fires(&syscall), [1157, 1478]);
    let path = rule(
        "service: auditd",
        "  sel:\n    type: PATH\n    name: /usr/bin/cat\n  condition: sel",
    );
    assert_eq!(fires(&path), [1157, 1478]);
    // A successful execve returns 0, as auditd's `exit=0` says.
    let exit = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    exit: 0\n    comm: cat\n  condition: sel",
    );
    assert_eq!(fires(&exit), [1157, 1478]);
    // A failed execve has no process_exec row: its syscall row is the record.
    let failed = rule(
        "service: auditd",
        "  sel:\n    type: SYSCALL\n    SYSCALL: execve\n    exit: -2\n  condition: sel",
    );
    assert_eq!(fires(&failed), [0, 1, 2, 3, 4, 5, 6, 7]);
}

/// Wildcards and string modifiers on a numeric field match its decimal
/// text, as pySigma's SQL (`LIKE '6080%'`) does, instead of never.
#[test]
fn wildcards_on_numbers_match_their_decimal_text() {
    let net = |sel: &str| {
        fires(&rule(
            "category: network_connection",
            &format!("  sel:\n    {sel}\n  condition: sel"),
        ))
    };
    assert_eq!(net("DestinationPort: 60809"), [992]);
    assert_eq!(net("DestinationPort|startswith: '6080'"), [992]);
    assert_eq!(net("DestinationPort: '6080*'"), [992]);
    assert_eq!(net("DestinationPort|contains: '080'"), [992]);
    assert_eq!(net("DestinationPort|endswith: '791'"), [384, 590, 675]);
    assert_eq!(net("DestinationPort: '3779?'"), [384, 590, 675]);
    assert_eq!(net("DestinationPort: '*9*1'"), [384, 590, 675]);
    let exec = |sel: &str| {
        fires(&rule(
            "category: process_creation",
            &format!("  sel:\n    {sel}\n  condition: sel"),
        ))
    };
    let pids_2007x = [1110, 1157, 1195, 1266, 1304, 1347, 1354, 1393, 1430, 1440];
    assert_eq!(exec("ProcessId: '2007*'"), pids_2007x);
    assert_eq!(exec("ProcessId: '2007?'"), pids_2007x);
    assert_eq!(exec("ProcessId|startswith: '2007'"), pids_2007x);
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
    assert_eq!(fires(&text), [1157, 1478]);
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
    assert_eq!(audit("    type: EXECVE\n    a0: cat"), [1157, 1478]);
    assert_eq!(
        audit("    type: EXECVE\n    a0: cat\n    uid: 0"),
        [0u64; 0]
    );
    assert_eq!(
        audit("    type: PATH\n    name: /usr/bin/cat\n    comm: cat"),
        [0u64; 0]
    );
    assert_eq!(
        audit("    type: SYSCALL\n    SYSCALL: execve\n    comm: cat\n    uid: 0"),
        [1157, 1478]
    );
    // Without a type, the process fields match through the SYSCALL record.
    assert_eq!(
        audit("    exe: /usr/bin/cat\n    SYSCALL: execve"),
        [1157, 1478]
    );
}

/// `cidr` with an IPv4 network does not match an IPv4-mapped IPv6 address
/// (`::ffff:10.1.2.3`), as pySigma's SQL (`LIKE '10.%'`) does not: the
/// replay engine and the reference evaluator agree on a connect row built
/// for it (the intrusion recording has no IPv6 connection).
#[test]
fn cidr_does_not_match_ipv4_mapped_addresses() {
    use hindsight_format::{Event, EventKind};
    let text = rule(
        "category: network_connection",
        "  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel",
    );
    let set = lang::load_sources(
        vec![SourceFile {
            path: "t.yml".into(),
            text: text.clone(),
        }],
        Vec::new(),
    )
    .unwrap();
    let engine = Engine::new(&set.rules).unwrap();
    let c = Compiled::new(sigma::load_str("t.yml", &text).unwrap().remove(0));
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
    let mut replay = engine.replay("t", Options::default());
    let state = State::new();
    let mut reference = Vec::new();
    for e in &events {
        if c.matches(e, &Ctx::new(e, &state)) {
            reference.push(e.seq);
        }
        replay.push(e);
    }
    let seqs: Vec<u64> = replay.finish().verdicts.iter().map(|v| v.seq).collect();
    assert_eq!(reference, [1]);
    assert_eq!(seqs, [1]);
}
