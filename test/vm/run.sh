#!/bin/bash
# run.sh <dir-to-copy-into-guest> <command to run inside guest...>
# run.sh --kernel
#
# Boots Debian's own linux-image-6.1.*-amd64 kernel in qemu with a small
# initramfs (busybox-static, dash, iproute2's ip, ipvsadm, keepalived and
# their libraries, the IPVS / veth / dummy / bridge / macvlan modules),
# copies <dir> to /work in the guest, runs <command> there with /bin/sh -c
# and GOKEEPALIVED_GUEST=1 in its environment, prints the guest console and
# exits with the command's exit code. The guest has no network device.
#
# The host kernel need not have IPVS: the guest brings its own. Everything
# is cached under test/vm/cache (the kernel package is fetched once with
# apt-get download), so a warm run costs the boot, a few seconds.
#
# Exit codes: the command's exit code, or 125 when the guest did not report
# one (boot failure, kernel panic, timeout).
#
# With --kernel it boots nothing: it fetches the kernel as above and prints
# what other guests need to boot it, one name=value a line: kdir (vmlinuz,
# vmlinux, config, kver and lib/modules/KVER, with modules.dep), kernel (the
# image to boot), kver, accel (qemu's accelerator and CPU options) and append
# (kernel command line the accelerator needs).
#
# Environment (all optional):
#   VMRUN_CACHE=dir           cache dir (default: <dir of this script>/cache)
#   VMRUN_KERNEL_PKG=name     kernel package (default: what linux-image-amd64 depends on)
#   VMRUN_REFRESH_KERNEL=1    re-resolve and re-download the kernel package
#   VMRUN_ACCEL=tcg|kvm:<cpu> force the accelerator (default: probed once, cached)
#   VMRUN_PROBE_KVM=1         probe KVM even on a kvm_pvm host
#   VMRUN_MACHINE=microvm|pc  (default microvm: no PCI, fastest boot)
#   VMRUN_MEM=MiB (1024)  VMRUN_SMP=n (1)  VMRUN_TIMEOUT=s (600)
#   VMRUN_KEEPALIVED=0        leave keepalived out of the initramfs
#   VMRUN_EXTRA_BINS="..."    more host binaries to copy (with their libraries)
#   VMRUN_EXTRA_MODULES="..." more kernel modules to load (dependencies resolved)
#   VMRUN_APPEND="..."        extra kernel command line
#   VMRUN_FASTBOOT=0          drop "cryptomgr.notests=1 rodata=off mitigations=off"
#   VMRUN_STRIP_MODSIG=1      strip module signatures (faster insmod, taints the kernel)
#   VMRUN_ICOUNT=shift        TCG with -icount: guest time counts instructions
#   VMRUN_QUIET=1             do not echo the guest console (still parsed)
#   VMRUN_TSC_MHZ=2445.4      host TSC MHz (default: from dmesg, remembered in the cache;
#                             TCG needs it with microvm, else -M pc is used)
set -euo pipefail

VMRUN_VERSION=gokeepalived-1
SELF=$(readlink -f "$0")
LAB=$(dirname "$SELF")
CACHE=${VMRUN_CACHE:-$LAB/cache}
MEM=${VMRUN_MEM:-1024}
SMP=${VMRUN_SMP:-1}
TIMEOUT=${VMRUN_TIMEOUT:-600}
MACHINE=${VMRUN_MACHINE:-microvm}
BUSYBOX=${VMRUN_BUSYBOX:-/bin/busybox}

REQUIRED_MODULES="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_sed
  ip_vs_nq ip_vs_lblc ip_vs_lblcr ip_vs_mh ip_vs_fo ip_vs_ovf veth dummy bridge macvlan"
OPTIONAL_MODULES="ip_vs_twos ip_vs_ftp ip_vs_pe_sip ipip ${VMRUN_EXTRA_MODULES:-}"

log() { echo "vmrun: $*" >&2; }
die() { log "ERROR: $*"; exit 125; }

usage() { echo "usage: $0 <dir-to-copy-into-guest> <command to run inside guest...> | --kernel" >&2; exit 125; }
KERNEL_ONLY=
if [ "${1:-}" = --kernel ] && [ $# -eq 1 ]; then
  KERNEL_ONLY=1
else
  [ $# -ge 2 ] || usage
  SRC=$1; shift
  CMD="$*"
  [ -d "$SRC" ] || die "not a directory: $SRC"
fi
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
case " $("$BUSYBOX" --list | tr "\n" " ") " in *" cpio "*) ;; *) die "$BUSYBOX has no cpio applet";; esac
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"

