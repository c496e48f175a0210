#!/bin/bash
# e2e: a three-node profile on a real libvirtd + qemu (TCG) in a network namespace with the debian-test guest,
# --no-kubernetes: start --nodes 3 boots three guests at their fixed IPs in parallel, each reaches the others,
# the pod routes (host-gw) are in place; bad input changes nothing; node delete m03, node add (m03 again, same
# IP, routes updated on the others), stop (every node), start (same IPs), delete leaves nothing.
# Snapshots (issue 22) share this boot: a file and a process in each node, `snapshot save` while running,
# the files changed, `snapshot restore`: files as they were, the process still runs, each guest clock within
# 2 s of the host's; bad names, a name in use, the lock held; node delete and node add after the save each
# make restore refuse naming the node; `snapshot save --stopped` on the stopped profile.
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

# ---- snapshots of the running three-node profile ----
# Each node (-n NAME): a file, and a process started before the save (its pid in /tmp/snap.pid).
nodes=("$PROFILE" "$PROFILE-m02" "$PROFILE-m03")
for n in "${nodes[@]}"; do
    vk ssh -n "$n" -- "echo before-$n > /tmp/snap.mark; sh -c 'sleep 86400 </dev/null >/dev/null 2>&1 & echo \$! > /tmp/snap.pid'" \
        >/dev/null 2>&1
done
# The guest's clock against the host's, read between two host readings: within 2 s of that window.
clock_ok() { # NODE
    local t0 g t1
    t0=$(date +%s.%N)
    g=$(vk ssh -n "$1" -- date +%s.%N 2>/dev/null)
    t1=$(date +%s.%N)
    python3 - "$t0" "$g" "$t1" "$1" <<'PY'
import sys
t0, g, t1 = (float(x or 0) for x in sys.argv[1:4])
off = 0 if t0 <= g <= t1 else (g - t0 if g < t0 else g - t1)
print(f"# clock of {sys.argv[4]}: {off:+.3f} s outside the host's window of {t1 - t0:.2f} s")
sys.exit(abs(off) > 2)
PY
}
run vk snapshot save s1
expect_rc 0 "snapshot save s1 of the running profile (${secs}s)"
grep -v '^$' <<<"$err" | sed 's/^/# /'
expect "saves three nodes with their memory" grep -q "saved snapshot 's1' of profile '$PROFILE': 3 nodes, running" <<<"$err"
expect "the clock of $PROFILE-m02 is right after the save (the nodes were paused)" clock_ok "$PROFILE-m02"
run vk snapshot save s1
expect_rc 1 "snapshot save of a name in use is refused"
expect "saying so, with --force as the hint" grep -q "already has a snapshot 's1'" <<<"$err"
run vk snapshot save ../s1
expect_rc 2 "a name that is not a simple name is a usage error"
run vk snapshot restore nope
expect_rc 1 "restore of a snapshot that does not exist fails"
expect "naming it" grep -q "profile '$PROFILE' has no snapshot 'nope'" <<<"$err"
run vk snapshot list -o json
expect_rc 0 "snapshot list -o json exits 0"
expect "listing s1: running, three nodes, a size on disk" python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(not (len(s) == 1 and s[0]["name"] == "s1" and s[0]["state"] == "running" and len(s[0]["nodes"]) == 3
              and s[0]["size"] > 0))' <<<"$out"
python3 -c 'import json, sys; s = json.load(sys.stdin)[0]; print("# snapshot s1: %d bytes on disk" % s["size"])' <<<"$out"
for n in "${nodes[@]}"; do
    vk ssh -n "$n" -- "echo after > /tmp/snap.mark; kill \$(cat /tmp/snap.pid)" >/dev/null 2>&1
done
run vk ssh -n m03 -- cat /tmp/snap.mark
expect "the files were changed after the save" test "$out" = after
# Another virtkube holds the profile's lock: restore waits its 10 s, then refuses, changing nothing.
exec {held}>>"$VIRTKUBE_HOME/locks/$PROFILE.lock"
flock -x "$held"
run vk snapshot restore s1
expect_rc 1 "restore while another command holds the profile's lock fails"
expect "saying the profile is in use" grep -q "in use by another virtkube process" <<<"$err"
exec {held}>&-
run vk snapshot restore s1 -v
expect_rc 0 "snapshot restore s1 (${secs}s)"
grep -E "restored|clock|reverting" <<<"$err" | sed 's/^/# /'
for n in "${nodes[@]}"; do
    run vk ssh -n "$n" -- cat /tmp/snap.mark
    expect "$n: the file is as it was at the save" test "$out" = "before-$n"
    # shellcheck disable=SC2016 # expanded in the guest
    run vk ssh -n "$n" -- 'kill -0 $(cat /tmp/snap.pid) && cat /proc/$(cat /tmp/snap.pid)/comm'
    expect "$n: the process started before the save still runs" test "$rc:$out" = "0:sleep"
    expect "$n: its clock is within 2 s of the host's" clock_ok "$n"
done
run vk status
expect "status shows the snapshot last restored" grep -q "^Snapshot: s1 (restored " <<<"$out"

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
run vk snapshot restore s1
expect_rc 1 "snapshot restore after node delete is refused"
expect "naming the deleted node" grep -q "node '$PROFILE-m03' was deleted after it was taken" <<<"$err"

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
run vk snapshot restore s1
expect_rc 1 "snapshot restore after node delete + node add is refused"
expect "naming the node added again" grep -q "node '$PROFILE-m03' was deleted and added again after it was taken" <<<"$err"
run vk ssh -n m02 -- cat /tmp/snap.mark
expect "and nothing was changed" test "$out" = "before-$PROFILE-m02"

run vk stop
expect_rc 0 "stop exits 0 (${secs}s)"
expect "every node stopped by ACPI at once" grep -q "(ACPI shutdown)" <<<"$err"
for n in "$PROFILE" "$PROFILE-m02" "$PROFILE-m03"; do
    expect "$n is shut off" test "$(dom_state "$n")" = "shut off"
done
run vk status
expect_rc 1 "status exits 1 with the nodes down"
run vk snapshot save --stopped cold
expect_rc 0 "snapshot save --stopped on the stopped profile (${secs}s)"
expect "saves three nodes' disks only" grep -q "saved snapshot 'cold' of profile '$PROFILE': 3 nodes, stopped (disk only)" <<<"$err"
run vk snapshot list
# shellcheck disable=SC2016 # expanded by bash -c
expect "snapshot list shows it stopped, beside s1" \
    bash -c 'grep -q "^cold .* stopped  *3 " <<<"$1" && grep -q "^s1 .* running " <<<"$1"' _ "$out"
run vk snapshot delete s1
expect_rc 0 "snapshot delete s1 (unrestorable since the node add)"
expect "it is gone from the nodes that had it" bash -c "! virsh -q -c '$E2E_URI' snapshot-list '$PROFILE' --name | grep -qx s1"
run vk snapshot restore cold
expect_rc 0 "snapshot restore cold: the disks as they were, the profile stays stopped (${secs}s)"
expect "the nodes are still shut off" test "$(dom_state "$PROFILE-m02")" = "shut off"

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
