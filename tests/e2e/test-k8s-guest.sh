#!/bin/bash
# e2e: a Kubernetes start on the debian-test guest (libvirtd + qemu TCG in a network namespace) with the
# real parts this machine has: containerd, runc and the CNI plugins from Debian's packages, repacked into a
# local release mirror (tests/fakes/mkmirror.py --from -), and a small OCI archive of images the test makes
# from Debian's busybox-static (tests/fakes/mkoci.py), put on the version's payload ISO through the test
# hook VIRTKUBE_TEST_PAYLOAD_IMAGES until the host builds the real archive. kubeadm, kubelet, kubectl and
# crictl are stand-ins (no Kubernetes binaries here): provisioning runs containerd for real, imports the
# images, writes the CNI config, and stops at the kubeadm stage, which is where this test says it stopped.
# Checked on the way: the payload ISO (second read-only cdrom, mounted by label), `ctr images ls` listing
# exactly the archive's references and digests (and `virtkube image ls` agreeing), `virtkube image load` of
# another archive, a container from the busybox image answering over HTTP
# (host network, and on the CNI bridge with an address from host-local), `stop` being an ACPI
# shutdown with that container running (the guest's drain unit stops it), a start after `cache clean`
# (new payload ISO), logs --provisioning, status, delete. tests/e2e/real-cluster-local.sh goes further
# with a locally built release.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
command -v python3 >/dev/null || e2e_skip "python3 is needed to build the test mirror and images"
PROFILE=vke2e-k8s
VERSION=v1.35.4
IMAGE_WEB=virtkube.test/busybox-httpd:1.35
IMAGE_SLEEP=virtkube.test/busybox-sleep:1.35
IMAGE_LOADED=virtkube.test/loaded:1
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home KUBECONFIG=$WORK/kubeconfig
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE VIRTKUBE_E2E_KUBEADM_FLAGS
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }

# vk_timed ARGS...: like run vk ARGS, each stderr line kept in $WORK/timed with the seconds since the
# command started, for the stage timings.
vk_timed() {
    local t0=$SECONDS
    vk "$@" 2>&1 >"$WORK/out" | while IFS= read -r l; do printf '%4d %s\n' $((SECONDS - t0)) "$l"; done >"$WORK/timed"
    rc=${PIPESTATUS[0]}
    secs=$((SECONDS - t0))
    out=$(cat "$WORK/out")
    err=$(sed -E 's/^ *[0-9]+ //' "$WORK/timed")
}
print_timings() { # WHAT: the host's view of the guest's stages, then start -v's own summary (steps, guest stages)
    sed -nE 's/^ *([0-9]+) (guest: [a-z]+ (ok|FAILED)).*/# timing: \1 s after '"$1"': \2/p' "$WORK/timed"
    sed -nE 's/^ *[0-9]+ virtkube: timing: /# timing: '"$1"' -v: /p' "$WORK/timed"
}

# ---- the real parts ------------------------------------------------------------------------------------
python3 "$E2E_REPO_DIR/tests/fakes/mkmirror.py" "$E2E_REPO_DIR" "$WORK/mirror" "$VERSION" \
    --from - --debs "$E2E_DEBS" >"$WORK/mirror.log" 2>&1 ||
    e2e_die "cannot build the test mirror from Debian's packages: $(cat "$WORK/mirror.log")"
sed 's/^/# /' "$WORK/mirror.log"
containerd_deb=$(sed -n 's/^mkmirror.py: containerd: Debian containerd //p' "$WORK/mirror.log")

# One root tree, two images (so the archive shares a layer): httpd serving a page with a token of this
# run, and a sleeper.
rootfs=$WORK/busybox-root
token=virtkube-e2e-$$-$RANDOM
e2e_busybox_root "$rootfs" "$token" || e2e_die "cannot make the busybox image's root"
python3 "$E2E_REPO_DIR/tests/fakes/mkoci.py" "$WORK/images.oci.tar" \
    --image "$IMAGE_WEB" --root "$rootfs" --entrypoint '["/bin/httpd","-f","-p","8080","-h","/www"]' \
    --image "$IMAGE_SLEEP" --root "$rootfs" --entrypoint '["/bin/sleep","3600"]' >"$WORK/images.expected" ||
    e2e_die "cannot build the OCI archive"
