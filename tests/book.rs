//! The book is tested: every `console` example in `book/src/*.md` is run and
//! its output compared, and the CLI reference page must equal the rendering of
//! the clap definitions.
//!
//! Example syntax, inside a fenced block tagged `console`:
//!
//! ```text
//! $ hindsight info fixtures/recordings/synthetic-small
//! expected stdout, where [..] matches any text within a line,
//! ...
//! a line holding only `...` matches any number of lines
//! [exit: 1]
//! ```
//!
//! Commands run from the repository root with `TZ=UTC` and `NO_COLOR=1`.
//! Set `HINDSIGHT_UPDATE_BOOK=1` to rewrite `book/src/cli.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `$ hindsight ...` example.
struct Example {
    file: PathBuf,
    line: usize,
    argv: Vec<String>,
    expected: Vec<String>,
    exit: i32,
}

/// Splits a command line into words: whitespace separates, single and double
/// quotes group (no escapes inside single quotes; `\"` and `\\` inside double).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => cur.push(ch),
                            None => return Err("dangling backslash".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '|' | '>' | '<' | ';' | '&' | '$' | '`' => {
                return Err(format!(
                    "shell syntax `{c}` is not supported in book examples"
                ));
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn examples_in(file: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    let mut in_other_fence = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            if in_console || in_other_fence {
                in_console = false;
                in_other_fence = false;
            } else if trimmed.trim_start_matches('`').trim() == "console" {
                in_console = true;
            } else {
                in_other_fence = true;
            }
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            let argv =
                split_words(cmd).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), i + 1));
            assert_eq!(
                argv.first().map(String::as_str),
                Some("hindsight"),
                "{}:{}: book examples run `hindsight` only",
                file.display(),
                i + 1
            );
            out.push(Example {
                file: file.to_path_buf(),
                line: i + 1,
                argv,
                expected: Vec::new(),
                exit: 0,
            });
        } else if let Some(ex) = out.last_mut() {
            if let Some(code) = line
                .strip_prefix("[exit: ")
                .and_then(|r| r.strip_suffix(']'))
            {
                ex.exit = code.parse().expect("exit code");
            } else {
                ex.expected.push(line.to_string());
            }
        }
    }
    out
}

