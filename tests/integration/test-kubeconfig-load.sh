#!/bin/bash
# The kubeconfig under load, bounded: 30 merge/remove cycles from two engine processes, alone and beside a real kubectl rewriting the file; nothing of ours may be lost.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

if ! command -v kubectl >/dev/null; then
	echo "1..0 # SKIP the real kubectl is not installed (the load runs against it)"
	exit 0
fi
: "${top_builddir:?run through make check}"
run env CYCLES=30 KUBECONFIG_LOAD_DRIVER="$top_builddir/tests/bench/kubeconfig-load" \
	bash "$top_srcdir/tests/bench/kubeconfig-load.sh" "$top_builddir"
while IFS= read -r line; do echo "# $line"; done <<<"$out"
expect_rc 0 "30 cycles from two processes, alone and beside kubectl: the load ends with nothing of ours lost"
expect_out "^lost on our side: 0$" "and says so"
alone=$(sed -n "/^round 'alone'/,/^round /p" <<<"$out")
beside=$(sed -n "/^round 'with-kubectl'/,\$p" <<<"$out")
for p in p1 p2; do
	check "alone: $p made 31 merges and 30 removes without an error" \
		grep -q "^  $p: 31 merges, 30 removes in [0-9]* ms; errors 0;" <<<"$alone"
	check "alone: no write of $p undone by p1/p2 (gone 0, back 0)" \
		grep -q "^  $p: .*gone before our remove 0, back before our merge 0; at the end: configured$" <<<"$alone"
	check "beside kubectl: $p made its merges and removes without an error" \
		grep -q "^  $p: 31 merges, 30 removes in [0-9]* ms; errors 0;" <<<"$beside"
done
kubectl_done=$(sed -n 's/^  kubectl: \([0-9]*\) set-context done.*/\1/p' <<<"$beside")
check "kubectl set contexts in the second round ($kubectl_done)" test "${kubectl_done:-0}" -gt 0
check "every context kubectl set is there at the end" \
	grep -q "^  kubectl contexts lost (ours to lose: must be 0): 0$" <<<"$beside"
finish
