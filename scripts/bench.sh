#!/bin/bash
# bench.sh runs every benchmark of the project, each of which measures
# gokeepalived and keepalived in the same run and prints both figures side
# by side with their ratio. It runs as root (namespaces, the qemu IPVS
# lab) and takes a while: BENCH_ONLY=name[,name] selects some of them.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export GOKEEPALIVED_BENCH=1 IPVS_BENCH=1

run() {
	local name=$1; shift
	case ",${BENCH_ONLY:-$name}," in *",$name,"*) ;; *) return 0 ;; esac
	echo
	echo "=== $name: $*"
	"$@" 2>&1 | tee "bench-$name.log" | grep -E '^(Benchmark|\s*\||[a-zA-Z].*(ratio|median|keepalived|gokeepalived))' || true
	echo "(full output in bench-$name.log)"
}

run config   $GO test -run '^$' -bench ParseLarge -benchtime 3x ./config
run checks   $GO test -run '^$' -bench Scheduler10k -benchtime 1x ./check
run ipvs     $GO test ./ipvs -run TestKernelBenchmark -v -timeout 40m
run checkers $GO test ./test/bench/checkers -run TestCheckerBench -v -timeout 45m
run vrrp     $GO test ./test/bench/vrrp -v -timeout 30m
