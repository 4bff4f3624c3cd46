//! Finding the recordings behind a PATH: one recording, a tree of them, or an
//! object-store prefix.
//!
//! A recording is a directory with `manifest.json` and `events/*.parquet`. A
//! tree may put Hive partition directories (`host=web-1/date=2026-11-20/`)
//! above its recordings; those keys become columns of `events`.

use std::sync::Arc;

use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as StorePath;
use datafusion::object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use futures::{StreamExt, TryStreamExt};
use url::Url;

use crate::QueryError;
use crate::readonly::ReadOnlyStore;
use crate::spool::{Unfinished, read_local, warn_remote};

/// The glob (relative to an input's root) that selects event segments.
pub const SEGMENT_GLOB: &str = "**/events/*.parquet";

/// Whether `location` is a segment file directly in the `events/` directory
/// `events`: a `.parquet` file in it, as [`SEGMENT_GLOB`] selects them (not
/// one in a directory below, nor another file).
pub fn is_segment_in(location: &StorePath, events: &StorePath) -> bool {
    events.filename() == Some("events")
        && location.prefix_match(events).is_some_and(|mut rest| {
            matches!(
                (rest.next(), rest.next()),
                (Some(file), None) if file.as_ref().ends_with(".parquet")
            )
        })
}

/// The directory that holds `location` (the root for a location at the top).
///
/// Built from the location's parts as they are: a location made from a
/// string (`StorePath::from`) percent-encodes characters such as `[ ] # %`
/// in every part, so that a directory named with them is then another one.
pub fn parent(location: &StorePath) -> StorePath {
    let mut parts: Vec<_> = location.parts().collect();
    parts.pop();
    StorePath::from_iter(parts)
}

/// One PATH argument, resolved.
#[derive(Debug, Clone)]
pub struct Input {
    /// The PATH as the user gave it (used in messages).
    pub display: String,
    /// The store's base URL (`file:///`, `s3://bucket`).
    pub store_url: Url,
    /// The store, read-only.
    pub store: Arc<dyn ObjectStore>,
    /// The root: a directory URL ending in `/`, or one segment file's URL.
    pub root_url: Url,
    /// Whether `root_url` is a single segment file.
    pub single_file: bool,
    /// Hive partition keys above the recordings, outermost first.
    pub partition_keys: Vec<String>,
    /// The event segments found.
    pub segments: Vec<ObjectMeta>,
    /// Its recordings whose manifest is not `complete`, with the rows of
    /// their spools (local recordings only; see [`crate::spool`]).
    pub unfinished: Vec<Unfinished>,
}

