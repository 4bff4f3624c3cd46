//! Sigma rule files: single rules and multi-document collections
//! (`action: global`, `reset`, `repeat`), metadata, `logsource`, `detection`.

use std::fmt;

use super::condition::{self, Cond};
use super::detection::{self, Search};
use super::yaml::{self, Node, Pos, SNode};

/// A load error: file, rule, line and column, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaError {
    /// The rule file.
    pub file: String,
    /// The rule's id (or title) when known.
    pub rule: Option<String>,
    /// Line and column (1-based; 0 when unknown).
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SigmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.pos.line, self.pos.column)?;
        if let Some(r) = &self.rule {
            write!(f, "rule {r}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SigmaError {}

/// The `logsource` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogSource {
    /// `product`, e.g. `linux`.
    pub product: Option<String>,
    /// `category`, e.g. `process_creation`.
    pub category: Option<String>,
    /// `service`, e.g. `auditd`.
    pub service: Option<String>,
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The levels of the Sigma specification, lowest first.
pub const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// One loaded Sigma rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// The file it came from.
    pub file: String,
    /// Where its document starts.
    pub pos: Pos,
    /// `id` (a UUID); the title when the rule has none.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `status` (`stable`, `test`, `experimental`, …).
    pub status: Option<String>,
    /// `level`, one of [`LEVELS`].
    pub level: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `tags` (ATT&CK tactics and techniques such as `attack.t1059.004`).
    pub tags: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// The detection's searches, in file order.
    pub searches: Vec<(String, Search)>,
    /// The condition (several conditions are joined with `or`).
    pub condition: Cond,
}

impl SigmaRule {
    /// The search called `name`.
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// The ATT&CK tags (`attack.*`).
    pub fn attack_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("attack."))
    }
}

/// Loads every rule of one file's text. `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Vec<SigmaRule>, SigmaError> {
    let docs = yaml::parse_documents(text).map_err(|(message, pos)| SigmaError {
        file: file.to_owned(),
        rule: None,
        pos,
        message: format!("malformed YAML: {message}"),
    })?;
    let mut rules = Vec::new();
    let mut global: Option<SNode> = None;
    let mut previous: Option<SNode> = None;
    for doc in docs {
        if !matches!(doc.node, Node::Map(_)) {
            return Err(SigmaError {
                file: file.to_owned(),
                rule: None,
                pos: doc.pos,
                message: format!("a Sigma document must be a mapping, found {}", doc.kind()),
            });
        }
        let action = doc.get("action").and_then(SNode::as_scalar);
        let body = without_key(&doc, "action");
        match action.as_deref() {
            Some("global") => {
                global = Some(match global {
                    Some(g) => merge(&g, &body),
                    None => body,
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some(prev) = &previous else {
                    return Err(SigmaError {
                        file: file.to_owned(),
                        rule: None,
                        pos: doc.pos,
                        message: "`action: repeat` needs a rule before it".into(),
                    });
                };
                let merged = merge(prev, &body);
                rules.push(parse_rule(file, &merged)?);
                previous = Some(merged);
            }
            None => {
                let merged = match &global {
                    Some(g) => merge(g, &body),
                    None => body,
                };
                rules.push(parse_rule(file, &merged)?);
                previous = Some(merged);
            }
            Some(other) => {
                return Err(SigmaError {
                    file: file.to_owned(),
                    rule: None,
                    pos: doc.get("action").map_or(doc.pos, |n| n.pos),
                    message: format!(
                        "unknown collection action `{other}` (expected global, reset or repeat)"
                    ),
                });
            }
        }
    }
    Ok(rules)
}

fn without_key(doc: &SNode, key: &str) -> SNode {
    match &doc.node {
        Node::Map(entries) => SNode {
            node: Node::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.as_scalar().as_deref() != Some(key))
                    .cloned()
                    .collect(),
            ),
            pos: doc.pos,
        },
        _ => doc.clone(),
    }
}

