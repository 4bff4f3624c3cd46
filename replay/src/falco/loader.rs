//! Collecting rules, macros and lists from one or more files in load order,
//! applying `append: true`, `override:` and redefinitions as Falco's rule
//! loader does (falcosecurity/falco `rule_loader_collector.cpp`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::error::{Diagnostic, FalcoError, suggest};
use super::source::{Segment, SourceMap};
use super::yaml::{RawException, RawItem, YVal, parse_items};

/// The newest Falco engine version whose rules we accept (`falco-rules-5.1.0`).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// Alert priority, from most to least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `EMERGENCY`.
    Emergency,
    /// `ALERT`.
    Alert,
    /// `CRITICAL`.
    Critical,
    /// `ERROR`.
    Error,
    /// `WARNING`.
    Warning,
    /// `NOTICE`.
    Notice,
    /// `INFORMATIONAL` (also written `INFO`).
    Informational,
    /// `DEBUG`.
    Debug,
}

impl Priority {
    /// Parses a priority, case-insensitively, as Falco does.
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "info" | "informational" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// The name Falco prints in alerts (`Warning`, `Informational`).
    pub fn falco_name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

/// A condition text and where its parts came from.
#[derive(Debug, Clone, Default)]
pub struct CondText {
    /// The text.
    pub text: String,
    /// The YAML scalars it was built from.
    pub segments: Vec<Segment>,
}

impl CondText {
    fn from_spanned(s: &Spanned<String>, file: usize) -> CondText {
        let span = s.referenced.span();
        CondText {
            text: s.value.clone(),
            segments: vec![Segment {
                text_start: 0,
                text_len: s.value.len(),
                file,
                raw_start: span.byte_offset().unwrap_or(0) as usize,
                raw_len: span.byte_len().unwrap_or(0) as usize,
                line: s.referenced.line() as usize,
                col: s.referenced.column() as usize,
            }],
        }
    }

    fn append(&mut self, other: &CondText) {
        self.text.push(' ');
        let base = self.text.len();
        self.text.push_str(&other.text);
        for s in &other.segments {
            let mut s = s.clone();
            s.text_start += base;
            self.segments.push(s);
        }
    }
}

/// Where an item was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPos {
    /// File index in the [`SourceMap`].
    pub file: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// A list after merging.
#[derive(Debug, Clone)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items as written (list names not yet expanded).
    pub items: Vec<String>,
    /// Definition site.
    pub pos: ItemPos,
    /// Load-order position of its first definition (Falco's `index`).
    pub index: usize,
    /// Load-order position of its latest definition, `append` or
    /// `override` (Falco's `visibility`): lists and macros whose `index` is
    /// below it are visible to it.
    pub visibility: usize,
}

/// A macro after merging.
#[derive(Debug, Clone)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition.
    pub cond: CondText,
    /// Definition site.
    pub pos: ItemPos,
    /// Load-order position of its first definition (Falco's `index`).
    pub index: usize,
    /// Load-order position of its latest definition, `append` or
    /// `override` (Falco's `visibility`).
    pub visibility: usize,
}

/// One exception of a rule.
#[derive(Debug, Clone)]
pub struct ExceptionDef {
    /// Name.
    pub name: String,
    /// `fields`: one field or a list of fields.
    pub fields: Option<YVal>,
    /// `comps`: one operator or a list of operators.
    pub comps: Option<YVal>,
    /// `values`.
    pub values: Vec<YVal>,
    /// Definition site.
    pub pos: ItemPos,
}

/// A rule after merging.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Condition (exceptions not yet added).
    pub cond: CondText,
    /// Output template, with where its parts were written.
    pub output: CondText,
    /// Priority.
    pub priority: Priority,
    /// Tags, in order, without duplicates.
    pub tags: Vec<String>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// Event source (`syscall` unless stated).
    pub source: String,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDef>,
    /// `skip-if-unknown-filter: true`.
    pub skip_if_unknown_filter: bool,
    /// Definition site.
    pub pos: ItemPos,
}

