#!/bin/bash
# A Kubernetes start on libvirt's test driver with binaries from a local mirror: PKI, seed, shared payload ISO, kubeconfig, status, delete.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

# Whatever is not local goes to a closed local port, never to the internet.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
py=/usr/bin/python3
[ -x "$py" ] || py=python3
TEST_URI=test:///default
version=v1.35.4

img=$TEST_TMP/base.qcow2
"$py" -c 'import struct,sys; open(sys.argv[1],"wb").write(b"QFI\xfb"+struct.pack(">I",3)+b"\0"*16+struct.pack(">Q",1<<30)+b"\0"*480)' "$img"

# A mirror laid out like the upstream hosts, each file with its published
# checksum; crictl is a real tarball (start takes the binary out of it).
mirror=$TEST_TMP/mirror
"$py" "$top_srcdir/tests/fakes/mkmirror.py" "$top_srcdir" "$mirror" "$version"
check "the test mirror was built" test -d "$mirror/release/$version/bin/linux/amd64"

# By default the host preloads the container images, listed by the version's own kubeadm: the
# mirror's stand-in kubeadm cannot list them, so the start stops there, saying so, before any VM.
run vk -p preload start --kubernetes-version "$version" --mirror "$mirror" --image "$img" --libvirt-uri $TEST_URI \
	--network-mode isolated --no-progress
expect_rc 1 "a start whose kubeadm cannot list its images fails"
expect_err "start failed at step 'images': cannot preload the container images of Kubernetes $version" "at step 'images'"
expect_err "hint: .*'--no-preload-images' lets the guest pull them itself" "pointing at --no-preload-images"
check "and no domain was defined" test ! -e "$VIRTKUBE_HOME/profiles/preload/disk.qcow2"
run vk -p preload delete

# Someone else's kubeconfig entries must survive all of this.
mkdir -p "$(dirname "$KUBECONFIG")"
cat >"$KUBECONFIG" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: work
  cluster:
    server: https://work.example:6443
users:
- name: work
  user:
    token: abc
contexts:
- name: work
  context:
    cluster: work
    user: work
current-context: work
EOF

# -vv: the domain XML is logged (the test driver's domains live only as long as the process).
run vk -vv -p kc start --no-preload-images --kubernetes-version "${version#v}" --mirror "$mirror" --image "$img" --libvirt-uri $TEST_URI \
	--network-mode isolated --cpus 1 --memory 512 --no-progress
expect_rc 0 "a Kubernetes start on the test driver succeeds"
expect_err "building the payload ISO of Kubernetes $version" "the first start of the version builds its payload ISO"
expect_out "profile 'kc' is running Kubernetes $version at https://192\.168\.[0-9]+\.2:8443" "and says where the API server is"
expect_err "kubeconfig '.*': context 'kc' \(current\)" "it reports the kubeconfig context"
expect_err "no guest to follow" "and that the test driver has no guest to follow"

prof=$VIRTKUBE_HOME/profiles/kc
ip=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_ip"])' "$prof/config.json")
check "config.json records the Kubernetes version" grep -q "\"kubernetes_version\": \"$version\"" "$prof/config.json"
check "and the API port" grep -q '"api_port": 8443' "$prof/config.json"
payload=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("payload_iso", ""))' "$prof/config.json")
check "config.json names the payload ISO, in the cache" \
	grep -qE "^$VIRTKUBE_HOME/cache/payload/$version-[0-9a-f]{12}\.iso$" <<<"$payload"
check "the payload ISO is there, 0644 (qemu:///system's qemu reads it)" test "$(stat -c %a "$payload")" = 644
# The domain XML as defined: the payload is the second, read-only cdrom.
xml=$(sed -n "/defining domain:/,/<\/domain>/p" <<<"$err")
check "the domain XML has two cdroms" test "$(grep -c "device='cdrom'" <<<"$xml")" = 2
check "the seed is one" grep -qF "<source file='$prof/seed.iso'/>" <<<"$xml"
check "the payload ISO is the other, read-only at sdb" "$py" -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.argv[1])
disks = [x for x in d.iter("disk") if x.get("device") == "cdrom" and x.find("source").get("file") == sys.argv[2]]
assert len(disks) == 1, disks
x = disks[0]
assert x.find("readonly") is not None and x.find("target").get("dev") == "sdb", ET.tostring(x)
assert x.find("target").get("bus") == "scsi" and x.find("address").get("unit") == "1", ET.tostring(x)' \
	"$(sed '1s/.*defining domain://' <<<"$xml" | sed 's/^virtkube: //')" "$payload"
