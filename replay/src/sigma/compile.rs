//! Sigma → the shared condition IR ([`crate::ir`]), and the
//! [`RuleLanguage`] implementation that plugs Sigma into `hindsight replay`,
//! `diff` and `test`.
//!
//! A rule becomes `OR` over the views it reads of `(view filter AND the
//! detection condition with every Sigma field replaced by its source)`.
//! Fields fixed by a view (constants) or absent from recordings are folded
//! at compile time.

use crate::diag::Diagnostic;
use crate::field::{Col, Field, Kind};
use crate::ir::{self, Expr, Literal, Op, Part, Priority, Rhs, Test};
use crate::lang::{Remarks, RuleLanguage, SourceFile};

use super::condition::Cond;
use super::detection::{CmpOp, FieldMatch, Matcher, Search};
use super::eval::{self, Tri};
use super::fields::{Source, View};
use super::pattern::{Pattern, Piece};
use super::{Applicability, Compiled, SigmaRule};

/// The Sigma rule language.
#[derive(Debug, Clone, Copy)]
pub struct Sigma;

impl RuleLanguage for Sigma {
    fn name(&self) -> &'static str {
        "sigma"
    }

    fn detect(&self, file: &SourceFile) -> u8 {
        if super::looks_like_sigma(&file.text) {
            90
        } else {
            0
        }
    }

    fn compile(&self, files: &[SourceFile]) -> Result<Vec<ir::Rule>, Vec<Diagnostic>> {
        self.compile_with_remarks(files).map(|(rules, _)| rules)
    }

    /// Notes one line per running rule that names fields recordings never
    /// fill (`Compiled::unfilled`): selections on them never match, so a
    /// filter on one never excludes anything.
    fn compile_with_remarks(
        &self,
        files: &[SourceFile],
    ) -> Result<(Vec<ir::Rule>, Remarks), Vec<Diagnostic>> {
        let mut rules = Vec::new();
        let mut notes = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match super::load_str(&f.path, &f.text) {
                Ok(loaded) => {
                    for r in loaded {
                        let c = Compiled::new(r);
                        if let Some(n) = unfilled_note(&c) {
                            notes.push(n);
                        }
                        rules.push(to_ir(&c));
                    }
                }
                Err(e) => errors.push(diagnostic(&e, &f.text)),
            }
        }
        if errors.is_empty() {
            let remarks = Remarks {
                notes,
                ..Remarks::default()
            };
            Ok((rules, remarks))
        } else {
            Err(errors)
        }
    }
}

/// `FILE:LINE: rule 'ID' names fields recordings never fill …` for a rule
/// that runs although some of its fields are never filled.
fn unfilled_note(c: &Compiled) -> Option<String> {
    (c.applicability == Applicability::Applicable && !c.unfilled.is_empty()).then(|| {
        format!(
            "{}:{}: rule '{}' names fields recordings never fill (null in every event): {}",
            c.rule.file,
            c.rule.pos.line,
            c.rule.id,
            c.unfilled.join(", ")
        )
    })
}

/// A load error as a [`Diagnostic`] pointing into `text` (the file's text):
/// file, line, column, the rule's id when known, and what is wrong.
pub fn diagnostic(e: &super::SigmaError, text: &str) -> Diagnostic {
    let message = match &e.rule {
        Some(r) => format!("rule {r}: {}", e.message),
        None => e.message.clone(),
    };
    Diagnostic::at(&e.file, text, e.pos.line, e.pos.column, 1, message)
}

/// Sigma `level` → priority (the mapping documented in [`ir::Priority`]).
pub fn priority(level: Option<&str>) -> Priority {
    match level.unwrap_or("medium") {
        "critical" => Priority::Critical,
        "high" => Priority::Error,
        "low" => Priority::Notice,
        "informational" => Priority::Informational,
        _ => Priority::Warning,
    }
}

/// One compiled Sigma rule in IR form. Rules that are not applicable or
/// cannot fire are kept, disabled, with the reason in the description.
pub fn to_ir(c: &Compiled) -> ir::Rule {
    let r = &c.rule;
    let mut tags = r.tags.clone();
    if let Some(l) = &r.level {
        tags.push(format!("sigma.level:{l}"));
    }
    if let Some(s) = &r.status {
        tags.push(format!("sigma.status:{s}"));
    }
    let (condition, enabled, description) = match &c.applicability {
        Applicability::Applicable => (
            ir::Cond::Or(c.views.iter().map(|v| view_cond(r, v)).collect()),
            true,
            r.description.clone().unwrap_or_default(),
        ),
        other => (ir::Cond::Const(false), false, other.to_string()),
    };
    ir::Rule {
        id: r.id.clone(),
        name: r.title.clone(),
        description,
        priority: priority(r.level.as_deref()),
        tags,
        origin: ir::Origin {
            language: "sigma",
            file: r.file.clone(),
            line: r.pos.line,
        },
        condition,
        output: output(r, c.views.first().copied()),
        action: None,
        late_output: None,
        enabled,
    }
}

