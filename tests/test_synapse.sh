#!/usr/bin/env bash
# The "real homeserver" tier: the suite against a real Synapse (Debian sid's
# matrix-synapse in a cached chroot, tests/synapse/synapse.sh), twice against
# the same instance. Known deviations of Synapse are listed in
# fixtures/expect-fail/synapse.txt. Opt-in: MXDEV_WITH_SYNAPSE=1.
set -u
if [ "${MXDEV_WITH_SYNAPSE:-0}" != 1 ]; then
    echo "SKIP: Synapse tier not requested (./run-tests.sh --self-test --with-synapse)"
    exit 77
fi
: "${MXDEV_BUILD_DIR:?run through ctest (MXDEV_BUILD_DIR unset)}"
: "${MXDEV_SOURCE_DIR:?run through ctest (MXDEV_SOURCE_DIR unset)}"
export MXDEV_SOURCE_DIR
SYNAPSE=$MXDEV_SOURCE_DIR/tests/synapse/synapse.sh
SUITE=$MXDEV_BUILD_DIR/suite/device-conformance
AS_REG=$MXDEV_SOURCE_DIR/fixtures/appservice.yaml
EXPECT_FAIL=$MXDEV_SOURCE_DIR/fixtures/expect-fail/synapse.txt
# Reports stay in the build tree for inspection after a failure.
reports=$MXDEV_BUILD_DIR/synapse-reports

fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$SUITE" ] || fail "$SUITE is not built"

started=$SECONDS
bash "$SYNAPSE" prepare
status=$?
[ $status -eq 77 ] && exit 77
[ $status -eq 0 ] || fail "could not prepare the Synapse chroot (status $status)"
echo "prepare: $((SECONDS - started)) s, matrix-synapse $(bash "$SYNAPSE" version)"

trap 'bash "$SYNAPSE" stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$SECONDS
start_out=$(bash "$SYNAPSE" start)
status=$?
[ $status -eq 77 ] && exit 77
[ $status -eq 0 ] || fail "Synapse did not start (status $status)"
echo "$start_out"
echo "start: $((SECONDS - started)) s"
url=$(printf '%s\n' "$start_out" | sed -n 's/^url=//p')
synapse_log=$(printf '%s\n' "$start_out" | sed -n 's/^log=//p')

rm -rf "$reports"
mkdir -p "$reports"
for run in 1 2; do
    out=$reports/run$run
    started=$SECONDS
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" \
        --expect-fail "$EXPECT_FAIL" --report-dir "$out" >"$reports/log.$run" 2>&1
    status=$?
    echo "suite run $run against Synapse: exit $status in $((SECONDS - started)) s"
    tail -n 3 "$reports/log.$run"
    if [ $status -ne 0 ]; then
        grep -E '^(FAIL|XPASS|ERROR)' "$reports/log.$run" | head -40
        [ -n "$synapse_log" ] && cp "$synapse_log" "$reports/homeserver.log"
        fail "suite run $run against Synapse exited $status (reports in $out)"
    fi
done
echo "the suite passes against Synapse twice (reports in $reports)"
