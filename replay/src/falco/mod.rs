//! Falco rules: load the rules files people already deploy and compile them
//! to the shared IR, so `hindsight replay` raises the alerts Falco would
//! have raised.
//!
//! Pipeline: [`yaml`] (items with spans) → [`loader`] (`append`/`override`,
//! redefinitions, in load order) → [`parser`] (the condition language, as
//! falcosecurity/libs parses it) → [`resolve`] (exceptions, macros, lists) →
//! [`compile`] (fields onto columns and state, derived fields rewritten) →
//! [`crate::ir::Rule`]. [`output`] renders templates and Falco's JSON.
//!
//! Semantics follow falcosecurity/libs and falcosecurity/falco; the book
//! chapter `falco.md` lists every choice.

pub mod ast;
pub mod compile;
pub mod consteval;
pub mod errno;
pub mod error;
pub mod fields;
pub mod loader;
pub mod output;
pub mod parser;
pub mod resolve;
pub mod source;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag;
use crate::field::{Col, Field};
use crate::ir::{self, Cond, Literal, Op, Origin};
use crate::lang::{RuleLanguage, SourceFile};

use error::{Diagnostic, FalcoError};
use loader::Collected;
use output::TPart;
use source::SourceMap;

/// The Falco rule language (`falco`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Falco;

impl RuleLanguage for Falco {
    fn name(&self) -> &'static str {
        "falco"
    }

    fn detect(&self, file: &SourceFile) -> u8 {
        detect(&file.text)
    }

    fn compile(&self, files: &[SourceFile]) -> Result<Vec<ir::Rule>, Vec<diag::Diagnostic>> {
        compile_files(files).map(|set| set.rules.into_iter().map(|r| r.rule).collect())
    }

    /// The loader's warnings (a newer `required_engine_version`, a rule
    /// skipped by `skip-if-unknown-filter`) and keys Falco does not know
    /// (Falco ignores them: a typo such as `enabeld: false` would silently
    /// change nothing).
    ///
    /// Notes name each enabled rule that cannot fire on a recording, and why;
    /// each enabled rule whose condition uses fields no recording has but
    /// can still fire (the fields are treated as missing, so a test on them
    /// is false); and each rule whose condition is false on every event
    /// for another reason.
    fn compile_with_remarks(
        &self,
        files: &[SourceFile],
    ) -> Result<(Vec<ir::Rule>, crate::lang::Remarks), Vec<diag::Diagnostic>> {
        let set = compile_files(files)?;
        let mut notes = Vec::new();
        let mut cannot_fire = std::collections::BTreeMap::new();
        for r in set.rules.iter().filter(|r| r.rule.enabled) {
            if let Some(why) = r.cannot_fire() {
                notes.push(format!(
                    "{}:{}: rule '{}' {why}",
                    r.rule.origin.file, r.rule.origin.line, r.rule.id
                ));
                let needs = why.split_once("needs ").map_or(why.as_str(), |(_, n)| n);
                cannot_fire.insert(r.rule.id.clone(), needs.to_string());
            } else if let Some(note) = r.narrowing_note() {
                notes.push(format!(
                    "{}:{}: rule '{}' {note}",
                    r.rule.origin.file, r.rule.origin.line, r.rule.id
                ));
            }
        }
        let mut out = set.warnings;
        for f in files {
            for (line, col, key) in yaml::unknown_keys(&f.text) {
                let hint = diag::suggest(&key, yaml::ITEM_KEYS.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                out.push(format!(
                    "{}:{line}:{col}: unknown key `{key}` in a Falco rules file, ignored as Falco ignores it{hint}",
                    f.path
                ));
            }
        }
        let remarks = crate::lang::Remarks {
            warnings: out,
            notes,
            cannot_fire,
        };
        Ok((set.rules.into_iter().map(|r| r.rule).collect(), remarks))
    }
}

