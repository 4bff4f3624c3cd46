//! `hindsight replay`, `diff` and `test`: exit codes and output formats.

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

const REC: &str = "fixtures/recordings/synthetic-small";
const RULES: &str = "rules/hindsight/default.yaml";

#[test]
fn replay_exit_codes() {
    let fired = hindsight(&["replay", REC, "--rules", RULES]);
    assert_eq!(
        fired.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&fired.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.yaml");
    std::fs::write(
        &quiet,
        "- rule: never\n  description: d\n  condition: syscall = 'openat' AND proc_pid < 0\n",
    )
    .unwrap();
    let none = hindsight(&["replay", REC, "--rules", quiet.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&none.stdout).starts_with("0 verdicts"));
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "- rule: r\n  description: d\n  condition: proc_exee = 'x'\n",
    )
    .unwrap();
    let err = hindsight(&["replay", REC, "--rules", bad.to_str().unwrap()]);
    assert_eq!(err.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains("bad.yaml:3:14") && stderr.contains("did you mean `proc_exe`?"),
        "{stderr}"
    );
    let missing = hindsight(&[
        "replay",
        "fixtures/recordings/does-not-exist",
        "--rules",
        RULES,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does-not-exist"));
}

#[test]
fn replay_formats() {
    let jsonl = hindsight(&["replay", REC, "--rules", RULES, "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "verdict" && l["seq"].is_u64() && l["fields"].is_object())
    );
    let json = hindsight(&["replay", REC, "--rules", RULES, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["verdicts"].as_array().unwrap().len(), lines.len());
    assert_eq!(doc["events"], 20000);
    let falco = hindsight(&["replay", REC, "--rules", RULES, "--format", "falco-json"]);
    for l in String::from_utf8_lossy(&falco.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(
            v["rule"].is_string()
                && v["priority"].is_string()
                && v["output"].is_string()
                && v["time"].is_string()
        );
    }
    // Deterministic: the same input gives the same bytes.
    let again = hindsight(&["replay", REC, "--rules", RULES, "--format", "json"]);
    assert_eq!(json.stdout, again.stdout);
}

#[test]
fn diff_and_test_exit_codes() {
    let same = hindsight(&["diff", REC, "--old", RULES, "--new", RULES]);
    assert_eq!(same.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.yaml");
    let text = std::fs::read_to_string(repo().join(RULES)).unwrap();
    std::fs::write(
        &new,
        text.replace(
            "AND file_path_user IS NOT NULL",
            "AND file_path_user IS NOT NULL AND ret >= 0 AND file_path != '/etc/sudoers'",
        ),
    )
    .unwrap();
    let changed = hindsight(&["diff", REC, "--old", RULES, "--new", new.to_str().unwrap()]);
    assert_eq!(changed.status.code(), Some(1));
    let out = String::from_utf8_lossy(&changed.stdout);
    assert!(
        out.contains("rule TOCTOU path mismatch: +0 appeared, -3 disappeared"),
        "{out}"
    );

    // A change of priority alone is shown, not only counted.
    let prio = dir.path().join("prio.yaml");
    std::fs::write(
        &prio,
        text.replace(
            "priority: critical\n  tags: [T1562, defense_evasion, phantom_attack]",
            "priority: notice\n  tags: [T1562, defense_evasion, phantom_attack]",
        ),
    )
    .unwrap();
    let changed = hindsight(&["diff", REC, "--old", RULES, "--new", prio.to_str().unwrap()]);
    assert_eq!(changed.status.code(), Some(1));
    let out = String::from_utf8_lossy(&changed.stdout);
    assert!(
        out.contains("changed: priority: Critical -> Notice"),
        "{out}"
    );

    let junit = dir.path().join("junit.xml");
    let ok = hindsight(&["test", "rules/tests", "--junit", junit.to_str().unwrap()]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("failures=\"0\"")
    );
    // A case whose expected file disagrees fails.
    let suite = dir.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    let rec = repo().join(REC);
    let rules = repo().join(RULES);
    std::fs::write(
        suite.join("c.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [{}]\n",
            rec.display(),
            rules.display()
        ),
    )
    .unwrap();
    std::fs::write(suite.join("c.expected.jsonl"), "{\"not\":\"this\"}\n").unwrap();
    let failed = hindsight(&["test", suite.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("- {\"not\":\"this\"}"));
    let updated = hindsight(&["test", suite.to_str().unwrap(), "--update"]);
    assert_eq!(updated.status.code(), Some(0));
    assert_eq!(
        hindsight(&["test", suite.to_str().unwrap()]).status.code(),
        Some(0)
    );
    // The same recording written as an absolute path gives the same lines.
    let fix = dir.path().join("fix/rec");
    std::fs::create_dir_all(fix.join("events")).unwrap();
    for entry in walk(&repo().join(REC)) {
        let rel = entry.strip_prefix(repo().join(REC)).unwrap();
        std::fs::copy(&entry, fix.join(rel)).unwrap();
    }
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    let rules = repo().join(RULES);
    std::fs::write(
        cases.join("rel.test.yaml"),
        format!("recordings: [../fix/rec]\nrules: [{}]\n", rules.display()),
    )
    .unwrap();
    let o = hindsight(&["test", cases.to_str().unwrap(), "--update"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::copy(
        cases.join("rel.expected.jsonl"),
        cases.join("abs.expected.jsonl"),
    )
    .unwrap();
    std::fs::write(
        cases.join("abs.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [{}]\n",
            fix.display(),
            rules.display()
        ),
    )
    .unwrap();
    let o = hindsight(&["test", cases.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Case files are found as `replay --rules DIR` finds rule files: any
    // case, `.test.yml` too, hidden directories (a broken case under .git)
    // left out.
    std::fs::rename(cases.join("abs.test.yaml"), cases.join("abs.TEST.YML")).unwrap();
    std::fs::create_dir(cases.join(".git")).unwrap();
    std::fs::write(cases.join(".git/broken.test.yaml"), "recordings: [\n").unwrap();
    let o = hindsight(&["test", cases.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("case abs ... ok"), "{stdout}");
    assert!(!stdout.contains("broken"), "{stdout}");
    // A directory without cases is an error, not a green CI job.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let none = hindsight(&["test", empty.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no test cases here"), "{err}");
    // Each message once, though the error carries its cause.
    let missing = hindsight(&["test", "no/such/dir"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

/// A case that cannot run (rules that do not load, a missing recording) is
/// an ERROR naming its case file and a JUnit `<error>`; the other cases
/// still run, the JUnit file is written, and the exit status is 2.
#[test]
fn a_case_that_cannot_run_does_not_stop_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    let rec = repo().join(REC);
    let rules = repo().join(RULES);
    std::fs::write(
        suite.join("a-good.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [{}]\n",
            rec.display(),
            rules.display()
        ),
    )
    .unwrap();
    let o = hindsight(&["test", suite.to_str().unwrap(), "--update"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(
        dir.path().join("misspelt.yaml"),
        "- rule: r\n  description: d\n  condition: proc_exee = 'x'\n",
    )
    .unwrap();
    std::fs::write(
        suite.join("b-rules.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [../misspelt.yaml]\n",
            rec.display()
        ),
    )
    .unwrap();
    std::fs::write(
        suite.join("c-norec.test.yaml"),
        format!("recordings: [/nonexist]\nrules: [{}]\n", rules.display()),
    )
    .unwrap();
    let junit = dir.path().join("j.xml");
    let o = hindsight(&[
        "test",
        suite.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(out.contains("case a-good ... ok"), "{out}");
    assert!(out.contains("case b-rules ... ERROR ("), "{out}");
    assert!(
        out.contains("b-rules.test.yaml: rules do not load:"),
        "{out}"
    );
    assert!(out.contains("unknown field `proc_exee`"), "{out}");
    assert!(out.contains("case c-norec ... ERROR ("), "{out}");
    assert!(
        out.contains("c-norec.test.yaml: cannot read recording /nonexist: "),
        "{out}"
    );
    assert!(
        out.contains("3 cases: 1 passed, 0 failed, 2 could not run\n"),
        "{out}"
    );
    assert!(err.contains("error: 2 of 3 cases could not run: "), "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"3\" failures=\"0\" errors=\"2\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<error message=").count(), 2, "{xml}");
    assert!(xml.contains("unknown field `proc_exee`"), "{xml}");
    assert!(xml.contains("name=\"a-good\" file=\""), "{xml}");
}

/// Conditions nested as deeply as allowed (100 levels) run in the debug
/// binary on the main thread's stack, in `replay`, `diff` and `test`; deeper
/// ones (the review's 500 parentheses, 3000 chained macros, 3000 Sigma
/// parentheses) are rule errors with exit 2, not a stack overflow.
#[test]
fn deep_conditions_are_errors_not_stack_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let nest = |levels: usize, and: &str, or: &str, a: &str, b: &str, inner: &str| {
        let mut s = inner.to_string();
        for i in 0..levels {
            let (x, op) = if i % 2 == 1 { (a, and) } else { (b, or) };
            s = format!("{x} {op} ({s})");
        }
        s
    };
    let native = |c: &str| {
        format!("- rule: n\n  description: d\n  priority: warning\n  condition: \"{c}\"\n")
    };
    let falco = |c: &str| {
        format!(
            "- rule: f\n  desc: d\n  condition: {c}\n  output: '%proc.name'\n  priority: WARNING\n"
        )
    };
    let sigma = |c: &str| {
        format!(
            "title: s\nid: 5b1c1a8e-0000-4000-8000-000000000002\nlogsource:\n  category: process_creation\n  product: linux\ndetection:\n  sel:\n    Image|endswith: '/bash'\n  sel0:\n    Image|endswith: '/sh'\n  condition: {c}\nlevel: medium\n"
        )
    };
    let ok = dir.path().join("ok");
    std::fs::create_dir(&ok).unwrap();
    let native_ok = nest(
        100,
        "AND",
        "OR",
        "proc_pid > 1",
        "proc_pid > 0",
        "syscall = 'openat'",
    );
    std::fs::write(ok.join("native.yaml"), native(&native_ok)).unwrap();
    let falco_ok = nest(
        100,
        "and",
        "or",
        "proc.pid > 1",
        "proc.pid > 0",
        "evt.type = openat",
    );
    std::fs::write(ok.join("falco.yaml"), falco(&falco_ok)).unwrap();
    std::fs::write(
        ok.join("sigma.yml"),
        sigma(&nest(100, "and", "or", "sel", "sel0", "sel")),
    )
    .unwrap();
    let ok = ok.to_str().unwrap();
    let rec = "fixtures/recordings/intrusion";
    let o = hindsight(&["replay", rec, "--rules", ok]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = hindsight(&["diff", rec, "--old", ok, "--new", ok]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let suite = dir.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    std::fs::write(
        suite.join("deep.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [{ok}]\n",
            repo().join(rec).display()
        ),
    )
    .unwrap();
    let suite = suite.to_str().unwrap();
    let o = hindsight(&["test", suite, "--update"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = hindsight(&["test", suite]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let mut chain = String::from("# language: hindsight\n");
    for i in 0..3000 {
        chain += &format!("- macro: m{i}\n  condition: m{}\n", i + 1);
    }
    chain += "- macro: m3000\n  condition: syscall = 'openat'\n";
    chain += &native("m0");
    let walls = [
        (
            "deep500.yaml",
            native(&format!(
                "{}syscall = 'openat'{}",
                "(".repeat(500),
                ")".repeat(500)
            )),
        ),
        ("chain.yaml", chain),
        (
            "sdeep.yml",
            sigma(&format!("{}sel{}", "(".repeat(3000), ")".repeat(3000))),
        ),
        (
            "falco990.yaml",
            falco(&format!(
                "{}evt.type = openat{}",
                "(".repeat(990),
                ")".repeat(990)
            )),
        ),
    ];
    for (name, text) in walls {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let check = |o: Output| {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{name}: {err}");
            assert!(
                err.contains("condition nested too deeply (more than 100 levels)"),
                "{name}: {err}"
            );
            assert!(err.contains(&format!("{name}:")), "{name}: {err}");
        };
        check(hindsight(&["replay", rec, "--rules", path]));
        check(hindsight(&["diff", rec, "--old", ok, "--new", path]));
    }
}

/// A case file with a YAML problem is reported once, at its line and column
/// with a caret, without serde-saphyr's own `error: line L column C:` prefix.
#[test]
fn a_bad_case_file_points_at_the_spot() {
    let dir = tempfile::tempdir().unwrap();
    let rec = repo().join(REC);
    let rules = repo().join(RULES);
    std::fs::write(
        dir.path().join("bad.test.yaml"),
        format!(
            "recordings: [{}]\nrules: [{}]\nrecording: x\n",
            rec.display(),
            rules.display()
        ),
    )
    .unwrap();
    let o = hindsight(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        all.contains("error: invalid test case: unknown field `recording`"),
        "{all}"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).matches("error:").count(),
        1,
        "{all}"
    );
    assert!(all.contains("bad.test.yaml:3:1\n"), "{all}");
    assert!(all.contains("3 | recording: x\n    | ^\n"), "{all}");
    assert!(all.contains("did you mean `recordings`?"), "{all}");
}

/// The text output and Falco's JSON read a Falco field from the same place:
/// `evt.arg.target` of a symlink is its target, `evt.arg.linkpath` the link.
#[test]
fn falco_text_output_reads_fields_like_falco_json() {
    let rec = "fixtures/recordings/falco/create-symlink-over-sensitive-files/positive";
    let falco = "rules/falco/falco_rules.yaml";
    let text = hindsight(&["replay", rec, "--rules", falco]);
    let text = String::from_utf8_lossy(&text.stdout);
    let json = hindsight(&["replay", rec, "--rules", falco, "--format", "falco-json"]);
    let json: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&json.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let fields = &json["output_fields"];
    let target = fields["evt.arg.target"].as_str().unwrap();
    let link = fields["evt.arg.linkpath"].as_str().unwrap();
    assert_eq!(target, "/etc/shadow");
    assert!(
        text.contains(&format!("target={target} linkpath={link} ")),
        "{text}"
    );
}

/// Every file under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// For Falco rules, every format carries the same rendered output: the text
/// of `--format jsonl` is falco-json's `output` without its time and
/// priority prefix, on every recorded Falco scenario.
#[test]
fn falco_outputs_agree_across_formats() {
    let falco = "rules/falco/falco_rules.yaml";
    let mut compared = 0;
    for entry in std::fs::read_dir(repo().join("fixtures/recordings/falco")).unwrap() {
        let rec = entry.unwrap().path().join("positive");
        if !rec.join("manifest.json").exists() {
            continue;
        }
        let rec = rec.to_str().unwrap();
        let lines = |format: &str| -> Vec<serde_json::Value> {
            let o = hindsight(&["replay", rec, "--rules", falco, "--format", format]);
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let (jsonl, alerts) = (lines("jsonl"), lines("falco-json"));
        assert_eq!(jsonl.len(), alerts.len(), "{rec}");
        for (v, a) in jsonl.iter().zip(&alerts) {
            let text = a["output"].as_str().unwrap();
            let (_, rest) = text.split_once(": ").unwrap();
            let (_, rendered) = rest.split_once(' ').unwrap();
            assert_eq!(v["output"].as_str().unwrap(), rendered, "{rec}");
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} verdicts compared");
}

/// The summary line of a text replay (its last line).
fn summary(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A recording given twice (`rec` and `rec/`), or given beside a tree that
/// holds it, is replayed once: `replay` and `diff` count each event once.
#[test]
fn a_recording_named_twice_is_replayed_once() {
    let once = summary(&hindsight(&["replay", REC, "--rules", RULES]));
    let twice = hindsight(&["replay", REC, &format!("{REC}/"), "--rules", RULES]);
    assert_eq!(summary(&twice), once);
    let fleet = "fixtures/recordings/fleet";
    let both = summary(&hindsight(&["replay", fleet, "--rules", RULES]));
    let overlap = hindsight(&[
        "replay",
        fleet,
        "fixtures/recordings/fleet/host=db-1/date=2026-11-20/rec",
        "--rules",
        RULES,
    ]);
    assert_eq!(summary(&overlap), both);
    assert!(both.contains("over 2 recordings"), "{both}");
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.yaml");
    std::fs::write(
        &quiet,
        "- rule: never\n  description: d\n  condition: syscall = 'getppid' AND proc_pid < 0\n",
    )
    .unwrap();
    let diff = |paths: &[&str]| {
        let mut args = vec!["diff", "--old", quiet.to_str().unwrap(), "--new", RULES];
        args.extend(paths);
        String::from_utf8_lossy(&hindsight(&args).stdout).to_string()
    };
    assert_eq!(diff(&[REC, &format!("{REC}/")]), diff(&[REC]));
}

/// `--rules` on a directory without rule files is an error naming it (a
/// mis-pointed CI job must fail, as `hindsight test` does), for `replay`,
/// `diff` and `sigma check`; extensions are matched in any case.
#[test]
fn a_rules_directory_without_rule_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a rule file\n").unwrap();
    let e = empty.to_str().unwrap();
    for args in [
        vec!["replay", REC, "--rules", e],
        vec!["diff", "--old", RULES, "--new", e, REC],
        vec!["diff", "--old", e, "--new", RULES, REC],
        vec!["sigma", "check", e],
    ] {
        let o = hindsight(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no rule files (*.yaml, *.yml) in {e}")),
            "{args:?}: {stderr}"
        );
    }
    let upper = dir.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    std::fs::copy(repo().join(RULES), upper.join("default.YAML")).unwrap();
    let o = hindsight(&["replay", REC, "--rules", upper.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        summary(&o),
        summary(&hindsight(&["replay", REC, "--rules", RULES]))
    );
}

/// A rule file reached twice (named and inside a named directory) is read
/// once; a directory walk skips hidden files and directories (a rules
/// repository's `.github/workflows/*.yml`), but a hidden file named on the
/// command line is read.
#[test]
fn a_rule_file_is_read_once_and_walks_skip_hidden_files() {
    let once = summary(&hindsight(&["replay", REC, "--rules", RULES]));
    let o = hindsight(&[
        "replay",
        REC,
        "--rules",
        "rules/hindsight",
        "--rules",
        "./rules/hindsight/default.yaml",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(summary(&o), once);
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("ci.yml"), "on: push\njobs: {}\n").unwrap();
    std::fs::write(dir.path().join(".pre-commit-config.yaml"), "repos: []\n").unwrap();
    std::fs::copy(repo().join(RULES), dir.path().join("default.yaml")).unwrap();
    let o = hindsight(&["replay", REC, "--rules", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(summary(&o), once);
    let hidden = dir.path().join(".pre-commit-config.yaml");
    let o = hindsight(&["replay", REC, "--rules", hidden.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot tell which rule language"),
        "{stderr}"
    );
}

/// A value a Hindsight rule can never match is a load error at its file and
/// line, with a suggestion: an unknown syscall or event kind, an empty `IN
/// ()`, a glob the query language's `path_match` would reject; a type error
/// names the expression as written, not the bare field.
#[test]
fn hindsight_rules_reject_values_that_never_match() {
    let dir = tempfile::tempdir().unwrap();
    for (condition, message, help) in [
        (
            "syscall = 'opnat'",
            "unknown syscall `opnat`",
            "did you mean `openat`?",
        ),
        (
            "syscall IN ('openat', 'execv')",
            "unknown syscall `execv`",
            "did you mean `execve`?",
        ),
        (
            "event_kind = 'proces_exec'",
            "unknown event kind `proces_exec`",
            "did you mean `process_exec`?",
        ),
        ("syscall IN ()", "an empty list", ""),
        ("file_path GLOB '['", "unclosed `[`", ""),
        (
            "length(proc_exe) > 'a'",
            "`len(proc_exe)` is an integer",
            "",
        ),
    ] {
        let rule = dir.path().join("typo.yaml");
        std::fs::write(
            &rule,
            format!("- rule: r\n  description: d\n  condition: {condition}\n"),
        )
        .unwrap();
        let o = hindsight(&["replay", REC, "--rules", rule.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{condition}: {stderr}");
        assert!(stderr.contains(message), "{condition}: {stderr}");
        assert!(stderr.contains(help), "{condition}: {stderr}");
        assert!(stderr.contains("typo.yaml:3:"), "{condition}: {stderr}");
        assert!(!stderr.contains("`proc_exe` is an integer"), "{stderr}");
    }
}

/// The summary says how many rules were loaded as well as how many fired, so
/// that a replay that loaded nothing useful is told from a quiet one.
#[test]
fn the_summary_counts_the_rules_loaded() {
    let o = hindsight(&["replay", REC, "--rules", RULES]);
    assert_eq!(
        summary(&o),
        "5 verdicts from 2 of 11 rules over 20000 events (503 lost)"
    );
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.yaml");
    std::fs::write(
        &quiet,
        "- rule: never\n  description: d\n  condition: syscall = 'openat' AND proc_pid < 0\n",
    )
    .unwrap();
    let o = hindsight(&["replay", REC, "--rules", quiet.to_str().unwrap()]);
    assert_eq!(
        summary(&o),
        "0 verdicts from 0 of 1 rule over 20000 events (503 lost)"
    );
}
