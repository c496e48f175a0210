#!/bin/sh
# Makes the throwaway PKI the fake API server tests need: a CA, a server
# certificate for 127.0.0.1/localhost, an admin client certificate, and a
# client certificate from an unrelated CA for negative tests.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
umask 077

# EC P-256: key generation is instant, unlike RSA.
newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null
	chmod 600 "$1"
}

# selfsigned NAME SUBJECT: a CA certificate valid for a day.
selfsigned() {
	newkey "$dir/$1.key"
	openssl req -x509 -new -key "$dir/$1.key" -subj "$2" -days 1 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$dir/$1.crt" 2>/dev/null
}

# signed NAME SUBJECT CA EXTFILE: a leaf certificate signed by CA.
signed() {
	newkey "$dir/$1.key"
	openssl req -new -key "$dir/$1.key" -subj "$2" -out "$dir/$1.csr" 2>/dev/null
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$3.crt" -CAkey "$dir/$3.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 1 \
		-extfile "$4" -out "$dir/$1.crt" 2>/dev/null
	rm -f "$dir/$1.csr"
}

ext=$dir/.ext.$$
trap 'rm -f "$ext" "$ext.srv"' EXIT

printf '%s\n' "basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=clientAuth" >"$ext"
printf '%s\n' "basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=serverAuth" \
	"subjectAltName=IP:127.0.0.1,DNS:localhost" >"$ext.srv"

selfsigned ca "/CN=virtkube-test-ca"
signed server "/CN=kube-apiserver" ca "$ext.srv"
signed client "/O=system:masters/CN=virtkube-admin" ca "$ext"

selfsigned wrong-ca "/CN=some-other-ca"
signed wrong-client "/O=system:masters/CN=virtkube-admin" wrong-ca "$ext"
rm -f "$dir/wrong-ca.key"

chmod 644 "$dir"/*.crt
