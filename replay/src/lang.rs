//! Rule languages: a small trait each language implements, a registry, and
//! [`load`], which reads rule files, detects each file's language and
//! compiles everything into [`Rule`]s — or fails with every error found.
//!
//! # Adding a language (the contract for the Falco and Sigma modules)
//!
//! 1. Implement [`RuleLanguage`] on a unit struct in `src/<lang>/mod.rs`.
//! 2. Add `pub mod <lang>;` to `lib.rs` and `&crate::<lang>::<Struct>` to [`registry`].
//!
//! [`RuleLanguage::compile`] gets *all* files detected as that language, in
//! command-line order, so cross-file features (Falco lists/macros and
//! `append`/`override`, Sigma correlations) work. It returns compiled rules
//! in a stable order (file order, then position in the file) or every
//! [`Diagnostic`] it found; partial results are never used.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::Rule;

/// One rule file's content.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (used in diagnostics and [`crate::ir::Origin::file`]).
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// A rule language.
pub trait RuleLanguage: Sync {
    /// Short lower-case name: `hindsight`, `falco`, `sigma`.
    fn name(&self) -> &'static str;

    /// How sure the language is that `file` is written in it: 0 (not mine)
    /// to 100 (certain). The highest score wins; ties go to the earlier
    /// language in [`registry`]. Look at structure, not just the extension.
    fn detect(&self, file: &SourceFile) -> u8;

    /// Compiles every file of this language (in order) into rules.
    fn compile(&self, files: &[SourceFile]) -> Result<Vec<Rule>, Vec<Diagnostic>>;

    /// [`RuleLanguage::compile`], with what is worth telling the user but
    /// does not stop loading. None by default.
    fn compile_with_remarks(
        &self,
        files: &[SourceFile],
    ) -> Result<(Vec<Rule>, Remarks), Vec<Diagnostic>> {
        self.compile(files).map(|rules| (rules, Remarks::default()))
    }
}

/// What a language says about the files it compiled, besides rules and
/// errors; each line starts with `path:line:col:` or `path:line:` where known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remarks {
    /// Probably a mistake in the file: a key the language ignores, a rule
    /// skipped as the file asks, a newer engine version required.
    pub warnings: Vec<String>,
    /// Facts about rules: e.g. a rule that cannot fire on a recording
    /// because it needs a field no recording has.
    pub notes: Vec<String>,
    /// Rule id → what it needs that no recording has (`FIELD (why), …`),
    /// for each enabled rule that can never fire.
    pub cannot_fire: std::collections::BTreeMap<String, String>,
}

/// Every known language, in tie-break order.
pub fn registry() -> Vec<&'static dyn RuleLanguage> {
    vec![
        &crate::native::Native,
        &crate::falco::Falco,
        &crate::sigma::Sigma,
    ]
}

/// The language named `name` (for `--lang` overrides and `# language:` headers).
pub fn by_name(name: &str) -> Option<&'static dyn RuleLanguage> {
    registry().into_iter().find(|l| l.name() == name)
}

/// The language of a file: a first-lines comment `# language: NAME` wins;
/// otherwise the highest [`RuleLanguage::detect`] score above 0.
pub fn detect(file: &SourceFile) -> Result<&'static dyn RuleLanguage, Diagnostic> {
    if let Some(d) = empty_file(file) {
        return Err(d);
    }
    for (i, line) in file.text.lines().take(5).enumerate() {
        if let Some(rest) = line.trim().strip_prefix('#')
            && let Some(name) = rest.trim().strip_prefix("language:")
        {
            let name = name.trim();
            return by_name(name).ok_or_else(|| {
                let col = line.find(name).map_or(1, |c| c + 1) as u32;
                let names: Vec<&str> = registry().iter().map(|l| l.name()).collect();
                Diagnostic::at(
                    &file.path,
                    &file.text,
                    i as u32 + 1,
                    col,
                    name.chars().count() as u32,
                    format!("unknown rule language `{name}`"),
                )
                .with_help(format!("known languages: {}", names.join(", ")))
            });
        }
    }
    let mut best: Option<(u8, &'static dyn RuleLanguage)> = None;
    for lang in registry() {
        let score = lang.detect(file);
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, lang));
        }
    }
    best.map(|(_, l)| l).ok_or_else(|| {
        let names: Vec<&str> = registry().iter().map(|l| l.name()).collect();
        Diagnostic::file(
            &file.path,
            "cannot tell which rule language this file is in",
        )
        .with_help(format!(
            "known languages: {}; put `# language: NAME` on the first line to say",
            names.join(", ")
        ))
    })
}

/// A loaded rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Every rule (enabled or not), files in the given order.
    pub rules: Vec<Rule>,
    /// Each file read and the language it was compiled as.
    pub files: Vec<(String, &'static str)>,
    /// Warnings and notes of the languages, files in order.
    pub remarks: Remarks,
}

