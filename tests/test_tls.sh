#!/usr/bin/env bash
# The suite over https, against the mock's TLS listener, with a throw-away CA
# made here: with --cacert the verdicts are those of the same run over http;
# without it, and with a certificate for another host or an expired one, the
# suite exits 3 with one line naming the certificate problem; --insecure runs.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq openssl >/dev/null 2>&1 || true
    fi
    command -v openssl >/dev/null || { echo "SKIP: no openssl command to make certificates"; exit 77; }
fi

# Certificates: a CA, and three server certificates for one key: for
# 127.0.0.1, for another host name, and one that expired.
tls=$work/tls
mkdir -p "$tls"
mkcert() { # NAME DAYS SAN
    printf 'subjectAltName=%s\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n' \
        "$3" >"$tls/$1.ext"
    openssl x509 -req -in "$tls/srv.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -days "$2" -extfile "$tls/$1.ext" -out "$tls/$1.pem" 2>"$tls/err" ||
        fail "openssl could not make the $1 certificate: $(tail -1 "$tls/err")"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/ca.key" \
    -out "$tls/ca.pem" -days 2 -subj "/CN=mxdev throw-away test CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$tls/err" ||
    fail "openssl could not make the CA: $(tail -1 "$tls/err")"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/srv.key" \
    -out "$tls/srv.csr" -subj "/CN=127.0.0.1" 2>"$tls/err" ||
    fail "openssl could not make the server key: $(tail -1 "$tls/err")"
mkcert good 2 IP:127.0.0.1
mkcert otherhost 2 DNS:otherhost.example
mkcert expired -1 IP:127.0.0.1 # notAfter in the past

# The mock refuses half a TLS configuration, and a key that is not PEM.
"$MOCK" --tls-cert "$tls/good.pem" >/dev/null 2>"$work/err" && fail "--tls-cert without --tls-key accepted"
grep -q -- "--tls-key" "$work/err" || fail "no clear error for --tls-cert alone: $(cat "$work/err")"
"$MOCK" --tls-cert "$tls/good.pem" --tls-key "$tls/good.ext" >/dev/null 2>"$work/err" &&
    fail "a key file that is not PEM was accepted"
[ "$(wc -l <"$work/err")" = 1 ] || fail "not one line for a bad key: $(cat "$work/err")"

verdicts() { # RESULTS.JSON -> "test verdict" lines, sorted
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for c in sorted(d["checks"], key=lambda c: c["test"]): print(c["test"], c["verdict"])
print("totals", json.dumps(d["totals"], sort_keys=True))' "$1"
}

# Over http first: the reference verdicts.
start_server url "$MOCK" --appservice "$AS_REG"
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/http" \
    >"$work/http.log" 2>&1
echo "http: exit $?"
verdicts "$work/http/results.json" >"$work/http.verdicts"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null

start_server url "$MOCK" --appservice "$AS_REG" --tls-cert "$tls/good.pem" --tls-key "$tls/srv.key"
case "$url" in https://127.0.0.1:*) ;; *) fail "the TLS listener announced $url" ;; esac

# With the CA: the same verdicts as over http.
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --cacert "$tls/ca.pem" \
    --report-dir "$work/https" >"$work/https.log" 2>&1
echo "https --cacert: exit $?"
verdicts "$work/https/results.json" >"$work/https.verdicts"
diff "$work/http.verdicts" "$work/https.verdicts" >"$work/diff" ||
    fail "verdicts over https differ from http: $(head -20 "$work/diff")"
grep totals "$work/https.verdicts"

# expect_refused NAME PATTERN SUITE-ARGS...: exit 3, one stderr line naming
# the problem, no check run.
expect_refused() {
    local name=$1 pattern=$2 status
    shift 2
    "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/$name" "$@" \
        >"$work/$name.out" 2>"$work/$name.err"
    status=$?
    [ $status = 3 ] || fail "$name: exit $status, not 3: $(tail -3 "$work/$name.err")"
    [ "$(wc -l <"$work/$name.err")" = 1 ] || fail "$name: not one line: $(cat "$work/$name.err")"
    grep -Eqi "$pattern" "$work/$name.err" || fail "$name: the line does not say '$pattern': $(cat "$work/$name.err")"
    echo "$name: exit 3: $(cat "$work/$name.err")"
}

# Without the CA: the issuer is unknown.
expect_refused unknown-issuer 'certificate.*(local issuer|self.signed|unknown)'
# --insecure: runs, and gets the verdicts of http.
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --insecure \
    --report-dir "$work/insecure" >"$work/insecure.log" 2>&1
echo "https --insecure: exit $?"
verdicts "$work/insecure/results.json" >"$work/insecure.verdicts"
diff "$work/http.verdicts" "$work/insecure.verdicts" >"$work/diff" ||
    fail "verdicts over https --insecure differ from http: $(head -20 "$work/diff")"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null

start_server url "$MOCK" --tls-cert "$tls/otherhost.pem" --tls-key "$tls/srv.key"
expect_refused wrong-host 'host ?name|subject name|does not match' --cacert "$tls/ca.pem"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null

start_server url "$MOCK" --tls-cert "$tls/expired.pem" --tls-key "$tls/srv.key"
expect_refused expired 'expired' --cacert "$tls/ca.pem"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null
echo "OK"
