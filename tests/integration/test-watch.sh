#!/bin/bash
# status --watch in a real terminal (tmux): the panes, a failing Pod within two refreshes, the keys, a resize, an API that goes away and comes back, q and Ctrl-C restoring the terminal; NDJSON and the plain mode without one.
# Against the fake API server and libvirt's test:///default driver; with VIRTKUBE_TEST_API=real
# (test-watch-real-api.sh) against a real kube-apiserver instead.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"

if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux is not installed (scripts/dev/setup installs it)"
	exit 77
fi

api_start api --node-name dev --image-pull-error 'example.com/missing:1=manifest unknown'
make_profile dev "$FAKE_PORT"
# the libvirt side: the test driver (in a new process it has no domain of ours: the VM is Nonexistent)
python3 - "$VIRTKUBE_HOME/profiles/dev/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["libvirt_uri"] = "test:///default"
json.dump(c, open(sys.argv[1], "w"))
EOF
export VIRTKUBE_PROFILE=dev
# a console log with the guest's protocol lines, for l and the guest stage
printf '[    0.000000] Linux version 5.14.0\r\nVIRTKUBE-BOOT 1\nVIRTKUBE-STAGE containerd ok\nVIRTKUBE-STAGE kubeadm-init ok\n' \
	>"$VIRTKUBE_HOME/profiles/dev/console.log"

# ---- without a terminal

run vk status --interval 2
expect_rc 2 "--interval without --watch is a usage error"
run vk status --watch --interval 0
expect_rc 2 "--interval 0 is a usage error"
expect_err "must be between 1 and 3600" "saying the range"
run vk status --watch --interval soon
expect_rc 2 "--interval soon is a usage error"
run vk help --man
check "the manual page documents the view's keys" grep -q 'Keys in the full.*q quits; ? shows the keys; the up and down arrows.*l shows the tail of its console log; e switches the lower pane to all events.*r refreshes now' <<<"$out"
run vk -p nosuch status --watch
expect_rc 1 "--watch on a profile that does not exist fails at once"

timeout 4 "$VIRTKUBE_BIN" status --watch -o json --interval 1 >"$TEST_TMP/ndjson" 2>"$TEST_TMP/ndjson.err"
check "-o json --watch prints one JSON object per line, one per refresh ($(wc -l <"$TEST_TMP/ndjson") lines)" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines:
    d = json.loads(l)
    assert d["profile"] == "dev" and d["api"]["state"] == "ok", d
    assert d["nodes"][0]["name"] == "dev" and d["nodes"][0]["vm"] == "Nonexistent", d
    assert any(a["name"] == "dns" for a in d["addons"]), d' "$TEST_TMP/ndjson"
timeout 3 "$VIRTKUBE_BIN" status --watch --interval 1 </dev/null >"$TEST_TMP/plain" 2>&1
check "without a terminal --watch prints the plain status block each refresh ($(grep -c '^Name: dev' "$TEST_TMP/plain") blocks)" \
	test "$(grep -c '^Name: dev' "$TEST_TMP/plain")" -ge 2

# ---- in tmux

