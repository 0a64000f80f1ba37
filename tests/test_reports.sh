#!/usr/bin/env bash
# The report files, end to end: the suite against the clean mock and against
# the mock with a deviation, checking results.json (against
# fixtures/report-schema.json, with the suite's own validator), junit.xml,
# results.tap, summary.md and report.html (parsed; rendered in headless
# Chromium when it is installed), the console lines, and --expect-fail.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

VALIDATOR=$MXDEV_BUILD_DIR/suite/suite_test_report_format
for exe in "$MOCK" "$SUITE" "$VALIDATOR"; do
    [ -x "$exe" ] || { echo "skip: $exe not built"; exit 77; }
done

# check_reports DIR STATUS: every file is there and agrees with results.json.
check_reports() {
    local dir=$1 status=$2 f out
    for f in results.json junit.xml results.tap summary.md report.html; do
        [ -s "$dir/$f" ] || fail "$dir/$f missing or empty"
    done
    [ ! -e "$dir/.tests" ] || [ -d "$dir/.tests" ] || fail "$dir/.tests is not a directory"

    out=$(MXDEV_RESULTS_JSON=$dir/results.json "$VALIDATOR" --filter 'report_format/results_file' 2>&1) ||
        fail "results.json does not validate against report-schema.json: $out"
    case "$out" in
        *"Passing: 1 "*) ;;
        *) fail "the results.json validation did not run: $out" ;;
    esac

    python3 - "$dir" "$status" <<'PY' || fail "reports in $dir disagree (see above)"
import html.parser, json, re, sys
import xml.etree.ElementTree as ET

d, status = sys.argv[1], int(sys.argv[2])
r = json.load(open(f"{d}/results.json"))
checks, totals, strict = r["checks"], r["totals"], r["strict"]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)

need(r["exit_status"] == status, f"exit_status {r['exit_status']} != process status {status}")
counted = {v: 0 for v in totals}
for c in checks:
    counted[c["verdict"]] += 1
need(counted == totals, f"totals {totals} != counted {counted}")
need(len(checks) > 40, f"only {len(checks)} checks")
need(len({c["test"] for c in checks}) == len(checks), "a test appears twice")
bad = lambda c: c["verdict"] == "fail" or (strict and c["verdict"] in ("warn", "xpass"))
failing = [c for c in checks if bad(c)]
for c in checks:
    if c["verdict"] == "skip":
        need(isinstance(c["reason"], str) and c["reason"], f"{c['test']}: skip without reason")
    if c["verdict"] == "fail":
        need(c["messages"], f"{c['test']}: fail without a message")

# junit.xml: parses, and its counts match.
root = ET.parse(f"{d}/junit.xml").getroot()
need(root.tag == "testsuites", "junit root is not testsuites")
cases = root.findall("./testsuite/testcase")
need(len(cases) == len(checks) == int(root.get("tests")), "junit test count")
need(int(root.get("failures")) == len(failing) == len(root.findall(".//failure")),
     f"junit failures {root.get('failures')} vs {len(failing)}")
skipped = totals["skip"] + totals["xfail"] + totals["blocked"] + totals["not_run"]
need(int(root.get("skipped")) == skipped == len(root.findall(".//skipped")),
     "junit skipped count")
for c in checks:
    need("link" in c and "blocked_by" in c, f"{c['test']}: no link/blocked_by member")
    if c["verdict"] == "blocked":
        need(c["reason"].startswith(f"blocked by {c['blocked_by']}: "), f"{c['test']}: blocked reason")
for s in root.findall("testsuite"):
    need(int(s.get("tests")) == len(s.findall("testcase")), f"suite {s.get('name')} tests")
    need(int(s.get("failures")) == len(s.findall("testcase/failure")), f"suite {s.get('name')} failures")
junit_failed = {f"{t.get('classname')}/{t.get('name')}" for t in cases if t.find("failure") is not None}
need(junit_failed == {c["test"] for c in failing}, f"junit failures {junit_failed}")

