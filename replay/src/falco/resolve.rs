//! From merged items to one self-contained expression per rule: conditions
//! are parsed, exceptions added, macros inlined (cycles detected) and list
//! names expanded, as Falco's rule compiler does
//! (falcosecurity/falco `rule_loader_compiler.cpp`).
//!
//! Falco expands lists by text substitution before parsing; we expand them
//! in the syntax tree instead so that spans stay exact. The observable
//! result is the same for every construct Falco accepts: a bare value inside
//! `( ... )` (or an identifier after `in`/`intersects`/`pmatch`) that names a
//! list is replaced by the list's items; list items that are themselves
//! quoted (`'"(systemd)"'`) are unquoted; a list may use lists defined
//! before its latest definition, `append` or `override` (Falco's
//! visibility), and names left over are replaced by later lists as Falco's
//! substitution, list by list in definition order, replaces them.

use std::collections::BTreeMap;

use super::ast::{Expr, Rhs, Span, SrcId, Value};
use super::error::{Diagnostic, suggest};
use super::loader::{Collected, CondText, ExceptionDef, RuleDef};
use super::parser::{parse, unescape};
use super::source::{CondSource, Segment, SourceMap};
use super::yaml::YVal;

/// A rule whose condition is fully expanded.
#[derive(Debug, Clone)]
pub struct ResolvedRule {
    /// The merged rule definition.
    pub def: RuleDef,
    /// The expanded condition; `None` for rules of other sources, which are
    /// only parsed.
    pub expr: Expr,
}

/// Compiles lists as Falco's `compile_list_infos` does, in definition
/// order: an item naming a list whose first definition comes before this
/// list's latest definition, `append` or `override` is replaced by that
/// list's items as written (one level: Falco substitutes list names inside
/// them later, see [`substitute`]).
pub fn expand_lists(col: &Collected) -> Vec<(String, Vec<String>)> {
    col.lists
        .iter()
        .map(|l| {
            let mut items = Vec::new();
            for it in &l.items {
                match col.list(it) {
                    Some(r) if r.index < l.visibility => items.extend(r.items.iter().cloned()),
                    _ => items.push(it.clone()),
                }
            }
            (l.name.clone(), items)
        })
        .collect()
}

/// Replaces list names among `values` as Falco's text substitution does:
/// each list in definition order replaces the bare values that name it
/// (so a list name left in an earlier list's items is replaced by a later
/// list, never by an earlier one). Items written in quotes or with a space
/// are strings, never list names.
fn substitute(lists: &[(String, Vec<String>)], mut values: Vec<Value>) -> Vec<Value> {
    for (name, items) in lists {
        if !values.iter().any(|v| !v.quoted && v.text == *name) {
            continue;
        }
        let mut out = Vec::with_capacity(values.len() + items.len());
        for v in values {
            if v.quoted || v.text != *name {
                out.push(v);
                continue;
            }
            out.extend(items.iter().map(|i| {
                let text = list_item(i);
                Value {
                    quoted: text != *i || i.contains(' '),
                    text,
                    span: v.span,
                }
            }));
        }
        values = out;
    }
    values
}

/// Parses, expands and checks everything. Errors are pushed to `diags`.
pub struct Resolver<'a> {
    col: &'a Collected,
    sources: &'a mut SourceMap,
    /// Compiled lists, in definition order.
    lists: Vec<(String, Vec<String>)>,
    /// List name → position in `lists`.
    list_pos: BTreeMap<String, usize>,
    macros: BTreeMap<String, Option<Expr>>,
}

impl<'a> Resolver<'a> {
    /// Parses every macro (errors are reported even for unused macros, as Falco does).
    pub fn new(
        col: &'a Collected,
        sources: &'a mut SourceMap,
        diags: &mut Vec<Diagnostic>,
    ) -> Self {
        let lists = expand_lists(col);
        let list_pos = lists
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        let mut r = Resolver {
            col,
            sources,
            lists,
            list_pos,
            macros: BTreeMap::new(),
        };
        for m in &col.macros {
            let owner = format!("macro '{}'", m.name);
            let parsed = r.parse_cond(&m.cond, &owner, diags);
            r.macros.insert(m.name.clone(), parsed);
        }
        r
    }

