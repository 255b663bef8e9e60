#!/usr/bin/env bash
# bench/webhooks: webhook deliveries per second from the server's outbox to a local receiver, beside a bare loop of
# AsyncHTTPClient POSTs of the same bodies to the same kind of receiver with as many requests in flight, in the same
# run, and the ratio; then the end-to-end latency from a job's state change to its delivery, p50/p99. See
# bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent and trainyard-bench-webhooks beside it); default: release build
#   DELIVERIES      deliveries of the rate phase (default 20000), spread over SUBSCRIPTIONS subscriptions (default 10)
#   LATENCY_JOBS    jobs of the latency phase, submitted LATENCY_GAP s apart (default 40, 0.25)
#   CONCURRENCY     requests in flight for the baseline (default 64: the sender's batch)
#   STRICT          1: exit 3 when a target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=webhooks
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

DELIVERIES=${DELIVERIES:-20000}
SUBSCRIPTIONS=${SUBSCRIPTIONS:-10}
LATENCY_JOBS=${LATENCY_JOBS:-40}
LATENCY_GAP=${LATENCY_GAP:-0.25}
CONCURRENCY=${CONCURRENCY:-64}
STRICT=${STRICT:-0}
TARGET_RATIO=0.5
TARGET_P99_MS=500
RECEIVER_PIDS=()

trap 'for p in "${RECEIVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT
require_tools jq: curl: psql:postgresql-client
[[ $(id -u) == 0 ]] || die "run as root: psql reaches the embedded cluster through its owner-only socket directory"
resolve_binary
TOOL=$(dirname "$(readlink -f "$BIN")")/trainyard-bench-webhooks
if [[ ! -x $TOOL ]]; then
    log "building the receiver and baseline tool (swift build -c release --static-swift-stdlib --product trainyard-bench-webhooks)"
    (cd "$REPO_ROOT" && swift build -c release --static-swift-stdlib --product trainyard-bench-webhooks) >&2
    TOOL=$REPO_ROOT/.build/release/trainyard-bench-webhooks
fi
# The receivers listen on loopback, which webhooks reach only when the operator allows it.
SERVER_ENV="TRAINYARD_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 ${SERVER_ENV:-}"
start_server

# Starts a receiver on a free port that exits after $1 requests (or at SIGTERM), writing its lines to $2; sets
# RECEIVER_PORT and RECEIVER_PID (not in a subshell, so that cleanup knows every receiver).
start_receiver() {
    local expect=$1 out=$2 port
    port=$(free_port)
    "$TOOL" receive --port "$port" --out "$out" --expect "$expect" >"$out.log" 2>&1 &
    RECEIVER_PID=$!
    RECEIVER_PIDS+=("$RECEIVER_PID")
    local deadline=$((SECONDS + 30))
    until curl -s -o /dev/null -X POST "http://127.0.0.1:$port/probe" 2>/dev/null; do
        ((SECONDS < deadline)) || die "receiver on $port did not start"
        sleep 0.1
    done
    RECEIVER_PORT=$port
}

wait_pid() {
    local pid=$1 limit=$2 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || die "process $pid still running after $limit s"
        sleep 0.1
    done
}

subscribe() {
    curl -sf -X POST "$BASE_URL/v1/webhooks" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
        -d "{\"url\":\"$1\",\"events\":[\"*\"]}" | jq -r .id
}

# ---------------------------------------------------------------------------------------------------------------------
# Rate. The outbox is filled through SQL, as bench/submit prefills jobs (creating 20,000 job changes through the API
# would measure the submissions): DELIVERIES rows over SUBSCRIPTIONS subscriptions, each of its own job id (one job's
# deliveries go one at a time; these are many jobs'), with a real event's body, all due in 3 s.
per_subscription=$((DELIVERIES / SUBSCRIPTIONS))
DELIVERIES=$((per_subscription * SUBSCRIPTIONS))
start_receiver "$DELIVERIES" "$WORK_DIR/rate.txt"
rate_port=$RECEIVER_PORT rate_receiver=$RECEIVER_PID
for _ in $(seq 1 "$SUBSCRIPTIONS"); do subscribe "http://127.0.0.1:$rate_port/hook" >/dev/null; done
body=$(jq -cn '{type: "job.status_changed", timestamp: "2026-11-25T12:00:00.000Z",
    data: {job_name: "bench-job", status: "InProgress", secondary_status: "Training",
           message: "Training image download completed. Training in progress.", time: "2026-11-25T12:00:00.000Z"}}')
sql -v body="$body" <<SQL >/dev/null
INSERT INTO webhook_deliveries (id, subscription_id, job_id, job_name, event_type, payload, created_at, next_attempt_at)
SELECT 'msg_bench_' || s.id || '_' || g, s.id, g, 'bench-job', 'job.status_changed', :'body', now(), now() + interval '3 seconds'
FROM generate_series(1, $per_subscription) g, webhook_subscriptions s;
SQL
log "rate: $DELIVERIES deliveries over $SUBSCRIPTIONS subscriptions, due in 3 s"
wait_pid "$rate_receiver" 600
read -r first last < <(sort -g "$WORK_DIR/rate.txt" | awk 'NR == 1 { f = $1 } { l = $1 } END { print f, l }')
rate_seconds=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", b - a }')
rate=$(awk -v n="$DELIVERIES" -v s="$rate_seconds" 'BEGIN { printf "%.0f", (n - 1) / s }')
server_rss_kb=$(vm_kb "$SERVER_PID" VmHWM)
log "rate: $rate deliveries/s ($DELIVERIES in $rate_seconds s from the first arrival to the last)"

