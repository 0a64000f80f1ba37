#!/usr/bin/env bash
# Every way the suite gets its test users, against a mock whose client
# registration is closed (--no-registration) unless the path needs it open:
#   (a) Synapse's shared-secret admin registration (--shared-secret-file);
#   (b) accounts the operator lists (--user, --user-file, $MXDEV_USERS);
#   (c) registration tokens ($MXDEV_REGISTRATION_TOKEN, --registration-token-file).
# Each run must be conformant, and no secret may reach a report or the
# console.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

# no_secret WHAT SECRET DIR LOG...: SECRET appears in no file under DIR
# (reports and the per-test records) and in none of the logs.
no_secret() {
    local what=$1 secret=$2 dir=$3
    shift 3
    if grep -rlF -- "$secret" "$dir" "$@" >/dev/null 2>&1; then
        grep -rlF -- "$secret" "$dir" "$@" >&2
        fail "$what: the secret appears in the files above"
    fi
}

# run NAME ARGS...: the suite with the application service; status in $status.
run() {
    local name=$1
    shift
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/$name" \
        "$@" >"$work/$name.log" 2>&1
    status=$?
    echo "$name: exit $status, totals $(json_get "$work/$name/results.json" 'd["totals"]')"
}

expect_conformant() {
    local name=$1
    if [ "$status" -ne 0 ]; then
        grep -E '^(FAIL|WARN|XPASS)' -A3 "$work/$name.log" | head -30
        fail "$name: the suite does not pass (exit $status)"
    fi
    [ "$(json_get "$work/$name/results.json" 'd["totals"]["pass"]')" -gt 40 ] ||
        fail "$name: too few checks passed"
}

stop_last_server() {
    kill -TERM "${server_pids[-1]}"
    wait "${server_pids[-1]}" 2>/dev/null
    unset 'server_pids[-1]'
}

# ---- (a) shared-secret registration ----
secret="mxdev-shared-$RANDOM$RANDOM-secret"
printf '%s\n' "$secret" >"$work/shared-secret"
start_server url "$MOCK" --appservice "$AS_REG" --no-registration --shared-secret "$secret"
run shared --shared-secret-file "$work/shared-secret"
expect_conformant shared
[ "$(json_get "$work/shared/results.json" 'd["capabilities"]["shared_secret"]')" = True ] ||
    fail "shared: results.json does not say shared-secret registration was used"
