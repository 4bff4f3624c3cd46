//! One module per subcommand: its `Args` and its `run`.

pub mod generate;
pub mod info;
pub mod recover;
