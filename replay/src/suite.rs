//! Rule test suites (`hindsight test`): every `*.test.yaml` file under a
//! directory (`*.test.yml` too, in any case; hidden directories left out) is one case naming recordings, rule files and an expected-verdicts
//! file; the case passes when replaying gives exactly the expected lines.
//!
//! ```yaml
//! # rules/tests/default.test.yaml — paths are relative to this file
//! recordings: [../../fixtures/recordings/intrusion]
//! rules: [../hindsight/default.yaml]
//! expected: default.expected.jsonl     # optional: <case>.expected.jsonl
//! simulate_enforcement: false           # optional
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;

use crate::diag::Diagnostic;
use crate::engine::{Engine, Options};
use crate::field::{Col, Field};
use crate::ir::{Cond, Rhs, Rule};
use crate::run::{RunError, columns_present, find_recordings, replay_one};
use crate::verdict::Report;

/// A case file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The case file is not valid.
    #[error("{message}")]
    BadCase {
        /// The case file.
        path: PathBuf,
        /// What is wrong, rendered with the file, line, column and a caret.
        message: String,
    },
    /// A rule file of the case does not compile.
    #[error("{}: rules do not load:\n{message}", path.display())]
    Rules {
        /// The case file.
        path: PathBuf,
        /// The diagnostics.
        message: String,
    },
    /// A recording cannot be read.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A recording of a case cannot be read.
    #[error("{}: {source}", path.display())]
    Recording {
        /// The case file.
        path: PathBuf,
        /// What went wrong.
        source: RunError,
    },
    /// The directory holds no test case: a CI job pointed at the wrong path
    /// must not pass.
    #[error(
        "{}: no test cases here (no *.test.yaml or *.test.yml file in it or below it, hidden directories left out)",
        dir.display()
    )]
    NoCases {
        /// The directory searched.
        dir: PathBuf,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    recordings: Vec<String>,
    rules: Vec<String>,
    #[serde(default)]
    expected: Option<String>,
    #[serde(default)]
    simulate_enforcement: bool,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case name (file name without `.test.yaml` or `.test.yml`).
    pub name: String,
    /// The case file.
    pub file: PathBuf,
    /// The expected-verdicts file.
    pub expected_file: PathBuf,
    /// Lines expected but not produced.
    pub missing: Vec<String>,
    /// Lines produced but not expected.
    pub unexpected: Vec<String>,
    /// Every line produced.
    pub actual: Vec<String>,
    /// The expected file does not exist yet.
    pub no_expected_file: bool,
    /// The case could not run (its file, rules, recordings or expected file
    /// are unusable): the error, which names the case file. The other cases
    /// still run.
    pub error: Option<String>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.missing.is_empty()
            && self.unexpected.is_empty()
            && !self.no_expected_file
    }

    /// Whether the case could not run.
    pub fn errored(&self) -> bool {
        self.error.is_some()
    }

    /// Whether the case ran and its verdicts differ from the expected ones.
    pub fn failed(&self) -> bool {
        !self.passed() && !self.errored()
    }
}

/// A rule and why it is listed in coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    /// The rule id.
    pub rule_id: String,
    /// Where it is defined.
    pub origin: String,
    /// For rules that cannot fire: the columns it needs that no recording has.
    pub missing_columns: Vec<String>,
}

/// The outcome of a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    /// Every case, sorted by file.
    pub cases: Vec<CaseResult>,
    /// Rules that never fired on any case (and could have).
    pub never_fired: Vec<Uncovered>,
    /// Rules that cannot fire on the cases' recordings: they need columns those lack.
    pub cannot_fire: Vec<Uncovered>,
    /// Rules that were loaded but are not evaluated: `enabled: false`, or
    /// Sigma rules that do not apply to syscall recordings. They are never
    /// tested, so coverage names them.
    pub disabled: Vec<Disabled>,
}

/// A loaded rule that no case can test, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// The rule id.
    pub rule_id: String,
    /// Where it is defined.
    pub origin: String,
    /// Why it does not run (e.g. `disabled`, `not applicable: ...`).
    pub reason: String,
}

impl SuiteResult {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(CaseResult::passed)
    }

    /// The cases that could not run.
    pub fn errored(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| c.errored())
    }
}

