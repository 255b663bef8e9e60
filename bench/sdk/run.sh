#!/usr/bin/env bash
# bench/sdk: the Swift SDK's transfers beside curl's, on the same server in the same run. A SIZE_MIB archive uploaded
# as a job's code (PUT /v1/jobs/{name}/source: uploadSourceArchive beside curl -T), a SIZE_MIB model.tar.gz downloaded
# (GET …/artifacts/model: download(.model) with its SHA-256 check beside curl -o), and an ended job's LINES log lines
# followed (logs(follow: true), each line decoded, beside curl -N of the raw Server-Sent Events). Rounds alternate
# curl and the SDK; prints each side's median seconds and MiB/s (lines/s), the ratios SDK ÷ curl, the SDK process's
# and curl's peak RSS, and the server's. See bench/README.md.
#
# Options (environment):
#   TRAINYARD_BIN   binary to benchmark (trainyard-agent and trainyard-bench-sdk beside it); default: a release build
#   SIZE_MIB        size of the archive and of the model (default 1024)
#   LINES           log lines of the followed job (default 300000)
#   ROUNDS          rounds per transfer, each curl then SDK or SDK then curl (default 4)
#   DOWNLOAD_DIR    where both sides write the downloaded model (default: a directory in /dev/shm when it has twice
#                   SIZE_MIB free, else the work directory): on disk, the kernel's writeback of the round before
#                   throttles whichever side runs next, and a round's time moved from 1.0 to 3.3 s with it
#   STRICT          1: exit 3 when a target is missed
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH_NAME=sdk
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

SIZE_MIB=${SIZE_MIB:-1024}
LINES=${LINES:-300000}
ROUNDS=${ROUNDS:-4}
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The issue's targets: the SDK at 0.8 of curl's rate or better, both sides' RSS below 100 MB and flat.
TARGET_RATIO=0.8
TARGET_RSS_MB=100

require_tools jq curl openssl ss:iproute2 /usr/bin/time:time
resolve_binary
SDK_BIN=${TRAINYARD_BENCH_SDK_BIN:-$(dirname "$(readlink -f "$BIN")")/trainyard-bench-sdk}
if [[ ! -x $SDK_BIN ]]; then
    log "building trainyard-bench-sdk (release)"
    (cd "$REPO_ROOT" && swift build -c release --static-swift-stdlib -Xlinker --no-export-dynamic --product trainyard-bench-sdk) >&2
    SDK_BIN=$REPO_ROOT/.build/release/trainyard-bench-sdk
fi
trap cleanup EXIT

start_server
if [[ -z ${DOWNLOAD_DIR:-} ]]; then
    shm_free_mib=$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
    if ((${shm_free_mib:-0} > 2 * SIZE_MIB)); then DOWNLOAD_DIR=$(mktemp -d /dev/shm/trainyard-bench-sdk.XXXXXX); else DOWNLOAD_DIR=$WORK_DIR; fi
fi
if [[ $DOWNLOAD_DIR == /dev/shm/trainyard-bench-sdk.* ]]; then trap 'rc=$?; rm -rf "$DOWNLOAD_DIR"; (exit $rc); cleanup' EXIT; fi
log "downloads go to $DOWNLOAD_DIR"
start_rss_sampler "$WORK_DIR/rss"
AUTH=(-H "Authorization: Bearer $ADMIN_KEY")

# --- setup (not measured): the archive, a job whose model is SIZE_MIB of random bytes, a job of LINES lines ---------
log "writing a $SIZE_MIB MiB archive of random bytes"
head -c "${SIZE_MIB}M" /dev/urandom >"$WORK_DIR/sourcedir.tar.gz"
DIGEST="sha-256=:$(openssl dgst -sha256 -binary "$WORK_DIR/sourcedir.tar.gz" | base64 -w0):"
ARCHIVE_SHA=$(openssl dgst -sha256 -r "$WORK_DIR/sourcedir.tar.gz" | cut -d' ' -f1)
MODEL_SCRIPT="head -c ${SIZE_MIB}M /dev/urandom > \$SM_MODEL_DIR/weights.bin"
LINES_SCRIPT="import sys
for i in range($LINES):
    sys.stdout.write('step %d loss=0.%03d %s\\n' % (i, i % 1000, 'x' * 60))"
