#!/bin/bash
# Benchmark: pull of a multi-layer image from a loopback registry (TLS, Debian's docker-registry) into an OCI archive,
# virtkube's puller vs `skopeo copy docker://... oci-archive:...` in the same run (goal: ratio >= 0.9).
# Usage: tests/bench/image-pull.sh [BUILD_DIR] (default ./build); env LAYERS (8), LAYER_MIB (16), ROUNDS (5).
# Each round starts from an empty cache for both; who goes first alternates. Prints its figures.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
layers=${LAYERS:-8}
layer_mib=${LAYER_MIB:-16}
rounds=${ROUNDS:-5}

make -s -C "$build" tests/bench/image-pull >/dev/null
tmp=$(mktemp -d /tmp/virtkube-bench-pull.XXXXXX)
cleanup() {
	"$src/tests/fakes/registry-stack.sh" stop "$tmp/stack"
	rm -rf "$tmp"
}
trap cleanup EXIT

"$src/tests/fakes/registry-stack.sh" start "$tmp/stack" --layers "$layers" --layer-size $((layer_mib * 1024 * 1024))
# shellcheck disable=SC1091
. "$tmp/stack/env"
ref="$ANON/test/multi:1"
echo "image: $ref, $((layers + 1)) gzip layers of $layer_mib MiB (incompressible) from Debian's docker-registry over TLS"
echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }
skopeo_s=()
vk_s=()
for r in $(seq "$rounds"); do
	for who in skopeo virtkube; do
		[ $((r % 2)) = 0 ] && who=$([ "$who" = skopeo ] && echo virtkube || echo skopeo)
		rm -rf "${tmp:?}/home" "${tmp:?}/skopeo.tar"
		if [ "$who" = skopeo ]; then
			t0=$(date +%s%N)
			skopeo copy -q --src-cert-dir "$tmp/stack/skopeo-certs" "docker://$ref" "oci-archive:$tmp/skopeo.tar:multi"
			t1=$(date +%s%N)
			skopeo_s+=("$(secs "$t0" "$t1")")
		else
			t0=$(date +%s%N)
			res=$("$build/tests/bench/image-pull" "$tmp/home" "$CA" -- "$ref")
			t1=$(date +%s%N)
			vk_s+=("$(secs "$t0" "$t1")")
			bytes=${res%% *}
		fi
	done
	echo "round $r: skopeo ${skopeo_s[-1]} s, virtkube ${vk_s[-1]} s ($bytes bytes pulled, verified and archived)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ms=$(median "${skopeo_s[@]}")
mv=$(median "${vk_s[@]}")
echo "median: skopeo $ms s, virtkube $mv s, ratio (skopeo time / virtkube time) $(awk -v a="$ms" -v b="$mv" 'BEGIN {printf "%.2f", a / b}') (goal >= 0.9)"
echo "host load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
