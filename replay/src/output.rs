//! Printing a [`Report`]: `text`, `json`, `jsonl` and `falco-json`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::verdict::{Report, Verdict};

/// Output formats of `hindsight replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per verdict, then enforcement results and a summary.
    Text,
    /// One JSON document: `{verdicts, enforcements, suppressed, events, lost_events}`.
    Json,
    /// One JSON object per line, each with `"type"`: `verdict`, `enforcement`, `suppressed`, `summary`.
    Jsonl,
    /// One Falco-compatible JSON alert per line (`output`, `priority`, `rule`, `time`, `output_fields`, `tags`, …).
    FalcoJson,
}

/// Nanoseconds since the epoch as RFC 3339 with nanoseconds, UTC.
pub fn rfc3339_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Short names for the recordings of a replay of several: each path without
/// the directories all of them share (`host=db-1/date=2026-11-20/rec` for a
/// fleet tree), or the whole path when that would be empty or ambiguous.
/// Empty for a replay of one recording, whose lines need no name.
pub fn recording_labels(recordings: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if recordings.len() < 2 {
        return out;
    }
    let parts: Vec<Vec<&str>> = recordings
        .iter()
        .map(|r| {
            r.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect()
        })
        .collect();
    let common = (0..)
        .take_while(|&i| {
            let first = parts[0].get(i);
            first.is_some() && parts.iter().all(|p| p.get(i) == first)
        })
        .count();
    let short: Vec<String> = parts
        .iter()
        .map(|p| p[common.min(p.len())..].join("/"))
        .collect();
    let unique: BTreeSet<&String> = short.iter().collect();
    let usable = unique.len() == short.len() && short.iter().all(|s| !s.is_empty());
    for (r, s) in recordings.iter().zip(short) {
        out.insert(r.clone(), if usable { s } else { r.clone() });
    }
    out
}

/// `recording ` for a line of a replay of several recordings, else nothing.
fn recording_prefix(labels: &BTreeMap<String, String>, recording: &str) -> String {
    match labels.get(recording) {
        Some(l) => format!("{l} "),
        None if labels.is_empty() => String::new(),
        None => format!("{recording} "),
    }
}

fn verdict_line(v: &Verdict, labels: &BTreeMap<String, String>) -> String {
    let mut s = format!(
        "{} {:<13} {} [{}seq {} pid {}]: {}",
        rfc3339_ns(v.time_ns),
        v.priority,
        v.rule,
        recording_prefix(labels, &v.recording),
        v.seq,
        v.pid,
        v.output
    );
    if v.possibly_incomplete {
        s.push_str(" (possibly incomplete: events were lost nearby)");
    }
    s
}

/// The JSON object of one verdict (without `type`).
pub fn verdict_json(v: &Verdict) -> Value {
    let mut m = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut m {
        // Fields as an object (name → value), in the rule's field order.
        let fields: serde_json::Map<String, Value> = v.fields.iter().cloned().collect();
        o.insert("fields".into(), Value::Object(fields));
        o.insert("time".into(), rfc3339_ns(v.time_ns).into());
    }
    m
}

fn falco_json(v: &Verdict) -> Value {
    let fields: serde_json::Map<String, Value> = v.fields.iter().cloned().collect();
    json!({
        "hostname": v.event.get("host_name").cloned().unwrap_or(Value::Null),
        "output": format!("{}: {} {}", rfc3339_ns(v.time_ns), v.priority, v.output),
        "output_fields": fields,
        "priority": v.priority,
        "rule": v.rule,
        "source": "syscall",
        "tags": v.tags,
        "time": rfc3339_ns(v.time_ns),
    })
}

