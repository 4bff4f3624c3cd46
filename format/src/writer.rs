//! [`RecordingWriter`]: writes a recording crash-safely.
//!
//! Events are buffered and encoded in batches into the current segment's
//! temporary Parquet file (`events/.part-NNNNNN.parquet.tmp`).
//! [`RecordingWriter::flush`] (called by the recorder from a timer, and by
//! `append` when a second has passed) makes the rows appended since the last
//! flush durable, so a crash loses at most the last second. It does so in
//! one of two ways. When few rows arrived, it appends them to the spool
//! (`spool/spool-NNNNNN.arrows`) and fsyncs it. When at least
//! [`WriterOptions::checkpoint_rows`] arrived, copying them a second time
//! would cost more than a row group: it closes the Parquet row group in
//! progress, fsyncs the temporary file, writes a checkpoint (the footer of
//! its row groups so far, see [`crate::checkpoint`]) and starts the spool
//! over. A segment becomes visible only when complete: fsynced,
//! renamed to `events/part-NNNNNN.parquet`, the directory fsynced, and the
//! manifest rewritten atomically. [`RecordingWriter::finish`] commits the last
//! segment and marks the manifest `complete`.
//!
//! After an error (e.g. [`FormatError::DiskFull`]) drop the writer: it
//! rewrites the manifest (in the room its [`Reserve`] held back) with the
//! committed segments, [`Manifest::stopped`] set to the error and a note
//! saying where the other rows are; `complete` stays false, since rows made
//! durable after the last committed segment are still only in the spool.
//! `hindsight recover` makes them a segment.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};
use parquet::file::properties::WriterProperties;

use crate::batch::events_to_batch;
use crate::checkpoint::remove_checkpoint;
use crate::error::{FormatError, Result};
use crate::event::{Event, EventKind};
use crate::manifest::{MANIFEST_FILE, Manifest, rfc3339, sync_dir};
use crate::reserve::{Reserve, remove_reserve};
use crate::schema::FORMAT_VERSION;
use crate::segment::{SegmentWriter, check_schema, writer_properties};
use crate::spool::{SPOOL_DIR, SpoolWriter, remove_spool};

/// Loss rows (`event_kind = 'loss'`) in a batch of the events schema.
fn loss_rows_in(batch: &RecordBatch) -> u64 {
    let Ok(i) = batch.schema_ref().index_of("event_kind") else {
        return 0;
    };
    batch
        .column(i)
        .as_string::<i32>()
        .iter()
        .filter(|k| *k == Some(EventKind::Loss.as_str()))
        .count() as u64
}

/// Options of a [`RecordingWriter`]. `Default` suits a recorder.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Start a new segment after this many rows.
    pub segment_rows: u64,
    /// Start a new segment when the current one reaches about this many bytes.
    pub segment_bytes: u64,
    /// Start a new segment after this much time (None: no time limit).
    pub segment_duration: Option<Duration>,
    /// Ring mode: keep the segments' total size under this many bytes by
    /// deleting the oldest segments (counted in the manifest). None: unbounded.
    pub max_size: Option<u64>,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Events buffered before they are encoded as one batch.
    pub batch_rows: usize,
    /// Write the crash-safety spool and checkpoints (turn off only for
    /// throw-away output).
    pub spool: bool,
    /// When at least this many rows arrived since the last flush, the flush
    /// checkpoints the segment instead of copying the rows into the spool
    /// (a busy writer's row groups are then about one flush interval of rows).
    pub checkpoint_rows: usize,
    /// Longest time rows may stay unflushed (checked on every `append`).
    pub flush_interval: Duration,
    /// zstd level of the segments.
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            segment_rows: 1 << 20,
            segment_bytes: 128 << 20,
            segment_duration: Some(Duration::from_secs(600)),
            max_size: None,
            row_group_rows: 128 * 1024,
            batch_rows: 8192,
            spool: true,
            checkpoint_rows: 32 * 1024,
            flush_interval: Duration::from_secs(1),
            zstd_level: 3,
        }
    }
}

struct Current {
    segment: SegmentWriter,
    spool: Option<SpoolWriter>,
    started: Instant,
    /// Rows written to the segment since the last flush and not yet in the
    /// spool (dropped once `checkpoint_due`).
    unspooled: Vec<RecordBatch>,
    unspooled_rows: usize,
    /// Enough rows arrived since the last flush: it will checkpoint.
    checkpoint_due: bool,
    /// Why making rows durable (or writing rows to the segment) failed: the
    /// spool and the segment's file may be half-written, so every later
    /// attempt fails with this.
    broken: Option<String>,
    /// Loss rows written to the segment.
    loss_rows: u64,
    /// Rows of the segment made durable by the last successful flush.
    durable_rows: u64,
}

