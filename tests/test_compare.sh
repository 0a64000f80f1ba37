#!/usr/bin/env bash
# device-conformance-compare: runs against the clean mock and against mocks
# with deviations, side by side. The rows that differ are exactly the checks
# whose verdicts differ (computed here from the results.json files), and they
# come first, in Markdown and in HTML; a check missing from a run differs;
# fields the tool does not know are ignored; bad input is exit 2 with one line.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

COMPARE=$MXDEV_BUILD_DIR/suite/tools/device-conformance-compare

# run_suite NAME MOCK-ARGS...: results in $work/NAME/results.json.
run_suite() {
    local name=$1
    shift
    start_server url "$MOCK" --appservice "$AS_REG" "$@"
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/$name" \
        >"$work/$name.log" 2>&1
    echo "$name: exit $?, $(json_get "$work/$name/results.json" 'd["totals"]')"
    kill -TERM "${server_pids[-1]}" && wait "${server_pids[-1]}" 2>/dev/null
}
run_suite clean
run_suite create200 --deviate as-create-200
run_suite two --deviate as-create-200 --deviate get-unknown-403
A=$work/clean/results.json B=$work/create200/results.json C=$work/two/results.json

# The tool's assumptions are the schema's: every field it reads is required.
python3 - "$FIXTURES/report-schema.json" <<'EOF' || fail "the report schema no longer requires what the compare tool reads"
import json, sys
s = json.load(open(sys.argv[1]))
top = set(s["required"]); check = set(s["$defs"]["check"]["required"])
missing = ({"tool", "target", "spec_version", "started", "totals", "checks"} - top) | \
          ({"test", "id", "level", "verdict"} - check)
if missing:
    sys.exit(f"not required by report-schema.json: {sorted(missing)}")
EOF

# check_tables MD HTML FILE...: the tables agree with the verdicts in FILEs.
check_tables() {
    python3 - "$@" <<'EOF'
import html.parser, json, re, sys

md_path, html_path, *files = sys.argv[1:]
runs = [{c["test"]: c["verdict"] for c in json.load(open(f))["checks"]} for f in files]
tests = []
for r in runs:
    tests += [t for t in r if t not in tests]
differ = [t for t in tests if len({r.get(t) for r in runs}) > 1]
if not differ:
    sys.exit("the runs do not differ: the test cannot tell anything")

# Markdown: the row table is the one whose header starts with "requirement".
rows = []
in_table = False
for line in open(md_path):
    if line.startswith("| requirement |"):
        in_table = True
        continue
    if in_table and line.startswith("|---"):
        continue
    if in_table and line.startswith("|"):
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows.append((cells[1].strip("`"), [c.strip("*") for c in cells[3:]]))
    elif in_table:
        break
if [t for t, _ in rows] != differ + [t for t in tests if t not in differ]:
    sys.exit(f"markdown: rows are not the differing checks first, then the others; first rows {[t for t, _ in rows][:len(differ) + 1]}, differing {differ}")
for t, cells in rows:
    want = [r.get(t) or "—" for r in runs]
    if cells != want:
        sys.exit(f"markdown: {t}: {cells}, expected {want}")
m = re.search(r"\*\*(\d+) of (\d+) checks differ", open(md_path).read())
if not m or (int(m[1]), int(m[2])) != (len(differ), len(tests)):
    sys.exit(f"markdown: count line wrong, expected {len(differ)} of {len(tests)}")

class Rows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.cls = [], None, None
    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append((dict(attrs).get("class"), []))
        elif tag in ("td", "th"):
            self.cell = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1][1].append(self.cell)
            self.cell = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Rows()
p.feed(open(html_path).read())
checks = [(cls, cells) for cls, cells in p.rows
          if len(cells) > 1 and any(cells[1] in r for r in runs)]
if [c[1] for _, c in checks] != [t for t, _ in rows]:
    sys.exit("html: rows differ from the markdown's")