/// How sure we are that `text` is a Falco rules file (0–100).
pub fn detect(text: &str) -> u8 {
    let mut rule = false;
    let mut desc = false;
    let mut condition = false;
    for line in text.lines() {
        let t = line.trim_start();
        let item = t.strip_prefix("- ").map(str::trim_start);
        let key = item.unwrap_or(t);
        // Keys only Falco has: a tuning file (`override`, `append`,
        // `exceptions`) is Falco even without `desc`.
        if key.starts_with("override:")
            || key.starts_with("append:")
            || key.starts_with("exceptions:")
        {
            return 95;
        }
        condition |= key.starts_with("condition:");
        match item {
            Some(i)
                if i.starts_with("macro:")
                    || i.starts_with("list:")
                    || i.starts_with("required_engine_version:")
                    || i.starts_with("required_plugin_versions:") =>
            {
                return 95;
            }
            Some(i) if i.starts_with("rule:") => rule = true,
            _ => {}
        }
        if t.starts_with("desc:") {
            desc = true;
        }
        if t.starts_with("description:")
            || t.starts_with("detection:")
            || t.starts_with("logsource:")
        {
            return 0;
        }
    }
    match (rule, desc, condition) {
        (true, true, _) => 90,
        // `- rule: X` / `enabled: false` only: Falco's way to turn a rule
        // off (a Hindsight rule always has a condition).
        (true, false, false) => 45,
        (true, false, true) => 30,
        _ => 0,
    }
}

/// A compiled Falco rule with what the IR cannot carry.
#[derive(Debug, Clone)]
pub struct FalcoRule {
    /// The IR rule.
    pub rule: ir::Rule,
    /// The event source (`syscall` for rules that apply to recordings).
    pub source: String,
    /// Fields the rule needs that no recording provides ("cannot fire on
    /// this recording: needs FIELD"): the condition is false whenever they
    /// are missing. Empty for rules that can fire.
    pub needs: Vec<String>,
    /// Fields the rule uses that no recording provides but that only narrow
    /// it (e.g. `and not container.image.repository in (...)`): they are
    /// treated as missing, as Falco treats a missing value.
    pub treated_as_missing: Vec<String>,
    /// The condition is false on every event though it needs no missing
    /// field (e.g. `evt.type = open and evt.type = close`).
    pub always_false: bool,
    /// The output template, for Falco-faithful rendering.
    pub template: Vec<TPart>,
}

impl FalcoRule {
    /// Why the rule cannot fire on any recording, if it cannot.
    pub fn cannot_fire(&self) -> Option<String> {
        if self.source != "syscall" {
            return Some(format!(
                "not applicable: `{}` events are not syscalls",
                self.source
            ));
        }
        (!self.needs.is_empty()).then(|| {
            let needs: Vec<String> = self.needs.iter().map(|f| with_reason(f)).collect();
            format!("cannot fire on this recording: needs {}", needs.join(", "))
        })
    }

    /// What a rule that can fire should say about its condition: the
    /// fields treated as missing, or that it is false on every event.
    pub fn narrowing_note(&self) -> Option<String> {
        if self.source != "syscall" {
            return None;
        }
        if self.always_false {
            return Some("never fires: its condition is false on every event".into());
        }
        (!self.treated_as_missing.is_empty()).then(|| {
            let fields: Vec<String> = self
                .treated_as_missing
                .iter()
                .map(|f| with_reason(f))
                .collect();
            format!(
                "treats fields no recording has as missing (a test on one is false): {}",
                fields.join(", ")
            )
        })
    }
}

/// `FIELD (why it is not recorded)`.
pub fn with_reason(field: &str) -> String {
    let reason = if field.starts_with("evt.arg[") {
        Some("numeric argument indexes are not recorded")
    } else {
        fields::unavailable_reason(field)
    };
    match (field, reason) {
        (_, Some(r)) => format!("{field} ({r})"),
        (_, None) => field.to_string(),
    }
}