impl Current {
    /// Keeps a part just written to the segment until the next flush decides
    /// how to make it durable.
    fn hold(&mut self, part: RecordBatch, checkpoint_rows: usize) {
        if self.spool.is_none() || self.checkpoint_due {
            return;
        }
        self.unspooled_rows += part.num_rows();
        self.unspooled.push(part);
        if self.unspooled_rows >= checkpoint_rows {
            self.checkpoint_due = true;
            self.unspooled.clear();
            self.unspooled_rows = 0;
        }
    }

    /// Makes every row written to the segment so far durable: by a
    /// checkpoint when it is due (or costs nothing more: the row group just
    /// closed), else by appending the held rows to the spool.
    fn make_durable(&mut self) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(FormatError::Invalid(format!(
                "{}: rows are no longer made durable after an earlier error: {why}",
                self.segment.tmp_path().display()
            )));
        }
        let Some(spool) = self.spool.take() else {
            return Ok(());
        };
        let checkpoint = self.checkpoint_due
            || (self.unspooled_rows > 0 && self.segment.in_progress_rows() == 0);
        let result = if checkpoint {
            match self.segment.checkpoint(spool.generation()) {
                Ok(()) => {
                    // Durable now, even should the new spool fail.
                    self.durable_rows = self.segment.rows;
                    spool.restart()
                }
                Err(e) => Err(e),
            }
        } else {
            let mut spool = spool;
            let written = self
                .unspooled
                .iter()
                .try_for_each(|b| spool.write(b))
                .and_then(|()| spool.flush());
            written.map(|()| spool)
        };
        self.unspooled.clear();
        self.unspooled_rows = 0;
        self.checkpoint_due = false;
        match result {
            Ok(spool) => {
                self.spool = Some(spool);
                self.durable_rows = self.segment.rows;
                Ok(())
            }
            Err(e) => {
                self.broken = Some(e.to_string());
                Err(e)
            }
        }
    }
}

/// Writes one recording directory. See the module documentation.
pub struct RecordingWriter {
    dir: PathBuf,
    opts: WriterOptions,
    props: WriterProperties,
    manifest: Manifest,
    pending: Vec<Event>,
    current: Option<Current>,
    next_index: u64,
    last_flush: Instant,
    finished: bool,
    /// Room for the manifest written after an error.
    reserve: Option<Reserve>,
    /// The first error a caller was given: the writer stopped on it.
    failure: Option<String>,
    /// `totals.loss_rows` of the committed segments (deleted ones included).
    committed_loss_rows: u64,
    /// The directory's lock, held while this writer lives ([`crate::lock`]).
    lock: Option<crate::lock::DirLock>,
    /// Durable rows of a segment whose commit is under way (taken out of
    /// `current`): a failed commit leaves them in the spool.
    uncommitted_durable: u64,
}

impl RecordingWriter {
    /// Creates the recording directory `dir` (mode 0700, with `events/` and
    /// `spool/`) and writes its first manifest (`complete: false`).
    ///
    /// `manifest` supplies what the writer cannot know (host, kernel, boot id,
    /// clock, start time, recorder config, hooks, users); segments, totals and
    /// completeness are the writer's. `dir` must not exist or be empty.
    pub fn create(dir: &Path, mut manifest: Manifest, opts: WriterOptions) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        if dir.join(MANIFEST_FILE).exists() {
            return Err(FormatError::Invalid(format!(
                "{}: already holds a recording; choose a new directory",
                dir.display()
            )));
        }
        if let Ok(mut rd) = fs::read_dir(dir)
            && rd.next().is_some()
        {
            return Err(FormatError::Invalid(format!(
                "{}: directory is not empty; choose a new directory",
                dir.display()
            )));
        }
        let mut b = fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        for d in [dir.to_path_buf(), dir.join("events"), dir.join(SPOOL_DIR)] {
            b.create(&d).map_err(|e| FormatError::io(&d, e))?;
        }
        let lock = crate::lock::lock_dir(dir)?;
        if opts.segment_rows == 0 || opts.batch_rows == 0 || opts.row_group_rows == 0 {
            return Err(FormatError::Invalid(
                "segment_rows, batch_rows and row_group_rows must be at least 1".into(),
            ));
        }
        let props = writer_properties(opts.row_group_rows, opts.zstd_level)?;
        manifest.format_version = FORMAT_VERSION;
        manifest.hindsight_version = env!("CARGO_PKG_VERSION").to_string();
        manifest.segments.clear();
        manifest.complete = false;
        if manifest.start_time_ns.is_none() {
            manifest.set_start(now_ns());
        }
        let reserve = Reserve::create(dir, manifest.to_json().len() as u64)?;
        manifest.write_atomic(dir)?;
        sync_dir(
            dir.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
        let committed_loss_rows = manifest.totals.loss_rows;
        Ok(RecordingWriter {
            dir: dir.to_path_buf(),
            pending: Vec::with_capacity(opts.batch_rows),
            opts,
            props,
            manifest,
            current: None,
            next_index: 0,
            last_flush: Instant::now(),
            finished: false,
            reserve: Some(reserve),
            failure: None,
            committed_loss_rows,
            lock: Some(lock),
            uncommitted_durable: 0,
        })
    }

