# shellcheck shell=bash
# TAP helpers for the integration tests: run the built binary, check exit code and output.
set -u
: "${VIRTKUBE_BIN:?VIRTKUBE_BIN must point at the built virtkube (run through make check)}"

TEST_TMP=$(mktemp -d /tmp/virtkube-it.XXXXXX)
cleanup_tmp() { rm -rf "$TEST_TMP"; }
trap cleanup_tmp EXIT
export VIRTKUBE_HOME="$TEST_TMP/home"
export HOME="$TEST_TMP/user"
export KUBECONFIG="$TEST_TMP/user/.kube/config"
unset VIRTKUBE_PROFILE LIBVIRT_DEFAULT_URI
mkdir -p "$HOME"

tap_n=0
tap_failed=0
out=""
err=""
rc=0

# run CMD...: runs it, keeping stdout in $out, stderr in $err, exit code in $rc.
run() {
	out=$("$@" 2>"$TEST_TMP/.stderr")
	rc=$?
	err=$(cat "$TEST_TMP/.stderr")
}

vk() { "$VIRTKUBE_BIN" "$@"; }

pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	shift
	local line
	for line in "$@"; do printf '#   %s\n' "$line"; done
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc" "failed: $*" "exit $rc" "stdout: $out" "stderr: $err"; fi
}

expect_rc() {
	if [ "$rc" = "$1" ]; then pass "$2"; else fail "$2" "exit $rc, want $1" "stdout: $out" "stderr: $err"; fi
}
expect_out() {
	if grep -qE -- "$1" <<<"$out"; then pass "$2"; else fail "$2" "stdout lacks /$1/" "stdout: $out"; fi
}
expect_err() {
	if grep -qE -- "$1" <<<"$err"; then pass "$2"; else fail "$2" "stderr lacks /$1/" "stderr: $err"; fi
}
expect_no_out() {
	if [ -z "$out" ]; then pass "$1"; else fail "$1" "unexpected stdout: $out"; fi
}

finish() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
