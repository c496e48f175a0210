#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz/ with clang and runs each for FUZZ_SECONDS; fails on any finding and prints the reproducer.
# Usage (from the build directory, as `make fuzz` calls it): run.sh SRCDIR [TARGET...]
# Environment (set by `make fuzz`): FUZZ_CC, FUZZ_DEPS_CFLAGS, FUZZ_DEPS_LIBS,
# FUZZ_SOURCES (the engine's sources); FUZZ_SECONDS (default 600) per target.
set -uo pipefail

srcdir=$(cd "${1:?usage: run.sh SRCDIR [TARGET...]}" && pwd)
shift
builddir=$(pwd)
seconds=${FUZZ_SECONDS:-600}
cc=${FUZZ_CC:-clang}
out=$builddir/fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$srcdir"/tests/fuzz/fuzz-*.c; do
		t=${f##*/fuzz-}
		[ "$t" = util.c ] || targets+=("${t%.c}")
	done
fi

# shellcheck disable=SC2206 # the flags are word lists from configure
deps_cflags=(${FUZZ_DEPS_CFLAGS:-})
# shellcheck disable=SC2206
deps_libs=(${FUZZ_DEPS_LIBS:-})
common=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
	-include "$builddir/config.h" -I"$srcdir/src" -I"$srcdir/cli" -I"$builddir"
	-DPKGDATADIR="\"$srcdir\"" "${deps_cflags[@]}")
sanitize=fuzzer-no-link,address,undefined
engine_flags=("-fsanitize=$sanitize" "${common[@]}")
mkdir -p "$out/obj" "$out/work" "$out/findings"

# The engine, compiled again by clang with coverage: a source is rebuilt when
# it or any header under src/ is newer than its object.
objects=()
newest_header=$(find "$srcdir/src" -name '*.h' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
for src in ${FUZZ_SOURCES:-}; do
	case "$src" in *.c) ;; *) continue ;; esac
	obj=$out/obj/$(echo "$src" | tr / _).o
	objects+=("$obj")
	if [ ! -f "$obj" ] || [ "$srcdir/$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
		echo "  FUZZCC   $src"
		"$cc" "${engine_flags[@]}" -c "$srcdir/$src" -o "$obj" || exit 1
	fi
done
[ ${#objects[@]} -gt 0 ] || { echo "fuzz: FUZZ_SOURCES is empty: run me through 'make fuzz'" >&2; exit 1; }

status=0
for t in "${targets[@]}"; do
	bin=$out/fuzz-$t
	corpus=$srcdir/tests/fuzz/corpus/$t
	[ -d "$corpus" ] || { echo "fuzz: no corpus $corpus" >&2; exit 1; }
	echo "  FUZZLD   fuzz-$t"
	"$cc" -fsanitize=fuzzer,address,undefined "${common[@]}" -o "$bin" "$srcdir/tests/fuzz/fuzz-$t.c" \
		"$srcdir/tests/fuzz/fuzz-util.c" "${objects[@]}" "${deps_libs[@]}" || exit 1
	# New inputs go to the work directory, never into the tree's corpus.
	mkdir -p "$out/work/$t"
	rm -f "$out/findings/$t-"*
	dict=()
	[ -f "$srcdir/tests/fuzz/$t.dict" ] && dict=(-dict="$srcdir/tests/fuzz/$t.dict")
	log=$out/fuzz-$t.log
	echo "== fuzz-$t for ${seconds}s (log: $log)"
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
		"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
		-artifact_prefix="$out/findings/$t-" "${dict[@]}" "$out/work/$t" "$corpus" >"$log" 2>&1
	rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE' "$log" | sed 's/^/   /'
	findings=("$out/findings/$t-"*)
	if [ $rc -ne 0 ] || [ -e "${findings[0]}" ]; then
		status=1
		grep -E 'fuzz oracle failed|ERROR: |SUMMARY: |runtime error' "$log" | head -5 | sed 's/^/   /'
		for f in "${findings[@]}"; do
			[ -e "$f" ] || continue
			echo "FINDING fuzz-$t: $f"
			echo "   reproduce: $bin $f"
			echo "   then copy it to tests/fuzz/corpus/$t/regress-NAME and add a unit test"
		done
		[ -e "${findings[0]}" ] || echo "FINDING fuzz-$t: exit status $rc without a reproducer; see $log"
	fi
done
exit $status