if [cls == "differs" for cls, _ in checks] != [t in differ for t, _ in rows]:
    sys.exit("html: the rows marked 'differs' are not the differing checks")
print(f"{len(differ)} of {len(tests)} checks differ: {', '.join(differ)}")
EOF
}

# Two runs, labelled.
"$COMPARE" --label clean --label as-create-200 "$A" "$B" --md "$work/ab.md" \
    --html "$work/ab.html" || fail "compare of two runs exited $?"
check_tables "$work/ab.md" "$work/ab.html" "$A" "$B" || fail "two runs: tables wrong"
grep -q '| requirement | check | level | clean | as-create-200 |' "$work/ab.md" ||
    fail "the --label texts are not the column headers"
grep -q '^| `ASC-CREATE` | `asc/ASC_CREATE` | MUST | \*\*pass\*\* | \*\*fail\*\* |' \
    "$work/ab.md" || fail "ASC-CREATE is not shown as pass -> fail"

# Three runs, default labels (target and date); Markdown to standard output.
"$COMPARE" "$A" "$B" "$C" --html "$work/abc.html" --md - >"$work/abc.md" ||
    fail "compare of three runs exited $?"
check_tables "$work/abc.md" "$work/abc.html" "$A" "$B" "$C" || fail "three runs: tables wrong"
target=$(json_get "$A" 'd["target"]')
grep -qF "| $target " "$work/abc.md" || fail "the default label does not name the target"

# A check missing from one run differs; unknown fields and verdicts are accepted.
python3 - "$B" "$work/grown.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["a_field_from_the_future"] = {"x": 1}
d["checks"] = [c for c in d["checks"] if c["test"] != "get/GET_OK"]
d["checks"][0]["verdict"] = "blocked"
d["checks"][0]["another_new_field"] = []
json.dump(d, open(sys.argv[2], "w"))
EOF
"$COMPARE" "$A" "$work/grown.json" --md "$work/grown.md" --html "$work/grown.html" ||
    fail "a results.json with new fields was refused"
check_tables "$work/grown.md" "$work/grown.html" "$A" "$work/grown.json" ||
    fail "missing check / new verdict: tables wrong"
grep -q '^| `GET-OK` | `get/GET_OK` | MUST | \*\*pass\*\* | — |' "$work/grown.md" ||
    fail "a check missing from one run is not shown as —"

# Bad input: exit 2, one line on stderr that names the file.
printf '{"tool": "device-conformance", "checks": [' >"$work/truncated.json"
printf '{"tool": "device-conformance", "target": "x", "spec_version": "1.17", "started": "s", "totals": {}}' \
    >"$work/nochecks.json"
printf '{"tool": "something-else"}' >"$work/other.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["checks"][3]["verdict"]; json.dump(d, open(sys.argv[2], "w"))' \
    "$A" "$work/noverdict.json"
expect_error() { # expect_error WHAT-IN-MESSAGE ARGS...
    local want=$1
    shift
    "$COMPARE" "$@" --md "$work/err.md" >/dev/null 2>"$work/err"
    local s=$?
    [ $s -eq 2 ] || fail "compare $*: exit $s, expected 2"
    [ "$(wc -l <"$work/err")" -eq 1 ] || fail "compare $*: not one line: $(cat "$work/err")"
    grep -qF -- "$want" "$work/err" || fail "compare $*: '$(cat "$work/err")' lacks '$want'"
    echo "error as expected: $(cat "$work/err")"
}
expect_error "$work/missing.json" "$A" "$work/missing.json"
expect_error "$work/truncated.json:1" "$A" "$work/truncated.json"
expect_error '"checks" missing' "$A" "$work/nochecks.json"
expect_error '"tool" is not' "$work/other.json" "$A"
expect_error 'checks[3]: "verdict" missing' "$A" "$work/noverdict.json"
expect_error 'at least two' "$A"
expect_error 'unknown option' --bogus "$A" "$B"
expect_error "cannot write" "$A" "$B" --html "$work/no/such/dir/x.html"