/// Deep merge: values of `over` win; mappings merge recursively.
fn merge(base: &SNode, over: &SNode) -> SNode {
    match (&base.node, &over.node) {
        (Node::Map(b), Node::Map(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                match out
                    .iter_mut()
                    .find(|(bk, _)| bk.as_scalar() == k.as_scalar())
                {
                    Some((_, bv)) => *bv = merge(bv, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            SNode {
                node: Node::Map(out),
                pos: over.pos,
            }
        }
        _ => over.clone(),
    }
}

fn string_list(node: Option<&SNode>) -> Vec<String> {
    match node.map(|n| &n.node) {
        Some(Node::Seq(items)) => items.iter().filter_map(SNode::as_scalar).collect(),
        Some(_) => node.and_then(SNode::as_scalar).into_iter().collect(),
        None => Vec::new(),
    }
}

fn parse_rule(file: &str, doc: &SNode) -> Result<SigmaRule, SigmaError> {
    let id = doc.get("id").and_then(SNode::as_scalar);
    let title = doc.get("title").and_then(SNode::as_scalar);
    let name = id.clone().or_else(|| title.clone());
    let fail = |pos: Pos, message: String| SigmaError {
        file: file.to_owned(),
        rule: name.clone(),
        pos,
        message,
    };
    let title = title.ok_or_else(|| fail(doc.pos, "the rule has no `title`".into()))?;
    if let Some(node) = doc.get("level")
        && let Some(level) = node.as_scalar()
        && !LEVELS.contains(&level.as_str())
    {
        let hint = crate::diag::suggest(&level, LEVELS.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(fail(
            node.pos,
            format!(
                "unknown level `{level}`{hint}; Sigma levels are {}",
                LEVELS.join(", ")
            ),
        ));
    }
    let logsource_node = doc
        .get("logsource")
        .ok_or_else(|| fail(doc.pos, "the rule has no `logsource`".into()))?;
    let text = |k: &str| logsource_node.get(k).and_then(SNode::as_scalar);
    let logsource = LogSource {
        product: text("product"),
        category: text("category"),
        service: text("service"),
    };
    let det = doc
        .get("detection")
        .ok_or_else(|| fail(doc.pos, "the rule has no `detection`".into()))?;
    let Node::Map(entries) = &det.node else {
        return Err(fail(
            det.pos,
            format!("`detection` must be a mapping, found {}", det.kind()),
        ));
    };
    let mut searches = Vec::new();
    let mut conditions: Vec<&SNode> = Vec::new();
    for (k, v) in entries {
        let key = k.as_scalar().unwrap_or_default();
        match key.as_str() {
            "condition" => match &v.node {
                Node::Seq(items) => conditions.extend(items.iter()),
                _ => conditions.push(v),
            },
            "timeframe" => {}
            _ => {
                let search = detection::parse_search(v)
                    .map_err(|e| fail(e.pos, format!("search `{key}`: {}", e.message)))?;
                searches.push((key, search));
            }
        }
    }
    if conditions.is_empty() {
        return Err(fail(det.pos, "the detection has no `condition`".into()));
    }
    let names: Vec<String> = searches.iter().map(|(n, _)| n.clone()).collect();
    let mut conds = Vec::new();
    for c in conditions {
        let Some(text) = c.as_scalar() else {
            return Err(fail(
                c.pos,
                format!("a condition must be text, found {}", c.kind()),
            ));
        };
        let cond = condition::parse(&text, &names).map_err(|e| {
            // The node position points at the first character of the scalar
            // (after an opening quote for quoted scalars).
            fail(
                condition::offset_pos(c.pos, &text, e.offset),
                format!("condition: {}", e.message),
            )
        })?;
        conds.push(cond);
    }
    let condition = if conds.len() == 1 {
        conds.pop().expect("one")
    } else {
        Cond::Or(conds)
    };
    Ok(SigmaRule {
        file: file.to_owned(),
        pos: doc.pos,
        id: id.unwrap_or_else(|| title.clone()),
        title,
        status: doc.get("status").and_then(SNode::as_scalar),
        level: doc.get("level").and_then(SNode::as_scalar),
        description: doc.get("description").and_then(SNode::as_scalar),
        author: doc.get("author").and_then(SNode::as_scalar),
        tags: string_list(doc.get("tags")),
        falsepositives: string_list(doc.get("falsepositives")),
        logsource,
        searches,
        condition,
    })
}
