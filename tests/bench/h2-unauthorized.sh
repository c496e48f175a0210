#!/bin/bash
# Measures what a client certificate the API server does not authenticate gets on a PATCH with a body,
# against Go's net/http answering as kube-apiserver's authentication filter does (401, and over HTTP/2
# GOAWAY without reading the body; see h2-unauthorized/server.go): how often curl --http2 and curl
# --http1.1 (the same libcurl as virtkube) lose the 401 of a PATCH and curl --http2 that of a GET, how
# often `virtkube addons enable` reports it, and the time of 300 authenticated PATCHes on one
# connection over HTTP/2 and over HTTP/1.1.
# Usage: tests/bench/h2-unauthorized.sh [BUILD_DIR] (default: ./build). Needs go (Debian's golang-go),
# curl, openssl and python3; exits 77 without go.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
runs=${RUNS:-60}
for tool in go curl openssl python3; do
	command -v "$tool" >/dev/null || { echo "h2-unauthorized: $tool is not installed" >&2; exit 77; }
done
make -s -C "$build" virtkube >/dev/null

tmp=$(mktemp -d /tmp/virtkube-bench-h2.XXXXXX)
pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
sh "$src/tests/fakes/mkcerts.sh" "$tmp/certs"
(cd "$src/tests/bench/h2-unauthorized" && GO111MODULE=off GOCACHE="$tmp/gocache" go build -o "$tmp/server" server.go)
"$tmp/server" -ca "$tmp/certs/ca.crt" -cert "$tmp/certs/server.crt" -key "$tmp/certs/server.key" \
	-port-file "$tmp/port" 2>"$tmp/server.err" &
pid=$!
while [ ! -s "$tmp/port" ]; do sleep 0.01; done
port=$(cat "$tmp/port")
url="https://127.0.0.1:$port/apis/storage.k8s.io/v1/storageclasses/standard?fieldManager=virtkube&force=true"
# The default-storageclass addon's object, as virtkube sends it.
body='{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"standard","annotations":{"storageclass.kubernetes.io/is-default-class":"true"},"labels":{"addonmanager.kubernetes.io/mode":"EnsureExists"}},"provisioner":"k8s.io/minikube-hostpath","reclaimPolicy":"Delete","volumeBindingMode":"Immediate"}'

# curl_refused PROTO [patch|get]: how many of $runs requests with the untrusted certificate did not
# get their 401 whole (a transfer error such as exit 18, "Transferred a partial file", is a lost answer
# for libcurl's callers even when the status line came).
curl_refused() {
	local lost=0 i code rc with_body=()
	[ "${2:-patch}" = patch ] && with_body=(-X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "$body")
	for ((i = 0; i < runs; i++)); do
		rc=0
		code=$(curl -s -o /dev/null -w '%{http_code}' "$1" --cacert "$tmp/certs/ca.crt" \
			--cert "$tmp/certs/wrong-client.crt" --key "$tmp/certs/wrong-client.key" "${with_body[@]}" "$url") || rc=$?
		[ "$rc" = 0 ] && [ "$code" = 401 ] || lost=$((lost + 1))
	done
	echo "$lost"
}
h2_lost=$(curl_refused --http2)
h1_lost=$(curl_refused --http1.1)
h2_get_lost=$(curl_refused --http2 get)

export VIRTKUBE_HOME=$tmp/home HOME=$tmp/user
mkdir -p "$VIRTKUBE_HOME/profiles/refused" "$HOME"
cp "$tmp/certs/ca.crt" "$VIRTKUBE_HOME/profiles/refused/ca.crt"
cp "$tmp/certs/wrong-client.crt" "$VIRTKUBE_HOME/profiles/refused/client.crt"
cp "$tmp/certs/wrong-client.key" "$VIRTKUBE_HOME/profiles/refused/client.key"
printf '{"schema": 1, "name": "refused", "state": "Running", "kubernetes": true, "node_ip": "127.0.0.1", "api_port": %s}\n' \
	"$port" >"$VIRTKUBE_HOME/profiles/refused/config.json"
vk_lost=0
for ((i = 0; i < runs; i++)); do
	if ! "$build/virtkube" -p refused addons enable default-storageclass --no-wait 2>&1 |
		grep -q "cannot apply StorageClass 'standard': Unauthorized"; then
		vk_lost=$((vk_lost + 1))
	fi
done

# Authenticated: 300 PATCHes on one connection, medians of 5.
urls=()
for ((i = 0; i < 300; i++)); do urls+=("$url"); done
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
t2=() t1=()
for ((r = 0; r < 5; r++)); do
	for proto in --http2 --http1.1; do
		start=$(date +%s%N)
		curl -s "$proto" --cacert "$tmp/certs/ca.crt" --cert "$tmp/certs/client.crt" --key "$tmp/certs/client.key" \
			-X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "$body" "${urls[@]}" >/dev/null
		if [ "$proto" = --http2 ]; then t2+=("$(ms "$start")"); else t1+=("$(ms "$start")"); fi
	done
done
m2=$(median "${t2[@]}")
m1=$(median "${t1[@]}")

echo "untrusted client certificate, PATCH with a ${#body}-byte body, $runs runs each ($(curl --version | head -n1 | cut -d' ' -f1-2)):"
echo "  curl --http2:   the 401 lost $h2_lost times"
echo "  curl --http1.1: the 401 lost $h1_lost times"
echo "  curl --http2 GET (no body): the 401 lost $h2_get_lost times"
echo "  virtkube addons enable (HTTP/1.1, GET after a lost answer): 'Unauthorized' missing $vk_lost times"
echo "authenticated, 300 PATCHes on one connection, median of 5: HTTP/2 $m2 ms, HTTP/1.1 $m1 ms" \
	"(ratio HTTP/1.1 / HTTP/2: $(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", a / b}')x)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
