#!/bin/bash
# Benchmark: merging a profile into a kubeconfig that holds 1000 contexts (goal: <= 50 ms).
# Usage: tests/bench/kubeconfig-merge.sh [BUILD_DIR] (default: ./build); prints its figures.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${CONTEXTS:-1000}

make -s -C "$build" tests/bench/bench-kubeconfig virtkube >/dev/null
tmp=$(mktemp -d /tmp/virtkube-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$build/tests/bench/bench-kubeconfig" "$tmp" "$n" 20
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"

# The same through the binary: a whole `virtkube update-context` process
# (the file left by the last run above: certificates embedded).
export VIRTKUBE_HOME=$tmp/home KUBECONFIG=$tmp/config
walls=()
cpus=()
for _ in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(date +%s%N)
	c0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
	"$build/virtkube" -p bench update-context >/dev/null
	t1=$(date +%s%N)
	c1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
	walls+=($(((t1 - t0) / 1000000)))
	cpus+=($(((c1 - c0) * 1000 / $(getconf CLK_TCK))))
done
mapfile -t w < <(printf '%s\n' "${walls[@]}" | sort -n)
mapfile -t c < <(printf '%s\n' "${cpus[@]}" | sort -n)
echo "virtkube update-context (whole process, 10 runs): wall min ${w[0]} ms, median ${w[5]} ms, max ${w[9]} ms;" \
	"CPU (user+sys, 10 ms ticks) median ${c[5]} ms"
if command -v kubectl >/dev/null; then
	echo "kubectl reads the result: $(kubectl config get-contexts -o name | wc -l) contexts, current $(kubectl config current-context)"
fi
echo "goal: <= 50 ms per merge"
