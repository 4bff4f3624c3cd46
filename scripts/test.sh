#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, every test, and the book.
# This is README command 2, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check" >&2
cargo fmt --all --check
# Clippy's lints, as errors, are checked while the tests are built:
# clippy-driver compiles the workspace's crates (cargo gives it only those, as
# `cargo clippy` does), so the dependencies are compiled once instead of being
# type-checked a second time for `cargo clippy` (about 10 of CI's minutes).
# Same targets as `cargo clippy --all-targets -- -D warnings`: the libraries,
# binaries, examples and tests below, and the benches, built but not run.
# CLIPPY_ARGS is how `cargo clippy` passes `-D warnings` to clippy-driver.
# A lint fails the build, and the run, like a test.
clippy_driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) || {
  echo "error: clippy-driver not found (rustup component add clippy)" >&2
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
echo "== cargo test, with clippy's lints as errors (-D warnings)" >&2
cargo test --no-run --benches
cargo test --no-fail-fast
echo "== mdbook build" >&2
mdbook build book
