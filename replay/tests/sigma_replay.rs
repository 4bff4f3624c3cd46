//! The SigmaHQ Linux rules replayed over the committed fixture recording
//! through the shared engine: which rules fire, how often, with which level,
//! status and ATT&CK tags (a snapshot; any change shows up in review).

mod sigma_corpus_files {
    include!("common/sigma_files.rs");
}

use std::collections::BTreeMap;
use std::path::Path;

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang;
use hindsight_replay::run::replay_paths;

#[test]
fn linux_rules_over_synthetic_small() {
    let files = sigma_corpus_files::linux_rule_files();
    let set = lang::load(&files).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(set.files.iter().all(|(_, l)| *l == "sigma"));
    assert_eq!(set.rules.len(), 248);
    assert_eq!(set.rules.iter().filter(|r| r.enabled).count(), 213);
    let engine = Engine::new(&set.rules).unwrap_or_else(|e| panic!("{e:?}"));
    let rec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings/synthetic-small");
    let report = replay_paths(&engine, &[rec], Options::default(), &mut |_| {}).unwrap();
    let mut per_rule: BTreeMap<(String, String), (usize, String, Vec<String>)> = BTreeMap::new();
    for v in &report.verdicts {
        let e = per_rule
            .entry((v.rule_id.clone(), v.rule.clone()))
            .or_insert_with(|| (0, v.priority.to_owned(), v.tags.clone()));
        e.0 += 1;
    }
    let rows: Vec<String> = per_rule
        .iter()
        .map(|((id, title), (n, prio, tags))| {
            format!("{n:4} {prio:13} {id} {title} [{}]", tags.join(", "))
        })
        .collect();
    insta::assert_snapshot!("sigma_linux_over_synthetic_small", rows.join("\n"));
}
