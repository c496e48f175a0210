#!/bin/bash
# Benchmark: kubeconfig merge/remove cycles from two processes at once, alone and while the real kubectl rewrites the file with `config set-context` in a loop; what each side lost, and our time per write against kubectl's.
# Usage: tests/bench/kubeconfig-load.sh [BUILD_DIR] (default: ./build). CYCLES (default 200) cycles per
# process, PAUSE_MS (default 20) after each of their writes; KUBECONFIG_LOAD_DRIVER names a built driver
# (else it is built here).
# Two rounds on a fresh kubeconfig each, holding one context of the user's (user-own):
#   alone:        p1 and p2 (tests/bench/kubeconfig-load, the engine's vk_kubeconfig_merge/remove);
#   with kubectl: the same, while kubectl sets a new context k-N in a loop until both are done.
# "gone" counts our entry missing when we came to remove it, "back" one present when we came to merge it:
# writes of ours someone else undid. Exit 0 when nothing was lost on our side: no error of ours, every
# context kubectl set is there at the end, and alone no gone/back and both entries there at the end.
# kubectl's own read-before-lock window (it reads the file before it takes PATH.lock, then writes what it
# read) may undo writes of ours in the second round: those are counted and printed, not failed.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
cycles=${CYCLES:-200}
pause_ms=${PAUSE_MS:-20}
if ! command -v kubectl >/dev/null; then
	echo "SKIP: the real kubectl is not installed (the load is measured against it)"
	exit 77
fi
driver=${KUBECONFIG_LOAD_DRIVER:-}
if [[ -z $driver ]]; then
	make -s -C "$build" tests/bench/kubeconfig-load >/dev/null || exit 1
	driver=$build/tests/bench/kubeconfig-load
fi
tmp=$(mktemp -d /tmp/virtkube-kcload.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ours_lost=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }
field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1"; }

# kubectl_loop KUBECONFIG LABEL: sets context k-0, k-1, ... until $tmp/stop exists and one was set; the
# ones kubectl said it set go to LABEL.kubectl-ok. kubectl refuses to write while PATH.lock exists (it does
# not wait): a refused one (LABEL.kubectl-failed, why in LABEL.kubectl-err) is tried again, as a user would.
kubectl_loop() {
	local kc=$1 label=$2 i=0 t0
	t0=$(now_ms)
	while [[ ! -e $tmp/stop || $i == 0 ]]; do
		if kubectl --kubeconfig "$kc" config set-context "k-$i" --cluster="kc-$i" --user="ku-$i" \
			>/dev/null 2>>"$tmp/$label.kubectl-err"; then
			echo "k-$i" >>"$tmp/$label.kubectl-ok"
			i=$((i + 1))
		else
			echo "k-$i" >>"$tmp/$label.kubectl-failed"
		fi
	done
	echo "$(($(now_ms) - t0))" >"$tmp/$label.kubectl-ms"
}

