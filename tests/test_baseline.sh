#!/usr/bin/env bash
# Adoption and release gating, and output for scripts:
#   - --baseline: a clean-mock baseline, then a deviating mock: exit 1 with
#     exactly the checks that fail now as new failures; the reverse (deviating
#     baseline, clean mock) lists them as fixed and exits 0; the same deviation
#     on both sides is known (exit 0, the verdict still NOT CONFORMANT); one
#     deviation against another: new failures and fixed at once. Every report
#     says it. A baseline that is not a results.json is exit 2 before any
#     request;
#   - --write-expect-fail: the file written by a deviating run, given back
#     with --expect-fail (and --strict), turns the same run green;
#   - --format json: stdout is results.json and nothing else; --quiet: only
#     the closing lines; --github: one ::error line per failing check.
# shellcheck disable=SC2154 # start_server assigns the URL variables (printf -v)
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

A=error-without-error-field # breaks ERR-SHAPE
B=last-seen-ts-string       # breaks ERR-SCHEMA and LIST-OK
C=uia-no-flows              # breaks UIA-CHALLENGE, which blocks two checks

start_server clean "$MOCK" --appservice "$AS_REG"
start_server dev_a "$MOCK" --appservice "$AS_REG" --deviate "$A"
start_server dev_b "$MOCK" --appservice "$AS_REG" --deviate "$B"
start_server dev_c "$MOCK" --appservice "$AS_REG" --deviate "$C"

# run NAME URL ARGS...: the suite; stdout in NAME.out, stderr in NAME.err,
# reports in NAME/, status in $status.
run() {
    local name=$1 url=$2
    shift 2
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/$name" \
        "$@" >"$work/$name.out" 2>"$work/$name.err"
    status=$?
}
expect_status() {
    [ "$status" -eq "$2" ] ||
        { cat "$work/$1.out" "$work/$1.err" >&2; fail "$1: exit $status, want $2"; }
}

# compare RESULTS BASELINE-RESULTS: checks that the "baseline" object of
# RESULTS is exactly what the two verdict lists give, computed here apart.
compare() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
now = json.load(open(sys.argv[1]))
then = {c["test"]: c["verdict"] for c in json.load(open(sys.argv[2]))["checks"]}
failing = ("fail", "blocked", "not_run") + (("warn",) if now["strict"] else ())
failed = ("fail", "warn", "xfail", "blocked", "not_run")
want_new = sorted(c["test"] for c in now["checks"]
                  if c["verdict"] in failing and then.get(c["test"]) == "pass")
want_fixed = sorted(c["test"] for c in now["checks"]
                    if c["verdict"] in ("pass", "xpass") and then.get(c["test"]) in failed)
want_known = sum(1 for c in now["checks"]
                 if c["verdict"] in failing and then.get(c["test"]) in failed)
b = now["baseline"]
got_new = sorted(x["test"] for x in b["new_failures"])
got_fixed = sorted(x["test"] for x in b["fixed"])
errors = []
if got_new != want_new:
    errors.append(f"new_failures {got_new}, want {want_new}")
if got_fixed != want_fixed:
    errors.append(f"fixed {got_fixed}, want {want_fixed}")
if b["still_failing"] != want_known:
    errors.append(f"still_failing {b['still_failing']}, want {want_known}")
if now["exit_status"] != (1 if want_new else 0):
    errors.append(f"exit_status {now['exit_status']} with {len(want_new)} new failures")
if errors:
    sys.exit("; ".join(errors))
print(f"{len(want_new)} new, {len(want_fixed)} fixed, {want_known} known")
EOF
}

# Every report of run NAME mentions the baseline.
reports_say_baseline() {
    local d=$work/$1
    grep -q '^## Baseline' "$d/summary.md" || fail "$1: summary.md has no Baseline section"
    grep -q 'id="baseline"' "$d/report.html" || fail "$1: report.html has no baseline section"
    grep -q '<property name="baseline"' "$d/junit.xml" || fail "$1: junit.xml has no baseline property"
    grep -q '^# baseline: ' "$d/results.tap" || fail "$1: results.tap has no baseline comment"
    grep -q '^baseline .*results.json: ' "$work/$1.out" || fail "$1: no baseline closing line"
}

