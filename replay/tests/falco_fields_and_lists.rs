//! Falco rules of one's own over the committed `intrusion` recording: list
//! visibility after `append`/`override`, the notes about fields a recording
//! lacks, and fields whose value must be Falco's (`evt.arg.mode`,
//! `evt.arg.uid`, `container.id`, `user.name`, `evt.rawres`, `evt.failed`,
//! `proc.pexe`). No root needed.

use std::path::{Path, PathBuf};

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::falco;
use hindsight_replay::lang::{RuleLanguage, SourceFile};
use hindsight_replay::run::replay_paths;
use hindsight_replay::verdict::Verdict;

fn intrusion() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings/intrusion")
}

fn file(text: &str) -> SourceFile {
    SourceFile {
        path: "my_rules.yaml".into(),
        text: text.into(),
    }
}

/// Replays `rules` (one Falco file) over the intrusion recording.
fn replay(rules: &str) -> Vec<Verdict> {
    replay_on(rules, &intrusion())
}

/// A recorded Falco scenario (`fixtures/recordings/falco/<slug>/positive`).
fn scenario(slug: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recordings/falco")
        .join(slug)
        .join("positive")
}

/// Replays `rules` (one Falco file) over `rec`.
fn replay_on(rules: &str, rec: &Path) -> Vec<Verdict> {
    let set = falco::compile_files(&[file(rules)]).unwrap_or_else(|d| panic!("{d:?}"));
    let rules: Vec<_> = set.rules.iter().map(|r| r.rule.clone()).collect();
    let engine = Engine::new(&rules).expect("rules compile");
    replay_paths(
        &engine,
        &[rec.to_path_buf()],
        Options::default(),
        &mut |_| {},
    )
    .expect("replay")
    .verdicts
}

/// One rule `R` with `condition` and `output`.
fn rule(condition: &str, output: &str) -> String {
    format!(
        "- rule: R\n  desc: d\n  condition: {condition}\n  output: \"{output}\"\n  priority: WARNING\n"
    )
}

/// The `seq` of every verdict.
fn seqs(v: &[Verdict]) -> Vec<u64> {
    v.iter().map(|v| v.seq).collect()
}

#[test]
fn a_list_appended_later_sees_lists_defined_before_the_append() {
    // seq 1189 (evt.num 1190) is `cat /etc/shadow`.
    let base = "- list: my_readers\n  items: [nosuch]\n- list: extra_readers\n  items: [cat]\n";
    for update in [
        "- list: my_readers\n  items: [extra_readers]\n  override:\n    items: append\n",
        "- list: my_readers\n  items: [extra_readers]\n  append: true\n",
        "- list: my_readers\n  items: [extra_readers]\n  override:\n    items: replace\n",
        "- list: my_readers\n  items: [extra_readers]\n",
    ] {
        let rules = format!(
            "{base}{update}{}",
            rule("evt.num=1190 and proc.name in (my_readers)", "%proc.name")
        );
        assert_eq!(seqs(&replay(&rules)), [1189], "{update}");
    }
}

#[test]
fn list_names_are_replaced_list_by_list_in_definition_order() {
    // `a` names `b`, defined after it: Falco leaves `b` in `a`'s items and
    // its substitution of `b` (later in order) then replaces it.
    let rules = format!(
        "- list: a\n  items: [b]\n- list: b\n  items: [cat]\n{}",
        rule("evt.num=1190 and proc.name in (a)", "%proc.name")
    );
    assert_eq!(seqs(&replay(&rules)), [1189]);
    // `c` names `b`, which names `a`: `c` gets `b`'s items as written (`a`),
    // and `a`'s substitution came first, so `a` stays a plain value.
    let rules = format!(
        "- list: a\n  items: [cat]\n- list: b\n  items: [a]\n- list: c\n  items: [b]\n{}",
        rule("evt.num=1190 and proc.name in (c)", "%proc.name")
    );
    assert_eq!(seqs(&replay(&rules)), Vec::<u64>::new());
}

