#!/bin/bash
# Every shell script in the tree passes shellcheck (guest provisioning, dev scripts, tests).
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

if ! command -v shellcheck >/dev/null; then
	echo "1..0 # SKIP shellcheck is not installed (scripts/dev/setup installs it)"
	exit 0
fi

cd "$top_srcdir" || exit 1
scripts=()
while IFS= read -r f; do
	case "$f" in build*/* | */build/* | *.git/*) continue ;; esac
	if [[ $f == *.sh ]] || head -n1 "$f" 2>/dev/null | grep -qE '^#!.*(ba)?sh'; then
		scripts+=("$f")
	fi
done < <(find scripts tests vm-images addons .ci -type f ! -name '*.py' ! -name '*.c' ! -name '*.h' \
	! -name '*.json' ! -name '*.yaml' ! -name '*.md' 2>/dev/null | sort)

check "found shell scripts to check" test "${#scripts[@]}" -gt 3
for f in "${scripts[@]}"; do
	run shellcheck -x -P SCRIPTDIR "$f"
	expect_rc 0 "shellcheck $f"
done
finish
