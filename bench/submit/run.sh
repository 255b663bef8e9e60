#!/usr/bin/env bash
# bench/submit: N concurrent HTTP clients submit jobs through POST /v1/jobs; beside the job rate, the rate of a bare
# single-row INSERT + COMMIT into the same database at the same concurrency, measured in the same run, and the ratio.
# See bench/README.md for what it measures and why the baseline is fair.
#
# Options (environment):
#   TRAINYARD_BIN     binary to benchmark (trainyard-agent must be beside it, or set TRAINYARD_AGENT_BIN, for the blocker
#                     job); default: `swift build -c release --static-swift-stdlib` of both products, .build/release/trainyard
#   CLIENTS           concurrent HTTP connections and pgbench clients (default 8)
#   JOBS              job submissions per phase (default 20000)
#   PREFILL           jobs already in the database at the start of each phase, one phase per size (default "1000 100000")
#   BASELINE_SECONDS  length of each pgbench baseline run (default 15)
#   MAX_PHASE_SECONDS upper bound on one HTTP phase; it ends early once JOBS responses are in (default 300)
#   WARMUP            requests sent (and not measured) right after start, to open connection pools (default 50×CLIENTS)
#   BUILD_LABEL       how the binary was built, for the report (default: release when built here, else guessed from the path)
#   FLOOR_SECONDS     length of the GET /healthz run that measures the floor of any request (default 5; 0: skip it)
#   STRICT            1: exit 3 when a target is missed (default 0: report only)
#   TRAINYARD_LOG_LEVEL passed through to the server (default warning, so that log volume is not what is measured)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=submit
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

CLIENTS=${CLIENTS:-8}
JOBS=${JOBS:-20000}
PREFILL=${PREFILL:-"1000 100000"}
BASELINE_SECONDS=${BASELINE_SECONDS:-15}
MAX_PHASE_SECONDS=${MAX_PHASE_SECONDS:-300}
WARMUP=${WARMUP:-$((CLIENTS * 50))}
FLOOR_SECONDS=${FLOOR_SECONDS:-5}
STRICT=${STRICT:-0}

# Targets from the issue.
TARGET_RATIO=0.5
TARGET_P99_MS=50
TARGET_RSS_MB=150

# The spec every client submits: the smallest valid one; no name, so the server generates one per job.
SPEC='{"instance_type":"ml.m5.large","command":["python3","train.py"]}'

PG_BIN=/usr/lib/postgresql/15/bin
CORES=$(nproc)

# One ml.m5.large host in all: a blocker job takes it, so the submitted jobs queue (Pending) instead of starting
# thousands of worker processes; the scheduler still runs beside the submissions, as in a real deployment.
CAPACITY_JSON='{"default": {"on_demand": 4, "spot": 4}, "instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}'

# ---------------------------------------------------------------------------------------------------------------------
# Database helpers

job_count() { sql -c "SELECT count(*) FROM jobs"; }

# One job through the API: checks the endpoint works and gives prefill a row whose shape the server wrote itself.
# Before it, the blocker: a job that holds the only ml.m5.large host for the whole run.
submit_template_job() {
    local out
    submit_job '{"name":"bench-blocker","instance_type":"ml.m5.large","command":["sleep","100000"]}' >/dev/null
    out=$(submit_job "$SPEC")
    TEMPLATE_JOB=$(jq -r .name <<<"$out")
    log "template job $TEMPLATE_JOB created through the API"
}

