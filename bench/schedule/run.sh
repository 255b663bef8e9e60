#!/usr/bin/env bash
# bench/schedule: time from POST /v1/jobs to the first line of the user's command, for 1-host and N-host jobs (p50, p99
# over many runs), beside the time to spawn the very same command directly as a process (and N of them at once),
# measured in the same run, and the ratio. Also the peak RSS of the worker agents and of the server.
# See bench/README.md for what it measures and why the baseline is fair.
#
# Options (environment):
#   TRAINYARD_BIN     binary to benchmark (trainyard-agent must be beside it, or set TRAINYARD_AGENT_BIN);
#                     default: `swift build -c release --static-swift-stdlib` of both products, .build/release/trainyard
#   RUNS_ONE          measured 1-host jobs, and 1-process baseline spawns (default 20)
#   RUNS_MANY         measured MANY_HOSTS-host jobs, and MANY_HOSTS-process baseline spawns (default 10)
#   MANY_HOSTS        hosts of the gang case (default 8); the capacity file gives ml.m5.large at least this many
#   WARMUP            unmeasured jobs (and baseline spawns) of each case before its measured ones (default 1)
#   RSS_SLEEP         seconds the agent-memory job's command sleeps (default 3)
#   JOB_TIMEOUT       seconds one job may take from POST to Completed before the run fails (default 60)
#   BUILD_LABEL       how the binary was built, for the report (default: release when built here, else guessed from the path)
#   STRICT            1: exit 3 when a target is missed (default 0: report only)
#   TRAINYARD_LOG_LEVEL passed through to the server (default warning)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=schedule
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

RUNS_ONE=${RUNS_ONE:-20}
RUNS_MANY=${RUNS_MANY:-10}
MANY_HOSTS=${MANY_HOSTS:-8}
WARMUP=${WARMUP:-1}
RSS_SLEEP=${RSS_SLEEP:-3}
JOB_TIMEOUT=${JOB_TIMEOUT:-60}
STRICT=${STRICT:-0}

# Targets from the issue: p50 under 1 s for 1 host and under 2 s for 8 hosts; the agent's own RSS under 30 MB.
TARGET_P50_ONE_MS=1000
TARGET_P50_MANY_MS=2000
TARGET_AGENT_RSS_MB=30

INSTANCE_TYPE=ml.m5.large
# The user code: its first action records the wall clock (nanoseconds) in a file named after its host, in its model
# directory (one name per host, so the merge of the hosts' model archives sees no clash). The baseline runs this same
# string with the same shell.
PROBE='date +%s.%N > "$SM_MODEL_DIR/started-$SM_CURRENT_HOST"'

CORES=$(nproc)

# Everything on the embedded defaults (heartbeat interval, leases, log level aside) except the capacity file: the
# built-in capacity is 4 on-demand hosts per type, too few for the gang case. Sets CAPACITY_JSON for start_server.
capacity_json() {
    local hosts=$((MANY_HOSTS > 4 ? MANY_HOSTS : 4))
    log "$INSTANCE_TYPE on-demand capacity $hosts"
    CAPACITY_JSON=$(jq -n --arg t "$INSTANCE_TYPE" --argjson n "$hosts" \
        '{default: {on_demand: 4, spot: 4}, instance_types: {($t): {on_demand: $n, spot: 4}}}')
}

# ---------------------------------------------------------------------------------------------------------------------
# Jobs

