#!/bin/bash
# Benchmark: how long `virtkube doctor` (start's preflight) takes, as a ratio against libvirt's own host
# checker `virt-host-validate qemu`. The issue's goal: the preflight in about a second.
# Usage: tests/bench/doctor.sh [ROUNDS] [URI]   (default 20 rounds on test:///default; VIRTKUBE_BIN defaults to build/virtkube)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-20}
uri=${2:-test:///default}
bin=${VIRTKUBE_BIN:-$top/build/virtkube}
[[ -x $bin ]] || { echo "bench: build virtkube first (no $bin)" >&2; exit 1; }
peer=$(command -v virt-host-validate) || { echo "bench: virt-host-validate not installed (libvirt-clients)" >&2; exit 77; }
home=$(mktemp -d /tmp/vkbench-doctor.XXXXXX)
trap 'rm -rf "$home"' EXIT

# median_ms CMD...: runs CMD $rounds times, prints the median wall time in milliseconds.
median_ms() {
	local i t0 t1 times=()
	for ((i = 0; i < rounds; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.1f\n", a[int((NR + 1) / 2)] / 1000}'
}

ours=$(VIRTKUBE_HOME=$home median_ms "$bin" doctor --libvirt-uri "$uri")
theirs=$(median_ms "$peer" qemu)
echo "virtkube doctor --libvirt-uri $uri: median $ours ms over $rounds runs"
echo "virt-host-validate qemu:             median $theirs ms over $rounds runs"
awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "ratio virtkube/virt-host-validate: %.2f\n", a / b}'
