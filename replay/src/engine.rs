//! The engine: replays events in `seq` order through the [`State`], evaluates
//! every enabled rule on every event, and collects a [`Report`].
//!
//! ```text
//! for each event:  [enforcement: would it still happen?] → state.before → rules → [actions] → state.after
//! ```
//!
//! Everything is deterministic: rules run in rule-set order, verdicts come
//! out in event order, nothing depends on the clock or on hash order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use hindsight_format::{Event, EventKind};

use crate::accounts::Accounts;
use crate::eval::{CompileError, Known, Program, syscall_filter};
use crate::field::{Col, Field};
use crate::intern::StrHasher;
use crate::ir::{Action, Part, Rule};
use crate::row::Row;
use crate::state::State;
use crate::value::{Ctx, Value, any_value, column, expr_single, row_column};
use crate::verdict::{Enforcement, Report, Suppressed, Verdict};

/// Verdicts within this distance (ns) of a `loss` row are flagged
/// [`Verdict::possibly_incomplete`]: 1 second either side.
pub const LOSS_WINDOW_NS: i64 = 1_000_000_000;

/// A rule that failed to compile for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` ({file}:{line}): {error}")]
pub struct RuleError {
    /// The rule id.
    pub rule: String,
    /// Its file.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// What is wrong.
    pub error: CompileError,
}

/// Replay options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Apply rule actions as an enforcer would and report what would not have happened.
    pub simulate_enforcement: bool,
}

struct Compiled {
    rule: Rule,
    fields: Vec<Field>,
}

type StrMap<V> = HashMap<Box<str>, V, BuildHasherDefault<StrHasher>>;

/// A rule to try and the program to try it with.
#[derive(Clone, Copy)]
struct Candidate {
    rule: u32,
    program: u32,
}

/// Candidates per event kind (indexed by [`kind_index`]), in rule order.
type ByKind = [Box<[Candidate]>; EventKind::ALL.len()];

fn kind_index(k: EventKind) -> usize {
    match k {
        EventKind::Syscall => 0,
        EventKind::ProcessFork => 1,
        EventKind::ProcessExec => 2,
        EventKind::ProcessExit => 3,
        EventKind::ProcessSnapshot => 4,
        EventKind::Loss => 5,
    }
}

/// Compiled rules, ready to replay any number of recordings.
///
/// Every rule is compiled once, then specialised per event kind and, for
/// rules that only match some syscalls, per syscall: the tests on
/// `event_kind` and `syscall` are decided at load time, and a rule that
/// cannot match an (event kind, syscall) pair is not tried on it at all.
pub struct Engine {
    rules: Vec<Compiled>,
    programs: Vec<Program>,
    /// Rules that only match some syscalls, per syscall name (`""`: events
    /// without one), specialised for it.
    by_syscall: StrMap<ByKind>,
    /// Rules that may match any syscall, for events with a syscall.
    unfiltered: ByKind,
    /// The same, specialised for events without a syscall.
    unfiltered_no_syscall: ByKind,
}

/// Specialises `generic` for each event kind; keeps the candidates that can match.
fn by_kind(
    programs: &mut Vec<Program>,
    rules: impl Iterator<Item = (u32, u32)> + Clone,
    syscall: Option<Option<&str>>,
) -> ByKind {
    EventKind::ALL.map(|kind| {
        let known = Known { kind, syscall };
        rules
            .clone()
            .filter_map(|(rule, generic)| {
                let p = programs[generic as usize].specialize(&known);
                if p.is_never() {
                    return None;
                }
                programs.push(p);
                Some(Candidate {
                    rule,
                    program: programs.len() as u32 - 1,
                })
            })
            .collect()
    })
}

