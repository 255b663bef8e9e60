#!/usr/bin/env bash
# bench/submit/compare.sh BASELINE_BIN CANDIDATE_BIN: two builds of `trainyard`, each serving on its own fresh data dir
# and embedded cluster, loaded AT THE SAME TIME by two wrk (POST /v1/jobs, the spec of run.sh), round after round. The
# machine's noise (other tenants, disk flushes) then hits both alike, which separate runs minutes apart do not
# promise: on a shared two-core machine single runs of one build differ by 10-30 %. Prints, per round and as medians,
# each build's jobs/s and server and PostgreSQL CPU per job, the candidate's ratios to the baseline, and each
# server's peak RSS. See bench/README.md.
#
# Options (environment):
#   ROUNDS   measured rounds (default 5)
#   JOBS     submissions per build per round (default 10000)
#   CLIENTS  wrk connections per build (default 4: 8 in all, as run.sh)
#   WARMUP   unmeasured submissions per build first (default 2000)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=submit-compare
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

(($# == 2)) || die "usage: $0 BASELINE_BIN CANDIDATE_BIN (each with trainyard-agent beside it)"
ROUNDS=${ROUNDS:-5}
JOBS=${JOBS:-10000}
CLIENTS=${CLIENTS:-4}
WARMUP=${WARMUP:-2000}
SPEC='{"instance_type":"ml.m5.large","command":["python3","train.py"]}'
CAPACITY_JSON='{"default": {"on_demand": 4, "spot": 4}, "instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}'
SIDES=(baseline candidate)
declare -A BIN DIR SPID PGPID URL KEY
BIN[baseline]=$(realpath "$1")
BIN[candidate]=$(realpath "$2")

require_tools wrk jq curl

# Every process of both sides goes at exit: the servers (which stop their clusters), their agents, their volumes.
stop_sides() {
    local side p m
    for side in "${SIDES[@]}"; do
        [[ -n ${SPID[$side]:-} ]] || continue
        DATA_DIR=${DIR[$side]}/data kill_workers
        kill -TERM "${SPID[$side]}" 2>/dev/null && wait "${SPID[$side]}" 2>/dev/null || true
        while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="${DIR[$side]}/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
        rm -rf "${DIR[$side]}"
    done
}
trap stop_sides EXIT

start_side() {
    local side=$1 port
    DIR[$side]=$(mktemp -d /tmp/trainyard-bench.XXXXXX)
    chmod 755 "${DIR[$side]}"
    printf '%s\n' "$CAPACITY_JSON" >"${DIR[$side]}/capacity.json"
    port=$(free_port)
    URL[$side]=http://127.0.0.1:$port
    env TRAINYARD_CLIENT_PROFILE= TRAINYARD_DATA_DIR="${DIR[$side]}/data" TRAINYARD_HOST=127.0.0.1 TRAINYARD_PORT="$port" \
        TRAINYARD_LOG_LEVEL="$SERVER_LOG_LEVEL" TRAINYARD_AGENT_BIN="$(dirname "${BIN[$side]}")/trainyard-agent" \
        TRAINYARD_CAPACITY="${DIR[$side]}/capacity.json" TRAINYARD_MAX_QUEUED_JOBS=10000000 \
        "${BIN[$side]}" serve >"${DIR[$side]}/server.log" 2>&1 &
    SPID[$side]=$!
    wait_ready "${URL[$side]}" "${SPID[$side]}" "${DIR[$side]}/server.log" "the $side server"
    KEY[$side]=$(<"${DIR[$side]}/data/admin-key")
    PGPID[$side]=$(sed -n 1p "${DIR[$side]}/data/postgres/data/postmaster.pid")
    # The blocker holds the only ml.m5.large host, so the submitted jobs queue, as in run.sh.
    curl -sf -X POST "${URL[$side]}/v1/jobs" -H "Authorization: Bearer ${KEY[$side]}" -H 'Content-Type: application/json' \
        -d '{"name":"bench-blocker","instance_type":"ml.m5.large","command":["sleep","100000"]}' >/dev/null ||
        die "$side server refused the blocker job"
    log "$side: ${BIN[$side]} on ${URL[$side]}"
}

# CPU ticks (user + system) of a process; of a postmaster, with its live children and those it has reaped (its
# cutime and cstime), as run.sh counts PostgreSQL.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cluster_ticks() {
    local total p children=""
    total=$(awk '{print $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0)
    read -r children <"/proc/$1/task/$1/children" 2>/dev/null || true
    for p in $1 $children; do total=$((total + $(ticks "$p"))); done
    echo "$total"
}

# wrk on one side, $2 submissions; writes the BENCH line's duration (µs) to $3.
load() {
    local side=$1 requests=$2 out=$3 done_dir
    done_dir=$(mktemp -d "${DIR[$side]}/wrk-done.XXXX")
    BENCH_KEY=${KEY[$side]} BENCH_BODY=$SPEC BENCH_DONE_DIR=$done_dir \
        wrk -t 1 -c "$CLIENTS" -d 300s --timeout 30s -s "$SCRIPT_DIR/submit.lua" "${URL[$side]}/v1/jobs" -- "$requests" 1 >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed on $side"; }
    grep -q ' non201=0 ' "$out" || { grep '^BENCH' "$out" >&2; die "$side answered something other than 201"; }
}

# Both sides at once; each side's line: jobs/s, server µs/job, PostgreSQL µs/job.
round() {
    local label=$1 requests=$2 side hz pids=()
    hz=$(getconf CLK_TCK)
    declare -A s0 p0
    for side in "${SIDES[@]}"; do s0[$side]=$(ticks "${SPID[$side]}"); p0[$side]=$(cluster_ticks "${PGPID[$side]}"); done
    for side in "${SIDES[@]}"; do
        load "$side" "$requests" "${DIR[$side]}/wrk-$label.out" &
        pids+=($!)
    done
    wait "${pids[@]}"
    for side in "${SIDES[@]}"; do
        local duration server postgres
        duration=$(grep -o 'duration_us=[0-9]*' "${DIR[$side]}/wrk-$label.out" | cut -d= -f2)
        server=$(($(ticks "${SPID[$side]}") - s0[$side]))
        postgres=$(($(cluster_ticks "${PGPID[$side]}") - p0[$side]))
        awk -v n="$requests" -v d="$duration" -v s="$server" -v p="$postgres" -v hz="$hz" \
            'BEGIN { printf "%.0f %.0f %.0f\n", n * 1e6 / d, s * 1e6 / hz / n, p * 1e6 / hz / n }'
    done
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for side in "${SIDES[@]}"; do start_side "$side"; done
log "warm-up: $WARMUP submissions per side (not measured)"
round warmup "$WARMUP" >/dev/null

RESULTS=$(mktemp)
printf '%-6s %-10s %8s %12s %12s\n' round build jobs/s "server µs" "postgres µs"
for ((r = 1; r <= ROUNDS; r++)); do
    mapfile -t lines < <(round "r$r" "$JOBS")
    read -r bj bs bp <<<"${lines[0]}"
    read -r cj cs cp <<<"${lines[1]}"
    printf '%-6s %-10s %8s %12s %12s\n' "$r" baseline "$bj" "$bs" "$bp" "$r" candidate "$cj" "$cs" "$cp"
    awk -v bj="$bj" -v bs="$bs" -v bp="$bp" -v cj="$cj" -v cs="$cs" -v cp="$cp" \
        'BEGIN { printf "%.4f %.4f %.4f\n", cj / bj, cs / bs, cp / bp }' >>"$RESULTS"
done

echo
echo "candidate ÷ baseline, median of $ROUNDS rounds ($JOBS submissions per build per round, $CLIENTS connections each):"
printf '  jobs/s %s   server CPU per job %s   PostgreSQL CPU per job %s\n' \
    "$(cut -d' ' -f1 "$RESULTS" | median)" "$(cut -d' ' -f2 "$RESULTS" | median)" "$(cut -d' ' -f3 "$RESULTS" | median)"
printf '  per round, jobs/s: %s\n' "$(cut -d' ' -f1 "$RESULTS" | tr '\n' ' ')"
echo "peak RSS (VmHWM): baseline $(($(vm_kb "${SPID[baseline]}" VmHWM) / 1024)) MB, candidate $(($(vm_kb "${SPID[candidate]}" VmHWM) / 1024)) MB"
rm -f "$RESULTS"
