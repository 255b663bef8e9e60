#!/usr/bin/env bash
# bench/recovery: what a spot interruption costs. Over repeated interruptions of a running spot job (the admin
# interrupt call, with a 1 s notice), the time from the call to the user's code running again (p50, p99: the "resumed"
# line the restarted command prints, by the log line's own timestamp); and goodput: the wall time of the same job with
# interruptions beside the same job without any, measured in the same run, so that the time each interruption cost can
# be compared with what it may cost: the work since the last checkpoint plus the restart time. Peak RSS of the server
# and agents beside it. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN      binary to benchmark (trainyard-agent beside it); default: `swift build -c release --static-swift-stdlib` here
#   INTERRUPTIONS      interruptions of the measured job (default 10)
#   STEPS              training steps of each job (default 150)
#   STEP_SECONDS       seconds one step takes; the script checkpoints after every step (default 0.2)
#   INTERVAL_STEPS     steps the job trains between interruptions (default 10)
#   STRICT             1: exit 3 when a target is missed (default 0)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=recovery
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

INTERRUPTIONS=${INTERRUPTIONS:-10}
STEPS=${STEPS:-150}
STEP_SECONDS=${STEP_SECONDS:-0.2}
INTERVAL_STEPS=${INTERVAL_STEPS:-10}
STRICT=${STRICT:-0}
TARGET_P50_MS=5000

require_tools curl jq awk
resolve_binary
trap cleanup EXIT
# The issue's setting: a 1 s notice; checkpoint syncs every second while training (the final sync at the notice
# saves the last step anyway).
SERVER_ENV="TRAINYARD_SPOT_NOTICE=1 TRAINYARD_CHECKPOINT_SYNC_INTERVAL=1"
start_server

CODE_DIR=$WORK_DIR/code
mkdir -p "$CODE_DIR"
cat >"$CODE_DIR/train.sh" <<'SCRIPT'
ck="$SM_CHECKPOINT_DIR"; step=0
[ -f "$ck/step" ] && step=$(cat "$ck/step")
echo "resumed at step $step"
trap 'exit 143' TERM
while [ "$step" -lt "$STEPS" ]; do
  sleep "$STEP_SECONDS"
  step=$((step + 1)); echo "$step" > "$ck/step.tmp"; mv "$ck/step.tmp" "$ck/step"
done
echo "$step" > "$SM_MODEL_DIR/final-step"
SCRIPT

job_spec() {
    jq -nc --arg name "$1" --arg code "file://$CODE_DIR" --arg steps "$STEPS" --arg step "$STEP_SECONDS" '{
        name: $name, instance_type: "ml.m5.large", instance_count: 1, use_spot_instances: true, max_run: 3600, max_wait: 7200,
        entry_point: "train.sh", source_dir: $code, checkpoint_s3_uri: ("s3://checkpoints/" + $name), output_path: "s3://models/",
        environment: {STEPS: $steps, STEP_SECONDS: $step}}'
}
describe() { curl -sf "$BASE_URL/v1/jobs/$1" -H "Authorization: Bearer $ADMIN_KEY"; }
stored_step() { cat "$DATA_DIR/objects/checkpoints/$1/step" 2>/dev/null || echo 0; }
# Microseconds since the epoch of the newest "resumed" log line of job $1 (0 if none).
last_resume_micros() {
    curl -sf "$BASE_URL/v1/jobs/$1/logs?limit=10000" -H "Authorization: Bearer $ADMIN_KEY" |
        jq -r '[.lines[] | select(.message | startswith("resumed at")) | .time] | last // empty' |
        { read -r t || true; [[ -n ${t:-} ]] && date -d "$t" +%s%6N || echo 0; }
}
micros() { local t=${EPOCHREALTIME/./}; echo "$t"; }

SAMPLES=$WORK_DIR/rss
start_rss_sampler "$SAMPLES"

# 1. The baseline: the same job, never interrupted.
log "baseline: $STEPS steps of $STEP_SECONDS s, no interruption"
t0=$(micros); submit_job "$(job_spec baseline)" >/dev/null
[[ $(wait_job_end baseline 900) == Completed ]] || die "the baseline job did not complete"
BASELINE_US=$(($(micros) - t0))

