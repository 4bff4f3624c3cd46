//! The tests of lowered values: one comparison of a Falco field against
//! its right-hand side, type checks, and the simplifier of the result.

use crate::falco::ast::{CmpOp, Transformer};
use crate::falco::fields::FType;
use crate::field::{Col, FdField, Field, Kind};
use crate::ir::{self, Cond, Literal, Op, Test, Transform};

use super::field_map::{col, fd};
use super::{OPEN_SYSCALLS, RhsVals};

pub(super) fn with_ts(e: &ir::Expr, ts: &[Transformer]) -> ir::Expr {
    let mut e = e.clone();
    e.transforms.extend(ts.iter().map(|t| match t {
        Transformer::ToLower => Transform::ToLower,
        Transformer::ToUpper => Transform::ToUpper,
        Transformer::Basename => Transform::Basename,
        Transformer::Len => Transform::Len,
        Transformer::B64 => Transform::B64,
    }));
    e
}

/// The event's column `event`, unless it is missing or only a placeholder
/// (`event OP placeholder`, e.g. the recorder's `other` fd type or
/// `socket:[INODE]` name), in which case the fd table's `table` value when
/// it has one: `T(event)` or `T(table)` accordingly.
pub(super) fn weak_event_value(
    event: Col,
    op: Op,
    placeholder: &str,
    table: FdField,
    t: impl Fn(&ir::Expr) -> Result<Cond, String>,
) -> Result<Cond, String> {
    let ev = col(event);
    let weak = Cond::Or(vec![
        Cond::Not(Box::new(Cond::Exists(ev.clone()))),
        Cond::test(Field::Column(event), op, Literal::Str(placeholder.into())),
    ]);
    let table = fd(table);
    Ok(Cond::Or(vec![
        Cond::And(vec![Cond::Not(Box::new(weak.clone())), t(&ev)?]),
        Cond::And(vec![weak.clone(), Cond::Exists(table.clone()), t(&table)?]),
        Cond::And(vec![
            weak,
            Cond::Not(Box::new(Cond::Exists(table))),
            t(&ev)?,
        ]),
    ]))
}

/// `T(a) or (a missing and T(b)) or ...`.
pub(super) fn coalesce(
    list: &[ir::Expr],
    mut t: impl FnMut(&ir::Expr) -> Result<Cond, String>,
) -> Result<Cond, String> {
    let mut alts = Vec::new();
    let mut missing: Vec<Cond> = Vec::new();
    for e in list {
        let mut conj = missing.clone();
        conj.push(t(e)?);
        alts.push(Cond::And(conj));
        missing.push(Cond::Not(Box::new(Cond::Exists(e.clone()))));
    }
    Ok(Cond::Or(alts))
}

/// The row is an open (`open`, `openat`, `openat2`, `open_by_handle_at`).
/// What a boolean flag field (`evt.is_open_read`, `evt.is_open_exec`, ...)
/// is compared with: true or false, with `!=` turning it round.
pub(super) fn flag_wanted(op: CmpOp, r: &RhsVals) -> Result<bool, String> {
    let want = match r {
        RhsVals::One(s, _) => parse_bool(s).ok_or_else(|| format!("'{s}' is not true or false"))?,
        RhsVals::List(l, _) => l.iter().any(|s| parse_bool(s) == Some(true)),
        RhsVals::Field(_) => return Err("flags cannot be compared with val(...)".into()),
    };
    Ok(if op == CmpOp::Ne { !want } else { want })
}

/// The open's flags include `flag` (`O_CREAT`).
pub(super) fn has_flag(flag: &str) -> Cond {
    Cond::test(
        Field::Column(Col::FileFlags),
        Op::Contains,
        Literal::Str(flag.into()),
    )
}

pub(super) fn is_open() -> Cond {
    Cond::test(
        Field::Column(Col::Syscall),
        Op::In,
        Literal::List(
            OPEN_SYSCALLS
                .iter()
                .map(|s| Literal::Str((*s).into()))
                .collect(),
        ),
    )
}

pub(super) fn kind_is(kinds: &[&str]) -> Cond {
    Cond::test(
        Field::Column(Col::EventKind),
        Op::In,
        Literal::List(kinds.iter().map(|k| Literal::Str((*k).into())).collect()),
    )
}

pub(super) fn ret_test(op: Op, v: i64) -> Cond {
    Cond::test(Field::Column(Col::Ret), op, Literal::Int(v))
}

/// The event succeeded (`ret >= 0`, or a lifecycle row without `ret`).
pub(super) fn success() -> Cond {
    Cond::Or(vec![
        ret_test(Op::Ge, 0),
        Cond::And(vec![
            Cond::Not(Box::new(Cond::Exists(col(Col::Ret)))),
            kind_is(&["process_exec", "process_fork"]),
        ]),
    ])
}

