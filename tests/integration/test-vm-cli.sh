#!/bin/bash
# The lifecycle commands through the binary: bad input, unknown profiles, unreachable libvirt, and a run on test:///default.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

# A tiny qcow2 header is all the image probe needs; the test driver never reads the disk.
img=$TEST_TMP/base.qcow2
python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(b"QFI\xfb"+struct.pack(">I",3)+b"\0"*16+struct.pack(">Q",1<<30)+b"\0"*480)' "$img"
TEST_URI=test:///default

for cmd in stop ip ssh status logs; do
	run vk -p ghost $cmd
	expect_rc 1 "$cmd on an unknown profile exits 1"
	expect_err "profile 'ghost' does not exist" "$cmd names the unknown profile"
done

run vk start --no-kubernetes --memory 10 --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--memory 10 is a usage error"
expect_err "invalid value '10' for --memory: must be between 256" "and says the range"
run vk start --no-kubernetes --cpus 0 --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--cpus 0 is a usage error"
run vk start --no-kubernetes --cpus many --image "$img"
expect_rc 2 "--cpus many is a usage error"
run vk start --no-kubernetes --accel warp --image "$img"
expect_rc 2 "--accel warp is a usage error"
expect_err "expected one of auto, kvm, tcg" "listing the accelerators"
run vk start --no-kubernetes --network-mode macvtap --image "$img"
expect_rc 2 "--network-mode macvtap is a usage error"
expect_err "expected one of nat, isolated, bridge" "listing the modes"
run vk start --no-kubernetes --network-mode bridge --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--network-mode bridge without --bridge is refused"
expect_err "needs --bridge NAME" "saying what it needs"
run vk start --no-kubernetes --bridge eth1 --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--bridge without --bridge-ip is refused"
expect_err "needs --bridge-ip" "saying the addresses are the user's to name"
run vk start --no-kubernetes --network-mode isolated --bridge-ip 10.0.0.5/24 --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--bridge-ip with --network-mode isolated is refused"
expect_err "--bridge-ip applies to --network-mode bridge" "saying so"
# A Kubernetes start needs its binaries first; --offline keeps this test off the network.
run vk start --no-preload-images --offline --image "$img" --libvirt-uri $TEST_URI
expect_rc 1 "a Kubernetes start with --offline and an empty cache fails"
expect_err "artifacts are not in the cache" "saying what is missing"

run vk start --no-kubernetes --image "$TEST_TMP/nope.qcow2" --libvirt-uri $TEST_URI
expect_rc 1 "an image that does not exist fails"
expect_err "image '$TEST_TMP/nope.qcow2': No such file" "naming the path"
printf 'just text\n' >"$TEST_TMP/notes.txt"
run vk start --no-kubernetes --image "$TEST_TMP/notes.txt" --libvirt-uri $TEST_URI
expect_rc 2 "an image that is not qcow2 or raw is refused"
expect_err "notes.txt' is not a qcow2 or raw disk image" "saying what it is not"
check "nothing was created for the refused starts" test ! -e "$VIRTKUBE_HOME/profiles/virtkube"

run vk start --no-kubernetes --image "$img" --libvirt-uri 'qemu+unix:///system?socket=/nonexistent/libvirt-sock'
expect_rc 1 "an unreachable libvirt fails"
expect_err "cannot connect to libvirt at 'qemu\+unix:///system\?socket=/nonexistent/libvirt-sock'" "naming the URI"
expect_err "^hint: no libvirt daemon is listening" "with a hint"
check "and leaves no profile behind" test ! -e "$VIRTKUBE_HOME/profiles/virtkube/config.json"

# A TCG host whose libvirt offers no CPU mode 'maximum' (libvirt before 7.1): the guest would get qemu64.
printf '%s\n' "<domainCapabilities><domain>qemu</domain><cpu>" "<mode name='host-passthrough' supported='no'/>" \
	"<mode name='custom' supported='yes'><model usable='yes'>qemu64</model></mode>" "</cpu></domainCapabilities>" \
	>"$TEST_TMP/domcaps-old.xml"
