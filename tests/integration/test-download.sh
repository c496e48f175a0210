#!/bin/bash
# Downloads through the binary: start --download-only with --mirror (directory, http), --offline, --kubernetes-version, progress output.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

# Whatever is not a 127.0.0.1 mirror goes to a closed local port, never to the internet.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset NO_COLOR
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# A mirror laid out like the upstream hosts (paths kept), with each project's checksum format.
mirror=$TEST_TMP/mirror
"$py" - "$top_srcdir" "$mirror" v1.37.1 v1.36.5 v1.36.4 v1.35.4 v1.35.9 <<'PY'
import hashlib, io, json, os, re, sys, tarfile
src, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
def put(url, data):
    path = os.path.join(out, url.split("/", 3)[3])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
def publish(a, data):
    put(a["url"], data)
    h, name = hashlib.sha256(data).hexdigest(), a["url"].rsplit("/", 1)[1]
    if a["checksum_url"].endswith("SHA256SUM"):
        s = "# %s: %d bytes\nSHA256 (%s) = %s\n" % (name, len(data), name, h)
    elif a["checksum_url"].startswith("https://dl.k8s.io/"):
        s = h
    elif a.get("checksum_name"):
        s = "%s  runc.arm64\n%s  %s\n" % ("1" * 64, h, a["checksum_name"])
    else:
        s = "%s  %s\n" % (h, name)
    put(a["checksum_url"], s.encode())
for name in ("centos-stream-10", "centos-stream-9"):
    img = json.load(open(os.path.join(src, "vm-images", name, "image.json")))
    publish(img, b"QFI\xfb" + os.urandom(70000))
table = json.load(open(os.path.join(src, "vm-images/kubernetes/releases.json")))
for rel in table["releases"]:
    if rel["kubernetes"] not in versions:
        continue
    for a in table["artifacts"]:
        e = {k: re.sub(r"\$\{(\w+)\}", lambda m: rel[m.group(1)], v) for k, v in a.items()}
        body = os.urandom(20000 + len(e["id"]) * 1000)
        if e["id"] == "crictl":
            # a real tarball: --download-only takes crictl out of it for the payload ISO
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as t:
                info = tarfile.TarInfo("crictl")
                info.size, info.mode = len(body), 0o755
                t.addfile(info, io.BytesIO(body))
            body = buf.getvalue()
        publish(e, body)
PY
check "the test mirror was built" test -d "$mirror/release/v1.37.1/bin/linux/amd64"

run vk start --no-preload-images --download-only --kubernetes-version v9.9.9 --mirror "$mirror"
expect_rc 2 "an unknown --kubernetes-version is a usage error"
expect_err "unsupported Kubernetes version 'v9.9.9'" "naming it"
expect_err "hint: supported: v1.37.1, .*v1.35.4.*, or 'stable' \(v1.37.1\)" "and listing the supported ones"

run vk start --no-preload-images --download-only --offline
expect_rc 1 "--offline with an empty cache fails"
expect_err "offline, and 8 of 8 artifacts are not in the cache: image \(https://cloud.centos.org/.*kubeadm \(https://dl.k8s.io/release/v1.37.1/" \
	"up front, listing what is missing"
check "and no profile was created" test ! -e "$VIRTKUBE_HOME/profiles"

run vk start --no-preload-images --download-only --mirror "$mirror"
expect_rc 0 "--download-only from a directory mirror succeeds"
expect_out "downloaded and verified what Kubernetes v1.37.1 needs, and the base image" "for the default version"
expect_out "^payload ISO: $VIRTKUBE_HOME/cache/payload/v1\.37\.1-[0-9a-f]{12}\.iso$" "and built the version's payload ISO"
expect_err "^downloaded kubeadm: .*sha256 verified" "not on a terminal: plain progress lines"
check "no terminal control sequences without a terminal" test "$(grep -c $'\e' <<<"$err")" = 0
run vk cache list
check "cache list shows the eight files, all verified" test "$(grep -c ' yes$' <<<"$out")" = 8
expect_out "^dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet " "under their upstream host and path"
check "no profile was created by --download-only" test ! -e "$VIRTKUBE_HOME/profiles"

run vk start --no-preload-images --download-only --offline
expect_rc 0 "then --offline succeeds"
run vk start --no-preload-images --download-only --offline --kubernetes-version 1.36.4
expect_rc 1 "--offline for a version not downloaded fails"
expect_err "4 of 8 artifacts are not in the cache: kubeadm \(https://dl.k8s.io/release/v1.36.4/" "listing only what that version lacks (image, containerd, runc, CNI are shared)"

