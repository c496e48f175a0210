#!/bin/bash
# virtkube version: the Kubernetes default and supported range from the release table, as text and JSON.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

table=$top_srcdir/vm-images/kubernetes/releases.json
want_default=$(sed -n 's/^ *"default": "\(v[0-9.]*\)".*/\1/p' "$table")
newest=$(grep -o '"kubernetes": "v[0-9.]*"' "$table" | head -1 | cut -d'"' -f4)
oldest=$(grep -o '"kubernetes": "v[0-9.]*"' "$table" | tail -1 | cut -d'"' -f4)
check "the table's default is a 1.37 patch" grep -q '^v1\.37\.' <<<"$want_default"

run vk version
expect_rc 0 "version"
expect_out "^kubernetes $want_default \(default; supported: $oldest to $newest, or 'stable', 'latest', X.Y from upstream\)$" \
	"names the default and the supported range"
run vk version -o json
expect_rc 0 "version -o json"
check "json: kubernetes.default and every supported version, newest first" python3 -c '
import json, sys
d = json.loads(sys.stdin.read())["kubernetes"]
table = json.load(open(sys.argv[1]))
sys.exit(0 if d["default"] == table["default"] and d["supported"] == [r["kubernetes"] for r in table["releases"]] else 1)
' "$table" <<<"$out"
check "three minors in the table" test "$(grep -o '"kubernetes": "v1\.[0-9]*' "$table" | sort -u | wc -l)" = 3
finish