impl Engine {
    /// Compiles the enabled rules (in order).
    pub fn new(rules: &[Rule]) -> Result<Engine, RuleError> {
        let mut compiled = Vec::new();
        let mut programs = Vec::new();
        let mut filters = Vec::new();
        for r in rules.iter().filter(|r| r.enabled) {
            let program = Program::compile(&r.condition).map_err(|error| RuleError {
                rule: r.id.clone(),
                file: r.origin.file.clone(),
                line: r.origin.line,
                error,
            })?;
            filters.push(syscall_filter(&r.condition));
            programs.push(program);
            compiled.push(Compiled {
                fields: r.fields(),
                rule: r.clone(),
            });
        }
        // Generic programs are 0..n, rule i's at index i.
        let n = compiled.len() as u32;
        let mut names: Vec<&String> = filters.iter().flatten().flatten().collect();
        names.sort();
        names.dedup();
        let unfiltered_rules = (0..n)
            .filter(|&i| filters[i as usize].is_none())
            .map(|i| (i, i));
        let unfiltered = by_kind(&mut programs, unfiltered_rules.clone(), None);
        let unfiltered_no_syscall = by_kind(&mut programs, unfiltered_rules, Some(None));
        let mut by_syscall = StrMap::default();
        for name in names {
            let rules = (0..n)
                .filter(|&i| {
                    filters[i as usize]
                        .as_ref()
                        .is_some_and(|s| s.contains(name))
                })
                .map(|i| (i, i));
            // `""` also stands for events without a syscall: leave it unknown.
            let known = (!name.is_empty()).then_some(Some(name.as_str()));
            by_syscall.insert(name.as_str().into(), by_kind(&mut programs, rules, known));
        }
        Ok(Engine {
            rules: compiled,
            programs,
            by_syscall,
            unfiltered,
            unfiltered_no_syscall,
        })
    }

    /// Every event column a replay with these rules reads: the state
    /// model's ([`crate::state::COLUMNS`]), the engine's own (loss rows,
    /// enforcement) and those the rules' conditions and outputs read, in
    /// schema order. A reader may leave the others out, except that a
    /// verdict's [`Verdict::event`] shows the whole row: a projected replay
    /// fills that in afterwards ([`crate::run::replay_one`] does).
    pub fn columns(&self) -> BTreeSet<Col> {
        let mut cols: BTreeSet<Col> = crate::state::COLUMNS.iter().copied().collect();
        cols.extend([
            Col::TimeNs,
            Col::Seq,
            Col::EventKind,
            Col::ProcessPid,
            Col::ThreadId,
            Col::Syscall,
            Col::Ret,
            Col::Fd,
            Col::FilePath,
            Col::ProcessParentPid,
            Col::LostEvents,
        ]);
        for c in &self.rules {
            cols.extend(c.fields.iter().flat_map(Field::source_columns));
        }
        // `time` is computed from `time_ns`.
        cols.remove(&Col::Time);
        cols
    }

    /// Number of rules that will be evaluated.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is enabled.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Starts replaying one recording; `label` names it in verdicts.
    pub fn replay(&self, label: &str, options: Options) -> Replay<'_> {
        Replay {
            engine: self,
            label: label.to_string(),
            options,
            state: State::new(),
            report: Report {
                rules: self.len(),
                ..Report::default()
            },
            loss_times: Vec::new(),
            dead: BTreeMap::new(),
            fired: Vec::new(),
        }
    }

    /// Sets the output of each verdict whose rule renders it late
    /// ([`crate::ir::Rule::late_output`]) from the verdict as it is now; run
    /// again after a verdict's event was completed.
    pub fn render_late_outputs(&self, report: &mut Report) {
        for v in &mut report.verdicts {
            if let Some(c) = self.rules.iter().find(|c| c.rule.id == v.rule_id)
                && let Some(late) = &c.rule.late_output
            {
                v.output = (late.0)(v);
            }
        }
    }

    /// The rules to try on `ev`: those naming its syscall, and those that
    /// name none (two lists, each in rule order).
    fn candidates(&self, ev: &Row<'_>) -> (&[Candidate], &[Candidate]) {
        let kind = kind_index(ev.event_kind);
        let key = ev.syscall;
        let named = self
            .by_syscall
            .get(key.unwrap_or(""))
            .map_or(&[][..], |l| &l[kind][..]);
        let any = if key.is_some() {
            &self.unfiltered[kind]
        } else {
            &self.unfiltered_no_syscall[kind]
        };
        (named, any)
    }
}