/// Everything loaded from a set of Falco rules files.
#[derive(Debug, Default)]
pub struct FalcoRuleSet {
    /// Rules in definition order.
    pub rules: Vec<FalcoRule>,
    /// Items read from the files before merging: rules, macros, lists.
    pub items_read: (usize, usize, usize),
    /// Number of macros after merging.
    pub macros: usize,
    /// Number of lists after merging.
    pub lists: usize,
    /// Required plugins seen (`name version`); noted and ignored.
    pub required_plugins: Vec<String>,
    /// Non-fatal remarks.
    pub warnings: Vec<String>,
}

impl FalcoRuleSet {
    /// The rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&FalcoRule> {
        self.rules.iter().find(|r| r.rule.name == name)
    }

    /// Templates by rule id, for `--format falco-json`.
    pub fn templates(&self) -> BTreeMap<String, Vec<TPart>> {
        self.rules
            .iter()
            .map(|r| (r.rule.id.clone(), r.template.clone()))
            .collect()
    }
}

/// Reads and compiles Falco rules files from disk.
pub fn load_paths(paths: &[&Path]) -> Result<FalcoRuleSet, Vec<diag::Diagnostic>> {
    let mut files = Vec::new();
    for p in paths {
        let path = p.display().to_string();
        match std::fs::read_to_string(p) {
            Ok(text) => files.push(SourceFile { path, text }),
            Err(e) => {
                return Err(vec![diag::Diagnostic::file(
                    &path,
                    format!("cannot read Falco rules file: {e}"),
                )]);
            }
        }
    }
    compile_files(&files)
}

