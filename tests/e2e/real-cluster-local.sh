#!/bin/bash
# e2e with a locally built Kubernetes release: `virtkube start` on the debian-test guest (TCG, isolated
# network in the test's netns) to node Ready, a busybox Deployment behind a NodePort answering through
# `virtkube service --url`, stop (ACPI) / start with the node Ready again on the same IP, delete. Skips (77)
# unless VIRTKUBE_E2E_RELEASE names the release: a directory whose bin/ holds kubeadm, kubelet, kubectl,
# kube-apiserver, kube-controller-manager, kube-scheduler and kube-proxy (bin/coredns and bin/etcd when
# there). Never downloads Kubernetes; the release is never part of the repository.
#
# What it builds from that release and Debian's packages (no registry, no internet):
#   - a mirror (tests/fakes/mkmirror.py --from RELEASE): kubeadm/kubelet/kubectl from the release,
#     containerd, runc and the CNI plugins from Debian;
#   - the images `kubeadm config images list --image-repository 127.0.0.1:5000/k8s` names for the
#     version, made (tests/fakes/mkoci.py) of the release's binaries (plus, for kube-proxy, Debian's
#     iptables and conntrack with their libraries), etcd (bin/etcd, VIRTKUBE_E2E_ETCD, else Debian's
#     etcd-server behind a wrapper that maps kubeadm's etcd-3.6 flags), a busybox pause, and coredns when
#     given; pushed with skopeo to Debian's docker-registry on 127.0.0.1:5000 inside the test's netns, from
#     where `start --image-repository` pulls them on the host and ships them on the payload ISO (the
#     product's own path: no registry is reachable from the guest);
#   - the test's busybox httpd image, put into the node with `virtkube image load` (an OCI archive).
# Knobs: VIRTKUBE_E2E_RUNTIME=DIR (upstream builds of containerd, runc and the CNI plugins in the layout the
# product downloads: containerd-static-*-linux-amd64.tar.gz, runc.amd64, cni-plugins-linux-amd64-*.tgz; the
# guest then runs containerd 2.x with config version 3; without it, Debian's packages repacked),
# VIRTKUBE_E2E_VERSION (default: the newest table version of the release's minor),
# VIRTKUBE_E2E_KUBEADM_FLAGS (default --ignore-preflight-errors=HTTPProxyCIDR: a snapshot built with Go 1.25
# before kubernetes/kubernetes#135013 fails that check), VIRTKUBE_E2E_CPUS (2), VIRTKUBE_E2E_MEMORY (3072),
# VIRTKUBE_E2E_ACCEL (tcg: the tests run on TCG unless told), VIRTKUBE_E2E_NODES (1; real-cluster-nodes.sh sets
# 2: a control plane and a worker that joins it, both Ready, a Deployment spread over both, a pod reaching a
# pod on the other node by its pod IP).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

RELEASE=${VIRTKUBE_E2E_RELEASE:-}
[[ -n $RELEASE ]] ||
    e2e_skip "VIRTKUBE_E2E_RELEASE is not set: this test needs a locally built Kubernetes release (a directory with bin/kubeadm, kubelet, kubectl, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy)"
RELEASE=$(cd "$RELEASE" 2>/dev/null && pwd) || e2e_die "VIRTKUBE_E2E_RELEASE: no directory '$VIRTKUBE_E2E_RELEASE'"
for b in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    [[ -x $RELEASE/bin/$b ]] || e2e_die "VIRTKUBE_E2E_RELEASE: $RELEASE/bin/$b is missing or not executable"
done
e2e_require
for tool in python3 dpkg-deb curl ldd docker-registry skopeo; do
    command -v "$tool" >/dev/null ||
        e2e_skip "$tool is needed to build the mirror and the images (apt-get install docker-registry skopeo)"
done

PROFILE=vke2e-real
NODES=${VIRTKUBE_E2E_NODES:-1}
[[ $NODES =~ ^[1-9]$ ]] || e2e_die "VIRTKUBE_E2E_NODES='$NODES' is not 1 to 9"
[[ $NODES == 1 ]] || PROFILE=vke2e-real$NODES
KUBECTL=$RELEASE/bin/kubectl
IMAGE_WEB=virtkube.test/busybox-httpd:1.35
# The test's registry, on the loopback of its netns (where virtkube runs): plain http.
REGISTRY=$E2E_REGISTRY
REPOSITORY=$REGISTRY/k8s
export VIRTKUBE_E2E_KUBEADM_FLAGS=${VIRTKUBE_E2E_KUBEADM_FLAGS---ignore-preflight-errors=HTTPProxyCIDR}

