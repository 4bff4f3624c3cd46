//! Turning parsed pieces into the IR: value and boolean functions by name,
//! comparisons (a literal on the left is swapped to the right), and `LIKE`
//! patterns as anchored regular expressions.

use super::{Operand, SqlError};
use crate::ir::{Cond, Expr, Literal, Op, Rhs, Test, Transform};

/// The value function called `name` (`lower`, `basename`, `length`, …).
pub(super) fn transform(name: &str) -> Option<Transform> {
    Some(match name.to_ascii_lowercase().as_str() {
        "lower" => Transform::ToLower,
        "upper" => Transform::ToUpper,
        "basename" => Transform::Basename,
        "length" | "len" | "char_length" | "cardinality" => Transform::Len,
        "b64decode" | "from_base64" => Transform::B64,
        _ => return None,
    })
}

/// The boolean function called `name`: its operator and whether it ignores case.
pub(super) fn bool_function(name: &str) -> Option<(Op, bool)> {
    Some(match name.to_ascii_lowercase().as_str() {
        "starts_with" => (Op::StartsWith, false),
        "ends_with" => (Op::EndsWith, false),
        "contains" => (Op::Contains, false),
        "icontains" => (Op::Contains, true),
        "cidr_match" => (Op::Cidr, false),
        "path_under" => (Op::PMatch, false),
        "regexp_like" => (Op::Regex { anchored: false }, false),
        _ => return None,
    })
}

/// `lhs op rhs` as a test, a field always on the left.
pub(super) fn compare(lhs: Operand, op: Op, rhs: Operand) -> Result<Cond, SqlError> {
    let flip = |op: Op| match op {
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        o => o,
    };
    Ok(match (lhs, rhs) {
        (Operand::Field(e, ..), Operand::Lit(l, ..)) => Cond::Test(Test {
            lhs: e,
            op,
            rhs: Rhs::Lit(l),
            nocase: false,
        }),
        (Operand::Lit(l, ..), Operand::Field(e, ..)) => Cond::Test(Test {
            lhs: e,
            op: flip(op),
            rhs: Rhs::Lit(l),
            nocase: false,
        }),
        (Operand::Field(a, ..), Operand::Field(b, ..)) => Cond::Test(Test {
            lhs: a,
            op,
            rhs: Rhs::Field(b),
            nocase: false,
        }),
        (Operand::Lit(a, s, _), Operand::Lit(b, _, e)) => {
            return Err(SqlError {
                start: s,
                end: e,
                message: format!("comparing two literals ({a:?} and {b:?}) is always the same"),
                help: Some("compare a field with a literal".into()),
            });
        }
    })
}

/// Translates a LIKE pattern: `%` any run, `_` one character, `\` escapes.
/// Simple shapes become prefix/suffix/substring/equality tests.
pub(super) fn like(e: Expr, pat: &str, nocase: bool) -> Cond {
    let has_special = |s: &str| s.contains('_') || s.contains('\\') || s.contains('%');
    let test = |op, s: &str| {
        Cond::Test(Test {
            lhs: e.clone(),
            op,
            rhs: Rhs::Lit(Literal::Str(s.to_string())),
            nocase,
        })
    };
    let inner = pat.strip_prefix('%').and_then(|p| p.strip_suffix('%'));
    if let Some(mid) = inner.filter(|m| !has_special(m)) {
        return test(Op::Contains, mid);
    }
    if let Some(p) = pat.strip_suffix('%').filter(|p| !has_special(p)) {
        return test(Op::StartsWith, p);
    }
    if let Some(p) = pat.strip_prefix('%').filter(|p| !has_special(p)) {
        return test(Op::EndsWith, p);
    }
    if !has_special(pat) {
        return test(Op::Eq, pat);
    }
    let mut re = String::from("(?s)");
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    Cond::Test(Test {
        lhs: e,
        op: Op::Regex { anchored: true },
        rhs: Rhs::Lit(Literal::Str(re)),
        nocase,
    })
}
