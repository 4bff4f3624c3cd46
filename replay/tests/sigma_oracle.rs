//! Hindsight's Sigma evaluation agrees with an independent implementation:
//! pySigma's SQLite backend, run by `tests/oracle/sigma_oracle.py` over the
//! same events exported to SQLite.
//!
//! Events: for every applicable SigmaHQ Linux rule, events built from the
//! rule's own values (so positives exist for nearly every rule), a
//! case-swapped twin, a near miss (last character dropped) and a shifted
//! twin (auditd `aN` values one argv slot later), plus every event of the
//! committed fixture recordings; every rule is then evaluated against every
//! event, both by the reference evaluator and by the replay engine (Sigma
//! compiled to the shared IR), and both must give pySigma's answer. State
//! fields (`ParentImage`, `ParentCommandLine`) come from the replay engine's
//! state model, for the export as for the evaluators. Install the oracle with
//! `scripts/setup.sh` (`pip install pysigma pysigma-backend-sqlite`).

mod sigma_corpus_files {
    include!("common/sigma_files.rs");
}

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use hindsight_format::{Event, EventKind};
use hindsight_replay::engine::{Engine, Options};
use hindsight_replay::sigma::compile::to_ir;
use hindsight_replay::sigma::detection::{FieldMatch, Matcher, Search};
use hindsight_replay::sigma::eval;
use hindsight_replay::sigma::fields::{Source, View};
use hindsight_replay::sigma::pattern::Piece;
use hindsight_replay::sigma::{self, Applicability, Compiled};
use hindsight_replay::state::State;
use hindsight_replay::value::Ctx;

/// A concrete string a matcher accepts (best effort).
fn sample(m: &Matcher) -> Option<String> {
    match m {
        Matcher::Glob(p) => Some(
            p.pieces
                .iter()
                .map(|x| match x {
                    Piece::Lit(s) => s.clone(),
                    Piece::Star => "x".into(),
                    Piece::One => "q".into(),
                })
                .collect(),
        ),
        Matcher::Number(n) => Some(n.to_string()),
        Matcher::Cidr(c) => Some(c.addr.to_string()),
        _ => None,
    }
}

fn set_field(ev: &mut Event, parent: &mut Event, src: Source, value: &str, shift: bool) {
    let int = || value.parse::<i64>().ok();
    match src {
        Source::Column(c) => match c {
            "process_executable" => ev.process_executable = Some(value.into()),
            "process_command_line" => ev.process_command_line = Some(value.into()),
            "process_cwd" => ev.process_cwd = Some(value.into()),
            "process_name" => ev.process_name = Some(value.into()),
            "user_name" => ev.user_name = Some(value.into()),
            "login_uid" => ev.login_uid = int().and_then(|v| u32::try_from(v).ok()),
            "user_id" => ev.user_id = int().and_then(|v| u32::try_from(v).ok()),
            "process_effective_user_id" => {
                ev.process_effective_user_id = int().and_then(|v| u32::try_from(v).ok())
            }
            "file_path" => ev.file_path = Some(value.into()),
            "file_target_path" => ev.file_target_path = Some(value.into()),
            "destination_ip" => ev.destination_ip = Some(value.into()),
            "source_ip" => ev.source_ip = Some(value.into()),
            "destination_port" => ev.destination_port = int().and_then(|v| u16::try_from(v).ok()),
            "source_port" => ev.source_port = int().and_then(|v| u16::try_from(v).ok()),
            "syscall" => ev.syscall = Some(value.into()),
            "network_transport" => ev.network_transport = Some(value.into()),
            _ => {}
        },
        Source::State("parent_exe") => parent.process_executable = Some(value.into()),
        Source::State("parent_command_line") => {
            // The parent's argv, so that joined with spaces it gives `value`.
            parent.process_args = Some(value.split(' ').map(String::from).collect());
            parent.process_command_line = Some(value.into());
        }
        Source::State(other) => panic!("no way to set state field {other}"),
        Source::Arg(i) => {
            let i = usize::from(i) + usize::from(shift);
            let args = ev.process_args.get_or_insert_with(Vec::new);
            while args.len() <= i {
                args.push(String::new());
            }
            args[i] = value.into();
        }
        _ => {}
    }
}

