//! `hindsight test`: a rule test suite for CI.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hindsight_replay::suite::{render_junit, render_text, run_suite};

/// Arguments of `hindsight test`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every *.test.yaml (or *.test.yml, any case) file under DIR is one case, hidden
directories such as .git left out (paths relative to it):

  recordings: [../../fixtures/recordings/intrusion]
  rules: [../hindsight/default.yaml]
  expected: default.expected.jsonl   # optional, default <case>.expected.jsonl
  simulate_enforcement: false        # optional

The case passes when replaying gives exactly the lines of the expected file
(one JSON object per verdict, enforcement and suppressed event). Coverage
lists rules that never fired and rules that cannot fire on the recordings.
A case that cannot run (its rules do not load, a recording is missing) is
reported as ERROR, a JUnit <error>; the other cases still run.

Examples:
  hindsight test rules/tests
  hindsight test rules/tests --update
  hindsight test rules/tests --junit target/rules-junit.xml

Exit status: 0 every case passed, 1 a case failed, 2 a case could not run
(after running the others and writing the reports) or another error.")]
pub struct Args {
    /// The suite directory.
    #[arg(default_value = "rules/tests", value_name = "DIR")]
    pub dir: PathBuf,

    /// Accept the new verdicts: rewrite the expected files of failing cases.
    #[arg(long)]
    pub update: bool,

    /// Also write JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Runs `hindsight test`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let result = run_suite(&args.dir, args.update)?;
    print!("{}", render_text(&result));
    if let Some(path) = &args.junit {
        std::fs::write(path, render_junit(&result))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let errored: Vec<String> = result
        .errored()
        .map(|c| c.file.display().to_string())
        .collect();
    if !errored.is_empty() {
        eprintln!(
            "error: {} of {} cases could not run: {}",
            errored.len(),
            result.cases.len(),
            errored.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::from(u8::from(!result.passed())))
}