pub(super) fn success_or_failure() -> Cond {
    Cond::Or(vec![
        Cond::Exists(col(Col::Ret)),
        kind_is(&["process_exec", "process_fork"]),
    ])
}

pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    s.parse::<i64>().ok()
}

pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Falco's per-type operator rules (libs `flt_is_comparable_*`).
pub(super) fn check_op(ty: FType, op: CmpOp, r: &RhsVals) -> Result<(), String> {
    let ok = match ty {
        FType::Str => true,
        FType::Num => matches!(
            op,
            CmpOp::Eq
                | CmpOp::Ne
                | CmpOp::Lt
                | CmpOp::Le
                | CmpOp::Gt
                | CmpOp::Ge
                | CmpOp::In
                | CmpOp::Intersects
        ),
        FType::Bool => matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects),
        FType::Ip | FType::Net => {
            matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects)
        }
    };
    if !ok {
        let t = match ty {
            FType::Str => "string",
            FType::Num => "numeric",
            FType::Bool => "boolean",
            FType::Ip => "IP address",
            FType::Net => "IP network",
        };
        return Err(format!(
            "operator '{}' cannot be used on a {t} field",
            op.as_str()
        ));
    }
    let vals: Vec<&str> = match r {
        RhsVals::One(s, _) => vec![s],
        RhsVals::List(l, _) => l.iter().map(String::as_str).collect(),
        RhsVals::Field(_) => vec![],
    };
    for v in vals {
        match ty {
            FType::Num if parse_int(v).is_none() => {
                return Err(format!("wrong-type comparison: '{v}' is not a number"));
            }
            FType::Bool if parse_bool(v).is_none() => {
                return Err(format!("wrong-type comparison: '{v}' is not true or false"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A test on one IR expression.
pub(super) fn ir_test(e: &ir::Expr, ty: FType, op: CmpOp, r: &RhsVals) -> Result<Cond, String> {
    let kind = crate::eval::expr_kind(e);
    let lit = |s: &str| -> Result<Literal, String> {
        Ok(match kind {
            Kind::Int => Literal::Int(
                parse_int(s)
                    .ok_or_else(|| format!("wrong-type comparison: '{s}' is not a number"))?,
            ),
            Kind::Bool => Literal::Bool(
                parse_bool(s)
                    .ok_or_else(|| format!("wrong-type comparison: '{s}' is not true or false"))?,
            ),
            Kind::Str | Kind::StrList => Literal::Str(s.to_string()),
        })
    };
    if ty == FType::Net {
        let nets: Vec<Literal> = match r {
            RhsVals::One(s, _) => vec![Literal::Str(s.clone())],
            RhsVals::List(l, _) => l.iter().map(|s| Literal::Str(s.clone())).collect(),
            RhsVals::Field(_) => return Err("networks cannot be compared with val(...)".into()),
        };
        for n in &nets {
            if let Literal::Str(s) = n {
                check_cidr(s)?;
            }
        }
        let c = Cond::Test(Test {
            lhs: e.clone(),
            op: Op::Cidr,
            rhs: ir::Rhs::Lit(Literal::List(nets)),
            nocase: false,
        });
        return Ok(if op == CmpOp::Ne {
            Cond::And(vec![Cond::Exists(e.clone()), Cond::Not(Box::new(c))])
        } else {
            c
        });
    }
    let (irop, nocase) = match op {
        CmpOp::Eq => (Op::Eq, false),
        CmpOp::Ne => (Op::Ne, false),
        CmpOp::Lt => (Op::Lt, false),
        CmpOp::Le => (Op::Le, false),
        CmpOp::Gt => (Op::Gt, false),
        CmpOp::Ge => (Op::Ge, false),
        CmpOp::Contains => (Op::Contains, false),
        CmpOp::IContains => (Op::Contains, true),
        CmpOp::BContains => (Op::BContains, false),
        CmpOp::StartsWith => (Op::StartsWith, false),
        CmpOp::BStartsWith => (Op::BStartsWith, false),
        CmpOp::EndsWith => (Op::EndsWith, false),
        CmpOp::Glob => (Op::Glob, false),
        CmpOp::IGlob => (Op::Glob, true),
        CmpOp::Regex => (Op::Regex { anchored: true }, false),
        CmpOp::In => (Op::In, false),
        CmpOp::Intersects => (Op::Intersects, false),
        CmpOp::PMatch => (Op::PMatch, false),
    };
    let rhs = match r {
        RhsVals::Field(f) => ir::Rhs::Field(f.clone()),
        RhsVals::One(s, _) => {
            if op.is_list_op() {
                ir::Rhs::Lit(Literal::List(vec![lit(s)?]))
            } else if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
                ir::Rhs::Lit(Literal::Bytes(hex(s)?))
            } else if op == CmpOp::Regex {
                regex::Regex::new(&format!("^(?:{s})$"))
                    .map_err(|e| format!("invalid regex '{s}': {e}"))?;
                ir::Rhs::Lit(Literal::Str(s.clone()))
            } else {
                ir::Rhs::Lit(lit(s)?)
            }
        }
        RhsVals::List(l, _) => {
            if !op.is_list_op() {
                return Err(format!(
                    "operator '{}' takes one value, not a list",
                    op.as_str()
                ));
            }
            ir::Rhs::Lit(Literal::List(
                l.iter().map(|s| lit(s)).collect::<Result<_, _>>()?,
            ))
        }
    };
    Ok(Cond::Test(Test {
        lhs: e.clone(),
        op: irop,
        rhs,
        nocase,
    }))
}

pub(super) fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}' is not a hex byte string (bcontains/bstartswith take hex, e.g. 7f454c46)"
        ));
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect())
}

