//! The Falco rules corpus (falcosecurity/rules falco-rules-5.1.0) loads,
//! parses, resolves and compiles without error, and what cannot fire on a
//! recording says why.

use std::path::PathBuf;

use hindsight_replay::falco::{self, FalcoRuleSet};
use hindsight_replay::lang::SourceFile;

/// Where a corpus file lives: the stable file is the one Hindsight ships
/// (`rules/falco/`), the incubating and sandbox files are a test corpus
/// (`fixtures/rules/falco/`).
fn rel_path(name: &str) -> String {
    if name == "falco_rules.yaml" {
        format!("rules/falco/{name}")
    } else {
        format!("fixtures/rules/falco/{name}")
    }
}

fn file(name: &str) -> SourceFile {
    let rel = rel_path(name);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&rel);
    SourceFile {
        text: std::fs::read_to_string(&path).expect("corpus file"),
        path: rel,
    }
}

fn load(names: &[&str]) -> FalcoRuleSet {
    let files: Vec<SourceFile> = names.iter().map(|n| file(n)).collect();
    match falco::compile_files(&files) {
        Ok(set) => set,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n\n")
        ),
    }
}

const ALL: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

#[test]
fn the_three_files_load_with_exact_counts() {
    let set = load(&ALL);
    assert_eq!(set.items_read, (93, 352, 163), "rules, macros, lists read");
    assert_eq!(set.rules.len(), 93);
    assert_eq!(set.required_plugins, ["container 0.4.0"; 3]);
}

#[test]
fn each_file_loads_on_its_own() {
    assert_eq!(load(&ALL[..1]).items_read, (25, 87, 49));
    // The incubating and sandbox files reuse macros of the stable file.
    assert_eq!(load(&ALL[..2]).rules.len(), 25 + 31);
}

#[test]
fn coverage_of_the_corpus() {
    let set = load(&ALL);
    let mut report = String::new();
    for r in &set.rules {
        let status = match r.cannot_fire() {
            Some(why) => why,
            None if r.treated_as_missing.is_empty() => "evaluates".to_string(),
            None => format!(
                "evaluates; treated as missing: {}",
                r.treated_as_missing.join(", ")
            ),
        };
        report.push_str(&format!("{}: {status}\n", r.rule.name));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn the_book_documents_every_supported_field() {
    let book = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src/falco.md"),
    )
    .expect("book chapter");
    for f in falco::fields::SUPPORTED {
        let shown = if f.name == "evt.arg" {
            "`evt.arg.NAME`".to_string()
        } else {
            format!("| `{}", f.name)
        };
        assert!(
            book.contains(&shown),
            "book/src/falco.md does not document {}",
            f.name
        );
    }
}