/// An event that passes `view`'s filter, with neutral values.
fn base_event(view: &View, pid: i32) -> Event {
    let f = &view.filter;
    let kind = EventKind::parse(f.kinds[0]).unwrap();
    let mut ev = Event {
        event_kind: kind,
        process_pid: pid,
        thread_id: pid,
        process_parent_pid: Some(pid - 1),
        process_executable: Some("/usr/bin/true".into()),
        process_name: Some("true".into()),
        process_command_line: Some("true".into()),
        process_args: Some(vec!["true".into()]),
        process_cwd: Some("/home/user".into()),
        user_name: Some("user".into()),
        user_id: Some(1000),
        login_uid: Some(1000),
        process_effective_user_id: Some(1000),
        ret: Some(0),
        ..Event::default()
    };
    ev.syscall = match (kind, f.syscalls) {
        (_, Some(s)) => Some(s[0].into()),
        (EventKind::ProcessExec, _) => Some("execve".into()),
        (EventKind::ProcessExit, _) => None,
        _ => Some("openat".into()),
    };
    if let Some(flag) = f.flag {
        ev.file_flags = Some(format!("O_WRONLY|{flag}"));
    }
    if f.families.is_some() {
        ev.network_family = Some("AF_INET".into());
        ev.network_transport = Some("tcp".into());
        ev.destination_ip = Some("93.184.215.14".into());
        ev.destination_port = Some(443);
        ev.source_ip = Some("10.0.2.15".into());
        ev.source_port = Some(40000);
    }
    if let Some(c) = f.non_null {
        match c {
            "file_path" => ev.file_path = Some("/tmp/file".into()),
            "file_target_path" => {
                ev.file_path = Some("/tmp/old".into());
                ev.file_target_path = Some("/tmp/new".into())
            }
            _ => {}
        }
    }
    ev
}

fn selections(s: &Search, out: &mut Vec<Vec<FieldMatch>>) {
    match s {
        Search::AllOf(f) => out.push(f.clone()),
        Search::AnyOf(a) => a.iter().for_each(|x| selections(x, out)),
    }
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Events derived from every selection of every rule.
fn derived_events(rules: &[Compiled]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut pid = 1000;
    for c in rules {
        for view in &c.views {
            let mut sels = Vec::new();
            for (_, s) in &c.rule.searches {
                selections(s, &mut sels);
            }
            for sel in sels {
                for variant in 0..4 {
                    pid += 2;
                    let mut parent = base_event(view, pid - 1);
                    parent.event_kind = EventKind::ProcessExec;
                    parent.syscall = Some("execve".into());
                    let mut ev = base_event(view, pid);
                    for fm in &sel {
                        let src = match fm.field.as_deref() {
                            Some(f) => view.source(f),
                            None => view.keywords,
                        };
                        let picks: Vec<String> = if fm.all {
                            fm.values
                                .iter()
                                .filter_map(|alts| sample(&alts[0]))
                                .collect()
                        } else {
                            fm.values
                                .first()
                                .and_then(|alts| sample(&alts[0]))
                                .into_iter()
                                .collect()
                        };
                        if picks.is_empty() {
                            continue;
                        }
                        let mut v = picks.join(" ");
                        match variant {
                            1 => v = swap_case(&v),
                            2 => {
                                v.pop();
                            }
                            _ => {}
                        }
                        set_field(&mut ev, &mut parent, src, &v, variant == 3);
                    }
                    events.push(parent);
                    events.push(ev);
                }
            }
        }
    }
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64;
    }
    events
}

/// Seqs of the fixture recordings start at `RECORDING_BASE * (i + 1)`; the
/// state model starts afresh with each recording.
const RECORDING_BASE: u64 = 1_000_000;

/// Which rule matched which event, by the reference evaluator and by the
/// replay engine, and the export of every event through every view.
struct Evaluation {
    reference: BTreeMap<String, BTreeSet<u64>>,
    engine: BTreeMap<String, BTreeSet<u64>>,
    records: String,
}

