#!/usr/bin/env bash
# bench/peers: Trainyard beside Slurm and Ray on the same machine, in one run, both ways users submit: (a) one program
# over CONNECTIONS connections (Trainyard's HTTP API, slurmrestd, Ray's job SDK) and (b) LOOPS shell loops that start
# one CLI process per job (`trainyard jobs submit`, `sbatch`, `ray job submit`); then submit → user code running
# (p50, p99) through each one's own API. Prints the ratios. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN    binary to benchmark (trainyard-agent beside it); default: a release build
#   API_JOBS         jobs per system through the API (default 2000); RAY_JOBS for Ray (default 40: each runs a driver)
#   CLI_JOBS         jobs per system from the CLI loops (default 400); RAY_CLI_JOBS for Ray (default 40)
#   CONNECTIONS      connections of the one program (wrk; Ray's SDK from as many threads) (default 8); LOOPS shell loops (default 8)
#   RUNS             measured submit → running jobs per system (default 10)
#   RAY_VERSION      Ray from PyPI (default 2.60.0), installed in a venv under PEERS_CACHE (default /var/cache/trainyard-bench)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=peers
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

API_JOBS=${API_JOBS:-2000}
RAY_JOBS=${RAY_JOBS:-40}
CLI_JOBS=${CLI_JOBS:-400}
RAY_CLI_JOBS=${RAY_CLI_JOBS:-40}
CONNECTIONS=${CONNECTIONS:-8}
LOOPS=${LOOPS:-8}
RUNS=${RUNS:-10}
RAY_VERSION=${RAY_VERSION:-2.60.0}
PEERS_CACHE=${PEERS_CACHE:-/var/cache/trainyard-bench}
PROBE='date +%s.%N > "$SM_MODEL_DIR/started-$SM_CURRENT_HOST"'
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)

require_tools jq curl wrk socat python3 ss:iproute2 /usr/sbin/slurmctld:slurmctld /usr/sbin/slurmd:slurmd sbatch:slurm-client /usr/sbin/munged:munge \
    /usr/sbin/slurmrestd:slurmrestd
[[ $(id -u) == 0 ]] || die "slurmd must run as root here; run as root"
resolve_binary

VENV=$PEERS_CACHE/ray-$RAY_VERSION
if [[ ! -f $VENV/.installed ]]; then
    log "installing ray[default]==$RAY_VERSION from PyPI into $VENV"
    # A venv cannot move (its scripts name their interpreter by path): made in place, marked once complete.
    rm -rf "$VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "ray[default]==$RAY_VERSION" && touch "$VENV/.installed" ||
        die "could not install Ray from PyPI"
fi

# shellcheck source=../slurm-cluster.sh
source "$SCRIPT_DIR/../slurm-cluster.sh"
REST_PID=
SOCAT_PID=
RAY_STARTED=0
stop_peers() {
    if [[ -n $SOCAT_PID ]]; then kill "$SOCAT_PID" 2>/dev/null || true; fi
    if [[ -n $REST_PID ]]; then kill "$REST_PID" 2>/dev/null || true; fi
    if ((RAY_STARTED)); then "$VENV/bin/ray" stop --force >/dev/null 2>&1 || true; fi
    stop_slurm
}
# cleanup exits with the status it finds: the script's, not stop_peers'.
trap 'rc=$?; set +e; stop_peers; (exit $rc); cleanup' EXIT

# One ml.m5.large host in all, held by a blocker job, so that jobs submitted through the API and the CLI queue
# (Pending), as `sbatch --hold` and slurmrestd's `hold` keep Slurm's; ml.c5.xlarge (4 hosts) for submit → running.
CAPACITY_JSON='{"default": {"on_demand": 4, "spot": 4}, "instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}'

