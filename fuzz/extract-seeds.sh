#!/usr/bin/env bash
# Writes the seed corpus of the fuzz targets from the verbatim payloads in the reference notes
# (../shared/reference/*.md, beside the repository) and the example configuration:
#   corpus/<target>/seed-ref-<file>-L<line>.json   one fenced ```json block, verbatim
#   corpus/signl4_event/seed-ref-signl4-L<line>-inline.json   an event written inline
#   corpus/timestamp/seed-ref-ts-<n>.txt            each quoted timestamp, once
#   corpus/config_load/seed-ref-example.toml        crates/core/example.toml
# Blocks go to the targets whose parsers they belong to (by what they contain). Hand-written
# seeds (seed-synth-*) are committed next to them and left alone. The output is committed, so
# this only needs running again when the reference notes change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
ref="${1:-$root/../shared/reference}"
corpus="$here/corpus"

if [[ ! -d "$ref" ]]; then
    echo "extract-seeds: no reference notes at $ref" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Every ```json block, named <file>-L<line of the opening fence>.json.
for md in "$ref/signl4.md" "$ref/microsoft-apis.md"; do
    base="$(basename "$md" .md)"
    awk -v out="$tmp" -v base="$base" '
        /^[[:space:]]*```json[[:space:]]*$/ { name = sprintf("%s/%s-L%d.json", out, base, NR); inside = 1; next }
        inside && /^[[:space:]]*```[[:space:]]*$/ { inside = 0; close(name); next }
        inside { print > name }
    ' "$md"
done

put() { # put TARGET FILE [SUFFIX]
    mkdir -p "$corpus/$1"
    cp "$2" "$corpus/$1/seed-ref-$(basename "$2" .json)${3:-}.json"
}

for f in "$tmp"/*.json; do
    case "$(basename "$f")" in
        signl4-*)
            if grep -q '"eventType"' "$f"; then
                put signl4_event "$f"
                # §3.3: "201 – resolved: identical shape with "statusCode": 4".
                if grep -q '"eventType": 201' "$f"; then
                    mkdir -p "$corpus/signl4_event"
                    sed 's/"statusCode": 2/"statusCode": 4/' "$f" >"$corpus/signl4_event/seed-ref-$(basename "$f" .json)-resolved.json"
                fi
            else
                # Other SIGNL4 JSON (inbound bodies, REST filter bodies, error bodies).
                put signl4_rest_alert "$f"
            fi
            ;;
        microsoft-apis-*)
            if grep -q '#microsoft.graph.security.alert"' "$f"; then
                put graph_alert_page "$f"
            fi
            if grep -q '"@odata.context"' "$f"; then
                put graph_alert_page "$f"
                put graph_incident_page "$f"
            fi
            if grep -Eq 'Microsoft\.SecurityInsights|"etag"|"tables"|"Query Period"' "$f"; then
                put sentinel_incident "$f"
            fi
            if grep -q '"error"' "$f"; then
                for t in graph_alert_page graph_incident_page sentinel_incident; do put "$t" "$f"; done
            fi
            ;;
    esac
done

# Inline events written in backticks (§3.3: 300/301 duty start/end).
# shellcheck disable=SC2016 # backticks are literal here
grep -no '`{"eventType":[^`]*}`' "$ref/signl4.md" | while IFS=: read -r line text; do
    mkdir -p "$corpus/signl4_event"
    printf '%s\n' "${text//\`/}" >"$corpus/signl4_event/seed-ref-signl4-L$line-inline.json"
done

# Every quoted timestamp in the notes, once each (timestamp target).
mkdir -p "$corpus/timestamp"
n=0
cat "$ref/signl4.md" "$ref/microsoft-apis.md" | grep -oE '"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})?"' |
    tr -d '"' | sort -u | while read -r ts; do
    n=$((n + 1))
    printf '%s' "$ts" >"$corpus/timestamp/seed-ref-ts-$(printf '%02d' "$n").txt"
done

mkdir -p "$corpus/config_load"
cp "$root/crates/core/example.toml" "$corpus/config_load/seed-ref-example.toml"

for d in "$corpus"/*/; do
    echo "$(basename "$d"): $(find "$d" -name 'seed-*' | wc -l) seeds"
done
