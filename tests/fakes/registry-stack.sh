#!/bin/bash
# Starts (or stops) the registry tests' real parts on 127.0.0.1: Debian's docker-registry four times over
# one storage directory (anonymous, htpasswd basic auth and bearer tokens from
# tests/fakes/registry-token.py, all with TLS from a per-run CA; and an anonymous one over plain http),
# and the test images pushed with skopeo.
#
# Usage: registry-stack.sh start DIR [--layers N] [--layer-size BYTES]
#        registry-stack.sh stop DIR
# start writes DIR/env (shell assignments: ANON, BASIC, BEARER, PLAIN (host:port of each registry),
# TOKEN_URL, CA, USER, PASSWORD, LAYOUT) and DIR/pids; stop kills exactly those pids. Exits 77 naming
# what is missing when docker-registry, skopeo, htpasswd or openssl is not installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 start|stop DIR [--layers N] [--layer-size BYTES]" >&2
	exit 2
fi
shift 2

if [ "$cmd" = stop ]; then
	if [ -f "$dir/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done <"$dir/pids"
		while read -r pid; do
			while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		done <"$dir/pids"
		rm -f "$dir/pids"
	fi
	exit 0
fi
[ "$cmd" = start ] || {
	echo "$0: unknown command '$cmd'" >&2
	exit 2
}

image_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--layers | --layer-size)
		image_args+=("$1" "$2")
		shift 2
		;;
	*)
		echo "$0: unknown option '$1'" >&2
		exit 2
		;;
	esac
done

missing=()
for tool in docker-registry skopeo htpasswd openssl python3; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "registry-stack: not installed: ${missing[*]} (apt-get install docker-registry skopeo apache2-utils openssl python3)" >&2
	exit 77
fi
py=$(command -v python3)
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
: >"$dir/pids"

# ---- PKI: a CA, a server certificate for 127.0.0.1 and 127.0.0.2, a token signing certificate
ext=$dir/.ext
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=virtkube-registry-test-ca" -days 1 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out "$dir/ca.crt" 2>/dev/null
# leaf NAME KEYTYPE EXTENSIONS...: a certificate signed by the CA.
leaf() {
	local name=$1 keyalg=$2
	shift 2
	if [ "$keyalg" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
	fi
	printf '%s\n' "$@" >"$ext"
	openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$dir/$name.csr" 2>/dev/null
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 1 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr" "$ext"
}
leaf server ec "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost"
leaf token-signer rsa "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature"
mkdir -p "$dir/skopeo-certs"
cp "$dir/ca.crt" "$dir/skopeo-certs/ca.crt"

user=tester
password=secret-$$
htpasswd -Bbc "$dir/htpasswd" "$user" "$password" 2>/dev/null

# ---- the token service
"$py" "$here/registry-token.py" --cert "$dir/server.crt" --key "$dir/server.key" \
	--sign-cert "$dir/token-signer.crt" --sign-key "$dir/token-signer.key" --issuer virtkube-test-issuer \
	--user "$user:$password" --port-file "$dir/token.port" --log "$dir/token.log" </dev/null >/dev/null 2>"$dir/token.err" &
echo $! >>"$dir/pids"
for _ in $(seq 200); do [ -s "$dir/token.port" ] && break; sleep 0.05; done
token_url="https://127.0.0.1:$(cat "$dir/token.port")/token"

# ---- three registries over one storage directory
free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# registry NAME AUTH-YAML [plain]: writes DIR/NAME.yml, starts it (TLS unless "plain"), prints its host:port.
registry() {
	local name=$1 auth=$2 port tls=""
	port=$(free_port)
	[ "${3:-}" = plain ] || tls="  tls:
    certificate: $dir/server.crt
    key: $dir/server.key"
	cat >"$dir/$name.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/storage
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
$tls
$auth
EOF
	docker-registry serve "$dir/$name.yml" </dev/null >"$dir/$name.log" 2>&1 &
	echo $! >>"$dir/pids"
	echo "127.0.0.1:$port"
}
anon=$(registry anon "")
basic=$(registry basic "auth:
  htpasswd:
    realm: virtkube-test
    path: $dir/htpasswd")
bearer=$(registry bearer "auth:
  token:
    realm: $token_url
    service: virtkube-test
    issuer: virtkube-test-issuer
    rootcertbundle: $dir/ca.crt")
plain=$(registry plain "" plain)
for url in "https://$anon" "https://$basic" "https://$bearer" "http://$plain"; do
	up=""
	for _ in $(seq 200); do
		if curl -s -o /dev/null --cacert "$dir/ca.crt" "$url/v2/"; then
			up=1
			break
		fi
		sleep 0.05
	done
	if [ -z "$up" ]; then
		echo "registry-stack: the registry at $url did not start; its log:" >&2
		cat "$dir"/*.log >&2
		exit 1
	fi
done

# ---- the test images, pushed once through the anonymous registry
"$py" "$here/registry-images.py" --out "$dir/layout" "${image_args[@]}"
for name in busybox multi shared multiarch; do
	skopeo copy -q --all --dest-cert-dir "$dir/skopeo-certs" \
		"oci:$dir/layout:$name" "docker://$anon/test/$name:1" >/dev/null
done
# The same busybox as a Docker v2 schema 2 image (Docker media types), converted by skopeo.
skopeo copy -q --format v2s2 --dest-cert-dir "$dir/skopeo-certs" \
	"oci:$dir/layout:busybox" "docker://$anon/test/busybox-docker:1" >/dev/null

cat >"$dir/env" <<EOF
ANON=$anon
BASIC=$basic
BEARER=$bearer
PLAIN=$plain
TOKEN_URL=$token_url
CA=$dir/ca.crt
USER=$user
PASSWORD=$password
LAYOUT=$dir/layout
EOF
