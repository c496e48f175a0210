#!/bin/bash
# node add on a Kubernetes profile whose join token was never in the cluster: a fresh bootstrap token is made
# through the API (the Secret `kubeadm token create` writes) before the new worker's seed is made.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"

fake_start api
make_profile dev "$FAKE_PORT"
# A one-node profile as start leaves it: its network planned, on libvirt's test driver.
python3 - "$VIRTKUBE_HOME/profiles/dev/config.json" <<'EOS'
import json, sys
c = json.load(open(sys.argv[1]))
c.update({"libvirt_uri": "test:///default", "subnet": "192.168.120.0/24", "mac": "52:54:00:12:34:56",
          "network": "virtkube-dev", "kubernetes_version": "v1.35.4"})
json.dump(c, open(sys.argv[1], "w"))
EOS
chmod 0600 "$VIRTKUBE_HOME/profiles/dev/config.json"
export VIRTKUBE_PROFILE=dev

run vk node add --worker --no-kubernetes
expect_rc 2 "node add takes no start flags"

t0=$(date +%s)
# The pipeline that makes the node fails where it needs downloads (a closed proxy): the token comes first.
run env https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 "$VIRTKUBE_BIN" node add --worker
expect_rc 1 "node add fails later, at the downloads (no network here)"
expect_err "node delete dev-m02' removes it" "and says how to finish or undo the half-made node"
token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("join_token", ""))' "$VIRTKUBE_HOME/profiles/dev/config.json")
id=${token%%.*}
check "a fresh token was saved in the profile ($id.****************)" grep -qE '^[a-z0-9]{6}\.[a-z0-9]{16}$' <<<"$token"
check "with its expiry, about 24 h from now" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["join_token_expires"]
assert 0 <= e - int(sys.argv[2]) - 86400 <= 120, e' "$VIRTKUBE_HOME/profiles/dev/config.json" "$t0"
secret=$(kapi GET "/api/v1/namespaces/kube-system/secrets/bootstrap-token-$id")
check "the API holds its Secret, bootstrap-token-$id" test "$(cat "$TEST_TMP/.code")" = 200
check "of kubeadm's bootstrap token type, with the token's halves and usages" python3 -c '
import base64, json, sys
s = json.loads(sys.argv[1])
d = {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}
d.update(s.get("stringData", {}))
assert s["type"] == "bootstrap.kubernetes.io/token", s
assert d["token-id"] + "." + d["token-secret"] == sys.argv[2], d
assert d["usage-bootstrap-authentication"] == "true" and d["usage-bootstrap-signing"] == "true", d
assert d["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token", d' "$secret" "$token"
check "the new worker is in the profile, at .3" python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))["nodes"]
assert [(x["name"], x["ip"], x["role"]) for x in n] == [("dev", "127.0.0.1", "control-plane"),
    ("dev-m02", "192.168.120.3", "worker")], n' "$VIRTKUBE_HOME/profiles/dev/config.json"

finish
