#!/usr/bin/env bash
# Fetches a second kernel's BTF for the recorder's offset-resolution test:
# Debian 12's linux-image-6.1 cloud kernel (about 27 MB download), its
# bzImage payload decompressed to an ELF vmlinux (which carries .BTF).
# Output: target/second-kernel/vmlinux (git-ignored). Needs apt-get and lz4
# (or zstd/xz, whichever the kernel image uses).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/second-kernel
mkdir -p "$out"
[ -s "$out/vmlinux" ] && { echo "$out/vmlinux already there"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' | sort -V | tail -1 | cut -d' ' -f1)
[ -n "$pkg" ] || { echo "no linux-image-6.1.0-*-cloud-amd64-unsigned in apt" >&2; exit 3; }
(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg-deb -x ./*.deb x)
python3 - "$tmp"/x/boot/vmlinuz-* "$tmp/payload" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup_sects = d[0x1f1] or 4
off, length = struct.unpack_from('<II', d, 0x248)
start = (setup_sects + 1) * 512 + off
open(sys.argv[2], 'wb').write(d[start:start + length])
PY
case "$(file -b "$tmp/payload")" in
  # The payload has padding after the LZ4 frames, which lz4 reports as an
  # error after writing everything: the ELF check below is what counts.
  LZ4*) lz4 -dc "$tmp/payload" > "$out/vmlinux" 2>/dev/null || true ;;
  Zstandard*) zstd -dc "$tmp/payload" > "$out/vmlinux" ;;
  XZ*) xz -dc "$tmp/payload" > "$out/vmlinux" ;;
  gzip*) gzip -dc "$tmp/payload" > "$out/vmlinux" ;;
  *) echo "unknown payload compression: $(file -b "$tmp/payload")" >&2; exit 3 ;;
esac
if ! file -b "$out/vmlinux" | grep -q '^ELF'; then
  rm -f "$out/vmlinux"
  echo "$pkg: the decompressed payload is not an ELF vmlinux" >&2
  exit 3
fi
echo "$pkg -> $out/vmlinux"