check "the CA key is 0600" test "$(stat -c %a "$prof/ca.key")" = 600
check "the client key is 0600" test "$(stat -c %a "$prof/client.key")" = 600
run openssl verify -CAfile "$prof/ca.crt" "$prof/client.crt"
expect_rc 0 "the client certificate verifies against the profile's CA"

if command -v xorriso >/dev/null; then
	seed=$TEST_TMP/seed
	xorriso -osirrox on -indev "$prof/seed.iso" -extract / "$seed" >/dev/null 2>&1
	check "the seed has the payload's mode: kubernetes" test "$(cat "$seed/virtkube/mode")" = kubernetes
	check "the provisioning script" cmp -s "$seed/virtkube/provision" "$top_srcdir/scripts/guest/provision"
	check "the env file names the node IP" grep -qx "NODE_IP=$ip" "$seed/virtkube/env"
	check "and the version" grep -qx "KUBERNETES_VERSION=$version" "$seed/virtkube/env"
	check "kubeadm.yaml advertises the node IP" grep -q "advertiseAddress: $ip" "$seed/virtkube/kubeadm.yaml"
	check "kubeadm.yaml is v1beta4" grep -q "apiVersion: kubeadm.k8s.io/v1beta4" "$seed/virtkube/kubeadm.yaml"
	check "the cluster CA is on the seed" cmp -s "$seed/virtkube/pki/ca.crt" "$prof/ca.crt"
	check "with its key" cmp -s "$seed/virtkube/pki/ca.key" "$prof/ca.key"
	check "the seed carries no binaries, tarballs or units (they are on the payload ISO)" \
		test ! -e "$seed/virtkube/bin" -a ! -e "$seed/virtkube/containerd.tar.gz" -a ! -e "$seed/virtkube/units"
	check "so it is small (under 1 MiB)" test "$(stat -c %s "$prof/seed.iso")" -lt 1048576
	check "user-data runs the payload's script" grep -qF "bash \$d/virtkube/provision" "$seed/user-data"
	pl=$TEST_TMP/payload
	xorriso -osirrox on -indev "$payload" -extract / "$pl" >/dev/null 2>&1
	run xorriso -indev "$payload" -pvd_info
	expect_out "Volume Id *: VKPAYLOAD" "the payload ISO's label is VKPAYLOAD"
	cached() { find "$VIRTKUBE_HOME/cache" -type f -name "$1" | head -n 1; }
	for b in kubeadm kubelet kubectl; do
		check "payload bin/$b is the cached download" cmp -s "$pl/bin/$b" "$(cached "$b")"
	done
	check "payload bin/runc is the cached runc.amd64" cmp -s "$pl/bin/runc" "$(cached runc.amd64)"
	check "binaries are executable on the payload ISO" test -x "$pl/bin/kubelet"
	check "bin/crictl came out of its tarball" grep -q '^#!fake crictl' "$pl/bin/crictl"
	check "containerd.tar.gz is there" test -s "$pl/containerd.tar.gz"
	check "cni-plugins.tgz is there" test -s "$pl/cni-plugins.tgz"
	check "the systemd units are there" cmp -s "$pl/units/kubelet.service" "$top_srcdir/scripts/guest/units/kubelet.service"
	check "nothing of the profile's own is on it" test ! -e "$pl/virtkube" -a ! -e "$pl/user-data"
else
	pass "# SKIP xorriso is not installed: the seed's contents are not checked"
fi

if command -v kubectl >/dev/null; then
	run kubectl config current-context
	expect_out "^kc$" "kubectl: the new context is current"
	run kubectl config get-contexts -o name
	expect_out "^work$" "the other context is still there"
	run kubectl --context kc config view --minify -o 'jsonpath={.clusters[0].cluster.server}'
	expect_out "^https://$ip:8443$" "kubectl --context kc points at the node"
else
	pass "# SKIP kubectl is not installed"
fi

# Each process gets a fresh test driver: the domain is gone for status.
run vk -p kc status -o json
expect_rc 7 "status: host, cluster and Kubernetes down: exit bits 1|2|4"
check "status -o json has the Kubernetes fields" "$py" -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["Host"] == "Nonexistent", d
assert d["APIServer"] == "Stopped" and d["Kubelet"] == "Stopped", d
assert d["Kubeconfig"] == "Configured", d' "$out"

# A second start finds the machine running and changes nothing.
run vk -p kc start --no-preload-images --offline --keep-context
expect_rc 0 "a second start (offline: all cached) succeeds"

# The kubeconfig loses its entry: status says so (bit 4).
if command -v kubectl >/dev/null; then
	kubectl config delete-context kc >/dev/null 2>&1
	run vk -p kc status
	expect_out "^Kubeconfig: Nonexistent$" "status after the context was removed: Kubeconfig: Nonexistent"
