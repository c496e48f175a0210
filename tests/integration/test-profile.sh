#!/bin/bash
# Profiles through the binary: profile list (table and JSON), bad names, broken configs, read-only home.
. "${top_srcdir:?run through make check}/tests/integration/lib.sh"

run vk profile list
expect_rc 0 "profile list with no profiles exits 0"
expect_err "no profiles yet" "and says there are none"

run vk profile list -o json
expect_rc 0 "profile list -o json with no profiles exits 0"
check "and prints an empty JSON array" python3 -c 'import json,sys; assert json.loads(sys.argv[1]) == []' "$out"

mkdir -p "$VIRTKUBE_HOME/profiles/dev" "$VIRTKUBE_HOME/profiles/other"
printf '{"schema": 1, "name": "dev", "state": "Running", "libvirt_uri": "qemu:///system"}\n' \
	>"$VIRTKUBE_HOME/profiles/dev/config.json"
printf '{"schema": 1, "name": "other", "state": "Stopped", "libvirt_uri": "test:///default"}\n' \
	>"$VIRTKUBE_HOME/profiles/other/config.json"

run vk profile list
expect_rc 0 "profile list exits 0"
expect_out "^PROFILE +STATE +DRIVER URI" "the table has headers"
expect_out "^dev +Running +qemu:///system" "dev is listed with its state and URI"
expect_out "^other +Stopped +test:///default" "other is listed with its state and URI"

run vk -p dev profile list -o json
expect_rc 0 "profile list -o json exits 0"
check "the JSON lists both profiles and marks the current one" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert [p["name"] for p in d] == ["dev", "other"], d
assert d[0]["state"] == "Running" and d[0]["current"] is True and d[1]["current"] is False, d
assert d[1]["libvirt_uri"] == "test:///default", d' "$out"

# A truncated config is reported with its path, the others still listed, and the file kept.
printf '{"schema": 1, "na' >"$VIRTKUBE_HOME/profiles/other/config.json"
run vk profile list
expect_rc 1 "a broken profile makes profile list exit 1"
expect_err "profiles/other/config.json' line 1" "the error names the file and the line"
expect_out "^dev +Running" "the good profile is still listed"
expect_out "^other +Broken" "the broken one is marked"
check "the truncated file is left untouched" test "$(cat "$VIRTKUBE_HOME/profiles/other/config.json")" = '{"schema": 1, "na'

# A config.json that is a directory.
rm -f "$VIRTKUBE_HOME/profiles/other/config.json"
mkdir "$VIRTKUBE_HOME/profiles/other/config.json"
run vk profile list
expect_err "is a directory" "a config.json that is a directory is reported as such"
check "the directory is left in place" test -d "$VIRTKUBE_HOME/profiles/other/config.json"

# A config written by a newer virtkube.
rm -rf "$VIRTKUBE_HOME/profiles/other/config.json"
printf '{"schema": 7, "name": "other"}\n' >"$VIRTKUBE_HOME/profiles/other/config.json"
run vk profile list
expect_err "newer virtkube \(schema 7" "a newer schema is refused with its version"

# $VIRTKUBE_HOME on a path that cannot be created.
run env VIRTKUBE_HOME=/proc/virtkube-home "$VIRTKUBE_BIN" profile list
expect_rc 0 "listing a home that does not exist is an empty list, not an error"

finish
