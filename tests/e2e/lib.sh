# shellcheck shell=bash
# Helpers sourced by the e2e tests: a private libvirtd + virtlogd in a network namespace, cleanup, the test image.
#
# Typical use:
#   . "$(dirname "$0")/lib.sh"
#   e2e_require
#   e2e_lock
#   E2E_PREFIX=vke2e-mytest-
#   trap e2e_stop_daemons EXIT
#   e2e_start_daemons
#   image_json=$(e2e_image)
#   ... virsh / virtkube against qemu:///system; guest IPs only via e2e_in_ns ...
#
# The daemons run inside a network namespace this file creates, so bridges, dnsmasq, taps and guest
# addresses exist only there: no test traffic can leave the machine. Only isolated libvirt networks
# (no <forward>) may be defined, and libvirt's `default` network is never started.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO_DIR=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_URI=qemu:///system
E2E_LOCK_FILE=${E2E_LOCK_FILE:-/tmp/virtkube-e2e.lock}
E2E_LOCK_TIMEOUT=${E2E_LOCK_TIMEOUT:-1800}
# Where e2e_image publishes the image when its build directory cannot be reached by libvirt-qemu.
E2E_PUBLIC_IMAGE_DIR=${E2E_PUBLIC_IMAGE_DIR:-/var/lib/virtkube-e2e/debian-test}
# Names starting with this are the test's own domains/networks/pools; e2e_stop_daemons removes them.
E2E_PREFIX=${E2E_PREFIX:-vke2e-}
# The accelerator the e2e starts ask for: tcg, unless VIRTKUBE_E2E_ACCEL names another (kvm, or
# auto) on a host where KVM is proven to run the guest. A /dev/kvm can exist and be unusable
# (mode 0600 root:root with qemu as libvirt-qemu, or a PVM module that runs no stock kernel).
# shellcheck disable=SC2034 # used by the tests that source this file
E2E_ACCEL=${VIRTKUBE_E2E_ACCEL:-tcg}
E2E_NETNS=""
E2E_STATE_DIR=""
E2E_LIBVIRTD_PID=""
E2E_VIRTLOGD_PID=""
E2E_REGISTRY_PID=""
# Optional, set before e2e_start_daemons: a libvirtd config file (libvirtd then runs with --listen -f
# FILE, for a test that reaches it over TCP), and a function run once the namespace exists and before
# the daemons start (to give the namespace the address that config listens on).
E2E_LIBVIRTD_CONF=${E2E_LIBVIRTD_CONF:-}
E2E_NETNS_HOOK=${E2E_NETNS_HOOK:-}
# The registry e2e_registry_start runs: plain http on the loopback of the test's namespace.
E2E_REGISTRY=127.0.0.1:5000

