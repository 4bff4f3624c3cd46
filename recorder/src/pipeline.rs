//! The write stage of a session: a thread that owns the
//! [`RecordingWriter`] and encodes Parquet and the spool, fed with Arrow
//! batches that the decode thread builds. Ring-buffer reading, decoding +
//! batching, and writing so run on three threads, overlapping one another.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use hindsight_format::manifest::Manifest;
use hindsight_format::{Event, FormatError, RecordingWriter, events_to_batch};

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

fn write_loop(mut writer: RecordingWriter, rx: Receiver<Msg>) -> Result<Manifest, FormatError> {
    loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Msg::Batch(b)) => writer.append_batch(&b)?,
            Ok(Msg::Lost(n)) => writer.add_lost("ringbuf_full", n),
            Err(RecvTimeoutError::Timeout) => writer.flush()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    writer.finish()
}

impl WriteStage {
    /// Starts the writer thread.
    pub fn spawn(writer: RecordingWriter) -> WriteStage {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("hs-write".into())
            .spawn(move || write_loop(writer, rx))
            .expect("spawn writer thread");
        WriteStage { tx, thread }
    }

    /// Encodes `events` as one Arrow batch (on the caller's thread) and
    /// queues it; false when the writer has stopped (see [`Self::finish`]).
    pub fn send(&self, events: &[Event]) -> bool {
        if events.is_empty() {
            return true;
        }
        self.tx.send(Msg::Batch(events_to_batch(events))).is_ok()
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

/// Rows waiting to become a batch.
pub struct Pending {
    /// The rows.
    pub events: Vec<Event>,
    since: Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            events: Vec::with_capacity(BATCH_ROWS),
            since: Instant::now(),
        }
    }
}

impl Pending {
    /// Adds a row.
    pub fn push(&mut self, e: Event) {
        if self.events.is_empty() {
            self.since = Instant::now();
        }
        self.events.push(e);
    }

    /// Whether the rows should be sent now.
    pub fn due(&self) -> bool {
        self.events.len() >= BATCH_ROWS
            || (!self.events.is_empty() && self.since.elapsed() >= BATCH_AGE)
    }
}
