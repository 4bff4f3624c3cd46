#!/usr/bin/env bash
# Runs a binary (normally target/release/hindsight) and a shell script under an
# older Linux kernel in QEMU: Debian 11's 5.10 kernel or Debian 12's 6.1 (BTF,
# BPF, ring buffer, cgroup2), booted from an initramfs with busybox, the binary
# and its shared libraries. Exits with the guest script's exit code. See --help.
#
# Everything downloaded or built is cached under target/old-kernel/ (git-ignored),
# per series in target/old-kernel/SERIES/: the suite's Packages indexes (refreshed
# after a week), the kernel package's vmlinuz and config, the initramfs and the
# console log; shared by both: a stripped copy of the binary and whether KVM works.
# A second run with the same binary takes ~3 s plus the boot (~5 s under TCG).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/old-kernel.sh [OPTIONS] BINARY SCRIPT

Boots Debian 11's linux-image-5.10.0-*-cloud-amd64-unsigned kernel (or, with
--kernel 6.1, Debian 12's linux-image-6.1.0-*-cloud-amd64-unsigned; the plain
-amd64 one when the cloud kernel lacks a needed option) in QEMU with an initramfs
holding busybox, BINARY (stripped of debug info) at /bin/hindsight and its shared
libraries, then runs SCRIPT with busybox sh as root in the guest. The guest has
proc, sysfs, devtmpfs, cgroup2, bpffs, tracefs, debugfs, securityfs and a tmpfs
/tmp mounted, RLIMIT_MEMLOCK unlimited, loopback up but no other network and no
disk: whatever the script writes is lost at power-off, so it must print what it
wants to keep.

The console goes to stdout and to a log (target/old-kernel/SERIES/last-run.log).
The kernel selected for a series (and --flavour) is kept until --refresh, even
when the weekly refresh of the Packages indexes shows a newer one, so results
do not change without anyone choosing (it is selected again only when its
cached files are gone).

The exit code is the guest script's; 124 when the guest hung (--timeout or
--idle-timeout ran out, or the kernel reported a soft lockup or an RCU stall:
the log keeps what the kernel printed); 125 when the guest never reported one for
another reason (boot failure, kernel panic); before booting, 3 when no kernel
could be downloaded (stderr names the package and every URL tried) and 2 on
other errors.

Kernels come from deb.debian.org, else archive.debian.org (where Debian 11
goes after its LTS, which ended on 2026-08-31); stderr says which mirror served
each download. The Packages indexes are fetched over plain HTTP without
checking their Release file or its GPG signature, and the .deb is checked
against the SHA256 in that index only: the kernel only ever runs inside QEMU.
HINDSIGHT_DEBIAN_MIRROR and HINDSIGHT_DEBIAN_ARCHIVE replace the two mirrors.
HINDSIGHT_QEMU_ARGS is added to QEMU's command line, split at spaces (e.g.
'-monitor unix:/tmp/m.sock,server=on,wait=off' to read a hung guest's registers
with 'info registers -a').

Options:
  --kernel SERIES     Kernel series to boot: 5.10 (Debian 11 bullseye, the
                      default) or 6.1 (Debian 12 bookworm)
  --flavour F         cloud | plain | auto (default auto: cloud, else plain)
  --file SRC[:DEST]   Also put SRC (a file or directory) into the guest at DEST
                      (default /root/BASENAME); the shared libraries of a
                      dynamically linked SRC come along. Repeatable
  --append ARGS       Extra kernel command line (e.g. 'lsm=lockdown,yama,bpf')
  --accel A           auto | kvm | tcg (default auto: KVM when a probe boot shows
                      it works on this machine, cached; else TCG emulation).
                      TCG runs the guest's CPUs on one host thread (see the
                      script: multi-threaded TCG hangs 5.10 guests); QEMU's
                      accelerator options may follow: tcg,thread=multi
  --memory MB         Guest memory (default 3072)
  --smp N             Guest CPUs (default 2)
  --timeout SECONDS   Kill QEMU after this long (default 900)
  --idle-timeout SECONDS
                      Kill QEMU when the guest script has printed no line for
                      this long; kernel messages do not count (default 0: never)
  --log FILE          Console log (default target/old-kernel/SERIES/last-run.log)
  --refresh           Download the Packages indexes again, select the newest
                      usable kernel again (removing the series' other kernels)
                      and re-probe KVM
  -h, --help          This help

Example:
  printf 'uname -r\nhindsight record -o /tmp/r -- true\n' > /tmp/t.sh
  scripts/old-kernel.sh target/release/hindsight /tmp/t.sh
  scripts/old-kernel.sh --kernel 6.1 target/release/hindsight /tmp/t.sh
EOF
}

