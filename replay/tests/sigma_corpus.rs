//! Every SigmaHQ Linux rule (release r2026-07-01, Detection Rule License 1.1)
//! loads, and each is classified as applicable, cannot-fire or not applicable
//! to a syscall recording.

use std::collections::BTreeMap;
mod sigma_corpus_files {
    include!("common/sigma_files.rs");
}
use sigma_corpus_files::linux_rule_files;

use hindsight_replay::sigma::{self, Applicability, Compiled};

#[test]
fn every_linux_rule_loads_and_is_classified() {
    let files = linux_rule_files();
    let mut errors = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_source: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut cannot: Vec<String> = Vec::new();
    for f in &files {
        match sigma::load_file(f) {
            Err(e) => errors.push(e.to_string()),
            Ok(rules) => {
                for r in rules {
                    let source = r
                        .logsource
                        .category
                        .clone()
                        .or_else(|| r.logsource.service.clone().map(|s| format!("service:{s}")))
                        .unwrap_or_else(|| "none".into());
                    let c = Compiled::new(r);
                    let class = match &c.applicability {
                        Applicability::Applicable => "applicable",
                        Applicability::NotApplicable(_) => "not_applicable",
                        Applicability::CannotFire(_) => {
                            cannot.push(format!("{} {}", c.rule.title, c.applicability));
                            "cannot_fire"
                        }
                    };
                    *counts.entry("loaded".into()).or_default() += 1;
                    *counts.entry(class.into()).or_default() += 1;
                    *by_source
                        .entry(source)
                        .or_default()
                        .entry(class)
                        .or_default() += 1;
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "rules that failed to load:\n{}",
        errors.join("\n")
    );
    eprintln!(
        "{counts:#?}\n{by_source:#?}\ncannot fire:\n{}",
        cannot.join("\n")
    );
    insta::assert_yaml_snapshot!("corpus_counts", (&counts, &by_source));
}
