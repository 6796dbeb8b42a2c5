#!/usr/bin/env bash
# test_slurm.sh -- the SLURM job array of run_all.sh --slurm, run on a real
# scheduler: a one-node SLURM cluster on this machine, made and torn down here.
#
#   1. install Debian's SLURM and MUNGE where they are missing (as root, with apt)
#   2. start munged, slurmctld and slurmd, all of them reading files in a temporary
#      directory only (their own key, sockets, ports, state, spool and logs)
#   3. run the smoke sweep directly (./run_all.sh --preset smoke -j 2): the reference
#   4. write the smoke sweep's job array (./run_all.sh --preset smoke --slurm FILE),
#      submit it unchanged with sbatch, as its header says, and wait for it
#   5. run the header's follow-up command (--report) and compare its report
#      with the reference's: every table cell and every check, wall times aside;
#      and every run's eval.csv, byte for byte
#
# The script asks for 8 CPUs and 1 GPU a task. The test node says it has 16 CPUs
# and 2 GPUs (slurmd believes the configuration: SlurmdParameters=config_overrides;
# the "GPUs" are /dev/null and /dev/zero, which nothing opens: the CPU build runs),
# so the scheduler runs two tasks at once, as -j 2 runs two runs at once.
#
# Where the daemons cannot be had (not root; no SLURM and no apt; a daemon that
# does not start, as in some containers) it prints one SKIP line with the reason
# and the daemon's log, and checks nothing. Every daemon and job it started is
# stopped on exit (trap), and the temporary directory removed.
# Prints one PASS:/FAIL: line per check. Run from the repository root after `make`.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1   # the reference and the array's tasks: one thread a run

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
tail_of() { tail -n "${2:-5}" "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-600; }   # FILE [LINES] -> one line

# ============================================================================
# the temporary directory and the clean-up
# ============================================================================
# munged wants every directory above its socket searchable by all: hence 755.
tmp=$(mktemp -d /tmp/test_slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_CONF=$tmp/slurm.conf   # sbatch, squeue, scontrol and the daemons read this file
job=""; munged_pid=""; slurmctld_pid=""; slurmd_pid=""; policy_made=0; skipped=0

# Stops what this test started, in order: the job array, slurmd, slurmctld,
# munged. A job's step daemons (slurmstepd) and its processes hold SLURM_CONF in
# their environment (inherited from slurmd and from sbatch): any of them still
# alive then is found by that and ended by its pid.
ours() { # the pids of live processes whose environment names this test's slurm.conf
    local e
    for e in /proc/[0-9]*/environ; do
        { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" && { e=${e#/proc/}; echo "${e%/environ}"; }
    done
}
stop() { # PID: SIGTERM, up to 10 s, then SIGKILL
    local pid=$1 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    local i left pid
    if [ -n "$job" ] && [ -n "$slurmctld_pid" ] && kill -0 "$slurmctld_pid" 2>/dev/null; then
        scancel "$job" 2>/dev/null
        for i in $(seq 50); do [ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    stop "$slurmd_pid"; stop "$slurmctld_pid"
    for pid in $(ours); do [ "$pid" != $$ ] && [ "$pid" != "$BASHPID" ] && stop "$pid"; done
    stop "$munged_pid"
    [ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d
    left=$(ours | grep -vx -e $$ -e "$BASHPID")
    if [ -n "$left" ]; then
        fail "processes of the test cluster still running after clean-up: $(ps -o pid=,args= -p "${left//$'\n'/,}" | tr '\n' ';')"
    elif [ "$skipped" = 0 ]; then
        pass "clean-up: the job, slurmd, slurmctld and munged are stopped, no process of the test cluster is left"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
skip() { echo "SKIP: SLURM test not run: $*"; skipped=1; exit 0; }

# ============================================================================
# 1. SLURM and MUNGE
# ============================================================================
# Debian's packages: slurmctld (the controller), slurmd (the node daemon),
# slurm-client (sbatch, squeue, scontrol), munge (credentials between them).
need="slurmctld slurmd sbatch squeue scancel scontrol sinfo munged mungekey munge unmunge"
missing() { local c; for c in $need; do command -v "$c" >/dev/null 2>&1 || { echo "$c"; return; }; done; }
[ "$(id -u)" = 0 ] || skip "not root (slurmd runs jobs as their owner and must be root; munged, slurmctld, slurmd are started here)"
if [ -n "$(missing)" ]; then
    command -v apt-get >/dev/null 2>&1 || skip "'$(missing)' not installed, and no apt-get to install slurmctld slurmd slurm-client munge"
    # no service may start during the install (the test starts its own daemons):
    # invoke-rc.d asks /usr/sbin/policy-rc.d, and its exit status 101 says "do not start"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_made=1
    fi
    echo "installing slurmctld slurmd slurm-client munge (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge; } >"$tmp/apt.log" 2>&1
    [ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d && policy_made=0
    [ -z "$(missing)" ] || skip "'$(missing)' still missing after apt-get install (apt log: $(tail_of "$tmp/apt.log"))"
fi

# ============================================================================
# 2. the one-node cluster
# ============================================================================
# Two free TCP ports on this machine for slurmctld and slurmd: none in LISTEN
# state (st 0A) in /proc/net/tcp or tcp6.
port_used() { awk -v p="$(printf '%04X' "$1")" '$4 == "0A" { split($2, a, ":"); if (a[2] == p) f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
ctld_port=""
for try in $(seq 20); do
    p=$(( 20000 + RANDOM % 20000 ))
    port_used "$p" || port_used $((p + 1)) || { ctld_port=$p; break; }
done
[ -n "$ctld_port" ] || skip "no two free TCP ports found in 20000-40000"
node=$(hostname -s)
real_memory=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[ -n "$real_memory" ] || skip "slurmd -C reports no RealMemory ($(slurmd -C 2>&1 | tail -n 2 | tr '\n' ' '))"

# munged: its own key and socket, in the foreground (so that $! is its pid)
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/submit"
mungekey --create --keyfile "$tmp/munge/munge.key" >"$tmp/munge/mungekey.log" 2>&1 ||
    skip "mungekey could not make a key ($(tail_of "$tmp/munge/mungekey.log"))"
sock=$tmp/munge/munge.socket
munged --foreground --socket="$sock" --key-file="$tmp/munge/munge.key" --pid-file="$tmp/munge/munged.pid" \
    --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" >"$tmp/munge/munged.out" 2>&1 &
munged_pid=$!
for i in $(seq 50); do munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 && break; sleep 0.1; done
munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 ||
    skip "munged did not start (its log: $(tail_of "$tmp/munge/munged.out"))"

# slurm.conf: one node, one partition, no accounting, no cgroups (proctrack/linuxproc
# follows a job's processes by their parents; task/none binds nothing), a scheduler
# that looks for work every 0.1 s (the default waits seconds between array tasks)
cat >"$SLURM_CONF" <<EOF
ClusterName=testcluster
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
SchedulerParameters=sched_min_interval=100000,batch_sched_delay=0,sched_interval=2
GresTypes=gpu
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=16 Sockets=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=$real_memory Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
# gres.conf (slurmd reads it beside slurm.conf): two "GPUs", each a device file
printf 'NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n' "$node" "$node" >"$tmp/gres.conf"

slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
slurmctld_pid=$!
for i in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; kill -0 "$slurmctld_pid" 2>/dev/null || break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q 'is UP' ||
    skip "slurmctld did not start (its log: $(tail_of "$tmp/slurmctld.log" 4) $(tail_of "$tmp/slurmctld.out" 2))"
slurmd -D -N "$node" -f "$SLURM_CONF" >"$tmp/slurmd.out" 2>&1 &
slurmd_pid=$!
state=""
for i in $(seq 150); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    kill -0 "$slurmd_pid" 2>/dev/null || break
    sleep 0.1
done
[ "$state" = idle ] ||
    skip "slurmd did not bring node $node to idle (state '$state'; its log: $(tail_of "$tmp/slurmd.log" 4) $(tail_of "$tmp/slurmd.out" 2); slurmctld: $(tail_of "$tmp/slurmctld.log" 2))"
pass "munged, slurmctld and slurmd started; node $node is idle (16 CPUs, 2 GPUs declared; ports $ctld_port, $((ctld_port + 1)))"

# ============================================================================
# 3. the reference: the smoke sweep run directly, two runs at once
# ============================================================================
# (it also builds whatever is out of date, before the array's tasks start)
./run_all.sh --preset smoke --out "$tmp/direct" -j 2 >"$tmp/direct.log" 2>&1
rc=$?
check "run_all.sh --preset smoke -j 2 exits 0 (log tail: $(tail_of "$tmp/direct.log" 2))" [ "$rc" -eq 0 ]

# ============================================================================
# 4. the job array, submitted as written
# ============================================================================
# The WikiReversal runs read the GenWiki passages; without them their tasks end
# with an error (run_all.sh --run: "every selected run is a WikiReversal run").
have_wiki=1
[ -f "${GENWIKI:-../shared/data/genwiki-hard/test.source}" ] || {
    have_wiki=0; echo "SKIP: the 6 WikiReversal tasks of the array (no GenWiki passages at ${GENWIKI:-../shared/data/genwiki-hard/test.source})"; }
script=$tmp/smoke.sbatch
./run_all.sh --preset smoke --out "$tmp/array" --slurm "$script" >"$tmp/slurm-write.log" 2>&1
check "run_all.sh --slurm writes the script ($(tail_of "$tmp/slurm-write.log" 1))" [ -x "$script" ]
n_tasks=$(sed -n 's/^#SBATCH --array=0-\([0-9]*\)$/\1/p' "$script")
n_tasks=$(( ${n_tasks:--1} + 1 ))
check "the script is one array of 32 tasks ($n_tasks)" [ "$n_tasks" = 32 ]
grep -q "^#   sbatch $script " "$script"
rc=$?
check "the script's header says: sbatch $script" [ "$rc" -eq 0 ]
follow_up=$(sed -n 's/^#   \(\.\/run_all\.sh .* --report\)$/\1/p' "$script")
check "the script's header names the report step ('$follow_up')" [ -n "$follow_up" ]

# From a directory of its own: sbatch can be run from anywhere, and a task's
# relative paths (its --output) are relative to where it was.
start=$(date +%s)
job=$(cd "$tmp/submit" && sbatch --parsable "$script" 2>"$tmp/sbatch.err")
check "sbatch accepts the script (job '$job'$([ -s "$tmp/sbatch.err" ] && echo "; $(tail_of "$tmp/sbatch.err" 2)"))" \
    [ -n "$job" ]
timeout=120; queued=unknown
if [ -n "$job" ]; then
    while :; do
        queued=$(squeue -h -j "$job" -o %i 2>"$tmp/squeue.err") || { fail "squeue failed: $(tail_of "$tmp/squeue.err" 2)"; break; }
        [ -z "$queued" ] && break
        [ $(( $(date +%s) - start )) -ge "$timeout" ] && break
        sleep 0.5
    done
    took=$(( $(date +%s) - start ))
    check "the array ends within $timeout s ($took s)" [ -z "$queued" ]
fi

# each task: ArrayTaskId, JobState, ExitCode, Reason and the file of its output
scontrol -o show job "$job" 2>/dev/null | tr ' ' '\n' |
    awk -F= '/^ArrayTaskId=/ { id = $2 } /^JobState=/ { s = $2 } /^Reason=/ { r = $2 } /^ExitCode=/ { e = $2 }
             /^StdOut=/ { print id, s, e, r, $2 }' | sort -n >"$tmp/tasks.txt"
eval "$(grep '^runs=(' "$script")"   # the script's list of runs: task i is runs[i % ${#runs[@]}]
n_done=0; n_wiki_told=0; bad=""
while read -r id state code reason out_file; do
    run=${runs[$(( id % ${#runs[@]} ))]}
    if [ "$have_wiki" = 0 ] && [[ $run == wiki-* ]]; then
        grep -q 'GenWiki passages' "$out_file" 2>/dev/null && n_wiki_told=$((n_wiki_told + 1))
        continue
    fi
    if [ "$state" = COMPLETED ] && grep -q '^\[.*\] sweep: 1 runs, 0 failed' "$out_file" 2>/dev/null; then
        n_done=$((n_done + 1))
    else
        bad="$bad $id:$run:$state:$code:$reason"
    fi
done <"$tmp/tasks.txt"
want=$(( have_wiki ? 32 : 26 ))
why=""
[ -n "$bad" ] && why="; not done (task:run:state:exit:reason):$(cut -c1-300 <<<"$bad"); slurmd's errors: $(grep -i error "$tmp/slurmd.log" | grep -v pmix | tail -n 2 | tr '\n' ' ' | cut -c1-400)"
check "every task of the array COMPLETED and its log says its run finished ($n_done of $want$why)" [ "$n_done" = "$want" ]
[ "$have_wiki" = 0 ] && check "each WikiReversal task's log says it has no GenWiki passages ($n_wiki_told of 6)" [ "$n_wiki_told" = 6 ]

# ============================================================================
# 5. the report step, and the numbers
# ============================================================================
(eval "$follow_up") >"$tmp/report.log" 2>&1
rc=$?
check "the report step exits 0 ($(tail_of "$tmp/report.log" 1))" [ "$rc" -eq 0 ]
# Every table row and every check of a report, with the runs' wall times
# ("| 3 s |" at the end of a provenance row) and the runs' directory masked.
numbers() { # REPORT
    grep -E '^(\| |- )' "$1" | sed -E 's/\| [0-9]+ s \|$/| (wall time) |/'
}
ref=$tmp/direct/results/RESULTS-smoke.md
got=$tmp/array/results/RESULTS-smoke.md
if [ -f "$ref" ] && [ -f "$got" ]; then
    numbers "$ref" >"$tmp/ref.txt"; numbers "$got" >"$tmp/got.txt"
    n_lines=$(wc -l <"$tmp/ref.txt")
    n_cells=$(grep -oE '\| [0-9.]+ \([^)]*\)' "$tmp/ref.txt" | wc -l)
    first=$(diff "$tmp/ref.txt" "$tmp/got.txt" | grep -E '^[<>]' | head -n 2 | tr '\n' ' ' | cut -c1-400)
    same=no; [ -z "$first" ] && [ "$n_cells" -gt 0 ] && same=yes
    check "the array's report has the reference's numbers: $n_lines table rows and checks, $n_cells measured cells${first:+ (first difference: $first)}" \
        [ "$same" = yes ]
else
    fail "both reports exist (reference: $([ -f "$ref" ] && echo yes || echo no), array: $([ -f "$got" ] && echo yes || echo no))"
fi
n_same=0; differ=""
for f in $(cd "$tmp/direct" && find runs -name eval.csv | sort); do
    if cmp -s "$tmp/direct/$f" "$tmp/array/$f"; then n_same=$((n_same + 1)); else differ="$differ ${f#runs/smoke/seed1/}"; fi
done
check "every run's eval.csv is the same, byte for byte ($n_same of $want${differ:+; differ or missing:$differ})" [ "$n_same" = "$want" ]
