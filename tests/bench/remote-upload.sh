#!/bin/bash
# Benchmark: virtkube's upload of the base image to a remote libvirt host (qemu+tcp, two network namespaces)
# against `virsh vol-upload --sparse` of the same file in the same run. Prints each round's MiB/s and the
# ratio of the best rounds (goal >= 0.9).
# Usage: tests/bench/remote-upload.sh [ROUNDS]   (root; VIRTKUBE_BIN defaults to build/virtkube)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

ROUNDS=${1:-3}
VIRTKUBE_BIN=${VIRTKUBE_BIN:-$E2E_REPO_DIR/build/virtkube}
[[ -x $VIRTKUBE_BIN ]] || { echo "bench: build virtkube first (no $VIRTKUBE_BIN)" >&2; exit 1; }
e2e_require
e2e_lock

PROFILE=vkbench-r
POOL=$E2E_REMOTE_POOL
POOL_DIR=$E2E_REMOTE_POOL_DIR
E2E_PREFIX=$PROFILE
WORK=""
on_exit() {
    local rc=$?
    if [[ -n $E2E_LIBVIRTD_PID ]]; then
        e2e_cleanup_libvirt "virtkube-$PROFILE"
        e2e_remote_pool_remove
    fi
    e2e_stop_daemons
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}
e2e_remote_pool_unused
trap on_exit EXIT
WORK=$(mktemp -d /tmp/vkbench-remote.XXXXXX)
chmod 0711 "$WORK"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
e2e_remote_daemons "$WORK"
image_json=$(e2e_image) || exit 1
disk=$(dirname "$image_json")/disk.qcow2
size=$(stat -c %s "$disk")
rvirsh() { e2e_in_client virsh -q -c "$E2E_REMOTE_URI" "$@"; }
mibs() { awk -v b="$size" -v s="$1" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

best_virsh="" best_vk=""
for ((i = 1; i <= ROUNDS; i++)); do
    # virsh: the volume made first, as virtkube does, then the upload alone is timed.
    rvirsh pool-info "$POOL" >/dev/null 2>&1 || {
        rvirsh pool-define-as "$POOL" dir --target "$POOL_DIR" >/dev/null && rvirsh pool-build "$POOL" >/dev/null &&
            rvirsh pool-start "$POOL" >/dev/null
    }
    rvirsh vol-create-as "$POOL" bench.img "$size" --format raw --allocation 0 >/dev/null
    t0=$(date +%s.%N)
    rvirsh vol-upload --sparse --pool "$POOL" bench.img "$disk" || exit 1
    t_virsh=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    rvirsh vol-delete --pool "$POOL" bench.img >/dev/null

    # virtkube: the base image's upload in a start cut right after it (the kernel's upload is cut: no boot).
    VIRTKUBE_TEST_UPLOAD_CUT=kernel e2e_in_client "$VIRTKUBE_BIN" -p "$PROFILE" start --no-kubernetes \
        --network-mode isolated --image "$image_json" --accel tcg --cpus 1 --memory 1024 \
        --libvirt-uri "$E2E_REMOTE_URI" >"$WORK/start.out" 2>&1
    t_vk=$(sed -n "s/.*uploaded the base image to volume '[^']*' (\([0-9.]*\) s).*/\1/p" "$WORK/start.out")
    [[ -n $t_vk ]] || { echo "bench: no upload time in virtkube's output:" >&2; cat "$WORK/start.out" >&2; exit 1; }
    e2e_in_client "$VIRTKUBE_BIN" -p "$PROFILE" delete >/dev/null 2>&1
    for v in $(e2e_virsh vol-list "$POOL" | awk '$1 ~ /^sha256-/ {print $1}'); do
        e2e_virsh vol-delete --pool "$POOL" "$v" >/dev/null
    done
    echo "round $i: virsh vol-upload --sparse ${t_virsh}s ($(mibs "$t_virsh") MiB/s), virtkube ${t_vk}s ($(mibs "$t_vk") MiB/s)"
    [[ -z $best_virsh ]] || awk -v a="$t_virsh" -v b="$best_virsh" 'BEGIN { exit !(a < b) }' && best_virsh=$t_virsh
    [[ -z $best_vk ]] || awk -v a="$t_vk" -v b="$best_vk" 'BEGIN { exit !(a < b) }' && best_vk=$t_vk
done
echo "file: $disk ($((size / 1048576)) MiB, qcow2)"
echo "best: virsh $(mibs "$best_virsh") MiB/s, virtkube $(mibs "$best_vk") MiB/s"
awk -v v="$best_virsh" -v k="$best_vk" 'BEGIN { printf "ratio virtkube/virsh: %.2f (goal >= 0.9)\n", v / k }'
