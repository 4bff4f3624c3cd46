//! The `hindsight` binary: everything lives in the `hindsight-cli` crate.

fn main() -> std::process::ExitCode {
    hindsight_cli::main()
}