# 2. The measured job: interrupted every INTERVAL_STEPS steps of progress.
log "measured: the same job, interrupted $INTERRUPTIONS times every $INTERVAL_STEPS steps"
RESTARTS=$WORK_DIR/restarts
: >"$RESTARTS"
t0=$(micros); submit_job "$(job_spec measured)" >/dev/null
for i in $(seq 1 "$INTERRUPTIONS"); do
    target=$(( $(stored_step measured) + INTERVAL_STEPS ))
    ((target < STEPS - INTERVAL_STEPS)) || { log "too few steps left for interruption $i; stopping at $((i - 1))"; break; }
    deadline=$((SECONDS + 300))
    until [[ $(describe measured | jq -r .secondary_status) == Training ]] && (( $(stored_step measured) >= target )); do
        ((SECONDS < deadline)) || die "the measured job did not reach step $target"
        sleep 0.05
    done
    before=$(last_resume_micros measured)
    host=$(describe measured | jq -r '.attempts | last | .hosts[0].id')
    called=$(micros)
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE_URL/v1/admin/hosts/$host/interrupt" -H "Authorization: Bearer $ADMIN_KEY")
    [[ $status == 202 ]] || die "interrupt answered $status"
    deadline=$((SECONDS + 120))
    while :; do
        resumed=$(last_resume_micros measured)
        ((resumed > before && resumed > called)) && break
        ((SECONDS < deadline)) || die "the job did not resume after interruption $i"
        sleep 0.05
    done
    echo $(( (resumed - called) / 1000 )) >>"$RESTARTS"
    log "interruption $i: user code running again after $(tail -n1 "$RESTARTS") ms"
done
[[ $(wait_job_end measured 1800) == Completed ]] || die "the measured job did not complete"
MEASURED_US=$(($(micros) - t0))
DONE=$(wc -l <"$RESTARTS")
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=

P50=$(percentile 50 <"$RESTARTS"); P99=$(percentile 99 <"$RESTARTS")
MEAN=$(awk '{ s += $1 } END { printf "%.0f", s / NR }' "$RESTARTS")
BASE_S=$(awk -v u="$BASELINE_US" 'BEGIN { printf "%.2f", u / 1e6 }')
MEAS_S=$(awk -v u="$MEASURED_US" 'BEGIN { printf "%.2f", u / 1e6 }')
TRAIN_S=$(awk -v n="$STEPS" -v s="$STEP_SECONDS" 'BEGIN { printf "%.2f", n * s }')
LOST_MS=$(awk -v a="$MEASURED_US" -v b="$BASELINE_US" -v k="$DONE" 'BEGIN { printf "%.0f", (a - b) / 1000 / k }')
# What an interruption may cost: the work since the last checkpoint (under one step: every step checkpoints, and the
# notice's final sync saves the last) plus the restart time measured above.
ALLOWED_MS=$(awk -v s="$STEP_SECONDS" -v m="$MEAN" 'BEGIN { printf "%.0f", s * 1000 + m }')
read -r SERVER_KB AGENT_KB < <(awk '{ if ($1 > s) s = $1; if ($2 > a) a = $2 } END { print s + 0, a + 0 }' "$SAMPLES")

targets_met() {
    local ok=0
    awk -v p="$P50" -v t="$TARGET_P50_MS" 'BEGIN { exit !(p < t) }' || { echo "MISS: restart p50 $P50 ms, target < $TARGET_P50_MS ms"; ok=1; }
    ((LOST_MS <= ALLOWED_MS)) || { echo "MISS: $LOST_MS ms lost per interruption, allowed $ALLOWED_MS ms"; ok=1; }
    return $ok
}

cat <<REPORT

bench/recovery ($BUILD_LABEL build, $(nproc) cores; notice 1 s; a step of ${STEP_SECONDS} s checkpointed after each)
interrupt call -> user code running again, over $DONE interruptions:  p50 ${P50} ms   p99 ${P99} ms   mean ${MEAN} ms   (target p50 < ${TARGET_P50_MS} ms)
goodput: ${TRAIN_S} s of training took ${BASE_S} s uninterrupted (goodput $(awk -v t="$TRAIN_S" -v w="$BASE_S" 'BEGIN { printf "%.2f", t / w }')) and ${MEAS_S} s with $DONE interruptions (goodput $(awk -v t="$TRAIN_S" -v w="$MEAS_S" 'BEGIN { printf "%.2f", t / w }'))
lost per interruption: ${LOST_MS} ms   allowed (work since the last checkpoint + mean restart): ${ALLOWED_MS} ms
peak RSS: server $((SERVER_KB / 1024)) MB, agent $((AGENT_KB / 1024)) MB
REPORT
targets_met || true
report_targets
mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg build "$BUILD_LABEL" --argjson p50 "$P50" --argjson p99 "$P99" --argjson mean "$MEAN" --argjson n "$DONE" \
    --argjson baseline "$BASE_S" --argjson measured "$MEAS_S" --argjson lost "$LOST_MS" --argjson allowed "$ALLOWED_MS" \
    --argjson server_kb "$SERVER_KB" --argjson agent_kb "$AGENT_KB" \
    '{build: $build, restart_ms: {p50: $p50, p99: $p99, mean: $mean, interruptions: $n}, wall_seconds: {baseline: $baseline, interrupted: $measured},
      lost_ms_per_interruption: $lost, allowed_ms: $allowed, peak_rss_kb: {server: $server_kb, agent: $agent_kb}}' \
    >"$REPO_ROOT/bench/results/recovery-$(date -u +%Y%m%dT%H%M%SZ).json"
