#!/bin/bash
# virtkube doctor (start's preflight) on test:///default and on broken set-ups: unreachable URI, socket without permission, too little memory and disk, unreadable home.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

py=/usr/bin/python3
[ -x "$py" ] || py=python3

# json_get FIELD-PATH: reads $out as JSON and prints e.g. checks[name=memory].result.
check_json() {
	"$py" -c '
import json, sys
doc = json.loads(sys.stdin.read())
name, field, want = sys.argv[1], sys.argv[2], sys.argv[3]
got = [c[field] for c in doc["checks"] if c["check"] == name]
sys.exit(0 if got and ((want == "null" and got[0] is None) or got[0] == want or (want.startswith("~") and want[1:] in (got[0] or ""))) else 1)
' "$@" <<<"$out"
}

expect_out_lacks() {
	if grep -qE -- "$1" <<<"$out"; then fail "$2" "stdout has /$1/" "stdout: $out"; else pass "$2"; fi
}

# as_other_user CMD...: runs CMD as nobody when we are root (root passes every
# permission check, so a permission set-up needs another user); as is otherwise.
as_other_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		"$@"
	fi
}
can_switch_user() { [ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null; }

# A place other users can reach (TEST_TMP is 0700).
shared=$(mktemp -d /tmp/virtkube-doctor.XXXXXX)
chmod 0755 "$shared"
cleanup_all() { rm -rf "$shared"; cleanup_tmp; }
trap cleanup_all EXIT

# A host with plenty of memory, whatever this one has.
printf 'MemTotal:       16384000 kB\nMemFree:         8000000 kB\nMemAvailable:   12288000 kB\n' >"$TEST_TMP/meminfo.big"
export VIRTKUBE_MEMINFO=$TEST_TMP/meminfo.big
cp "$VIRTKUBE_MEMINFO" "$shared/meminfo"

# --- a working set-up: libvirt's test driver
run vk doctor --libvirt-uri test:///default
expect_rc 0 "doctor on test:///default: start would go ahead"
expect_out "^CHECK +RESULT +DETAIL" "a table with check, result and detail"
expect_out "^libvirt +ok +connected to 'test:///default'" "libvirt is reachable"
expect_out "^accelerator +warn +kvm is not usable: .*tcg emulation: expect minutes, not seconds" "no kvm there: a tcg warning"
expect_out "^ +fix: +enable virtualization" "the warning comes with its fix"
expect_out "^memory +ok +12000 MiB available for a 2048 MiB VM" "memory from the injected meminfo"
expect_out "^disk +ok " "disk space"
expect_out "^subnet +ok +192\.168\.1[0-4][0-9]\.0/24 is free" "a free /24 in the range"
expect_out "^home +ok " "home"
expect_err "'virtkube start' can go ahead \(see the warnings\)" "the verdict on stderr"

run vk doctor --libvirt-uri test:///default -o json
expect_rc 0 "doctor -o json"
check "json: ok is true, accelerator tcg" "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if d["ok"] is True and d["accelerator"] == "tcg" and d["failed"] == 0 else 1)' <<<"$out"
check "json: libvirt ok" check_json libvirt result ok
check "json: accelerator warn with a fix" check_json accelerator fix "~enable virtualization"
check "json: ok checks have a null fix" check_json memory fix null
expect_no_out_err() { if [ -z "$err" ]; then pass "$1"; else fail "$1" "stderr: $err"; fi; }
expect_no_out_err "json output prints nothing on stderr"

run vk doctor --libvirt-uri test:///default --accel tcg
expect_out "^accelerator +warn +tcg emulation \(--accel tcg\)" "--accel tcg is a warning, not a failure"
run vk doctor --libvirt-uri test:///default --accel kvm
expect_rc 1 "--accel kvm where kvm is not usable fails"
expect_out "^accelerator +FAIL +--accel kvm: libvirt offers no kvm domains" "saying why"

# --- an unreachable URI: a socket path nobody listens on, and a closed local TCP port
run vk doctor --libvirt-uri "qemu+unix:///system?socket=$TEST_TMP/no-such-sock"
expect_rc 1 "an unreachable libvirt fails"
expect_out "^libvirt +FAIL +cannot connect to libvirt at 'qemu\+unix:///system\?socket=$TEST_TMP/no-such-sock'" "naming the URI"
expect_out "fix: +no libvirt daemon is listening" "with the fix"
expect_out_lacks "^(accelerator|subnet) " "no accelerator or subnet check without libvirt"
run vk doctor --libvirt-uri "qemu+tcp://127.0.0.1:9/system" -o json
expect_rc 1 "a closed TCP port fails"
check "json: ok is false" "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if d["ok"] is False and d["failed"] >= 1 else 1)' <<<"$out"
check "json: libvirt fail names the host" check_json libvirt message "~127.0.0.1"

# --- a socket without permission (mode 0)
sock=$shared/libvirt-sock
"$py" - "$sock" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0)
if os.geteuid() == 0:
    os.chown(sys.argv[1], 0, 65534)  # a group of its own, as libvirt's socket has
