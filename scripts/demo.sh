#!/bin/bash
# demo.sh shows gokeepalived at work in a throw-away lab: two LVS-DR
# directors running examples/dr-master.conf and examples/dr-backup.conf,
# two real servers and a client, each in a network namespace of its own
# (scripts/demo/lab.sh builds and narrates it).
#
# The lab runs inside Debian's kernel booted under qemu (test/vm/run.sh),
# which has IP Virtual Server where the host kernel may not, so that the
# client's requests really go through IPVS. Without qemu, or when the guest
# cannot boot, it runs on the host and shows the VRRP election and failover
# only.
#
# It needs root. Environment: GO (default go); DEMO_HOST=1 skips the guest.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
GO=${GO:-go}

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: the lab creates network namespaces and boots a" >&2
	echo "kernel under qemu. Run it again as root (sudo make demo)." >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gkdemo.XXXXXX")
VM="" LAB=""
cleanup() {
	trap - EXIT INT TERM
	# run.sh runs in a session of its own, so that it can be stopped
	# together with its qemu, which timeout(1) puts in a process group
	# of its own.
	if [ -n "$VM" ]; then
		pkill -TERM -s "$VM" 2>/dev/null || true
		wait "$VM" 2>/dev/null || true
	fi
	# lab.sh deletes its namespaces on its way out.
	if [ -n "$LAB" ]; then
		kill -TERM "$LAB" 2>/dev/null || true
		wait "$LAB" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "demo interrupted, cleaning up" >&2; exit 130' INT TERM

echo "gokeepalived demo: two directors share a virtual IP with VRRP and spread"
echo "a web service over two real servers with IPVS, checking them by HTTP."
echo
echo "Building a static gokeepalived ..."
(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -o "$WORK/gokeepalived" ./cmd/gokeepalived)
cp "$ROOT/examples/dr-master.conf" "$ROOT/examples/dr-backup.conf" "$ROOT/scripts/demo/lab.sh" "$WORK/"

# host_lab runs the lab here, in the background so that a signal reaches
# the trap at once rather than when the lab ends.
host_lab() {
	echo "Running the lab on this host instead: $1."
	"$WORK/lab.sh" "$WORK" &
	LAB=$!
	local rc=0
	wait "$LAB" || rc=$?
	LAB=""
	return "$rc"
}

if [ "${DEMO_HOST:-}" = 1 ]; then
	host_lab "DEMO_HOST=1"
	exit
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	host_lab "qemu-system-x86_64 is missing (scripts/deps.sh installs it), so no kernel with IPVS can be booted"
	exit
fi

echo "Booting Debian's kernel under qemu: it has IPVS, which this host's kernel"
echo "may lack. The first run downloads the kernel package; later boots take a few"
echo "seconds (more without KVM)."
# The guest's console carries the narration; its boot messages and the exit
# marker are run.sh's business, kept for when the guest fails.
mkfifo "$WORK/console"
tee "$WORK/console.log" <"$WORK/console" |
	sed -u -n -e '/^===VMRUN EXIT CODE/d' -e '/^\[ *[0-9]*\.[0-9]*\] /d' -e '/^\[1\/[0-9]\]/,$ { p; d; }' -e '/demo FAILED/p' &
filter=$!
setsid "$ROOT/test/vm/run.sh" "$WORK" "./lab.sh /work" >"$WORK/console" &
VM=$!
rc=0
wait "$VM" || rc=$?
VM=""
wait "$filter" || true
if [ "$rc" = 125 ]; then
	if grep -q '^\[1/' "$WORK/console.log"; then
		echo "demo FAILED: the guest stopped before the lab finished (timeout or crash)." >&2
		exit 1
	fi
	echo "The guest did not boot; the end of its console:" >&2
	tail -n 20 "$WORK/console.log" | sed 's/^/  /' >&2
	echo >&2
	host_lab "the kernel guest did not boot"
	exit
fi
exit "$rc"
