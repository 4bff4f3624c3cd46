//! The engine specialises every rule per event kind and syscall, reorders
//! conjunctions and forgets old exited processes. None of that may change a
//! verdict: on generated events its verdicts must be exactly those of every
//! rule's plain program, evaluated on every event against a state that
//! forgets nothing.

use std::path::PathBuf;

use hindsight_format::EventKind;
use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::eval::Program;
use hindsight_replay::ir::Rule;
use hindsight_replay::state::State;
use hindsight_replay::value::Ctx;

type Verdicts = Vec<(u64, String)>;

fn rules(file: &str) -> Vec<Rule> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(file);
    hindsight_replay::lang::load(&[path])
        .expect("rules load")
        .rules
}

fn generated(events: u64, mut each: impl FnMut(&hindsight_format::Event)) {
    let mut generator = Generator::new(GeneratorConfig {
        events,
        ..GeneratorConfig::default()
    });
    loop {
        let batch = generator.next_batch(8192);
        if batch.is_empty() {
            break;
        }
        batch.iter().for_each(&mut each);
    }
}

/// Every enabled rule's plain program on every event, against a state that
/// keeps `max_exited` childless exited processes.
fn plain(rules: &[Rule], events: u64, max_exited: usize) -> Verdicts {
    let rules: Vec<&Rule> = rules.iter().filter(|r| r.enabled).collect();
    let programs: Vec<Program> = rules
        .iter()
        .map(|r| Program::compile(&r.condition).expect("compiles"))
        .collect();
    let mut state = State::with_max_exited(max_exited);
    let mut out = Vec::new();
    generated(events, |ev| {
        if ev.event_kind == EventKind::Loss {
            return;
        }
        state.before(ev);
        let ctx = Ctx::new(ev, &state);
        for (r, p) in rules.iter().zip(&programs) {
            if p.eval(&ctx) {
                out.push((ev.seq, r.id.clone()));
            }
        }
        state.after(ev);
    });
    out
}

fn engine(rules: &[Rule], events: u64) -> Verdicts {
    let engine = Engine::new(rules).expect("compiles");
    let mut replay = engine.replay("generated", Options::default());
    generated(events, |ev| replay.push(ev));
    replay
        .finish()
        .verdicts
        .into_iter()
        .map(|v| (v.seq, v.rule_id))
        .collect()
}

#[test]
fn falco_stable_rules_agree_with_plain_evaluation() {
    let rules = rules("rules/falco/falco_rules.yaml");
    let want = plain(&rules, 200_000, usize::MAX);
    assert!(
        want.len() > 5,
        "too few verdicts to prove anything: {want:?}"
    );
    assert_eq!(engine(&rules, 200_000), want);
}

#[test]
fn native_rules_agree_with_plain_evaluation() {
    let rules = rules("rules/hindsight/default.yaml");
    let want = plain(&rules, 100_000, usize::MAX);
    assert!(
        want.len() > 5,
        "too few verdicts to prove anything: {want:?}"
    );
    assert_eq!(engine(&rules, 100_000), want);
}

#[test]
fn forgetting_old_exited_processes_changes_no_verdict() {
    // Keeping a single childless exited process versus all of them.
    let rules = rules("rules/falco/falco_rules.yaml");
    let all = plain(&rules, 200_000, usize::MAX);
    assert!(all.len() > 5);
    assert_eq!(plain(&rules, 200_000, 1), all);
}
