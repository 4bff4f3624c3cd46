//! One module per subcommand: its `Args` and its `run`.

pub mod bench;
pub mod demo;
pub mod diff;
pub mod generate;
pub mod info;
pub mod query;
pub mod record;
pub mod recover;
pub mod replay;
pub mod sigma;
pub mod test;
