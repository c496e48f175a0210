#!/bin/bash
# cache list and cache clean with container images in the cache: the image table, sizes, partial images, JSON.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
layout=$TEST_TMP/layout
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=$(command -v bash)
"$py" "$top_srcdir/tests/fakes/registry-images.py" --out "$layout" --busybox "$busybox" --layers 2 --layer-size 100000

# The cache a pull leaves: blobs by digest, tags pinned to digests.
c=$VIRTKUBE_HOME/cache
mkdir -p "$c/blobs/sha256" "$c/images"
cp "$layout"/blobs/sha256/* "$c/blobs/sha256/"
digest_of() { "$py" -c 'import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    if m["annotations"]["org.opencontainers.image.ref.name"] == sys.argv[2]: print(m["digest"])' "$layout/index.json" "$1"; }
blob_json() { "$py" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$c/blobs/sha256/${1#sha256:}"; }
multi=$(digest_of multi)
index=$(digest_of multiarch)
shared=$(digest_of shared)
# shared loses its own layer: partial
own=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["layers"][1]["digest"])' "$c/blobs/sha256/${shared#sha256:}")
rm "$c/blobs/sha256/${own#sha256:}"
printf '{"reg.example:5000/test/multi:1": "%s", "reg.example:5000/test/multiarch:1": "%s", "reg.example:5000/test/shared:1": "%s"}\n' \
	"$multi" "$index" "$shared" >"$c/images/pins.json"
# what multi weighs: manifest + config + layers
multi_size=$(blob_json "$multi" | "$py" -c 'import json, sys; m = json.load(sys.stdin); print(sum([m["config"]["size"]] + [l["size"] for l in m["layers"]]) + int(sys.argv[1]))' \
	"$(stat -c %s "$c/blobs/sha256/${multi#sha256:}")")

mkdir -p "$c/dl.k8s.io/x"
printf 'abc' >"$c/dl.k8s.io/x/file"

run vk cache list
expect_rc 0 "cache list exits 0"
expect_out "^NAME +SIZE +VERIFIED" "files first"
expect_out "^dl.k8s.io/x/file +3 B +no" "with the download"
check "the image store's files are not listed as files" test "$(grep -c -E '^(blobs|images)/' <<<"$out")" = 0
expect_out "^IMAGE +DIGEST +SIZE +COMPLETE" "then an image table"
expect_out "^reg.example:5000/test/multi:1 +${multi:0:19} +[0-9.]+ KiB +yes" "multi with its digest, size, complete"
expect_out "^reg.example:5000/test/multiarch:1 +${index:0:19} .* yes" "the index image pinned to the index"
expect_out "^reg.example:5000/test/shared:1 +${shared:0:19} +- +partial" "an image with a missing layer is partial"

run vk cache list -o json
expect_rc 0 "cache list -o json exits 0"
check "images in the JSON with kind, digest, size and state" "$py" -c '
import json, sys
d = {e["name"]: e for e in json.loads(sys.argv[1])}
m = d["reg.example:5000/test/multi:1"]
assert m == {"name": "reg.example:5000/test/multi:1", "kind": "image", "digest": sys.argv[2], "size": int(sys.argv[3]), "verified": "yes"}, m
assert d["reg.example:5000/test/shared:1"]["verified"] == "partial", d
assert d["dl.k8s.io/x/file"]["verified"] == "no", d
assert not [k for k in d if k.startswith(("blobs/", "images/"))], d
' "$out" "$multi" "$multi_size"

printf '{' >"$c/images/pins.json"
run vk cache list
expect_rc 1 "a broken pins file fails cache list"
expect_err "pins.json" "naming the file"

run vk cache clean
expect_rc 0 "cache clean exits 0"
check "the image store is gone" test ! -e "$c/blobs"
check "and the pins" test ! -e "$c/images"

finish