/// Writes `report` in `format`. `simulated` adds the enforcement sections to text.
pub fn write(
    out: &mut dyn Write,
    report: &Report,
    format: Format,
    simulated: bool,
) -> io::Result<()> {
    match format {
        Format::Text => {
            let labels = recording_labels(&report.recordings);
            for v in &report.verdicts {
                writeln!(out, "{}", verdict_line(v, &labels))?;
            }
            if simulated {
                writeln!(out)?;
                writeln!(out, "Enforcement (simulated):")?;
                if report.enforcements.is_empty() {
                    writeln!(out, "  no rule with an action fired")?;
                }
                for e in &report.enforcements {
                    writeln!(
                        out,
                        "  {}seq {} {}: {} ({})",
                        recording_prefix(&labels, &e.recording),
                        e.seq,
                        e.rule_id,
                        e.summary,
                        e.action
                    )?;
                }
                writeln!(
                    out,
                    "Events that would not have happened: {}",
                    report.suppressed.len()
                )?;
                for s in &report.suppressed {
                    writeln!(
                        out,
                        "  {}seq {} pid {} {}: {} (enforcement at seq {})",
                        recording_prefix(&labels, &s.recording),
                        s.seq,
                        s.pid,
                        s.what,
                        s.reason,
                        s.because_of
                    )?;
                }
            }
            let rules: std::collections::BTreeSet<&str> =
                report.verdicts.iter().map(|v| v.rule_id.as_str()).collect();
            let over = match report.recordings.len() {
                0 | 1 => String::new(),
                n => format!("{n} recordings, "),
            };
            // The rules that fired of those loaded: "from 0 of 0 rules"
            // tells a replay that loaded nothing from a quiet one.
            writeln!(
                out,
                "{} verdict{} from {} of {} rule{} over {over}{} events ({} lost)",
                report.verdicts.len(),
                if report.verdicts.len() == 1 { "" } else { "s" },
                rules.len(),
                report.rules,
                if report.rules == 1 { "" } else { "s" },
                report.events,
                report.lost_events
            )?;
        }
        Format::Json => {
            let doc = json!({
                "verdicts": report.verdicts.iter().map(verdict_json).collect::<Vec<_>>(),
                "enforcements": report.enforcements,
                "suppressed": report.suppressed,
                "events": report.events,
                "lost_events": report.lost_events,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            let line = |out: &mut dyn Write, kind: &str, mut v: Value| -> io::Result<()> {
                if let Value::Object(o) = &mut v {
                    o.insert("type".into(), kind.into());
                }
                serde_json::to_writer(&mut *out, &v)?;
                writeln!(out)
            };
            for v in &report.verdicts {
                line(out, "verdict", verdict_json(v))?;
            }
            for e in &report.enforcements {
                line(
                    out,
                    "enforcement",
                    serde_json::to_value(e).unwrap_or(Value::Null),
                )?;
            }
            for s in &report.suppressed {
                line(
                    out,
                    "suppressed",
                    serde_json::to_value(s).unwrap_or(Value::Null),
                )?;
            }
        }
        Format::FalcoJson => {
            for v in &report.verdicts {
                serde_json::to_writer(&mut *out, &falco_json(v))?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_named_only_when_there_are_several() {
        let one = vec!["fixtures/recordings/intrusion".to_string()];
        assert!(recording_labels(&one).is_empty());
        let fleet = vec![
            "fixtures/recordings/fleet/host=db-1/date=2026-11-20/rec".to_string(),
            "fixtures/recordings/fleet/host=web-1/date=2026-11-20/rec".to_string(),
        ];
        let l = recording_labels(&fleet);
        assert_eq!(l[&fleet[0]], "host=db-1/date=2026-11-20/rec");
        assert_eq!(l[&fleet[1]], "host=web-1/date=2026-11-20/rec");
        // The same recording twice: only the whole path says which line is which (it cannot).
        let twice = vec!["a/rec".to_string(), "./a/rec".to_string()];
        assert_eq!(recording_labels(&twice)["./a/rec"], "./a/rec");
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_ns(1_764_064_800_123_456_789),
            "2025-11-25T10:00:00.123456789Z"
        );
    }
}
