//! Verdict diffs between two rule versions on the same recordings.
//!
//! Verdicts are matched on (recording, `seq`, rule id). A verdict only in the
//! new report *appeared*, only in the old one *disappeared*; one in both
//! whose priority, output or action differs *changed*.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::output::rfc3339_ns;
use crate::verdict::{Report, Verdict};

/// How many example events are shown per rule and kind of change.
pub const EXAMPLES: usize = 3;

/// One example of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// The recording.
    pub recording: String,
    /// The event.
    pub seq: u64,
    /// Its time, ns.
    pub time_ns: i64,
    /// Its process.
    pub pid: i32,
    /// The old output (None when it appeared).
    pub old: Option<String>,
    /// The new output (None when it disappeared).
    pub new: Option<String>,
    /// For a changed verdict, what differs: `priority: Warning -> Error`,
    /// `action: none -> kill`, `rule name: A -> B`, `output` (empty when it
    /// appeared or disappeared).
    pub changes: Vec<String>,
}

/// The changes of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleDiff {
    /// The rule id.
    pub rule_id: String,
    /// Verdicts only in the new report.
    pub appeared: usize,
    /// Verdicts only in the old report.
    pub disappeared: usize,
    /// Verdicts in both that differ.
    pub changed: usize,
    /// Verdicts in both and identical.
    pub unchanged: usize,
    /// A few examples of each kind, in event order.
    pub examples: Vec<Example>,
}

/// A whole diff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Per rule, sorted by rule id; rules without any change are left out.
    pub rules: Vec<RuleDiff>,
    /// Total verdicts in the old report.
    pub old_verdicts: usize,
    /// Total verdicts in the new report.
    pub new_verdicts: usize,
}

impl Diff {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

type Key = (String, u64, String);

fn key(v: &Verdict) -> Key {
    (v.recording.clone(), v.seq, v.rule_id.clone())
}

fn differs(a: &Verdict, b: &Verdict) -> bool {
    !changes(a, b).is_empty()
}

/// What differs between two verdicts of the same rule on the same event.
fn changes(a: &Verdict, b: &Verdict) -> Vec<String> {
    let mut out = Vec::new();
    if a.priority != b.priority {
        out.push(format!("priority: {} -> {}", a.priority, b.priority));
    }
    if a.action != b.action {
        let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "none".into());
        out.push(format!(
            "action: {} -> {}",
            show(&a.action),
            show(&b.action)
        ));
    }
    if a.rule != b.rule {
        out.push(format!("rule name: {} -> {}", a.rule, b.rule));
    }
    if a.output != b.output {
        out.push("output".into());
    }
    out
}

/// Compares two reports.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let olds: BTreeMap<Key, &Verdict> = old.verdicts.iter().map(|v| (key(v), v)).collect();
    let news: BTreeMap<Key, &Verdict> = new.verdicts.iter().map(|v| (key(v), v)).collect();
    let mut per: BTreeMap<String, RuleDiff> = BTreeMap::new();
    let mut counts: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut push = |rule: &str, kind: usize, ex: Example| {
        let d = per.entry(rule.to_string()).or_insert_with(|| RuleDiff {
            rule_id: rule.to_string(),
            ..RuleDiff::default()
        });
        match kind {
            0 => d.appeared += 1,
            1 => d.disappeared += 1,
            _ => d.changed += 1,
        }
        let c = counts.entry(rule.to_string()).or_default();
        if c[kind] < EXAMPLES {
            c[kind] += 1;
            d.examples.push(ex);
        }
    };
    let ex = |v: &Verdict, old: Option<&Verdict>, new: Option<&Verdict>| Example {
        recording: v.recording.clone(),
        seq: v.seq,
        time_ns: v.time_ns,
        pid: v.pid,
        old: old.map(|o| o.output.clone()),
        new: new.map(|n| n.output.clone()),
        changes: match (old, new) {
            (Some(o), Some(n)) => changes(o, n),
            _ => Vec::new(),
        },
    };
    let mut unchanged: BTreeMap<String, usize> = BTreeMap::new();
    // Walk both in key order so examples come out in event order.
    let mut keys: Vec<&Key> = olds.keys().chain(news.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (olds.get(k), news.get(k)) {
            (None, Some(n)) => push(&k.2, 0, ex(n, None, Some(n))),
            (Some(o), None) => push(&k.2, 1, ex(o, Some(o), None)),
            (Some(o), Some(n)) if differs(o, n) => push(&k.2, 2, ex(n, Some(o), Some(n))),
            (Some(_), Some(_)) => *unchanged.entry(k.2.clone()).or_default() += 1,
            (None, None) => {}
        }
    }
    let rules = per
        .into_values()
        .map(|mut d| {
            d.unchanged = unchanged.get(&d.rule_id).copied().unwrap_or(0);
            d
        })
        .collect();
    Diff {
        rules,
        old_verdicts: old.verdicts.len(),
        new_verdicts: new.verdicts.len(),
    }
}

/// Writes a diff for people.
pub fn write_text(out: &mut dyn Write, d: &Diff) -> io::Result<()> {
    for r in &d.rules {
        writeln!(
            out,
            "rule {}: +{} appeared, -{} disappeared, ~{} changed, {} unchanged",
            r.rule_id, r.appeared, r.disappeared, r.changed, r.unchanged
        )?;
        for e in &r.examples {
            let sign = match (&e.old, &e.new) {
                (None, _) => '+',
                (_, None) => '-',
                _ => '~',
            };
            writeln!(
                out,
                "  {sign} {} seq {} pid {} ({})",
                e.recording,
                e.seq,
                e.pid,
                rfc3339_ns(e.time_ns)
            )?;
            if let Some(o) = &e.old
                && sign != '+'
            {
                writeln!(out, "      old: {o}")?;
            }
            if let Some(n) = &e.new
                && sign != '-'
            {
                writeln!(out, "      new: {n}")?;
            }
            // The output lines show an output change; say what else changed.
            let other: Vec<&str> = e
                .changes
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "output")
                .collect();
            if !other.is_empty() {
                writeln!(out, "      changed: {}", other.join(", "))?;
            }
        }
    }
    let (a, dis, c) = d.rules.iter().fold((0, 0, 0), |(a, b, c), r| {
        (a + r.appeared, b + r.disappeared, c + r.changed)
    });
    if d.is_empty() {
        writeln!(
            out,
            "no changes: {} verdicts before and after",
            d.old_verdicts
        )?;
    } else {
        writeln!(
            out,
            "{} rule{} changed: {a} verdicts appeared, {dis} disappeared, {c} changed ({} before, {} after)",
            d.rules.len(),
            if d.rules.len() == 1 { "" } else { "s" },
            d.old_verdicts,
            d.new_verdicts
        )?;
    }
    Ok(())
}
