#!/bin/bash
# Self-test of the fake Kubernetes API server (TAP): mutual TLS, server-side
# apply, Services, readiness, errors, and the real kubectl against it.
set -u

here=$(cd "$(dirname "$0")" && pwd)
for tool in curl openssl kubectl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		# A TAP skip: the plan says why, the exit status stays 0 for the TAP driver.
		echo "1..0 # SKIP $tool not installed"
		exit 0
	fi
done
# Resolve the interpreter once: a pyenv shim costs a second per start.
python=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)')

tmp=$(mktemp -d)
pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	shift
	for line in "$@"; do printf '#   %s\n' "$line"; done
}
# quiet CMD...: runs CMD with its output in $tmp/out
# shellcheck disable=SC2317  # called through check
quiet() { "$@" >"$tmp/out" 2>&1; }
# check NAME CMD...: ok when CMD succeeds
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name" "command: $*" "output: $(head -c 600 "$tmp/out" 2>/dev/null)"; fi
}


"$here/mkcerts.sh" "$tmp/pki"
ready_after=2
"$python" "$here/kube-apiserver.py" --port 0 --port-file "$tmp/port" \
	--ca "$tmp/pki/ca.crt" --cert "$tmp/pki/server.crt" --key "$tmp/pki/server.key" \
	--log "$tmp/requests.log" --deployment-ready-after "$ready_after" \
	--admission-deny 'Ingress/bad=admission webhook "validate.nginx.ingress.kubernetes.io" denied the request: host "x" is already defined' \
	</dev/null >"$tmp/server.out" 2>&1 &
pid=$!
start=$(date +%s%N)
for _ in $(seq 300); do
	[ -s "$tmp/port" ] && break
	sleep 0.01
done
if [ ! -s "$tmp/port" ]; then
	notok "server starts and writes its port file" "$(cat "$tmp/server.out")"
	exit 1
fi
ok "server starts and writes its port file ($((($(date +%s%N) - start) / 1000000)) ms)"
port=$(cat "$tmp/port")
url=https://127.0.0.1:$port
pki=$tmp/pki

api() { curl -sS --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" "$@"; }
# apply PATH JSON [QUERY]: server-side apply, body to $tmp/out, prints the HTTP status
apply() {
	api -o "$tmp/out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary "$2" "$url$1?${3-fieldManager=selftest}"
}
json() { "$python" -c "import json,sys; d=json.load(open('$tmp/out')); print($1)"; }

# --- TLS
check "/readyz answers ok with the right client certificate" \
	test "$(api "$url/readyz" 2>&1)" = ok
# As kube-apiserver: without a client certificate (or a token) a request is anonymous, which
# may read only the public paths.
check "without a client certificate /readyz still answers (anonymous may read it)" \
	test "$(curl -sS --cacert "$pki/ca.crt" "$url/readyz" 2>&1)" = ok
code=$(curl -sS -o "$tmp/out" -w '%{http_code}' --cacert "$pki/ca.crt" "$url/api/v1/namespaces" 2>&1)
check "without a client certificate the API is Forbidden to system:anonymous ($code)" \
	grep -q '"code":403.*\|User \\"system:anonymous\\" cannot get path' "$tmp/out"
code=$(curl -sS -o "$tmp/out" -w '%{http_code}' --cacert "$pki/ca.crt" -H 'Authorization: Bearer not-a-token' \
	"$url/api/v1/namespaces" 2>&1)
check "a bearer token the server did not issue is Unauthorized ($code)" test "$code" = 401
if curl -sS --cacert "$pki/ca.crt" --cert "$pki/wrong-client.crt" --key "$pki/wrong-client.key" \
	"$url/readyz" >"$tmp/out" 2>&1; then
	notok "a client certificate from another CA is rejected" "$(cat "$tmp/out")"
else ok "a client certificate from another CA is rejected"; fi
api -v "$url/readyz" "$url/version" >"$tmp/out" 2>&1
check "HTTP/1.1 keep-alive: two requests reuse one connection" grep -q "Re-using existing connection" "$tmp/out"

# --- apply
ns='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t1"}}'
check "apply without fieldManager is 422 Invalid" \
	test "$(apply /api/v1/namespaces/t1 "$ns" "")" = 422
check "apply creates a Namespace (201)" test "$(apply /api/v1/namespaces/t1 "$ns")" = 201
cm1='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"tier":"a"}},"data":{"k":"1"}}'
cm2='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"tier":"a"}},"data":{"k":"2"}}'
code1=$(apply /api/v1/namespaces/t1/configmaps/c "$cm1")
rv1=$(json 'd["metadata"]["resourceVersion"]')
code2=$(apply /api/v1/namespaces/t1/configmaps/c "$cm2")
rv2=$(json 'd["metadata"]["resourceVersion"]')
check "apply creates (201) then updates (200) with a larger resourceVersion ($rv1 -> $rv2)" \
	test "$code1 $code2" = "201 200" -a "$rv2" -gt "$rv1"
check "apply with a kind that does not match the URL is 400" test "$(apply /api/v1/namespaces/t1/configmaps/c \
	'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c"}}')" = 400
