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
# ---- what was uploaded to libvirt hosts: the record HOME/cache/.remote.json, no network ----
mkdir -p "$c/dl.k8s.io/x"
printf 'qcow' >"$c/dl.k8s.io/x/disk.qcow2"
hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cat >"$c/.remote.json" <<EOF
{"version": 1, "volumes": {
  "sha256-$hex.qcow2": {"file": "$c/dl.k8s.io/x/disk.qcow2",
                        "uris": ["qemu+ssh://me@bigbox/system", "qemu+tcp://10.0.0.5/system"]},
  "sha256-$hex.kernel": {"file": "/elsewhere/vmlinuz", "uris": ["qemu+tcp://10.0.0.5/system"]}}}
EOF
run vk cache list
expect_rc 0 "cache list with a record of uploads exits 0"
expect_out "^NAME +SIZE +VERIFIED +REMOTE" "the files table gains a REMOTE column"
expect_out "^dl.k8s.io/x/disk.qcow2 +4 B +no +bigbox,10.0.0.5$" "naming the hosts that hold the file's volume"
expect_out "^VOLUME +FILE +REMOTE" "and a table of the uploaded volumes follows"
expect_out "^sha256-$hex.kernel +/elsewhere/vmlinuz +10.0.0.5$" "one row each: its file and its hosts"
run vk cache list -o json
check "the JSON says the hosts' URIs for the file and each volume" python3 -c '
import json, sys
d = {e["name"]: e for e in json.loads(sys.argv[1])}
assert d["dl.k8s.io/x/disk.qcow2"]["remote"] == ["qemu+ssh://me@bigbox/system", "qemu+tcp://10.0.0.5/system"], d
k = d["sha256-" + sys.argv[2] + ".kernel"]
assert k["kind"] == "volume" and k["file"] == "/elsewhere/vmlinuz" and k["remote"] == ["qemu+tcp://10.0.0.5/system"], k
' "$out" "$hex"
run vk cache list --remote qemu:///system
expect_rc 2 "cache list --remote wants another host's URI"
run vk cache clean
expect_rc 0 "cache clean with a record"
check "keeps the record: the volumes it names are on other hosts" test -f "$c/.remote.json"
printf '{"volumes": {' >"$c/.remote.json"
run vk cache list
expect_rc 0 "a corrupt record does not break cache list"
expect_err "record of uploaded volumes .* is corrupt" "which warns"
expect_err "the download cache is empty" "and takes it as empty"
finish
