//! `hindsight recover`.

use std::process::ExitCode;

/// Arguments of `hindsight recover`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `hindsight recover`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
