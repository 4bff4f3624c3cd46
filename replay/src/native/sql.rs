//! A small parser for the SQL boolean expressions of native rule conditions.
//!
//! Grammar (keywords in any case):
//!
//! ```text
//! expr      := and ( OR and )*
//! and       := not ( AND not )*
//! not       := NOT not | predicate
//! predicate := '(' expr ')'
//!            | operand [ cmp operand
//!                      | [NOT] LIKE 'pat' | [NOT] ILIKE 'pat'
//!                      | [NOT] IN '(' item, ... ')' | [NOT] IN list
//!                      | [NOT] INTERSECTS '(' item, ... ')' | [NOT] INTERSECTS list
//!                      | [NOT] BETWEEN literal AND literal
//!                      | [NOT] GLOB 'pat'
//!                      | ~ 'regex' | ~* 'regex' | !~ 'regex' | !~* 'regex'
//!                      | IS [NOT] NULL | IS [NOT] TRUE | IS [NOT] FALSE ]
//!            | bool_function '(' operand ',' literal ')'
//!            | macro
//! operand   := field | function '(' operand ')' | literal
//! item      := literal | list
//! cmp       := = | == | != | <> | < | <= | > | >=
//! ```
//!
//! A bare boolean field (`toctou_mismatch`) means `toctou_mismatch = true`.
//! Value functions: `lower`, `upper`, `basename`, `length`/`len`, `b64decode`.
//! Boolean functions: `starts_with`, `ends_with`, `contains`, `icontains`,
//! `cidr_match` (IP in network(s)), `path_under` (path equals or lies under),
//! `regexp_like` (search).
//!
//! Macros and lists ([`Scope`]): a bare name that is not a field is a macro
//! (its condition, parenthesised); a bare name among the items of `IN`,
//! `INTERSECTS` or a list argument is a list (its items spliced in).
//!
//! Parentheses, `NOT` and macros nest at most [`MAX_NESTING`] levels deep
//! (each macro is one level, and the levels inside it count too), and a
//! condition holds at most [`MAX_NODES`] tests and operators once its macros
//! are expanded: the parser recurses, and so do the stages after it.

mod build;
mod lex;
mod values;

use build::{bool_function, compare, like, transform};
use lex::{Tok, Token, lex};

use crate::diag::suggest;
use crate::eval::{Program, expr_kind, glob_error};
use crate::field::{Field, Kind};
use crate::ir::{Cond, Expr, Literal, MAX_NESTING, MAX_NODES, Op, Rhs, Test, too_deep, too_large};

/// A parse error at a byte range of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset of the end (exclusive; at least start + 1 when drawn).
    pub end: usize,
    /// What is wrong.
    pub message: String,
    /// A hint.
    pub help: Option<String>,
}

/// Named macros and lists a condition may use.
pub trait Scope {
    /// The items of list `name` (nested lists already spliced in), if defined.
    fn list(&self, name: &str) -> Option<Vec<Literal>>;
    /// The condition of macro `name`, used at nesting level `depth` (the
    /// macro's own level) where the condition may still grow by `budget`
    /// nodes: `None` when undefined, `Some(Err(why))` when it is defined but
    /// unusable here (a cycle, errors in its condition, or nested too deeply
    /// or too large at this spot; the error's span is replaced by the use's).
    /// The [`Nested::levels`] of the result count from the macro's own level.
    fn macro_cond(
        &self,
        name: &str,
        depth: usize,
        budget: usize,
    ) -> Option<Result<Nested, SqlError>>;
    /// Every list and macro name, for suggestions.
    fn names(&self) -> Vec<String>;
}

/// No macros, no lists.
struct NoScope;

