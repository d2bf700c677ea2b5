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

# row appends one row to the table: measurement, gokeepalived, keepalived,
# ratio, goal.
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_TABLE"; }

run config   $GO test -run '^$' -bench ParseLarge -benchtime 3x ./config
if selected config && [ -s bench-config.log ] && line=$(grep '^BenchmarkParseLarge' bench-config.log | tail -1); then
	set -- $line
	# BenchmarkParseLarge-N runs ns/op X gokeepalived-ms/op Y keepalived-ms/op R ratio
	row "parse 1,000 instances + 2,000 x 20 real servers" "$5 ms" "$7 ms" "$(printf %.2f "$9")" \
		"faster: $(awk -v r="$9" 'BEGIN { print (r < 1) ? "met" : "not met" }')"
fi

run ipvs     $GO test ./ipvs -run TestKernelBenchmark -v -timeout 40m
if selected ipvs && [ -s bench-ipvs.log ]; then
	# Lines: NAME reconciler-ms keepalived-ms Nx runs; the ratio printed
	# there is keepalived over reconciler, the table's is the inverse.
	awk -v out="$BENCH_TABLE" '
	/start -> full table/ {
		rest = substr($0, index($0, "table") + 5); split(rest, f, " ")
		printf "IPVS 1,000 services x 10 real servers, empty to full\t%.0f ms\t%.0f ms\t%.2f\tfaster: %s\n",
			f[1], f[2], f[1] / f[2], (f[1] + 0 < f[2] + 0) ? "met" : "not met" >> out
	}
	/change one real server.s weight/ {
		rest = substr($0, index($0, "weight") + 6); split(rest, f, " ")
		printf "IPVS change of one real server in that table\t%.1f ms\t%.0f ms\t%.3f\tunder 50 ms: %s\n",
			f[1], f[2], f[1] / f[2], (f[1] + 0 < 50) ? "met" : "not met" >> out
	}
	' bench-ipvs.log
fi

run reload   $GO test ./test/bench/reload -run TestReloadBench -v -timeout 20m
# The checker benchmark runs in the qemu guest: its rows come back in its
# log. The daemons run in interleaved pairs of windows (GOKEEPALIVED_BENCH_PAIRS,
# 2 by default); each row gives the medians, the range of the pairs' ratios and
# the verdict of the worst pair.
run checkers $GO test ./test/bench/checkers -run TestCheckerBench -v -timeout 80m
selected checkers && [ -s bench-checkers.log ] && grep -o 'benchtab: .*' bench-checkers.log | sed 's/^benchtab: //' >>"$BENCH_TABLE"
run vrrp     $GO test ./test/bench/vrrp -run TestVRRPBench -v -timeout 30m

{
	echo
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(. /etc/os-release; echo "$PRETTY_NAME"), $(keepalived -v 2>&1 | head -1)"
	echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| measurement | gokeepalived | keepalived | ratio | goal |"
	echo "| --- | --- | --- | --- | --- |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$BENCH_TABLE"
} | tee bench-table.md
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