# The table's version of the release's minor (kubeadm accepts its own minor's patch versions).
release_version=$("$RELEASE/bin/kubeadm" version -o short 2>/dev/null) || e2e_die "$RELEASE/bin/kubeadm does not run"
minor=$(sed -E 's/^(v[0-9]+\.[0-9]+)\..*/\1/' <<<"$release_version")
VERSION=${VIRTKUBE_E2E_VERSION:-$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
v = [r["kubernetes"] for r in t["releases"] if r["kubernetes"].startswith(sys.argv[2] + ".")]
print(v[0] if v else "")' "$E2E_REPO_DIR/vm-images/kubernetes/releases.json" "$minor")}
[[ -n $VERSION ]] || e2e_skip "releases.json has no $minor version for the release's kubeadm ($release_version); set VIRTKUBE_E2E_VERSION"

# The mirror and the images are built before the e2e lock is taken (other runs may be waiting), in
# BUILD, which moves into the test's WORK once there is one.
BUILD=$(mktemp -d /tmp/vke2e-real-build.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
T0=$SECONDS
timing() { echo "# timing: $1: $((SECONDS - T0)) s since the test began${2:+ ($2)}"; }
echo "# release $RELEASE: kubeadm $release_version, started as $VERSION"

# ---- the mirror and the images ---------------------------------------------------------------------------
runtime_args=()
[[ -n ${VIRTKUBE_E2E_RUNTIME:-} ]] && runtime_args=(--runtime "$VIRTKUBE_E2E_RUNTIME")
python3 "$E2E_REPO_DIR/tests/fakes/mkmirror.py" "$E2E_REPO_DIR" "$BUILD/mirror" "$VERSION" \
    --from "$RELEASE" --debs "$E2E_DEBS" "${runtime_args[@]}" >"$BUILD/mirror.log" 2>&1 ||
    e2e_die "cannot build the mirror: $(cat "$BUILD/mirror.log")"
sed 's/^/# /' "$BUILD/mirror.log"

# image_root DIR FILE...: FILEs (host paths) copied to the same paths under DIR, with the shared libraries
# they load (ldd), so a dynamically linked binary runs in an image.
image_root() {
    local dir=$1 f lib
    shift
    for f in "$@"; do
        mkdir -p "$dir$(dirname "$f")"
        cp -L "$f" "$dir$f"
        while read -r lib; do
            [[ -e $dir$lib ]] && continue
            mkdir -p "$dir$(dirname "$lib")"
            cp -L "$lib" "$dir$lib"
        done < <(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
    done
}
# deb_root DIR PACKAGE...: Debian's PACKAGEs unpacked into DIR.
deb_root() {
    local dir=$1 p deb
    shift
    for p in "$@"; do
        deb=$(e2e_deb "$p") || return 1
        dpkg-deb -x "$deb" "$dir"
    done
}

kubeadm_images=$("$RELEASE/bin/kubeadm" config images list --kubernetes-version "$VERSION" \
    --image-repository "$REPOSITORY" 2>"$BUILD/images.err") ||
    e2e_die "kubeadm config images list failed: $(cat "$BUILD/images.err")"
printf '%s\n' "$kubeadm_images" | sed 's/^/# kubeadm wants: /'
token=virtkube-real-$$-$RANDOM
roots=$BUILD/roots
mkdir -p "$roots"
e2e_busybox_root "$roots/busybox" "$token" || e2e_die "cannot make the busybox root"
python3 "$E2E_REPO_DIR/tests/fakes/mkoci.py" "$BUILD/web.oci.tar" --image "$IMAGE_WEB" --root "$roots/busybox" \
    --entrypoint '["/bin/httpd","-f","-p","8080","-h","/www"]' >"$BUILD/web.expected" ||
    e2e_die "cannot build the web image's archive"
chmod 0644 "$BUILD/web.oci.tar"
oci_args=()
have_coredns=0
for ref in $kubeadm_images; do
    name=${ref##*/}
    name=${name%%:*}
    r=$roots/$name
    case $name in
    kube-apiserver | kube-controller-manager | kube-scheduler)
        image_root "$r" "$RELEASE/bin/$name"
        mkdir -p "$r/usr/local/bin" && mv "$r$RELEASE/bin/$name" "$r/usr/local/bin/$name"
        oci_args+=(--image "$ref" --root "$r" --entrypoint "[\"/usr/local/bin/$name\"]")
        ;;
    kube-proxy)
        # kube-proxy drives iptables and conntrack: Debian's, with their libraries and xtables modules.
        deb_root "$r" iptables libxtables12 libip4tc2 libip6tc2 libnftnl11 libmnl0 libnetfilter-conntrack3 \
            libnfnetlink0 conntrack libc6 || e2e_die "cannot unpack iptables for the kube-proxy image"
        for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
            ln -sfn xtables-nft-multi "$r/usr/sbin/$t"
        done
        image_root "$r" "$RELEASE/bin/kube-proxy"
        mkdir -p "$r/usr/local/bin" && mv "$r$RELEASE/bin/kube-proxy" "$r/usr/local/bin/kube-proxy"
        oci_args+=(--image "$ref" --root "$r" --entrypoint '["/usr/local/bin/kube-proxy"]')
        ;;
    pause)
        cp -a "$roots/busybox" "$r"
        oci_args+=(--image "$ref" --root "$r" --entrypoint '["/bin/sleep","2147483647"]')
        ;;
    etcd)
        etcd=${VIRTKUBE_E2E_ETCD:-}
        [[ -n $etcd || ! -x $RELEASE/bin/etcd ]] || etcd=$RELEASE/bin/etcd
        if [[ -z $etcd ]]; then
            deb_root "$BUILD/etcd-deb" etcd-server || e2e_die "cannot get Debian's etcd-server"
            etcd=$BUILD/etcd-deb/usr/bin/etcd
        fi
        cp -a "$roots/busybox" "$r"
        image_root "$r" "$etcd"
        mkdir -p "$r/usr/local/bin" && mv "$r$etcd" "$r/usr/local/bin/etcd.real"
        # kubeadm writes flags for the etcd its image tag names (3.6); older etcds know them by their
        # experimental names.
        cat >"$r/usr/local/bin/etcd" <<'EOF'
