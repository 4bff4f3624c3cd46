//! The `condition` expression: `and`, `or`, `not`, parentheses, and
//! `1 of` / `all of` with `them` or a name with `*` wildcards.
//!
//! Precedence, from loosest: `or`, `and`, `not`. Names are resolved against
//! the detection's searches when parsed, so a missing search is an error at
//! load time, never a silent non-match.

use super::pattern::Pattern;
use super::yaml::Pos;

/// A parsed condition, with search names resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A named search.
    Search(String),
    /// Negation.
    Not(Box<Cond>),
    /// Conjunction.
    And(Vec<Cond>),
    /// Disjunction.
    Or(Vec<Cond>),
}

/// A condition problem: a character offset within the condition text and a
/// message.
#[derive(Debug, Clone)]
pub struct CondError {
    /// Character offset within the condition text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    OneOf,
    AllOf,
    Pipe,
    Ident(String),
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, CondError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' => {
                toks.push((Tok::LParen, start));
                i += 1;
            }
            ')' => {
                toks.push((Tok::RParen, start));
                i += 1;
            }
            '|' => {
                toks.push((Tok::Pipe, start));
                i += 1;
            }
            _ => {
                while i < chars.len() && !chars[i].is_whitespace() && !"()|".contains(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "1" | "all" | "any" => {
                        // `1 of` / `all of`: the next word must be `of`.
                        let mut j = i;
                        while j < chars.len() && chars[j].is_whitespace() {
                            j += 1;
                        }
                        let k = j + 2;
                        let is_of = k <= chars.len()
                            && chars[j..k]
                                .iter()
                                .collect::<String>()
                                .eq_ignore_ascii_case("of")
                            && chars.get(k).is_none_or(|c| c.is_whitespace());
                        if !is_of {
                            return Err(CondError {
                                offset: start,
                                message: format!("expected `of` after `{word}`"),
                            });
                        }
                        i = k;
                        if word == "all" {
                            Tok::AllOf
                        } else {
                            Tok::OneOf
                        }
                    }
                    _ => Tok::Ident(word),
                };
                toks.push((tok, start));
            }
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    i: usize,
    end: usize,
    names: &'a [String],
    /// Parentheses and `not`s around this point.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(_, o)| *o)
    }
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    /// One level deeper at the token just read; at most
    /// [`crate::ir::MAX_NESTING`] levels (the parser and the stages after it recurse).
    fn enter(&mut self) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > crate::ir::MAX_NESTING {
            return Err(CondError {
                offset: self.toks.get(self.i - 1).map_or(self.end, |(_, o)| *o),
                message: crate::ir::too_deep(),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one")
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one")
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond, CondError> {
        if self.peek() == Some(&Tok::Not) {
            self.i += 1;
            self.enter()?;
            let c = Cond::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(c);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, CondError> {
        let offset = self.offset();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.i += 1;
                self.enter()?;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.fail("expected `)`");
                }
                self.i += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(tok @ (Tok::OneOf | Tok::AllOf)) => {
                self.i += 1;
                let Some(Tok::Ident(target)) = self.peek().cloned() else {
                    return self.fail("expected `them` or a search name after `of`");
                };
                let target_offset = self.offset();
                self.i += 1;
                let names: Vec<String> = if target == "them" {
                    self.names.iter().filter(|n| !n.starts_with('_')).cloned().collect()
                } else {
                    // Search names are case-sensitive (as in pySigma).
                    let pat = Pattern {
                        cased: true,
                        ..Pattern::parse(&target)
                    };
                    self.names.iter().filter(|n| pat.is_match(n)).cloned().collect()
                };
                if names.is_empty() {
                    return Err(CondError {
                        offset: target_offset,
                        message: format!("`{target}` matches no search of the detection"),
                    });
                }
                let items: Vec<Cond> = names.into_iter().map(Cond::Search).collect();
                Ok(match (tok, items.len()) {
                    (_, 1) => items.into_iter().next().expect("one"),
                    (Tok::AllOf, _) => Cond::And(items),
                    _ => Cond::Or(items),
                })
            }
            Some(Tok::Ident(name)) => {
                self.i += 1;
                if self.names.contains(&name) {
                    Ok(Cond::Search(name))
                } else {
                    let hint = self
                        .names
                        .iter()
                        .min_by_key(|n| edit_distance(n, &name))
                        .filter(|n| edit_distance(n, &name) <= 3)
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    Err(CondError {
                        offset,
                        message: format!("the condition names `{name}`, which the detection does not define{hint}"),
                    })
                }
            }
            Some(Tok::Pipe) => self.fail("aggregations (`| count() ...`) are not supported: they need correlation over many events"),
            Some(t) => self.fail(format!("unexpected {}", describe(&t))),
            None => self.fail("the condition ends too early"),
        }
    }
}

fn describe(t: &Tok) -> &'static str {
    match t {
        Tok::LParen => "`(`",
        Tok::RParen => "`)`",
        Tok::And => "`and`",
        Tok::Or => "`or`",
        Tok::Not => "`not`",
        Tok::OneOf => "`1 of`",
        Tok::AllOf => "`all of`",
        Tok::Pipe => "`|`",
        Tok::Ident(_) => "a name",
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses `text`, resolving names against `names` (the detection's searches
/// in file order).
pub fn parse(text: &str, names: &[String]) -> Result<Cond, CondError> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        i: 0,
        end: text.chars().count(),
        names,
        depth: 0,
    };
    let cond = p.or()?;
    if p.peek() == Some(&Tok::Pipe) {
        return p.fail(
            "aggregations (`| count() ...`) are not supported: they need correlation over many events",
        );
    }
    if p.i < p.toks.len() {
        let t = p.toks[p.i].0.clone();
        return p.fail(format!(
            "unexpected {} after a complete condition",
            describe(&t)
        ));
    }
    Ok(cond)
}

/// Where the condition text is, for turning offsets into file positions.
pub fn offset_pos(start: Pos, text: &str, offset: usize) -> Pos {
    // Block scalars: count lines within the text; the first line starts at `start`.
    let before: String = text.chars().take(offset).collect();
    match before.rfind('\n') {
        None => start.shifted(offset),
        Some(nl) => Pos {
            line: start.line + u32::try_from(before.matches('\n').count()).unwrap_or(0),
            column: u32::try_from(before[nl + 1..].chars().count() + 1).unwrap_or(0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_and_of() {
        let n = names(&["selection_a", "selection_b", "filter_main_x", "_hidden"]);
        let c = parse(
            "1 of selection_* and not 1 of filter_main_* or all of them",
            &n,
        )
        .unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::And(vec![
                    Cond::Or(vec![
                        Cond::Search("selection_a".into()),
                        Cond::Search("selection_b".into())
                    ]),
                    Cond::Not(Box::new(Cond::Search("filter_main_x".into()))),
                ]),
                Cond::And(vec![
                    Cond::Search("selection_a".into()),
                    Cond::Search("selection_b".into()),
                    Cond::Search("filter_main_x".into()),
                ]),
            ])
        );
        let c = parse("not (selection_a or selection_b)", &n).unwrap();
        assert!(matches!(c, Cond::Not(_)));
    }

    /// Search names are matched case-sensitively, as pySigma does:
    /// `Selection_b` is not one of `selection_*`.
    #[test]
    fn of_patterns_are_case_sensitive() {
        let n = names(&["selection_a", "Selection_b"]);
        assert_eq!(
            parse("1 of selection_*", &n).unwrap(),
            Cond::Search("selection_a".into())
        );
        assert_eq!(
            parse("all of Sel*", &n).unwrap(),
            Cond::Search("Selection_b".into())
        );
        assert!(parse("1 of SELECTION_*", &n).is_err());
    }

    #[test]
    fn errors_point_at_the_spot() {
        let n = names(&["selection", "filter"]);
        let e = parse("selection and not filtr", &n).unwrap_err();
        assert_eq!(e.offset, 18);
        assert!(e.message.contains("did you mean `filter`"), "{}", e.message);
        let e = parse("1 of sel_*", &n).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(parse("selection and", &n).is_err());
        assert!(parse("(selection", &n).is_err());
        assert!(parse("selection | count() > 5", &n).is_err());
    }

    #[test]
    fn offsets_in_block_scalars() {
        let p = offset_pos(
            Pos {
                line: 10,
                column: 9,
            },
            "a and\n  b",
            8,
        );
        assert_eq!(
            p,
            Pos {
                line: 11,
                column: 3
            }
        );
    }
}
