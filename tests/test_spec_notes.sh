#!/usr/bin/env bash
# The spec's version notes in the reports, end to end: with --spec-dir the
# x-changedInMatrixVersion entries of the operations a check exercises
# (fixtures/requirement-operations.tsv) reach results.json (spec_notes),
# summary.md ("Spec version notes"), report.html (badges) and, for failing
# checks only, one console line; without --spec-dir there are none.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

for exe in "$MOCK" "$SUITE"; do
    [ -x "$exe" ] || { echo "skip: $exe not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
spec_root=${MXDEV_SPEC_ROOT:-$MXDEV_SOURCE_DIR/../shared/spec}
spec=$spec_root/v1.17/client-server
[ -f "$spec/device_management.yaml" ] ||
    { echo "skip: no spec checkout at $spec (set MXDEV_SPEC_ROOT)"; exit 77; }

# A mock that makes the application service complete UIA to delete devices,
# which 1.17 changed: the ASD checks fail.
start_server url "$MOCK" --appservice "$AS_REG" --deviate as-delete-needs-uia

# run NAME ARGS...: one suite run into $work/NAME; prints its exit status.
run() {
    local name=$1 status=0
    shift
    timeout 300 "$SUITE" --homeserver "$url" --as-registration "$AS_REG" \
        --report-dir "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
    echo "$status"
}

status=$(run notes --spec-dir "$spec")
[ "$status" -eq 1 ] || { cat "$work/notes.err" >&2; fail "with --spec-dir: exit $status, want 1"; }
python3 - "$work/notes" "$work/notes.out" "$work/notes.err" "$spec" <<'PY' || fail "version notes (see above)"
import json, re, sys

d, out, err, spec = sys.argv[1:]
r = json.load(open(f"{d}/results.json"))
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)

need(r.get("spec_dir") == spec, f"spec_dir {r.get('spec_dir')!r}")
by_test = {c["test"]: c for c in r["checks"]}
asd = [c for c in r["checks"] if c["id"] == "ASD-DELETE"]
need(asd and asd[0]["verdict"] == "fail", "ASD-DELETE did not fail")
for c in asd:
    need({"operation": "deleteDevice", "version": "1.17", "kind": "changed"}.items()
         <= (c["spec_notes"][0].items() if c["spec_notes"] else {}.items()),
         f"{c['test']}: spec_notes {c['spec_notes']}")
put = [c for c in r["checks"] if c["id"] == "PUT-UNKNOWN"]
need(put and any(n["operation"] == "updateDevice" for n in put[0]["spec_notes"]),
     "PUT-UNKNOWN has no note of updateDevice")
lst = [c for c in r["checks"] if c["id"] == "LIST-OK"]
need(lst and lst[0]["spec_notes"] == [], "LIST-OK has notes (getDevices has none)")

# Console: one indented "spec:" line under a failing or warning check only.
lines = open(out).read().splitlines()
last = None
spec_lines = 0
for line in lines:
    m = re.match(r"^(PASS|FAIL|WARN|SKIP|INFO|XFAIL|XPASS)\s", line)
    if m:
        last = m.group(1)
        continue
    if line.startswith("       spec: "):
        spec_lines += 1
        need(last in ("FAIL", "WARN"), f"a spec line under {last}: {line}")
need(spec_lines > 0, "no spec line on the console")
need(any(l.startswith("       spec: deleteDevice changed in 1.17: This endpoint no longer "
                      "requires User-Interactive Authentication") for l in lines),
     "no console note under ASD-DELETE")
need("warning" not in open(err).read(), "a warning on stderr")

md = open(f"{d}/summary.md").read()
need("\n## Spec version notes\n" in md, "summary.md has no Spec version notes")
need(re.search(r"- \*\*1\.17\*\* `deleteDevice` changed: .*`ASD-DELETE` \(fail\)", md),
     "summary.md: the deleteDevice note does not list ASD-DELETE (fail)")
html = open(f"{d}/report.html").read()
# The badge follows the ID in its cell (after the ID's spec link).
need(re.search(r'<code>ASD-DELETE</code>(?: <a class="spec"[^>]*>spec</a>)?'
               r'<details class="sn"><summary title="deleteDevice: ', html),
     "report.html: no badge next to ASD-DELETE")
need('<h2 id="spec-notes">' in html, "report.html: no notes section")
for p in problems:
    print("spec notes:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "ok: notes with --spec-dir"

status=$(run plain)
[ "$status" -eq 1 ] || fail "without --spec-dir: exit $status, want 1"
python3 - "$work/plain" "$work/plain.out" <<'PY' || fail "notes without --spec-dir (see above)"
import json, sys
d, out = sys.argv[1:]
r = json.load(open(f"{d}/results.json"))
assert r["spec_dir"] is None, r["spec_dir"]
assert all(c["spec_notes"] == [] for c in r["checks"]), "notes without --spec-dir"
assert "Spec version notes" not in open(f"{d}/summary.md").read()
assert 'class="sn"' not in open(f"{d}/report.html").read()
# Under failing checks only the rule's link ("spec: https://..."), no note.
assert not any(l.startswith("       spec: ") and not l.startswith("       spec: https://")
               for l in open(out).read().splitlines())
PY
echo "ok: no notes without --spec-dir"