code=$(apply /api/v1/namespaces/nope/configmaps/c "$cm1")
check "apply into a missing namespace is 404 naming the namespace" \
	test "$code $(json 'd["message"]')" = '404 namespaces "nope" not found'

# --- Services
svc='{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}'
apply /api/v1/namespaces/t1/services/web "$svc" >/dev/null
nodeport=$(json 'd["spec"]["ports"][0].get("nodePort", 0)')
check "a NodePort Service gets a nodePort in 30000-32767 ($nodeport)" \
	test "$nodeport" -ge 30000 -a "$nodeport" -le 32767
code=$(apply /api/v1/namespaces/t1/services/other "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"other\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":81,\"nodePort\":$nodeport}]}}")
msg=$(json 'd["message"]')
check "a taken nodePort is 422 Invalid naming the port" \
	test "$code $(json 'd["reason"]')" = "422 Invalid" -a "${msg#*"$nodeport: provided port is already allocated"}" != "$msg"
code=$(apply /api/v1/namespaces/kube-system/services/kube-dns '{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns"},"spec":{"clusterIP":"10.96.0.10","selector":{"k8s-app":"kube-dns"},"ports":[{"name":"dns","port":53,"protocol":"UDP"}]}}')
check "a requested clusterIP (10.96.0.10) is honoured" test "$code $(json 'd["spec"]["clusterIP"]')" = "201 10.96.0.10"
code=$(apply /api/v1/namespaces/kube-system/services/kube-dns '{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns"},"spec":{"clusterIP":"10.96.0.11","ports":[{"name":"dns","port":53,"protocol":"UDP"}]}}')
msg=$(json 'd["message"]')
check "changing spec.clusterIP is 422 field is immutable" \
	test "$code" = 422 -a "${msg#*field is immutable}" != "$msg"

# --- errors, selectors, delete
api -o "$tmp/out" "$url/api/v1/namespaces/t1/services/missing"
check "GET of a missing object returns a NotFound Status" test "$(json '[d[k] for k in ("kind","status","reason","code","message")] + [d["details"]["name"], d["details"]["kind"]]')" \
	= "['Status', 'Failure', 'NotFound', 404, 'services \"missing\" not found', 'missing', 'services']"
