#!/bin/bash
# Benchmark: `virtkube start --nodes 3 --no-kubernetes` against `--nodes 1` under TCG, on a real libvirtd+qemu in a
# netns with the debian-test guest: the time from start until every node's SSH answers (the sum of the steps up to
# and including "boot" in `start -v`'s timing line; the nodes boot in parallel). Prints both and their ratio.
# Goal: ratio <= 1.6 on a 2-core host.
# Usage: tests/bench/start-nodes.sh [ROUNDS]   (root; VIRTKUBE_BIN defaults to build/virtkube)
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-1}
bench_setup vkbench-nodes

# to_ssh NODES: start a new profile with NODES nodes; prints "TOTAL DOMAIN BOOT": the seconds until every
# node's SSH answered (the steps up to and including boot), of which the domain step (libvirt's defines) and
# the boot step (every domain started, then every SSH waited for).
to_ssh() {
    local timing
    vk start --nodes "$1" --no-kubernetes --network-mode isolated --image "$image_json" --accel "$E2E_ACCEL" \
        --cpus 1 --memory 768 -v >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    timing=$(sed -n 's/^virtkube: timing: .*steps (s): //p' "$WORK/err")
    vk delete >/dev/null 2>&1
    # "profile 0.001, preflight 0.2, ..., domain 1.2, boot 41.3, kubeconfig ...": the sum up to boot
    awk -v RS=', ' '{ sum += $2 } $1 == "domain" { d = $2 } $1 == "boot" { printf "%.2f %.2f %.2f\n", sum, d, $2; exit }' \
        <<<"$timing"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

echo "bench: start --no-kubernetes to all-SSH, TCG, 1 vCPU, 768 MiB per node, isolated network, $(nproc) host cores"
for ((r = 1; r <= ROUNDS; r++)); do
    read -r one one_domain one_boot <<<"$(to_ssh 1)"
    read -r three three_domain three_boot <<<"$(to_ssh 3)"
    printf 'round %d: to all-SSH --nodes 1 %6s s, --nodes 3 %6s s: ratio %s (goal <= 1.6) | load %s\n' "$r" "$one" \
        "$three" "$(ratio "$one" "$three")" "$(cut -d' ' -f1 /proc/loadavg)"
    printf '         of which domain (defines) %s s vs %s s: ratio %s; boot (start all, SSH on all) %s s vs %s s: ratio %s\n' \
        "$one_domain" "$three_domain" "$(ratio "$one_domain" "$three_domain")" "$one_boot" "$three_boot" \
        "$(ratio "$one_boot" "$three_boot")"
done
