//! Reading Falco rules files: the YAML items with their source locations.
//!
//! This layer only turns YAML into typed items; merging (`append`,
//! `override`), lists, macros and conditions are handled in
//! [`super::loader`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// A scalar or nested list, as found in list `items` and exception `values`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum YVal {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A nested list.
    List(Vec<YVal>),
}

impl YVal {
    /// The scalar as Falco's loader sees it (a string); `None` for lists.
    pub fn as_scalar(&self) -> Option<String> {
        match self {
            YVal::Str(s) => Some(s.clone()),
            YVal::Int(i) => Some(i.to_string()),
            YVal::Float(f) => Some(f.to_string()),
            YVal::Bool(b) => Some(b.to_string()),
            YVal::List(_) => None,
        }
    }
}

/// One exception of a rule.
#[allow(missing_docs)]
#[derive(Debug, Clone, Deserialize)]
pub struct RawException {
    pub name: Spanned<String>,
    #[serde(default)]
    pub fields: Option<YVal>,
    #[serde(default)]
    pub comps: Option<YVal>,
    #[serde(default)]
    pub values: Option<Vec<YVal>>,
}

/// One top-level item of a rules file: a rule, macro, list or version
/// requirement. All keys are optional here; [`super::loader`] checks which
/// combination is valid.
#[allow(missing_docs)]
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawItem {
    pub rule: Option<Spanned<String>>,
    #[serde(rename = "macro")]
    pub macro_: Option<Spanned<String>>,
    pub list: Option<Spanned<String>>,
    pub required_engine_version: Option<YVal>,
    pub required_plugin_versions: Option<Vec<BTreeMap<String, YVal>>>,
    pub condition: Option<Spanned<String>>,
    pub desc: Option<String>,
    pub output: Option<Spanned<String>>,
    pub priority: Option<Spanned<String>>,
    pub tags: Option<Vec<YVal>>,
    pub enabled: Option<bool>,
    pub source: Option<String>,
    pub append: Option<bool>,
    #[serde(rename = "override")]
    pub override_: Option<BTreeMap<String, Spanned<String>>>,
    pub exceptions: Option<Vec<RawException>>,
    pub items: Option<Vec<YVal>>,
    #[serde(rename = "skip-if-unknown-filter")]
    pub skip_if_unknown_filter: Option<bool>,
    pub warn_evttypes: Option<bool>,
    pub capture: Option<bool>,
    pub capture_duration: Option<u64>,
}

/// Every key an item of a Falco rules file may hold (the fields of
/// [`RawItem`], as spelled in YAML).
pub const ITEM_KEYS: &[&str] = &[
    "rule",
    "macro",
    "list",
    "required_engine_version",
    "required_plugin_versions",
    "condition",
    "desc",
    "output",
    "priority",
    "tags",
    "enabled",
    "source",
    "append",
    "override",
    "exceptions",
    "items",
    "skip-if-unknown-filter",
    "warn_evttypes",
    "capture",
    "capture_duration",
];

/// Keys of top-level items that Falco does not know, as (1-based line,
/// 1-based column, key). Falco ignores such keys, so a typo
/// (`enabeld: false`) would silently change nothing; callers warn.
///
/// Reads the lines of the top-level sequence: an item starts with `- ` and
/// its keys sit at the indentation of the first key, so nested mappings,
/// block scalars and flow continuations (all indented deeper) are skipped.
pub fn unknown_keys(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut dash_col: Option<usize> = None;
    let mut key_col: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let key_at = if rest.starts_with("- ") && dash_col.is_none_or(|d| d == indent) {
            dash_col = Some(indent);
            let after = &rest[2..];
            key_col = Some(indent + 2 + (after.len() - after.trim_start_matches(' ').len()));
            key_col
        } else if key_col == Some(indent) {
            key_col
        } else {
            None
        };
        let Some(col) = key_at else { continue };
        let body = &line[col..];
        let key_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(body.len());
        let key = &body[..key_len];
        let is_key = key_len > 0
            && body[key_len..].starts_with(':')
            && body[key_len + 1..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace);
        if is_key && !ITEM_KEYS.contains(&key) {
            out.push((i + 1, col + 1, key.to_string()));
        }
    }
    out
}

/// Parses a whole rules file into items. Any YAML error is returned with its
/// line and column.
pub fn parse_items(text: &str) -> Result<Vec<Spanned<RawItem>>, serde_saphyr::Error> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // An empty document or one holding only comments parses as null.
    let items: Option<Vec<Spanned<RawItem>>> = serde_saphyr::from_str(text)?;
    Ok(items.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_misspelled_item_keys_only() {
        let text = "\
- rule: A
  desc: x
  condition: >
    evt.type = open and
    enabeld: inside a block scalar
  enabeld: false
  exceptions:
    - name: e
      fields: [proc.name]
-   rule: B
    sourc: syscall
- list: l
  items: [a, b]
";
        assert_eq!(
            unknown_keys(text),
            [(6, 3, "enabeld".to_string()), (11, 5, "sourc".to_string())]
        );
    }
}
