#!/usr/bin/env bash
# bench/dashboard: what looking at the service costs the server. A Prometheus scrape of GET /metrics (every state
# family read from the database: a count of the jobs table by status, the queue per pool, hosts and capacity) with
# JOBS jobs in the database (one phase per size), beside GET /readyz (a request that asks the database one question)
# on the same server in the same run: each one's p50 and p99 over SCRAPES sequential requests, the ratio of the medians,
# the page's size, and the server's peak RSS. Then the dashboard's pages in headless Chromium: the job list with the
# last phase's jobs and a job page with LOG_LINES log lines, beside the sign-in page.
# See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent beside it); default: a release build
#   JOBS            jobs in the database for each phase (default "10000 100000"): ended ones copied with SQL, as most
#                   of a long-lived database's are, beside one running job and WAITING jobs queued behind it
#   WAITING         jobs queued behind the running one (default 200)
#   SCRAPES         measured requests of each kind per phase (default 200), after 20 unmeasured
#   LOG_LINES       log lines of the job whose page is loaded (default 100000)
#   METRIC_POINTS   metric points of that job (default 100000: a loss series and algo-1's CPUUtilization, half each, drawn as charts)
#   PAGE_LOADS      loads of each page in headless Chromium after the last phase (default 20)
#   STRICT          1: exit 3 when a target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=dashboard
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

JOBS=${JOBS:-"10000 100000"}
WAITING=${WAITING:-200}
SCRAPES=${SCRAPES:-200}
LOG_LINES=${LOG_LINES:-100000}
METRIC_POINTS=${METRIC_POINTS:-100000}
PAGE_LOADS=${PAGE_LOADS:-20}
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The issue's target: a scrape under 50 ms with 10,000 jobs.
TARGET_SCRAPE_MS=50
TARGET_AT_JOBS=10000
# And, with the last phase's jobs: the job list rendered under 500 ms (p50), a job page with LOG_LINES lines under 1 s.
TARGET_LIST_MS=500
TARGET_JOB_MS=1000
# One host of the type the jobs use: the first job holds it, the others queue behind it.
CAPACITY_JSON='{"instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}'

require_tools jq curl psql:postgresql-client ss:iproute2
resolve_binary
trap cleanup EXIT
start_server
start_rss_sampler "$WORK_DIR/rss"
AUTH=(-H "Authorization: Bearer $ADMIN_KEY")

# --- setup (not measured) -----------------------------------------------------------------------------------------
submit_job '{"name":"bench-template","instance_type":"ml.m5.large","command":["true"]}' >/dev/null
wait_job_end bench-template 300 >/dev/null
submit_job '{"name":"bench-running","instance_type":"ml.m5.large","command":["sleep","100000"]}' >/dev/null
for i in $(seq 1 "$WAITING"); do
    submit_job "{\"name\":\"bench-waiting-$i\",\"instance_type\":\"ml.m5.large\",\"command\":[\"true\"]}" >/dev/null
done
log "one job running, $WAITING queued behind it"

job_count() { sql -c "SELECT count(*) FROM jobs"; }
# Ended copies of the template job (and its events), created one second apart going back.
prefill_to() {
    local target=$1 have add
    have=$(job_count)
    add=$((target - have))
    if ((add > 0)); then
        log "prefill: $have jobs, adding $add"
        sql -v n="$add" -v base="$have" <<'SQL'
WITH t AS (SELECT * FROM jobs WHERE name = 'bench-template'),
ins AS (
    INSERT INTO jobs (project_id, name, spec, status, secondary_status, failure_reason, instance_type, instance_count,
                      use_spot, priority, idempotency_key, request_hash, created_at, last_modified_at,
                      training_start_time, training_end_time)
    SELECT t.project_id, n.name, jsonb_set(t.spec, '{name}', to_jsonb(n.name)),
           CASE WHEN g % 10 = 0 THEN 'Failed' ELSE 'Completed' END, CASE WHEN g % 10 = 0 THEN 'Failed' ELSE 'Completed' END,
           t.failure_reason, t.instance_type, t.instance_count, t.use_spot, t.priority, NULL, t.request_hash,
           t.created_at - make_interval(secs => g), t.created_at - make_interval(secs => g),
           t.training_start_time, t.training_end_time
    FROM t, generate_series(:base + 1, :base + :n) g, LATERAL (SELECT format('prefill-%s', g) AS name) n
    RETURNING id, created_at
)
INSERT INTO job_events (job_id, time, type, status, secondary_status, message)
SELECT ins.id, ins.created_at, e.type, e.status, e.secondary_status, e.message FROM ins, job_events e WHERE e.job_id = (SELECT id FROM t);
SQL
    fi
    sql -c "VACUUM ANALYZE jobs" -c "VACUUM ANALYZE job_events" -c "CHECKPOINT"
}

# Milliseconds of each of $2 GETs of path $1, one per line (curl's time_total).
timed_gets() {
    local path=$1 count=$2 i
    for i in $(seq 1 "$count"); do
        curl -sf -o /dev/null -w '%{time_total}\n' "${AUTH[@]}" "$BASE_URL$path" || die "GET $path failed"
    done | awk '{ printf "%.3f\n", $1 * 1000 }'
}