# results.tap: plan and one line per check.
tap = open(f"{d}/results.tap").read().splitlines()
need(tap[0] == "TAP version 13" and tap[1] == f"1..{len(checks)}", "TAP header/plan")
lines = [l for l in tap if re.match(r"(not )?ok \d+ - ", l)]
need(len(lines) == len(checks), "TAP line count")
not_ok = [l for l in lines if l.startswith("not ok") and "# TODO" not in l]
need(len(not_ok) == len(failing), f"TAP not ok {len(not_ok)} vs {len(failing)}")
need(sum("# SKIP" in l for l in lines) == totals["skip"] + totals["blocked"] + totals["not_run"],
     "TAP skips")
need(tap[-1].startswith("# verdict: "), "TAP has no closing verdict comment")
for c in failing:
    need(any(l.endswith(" " + c["test"]) and l.startswith("not ok") for l in lines), f"TAP misses {c['test']}")

# summary.md: the totals line, every failure, the group table.
md = open(f"{d}/summary.md").read()
need(f"{totals['pass']} pass, {totals['fail']} fail" in md, "summary totals")
need(("**CONFORMANT**" in md) == (status == 0), "summary verdict")
for c in [c for c in checks if c["verdict"] == "fail"]:
    need(f"`{c['id']}` — `{c['test']}`" in md, f"summary misses {c['test']}")
need("| group | MUST pass/total | SHOULD pass/total | INFO | skipped |" in md, "summary table")

# report.html: parses with balanced tags, self-contained, lists failures.
page = open(f"{d}/report.html").read()
class P(html.parser.HTMLParser):
    void = {"meta", "br", "link", "img", "input", "hr"}
    def __init__(self):
        super().__init__(); self.stack = []; self.errors = []
    def handle_starttag(self, tag, a):
        if tag not in self.void: self.stack.append(tag)
        for k, v in a:
            # Links to the spec are fine; nothing may be loaded from outside.
            if tag == "a" and k == "href" and v and v.startswith("https://spec.matrix.org/"):
                continue
            if k in ("src", "href") and v and not v.startswith("#"):
                self.errors.append(f"external reference {k}={v}")
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()
p = P(); p.feed(page); p.close()
need(not p.errors and not p.stack, f"report.html: {p.errors[:3]} {p.stack}")
for c in failing:
    need(f'id="t-{c["test"]}"' in page and "<details" in page, f"report.html misses {c['test']}")
if problems:
    print("\n".join(problems)); sys.exit(1)
print(f"{d}: {len(checks)} checks, totals {totals}, all five files agree")
PY
}

# says_everywhere DIR TEXT: every report file contains TEXT.
says_everywhere() {
    local f
    for f in results.json junit.xml results.tap summary.md report.html; do
        [ -s "$1/$f" ] || fail "$1/$f missing or empty"
        grep -qF -- "$2" "$1/$f" || fail "$1/$f does not say \"$2\""
    done
}

# render_html FILE PATTERN: headless Chromium renders the page; its DOM
# shows PATTERN. Skipped, with a message, when Chromium is not installed.
render_html() {
    local browser dom
    browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
    if [ -z "$browser" ]; then
        echo "note: chromium not installed: skipping the rendering check of $1"
        return 0
    fi
    dom=$(timeout 60 "$browser" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update --disable-sync \
        --no-first-run --user-data-dir="$(mktemp -d "$work/chrome.XXXXXX")" \
        --enable-logging=stderr --dump-dom "file://$1" 2>"$work/chrome.err") ||
        fail "chromium could not render $1"
    if grep -E 'CONSOLE.*(Uncaught|[Ee]rror)' "$work/chrome.err"; then
        fail "console errors while rendering $1"
    fi
    grep -q "$2" <<<"$dom" || fail "the rendered $1 does not show $2"
    echo "chromium rendered $1 (found \"$2\")"
}

# 1. The clean mock. Whether it conforms is test_suite_mock.sh's business;
# here the reports must agree with the exit status either way.
start_server url "$MOCK" --appservice "$AS_REG"
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/clean" \
    >"$work/clean.log" 2>"$work/clean.err"
