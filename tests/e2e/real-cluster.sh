#!/bin/bash
# e2e on a host with internet: `virtkube start` -> `kubectl get nodes` Ready -> `delete`; skips (77) elsewhere.
# It downloads the Kubernetes binaries and the CentOS Stream image (~1.5 GB) and the guest pulls the
# control-plane images, so it needs VIRTKUBE_E2E_INTERNET=1: it never probes the network itself. It runs
# under TCG (about 4 minutes to Ready) unless VIRTKUBE_E2E_ACCEL=kvm (or auto) says KVM is proven here:
# /dev/kvm existing, or opening as root, proves nothing (qemu runs as libvirt's qemu user).
set -u

# Cheap checks first, none of which sends a packet anywhere.
[[ ${VIRTKUBE_E2E_INTERNET:-0} == 1 ]] ||
	{ echo "SKIP: set VIRTKUBE_E2E_INTERNET=1 on a host with internet (downloads ~1.5 GB from dl.k8s.io, GitHub, CentOS)"; exit 77; }
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
: "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube}"

PROFILE=${VIRTKUBE_E2E_PROFILE:-vke2e-real}
WORK=$(mktemp -d /tmp/vke2e-real.XXXXXX)
chmod 0711 "$WORK"
# The download cache can be kept across runs (VIRTKUBE_HOME), the kubeconfig is private to the run.
export VIRTKUBE_HOME=${VIRTKUBE_E2E_HOME:-$WORK/home}
export KUBECONFIG=$WORK/kubeconfig
unset VIRTKUBE_PROFILE
# Only the TAP helpers: this test runs against the host's own libvirt.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vk() { "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }

cleanup() {
	vk delete >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

run vk start --cpus 2 --memory 4096 --accel "$E2E_ACCEL" -v
expect_rc 0 "start brings up Kubernetes (${secs}s)"
if [[ $rc != 0 ]]; then
	tail -n 60 "$VIRTKUBE_HOME/profiles/$PROFILE/console.log" 2>/dev/null | sed 's/^/# console: /'
	echo "1..$tap_n"
	exit 1
fi
printf '%s\n' "$err" | grep -E "timing|guest:" | sed 's/^/# /'

run kubectl --context "$PROFILE" get nodes -o 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'
if [[ $rc == 0 && $out == True ]]; then ok "kubectl get nodes: the node is Ready"; else not_ok "kubectl get nodes: the node is Ready" "$out" "$err"; fi
run kubectl config current-context
if [[ $out == "$PROFILE" ]]; then ok "the profile's context is current"; else not_ok "the profile's context is current" "$out"; fi
run kubectl --context "$PROFILE" get --raw /readyz
if [[ $out == ok ]]; then ok "/readyz says ok through the kubeconfig"; else not_ok "/readyz says ok" "$out" "$err"; fi
run vk status
expect_rc 0 "status exits 0 (host, kubelet, API server, kubeconfig all fine)"
printf '%s\n' "$out" | sed 's/^/# /'

run vk stop
expect_rc 0 "stop"
run vk start
expect_rc 0 "a second start of the stopped cluster (${secs}s)"
run kubectl --context "$PROFILE" get nodes -o name
expect_rc 0 "kubectl works after the restart, same IP and certificates"

run vk delete
expect_rc 0 "delete"
run kubectl config get-contexts -o name
if ! grep -qx "$PROFILE" <<<"$out"; then ok "the context is gone from the kubeconfig"; else not_ok "the context is gone" "$out"; fi

echo "1..$tap_n"
[[ $tap_failed == 0 ]]
