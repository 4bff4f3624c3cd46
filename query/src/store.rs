//! Object stores for `s3://` URLs, configured the usual AWS way.
//!
//! Precedence, highest first: the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, and every other
//! `AWS_*` key the `object_store` crate knows), then the profile named by
//! `AWS_PROFILE` (default `default`) in `~/.aws/credentials` and
//! `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`),
//! then the instance metadata service. An `http://` endpoint (MinIO, moto,
//! LocalStack) is allowed without further flags.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::object_store::ObjectStore;
use datafusion::object_store::aws::AmazonS3Builder;

use crate::QueryError;

/// Builds the store for `s3://bucket/...`.
pub fn s3_store(url: &str, bucket: &str) -> Result<Arc<dyn ObjectStore>, QueryError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let profile = load_profile(&env("AWS_PROFILE").unwrap_or_else(|| "default".into()));
    if env("AWS_ACCESS_KEY_ID").is_none()
        && let (Some(id), Some(secret)) = (
            profile.get("aws_access_key_id"),
            profile.get("aws_secret_access_key"),
        )
    {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = profile.get("aws_session_token") {
            builder = builder.with_token(token);
        }
    }
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| profile.get("region").cloned())
        .unwrap_or_else(|| "us-east-1".into());
    builder = builder.with_region(region);
    let endpoint = env("AWS_ENDPOINT_URL_S3")
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"))
        .or_else(|| profile.get("endpoint_url").cloned());
    if let Some(endpoint) = endpoint {
        if endpoint.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder.build().map_err(|e| QueryError::ObjectStore {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

/// Reads one profile's keys from the shared credentials and config files.
fn load_profile(name: &str) -> HashMap<String, String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(default))
    };
    let mut out = HashMap::new();
    // config first, credentials override: the AWS CLI's precedence.
    let config_section = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    for (path, section) in [
        (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), name),
    ] {
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.extend(ini_section(&text, section));
        }
    }
    out
}

/// The `key = value` pairs of `[section]` in an INI text.
fn ini_section(text: &str, section: &str) -> HashMap<String, String> {
    let mut current = None::<String>;
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
        } else if current.as_deref() == Some(section)
            && let Some((k, v)) = line.split_once('=')
        {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections() {
        let text = "[default]\nregion = eu-west-1\n\n[profile forensics]\n# c\nregion=us-east-2\nendpoint_url = http://127.0.0.1:9000\n";
        assert_eq!(ini_section(text, "default")["region"], "eu-west-1");
        let p = ini_section(text, "profile forensics");
        assert_eq!(p["region"], "us-east-2");
        assert_eq!(p["endpoint_url"], "http://127.0.0.1:9000");
        assert!(ini_section(text, "nope").is_empty());
    }
}
