#!/usr/bin/env bash
# A rate limit the run can live with is no error: against the
# mock with a generous --rate-limit the whole suite passes. The run's cost
# (results.json "costs" and the console's closing "cost:" line) is counted,
# and stays within what --print-server-config promises a server: at most
# that many registrations and logins.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

start_server url "$MOCK" --appservice "$AS_REG" --rate-limit=1000 --request-log "$work/requests.log"
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/generous" \
    >"$work/generous.log" 2>&1
status=$?
results=$work/generous/results.json
echo "generous: exit $status, totals $(json_get "$results" 'd["totals"]')"
if [ "$status" -ne 0 ]; then
    grep -E '^(FAIL|WARN|XPASS|NOT_RUN|BLOCKED)' -A2 "$work/generous.log" | head -30
    fail "generous: the suite does not pass under a generous rate limit (exit $status)"
fi

costs=$(json_get "$results" 'd["costs"]')
echo "costs: $costs"
for key in registrations logins password_checks requests; do
    n=$(json_get "$results" "d['costs']['$key']")
    [ "$n" -gt 0 ] || fail "costs: $key is $n"
done
line=$(grep '^cost: ' "$work/generous.log") || fail "no closing cost: line on the console"
expect="cost: $(json_get "$results" 'd["costs"]["registrations"]') registrations, $(json_get "$results" 'd["costs"]["logins"]') logins, $(json_get "$results" 'd["costs"]["password_checks"]') password checks, $(json_get "$results" 'd["costs"]["requests"]') requests"
[ "$line" = "$expect" ] || fail "the cost line \"$line\" does not match results.json ($expect)"

# The mock's own request log is the evidence for the request count: every
# request the suite sent reached it (the runner's probe included).
kill -TERM "${server_pids[-1]}" && wait "${server_pids[-1]}" 2>/dev/null
unset 'server_pids[-1]'
logged=$(wc -l <"$work/requests.log")
[ "$logged" = "$(json_get "$results" 'd["costs"]["requests"]')" ] ||
    fail "costs: $(json_get "$results" 'd["costs"]["requests"]') requests counted, the mock logged $logged"
"$SUITE" --print-server-config synapse >"$work/synapse.yaml" || fail "--print-server-config failed"
max_reg=$(sed -n 's/^# A run registers up to \([0-9]*\) accounts.*/\1/p' "$work/synapse.yaml")
max_login=$(sed -n 's/.*makes up to \([0-9]*\) logins.*/\1/p' "$work/synapse.yaml")
[ -n "$max_reg" ] && [ -n "$max_login" ] ||
    fail "--print-server-config does not state the registrations and logins a run needs"
reg=$(json_get "$results" 'd["costs"]["registrations"]')
login=$(json_get "$results" 'd["costs"]["logins"]')
[ "$reg" -le "$max_reg" ] || fail "the run registered $reg accounts, more than the $max_reg promised"
[ "$login" -le "$max_login" ] || fail "the run logged in $login times, more than the $max_login promised"
echo "a generous rate limit costs nothing; the run stays within $max_reg registrations and $max_login logins"