# round LABEL yes|no: one round on a fresh kubeconfig; prints its figures and adds to ours_lost.
round() {
	local label=$1 with_kubectl=$2 kc=$tmp/$1.config kpid="" pids=() p rc final missing n_ok n_failed lost_here=0
	kubectl --kubeconfig "$kc" config set-context user-own --cluster=user-cluster --user=user-user >/dev/null
	kubectl --kubeconfig "$kc" config use-context user-own >/dev/null
	: >"$tmp/$label.kubectl-ok"
	: >"$tmp/$label.kubectl-failed"
	rm -f "$tmp/stop"
	if [[ $with_kubectl == yes ]]; then
		kubectl_loop "$kc" "$label" &
		kpid=$!
	fi
	for p in p1 p2; do
		"$driver" cycles "$kc" "$tmp/home-$p" "$p" "$cycles" "$pause_ms" >"$tmp/$label.$p" 2>"$tmp/$label.$p.err" &
		pids+=($!)
	done
	rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	touch "$tmp/stop"
	[[ -n $kpid ]] && wait "$kpid"

	echo "round '$label' ($cycles cycles per process, $pause_ms ms after each write$([[ $with_kubectl == yes ]] && echo ", kubectl set-context in a loop")):"
	for p in p1 p2; do
		final=$("$driver" check "$kc" "$tmp/home-$p" "$p" 0 | cut -d' ' -f2- | tr '[:upper:]' '[:lower:]')
		echo "  $p: $(field "$tmp/$label.$p" merges) merges, $(field "$tmp/$label.$p" removes) removes in" \
			"$(field "$tmp/$label.$p" ms) ms; errors $(field "$tmp/$label.$p" errors);" \
			"gone before our remove $(field "$tmp/$label.$p" gone), back before our merge $(field "$tmp/$label.$p" back);" \
			"at the end: $final"
		sed 's/^/    /' "$tmp/$label.$p.err" | head -n 5
		lost_here=$((lost_here + $(field "$tmp/$label.$p" errors)))
		if [[ $with_kubectl == no ]]; then
			lost_here=$((lost_here + $(field "$tmp/$label.$p" gone) + $(field "$tmp/$label.$p" back)))
			[[ $final == configured ]] || lost_here=$((lost_here + 1))
		fi
	done
	[[ $rc == 0 ]] || lost_here=$((lost_here + 1))
	if ! kubectl --kubeconfig "$kc" config get-contexts -o name >"$tmp/$label.contexts" 2>"$tmp/$label.view-err"; then
		echo "  kubectl cannot read the file at the end: $(cat "$tmp/$label.view-err")"
		lost_here=$((lost_here + 1))
	fi
	missing=$( (echo user-own; cat "$tmp/$label.kubectl-ok") | grep -vxF -f "$tmp/$label.contexts" | tr '\n' ' ')
	n_ok=$(wc -l <"$tmp/$label.kubectl-ok")
	n_failed=$(wc -l <"$tmp/$label.kubectl-failed")
	[[ -z $missing ]] || lost_here=$((lost_here + $(wc -w <<<"$missing")))
	if [[ $with_kubectl == yes ]]; then
		echo "  kubectl: $n_ok set-context done, $n_failed refused (and tried again) while our lock was held" \
			"$(sed -n '1s/^/(/; 1s/$/)/p' "$tmp/$label.kubectl-err"), in $(cat "$tmp/$label.kubectl-ms") ms"
	fi
	echo "  kubectl contexts lost (ours to lose: must be 0): $(wc -w <<<"$missing")${missing:+ ($missing)}"
	echo "  lost on our side in this round: $lost_here"
	ours_lost=$((ours_lost + lost_here))
}

echo "load average before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
round alone no
round with-kubectl yes
# Time per write: ours (merge or remove, two processes, alone, pauses left out) against kubectl's set-context.
ours_ops=$(($(field "$tmp/alone.p1" merges) + $(field "$tmp/alone.p1" removes) + $(field "$tmp/alone.p2" merges) + $(field "$tmp/alone.p2" removes)))
ours_ms=$(($(field "$tmp/alone.p1" ms) + $(field "$tmp/alone.p2" ms) - (ours_ops - 2) * pause_ms))
k_ops=$(($(wc -l <"$tmp/with-kubectl.kubectl-ok") + $(wc -l <"$tmp/with-kubectl.kubectl-failed")))
k_ms=$(cat "$tmp/with-kubectl.kubectl-ms")
if ((ours_ops > 0 && k_ops > 0)); then
	awk -v a="$ours_ms" -v n="$ours_ops" -v b="$k_ms" -v m="$k_ops" 'BEGIN {
		printf "per write: ours %.1f ms (a merge or remove, two at once), kubectl %.1f ms (a set-context process); ratio ours/kubectl %.2f\n",
			a / n, b / m, (a / n) / (b / m) }'
fi
echo "load average after: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "lost on our side: $ours_lost"
[[ $ours_lost == 0 ]]