impl Scope for NoScope {
    fn list(&self, _: &str) -> Option<Vec<Literal>> {
        None
    }
    fn macro_cond(&self, _: &str, _: usize, _: usize) -> Option<Result<Nested, SqlError>> {
        None
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    src: &'a str,
    scope: &'a dyn Scope,
    /// The nesting level here (parentheses, NOTs and macros around this point).
    depth: usize,
    /// The deepest level reached.
    deepest: usize,
    /// Nodes so far (predicates and expanded macros), and the most allowed.
    nodes: usize,
    budget: usize,
}

/// The error for nesting deeper than [`MAX_NESTING`] at `start..end`.
pub fn too_deep_at(start: usize, end: usize) -> SqlError {
    SqlError {
        start,
        end: end.max(start + 1),
        message: too_deep(),
        help: Some(
            "flatten it (`a AND (b AND c)` is `a AND b AND c`); each macro also counts one level"
                .into(),
        ),
    }
}

/// Whether `e` is a limit error ([`too_deep`] or [`too_large`]) rather than a
/// mistake in the text where it was found.
pub fn is_limit(e: &SqlError) -> bool {
    e.message == too_deep() || e.message == too_large()
}

#[derive(Debug, Clone)]
enum Operand {
    Field(Expr, usize, usize),
    Lit(Literal, usize, usize),
}

impl Operand {
    fn span(&self) -> (usize, usize) {
        match self {
            Operand::Field(_, s, e) | Operand::Lit(_, s, e) => (*s, *e),
        }
    }
}

const KEYWORDS: [&str; 15] = [
    "and",
    "or",
    "not",
    "like",
    "ilike",
    "in",
    "is",
    "null",
    "between",
    "true",
    "false",
    "glob",
    "escape",
    "similar",
    "intersects",
];

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Int(i) => format!("{i}"),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::End => "the end of the condition".into(),
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }
    fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.peek().tok == Tok::Sym(leak(s)) {
            self.next();
            true
        } else {
            false
        }
    }
    fn error_here(&self, message: impl Into<String>) -> SqlError {
        let t = self.peek();
        SqlError {
            start: t.start,
            end: t.end.max(t.start + 1),
            message: message.into(),
            help: None,
        }
    }
    /// One nesting level deeper, at the token just read (`(` or `NOT`).
    fn enter(&mut self) -> Result<(), SqlError> {
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
        if self.depth > MAX_NESTING {
            let t = &self.toks[self.pos.saturating_sub(1)];
            return Err(too_deep_at(t.start, t.end));
        }
        Ok(())
    }
    /// `n` more nodes, at `start..end`.
    fn grow(&mut self, n: usize, start: usize, end: usize) -> Result<(), SqlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.budget {
            return Err(SqlError {
                start,
                end: end.max(start + 1),
                message: too_large(),
                help: Some("split the rule, or use fewer macros that use macros".into()),
            });
        }
        Ok(())
    }
    fn expect_sym(&mut self, s: &'static str) -> Result<(), SqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error_here(format!(
                "expected `{s}`, found {}",
                describe(&self.peek().tok)
            )))
        }
    }

    fn expr(&mut self) -> Result<Cond, SqlError> {
        let mut v = vec![self.and()?];
        while self.eat_kw("or") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Cond::Const(false))
        } else {
            Cond::Or(v)
        })
    }
    fn and(&mut self) -> Result<Cond, SqlError> {
        let mut v = vec![self.not()?];
        while self.eat_kw("and") {
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Cond::Const(true))
        } else {
            Cond::And(v)
        })
    }
    fn not(&mut self) -> Result<Cond, SqlError> {
        if self.eat_kw("not") {
            self.enter()?;
            let c = Cond::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(c);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Cond, SqlError> {
        let start = self.peek().start;
        if self.peek().tok == Tok::Sym("(") {
            // A parenthesised boolean expression (operands are never parenthesised).
            self.next();
            self.enter()?;
            let c = self.expr()?;
            self.expect_sym(")")?;
            self.depth -= 1;
            return Ok(c);
        }
        if let Tok::Ident(name) = &self.peek().tok
            && Field::parse(name).is_none()
            && !KEYWORDS.contains(&name.to_ascii_lowercase().as_str())
            && self
                .toks
                .get(self.pos + 1)
                .is_none_or(|t| t.tok != Tok::Sym("("))
            && let Some(m) =
                self.scope
                    .macro_cond(name, self.depth + 1, self.budget.saturating_sub(self.nodes))
        {
            let t = self.next();
            let m = m.map_err(|e| SqlError {
                start: t.start,
                end: t.end,
                ..e
            })?;
            self.deepest = self.deepest.max(self.depth + 1 + m.levels);
            self.grow(m.nodes, t.start, t.end)?;
            return Ok(m.cond);
        }
        self.leaf(start)
    }

    /// A predicate that is neither parenthesised nor a macro: a boolean
    /// function or a comparison. Kept out of [`Parser::predicate`] so that
    /// the frames of the recursion through parentheses stay small.
    #[inline(never)]
    fn leaf(&mut self, start: usize) -> Result<Cond, SqlError> {
        if let Tok::Ident(name) = &self.peek().tok
            && self
                .toks
                .get(self.pos + 1)
                .is_some_and(|t| t.tok == Tok::Sym("("))
            && let Some(op) = bool_function(name)
        {
            let name = name.clone();
            self.next();
            self.next();
            let lhs = self.operand()?;
            self.expect_sym(",")?;
            let rhs = self.literal_or_list()?;
            self.expect_sym(")")?;
            let end = self.toks[self.pos - 1].end;
            let (op, nocase) = op;
            let Operand::Field(e, ..) = lhs else {
                return Err(SqlError {
                    start,
                    end,
                    message: format!("the first argument of {name}() must be a field"),
                    help: None,
                });
            };
            return self.checked(
                Cond::Test(Test {
                    lhs: e,
                    op,
                    rhs: Rhs::Lit(rhs),
                    nocase,
                }),
                start,
                end,
            );
        }
        let lhs = self.operand()?;
        let negated = self.eat_kw("not");
        let t = self.peek().clone();
        let cond = match &t.tok {
            Tok::Sym(s @ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=")) if !negated => {
                self.next();
                let op = match *s {
                    "=" | "==" => Op::Eq,
                    "!=" | "<>" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                };
                let rhs = self.operand()?;
                compare(lhs, op, rhs)?
            }
            Tok::Sym(s @ ("~" | "~*" | "!~" | "!~*")) if !negated => {
                self.next();
                let pat = self.string()?;
                let e = self.field_of(&lhs)?;
                let c = Cond::Test(Test {
                    lhs: e,
                    op: Op::Regex { anchored: false },
                    rhs: Rhs::Lit(Literal::Str(pat)),
                    nocase: s.ends_with('*'),
                });
                if s.starts_with('!') {
                    Cond::Not(Box::new(c))
                } else {
                    c
                }
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("like") || k.eq_ignore_ascii_case("ilike") => {
                self.next();
                let nocase = k.eq_ignore_ascii_case("ilike");
                let pat = self.string()?;
                let e = self.field_of(&lhs)?;
                like(e, &pat, nocase)
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("glob") => {
                self.next();
                let at = self.peek().clone();
                let pat = self.string()?;
                if let Some(message) = glob_error(&pat) {
                    return Err(SqlError {
                        start: at.start,
                        end: at.end,
                        message,
                        help: None,
                    });
                }
                let e = self.field_of(&lhs)?;
                Cond::Test(Test {
                    lhs: e,
                    op: Op::Glob,
                    rhs: Rhs::Lit(Literal::Str(pat)),
                    nocase: false,
                })
            }
            Tok::Ident(k)
                if k.eq_ignore_ascii_case("in") || k.eq_ignore_ascii_case("intersects") =>
            {
                let op = if k.eq_ignore_ascii_case("in") {
                    Op::In
                } else {
                    Op::Intersects
                };
                self.next();
                let open = self.peek().start;
                let items = self.items()?;
                // A literal `()` (an empty named list is a user's choice).
                if items.is_empty()
                    && self.toks[self.pos - 1].tok == Tok::Sym(")")
                    && self.toks[self.pos - 2].tok == Tok::Sym("(")
                {
                    return Err(SqlError {
                        start: open,
                        end: self.toks[self.pos - 1].end,
                        message: format!(
                            "an empty list: `{} ()` never holds",
                            k.to_ascii_uppercase()
                        ),
                        help: Some("list at least one value".into()),
                    });
                }
                let e = self.field_of(&lhs)?;
                Cond::Test(Test {
                    lhs: e,
                    op,
                    rhs: Rhs::Lit(Literal::List(items)),
                    nocase: false,
                })
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("between") => {
                self.next();
                let lo = self.literal()?;
                if !self.eat_kw("and") {
                    return Err(self.error_here("expected AND in BETWEEN … AND …"));
                }
                let hi = self.literal()?;
                let e = self.field_of(&lhs)?;
                Cond::And(vec![
                    Cond::Test(Test {
                        lhs: e.clone(),
                        op: Op::Ge,
                        rhs: Rhs::Lit(lo),
                        nocase: false,
                    }),
                    Cond::Test(Test {
                        lhs: e,
                        op: Op::Le,
                        rhs: Rhs::Lit(hi),
                        nocase: false,
                    }),
                ])
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("is") && !negated => {
                self.next();
                let not = self.eat_kw("not");
                let e = self.field_of(&lhs)?;
                let c = if self.eat_kw("null") {
                    Cond::Not(Box::new(Cond::Exists(e)))
                } else if self.is_kw("true") || self.is_kw("false") {
                    let b = self.is_kw("true");
                    self.next();
                    Cond::Test(Test {
                        lhs: e,
                        op: Op::Eq,
                        rhs: Rhs::Lit(Literal::Bool(b)),
                        nocase: false,
                    })
                } else {
                    return Err(self.error_here(format!(
                        "expected NULL, TRUE or FALSE after IS, found {}",
                        describe(&self.peek().tok)
                    )));
                };
                if not { Cond::Not(Box::new(c)) } else { c }
            }
            _ if negated => {
                return Err(self.error_here(format!(
                    "expected LIKE, ILIKE, IN, INTERSECTS, BETWEEN or GLOB after NOT, found {}",
                    describe(&t.tok)
                )));
            }
            _ => {
                // A bare operand: must be a boolean field.
                match &lhs {
                    Operand::Field(e, s, en) if expr_kind(e) == Kind::Bool => Cond::Test(Test {
                        lhs: e.clone(),
                        op: Op::Eq,
                        rhs: Rhs::Lit(Literal::Bool(true)),
                        nocase: false,
                    })
                    .tap_span(*s, *en),
                    Operand::Lit(Literal::Bool(b), ..) => Cond::Const(*b),
                    _ => {
                        let (s, e) = lhs.span();
                        let mut err = SqlError {
                            start: s,
                            end: e,
                            message: format!(
                                "expected a comparison after `{}`, found {}",
                                &self.src[s..e],
                                describe(&t.tok)
                            ),
                            help: None,
                        };
                        if let Tok::Ident(word) = &t.tok {
                            if let Some(kw) = suggest(&word.to_ascii_lowercase(), KEYWORDS) {
                                err = SqlError {
                                    start: t.start,
                                    end: t.end,
                                    message: format!("unexpected {}", describe(&t.tok)),
                                    help: Some(format!(
                                        "did you mean `{}`?",
                                        kw.to_ascii_uppercase()
                                    )),
                                };
                            }
                        } else if t.tok == Tok::End {
                            err.help =
                                Some("add an operator such as `= 'value'` or `IS NOT NULL`".into());
                        }
                        return Err(err);
                    }
                }
            }
        };
        let end = self.toks[self.pos.saturating_sub(1)].end;
        let cond = if negated {
            Cond::Not(Box::new(cond))
        } else {
            cond
        };
        self.checked(cond, start, end)
    }

    /// Type-checks one predicate now, so errors point at it.
    fn checked(&mut self, c: Cond, start: usize, end: usize) -> Result<Cond, SqlError> {
        self.grow(1, start, end)?;
        values::check(&c, self.src, start, end)?;
        match Program::compile(&c) {
            Ok(_) => Ok(c),
            Err(e) => Err(SqlError {
                start,
                end,
                message: e.message,
                help: None,
            }),
        }
    }

    fn field_of(&self, o: &Operand) -> Result<Expr, SqlError> {
        match o {
            Operand::Field(e, ..) => Ok(e.clone()),
            Operand::Lit(_, s, e) => Err(SqlError {
                start: *s,
                end: *e,
                message: "expected a field name here, not a literal".into(),
                help: None,
            }),
        }
    }

    fn string(&mut self) -> Result<String, SqlError> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.next();
                Ok(s)
            }
            t => Err(self.error_here(format!("expected a 'string', found {}", describe(&t)))),
        }
    }

    fn literal(&mut self) -> Result<Literal, SqlError> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.next();
                Ok(Literal::Str(s))
            }
            Tok::Int(i) => {
                self.next();
                Ok(Literal::Int(i))
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("true") || k.eq_ignore_ascii_case("false") => {
                self.next();
                Ok(Literal::Bool(k.eq_ignore_ascii_case("true")))
            }
            t => Err(self.error_here(format!(
                "expected a literal ('string', number, TRUE or FALSE), found {}",
                describe(&t)
            ))),
        }
    }

    fn literal_or_list(&mut self) -> Result<Literal, SqlError> {
        if self.peek().tok == Tok::Sym("(") || self.list_name().is_some() {
            return Ok(Literal::List(self.items()?));
        }
        self.literal()
    }

    /// A list name here, if the next token is one (not `true`/`false`).
    fn list_name(&self) -> Option<String> {
        match &self.peek().tok {
            Tok::Ident(k)
                if !k.eq_ignore_ascii_case("true") && !k.eq_ignore_ascii_case("false") =>
            {
                Some(k.clone())
            }
            _ => None,
        }
    }

    /// One item of a list: a literal, or a list's name (its items).
    fn item(&mut self, out: &mut Vec<Literal>) -> Result<(), SqlError> {
        let Some(name) = self.list_name() else {
            out.push(self.literal()?);
            return Ok(());
        };
        match self.scope.list(&name) {
            Some(items) => {
                self.next();
                out.extend(items);
                Ok(())
            }
            None => {
                let mut e = self.error_here(format!("unknown list `{name}`"));
                let names = self.scope.names();
                e.help = Some(match suggest(&name, names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "define it with `- list: NAME` and `items: [...]`, or quote a string".into()
                    }
                });
                Err(e)
            }
        }
    }

    /// `'(' item, ... ')'` or a bare list name.
    fn items(&mut self) -> Result<Vec<Literal>, SqlError> {
        let mut items = Vec::new();
        if !self.eat_sym("(") {
            if self.list_name().is_none() {
                return Err(self.error_here(format!(
                    "expected `(` or a list name, found {}",
                    describe(&self.peek().tok)
                )));
            }
            self.item(&mut items)?;
            return Ok(items);
        }
        if !self.eat_sym(")") {
            loop {
                self.item(&mut items)?;
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(items)
    }

    fn operand(&mut self) -> Result<Operand, SqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Str(_) | Tok::Int(_) => Ok(Operand::Lit(self.literal()?, t.start, t.end)),
            Tok::Ident(k) if k.eq_ignore_ascii_case("true") || k.eq_ignore_ascii_case("false") => {
                Ok(Operand::Lit(self.literal()?, t.start, t.end))
            }
            Tok::Ident(k) if k.eq_ignore_ascii_case("null") => Err(SqlError {
                start: t.start,
                end: t.end,
                message: "compare with NULL using IS NULL / IS NOT NULL".into(),
                help: None,
            }),
            Tok::Ident(name) => {
                self.next();
                if self.peek().tok == Tok::Sym("(") {
                    let Some(tr) = transform(name) else {
                        let names = [
                            "lower",
                            "upper",
                            "basename",
                            "length",
                            "b64decode",
                            "starts_with",
                            "ends_with",
                            "contains",
                            "icontains",
                            "cidr_match",
                            "path_under",
                            "regexp_like",
                        ];
                        let mut e = SqlError {
                            start: t.start,
                            end: t.end,
                            message: format!("unknown function `{name}`"),
                            help: None,
                        };
                        if let Some(s) = suggest(&name.to_ascii_lowercase(), names) {
                            e.help = Some(format!("did you mean `{s}`?"));
                        }
                        return Err(e);
                    };
                    self.next();
                    // A function call nests one level, as parentheses do.
                    self.enter()?;
                    let inner = self.operand()?;
                    self.expect_sym(")")?;
                    self.depth -= 1;
                    let end = self.toks[self.pos - 1].end;
                    let Operand::Field(mut e, ..) = inner else {
                        return Err(SqlError {
                            start: t.start,
                            end,
                            message: format!("{name}() needs a field"),
                            help: None,
                        });
                    };
                    e.transforms.push(tr);
                    return Ok(Operand::Field(e, t.start, end));
                }
                match Field::parse(name) {
                    Some(f) => Ok(Operand::Field(Expr::field(f), t.start, t.end)),
                    None => {
                        let defs = self.scope.names();
                        let what = if defs.is_empty() {
                            "field"
                        } else {
                            "field or macro"
                        };
                        let mut names = Field::all_names();
                        names.extend(defs);
                        let mut e = SqlError {
                            start: t.start,
                            end: t.end,
                            message: format!("unknown {what} `{name}`"),
                            help: None,
                        };
                        if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
                            e.help = Some(format!("did you mean `{s}`?"));
                        } else {
                            e.help = Some(
                                "every field is listed in the book: Replaying rules, Fields".into(),
                            );
                        }
                        Err(e)
                    }
                }
            }
            other => Err(self.error_here(format!(
                "expected a field or a literal, found {}",
                describe(other)
            ))),
        }
    }
}

