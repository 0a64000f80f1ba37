#!/usr/bin/env bash
# The mock configured like a cautious production server: registration only
# with a token, low rate limits on login and registration. The suite must
# pass (rate limits slow it, never fail it), twice in a row against the same
# instance.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
token=mxdev-registration-token-$$
start_server url "$MOCK" --appservice "$AS_REG" --registration-token "$token" --rate-limit=120
for run in 1 2; do
    MXDEV_REGISTRATION_TOKEN=$token "$SUITE" --homeserver "$url" --as-registration "$AS_REG" \
        --report-dir "$work/run$run" >"$work/run$run.log" 2>&1
    status=$?
    [ $status -eq 0 ] || { grep -E '^(FAIL|WARN)' -A2 "$work/run$run.log" | head -30;
                           fail "run $run against the cautious mock: exit $status"; }
    echo "run $run: $(json_get "$work/run$run/results.json" 'd["totals"]')"
done
# Without the token, registration is refused: the suite must say so, not pass.
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/notoken" \
    -- --filter 'list/*' >"$work/notoken.log" 2>&1
status=$?
[ $status -ne 0 ] || fail "the suite passed although it could not register users"
echo "without the registration token: exit $status"
