#!/usr/bin/env bash
# bench/notice: does a reclaim notice reach training code that handles it? A Python script that saves its checkpoint
# only in its own SIGTERM handler (as a PyTorch trainer's `signal.signal(SIGTERM, save)` does) is interrupted
# INTERRUPTIONS times (the admin interrupt call: a spot reclaim with a 1 s notice); after each, the job resumes. It
# counts the checkpoints saved on notice and the resumes that started from them (target: every one), and times the
# notice to training again (the call to the resumed script's first line, p50 and p99), beside the same stop and restart
# done directly on the same machine (SIGTERM to the script, wait, start it again), measured in the same run: the
# ratio is what the service adds. Peak RSS of the server and agents beside it. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN      binary to benchmark (trainyard-agent beside it); default: `swift build -c release --static-swift-stdlib` here
#   INTERRUPTIONS      interruptions (default 100)
#   TRAIN_SECONDS      seconds the script trains between interruptions, after its handler is installed (default 0.5)
#   STRICT             1: exit 3 when a target is missed (default 0)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=notice
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

INTERRUPTIONS=${INTERRUPTIONS:-100}
TRAIN_SECONDS=${TRAIN_SECONDS:-0.5}
STRICT=${STRICT:-0}

require_tools curl jq awk python3
resolve_binary
trap cleanup EXIT
SERVER_ENV="TRAINYARD_SPOT_NOTICE=1 TRAINYARD_CHECKPOINT_SYNC_INTERVAL=60"
start_server

CODE_DIR=$WORK_DIR/code
mkdir -p "$CODE_DIR"
# Checkpoints only on SIGTERM: a resume past the last one proves the notice reached the handler.
cat >"$CODE_DIR/train.py" <<'SCRIPT'
import json, os, signal, sys, time

checkpoint_dir = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
checkpoint = os.path.join(checkpoint_dir, "state.json")
state = {"step": 0}
if os.path.exists(checkpoint):
    with open(checkpoint) as handle:
        state = json.load(handle)
print(f"resumed from step {state['step']}", flush=True)


def on_sigterm(signum, frame):
    os.makedirs(checkpoint_dir, exist_ok=True)
    with open(checkpoint + ".tmp", "w") as handle:
        json.dump(state, handle)
    os.replace(checkpoint + ".tmp", checkpoint)
    print(f"saved on SIGTERM at step {state['step']}", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
print("handler installed", flush=True)
while True:
    state["step"] += 1
    time.sleep(0.01)
SCRIPT

job_spec() {
    jq -nc --arg name "$1" --arg code "file://$CODE_DIR" '{
        name: $name, instance_type: "ml.m5.large", instance_count: 1, use_spot_instances: true, max_run: 86400, max_wait: 172800,
        entry_point: "train.py", source_dir: $code, checkpoint_s3_uri: ("s3://checkpoints/" + $name), output_path: "s3://models/"}'
}
describe() { curl -sf "$BASE_URL/v1/jobs/$1" -H "Authorization: Bearer $ADMIN_KEY"; }
# The job's log lines as "micros<TAB>message", oldest first.
log_lines() {
    curl -sf "$BASE_URL/v1/jobs/$1/logs?limit=10000" -H "Authorization: Bearer $ADMIN_KEY" | jq -r '.lines[] | [.time, .message] | @tsv' |
        while IFS=$'\t' read -r t m; do printf '%s\t%s\n' "$(date -d "$t" +%s%6N)" "$m"; done
}
count_lines() { grep -c "$2" <<<"$1" || true; }
micros() { local t=${EPOCHREALTIME/./}; echo "$t"; }

SAMPLES=$WORK_DIR/rss
start_rss_sampler "$SAMPLES"

