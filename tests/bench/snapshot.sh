#!/bin/bash
# Benchmark: `snapshot restore` of a running one-node profile against `stop` + `start` of the same profile, under
# TCG on a real libvirtd+qemu in a netns with the debian-test guest (--no-kubernetes: no Kubernetes release can be
# built on these machines, so both are timed to the guest answering: SSH login, and the guest agent for restore).
# Prints both times, their ratio, the save's time and the snapshot's size on disk (`snapshot list -o json`).
# Issue 22's goal: restore <= 20 s (to a NodePort answering, on a Kubernetes profile).
# Usage: tests/bench/snapshot.sh   (root; VIRTKUBE_BIN defaults to build/virtkube)
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_setup vkbench-snap
die() { echo "bench: $*" >&2; cat "$WORK/err" >&2; exit 1; }

echo "bench: snapshot restore vs stop + start, --no-kubernetes, TCG, 1 vCPU, 1024 MiB, $(nproc) host cores"
vk start --no-kubernetes --accel "$E2E_ACCEL" --network-mode isolated --image "$image_json" --cpus 1 --memory 1024 \
    >/dev/null 2>"$WORK/err" || die "start failed"
vk ssh -- true || die "no ssh login"
# Let the first boot settle (cloud-init's last stage), as a user's lab would be when saved.
sleep 20

t0=$(now)
vk snapshot save lab -v >/dev/null 2>"$WORK/err" || die "snapshot save failed"
t1=$(now)
save_s=$(secs "$t0" "$t1")
grep -E "saved|paused|clock" "$WORK/err" | sed 's/^/# /'
size=$(vk snapshot list -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["size"])')
disk=$(du -k --apparent-size "$VIRTKUBE_HOME/profiles/$PROFILE/disk.qcow2" | cut -f1)
vk ssh -- "echo changed > /tmp/lab" || die "ssh failed"

t0=$(now)
vk snapshot restore lab -v >/dev/null 2>"$WORK/err" || die "snapshot restore failed"
t1=$(now)
vk ssh -- true || die "no ssh login after the restore"
t2=$(now)
grep -E "restored|clock" "$WORK/err" | sed 's/^/# /'
restore_s=$(secs "$t0" "$t1")
restore_login_s=$(secs "$t0" "$t2")

t0=$(now)
vk stop >/dev/null 2>"$WORK/err" || die "stop failed"
t1=$(now)
vk start >/dev/null 2>"$WORK/err" || die "start failed"
t2=$(now)
vk ssh -- true || die "no ssh login after the start"
t3=$(now)
stop_s=$(secs "$t0" "$t1")
start_s=$(secs "$t1" "$t2")
stopstart_login_s=$(secs "$t0" "$t3")

printf 'save (while running)             %6s s\n' "$save_s"
printf 'restore (to SSH answering)       %6s s, to a first login %6s s\n' "$restore_s" "$restore_login_s"
printf 'stop + start (to SSH answering)  %6s s (stop %s s + start %s s), to a first login %6s s\n' \
    "$(awk -v a="$stop_s" -v b="$start_s" 'BEGIN { printf "%.2f", a + b }')" "$stop_s" "$start_s" "$stopstart_login_s"
printf 'ratio (stop+start / restore, to a first login) %s\n' \
    "$(awk -v a="$stopstart_login_s" -v b="$restore_login_s" 'BEGIN { printf "%.1f", a / b }')"
printf 'snapshot size on disk: %s MiB added by the save (the overlay is %s MiB in all)\n' \
    "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')" "$(awk -v k="$disk" 'BEGIN { printf "%.1f", k / 1024 }')"
vk delete >/dev/null 2>&1