/// Compiles Falco rules files (in load order).
pub fn compile_files(files: &[SourceFile]) -> Result<FalcoRuleSet, Vec<diag::Diagnostic>> {
    let mut sources = SourceMap::default();
    let mut col = Collected::default();
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut fatal = Vec::new();
    for f in files {
        if let Err(e) = col.add_file(&mut sources, Path::new(&f.path), f.text.clone(), &mut diags) {
            fatal.push(file_error(f, &e));
        }
    }
    if !fatal.is_empty() {
        return Err(fatal);
    }
    let mut resolver = resolve::Resolver::new(&col, &mut sources, &mut diags);
    let mut resolved = Vec::new();
    let mut unresolved = Vec::new();
    for def in &col.rules {
        match resolver.rule(def, &mut diags) {
            Some(r) => resolved.push(r),
            None => unresolved.push(def),
        }
    }
    // A rule whose condition could not be resolved (an undefined macro or
    // list, a broken macro) still has its output checked, so that the
    // condition's error does not hide the output's.
    for def in unresolved {
        if def.source == "syscall"
            && let Err(errs) = output::parse_template(&def.output.text)
        {
            let owner = format!("rule '{}'", def.name);
            diags.extend(template_diags(&mut sources, &def.output, &owner, errs));
        }
    }
    let mut set = FalcoRuleSet {
        items_read: col.items_read,
        macros: col.macros.len(),
        lists: col.lists.len(),
        required_plugins: col.required_plugins.clone(),
        warnings: col.warnings.clone(),
        rules: Vec::new(),
    };
    for r in resolved {
        let owner = format!("rule '{}'", r.def.name);
        let syscall = r.def.source == "syscall";
        // The condition and the output are both checked before giving up
        // on a rule, so that one error does not hide the other.
        let template = if syscall {
            output::parse_template(&r.def.output.text)
                .map_err(|errs| template_diags(&mut sources, &r.def.output, &owner, errs))
        } else {
            Ok(vec![TPart::Text(r.def.output.text.clone())])
        };
        let lowered = if syscall {
            match compile::Lowerer::new(&sources, owner.clone()).lower(&r.expr) {
                Ok(l) => l,
                Err(mut d) => {
                    if r.def.skip_if_unknown_filter {
                        let at = d[0]
                            .location
                            .as_ref()
                            .map(|l| format!("{}:{}:{}: ", l.path.display(), l.line, l.col))
                            .unwrap_or_default();
                        set.warnings.push(format!(
                            "{at}{owner} skipped (skip-if-unknown-filter): {}",
                            d[0].message
                        ));
                        continue;
                    }
                    diags.append(&mut d);
                    if let Err(mut d) = template {
                        diags.append(&mut d);
                    }
                    continue;
                }
            }
        } else {
            compile::Lowered {
                cond: Cond::Const(false),
                needs: Default::default(),
            }
        };
        let template = match template {
            Ok(t) => t,
            Err(mut d) => {
                diags.append(&mut d);
                continue;
            }
        };
        let file = &sources.files[r.def.pos.file];
        let rule = ir::Rule {
            id: r.def.name.clone(),
            name: r.def.name.clone(),
            description: r.def.desc.trim().to_string(),
            priority: priority(r.def.priority),
            tags: r.def.tags.clone(),
            origin: Origin {
                language: "falco",
                file: file.path.display().to_string(),
                line: r.def.pos.line as u32,
            },
            condition: compile::simplify(Cond::And(vec![gate(), lowered.cond.clone()])),
            output: output::ir_parts(&template),
            action: None,
            enabled: r.def.enabled,
            // Falco's own rendering, as in falco-json (the IR parts are an approximation).
            late_output: syscall.then(|| {
                let t = template.clone();
                ir::LateOutput(std::sync::Arc::new(move |v: &crate::verdict::Verdict| {
                    output::render_output(&t, v).0
                }))
            }),
        };
        let unavailable: Vec<String> = lowered.needs.into_iter().collect();
        let (needs, treated_as_missing) = if lowered.cond == Cond::Const(false) && syscall {
            (unavailable, Vec::new())
        } else {
            (Vec::new(), unavailable)
        };
        let always_false = syscall && needs.is_empty() && rule.condition == Cond::Const(false);
        set.rules.push(FalcoRule {
            rule,
            source: r.def.source.clone(),
            needs,
            treated_as_missing,
            always_false,
            template,
        });
    }
    if diags.is_empty() {
        Ok(set)
    } else {
        // Found by kind (items, then conditions, then outputs); reported
        // in file order, then line and column.
        let order = |path: &str| files.iter().position(|f| f.path == path);
        let mut out: Vec<diag::Diagnostic> = diags.iter().map(|d| to_diag(d, &sources)).collect();
        out.sort_by_key(|d| (order(&d.file).unwrap_or(usize::MAX), d.line, d.column));
        Err(out)
    }
}

/// One diagnostic per field of a rule's output template that cannot be
/// rendered, each pointing at the field where it was written.
fn template_diags(
    sources: &mut SourceMap,
    output: &loader::CondText,
    owner: &str,
    errs: Vec<output::TemplateError>,
) -> Vec<Diagnostic> {
    let src = sources.add_cond(source::CondSource {
        text: output.text.clone(),
        segments: output.segments.clone(),
        owner: owner.to_string(),
    });
    errs.into_iter()
        .map(|e| Diagnostic {
            message: format!("in the output template: {}", e.message),
            location: sources.locate(src, e.offset),
            item: Some(owner.to_string()),
            width: e.len.max(1),
            help: e.help,
        })
        .collect()
}

/// Rows that are Falco events: not snapshots or loss markers, and not the
/// `syscall` row of a successful `execve` (its `process_exec` row is the
/// event Falco sees).
fn gate() -> Cond {
    let s = |v: &str| Literal::Str(v.into());
    Cond::And(vec![
        Cond::Not(Box::new(Cond::test(
            Field::Column(Col::EventKind),
            Op::In,
            Literal::List(vec![s("process_snapshot"), s("loss")]),
        ))),
        Cond::Not(Box::new(Cond::And(vec![
            Cond::test(Field::Column(Col::EventKind), Op::Eq, s("syscall")),
            Cond::test(
                Field::Column(Col::Syscall),
                Op::In,
                Literal::List(vec![s("execve"), s("execveat")]),
            ),
            Cond::test(Field::Column(Col::Ret), Op::Ge, Literal::Int(0)),
        ]))),
    ])
}