start_slurm
id slurmapi >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin slurmapi
install -d -o slurmapi -g slurmapi "$SLURM_DIR/rest"
REST_SOCK=$SLURM_DIR/rest/sock
# slurmrestd refuses root (infra.md §3): it runs as a system user with local authentication on a unix socket (Debian's
# Slurm has no auth/jwt, which TCP would need). socat, as the same user, bridges a loopback port to that socket, so
# that the same load generator (wrk) drives slurmrestd and Trainyard.
setpriv --reuid=slurmapi --regid=slurmapi --init-groups -- env SLURM_CONF="$SLURM_CONF" \
    /usr/sbin/slurmrestd -a rest_auth/local -s openapi/v0.0.38 "unix:$REST_SOCK" >"$SLURM_DIR/log/slurmrestd.out" 2>&1 &
REST_PID=$!
until [[ -S $REST_SOCK ]]; do kill -0 "$REST_PID" 2>/dev/null || die "slurmrestd exited: $(tail -3 "$SLURM_DIR/log/slurmrestd.out")"; sleep 0.05; done
REST_PORT=$(free_port)
REST_URL=http://127.0.0.1:$REST_PORT
setpriv --reuid=slurmapi --regid=slurmapi --init-groups -- socat "TCP-LISTEN:$REST_PORT,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$REST_SOCK" \
    >"$SLURM_DIR/log/socat.out" 2>&1 &
SOCAT_PID=$!
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null "$REST_URL/slurm/v0.0.38/ping"; do
    ((SECONDS < deadline)) || die "slurmrestd does not answer through socat at $REST_URL"
    sleep 0.1
done

RAY_PORT=$(free_port)
RAY_DASHBOARD=$(free_port)
RAY_ADDRESS=http://127.0.0.1:$RAY_DASHBOARD
export RAY_ADDRESS
log "starting a Ray head (gcs :$RAY_PORT, job API $RAY_ADDRESS)"
"$VENV/bin/ray" start --head --num-cpus="$(nproc)" --port="$RAY_PORT" --dashboard-host=127.0.0.1 --dashboard-port="$RAY_DASHBOARD" \
    --include-dashboard=true --disable-usage-stats >"$SLURM_DIR/log/ray-start.out" 2>&1 || die "ray start failed: $(tail -5 "$SLURM_DIR/log/ray-start.out")"
RAY_STARTED=1

start_server
submit_job '{"name":"peers-blocker","instance_type":"ml.m5.large","command":["sleep","100000"]}' >/dev/null

# Waits until no Ray job is pending or running (a finished phase's jobs must not load the next one).
ray_idle() {
    local deadline=$((SECONDS + 300))
    until [[ $("$VENV/bin/python" - <<'PY'
from ray.job_submission import JobSubmissionClient, JobStatus
jobs = JobSubmissionClient().list_jobs()
print(sum(1 for j in jobs if j.status in (JobStatus.PENDING, JobStatus.RUNNING)))
PY
) == 0 ]]; do
        ((SECONDS < deadline)) || die "Ray jobs still running after 300 s"
        sleep 0.5
    done
}
slurm_clear() { scancel --quiet --user=root 2>/dev/null || true; scancel --quiet --user=slurmapi 2>/dev/null || true; until [[ -z $(squeue -h -o %i) ]]; do sleep 0.1; done; }