chmod 0644 "$WORK/images.oci.tar"
export VIRTKUBE_TEST_PAYLOAD_IMAGES=$WORK/images.oci.tar
sed 's/^/# image: /' "$WORK/images.expected"

# Nothing may leave the machine from here on (the Debian packages above came through apt): the mirror is a
# local directory, proxies point at a closed port.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9

# ---- first start: real containerd, the images imported, stopped at kubeadm ------------------------------
vk_timed start --kubernetes-version "$VERSION" --mirror "$WORK/mirror" --no-progress --network-mode isolated \
    --image "$image_json" --accel "$E2E_ACCEL" --cpus 1 --memory 1024 --no-preload-images -v
expect_rc 1 "a Kubernetes start with real containerd but no Kubernetes binaries fails at kubeadm (${secs}s)"
print_timings "start"
expect "the kubeconfig context was written before the boot" grep -q "kubeconfig '$KUBECONFIG': context '$PROFILE'" <<<"$err"
expect "the guest got the payload and set the system up" grep -q "^guest: system ok" <<<"$err"
expect "it installed the binaries from the payload" grep -q "^guest: binaries ok" <<<"$err"
expect "Debian's containerd ($containerd_deb) runs, with config version 2 for 1.x" \
    grep -q "^guest: containerd ok: containerd 1.x, config version 2, sandbox registry.k8s.io/pause:" <<<"$err"
expect "the images stage imported the payload's archive" \
    grep -qE "^guest: images ok: 2 images in containerd after importing images/images.oci.tar \([0-9]+ s\)" <<<"$err"
expect "the cni stage wrote the pod network's config" grep -q "^guest: cni ok: bridge cni0 10.244.0.0/24" <<<"$err"
expect "the kubelet stage ran (units, drain unit)" grep -q "^guest: kubelet ok" <<<"$err"
expect "provisioning stopped at kubeadm: no Kubernetes binaries here" \
    grep -q "provisioning failed in the guest at stage 'kubeadm'" <<<"$err"
expect "with the stand-in kubeadm's own words" grep -q "fake kubeadm: not a real binary" <<<"$err"
expect "pointing at logs --provisioning" grep -q "virtkube logs -p $PROFILE --provisioning" <<<"$err"
no_api_wait() { ! grep -q "waiting for the API server" <<<"$err"; }
expect "without waiting for the API server" no_api_wait
[[ $rc == 1 ]] || tail -n 40 "$VIRTKUBE_HOME/profiles/$PROFILE/console.log" 2>/dev/null | sed 's/^/# console: /'
echo "# where it stopped: stage kubeadm (everything after it needs Kubernetes binaries: tests/e2e/real-cluster-local.sh)"

# The payload ISO: built once per version into the cache, the domain's second cdrom, mounted by label.
expect "start built the version's payload ISO" grep -q "building the payload ISO of Kubernetes $VERSION" <<<"$err"
expect "the guest's payload stage mounted it (payload=iso)" grep -q "^guest: payload ok: mode=kubernetes payload=iso" <<<"$err"
iso=$(sed -n 's/.*"payload_iso": "\(.*\)".*/\1/p' "$VIRTKUBE_HOME/profiles/$PROFILE/config.json")
expect "the profile names its payload ISO in the cache ($iso)" test -f "$iso"
expect "libvirt-qemu can read it" runuser -u libvirt-qemu -- test -r "$iso"
xml=$(e2e_virsh dumpxml "$PROFILE" 2>&1)
expect "the running domain has two cdrom" test "$(grep -c "device='cdrom'" <<<"$xml")" = 2
expect "one of them the payload ISO" grep -qF "<source file='$iso'" <<<"$xml"
run vk ssh -- findmnt -n -o FSTYPE,OPTIONS /run/virtkube/payload
expect "in the guest: /run/virtkube/payload is a read-only iso9660 mount" grep -qE '^iso9660 +ro[,$]' <<<"$out"
run vk ssh -- readlink -f /dev/disk/by-label/VKPAYLOAD
expect "found by its label VKPAYLOAD ($out)" grep -q '^/dev/sr' <<<"$out"
run vk ssh -- test -d /run/virtkube/seed/virtkube/bin
expect_rc 1 "the seed carries no bin/"
run vk ssh -- sha256sum /run/virtkube/payload/images/images.oci.tar
expect "the payload ISO carries the test's archive at images/images.oci.tar" \
    test "${out%% *}" = "$(sha256sum <"$WORK/images.oci.tar" | cut -d' ' -f1)"

