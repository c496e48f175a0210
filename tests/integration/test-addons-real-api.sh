#!/bin/bash
# The addons against a real kube-apiserver (VIRTKUBE_E2E_RELEASE): a server-side dry run of every manifest, then test-addons-api.sh and test-service.sh in their real-server mode.
# Skips (77) with the reason without a release or without Debian's etcd (see real-api.sh).
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"
. "$top_srcdir/tests/integration/real-api.sh"

kubectl=$VIRTKUBE_E2E_RELEASE/bin/kubectl
[ -x "$kubectl" ] || kubectl=$(command -v kubectl) || real_api_skip "no kubectl in the release or on PATH"
real_api_start api
kc() { KUBECONFIG=$REAL_KUBECONFIG "$kubectl" "$@"; }
server=$(curl -s --cacert "$FAKE_CERTS/ca.crt" --cert "$FAKE_CERTS/client.crt" --key "$FAKE_CERTS/client.key" \
	"https://127.0.0.1:$FAKE_PORT/version" | python3 -c 'import json, sys; print(json.load(sys.stdin)["gitVersion"])')
pass "a real kube-apiserver $server answers on 127.0.0.1:$FAKE_PORT"

# The addon's manifests as the C code applies them: placeholders replaced (the values addons/check uses),
# parsed by kubectl into one JSON List.
manifest_json() {
	local dir=$top_srcdir/addons/$1 f
	: >"$TEST_TMP/$1.yaml"
	for f in $(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["manifests"]))' "$dir/addon.json"); do
		# shellcheck disable=SC2016 # the ${...} are literal placeholders
		sed -e 's/\${NODE_IP}/127.0.0.1/g' -e 's/\${PROFILE}/virtkube/g' -e 's/\${DNS_DOMAIN}/cluster.local/g' \
			-e 's/\${DNS_SERVICE_IP}/10.96.0.10/g' -e "s/\${KUBERNETES_VERSION}/$server/g" "$dir/$f" >>"$TEST_TMP/$1.yaml"
		printf '\n---\n' >>"$TEST_TMP/$1.yaml"
	done
	KUBECONFIG=/dev/null "$kubectl" label --local -f "$TEST_TMP/$1.yaml" -o json virtkube-dry-run=1 | python3 -c '
import json, sys
dec, s, i, items = json.JSONDecoder(), sys.stdin.read(), 0, []
while True:
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    o, i = dec.raw_decode(s, i)
    items.extend(o["items"] if o.get("kind") == "List" else [o])
for o in items:
    o["metadata"].get("labels", {}).pop("virtkube-dry-run", None)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))'
}

# (a) A server-side dry run of every addon's every object. What the dry run cannot stand in for is created
# first for real, as an enable would: the Namespaces the objects go into and the CRDs that define kinds.
for dir in "$top_srcdir"/addons/*/; do
	addon=$(basename "$dir")
	[ -f "$dir/addon.json" ] || continue
	manifest_json "$addon" >"$TEST_TMP/$addon.json"
	python3 -c '
import json, sys
items = json.load(open(sys.argv[1]))["items"]
pre = [o for o in items if o["kind"] in ("Namespace", "CustomResourceDefinition")]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": pre}))' "$TEST_TMP/$addon.json" >"$TEST_TMP/$addon.pre.json"
	total=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TEST_TMP/$addon.json")
	if [ "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TEST_TMP/$addon.pre.json")" != 0 ]; then
		kc apply --server-side --field-manager=virtkube -f "$TEST_TMP/$addon.pre.json" >"$TEST_TMP/pre.out" 2>&1
		if grep -q '^customresourcedefinition' "$TEST_TMP/pre.out"; then
			kc wait --for=condition=Established --timeout=60s crd --all >/dev/null 2>&1
		fi
	fi
	run kc apply --server-side --dry-run=server --field-manager=virtkube --force-conflicts -f "$TEST_TMP/$addon.json"
	expect_rc 0 "$addon: the server accepts a dry run (dryRun=All) of all its $total objects"
	check "$addon: and says so for each ($(grep -c 'serverside-applied (server dry run)' <<<"$out") of $total)" \
		test "$(grep -c 'serverside-applied (server dry run)' <<<"$out")" = "$total"
	[ "$rc" = 0 ] || printf '#   %s\n' "$err" | head -20
done
kc get crd -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' \
	>"$TEST_TMP/crds" 2>&1
check "the Gateway API CRDs are served: $(grep -c 'gateway.networking.k8s.io=True' "$TEST_TMP/crds") of 10 established" \
	test "$(grep -c 'gateway.networking.k8s.io=True' "$TEST_TMP/crds")" = 10
kc api-resources --api-group=gateway.networking.k8s.io -o name >"$TEST_TMP/gw-kinds" 2>&1
check "and discovery lists their kinds ($(tr '\n' ' ' <"$TEST_TMP/gw-kinds"))" \
	grep -q '^httproutes.gateway.networking.k8s.io$' "$TEST_TMP/gw-kinds"

# (b) The integration tests in their real-server mode, each with its own server. Their TAP lines are
# shown as comments; each counts as one test here.
for t in test-addons-api.sh test-service.sh; do
	VIRTKUBE_TEST_API=real bash "$top_srcdir/tests/integration/$t" >"$TEST_TMP/$t.out" 2>&1
	trc=$?
	sed 's/^/#   /' "$TEST_TMP/$t.out"
	check "$t against the real server: exit $trc, $(grep -c '^ok' "$TEST_TMP/$t.out") ok, $(grep -c '^not ok' "$TEST_TMP/$t.out") not ok" \
		test "$trc" = 0 -a "$(grep -c '^not ok' "$TEST_TMP/$t.out")" = 0 -a "$(grep -c '^ok' "$TEST_TMP/$t.out")" -ge 60
done

# (c) The dashboard's login token from the real TokenRequest API: RBAC lets it act as cluster-admin.
make_profile real "$FAKE_PORT"
run vk -p real addons enable dashboard --no-wait
expect_rc 0 "the dashboard addon applies to the real server"
run vk -p real dashboard --duration 20m
expect_rc 0 "virtkube dashboard gets a token from the real server"
token=$(sed -n 2p <<<"$out")
code=$(curl -s -o "$TEST_TMP/nodes.json" -w '%{http_code}' --cacert "$FAKE_CERTS/ca.crt" \
	-H "Authorization: Bearer $token" "https://127.0.0.1:$FAKE_PORT/api/v1/nodes")
check "the token lists the cluster's Nodes, which only a cluster-wide role may ($code)" test "$code" = 200
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FAKE_CERTS/ca.crt" \
	-H "Authorization: Bearer $token" -X DELETE "https://127.0.0.1:$FAKE_PORT/api/v1/namespaces/no-such-namespace")
check "and may even delete (404 for a missing Namespace, not 403: $code)" test "$code" = 404
kc delete clusterrolebinding virtkube:headlamp-admin >/dev/null 2>&1
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FAKE_CERTS/ca.crt" \
	-H "Authorization: Bearer $token" "https://127.0.0.1:$FAKE_PORT/api/v1/nodes")
check "without the addon's binding the same token is Forbidden ($code)" test "$code" = 403
finish