/// One recording being replayed: feed it events with [`Replay::push`] in
/// `seq` order, then take the [`Report`] with [`Replay::finish`].
pub struct Replay<'e> {
    engine: &'e Engine,
    label: String,
    options: Options,
    state: State,
    report: Report,
    loss_times: Vec<i64>,
    /// Enforcement: pid → (seq of the enforcement, why its events no longer happen).
    dead: BTreeMap<i32, (u64, String)>,
    fired: Vec<u32>,
}

fn creates_fd(sc: &str) -> bool {
    matches!(
        sc,
        "open"
            | "openat"
            | "openat2"
            | "creat"
            | "open_by_handle_at"
            | "socket"
            | "accept"
            | "accept4"
            | "memfd_create"
    )
}

impl Replay<'_> {
    /// Names users and groups from the recorded host's tables
    /// ([`crate::accounts::Accounts::from_manifest`]); call before the first
    /// event. Without them names come only from the rows seen so far.
    pub fn set_accounts(&mut self, accounts: Arc<Accounts>) {
        self.state.set_accounts(accounts);
    }

    /// The state as it is now.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Verdicts so far (they are numbered in order from 0).
    pub fn verdict_count(&self) -> usize {
        self.report.verdicts.len()
    }

    /// Replays one event.
    pub fn push(&mut self, ev: &Event) {
        self.push_row(&Row::event(ev));
    }

    /// Replays one event read in place ([`Replay::push`] of a [`Row`]).
    pub fn push_row(&mut self, ev: &Row<'_>) {
        self.report.events += 1;
        if ev.event_kind == EventKind::Loss {
            self.loss_times.push(ev.time_ns);
            self.report.lost_events += ev.lost_events().unwrap_or(0);
            return;
        }
        if self.options.simulate_enforcement && self.suppress(ev) {
            return;
        }
        let saved = (self.options.simulate_enforcement && ev.event_kind == EventKind::ProcessExec)
            .then(|| self.state.process(ev.process_pid).cloned())
            .flatten();
        self.state.before_row(ev);
        self.fired.clear();
        {
            let ctx = Ctx::row(*ev, &self.state);
            let (named, any) = self.engine.candidates(ev);
            for c in named.iter().chain(any) {
                if self.engine.programs[c.program as usize].eval(&ctx) {
                    self.fired.push(c.rule);
                }
            }
            if !named.is_empty() && !any.is_empty() {
                // Verdicts come out in rule order.
                self.fired.sort_unstable();
            }
            for &i in &self.fired {
                let c = &self.engine.rules[i as usize];
                self.report.verdicts.push(verdict(&self.label, c, &ctx));
            }
        }
        if self.options.simulate_enforcement {
            let actions: Vec<(u32, Action)> = self
                .fired
                .iter()
                .filter_map(|&i| self.engine.rules[i as usize].rule.action.map(|a| (i, a)))
                .collect();
            for (i, action) in actions {
                self.enforce(ev, i, action, saved.clone());
            }
        }
        self.state.after_row(ev);
    }

    /// Under enforcement: whether `ev` would not have happened; records it if so.
    fn suppress(&mut self, ev: &Row<'_>) -> bool {
        let pid = ev.process_pid;
        let mut because: Option<(u64, String)> = None;
        if ev.event_kind == EventKind::ProcessFork {
            let parent_dead = ev
                .process_parent_pid()
                .and_then(|pp| self.dead.get(&pp))
                .cloned();
            match parent_dead {
                Some((seq, why)) => {
                    because = Some((seq, format!("parent {}", why)));
                    self.dead.insert(pid, (seq, format!("parent {}", why)));
                }
                None => {
                    // A new process reusing a dead pid (or a thread of a live one) lives.
                    if let Some((seq, why)) = self.dead.get(&pid).cloned()
                        && why.starts_with("fork denied")
                    {
                        because = Some((seq, why));
                    } else {
                        self.dead.remove(&pid);
                    }
                }
            }
        } else if let Some(d) = self.dead.get(&pid) {
            because = Some(d.clone());
        } else if let (Some(fd), Some(sc)) = (ev.fd, ev.syscall)
            && !creates_fd(sc)
            && let Some(p) = self.state.process_mut(pid)
            && let Some(info) = p.fds.get(&fd)
            && let Some(seq) = info.denied_by
        {
            because = Some((seq, format!("fd {fd} was never opened")));
            match sc {
                "close" => {
                    p.fds.remove(&fd);
                }
                "dup" | "dup2" | "dup3" | "fcntl" => {
                    if let Some(new) = ev.ret.and_then(|r| i32::try_from(r).ok())
                        && new >= 0
                        && new != fd
                    {
                        let info = info.clone();
                        p.fds.insert(new, info);
                    }
                }
                _ => {}
            }
        }
        let Some((seq, reason)) = because else {
            return false;
        };
        self.report.suppressed.push(Suppressed {
            recording: self.label.clone(),
            seq: ev.seq,
            time_ns: ev.time_ns,
            pid,
            what: ev
                .syscall
                .filter(|_| ev.event_kind == EventKind::Syscall)
                .unwrap_or(ev.event_kind.as_str())
                .to_string(),
            because_of: seq,
            reason,
        });
        true
    }

    fn enforce(
        &mut self,
        ev: &Row<'_>,
        rule: u32,
        action: Action,
        saved: Option<crate::state::Process>,
    ) {
        let pid = ev.process_pid;
        let exe = self
            .state
            .process(pid)
            .and_then(|p| p.exe.as_deref().map(str::to_string));
        let who = format!("pid {pid} ({})", exe.as_deref().unwrap_or("?"));
        let kill = |this: &mut Self, victims: &[i32], why: &str| {
            for &v in victims {
                this.dead.insert(v, (ev.seq, why.to_string()));
                if let Some(p) = this.state.process_mut(v) {
                    p.exited = true;
                    p.fds.clear();
                }
            }
        };
        let summary = match action {
            Action::Kill => {
                kill(self, &[pid], &format!("killed at seq {}", ev.seq));
                format!("kill {who}")
            }
            Action::KillTree => {
                let mut victims = self.state.descendants(pid);
                victims.insert(0, pid);
                kill(self, &victims, &format!("killed (tree) at seq {}", ev.seq));
                format!("kill {who} and {} descendant(s)", victims.len() - 1)
            }
            Action::Deny(errno) => {
                let sc = ev.syscall.unwrap_or("");
                let name = crate::errno::name(errno);
                if ev.event_kind == EventKind::ProcessExec
                    || matches!(sc, "execve" | "execveat") && ev.ret.is_some_and(|r| r >= 0)
                {
                    if let Some(old) = saved
                        && self.state.process(pid).is_some()
                    {
                        self.state.restore(old);
                    }
                    self.dead
                        .insert(pid, (ev.seq, format!("exec denied at seq {}", ev.seq)));
                    format!(
                        "deny exec of {} in pid {pid} with {name}; the old image keeps running",
                        ev.file_path().or(exe.as_deref()).unwrap_or("?")
                    )
                } else if matches!(sc, "clone" | "clone3" | "fork" | "vfork")
                    && ev.ret.is_some_and(|r| r > 0)
                {
                    let child = ev.ret.unwrap_or_default() as i32;
                    self.dead
                        .insert(child, (ev.seq, format!("fork denied at seq {}", ev.seq)));
                    format!("deny {sc} in {who} with {name}: child {child} never exists")
                } else if let Some(fd) = crate::value::row_fd(ev).filter(|_| {
                    creates_fd(sc) || matches!(sc, "connect" | "dup" | "dup2" | "dup3" | "fcntl")
                }) {
                    let target = if matches!(sc, "dup" | "dup2" | "dup3" | "fcntl") {
                        ev.ret.and_then(|r| i32::try_from(r).ok()).unwrap_or(fd)
                    } else {
                        fd
                    };
                    if let Some(p) = self.state.process_mut(pid) {
                        p.fds.get_or_default(target).denied_by = Some(ev.seq);
                    }
                    format!("deny {sc} in {who} with {name}: fd {target} never exists")
                } else {
                    format!("deny {sc} in {who} with {name}")
                }
            }
        };
        let c = &self.engine.rules[rule as usize];
        self.report.enforcements.push(Enforcement {
            recording: self.label.clone(),
            rule_id: c.rule.id.clone(),
            action: action.describe(),
            seq: ev.seq,
            time_ns: ev.time_ns,
            pid,
            exe,
            summary,
        });
    }

    /// Ends the replay: flags verdicts near loss, renders late outputs
    /// ([`crate::ir::Rule::late_output`]) and returns the report.
    pub fn finish(self) -> Report {
        let engine = self.engine;
        let mut report = self.finish_partial();
        engine.render_late_outputs(&mut report);
        report
    }

    /// [`Replay::finish`] for a caller that completes the verdicts' events
    /// first (a projected replay) and then calls
    /// [`Engine::render_late_outputs`] once.
    pub(crate) fn finish_partial(mut self) -> Report {
        if !self.loss_times.is_empty() {
            self.loss_times.sort_unstable();
            for v in &mut self.report.verdicts {
                let i = self
                    .loss_times
                    .partition_point(|&t| t < v.time_ns - LOSS_WINDOW_NS);
                v.possibly_incomplete = self
                    .loss_times
                    .get(i)
                    .is_some_and(|&t| t <= v.time_ns + LOSS_WINDOW_NS);
            }
        }
        self.report
    }
}

