#!/usr/bin/env bash
# bench/slurm: time from POST /v1/jobs to the first line of the user's command on Slurm (TRAINYARD_PROVISIONER=slurm),
# beside `sbatch --wrap` of the very same command straight to the same cluster in the same run, and the ratio; also the
# peak RSS of the server and of the agents. The cluster is private and started here: munged, slurmctld and four slurmd
# on 127.0.0.1 (shared/reference/infra.md §3), batch_sched_delay=0. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent beside it, or TRAINYARD_AGENT_BIN); default: a release build
#   RUNS            measured jobs of each kind (default 10); WARMUP unmeasured ones first (default 1)
#   HOSTS           hosts (nodes) per job, 1–4 (default 1)
#   JOB_TIMEOUT     seconds one job may take (default 60)
#   STRICT          1: exit 3 when the target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=slurm
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
HOSTS=${HOSTS:-1}
JOB_TIMEOUT=${JOB_TIMEOUT:-60}
STRICT=${STRICT:-0}
TARGET_RATIO=1.5
PROBE='date +%s.%N > "$SM_MODEL_DIR/started-$SM_CURRENT_HOST"'

require_tools jq curl ss:iproute2 /usr/sbin/slurmctld:slurmctld /usr/sbin/slurmd:slurmd sbatch:slurm-client /usr/sbin/munged:munge
[[ $(id -u) == 0 ]] || die "slurmd must run as root here; run as root"
resolve_binary

# shellcheck source=../slurm-cluster.sh
source "$SCRIPT_DIR/../slurm-cluster.sh"
# cleanup exits with the status it finds: the script's, not stop_slurm's.
trap 'rc=$?; set +e; stop_slurm; (exit $rc); cleanup' EXIT

to_us() { local s=${1%%.*} f=${1#*.}; f=${f}000000; echo $((s * 1000000 + 10#${f:0:6})); }

wait_file() { # file deadline: waits for a complete timestamp line; echoes it
    local v
    until [[ -s $1 ]] && v=$(<"$1") && [[ $v =~ ^[0-9]+\.[0-9]{9}$ ]]; do
        ((SECONDS < $2)) || die "no timestamp in $1 after ${JOB_TIMEOUT}s"
        sleep 0.005
    done
    echo "$v"
}

# Trainyard: POST, then the last host's first line. Appends ms to $2.
measure_trainyard() {
    local name=$1 out=$2 spec t0 last=0 h v deadline=$((SECONDS + JOB_TIMEOUT))
    spec=$(jq -cn --arg name "$name" --argjson n "$HOSTS" --arg script "$PROBE" \
        '{name: $name, instance_type: "ml.m5.large", instance_count: $n, max_run: 600, command: ["/bin/sh", "-c", $script]}')
    t0=$EPOCHREALTIME
    curl -sf -o /dev/null -X POST "$BASE_URL/v1/jobs" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$spec" ||
        die "POST /v1/jobs failed"
    for ((h = 1; h <= HOSTS; h++)); do
        v=$(wait_file "$DATA_DIR/workers/$name-1-algo-$h/model/started-algo-$h" "$deadline")
        (($(to_us "$v") > last)) && last=$(to_us "$v")
    done
    [[ -n $out ]] && echo $(((last - $(to_us "$t0")) / 1000)) >>"$out"
    [[ $(wait_job_end "$name" "$JOB_TIMEOUT") == Completed ]] || die "job $name did not complete"
    sample_rss
}

# Bare Slurm: sbatch --wrap of the same command, with srun on HOSTS nodes, the same exclusivity. Appends ms to $2.
measure_sbatch() {
    local name=$1 out=$2 dir=$SLURM_DIR/bare/$1 t0 last=0 h v deadline=$((SECONDS + JOB_TIMEOUT))
    mkdir -p "$dir"
    t0=$EPOCHREALTIME
    sbatch -Q --exclusive --nodes="$HOSTS" --ntasks-per-node=1 -o /dev/null --chdir="$dir" \
        --wrap "srun /bin/sh -c 'SM_MODEL_DIR=$dir SM_CURRENT_HOST=algo-\$((SLURM_PROCID + 1)); $PROBE'" >/dev/null
    for ((h = 1; h <= HOSTS; h++)); do
        v=$(wait_file "$dir/started-algo-$h" "$deadline")
        (($(to_us "$v") > last)) && last=$(to_us "$v")
    done
    [[ -n $out ]] && echo $(((last - $(to_us "$t0")) / 1000)) >>"$out"
    until [[ -z $(squeue -h -o %i) ]]; do sleep 0.05; done
}

SERVER_HWM=0
AGENT_HWM=0
sample_rss() {
    local kb p
    kb=$(vm_kb "$SERVER_PID" VmHWM)
    ((kb > SERVER_HWM)) && SERVER_HWM=$kb
    for p in $(grep -l "TRAINYARD_AGENT_DIR=$DATA_DIR/workers/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == trainyard-agent ]] || continue
        kb=$(vm_kb "$p" VmHWM)
        ((kb > AGENT_HWM)) && AGENT_HWM=$kb
    done
    return 0
}

start_slurm
SERVER_ENV="TRAINYARD_PROVISIONER=slurm SLURM_CONF=$SLURM_CONF"
start_server

TY=$WORK_DIR/trainyard.ms BARE=$WORK_DIR/sbatch.ms
: >"$TY"
: >"$BARE"
for ((i = 0; i < WARMUP; i++)); do measure_sbatch "warm-bare-$i" ""; measure_trainyard "warm-ty-$i" ""; done
# Interleaved, so both see the same machine load.
for ((i = 1; i <= RUNS; i++)); do
    measure_sbatch "bare-$i" "$BARE"
    measure_trainyard "ty-$i" "$TY"
done
# Agents exit within milliseconds of a probe job: one job that sleeps, to read their peak RSS while they run.
spec=$(jq -cn --argjson n "$HOSTS" '{name: "rss", instance_type: "ml.m5.large", instance_count: $n, max_run: 600, command: ["/bin/sh", "-c", "sleep 3"]}')
curl -sf -o /dev/null -X POST "$BASE_URL/v1/jobs" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$spec"
end=$((SECONDS + JOB_TIMEOUT))
while [[ $(job_status rss) != Completed ]] && ((SECONDS < end)); do sample_rss; sleep 0.2; done

ty50=$(percentile 50 <"$TY")
ty99=$(percentile 99 <"$TY")
bare50=$(percentile 50 <"$BARE")
bare99=$(percentile 99 <"$BARE")
ratio=$(awk -v a="$ty50" -v b="$bare50" 'BEGIN { printf "%.2f", a / b }')
log "build $BUILD_LABEL, $(nproc) cores, $HOSTS host(s) per job, $RUNS runs each"
printf '%-34s %8s %8s\n' "POST to first line of user code" p50_ms p99_ms
printf '%-34s %8s %8s\n' "trainyard (slurm provisioner)" "$ty50" "$ty99"
printf '%-34s %8s %8s\n' "sbatch --wrap, same command" "$bare50" "$bare99"
printf 'ratio (p50): %sx (target within %sx)\n' "$ratio" "$TARGET_RATIO"
printf 'peak RSS: server %d MB, agent %d MB\n' $((SERVER_HWM / 1024)) $((AGENT_HWM / 1024))
if awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(r > t) }'; then
    log "target missed: ${ratio}x > ${TARGET_RATIO}x"
    [[ $STRICT == 1 ]] && exit 3
fi
exit 0
