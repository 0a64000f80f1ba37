#!/usr/bin/env bash
# How long `--explore 2000` takes against the bundled mock (a benchmark: it
# measures and prints, it asserts nothing about speed).
#
#   scripts/bench-explore.sh [BUILD_DIR]        (default: build/)
#
# Starts the mock (with the application service, spec 1.17) on port 0 once
# per run, runs explore-run --steps STEPS with seeds 1..RUNS, and prints each
# run's wall time (from the shell), the engine's own duration_ms and request
# count, and the median wall time.
#
# Environment: BENCH_STEPS (default 2000), BENCH_RUNS (default 5),
# BENCH_SPEC (default 1.17).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"
build=${1:-$here/build}
steps=${BENCH_STEPS:-2000}
runs=${BENCH_RUNS:-5}
spec=${BENCH_SPEC:-1.17}
mock=$build/mock/mock-homeserver
explore=$build/suite/explore-run
as_reg=$here/fixtures/appservice.yaml

die() { printf 'bench-explore.sh: %s\n' "$*" >&2; exit 2; }
[ -x "$mock" ] || die "no mock at $mock (build target mock-homeserver)"
[ -x "$explore" ] || die "no explore-run at $explore (build target explore-run)"
command -v python3 >/dev/null || die "python3 is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-explore.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

walls=()
printf 'explore-run --steps %s against the mock (spec %s, application service on)\n' \
    "$steps" "$spec"
for seed in $(seq 1 "$runs"); do
    listen_start "$mock" --appservice "$as_reg" --spec-version "$spec" ||
        die "the mock did not start: $listen_error"
    pid=$listen_pid url=$listen_url
    start=$(date +%s%N)
    status=0
    MXDEV_HOMESERVER=$url MXDEV_SPEC_VERSION=$spec MXDEV_AS_AVAILABLE=1 \
        MXDEV_AS_TOKEN=$(sed -n 's/^as_token: *//p' "$as_reg") \
        MXDEV_AS_USER_PREFIX=_mxdevconf_ MXDEV_SERVER_NAME=localhost \
        MXDEV_RUN_ID=bench "$explore" --steps "$steps" --seed "$seed" \
        --json "$work/result.json" >/dev/null || status=$?
    end=$(date +%s%N)
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    pid=
    [ "$status" -eq 0 ] || die "seed $seed: explore-run exited $status (a divergence on the clean mock?)"
    wall=$(( (end - start) / 1000000 ))
    walls+=("$wall")
    python3 - "$work/result.json" "$seed" "$wall" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"  seed {sys.argv[2]}: {int(sys.argv[3])} ms wall, {d['duration_ms']} ms engine, "
      f"{d['requests']} requests ({d['requests'] * 1000 // max(d['duration_ms'], 1)} requests/s)")
PY
done
median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'median wall time: %s ms for %s steps (load average: %s)\n' "$median" "$steps" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
