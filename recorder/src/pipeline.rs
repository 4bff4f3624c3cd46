//! The write stage of a session: a thread that owns the
//! [`RecordingWriter`] and encodes Parquet and the spool, fed with Arrow
//! batches that the decode thread builds. Ring-buffer reading, decoding +
//! batching, and writing so run on three threads, overlapping one another.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use hindsight_format::manifest::Manifest;
use hindsight_format::{Event, EventBatchBuilder, FormatError, RecordingWriter};

use crate::session::Counters;

/// Rows per Arrow batch handed to the writer.
pub const BATCH_ROWS: usize = 8192;
/// Longest time decoded rows wait for a batch to fill.
pub const BATCH_AGE: Duration = Duration::from_millis(200);
/// Batches queued for the writer before the decoder waits (and, upstream,
/// the kernel counts loss instead of the recorder's memory growing).
const QUEUE: usize = 16;

enum Msg {
    Batch(RecordBatch),
    Lost(u64),
}

/// Handle of the writer thread.
pub struct WriteStage {
    tx: SyncSender<Msg>,
    thread: JoinHandle<Result<Manifest, FormatError>>,
}

fn write_loop(
    mut writer: RecordingWriter,
    rx: Receiver<Msg>,
    counters: Arc<Counters>,
) -> Result<Manifest, FormatError> {
    loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Msg::Batch(b)) => writer.append_batch(&b)?,
            Ok(Msg::Lost(n)) => writer.add_lost("ringbuf_full", n),
            Err(RecvTimeoutError::Timeout) => writer.flush()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let (rows, bytes) = writer.compressed_so_far();
        counters.compressed_rows.store(rows, Ordering::Relaxed);
        counters.compressed_bytes.store(bytes, Ordering::Relaxed);
    }
    // Every other thread of the recorder has stopped by now (the decoder
    // closed the channel after the ring reader ended); read once the last
    // segment is committed.
    writer.finish_with(|m| {
        m.totals.recorder_cpu_ns = Some(crate::session::process_cpu_ns());
        m.totals.recorder_startup_cpu_ns =
            Some(counters.startup_cpu_ns.load(Ordering::Relaxed)).filter(|&s| s > 0);
    })
}

impl WriteStage {
    /// Starts the writer thread; it keeps `counters`' compressed rows and
    /// bytes current.
    pub fn spawn(writer: RecordingWriter, counters: Arc<Counters>) -> WriteStage {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("hs-write".into())
            .spawn(move || write_loop(writer, rx, counters))
            .expect("spawn writer thread");
        WriteStage { tx, thread }
    }

    /// Queues the rows of `pending` as one Arrow batch (built on the
    /// caller's thread); false when the writer has stopped (see
    /// [`Self::finish`]).
    pub fn send(&self, pending: &mut Pending) -> bool {
        if pending.is_empty() {
            return true;
        }
        self.tx.send(Msg::Batch(pending.rows.finish())).is_ok()
    }

    /// Counts `n` events the kernel dropped.
    pub fn lost(&self, n: u64) -> bool {
        self.tx.send(Msg::Lost(n)).is_ok()
    }

    /// Waits for everything queued to be written and closes the recording.
    pub fn finish(self) -> Result<Manifest, FormatError> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(FormatError::Invalid("writer thread panicked".into())))
    }
}

/// Rows waiting to become a batch, already in the batch's columns
/// ([`EventBatchBuilder`]): each decoded
/// [`Event`] is pushed (and dropped) while it is still in cache.
pub struct Pending {
    rows: EventBatchBuilder,
    since: Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            rows: EventBatchBuilder::with_capacity(BATCH_ROWS),
            since: Instant::now(),
        }
    }
}

impl Pending {
    /// Adds a row.
    pub fn push(&mut self, e: &Event) {
        self.rows().push(e);
    }

    /// The builder to push the next row into (see
    /// [`crate::decode::Decoder::decode_into`]).
    pub fn rows(&mut self) -> &mut EventBatchBuilder {
        if self.rows.is_empty() {
            self.since = Instant::now();
        }
        &mut self.rows
    }

    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is waiting.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the rows should be sent now.
    pub fn due(&self) -> bool {
        self.rows.len() >= BATCH_ROWS
            || (!self.rows.is_empty() && self.since.elapsed() >= BATCH_AGE)
    }
}
