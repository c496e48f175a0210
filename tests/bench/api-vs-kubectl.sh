#!/bin/bash
# Benchmark against the fake API server: `virtkube addons enable ingress` vs `kubectl apply --server-side -f`
# of the same (substituted) manifests (goal <= 0.5x), `virtkube service NAME --url` vs
# `kubectl get svc NAME -o jsonpath=...` (goal <= 0.2x), `virtkube version` (goal <= 10 ms) and the peak RSS
# of `service --url` (goal <= 15 MiB). Medians of whole processes, same run; the start-up and service figures
# come from interleaved rounds (each command once per round: fairer than back-to-back batches on a shared
# machine) with each process's CPU time beside its wall time. With BASELINE_BUILD_DIR (e.g. an older main
# built in a temp dir), its figures come from the same rounds, before/after.
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
	"$src/addons/ingress/traefik.yaml" >"$tmp/traefik.yaml"
cp "$src/addons/ingress/gateway-api-crds.yaml" "$tmp/crds.yaml"
cat "$tmp/crds.yaml" "$tmp/traefik.yaml" >"$tmp/ingress.yaml"
objects=$(grep -c '^kind:' "$tmp/ingress.yaml")
# kubectl maps every object of a file before it applies any, so on a new cluster the Gateway API CRDs go
# in one apply and the objects of their kinds in the next (as on a real API server); virtkube does both in one.
kubectl_create() {
	kubectl apply --server-side -f "$tmp/crds.yaml" >/dev/null && kubectl apply --server-side -f "$tmp/traefik.yaml" >/dev/null
}

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
vk() { "$build/virtkube" -p bench "$@"; }

# Warm-up: one kubectl apply fills its discovery and OpenAPI caches, as on a developer's machine.
fake kube "$kport"
kubectl_create

vcreate=() kcreate=() vupdate=() kupdate=() vnowait=()
for ((i = 0; i < runs; i++)); do
	fake vk "$vport"
	fake kube "$kport"
	t=$(date +%s%N); vk addons enable ingress -q >/dev/null; vcreate+=("$(ms "$t")")
	t=$(date +%s%N); kubectl_create; kcreate+=("$(ms "$t")")
	t=$(date +%s%N); vk addons enable ingress -q >/dev/null; vupdate+=("$(ms "$t")")
	t=$(date +%s%N); kubectl apply --server-side -f "$tmp/ingress.yaml" >/dev/null; kupdate+=("$(ms "$t")")
	t=$(date +%s%N); vk addons enable ingress --no-wait -q >/dev/null; vnowait+=("$(ms "$t")")
done
vc=$(median "${vcreate[@]}") kc=$(median "${kcreate[@]}") vu=$(median "${vupdate[@]}") ku=$(median "${kupdate[@]}")
vn=$(median "${vnowait[@]}")
echo "ingress addon: $objects objects, $runs runs each, medians (wall ms, whole processes):"
echo "  first apply:  virtkube addons enable ingress $vc ms (apply + wait for 1 Deployment and 1 Service)"
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
# Start-up and service --url: every command once per round, in turn, so a machine whose load changes (it is
# shared) weighs on all of them alike; wall time, CPU time (user + sys, getrusage) and peak RSS of each process.
# cmd LABEL CMD...: adds a command to the rounds.
: >"$tmp/cmds"
cmd() {
	local label=$1
	shift
	printf '%s\t%s\n' "$label" "$(printf '%q ' "$@")" >>"$tmp/cmds"
}
cmd vurl "$build/virtkube" -p bench service web --url
cmd kurl kubectl get svc web -o 'jsonpath={.spec.ports[0].nodePort}'
cmd vver "$build/virtkube" version
if [ -n "$baseline" ]; then
	cmd burl "$baseline/virtkube" -p bench service web --url
	cmd bver "$baseline/virtkube" version
