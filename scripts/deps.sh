#!/bin/sh
# deps.sh installs the Debian packages the tests need when they are missing.
# It is idempotent and cheap when everything is already there.
set -eu

PKGS="keepalived ipvsadm qemu-system-x86 busybox-static iproute2 iputils-ping
  tcpdump dash xz-utils bc cpio kmod procps psmisc nftables openssl dbus
  prometheus snmpd snmp snmptrapd bird2 frr
  dpkg-dev debhelper gcc libc6-dev lintian mmdebstrap"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 0
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# keepalived's, prometheus's, net-snmp's, BIRD's and FRR's packages start
# services on install; tests run their own.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
if command -v systemctl >/dev/null 2>&1; then
	for s in keepalived prometheus snmpd snmptrapd bird frr; do systemctl stop "$s" 2>/dev/null || true; done
	systemctl disable frr 2>/dev/null || true
fi