#!/bin/sh
for a in "$@"; do
    shift
    case $a in
    --feature-gates=InitialCorruptCheck=true) set -- "$@" --experimental-initial-corrupt-check=true ;;
    --watch-progress-notify-interval=*) set -- "$@" "--experimental-${a#--}" ;;
    *) set -- "$@" "$a" ;;
    esac
done
exec /usr/local/bin/etcd.real "$@"
EOF
        chmod 0755 "$r/usr/local/bin/etcd"
        ln -s /usr/local/bin/etcd "$r/etcd"
        oci_args+=(--image "$ref" --root "$r" --entrypoint '["/usr/local/bin/etcd"]')
        echo "# etcd image: $("$etcd" --version 2>/dev/null | head -n 1) from $etcd"
        ;;
    coredns)
        if [[ -x $RELEASE/bin/coredns ]]; then
            image_root "$r" "$RELEASE/bin/coredns"
            mv "$r$RELEASE/bin/coredns" "$r/coredns"
            oci_args+=(--image "$ref" --root "$r" --entrypoint '["/coredns"]')
            have_coredns=1
        fi
        ;;
    *) e2e_die "kubeadm wants an image this test cannot make: $ref" ;;
    esac
done
python3 "$E2E_REPO_DIR/tests/fakes/mkoci.py" "$BUILD/images.oci.tar" "${oci_args[@]}" >"$BUILD/images.expected" ||
    e2e_die "cannot build the OCI archive"
echo "# images: $(du -m "$BUILD/images.oci.tar" | cut -f1) MiB, $(wc -l <"$BUILD/images.expected") images"
if ! { mkdir "$BUILD/layout" && tar -xf "$BUILD/images.oci.tar" -C "$BUILD/layout"; }; then
    e2e_die "cannot unpack the images' layout"
fi
rm "$BUILD/images.oci.tar"
# Only the addons whose images the release can make: the storage provisioner's cannot be.
addons=default-storageclass
[[ $have_coredns == 0 ]] || addons=dns,default-storageclass
timing "mirror and images built"

e2e_setup_profile_test "$PROFILE"
mv "$BUILD" "$WORK/build"
BUILD=$WORK/build
export VIRTKUBE_HOME=$WORK/home KUBECONFIG=$WORK/kubeconfig
# Nothing can leave the machine: virtkube, kubectl and curl run in the test's namespace, whose only
# links are loopback and the isolated libvirt network.
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE https_proxy HTTPS_PROXY http_proxy HTTP_PROXY
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }
kc() { e2e_in_ns "$KUBECTL" --context "$PROFILE" "$@"; }
timing "lock taken, daemons up"