VIRTKUBE_TEST_TCG_DOMCAPS=$TEST_TMP/domcaps-old.xml run vk -p oldcpu start --no-kubernetes --image "$img" \
	--libvirt-uri $TEST_URI --network-mode isolated --cpus 1 --memory 512
expect_rc 1 "start under TCG without CPU mode 'maximum' fails"
expect_err "the VM cannot run under TCG: libvirt does not know CPU mode 'maximum' for TCG .*qemu64, which lacks x86-64-v2" \
	"saying the guest would get qemu64"
expect_err "; base\.qcow2 may need x86-64-v2 \(CentOS Stream 9\) or v3 \(Stream 10\)" "naming the image's requirement"
expect_err "^hint: upgrade libvirt \(7\.1 or later\) and qemu \(4\.2 or later\)" "with what to do"
VIRTKUBE_TEST_TCG_DOMCAPS=$TEST_TMP/domcaps-old.xml run vk doctor --libvirt-uri $TEST_URI
expect_rc 1 "doctor says so too"
expect_out "^accelerator +FAIL +tcg: libvirt does not know CPU mode 'maximum' for TCG" "in its accelerator check"
expect_out "needs x86-64-v[23]" "naming the default image's level"

# A whole start in one process on the test driver (no guest: it does not wait for SSH).
run vk -p dev start --no-kubernetes --image "$img" --libvirt-uri $TEST_URI --network-mode isolated --cpus 1 --memory 512
expect_rc 0 "start on test:///default succeeds"
expect_out "profile 'dev' is running at 192.168.100.2" "and prints the IP"
expect_err "warning: kvm is not usable here: libvirt offers no kvm domains.*; the VM runs under TCG emulation" "with the one-line TCG warning that says why"
run vk -p dev ip
expect_rc 0 "ip exits 0"
expect_out "^192\.168\.100\.2$" "ip prints the node IP"
check "the private key is 0600" test "$(stat -c %a "$VIRTKUBE_HOME/profiles/dev/id_ecdsa")" = 600
check "the config is 0600" test "$(stat -c %a "$VIRTKUBE_HOME/profiles/dev/config.json")" = 600
check "the seed ISO is there" test -s "$VIRTKUBE_HOME/profiles/dev/seed.iso"

run vk -p dev start --no-kubernetes --cpus 3
expect_rc 2 "a changed --cpus on an existing profile is refused"
expect_err "created with --cpus 1; it cannot change to 3" "naming both values"
expect_err "^hint: delete the profile first \('virtkube delete -p dev'\)" "with a hint to delete"

# Every test:///default connection starts empty: the domain is gone for the next process.
run vk -p dev status -o json
expect_rc 1 "status of a profile whose domain is missing exits 1 (host down)"
check "status -o json says Nonexistent" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["Name"] == "dev" and d["Host"] == "Nonexistent" and d["IP"] == "192.168.100.2", d' "$out"

# ssh execs the system ssh: a stand-in records its arguments and exits 42.
mkdir -p "$TEST_TMP/bin"
cat >"$TEST_TMP/bin/ssh" <<'EOS'
#!/bin/sh
printf '%s\n' "$@" >"$SSH_ARGS_FILE"
exit 42
EOS
chmod +x "$TEST_TMP/bin/ssh"
run env PATH="$TEST_TMP/bin:$PATH" SSH_ARGS_FILE="$TEST_TMP/ssh.args" "$VIRTKUBE_BIN" -p dev ssh -- cat /etc/hostname
expect_rc 42 "ssh passes the command's exit code back"
args=$(cat "$TEST_TMP/ssh.args" 2>/dev/null)
check "ssh gets the profile key" grep -qxF "$VIRTKUBE_HOME/profiles/dev/id_ecdsa" <<<"$args"
check "ssh never prompts about host keys" grep -qx "StrictHostKeyChecking=no" <<<"$args"
check "ssh keeps no known_hosts" grep -qx "UserKnownHostsFile=/dev/null" <<<"$args"
check "ssh logs only errors" grep -qx "LogLevel=ERROR" <<<"$args"
check "ssh goes to docker@IP, then -- and the command" \
	test "$(tail -n 4 "$TEST_TMP/ssh.args" | tr '\n' ' ')" = "docker@192.168.100.2 -- cat /etc/hostname "

