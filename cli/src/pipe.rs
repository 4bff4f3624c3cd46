//! A closed output pipe (`hindsight query … | head`) ends the command
//! quietly, as it does for `cat` or `grep`, instead of a panic or an error.

/// Restores the default action of `SIGPIPE` (terminate), which the Rust
/// runtime sets to "ignore" at start. A write to a pipe whose reader has
/// gone then ends the process silently instead of failing with `EPIPE`.
///
/// Called by [`crate::main`] for the commands that only read recordings and
/// print. `record`, `demo` and `bench` keep ignoring it: they record, and a
/// recording must be finished properly even when their output is gone.
pub fn die_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL has no
    // preconditions; it is done before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Whether `err` (or any error in its chain) is a write to a closed pipe:
/// the reader of our output has gone, which is not a failure of ours.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) || format!("{err:#}").contains("Broken pipe (os error 32)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_closed_pipe_anywhere_in_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(io).context("writing results");
        assert!(is_closed_pipe(&err));
        let other = anyhow::anyhow!("no such file").context("reading");
        assert!(!is_closed_pipe(&other));
    }
}
