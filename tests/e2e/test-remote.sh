#!/bin/bash
# e2e: a cluster on a remote libvirt host, with two network namespaces: "host" runs libvirtd listening on TCP
# on its veth address only, and a real sshd there (its own config, host key and authorized key in the temp
# dir); "client" runs virtkube. Bad input (an unreachable URI, too little memory, a pool directory qemu cannot
# search) fails before any upload, over qemu+tcp. The first profile runs over qemu+ssh (libvirt's ssh
# transport with the test's key and a wrapper that gives ssh the test's config) with no route from the client
# to the libvirt network: every file the domain uses is uploaded as a volume (an upload cut mid-way resumes
# without sending the finished volumes again), the console is read over the API (start follows the guest,
# logs works), start's SSH wait, ssh and `virtkube tunnel` go through the host (ssh -J). The second profile,
# over qemu+tcp, is on a bridge of the host (--network-mode bridge: its LAN address, reached from the client
# through the host's route) and uploads no base image; delete leaves the pool and the bridge as they were;
# cache list names the host that holds the images. Two boots (1 vCPU each, one after the other): about
# 7 minutes under TCG (each boot to a provisioned guest about 2 minutes on a loaded 2-core machine).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
: "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube}"
command -v iptables >/dev/null || e2e_skip "iptables not installed"
A=vke2e-ra
B=vke2e-rb
POOL=$E2E_REMOTE_POOL
POOL_DIR=$E2E_REMOTE_POOL_DIR
HOST_ADDR=$E2E_REMOTE_HOST_ADDR
URI=$E2E_REMOTE_URI
POOL_MADE_HERE=""
BRIDGE_MADE=""
tunnel_pid=""
WORK=$(mktemp -d /tmp/vke2e-remote.XXXXXX)
chmod 0711 "$WORK"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
export VIRTKUBE_DATADIR=${VIRTKUBE_DATADIR:-$E2E_REPO_DIR}

cleanup() {
    local rc=$?
    [[ -n $tunnel_pid ]] && kill -TERM "$tunnel_pid" 2>/dev/null
    if [[ -n $E2E_LIBVIRTD_PID ]]; then
        [[ -n $BRIDGE_MADE ]] && e2e_remote_bridge_remove "$BRIDGE_MADE"
        e2e_cleanup_libvirt "$A"
        e2e_cleanup_libvirt "virtkube-vke2e-r"
        # its directory was not there before this test (e2e_remote_pool_unused): all of it is ours
        e2e_remote_pool_remove
    fi
    e2e_remote_sshd_stop
    e2e_stop_daemons
    rm -rf "$WORK"
    exit "$rc"
}

e2e_lock
trap cleanup EXIT
e2e_remote_pool_unused
E2E_PREFIX=vke2e-r
e2e_remote_daemons "$WORK"
mkdir -p "$WORK/ssh"
ssh_home_before=$(ls -la --full-time "$HOME/.ssh" 2>&1)
e2e_remote_sshd "$WORK/ssh"
SSH_URI=$E2E_REMOTE_SSH_URI
image_json=$(e2e_image) || exit 1
image_dir=$(dirname "$image_json")

vkc() { e2e_in_client "$VIRTKUBE_BIN" "$@"; }
lacks() { # TEXT GREP-ARGS...: none of the fixed strings is in TEXT
    local text=$1
    shift
    ! grep -qF "$@" <<<"$text"
}
pool_list() { e2e_virsh vol-list "$POOL" 2>/dev/null | awk 'NF {print $1}' | sort; }
common_args=(--no-kubernetes --network-mode isolated --image "$image_json" --accel "$E2E_ACCEL" --cpus 1
    --memory 1024 -v)
start_args=("${common_args[@]}" --libvirt-uri "$URI")
# profile A: over qemu+ssh, and every ssh of virtkube's with the test's ssh config (for the jump's ssh)
vka() { e2e_in_client env VIRTKUBE_SSH_CONFIG="$WORK/ssh/ssh_config" "$VIRTKUBE_BIN" "$@"; }
a_args=("${common_args[@]}" --libvirt-uri "$SSH_URI")

