#!/bin/bash
# libvirt, libarchive and libcurl are loaded only by the commands that use them: version runs without any of
# them, the API commands without libvirt and libarchive, and the others say what to install when one is missing.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"

needed=$(readelf -d "$VIRTKUBE_BIN" | grep NEEDED)
check "virtkube needs shared libraries (readelf works)" grep -q 'NEEDED.*libc\.so' <<<"$needed"
links_libvirt=no
grep -q libvirt <<<"$needed" && links_libvirt=yes
# The sanitizer builds link libvirt on purpose (configure.ac says why): the checks of a missing libvirt need a
# binary that starts without it, so they are skipped there.
libvirt_lazy=yes
grep -q '^#define VK_LIBVIRT_LINKED 1' "${top_builddir:?}/config.h" && libvirt_lazy=no
skip_reason="the sanitizer build links libvirt (LeakSanitizer cannot scan a dlopen'd libvirt's TLS)"
if [ $libvirt_lazy = yes ]; then
	check "and libvirt is not one of them" test "$links_libvirt" = no
else
	check "$skip_reason" test "$links_libvirt" = yes
fi
# libarchive is linked --as-needed: a call of an archive_* function that src/libarchive-lazy.c does not
# define links it again, and those functions are then the binary's undefined archive_* symbols.
unforwarded=$(nm -D --undefined-only "$VIRTKUBE_BIN" | awk '$2 ~ /^archive_/ { print $2 }' | tr '\n' ' ')
links_libarchive=no
grep -q libarchive <<<"$needed" && links_libarchive=yes
check "nor is libarchive (not forwarded by src/libarchive-lazy.c: ${unforwarded:-none})" \
	test "$links_libarchive/$unforwarded" = no/
# libcurl the same way, with src/util/curl-lazy.c.
unforwarded=$(nm -D --undefined-only "$VIRTKUBE_BIN" | awk '$2 ~ /^curl_/ { print $2 }' | tr '\n' ' ')
links_libcurl=no
grep -q libcurl <<<"$needed" && links_libcurl=yes
check "nor is libcurl (not forwarded by src/util/curl-lazy.c: ${unforwarded:-none})" \
	test "$links_libcurl/$unforwarded" = no/
# What the loader really maps: `version` speaks no HTTP, so it never pays for libcurl's tree (about 35 libraries).
loaded=$(LD_DEBUG=libs "$VIRTKUBE_BIN" version 2>&1 >/dev/null | awk '/calling init:/ { print $NF }' | tr '\n' ' ')
check "the loader runs init code of libraries for version (LD_DEBUG=libs works: $loaded)" grep -q 'libc\.so' <<<"$loaded"
check "and libcurl is not one of them" test "$(grep -c "/libcurl\\.so\\.4" <<<"$loaded")" = 0

# Directories that shadow libraries for the dynamic loader: "broken" has an empty libvirt.so.0 (where virtkube
# does not link it) and libarchive.so.13, "wrong" a real library that is not libvirt, "noarchive" only libarchive,
# "nocurl" only libcurl.
mkdir -p "$TEST_TMP/broken" "$TEST_TMP/wrong" "$TEST_TMP/noarchive" "$TEST_TMP/nocurl"
[ $libvirt_lazy = yes ] && : >"$TEST_TMP/broken/libvirt.so.0"
: >"$TEST_TMP/broken/libarchive.so.13"
: >"$TEST_TMP/noarchive/libarchive.so.13"
: >"$TEST_TMP/nocurl/libcurl.so.4"
jansson=$(ldd "$VIRTKUBE_BIN" | awk '$1 == "libjansson.so.4" { print $3 }')
cp "$jansson" "$TEST_TMP/wrong/libvirt.so.0"
broken() { LD_LIBRARY_PATH=$TEST_TMP/broken "$VIRTKUBE_BIN" "$@"; }
wrong() { LD_LIBRARY_PATH=$TEST_TMP/wrong "$VIRTKUBE_BIN" "$@"; }
noarchive() { LD_LIBRARY_PATH=$TEST_TMP/noarchive "$VIRTKUBE_BIN" "$@"; }
nocurl() { LD_LIBRARY_PATH=$TEST_TMP/nocurl "$VIRTKUBE_BIN" "$@"; }