/// Every non-null column of `ev` as JSON (`time` as RFC 3339).
pub fn event_json(ev: &Event) -> serde_json::Map<String, serde_json::Value> {
    event_json_row(Row::event(ev))
}

/// [`event_json`] of a [`Row`].
pub fn event_json_row(ev: Row<'_>) -> serde_json::Map<String, serde_json::Value> {
    columns_json(ev.time_ns, |c| row_column(c, &ev))
}

/// [`event_json`] of a row whose columns are spread over several partial
/// [`Event`]s: column `c` is read from `from(c)` (`time` from `time_ns`'s).
pub fn event_json_from<'a>(
    from: &dyn Fn(Col) -> &'a Event,
) -> serde_json::Map<String, serde_json::Value> {
    columns_json(from(Col::TimeNs).time_ns, |c| column(c, from(c)))
}

/// The non-null columns `value(c)` as JSON, `time` from `time_ns`.
fn columns_json<'a>(
    time_ns: i64,
    value: impl Fn(Col) -> Value<'a>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for &c in Col::ALL {
        let v = if c == Col::Time {
            Value::Str(hindsight_format::manifest::rfc3339(time_ns).into())
        } else {
            value(c)
        };
        if !v.is_null() {
            m.insert(c.name().to_string(), v.to_json());
        }
    }
    m
}

