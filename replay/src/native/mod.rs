//! Hindsight's native rules: YAML documents whose conditions are SQL boolean
//! expressions over event and state fields.

use crate::diag::Diagnostic;
use crate::ir::Rule;
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
        Err(files
            .iter()
            .map(|f| Diagnostic::file(&f.path, "native rules are not implemented yet"))
            .collect())
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
    if rule {
        if description { 90 } else { 40 }
    } else {
        0
    }
}