    /// The source map (for locating spans).
    pub fn sources(&self) -> &SourceMap {
        self.sources
    }

    fn parse_cond(
        &mut self,
        cond: &CondText,
        owner: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Expr> {
        let src = self.sources.add_cond(CondSource {
            text: cond.text.clone(),
            segments: cond.segments.clone(),
            owner: owner.to_string(),
        });
        match parse(&cond.text, src) {
            Ok(e) => Some(e),
            Err(e) => {
                let span = Span {
                    src,
                    start: e.offset as u32,
                    end: e.offset as u32 + 1,
                };
                diags.push(diag(self.sources, span, owner, e.message, None));
                None
            }
        }
    }

    /// Resolves one rule. `None` if it has errors (pushed to `diags`).
    pub fn rule(&mut self, def: &RuleDef, diags: &mut Vec<Diagnostic>) -> Option<ResolvedRule> {
        let owner = format!("rule '{}'", def.name);
        let before = diags.len();
        let mut expr = self.parse_cond(&def.cond, &owner, diags);
        let mut parts = Vec::new();
        for ex in &def.exceptions {
            match exception_text(ex) {
                Ok(Some(text)) => {
                    let cond = CondText {
                        segments: vec![Segment {
                            text_start: 0,
                            text_len: text.len(),
                            file: ex.pos.file,
                            raw_start: 0,
                            raw_len: 0,
                            line: ex.pos.line,
                            col: ex.pos.col,
                        }],
                        text,
                    };
                    let ex_owner = format!("{owner}, exception '{}'", ex.name);
                    if let Some(e) = self.parse_cond(&cond, &ex_owner, diags) {
                        parts.push(e);
                    }
                }
                Ok(None) => {}
                Err(msg) => {
                    let loc = self
                        .sources
                        .item_location(ex.pos.file, ex.pos.line, ex.pos.col);
                    diags.push(Diagnostic {
                        message: msg,
                        location: Some(loc),
                        item: Some(format!("{owner}, exception '{}'", ex.name)),
                        width: ex.name.len().max(1),
                        help: None,
                    });
                }
            }
        }
        if diags.len() > before {
            return None;
        }
        let cond = expr.take()?;
        let span = cond.span();
        let mut e = if parts.is_empty() {
            cond
        } else {
            let mut all = vec![cond];
            all.extend(parts.into_iter().map(|p| {
                let s = p.span();
                Expr::Not(Box::new(p), s)
            }));
            Expr::And(all, span)
        };
        let mut walk = Walk {
            root: &owner,
            stack: Vec::new(),
            nodes: 0,
        };
        if let Err(d) = self.expand(&mut e, &owner, &mut walk, 0) {
            if let Some(d) = d {
                diags.push(*d);
            }
            return None;
        }
        Some(ResolvedRule {
            def: def.clone(),
            expr: e,
        })
    }

    /// Inlines macros and expands lists in place; `e` is `depth` levels deep
    /// (`and`, `or` and `not` nest one level, a macro's body takes its place).
    /// `Err(None)` means the error was already reported (a broken macro).
    fn expand(
        &self,
        e: &mut Expr,
        owner: &str,
        walk: &mut Walk<'_>,
        depth: usize,
    ) -> Result<(), Option<Box<Diagnostic>>> {
        walk.nodes += 1;
        if depth > crate::ir::MAX_NESTING || walk.nodes > crate::ir::MAX_NODES {
            let (message, help) = if depth > crate::ir::MAX_NESTING {
                (
                    crate::ir::too_deep(),
                    "the levels inside the macros it uses count too",
                )
            } else {
                (
                    crate::ir::too_large(),
                    "split the rule, or use fewer macros that use macros",
                )
            };
            let help = if walk.stack.is_empty() {
                help.to_string()
            } else {
                format!("{help}; macros: {}", abbreviated(&walk.stack))
            };
            return Err(Some(Box::new(diag(
                self.sources,
                e.span(),
                walk.root,
                message,
                Some(help),
            ))));
        }
        let stack = &mut walk.stack;
        match e {
            Expr::And(c, _) | Expr::Or(c, _) => {
                for x in c {
                    self.expand(x, owner, walk, depth + 1)?;
                }
            }
            Expr::Not(x, _) => self.expand(x, owner, walk, depth + 1)?,
            Expr::Exists(..) => {}
            Expr::Compare { rhs, .. } => self.expand_rhs(rhs, owner)?,
            Expr::Macro(name, span) => {
                if stack.contains(name) {
                    let mut chain = stack.clone();
                    chain.push(name.clone());
                    return Err(Some(Box::new(diag(
                        self.sources,
                        *span,
                        owner,
                        format!("macro cycle: {}", chain.join(" -> ")),
                        None,
                    ))));
                }
                let Some(body) = self.macros.get(name.as_str()) else {
                    let (msg, help) = if self.list_pos.contains_key(name.as_str()) {
                        (
                            format!(
                                "'{name}' is a list, not a macro; lists go on the right of 'in'"
                            ),
                            Some(format!("write e.g. `proc.name in ({name})`")),
                        )
                    } else {
                        (
                            format!("undefined macro '{name}'"),
                            suggest(name, self.macros.keys().map(String::as_str))
                                .map(|s| format!("did you mean '{s}'?")),
                        )
                    };
                    return Err(Some(Box::new(diag(self.sources, *span, owner, msg, help))));
                };
                // As in Falco, a macro sees only macros defined before its
                // latest definition, `append` or `override` (rules see all).
                if let Some(user) = stack.last()
                    && let (Some(m), Some(u)) = (self.col.macro_def(name), self.col.macro_def(user))
                    && m.index >= u.visibility
                {
                    return Err(Some(Box::new(diag(
                        self.sources,
                        *span,
                        owner,
                        format!("undefined macro '{name}': it is defined after macro '{user}'"),
                        Some(format!(
                            "Falco resolves a macro only with the macros defined before it; move '{name}' above '{user}'"
                        )),
                    ))));
                }
                let Some(body) = body.clone() else {
                    return Err(None);
                };
                let mut body = body;
                stack.push(name.clone());
                let macro_owner = format!("macro '{name}' (used by {owner})");
                // The body takes the macro's place; a macro that is only
                // another macro's name still counts a level.
                let level = depth + usize::from(matches!(body, Expr::Macro(..)));
                let r = self.expand(&mut body, &macro_owner, walk, level);
                walk.stack.pop();
                r?;
                *e = body;
            }
        }
        Ok(())
    }

    fn expand_rhs(&self, rhs: &mut Rhs, owner: &str) -> Result<(), Option<Box<Diagnostic>>> {
        match rhs {
            Rhs::List(values, _) => {
                *values = substitute(&self.lists, std::mem::take(values));
            }
            Rhs::ListName(v) => {
                if !self.list_pos.contains_key(&v.text) {
                    let help = suggest(&v.text, self.list_pos.keys().map(String::as_str))
                        .map(|s| format!("did you mean '{s}'?"));
                    return Err(Some(Box::new(diag(
                        self.sources,
                        v.span,
                        owner,
                        format!("undefined list '{}'", v.text),
                        help,
                    ))));
                };
                let span = v.span;
                let start = Value {
                    quoted: false,
                    ..v.clone()
                };
                *rhs = Rhs::List(substitute(&self.lists, vec![start]), span);
            }
            Rhs::Value(_) | Rhs::Operand(_) => {}
        }
        Ok(())
    }

    /// All macro names.
    pub fn macro_names(&self) -> impl Iterator<Item = &str> {
        self.col.macros.iter().map(|m| m.name.as_str())
    }
}

/// The state of expanding one rule's condition.
struct Walk<'a> {
    /// The rule (`rule 'r'`), named by errors about the whole expansion.
    root: &'a str,
    /// Macros being expanded, outermost first.
    stack: Vec<String>,
    /// Nodes visited so far.
    nodes: usize,
}

