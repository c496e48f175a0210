#!/bin/bash
# Addons against the fake API server: enable, list, re-enable, disable for every addon; waits; errors.
# With VIRTKUBE_TEST_API=real (tests/integration/test-addons-real-api.sh sets it) the first part runs against a
# real kube-apiserver from VIRTKUBE_E2E_RELEASE instead: no kubelet runs there, so nothing gets ready and
# enable does not wait; where the two servers differ, the fake is wrong.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"

api_start api
make_profile dev "$FAKE_PORT"
export VIRTKUBE_PROFILE=dev

# paths_since N: the object paths virtkube applied after log line N.
paths_since() {
	log_sync
	tail -n +"$(($1 + 1))" "$TEST_TMP/api.log" | python3 -c '
import json, sys
seen = []
for line in sys.stdin:
    r = json.loads(line)
    if r.get("method") == "PATCH" and "virtkube" in r.get("userAgent", ""):
        p = r["path"].split("?")[0]
        if p not in seen:
            seen.append(p)
print("\n".join(seen))'
}
lines() {
	log_sync
	wc -l <"$TEST_TMP/api.log"
}
# versions PATHS: each object's resourceVersion, one a line (the real server's list version moves on its own).
versions() {
	local p
	while IFS= read -r p; do
		kapi GET "$p" | python3 -c 'import json, sys; print(json.load(sys.stdin)["metadata"].get("resourceVersion"))'
	done <<<"$1"
}
# The state an applied addon shows: Ready, or Pending on the real server for one with something to wait for.
applied_state() {
	if [ "$real" = 1 ] && [ "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["wait"]))' \
		"$top_srcdir/addons/$1/addon.json")" != 0 ]; then
		echo Pending
	else
		echo Ready
	fi
}

run vk addons list -o json
expect_rc 0 "addons list -o json exits 0"
check "every addon is listed, the defaults enabled, nothing applied yet" python3 -c '
import json, sys
d = {a["name"]: a for a in json.loads(sys.argv[1])}
assert set(d) == {"dashboard", "default-storageclass", "dns", "ingress", "loadbalancer", "metrics-server", "storage-provisioner"}, d
assert [n for n in sorted(d) if d[n]["enabled"]] == ["default-storageclass", "dns", "storage-provisioner"], d
assert all(a["status"] == "Not applied" for a in d.values()), d' "$out"

for addon in dns storage-provisioner default-storageclass dashboard ingress metrics-server; do
	before=$(lines)
	run vk addons enable "$addon" "${wait_flag[@]}"
	expect_rc 0 "addons enable $addon exits 0"
	expect_err "addon '$addon' is enabled" "and says so"
	paths=$(paths_since "$before")
	check "$addon: objects were applied" test -n "$paths"

	state=$(applied_state "$addon")
	run vk addons list -o json
	check "$addon: listed as enabled and $state" python3 -c '
import json, sys
a = [x for x in json.loads(sys.argv[1]) if x["name"] == sys.argv[2]][0]
assert a["enabled"] is True and a["status"] == sys.argv[3], a' "$out" "$addon" "$state"
	check "$addon: remembered in config.json" python3 -c '
import json, sys
assert sys.argv[2] in json.load(open(sys.argv[1]))["addons"]' "$VIRTKUBE_HOME/profiles/dev/config.json" "$addon"

	# Re-enabling changes nothing: every apply answers 200 (not 201) and no resourceVersion moves.
	rv_before=$(versions "$paths")
	before=$(lines)
	run vk addons enable "$addon" "${wait_flag[@]}"
	expect_rc 0 "$addon: enabling again exits 0"
	log_sync
	check "$addon: the second enable only updated (200), created nothing" python3 -c '
import json, sys
st = [r["status"] for r in map(json.loads, open(sys.argv[1]).readlines()[int(sys.argv[2]):])
      if r.get("method") == "PATCH" and "virtkube" in r.get("userAgent", "")]
