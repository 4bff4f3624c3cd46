//! Sigma rules through the command line: `hindsight sigma check|fields`, the
//! notes `replay` prints about rules that do not run or name fields no
//! recording fills, bad rule files (file,
//! rule id, line, column and what is wrong on stderr; exit 2) and `--help`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hindsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run hindsight")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PTY_RULE: &str = "rules/sigma/linux/process_creation/proc_creation_lnx_python_pty_spawn.yml";

#[test]
fn check_classifies_every_vendored_rule() {
    let out = hindsight(&["sigma", "check", "rules/sigma", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |s: &str| rows.iter().filter(|r| r["runs"] == s).count();
    assert_eq!(rows.len(), 26);
    assert_eq!(
        (count("runs"), count("cannot_fire"), count("not_applicable")),
        (24, 1, 1)
    );
    for r in &rows {
        assert!(
            r["file"]
                .as_str()
                .unwrap()
                .starts_with("rules/sigma/linux/")
        );
        assert_eq!(
            r["runs"] == "runs",
            !r["views"].as_array().unwrap().is_empty()
        );
    }
    let only = hindsight(&[
        "sigma",
        "check",
        "rules/sigma",
        "--status",
        "not-applicable",
    ]);
    let lines: Vec<String> = text(&only.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains(": not applicable: "), "{}", lines[0]);
    assert_eq!(
        lines[1],
        "26 rules in 26 files: 24 run, 1 cannot fire, 1 not applicable"
    );
}

#[test]
fn check_skips_files_that_are_not_sigma() {
    let out = hindsight(&["sigma", "check", "rules/hindsight/default.yaml", PTY_RULE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rules/hindsight/default.yaml: not a Sigma rule file"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).ends_with("1 rules in 1 files: 1 run, 0 cannot fire, 0 not applicable\n")
    );
}

#[test]
fn fields_prints_the_mapping_and_rejects_unknown_log_sources() {
    let out = hindsight(&["sigma", "fields", "auditd"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.starts_with("auditd:EXECVE: process_exec rows\n"), "{s}");
    assert!(
        s.contains("  a0, a1, ...          process_args[N]\n"),
        "{s}"
    );
    assert!(!s.contains("process_creation:"), "{s}");
    let all = text(&hindsight(&["sigma", "fields"]).stdout);
    let views: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split(": ").next())
        .collect();
    assert_eq!(views.len(), 17, "{views:?}");
    for v in [
        "process_creation",
        "file_event:rename",
        "network_connection:accept",
        "auditd:PATH:delete",
        "file_delete",
        "process_termination",
    ] {
        assert!(views.contains(&v), "{v} not in {views:?}");
    }
    let bad = hindsight(&["sigma", "fields", "dns_query"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("unknown log source `dns_query`"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn replay_notes_rules_that_do_not_run() {
    let out = hindsight(&[
        "replay",
        "fixtures/recordings/sigma/python-pty-spawn/negative",
        "--rules",
        "rules/sigma",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "note: 2 of 26 Sigma rules do not run on syscall recordings (1 not applicable, 1 cannot fire)"
        ),
        "{}",
        text(&out.stderr)
    );
    let quiet = hindsight(&[
        "replay",
        "fixtures/recordings/sigma/python-pty-spawn/negative",
        "--rules",
        PTY_RULE,
    ]);
    assert!(
        !text(&quiet.stderr).contains("note:"),
        "{}",
        text(&quiet.stderr)
    );
}

/// A rule that runs but names fields no recording fills (a filter on
/// `OriginalFileName`, a misspelled `CommandLIne`) gets one note on stderr
/// from `replay`, as `sigma check` says: such a filter never excludes.
#[test]
fn replay_notes_fields_a_rule_never_fills() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("cat.yml");
    std::fs::write(
        &rule,
        "title: cat not original\nid: cat-not-original\nlogsource:\n  product: linux\n  category: process_creation\n\
         detection:\n  selection:\n    Image|endswith: /cat\n  filter:\n    OriginalFileName: cat\n\
         \x20 typo:\n    CommandLIne: xyz\n  condition: selection and not filter and not typo\nlevel: low\n",
    )
    .unwrap();
    let rule = rule.to_str().unwrap();
    let out = hindsight(&["replay", "fixtures/recordings/intrusion", "--rules", rule]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
    assert_eq!(
        notes,
        [format!(
            "note: {rule}:1: rule 'cat-not-original' names fields recordings never fill \
             (null in every event): CommandLIne (did you mean CommandLine?), OriginalFileName"
        )],
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
}

/// Each bad rule file is reported by `replay` and `sigma check` with the
/// file, line and column, the rule id when there is one, and what is wrong.
#[test]
fn bad_rules_name_file_rule_line_column_and_problem() {
    let good = std::fs::read_to_string(repo().join(PTY_RULE)).unwrap();
    let id = "c4042d54-110d-45dd-a0e1-05c47822c937";
    let cases = [
        (
            "modifier",
            good.replace("Image|endswith:", "Image|endwith:"),
            vec![
                format!(
                    "rule {id}: search `selection_img`: unknown modifier `endwith` on field `Image` (did you mean `endswith`?)"
                ),
                ":22:17".into(),
            ],
        ),
        (
            "condition",
            good.replace(
                "condition: all of selection_*",
                "condition: selection_img and selection_pty",
            ),
            vec![
                format!("rule {id}: condition: the condition names `selection_pty`"),
                ":35:".into(),
            ],
        ),
        (
            "yaml",
            good.replace("    selection_img:", "    selection_img: [oops"),
            vec!["malformed YAML: ".into(), ":".into()],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, body, wants) in cases {
        assert_ne!(body, good, "{name}: the rule text changed upstream");
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, &body).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec![
                "replay",
                "fixtures/recordings/sigma/python-pty-spawn/positive",
                "--rules",
                p,
            ],
            vec!["sigma", "check", p],
        ] {
            let out = hindsight(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
            assert!(err.contains(p), "{name} {args:?}: no file in {err}");
            for w in &wants {
                assert!(
                    err.contains(w.as_str()),
                    "{name} {args:?}: `{w}` not in {err}"
                );
            }
            assert!(out.stdout.is_empty(), "{name} {args:?}: nothing runs");
        }
    }
}

#[test]
fn help_teaches() {
    let top = text(&hindsight(&["sigma", "--help"]).stdout);
    assert!(top.contains("hindsight sigma check rules/sigma"), "{top}");
    let check = text(&hindsight(&["sigma", "check", "--help"]).stdout);
    for w in [
        "runs",
        "cannot fire",
        "not applicable",
        "--status",
        "--format",
        "Exit status",
    ] {
        assert!(check.contains(w), "`{w}` not in {check}");
    }
    let fields = text(&hindsight(&["sigma", "fields", "--help"]).stdout);
    assert!(
        fields.contains("LOGSOURCE") && fields.contains("auditd"),
        "{fields}"
    );
}
