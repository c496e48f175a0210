#!/bin/bash
# e2e: the VM lifecycle on a real libvirtd + qemu (TCG) in a network namespace with the debian-test guest:
# start --no-kubernetes interrupted mid-provisioning (VM destroyed) -> start finishes it -> status -> ssh
# -> stop (ACPI) -> status Stopped -> start (same IP, no re-provisioning) -> delete (nothing left).
# Host folders over virtiofs share the same boots: two --mount (one ro) from the first start, a file each
# way, ro refusing writes, `mount` on the running profile, everything back after stop/start, `unmount`.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
PROFILE=vke2e-life
NETWORK=virtkube-$PROFILE
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
# Inside the namespace: the guest's address exists only there.
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }

# The first provisioning interrupted: a test hook makes the guest hold its
# system stage back, and the VM is destroyed then. start must end at once,
# saying the VM stopped, instead of waiting out its timeout.
console=$VIRTKUBE_HOME/profiles/$PROFILE/console.log
# Host folders: virtiofsd runs as root (libvirt starts it), so any host directory will do.
share=$WORK/share ro_dir=$WORK/ro hot=$WORK/hot
mkdir -p "$share" "$ro_dir" "$hot"
echo "from the host" >"$share/hello.txt"
echo "read-only" >"$ro_dir/ro.txt"
echo "hot" >"$hot/hot.txt"
run "$VIRTKUBE_BIN" -p "$PROFILE" start --no-kubernetes --mount "$WORK/nonexistent:/mnt/x" --image "$image_json"
expect "start --mount of a missing host directory fails before anything is made" \
    grep -q "cannot share host directory '$WORK/nonexistent'" <<<"$err"
run "$VIRTKUBE_BIN" -p "$PROFILE" start --no-kubernetes --mount "$share:/etc/share" --image "$image_json"
expect "and one over a system directory too ($(head -n 1 <<<"$err"))" grep -q "system directory '/etc'" <<<"$err"
expect "leaving no profile behind" test ! -e "$VIRTKUBE_HOME/profiles/$PROFILE/config.json"
t0=$SECONDS
VIRTKUBE_TEST_GUEST_PAUSE="system 900" vk start --no-kubernetes --network-mode isolated --image "$image_json" \
    --accel "$E2E_ACCEL" --cpus 1 --memory 1024 --mount "$share:/mnt/share" --mount "$ro_dir:/mnt/ro,ro" \
    -v >"$WORK/start1.out" 2>"$WORK/start1.err" &
start_pid=$!
while ((SECONDS - t0 < 900)) && kill -0 "$start_pid" 2>/dev/null &&
    ! grep -q "VIRTKUBE-LOG system: test hook: holding" "$console" 2>/dev/null; do
    sleep 1
done
expect "the guest held its system stage back (test hook, $((SECONDS - t0))s)" \
    grep -q "VIRTKUBE-LOG system: test hook: holding" "$console"
e2e_virsh destroy "$PROFILE" >/dev/null
t1=$SECONDS
wait "$start_pid"
rc=$?
out=$(cat "$WORK/start1.out") err=$(cat "$WORK/start1.err")
expect_rc 1 "start fails once the VM is destroyed under it ($((SECONDS - t1))s after the destroy)"
expect "saying the VM stopped before it was ready" \
    grep -q "the VM of profile '$PROFILE' stopped before it was ready: its domain is shut off" <<<"$err"
expect "and pointing at logs and start" grep -q "virtkube logs -p $PROFILE.*virtkube start -p $PROFILE" <<<"$err"

# The next start boots it; the guest carries on (its boot unit: cloud-init is
# off by now) and start follows the provisioning again until READY.
run vk start --no-kubernetes -v
expect_rc 0 "start after the interruption finishes the provisioning (${secs}s)"
start2_err=$err
echo "# $(grep timing <<<"$err")"
expect "start says the provisioning is still pending" grep -q "has not finished yet: following it again" <<<"$err"
ip=$(sed -n "s/^profile '$PROFILE' is running at \([0-9.]*\)$/\1/p" <<<"$out")
expect "start prints the node IP ($ip)" test -n "$ip"
# The guest's provisioning script (mode none) reports its stages on the serial
# console; start follows them there and shows each one as it happens.
expect "start showed the guest's payload stage" grep -q "^guest: payload ok" <<<"$err"
expect "start showed the guest's system stage" grep -q "^guest: system ok" <<<"$err"
expect "the console log holds the guest's READY line" grep -q "VIRTKUBE-READY" "$console"
[[ $rc == 0 ]] || { e2e_virsh dumpxml "$PROFILE" | sed 's/^/# /'; tail -n 40 "$console" 2>/dev/null | sed 's/^/# console: /'; exit 1; }
run vk ssh -- systemctl is-enabled virtkube-provision.service
expect "the guest's boot unit is enabled" test "$rc:$out" = "0:enabled"
run vk ssh -- test -f /etc/cloud/cloud-init.disabled
expect_rc 0 "cloud-init is off for later boots"