TMUX_SOCK=$TEST_TMP/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
# shellcheck disable=SC2317  # called by the trap
watch_cleanup() {
	tm kill-server 2>/dev/null
	[ -z "${busy_pid:-}" ] || kill "$busy_pid" 2>/dev/null
	fake_cleanup
}
trap watch_cleanup EXIT
screen() { tm capture-pane -p -t w; }
# wait_screen PATTERN SECONDS: polls the pane until an ERE matches, up to SECONDS; the pane is kept in $TEST_TMP/screen.
wait_screen() {
	local deadline=$((SECONDS + $2))
	while :; do
		screen >"$TEST_TMP/screen"
		grep -qE -- "$1" "$TEST_TMP/screen" && return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
# wait_gone PATTERN SECONDS: until it is no longer on the pane.
wait_gone() {
	local deadline=$((SECONDS + $2))
	while :; do
		screen >"$TEST_TMP/screen"
		grep -qE -- "$1" "$TEST_TMP/screen" || return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
shows() { # DESCRIPTION PATTERN [SECONDS]
	if wait_screen "$2" "${3:-10}"; then pass "$1"; else fail "$1" "the pane lacks /$2/:" "$(cat "$TEST_TMP/screen")"; fi
}

tm -f /dev/null new-session -d -s w -x 100 -y 30 \
	"env -u TMUX PS1='$ ' VIRTKUBE_HOME='$VIRTKUBE_HOME' HOME='$HOME' VIRTKUBE_PROFILE=dev KUBECONFIG='$KUBECONFIG' bash --norc --noprofile"
tm send-keys -t w "stty -g >'$TEST_TMP/stty.before'; echo BEFORE-THE-WATCH" Enter
wait_screen '^BEFORE-THE-WATCH' 10
tm send-keys -t w "'$VIRTKUBE_BIN' status --watch --interval 1; echo \"watch-rc=\$?\"; stty -g >'$TEST_TMP/stty.after'" Enter
shows "the full-screen view starts, titled with the profile" 'virtkube status --watch +profile dev +every 1s'
shows "the nodes pane: the node, its role and its VM state from libvirt" '^> dev +cp +Nonexistent +127\.0\.0\.1'
shows "with the hint status would give for a VM that is not there" "hint: start it with 'virtkube start -p dev'"
if [ "$real" = 0 ]; then
	shows "the Kubernetes pane: the API, the node Ready and its kubelet version" 'dev +Ready +kubelet v1\.32\.0'
else
	shows "the Kubernetes pane: the API answers" 'KUBERNETES +API https://127\.0\.0\.1'
fi
shows "the addons pane, with the enabled ones" 'ADDONS .*dns'
shows "the warnings pane" 'WARNINGS'
shows "the footer names the keys" 'q quit'

# A Pod made failing: it is on the screen within two refreshes (2 s at --interval 1; a second more for a loaded machine).
if [ "$real" = 0 ]; then
	apply_json /apis/apps/v1/namespaces/default/deployments/broken '{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": {"name": "broken", "namespace": "default"}, "spec": {"replicas": 1,
		"selector": {"matchLabels": {"app": "broken"}}, "template": {"metadata": {"labels": {"app": "broken"}},
		"spec": {"containers": [{"name": "c", "image": "example.com/missing:1"}]}}}}'
	want='default/broken-[a-z0-9-]+ +Pending +(ErrImagePull|ImagePullBackOff)'
else
	# no scheduler or kubelet: a Pod stays Pending
	apply_json /api/v1/namespaces/default/pods/broken '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken",
		"namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "example.com/missing:1"}]}}'
	want='default/broken +Pending'
fi
t0=$(date +%s%N)
if wait_screen "$want" 3; then
	pass "a Pod made failing appears within two refreshes ($((($(date +%s%N) - t0) / 1000000)) ms), with its reason"
else
	fail "a Pod made failing appears within two refreshes" "$(cat "$TEST_TMP/screen")"
fi
apply_json /api/v1/namespaces/default/events/broken.1 '{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "broken.1",
	"namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "broken", "namespace": "default"},
	"type": "Warning", "reason": "Failed", "message": "Failed to pull image example.com/missing:1", "count": 4,
	"firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z"}'
apply_json /api/v1/namespaces/default/events/web.1 '{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1",
	"namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
	"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web to dev",
	"lastTimestamp": "2026-01-01T00:00:30Z"}'
shows "a Warning event appears in the warnings pane" 'default/Pod/broken +Failed \(x4\): Failed to pull image'
check "a Normal one does not" test "$(grep -c 'Scheduled' "$TEST_TMP/screen")" = 0

tm send-keys -t w '?'
shows "? shows the keys" 'KEYS'
tm send-keys -t w 'x'
if wait_gone 'KEYS' 5; then pass "any key leaves the help"; else fail "any key leaves the help" "$(cat "$TEST_TMP/screen")"; fi
tm send-keys -t w 'e'
shows "e switches the lower pane to all events" 'EVENTS \(all'
shows "Normal ones too" 'Scheduled: Successfully assigned default/web'
tm send-keys -t w Escape
if wait_gone 'EVENTS \(all' 5; then pass "Esc goes back"; else fail "Esc goes back" "$(cat "$TEST_TMP/screen")"; fi
tm send-keys -t w 'l'
shows "l shows the selected node's console log" 'CONSOLE LOG of dev'
shows "its last lines, control characters dropped" '^  VIRTKUBE-STAGE kubeadm-init ok'
tm send-keys -t w 'l'
wait_gone 'CONSOLE LOG' 5
tm send-keys -t w Down Up