assert st and set(st) == {200}, st' "$TEST_TMP/api.log" "$before"
	rv_after=$(versions "$paths")
	check "$addon: and changed no object ($(wc -l <<<"$paths") objects, the same resourceVersions)" \
		test "$rv_before" = "$rv_after"

	run vk addons disable "$addon"
	expect_rc 0 "addons disable $addon exits 0"
	left=""
	while IFS= read -r p; do
		kapi GET "$p" >/dev/null
		[ "$(cat "$TEST_TMP/.code")" = 404 ] || left="$left $p"
	done <<<"$paths"
	check "$addon: disable leaves none of its objects (left:$left)" test -z "$left"
	run vk addons list -o json
	check "$addon: listed as disabled and not applied" python3 -c '
import json, sys
a = [x for x in json.loads(sys.argv[1]) if x["name"] == sys.argv[2]][0]
assert a["enabled"] is False and a["status"] == "Not applied", a' "$out" "$addon"
done

# The substituted values reach the cluster.
run vk addons enable dns "${wait_flag[@]}"
svc=$(kapi GET /api/v1/namespaces/kube-system/services/kube-dns)
check "dns: kube-dns has the ClusterIP \${DNS_SERVICE_IP} (10.96.0.10)" python3 -c '
import json, sys; assert json.loads(sys.argv[1])["spec"]["clusterIP"] == "10.96.0.10"' "$svc"
cm=$(kapi GET /api/v1/namespaces/kube-system/configmaps/coredns)
check "dns: the Corefile has \${DNS_DOMAIN} substituted" python3 -c '
import json, sys; c = json.loads(sys.argv[1])["data"]["Corefile"]; assert "kubernetes cluster.local " in c and "$" not in c, c' "$cm"
log_sync
check "objects are applied with fieldManager=virtkube and force" grep -q 'fieldManager=virtkube&force=true' "$TEST_TMP/api.log"
if [ "$real" = 1 ]; then
	# What follows needs the fake: readiness, faults, and its own request log's content types.
	finish
	exit
fi
check "as application/apply-patch+yaml" grep -q '"contentType": "application/apply-patch+yaml"' "$TEST_TMP/api.log"

run vk addons list
expect_rc 0 "addons list (table) exits 0"
expect_out "^NAME +ENABLED +STATUS +DESCRIPTION" "the table has headers"
expect_out "^dns +yes +Ready +CoreDNS" "dns is enabled and Ready"
expect_out "^ingress +no +Not applied" "ingress is neither"

run vk addons enable nosuch
expect_rc 1 "an unknown addon fails"
expect_err "unknown addon 'nosuch'" "naming it"
expect_err "hint: .*dashboard, default-storageclass, dns, ingress, loadbalancer, metrics-server, storage-provisioner" "with the list"
run vk addons disable nosuch
expect_rc 1 "disabling an unknown addon fails too"

# Waits: a Deployment that becomes available after 3 seconds.
fake_start slow --deployment-ready-after 3
make_profile slow "$FAKE_PORT"
run vk -p slow addons enable dns --timeout 1
expect_rc 8 "a wait that runs out fails with the addon-not-ready exit code (8)"
expect_err "addon 'dns' is not ready: timed out after 1s waiting for Deployment 'kube-system/coredns' to be available" \
	"and names the addon and what was awaited"
run vk --help
expect_out "^Exit status: .*8 the cluster is up but an addon is not ready" "the help documents exit status 8"
run vk addons enable --help
expect_out "exits with status 8" "and so does addons enable's"
run vk -p slow addons list -o json
check "the addon is remembered as enabled and shown Pending" python3 -c '
import json, sys
a = [x for x in json.loads(sys.argv[1]) if x["name"] == "dns"][0]
assert a["enabled"] is True and a["status"] == "Pending" and "replicas" in a["detail"], a' "$out"
run vk -p slow addons enable ingress --no-wait
expect_rc 0 "--no-wait returns before the addon is ready"
start=$(date +%s%N)
run vk -p slow addons enable storage-provisioner
end=$(date +%s%N)
expect_rc 0 "enable waits for the Deployment to become available"
check "and that took the fake's 3 seconds (took $(((end - start) / 1000000)) ms)" test $(((end - start) / 1000000)) -ge 2000

