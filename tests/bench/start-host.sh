#!/bin/bash
# Benchmark: the host side of a Kubernetes `start` with everything cached (goal: <= 0.3 s).
# Runs against libvirt's test:///default driver (no guest, so no waiting at all): cache lookup,
# PKI, kubeadm config, seed ISO, payload ISO, network/disk/domain define, kubeconfig merge.
# The cache holds files of the real artifacts' sizes (zeros), so the payload ISO costs what it would.
# Prints two cases: "warm", a new profile of a version whose payload ISO is already in the cache
# (the normal first start: every profile after the version's first), and "cold", the one-time
# build of that version's payload ISO by its first profile.
# Usage: tests/bench/start-host.sh [BUILD_DIR] (default: ./build); SMALL=1 uses 4 KiB files instead;
# WARM=N and COLD=N set the number of runs (default 5 and 2).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
version=v1.35.4
py=/usr/bin/python3
[ -x "$py" ] || py=python3

make -s -C "$build" virtkube >/dev/null
tmp=$(mktemp -d /tmp/virtkube-bench-start.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VIRTKUBE_HOME=$tmp/home KUBECONFIG=$tmp/kubeconfig HOME=$tmp
# Nothing here may reach the internet: proxies point at a closed local port.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE

"$py" -c 'import struct,sys; open(sys.argv[1],"wb").write(b"QFI\xfb"+struct.pack(">I",3)+b"\0"*16+struct.pack(">Q",1<<30)+b"\0"*480)' "$tmp/base.qcow2"
# Approximate sizes of the v1.35 release files (MiB); SMALL=1: mkmirror's few-KiB files.
sizes=()
if [ "${SMALL:-0}" != 1 ]; then
	for s in kubeadm=72 kubelet=78 kubectl=57 containerd=37 runc=11 cni-plugins=50 crictl=19; do sizes+=(--size "$s"); done
fi
"$py" "$src/tests/fakes/mkmirror.py" "$src" "$tmp/mirror" "$version" "${sizes[@]}"
"$build/virtkube" -q start --download-only --image "$tmp/base.qcow2" --kubernetes-version "$version" --mirror "$tmp/mirror" --no-progress >/dev/null

# start_one PROFILE: one start of a new profile; sets wall_ms, cpu_ms, timing, built, seed_kib, payload_mib.
start_one() {
	local p=$1 t0 t1 c0 c1 iso
	t0=$(date +%s%N)
	c0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
	"$build/virtkube" -v -p "$p" start --offline --kubernetes-version "$version" --image "$tmp/base.qcow2" \
		--libvirt-uri test:///default --network-mode isolated --cpus 1 --memory 512 >/dev/null 2>"$tmp/err"
	t1=$(date +%s%N)
	c1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
	wall_ms=$(((t1 - t0) / 1000000))
	cpu_ms=$(((c1 - c0) * 1000 / $(getconf CLK_TCK)))
	timing=$(grep -o 'host-side [0-9.]* s' "$tmp/err" || true)
	built=$(grep -o 'payload ISO built in [0-9.]* s' "$tmp/err" || true)
	seed_kib=$(($(stat -c %s "$VIRTKUBE_HOME/profiles/$p/seed.iso") >> 10))
	iso=$(sed -n 's/.*"payload_iso": "\(.*\)".*/\1/p' "$VIRTKUBE_HOME/profiles/$p/config.json")
	payload_mib=$(($(stat -c %s "$iso") >> 20))
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; downloads: $(du -sh "$VIRTKUBE_HOME/cache" | cut -f1) in the cache"

: >"$tmp/cold"
for i in $(seq 1 "${COLD:-2}"); do
	rm -rf "$VIRTKUBE_HOME/cache/payload"
	start_one "cold$i"
	echo "cold $i (first profile of the version: builds the payload ISO): wall $wall_ms ms, CPU $cpu_ms ms;" \
		"${built:-payload ISO built in ? s}; the pipeline's ${timing:-host-side ?} (steps before boot, downloads and payload left out); seed $seed_kib KiB, payload ISO $payload_mib MiB"
	echo "$wall_ms" >>"$tmp/cold"
done

: >"$tmp/warm"
for i in $(seq 1 "${WARM:-5}"); do
	start_one "warm$i"
	if [ -n "$built" ]; then
		echo "warm $i: the payload ISO was built again, which a warm start must not do" >&2
		exit 1
	fi
	echo "warm $i (new profile, payload ISO cached): wall $wall_ms ms, CPU $cpu_ms ms;" \
		"the pipeline's ${timing:-host-side ?} (steps before boot, downloads and payload left out); seed $seed_kib KiB"
	echo "$wall_ms" >>"$tmp/warm"
done

echo "warm: median wall $(median <"$tmp/warm") ms over ${WARM:-5} starts (goal: <= 300 ms host-side;" \
	"there is no guest here: the whole run is host-side)"
echo "cold: median wall $(median <"$tmp/cold") ms over ${COLD:-2} starts (once per Kubernetes version and input change)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