# ---- host folders (virtiofs) ----
dom_xml=$(e2e_virsh dumpxml "$PROFILE" 2>&1)
expect "the domain has shared memfd memory" grep -q "<source type='memfd'/>" <<<"$dom_xml"
expect "and a virtiofs filesystem per mount" test "$(grep -c "<driver type='virtiofs'" <<<"$dom_xml")" = 2
expect "the guest provisioned its host folders (mounts stage)" grep -q "^guest: mounts ok" <<<"$start2_err"
run vk ssh -- cat /mnt/share/hello.txt
expect "mounts: a file written on the host is read in the guest" test "$rc:$out" = "0:from the host"
run vk ssh -- 'echo "from the guest" | sudo tee /mnt/share/guest.txt >/dev/null && echo as-user >/mnt/share/user.txt 2>/dev/null; id -u'
guest_uid=$out
expect "mounts: a file written in the guest is read on the host" test "$(cat "$share/guest.txt" 2>&1)" = "from the guest"
echo "# ownership: written as root in the guest -> $(stat -c '%U:%G (%u:%g)' "$share/guest.txt") on the host;" \
    "the guest user (uid $guest_uid) $(test -e "$share/user.txt" && echo "wrote $(stat -c '%u:%g' "$share/user.txt")" || echo "could not write (the host directory is $(stat -c '%U %a' "$share"))")"
expect "mounts: root in the guest writes as root on the host (passthrough)" test "$(stat -c %u "$share/guest.txt")" = 0
run vk ssh -- cat /mnt/ro/ro.txt
expect "mounts: the ro folder is readable" test "$rc:$out" = "0:read-only"
run vk ssh -- sudo touch /mnt/ro/new
expect "mounts: ro refuses writes, even root's ($(tail -n 1 <<<"$err"))" test "$rc" != 0 -a ! -e "$ro_dir/new"
grep -q "Read-only file system" <<<"$err" || echo "# ro: $err"
run vk ssh -- systemctl show -p Before mnt-share.mount
expect "mounts: the mount unit is ordered before the kubelet" grep -q "kubelet.service" <<<"$out"
run vk mount list
expect "mount list shows both ($(tr '\n' '|' <<<"$out"))" grep -q "/mnt/ro .*ro$" <<<"$out"
run vk mount "$share:/mnt/share,ro"
expect "mount of a guest path in use by another mount fails" test "$rc" != 0
expect "naming the mount there ($err)" grep -q "mounts '$share' on guest path '/mnt/share' already" <<<"$err"
run vk mount relative/dir
expect "mount of a relative path fails ($(head -n 1 <<<"$err"))" grep -q "not an absolute, normalized path" <<<"$err"
run vk unmount /mnt/nothing
expect "unmount of a path that is not mounted fails" grep -q "nothing is mounted on '/mnt/nothing'" <<<"$err"
# On the running profile: hot-plugged where libvirt and qemu can, else at the next start.
run vk mount "$hot:/mnt/hot"
expect_rc 0 "mount on the running profile exits 0 ($(tail -n 1 <<<"$err"))"
hot_now=0
grep -q "done in 1 running node" <<<"$err" && hot_now=1
if [[ $hot_now == 1 ]]; then
    run vk ssh -- cat /mnt/hot/hot.txt
    expect "mounts: hot-plugged: the guest reads it at once" test "$rc:$out" = "0:hot"
else
    expect "mounts: no hot-plug here: it says the next start applies it" grep -q "applied at the next" <<<"$err"
fi

run vk status
expect_rc 0 "status exits 0 while running"
expect "status says Host: Running" grep -qx "Host: Running" <<<"$out"

run vk ssh -- cat /etc/hostname
expect_rc 0 "ssh -- cat /etc/hostname exits 0"
expect "and prints the profile name" test "$out" = "$PROFILE"
run vk ssh -- sudo -n true
expect_rc 0 "the docker user has passwordless sudo"
run vk ssh -- 'exit 7'
expect_rc 7 "ssh passes the command's exit code back"
run vk logs --provisioning
expect_rc 0 "logs --provisioning exits 0"
expect "and prints the guest's provision.log and system stage log" \
    grep -qx "==> /var/log/virtkube/system.log <==" <<<"$out"