fn col(name: &str) -> Field {
    let c = Col::ALL
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("view names unknown column {name}"));
    Field::Column(*c)
}

fn source_field(src: Source) -> Option<Field> {
    match src {
        Source::Column(c) => Some(col(c)),
        Source::State(name) => {
            Some(Field::parse(name).unwrap_or_else(|| panic!("views name unknown field {name}")))
        }
        Source::Arg(n) => Some(Field::ArgvAt(n)),
        Source::Const(_) | Source::Missing => None,
    }
}

fn output(r: &SigmaRule, view: Option<&View>) -> Vec<Part> {
    let mut parts = vec![Part::Text(format!("{} (", r.title))];
    let fields: &[(&str, &str)] = match view.map(|v| v.name) {
        Some(n) if n.starts_with("file_") || n.starts_with("auditd:PATH") => &[
            ("file", "file_path"),
            ("exe", "process_executable"),
            ("pid", "process_pid"),
        ],
        Some(n) if n.starts_with("network") => &[
            ("dest", "destination_ip"),
            ("port", "destination_port"),
            ("exe", "process_executable"),
            ("pid", "process_pid"),
        ],
        _ => &[
            ("exe", "process_executable"),
            ("cmdline", "process_command_line"),
            ("pid", "process_pid"),
        ],
    };
    for (i, (label, c)) in fields.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        parts.push(Part::Text(format!("{sep}{label}=")));
        parts.push(Part::Field(Expr::field(col(c))));
    }
    parts.push(Part::Text(")".into()));
    parts
}

fn test(field: &Field, op: Op, lit: Literal, nocase: bool) -> ir::Cond {
    ir::Cond::Test(Test {
        lhs: Expr::field(field.clone()),
        op,
        rhs: Rhs::Lit(lit),
        nocase,
    })
}

fn filter_cond(v: &View) -> ir::Cond {
    let f = &v.filter;
    let strs =
        |xs: &[&str]| Literal::List(xs.iter().map(|s| Literal::Str((*s).to_owned())).collect());
    let mut parts = vec![test(&col("event_kind"), Op::In, strs(f.kinds), false)];
    if let Some(s) = f.syscalls {
        parts.push(test(&col("syscall"), Op::In, strs(s), false));
    }
    if let Some(flag) = f.flag {
        parts.push(test(
            &col("file_flags"),
            Op::Regex { anchored: false },
            Literal::Str(format!("(^|\\|){flag}(\\||$)")),
            false,
        ));
    }
    if let Some(c) = f.non_null {
        parts.push(ir::Cond::Exists(Expr::field(col(c))));
    }
    if f.success {
        let ok = test(&col("ret"), Op::Ge, Literal::Int(0), false);
        parts.push(if f.in_progress_ok {
            ir::Cond::Or(vec![
                ok,
                test(&col("ret"), Op::Eq, Literal::Int(-115), false),
            ])
        } else {
            ok
        });
    }
    if let Some(fam) = f.families {
        parts.push(test(&col("network_family"), Op::In, strs(fam), false));
    }
    if f.not_exec_syscall {
        parts.push(ir::Cond::Not(Box::new(ir::Cond::And(vec![
            test(
                &col("event_kind"),
                Op::Eq,
                Literal::Str("syscall".into()),
                false,
            ),
            test(&col("syscall"), Op::In, strs(super::fields::EXEC), false),
            test(&col("ret"), Op::Ge, Literal::Int(0), false),
        ]))));
    }
    ir::Cond::And(parts)
}

fn view_cond(r: &SigmaRule, v: &View) -> ir::Cond {
    ir::Cond::And(vec![filter_cond(v), cond(r, &r.condition, v)])
}

fn cond(r: &SigmaRule, c: &Cond, v: &View) -> ir::Cond {
    match c {
        Cond::Search(n) => r.search(n).map_or(ir::Cond::Const(false), |s| search(s, v)),
        Cond::Not(x) => ir::Cond::Not(Box::new(cond(r, x, v))),
        Cond::And(xs) => ir::Cond::And(xs.iter().map(|x| cond(r, x, v)).collect()),
        Cond::Or(xs) => ir::Cond::Or(xs.iter().map(|x| cond(r, x, v)).collect()),
    }
}

fn search(s: &Search, v: &View) -> ir::Cond {
    match s {
        Search::AllOf(fields) => ir::Cond::And(fields.iter().map(|f| field_match(f, v)).collect()),
        Search::AnyOf(alts) => ir::Cond::Or(alts.iter().map(|a| search(a, v)).collect()),
    }
}

