//! Replay: a pure, deterministic simulator that feeds a recording through a
//! process / file-descriptor state model and evaluates security rules.