# A profile that is not running, and one without Kubernetes.
make_profile stopped "$FAKE_PORT" client Stopped
run vk -p stopped addons enable dns
expect_rc 1 "enable on a stopped profile fails"
expect_err "profile 'stopped' is not running \(state: Stopped\)" "and says so"
expect_err "hint: start it with 'virtkube start -p stopped'" "with a hint"
run vk -p stopped addons list
expect_rc 1 "addons list on a stopped profile exits 1, as status does"
expect_out "^dns +yes +- " "after listing what is enabled, without status"
expect_err "profile 'stopped' is not running" "and says why"

# A cluster that is down, and one that refuses the client certificate (401 after the handshake,
# as a real API server does for a certificate it does not authenticate).
make_profile down "$(closed_port)"
run vk -p down addons list -o json
expect_rc 1 "addons list against a cluster that is down exits 1"
expect_err "cannot connect to the API server" "and says so"
fake_start authn
make_profile refused "$FAKE_PORT" wrong-client
run vk -p refused addons list
expect_rc 1 "addons list against a cluster that refuses the credentials exits 1"
expect_err "Unauthorized" "with the server's word"
run vk -p refused addons enable default-storageclass --no-wait
expect_rc 1 "an apply (PATCH with a body) the server refuses fails"
expect_err "cannot apply StorageClass 'standard': Unauthorized" "with the real 401, not a transport error"
expect_err "hint: the API server did not accept the profile's client certificate" "and the hint for it"
check "the server saw the PATCH and answered 401" grep -q '"method": "PATCH".*"status": 401' "$TEST_TMP/authn.log"

# Offered h2 in ALPN (as a real API server does), virtkube still speaks HTTP/1.1: over HTTP/2 the
# 401 above is lost to GOAWAY.
fake_start h2 --offer-h2
make_profile h2 "$FAKE_PORT"
curl -s --http2 --cacert "$FAKE_CERTS/ca.crt" --cert "$FAKE_CERTS/client.crt" --key "$FAKE_CERTS/client.key" \
	"https://127.0.0.1:$FAKE_PORT/readyz" >/dev/null 2>&1
check "the server offers h2: curl --http2 picks it (and is disconnected)" grep -q '"alpn": "h2"' "$TEST_TMP/h2.log"
before=$(grep -c '"alpn": "h2"' "$TEST_TMP/h2.log")
run vk -p h2 addons enable default-storageclass --no-wait
expect_rc 0 "virtkube applies through a server that offers h2"
check "choosing HTTP/1.1 for every request" test "$(grep -c '"alpn": "h2"' "$TEST_TMP/h2.log")" = "$before"

# Waits say what the pods wait for, and an image that cannot be pulled ends the wait at once.
# (as the manifests name it: by tag; addon.json adds the digest the payload pins)
dns_image=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["images"][0].split("@")[0])' "$top_srcdir/addons/dns/addon.json")
sp_image=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["images"][0].split("@")[0])' \
	"$top_srcdir/addons/storage-provisioner/addon.json")
fake_start pull --image-pull-error "$dns_image=failed to pull and unpack image \"$dns_image\": failed to resolve reference \"$dns_image\": $dns_image: not found" \
	--crash-loop "$sp_image"
make_profile pull "$FAKE_PORT"
start=$(date +%s%N)
run vk -p pull addons enable dns --timeout 120
end=$(date +%s%N)
expect_rc 8 "an image that is not found fails the wait with the addon-not-ready code"
expect_err "addon 'dns' is not ready: Deployment 'kube-system/coredns' cannot start: image '$dns_image' cannot be pulled" \
	"naming the addon, the Deployment and the image"