declare -A p50=() p99=() ratio=() bytes=()
for jobs in $JOBS; do
    prefill_to "$jobs"
    server_alive
    # The page is a valid exposition with every state family, and the queue as set up.
    curl -sf "${AUTH[@]}" "$BASE_URL/metrics" >"$WORK_DIR/page"
    depth=$(awk '/^trainyard_queue_depth\{instance_type="ml.m5.large",market="on_demand"\}/ { print $2 }' "$WORK_DIR/page")
    [[ $depth == "$WAITING" || $depth == "$WAITING.0" ]] || die "the page says $depth jobs wait, not $WAITING"
    bytes[$jobs]=$(wc -c <"$WORK_DIR/page")
    timed_gets /metrics 20 >/dev/null
    timed_gets /readyz 20 >/dev/null
    # Alternating blocks, so that a noisy neighbour costs both sides alike.
    : >"$WORK_DIR/scrape-$jobs"; : >"$WORK_DIR/ready-$jobs"
    for _ in $(seq 1 10); do
        timed_gets /metrics $((SCRAPES / 10)) >>"$WORK_DIR/scrape-$jobs"
        timed_gets /readyz $((SCRAPES / 10)) >>"$WORK_DIR/ready-$jobs"
    done
    p50[scrape-$jobs]=$(percentile 50 <"$WORK_DIR/scrape-$jobs")
    p99[scrape-$jobs]=$(percentile 99 <"$WORK_DIR/scrape-$jobs")
    p50[ready-$jobs]=$(percentile 50 <"$WORK_DIR/ready-$jobs")
    p99[ready-$jobs]=$(percentile 99 <"$WORK_DIR/ready-$jobs")
    ratio[$jobs]=$(awk -v s="${p50[scrape-$jobs]}" -v r="${p50[ready-$jobs]}" 'BEGIN { printf "%.1f", s / r }')
    log "$jobs jobs: scrape p50 ${p50[scrape-$jobs]} ms, /readyz p50 ${p50[ready-$jobs]} ms"