# The baselines.
run clean "$clean"
expect_status clean 0
run dev_a "$dev_a"
expect_status dev_a 1
[ "$(json_get "$work/dev_a/results.json" 'd["totals"]["fail"]')" -gt 0 ] ||
    fail "the $A mock gives no failure"

# A clean baseline, a deviating run: exactly the new failures, exit 1.
run new "$dev_a" --baseline "$work/clean/results.json" --github \
    --write-expect-fail "$work/expect-fail.txt"
expect_status new 1
out=$(compare "$work/new/results.json" "$work/clean/results.json") || fail "new: $out"
echo "clean baseline, $A: $out"
case $out in 0\ new*) fail "new: no new failure against a clean baseline" ;; esac
reports_say_baseline new
python3 - "$work/new/results.json" "$work/new.out" <<'EOF' || fail "new: the console does not name each new failure"
import json, sys
b = json.load(open(sys.argv[1]))["baseline"]
out = open(sys.argv[2]).read()
for x in b["new_failures"]:
    line = f"  new failure: {x['id']} {x['test']} ({x['verdict']}, passed in the baseline)"
    if line not in out.splitlines():
        sys.exit(f"missing: {line}")
EOF

# --github: one ::error line per failing check, its ID as title, the
# message on one line (newlines escaped).
want=$(json_get "$work/new/results.json" 'sum(c["verdict"] == "fail" for c in d["checks"])')
got=$(grep -c '^::error title=' "$work/new.out")
[ "$got" -eq "$want" ] || fail "--github: $got ::error lines for $want failures"
python3 - "$work/new/results.json" "$work/new.out" <<'EOF' || fail "--github: annotation lines do not match the failures"
import json, sys
checks = [c for c in json.load(open(sys.argv[1]))["checks"] if c["verdict"] == "fail"]
lines = [l for l in open(sys.argv[2]).read().splitlines() if l.startswith("::error ")]
for c in checks:
    head = f"::error title={c['id']} {c['test']}::"
    match = [l for l in lines if l.startswith(head)]
    if not match:
        sys.exit(f"no annotation for {c['test']}")
    first = c["messages"][0]
    if "\n" in first and "%0A" not in match[0]:
        sys.exit(f"{c['test']}: the message's newlines are not escaped")
    if first.split("\n")[0].replace("%", "%25") not in match[0]:
        sys.exit(f"{c['test']}: the message is not in the annotation")
EOF

# The reverse: a deviating baseline, the clean mock: fixed, exit 0.
run fixed "$clean" --baseline "$work/dev_a/results.json"
expect_status fixed 0
out=$(compare "$work/fixed/results.json" "$work/dev_a/results.json") || fail "fixed: $out"
echo "$A baseline, clean: $out"
case $out in *" 0 fixed"*) fail "fixed: nothing listed as fixed" ;; esac
grep -q '^  fixed: ' "$work/fixed.out" || fail "fixed: the console lists nothing as fixed"
reports_say_baseline fixed

# The same deviation on both sides: known, exit 0, still not conformant.
run known "$dev_a" --baseline "$work/dev_a/results.json"
expect_status known 0
out=$(compare "$work/known/results.json" "$work/dev_a/results.json") || fail "known: $out"
echo "$A baseline, $A: $out"
grep -q 'NOT CONFORMANT' "$work/known/summary.md" || fail "known: the summary hides the failures"
grep -q '# TODO known failure (baseline)' "$work/known/results.tap" ||
    fail "known: results.tap does not mark the known failures"