status=$?
[ $status -le 1 ] || { tail -30 "$work/clean.log"; fail "clean run: exit $status"; }
[ $status -eq 0 ] || echo "note: the clean mock does not conform (exit 1); checking the reports anyway"
check_reports "$work/clean" $status
grep -Eq '^PASS +LIST-OK +list/LIST_OK +[0-9]+ ms$' "$work/clean.log" ||
    fail "no console line for list/LIST_OK"
grep -Eq '^[0-9]+ pass, [0-9]+ fail, ' "$work/clean.log" || fail "no totals line on the console"
grep -q $'\033' "$work/clean.log" && fail "ANSI colour written to a pipe"
render_html "$work/clean/report.html" 'id="totals"'

# 1b. A filter that matches nothing judges nothing: exit 4, never "conformant".
"$SUITE" --homeserver "$url" --report-dir "$work/none" -- --filter 'nosuch/*' \
    >"$work/none.log" 2>&1
status=$?
[ $status -eq 4 ] || { tail -5 "$work/none.log"; fail "empty selection: exit $status, want 4"; }
grep -q 'NO CHECK JUDGED$' "$work/none.log" || fail "the console does not say NO CHECK JUDGED"
grep -qi 'conformant' "$work/none.log" && fail "an empty selection is called conformant"
[ "$(json_get "$work/none/results.json" 'd["verdict"]')" = "no check judged" ] ||
    fail "results.json verdict of an empty selection"
for f in junit.xml results.tap summary.md report.html; do
    grep -qi 'no check judged' "$work/none/$f" || fail "$f does not say no check judged"
done

# 1c. A selection is a partial verdict, on the console and in every report.
"$SUITE" --homeserver "$url" --report-dir "$work/part" -- --filter 'list/*' \
    >"$work/part.log" 2>&1
status=$?
[ $status -eq 0 ] || { tail -5 "$work/part.log"; fail "list/* run: exit $status, want 0"; }
n=$(json_get "$work/part/results.json" 'd["requirements"]["judged"]')
m=$(json_get "$work/part/results.json" 'd["requirements"]["applicable"]')
[ "$n" -gt 0 ] && [ "$n" -lt "$m" ] || fail "list/*: $n of $m requirements judged"
grep -q ": conformant (partial: $n of $m requirements judged)\$" "$work/part.log" ||
    fail "the console does not give the partial verdict"
for f in junit.xml results.tap summary.md report.html; do
    grep -q "partial: $n of $m requirements judged" "$work/part/$f" ||
        fail "$f does not give the partial verdict"
done

# 1d. Credentials in the homeserver URL reach no report.
"$SUITE" --homeserver "${url/http:\/\//http://alice:pa55word@}" --report-dir "$work/cred" \
    -- --filter 'ver/*' >"$work/cred.log" 2>&1
status=$?
if [ -s "$work/cred/results.json" ]; then
    grep -l 'pa55word' "$work"/cred/{results.json,junit.xml,results.tap,summary.md,report.html} &&
        fail "the URL's password is in a report"
    # (The console's header and error lines are the runner's: it redacts them.)
else
    echo "note: a URL with credentials is refused (exit $status): nothing to check in reports"
fi
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null

# 1e. A run that cannot reach its server replaces the earlier reports with
# reports that say so (exit 3), in the same folder.
"$SUITE" --homeserver "http://bob:s3cret@127.0.0.1:1" --report-dir "$work/clean" \
    >"$work/unreach.log" 2>&1
status=$?
[ $status -eq 3 ] || fail "unreachable server: exit $status, want 3"
says_everywhere "$work/clean" "cannot reach"
[ "$(json_get "$work/clean/results.json" 'd["verdict"], d["exit_status"], len(d["checks"])')" = \
    "('not judged', 3, 0)" ] || fail "unreachable: results.json is not a not-judged run"