/// Resolves one PATH argument: finds its segments and partition keys.
pub async fn resolve(path: &str) -> Result<Input, QueryError> {
    let (store_url, store, root, root_url, single_file) = locate(path)?;
    let store: Arc<dyn ObjectStore> = Arc::new(ReadOnlyStore::new(store));
    let store_err = |e: datafusion::object_store::Error| match e {
        datafusion::object_store::Error::NotFound { .. } => QueryError::NotFound {
            path: path.to_string(),
        },
        e => QueryError::ObjectStore {
            url: path.to_string(),
            reason: e.to_string(),
        },
    };
    if single_file {
        let meta = store.head(&root).await.map_err(store_err)?;
        return Ok(Input {
            display: path.to_string(),
            store_url,
            store,
            root_url,
            single_file,
            partition_keys: Vec::new(),
            segments: vec![meta],
            unfinished: Vec::new(),
        });
    }
    let listing: Vec<ObjectMeta> = match store.list(Some(&root)).try_collect().await {
        Ok(listing) => listing,
        // The local store refuses a tree holding a name it cannot represent: say which.
        Err(e) => {
            let local = (store_url.scheme() == "file")
                .then(|| root_url.to_file_path().ok())
                .flatten();
            return Err(local
                .and_then(|dir| find_illegal_name(&dir))
                .unwrap_or_else(|| store_err(e)));
        }
    };
    // Recordings (directories with a manifest, relative to the root): a file
    // below one that is not its own is part of no recording in this tree.
    let recordings: std::collections::BTreeSet<String> = listing
        .iter()
        .filter_map(|meta| {
            let mut rel: Vec<String> = meta
                .location
                .prefix_match(&root)?
                .map(|p| p.as_ref().to_string())
                .collect();
            (rel.pop()? == "manifest.json").then(|| rel.join("/"))
        })
        .collect();
    let mut nested = std::collections::BTreeSet::new();
    let mut segments = Vec::new();
    let mut manifests = Vec::new();
    // The partition keys of the first recording file found, and that file: every manifest and
    // segment must be under the same keys. A segment read later (looked up again, or listed
    // with an unfinished recording's spool) is in a recording whose manifest is checked here.
    let mut layout: Option<(StorePath, Vec<String>)> = None;
    // The first partition directory that cannot be a column: (its path, its key, the keys below).
    let mut unusable: Option<(String, String, Vec<String>)> = None;
    for meta in listing {
        let rel: Vec<String> = match meta.location.prefix_match(&root) {
            Some(parts) => parts.map(|p| p.as_ref().to_string()).collect(),
            None => continue,
        };
        let rel: Vec<&str> = rel.iter().map(String::as_str).collect();
        let is_manifest = rel.last() == Some(&"manifest.json");
        let is_segment = rel.len() >= 2
            && rel[rel.len() - 2] == "events"
            && rel[rel.len() - 1].ends_with(".parquet");
        if !is_manifest && !is_segment {
            continue;
        }
        // Its recording's directory, and any recording above that.
        let own = rel.len() - if is_manifest { 1 } else { 2 };
        if let Some(outer) = (0..own).find(|&k| recordings.contains(&rel[..k].join("/"))) {
            let name = |k: usize| {
                let below = rel[..k].join("/");
                let path = path.trim_end_matches('/');
                if below.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}/{below}")
                }
            };
            nested.insert((name(own), name(outer)));
            continue;
        }
        let mut partitions = hive_partitions(&rel);
        let keys: Vec<String> = partitions.iter().map(|(k, _)| k.clone()).collect();
        let usable = usable_partitions(&keys);
        if usable < keys.len() && unusable.is_none() {
            let dir = rel[..=usable].join("/");
            unusable = Some((
                format!("{}/{dir}", path.trim_end_matches('/')),
                keys[usable].clone(),
                keys[usable + 1..].to_vec(),
            ));
        }
        partitions.truncate(usable);
        match &layout {
            None => layout = Some((meta.location.clone(), keys)),
            Some((first, first_keys)) if *first_keys != keys => {
                return Err(QueryError::InconsistentPartitions {
                    path: path.to_string(),
                    first: location_name(&store_url, first),
                    first_keys: first_keys.clone(),
                    other: location_name(&store_url, &meta.location),
                    other_keys: keys,
                });
            }
            Some(_) => {}
        }
        if is_manifest {
            manifests.push((meta.location, partitions));
        } else {
            segments.push(meta);
        }
    }
    for (inner, outer) in &nested {
        if store_url.scheme() != "file" {
            // An object store is listed by the scan itself, which would read it.
            return Err(QueryError::NestedRecording {
                inner: inner.clone(),
                outer: outer.clone(),
            });
        }
        log::warn!(
            "{inner}: a recording inside the recording {outer} is not part of it and is not \
             read (name it as a PATH to query it)"
        );
    }
    let has_manifest = !manifests.is_empty();
    if segments.is_empty() && !has_manifest {
        return Err(QueryError::NoRecording {
            path: path.to_string(),
        });
    }
    let locations: Vec<StorePath> = manifests.iter().map(|(l, _)| l.clone()).collect();
    let (mut segments, incomplete) =
        follow_manifests(store.as_ref(), &store_url, &locations, segments).await?;
    let mut unfinished = Vec::new();
    for (location, manifest) in incomplete {
        let values = manifests
            .iter()
            .find(|(l, _)| *l == location)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let dir = location_name(&store_url, &location);
        let dir = dir.trim_end_matches("manifest.json").trim_end_matches('/');
        if store_url.scheme() == "file" {
            // Its segments are those listed after its spool was read.
            let events = parent(&location).join("events");
            let (u, listed) =
                read_local(std::path::Path::new(dir), store.as_ref(), &events, values).await?;
            segments.retain(|m| !is_segment_in(&m.location, &events));
            segments.extend(listed);
            unfinished.push(u);
        } else {
            warn_remote(dir, &manifest);
        }
    }
    segments.sort_by(|a, b| a.location.cmp(&b.location));
    // A tree without a row has no partition columns.
    let has_rows = !segments.is_empty() || unfinished.iter().any(|u| !u.rows.is_empty());
    let partition_keys = match layout {
        Some((_, mut keys)) if has_rows => {
            keys.truncate(usable_partitions(&keys));
            keys
        }
        _ => Vec::new(),
    };
    if let Some((dir, key, below)) = unusable
        && has_rows
    {
        let below = match below.as_slice() {
            [] => String::new(),
            keys => format!(
                ", nor are the partition keys below it ({})",
                keys.join(", ")
            ),
        };
        let why = if hindsight_format::COLUMNS.iter().any(|c| c.name == key) {
            format!("named like the column {key} of events (which holds each row's own value)")
        } else {
            format!("that repeats the partition key {key}")
        };
        log::warn!("{dir}: a partition directory {why} is not a column{below}");
    }
    Ok(Input {
        display: path.to_string(),
        store_url,
        store,
        root_url,
        single_file,
        partition_keys,
        segments,
        unfinished,
    })
}