/// Everything read from the files, merged, in definition order.
#[derive(Debug, Default)]
pub struct Collected {
    /// Lists.
    pub lists: Vec<ListDef>,
    /// Macros.
    pub macros: Vec<MacroDef>,
    /// Rules.
    pub rules: Vec<RuleDef>,
    /// Plugin requirements seen (`name version`), noted and ignored.
    pub required_plugins: Vec<String>,
    /// Non-fatal remarks (e.g. a newer `required_engine_version`).
    pub warnings: Vec<String>,
    /// Items read, before merging: rules, macros, lists.
    pub items_read: (usize, usize, usize),
    /// Load-order counter: one step per rule, macro or list item merged
    /// (Falco's `m_cur_index`).
    seq: usize,
    list_idx: BTreeMap<String, usize>,
    macro_idx: BTreeMap<String, usize>,
    rule_idx: BTreeMap<String, usize>,
    /// Errors of the item being merged that do not stop it (a bad
    /// `priority`): where, how many characters, what. The rule is kept so
    /// that its condition and output are checked too.
    item_errors: Vec<(ItemPos, usize, String)>,
}

impl Collected {
    /// A list by name.
    pub fn list(&self, name: &str) -> Option<&ListDef> {
        self.list_idx.get(name).map(|&i| &self.lists[i])
    }

    /// A macro by name.
    pub fn macro_def(&self, name: &str) -> Option<&MacroDef> {
        self.macro_idx.get(name).map(|&i| &self.macros[i])
    }

    /// Index of a list in definition order.
    pub fn list_index(&self, name: &str) -> Option<usize> {
        self.list_idx.get(name).copied()
    }