# The CPU the domain gives the guest: under TCG, CPU mode 'maximum' (qemu64 without it lacks x86-64-v2,
# which CentOS Stream 9's glibc needs; Stream 10's needs v3). glibc's own list of the levels it supports.
xml_cpu=$(grep -o "<cpu [^>]*>" <<<"$xml" | head -n 1)
echo "# cpu: the domain's element: ${xml_cpu:-none} (accel $E2E_ACCEL)"
[[ $E2E_ACCEL == tcg ]] && expect "the TCG domain asks for CPU mode 'maximum'" grep -q "<cpu mode='maximum'" <<<"$xml"
run vk ssh -- /lib64/ld-linux-x86-64.so.2 --help
levels=$(grep -E '^ +x86-64-v[234] ' <<<"$out")
awk '{ $1 = $1; print "# cpu: glibc: " $0 }' <<<"$levels"
expect "in the guest, glibc lists x86-64-v2 as supported" grep -qE '^ +x86-64-v2 \(supported' <<<"$levels"
if grep -qE '^ +x86-64-v3 \(supported' <<<"$levels"; then
    echo "# cpu: x86-64-v3 supported too (CentOS Stream 10 can run)"
else
    echo "# cpu: x86-64-v3 NOT supported (CentOS Stream 10 cannot run)"
fi
# (one argument: ssh hands it to the guest's shell as it is)
run vk ssh -- "grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'ssse3|sse4_1|sse4_2|popcnt|avx|avx2|bmi2|fma|movbe' | tr '\n' ' '"
echo "# cpu: /proc/cpuinfo has: $out"

run vk ssh -- systemctl show -p ActiveEnterTimestampMonotonic --value ssh.service
[[ $out =~ ^[0-9]+$ ]] && echo "# timing: sshd up $((out / 1000000)) s after the guest's kernel started (first boot)"

# containerd's own view of the images: exactly the archive's references, at the archive's digests.
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io images ls
listed=$(awk 'NR > 1 && $1 !~ /^sha256:/ { print $1, $3 }' <<<"$out" | sort)
expect "ctr -n k8s.io images ls lists exactly the archive's references and digests" \
    test "$listed" = "$(sort "$WORK/images.expected")"
[[ $listed == "$(sort "$WORK/images.expected")" ]] || printf '# listed: %s\n' "$out"
run vk ssh -- sudo /usr/local/bin/ctr version
expect "ctr talks to Debian's containerd ($containerd_deb)" grep -q "Version: *${containerd_deb%%~*}" <<<"$out"

# virtkube's own view, through ctr's output (image ls), and an image loaded into the node (image load).
run vk image ls -o json
expect "image ls -o json gives the same references and digests" python3 -c '
import json, sys
have = sorted("%s %s" % (i["name"], i["digest"]) for i in json.load(sys.stdin))
sys.exit(have != sorted(open(sys.argv[1]).read().splitlines()))' "$WORK/images.expected" <<<"$out"
python3 "$E2E_REPO_DIR/tests/fakes/mkoci.py" "$WORK/loaded.oci.tar" --image "$IMAGE_LOADED" --root "$rootfs" \
    --entrypoint '["/bin/sleep","3600"]' >"$WORK/loaded.expected" || e2e_die "cannot build the archive to load"
