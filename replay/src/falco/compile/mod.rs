//! Lowering expanded Falco conditions to the shared IR ([`crate::ir::Cond`]).
//!
//! Most Falco fields map to one IR field. The others are *derived* (their
//! Falco value is computed from a column, like `evt.res` from `ret`) and are
//! lowered by rewriting the test, so the engine never needs Falco-specific
//! code:
//!
//! * finite domains (`evt.dir`, `fd.typechar`, `fd.sockfamily`, the event
//!   type of lifecycle rows, `SUCCESS`): the test is folded at compile time
//!   for every possible value;
//! * defaults (`container.id` is `host` outside containers, `user.loginuid`
//!   is `-1` when unset): `T(x ?? d)` becomes `T(x) or (x missing and T(d))`;
//! * fallbacks (`fd.name` from the event's `file_path`, else the fd table):
//!   `T(a) or (a missing and T(b))`;
//! * `evt.res`: `ret >= 0` for `SUCCESS`, `ret in (-errno, ...)` for the
//!   errno names the test accepts.
//!
//! A field no recording can provide compiles to "missing" (`false`, as Falco
//! treats a missing value) and is listed in [`Lowered::needs`].

use crate::falco::ast::{CmpOp, Expr, Operand, Rhs, Span, Transformer};
use crate::falco::consteval;
use crate::falco::error::Diagnostic;
use crate::falco::fields::{self, FType};
use crate::falco::resolve::diag;
use crate::falco::source::SourceMap;
use crate::field::{Col, FdField, Field};
use crate::ir::{self, Cond, Literal, Op, Test};
use std::collections::BTreeSet;

mod field_map;
mod ops;

pub(crate) use field_map::fd_num;
use field_map::*;
pub use field_map::{FalcoField, OpenFlag, Val, lookup, render_mode};
pub use ops::simplify;
use ops::*;

/// The values on the right of a test.
#[derive(Debug, Clone)]
enum RhsVals {
    One(String, Span),
    List(Vec<String>, Span),
    Field(ir::Expr),
}

/// A lowered rule condition.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The IR condition.
    pub cond: Cond,
    /// Falco fields the rule needs that no recording provides (with reasons).
    pub needs: BTreeSet<String>,
}

/// Lowers one expanded condition. Errors name the spot.
pub struct Lowerer<'a> {
    sources: &'a SourceMap,
    owner: String,
    needs: BTreeSet<String>,
    errors: Vec<Diagnostic>,
}

const SERVER_SYSCALLS: [&str; 4] = ["accept", "accept4", "listen", "bind"];
const OPEN_SYSCALLS: [&str; 4] = ["open", "openat", "openat2", "open_by_handle_at"];
const TYPECHARS: [(&str, &str); 15] = [
    ("file", "f"),
    ("directory", "d"),
    ("ipv4", "4"),
    ("ipv6", "6"),
    ("unix", "u"),
    ("pipe", "p"),
    ("memfd", "m"),
    ("event", "e"),
    ("signalfd", "s"),
    ("timerfd", "t"),
    ("inotify", "i"),
    ("bpf", "b"),
    ("userfaultfd", "o"),
    ("netlink", "n"),
    ("other", "o"),
];

/// `syscall in (names)`.
fn syscall_in(names: &[&str]) -> Cond {
    Cond::test(
        Field::Column(Col::Syscall),
        Op::In,
        Literal::List(names.iter().map(|s| Literal::Str((*s).into())).collect()),
    )
}

/// A call whose `evt.arg.mode` comes from `file_mode`.
fn mode_syscall() -> Cond {
    let all: Vec<&str> = CHMOD_SYSCALLS
        .iter()
        .chain(&OPEN_MODE_SYSCALLS)
        .copied()
        .collect();
    syscall_in(&all)
}

