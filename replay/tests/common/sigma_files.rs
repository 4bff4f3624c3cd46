// Shared by the Sigma tests (included, not a test crate of its own).

use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/rules/sigma")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// The Linux rule files of the corpus: all of `rules/linux`, all of
/// `rules-threat-hunting/linux`, and the `product: linux` rules of
/// `rules-emerging-threats`.
pub fn linux_rule_files() -> Vec<PathBuf> {
    let root = corpus_root();
    let mut files = Vec::new();
    walk(&root.join("rules/linux"), &mut files);
    walk(&root.join("rules-threat-hunting/linux"), &mut files);
    let mut et = Vec::new();
    walk(&root.join("rules-emerging-threats"), &mut et);
    files.extend(et.into_iter().filter(|p| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .any(|l| l.trim() == "product: linux")
    }));
    files
}
