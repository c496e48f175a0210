#!/bin/bash
# The addon folders pass addons/check: metadata, manifests, placeholders, images and waits agree.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

run "$top_srcdir/addons/check"
expect_rc 0 "addons/check passes on every addon"
for addon in dns storage-provisioner default-storageclass dashboard ingress metrics-server; do
	expect_out "^ok $addon: " "addon $addon is checked"
done

# The checker itself must catch a placeholder outside the allowed set.
cp -r "$top_srcdir/addons/dns" "$TEST_TMP/dns"
# The placeholder is meant literally, not expanded by the shell:
# shellcheck disable=SC2016
sed -i '0,/name: coredns/s//name: coredns-${NOT_ALLOWED}/' "$TEST_TMP/dns/coredns.yaml"
run "$top_srcdir/addons/check" "$TEST_TMP/dns"
expect_rc 1 "addons/check fails on a placeholder outside the allowed set"

# An image listed without its digest.
cp -r "$top_srcdir/addons/metrics-server" "$TEST_TMP/nodigest"
sed -i 's/@sha256:[0-9a-f]*"/"/' "$TEST_TMP/nodigest/addon.json"
sed -i 's/"name": "metrics-server"/"name": "nodigest"/' "$TEST_TMP/nodigest/addon.json"
run "$top_srcdir/addons/check" "$TEST_TMP/nodigest"
expect_rc 1 "addons/check fails on an image without a digest"
expect_err "image registry.k8s.io/metrics-server/metrics-server:v0.9.0 has no digest" "naming the image"

# A manifest image addon.json does not list.
cp -r "$top_srcdir/addons/metrics-server" "$TEST_TMP/unlisted"
sed -i 's/"name": "metrics-server"/"name": "unlisted"/' "$TEST_TMP/unlisted/addon.json"
sed -i 's|image: registry.k8s.io/metrics-server/metrics-server:v0.9.0|image: registry.k8s.io/metrics-server/metrics-server:v0.9.9|' \
	"$TEST_TMP/unlisted/metrics-server.yaml"
run "$top_srcdir/addons/check" "$TEST_TMP/unlisted"
expect_rc 1 "addons/check fails on a manifest image addon.json does not list"
expect_err "image registry.k8s.io/metrics-server/metrics-server:v0.9.9 is used but not in addon.json images" "naming it"

# An image a pod template inside a ConfigMap names (local-path-provisioner's helper pod) counts too.
cp -r "$top_srcdir/addons/storage-provisioner" "$TEST_TMP/helper"
sed -i 's/"name": "storage-provisioner"/"name": "helper"/' "$TEST_TMP/helper/addon.json"
sed -i 's|image: docker.io/library/busybox:1.37.0$|image: docker.io/library/busybox:1.36.1|' "$TEST_TMP/helper/local-path-provisioner.yaml"
run "$top_srcdir/addons/check" "$TEST_TMP/helper"
expect_rc 1 "addons/check fails on a helper pod image (in a ConfigMap) addon.json does not list"
expect_err "image docker.io/library/busybox:1.36.1 is used but not in addon.json images" "naming it"
expect_err "image docker.io/library/busybox:1.37.0@sha256:[0-9a-f]+ is listed but no manifest uses it" "and the one it replaced"

# An API version the default Kubernetes version no longer serves.
cp -r "$top_srcdir/addons/metrics-server" "$TEST_TMP/oldapi"
sed -i 's/"name": "metrics-server"/"name": "oldapi"/' "$TEST_TMP/oldapi/addon.json"
sed -i 's|^apiVersion: apiregistration.k8s.io/v1$|apiVersion: apiregistration.k8s.io/v1beta1|' "$TEST_TMP/oldapi/metrics-server.yaml"
run "$top_srcdir/addons/check" "$TEST_TMP/oldapi"
expect_rc 1 "addons/check fails on an API version the default Kubernetes version removed"
default=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["default"])' "$top_srcdir/vm-images/kubernetes/releases.json")
expect_err "APIService v1beta1.metrics.k8s.io uses apiregistration.k8s.io/v1beta1, which Kubernetes 1.22 removed \(the default version is $default\)" \
	"naming the object, the API version and the release that removed it"

# A retired object to remove that the addon itself creates would be deleted on every enable.
cp -r "$top_srcdir/addons/dashboard" "$TEST_TMP/selfremove"
sed -i 's/"name": "dashboard"/"name": "selfremove"/' "$TEST_TMP/selfremove/addon.json"
sed -i 's/"name": "kubernetes-dashboard"}$/"name": "headlamp"}/' "$TEST_TMP/selfremove/addon.json"
run "$top_srcdir/addons/check" "$TEST_TMP/selfremove"
expect_rc 1 "addons/check fails on a removes entry naming the addon's own object"
expect_err "removes entry Namespace headlamp names an object the manifests create" "naming it"
finish