    /// The recording directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as it stands (committed segments only).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Mutable manifest, e.g. to update loss totals or hooks; written with
    /// the next segment commit and by [`RecordingWriter::finish`].
    pub fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    /// Rows and bytes already compressed into Parquet: the committed
    /// segments, and the closed row groups of the segment being written (the
    /// rows of its row group in progress are not counted). Their ratio to the
    /// data received is the compression so far.
    pub fn compressed_so_far(&self) -> (u64, u64) {
        let (rows, bytes) = self
            .manifest
            .segments
            .iter()
            .fold((0, 0), |(r, b), s| (r + s.rows, b + s.bytes));
        let (r, b) = self
            .current
            .as_ref()
            .map_or((0, 0), |c| c.segment.closed_row_groups());
        (rows + r, bytes + b)
    }

    /// Adds `n` to the events lost for `cause` (e.g. `ringbuf_full`).
    pub fn add_lost(&mut self, cause: &str, n: u64) {
        *self
            .manifest
            .totals
            .events_lost
            .entry(cause.to_string())
            .or_default() += n;
    }

    /// Appends events. They are encoded every `batch_rows` events; if more
    /// than `flush_interval` passed since the last flush, flushes.
    pub fn append(&mut self, events: &[Event]) -> Result<()> {
        let result = self.append_inner(events);
        self.noting(result)
    }

