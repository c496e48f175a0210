#!/bin/bash
# Benchmark of `virtkube status --watch` (default interval, full screen in a 100x30 tmux pane) against
# `watch -n2 kubectl get pods -A` over the same DURATION (default 60 s), each alone, against the fake API server
# seeded with 20 Deployments (two of them failing) and some events: CPU time (user + system, children
# included) of each, the ratio (goal <= 0.2x), and virtkube's peak RSS (goal <= 15 MiB).
# Usage: tests/bench/watch.sh [BUILD_DIR] (default: ./build). Needs python3, openssl, tmux, watch, kubectl
# and GNU time (/usr/bin/time).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
duration=${DURATION:-60}
kubectl=${KUBECTL:-/usr/bin/kubectl}
for tool in python3 openssl tmux watch "$kubectl" /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "watch bench: $tool is not installed" >&2; exit 77; }
done
make -s -C "$build" virtkube >/dev/null

tmp=$(mktemp -d /tmp/virtkube-bench.XXXXXX)
sock=$tmp/tmux.sock
fake_pid=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	tmux -S "$sock" kill-server 2>/dev/null || true
	[ -z "$fake_pid" ] || { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
python=$(python3 -c 'import sys; print(sys.executable)')
sh "$src/tests/fakes/mkcerts.sh" "$tmp/certs"
"$python" "$src/tests/fakes/kube-apiserver.py" --port 0 --port-file "$tmp/port" --node-name bench \
	--ca "$tmp/certs/ca.crt" --cert "$tmp/certs/server.crt" --key "$tmp/certs/server.key" \
	--image-pull-error 'example.com/missing:1=manifest unknown' --crash-loop example.com/crash:1 2>"$tmp/fake.err" &
fake_pid=$!
for ((i = 0; i < 500; i++)); do [ -s "$tmp/port" ] && break; sleep 0.02; done
port=$(cat "$tmp/port")

export VIRTKUBE_HOME=$tmp/home KUBECONFIG=$tmp/kubeconfig HOME=$tmp/user
mkdir -p "$VIRTKUBE_HOME/profiles/bench" "$HOME"
cp "$tmp/certs/ca.crt" "$tmp/certs/client.crt" "$tmp/certs/client.key" "$VIRTKUBE_HOME/profiles/bench/"
printf '{"schema": 1, "name": "bench", "state": "Running", "kubernetes": true, "node_ip": "127.0.0.1", "api_port": %s, "libvirt_uri": "test:///default"}\n' \
	"$port" >"$VIRTKUBE_HOME/profiles/bench/config.json"
cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$tmp/certs/ca.crt"}
users:
- name: bench
  user: {client-certificate: "$tmp/certs/client.crt", client-key: "$tmp/certs/client.key"}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
EOF
apply() { # PATH JSON
	curl -sf -o /dev/null --cacert "$tmp/certs/ca.crt" --cert "$tmp/certs/client.crt" --key "$tmp/certs/client.key" \
		-X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "$2" \
		"https://127.0.0.1:$port$1?fieldManager=bench&force=true"
}
for i in $(seq 1 20); do
	image=example.com/app:1
	[ "$i" = 7 ] && image=example.com/missing:1
	[ "$i" = 13 ] && image=example.com/crash:1
	apply "/apis/apps/v1/namespaces/default/deployments/app$i" "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\",
		\"metadata\": {\"name\": \"app$i\", \"namespace\": \"default\"}, \"spec\": {\"replicas\": 2,
		\"selector\": {\"matchLabels\": {\"app\": \"app$i\"}}, \"template\": {\"metadata\": {\"labels\": {\"app\": \"app$i\"}},
		\"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"$image\"}]}}}}"
	apply "/api/v1/namespaces/default/events/app$i.1" "{\"apiVersion\": \"v1\", \"kind\": \"Event\",
		\"metadata\": {\"name\": \"app$i.1\", \"namespace\": \"default\"}, \"involvedObject\": {\"kind\": \"Deployment\",
		\"name\": \"app$i\"}, \"type\": \"$([ $((i % 3)) = 0 ] && echo Warning || echo Normal)\", \"reason\": \"Bench\",
		\"message\": \"event $i\", \"lastTimestamp\": \"2026-01-01T00:00:$(printf %02d "$i")Z\"}"
done
pods=$("$kubectl" get pods -A --no-headers | wc -l)

# measure NAME COMMAND: runs COMMAND under GNU time in a 100x30 tmux pane for $duration s, then q / Ctrl-C.
measure() {
	local name=$1 cmd=$2
	tmux -S "$sock" -f /dev/null new-session -d -s "$name" -x 100 -y 30 \
		"env VIRTKUBE_HOME='$VIRTKUBE_HOME' HOME='$HOME' KUBECONFIG='$KUBECONFIG' /usr/bin/time -o '$tmp/$name.time' -f '%U %S %M' $cmd"
	sleep "$duration"
	# what of its memory is its own (the rest is shared library pages, the same in every process using them)
	if [ "$name" = virtkube ]; then
		local child
		child=$(pgrep -P "$(tmux -S "$sock" display-message -p -t "$name" '#{pane_pid}')" | head -1)
		[ -z "$child" ] || awk '/^(Rss|Shared_Clean|Private_Clean|Private_Dirty):/ { printf "%s %s KiB  ", $1, $2 } END { print "" }' \
			"/proc/$child/smaps_rollup" | sed 's/^/virtkube memory at the end: /'
	fi
	if [ "$name" = virtkube ]; then tmux -S "$sock" send-keys -t "$name" q; else tmux -S "$sock" send-keys -t "$name" C-c; fi
	for ((i = 0; i < 100; i++)); do [ -s "$tmp/$name.time" ] && break; sleep 0.1; done
	tmux -S "$sock" kill-session -t "$name" 2>/dev/null || true
	read -r user sys rss <"$tmp/$name.time"
	cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
	echo "$name: $cpu s CPU (user $user, system $sys) in ${duration} s, peak RSS $((rss / 1024)) MiB ($rss KiB)"
	eval "${name}_cpu=$cpu ${name}_rss=$rss"
}

echo "watch bench: $pods pods (4 failing), 20 events, ${duration} s each, interval 2 s"
virtkube_cpu=0 virtkube_rss=0 kubectl_cpu=0
measure virtkube "'$build/virtkube' -p bench status --watch"
measure kubectl "watch -n2 '$kubectl' get pods -A"
python3 - "$virtkube_cpu" "$kubectl_cpu" "$virtkube_rss" <<'EOF'
import sys
v, k, rss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ratio = v / k if k else float("inf")
print(f"ratio: virtkube status --watch / watch kubectl get pods -A = {ratio:.3f}x (goal <= 0.2x): {'ok' if ratio <= 0.2 else 'MISSED'}")
print(f"peak RSS: {rss / 1024:.1f} MiB (goal <= 15 MiB): {'ok' if rss <= 15 * 1024 else 'MISSED'}")
EOF
