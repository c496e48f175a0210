#!/bin/bash
# service --url / service list / dashboard (URL and login token) against the fake API server, and the transport errors.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"

# With VIRTKUBE_TEST_API=real (tests/integration/test-addons-real-api.sh sets it) all of it runs against a real
# kube-apiserver from VIRTKUBE_E2E_RELEASE: no kubelet runs there, so addons are enabled without waiting.
api_start api
make_profile dev "$FAKE_PORT"
export VIRTKUBE_PROFILE=dev

svc_json() { # NAME TYPE PORTS-JSON
	printf '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "%s", "namespace": "default"}, "spec": {"type": "%s", "selector": {"app": "%s"}, "ports": %s}}' "$1" "$2" "$1" "$3"
}
apply_json /api/v1/namespaces/default/services/web "$(svc_json web NodePort '[{"port": 80, "targetPort": 8080}]')"
apply_json /api/v1/namespaces/default/services/multi "$(svc_json multi NodePort \
	'[{"name": "http", "port": 80, "targetPort": "web"}, {"name": "https", "port": 443, "nodePort": 30443}, {"name": "metrics", "port": 9100}]')"
apply_json /api/v1/namespaces/default/services/internal "$(svc_json internal ClusterIP '[{"port": 80}]')"
# nodePorts as the fake allocated them, in spec order
nodeports() { kapi GET "/api/v1/namespaces/default/services/$1" | python3 -c '
import json, sys; print(" ".join(str(p["nodePort"]) for p in json.load(sys.stdin)["spec"]["ports"]))'; }
read -r web_np <<<"$(nodeports web)"
read -r m1 m2 m3 <<<"$(nodeports multi)"
check "the fake allocated node ports ($web_np; $m1 $m2 $m3)" test -n "$web_np" -a -n "$m3" -a "$m2" = 30443

run vk service web --url
expect_rc 0 "service web --url exits 0"
check "and prints http://NODE_IP:NODEPORT" test "$out" = "http://127.0.0.1:$web_np"

run vk service multi --url
expect_rc 0 "a Service with three ports exits 0"
check "one URL per port, in spec order" test "$out" = "$(printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\nhttp://127.0.0.1:%s' "$m1" "$m2" "$m3")"

run vk service multi --url --https
expect_rc 0 "--https exits 0"
check "and changes the scheme" test "$(head -1 <<<"$out")" = "https://127.0.0.1:$m1"

run vk service multi --url --format '{{.Name}} {{.IP}}:{{ .Port }}'
expect_rc 0 "--format exits 0"
check "and fills .Name, .IP and .Port" test "$out" = "$(printf 'http 127.0.0.1:%s\nhttps 127.0.0.1:%s\nmetrics 127.0.0.1:%s' "$m1" "$m2" "$m3")"

run vk service web --url --format '{{.Host}}'
expect_rc 2 "an unknown --format field is a usage error"
expect_err "unknown or unterminated field '\{\{.Host\}\}'" "naming it"

run vk service internal --url
expect_rc 1 "a ClusterIP Service fails"
expect_err "service 'default/internal' is of type ClusterIP and has no node port" "saying it has no node port"
expect_err "hint: .*kubectl -n default expose service internal --type=NodePort" "and how to expose it"

run vk service nosuch --url
expect_rc 1 "a missing Service fails"
expect_err "service 'nosuch' was not found in namespace 'default'" "naming it and the namespace"
run vk service web -n nosuchns --url
expect_rc 1 "a missing namespace fails"
expect_err "namespace 'nosuchns' does not exist" "naming the namespace"
run vk service 'Bad_Name' --url
expect_rc 2 "an invalid Service name is a usage error"

# --wait: the Service appears a second after the command started.
( vk service late --url --wait 10 >"$TEST_TMP/late.out" 2>"$TEST_TMP/late.err"; echo $? >"$TEST_TMP/late.rc" ) &
waiter=$!
sleep 1
apply_json /api/v1/namespaces/default/services/late "$(svc_json late NodePort '[{"port": 8080}]')"
wait "$waiter"
read -r late_np <<<"$(nodeports late)"
check "--wait picks up a Service created while it waits" test "$(cat "$TEST_TMP/late.rc")" = 0 -a "$(cat "$TEST_TMP/late.out")" = "http://127.0.0.1:$late_np"
start=$(date +%s%N)
run vk service never --url --wait 1
end=$(date +%s%N)
expect_rc 1 "--wait gives up on a Service that never comes"
expect_err "service 'never' was not found in namespace 'default' within 1s" "and says how long it waited"
check "after about the time given ($(((end - start) / 1000000)) ms)" test $(((end - start) / 1000000)) -ge 900

# A LoadBalancer Service: on its node port while <pending>, then on the address its status gives (what the
# loadbalancer addon's controller writes), with the Service's own ports.
apply_json /api/v1/namespaces/default/services/lb "$(svc_json lb LoadBalancer '[{"name": "http", "port": 80, "targetPort": 8080}]')"
read -r lb_np <<<"$(nodeports lb)"
run vk service lb --url
expect_rc 0 "a pending LoadBalancer Service exits 0"
check "and is reached on its node port meanwhile" test "$out" = "http://127.0.0.1:$lb_np"
apply_json "/api/v1/namespaces/default/services/lb/status" \
	'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "default"}, "status": {"loadBalancer": {"ingress": [{"ip": "192.168.100.230"}]}}}'
run vk service lb --url
expect_rc 0 "a LoadBalancer Service with an address exits 0"
check "and prints http://ADDRESS:PORT, the Service's own port ($out)" test "$out" = "http://192.168.100.230:80"
run vk service lb --url --format '{{.Name}} {{.IP}} {{.Port}}'
check "--format carries the address" test "$out" = "http 192.168.100.230 80"

run vk service list
expect_rc 0 "service list exits 0"
expect_out "^default +lb +http/8080 +http://192.168.100.230:80\$" "a LoadBalancer Service is listed with its address"
expect_out "^NAMESPACE +NAME +TARGET PORT +URL" "with headers"
expect_out "^default +web +8080 +http://127.0.0.1:$web_np\$" "a NodePort Service with its target port and URL"
expect_out "^default +multi +http/web +http://127.0.0.1:$m1\$" "a named port with a named target"
expect_out "^default +multi +metrics/9100 +http://127.0.0.1:$m3\$" "every port of it"
expect_out "^default +internal +No node port" "a ClusterIP Service has no URL"
expect_out "^default +kubernetes +No node port" "the kubernetes Service is listed"
run vk service list -o json
expect_rc 0 "service list -o json exits 0"
check "json: one object per port, with its URL (null without a node port) and load_balancer_ip" python3 -c '
import json, sys
rows = json.loads(sys.stdin.read())
web = [r for r in rows if r["name"] == "web"]
internal = [r for r in rows if r["name"] == "internal"]
ok = web and web[0]["url"] == "http://127.0.0.1:" + sys.argv[1] and web[0]["target_port"] == "8080"
ok = ok and internal and internal[0]["url"] is None and len([r for r in rows if r["name"] == "multi"]) >= 3
lb = [r for r in rows if r["name"] == "lb"]
ok = ok and lb and lb[0]["load_balancer_ip"] == "192.168.100.230" and lb[0]["url"] == "http://192.168.100.230:80"
ok = ok and web[0]["load_balancer_ip"] is None
sys.exit(0 if ok else 1)
' "$web_np" <<<"$out"
run vk service list -n kube-system
expect_rc 0 "service list -n exits 0"
check "and lists only that namespace" test "$(grep -c '^default' <<<"$out")" = 0
run vk service list -n kube-public
expect_rc 0 "service list -n of a namespace without Services exits 0"
check "with the headers alone" test "$(wc -l <<<"$out")" = 1
run vk service list -n nosuchns
expect_rc 1 "service list -n of a missing namespace fails, as 'service NAME -n' does"
expect_err "namespace 'nosuchns' does not exist" "with the same words"
expect_err "hint: 'kubectl get namespaces' lists them" "and the same hint"
expect_no_out "and prints no empty table"

# dashboard: Headlamp's URL, and a login token from the TokenRequest API
run vk dashboard --url
expect_rc 1 "dashboard --url without the addon fails"
expect_err "the dashboard addon is not enabled in profile 'dev'" "and says so"
expect_err "hint: enable it with 'virtkube -p dev addons enable dashboard'" "with the command to run"
run vk addons enable dashboard "${wait_flag[@]}"
dash_np=$(kapi GET /api/v1/namespaces/headlamp/services/headlamp | python3 -c '
import json, sys; print([p["nodePort"] for p in json.load(sys.stdin)["spec"]["ports"] if p["port"] == 80][0])')
run vk dashboard --url
expect_rc 0 "dashboard --url exits 0 once the addon is enabled"
check "and prints only Headlamp's URL: the node port of port 80" test "$out" = "http://127.0.0.1:$dash_np/"
run vk service headlamp -n headlamp --url
expect_rc 0 "service headlamp -n headlamp --url exits 0"
check "and prints the same address" test "$out" = "http://127.0.0.1:$dash_np"

run vk dashboard
expect_rc 0 "dashboard exits 0"
check "the first line is the URL" test "$(sed -n 1p <<<"$out")" = "http://127.0.0.1:$dash_np/"
token=$(sed -n 2p <<<"$out")
# claims ORIGIN: the token's claims as JSON (a JWT: header.payload.signature, base64url).
claims() { python3 -c '
import base64, json, sys
p = sys.argv[1].split(".")[1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))))' "$1"; }
check "the second line is a token of ServiceAccount headlamp/headlamp-admin valid for 1 hour" python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert c["sub"] == "system:serviceaccount:headlamp:headlamp-admin" and c["exp"] - c["iat"] == 3600, c' "$(claims "$token")"
expect_err "log in with the token on the second line: it acts as ServiceAccount headlamp/headlamp-admin \(cluster-admin\) for 1h, until 20[0-9-]+T" \
	"stderr says how to use it and until when"
