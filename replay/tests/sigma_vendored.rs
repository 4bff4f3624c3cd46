//! The Sigma rules vendored under `rules/sigma/` (SigmaHQ, release
//! r2026-07-01, Detection Rule License 1.1) are the published rules, byte for
//! byte, with the release's licence text next to them; each loads, and how it
//! applies to a syscall recording is pinned.

use std::path::{Path, PathBuf};

use hindsight_replay::sigma::{self, Compiled};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vendored() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("rules/sigma/linux"), &mut out);
    out
}

#[test]
fn vendored_rules_are_the_published_ones() {
    let shared = root().join("../shared/rules/sigma");
    let files = vendored();
    assert!(files.len() >= 5, "only {} vendored rules", files.len());
    let license = std::fs::read(root().join("rules/sigma/LICENSE")).unwrap();
    assert!(
        String::from_utf8_lossy(&license).contains("Detection Rule License (DRL) 1.1"),
        "rules/sigma/LICENSE must carry the DRL 1.1 attribution"
    );
    if !shared.is_dir() {
        eprintln!(
            "{} is absent: not comparing with the release",
            shared.display()
        );
        return;
    }
    assert_eq!(license, std::fs::read(shared.join("LICENSE")).unwrap());
    for f in &files {
        assert!(
            f.extension().is_some_and(|e| e == "yml"),
            "{}: not a rule",
            f.display()
        );
        let rel = f.strip_prefix(root().join("rules/sigma")).unwrap();
        let published = shared.join("rules").join(rel);
        assert_eq!(
            std::fs::read(f).unwrap(),
            std::fs::read(&published).unwrap_or_else(|e| panic!("{}: {e}", published.display())),
            "{} differs from {}",
            f.display(),
            published.display()
        );
    }
}

#[test]
fn vendored_rules_load_and_are_classified() {
    let mut lines = Vec::new();
    for f in vendored() {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        for r in sigma::load_file(&f).unwrap_or_else(|e| panic!("{e}")) {
            let c = Compiled::new(r);
            lines.push(format!(
                "{rel}\n  {} {} [{}]: {}",
                c.rule.id,
                c.rule.title,
                c.rule.level.as_deref().unwrap_or("-"),
                c.applicability
            ));
        }
    }
    insta::assert_snapshot!("vendored_rules", lines.join("\n"));
}
