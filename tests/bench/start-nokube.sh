#!/bin/bash
# Benchmark: `virtkube start --no-kubernetes` under TCG on a real libvirtd+qemu in a netns with the debian-test guest.
# Prints the time from start to SSH answering, the first SSH login, the host-side part (virtkube's own work before
# the domain starts, libvirt's domain start) and the same for a restart. Goals: SSH <= 45 s, host-side <= 0.3 s.
# Usage: tests/bench/start-nokube.sh [ROUNDS]   (root; VIRTKUBE_BIN defaults to build/virtkube)
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-1}
bench_setup vkbench-start

# timed_start LABEL ARGS...: runs start -v, prints its figures and the first login after it returned.
timed_start() {
    local label=$1 t0 t1 t2 timing
    shift
    t0=$(now)
    vk start --no-kubernetes --accel "$E2E_ACCEL" -v "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    t1=$(now)
    vk ssh -- true || { echo "bench: first ssh login failed" >&2; exit 1; }
    t2=$(now)
    timing=$(sed -n 's/^virtkube: timing: //p' "$WORK/err")
    printf '%-8s start->SSH banner %6s s | first login +%5s s | %s | load %s\n' "$label" "$(secs "$t0" "$t1")" \
        "$(secs "$t1" "$t2")" "$timing" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "bench: virtkube start --no-kubernetes, TCG, 1 vCPU, 1024 MiB, isolated network, $(nproc) host cores"
for ((r = 1; r <= ROUNDS; r++)); do
    timed_start "first" --network-mode isolated --image "$image_json" --cpus 1 --memory 1024
    vk stop >/dev/null 2>&1
    timed_start "restart"
    vk delete >/dev/null 2>&1
done
echo "goals: start->SSH <= 45 s; host-side <= 0.3 s (host-side = virtkube's work before libvirt starts the domain)"