# Another terminal's start: the lock file names its pid; the guest's stage comes from the console log.
sleep 300 &
busy_pid=$!
mkdir -p "$VIRTKUBE_HOME/locks"
printf '%s\n' "$busy_pid" >"$VIRTKUBE_HOME/locks/dev.lock"
shows "a command holding the profile's lock is shown with its pid" "START +sleep 300 \\(pid $busy_pid\\)"
shows "with the guest's current stage from the console log" 'GUEST +dev: at stage kubeadm-init'
kill "$busy_pid"
wait "$busy_pid" 2>/dev/null
busy_pid=
: >"$VIRTKUBE_HOME/locks/dev.lock"
if wait_gone 'START ' 5; then pass "and no longer once it is gone"; else fail "and no longer once it is gone" "$(cat "$TEST_TMP/screen")"; fi

# A resize redraws at the new size.
tm resize-window -t w -x 80 -y 24
title_len() { awk '/virtkube status --watch/ { print length($0); exit }' "$TEST_TMP/screen"; }
deadline=$((SECONDS + 10))
while screen >"$TEST_TMP/screen"; [ "$(title_len)" != 79 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
check "a resize to 80x24 redraws the title for 80 columns (its clock at the edge: $(title_len) characters)" \
	test "$(title_len)" = 79
check "and the footer on the 24th row" test "$(sed -n 24p "$TEST_TMP/screen" | grep -c 'q quit')" = 1
tm resize-window -t w -x 100 -y 30

# The API goes away: the view says since when and carries on; it comes back by itself.
if [ "$real" = 0 ]; then
	kill "${FAKE_PIDS[0]}"
	wait "${FAKE_PIDS[0]}" 2>/dev/null
	shows "an API that stops answering: unreachable since HH:MM:SS" 'KUBERNETES +unreachable since [0-9]{2}:[0-9]{2}:[0-9]{2}: '
	shows "the view goes on refreshing (the nodes pane is still there)" '^> dev +cp +Nonexistent'
	fake_start api2 --node-name dev --port "$FAKE_PORT"
	shows "and it recovers by itself once the API is back" 'KUBERNETES +API https://127\.0\.0\.1'
fi

tm send-keys -t w q
shows "q quits with exit status 0" '^watch-rc=0'
check "the terminal is as it was: the screen before the view is back" grep -q '^BEFORE-THE-WATCH' "$TEST_TMP/screen"
check "and nothing of the view is left on it" test "$(grep -c 'NODES\|q quit' "$TEST_TMP/screen")" = 0
wait_screen '^\$ $' 5
check "the terminal modes are as before (stty -g)" cmp -s "$TEST_TMP/stty.before" "$TEST_TMP/stty.after"

# Ctrl-C (SIGINT) restores the terminal too.
tm send-keys -t w clear Enter
tm send-keys -t w "'$VIRTKUBE_BIN' status --watch; echo \"watch-rc=\$?\"; stty -g >'$TEST_TMP/stty.after2'" Enter
shows "a second view starts" 'NODES \(1\)'
tm send-keys -t w C-c
shows "Ctrl-C ends it (128 + SIGINT)" '^watch-rc=130'
check "and leaves nothing of the view on the screen" test "$(grep -c 'NODES' "$TEST_TMP/screen")" = 0
wait_screen '^\$ $' 5
check "and the terminal modes as before" cmp -s "$TEST_TMP/stty.before" "$TEST_TMP/stty.after2"

# NO_COLOR: attributes only; with colour: colours (capture-pane -e shows the SGR sequences).
# colours_drawn ENV: starts the view with ENV, counts the colour sequences on its screen, quits.
colours_drawn() {
	tm send-keys -t w clear Enter
	tm send-keys -t w "$1 '$VIRTKUBE_BIN' status --watch; clear" Enter
	wait_screen 'NODES \(1\)' 10 || { echo -1; return; }
	tm capture-pane -e -p -t w | grep -cE $'\e\\[[0-9;]*(3[0-7]|4[0-7])m'
	tm send-keys -t w q
	wait_gone 'NODES' 5
}
n=$(colours_drawn NO_COLOR=1)
check "with NO_COLOR the view draws no colours ($n lines with colour)" test "$n" = 0
n=$(colours_drawn "")
check "without it it draws colours, the terminal having them ($n lines)" test "$n" -gt 0

# TERM=dumb: no full screen, the plain block per refresh.
tm send-keys -t w "TERM=dumb '$VIRTKUBE_BIN' status --watch --interval 1" Enter
shows "with TERM=dumb --watch prints the plain status block instead" '^Host: Nonexistent'
tm send-keys -t w C-c
wait_screen '^\$ $' 5
check "nothing is left running after q or Ctrl-C" test "$(tm list-panes -t w -F '#{pane_current_command}')" = bash
finish
