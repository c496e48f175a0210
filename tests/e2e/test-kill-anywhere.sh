#!/bin/bash
# e2e: `virtkube start` SIGKILLed at 10 points (exact step boundaries, seeded random steps and delays) converges when run again; a killed delete too; a second profile started alongside gets its own subnet and MAC.
#
# Real libvirtd + qemu (TCG) in the test's own network namespace, the debian-test guest, --no-kubernetes.
# The kill points, in order (the seed, VIRTKUBE_E2E_SEED, fixes the random ones; it is printed):
#   fresh profile: 1 after a random step of the first start before step network; 2 after step network; 3 after disk; 4 after seed;
#                  5 after domain (defined, never started); 6 during the wait for SSH (domain booting);
#                  7 a random delay into following the first provisioning; then a start runs to the end;
#   stopped VM:    8 after step domain of a start on the stopped VM; 9 a random delay into its SSH wait;
#                  10 stopped again, a random delay into the start (a start on a running VM ends too fast).
# After every killed start: no object twice (domain, network, pool, volume, disk file). After every
# rerun that ends: Running, the same IP. Then delete killed once the domain is gone, delete again: nothing left.
# Profile B starts at the same moment as kill point 1, from scratch, so the two plan their networks at once.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_require
PROFILE=vke2e-kill
PROFILE_B=vke2e-kill-b
e2e_setup_profile_test "$PROFILE"
export VIRTKUBE_HOME=$WORK/home
unset LIBVIRT_DEFAULT_URI VIRTKUBE_PROFILE
SEED=${VIRTKUBE_E2E_SEED:-$(($(date +%s) % 100000))}
RANDOM=$SEED
echo "# seed $SEED (rerun with VIRTKUBE_E2E_SEED=$SEED)"
t_test=$SECONDS
START_FLAGS=(--no-kubernetes --network-mode isolated --image "$image_json" --accel "$E2E_ACCEL" --cpus 1 --memory 1024)
vk() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE" "$@"; }
# vk_bg PIDFILE ARGS...: like vk, meant for the background; virtkube's own pid goes to PIDFILE (the pid of
# the shell job is not virtkube's: killing that would leave virtkube running).
vk_bg() {
    local pidfile=$1
    shift
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # expanded by that shell
    e2e_in_ns sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$VIRTKUBE_BIN" -p "$PROFILE" "$@"
}
# kill_vk PIDFILE JOB: SIGKILLs the virtkube whose pid is in PIDFILE; true when it was still running.
kill_vk() {
    local vkpid
    until [[ -s $1 ]] || ! kill -0 "$2" 2>/dev/null; do sleep 0.01; done
    vkpid=$(cat "$1" 2>/dev/null)
    [[ -n $vkpid ]] && kill -KILL "$vkpid" 2>/dev/null
}
vkb() { e2e_in_ns "$VIRTKUBE_BIN" -p "$PROFILE_B" "$@"; }
config() { echo "$VIRTKUBE_HOME/profiles/$1/config.json"; }
# The string value of KEY in profile $1's config.json (flat, as jansson indents it).
config_value() { sed -n "s/^  \"$2\": \"\(.*\)\",\{0,1\}$/\1/p" "$(config "$1")" 2>/dev/null; }
random_ms() { echo $((($1) + RANDOM % (($2) - ($1) + 1))); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The names virsh lists (it pads them with blanks), one a line.
names() { e2e_virsh "$@" | sed 's/[[:space:]]*$//; /^$/d'; }
# One line per libvirt object and disk file of profile $1: "domain NAME", "network NAME", "pool NAME",
# "volume POOL/NAME", "file PATH". A name twice would be a second object.
objects_of() {
    local p=$1 pool
    names list --all --name | grep -x "$p" | sed 's/^/domain /'
    names net-list --all --name | grep -x "virtkube-$p" | sed 's/^/network /'
    while read -r pool; do
        [[ -n $pool ]] || continue
        echo "pool $pool"
        e2e_virsh vol-list "$pool" 2>/dev/null | awk -v pool="$pool" 'NF { print "volume " pool "/" $1 }'
    done < <(names pool-list --all --name | grep -x "virtkube-$p")
    find "$VIRTKUBE_HOME/profiles/$p" -maxdepth 1 \( -name '*.qcow2' -o -name '*.img' \) 2>/dev/null | sed 's/^/file /'
}
# Every libvirt object in the daemon that is not ours or libvirt's own `default` network.
foreign_objects() {
    names list --all --name | grep -vx -e "$PROFILE" -e "$PROFILE_B" | sed 's/^/domain /'
    names net-list --all --name | grep -vx -e default -e "virtkube-$PROFILE" -e "virtkube-$PROFILE_B" | sed 's/^/network /'
    names pool-list --all --name | grep -vx -e "virtkube-$PROFILE" -e "virtkube-$PROFILE_B" | sed 's/^/pool /'
}
# At most one domain, network, pool and disk file of profile $1, and no object of anyone else.
at_most_one_each() {
    local objs kind n
    objs=$(objects_of "$1")
    for kind in domain network pool file; do
        n=$(grep -c "^$kind " <<<"$objs")
        ((n <= 1)) || { echo "# $n of kind $kind: $objs"; return 1; }
    done
    n=$(grep -c "^volume " <<<"$objs")
    ((n <= 1)) || { echo "# $n volumes: $objs"; return 1; }
    [[ -z $(foreign_objects) ]] || { echo "# not ours: $(foreign_objects)"; return 1; }
}
# The running profile $1 has exactly its domain, its network and its disk (no pool: ours are transient).
exactly_one_each() {
    local objs
    objs=$(objects_of "$1")
    [[ $(grep -c '^domain ' <<<"$objs") == 1 && $(grep -c '^network ' <<<"$objs") == 1 &&
        $(grep -c '^file ' <<<"$objs") == 1 && $(grep -c '^pool ' <<<"$objs") == 0 ]] ||
        { echo "# objects of $1: $objs"; return 1; }
}

kill_points=()
kills=0
# kill_start LABEL PATTERN DELAY_MS: runs `start -vv` for $PROFILE in the background, waits until its stderr
# shows PATTERN (an ERE; empty: at once), then DELAY_MS more, and SIGKILLs it. A start that ended by itself
# before the kill is run again with half the delay (random points on a fast start), up to 4 times.
# PATTERN "after:STEP" is exact: the start stops itself once STEP is done (VIRTKUBE_TEST_STOP_AFTER), and is
# killed stopped there. The host side takes milliseconds, so a kill sent on seeing a step's line in the log
# would land steps later.
kill_start() {
    local label=$1 pattern=$2 delay_ms=$3 log pid t0 t_kill last try stop_after="" vkpid
    kills=$((kills + 1))
    log=$WORK/kill$kills.err
    if [[ $pattern == after:* ]]; then
        stop_after=${pattern#after:}
        pattern=""
    fi
    for try in 1 2 3 4; do
        t0=$(now_ms)
        : >"$log"
        rm -f "$WORK/vk.pid" # vk_bg removes it too, but only once the job runs: not the last start's pid
        VIRTKUBE_TEST_STOP_AFTER=$stop_after vk_bg "$WORK/vk.pid" -vv start "${START_FLAGS[@]}" \
            >"$WORK/kill$kills.out" 2>"$log" &
        pid=$!
        if [[ -n $pattern ]]; then
            while kill -0 "$pid" 2>/dev/null && ! grep -Eq "$pattern" "$log"; do sleep 0.05; done
        fi
        if [[ -n $stop_after ]]; then
            until [[ -s $WORK/vk.pid ]] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
            vkpid=$(cat "$WORK/vk.pid" 2>/dev/null)
            while kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$vkpid/stat" 2>/dev/null) != T ]]; do
                sleep 0.02
            done
        fi
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        t_kill=$(($(now_ms) - t0))
        if kill_vk "$WORK/vk.pid" "$pid"; then
            wait "$pid"
            rc=137
            break
        fi
        wait "$pid"
        rc=$?
        [[ $rc == 0 && $try -lt 4 ]] || break
        echo "# kill point $kills: start ended by itself within ${t_kill} ms; again with half the delay"
        delay_ms=$((delay_ms / 2))
    done
    last=$(sed -n 's/^.*step \([a-z-]*\): \(done\|nothing to do\) in.*$/\1/p' "$log" | tail -n 1)
    kill_points+=("$kills: $label: SIGKILL at $((t_kill / 1000)).$(printf '%03d' $((t_kill % 1000))) s, last step done: ${last:-none}, domain then: $(e2e_virsh domstate "$PROFILE" 2>/dev/null | head -n 1)")
    echo "# kill point ${kill_points[-1]}"
    [[ -z $stop_after ]] || expect "kill point $kills landed right after step $stop_after" test "$last" = "$stop_after"
    if [[ $rc == 0 ]]; then
        # A killed start's libvirt call finishes in libvirtd without it (a define, a boot): the next start
        # can find nothing left to wait for and end before any kill lands. It converged; the point was missed.
        ok "kill point $kills ($label): start ended by itself (converged) before the kill # SKIP point not reached"
    else
        expect "kill point $kills ($label): start was killed while it ran (exit $rc)" test "$rc" = 137
        [[ $rc == 137 ]] || tail -n 5 "$log" | sed 's/^/#   /'
    fi
    expect "after kill point $kills: no second domain, network, pool, volume or disk" at_most_one_each "$PROFILE"
}

# rerun_to_end WHAT: a start of $PROFILE that must end, then Running at the same IP with one of each object.
rerun_to_end() {
    run vk -v start "${START_FLAGS[@]}"
    expect_rc 0 "start after $1 ends (${secs}s)"
    echo "# $(grep timing <<<"$err")"
    [[ $rc == 0 ]] || tail -n 30 "$VIRTKUBE_HOME/profiles/$PROFILE/console.log" 2>/dev/null | sed 's/^/# console: /'
    run vk status
    expect "after $1: status says Host: Running" grep -qx "Host: Running" <<<"$out"
    run vk ip
    expect "after $1: the same IP ($IP)" test "$rc:$out" = "0:$IP"
    expect "after $1: exactly one domain, network and disk, no pool left" exactly_one_each "$PROFILE"
    expect "after $1: nothing of anyone else" test -z "$(foreign_objects)"
}

# ---- a fresh profile, and profile B from scratch at the same moment -------------------------------------
vkb start "${START_FLAGS[@]}" >"$WORK/b.out" 2>"$WORK/b.err" &
b_pid=$!
# A step of the host-side work before the network is planned, chosen by the seed. It is exact (after:STEP):
# the host side takes well under a second, and a kill that lands after it leaves a booted domain behind,
# which would turn kill points 2 to 7 into starts of a running VM.
early_steps=(preflight artifacts images config pki payload)
early_step=${early_steps[RANDOM % ${#early_steps[@]}]}
kill_start "a random step of the first start before the network ($early_step)" "after:$early_step" 0
expect "kill point 1 landed before the network was planned" \
    test -z "$(grep -E 'step (network|disk|seed|domain|boot): ' "$WORK/kill1.err")"
kill_start "after step network" after:network 0
IP=$(config_value "$PROFILE" node_ip)
expect "the profile's node IP is fixed ($IP)" test -n "$IP"
kill_start "after step disk" after:disk 0
kill_start "after step seed" after:seed 0
kill_start "after step domain (defined, not started)" after:domain 0
expect "the domain is defined ($(e2e_virsh domstate "$PROFILE" 2>&1))" e2e_virsh domstate "$PROFILE"
kill_start "during the wait for SSH (domain booting)" "waiting for the guest's SSH" "$(random_ms 0 3000)"
expect "the domain runs on" test "$(e2e_virsh domstate "$PROFILE" 2>&1)" = "running"
kill_start "random delay into following the first provisioning" "following it again|step boot: " "$(random_ms 1000 15000)"
rerun_to_end "the kills in the first start"
expect "the guest finished its provisioning" grep -q "VIRTKUBE-READY" "$VIRTKUBE_HOME/profiles/$PROFILE/console.log"

# ---- part 5: profile B, started at the same time as the first start above ----------------------------
wait "$b_pid"
rc=$?
out=$(cat "$WORK/b.out") err=$(cat "$WORK/b.err")
expect_rc 0 "profile $PROFILE_B, started alongside, came up"
subnet_a=$(config_value "$PROFILE" subnet) subnet_b=$(config_value "$PROFILE_B" subnet)
mac_a=$(e2e_virsh domiflist "$PROFILE" | awk 'NF { m = $NF } END { print m }')
mac_b=$(e2e_virsh domiflist "$PROFILE_B" | awk 'NF { m = $NF } END { print m }')
echo "# $PROFILE: $subnet_a $mac_a; $PROFILE_B: $subnet_b $mac_b"
expect "the two profiles have different subnets ($subnet_a, $subnet_b)" \
    test -n "$subnet_a" -a -n "$subnet_b" -a "$subnet_a" != "$subnet_b"
expect "and different MACs ($mac_a, $mac_b)" test -n "$mac_a" -a -n "$mac_b" -a "$mac_a" != "$mac_b"
run vkb status
expect "$PROFILE_B: status says Host: Running" grep -qx "Host: Running" <<<"$out"
expect "$PROFILE_B: exactly one domain, network and disk" exactly_one_each "$PROFILE_B"
run vkb delete
expect_rc 0 "$PROFILE_B: delete"
expect "$PROFILE_B: nothing of it is left" test -z "$(objects_of "$PROFILE_B")"

# ---- a stopped VM, then a running one ----------------------------------------------------------------------
vk stop >/dev/null 2>&1 || e2e_virsh destroy "$PROFILE" >/dev/null
kill_start "after step domain of a start on the stopped VM" after:domain 0
kill_start "random delay into the SSH wait of the stopped VM's boot" "waiting for the guest's SSH|step boot: " \
    "$(random_ms 0 8000)"
rerun_to_end "the kills in the stopped VM's start"
vk stop >/dev/null 2>&1 || e2e_virsh destroy "$PROFILE" >/dev/null
kill_start "random delay into a start on the stopped VM" "" "$(random_ms 0 3000)"
rerun_to_end "the kill in a start on the stopped VM"

echo "# kill points (seed $SEED):"
printf '#   %s\n' "${kill_points[@]}"

# ---- delete killed once the domain is gone, then delete again ------------------------------------------
t0=$(now_ms)
vk_bg "$WORK/vk.pid" delete >"$WORK/delete1.out" 2>"$WORK/delete1.err" &
del_pid=$!
while kill -0 "$del_pid" 2>/dev/null && [[ $(e2e_virsh domstate "$PROFILE" 2>&1) == running ]]; do sleep 0.02; done
if kill_vk "$WORK/vk.pid" "$del_pid"; then
    wait "$del_pid"
    echo "# delete killed at $(($(now_ms) - t0)) ms, domain: $(e2e_virsh domstate "$PROFILE" 2>&1 | head -n 1)," \
        "left: $(objects_of "$PROFILE" | tr '\n' ' ')"
    ok "delete was killed halfway (the domain stopped)"
else
    wait "$del_pid"
    not_ok "delete was killed halfway" "delete ended (exit $?) before the kill: $(cat "$WORK/delete1.err")"
fi
run vk delete
expect_rc 0 "delete after the killed delete"
expect "no domain, network, pool, volume or disk of the profile is left" test -z "$(objects_of "$PROFILE")"
expect "no libvirt object of anyone else either" test -z "$(foreign_objects)"
expect "no profile files are left" test -z "$(ls -A "$VIRTKUBE_HOME/profiles")"
expect "no lock file is left" test -z "$(ls -A "$VIRTKUBE_HOME/locks")"

echo "# the test took $((SECONDS - t_test)) s once the daemons and the image were ready"
echo "1..$tap_n"
[[ $tap_failed -eq 0 ]]
