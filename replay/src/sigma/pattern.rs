//! Sigma string values: `*` and `?` wildcards with `\` escapes, matched
//! case-insensitively unless the `cased` modifier is given.
//!
//! Case folding is ASCII-only, as in SQLite's `LIKE`, pySigma's SQLite backend
//! (the test oracle) and most SIEM backends: `É` and `é` are different letters.

use std::fmt;

/// One part of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A parsed Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pattern {
    /// The parts, with adjacent literals merged.
    pub pieces: Vec<Piece>,
    /// `true` with the `cased` modifier: compare case-sensitively.
    pub cased: bool,
}

impl Pattern {
    /// Parses a value as the Sigma specification says: `*` and `?` are
    /// wildcards; `\*`, `\?` and `\\` are the literal characters; a backslash
    /// before anything else is a literal backslash.
    pub fn parse(s: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        p.push_char(n);
                    }
                    _ => p.push_char('\\'),
                },
                '*' => p.pieces.push(Piece::Star),
                '?' => p.pieces.push(Piece::One),
                c => p.push_char(c),
            }
        }
        p
    }

    /// A pattern that matches exactly `s` (no wildcards).
    pub fn literal(s: &str) -> Pattern {
        let mut p = Pattern::default();
        if !s.is_empty() {
            p.pieces.push(Piece::Lit(s.to_owned()));
        }
        p
    }

    fn push_char(&mut self, c: char) {
        if let Some(Piece::Lit(s)) = self.pieces.last_mut() {
            s.push(c);
        } else {
            self.pieces.push(Piece::Lit(c.to_string()));
        }
    }

    /// Whether the value holds a wildcard.
    pub fn has_wildcards(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Lit(_)))
    }

    /// The text without wildcards, when there are none.
    pub fn as_literal(&self) -> Option<String> {
        if self.has_wildcards() {
            return None;
        }
        Some(
            self.pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) => s.as_str(),
                    _ => "",
                })
                .collect(),
        )
    }

    /// `contains`: `*value*`.
    pub fn contains(mut self) -> Pattern {
        if self.pieces.first() != Some(&Piece::Star) {
            self.pieces.insert(0, Piece::Star);
        }
        self.ends_with_star()
    }

    /// `startswith`: `value*`.
    pub fn starts_with(self) -> Pattern {
        self.ends_with_star()
    }

    /// `endswith`: `*value`.
    pub fn ends_with(mut self) -> Pattern {
        if self.pieces.first() != Some(&Piece::Star) {
            self.pieces.insert(0, Piece::Star);
        }
        self
    }

    fn ends_with_star(mut self) -> Pattern {
        if self.pieces.last() != Some(&Piece::Star) {
            self.pieces.push(Piece::Star);
        }
        self
    }

    /// Whether `value` matches the whole pattern.
    pub fn is_match(&self, value: &str) -> bool {
        let v: Vec<char> = value.chars().collect();
        // Each literal is compared with char-wise (ASCII-folded) equality.
        let eq = |a: char, b: char| {
            if self.cased {
                a == b
            } else {
                a.eq_ignore_ascii_case(&b)
            }
        };
        // Flatten into single-character tokens: Some(c) literal, None for `?`,
        // and a separate marker for `*`.
        enum Tok {
            C(char),
            One,
            Star,
        }
        let toks: Vec<Tok> = self
            .pieces
            .iter()
            .flat_map(|p| -> Vec<Tok> {
                match p {
                    Piece::Lit(s) => s.chars().map(Tok::C).collect(),
                    Piece::One => vec![Tok::One],
                    Piece::Star => vec![Tok::Star],
                }
            })
            .collect();
        // Classic two-pointer glob match with single backtrack point: linear
        // in practice, O(n*m) worst case.
        let (mut ti, mut vi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while vi < v.len() {
            match toks.get(ti) {
                Some(Tok::Star) => {
                    star = Some((ti, vi));
                    ti += 1;
                }
                Some(Tok::One) => {
                    ti += 1;
                    vi += 1;
                }
                Some(Tok::C(c)) if eq(*c, v[vi]) => {
                    ti += 1;
                    vi += 1;
                }
                _ => match star {
                    Some((st, sv)) => {
                        ti = st + 1;
                        vi = sv + 1;
                        star = Some((st, sv + 1));
                    }
                    None => return false,
                },
            }
        }
        toks[ti..].iter().all(|t| matches!(t, Tok::Star))
    }
}

impl fmt::Display for Pattern {
    /// Writes the value back in Sigma syntax (with escapes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => {
                    for c in s.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                }
                Piece::Star => f.write_str("*")?,
                Piece::One => f.write_str("?")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        let p = Pattern::parse(r"a\*b?c\\d\e");
        assert_eq!(
            p.pieces,
            vec![
                Piece::Lit("a*b".into()),
                Piece::One,
                Piece::Lit(r"c\d\e".into())
            ]
        );
        assert!(p.is_match(r"A*BXc\d\E"));
        assert!(!p.is_match(r"AxBXc\d\e"));
        assert_eq!(p.to_string(), r"a\*b?c\\d\\e");
    }

    #[test]
    fn glob_matching() {
        let p = Pattern::parse("*/bin/*sh");
        assert!(p.is_match("/usr/bin/bash"));
        assert!(p.is_match("/BIN/sh"));
        assert!(!p.is_match("/usr/bin/bash -c"));
        assert!(Pattern::parse("").is_match(""));
        assert!(!Pattern::parse("").is_match("x"));
        assert!(Pattern::parse("*").is_match(""));
        assert!(Pattern::parse("a*a*a").is_match("aaaaaa"));
        assert!(!Pattern::parse("a*a*ab").is_match("aaaaaa"));
        let cased = Pattern {
            cased: true,
            ..Pattern::parse("Ab*")
        };
        assert!(cased.is_match("Abc") && !cased.is_match("abc"));
        // ASCII-only folding, like SQLite.
        assert!(!Pattern::parse("é").is_match("É"));
    }

    #[test]
    fn modifiers_add_stars_once() {
        assert_eq!(Pattern::parse("*x").contains().to_string(), "*x*");
        assert_eq!(Pattern::parse("x").starts_with().to_string(), "x*");
        assert_eq!(Pattern::parse("x").ends_with().to_string(), "*x");
    }
}
