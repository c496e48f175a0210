#!/bin/bash
# e2e: a Kubernetes start on a real libvirtd + qemu (TCG) in a network namespace with the debian-test guest and
# fake Kubernetes binaries from a local mirror: the domain gets the version's shared payload ISO from the cache as
# its second read-only cdrom, qemu (as libvirt-qemu) can read it, and the guest mounts it by its label and installs
# the binaries from it. Fake binaries cannot make a cluster, so provisioning fails at a later stage; that is expected.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
: "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube}"
[[ -x $VIRTKUBE_BIN ]] || e2e_skip "VIRTKUBE_BIN '$VIRTKUBE_BIN' is not executable"
command -v python3 >/dev/null 2>&1 || e2e_skip "python3 not installed (it makes the fake mirror)"
e2e_lock

E2E_PREFIX=vke2e-pay
PROFILE=vke2e-pay
NETWORK=virtkube-$PROFILE
VERSION=v1.35.4
WORK=""
on_exit() {
    local rc=$?
    if [[ -n $E2E_LIBVIRTD_PID ]]; then
        e2e_cleanup_libvirt "$NETWORK"
    fi
    e2e_stop_daemons
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}
trap on_exit EXIT

tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() {
    tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}
# run CMD...: stdout in $out, stderr in $err, exit code in $rc, seconds in $secs.
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

e2e_start_daemons
image_json=$(e2e_image) || exit 1

WORK=$(mktemp -d /tmp/vke2e-payload.XXXXXX)
chmod 0711 "$WORK"
export VIRTKUBE_HOME=$WORK/home KUBECONFIG=$WORK/kubeconfig
# Nothing may reach the internet: the mirror is a local directory, proxies point at a closed local port.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }

# The mirror: each artifact a small shell script (or a tarball of them) that says what it is.
python3 - "$E2E_REPO_DIR" "$WORK/mirror" "$VERSION" <<'PY' || exit 1
import hashlib, io, json, os, re, sys, tarfile
src, out, version = sys.argv[1:4]
def script(name):
    return ("#!/bin/sh\necho fake %s from the payload ISO\n" % name).encode()
def tgz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
def put(url, data):
    path = os.path.join(out, url.split("/", 3)[3])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
table = json.load(open(os.path.join(src, "vm-images/kubernetes/releases.json")))
rel = next(r for r in table["releases"] if r["kubernetes"] == version)
for a in table["artifacts"]:
    e = {k: re.sub(r"\$\{(\w+)\}", lambda m: rel[m.group(1)], v) for k, v in a.items()}
    body = {
        "crictl": lambda: tgz([("crictl", script("crictl"))]),
        "containerd": lambda: tgz([("bin/containerd", script("containerd"))]),
        "cni-plugins": lambda: tgz([("./" + p, script(p)) for p in ("bridge", "host-local", "loopback", "portmap")]),
    }.get(e["id"], lambda: script(e["id"]))()
    put(e["url"], body)
    h, name = hashlib.sha256(body).hexdigest(), e["url"].rsplit("/", 1)[1]
    s = h if e["checksum_url"].startswith("https://dl.k8s.io/") else "%s  %s\n" % (h, e.get("checksum_name") or name)
    put(e["checksum_url"], s.encode())
PY

run vk start --kubernetes-version "$VERSION" --mirror "$WORK/mirror" --network-mode isolated --image "$image_json" \
    --cpus 1 --memory 1024 --wait-timeout 900 --no-progress -v
echo "# start: exit $rc after ${secs}s; guest stages:"
grep '^guest: ' <<<"$err" | sed 's/^/#   /'
expect "start built the version's payload ISO" grep -q "building the payload ISO of Kubernetes $VERSION" <<<"$err"
expect "the guest followed to a stage after payload (fake binaries: a later one fails)" grep -q "^guest: system " <<<"$err"
expect "the guest's payload stage mounted the payload ISO (payload=iso)" \
    grep -q "^guest: payload ok: mode=kubernetes payload=iso" <<<"$err"

iso=$(sed -n 's/.*"payload_iso": "\(.*\)".*/\1/p' "$VIRTKUBE_HOME/profiles/$PROFILE/config.json")
expect "the profile names its payload ISO in the cache ($iso)" test -f "$iso"
expect "libvirt-qemu can read it" runuser -u libvirt-qemu -- test -r "$iso"
xml=$(e2e_virsh dumpxml "$PROFILE" 2>&1)
expect "the running domain has two cdroms" test "$(grep -c "device='cdrom'" <<<"$xml")" = 2
expect "one of them the payload ISO" grep -qF "<source file='$iso'" <<<"$xml"

run vk ssh -- findmnt -n -o FSTYPE,OPTIONS /run/virtkube/payload
expect "in the guest: /run/virtkube/payload is a read-only iso9660 mount" grep -qE '^iso9660 +ro[,$]' <<<"$out"
run vk ssh -- readlink -f /dev/disk/by-label/VKPAYLOAD
expect "found by its label VKPAYLOAD ($out)" grep -q '^/dev/sr' <<<"$out"
run vk ssh -- cat /run/virtkube/payload/bin/kubeadm
expect "holding the mirror's kubeadm" grep -q "fake kubeadm from the payload ISO" <<<"$out"
run vk ssh -- test -d /run/virtkube/seed/virtkube/bin
expect "the seed carries no bin/" test "$rc" = 1
if grep -q "^guest: binaries ok" <<<"$err"; then
    run vk ssh -- /usr/local/bin/kubelet
    expect "binaries stage: /usr/local/bin/kubelet came from the payload ISO" grep -q "fake kubelet from the payload ISO" <<<"$out"
else
    ok "# SKIP the guest stopped before the binaries stage (its system stage failed on this image)"
fi

run vk delete
expect_rc 0 "delete exits 0"
expect "the payload ISO stays in the cache for the version's other profiles" test -f "$iso"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