run vk image load "$WORK/loaded.oci.tar"
expect_rc 0 "image load of an OCI archive"
expect "it names the image" test "$out" = "$IMAGE_LOADED"
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io images ls -q
expect "containerd lists it" grep -qx "$IMAGE_LOADED" <<<"$out"
run vk image ls
expect "image ls too, at the archive's digest" grep -qE "^$IMAGE_LOADED +$(cut -d' ' -f2 "$WORK/loaded.expected" | cut -c1-19) " <<<"$out"
# A reference instead of a file: the host pulls it (from a registry in the test's namespace) and loads it.
e2e_registry_start "$WORK/registry"
python3 "$E2E_REPO_DIR/tests/fakes/mkoci.py" "$WORK/pulled.oci.tar" --image "$E2E_REGISTRY/test/pulled:1" \
    --root "$rootfs" --entrypoint '["/bin/sleep","3600"]' >"$WORK/pulled.expected" || e2e_die "cannot build the image to push"
mkdir "$WORK/pulled-layout" && tar -xf "$WORK/pulled.oci.tar" -C "$WORK/pulled-layout"
e2e_registry_push "$WORK/pulled-layout" "$E2E_REGISTRY/test/pulled:1"
# (The proxies point at a closed port: the registry on the netns' loopback is reached directly.)
export no_proxy=127.0.0.1
run vk image load --no-progress --insecure-registry "$E2E_REGISTRY" "$E2E_REGISTRY/test/pulled:1"
unset no_proxy
expect_rc 0 "image load of a reference: pulled by the host from the registry, then loaded"
expect "it names the image" test "$out" = "$E2E_REGISTRY/test/pulled:1"
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io images ls
expect "containerd lists it at the digest the registry served" \
    grep -qE "^$E2E_REGISTRY/test/pulled:1 .* $(e2e_in_ns skopeo inspect --tls-verify=false --format '{{.Digest}}' \
        "docker://$E2E_REGISTRY/test/pulled:1") " <<<"$out"
run vk image load "$WORK/no-such.tar"
expect_rc 1 "image load of a missing file fails"
expect "naming it" grep -q "cannot read image archive '$WORK/no-such.tar'" <<<"$err"
run vk image load "$WORK/mirror.log"
expect_rc 2 "image load of a file that is no image archive is refused as bad input (exit 2)"
expect "saying so" grep -q "'$WORK/mirror.log' is not an image archive" <<<"$err"

# A container from the imported image runs under containerd (runc from the payload) and answers.
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io run -d --net-host "$IMAGE_WEB" e2e-web
expect_rc 0 "ctr run starts a container from $IMAGE_WEB"
ip=$(vk ip 2>/dev/null)
body=""
for _ in $(seq 1 30); do
    body=$(e2e_in_ns curl --noproxy "*" -sf --max-time 5 "http://$ip:8080/") && break
    sleep 1
done
expect "its httpd answers from the test's namespace with this run's page (http://$ip:8080/)" test "$body" = "$token"
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io tasks ls
expect "containerd lists its task RUNNING" grep -qE '^e2e-web +[0-9]+ +RUNNING' <<<"$out"
run vk ssh -- sudo /usr/local/bin/runc --root /run/containerd/runc/k8s.io list
expect "runc from the payload runs it" grep -q '^e2e-web ' <<<"$out"
# The CNI plugins from the payload, with the cni stage's config: a second container on the bridge, an
# address from host-local in the pod CIDR, its httpd reached from the node through cni0.
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io run -d --cni "$IMAGE_WEB" e2e-cni
expect_rc 0 "ctr run --cni starts a container on the CNI bridge"
run vk ssh -- sudo ls /var/lib/cni/networks/virtkube
pod_ip=$(grep -E '^[0-9]+(\.[0-9]+){3}$' <<<"$out" | head -n 1)
expect "host-local gave it an address in the pod CIDR ($pod_ip)" grep -q '^10\.244\.' <<<"$pod_ip"
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io run --rm --net-host "$IMAGE_SLEEP" e2e-probe \
    /bin/busybox wget -q -O - "http://$pod_ip:8080/"
