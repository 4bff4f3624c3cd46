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
