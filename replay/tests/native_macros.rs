//! Macros, lists and list-valued `IN` / `INTERSECTS` in Hindsight's native
//! rules: verdicts over a real fixture (snapshot, and equal to the same rules
//! written out by hand) and the errors bad definitions get (snapshots).

use std::path::{Path, PathBuf};

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::lang::{SourceFile, load, load_sources};
use hindsight_replay::run::replay_paths;
use hindsight_replay::suite::report_lines;
use hindsight_replay::verdict::Report;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn replay(sources: Vec<SourceFile>) -> Report {
    let set = load_sources(sources, Vec::new()).unwrap_or_else(|d| panic!("{d}"));
    let engine = Engine::new(&set.rules).unwrap();
    std::env::set_current_dir(repo()).unwrap();
    replay_paths(
        &engine,
        &[PathBuf::from("fixtures/recordings/synthetic-small")],
        Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

fn source(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

/// (rule, seq) of every verdict.
fn fired(r: &Report) -> Vec<(String, u64)> {
    r.verdicts.iter().map(|v| (v.rule.clone(), v.seq)).collect()
}

#[test]
fn example_rules_on_synthetic_small() {
    let set = load(&[repo().join("rules/examples/macros.yaml")]).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(set.files[0].1, "hindsight");
    let engine = Engine::new(&set.rules).unwrap();
    std::env::set_current_dir(repo()).unwrap();
    let report = replay_paths(
        &engine,
        &[PathBuf::from("fixtures/recordings/synthetic-small")],
        Options::default(),
        &mut |_| {},
    )
    .unwrap();
    let rules: std::collections::BTreeSet<&str> =
        report.verdicts.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(rules.len(), 3, "every example rule fires: {rules:?}");
    insta::assert_snapshot!(report_lines(&report).join("\n"));
}

#[test]
fn macros_and_lists_expand_to_the_written_out_rules() {
    let with_defs = "
- macro: opened
  condition: syscall IN (open_syscalls) AND ret >= 0
- list: open_syscalls
  items: [open, openat, openat2]
- list: quiet
  items: [/usr/sbin/sshd, more_quiet]
- list: more_quiet
  items: [/usr/bin/sudo]
- macro: shadow
  condition: opened AND file_path IN ('/etc/shadow', '/etc/gshadow')
- rule: r
  description: d
  condition: shadow AND NOT proc_exe IN (quiet, '/usr/bin/login')
- rule: argv
  description: d
  condition: event_kind = 'process_exec' AND proc_argv INTERSECTS ('-i', '-c')
";
    let written_out = "
- rule: r
  description: d
  condition: >
    (syscall IN ('open', 'openat', 'openat2') AND ret >= 0) AND file_path IN ('/etc/shadow', '/etc/gshadow')
    AND NOT proc_exe IN ('/usr/sbin/sshd', '/usr/bin/sudo', '/usr/bin/login')
- rule: argv
  description: d
  condition: event_kind = 'process_exec' AND (proc_argv = '-i' OR proc_argv = '-c')
";
    let a = replay(vec![source("a.yaml", with_defs)]);
    let b = replay(vec![source("b.yaml", written_out)]);
    assert!(fired(&a).iter().any(|(r, _)| r == "r"));
    assert!(fired(&a).iter().any(|(r, _)| r == "argv"));
    assert_eq!(fired(&a), fired(&b));
}

#[test]
fn definitions_are_shared_between_files() {
    let defs = source(
        "defs.yaml",
        "# language: hindsight\n- list: sensitive\n  items: [/etc/shadow]\n- macro: reads_sensitive\n  condition: file_path IN (sensitive)\n",
    );
    let rules = source(
        "rules.yaml",
        "- rule: r\n  description: d\n  condition: reads_sensitive AND ret >= 0\n",
    );
    let r = replay(vec![rules, defs]);
    assert!(!r.verdicts.is_empty());
}

#[test]
fn list_valued_in_and_intersects() {
    // `IN` and `INTERSECTS` on a list-valued field hold when some element is in the list;
    // NOT of them when no element is.
    let text = "
- rule: in
  description: d
  condition: event_kind = 'process_exec' AND proc_argv IN ('-O2')
- rule: intersects
  description: d
  condition: event_kind = 'process_exec' AND proc_argv INTERSECTS ('-O2')
- rule: none
  description: d
  condition: event_kind = 'process_exec' AND proc_name = 'gcc' AND NOT proc_argv INTERSECTS ('-O2')
";
    let r = replay(vec![source("l.yaml", text)]);
    let count = |name: &str| r.verdicts.iter().filter(|v| v.rule == name).count();
    assert!(count("in") > 0);
    assert_eq!(count("in"), count("intersects"));
    // gcc links without -O2 (`gcc -o tool main.o util.o`).
    assert!(count("none") > 0);
    for v in r.verdicts.iter().filter(|v| v.rule == "none") {
        let argv = v.fields.iter().find(|(k, _)| k == "proc_argv").unwrap();
        assert!(!argv.1.to_string().contains("-O2"), "{argv:?}");
    }
}

fn error_of(files: &[(&str, &str)]) -> String {
    let sources = files.iter().map(|(p, t)| source(p, t)).collect();
    match load_sources(sources, Vec::new()) {
        Ok(_) => panic!("should not load"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn bad_definitions() {
    let cases: [(&str, &[(&str, &str)]); 9] = [
        (
            "misspelled_macro",
            &[(
                "bad.yaml",
                "- macro: opened\n  condition: syscall = 'openat'\n- rule: r\n  description: d\n  condition: openedd AND ret >= 0\n",
            )],
        ),
        (
            "misspelled_list",
            &[(
                "bad.yaml",
                "- list: shells\n  items: [bash]\n- rule: r\n  description: d\n  condition: proc_name IN (shels)\n",
            )],
        ),
        (
            "macro_cycle",
            &[(
                "bad.yaml",
                "- macro: a\n  condition: b AND ret = 0\n- macro: b\n  condition: syscall = 'openat' OR a\n- rule: r\n  description: d\n  condition: a\n",
            )],
        ),
        (
            "list_cycle",
            &[(
                "bad.yaml",
                "- list: a\n  items: [x, b]\n- list: b\n  items: [a]\n- rule: r\n  description: d\n  condition: proc_name IN (a)\n",
            )],
        ),
        (
            "error_in_unused_macro",
            &[(
                "bad.yaml",
                "- macro: m\n  condition: ret = 'zero'\n- rule: r\n  description: d\n  condition: ret = 0\n",
            )],
        ),
        (
            "duplicate_across_files",
            &[
                (
                    "one.yaml",
                    "- macro: m\n  condition: ret = 0\n- rule: r\n  description: d\n  condition: m\n",
                ),
                (
                    "two.yaml",
                    "- macro: m\n  condition: ret = 1\n- rule: s\n  description: d\n  condition: m\n",
                ),
            ],
        ),
        (
            "macro_named_like_a_field",
            &[(
                "bad.yaml",
                "- macro: syscall\n  condition: ret = 0\n- rule: r\n  description: d\n  condition: ret = 0\n",
            )],
        ),
        (
            "output_in_a_macro",
            &[(
                "bad.yaml",
                "- macro: m\n  condition: ret = 0\n  output: x\n- rule: r\n  description: d\n  condition: m\n",
            )],
        ),
        (
            "list_without_items",
            &[(
                "bad.yaml",
                "- list: l\n- rule: r\n  description: d\n  condition: proc_name IN (l)\n",
            )],
        ),
    ];
    for (name, files) in cases {
        insta::assert_snapshot!(name, error_of(files));
    }
}
