#!/usr/bin/env bash
# The spec's own files as input: scripts/check-examples.sh over every spec
# version beside the checkout (../shared/spec/<version>/client-server, or
# $MXDEV_SPEC_ROOT/<version>/client-server), with the replay against the
# seeded mock; then a copy with one broken example must fail and name that
# example's place (file#pointer), and a mock that breaks a response must fail
# the replay.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

TOOL=$MXDEV_BUILD_DIR/suite/tools/check-examples
SCRIPT=$MXDEV_SOURCE_DIR/scripts/check-examples.sh
for exe in "$MOCK" "$TOOL"; do
    [ -x "$exe" ] || { echo "skip: $exe not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }

spec_root=${MXDEV_SPEC_ROOT:-$MXDEV_SOURCE_DIR/../shared/spec}
dirs=()
for v in v1.16 v1.17 v1.18 v1.19 main; do
    [ -f "$spec_root/$v/client-server/device_management.yaml" ] &&
        dirs+=("$spec_root/$v/client-server")
done
if [ ${#dirs[@]} -eq 0 ]; then
    echo "skip: no spec checkout at $spec_root/{v1.16,v1.17,v1.18,v1.19,main}/client-server" \
        "(set MXDEV_SPEC_ROOT to a folder holding them)"
    exit 77
fi

# run_check OUT ARGS...: runs the script, output in OUT; prints the status.
run_check() {
    local out=$1 status=0
    shift
    timeout 120 bash "$SCRIPT" "$MXDEV_BUILD_DIR" --report-dir "$work/reports" "$@" \
        >"$out" 2>&1 || status=$?
    echo "$status"
}

# Every example of every version is valid, and each replay matches.
for d in "${dirs[@]}"; do
    status=$(run_check "$work/out.txt" --spec-dir "$d" --with-mock)
    [ "$status" -eq 0 ] || { cat "$work/out.txt" >&2; fail "$d: exit $status, want 0"; }
    summary=$(tail -n 1 "$work/out.txt")
    [[ $summary =~ ^([0-9]+)\ examples:\ ([0-9]+)\ valid,\ 0\ invalid,\ 0\ replays\ failed$ ]] ||
        fail "$d: unexpected summary: $summary"
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -gt 10 ] ||
        fail "$d: not every example valid: $summary"
    grep -q '^OK .*replay GET /_matrix/client/v3/devices/' "$work/out.txt" ||
        fail "$d: no response example was replayed against the mock"
    [ -s "$work/reports/examples.json" ] || fail "$d: no examples.json"
    echo "ok: $d: $summary"
done

# A copy with last_seen_ts as a string in the getDevice 200 example.
base=${dirs[0]}
for d in "${dirs[@]}"; do
    case "$d" in */v1.17/*) base=$d ;; esac
done
broken=$work/broken
cp -r "$base" "$broken"
chmod -R u+w "$broken" # shared/ has no write bits
python3 - "$broken/device_management.yaml" <<'PY' || fail "could not break the example"
import sys
path = sys.argv[1]
text = open(path).read()
op = text.index("operationId: getDevice\n")
old = '"last_seen_ts": 1474491775024'
at = text.index(old, op)
open(path, "w").write(text[:at] + '"last_seen_ts": "1474491775024"' + text[at + len(old):])
PY
where='device_management.yaml#/paths/~1devices~1{deviceId}/get/responses/200/content/application~1json/examples/response/value'
status=$(run_check "$work/out.txt" --spec-dir "$broken")
[ "$status" -eq 1 ] || { cat "$work/out.txt" >&2; fail "broken example: exit $status, want 1"; }
grep -qF "FAIL $where /last_seen_ts: expected integer" "$work/out.txt" ||
    { cat "$work/out.txt" >&2; fail "the output does not name $where"; }
[ "$(grep -c '^FAIL ' "$work/out.txt")" -eq 1 ] || fail "more than the broken example failed"
python3 - "$work/reports/examples.json" "$where" <<'PY' || fail "examples.json disagrees"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [e["location"] for e in r["examples"] if e["verdict"] != "ok"]
assert bad == [sys.argv[2]], bad
assert r["totals"]["fail"] == 1, r["totals"]
PY
echo "ok: a broken example fails and is named: $where"

# A valid spec against a mock that sends last_seen_ts as a string: the
# replay of the device examples fails.
status=$(run_check "$work/out.txt" --spec-dir "$base" --with-mock --mock-deviate last-seen-ts-string)
[ "$status" -eq 1 ] || { cat "$work/out.txt" >&2; fail "deviating mock: exit $status, want 1"; }
tail -n 1 "$work/out.txt" | grep -Eq ' 0 invalid, [1-9][0-9]* replays? failed$' ||
    fail "deviating mock: unexpected summary: $(tail -n 1 "$work/out.txt")"
echo "ok: a mock response that breaks the schema fails the replay"
