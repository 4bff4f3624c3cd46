//! The Sigma scenario scripts (`fixtures/scenarios/sigma/*.sh`) stay valid:
//! each names a rule of the corpus that loads and can fire, and runs both
//! phases successfully.

use std::path::Path;
use std::process::Command;

use hindsight_replay::sigma::{self, Applicability, Compiled};

#[test]
fn scenarios_name_loadable_rules_and_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("fixtures/scenarios/sigma");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 20, "only {} scenarios", scripts.len());
    for s in &scripts {
        let text = std::fs::read_to_string(s).unwrap();
        let rule_path = text
            .lines()
            .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("../shared/"))
            .unwrap_or_else(|| panic!("{}: no rule path in the header", s.display()));
        let rules = sigma::load_file(&root.join("../shared").join(rule_path)).unwrap();
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
