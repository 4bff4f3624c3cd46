//! Falco's comparison operators on plain strings, for folding tests on
//! values known at compile time (`evt.dir`, `evt.type` of lifecycle rows,
//! `fd.typechar`, ...), and the libs glob.

use super::ast::{CmpOp, Transformer};

/// fnmatch(3) without flags, as libs' `glob` uses: `*` matches any run of
/// characters including `/`, `?` one character, `[...]` a class (`!` or `^`
/// negates, ranges allowed), `\` escapes.
pub fn glob(pat: &str, s: &str, nocase: bool) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    glob_at(&p, &t, nocase)
}

fn eq_char(a: char, b: char, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn glob_at(p: &[char], t: &[char], nocase: bool) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(p, pi, t[ti], nocase) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() => {
                    if eq_char(p[pi + 1], t[ti], nocase) {
                        pi += 2;
                        ti += 1;
                        continue;
                    }
                }
                c => {
                    if eq_char(c, t[ti], nocase) {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches a bracket class at `p[start]` (`[`). `None` if it is unterminated.
fn class(p: &[char], start: usize, c: char, nocase: bool) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|c| *c != ']') {
            let hi = p[i + 2];
            let (cl, lo2, hi2) = if nocase {
                (
                    c.to_ascii_lowercase(),
                    lo.to_ascii_lowercase(),
                    hi.to_ascii_lowercase(),
                )
            } else {
                (c, lo, hi)
            };
            if lo2 <= cl && cl <= hi2 {
                matched = true;
            }
            i += 3;
        } else {
            if eq_char(lo, c, nocase) {
                matched = true;
            }
            i += 1;
        }
    }
}

/// Falco's `pmatch`: `path` equals one of the prefixes or lies under it,
/// compared component by component (a prefix component may be a glob).
pub fn pmatch(path: &str, prefixes: &[String]) -> bool {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    prefixes.iter().any(|pre| {
        let pc: Vec<&str> = pre.split('/').filter(|c| !c.is_empty()).collect();
        pc.len() <= comps.len()
            && pc.iter().zip(&comps).all(|(p, c)| {
                if p.contains(['*', '?', '[']) {
                    glob(p, c, false)
                } else {
                    p == c
                }
            })
    })
}

/// Applies transformers (innermost first) to a constant.
pub fn transform(v: &str, ts: &[Transformer]) -> Option<String> {
    let mut v = v.to_string();
    for t in ts {
        v = match t {
            Transformer::ToLower => v.to_ascii_lowercase(),
            Transformer::ToUpper => v.to_ascii_uppercase(),
            Transformer::Basename => v.rsplit('/').next().unwrap_or("").to_string(),
            Transformer::Len => v.len().to_string(),
            Transformer::B64 => return None,
        };
    }
    Some(v)
}

/// Evaluates `value OP rhs` on strings as libs does (numbers compare
/// numerically when both sides are numbers).
pub fn eval(op: CmpOp, value: &str, rhs: &[String]) -> bool {
    let one = rhs.first().map(String::as_str).unwrap_or("");
    let num = |a: &str, b: &str| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?));
    match op {
        CmpOp::Eq => value == one,
        CmpOp::Ne => value != one,
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let ord = match num(value, one) {
                Some((a, b)) => a.cmp(&b),
                None => value.cmp(one),
            };
            match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
        CmpOp::Contains | CmpOp::BContains => value.contains(one),
        CmpOp::IContains => value
            .to_ascii_lowercase()
            .contains(&one.to_ascii_lowercase()),
        CmpOp::StartsWith | CmpOp::BStartsWith => value.starts_with(one),
        CmpOp::EndsWith => value.ends_with(one),
        CmpOp::Glob => glob(one, value, false),
        CmpOp::IGlob => glob(one, value, true),
        CmpOp::Regex => regex::Regex::new(&format!("^(?:{one})$")).is_ok_and(|r| r.is_match(value)),
        CmpOp::In | CmpOp::Intersects => rhs.iter().any(|r| r == value),
        CmpOp::PMatch => pmatch(value, rhs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_follows_fnmatch() {
        assert!(
            glob("/home/*/.ssh/*", "/home/a/b/.ssh/id", false),
            "* crosses /"
        );
        assert!(glob("*../*../*", "/var/www/../../etc/passwd", false));
        assert!(!glob("*../*../*", "/var/www/../etc/passwd", false));
        assert!(glob("a?c", "abc", false));
        assert!(glob("[!x]bc", "abc", false));
        assert!(glob("[a-c]bc", "bbc", false));
        assert!(!glob("[a-c]bc", "dbc", false));
        assert!(glob("\\*", "*", false));
        assert!(glob("ABC*", "abcd", true));
        assert!(!glob("abc", "abcd", false));
    }

    #[test]
    fn pmatch_components() {
        let p = vec!["/etc".to_string(), "/var/lib/*/data".to_string()];
        assert!(pmatch("/etc", &p));
        assert!(pmatch("/etc/passwd", &p));
        assert!(!pmatch("/etcetera", &p));
        assert!(pmatch("/var/lib/x/data/y", &p));
    }
}