apply /api/v1/namespaces/t1/configmaps/d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","labels":{"tier":"b","x":"1"}}}' >/dev/null
apply /api/v1/namespaces/default/configmaps/e '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"e","labels":{"tier":"b"}}}' >/dev/null
api -o "$tmp/out" "$url/api/v1/configmaps?labelSelector=tier%20in%20(a,b),x!=2,tier"
all=$(json '" ".join(i["metadata"]["name"] for i in d["items"])')
api -o "$tmp/out" "$url/api/v1/namespaces/t1/configmaps?labelSelector=tier=b,x"
one=$(json '" ".join(i["metadata"]["name"] for i in d["items"])')
check "LIST with label selectors, across and within namespaces ($all | $one)" test "$all|$one" = "e c d|d"
code=$(api -o "$tmp/out" -w '%{http_code}' -X DELETE "$url/api/v1/namespaces/t1?propagationPolicy=Background")
left=$(api "$url/api/v1/configmaps?fieldSelector=metadata.namespace=t1" | grep -c '"name":"c"')
check "deleting a Namespace deletes the objects in it" test "$code $left" = "200 0"
code=$(api -o "$tmp/out" -w '%{http_code}' -X DELETE "$url/api/v1/namespaces/default/configmaps/gone")
check "DELETE of a missing object is 404" test "$code" = 404
apply /apis/networking.k8s.io/v1/namespaces/default/ingresses/bad '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"bad"},"spec":{}}' >"$tmp/code"
msg=$(json 'd["message"]')
check "--admission-deny rejects that object with 400 and the message" \
	test "$(cat "$tmp/code")" = 400 -a "${msg#admission webhook}" != "$msg"

# --- Deployments and Endpoints
dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}'
apply /api/v1/namespaces/default/services/web "$svc" >/dev/null
apply /apis/apps/v1/namespaces/default/deployments/web "$dep" >/dev/null
api -o "$tmp/out" "$url/apis/apps/v1/namespaces/default/deployments/web"
before=$(json '[c["status"] for c in d["status"]["conditions"] if c["type"] == "Available"][0]')
api -o "$tmp/out" "$url/api/v1/namespaces/default/endpoints/web"
ep_before=$(json 'len(d.get("subsets", [{}])[0].get("addresses", []))')
sleep "$ready_after"
api -o "$tmp/out" "$url/apis/apps/v1/namespaces/default/deployments/web"
after=$(json '[c["status"] for c in d["status"]["conditions"] if c["type"] == "Available"][0] + " " + str(d["status"].get("availableReplicas"))')
check "a Deployment becomes Available after --deployment-ready-after ($before -> $after)" \
	test "$before|$after" = "False|True 1"
api -o "$tmp/out" "$url/api/v1/namespaces/default/endpoints/web"
ep_after=$(json 'd["subsets"][0]["addresses"][0]["ip"]')
check "the Service's Endpoints get an address once the Deployment is ready ($ep_before -> $ep_after)" \
	test "$ep_before" = 0 -a "${ep_after#10.244.}" != "$ep_after"
api -o "$tmp/out" "$url/api/v1/namespaces/default/pods?labelSelector=app%3Dweb"
pod=$(json 'd["items"][0]["metadata"]["name"] + " " + d["items"][0]["status"]["podIP"] + " " + d["items"][0]["status"]["phase"]')
check "the Deployment has a Running pod named web-HASH-XXXXX with that IP ($pod)" \
	test "$(sed -E 's/^web-[a-z0-9]{10}-[a-z0-9]{5} //' <<<"$pod")" = "$ep_after Running"
api -o "$tmp/out" "$url/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb"
slice=$(json '" ".join([d["items"][0]["addressType"], d["items"][0]["endpoints"][0]["addresses"][0], str(d["items"][0]["endpoints"][0]["conditions"]["ready"]), d["items"][0]["endpoints"][0]["targetRef"]["name"]])')
check "its EndpointSlice (by the service-name label) has the pod as a ready endpoint ($slice)" \
	test "$slice" = "IPv4 $ep_after True ${pod%% *}"

# --- the real kubectl
export KUBECONFIG=$tmp/kubeconfig
kc() { kubectl --cache-dir "$tmp/kubecache" "$@"; }
kc config set-cluster fake --server="$url" --certificate-authority="$pki/ca.crt" --embed-certs >/dev/null
kc config set-credentials admin --client-certificate="$pki/client.crt" --client-key="$pki/client.key" \
	--embed-certs >/dev/null