# Baseline: the same bodies, POSTed by a bare AsyncHTTPClient loop with CONCURRENCY in flight to a fresh receiver.
sql -c "\\copy (SELECT payload FROM webhook_deliveries WHERE id LIKE 'msg_bench_%' ORDER BY seq) TO '$WORK_DIR/bodies.txt'"
start_receiver "$DELIVERIES" "$WORK_DIR/baseline.txt"
base_port=$RECEIVER_PORT base_receiver=$RECEIVER_PID
base_seconds=$("$TOOL" post --url "http://127.0.0.1:$base_port/hook" --bodies "$WORK_DIR/bodies.txt" --concurrency "$CONCURRENCY")
wait_pid "$base_receiver" 60
base_rate=$(awk -v n="$DELIVERIES" -v s="$base_seconds" 'BEGIN { printf "%.0f", n / s }')
ratio=$(awk -v a="$rate" -v b="$base_rate" 'BEGIN { printf "%.2f", a / b }')
log "baseline: $base_rate POSTs/s ($base_seconds s); ratio $ratio"
sql -c "DELETE FROM webhook_subscriptions" >/dev/null

# ---------------------------------------------------------------------------------------------------------------------
# Latency: real jobs, one subscription; each delivery's arrival minus the time of the change it announces (data.time).
start_receiver 1000000 "$WORK_DIR/latency.txt"
lat_port=$RECEIVER_PORT lat_receiver=$RECEIVER_PID
subscribe "http://127.0.0.1:$lat_port/hook" >/dev/null
log "latency: $LATENCY_JOBS jobs, one every $LATENCY_GAP s"
for i in $(seq 1 "$LATENCY_JOBS"); do
    submit_job "{\"name\":\"lat-$i\",\"instance_type\":\"ml.m5.large\",\"command\":[\"true\"]}" >/dev/null
    sleep "$LATENCY_GAP"
done
for i in $(seq 1 "$LATENCY_JOBS"); do wait_job_end "lat-$i" 120 >/dev/null; done
deadline=$((SECONDS + 60))
until [[ $(sql -c "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == 0 ]]; do
    ((SECONDS < deadline)) || die "deliveries still pending after 60 s"
    sleep 0.2
done
kill -TERM "$lat_receiver"
wait_pid "$lat_receiver" 30
awk '$4 ~ /^lat-/ { print $1, $3 }' "$WORK_DIR/latency.txt" | while read -r arrival time; do
    printf '%s %s\n' "$arrival" "$(date -d "$time" +%s.%3N)"
done | awk '{ printf "%.1f\n", ($1 - $2) * 1000 }' >"$WORK_DIR/latency-ms.txt"
events=$(wc -l <"$WORK_DIR/latency-ms.txt")
p50=$(percentile 50 <"$WORK_DIR/latency-ms.txt")
p99=$(percentile 99 <"$WORK_DIR/latency-ms.txt")
max=$(percentile 100 <"$WORK_DIR/latency-ms.txt")
log "latency: $events deliveries, p50 $p50 ms, p99 $p99 ms, max $max ms"

ratio_ok=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "yes" : "no" }')
p99_ok=$(awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t) ? "yes" : "no" }')
printf '\n'
printf 'bench/webhooks  (%s build, %s cores)\n' "$BUILD_LABEL" "$(nproc)"
printf '  sender      %7s deliveries/s   (%s deliveries, %s subscriptions, from the outbox to the receiver)\n' "$rate" "$DELIVERIES" "$SUBSCRIPTIONS"
printf '  baseline    %7s POSTs/s        (AsyncHTTPClient loop, %s in flight, same bodies)\n' "$base_rate" "$CONCURRENCY"
printf '  ratio       %7s                target >= %s: %s\n' "$ratio" "$TARGET_RATIO" "$ratio_ok"
printf '  latency     p50 %s ms, p99 %s ms, max %s ms over %s deliveries   target p99 < %s ms: %s\n' "$p50" "$p99" "$max" "$events" "$TARGET_P99_MS" "$p99_ok"
printf '  server RSS  %s MB peak\n' "$((server_rss_kb / 1024))"
mkdir -p "$REPO_ROOT/bench/results"
result=$REPO_ROOT/bench/results/webhooks-$(date -u +%Y%m%dT%H%M%SZ).json
jq -n --arg build "$BUILD_LABEL" --argjson cores "$(nproc)" --argjson deliveries "$DELIVERIES" --argjson subscriptions "$SUBSCRIPTIONS" \
    --argjson rate "$rate" --argjson base "$base_rate" --argjson ratio "$ratio" --argjson p50 "$p50" --argjson p99 "$p99" --argjson max "$max" \
    --argjson events "$events" --argjson rss "$server_rss_kb" \
    '{build: $build, cores: $cores, rate: {deliveries: $deliveries, subscriptions: $subscriptions, per_second: $rate, baseline_per_second: $base, ratio: $ratio},
      latency_ms: {deliveries: $events, p50: $p50, p99: $p99, max: $max}, server_rss_kb: $rss}' >"$result"
log "results in $result"
if [[ $STRICT == 1 && ($ratio_ok != yes || $p99_ok != yes) ]]; then exit 3; fi
