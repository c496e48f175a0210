#!/bin/bash
# `virtkube update-context` through the binary: errors, merge into the kubeconfig, --keep-context, and kubectl reading it.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

prof=$VIRTKUBE_HOME/profiles/dev

run vk -p dev update-context
expect_rc 1 "update-context on a missing profile fails"
expect_err "profile 'dev' does not exist" "and says the profile does not exist"
expect_err "hint: .*virtkube start -p dev" "with a hint to start it"

mkdir -p "$prof"
printf '{"schema": 1, "name": "dev", "node_ip": "192.168.39.10", "api_port": 8443}\n' >"$prof/config.json"
run vk -p dev update-context
expect_rc 1 "update-context without certificates fails"
expect_err "no usable client certificate" "and says the certificate is missing"

sh "$top_srcdir/tests/fakes/mkcerts.sh" "$prof" >/dev/null 2>&1
check "test certificates are in the profile" test -f "$prof/client.key"

printf '{"schema": 1, "name": "dev", "node_ip": "192.168.39.10", "api_port": 8443, "kubernetes": false}\n' \
	>"$prof/config.json"
run vk -p dev update-context
expect_rc 1 "update-context on a --no-kubernetes profile fails"
expect_err "without Kubernetes" "and says why"

printf '{"schema": 1, "name": "dev", "node_ip": "192.168.39.10", "api_port": 8443}\n' >"$prof/config.json"
mkdir -p "$(dirname "$KUBECONFIG")"
cat >"$KUBECONFIG" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: work
  cluster:
    server: https://work.example:6443
users:
- name: work
  user:
    token: abc
contexts:
- name: work
  context:
    cluster: work
    user: work
current-context: work
preferences: {}
EOF
run vk -p dev update-context --keep-context
expect_rc 0 "update-context --keep-context succeeds"
expect_out "context 'dev' in '.*' points at https://192.168.39.10:8443" "and says where the context points"
check "a backup of the old kubeconfig was made" test -f "$KUBECONFIG.virtkube-backup"
check "the kubeconfig is 0600" test "$(stat -c %a "$KUBECONFIG")" = 600

if command -v kubectl >/dev/null; then
	run kubectl config current-context
	expect_out "^work$" "kubectl: --keep-context left 'work' current"
	run kubectl config get-contexts -o name
	expect_out "^dev$" "kubectl lists the dev context"
	expect_out "^work$" "and still the work context"
	run kubectl --context dev config view --minify -o 'jsonpath={.clusters[0].cluster.server}'
	expect_out "^https://192.168.39.10:8443$" "kubectl --context dev resolves to the node's server"
else
	pass "# SKIP kubectl is not installed"
fi

run vk -p dev update-context
expect_rc 0 "update-context without --keep-context succeeds"
expect_out "current context" "and says the context is current"
if command -v kubectl >/dev/null; then
	run kubectl config current-context
	expect_out "^dev$" "kubectl: dev is now current"
fi

# The node IP changed in the profile: update-context follows it.
printf '{"schema": 1, "name": "dev", "node_ip": "192.168.40.10", "api_port": 8443}\n' >"$prof/config.json"
run vk -p dev update-context
expect_rc 0 "update-context after an IP change succeeds"
check "the kubeconfig holds the new address once" test "$(grep -c 'server: https://192.168.40.10:8443' "$KUBECONFIG")" = 1
check "and not the old one" test "$(grep -c '192.168.39.10' "$KUBECONFIG")" = 0

# A kubeconfig that does not parse is reported and left alone.
printf 'apiVersion: v1\nclusters:\n- name: a\n   cluster: [oops\n' >"$TEST_TMP/broken"
cp "$TEST_TMP/broken" "$TEST_TMP/broken.orig"
KUBECONFIG="$TEST_TMP/broken:$KUBECONFIG" run vk -p dev update-context
expect_rc 1 "update-context with an unparsable kubeconfig fails"
expect_err "cannot parse kubeconfig '$TEST_TMP/broken': line 4" "naming the file and line"
check "the unparsable file is untouched" cmp -s "$TEST_TMP/broken" "$TEST_TMP/broken.orig"

mkdir -p "$TEST_TMP/kdir"
KUBECONFIG="$TEST_TMP/kdir" run vk -p dev update-context
expect_rc 1 "a kubeconfig that is a directory fails"
expect_err "is a directory" "and says so"

finish
