#!/bin/bash
# Benchmark against the fake API server: `virtkube addons enable ingress` vs `kubectl apply --server-side -f`
# of the same (substituted) manifests (goal <= 0.5x), `virtkube service NAME --url` vs
# `kubectl get svc NAME -o jsonpath=...` (goal <= 0.2x), `virtkube version` (goal <= 10 ms) and the peak RSS
# of `service --url` (goal <= 15 MiB). Medians of whole processes, same run: hyperfine -N when installed,
# else a loop of date calls. With BASELINE_BUILD_DIR (e.g. an older main built in a temp dir), the start-up
# figures are printed for it too, before/after.
# Usage: tests/bench/api-vs-kubectl.sh [BUILD_DIR] [BASELINE_BUILD_DIR] (default: ./build). Needs python3,
# openssl, kubectl.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
baseline=""
[ -n "${2:-}" ] && baseline=$(cd "$2" && pwd)
runs=${RUNS:-7}
for tool in python3 openssl kubectl; do
	command -v "$tool" >/dev/null || { echo "api-vs-kubectl: $tool is not installed" >&2; exit 77; }
done
make -s -C "$build" virtkube >/dev/null
[ -z "$baseline" ] || [ -x "$baseline/virtkube" ] || { echo "api-vs-kubectl: no $baseline/virtkube" >&2; exit 1; }

tmp=$(mktemp -d /tmp/virtkube-bench.XXXXXX)
pids=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
python=$(python3 -c 'import sys; print(sys.executable)')
sh "$src/tests/fakes/mkcerts.sh" "$tmp/certs"
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# fake NAME PORT: (re)starts a fresh fake API server on PORT (fixed, so kubectl's discovery cache stays warm).
declare -A fake_pid
fake() {
	local name=$1 port=$2
	if [ -n "${fake_pid[$name]:-}" ]; then
		kill "${fake_pid[$name]}" 2>/dev/null
		wait "${fake_pid[$name]}" 2>/dev/null || true
	fi
	rm -f "$tmp/$name.port"
	"$python" "$src/tests/fakes/kube-apiserver.py" --port "$port" --port-file "$tmp/$name.port" \
		--ca "$tmp/certs/ca.crt" --cert "$tmp/certs/server.crt" --key "$tmp/certs/server.key" 2>>"$tmp/$name.err" &
	fake_pid[$name]=$!
	pids+=($!)
	while [ ! -s "$tmp/$name.port" ]; do sleep 0.01; done
}

vport=$(free_port)
kport=$(free_port)
export VIRTKUBE_HOME=$tmp/home KUBECONFIG=$tmp/kubeconfig HOME=$tmp/user
mkdir -p "$VIRTKUBE_HOME/profiles/bench" "$HOME"
cp "$tmp/certs/ca.crt" "$tmp/certs/client.crt" "$tmp/certs/client.key" "$VIRTKUBE_HOME/profiles/bench/"
printf '{"schema": 1, "name": "bench", "state": "Running", "kubernetes": true, "node_ip": "127.0.0.1", "api_port": %s}\n' \
	"$vport" >"$VIRTKUBE_HOME/profiles/bench/config.json"
cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:$kport", certificate-authority: "$tmp/certs/ca.crt"}
users:
- name: bench
  user: {client-certificate: "$tmp/certs/client.crt", client-key: "$tmp/certs/client.key"}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
EOF
# The manifests as virtkube applies them: placeholders substituted with the profile's values.
# shellcheck disable=SC2016 # the ${...} are literal placeholders
sed -e 's/\${NODE_IP}/127.0.0.1/g' -e 's/\${PROFILE}/bench/g' -e 's/\${DNS_DOMAIN}/cluster.local/g' \
	-e 's/\${DNS_SERVICE_IP}/10.96.0.10/g' -e 's/\${KUBERNETES_VERSION}/v1.32.0/g' \
	"$src/addons/ingress/ingress-nginx.yaml" >"$tmp/ingress.yaml"
objects=$(grep -c '^kind:' "$tmp/ingress.yaml")

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
vk() { "$build/virtkube" -p bench "$@"; }

# Warm-up: one kubectl apply fills its discovery and OpenAPI caches, as on a developer's machine.
fake kube "$kport"
kubectl apply --server-side -f "$tmp/ingress.yaml" >/dev/null

vcreate=() kcreate=() vupdate=() kupdate=() vnowait=()
for ((i = 0; i < runs; i++)); do
	fake vk "$vport"
	fake kube "$kport"
	t=$(date +%s%N); vk addons enable ingress -q >/dev/null; vcreate+=("$(ms "$t")")
	t=$(date +%s%N); kubectl apply --server-side -f "$tmp/ingress.yaml" >/dev/null; kcreate+=("$(ms "$t")")
	t=$(date +%s%N); vk addons enable ingress -q >/dev/null; vupdate+=("$(ms "$t")")
	t=$(date +%s%N); kubectl apply --server-side -f "$tmp/ingress.yaml" >/dev/null; kupdate+=("$(ms "$t")")
	t=$(date +%s%N); vk addons enable ingress --no-wait -q >/dev/null; vnowait+=("$(ms "$t")")