fn field_match(fm: &FieldMatch, v: &View) -> ir::Cond {
    match eval::partial_field(fm, v) {
        Tri::True => return ir::Cond::Const(true),
        Tri::False => return ir::Cond::Const(false),
        Tri::Maybe => {}
    }
    let src = match fm.field.as_deref() {
        Some(f) => v.source(f),
        None => v.keywords,
    };
    let Some(field) = source_field(src) else {
        return ir::Cond::Const(false);
    };
    let one =
        |alts: &Vec<Matcher>| ir::Cond::Or(alts.iter().map(|m| matcher(m, &field, v)).collect());
    let items: Vec<ir::Cond> = fm.values.iter().map(one).collect();
    if fm.all {
        ir::Cond::And(items)
    } else {
        ir::Cond::Or(items)
    }
}

/// A Sigma wildcard string in the IR's glob syntax (`[`, `]` and `\` escaped).
pub fn glob_text(p: &Pattern) -> String {
    let mut s = String::new();
    for piece in &p.pieces {
        match piece {
            Piece::Lit(l) => {
                for c in l.chars() {
                    if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                        s.push('\\');
                    }
                    s.push(c);
                }
            }
            Piece::Star => s.push('*'),
            Piece::One => s.push('?'),
        }
    }
    s
}

fn glob(p: &Pattern, field: &Field) -> ir::Cond {
    let nocase = !p.cased;
    if field.kind() == Kind::Int
        && let Some(lit) = p.as_literal()
    {
        // A plain value on a number compares as a number; with wildcards
        // or a string modifier it matches the number's decimal text (as
        // pySigma's SQL `LIKE` does), through the text operators below.
        return match lit.trim().parse::<i64>() {
            Ok(n) => test(field, Op::Eq, Literal::Int(n), false),
            Err(_) => ir::Cond::Const(false),
        };
    }
    let lits: Vec<&str> = p
        .pieces
        .iter()
        .filter_map(|x| {
            if let Piece::Lit(s) = x {
                Some(s.as_str())
            } else {
                None
            }
        })
        .collect();
    let shape: Vec<u8> = p
        .pieces
        .iter()
        .map(|x| match x {
            Piece::Lit(_) => b'L',
            Piece::Star => b'*',
            Piece::One => b'?',
        })
        .collect();
    let (op, text) = match shape.as_slice() {
        b"" => (Op::Eq, String::new()),
        b"L" => (Op::Eq, lits[0].to_owned()),
        b"*L*" => (Op::Contains, lits[0].to_owned()),
        b"L*" => (Op::StartsWith, lits[0].to_owned()),
        b"*L" => (Op::EndsWith, lits[0].to_owned()),
        _ => (Op::Glob, glob_text(p)),
    };
    test(field, op, Literal::Str(text), nocase)
}

fn matcher(m: &Matcher, field: &Field, v: &View) -> ir::Cond {
    let e = || Expr::field(field.clone());
    match m {
        Matcher::Glob(p) => glob(p, field),
        Matcher::Number(n) => match field.kind() {
            Kind::Int => test(field, Op::Eq, Literal::Int(*n), false),
            _ => test(field, Op::Eq, Literal::Str(n.to_string()), false),
        },
        Matcher::Regex { source, .. } => test(
            field,
            Op::Regex { anchored: false },
            Literal::Str(source.clone()),
            false,
        ),
        Matcher::Cidr(c) => {
            let net = test(
                field,
                Op::Cidr,
                Literal::Str(format!("{}/{}", c.addr, c.prefix)),
                false,
            );
            if c.addr.is_ipv4() {
                // Not an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`), which
                // the IR's `cidr` accepts but Sigma (pySigma's `LIKE '10.%'`)
                // does not.
                let v6 = test(field, Op::Contains, Literal::Str(":".into()), false);
                ir::Cond::And(vec![net, ir::Cond::Not(Box::new(v6))])
            } else {
                net
            }
        }
        Matcher::Compare(op, n) => {
            let op = match op {
                CmpOp::Gt => Op::Gt,
                CmpOp::Gte => Op::Ge,
                CmpOp::Lt => Op::Lt,
                CmpOp::Lte => Op::Le,
            };
            // Integral bounds compare exactly; fractional ones round toward
            // the side that keeps the comparison's meaning for integers.
            let bound = match op {
                Op::Gt | Op::Le => n.floor(),
                _ => n.ceil(),
            };
            test(field, op, Literal::Int(bound as i64), false)
        }
        Matcher::Null => ir::Cond::Not(Box::new(ir::Cond::Exists(e()))),
        Matcher::Exists(true) => ir::Cond::Exists(e()),
        Matcher::Exists(false) => ir::Cond::Not(Box::new(ir::Cond::Exists(e()))),
        Matcher::FieldRef(other) => match source_field(v.source(other)) {
            Some(o) => ir::Cond::Test(Test {
                lhs: e(),
                op: Op::Eq,
                rhs: Rhs::Field(Expr::field(o)),
                nocase: true,
            }),
            None => ir::Cond::Const(false),
        },
    }
}
