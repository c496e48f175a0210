#!/bin/bash
# Benchmark: one 1 GiB download from a local server, virtkube's fetch engine vs the curl CLI (goals: >= 0.95x curl, peak RSS <= 15 MB).
# Usage: tests/bench/download.sh [BUILD_DIR] (default ./build); env SIZE_MIB (1024), ROUNDS (5),
# OUT_DIR (where both write their copy; default a directory under /tmp). Prints its figures.
# The server is tests/fakes/httpd.py, which sends bodies with sendfile(2); its speed
# to /dev/null is measured first so it is known not to be the bottleneck.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
size_mib=${SIZE_MIB:-1024}
rounds=${ROUNDS:-5}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

make -s -C "$build" tests/bench/fetch-bench >/dev/null
tmp=$(mktemp -d /tmp/virtkube-bench-dl.XXXXXX)
out=${OUT_DIR:-$tmp/out}
mkdir -p "$tmp/www" "$out"
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$tmp" "$out/curl.bin" "$out/virtkube.bin" "$out/virtkube.bin.part"
}
trap cleanup EXIT

head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$tmp/www/big.bin"
sha=$(sha256sum "$tmp/www/big.bin" | cut -d' ' -f1)
"$py" "$src/tests/fakes/httpd.py" --root "$tmp/www" --port-file "$tmp/port" &
server=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")/big.bin"

echo "file: ${size_mib} MiB from $url; copies written to $out ($(df -T "$out" | awk 'NR == 2 {print $2}'))"
echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "server alone (curl to /dev/null): $(curl -s -o /dev/null -w '%{speed_download}' "$url" |
	awk '{printf "%.0f MiB/s", $1 / 1048576}')"

mib_s() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / s / 1048576}'; }
curl_rates=()
vk_rates=()
vk_rss=()
bytes=$((size_mib * 1024 * 1024))
for r in $(seq "$rounds"); do
	# Alternate who goes first, so the page cache and the host's noise favour neither.
	for who in curl virtkube; do
		[ $((r % 2)) = 0 ] && who=$([ "$who" = curl ] && echo virtkube || echo curl)
		rm -f "$out/$who.bin"
		if [ "$who" = curl ]; then
			t0=$(date +%s%N)
			curl -s -o "$out/curl.bin" "$url"
			t1=$(date +%s%N)
			curl_rates+=("$(mib_s "$bytes" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')")")
		else
			t0=$(date +%s%N)
			res=$(/usr/bin/time -f '%M' -o "$tmp/rss" "$build/tests/bench/fetch-bench" "$url" "$out/virtkube.bin" "$sha")
			t1=$(date +%s%N)
			vk_rates+=("$(mib_s "$bytes" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')")")
			vk_rss+=("$(tail -n1 "$tmp/rss")")
			[ "$(cut -d' ' -f1 <<<"$res")" = "$bytes" ] || { echo "virtkube fetched a wrong size: $res" >&2; exit 1; }
		fi
		rm -f "$out/$who.bin"
	done
	echo "round $r: curl ${curl_rates[-1]} MiB/s, virtkube ${vk_rates[-1]} MiB/s (sha256 verified while writing), peak RSS ${vk_rss[-1]} KiB"
done

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mc=$(median "${curl_rates[@]}")
mv=$(median "${vk_rates[@]}")
mr=$(printf '%s\n' "${vk_rss[@]}" | sort -n | tail -n1)
echo "median: curl $mc MiB/s, virtkube $mv MiB/s, ratio $(awk -v a="$mv" -v b="$mc" 'BEGIN {printf "%.2f", a / b}') (goal >= 0.95)"
echo "peak RSS of virtkube's engine: $mr KiB = $(awk -v k="$mr" 'BEGIN {printf "%.1f", k * 1024 / 1e6}') MB (goal <= 15 MB)"
echo "host load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
