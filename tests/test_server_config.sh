#!/usr/bin/env bash
# --print-server-config: the printed settings for each server
# family, and the application-service registration it writes with fresh
# tokens: only to the file (mode 0600, never over an existing one), usable
# by a server (the mock loads it and the suite's application-service checks
# pass with it). The Synapse keys themselves are verified by the Synapse
# tier (tests/test_synapse.sh), which starts Synapse with this output.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

# ---- Synapse, with a registration file ----
"$SUITE" --print-server-config synapse --as-registration-out "$work/as.yaml" \
    --homeserver http://hs.example >"$work/synapse.out" 2>"$work/synapse.err" ||
    fail "synapse: exit $?"
for key in "enable_registration: true" "rc_registration:" "rc_login:" "  address:" \
    "  account:" "  failed_attempts:" "burst_count:" "app_service_config_files:" \
    "  - $work/as.yaml" "--homeserver http://hs.example --as-registration $work/as.yaml"; do
    grep -qF -- "$key" "$work/synapse.out" || fail "synapse: the output lacks \"$key\""
done
[ "$(stat -c %a "$work/as.yaml")" = 600 ] || fail "the registration file is not mode 0600"
as_token=$(sed -n 's/^as_token: //p' "$work/as.yaml")
hs_token=$(sed -n 's/^hs_token: //p' "$work/as.yaml")
[[ $as_token =~ ^[0-9a-f]{64}$ ]] && [[ $hs_token =~ ^[0-9a-f]{64}$ ]] ||
    fail "the tokens are not 64 random hex digits"
[ "$as_token" != "$hs_token" ] || fail "as_token and hs_token are the same"
if grep -qF -e "$as_token" -e "$hs_token" "$work/synapse.out" "$work/synapse.err"; then
    fail "a token reached the console"
fi
# Never over an existing file: the first registration stays as it was.
cp "$work/as.yaml" "$work/as.copy"
"$SUITE" --print-server-config synapse --as-registration-out "$work/as.yaml" \
    >/dev/null 2>"$work/again.err"
[ $? -eq 2 ] || fail "writing over an existing registration did not exit 2"
cmp -s "$work/as.yaml" "$work/as.copy" || fail "the existing registration was changed"
grep -q "never overwritten" "$work/again.err" || fail "the refusal does not say why"
# Fresh tokens each time.
"$SUITE" --print-server-config synapse --as-registration-out "$work/as2.yaml" >/dev/null ||
    fail "second registration: exit $?"
[ "$(sed -n 's/^as_token: //p' "$work/as2.yaml")" != "$as_token" ] ||
    fail "two registrations got the same as_token"

# The registration works: a server loads it, the suite uses it.
start_server url "$MOCK" --appservice "$work/as.yaml"
"$SUITE" --homeserver "$url" --as-registration "$work/as.yaml" --require-appservice \
    --report-dir "$work/asc" -- --filter 'asc/*' >"$work/asc.log" 2>&1
status=$?
[ $status -eq 0 ] || { tail -n 15 "$work/asc.log"; fail "the suite with the written registration: exit $status"; }
[ "$(json_get "$work/asc/results.json" 'd["totals"]["pass"]')" -ge 5 ] ||
    fail "too few application-service checks passed with the written registration"

# ---- the other families say what is not verified ----
for server in dendrite conduit conduwuit continuwuity; do
    "$SUITE" --print-server-config "$server" >"$work/$server.out" || fail "$server: exit $?"
    grep -q "NOT VERIFIED" "$work/$server.out" || fail "$server: the output does not say it is not verified"
    grep -q "/path/to/mxdev-appservice.yaml" "$work/$server.out" ||
        fail "$server: no placeholder for the registration file"
done
grep -q "registration_shared_secret:" "$work/dendrite.out" || fail "dendrite: no registration_shared_secret"
grep -q "rate_limiting:" "$work/dendrite.out" || fail "dendrite: no rate_limiting"
grep -q "^allow_registration = true" "$work/conduit.out" || fail "conduit: no allow_registration"

# ---- bad input ----
"$SUITE" --print-server-config nosuchserver >/dev/null 2>"$work/bad.err"
[ $? -eq 2 ] || fail "an unknown server name did not exit 2"
[ "$(wc -l <"$work/bad.err")" = 1 ] || fail "the error for an unknown server is not one line"
"$SUITE" --as-registration-out "$work/x.yaml" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--as-registration-out without --print-server-config did not exit 2"
[ ! -e "$work/x.yaml" ] || fail "--as-registration-out alone wrote a file"
echo "--print-server-config: settings for every family, a registration with fresh tokens in a file only"
