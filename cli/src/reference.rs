//! The book's CLI reference (`book/src/cli.md`), rendered from the clap
//! definitions so it can never drift from `--help`. The root package's
//! `tests/book.rs` compares the committed page with this rendering.

use clap::CommandFactory;

/// The clap command tree of `hindsight`.
pub fn command() -> clap::Command {
    crate::Cli::command().term_width(100)
}

/// Renders the CLI reference page as Markdown: every subcommand (recursively)
/// with its full `--help` text.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# CLI reference\n\n\
         Generated from `hindsight --help` by the test suite (`HINDSIGHT_UPDATE_BOOK=1 cargo test \
         --test book` rewrites it); do not edit by hand.\n",
    );
    let mut root = command();
    root.build();
    render(&mut out, &root, "hindsight");
    out
}

fn render(out: &mut String, cmd: &clap::Command, path: &str) {
    let mut cmd = cmd.clone().bin_name(path);
    let help = cmd.render_long_help().to_string();
    out.push_str(&format!(
        "\n## `{path}`\n\n```text\n{}\n```\n",
        help.trim_end()
    ));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" || sub.is_hide_set() {
            continue;
        }
        render(out, sub, &format!("{path} {}", sub.get_name()));
    }
}
