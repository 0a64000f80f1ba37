#!/usr/bin/env bash
# scripts/version-matrix.sh end to end: the suite at every version against
# the mock at every version (cells in parallel), written to a temporary
# folder. Every diagonal cell passes; the 1.17 suite fails the ASC and ASD
# checks against a 1.16 mock (no device management for application services
# there); the 1.16 suite fails AUTH-QUERY against the 1.20 mock (query-string
# tokens removed).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

for exe in "$MOCK" "$SUITE"; do
    [ -x "$exe" ] || { echo "skip: $exe not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }

out=$work/matrix
status=0
# Bounded: 25 runs of a few seconds each; one run may take 120 s at most.
MXDEV_MATRIX_RUN_TIMEOUT=120 timeout 800 bash "$MXDEV_SOURCE_DIR/scripts/version-matrix.sh" \
    "$MXDEV_BUILD_DIR" --report-dir "$out" >"$work/grid.txt" 2>"$work/progress.txt" ||
    status=$?
cat "$work/grid.txt"
[ "$status" -eq 0 ] || { tail -n 30 "$work/progress.txt" >&2; fail "version-matrix.sh: exit $status"; }
[ -s "$out/version-matrix.md" ] || fail "no version-matrix.md in $out"
grep -q '^suite \\ mock 1.16 ' "$work/grid.txt" || fail "no grid on stdout"

python3 - "$out/version-matrix.json" <<'PY' || fail "the grid is not as expected (see above)"
import json, sys

doc = json.load(open(sys.argv[1]))
versions = ["1.16", "1.17", "1.18", "1.19", "1.20"]
assert doc["versions"] == versions, doc["versions"]
cells = {(c["suite_version"], c["mock_version"]): c for c in doc["cells"]}
problems = []
if len(cells) != 25:
    problems.append("%d cells, want 25" % len(cells))
for v in versions:
    c = cells.get((v, v), {})
    if c.get("verdict") != "pass" or c.get("exit_status") != 0:
        problems.append("diagonal %s: %s %s" % (v, c.get("verdict"), c.get("failing_ids")))
if not doc.get("diagonal_pass"):
    problems.append("diagonal_pass is not true")

c = cells.get(("1.17", "1.16"), {})
ids = c.get("failing_ids", [])
if c.get("verdict") != "fail" or c.get("exit_status") != 1:
    problems.append("suite 1.17 x mock 1.16: %s (exit %s), want fail" %
                    (c.get("verdict"), c.get("exit_status")))
if not any(i.startswith("ASC-") for i in ids) or not any(i.startswith("ASD-") for i in ids):
    problems.append("suite 1.17 x mock 1.16: no ASC-* and ASD-* among %s" % ids)

c = cells.get(("1.16", "1.20"), {})
if c.get("verdict") != "fail" or "AUTH-QUERY" not in c.get("failing_ids", []):
    problems.append("suite 1.16 x mock 1.20: %s %s, want a failure of AUTH-QUERY" %
                    (c.get("verdict"), c.get("failing_ids")))

errors = [k for k, c in cells.items() if c.get("verdict") == "error"]
if errors:
    problems.append("cells that could not run: %s" % sorted(errors))
for p in problems:
    print("version matrix:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "ok: $(tail -n 1 "$work/progress.txt")"