say() { printf '\033[1mold-kernel:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# --- Arguments ---------------------------------------------------------------
series=5.10 flavour=auto accel=auto memory=3072 smp=2 timeout_s=900 idle_s=0 log='' refresh=0
append=
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --kernel) series=${2:?--kernel needs a value}; shift 2 ;;
    --flavour) flavour=${2:?--flavour needs a value}; shift 2 ;;
    --file) files+=("${2:?--file needs SRC[:DEST]}"); shift 2 ;;
    --append) append=${2:?--append needs a value}; shift 2 ;;
    --accel) accel=${2:?--accel needs a value}; shift 2 ;;
    --memory) memory=${2:?--memory needs a value}; shift 2 ;;
    --smp) smp=${2:?--smp needs a value}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
    --idle-timeout) idle_s=${2:?--idle-timeout needs a value}; shift 2 ;;
    --log) log=${2:?--log needs a value}; shift 2 ;;
    --refresh) refresh=1; shift ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { usage >&2; die "expected BINARY and SCRIPT"; }
binary=$(realpath "$1") script=$(realpath "$2")
{ [ -f "$binary" ] && [ -x "$binary" ]; } || die "$1 is not an executable file"
[ -f "$script" ] || die "$2 is not a file"
case "$flavour" in cloud) flavours=(cloud-amd64) ;; plain) flavours=(amd64) ;;
  auto) flavours=(cloud-amd64 amd64) ;; *) die "--flavour must be cloud, plain or auto" ;; esac
case "$accel" in auto | kvm | tcg | kvm,* | tcg,*) ;; *) die "--accel must be auto, kvm or tcg (the last two with QEMU's options after a comma)" ;; esac
for n in "$timeout_s" "$idle_s"; do
  case "$n" in '' | *[!0-9]*) die "--timeout and --idle-timeout take whole seconds, not '$n'" ;; esac
done
# Kernel series -> Debian suite and the ABI prefix of its image packages.
case "$series" in
  5.10) suite=bullseye abi='5\.10\.0-[0-9]+' ;;
  6.1) suite=bookworm abi='6\.1\.0-[0-9]+' ;;
  *) die "unknown kernel series $series (known: 5.10 = Debian 11, 6.1 = Debian 12)" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/target/old-kernel # shared: the stripped binary, the KVM verdict
scache=$cache/$series         # per series: indexes, kernels, initramfs, log
mkdir -p "$scache"
log=${log:-$scache/last-run.log}
t_start=$EPOCHREALTIME

# --- 1. Host packages ----------------------------------------------------------
need_apt=()
for pkg in qemu-system-x86 busybox-static cpio xz-utils gzip curl binutils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_apt[*]} (run as root to install them)"
  say "apt-get install ${need_apt[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# --- 2. The kernel -------------------------------------------------------------