# One deviation against another: new failures and fixed at once.
run mixed "$dev_b" --baseline "$work/dev_a/results.json"
expect_status mixed 1
out=$(compare "$work/mixed/results.json" "$work/dev_a/results.json") || fail "mixed: $out"
echo "$A baseline, $B: $out"

# --write-expect-fail: the file, given back, turns the same run green.
[ -s "$work/expect-fail.txt" ] || fail "--write-expect-fail wrote nothing"
grep -q '^# .* -> [0-9]' "$work/expect-fail.txt" ||
    fail "the expect-fail file has no evidence (request -> status) comment"
run green "$dev_a" --strict --expect-fail "$work/expect-fail.txt"
expect_status green 0
[ "$(json_get "$work/green/results.json" 'd["totals"]["xfail"]')" -gt 0 ] ||
    fail "green: the written file made no check xfail"
[ "$(json_get "$work/green/results.json" 'd["totals"]["xpass"]')" -eq 0 ] ||
    fail "green: the written file lists a check that passes"
# With blocked checks: their blocker is written, not they.
run blocked "$dev_c" --write-expect-fail "$work/expect-fail-c.txt"
expect_status blocked 1
[ "$(json_get "$work/blocked/results.json" 'd["totals"]["blocked"]')" -gt 0 ] ||
    fail "the $C mock blocks no check"
run green_c "$dev_c" --strict --expect-fail "$work/expect-fail-c.txt"
expect_status green_c 0
[ "$(json_get "$work/green_c/results.json" 'd["totals"]["fail"] + d["totals"]["xpass"]')" -eq 0 ] ||
    fail "green_c: the written file does not cover the failures"

# --format json: results.json on stdout and nothing else.
run json "$dev_a" --format json
expect_status json 1
python3 - "$work/json.out" "$work/json/results.json" <<'EOF' || fail "--format json: stdout is not results.json"
import json, sys
if json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])):
    sys.exit("stdout differs from results.json")
EOF

# --quiet: the closing lines only.
run quiet "$clean" --quiet
expect_status quiet 0
# The text run's closing lines: those after its last blank line.
# The cost line's figures vary from run to run (which check registers the
# run's pooled accounts first): only its form is compared.
closing_form() { sed 's/^Reports: .*/Reports/; s/^cost: .*/cost/'; }
awk '/^$/ {buf = ""; next} {buf = buf $0 "\n"} END {printf "%s", buf}' "$work/clean.out" |
    closing_form >"$work/closing.txt"
closing_form <"$work/quiet.out" | diff "$work/closing.txt" - ||
    fail "--quiet does not print exactly the closing lines"
[ "$(wc -l <"$work/quiet.out")" -le 3 ] || fail "--quiet printed more than the closing lines"

# Configuration errors, before the first request (nothing listens on the
# URL: a probe would give exit 3).
dead=http://127.0.0.1:9
echo 'not json' >"$work/bad.json"
echo '{"tool": "other", "checks": []}' >"$work/other.json"
json_get "$work/dev_a/results.json" 'json.dumps({**d, "checks": [], "verdict": "not judged"})' \
    >"$work/empty.json"
for bad in bad other empty; do
    run "cfg_$bad" "$dead" --baseline "$work/$bad.json"
    expect_status "cfg_$bad" 2
    grep -q "^error: --baseline $work/$bad.json: " "$work/cfg_$bad.err" ||
        { cat "$work/cfg_$bad.err" >&2; fail "--baseline $bad.json: no one-line error"; }
done
run cfg_missing "$dead" --baseline "$work/no-such.json"
expect_status cfg_missing 2
run cfg_format "$dead" --format xml
expect_status cfg_format 2
grep -q '^error: --format "xml": expected text or json' "$work/cfg_format.err" ||
    fail "--format xml: no one-line error"
run cfg_write "$dead" --write-expect-fail "$work/no-such-dir/x.txt"
expect_status cfg_write 2
echo "baseline, expect-fail writer, --format json, --quiet, --github: as documented"
