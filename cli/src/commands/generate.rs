//! `hindsight generate`.

use std::process::ExitCode;

/// Arguments of `hindsight generate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `hindsight generate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
