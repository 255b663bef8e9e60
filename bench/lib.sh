# Shared by the benchmarks' run.sh scripts (sourced, not run): logging, the binary, a server on a fresh data dir, the
# embedded cluster through psql, memory readings, and cleaning up every process a run started.
#
# A script sets BENCH_NAME before sourcing, and may set SERVER_ENV (extra VAR=value words for the server) and
# CAPACITY_JSON (the capacity file's contents) before calling start_server.

WORK_DIR=""       # mktemp -d; the data dir, logs and scratch of the run; removed at exit
SERVER_PID=""
POSTMASTER_PID=""
PG_SOCK=""        # the embedded cluster's socket directory
PORT=""
BASE_URL=""
ADMIN_KEY=""
DATA_DIR=""
SAMPLER_PID=""
SERVER_LOG_LEVEL=${TRAINYARD_LOG_LEVEL:-warning}

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$BENCH_NAME" -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# Each word is tool:package (tool alone, or tool:, when the package has the tool's name; a tool may be a path, such as
# /usr/lib/postgresql/15/bin/pgbench). apt-get installs what is missing (as root); $EPOCHREALTIME (bash 5) timestamps
# without forking.
require_tools() {
    local missing=() tool package
    for tool in "$@"; do
        package=${tool#*:}
        tool=${tool%%:*}
        command -v "$tool" >/dev/null || missing+=("${package:-$tool}")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        [[ $(id -u) == 0 ]] || die "need ${missing[*]}; run as root or install them"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    [[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is needed (\$EPOCHREALTIME)"
}

# TRAINYARD_BIN, or the release binaries built here (a debug build measures the compiler's debug code).
resolve_binary() {
    if [[ -n ${TRAINYARD_BIN:-} ]]; then
        [[ -x $TRAINYARD_BIN ]] || die "TRAINYARD_BIN=$TRAINYARD_BIN is not an executable"
        BIN=$TRAINYARD_BIN
        case $BIN in
        */debug/*) BUILD_LABEL=${BUILD_LABEL:-debug} ;;
        */release/*) BUILD_LABEL=${BUILD_LABEL:-release} ;;
        *) BUILD_LABEL=${BUILD_LABEL:-unknown} ;;
        esac
    else
        # As `scripts/install --release` builds them (one release configuration: another flag rebuilds everything).
        local release=(swift build -c release --static-swift-stdlib -Xlinker --no-export-dynamic)
        log "building release binaries (${release[*]} --product trainyard, trainyard-server, trainyard-agent)"
        (cd "$REPO_ROOT" && "${release[@]}" --product trainyard && "${release[@]}" --product trainyard-server &&
            "${release[@]}" --product trainyard-agent) >&2
        BIN=$REPO_ROOT/.build/release/trainyard
        BUILD_LABEL=${BUILD_LABEL:-release}
    fi
    AGENT_BIN=${TRAINYARD_AGENT_BIN:-$(dirname "$(readlink -f "$BIN")")/trainyard-agent}
    [[ -x $AGENT_BIN ]] || die "no trainyard-agent at $AGENT_BIN (put it beside $BIN or set TRAINYARD_AGENT_BIN)"
}

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if [[ -z $(ss -Hltn "sport = :$p") ]]; then echo "$p"; return; fi
    done
    die "no free port found"
}

# Waits until the server at $1 (pid $2, log $3, called $4 in messages) answers /readyz; dies if it exits or takes 120 s.
wait_ready() {
    local deadline=$((SECONDS + 120))
    until curl -sf "$1/readyz" >/dev/null 2>&1; do
        kill -0 "$2" 2>/dev/null || { tail -n 30 "$3" >&2; die "$4 exited while starting"; }
        ((SECONDS < deadline)) || die "$4 not ready after 120 s"
        sleep 0.2
    done
}

# `trainyard serve` on a free loopback port and a fresh data dir (so a new embedded cluster, default settings).
start_server() {
    WORK_DIR=$(mktemp -d /tmp/trainyard-bench.XXXXXX)
    # The embedded cluster runs as an unprivileged user, which must be able to enter the data dir's parents.
    chmod 755 "$WORK_DIR"
    DATA_DIR=$WORK_DIR/data
    PORT=$(free_port)
    BASE_URL=http://127.0.0.1:$PORT
    local capacity=()
    if [[ -n ${CAPACITY_JSON:-} ]]; then
        printf '%s\n' "$CAPACITY_JSON" >"$WORK_DIR/capacity.json"
        capacity=(TRAINYARD_CAPACITY="$WORK_DIR/capacity.json")
    fi
    log "starting $BIN serve on 127.0.0.1:$PORT, data dir $DATA_DIR, agent $AGENT_BIN"
    # TRAINYARD_CLIENT_PROFILE= : a benchmark's throwaway server leaves the user's client profiles alone.
    env TRAINYARD_CLIENT_PROFILE= TRAINYARD_DATA_DIR="$DATA_DIR" TRAINYARD_HOST=127.0.0.1 TRAINYARD_PORT="$PORT" TRAINYARD_LOG_LEVEL="$SERVER_LOG_LEVEL" \
        TRAINYARD_AGENT_BIN="$AGENT_BIN" "${capacity[@]}" ${SERVER_ENV:-} "$BIN" serve >"$WORK_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$BASE_URL" "$SERVER_PID" "$WORK_DIR/server.log" server
    ADMIN_KEY=$(<"$DATA_DIR/admin-key")
    # postmaster.pid: line 1 the postmaster's pid, line 5 its socket directory.
    local pidfile=$DATA_DIR/postgres/data/postmaster.pid
    POSTMASTER_PID=$(sed -n 1p "$pidfile")
    PG_SOCK=$(sed -n 5p "$pidfile")
    log "ready: server pid $SERVER_PID, postgres pid $POSTMASTER_PID, socket $PG_SOCK"
}

# psql on the embedded cluster (as root: its socket directory is owner-only).
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -h "$PG_SOCK" -U trainyard -d trainyard "$@"; }

# POST /v1/jobs; prints the answer, fails unless 201.
submit_job() {
    local body=$1 out status
    out=$(mktemp)
    status=$(curl -s -o "$out" -w '%{http_code}' -X POST "$BASE_URL/v1/jobs" -H "Authorization: Bearer $ADMIN_KEY" \
        -H 'Content-Type: application/json' -d "$body")
    [[ $status == 201 ]] || { cat "$out" >&2; rm -f "$out"; die "submit answered $status"; }
    cat "$out"
    rm -f "$out"
}

job_status() { curl -sf "$BASE_URL/v1/jobs/$1" -H "Authorization: Bearer $ADMIN_KEY" | jq -r .status; }

# Waits until job $1 has ended (at most $2 seconds); prints its status.
wait_job_end() {
    local name=$1 limit=${2:-600} status deadline=$((SECONDS + ${2:-600}))
    while :; do
        status=$(job_status "$name")
        case $status in Completed | Failed | Stopped) echo "$status"; return ;; esac
        ((SECONDS < deadline)) || die "job $name still $status after $limit s"
        sleep 0.2
    done
}

# Agents this server started that are running (comm trainyard-agent; before its exec, an agent is unshare or sh).
our_agents() {
    local p
    for p in $(pgrep -P "$SERVER_PID" -f trainyard-agent 2>/dev/null || true); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == trainyard-agent ]] && echo "$p"
    done
    return 0
}

server_alive() { kill -0 "$SERVER_PID" 2>/dev/null || die "the server (pid $SERVER_PID) is gone"; }

# A /proc/<pid>/status field in kB (VmRSS, VmHWM), or 0 once the process is gone.
vm_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Whether number $1 now belongs to another process than the command group recorded with start time $2 (ticks since
# boot, field 22 of /proc/<pid>/stat; the agent writes it beside the group id in command.pgid). Without a recorded
# time (an older agent), a process started after the file $3 was written is taken for a newcomer.
pid_reused() {
    local line btime hz
    local -a fields
    line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    read -ra fields <<<"${line##*) }" # from field 3 on: field 22, the start time in ticks since boot, is fields[19]
    [[ ${fields[2]} == "$1" ]] || return 0 # it leads no group of that number: not the recorded leader
    if [[ -n $2 ]]; then
        [[ ${fields[19]} != "$2" ]]
        return
    fi
    btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
    hz=$(getconf CLK_TCK)
    ((btime + fields[19] / hz > $(stat -c %Y "$3") + 2))
}

# Agents and commands outlive the server by design (they wait for it to come back): kill this run's, and only those:
# each command's process group (recorded by its agent; not when the pid has been taken again since) and agents whose
# worker directory is this run's.
kill_workers() {
    local f g st p
    [[ -n ${DATA_DIR:-} && -d $DATA_DIR/workers ]] || return 0
    for f in "$DATA_DIR"/workers/*/command.pgid; do
        [[ -f $f ]] || continue
        read -r g st <"$f" || true
        [[ $g =~ ^[0-9]+$ ]] && ((g > 1)) && ! pid_reused "$g" "${st:-}" "$f" && kill -KILL -- "-$g" 2>/dev/null || true
    done
    for p in $(grep -l "TRAINYARD_AGENT_DIR=$DATA_DIR/workers/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    done
}

# SIGTERM lets the server stop its cluster itself; wait for both. Install with `trap cleanup EXIT`.
cleanup() {
    local rc=$?
    kill_workers
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        log "stopping server (SIGTERM)"
        kill -TERM "$SERVER_PID"
        local deadline=$((SECONDS + 60))
        while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server did not stop in 60 s; SIGKILL"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    elif [[ -n $SERVER_PID ]]; then
        local status=0
        wait "$SERVER_PID" 2>/dev/null || status=$?
        log "the server had already exited (status $status)"
    fi
    # Only if the server could not stop its cluster: stop that postmaster (fast shutdown), which we started through it.
    if [[ -n $POSTMASTER_PID ]] && kill -0 "$POSTMASTER_PID" 2>/dev/null; then
        log "embedded postgres still running; stopping it"
        kill -INT "$POSTMASTER_PID" 2>/dev/null || true
        sleep 2
    fi
    [[ -n $WORK_DIR && $rc != 0 && -f $WORK_DIR/server.log ]] && { log "server log tail:"; tail -n 40 "$WORK_DIR/server.log" >&2; }
    # As root each host's directory is a loop-mounted volume: what the killed workers left mounted goes before the tree.
    if [[ -n $WORK_DIR && -z ${KEEP_WORK_DIR:-} ]]; then
        local mountpoint
        while read -r mountpoint; do umount -l "$mountpoint" 2>/dev/null || true; done \
            < <(awk -v dir="$WORK_DIR/" 'index($2, dir) == 1 {print $2}' /proc/self/mounts | sort -r)
        rm -rf "$WORK_DIR"
    fi
    exit "$rc"
}

# Samples the peak RSS (VmHWM, kB) of the server and of its largest agent every 0.2 s, a line "server agent" each, into
# file $1, until cleanup (or the caller) kills SAMPLER_PID.
start_rss_sampler() {
    ( while :; do
        s=$(vm_kb "$SERVER_PID" VmHWM); a=0
        for p in $(our_agents); do h=$(vm_kb "$p" VmHWM); ((h > a)) && a=$h; done
        echo "$s $a"; sleep 0.2
      done >"$1" ) &
    SAMPLER_PID=$!
}

# p-th percentile (0–100) of the numbers on stdin, nearest rank.
percentile() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print v[r] }'; }

# The verdict line of a report, from the script's own `targets_met`; with STRICT=1 a miss exits 3.
report_targets() {
    if targets_met; then
        echo "targets: all met"
    else
        echo "targets: MISSED (see MISS above)"
        [[ ${STRICT:-0} == 1 ]] && exit 3
    fi
    return 0
}

