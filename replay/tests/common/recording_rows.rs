// Shared by the replay tests that pin rows of a real recording (included,
// not a test crate of its own): they find the rows they expect with a plain
// Rust predicate over the recording's events instead of pinning seqs, pids
// or ports, so they survive a re-recording of the fixtures.

use std::path::Path;

use hindsight_format::Event;
use hindsight_format::reader::Recording;

/// Every event of the recording in `dir`, in order.
pub fn events(dir: &Path) -> Vec<Event> {
    Recording::open(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .events()
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .collect()
}

/// The seqs of the events for which `pred` holds.
pub fn seqs_where(events: &[Event], pred: impl Fn(&Event) -> bool) -> Vec<u64> {
    events.iter().filter(|e| pred(e)).map(|e| e.seq).collect()
}

/// The events for which `pred` holds, asserting there are `n` of them
/// (`what` says what was looked for when there are not).
pub fn rows<'a>(
    events: &'a [Event],
    what: &str,
    n: usize,
    pred: impl Fn(&Event) -> bool,
) -> Vec<&'a Event> {
    let found: Vec<&Event> = events.iter().filter(|e| pred(e)).collect();
    assert_eq!(
        found.len(),
        n,
        "expected {n} row(s) of {what}, found the seqs {:?}",
        found.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
    found
}

/// The one event for which `pred` holds (`what` says what was looked for
/// when there is not exactly one).
pub fn one<'a>(events: &'a [Event], what: &str, pred: impl Fn(&Event) -> bool) -> &'a Event {
    rows(events, what, 1, pred)[0]
}
