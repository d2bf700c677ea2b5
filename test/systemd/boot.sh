#!/bin/bash
# boot.sh OVERLAY boots Debian 12 with systemd as PID 1 under qemu and
# prints its console; OVERLAY is a directory laid over the root file system
# (the package, the test, a unit that runs it). The guest ends by printing
# "===SYSTEMD-GUEST EXIT: N===" and powering off; boot.sh exits with N, or
# with 125 when the guest reported nothing (boot failure, panic, timeout).
#
# The root file system is made once with mmdebstrap (Debian's minbase and
# PACKAGES below, without documentation) from deb.debian.org, given the
# kernel modules MODULES needs from the kernel test/vm/run.sh fetches, and
# packed as a cpio archive, cached under test/vm/cache (or $VMRUN_CACHE)
# and keyed by all of that: later runs only append OVERLAY. The whole
# archive is the guest's initramfs, and systemd runs from it (rdinit=).
# The guest has no network device: its tests use veth pairs and network
# namespaces of its own.
#
# Environment (all optional): SYSTEMD_GUEST_TIMEOUT=s (300),
# SYSTEMD_GUEST_MEM=MiB (1536), SYSTEMD_GUEST_SMP=n (2),
# SYSTEMD_GUEST_MIRROR=URL (http://deb.debian.org/debian), VMRUN_CACHE.
set -euo pipefail

SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
VM=$(readlink -f "$HERE/../vm")
CACHE=${VMRUN_CACHE:-$VM/cache}
TIMEOUT=${SYSTEMD_GUEST_TIMEOUT:-300}
MEM=${SYSTEMD_GUEST_MEM:-1536}
SMP=${SYSTEMD_GUEST_SMP:-2}
MIRROR=${SYSTEMD_GUEST_MIRROR:-http://deb.debian.org/debian}

PACKAGES="systemd systemd-sysv udev dbus iproute2 kmod procps keepalived ipvsadm"
MODULES="ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc crc32c_generic veth"
# Units that would write to the console or wake up during the test.
MASK="serial-getty@ttyS0.service getty@tty1.service console-getty.service
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer
  e2scrub_reap.service fstrim.timer systemd-firstboot.service"

log() { echo "systemd-guest: $*" >&2; }
die() { log "ERROR: $*"; exit 125; }

[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 OVERLAY-DIR" >&2; exit 125; }
OVERLAY=$(readlink -f "$1")
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/deps.sh)"
mkdir -p "$CACHE"
CACHE=$(readlink -f "$CACHE")

# The kernel, its modules and qemu's accelerator options, from test/vm.
KDIR= KERNEL= KVER= ACCEL= APPEND=
while IFS='=' read -r k v; do
  case $k in
    kdir) KDIR=$v ;; kernel) KERNEL=$v ;; kver) KVER=$v ;; accel) ACCEL=$v ;; append) APPEND=$v ;;
  esac
done < <(VMRUN_SMP=$SMP "$VM/run.sh" --kernel)
[ -n "$KDIR" ] && [ -n "$KERNEL" ] || die "test/vm/run.sh --kernel gave no kernel"

