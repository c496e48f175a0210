#!/bin/bash
# The addon folders pass addons/check: metadata, manifests, placeholders, images and waits agree.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

run "$top_srcdir/addons/check"
expect_rc 0 "addons/check passes on every addon"
for addon in dns storage-provisioner default-storageclass dashboard ingress; do
	expect_out "^ok $addon: " "addon $addon is checked"
done

# The checker itself must catch a placeholder outside the allowed set.
cp -r "$top_srcdir/addons/dns" "$TEST_TMP/dns"
# The placeholder is meant literally, not expanded by the shell:
# shellcheck disable=SC2016
sed -i '0,/name: coredns/s//name: coredns-${NOT_ALLOWED}/' "$TEST_TMP/dns/coredns.yaml"
run "$top_srcdir/addons/check" "$TEST_TMP/dns"
expect_rc 1 "addons/check fails on a placeholder outside the allowed set"
finish
