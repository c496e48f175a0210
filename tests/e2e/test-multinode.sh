#!/bin/bash
# e2e: a three-node profile on a real libvirtd + qemu (TCG) in a network namespace with the debian-test guest,
# --no-kubernetes: start --nodes 3 boots three guests at their fixed IPs in parallel, each reaches the others,
# the pod routes (host-gw) are in place; bad input changes nothing; node delete m03, node add (m03 again, same
# IP, routes updated on the others), stop (every node), start (same IPs), delete leaves nothing.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
PROFILE=vke2e-multi
NETWORK=virtkube-$PROFILE
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
t_all=$SECONDS
# Inside the namespace: the guests' addresses exist only there.
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }
# `node list` columns (NAME IP ROLE STATE), one node a line, joined by ','.
nodes_col() { awk -v c="$1" 'NR > 1 { printf "%s%s", (NR > 2 ? "," : ""), $c }' <<<"$out"; }
absent() { ! e2e_virsh "$1" "$2" >/dev/null 2>&1; }
dom_state() { e2e_virsh domstate "$1" 2>&1; }

# Bad input first, on a profile that does not exist yet: nothing may appear.
run vk start --nodes 0 --no-kubernetes
expect_rc 2 "start --nodes 0 is a usage error"
expect "naming the range" grep -q "invalid value '0' for --nodes: must be between 1 and 9" <<<"$err"
run vk start --nodes 10 --no-kubernetes
expect_rc 2 "start --nodes 10 is a usage error"
expect "and nothing was made" test ! -e "$VIRTKUBE_HOME/profiles/$PROFILE"

run vk start --nodes 3 --no-kubernetes --network-mode isolated --image "$image_json" --accel "$E2E_ACCEL" \
    --cpus 1 --memory 768 -v
expect_rc 0 "start --nodes 3 boots three guests (${secs}s)"
echo "# $(grep timing <<<"$err")"
[[ $rc == 0 ]] || { echo "$err" | tail -n 30 | sed 's/^/# /'; exit 1; }
expect "every node was booted before any was waited for" \
    awk '/booting .'"$PROFILE"'-m03./ { b = NR } /waiting for SSH on 3 nodes/ { w = NR } END { exit !(b && w > b) }' <<<"$err"

run vk node list -o json
expect_rc 0 "node list -o json exits 0"
expect "with a JSON list of three nodes" \
    python3 -c 'import json, sys; n = json.load(sys.stdin); sys.exit(len(n) != 3 or n[2]["podCIDR"] != "10.244.2.0/24")' <<<"$out"
run vk node list
expect_rc 0 "node list exits 0"
IFS=, read -r ip1 ip2 ip3 <<<"$(nodes_col 2)"
subnet=${ip1%.*}
expect "three nodes: $PROFILE, -m02, -m03" test "$(nodes_col 1)" = "$PROFILE,$PROFILE-m02,$PROFILE-m03"
expect "at the fixed IPs $subnet.2, .3, .4" test "$ip1,$ip2,$ip3" = "$subnet.2,$subnet.3,$subnet.4"
expect "all plain VMs" test "$(nodes_col 3)" = "plain,plain,plain"
expect "all running" test "$(nodes_col 4)" = "Running,Running,Running"
net_xml=$(e2e_virsh net-dumpxml "$NETWORK" 2>&1)
expect "the network has a static DHCP entry for each node" \
    test "$(grep -c "<host mac=.* name='$PROFILE.*' ip='$subnet\.[234]'/>" <<<"$net_xml")" = 3

run vk ip -n m03
expect "ip -n m03 prints its IP" test "$rc:$out" = "0:$ip3"
run vk ssh -n "$PROFILE-m02" -- cat /etc/hostname
expect "ssh -n takes the full name too, and the guest has its node name" test "$rc:$out" = "0:$PROFILE-m02"
run vk ssh -n m02 -- ping -c1 -W5 "$ip3"
expect_rc 0 "ssh -n m02 -- ping -c1 IP_OF_m03: the nodes reach each other"
run vk ssh -n m03 -- ping -c1 -W5 "$ip1"
expect_rc 0 "and m03 reaches the first node"
run vk ssh -n m02 -- ip -4 route
expect "m02 routes the first node's pod CIDR via it" grep -q "^10.244.0.0/24 via $ip1 " <<<"$out"
expect "and m03's via m03" grep -q "^10.244.2.0/24 via $ip3 " <<<"$out"

run vk status
expect_rc 0 "status exits 0 with every node running"
expect "one block per node" test "$(grep -c '^Host: Running' <<<"$out")" = 3
run vk logs -n m02
expect "logs -n m02 shows m02's console" grep -q "VIRTKUBE-READY" <<<"$out"

