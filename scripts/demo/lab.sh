#!/bin/sh
# lab.sh runs the demo lab: two directors running gokeepalived with
# examples/dr-master.conf and examples/dr-backup.conf, two real servers and
# one client, each in a network namespace of its own, joined by a bridge
# that lives in a namespace too. It narrates what happens and exits non-zero
# as soon as a step does not happen as it should. Everything it creates is
# removed on any exit.
#
# Usage: lab.sh DIR
#   DIR holds gokeepalived, dr-master.conf and dr-backup.conf.
#
# scripts/demo.sh runs it inside Debian's kernel booted under qemu, which
# has IPVS. Where the kernel has no IPVS it still shows the election and the
# failover, and says why it stops there.
#
# It needs only POSIX sh, iproute2's ip and busybox (httpd, wget, awk,
# sysctl), so that the small guest can run it.
set -eu

DIR=$(cd "${1:?usage: lab.sh DIR}" && pwd)
BIN=$DIR/gokeepalived
VIP=192.168.42.136
PORT=8080
URL=http://$VIP:$PORT/index.html
# Ours are the only namespaces in the guest, but on a shared host several
# runs, or the leftovers of a killed one, must not collide.
P=gkdemo$$
RUN=$(mktemp -d "${TMPDIR:-/tmp}/gkdemo.XXXXXX")
IPVS=0
STEPS=6