fn evaluate(compiled: &[Compiled], events: &[Event], names: &BTreeSet<String>) -> Evaluation {
    let ir: Vec<_> = compiled.iter().map(to_ir).collect();
    let engine = Engine::new(&ir).unwrap_or_else(|e| panic!("{e:?}"));
    let mut out = Evaluation {
        reference: BTreeMap::new(),
        engine: BTreeMap::new(),
        records: String::new(),
    };
    for group in events.chunk_by(|a, b| a.seq / RECORDING_BASE == b.seq / RECORDING_BASE) {
        let mut state = State::new();
        let mut replay = engine.replay("oracle", Options::default());
        for ev in group {
            state.before(ev);
            let ctx = Ctx::new(ev, &state);
            for view in sigma::fields::VIEWS {
                if !eval::in_view(view, ev) {
                    continue;
                }
                let mut fields = serde_json::Map::new();
                for n in names {
                    let v = eval::field_value(view, Some(n), ev, &ctx);
                    fields.insert(n.clone(), to_json(v));
                }
                fields.insert(
                    "_raw".into(),
                    to_json(eval::field_value(view, None, ev, &ctx)),
                );
                let rec = serde_json::json!({"seq": ev.seq, "view": view.name, "fields": fields});
                writeln!(out.records, "{rec}").unwrap();
            }
            for c in compiled {
                if c.matches(ev, &ctx) {
                    out.reference
                        .entry(c.rule.id.clone())
                        .or_default()
                        .insert(ev.seq);
                }
            }
            state.after(ev);
            replay.push(ev);
        }
        for v in replay.finish().verdicts {
            out.engine.entry(v.rule_id).or_default().insert(v.seq);
        }
    }
    out
}

/// Sigma field names used by any rule: one column each in the export.
fn field_names(compiled: &[Compiled]) -> BTreeSet<String> {
    fn walk(s: &Search, out: &mut BTreeSet<String>) {
        match s {
            Search::AllOf(f) => out.extend(f.iter().filter_map(|m| m.field.clone())),
            Search::AnyOf(a) => a.iter().for_each(|x| walk(x, out)),
        }
    }
    let mut names = BTreeSet::new();
    for c in compiled {
        for (_, s) in &c.rule.searches {
            walk(s, &mut names);
        }
    }
    names
}

/// Every difference between two answers, described with the rule and event.
fn differences(
    compiled: &[Compiled],
    events: &[Event],
    (left_name, left): (&str, &BTreeMap<String, BTreeSet<u64>>),
    (right_name, right): (&str, &BTreeMap<String, BTreeSet<u64>>),
    only: Option<&BTreeSet<String>>,
) -> Vec<String> {
    let by_seq: HashMap<u64, &Event> = events.iter().map(|e| (e.seq, e)).collect();
    let empty = BTreeSet::new();
    let mut out = Vec::new();
    for c in compiled {
        let id = &c.rule.id;
        if only.is_some_and(|o| !o.contains(id)) {
            continue;
        }
        let l = left.get(id).unwrap_or(&empty);
        let r = right.get(id).unwrap_or(&empty);
        for seq in l.symmetric_difference(r) {
            let ev = by_seq[seq];
            out.push(format!(
                "rule {id} ({}, {})\n  event seq {seq}: {:?} exe={:?} cmdline={:?} file={:?} target={:?} args={:?}\n  {left_name}: {}  {right_name}: {}",
                c.rule.title,
                c.rule.file,
                ev.event_kind,
                ev.process_executable,
                ev.process_command_line,
                ev.file_path,
                ev.file_target_path,
                ev.process_args,
                l.contains(seq),
                r.contains(seq)
            ));
        }
    }
    out
}

fn show(what: &str, d: &[String]) -> String {
    format!(
        "{} disagreements ({what}):\n{}",
        d.len(),
        d.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    )
}

/// Hindsight's own test rules (`tests/sigma_rules/`) for the log sources
/// the SigmaHQ Linux rules do not use (`file_delete`, `process_termination`).
fn extra_rule_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma_rules");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The corpus rules (and [`extra_rule_files`]) that apply to a syscall
/// recording (applicable or cannot-fire), and the files they come from.
fn corpus() -> (Vec<Compiled>, Vec<String>) {
    let mut compiled = Vec::new();
    let mut rule_files = Vec::new();
    let mut files = sigma_corpus_files::linux_rule_files();
    files.extend(extra_rule_files());
    for f in files {
        let mut any = false;
        for r in sigma::load_file(&f).unwrap() {
            let c = Compiled::new(r);
            if !matches!(c.applicability, Applicability::NotApplicable(_)) {
                any = true;
                compiled.push(c);
            }
        }
        if any {
            rule_files.push(f.display().to_string());
        }
    }
    (compiled, rule_files)
}