impl<'a> Lowerer<'a> {
    /// A lowerer for one rule.
    pub fn new(sources: &'a SourceMap, owner: String) -> Self {
        Lowerer {
            sources,
            owner,
            needs: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    /// Lowers the rule's expression.
    pub fn lower(mut self, e: &Expr) -> Result<Lowered, Vec<Diagnostic>> {
        let cond = self.expr(e);
        if self.errors.is_empty() {
            Ok(Lowered {
                cond: simplify(cond),
                needs: self.needs,
            })
        } else {
            Err(self.errors)
        }
    }

    fn error(&mut self, span: Span, msg: String, help: Option<String>) -> Cond {
        let owner = self.owner.clone();
        self.errors
            .push(diag(self.sources, span, &owner, msg, help));
        Cond::Const(false)
    }

    fn expr(&mut self, e: &Expr) -> Cond {
        match e {
            Expr::And(c, _) => Cond::And(c.iter().map(|x| self.expr(x)).collect()),
            Expr::Or(c, _) => Cond::Or(c.iter().map(|x| self.expr(x)).collect()),
            Expr::Not(x, _) => Cond::Not(Box::new(self.expr(x))),
            Expr::Macro(name, span) => {
                self.error(*span, format!("unresolved macro '{name}'"), None)
            }
            Expr::Exists(op, _) => match self.operand(op) {
                Some((f, ts)) => self.exists(&f.val, &ts),
                None => Cond::Const(false),
            },
            Expr::Compare { lhs, op, rhs, span } => self.compare(lhs, *op, rhs, *span),
        }
    }

    /// Looks up the operand's field; `None` on error (reported).
    fn operand(&mut self, op: &Operand) -> Option<(FalcoField, Vec<Transformer>)> {
        let mut ts = Vec::new();
        let mut cur = op;
        while let Operand::Transform(t, inner, _) = cur {
            ts.push(*t);
            cur = inner;
        }
        ts.reverse();
        let f = cur.field();
        match lookup(&f.name, f.arg.as_deref()) {
            Ok(ff) => {
                if let Val::Unavailable(_) = &ff.val {
                    let (name, arg) = fields::split_arg_field(&f.name, f.arg.as_deref());
                    let shown = match (name.as_str(), arg) {
                        ("evt.arg", Some(a)) => format!("evt.arg[{a}]"),
                        _ => name,
                    };
                    self.needs.insert(shown);
                }
                Some((ff, ts))
            }
            Err((msg, help)) => {
                self.error(f.span, msg, help);
                None
            }
        }
    }

    fn exists(&self, v: &Val, ts: &[Transformer]) -> Cond {
        let ex = |e: &ir::Expr| Cond::Exists(with_ts(e, ts));
        match v {
            Val::Ir(e) | Val::CwdSlash(e) => ex(e),
            Val::Coalesce(v) => Cond::Or(v.iter().map(ex).collect()),
            Val::Default(..) | Val::Const(_) | Val::OpenFlag(_) | Val::OpenExec | Val::EvtNum => {
                Cond::Const(true)
            }
            Val::Enum(e, _) => ex(e),
            Val::FdType { .. } => Cond::Or(vec![ex(&col(Col::FdType)), ex(&fd(FdField::Type))]),
            Val::FdName => Cond::Or(vec![ex(&col(Col::FilePath)), ex(&fd(FdField::Path))]),
            Val::HostOnly(e) => Cond::Not(Box::new(ex(e))),
            Val::EvtType { syscall_only } => {
                if *syscall_only {
                    kind_is(&["syscall"])
                } else {
                    Cond::Const(true)
                }
            }
            Val::EvtRes | Val::RawRes | Val::Failed => success_or_failure(),
            Val::SockFamily => ex(&col(Col::NetworkFamily)),
            Val::FdNum => Cond::Or(vec![ex(&fd_num()), ret_test(Op::Lt, 0)]),
            Val::Role { local, remote, .. } => {
                Cond::Or(local.iter().chain(remote).map(ex).collect())
            }
            Val::Either(a, b) => Cond::Or(vec![self.exists(a, ts), self.exists(b, ts)]),
            Val::Mode => Cond::Or(vec![
                Cond::And(vec![mode_syscall(), ex(&col(Col::FileMode))]),
                Cond::And(vec![
                    Cond::Not(Box::new(mode_syscall())),
                    ex(&ir::Expr::field(Field::SyscallArg("mode".into()))),
                ]),
            ]),
            Val::Unavailable(_) => Cond::Const(false),
        }
    }

    fn rhs(&mut self, rhs: &Rhs) -> Option<RhsVals> {
        Some(match rhs {
            Rhs::Value(v) => RhsVals::One(v.text.clone(), v.span),
            Rhs::List(v, s) => RhsVals::List(v.iter().map(|v| v.text.clone()).collect(), *s),
            Rhs::ListName(v) => {
                self.error(v.span, format!("undefined list '{}'", v.text), None);
                return None;
            }
            Rhs::Operand(o) => {
                let (f, ts) = self.operand(o)?;
                match f.val {
                    Val::Ir(e) => RhsVals::Field(with_ts(&e, &ts)),
                    Val::Coalesce(v) => RhsVals::Field(with_ts(&v[0], &ts)),
                    Val::Unavailable(_) => return Some(RhsVals::List(Vec::new(), o.span())),
                    _ => {
                        self.error(
                            o.span(),
                            format!(
                                "'{}' is a derived field and cannot be used inside val(...)",
                                o.field().display()
                            ),
                            None,
                        );
                        return None;
                    }
                }
            }
        })
    }

    fn compare(&mut self, lhs: &Operand, op: CmpOp, rhs: &Rhs, span: Span) -> Cond {
        let Some((f, ts)) = self.operand(lhs) else {
            return Cond::Const(false);
        };
        let Some(r) = self.rhs(rhs) else {
            return Cond::Const(false);
        };
        let ty = if ts.contains(&Transformer::Len) {
            FType::Num
        } else {
            f.ty
        };
        if let Err(msg) = check_op(ty, op, &r) {
            let fname = lhs.field().display();
            return self.error(span, format!("{msg} (field '{fname}')"), None);
        }
        if let Val::Unavailable(_) = f.val {
            return Cond::Const(false);
        }
        match self.test(&f.val, ty, &ts, op, &r) {
            Ok(c) => c,
            Err(msg) => {
                let at = match &r {
                    RhsVals::One(_, s) | RhsVals::List(_, s) => *s,
                    RhsVals::Field(_) => span,
                };
                self.error(at, msg, None)
            }
        }
    }

    /// `val OP rhs` as an IR condition.
    fn test(
        &self,
        v: &Val,
        ty: FType,
        ts: &[Transformer],
        op: CmpOp,
        r: &RhsVals,
    ) -> Result<Cond, String> {
        let folded = |value: &str| -> bool {
            let Some(value) = consteval::transform(value, ts) else {
                return false;
            };
            match r {
                RhsVals::One(s, _) => consteval::eval(op, &value, std::slice::from_ref(s)),
                RhsVals::List(l, _) => consteval::eval(op, &value, l),
                RhsVals::Field(_) => false,
            }
        };
        Ok(match v {
            Val::Ir(e) => ir_test(&with_ts(e, ts), ty, op, r)?,
            Val::Coalesce(list) => coalesce(list, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
            Val::Default(e, d) => Cond::Or(vec![
                ir_test(&with_ts(e, ts), ty, op, r)?,
                Cond::And(vec![
                    Cond::Not(Box::new(Cond::Exists(e.clone()))),
                    Cond::Const(folded(d)),
                ]),
            ]),
            Val::HostOnly(e) => Cond::And(vec![
                Cond::Not(Box::new(Cond::Exists(e.clone()))),
                Cond::Const(folded("host")),
            ]),
            Val::Const(c) => Cond::Const(folded(c)),
            Val::EvtType { syscall_only } => {
                let sys = ir_test(&with_ts(&col(Col::Syscall), ts), FType::Str, op, r)?;
                if *syscall_only {
                    Cond::And(vec![kind_is(&["syscall"]), sys])
                } else {
                    // The schema sets `syscall` on lifecycle rows caused by one
                    // (`execve` for `process_exec`, `clone`... for `process_fork`),
                    // so the engine's per-syscall index applies to Falco rules too.
                    Cond::Or(vec![
                        Cond::And(vec![
                            kind_is(&["syscall", "process_exec", "process_fork"]),
                            sys,
                        ]),
                        Cond::And(vec![
                            kind_is(&["process_exit"]),
                            Cond::Const(folded("procexit")),
                        ]),
                    ])
                }
            }
            Val::EvtRes => {
                let errnos: Vec<Literal> = super::errno::all()
                    .filter(|(n, _)| folded(n))
                    .map(|(_, v)| Literal::Int(-v))
                    .collect();
                Cond::Or(vec![
                    Cond::And(vec![success(), Cond::Const(folded("SUCCESS"))]),
                    Cond::Test(Test {
                        lhs: col(Col::Ret),
                        op: Op::In,
                        rhs: ir::Rhs::Lit(Literal::List(errnos)),
                        nocase: false,
                    }),
                ])
            }
            Val::RawRes => Cond::Or(vec![
                ir_test(&with_ts(&col(Col::Ret), ts), FType::Num, op, r)?,
                Cond::And(vec![
                    Cond::Not(Box::new(Cond::Exists(col(Col::Ret)))),
                    kind_is(&["process_exec", "process_fork"]),
                    Cond::Const(folded("0")),
                ]),
            ]),
            Val::Failed => {
                let failed = ret_test(Op::Lt, 0);
                Cond::Or(vec![
                    Cond::And(vec![failed, Cond::Const(folded("true"))]),
                    Cond::And(vec![success(), Cond::Const(folded("false"))]),
                ])
            }
            Val::EvtNum => {
                let shift = |s: &str| -> Result<String, String> {
                    let n = parse_int(s).ok_or_else(|| format!("'{s}' is not a number"))?;
                    Ok((n - 1).to_string())
                };
                let r2 = match r {
                    RhsVals::One(s, sp) => RhsVals::One(shift(s)?, *sp),
                    RhsVals::List(l, sp) => {
                        RhsVals::List(l.iter().map(|s| shift(s)).collect::<Result<_, _>>()?, *sp)
                    }
                    RhsVals::Field(_) => {
                        return Err("evt.num cannot be compared with val(...)".into());
                    }
                };
                ir_test(&col(Col::Seq), FType::Num, op, &r2)?
            }
            Val::FdType { typechar } => {
                let r2;
                let (op2, r) = if *typechar {
                    let set: Vec<String> = TYPECHARS
                        .iter()
                        .filter(|(_, c)| folded(c))
                        .map(|(t, _)| (*t).to_string())
                        .collect();
                    r2 = RhsVals::List(set, Span::default());
                    (CmpOp::In, &r2)
                } else {
                    (op, r)
                };
                let ts: &[Transformer] = if *typechar { &[] } else { ts };
                weak_event_value(Col::FdType, Op::Eq, "other", FdField::Type, |e| {
                    ir_test(&with_ts(e, ts), FType::Str, op2, r)
                })?
            }
            Val::FdName => weak_event_value(
                Col::FilePath,
                Op::StartsWith,
                "socket:[",
                FdField::Path,
                |e| ir_test(&with_ts(e, ts), ty, op, r),
            )?,
            Val::Enum(e, table) => {
                let set: Vec<String> = table
                    .iter()
                    .filter(|(n, _)| folded(n))
                    .flat_map(|(n, v)| enum_spellings(n, *v))
                    .collect();
                ir_test(
                    e,
                    FType::Str,
                    CmpOp::In,
                    &RhsVals::List(set, Span::default()),
                )?
            }
            Val::OpenExec => {
                let want = flag_wanted(op, r)?;
                // Every permission value (0..=0o7777) with an execute bit.
                let exec_modes: Vec<Literal> = (0..0o10000_i64)
                    .filter(|m| m & 0o111 != 0)
                    .map(Literal::Int)
                    .collect();
                let c = Cond::And(vec![
                    is_open(),
                    Cond::Or(vec![has_flag("O_CREAT"), has_flag("O_TMPFILE")]),
                    Cond::test(
                        Field::Column(Col::FileMode),
                        Op::In,
                        Literal::List(exec_modes),
                    ),
                ]);
                if want { c } else { Cond::Not(Box::new(c)) }
            }
            Val::SockFamily => {
                let set: Vec<String> = [("AF_INET", "ip"), ("AF_INET6", "ip"), ("AF_UNIX", "unix")]
                    .iter()
                    .filter(|(_, v)| folded(v))
                    .map(|(f, _)| (*f).to_string())
                    .collect();
                ir_test(
                    &col(Col::NetworkFamily),
                    FType::Str,
                    CmpOp::In,
                    &RhsVals::List(set, Span::default()),
                )?
            }
            Val::CwdSlash(e) => cwd_test(&with_ts(e, ts), !ts.is_empty(), op, r)?,
            Val::OpenFlag(flag) => {
                let want = flag_wanted(op, r)?;
                let is_open = is_open();
                let c = match flag {
                    OpenFlag::Read => Cond::And(vec![
                        is_open,
                        Cond::Exists(col(Col::FileFlags)),
                        Cond::Not(Box::new(has_flag("O_WRONLY"))),
                    ]),
                    OpenFlag::Write => Cond::And(vec![
                        is_open,
                        Cond::Or(vec![has_flag("O_WRONLY"), has_flag("O_RDWR")]),
                    ]),
                    OpenFlag::Create => Cond::And(vec![is_open, has_flag("O_CREAT")]),
                };
                if want { c } else { Cond::Not(Box::new(c)) }
            }
            Val::FdNum => Cond::Or(vec![
                ir_test(&with_ts(&fd_num(), ts), ty, op, r)?,
                Cond::And(vec![
                    Cond::Not(Box::new(Cond::Exists(fd_num()))),
                    ret_test(Op::Lt, 0),
                    Cond::Const(folded("-1")),
                ]),
            ]),
            Val::Role {
                server,
                local,
                remote,
            } => {
                let srv = Cond::test(
                    Field::Column(Col::Syscall),
                    Op::In,
                    Literal::List(
                        SERVER_SYSCALLS
                            .iter()
                            .map(|s| Literal::Str((*s).into()))
                            .collect(),
                    ),
                );
                let (on_server, on_client) = if *server {
                    (local, remote)
                } else {
                    (remote, local)
                };
                Cond::Or(vec![
                    Cond::And(vec![
                        srv.clone(),
                        coalesce(on_server, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
                    ]),
                    Cond::And(vec![
                        Cond::Not(Box::new(srv)),
                        coalesce(on_client, |e| ir_test(&with_ts(e, ts), ty, op, r))?,
                    ]),
                ])
            }
            Val::Either(a, b) => Cond::Or(vec![
                self.test(a, ty, ts, op, r)?,
                self.test(b, ty, ts, op, r)?,
            ]),
            Val::Mode => {
                // Every permission value, rendered per family and folded.
                let modes = |family: &[&str]| -> Cond {
                    let hits: Vec<Literal> = (0..0o10000_u32)
                        .filter(|m| render_mode(family[0], *m).is_some_and(|s| folded(&s)))
                        .map(|m| Literal::Int(i64::from(m)))
                        .collect();
                    Cond::And(vec![
                        syscall_in(family),
                        Cond::test(Field::Column(Col::FileMode), Op::In, Literal::List(hits)),
                    ])
                };
                let arg = ir::Expr::field(Field::SyscallArg("mode".into()));
                Cond::Or(vec![
                    modes(&CHMOD_SYSCALLS),
                    modes(&OPEN_MODE_SYSCALLS),
                    Cond::And(vec![
                        Cond::Not(Box::new(mode_syscall())),
                        ir_test(&with_ts(&arg, ts), ty, op, r)?,
                    ]),
                ])
            }
            Val::Unavailable(_) => Cond::Const(false),
        })
    }
}