    fn append_inner(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.pending.push(e.clone());
            if self.pending.len() >= self.opts.batch_rows {
                self.encode_pending()?;
            }
        }
        self.maybe_flush()
    }

    /// Appends owned events (avoids a clone per event).
    pub fn append_owned(&mut self, events: Vec<Event>) -> Result<()> {
        let result = self.append_owned_inner(events);
        self.noting(result)
    }

    fn append_owned_inner(&mut self, events: Vec<Event>) -> Result<()> {
        if self.pending.is_empty() && events.len() >= self.opts.batch_rows {
            let batch = events_to_batch(&events);
            self.write_batch(&batch)?;
        } else {
            for e in events {
                self.pending.push(e);
                if self.pending.len() >= self.opts.batch_rows {
                    self.encode_pending()?;
                }
            }
        }
        self.maybe_flush()
    }

    /// Appends a record batch of the events schema.
    pub fn append_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let result = self.append_batch_inner(batch);
        self.noting(result)
    }

    fn append_batch_inner(&mut self, batch: &RecordBatch) -> Result<()> {
        check_schema(&self.dir, batch.schema_ref())?;
        self.encode_pending()?;
        self.write_batch(batch)?;
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> Result<()> {
        if self.last_flush.elapsed() >= self.opts.flush_interval || self.segment_due() {
            self.flush_inner()?;
        }
        Ok(())
    }

    /// Whether the current segment has lasted `segment_duration`: checked
    /// on every append as well as at each flush, so that a segment ends
    /// within one batch of its time limit (at the flush only, a 1 s segment
    /// lasted up to one flush interval longer).
    fn segment_due(&self) -> bool {
        matches!(
            (self.opts.segment_duration, self.current.as_ref()),
            (Some(limit), Some(cur)) if cur.started.elapsed() >= limit
        )
    }

    /// Makes every appended row durable (in the spool or by a checkpoint,
    /// see the module documentation), and rotates the segment if its time
    /// limit passed.
    pub fn flush(&mut self) -> Result<()> {
        let result = self.flush_inner();
        self.noting(result)
    }

    /// Remembers the first error handed to a caller (see [`Drop`]).
    fn noting<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && self.failure.is_none()
        {
            self.failure = Some(match e {
                FormatError::DiskFull { path } => {
                    format!("no space left on device while writing {}", path.display())
                }
                e => e.to_string(),
            });
        }
        result
    }

    fn flush_inner(&mut self) -> Result<()> {
        self.encode_pending()?;
        if self.segment_due() {
            // The commit makes the rows durable first, then the segment.
            self.commit_segment()?;
        } else if let Some(cur) = self.current.as_mut() {
            cur.make_durable()?;
        }
        self.last_flush = Instant::now();
        Ok(())
    }

    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = events_to_batch(&self.pending);
        self.pending.clear();
        self.write_batch(&batch)
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.current.is_none() {
                self.open_segment()?;
            }
            let cur = self.current.as_mut().expect("segment is open");
            let room = (self.opts.segment_rows - cur.segment.rows) as usize;
            let len = room.min(batch.num_rows() - offset);
            let part = batch.slice(offset, len);
            if let Err(e) = cur.segment.write(&part) {
                // The Parquet writer may hold part of it: nothing more is
                // made durable (nor counted as such) from this segment.
                cur.broken = Some(e.to_string());
                return Err(e);
            }
            // Counted with the rows they are in, so that a manifest written
            // at a commit counts those of its segments only (the spool's are
            // counted by `recover` when it makes them a segment).
            let loss = loss_rows_in(&part);
            cur.loss_rows += loss;
            self.manifest.totals.loss_rows += loss;
            cur.hold(part, self.opts.checkpoint_rows);
            self.manifest.totals.events_recorded += len as u64;
            offset += len;
            if cur.segment.rows >= self.opts.segment_rows
                || cur.segment.estimated_bytes() >= self.opts.segment_bytes
            {
                self.commit_segment()?;
            }
        }
        Ok(())
    }

    fn open_segment(&mut self) -> Result<()> {
        let index = self.next_index;
        let segment = SegmentWriter::create(&self.dir, index, self.props.clone())?;
        let spool = if self.opts.spool {
            let mut s = SpoolWriter::create(&self.dir, index)?;
            s.flush()?;
            sync_dir(&self.dir.join(SPOOL_DIR))?;
            Some(s)
        } else {
            None
        };
        self.next_index += 1;
        self.current = Some(Current {
            segment,
            spool,
            started: Instant::now(),
            unspooled: Vec::new(),
            unspooled_rows: 0,
            checkpoint_due: false,
            broken: None,
            loss_rows: 0,
            durable_rows: 0,
        });
        Ok(())
    }

    fn commit_segment(&mut self) -> Result<()> {
        let Some(mut cur) = self.current.take() else {
            return Ok(());
        };
        let index = self.next_index - 1;
        if cur.segment.rows == 0 {
            cur.segment.abort();
            drop(cur.spool);
            remove_spool(&self.dir, index)?;
            return remove_checkpoint(&self.dir, index);
        }
        // Until the commit succeeds, the spool holds the rows made durable
        // (for the note of a writer that stops here).
        self.uncommitted_durable = cur.durable_rows;
        if cur.spool.is_some() {
            // Should the commit fail (disk full), the rows must stay
            // recoverable: make them durable first. (After an earlier
            // failure to do so, committing is still worth trying: the
            // segment writer holds every row.)
            let made = cur.make_durable();
            self.uncommitted_durable = cur.durable_rows;
            made?;
        }
        let info = cur.segment.commit()?;
        self.uncommitted_durable = 0;
        self.committed_loss_rows += cur.loss_rows;
        let max_t = info.max_time_ns;
        self.manifest.segments.push(info);
        if self.manifest.end_time_ns.is_none_or(|t| t < max_t) {
            self.manifest.set_end(max_t);
        }
        self.enforce_max_size()?;
        self.manifest.write_atomic(&self.dir)?;
        if let Some(reserve) = self.reserve.as_mut() {
            // Best effort: the reserve held so far still helps.
            let _ = reserve.hold(self.manifest.to_json().len() as u64);
        }
        drop(cur.spool);
        remove_spool(&self.dir, index)?;
        remove_checkpoint(&self.dir, index)
    }

    fn enforce_max_size(&mut self) -> Result<()> {
        let Some(max) = self.opts.max_size else {
            return Ok(());
        };
        while self.manifest.segments.len() > 1 && self.manifest.segment_bytes() > max {
            // Commit the manifest without the segment first, so that a crash
            // never leaves a manifest naming a deleted file. The edit is
            // kept only once written: after a failed write (a full disk) the
            // segment is still there and still listed, also in the manifest
            // written when the writer stops.
            let mut next = self.manifest.clone();
            let old = next.segments.remove(0);
            let path = self.dir.join(&old.file);
            next.deleted_segments += 1;
            next.deleted_events += old.rows;
            next.write_atomic(&self.dir)?;
            self.manifest = next;
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FormatError::io(&path, e)),
            }
        }
        Ok(())
    }

    /// Stops this writer as its process being killed would: nothing more is
    /// written, flushed or removed, and the directory's lock is released.
    /// For crash tests ([`crate::recover()`] refuses a locked recording).
    pub fn abandon(mut self) {
        self.lock.take();
        std::mem::forget(self);
    }

    /// Commits the last segment, writes the manifest with `complete: true`
    /// (end time: the last event, or now if there were none) and removes the
    /// empty spool directory. Returns the final manifest.
    pub fn finish(self) -> Result<Manifest> {
        self.finish_at(None)
    }

    /// Like [`RecordingWriter::finish`] with an explicit end time (ns since
    /// the epoch), for reproducible output.
    pub fn finish_at(mut self, end_time_ns: Option<i64>) -> Result<Manifest> {
        let result = self.finish_inner(end_time_ns, |_| {});
        self.noting(result)
    }

    /// Like [`RecordingWriter::finish`], with `last` called on the manifest
    /// once the last segment is committed, just before the manifest is
    /// written: for figures that must cover all the writing (the recorder's
    /// CPU time).
    pub fn finish_with(mut self, last: impl FnOnce(&mut Manifest)) -> Result<Manifest> {
        let result = self.finish_inner(None, last);
        self.noting(result)
    }

    fn finish_inner(
        &mut self,
        end_time_ns: Option<i64>,
        last: impl FnOnce(&mut Manifest),
    ) -> Result<Manifest> {
        self.encode_pending()?;
        self.commit_segment()?;
        match end_time_ns {
            Some(t) => self.manifest.set_end(t),
            None if self.manifest.end_time_ns.is_none() => self.manifest.set_end(now_ns()),
            None => {}
        }
        self.manifest.complete = true;
        last(&mut self.manifest);
        self.manifest.write_atomic(&self.dir)?;
        self.finished = true;
        let _ = fs::remove_dir(self.dir.join(SPOOL_DIR));
        drop(self.reserve.take());
        let _ = remove_reserve(&self.dir);
        Ok(self.manifest.clone())
    }
}