/// How many of the leading partition `keys` can be columns of `events`: up
/// to the first one named like a column of the format (`host_name=web-1`,
/// `seq=5`) or like a key above it. DataFusion takes partition columns from
/// the leading directories in order, so the keys below such a one cannot be
/// columns either.
fn usable_partitions(keys: &[String]) -> usize {
    keys.iter()
        .enumerate()
        .position(|(i, k)| {
            hindsight_format::COLUMNS.iter().any(|c| c.name == *k) || keys[..i].contains(k)
        })
        .unwrap_or(keys.len())
}

/// The Hive partitions (`key=value` directories) that a location relative
/// to an input's root starts with: (key, value), outermost first.
fn hive_partitions(rel: &[&str]) -> Vec<(String, String)> {
    rel.iter()
        .map_while(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Holds the segments found against the manifests of their recordings, so
/// that an answer never silently covers other rows than the recording's: a
/// segment a manifest lists but the store lacks (also when looked up again
/// after the manifest was read: [`committed_since`]) is an error, and so is
/// a file in a complete recording's `events/` that its manifest does not
/// list and the store still has (a stray copy; one gone since was deleted
/// by the recorder's ring: [`deleted_since`]), and so is a listed segment
/// whose size is not the manifest's `bytes`. Segments of recordings
/// without a manifest, or of one still being written, are all kept. Sorted by location; with the manifests
/// that are not `complete`.
async fn follow_manifests(
    store: &dyn ObjectStore,
    store_url: &Url,
    manifests: &[StorePath],
    segments: Vec<ObjectMeta>,
) -> Result<Followed, QueryError> {
    let name = |p: &StorePath| location_name(store_url, p);
    let mut found: std::collections::BTreeMap<String, ObjectMeta> = segments
        .into_iter()
        .map(|m| (m.location.to_string(), m))
        .collect();
    // A fleet on an object store has many manifests: fetch them 16 at a time.
    let fetched: Vec<(&StorePath, hindsight_format::Manifest)> =
        futures::stream::iter(manifests.iter())
            .map(|manifest| async move {
                let bad = |reason: String| QueryError::BadManifest {
                    manifest: name(manifest),
                    reason,
                };
                let bytes = store
                    .get(manifest)
                    .await
                    .map_err(|e| bad(e.to_string()))?
                    .bytes()
                    .await
                    .map_err(|e| bad(e.to_string()))?;
                let text = std::str::from_utf8(&bytes).map_err(|e| bad(e.to_string()))?;
                let m = hindsight_format::manifest::Manifest::from_json(
                    text,
                    std::path::Path::new(&name(manifest)),
                )
                .map_err(|e| {
                    // The format's error names the manifest already.
                    let text = e.to_string();
                    let prefix = format!("{}: ", name(manifest));
                    bad(text.strip_prefix(&prefix).unwrap_or(&text).to_string())
                })?;
                Ok::<_, QueryError>((manifest, m))
            })
            .buffered(16)
            .try_collect()
            .await?;
    let mut kept = Vec::new();
    let mut incomplete = Vec::new();
    for (manifest, m) in fetched {
        let dir = manifest.as_ref().trim_end_matches("manifest.json");
        for seg in &m.segments {
            let loc = format!("{dir}{}", seg.file);
            let meta = match found.remove(&loc) {
                Some(meta) => meta,
                None => committed_since(store, store_url, manifest, &loc).await?,
            };
            // Cheap, from the listing: a file of another size is not the
            // segment the manifest lists (`info --verify` checks the hashes).
            if meta.size != seg.bytes {
                return Err(QueryError::SegmentSize {
                    file: raw_location_name(store_url, &loc),
                    manifest: name(manifest),
                    expected: seg.bytes,
                    actual: meta.size,
                });
            }
            kept.push(meta);
        }
        if m.complete {
            let events = format!("{dir}events/");
            let strays: Vec<String> = found
                .range(events.clone()..)
                .take_while(|(k, _)| k.starts_with(&events))
                .filter(|(k, _)| !k[events.len()..].contains('/'))
                .map(|(k, _)| k.clone())
                .collect();
            for k in strays {
                if deleted_since(store, store_url, &found[&k].location).await? {
                    found.remove(&k);
                } else {
                    return Err(QueryError::UnlistedSegment {
                        file: raw_location_name(store_url, &k),
                        manifest: name(manifest),
                    });
                }
            }
        }
        if !m.complete {
            incomplete.push((manifest.clone(), m));
        }
    }
    kept.extend(found.into_values());
    kept.sort_by(|a, b| a.location.cmp(&b.location));
    Ok((kept, incomplete))
}

/// A segment that `manifest` lists but the listing lacks, as the store has
/// it now. A recorder commits a segment (renames it into place, then
/// rewrites `manifest.json`) also between the listing and the read of the
/// manifest, in a recording still being written as in one it finishes then;
/// a segment that is not there now either is missing.
async fn committed_since(
    store: &dyn ObjectStore,
    store_url: &Url,
    manifest: &StorePath,
    location: &str,
) -> Result<ObjectMeta, QueryError> {
    let file = raw_location_name(store_url, location);
    let path = StorePath::parse(location).map_err(|e| QueryError::BadManifest {
        manifest: location_name(store_url, manifest),
        reason: format!("it lists a segment that is not a file in the recording: {e}"),
    })?;
    head_now(store, store_url, &path)
        .await?
        .ok_or_else(|| QueryError::MissingSegment {
            file,
            manifest: location_name(store_url, manifest),
        })
}

/// Whether a listed file that its recording's manifest does not list is gone
/// now. A recorder with `--max-size` deletes its oldest segment after it
/// wrote a manifest without it (`deleted_segments` counts it): listed before
/// the delete and the manifest read after, it is no stray copy.
async fn deleted_since(
    store: &dyn ObjectStore,
    store_url: &Url,
    location: &StorePath,
) -> Result<bool, QueryError> {
    Ok(head_now(store, store_url, location).await?.is_none())
}

/// The store's metadata of `location` now, or `None` when it has no such
/// file; another error names the file.
async fn head_now(
    store: &dyn ObjectStore,
    store_url: &Url,
    location: &StorePath,
) -> Result<Option<ObjectMeta>, QueryError> {
    match store.head(location).await {
        Ok(meta) => Ok(Some(meta)),
        Err(datafusion::object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(QueryError::ObjectStore {
            url: location_name(store_url, location),
            reason: e.to_string(),
        }),
    }
}

/// The segments [`follow_manifests`] keeps, and the manifests (with their
/// locations) that are not `complete`.
type Followed = (
    Vec<ObjectMeta>,
    Vec<(StorePath, hindsight_format::Manifest)>,
);

/// A location's name for messages: a local path, or the full URL.
fn location_name(store_url: &Url, location: &StorePath) -> String {
    raw_location_name(store_url, location.as_ref())
}

/// [`location_name`] of a location as its string (as listed, not encoded).
fn raw_location_name(store_url: &Url, location: &str) -> String {
    if store_url.scheme() == "file" {
        format!("/{location}")
    } else {
        format!("{}/{location}", store_url.as_str().trim_end_matches('/'))
    }
}

type Located = (Url, Arc<dyn ObjectStore>, StorePath, Url, bool);

/// Picks the store for a PATH and the root inside it.
fn locate(path: &str) -> Result<Located, QueryError> {
    let bad = |reason: String| QueryError::ObjectStore {
        url: path.to_string(),
        reason,
    };
    if let Some(scheme) = url_scheme(path)
        && !scheme.eq_ignore_ascii_case("file")
    {
        if !scheme.eq_ignore_ascii_case("s3") && !scheme.eq_ignore_ascii_case("s3a") {
            return Err(bad(format!(
                "unsupported URL scheme {scheme}:// (use a local path or s3://bucket/prefix)"
            )));
        }
        let url = Url::parse(path).map_err(|e| bad(e.to_string()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "an s3:// URL is percent-encoded: write ? as %3F and # as %23".into(),
            ));
        }
        let bucket = url
            .host_str()
            .ok_or_else(|| bad("no bucket in URL".into()))?
            .to_string();
        let store = crate::store::s3_store(path, &bucket)?;
        let store_url = Url::parse(&format!("s3://{bucket}")).map_err(|e| bad(e.to_string()))?;
        // The URL's path, percent-encoded as it is: the key prefix is what it decodes to.
        let prefix = url.path().trim_matches('/').to_string();
        let root = StorePath::from_url_path(&prefix).map_err(|e| bad(e.to_string()))?;
        // A trailing slash names a directory, `.parquet` or not.
        let single = prefix.ends_with(".parquet") && !url.path().ends_with('/');
        let root_url = if single || prefix.is_empty() {
            Url::parse(&format!("s3://{bucket}/{prefix}"))
        } else {
            Url::parse(&format!("s3://{bucket}/{prefix}/"))
        }
        .map_err(|e| bad(e.to_string()))?;
        return Ok((store_url, store, root, root_url, single));
    }
    let local = local_path(path)?;
    let canonical = std::fs::canonicalize(&local).map_err(|_| QueryError::NotFound {
        path: path.to_string(),
    })?;
    let single = canonical.is_file();
    if single && canonical.extension().is_none_or(|e| e != "parquet") {
        return Err(QueryError::NoRecording {
            path: path.to_string(),
        });
    }
    if let Some(err) = canonical.components().find_map(|c| match c {
        std::path::Component::Normal(name) => illegal_name(&canonical, name),
        _ => None,
    }) {
        return Err(err);
    }
    let root = StorePath::from_filesystem_path(&canonical).map_err(|e| bad(e.to_string()))?;
    let root_url = if single {
        Url::from_file_path(&canonical)
    } else {
        Url::from_directory_path(&canonical)
    }
    .map_err(|()| bad("not an absolute path".into()))?;
    let store_url = Url::parse("file:///").expect("static URL");
    Ok((
        store_url,
        Arc::new(LocalFileSystem::new()),
        root,
        root_url,
        single,
    ))
}

/// [`QueryError::IllegalName`] for `file` if `name` (its own or a directory's
/// above it) cannot be a part of an object-store path: the local store
/// refuses control characters (a newline in a directory's name, say) and
/// names that are not UTF-8.
fn illegal_name(file: &std::path::Path, name: &std::ffi::OsStr) -> Option<QueryError> {
    let reason = match name.to_str() {
        None => "is not UTF-8".to_string(),
        Some(text) => format!(
            "holds the control character {:?}",
            text.chars().find(char::is_ascii_control)?
        ),
    };
    Some(QueryError::IllegalName {
        file: file.display().to_string(),
        name: name.to_string_lossy().into_owned(),
        reason,
    })
}

/// The first file or directory under `dir` (symbolic links followed, as the
/// local store lists them) whose name [`illegal_name`] refuses. Looked for
/// only once a listing failed, and that failure may be a loop of links: each
/// directory is entered once (by device and inode), and after
/// [`MAX_ENTRIES_SEARCHED`] entries the search gives up (`None`: the caller
/// reports the store's own error).
fn find_illegal_name(dir: &std::path::Path) -> Option<QueryError> {
    let mut search = NameSearch {
        entered: std::collections::HashSet::new(),
        budget: MAX_ENTRIES_SEARCHED,
    };
    search.under(dir, 0).ok().flatten()
}

/// How many entries [`find_illegal_name`] looks at, at most.
const MAX_ENTRIES_SEARCHED: usize = 100_000;

/// The state of one [`find_illegal_name`].
struct NameSearch {
    /// The directories entered, by (device, inode).
    entered: std::collections::HashSet<(u64, u64)>,
    /// The entries it may still look at.
    budget: usize,
}

impl NameSearch {
    /// The first refused name under `dir`; `Err(())` once the budget is spent.
    fn under(&mut self, dir: &std::path::Path, depth: usize) -> Result<Option<QueryError>, ()> {
        use std::os::unix::fs::MetadataExt;
        // Deep enough for any tree (and the stack).
        if depth > 64 {
            return Ok(None);
        }
        let Ok(meta) = std::fs::metadata(dir) else {
            return Ok(None);
        };
        if !self.entered.insert((meta.dev(), meta.ino())) {
            return Ok(None);
        }
        let Ok(read) = std::fs::read_dir(dir) else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        for entry in read.flatten() {
            self.budget = self.budget.checked_sub(1).ok_or(())?;
            entries.push(entry);
        }
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if let Some(err) = illegal_name(&path, &entry.file_name()) {
                return Ok(Some(err));
            }
            if path.is_dir()
                && let Some(err) = self.under(&path, depth + 1)?
            {
                return Ok(Some(err));
            }
        }
        Ok(None)
    }
}

/// The scheme of a PATH that is a URL: RFC 3986's shape (a letter, then
/// letters, digits, `+`, `-`, `.`) before `://`, to be compared without
/// case; anything else before `://` (`odd/x://y`) is part of a plain path.
pub fn url_scheme(path: &str) -> Option<&str> {
    path.split_once("://").map(|(s, _)| s).filter(|s| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic())
            && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The filesystem path a local PATH argument names: a `file://` URL's,
/// decoded by [`file_url_path`], or a plain path as it is. Any other URL
/// (`s3://`) is not on this host: an error. The one parser of local PATHs,
/// for `query` and every other command that reads or writes a recording.
pub fn local_path(path: &str) -> Result<std::path::PathBuf, QueryError> {
    match url_scheme(path) {
        Some(s) if s.eq_ignore_ascii_case("file") => file_url_path(path),
        Some(scheme) => Err(QueryError::ObjectStore {
            url: path.to_string(),
            reason: format!(
                "{scheme}:// names no file on this host (give a path or a file:// URL)"
            ),
        }),
        None => Ok(std::path::PathBuf::from(path)),
    }
}

/// The filesystem path a `file://` URL names, its percent-encoding decoded
/// (`file:///tmp/rec%20%5Ba%5D` is `/tmp/rec [a]`). A plain PATH is taken as
/// it is, `%` and all; a URL with a query (`?`) or fragment (`#`) is refused
/// rather than cut there: those characters of a name are written `%3F` and
/// `%23`.
fn file_url_path(path: &str) -> Result<std::path::PathBuf, QueryError> {
    let bad = |reason: &str| QueryError::ObjectStore {
        url: path.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(path).map_err(|e| bad(&format!("not a file:// URL: {e}")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "a file:// URL is percent-encoded: write ? as %3F and # as %23 (or give the plain path)",
        ));
    }
    if url.path().to_ascii_uppercase().contains("%2F") {
        return Err(bad(
            "%2F would be a / inside a file name, which none can hold: write the / itself",
        ));
    }
    let p = url.to_file_path().map_err(|()| {
        bad("not a local file URL (file:///absolute/path, on this host; or give the plain path)")
    })?;
    if p.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(bad(
            "%00 decodes to a NUL byte, which no file name can hold",
        ));
    }
    Ok(p)
}

/// Checks that every segment has a readable Parquet footer and a schema
/// compatible with the events schema; names the first file that does not.
pub async fn validate(input: &Input) -> Result<(), QueryError> {
    let checks = futures::stream::iter(input.segments.iter())
        .map(|meta| check_segment(input, meta))
        .buffer_unordered(16);
    checks.try_collect::<Vec<()>>().await.map(|_| ())
}

async fn check_segment(input: &Input, meta: &ObjectMeta) -> Result<(), QueryError> {
    use datafusion::parquet::arrow::parquet_to_arrow_schema;
    use datafusion::parquet::file::metadata::ParquetMetaDataReader;

    let name = segment_name(input, meta);
    let corrupt = |reason: String| QueryError::CorruptSegment {
        file: name.clone(),
        reason,
    };
    if meta.size < 12 {
        return Err(corrupt(format!(
            "{} bytes is too small for a Parquet file",
            meta.size
        )));
    }
    let tail = input
        .store
        .get_range(&meta.location, meta.size - 8..meta.size)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    if &tail[4..8] != b"PAR1" {
        return Err(corrupt(
            "no Parquet footer (PAR1 magic missing: truncated or not Parquet)".into(),
        ));
    }
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len + 12 > meta.size {
        return Err(corrupt(format!(
            "footer length {len} exceeds the file size {}",
            meta.size
        )));
    }
    let footer = input
        .store
        .get_range(&meta.location, meta.size - 8 - len..meta.size - 8)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    let metadata =
        ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| corrupt(e.to_string()))?;
    let file_meta = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file_meta.schema_descr(), file_meta.key_value_metadata())
        .map_err(|e| corrupt(e.to_string()))?;
    let expected = hindsight_format::events_schema();
    // Columns that every version of the format has (never null) must be
    // there: a Parquet file of other data is not a segment.
    let absent: Vec<&str> = expected
        .fields()
        .iter()
        .filter(|w| !w.is_nullable() && schema.field_with_name(w.name()).is_err())
        .map(|w| w.name().as_str())
        .collect();
    if let Some(first) = absent.first() {
        return Err(corrupt(format!(
            "not a Hindsight segment: it lacks the events column {first}{} (to query another \
             Parquet file, such as a saved result, name a recording and run CREATE EXTERNAL \
             TABLE answer STORED AS PARQUET LOCATION '{name}'; SELECT * FROM answer)",
            match absent.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            }
        )));
    }
    for field in schema.fields() {
        if let Ok(want) = expected.field_with_name(field.name())
            && want.data_type() != field.data_type()
            && !compatible(want.data_type(), field.data_type())
        {
            return Err(corrupt(format!(
                "column {} is {}, the events schema says {}",
                field.name(),
                field.data_type(),
                want.data_type()
            )));
        }
    }
    Ok(())
}