mkdir -p "$CACHE"
CACHE=$(readlink -f "$CACHE")

# ---------------------------------------------------------------- kernel ---
resolve_kernel_pkg() {
  local p
  p=$(apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | head -n1)
  if [ -z "$p" ]; then
    p=$(apt-cache pkgnames linux-image-6.1 2>/dev/null |
        grep -E '^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$' | sort -V | tail -n1 || true)
  fi
  echo "$p"
}

fetch_kernel() {   # -> sets KDIR
  local pkg=${VMRUN_KERNEL_PKG:-}
  if [ -z "$pkg" ] && [ -z "${VMRUN_REFRESH_KERNEL:-}" ] && [ -e "$CACHE/kernel/current/ok" ]; then
    KDIR=$(readlink -f "$CACHE/kernel/current"); return
  fi
  if [ -z "$pkg" ]; then
    pkg=$(resolve_kernel_pkg)
    if [ -z "$pkg" ]; then
      log "kernel package not known to apt-cache, running apt-get update"
      apt-get update -qq >&2 || die "apt-get update failed"
      pkg=$(resolve_kernel_pkg)
    fi
    [ -n "$pkg" ] || die "cannot find a linux-image-6.1.*-amd64 package"
  fi
  KDIR=$CACHE/kernel/$pkg
  if [ ! -e "$KDIR/ok" ]; then
    log "fetching kernel package $pkg"
    rm -rf "$KDIR" "$CACHE/deb"; mkdir -p "$KDIR" "$CACHE/deb"
    ( cd "$CACHE/deb" && apt-get download "$pkg" >&2 2> >(grep -v 'Download is performed unsandboxed' >&2) ) ||
      { apt-get update -qq >&2; ( cd "$CACHE/deb" && apt-get download "$pkg" >&2 ); } ||
      die "apt-get download $pkg failed"
    local deb x kver
    deb=$(ls "$CACHE"/deb/"$pkg"_*.deb | head -n1)
    x=$CACHE/extract.$$; rm -rf "$x"; mkdir -p "$x"
    dpkg -x "$deb" "$x"
    kver=$(ls "$x/lib/modules" | head -n1)
    [ -n "$kver" ] && [ -f "$x/boot/vmlinuz-$kver" ] || die "unexpected package layout in $deb"
    cp "$x/boot/vmlinuz-$kver" "$KDIR/vmlinuz"
    cp "$x/boot/config-$kver" "$KDIR/config"
    echo "$kver" > "$KDIR/kver"
    echo "$pkg $(dpkg-deb -f "$deb" Version)" > "$KDIR/package"
    # Uncompressed ELF vmlinux: has a PVH entry note (CONFIG_PVH=y), so qemu can
    # boot it directly, skipping real-mode setup + in-guest xz decompression
    # (saves ~5 s under TCG).
    local off
    off=$(grep -abo $'\xfd7zXZ\x00' "$KDIR/vmlinuz" | head -n1 | cut -d: -f1 || true)
    if [ -n "$off" ] && grep -q '^CONFIG_PVH=y' "$KDIR/config"; then
      tail -c +$((off + 1)) "$KDIR/vmlinuz" | xz -dc > "$KDIR/vmlinux" 2>/dev/null || true
      [ "$(head -c4 "$KDIR/vmlinux" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || rm -f "$KDIR/vmlinux"
    fi
    # modules.dep: Debian's package does not ship it (depmod runs in postinst)
    local md=$x/lib/modules/$kver
    if [ ! -s "$md/modules.dep" ]; then
      if command -v depmod >/dev/null; then depmod -b "$x" "$kver"
      else "$BUSYBOX" depmod -b "$x" "$kver"; fi
    fi
    mkdir -p "$KDIR/lib/modules"
    mv "$md" "$KDIR/lib/modules/$kver"     # whole module tree, so VMRUN_EXTRA_MODULES can use anything
    rm -rf "$x"
    touch "$KDIR/ok"
  fi
  if [ -z "${VMRUN_KERNEL_PKG:-}" ]; then ln -sfn "$(basename "$KDIR")" "$CACHE/kernel/current"; fi
}

# modules.dep lookups --------------------------------------------------------
declare -A MODFILE=() MODSTATE=()
MODORDER=()
load_modules_dep() {
  local kver=$1 dep=$KDIR/lib/modules/$1/modules.dep line f n
  while IFS= read -r line; do
    f=${line%%:*}; n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
    MODFILE[$n]=$f
  done < "$dep"
}
mod_visit() {  # DFS post-order over modules.dep => dependency load order
  local n=${1//-/_} req=$2 f d line
  [ -n "${MODSTATE[$n]:-}" ] && return 0
  f=${MODFILE[$n]:-}
  if [ -z "$f" ]; then
    if grep -q "/${n}\.ko" "$KDIR/lib/modules/$KVER/modules.builtin" 2>/dev/null ||
       grep -q "/${1}\.ko" "$KDIR/lib/modules/$KVER/modules.builtin" 2>/dev/null; then
      MODSTATE[$n]=builtin; return 0
    fi
    [ "$req" = 1 ] && die "module $n not found in $KVER"
    log "note: optional module $n not available in $KVER"; MODSTATE[$n]=missing; return 0
  fi
  MODSTATE[$n]=visiting
  line=$(grep -m1 "^${f}:" "$KDIR/lib/modules/$KVER/modules.dep")
  # softdeps (e.g. libcrc32c: "pre: crc32c" -> crc32c_generic) are not in
  # modules.dep; without crc32c, libcrc32c's init fails and with it ip_vs.
  local sd pre="" post="" mode="" w
  sd=$(modinfo_field "$KDIR/lib/modules/$KVER/$f" softdep)
  for w in $sd; do
    case $w in pre:) mode=pre ;; post:) mode=post ;;
      *) if [ "$mode" = pre ]; then pre="$pre $w"; elif [ "$mode" = post ]; then post="$post $w"; fi ;;
    esac
  done
  for d in $pre; do mod_visit "$(resolve_alias "$d")" 0; done
  for d in ${line#*:}; do
    d=${d##*/}; d=${d%%.ko*}; mod_visit "$d" "$req"
  done
  MODSTATE[$n]=done
  MODORDER+=("$f")
  for d in $post; do mod_visit "$(resolve_alias "$d")" 0; done
}
modinfo_field() {  # <file.ko[.xz]> <field>
  case $1 in *.xz) xz -dc "$1" ;; *) cat "$1" ;; esac | tr '\0' '\n' | sed -n "s/^$2=//p" | head -n1
}
resolve_alias() {  # module name or alias -> module name (prefer *_generic)
  local a=${1//-/_} cands
  if [ -n "${MODFILE[$a]:-}" ]; then echo "$a"; return; fi
  cands=$(awk -v a="$1" '$1=="alias" && $2==a {print $3}' "$KDIR/lib/modules/$KVER/modules.alias" 2>/dev/null || true)
  { echo "$cands" | grep '_generic$' || echo "$cands" | head -n1; } | head -n1 | grep . || echo "$a"
}

# ------------------------------------------------------------ accelerator ---
ACCEL_APPEND=
probe_accel() {   # -> sets ACCEL_ARGS, ACCEL_DESC, ACCEL_APPEND
  local acc=${VMRUN_ACCEL:-}
  if [ -z "$acc" ] && [ -s "$CACHE/accel" ]; then acc=$(cat "$CACHE/accel"); fi
  if [ -z "$acc" ]; then
    acc=tcg
    if [ ! -w /dev/kvm ]; then
      log "no usable /dev/kvm -> TCG"
    elif [ -d /sys/module/kvm_pvm ] && [ -z "${VMRUN_PROBE_KVM:-}" ]; then
      log "host KVM is kvm_pvm (PVM: runs only PVM-enabled guest kernels; a stock Debian kernel hangs after the decompressor) -> TCG"
    else
      local cpu p=$CACHE/probe
      rm -rf "$p"; mkdir -p "$p/r/bin" "$p/r/proc"
      cp "$BUSYBOX" "$p/r/bin/busybox"
      printf '#!/bin/busybox sh\n/bin/busybox echo VMRUN-KVM-PROBE-OK\n/bin/busybox poweroff -f\n' > "$p/r/init"
      chmod 755 "$p/r/init"
      ( cd "$p/r" && find . | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null ) > "$p/initrd"
      for cpu in host max EPYC-Rome Skylake-Server qemu64 kvm64; do
        if timeout -k 2 20 qemu-system-x86_64 -accel kvm -cpu "$cpu" $(machine_args) -m 256 \
             -no-reboot -nic none -kernel "$(kernel_image)" -initrd "$p/initrd" \
             -append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 | grep -q VMRUN-KVM-PROBE-OK; then
          acc=kvm:$cpu; break
        fi
        log "KVM probe with -cpu $cpu failed"
      done
      rm -rf "$p"
    fi
    [ -n "${VMRUN_ACCEL:-}" ] || echo "$acc" > "$CACHE/accel"
  fi
  case $acc in
    kvm:*) ACCEL_ARGS="-accel kvm -cpu ${acc#kvm:}"; ACCEL_DESC="KVM, -cpu ${acc#kvm:}" ;;
    tcg)   if [ "$SMP" -gt 1 ]; then ACCEL_ARGS="-accel tcg,thread=multi -cpu max"
           else ACCEL_ARGS="-accel tcg -cpu max"; fi
           ACCEL_DESC="TCG, -cpu max"
           if [ -n "${VMRUN_ICOUNT:-}" ]; then
             # Guest time counts instructions (2^shift ns each), not the
             # host's clock; the TSC then runs at 1 GHz.
             ACCEL_ARGS="-accel tcg -icount shift=$VMRUN_ICOUNT,sleep=off -cpu max"
             ACCEL_DESC="TCG, -icount shift=$VMRUN_ICOUNT, -cpu max"
             ACCEL_APPEND="tsc_early_khz=1000000 tsc=reliable"
             return 0
           fi
           # Under TCG the guest TSC is the host TSC.  PIT-based TSC calibration
           # is flaky under TCG when the host is busy, and microvm has no
           # HPET/ACPI-PM fallback, so the kernel hangs ("Unable to calibrate
           # against PIT ... TSC unstable").  Tell the kernel the frequency.
           local khz; khz=$(host_tsc_khz)
           if [ -n "$khz" ]; then ACCEL_APPEND="tsc_early_khz=$khz tsc=reliable"
           elif [ "$MACHINE" = microvm ]; then
             log "host TSC frequency unknown -> using -M pc (has HPET/PM timer) instead of microvm"
             MACHINE=pc
           fi ;;
    *) die "bad accelerator '$acc'" ;;
  esac
}
host_tsc_khz() {
  local mhz khz
  mhz=${VMRUN_TSC_MHZ:-}
  [ -n "$mhz" ] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n1 || true)
  [ -n "$mhz" ] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n1 || true)
  if [ -n "$mhz" ]; then
    khz=$(awk -v m="$mhz" 'BEGIN{printf "%d\n", m*1000}')
    # The boot messages leave the kernel's ring buffer on a busy host:
    # remember the rate while it can still be read.
    echo "$khz" > "$CACHE/tsc_khz"
    echo "$khz"
  elif [ -s "$CACHE/tsc_khz" ]; then
    cat "$CACHE/tsc_khz"
  fi
  return 0
}
machine_args() {
  case $MACHINE in
    microvm) echo "-M microvm -nographic -serial mon:stdio" ;;
    *)       echo "-M $MACHINE -nographic" ;;
  esac
}
kernel_image() { if [ -s "$KDIR/vmlinux" ]; then echo "$KDIR/vmlinux"; else echo "$KDIR/vmlinuz"; fi; }

