#!/bin/bash
# Benchmark: instructions (callgrind, repeatable on a busy machine) of one kubeconfig merge, check and remove, text path against document path, on a small and a large commented file.
# Usage: tests/bench/kubeconfig-callgrind.sh [BUILD_DIR] (default: ./build). CONTEXTS (default 1000) sets the
# large file's size. Prints one line per file, path and call: the instructions counted inside that call
# (valgrind --tool=callgrind --toggle-collect=FUNCTION), locks and file writes included.
# The files: "small" as kubectl leaves a laptop's (two clusters, one with embedded certificates, one
# minikube-style with paths, comments); "large" CONTEXTS entries with embedded certificates and a comment
# before each.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${CONTEXTS:-1000}
if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind is not installed"
	exit 77
fi
make -s -C "$build" tests/bench/bench-kubeconfig >/dev/null
bench=$build/tests/bench/bench-kubeconfig
tmp=$(mktemp -d /tmp/virtkube-kccg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# base64-looking data of a real certificate's size, the same every run
blob() { head -c "$1" /dev/zero | tr '\0' 'Q'; }
ca=$(blob 1500)
cert=$(blob 1600)
key=$(blob 2200)

cat >"$tmp/small" <<EOF
# written by kubectl; the dev cluster added by hand
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $ca
    server: https://203.0.113.7:6443
  name: work
# minikube keeps its certificates in files
- cluster:
    certificate-authority: /home/user/.minikube/ca.crt
    extensions:
    - extension:
        provider: minikube.sigs.k8s.io
        version: v1.33.1
      name: cluster_info
    server: https://192.168.49.2:8443
  name: minikube
contexts:
- context:
    cluster: work
    namespace: team-a   # the team's namespace
    user: work-admin
  name: work
- context:
    cluster: minikube
    user: minikube
  name: minikube
current-context: work
kind: Config
preferences: {}
users:
- name: work-admin
  user:
    client-certificate-data: $cert
    client-key-data: $key
- name: minikube
  user:
    client-certificate: /home/user/.minikube/profiles/minikube/client.crt
    client-key: /home/user/.minikube/profiles/minikube/client.key
EOF

awk -v n="$n" -v ca="$ca" -v cert="$cert" -v key="$key" 'BEGIN {
	print "# many clusters: one per team and stage"
	print "apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: ctx-0\nclusters:"
	for (i = 0; i < n; i++)
		printf "# team %d, stage %d\n- cluster:\n    certificate-authority-data: %s\n    server: https://10.%d.%d.2:6443\n  name: ctx-%d\n", i / 3, i % 3, ca, int(i / 256) % 256, i % 256, i
	print "users:"
	for (i = 0; i < n; i++)
		printf "- name: ctx-%d # admin\n  user:\n    client-certificate-data: %s\n    client-key-data: %s\n", i, cert, key
	print "contexts:"
	for (i = 0; i < n; i++)
		printf "- context:\n    cluster: ctx-%d\n    namespace: ns-%d\n    user: ctx-%d\n  name: ctx-%d\n", i, i, i, i
}' >"$tmp/large"

# certificates made once, outside valgrind
"$bench" --ops "$tmp/run" "$tmp/small" text

for f in small large; do
	for way in text document; do
		line="$f ($(($(wc -c <"$tmp/$f") / 1024)) KiB), $way path:"
		for fn in vk_kubeconfig_merge vk_kubeconfig_check vk_kubeconfig_remove; do
			valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" --toggle-collect="$fn" \
				"$bench" --ops "$tmp/run" "$tmp/$f" "$way" 2>"$tmp/cg.err" || {
				cat "$tmp/cg.err"
				exit 1
			}
			ir=$(sed -n 's/^summary: *//p' "$tmp/cg.out")
			line+=$(printf ' %s %s' "${fn#vk_kubeconfig_}" "$(numfmt --grouping "$ir")")
		done
		echo "$line"
	done
done