/// Types that differ only in ways the Parquet scan adapts (string views,
/// dictionary encoding, list item names).
fn compatible(
    want: &datafusion::arrow::datatypes::DataType,
    got: &datafusion::arrow::datatypes::DataType,
) -> bool {
    use datafusion::arrow::datatypes::DataType as D;
    match (want, got) {
        (D::Utf8, D::Utf8View | D::LargeUtf8) => true,
        (w, D::Dictionary(_, v)) => compatible(w, v) || w == v.as_ref(),
        (D::List(a), D::List(b) | D::LargeList(b)) => {
            a.data_type() == b.data_type() || compatible(a.data_type(), b.data_type())
        }
        _ => false,
    }
}

/// A segment's name for messages: a local path, or the full URL.
pub fn segment_name(input: &Input, meta: &ObjectMeta) -> String {
    location_name(&input.store_url, &meta.location)
}

/// Decodes every segment of `paths` in full and returns the first that does
/// not decode, as [`QueryError::CorruptSegment`] naming the file.
///
/// DataFusion's errors for damaged pages say what is wrong but not in which
/// file; callers run this when a query fails with a Parquet error (it reads
/// everything, so only then). `Ok(None)`: every segment decodes.
pub async fn find_corrupt_segment(paths: &[String]) -> Result<Option<QueryError>, QueryError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    for path in paths {
        let input = resolve(path).await?;
        for meta in &input.segments {
            let corrupt = |reason: String| QueryError::CorruptSegment {
                file: segment_name(&input, meta),
                reason,
            };
            // One segment at a time in memory (tens of MB at most).
            let bytes = match input.store.get(&meta.location).await {
                Ok(got) => got.bytes().await,
                Err(e) => Err(e),
            };
            let bytes = match bytes {
                Ok(b) => b,
                Err(e) => return Ok(Some(corrupt(e.to_string()))),
            };
            let reader =
                match ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()) {
                    Ok(r) => r,
                    Err(e) => return Ok(Some(corrupt(e.to_string()))),
                };
            for batch in reader {
                if let Err(e) = batch {
                    return Ok(Some(corrupt(e.to_string())));
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use datafusion::object_store::PutPayload;
    use datafusion::object_store::memory::InMemory;
    use hindsight_format::manifest::{Manifest, SegmentInfo};

    use super::*;

    /// Only a real scheme before `://` makes a URL; `file` in any case.
    #[test]
    fn local_paths_and_urls() {
        use std::path::PathBuf;
        assert_eq!(local_path("odd/x://y").unwrap(), PathBuf::from("odd/x://y"));
        assert_eq!(local_path("a b://c").unwrap(), PathBuf::from("a b://c"));
        assert_eq!(
            local_path("FILE:///tmp/a%20b").unwrap(),
            PathBuf::from("/tmp/a b")
        );
        assert_eq!(
            local_path("/tmp/x%20y").unwrap(),
            PathBuf::from("/tmp/x%20y")
        );
        for bad in [
            "s3://b/k",
            "S3://b/k",
            "git+ssh://h/x",
            "file:///tmp/a%00b",
            "file:///tmp/a%2fb",
        ] {
            assert!(local_path(bad).is_err(), "{bad}");
        }
    }

    /// A store with the recording `rec/`: segments 0 and 1, a manifest
    /// (`complete` or not) that lists both; and the store's listing taken
    /// before segment 1 and the manifest listing it were written (segment 0
    /// only), as `resolve` sees a recording that commits a segment between
    /// listing and reading manifests.
    async fn committed_after_listing(complete: bool) -> (InMemory, Vec<ObjectMeta>) {
        let store = InMemory::new();
        let seg = |i: u64| format!("rec/{}", hindsight_format::manifest::segment_file_name(i));
        store
            .put(&StorePath::from(seg(0)), PutPayload::from_static(b"zero"))
            .await
            .unwrap();
        let listing = vec![store.head(&StorePath::from(seg(0))).await.unwrap()];
        store
            .put(&StorePath::from(seg(1)), PutPayload::from_static(b"one"))
            .await
            .unwrap();
        let manifest = Manifest {
            segments: (0..2)
                .map(|i| SegmentInfo {
                    file: hindsight_format::manifest::segment_file_name(i),
                    bytes: [4, 3][i as usize],
                    ..Default::default()
                })
                .collect(),
            complete,
            ..Default::default()
        };
        put_manifest(&store, &manifest).await;
        (store, listing)
    }

    /// Writes `manifest` as `rec/manifest.json`.
    async fn put_manifest(store: &InMemory, manifest: &Manifest) {
        store
            .put(
                &StorePath::from("rec/manifest.json"),
                PutPayload::from(manifest.to_json()),
            )
            .await
            .unwrap();
    }

    fn store_url() -> Url {
        Url::parse("s3://bucket").unwrap()
    }

    /// A segment the manifest lists but the listing lacks is looked up: one
    /// committed since the listing is read (before, `MissingSegment` for a
    /// recording that is fine), of a live recording and of one that
    /// finished since.
    #[tokio::test]
    async fn a_segment_committed_after_the_listing_is_read() {
        for complete in [false, true] {
            let (store, listing) = committed_after_listing(complete).await;
            let manifests = [StorePath::from("rec/manifest.json")];
            let (kept, incomplete) = follow_manifests(&store, &store_url(), &manifests, listing)
                .await
                .unwrap();
            let kept: Vec<String> = kept.iter().map(|m| m.location.to_string()).collect();
            assert_eq!(
                kept,
                [
                    "rec/events/part-000000.parquet",
                    "rec/events/part-000001.parquet"
                ],
                "complete: {complete}"
            );
            assert_eq!(incomplete.len(), usize::from(!complete));
        }
    }

    /// A store with the complete recording `rec/` as a `--max-size` ring
    /// leaves it: segments 0 and 1 listed, then a manifest that lists only
    /// segment 1 (`deleted_segments` 1) written and segment 0 deleted.
    async fn deleted_after_listing() -> (InMemory, Vec<ObjectMeta>) {
        let store = InMemory::new();
        let seg = |i: u64| {
            StorePath::from(format!(
                "rec/{}",
                hindsight_format::manifest::segment_file_name(i)
            ))
        };
        let mut listing = Vec::new();
        for i in 0..2 {
            store
                .put(&seg(i), PutPayload::from_static(b"seg"))
                .await
                .unwrap();
            listing.push(store.head(&seg(i)).await.unwrap());
        }
        let manifest = Manifest {
            segments: vec![SegmentInfo {
                file: hindsight_format::manifest::segment_file_name(1),
                bytes: 3,
                ..Default::default()
            }],
            deleted_segments: 1,
            complete: true,
            ..Default::default()
        };
        put_manifest(&store, &manifest).await;
        store.delete(&seg(0)).await.unwrap();
        (store, listing)
    }

    /// A listed segment that the manifest read later no longer lists and
    /// the store no longer has was deleted by the recorder's ring, not
    /// copied in: it is dropped (before, `UnlistedSegment` for a recording
    /// that is fine); one still there is a stray copy.
    #[tokio::test]
    async fn a_segment_deleted_after_the_listing_is_no_stray() {
        let (store, listing) = deleted_after_listing().await;
        let manifests = [StorePath::from("rec/manifest.json")];
        let (kept, _) = follow_manifests(&store, &store_url(), &manifests, listing.clone())
            .await
            .unwrap();
        let kept: Vec<String> = kept.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(kept, ["rec/events/part-000001.parquet"]);
        // Put back, it is a copy the manifest does not list.
        store
            .put(&listing[0].location, PutPayload::from_static(b"seg"))
            .await
            .unwrap();
        let err = follow_manifests(&store, &store_url(), &manifests, listing)
            .await
            .expect_err("segment 0 is a stray copy");
        assert!(
            matches!(&err, QueryError::UnlistedSegment { file, .. }
                if file == "s3://bucket/rec/events/part-000000.parquet"),
            "{err}"
        );
    }

    /// A listed segment that is not there when looked up is missing, in a
    /// complete recording (corrupt) as in one still being written.
    #[tokio::test]
    async fn a_listed_segment_still_missing_is_an_error() {
        for complete in [false, true] {
            let (store, listing) = committed_after_listing(complete).await;
            store
                .delete(&StorePath::from("rec/events/part-000001.parquet"))
                .await
                .unwrap();
            let manifests = [StorePath::from("rec/manifest.json")];
            let err = follow_manifests(&store, &store_url(), &manifests, listing)
                .await
                .expect_err("segment 1 is missing");
            assert!(
                matches!(&err, QueryError::MissingSegment { file, manifest }
                    if file == "s3://bucket/rec/events/part-000001.parquet"
                        && manifest == "s3://bucket/rec/manifest.json"),
                "{err}"
            );
        }
    }

    /// A listed segment of another size than the manifest's `bytes` (another
    /// recording's file copied over it) is refused, naming it.
    #[tokio::test]
    async fn a_segment_of_another_size_is_an_error() {
        let (store, mut listing) = committed_after_listing(true).await;
        listing[0].size = 5;
        let manifests = [StorePath::from("rec/manifest.json")];
        let err = follow_manifests(&store, &store_url(), &manifests, listing)
            .await
            .expect_err("segment 0 has another size");
        assert!(
            matches!(&err, QueryError::SegmentSize { file, expected: 4, actual: 5, .. }
                if file == "s3://bucket/rec/events/part-000000.parquet"),
            "{err}"
        );
    }
}
