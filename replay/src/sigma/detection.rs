//! The `detection` section: named searches (selections and keyword lists),
//! field modifiers and values.

use std::net::IpAddr;

use regex::Regex;

use super::pattern::{Pattern, Piece};
use super::yaml::{Node, Pos, SNode};

/// A comparison for the `gt`, `gte`, `lt` and `lte` modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
}

/// A network in CIDR notation (`cidr` modifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fe80::/10` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.trim().parse().ok()?
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether the textual address `value` lies in this network.
    pub fn contains(&self, value: &str) -> bool {
        let Ok(ip) = value.trim().parse::<IpAddr>() else {
            return false;
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(v)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(v) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(v)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(v) & mask
            }
            _ => false,
        }
    }
}

/// How one value is compared with a field.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A string with wildcards (plain values, `contains`, `startswith`,
    /// `endswith`, `windash`, `base64`, `base64offset`, `cased`).
    Glob(Pattern),
    /// A YAML number: numeric equality on numeric fields, text equality on
    /// text fields.
    Number(i64),
    /// `re`: a regular expression, unanchored, with flags `i`, `m`, `s`.
    Regex {
        /// The source text with the flags prefixed as `(?ims)`.
        source: String,
        /// The compiled expression.
        re: Regex,
    },
    /// `cidr`.
    Cidr(Cidr),
    /// `gt`, `gte`, `lt`, `lte`.
    Compare(CmpOp, f64),
    /// A `null` value: the field is absent.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    /// `fieldref`: equal to another field of the same event.
    FieldRef(String),
}

/// `Field|modifiers: values` (or a keyword list when `field` is `None`).
#[derive(Debug, Clone)]
pub struct FieldMatch {
    /// The Sigma field name; `None` for keywords (match anywhere).
    pub field: Option<String>,
    /// Where the key (or the keyword list) is.
    pub pos: Pos,
    /// One entry per value written; each entry lists the alternatives that
    /// value expands to (`windash`, `base64offset`); any alternative matches.
    pub values: Vec<Vec<Matcher>>,
    /// `all`: every value must match instead of any.
    pub all: bool,
}

/// A named search of the detection section.
#[derive(Debug, Clone)]
pub enum Search {
    /// A mapping: every field match must hold.
    AllOf(Vec<FieldMatch>),
    /// A list of mappings or keyword groups: any must hold.
    AnyOf(Vec<Search>),
}

/// A detection problem, with the position it refers to.
#[derive(Debug, Clone)]
pub struct DetectionError {
    /// Where.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

fn err(pos: Pos, message: impl Into<String>) -> DetectionError {
    DetectionError {
        pos,
        message: message.into(),
    }
}

/// Every modifier this loader understands.
pub const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "windash",
    "base64",
    "base64offset",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "cased",
    "fieldref",
];

/// Parses one search (`selection: ...`).
pub fn parse_search(node: &SNode) -> Result<Search, DetectionError> {
    match &node.node {
        Node::Map(entries) => {
            let mut fields = Vec::new();
            for (k, v) in entries {
                let key = k.as_scalar().ok_or_else(|| {
                    err(
                        k.pos,
                        format!("a field name must be text, found {}", k.kind()),
                    )
                })?;
                fields.push(parse_field(&key, k.pos, v)?);
            }
            Ok(Search::AllOf(fields))
        }
        Node::Seq(items) => {
            if items.is_empty() {
                return Err(err(node.pos, "an empty list matches nothing"));
            }
            // Plain values in a list are keywords (any of them); maps are
            // alternatives.
            let (maps, words): (Vec<&SNode>, Vec<&SNode>) =
                items.iter().partition(|i| matches!(i.node, Node::Map(_)));
            let mut alts = Vec::new();
            for m in maps {
                alts.push(parse_search(m)?);
            }
            if !words.is_empty() {
                let values = keyword_values(
                    words
                        .iter()
                        .map(|w| value_matchers(w, &Mods::default()))
                        .collect::<Result<Vec<_>, _>>()?,
                );
                alts.push(Search::AllOf(vec![FieldMatch {
                    field: None,
                    pos: words[0].pos,
                    values,
                    all: false,
                }]));
            }
            Ok(if alts.len() == 1 {
                alts.pop().expect("one")
            } else {
                Search::AnyOf(alts)
            })
        }
        Node::Str(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_) => {
            let values = keyword_values(vec![value_matchers(node, &Mods::default())?]);
            Ok(Search::AllOf(vec![FieldMatch {
                field: None,
                pos: node.pos,
                values,
                all: false,
            }]))
        }
        Node::Null => Err(err(
            node.pos,
            "a search must be a mapping or a list, found null",
        )),
    }
}