fi
run vk -p kc update-context
expect_rc 0 "update-context puts it back"
run vk -p kc status
expect_out "^Kubeconfig: Configured$" "status: Configured again"

# A second profile of the same version shares the payload ISO: not rebuilt.
before=$(stat -c '%i %Y.%y' "$payload")
run vk -vv -p kc2 start --no-preload-images --offline --kubernetes-version "$version" --image "$img" --libvirt-uri $TEST_URI \
	--network-mode isolated --cpus 1 --memory 512 --keep-context
expect_rc 0 "a second profile of the version starts (offline)"
payload2=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("payload_iso", ""))' "$VIRTKUBE_HOME/profiles/kc2/config.json")
check "it uses the same payload ISO" test "$payload2" = "$payload"
check "which was not rebuilt (same inode and mtime)" test "$(stat -c '%i %Y.%y' "$payload")" = "$before"
check "its domain has it as the second cdrom" grep -qF "<source file='$payload' startupPolicy='optional'/>" <<<"$err"
check "and no 'building' line" test "$(grep -c 'building the payload ISO' <<<"$err")" = 0
run vk -p kc2 delete
expect_rc 0 "the second profile deletes"
check "its delete leaves the shared payload ISO" test -f "$payload"

# A changed input (a re-downloaded kubelet: new mtime) makes a new ISO.
touch -d '2001-02-03 04:05:06' "$(find "$VIRTKUBE_HOME/cache" -type f -name kubelet | head -n 1)"
run vk -v -p kc3 start --no-preload-images --offline --kubernetes-version "$version" --image "$img" --libvirt-uri $TEST_URI \
	--network-mode isolated --cpus 1 --memory 512 --keep-context
expect_rc 0 "a third profile after an input changed starts"
payload3=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("payload_iso", ""))' "$VIRTKUBE_HOME/profiles/kc3/config.json")
check "it gets a new payload ISO, not the stale one" test -n "$payload3" -a "$payload3" != "$payload" -a -f "$payload3"
expect_err "building the payload ISO of Kubernetes $version" "built for it"
run vk cache list
expect_out "^payload/$version-[0-9a-f]{12}\.iso +[0-9.]+ [KMG]?i?B +built$" "cache list shows payload ISOs as built"
run vk -p kc3 delete
expect_rc 0 "the third profile deletes"

# cache clean takes the payload ISOs too; the next start builds one again before boot.
run vk cache clean
expect_rc 0 "cache clean"
check "the payload ISOs are gone" test ! -e "$payload" -a ! -e "$payload3"
run vk -v -p kc start --no-preload-images --mirror "$mirror" --keep-context --no-progress
expect_rc 0 "a later start of the first profile after cache clean"
expect_err "building the payload ISO" "builds the payload ISO again"
payload4=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("payload_iso", ""))' "$prof/config.json")
check "before the domain boots: it is there" test -f "$payload4"

run vk -p kc delete
expect_rc 0 "delete exits 0"
expect_err "removed context 'kc' from" "and says the context was removed"
if command -v kubectl >/dev/null; then
	run kubectl config get-contexts -o name
	check "kubectl: only the work context is left" test "$out" = work
	run kubectl config view -o 'jsonpath={.clusters[*].name} {.users[*].name}'
	expect_out "^work work$" "the profile's cluster and user are gone too"
fi

# A --no-kubernetes profile: mode none on the seed, no kubeconfig entry, only host in status.
run vk -p plain start --no-kubernetes --image "$img" --libvirt-uri $TEST_URI --network-mode isolated --cpus 1 --memory 512
expect_rc 0 "a --no-kubernetes start succeeds"
if command -v xorriso >/dev/null; then
	seed2=$TEST_TMP/seed2
	xorriso -osirrox on -indev "$VIRTKUBE_HOME/profiles/plain/seed.iso" -extract / "$seed2" >/dev/null 2>&1
	check "its payload's mode is none" test "$(cat "$seed2/virtkube/mode")" = none
	check "and it carries no Kubernetes binaries" test ! -e "$seed2/virtkube/bin"
fi
check "it has no CA" test ! -e "$VIRTKUBE_HOME/profiles/plain/ca.crt"
run vk -p plain status -o json
expect_rc 1 "status of a --no-kubernetes profile whose host is down: exit bit 1 only"
check "and shows no Kubernetes fields" "$py" -c '
import json, sys
d = json.loads(sys.argv[1])
assert "APIServer" not in d and "Kubelet" not in d and "Kubeconfig" not in d, d' "$out"
run vk -p plain update-context
expect_rc 1 "update-context on it fails"
run vk -p plain delete
expect_rc 0 "it deletes"

finish