#[test]
fn hindsight_and_pysigma_agree() {
    let ok = Command::new("python3")
        .args(["-c", "import sigma.backends.sqlite"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the oracle needs pySigma: run scripts/setup.sh (pip install pysigma pysigma-backend-sqlite)"
    );

    let (compiled, rule_files) = corpus();
    let mut events = derived_events(&compiled);
    let fixture = fixture_events();
    let n_fixture = fixture.len();
    events.extend(fixture);
    let names = field_names(&compiled);
    let ev = evaluate(&compiled, &events, &names);

    let scratch = tempdir();
    let dir = scratch.path();
    std::fs::write(dir.join("rules.txt"), rule_files.join("\n")).unwrap();
    std::fs::write(dir.join("records.jsonl"), &ev.records).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/sigma_oracle.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.join("rules.txt"))
        .arg(dir.join("records.jsonl"))
        .output()
        .unwrap();
    drop(scratch);
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut theirs: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut oracle_errors = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        if let Some(e) = v.get("error") {
            oracle_errors.push(format!("{id}: {e}"));
            continue;
        }
        let seqs = v["seqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap());
        theirs.insert(id, seqs.collect());
    }
    let converted: BTreeSet<String> = theirs.keys().cloned().collect();
    let compared = compiled
        .iter()
        .filter(|c| converted.contains(&c.rule.id))
        .count();
    let positives: usize = ev
        .reference
        .iter()
        .filter(|(id, _)| converted.contains(*id))
        .map(|(_, s)| s.len())
        .sum();
    let reference = differences(
        &compiled,
        &events,
        ("hindsight (reference evaluator)", &ev.reference),
        ("pysigma", &theirs),
        Some(&converted),
    );
    let engine = differences(
        &compiled,
        &events,
        ("hindsight (replay engine)", &ev.engine),
        ("pysigma", &theirs),
        Some(&converted),
    );
    eprintln!(
        "oracle: {} rules x {} events ({} from the fixture recordings) compared ({} rules pySigma could not convert), {} matches, {} disagreements (reference evaluator), {} (replay engine)",
        compared,
        events.len(),
        n_fixture,
        oracle_errors.len(),
        positives,
        reference.len(),
        engine.len()
    );
    for e in &oracle_errors {
        eprintln!("  pySigma could not convert {e}");
    }
    assert!(
        reference.is_empty(),
        "{}",
        show("reference evaluator vs pySigma", &reference)
    );
    assert!(
        engine.is_empty(),
        "{}",
        show("replay engine vs pySigma", &engine)
    );
    assert!(compared > 150, "only {compared} rules compared");
    assert!(
        positives > 150,
        "only {positives} matches: the derived events do not exercise the rules"
    );
}

/// The events of the committed fixture recordings (`synthetic-small` and the
/// real scenario recordings under `fixtures/recordings/sigma`), numbered after
/// the derived ones, [`RECORDING_BASE`] apart.
fn fixture_events() -> Vec<Event> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings");
    let mut dirs = vec![root.join("synthetic-small")];
    let mut slugs: Vec<_> = std::fs::read_dir(root.join("sigma"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    slugs.sort();
    for s in slugs {
        dirs.push(s.join("positive"));
        dirs.push(s.join("negative"));
    }
    let mut out = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let rec = hindsight_format::reader::Recording::open(dir).unwrap();
        for e in rec.events() {
            let mut e = e.unwrap();
            assert!(e.seq < RECORDING_BASE, "{}: seq {}", dir.display(), e.seq);
            e.seq += RECORDING_BASE * (i as u64 + 1);
            out.push(e);
        }
    }
    out
}

fn to_json(v: Option<eval::Value<'_>>) -> serde_json::Value {
    match v {
        None => serde_json::Value::Null,
        Some(eval::Value::Int(i)) => i.into(),
        Some(eval::Value::Str(s)) => s.into_owned().into(),
    }
}

/// A scratch directory removed when dropped, also when an assertion fails.
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hindsight-sigma-oracle-")
        .tempdir()
        .unwrap()
}

/// Without pySigma: the replay engine (Sigma compiled to the shared IR)
/// gives exactly the reference evaluator's answer for every rule and every
/// derived and fixture event (auditd `aN` is argv element N, in both).
#[test]
fn engine_agrees_with_the_reference_evaluator() {
    let (compiled, _) = corpus();
    let mut events = derived_events(&compiled);
    let n_derived = events.len();
    events.extend(fixture_events());
    let ev = evaluate(&compiled, &events, &BTreeSet::new());
    let d = differences(
        &compiled,
        &events,
        ("reference", &ev.reference),
        ("engine", &ev.engine),
        None,
    );
    let verdicts: usize = ev.engine.values().map(BTreeSet::len).sum();
    eprintln!(
        "engine: {} rules, {} events ({} derived), {} verdicts, {} disagreements",
        compiled.len(),
        events.len(),
        n_derived,
        verdicts,
        d.len()
    );
    assert!(d.is_empty(), "{}", show("reference vs engine", &d));
    assert!(verdicts > 150);
}
