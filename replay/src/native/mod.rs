//! Hindsight's native rules: YAML documents whose conditions are SQL boolean
//! expressions over event and state fields.
//!
//! ```yaml
//! - rule: Shadow file read
//!   description: Something other than the login tools read /etc/shadow.
//!   priority: warning
//!   tags: [T1003.008, credential_access]
//!   condition: >
//!     syscall IN ('open', 'openat', 'openat2') AND file_path = '/etc/shadow'
//!     AND NOT proc_exe IN ('/usr/sbin/sshd', '/usr/bin/login')
//!   output: "%proc_exe (pid %proc_pid) read %file_path"
//!   action: kill            # or kill_tree, or {deny: EACCES}
//!   enabled: true
//! ```
//!
//! See [`sql`] for the condition grammar and [`crate::field::Field`] for the names.

pub mod sql;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::ir::{Action, Origin, Priority, Rule};
use crate::lang::{RuleLanguage, SourceFile};

/// The native rule language (`hindsight`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl RuleLanguage for Native {
    fn name(&self) -> &'static str {
        "hindsight"
    }

    fn detect(&self, file: &SourceFile) -> u8 {
        detect(&file.text)
    }

    fn compile(&self, files: &[SourceFile]) -> Result<Vec<Rule>, Vec<Diagnostic>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match compile_file(f) {
                Ok(mut r) => rules.append(&mut r),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }
}