submit_job "$(jq -nc --arg s "$MODEL_SCRIPT" '{name: "bench-model", instance_type: "ml.m5.large", command: ["sh", "-c", $s]}')" >/dev/null
submit_job "$(jq -nc --arg s "$LINES_SCRIPT" '{name: "bench-lines", instance_type: "ml.m5.large", command: ["python3", "-c", $s]}')" >/dev/null
log "waiting for the model job (it writes, archives and uploads $SIZE_MIB MiB) and the log job"
wait_job_end bench-model 1200 >/dev/null
wait_job_end bench-lines 600 >/dev/null
[[ $(job_status bench-model) == Completed && $(job_status bench-lines) == Completed ]] || die "a setup job did not complete"
MODEL_SHA=$(curl -sf "${AUTH[@]}" "$BASE_URL/v1/jobs/bench-model" | jq -r .model_artifacts.sha256)
MODEL_BYTES=$(curl -sf "${AUTH[@]}" "$BASE_URL/v1/jobs/bench-model" | jq -r .model_artifacts.size_bytes)
SERVER_HWM_SETUP_MB=$(( $(vm_kb "$SERVER_PID" VmHWM) / 1024 ))
log "setup done: model $MODEL_BYTES B; server peak RSS so far $SERVER_HWM_SETUP_MB MB"

# One measured transfer: prints "seconds peak_rss_kb". curl runs under GNU time for its peak RSS.
curl_upload() {
    local out
    # (Expect: empty: curl would otherwise wait a second for a 100 Continue before sending the body.)
    out=$(/usr/bin/time -f '%M' -o "$WORK_DIR/curl.rss" curl -sf -X PUT "${AUTH[@]}" -H 'Content-Type: application/gzip' -H 'Expect:' \
        -H "Content-Digest: $DIGEST" -T "$WORK_DIR/sourcedir.tar.gz" -o /dev/null -w '%{time_total}' "$BASE_URL/v1/jobs/$1/source") ||
        die "curl upload failed"
    echo "$out $(<"$WORK_DIR/curl.rss")"
}
# The SDK is given the archive's SHA-256 as curl is given its Content-Digest (as uploadSource(directory:) has it from
# hashing while it packs); without it, the SDK reads the file once more beforehand to compute it.
sdk_upload() { "$SDK_BIN" upload "$BASE_URL" "$ADMIN_KEY" "$WORK_DIR/sourcedir.tar.gz" "$1" "$ARCHIVE_SHA" | jq -r '"\(.seconds) \(.peak_rss_kb)"'; }
# curl, then the check the SDK makes: the file's SHA-256 by openssl (SHA-NI where the CPU has it; coreutils'
# sha256sum is slower), timed on its own into curl.check: curl's time plus it is what a curl user pays for the SDK's
# guarantee (shown beside the target's baseline, bare curl).
curl_download() {
    local out started ended
    out=$(/usr/bin/time -f '%M' -o "$WORK_DIR/curl.rss" curl -sf "${AUTH[@]}" -o "$DOWNLOAD_DIR/curl-model.tar.gz" -w '%{time_total}' \
        "$BASE_URL/v1/jobs/bench-model/artifacts/model") || die "curl download failed"
    started=$(date +%s.%N)
    [[ $(openssl dgst -sha256 -r "$DOWNLOAD_DIR/curl-model.tar.gz" | cut -d' ' -f1) == "$MODEL_SHA" ]] || die "curl's download is not the model"
    ended=$(date +%s.%N)
    awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.4f", b - a }' >"$WORK_DIR/curl.check"
    rm -f "$DOWNLOAD_DIR/curl-model.tar.gz"
    echo "$out $(<"$WORK_DIR/curl.rss")"
}
sdk_download() {
    "$SDK_BIN" download "$BASE_URL" "$ADMIN_KEY" bench-model "$DOWNLOAD_DIR/sdk-model.tar.gz" | jq -r '"\(.seconds) \(.peak_rss_kb)"'
    rm -f "$DOWNLOAD_DIR/sdk-model.tar.gz"
}
curl_follow() {
    local out
    out=$(/usr/bin/time -f '%M' -o "$WORK_DIR/curl.rss" curl -sfN "${AUTH[@]}" -H 'Accept: text/event-stream' -o "$WORK_DIR/follow.sse" \
        -w '%{time_total}' "$BASE_URL/v1/jobs/bench-lines/logs?follow=true") || die "curl follow failed"
    local got
    got=$(grep -c '^id: ' "$WORK_DIR/follow.sse")
    ((got == LINES)) || die "curl's follow saw $got lines, not $LINES"
    rm -f "$WORK_DIR/follow.sse"
    echo "$out $(<"$WORK_DIR/curl.rss")"
}
sdk_follow() {
    local line
    line=$("$SDK_BIN" follow "$BASE_URL" "$ADMIN_KEY" bench-lines)
    (($(jq -r .lines <<<"$line") == LINES)) || die "the SDK's follow saw $(jq -r .lines <<<"$line") lines, not $LINES"
    jq -r '"\(.seconds) \(.peak_rss_kb)"' <<<"$line"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
declare -A seconds=() rss=()
run_round() { # $1 transfer, $2 side, $3 round
    local result
    case $1 in
    # sync first: the server writes every upload to its data dir on disk, and the writeback of the rounds before
    # (gigabytes) otherwise throttles whichever side comes next (rounds of 1.0 s took 2.6-3.3 s).
    upload) sync; result=$("${2}_upload" "bench-up-$2-$3") ;;
    download) result=$("${2}_download") ;;
    follow) result=$("${2}_follow") ;;
    esac
    seconds[$1-$2]+="${result% *} "
    if [[ $1-$2 == download-curl ]]; then
        seconds[download-curlsum]+="$(awk -v c="${result% *}" -v k="$(<"$WORK_DIR/curl.check")" 'BEGIN { printf "%.4f", c + k }') "
    fi
    rss[$1-$2]+="${result#* } "
    log "$1 round $3 $2: ${result% *} s, peak RSS $((${result#* } / 1024)) MB"
}
for transfer in upload download follow; do
    # One download before the measured ones, not counted: the upload rounds wrote gigabytes since the model was, and
    # whichever side went first read it back from disk (curl's first round took 3.1 s, its others 1.0-1.3 s).
    if [[ $transfer == download ]]; then curl_download >/dev/null; fi
    for round in $(seq 1 "$ROUNDS"); do
        server_alive
        if ((round % 2)); then run_round "$transfer" curl "$round"; run_round "$transfer" sdk "$round"
        else run_round "$transfer" sdk "$round"; run_round "$transfer" curl "$round"; fi
    done