fn priority(p: loader::Priority) -> ir::Priority {
    use loader::Priority as P;
    match p {
        P::Emergency => ir::Priority::Emergency,
        P::Alert => ir::Priority::Alert,
        P::Critical => ir::Priority::Critical,
        P::Error => ir::Priority::Error,
        P::Warning => ir::Priority::Warning,
        P::Notice => ir::Priority::Notice,
        P::Informational => ir::Priority::Informational,
        P::Debug => ir::Priority::Debug,
    }
}

/// A whole-file error, at its line and column when the YAML parser gave one.
fn file_error(f: &SourceFile, e: &FalcoError) -> diag::Diagnostic {
    match e {
        FalcoError::Yaml {
            line,
            column,
            message,
            ..
        } => diag::Diagnostic::at(
            &f.path,
            &f.text,
            *line,
            *column,
            1,
            format!("YAML syntax error: {message}"),
        ),
        FalcoError::NotFalco {
            at: Some((line, column)),
            ..
        } => diag::Diagnostic::at(&f.path, &f.text, *line, *column, 1, e.to_string()),
        _ => diag::Diagnostic::file(&f.path, e.to_string()),
    }
}

fn to_diag(d: &Diagnostic, sources: &SourceMap) -> diag::Diagnostic {
    let message = match &d.item {
        Some(item) => format!("{} (in {item})", d.message),
        None => d.message.clone(),
    };
    let out = match &d.location {
        Some(loc) => {
            let text = sources
                .files
                .iter()
                .find(|f| f.path == loc.path)
                .map_or("", |f| f.text.as_str());
            diag::Diagnostic::at(
                &loc.path.display().to_string(),
                text,
                loc.line as u32,
                loc.col as u32,
                d.width as u32,
                message,
            )
        }
        None => diag::Diagnostic::file("", message),
    };
    match &d.help {
        Some(h) => out.with_help(h.clone()),
        None => out,
    }
}

/// The Falco output templates of the rule files among `paths` (files or
/// directories, as given to `--rules`), keyed by rule id. Files of other
/// languages are skipped. Used by `--format falco-json`.
pub fn templates_for_paths(
    paths: &[std::path::PathBuf],
) -> Result<BTreeMap<String, Vec<TPart>>, Vec<diag::Diagnostic>> {
    let files = crate::lang::expand(paths).map_err(|d| vec![d])?;
    let mut falco_files = Vec::new();
    for p in files {
        let path = p.display().to_string();
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let file = SourceFile { path, text };
        if crate::lang::detect(&file).is_ok_and(|l| l.name() == "falco") {
            falco_files.push(file);
        }
    }
    if falco_files.is_empty() {
        return Ok(BTreeMap::new());
    }
    compile_files(&falco_files).map(|set| set.templates())
}

/// Writes verdicts as Falco JSON alerts, one per line. Verdicts of Falco
/// rules are rendered from their templates exactly as Falco renders them;
/// others get the same keys with the engine's output and fields.
pub fn write_falco_json(
    out: &mut dyn std::io::Write,
    report: &crate::verdict::Report,
    templates: &BTreeMap<String, Vec<TPart>>,
) -> std::io::Result<()> {
    for v in &report.verdicts {
        let json = match templates.get(&v.rule_id) {
            Some(t) => output::falco_json(t, v),
            None => {
                let mut j = output::falco_json(&[TPart::Text(v.output.clone())], v);
                if let Some(f) = j.get_mut("output_fields").and_then(|f| f.as_object_mut()) {
                    f.extend(v.fields.iter().cloned());
                }
                j
            }
        };
        serde_json::to_writer(&mut *out, &json)?;
        writeln!(out)?;
    }
    Ok(())
}
