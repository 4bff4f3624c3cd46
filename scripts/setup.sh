#!/usr/bin/env bash
# Installs whatever a fresh machine lacks to build, test and run Hindsight.
# Idempotent: a few seconds when everything is already there.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# 1. The eBPF crate is built with nightly (-Z build-std=core needs rust-src).
if ! rustup toolchain list | grep -q '^nightly'; then
  say "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! grep -q '^rust-src' <<<"$(rustup component list --toolchain nightly --installed 2>/dev/null || true)"; then
  say "adding rust-src to nightly"
  rustup component add rust-src --toolchain nightly
fi
# The test suite checks formatting and clippy's lints with the stable
# toolchain (a `minimal` rustup profile has neither).
installed=$(rustup component list --installed 2>/dev/null || true)
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed"; then
    say "adding $component to the stable toolchain"
    rustup component add "$component"
  fi
done

# 2. bpf-linker 0.10.4 (uses the Rust toolchain's own LLVM 22; newer ones want a system LLVM 23).
if ! bpf-linker --version 2>/dev/null | grep -q '^bpf-linker 0\.10\.4'; then
  say "installing bpf-linker 0.10.4 (about 2 minutes)"
  cargo install bpf-linker --version 0.10.4 --locked
fi

# 3. mdbook builds the user guide.
if ! mdbook --version 2>/dev/null | grep -q 'v0\.5'; then
  say "installing mdbook (about 2 minutes)"
  cargo install mdbook --version '^0.5' --locked --no-default-features --features search
fi

# 4. Debian packages: bpftool (inspecting programs), strace/bpftrace/hyperfine (benchmarks),
#    gcc and curl (the Phantom-Attack reproducer and the scenarios).
need_apt=()
for pkg in bpftool bpftrace strace hyperfine gcc curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# 4b. What scripts/old-kernel.sh needs (the same list as its step 1, which still installs
#     them when the script is used on its own): tests/old_kernel.rs boots Debian 11's 5.10
#     and Debian 12's 6.1 kernels in QEMU through it.
need_apt=()
for pkg in qemu-system-x86 busybox-static cpio xz-utils gzip curl binutils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]} (for scripts/old-kernel.sh)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# 5. Python packages used by the test suite as independent oracles (DuckDB, pyarrow).
if ! python3 -c 'import duckdb, pyarrow' 2>/dev/null; then
  say "pip install duckdb pyarrow"
  python3 -m pip install -q duckdb pyarrow
fi
# moto's S3 server (and boto3) for the s3:// test of hindsight query.
if ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
  say "pip install moto[server]"
  python3 -m pip install -q 'moto[server]'
fi
# The Sigma oracle (replay/tests/sigma_oracle.rs): pySigma and its SQLite backend.
if ! python3 -c 'import sigma.backends.sqlite' 2>/dev/null; then
  say "pip install pysigma pysigma-backend-sqlite"
  python3 -m pip install -q pysigma pysigma-backend-sqlite
fi

# 6. Kernel filesystems the recorder needs (root only; harmless no-ops when mounted).
if [ "$(id -u)" = 0 ]; then
  [ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
  [ -e /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
fi
# 7. A second kernel's BTF (Debian 12's 6.1 cloud kernel, about 27 MB) for the test that
#    resolves the recorder's struct offsets on a kernel other than the running one.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -s "$root/target/second-kernel/vmlinux" ] && command -v apt-get >/dev/null; then
  say "fetching a second kernel's BTF (scripts/fetch-second-btf.sh)"
  # Once more after a failed download (seen once, a mirror's hiccup).
  bash "$root/scripts/fetch-second-btf.sh" >/dev/null ||
    { sleep 3; bash "$root/scripts/fetch-second-btf.sh" >/dev/null; } ||
    say "could not fetch it: the second-kernel offset test will be skipped"
fi
say "ready"