# Bring the jobs table to $1 rows by copying the template job (and its events) with SQL: 100,000 jobs through the API
# would take longer than the benchmark. Names are unique, creation times spread backwards one second apart so the
# indexes see distinct keys. Then VACUUM ANALYZE and CHECKPOINT, so the phase does not pay for the bulk load.
# The copies are Completed, as most jobs of a long-lived database are; copies still queued would have the scheduler
# working through 100,000 jobs while the phase is measured.
prefill_to() {
    local target=$1 phase=$2 have add
    have=$(job_count)
    add=$((target - have))
    if ((add > 0)); then
        log "prefill: $have jobs, adding $add"
        sql -v tmpl="$TEMPLATE_JOB" -v n="$add" -v phase="$phase" <<'SQL'
WITH t AS (SELECT * FROM jobs WHERE name = :'tmpl'),
ins AS (
    INSERT INTO jobs (project_id, name, spec, status, secondary_status, failure_reason, instance_type, instance_count,
                      use_spot, priority, idempotency_key, request_hash, created_at, last_modified_at,
                      training_start_time, training_end_time)
    SELECT t.project_id, n.name, jsonb_set(t.spec, '{name}', to_jsonb(n.name)), 'Completed', 'Completed',
           t.failure_reason, t.instance_type, t.instance_count, t.use_spot, t.priority, NULL, t.request_hash,
           t.created_at - make_interval(secs => g), t.created_at - make_interval(secs => g),
           t.training_start_time, t.training_end_time
    FROM t, generate_series(1, :n) g,
         LATERAL (SELECT format('prefill-%s-%s', :'phase', g) AS name) n
    RETURNING id, created_at
)
INSERT INTO job_events (job_id, time, type, status, secondary_status, message)
SELECT ins.id, ins.created_at, e.type, e.status, e.secondary_status, e.message
FROM ins, job_events e
WHERE e.job_id = (SELECT id FROM t);
SQL
    else
        log "prefill: already $have jobs (asked for $target)"
    fi
    sql -c "VACUUM ANALYZE jobs" -c "VACUUM ANALYZE job_events" -c "CHECKPOINT"
}

# The baseline's table: as wide as a job row's essentials (bigserial id, text name, jsonb spec of the same body the
# server stores, timestamps), primary key only. Recreated per phase so each baseline starts from an empty table.
create_baseline_table() {
    sql <<'SQL'
SET client_min_messages TO warning;
DROP TABLE IF EXISTS bench_baseline;
CREATE TABLE bench_baseline (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL,
    spec             jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    last_modified_at timestamptz NOT NULL
);
CHECKPOINT;
SQL
}

# ---------------------------------------------------------------------------------------------------------------------
# Memory

# The postmaster's live children (backends and background processes), their pids on one line.
postgres_children() {
    local children=""
    read -r children <"/proc/$POSTMASTER_PID/task/$POSTMASTER_PID/children" 2>/dev/null || true
    echo "$children"
}

# Postgres processes: the postmaster and its children. PSS, not RSS: every backend maps shared_buffers, so a sum of
# RSS would count the shared memory once per process. One awk over every process's smaps_rollup: the sampler runs
# beside the measured submissions, so it must cost next to nothing (an awk and a ps per process every 0.25 s took 9 %
# of the machine's CPU during the HTTP half, and none during the baseline).
postgres_pss_kb() {
    local files=() p
    for p in $POSTMASTER_PID $(postgres_children); do files+=("/proc/$p/smaps_rollup"); done
    awk '/^Pss:/ {t += $2} END {print t + 0}' "${files[@]}" 2>/dev/null || echo 0
}

# The server's VmRSS in kB, read by bash itself (no fork).
server_rss_kb() {
    local key value rest
    while read -r key value rest; do
        [[ $key == VmRSS: ]] && { echo "$value"; return; }
    done <"/proc/$SERVER_PID/status" 2>/dev/null
    echo 0
}

# Every 0.5 s: the server's VmRSS and the postgres PSS sum, one line each, until killed. (The peak held to the target
# is the kernel's VmHWM, read after the phase, which no sampling interval can miss.)
start_sampler() {
    local out=$1
    : >"$out"
    (
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            echo "$(server_rss_kb) $(postgres_pss_kb)" >>"$out"
            sleep 0.5
        done
    ) &
    SAMPLER_PID=$!
}

stop_sampler() {
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
}

vm_hwm_kb() { server_alive; vm_kb "$SERVER_PID" VmHWM; }

# ---------------------------------------------------------------------------------------------------------------------
# CPU: where each operation's time goes