# ---- TAP helpers (every e2e test) -----------------------------------------
# run CMD...: stdout in $out, stderr in $err, exit code in $rc, seconds in
# $secs; needs $WORK (the test's scratch directory).
tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() {
    tap_n=$((tap_n + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}
# shellcheck disable=SC2034 # out, rc, err and secs are for the caller
run() {
    local t0=$SECONDS
    out=$("$@" 2>"$WORK/stderr")
    rc=$?
    err=$(cat "$WORK/stderr")
    secs=$((SECONDS - t0))
}
expect_rc() {
    if [[ $rc == "$1" ]]; then ok "$2"; else not_ok "$2" "exit $rc, want $1" "stdout: $out" "stderr: $err"; fi
}
expect() { # DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d" "failed: $*" "stdout: $out" "stderr: $err"; fi
}

e2e_log() { echo "e2e: $*" >&2; }

e2e_skip() {
    echo "SKIP: $*"
    exit 77
}

e2e_die() {
    echo "e2e: FAIL: $*" >&2
    exit 1
}

# Skips (exit 77) when the machine cannot run a real libvirtd + qemu.
e2e_require() {
    [[ $(id -u) -eq 0 ]] || e2e_skip "e2e tests need root (they run their own libvirtd in a network namespace)"
    local tool
    for tool in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img ip ssh flock; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool not installed"
    done
    id libvirt-qemu >/dev/null 2>&1 || e2e_skip "no libvirt-qemu user (libvirt-daemon-system not installed)"
    ip netns list >/dev/null 2>&1 || e2e_skip "cannot use network namespaces here"
}

# Only one libvirtd can run on a machine (shared /run/libvirt): concurrent test runs queue here.
e2e_lock() {
    exec {E2E_LOCK_FD}>>"$E2E_LOCK_FILE"
    if ! flock -n "$E2E_LOCK_FD"; then
        e2e_log "waiting for $E2E_LOCK_FILE (another e2e run holds it, up to ${E2E_LOCK_TIMEOUT}s)"
        flock -w "$E2E_LOCK_TIMEOUT" "$E2E_LOCK_FD" ||
            e2e_die "gave up waiting ${E2E_LOCK_TIMEOUT}s for $E2E_LOCK_FILE"
    fi
}

e2e_in_ns() {
    [[ -n $E2E_NETNS ]] || e2e_die "e2e_in_ns: no namespace (call e2e_start_daemons first)"
    ip netns exec "$E2E_NETNS" "$@"
}

# e2e_registry_start DIR: Debian's docker-registry (the CNCF distribution registry) on $E2E_REGISTRY
# inside the test's namespace, storing under DIR; e2e_stop_daemons stops it. Skips (77) without it.
e2e_registry_start() {
    local dir=${1:?e2e_registry_start needs a directory} i
    command -v docker-registry >/dev/null || e2e_skip "docker-registry is not installed (apt-get install docker-registry)"
    mkdir -p "$dir"
    printf '%s\n' "version: 0.1" "log:" "  level: warn" "storage:" "  filesystem:" "    rootdirectory: $dir/storage" \
        "http:" "  addr: $E2E_REGISTRY" >"$dir/registry.yml"
    e2e_in_ns docker-registry serve "$dir/registry.yml" </dev/null >"$dir/registry.log" 2>&1 &
    E2E_REGISTRY_PID=$!
    for ((i = 0; i < 100; i++)); do
        e2e_in_ns curl --noproxy '*' -sf -o /dev/null "http://$E2E_REGISTRY/v2/" && return 0
        sleep 0.1
    done
    e2e_die "the registry did not answer on $E2E_REGISTRY: $(cat "$dir/registry.log")"
}

# e2e_registry_push LAYOUT REF: the image REF of the OCI layout directory LAYOUT (its ref.name) pushed
# with skopeo to REF (a reference on $E2E_REGISTRY).
e2e_registry_push() {
    local out
    out=$(e2e_in_ns skopeo copy -q --dest-tls-verify=false "oci:$1:$2" "docker://$2" 2>&1) ||
        e2e_die "cannot push $2 to the test's registry: $out"
}

e2e_virsh() {
    virsh -q -c "$E2E_URI" "$@"
}

# A zombie (a daemon that exited but PID 1 has not reaped yet: no systemd here) is not alive.
_e2e_pid_alive() {
    [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}

# Reads a daemon's pid file, waiting for the daemonized child to write it.
_e2e_read_pidfile() {
    local file=$1 i pid
    for ((i = 0; i < 100; i++)); do
        if [[ -s $file ]]; then
            pid=$(tr -dc 0-9 <"$file")
            if _e2e_pid_alive "$pid"; then
                echo "$pid"
                return 0
            fi
        fi
        sleep 0.1
    done
    return 1
}

# libvirt 9.0 probes qemu's capabilities with CAP_DAC_OVERRIDE: where /dev/kvm exists but qemu's user cannot
# open it (mode 0600 root), the probe finds KVM while libvirt's own check says KVM is unusable, so libvirt
# takes every cached probe for stale and probes qemu again at each lookup: about a minute at every daemon
# start and up to a minute at every domain define, under TCG on a loaded machine. A test whose guests run
# under TCG and that looks at no kvm facts (test-accel and test-doctor set E2E_HOST_KVM=1) gets a libvirtd
# that sees /dev/kvm as a machine without kvm would: in a mount namespace of its own, /dev/kvm is an empty
# file no probe can use, and the capabilities cache is a directory of its own (kept across runs: libvirt
# checks its entries against qemu's and its own binaries), which leaves the host's cache to other daemons.
# Its qemu.conf adds `namespaces = []`: libvirt cannot carry a mount on /dev/kvm into a domain's own /dev
# ("Unable to move ... mount to /dev/kvm"), so qemu runs in that namespace's /dev instead.
E2E_HOST_KVM=${E2E_HOST_KVM:-}
E2E_QEMU_CAPS_DIR=${E2E_QEMU_CAPS_DIR:-/var/cache/virtkube-e2e/qemu-capabilities}
_e2e_kvm_unusable() {
    [[ -z $E2E_HOST_KVM && $E2E_ACCEL == tcg && -e /dev/kvm ]] &&
        ! runuser -u libvirt-qemu -- sh -c 'exec 3<>/dev/kvm' 2>/dev/null
}
# Fills the array E2E_HIDE_KVM with the command that runs the rest of its line that way.
_e2e_hide_kvm() {
    local no_kvm=$E2E_STATE_DIR/no-kvm conf=$E2E_STATE_DIR/qemu.conf caps=/var/cache/libvirt/qemu/capabilities
    install -m 0600 /dev/null "$no_kvm" && mkdir -p "$E2E_QEMU_CAPS_DIR" "$caps" || return 1
    { cat /etc/libvirt/qemu.conf && echo "namespaces = []"; } >"$conf" || return 1
    # shellcheck disable=SC2016 # expanded by the inner sh
    E2E_HIDE_KVM=(unshare -m --propagation private sh -c 'mount --bind "$1" /dev/kvm && mount --bind "$2" "$3" &&
        mount --bind "$4" /etc/libvirt/qemu.conf && shift 4 && exec "$@"' sh "$no_kvm" "$E2E_QEMU_CAPS_DIR" "$caps" "$conf")
}

e2e_start_daemons() {
    if [[ -n $E2E_NETNS ]]; then
        e2e_die "e2e_start_daemons called twice"
    fi
    # Never take over or kill a daemon this test did not start.
    local pidfile pid
    for pidfile in /run/libvirtd.pid /run/virtlogd.pid; do
        if [[ -s $pidfile ]]; then
            pid=$(tr -dc 0-9 <"$pidfile")
            if _e2e_pid_alive "$pid"; then
                e2e_die "$(basename "$pidfile" .pid) is already running (pid $pid, $pidfile) and was not started by this test; stop it first"
            fi
        fi
    done
    for pid in $(pgrep -x libvirtd); do
        _e2e_pid_alive "$pid" || continue
        e2e_die "a libvirtd is already running (pid $pid) that this test did not start; stop it first"
    done
    if [[ -S /run/libvirt/libvirt-sock ]] && timeout 5 virsh -c "$E2E_URI" version >/dev/null 2>&1; then
        e2e_die "something already answers on /run/libvirt/libvirt-sock; stop that libvirtd first"
    fi
    if [[ -e /etc/libvirt/qemu/networks/autostart/default.xml ]]; then
        e2e_die "libvirt's 'default' network is marked autostart; the e2e tests refuse to start a libvirtd that would start it"
    fi

    E2E_NETNS=vke2e-$$
    E2E_STATE_DIR=/run/virtkube-e2e-$$
    mkdir -p "$E2E_STATE_DIR"
    ip netns add "$E2E_NETNS" || e2e_die "cannot create network namespace $E2E_NETNS"
    ip netns exec "$E2E_NETNS" ip link set lo up
    if [[ -n $E2E_NETNS_HOOK ]]; then
        "$E2E_NETNS_HOOK" || e2e_die "$E2E_NETNS_HOOK failed"
    fi

    # virtlogd first: libvirtd hands it qemu's console and log output.
    ip netns exec "$E2E_NETNS" virtlogd -d -p "$E2E_STATE_DIR/virtlogd.pid" ||
        e2e_die "virtlogd did not start"
    E2E_VIRTLOGD_PID=$(_e2e_read_pidfile "$E2E_STATE_DIR/virtlogd.pid") ||
        e2e_die "virtlogd wrote no pid file"
    E2E_HIDE_KVM=()
    if _e2e_kvm_unusable; then
        _e2e_hide_kvm || e2e_die "cannot make libvirtd's /dev/kvm stand-in"
        e2e_log "libvirtd sees no usable /dev/kvm (qemu's user cannot open it; tcg guests only)"
    fi
    ip netns exec "$E2E_NETNS" "${E2E_HIDE_KVM[@]}" libvirtd -d ${E2E_LIBVIRTD_CONF:+--listen -f "$E2E_LIBVIRTD_CONF"} \
        -p "$E2E_STATE_DIR/libvirtd.pid" ||
        e2e_die "libvirtd did not start"
    E2E_LIBVIRTD_PID=$(_e2e_read_pidfile "$E2E_STATE_DIR/libvirtd.pid") ||
        e2e_die "libvirtd wrote no pid file"
    e2e_log "namespace $E2E_NETNS: virtlogd pid $E2E_VIRTLOGD_PID, libvirtd pid $E2E_LIBVIRTD_PID"

    local i
    for ((i = 0; i < 120; i++)); do
        if timeout 5 virsh -c "$E2E_URI" version >/dev/null 2>&1; then
            return 0
        fi
        _e2e_pid_alive "$E2E_LIBVIRTD_PID" || e2e_die "libvirtd (pid $E2E_LIBVIRTD_PID) exited during start-up"
        sleep 0.5
    done
    e2e_die "libvirtd (pid $E2E_LIBVIRTD_PID) did not answer on $E2E_URI within 60s"
}

# Destroys and undefines the domains, networks and storage pools whose names start with PREFIX.
# Volumes' files are left alone: tests keep them in their own temp dirs.
e2e_cleanup_libvirt() {
    local prefix=${1:?e2e_cleanup_libvirt needs a name prefix}
    local name
    while read -r name; do
        [[ -n $name && $name == "$prefix"* ]] || continue
        e2e_virsh destroy "$name" >/dev/null 2>&1 || true
        e2e_virsh undefine --nvram "$name" >/dev/null 2>&1 ||
            e2e_virsh undefine "$name" >/dev/null 2>&1 || e2e_log "could not undefine domain $name"
    done < <(e2e_virsh list --all --name 2>/dev/null)
    while read -r name; do
        [[ -n $name && $name == "$prefix"* ]] || continue
        e2e_virsh net-destroy "$name" >/dev/null 2>&1 || true
        e2e_virsh net-undefine "$name" >/dev/null 2>&1 || e2e_log "could not undefine network $name"
    done < <(e2e_virsh net-list --all --name 2>/dev/null)
    while read -r name; do
        [[ -n $name && $name == "$prefix"* ]] || continue
        e2e_virsh pool-destroy "$name" >/dev/null 2>&1 || true
        e2e_virsh pool-undefine "$name" >/dev/null 2>&1 || e2e_log "could not undefine pool $name"
    done < <(e2e_virsh pool-list --all --name 2>/dev/null)
}

_e2e_stop_pid() {
    local pid=$1 what=$2 i
    _e2e_pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        _e2e_pid_alive "$pid" || return 0
        sleep 0.1
    done
    e2e_log "$what (pid $pid) ignored TERM for 10s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Meant for `trap e2e_stop_daemons EXIT`: safe to call more than once, and when start failed half-way.
e2e_stop_daemons() {
    local rc=$?
    if _e2e_pid_alive "$E2E_LIBVIRTD_PID"; then
        e2e_cleanup_libvirt "$E2E_PREFIX"
    fi
    _e2e_stop_pid "$E2E_LIBVIRTD_PID" libvirtd
    _e2e_stop_pid "$E2E_VIRTLOGD_PID" virtlogd
    _e2e_stop_pid "$E2E_REGISTRY_PID" docker-registry
    E2E_REGISTRY_PID=""
    E2E_LIBVIRTD_PID=""
    E2E_VIRTLOGD_PID=""
    if [[ -n $E2E_NETNS ]] && ip netns list | awk '{print $1}' | grep -qxF "$E2E_NETNS"; then
        # Whatever still lives in our namespace (a qemu or dnsmasq libvirt left) was started by this test.
        local pid
        for pid in $(ip netns pids "$E2E_NETNS" 2>/dev/null); do
            _e2e_stop_pid "$pid" "leftover process in $E2E_NETNS"
        done
        ip netns del "$E2E_NETNS" || e2e_log "could not delete namespace $E2E_NETNS"
    fi
    E2E_NETNS=""
    if [[ -n $E2E_CLIENT_NS ]]; then
        for pid in $(ip netns pids "$E2E_CLIENT_NS" 2>/dev/null); do
            _e2e_stop_pid "$pid" "leftover process in $E2E_CLIENT_NS"
        done
        ip netns del "$E2E_CLIENT_NS" 2>/dev/null || e2e_log "could not delete namespace $E2E_CLIENT_NS"
        E2E_CLIENT_NS=""
    fi
    if [[ -n $E2E_STATE_DIR ]]; then
        rm -rf "$E2E_STATE_DIR"
        E2E_STATE_DIR=""
    fi
    return "$rc"
}

# The usual start of an e2e test on one virtkube profile: the checks and the
# queue lock, the daemons, the debian-test image (path in $image_json), a
# scratch $WORK that libvirt-qemu can traverse (the profile's disk, seed and
# console log live under it), and an EXIT trap that removes the profile's
# libvirt network and our domains, stops the daemons and removes $WORK.
e2e_setup_profile_test() { # PROFILE
    : "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube}"
    [[ -x $VIRTKUBE_BIN ]] || e2e_skip "VIRTKUBE_BIN '$VIRTKUBE_BIN' is not executable"
    e2e_lock
    E2E_PREFIX=$1
    E2E_PROFILE_NETWORK=virtkube-$1
    WORK=""
    trap _e2e_profile_test_exit EXIT
    e2e_start_daemons
    # shellcheck disable=SC2034 # for the caller
    image_json=$(e2e_image) || exit 1
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 0711 "$WORK"
}

_e2e_profile_test_exit() {
    local rc=$?
    if [[ -n $E2E_LIBVIRTD_PID ]]; then
        e2e_cleanup_libvirt "$E2E_PROFILE_NETWORK"
    fi
    e2e_stop_daemons
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}

# True when every directory above FILE can be traversed by others and FILE can be read by libvirt-qemu.
_e2e_qemu_can_read() {
    runuser -u libvirt-qemu -- test -r "$1" 2>/dev/null
}

# Builds (or reuses) the debian-test image and prints the path of its image.json.
e2e_image() {
    local build=$E2E_REPO_DIR/vm-images/debian-test/build
    local dir=${VIRTKUBE_TEST_IMAGE_DIR:-$HOME/.cache/virtkube/debian-test}
    "$build" "$dir" >&2 || e2e_die "building the debian-test image failed"
    if _e2e_qemu_can_read "$dir/disk.qcow2"; then
        echo "$dir/image.json"
        return 0
    fi
    # qemu runs as libvirt-qemu and cannot reach the build dir (e.g. under a 0700 $HOME): publish a copy
    # (hard links when possible, so it is cheap) in a directory it can traverse.
    local pub=$E2E_PUBLIC_IMAGE_DIR
    if [[ ! -f $pub/stamp || $(cat "$pub/stamp") != $(cat "$dir/stamp") ]]; then
        local tmp f
        mkdir -p "$(dirname "$pub")"
        chmod 0755 "$(dirname "$pub")"
        tmp=$(mktemp -d "$pub.tmp.XXXXXX")
        for f in disk.qcow2 vmlinuz initrd.img image.json stamp; do
            ln "$dir/$f" "$tmp/$f" 2>/dev/null || cp "$dir/$f" "$tmp/$f" ||
                { rm -rf "$tmp"; e2e_die "cannot copy $dir/$f to $tmp"; }
        done
        chmod 0755 "$tmp"
        rm -rf "$pub"
        mv "$tmp" "$pub"
    fi
    _e2e_qemu_can_read "$pub/disk.qcow2" || e2e_die "libvirt-qemu cannot read $pub/disk.qcow2"
    echo "$pub/image.json"
}

# ---- a libvirt host reached over TCP (test-remote.sh, bench/remote-upload.sh) -------------------------

E2E_REMOTE_HOST_ADDR=10.231.0.1
E2E_REMOTE_CLIENT_ADDR=10.231.0.2
# shellcheck disable=SC2034 # for the tests that source this file
E2E_REMOTE_URI=qemu+tcp://$E2E_REMOTE_HOST_ADDR/system
E2E_CLIENT_NS=""

# e2e_remote_daemons DIR: e2e_start_daemons with libvirtd also listening on TCP (no TLS, no SASL) on
# the host namespace's veth address only (its config is written to DIR), and a second namespace
# ($E2E_CLIENT_NS, run things there with e2e_in_client) at the other end of the veth, routed through
# the host to the libvirt networks there (192.168.0.0/16). libvirt's firewall rejects traffic routed
# into its networks from outside: once its chains exist (a throwaway network makes them), the client's
# address is let through ahead of them. e2e_stop_daemons removes both namespaces.
e2e_remote_daemons() {
    local dir=${1:?e2e_remote_daemons needs a directory}
    printf '%s\n' 'listen_tls = 0' 'listen_tcp = 1' 'auth_tcp = "none"' \
        "listen_addr = \"$E2E_REMOTE_HOST_ADDR\"" >"$dir/libvirtd.conf"
    E2E_LIBVIRTD_CONF=$dir/libvirtd.conf
    E2E_NETNS_HOOK=_e2e_client_ns
    e2e_start_daemons
    e2e_virsh net-create /dev/stdin >/dev/null <<EOF || e2e_die "cannot start a throwaway network"
<network><name>${E2E_PREFIX}fw</name><bridge name='vke2e-fw$$'/><ip address='10.232.0.1' netmask='255.255.255.0'/></network>
EOF
    e2e_virsh net-destroy "${E2E_PREFIX}fw" >/dev/null
    e2e_in_ns iptables -I FORWARD 1 -s "$E2E_REMOTE_CLIENT_ADDR" -j ACCEPT
    e2e_in_ns iptables -I FORWARD 1 -d "$E2E_REMOTE_CLIENT_ADDR" -j ACCEPT
}

_e2e_client_ns() {
    E2E_CLIENT_NS=$E2E_NETNS-c
    ip netns add "$E2E_CLIENT_NS" || return 1
    ip netns exec "$E2E_CLIENT_NS" ip link set lo up
    ip link add "vkh$$" netns "$E2E_NETNS" type veth peer name "vkc$$" netns "$E2E_CLIENT_NS" || return 1
    e2e_in_ns ip addr add "$E2E_REMOTE_HOST_ADDR/24" dev "vkh$$"
    e2e_in_ns ip link set "vkh$$" up
    e2e_in_client ip addr add "$E2E_REMOTE_CLIENT_ADDR/24" dev "vkc$$"
    e2e_in_client ip link set "vkc$$" up
    e2e_in_client ip route add 192.168.0.0/16 via "$E2E_REMOTE_HOST_ADDR"
    e2e_in_ns sysctl -qw net.ipv4.ip_forward=1
}

# virtkube's pool on a remote host, where it makes it. A test that may make it refuses to run when its
# directory exists already (e2e_remote_pool_unused), and removes it with every volume in it at its end
# (e2e_remote_pool_remove): this machine's pool is only ever the test's own.
E2E_REMOTE_POOL=virtkube
E2E_REMOTE_POOL_DIR=/var/lib/libvirt/images/virtkube
e2e_remote_pool_unused() {
    [[ ! -e $E2E_REMOTE_POOL_DIR ]] ||
        e2e_die "$E2E_REMOTE_POOL_DIR exists already: this test would not know what it may remove there"
}
e2e_remote_pool_remove() {
    local v
    e2e_virsh pool-info "$E2E_REMOTE_POOL" >/dev/null 2>&1 || return 0
    for v in $(e2e_virsh vol-list "$E2E_REMOTE_POOL" 2>/dev/null | awk '{print $1}'); do
        e2e_virsh vol-delete --pool "$E2E_REMOTE_POOL" "$v" >/dev/null 2>&1
    done
    e2e_virsh pool-destroy "$E2E_REMOTE_POOL" >/dev/null 2>&1
    e2e_virsh pool-delete "$E2E_REMOTE_POOL" >/dev/null 2>&1
    e2e_virsh pool-undefine "$E2E_REMOTE_POOL" >/dev/null 2>&1
}

# e2e_remote_pool_define: virtkube's pool on the host, defined, built and started as virtkube's start does
# (the XML of vk_volume_pool_xml: a dir pool whose directory is made 0711); e2e_remote_pool_remove takes it away.
e2e_remote_pool_define() {
    e2e_virsh pool-define /dev/stdin >/dev/null <<EOF || return 1
<pool type='dir'>
  <name>$E2E_REMOTE_POOL</name>
  <target>
    <path>$E2E_REMOTE_POOL_DIR</path>
    <permissions><mode>0711</mode></permissions>
  </target>
</pool>
EOF
    e2e_virsh pool-build "$E2E_REMOTE_POOL" >/dev/null && e2e_virsh pool-start "$E2E_REMOTE_POOL" >/dev/null
}

# e2e_remote_bridge_add NAME ADDR/PREFIX: a Linux bridge NAME with address ADDR/PREFIX in the host namespace
# (a LAN there, for --network-mode bridge), and a route from the client namespace to its prefix via the
# host's veth address: the host forwards already, and e2e_remote_daemons let the client's traffic past
# libvirt's firewall. e2e_remote_bridge_remove NAME deletes that bridge (by its name: only what the test
# made) and the client's route; e2e_stop_daemons would take both with the namespaces anyway.
e2e_remote_bridge_add() {
    local name=${1:?e2e_remote_bridge_add needs a name} cidr=${2:?e2e_remote_bridge_add needs ADDR/PREFIX} net
    e2e_in_ns ip link add "$name" type bridge || return 1
    e2e_in_ns ip addr add "$cidr" dev "$name" || return 1
    e2e_in_ns ip link set "$name" up || return 1
    net=$(e2e_in_ns ip -o route show dev "$name" proto kernel | awk '{print $1; exit}')
    [[ -n $net ]] || { e2e_log "no route for bridge $name in the host namespace"; return 1; }
    e2e_in_client ip route add "$net" via "$E2E_REMOTE_HOST_ADDR"
}
e2e_remote_bridge_remove() {
    local name=${1:?e2e_remote_bridge_remove needs a name} net
    net=$(e2e_in_ns ip -o route show dev "$name" proto kernel 2>/dev/null | awk '{print $1; exit}')
    [[ -n $net && -n $E2E_CLIENT_NS ]] && e2e_in_client ip route del "$net" via "$E2E_REMOTE_HOST_ADDR" 2>/dev/null
    e2e_in_ns ip link del "$name" type bridge 2>/dev/null
    return 0
}

e2e_in_client() {
    [[ -n $E2E_CLIENT_NS ]] || e2e_die "e2e_in_client: no client namespace (call e2e_remote_daemons first)"
    ip netns exec "$E2E_CLIENT_NS" "$@"
}

# ---- an sshd on the libvirt host (test-remote.sh: qemu+ssh) -------------------------------------------

# e2e_remote_sshd DIR: Debian's sshd in the host namespace, listening only on $E2E_REMOTE_HOST_ADDR:22,
# with its own config, host key, authorized key, pid file and log under DIR/sshd; root logs in with the
# key DIR/id. For the client it writes DIR/ssh_config (that host's key in DIR/known_hosts, checked
# strictly; the key; batch mode) and DIR/ssh, a wrapper that runs ssh -F DIR/ssh_config: with it no
# ssh reads or writes anything of ~/.ssh. Sets E2E_SSHD_PID and E2E_REMOTE_SSH_URI (qemu+ssh with the
# wrapper as libvirt's ssh command and the key as its keyfile). Skips (77) without sshd.
# e2e_remote_sshd_stop stops it by its pid (e2e_stop_daemons would kill it with the namespace anyway).
E2E_SSHD_PID=""
E2E_SSHD_RUNDIR_MADE=""
e2e_remote_sshd() {
    local dir=${1:?e2e_remote_sshd needs a directory} i
    [[ -x /usr/sbin/sshd ]] || e2e_skip "sshd is not installed (openssh-server; scripts/dev/setup installs it)"
    mkdir -p "$dir/sshd"
    ssh-keygen -q -t ed25519 -N '' -C vke2e-host -f "$dir/sshd/host_key" || return 1
    ssh-keygen -q -t ed25519 -N '' -C vke2e-client -f "$dir/id" || return 1
    cp "$dir/id.pub" "$dir/sshd/authorized_keys"
    # the files live in the test's temp dir under /tmp (world-writable): StrictModes would refuse them
    printf '%s\n' "ListenAddress $E2E_REMOTE_HOST_ADDR:22" "HostKey $dir/sshd/host_key" \
        "PidFile $dir/sshd/sshd.pid" "AuthorizedKeysFile $dir/sshd/authorized_keys" \
        "PermitRootLogin prohibit-password" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
        "UsePAM no" "StrictModes no" "AllowTcpForwarding yes" "PrintMotd no" "LogLevel VERBOSE" \
        >"$dir/sshd/sshd_config"
    echo "$E2E_REMOTE_HOST_ADDR $(cut -d' ' -f1-2 "$dir/sshd/host_key.pub")" >"$dir/known_hosts"
    printf '%s\n' "Host $E2E_REMOTE_HOST_ADDR" "    IdentityFile $dir/id" "    IdentitiesOnly yes" \
        "    UserKnownHostsFile $dir/known_hosts" "    GlobalKnownHostsFile /dev/null" \
        "    StrictHostKeyChecking yes" "    BatchMode yes" "    ControlMaster no" >"$dir/ssh_config"
    printf '%s\n' '#!/bin/sh' "exec ssh -F '$dir/ssh_config' \"\$@\"" >"$dir/ssh"
    chmod 0755 "$dir/ssh"
    # sshd's privilege separation directory is built in; made here (and removed again) when missing
    if [[ ! -d /run/sshd ]]; then
        mkdir -m 0755 /run/sshd && E2E_SSHD_RUNDIR_MADE=1
    fi
    /usr/sbin/sshd -t -f "$dir/sshd/sshd_config" || e2e_die "sshd rejects its test config"
    e2e_in_ns /usr/sbin/sshd -f "$dir/sshd/sshd_config" -E "$dir/sshd/log" || e2e_die "sshd did not start"
    E2E_SSHD_PID=$(_e2e_read_pidfile "$dir/sshd/sshd.pid") || e2e_die "sshd wrote no pid file"
    for ((i = 0; i < 50; i++)); do
        e2e_in_client "$dir/ssh" "root@$E2E_REMOTE_HOST_ADDR" true 2>/dev/null && break
        sleep 0.2
    done
    e2e_log "sshd pid $E2E_SSHD_PID on $E2E_REMOTE_HOST_ADDR:22"
    # shellcheck disable=SC2034 # for the tests that source this file
    E2E_REMOTE_SSH_URI="qemu+ssh://root@$E2E_REMOTE_HOST_ADDR/system?keyfile=$dir/id&command=$dir/ssh&no_tty=1"
}

e2e_remote_sshd_stop() {
    _e2e_stop_pid "$E2E_SSHD_PID" sshd
    E2E_SSHD_PID=""
    if [[ -n $E2E_SSHD_RUNDIR_MADE ]]; then
        rmdir /run/sshd 2>/dev/null
        E2E_SSHD_RUNDIR_MADE=""
    fi
}

# ---- real parts from Debian's packages (test-k8s-guest.sh, real-cluster-local.sh) -------------------

# Where the .debs are kept between runs (tests/fakes/mkmirror.py --debs uses the same).
E2E_DEBS=${VIRTKUBE_DEB_CACHE:-$HOME/.cache/virtkube/debs}

# Prints the path of Debian's PACKAGE (.deb, amd64) in E2E_DEBS, fetching it with apt-get download first.
e2e_deb() { # PACKAGE
    local deb
    deb=$(find "$E2E_DEBS" -maxdepth 1 -name "$1_*_amd64.deb" 2>/dev/null | sort | tail -n 1)
    if [[ -z $deb ]]; then
        mkdir -p "$E2E_DEBS"
        (cd "$E2E_DEBS" && apt-get download "$1" >/dev/null 2>&1)
        deb=$(find "$E2E_DEBS" -maxdepth 1 -name "$1_*_amd64.deb" | sort | tail -n 1)
    fi
    [[ -n $deb ]] || { e2e_log "cannot get Debian's $1 into $E2E_DEBS (apt-get update first?)"; return 1; }
    echo "$deb"
}

# A root tree for test images in DIR: Debian's busybox-static as /bin/busybox with a few applets, and
# /www/index.html holding TEXT (busybox httpd serves it).
e2e_busybox_root() { # DIR TEXT
    local deb applet
    deb=$(e2e_deb busybox-static) || return 1
    mkdir -p "$1/bin" "$1/www" "$1/tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$1/bin/busybox" || return 1
    chmod 0755 "$1/bin/busybox"
    for applet in sh httpd sleep cat ls echo; do ln -sfn busybox "$1/bin/$applet"; done
    printf '%s\n' "$2" >"$1/www/index.html"
}