/// Does `actual` match the pattern line (`[..]` = any text)?
fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern.trim_end() == actual.trim_end();
    }
    let actual = actual.trim_end();
    let mut rest = actual;
    for (i, part) in parts.iter().enumerate() {
        let part = if i == parts.len() - 1 {
            part.trim_end()
        } else {
            part
        };
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Matches lines against patterns, where a pattern line `...` matches any
/// number of lines.
fn lines_match(patterns: &[String], actual: &[&str]) -> bool {
    match patterns.split_first() {
        None => actual.iter().all(|l| l.trim().is_empty()),
        Some((p, rest)) if p.trim() == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((p, rest)) => match actual.split_first() {
            Some((a, arest)) => line_matches(p, a) && lines_match(rest, arest),
            None => false,
        },
    }
}

fn book_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(repo().join("book/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn console_examples_in_the_book_produce_their_output() {
    let bin = env!("CARGO_BIN_EXE_hindsight");
    let mut failures = Vec::new();
    let mut ran = 0;
    for page in book_pages() {
        for ex in examples_in(&page) {
            ran += 1;
            let output = Command::new(bin)
                .args(&ex.argv[1..])
                .current_dir(repo())
                .env("TZ", "UTC")
                .env("NO_COLOR", "1")
                .env_remove("PAGER")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let actual: Vec<&str> = stdout.lines().collect();
            let code = output.status.code().unwrap_or(-1);
            if code != ex.exit || !lines_match(&ex.expected, &actual) {
                failures.push(format!(
                    "{}:{}: `{}`\n  exit {code} (expected {})\n--- expected\n{}\n--- actual stdout\n{}\n--- stderr\n{}",
                    ex.file.strip_prefix(repo()).unwrap_or(&ex.file).display(),
                    ex.line,
                    ex.argv.join(" "),
                    ex.exit,
                    ex.expected.join("\n"),
                    stdout,
                    String::from_utf8_lossy(&output.stderr),
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} book examples failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("{ran} book examples passed");
}

#[test]
fn cli_reference_page_matches_clap() {
    let path = repo().join("book/src/cli.md");
    let rendered = hindsight_cli::reference_markdown();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        if std::env::var_os("HINDSIGHT_UPDATE_BOOK").is_some() {
            std::fs::write(&path, &rendered).unwrap();
        } else {
            panic!(
                "book/src/cli.md is out of date with the clap definitions; \
                 rerun with HINDSIGHT_UPDATE_BOOK=1 cargo test --test book"
            );
        }
    }
}

#[test]
fn every_book_page_is_in_the_summary() {
    let summary = std::fs::read_to_string(repo().join("book/src/SUMMARY.md")).unwrap();
    for page in book_pages() {
        let name = page.file_name().unwrap().to_str().unwrap();
        if name == "SUMMARY.md" {
            continue;
        }
        assert!(
            summary.contains(&format!("({name})")),
            "book/src/{name} is not linked from SUMMARY.md"
        );
    }
}

#[test]
fn the_matcher_itself() {
    assert!(line_matches("a [..] c", "a bbb c"));
    assert!(!line_matches("a [..] c", "a bbb d"));
    assert!(line_matches("exact", "exact  "));
    let pats: Vec<String> = ["x", "...", "z"].iter().map(|s| s.to_string()).collect();
    assert!(lines_match(&pats, &["x", "1", "2", "z"]));
    assert!(lines_match(&pats, &["x", "z"]));
    assert!(!lines_match(&pats, &["x", "y"]));
    assert_eq!(
        split_words(r#"hindsight query x "SELECT 'a b'" 'c d'"#).unwrap(),
        vec!["hindsight", "query", "x", "SELECT 'a b'", "c d"]
    );
    assert!(split_words("hindsight x | head").is_err());
}

/// The ids mdBook (0.5) gives the ATX headings of a page: the heading's
/// text (link targets and markup left out), lower-cased, whitespace as `-`,
/// only alphanumerics, `-` and `_` kept; an id already used gets the first
/// free `-1`, `-2`... (mdBook's `unique_id`). Fenced code is skipped.
fn heading_ids(markdown: &str) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        for mark in ["```", "~~~"] {
            if trimmed.starts_with(mark) {
                match fence {
                    None => fence = Some(mark),
                    Some(open) if open == mark => fence = None,
                    Some(_) => {}
                }
            }
        }
        if fence.is_some() || trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            continue;
        }
        let hashes = trimmed.len() - trimmed.trim_start_matches('#').len();
        let rest = &trimmed[hashes..];
        if hashes == 0 || hashes > 6 || !(rest.is_empty() || rest.starts_with(' ')) {
            continue;
        }
        let text = rest.trim().trim_end_matches('#').trim_end();
        // `[text](target)` reads as `text`.
        let mut plain = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("](") {
            plain.push_str(&rest[..at]);
            rest = rest[at + 2..].split_once(')').map_or("", |(_, r)| r);
        }
        plain.push_str(rest);
        let id: String = plain
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c)
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while ids.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        ids.insert(unique);
    }
    ids
}

#[test]
fn every_link_to_a_heading_finds_it() {
    let pages: std::collections::HashMap<String, std::collections::HashSet<String>> = book_pages()
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, heading_ids(&std::fs::read_to_string(p).unwrap()))
        })
        .collect();
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in book_pages() {
        let name = page.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&page).unwrap();
        for (at, _) in text.match_indices("](") {
            let target = text[at + 2..].split(')').next().unwrap_or("");
            let Some((file, anchor)) = target.split_once('#') else {
                continue;
            };
            if file.contains("://") || (!file.is_empty() && !file.ends_with(".md")) {
                continue;
            }
            let file = if file.is_empty() { name.as_str() } else { file };
            checked += 1;
            if !pages.get(file).is_some_and(|ids| ids.contains(anchor)) {
                let line = text[..at].matches('\n').count() + 1;
                broken.push(format!("book/src/{name}:{line}: {target}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to headings that do not exist (of {checked}):\n{}",
        broken.join("\n")
    );
    assert!(checked > 0, "no link to a heading was found");
}