expect "its httpd answers on the bridge (busybox wget from the node's network)" test "$out" = "$token"
run vk ssh -- ip -4 -o addr show cni0
expect "the bridge cni0 is the pod network's gateway" grep -q 'inet 10\.244\.0\.1/' <<<"$out"

run vk ssh -- systemctl is-active virtkube-drain.service
expect "the drain unit is active (its stop is the ordered shutdown)" test "$out" = active

run vk logs --provisioning
expect_rc 0 "logs --provisioning exits 0"
last_is_kubeadm() { test "$(grep '^==>' <<<"$out" | tail -n 1)" = "==> /var/log/virtkube/kubeadm.log <=="; }
expect "the failed stage's log comes last" last_is_kubeadm
expect "the images stage's log shows the import" grep -q "ctr -n k8s.io images import .*images/images.oci.tar" <<<"$out"

run vk ssh -- test -e /var/lib/virtkube/provisioned
expect_rc 1 "no provisioned marker"
run vk status
expect "status: the host runs, the API server does not (exit bit 2)" test $((rc & 3)) = 2
expect "status says APIServer: Stopped" grep -qx "APIServer: Stopped" <<<"$out"

# ---- stop with a container running: an ACPI shutdown, drained in order ------------------------------------
run vk stop
expect_rc 0 "stop with a container running (${secs}s)"
echo "# timing: stop took $secs s"
expect "it was an ACPI shutdown, not a hard stop" grep -q "stopped '$PROFILE' (ACPI shutdown)" <<<"$out$err"
expect "well under the 90 s timeout ($secs s)" test "$secs" -lt 60

# Provisioning is still pending and the cache is cleaned: the next start downloads again, the version's
# payload ISO gets a new name, and the stopped domain must be pointed at it before it boots.
run e2e_in_ns "$VIRTKUBE_BIN" cache clean
expect_rc 0 "cache clean"
expect "removes the payload ISO" test ! -e "$iso"
vk_timed start --mirror "$WORK/mirror" --no-progress --no-preload-images -v
expect_rc 1 "start after cache clean boots and fails at kubeadm again (${secs}s)"
print_timings "the second start"
new_iso=$(sed -n 's/.*"payload_iso": "\(.*\)".*/\1/p' "$VIRTKUBE_HOME/profiles/$PROFILE/config.json")
expect "the payload ISO was built again under a new name ($new_iso)" test -f "$new_iso" -a "$new_iso" != "$iso"
expect "the domain's payload cdrom now reads it" grep -qF "<source file='$new_iso'" <<<"$(e2e_virsh dumpxml --inactive "$PROFILE")"
expect "the guest carried on from it (payload=iso)" grep -q "^guest: payload ok: mode=kubernetes payload=iso" <<<"$err"
expect "up to the same stage" grep -q "provisioning failed in the guest at stage 'kubeadm'" <<<"$err"
iso=$new_iso

run vk ssh -- cat /var/log/virtkube/drain.log
drained_both() { grep -q "drain: SIGTERM to k8s.io/e2e-web" <<<"$out" && grep -q "drain: SIGTERM to k8s.io/e2e-cni" <<<"$out"; }
expect "the last shutdown drained: SIGTERM to both containers" drained_both
expect "and finished" grep -qE "drain: done in [0-9]+ s" <<<"$out"
sed -n 's/^.*\(drain: .*\)$/# \1/p' <<<"$out"
run vk ssh -- sudo /usr/local/bin/ctr -n k8s.io images ls -q
expect "the images are still in containerd after the restart" grep -qx "$IMAGE_WEB" <<<"$out"

run vk delete
expect_rc 0 "delete exits 0"
expect "the payload ISO stays in the cache for the version's other profiles" test -f "$iso"
no_entries() { ! grep -q "$PROFILE" "$KUBECONFIG"; }
expect "the kubeconfig keeps no entry of the profile" no_entries
absent() { ! e2e_virsh "$1" "$2" >/dev/null 2>&1; }
expect "no domain is left" absent dominfo "$PROFILE"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