# (a) One program, CONNECTIONS connections: wrk for the two HTTP APIs (Trainyard's, slurmrestd's), Ray's own Python SDK.
# wrk_post label url path body status headers: echoes the driver's JSON line.
wrk_post() {
    local label=$1 url=$2 path=$3 body=$4 status=$5 headers=$6 done_dir out line kv threads
    threads=$(($(nproc) < CONNECTIONS ? $(nproc) : CONNECTIONS))
    done_dir=$(mktemp -d "$WORK_DIR/wrk-done.XXXX")
    out=$WORK_DIR/wrk-$label.out
    BENCH_KEY=${BENCH_KEY:-} BENCH_BODY=$body BENCH_PATH=$path BENCH_STATUS=$status BENCH_HEADERS=$headers BENCH_DONE_DIR=$done_dir \
        wrk -t "$threads" -c "$CONNECTIONS" -d 300s --timeout 30s -s "$REPO_ROOT/bench/submit/submit.lua" "$url$path" -- "$API_JOBS" "$threads" \
        >"$out" 2>&1 || { cat "$out" >&2; die "$label: wrk failed"; }
    line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "$label: wrk printed no BENCH line"; }
    local -A f
    for kv in ${line#BENCH }; do f[${kv%%=*}]=${kv#*=}; done
    ((f[non201] == 0)) || { grep '^BENCH_SAMPLE' "$out" >&2; die "$label: ${f[non201]} of ${f[requests]} answers were not $status"; }
    jq -cn --argjson n "${f[requests]}" --argjson us "${f[duration_us]}" --argjson p50 "${f[p50_us]}" --argjson p99 "${f[p99_us]}" \
        '{jobs: $n, seconds: ($us / 1e6), jobs_per_second: ($n / ($us / 1e6) | . * 10 | round / 10), p50_ms: ($p50 / 1000), p99_ms: ($p99 / 1000)}'
}
log "API: $API_JOBS jobs to Trainyard and slurmrestd (wrk), $RAY_JOBS to Ray (its SDK); $CONNECTIONS connections"
API_TY=$(BENCH_KEY=$ADMIN_KEY wrk_post trainyard "$BASE_URL" /v1/jobs '{"instance_type":"ml.m5.large","command":["true"]}' 201 "")
API_REST=$(wrk_post slurmrestd "$REST_URL" /slurm/v0.0.38/job/submit \
    '{"script":"#!/bin/sh\ntrue\n","job":{"name":"peers-rest","hold":true,"current_working_directory":"/tmp","environment":{"PATH":"/usr/bin:/bin"}}}' \
    200 "")
held=$(squeue -h -u slurmapi -o %i | wc -l)
((held >= API_JOBS)) || die "slurmrestd answered $API_JOBS submissions but Slurm holds $held jobs"
slurm_clear
API_RAY=$("$VENV/bin/python" "$SCRIPT_DIR/drive.py" ray "$RAY_ADDRESS" "$RAY_JOBS" "$CONNECTIONS") || die "ray: $API_RAY"
ray_idle

# (b) LOOPS shell loops, one CLI process per job. Echoes "jobs seconds cpu_ms_per_job".
cli_loops() { # total command...
    local total=$1 per t0 t1 errors=$WORK_DIR/cli-errors
    shift
    per=$((total / LOOPS))
    : >"$errors"
    t0=$EPOCHREALTIME
    local cpu
    cpu=$(
        for ((l = 0; l < LOOPS; l++)); do
            (for ((i = 0; i < per; i++)); do "$@" >/dev/null 2>>"$errors" || echo "exit $?" >>"$errors"; done) &
        done
        wait
        # The CPU of every process the loops started: this subshell's children's user and system time (cutime and
        # cstime, fields 16 and 17 of its stat), in ms.
        local stat
        read -ra stat </proc/$BASHPID/stat
        echo $(((stat[15] + stat[16]) * 1000 / $(getconf CLK_TCK)))
    )
    t1=$EPOCHREALTIME
    if grep -q '^exit' "$errors"; then die "a CLI submission failed: $(head -c 600 "$errors")"; fi
    awk -v n=$((per * LOOPS)) -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN { printf "%d %.3f %.1f\n", n, b - a, c / n }'
}
log "CLI: $CLI_JOBS jobs from $LOOPS loops of trainyard jobs submit and sbatch; $RAY_CLI_JOBS of ray job submit"
CLI_TY=$(TRAINYARD_CONFIG=$WORK_DIR/no-profiles TRAINYARD_URL=$BASE_URL TRAINYARD_API_KEY=$ADMIN_KEY \
    cli_loops "$CLI_JOBS" "$BIN" jobs submit --instance-type ml.m5.large -- true)