s.listen(1)
time.sleep(60)
PY
sock_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
mkdir -m 0777 "$shared/home-sock"
if can_switch_user; then
	run as_other_user env VIRTKUBE_HOME="$shared/home-sock" VIRTKUBE_MEMINFO="$shared/meminfo" \
		"$VIRTKUBE_BIN" doctor --libvirt-uri "qemu+unix:///system?socket=$sock"
	expect_rc 1 "a socket without permission fails"
	expect_out "^libvirt-socket +FAIL +no permission on libvirt's socket '$sock' \(mode 0000, group '[^']+'\)" "naming the socket and its mode"
	expect_out "fix: +(add your user to the '[^']+' group \(sudo usermod -aG|set unix_sock_group = \"libvirt\")" "with the group fix"
	expect_out "^libvirt +FAIL +cannot connect to libvirt at .*Permission denied" "and libvirt's own error"
	chown root:root "$sock" 2>/dev/null
	run as_other_user env VIRTKUBE_HOME="$shared/home-sock" VIRTKUBE_MEMINFO="$shared/meminfo" \
		"$VIRTKUBE_BIN" doctor --libvirt-uri "qemu+unix:///system?socket=$sock"
	if [ "$(stat -c %g "$sock")" = 0 ]; then
		expect_out "fix: +set unix_sock_group = \"libvirt\" and unix_sock_rw_perms = \"0770\"" \
			"a socket of group root: the fix is libvirtd's configuration, not a group"
	fi
else
	pass "# SKIP a socket without permission: running as root without setpriv, which passes every permission"
fi
kill "$sock_pid" 2>/dev/null
wait "$sock_pid" 2>/dev/null

# --- too little memory
printf 'MemTotal:        4096000 kB\nMemFree:          100000 kB\nMemAvailable:    1024000 kB\n' >"$TEST_TMP/meminfo.small"
VIRTKUBE_MEMINFO=$TEST_TMP/meminfo.small run vk doctor --libvirt-uri test:///default
expect_rc 1 "too little available memory fails"
expect_out "^memory +FAIL +the VM wants 2048 MiB but only 1000 MiB are available \(of 4000 MiB\)" "saying how much there is"
expect_out "fix: +stop other VMs or programs, or use a smaller --memory" "with the fix"
VIRTKUBE_MEMINFO=$TEST_TMP/meminfo.small run vk doctor --libvirt-uri test:///default --memory 8192
expect_out "^memory +FAIL +the VM wants 8192 MiB but this host has 4000 MiB in all" "more than the host has"
expect_out "fix: +use --memory 3488 or less" "suggesting what fits"
printf 'MemTotal:        4096000 kB\nMemAvailable:    2200000 kB\n' >"$TEST_TMP/meminfo.tight"
VIRTKUBE_MEMINFO=$TEST_TMP/meminfo.tight run vk doctor --libvirt-uri test:///default
expect_rc 0 "tight memory is only a warning"
expect_out "^memory +warn +2148 MiB available for a 2048 MiB VM" "saying so"
VIRTKUBE_MEMINFO=$TEST_TMP/meminfo.tight run vk doctor --libvirt-uri test:///default --memory 1024
expect_out "^memory +ok " "a smaller --memory fits"

# --- too little disk: the home on a 64 MiB tmpfs in a mount namespace of our own
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	mkdir -p "$TEST_TMP/small"
	# shellcheck disable=SC2016 # expanded by the inner bash
	run unshare -m bash -c 'mount -t tmpfs -o size=64m tmpfs "$1" && shift && VIRTKUBE_HOME=$0 "$@"' \
		"$TEST_TMP/small/home" "$TEST_TMP/small" "$VIRTKUBE_BIN" doctor --libvirt-uri test:///default
	expect_rc 1 "too little disk fails"
	expect_out "^disk +FAIL +6[0-4] MiB free at '$TEST_TMP/small'; a first start downloads and builds about 2048 MiB" "naming where and how much"
	expect_out "fix: +free space there \(virtkube cache clean" "with the fix"
	# shellcheck disable=SC2016 # expanded by the inner bash
	run unshare -m bash -c 'mount -t tmpfs -o size=64m tmpfs "$1" && shift && VIRTKUBE_HOME=$0 "$@"' \
		"$TEST_TMP/small/home" "$TEST_TMP/small" "$VIRTKUBE_BIN" doctor --libvirt-uri test:///default -o json
	check "json: disk fail" check_json disk result fail
