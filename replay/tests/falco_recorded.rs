//! Falco's stable rules over real recordings of the rule scenarios
//! (`fixtures/scenarios/falco/<slug>.sh`, recorded by
//! `fixtures/scenarios/falco/record.sh` into
//! `fixtures/recordings/falco/<slug>/{positive,negative}`).
//!
//! Each scenario names its rule (`# Rule: NAME.`). The whole stable file is
//! replayed over both phases: the rule must fire on `positive` and stay
//! silent on `negative`. Every case's verdicts (of all stable rules, so a
//! false positive shows up too) are snapshotted, one snapshot per case.
//! No root needed: the recordings are committed.

use std::path::{Path, PathBuf};

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::falco::{self, FalcoRuleSet, output};
use hindsight_replay::lang::SourceFile;
use hindsight_replay::run::replay_paths;
use hindsight_replay::verdict::Verdict;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped stable rules file (`rules/falco/falco_rules.yaml`).
fn stable() -> FalcoRuleSet {
    let path = root().join("rules/falco/falco_rules.yaml");
    let file = SourceFile {
        text: std::fs::read_to_string(&path).expect("stable rules"),
        path: "rules/falco/falco_rules.yaml".into(),
    };
    falco::compile_files(&[file]).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Every recorded scenario: (slug, the rule its script names).
fn scenarios() -> Vec<(String, String)> {
    let dir = root().join("fixtures/recordings/falco");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures/recordings/falco")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let slug = p.file_name().expect("name").to_string_lossy().into_owned();
            let script = root().join(format!("fixtures/scenarios/falco/{slug}.sh"));
            let text = std::fs::read_to_string(&script)
                .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
            let rule = text
                .lines()
                .find_map(|l| l.strip_prefix("# Rule: "))
                .unwrap_or_else(|| panic!("{}: no `# Rule:` line", script.display()))
                .trim_end_matches('.')
                .to_string();
            (slug, rule)
        })
        .collect();
    out.sort();
    out
}

fn replay(engine: &Engine, dir: &Path) -> Vec<Verdict> {
    replay_paths(
        engine,
        &[dir.to_path_buf()],
        Options::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    .verdicts
}

/// Values that change on every recording (scratch directory names, random
/// container ids) are replaced so a snapshot names what matters.
fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("hs-falco.") {
        out.push_str(&rest[..i + "hs-falco.".len()]);
        rest = &rest[i + "hs-falco.".len()..];
        let n = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        out.push_str("XXXXXX");
        rest = &rest[n..];
    }
    out.push_str(rest);
    // 64-hex container ids.
    let words: Vec<String> = out
        .split(' ')
        .map(|w| {
            let hex = w.trim_start_matches("container_id=");
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                w.replace(hex, "<container id>")
            } else {
                w.to_string()
            }
        })
        .collect();
    words.join(" ")
}

fn summary(set: &FalcoRuleSet, verdicts: &[Verdict]) -> String {
    if verdicts.is_empty() {
        return "(no alerts)".into();
    }
    verdicts
        .iter()
        .map(|v| {
            let template = &set.rule(&v.rule).expect("rule").template;
            let (text, _) = output::render_output(template, v);
            let syscall = v.syscall.as_deref().unwrap_or(v.event_kind);
            redact(&format!("[{}] {} ({syscall}): {text}", v.priority, v.rule))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_stable_rule_scenario_is_recorded() {
    let set = stable();
    let recorded = scenarios();
    let scripts: Vec<String> = std::fs::read_dir(root().join("fixtures/scenarios/falco"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .filter(|s| !s.starts_with('_') && s != "record")
        .collect();
    assert_eq!(
        recorded.len(),
        scripts.len(),
        "scenarios without a recording (run fixtures/scenarios/falco/record.sh as root)"
    );
    for (slug, rule) in &recorded {
        let r = set
            .rule(rule)
            .unwrap_or_else(|| panic!("{slug}: no stable rule named {rule:?}"));
        assert!(
            r.cannot_fire().is_none(),
            "{slug}: {rule} {:?}",
            r.cannot_fire()
        );
    }
    assert!(recorded.len() >= 21, "only {} scenarios", recorded.len());
}

#[test]
fn stable_rules_on_recorded_scenarios() {
    let set = stable();
    let rules: Vec<_> = set.rules.iter().map(|r| r.rule.clone()).collect();
    let engine = Engine::new(&rules).expect("stable rules compile");
    let dir = root().join("fixtures/recordings/falco");
    for (slug, rule) in scenarios() {
        for phase in ["positive", "negative"] {
            let verdicts = replay(&engine, &dir.join(&slug).join(phase));
            let fired = verdicts.iter().any(|v| v.rule == rule);
            assert_eq!(
                fired,
                phase == "positive",
                "{slug} {phase}: {rule:?} fired={fired}; alerts: {:?}",
                verdicts.iter().map(|v| &v.rule).collect::<Vec<_>>()
            );
            insta::assert_snapshot!(
                format!("{slug}-{phase}"),
                summary(&set, &verdicts),
                &format!("{rule} on {slug}/{phase}")
            );
        }
    }
}

/// `--format falco-json` of a real alert: Falco's own fields, in Falco's shape.
#[test]
fn falco_json_alert_from_a_recording() {
    let set = stable();
    let rules: Vec<_> = set.rules.iter().map(|r| r.rule.clone()).collect();
    let engine = Engine::new(&rules).expect("stable rules compile");
    let rec = root().join("fixtures/recordings/falco/read-sensitive-file-untrusted/positive");
    let verdicts = replay(&engine, &rec);
    let v = verdicts
        .iter()
        .find(|v| v.rule == "Read sensitive file untrusted")
        .expect("fired");
    let mut json = output::falco_json(&set.rule(&v.rule).expect("rule").template, v);
    // Stable across re-recordings: everything but the time.
    json["time"] = serde_json::Value::String("<time>".into());
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).expect("json"));
}