# Clock ticks of CPU (user + system) used so far, read from /proc/<pid>/stat (fields 14-17: utime, stime, and the
# cutime/cstime of children already reaped). The rate of either half is bounded by the two cores it shares, so the
# CPU one operation costs, per party, says where a faster rate would have to come from.
CLK_TCK=$(getconf CLK_TCK)
proc_ticks() { awk -v kids="${2:-0}" '{print $14 + $15 + (kids ? $16 + $17 : 0)}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The server: its own threads (the agent of the blocker job is a child it has not reaped, so not counted).
server_ticks() { proc_ticks "$SERVER_PID"; }
# PostgreSQL: the postmaster with the backends it has reaped (pgbench's connections end before the figures are read),
# plus every live child (the server's pooled connections, the background processes).
postgres_ticks() {
    local p total
    total=$(proc_ticks "$POSTMASTER_PID" 1)
    for p in $(postgres_children); do total=$((total + $(proc_ticks "$p"))); done
    echo "$total"
}
# The load generator (wrk or pgbench): this shell's reaped children, read around the one command.
loadgen_ticks() { proc_ticks $$ 1 | awk -v own="$(proc_ticks $$)" '{print $1 - own}'; }
# The whole machine: busy ticks of all cores (user, nice, system, irq, softirq) from /proc/stat.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }

# cpu_begin; <command>; cpu_end <operations>: sets CPU_JSON to microseconds of CPU per operation of each party.
cpu_begin() { CPU0=("$(server_ticks)" "$(postgres_ticks)" "$(loadgen_ticks)" "$(machine_ticks)"); }
cpu_end() {
    local ops=$1
    CPU_JSON=$(jq -nc --argjson ops "$ops" --argjson hz "$CLK_TCK" \
        --argjson s $(($(server_ticks) - CPU0[0])) --argjson p $(($(postgres_ticks) - CPU0[1])) \
        --argjson l $(($(loadgen_ticks) - CPU0[2])) --argjson m $(($(machine_ticks) - CPU0[3])) \
        'def us(t): (t * 1e6 / $hz / $ops | round);
         {server: us($s), postgres: us($p), load_generator: us($l), machine: us($m)}')
}

# ---------------------------------------------------------------------------------------------------------------------
# Load

# wrk: CLIENTS connections over one thread per core (no more threads than connections), $1 requests in all.
# Sets WRK_* variables from the BENCH line the Lua script's done() prints.
run_wrk() {
    local requests=$1 label=$2 threads out done_dir
    threads=$((CORES < CLIENTS ? CORES : CLIENTS))
    done_dir=$(mktemp -d "$WORK_DIR/wrk-done.XXXX")
    out=$WORK_DIR/wrk-$label.out
    BENCH_KEY=$ADMIN_KEY BENCH_BODY=$SPEC BENCH_DONE_DIR=$done_dir \
        wrk -t "$threads" -c "$CLIENTS" -d "${MAX_PHASE_SECONDS}s" --timeout 30s \
        -s "$SCRIPT_DIR/submit.lua" "$BASE_URL/v1/jobs" -- "$requests" "$threads" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    server_alive
    local line
    line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "wrk printed no BENCH line"; }
    local kv
    # shellcheck disable=SC2086 # word splitting of key=value pairs is intended
    for kv in ${line#BENCH }; do printf -v "WRK_${kv%%=*}" '%s' "${kv#*=}"; done
    if ((WRK_non201 > 0)); then
        grep '^BENCH_SAMPLE' "$out" >&2 || true
        die "$label: $WRK_non201 of $WRK_requests responses were not 201"
    fi
    local socket_errors=$((WRK_err_connect + WRK_err_read + WRK_err_write + WRK_err_timeout))
    ((socket_errors == 0)) || { cat "$out" >&2; die "$label: $socket_errors socket errors or timeouts"; }
    ((WRK_requests >= requests)) || log "$label: only $WRK_requests of $requests requests in the ${MAX_PHASE_SECONDS}s cap"
}

# pgbench: the same number of clients, each running one single-row INSERT per transaction (autocommit), prepared.
# Sets PGB_TPS and PGB_LAT_MS.
run_baseline() {
    local label=$1 spec_json script out threads
    # The very body the server stored for the template job, so the row carries the same bytes.
    spec_json=$(sql -v tmpl="$TEMPLATE_JOB" <<<"SELECT spec::text FROM jobs WHERE name = :'tmpl'")
    script=$WORK_DIR/baseline.sql
    # pgbench substitutes :client_id and :n; the spec is a literal (single quotes doubled).
    printf '%s\n' '\set n random(1, 1000000000)' \
        "INSERT INTO bench_baseline (name, spec, created_at, last_modified_at) VALUES ('job-' || :client_id || '-' || :n, '${spec_json//\'/\'\'}'::jsonb, now(), now());" \
        >"$script"
    create_baseline_table
    threads=$((CLIENTS < 2 ? CLIENTS : 2))
    out=$WORK_DIR/pgbench-$label.out
    local backends
    backends=$(postgres_children | wc -w)
    cpu_begin
    "$PG_BIN/pgbench" -n -M prepared -f "$script" -c "$CLIENTS" -j "$threads" -T "$BASELINE_SECONDS" \
        -h "$PG_SOCK" -U trainyard trainyard >"$out" 2>&1 || { cat "$out" >&2; die "pgbench failed"; }
    # pgbench's backends end just after it does; their CPU is the postmaster's once it has reaped them.
    local deadline=$((SECONDS + 10))
    while (($(postgres_children | wc -w) > backends && SECONDS < deadline)); do sleep 0.05; done
    cpu_end "$(awk '/^number of transactions actually processed: / {split($6, a, "/"); print a[1]; exit}' "$out")"
    PGB_CPU_JSON=$CPU_JSON
    PGB_TPS=$(awk '/^tps = / {print $3; exit}' "$out")
    PGB_LAT_MS=$(awk '/^latency average = / {print $4; exit}' "$out")
    [[ -n $PGB_TPS ]] || { cat "$out" >&2; die "could not read pgbench tps"; }
    local failed
    failed=$(awk '/^number of failed transactions: / {print $5; exit}' "$out")
    [[ -z $failed || $failed == 0 ]] || die "pgbench: $failed failed transactions"
}

# ---------------------------------------------------------------------------------------------------------------------
# One phase: prefill, the HTTP load with memory sampled, then the baseline on the same database.

PHASES_JSON='[]'

run_phase() {
    local phase=$1 target=$2 rows samples
    prefill_to "$target" "$phase"
    rows=$(job_count)

    # Anything else running on the machine competes for the same cores; keep the load average beside the figures.
    local load_before
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    samples=$WORK_DIR/mem-$phase.txt
    log "phase $phase: $rows jobs in the database; $JOBS submissions over $CLIENTS connections"
    start_sampler "$samples"
    cpu_begin
    run_wrk "$JOBS" "phase$phase"
    cpu_end "$WRK_requests"
    stop_sampler
    local jobs_cpu_json=$CPU_JSON
    local hwm_kb rss_max_kb pg_max_kb
    hwm_kb=$(vm_hwm_kb)
    rss_max_kb=$(awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$samples")
    pg_max_kb=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$samples")
    local rows_after load_after
    rows_after=$(job_count)
    load_after=$(cut -d' ' -f1 /proc/loadavg)

    sql -c "CHECKPOINT"
    log "phase $phase: baseline, pgbench $CLIENTS clients for ${BASELINE_SECONDS}s"
    run_baseline "phase$phase"

    PHASES_JSON=$(jq -c \
        --argjson phase "$phase" --argjson prefill "$rows" --argjson rows_after "$rows_after" \
        --argjson requests "$WRK_requests" --argjson duration_us "$WRK_duration_us" \
        --argjson p50 "$WRK_p50_us" --argjson p90 "$WRK_p90_us" --argjson p99 "$WRK_p99_us" --argjson max "$WRK_max_us" \
        --argjson tps "$PGB_TPS" --argjson pgb_lat "${PGB_LAT_MS:-null}" \
        --argjson hwm "$hwm_kb" --argjson rss_max "$rss_max_kb" --argjson pg_max "$pg_max_kb" \
        --argjson samples "$(wc -l <"$samples")" --argjson load_before "$load_before" --argjson load_after "$load_after" \
        --argjson jobs_cpu "$jobs_cpu_json" --argjson baseline_cpu "$PGB_CPU_JSON" \
        '. + [{
            phase: $phase, prefill_rows: $prefill, rows_after: $rows_after,
            requests: $requests, seconds: ($duration_us / 1e6),
            jobs_per_s: ($requests / ($duration_us / 1e6)),
            latency_ms: {p50: ($p50 / 1000), p90: ($p90 / 1000), p99: ($p99 / 1000), max: ($max / 1000)},
            baseline_insert_rows_per_s: $tps, baseline_latency_avg_ms: $pgb_lat,
            ratio: (($requests / ($duration_us / 1e6)) / $tps),
            server_rss_mb: {vm_hwm: ($hwm / 1024), phase_max_vm_rss: ($rss_max / 1024)},
            postgres_pss_sum_mb_max: ($pg_max / 1024), memory_samples: $samples,
            loadavg_1m: {before: $load_before, after_http: $load_after},
            cpu_us_per_job: $jobs_cpu, baseline_cpu_us_per_row: $baseline_cpu
        }]' <<<"$PHASES_JSON")
}

# The floor of any request through this server here: GET /healthz (no authentication, no JSON, no database) over the
# same connections for FLOOR_SECONDS, with its CPU per request. Sets FLOOR_JSON.
FLOOR_JSON=null
run_floor() {
    local threads out
    ((FLOOR_SECONDS > 0)) || return 0
    threads=$((CORES < CLIENTS ? CORES : CLIENTS))
    out=$WORK_DIR/wrk-healthz.out
    log "floor: GET /healthz over $CLIENTS connections for ${FLOOR_SECONDS}s"
    cpu_begin
    wrk -t "$threads" -c "$CLIENTS" -d "${FLOOR_SECONDS}s" "$BASE_URL/healthz" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    local requests seconds
    read -r requests seconds < <(awk '/requests in/ {sub(/s,$/, "", $4); print $1, $4; exit}' "$out")
    [[ -n $requests ]] || { cat "$out" >&2; die "could not read wrk's request count"; }
    cpu_end "$requests"
    FLOOR_JSON=$(jq -nc --argjson n "$requests" --argjson s "$seconds" --argjson cpu "$CPU_JSON" \
        '{path: "/healthz", requests: $n, requests_per_s: ($n / $s), cpu_us_per_request: $cpu}')
}

# ---------------------------------------------------------------------------------------------------------------------
# Report

print_report() {
    jq -r --argjson tr "$TARGET_RATIO" --argjson tp "$TARGET_P99_MS" --argjson tm "$TARGET_RSS_MB" '
        def f(n; d): (n * pow(10; d) | round / pow(10; d) | tostring);
        def mark(ok): if ok then "ok" else "MISS" end;
        (["phase", "prefill", "jobs/s", "p50 ms", "p99 ms", "insert/s", "ratio", "srv RSS MB", "pg PSS MB", "load", "targets"] | @tsv),
        (["", "", "", "", "<\($tp)", "", ">=\($tr)", "<\($tm)", "", "", ""] | @tsv),
        (.[] | [
            (.phase | tostring), (.prefill_rows | tostring), f(.jobs_per_s; 0), f(.latency_ms.p50; 2), f(.latency_ms.p99; 2),
            f(.baseline_insert_rows_per_s; 0), f(.ratio; 3), f(.server_rss_mb.vm_hwm; 1), f(.postgres_pss_sum_mb_max; 1),
            (.loadavg_1m.after_http | tostring),
            "ratio \(mark(.ratio >= $tr)), p99 \(mark(.latency_ms.p99 < $tp)), rss \(mark(.server_rss_mb.vm_hwm < $tm))"
        ] | @tsv)' <<<"$PHASES_JSON" | column -t -s $'\t'
    echo
    echo "CPU per operation, microseconds (server, postgres, load generator, whole machine):"
    jq -r --argjson floor "$FLOOR_JSON" '
        def c(x): "\(x.server) / \(x.postgres) / \(x.load_generator) / \(x.machine)";
        (["phase", "per job (HTTP)", "per row (bare insert)"] | @tsv),
        (.[] | [(.phase | tostring), c(.cpu_us_per_job), c(.baseline_cpu_us_per_row)] | @tsv),
        (if $floor == null then empty else
            ["floor", "GET /healthz: \(c($floor.cpu_us_per_request)) at \($floor.requests_per_s | round)/s", ""] | @tsv end)
    ' <<<"$PHASES_JSON" | column -t -s $'\t'
}

targets_met() {
    jq -e --argjson tr "$TARGET_RATIO" --argjson tp "$TARGET_P99_MS" --argjson tm "$TARGET_RSS_MB" \
        'all(.[]; .ratio >= $tr and .latency_ms.p99 < $tp and .server_rss_mb.vm_hwm < $tm)' <<<"$PHASES_JSON" >/dev/null
}

write_results() {
    local dir=$REPO_ROOT/bench/results stamp file
    mkdir -p "$dir"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    file=$dir/submit-$stamp.json
    jq -n --argjson phases "$PHASES_JSON" \
        --arg started "$STARTED_AT" --arg commit "$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg binary "$BIN" --arg build "$BUILD_LABEL" \
        --argjson cores "$CORES" --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
        --arg kernel "$(uname -r)" --argjson mem_mb "$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)" \
        --arg wrk "$(wrk --version 2>&1 | head -n 1 | awk '{print $2}')" --arg pgbench "$("$PG_BIN/pgbench" --version)" \
        --argjson clients "$CLIENTS" --argjson jobs "$JOBS" --arg prefill "$PREFILL" \
        --argjson baseline_s "$BASELINE_SECONDS" --argjson warmup "$WARMUP" --arg log_level "$SERVER_LOG_LEVEL" \
        --argjson tr "$TARGET_RATIO" --argjson tp "$TARGET_P99_MS" --argjson tm "$TARGET_RSS_MB" --argjson floor "$FLOOR_JSON" \
        '{
            benchmark: "submit", started_at: $started, commit: $commit, binary: $binary, build: $build,
            machine: {cores: $cores, cpu: $cpu, kernel: $kernel, memory_mb: $mem_mb},
            tools: {wrk: $wrk, pgbench: $pgbench},
            config: {clients: $clients, jobs_per_phase: $jobs, prefill: ($prefill | split(" ") | map(select(. != "") | tonumber)),
                     baseline_seconds: $baseline_s, warmup_requests: $warmup, server_log_level: $log_level,
                     spec: {instance_type: "ml.m5.large", command: ["python3", "train.py"]}},
            targets: {ratio_min: $tr, p99_ms_max: $tp, server_rss_mb_max: $tm},
            phases: $phases, floor: $floor,
            targets_met: all($phases[]; .ratio >= $tr and .latency_ms.p99 < $tp and .server_rss_mb.vm_hwm < $tm)
        }' >"$file"
    log "results written to ${file#"$REPO_ROOT"/}"
}

# ---------------------------------------------------------------------------------------------------------------------

main() {
    STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    [[ $CLIENTS =~ ^[1-9][0-9]*$ && $JOBS =~ ^[1-9][0-9]*$ ]] || die "CLIENTS and JOBS must be positive integers"
    for n in $PREFILL; do [[ $n =~ ^[0-9]+$ ]] || die "PREFILL must be numbers: $PREFILL"; done
    # wrk and pgbench are the load generators; jq writes the result file (Debian packages where missing).
    require_tools wrk jq curl psql:postgresql-client "$PG_BIN/pgbench:postgresql-15"
    [[ $(id -u) == 0 ]] || die "run as root: psql and pgbench reach the embedded cluster through its owner-only (0700) socket directory"
    resolve_binary
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    # The benchmark queues far more jobs than a project may hold waiting by default (TRAINYARD_MAX_QUEUED_JOBS, 10,000):
    # past it every submission is a 429. The limit's check is still paid on every submission.
    SERVER_ENV="TRAINYARD_MAX_QUEUED_JOBS=10000000 ${SERVER_ENV:-}"
    start_server
    submit_template_job
    if ((WARMUP > 0)); then
        log "warm-up: $WARMUP requests (not measured)"
        run_wrk "$WARMUP" warmup
    fi
    local phase=0
    for target in $PREFILL; do
        phase=$((phase + 1))
        run_phase "$phase" "$target"
    done
    run_floor
    echo
    echo "bench/submit: $BUILD_LABEL build, $CLIENTS clients, $JOBS jobs per phase, $CORES cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
    print_report
    write_results
    report_targets
    return 0
}

main "$@"
