//! The Sigma scenario scripts (`fixtures/scenarios/sigma/*.sh`) stay valid:
//! each names a vendored rule (`rules/sigma/`) that loads and can fire, and
//! runs both phases successfully.

use std::path::{Path, PathBuf};
use std::process::Command;

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::run::replay_paths;
use hindsight_replay::sigma::compile::to_ir;
use hindsight_replay::sigma::{self, Applicability, Compiled};

/// The vendored rule a scenario script names in its header
/// (`#   rules/sigma/linux/...yml`).
fn rule_of(root: &Path, script: &Path) -> PathBuf {
    let text = std::fs::read_to_string(script).unwrap();
    let rel = text
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .find(|l| l.starts_with("rules/sigma/"))
        .unwrap_or_else(|| panic!("{}: no rules/sigma/ path in the header", script.display()));
    root.join(rel)
}

#[test]
fn scenarios_name_loadable_rules_and_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("fixtures/scenarios/sigma");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh") && !p.ends_with("record.sh"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 20, "only {} scenarios", scripts.len());
    for s in &scripts {
        let rules = sigma::load_file(&rule_of(&root, s)).unwrap();
        let c = Compiled::new(rules.into_iter().next().unwrap());
        assert_eq!(
            c.applicability,
            Applicability::Applicable,
            "{}",
            s.display()
        );
        let out = Command::new("bash").arg(s).arg("both").output().unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            s.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Real recordings of every scenario (`fixtures/recordings/sigma/<slug>/`,
/// made by `fixtures/scenarios/sigma/record.sh` as root): the rule fires on
/// the positive phase and stays silent on the negative one.
#[test]
fn recorded_scenarios_fire_only_on_the_positive_phase() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rec_dir = root.join("fixtures/recordings/sigma");
    let mut slugs: Vec<String> = std::fs::read_dir(&rec_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    slugs.sort();
    assert!(slugs.len() >= 20, "only {} recorded scenarios", slugs.len());
    let mut scripts: Vec<String> = std::fs::read_dir(root.join("fixtures/scenarios/sigma"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".sh").map(str::to_owned)
        })
        .filter(|s| s != "record")
        .collect();
    scripts.sort();
    assert_eq!(
        slugs, scripts,
        "every scenario script has a recording (fixtures/scenarios/sigma/record.sh)"
    );
    let mut lines = Vec::new();
    for slug in &slugs {
        let script = root.join(format!("fixtures/scenarios/sigma/{slug}.sh"));
        let rule = sigma::load_file(&rule_of(&root, &script))
            .unwrap()
            .remove(0);
        let engine = Engine::new(&[to_ir(&Compiled::new(rule))]).unwrap();
        for phase in ["positive", "negative"] {
            let report = replay_paths(
                &engine,
                &[rec_dir.join(slug).join(phase)],
                Options::default(),
                &mut |_| {},
            )
            .unwrap();
            let expect_fire = phase == "positive";
            assert_eq!(
                !report.verdicts.is_empty(),
                expect_fire,
                "{slug} {phase}: {} verdicts",
                report.verdicts.len()
            );
            for v in &report.verdicts {
                // The output names the process; pids and times vary per
                // recording, so the snapshot keeps the stable parts.
                let out = v.output.split(" pid=").next().unwrap_or_default();
                lines.push(format!(
                    "{slug} {phase}: {} {} | {out}",
                    v.rule_id, v.priority
                ));
            }
        }
    }
    insta::assert_snapshot!("recorded_scenarios", lines.join("\n"));
}