done
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=''
SERVER_HWM_MB=$(( $(vm_kb "$SERVER_PID" VmHWM) / 1024 ))

declare -A med=() ratio=() peak=()
for transfer in upload download follow; do
    for side in curl sdk; do
        med[$transfer-$side]=$(median <<<"${seconds[$transfer-$side]}")
        peak[$transfer-$side]=$(( $(maximum <<<"${rss[$transfer-$side]}") / 1024 ))
    done
    # Throughput ratio: curl's time over the SDK's.
    ratio[$transfer]=$(awk -v c="${med[$transfer-curl]}" -v s="${med[$transfer-sdk]}" 'BEGIN { printf "%.2f", c / s }')
done
med[download-curlsum]=$(median <<<"${seconds[download-curlsum]}")
CHECKED_RATIO=$(awk -v c="${med[download-curlsum]}" -v s="${med[download-sdk]}" 'BEGIN { printf "%.2f", c / s }')
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s }'; }

targets_met() {
    local t
    for t in upload download follow; do
        awk -v r="${ratio[$t]}" -v x="$TARGET_RATIO" 'BEGIN { exit !(r >= x) }' || return 1
        ((peak[$t-sdk] < TARGET_RSS_MB)) || return 1
    done
    ((SERVER_HWM_MB < TARGET_RSS_MB))
}

