# shellcheck shell=bash
# For the API-facing integration tests: a real kube-apiserver from a local release on 127.0.0.1, backed by Debian's etcd.
# Source after lib.sh and fake-api.sh (it uses the same per-run certificates and profiles). The release is named
# by VIRTKUBE_E2E_RELEASE (a directory holding bin/kube-apiserver and bin/kube-controller-manager); without it, or
# without etcd, the test is skipped (exit 77) with the reason. The server's audit log stands in for the fake's
# request log: real_api_log NAME writes $TEST_TMP/NAME.log in the fake's format.

# Under make check's TAP driver a skip is the plan's SKIP with exit 0 (it reports 77 as an error);
# run by hand, the status is 77.
real_api_skip() {
	echo "1..0 # SKIP $*"
	[ -n "${MAKELEVEL:-}" ] && exit 0
	exit 77
}

if [ -z "${VIRTKUBE_E2E_RELEASE:-}" ]; then
	real_api_skip "VIRTKUBE_E2E_RELEASE is unset: no local Kubernetes release to run a real kube-apiserver from"
fi
for bin in kube-apiserver kube-controller-manager; do
	[ -x "$VIRTKUBE_E2E_RELEASE/bin/$bin" ] ||
		real_api_skip "$VIRTKUBE_E2E_RELEASE/bin/$bin is missing (the release is not complete)"
done
command -v etcd >/dev/null 2>&1 || real_api_skip "etcd is not installed (Debian's etcd-server package)"

# Up to this long for etcd and then the API server to answer: a loaded 2-core machine is slow.
REAL_API_START_S=${REAL_API_START_S:-180}

# real_api_wait URL SECONDS CURL-ARGS...: until URL answers 200 with "ok" (or any body for etcd's /health).
real_api_wait() {
	local url=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		curl -sf -o /dev/null "$@" "$url" && return 0
		sleep 0.25
	done
	return 1
}

# real_api_start NAME: etcd, kube-apiserver and a kube-controller-manager running only the namespace and
# garbage-collector controllers (so deleted Namespaces go), all on loopback ports, under $TEST_TMP/NAME.
# Sets FAKE_PORT to the API server's port, so make_profile, kapi and apply_json work as with the fake.
real_api_start() {
	local name=$1 dir="$TEST_TMP/$1" etcd_port peer_port port pid
	mkdir -p "$dir"
	# Three distinct free ports, held together while they are chosen.
	read -r etcd_port peer_port port <<<"$("$FAKE_PYTHON" -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"
	# The ServiceAccount token signing key (EC P-256: instant to make).
	if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/sa.key" 2>/dev/null ||
		! openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null; then
		echo "Bail out! cannot make the ServiceAccount signing key"
		exit 1
	fi
	cat >"$dir/audit.yaml" <<-'EOF'
		apiVersion: audit.k8s.io/v1
		kind: Policy
		omitStages: ["RequestReceived"]
		rules:
		  - level: Metadata
	EOF
	etcd --name "$name" --data-dir "$dir/etcd" --unsafe-no-fsync --log-level error \
		--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "$name=http://127.0.0.1:$peer_port" >"$dir/etcd.out" 2>&1 &
	pid=$!
	FAKE_PIDS+=("$pid")
	if ! real_api_wait "http://127.0.0.1:$etcd_port/health" "$REAL_API_START_S"; then
		echo "Bail out! etcd did not start: $(tail -5 "$dir/etcd.out")"
		exit 1
	fi
	"$VIRTKUBE_E2E_RELEASE/bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
		--endpoint-reconciler-type none --service-cluster-ip-range 10.96.0.0/12 \
		--tls-cert-file "$FAKE_CERTS/server.crt" --tls-private-key-file "$FAKE_CERTS/server.key" \
		--client-ca-file "$FAKE_CERTS/ca.crt" --authorization-mode RBAC \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key" \
		--audit-policy-file "$dir/audit.yaml" --audit-log-path "$dir/audit.log" \
		--cert-dir "$dir/apiserver" --profiling=false >"$dir/kube-apiserver.out" 2>&1 &
	pid=$!
	FAKE_PIDS+=("$pid")
	if ! real_api_wait "https://127.0.0.1:$port/readyz" "$REAL_API_START_S" --cacert "$FAKE_CERTS/ca.crt" \
		--cert "$FAKE_CERTS/client.crt" --key "$FAKE_CERTS/client.key"; then
		echo "Bail out! kube-apiserver did not get ready: $(tail -5 "$dir/kube-apiserver.out")"
		exit 1
	fi
	cat >"$dir/kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters: [{name: real, cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$FAKE_CERTS/ca.crt"}}]
		users: [{name: admin, user: {client-certificate: "$FAKE_CERTS/client.crt", client-key: "$FAKE_CERTS/client.key"}}]
		contexts: [{name: real, context: {cluster: real, user: admin}}]
		current-context: real
	EOF
	"$VIRTKUBE_E2E_RELEASE/bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" \
		--authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
		--controllers namespace,garbagecollector --leader-elect=false --secure-port 0 \
		>"$dir/kube-controller-manager.out" 2>&1 &
	FAKE_PIDS+=("$!")
	# shellcheck disable=SC2034 # read by the test that sources this (as fake_start sets it)
	FAKE_PORT=$port
	echo "$port" >"$TEST_TMP/$name.port"
	# shellcheck disable=SC2034 # read by the test that sources this
	REAL_KUBECONFIG=$dir/kubeconfig
}

# real_api_log NAME: the audit log of server NAME as the fake's request log ($TEST_TMP/NAME.log, one JSON
# object a line: method, path, status, userAgent, user), so the tests read both the same way.
real_api_log() {
	"$FAKE_PYTHON" -c '
import json, sys
verbs = {"create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE",
         "get": "GET", "list": "GET", "watch": "GET"}
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("stage") != "ResponseComplete":
        continue
    out.write(json.dumps({"method": verbs.get(e["verb"], e["verb"].upper()), "path": e["requestURI"],
                          "status": e.get("responseStatus", {}).get("code", 0), "userAgent": e.get("userAgent", ""),
                          "user": e.get("user", {}).get("username", "")}) + "\n")
' "$TEST_TMP/$1/audit.log" "$TEST_TMP/$1.log"
}