# Microseconds since the epoch from "seconds.fraction" (EPOCHREALTIME's 6 digits or date's 9), as an integer, so no
# floating point touches the differences.
to_us() {
    local s=${1%%.*} f=${1#*.}
    f=${f}000000
    echo $((s * 1000000 + 10#${f:0:6}))
}

job_spec() { # name hosts script: the job runs ["/bin/sh", "-c", script]
    jq -cn --arg name "$1" --arg t "$INSTANCE_TYPE" --argjson n "$2" --arg script "$3" '{name: $name, instance_type: $t,
        instance_count: $n, max_run: 600, command: ["/bin/sh", "-c", $script]}'
}

post_job() { # spec; sets POST_AT, the client's clock when the answer was in
    local out status
    out=$(curl -s -w '\n%{http_code}' -X POST "$BASE_URL/v1/jobs" \
        -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$1")
    POST_AT=$EPOCHREALTIME
    status=${out##*$'\n'}
    [[ $status == 201 ]] || die "POST /v1/jobs answered $status: ${out%$'\n'*}"
}

job_json() { curl -sf "$BASE_URL/v1/jobs/$1" -H "Authorization: Bearer $ADMIN_KEY"; }

# Polls GET /v1/jobs/<name> every 0.2 s until the job has ended; fails the run unless it is Completed. Sets JOB_JSON.
wait_completed() {
    local name=$1 deadline=$2 status
    while :; do
        server_alive
        JOB_JSON=$(job_json "$name") || die "GET /v1/jobs/$name failed"
        status=$(jq -r .status <<<"$JOB_JSON")
        case $status in
        Completed) return 0 ;;
        Failed | Stopped) die "job $name ended $status: $(jq -r '.failure_reason // ""' <<<"$JOB_JSON")" ;;
        esac
        ((SECONDS < deadline)) || die "job $name not Completed after ${JOB_TIMEOUT}s (status $status)"
        sleep 0.2
    done
}

# One job of $2 hosts running PROBE: the client's clock just before the POST, then the timestamp every host's command
# wrote as its first action. While the commands start only the local files are watched (every 10 ms), so the polling
# of the API does not compete with the service for the cores; then the job is awaited to Completed before the next.
# Appends "<first-host ms> <last-host ms> <POST answered ms> <went through Pending: 0/1>" to $3.
measure_job() {
    local name=$1 hosts=$2 out=$3 spec t0 t0_us post_us h f deadline slow status
    local -a files=() found=()
    spec=$(job_spec "$name" "$hosts" "$PROBE")
    # A host's directory is <job>-1-algo-N-j<job id> (the job's id is known once it is created), removed once the host
    # has ended: each pattern is matched while its command runs.
    for ((h = 1; h <= hosts; h++)); do files+=("$DATA_DIR/workers/$name-1-algo-$h-j*/model/started-algo-$h"); done
    deadline=$((SECONDS + JOB_TIMEOUT)) slow=$((SECONDS + 5))
    t0=$EPOCHREALTIME # read in this shell, no fork: the last thing before curl starts
    post_job "$spec"
    local first=0 last=0 v ts
    for f in "${files[@]}"; do
        # The shell creates the file before date writes into it: wait for the complete line.
        until found=($f) && [[ -s ${found[0]} ]] && v=$(<"${found[0]}") && [[ $v =~ ^[0-9]+\.[0-9]{9}$ ]]; do
            # Past 5 s, ask the API now and then whether the job ended without running the probe (it names why).
            if ((SECONDS >= slow)); then
                status=$(job_status "$name") || die "GET /v1/jobs/$name failed"
                [[ $status == Completed ]] && die "job $name Completed but $f holds no timestamp"
                [[ $status == Failed || $status == Stopped ]] && wait_completed "$name" "$deadline"
                ((SECONDS < deadline)) || die "job $name: no timestamp in $f after ${JOB_TIMEOUT}s (status $status)"
                slow=$((SECONDS + 1))
            fi
            sleep 0.01
        done
        ts=$(to_us "$v")
        ((first == 0 || ts < first)) && first=$ts
        ((ts > last)) && last=$ts
    done
    wait_completed "$name" "$deadline"
    t0_us=$(to_us "$t0")
    post_us=$(to_us "$POST_AT")
    local pending=0
    jq -e '[.secondary_status_transitions[]?.status] | index("Pending")' <<<"$JOB_JSON" >/dev/null && pending=1
    awk -v a="$((first - t0_us))" -v b="$((last - t0_us))" -v c="$((post_us - t0_us))" -v p="$pending" \
        'BEGIN {printf "%.3f %.3f %.3f %d\n", a / 1000, b / 1000, c / 1000, p}' >>"$out"
}

# The baseline: the same command string, spawned by this shell directly, $1 processes at once (each with its own
# SM_MODEL_DIR and SM_CURRENT_HOST, the only variables the probe reads), timed from this shell's clock just before the
# first spawn to the timestamps the commands wrote. Appends "<first ms> <last ms>" to $2.
measure_baseline() {
    local procs=$1 out=$2 dir t0 t0_us h first=0 last=0 ts
    local -a pids=()
    dir=$(mktemp -d "$WORK_DIR/baseline.XXXXXX")
    t0=$EPOCHREALTIME
    for ((h = 1; h <= procs; h++)); do
        SM_MODEL_DIR=$dir SM_CURRENT_HOST=algo-$h /bin/sh -c "$PROBE" &
        pids+=($!)
    done
    wait "${pids[@]}" # these processes only: the server is a background job of this shell too
    t0_us=$(to_us "$t0")
    for ((h = 1; h <= procs; h++)); do
        ts=$(to_us "$(<"$dir/started-algo-$h")")
        ((first == 0 || ts < first)) && first=$ts
        ((ts > last)) && last=$ts
    done
    rm -rf "$dir"
    awk -v a="$((first - t0_us))" -v b="$((last - t0_us))" 'BEGIN {printf "%.3f %.3f\n", a / 1000, b / 1000}' >>"$out"
}

CASES_JSON='[]'

# One case: WARMUP + runs jobs of $hosts hosts, then as many baseline spawns of $hosts processes. Jobs and baseline are
# interleaved by case, not by run, so the job loop's polling never overlaps a baseline spawn.
run_case() {
    local hosts=$1 runs=$2 target=$3 label samples base i load_before load_after
    label=$([[ $hosts == 1 ]] && echo "1 host" || echo "$hosts hosts")
    samples=$WORK_DIR/jobs-$hosts.txt
    base=$WORK_DIR/baseline-$hosts.txt
    : >"$samples"
    : >"$base"
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    log "$label: $WARMUP warm-up + $runs measured jobs"
    for ((i = 1; i <= WARMUP; i++)); do measure_job "warm-h$hosts-$i" "$hosts" /dev/null; done
    for ((i = 1; i <= runs; i++)); do measure_job "sched-h$hosts-$(printf %03d "$i")" "$hosts" "$samples"; done
    load_after=$(cut -d' ' -f1 /proc/loadavg)
    log "$label: baseline, $WARMUP warm-up + $runs spawns of $hosts process(es) of the same command"
    for ((i = 1; i <= WARMUP; i++)); do measure_baseline "$hosts" /dev/null; done
    for ((i = 1; i <= runs; i++)); do measure_baseline "$hosts" "$base"; done

    CASES_JSON=$(jq -c --arg case_name "$label" --argjson hosts "$hosts" --argjson target "$target" \
        --argjson load_before "$load_before" --argjson load_after "$load_after" \
        --rawfile jobs "$samples" --rawfile base "$base" '
        def rows(s): s | split("\n") | map(select(length > 0) | split(" ") | map(tonumber));
        # Nearest rank: the smallest value with at least p% of the runs at or below it.
        def pct(p): sort as $s | $s[((p / 100 * ($s | length)) | ceil) - 1];
        def stats: {p50: pct(50), p99: pct(99), min: min, max: max, mean: (add / length)};
        rows($jobs) as $j | rows($base) as $b |
        ($j | map(.[1]) | stats) as $last | ($b | map(.[1]) | stats) as $blast |
        . + [{
            case: $case_name, hosts: $hosts, runs: ($j | length),
            first_line_ms: $last,                              # POST to the last host started (the gang runs)
            first_host_ms: ($j | map(.[0]) | stats),           # POST to the first host started
            post_answered_ms: ($j | map(.[2]) | stats),        # POST to its 201 at the client
            runs_through_pending: ($j | map(.[3]) | add),
            baseline_ms: $blast, baseline_first_ms: ($b | map(.[0]) | stats),
            ratio: {p50: ($last.p50 / $blast.p50), p99: ($last.p99 / $blast.p99)},
            overhead_p50_ms: ($last.p50 - $blast.p50),
            target_p50_ms: $target, target_met: ($last.p50 < $target),
            loadavg_1m: {before: $load_before, after_jobs: $load_after}
        }]' <<<"$CASES_JSON")
}

# ---------------------------------------------------------------------------------------------------------------------
# Memory

AGENT_JSON='{}'

# A job of MANY_HOSTS hosts whose command sleeps RSS_SLEEP s; every 0.2 s while it runs, the VmHWM (peak RSS), VmRSS and
# RssAnon of each of its agents from /proc/<pid>/status. The last sample of an agent is its peak up to then (the agent
# uploads and reports after its command, a fraction of a second not sampled).
measure_agent_rss() {
    local name=agent-rss samples=$WORK_DIR/agent-rss.txt deadline status p hwm rss anon
    : >"$samples"
    log "agent memory: a $MANY_HOSTS-host job running sleep $RSS_SLEEP"
    deadline=$((SECONDS + JOB_TIMEOUT))
    post_job "$(job_spec "$name" "$MANY_HOSTS" "sleep $RSS_SLEEP")"
    while :; do
        server_alive
        for p in $(our_agents); do
            read -r hwm rss anon < <(awk '/^VmHWM:/ {h = $2} /^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} END {print h + 0, r + 0, a + 0}' \
                "/proc/$p/status" 2>/dev/null || echo "0 0 0")
            ((hwm > 0)) && echo "$p $hwm $rss $anon" >>"$samples"
        done
        status=$(job_status "$name") || die "GET /v1/jobs/$name failed"
        case $status in
        Completed) break ;;
        Failed | Stopped) die "job $name ended $status" ;;
        esac
        ((SECONDS < deadline)) || die "job $name not Completed after ${JOB_TIMEOUT}s"
        sleep 0.2
    done
    [[ -s $samples ]] || die "no trainyard-agent process of this server was seen"
    AGENT_JSON=$(awk '{ if ($2 > h[$1]) h[$1] = $2; if ($3 > r[$1]) r[$1] = $3; if ($4 > a[$1]) a[$1] = $4 }
        END { for (p in h) { printf "%s %d %d %d\n", p, h[p], r[p], a[p] } }' "$samples" |
        jq -sR --argjson samples "$(wc -l <"$samples")" --argjson target "$TARGET_AGENT_RSS_MB" '
            split("\n") | map(select(length > 0) | split(" ") | map(tonumber)) |
            {agents_seen: length, samples: $samples,
             vm_hwm_mb: {max: (map(.[1]) | max / 1024), min: (map(.[1]) | min / 1024)},
             vm_rss_mb_max: (map(.[2]) | max / 1024),
             rss_anon_mb_max: (map(.[3]) | max / 1024),         # the part not backed by files (heap, stacks)
             target_mb: $target, target_met: ((map(.[1]) | max / 1024) < $target)}')
}

server_hwm_mb() { server_alive; awk -v kb="$(vm_kb "$SERVER_PID" VmHWM)" 'BEGIN {printf "%.1f", kb / 1024}'; }

# ---------------------------------------------------------------------------------------------------------------------
# Report

print_report() {
    jq -r '
        def f(n; d): (n * pow(10; d) | round / pow(10; d) | tostring);
        (["case", "runs", "p50 ms", "p99 ms", "first host p50", "POST 201 p50", "spawn p50 ms", "spawn p99 ms",
          "ratio p50", "ratio p99", "target p50"] | @tsv),
        (.[] | [
            .case, (.runs | tostring), f(.first_line_ms.p50; 1), f(.first_line_ms.p99; 1), f(.first_host_ms.p50; 1),
            f(.post_answered_ms.p50; 1), f(.baseline_ms.p50; 2), f(.baseline_ms.p99; 2), f(.ratio.p50; 0), f(.ratio.p99; 0),
            "<\(.target_p50_ms) \(if .target_met then "ok" else "MISS" end)"
        ] | @tsv)' <<<"$CASES_JSON" | column -t -s $'\t'
    jq -r '"agent peak RSS (VmHWM, max of \(.agents_seen) agents): \(.vm_hwm_mb.max * 10 | round / 10) MB (of it not file-backed: \(.rss_anon_mb_max * 10 | round / 10) MB)   target <\(.target_mb) MB \(if .target_met then "ok" else "MISS" end)"' <<<"$AGENT_JSON"
    echo "server peak RSS (VmHWM): $SERVER_HWM_MB MB"
    jq -r '.[] | select(.runs_through_pending > 0) | "note: \(.runs_through_pending) \(.case) run(s) waited in Pending"' <<<"$CASES_JSON"
}

targets_met() {
    jq -e --argjson agent "$AGENT_JSON" 'all(.[]; .target_met) and $agent.target_met' <<<"$CASES_JSON" >/dev/null
}

write_results() {
    local dir=$REPO_ROOT/bench/results stamp file
    mkdir -p "$dir"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    file=$dir/schedule-$stamp.json
    jq -n --argjson cases "$CASES_JSON" --argjson agent "$AGENT_JSON" --argjson server_hwm "$SERVER_HWM_MB" \
        --arg started "$STARTED_AT" --arg commit "$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg binary "$BIN" --arg agent_bin "$AGENT_BIN" --arg build "$BUILD_LABEL" \
        --argjson cores "$CORES" --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
        --arg kernel "$(uname -r)" --argjson mem_mb "$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)" \
        --argjson runs_one "$RUNS_ONE" --argjson runs_many "$RUNS_MANY" --argjson many "$MANY_HOSTS" \
        --argjson warmup "$WARMUP" --argjson rss_sleep "$RSS_SLEEP" --arg log_level "$SERVER_LOG_LEVEL" \
        --arg probe "$PROBE" --arg isolation "$([[ $(id -u) == 0 ]] && echo "mount namespace (root)" || echo "as the local provisioner probes it")" \
        '{
            benchmark: "schedule", started_at: $started, commit: $commit, binary: $binary, agent_binary: $agent_bin,
            build: $build, machine: {cores: $cores, cpu: $cpu, kernel: $kernel, memory_mb: $mem_mb},
            config: {runs_one_host: $runs_one, runs_many_hosts: $runs_many, many_hosts: $many, warmup: $warmup,
                     rss_sleep_s: $rss_sleep, server_log_level: $log_level, worker_isolation: $isolation,
                     command: ["/bin/sh", "-c", $probe], instance_type: "ml.m5.large"},
            cases: $cases, agent_rss: $agent, server_vm_hwm_mb: $server_hwm,
            targets_met: (all($cases[]; .target_met) and $agent.target_met)
        }' >"$file"
    log "results written to ${file#"$REPO_ROOT"/}"
}

# ---------------------------------------------------------------------------------------------------------------------

main() {
    STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    local v
    for v in RUNS_ONE RUNS_MANY MANY_HOSTS RSS_SLEEP JOB_TIMEOUT; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
    done
    [[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a number"
    require_tools jq curl pgrep:procps
    resolve_binary
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    capacity_json
    start_server
    run_case 1 "$RUNS_ONE" "$TARGET_P50_ONE_MS"
    run_case "$MANY_HOSTS" "$RUNS_MANY" "$TARGET_P50_MANY_MS"
    measure_agent_rss
    SERVER_HWM_MB=$(server_hwm_mb)
    echo
    echo "bench/schedule: $BUILD_LABEL build, $CORES cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); time from POST /v1/jobs to the user's first line (last host of the gang), beside spawning the same command directly"
    print_report
    write_results
    report_targets
    return 0
}

main "$@"