/// Keywords match anywhere in the event's text: an implicit `contains`.
fn keyword_values(values: Vec<Vec<Matcher>>) -> Vec<Vec<Matcher>> {
    values
        .into_iter()
        .map(|alts| {
            alts.into_iter()
                .map(|m| match m {
                    Matcher::Glob(p) => Matcher::Glob(p.contains()),
                    other => other,
                })
                .collect()
        })
        .collect()
}

/// The modifiers written after a field name.
#[derive(Debug, Default, Clone)]
struct Mods {
    list: Vec<String>,
    pos: Pos,
}

impl Mods {
    fn has(&self, m: &str) -> bool {
        self.list.iter().any(|x| x == m)
    }
}

fn parse_field(key: &str, pos: Pos, value: &SNode) -> Result<FieldMatch, DetectionError> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default().to_owned();
    let mut mods = Mods {
        list: Vec::new(),
        pos,
    };
    let mut offset = name.chars().count() + 1;
    for m in parts {
        if !MODIFIERS.contains(&m) {
            let hint = match m {
                "startwith" | "starts_with" => " (did you mean `startswith`?)",
                "endwith" | "ends_with" => " (did you mean `endswith`?)",
                "contain" | "includes" => " (did you mean `contains`?)",
                "regex" => " (did you mean `re`?)",
                "wide" | "utf16" | "utf16le" | "utf16be" | "expand" => {
                    " (valid Sigma, but not supported on Linux recordings)"
                }
                _ => "",
            };
            return Err(err(
                pos.shifted(offset),
                format!("unknown modifier `{m}` on field `{name}`{hint}"),
            ));
        }
        offset += m.chars().count() + 1;
        mods.list.push(m.to_owned());
    }
    if ["i", "m", "s"].iter().any(|f| mods.has(f)) && !mods.has("re") {
        return Err(err(
            pos,
            "the modifiers `i`, `m` and `s` only apply with `re`",
        ));
    }
    let items: Vec<&SNode> = match &value.node {
        Node::Seq(items) => items.iter().collect(),
        _ => vec![value],
    };
    if items.is_empty() {
        return Err(err(
            value.pos,
            format!("field `{name}` has an empty list of values"),
        ));
    }
    let values = items
        .iter()
        .map(|v| value_matchers(v, &mods))
        .collect::<Result<Vec<_>, _>>()?;
    let values = if name.is_empty() {
        keyword_values(values)
    } else {
        values
    };
    Ok(FieldMatch {
        field: (!name.is_empty()).then_some(name),
        pos,
        values,
        all: mods.has("all"),
    })
}

fn value_matchers(v: &SNode, mods: &Mods) -> Result<Vec<Matcher>, DetectionError> {
    let text = match &v.node {
        Node::Null => {
            return Ok(vec![Matcher::Null]);
        }
        Node::Map(_) | Node::Seq(_) => {
            return Err(err(
                v.pos,
                format!("a value must be a scalar, found {}", v.kind()),
            ));
        }
        _ => v.as_scalar().unwrap_or_default(),
    };
    if mods.has("exists") {
        return match v.node {
            Node::Bool(b) => Ok(vec![Matcher::Exists(b)]),
            _ => Err(err(v.pos, "`exists` needs `true` or `false`")),
        };
    }
    for (m, op) in [
        ("gt", CmpOp::Gt),
        ("gte", CmpOp::Gte),
        ("lt", CmpOp::Lt),
        ("lte", CmpOp::Lte),
    ] {
        if mods.has(m) {
            let n: f64 = text
                .parse()
                .map_err(|_| err(v.pos, format!("`{m}` needs a number, found `{text}`")))?;
            return Ok(vec![Matcher::Compare(op, n)]);
        }
    }
    if mods.has("fieldref") {
        return Ok(vec![Matcher::FieldRef(text)]);
    }
    if mods.has("cidr") {
        return Cidr::parse(&text)
            .map(|c| vec![Matcher::Cidr(c)])
            .ok_or_else(|| err(v.pos, format!("`{text}` is not a network in CIDR notation")));
    }
    if mods.has("re") {
        let flags: String = ["i", "m", "s"]
            .iter()
            .filter(|f| mods.has(f))
            .copied()
            .collect();
        let source = if flags.is_empty() {
            text.clone()
        } else {
            format!("(?{flags}){text}")
        };
        let re = Regex::new(&source)
            .map_err(|e| err(v.pos, format!("invalid regular expression: {e}")))?;
        return Ok(vec![Matcher::Regex { source, re }]);
    }
    if let Node::Int(n) = v.node
        && mods.list.iter().all(|m| m == "all")
    {
        return Ok(vec![Matcher::Number(n)]);
    }
    // String values: parse wildcards, then apply the transformations in the
    // order written.
    let mut alts = vec![Pattern::parse(&text)];
    for m in &mods.list {
        alts = match m.as_str() {
            "windash" => alts.into_iter().flat_map(|p| windash(&p)).collect(),
            "base64" | "base64offset" => {
                let mut out = Vec::new();
                for p in alts {
                    let lit = p.as_literal().ok_or_else(|| {
                        err(v.pos, format!("`{m}` cannot encode a value with wildcards"))
                    })?;
                    if m == "base64" {
                        out.push(Pattern::literal(&base64(lit.as_bytes())));
                    } else {
                        out.extend(
                            base64_offsets(lit.as_bytes())
                                .iter()
                                .map(|s| Pattern::literal(s)),
                        );
                    }
                }
                out
            }
            "contains" => alts.into_iter().map(Pattern::contains).collect(),
            "startswith" => alts.into_iter().map(Pattern::starts_with).collect(),
            "endswith" => alts.into_iter().map(Pattern::ends_with).collect(),
            "cased" => alts
                .into_iter()
                .map(|p| Pattern { cased: true, ..p })
                .collect(),
            _ => alts,
        };
    }
    let _ = mods.pos;
    Ok(alts.into_iter().map(Matcher::Glob).collect())
}

