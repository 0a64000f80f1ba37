#!/usr/bin/env bash
# The suite against servers that are down or broken: it must end within its
# time budget, with one clear line per failed check, and the documented exit
# status (3: unreachable or not Matrix; 1: conformance failures).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
FAULT=$MXDEV_BUILD_DIR/tests/fault-server

# Connection refused: a port that was free a moment ago and has no listener.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SUITE" --homeserver "http://127.0.0.1:$port" --report-dir "$work/refused" >"$work/refused.log" 2>&1
status=$?
[ $status -eq 3 ] || fail "connection refused: exit $status, expected 3"
grep -qi "refused\|cannot reach\|unreachable" "$work/refused.log" ||
    fail "connection refused: no clear line saying so: $(head -3 "$work/refused.log")"
echo "refused: exit 3, says: $(grep -im1 'refused\|reach' "$work/refused.log")"

# Not Matrix at all: an HTML error page for /versions too.
start_server url "$FAULT" all-html502 --lifetime 60
"$SUITE" --homeserver "$url" --report-dir "$work/html" >"$work/html.log" 2>&1
status=$?
[ $status -eq 3 ] || fail "HTML 502 everywhere: exit $status, expected 3"
echo "html502 everywhere: exit 3, says: $(grep -m1 -i 'matrix\|502' "$work/html.log")"

# /versions fine, everything else broken: each check fails cleanly.
for mode in html502 reset truncated garbage hang; do
    start_server url "$FAULT" "$mode" --lifetime 120
    deadline=60
    [ "$mode" = hang ] && deadline=20
    start=$(date +%s)
    "$SUITE" --homeserver "$url" --timeout 2 --deadline "$deadline" \
        --report-dir "$work/$mode" >"$work/$mode.log" 2>&1
    status=$?
    took=$(( $(date +%s) - start ))
    [ $status -eq 1 ] || fail "$mode: exit $status, expected 1 (see $(tail -5 "$work/$mode.log"))"
    [ $took -le $((deadline + 15)) ] || fail "$mode: took ${took}s, deadline was ${deadline}s"
    python3 - "$work/$mode/results.json" "$mode" <<'PY' || fail "$mode: unclear failures"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [c for c in d["checks"] if c["verdict"] not in ("fail", "warn", "skip", "info", "not_run")]
if bad:
    sys.exit(f"checks that passed against a broken server: {[c['test'] for c in bad][:5]}")
fails = [c for c in d["checks"] if c["verdict"] in ("fail", "warn")]
if not fails:
    sys.exit("no failures recorded")
for c in fails:
    if not c["messages"] or not c["messages"][0].strip():
        sys.exit(f"{c['test']}: failure without a message")
print(f"{sys.argv[2]}: {len(fails)} checks failed; e.g. {fails[0]['test']}: "
      f"{fails[0]['messages'][0].splitlines()[0][:150]}")
PY
    echo "$mode: exit 1 in ${took}s"
done
