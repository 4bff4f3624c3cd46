//! Errors of the Falco front end: every one names the file, the rule, macro
//! or list, the line and column, shows the line with a caret and, for
//! misspelled names, suggests the closest known one.

use std::fmt;
use std::path::PathBuf;

use super::source::Location;

/// A problem found while loading Falco rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong.
    pub message: String,
    /// Where (file, line, column and the line's text), when known.
    pub location: Option<Location>,
    /// The item it belongs to: `rule 'Foo'`, `macro 'bar'`, `list 'baz'`.
    pub item: Option<String>,
    /// Width of the caret underline (in characters), at least 1.
    pub width: usize,
    /// A hint such as `did you mean 'proc.name'?`.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(item) = &self.item {
            write!(f, " (in {item})")?;
        }
        if let Some(loc) = &self.location {
            let ln = loc.line.to_string();
            let pad = " ".repeat(ln.len());
            write!(
                f,
                "\n{pad}--> {}:{}:{}",
                loc.path.display(),
                loc.line,
                loc.col
            )?;
            write!(f, "\n{pad} |\n{ln} | {}", loc.line_text)?;
            let indent: String = loc
                .line_text
                .chars()
                .take(loc.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} | {indent}{}", "^".repeat(self.width.max(1)))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Errors returned by [`super::FalcoRuleSet::load`].
#[derive(Debug, thiserror::Error)]
pub enum FalcoError {
    /// A rules file could not be read.
    #[error("cannot read Falco rules file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML (a syntax error at `line`:`column`).
    #[error("{}:{line}:{column}: YAML syntax error: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: u32,
        /// 1-based column of the error.
        column: u32,
        /// What the YAML parser found wrong (without its position prefix).
        message: String,
    },
    /// The file is YAML, but not a Falco rules file.
    #[error("{path} is not a Falco rules file: {reason}")]
    NotFalco {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// Where (1-based line and column), when known.
        at: Option<(u32, u32)>,
    },
    /// One or more problems in the rules (all are reported, not only the first).
    #[error("{}", render_all(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_all(d: &[Diagnostic]) -> String {
    let mut s = String::new();
    for (i, d) in d.iter().enumerate() {
        if i > 0 {
            s.push_str("\n\n");
        }
        s.push_str(&d.to_string());
    }
    if d.len() > 1 {
        s.push_str(&format!("\n\n{} errors in Falco rules", d.len()));
    }
    s
}

/// The candidate closest to `name` (edit distance at most a third of its
/// length, at least 2), for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.len() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("proc.nme", ["proc.name", "proc.pname", "fd.name"]).as_deref(),
            Some("proc.name")
        );
        assert_eq!(suggest("zzzzzz", ["proc.name"]), None);
    }
}