done
vc=$(median "${vcreate[@]}") kc=$(median "${kcreate[@]}") vu=$(median "${vupdate[@]}") ku=$(median "${kupdate[@]}")
vn=$(median "${vnowait[@]}")
echo "ingress addon: $objects objects, $runs runs each, medians (wall ms, whole processes):"
echo "  first apply:  virtkube addons enable ingress $vc ms (apply + wait for 2 Jobs and 1 Deployment)"
echo "                kubectl apply --server-side -f   $kc ms"
echo "  re-apply:     virtkube addons enable ingress $vu ms; --no-wait $vn ms"
echo "                kubectl apply --server-side -f   $ku ms"
awk -v v="$vc" -v k="$kc" -v vu="$vu" -v ku="$ku" 'BEGIN {
	printf "  ratio virtkube/kubectl: first apply %.2fx, re-apply %.2fx (goal <= 0.5x)\n", v / k, vu / ku }'

# service --url vs kubectl get svc -o jsonpath (same Service on each server)
for port in "$vport" "$kport"; do
	curl -s -o /dev/null --cacert "$tmp/certs/ca.crt" --cert "$tmp/certs/client.crt" --key "$tmp/certs/client.key" \
		-X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}}' \
		"https://127.0.0.1:$port/api/v1/namespaces/default/services/web?fieldManager=bench"
done
# median_ms RUNS CMD...: the median wall time of CMD in ms (stdout discarded).
have_hyperfine=no
command -v hyperfine >/dev/null && have_hyperfine=yes
median_ms() {
	local n=$1 i t
	shift
	if [ $have_hyperfine = yes ]; then
		hyperfine -N --style none --warmup 3 --runs "$n" --export-json "$tmp/hf.json" \
			-- "$(printf '%q ' "$@")" >/dev/null 2>&1 || { echo "api-vs-kubectl: hyperfine failed on: $*" >&2; exit 1; }
		"$python" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"] * 1000, 1))' \
			"$tmp/hf.json"
		return
	fi
	local times=()
	for ((i = 0; i < n; i++)); do
		t=$(date +%s%N)
		"$@" >/dev/null
		times+=("$(ms "$t")")
	done
	median "${times[@]}"
}
# peak_rss_mib CMD...: the peak resident set of CMD's process (getrusage of the child), in MiB.
peak_rss_mib() {
	"$python" -c '
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print("%.1f" % (usage.ru_maxrss / 1024))' "$@"
}
# libs_loaded CMD...: how many shared objects CMD's process maps (what every start-up pays), by the loader's own count.
libs_loaded() {
	LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map' || true
}

n=$((runs * 3))
vs=$(median_ms "$n" "$build/virtkube" -p bench service web --url)
ks=$(median_ms "$n" kubectl get svc web -o 'jsonpath={.spec.ports[0].nodePort}')
vv=$(median_ms "$n" "$build/virtkube" version)
vrss=$(peak_rss_mib "$build/virtkube" -p bench service web --url)
krss=$(peak_rss_mib kubectl get svc web -o 'jsonpath={.spec.ports[0].nodePort}')
vlibs=$(libs_loaded "$build/virtkube" version)
how=$([ $have_hyperfine = yes ] && echo "hyperfine -N" || echo "date loop")
echo "service URL, $n runs each ($how), medians: virtkube service web --url $vs ms;" \
	"kubectl get svc web -o jsonpath=... $ks ms"
awk -v v="$vs" -v k="$ks" 'BEGIN { printf "  ratio virtkube/kubectl: %.2fx (goal <= 0.2x)\n", v / k }'
echo "process start-up alone: virtkube version (no API work) $vv ms median (goal <= 10 ms), $vlibs shared objects loaded;" \
	"so the API work in service --url is about $(awk -v a="$vs" -v b="$vv" 'BEGIN { print a - b }') ms"
echo "peak RSS: virtkube service web --url $vrss MiB (goal <= 15 MiB); kubectl get svc $krss MiB"
if [ -n "$baseline" ]; then
	bs=$(median_ms "$n" "$baseline/virtkube" -p bench service web --url)
	bv=$(median_ms "$n" "$baseline/virtkube" version)
	brss=$(peak_rss_mib "$baseline/virtkube" -p bench service web --url)
	blibs=$(libs_loaded "$baseline/virtkube" version)
	echo "before/after ($baseline -> $build):"
	echo "  virtkube version:       $bv ms -> $vv ms; shared objects loaded $blibs -> $vlibs"
	echo "  service web --url:      $bs ms -> $vs ms" \
		"($(awk -v v="$bs" -v k="$ks" 'BEGIN { printf "%.2fx", v / k }') -> $(awk -v v="$vs" -v k="$ks" 'BEGIN { printf "%.2fx", v / k }') of kubectl)"
	echo "  peak RSS of service --url: $brss MiB -> $vrss MiB"
fi
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
