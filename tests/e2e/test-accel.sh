#!/bin/bash
# e2e: --accel on a real libvirtd + qemu: auto picks kvm only when qemu (as libvirt's qemu user) can use it, else tcg
# and the guest boots; an explicit --accel kvm that qemu cannot use fails naming /dev/kvm, its mode and owner, and the fix.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
PROFILE=vke2e-accel
# Its libvirtd must see the real /dev/kvm (lib.sh hides one qemu cannot open from the tcg-only tests).
E2E_HOST_KVM=1
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
vk() { e2e_in_ns "$VIRTKUBE_BIN" "$@"; }
no_domain_named() { ! e2e_virsh list --all --name | grep -q "$1"; }
config_get() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$VIRTKUBE_HOME/profiles/$1/config.json" "$2"; }
config_accel() { config_get "$1" accel; }

# What qemu would meet: the device as libvirt's qemu user sees it (libvirt gives qemu that user's groups).
qemu_user=libvirt-qemu
device_mode=absent
qemu_opens_kvm=no
if [[ -e /dev/kvm ]]; then
    device_mode=$(stat -c '%04a, owner %U:%G' /dev/kvm)
    runuser -u "$qemu_user" -- sh -c 'exec 3<>/dev/kvm' 2>/dev/null && qemu_opens_kvm=yes
fi
e2e_log "/dev/kvm: $device_mode; $qemu_user can open it: $qemu_opens_kvm"

run vk -p "$PROFILE" start --no-kubernetes --network-mode isolated --image "$image_json" --accel auto \
    --cpus 1 --memory 1024 -v
expect_rc 0 "start --accel auto boots the guest (${secs}s)"
chosen=$(config_accel "$PROFILE")
if [[ $qemu_opens_kvm == no ]]; then
    expect "auto chose tcg: qemu's user cannot open /dev/kvm ($device_mode)" test "$chosen" = tcg
    if [[ $device_mode == absent ]]; then
        expect "and said why" grep -q "warning: kvm is not usable here: .*/dev/kvm does not exist" <<<"$err"
    else
        expect "and said why, naming qemu's user, the device, its mode and owner" \
            grep -q "warning: kvm is not usable here: qemu runs as user $qemu_user (uid [0-9]*, gid [0-9]*), which cannot open /dev/kvm (mode $device_mode)" <<<"$err"
    fi
    expect "the domain is a qemu (TCG) domain" grep -q "<domain type='qemu'" <<<"$(e2e_virsh dumpxml "$PROFILE")"
else
    chose_kvm_or_trial_failed() { [[ $chosen == kvm ]] || grep -q "a trial kvm domain did not start" <<<"$err"; }
    expect "auto chose kvm, or tcg after a failed trial domain (chose '$chosen')" chose_kvm_or_trial_failed
fi
expect "no trial domain is left behind" no_domain_named virtkube-kvm-trial
run vk -p "$PROFILE" status
expect_rc 0 "status says it runs"

# The LoadBalancer pool: the top /27 of the profile's subnet, routed by the host to node 1 through the
# network's <route>, which libvirtd installs (no host process of ours).
subnet=$(config_get "$PROFILE" subnet)
node_ip=$(config_get "$PROFILE" node_ip)
pool=$(config_get "$PROFILE" lb_pool)
expect "config.json records the LoadBalancer pool, the top /27 of $subnet ('$pool')" \
    test "$pool" = "${subnet%.0/24}.224/27"
host_routes_pool() { e2e_in_ns ip -4 route show "$pool" | grep -q "via $node_ip dev"; }
expect "the host routes $pool via the node $node_ip ($(e2e_in_ns ip -4 route show "$pool"))" host_routes_pool
net=virtkube-$PROFILE
expect "the network's DHCP range stops below the pool" \
    grep -q "<range start='${subnet%.0/24}.100' end='${subnet%.0/24}.223'/>" <<<"$(e2e_virsh net-dumpxml "$net")"

# A profile made before the pool: no lb_pool in config.json, a network without the route. The next start of
# the stopped profile adds both and touches nothing else.
run vk -p "$PROFILE" stop
expect_rc 0 "stop"
python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c.pop("lb_pool"); json.dump(c, open(p, "w"))' \
    "$VIRTKUBE_HOME/profiles/$PROFILE/config.json"
e2e_virsh net-dumpxml "$net" | grep -v '<route ' >"$WORK/oldnet.xml"
e2e_virsh net-define "$WORK/oldnet.xml" >/dev/null && e2e_virsh net-destroy "$net" >/dev/null &&
    e2e_virsh net-start "$net" >/dev/null
no_pool_route() { ! e2e_in_ns ip -4 route show "$pool" | grep -q via; }
expect "made like an old profile: no route for the pool" no_pool_route
mac_before=$(config_get "$PROFILE" mac)
run vk -p "$PROFILE" start
expect_rc 0 "start of the old profile"
expect "says it adds the pool" grep -q "LoadBalancer addresses for profile '$PROFILE': $pool" <<<"$out$err"
expect "config.json has the pool again, the same MAC and node IP" \
    test "$(config_get "$PROFILE" lb_pool) $(config_get "$PROFILE" mac) $(config_get "$PROFILE" node_ip)" = "$pool $mac_before $node_ip"
expect "and the host routes it to the node" host_routes_pool

run vk -p "$PROFILE" delete
expect_rc 0 "delete"
expect "the pool's route is gone with the network" no_pool_route

if [[ $qemu_opens_kvm == no && $device_mode != absent ]]; then
    run vk -p "$PROFILE-kvm" start --no-kubernetes --network-mode isolated --image "$image_json" --accel kvm \
        --cpus 1 --memory 1024
    expect_rc 1 "start --accel kvm fails when qemu's user cannot open /dev/kvm"
    expect "naming qemu's user, the device, its mode and owner" \
        grep -q "error: start failed at step .preflight.: --accel kvm: qemu runs as user $qemu_user (uid [0-9]*, gid [0-9]*), which cannot open /dev/kvm (mode $device_mode)" <<<"$err"
    expect "with the fix: the kvm group, a udev rule, or tcg" \
        grep -q "^hint: .*udev rule.*--accel tcg" <<<"$err"
    expect "and defines no domain" no_domain_named "$PROFILE-kvm"

    # virtkube sees a /dev/kvm anyone may open (a bind mount in its own mount namespace) while qemu
    # meets the real one: the start itself fails with qemu's words, and the error explains them.
    : >"$WORK/kvm"
    chmod 0666 "$WORK/kvm"
    # shellcheck disable=SC2016 # expanded by the inner sh
    run unshare -m sh -c 'mount --bind "$1" /dev/kvm && shift && exec ip netns exec "$@"' sh "$WORK/kvm" \
        "$E2E_NETNS" "$VIRTKUBE_BIN" -p "$PROFILE-kvm" start --no-kubernetes --network-mode isolated \
        --image "$image_json" --accel kvm --cpus 1 --memory 1024
    expect_rc 1 "start --accel kvm where only qemu cannot open the device fails"
    expect "with qemu's own words" grep -q "cannot start domain '$PROFILE-kvm': .*Could not access KVM kernel module" <<<"$err"
    expect "and a hint naming the device, its mode and owner, and the fix" \
        grep -q "^hint: qemu cannot open /dev/kvm (mode 0666, owner root:root); .*--accel tcg" <<<"$err"
    run vk -p "$PROFILE-kvm" delete
    expect_rc 0 "delete the kvm profile"
fi
echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
