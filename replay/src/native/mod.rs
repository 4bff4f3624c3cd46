//! Hindsight's native rules: YAML documents whose conditions are SQL boolean
//! expressions over event and state fields.
//!
//! ```yaml
//! - rule: Shadow file read
//!   description: Something other than the login tools read /etc/shadow.
//!   priority: warning
//!   tags: [T1003.008, credential_access]
//!   condition: >
//!     syscall IN ('open', 'openat', 'openat2') AND file_path = '/etc/shadow'
//!     AND NOT proc_exe IN ('/usr/sbin/sshd', '/usr/bin/login')
//!   output: "%proc_exe (pid %proc_pid) read %file_path"
//!   action: kill            # or kill_tree, or {deny: EACCES}
//!   enabled: true
//!
//! - list: login_tools                 # a named list, for IN / INTERSECTS
//!   items: [/usr/sbin/sshd, /usr/bin/login]
//!
//! - macro: opened                     # a named condition, used by its bare name
//!   condition: syscall IN ('open', 'openat', 'openat2') AND ret >= 0
//! ```
//!
//! Macros and lists are shared by every native file loaded together and may
//! be defined in any order; a macro may use other macros and lists, a list
//! may name other lists among its items. Cycles, duplicates, undefined names
//! and errors inside a macro are reported at their spot.
//!
//! See [`sql`] for the condition grammar and [`crate::field::Field`] for the names.

pub mod sql;

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::ir::{Action, Literal, Origin, Priority, Rule};
use crate::lang::{RuleLanguage, SourceFile};

