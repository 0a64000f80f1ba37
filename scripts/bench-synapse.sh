#!/usr/bin/env bash
# Benchmark (not a test): the whole suite against the project's Synapse tier
# with Synapse's default password hashing (bcrypt_rounds 12) and the rate
# limits --print-server-config synapse prints. Prints each run's wall time
# and cost line, then the median. The figures go to the README ("Performance").
#
#   scripts/bench-synapse.sh [BUILD_DIR] [RUNS] [-- SUITE-ARGS...]
#
# BUILD_DIR defaults to build, RUNS to 3. SUITE=path measures another
# device-conformance binary against the same server (e.g. an older build,
# for a before/after figure); its costs line is absent when it predates the
# cost counting. Needs root (the tier's chroot); exit 77 when the tier cannot
# run here.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build}
runs=${2:-3}
shift $(($# > 2 ? 2 : $#))
[ "${1:-}" = -- ] && shift
build=$(cd "$build" && pwd) || exit 2
suite=${SUITE:-$build/suite/device-conformance}
synapse=$here/tests/synapse/synapse.sh
[ -x "$suite" ] || { echo "bench-synapse: $suite is not built" >&2; exit 2; }
case $runs in '' | *[!0-9]*) echo "bench-synapse: RUNS must be a number" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/mxdev-bench.XXXXXX")
trap 'bash "$synapse" stop >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MXDEV_SOURCE_DIR=$here bash "$synapse" prepare || exit $?
# The configuration printed by the build under test's sibling (the current
# one), so that an older SUITE meets the same server.
"$build/suite/device-conformance" --print-server-config synapse \
    --as-registration-out "$work/appservice.yaml" >"$work/extra.yaml" || exit 2
export MXDEV_SOURCE_DIR=$here MXDEV_SYNAPSE_CONFIG=$work/extra.yaml \
    MXDEV_SYNAPSE_APPSERVICE=$work/appservice.yaml MXDEV_SYNAPSE_BCRYPT_ROUNDS=default
start_out=$(bash "$synapse" start) || exit $?
url=$(printf '%s\n' "$start_out" | sed -n 's/^url=//p')
echo "matrix-synapse $(bash "$synapse" version), bcrypt_rounds default, $url"
echo "suite: $suite $*"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

times=()
for ((i = 1; i <= runs; i++)); do
    start=$(date +%s.%N)
    "$suite" --homeserver "$url" --as-registration "$work/appservice.yaml" \
        --expect-fail "$here/fixtures/expect-fail/synapse.txt" --report-dir "$work/run$i" "$@" \
        >"$work/log$i" 2>&1
    status=$?
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    times+=("$t")
    printf 'run %d: exit %d, %.1f s; %s\n' "$i" "$status" "$t" \
        "$(grep -E '^cost: ' "$work/log$i" || echo 'cost: (not counted by this build)')"
    grep -E '^[0-9]+ pass' "$work/log$i"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf 'median of %d: %.1f s wall; load average now: %s\n' "$runs" "$median" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
