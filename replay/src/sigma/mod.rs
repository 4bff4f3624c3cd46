//! Sigma rules for Linux, evaluated over syscall recordings.
//!
//! [`load_str`] / [`load_file`] read Sigma YAML (single rules and collections)
//! into [`SigmaRule`]s with positions for every error. [`SigmaRule::analyze`]
//! (through [`Compiled::new`]) decides whether a rule applies to a syscall
//! recording at all, which views of the recording it reads, and which of its
//! fields a recording cannot fill. [`Compiled::matches`] evaluates it on one
//! event with Sigma's semantics.
//!
//! The field mapping and the views are in [`fields`]; the book chapter
//! `book/src/sigma.md` documents them for users.

pub mod compile;
pub mod condition;
pub mod detection;
pub mod eval;
pub mod fields;
pub mod pattern;
pub mod rule;
pub mod yaml;

use std::collections::BTreeSet;
use std::path::Path;

use hindsight_format::Event;

pub use compile::Sigma;
pub use rule::{LogSource, SigmaError, SigmaRule, load_str};

use eval::{State, Tri};
use fields::View;

/// Loads every rule of a Sigma file.
pub fn load_file(path: &Path) -> Result<Vec<SigmaRule>, SigmaError> {
    let text = std::fs::read_to_string(path).map_err(|e| SigmaError {
        file: path.display().to_string(),
        rule: None,
        pos: yaml::Pos::default(),
        message: format!("cannot read: {e}"),
    })?;
    load_str(&path.display().to_string(), &text)
}

/// Whether a YAML text looks like Sigma (top-level `detection:` and
/// `logsource:` keys), for auto-detecting the rule language of a file.
pub fn looks_like_sigma(text: &str) -> bool {
    let has = |k: &str| text.lines().any(|l| l.starts_with(k));
    has("detection:") && has("logsource:")
}

/// Whether a rule can say anything about a syscall recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// It reads views of the recording and may fire.
    Applicable,
    /// Its log source has no equivalent in a syscall recording.
    NotApplicable(String),
    /// It applies, but every way it could match needs fields the recording
    /// does not have.
    CannotFire(Vec<String>),
}

impl std::fmt::Display for Applicability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Applicability::Applicable => f.write_str("applicable"),
            Applicability::NotApplicable(why) => write!(f, "not applicable: {why}"),
            Applicability::CannotFire(needs) => {
                write!(f, "cannot fire: needs {}", needs.join(", "))
            }
        }
    }
}

/// For compiled rule sets: how many Sigma rules were loaded but do not run
/// (not applicable to a syscall recording, or cannot fire), as one sentence
/// for the user; `None` when every Sigma rule runs.
pub fn inactive_summary(rules: &[crate::ir::Rule]) -> Option<String> {
    let sigma: Vec<&crate::ir::Rule> = rules
        .iter()
        .filter(|r| r.origin.language == "sigma")
        .collect();
    let count = |prefix: &str| {
        sigma
            .iter()
            .filter(|r| !r.enabled && r.description.starts_with(prefix))
            .count()
    };
    let (na, cf) = (count("not applicable"), count("cannot fire"));
    (na + cf > 0).then(|| {
        format!(
            "{} of {} Sigma rules do not run on syscall recordings ({na} not applicable, {cf} cannot fire); \
             `hindsight sigma check RULES` says why",
            na + cf,
            sigma.len()
        )
    })
}

/// A rule prepared for a recording.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The rule.
    pub rule: SigmaRule,
    /// Whether and why it can fire.
    pub applicability: Applicability,
    /// The views it reads (empty unless applicable).
    pub views: Vec<&'static View>,
    /// Fields it names that the recording never fills, although the rule
    /// can still fire (e.g. a filter on `OriginalFileName`).
    pub unfilled: Vec<String>,
}

impl Compiled {
    /// Analyzes `rule` against the views of its log source.
    pub fn new(rule: SigmaRule) -> Compiled {
        if let Some(why) = fields::not_applicable(&rule.logsource) {
            return Compiled {
                rule,
                applicability: Applicability::NotApplicable(why),
                views: Vec::new(),
                unfilled: Vec::new(),
            };
        }
        let mut views = Vec::new();
        let mut missing = BTreeSet::new();
        for v in fields::views_for(&rule.logsource) {
            // Name what is missing only in the views the rule is about
            // (an auditd `type: SYSCALL` selection is not about EXECVE rows).
            if eval::partial(&rule, &rule.condition, v, false) != Tri::False {
                eval::missing_fields(&rule, v, &mut missing);
            }
            if eval::partial(&rule, &rule.condition, v, true) != Tri::False {
                views.push(v);
            }
        }
        if missing.is_empty() && views.is_empty() {
            for v in fields::views_for(&rule.logsource) {
                eval::missing_fields(&rule, v, &mut missing);
            }
        }
        // A misspelled field (`CommandLIne`) names its close match.
        let known: BTreeSet<&str> = fields::views_for(&rule.logsource)
            .iter()
            .flat_map(|v| v.fields().iter().map(|(f, _)| *f))
            .collect();
        let missing: Vec<String> = missing
            .into_iter()
            .map(|f| {
                // A known field the recording cannot fill is named as is.
                let close = (!known.contains(f.as_str()))
                    .then(|| crate::diag::suggest(&f, known.iter().copied()))
                    .flatten();
                match close {
                    Some(s) => format!("{f} (did you mean {s}?)"),
                    None => f,
                }
            })
            .collect();
        if views.is_empty() {
            let needs = if missing.is_empty() {
                vec!["fields this log source does not have".to_owned()]
            } else {
                missing
            };
            return Compiled {
                rule,
                applicability: Applicability::CannotFire(needs),
                views,
                unfilled: Vec::new(),
            };
        }
        Compiled {
            rule,
            applicability: Applicability::Applicable,
            views,
            unfilled: missing,
        }
    }

    /// Whether the rule matches `ev` (with the process state at that moment).
    pub fn matches(&self, ev: &Event, state: &dyn State) -> bool {
        self.matching_view(ev, state).is_some()
    }

    /// The first view through which the rule matches `ev`.
    pub fn matching_view(&self, ev: &Event, state: &dyn State) -> Option<&'static View> {
        self.views
            .iter()
            .copied()
            .find(|v| eval::in_view(v, ev) && eval::matches_in_view(&self.rule, v, ev, state))
    }
}
