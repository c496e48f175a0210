#!/bin/bash
# Benchmark: host folders (virtiofs, `--mount`) against the guest's own disk and against 9p over the same folder,
# on a real libvirtd + qemu (TCG) in a netns with the debian-test guest. In the guest, as root: create 10,000 small
# files, read them back (caches dropped), write one 256 MiB file (fsync) and read it back (caches dropped). Prints
# each figure and its ratio to the guest's disk (higher is better). Goal: reads >= 0.5x the guest's disk.
# Usage: tests/bench/mounts.sh   (root; by hand, not in CI; VIRTKUBE_BIN defaults to build/virtkube)
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_setup vkbench-mounts
mkdir -p "$WORK/shared"
chmod 0777 "$WORK/shared" # 9p: qemu itself (libvirt-qemu) writes there

vk start --no-kubernetes --accel "$E2E_ACCEL" --network-mode isolated --image "$image_json" --cpus 2 --memory 2048 \
    --mount "$WORK/shared:/mnt/virtiofs" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }

# 9p over the same folder as the peer (minikube's mount), where this qemu has it: added to the
# stopped domain's definition, mounted by hand after the boot.
p9=0 p9_why="not offered by this qemu"
if qemu-system-x86_64 -device help 2>/dev/null | grep -q '"virtio-9p-pci"'; then
    vk stop >/dev/null 2>&1
    cat >"$WORK/9p.xml" <<EOF
<filesystem type='mount' accessmode='passthrough'>
  <source dir='$WORK/shared'/>
  <target dir='bench9p'/>
</filesystem>
EOF
    e2e_virsh attach-device "$PROFILE" "$WORK/9p.xml" --config >/dev/null && p9=1
    vk start >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    p9_why="the guest could not mount it (see the mount error above)"
    vk ssh -- 'sudo mkdir -p /mnt/9p && sudo mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 bench9p /mnt/9p' || p9=0
fi

# One run in DIR: "create read write readback" seconds.
# shellcheck disable=SC2016 # expanded in the guest
script='d=$1/bench.$$; mkdir -p "$d/small"; cd "$d" || exit 1
t() { echo "${EPOCHREALTIME/,/.}"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
a=$(t); for i in {1..10000}; do printf "file %s\n" "$i" >"small/f$i"; done; sync; b=$(t)
drop; c=$(t); for f in small/*; do read -r _ <"$f"; done; e=$(t)
g=$(t); dd if=/dev/zero of=big bs=1M count=256 conv=fsync status=none; h=$(t)
drop; k=$(t); dd if=big of=/dev/null bs=1M status=none; l=$(t)
cd / && rm -rf "$d"
awk -v a="$a" -v b="$b" -v c="$c" -v e="$e" -v g="$g" -v h="$h" -v k="$k" -v l="$l" \
    "BEGIN { printf \"%.2f %.2f %.2f %.2f\n\", b - a, e - c, h - g, l - k }"'
measure() { vk ssh -- sudo bash -c "$(printf '%q' "$script")" _ "$1"; }

echo "bench: 10,000 small files created/read, one 256 MiB file written (fsync)/read, in the guest; TCG, 2 vCPU, $(nproc) host cores"
read -r dc dr dw dk < <(measure /var/tmp) || exit 1
printf '%-22s create %7.2f s | read %7.2f s | write 256 MiB %7.2f s (%6.1f MB/s) | read back %7.2f s (%6.1f MB/s)\n' \
    "guest disk" "$dc" "$dr" "$dw" "$(awk -v s="$dw" 'BEGIN { print 268.435456 / s }')" "$dk" \
    "$(awk -v s="$dk" 'BEGIN { print 268.435456 / s }')"
row() {
    local label=$1 c r w k
    read -r c r w k < <(measure "$2") || { echo "$label: failed"; return; }
    printf '%-22s create %7.2f s | read %7.2f s | write 256 MiB %7.2f s (%6.1f MB/s) | read back %7.2f s (%6.1f MB/s)\n' \
        "$label" "$c" "$r" "$w" "$(awk -v s="$w" 'BEGIN { print 268.435456 / s }')" "$k" \
        "$(awk -v s="$k" 'BEGIN { print 268.435456 / s }')"
    awk -v l="$label" -v c="$c" -v r="$r" -v w="$w" -v k="$k" -v dc="$dc" -v dr="$dr" -v dw="$dw" -v dk="$dk" \
        'BEGIN { printf "%-22s ratio to the guest disk (speed): create %.2fx, read %.2fx, write %.2fx, read back %.2fx\n",
                 l, dc / c, dr / r, dw / w, dk / k }'
}
row "virtiofs (--mount)" /mnt/virtiofs
if [[ $p9 == 1 ]]; then
    row "9p (peer)" /mnt/9p
else
    echo "9p (peer): $p9_why"
fi
echo "goal: reads >= 0.5x the guest's disk"
vk delete >/dev/null 2>&1
