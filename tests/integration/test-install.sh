#!/bin/bash
# make install (into a DESTDIR): the binary, its manual page, the completion, and the data an installed virtkube reads (addons, artifact tables, guest scripts).
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

dest=$TEST_TMP/dest
run make -s -C "${top_builddir:?}" install DESTDIR="$dest"
expect_rc 0 "make install DESTDIR=... succeeds"
bin=$(find "$dest" -path '*/bin/virtkube' -type f)
man=$(find "$dest" -path '*/man1/virtkube.1' -type f)
data=$(find "$dest" -path '*/share/virtkube' -type d)
check "the binary is installed" test -x "$bin"
check "the manual page is installed" test -s "$man"
check "the bash completion is installed" test -n "$(find "$dest" -path '*/completions/virtkube' -type f)"
check "the data directory is installed" test -d "$data"
for f in vm-images/kubernetes/releases.json vm-images/centos-stream-10/image.json vm-images/centos-stream-9/image.json scripts/guest/provision; do
	check "data: $f" test -s "$data/$f"
done

# The installed binary with the installed data only (not the source tree).
export VIRTKUBE_DATADIR=$data
# (no profile exists: the list is printed, and the exit code says the cluster is not there, as status does)
run "$bin" addons list
expect_rc 1 "addons list reads the installed addons, and exits 1 with no cluster"
for a in dns storage-provisioner default-storageclass dashboard ingress; do
	expect_out "^$a " "addon $a is installed"
done
run "$bin" version
expect_out "^kubernetes v1\.[0-9]+\.[0-9]+ \(default" "version reads the installed release table"
if command -v man >/dev/null; then
	run env MANPATH="$(dirname "$(dirname "$man")")" MANWIDTH=80 man virtkube
	expect_rc 0 "man virtkube finds the installed page"
	expect_out "doctor" "and it lists doctor"
fi
finish