/// `windash`: a `-` or `/` that starts a word (after a non-word character or
/// at the start) may be any of `-`, `/`, `–`, `—`, `―`. At most three are
/// expanded, as pySigma does.
fn windash(p: &Pattern) -> Vec<Pattern> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let mut out = vec![Pattern {
        pieces: Vec::new(),
        cased: p.cased,
    }];
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for piece in &p.pieces {
        let Piece::Lit(s) = piece else {
            for o in &mut out {
                o.pieces.push(piece.clone());
            }
            continue;
        };
        let chars: Vec<char> = s.chars().collect();
        let mut seg = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev_word = i > 0 && word(chars[i - 1]);
            let next_word = chars.get(i + 1).is_some_and(|&n| word(n));
            if (c == '-' || c == '/') && !prev_word && next_word && out.len() < 125 {
                let mut next = Vec::new();
                for o in &out {
                    for d in DASHES {
                        let mut n = o.clone();
                        append_lit(&mut n, &format!("{seg}{d}"));
                        next.push(n);
                    }
                }
                out = next;
                seg.clear();
            } else {
                seg.push(c);
            }
        }
        for o in &mut out {
            append_lit(o, &seg);
        }
    }
    out
}

fn append_lit(p: &mut Pattern, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Piece::Lit(l)) = p.pieces.last_mut() {
        l.push_str(s);
    } else {
        p.pieces.push(Piece::Lit(s.to_owned()));
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the three encodings of `data` at byte offsets 0, 1 and 2
/// within a longer base64 text, with the characters that depend on the
/// neighbours cut off.
pub fn base64_offsets(data: &[u8]) -> [String; 3] {
    let starts = [0usize, 2, 3];
    std::array::from_fn(|i| {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(data);
        let enc = base64(&buf);
        let end = match (data.len() + i) % 3 {
            0 => enc.len(),
            1 => enc.len().saturating_sub(3),
            _ => enc.len().saturating_sub(2),
        };
        enc.get(starts[i]..end.max(starts[i]))
            .unwrap_or("")
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants() {
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(
            base64_offsets(b"abc"),
            ["YWJj", "FiY", "hYm"].map(String::from)
        );
        assert_eq!(
            base64_offsets(b"/bin/sh"),
            ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"].map(String::from)
        );
    }

    #[test]
    fn windash_expands_word_initial_dashes() {
        let v = windash(&Pattern::parse("-foo-bar /x"));
        assert_eq!(v.len(), 25);
        assert!(v.iter().any(|p| p.to_string() == "/foo-bar -x"));
        assert!(v.iter().all(|p| p.to_string().contains("foo-bar")));
    }

    #[test]
    fn cidr() {
        let c = Cidr::parse("172.16.0.0/12").unwrap();
        assert!(c.contains("172.31.255.1") && !c.contains("172.32.0.1"));
        let c6 = Cidr::parse("fe80::/10").unwrap();
        assert!(c6.contains("fe80::1") && !c6.contains("fec0::1") && !c6.contains("10.0.0.1"));
    }
}
