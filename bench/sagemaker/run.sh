#!/usr/bin/env bash
# bench/sagemaker: what the SageMaker endpoint costs beside /v1. CONNECTIONS threads of one client run ROUNDS round
# trips each of create + describe, through boto3 against POST / (CreateTrainingJob, DescribeTrainingJob: SigV4, AWS
# JSON 1.1, the service model's validation) and through requests against /v1/jobs (POST, GET), in alternating phases
# of the same run on the same server; prints each path's round trips per second, the ratio, the server's CPU per round
# trip and its peak RSS. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent beside it); default: a release build
#   CONNECTIONS     client processes, one connection each (default 4)
#   ROUNDS          round trips per thread per phase (default 250)
#   PHASES          phases per path, in ABBA order (default 6)
#   BENCH_CACHE     where the client's venv (boto3, requests) lives (default ${XDG_CACHE_HOME:-~/.cache}/trainyard)
#   STRICT          1: exit 3 when the target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=sagemaker
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

CONNECTIONS=${CONNECTIONS:-4}
ROUNDS=${ROUNDS:-250}
PHASES=${PHASES:-6}
BENCH_CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}
SERVER_LOG_LEVEL=${TRAINYARD_LOG_LEVEL:-warning}
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The issue's target: the SageMaker path at 0.8 of the /v1 path's round trips per second or better.
TARGET_RATIO=0.8
# One ml.m5.large host, taken by a blocker job: the benchmark's jobs queue rather than start thousands of workers.
CAPACITY_JSON='{"default": {"on_demand": 4, "spot": 4}, "instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}'
SERVER_PID='' POSTMASTER_PID='' WORK_DIR='' SAMPLER_PID='' DATA_DIR=''
# Every job of the run waits behind the blocker: more than a project's default queue of 10,000.
SERVER_ENV="TRAINYARD_MAX_QUEUED_JOBS=1000000"

require_tools jq curl python3 ss:iproute2 psql:postgresql-client
resolve_binary
trap cleanup EXIT

# boto3 pinned as the tests pin it (TrainyardTestSupport/TestAWSClients.swift), and requests.
VENV=$BENCH_CACHE/sagemaker-bench-boto3-1.43.11
if [[ ! -f $VENV/.installed ]]; then
    log "installing boto3 1.43.11 and requests into $VENV"
    rm -rf "$VENV" && python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet 'boto3==1.43.11' requests && touch "$VENV/.installed"
fi

start_server
submit_job '{"name":"bench-blocker","instance_type":"ml.m5.large","command":["sleep","100000"]}' >/dev/null
start_rss_sampler "$WORK_DIR/rss"

server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

# Warm both paths (connection pools, the validators' compiled patterns) before measuring.
"$VENV/bin/python" "$SCRIPT_DIR/drive.py" v1 "$BASE_URL" "$ADMIN_KEY" "$CONNECTIONS" 20 warm-v1 >/dev/null
"$VENV/bin/python" "$SCRIPT_DIR/drive.py" sagemaker "$BASE_URL" "$ADMIN_KEY" "$CONNECTIONS" 20 warm-sm >/dev/null

