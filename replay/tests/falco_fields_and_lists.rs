//! Falco rules of one's own over the committed `intrusion` recording: list
//! visibility after `append`/`override`, the notes about fields a recording
//! lacks, and fields whose value must be Falco's (`evt.arg.mode`,
//! `evt.arg.uid`, `container.id`, `user.name`, `evt.rawres`, `evt.failed`,
//! `proc.pexe`). The rows a test expects are found in the recording by
//! plain Rust predicates (no pinned seqs), so the tests survive a
//! re-recording. No root needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hindsight_format::{Event, EventKind};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::falco;
use hindsight_replay::lang::{RuleLanguage, SourceFile};
use hindsight_replay::run::replay_paths;
use hindsight_replay::verdict::Verdict;

mod recording_rows {
    include!("common/recording_rows.rs");
}
use recording_rows::{events, one, seqs_where};

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

/// Falco's `evt.num` test for the row `seq` (Falco counts from 1).
fn evt_num(seq: u64) -> String {
    format!("evt.num = {}", seq + 1)
}

/// The row's syscall is `name`.
fn is_syscall(e: &Event, name: &str) -> bool {
    e.syscall.as_deref() == Some(name)
}

/// The row's process runs with exactly these arguments.
fn args_are(e: &Event, args: &[&str]) -> bool {
    e.process_args
        .as_ref()
        .is_some_and(|a| a.iter().map(String::as_str).eq(args.iter().copied()))
}

/// The seq of `cat /etc/shadow`'s openat of /etc/shadow in the intrusion
/// recording (the scenario's credential access).
fn cat_etc_shadow() -> u64 {
    one(
        &events(&intrusion()),
        "openat of /etc/shadow by `cat /etc/shadow`",
        |e| {
            is_syscall(e, "openat")
                && e.file_path.as_deref() == Some("/etc/shadow")
                && args_are(e, &["cat", "/etc/shadow"])
        },
    )
    .seq
}

#[test]
fn a_list_appended_later_sees_lists_defined_before_the_append() {
    let shadow = cat_etc_shadow();
    let base = "- list: my_readers\n  items: [nosuch]\n- list: extra_readers\n  items: [cat]\n";
    for update in [
        "- list: my_readers\n  items: [extra_readers]\n  override:\n    items: append\n",
        "- list: my_readers\n  items: [extra_readers]\n  append: true\n",
        "- list: my_readers\n  items: [extra_readers]\n  override:\n    items: replace\n",
        "- list: my_readers\n  items: [extra_readers]\n",
    ] {
        let rules = format!(
            "{base}{update}{}",
            rule(
                &format!("{} and proc.name in (my_readers)", evt_num(shadow)),
                "%proc.name"
            )
        );
        assert_eq!(seqs(&replay(&rules)), [shadow], "{update}");
    }
}

