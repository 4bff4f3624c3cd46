//! [`Recording`]: opens one recording and reads it back; [`discover`] finds
//! every recording in a fleet tree.
//!
//! Opening checks the manifest (present, parseable, not from a newer format),
//! that every segment exists with the recorded size, that its Parquet footer
//! decodes and that its schema is the events schema. [`OpenOptions::verify`]
//! also checks every segment's sha256. Opening never modifies anything: an
//! incomplete recording's spool is read in memory (salvaged) and reported
//! through [`Recording::warnings`]; `hindsight recover` makes it permanent.

use std::fs;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use crate::batch::{batch_to_events, seq_column, sort_by_seq};
use crate::error::{FormatError, Result};
use crate::event::Event;
use crate::manifest::{MANIFEST_FILE, Manifest, SegmentInfo};
use crate::segment::{open_segment, projection_mask, read_segment, sha256_file};
use crate::spool::{list_spool, read_spool};

/// How to open a recording.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Check every segment's sha256 against the manifest (reads every byte).
    pub verify: bool,
    /// Read the spool of an incomplete recording into memory.
    pub salvage: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            verify: false,
            salvage: true,
        }
    }
}

/// One opened recording.
#[derive(Debug, Clone)]
pub struct Recording {
    dir: PathBuf,
    manifest: Manifest,
    salvaged: Vec<RecordBatch>,
    /// Per salvaged batch: the index of the segment it belongs to.
    segment_of: Vec<u64>,
    warnings: Vec<String>,
}

/// Rows per batch when reading segments.
pub const READ_BATCH_ROWS: usize = 65_536;

impl Recording {
    /// Opens the recording at `dir` with the default [`OpenOptions`] (no hashing).
    pub fn open(dir: impl AsRef<Path>) -> Result<Recording> {
        Recording::open_with(dir, OpenOptions::default())
    }