# ------------------------------------------------------------- initramfs ---
copy_with_libs() {  # host binary -> same path in $STAGE, plus its ldd closure
  local b=$1 l
  [ -e "$STAGE$b" ] && [ ! -L "$STAGE$b" ] && return 0
  mkdir -p "$STAGE$(dirname "$b")"; rm -f "$STAGE$b"; cp -L "$b" "$STAGE$b"
  for l in $(ldd "$b" 2>/dev/null | awk '{for(i=1;i<=NF;i++) if ($i ~ /^\//) print $i}'); do
    [ -e "$STAGE$l" ] && continue
    mkdir -p "$STAGE$(dirname "$l")"; cp -L "$l" "$STAGE$l"
  done
}

write_init() {
cat > "$STAGE/init" <<'EOF'
#!/usr/bin/busybox sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb GOKEEPALIVED_GUEST=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
KVER=$(uname -r)
for m in $(cat /etc/vmrun/modules.load); do
  insmod "/lib/modules/$KVER/$m" || echo "vmrun-init: insmod $m failed"
done
ip link set lo up
hostname vmrun
cd /work
/bin/sh -c "$(cat /etc/vmrun/cmd)" </dev/null
rc=$?
echo "===VMRUN EXIT CODE: $rc==="
sync
poweroff -f
EOF
chmod 755 "$STAGE/init"
}

