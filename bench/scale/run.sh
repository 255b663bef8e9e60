#!/usr/bin/env bash
# bench/scale: Trainyard's server at Slurm's default MaxJobCount. HOSTS running jobs of one host each, played by a
# driver that speaks the real agent protocol (assignment, a heartbeat every 2 s, a log batch with each), and QUEUED
# jobs waiting behind them; meanwhile CLIENTS users submit, list and describe. It prints the API's p50 and p99 per
# route under that load beside the same users on the idle server (the baseline, measured first in the same run), the
# scheduler's pass time, the server's and PostgreSQL's CPU per heartbeat, and the server's peak RSS.
# See bench/README.md ("Scale") for what it measures and how.
#
# Options (environment):
#   SCALE_BIN      trainyard-bench-scale to run (default: `swift build -c release --static-swift-stdlib --product trainyard-bench-scale`)
#   HOSTS          running hosts (default 1000)        QUEUED   jobs queued behind them (default 10000)
#   CLIENTS        concurrent users (default 8)        PHASE    seconds of each measured phase (default 30)
#   USER_INTERVAL  seconds between one user's calls (default 0.1: 10 calls a second each)
#   STRICT         1: exit 3 when a target is missed (default 0: report only)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=scale
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

HOSTS=${HOSTS:-1000}
QUEUED=${QUEUED:-10000}
CLIENTS=${CLIENTS:-8}
PHASE=${PHASE:-30}
USER_INTERVAL=${USER_INTERVAL:-0.1}
STRICT=${STRICT:-0}

require_tools jq curl
if [[ -n ${SCALE_BIN:-} ]]; then
    BIN=$SCALE_BIN
else
    log "building release (swift build -c release --static-swift-stdlib --product trainyard-bench-scale)"
    (cd "$REPO_ROOT" && swift build -c release --static-swift-stdlib --product trainyard-bench-scale) >&2
    BIN=$REPO_ROOT/.build/release/trainyard-bench-scale
fi
[[ -x $BIN ]] || die "no executable at $BIN"
# The handoff provisioner starts no agent; start_server passes this along all the same.
AGENT_BIN=/bin/true
trap cleanup EXIT

HANDOFF=$(mktemp /tmp/trainyard-scale-handoff.XXXXXX)
PASSES=$(mktemp /tmp/trainyard-scale-passes.XXXXXX)
CAPACITY_JSON=$(jq -n --argjson n "$HOSTS" '{default: {on_demand: 4, spot: 4}, instance_types: {"ml.m5.large": {on_demand: $n, spot: 0}}}')
# The queue is deeper than the default per-project limit (10,000), which would refuse the users' submissions.
# The server appends each scheduling pass's duration to $PASSES (its swift-metrics timer) for the driver.
SERVER_ENV="TRAINYARD_BENCH_HANDOFF=$HANDOFF TRAINYARD_BENCH_PASSES=$PASSES TRAINYARD_MAX_QUEUED_JOBS=$((QUEUED * 2 + 10000))"
start_server
PG_PORT=$(sed -n 4p "$DATA_DIR/postgres/data/postmaster.pid")

RESULT=$REPO_ROOT/bench/results/scale-$(date -u +%Y%m%dT%H%M%SZ).json
mkdir -p "$(dirname "$RESULT")"
log "driving: $HOSTS hosts, $QUEUED queued, $CLIENTS users, ${PHASE} s phases ($(nproc) cores)"
"$BIN" drive --url "$BASE_URL" --key "$ADMIN_KEY" --handoff "$HANDOFF" --pg-socket "$PG_SOCK/.s.PGSQL.$PG_PORT" \
    --server-pid "$SERVER_PID" --postmaster-pid "$POSTMASTER_PID" --hosts "$HOSTS" --queued "$QUEUED" --clients "$CLIENTS" --user-interval "$USER_INTERVAL" \
    --phase-seconds "$PHASE" --out "$RESULT" --passes "$PASSES"
rm -f "$HANDOFF" "$PASSES"
log "results: $RESULT"

targets_met() {
    # (jq orders null below every number: a pass figure the server never wrote is a miss, not a pass)
    jq -e '([.routes[] | .loaded_p99_ms <= 100] | all) and .scheduler_pass_ms.server_own_passes > 0
        and .scheduler_pass_ms.server_own_p99 <= 50 and .server_rss_mb.peak <= 150' \
        "$RESULT" >/dev/null
}
report_targets