# Packages indexes of the suite and its updates; SUITE-security often has a
# newer kernel, but its pool may not be reachable (then the next one is tried).
# Mirrors, in order: deb.debian.org, then archive.debian.org, where a release
# goes some time after its LTS ends (Debian 11's ended on 2026-08-31), with the
# same debian/ and debian-security/ paths. A mirror that cannot be resolved or
# connected to is not asked again in this run.
# Not verified: the indexes come over plain HTTP without their Release file or
# GPG signature; the .deb is checked against the SHA256 in that index. Good
# enough for a kernel that only ever runs inside QEMU.
mirrors=("${HINDSIGHT_DEBIAN_MIRROR:-http://deb.debian.org}" "${HINDSIGHT_DEBIAN_ARCHIVE:-http://archive.debian.org}")
declare -A mirror_down=()
tried=() # URLs that failed, for the final message
# fetch WHAT PATH OUT: PATH from the first mirror that has it, into OUT; says which.
fetch() {
  local m rc
  for m in "${mirrors[@]}"; do
    if [ -n "${mirror_down[$m]:-}" ]; then
      tried+=("$m/$2 (not asked: $m was unreachable)")
      continue
    fi
    rc=0
    curl -fsS --connect-timeout 10 --retry 2 -o "$3.part" "$m/$2" 2>"$3.err" || rc=$?
    if [ "$rc" = 0 ]; then
      mv "$3.part" "$3"; rm -f "$3.err"
      say "$1: from $m"
      return 0
    fi
    tried+=("$m/$2 ($(grep -o '([0-9]*) .*' "$3.err" | tail -1))")
    case "$rc" in 6 | 7 | 28) mirror_down[$m]=1 ;; esac # unresolvable, refused, timeout
  done
  rm -f "$3.part" "$3.err"
  return 1
}
indexes=("debian $suite" "debian $suite-updates" "debian-security $suite-security")
idx_dir=$scache/indexes
mkdir -p "$idx_dir"
for entry in "${indexes[@]}"; do
  read -r archive dist <<<"$entry"
  f=$idx_dir/$dist.Packages.xz
  if [ "$refresh" = 1 ] || [ -z "$(find "$f" -mtime -7 2>/dev/null)" ]; then
    fetch "$dist's Packages index" "$archive/dists/$dist/main/binary-amd64/Packages.xz" "$f" ||
      say "could not download $dist's Packages index (using the cached one if any)"
  fi
done

# Needed kernel options: BTF, BPF, kprobes/tracepoints for BPF, cgroup2, an
# initramfs (gzip), devtmpfs, tmpfs and the serial console.
required_config=(DEBUG_INFO_BTF BPF_SYSCALL BPF_EVENTS CGROUPS CGROUP_BPF BLK_DEV_INITRD RD_GZIP
  DEVTMPFS TMPFS SERIAL_8250 SERIAL_8250_CONSOLE PROC_FS SYSFS MAGIC_SYSRQ)