run vk -p dev logs
expect_rc 1 "logs before any boot output fails"
expect_err "console log .*console.log" "naming the log file"
printf 'Debian GNU/Linux 12 dev ttyS0\n' >"$VIRTKUBE_HOME/profiles/dev/console.log"
run vk -p dev logs
expect_rc 0 "logs exits 0"
expect_out "^Debian GNU/Linux 12 dev ttyS0$" "logs prints the console log"

# logs --provisioning runs a script in the guest over ssh. A stand-in ssh runs
# that script here, with the guest's /var/log/virtkube moved to a test tree
# and sudo reduced to running its command.
cat >"$TEST_TMP/bin/sudo" <<'EOS'
#!/bin/sh
[ "$1" = -n ] && shift
exec "$@"
EOS
cat >"$TEST_TMP/bin/ssh" <<'EOS'
#!/bin/sh
printf '%s\n' "$@" >"$SSH_ARGS_FILE"
for last; do :; done
script=$(printf '%s' "$last" | sed "s|/var/log/virtkube|$GUEST_LOGS|g")
exec sh -c "$script"
EOS
chmod +x "$TEST_TMP/bin/sudo" "$TEST_TMP/bin/ssh"
guest_logs=$TEST_TMP/guest-logs
vk_guest() { env PATH="$TEST_TMP/bin:$PATH" SSH_ARGS_FILE="$TEST_TMP/ssh.args" GUEST_LOGS="$guest_logs" "$VIRTKUBE_BIN" "$@"; }
run vk_guest -p dev logs --provisioning
expect_rc 1 "logs --provisioning with no logs in the guest fails"
expect_err "no provisioning logs in the guest" "saying there are none"
mkdir -p "$guest_logs"
echo "VIRTKUBE-STAGE payload ok" >"$guest_logs/provision.log"
echo "payload stage output" >"$guest_logs/payload.log"
touch -d '2 minutes ago' "$guest_logs/payload.log"
echo "containerd.sock did not appear" >"$guest_logs/containerd.log"
run vk_guest -p dev logs --provisioning
expect_rc 0 "logs --provisioning exits 0"
check "it goes through ssh to docker@IP" grep -qx "docker@192.168.100.2" "$TEST_TMP/ssh.args"
check "provision.log first, then the stages oldest first (the failed one last)" \
	test "$(grep '^==>' <<<"$out" | tr '\n' ' ')" = \
	"==> $guest_logs/provision.log <== ==> $guest_logs/payload.log <== ==> $guest_logs/containerd.log <== "
expect_out "^containerd.sock did not appear$" "with each log's contents"
run vk -p dev logs --provisioning -f
expect_rc 2 "logs --provisioning -f is a usage error"

# Multi-node through the binary: the records, -n, and bad input that changes nothing.
run vk -p trio start --nodes 0 --no-kubernetes --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--nodes 0 is a usage error"
expect_err "invalid value '0' for --nodes: must be between 1 and 9" "naming the range"
run vk -p trio start --nodes 10 --no-kubernetes --image "$img" --libvirt-uri $TEST_URI
expect_rc 2 "--nodes 10 is a usage error"
check "and no profile was made" test ! -e "$VIRTKUBE_HOME/profiles/trio"
run vk -p trio start --nodes 3 --no-kubernetes --image "$img" --libvirt-uri $TEST_URI --network-mode isolated --cpus 1 --memory 512
expect_rc 0 "start --nodes 3 on test:///default succeeds"
expect_out "profile 'trio' has 3 nodes: trio 192.168.10[0-9].2 \(plain\), trio-m02 192.168.10[0-9].3 \(plain\), trio-m03 192.168.10[0-9].4 \(plain\)" \
	"and names them with their fixed IPs"