/// The notes `hindsight replay` prints on stderr for `rules`.
fn notes(rules: &str) -> Vec<String> {
    falco::Falco
        .compile_with_remarks(&[file(rules)])
        .unwrap_or_else(|d| panic!("{d:?}"))
        .1
        .notes
}

#[test]
fn fields_treated_as_missing_and_always_false_rules_are_noted_once_per_rule() {
    let rules = format!(
        "{}- rule: S\n  desc: d\n  condition: proc.name = cat and container.id != host and not container.id exists\n  output: x\n  priority: WARNING\n",
        rule(
            "proc.name = cat and not container.image.repository in (a, b) and not container.image.tag = latest",
            "%proc.name"
        )
    );
    let notes = notes(&rules);
    assert_eq!(
        notes,
        [
            "my_rules.yaml:1: rule 'R' treats fields no recording has as missing (a test on one is false): \
             container.image.repository (container runtime metadata (images, mounts, privileges) is not recorded), \
             container.image.tag (container runtime metadata (images, mounts, privileges) is not recorded)",
            "my_rules.yaml:6: rule 'S' never fires: its condition is false on every event",
        ]
    );
    // The rule still fires: a test on a missing field is false, its `not` true.
    assert!(!replay(&rules).is_empty());
}

#[test]
fn evt_arg_mode_is_rendered_as_libs_renders_it() {
    // seq 720: fchmodat(/tmp/hindsight-demo-payload.sh, 0755).
    let v = replay(&rule(
        "evt.type = fchmodat and evt.arg.mode contains S_IXUSR",
        "mode=%evt.arg.mode",
    ));
    assert_eq!(seqs(&v), [720]);
    assert_eq!(
        v[0].output,
        "mode=S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR"
    );
    assert!(
        replay(&rule(
            "evt.type = fchmodat and evt.arg.mode contains S_ISUID",
            "x"
        ))
        .is_empty()
    );
    // openat with O_CREAT: `%#o`.
    let v = replay(&rule(
        "evt.type = openat and evt.arg.mode = 0755",
        "%evt.arg.mode",
    ));
    assert_eq!(seqs(&v), [1343]);
    assert_eq!(v[0].output, "0755");
}

#[test]
fn container_id_is_the_short_id() {
    let rec = scenario("terminal-shell-in-container");
    let v = replay_on(
        &rule(
            "container.id = afc76c9eabae and evt.type = execve",
            "%container.id",
        ),
        &rec,
    );
    assert!(!v.is_empty());
    assert!(
        v.iter().all(|v| v.output == "afc76c9eabae"),
        "{:?}",
        v[0].output
    );
    let full = "afc76c9eabae3cbaa3c7f23a1ad545e07205f204d410e37e62e34767bf9d71af";
    assert!(replay_on(&rule(&format!("container.id = {full}"), "x"), &rec).is_empty());
    // Outside containers it is `host`.
    assert!(!replay(&rule("evt.num = 1190 and container.id = host", "x")).is_empty());
}

#[test]
fn evt_rawres_and_evt_failed_on_exec_rows_and_failed_calls() {
    // seq 8 is a `process_exec` row (no `ret`): Falco's execve exit has res 0.
    let v = replay(&rule(
        "evt.num = 9 and evt.rawres = 0 and evt.failed = false",
        "res=%evt.rawres failed=%evt.failed",
    ));
    assert_eq!(seqs(&v), [8]);
    assert_eq!(v[0].output, "res=0 failed=false");
    let failed = replay(&rule("evt.failed = true", "%evt.rawres %evt.failed"));
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|v| v.output.starts_with('-') && v.output.ends_with(" true")),
        "{:?}",
        failed[0].output
    );
    assert!(replay(&rule("evt.num = 9 and evt.failed = true", "x")).is_empty());
}

