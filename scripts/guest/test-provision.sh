#!/bin/bash
# Tests scripts/guest/provision without a VM: fake seed and root trees in a
# temporary directory, console as a file, privileged commands dry-run.
# Prints TAP; exits 1 if a test failed.
# Checks are functions passed to ok() and "bash -c" snippets whose "$1" is
# meant literally, which shellcheck cannot follow:
# shellcheck disable=SC2317,SC2016
set -u

here=$(cd "$(dirname "$0")" && pwd)
script=$here/provision
tmp=$(mktemp -d) || exit 1
trap 'if [ -n "${KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi' EXIT

n=0
failed=0
ok() { # ok DESCRIPTION COMMAND...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}

# make_seed DIR MODE [PKG]: a complete fake payload for MODE; with PKG the
# binaries and units go there (the payload ISO's root) instead of the seed
# (the layout before the payload ISO), each binary saying which. The fake
# containerd prints $containerd_version for --version.
containerd_version=""
make_seed() {
	local s=$1/virtkube b k=${3:-$1/virtkube}
	mkdir -p "$s/pki" "$tmp/tar/bin" "$tmp/tar/cni"
	echo "$2" >"$s/mode"
	cp "$script" "$s/provision"
	[ "$2" = kubernetes ] || return 0
	cat >"$s/env" <<'EOF'
NODE_IP=192.168.39.10
POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/12
KUBERNETES_VERSION=v1.33.1
API_PORT="8443"
EOF
	cat >"$s/kubeadm.yaml" <<'EOF'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
timeouts:
  controlPlaneComponentHealthCheck: 12m0s
  kubeletHealthCheck: 8m0s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
certificatesDir: /etc/kubernetes/pki
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
resolvConf: /etc/resolv.conf
EOF
	echo "fake ca cert" >"$s/pki/ca.crt"
	echo "fake ca key" >"$s/pki/ca.key"
	mkdir -p "$k/bin" "$k/units"
	for b in kubeadm kubelet kubectl crictl runc; do
		printf '#!/bin/sh\necho fake %s from %s\n' "$b" "$k" >"$k/bin/$b"
		chmod 0755 "$k/bin/$b"
	done
	printf '#!/bin/sh\necho "%s"\n' "$containerd_version" >"$tmp/tar/bin/containerd"
	chmod 0755 "$tmp/tar/bin/containerd"
	tar -czf "$k/containerd.tar.gz" -C "$tmp/tar" bin
	for b in bridge host-local loopback portmap; do
		printf '#!/bin/sh\n' >"$tmp/tar/cni/$b"
		chmod 0755 "$tmp/tar/cni/$b"
	done
	tar -czf "$k/cni-plugins.tgz" -C "$tmp/tar/cni" .
	cp "$here"/units/containerd.service "$here"/units/kubelet.service \
		"$here"/units/10-kubeadm.conf "$here"/units/virtkube-drain.service "$k/units/"
}

# run CASE [console-name]: runs provision for tmp/CASE, console to a new file;
# tmp/CASE/iso, when there, is the payload ISO's root (VIRTKUBE_PAYLOAD_DIR).
run() {
	local c=$tmp/$1 con=$tmp/$1/${2:-console} iso=""
	: >"$con"
	[ ! -d "$c/iso" ] || iso=$c/iso
	VIRTKUBE_SEED_DIR=$c/seed VIRTKUBE_ROOT=$c/root VIRTKUBE_CONSOLE=$con VIRTKUBE_PAYLOAD_DIR=$iso \
		VIRTKUBE_DRY_RUN=1 VIRTKUBE_DEVICE_WAIT=1 bash "$c/seed/virtkube/provision" >"$c/out" 2>&1
	echo $? >"$c/rc"
}

# run_installed CASE: what the boot unit runs on a later boot, the copy the
# first run installed (the seed is given, as the unit would mount it).
run_installed() {
	local c=$tmp/$1
	: >"$c/console"
	VIRTKUBE_SEED_DIR=$c/seed VIRTKUBE_ROOT=$c/root VIRTKUBE_CONSOLE=$c/console \
		VIRTKUBE_DRY_RUN=1 VIRTKUBE_DEVICE_WAIT=1 bash "$c/root/usr/local/sbin/virtkube-provision" >"$c/out" 2>&1
	echo $? >"$c/rc"
}

# The protocol lines of a console file, without the per-boot id line.
proto() { grep -E '^VIRTKUBE-(STAGE|READY|FAILED)' "$1" | sed -E 's/^(VIRTKUBE-STAGE [a-z]+ (ok|fail)).*/\1/'; }
expect() { # expect FILE LINE...: the protocol lines are exactly these
	local want got
	want=$(printf '%s\n' "${@:2}")
	got=$(proto "$1")
	[ "$got" = "$want" ] || { printf '# want:\n%s\n# got:\n%s\n' "$want" "$got" | sed 's/^/#   /'; return 1; }
}
rc_is() { [ "$(cat "$tmp/$1/rc")" = "$2" ]; }

echo "1..70"

# --- mode none -------------------------------------------------------------
mkdir -p "$tmp/none/root/etc/cloud" "$tmp/none/root/var/lib/cloud/scripts/per-boot"
echo old >"$tmp/none/root/var/lib/cloud/scripts/per-boot/virtkube-provision"
make_seed "$tmp/none/seed" none
printf 'UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n' >"$tmp/none/root/etc/fstab"
run none
ok "mode none: exits 0" rc_is none 0
ok "mode none: payload, system, READY in order" \
	expect "$tmp/none/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" "VIRTKUBE-READY"
ok "mode none: every stage line is one of the protocol's" \
	bash -c '! grep -v -E "^VIRTKUBE-(BOOT [^ ]+|STAGE [a-z]+ (ok|fail)( .*)?|READY|FAILED [a-z]+|LOG [a-z]+: .*)$" "$1"' _ "$tmp/none/console"
ok "mode none: marker written" test -f "$tmp/none/root/var/lib/virtkube/provisioned"
ok "mode none: swap line in fstab commented out" \
	grep -qx '#/swapfile none swap sw 0 0' "$tmp/none/root/etc/fstab"
ok "mode none: each stage has its log" \
	test -s "$tmp/none/root/var/log/virtkube/payload.log" -a -s "$tmp/none/root/var/log/virtkube/system.log"


# --- later boots: a systemd unit runs the installed copy, cloud-init is off ---
r=$tmp/none/root
ok "boot hook: the script is installed as /usr/local/sbin/virtkube-provision" \
	cmp -s "$script" "$r/usr/local/sbin/virtkube-provision"
ok "boot hook: virtkube-provision.service runs it" \
	grep -qx 'ExecStart=/usr/local/sbin/virtkube-provision' "$r/etc/systemd/system/virtkube-provision.service"
ok "boot hook: the unit is enabled (multi-user.target wants it)" \
	test "$(readlink "$r/etc/systemd/system/multi-user.target.wants/virtkube-provision.service")" = \
	../virtkube-provision.service
ok "boot hook: cloud-init is switched off for later boots" test -f "$r/etc/cloud/cloud-init.disabled"
ok "boot hook: the old cloud-init per-boot hook is gone" \
	test ! -e "$r/var/lib/cloud/scripts/per-boot/virtkube-provision"

# --- the marker skips provisioning ------------------------------------------
cp "$tmp/none/root/var/log/virtkube/system.log" "$tmp/system.log.before"
run none console2
ok "marker: second run exits 0" rc_is none 0
ok "marker: second run prints only READY" expect "$tmp/none/console2" "VIRTKUBE-READY"
ok "marker: second run did not run stages" cmp -s "$tmp/system.log.before" "$tmp/none/root/var/log/virtkube/system.log"

# --- the e2e's test hook holds a stage back once per machine ---------------
make_seed "$tmp/pause/seed" none
echo "system 0" >"$tmp/pause/seed/virtkube/test-pause"
run pause
ok "test-pause: the stage is held back, said on the console" \
	grep -qx 'VIRTKUBE-LOG system: test hook: holding this stage back for 0 s' "$tmp/pause/console"
rm "$tmp/pause/root/var/lib/virtkube/provisioned"
run pause
ok "test-pause: only once per machine, then the run goes through" \
	bash -c '! grep -q "test hook" "$1" && grep -qx VIRTKUBE-READY "$1"' _ "$tmp/pause/console"

# --- mode kubernetes, a binary missing --------------------------------------
make_seed "$tmp/k8s/seed" kubernetes
rm "$tmp/k8s/seed/virtkube/bin/kubelet"
run k8s
ok "missing binary: exits 1" rc_is k8s 1
ok "missing binary: payload, system ok, binaries fail, FAILED binaries" \
	expect "$tmp/k8s/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" \
	"VIRTKUBE-STAGE binaries fail" "VIRTKUBE-FAILED binaries"
ok "missing binary: the fail line names bin/kubelet" \
	grep -q '^VIRTKUBE-STAGE binaries fail .*bin/kubelet' "$tmp/k8s/console"
ok "missing binary: 1..20 VIRTKUBE-LOG binaries lines, before FAILED" \
	bash -c 'c=$(grep -c "^VIRTKUBE-LOG binaries: " "$1"); [ "$c" -ge 1 ] && [ "$c" -le 20 ] &&
		[ "$(tail -n 1 "$1")" = "VIRTKUBE-FAILED binaries" ] &&
		grep -q "^VIRTKUBE-LOG binaries: .*bin/kubelet" "$1"' _ "$tmp/k8s/console"
ok "missing binary: no marker" test ! -e "$tmp/k8s/root/var/lib/virtkube/provisioned"
for _ in 1 2 3 4 5 6 7 8; do run k8s; done
ok "missing binary: exactly the last 20 log lines once the log is longer" \
	bash -c '[ "$(grep -c "^VIRTKUBE-LOG binaries: " "$1")" -eq 20 ]' _ "$tmp/k8s/console"

# --- the same seed made whole: the next boot's run finishes ------------------
make_seed "$tmp/k8s/seed" kubernetes
run_installed k8s
ok "re-run after failure (the boot unit's copy): exits 0" rc_is k8s 0
ok "mode kubernetes: all stages in order, then READY" \
	expect "$tmp/k8s/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" \
	"VIRTKUBE-STAGE binaries ok" "VIRTKUBE-STAGE containerd ok" "VIRTKUBE-STAGE images ok" \
	"VIRTKUBE-STAGE cni ok" "VIRTKUBE-STAGE kubelet ok" \
	"VIRTKUBE-STAGE kubeadm ok" "VIRTKUBE-STAGE node ok" "VIRTKUBE-READY"
r=$tmp/k8s/root
ok "mode kubernetes: binaries, containerd, CNI plugins and CA in place" \
	test -x "$r/usr/local/bin/kubelet" -a -x "$r/usr/local/bin/containerd" -a \
	-x "$r/opt/cni/bin/bridge" -a -f "$r/etc/kubernetes/pki/ca.key"
ok "mode kubernetes: containerd uses the systemd cgroup driver, CNI has the pod CIDR" \
	bash -c 'grep -q "SystemdCgroup = true" "$1/etc/containerd/config.toml" &&
		grep -q "\"subnet\": \"10.244.0.0/16\"" "$1/etc/cni/net.d/10-virtkube-bridge.conflist"' _ "$r"
ok "mode kubernetes: kubeadm init skips CoreDNS (dry-run log)" \
	grep -q 'DRY-RUN: .*kubeadm init --config .*/etc/virtkube/kubeadm.yaml --skip-phases=addon/coredns' \
	"$r/var/log/virtkube/kubeadm.log"
ok "old layout (binaries on the seed): the payload stage says payload=seed" \
	grep -q '^VIRTKUBE-STAGE payload ok mode=kubernetes payload=seed' "$tmp/k8s/console"

ok "containerd of unknown version: config version 2" \
	bash -c 'grep -qx "version = 2" "$1/etc/containerd/config.toml" &&
		grep -q "^VIRTKUBE-STAGE containerd ok containerd ?.x, config version 2" "$2"' _ "$r" "$tmp/k8s/console"
ok "no images archive on the payload: the images stage says so and imports nothing" \
	bash -c 'grep -q "^VIRTKUBE-STAGE images ok none on the payload" "$1" &&
		! grep -q "images import" "$2/var/log/virtkube/images.log"' _ "$tmp/k8s/console" "$r"
ok "no test hook: kubeadm init gets no extra flags" \
	grep -q 'DRY-RUN: .*kubeadm init .*--ignore-preflight-errors=NumCPU,Mem$' "$r/var/log/virtkube/kubeadm.log"
ok "no /etc/resolv.conf in the root: one is made, and the kubelet is pointed at it" \
	bash -c 'grep -q "^# Written by virtkube" "$1/etc/resolv.conf" &&
		grep -qx "resolvConf: /etc/resolv.conf" "$1/etc/virtkube/kubeadm.yaml"' _ "$r"
ok "ordered shutdown: virtkube-drain.service installed, stopping runs the drain" \
	bash -c 'grep -qx "ExecStop=/usr/local/sbin/virtkube-provision drain" "$1/etc/systemd/system/virtkube-drain.service" &&
		grep -qx "Before=kubelet.service" "$1/etc/systemd/system/virtkube-drain.service" &&
		grep -q "DRY-RUN: systemctl enable --now virtkube-drain.service" "$1/var/log/virtkube/kubelet.log"' _ "$r"
ok "no temporary file is left beside what was written (/etc/cni/net.d, /etc)" \
	bash -c '[ -z "$(find "$1/etc" -name ".*.??????")" ] && [ -z "$(ls -A "$1/var/lib/virtkube/tmp")" ]' _ "$r"

# --- the payload ISO layout: binaries and units on their own ISO --------------
containerd_version="containerd github.com/containerd/containerd v2.2.4 5dd3ceb"
make_seed "$tmp/iso/seed" kubernetes "$tmp/iso/iso"
containerd_version=""
mkdir -p "$tmp/iso/iso/images" "$tmp/iso/root/etc"
echo "fake archive" >"$tmp/iso/iso/images/images.oci.tar"
echo "nameserver 192.0.2.53" >"$tmp/iso/root/etc/resolv.conf"
echo "KUBEADM_INIT_FLAGS=--ignore-preflight-errors=HTTPProxyCIDR --v=5" >>"$tmp/iso/seed/virtkube/env"
printf '%s\n' "REGISTRY_MIRROR=https://mirror.test:5000" "INSECURE_REGISTRIES=lab.test:5000,10.1.2.3:80" \
	>>"$tmp/iso/seed/virtkube/env"
run iso
ok "payload ISO: exits 0" rc_is iso 0
ok "payload ISO: all stages in order, then READY" \
	expect "$tmp/iso/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" \
	"VIRTKUBE-STAGE binaries ok" "VIRTKUBE-STAGE containerd ok" "VIRTKUBE-STAGE images ok" \
	"VIRTKUBE-STAGE cni ok" "VIRTKUBE-STAGE kubelet ok" \
	"VIRTKUBE-STAGE kubeadm ok" "VIRTKUBE-STAGE node ok" "VIRTKUBE-READY"
ok "payload ISO: the seed holds no binaries" test ! -e "$tmp/iso/seed/virtkube/bin"
ok "payload ISO: the payload stage says payload=iso" \
	grep -q '^VIRTKUBE-STAGE payload ok mode=kubernetes payload=iso' "$tmp/iso/console"
r=$tmp/iso/root
ok "payload ISO: kubelet, containerd, CNI plugins and units installed from it" \
	bash -c 'grep -q "from $2" "$1/usr/local/bin/kubelet" && test -x "$1/usr/local/bin/containerd" -a \
		-x "$1/opt/cni/bin/portmap" -a -s "$1/etc/systemd/system/kubelet.service.d/10-kubeadm.conf" -a \
		-s "$1/etc/systemd/system/containerd.service"' _ "$r" "$tmp/iso/iso"
ok "containerd 2.x: config version 3, CRI sections of 2.x, systemd cgroups, the sandbox image" \
	bash -c 'c=$1/etc/containerd/config.toml; grep -qx "version = 3" "$c" &&
		grep -qF "[plugins.'"'"'io.containerd.cri.v1.runtime'"'"'.containerd.runtimes.runc.options]" "$c" &&
		grep -q "SystemdCgroup = true" "$c" && grep -q "sandbox = '"'"'registry.k8s.io/pause:" "$c" &&
		! grep -q grpc.v1.cri "$c"' _ "$r"
ok "containerd 2.x: the stage line says so" \
	grep -q '^VIRTKUBE-STAGE containerd ok containerd 2.x, config version 3' "$tmp/iso/console"
ok "registries: containerd reads hosts.toml from /etc/containerd/certs.d" \
	bash -c 'grep -qF "[plugins.'"'"'io.containerd.cri.v1.images'"'"'.registry]" "$1/etc/containerd/config.toml" &&
		grep -qF "config_path = '"'"'/etc/containerd/certs.d'"'"'" "$1/etc/containerd/config.toml"' _ "$r"
ok "registries: the mirror is every registry's first host (_default, and docker.io for containerd 1.6)" \
	bash -c 'for d in _default docker.io registry.k8s.io; do
		grep -qF "[host.\"https://mirror.test:5000\"]" "$1/etc/containerd/certs.d/$d/hosts.toml" || exit 1; done' _ "$r"
ok "registries: an insecure registry is spoken to over plain http" \
	bash -c 'f=$1/etc/containerd/certs.d/lab.test:5000/hosts.toml; grep -qx "server = \"http://lab.test:5000\"" "$f" &&
		grep -q "skip_verify = true" "$f" && test -s "$1/etc/containerd/certs.d/10.1.2.3:80/hosts.toml"' _ "$r"
ok "registries: the stage line names them" \
	grep -q '^VIRTKUBE-STAGE containerd ok .*registries: mirror https://mirror.test:5000, insecure lab.test:5000,10.1.2.3:80' \
	"$tmp/iso/console"
ok "images: the payload's archive is imported into the k8s.io namespace" \
	grep -q "DRY-RUN: .*/usr/local/bin/ctr -n k8s.io images import $tmp/iso/iso/images/images.oci.tar" \
	"$r/var/log/virtkube/images.log"
ok "images: before the kubelet and kubeadm" \
	bash -c 'grep -n "^VIRTKUBE-STAGE" "$1" | grep -A1 "STAGE containerd" | grep -q "STAGE images"' _ "$tmp/iso/console"
ok "test hook: KUBEADM_INIT_FLAGS reach kubeadm init, said on the console" \
	bash -c 'grep -q "DRY-RUN: .*kubeadm init .*--ignore-preflight-errors=NumCPU,Mem --ignore-preflight-errors=HTTPProxyCIDR --v=5$" \
		"$1/var/log/virtkube/kubeadm.log" && grep -q "^VIRTKUBE-LOG kubeadm: test hook: extra kubeadm init flags" "$2"' \
	_ "$r" "$tmp/iso/console"
ok "an existing /etc/resolv.conf is kept" grep -qx "nameserver 192.0.2.53" "$r/etc/resolv.conf"
ok "the kubeadm timeouts are listed in the stage log" \
	grep -q "kubeadm timeout: controlPlaneComponentHealthCheck 12m0s" "$r/var/log/virtkube/kubeadm.log"

# A kubeadm that times out: the timeout that fired is named on the console.
make_seed "$tmp/kto/seed" kubernetes "$tmp/kto/iso"
cat >"$tmp/kto/iso/bin/kubeadm" <<'EOF'
#!/bin/sh
echo "[kubelet-check] The kubelet is healthy after 1.5s"
echo "[control-plane-check] Waiting for healthy control plane components. This can take up to 12m0s"
echo "[control-plane-check] kube-apiserver is not healthy after 12m0s" >&2
echo "error: context deadline exceeded" >&2
exit 1
EOF
# The dry run does not run kubeadm: here the script is sourced and its kubeadm
# stage run for real (the fake kubeadm above; the rest only writes under the root).
: >"$tmp/kto/console"
VIRTKUBE_SOURCE_ONLY=1 VIRTKUBE_SEED_DIR=$tmp/kto/seed VIRTKUBE_ROOT=$tmp/kto/root \
	VIRTKUBE_CONSOLE=$tmp/kto/console VIRTKUBE_DRY_RUN=0 bash -c '. "$1"; mkdir -p "$STATE_DIR" "$LOG_DIR"
	MODE=kubernetes API_PORT=8443 BIN_DIR=$2; run_stage kubeadm' _ "$script" "$tmp/kto/iso/bin" >"$tmp/kto/out" 2>&1
ok "kubeadm times out: the stage fails naming the timeout that fired" \
	grep -q '^VIRTKUBE-STAGE kubeadm fail kubeadm timeout controlPlaneComponentHealthCheck (12m0s) fired in \[control-plane-check\]' \
	"$tmp/kto/console"
ok "kubeadm times out: a VIRTKUBE-LOG line says so as it fires" \
	grep -q '^VIRTKUBE-LOG kubeadm: timeout controlPlaneComponentHealthCheck (12m0s) fired' "$tmp/kto/console"

# Both places hold binaries (cannot happen from one host; the ISO wins).
make_seed "$tmp/both/seed" kubernetes
make_seed "$tmp/both/seed" kubernetes "$tmp/both/iso"
run both
ok "both layouts at once: the payload ISO's binaries are installed" \
	bash -c 'grep -q "from $2" "$1/usr/local/bin/kubeadm"' _ "$tmp/both/root" "$tmp/both/iso"

# A new seed but no payload ISO attached: the payload stage looks for it and fails.
make_seed "$tmp/noiso/seed" kubernetes "$tmp/noiso/elsewhere"
run noiso
ok "no payload ISO: exits 1" rc_is noiso 1
ok "no payload ISO: payload (looking for VKPAYLOAD) or binaries fails" \
	bash -c 'grep -qE "^VIRTKUBE-FAILED (payload|binaries)$" "$1/console" &&
		grep -qE "VKPAYLOAD|run/virtkube/payload" "$1/root/var/log/virtkube/payload.log"' _ "$tmp/noiso"
ok "no payload ISO: the failure names what is missing" \
	grep -qE '^VIRTKUBE-STAGE (payload fail no VKPAYLOAD device|binaries fail missing in payload: bin/kubeadm)' \
	"$tmp/noiso/console"

# --- a worker of a multi-node profile: routes, waits for the API, joins ------
make_seed "$tmp/worker/seed" kubernetes "$tmp/worker/iso"
w=$tmp/worker/seed/virtkube
rm "$w/pki/ca.key"
printf 'NODE_ROLE=worker\nNODE_POD_CIDR=10.244.1.0/24\nCONTROL_PLANE_TAINT=keep\nCONTROL_PLANE_ENDPOINT=192.168.39.2:8443\n' >>"$w/env"
printf 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n' >"$w/join.yaml"
printf '10.244.0.0/24 192.168.39.2\n10.244.2.0/24 192.168.39.4\n' >"$w/routes"
run worker
r=$tmp/worker/root
ok "worker: exits 0" rc_is worker 0
ok "worker: routes, then the control plane's API, then join: no kubeadm init" \
	expect "$tmp/worker/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" \
	"VIRTKUBE-STAGE routes ok" "VIRTKUBE-STAGE binaries ok" "VIRTKUBE-STAGE containerd ok" \
	"VIRTKUBE-STAGE images ok" "VIRTKUBE-STAGE cni ok" "VIRTKUBE-STAGE kubelet ok" \
	"VIRTKUBE-STAGE controlplane ok" "VIRTKUBE-STAGE join ok" "VIRTKUBE-READY"
ok "worker: the console says what it waits for" \
	grep -q '^VIRTKUBE-LOG controlplane: waiting for the control plane.s API at https://192.168.39.2:8443' \
	"$tmp/worker/console"
ok "worker: kubeadm join with the host's JoinConfiguration (dry-run log)" \
	grep -q 'DRY-RUN: .*kubeadm join --config .*/etc/virtkube/join.yaml' "$r/var/log/virtkube/join.log"
ok "worker: no CA key needed, the payload stage says the role" \
	grep -q '^VIRTKUBE-STAGE payload ok mode=kubernetes payload=iso role=worker' "$tmp/worker/console"
ok "worker: its bridge CNI uses its own pod CIDR" \
	grep -q '"subnet": "10.244.1.0/24"' "$r/etc/cni/net.d/10-virtkube-bridge.conflist"
ok "worker: the routes to the other nodes' pod CIDRs are kept and set" \
	bash -c 'cmp -s "$1/etc/virtkube/pod-routes" "$2/routes" &&
		grep -q "DRY-RUN: ip route replace 10.244.0.0/24 via 192.168.39.2" "$1/var/log/virtkube/routes.log" &&
		grep -q "DRY-RUN: ip route replace 10.244.2.0/24 via 192.168.39.4" "$1/var/log/virtkube/routes.log"' _ "$r" "$w"
# `virtkube-provision routes --set`: what the host runs after node add/delete.
VIRTKUBE_ROOT=$r VIRTKUBE_CONSOLE="" VIRTKUBE_DRY_RUN=1 bash "$r/usr/local/sbin/virtkube-provision" \
	routes --set 10.244.0.0/24 192.168.39.2 >/dev/null 2>&1
ok "routes --set replaces the routes file (a node was deleted)" \
	bash -c '[ "$(cat "$1/etc/virtkube/pod-routes")" = "10.244.0.0/24 192.168.39.2" ]' _ "$r"

# --- host folders: the seed's mounts file, then `mounts --set` from the host ---
make_seed "$tmp/mounts/seed" none
printf 'vk-share-0123abcd /mnt/share rw\nvk-src-89abcdef /srv/a-b+c ro\n' >"$tmp/mounts/seed/virtkube/mounts"
run mounts
m=$tmp/mounts/root
u=$m/etc/systemd/system
ok "mounts: the stage runs after system, before READY" \
	expect "$tmp/mounts/console" "VIRTKUBE-STAGE payload ok" "VIRTKUBE-STAGE system ok" \
	"VIRTKUBE-STAGE mounts ok" "VIRTKUBE-READY"
ok "mounts: a mount unit per folder, named as systemd-escape --path names it" \
	test -f "$u/mnt-share.mount" -a -f "$u/srv-a\x2db\x2bc.mount"
ok "mounts: virtiofs by tag, ro as the mount option, before containerd and the kubelet" \
	bash -c 'grep -qx "What=vk-src-89abcdef" "$1" && grep -qx "Type=virtiofs" "$1" && grep -qx "Options=ro" "$1" &&
		grep -qx "Before=containerd.service kubelet.service" "$1"' _ "$u/srv-a\x2db\x2bc.mount"
ok "mounts: enabled for later boots and started now (dry-run log)" \
	bash -c 'test -L "$1/multi-user.target.wants/mnt-share.mount" &&
		grep -q "DRY-RUN: systemctl start mnt-share.mount" "$2/var/log/virtkube/mounts.log"' _ "$u" "$m"
VIRTKUBE_ROOT=$m VIRTKUBE_CONSOLE="" VIRTKUBE_DRY_RUN=1 bash "$m/usr/local/sbin/virtkube-provision" \
	mounts --set vk-share-0123abcd /mnt/share rw >/dev/null 2>&1
ok "mounts --set: a folder no longer listed is unmounted and its unit removed" \
	bash -c '! test -e "$1/srv-a\x2db\x2bc.mount" && ! test -e "$1/multi-user.target.wants/srv-a\x2db\x2bc.mount" &&
		grep -q "DRY-RUN: systemctl stop srv-a.x2db.x2bc.mount" "$2/var/log/virtkube/mounts.log" &&
		test -f "$1/mnt-share.mount"' _ "$u" "$m"
ok "mounts --set refuses a word that would need quoting" \
	bash -c '! VIRTKUBE_ROOT=$1 VIRTKUBE_CONSOLE="" VIRTKUBE_DRY_RUN=1 bash "$1/usr/local/sbin/virtkube-provision" \
		mounts --set "vk-x" "/mnt/a;b" rw >/dev/null 2>&1' _ "$m"

if [ "$failed" -ne 0 ]; then
	echo "# $failed of $n failed"
	exit 1
fi
[ "$n" -eq 70 ] || { echo "# ran $n tests, planned 70"; exit 1; }
exit 0
