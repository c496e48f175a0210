# shellcheck shell=bash
# For the API-facing integration tests: a fake API server with per-run certificates, and test profiles pointing at it.
# Source after lib.sh. Needs python3, openssl and curl; skips (exit 77) without them.

for tool in python3 openssl curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool is not installed"
		exit 77
	fi
done
# Resolved once: a pyenv shim costs a second per start.
FAKE_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
FAKE_CERTS="$TEST_TMP/certs"
sh "${top_srcdir:?run through make check}/tests/fakes/mkcerts.sh" "$FAKE_CERTS" || { echo "Bail out! mkcerts.sh failed"; exit 1; }
FAKE_PIDS=()

# shellcheck disable=SC2317  # called by the trap
fake_cleanup() {
	local p
	for p in "${FAKE_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TEST_TMP"
}
trap fake_cleanup EXIT

# fake_start NAME [OPTIONS...]: starts a fake API server; its port goes to $FAKE_PORT
# and $TEST_TMP/NAME.port, its request log to $TEST_TMP/NAME.log.
fake_start() {
	local name=$1 i
	shift
	# As kube-apiserver, which takes any client certificate in the handshake and answers 401 to one its CA
	# did not sign: the fake can do that for the CAs it is told of, here the test PKI's other one.
	"$FAKE_PYTHON" "$top_srcdir/tests/fakes/kube-apiserver.py" --port 0 --port-file "$TEST_TMP/$name.port" \
		--ca "$FAKE_CERTS/ca.crt" --cert "$FAKE_CERTS/server.crt" --key "$FAKE_CERTS/server.key" \
		--untrusted-client-ca "$FAKE_CERTS/wrong-ca.crt" --log "$TEST_TMP/$name.log" "$@" 2>"$TEST_TMP/$name.stderr" &
	FAKE_PIDS+=($!)
	for ((i = 0; i < 500; i++)); do
		[ -s "$TEST_TMP/$name.port" ] && break
		sleep 0.02
	done
	if [ ! -s "$TEST_TMP/$name.port" ]; then
		echo "Bail out! the fake API server did not start: $(cat "$TEST_TMP/$name.stderr")"
		exit 1
	fi
	FAKE_PORT=$(cat "$TEST_TMP/$name.port")
}

# api_start NAME [FAKE-OPTIONS...]: the fake API server (fake_start), or with VIRTKUBE_TEST_API=real a real
# kube-apiserver from VIRTKUBE_E2E_RELEASE (real-api.sh, which skips without one). Sets real (0 or 1) and
# wait_flag (--no-wait on the real server: no kubelet runs there, so nothing gets ready); log_sync brings
# $TEST_TMP/NAME.log up to date (the real server's audit log; the fake writes its own as it goes).
api_start() {
	local name=$1
	shift
	API_NAME=$name
	real=0
	# shellcheck disable=SC2034 # read by the test that sources this file
	wait_flag=()
	if [ "${VIRTKUBE_TEST_API:-fake}" = real ]; then
		. "$top_srcdir/tests/integration/real-api.sh"
		real=1
		# shellcheck disable=SC2034
		wait_flag=(--no-wait)
		real_api_start "$name"
	else
		fake_start "$name" "$@"
	fi
}
log_sync() { [ "$real" = 0 ] || real_api_log "$API_NAME"; }

# make_profile NAME PORT [CERT-PREFIX] [STATE]: a Running Kubernetes profile whose
# API is 127.0.0.1:PORT, with the CA and a client certificate (client or wrong-client).
make_profile() {
	local name=$1 port=$2 cert=${3:-client} state=${4:-Running}
	local dir="$VIRTKUBE_HOME/profiles/$name"
	mkdir -p "$dir"
	cp "$FAKE_CERTS/ca.crt" "$dir/ca.crt"
	cp "$FAKE_CERTS/$cert.crt" "$dir/client.crt"
	cp "$FAKE_CERTS/$cert.key" "$dir/client.key"
	printf '{"schema": 1, "name": "%s", "state": "%s", "kubernetes": true, "node_ip": "127.0.0.1", "api_port": %s}\n' \
		"$name" "$state" "$port" >"$dir/config.json"
}

# kapi METHOD PATH [BODY]: a request to the fake at $FAKE_PORT with the good client
# certificate; the body goes to stdout, the HTTP code to $TEST_TMP/.code.
kapi() {
	local method=$1 path=$2 body=${3:-}
	local args=(-s -o - -w '%{stderr}%{http_code}' --cacert "$FAKE_CERTS/ca.crt" --cert "$FAKE_CERTS/client.crt"
		--key "$FAKE_CERTS/client.key" -X "$method")
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/apply-patch+yaml' --data-binary "$body")
	fi
	curl "${args[@]}" "https://127.0.0.1:$FAKE_PORT$path" 2>"$TEST_TMP/.code"
}

# apply_json PATH JSON: server-side apply through curl (as another field manager).
apply_json() {
	kapi PATCH "$1?fieldManager=test&force=true" "$2" >/dev/null
}

# closed_port: a port on 127.0.0.1 nobody listens on.
closed_port() {
	"$FAKE_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
