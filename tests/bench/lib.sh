# shellcheck shell=bash
# For the benchmarks that boot guests (tests/bench/{snapshot,start-nokube,start-nodes,mounts}.sh): the e2e library,
# and bench_setup, which takes the e2e queue lock, starts libvirtd in a netns, builds or finds the debian-test image
# and makes a scratch VIRTKUBE_HOME. Source it, then call bench_setup PROFILE.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

VIRTKUBE_BIN=${VIRTKUBE_BIN:-$E2E_REPO_DIR/build/virtkube}
WORK=""

_bench_on_exit() {
    local rc=$?
    [[ -n $E2E_LIBVIRTD_PID ]] && e2e_cleanup_libvirt "virtkube-$PROFILE"
    e2e_stop_daemons
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}

# bench_setup PROFILE: sets PROFILE, WORK (a scratch directory, removed at exit), image_json (the debian-test
# image) and VIRTKUBE_HOME; defines vk (virtkube -p PROFILE in the netns), now and secs A B (B - A, 2 decimals).
bench_setup() {
    PROFILE=${1:?bench_setup needs a profile name}
    [[ -x $VIRTKUBE_BIN ]] || { echo "bench: build virtkube first (no $VIRTKUBE_BIN)" >&2; exit 1; }
    e2e_require
    e2e_lock
    E2E_PREFIX=$PROFILE
    trap _bench_on_exit EXIT
    e2e_start_daemons
    # shellcheck disable=SC2034 # read by the benchmark
    image_json=$(e2e_image) || exit 1
    WORK=$(mktemp -d /tmp/vkbench.XXXXXX)
    chmod 0711 "$WORK"
    export VIRTKUBE_HOME=$WORK/home
    unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
}

vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