# ---- bad input: an unreachable URI fails before anything is uploaded ----
run vkc -p vke2e-rbad start "${common_args[@]}" --libvirt-uri "qemu+tcp://$HOST_ADDR:1/system"
expect_rc 1 "start against a URI nobody listens on fails (${secs}s)"
expect "saying it cannot connect, naming the URI" grep -q "cannot connect to libvirt at 'qemu+tcp://$HOST_ADDR:1/system'" <<<"$err"
expect "before any pool or upload on the host" test -z "$(e2e_virsh pool-list --all --name | grep -w "$POOL")"
rm -rf "$VIRTKUBE_HOME/profiles/vke2e-rbad"
run vkc -p vke2e-rbad start "${start_args[@]}" --memory 4000000
expect_rc 1 "start asking more memory than the libvirt host has fails"
expect "at the remote-memory check" grep -q "preflight check 'remote-memory' failed: the VM wants 4000000 MiB but the libvirt host has" <<<"$err"
expect "before any pool or upload on the host" test -z "$(e2e_virsh pool-list --all --name | grep -w "$POOL")"
rm -rf "$VIRTKUBE_HOME/profiles/vke2e-rbad"
run vkc doctor --libvirt-uri "$URI" --no-kubernetes
expect_rc 0 "doctor --libvirt-uri checks the remote host"
expect "the connection" grep -q "connected to '$URI'" <<<"$out"
expect "its free memory" grep -q "remote-memory.*MiB free on the libvirt host" <<<"$out"
expect "the pool (not there yet)" grep -q "remote-pool.*no storage pool 'virtkube' there yet" <<<"$out"
expect "the accelerator there (domain capabilities)" grep -q "^accelerator" <<<"$out"
expect "whether qemu there can search what start creates" \
    grep -q "remote-pool-access *ok .*'$POOL_DIR' (mode 0711), which start creates for storage pool 'virtkube'" <<<"$out"

# ---- bad input: a pool directory qemu on the host cannot search ----
e2e_remote_pool_define || e2e_die "cannot define the pool as virtkube does"
pool_mode=$(stat -c %a "$POOL_DIR")
chmod 0700 "$POOL_DIR"
run vkc doctor --libvirt-uri "$URI" --no-kubernetes
expect_rc 1 "doctor fails when the pool's directory is 0700"
grep remote-pool-access -A1 <<<"$out" | sed 's/^/# /'
expect "at remote-pool-access, naming qemu's uid:gid, the directory, its mode and owner" grep -q \
    "remote-pool-access *FAIL *qemu (uid [0-9]*, gid [0-9]*) cannot search the directory of storage pool 'virtkube', '$POOL_DIR' (mode 0700, owner [0-9]*:[0-9]*)" <<<"$out"
expect "and the fix" grep -q "fix: *on the libvirt host, run 'chmod o+x $POOL_DIR'" <<<"$out"
run vkc -p vke2e-rbad start "${start_args[@]}"
expect_rc 1 "start with that pool fails"
expect "at the remote-pool-access check" grep -q "preflight check 'remote-pool-access' failed: qemu (uid" <<<"$err"
expect "before any upload (no volume in the pool)" test -z "$(pool_list)"
rm -rf "$VIRTKUBE_HOME/profiles/vke2e-rbad"
chmod "$pool_mode" "$POOL_DIR"
run vkc doctor --libvirt-uri "$URI" --no-kubernetes
expect_rc 0 "with its mode back (0$pool_mode) doctor passes"
expect "remote-pool-access is ok" \
    grep -q "remote-pool-access *ok *qemu (uid [0-9]*, gid [0-9]*) can search the directory of storage pool 'virtkube'" <<<"$out"
