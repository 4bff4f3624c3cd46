//! Values a test can never match, found at load time: a syscall name the
//! recorder does not have (`syscall = 'opnat'`), an event kind that does not
//! exist (`event_kind = 'proces_exec'`). Without this check such a rule loads
//! and never fires, which looks exactly like a rule whose attack did not
//! happen.

use super::SqlError;
use crate::diag::suggest;
use crate::field::{Col, Field};
use crate::ir::{Cond, Literal, Op, Rhs};
use hindsight_format::EventKind;

/// The first value in `c` that its field can never hold, as an error at that
/// value in `src[start..end]` (the predicate's text), or at the whole
/// predicate when the value is not written there (it came from a list).
pub(super) fn check(c: &Cond, src: &str, start: usize, end: usize) -> Result<(), SqlError> {
    let Some((value, message, help)) = first_unknown(c) else {
        return Ok(());
    };
    let text = src.get(start..end).unwrap_or_default();
    let (s, e) = ['\'', '"']
        .iter()
        .find_map(|q| {
            let quoted = format!("{q}{value}{q}");
            text.find(&quoted)
                .map(|at| (start + at, start + at + quoted.len()))
        })
        .unwrap_or((start, end));
    Err(SqlError {
        start: s,
        end: e,
        message,
        help: Some(help),
    })
}

/// (value, message, help) of the first value no row can hold.
fn first_unknown(c: &Cond) -> Option<(String, String, String)> {
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().find_map(first_unknown),
        Cond::Not(c) => first_unknown(c),
        Cond::Const(_) | Cond::Exists(_) => None,
        Cond::Test(t) => {
            if !t.lhs.transforms.is_empty() || !matches!(t.op, Op::Eq | Op::Ne | Op::In) {
                return None;
            }
            let Rhs::Lit(lit) = &t.rhs else {
                return None;
            };
            let values: Vec<&Literal> = match lit {
                Literal::List(v) => v.iter().collect(),
                one => vec![one],
            };
            let fold = |s: &str| {
                if t.nocase {
                    s.to_ascii_lowercase()
                } else {
                    s.to_string()
                }
            };
            values.into_iter().find_map(|l| {
                let Literal::Str(s) = l else {
                    return None;
                };
                match t.lhs.field {
                    Field::Column(Col::Syscall) if !crate::syscall::is_known(&fold(s)) => Some((
                        s.clone(),
                        format!("unknown syscall `{s}`: no recorded event has it"),
                        match suggest(&s.to_ascii_lowercase(), crate::syscall::names()) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => "syscalls are named as in Linux's x86_64 table \
                                         (openat, execve, connect, …)"
                                .into(),
                        },
                    )),
                    Field::Column(Col::EventKind) if EventKind::parse(&fold(s)).is_none() => {
                        let kinds = EventKind::ALL.map(EventKind::as_str);
                        Some((
                            s.clone(),
                            format!("unknown event kind `{s}`: no recorded event has it"),
                            match suggest(&s.to_ascii_lowercase(), kinds) {
                                Some(k) => format!("did you mean `{k}`?"),
                                None => format!("event kinds: {}", kinds.join(", ")),
                            },
                        ))
                    }
                    _ => None,
                }
            })
        }
    }
}