log_sync
check "the token was asked with TokenRequest (POST .../serviceaccounts/headlamp-admin/token)" \
	grep -q '"method": "POST", "path": "/api/v1/namespaces/headlamp/serviceaccounts/headlamp-admin/token", .*"status": 201' "$TEST_TMP/api.log"
code=$(curl -s -o "$TEST_TMP/ns.json" -w '%{http_code}' --cacert "$FAKE_CERTS/ca.crt" -H "Authorization: Bearer $token" \
	"https://127.0.0.1:$FAKE_PORT/api/v1/namespaces")
check "the token logs in: the API answers it without a client certificate ($code)" test "$code" = 200
log_sync
check "as the ServiceAccount" grep -q '"path": "/api/v1/namespaces", .*"user": "system:serviceaccount:headlamp:headlamp-admin"' "$TEST_TMP/api.log"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FAKE_CERTS/ca.crt" -H "Authorization: Bearer ${token}x" \
	"https://127.0.0.1:$FAKE_PORT/api/v1/namespaces")
check "a token changed by one character does not ($code)" test "$code" = 401

run vk dashboard --duration 90m
expect_rc 0 "dashboard --duration 90m exits 0"
check "and the token is valid for 90 minutes" python3 -c '
import json, sys; c = json.loads(sys.argv[1]); assert c["exp"] - c["iat"] == 5400, c' "$(claims "$(sed -n 2p <<<"$out")")"
expect_err "for 90m, until" "saying so"
run vk dashboard --duration 5m
expect_rc 2 "a token shorter than the API's 10 minutes is a usage error"
expect_err "invalid value '5m' for --duration: must be from 10m to 24h" "naming the bounds"
run vk dashboard --duration soon
expect_rc 2 "a duration that does not read is a usage error"
expect_err "invalid value 'soon' for --duration: write a number with s, m or h" "saying how to write it"
run vk dashboard --url --duration 1h
expect_rc 2 "--duration with --url (which prints no token) is a usage error"
kapi DELETE /api/v1/namespaces/headlamp/serviceaccounts/headlamp-admin >/dev/null
run vk dashboard
expect_rc 1 "without its login ServiceAccount dashboard fails"
expect_err "cannot make a token for ServiceAccount 'headlamp/headlamp-admin': it does not exist" "naming it"
expect_err "hint: apply the addon again with 'virtkube -p dev addons enable dashboard'" "with the fix"
expect_no_out "and prints no URL without a token"