strip_modsig() {  # drop the appended PKCS#7 signature (saves the RSA verify per insmod under TCG)
  local f=$1 sz siglen
  [ "$(tail -c 28 "$f")" = "~Module signature appended~" ] || return 0
  sz=$(stat -c %s "$f")
  siglen=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{print $1*16777216+$2*65536+$3*256+$4}')
  truncate -s $((sz - 28 - 12 - siglen)) "$f"
}

build_base() {  # -> sets BASE (cached base initramfs)
  local bins="/usr/sbin/ipvsadm" b key
  if [ "${VMRUN_KEEPALIVED:-1}" = 1 ] && [ -x /usr/sbin/keepalived ]; then bins="$bins /usr/sbin/keepalived"; fi
  # iproute2's ip (busybox ip cannot do "veth peer name", netns, ...)
  if [ -x /usr/bin/ip ] || [ -x /bin/ip ]; then bins="$bins $(readlink -f "$(command -v ip)")"; fi
  for b in ${VMRUN_EXTRA_BINS:-}; do bins="$bins $(command -v "$b" || echo "$b")"; done
  for b in $bins; do [ -x "$b" ] || die "binary $b not found"; done
  key=$( { echo "$VMRUN_VERSION $(sha256sum < "$SELF") $(cat "$KDIR/package")"
           echo "$REQUIRED_MODULES $OPTIONAL_MODULES ${VMRUN_STRIP_MODSIG:-0}"
           for b in "$BUSYBOX" $bins; do stat -Lc '%n %s %Y' "$b"; done; } | sha256sum | cut -c1-16)
  BASE=$CACHE/base-$key.cpio
  [ -s "$BASE" ] && return 0
  log "building base initramfs ($BASE)"
  KVER=$(cat "$KDIR/kver")
  load_modules_dep "$KVER"
  local m
  for m in $REQUIRED_MODULES; do mod_visit "$m" 1; done
  for m in $OPTIONAL_MODULES; do mod_visit "$m" 0; done

  STAGE=$CACHE/stage.$$; rm -rf "$STAGE"
  mkdir -p "$STAGE"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc/vmrun,proc,sys,dev,tmp,run,work,root,var}
  ln -s usr/bin "$STAGE/bin"; ln -s usr/sbin "$STAGE/sbin"
  ln -s usr/lib "$STAGE/lib"; ln -s usr/lib64 "$STAGE/lib64"; ln -s ../run "$STAGE/var/run"
  for b in $bins; do copy_with_libs "$b"; done
  # Debian's busybox-static ash prefers its own applets over $PATH (so "ip"
  # would always be busybox ip): make /bin/sh dash when the host has it.
  if [ -x /usr/bin/dash ]; then copy_with_libs /usr/bin/dash; ln -s dash "$STAGE/usr/bin/sh"; fi
  # glibc dlopen()s libgcc_s for pthread_cancel/unwinding
  [ -e /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 ] && cp -L /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 "$STAGE/usr/lib/x86_64-linux-gnu/" 2>/dev/null || true
  cp "$BUSYBOX" "$STAGE/usr/bin/busybox"
  for a in $("$BUSYBOX" --list); do
    [ -e "$STAGE/usr/bin/$a" ] || [ -e "$STAGE/usr/sbin/$a" ] || ln -s busybox "$STAGE/usr/bin/$a"
  done
  # the kernel's request_module() helper runs /sbin/modprobe
  for a in modprobe insmod rmmod lsmod depmod; do
    [ -e "$STAGE/usr/sbin/$a" ] || ln -s ../bin/busybox "$STAGE/usr/sbin/$a"
  done
  # kernel modules, at their usual paths, + a reduced modules.dep for busybox modprobe
  local md=$STAGE/lib/modules/$KVER f
  mkdir -p "$md"
  : > "$STAGE/etc/vmrun/modules.load"
  for f in "${MODORDER[@]}"; do
    mkdir -p "$md/$(dirname "$f")"
    case $f in
      *.ko)    cp "$KDIR/lib/modules/$KVER/$f" "$md/$f" ;;
      *.ko.xz) xz -dc "$KDIR/lib/modules/$KVER/$f" > "$md/${f%.xz}"; f=${f%.xz} ;;
      *) die "unsupported module compression: $f" ;;
    esac
    if [ "${VMRUN_STRIP_MODSIG:-0}" = 1 ]; then strip_modsig "$md/$f"; fi
    echo "$f" >> "$STAGE/etc/vmrun/modules.load"
    grep -m1 "^${f}:" "$KDIR/lib/modules/$KVER/modules.dep" >> "$md/modules.dep" || echo "$f:" >> "$md/modules.dep"
  done
  cp "$KDIR/lib/modules/$KVER/modules.builtin" "$md/"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$STAGE/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$STAGE/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' > "$STAGE/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\n' > "$STAGE/etc/nsswitch.conf"
  write_init
  ( cd "$STAGE" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null ) > "$BASE.tmp"
  mv "$BASE.tmp" "$BASE"
  # keep the 4 most recent base images (switching knobs back and forth stays cheap)
  ls -1t "$CACHE"/base-*.cpio 2>/dev/null | tail -n +5 | xargs -r rm -f
  log "base initramfs: $(du -h "$BASE" | cut -f1), ${#MODORDER[@]} modules: $(sed 's#.*/##; s#\.ko$##' "$STAGE/etc/vmrun/modules.load" 2>/dev/null | tr '\n' ' ')"
  rm -rf "$STAGE"
}

