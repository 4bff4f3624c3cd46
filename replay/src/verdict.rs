//! [`Verdict`]: one rule firing on one event, and what enforcement would have done.

use serde::Serialize;

/// A rule fired on an event.
///
/// Verdicts are produced in a stable order: recordings in the order given,
/// then `seq`, then the rule's position in the rule set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The recording as given (path), so several recordings can be told apart.
    pub recording: String,
    /// The rule's id ([`crate::ir::Rule::id`]).
    pub rule_id: String,
    /// The rule's name.
    pub rule: String,
    /// Priority, Falco spelling (`Warning`).
    pub priority: &'static str,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The rule's language (`hindsight`, `falco`, `sigma`).
    pub source: &'static str,
    /// The event's `seq`.
    pub seq: u64,
    /// The event's time, ns since the epoch.
    pub time_ns: i64,
    /// The event's process id.
    pub pid: i32,
    /// The event's thread id.
    pub tid: i32,
    /// The event's kind (`syscall`, `process_exec`, …).
    pub event_kind: &'static str,
    /// The event's syscall, when it has one.
    pub syscall: Option<String>,
    /// The rendered output template.
    pub output: String,
    /// Every field the rule reads, with its value at that moment (`null` when missing).
    pub fields: Vec<(String, serde_json::Value)>,
    /// The event's non-null columns.
    pub event: serde_json::Map<String, serde_json::Value>,
    /// The event lies within [`crate::engine::LOSS_WINDOW_NS`] of a `loss` row: events
    /// (and so state) may be missing around it.
    pub possibly_incomplete: bool,
    /// The rule's action (`kill`, `kill_tree`, `deny: EACCES`), if any.
    pub action: Option<String>,
}

/// What an action did under `--simulate-enforcement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enforcement {
    /// The recording as given.
    pub recording: String,
    /// The rule that fired.
    pub rule_id: String,
    /// `kill`, `kill_tree` or `deny: EACCES`.
    pub action: String,
    /// The event that triggered it.
    pub seq: u64,
    /// Its time, ns.
    pub time_ns: i64,
    /// The process acted on.
    pub pid: i32,
    /// Its executable, when known.
    pub exe: Option<String>,
    /// Plain-words summary (`kill pid 812 (/usr/bin/bash) and 2 descendants`).
    pub summary: String,
}

/// An event that would not have happened under enforcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// The recording as given.
    pub recording: String,
    /// The event's `seq`.
    pub seq: u64,
    /// Its time, ns.
    pub time_ns: i64,
    /// Its process.
    pub pid: i32,
    /// `syscall` name or event kind.
    pub what: String,
    /// The `seq` of the enforcement that made it impossible.
    pub because_of: u64,
    /// Why (`process killed`, `fd 5 never opened`, `exec denied`).
    pub reason: String,
}

/// Everything a replay produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Rules that fired.
    pub verdicts: Vec<Verdict>,
    /// Actions applied (only with enforcement simulation).
    pub enforcements: Vec<Enforcement>,
    /// Events that would not have happened (only with enforcement simulation).
    pub suppressed: Vec<Suppressed>,
    /// Events replayed.
    pub events: u64,
    /// Events dropped by the recorder, per `loss` rows.
    pub lost_events: u64,
    /// Rules evaluated (the engine's enabled rules), fired or not; the text
    /// summary says "N verdicts from F of R rules" with it.
    #[serde(skip)]
    pub rules: usize,
    /// The recordings replayed, in order, as in [`Verdict::recording`]
    /// (filled by [`crate::run::replay_paths`]; text output names the
    /// recording of each line when there are several).
    #[serde(skip)]
    pub recordings: Vec<String>,
    /// What the recordings' readers warned of (an incomplete recording whose
    /// spool rows were read in memory, an unreadable spool tail...), for the
    /// caller to show; each names its recording.
    #[serde(skip)]
    pub warnings: Vec<String>,
}