echo
echo "bench/sdk ($BUILD_LABEL build, $(nproc) cores, $SIZE_MIB MiB transfers, $LINES lines, $ROUNDS rounds each, medians; downloads to $DOWNLOAD_DIR)"
for transfer in upload download; do
    printf '  %-9s curl %6.2f s (%s MiB/s, peak RSS %s MB)   SDK %6.2f s (%s MiB/s, peak RSS %s MB)   SDK/curl %s\n' "$transfer" \
        "${med[$transfer-curl]}" "$(rate "$SIZE_MIB" "${med[$transfer-curl]}")" "${peak[$transfer-curl]}" \
        "${med[$transfer-sdk]}" "$(rate "$SIZE_MIB" "${med[$transfer-sdk]}")" "${peak[$transfer-sdk]}" "${ratio[$transfer]}"
done
printf '  %-9s curl and openssl dgst %6.2f s (%s MiB/s): the SDK (which checks the SHA-256 as it receives) at %s of it\n' "" \
    "${med[download-curlsum]}" "$(rate "$SIZE_MIB" "${med[download-curlsum]}")" "$CHECKED_RATIO"
printf '  %-9s curl %6.2f s (%s lines/s, peak RSS %s MB)   SDK %6.2f s (%s lines/s, peak RSS %s MB)   SDK/curl %s\n' follow \
    "${med[follow-curl]}" "$(rate "$LINES" "${med[follow-curl]}")" "${peak[follow-curl]}" \
    "${med[follow-sdk]}" "$(rate "$LINES" "${med[follow-sdk]}")" "${peak[follow-sdk]}" "${ratio[follow]}"
echo "  server peak RSS: $SERVER_HWM_SETUP_MB MB after setup (the $SIZE_MIB MiB model archived and merged), $SERVER_HWM_MB MB after every transfer"
echo "  targets: SDK/curl >= $TARGET_RATIO for each; the SDK's and the server's peak RSS < $TARGET_RSS_MB MB"
for t in upload download follow; do
    awk -v r="${ratio[$t]}" -v x="$TARGET_RATIO" 'BEGIN { exit !(r < x) }' && echo "  MISS: $t at ${ratio[$t]} of curl"
    ((peak[$t-sdk] < TARGET_RSS_MB)) || echo "  MISS: the SDK's peak RSS in $t is ${peak[$t-sdk]} MB"
done
((SERVER_HWM_MB < TARGET_RSS_MB)) || echo "  MISS: the server's peak RSS is $SERVER_HWM_MB MB"
report_targets

mkdir -p "$REPO_ROOT/bench/results"
jq -n --arg started "$STARTED_AT" --arg build "$BUILD_LABEL" --argjson size "$SIZE_MIB" --argjson lines "$LINES" \
    --arg upc "${med[upload-curl]}" --arg ups "${med[upload-sdk]}" --arg dnc "${med[download-curl]}" --arg dns "${med[download-sdk]}" \
    --arg flc "${med[follow-curl]}" --arg fls "${med[follow-sdk]}" \
    --arg dncs "${med[download-curlsum]}" --argjson dncr "$CHECKED_RATIO" \
    --argjson upr "${ratio[upload]}" --argjson dnr "${ratio[download]}" --argjson flr "${ratio[follow]}" \
    --argjson uprss "${peak[upload-sdk]}" --argjson dnrss "${peak[download-sdk]}" --argjson flrss "${peak[follow-sdk]}" \
    --argjson srvsetup "$SERVER_HWM_SETUP_MB" --argjson srv "$SERVER_HWM_MB" \
    '{started: $started, build: $build, size_mib: $size, lines: $lines,
      seconds: {upload: {curl: ($upc|tonumber), sdk: ($ups|tonumber)}, download: {curl: ($dnc|tonumber), sdk: ($dns|tonumber), curl_and_openssl_sha256: ($dncs|tonumber)},
                follow: {curl: ($flc|tonumber), sdk: ($fls|tonumber)}},
      ratio_sdk_to_curl: {upload: $upr, download: $dnr, follow: $flr}, ratio_sdk_to_curl_and_openssl_sha256: {download: $dncr},
      sdk_peak_rss_mb: {upload: $uprss, download: $dnrss, follow: $flrss},
      server_peak_rss_mb: {after_setup: $srvsetup, after_transfers: $srv}}' \
    >"$REPO_ROOT/bench/results/sdk-$(date -u +%Y%m%dT%H%M%SZ).json"