HZ=$(getconf CLK_TCK)
declare -A rates=() cpus=() clients=() phase_rate=()
pair_ratios=
# ABBA order (v1 first in odd phases, SageMaker first in even ones): the queue grows through the run, and each path
# gets as many early and late turns.
for phase in $(seq 1 "$PHASES"); do
    order="v1 sagemaker"
    ((phase % 2 == 0)) && order="sagemaker v1"
    for mode in $order; do
        server_alive
        before=$(server_cpu_ticks)
        line=$("$VENV/bin/python" "$SCRIPT_DIR/drive.py" "$mode" "$BASE_URL" "$ADMIN_KEY" "$CONNECTIONS" "$ROUNDS" "p$phase-$mode") ||
            die "the $mode phase failed: $line"
        after=$(server_cpu_ticks)
        rate=$(jq -r .per_second <<<"$line")
        trips=$(jq -r .round_trips <<<"$line")
        cpu_ms=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$trips" 'BEGIN { printf "%.2f", t / hz * 1000 / n }')
        client_ms=$(awk -v s="$(jq -r .client_cpu_seconds <<<"$line")" -v n="$trips" 'BEGIN { printf "%.2f", s * 1000 / n }')
        log "phase $phase $mode: $rate round trips/s, server CPU $cpu_ms ms and client CPU $client_ms ms per round trip"
        rates[$mode]+="$rate "
        cpus[$mode]+="$cpu_ms "
        clients[$mode]+="$client_ms "
        phase_rate[$mode]=$rate
    done
    # Each phase's two paths ran back to back: their ratio is the one least moved by the machine's other load.
    pair_ratios+="$(awk -v a="${phase_rate[sagemaker]}" -v b="${phase_rate[v1]}" 'BEGIN { printf "%.2f", a / b }') "
done
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=''
PEAK_RSS_MB=$(awk '{ if ($1 > m) m = $1 } END { printf "%.0f", m / 1024 }' "$WORK_DIR/rss")

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
V1_RATE=$(median <<<"${rates[v1]}")
SM_RATE=$(median <<<"${rates[sagemaker]}")
V1_CPU=$(median <<<"${cpus[v1]}")
SM_CPU=$(median <<<"${cpus[sagemaker]}")
V1_CLIENT=$(median <<<"${clients[v1]}")
SM_CLIENT=$(median <<<"${clients[sagemaker]}")
RATIO=$(median <<<"$pair_ratios")
CPU_RATIO=$(awk -v a="$SM_CPU" -v b="$V1_CPU" 'BEGIN { printf "%.2f", a / b }')

targets_met() { awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { exit !(r >= t) }'; }

echo
echo "bench/sagemaker ($BUILD_LABEL build, $(nproc) cores, $CONNECTIONS connections, $PHASES phases of $((CONNECTIONS * ROUNDS)) round trips per path)"
echo "  /v1 (requests):        ${V1_RATE} round trips/s (phases: ${rates[v1]}); per round trip: server CPU ${V1_CPU} ms, client CPU ${V1_CLIENT} ms"
echo "  SageMaker (boto3):     ${SM_RATE} round trips/s (phases: ${rates[sagemaker]}); per round trip: server CPU ${SM_CPU} ms, client CPU ${SM_CLIENT} ms"
echo "  ratio SageMaker / v1:  ${RATIO} (median of each phase's pair: ${pair_ratios}; target >= ${TARGET_RATIO})"
echo "  server CPU per round trip, SageMaker / v1: ${CPU_RATIO}x (SigV4, AWS JSON 1.1 and the service model's checks)"
echo "  server peak RSS:       ${PEAK_RSS_MB} MB"
targets_met || echo "  MISS: the SageMaker path ran at ${RATIO} of /v1's round trips per second"
report_targets

mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg started "$STARTED_AT" --arg build "$BUILD_LABEL" --argjson v1 "$V1_RATE" --argjson sm "$SM_RATE" --argjson ratio "$RATIO" \
    --argjson v1cpu "$V1_CPU" --argjson smcpu "$SM_CPU" --argjson rss "$PEAK_RSS_MB" --argjson connections "$CONNECTIONS" \
    --argjson v1client "$V1_CLIENT" --argjson smclient "$SM_CLIENT" \
    '{started: $started, build: $build, connections: $connections, v1_per_second: $v1, sagemaker_per_second: $sm, ratio: $ratio,
      v1_server_cpu_ms: $v1cpu, sagemaker_server_cpu_ms: $smcpu, v1_client_cpu_ms: $v1client, sagemaker_client_cpu_ms: $smclient,
      server_peak_rss_mb: $rss}' \
    >"$REPO_ROOT/bench/results/sagemaker-$(date -u +%Y%m%dT%H%M%SZ).json"