grep -q '<error message=' "$work/clean/junit.xml" || fail "unreachable: junit.xml has no <error>"
grep -q '^Bail out! cannot reach' "$work/clean/results.tap" || fail "unreachable: no TAP Bail out!"
grep -q 'could not judge the server' "$work/clean/summary.md" ||
    fail "unreachable: summary.md does not say that the run could not judge"
grep -l 's3cret' "$work"/clean/{results.json,junit.xml,results.tap,summary.md,report.html} &&
    fail "the URL's password is in an unjudged report"
# A report folder that does not exist yet is created for them.
"$SUITE" --homeserver "http://127.0.0.1:1" --report-dir "$work/new/dir" >/dev/null 2>&1
[ -s "$work/new/dir/summary.md" ] || fail "no reports in a new folder after exit 3"

# 1f. SIGTERM: the running checks stop, the reports say interrupted, exit 143.
FAULT=$MXDEV_BUILD_DIR/tests/fault-server
if [ -x "$FAULT" ]; then
    start_server furl "$FAULT" hang
    "$SUITE" --homeserver "$furl" --timeout 5 --report-dir "$work/term" \
        >"$work/term.log" 2>&1 &
    pid=$!
    # Wait (bounded, 10 s) for the first test process: the checks are running.
    for _ in $(seq 100); do
        pgrep -P "$pid" >/dev/null && break
        sleep 0.1
    done
    pgrep -P "$pid" >/dev/null || fail "no test process started within 10 s"
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    [ $status -eq 143 ] || { tail -5 "$work/term.log"; fail "SIGTERM: exit $status, want 143"; }
    pgrep -P "$pid" >/dev/null && fail "test processes survive the runner"
    says_everywhere "$work/term" "interrupted"
    [ "$(json_get "$work/term/results.json" 'd["verdict"], d["exit_status"]')" = \
        "('interrupted', 143)" ] || fail "SIGTERM: results.json verdict"
    [ "$(json_get "$work/term/results.json" \
        'd["totals"]["not_run"] > 0 and len(d["checks"]) > 40 and d["totals"]["fail"] == 0')" = True ] ||
        fail "SIGTERM: the unfinished checks are not all not_run: $(json_get "$work/term/results.json" 'd["totals"]')"
    grep -q '^interrupted: stopped by SIGTERM' "$work/term.log" ||
        fail "SIGTERM: the console does not say interrupted"

    # --deadline: the checks it kept from starting are not run (exit 1),
    # never crashes of the suite.
    "$SUITE" --homeserver "$furl" --timeout 1 --deadline 3 --report-dir "$work/dl" \
        >"$work/dl.log" 2>&1
    status=$?
    [ $status -eq 1 ] || { tail -5 "$work/dl.log"; fail "--deadline: exit $status, want 1"; }
    python3 - "$work/dl/results.json" <<'PY' || fail "--deadline: checks not run misreported"
import json, sys
d = json.load(open(sys.argv[1]))
crashed = [c["test"] for c in d["checks"] if any("crashed" in m for m in c["messages"])]
if crashed:
    sys.exit(f"reported as crashes: {crashed[:5]}")
not_run = [c for c in d["checks"] if c["verdict"] == "not_run"]
if not not_run or d["totals"]["not_run"] != len(not_run):
    sys.exit(f"no check not run: {d['totals']}")
if not all("deadline" in c["reason"] for c in not_run):
    sys.exit("a not_run check does not name the deadline")
if d["verdict"] != "not conformant":
    sys.exit(f"verdict {d['verdict']}")
print(f"--deadline: {len(not_run)} checks not run")
PY
    grep -Eq '^NOTRUN ' "$work/dl.log" || fail "--deadline: no NOTRUN console line"
    kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null
else
    echo "note: $FAULT not built: skipping the SIGTERM and --deadline checks"
fi

# 2. A deviation: the failure shows in every file.
if ! "$MOCK" --list-deviations 2>/dev/null | grep -q '^as-create-200'; then
    echo "note: the mock has no as-create-200 deviation yet: skipping the failure run"
    exit 0
fi
start_server url "$MOCK" --appservice "$AS_REG" --deviate as-create-200
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/dev" \
    >"$work/dev.log" 2>"$work/dev.err"