/// A native file is a YAML sequence of mappings with `rule:` and `condition:`
/// and, unlike Falco, `description:` (not `desc:`) and no `macro:`/`list:` items.
fn detect(text: &str) -> u8 {
    let mut rule = false;
    let mut description = false;
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if t.starts_with("rule:") {
            rule = true;
        } else if t.starts_with("description:") {
            description = true;
        } else if t.starts_with("desc:")
            || t.starts_with("macro:")
            || t.starts_with("list:")
            || t.starts_with("required_engine_version:")
            || t.starts_with("detection:")
        {
            return 0;
        }
    }
    match (rule, description) {
        (true, true) => 90,
        (true, false) => 40,
        _ => 0,
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAction {
    Word(String),
    Deny { deny: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    rule: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    condition: Spanned<String>,
    #[serde(default)]
    output: Option<Spanned<String>>,
    #[serde(default)]
    action: Option<Spanned<RawAction>>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// Maps a byte offset of a scalar's value to (line, column) in the file.
///
/// Works for plain, quoted and block (`|`, `>`) scalars: walks the file's
/// lines from the scalar's start and matches them against the value in order.
fn locate(text: &str, start: (u32, u32), value: &str, offset: usize) -> (u32, u32) {
    let lines: Vec<&str> = text.lines().collect();
    let (line0, col0) = (start.0.max(1) as usize - 1, start.1.max(1) as usize - 1);
    let mut pos = 0;
    let mut best = (start.0, start.1);
    for (li, line) in lines.iter().enumerate().skip(line0) {
        let (mut seg, mut base) = if li == line0 {
            let s = line.get(col0..).unwrap_or("");
            (s, col0)
        } else {
            (*line, 0)
        };
        if li == line0 && (seg.starts_with('|') || seg.starts_with('>')) {
            continue;
        }
        if li == line0 && (seg.starts_with('\'') || seg.starts_with('"')) {
            seg = &seg[1..];
            base += 1;
        }
        let trimmed = seg.trim_start();
        base += seg.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() {
            continue;
        }
        // Skip whitespace in the value, then match as much of this line as we can.
        let rest = &value[pos.min(value.len())..];
        let skip = rest.len() - rest.trim_start().len();
        let vstart = pos + skip;
        let matched = trimmed
            .bytes()
            .zip(value.as_bytes()[vstart.min(value.len())..].iter())
            .take_while(|(a, b)| a == *b)
            .count();
        if matched == 0 {
            break;
        }
        if offset < vstart + matched {
            let into = offset.saturating_sub(vstart);
            let col = line[..(base + into).min(line.len())].chars().count() + 1;
            return (li as u32 + 1, col as u32);
        }
        best = (
            li as u32 + 1,
            (line[..(base + matched).min(line.len())].chars().count() + 1) as u32,
        );
        pos = vstart + matched;
    }
    best
}

fn sql_diag(f: &SourceFile, span: &Spanned<String>, e: &sql::SqlError) -> Diagnostic {
    let start = (
        span.referenced.line() as u32,
        span.referenced.column() as u32,
    );
    let (line, col) = locate(&f.text, start, &span.value, e.start);
    let len = span
        .value
        .get(e.start..e.end.min(span.value.len()))
        .map_or(1, |s| s.chars().count().max(1)) as u32;
    // Do not draw past the end of the line.
    let d = Diagnostic::at(&f.path, &f.text, line, col, len, e.message.clone());
    let max = d.source_line.as_deref().map_or(len, |l| {
        (l.chars().count() as u32 + 1).saturating_sub(col).max(1)
    });
    let d = Diagnostic {
        len: len.min(max),
        ..d
    };
    match &e.help {
        Some(h) => d.with_help(h.clone()),
        None => d,
    }
}

fn compile_file(f: &SourceFile) -> Result<Vec<Rule>, Vec<Diagnostic>> {
    let raw: Vec<RawRule> = match serde_saphyr::from_str(&f.text) {
        Ok(Some(r)) => r,
        Ok(None) => Vec::<RawRule>::new(),
        Err(e) => {
            let (line, col) = e
                .location()
                .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
            let msg = e.to_string();
            let mut msg = msg.lines().next().unwrap_or("invalid YAML").to_string();
            // serde-saphyr prefixes `error: line L column C: `; we print the position ourselves.
            if let Some(rest) = msg.strip_prefix("error: ")
                && let Some((pos, text)) = rest.split_once(": ")
                && pos.starts_with("line ")
            {
                msg = text.to_string();
            }
            let d = Diagnostic::at(
                &f.path,
                &f.text,
                line,
                col,
                1,
                format!("invalid rule file: {msg}"),
            );
            const KEYS: [&str; 8] = [
                "rule",
                "description",
                "priority",
                "tags",
                "condition",
                "output",
                "action",
                "enabled",
            ];
            let d = if msg.contains("unknown field") {
                let name = msg.split('`').nth(1).unwrap_or("");
                match crate::diag::suggest(name, KEYS) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("a rule has: {}", KEYS.join(", "))),
                }
            } else {
                d
            };
            return Err(vec![d]);
        }
    };
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for r in raw {
        let at = |s: &Spanned<String>, msg: String| {
            Diagnostic::at(
                &f.path,
                &f.text,
                s.referenced.line() as u32,
                s.referenced.column() as u32,
                s.value.chars().count().max(1) as u32,
                msg,
            )
        };
        let condition = match sql::parse(&r.condition.value) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(sql_diag(f, &r.condition, &e));
                None
            }
        };
        let output = match &r.output {
            None => Some(vec![crate::ir::Part::Text(r.rule.value.clone())]),
            Some(o) => match sql::template(&o.value) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(sql_diag(f, o, &e));
                    None
                }
            },
        };
        let priority = match &r.priority {
            None => Some(Priority::Warning),
            Some(p) => match Priority::parse(&p.value) {
                Some(p) => Some(p),
                None => {
                    let names: Vec<String> = Priority::ALL
                        .iter()
                        .map(|p| p.as_str().to_ascii_lowercase())
                        .collect();
                    errors.push(
                        at(p, format!("unknown priority `{}`", p.value))
                            .suggest(
                                &p.value.to_ascii_lowercase(),
                                names.iter().map(String::as_str),
                            )
                            .with_help(format!("one of: {}", names.join(", "))),
                    );
                    None
                }
            },
        };
        let action = match &r.action {
            None => Some(None),
            Some(a) => {
                let line = a.referenced.line() as u32;
                let col = a.referenced.column() as u32;
                match &a.value {
                    RawAction::Word(w) if w == "kill" => Some(Some(Action::Kill)),
                    RawAction::Word(w) if w == "kill_tree" => Some(Some(Action::KillTree)),
                    RawAction::Deny { deny } => match crate::errno::parse(deny) {
                        Some(e) => Some(Some(Action::Deny(e))),
                        None => {
                            errors.push(
                                Diagnostic::at(
                                    &f.path,
                                    &f.text,
                                    line,
                                    col,
                                    1,
                                    format!("unknown errno `{deny}`"),
                                )
                                .suggest(&deny.to_ascii_uppercase(), crate::errno::names()),
                            );
                            None
                        }
                    },
                    RawAction::Word(w) => {
                        errors.push(
                            Diagnostic::at(
                                &f.path,
                                &f.text,
                                line,
                                col,
                                w.chars().count().max(1) as u32,
                                format!("unknown action `{w}`"),
                            )
                            .suggest(w, ["kill", "kill_tree"])
                            .with_help("actions: kill, kill_tree, or {deny: ERRNO}"),
                        );
                        None
                    }
                }
            }
        };
        let name = r.rule.value.trim().to_string();
        if name.is_empty() {
            errors.push(at(&r.rule, "a rule needs a name".into()));
            continue;
        }
        if let (Some(condition), Some(output), Some(priority), Some(action)) =
            (condition, output, priority, action)
        {
            rules.push(Rule {
                id: name.clone(),
                name,
                description: r.description.trim().to_string(),
                priority,
                tags: r.tags,
                origin: Origin {
                    language: "hindsight",
                    file: f.path.clone(),
                    line: r.rule.referenced.line() as u32,
                },
                condition,
                output,
                action,
                enabled: r.enabled,
            });
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Rule>, String> {
        Native
            .compile(&[SourceFile {
                path: "r.yaml".into(),
                text: text.into(),
            }])
            .map_err(|d| {
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
    }

    #[test]
    fn loads_a_rule() {
        let r = load("- rule: a\n  description: d\n  priority: error\n  condition: syscall = 'openat'\n  output: '%proc_exe opened %file_path'\n  action: {deny: EACCES}\n").unwrap();
        assert_eq!(r[0].priority, Priority::Error);
        assert_eq!(r[0].action, Some(Action::Deny(13)));
        assert_eq!(r[0].origin.line, 1);
    }

    #[test]
    fn block_scalar_positions() {
        let text = "- rule: a\n  description: d\n  condition: >\n    syscall = 'openat'\n    AND proc_exee = 'x'\n";
        let e = load(text).unwrap_err();
        assert!(e.contains("r.yaml:5:9"), "{e}");
        assert!(e.contains("did you mean `proc_exe`?"), "{e}");
    }

    #[test]
    fn quoted_positions() {
        let text = "- rule: a\n  description: d\n  condition: \"syscall = 'x' and ret = 'y'\"\n";
        let e = load(text).unwrap_err();
        assert!(e.contains("r.yaml:3:33"), "{e}");
    }
}
