#!/usr/bin/env bash
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer over the whole
# project: a separate build in $MXDEV_BUILD_DIR/asan (configured once, reused)
# runs its unit tests, then the sanitized suite against the sanitized mock at
# 1.17 (clean: the run conforms) and against a deviating mock (failing
# assertions take the failure paths). Every process, criterion's forked test
# processes included, writes its reports to a scratch folder; any report
# fails the test.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
asan_build=$MXDEV_BUILD_DIR/asan

# The parent build's type, so that the sanitized code is optimised alike.
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$MXDEV_BUILD_DIR/CMakeCache.txt" 2>/dev/null)
[ -n "$build_type" ] || build_type=RelWithDebInfo
if [ ! -f "$asan_build/CMakeCache.txt" ]; then
    cmake -S "$MXDEV_SOURCE_DIR" -B "$asan_build" -DCMAKE_BUILD_TYPE="$build_type" \
        -DMXDEV_SANITIZE=address,undefined -DMXDEV_WERROR=ON >"$work/configure.log" 2>&1 ||
        { cat "$work/configure.log" >&2; fail "configuring $asan_build failed"; }
fi
cmake --build "$asan_build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
    { grep -E -B2 -A8 'error|warning' "$work/build.log" | head -60 >&2; fail "the sanitized build failed"; }

logs=$work/sanitizer-logs
mkdir -p "$logs"
# log_path gives every process its own file (<prefix>.<pid>). LeakSanitizer
# reports through ASAN_OPTIONS; exitcode 23 tells a sanitizer abort apart.
# GCC's UBSan ignores log_path when combined with ASan and reports on stderr,
# so every program's stderr is kept and searched as well.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=23:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=23:log_path=$logs/ubsan"
export LSAN_OPTIONS="exitcode=23"

report_pattern='runtime error|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|==[0-9]+==(ERROR|WARNING)'

# check_logs STEP OUTPUT...: fails when any process of STEP wrote a sanitizer
# report, to the scratch folder or into one of the OUTPUT files.
check_logs() {
    local step=$1 f found=0
    shift
    for f in "$logs"/*; do
        [ -s "$f" ] || continue
        found=1
        echo "--- $(basename "$f"):" >&2
        head -40 "$f" >&2
    done
    for f in "$@"; do
        grep -q -E "$report_pattern" "$f" || continue
        found=1
        echo "--- $(basename "$f"):" >&2
        grep -E -A20 "$report_pattern" "$f" | head -40 >&2
    done
    [ $found -eq 0 ] || fail "sanitizer reports during: $step"
}

start=$SECONDS
(cd "$asan_build" && ctest -L unit -j"$(nproc)" --output-on-failure -V) >"$work/ctest.log" 2>&1
status=$?
grep -E 'tests passed|tests failed' "$work/ctest.log"
check_logs "the unit tests" "$work/ctest.log"
[ $status -eq 0 ] || { tail -40 "$work/ctest.log" >&2; fail "sanitized unit tests failed"; }
echo "unit tests: $((SECONDS - start)) s"

# run_suite NAME EXPECTED_STATUS [MOCK ARGS...]: the sanitized suite against a
# sanitized mock; the mock's own exit (after SIGTERM) must be clean too.
run_suite() {
    local name=$1 expected=$2 url pid status t0=$SECONDS
    shift 2
    export MOCK_ERR=$work/mock-$name.err
    # The mock's stderr goes to a file (exec keeps the server's pid).
    start_server url sh -c 'exec "$0" "$@" 2>"$MOCK_ERR"' \
        "$asan_build/mock/mock-homeserver" --appservice "$AS_REG" --spec-version 1.17 "$@"
    pid=${server_pids[-1]}
    "$asan_build/suite/device-conformance" --homeserver "$url" --as-registration "$AS_REG" \
        --spec-version 1.17 --timeout 30 --report-dir "$work/report-$name" \
        >"$work/suite-$name.log" 2>&1
    status=$?
    kill -TERM "$pid"
    wait "$pid"
    local mock_status=$?
    unset 'server_pids[-1]'
    echo "suite ($name): exit $status, totals $(json_get "$work/report-$name/results.json" \
        'd["totals"]' 2>/dev/null), mock exit $mock_status, $((SECONDS - t0)) s"
    check_logs "the suite run ($name)" "$work/suite-$name.log" "$work/mock-$name.err"
    if [ "$status" -ne "$expected" ]; then
        tail -30 "$work/suite-$name.log" >&2
        fail "the sanitized suite ($name) exited $status, expected $expected"
    fi
    [ "$mock_status" -eq 0 ] || fail "the sanitized mock ($name) exited $mock_status"
}

run_suite clean 0
run_suite deviating 1 --deviate uia-accept-wrong-password --deviate list-omits-self \
    --deviate put-unknown-creates
echo "sanitizers: no report from the unit tests, the mock or the suite"
