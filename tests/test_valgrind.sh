#!/usr/bin/env bash
# Valgrind memcheck over the normal build (no sanitizers, so it sees the code
# as shipped):
# 1. the mock under memcheck while the whole suite runs against it, stopped
#    with SIGTERM: no memory error and no definite leak;
# 2. the suite under memcheck (criterion's test processes too) on a few
#    groups against the normal mock: likewise;
# 3. the same for the uia group against a mock with deviations, so that
#    failing assertions take the failure paths (the run must exit 1).
#
# MXDEV_VALGRIND_FILTER: the criterion filter of step 2 (default: five groups,
# about a minute on two cores; '*' runs all, about two minutes).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
if ! command -v valgrind >/dev/null; then
    echo "SKIP: valgrind is not installed (Debian: apt-get install valgrind)"
    exit 77
fi
filter=${MXDEV_VALGRIND_FILTER:-'@(auth|get|uia|asd|tok)/*'}
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --num-callers=30)

# check_vg STEP LOG...: fails when memcheck reported an error in any LOG.
check_vg() {
    local step=$1 f bad=0
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        if grep -q -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$f"; then
            bad=1
            echo "--- $(basename "$f"):" >&2
            grep -E -A25 '^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|Source and destination|[0-9,]+ .*bytes in .* definitely lost)' \
                "$f" | head -60 >&2
            grep -E 'ERROR SUMMARY' "$f" >&2
        fi
    done
    [ $bad -eq 0 ] || fail "memcheck errors during: $step"
}

# 1. The mock under memcheck, the whole suite against it.
t0=$SECONDS
start_server url "${vg[@]}" --log-file="$work/vg-mock.log" \
    "$MOCK" --appservice "$AS_REG" --spec-version 1.17
mock_pid=${server_pids[-1]}
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --spec-version 1.17 --timeout 30 \
    --report-dir "$work/report-mock" >"$work/suite-mock.log" 2>&1
status=$?
kill -TERM "$mock_pid"
wait "$mock_pid"
mock_status=$?
unset 'server_pids[-1]'
echo "suite against the mock under memcheck: exit $status," \
    "totals $(json_get "$work/report-mock/results.json" 'd["totals"]' 2>/dev/null)," \
    "mock exit $mock_status, $((SECONDS - t0)) s"
grep -E 'ERROR SUMMARY|definitely lost' "$work/vg-mock.log" | sed 's/^==[0-9]*== /  mock: /'
check_vg "the mock" "$work/vg-mock.log"
[ "$mock_status" -eq 0 ] || fail "the mock under memcheck exited $mock_status"
if [ "$status" -ne 0 ]; then
    grep -E '^(FAIL|WARN)' "$work/suite-mock.log" | head -20 >&2
    fail "the suite did not pass against the mock under memcheck (exit $status)"
fi

# suite_under_vg NAME FILTER EXPECTED_STATUS [MOCK ARGS...]: the suite under
# memcheck, its forked test processes included, against a normal mock.
suite_under_vg() {
    local name=$1 filter=$2 expected=$3 url status n_logs t0=$SECONDS
    shift 3
    start_server url "$MOCK" --appservice "$AS_REG" --spec-version 1.17 "$@"
    "${vg[@]}" --trace-children=yes --log-file="$work/vg-$name.%p.log" \
        "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --spec-version 1.17 \
        --timeout 30 --report-dir "$work/report-$name" -- --filter "$filter" \
        >"$work/suite-$name.log" 2>&1
    status=$?
    kill -TERM "${server_pids[-1]}"
    wait "${server_pids[-1]}" 2>/dev/null
    unset 'server_pids[-1]'
    n_logs=$(ls "$work"/vg-"$name".*.log 2>/dev/null | wc -l)
    echo "suite under memcheck ($name, filter $filter): exit $status," \
        "totals $(json_get "$work/report-$name/results.json" 'd["totals"]' 2>/dev/null)," \
        "$n_logs processes checked, $((SECONDS - t0)) s"
    check_vg "the suite ($name)" "$work"/vg-"$name".*.log
    if [ "$status" -ne "$expected" ]; then
        tail -20 "$work/suite-$name.log" >&2
        fail "the suite under memcheck ($name) exited $status, expected $expected"
    fi
}

# 2. and 3.
suite_under_vg clean "$filter" 0
suite_under_vg deviating 'uia/*' 1 --deviate uia-accept-wrong-password --deviate uia-any-user
echo "valgrind: no memory error and no definite leak in the mock or the suite"