build_rootfs() { # $1: the cpio archive to write
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing (scripts/deps.sh)"
  local stage=$CACHE/systemd-stage.$$ u line f rel
  rm -rf "$stage"
  log "building the Debian 12 root file system with mmdebstrap (once)"
  mmdebstrap --variant=minbase --mode=root --format=directory \
    --include="${PACKAGES// /,}" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$stage" "$MIRROR" >&2 || die "mmdebstrap failed"
  echo guest >"$stage/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 guest\n' >"$stage/etc/hosts"
  # A machine id makes this boot not the first: no first-boot prompts.
  echo 6b9a1f3ad2c54c0e8e7f0a1b2c3d4e5f >"$stage/etc/machine-id"
  for u in $MASK; do ln -sf /dev/null "$stage/etc/systemd/system/$u"; done
  # The kernel opens /dev/console for PID 1 before anything mounts /dev.
  mkdir -p "$stage/dev"
  [ -e "$stage/dev/console" ] || mknod -m 600 "$stage/dev/console" c 5 1
  [ -e "$stage/dev/null" ] || mknod -m 666 "$stage/dev/null" c 1 3
  rm -rf "$stage"/var/cache/apt/*.bin "$stage"/var/lib/apt/lists/*

  # The modules and their dependencies, uncompressed (the kernel's own
  # loader then needs no decompressor), and their modules.dep.
  local mods=$stage/usr/lib/modules/$KVER
  mkdir -p "$mods"
  modprobe -a -d "$KDIR" -S "$KVER" --show-depends $MODULES | while read -r line; do
    case $line in insmod\ *) ;; *) continue ;; esac
    f=${line#insmod }; f=${f%% *}
    rel=${f#"$KDIR/lib/modules/$KVER/"}
    mkdir -p "$mods/$(dirname "$rel")"
    case $f in
      *.ko.xz) xz -dc "$f" >"$mods/${rel%.xz}" ;;
      *.ko) cp "$f" "$mods/$rel" ;;
      *) die "unexpected module file $f" ;;
    esac
  done
  for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -f "$KDIR/lib/modules/$KVER/$f" ] && cp "$KDIR/lib/modules/$KVER/$f" "$mods/"
  done
  depmod -b "$stage" "$KVER" || die "depmod failed"

  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$1.tmp"
  mv "$1.tmp" "$1"
  rm -rf "$stage"
  log "root file system: $(du -h "$1" | cut -f1)"
}

key=$( { echo gokeepalived-systemd-1 "$PACKAGES" "$MODULES" "$MASK" "$MIRROR" "$KVER"
         cat "$KDIR/package" 2>/dev/null || true
         declare -f build_rootfs; } | sha256sum | cut -c1-16)
ROOTFS=$CACHE/systemd-rootfs-$key.cpio
exec 9>"$CACHE/.systemd-lock"
flock 9
if [ ! -s "$ROOTFS" ]; then
  build_rootfs "$ROOTFS"
  # Keep the two most recent root file systems.
  ls -1t "$CACHE"/systemd-rootfs-*.cpio 2>/dev/null | tail -n +3 | xargs -r rm -f
fi
flock -u 9
exec 9>&-

RUN=$(mktemp -d "$CACHE/systemd-run.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
trap 'exit 130' INT TERM
# The kernel unpacks the overlay over the root: its directories must have
# the modes they have there.
mkdir -p "$RUN/r"
cp -a "$OVERLAY/." "$RUN/r/"
find "$RUN/r" -type d -exec chmod 755 {} +
(cd "$RUN/r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$RUN/overlay.cpio"
cat "$ROOTFS" "$RUN/overlay.cpio" >"$RUN/initrd"

T0=$(date +%s.%N)
LOGF=$RUN/console.log
set +e
# shellcheck disable=SC2086
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 $ACCEL -M pc -nographic -m "$MEM" -smp "$SMP" \
  -no-reboot -nic none -kernel "$KERNEL" -initrd "$RUN/initrd" \
  -append "console=ttyS0 rdinit=/lib/systemd/systemd panic=-1 quiet loglevel=3 systemd.show_status=error cryptomgr.notests=1 rodata=off mitigations=off $APPEND" \
  </dev/null 2>&1 |
  sed -u 's/\r$//; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' | tee "$LOGF"
QRC=${PIPESTATUS[0]}
set -e
T1=$(date +%s.%N)

RC=$(sed -n 's/.*===SYSTEMD-GUEST EXIT: \([0-9]*\)===.*/\1/p' "$LOGF" | tail -n1)
if [ -z "$RC" ]; then
  [ "$QRC" = 124 ] && log "timeout after ${TIMEOUT}s"
  log "no exit marker from the guest (qemu rc=$QRC)"
  RC=125
fi
log "$(printf 'kernel %s, %s, -smp %s; qemu %.1fs; exit %s' "$KVER" "$ACCEL" "$SMP" "$(echo "$T1 - $T0" | bc)" "$RC")"
exit "$RC"
