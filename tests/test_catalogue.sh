#!/usr/bin/env bash
# The catalogue (fixtures/requirements.tsv) and the suite agree: every
# requirement has a test, every test names a requirement of the catalogue.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
# criterion's --list prints "group: N tests" and then one "├── TEST" line a test.
"$SUITE" -- --list >"$work/list" 2>&1 || fail "device-conformance -- --list failed"
awk '/^[a-z]+: [0-9]+ tests?$/ {g=substr($1, 1, length($1)-1); next}
     /(├|└)── / {print g "/" $2}' "$work/list" >"$work/tests"
[ -s "$work/tests" ] || fail "no tests listed: $(head -3 "$work/list")"
grep -v '^#' "$FIXTURES/requirements.tsv" | cut -f1 | sort -u >"$work/catalogue"
# "group/UIA_WRONG_PASSWORD__variant" -> "UIA-WRONG-PASSWORD"
sed -E 's|^[a-z]+/||; s|__.*$||; s|_|-|g' "$work/tests" | sort -u >"$work/tested"
missing=$(comm -23 "$work/catalogue" "$work/tested")
unknown=$(comm -13 "$work/catalogue" "$work/tested")
[ -z "$missing" ] || fail "requirements without a test: $(echo $missing)"
[ -z "$unknown" ] || fail "tests naming IDs the catalogue lacks: $(echo $unknown)"
bad_group=$(awk -F/ '{print $1}' "$work/tests" | sort -u |
    grep -vxE 'err|auth|list|get|put|asc|uia|del|asd|tok|ver' || true)
[ -z "$bad_group" ] || fail "tests in unknown groups: $bad_group"
echo "catalogue: $(wc -l <"$work/catalogue") requirements, $(wc -l <"$work/tests") tests, all matched"