kc config set-context fake --cluster=fake --user=admin >/dev/null
kc config use-context fake >/dev/null
cat >"$tmp/app.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: kdemo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: kdemo
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: hello
        image: registry.k8s.io/echoserver:1.10
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: hello
  namespace: kdemo
spec:
  type: NodePort
  selector: {app: hello}
  ports:
  - port: 8080
    nodePort: 30080
EOF
check "kubectl apply --server-side -f works" quiet kc apply --server-side -f "$tmp/app.yaml"
check "kubectl apply --server-side again is accepted (no conflicts)" \
	quiet kc apply --server-side -f "$tmp/app.yaml"
kc get svc hello -n kdemo -o jsonpath='{.spec.ports[*].nodePort}' >"$tmp/out" 2>&1
check "kubectl get svc -o jsonpath prints the nodePort" test "$(cat "$tmp/out")" = 30080
kc get svc -A >"$tmp/out" 2>&1
check "kubectl get svc -A prints a table" grep -q "^kdemo *hello *NodePort .*8080:30080/TCP" "$tmp/out"
check "kubectl wait --for=condition=available succeeds" \
	quiet kc wait --for=condition=available deployment/hello -n kdemo --timeout=20s
check "kubectl wait --for=condition=Ready on the Deployment's pods succeeds" \
	quiet kc wait --for=condition=Ready pod -l app=hello -n kdemo --timeout=20s
kc get pods -n kdemo >"$tmp/out" 2>&1
check "kubectl get pods lists its two pods" test "$(grep -cE '^hello-[a-z0-9]{10}-[a-z0-9]{5} ' "$tmp/out")" = 2
kc get endpointslices -n kdemo -l kubernetes.io/service-name=hello -o jsonpath='{.items[*].endpoints[*].conditions.ready}' >"$tmp/out" 2>&1
check "kubectl reads the Service's EndpointSlice: two ready endpoints" test "$(cat "$tmp/out")" = "true true"
check "kubectl delete namespace works" quiet kc delete namespace kdemo --timeout=10s

# --- CustomResourceDefinitions in a group Kubernetes owns need the approval annotation (KEP-1111).
# crd_json GROUP PLURAL KIND ANNOTATIONS-JSON: a CRD with a schemaless v1.
crd_json() {
	printf '{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"%s.%s","annotations":%s},"spec":{"group":"%s","scope":"Namespaced","names":{"plural":"%s","singular":"%s","kind":"%s","listKind":"%sList"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}' \
		"$2" "$1" "$4" "$1" "$2" "$3" "$3" "$3"
}
code=$(apply /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.demo.k8s.io "$(crd_json demo.k8s.io widgets Widget '{}')")
check "a CRD of a *.k8s.io group without api-approved.kubernetes.io is refused (422: $code)" \
	grep -q 'metadata.annotations\[api-approved.kubernetes.io\]: Required value: protected groups must have approval annotation' "$tmp/out"
code=$(apply /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.demo.k8s.io \
	"$(crd_json demo.k8s.io widgets Widget '{"api-approved.kubernetes.io":"unapproved, test only"}')")
check "with the annotation it is created ($code)" test "$code" = 201
code=$(apply /apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.demo.x-k8s.io "$(crd_json demo.x-k8s.io gadgets Gadget '{}')")
check "a group under x-k8s.io (the convention for unapproved ones) needs no annotation ($code)" test "$code" = 201

if ! kill -0 "$pid" 2>/dev/null; then
	echo "# the server died:"
	sed 's/^/#   /' "$tmp/server.out"
	failed=1
fi
echo "1..$n"
if [ "$failed" != 0 ]; then
	echo "# server output:"
	sed 's/^/#   /' "$tmp/server.out"
fi
exit "$failed"
