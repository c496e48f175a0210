#!/bin/bash
# status --watch against a real kube-apiserver (VIRTKUBE_E2E_RELEASE): test-watch.sh in its real-server mode.
# Skips (77) with the reason without a release or without Debian's etcd (see real-api.sh).
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/fake-api.sh"
. "$top_srcdir/tests/integration/real-api.sh"

VIRTKUBE_TEST_API=real bash "$top_srcdir/tests/integration/test-watch.sh" >"$TEST_TMP/watch.out" 2>&1
trc=$?
sed 's/^/#   /' "$TEST_TMP/watch.out"
check "test-watch.sh against the real server: exit $trc, $(grep -c '^ok' "$TEST_TMP/watch.out") ok, $(grep -c '^not ok' "$TEST_TMP/watch.out") not ok" \
	test "$trc" = 0 -a "$(grep -c '^not ok' "$TEST_TMP/watch.out")" = 0 -a "$(grep -c '^ok' "$TEST_TMP/watch.out")" -ge 35
finish