/// Whether a file is a `hindsight test` case (`NAME.test.yaml` or
/// `NAME.test.yml`, in any case), which a directory of rules may hold beside
/// the rules it tests.
pub fn is_test_case(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase)
        .is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

/// Whether a directory walk takes `p` as a rule file: `*.yaml`/`*.yml` in
/// any case, not a test case.
fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        && !is_test_case(p)
}

/// Whether `p`'s name starts with a dot (`.github`, `.pre-commit-config.yaml`).
fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

/// Every file under `dir` (recursively, sorted) for which `keep` holds,
/// hidden files and directories (`.git`) left out. The error names the
/// directory that could not be read.
pub fn walk_files(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    use std::os::unix::fs::MetadataExt;
    type Seen = std::collections::HashSet<(u64, u64)>;
    fn walk(
        dir: &Path,
        keep: &dyn Fn(&Path) -> bool,
        out: &mut Vec<PathBuf>,
        seen: &mut Seen,
    ) -> Result<(), (PathBuf, std::io::Error)> {
        let rd = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if is_hidden(&p) {
                continue;
            }
            if p.is_dir() {
                // A directory reached again through a symbolic link (a loop
                // such as `ln -s .. sub/up`, or a second name) is walked once.
                let meta = std::fs::metadata(&p).map_err(|e| (p.clone(), e))?;
                if seen.insert((meta.dev(), meta.ino())) {
                    walk(&p, keep, out, seen)?;
                }
            } else if keep(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    let mut seen = Seen::new();
    if let Ok(meta) = std::fs::metadata(dir) {
        seen.insert((meta.dev(), meta.ino()));
    }
    walk(dir, keep, &mut out, &mut seen)?;
    Ok(out)
}

/// Expands directories (recursively, sorted, `*.yaml`/`*.yml` in any case,
/// test cases `*.test.yaml` and hidden files and directories left out) and
/// keeps files as given (a hidden file named is read). A file reached twice
/// (named twice, spelt differently, or named and inside a named directory) is
/// kept once, where first reached. A directory without any rule file is an
/// error: a mis-pointed `--rules` must not run nothing and succeed.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    Ok(expand_args(paths)?.into_iter().map(|(_, f)| f).collect())
}

/// [`expand`], each file with the index in `paths` of the argument that
/// reached it first.
fn expand_args(paths: &[PathBuf]) -> Result<Vec<(usize, PathBuf)>, Diagnostic> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (arg, p) in paths.iter().enumerate() {
        let mut found = Vec::new();
        if p.is_dir() {
            found = walk_files(p, &is_rule_file).map_err(|(dir, e)| {
                Diagnostic::file(&dir.display().to_string(), format!("cannot read: {e}"))
            })?;
            if found.is_empty() {
                let dir = p.display().to_string();
                return Err(Diagnostic::file(
                    &dir,
                    format!("no rule files (*.yaml, *.yml) in {dir}"),
                )
                .with_help(
                    "a directory and those below it are searched for *.yaml and *.yml \
                     files; test cases (*.test.yaml) and hidden files are left out",
                ));
            }
        } else {
            found.push(p.clone());
        }
        for f in found {
            // A path that cannot be resolved is kept as given: reading it names it.
            if seen.insert(std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone())) {
                out.push((arg, f));
            }
        }
    }
    Ok(out)
}

/// Reads, detects and compiles rule files. Either every rule compiled or
/// every error is returned; rule ids must be unique across the whole set.
///
/// An empty file (nothing but blank lines and comments) named on its own is
/// an error, as a directory without rule files is: that argument would run
/// nothing. Inside a directory it is skipped with a note (a placeholder such
/// as Falco's `falco_rules.local.yaml`), unless every rule file of that
/// directory is empty.
pub fn load(paths: &[PathBuf]) -> Result<RuleSet, Diagnostics> {
    let files = expand_args(paths).map_err(|d| Diagnostics(vec![d]))?;
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    // Per argument: whether it reached a file that is not empty.
    let mut holds = vec![false; paths.len()];
    for (arg, p) in &files {
        let path = p.display().to_string();
        let text = match std::fs::read_to_string(p) {
            Ok(text) => text,
            Err(e) => {
                holds[*arg] = true;
                errors.push(Diagnostic::file(
                    &path,
                    format!("cannot read rule file: {e}"),
                ));
                continue;
            }
        };
        let src = SourceFile { path, text };
        if paths[*arg].is_dir() && empty_file(&src).is_some() {
            skipped.push(src.path);
        } else {
            holds[*arg] = true;
            sources.push(src);
        }
    }
    for (arg, p) in paths.iter().enumerate() {
        if !holds[arg] && files.iter().any(|(a, _)| *a == arg) {
            let dir = p.display().to_string();
            errors.push(
                Diagnostic::file(
                    &dir,
                    format!("no rules in {dir}: every rule file in it is empty"),
                )
                .with_help("its *.yaml and *.yml files hold nothing but blank lines and comments"),
            );
        }
    }
    let mut set = load_sources(sources, errors)?;
    let notes = skipped
        .into_iter()
        .map(|p| format!("{p}: empty rule file (nothing but blank lines and comments), skipped"));
    set.remarks.notes.splice(0..0, notes);
    Ok(set)
}