    /// Opens the recording at `dir`.
    pub fn open_with(dir: impl AsRef<Path>, opts: OpenOptions) -> Result<Recording> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(FormatError::not_a_directory(&dir));
        }
        let manifest = Manifest::read(&dir)?;
        for seg in &manifest.segments {
            check_segment(&dir, seg, opts.verify)?;
        }
        let mut rec = Recording {
            dir,
            manifest,
            salvaged: Vec::new(),
            segment_of: Vec::new(),
            warnings: Vec::new(),
        };
        rec.look_at_spool(opts.salvage)?;
        for stray in rec.unlisted_segments()? {
            let err = FormatError::UnlistedSegment {
                path: stray,
                manifest: rec.dir.join(MANIFEST_FILE),
            };
            if opts.verify {
                return Err(err);
            }
            rec.warnings.push(err.to_string());
        }
        Ok(rec)
    }

    /// The `.parquet` files in a complete recording's `events/` that its
    /// manifest does not list (stray copies), sorted. An incomplete
    /// recording's writer commits a segment before it lists it: none there.
    fn unlisted_segments(&self) -> Result<Vec<PathBuf>> {
        let events = self.dir.join("events");
        if !self.manifest.complete || !events.is_dir() {
            return Ok(Vec::new());
        }
        let listed: std::collections::BTreeSet<PathBuf> = self
            .manifest
            .segments
            .iter()
            .map(|s| self.dir.join(&s.file))
            .collect();
        let mut strays: Vec<PathBuf> = fs::read_dir(&events)
            .map_err(|e| FormatError::io(&events, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "parquet") && !listed.contains(p))
            .collect();
        strays.sort();
        Ok(strays)
    }

    fn look_at_spool(&mut self, salvage: bool) -> Result<()> {
        let spools = list_spool(&self.dir)?;
        if spools.is_empty() {
            if let Some(why) = self.manifest.incomplete_because() {
                self.warnings.push(format!(
                    "{}: the recording is not complete ({why}); no spool holds rows beyond its segments; once its writer is gone, `hindsight recover {}` marks it complete",
                    self.dir.display(),
                    self.dir.display()
                ));
            }
            return Ok(());
        }
        let committed: std::collections::BTreeSet<&str> = self
            .manifest
            .segments
            .iter()
            .map(|s| s.file.as_str())
            .collect();
        let last_seq = self.manifest.segments.iter().map(|s| s.last_seq).max();
        let mut rows = 0;
        for (index, path) in spools {
            // A spool whose segment was committed is a leftover duplicate.
            if committed.contains(crate::manifest::segment_file_name(index).as_str()) {
                continue;
            }
            if !salvage {
                self.warnings
                    .push(format!("{}: unrecovered spool file", path.display()));
                continue;
            }
            let contents = read_spool(&path, index)?;
            if let Some(err) = &contents.checkpoint_error {
                self.warnings.push(format!(
                    "{}: the checkpoint of segment {index} cannot be read ({err}); its rows are not read",
                    path.display()
                ));
            }
            if let Some(err) = &contents.error {
                self.warnings.push(format!(
                    "{}: spool ends in an unreadable part ({err}); kept the {} rows before it",
                    path.display(),
                    contents.rows() - contents.checkpoint_rows
                ));
            }
            for b in contents.batches {
                let b = sort_by_seq(&b)?;
                // Rows already in a committed segment (crash between commit and cleanup).
                let keep = match last_seq {
                    Some(l) if seq_column(&b)?.value(0) <= l => {
                        let seq = seq_column(&b)?;
                        let first_new = seq
                            .values()
                            .iter()
                            .position(|&s| s > l)
                            .unwrap_or(b.num_rows());
                        b.slice(first_new, b.num_rows() - first_new)
                    }
                    _ => b,
                };
                rows += keep.num_rows();
                if keep.num_rows() > 0 {
                    self.salvaged.push(keep);
                    self.segment_of.push(index);
                }
            }
        }
        if let Some(why) = self.manifest.incomplete_because() {
            self.warnings.push(format!(
                "{}: the recording is not complete ({why}); read {rows} rows from its checkpoint and spool in memory; `hindsight recover {}` makes them a segment",
                self.dir.display(),
                self.dir.display()
            ));
        } else if rows > 0 {
            self.warnings.push(format!(
                "{}: read {rows} rows from a spool its manifest does not cover; `hindsight recover {}` makes them a segment",
                self.dir.display(),
                self.dir.display()
            ));
        }
        Ok(())
    }

    /// The recording directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Problems worth telling the user (incomplete recording, salvaged spool).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The rows read from the checkpoint and spool of an unfinished
    /// recording (not in any segment), sorted by `seq`, in the events schema.
    pub fn salvaged(&self) -> &[RecordBatch] {
        &self.salvaged
    }

    /// The salvaged batches with the index of the segment each belongs to
    /// (its rows are in `events/part-INDEX.parquet` once that file exists: a
    /// segment committed but not yet listed in the manifest is read from that
    /// file). A reader that lists `events/` itself, such as `query`, leaves
    /// out the batches whose segment file its listing holds.
    pub fn salvaged_by_segment(&self) -> impl Iterator<Item = (u64, &RecordBatch)> {
        self.segment_of.iter().copied().zip(&self.salvaged)
    }

    /// Rows read from the spool of an unfinished recording (not in any segment).
    pub fn salvaged_rows(&self) -> u64 {
        self.salvaged.iter().map(|b| b.num_rows() as u64).sum()
    }

    /// Rows in the segments plus salvaged rows.
    pub fn rows(&self) -> u64 {
        self.manifest.rows() + self.salvaged_rows()
    }

    /// Absolute paths of the segments, in `seq` order (for DataFusion and friends).
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        let mut segs: Vec<&SegmentInfo> = self.manifest.segments.iter().collect();
        segs.sort_by_key(|s| s.first_seq);
        segs.iter().map(|s| self.dir.join(&s.file)).collect()
    }

    /// Every row as record batches in `seq` order: the segments, then the
    /// salvaged spool rows. `columns` projects to the named columns (in
    /// schema order); `None` reads all.
    pub fn batches(&self, columns: Option<&[&str]>) -> Batches<'_> {
        self.batches_as(columns, false)
    }

    /// Like [`Recording::batches`], but the segments' string columns come
    /// as `Utf8View` arrays, which point into the decompressed pages instead
    /// of copying every value into a new buffer: cheaper to decode for a
    /// reader that looks at each value once (replay). Rows from a salvaged
    /// spool stay `Utf8`.
    pub fn view_batches(&self, columns: Option<&[&str]>) -> Batches<'_> {
        self.batches_as(columns, true)
    }

    fn batches_as(&self, columns: Option<&[&str]>, views: bool) -> Batches<'_> {
        Batches {
            views,
            rec: self,
            columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
            paths: self.segment_paths(),
            next_segment: 0,
            current: None,
            current_path: PathBuf::new(),
            next_salvaged: 0,
        }
    }

    /// Every row as an [`Event`], in `seq` order.
    pub fn events(&self) -> impl Iterator<Item = Result<Event>> + '_ {
        self.batches(None).flat_map(|b| {
            let v: Vec<Result<Event>> = match b.and_then(|b| batch_to_events(&b)) {
                Ok(events) => events.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            v
        })
    }

    /// The rows at `ordinals`: positions in the order [`Recording::batches`]
    /// yields rows, counting from 0, strictly increasing. Returns them in
    /// that order. `columns` projects as in [`Recording::batches`] (the
    /// columns every event has are always read); `None` reads all.
    ///
    /// This is late materialisation for readers that project: replay reads
    /// only the columns its rules and state model need, then fetches the
    /// whole row of the few events that produced a verdict. Only the row
    /// groups holding a wanted row are read, and within them the page index
    /// skips pages without one.
    pub fn rows_at(&self, ordinals: &[u64], columns: Option<&[&str]>) -> Result<Vec<Event>> {
        if ordinals.windows(2).any(|w| w[0] >= w[1]) {
            return Err(FormatError::Invalid(
                "row positions must be strictly increasing".into(),
            ));
        }
        let mut out = Vec::with_capacity(ordinals.len());
        let mut wanted = ordinals;
        let mut base = 0u64;
        for path in self.segment_paths() {
            if wanted.is_empty() {
                return Ok(out);
            }
            let rows = read_rows_of_segment(&path, base, columns, &mut wanted, &mut out)?;
            base += rows;
        }
        for b in &self.salvaged {
            let n = b.num_rows() as u64;
            let here = wanted.partition_point(|&o| o < base + n);
            if here > 0 {
                let cols = crate::batch::EventColumns::new(b)?;
                out.extend(
                    wanted[..here]
                        .iter()
                        .map(|&o| cols.event((o - base) as usize)),
                );
                wanted = &wanted[here..];
            }
            base += n;
        }
        match wanted.first() {
            None => Ok(out),
            Some(o) => Err(FormatError::Invalid(format!(
                "{}: no row at position {o} (the recording has {base} rows)",
                self.dir.display()
            ))),
        }
    }

    /// Reads every segment and checks its sha256 against the manifest.
    pub fn verify(&self) -> Result<()> {
        for seg in &self.manifest.segments {
            check_segment(&self.dir, seg, true)?;
        }
        Ok(())
    }
}

