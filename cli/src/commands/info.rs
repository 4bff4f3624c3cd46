//! `hindsight info`.

use std::process::ExitCode;

/// Arguments of `hindsight info`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `hindsight info`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
