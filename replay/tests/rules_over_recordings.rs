//! Rules × recordings → one insta snapshot of verdicts per case, and
//! snapshots of the errors bad rule files get.

use std::path::{Path, PathBuf};

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang::{SourceFile, load, load_sources};
use hindsight_replay::run::replay_paths;
use hindsight_replay::suite::report_lines;
use hindsight_replay::verdict::Report;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn default_rules() -> Engine {
    let set =
        load(&[repo().join("rules/hindsight/default.yaml")]).unwrap_or_else(|d| panic!("{d}"));
    Engine::new(&set.rules).unwrap()
}

fn on_fixture(engine: &Engine, name: &str, simulate: bool) -> Vec<String> {
    // Run from the repo root so recording labels are stable relative paths.
    let path = PathBuf::from("fixtures/recordings").join(name);
    std::env::set_current_dir(repo()).unwrap();
    let report = replay_paths(
        engine,
        &[path],
        Options {
            simulate_enforcement: simulate,
        },
        &mut |_| {},
    )
    .unwrap();
    report_lines(&report)
}

fn on_generated(engine: &Engine, events: u64, simulate: bool) -> Report {
    let mut g = Generator::new(GeneratorConfig {
        events,
        seed: 3,
        ..GeneratorConfig::default()
    });
    let mut r = engine.replay(
        "generated-seed-3",
        Options {
            simulate_enforcement: simulate,
        },
    );
    loop {
        let batch = g.next_batch(65_536);
        if batch.is_empty() {
            break;
        }
        batch.iter().for_each(|e| r.push(e));
    }
    r.finish()
}

#[test]
fn default_rules_on_synthetic_small() {
    insta::assert_snapshot!(on_fixture(&default_rules(), "synthetic-small", false).join("\n"));
}

#[test]
fn default_rules_on_the_fleet() {
    insta::assert_snapshot!(on_fixture(&default_rules(), "fleet", false).join("\n"));
}

#[test]
fn default_rules_on_a_generated_recording() {
    let r = on_generated(&default_rules(), 150_000, false);
    insta::assert_snapshot!(report_lines(&r).join("\n"));
}

#[test]
fn default_rules_enforced_on_a_generated_recording() {
    let r = on_generated(&default_rules(), 150_000, true);
    assert!(!r.enforcements.is_empty());
    insta::assert_snapshot!(report_lines(&r).join("\n"));
}

fn error_of(text: &str) -> String {
    match load_sources(
        vec![SourceFile {
            path: "bad.yaml".into(),
            text: text.into(),
        }],
        Vec::new(),
    ) {
        Ok(_) => panic!("should not load"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn bad_rules() {
    let cases = [
        (
            "misspelled_field",
            "- rule: r\n  description: d\n  condition: syscall = 'openat' AND proc_exee = '/bin/sh'\n",
        ),
        (
            "misspelled_keyword",
            "- rule: r\n  description: d\n  condition: >\n    syscall = 'openat'\n    adn ret = 0\n",
        ),
        (
            "type_error",
            "- rule: r\n  description: d\n  condition: ret = 'zero'\n",
        ),
        (
            "unclosed_paren",
            "- rule: r\n  description: d\n  condition: (syscall = 'openat'\n",
        ),
        (
            "bad_output_field",
            "- rule: r\n  description: d\n  condition: syscall = 'openat'\n  output: '%proc_exe opened %file_pth'\n",
        ),
        (
            "bad_action",
            "- rule: r\n  description: d\n  condition: syscall = 'openat'\n  action: kil\n",
        ),
        (
            "bad_errno",
            "- rule: r\n  description: d\n  condition: syscall = 'openat'\n  action: {deny: EACCESS}\n",
        ),
        (
            "unknown_key",
            "- rule: r\n  description: d\n  condtion: syscall = 'openat'\n",
        ),
        (
            "bad_priority",
            "- rule: r\n  description: d\n  priority: warn\n  condition: syscall = 'openat'\n",
        ),
        (
            "bad_regex",
            "- rule: r\n  description: d\n  condition: file_path ~ '(unclosed'\n",
        ),
    ];
    for (name, text) in cases {
        insta::assert_snapshot!(name, error_of(text));
    }
}
