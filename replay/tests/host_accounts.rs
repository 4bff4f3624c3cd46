//! User and group names come from the manifest of the recording an event
//! belongs to (its `users` and `groups` tables), not only from the rows seen
//! so far: Falco's `group.name` and `evt.arg.gid` of `setgid` and the like,
//! `user.name` of a process whose effective user no row has shown yet, and
//! a fleet where uid 1000 is someone else on each host.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hindsight_format::reader::Recording;
use hindsight_replay::accounts::Accounts;
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::falco;
use hindsight_replay::lang::SourceFile;
use hindsight_replay::run::replay_paths;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recordings")
        .join(rel)
}

/// `runuser -u nobody` recorded for real: it calls `setregid`, `setreuid`,
/// `setgid` and `setuid` with the ids of nobody (uid and gid 65534).
const RUNUSER: &str = "falco/system-user-interactive/positive";

fn engine(rules: &str) -> Engine {
    let set = falco::compile_files(&[SourceFile {
        path: "probe.yaml".into(),
        text: rules.into(),
    }])
    .unwrap_or_else(|d| panic!("{d:?}"));
    let rules: Vec<_> = set.rules.into_iter().map(|r| r.rule).collect();
    Engine::new(&rules).expect("rules compile")
}

/// Outputs of the rules over whole recordings, as `hindsight replay` runs them.
fn outputs(rules: &str, rec: &str) -> Vec<String> {
    replay_paths(
        &engine(rules),
        &[fixture(rec)],
        Options::default(),
        &mut |_| {},
    )
    .expect("replay")
    .verdicts
    .into_iter()
    .map(|v| v.output)
    .collect()
}

#[test]
fn group_ids_of_setgid_calls_render_as_the_hosts_group_names() {
    let rules = r#"
- rule: set group
  desc: probe
  condition: evt.type in (setgid, setregid, setresgid, setfsgid)
  output: "%evt.type gid=%evt.arg.gid rgid=%evt.arg.rgid egid=%evt.arg.egid"
  priority: NOTICE
"#;
    let got = outputs(rules, RUNUSER);
    // nobody's group is `nogroup` in the recorded host's group file; -1 is <NONE>.
    assert!(
        got.iter()
            .any(|o| o == "setgid gid=nogroup rgid=<NA> egid=<NA>"),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|o| o == "setregid gid=<NA> rgid=nogroup egid=<NONE>"),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|o| o == "setregid gid=<NA> rgid=<NONE> egid=root"),
        "{got:#?}"
    );
    assert!(
        got.iter().all(|o| !o.contains("65534")),
        "a gid left as a number: {got:#?}"
    );
}

#[test]
fn group_name_is_the_processs_group_in_the_hosts_group_file() {
    let rules = r#"
- rule: exec
  desc: probe
  condition: evt.type = execve and evt.dir = < and proc.name = login
  output: "%proc.name %group.gid %group.name"
  priority: NOTICE
"#;
    assert_eq!(outputs(rules, RUNUSER), ["login 65534 nogroup"]);
}

const EFFECTIVE_USER: &str = r#"
- rule: effective user
  desc: probe
  condition: evt.type = setresuid
  output: "%user.uid %user.name euid=%evt.arg.euid"
  priority: NOTICE
"#;

/// Replays the rows of `rec` from the first `setresuid` on (as a ring-mode
/// recording that deleted its oldest segments starts mid-way), with `accounts`
/// or without: the rows before, where nobody was the real user, are not seen.
fn from_setresuid(rec: &str, accounts: Option<Accounts>) -> Vec<String> {
    let evs: Vec<_> = Recording::open(fixture(rec))
        .expect("open")
        .events()
        .map(|e| e.expect("event"))
        .collect();
    let first = evs
        .iter()
        .find(|e| e.syscall.as_deref() == Some("setresuid"))
        .expect("a setresuid row")
        .seq;
    let engine = engine(EFFECTIVE_USER);
    let mut replay = engine.replay("t", Options::default());
    if let Some(a) = accounts {
        replay.set_accounts(Arc::new(a));
    }
    for e in evs.iter().filter(|e| e.seq >= first) {
        replay.push(e);
    }
    replay
        .finish()
        .verdicts
        .into_iter()
        .map(|v| v.output)
        .collect()
}

#[test]
fn the_effective_user_is_named_before_any_row_shows_it_as_real_user() {
    let manifest = Recording::open(fixture(RUNUSER))
        .expect("open")
        .manifest()
        .clone();
    assert_eq!(
        from_setresuid(RUNUSER, Some(Accounts::from_manifest(&manifest))),
        ["65534 nobody euid=nobody"]
    );
    // Without the host's tables only rows can name a user, and none did yet.
    assert_eq!(from_setresuid(RUNUSER, None), ["65534 <NA> euid=<NA>"]);
}

#[test]
fn each_recording_names_ids_with_its_own_hosts_tables() {
    // The same events, as if recorded on two hosts where uid 65534 and gid
    // 0 have other names: each replay uses its own host's.
    let on = |user: &str, group: &str| {
        from_setresuid(
            RUNUSER,
            Some(Accounts::new([(65534, user), (0, "root")], [(0, group)])),
        )
    };
    assert_eq!(on("alice", "wheel"), ["65534 alice euid=alice"]);
    assert_eq!(on("bob", "root"), ["65534 bob euid=bob"]);
}

#[test]
fn rows_without_a_user_name_are_named_from_the_hosts_table() {
    // As a recorder whose passwd lookup failed would write them.
    let rec = Recording::open(fixture(RUNUSER)).expect("open");
    let engine = engine(
        r#"
- rule: exec
  desc: probe
  condition: evt.type = execve and evt.dir = < and proc.name = login
  output: "%user.uid %user.name"
  priority: NOTICE
"#,
    );
    let run = |accounts: Option<Accounts>| {
        let mut replay = engine.replay("t", Options::default());
        if let Some(a) = accounts {
            replay.set_accounts(Arc::new(a));
        }
        for e in rec.events() {
            let mut e = e.expect("event");
            e.user_name = None;
            replay.push(&e);
        }
        let v = replay.finish().verdicts;
        v.into_iter().map(|v| v.output).collect::<Vec<_>>()
    };
    assert_eq!(
        run(Some(Accounts::from_manifest(rec.manifest()))),
        ["65534 nobody"]
    );
    assert_eq!(run(None), ["65534 <NA>"]);
}