expect_err "pod coredns-[a-z0-9]+-[a-z0-9]+: container coredns \(image $dns_image\): (ErrImagePull|ImagePullBackOff): .*not found" \
	"and the pod, its container and the kubelet's reason"
expect_err "dns: pod coredns-.*(ErrImagePull|ImagePullBackOff)" "the reason was shown as progress while waiting"
check "at once, not after the 120 s timeout ($(((end - start) / 1000000)) ms)" test $(((end - start) / 1000000)) -lt 60000
run vk -p pull addons list -o json
check "addons list shows the pull failure as the addon's detail" python3 -c '
import json, sys
a = [x for x in json.loads(sys.argv[1]) if x["name"] == "dns"][0]
assert a["status"] == "Pending" and ("ImagePullBackOff" in a["detail"] or "ErrImagePull" in a["detail"]), a' "$out"
run vk -p pull addons enable storage-provisioner --timeout 2
expect_rc 8 "a container in CrashLoopBackOff is not ready when the wait runs out"
expect_err "addon 'storage-provisioner' is not ready: timed out after 2s" "saying the time ran out"
expect_err "pod local-path-provisioner-[a-z0-9-]+: container local-path-provisioner \(image $sp_image\): CrashLoopBackOff: back-off" \
	"and why: the pod, the image, CrashLoopBackOff"

expect_err "CrashLoopBackOff: back-off .*; its last run ended: Error, exit code 1, [0-9]+ restarts?" \
	"with how its last run ended"
expect_err "the last lines of its log \(local-path-provisioner-[a-z0-9-]+, the run before\):" "then the crashed run's log"
expect_err "^  fake log of container local-path-provisioner$" "its lines, indented"

# The start flow's engine call with both: every addon is waited for, one error names each.
make_profile pullstart "$FAKE_PORT"
VK_TEST_LIVE_HOME=$VIRTKUBE_HOME VK_TEST_LIVE_PROFILE=pullstart VK_TEST_LIVE_NOT_READY=1 \
	run "${top_builddir:?run through make check}/tests/unit/test-addons"
expect_rc 0 "the start flow reports the addons that are not ready and waits for the others"
check "and every one of its checks passed" test "$(grep -c '^ok' <<<"$out")" -ge 9 -a "$(grep -c '^not ok' <<<"$out")" = 0
# The same through the start pipeline's addons step: --wait-timeout bounds it, the cluster stays up.
make_profile pullstep "$FAKE_PORT"
VK_TEST_LIVE_HOME=$VIRTKUBE_HOME VK_TEST_LIVE_PROFILE=pullstep VK_TEST_LIVE_NOT_READY=1 \
	run "${top_builddir:?run through make check}/tests/unit/test-start"
expect_rc 0 "the pipeline's addons step reports the addons that are not ready"
check "and every one of its checks passed" test "$(grep -c '^ok' <<<"$out")" -ge 5 -a "$(grep -c '^not ok' <<<"$out")" = 0

# DNS that does not answer after its wait: the CoreDNS pod's state and the last lines of its log.
fake_start dnsdown --crash-loop "$dns_image" \
	--pod-log "$dns_image=.:53\\nCoreDNS-1.12.0\\n[INFO] plugin/reload: Running configuration SHA512 = 1b2c\\n[FATAL] plugin/loop: Loop (127.0.0.1:40405 -> :53) detected for zone \".\""
make_profile dnsdown "$FAKE_PORT"
run vk -p dnsdown addons enable dns --timeout 3
expect_rc 8 "CoreDNS crash-looping: the addon-not-ready code"
expect_err "addon 'dns' is not ready: timed out after 3s waiting for Deployment 'kube-system/coredns' to be available" \
	"naming the addon and its Deployment"