fi
n=$((runs * 3))
# Prints "LABEL WALL-MEDIAN-MS CPU-MEDIAN-MS PEAK-RSS-MIB" per command. The peak RSS comes from GNU time
# (/usr/bin/time, a small parent) when installed: a child of python inherits python's own high-water mark
# into ru_maxrss when it execs, so without it the figure is an upper bound.
"$python" - "$tmp/cmds" "$n" >"$tmp/rounds" <<'PY'
import os, shlex, statistics, sys, time
cmds = [line.rstrip("\n").split("\t", 1) for line in open(sys.argv[1])]
cmds = [(label, shlex.split(argv)) for label, argv in cmds]
rounds = int(sys.argv[2])
devnull = os.open(os.devnull, os.O_WRONLY)
res = {label: ([], [], 0) for label, _ in cmds}
gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
rss_file = sys.argv[1] + ".rss"


def peak_rss_kib(argv):
    if not gnu_time:
        pid = os.fork()
        if pid == 0:
            os.dup2(devnull, 1)
            os.execvp(argv[0], argv)
        return os.wait4(pid, 0)[2].ru_maxrss
    pid = os.posix_spawn(gnu_time, [gnu_time, "-f", "%M", "-o", rss_file] + argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    os.waitpid(pid, 0)
    return int(open(rss_file).read().split()[-1])


for r in range(rounds + 2):  # two warm-up rounds
    for label, argv in cmds:
        t0 = time.perf_counter_ns()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, ru = os.wait4(pid, 0)
        wall = (time.perf_counter_ns() - t0) / 1e6
        if status != 0:
            sys.exit("api-vs-kubectl: %s failed (status %d)" % (" ".join(argv), status))
        if r >= 2:
            walls, cpus, rss = res[label]
            walls.append(wall)
            cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
            if r < 5:
                rss = max(rss, peak_rss_kib(argv))
            res[label] = (walls, cpus, rss)
for label, (walls, cpus, rss) in res.items():
    print("%s %.1f %.1f %.1f" % (label, statistics.median(walls), statistics.median(cpus), rss / 1024))
PY
# field LABEL COLUMN: one figure of the rounds (2 wall ms, 3 CPU ms, 4 peak RSS MiB).
field() { awk -v l="$1" -v c="$2" '$1 == l { print $c }' "$tmp/rounds"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# libs_loaded CMD...: how many shared objects CMD's process maps (what every start-up pays), by the loader's own count.
libs_loaded() {
	LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map' || true
}
vlibs=$(libs_loaded "$build/virtkube" version)
echo "service URL and start-up, $n interleaved rounds, medians (wall ms / CPU ms of the process):"
echo "  virtkube service web --url          $(field vurl 2) / $(field vurl 3) ms"
echo "  kubectl get svc web -o jsonpath=... $(field kurl 2) / $(field kurl 3) ms"
echo "  ratio virtkube/kubectl: $(ratio "$(field vurl 2)" "$(field kurl 2)") wall, $(ratio "$(field vurl 3)" "$(field kurl 3)") CPU (goal <= 0.2x)"
echo "  virtkube version (start-up alone)   $(field vver 2) / $(field vver 3) ms (goal <= 10 ms), $vlibs shared objects loaded"
echo "  peak RSS: virtkube service web --url $(field vurl 4) MiB (goal <= 15 MiB); kubectl get svc $(field kurl 4) MiB"
if [ -n "$baseline" ]; then
	blibs=$(libs_loaded "$baseline/virtkube" version)
	echo "before/after ($baseline -> $build), same rounds:"
	echo "  virtkube version:          $(field bver 2) -> $(field vver 2) ms wall, $(field bver 3) -> $(field vver 3) ms CPU;" \
		"shared objects loaded $blibs -> $vlibs"
	echo "  service web --url:         $(field burl 2) -> $(field vurl 2) ms wall ($(ratio "$(field burl 2)" "$(field kurl 2)")" \
		"-> $(ratio "$(field vurl 2)" "$(field kurl 2)") of kubectl), $(field burl 3) -> $(field vurl 3) ms CPU"
	echo "  peak RSS of service --url: $(field burl 4) -> $(field vurl 4) MiB"
fi
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