config_ok() { # config file -> missing options on stdout, status 1 if any
  local opt missing=()
  for opt in "${required_config[@]}"; do grep -q "^CONFIG_$opt=y$" "$1" || missing+=("$opt"); done
  [ ${#missing[@]} -eq 0 ] || { echo "${missing[*]}"; return 1; }
}

# Candidates, newest first: "version package archive filename sha256".
candidates() { # flavour
  local entry archive dist f
  for entry in "${indexes[@]}"; do
    read -r archive dist <<<"$entry"
    f=$idx_dir/$dist.Packages.xz
    [ -s "$f" ] || continue
    xz -dc "$f" | awk -v re="^linux-image-$abi-$1-unsigned\$" -v archive="$archive" '
      /^Package: / { p = $2 } /^Version: / { v = $2 } /^Filename: / { fn = $2 } /^SHA256: / { h = $2 }
      /^$/ { if (p ~ re) print v, p, archive, fn, h; p = v = fn = h = "" }
      END { if (p ~ re) print v, p, archive, fn, h }'
  done | sort -V -r -k1,1
}

# The selection (package, version, directory) is remembered per series and
# flavour setting and kept, so that results do not change without anyone
# choosing: a newer kernel in a refreshed index is not picked up; only
# --refresh, or the selected kernel's files being gone, selects again.
selection=$scache/selected-$flavour
kdir=
if [ "$refresh" = 0 ] && [ -s "$selection" ]; then
  read -r kpkg kver kdir <"$selection"
  [ -s "$kdir/vmlinuz" ] || kdir=
fi
if [ -z "$kdir" ]; then
  for fl in "${flavours[@]}"; do
    while read -r ver pkg archive fn sha; do
      dir=$scache/kernels/${pkg}_$ver
      if [ ! -s "$dir/vmlinuz" ]; then
        say "downloading $pkg $ver ($archive)"
        tmp=$(mktemp -d)
        if ! fetch "$pkg $ver" "$archive/$fn" "$tmp/k.deb"; then
          say "$archive/$fn is not reachable on any mirror; trying an older one"
          rm -rf "$tmp"; continue
        fi
        echo "$sha  $tmp/k.deb" | sha256sum -c --quiet - || { rm -rf "$tmp"; die "$pkg: SHA256 mismatch"; }
        dpkg-deb --fsys-tarfile "$tmp/k.deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*'
        mkdir -p "$dir"
        mv "$tmp"/boot/config-* "$dir/config"
        mv "$tmp"/boot/vmlinuz-* "$dir/vmlinuz" # last: its presence marks a complete cache
        rm -rf "$tmp"
      fi
      if absent=$(config_ok "$dir/config"); then
        kpkg=$pkg kver=$ver kdir=$dir
        echo "$kpkg $kver $kdir" >"$selection.$$"
        mv -f "$selection.$$" "$selection"
      else
        say "$pkg lacks CONFIG_{$absent}"
      fi
      break # only the newest reachable package of a flavour is considered
    done < <(candidates "$fl")
    [ -n "$kdir" ] && break
  done
  if [ -z "$kdir" ] && [ ${#tried[@]} -gt 0 ]; then
    say "could not download a linux-image-$series.0-N-{$(IFS=,; echo "${flavours[*]}")}-unsigned package of Debian $suite; tried:"
    printf '  %s\n' "${tried[@]}" >&2
    exit 3
  fi
  [ -n "$kdir" ] || die "no usable linux-image-$series kernel found in $suite's indexes"
  # The series' other kernels go, except those another flavour setting selected.
  for dir in "$scache"/kernels/*; do
    { [ -d "$dir" ] && [ "$dir" != "$kdir" ]; } || continue
    awk -v d="$dir" '$3 == d { kept = 1 } END { exit !kept }' "$scache"/selected-* && continue
    say "removing $(basename "$dir") (no longer selected)"
    rm -rf "$dir"
  done
fi
say "kernel: $kpkg $kver"

# --- 3. The initramfs ----------------------------------------------------------
# A stripped copy of the binary (release builds carry ~750 MB of debug info);
# the symbol table stays so that backtraces keep their names.
stripped=$cache/bin/$(basename "$binary").stripped
stamp="$binary $(stat -c '%s %Y' "$binary")"
mkdir -p "$cache/bin"
if [ ! -s "$stripped" ] || [ "$(cat "$stripped.stamp" 2>/dev/null)" != "$stamp" ]; then
  say "stripping $binary"
  strip --strip-debug -o "$stripped.part$$" "$binary"
  mv "$stripped.part$$" "$stripped"
  echo "$stamp" >"$stripped.stamp"
fi

# Per run (concurrent runs, e.g. of the tests, must not swap initramfses).
# A run killed with SIGKILL leaves its ~150 MB behind: those of runs that
# started more than 2 hours ago are removed (not those of concurrent runs).
find "$scache" -maxdepth 1 -name 'initramfs.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
stage=$(mktemp -d "$scache/initramfs.XXXXXX")
initrd=$stage.cpio console=$stage.console qemu_pid= idle_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  # QEMU (through timeout, which passes the signal on) dies with the script.
  [ -n "$qemu_pid" ] && kill -TERM "$qemu_pid" 2>/dev/null
  [ -n "$idle_pid" ] && kill -TERM "$idle_pid" 2>/dev/null
  rm -rf "$stage" "$initrd" "$console" "$stage.idle"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,mnt}
cp /bin/busybox "$stage/bin/busybox"
# Applet links, relative (usr/bin/awk -> ../../bin/busybox), never over a file.
while read -r applet; do
  [ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] && continue
  slashes=${applet//[!\/]/} # one per directory level: bin/sh -> ../bin/busybox
  ln -s "${slashes//\//../}bin/busybox" "$stage/$applet"
done < <(/bin/busybox --list-full)

# copy_libs FILE: the shared libraries (and dynamic loader) FILE needs, at their paths.
copy_libs() {
  local lib
  { ldd "$1" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
      [ -e "$stage$lib" ] || { mkdir -p "$stage$(dirname "$lib")"; cp -L "$lib" "$stage$lib"; }
    done
}
cp "$stripped" "$stage/bin/hindsight"
copy_libs "$binary"
for spec in ${files[@]+"${files[@]}"}; do
  src=${spec%%:*} dest=${spec#*:}
  [ "$src" = "$spec" ] && dest=/root/$(basename "$src")
  [ -e "$src" ] || die "--file $src does not exist"
  mkdir -p "$stage$(dirname "$dest")"
  cp -rL "$src" "$stage$dest"
  [ -f "$src" ] && copy_libs "$src"
done
cp "$script" "$stage/run.sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\n' >"$stage/etc/group"
echo old-kernel >"$stage/etc/hostname"
# The console exists before devtmpfs is mounted, for the kernel to open for init.
[ "$(id -u)" = 0 ] && mknod -m 600 "$stage/dev/console" c 5 1

cat >"$stage/init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the guest: mounts the kernel filesystems, runs /run.sh, reports its
# exit code on the console and powers off.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd 2>/dev/null
ln -s /proc/self/fd/0 /dev/stdin 2>/dev/null
ln -s /proc/self/fd/1 /dev/stdout 2>/dev/null
ln -s /proc/self/fd/2 /dev/stderr 2>/dev/null
# Optional ones: a failure is reported by mount itself and ignored.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
hostname old-kernel
# Loopback only (no network device): connect() to 127.0.0.1 works.
ip link set lo up
# Before 5.11 BPF maps are charged to RLIMIT_MEMLOCK.
ulimit -l unlimited
echo "HS-OLD-KERNEL-START uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"
cd /root
sh /run.sh </dev/null
rc=$?
echo "HS-OLD-KERNEL-EXIT=$rc"
sync
poweroff -f
echo o >/proc/sysrq-trigger
INIT
chmod 755 "$stage/init" "$stage/run.sh"
# Uncompressed: gzip costs ~2 s to write here and ~4.5 s to unpack in an
# emulated guest, an uncompressed archive ~2 s in all.
rm -f "$scache/initramfs.cpio" # left by an earlier version of this script
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$initrd"
rm -rf "$stage"
say "initramfs: $(du -h "$initrd" | cut -f1) ($(awk -v s="$t_start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')s so far)"

# --- 4. Boot -------------------------------------------------------------------
# KVM is used when a probe boot of the kernel under it prints its banner within
# 30 s (on some nested setups /dev/kvm opens but the guest hangs in its
# decompressor). The verdict is cached per host kernel, written atomically
# (concurrent runs read either no file or a whole one); anything but the two
# known verdicts (a missing, empty or foreign file) means "probe again".
kvm_verdict=$cache/kvm-$(uname -r)
if [ "$accel" = auto ]; then
  accel=tcg verdict='no /dev/kvm'
  # Without the CPU's virtualisation flags (this Firecracker VM) KVM cannot
  # run a guest: no probe, which would only spend its 30 s timing out.
  if [ -w /dev/kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    verdict='no vmx/svm CPU flag'
  elif [ -w /dev/kvm ]; then
    verdict=$(cat "$kvm_verdict" 2>/dev/null || true)
    if [ "$refresh" = 1 ] || { [ "$verdict" != works ] && [ "$verdict" != hangs-or-fails ]; }; then
      say "probing KVM (up to 30 s, once)"
      if timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -no-user-config \
        -display none -serial stdio -no-reboot -kernel "$kdir/vmlinuz" \
        -append "console=ttyS0 panic=-1" </dev/null 2>&1 | grep -aq 'Linux version'; then
        verdict=works
      else
        verdict=hangs-or-fails
      fi
      echo "$verdict" >"$kvm_verdict.$$"
      mv -f "$kvm_verdict.$$" "$kvm_verdict"
    fi
    [ "$verdict" = works ] && accel=kvm
  fi
  say "accelerator: $accel (KVM probe: $verdict)"
fi
if [ "${accel%%,*}" = kvm ]; then cpu=host; else cpu=max; fi
# TCG emulates the guest's CPUs on one host thread, not one each: QEMU 7.2's
# multi-threaded TCG can leave a vCPU running its old translation of code the
# guest kernel has since patched. A 5.10 guest then loops for ever on the
# int3 of a static key the kernel already set back to a nop (do_exit's
# sched_process_exit tracepoint, toggled as the recorder's programs attach
# and detach): both CPUs at do_exit+0x33e <-> exc_int3 while memory reads
# 66 66 66 66 90 (read with HINDSIGHT_QEMU_ARGS='-monitor ...'). Switching
# that tracepoint on and off in tracefs while two loops run /bin/true hung
# both guests tried with a thread per CPU within 300 rounds; on one thread
# a guest ran 3 000 rounds without a hang. 'tcg,thread=multi' restores the
# old way.
[ "$accel" = tcg ] && accel=tcg,thread=single

: >"$log"
say "booting ($accel, ${memory} MB, $smp CPUs, timeout ${timeout_s}s); console log: $log"
t_boot=$EPOCHREALTIME
set +e
# The console goes through a FIFO to a loop that strips carriage returns, copies
# it to stdout and the log and notes when the guest script starts.
mkfifo "$console"
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%$'\r'}
  printf '%s\n' "$line"
  printf '%s\n' "$line" >>"$log"
  case "$line" in HS-OLD-KERNEL-START*)
    awk -v a="$t_boot" -v b="$EPOCHREALTIME" 'BEGIN { printf "HS-OLD-KERNEL-HOST-START %.1f\n", b - a }' >>"$log" ;;
  esac
done <"$console" &
loop_pid=$!
# QEMU runs in the background so that a signal to this script runs its traps at
# once (they stop QEMU). So that it also dies when this script is killed with
# SIGKILL: timeout gets SIGTERM when the script dies (and passes it on to QEMU,
# then SIGKILL 10 s later), QEMU gets SIGKILL when timeout dies.
read -ra qemu_extra <<<"${HINDSIGHT_QEMU_ARGS:-}"
setpriv --pdeathsig TERM timeout --kill-after=10 "$timeout_s" \
  setpriv --pdeathsig KILL qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m "$memory" -smp "$smp" \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel "$kdir/vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 quiet panic=-1 $append" "${qemu_extra[@]}" </dev/null >"$console" 2>&1 &
qemu_pid=$!
# --idle-timeout: a guest whose script prints no line for that long is
# stopped. Kernel messages ("[  213.357004] ...") do not count: a CPU stuck
# in a soft lockup repeats its backtrace every ~20 s.
if [ "$idle_s" -gt 0 ]; then
  (
    last=-1 quiet=0
    while sleep 5; do
      # Not after this script died (SIGKILL, no EXIT trap): the PID may be reused.
      kill -0 $$ 2>/dev/null || exit 0
      lines=$(grep -cav '^\[ *[0-9]*\.[0-9]*\]' "$log" 2>/dev/null || true)
      if [ "$lines" = "$last" ]; then quiet=$((quiet + 5)); else quiet=0 last=$lines; fi
      if [ "$quiet" -ge "$idle_s" ]; then
        : >"$stage.idle"
        kill -TERM "$qemu_pid" 2>/dev/null
        exit 0
      fi
    done
  ) </dev/null >/dev/null 2>&1 & # (its last sleep must not hold stdout open)
  idle_pid=$!
fi
wait "$qemu_pid"
qemu_rc=$?
qemu_pid=
if [ -n "$idle_pid" ]; then
  kill -TERM "$idle_pid" 2>/dev/null
  wait "$idle_pid" 2>/dev/null
  idle_pid=
fi
wait "$loop_pid"
set -e
t_end=$EPOCHREALTIME

started=$(sed -n 's/^HS-OLD-KERNEL-HOST-START //p' "$log" | tail -1)
rc=$(sed -n 's/.*HS-OLD-KERNEL-EXIT=\([0-9]*\)$/\1/p' "$log" | tail -1)
sed -i '/^HS-OLD-KERNEL-HOST-START /d' "$log"
times=$(awk -v s="$t_start" -v b="$t_boot" -v e="$t_end" -v g="${started:-}" 'BEGIN {
  printf "%s; boot to power-off %.1fs; whole run %.1fs",
    (g == "" ? "the script never started" : "script started " g "s after boot began"), e - b, e - s }')
say "$kpkg $kver, $accel: $times"
if [ -z "$rc" ]; then
  lockup=$(grep -m1 -aE 'soft lockup|rcu_sched self-detected stall|rcu: INFO: rcu_.* detected stalls|hung_task' "$log" || true)
  if [ -e "$stage.idle" ]; then
    if [ -n "${started:-}" ]; then
      say "the guest hung: its script printed nothing for ${idle_s}s (--idle-timeout); see $log"
    else
      say "the guest hung before its script started (no new line for ${idle_s}s, --idle-timeout); see $log"
    fi
    exit 124
  elif [ "$qemu_rc" = 124 ]; then
    say "the guest hung: no exit code after ${timeout_s}s (--timeout); see $log"
    exit 124
  elif [ -n "$lockup" ]; then
    say "the guest hung: the kernel reported '${lockup#*] }'; see $log"
    exit 124
  else
    say "no exit code from the guest: QEMU exited with $qemu_rc before the script finished (boot failure or panic? see $log)"
  fi
  exit 125
fi
say "guest script exit code: $rc"
exit "$rc"