# Traefik's Service: both entry points on node ports.
run vk addons enable ingress "${wait_flag[@]}"
expect_rc 0 "the ingress addon (Traefik) enables"
read -r web_np tls_np <<<"$(kapi GET /api/v1/namespaces/traefik/services/traefik | python3 -c '
import json, sys; print(" ".join(str(p["nodePort"]) for p in json.load(sys.stdin)["spec"]["ports"]))')"
run vk service traefik -n traefik --url
expect_rc 0 "service traefik -n traefik --url exits 0"
check "one URL per entry point, web then websecure" test "$out" = "$(printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s' "$web_np" "$tls_np")"

# Transport and TLS failures are named.
make_profile wrongcert "$FAKE_PORT" wrong-client
run vk -p wrongcert service web --url
expect_rc 1 "a client certificate from another CA fails"
expect_err "cannot get Service 'default/web': Unauthorized" "with the API server's 401 (it takes the certificate in the handshake)"
expect_err "hint: the API server did not accept the profile's client certificate" "and the hint for it"
cp "$FAKE_CERTS/wrong-ca.crt" "$VIRTKUBE_HOME/profiles/wrongcert/ca.crt"
cp "$FAKE_CERTS/client.crt" "$VIRTKUBE_HOME/profiles/wrongcert/client.crt"
cp "$FAKE_CERTS/client.key" "$VIRTKUBE_HOME/profiles/wrongcert/client.key"
run vk -p wrongcert service web --url
expect_rc 1 "a server certificate the profile's CA did not sign fails"
expect_err "presented a certificate the profile's CA does not trust" "and says so"

port=$(closed_port)
make_profile down "$port"
run vk -p down service web --url
expect_rc 1 "a server that is down fails"
expect_err "cannot connect to the API server at https://127.0.0.1:$port" "naming the URL"
expect_err "hint: is the cluster running" "with a hint"

rm "$VIRTKUBE_HOME/profiles/down/client.key"
run vk -p down service web --url
expect_rc 1 "a profile without its client key fails"
expect_err "cannot read the client key of profile 'down'" "naming the file's role"

run vk -p nosuchprofile service web --url
expect_rc 1 "a profile that does not exist fails"
expect_err "profile 'nosuchprofile' does not exist" "naming it"

finish