# An http mirror on 127.0.0.1, with a request log.
"$py" "$top_srcdir/tests/fakes/httpd.py" --root "$mirror" --port-file "$TEST_TMP/port" --log "$TEST_TMP/http.log" &
server=$!
trap 'kill $server 2>/dev/null; cleanup_tmp' EXIT
for _ in $(seq 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$TEST_TMP/port")"

run vk -q start --no-preload-images --download-only --kubernetes-version 1.36.4 --mirror "$base/"
expect_rc 0 "--download-only from an http mirror succeeds"
expect_out "Kubernetes v1.36.4" "for the version asked (1.36.4 means v1.36.4)"
check "-q prints no progress" test -z "$err"
check "the binaries came from the mirror, paths kept" grep -q '"path": "/release/v1.36.4/bin/linux/amd64/kubeadm"' "$TEST_TMP/http.log"
check "their published checksums too" grep -q '"path": "/release/v1.36.4/bin/linux/amd64/kubeadm.sha256"' "$TEST_TMP/http.log"
check "with virtkube's User-Agent" grep -q '"user_agent": "virtkube/' "$TEST_TMP/http.log"
check "what was cached already (image, containerd, runc, CNI) was not fetched again" \
	test "$(grep -c -E 'qcow2|containerd-static|runc|cni-plugins' "$TEST_TMP/http.log")" = 0

rm "$mirror/release/v1.35.9/bin/linux/amd64/kubectl"
run vk start --no-preload-images --download-only --kubernetes-version v1.35.9 --mirror "$base"
expect_rc 1 "a file missing on the mirror fails"
expect_err "cannot download '$base/release/v1.35.9/bin/linux/amd64/kubectl': the server answered HTTP 404" \
	"naming the URL and the cause"
run vk cache list
expect_out "^dl.k8s.io/release/v1.35.9/bin/linux/amd64/kubeadm .* yes$" "what did arrive is kept, verified"

# The base images: CentOS Stream 10 by default (downloaded above), 9 by name.
check "the default base image is CentOS Stream 10" grep -q "cloud.centos.org/centos/10-stream/x86_64/images/CentOS-Stream-GenericCloud-10-.* yes$" \
	<<<"$(vk cache list)"
run vk -q start --download-only --no-kubernetes --image centos-stream-9 --mirror "$base"
expect_rc 0 "--image centos-stream-9 downloads that base image"
check "from its own URL" grep -q '"path": "/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-' "$TEST_TMP/http.log"
check "verified against its dated checksum file" \
	grep -q '"path": "/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-[0-9.]*x86_64.qcow2.SHA256SUM"' "$TEST_TMP/http.log"
run vk start --no-kubernetes --image centos-stream-8 --libvirt-uri test:///default
expect_rc 1 "a start with a name that is no base image and no file fails"
expect_err "image 'centos-stream-8': No such file" "naming it"

run vk start --download-only --no-kubernetes --kubernetes-version v1.35.4
expect_rc 2 "--kubernetes-version with --no-kubernetes is a usage error"
run vk start --no-preload-images --download-only --offline --mirror "$mirror"
expect_rc 2 "--offline with --mirror is a usage error"
run vk start --no-preload-images --download-only --mirror ftp://example.org/
expect_rc 2 "an ftp mirror is refused"
expect_err "invalid --mirror 'ftp://example.org/'" "naming it"

# On a terminal: bars redrawn in place with the terminal's own sequences.
if command -v script >/dev/null; then
	export VIRTKUBE_HOME=$TEST_TMP/home-tty
	TERM=xterm script -qec "$VIRTKUBE_BIN start --no-preload-images --download-only --kubernetes-version 1.36 --mirror $mirror" /dev/null \
		>"$TEST_TMP/tty.out" 2>&1
	rc=$?
	out=$(cat "$TEST_TMP/tty.out")
	expect_rc 0 "--download-only on a terminal succeeds"
	check "bars are drawn (name, bar, done)" grep -q 'kubeadm .*\[#*\] .*done, sha256 verified' "$TEST_TMP/tty.out"
	check "redrawn in place: cursor up and clear-to-end-of-line from terminfo" \
		grep -q $'\e\\[A.*\e\\[K\\|\e\\[K' "$TEST_TMP/tty.out"
	export VIRTKUBE_HOME=$TEST_TMP/home-tty2
	NO_COLOR=1 TERM=xterm script -qec "$VIRTKUBE_BIN start --no-preload-images --download-only --mirror $mirror" /dev/null \
		>"$TEST_TMP/tty2.out" 2>&1
	check "NO_COLOR gives plain lines even on a terminal" grep -q '^downloaded kubelet: ' <(tr -d '\r' <"$TEST_TMP/tty2.out")
	check "without control sequences" test "$(grep -c $'\e' "$TEST_TMP/tty2.out")" = 0
	export VIRTKUBE_HOME=$TEST_TMP/home-tty3
	TERM=xterm script -qec "$VIRTKUBE_BIN start --no-preload-images --download-only --no-progress --mirror $mirror" /dev/null \
		>"$TEST_TMP/tty3.out" 2>&1
	check "--no-progress gives plain lines on a terminal" test "$(grep -c $'\e' "$TEST_TMP/tty3.out")" = 0
else
	echo "ok - # SKIP script(1) is not installed: no pseudo-terminal for the progress-bar checks"
fi
finish
