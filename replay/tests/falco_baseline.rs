//! The benign baseline (`fixtures/recordings/baseline`, a real recording of
//! `fixtures/scenarios/baseline/run.sh`: a package-manager-like install, a
//! gcc build run from `/tmp`, a logging service) raises no alert from the
//! default Hindsight rules or Falco's stable rules, while the intrusion
//! recording still trips the rule the build used to trip falsely.

use std::path::{Path, PathBuf};

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::field::{Col, Field, ProcField};
use hindsight_replay::ir::{Cond, Literal, Op};
use hindsight_replay::lang::load;
use hindsight_replay::run::replay_paths;
use hindsight_replay::verdict::Verdict;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn engine() -> Engine {
    let set = load(&[
        repo().join("rules/hindsight/default.yaml"),
        repo().join("rules/falco/falco_rules.yaml"),
    ])
    .unwrap_or_else(|d| panic!("{d}"));
    Engine::new(&set.rules).expect("rules compile")
}

fn replay(engine: &Engine, rec: &str) -> Vec<Verdict> {
    replay_paths(engine, &[repo().join(rec)], Options::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{rec}: {e}"))
        .verdicts
}

#[test]
fn the_baseline_raises_no_alert() {
    let verdicts = replay(&engine(), "fixtures/recordings/baseline");
    let lines: Vec<String> = verdicts
        .iter()
        .map(|v| format!("{} [{}]: {}", v.rule, v.seq, v.output))
        .collect();
    assert!(lines.is_empty(), "false positives:\n{}", lines.join("\n"));
}

/// The build's program is still executed from `/tmp` in the baseline; the
/// rule skips it because the replay state knows the linker wrote it.
#[test]
fn a_program_linked_while_recording_knows_its_writer() {
    let set = load(&[repo().join("rules/hindsight/default.yaml")]).expect("default rules");
    let rule = set
        .rules
        .iter()
        .find(|r| r.name == "Exec from a temporary directory")
        .expect("rule");
    let probe = |extra: Option<Cond>| {
        let mut r = rule.clone();
        let mut all = vec![
            Cond::test(
                Field::Column(Col::EventKind),
                Op::Eq,
                Literal::Str("process_exec".into()),
            ),
            Cond::test(
                Field::Proc(ProcField::Exe),
                Op::StartsWith,
                Literal::Str("/tmp/".into()),
            ),
        ];
        all.extend(extra);
        r.condition = Cond::And(all);
        replay(
            &Engine::new(&[r]).expect("probe compiles"),
            "fixtures/recordings/baseline",
        )
    };
    // Without the exception the build's exec from /tmp is there ...
    let execs = probe(None);
    let build: Vec<&Verdict> = execs
        .iter()
        .filter(|v| v.output.contains("/build/main"))
        .collect();
    assert_eq!(build.len(), 1, "the baseline runs its build from /tmp once");
    // ... and its executable's last writer is the linker.
    let by_linker = probe(Some(Cond::test(
        Field::Proc(ProcField::ExeWriter),
        Op::EndsWith,
        Literal::Str("ld.bfd".into()),
    )));
    assert_eq!(
        by_linker.iter().map(|v| v.seq).collect::<Vec<_>>(),
        vec![build[0].seq]
    );
}

#[test]
fn a_dropped_program_still_fires() {
    let verdicts = replay(&engine(), "fixtures/recordings/intrusion");
    assert!(
        verdicts
            .iter()
            .any(|v| v.rule == "Exec from a temporary directory"
                && v.output.contains("/dev/shm/hindsight-demo-true")),
        "the intrusion's /dev/shm exec must still fire"
    );
}
