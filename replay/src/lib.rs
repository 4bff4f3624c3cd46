//! Replay: a pure, deterministic simulator that feeds a recording through a
//! process / file-descriptor state model and evaluates security rules.
//!
//! * [`ir`]: the one condition representation every rule language compiles to
//!   ([`ir::Cond`], [`ir::Rule`]), over the fields of [`field::Field`].
//! * [`lang`]: the [`lang::RuleLanguage`] trait, the language registry and
//!   rule loading with [`diag::Diagnostic`] errors.
//! * [`state`]: the process and fd tables, as the kernel had them at each event;
//!   [`accounts`]: the recorded host's user and group names.
//! * [`eval`]: conditions compiled to a fast program, evaluated per event.
//! * [`engine`]: replays recordings in `seq` order and produces a
//!   [`verdict::Report`], optionally simulating enforcement.
//! * [`native`]: Hindsight's own YAML + SQL-expression rules.

pub mod accounts;
pub mod diag;
pub mod diff;
pub mod engine;
pub mod errno;
pub mod eval;
pub mod falco;
pub mod fdtable;
pub mod field;
pub mod intern;
pub mod ir;
pub mod lang;
pub mod native;
pub mod output;
pub mod row;
pub mod run;
pub mod sigma;
pub mod state;
pub mod suite;
pub mod syscall;
pub mod value;
pub mod verdict;
