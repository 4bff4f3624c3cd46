//! [`Diagnostic`]: a rule-file error with file, line, column, a caret under
//! the spot and an optional "did you mean" suggestion. Every rule language
//! reports its errors this way.

use std::fmt;

/// One error in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: u32,
    /// 1-based column in characters (0: the whole line).
    pub column: u32,
    /// How many characters to underline (at least 1 is drawn).
    pub len: u32,
    /// What is wrong.
    pub message: String,
    /// A hint (`did you mean `proc_exe`?`).
    pub help: Option<String>,
    /// The source line, copied at construction for rendering.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `line`/`column` (1-based) of `text`, the file's content.
    pub fn at(
        file: &str,
        text: &str,
        line: u32,
        column: u32,
        len: u32,
        message: impl Into<String>,
    ) -> Diagnostic {
        let source_line = (line > 0)
            .then(|| text.lines().nth(line as usize - 1).map(str::to_string))
            .flatten();
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            len,
            message: message.into(),
            help: None,
            source_line,
        }
    }

    /// A diagnostic about the whole file (unreadable, wrong language, …).
    pub fn file(file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            len: 0,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds `did you mean `X`?` when a candidate is close to `name`.
    pub fn suggest<'a>(
        self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        match suggest(name, candidates) {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        match (self.line, self.column) {
            (0, _) => writeln!(f, "  --> {}", self.file)?,
            (l, 0) => writeln!(f, "  --> {}:{l}", self.file)?,
            (l, c) => writeln!(f, "  --> {}:{l}:{c}", self.file)?,
        }
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {src}")?;
            if self.column > 0 {
                // Keep tabs so the caret lines up under the same characters.
                let lead: String = src
                    .chars()
                    .take(self.column as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let carets = "^".repeat(self.len.max(1) as usize);
                writeln!(f, "{pad} | {lead}{carets}")?;
            }
        }
        if let Some(h) = &self.help {
            writeln!(f, "  = help: {h}")?;
        }
        Ok(())
    }
}

/// Several diagnostics, printed one after another (the error type of rule loading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in rule files; nothing was run",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}

/// A serde-saphyr error as (line, column, message): the first line of its
/// message without the `error: line L column C: ` prefix, since a
/// [`Diagnostic`] prints the position (and the caret) itself. Line and column
/// are 0 when serde-saphyr gives no position.
pub fn yaml_error(e: &serde_saphyr::Error) -> (u32, u32, String) {
    let (line, column) = e.location().map_or((0, 0), |l| {
        (
            u32::try_from(l.line()).unwrap_or(0),
            u32::try_from(l.column()).unwrap_or(0),
        )
    });
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML");
    (line, column, bare_yaml_message(first).to_string())
}

/// `first` without a leading `error: ` and `line L column C: `.
fn bare_yaml_message(first: &str) -> &str {
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((line, tail)) = rest.split_once(" column ")
        && let Some((col, m)) = tail.split_once(": ")
        && number(line)
        && number(col)
    {
        return m;
    }
    msg
}

/// Edit distance with adjacent transpositions (optimal string alignment), in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate to `name` within a third of its length (at least 1,
/// at most 3 edits); ties go to the first candidate.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_caret() {
        let text = "- rule: x\n  condition: proc_exee = 'a'\n";
        let d = Diagnostic::at("r.yaml", text, 2, 14, 9, "unknown field `proc_exee`")
            .suggest("proc_exee", ["proc_exe", "proc_name"]);
        assert_eq!(
            d.to_string(),
            "error: unknown field `proc_exee`\n  --> r.yaml:2:14\n  |\n2 |   condition: proc_exee = 'a'\n  |              ^^^^^^^^^\n  = help: did you mean `proc_exe`?\n"
        );
    }

    #[test]
    fn yaml_errors_lose_the_parser_prefix() {
        let e = serde_saphyr::from_str::<Vec<String>>("- a\n- [b, c\n").unwrap_err();
        let (line, column, msg) = yaml_error(&e);
        assert!(line >= 2 && column >= 1, "{line}:{column}");
        assert!(
            !msg.starts_with("error") && !msg.starts_with("line "),
            "{msg}"
        );
        assert_eq!(bare_yaml_message("error: line 7 column 12: m"), "m");
        assert_eq!(
            bare_yaml_message("line x column 1: m"),
            "line x column 1: m"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("sycall", ["syscall", "seq"]), Some("syscall"));
        assert_eq!(suggest("zzzzzz", ["syscall"]), None);
    }
}
