#!/bin/bash
# Benchmark: merging a profile into a kubeconfig that holds 1000 contexts (goal: <= 50 ms).
# Usage: tests/bench/kubeconfig-merge.sh [BUILD_DIR] (default: ./build); prints its figures:
# in process on the text path and on the document path (the fallback), then
# whole `virtkube update-context` processes against `virtkube version` (the
# cost of starting the binary at all) and against update-context on a 2-line
# kubeconfig (profile, PKI check, locks, fsync), so the merge's own share shows.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${CONTEXTS:-1000}
runs=${RUNS:-10}

make -s -C "$build" tests/bench/bench-kubeconfig virtkube >/dev/null
tmp=$(mktemp -d /tmp/virtkube-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "load average before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
"$build/tests/bench/bench-kubeconfig" "$tmp" "$n" 20

# Whole processes (the file left by the run above: certificates embedded).
export VIRTKUBE_HOME=$tmp/home KUBECONFIG=$tmp/config
ticks=$(getconf CLK_TCK)

# measure LABEL CMD...: wall and CPU (user+sys of the children) over $runs runs
measure() {
	local label=$1 walls=() cpus=() t0 t1 c0 c1 w c
	shift
	for _ in $(seq "$runs"); do
		t0=$(date +%s%N)
		c0=$(awk '{print $16 + $17}' /proc/$$/stat)
		"$@" >/dev/null
		t1=$(date +%s%N)
		c1=$(awk '{print $16 + $17}' /proc/$$/stat)
		walls+=($(((t1 - t0) / 1000000)))
		cpus+=($(((c1 - c0) * 1000 / ticks)))
	done
	mapfile -t w < <(printf '%s\n' "${walls[@]}" | sort -n)
	mapfile -t c < <(printf '%s\n' "${cpus[@]}" | sort -n)
	echo "$label ($runs runs): wall min ${w[0]} ms, median ${w[$((runs / 2))]} ms, max ${w[$((runs - 1))]} ms;" \
		"CPU (user+sys, $((1000 / ticks)) ms ticks) median ${c[$((runs / 2))]} ms"
	median_wall=${w[$((runs / 2))]}
}

measure "virtkube version (process baseline)" "$build/virtkube" version
base=$median_wall
printf 'apiVersion: v1\nkind: Config\n' >"$tmp/tiny"
KUBECONFIG=$tmp/tiny measure "virtkube update-context, 2-line kubeconfig (the command's own work)" \
	"$build/virtkube" -p bench update-context
tiny=$median_wall
measure "virtkube update-context, $n contexts (whole process)" "$build/virtkube" -p bench update-context
echo "medians: update-context minus version $((median_wall - base)) ms; minus update-context on the 2-line file" \
	"(the merge's own share) $((median_wall - tiny)) ms"
echo "load average after: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
if command -v kubectl >/dev/null; then
	echo "kubectl reads the result: $(kubectl config get-contexts -o name | wc -l) contexts, current $(kubectl config current-context)"
fi
echo "goal: <= 50 ms per merge"
