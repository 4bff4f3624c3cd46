//! Conditions compiled to a flat-ish tree of specialised matchers.
//!
//! [`Program::compile`] resolves everything that does not depend on the
//! event once: literal types are converted to the field's kind, lists become
//! sorted sets, globs and regexes are compiled, needles lower-cased for
//! case-insensitive tests. [`Program::eval`] then reads fields straight from
//! the event and the state without allocating (except for transformers that
//! change a string).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::hash::BuildHasherDefault;
use std::net::IpAddr;

use hindsight_format::EventKind;

use crate::field::{Col, Field, Kind, ProcField};
use crate::intern::StrHasher;
use crate::ir::{Cond, Expr, Literal, Op, Rhs, Test, Transform};
use crate::value::{Ctx, Value, any_value, expr_single, proc_field, row_column, single, transform};

/// A condition that cannot be compiled (type mismatch, bad regex, bad CIDR…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// What is wrong, naming the field and operator.
    pub message: String,
}

fn err<T>(message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        message: message.into(),
    })
}

/// A set of strings: linear for a few, hashed for many.
#[derive(Debug, Clone)]
struct StrSet {
    items: Vec<Box<str>>,
    hashed: Option<HashSet<Box<str>, BuildHasherDefault<StrHasher>>>,
}

impl StrSet {
    fn new(mut v: Vec<Box<str>>) -> StrSet {
        v.sort();
        v.dedup();
        let hashed = (v.len() > 8).then(|| v.iter().cloned().collect());
        StrSet { items: v, hashed }
    }
    fn len(&self) -> usize {
        self.items.len()
    }
    fn contains(&self, s: &str) -> bool {
        match &self.hashed {
            Some(h) => h.contains(s),
            None => self.items.iter().any(|x| &**x == s),
        }
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    StrCmp(Op, Box<str>, bool),
    IntCmp(Op, i64),
    BoolEq(bool, bool),
    Contains(Box<str>, bool),
    StartsWith(Box<str>, bool),
    EndsWith(Box<str>, bool),
    BContains(Vec<u8>),
    BStartsWith(Vec<u8>),
    Regex(regex::Regex),
    PMatch(Vec<Box<str>>, bool),
    InStr(StrSet, bool),
    InInt(Vec<i64>),
    Cidr(Vec<(IpAddr, u8)>),
}

#[derive(Debug, Clone)]
enum Node {
    Const(bool),
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Exists(Expr),
    Test(Expr, Matcher),
    FieldCmp(Expr, Op, Expr, bool),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Program {
    root: Node,
}

fn ord_holds(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        _ => false,
    }
}

fn cmp_nocase(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

fn contains_nocase(hay: &str, needle_lower: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn starts_nocase(hay: &str, p: &str) -> bool {
    hay.len() >= p.len() && hay.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

fn ends_nocase(hay: &str, p: &str) -> bool {
    hay.len() >= p.len() && hay.as_bytes()[hay.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
}

fn pmatch(v: &str, prefix: &str, nocase: bool) -> bool {
    let p = prefix.strip_suffix('/').unwrap_or(prefix);
    let starts = if nocase {
        starts_nocase(v, p)
    } else {
        v.starts_with(p)
    };
    starts && (v.len() == p.len() || v.as_bytes()[p.len()] == b'/' || p.is_empty())
}

/// Whether `n` occurs in `h`: scans for the needle's first byte and compares
/// the rest there. For the short values and needles rules test (paths,
/// command lines), this beats `str::contains`, which sets up a two-way
/// searcher on every call.
fn bytes_contains(h: &[u8], n: &[u8]) -> bool {
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if h.len() < n.len() {
        return false;
    }
    let starts = &h[..=h.len() - n.len()];
    let mut from = 0;
    while let Some(p) = find_byte(&starts[from..], first) {
        let at = from + p;
        // Byte by byte: most candidates differ at once, and a slice
        // comparison calls `memcmp` for the few bytes of a needle.
        if h[at + 1..at + n.len()]
            .iter()
            .zip(rest)
            .all(|(a, b)| a == b)
        {
            return true;
        }
        from = at + 1;
    }
    false
}

/// The first position of `b` in `h`, eight bytes per step (the classic
/// zero-byte test on `word ^ b repeated`: its lowest set bit is exact).
#[inline]
fn find_byte(h: &[u8], b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let rep = u64::from(b).wrapping_mul(LO);
    let mut chunks = h.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or_default()) ^ rep;
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return Some(at + (z.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|p| at + p)
}

impl Matcher {
    fn matches(&self, v: &Value<'_>) -> bool {
        let owned;
        let s: &str = match v {
            Value::Null | Value::List(_) => return false,
            Value::Int(i) => match self {
                Matcher::IntCmp(op, lit) => return ord_holds(*op, i.cmp(lit)),
                Matcher::InInt(set) => return in_ints(set, *i),
                _ => {
                    owned = i.to_string();
                    &owned
                }
            },
            Value::Bool(b) => match self {
                Matcher::BoolEq(lit, ne) => return (b == lit) != *ne,
                _ => {
                    owned = b.to_string();
                    &owned
                }
            },
            Value::Str(s) => s,
        };
        match self {
            Matcher::StrCmp(op, lit, nc) => {
                ord_holds(*op, if *nc { cmp_nocase(s, lit) } else { s.cmp(lit) })
            }
            Matcher::IntCmp(op, lit) => s
                .trim()
                .parse::<i64>()
                .is_ok_and(|i| ord_holds(*op, i.cmp(lit))),
            Matcher::InInt(set) => s.trim().parse::<i64>().is_ok_and(|i| in_ints(set, i)),
            Matcher::BoolEq(lit, ne) => (s == if *lit { "true" } else { "false" }) != *ne,
            Matcher::Contains(n, nc) => {
                if *nc {
                    contains_nocase(s, n)
                } else {
                    bytes_contains(s.as_bytes(), n.as_bytes())
                }
            }
            Matcher::StartsWith(n, nc) => {
                if *nc {
                    starts_nocase(s, n)
                } else {
                    s.starts_with(&**n)
                }
            }
            Matcher::EndsWith(n, nc) => {
                if *nc {
                    ends_nocase(s, n)
                } else {
                    s.ends_with(&**n)
                }
            }
            Matcher::BContains(n) => bytes_contains(s.as_bytes(), n),
            Matcher::BStartsWith(n) => s.as_bytes().starts_with(n),
            Matcher::Regex(re) => re.is_match(s),
            Matcher::PMatch(list, nc) => list.iter().any(|p| pmatch(s, p, *nc)),
            Matcher::InStr(set, nc) => {
                if *nc && s.bytes().any(|b| b.is_ascii_uppercase()) {
                    set.contains(&s.to_ascii_lowercase())
                } else {
                    set.contains(s)
                }
            }
            Matcher::Cidr(nets) => s
                .parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|(n, len)| in_net(ip, *n, *len))),
        }
    }
}

/// Membership in a sorted, deduplicated list.
fn in_ints(set: &[i64], i: i64) -> bool {
    if set.len() <= 8 {
        set.contains(&i)
    } else {
        set.binary_search(&i).is_ok()
    }
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_net(IpAddr::V4(a), net, len)),
        _ => false,
    }
}

/// Translates a glob (falcosecurity/libs semantics) into an anchored regex.
pub fn glob_to_regex(glob: &str, nocase: bool) -> String {
    let mut re = String::from(if nocase { "(?is)^" } else { "(?s)^" });
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            '[' => {
                let mut class = String::from("[");
                if matches!(chars.peek(), Some('!') | Some('^')) {
                    chars.next();
                    class.push('^');
                }
                let mut closed = false;
                let mut first = true;
                for n in chars.by_ref() {
                    if n == ']' && !first {
                        closed = true;
                        break;
                    }
                    first = false;
                    match n {
                        '\\' | '[' | '&' | '~' => {
                            class.push('\\');
                            class.push(n);
                        }
                        _ => class.push(n),
                    }
                }
                if closed {
                    re.push_str(&class);
                    re.push(']');
                } else {
                    re.push_str(&regex::escape("["));
                    re.push_str(&regex::escape(&class[1..]));
                }
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

/// Why `glob` is not a well-formed glob, where [`glob_to_regex`] would read
/// it in a way its author probably did not mean: a `[` class that is never
/// closed (matched as a literal `[`) or a `\\` at the end (dropped). The
/// query language's `path_match` rejects both.
pub fn glob_error(glob: &str) -> Option<String> {
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => {
                return Some(format!(
                    "glob `{glob}` ends with a lone `\\` (write `\\\\` for a backslash)"
                ));
            }
            '[' => {
                if matches!(chars.peek(), Some('!') | Some('^')) {
                    chars.next();
                }
                let mut first = true;
                let closed = chars.by_ref().any(|n| {
                    let end = n == ']' && !first;
                    first = false;
                    end
                });
                if !closed {
                    return Some(format!(
                        "unclosed `[` in glob `{glob}` (write `\\[` for a literal `[`)"
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// An expression as a rule would write it: `len(basename(proc_exe))`.
fn expr_text(e: &Expr) -> String {
    let mut s = e.field.to_string();
    for t in &e.transforms {
        s = format!("{}({s})", t.as_str());
    }
    s
}

fn lit_str(l: &Literal) -> Option<String> {
    match l {
        Literal::Str(s) => Some(s.clone()),
        Literal::Int(i) => Some(i.to_string()),
        Literal::Bool(b) => Some(b.to_string()),
        Literal::Bytes(b) => String::from_utf8(b.clone()).ok(),
        Literal::List(_) => None,
    }
}

fn lit_list(l: &Literal) -> Vec<&Literal> {
    match l {
        Literal::List(v) => v.iter().collect(),
        other => vec![other],
    }
}

/// The kind of an expression's value after its transformers.
pub fn expr_kind(e: &Expr) -> Kind {
    let mut k = e.field.kind();
    for t in &e.transforms {
        k = match t {
            Transform::Len => Kind::Int,
            Transform::CapNames => Kind::Str,
            _ => k,
        };
    }
    k
}

fn compile_test(t: &Test) -> Result<Node, CompileError> {
    // Named as written, transformers included: `len(proc_exe)` is an
    // integer, `proc_exe` is not.
    let field = &expr_text(&t.lhs);
    let kind = expr_kind(&t.lhs);
    let nc = t.nocase;
    let lit = match &t.rhs {
        Rhs::Field(rhs) => {
            if !matches!(
                t.op,
                Op::Eq
                    | Op::Ne
                    | Op::Lt
                    | Op::Le
                    | Op::Gt
                    | Op::Ge
                    | Op::Contains
                    | Op::StartsWith
                    | Op::EndsWith
            ) {
                return err(format!(
                    "`{}` cannot compare `{field}` with another field",
                    t.op.as_str()
                ));
            }
            return Ok(Node::FieldCmp(t.lhs.clone(), t.op, rhs.clone(), nc));
        }
        Rhs::Lit(l) => l,
    };
    let need_str = |what: &str| {
        lit_str(lit).ok_or_else(|| CompileError {
            message: format!(
                "`{field} {}` needs a single {what}, not a list",
                t.op.as_str()
            ),
        })
    };
    let fold = |s: String| if nc { s.to_ascii_lowercase() } else { s };
    let m = match t.op {
        Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => match kind {
            Kind::Int => match lit {
                Literal::Int(i) => Matcher::IntCmp(t.op, *i),
                Literal::Str(s) => match s.trim().parse::<i64>() {
                    Ok(i) => Matcher::IntCmp(t.op, i),
                    Err(_) => return err(format!("`{field}` is an integer; `{s}` is not")),
                },
                Literal::Bool(b) => Matcher::IntCmp(t.op, i64::from(*b)),
                _ => {
                    return err(format!(
                        "`{field}` is an integer; cannot compare it with a list or bytes"
                    ));
                }
            },
            Kind::Bool => {
                let b = match lit {
                    Literal::Bool(b) => *b,
                    Literal::Str(s) if s.eq_ignore_ascii_case("true") => true,
                    Literal::Str(s) if s.eq_ignore_ascii_case("false") => false,
                    Literal::Int(1) => true,
                    Literal::Int(0) => false,
                    _ => {
                        return err(format!(
                            "`{field}` is a boolean; compare it with true or false"
                        ));
                    }
                };
                match t.op {
                    Op::Eq => Matcher::BoolEq(b, false),
                    Op::Ne => Matcher::BoolEq(b, true),
                    _ => return err(format!("`{field}` is a boolean; only = and != apply")),
                }
            }
            Kind::Str | Kind::StrList => Matcher::StrCmp(t.op, need_str("value")?.into(), nc),
        },
        Op::Contains => Matcher::Contains(fold(need_str("string")?).into(), nc),
        Op::StartsWith => Matcher::StartsWith(fold(need_str("string")?).into(), nc),
        Op::EndsWith => Matcher::EndsWith(fold(need_str("string")?).into(), nc),
        Op::BContains | Op::BStartsWith => {
            let bytes = match lit {
                Literal::Bytes(b) => b.clone(),
                Literal::Str(s) => s.as_bytes().to_vec(),
                _ => return err(format!("`{}` needs a byte string", t.op.as_str())),
            };
            if t.op == Op::BContains {
                Matcher::BContains(bytes)
            } else {
                Matcher::BStartsWith(bytes)
            }
        }
        Op::Glob => {
            let g = need_str("pattern")?;
            Matcher::Regex(
                regex::Regex::new(&glob_to_regex(&g, nc)).map_err(|e| CompileError {
                    message: format!("bad glob `{g}`: {e}"),
                })?,
            )
        }
        Op::Regex { anchored } => {
            let p = need_str("pattern")?;
            let full = match (anchored, nc) {
                (true, true) => format!("(?i)^(?:{p})$"),
                (true, false) => format!("^(?:{p})$"),
                (false, true) => format!("(?i){p}"),
                (false, false) => p.clone(),
            };
            Matcher::Regex(regex::Regex::new(&full).map_err(|e| CompileError {
                message: format!(
                    "bad regular expression `{p}`: {}",
                    e.to_string().lines().last().unwrap_or("invalid").trim_start_matches("error: ")
                ),
            })?)
        }
        Op::PMatch => {
            let list: Option<Vec<Box<str>>> = lit_list(lit)
                .into_iter()
                .map(|l| lit_str(l).map(|s| fold(s).into()))
                .collect();
            Matcher::PMatch(
                list.ok_or_else(|| CompileError {
                    message: "pmatch needs a list of paths".into(),
                })?,
                nc,
            )
        }
        Op::In | Op::Intersects => {
            let items = lit_list(lit);
            if kind == Kind::Int {
                let mut v = Vec::new();
                for l in items {
                    match l {
                        Literal::Int(i) => v.push(*i),
                        Literal::Str(s) => match s.trim().parse() {
                            Ok(i) => v.push(i),
                            Err(_) => {
                                return err(format!(
                                    "`{field}` is an integer; `{s}` in the list is not"
                                ));
                            }
                        },
                        _ => {
                            return err(format!(
                                "`{field}` is an integer; the list holds something else"
                            ));
                        }
                    }
                }
                v.sort_unstable();
                v.dedup();
                Matcher::InInt(v)
            } else {
                let v: Option<Vec<Box<str>>> = items
                    .into_iter()
                    .map(|l| lit_str(l).map(|s| fold(s).into()))
                    .collect();
                Matcher::InStr(
                    StrSet::new(v.ok_or_else(|| CompileError {
                        message: "nested lists are not allowed".into(),
                    })?),
                    nc,
                )
            }
        }
        Op::Cidr => {
            let mut nets = Vec::new();
            for l in lit_list(lit) {
                let s = lit_str(l).unwrap_or_default();
                let (addr, len) = s.split_once('/').unwrap_or((&s, ""));
                let ip: IpAddr = addr.trim().parse().map_err(|_| CompileError {
                    message: format!("bad network `{s}`"),
                })?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let len: u8 = if len.is_empty() {
                    max
                } else {
                    len.parse().map_err(|_| CompileError {
                        message: format!("bad prefix length in `{s}`"),
                    })?
                };
                if len > max {
                    return err(format!("prefix length {len} is too long in `{s}`"));
                }
                nets.push((ip, len));
            }
            Matcher::Cidr(nets)
        }
    };
    Ok(Node::Test(t.lhs.clone(), m))
}

fn compile_node(c: &Cond) -> Result<Node, CompileError> {
    Ok(match c {
        Cond::Const(b) => Node::Const(*b),
        Cond::And(v) => and(v.iter().map(compile_node).collect::<Result<_, _>>()?),
        Cond::Or(v) => or(v.iter().map(compile_node).collect::<Result<_, _>>()?),
        Cond::Not(c) => not(compile_node(c)?),
        Cond::Exists(e) => Node::Exists(e.clone()),
        Cond::Test(t) => compile_test(t)?,
    })
}

/// A conjunction, folded: constants drop out or decide it, nested
/// conjunctions are flattened, and cheap tests likely to decide it run
/// first (evaluation is pure, so the order changes the cost, never the
/// result).
fn and(nodes: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        match n {
            Node::Const(false) => return Node::Const(false),
            Node::Const(true) => {}
            Node::And(inner) => out.extend(inner.into_vec()),
            n => out.push(n),
        }
    }
    match out.len() {
        0 => Node::Const(true),
        1 => out.pop().unwrap_or(Node::Const(true)),
        _ => {
            // Cheap tests that are likely false first: cost / P(false).
            out.sort_by_cached_key(|n| rank(cost(n), 1.0 - chance(n)));
            Node::And(out.into())
        }
    }
}

/// A disjunction, folded like [`and`].
fn or(nodes: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        match n {
            Node::Const(true) => return Node::Const(true),
            Node::Const(false) => {}
            Node::Or(inner) => out.extend(inner.into_vec()),
            n => out.push(n),
        }
    }
    match out.len() {
        0 => Node::Const(false),
        1 => out.pop().unwrap_or(Node::Const(false)),
        _ => {
            // Cheap tests that are likely true first: cost / P(true).
            out.sort_by_cached_key(|n| rank(cost(n), chance(n)));
            Node::Or(out.into())
        }
    }
}

fn not(n: Node) -> Node {
    match n {
        Node::Const(b) => Node::Const(!b),
        Node::Not(inner) => *inner,
        n => Node::Not(Box::new(n)),
    }
}

/// The order key of a child that costs `cost` and ends the evaluation of
/// its conjunction or disjunction with probability `decides`.
fn rank(cost: u32, decides: f64) -> u64 {
    (f64::from(cost) / decides.max(0.01) * 1000.0) as u64
}

/// A rough prior probability that `n` holds: tests of a value against
/// literals rarely do (rules look for the unusual), `!=` and presence
/// usually do, exceptions (`not …`) nearly always do. The gap matters: a
/// rule's one selective test must run before its dozen exceptions, which
/// hardly ever decide it (with `= literal` at 0.1 against `not` at 0.9,
/// Falco's open rules ran every exception on every open first).
fn chance(n: &Node) -> f64 {
    match n {
        Node::Const(b) => f64::from(u8::from(*b)),
        Node::And(v) => v.iter().map(chance).product(),
        Node::Or(v) => 1.0 - v.iter().map(|n| 1.0 - chance(n)).product::<f64>(),
        Node::Not(n) => 1.0 - chance(n),
        Node::Exists(_) => 0.9,
        Node::FieldCmp(..) => 0.5,
        Node::Test(_, m) => match m {
            Matcher::StrCmp(Op::Ne, ..) | Matcher::IntCmp(Op::Ne, _) => 0.9,
            Matcher::StrCmp(Op::Eq, ..) | Matcher::IntCmp(Op::Eq, _) => 0.02,
            Matcher::StrCmp(..) | Matcher::IntCmp(..) | Matcher::BoolEq(..) => 0.5,
            _ => 0.02,
        },
    }
}

/// A rough cost of reading a field (arbitrary units, ~ nanoseconds).
fn field_cost(f: &Field) -> u32 {
    use crate::field::FdField;
    let proc = |p: &ProcField| match p {
        ProcField::CommandLine => 30,
        ProcField::LoginName | ProcField::ExeFromMemfd => 4,
        _ => 2,
    };
    match f {
        Field::Column(c) if *c == Col::ProcessArgs => 8,
        Field::Column(_) => 1,
        Field::Proc(p) => proc(p),
        Field::Parent(p) => 8 + proc(p),
        Field::Ancestor(n, p) => 8 * u32::from(*n) + proc(p),
        Field::Ancestors(p) => 60 + 8 * proc(p),
        Field::Fd(FdField::Num) => 1,
        Field::Fd(_) => 12,
        Field::SyscallArg(_) => 12,
        Field::UserArg(_) | Field::GroupArg(_) => 16,
        Field::ArgvAt(_) => 2,
    }
}

fn expr_cost(e: &Expr) -> u32 {
    let t: u32 = e
        .transforms
        .iter()
        .map(|t| match t {
            Transform::B64 | Transform::CapNames => 30,
            _ => 3,
        })
        .sum();
    field_cost(&e.field) + t
}

fn matcher_cost(m: &Matcher) -> u32 {
    match m {
        Matcher::StrCmp(..) | Matcher::IntCmp(..) | Matcher::BoolEq(..) | Matcher::InInt(_) => 1,
        Matcher::StartsWith(..) | Matcher::EndsWith(..) | Matcher::BStartsWith(_) => 1,
        Matcher::Contains(..) | Matcher::BContains(_) => 4,
        Matcher::InStr(set, _) => 2 + u32::from(set.len() > 8) * 4,
        Matcher::PMatch(list, _) => 1 + list.len() as u32,
        Matcher::Cidr(nets) => 10 + nets.len() as u32,
        Matcher::Regex(_) => 25,
    }
}

/// An estimate of what evaluating `n` costs at most, to order conjunctions
/// and disjunctions cheapest first.
fn cost(n: &Node) -> u32 {
    match n {
        Node::Const(_) => 0,
        Node::And(v) | Node::Or(v) => v.iter().map(cost).fold(0, u32::saturating_add),
        Node::Not(n) => cost(n),
        Node::Exists(e) => expr_cost(e),
        Node::Test(e, m) => expr_cost(e) + matcher_cost(m),
        Node::FieldCmp(l, _, r, _) => expr_cost(l) + expr_cost(r) + 2,
    }
}

/// What is known of every event a specialised program will see.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// The event kind.
    pub kind: EventKind,
    /// The syscall column: `Some(value)` when known (`Some(None)`: null),
    /// `None` when any.
    pub syscall: Option<Option<&'a str>>,
}

impl Known<'_> {
    /// The value of `field` on every such event, when known.
    fn value(&self, field: &Field) -> Option<Value<'static>> {
        match field {
            Field::Column(Col::EventKind) => Some(Value::Str(Cow::Borrowed(self.kind.as_str()))),
            Field::Column(Col::Syscall) => self
                .syscall
                .map(|s| s.map_or(Value::Null, |s| Value::Str(Cow::Owned(s.to_string())))),
            _ => None,
        }
    }
}

/// `n` with every test on a known field decided, then folded again.
fn specialize(n: &Node, k: &Known<'_>) -> Node {
    match n {
        Node::Const(b) => Node::Const(*b),
        Node::And(v) => and(v.iter().map(|n| specialize(n, k)).collect()),
        Node::Or(v) => or(v.iter().map(|n| specialize(n, k)).collect()),
        Node::Not(n) => not(specialize(n, k)),
        // Exactly as `eval_node` does, on the one value every event has.
        Node::Exists(e) => match k.value(&e.field) {
            Some(Value::Null) => Node::Const(false),
            Some(v) => Node::Const(!transform(v, &e.transforms).is_null()),
            None => n.clone(),
        },
        Node::Test(e, m) => match k.value(&e.field) {
            Some(Value::Null) => Node::Const(false),
            Some(v) => Node::Const(m.matches(&transform(v, &e.transforms))),
            None => n.clone(),
        },
        Node::FieldCmp(..) => n.clone(),
    }
}

fn eval_node(n: &Node, ctx: &Ctx<'_>) -> bool {
    match n {
        Node::Const(b) => *b,
        Node::And(v) => v.iter().all(|n| eval_node(n, ctx)),
        Node::Or(v) => v.iter().any(|n| eval_node(n, ctx)),
        Node::Not(n) => !eval_node(n, ctx),
        Node::Exists(e) => {
            if e.transforms.is_empty() {
                // Single-valued fields: present when not null.
                match &e.field {
                    Field::Column(c) if *c != Col::ProcessArgs => {
                        return !row_column(*c, &ctx.ev).is_null();
                    }
                    Field::Proc(pf) if *pf != ProcField::Argv => {
                        return ctx.proc.is_some_and(|p| !proc_field(*pf, p, ctx).is_null());
                    }
                    Field::Fd(_) => return !single(&e.field, ctx).is_null(),
                    _ => {}
                }
            }
            any_value(&e.field, ctx, &mut |v| {
                !transform(v, &e.transforms).is_null()
            })
        }
        Node::Test(e, m) => {
            if e.transforms.is_empty() {
                // Single-valued event and process fields: read and test
                // directly (a missing value fails every matcher).
                match &e.field {
                    Field::Column(c) if *c != Col::ProcessArgs => {
                        m.matches(&row_column(*c, &ctx.ev))
                    }
                    Field::Proc(pf) if *pf != ProcField::Argv => ctx
                        .proc
                        .is_some_and(|p| m.matches(&proc_field(*pf, p, ctx))),
                    Field::Fd(_) => m.matches(&single(&e.field, ctx)),
                    _ => any_value(&e.field, ctx, &mut |v| m.matches(&v)),
                }
            } else {
                any_value(&e.field, ctx, &mut |v| {
                    m.matches(&transform(v, &e.transforms))
                })
            }
        }
        Node::FieldCmp(lhs, op, rhs, nc) => {
            let r = expr_single(rhs, ctx);
            let r = match r {
                Value::Null | Value::List(_) => return false,
                Value::Int(i) => {
                    return any_value(
                        &lhs.field,
                        ctx,
                        &mut |v| match transform(v, &lhs.transforms) {
                            Value::Int(l) => ord_holds(*op, l.cmp(&i)),
                            _ => false,
                        },
                    );
                }
                Value::Bool(b) => Cow::Owned(b.to_string()),
                Value::Str(s) => s,
            };
            any_value(&lhs.field, ctx, &mut |v| {
                let v = transform(v, &lhs.transforms);
                let Value::Str(l) = v else { return false };
                match op {
                    Op::Contains => {
                        if *nc {
                            contains_nocase(&l, &r.to_ascii_lowercase())
                        } else {
                            l.contains(&*r)
                        }
                    }
                    Op::StartsWith => {
                        if *nc {
                            starts_nocase(&l, &r)
                        } else {
                            l.starts_with(&*r)
                        }
                    }
                    Op::EndsWith => {
                        if *nc {
                            ends_nocase(&l, &r)
                        } else {
                            l.ends_with(&*r)
                        }
                    }
                    _ => ord_holds(
                        *op,
                        if *nc {
                            cmp_nocase(&l, &r)
                        } else {
                            l.as_ref().cmp(r.as_ref())
                        },
                    ),
                }
            })
        }
    }
}

impl Program {
    /// Compiles a condition.
    pub fn compile(c: &Cond) -> Result<Program, CompileError> {
        Ok(Program {
            root: compile_node(c)?,
        })
    }

    /// Evaluates against one event and the state.
    #[inline]
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        eval_node(&self.root, ctx)
    }

    /// Whether the condition is constant false (it can never fire).
    pub fn is_never(&self) -> bool {
        matches!(self.root, Node::Const(false))
    }

    /// The program for events of which `known` holds: tests on the known
    /// fields (`event_kind`, `syscall`) are decided once here instead of on
    /// every event, and what they decide folds away. The result agrees with
    /// `self` on every such event.
    pub fn specialize(&self, known: &Known<'_>) -> Program {
        Program {
            root: specialize(&self.root, known),
        }
    }
}

/// The syscalls a condition can possibly match (`None`: any). Derived from
/// `syscall = '…'` / `syscall IN (…)` tests that every match must satisfy;
/// the engine uses it to skip rules that cannot fire on an event. The empty
/// string stands for events without a syscall.
pub fn syscall_filter(c: &Cond) -> Option<BTreeSet<String>> {
    match c {
        Cond::Const(false) => Some(BTreeSet::new()),
        Cond::Test(t)
            if t.lhs.field == Field::Column(Col::Syscall)
                && t.lhs.transforms.is_empty()
                && !t.nocase =>
        {
            match (&t.op, &t.rhs) {
                (Op::Eq, Rhs::Lit(l)) => lit_str(l).map(|s| BTreeSet::from([s])),
                (Op::In, Rhs::Lit(l)) => lit_list(l).into_iter().map(lit_str).collect(),
                _ => None,
            }
        }
        Cond::And(v) => {
            let mut acc: Option<BTreeSet<String>> = None;
            for s in v.iter().filter_map(syscall_filter) {
                acc = Some(match acc {
                    None => s,
                    Some(a) => a.intersection(&s).cloned().collect(),
                });
            }
            acc
        }
        Cond::Or(v) => {
            let mut acc = BTreeSet::new();
            for c in v {
                acc.extend(syscall_filter(c)?);
            }
            Some(acc)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_contains_agrees_with_str_contains() {
        let hays = [
            "",
            "a",
            "aa",
            "ab",
            "/etc/shadow",
            "/usr/bin/python3 -c import pty",
            "aaab",
            "abababc",
            "xyz/etc/etc/x",
            "/proc/self/exe",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "\u{80}\u{ff}x\u{7f}/\u{100}../..",
        ];
        for h in hays {
            for b in 0..=255u8 {
                assert_eq!(
                    find_byte(h.as_bytes(), b),
                    h.bytes().position(|c| c == b),
                    "{h:?} {b}"
                );
            }
        }
        let needles = [
            "",
            "a",
            "b",
            "aa",
            "ab",
            "abc",
            "/etc",
            "etc/x",
            "shadow",
            "pty",
            "-c ",
            "ababc",
            "/proc/self/exe",
            "/proc/self/exe/",
            "x",
            "zz",
            "../",
            "O_WRONLY",
            "O_DIRECTORY",
            "libc.so",
            "ab",
        ];
        for h in hays {
            for n in needles {
                assert_eq!(
                    bytes_contains(h.as_bytes(), n.as_bytes()),
                    h.contains(n),
                    "{h:?} contains {n:?}"
                );
            }
        }
    }

    #[test]
    fn globs() {
        let re = |g: &str| regex::Regex::new(&glob_to_regex(g, false)).unwrap();
        assert!(re("/etc/*").is_match("/etc/a/b"));
        assert!(re("/tmp/?.sh").is_match("/tmp/x.sh"));
        assert!(!re("/tmp/?.sh").is_match("/tmp/xy.sh"));
        assert!(re("[a-c]x").is_match("bx"));
        assert!(re("[!a]x").is_match("bx"));
        assert!(!re("[!a]x").is_match("ax"));
        assert!(re("a\\*").is_match("a*"));
        assert!(!re("a\\*").is_match("ab"));
        for ok in ["/etc/*", "[a-c]x", "[!a]x", "[]]x", "a\\*", "a\\\\", "x]"] {
            assert_eq!(glob_error(ok), None, "{ok}");
        }
        for bad in ["[", "/tmp/[ab", "[]", "[!]", "a\\"] {
            assert!(glob_error(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn pmatch_and_cidr() {
        assert!(pmatch("/tmp/x", "/tmp", false));
        assert!(pmatch("/tmp", "/tmp/", false));
        assert!(!pmatch("/tmpfoo", "/tmp", false));
        assert!(in_net(
            "10.1.2.3".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(!in_net(
            "11.1.2.3".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(in_net(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::".parse().unwrap(),
            32
        ));
    }

    #[test]
    fn filters() {
        use crate::field::Field;
        let sc = |s: &str| Cond::test(Field::Column(Col::Syscall), Op::Eq, Literal::Str(s.into()));
        let c = Cond::And(vec![
            Cond::Or(vec![sc("open"), sc("openat")]),
            Cond::Not(Box::new(sc("x"))),
        ]);
        assert_eq!(
            syscall_filter(&c),
            Some(BTreeSet::from(["open".to_string(), "openat".to_string()]))
        );
        assert_eq!(
            syscall_filter(&Cond::Or(vec![sc("a"), Cond::Const(true)])),
            None
        );
    }

    #[test]
    fn specialised_programs_decide_kind_and_syscall_tests() {
        let sc = |s: &str| Cond::test(Field::Column(Col::Syscall), Op::Eq, Literal::Str(s.into()));
        let kind = |k: &str| {
            Cond::test(
                Field::Column(Col::EventKind),
                Op::Eq,
                Literal::Str(k.into()),
            )
        };
        let pid = Cond::test(Field::Column(Col::ProcessPid), Op::Eq, Literal::Int(1));
        let c = Cond::And(vec![
            Cond::Or(vec![sc("open"), sc("openat")]),
            Cond::Not(Box::new(kind("loss"))),
            pid.clone(),
        ]);
        let p = Program::compile(&c).unwrap();
        let at = |kind, syscall| {
            p.specialize(&Known {
                kind,
                syscall: Some(syscall),
            })
        };
        let only_pid = format!("{:?}", Program::compile(&pid).unwrap());
        assert_eq!(
            format!("{:?}", at(EventKind::Syscall, Some("openat"))),
            only_pid
        );
        assert!(at(EventKind::Syscall, Some("close")).is_never());
        assert!(at(EventKind::Loss, Some("open")).is_never());
        assert!(at(EventKind::Syscall, None).is_never());
        // Unknown syscall: only the kind test goes.
        let any = p.specialize(&Known {
            kind: EventKind::ProcessExec,
            syscall: None,
        });
        assert!(!format!("{any:?}").contains("EventKind"));
        assert!(format!("{any:?}").contains("Syscall"));
        // Exists on a known null column, and transformers on a known value.
        let exists = Program::compile(&Cond::Exists(Field::Column(Col::Syscall).into())).unwrap();
        let known = |syscall| Known {
            kind: EventKind::Syscall,
            syscall: Some(syscall),
        };
        assert!(exists.specialize(&known(None)).is_never());
        assert!(matches!(
            exists.specialize(&known(Some("x"))).root,
            Node::Const(true)
        ));
        let len = Cond::Test(Test {
            lhs: Expr {
                field: Field::Column(Col::Syscall),
                transforms: vec![Transform::Len],
            },
            op: Op::Eq,
            rhs: Rhs::Lit(Literal::Int(6)),
            nocase: false,
        });
        let len = Program::compile(&len).unwrap();
        assert!(matches!(
            len.specialize(&known(Some("openat"))).root,
            Node::Const(true)
        ));
        assert!(len.specialize(&known(Some("open"))).is_never());
    }

    #[test]
    fn conjunctions_run_cheap_tests_first_and_big_int_lists_search() {
        let path = Cond::test(
            Field::Column(Col::FilePath),
            Op::Glob,
            Literal::Str("/etc/*".into()),
        );
        let anc = Cond::test(
            Field::Ancestors(crate::field::ProcField::Name),
            Op::Eq,
            Literal::Str("sshd".into()),
        );
        let pid = Cond::test(Field::Column(Col::ProcessPid), Op::Eq, Literal::Int(1));
        let p = Program::compile(&Cond::And(vec![
            anc.clone(),
            Cond::And(vec![path.clone(), pid.clone()]),
        ]))
        .unwrap();
        let Node::And(v) = &p.root else {
            panic!("{p:?}")
        };
        let order: Vec<String> = v.iter().map(|n| format!("{n:?}")).collect();
        assert_eq!(order.len(), 3);
        assert!(order[0].contains("ProcessPid"), "{order:?}");
        assert!(order[1].contains("FilePath"), "{order:?}");
        assert!(order[2].contains("Ancestors"), "{order:?}");
        let list = Literal::List((0..100).rev().map(|i| Literal::Int(-i)).collect());
        let ret = Program::compile(&Cond::test(Field::Column(Col::Ret), Op::In, list)).unwrap();
        let Node::Test(_, m) = &ret.root else {
            panic!("{ret:?}")
        };
        assert!(m.matches(&Value::Int(-57)));
        assert!(m.matches(&Value::Int(0)));
        assert!(!m.matches(&Value::Int(1)));
        assert!(!m.matches(&Value::Int(-100)));
    }
}
