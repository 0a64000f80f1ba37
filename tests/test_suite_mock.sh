#!/usr/bin/env bash
# The suite against the clean mock, at every spec version: every applicable
# check passes, no warnings, and the run reports the counts.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
for v in 1.16 1.17 1.18 1.19 1.20; do
    start_server url "$MOCK" --spec-version "$v" --appservice "$AS_REG"
    out=$work/$v
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --spec-version "$v" \
        --strict --report-dir "$out" >"$work/log.$v" 2>&1
    status=$?
    totals=$(json_get "$out/results.json" 'd["totals"]')
    echo "spec $v: exit $status, totals $totals"
    if [ $status -ne 0 ]; then
        grep -E '^(FAIL|WARN|XPASS)' "$work/log.$v" | head -20
        fail "the suite does not pass against the clean mock at $v"
    fi
    [ "$(json_get "$out/results.json" 'd["totals"]["warn"]+d["totals"]["fail"]')" = 0 ] ||
        fail "warnings or failures against the clean mock at $v"
    [ "$(json_get "$out/results.json" 'd["totals"]["pass"]')" -gt 40 ] ||
        fail "too few checks passed at $v: $totals"
    kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null
done