# The run's pooled accounts are registered by whichever checks need them first.
cat "$work"/shared/.tests/*.jsonl | grep -q '"path":"/_synapse/admin/v1/register"' ||
    fail "shared: no check registered its user through the admin API"
no_secret shared "$secret" "$work/shared" "$work/shared.log"
MXDEV_SHARED_SECRET=$secret run shared-env -- --filter 'list/*'
[ "$status" -eq 0 ] || fail "shared-env: \$MXDEV_SHARED_SECRET not used (exit $status)"
no_secret shared-env "$secret" "$work/shared-env" "$work/shared-env.log"
# Without the secret, registration is impossible: the probe sees registration
# closed and the run stops before any check (exit 2), naming the ways out.
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/shared-missing" \
    -- --filter 'list/LIST_OK' >"$work/shared-missing.log" 2>&1
status=$?
[ "$status" -eq 2 ] || fail "shared-missing: expected exit 2 without any way to register"
grep -q "registration is closed.*--shared-secret" "$work/shared-missing.log" ||
    fail "shared-missing: the error does not say how to give accounts"
stop_last_server

# ---- (b) accounts given by the operator ----
pw_a="pw-alpha-$RANDOM$RANDOM" pw_b="pw-bravo-$RANDOM$RANDOM" pw_c="pw-charlie-$RANDOM$RANDOM"
cat >"$work/seed.json" <<EOF
{"users": [
  {"user_id": "@fixed_a:localhost", "password": "$pw_a", "devices": []},
  {"user_id": "@fixed_b:localhost", "password": "$pw_b", "devices": []},
  {"user_id": "@fixed_c:localhost", "password": "$pw_c", "devices": []}
]}
EOF
start_server url "$MOCK" --appservice "$AS_REG" --no-registration --seed "$work/seed.json"
run fixed --user "@fixed_a:localhost=$pw_a" --user "@fixed_b:localhost=$pw_b" \
    --user "@fixed_c:localhost=$pw_c"
expect_conformant fixed
[ "$(json_get "$work/fixed/results.json" 'd["totals"]["fail"]')" = 0 ] ||
    fail "fixed: failures with fixed accounts"
for pw in "$pw_a" "$pw_b" "$pw_c"; do
    no_secret fixed "$pw" "$work/fixed" "$work/fixed.log"
done
grep -qF '\"user\":\"@fixed_b:localhost\"' "$work"/fixed/.tests/list.LIST_ISOLATED.jsonl ||
    fail "fixed: LIST_ISOLATED did not use the second account"

# Each check deleted exactly the devices it made: the accounts have none left.
for acct in "fixed_a:$pw_a" "fixed_b:$pw_b" "fixed_c:$pw_c"; do
    user=${acct%%:*} pw=${acct#*:}
    token=$(curl -sf -X POST "$url/_matrix/client/v3/login" -d "{\"type\":\"m.login.password\",
        \"identifier\":{\"type\":\"m.id.user\",\"user\":\"$user\"},\"password\":\"$pw\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') ||
        fail "fixed: cannot log in as $user after the run"
    n=$(curl -sf -H "Authorization: Bearer $token" "$url/_matrix/client/v3/devices" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')
    [ "$n" = 1 ] || fail "fixed: $user has $n devices after the run (expected only this login's)"
done

# One account: the checks that need two distinct users skip and say why;
# everything else passes. The same accounts come from a file and from the
# environment.
printf '# operator accounts\n@fixed_a:localhost=%s\n' "$pw_a" >"$work/users"
run fixed-one --user-file "$work/users" -- --filter 'list/*'
[ "$status" -eq 0 ] || fail "fixed-one: exit $status with one account"
[ "$(json_get "$work/fixed-one/results.json" \
    '[c["verdict"] for c in d["checks"] if c["test"]=="list/LIST_ISOLATED"][0]')" = skip ] ||
    fail "fixed-one: LIST_ISOLATED did not skip with a single account"
json_get "$work/fixed-one/results.json" \
    '[c["reason"] for c in d["checks"] if c["test"]=="list/LIST_ISOLATED"][0]' |
    grep -q "needs 2 distinct accounts" || fail "fixed-one: the skip reason is unclear"
[ "$(json_get "$work/fixed-one/results.json" 'd["totals"]["pass"]')" -ge 3 ] ||
    fail "fixed-one: the single-account list checks did not pass"
no_secret fixed-one "$pw_a" "$work/fixed-one" "$work/fixed-one.log"
MXDEV_USERS="@fixed_a:localhost=$pw_a
@fixed_b:localhost=$pw_b" run fixed-env -- --filter 'list/*'
[ "$status" -eq 0 ] && [ "$(json_get "$work/fixed-env/results.json" 'd["totals"]["skip"]')" = 0 ] ||
    fail "fixed-env: \$MXDEV_USERS accounts not used (exit $status)"
no_secret fixed-env "$pw_b" "$work/fixed-env" "$work/fixed-env.log"
stop_last_server

# ---- (c) registration tokens ----
token="mxdev-regtoken-$RANDOM$RANDOM"
start_server url "$MOCK" --appservice "$AS_REG" --registration-token "$token"
MXDEV_REGISTRATION_TOKEN=$token run token-env
expect_conformant token-env
cat "$work"/token-env/.tests/*.jsonl | grep -q 'm.login.registration_token' ||
    fail "token-env: no check registered with the token stage"
no_secret token-env "$token" "$work/token-env" "$work/token-env.log"
printf '%s\n' "$token" >"$work/token"
run token-file --registration-token-file "$work/token"
expect_conformant token-file
no_secret token-file "$token" "$work/token-file" "$work/token-file.log"
# A wrong token is refused: a failure that names the stage, never a pass.
printf 'not-%s\n' "$token" >"$work/wrong-token"
run token-wrong --registration-token-file "$work/wrong-token" -- --filter 'list/LIST_OK'
[ "$status" -eq 1 ] || fail "token-wrong: expected exit 1 with a wrong token"
stop_last_server
echo "provisioning: all paths pass"
