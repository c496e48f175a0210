#!/bin/bash
# The engine's layering holds: each src/ subsystem includes only itself and the folders below it, util/ nothing
# of ours above it, no engine file includes a cli/ header, no two modules include each other (directly or
# round a longer circle), and each folder's README.md names exactly what it may include.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"
cd "$top_srcdir/src" || exit 1

# The subsystems, lowest first: a folder may include the ones before it. docs/ARCHITECTURE.md draws the same.
layers=(util profile vm artifacts kube cluster start)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

check "every folder under src/ is a known subsystem" \
	test -z "$(find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | while read -r d; do
		[[ -n ${rank[$d]:-} ]] || echo "$d"; done)"

bad_up=() bare=() edges=()
while IFS= read -r file; do
	sub=${file%%/*}
	module=${file%.*}
	module=${module%%-*}
	while IFS= read -r inc; do
		if [[ $inc != */* ]]; then
			bare+=("$file: \"$inc\"")
			continue
		fi
		to=${inc%%/*}
		if [[ -z ${rank[$to]:-} ]]; then
			bare+=("$file: \"$inc\" (not an engine folder)")
		elif ((rank[$to] > rank[$sub])); then
			bad_up+=("$file ($sub) includes $inc ($to is above it)")
		fi
		to_module=${inc%.h}
		to_module=${to_module%%-*}
		[[ $to_module != "$module" ]] && edges+=("$module $to_module")
	done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$file")
done < <(find . -name '*.[ch]' -printf '%P\n' | sort)

check "engine includes name their folder (\"vm/machine.h\"), never a cli/ header" test ${#bare[@]} -eq 0
[[ ${#bare[@]} -eq 0 ]] || printf '#   %s\n' "${bare[@]}"
check "no subsystem includes one above it (order: ${layers[*]})" test ${#bad_up[@]} -eq 0
[[ ${#bad_up[@]} -eq 0 ]] || printf '#   %s\n' "${bad_up[@]}"

# tsort finds a circle among the modules' include edges (A.c or A.h including B.h is A -> B; a module is a
# file name up to its first '-', so start-steps.h is start's and step-boot.c is one of the steps).
run tsort <<<"$(printf '%s\n' "${edges[@]}")"
out=""
expect_rc 0 "no two modules include each other, directly or round a circle"
[[ $rc -eq 0 ]] || printf '#   %s\n' "$err"
check "the include graph is not empty (the check reads the files)" test ${#edges[@]} -gt 50

for i in "${!layers[@]}"; do
	sub=${layers[$i]}
	allowed=""
	for ((j = 0; j < i; j++)); do allowed+="${allowed:+, }${layers[$j]}"; done
	want="May include: ${allowed:-nothing of ours}"
	check "src/$sub/README.md says '$want'" grep -qxF "$want" "$sub/README.md"
done
finish