# ---- the registry in the netns, the images pushed ------------------------------------------------------------
e2e_registry_start "$BUILD/registry"
while read -r ref _; do
    e2e_registry_push "$BUILD/layout" "$ref"
done <"$BUILD/images.expected"
rm -rf "$BUILD/layout"
echo "# registry $REGISTRY (in the netns): $(wc -l <"$BUILD/images.expected") images pushed"
timing "images pushed"

# ---- start to node Ready ---------------------------------------------------------------------------------------
t=$SECONDS
nodes_args=(--nodes "$NODES")
# More nodes: the Deployment below is to spread over all of them, the control plane too.
[[ $NODES == 1 ]] || nodes_args+=(--schedule-on-control-plane)
run vk start --kubernetes-version "$VERSION" --mirror "$BUILD/mirror" --no-progress --network-mode isolated \
    --image "$image_json" --accel "${VIRTKUBE_E2E_ACCEL:-tcg}" --cpus "${VIRTKUBE_E2E_CPUS:-2}" \
    --memory "${VIRTKUBE_E2E_MEMORY:-3072}" --image-repository "$REPOSITORY" --insecure-registry "$REGISTRY" \
    --no-default-addons --addons "$addons" "${nodes_args[@]}" -v
expect_rc 0 "start brings up Kubernetes ($((SECONDS - t)) s)"
timing "start returned" "$((SECONDS - t)) s"
grep -E "^guest: |timing" <<<"$err" | sed 's/^/# /'
if [[ $rc != 0 ]]; then
    tail -n 60 "$VIRTKUBE_HOME/profiles/$PROFILE/console.log" 2>/dev/null | sed 's/^/# console: /'
    echo "1..$tap_n"
    exit 1
fi
ip=$(vk ip 2>/dev/null)
run kc get nodes -o 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'
expect "the node is Ready" test "$out" = True
if ((NODES > 1)); then
    run kc get nodes -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
    expect "kubectl get nodes shows $NODES Ready nodes" test "$(grep -c '=True$' <<<"$out")" = "$NODES"
    run kc get node "$PROFILE-m02" -o 'jsonpath={.metadata.labels}'
    expect "the worker is labelled node-role.kubernetes.io/worker" grep -q 'node-role.kubernetes.io/worker' <<<"$out"
    kc get nodes -o wide 2>&1 | sed 's/^/# nodes: /'
fi
# kube-proxy is a DaemonSet the controller manager makes after the node registers: it may come after start.
t=$SECONDS
run kc -n kube-system rollout status daemonset/kube-proxy --timeout=300s
expect_rc 0 "kube-proxy's DaemonSet rolls out ($((SECONDS - t)) s after start returned)"
run kc get pods -n kube-system -o 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\n"}{end}'
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    expect "$c is Running" grep -qE "^${c}[-a-z0-9]*=Running$" <<<"$out"
done
if [[ $have_coredns == 1 ]]; then
    run kc -n kube-system rollout status deployment/coredns --timeout=300s
    expect_rc 0 "the dns addon (CoreDNS from the release) is Ready"
else
    echo "# no bin/coredns in the release: the dns addon was not enabled"
fi
kc get nodes,pods -A -o wide 2>&1 | sed 's/^/# /'

# ---- image load, then a Deployment of it behind a NodePort, through `service --url` ------------------------
run vk image ls
while read -r ref _; do
    expect "image ls lists $ref (pulled by the host, imported from the payload)" grep -qF "$ref " <<<"$out"