check "each node has its own seed" test -s "$VIRTKUBE_HOME/profiles/trio/m02-seed.iso" -a -s "$VIRTKUBE_HOME/profiles/trio/m03-seed.iso"
run vk -p trio node list -o json
expect_rc 0 "node list -o json"
check "lists the three nodes with name, IP, role, state, pod CIDR" python3 -c '
import json, sys
n = json.loads(sys.argv[1])
assert [x["name"] for x in n] == ["trio", "trio-m02", "trio-m03"], n
assert [x["podCIDR"] for x in n] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"], n
assert all(x["role"] == "plain" and x["state"] == "Nonexistent" for x in n), n' "$out"
trio_ip3=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])[2]["ip"])' "$out")
run vk -p trio ip -n m03
expect_out "^$trio_ip3$" "ip -n m03 prints m03's IP"
run vk -p trio ip -n trio-m03
expect_out "^$trio_ip3$" "and so does its full name"
run env PATH="$TEST_TMP/bin:$PATH" SSH_ARGS_FILE="$TEST_TMP/ssh.args" "$VIRTKUBE_BIN" -p trio ssh -n m03 -- hostname
check "ssh -n m03 goes to m03's IP" grep -qx "docker@$trio_ip3" "$TEST_TMP/ssh.args"
run vk -p trio ip -n m07
expect_rc 1 "ip -n of a name that is no node fails"
expect_err "profile 'trio' has no node 'm07'" "saying so"
expect_err "^hint: its nodes: trio, trio-m02, trio-m03" "and naming the nodes it has"
run vk -p trio status
check "status shows one block per node" test "$(grep -c '^Name: ' <<<"$out")" = 3
check "with minikube's type lines" test "$(grep -c '^Type: ' <<<"$out")" = 3
cp "$VIRTKUBE_HOME/profiles/trio/config.json" "$TEST_TMP/trio.before"
unchanged() { cmp -s "$VIRTKUBE_HOME/profiles/trio/config.json" "$TEST_TMP/trio.before"; }
run vk -p trio node delete trio
expect_rc 2 "node delete of the first node is refused"
expect_err "cannot delete node 'trio': it is the first node of profile 'trio'" "saying why"
run vk -p trio node delete m09
expect_rc 1 "node delete of a name that is no node fails"
run vk -p trio node add --worker
expect_rc 2 "node add --worker on a --no-kubernetes profile is refused"
expect_err "it runs no Kubernetes" "saying there is no cluster to join"
run vk -p trio start --nodes 2
expect_rc 2 "start --nodes 2 on a three-node profile is refused"
expect_err "has 3 nodes; --nodes 2 cannot change that" "naming both counts"
expect_err "node add' or 'node delete NAME'" "and the commands that do"
check "none of them changed the profile" unchanged
run vk -p trio delete
expect_rc 0 "delete of the three-node profile"
check "leaves no profile directory" test ! -e "$VIRTKUBE_HOME/profiles/trio"

run vk -p other start --no-kubernetes --image "$img" --libvirt-uri $TEST_URI --network-mode isolated
expect_rc 0 "a second profile starts"
run vk -p dev delete --purge
expect_rc 2 "--purge without --all refuses while other profiles exist"
expect_err "profile 'other' is still there" "naming the other profile"

run vk -p dev delete
expect_rc 0 "delete exits 0"
check "the profile directory is gone" test ! -e "$VIRTKUBE_HOME/profiles/dev"
check "so is its lock file" test ! -e "$VIRTKUBE_HOME/locks/dev.lock"
run vk -p dev delete
expect_rc 0 "deleting it again is fine"
expect_err "does not exist: nothing to delete" "and says so"
check "leaving no lock file behind" test ! -e "$VIRTKUBE_HOME/locks/dev.lock"

# A config.json that does not parse can still be deleted (with the default URI).
printf '{"schema": 1, "na' >"$VIRTKUBE_HOME/profiles/other/config.json"
run env LIBVIRT_DEFAULT_URI=$TEST_URI "$VIRTKUBE_BIN" -p other delete
expect_rc 0 "a profile with a broken config.json is deleted"
check "its directory is gone" test ! -e "$VIRTKUBE_HOME/profiles/other"

run vk -p third start --no-kubernetes --image "$img" --libvirt-uri $TEST_URI --network-mode isolated
run vk delete --all --purge
expect_rc 0 "delete --all --purge exits 0"
check "the whole home is gone" test ! -e "$VIRTKUBE_HOME"

finish