e2e_remote_pool_remove # the first start below makes it itself

# ---- profile A over qemu+ssh, with no route to the libvirt network ----
e2e_in_client ip route del 192.168.0.0/16
expect "the client has no route to the libvirt host's networks" \
    bash -c "! ip netns exec '$E2E_CLIENT_NS' ip route get 192.168.100.10 >/dev/null 2>&1"
run e2e_in_client virsh -q -c "$SSH_URI" version --daemon
expect_rc 0 "virsh reaches the libvirt host over qemu+ssh (the test's sshd, key and known host)"
expect "and talks to its libvirtd (virt-ssh-helper on the host)" grep -q "Running against daemon" <<<"$out"

# ---- the first start is cut off mid-upload (the initrd), the next one resumes ----
run env VIRTKUBE_TEST_UPLOAD_CUT=initrd ip netns exec "$E2E_CLIENT_NS" env VIRTKUBE_SSH_CONFIG="$WORK/ssh/ssh_config" \
    "$VIRTKUBE_BIN" -p "$A" start "${a_args[@]}"
expect_rc 1 "a start whose initrd upload is cut off fails"
expect "at step 'disk'" grep -q "start failed at step 'disk'" <<<"$err"
e2e_virsh pool-list --all --name | grep -qw "$POOL" && POOL_MADE_HERE=1
expect "virtkube made its pool on the host" test -n "$POOL_MADE_HERE"
expect "the base image was uploaded before the cut" grep -q "uploaded the base image" <<<"$out$err"

t0=$SECONDS
run vka -p "$A" start "${a_args[@]}"
start_secs=$((SECONDS - t0))
expect_rc 0 "the next start boots the node over qemu+ssh, its SSH wait through the host (${start_secs}s)"
echo "$out" >"$WORK/startA.out"
echo "$err" >"$WORK/startA.err"
expect "it does not upload the finished base image again" grep -q "the base image is on the libvirt host already" <<<"$out$err"
expect "it uploads the initrd that was cut off" grep -q "uploaded the image's initrd" <<<"$out$err"
expect "it followed the guest's stages over the console API" grep -q "guest: " <<<"$out$err"
xml=$(e2e_virsh dumpxml "$A")
expect "the domain names no path of the client (image dir, profile dir)" \
    lacks "$xml" -e "$image_dir" -e "$WORK"
expect "its disk, seed, kernel and initrd are volumes in the pool" \
    test "$(grep -c "$POOL_DIR/" <<<"$xml")" -ge 4
expect "and its console has no log file" lacks "$xml" "<log "
node_ip=$(vka -p "$A" ip)
expect "still no route to the node ($node_ip) from the client" \
    bash -c "! ip netns exec '$E2E_CLIENT_NS' ip route get '$node_ip' >/dev/null 2>&1"

run vka -p "$A" ssh -- cat /etc/hostname
expect_rc 0 "ssh reaches the node through the libvirt host (ssh -J, its ssh -F from VIRTKUBE_SSH_CONFIG)"
expect "and runs in it" grep -qx "$A" <<<"$out"
run vka -p "$A" logs
expect_rc 0 "logs works"
expect "it shows the guest's console (VIRTKUBE-READY)" grep -q "VIRTKUBE-READY" <<<"$out"

# ---- virtkube tunnel: 127.0.0.1:PORT here to the node's API port, through the libvirt host ----
# No Kubernetes in this guest: a python3 listener on the API port (8443) stands in for the API server.
listener='import socket as S;s=S.socket();s.setsockopt(S.SOL_SOCKET,S.SO_REUSEADDR,1);s.bind(("0.0.0.0",8443));s.listen(5);[(c.sendall(b"VKTUNNEL-OK\n"),c.close()) for c,a in iter(s.accept,0)]'
run vka -p "$A" ssh -- "setsid python3 -c '$listener' </dev/null >/dev/null 2>&1 &"
expect_rc 0 "a listener on the node's API port (8443) in the guest"
# a simple command in the background: $! is virtkube's own pid (ip netns exec and env exec it)
ip netns exec "$E2E_CLIENT_NS" env VIRTKUBE_SSH_CONFIG="$WORK/ssh/ssh_config" "$VIRTKUBE_BIN" -p "$A" tunnel \
    --port 18443 >"$WORK/tunnel.out" 2>&1 &
