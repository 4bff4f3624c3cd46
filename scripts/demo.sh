#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "== building hindsight (the first build takes a few minutes)" >&2
cargo build --quiet --bin hindsight
exec target/debug/hindsight demo "$@"