/// The native rule language (`hindsight`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl RuleLanguage for Native {
    fn name(&self) -> &'static str {
        "hindsight"
    }

    fn detect(&self, file: &SourceFile) -> u8 {
        detect(&file.text)
    }

    fn compile(&self, files: &[SourceFile]) -> Result<Vec<Rule>, Vec<Diagnostic>> {
        let mut items = Vec::new();
        let mut errors = Vec::new();
        for (i, f) in files.iter().enumerate() {
            match read_items(f) {
                Ok(v) => items.extend(v.into_iter().map(|it| (i, it))),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let scope = Defs::collect(files, &items, &mut errors);
        let mut rules = Vec::new();
        for (i, it) in items {
            if let Item::Rule(r) = it {
                match compile_rule(&files[i], r, &scope) {
                    Ok(r) => rules.push(r),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        // Every macro is checked, used or not: nothing runs half-parsed.
        scope.check_all();
        errors.append(&mut scope.errors.borrow_mut());
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }
}

/// A native file is a YAML sequence of mappings with `rule:` and `condition:`
/// and, unlike Falco, `description:` (not `desc:`). With `macro:`/`list:`
/// items too it must have a rule with a `description:` (outscoring Falco's
/// detection); a file of only macros and lists says `# language: hindsight`.
fn detect(text: &str) -> u8 {
    let mut rule = false;
    let mut description = false;
    let mut defs = false;
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if t.starts_with("rule:") {
            rule = true;
        } else if t.starts_with("description:") {
            description = true;
        } else if t.starts_with("macro:") || t.starts_with("list:") {
            defs = true;
        } else if t.starts_with("desc:")
            || t.starts_with("required_engine_version:")
            || t.starts_with("detection:")
        {
            return 0;
        }
    }
    match (rule, description, defs) {
        (true, true, true) => 96,
        (true, true, false) => 90,
        (true, false, false) => 40,
        _ => 0,
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAction {
    Word(String),
    Deny { deny: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawListItem {
    Int(i64),
    Bool(bool),
    Str(String),
}

/// One item of a native file: a rule, a macro or a list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    #[serde(default)]
    rule: Option<Spanned<String>>,
    #[serde(default, rename = "macro")]
    macro_: Option<Spanned<String>>,
    #[serde(default)]
    list: Option<Spanned<String>>,
    #[serde(default)]
    items: Option<Vec<RawListItem>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: Option<Spanned<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    condition: Option<Spanned<String>>,
    #[serde(default)]
    output: Option<Spanned<String>>,
    #[serde(default)]
    action: Option<Spanned<RawAction>>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A rule item, checked for its required keys.
#[derive(Debug)]
struct RawRule {
    rule: Spanned<String>,
    description: String,
    priority: Option<Spanned<String>>,
    tags: Vec<String>,
    condition: Spanned<String>,
    output: Option<Spanned<String>>,
    action: Option<Spanned<RawAction>>,
    enabled: bool,
}

/// One checked item.
#[derive(Debug)]
enum Item {
    Rule(Box<RawRule>),
    Macro {
        name: Spanned<String>,
        condition: Spanned<String>,
    },
    List {
        name: Spanned<String>,
        items: Vec<RawListItem>,
    },
}

fn at(f: &SourceFile, s: &Spanned<String>, msg: String) -> Diagnostic {
    Diagnostic::at(
        &f.path,
        &f.text,
        s.referenced.line() as u32,
        s.referenced.column() as u32,
        s.value.chars().count().max(1) as u32,
        msg,
    )
}

/// Sorts a raw item into a rule, a macro or a list, checking its keys.
fn check_item(f: &SourceFile, r: RawItem) -> Result<Item, Diagnostic> {
    let kinds = [("rule", &r.rule), ("macro", &r.macro_), ("list", &r.list)];
    let mut named = kinds
        .iter()
        .filter_map(|(k, n)| n.as_ref().map(|n| (*k, n)));
    let Some((kind, name)) = named.next() else {
        let d = Diagnostic::file(&f.path, "an item without `rule:`, `macro:` or `list:`");
        return Err(match &r.condition {
            Some(c) => at(f, c, "this item has no `rule:`, `macro:` or `list:`".into()),
            None => d,
        }
        .with_help("every item starts with `- rule: NAME`, `- macro: NAME` or `- list: NAME`"));
    };
    if let Some((other, _)) = named.next() {
        return Err(at(
            f,
            name,
            format!("an item is either a {kind} or a {other}, not both"),
        ));
    }
    let not_allowed = |key: &str| {
        at(
            f,
            name,
            format!("`{key}` is not allowed in a {kind} (only in rules)"),
        )
    };
    let missing = |key: &str| at(f, name, format!("{kind} `{}` has no `{key}`", name.value));
    if kind != "rule" {
        let keys = [
            ("priority", r.priority.is_some()),
            ("tags", r.tags.is_some()),
            ("output", r.output.is_some()),
            ("action", r.action.is_some()),
            ("enabled", r.enabled.is_some()),
        ];
        if let Some((k, _)) = keys.iter().find(|(_, set)| *set) {
            return Err(not_allowed(k));
        }
    }
    match kind {
        "list" => {
            if r.condition.is_some() {
                return Err(at(f, name, "a list has `items`, not a `condition`".into()));
            }
            Ok(Item::List {
                name: name.clone(),
                items: r.items.ok_or_else(|| missing("items"))?,
            })
        }
        _ if r.items.is_some() => Err(at(
            f,
            name,
            format!("`items` belongs to a list, not a {kind}"),
        )),
        "macro" => Ok(Item::Macro {
            name: name.clone(),
            condition: r.condition.ok_or_else(|| missing("condition"))?,
        }),
        _ => Ok(Item::Rule(Box::new(RawRule {
            rule: name.clone(),
            description: r.description,
            priority: r.priority,
            tags: r.tags.unwrap_or_default(),
            condition: r.condition.ok_or_else(|| missing("condition"))?,
            output: r.output,
            action: r.action,
            enabled: r.enabled.unwrap_or(true),
        }))),
    }
}

/// State of one macro during resolution.
enum MacroState {
    /// Not parsed yet: (file index, condition).
    Raw(usize, Spanned<String>),
    /// Being parsed (a use now is a cycle).
    Busy,
    /// Parsed; `None` when its condition has errors (already reported).
    Done(Option<sql::Nested>),
    /// Nested too deeply or too large even where it is used alone: the error,
    /// given again at every use (so macros using it do not each report).
    OverLimit(sql::SqlError),
}

/// The macros and lists of every native file loaded together.
struct Defs<'a> {
    files: &'a [SourceFile],
    lists: BTreeMap<String, Vec<Literal>>,
    macros: RefCell<BTreeMap<String, MacroState>>,
    /// Macros being resolved, outermost first (for cycle messages).
    stack: RefCell<Vec<String>>,
    errors: RefCell<Vec<Diagnostic>>,
    /// A condition nested too deeply or too large was reported: the other
    /// macros of the same chain are not reported again.
    limit_reported: std::cell::Cell<bool>,
}

impl<'a> Defs<'a> {
    fn collect(
        files: &'a [SourceFile],
        items: &[(usize, Item)],
        errors: &mut Vec<Diagnostic>,
    ) -> Defs<'a> {
        let mut raw_lists: BTreeMap<String, (usize, &Spanned<String>, &[RawListItem])> =
            BTreeMap::new();
        let mut macros = BTreeMap::new();
        let mut seen: BTreeMap<(bool, String), (usize, u32)> = BTreeMap::new();
        for (fi, it) in items {
            let (is_list, name) = match it {
                Item::List { name, .. } => (true, name),
                Item::Macro { name, .. } => (false, name),
                Item::Rule(_) => continue,
            };
            let f = &files[*fi];
            let key = (is_list, name.value.clone());
            let what = if is_list { "list" } else { "macro" };
            if let Some((pf, pl)) = seen.get(&key) {
                errors.push(at(
                    f,
                    name,
                    format!(
                        "{what} `{}` is already defined at {}:{pl}",
                        name.value, files[*pf].path
                    ),
                ));
                continue;
            }
            if !is_list && crate::field::Field::parse(&name.value).is_some() {
                errors.push(at(
                    f,
                    name,
                    format!("macro `{}` has the name of a field", name.value),
                ));
                continue;
            }
            seen.insert(key, (*fi, name.referenced.line() as u32));
            match it {
                Item::List { name, items } => {
                    raw_lists.insert(name.value.clone(), (*fi, name, items));
                }
                Item::Macro { name, condition } => {
                    macros.insert(name.value.clone(), MacroState::Raw(*fi, condition.clone()));
                }
                Item::Rule(_) => {}
            }
        }
        let mut lists = BTreeMap::new();
        for (name, (fi, span, _)) in &raw_lists {
            let mut out = Vec::new();
            let mut path = vec![name.as_str()];
            if let Err(msg) = expand_list(name, &raw_lists, &mut path, &mut out) {
                errors.push(at(&files[*fi], span, msg));
            }
            lists.insert(name.clone(), out);
        }
        Defs {
            files,
            lists,
            macros: RefCell::new(macros),
            stack: RefCell::new(Vec::new()),
            errors: RefCell::new(Vec::new()),
            limit_reported: std::cell::Cell::new(false),
        }
    }

    /// Resolves every macro (reporting errors in unused ones too).
    fn check_all(&self) {
        let names: Vec<String> = self.macros.borrow().keys().cloned().collect();
        for n in names {
            let _ = sql::Scope::macro_cond(self, &n, 1, crate::ir::MAX_NODES);
        }
    }
}

/// Splices nested lists (an item naming another list) into `out`.
fn expand_list<'n>(
    name: &'n str,
    raw: &'n BTreeMap<String, (usize, &Spanned<String>, &[RawListItem])>,
    path: &mut Vec<&'n str>,
    out: &mut Vec<Literal>,
) -> Result<(), String> {
    for item in raw[name].2 {
        match item {
            RawListItem::Str(s) if raw.contains_key(s) => {
                if path.contains(&s.as_str()) {
                    path.push(s);
                    return Err(format!("list cycle: {}", path.join(" → ")));
                }
                let (key, _) = raw.get_key_value(s).unwrap_or((s, &raw[name]));
                path.push(key);
                expand_list(key, raw, path, out)?;
                path.pop();
            }
            RawListItem::Str(s) => out.push(Literal::Str(s.clone())),
            RawListItem::Int(i) => out.push(Literal::Int(*i)),
            RawListItem::Bool(b) => out.push(Literal::Bool(*b)),
        }
    }
    Ok(())
}

impl sql::Scope for Defs<'_> {
    fn list(&self, name: &str) -> Option<Vec<Literal>> {
        self.lists.get(name).cloned()
    }

    fn macro_cond(
        &self,
        name: &str,
        depth: usize,
        budget: usize,
    ) -> Option<Result<sql::Nested, sql::SqlError>> {
        let unusable = || sql::SqlError {
            start: 0,
            end: 1,
            message: format!("macro `{name}` cannot be used: its condition has errors"),
            help: None,
        };
        if depth > crate::ir::MAX_NESTING && self.macros.borrow().contains_key(name) {
            // Checked before parsing, so a long chain of macros stops here.
            let mut chain = self.stack.borrow().clone();
            chain.push(name.to_string());
            return Some(Err(sql::SqlError {
                help: Some(format!(
                    "each macro counts one level: {}",
                    abbreviated_chain(&chain)
                )),
                ..sql::too_deep_at(0, 1)
            }));
        }
        let state = std::mem::replace(self.macros.borrow_mut().get_mut(name)?, MacroState::Busy);
        let (fi, cond) = match state {
            MacroState::Done(c) => {
                let r = match &c {
                    None => Err(unusable()),
                    Some(n) if depth + n.levels > crate::ir::MAX_NESTING => Err(sql::SqlError {
                        help: Some(format!(
                            "macro `{name}` nests {} levels deeper; each macro counts one level",
                            n.levels
                        )),
                        ..sql::too_deep_at(0, 1)
                    }),
                    Some(n) if n.nodes > budget => Err(sql::SqlError {
                        start: 0,
                        end: 1,
                        message: crate::ir::too_large(),
                        help: Some(format!("macro `{name}` alone holds {} nodes", n.nodes)),
                    }),
                    Some(n) => Ok(n.clone()),
                };
                self.macros
                    .borrow_mut()
                    .insert(name.to_string(), MacroState::Done(c));
                return Some(r);
            }
            MacroState::Busy => {
                let mut chain = self.stack.borrow().clone();
                let from = chain.iter().position(|n| n == name).unwrap_or(0);
                chain.drain(..from);
                chain.push(name.to_string());
                return Some(Err(sql::SqlError {
                    start: 0,
                    end: 1,
                    message: format!("macro `{name}` uses itself: {}", chain.join(" → ")),
                    help: None,
                }));
            }
            MacroState::OverLimit(e) => {
                self.macros
                    .borrow_mut()
                    .insert(name.to_string(), MacroState::OverLimit(e.clone()));
                return Some(Err(e));
            }
            MacroState::Raw(fi, cond) => (fi, cond),
        };
        self.stack.borrow_mut().push(name.to_string());
        let parsed = sql::parse_nested(&cond.value, self, depth, budget);
        self.stack.borrow_mut().pop();
        let done = match parsed {
            Ok(n) => Some(n),
            // Too deep or too large only where it is used: not this macro's
            // fault; the use reports it, and the macro is parsed again later.
            Err(e) if sql::is_limit(&e) && depth > 1 => {
                self.macros
                    .borrow_mut()
                    .insert(name.to_string(), MacroState::Raw(fi, cond));
                return Some(Err(e));
            }
            Err(e) if sql::is_limit(&e) => {
                if !self.limit_reported.replace(true) {
                    let d = sql_diag(&self.files[fi], &cond, &e);
                    self.errors.borrow_mut().push(d);
                }
                self.macros
                    .borrow_mut()
                    .insert(name.to_string(), MacroState::OverLimit(e.clone()));
                return Some(Err(e));
            }
            Err(e) => {
                let d = sql_diag(&self.files[fi], &cond, &e);
                self.errors.borrow_mut().push(d);
                None
            }
        };
        let r = done.clone().ok_or_else(unusable);
        self.macros
            .borrow_mut()
            .insert(name.to_string(), MacroState::Done(done));
        Some(r)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lists.keys().cloned().collect();
        v.extend(self.macros.borrow().keys().cloned());
        v
    }
}

/// `a → b → c`, with the middle of a long chain left out.
fn abbreviated_chain(chain: &[String]) -> String {
    if chain.len() <= 6 {
        return chain.join(" → ");
    }
    format!(
        "{} → … ({} more) → {}",
        chain[..3].join(" → "),
        chain.len() - 5,
        chain[chain.len() - 2..].join(" → ")
    )
}

/// Maps a byte offset of a scalar's value to (line, column) in the file.
///
/// Works for plain, quoted and block (`|`, `>`) scalars: walks the file's
/// lines from the scalar's start and matches them against the value in order.
fn locate(text: &str, start: (u32, u32), value: &str, offset: usize) -> (u32, u32) {
    let lines: Vec<&str> = text.lines().collect();
    let (line0, col0) = (start.0.max(1) as usize - 1, start.1.max(1) as usize - 1);
    let mut pos = 0;
    let mut best = (start.0, start.1);
    for (li, line) in lines.iter().enumerate().skip(line0) {
        let (mut seg, mut base) = if li == line0 {
            let s = line.get(col0..).unwrap_or("");
            (s, col0)
        } else {
            (*line, 0)
        };
        if li == line0 && (seg.starts_with('|') || seg.starts_with('>')) {
            continue;
        }
        if li == line0 && (seg.starts_with('\'') || seg.starts_with('"')) {
            seg = &seg[1..];
            base += 1;
        }
        let trimmed = seg.trim_start();
        base += seg.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() {
            continue;
        }
        // Skip whitespace in the value, then match as much of this line as we can.
        let rest = &value[pos.min(value.len())..];
        let skip = rest.len() - rest.trim_start().len();
        let vstart = pos + skip;
        let matched = trimmed
            .bytes()
            .zip(value.as_bytes()[vstart.min(value.len())..].iter())
            .take_while(|(a, b)| a == *b)
            .count();
        if matched == 0 {
            break;
        }
        if offset < vstart + matched {
            let into = offset.saturating_sub(vstart);
            let col = line[..(base + into).min(line.len())].chars().count() + 1;
            return (li as u32 + 1, col as u32);
        }
        best = (
            li as u32 + 1,
            (line[..(base + matched).min(line.len())].chars().count() + 1) as u32,
        );
        pos = vstart + matched;
    }
    best
}

fn sql_diag(f: &SourceFile, span: &Spanned<String>, e: &sql::SqlError) -> Diagnostic {
    let start = (
        span.referenced.line() as u32,
        span.referenced.column() as u32,
    );
    let (line, col) = locate(&f.text, start, &span.value, e.start);
    let len = span
        .value
        .get(e.start..e.end.min(span.value.len()))
        .map_or(1, |s| s.chars().count().max(1)) as u32;
    // Do not draw past the end of the line.
    let d = Diagnostic::at(&f.path, &f.text, line, col, len, e.message.clone());
    let max = d.source_line.as_deref().map_or(len, |l| {
        (l.chars().count() as u32 + 1).saturating_sub(col).max(1)
    });
    let d = Diagnostic {
        len: len.min(max),
        ..d
    };
    match &e.help {
        Some(h) => d.with_help(h.clone()),
        None => d,
    }
}

fn read_items(f: &SourceFile) -> Result<Vec<Item>, Vec<Diagnostic>> {
    let raw: Vec<RawItem> = match serde_saphyr::from_str(&f.text) {
        Ok(Some(r)) => r,
        Ok(None) => Vec::<RawItem>::new(),
        Err(e) => {
            let (line, col) = e
                .location()
                .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
            let msg = e.to_string();
            let mut msg = msg.lines().next().unwrap_or("invalid YAML").to_string();
            // serde-saphyr prefixes `error: line L column C: `; we print the position ourselves.
            if let Some(rest) = msg.strip_prefix("error: ")
                && let Some((pos, text)) = rest.split_once(": ")
                && pos.starts_with("line ")
            {
                msg = text.to_string();
            }
            let d = Diagnostic::at(
                &f.path,
                &f.text,
                line,
                col,
                1,
                format!("invalid rule file: {msg}"),
            );
            const KEYS: [&str; 11] = [
                "rule",
                "macro",
                "list",
                "items",
                "description",
                "priority",
                "tags",
                "condition",
                "output",
                "action",
                "enabled",
            ];
            let d = if msg.contains("unknown field") {
                let name = msg.split('`').nth(1).unwrap_or("");
                match crate::diag::suggest(name, KEYS) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("an item has: {}", KEYS.join(", "))),
                }
            } else {
                d
            };
            return Err(vec![d]);
        }
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for r in raw {
        match check_item(f, r) {
            Ok(it) => items.push(it),
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

fn compile_rule(
    f: &SourceFile,
    r: Box<RawRule>,
    scope: &Defs<'_>,
) -> Result<Rule, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    {
        let at = |s: &Spanned<String>, msg: String| at(f, s, msg);
        let condition = match sql::parse_with(&r.condition.value, scope) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(sql_diag(f, &r.condition, &e));
                None
            }
        };
        let output = match &r.output {
            None => Some(vec![crate::ir::Part::Text(r.rule.value.clone())]),
            Some(o) => match sql::template(&o.value) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(sql_diag(f, o, &e));
                    None
                }
            },
        };
        let priority = match &r.priority {
            None => Some(Priority::Warning),
            Some(p) => match Priority::parse(&p.value) {
                Some(p) => Some(p),
                None => {
                    let names: Vec<String> = Priority::ALL
                        .iter()
                        .map(|p| p.as_str().to_ascii_lowercase())
                        .collect();
                    errors.push(
                        at(p, format!("unknown priority `{}`", p.value))
                            .suggest(
                                &p.value.to_ascii_lowercase(),
                                names.iter().map(String::as_str),
                            )
                            .with_help(format!("one of: {}", names.join(", "))),
                    );
                    None
                }
            },
        };
        let action = match &r.action {
            None => Some(None),
            Some(a) => {
                let line = a.referenced.line() as u32;
                let col = a.referenced.column() as u32;
                match &a.value {
                    RawAction::Word(w) if w == "kill" => Some(Some(Action::Kill)),
                    RawAction::Word(w) if w == "kill_tree" => Some(Some(Action::KillTree)),
                    RawAction::Deny { deny } => match crate::errno::parse(deny) {
                        Some(e) => Some(Some(Action::Deny(e))),
                        None => {
                            errors.push(
                                Diagnostic::at(
                                    &f.path,
                                    &f.text,
                                    line,
                                    col,
                                    1,
                                    format!("unknown errno `{deny}`"),
                                )
                                .suggest(&deny.to_ascii_uppercase(), crate::errno::names()),
                            );
                            None
                        }
                    },
                    RawAction::Word(w) => {
                        errors.push(
                            Diagnostic::at(
                                &f.path,
                                &f.text,
                                line,
                                col,
                                w.chars().count().max(1) as u32,
                                format!("unknown action `{w}`"),
                            )
                            .suggest(w, ["kill", "kill_tree"])
                            .with_help("actions: kill, kill_tree, or {deny: ERRNO}"),
                        );
                        None
                    }
                }
            }
        };
        let name = r.rule.value.trim().to_string();
        if name.is_empty() {
            errors.push(at(&r.rule, "a rule needs a name".into()));
            return Err(errors);
        }
        if let (Some(condition), Some(output), Some(priority), Some(action)) =
            (condition, output, priority, action)
        {
            return Ok(Rule {
                id: name.clone(),
                name,
                description: r.description.trim().to_string(),
                priority,
                tags: r.tags,
                origin: Origin {
                    language: "hindsight",
                    file: f.path.clone(),
                    line: r.rule.referenced.line() as u32,
                },
                condition,
                output,
                action,
                late_output: None,
                enabled: r.enabled,
            });
        }
    }
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Rule>, String> {
        Native
            .compile(&[SourceFile {
                path: "r.yaml".into(),
                text: text.into(),
            }])
            .map_err(|d| {
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
    }

    #[test]
    fn loads_a_rule() {
        let r = load("- rule: a\n  description: d\n  priority: error\n  condition: syscall = 'openat'\n  output: '%proc_exe opened %file_path'\n  action: {deny: EACCES}\n").unwrap();
        assert_eq!(r[0].priority, Priority::Error);
        assert_eq!(r[0].action, Some(Action::Deny(13)));
        assert_eq!(r[0].origin.line, 1);
    }

    #[test]
    fn block_scalar_positions() {
        let text = "- rule: a\n  description: d\n  condition: >\n    syscall = 'openat'\n    AND proc_exee = 'x'\n";
        let e = load(text).unwrap_err();
        assert!(e.contains("r.yaml:5:9"), "{e}");
        assert!(e.contains("did you mean `proc_exe`?"), "{e}");
    }

    #[test]
    fn quoted_positions() {
        let text = "- rule: a\n  description: d\n  condition: \"syscall = 'read' and ret = 'y'\"\n";
        let e = load(text).unwrap_err();
        assert!(e.contains("r.yaml:3:36"), "{e}");
    }
}