#[test]
fn list_names_are_replaced_list_by_list_in_definition_order() {
    // `a` names `b`, defined after it: Falco leaves `b` in `a`'s items and
    // its substitution of `b` (later in order) then replaces it.
    let shadow = cat_etc_shadow();
    let rules = format!(
        "- list: a\n  items: [b]\n- list: b\n  items: [cat]\n{}",
        rule(
            &format!("{} and proc.name in (a)", evt_num(shadow)),
            "%proc.name"
        )
    );
    assert_eq!(seqs(&replay(&rules)), [shadow]);
    // `c` names `b`, which names `a`: `c` gets `b`'s items as written (`a`),
    // and `a`'s substitution came first, so `a` stays a plain value.
    let rules = format!(
        "- list: a\n  items: [cat]\n- list: b\n  items: [a]\n- list: c\n  items: [b]\n{}",
        rule(
            &format!("{} and proc.name in (c)", evt_num(shadow)),
            "%proc.name"
        )
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
    let ev = events(&intrusion());
    // `chmod +x` of the downloaded payload: fchmodat(…, 0755).
    let chmod = one(&ev, "fchmodat(/tmp/hindsight-demo-payload.sh, 0755)", |e| {
        is_syscall(e, "fchmodat")
            && e.file_path.as_deref() == Some("/tmp/hindsight-demo-payload.sh")
            && e.file_mode == Some(0o755)
    })
    .seq;
    let fchmodat_with = |bit: u32| {
        seqs_where(&ev, |e| {
            is_syscall(e, "fchmodat") && e.file_mode.is_some_and(|m| m & bit != 0)
        })
    };
    assert_eq!(fchmodat_with(0o100), [chmod], "fchmodat rows with S_IXUSR");
    let v = replay(&rule(
        "evt.type = fchmodat and evt.arg.mode contains S_IXUSR",
        "mode=%evt.arg.mode",
    ));
    assert_eq!(seqs(&v), [chmod]);
    assert_eq!(
        v[0].output,
        "mode=S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR"
    );
    assert_eq!(
        seqs(&replay(&rule(
            "evt.type = fchmodat and evt.arg.mode contains S_ISUID",
            "x"
        ))),
        fchmodat_with(0o4000)
    );
    // openat with O_CREAT: `%#o`. `cp /bin/true /dev/shm/…` creates its copy 0755.
    let cp = one(&ev, "openat(O_CREAT, 0755)", |e| {
        is_syscall(e, "openat") && e.file_mode == Some(0o755)
    });
    assert_eq!(
        cp.file_path.as_deref(),
        Some("/dev/shm/hindsight-demo-true"),
        "seq {}",
        cp.seq
    );
    let v = replay(&rule(
        "evt.type = openat and evt.arg.mode = 0755",
        "%evt.arg.mode",
    ));
    assert_eq!(seqs(&v), [cp.seq]);
    assert_eq!(v[0].output, "0755");
}

#[test]
fn container_id_is_the_short_id() {
    let rec = scenario("terminal-shell-in-container");
    // The recording has the full id of the scenario's one container.
    let ids: BTreeSet<String> = events(&rec)
        .into_iter()
        .filter_map(|e| e.container_id)
        .collect();
    assert_eq!(ids.len(), 1, "container ids in {}: {ids:?}", rec.display());
    let full = ids.first().unwrap();
    assert_eq!(full.len(), 64, "{full}");
    let short = &full[..12];
    let v = replay_on(
        &rule(
            &format!("container.id = {short} and evt.type = execve"),
            "%container.id",
        ),
        &rec,
    );
    assert!(!v.is_empty());
    assert!(v.iter().all(|v| v.output == short), "{:?}", v[0].output);
    assert!(replay_on(&rule(&format!("container.id = {full}"), "x"), &rec).is_empty());
    // Outside containers it is `host`.
    let shadow = cat_etc_shadow();
    assert_eq!(
        seqs(&replay(&rule(
            &format!("{} and container.id = host", evt_num(shadow)),
            "x"
        ))),
        [shadow]
    );
}

#[test]
fn evt_rawres_and_evt_failed_on_exec_rows_and_failed_calls() {
    // The `process_exec` row of `cat /etc/shadow` (no `ret`): Falco's execve
    // exit has res 0.
    let ev = events(&intrusion());
    let exec = one(&ev, "the process_exec row of `cat /etc/shadow`", |e| {
        e.event_kind == EventKind::ProcessExec && args_are(e, &["cat", "/etc/shadow"])
    });
    assert_eq!(exec.ret, None, "seq {}", exec.seq);
    let v = replay(&rule(
        &format!(
            "{} and evt.rawres = 0 and evt.failed = false",
            evt_num(exec.seq)
        ),
        "res=%evt.rawres failed=%evt.failed",
    ));
    assert_eq!(seqs(&v), [exec.seq]);
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
    assert!(
        replay(&rule(
            &format!("{} and evt.failed = true", evt_num(exec.seq)),
            "x"
        ))
        .is_empty()
    );
}

#[test]
fn proc_pexe_and_aexe_are_argv0_of_the_parent_and_ancestors() {
    // `cat /etc/shadow`, started by bash (argv[0] `bash`, executable /usr/bin/bash).
    let shadow = cat_etc_shadow();
    let at = |test: &str| rule(&format!("{} and {test}", evt_num(shadow)), "x");
    let v = replay(&rule(
        &format!(
            "{} and proc.pexe = bash and proc.aexe = bash and proc.aexe[1] = bash",
            evt_num(shadow)
        ),
        "%proc.pexe %proc.pexepath %proc.aexe[1] %proc.aexepath[1]",
    ));
    assert_eq!(seqs(&v), [shadow]);
    assert_eq!(v[0].output, "bash /usr/bin/bash bash /usr/bin/bash");
    assert!(replay(&at("proc.pexe = /usr/bin/bash")).is_empty());
    assert_eq!(
        seqs(&replay(&at("proc.pexepath = /usr/bin/bash"))),
        [shadow]
    );
}

/// The seq of the one `syscall` row with these `syscall_args` in `ev`.
fn call(ev: &[Event], syscall: &str, args: &str) -> u64 {
    one(ev, &format!("{syscall}({args})"), |e| {
        is_syscall(e, syscall) && e.syscall_args.as_deref() == Some(args)
    })
    .seq
}

#[test]
fn user_name_is_the_effective_users_name() {
    let rec = scenario("system-user-interactive");
    let ev = events(&rec);
    // setresuid(-1, 65534, 0) by root: the effective user is nobody.
    let setresuid = call(&ev, "setresuid", "ruid=-1 euid=65534 suid=0");
    let v = replay_on(&rule(&evt_num(setresuid), "%user.uid %user.name"), &rec);
    assert_eq!(seqs(&v), [setresuid]);
    assert_eq!(v[0].output, "65534 nobody");
    // setreuid(65534, -1) by root: real user nobody, effective root.
    let setreuid = call(&ev, "setreuid", "ruid=65534 euid=-1");
    let v = replay_on(&rule(&evt_num(setreuid), "%user.uid %user.name"), &rec);
    assert_eq!(seqs(&v), [setreuid]);
    assert_eq!(v[0].output, "0 root");
    assert_eq!(
        seqs(&replay_on(
            &rule(
                &format!(
                    "evt.num in ({}, {}) and user.name = root",
                    setreuid + 1,
                    setresuid + 1
                ),
                "x"
            ),
            &rec
        )),
        [setreuid]
    );
}

#[test]
fn evt_arg_uid_is_the_users_name_as_libs_renders_it() {
    let rec = scenario("system-user-interactive");
    let ev = events(&rec);
    let setuid = call(&ev, "setuid", "uid=65534");
    let setresuid = call(&ev, "setresuid", "ruid=-1 euid=65534 suid=0");
    let v = replay_on(
        &rule(
            "evt.type = setuid and evt.arg.uid = nobody",
            "uid=%evt.arg.uid",
        ),
        &rec,
    );
    assert_eq!(seqs(&v), [setuid]);
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
    assert_eq!(seqs(&v), [setresuid]);
    assert_eq!(v[0].output, "<NONE> nobody root");
}

#[test]
fn a_macro_sees_only_macros_defined_before_its_latest_definition() {
    let shadow = cat_etc_shadow();
    let r = rule(&format!("{} and outer", evt_num(shadow)), "%proc.name");
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
    assert_eq!(seqs(&replay(&redefined)), [shadow]);
    let appended = format!(
        "- macro: outer\n  condition: (evt.num = 0)\n- macro: inner\n  condition: proc.name = cat\n\
         - macro: outer\n  condition: or inner\n  append: true\n{r}"
    );
    assert_eq!(seqs(&replay(&appended)), [shadow]);
}