/// Checks one segment: exists, has the manifest's size, its footer decodes
/// with the events schema, and (if `hash`) its sha256 matches.
pub fn check_segment(dir: &Path, seg: &SegmentInfo, hash: bool) -> Result<()> {
    let path = dir.join(&seg.file);
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FormatError::MissingSegment { path });
        }
        Err(e) => return Err(FormatError::io(&path, e)),
    };
    if meta.len() != seg.bytes {
        return Err(FormatError::SizeMismatch {
            path,
            expected: seg.bytes,
            actual: meta.len(),
        });
    }
    if hash {
        let actual = sha256_file(&path)?;
        if actual != seg.sha256 {
            return Err(FormatError::HashMismatch {
                path,
                expected: seg.sha256.clone(),
                actual,
            });
        }
    }
    open_segment(&path, Some(&["seq"]), 1)?;
    Ok(())
}

/// The columns every row has (`NOT NULL`): [`crate::EventColumns`] needs them.
pub const REQUIRED_COLUMNS: &[&str] = &[
    "time_ns",
    "seq",
    "host_name",
    "boot_id",
    "event_kind",
    "process_pid",
    "thread_id",
];

/// [`open_segment`] with the string columns read as `Utf8View`.
fn open_segment_views(
    path: &Path,
    columns: Option<&[&str]>,
    batch_size: usize,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader> {
    use parquet::arrow::arrow_reader::{
        ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    let corrupt = |e: &dyn std::fmt::Display| FormatError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let meta =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| corrupt(&e))?;
    crate::segment::check_schema(path, meta.schema())?;
    let hint = std::sync::Arc::new(crate::schema::with_string_views(meta.schema()));
    let meta = ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hint),
    )
    .map_err(|e| corrupt(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta);
    let builder = match columns {
        None => builder,
        Some(names) => {
            let mask = projection_mask(builder.schema(), builder.parquet_schema(), names)?;
            builder.with_projection(mask)
        }
    };
    builder
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| corrupt(&e))
}