# Bad input on the made profile: refused, nothing changed.
run vk node delete "$PROFILE"
expect_rc 2 "node delete of the first node is refused"
expect "saying why" grep -q "cannot delete node '$PROFILE': it is the first node" <<<"$err"
run vk node delete m07
expect_rc 1 "node delete of a name that is no node of the profile fails"
expect "saying so" grep -q "profile '$PROFILE' has no node 'm07'" <<<"$err"
expect "and naming the nodes it has" grep -q "^hint: its nodes: $PROFILE, $PROFILE-m02, $PROFILE-m03" <<<"$err"
run vk node add --worker
expect_rc 2 "node add --worker on a --no-kubernetes profile is refused"
expect "saying there is no cluster to join" grep -q "it runs no Kubernetes" <<<"$err"
run vk start --nodes 2
expect_rc 2 "start --nodes 2 on a three-node profile is refused"
run vk node list
expect "and the profile still has its three running nodes" \
    test "$(nodes_col 1)/$(nodes_col 4)" = "$PROFILE,$PROFILE-m02,$PROFILE-m03/Running,Running,Running"

no_routes_warning() { ! grep -q "pod routes of .* were not updated" <<<"$err"; }
run vk node delete m03 -vv
expect_rc 0 "node delete m03 (${secs}s)"
expect "the other nodes' pod routes were updated" no_routes_warning
grep -E "pod routes|routes" <<<"$err" | sed 's/^/# /'
expect "its domain is gone" absent dominfo "$PROFILE-m03"
expect "its DHCP entry is gone" bash -c "! virsh -q -c '$E2E_URI' net-dumpxml '$NETWORK' | grep -q \"ip='$ip3'\""
expect "its files are gone" test -z "$(find "$VIRTKUBE_HOME/profiles/$PROFILE" -name 'm03-*')"
run vk ssh -n m02 -- ip -4 route
expect "m02 no longer routes m03's pod CIDR" bash -c "! grep -q '^10.244.2.0/24' <<<\"\$1\"" _ "$out"
vk ssh -n m02 -- tail -n 8 /var/log/virtkube/routes.log 2>&1 | sed 's/^/# m02 routes.log: /'
expect "and still routes the first node's" grep -q "^10.244.0.0/24 via $ip1 " <<<"$out"

run vk node add -vv
expect_rc 0 "node add (${secs}s)"
expect "the other nodes' pod routes were updated" no_routes_warning
grep -E "pod routes|routes" <<<"$err" | sed 's/^/# /'
expect "adds m03 again (the lowest free name) at its fixed IP" \
    grep -q "node '$PROFILE-m03' (plain) is running at $ip3" <<<"$out"
run vk ssh -n m02 -- ping -c1 -W5 "$ip3"
expect_rc 0 "m02 reaches the new m03"
run vk ssh -n m02 -- ip -4 route
expect "m02 routes the new m03's pod CIDR again" grep -q "^10.244.2.0/24 via $ip3 " <<<"$out"
run vk ssh -n m03 -- ip -4 route
expect "and m03 routes m02's" grep -q "^10.244.1.0/24 via $ip2 " <<<"$out"

run vk stop
expect_rc 0 "stop exits 0 (${secs}s)"
expect "every node stopped by ACPI at once" grep -q "(ACPI shutdown)" <<<"$err"
for n in "$PROFILE" "$PROFILE-m02" "$PROFILE-m03"; do
    expect "$n is shut off" test "$(dom_state "$n")" = "shut off"
done
run vk status
expect_rc 1 "status exits 1 with the nodes down"

run vk start -v
expect_rc 0 "start boots the three nodes again (${secs}s)"
run vk node list
expect "with the same IPs" test "$(nodes_col 2)" = "$ip1,$ip2,$ip3"
run vk ssh -n m03 -- ping -c1 -W5 "$ip2"
expect_rc 0 "m03 reaches m02 after the restart"
run vk ssh -n m03 -- ip -4 route
expect "m03's pod routes came back with the boot" grep -q "^10.244.1.0/24 via $ip2 " <<<"$out"

run vk delete
expect_rc 0 "delete exits 0"
for n in "$PROFILE" "$PROFILE-m02" "$PROFILE-m03"; do
    expect "no domain $n is left" absent dominfo "$n"
done
expect "no network is left" absent net-info "$NETWORK"
expect "no storage pool is left" absent pool-info "$NETWORK"
expect "no profile files are left" test -z "$(ls -A "$VIRTKUBE_HOME/profiles")"
echo "# test-multinode: $((SECONDS - t_all)) s in all"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