trait TapSpan {
    fn tap_span(self, s: usize, e: usize) -> Self;
}
impl TapSpan for Cond {
    fn tap_span(self, _s: usize, _e: usize) -> Self {
        self
    }
}

fn leak(s: &str) -> &'static str {
    const ALL: [&str; 16] = [
        "!~*", "<=", ">=", "<>", "!=", "==", "~*", "!~", "=", "<", ">", "(", ")", ",", "~", "*",
    ];
    ALL.iter().find(|x| **x == s).copied().unwrap_or("")
}

/// Parses a whole condition (no macros or lists).
pub fn parse(src: &str) -> Result<Cond, SqlError> {
    parse_with(src, &NoScope)
}

/// Parses a whole condition that may use the macros and lists of `scope`.
pub fn parse_with(src: &str, scope: &dyn Scope) -> Result<Cond, SqlError> {
    parse_nested(src, scope, 0, MAX_NODES).map(|p| p.cond)
}

/// A condition parsed by [`parse_nested`].
#[derive(Debug, Clone)]
pub struct Nested {
    /// The condition.
    pub cond: Cond,
    /// How many levels it nests below the level it was parsed at.
    pub levels: usize,
    /// Its nodes ([`Cond::shape`]).
    pub nodes: usize,
}

/// [`parse_with`] for a condition that starts `depth` levels deep (a macro's
/// condition, at the level of its use) and may hold at most `budget` nodes.
pub fn parse_nested(
    src: &str,
    scope: &dyn Scope,
    depth: usize,
    budget: usize,
) -> Result<Nested, SqlError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        src,
        scope,
        depth,
        deepest: depth,
        nodes: 0,
        budget,
    };
    if p.peek().tok == Tok::End {
        return Err(SqlError {
            start: 0,
            end: 1,
            message: "empty condition".into(),
            help: None,
        });
    }
    let c = p.expr()?;
    if p.peek().tok != Tok::End {
        let t = p.peek().clone();
        let mut e = p.error_here(format!(
            "unexpected {} after a complete condition",
            describe(&t.tok)
        ));
        if let Tok::Ident(w) = &t.tok
            && let Some(kw) = suggest(&w.to_ascii_lowercase(), ["and", "or"])
        {
            e.help = Some(format!("did you mean `{}`?", kw.to_ascii_uppercase()));
        } else if t.tok == Tok::Sym(")") {
            e.help = Some("this `)` has no matching `(`".into());
        } else {
            e.help = Some("join conditions with AND or OR".into());
        }
        return Err(e);
    }
    let nodes = c.shape().1;
    Ok(Nested {
        cond: c,
        levels: p.deepest - depth,
        nodes,
    })
}