expect_err "pod coredns-[a-z0-9]+-[a-z0-9]+: container coredns \(image $dns_image\): CrashLoopBackOff: back-off .*; its last run ended: Error, exit code 1" \
	"the pod's state: CrashLoopBackOff, and how its last run ended"
expect_err "the last lines of its log \(coredns-[a-z0-9]+-[a-z0-9]+, the run before\):" "then its log"
expect_err "^  \[FATAL\] plugin/loop: Loop \(127\.0\.0\.1:40405 -> :53\) detected" "down to its last line"
check "read through the pod log API, the previous run, the last lines" \
	grep -q '"path": "/api/v1/namespaces/kube-system/pods/coredns-[a-z0-9-]*/log?container=coredns&tailLines=10&previous=true"' \
	"$TEST_TMP/dnsdown.log"
fake_start dnsunready --not-ready "$dns_image" --pod-log "$dns_image=[INFO] plugin/ready: Still waiting on: \"kubernetes\""
make_profile dnsunready "$FAKE_PORT"
run vk -p dnsunready addons enable dns --timeout 3
expect_rc 8 "CoreDNS running but never ready: the addon-not-ready code"
expect_err "container coredns \(image $dns_image\): running, not ready \(0 restarts\)" "the pod's state: running, not ready"
expect_err "^  \[INFO\] plugin/ready: Still waiting on: \"kubernetes\"$" "and its log's last line (this run)"

# A pull that keeps failing for a reason that may pass gets a quarter of the wait, then fails.
fake_start flaky --image-pull-error "$dns_image=rpc error: code = Unknown desc = failed to pull and unpack image: unexpected status from GET request: 503 Service Unavailable"
make_profile flaky "$FAKE_PORT"
run vk -p flaky addons enable dns --timeout 8
expect_rc 8 "a pull failing for a quarter of the wait fails it"
expect_err "image '$dns_image' cannot be pulled .*503 Service Unavailable" "naming the image and the registry's answer"

# Enabling while the addon's namespace is still terminating waits for it to go, then applies all.
fake_start term --namespace-terminate-after 2 --kubernetes-version v1.33.0
make_profile term "$FAKE_PORT"
run vk -p term addons enable dashboard
expect_rc 0 "dashboard enabled on the terminating-namespace server"
run vk -p term addons disable dashboard --no-wait
expect_rc 0 "disabled without waiting: its namespace is left Terminating"
run vk -p term addons enable dashboard
expect_rc 0 "enabling again at once waits for the namespace, then succeeds"
expect_err "dashboard: waiting for Namespace headlamp to finish terminating" "saying what it waits for"
check "no apply was refused (no 403 in the server's log)" test "$(grep -c '"status": 403' "$TEST_TMP/term.log")" = 0
run vk -p term addons list -o json
check "and the addon is Ready, not Partly applied" python3 -c '
import json, sys
a = [x for x in json.loads(sys.argv[1]) if x["name"] == "dashboard"][0]
assert a["enabled"] is True and a["status"] == "Ready", a' "$out"
check "its Service's readiness was read from EndpointSlices, never from v1 Endpoints" python3 -c '
import json, sys
paths = [json.loads(l).get("path", "") for l in open(sys.argv[1]) if "virtkube" in json.loads(l).get("userAgent", "")]
assert any("/apis/discovery.k8s.io/v1/namespaces/headlamp/endpointslices?labelSelector=" in p for p in paths), paths
v1 = [p for p in paths if "/endpoints/" in p or p.split("?")[0].endswith("/endpoints")]
assert not v1, v1' "$TEST_TMP/term.log"
kapi GET /api/v1/namespaces/headlamp/endpoints/headlamp >/dev/null
check "a 1.33 server warns on v1 Endpoints (checked with curl), and none of virtkube's requests got a warning" python3 -c '
import json, sys
log = [json.loads(l) for l in open(sys.argv[1]) if "method" in l]
assert any("v1 Endpoints is deprecated" in w for r in log if "curl" in r["userAgent"] for w in r.get("warnings", [])), "no warning"
assert not [r for r in log if "virtkube" in r["userAgent"] and r.get("warnings")]' "$TEST_TMP/term.log"
fake_start stuck --namespace-terminate-after 300
make_profile stuck "$FAKE_PORT"
vk -p stuck addons enable dashboard >/dev/null 2>&1
vk -p stuck addons disable dashboard --no-wait >/dev/null 2>&1
before=$(wc -l <"$TEST_TMP/stuck.log")
run vk -p stuck addons enable dashboard --timeout 1
expect_rc 1 "a namespace that stays Terminating fails the enable after --timeout"
expect_err "addon 'dashboard': timed out after 1s waiting for Namespace 'headlamp' to be deleted" \
	"naming the namespace and the time"
