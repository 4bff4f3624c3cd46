//! Recording paths on the command line. Every command that reads or writes
//! a local recording takes it as `query` does: a plain path, taken as it is,
//! or a `file://` URL, percent-decoded (see
//! [`hindsight_query::source::local_path`], the one parser of both).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use hindsight_query::QueryError;

/// The clap value parser of a recording PATH or DIR argument.
pub fn recording() -> impl TypedValueParser<Value = PathBuf> {
    OsStringValueParser::new().try_map(recording_path)
}

/// A recording path argument as a filesystem path: a `file://` URL
/// decoded, a plain path (even one that is not UTF-8) as it is.
pub fn recording_path(arg: OsString) -> Result<PathBuf, String> {
    if arg.is_empty() {
        return Err("an empty path names no directory (is a shell variable unset?)".into());
    }
    let Some(text) = arg.to_str() else {
        // Not UTF-8: a URL only if its scheme (ASCII) is.
        let bytes = arg.as_encoded_bytes();
        let scheme_end = bytes.windows(3).position(|w| w == b"://");
        if scheme_end.is_some_and(|n| {
            std::str::from_utf8(&bytes[..n + 3])
                .is_ok_and(|s| hindsight_query::source::url_scheme(s).is_some())
        }) {
            return Err("a URL is percent-encoded UTF-8 (or give the plain path)".into());
        }
        return Ok(PathBuf::from(arg));
    };
    let s3 = hindsight_query::source::url_scheme(text)
        .is_some_and(|s| s.eq_ignore_ascii_case("s3") || s.eq_ignore_ascii_case("s3a"));
    hindsight_query::source::local_path(text).map_err(|e| match e {
        QueryError::ObjectStore { reason, .. } if s3 => {
            format!("{reason}; only `hindsight query` reads s3:// itself")
        }
        QueryError::ObjectStore { reason, .. } => reason,
        e => e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_and_file_urls() {
        let parse = |s: &str| recording_path(OsString::from(s));
        assert!(parse("").unwrap_err().contains("an empty path"));
        assert_eq!(parse("rec%20a"), Ok(PathBuf::from("rec%20a")));
        assert_eq!(
            parse("file:///tmp/rec%20%5Ba%5D"),
            Ok(PathBuf::from("/tmp/rec [a]"))
        );
        assert!(parse("file:///tmp/a?b").unwrap_err().contains("%3F"));
        assert!(
            parse("s3://bucket/rec")
                .unwrap_err()
                .contains("only `hindsight query`")
        );
        assert!(
            parse("S3://b/k")
                .unwrap_err()
                .contains("only `hindsight query`")
        );
        assert!(
            !parse("s3x://b/k")
                .unwrap_err()
                .contains("only `hindsight query`")
        );
        // Not UTF-8, and no scheme before `://`: a plain path.
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(b"n\xff/x://y".to_vec());
        assert_eq!(recording_path(odd.clone()), Ok(PathBuf::from(odd)));
        let url = OsString::from_vec(b"file:///n\xff".to_vec());
        assert!(recording_path(url).is_err());
    }
}