provision_log_first() { test "$(head -n 1 <<<"$out")" = "==> /var/log/virtkube/provision.log <=="; }
expect "provision.log first" provision_log_first

run vk start --no-kubernetes
expect_rc 0 "start on a running profile succeeds"
expect "and says there is nothing to do" grep -q "already running; nothing to do" <<<"$err"

net_xml=$(e2e_virsh net-dumpxml "$NETWORK" 2>&1)
expect "network $NETWORK exists" grep -q "<name>$NETWORK</name>" <<<"$net_xml"
no_forward() { ! grep -q "<forward" <<<"$1"; }
expect "and is isolated (no <forward>)" no_forward "$net_xml"

run vk stop
expect_rc 0 "stop exits 0 (${secs}s)"
expect "stop was an ACPI shutdown, not a hard stop" grep -q "(ACPI shutdown)" <<<"$err"
expect "domain is shut off" test "$(e2e_virsh domstate "$PROFILE" 2>&1)" = "shut off"

run vk status
expect_rc 1 "status exits 1 when stopped (host down)"
expect "status says Host: Stopped" grep -qx "Host: Stopped" <<<"$out"
run vk stop
expect_rc 0 "stopping a stopped profile succeeds"
expect "quietly" test -z "$err$out"

run vk start --no-kubernetes -v
expect_rc 0 "start boots the stopped profile again (${secs}s)"
echo "# $(grep timing <<<"$err")"
expect "with the same IP" grep -qx "profile '$PROFILE' is running at $ip" <<<"$out"
no_guest_lines() { ! grep -q "^guest: " <<<"$err"; }
expect "and follows no provisioning (it is done)" no_guest_lines
# The boot unit still runs on every boot: it reports READY at once.
boots=$(grep -c "VIRTKUBE-BOOT" "$console")
# The console's lines from the last VIRTKUBE-BOOT on hold a READY.
ready_after_last_boot() { awk '/VIRTKUBE-BOOT/ { r = 0 } /VIRTKUBE-READY/ { r = 1 } END { exit !r }' "$console"; }
for _ in $(seq 120); do ready_after_last_boot && break; sleep 1; done
expect "the boot unit reported READY on this boot (boot $boots in the console)" ready_after_last_boot
run vk ssh -- cat /etc/hostname
expect "ssh works after the restart" test "$rc:$out" = "0:$PROFILE"
run vk logs
expect "logs shows the guest's console" grep -q "$PROFILE" <<<"$out"

run vk ssh -- cat /mnt/share/hello.txt /mnt/share/guest.txt /mnt/hot/hot.txt
expect "mounts: back after stop/start, the one added while running too" \
    test "$rc:$(tr '\n' '|' <<<"$out")" = "0:from the host|from the guest|hot|"
run vk ssh -- sudo touch /mnt/ro/new
expect "mounts: ro still refuses writes after the restart" test "$rc" != 0 -a ! -e "$ro_dir/new"
run vk unmount /mnt/ro
expect_rc 0 "unmount /mnt/ro exits 0 ($(tail -n 1 <<<"$err"))"
run vk ssh -- mountpoint -q /mnt/ro
# util-linux 2.38's mountpoint exits 32 for "not a mountpoint" (1 in older ones); 255 is ssh's own failure
expect "mounts: unmount takes effect in the guest at once (mountpoint exit $rc)" test "$rc" != 0 -a "$rc" != 255
run vk ssh -- test -e /etc/systemd/system/mnt-ro.mount
expect "and its mount unit is gone" test "$rc" = 1
run vk mount list
no_ro() { ! grep -q "/mnt/ro" <<<"$out"; }
expect "mount list no longer shows it" no_ro
run vk ssh -- cat /mnt/share/hello.txt
expect "the other folder stays" test "$rc:$out" = "0:from the host"

run vk delete
expect_rc 0 "delete exits 0"
absent() { ! e2e_virsh "$1" "$2" >/dev/null 2>&1; }
expect "no domain is left" absent dominfo "$PROFILE"
expect "no network is left" absent net-info "$NETWORK"
expect "no storage pool is left" absent pool-info "$NETWORK"
expect "no profile files are left" test -z "$(ls -A "$VIRTKUBE_HOME/profiles")"
expect "no lock file is left" test -z "$(ls -A "$VIRTKUBE_HOME/locks")"

echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