/// Parses an output template: `%field` or `{field}` (also `%lower(field)` is not
/// supported; use a plain field). `%%` is a literal `%`.
pub fn template(src: &str) -> Result<Vec<crate::ir::Part>, SqlError> {
    use crate::ir::Part;
    let mut parts = Vec::new();
    let mut text = String::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (name_start, name_end, next) = if c == b'%' && b.get(i + 1) == Some(&b'%') {
            text.push('%');
            i += 2;
            continue;
        } else if c == b'%' && b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
            let s = i + 1;
            let mut e = s;
            while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                e += 1;
            }
            if b.get(e) == Some(&b'[')
                && let Some(close) = src[e..].find(']')
            {
                e += close + 1;
            }
            (s, e, e)
        } else if c == b'{' {
            let Some(close) = src[i..].find('}') else {
                return Err(SqlError {
                    start: i,
                    end: i + 1,
                    message: "unclosed `{` in output".into(),
                    help: Some("write `{field}`".into()),
                });
            };
            (i + 1, i + close, i + close + 1)
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            text.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let name = src[name_start..name_end].trim();
        let Some(f) = Field::parse(name) else {
            let names = Field::all_names();
            let mut e = SqlError {
                start: name_start,
                end: name_end,
                message: format!("unknown field `{name}` in output"),
                help: None,
            };
            if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
                e.help = Some(format!("did you mean `{s}`?"));
            }
            return Err(e);
        };
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(Part::Field(Expr::field(f)));
        i = next;
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Col, ProcField};
    use crate::ir::Transform;

    #[test]
    fn parses_the_issue_example() {
        let c = parse("syscall = 'openat' AND file_path LIKE '/etc/%' AND NOT proc_exe IN ('/usr/sbin/useradd')").unwrap();
        let Cond::And(v) = c else { panic!("{c:?}") };
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[1],
            Cond::test(
                Field::Column(Col::FilePath),
                Op::StartsWith,
                Literal::Str("/etc/".into())
            )
        );
        assert!(matches!(&v[2], Cond::Not(_)));
    }

    #[test]
    fn functions_and_null() {
        let c = parse(
            "lower(basename(proc_exe)) = 'sh' and parent_exe is not null and ret between 0 and 10",
        )
        .unwrap();
        let Cond::And(v) = c else { panic!() };
        let Cond::Test(t) = &v[0] else { panic!() };
        assert_eq!(t.lhs.field, Field::Proc(ProcField::Exe));
        assert_eq!(
            t.lhs.transforms,
            vec![Transform::Basename, Transform::ToLower]
        );
    }

    #[test]
    fn errors_point_at_the_spot() {
        let e = parse("proc_exee = 'x'").unwrap_err();
        assert_eq!((e.start, e.end), (0, 9));
        assert_eq!(e.help.as_deref(), Some("did you mean `proc_exe`?"));
        let e = parse("syscall = 'read' adn ret = 0").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `AND`?"));
        let e = parse("ret = 'abc'").unwrap_err();
        assert!(e.message.contains("integer"), "{e:?}");
        let e = parse("(syscall = 'read'").unwrap_err();
        assert!(e.message.contains("expected `)`"), "{e:?}");
    }

    #[test]
    fn like_shapes() {
        let e = || Expr::field(Field::Column(Col::FilePath));
        assert!(matches!(
            like(e(), "%x%", false),
            Cond::Test(Test {
                op: Op::Contains,
                ..
            })
        ));
        assert!(matches!(
            like(e(), "%x", false),
            Cond::Test(Test {
                op: Op::EndsWith,
                ..
            })
        ));
        assert!(matches!(
            like(e(), "a_b%", false),
            Cond::Test(Test {
                op: Op::Regex { anchored: true },
                ..
            })
        ));
    }

    #[test]
    fn templates() {
        let t = template("%proc_exe read {file_path} 100%%").unwrap();
        assert_eq!(t.len(), 4);
        assert!(template("%proc_exx").is_err());
    }
}