expect_err "hint: .*kubectl get namespace headlamp -o yaml" "with a hint"
check "and applied nothing meanwhile" test "$(tail -n +"$((before + 1))" "$TEST_TMP/stuck.log" | grep -c '"method": "PATCH"')" = 0

# A profile that had the retired ingress-nginx and Kubernetes Dashboard: enabling ingress and
# dashboard removes their objects first (here written by another field manager, as an old virtkube
# or kubectl would have), then applies Traefik and Headlamp.
fake_start retired
make_profile retired "$FAKE_PORT"
old() { apply_json "$1" "$2"; }
old /api/v1/namespaces/ingress-nginx '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-nginx"}}'
old /apis/apps/v1/namespaces/ingress-nginx/deployments/ingress-nginx-controller '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "controller", "image": "registry.k8s.io/ingress-nginx/controller:v1.15.1", "ports": [{"containerPort": 80, "hostPort": 80}]}]}}}}'
old /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/ingress-nginx-admission '{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "ingress-nginx-admission"}, "webhooks": []}'
old /apis/rbac.authorization.k8s.io/v1/clusterroles/ingress-nginx '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ingress-nginx"}, "rules": []}'
old /apis/networking.k8s.io/v1/ingressclasses/nginx '{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "k8s.io/ingress-nginx"}}'
old /api/v1/namespaces/kubernetes-dashboard '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubernetes-dashboard"}}'
old /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/virtkube:kubernetes-dashboard-admin '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "virtkube:kubernetes-dashboard-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"}]}'
run vk -p retired addons enable ingress
expect_rc 0 "enabling ingress over ingress-nginx's objects exits 0"
expect_err "ingress: removed 3 objects of the addon it replaces" "saying it removed the retired controller's objects"
left=""
for p in /api/v1/namespaces/ingress-nginx /apis/apps/v1/namespaces/ingress-nginx/deployments/ingress-nginx-controller \
	/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/ingress-nginx-admission \
	/apis/rbac.authorization.k8s.io/v1/clusterroles/ingress-nginx; do
	kapi GET "$p" >/dev/null
	[ "$(cat "$TEST_TMP/.code")" = 404 ] || left="$left $p"