# ------------------------------------------------------------------ main ---
T0=$(date +%s.%N)
exec 8>"$CACHE/.lock"
flock 8
fetch_kernel
probe_accel
if [ -n "$KERNEL_ONLY" ]; then
  printf 'kdir=%s\nkernel=%s\nkver=%s\naccel=%s\nappend=%s\n' \
    "$KDIR" "$(kernel_image)" "$(cat "$KDIR/kver")" "$ACCEL_ARGS" "${ACCEL_APPEND:-}"
  exit 0
fi
build_base
flock -u 8; exec 8>&-

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$RUN/r/work" "$RUN/r/etc/vmrun"
cp -a "$SRC/." "$RUN/r/work/"
printf '%s\n' "$CMD" > "$RUN/r/etc/vmrun/cmd"
( cd "$RUN/r" && find . | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null ) > "$RUN/run.cpio"
cat "$BASE" "$RUN/run.cpio" > "$RUN/initrd"

T1=$(date +%s.%N)
LOGF=$RUN/console.log
# skip crypto self-tests (~0.4 s under TCG), the W+X page-table scan and the
# speculation mitigations: none of them matter for IPVS/netlink tests
FASTBOOT="cryptomgr.notests=1 rodata=off mitigations=off"
[ "${VMRUN_FASTBOOT:-1}" = 1 ] || FASTBOOT=
set +e
# shellcheck disable=SC2046
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 $ACCEL_ARGS $(machine_args) -m "$MEM" -smp "$SMP" \
  -no-reboot -nic none \
  -kernel "$(kernel_image)" -initrd "$RUN/initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 $FASTBOOT ${ACCEL_APPEND:-} ${VMRUN_APPEND:-}" </dev/null 2>&1 |
  sed -u 's/\r$//; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
  if [ "${VMRUN_QUIET:-0}" = 1 ]; then cat > "$LOGF"; else tee "$LOGF"; fi
QRC=${PIPESTATUS[0]}
set -e
T2=$(date +%s.%N)

[ -z "$(tail -c1 "$LOGF")" ] || echo >&2
RC=$(sed -n 's/.*===VMRUN EXIT CODE: \([0-9]*\)===.*/\1/p' "$LOGF" | tail -n1)
if [ -z "$RC" ]; then
  [ "$QRC" = 124 ] && log "timeout after ${TIMEOUT}s"
  log "no exit marker from guest (qemu rc=$QRC) -> 125"
  RC=125
fi
log "$(printf 'kernel %s, %s, machine %s; prep %.2fs, qemu %.2fs, total %.2fs; exit %s' \
  "$(cut -d' ' -f1,2 "$KDIR/package")" "$ACCEL_DESC" "$MACHINE" \
  "$(echo "$T1 - $T0" | bc)" "$(echo "$T2 - $T1" | bc)" "$(echo "$T2 - $T0" | bc)" "$RC")"
exit "$RC"