status=$?
[ $status -eq 1 ] || { tail -30 "$work/dev.log"; fail "deviation run: exit $status, want 1"; }
check_reports "$work/dev" 1
failed=$(json_get "$work/dev/results.json" \
    '" ".join(c["test"] for c in d["checks"] if c["verdict"] == "fail")')
case " $failed " in
    *" asc/ASC_CREATE"*) ;;
    *) fail "as-create-200 did not fail asc/ASC_CREATE: $(json_get "$work/dev/results.json" \
        '[(c["verdict"], c["reason"]) for c in d["checks"] if c["id"] == "ASC-CREATE"]')" ;;
esac
test=$(tr ' ' '\n' <<<"$failed" | grep '^asc/ASC_CREATE' | head -1)
grep -q "<failure" "$work/dev/junit.xml" || fail "junit.xml has no failure"
grep -q "name=\"${test#asc/}\"" "$work/dev/junit.xml" || fail "junit.xml misses $test"
grep -q "^not ok .* $test\$" "$work/dev/results.tap" || fail "results.tap misses $test"
grep -q "\`ASC-CREATE\` — \`$test\`" "$work/dev/summary.md" || fail "summary.md misses $test"
grep -q "id=\"t-$test\"" "$work/dev/report.html" || fail "report.html misses $test"
[ "$(json_get "$work/dev/results.json" \
    'len([c for c in d["checks"] if c["test"] == "'"$test"'"][0]["transcript"])')" -gt 0 ] ||
    fail "the failing check has no transcript"
grep -Eq "^FAIL +ASC-CREATE +$test +[0-9]+ ms\$" "$work/dev.log" ||
    fail "no console FAIL line for $test"
grep -A1 -E "^FAIL +ASC-CREATE " "$work/dev.log" | tail -1 | grep -q '^       [^ ]' ||
    fail "the FAIL line has no indented message"
# The failing line names the request that showed it, and the spec link when
# the catalogue has one.
grep -A4 -E "^FAIL +ASC-CREATE " "$work/dev.log" | grep -Eq ' (PUT|POST|GET|DELETE) /_matrix/[^ ]* -> [0-9]{3}' ||
    fail "the FAIL lines do not name the request"
link=$(json_get "$work/dev/results.json" \
    '[c["link"] for c in d["checks"] if c["test"] == "'"$test"'"][0] or ""')
if [ -n "$link" ]; then
    grep -A6 -E "^FAIL +ASC-CREATE " "$work/dev.log" | grep -qF "       spec: $link" ||
        fail "no spec link under the FAIL line"
    says_everywhere "$work/dev" "$link"
fi
render_html "$work/dev/report.html" 'NOT CONFORMANT'

# 3. The same deviation listed in --expect-fail: xfail, exit 0.
{
    echo "# the mock runs with --deviate as-create-200"
    tr ' ' '\n' <<<"$failed" | grep .
} >"$work/expect-fail.txt"
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/xf" \
    --expect-fail "$work/expect-fail.txt" >"$work/xf.log" 2>&1
status=$?
[ $status -eq 0 ] || { tail -30 "$work/xf.log"; fail "expect-fail run: exit $status, want 0"; }
check_reports "$work/xf" 0
[ "$(json_get "$work/xf/results.json" 'd["totals"]["xfail"]')" -ge 1 ] || fail "no xfail"
grep -q "# TODO expected failure" "$work/xf/results.tap" || fail "TAP has no TODO"

# 4. An expect-fail entry the catalogue does not know: exit 2.
echo "NO-SUCH-REQUIREMENT" >"$work/bad.txt"
"$SUITE" --homeserver "$url" --report-dir "$work/bad" --expect-fail "$work/bad.txt" \
    >"$work/bad.log" 2>&1
status=$?
[ $status -eq 2 ] || fail "unknown expect-fail ID: exit $status, want 2"
grep -q "NO-SUCH-REQUIREMENT" "$work/bad.log" || fail "the error does not name the bad ID"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null
echo "ok: reports"
