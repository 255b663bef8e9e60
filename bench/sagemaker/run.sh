#!/usr/bin/env bash
# bench/sagemaker: what the SageMaker endpoint costs beside /v1. CONNECTIONS client processes run ROUNDS round trips
# each of create + describe through three paths, in alternating phases of the same run on the same server: the
# SageMaker endpoint (POST /: CreateTrainingJob, DescribeTrainingJob with SigV4, AWS JSON 1.1 and the service model's
# validation) through boto3, the same endpoint and calls through requests (signed by botocore's SigV4 signer), and
# /v1/jobs (POST, GET) through requests. Prints each path's round trips per second, the ratios to /v1 (the target is
# judged with the same client library on both sides, requests, as the issue asks; boto3's is printed beside it), the
# server's CPU per round trip and its peak RSS. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent beside it); default: a release build
#   CONNECTIONS     client processes, one connection each (default 4)
#   ROUNDS          round trips per thread per phase (default 250)
#   PHASES          phases per path, the paths' order reversed every other phase (default 6)
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

# Warm every path (connection pools, the validators' compiled patterns) before measuring.
for mode in v1 sagemaker-requests sagemaker; do
    "$VENV/bin/python" "$SCRIPT_DIR/drive.py" "$mode" "$BASE_URL" "$ADMIN_KEY" "$CONNECTIONS" 20 "warm-$mode" >/dev/null
done

HZ=$(getconf CLK_TCK)
MODES=(v1 sagemaker-requests sagemaker)
declare -A rates=() cpus=() clients=() phase_rate=() pair_ratios=()
# The paths' order is reversed every other phase (the queue grows through the run, and each path gets as many early and
# late turns); each phase's ratios are of paths that ran back to back, the least moved by the machine's other load.
for phase in $(seq 1 "$PHASES"); do
    order="v1 sagemaker-requests sagemaker"
    ((phase % 2 == 0)) && order="sagemaker sagemaker-requests v1"
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
    for mode in sagemaker-requests sagemaker; do
        pair_ratios[$mode]+="$(awk -v a="${phase_rate[$mode]}" -v b="${phase_rate[v1]}" 'BEGIN { printf "%.2f", a / b }') "
    done
done
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=''
PEAK_RSS_MB=$(awk '{ if ($1 > m) m = $1 } END { printf "%.0f", m / 1024 }' "$WORK_DIR/rss")

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A rate=() cpu=() client=() ratio=() cpu_ratio=()
for mode in "${MODES[@]}"; do
    rate[$mode]=$(median <<<"${rates[$mode]}")
    cpu[$mode]=$(median <<<"${cpus[$mode]}")
    client[$mode]=$(median <<<"${clients[$mode]}")
done
for mode in sagemaker-requests sagemaker; do
    ratio[$mode]=$(median <<<"${pair_ratios[$mode]}")
    cpu_ratio[$mode]=$(awk -v a="${cpu[$mode]}" -v b="${cpu[v1]}" 'BEGIN { printf "%.2f", a / b }')
done
RATIO=${ratio[sagemaker-requests]}

targets_met() { awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { exit !(r >= t) }'; }

echo
echo "bench/sagemaker ($BUILD_LABEL build, $(nproc) cores, $CONNECTIONS connections, $PHASES phases of $((CONNECTIONS * ROUNDS)) round trips per path)"
for mode in "${MODES[@]}"; do
    case $mode in
    v1) label="/v1 (requests)" ;;
    sagemaker-requests) label="SageMaker (requests)" ;;
    sagemaker) label="SageMaker (boto3)" ;;
    esac
    printf '  %-21s %s round trips/s (phases: %s); per round trip: server CPU %s ms, client CPU %s ms\n' "$label:" "${rate[$mode]}" \
        "${rates[$mode]}" "${cpu[$mode]}" "${client[$mode]}"
done
echo "  ratio SageMaker / v1, same client library (requests): ${RATIO} (median of each phase's pair: ${pair_ratios[sagemaker-requests]}; target >= ${TARGET_RATIO})"
echo "  ratio SageMaker through boto3 / v1 through requests:  ${ratio[sagemaker]} (phases: ${pair_ratios[sagemaker]}; boto3's own client costs count here)"
echo "  server CPU per round trip, SageMaker / v1: ${cpu_ratio[sagemaker-requests]}x through requests, ${cpu_ratio[sagemaker]}x through boto3 (SigV4, AWS JSON 1.1 and the service model's checks)"
echo "  server peak RSS:       ${PEAK_RSS_MB} MB"
targets_met || echo "  MISS: the SageMaker path ran at ${RATIO} of /v1's round trips per second with the same client library"
report_targets

mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg started "$STARTED_AT" --arg build "$BUILD_LABEL" --argjson connections "$CONNECTIONS" --argjson rss "$PEAK_RSS_MB" \
    --argjson v1 "${rate[v1]}" --argjson smr "${rate[sagemaker-requests]}" --argjson sm "${rate[sagemaker]}" \
    --argjson ratio "$RATIO" --argjson boto3ratio "${ratio[sagemaker]}" \
    --argjson v1cpu "${cpu[v1]}" --argjson smrcpu "${cpu[sagemaker-requests]}" --argjson smcpu "${cpu[sagemaker]}" \
    --argjson v1client "${client[v1]}" --argjson smrclient "${client[sagemaker-requests]}" --argjson smclient "${client[sagemaker]}" \
    '{started: $started, build: $build, connections: $connections, v1_per_second: $v1, sagemaker_requests_per_second: $smr,
      sagemaker_boto3_per_second: $sm, ratio: $ratio, boto3_ratio: $boto3ratio, v1_server_cpu_ms: $v1cpu,
      sagemaker_requests_server_cpu_ms: $smrcpu, sagemaker_boto3_server_cpu_ms: $smcpu, v1_client_cpu_ms: $v1client,
      sagemaker_requests_client_cpu_ms: $smrclient, sagemaker_boto3_client_cpu_ms: $smclient, server_peak_rss_mb: $rss}' \
    >"$REPO_ROOT/bench/results/sagemaker-$(date -u +%Y%m%dT%H%M%SZ).json"
