#!/bin/bash
# e2e: a Kubernetes start on the debian-test guest (libvirtd + qemu TCG in a network namespace) with
# stand-in release binaries from a local mirror (tests/fakes/mkmirror.py --runnable): no internet here,
# so no real kubeadm. The version's payload ISO is built into the cache and becomes the domain's second
# read-only cdrom, which qemu (libvirt-qemu) reads and the guest mounts by its label; provisioning runs
# up to the first stage that needs the binaries to work (containerd), the guest reports VIRTKUBE-FAILED,
# and start ends at once with that stage and its log lines; logs --provisioning, status and delete
# (kubeconfig entries gone, the payload ISO kept for the version's other profiles) follow.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
command -v python3 >/dev/null || e2e_skip "python3 is needed to build the test mirror"
PROFILE=vke2e-k8s
VERSION=v1.35.4
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home KUBECONFIG=$WORK/kubeconfig
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
# Nothing may leave the machine: the mirror is a local directory, proxies point at a closed port.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }

python3 "$E2E_REPO_DIR/tests/fakes/mkmirror.py" "$E2E_REPO_DIR" "$WORK/mirror" "$VERSION" --runnable ||
    e2e_die "cannot build the test mirror"

run vk start --kubernetes-version "$VERSION" --mirror "$WORK/mirror" --no-progress --network-mode isolated \
    --image "$image_json" --accel "$E2E_ACCEL" --cpus 1 --memory 1024 -v
expect_rc 1 "a Kubernetes start with stand-in binaries fails (${secs}s)"
expect "the kubeconfig context was written before the boot" grep -q "kubeconfig '$KUBECONFIG': context '$PROFILE'" <<<"$err"
expect "the guest got the payload and set the system up" grep -q "^guest: system ok" <<<"$err"
expect "it installed the binaries from the payload" grep -q "^guest: binaries ok" <<<"$err"
expect "the containerd stage failed in the guest" grep -q "^guest: containerd FAILED" <<<"$err"
expect "start ended at once with the stage's name" \
    grep -q "provisioning failed in the guest at stage 'containerd'" <<<"$err"
expect "and the stage's last log lines" grep -q "its last log lines:" <<<"$err"
expect "pointing at logs --provisioning" grep -q "virtkube logs -p $PROFILE --provisioning" <<<"$err"
no_api_wait() { ! grep -q "waiting for the API server" <<<"$err"; }
expect "without waiting for the API server" no_api_wait
[[ $rc == 1 ]] || tail -n 40 "$VIRTKUBE_HOME/profiles/$PROFILE/console.log" 2>/dev/null | sed 's/^/# console: /'

# The payload ISO: built once per version into the cache, the domain's second cdrom, mounted by label.
expect "start built the version's payload ISO" grep -q "building the payload ISO of Kubernetes $VERSION" <<<"$err"
expect "the guest's payload stage mounted it (payload=iso)" grep -q "^guest: payload ok: mode=kubernetes payload=iso" <<<"$err"
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
run vk ssh -- test -d /run/virtkube/seed/virtkube/bin
expect_rc 1 "the seed carries no bin/"
run vk ssh -- cmp /run/virtkube/payload/bin/kubelet /usr/local/bin/kubelet
expect_rc 0 "the installed kubelet is the payload ISO's"

run vk logs --provisioning
expect_rc 0 "logs --provisioning exits 0"
last_is_containerd() { test "$(grep '^==>' <<<"$out" | tail -n 1)" = "==> /var/log/virtkube/containerd.log <=="; }
expect "the failed stage's log comes last" last_is_containerd
expect "and holds the stage's failure" grep -q "^VIRTKUBE-STAGE containerd fail containerd.service did not start" <<<"$out"
expect "and the service's own words (the stand-in binary's message)" \
    grep -q "fake containerd: not a real binary" <<<"$out"

run vk ssh -- test -x /usr/local/bin/kubeadm -a -x /usr/local/bin/containerd -a -x /opt/cni/bin/bridge
expect_rc 0 "the guest has the binaries, containerd and the CNI plugins in place"
run vk ssh -- test -e /var/lib/virtkube/provisioned
expect_rc 1 "and no provisioned marker"

run vk status
expect "status: the host runs, the API server does not (exit bit 2)" test $((rc & 3)) = 2
expect "status says APIServer: Stopped" grep -qx "APIServer: Stopped" <<<"$out"
expect "and Kubelet: Stopped (asked in the guest: it was never started)" grep -qx "Kubelet: Stopped" <<<"$out"

# Still running with the failure on its console: a new start reports it again at once.
run vk start
expect_rc 1 "start on the failed, running VM fails again (${secs}s)"
expect "with the same stage" grep -q "provisioning failed in the guest at stage 'containerd'" <<<"$err"

# Provisioning is still pending and the cache is cleaned: the next start downloads again, the
# version's payload ISO gets a new name, and the stopped domain must be pointed at it before it boots.
run vk stop
expect_rc 0 "stop the failed VM"
run e2e_in_ns "$VIRTKUBE_BIN" cache clean
expect_rc 0 "cache clean"
expect "removes the payload ISO" test ! -e "$iso"
run vk start --mirror "$WORK/mirror" --no-progress -v
expect_rc 1 "start after cache clean boots and fails at containerd again (${secs}s)"
new_iso=$(sed -n 's/.*"payload_iso": "\(.*\)".*/\1/p' "$VIRTKUBE_HOME/profiles/$PROFILE/config.json")
expect "the payload ISO was built again under a new name ($new_iso)" test -f "$new_iso" -a "$new_iso" != "$iso"
expect "the domain's payload cdrom now reads it" grep -qF "<source file='$new_iso'" <<<"$(e2e_virsh dumpxml --inactive "$PROFILE")"
e2e_virsh dumpxml --inactive "$PROFILE" | grep -E "<(source file|target dev)=" | sed 's/^ */# disk: /'
expect "the guest carried on from it (payload=iso)" grep -q "^guest: payload ok: mode=kubernetes payload=iso" <<<"$err"
expect "up to the same stage" grep -q "provisioning failed in the guest at stage 'containerd'" <<<"$err"
iso=$new_iso

run vk delete
expect_rc 0 "delete exits 0"
expect "the payload ISO stays in the cache for the version's other profiles" test -f "$iso"
no_entries() { ! grep -q "$PROFILE" "$KUBECONFIG"; }
expect "the kubeconfig keeps no entry of the profile" no_entries
absent() { ! e2e_virsh "$1" "$2" >/dev/null 2>&1; }
expect "no domain is left" absent dominfo "$PROFILE"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