tunnel_pid=$!
for ((i = 0; i < 150; i++)); do
    grep -qs "^tunnel: " "$WORK/tunnel.out" && break
    kill -0 "$tunnel_pid" 2>/dev/null || break
    sleep 0.2
done
expect "tunnel says where it listens and where to" \
    grep -q "^tunnel: https://127.0.0.1:18443 -> $node_ip:8443 through root@$HOST_ADDR" "$WORK/tunnel.out"
expect "and that this profile has no kubeconfig entry to point at it (--no-kubernetes)" \
    grep -q "has no Kubernetes, so no kubeconfig entry" "$WORK/tunnel.out"
got=""
for ((i = 0; i < 10; i++)); do
    got=$(e2e_in_client timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18443 && head -n 1 <&3' 2>/dev/null) && [[ -n $got ]] && break
    sleep 1
done
expect "a connection to 127.0.0.1:18443 in the client reaches the guest's listener" test "$got" = VKTUNNEL-OK
kill -TERM "$tunnel_pid"
wait "$tunnel_pid"
tunnel_rc=$?
tunnel_pid=""
expect "SIGTERM ends the tunnel with status 0 (got $tunnel_rc)" test "$tunnel_rc" = 0
expect "saying it closed" grep -q "^tunnel closed" "$WORK/tunnel.out"
expect "and nothing listens on 127.0.0.1:18443 after it" \
    bash -c "! ip netns exec '$E2E_CLIENT_NS' timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18443' 2>/dev/null"
sed 's/^/# tunnel: /' "$WORK/tunnel.out"

# Someone else's volume in the pool: never touched.
e2e_virsh vol-create-as "$POOL" theirs.img 1M >/dev/null
run vka -p "$A" delete
expect_rc 0 "delete of the first profile"
shared=$(pool_list)
expect "leaves only the shared volumes (sha256-*) and someone else's" \
    test -z "$(grep -v -e "^sha256-" -e "^theirs.img$" <<<"$shared")"
expect "someone else's volume is still there" grep -qx theirs.img <<<"$shared"
expect "the host's sshd logged the client's key logins (libvirt's transport and the jumps)" \
    test "$(grep -c "Accepted publickey for root from $E2E_REMOTE_CLIENT_ADDR" "$WORK/ssh/sshd/log")" -ge 5
expect "nothing of ~/.ssh changed (known_hosts included)" test "$(ls -la --full-time "$HOME/.ssh" 2>&1)" = "$ssh_home_before"
e2e_in_client ip route add 192.168.0.0/16 via "$HOST_ADDR"

# ---- the second profile: on a bridge of the host's LAN (--network-mode bridge), uploading no base image ----
BR=vke2e-br$$
BR_IP=10.77.0.10
e2e_remote_bridge_add "$BR" 10.77.0.1/24 || e2e_die "cannot make bridge $BR in the host namespace"
BRIDGE_MADE=$BR
bridge_args=()
for ((i = 0; i < ${#start_args[@]}; i++)); do
    [[ ${start_args[i]} == --network-mode ]] && { i=$((i + 1)); continue; }
    bridge_args+=("${start_args[i]}")
done
before=$(pool_list)
nets_before=$(e2e_virsh net-list --all --name | sort)
run vkc -p vke2e-rbad start "${bridge_args[@]}" --network-mode bridge --bridge nosuchbr0 --bridge-ip "$BR_IP/24"
expect_rc 1 "start on a bridge the libvirt host does not have fails"
expect "naming the bridge" grep -q "there is no bridge 'nosuchbr0' on the libvirt host at '$URI'" <<<"$err"
expect "before any upload (no new volume in the pool)" test "$(pool_list)" = "$before"
rm -rf "$VIRTKUBE_HOME/profiles/vke2e-rbad"
run vkc -p vke2e-rbad start "${bridge_args[@]}" --bridge "$BR"
expect_rc 2 "--bridge without --bridge-ip is refused as bad input (exit 2)"
expect "saying the LAN's addresses are the user's to name, with an example" \
    grep -q "needs --bridge-ip.*you name them" <<<"$err"
expect "before anything is made" test ! -e "$VIRTKUBE_HOME/profiles/vke2e-rbad/config.json"
rm -rf "$VIRTKUBE_HOME/profiles/vke2e-rbad"

t0=$SECONDS
run vkc -p "$B" start "${bridge_args[@]}" --network-mode bridge --bridge "$BR" --bridge-ip "$BR_IP/24"
expect_rc 0 "a second profile starts on bridge $BR ($((SECONDS - t0))s)"
expect "uploading no base image" grep -q "the base image is on the libvirt host already" <<<"$out$err"
expect "nor kernel nor initrd" lacks "$out$err" "uploaded the image"
grep -E "uploaded|on the libvirt host already" <<<"$out$err" | sed 's/^/# /'
xml=$(e2e_virsh dumpxml "$B")
expect "its interface is on the bridge" grep -q "<source bridge='$BR'/>" <<<"$xml"
expect "and no libvirt network was made for it" test "$(e2e_virsh net-list --all --name | sort)" = "$nets_before"
run vkc -p "$B" ip
expect_rc 0 "ip of the bridged profile"
expect "prints the LAN address given" test "$out" = "$BR_IP"
run vkc -p "$B" ssh -- ip -4 -o addr show
expect_rc 0 "ssh reaches the bridged node directly from the client"
expect "the guest has that address on the LAN's prefix" grep -q "inet $BR_IP/24 " <<<"$out"
expect "reached straight through the host's route, no jump" \
    grep -q "$BR_IP via $E2E_REMOTE_HOST_ADDR" <<<"$(e2e_in_client ip route get "$BR_IP")"
run vkc -p "$B" delete
expect_rc 0 "delete of the second profile"
expect "leaves the host's pool as it was before it" test "$(pool_list)" = "$before"
expect "leaves the bridge as it was (there, with its address)" \
    grep -q "inet 10.77.0.1/24" <<<"$(e2e_in_ns ip -o addr show dev "$BR")"
expect "with no port left in it" test -z "$(e2e_in_ns ip -o link show master "$BR")"
expect "and no libvirt network behind" test "$(e2e_virsh net-list --all --name | sort)" = "$nets_before"
e2e_remote_bridge_remove "$BR"
BRIDGE_MADE=""
run vkc cache list
expect_rc 0 "cache list (from this host's record, no connection)"
expect "names the test host as holding the base image's volume" \
    grep -qE "^sha256-[0-9a-f]{64}\.qcow2 +.*disk\.qcow2 +$HOST_ADDR\$" <<<"$out"
grep -E "^(VOLUME|sha256-)" <<<"$out" | sed 's/^/# /'
run vkc cache list --remote "$URI"
expect_rc 0 "cache list --remote asks the host"
expect "which holds the base image, kernel and initrd" grep -q "pool 'virtkube' at '$URI' holds 3 image volumes" <<<"$err"
run vkc cache clean --remote "$URI"
expect_rc 0 "cache clean --remote removes the images uploaded there"
expect "leaving only someone else's volume" test "$(pool_list)" = theirs.img
run vkc cache list
expect "after it, cache list names the test host no more" lacks "$out$err" "$HOST_ADDR"

echo "# first start after the cut: ${start_secs}s; whole test: ${SECONDS}s"
echo "1..$tap_n"
((tap_failed == 0))