pub(super) fn check_cidr(s: &str) -> Result<(), String> {
    let (addr, len) = s
        .split_once('/')
        .unwrap_or((s, if s.contains(':') { "128" } else { "32" }));
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("'{s}' is not an IP network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len.parse::<u32>() {
        Ok(n) if n <= max => Ok(()),
        _ => Err(format!("'{s}' is not an IP network")),
    }
}

/// Tests on `cwd + "/"` (Falco prints `proc.cwd` with a trailing slash).
pub(super) fn cwd_test(
    e: &ir::Expr,
    transformed: bool,
    op: CmpOp,
    r: &RhsVals,
) -> Result<Cond, String> {
    let RhsVals::One(p, _) = r else {
        if let (CmpOp::In, RhsVals::List(l, sp)) = (op, r) {
            let alts = l
                .iter()
                .map(|p| cwd_test(e, transformed, CmpOp::Eq, &RhsVals::One(p.clone(), *sp)))
                .collect::<Result<_, _>>()?;
            return Ok(Cond::Or(alts));
        }
        return ir_test(e, FType::Str, op, r);
    };
    if transformed {
        return ir_test(e, FType::Str, op, r);
    }
    let s = |x: &str| Literal::Str(x.to_string());
    let t = |op: Op, x: &str| {
        Cond::Test(Test {
            lhs: e.clone(),
            op,
            rhs: ir::Rhs::Lit(s(x)),
            nocase: false,
        })
    };
    let trimmed = p.strip_suffix('/').filter(|t| !t.is_empty());
    let eq_slash = || match (p.as_str(), trimmed) {
        ("/", _) => t(Op::Eq, "/"),
        (_, Some(base)) => t(Op::Eq, base),
        _ => Cond::Const(false),
    };
    Ok(match op {
        CmpOp::Eq => eq_slash(),
        CmpOp::Ne => Cond::And(vec![
            Cond::Exists(e.clone()),
            Cond::Not(Box::new(eq_slash())),
        ]),
        CmpOp::StartsWith => Cond::Or(vec![t(Op::StartsWith, p), eq_slash()]),
        CmpOp::Contains => match trimmed {
            Some(base) => Cond::Or(vec![t(Op::Contains, p), t(Op::EndsWith, base)]),
            None => t(Op::Contains, p),
        },
        CmpOp::EndsWith => match (p.as_str(), trimmed) {
            ("/", _) => Cond::Exists(e.clone()),
            (_, Some(base)) => t(Op::EndsWith, base),
            _ => Cond::Const(false),
        },
        _ => ir_test(e, FType::Str, op, r)?,
    })
}

/// Removes constant branches.
pub fn simplify(c: Cond) -> Cond {
    match c {
        Cond::And(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Cond::Const(true) => {}
                    Cond::Const(false) => return Cond::Const(false),
                    Cond::And(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Cond::Const(true),
                1 => out.pop().expect("one"),
                _ => Cond::And(out),
            }
        }
        Cond::Or(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Cond::Const(false) => {}
                    Cond::Const(true) => return Cond::Const(true),
                    Cond::Or(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Cond::Const(false),
                1 => out.pop().expect("one"),
                _ => Cond::Or(out),
            }
        }
        Cond::Not(x) => match simplify(*x) {
            Cond::Const(b) => Cond::Const(!b),
            Cond::Not(y) => *y,
            y => Cond::Not(Box::new(y)),
        },
        c => c,
    }
}