run broken version
expect_rc 0 "version runs when libvirt and libarchive cannot be loaded"
expect_out "^libvirt [0-9]+\.[0-9]+\.[0-9]+$" "and prints the libvirt it was built with"
expect_out "^libarchive [0-9]+\.[0-9]+\.[0-9]+$" "and the libarchive"
run noarchive -v version
expect_rc 1 "version -v loads libarchive, and fails when it cannot"
expect_err "^virtkube: error: cannot load libarchive \(libarchive\.so\.13\): .*file too short" "naming it"
expect_err "^hint: install libarchive: apt-get install libarchive13" "with the package to install"
run nocurl version
expect_rc 0 "version runs when libcurl cannot be loaded"
expect_out "^libcurl [0-9]+\.[0-9]+\.[0-9]+$" "and prints the libcurl it was built with"
run nocurl -v version
expect_rc 1 "version -v loads libcurl, and fails when it cannot"
expect_err "^virtkube: error: cannot load libcurl \(libcurl\.so\.4\): .*/nocurl/libcurl\.so\.4: file too short" \
	"naming the library and the loader's reason"
expect_err "^hint: install libcurl: apt-get install libcurl4 .*dnf install libcurl" "with the package to install per distro"

img=$TEST_TMP/base.qcow2
python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(b"QFI\xfb"+struct.pack(">I",3)+b"\0"*16+struct.pack(">Q",1<<30)+b"\0"*480)' "$img"
if [ $libvirt_lazy = yes ]; then
	run broken -v version
	expect_rc 1 "version -v loads libvirt, and fails when it cannot"
	expect_err "^virtkube: error: cannot load libvirt \(libvirt\.so\.0\): .*/broken/libvirt\.so\.0: file too short" \
		"naming the library and the loader's reason"
	expect_err "^hint: install libvirt's client library: apt-get install libvirt0 .*dnf install libvirt-libs" \
		"with the package to install per distro"
	run wrong -v version
	expect_rc 1 "a library without libvirt's functions is refused"
	expect_err "cannot load libvirt \(libvirt\.so\.0\): it has no virGetVersion" "naming the first missing function"
	run broken -p nolib start --no-kubernetes --image "$img" --libvirt-uri test:///default
	expect_rc 1 "start fails when libvirt cannot be loaded"
	expect_err "cannot load libvirt \(libvirt\.so\.0\)" "saying so"
	expect_err "^hint: install libvirt's client library" "with the hint"
else
	pass "a missing libvirt # SKIP $skip_reason"
fi

run "$VIRTKUBE_BIN" -v version
expect_out "^libarchive [0-9.]+ zlib/" "version -v prints the libarchive loaded, with its compressors"
if command -v virsh >/dev/null; then
	want=$(virsh -c test:///default version 2>/dev/null | awk '/Using library: libvirt/ { print $4 }')
	expect_out "^libvirt ${want:-unknown}$" "version -v prints the libvirt loaded (virsh says ${want:-nothing})"
fi

run noarchive -p noarchive start --no-kubernetes --image "$img" --libvirt-uri test:///default
expect_rc 1 "start fails at the seed ISO when libarchive cannot be loaded"
expect_err "cannot write seed ISO '.*/seed\.iso': cannot load libarchive \(libarchive\.so\.13\)" \
	"naming the ISO and the library"
expect_err "install libarchive: apt-get install libarchive13" "and what to install"
run "$VIRTKUBE_BIN" -p noarchive start --no-kubernetes --image "$img" --libvirt-uri test:///default
expect_rc 0 "with libarchive there, the same start goes on"
check "and writes the seed ISO" test -s "$VIRTKUBE_HOME/profiles/noarchive/seed.iso"

# An API command never loads libvirt or libarchive: it works with broken ones in the way.
fake_start api
make_profile dev "$FAKE_PORT"
apply_json /api/v1/namespaces/default/services/web \
	'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}}'
run broken -p dev service web --url
expect_rc 0 "service --url runs without libvirt and libarchive"
expect_out "^http://127\.0\.0\.1:[0-9]+$" "and prints the URL"
run broken -p dev addons list
expect_rc 0 "addons list runs without them"
check "service --url loads libcurl (the check above can see it)" \
	grep -q 'calling init: .*libcurl\.so\.4' <(LD_DEBUG=libs "$VIRTKUBE_BIN" -p dev service web --url 2>&1 >/dev/null)
run nocurl -p dev service web --url
expect_rc 1 "service --url fails when libcurl cannot be loaded"
expect_err "^virtkube: error: cannot load libcurl \(libcurl\.so\.4\): .*file too short" "naming the library"
expect_err "^hint: install libcurl: apt-get install libcurl4" "with the package to install"

finish