done <"$BUILD/images.expected"
run vk image load "$BUILD/web.oci.tar"
expect_rc 0 "image load of the web image's archive"
expect "it names the image it loaded" grep -qx "$IMAGE_WEB" <<<"$out"
run vk image ls -o json
expect "image ls -o json lists it with the archive's digest" python3 -c '
import json, sys
name, digest = open(sys.argv[1]).read().split()[:2]
have = {i["name"]: i["digest"] for i in json.load(sys.stdin)}
sys.exit(have.get(name) != digest)' "$BUILD/web.expected" <<<"$out"
t=$SECONDS
replicas=$((NODES > 1 ? 4 : 2))
run kc create deployment web --image="$IMAGE_WEB" --replicas=$replicas --port=8080
expect_rc 0 "a Deployment of the busybox image, $replicas replicas"
run kc rollout status deployment/web --timeout=300s
expect_rc 0 "it becomes Available ($((SECONDS - t)) s)"
if ((NODES > 1)); then
    # "POD NODE POD-IP" lines: one pod on each of two nodes, and one asks the other by its pod IP (host-gw routes).
    run kc get pods -l app=web -o 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{"\n"}{end}'
    awk '{ print "# web pod: " $0 }' <<<"$out"
    expect "the $replicas replicas spread over all $NODES nodes" test "$(awk '{ print $2 }' <<<"$out" | sort -u | wc -l)" = "$NODES"
    read -r pod_a node_a _ <<<"$(head -n 1 <<<"$out")"
    read -r _ node_b ip_b <<<"$(awk -v n="$node_a" '$2 != n' <<<"$out" | head -n 1)"
    # Not busybox wget -T: Debian 12's busybox-static (1:1.35.0-4+deb12u1+b1) crashes with SIGSEGV on -T.
    # timeout(1) around kubectl exec bounds the wait instead, and the verdict tells the failures apart.
    run e2e_in_ns timeout 30 "$KUBECTL" --context "$PROFILE" exec "$pod_a" -- /bin/busybox wget -qO- "http://$ip_b:8080/"
    if ((rc == 0)); then
        why="it answered"
    elif ((rc == 124)); then
        why="no answer within 30 s: no route, or the packets are dropped"
    elif ((rc == 139)) || grep -qE "exit code (129|1[3-5][0-9])" <<<"$err"; then
        why="the client crashed (signal exit: $(grep -oE 'exit code [0-9]+' <<<"$err" || echo "exit $rc")), not a network verdict"
    elif grep -qiE "no route|unreachable|refused|timed out" <<<"$err"; then
        why="no route: $(tail -n 1 <<<"$err")"
    else
        why="exit $rc: $(tail -n 1 <<<"$err")"
    fi
    echo "# pod to pod: $why"
    expect "a pod on $node_a reaches a pod on $node_b by its pod IP $ip_b ($why)" test "$out" = "$token"
fi
run kc expose deployment web --type=NodePort --port=8080
expect_rc 0 "kubectl expose --type=NodePort"
run vk service web --url
expect_rc 0 "virtkube service web --url"
url=$out
expect "it prints an http URL on the node's IP ($url)" grep -qE "^http://$ip:[0-9]+$" <<<"$url"
t=$SECONDS
answer() { # URL: curl inside the netns until the page comes, up to 5 min (kube-proxy's first sync)
    local i body
    for ((i = 0; i < 150; i++)); do
        body=$(e2e_in_ns curl -sf --max-time 5 "$1") && [[ $body == "$token" ]] && return 0
        sleep 2
    done
    return 1
}
expect "curl in the netns gets the page through the NodePort" answer "$url"
echo "# curl $url: $(e2e_in_ns curl -s --max-time 5 "$url")"
timing "NodePort answering" "$((SECONDS - t)) s after expose"

# ---- stop (ACPI) and start: same IP, Ready again, the NodePort answers again ------------------------------
run vk stop
expect_rc 0 "stop ($secs s)"
expect "it was an ACPI shutdown, not a hard stop" grep -q "stopped '$PROFILE' (ACPI shutdown)" <<<"$out$err"
timing "stopped" "$secs s"
t=$SECONDS
run vk start -v
expect_rc 0 "start of the stopped cluster ($((SECONDS - t)) s)"
timing "started again" "$((SECONDS - t)) s"
grep -E "^guest: |timing" <<<"$err" | sed 's/^/# /'
expect "the node keeps its IP" test "$(vk ip 2>/dev/null)" = "$ip"
run kc wait --for=condition=Ready node --all --timeout=300s
expect_rc 0 "the node is Ready again"
t=$SECONDS
expect "the NodePort answers again" answer "$url"
timing "NodePort answering again" "$((SECONDS - t)) s after Ready"

# ---- delete leaves nothing ----------------------------------------------------------------------------------
run vk delete
expect_rc 0 "delete"
absent() { ! e2e_virsh "$1" "$2" >/dev/null 2>&1; }
expect "no domain is left" absent dominfo "$PROFILE"
for ((i = 2; i <= NODES; i++)); do
    expect "no domain $PROFILE-m0$i is left" absent dominfo "$PROFILE-m0$i"
done
expect "no network is left" absent net-info "virtkube-$PROFILE"
expect "no profile directory is left" test ! -e "$VIRTKUBE_HOME/profiles/$PROFILE"
no_entries() { ! grep -q "$PROFILE" "$KUBECONFIG"; }
expect "the kubeconfig keeps no entry of the profile" no_entries
timing "done"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
