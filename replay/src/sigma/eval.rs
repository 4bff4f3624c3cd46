//! Sigma semantics on one event: the reference evaluator.
//!
//! The replay engine runs Sigma rules through the shared condition IR; this
//! module keeps Sigma's own meaning of a rule in one readable place. It decides
//! which rules can fire at all (partial evaluation with the fields a recording
//! cannot fill) and answers "does this rule match this event" directly, which
//! the oracle tests compare against pySigma.

use std::borrow::Cow;
use std::collections::BTreeSet;

use hindsight_format::Event;

use super::condition::Cond;
use super::detection::{CmpOp, FieldMatch, Matcher, Search};
use super::fields::{Source, View};
use super::rule::SigmaRule;

/// A field's value in one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// A number.
    Int(i64),
}

impl Value<'_> {
    /// The value as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Int(i) => Cow::Owned(i.to_string()),
        }
    }
}

/// State fields the replay engine keeps (the parent's image and command line).
pub trait State {
    /// The value of state field `name` (a canonical field name such as
    /// `parent_exe`, see [`crate::field::Field::parse`]) for the event's process.
    fn get(&self, name: &str) -> Option<String>;
}

/// The replay engine's own state: a state field reads exactly what the
/// engine's rules read ([`crate::value::single`]), so the reference evaluator
/// and the engine see the same parent image and command line.
impl State for crate::value::Ctx<'_> {
    fn get(&self, name: &str) -> Option<String> {
        let field = crate::field::Field::parse(name)?;
        match crate::value::single(&field, self) {
            crate::value::Value::Null => None,
            v => {
                let mut out = String::new();
                v.render(&mut out);
                Some(out)
            }
        }
    }
}

/// No state: every state field is null.
pub struct NoState;

impl State for NoState {
    fn get(&self, _: &str) -> Option<String> {
        None
    }
}

/// The value of an event column, by name.
pub fn column<'a>(ev: &'a Event, name: &str) -> Option<Value<'a>> {
    let s = |v: &'a Option<String>| v.as_deref().map(|s| Value::Str(Cow::Borrowed(s)));
    match name {
        "event_kind" => Some(Value::Str(Cow::Borrowed(ev.event_kind.as_str()))),
        "syscall" => s(&ev.syscall),
        "ret" => ev.ret.map(Value::Int),
        "process_pid" => Some(Value::Int(ev.process_pid.into())),
        "process_parent_pid" => ev.process_parent_pid.map(|v| Value::Int(v.into())),
        "process_session_id" => ev.process_session_id.map(|v| Value::Int(v.into())),
        "process_name" => s(&ev.process_name),
        "process_executable" => s(&ev.process_executable),
        "process_command_line" => s(&ev.process_command_line),
        "process_cwd" => s(&ev.process_cwd),
        "user_id" => ev.user_id.map(|v| Value::Int(v.into())),
        "user_name" => s(&ev.user_name),
        "group_id" => ev.group_id.map(|v| Value::Int(v.into())),
        "process_effective_user_id" => ev.process_effective_user_id.map(|v| Value::Int(v.into())),
        "login_uid" => ev.login_uid.map(|v| Value::Int(v.into())),
        "file_path" => s(&ev.file_path),
        "file_target_path" => s(&ev.file_target_path),
        "file_flags" => s(&ev.file_flags),
        "file_inode" => ev
            .file_inode
            .and_then(|v| i64::try_from(v).ok())
            .map(Value::Int),
        "network_family" => s(&ev.network_family),
        "network_transport" => s(&ev.network_transport),
        "source_ip" => s(&ev.source_ip),
        "source_port" => ev.source_port.map(|v| Value::Int(v.into())),
        "destination_ip" => s(&ev.destination_ip),
        "destination_port" => ev.destination_port.map(|v| Value::Int(v.into())),
        _ => None,
    }
}

/// Whether `ev` belongs to `view`.
pub fn in_view(view: &View, ev: &Event) -> bool {
    let f = &view.filter;
    if !f.kinds.contains(&ev.event_kind.as_str()) {
        return false;
    }
    if let Some(sc) = f.syscalls
        && !ev.syscall.as_deref().is_some_and(|s| sc.contains(&s))
    {
        return false;
    }
    if let Some(flag) = f.flag
        && !ev
            .file_flags
            .as_deref()
            .is_some_and(|fl| fl.split('|').any(|x| x == flag))
    {
        return false;
    }
    if let Some(col) = f.non_null
        && column(ev, col).is_none()
    {
        return false;
    }
    if f.success {
        let ok = match ev.ret {
            Some(r) => r >= 0 || (f.in_progress_ok && r == -115),
            None => false,
        };
        if !ok {
            return false;
        }
    }
    if f.not_exec_syscall
        && ev.event_kind.as_str() == "syscall"
        && ev
            .syscall
            .as_deref()
            .is_some_and(|s| super::fields::EXEC.contains(&s))
        && ev.ret.is_some_and(|r| r >= 0)
    {
        return false;
    }
    if let Some(fams) = f.families
        && !ev
            .network_family
            .as_deref()
            .is_some_and(|x| fams.contains(&x))
    {
        return false;
    }
    true
}

