#!/bin/bash
# The virtkube(1) manual page: generated from the command table, renders without warnings, names every command and option.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

page=${top_builddir:?}/man/virtkube.1
check "the build generated man/virtkube.1" test -s "$page"
run vk help --man
expect_rc 0 "help --man"
check "the installed page is what the binary prints now" cmp -s "$page" <(vk help --man)
expect_out '^\.TH VIRTKUBE 1 ' "a roff page for section 1"
run vk help --man start
expect_rc 2 "help --man takes no command"

if command -v groff >/dev/null; then
	run groff -man -ww -z "$page"
	expect_rc 0 "groff renders it"
	if [ -z "$err" ]; then pass "without a warning"; else fail "without a warning" "groff: $err"; fi
	run groff -man -Tutf8 -P-c "$page"
	rendered=$out
elif command -v man >/dev/null; then
	run env MANWIDTH=100 man -l "$page"
	expect_rc 0 "man -l renders it"
	rendered=$out
else
	echo "1..0 # SKIP neither groff nor man is installed (scripts/dev/setup installs groff-base and man-db)"
	exit 0
fi
# groff may embolden with backspaces: compare on plain text.
rendered=${rendered//?$'\b'/}
check "the page has a NAME section" grep -q "^NAME" <<<"$rendered"

# Every command of `virtkube help` has its own subsection, listing each of its long options.
while read -r cmd; do
	read -ra words <<<"$cmd"
	check "the page has a subsection for '$cmd'" grep -qE -- "^ {3}$cmd( |\$)" <<<"$rendered"
	section=$(sed -n "/^ \{3\}$cmd\( \|\$\)/,/^ \{3\}[a-z]/p" <<<"$rendered")
	missing=""
	for o in $(vk "${words[@]}" --help 2>/dev/null | sed -n '/^Options:/,/^$/s/^ *\(-., \)\{0,1\}\(--[a-z-]*\).*/\2/p'); do
		grep -qF -- "$o" <<<"$section" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then pass "'$cmd': every option is listed"; else fail "'$cmd': every option is listed" "missing:$missing"; fi
done < <(vk help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\( [a-z][a-z-]*\)\{0,1\}\)  .*/\1/p')
check "commands were found in 'virtkube help'" test "$tap_n" -gt 40
for section in SYNOPSIS COMMANDS "GLOBAL OPTIONS" ENVIRONMENT "EXIT STATUS" FILES; do
	check "section $section" grep -q "^$section" <<<"$rendered"
done
check "it documents NO_COLOR" grep -q "NO_COLOR" <<<"$rendered"
finish
