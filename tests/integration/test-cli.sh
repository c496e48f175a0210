#!/bin/bash
# The command line: help, version, completion, unknown commands and options, exit codes.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

run vk --help
expect_rc 0 "--help exits 0"
expect_out "profile list" "--help lists profile list"
expect_out "^  version" "--help lists version"
expect_out "--profile NAME" "--help lists the global options"

run vk
expect_rc 2 "no command is a usage error"
expect_out "Usage: virtkube" "no command prints the usage"

run vk help version
expect_rc 0 "help COMMAND exits 0"
expect_out "Usage: virtkube version" "help COMMAND shows that command's usage"

run vk profile list --help
expect_rc 0 "a command's --help exits 0"
expect_out "--output FORMAT" "a command's --help lists its options"
expect_out "table, json" "and the choices of an option"

run vk version
expect_rc 0 "version exits 0"
expect_out "^virtkube [0-9]+\.[0-9]+\.[0-9]+$" "version prints virtkube's version"
expect_out "^libvirt [0-9]+\.[0-9]+\.[0-9]+$" "version prints the libvirt version"
expect_out "^libcurl [0-9]" "version prints the libcurl version"
expect_out "^libarchive [0-9]" "version prints the libarchive version"

run vk --version
expect_rc 0 "--version exits 0"
expect_out "^virtkube " "--version prints the version"

run vk version -o json
expect_rc 0 "version -o json exits 0"
check "version -o json is valid JSON with the libraries" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["virtkube"] and d["libraries"]["libvirt"]' "$out"

run vk strat
expect_rc 2 "an unknown command exits 2"
expect_err "unknown command 'strat'" "and names the command"
expect_err "hint: " "and gives a hint"

run vk versoin
expect_err "did you mean 'virtkube version'" "a near miss gets a suggestion"

run vk frobnicate
expect_err "run 'virtkube help'" "an unrelated word points at help"
check "the unknown-command error is one line plus a hint" test "$(wc -l <<<"$err")" -eq 2

run vk profile list --ouptut json
expect_rc 2 "an unknown option exits 2"
expect_err "unknown option '--ouptut'" "and names the option"
expect_err "did you mean '--output'" "and suggests the close one"

run vk profile list -o yaml
expect_rc 2 "a value outside an option's choices exits 2"
expect_err "expected one of table, json" "and lists the choices"

run vk profile list -o
expect_rc 2 "an option missing its value exits 2"
expect_err "needs a value" "and says so"

run vk version extra
expect_rc 2 "an unexpected argument exits 2"
expect_err "unexpected argument 'extra'" "and names it"

run vk profile
expect_rc 2 "a command group without its subcommand exits 2"

run vk completion bash
expect_rc 0 "completion bash exits 0"
check "the completion script is valid bash" bash -n <(printf '%s\n' "$out")
expect_out "complete -F _virtkube virtkube" "the completion script registers itself"
expect_out "profile\) COMPREPLY=\(\\\$\(compgen -W \" list\"" "completion offers profile's subcommands"

# The completion script, loaded into bash, completes commands and options from the table.
completion_file="$TEST_TMP/completion.bash"
printf '%s\n' "$out" >"$completion_file"
run bash -c '. "$1"; COMP_WORDS=(virtkube vers); COMP_CWORD=1; _virtkube; echo "${COMPREPLY[*]}"' _ "$completion_file"
expect_out "^version$" "completion completes a command name"
run bash -c '. "$1"; COMP_WORDS=(virtkube profile list --o); COMP_CWORD=3; _virtkube; echo "${COMPREPLY[*]}"' _ "$completion_file"
expect_out "--output" "completion completes a command's option"
run bash -c '. "$1"; COMP_WORDS=(virtkube profile list -o ""); COMP_CWORD=4; _virtkube; echo "${COMPREPLY[*]}"' _ "$completion_file"
expect_out "^table json$" "completion offers an option's choices"

run vk completion zsh
expect_rc 2 "completion for another shell is a usage error"

finish