/// The value of a Sigma field in `view` for `ev`.
pub fn field_value<'a>(
    view: &View,
    field: Option<&str>,
    ev: &'a Event,
    state: &dyn State,
) -> Option<Value<'a>> {
    let src = match field {
        Some(f) => view.source(f),
        None => view.keywords,
    };
    source_value(src, ev, state)
}

/// The value a [`Source`] yields for `ev`.
pub fn source_value<'a>(src: Source, ev: &'a Event, state: &dyn State) -> Option<Value<'a>> {
    match src {
        Source::Column(c) => column(ev, c),
        Source::State(s) => state.get(s).map(|v| Value::Str(Cow::Owned(v))),
        Source::Arg(i) => ev
            .process_args
            .as_ref()
            .and_then(|a| a.get(usize::from(i)))
            .map(|s| Value::Str(Cow::Borrowed(s.as_str()))),
        Source::Const(k) => Some(Value::Str(Cow::Borrowed(k))),
        Source::Missing => None,
    }
}

/// Whether one matcher accepts a field value (`None` = the field is null).
/// `other` resolves `fieldref` targets.
pub fn matcher_accepts(
    m: &Matcher,
    v: Option<&Value<'_>>,
    other: &dyn Fn(&str) -> Option<String>,
) -> bool {
    match (m, v) {
        (Matcher::Null, v) => v.is_none(),
        (Matcher::Exists(want), v) => v.is_some() == *want,
        (_, None) => false,
        (Matcher::Glob(p), Some(v)) => p.is_match(&v.text()),
        (Matcher::Number(n), Some(Value::Int(i))) => i == n,
        (Matcher::Number(n), Some(Value::Str(s))) => s.as_ref() == n.to_string(),
        (Matcher::Regex { re, .. }, Some(v)) => re.is_match(&v.text()),
        (Matcher::Cidr(c), Some(v)) => c.contains(&v.text()),
        (Matcher::Compare(op, n), Some(v)) => {
            let Ok(x) = v.text().trim().parse::<f64>() else {
                return false;
            };
            match op {
                CmpOp::Gt => x > *n,
                CmpOp::Gte => x >= *n,
                CmpOp::Lt => x < *n,
                CmpOp::Lte => x <= *n,
            }
        }
        (Matcher::FieldRef(f), Some(v)) => {
            other(f).is_some_and(|o| o.eq_ignore_ascii_case(&v.text()))
        }
    }
}

fn field_match(fm: &FieldMatch, view: &View, ev: &Event, state: &dyn State) -> bool {
    let v = field_value(view, fm.field.as_deref(), ev, state);
    let other = |f: &str| field_value(view, Some(f), ev, state).map(|v| v.text().into_owned());
    let one = |alts: &Vec<Matcher>| alts.iter().any(|m| matcher_accepts(m, v.as_ref(), &other));
    if fm.all {
        fm.values.iter().all(one)
    } else {
        fm.values.iter().any(one)
    }
}

fn search_match(s: &Search, view: &View, ev: &Event, state: &dyn State) -> bool {
    match s {
        Search::AllOf(fields) => fields.iter().all(|f| field_match(f, view, ev, state)),
        Search::AnyOf(alts) => alts.iter().any(|a| search_match(a, view, ev, state)),
    }
}

fn cond_match(rule: &SigmaRule, c: &Cond, view: &View, ev: &Event, state: &dyn State) -> bool {
    match c {
        Cond::Search(n) => rule
            .search(n)
            .is_some_and(|s| search_match(s, view, ev, state)),
        Cond::Not(x) => !cond_match(rule, x, view, ev, state),
        Cond::And(xs) => xs.iter().all(|x| cond_match(rule, x, view, ev, state)),
        Cond::Or(xs) => xs.iter().any(|x| cond_match(rule, x, view, ev, state)),
    }
}

/// Whether `rule` matches `ev` seen through `view` (the caller checks
/// [`in_view`]).
pub fn matches_in_view(rule: &SigmaRule, view: &View, ev: &Event, state: &dyn State) -> bool {
    cond_match(rule, &rule.condition, view, ev, state)
}

