//! Users' own Falco files loaded after the corpus: `append`, `override`,
//! `exceptions`, `enabled: false`; and every kind of bad input, with its
//! file, line, column, caret and suggestion.

use std::path::PathBuf;

use hindsight_replay::falco::{self, FalcoRuleSet};
use hindsight_replay::lang::SourceFile;

fn stable() -> SourceFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/falco/falco_rules.yaml");
    SourceFile {
        text: std::fs::read_to_string(path).expect("stable rules"),
        path: "falco_rules.yaml".into(),
    }
}

fn user(text: &str) -> SourceFile {
    SourceFile {
        path: "my_rules.yaml".into(),
        text: text.into(),
    }
}

fn load(text: &str) -> FalcoRuleSet {
    falco::compile_files(&[stable(), user(text)]).unwrap_or_else(|d| panic!("{d:?}"))
}

fn errors(text: &str) -> String {
    match falco::compile_files(&[user(text)]) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

#[test]
fn append_override_exceptions_enabled() {
    let set = load(
        r#"
- list: shell_binaries
  items: [fish]
  append: true
- macro: user_known_read_sensitive_files_activities
  condition: (proc.name = backup-agent)
  override:
    condition: replace
- rule: Read sensitive file untrusted
  exceptions:
    - name: trusted_readers
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [my-agent, /etc/shadow]
  append: true
- rule: Search Private Keys or Passwords
  enabled: false
- rule: Clear Log Activities
  priority: CRITICAL
  override:
    priority: replace
"#,
    );
    let untrusted = set.rule("Read sensitive file untrusted").expect("rule");
    let cond = format!("{:?}", untrusted.rule.condition);
    assert!(
        cond.contains("my-agent") && cond.contains("backup-agent"),
        "{cond}"
    );
    assert!(
        format!(
            "{:?}",
            set.rule("Run shell untrusted").unwrap().rule.condition
        )
        .contains("fish")
    );
    assert!(
        !set.rule("Search Private Keys or Passwords")
            .unwrap()
            .rule
            .enabled
    );
    assert_eq!(
        set.rule("Clear Log Activities")
            .unwrap()
            .rule
            .priority
            .as_str(),
        "Critical"
    );
}

#[test]
fn bad_input_is_explained() {
    let cases = [
        // A misspelled field, with a suggestion.
        "- rule: r\n  desc: d\n  condition: evt.type = open and proc.nmae = sh\n  output: o\n  priority: WARNING\n",
        // An undefined macro, with a suggestion.
        "- macro: spawned_process\n  condition: evt.type = execve\n- rule: r\n  desc: d\n  condition: >\n    spawned_proces and proc.name = sh\n  output: o\n  priority: WARNING\n",
        // A syntax error.
        "- rule: r\n  desc: d\n  condition: (proc.name = sh\n  output: o\n  priority: WARNING\n",
        // A wrong-type comparison.
        "- rule: r\n  desc: d\n  condition: fd.num = three\n  output: o\n  priority: WARNING\n",
        // An operator the field's type does not allow.
        "- rule: r\n  desc: d\n  condition: proc.pid contains 1\n  output: o\n  priority: WARNING\n",
        // A macro that uses one defined after it (Falco: undefined).
        "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: WARNING\n",
        // A macro cycle (`a` redefined after `b`, so each sees the other).
        "- macro: a\n  condition: evt.num = 0\n- macro: b\n  condition: a\n- macro: a\n  condition: b\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: WARNING\n",
        // An undefined list after `in`, a bad priority, an unknown output field.
        "- rule: r\n  desc: d\n  condition: proc.name in shell_binarie\n  output: o\n  priority: WARNING\n- rule: s\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: LOUD\n- rule: t\n  desc: d\n  condition: proc.name = x\n  output: '%proc.nam'\n  priority: INFO\n",
        // Appending to something that does not exist.
        "- list: nope\n  items: [a]\n  append: true\n",
    ];
    let rendered: Vec<String> = cases.iter().map(|c| errors(c)).collect();
    insta::assert_snapshot!(rendered.join("\n\n----\n\n"));
}

/// A bad `priority` or output field points at where it was written, not at
/// `- rule:`, and one error does not hide the next: every error of the file
/// is reported at once (priority, condition, each output field, an
/// appended output's field, an override's priority).
#[test]
fn every_error_of_a_rule_points_at_its_key() {
    let e = errors(
        r#"- rule: r
  desc: d
  condition: evt.type = open and proc.nmae = sh
  output: "%proc.nam and %fd.nme"
  priority: LOUD
- rule: r
  append: true
  output: >
    more
    %evt.tpye
- rule: s
  desc: d
  condition: evt.type = open
  output: ok
  priority: "Noisy"
- rule: s
  override:
    priority: replace
  priority: louder
"#,
    );
    let at = |line: usize, col: usize, caret: &str, text: &str| {
        assert!(
            e.contains(&format!("  --> my_rules.yaml:{line}:{col}\n")),
            "{line}:{col} in\n{e}"
        );
        let pad = " ".repeat(col - 1);
        assert!(e.contains(&format!("|{pad} {caret}\n")), "{caret} in\n{e}");
        assert!(e.contains(text), "{text} in\n{e}");
    };
    at(5, 13, "^^^^", "invalid priority 'LOUD'");
    at(3, 34, "^^^^^^^^^", "unknown field 'proc.nmae'");
    at(4, 12, "^^^^^^^^^", "unknown field 'proc.nam'");
    at(4, 26, "^^^^^^^", "unknown field 'fd.nme'");
    at(10, 5, "^^^^^^^^^", "unknown field 'evt.tpye'");
    at(15, 14, "^^^^^", "invalid priority 'Noisy'");
    at(19, 13, "^^^^^^", "invalid priority 'louder'");
    assert_eq!(e.matches("error: ").count(), 7, "{e}");
    assert!(!e.contains("- rule:"), "{e}");
}

/// A condition that cannot be resolved (an undefined macro or list, a macro
/// that is itself broken) does not hide the output template's errors.
#[test]
fn an_unresolved_condition_does_not_hide_the_output() {
    let e = errors(
        r#"- rule: r
  desc: d
  condition: open_reed and fd.name = /etc/shadow
  output: "%proc.nam"
  priority: WARNING
- rule: s
  desc: d
  condition: proc.name in shell_binarie
  output: "%fd.nme"
  priority: WARNING
- macro: broken
  condition: proc.nmae = sh
- rule: t
  desc: d
  condition: broken
  output: "%evt.tpye"
  priority: WARNING
"#,
    );
    for (at, text) in [
        ("my_rules.yaml:3:14", "undefined macro 'open_reed'"),
        (
            "my_rules.yaml:4:12",
            "unknown field 'proc.nam' (in rule 'r')",
        ),
        ("my_rules.yaml:8:27", "undefined list 'shell_binarie'"),
        ("my_rules.yaml:9:12", "unknown field 'fd.nme' (in rule 's')"),
        ("my_rules.yaml:12:14", "unknown field 'proc.nmae'"),
        (
            "my_rules.yaml:16:12",
            "unknown field 'evt.tpye' (in rule 't')",
        ),
    ] {
        assert!(e.contains(&format!("  --> {at}\n")), "{at} in\n{e}");
        assert!(e.contains(text), "{text} in\n{e}");
    }
    assert_eq!(e.matches("error: ").count(), 6, "{e}");
}

/// Errors are found by kind (items, conditions, outputs) but reported in
/// load order of the files, then by line and column.
#[test]
fn errors_are_in_file_then_line_order() {
    let first = SourceFile {
        path: "first.yaml".into(),
        text: "- rule: a\n  desc: d\n  condition: proc.name in shell_binarie\n  output: \"%proc.nam %fd.nme\"\n  priority: WARNING\n- rule: b\n  desc: d\n  condition: proc.nmae = x\n  output: o\n  priority: LOUD\n".into(),
    };
    let second = SourceFile {
        path: "second.yaml".into(),
        text:
            "- rule: c\n  desc: d\n  condition: evt.tpye = open\n  output: o\n  priority: NOISY\n"
                .into(),
    };
    let Err(d) = falco::compile_files(&[first, second]) else {
        panic!("expected errors");
    };
    let at: Vec<String> = d
        .iter()
        .map(|d| format!("{}:{}:{}", d.file, d.line, d.column))
        .collect();
    assert_eq!(
        at,
        [
            "first.yaml:3:27",
            "first.yaml:4:12",
            "first.yaml:4:22",
            "first.yaml:8:14",
            "first.yaml:10:13",
            "second.yaml:3:14",
            "second.yaml:5:13",
        ]
    );
}

#[test]
fn not_falco_yaml_says_so() {
    let e = errors("title: a sigma rule\ndetection:\n  sel: {a: b}\n");
    assert!(e.contains("is not a Falco rules file"), "{e}");
    let e = errors("- foo: 1\n- bar: 2\n");
    assert!(e.contains("no item has a `rule`"), "{e}");
    assert_eq!(falco::detect("- rule: x\n  desc: y\n"), 90);
    assert_eq!(falco::detect("title: x\ndetection:\n"), 0);
}

#[test]
fn a_yaml_syntax_error_is_reported_at_its_line_with_a_caret() {
    let e = errors(
        "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: WARNING\n- list: x\n  items: [a, b\n",
    );
    assert!(e.starts_with("error: YAML syntax error: "), "{e}");
    assert!(!e.contains("error: line"), "{e}");
    assert!(!e.contains("not a Falco rules file"), "{e}");
    assert!(e.contains("  --> my_rules.yaml:7:10\n"), "{e}");
    assert!(e.contains("7 |   items: [a, b\n"), "{e}");
    assert!(e.contains("^\n"), "{e}");
    // YAML of the wrong shape is still "not a Falco rules file", now with a position.
    let e = errors("title: a sigma rule\ndetection:\n  sel: {a: b}\n");
    assert!(e.contains("is not a Falco rules file"), "{e}");
    assert!(!e.contains(": error: "), "{e}");
}

/// A tuning file (only `enabled: false`, or an `override`) loaded after the
/// corpus is read as Falco, not as a Hindsight rules file missing its
/// condition; keys Falco ignores are reported with a suggestion.
#[test]
fn tuning_files_are_falco_and_unknown_keys_warn() {
    use hindsight_replay::lang;
    let off = user("- rule: Read sensitive file untrusted\n  enabled: false\n");
    let over = user(
        "- rule: Read sensitive file untrusted\n  condition: and proc.name != cat\n  override:\n    condition: append\n",
    );
    let typo = user(
        "- rule: My rule\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: WARNING\n  enabeld: false\n",
    );
    for f in [&off, &over, &typo] {
        assert_eq!(lang::detect(f).unwrap().name(), "falco", "{}", f.text);
    }
    let set = lang::load_sources(vec![stable(), off], Vec::new()).unwrap();
    let rule = set
        .rules
        .iter()
        .find(|r| r.id == "Read sensitive file untrusted")
        .unwrap();
    assert!(!rule.enabled);
    let set = lang::load_sources(vec![stable(), over], Vec::new()).unwrap();
    assert!(
        set.remarks.warnings.is_empty(),
        "{:?}",
        set.remarks.warnings
    );
    let set = lang::load_sources(vec![stable(), typo], Vec::new()).unwrap();
    assert_eq!(
        set.remarks.warnings,
        [
            "my_rules.yaml:6:3: unknown key `enabeld` in a Falco rules file, ignored as Falco ignores it; did you mean `enabled`?"
        ]
    );
    // The stable file itself uses no unknown key.
    assert!(falco::yaml::unknown_keys(&stable().text).is_empty());
    // Each enabled rule that cannot fire is named, with what it needs.
    // Each one that can fire but treats fields no recording has as missing
    // is named too, with the fields.
    let set = lang::load_sources(vec![stable()], Vec::new()).unwrap();
    let cannot: Vec<_> = set
        .remarks
        .notes
        .iter()
        .filter(|n| n.contains("cannot fire"))
        .collect();
    assert_eq!(cannot.len(), 2, "{:?}", set.remarks.notes);
    assert!(
        cannot[1].starts_with("falco_rules.yaml:")
            && cannot[1].contains(
                "rule 'Debugfs Launched in Privileged Container' cannot fire on this recording: needs container.privileged"
            ),
        "{:?}",
        set.remarks.notes
    );
    let missing: Vec<_> = set
        .remarks
        .notes
        .iter()
        .filter(|n| n.contains("treats fields no recording has as missing"))
        .collect();
    assert_eq!(missing.len(), 6, "{:?}", set.remarks.notes);
    assert_eq!(set.remarks.notes.len(), 8, "{:?}", set.remarks.notes);
    // The loader's own warnings reach the rule set too.
    let later = user(
        "- required_engine_version: 99.0.0\n- rule: Skipped\n  desc: d\n  condition: evt.type = open and proc.nosuch = x\n  output: o\n  priority: WARNING\n  skip-if-unknown-filter: true\n",
    );
    let set = lang::load_sources(vec![later], Vec::new()).unwrap();
    assert_eq!(set.remarks.warnings.len(), 2, "{:?}", set.remarks.warnings);
    assert!(set.remarks.warnings[0].contains("requires Falco engine version 99.0.0"));
    assert!(
        set.remarks.warnings[1].starts_with("my_rules.yaml:4:")
            && set.remarks.warnings[1].contains("rule 'Skipped' skipped (skip-if-unknown-filter)"),
        "{:?}",
        set.remarks.warnings
    );
}
