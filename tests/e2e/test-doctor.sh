#!/bin/bash
# e2e: virtkube doctor against a real libvirtd (qemu:///system in a network namespace): a working set-up,
# a home qemu's user cannot reach, and the daemon gone. No VM is booted.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
: "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube}"
e2e_lock
# The accelerator check must meet the real /dev/kvm (lib.sh hides one qemu cannot open from the tcg-only tests).
E2E_HOST_KVM=1
E2E_PREFIX=vke2e-doctor-
WORK=$(mktemp -d /tmp/vke2e-doctor.XXXXXX)
chmod 0711 "$WORK"
finish_test() {
    local rc=$?
    e2e_stop_daemons
    rm -rf "$WORK"
    exit "$rc"
}
trap finish_test EXIT
e2e_start_daemons
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
# The namespace's routes and libvirt's networks are what start would see.
doctor() { e2e_in_ns env VIRTKUBE_HOME="$home" "$VIRTKUBE_BIN" doctor --libvirt-uri qemu:///system "$@"; }

home=$WORK/home
run doctor
expect_rc 0 "doctor on a real libvirtd: start would go ahead"
expect "libvirt is reachable" grep -qE "^libvirt +ok +connected to 'qemu:///system'" <<<"$out"
expect "its socket is usable" grep -qE "^libvirt-socket +ok +'/run/libvirt/(libvirt|virtqemud)-sock' is usable" <<<"$out"
expect "the accelerator is decided (kvm, or tcg with a warning)" \
    grep -qE "^accelerator +(ok +kvm: |warn +kvm is not usable: .*expect minutes, not seconds)" <<<"$out"
expect "qemu's user can reach a home under 0711 directories" \
    grep -qE "^qemu-access +ok +qemu \(user 'libvirt-qemu'\) can reach '$home'" <<<"$out"
expect "a free subnet" grep -qE "^subnet +ok +192\.168\.1[0-4][0-9]\.0/24 is free" <<<"$out"
while IFS= read -r line; do echo "# $line"; done <<<"$out"

run doctor -o json
expect_rc 0 "doctor -o json"
expect "json: ok, with the accelerator named" python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
sys.exit(0 if d["ok"] and d["accelerator"] in ("kvm", "tcg") and d["failed"] == 0 else 1)' <<<"$out"

mkdir -m 0700 "$WORK/closed"
home=$WORK/closed/home
run doctor
expect_rc 1 "a home under a 0700 directory fails"
expect "qemu's user cannot reach it, with the fix" \
    grep -qE "^qemu-access +FAIL +qemu \(user 'libvirt-qemu' under qemu:///system\) cannot reach '$home': '$WORK/closed' \(mode 0700\)" <<<"$out"

# The daemon gone: doctor says so and names the fix.
home=$WORK/home
e2e_stop_daemons
run env VIRTKUBE_HOME="$home" "$VIRTKUBE_BIN" doctor --libvirt-uri qemu:///system
expect_rc 1 "no daemon: doctor fails"
expect "libvirt: cannot connect, no daemon is listening" \
    grep -qE "^libvirt +FAIL +cannot connect to libvirt at 'qemu:///system'" <<<"$out"
expect "with the fix" grep -q "fix: .*start it (systemctl start libvirtd" <<<"$out"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
