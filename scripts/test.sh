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
echo "== cargo clippy -D warnings" >&2
# A separate check, not clippy-driver as the wrapper of the test build: that
# would save the dependencies' second type-check (about 7 minutes), but the
# tests would then run binaries built by clippy-driver (no MIR optimisation,
# no debug-build null and alignment checks), not the ones users build.
cargo clippy --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test --no-fail-fast
echo "== mdbook build" >&2
mdbook build book
