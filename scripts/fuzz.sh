#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and reports what each did.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, all targets)
#
# Each run is capped in input size (-max_len), memory (-rss_limit_mb / -malloc_limit_mb: an
# input that makes the parser allocate without bound fails the run) and time per input
# (-timeout). Prints the executions per target and whether it found a crash; exits 1 if any
# target crashed (the input is in fuzz/artifacts/<target>/, the log in
# fuzz/target/fuzz-logs/<target>.log). Installs cargo-fuzz when it is missing. Uses the
# nightly toolchain when there is one (AddressSanitizer); otherwise stable without a sanitizer.
set -euo pipefail

secs="${1:-60}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [[ "$secs" -eq 0 ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
shift || true

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
all=(signl4_event signl4_rest_alert graph_alert_page graph_incident_page sentinel_incident config_load timestamp header_numbers link_policy routing)
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=("${all[@]}")
fi

max_len=65536      # the webhook receiver's body limit (webhook::MAX_BODY); 256 for timestamps
rss_mb=512
per_input_s=10
# AddressSanitizer keeps 256 MB of freed memory by default, which would count against the
# RSS limit; keep less so the limit measures what the parsers allocate.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo_fuzz=(cargo +nightly fuzz)
    sanitizer=()
else
    cargo_fuzz=(cargo fuzz)
    sanitizer=(-s none)
fi

cd "$fuzz"
echo "== building the fuzz targets (${cargo_fuzz[*]} build ${sanitizer[*]})"
"${cargo_fuzz[@]}" build "${sanitizer[@]}"

logs="$fuzz/target/fuzz-logs"
mkdir -p "$logs"
final_stat() { # final_stat NAME LOG
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

crashed=0
summary=()
for t in "${targets[@]}"; do
    dict="dict/json.dict"
    len="$max_len"
    case "$t" in
        config_load) dict="dict/toml.dict" ;;
        timestamp) dict="dict/timestamp.dict" len=256 ;;
        header_numbers) dict="dict/header_numbers.dict" len=256 ;;
        link_policy) dict="dict/link_policy.dict" len=2048 ;;
    esac
    mkdir -p "corpus/$t"
    log="$logs/$t.log"
    echo "== $t: ${secs}s (log: ${log#"$root"/})"
    set +e
    "${cargo_fuzz[@]}" run "${sanitizer[@]}" "$t" -- \
        -max_total_time="$secs" -max_len="$len" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" \
        -timeout="$per_input_s" -dict="$dict" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    execs="$(final_stat number_of_executed_units "$log")"
    rss="$(final_stat peak_rss_mb "$log")"
    if [[ $rc -eq 0 ]]; then
        result="no crash"
    else
        crashed=1
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
        reason="$(grep -m1 -A1 "panicked at" "$log" | tr '\n' ' ' || true)"
        [[ -n "$reason" ]] || reason="$(grep -m1 -E "ERROR: libFuzzer|ERROR: AddressSanitizer" "$log" || true)"
        result="CRASH (rc $rc) ${artifact:-see log}: ${reason:-see log}"
        tail -n 40 "$log" >&2
    fi
    summary+=("$(printf '%-20s %12s execs  %6s MB peak  %s' "$t" "${execs:-?}" "${rss:-?}" "$result")")
done

echo
echo "== fuzz summary (${secs}s per target, -max_len=$max_len, -rss_limit_mb=$rss_mb, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '%s\n' "${summary[@]}"
exit "$crashed"