/// The value(s) of `field` as JSON: an array for multi-valued fields.
pub fn field_json(field: &Field, ctx: &Ctx<'_>) -> serde_json::Value {
    if field.is_multi() {
        let mut all = Vec::new();
        any_value(field, ctx, &mut |v| {
            all.push(v.to_json());
            false
        });
        if all.is_empty() && expr_single(&field.clone().into(), ctx).is_null() {
            return serde_json::Value::Null;
        }
        serde_json::Value::Array(all)
    } else {
        expr_single(&field.clone().into(), ctx).to_json()
    }
}

/// Renders an output template.
pub fn render(parts: &[Part], ctx: &Ctx<'_>) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Field(e) => expr_single(e, ctx).render(&mut out),
            Part::First(list) => list
                .iter()
                .map(|e| expr_single(e, ctx))
                .find(|v| !matches!(v, Value::Null))
                .unwrap_or(Value::Null)
                .render(&mut out),
        }
    }
    out
}

fn verdict(label: &str, c: &Compiled, ctx: &Ctx<'_>) -> Verdict {
    let ev = ctx.ev;
    let r = &c.rule;
    Verdict {
        recording: label.to_string(),
        rule_id: r.id.clone(),
        rule: r.name.clone(),
        priority: r.priority.as_str(),
        tags: r.tags.clone(),
        source: r.origin.language,
        seq: ev.seq,
        time_ns: ev.time_ns,
        pid: ev.process_pid,
        tid: ev.thread_id,
        event_kind: ev.event_kind.as_str(),
        syscall: ev.syscall.map(str::to_string),
        output: render(&r.output, ctx),
        fields: c
            .fields
            .iter()
            .map(|f| (f.name(), field_json(f, ctx)))
            .collect(),
        event: event_json_row(ev),
        possibly_incomplete: false,
        action: r.action.map(Action::describe),
    }
}
