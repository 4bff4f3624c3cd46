//! Path functions: `basename`, `dirname`, `path_match`.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use globset::{GlobBuilder, GlobMatcher};

/// The last component of a path (`/usr/bin/curl` → `curl`; `/` → `/`).
pub fn basename(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(if path.is_empty() { "" } else { "/" });
    }
    Some(trimmed.rsplit('/').next().unwrap_or(trimmed))
}

/// Everything before the last component (`/usr/bin/curl` → `/usr/bin`;
/// `curl` → `.`; `/curl` → `/`).
pub fn dirname(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(if path.is_empty() { "." } else { "/" });
    }
    match trimmed.rfind('/') {
        None => Some("."),
        Some(i) => {
            let dir = trimmed[..i].trim_end_matches('/');
            Some(if dir.is_empty() { "/" } else { dir })
        }
    }
}

/// Compiles a shell glob: `*` and `?` stay within one path component, `**`
/// crosses components, `[abc]` and `{a,b}` work as in a shell.
pub fn compile_glob(glob: &str) -> Result<GlobMatcher> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| DataFusionError::Execution(format!("path_match: bad glob {glob:?}: {e}")))
}

pub(super) fn path_match_udf() -> ScalarUDF {
    create_udf(
        "path_match",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let mut cache: HashMap<String, GlobMatcher> = HashMap::new();
            super::two_str_to_bool(args, |path, glob| {
                if !cache.contains_key(glob) {
                    cache.insert(glob.to_string(), compile_glob(glob)?);
                }
                Ok(cache[glob].is_match(path))
            })
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_dir() {
        for (p, b, d) in [
            ("/usr/bin/curl", "curl", "/usr/bin"),
            ("/curl", "curl", "/"),
            ("curl", "curl", "."),
            ("/etc/ssh/", "ssh", "/etc"),
            ("/", "/", "/"),
            ("", "", "."),
            ("a//b", "b", "a"),
        ] {
            assert_eq!(basename(p), Some(b), "basename {p}");
            assert_eq!(dirname(p), Some(d), "dirname {p}");
        }
    }

    #[test]
    fn globs() {
        let m = compile_glob("/etc/*").unwrap();
        assert!(m.is_match("/etc/shadow"));
        assert!(!m.is_match("/etc/ssh/sshd_config"));
        assert!(
            compile_glob("/etc/**")
                .unwrap()
                .is_match("/etc/ssh/sshd_config")
        );
        assert!(
            compile_glob("/tmp/*.{sh,py}")
                .unwrap()
                .is_match("/tmp/x.py")
        );
        assert!(compile_glob("[").is_err());
    }
}
