#!/usr/bin/env bash
# A rate limit the run cannot wait out is a configuration error:
# against the mock with --rate-limit (N requests per minute per client for
# login, registration and AS device creation), a run whose waits are
# unaffordable ends with exit 2 and the advice, no check fails because of
# the limiter, and every check it kept from running is not_run.
#   (a) from the start: --rate-limit=1 asks for 60 s waits (the suite waits
#       at most 30 s for one 429);
#   (b) midway: --rate-limit=20 asks for 3 s waits once the first 20 logins
#       are spent, and MXDEV_RETRY_BUDGET_MS=2000 lets no check wait that
#       long, so checks pass until the limit bites.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

# stopped NAME: the run named NAME stopped on the rate limit as it should.
stopped() {
    local name=$1 dir=$work/$1
    [ "$status" -eq 2 ] || {
        tail -n 20 "$work/$name.log"
        fail "$name: exit $status, expected 2 (configuration error)"
    }
    [ -f "$dir/results.json" ] || fail "$name: no results.json"
    local reason
    reason=$(json_get "$dir/results.json" 'd.get("reason") or ""')
    for word in "429" "retry_after_ms" "registrations" "logins" "rc_login.address" \
        "rc_login.account" "rc_login.failed_attempts" "rc_registration" "burst_count" \
        "--print-server-config"; do
        case $reason in
        *"$word"*) ;;
        *) fail "$name: the reason in results.json does not mention $word: $reason" ;;
        esac
    done
    grep -qF "rc_login.address" "$work/$name.log" ||
        fail "$name: the console does not show the advice"
    [ "$(json_get "$dir/results.json" 'd["totals"]["fail"]')" = 0 ] ||
        fail "$name: checks failed because of the rate limiter: $(json_get "$dir/results.json" \
            '[c["test"] for c in d["checks"] if c["verdict"] == "fail"]')"
    [ "$(json_get "$dir/results.json" 'd["totals"].get("not_run", 0)')" -gt 0 ] ||
        fail "$name: no check is not_run after the stop"
    [ "$(json_get "$dir/results.json" \
        'sum(1 for c in d["checks"] if c["verdict"] in ("fail", "warn", "blocked"))')" = 0 ] ||
        fail "$name: a check is fail, warn or blocked after a rate-limit stop"
}

# ---- (a) from the start ----
start_server url "$MOCK" --appservice "$AS_REG" --rate-limit=1
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/low" \
    >"$work/low.log" 2>&1
status=$?
echo "low: exit $status, totals $(json_get "$work/low/results.json" 'd["totals"]')"
stopped low
kill -TERM "${server_pids[-1]}" && wait "${server_pids[-1]}" 2>/dev/null
unset 'server_pids[-1]'

# ---- (b) midway ----
start_server url "$MOCK" --appservice "$AS_REG" --rate-limit=20
MXDEV_RETRY_BUDGET_MS=2000 "$SUITE" --homeserver "$url" --as-registration "$AS_REG" \
    --report-dir "$work/midway" >"$work/midway.log" 2>&1
status=$?
echo "midway: exit $status, totals $(json_get "$work/midway/results.json" 'd["totals"]')"
stopped midway
[ "$(json_get "$work/midway/results.json" 'd["totals"]["pass"]')" -ge 5 ] ||
    fail "midway: the limit bit before any checks ran; this does not test a stop midway"
echo "rate limits the run cannot afford stop it with exit 2 and the advice"
