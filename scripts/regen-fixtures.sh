#!/usr/bin/env bash
# Regenerates the committed fixture recordings from scratch.
#
# Synthetic fixtures are deterministic: the same hindsight version gives the
# same bytes (format/tests/fixtures.rs checks that regenerating gives the same
# rows and hashes). Never edit fixtures by hand; change this script.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -q --bin hindsight
hindsight=target/debug/hindsight

regen() {
    local dir=$1
    shift
    rm -rf "$dir"
    "$hindsight" generate --quiet -o "$dir" "$@"
    echo "regenerated $dir" >&2
}

# The small synthetic recording the query and replay tests use (3 segments).
regen fixtures/recordings/synthetic-small \
    --events 20000 --seed 1 --host web-1 --start 2026-11-20T08:00:00Z --segment-rows 8192

# A tiny fleet tree (Hive partitions host=NAME/date=YYYY-MM-DD).
regen "fixtures/recordings/fleet/host=web-1/date=2026-11-20/rec" \
    --events 3000 --seed 11 --host web-1 --start 2026-11-20T09:00:00Z
regen "fixtures/recordings/fleet/host=db-1/date=2026-11-20/rec" \
    --events 3000 --seed 12 --host db-1 --start 2026-11-20T09:00:00Z

# Real recordings of fixtures/scenarios/ made with the eBPF recorder (root only;
# skipped with a note otherwise). See fixtures/recordings/intrusion/README.md.
bash fixtures/scenarios/record.sh "$hindsight"
# One recording per phase of each Falco rule scenario (root only; see
# fixtures/scenarios/falco/README.md).
bash fixtures/scenarios/falco/record.sh "$hindsight"
# One recording per phase of each Sigma rule scenario (root only; see
# fixtures/scenarios/sigma/README.md). Refresh the expected verdicts after:
# hindsight test fixtures/scenarios/sigma --update
bash fixtures/scenarios/sigma/record.sh "$hindsight"