say() { printf '%s\n' "$*"; }
step() { say; say "[$1/$STEPS] $2"; }
detail() { printf '      %s\n' "$*"; }
fail() {
	say
	say "demo FAILED: $*" >&2
	for f in "$RUN"/*.log; do
		[ -s "$f" ] || continue
		say "--- last lines of $(basename "$f" .log)'s log:" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

# now prints the seconds since boot with centisecond resolution, which is
# what busybox offers; the guest has no date +%N.
now() { awk '{ print $1 }' /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	for ns in dir1 dir2 rs1 rs2 client sw; do
		# Processes left in a namespace would keep it alive after
		# ip netns del; ip netns pids finds them.
		for pid in $(ip netns pids "$P-$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null || true
		done
		ip netns del "$P-$ns" 2>/dev/null || true
	done
	rm -rf "$RUN"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# add_host NAME CIDR: a namespace with eth0 on the lab's bridge.
add_host() {
	ip netns add "$P-$1"
	ip link add "$P-t" type veth peer name "$P-p"
	ip link set "$P-t" netns "$P-$1"
	ip link set "$P-p" netns "$P-sw"
	ip -n "$P-$1" link set "$P-t" name eth0
	ip -n "$P-sw" link set "$P-p" name "$1"
	ip -n "$P-sw" link set "$1" master br0 up
	ip -n "$P-$1" link set lo up
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$1" addr add "$2" dev eth0
}

# has_vip NS: the VIP is on NS's eth0.
has_vip() { ip -n "$P-$1" -4 -o addr show dev eth0 | grep -q " $VIP/"; }

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	limit=$1; shift
	i=0
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -lt $((limit * 10)) ] || return 1
		sleep 0.1
	done
}

# fetch: one HTTP request from the client to the VIP; prints the body.
fetch() { in_ns client timeout 3 busybox wget -q -O - "$URL" 2>/dev/null; }

# requests N: N requests from the client, one new connection each.
requests() {
	n=$1 got=""
	i=0
	while [ "$i" -lt "$n" ]; do
		body=$(fetch) || fail "request $((i + 1)) of $n to $URL got no answer"
		got="$got ${body%% *}"
		i=$((i + 1))
	done
	detail "$n requests to $URL answered by:$got"
	ANSWERS=$got
}

# pool NS: the real servers in NS's IPVS table for the VIP.
pool() { in_ns "$1" ipvsadm -Ln -t "$VIP:$PORT" 2>/dev/null | awk '$1 == "->" && $2 != "RemoteAddress:Port" { printf " %s", $2 }'; }

# pool_is NS LIST: NS's pool is exactly LIST, as pool prints it.
pool_is() { [ "$(pool "$1")" = "$2" ]; }

# alternates: every answer in $ANSWERS differs from the one before, as
# round robin over two real servers gives.
alternates() {
	prev=""
	for a in $ANSWERS; do
		[ "$a" != "$prev" ] || return 1
		prev=$a
	done
}

show_ipvs() {
	detail "ipvsadm -Ln on $1:"
	in_ns "$1" ipvsadm -Ln | sed 's/^/        /'
}

start_daemon() { # NAME CONF
	mkdir -p "$RUN/$1"
	# Not through in_ns: $! must be the daemon itself (ip netns exec
	# execs it), not a subshell that would survive a kill.
	ip netns exec "$P-$1" "$BIN" -n -l -G -D -f "$DIR/$2" \
		-p "$RUN/$1/keepalived.pid" -r "$RUN/$1/vrrp.pid" -c "$RUN/$1/checkers.pid" \
		>"$RUN/$1.log" 2>&1 &
	echo $! >"$RUN/$1.pid"
}

start_httpd() { # NAME ADDR
	mkdir -p "$RUN/$1-www"
	printf '%s\n' "$1 ($2)" >"$RUN/$1-www/index.html"
	ip netns exec "$P-$1" busybox httpd -f -p "$PORT" -h "$RUN/$1-www" &
	echo $! >"$RUN/$1-httpd.pid"
}

[ "$(id -u)" = 0 ] || fail "the lab needs root, for network namespaces"
for f in "$BIN" "$DIR/dr-master.conf" "$DIR/dr-backup.conf"; do
	[ -e "$f" ] || fail "$f is missing"
done
modprobe ip_vs 2>/dev/null || true
[ -e /proc/net/ip_vs ] && IPVS=1

# ----------------------------------------------------------------------------
step 1 "Building the lab: one Ethernet segment, five machines (network namespaces)"
ip netns add "$P-sw"
ip -n "$P-sw" link set lo up
ip -n "$P-sw" link add br0 type bridge stp_state 0 forward_delay 0
# Multicast snooping would make the VRRP adverts depend on IGMP timing.
ip -n "$P-sw" link set br0 type bridge mcast_snooping 0
ip -n "$P-sw" link set br0 up
add_host dir1 192.168.42.11/24
add_host dir2 192.168.42.12/24
add_host rs1 192.168.42.137/24
add_host rs2 192.168.42.138/24
add_host client 192.168.42.100/24
for rs in rs1 rs2; do
	# Direct routing: the real server owns the VIP, so it accepts the
	# packets the director forwards unchanged, but must never answer ARP
	# for it, or clients would bypass the director.
	ip -n "$P-$rs" addr add "$VIP/32" dev lo
	in_ns "$rs" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
done
start_httpd rs1 192.168.42.137
start_httpd rs2 192.168.42.138
detail "dir1   192.168.42.11   director, gokeepalived -f dr-master.conf (priority 150)"
detail "dir2   192.168.42.12   director, gokeepalived -f dr-backup.conf (priority 100)"
detail "rs1    192.168.42.137  real server, HTTP on :$PORT, $VIP on lo"
detail "rs2    192.168.42.138  real server, HTTP on :$PORT, $VIP on lo"
detail "client 192.168.42.100"
detail "The configurations are examples/dr-*.conf unchanged: every machine's"
detail "link is called eth0, as they expect."
wait_for 5 in_ns client timeout 1 busybox wget -q -O /dev/null "http://192.168.42.137:$PORT/index.html" ||
	fail "rs1's HTTP server does not answer"
wait_for 5 in_ns client timeout 1 busybox wget -q -O /dev/null "http://192.168.42.138:$PORT/index.html" ||
	fail "rs2's HTTP server does not answer"

# ----------------------------------------------------------------------------
step 2 "Two directors elect a master (VRRP, virtual_router_id 42, advert_int 1)"
t0=$(now)
start_daemon dir1 dr-master.conf
start_daemon dir2 dr-backup.conf
wait_for 15 has_vip dir1 || fail "dir1 did not take $VIP within 15 s"
t1=$(now)
sleep 1
has_vip dir2 && fail "both directors hold $VIP"
detail "Both start as backup and listen. dir1 hears no master for 3 x advert_int"
detail "+ skew = $(awk 'BEGIN { printf "%.2f", 3 + (256 - 150) / 256 }') s and becomes master. dir2 hears dir1's adverts, of a"
detail "higher priority than its own (150 > 100), and stays backup."
detail "dir1 holds $VIP $(elapsed "$t0" "$t1") s after it was started, its start-up included."
detail "What they logged (keepalived's own wording):"
grep -h "(VI_WEB) Entering\|(VI_WEB) Receive" "$RUN/dir1.log" | sed 's/^/        dir1: /' | head -n 3
grep -h "(VI_WEB) Entering" "$RUN/dir2.log" | sed 's/^/        dir2: /' | head -n 1

# ----------------------------------------------------------------------------
if [ "$IPVS" = 1 ]; then
	step 3 "The client reaches the service at $VIP:$PORT through IPVS"
	detail "The master's health checks find both real servers up (HTTP_GET /index.html)."
	wait_for 20 pool_is dir1 " 192.168.42.137:$PORT 192.168.42.138:$PORT" ||
		fail "dir1's IPVS table does not list both real servers:$(pool dir1)"
	show_ipvs dir1
	requests 6
	alternates || fail "round robin should have alternated between the real servers, got:$ANSWERS"
	detail "lb_algo rr: new connections go to rs1 and rs2 in turn. In direct routing"
	detail "the real servers answer the client themselves, from the VIP."
else
	step 3 "The client and IPVS: skipped"
	detail "This kernel has no IPVS (no /proc/net/ip_vs), so the directors cannot"
	detail "forward to the real servers. The rest shows the VRRP failover only."
fi

# ----------------------------------------------------------------------------
step 4 "The master dies: dir1's gokeepalived is killed with SIGKILL"
detail "SIGKILL leaves no chance to send a goodbye advert: dir2 must notice the"
detail "silence. Its cable is pulled too, as when a machine loses power."
# The backup's takeover is an address event: stamping it as ip monitor
# reports it keeps a polling interval out of the measurement.
ip -n "$P-dir2" -4 monitor address 2>/dev/null | while read -r line; do
	case $line in
	*" $VIP/"*) now >"$RUN/takeover.tmp" && mv "$RUN/takeover.tmp" "$RUN/takeover" && break ;;
	esac
done &
sleep 0.5
tk=$(now)
kill -9 "$(cat "$RUN/dir1.pid")"
ip -n "$P-sw" link set dir1 down
takeover=""
i=0
while [ "$i" -lt 150 ]; do
	if [ -s "$RUN/takeover" ]; then
		takeover=$(cat "$RUN/takeover")
		break
	fi
	sleep 0.05
	i=$((i + 1))
done
[ -n "$takeover" ] && has_vip dir2 || fail "dir2 did not take $VIP over within 7.5 s"
# RFC 3768 6.1: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time,
# Skew_Time = (256 - Priority) / 256.
bound=$(awk 'BEGIN { printf "%.2f", 3 * 1 + (256 - 100) / 256 }')
took=$(elapsed "$tk" "$takeover")
detail "dir2 took over the VIP in $took s (bound: 3 x advert_int + skew = $bound s;"
detail "measured from the kill to the address appearing, to 0.01 s)."
if awk -v t="$took" -v b="$bound" 'BEGIN { exit !(t > b + 0.1) }'; then
	detail "That is over the bound: this machine is too busy to keep VRRP's timers."
fi
grep -h "(VI_WEB) Receive\|(VI_WEB) Entering MASTER\|gratuitous ARPs" "$RUN/dir2.log" | sed 's/^/        dir2: /' | head -n 3
if [ "$IPVS" = 1 ]; then
	# dir2 announces the move with gratuitous ARP: the client sends to
	# its MAC from now on, and its own IPVS table is already complete,
	# since the backup runs the health checks too.
	requests 4
	alternates || fail "after the failover rs1 and rs2 should answer in turn, got:$ANSWERS"
	detail "The client never changed anything: the same address now leads to dir2."
fi

# ----------------------------------------------------------------------------
if [ "$IPVS" = 1 ]; then
	step 5 "A real server fails: rs2's HTTP server is stopped"
	detail "HTTP_GET: delay_loop 6, connect_timeout 3, retry 3, delay_before_retry 3."
	ts=$(now)
	kill "$(cat "$RUN/rs2-httpd.pid")"
	i=0 gone=""
	while [ "$i" -lt 300 ]; do
		case "$(pool dir2)" in
		" 192.168.42.137:$PORT") gone=$(now) && break ;;
		*192.168.42.138*) ;;
		*) fail "dir2's pool lost more than rs2:$(pool dir2)" ;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$gone" ] || fail "rs2 still in dir2's pool 30 s after its server stopped"
	detail "dir2 took rs2 out of the pool $(elapsed "$ts" "$gone") s after it stopped (bound: delay_loop"
	detail "+ retry x delay_before_retry = 15 s, and a refused connection fails at once)."
	grep -h "192.168.42.138" "$RUN/dir2.log" | tail -n 2 | sed 's/^/        dir2: /'
	show_ipvs dir2
	requests 4
	case $ANSWERS in
	*rs2*) fail "rs2 still answers after leaving the pool:$ANSWERS" ;;
	esac
	detail "Every new connection now goes to rs1. Until rs2 left the pool, connections"
	detail "scheduled to it were refused: the pool follows the checks, not the requests."
else
	step 5 "A real server fails: skipped"
	detail "Without IPVS there is no pool to take it out of."
fi

# ----------------------------------------------------------------------------
step 6 "Cleaning up: stopping the daemons and deleting the namespaces"
pid=$(cat "$RUN/dir2.pid")
kill -TERM "$pid"
# A watchdog, since wait has no timeout of its own.
(sleep 10 && kill -9 "$pid") 2>/dev/null &
dog=$!
wait "$pid" || rc=$?
kill "$dog" 2>/dev/null || true
[ "${rc:-0}" = 0 ] || fail "dir2's gokeepalived exited with status $rc after SIGTERM"
has_vip dir2 && fail "dir2 kept $VIP after SIGTERM"
detail "dir2 gave the VIP back on SIGTERM, as keepalived does."
say
if [ "$IPVS" = 1 ]; then
	say "demo finished: election, failover and health checks all behaved."
else
	say "demo finished: election and failover behaved; the load balancing itself"
	say "needs a kernel with IPVS (make demo boots one under qemu)."
fi