CLI_SB=$(cli_loops "$CLI_JOBS" sbatch -Q --hold -o /dev/null --wrap true)
slurm_clear
CLI_RAY=$(cli_loops "$RAY_CLI_JOBS" "$VENV/bin/ray" job submit --no-wait -- true)
ray_idle

# (c) Submit → user code running, each through its own API, interleaved. Appends ms to the files.
to_us() { local s=${1%%.*} f=${1#*.}; f=${f}000000; echo $((s * 1000000 + 10#${f:0:6})); }
wait_stamp() { # glob: echoes the timestamp once complete
    local v f deadline=$((SECONDS + 120))
    while :; do
        for f in $1; do
            [[ -s $f ]] && v=$(<"$f") && [[ $v =~ ^[0-9]+\.[0-9]{9}$ ]] && { echo "$v"; return; }
        done
        ((SECONDS < deadline)) || die "no timestamp at $1 after 120 s"
        sleep 0.005
    done
}
RUN_TY=$WORK_DIR/run-trainyard.ms RUN_SB=$WORK_DIR/run-sbatch.ms RUN_RAY=$WORK_DIR/run-ray.ms
: >"$RUN_TY"
: >"$RUN_SB"
: >"$RUN_RAY"
log "submit → running: $RUNS jobs each, interleaved"
for ((i = 0; i <= RUNS; i++)); do # run 0 warms each path up and is not counted
    name=run-$i
    spec=$(jq -cn --arg name "$name" --arg script "$PROBE" '{name: $name, instance_type: "ml.c5.xlarge", max_run: 600, command: ["/bin/sh", "-c", $script]}')
    t0=$EPOCHREALTIME
    curl -sf -o /dev/null -X POST "$BASE_URL/v1/jobs" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$spec" ||
        die "POST /v1/jobs failed"
    v=$(wait_stamp "$DATA_DIR/workers/$name-1-algo-1-j*/model/started-algo-1")
    ((i > 0)) && echo $((($(to_us "$v") - $(to_us "$t0")) / 1000)) >>"$RUN_TY"
    [[ $(wait_job_end "$name" 120) == Completed ]] || die "job $name did not complete"

    dir=$WORK_DIR/sbatch-$i
    mkdir -p "$dir"
    t0=$EPOCHREALTIME
    sbatch -Q -o /dev/null --chdir="$dir" --wrap "SM_MODEL_DIR=$dir SM_CURRENT_HOST=algo-1; $PROBE" >/dev/null
    v=$(wait_stamp "$dir/started-algo-1")
    ((i > 0)) && echo $((($(to_us "$v") - $(to_us "$t0")) / 1000)) >>"$RUN_SB"
    until [[ -z $(squeue -h -o %i) ]]; do sleep 0.05; done

    ms=$("$VENV/bin/python" "$SCRIPT_DIR/drive.py" ray-running "$RAY_ADDRESS" "$WORK_DIR/ray-$i") || die "ray job $i: $ms"
    ((i > 0)) && echo "$ms" >>"$RUN_RAY"
done

SERVER_HWM=$(vm_kb "$SERVER_PID" VmHWM)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
api_rate() { jq -r .jobs_per_second <<<"$1"; }
cli_rate() { awk '{ printf "%.1f", $1 / $2 }' <<<"$1"; }
cli_cpu() { awk '{ print $3 }' <<<"$1"; }
p() { percentile "$1" <"$2"; }

log "build $BUILD_LABEL, $(nproc) cores; Slurm $(sbatch --version | awk '{print $2}'), Ray $RAY_VERSION"
printf '\n%-44s %9s %9s %9s\n' "(a) one program, $CONNECTIONS connections" "jobs/s" "p50 ms" "p99 ms"
for row in "trainyard POST /v1/jobs (wrk)|$API_TY" "slurmrestd POST job/submit, held (wrk)|$API_REST" "ray JobSubmissionClient.submit_job|$API_RAY"; do
    printf '%-44s %9s %9s %9s\n' "${row%%|*}" "$(jq -r .jobs_per_second <<<"${row#*|}")" "$(jq -r .p50_ms <<<"${row#*|}")" "$(jq -r .p99_ms <<<"${row#*|}")"
done
printf '\n%-44s %9s %9s\n' "(b) $LOOPS shell loops, one process per job" "jobs/s" "CPU ms/job"
printf '%-44s %9s %9s\n' "trainyard jobs submit" "$(cli_rate "$CLI_TY")" "$(cli_cpu "$CLI_TY")"
printf '%-44s %9s %9s\n' "sbatch --hold --wrap" "$(cli_rate "$CLI_SB")" "$(cli_cpu "$CLI_SB")"
printf '%-44s %9s %9s\n' "ray job submit --no-wait" "$(cli_rate "$CLI_RAY")" "$(cli_cpu "$CLI_RAY")"
printf '\n%-44s %9s %9s\n' "(c) submit → user code running" "p50 ms" "p99 ms"
printf '%-44s %9s %9s\n' "trainyard POST (local workers)" "$(p 50 "$RUN_TY")" "$(p 99 "$RUN_TY")"
printf '%-44s %9s %9s\n' "sbatch --wrap" "$(p 50 "$RUN_SB")" "$(p 99 "$RUN_SB")"
printf '%-44s %9s %9s\n' "ray submit_job" "$(p 50 "$RUN_RAY")" "$(p 99 "$RUN_RAY")"
printf '\nratios (Trainyard over each peer; goal 5× or more, the CLI loop at least level with sbatch):\n'
printf '  API:     %s× slurmrestd, %s× Ray\n' "$(ratio "$(api_rate "$API_TY")" "$(api_rate "$API_REST")")" "$(ratio "$(api_rate "$API_TY")" "$(api_rate "$API_RAY")")"
printf '  CLI:     %s× sbatch, %s× ray job submit\n' "$(ratio "$(cli_rate "$CLI_TY")" "$(cli_rate "$CLI_SB")")" "$(ratio "$(cli_rate "$CLI_TY")" "$(cli_rate "$CLI_RAY")")"
printf '  running: %s× sbatch, %s× Ray (p50, faster by)\n' "$(ratio "$(p 50 "$RUN_SB")" "$(p 50 "$RUN_TY")")" "$(ratio "$(p 50 "$RUN_RAY")" "$(p 50 "$RUN_TY")")"
printf 'peak RSS: trainyard server %d MB\n' $((SERVER_HWM / 1024))

mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg started "$STARTED_AT" --arg build "$BUILD_LABEL" --argjson cores "$(nproc)" --arg ray "$RAY_VERSION" \
    --argjson api_ty "$API_TY" --argjson api_rest "$API_REST" --argjson api_ray "$API_RAY" \
    --arg cli_ty "$CLI_TY" --arg cli_sb "$CLI_SB" --arg cli_ray "$CLI_RAY" \
    --argjson run_ty "$(jq -s . "$RUN_TY")" --argjson run_sb "$(jq -s . "$RUN_SB")" --argjson run_ray "$(jq -s . "$RUN_RAY")" \
    --argjson rss_kb "$SERVER_HWM" '
    def cli($s): ($s | split(" ")) as $f | {jobs: ($f[0] | tonumber), seconds: ($f[1] | tonumber), cpu_ms_per_job: ($f[2] | tonumber)};
    {benchmark: "peers", started_at: $started, build: $build, cores: $cores, ray_version: $ray,
     api: {trainyard: $api_ty, slurmrestd: $api_rest, ray: $api_ray},
     cli: {trainyard: cli($cli_ty), sbatch: cli($cli_sb), ray: cli($cli_ray)},
     to_running_ms: {trainyard: $run_ty, sbatch: $run_sb, ray: $run_ray},
     server_peak_rss_kb: $rss_kb}' >"$REPO_ROOT/bench/results/peers-$(date -u +%Y%m%dT%H%M%SZ).json"