/// The keys of a case file.
const CASE_KEYS: [&str; 4] = ["recordings", "rules", "expected", "simulate_enforcement"];

/// A case file serde-saphyr rejected, as a diagnostic at the spot: file,
/// line, column and a caret (and the keys, for an unknown one).
fn bad_case(file: &Path, text: &str, e: &serde_saphyr::Error) -> SuiteError {
    let (line, column, message) = crate::diag::yaml_error(e);
    let path = file.display().to_string();
    let d = Diagnostic::at(
        &path,
        text,
        line,
        column,
        1,
        format!("invalid test case: {message}"),
    );
    let d = match message.split('`').nth(1) {
        Some(name) if message.contains("unknown field") => {
            match crate::diag::suggest(name, CASE_KEYS) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!("a case has: {}", CASE_KEYS.join(", "))),
            }
        }
        _ => d,
    };
    SuiteError::BadCase {
        path: file.to_path_buf(),
        message: d.to_string().trim_end().to_string(),
    }
}

/// The case files under `dir` (`*.test.yaml`, `*.test.yml`, in any case),
/// sorted; hidden files and directories (`.git`) are left out, as
/// `replay --rules DIR` leaves them out ([`crate::lang::walk_files`]).
pub fn find_cases(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let out = crate::lang::walk_files(dir, &crate::lang::is_test_case)
        .map_err(|(path, source)| SuiteError::Io { path, source })?;
    if out.is_empty() {
        return Err(SuiteError::NoCases {
            dir: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// `target` as a path relative to the directory `base` (both resolved on
/// disk), e.g. `../../fixtures/recordings/x`; `None` when either is missing.
fn relative_to(base: &Path, target: &Path) -> Option<String> {
    let base = std::fs::canonicalize(base).ok()?;
    let target = std::fs::canonicalize(base.join(target)).ok()?;
    let common = base
        .components()
        .zip(target.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in base.components().skip(common) {
        out.push("..");
    }
    for c in target.components().skip(common) {
        out.push(c);
    }
    Some(out.display().to_string())
}

/// The lines of an expected-verdicts file for a report: one compact JSON
/// object per verdict, then per enforcement and per suppressed event.
pub fn report_lines(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for v in &report.verdicts {
        let mut j = json!({
            "recording": v.recording, "seq": v.seq, "rule": v.rule_id, "priority": v.priority,
            "pid": v.pid, "output": v.output,
        });
        if v.possibly_incomplete {
            j["possibly_incomplete"] = true.into();
        }
        out.push(j.to_string());
    }
    for e in &report.enforcements {
        out.push(json!({"recording": e.recording, "seq": e.seq, "enforcement": e.rule_id, "action": e.action, "pid": e.pid, "summary": e.summary}).to_string());
    }
    for s in &report.suppressed {
        out.push(json!({"recording": s.recording, "seq": s.seq, "suppressed": s.what, "pid": s.pid, "because_of": s.because_of, "reason": s.reason}).to_string());
    }
    out
}

/// Whether a condition can be true when only `present` columns ever hold values
/// (a test on a field whose columns are all absent is always false).
pub fn can_fire(c: &Cond, present: &BTreeSet<Col>) -> bool {
    let has = |f: &Field| {
        let cols = f.source_columns();
        cols.is_empty() || cols.iter().all(|c| present.contains(c))
    };
    match c {
        Cond::Const(b) => *b,
        Cond::And(v) => v.iter().all(|c| can_fire(c, present)),
        Cond::Or(v) => v.iter().any(|c| can_fire(c, present)),
        Cond::Not(_) => true,
        Cond::Exists(e) => has(&e.field),
        Cond::Test(t) => has(&t.lhs.field) && !matches!(&t.rhs, Rhs::Field(e) if !has(&e.field)),
    }
}

fn missing_columns(r: &Rule, present: &BTreeSet<Col>) -> Vec<String> {
    let mut m: BTreeSet<&'static str> = BTreeSet::new();
    for f in r.condition.fields() {
        for c in f.source_columns() {
            if !present.contains(&c) {
                m.insert(c.name());
            }
        }
    }
    m.into_iter().map(str::to_string).collect()
}

/// Runs one case: its result, and what it adds to coverage.
fn run_case(
    file: &Path,
    update: bool,
    presence: &mut BTreeMap<PathBuf, BTreeSet<Col>>,
) -> Result<CaseRun, SuiteError> {
    let file = file.to_path_buf();
    let recording_error = |source| SuiteError::Recording {
        path: file.clone(),
        source,
    };
    let recording_error = &recording_error;
    let text = std::fs::read_to_string(&file).map_err(|source| SuiteError::Io {
        path: file.clone(),
        source,
    })?;
    let raw: RawCase = serde_saphyr::from_str(&text).map_err(|e| bad_case(&file, &text, &e))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let name = case_name(&file);
    let rule_paths: Vec<PathBuf> = raw.rules.iter().map(|r| base.join(r)).collect();
    let set = crate::lang::load(&rule_paths).map_err(|d| SuiteError::Rules {
        path: file.clone(),
        message: d.to_string(),
    })?;
    let engine = Engine::new(&set.rules).map_err(|e| SuiteError::Rules {
        path: file.clone(),
        message: e.to_string(),
    })?;
    let options = Options {
        simulate_enforcement: raw.simulate_enforcement,
    };
    let mut report = Report::default();
    let mut case_present: BTreeSet<Col> = BTreeSet::new();
    for rel in &raw.recordings {
        for path in find_recordings(&[base.join(rel)]).map_err(recording_error)? {
            let mut r =
                replay_one(&engine, &path, options, &mut |_| {}).map_err(recording_error)?;
            // Label with the path as the case wrote it, so expected files do not depend on the
            // checkout; an absolute path is labelled relative to the case's directory, as the
            // same recording written relative would be.
            let written = match relative_to(base, Path::new(rel)) {
                Some(r) if Path::new(rel).is_absolute() => r,
                _ => rel.clone(),
            };
            let label = match path.strip_prefix(base.join(rel)) {
                Ok(sub) if !sub.as_os_str().is_empty() => {
                    format!("{written}/{}", sub.display())
                }
                _ => written,
            };
            r.verdicts
                .iter_mut()
                .for_each(|v| v.recording = label.clone());
            r.enforcements
                .iter_mut()
                .for_each(|v| v.recording = label.clone());
            r.suppressed
                .iter_mut()
                .for_each(|v| v.recording = label.clone());
            report.verdicts.extend(r.verdicts);
            report.enforcements.extend(r.enforcements);
            report.suppressed.extend(r.suppressed);
            if !presence.contains_key(&path) {
                let p = columns_present(&path).map_err(recording_error)?;
                presence.insert(path.clone(), p);
            }
            case_present.extend(presence[&path].iter().copied());
        }
    }
    let fired: Vec<String> = report.verdicts.iter().map(|v| v.rule_id.clone()).collect();
    let actual = report_lines(&report);
    let expected_file = base.join(
        raw.expected
            .clone()
            .unwrap_or_else(|| format!("{name}.expected.jsonl")),
    );
    let (expected, no_expected_file) = match std::fs::read_to_string(&expected_file) {
        Ok(t) => (
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
            false,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), true),
        Err(source) => {
            return Err(SuiteError::Io {
                path: expected_file,
                source,
            });
        }
    };
    let exp_set: BTreeSet<&String> = expected.iter().collect();
    let act_set: BTreeSet<&String> = actual.iter().collect();
    let missing = expected
        .iter()
        .filter(|l| !act_set.contains(l))
        .cloned()
        .collect();
    let unexpected = actual
        .iter()
        .filter(|l| !exp_set.contains(l))
        .cloned()
        .collect();
    let mut case = CaseResult {
        name,
        file: file.clone(),
        expected_file: expected_file.clone(),
        missing,
        unexpected,
        actual,
        no_expected_file,
        error: None,
    };
    if update && !case.passed() {
        let mut text = case.actual.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(&expected_file, text).map_err(|source| SuiteError::Io {
            path: expected_file.clone(),
            source,
        })?;
        case.missing.clear();
        case.unexpected.clear();
        case.no_expected_file = false;
    }
    Ok(CaseRun {
        case,
        set,
        present: case_present,
        fired,
    })
}

/// What one case that ran adds to the suite's coverage.
struct CaseRun {
    case: CaseResult,
    /// Its rules, and what the ones that cannot fire need.
    set: crate::lang::RuleSet,
    /// The columns its recordings hold.
    present: BTreeSet<Col>,
    /// The rules that fired.
    fired: Vec<String>,
}

/// The case name of a case file (file name without `.test.yaml` or
/// `.test.yml`, in any case).
fn case_name(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    [".test.yaml", ".test.yml"]
        .iter()
        .find(|s| lower.ends_with(*s))
        .map_or(name.clone(), |s| name[..name.len() - s.len()].to_string())
}

/// Runs every case under `dir`; with `update`, rewrites the expected files.
///
/// A case that cannot run (a bad case file, rules that do not load, a
/// missing recording) is a [`CaseResult`] with an `error`; the other cases
/// still run. Only a directory without cases (or unreadable) is an `Err`.
pub fn run_suite(dir: &Path, update: bool) -> Result<SuiteResult, SuiteError> {
    let mut result = SuiteResult::default();
    let mut all_rules: BTreeMap<String, Rule> = BTreeMap::new();
    let mut disabled: BTreeMap<String, Rule> = BTreeMap::new();
    let mut fired: BTreeSet<String> = BTreeSet::new();
    let mut possible: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut presence: BTreeMap<PathBuf, BTreeSet<Col>> = BTreeMap::new();
    for file in find_cases(dir)? {
        let run = match run_case(&file, update, &mut presence) {
            Ok(run) => run,
            Err(e) => {
                result.cases.push(CaseResult {
                    name: case_name(&file),
                    file: file.clone(),
                    expected_file: PathBuf::new(),
                    missing: Vec::new(),
                    unexpected: Vec::new(),
                    actual: Vec::new(),
                    no_expected_file: false,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        let (set, case_present) = (&run.set, &run.present);
        for r in set.rules.iter().filter(|r| !r.enabled) {
            disabled.entry(r.id.clone()).or_insert_with(|| r.clone());
        }
        for r in set.rules.iter().filter(|r| r.enabled) {
            all_rules.entry(r.id.clone()).or_insert_with(|| r.clone());
            if can_fire(&r.condition, case_present) {
                possible.entry(r.id.clone()).or_default();
            } else {
                let mut missing = missing_columns(r, case_present);
                if missing.is_empty()
                    && let Some(needs) = set.remarks.cannot_fire.get(&r.id)
                {
                    // Fields no recording has (Falco `container.privileged`, …).
                    missing.push(needs.clone());
                }
                possible
                    .entry(format!("\0{}", r.id))
                    .or_default()
                    .extend(missing);
            }
        }
        fired.extend(run.fired);
        result.cases.push(run.case);
    }
    for (id, rule) in &all_rules {
        let origin = format!("{}:{}", rule.origin.file, rule.origin.line);
        if fired.contains(id) {
            continue;
        }
        if possible.contains_key(id) {
            result.never_fired.push(Uncovered {
                rule_id: id.clone(),
                origin,
                missing_columns: Vec::new(),
            });
        } else {
            let missing = possible
                .get(&format!("\0{id}"))
                .cloned()
                .unwrap_or_default();
            let missing: BTreeSet<String> = missing.into_iter().collect();
            result.cannot_fire.push(Uncovered {
                rule_id: id.clone(),
                origin,
                missing_columns: missing.into_iter().collect(),
            });
        }
    }
    for (id, rule) in &disabled {
        if all_rules.contains_key(id) {
            continue;
        }
        let sigma_reason = rule.origin.language == "sigma"
            && (rule.description.starts_with("not applicable")
                || rule.description.starts_with("cannot fire"));
        result.disabled.push(Disabled {
            rule_id: id.clone(),
            origin: format!("{}:{}", rule.origin.file, rule.origin.line),
            reason: if sigma_reason {
                rule.description.clone()
            } else {
                "disabled".to_string()
            },
        });
    }
    Ok(result)
}

fn xml_escape(s: &str) -> String {
    // XML 1.0 allows no control characters but tab and line breaks.
    let s: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A readable report of a suite run.
pub fn render_text(r: &SuiteResult) -> String {
    let mut out = String::new();
    for c in &r.cases {
        if c.passed() {
            out.push_str(&format!(
                "case {} ... ok ({} lines)\n",
                c.name,
                c.actual.len()
            ));
            continue;
        }
        if let Some(e) = &c.error {
            out.push_str(&format!(
                "case {} ... ERROR ({})\n",
                c.name,
                c.file.display()
            ));
            for l in e.lines() {
                if !l.is_empty() {
                    out.push_str("  ");
                }
                out.push_str(l);
                out.push('\n');
            }
            continue;
        }
        out.push_str(&format!("case {} ... FAILED\n", c.name));
        if c.no_expected_file {
            out.push_str(&format!(
                "  {} does not exist; run with --update to create it\n",
                c.expected_file.display()
            ));
        }
        for l in &c.missing {
            out.push_str(&format!("  - {l}\n"));
        }
        for l in &c.unexpected {
            out.push_str(&format!("  + {l}\n"));
        }
    }
    out.push_str("coverage:\n");
    if r.cases.iter().all(CaseResult::errored) {
        out.push_str("  no case ran\n");
    } else if r.never_fired.is_empty() && r.cannot_fire.is_empty() && r.disabled.is_empty() {
        out.push_str("  every rule fired at least once\n");
    }
    for u in &r.never_fired {
        out.push_str(&format!("  never fired: {} ({})\n", u.rule_id, u.origin));
    }
    for u in &r.cannot_fire {
        out.push_str(&format!(
            "  cannot fire on these recordings: {} ({}) needs {}\n",
            u.rule_id,
            u.origin,
            u.missing_columns.join(", ")
        ));
    }
    for d in &r.disabled {
        out.push_str(&format!(
            "  not run: {} ({}): {}\n",
            d.rule_id, d.origin, d.reason
        ));
    }
    let failed = r.cases.iter().filter(|c| c.failed()).count();
    let errored = r.errored().count();
    out.push_str(&format!(
        "{} case{}: {} passed, {failed} failed",
        r.cases.len(),
        if r.cases.len() == 1 { "" } else { "s" },
        r.cases.len() - failed - errored
    ));
    if errored > 0 {
        out.push_str(&format!(", {errored} could not run"));
    }
    out.push('\n');
    out
}

/// JUnit XML for CI systems.
pub fn render_junit(r: &SuiteResult) -> String {
    let failed = r.cases.iter().filter(|c| c.failed()).count();
    let errors = r.errored().count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"hindsight rules\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\">\n",
        r.cases.len()
    );
    for c in &r.cases {
        x.push_str(&format!(
            "    <testcase classname=\"hindsight.rules\" name=\"{}\" file=\"{}\"",
            xml_escape(&c.name),
            xml_escape(&c.file.display().to_string())
        ));
        if c.passed() {
            x.push_str("/>\n");
        } else if let Some(e) = &c.error {
            let first = e.lines().next().unwrap_or("the case could not run");
            x.push_str(&format!(
                ">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
                xml_escape(first),
                xml_escape(e)
            ));
        } else {
            let mut body = String::new();
            for l in &c.missing {
                body.push_str(&format!("- {l}\n"));
            }
            for l in &c.unexpected {
                body.push_str(&format!("+ {l}\n"));
            }
            x.push_str(&format!(
                ">\n      <failure message=\"{} missing, {} unexpected verdict lines\">{}</failure>\n    </testcase>\n",
                c.missing.len(),
                c.unexpected.len(),
                xml_escape(&body)
            ));
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_found_as_replay_finds_rule_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.TEST.YAML",
            "b.test.yml",
            "sub/c.Test.Yaml",
            ".git/hooks/d.test.yaml",
            ".hidden.test.yaml",
            "rules.yaml",
            "e.test.json",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "recordings: []\nrules: []\n").unwrap();
        }
        let found = find_cases(d).unwrap();
        let rel: Vec<_> = found.iter().map(|p| p.strip_prefix(d).unwrap()).collect();
        assert_eq!(
            rel,
            [
                Path::new("a.TEST.YAML"),
                Path::new("b.test.yml"),
                Path::new("sub/c.Test.Yaml"),
            ]
        );
        let names: Vec<String> = found.iter().map(|p| case_name(p)).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // Only hidden cases: none found.
        let hidden = tempfile::tempdir().unwrap();
        std::fs::create_dir(hidden.path().join(".git")).unwrap();
        std::fs::write(hidden.path().join(".git/x.test.yaml"), "").unwrap();
        assert!(matches!(
            find_cases(hidden.path()),
            Err(SuiteError::NoCases { .. })
        ));
    }
}