/// Three-valued result of partial evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    /// Always true.
    True,
    /// Always false.
    False,
    /// Depends on the event.
    Maybe,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Maybe => Tri::Maybe,
        }
    }
}

fn and_all(it: impl Iterator<Item = Tri>) -> Tri {
    let mut r = Tri::True;
    for t in it {
        match t {
            Tri::False => return Tri::False,
            Tri::Maybe => r = Tri::Maybe,
            Tri::True => {}
        }
    }
    r
}

fn or_any(it: impl Iterator<Item = Tri>) -> Tri {
    let mut r = Tri::False;
    for t in it {
        match t {
            Tri::True => return Tri::True,
            Tri::Maybe => r = Tri::Maybe,
            Tri::False => {}
        }
    }
    r
}

/// What a field match can be before seeing an event: fields a view fixes
/// (constants) or cannot fill (missing) decide it already.
pub fn partial_field(fm: &FieldMatch, view: &View) -> Tri {
    partial_field_with(fm, view, true)
}

/// [`partial_field`]; with `missing_is_null = false` only constants decide
/// (used to find the views a rule is *about*, to name what it needs).
pub fn partial_field_with(fm: &FieldMatch, view: &View, missing_is_null: bool) -> Tri {
    let src = match fm.field.as_deref() {
        Some(f) => view.source(f),
        None => view.keywords,
    };
    let known: Option<Value<'static>> = match src {
        Source::Missing if !missing_is_null => return Tri::Maybe,
        Source::Missing => None,
        Source::Const(k) => Some(Value::Str(Cow::Borrowed(k))),
        _ => return Tri::Maybe,
    };
    if fm
        .values
        .iter()
        .flatten()
        .any(|m| matches!(m, Matcher::FieldRef(_)))
    {
        return Tri::Maybe;
    }
    let none = |_: &str| None;
    let one = |alts: &Vec<Matcher>| {
        alts.iter()
            .any(|m| matcher_accepts(m, known.as_ref(), &none))
    };
    let hit = if fm.all {
        fm.values.iter().all(one)
    } else {
        fm.values.iter().any(one)
    };
    if hit { Tri::True } else { Tri::False }
}

fn partial_search(s: &Search, view: &View, null: bool) -> Tri {
    match s {
        Search::AllOf(fields) => and_all(fields.iter().map(|f| partial_field_with(f, view, null))),
        Search::AnyOf(alts) => or_any(alts.iter().map(|a| partial_search(a, view, null))),
    }
}

/// Partially evaluates the rule's condition in `view`. With
/// `missing_is_null`, fields the view cannot fill are null (the truth for a
/// recording); without, they are unknown.
pub fn partial(rule: &SigmaRule, c: &Cond, view: &View, missing_is_null: bool) -> Tri {
    let p = |x: &Cond| partial(rule, x, view, missing_is_null);
    match c {
        Cond::Search(n) => rule
            .search(n)
            .map_or(Tri::False, |s| partial_search(s, view, missing_is_null)),
        Cond::Not(x) => p(x).not(),
        Cond::And(xs) => and_all(xs.iter().map(p)),
        Cond::Or(xs) => or_any(xs.iter().map(p)),
    }
}

/// The fields of `rule` that `view` cannot fill, and auditd record types a
/// recording has no equivalent for.
pub fn missing_fields(rule: &SigmaRule, view: &View, out: &mut BTreeSet<String>) {
    fn walk(s: &Search, view: &View, out: &mut BTreeSet<String>) {
        match s {
            Search::AllOf(fields) => {
                for f in fields {
                    match f.field.as_deref() {
                        Some(name) if view.source(name) == Source::Missing => {
                            out.insert(name.to_owned());
                        }
                        Some("type") if view.name.starts_with("auditd") => {
                            // Compared as the value is (case-insensitively
                            // unless `cased`): `execve` reads EXECVE records.
                            for m in f.values.iter().flatten() {
                                if let Matcher::Glob(p) = m
                                    && let Some(t) = p.as_literal()
                                    && !super::fields::AUDIT_TYPES.iter().any(|a| p.is_match(a))
                                {
                                    out.insert(format!("auditd {t} records"));
                                }
                            }
                        }
                        None if view.keywords == Source::Missing => {
                            out.insert("keywords (raw log text)".into());
                        }
                        _ => {}
                    }
                }
            }
            Search::AnyOf(alts) => alts.iter().for_each(|a| walk(a, view, out)),
        }
    }
    for (_, s) in &rule.searches {
        walk(s, view, out);
    }
}
