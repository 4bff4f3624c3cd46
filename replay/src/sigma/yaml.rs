//! A YAML tree that remembers where every node came from.
//!
//! Sigma needs the order of keys, the difference between `4` and `'4'`, and a
//! line and column for every value so that errors can point at the spot.
//! serde-saphyr gives us spans through [`serde_saphyr::Spanned`]; this module
//! wraps them into a small owned tree.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A line and column in a rule file, both starting at 1 (0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl Pos {
    /// A position `chars` characters to the right on the same line.
    pub fn shifted(self, chars: usize) -> Pos {
        Pos {
            line: self.line,
            column: self.column + u32::try_from(chars).unwrap_or(0),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<SNode>),
    /// A mapping, in file order.
    Map(Vec<(SNode, SNode)>),
}

/// A [`Node`] with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct SNode {
    /// The value.
    pub node: Node,
    /// Where it starts.
    pub pos: Pos,
}

impl SNode {
    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&SNode> {
        match &self.node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_scalar().as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar (string, number, boolean), `None` for null,
    /// sequences and mappings.
    pub fn as_scalar(&self) -> Option<String> {
        match &self.node {
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Str(s) => Some(s.clone()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.node {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for SNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        Ok(SNode {
            node: spanned.value,
            pos: Pos {
                line: u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX),
                column: u32::try_from(spanned.referenced.column()).unwrap_or(u32::MAX),
            },
        })
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<SNode>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<SNode>()? {
            let value = map.next_value::<SNode>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// Parses every document of a YAML stream. On failure returns the message and
/// the position serde-saphyr reported.
pub fn parse_documents(text: &str) -> Result<Vec<SNode>, (String, Pos)> {
    serde_saphyr::from_multiple::<SNode>(text).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: u32::try_from(l.line()).unwrap_or(0),
                column: u32::try_from(l.column()).unwrap_or(0),
            })
            .unwrap_or_default();
        let msg = e.to_string();
        // serde-saphyr appends a snippet; the first line is the message.
        let first = msg.lines().next().unwrap_or("invalid YAML");
        (bare_message(first).to_owned(), pos)
    })
}

/// A parser message without its own `error: line N column M: ` prefix (the
/// caller reports the position).
fn bare_message(msg: &str) -> &str {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    let Some(rest) = msg.strip_prefix("line ") else {
        return msg;
    };
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match rest.split_once(" column ") {
        Some((line, tail)) if number(line) => match tail.split_once(": ") {
            Some((col, m)) if number(col) => m,
            _ => msg,
        },
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_order_and_types() {
        let docs = parse_documents("a: 1\nb:\n  - 'x'\n  - 4\n---\nc: ~\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        let Node::Seq(items) = &b.node else { panic!() };
        assert_eq!(items[0].node, Node::Str("x".into()));
        assert_eq!(items[0].pos, Pos { line: 3, column: 5 });
        assert_eq!(items[1].node, Node::Int(4));
        assert_eq!(docs[1].get("c").unwrap().node, Node::Null);
        let Node::Map(entries) = &docs[0].node else {
            panic!()
        };
        assert_eq!(entries[1].0.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn reports_syntax_error_position() {
        let (msg, pos) = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(!msg.is_empty());
        assert!(
            !msg.starts_with("error") && !msg.starts_with("line "),
            "{msg}"
        );
        assert_eq!(
            bare_message("error: line 7 column 12: illegal placement"),
            "illegal placement"
        );
        assert_eq!(bare_message("line x column 1: m"), "line x column 1: m");
        assert!(pos.line >= 1, "{pos:?}");
    }
}