#[test]
fn proc_pexe_and_aexe_are_argv0_of_the_parent_and_ancestors() {
    // seq 1189: `cat /etc/shadow`, started by bash (argv[0] `bash`, executable /usr/bin/bash).
    let v = replay(&rule(
        "evt.num = 1190 and proc.pexe = bash and proc.aexe = bash and proc.aexe[1] = bash",
        "%proc.pexe %proc.pexepath %proc.aexe[1] %proc.aexepath[1]",
    ));
    assert_eq!(seqs(&v), [1189]);
    assert_eq!(v[0].output, "bash /usr/bin/bash bash /usr/bin/bash");
    assert!(replay(&rule("evt.num = 1190 and proc.pexe = /usr/bin/bash", "x")).is_empty());
    assert!(
        !replay(&rule(
            "evt.num = 1190 and proc.pexepath = /usr/bin/bash",
            "x"
        ))
        .is_empty()
    );
}

#[test]
fn user_name_is_the_effective_users_name() {
    let rec = scenario("system-user-interactive");
    // seq 371: setresuid(-1, 65534, 0) by root: the effective user is nobody.
    let v = replay_on(&rule("evt.num = 372", "%user.uid %user.name"), &rec);
    assert_eq!(v[0].output, "65534 nobody");
    // seq 337: setreuid(65534, -1) by root: real user nobody, effective root.
    let v = replay_on(&rule("evt.num = 338", "%user.uid %user.name"), &rec);
    assert_eq!(v[0].output, "0 root");
    assert_eq!(
        seqs(&replay_on(
            &rule("evt.num in (338, 372) and user.name = root", "x"),
            &rec
        )),
        [337]
    );
}

#[test]
fn evt_arg_uid_is_the_users_name_as_libs_renders_it() {
    let rec = scenario("system-user-interactive");
    // seq 362: setuid(65534); seq 371: setresuid(-1, 65534, 0).
    let v = replay_on(
        &rule(
            "evt.type = setuid and evt.arg.uid = nobody",
            "uid=%evt.arg.uid",
        ),
        &rec,
    );
    assert_eq!(seqs(&v), [362]);
    assert_eq!(v[0].output, "uid=nobody");
    // The number is not what Falco compares (its value is the name).
    assert!(
        replay_on(
            &rule("evt.type = setuid and evt.arg.uid = 65534", "x"),
            &rec
        )
        .is_empty()
    );
    let v = replay_on(
        &rule(
            "evt.type = setresuid and evt.arg.euid = nobody",
            "%evt.arg.ruid %evt.arg.euid %evt.arg.suid",
        ),
        &rec,
    );
    assert_eq!(seqs(&v), [371]);
    assert_eq!(v[0].output, "<NONE> nobody root");
}

#[test]
fn a_macro_sees_only_macros_defined_before_its_latest_definition() {
    let r = rule("evt.num = 1190 and outer", "%proc.name");
    let forward = format!(
        "- macro: outer\n  condition: inner\n- macro: inner\n  condition: proc.name = cat\n{r}"
    );
    let err = falco::compile_files(&[file(&forward)]).expect_err("forward reference");
    let text = err.iter().map(ToString::to_string).collect::<String>();
    assert!(
        text.contains("undefined macro 'inner': it is defined after macro 'outer'"),
        "{text}"
    );
    // Redefining (or appending to) `outer` after `inner` makes `inner` visible.
    let redefined = format!(
        "- macro: outer\n  condition: evt.num = 0\n- macro: inner\n  condition: proc.name = cat\n\
         - macro: outer\n  condition: inner\n{r}"
    );
    assert_eq!(seqs(&replay(&redefined)), [1189]);
    let appended = format!(
        "- macro: outer\n  condition: (evt.num = 0)\n- macro: inner\n  condition: proc.name = cat\n\
         - macro: outer\n  condition: or inner\n  append: true\n{r}"
    );
    assert_eq!(seqs(&replay(&appended)), [1189]);
}
