#!/usr/bin/env bash
# The random exploration (explore-run, suite/explore/) against the mock:
#  (a) the clean mock at spec 1.16, 1.17 and 1.20, three seeds, 2000 steps
#      each, strict (SHOULD rules judged too): no divergence;
#  (b) every mock deviation the exploration's operations can see is found
#      within 2000 steps, charged to one of the deviation's declared IDs,
#      and shrunk to a sequence that still diverges from fresh users; the
#      steps needed go to explore-deviations.tsv (MXDEV_MATRIX_DIR, default
#      <source>/reports) for reports/deviations.md;
#  (c) the same seed twice against fresh clean mocks draws the same
#      operations.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
EXPLORE=$MXDEV_BUILD_DIR/suite/explore-run
[ -x "$EXPLORE" ] || fail "explore-run is not built"
out_dir=${MXDEV_MATRIX_DIR:-$MXDEV_SOURCE_DIR/reports}
mkdir -p "$out_dir"

# Deviations the exploration cannot see, with why: neither changes state nor
# depends on the shape of a device request.
#   unrecognized-not-found  ERR-UNRECOGNIZED: only unknown paths and wrong
#                           methods show it; the exploration sends neither.
#   no-cors                 ERR-CORS: only OPTIONS requests show it.
not_seen="unrecognized-not-found no-cors"
# Deviations that also break a rule besides their declared ones, where the
# exploration may meet that rule first (the mock's bug is shared):
#   bulk-delete-first-only  ASD-BULK: the mock's POST /delete_devices is the
#                           same code for the application service, which
#                           then leaves all but the first device too.
declare -A also=([bulk-delete-first-only]=ASD-BULK)

# explore VERSION MOCK-ARGS... -- EXPLORE-ARGS...: one exploration against a
# fresh mock; the result JSON goes where --json says.
explore() {
    local version=$1 url margs=() status
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do margs+=("$1"); shift; done
    shift
    start_server url "$MOCK" --appservice "$AS_REG" --spec-version "$version" "${margs[@]}"
    MXDEV_HOMESERVER=$url MXDEV_SPEC_VERSION=$version MXDEV_AS_AVAILABLE=1 \
        MXDEV_AS_TOKEN=$(sed -n 's/^as_token: *//p' "$AS_REG") \
        MXDEV_AS_USER_PREFIX=_mxdevconf_ MXDEV_SERVER_NAME=localhost \
        MXDEV_RUN_ID=explore MXDEV_REPORT_DIR=$work/reports \
        "$EXPLORE" "$@" >>"$work/explore.log" 2>&1
    status=$?
    kill -TERM "${server_pids[-1]}" 2>/dev/null
    wait "${server_pids[-1]}" 2>/dev/null
    unset 'server_pids[-1]'
    return $status
}

# (a) the clean mock.
for version in 1.16 1.17 1.20; do
    for seed in 1 2 3; do
        explore "$version" -- --steps 2000 --seed "$seed" --strict \
            --json "$work/clean.$version.$seed.json"
        status=$?
        [ "$status" -eq 0 ] || {
            tail -40 "$work/explore.log" >&2
            fail "clean mock, spec $version, seed $seed: explore-run exited $status"
        }
        [ "$(json_get "$work/clean.$version.$seed.json" 'd["steps_run"]')" = 2000 ] ||
            fail "clean mock, spec $version, seed $seed: not all 2000 steps ran"
    done
done
echo "clean mock: 9 explorations of 2000 steps, no divergence"

# (c) determinism: the operations drawn depend on the seed only.
explore 1.17 -- --steps 500 --seed 42 --trace --json "$work/det1.json" ||
    fail "determinism run 1 failed"
explore 1.17 -- --steps 500 --seed 42 --trace --json "$work/det2.json" ||
    fail "determinism run 2 failed"
explore 1.17 -- --steps 500 --seed 43 --trace --json "$work/det3.json" ||
    fail "determinism run 3 failed"
python3 - "$work/det1.json" "$work/det2.json" "$work/det3.json" <<'PY' || fail "determinism"
import json, sys
a, b, c = (json.load(open(p))["trace"] for p in sys.argv[1:4])
if len(a) != 500 or a != b:
    diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    sys.exit(f"same seed, different operations from step {diff + 1}: {a[diff:diff+1]} vs {b[diff:diff+1]}")
if a == c:
    sys.exit("seeds 42 and 43 drew the same 500 operations")
print("determinism: seed 42 twice gives the same 500 operations; seed 43 others")
PY

# (b) the deviations, two at a time.
"$MOCK" --list-deviations >"$work/deviations.tsv" || fail "mock --list-deviations failed"
run_deviation() {
    local name=$1 ids=$2 version=1.17 status
    case "$ids" in
        AUTH-QUERY-REMOVED) version=1.20 ;;
    esac
    explore "$version" --deviate "$name" -- --steps 2000 --seed 1 --strict \
        --shrink-ms 20000 --json "$work/dev.$name.json"
    status=$?
    python3 - "$work/dev.$name.json" "$name" "$ids" "$status" "${also[$name]:-}" <<'PY'
import json, sys
path, name, ids, status, also = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4]), sys.argv[5]
try:
    d = json.load(open(path))
except Exception as e:
    print(f"{name}\t{','.join(ids)}\t-\t-\t-\t-\tERROR: no result ({e}, exit {status})")
    sys.exit(0)
dv = d["divergence"]
if not dv:
    print(f"{name}\t{','.join(ids)}\t-\t-\t-\t-\tMISSED: no divergence in {d['steps_run']} steps")
    sys.exit(0)
req = dv["requirement"]
ok = req in ids or (also and req == also)
verdict = ("found" if req in ids else f"found (also breaks {req})") if ok else f"WRONG: charged to {req}"
if ok and not dv["reproduced"]:
    verdict = "NOT REPRODUCED from fresh users"
print(f"{name}\t{','.join(ids)}\t{req}\t{d['steps_run']}\t{len(dv['minimal_steps'])}\t{dv['replays']}\t{verdict}")
PY
}
export -f run_deviation explore start_server listen_start fail json_get
export MOCK AS_REG EXPLORE work
declare -p also >"$work/also.sh"
while IFS=$'\t' read -r name ids _; do
    case " $not_seen " in *" $name "*) continue ;; esac
    printf '%s\t%s\n' "$name" "$ids"
done <"$work/deviations.tsv" >"$work/to-explore.tsv"
xargs -P 2 -L1 bash -c 'source "$work/also.sh"; server_pids=(); run_deviation "$0" "$1"' \
    <"$work/to-explore.tsv" >"$work/matrix.tsv"

{
    printf 'deviation\tdeclared\tcharged\tsteps to find\tminimal steps\treplays\tverdict\n'
    sort "$work/matrix.tsv"
} >"$out_dir/explore-deviations.tsv"
seen=$(grep -c . "$work/matrix.tsv")
[ "$seen" -eq "$(grep -c . "$work/to-explore.tsv")" ] ||
    fail "$seen rows for $(grep -c . "$work/to-explore.tsv") deviations explored (a run gave no row)"
bad=$(grep -cv -P '\tfound' "$work/matrix.tsv")
echo "deviations: $seen explored ($(echo $not_seen | wc -w) not visible to the exploration), $bad not found as declared"
echo "steps per deviation: $out_dir/explore-deviations.tsv"
if [ "$bad" -ne 0 ]; then
    grep -v -P '\tfound' "$work/matrix.tsv" >&2
    fail "$bad deviations not found as declared"
fi