# 1. The baseline: the same stop and restart without the service (SIGTERM to the script, wait for it, start it again),
#    from the signal to the restarted script's first line.
log "baseline: $INTERRUPTIONS direct SIGTERM-and-restart cycles of the same script"
BASE_DIR=$WORK_DIR/direct
mkdir -p "$BASE_DIR"
BASELINE=$WORK_DIR/baseline
python3 - "$CODE_DIR/train.py" "$BASE_DIR" "$INTERRUPTIONS" "$TRAIN_SECONDS" >"$BASELINE" <<'DRIVER'
import os, signal, subprocess, sys, time
script, directory, cycles, train = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
env = dict(os.environ, SM_CHECKPOINT_DIR=directory)
def start():
    process = subprocess.Popen([sys.executable, script], env=env, stdout=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    return process, first, time.monotonic()
process, _, _ = start()
for _ in range(cycles):
    while process.stdout.readline().strip() != "handler installed":
        pass
    time.sleep(train)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.stdout.read()
    process.wait()
    process, first, at = start()
    assert first.startswith("resumed from step") and not first.startswith("resumed from step 0"), first
    print(int((at - sent) * 1000))
process.kill()
DRIVER

# 2. The service: interrupt the job's host, wait for the resumed script's first line.
log "measured: $INTERRUPTIONS interruptions of a spot job"
RESTARTS=$WORK_DIR/restarts
: >"$RESTARTS"
submit_job "$(job_spec notice)" >/dev/null
SAVED=0
RESUMED_FROM_NOTICE=0
for i in $(seq 1 "$INTERRUPTIONS"); do
    deadline=$((SECONDS + 120))
    # Training, with the handler of this attempt installed (one "handler installed" per attempt so far).
    until lines=$(log_lines notice) && (($(count_lines "$lines" $'\thandler installed$') >= i)); do
        ((SECONDS < deadline)) || die "attempt $i never installed its handler"
        sleep 0.05
    done
    sleep "$TRAIN_SECONDS"
    host=$(describe notice | jq -r '.attempts | last | .hosts[0].id')
    saved_before=$(count_lines "$lines" $'\tsaved on SIGTERM at step')
    called=$(micros)
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE_URL/v1/admin/hosts/$host/interrupt" -H "Authorization: Bearer $ADMIN_KEY")
    [[ $status == 202 ]] || die "interrupt $i answered $status"
    deadline=$((SECONDS + 120))
    until lines=$(log_lines notice) && (($(count_lines "$lines" $'\tresumed from step') >= i + 1)); do
        ((SECONDS < deadline)) || die "the job did not resume after interruption $i"
        sleep 0.05
    done
    # What this notice saved: a "saved" line that came after the ones counted before the call (none if it was missed).
    saved=$(grep $'\tsaved on SIGTERM at step' <<<"$lines" | sed -n "$((saved_before + 1))p" | awk '{ print $NF }')
    resumed_line=$(grep $'\tresumed from step' <<<"$lines" | sed -n "$((i + 1))p")
    resumed=${resumed_line##* }
    [[ -n $saved ]] && SAVED=$((SAVED + 1))
    [[ -n $saved && $resumed == "$saved" ]] && RESUMED_FROM_NOTICE=$((RESUMED_FROM_NOTICE + 1))
    echo $(( (${resumed_line%%$'\t'*} - called) / 1000 )) >>"$RESTARTS"
    log "interruption $i: saved at step ${saved:-none}, resumed from step $resumed, training again after $(tail -n1 "$RESTARTS") ms"
done
curl -s -o /dev/null -X POST "$BASE_URL/v1/jobs/notice/stop" -H "Authorization: Bearer $ADMIN_KEY"
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=

P50=$(percentile 50 <"$RESTARTS"); P99=$(percentile 99 <"$RESTARTS")
B50=$(percentile 50 <"$BASELINE"); B99=$(percentile 99 <"$BASELINE")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }
read -r SERVER_KB AGENT_KB < <(awk '{ if ($1 > s) s = $1; if ($2 > a) a = $2 } END { print s + 0, a + 0 }' "$SAMPLES")

targets_met() {
    local ok=0
    ((SAVED == INTERRUPTIONS)) || { echo "MISS: $SAVED of $INTERRUPTIONS checkpoints saved on notice"; ok=1; }
    ((RESUMED_FROM_NOTICE == INTERRUPTIONS)) || { echo "MISS: $RESUMED_FROM_NOTICE of $INTERRUPTIONS resumes started from them"; ok=1; }
    return $ok
}

cat <<REPORT

bench/notice ($BUILD_LABEL build, $(nproc) cores; notice 1 s; a Python script that checkpoints only in its SIGTERM handler)
checkpoints saved on notice: $SAVED of $INTERRUPTIONS   resumes that started from them: $RESUMED_FROM_NOTICE of $INTERRUPTIONS   (target: all)
notice -> training again:  p50 ${P50} ms   p99 ${P99} ms   (direct SIGTERM and restart: p50 ${B50} ms, p99 ${B99} ms; ratio p50 $(ratio "$P50" "$B50"), p99 $(ratio "$P99" "$B99"))
peak RSS: server $((SERVER_KB / 1024)) MB, agent $((AGENT_KB / 1024)) MB
REPORT
report_targets
mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg build "$BUILD_LABEL" --argjson n "$INTERRUPTIONS" --argjson saved "$SAVED" --argjson resumed "$RESUMED_FROM_NOTICE" \
    --argjson p50 "$P50" --argjson p99 "$P99" --argjson b50 "$B50" --argjson b99 "$B99" \
    --argjson server_kb "$SERVER_KB" --argjson agent_kb "$AGENT_KB" \
    '{build: $build, interruptions: $n, saved_on_notice: $saved, resumed_from_notice: $resumed,
      notice_to_training_ms: {p50: $p50, p99: $p99}, direct_restart_ms: {p50: $b50, p99: $b99}, peak_rss_kb: {server: $server_kb, agent: $agent_kb}}' \
    >"$REPO_ROOT/bench/results/notice-$(date -u +%Y%m%dT%H%M%SZ).json"