done
# --- pages in headless Chromium, with the last phase's jobs -----------------------------------------------------------
LAST_JOBS=${JOBS##* }
log "writing $LOG_LINES log lines for bench-template's page"
sql -v n="$LOG_LINES" <<'SQL'
INSERT INTO log_lines (job_id, attempt, host, time, message)
SELECT j.id, 1, CASE WHEN g % 2 = 0 THEN 'algo-1' ELSE 'algo-2' END, j.created_at + make_interval(secs => g / 1000.0),
       format('step %s loss=%s %s', g, round((1.0 / g)::numeric, 6), repeat('x', 60))
FROM jobs j, generate_series(1, :n) g WHERE j.name = 'bench-template';
SQL
log "writing $METRIC_POINTS metric points for bench-template's page (loss and CPUUtilization of algo-1)"
sql -v n="$METRIC_POINTS" <<'SQL'
INSERT INTO metric_points (job_id, name, host, kind, time, value)
SELECT j.id, s.name, s.host, s.kind, j.created_at + make_interval(secs => g / 100.0),
       CASE WHEN s.kind = 'definition' THEN 1.0 / g ELSE 50 + 40 * sin(g / 500.0) END
FROM jobs j, generate_series(1, :n / 2) g,
     (VALUES ('loss', 'algo-1', 'definition'), ('CPUUtilization', 'algo-1', 'system')) s(name, host, kind)
WHERE j.name = 'bench-template';
SQL
sql -c "VACUUM ANALYZE log_lines" -c "VACUUM ANALYZE metric_points"
SELENIUM_PY=${XDG_CACHE_HOME:-$HOME/.cache}/trainyard/selenium-4.38.0/bin/python3
if [[ ! -x $SELENIUM_PY || ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    log "installing chromium, chromium-driver and selenium (scripts/bootstrap)"
    "$REPO_ROOT/scripts/bootstrap" >&2
fi
log "loading / (with $LAST_JOBS jobs) and /jobs/bench-template (with $LOG_LINES lines, $METRIC_POINTS points) $PAGE_LOADS times each, beside /sign-in"
"$SELENIUM_PY" "$SCRIPT_DIR/pages.py" "$BASE_URL" "$ADMIN_KEY" "$PAGE_LOADS" /sign-in / /jobs/bench-template >"$WORK_DIR/pages.json" ||
    die "the browser run failed"
page_stat() { # $1 path, $2 field index (0 ttfb, 1 rendered, 2 loaded), $3 percentile
    jq -r --arg p "$1" --argjson i "$2" '.[$p][] | .[$i]' "$WORK_DIR/pages.json" | percentile "$3"
}
declare -A page50=() page99=() ttfb50=()
for path in /sign-in / /jobs/bench-template; do
    page50[$path]=$(page_stat "$path" 1 50)
    page99[$path]=$(page_stat "$path" 1 99)
    ttfb50[$path]=$(page_stat "$path" 0 50)
done
rows_shown=$(jq -r '.["/"][0][4]' "$WORK_DIR/pages.json")
lines_shown=$(jq -r '.["/jobs/bench-template"][0][4]' "$WORK_DIR/pages.json")

kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=''
SERVER_HWM_MB=$(( $(vm_kb "$SERVER_PID" VmHWM) / 1024 ))

targets_met() {
    if [[ -n ${p50[scrape-$TARGET_AT_JOBS]:-} ]]; then
        awk -v v="${p50[scrape-$TARGET_AT_JOBS]}" -v t="$TARGET_SCRAPE_MS" 'BEGIN { exit !(v < t) }' || return 1
    fi
    awk -v v="${page50[/]}" -v t="$TARGET_LIST_MS" 'BEGIN { exit !(v < t) }' || return 1
    awk -v v="${page50[/jobs/bench-template]}" -v t="$TARGET_JOB_MS" 'BEGIN { exit !(v < t) }'
}

echo
echo "bench/dashboard ($BUILD_LABEL build, $(nproc) cores, $WAITING jobs queued, $SCRAPES requests of each kind per phase)"
for jobs in $JOBS; do
    printf '  %7s jobs   GET /metrics p50 %7.2f ms  p99 %7.2f ms  (%s bytes)   GET /readyz p50 %6.2f ms  p99 %6.2f ms   scrape/readyz %s\n' \
        "$jobs" "${p50[scrape-$jobs]}" "${p99[scrape-$jobs]}" "${bytes[$jobs]}" "${p50[ready-$jobs]}" "${p99[ready-$jobs]}" "${ratio[$jobs]}"
done
for path in /sign-in / /jobs/bench-template; do
    printf '  page %-22s rendered (DOMContentLoaded) p50 %7.1f ms  p99 %7.1f ms   first byte p50 %6.1f ms   ÷ sign-in %s\n' "$path" \
        "${page50[$path]}" "${page99[$path]}" "${ttfb50[$path]}" "$(awk -v a="${page50[$path]}" -v b="${page50[/sign-in]}" 'BEGIN { printf "%.1f", a / b }')"
done
echo "  (the list shows $rows_shown of $LAST_JOBS jobs, a page; the job page the last $lines_shown of its $LOG_LINES lines, and charts of its $METRIC_POINTS points)"
echo "  server peak RSS: $SERVER_HWM_MB MB"
echo "  targets: a scrape's p50 under $TARGET_SCRAPE_MS ms with $TARGET_AT_JOBS jobs; the list under $TARGET_LIST_MS ms and a job page with $LOG_LINES lines under $TARGET_JOB_MS ms (p50, rendered)"
if [[ -n ${p50[scrape-$TARGET_AT_JOBS]:-} ]]; then
    awk -v v="${p50[scrape-$TARGET_AT_JOBS]}" -v t="$TARGET_SCRAPE_MS" 'BEGIN { exit !(v >= t) }' && echo "  MISS: the scrape's p50 is ${p50[scrape-$TARGET_AT_JOBS]} ms with $TARGET_AT_JOBS jobs"
fi
awk -v v="${page50[/]}" -v t="$TARGET_LIST_MS" 'BEGIN { exit !(v >= t) }' && echo "  MISS: the list renders in ${page50[/]} ms"
awk -v v="${page50[/jobs/bench-template]}" -v t="$TARGET_JOB_MS" 'BEGIN { exit !(v >= t) }' && echo "  MISS: the job page renders in ${page50[/jobs/bench-template]} ms"
report_targets

mkdir -p "$REPO_ROOT/bench/results"
phases=$(for jobs in $JOBS; do
    jq -n --argjson jobs "$jobs" --arg s50 "${p50[scrape-$jobs]}" --arg s99 "${p99[scrape-$jobs]}" --arg r50 "${p50[ready-$jobs]}" \
        --arg r99 "${p99[ready-$jobs]}" --argjson bytes "${bytes[$jobs]}" --arg ratio "${ratio[$jobs]}" \
        '{jobs: $jobs, scrape_ms: {p50: ($s50|tonumber), p99: ($s99|tonumber)}, readyz_ms: {p50: ($r50|tonumber), p99: ($r99|tonumber)},
          page_bytes: $bytes, scrape_to_readyz: ($ratio|tonumber)}'
done | jq -s .)
jq -n --arg started "$STARTED_AT" --arg build "$BUILD_LABEL" --argjson waiting "$WAITING" --argjson phases "$phases" --argjson rss "$SERVER_HWM_MB" \
    --argjson pages "$(jq -c . "$WORK_DIR/pages.json")" --argjson jobs "$LAST_JOBS" --argjson lines "$LOG_LINES" --argjson points "$METRIC_POINTS" \
    '{started: $started, build: $build, waiting: $waiting, phases: $phases, server_peak_rss_mb: $rss,
      pages: {jobs: $jobs, log_lines: $lines, metric_points: $points, samples_ttfb_rendered_loaded_bytes_rows: $pages}}' \
    >"$REPO_ROOT/bench/results/dashboard-$(date -u +%Y%m%dT%H%M%SZ).json"
