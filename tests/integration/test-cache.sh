#!/bin/bash
# The download cache through the binary: cache list (table, JSON, states) and cache clean.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

run vk cache list
expect_rc 0 "cache list with no cache exits 0"
expect_err "the download cache is empty" "and says it is empty"

c="$VIRTKUBE_HOME/cache"
mkdir -p "$c/dl.k8s.io/release/v1.36.5/bin/linux/amd64" "$c/github.com/x/y"
head -c 3000000 /dev/zero >"$c/dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm"
sum=$(sha256sum "$c/dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm" | cut -d' ' -f1)
printf '{"sha256": "%s", "size": 3000000, "url": "https://dl.k8s.io/x"}\n' "$sum" \
	>"$c/dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm.verified"
printf 'abc' >"$c/github.com/x/y/unverified.tgz"
printf 'abcdef' >"$c/github.com/x/y/half.tgz.part"
: >"$c/github.com/x/y/half.tgz.lock"

run vk cache list
expect_rc 0 "cache list exits 0"
expect_out "^NAME +SIZE +VERIFIED" "the table has headers"
expect_out "^dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm +2.9 MiB +yes" "a verified file shows its size and yes"
expect_out "^github.com/x/y/unverified.tgz +3 B +no" "a file without a record is not verified"
expect_out "^github.com/x/y/half.tgz +6 B +partial" "an interrupted download is partial"
check "lock and record files are not listed" test "$(grep -c -E 'lock|verified$' <<<"$out")" = 0

printf '{"sha256": "%s", "size": 5}\n' "$sum" >"$c/github.com/x/y/unverified.tgz.verified"
run vk cache list -o json
expect_rc 0 "cache list -o json exits 0"
check "the JSON has name, size and verified for each file, sizes must match the record" python3 -c '
import json, sys
d = {e["name"]: e for e in json.loads(sys.argv[1])}
assert d["dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm"] == {"name": "dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm", "size": 3000000, "verified": "yes"}, d
assert d["github.com/x/y/unverified.tgz"]["verified"] == "no", d
assert d["github.com/x/y/half.tgz"]["verified"] == "partial", d
' "$out"

run vk cache list extra
expect_rc 2 "cache list refuses an argument"

run vk cache clean
expect_rc 0 "cache clean exits 0"
expect_out "removed 3 files \(2.9 MiB\)" "and says what it removed"
check "the cache directory is empty but for its lock" test "$(find "$c" -mindepth 1 ! -name .lock | wc -l)" = 0

run vk cache list
expect_err "the download cache is empty" "afterwards the cache is empty"

run vk cache clean
expect_rc 0 "cleaning an empty cache is fine"
expect_out "removed 0 files" "and removes nothing"
finish
