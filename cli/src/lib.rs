//! The `hindsight` command line. Each subcommand lives in
//! `commands/<name>.rs` with its clap `Args` and a `run` function; this file
//! only wires them together and maps errors to exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod alloc;
pub mod commands;
pub mod path;
pub mod pipe;
mod reference;

pub use reference::{command, reference_markdown};

/// Record now, decide in hindsight.
///
/// Hindsight records what programs do on a Linux host (eBPF, kernel-authoritative
/// arguments), answers questions about recordings in SQL, and replays security
/// rules over recordings before they are deployed.
#[derive(Debug, Parser)]
#[command(
    name = "hindsight",
    version,
    propagate_version = true,
    max_term_width = 100,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// All subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record a command and its descendants, or the whole host (eBPF, needs root).
    Record(commands::record::Args),
    /// Show what a recording holds: time range, host, counts, loss, mismatches, size.
    Info(commands::info::Args),
    /// Make a synthetic recording with realistic distributions (for tests and benchmarks).
    Generate(commands::generate::Args),
    /// Salvage a recording after a crash: turn its spool into segments, finish its manifest.
    Recover(commands::recover::Args),
    /// The whole product in one command: record the intrusion scenario, query it, replay rules.
    Demo(commands::demo::Args),
    /// SQL over recordings: one, a fleet tree, or s3://; one-shot or an interactive shell.
    Query(commands::query::Args),
    /// Benchmarks against peer tools (bench query: DataFusion vs DuckDB).
    Bench(commands::bench::Args),
    /// Replay rules (Hindsight, Falco, Sigma) over recordings: alerts and would-block simulation.
    Replay(commands::replay::Args),
    /// Compare the verdicts of two versions of a rule set on the same recordings.
    Diff(commands::diff::Args),
    /// Run a rule test suite (expected verdicts per case), for CI.
    Test(commands::test::Args),
    /// Check Sigma rules: which run on syscall recordings and why not; the field mapping.
    Sigma(commands::sigma::Args),
}

/// Runs the command line and returns the process exit code.
///
/// Exit codes: 0 success, 1 "found something" (rules fired, diffs differ), 2 errors;
/// `record -- CMD` exits with CMD's status, and 125 to 127 for its own errors
/// (see [`commands::record::error_status`]).
pub fn main() -> ExitCode {
    let args = commands::record::join_syscall_sets(std::env::args_os());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // A usage error of `record -- CMD` is the recorder's failure, not
        // an exit status 2 of CMD (as timeout(1) exits 125 on bad usage).
        Err(err) if err.use_stderr() && commands::record::runs_a_command(&args) => {
            let _ = err.print();
            return ExitCode::from(commands::record::FAILED);
        }
        Err(err) => err.exit(),
    };
    let records_a_command = matches!(&cli.command, Command::Record(a) if !a.command.is_empty());
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format(|buf, record| {
            use std::io::Write;
            // Warnings read like the rest of our messages; -v detail keeps its origin.
            match record.level() {
                log::Level::Error => writeln!(buf, "error: {}", record.args()),
                log::Level::Warn => writeln!(buf, "warning: {}", record.args()),
                level => writeln!(buf, "[{level} {}] {}", record.target(), record.args()),
            }
        })
        .init();
    alloc::tune_allocator(if matches!(cli.command, Command::Record(_)) {
        alloc::RECORD_TRIM_THRESHOLD
    } else {
        alloc::TRIM_THRESHOLD
    });
    if !matches!(
        cli.command,
        Command::Record(_) | Command::Demo(_) | Command::Bench(_)
    ) {
        pipe::die_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Record(args) => commands::record::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Recover(args) => commands::recover::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Query(args) => commands::query::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Replay(args) => commands::replay::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Sigma(args) => commands::sigma::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): not an error.
        Err(err) if pipe::is_closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Rule diagnostics render themselves rustc-style, starting with `error:`.
            let message = error_message(&err);
            if message.starts_with("error: ") {
                eprintln!("{message}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(if records_a_command {
                commands::record::error_status(&err)
            } else {
                2
            })
        }
    }
}

/// The error and its causes, joined with `: `, leaving out a cause whose text
/// an outer message already includes (many library errors print their
/// source in their own message, and would otherwise be shown twice).
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use commands::bench::BenchCommand;

    /// Parses `line` as `main` does.
    fn parse(line: &str) -> Result<Cli, clap::Error> {
        let args = line.split(' ').map(std::ffi::OsString::from);
        Cli::try_parse_from(commands::record::join_syscall_sets(args))
    }

    #[test]
    fn record_and_bench_record_take_a_set_starting_with_a_minus() {
        let line = "hindsight record -o r --syscalls -openat,-openat2 -- true";
        match parse(line).unwrap().command {
            Command::Record(a) => assert_eq!(a.syscalls, "-openat,-openat2"),
            other => panic!("{other:?}"),
        }
        let line = "hindsight bench record --syscalls -openat,-openat2 --rounds 1";
        match parse(line).unwrap().command {
            Command::Bench(commands::bench::Args {
                command: BenchCommand::Record(a),
            }) => {
                assert_eq!(a.syscalls, "-openat,-openat2");
                assert_eq!(a.rounds, 1);
            }
            other => panic!("{other:?}"),
        }
        // Both check the set while parsing.
        for line in [
            "hindsight record -o r --syscalls -nosuchcall",
            "hindsight bench record --syscalls -nosuchcall",
        ] {
            let err = parse(line).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{line}: {err}");
            assert!(err.to_string().contains("nosuchcall"), "{err}");
        }
    }
}