impl Drop for RecordingWriter {
    /// Without `finish`, the recording stays incomplete; rows appended so far
    /// are flushed to the spool (best effort) so that recovery finds them.
    /// After an error, the manifest is rewritten to say why the writer
    /// stopped (see the module documentation).
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let _ = self.flush_spool_only();
        if let Some(why) = self.failure.clone() {
            let _ = self.write_stopped(&why);
        }
    }
}

impl RecordingWriter {
    /// Writes the manifest of a writer stopped by the error `why`: the
    /// committed segments, totals that count their rows, [`Manifest::stopped`]
    /// and a note. Uses the space of the reserve.
    fn write_stopped(&mut self, why: &str) -> Result<()> {
        let mut m = self.manifest.clone();
        m.totals.events_recorded = m.rows() + m.deleted_events;
        m.totals.loss_rows = self.committed_loss_rows;
        m.complete = false;
        m.stopped = Some(why.to_string());
        let kept = match m.segments.iter().map(|s| s.last_seq).max() {
            Some(last) => format!(
                "its {} committed segment(s) hold {} rows, up to seq {last}",
                m.segments.len(),
                m.rows()
            ),
            None => "no segment was committed".to_string(),
        };
        let when = if why.starts_with("no space left on device") {
            " once there is space"
        } else {
            ""
        };
        // The rows of the open segment that the last flush made durable
        // (the flush every second, or at a checkpoint); later ones were lost.
        let spooled = self
            .current
            .as_ref()
            .map_or(self.uncommitted_durable, |c| c.durable_rows);
        m.notes.push(format!(
            "stopped at {} by an error: {why}; {kept}; {spooled} more row(s), made durable by \
             the last flush before the error, are in spool/, read in memory by info, query and \
             replay (rows after that flush were lost); `hindsight recover` makes them a \
             segment{when}",
            rfc3339(now_ns())
        ));
        if let Some(reserve) = self.reserve.take() {
            reserve.release()?;
        }
        m.write_atomic(&self.dir)
    }

    fn flush_spool_only(&mut self) -> Result<()> {
        if self.pending.is_empty() && self.current.is_none() {
            return Ok(());
        }
        if !self.pending.is_empty() {
            if self.current.is_none() && self.opts.spool {
                self.open_segment()?;
            }
            let batch = events_to_batch(&self.pending);
            self.pending.clear();
            if let Some(cur) = self.current.as_mut() {
                cur.make_durable()?;
                if let Some(spool) = cur.spool.as_mut() {
                    spool.write(&batch)?;
                }
            }
        }
        if let Some(cur) = self.current.as_mut() {
            cur.make_durable()?;
        }
        Ok(())
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