done
check "nothing of ingress-nginx is left (left:$left)" test -z "$left"
check "its Namespace was deleted before Traefik's first object was applied" python3 -c '
import json, sys
log = [r for r in map(json.loads, open(sys.argv[1])) if "virtkube" in r.get("userAgent", "")]
dels = [i for i, r in enumerate(log) if r.get("method") == "DELETE" and r["path"].split("?")[0] == "/api/v1/namespaces/ingress-nginx"]
applies = [i for i, r in enumerate(log) if r.get("method") == "PATCH"]
assert dels and applies and dels[0] < applies[0], (dels, applies[:3])' "$TEST_TMP/retired.log"
kapi GET /apis/networking.k8s.io/v1/ingressclasses >"$TEST_TMP/classes.json"
check "IngressClass traefik is the default; nginx now only names ingress-nginx's controller for Traefik" python3 -c '
import json, sys
c = {i["metadata"]["name"]: i for i in json.load(open(sys.argv[1]))["items"]}
default = lambda i: i["metadata"].get("annotations", {}).get("ingressclass.kubernetes.io/is-default-class")
assert default(c["traefik"]) == "true" and c["traefik"]["spec"]["controller"] == "traefik.io/ingress-controller", c
assert c["nginx"]["spec"]["controller"] == "k8s.io/ingress-nginx", c' "$TEST_TMP/classes.json"
kapi GET /apis/gateway.networking.k8s.io/v1/gatewayclasses/traefik >"$TEST_TMP/gc.json"
check "the Gateway API CRDs are served: GatewayClass traefik is there" python3 -c '
import json, sys; g = json.load(open(sys.argv[1])); assert g["spec"]["controllerName"] == "traefik.io/gateway-controller", g' "$TEST_TMP/gc.json"
kapi GET /apis/gateway.networking.k8s.io/v1/namespaces/traefik/gateways/traefik >"$TEST_TMP/gw.json"
check "and the Gateway traefik/traefik takes routes from every namespace" python3 -c '
import json, sys; g = json.load(open(sys.argv[1]))
assert g["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["from"] == "All", g' "$TEST_TMP/gw.json"
# The CRDs are waited for (Established) before the first object of theirs, which is applied after them.
check "every Gateway API CRD was applied before the GatewayClass" python3 -c '
import json, sys
log = [r for r in map(json.loads, open(sys.argv[1])) if "virtkube" in r.get("userAgent", "") and r.get("method") == "PATCH"]
paths = [r["path"].split("?")[0] for r in log]
crds = [i for i, p in enumerate(paths) if "/customresourcedefinitions/" in p and "gateway.networking.k8s.io" in p]
gc = [i for i, p in enumerate(paths) if p.endswith("/gatewayclasses/traefik")]
assert len(crds) == 10 and gc and max(crds) < gc[0], (crds, gc)' "$TEST_TMP/retired.log"
run vk -p retired addons enable dashboard
expect_rc 0 "enabling dashboard over the Kubernetes Dashboard's objects exits 0"
expect_err "dashboard: removed 2 objects of the addon it replaces" "saying it removed them"
kapi GET /api/v1/namespaces/kubernetes-dashboard >/dev/null
check "the kubernetes-dashboard Namespace is gone" test "$(cat "$TEST_TMP/.code")" = 404
kapi GET /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/virtkube:kubernetes-dashboard-admin >/dev/null
check "and so is its cluster-admin binding" test "$(cat "$TEST_TMP/.code")" = 404
run vk -p retired addons enable dashboard
expect_rc 0 "enabling it again exits 0"
check "and finds nothing more to remove" test "$(grep -c 'removed' <<<"$err")" = 0

# A profile made before storage-provisioner became local-path-provisioner: minikube's provisioner in
# kube-system and a "standard" class of its provisioner. The next enable (as the next start does)
# removes the old objects and replaces the class, whose provisioner cannot change.
old /api/v1/namespaces/kube-system/serviceaccounts/storage-provisioner '{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "storage-provisioner", "namespace": "kube-system"}}'
old /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/virtkube:storage-provisioner '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "virtkube:storage-provisioner"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:persistent-volume-provisioner"}, "subjects": [{"kind": "ServiceAccount", "name": "storage-provisioner", "namespace": "kube-system"}]}'
old /apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/virtkube:storage-provisioner '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "virtkube:storage-provisioner", "namespace": "kube-system"}, "rules": []}'
old /apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/virtkube:storage-provisioner '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "virtkube:storage-provisioner", "namespace": "kube-system"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "virtkube:storage-provisioner"}, "subjects": [{"kind": "ServiceAccount", "name": "storage-provisioner", "namespace": "kube-system"}]}'
old /apis/apps/v1/namespaces/kube-system/deployments/storage-provisioner '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "storage-provisioner", "namespace": "kube-system"}, "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "storage-provisioner"}}, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "storage-provisioner"}}, "spec": {"containers": [{"name": "storage-provisioner", "image": "gcr.io/k8s-minikube/storage-provisioner:v5"}]}}}}'
old /apis/storage.k8s.io/v1/storageclasses/standard '{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "k8s.io/minikube-hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}'
run vk -p retired addons enable storage-provisioner
expect_rc 0 "enabling storage-provisioner over minikube's provisioner exits 0"
expect_err "storage-provisioner: removed 5 objects of the addon it replaces" "saying it removed its five objects"
left=""
for p in /apis/apps/v1/namespaces/kube-system/deployments/storage-provisioner \
	/api/v1/namespaces/kube-system/serviceaccounts/storage-provisioner \
	/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/virtkube:storage-provisioner \
	/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/virtkube:storage-provisioner \
	/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/virtkube:storage-provisioner; do
	kapi GET "$p" >/dev/null
	[ "$(cat "$TEST_TMP/.code")" = 404 ] || left="$left $p"
done
check "nothing of minikube's provisioner is left (left:$left)" test -z "$left"
kapi GET /apis/apps/v1/namespaces/local-path-storage/deployments/local-path-provisioner >"$TEST_TMP/lpp.json"
check "local-path-provisioner runs in its place, at the pinned version" python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/rancher/local-path-provisioner:v0.0.37", d' \
	"$TEST_TMP/lpp.json"
run vk -p retired addons enable default-storageclass
expect_rc 0 "enabling default-storageclass over the old class exits 0"
expect_err "default-storageclass: replacing StorageClass standard: .*provisioner: Forbidden: updates to provisioner are forbidden" \
	"saying it replaces the class the server would not change"
kapi GET /apis/storage.k8s.io/v1/storageclasses/standard >"$TEST_TMP/sc.json"
check "standard is now local-path's, WaitForFirstConsumer, and still the default" python3 -c '
import json, sys; c = json.load(open(sys.argv[1]))
assert c["provisioner"] == "rancher.io/local-path" and c["volumeBindingMode"] == "WaitForFirstConsumer", c
assert c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true", c' "$TEST_TMP/sc.json"
run vk -p retired addons enable default-storageclass
expect_rc 0 "enabling it again exits 0"
check "without replacing anything" test "$(grep -c 'replacing' <<<"$err")" = 0

# The start flow's engine call (vk_addons_apply_enabled) against a fresh server: defaults plus one extra.
fake_start live
make_profile live "$FAKE_PORT"
VK_TEST_LIVE_HOME=$VIRTKUBE_HOME VK_TEST_LIVE_PROFILE=live run "${top_builddir:?run through make check}/tests/unit/test-addons"
expect_rc 0 "the start flow applies the enabled addons and waits for them"
check "and every one of its checks passed" test "$(grep -c '^ok' <<<"$out")" -ge 8 -a "$(grep -c '^not ok' <<<"$out")" = 0

# A manifest with an unknown placeholder: nothing is applied, the error names it, the file and the document.
mkdir -p "$TEST_TMP/data"
cp -r "$top_srcdir/addons" "$TEST_TMP/data/addons"
# shellcheck disable=SC2016 # a literal ${NOT_A_VAR} goes into the YAML
sed -i 's/name: system:coredns$/name: system:coredns-${NOT_A_VAR}/' "$TEST_TMP/data/addons/dns/coredns.yaml"
before=$(lines)
VIRTKUBE_DATADIR="$TEST_TMP/data" run vk addons enable dns
expect_rc 1 "an addon with an unknown \${VAR} fails"
expect_err "unknown placeholder '\\$\\{NOT_A_VAR\\}' in 'addons/dns/coredns.yaml' document [0-9]+ \(line [0-9]+\)" \
	"naming the placeholder, the file and the document"
check "and nothing was applied" test "$(paths_since "$before")" = ""

finish