else
	pass "# SKIP too little disk: needs root and unshare -m to mount a small tmpfs"
fi

# --- an unreadable home
mkdir -m 0700 "$shared/home-locked"
if [ "$(id -u)" -ne 0 ]; then chmod 0 "$shared/home-locked"; fi
if can_switch_user; then
	run as_other_user env VIRTKUBE_HOME="$shared/home-locked" VIRTKUBE_MEMINFO="$shared/meminfo" \
		"$VIRTKUBE_BIN" doctor --libvirt-uri test:///default
	expect_rc 1 "an unreadable home fails"
	expect_out "^home +FAIL +cannot use VIRTKUBE_HOME '$shared/home-locked': Permission denied" "naming it and the cause"
	expect_out "fix: +give your user access" "with the fix"
	run as_other_user env VIRTKUBE_HOME="$shared/home-locked/sub" "$VIRTKUBE_BIN" doctor --libvirt-uri test:///default
	expect_out "^home +FAIL +cannot use VIRTKUBE_HOME '$shared/home-locked/sub': Permission denied" "a home under a locked directory too"
else
	pass "# SKIP an unreadable home: running as root without setpriv"
fi
echo "not a directory" >"$TEST_TMP/home-file"
VIRTKUBE_HOME=$TEST_TMP/home-file run vk doctor --libvirt-uri test:///default
expect_out "^home +FAIL +VIRTKUBE_HOME '$TEST_TMP/home-file' is not a directory" "a home that is a file"

# --- qemu's own user must pass every directory above the home (qemu:///system only)
if getent passwd libvirt-qemu >/dev/null || getent passwd qemu >/dev/null; then
	VIRTKUBE_HOME=$TEST_TMP/home run vk doctor --libvirt-uri "qemu:///system?socket=$TEST_TMP/no-such-sock"
	expect_out "^qemu-access +FAIL +qemu \(user '[a-z-]+' under qemu:///system.*\) cannot reach '$TEST_TMP/home': '$TEST_TMP' \(mode 0700\)" \
		"a home below a 0700 directory is out of qemu's reach"
	expect_out "fix: +run 'chmod o\+x $TEST_TMP'" "with the fix"
	VIRTKUBE_HOME=$shared/home-q run vk doctor --libvirt-uri "qemu:///system?socket=$TEST_TMP/no-such-sock"
	expect_out "^qemu-access +ok +qemu \(user '[a-z-]+'\) can reach '$shared/home-q'" "a home below 0755 directories is reachable"
else
	pass "# SKIP qemu's access to the home: no libvirt-qemu or qemu user on this host"
fi
run vk doctor --libvirt-uri test:///default
expect_out_lacks "^qemu-access" "no qemu-access check for the test driver"

# --- ssh missing is a warning
mkdir -p "$TEST_TMP/emptybin"
run env PATH="$TEST_TMP/emptybin" "$VIRTKUBE_BIN" doctor --libvirt-uri test:///default
expect_rc 0 "no ssh is only a warning"
expect_out "^ssh +warn +no 'ssh' in PATH" "saying what needs it"
expect_out "fix: +install the OpenSSH client" "with the install hint"

run vk doctor --memory 10
expect_rc 2 "a --memory below 256 is a usage error"

# -p: an existing profile is checked with what it was created with.
mkdir -p "$VIRTKUBE_HOME/profiles/big"
printf '{"schema": 1, "name": "big", "libvirt_uri": "test:///default", "memory_mib": 9000000, "disk_gib": 20}\n' \
	>"$VIRTKUBE_HOME/profiles/big/config.json"
run vk -p big doctor
expect_rc 1 "doctor -p checks the profile's own memory"
expect_out "^memory +FAIL .*9000000 MiB" "naming the profile's 9000000 MiB"
expect_out "^libvirt +ok +connected to 'test:///default'" "on the profile's libvirt URI"

finish
