#!/bin/bash
# bench.sh runs every benchmark of the project, each of which measures
# gokeepalived and keepalived in the same run, and prints one table of
# both figures and their ratio (gokeepalived over keepalived: below 1 is
# faster or smaller). It runs as root (namespaces, the qemu IPVS lab) and
# takes a while: BENCH_ONLY=name[,name] selects some of them. The table is
# also written to bench-table.md.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export GOKEEPALIVED_BENCH=1 IPVS_BENCH=1
BENCH_TABLE=$(mktemp "${TMPDIR:-/tmp}/bench-table.XXXXXX")
export BENCH_TABLE
trap 'rm -f "$BENCH_TABLE"' EXIT
failed=()

# selected reports whether BENCH_ONLY (default: all) names the benchmark.
selected() { case ",${BENCH_ONLY:-$1}," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

run() {
	local name=$1; shift
	selected "$name" || return 0
	rm -f "bench-$name.log"
	echo "=== $name: $*"
	if ! "$@" >"bench-$name.log" 2>&1; then
		failed+=("$name")
		echo "    FAILED (see bench-$name.log)"
	fi
}

# Every go test runs with -count=1: a cached result is an earlier run,
# not a measurement of this one.
#
# What the table was measured on: the commit (with "+changes" when the
# tree differs from it) and when the run started.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit+changes"
fi
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# config -t: cold gokeepalived -t against cold keepalived -t on one large
# file, interleaved pairs (GOKEEPALIVED_BENCH_CONFIG_PAIRS, default 9); the
# test appends its rows to the table itself.
run config   $GO test ./config -run '^TestConfigTestBench$' -v -count=1 -timeout 10m

# The IPVS benchmark runs the two daemons in the qemu guest: its rows come
# back in its log. IPVS_BENCH_STARTS and IPVS_BENCH_RELOADS set its pairs.
run ipvs     $GO test ./ipvs -run TestKernelBenchmark -v -count=1 -timeout 40m
selected ipvs && [ -s bench-ipvs.log ] && grep -o 'benchtab: .*' bench-ipvs.log | sed 's/^benchtab: //' >>"$BENCH_TABLE"

run reload   $GO test ./test/bench/reload -run TestReloadBench -v -count=1 -timeout 20m
# The checker benchmark runs in the qemu guest: its rows come back in its
# log. The daemons run in interleaved pairs of windows (GOKEEPALIVED_BENCH_PAIRS,
# 2 by default); each row gives the medians, the range of the pairs' ratios and
# the verdict of the worst pair.
run checkers $GO test ./test/bench/checkers -run TestCheckerBench -v -count=1 -timeout 80m
selected checkers && [ -s bench-checkers.log ] && grep -o 'benchtab: .*' bench-checkers.log | sed 's/^benchtab: //' >>"$BENCH_TABLE"
# Sessions kept across ECMP changes: four DR directors (lb_algo mh) behind
# a multipath route, gokeepalived with lvs_sloppy_tcp against keepalived
# with the sysctl, in interleaved pairs in the qemu guest
# (GOKEEPALIVED_BENCH_ECMP_PAIRS, 3 by default, about 13 s a run); its row
# comes back in its log.
run ecmp     $GO test ./cmd/gokeepalived -run '^TestECMPSurviveBench$' -v -count=1 -timeout 30m
selected ecmp && [ -s bench-ecmp.log ] && grep -o 'benchtab: .*' bench-ecmp.log | sed 's/^benchtab: //' >>"$BENCH_TABLE"
# VRRP: interleaved pairs on the host, about 27 minutes at the defaults
# (10 of them per implementation in the centisecond steady windows); see
# test/bench/vrrp/README.md for the GOKEEPALIVED_BENCH_* knobs. The test
# appends its rows to the table itself.
run vrrp     $GO test ./test/bench/vrrp -run TestVRRPBench -v -count=1 -timeout 45m
# BFD: detection after the peer's SIGSTOP at 3 x 50 ms and 3 x 10 ms
# (GOKEEPALIVED_BENCH_BFD_PAIRS, default 20 pairs each) and the VRRP
# takeover after SIGKILL of the master, gokeepalived with bfd_takeover
# beside keepalived without (GOKEEPALIVED_BENCH_TAKEOVER_PAIRS, default
# 20), on the host, about 7 minutes. The test appends its rows itself.
run bfd      $GO test ./test/bench/bfd -run TestBFDBench -v -count=1 -timeout 20m
# BGP: a director's health to the router's ECMP route (BIRD 2), gokeepalived's
# speaker beside keepalived's notify scripts driving a BIRD on each
# director (GOKEEPALIVED_BENCH_BGP_PAIRS, default 20), about a minute. The
# test appends its rows itself.
run bgp      $GO test ./test/bench/bgp -run TestBGPBench -v -count=1 -timeout 10m

{
	echo
	echo "Commit: $commit; benchmarks: ${BENCH_ONLY:-config,ipvs,reload,checkers,vrrp,bfd,bgp}"
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(. /etc/os-release; echo "$PRETTY_NAME"), $(keepalived -v 2>&1 | head -1)"
	echo "Run: $started to $(date -u '+%H:%M UTC'); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| measurement | gokeepalived | keepalived | ratio | goal |"
	echo "| --- | --- | --- | --- | --- |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$BENCH_TABLE"
} | tee bench-table.md
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
