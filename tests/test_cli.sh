#!/usr/bin/env bash
# The runner's command line, configuration checks and server probe:
#   - unknown options are usage errors (exit 2) with the closest option;
#     criterion's options only after "--";
#   - the whole configuration is checked before the first request, every
#     problem on its own "error:" line;
#   - --homeserver is parsed by libcurl: malformed URLs exit 2, schemes are
#     case-insensitive, credentials in it appear nowhere;
#   - a peer that is not HTTP, or that redirects, is named as such (exit 3);
#   - the probe prints what the server answered (password login,
#     registration) and puts it into results.json; registration that cannot
#     give accounts, with none given, is exit 2 before any check;
#   - --only/--group run exactly the selected checks; --list-requirements;
#   - --help, --list-options and the README list the same options.
# shellcheck disable=SC2154 # start_server assigns the URL variables (printf -v)
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
FAULT=$MXDEV_BUILD_DIR/tests/fault-server

# run NAME ARGS...: the suite; output in $work/NAME.log, status in $status.
run() {
    local name=$1
    shift
    "$SUITE" --report-dir "$work/$name" "$@" >"$work/$name.log" 2>&1
    status=$?
}
expect_status() {
    [ "$status" -eq "$2" ] || { cat "$work/$1.log" >&2; fail "$1: exit $status, want $2"; }
}
expect_line() {
    grep -qF -- "$2" "$work/$1.log" || { cat "$work/$1.log" >&2; fail "$1: no line with: $2"; }
}
caps() { json_get "$work/$1/results.json" "d['capabilities']$2"; }