/// The error for a file with nothing but blank lines and `#` comments,
/// which holds no rules; `None` for any other file.
pub fn empty_file(file: &SourceFile) -> Option<Diagnostic> {
    let mut comments = false;
    for line in file.text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            comments = true;
        } else if !line.is_empty() {
            return None;
        }
    }
    let path = &file.path;
    let message = if comments {
        format!("{path} holds no rules: nothing but comments")
    } else {
        format!("{path} is empty: it holds no rules")
    };
    Some(Diagnostic::file(path, message).with_help(
        "a rule file named on its own must hold rules (in a directory, an empty file is skipped)",
    ))
}

/// [`load`] for files already in memory (tests, stdin).
pub fn load_sources(
    sources: Vec<SourceFile>,
    mut errors: Vec<Diagnostic>,
) -> Result<RuleSet, Diagnostics> {
    let langs = registry();
    let mut groups: Vec<Vec<SourceFile>> = vec![Vec::new(); langs.len()];
    let mut set = RuleSet::default();
    // Each file's text, to point duplicate ids at their line.
    let texts: std::collections::BTreeMap<String, String> = sources
        .iter()
        .map(|s| (s.path.clone(), s.text.clone()))
        .collect();
    for src in sources {
        match detect(&src) {
            Ok(lang) => {
                let i = langs
                    .iter()
                    .position(|l| l.name() == lang.name())
                    .unwrap_or_default();
                set.files.push((src.path.clone(), lang.name()));
                groups[i].push(src);
            }
            Err(d) => errors.push(d),
        }
    }
    for (lang, group) in langs.iter().zip(groups) {
        if group.is_empty() {
            continue;
        }
        match lang.compile_with_remarks(&group) {
            Ok((rules, remarks)) => {
                set.rules.extend(rules);
                set.remarks.warnings.extend(remarks.warnings);
                set.remarks.notes.extend(remarks.notes);
                set.remarks.cannot_fire.extend(remarks.cannot_fire);
            }
            Err(mut d) => errors.append(&mut d),
        }
    }
    // Every language stops at `MAX_NESTING` levels while parsing, and the
    // stages after this recurse over the condition: a compiler that nests
    // more (a bug) must give an error here, never overflow the stack later.
    for r in &set.rules {
        if r.condition.shape().0 > crate::ir::MAX_NESTING + 50 {
            let text = texts.get(&r.origin.file).map_or("", String::as_str);
            errors.push(id_diagnostic(
                &r.origin,
                text,
                &r.name,
                crate::ir::too_deep(),
            ));
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for r in &set.rules {
        if let Some(prev) = seen.insert(r.id.clone(), r.origin.clone()) {
            let text = texts.get(&r.origin.file).map_or("", String::as_str);
            errors.push(
                id_diagnostic(
                    &r.origin,
                    text,
                    &r.id,
                    format!("rule id `{}` is defined twice", r.id),
                )
                .with_help(format!("first defined in {}:{}", prev.file, prev.line)),
            );
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(Diagnostics(errors))
    }
}

/// A diagnostic at the rule id `id` of the rule that starts at `origin`: the
/// first line from the rule's start that holds the id (a Sigma `id:` may come
/// a few lines after `title:`), with a caret under it.
fn id_diagnostic(origin: &crate::ir::Origin, text: &str, id: &str, message: String) -> Diagnostic {
    let start = origin.line.max(1) as usize - 1;
    let found = text.lines().enumerate().skip(start).find_map(|(i, line)| {
        let at = line.find(id).filter(|_| !id.is_empty())?;
        Some((i as u32 + 1, line[..at].chars().count() as u32 + 1))
    });
    match found {
        Some((line, column)) => Diagnostic::at(
            &origin.file,
            text,
            line,
            column,
            id.chars().count().max(1) as u32,
            message,
        ),
        None => Diagnostic::at(&origin.file, text, origin.line, 0, 1, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    const RULE: &str = "  description: d\n  priority: warning\n  condition: syscall = 'openat'\n";

    /// A symbolic link back up the tree is not followed round and round (it
    /// gave the same file 41 times, nested until ELOOP).
    #[test]
    fn a_link_loop_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("t/sub")).unwrap();
        std::fs::write(dir.path().join("t/a.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("t/sub/up")).unwrap();
        let files = walk_files(&dir.path().join("t"), &|_| true).unwrap();
        assert_eq!(files, [dir.path().join("t/a.yaml")]);
    }

    #[test]
    fn a_rules_directory_leaves_its_test_cases_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
        for f in [
            "a.yaml",
            "b.yml",
            "c.YAML",
            "d.Yml",
            "tests/a.test.yaml",
            "tests/b.test.yml",
            "tests/c.Test.YAML",
            "notes.txt",
            ".hidden.yaml",
            ".github/workflows/ci.yml",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        // The second path names a file the first already holds.
        let names: Vec<String> = expand(&[dir.path().to_path_buf(), dir.path().join("./b.yml")])
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml", "c.YAML", "d.Yml"]);
        // A hidden file named on its own is read.
        let hidden = dir.path().join(".hidden.yaml");
        assert_eq!(expand(std::slice::from_ref(&hidden)).unwrap(), [hidden]);
        // A directory without rule files (only test cases) is an error naming it.
        let e = expand(&[dir.path().join("tests")]).unwrap_err();
        assert!(
            e.message.starts_with("no rule files (*.yaml, *.yml) in "),
            "{e}"
        );
        assert!(e.message.ends_with("tests"), "{e}");
        // A test case named on its own is read as given.
        let case = dir.path().join("tests/a.test.yaml");
        assert_eq!(expand(std::slice::from_ref(&case)).unwrap(), [case]);
    }

    /// An empty file named on its own is an error naming it, as a directory
    /// without rule files is; inside a directory with rules it is skipped
    /// with a note, and a directory of empty files is an error.
    #[test]
    fn an_empty_rule_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p);
        std::fs::create_dir_all(at("mixed")).unwrap();
        std::fs::create_dir_all(at("blank")).unwrap();
        std::fs::write(at("empty.yaml"), "").unwrap();
        std::fs::write(
            at("comments.yaml"),
            "# local rules go here\n\n  # none yet\n",
        )
        .unwrap();
        std::fs::write(at("mixed/a.yaml"), format!("- rule: x\n{RULE}")).unwrap();
        std::fs::write(at("mixed/b.yaml"), "\n").unwrap();
        std::fs::write(at("blank/a.yaml"), "").unwrap();
        std::fs::write(at("blank/b.yml"), "# nothing\n").unwrap();
        let error = |p: &str| load(&[at(p)]).unwrap_err().to_string();
        let path = at("empty.yaml").display().to_string();
        let e = error("empty.yaml");
        assert!(
            e.starts_with(&format!("error: {path} is empty: it holds no rules\n")),
            "{e}"
        );
        assert!(!e.contains("cannot tell"), "{e}");
        let e = error("comments.yaml");
        assert!(
            e.contains("comments.yaml holds no rules: nothing but comments"),
            "{e}"
        );
        // Beside a good file, a named empty file is still an error.
        let e = load(&[at("mixed"), at("empty.yaml")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty.yaml is empty"), "{e}");
        let set = load(&[at("mixed")]).unwrap();
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.files.len(), 1);
        let b = at("mixed/b.yaml").display().to_string();
        assert_eq!(
            set.remarks.notes[0],
            format!("{b}: empty rule file (nothing but blank lines and comments), skipped")
        );
        let blank = at("blank").display().to_string();
        let e = error("blank");
        assert!(
            e.starts_with(&format!(
                "error: no rules in {blank}: every rule file in it is empty\n"
            )),
            "{e}"
        );
        assert!(e.ends_with("1 error in rule files; nothing was run"), "{e}");
        // Text loaded without paths (tests, stdin) says so too.
        let e = load_sources(vec![src("s.yaml", " \n")], Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("error: s.yaml is empty"), "{e}");
    }

    #[test]
    fn a_duplicate_id_points_at_its_second_definition() {
        let text = format!("- rule: x\n{RULE}- rule: y\n{RULE}- rule:   x\n{RULE}");
        let e = load_sources(vec![src("c1.yaml", &text)], Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "error: rule id `x` is defined twice\n  --> c1.yaml:9:11\n  |\n9 | - rule:   x\n  |           ^\n  = help: first defined in c1.yaml:1\n"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_id_across_files_names_the_second_file_and_line() {
        let a = format!("- rule: shared\n{RULE}");
        let b = format!("# another file\n- rule: shared\n{RULE}");
        let e = load_sources(vec![src("a.yaml", &a), src("b.yaml", &b)], Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("  --> b.yaml:2:9\n"), "{e}");
        assert!(e.contains("  |         ^^^^^^\n"), "{e}");
        assert!(e.contains("first defined in a.yaml:1"), "{e}");
    }
}