/// Reads the rows of one segment (whose first row has position `base`)
/// that `wanted` names, all columns, appending them to `out` and dropping
/// them from `wanted`. Returns the segment's row count.
fn read_rows_of_segment(
    path: &Path,
    base: u64,
    columns: Option<&[&str]>,
    wanted: &mut &[u64],
    out: &mut Vec<Event>,
) -> Result<u64> {
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };
    use parquet::file::metadata::PageIndexPolicy;
    let corrupt = |e: &dyn std::fmt::Display| FormatError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        file,
        ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
    )
    .map_err(|e| corrupt(&e))?;
    crate::segment::check_schema(path, builder.schema())?;
    let meta = builder.metadata().clone();
    let rows = meta.file_metadata().num_rows() as u64;
    let here = wanted.partition_point(|&o| o < base + rows);
    let (mine, rest) = wanted.split_at(here);
    *wanted = rest;
    if mine.is_empty() {
        return Ok(rows);
    }
    // Row groups holding a wanted row, and the selection within them.
    let mut groups = Vec::new();
    let mut selectors = Vec::new();
    let mut start = base;
    let mut i = 0;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        let n = rg.num_rows() as u64;
        let end = start + n;
        let first = i;
        while i < mine.len() && mine[i] < end {
            i += 1;
        }
        if i > first {
            groups.push(g);
            let mut at = start;
            for &o in &mine[first..i] {
                if o > at {
                    selectors.push(RowSelector::skip((o - at) as usize));
                }
                selectors.push(RowSelector::select(1));
                at = o + 1;
            }
            if end > at {
                selectors.push(RowSelector::skip((end - at) as usize));
            }
        }
        start = end;
    }
    let builder = match columns {
        None => builder,
        Some(names) => {
            let mask = projection_mask(
                builder.schema(),
                builder.parquet_schema(),
                REQUIRED_COLUMNS.iter().chain(names),
            )?;
            builder.with_projection(mask)
        }
    };
    let reader = builder
        .with_row_groups(groups)
        .with_row_selection(RowSelection::from(selectors))
        .with_batch_size(mine.len().clamp(1, 8192))
        .build()
        .map_err(|e| corrupt(&e))?;
    let before = out.len();
    for b in reader {
        out.extend(batch_to_events(&b.map_err(|e| corrupt(&e))?)?);
    }
    if out.len() - before != mine.len() {
        return Err(FormatError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "read {} of the {} rows asked for",
                out.len() - before,
                mine.len()
            ),
        });
    }
    Ok(rows)
}

/// Iterator over a recording's batches; see [`Recording::batches`].
pub struct Batches<'a> {
    views: bool,
    rec: &'a Recording,
    columns: Option<Vec<String>>,
    paths: Vec<PathBuf>,
    next_segment: usize,
    current: Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
    current_path: PathBuf,
    next_salvaged: usize,
}

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(reader) = self.current.as_mut() {
                match reader.next() {
                    Some(Ok(b)) => return Some(Ok(b)),
                    Some(Err(e)) => {
                        self.current = None;
                        return Some(Err(FormatError::Corrupt {
                            path: self.current_path.clone(),
                            message: e.to_string(),
                        }));
                    }
                    None => self.current = None,
                }
            }
            if let Some(path) = self.paths.get(self.next_segment) {
                self.next_segment += 1;
                let cols: Option<Vec<&str>> = self
                    .columns
                    .as_ref()
                    .map(|c| c.iter().map(String::as_str).collect());
                let opened = if self.views {
                    open_segment_views(path, cols.as_deref(), READ_BATCH_ROWS)
                } else {
                    open_segment(path, cols.as_deref(), READ_BATCH_ROWS)
                };
                match opened {
                    Ok(r) => {
                        self.current = Some(r);
                        self.current_path = path.clone();
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            let b = self.rec.salvaged.get(self.next_salvaged)?;
            self.next_salvaged += 1;
            return Some(match &self.columns {
                None => Ok(b.clone()),
                Some(cols) => {
                    let idx: Result<Vec<usize>> = cols
                        .iter()
                        .map(|c| {
                            b.schema_ref().index_of(c).map_err(|_| {
                                FormatError::Invalid(format!(
                                    "no column named {c} in the events table"
                                ))
                            })
                        })
                        .collect();
                    idx.and_then(|mut idx| {
                        idx.sort_unstable();
                        b.project(&idx)
                            .map_err(|e| FormatError::BadBatch(e.to_string()))
                    })
                }
            });
        }
    }
}

/// A recording found in a tree, with its Hive partition values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredRecording {
    /// The recording directory.
    pub path: PathBuf,
    /// `key=value` directory names between the root and the recording, in order
    /// (e.g. `host=web-1`, `date=2026-11-20`).
    pub partitions: Vec<(String, String)>,
}

/// Finds every recording under `root` (any directory holding
/// `manifest.json`; `root` itself if it is one), sorted by path. Hidden
/// directories are skipped; recordings are not searched for nested ones.
pub fn discover(root: &Path) -> Result<Vec<DiscoveredRecording>> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return Err(FormatError::not_a_directory(root));
    }
    walk(root, Vec::new(), &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(
    dir: &Path,
    partitions: Vec<(String, String)>,
    out: &mut Vec<DiscoveredRecording>,
) -> Result<()> {
    if dir.join(MANIFEST_FILE).is_file() {
        out.push(DiscoveredRecording {
            path: dir.to_path_buf(),
            partitions,
        });
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| FormatError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for sub in entries {
        let name = sub
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('.') {
            continue;
        }
        let mut parts = partitions.clone();
        if let Some((k, v)) = name.split_once('=') {
            parts.push((k.to_string(), v.to_string()));
        }
        walk(&sub, parts, out)?;
    }
    Ok(())
}

/// Reads one segment file completely (all columns); for tools and tests.
pub fn read_segment_file(path: &Path) -> Result<Vec<RecordBatch>> {
    read_segment(path, None)
}
