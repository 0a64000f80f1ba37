#!/usr/bin/env bash
# A server with a UIA grace period (Synapse's ui_auth.session_timeout: a
# token that passed user-interactive authentication may delete again without
# it for a while) is still judged right: no check authorises with a token
# that passed UIA before, and no session that passed UIA goes on to another
# check (mx_session.c, "sessions handed from check to check"). Against the
# mock with --uia-grace-ms, both with and without --fresh-sessions, the run
# is conformant; the mock's grace itself is shown working first.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

start_server url "$MOCK" --appservice "$AS_REG" --uia-grace-ms 600000

# The grace is real: a device that passed UIA deletes again without it.
post() { curl -sS -o "$work/body" -w '%{http_code}' -X "$1" "$url$2" "${@:3}"; }
reg=$(post POST /_matrix/client/v3/register \
    -d '{"username":"grace","password":"pw","auth":{"type":"m.login.dummy"}}')
[ "$reg" = 200 ] || fail "cannot register (HTTP $reg)"
token=$(json_get "$work/body" 'd["access_token"]')
login() {
    post POST /_matrix/client/v3/login \
        -d '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"grace"},"password":"pw"}' >/dev/null
    json_get "$work/body" 'd["device_id"]'
}
first=$(login)
second=$(login)
auth=(-H "Authorization: Bearer $token")
status=$(post POST /_matrix/client/v3/delete_devices "${auth[@]}" -d "{\"devices\":[\"$first\"]}")
[ "$status" = 401 ] || fail "first deletion: HTTP $status, expected the UIA challenge"
session=$(json_get "$work/body" 'd["session"]')
status=$(post POST /_matrix/client/v3/delete_devices "${auth[@]}" \
    -d "{\"devices\":[\"$first\"],\"auth\":{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"grace\"},\"password\":\"pw\",\"session\":\"$session\"}}")
[ "$status" = 200 ] || fail "deletion with the password: HTTP $status"
status=$(post POST /_matrix/client/v3/delete_devices "${auth[@]}" -d "{\"devices\":[\"$second\"]}")
[ "$status" = 200 ] || fail "--uia-grace-ms: a second deletion without UIA answered $status, expected 200"
echo "the mock's grace period lets a device that passed UIA delete again without it"

for mode in handed fresh; do
    extra=()
    [ "$mode" = fresh ] && extra=(--fresh-sessions)
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/$mode" \
        "${extra[@]}" >"$work/$mode.log" 2>&1
    status=$?
    if [ "$status" -ne 0 ]; then
        grep -E '^(FAIL|WARN|BLOCKED|XPASS)' -A2 "$work/$mode.log" | head -20
        fail "$mode sessions: exit $status against a server with a UIA grace period"
    fi
    echo "$mode sessions: conformant; $(grep '^cost: ' "$work/$mode.log")"
done