    /// Reads one file's text and merges its items.
    pub fn add_file(
        &mut self,
        sources: &mut SourceMap,
        path: &Path,
        text: String,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<(), FalcoError> {
        let items = match parse_items(&text) {
            Ok(items) => items,
            Err(e) => {
                let (line, column, message) = crate::diag::yaml_error(&e);
                // Broken YAML is a syntax error, whatever the file was meant to be.
                if serde_saphyr::from_str::<serde::de::IgnoredAny>(&text).is_err() {
                    return Err(FalcoError::Yaml {
                        path: path.to_path_buf(),
                        line,
                        column,
                        message,
                    });
                }
                return Err(FalcoError::NotFalco {
                    path: path.to_path_buf(),
                    reason: format!(
                        "expected a YAML list of `rule`, `macro` and `list` items: {message}"
                    ),
                    at: (line > 0).then_some((line, column)),
                });
            }
        };
        let file = sources.add_file(path, text);
        let mut recognised = 0usize;
        for item in &items {
            let pos = ItemPos {
                file,
                line: item.referenced.line() as usize,
                col: item.referenced.column() as usize,
            };
            match self.add_item(&item.value, pos, sources) {
                Ok(true) => recognised += 1,
                Ok(false) => {}
                Err(msg) => {
                    recognised += 1;
                    diags.push(item_diag(sources, pos, &item.value, msg));
                }
            }
            for (mut at, width, msg) in std::mem::take(&mut self.item_errors) {
                // A quoted value: point at its text, not at the quote.
                let text = &sources.files[at.file].text;
                let first = text
                    .lines()
                    .nth(at.line.saturating_sub(1))
                    .and_then(|l| l.chars().nth(at.col.saturating_sub(1)));
                if matches!(first, Some('"' | '\'')) {
                    at.col += 1;
                }
                let mut d = item_diag(sources, at, &item.value, msg);
                d.width = width;
                diags.push(d);
            }
        }
        if !items.is_empty() && recognised == 0 {
            return Err(FalcoError::NotFalco {
                path: path.to_path_buf(),
                reason: "no item has a `rule`, `macro`, `list` or `required_engine_version` key"
                    .into(),
                at: None,
            });
        }
        Ok(())
    }

    /// Merges one item. `Ok(false)` when the item is not a Falco item at all.
    fn add_item(
        &mut self,
        it: &RawItem,
        pos: ItemPos,
        sources: &SourceMap,
    ) -> Result<bool, String> {
        let kinds = [it.rule.is_some(), it.macro_.is_some(), it.list.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds > 1 {
            return Err("an item must be exactly one of `rule`, `macro` or `list`".into());
        }
        if let Some(v) = &it.required_engine_version {
            let v = v.as_scalar().unwrap_or_default();
            if let Some(req) = parse_version(&v) {
                if req > ENGINE_VERSION {
                    self.warnings.push(format!(
                        "{}: requires Falco engine version {v}; hindsight implements {}.{}.{}",
                        sources.files[pos.file].path.display(),
                        ENGINE_VERSION.0,
                        ENGINE_VERSION.1,
                        ENGINE_VERSION.2
                    ));
                }
            } else {
                return Err(format!("invalid required_engine_version '{v}'"));
            }
            return Ok(true);
        }
        if let Some(plugins) = &it.required_plugin_versions {
            for p in plugins {
                let name = p.get("name").and_then(YVal::as_scalar).unwrap_or_default();
                let ver = p
                    .get("version")
                    .and_then(YVal::as_scalar)
                    .unwrap_or_default();
                self.required_plugins.push(format!("{name} {ver}"));
            }
            return Ok(true);
        }
        let append = it.append.unwrap_or(false);
        if append && it.override_.is_some() {
            return Err("`append` and `override` cannot be used together".into());
        }
        if let Some(name) = &it.list {
            self.items_read.2 += 1;
            self.add_list(it, &name.value, pos, append)?;
        } else if let Some(name) = &it.macro_ {
            self.items_read.1 += 1;
            self.add_macro(it, &name.value, pos, append)?;
        } else if let Some(name) = &it.rule {
            self.items_read.0 += 1;
            self.add_rule(it, &name.value, pos, append)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn add_list(
        &mut self,
        it: &RawItem,
        name: &str,
        pos: ItemPos,
        append: bool,
    ) -> Result<(), String> {
        let items = it
            .items
            .as_ref()
            .ok_or("list has no `items`")?
            .iter()
            .map(|v| v.as_scalar().ok_or("list items must be strings or numbers"))
            .collect::<Result<Vec<_>, _>>()?;
        let mode = override_mode(it, "items", &["items"])?;
        let def = ListDef {
            name: name.to_string(),
            items,
            pos,
            index: self.seq,
            visibility: self.seq,
        };
        self.seq += 1;
        merge(&mut self.lists, &mut self.list_idx, append, mode, def)
    }

    fn add_macro(
        &mut self,
        it: &RawItem,
        name: &str,
        pos: ItemPos,
        append: bool,
    ) -> Result<(), String> {
        let cond = it.condition.as_ref().ok_or("macro has no `condition`")?;
        let cond = CondText::from_spanned(cond, pos.file);
        let mode = override_mode(it, "condition", &["condition"])?;
        let def = MacroDef {
            name: name.to_string(),
            cond,
            pos,
            index: self.seq,
            visibility: self.seq,
        };
        self.seq += 1;
        merge(&mut self.macros, &mut self.macro_idx, append, mode, def)
    }

    fn add_rule(
        &mut self,
        it: &RawItem,
        name: &str,
        pos: ItemPos,
        append: bool,
    ) -> Result<(), String> {
        self.seq += 1;
        let exceptions = it
            .exceptions
            .iter()
            .flatten()
            .map(|e| exception(e, pos.file))
            .collect::<Vec<_>>();
        let tags: Vec<String> = it
            .tags
            .iter()
            .flatten()
            .filter_map(YVal::as_scalar)
            .collect();
        if let Some(ov) = &it.override_ {
            let i = *self
                .rule_idx
                .get(name)
                .ok_or_else(|| format!("rule '{name}' has not been defined"))?;
            let r = &mut self.rules[i];
            for (key, mode) in ov {
                let mode = parse_mode(&mode.value)?;
                let append = mode == Mode::Append;
                match key.as_str() {
                    "condition" => {
                        let c = it
                            .condition
                            .as_ref()
                            .ok_or("override of `condition` without a `condition`")?;
                        let c = CondText::from_spanned(c, pos.file);
                        if append {
                            r.cond.append(&c)
                        } else {
                            r.cond = c
                        }
                    }
                    "output" => {
                        let o = it
                            .output
                            .as_ref()
                            .ok_or("override of `output` without an `output`")?;
                        let o = CondText::from_spanned(o, pos.file);
                        if append {
                            r.output.append(&o)
                        } else {
                            r.output = o
                        }
                    }
                    "desc" => {
                        let d = it.desc.clone().unwrap_or_default();
                        if append {
                            r.desc = format!("{} {d}", r.desc)
                        } else {
                            r.desc = d
                        }
                    }
                    "priority" => {
                        if append {
                            return Err("`priority` can only be replaced, not appended".into());
                        }
                        let p = it
                            .priority
                            .as_ref()
                            .ok_or("override of `priority` without a `priority`")?;
                        match priority(p, pos.file) {
                            Ok(p) => r.priority = p,
                            Err(e) => self.item_errors.push(e),
                        }
                    }
                    "tags" => {
                        if !append {
                            r.tags.clear();
                        }
                        merge_tags(&mut r.tags, &tags);
                    }
                    "exceptions" => {
                        if append {
                            merge_exceptions(&mut r.exceptions, exceptions.clone())
                        } else {
                            r.exceptions = exceptions.clone()
                        }
                    }
                    "enabled" => {
                        if append {
                            return Err("`enabled` can only be replaced, not appended".into());
                        }
                        r.enabled = it.enabled.unwrap_or(true);
                    }
                    "source" => {
                        return Err("`source` cannot be overridden".into());
                    }
                    "warn_evttypes" | "capture" | "capture_duration" => {}
                    "skip-if-unknown-filter" => {
                        r.skip_if_unknown_filter = it.skip_if_unknown_filter.unwrap_or(false)
                    }
                    other => return Err(format!("unknown key '{other}' in `override`")),
                }
            }
            return Ok(());
        }
        if append {
            let i = *self
                .rule_idx
                .get(name)
                .ok_or_else(|| format!("rule '{name}' has not been defined"))?;
            let r = &mut self.rules[i];
            if let Some(c) = &it.condition {
                r.cond.append(&CondText::from_spanned(c, pos.file));
            }
            if let Some(o) = &it.output {
                r.output.append(&CondText::from_spanned(o, pos.file));
            }
            if let Some(d) = &it.desc {
                r.desc = format!("{} {d}", r.desc);
            }
            merge_tags(&mut r.tags, &tags);
            merge_exceptions(&mut r.exceptions, exceptions);
            return Ok(());
        }
        // `- rule: X` with only `enabled`: switch an existing rule on or off.
        if it.condition.is_none() && it.output.is_none() && it.enabled.is_some() {
            let i = *self
                .rule_idx
                .get(name)
                .ok_or_else(|| format!("rule '{name}' has not been defined"))?;
            self.rules[i].enabled = it.enabled.unwrap_or(true);
            return Ok(());
        }
        let cond = it.condition.as_ref().ok_or("rule has no `condition`")?;
        let output = it.output.as_ref().ok_or("rule has no `output`")?;
        let p = it.priority.as_ref().ok_or("rule has no `priority`")?;
        // A bad priority is reported, and the rule kept so that its
        // condition and output are checked too (nothing runs either way).
        let priority = priority(p, pos.file).unwrap_or_else(|e| {
            self.item_errors.push(e);
            Priority::Debug
        });
        let def = RuleDef {
            name: name.to_string(),
            desc: it.desc.clone().unwrap_or_default(),
            cond: CondText::from_spanned(cond, pos.file),
            output: CondText::from_spanned(output, pos.file),
            priority,
            tags: {
                let mut t = Vec::new();
                merge_tags(&mut t, &tags);
                t
            },
            enabled: it.enabled.unwrap_or(true),
            source: it.source.clone().unwrap_or_else(|| "syscall".into()),
            exceptions,
            skip_if_unknown_filter: it.skip_if_unknown_filter.unwrap_or(false),
            pos,
        };
        insert(&mut self.rules, &mut self.rule_idx, name, def);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Append,
    Replace,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "append" => Ok(Mode::Append),
        "replace" => Ok(Mode::Replace),
        other => Err(format!(
            "override mode must be `append` or `replace`, not '{other}'"
        )),
    }
}

fn override_mode(it: &RawItem, key: &str, allowed: &[&str]) -> Result<Option<Mode>, String> {
    let Some(ov) = &it.override_ else {
        return Ok(None);
    };
    for k in ov.keys() {
        if !allowed.contains(&k.as_str()) {
            let hint = suggest(k, allowed.iter().copied())
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            return Err(format!("unknown key '{k}' in `override`{hint}"));
        }
    }
    ov.get(key).map(|m| parse_mode(&m.value)).transpose()
}

/// A list or a macro: a named body that `append` / `override` extend or replace.
trait Mergeable {
    /// `list` or `macro`, for errors.
    const KIND: &'static str;
    /// The name.
    fn name(&self) -> &str;
    /// `append: true` or `override: append`: adds `other`'s body to this one.
    fn extend(&mut self, other: Self);
    /// `override: replace`: takes `other`'s body, keeping this definition site.
    fn replace(&mut self, other: Self);
    /// `(index, visibility)`.
    fn order(&mut self) -> (&mut usize, &mut usize);
}

impl Mergeable for ListDef {
    const KIND: &'static str = "list";
    fn name(&self) -> &str {
        &self.name
    }
    fn extend(&mut self, other: Self) {
        self.items.extend(other.items);
    }
    fn replace(&mut self, other: Self) {
        self.items = other.items;
    }
    fn order(&mut self) -> (&mut usize, &mut usize) {
        (&mut self.index, &mut self.visibility)
    }
}

impl Mergeable for MacroDef {
    const KIND: &'static str = "macro";
    fn name(&self) -> &str {
        &self.name
    }
    fn extend(&mut self, other: Self) {
        self.cond.append(&other.cond);
    }
    fn replace(&mut self, other: Self) {
        self.cond = other.cond;
    }
    fn order(&mut self) -> (&mut usize, &mut usize) {
        (&mut self.index, &mut self.visibility)
    }
}

/// Adds `def` as Falco's loader does: appends to or replaces an earlier
/// definition, or (plain redefinition) supersedes it in place. Each of these
/// makes `def`'s position the definition's visibility; a redefinition keeps
/// the first definition's index (`define_info`, `append_info`,
/// `replace_info` in Falco's collector).
fn merge<T: Mergeable>(
    defs: &mut Vec<T>,
    idx: &mut BTreeMap<String, usize>,
    append: bool,
    mode: Option<Mode>,
    mut def: T,
) -> Result<(), String> {
    let append = append || mode == Some(Mode::Append);
    let at = *def.order().1;
    match (idx.get(def.name()).copied(), append, mode) {
        (Some(i), true, _) => {
            defs[i].extend(def);
            *defs[i].order().1 = at;
        }
        (Some(i), false, Some(Mode::Replace)) => {
            defs[i].replace(def);
            *defs[i].order().1 = at;
        }
        (None, true, _) | (None, false, Some(_)) => {
            return Err(format!("{} '{}' has not been defined", T::KIND, def.name()));
        }
        (prev, false, _) => {
            if let Some(i) = prev {
                *def.order().0 = *defs[i].order().0;
            }
            let name = def.name().to_string();
            insert(defs, idx, &name, def);
        }
    }
    Ok(())
}

fn insert<T>(v: &mut Vec<T>, idx: &mut BTreeMap<String, usize>, name: &str, def: T) {
    match idx.get(name) {
        Some(&i) => v[i] = def,
        None => {
            idx.insert(name.to_string(), v.len());
            v.push(def);
        }
    }
}

/// A rule's priority; an error points at the value in file `file`.
fn priority(p: &Spanned<String>, file: usize) -> Result<Priority, (ItemPos, usize, String)> {
    Priority::parse(&p.value).ok_or_else(|| {
        let at = ItemPos {
            file,
            line: p.referenced.line() as usize,
            col: p.referenced.column() as usize,
        };
        let msg = format!(
            "invalid priority '{}': expected one of EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, \
             NOTICE, INFORMATIONAL, DEBUG",
            p.value
        );
        (at, p.value.chars().count().max(1), msg)
    })
}

fn merge_tags(into: &mut Vec<String>, tags: &[String]) {
    for t in tags {
        if !into.contains(t) {
            into.push(t.clone());
        }
    }
}

fn merge_exceptions(into: &mut Vec<ExceptionDef>, new: Vec<ExceptionDef>) {
    for e in new {
        match into.iter_mut().find(|x| x.name == e.name) {
            Some(x) => x.values.extend(e.values),
            None => into.push(e),
        }
    }
}

fn exception(e: &RawException, file: usize) -> ExceptionDef {
    ExceptionDef {
        name: e.name.value.clone(),
        fields: e.fields.clone(),
        comps: e.comps.clone(),
        values: e.values.clone().unwrap_or_default(),
        pos: ItemPos {
            file,
            line: e.name.referenced.line() as usize,
            col: e.name.referenced.column() as usize,
        },
    }
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        // Old integer engine versions map to 0.N.0.
        return Some((0, n, 0));
    }
    let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

fn item_diag(sources: &SourceMap, pos: ItemPos, it: &RawItem, msg: String) -> Diagnostic {
    let item = if let Some(n) = &it.rule {
        Some(format!("rule '{}'", n.value))
    } else if let Some(n) = &it.macro_ {
        Some(format!("macro '{}'", n.value))
    } else {
        it.list.as_ref().map(|n| format!("list '{}'", n.value))
    };
    Diagnostic {
        message: msg,
        location: Some(sources.item_location(pos.file, pos.line, pos.col)),
        item,
        width: 1,
        help: None,
    }
}