start_server url "$MOCK" --appservice "$AS_REG" --request-log "$work/requests.log"
hostport=${url#http://}

# ---- 1. unknown options, and criterion's only after "--" ----
run typo --stirct
expect_status typo 2
expect_line typo "error: unknown option --stirct (did you mean --strict?)"
run typo-value --homeserver "$url" --spec-verison 1.18
expect_status typo-value 2
expect_line typo-value "unknown option --spec-verison (did you mean --spec-version?)"
grep -q "unexpected argument" "$work/typo-value.log" && fail "typo-value: 1.18 reported twice"
run crit-before --homeserver "$url" --filter 'get/*'
expect_status crit-before 2
expect_line crit-before "error: unknown option --filter"
# A usage error still writes its reports, saying that nothing was judged and why.
[ -e "$work/typo-value/results.json" ] || fail "a usage error left no reports"
[ "$(json_get "$work/typo-value/results.json" 'd["exit_status"], d["verdict"]')" = "(2, 'not judged')" ] ||
    fail "typo-value: results.json does not say 'not judged' with exit 2"
grep -q "spec-verison" "$work/typo-value/summary.md" || fail "typo-value: summary.md lacks the reason"

# ---- 2. every configuration problem at once, before any request ----
mkdir -p "$work/empty-spec"
printf 'GET-OK # known\nNO-SUCH-ONE\nGET-OK-TYPO # reason\n' >"$work/xf.txt"
printf 'id: x\nsender_localpart: bot\n' >"$work/as.yaml"
echo "regtoken-$RANDOM$RANDOM" >"$work/token"
touch "$work/ca.pem"
run many --homeserver "$url" --timeout 0 --spec-version 1.99 --expect-fail "$work/xf.txt" \
    --spec-dir "$work/empty-spec" --as-registration "$work/as.yaml" \
    --registration-token "regtoken-x$RANDOM" --registration-token-file "$work/token" \
    --insecure --cacert "$work/ca.pem" --only GET-OKK --group lst --stirct
expect_status many 2
for line in "--timeout \"0\": expected an integer from 1 to 3600" \
    "--spec-version \"1.99\"" "NO-SUCH-ONE" "GET-OK-TYPO" \
    "--spec-dir $work/empty-spec: no device_management.yaml" \
    "--as-registration $work/as.yaml: no as_token" \
    "--registration-token and --registration-token-file contradict" \
    "--insecure and --cacert contradict" \
    "--only: unknown requirement ID GET-OKK (did you mean GET-OK?)" \
    "--group: unknown group lst (did you mean list?)" "unknown option --stirct"; do
    expect_line many "$line"
done
n=$(grep -c '^error: ' "$work/many.log")
[ "$n" -eq 11 ] || fail "many: $n error lines, want 11 (one a problem)"
[ ! -s "$work/requests.log" ] ||
    fail "a configuration error still sent requests: $(head -2 "$work/requests.log")"
# A spec checkout's root is accepted (its data/api/client-server is used).
mkdir -p "$work/spec-root/data/api/client-server"
touch "$work/spec-root/data/api/client-server/device_management.yaml"
run spec-root --homeserver "$url" --spec-dir "$work/spec-root" --list-requirements
expect_status spec-root 0
echo "configuration: $n problems in one message, no request sent"

# ---- 3. URLs ----
for bad in "http://" "http://127.0.0.1:99999" "http://[::1" "ftp://x" "localhost:8008"; do
    run badurl --homeserver "$bad"
    expect_status badurl 2
    grep -q "^error: --homeserver \"$(printf '%s' "$bad" | sed 's/[][\.*^$]/\\&/g')\": ." \
        "$work/badurl.log" || fail "$bad: no reason given: $(cat "$work/badurl.log")"
done
run upper --homeserver "HTTP://$hostport/" --only VER-VERSIONS
expect_status upper 0
secret="pw-$RANDOM$RANDOM-secret"
run creds --homeserver "http://mxdevuser:$secret@$hostport" --as-registration "$AS_REG" \
    --only GET-OK
expect_status creds 0
expect_line creds "target:        http://***@$hostport"
[ "$(json_get "$work/creds/results.json" 'd["target"]')" = "http://***@$hostport" ] ||
    fail "creds: results.json target is $(json_get "$work/creds/results.json" 'd["target"]')"
if grep -rlF -- "$secret" "$work/creds" "$work/creds.log" >/dev/null; then
    grep -rlF -- "$secret" "$work/creds" "$work/creds.log" >&2
    fail "creds: the URL's password appears in the files above"
fi
grep -rqF "mxdevuser:" "$work/creds" "$work/creds.log" && fail "creds: the URL's userinfo appears"
run creds-bad --homeserver "http://mxdevuser:$secret@127.0.0.1:99999"
expect_status creds-bad 2
grep -qF -- "$secret" "$work/creds-bad.log" && fail "creds-bad: the password is in the error"
echo "urls: malformed ones exit 2, HTTP:// works, credentials redacted"

# ---- 4. peers that are not HTTP, or redirect ----
start_server garbage "$FAULT" all-garbage --lifetime 60
run garbage --homeserver "$garbage"
expect_status garbage 3
expect_line garbage "is not an HTTP server"
grep -qi "bad homeserver URL" "$work/garbage.log" && fail "garbage: called a bad URL"
start_server redirect "$FAULT" redirect --lifetime 60
run redirect --homeserver "$redirect"
expect_status redirect 3
expect_line redirect "a redirect to https://matrix.example.org/_matrix/client/versions"
expect_line redirect "does not follow redirects"
echo "peers: not HTTP and redirects named (exit 3)"

# ---- 5. the probe says what it saw ----
run probe --homeserver "$url" --as-registration "$AS_REG" --only GET-OK
expect_status probe 0
expect_line probe "password login: yes (GET /login lists m.login.password)"
expect_line probe "registration:  open (flows: m.login.dummy)"
expect_line probe "tls verification: on"
[ "$(caps probe '["registration"]["state"]')" = open ] || fail "probe: registration state"
[ "$(caps probe '["registration"]["flows"]')" = "['m.login.dummy']" ] || fail "probe: flows"
[ "$(caps probe '["password_login"]')" = yes ] || fail "probe: password_login"
[ "$(caps probe '["tls_verification"]')" = on ] || fail "probe: tls_verification"
run insecure --homeserver "$url" --insecure --only VER-VERSIONS
expect_line insecure "tls verification: off (--insecure)"
[ "$(caps insecure '["tls_verification"]')" = off ] || fail "insecure: tls_verification"

start_server closed "$MOCK" --no-registration
run closed --homeserver "$closed" --only GET-OK
expect_status closed 2
[ "$(grep -c '^error: ' "$work/closed.log")" -eq 1 ] || fail "closed: want one error line"
for way in "registration is closed" "403 M_FORBIDDEN" "--user" "--user-file" '$MXDEV_USERS' \
    "--shared-secret"; do
    expect_line closed "$way"
done
run closed-users --homeserver "$closed" --user "@a:localhost=x" --user "@b:localhost=y" \
    --only VER-VERSIONS
expect_status closed-users 0
expect_line closed-users "registration:  closed (403 M_FORBIDDEN)"
[ "$(caps closed-users '["registration"]["errcode"]')" = M_FORBIDDEN ] || fail "closed: errcode"

start_server tokenonly "$MOCK" --registration-token "tok-$RANDOM"
run token --homeserver "$tokenonly" --only GET-OK
expect_status token 2
expect_line token "needs a registration token"
expect_line token "--registration-token"
run token-given --homeserver "$tokenonly" --registration-token wrong --only VER-VERSIONS
expect_line token-given "registration:  token required (m.login.registration_token"
[ "$(caps token-given '["registration"]["state"]')" = token ] || fail "token: state"

# A broken GET /login is not a "yes", and does not turn checks into skips.
start_server broken "$FAULT" html502 --lifetime 60
run broken --homeserver "$broken" --timeout 2 --only GET-OK
expect_status broken 1
expect_line broken "password login: unclear (GET /login answered 502"
expect_line broken "the checks run and will show it"
[ "$(caps broken '["password_login"]')" = unclear ] || fail "broken: password_login"
# A registration probe that times out is no answer, not "closed".
start_server hang "$FAULT" hang --lifetime 60
run hang --homeserver "$hang" --timeout 1 --deadline 20 --only GET-OK
expect_status hang 1
expect_line hang "registration:  no answer (timed out"
[ "$(caps hang '["registration"]["state"]')" = unknown ] || fail "hang: registration state"
echo "probe: login and registration lines say what the server answered"

# ---- 6. selection by requirement ----
run only --homeserver "$url" --as-registration "$AS_REG" --only GET-OK
expect_status only 0
ids=$(json_get "$work/only/results.json" 'sorted({c["id"] for c in d["checks"]})')
[ "$ids" = "['GET-OK']" ] || fail "--only GET-OK ran: $ids"
run group --homeserver "$url" --as-registration "$AS_REG" --group tok,ver --only GET-OK
expect_status group 0
groups=$(json_get "$work/group/results.json" \
    'sorted({c["test"].split("/")[0] for c in d["checks"]})')
[ "$groups" = "['get', 'tok', 'ver']" ] || fail "--group tok,ver --only GET-OK ran: $groups"
run both --homeserver "$url" --only GET-OK -- --filter 'get/*'
expect_status both 2
"$SUITE" --list-requirements >"$work/list.txt" || fail "--list-requirements failed"
grep -qF "https://spec.matrix.org/v1.17/client-server-api/#get_matrixclientv3devicesdeviceid" \
    "$work/list.txt" || fail "--list-requirements: no link for GET-OK"
"$SUITE" --list-requirements=json --spec-version 1.18 >"$work/list.json" ||
    fail "--list-requirements=json failed"
python3 - "$work/list.json" "$FIXTURES/requirements.tsv" <<'PY' || fail "--list-requirements=json"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = [l.split("\t")[0] for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
assert [r["id"] for r in rows] == ids, "not every catalogue row"
for r in rows:
    assert r["link"].startswith("https://spec.matrix.org/v1.18/"), r
    assert r["level"] in ("MUST", "SHOULD", "INFO") and r["rule"], r
PY
echo "selection: --only/--group run exactly their checks; listings carry links"

# ---- 7. --help, --list-options and README agree ----
"$SUITE" --list-options | cut -f1 >"$work/options"
[ "$(wc -l <"$work/options")" -ge 20 ] || fail "--list-options lists too few"
"$SUITE" --help >"$work/help"
while read -r name; do
    grep -qE -- "^  --$name([ =[]|$)" "$work/help" || fail "--help lacks --$name"
    grep -qF -- "\`--$name" "$MXDEV_SOURCE_DIR/README.md" || fail "README lacks --$name"
done <"$work/options"
echo "help: every option in --help and README"

# ---- 8. run-tests.sh's own options ----
rt=$MXDEV_SOURCE_DIR/run-tests.sh
# Build options in the environment (CI sets MXDEV_WERROR) would make
# run-tests.sh reconfigure the build tree the other tests are using.
unset MXDEV_WERROR MXDEV_SANITIZE
# Should --self-test ever ignore a bad option again, a stub ctest keeps this
# test from starting the whole self-test inside itself.
mkdir -p "$work/rt-bin"
printf '#!/bin/sh\necho "stub ctest: the self-test would start" >&2\nexit 99\n' \
    >"$work/rt-bin/ctest"
chmod +x "$work/rt-bin/ctest"
rt_run() {
    local name=$1
    shift
    PATH=$work/rt-bin:$PATH MXDEV_BUILD_DIR=$MXDEV_BUILD_DIR bash "$rt" "$@" \
        >"$work/$name.log" 2>&1
    status=$?
}
rt_run rt-typo --stirct
expect_status rt-typo 2
expect_line rt-typo "unknown option --stirct (did you mean --strict?)"
rt_run rt-typo2 --self-tset
expect_status rt-typo2 2
expect_line rt-typo2 "(did you mean --self-test?)"
rt_run rt-ignored --self-test --strict --timeout 5
expect_status rt-ignored 2
expect_line rt-ignored "--strict applies to a suite run; --self-test would ignore it"
expect_line rt-ignored "--timeout applies to a suite run"
rt_run rt-matrix --version-matrix -- --filter 'x'
expect_status rt-matrix 2
# build(): a configure that failed left CMakeCache.txt but no Makefile; a
# failed build shows its tail and says so (a stub cmake stands in).
mkdir -p "$work/bin" "$work/stale"
touch "$work/stale/CMakeCache.txt"
cat >"$work/bin/cmake" <<EOF
#!/bin/sh
case "\$*" in
    *--build*) echo "stub: error: this is the compiler's complaint" >&2; exit 1 ;;
    *) echo configured >>"$work/stub-configured"; exit 0 ;;
esac
EOF
chmod +x "$work/bin/cmake"
PATH=$work/bin:$PATH MXDEV_BUILD_DIR=$work/stale bash "$rt" --version-matrix \
    >"$work/rt-build.log" 2>&1
status=$?
expect_status rt-build 2
[ -s "$work/stub-configured" ] || fail "build(): no configure although Makefile is missing"
expect_line rt-build "stub: error: this is the compiler's complaint"
expect_line rt-build "run-tests.sh: build failed"
echo "run-tests.sh: unknown and ignored options exit 2; build() reconfigures and reports"
echo "ok: cli"