/// `a -> b -> c`, with the middle of a long chain left out.
fn abbreviated(chain: &[String]) -> String {
    if chain.len() <= 6 {
        return chain.join(" -> ");
    }
    format!(
        "{} -> ... ({} more) -> {}",
        chain[..3].join(" -> "),
        chain.len() - 5,
        chain[chain.len() - 2..].join(" -> ")
    )
}

/// A list item as Falco's text substitution would parse it.
fn list_item(item: &str) -> String {
    let b = item.as_bytes();
    if b.len() >= 2
        && matches!(b[0], b'"' | b'\'')
        && b[b.len() - 1] == b[0]
        && let Ok(s) = unescape(item)
    {
        return s;
    }
    item.to_string()
}

/// Builds an exception's condition text exactly as Falco does
/// (`build_rule_exception_infos`). `Ok(None)` when it has no values.
fn exception_text(ex: &ExceptionDef) -> Result<Option<String>, String> {
    let fields = ex.fields.as_ref().ok_or("exception has no `fields`")?;
    let mut cond = String::new();
    match fields {
        YVal::List(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    f.as_scalar()
                        .ok_or("`fields` must be a list of field names")
                })
                .collect::<Result<_, _>>()?;
            let comps: Vec<String> = match &ex.comps {
                None => vec!["=".to_string(); fields.len()],
                Some(YVal::List(c)) => c
                    .iter()
                    .map(|c| c.as_scalar().ok_or("`comps` must be a list of operators"))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err("`comps` must be a list when `fields` is a list".into()),
            };
            if comps.len() != fields.len() {
                return Err("`fields` and `comps` lists must have equal length".into());
            }
            let mut alts = Vec::new();
            for vals in &ex.values {
                let YVal::List(vals) = vals else {
                    return Err("expected `values` to be a list of lists".into());
                };
                if vals.len() != fields.len() {
                    return Err("`fields` and `values` lists must have equal length".into());
                }
                let mut conj = Vec::new();
                for ((f, c), v) in fields.iter().zip(&comps).zip(vals) {
                    let rhs = match v {
                        YVal::List(items) => {
                            let items: Vec<String> = items
                                .iter()
                                .filter_map(YVal::as_scalar)
                                .map(quote_item)
                                .collect();
                            format!("({})", items.join(", "))
                        }
                        v => {
                            let s = v.as_scalar().unwrap_or_default();
                            if matches!(c.as_str(), "in" | "intersects" | "pmatch") {
                                if s.starts_with('(') {
                                    s
                                } else {
                                    format!("({s})")
                                }
                            } else {
                                quote_item(s)
                            }
                        }
                    };
                    conj.push(format!("{f} {c} {rhs}"));
                }
                alts.push(format!("({})", conj.join(" and ")));
            }
            if !alts.is_empty() {
                cond = format!("({})", alts.join(" or "));
            }
        }
        single => {
            let f = single.as_scalar().unwrap_or_default();
            let c = match &ex.comps {
                None => "in".to_string(),
                Some(c) => c
                    .as_scalar()
                    .ok_or("`comps` must be one operator when `fields` is one field")?,
            };
            let mut vals = Vec::new();
            for v in &ex.values {
                let s = v
                    .as_scalar()
                    .ok_or("expected `values` to be a list of strings for a single field")?;
                vals.push(quote_item(s));
            }
            if !vals.is_empty() {
                cond = format!("({f} {c} ({}))", vals.join(", "));
            }
        }
    }
    Ok((!cond.is_empty()).then_some(cond))
}

fn quote_item(s: String) -> String {
    if s.contains(' ') && !s.starts_with('"') && !s.starts_with('\'') {
        format!("\"{s}\"")
    } else {
        s
    }
}

/// A diagnostic at a span of a condition.
pub fn diag(
    sources: &SourceMap,
    span: Span,
    owner: &str,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    let loc = sources.locate(span.src, span.start as usize);
    let text_len = sources
        .conds
        .get(span.src as usize)
        .map(|c| c.text.len())
        .unwrap_or(0);
    let end = (span.end as usize).min(text_len.max(span.start as usize + 1));
    let width = sources
        .conds
        .get(span.src as usize)
        .and_then(|c| c.text.get(span.start as usize..end))
        .map(|s| s.lines().next().unwrap_or("").chars().count())
        .unwrap_or(1)
        .max(1);
    Diagnostic {
        message,
        location: loc,
        item: Some(owner.to_string()),
        width,
        help,
    }
}

/// Source id of an expression (for locating).
pub fn src_of(e: &Expr) -> SrcId {
    e.span().src
}
