//! Deeply nested conditions: every rule language accepts
//! [`MAX_NESTING`] levels (parentheses, `not`, macros) and replays them over a
//! real fixture; one level more, a macro chain thousands long or a condition
//! that macros blow up is a rule error at the spot, never a stack overflow.
//!
//! The rules are generated here. Each case runs on a thread with the main
//! thread's usual 8 MiB stack, the stack `hindsight` itself runs them on
//! (`tests/cli_replay.rs` checks the binary too).

use std::path::Path;

use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::ir::MAX_NESTING;
use hindsight_replay::lang::{SourceFile, load_sources};
use hindsight_replay::run::replay_paths;

const MAIN_STACK: usize = 8 << 20;

/// Runs `f` on a thread with the main thread's stack.
fn on_main_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(MAIN_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn source(path: &str, text: String) -> SourceFile {
    SourceFile {
        path: path.into(),
        text,
    }
}

/// Loads the file and replays it over the intrusion fixture: the verdict count.
fn replays(src: SourceFile) -> usize {
    on_main_stack(move || {
        let set = load_sources(vec![src], Vec::new()).unwrap_or_else(|d| panic!("{d}"));
        let engine = Engine::new(&set.rules).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let rec = root.join("fixtures/recordings/intrusion");
        replay_paths(&engine, &[rec], Options::default(), &mut |_| {})
            .unwrap()
            .verdicts
            .len()
    })
}

/// Loads the file, which must fail: the rendered errors.
fn fails(src: SourceFile) -> String {
    on_main_stack(move || match load_sources(vec![src], Vec::new()) {
        Ok(_) => panic!("expected an error"),
        Err(d) => d.to_string(),
    })
}

/// `levels` parentheses, alternating AND and OR so the condition really
/// nests that deep: `pid > 1 OR (pid > 0 AND (inner))`.
fn alternating(levels: usize, and: &str, or: &str, pid: &str, inner: &str) -> String {
    let mut s = inner.to_string();
    for i in 0..levels {
        let op = if i % 2 == 1 { and } else { or };
        s = format!("{pid} > {i} {op} ({s})");
    }
    s
}

fn native_rule(condition: &str) -> String {
    format!(
        "- rule: deep\n  description: d\n  priority: warning\n  condition: \"{condition}\"\n  output: '%proc_exe'\n"
    )
}

/// A chain of `n` native macros, each using the next.
fn native_chain(n: usize, body: impl Fn(usize) -> String) -> String {
    let mut out = String::from("# language: hindsight\n");
    for i in 0..n {
        out += &format!("- macro: m{i}\n  condition: {}\n", body(i));
    }
    out += &format!("- macro: m{n}\n  condition: syscall = 'openat'\n");
    out + &native_rule("m0")
}

fn falco_rule(condition: &str) -> String {
    format!(
        "- rule: deep\n  desc: d\n  condition: {condition}\n  output: '%proc.name'\n  priority: WARNING\n"
    )
}

/// A chain of `n` Falco macros, each using the next.
fn falco_chain(n: usize, body: impl Fn(usize) -> String) -> String {
    let mut out = format!("- macro: m{n}\n  condition: evt.type = openat\n");
    for i in (0..n).rev() {
        out += &format!("- macro: m{i}\n  condition: {}\n", body(i));
    }
    out + &falco_rule("m0")
}

fn sigma_rule(condition: &str) -> String {
    format!(
        "title: deep\nid: 5b1c1a8e-0000-4000-8000-000000000001\nlogsource:\n  category: process_creation\n  product: linux\ndetection:\n  sel:\n    Image|endswith: '/bash'\n  sel0:\n    Image|endswith: '/sh'\n  sel1:\n    CommandLine|contains: 'x'\n  condition: {condition}\nlevel: medium\n"
    )
}

fn assert_too_deep(e: &str, at: &str) {
    let msg = format!("condition nested too deeply (more than {MAX_NESTING} levels)");
    assert!(e.contains(&msg), "{e}");
    assert!(e.contains(at), "expected {at:?} in\n{e}");
    assert!(e.contains("^"), "{e}");
}

#[test]
fn native_parentheses_and_nots() {
    let inner = "syscall = 'openat'";
    let ok = alternating(MAX_NESTING, "AND", "OR", "proc_pid", inner);
    assert!(replays(source("n.yaml", native_rule(&ok))) > 0);
    let deep = alternating(MAX_NESTING + 1, "AND", "OR", "proc_pid", inner);
    let e = fails(source("n.yaml", native_rule(&deep)));
    // The caret is under the first `(` too many (the condition starts in column 15).
    let col = 15 + deep.match_indices('(').nth(MAX_NESTING).unwrap().0;
    assert_too_deep(&e, &format!("n.yaml:4:{col}\n"));
    assert_eq!(e.matches("error:").count(), 1, "{e}");

    let nots = |n: usize| format!("{}syscall != 'kexec_load'", "NOT ".repeat(n));
    assert!(replays(source("n.yaml", native_rule(&nots(MAX_NESTING)))) > 0);
    assert_too_deep(
        &fails(source("n.yaml", native_rule(&nots(MAX_NESTING + 1)))),
        "n.yaml:4:",
    );
    // Value functions nest too.
    let calls = |n: usize| format!("{}proc_exe{} != ''", "lower(".repeat(n), ")".repeat(n));
    assert!(replays(source("n.yaml", native_rule(&calls(MAX_NESTING)))) > 0);
    assert_too_deep(
        &fails(source("n.yaml", native_rule(&calls(3000)))),
        &format!("n.yaml:4:{}\n", 15 + 6 * MAX_NESTING + 5),
    );
    // 3000 parentheses, as a fuzzer would write them.
    let wall = format!("{}syscall = 'openat'{}", "(".repeat(3000), ")".repeat(3000));
    assert_too_deep(&fails(source("n.yaml", native_rule(&wall))), "n.yaml:4:");
}

#[test]
fn native_macro_chains() {
    let and_next = |i: usize| format!("proc_pid > {i} AND m{}", i + 1);
    // The rule's use of m0 is one level, each macro one more.
    assert!(replays(source("m.yaml", native_chain(MAX_NESTING - 1, and_next))) > 0);
    let e = fails(source("m.yaml", native_chain(MAX_NESTING, and_next)));
    assert_too_deep(&e, "each macro counts one level: m0 → m1 → m2 → …");
    // A chain of 3000 aliases: two errors (the rule's use and the first macro), not 3000.
    let e = fails(source(
        "m.yaml",
        native_chain(3000, |i| format!("m{}", i + 1)),
    ));
    assert_too_deep(&e, "m.yaml:6007:15\n");
    assert!(e.contains("m.yaml:3:14\n"), "{e}");
    assert_eq!(e.matches("error:").count(), 2, "{e}");
    // Parentheses inside macros count too.
    let paren = |i: usize| format!("(proc_pid > {i} AND m{})", i + 1);
    assert!(replays(source("p.yaml", native_chain(MAX_NESTING / 2 - 1, paren))) > 0);
    assert_too_deep(
        &fails(source("p.yaml", native_chain(MAX_NESTING / 2, paren))),
        "p.yaml:",
    );
    // Each macro using the next one twice: 2^40 tests once expanded.
    let e = fails(source(
        "x.yaml",
        native_chain(40, |i| format!("m{0} OR m{0}", i + 1)),
    ));
    assert!(
        e.contains("condition too large once its macros are expanded"),
        "{e}"
    );
}

#[test]
fn falco_parentheses_and_macros() {
    let inner = "evt.type = openat";
    let ok = alternating(MAX_NESTING, "and", "or", "proc.pid", inner);
    assert!(replays(source("f.yaml", falco_rule(&ok))) > 0);
    let deep = alternating(MAX_NESTING + 1, "and", "or", "proc.pid", inner);
    assert_too_deep(&fails(source("f.yaml", falco_rule(&deep))), "f.yaml:3:");
    // Levels are counted, not parser calls: 990 parentheses are more than
    // 100 levels (not "exceeded max depth limit of 1000").
    let wall = format!("{}{inner}{}", "(".repeat(990), ")".repeat(990));
    let e = fails(source("f.yaml", falco_rule(&wall)));
    assert_too_deep(&e, &format!("f.yaml:3:{}\n", 14 + MAX_NESTING));

    let and_next = |i: usize| format!("proc.pid > {i} and m{}", i + 1);
    assert!(replays(source("f.yaml", falco_chain(MAX_NESTING, and_next))) > 0);
    assert_too_deep(
        &fails(source("f.yaml", falco_chain(MAX_NESTING + 1, and_next))),
        "macros: m0 -> m1 -> m2 -> ...",
    );
    let alias = |i: usize| format!("m{}", i + 1);
    assert!(replays(source("f.yaml", falco_chain(MAX_NESTING, alias))) > 0);
    let e = fails(source("f.yaml", falco_chain(3000, alias)));
    assert_too_deep(&e, "f.yaml:");
    assert_eq!(e.matches("error:").count(), 1, "{e}");
    let e = fails(source(
        "f.yaml",
        falco_chain(40, |i| format!("m{0} or m{0}", i + 1)),
    ));
    assert!(
        e.contains("condition too large once its macros are expanded"),
        "{e}"
    );
}

#[test]
fn sigma_parentheses() {
    let cond = |levels: usize| {
        let mut s = String::from("sel");
        for i in 0..levels {
            let (name, op) = if i % 2 == 1 {
                ("sel1", "and")
            } else {
                ("sel0", "or")
            };
            s = format!("{name} {op} ({s})");
        }
        s
    };
    assert!(replays(source("s.yml", sigma_rule(&cond(MAX_NESTING)))) > 0);
    assert_too_deep(
        &fails(source("s.yml", sigma_rule(&cond(MAX_NESTING + 1)))),
        "s.yml:13:",
    );
    let wall = format!("{}sel{}", "(".repeat(3000), ")".repeat(3000));
    assert_too_deep(
        &fails(source("s.yml", sigma_rule(&wall))),
        &format!("s.yml:13:{}\n", 14 + MAX_NESTING),
    );
}
