#!/usr/bin/env bash
# Every edge of an HTTP request against the mock (tests/http_edges.py): each
# dimension up to and past its limit gets a well-formed answer or a clean
# close, never silence; other clients are served meanwhile; refused requests
# change nothing. Then the request log: it shows what the client sent, with
# the authenticated user and device, and no secret.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

start_server url "$MOCK" --request-log "$work/edges.log"
python3 "$MXDEV_SOURCE_DIR/tests/http_edges.py" "$url" || fail "HTTP edge cases (lines above)"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/edges.log" ||
    fail "a request-log line of the edge cases is not JSON"
kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null

log=$work/requests.log
start_server url "$MOCK" --appservice "$AS_REG" --request-log "$log" \
    --registration-token reg-token-SECRET-5 --shared-secret shared-SECRET-6

# The request log as evidence. A client session with secrets in every place
# the mock accepts them; each must be missing from the log, and what the
# client sent otherwise must be there.
python3 - "$url" "$log" "$AS_REG" <<'EOF' || fail "request log (lines above)"
import hashlib, hmac, json, sys, urllib.request, urllib.error
url, log, as_reg = sys.argv[1], sys.argv[2], sys.argv[3]
as_token = [l.split(":", 1)[1].strip().strip('"\'') for l in open(as_reg)
            if l.startswith("as_token:")][0]

def call(method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

secrets = ["pass-SECRET-1", "reg-token-SECRET-5", "shared-SECRET-6", as_token]
reg = {"username": "logged", "password": secrets[0], "device_id": "LOGDEV1",
       "initial_device_display_name": "Phone \u00e9"}
st, d = call("POST", "/_matrix/client/v3/register", reg)
reg["auth"] = {"type": "m.login.registration_token", "token": secrets[1],
               "session": d.get("session")}
st, d = call("POST", "/_matrix/client/v3/register", reg)
assert st == 200, (st, d)
tok = d["access_token"]
secrets.append(tok)
st, d = call("POST", "/_matrix/client/v3/login", {"type": "m.login.password",
             "identifier": {"type": "m.id.user", "user": "logged"}, "password": secrets[0]})
assert st == 200, (st, d)
secrets.append(d["access_token"])
st, _ = call("PUT", "/_matrix/client/v3/devices/LOGDEV1", {"display_name": "Renamed \u00e9"}, tok)
assert st == 200, st
st, _ = call("GET", "/_matrix/client/v3/devices?access_token=" + tok)
st, d = call("GET", "/_synapse/admin/v1/register")
nonce = d["nonce"]
mac = hmac.new(secrets[2].encode(), b"\0".join([nonce.encode(), b"admin1", secrets[0].encode(),
               b"notadmin"]), hashlib.sha1).hexdigest()
secrets.append(mac)
st, d = call("POST", "/_synapse/admin/v1/register", {"nonce": nonce, "username": "admin1",
             "password": secrets[0], "mac": mac})
assert st == 200, (st, d)
secrets.append(d["access_token"])
st, _ = call("POST", "/_matrix/client/v3/register", {"type": "m.login.application_service",
             "username": "bridged_x"}, as_token)
big = {"display_name": "B" * 5000}
st, _ = call("PUT", "/_matrix/client/v3/devices/LOGDEV1", big, tok)

text = open(log, encoding="utf-8").read()
lines = [json.loads(l) for l in text.splitlines()]
for s in secrets:
    assert s not in text, "a secret reached the request log: %s..." % s[:6]
put = [l for l in lines if l["method"] == "PUT" and l.get("body", {}).get("display_name") == "Renamed \u00e9"]
assert put and put[0]["user_id"] == "@logged:localhost" and put[0]["device_id"] == "LOGDEV1", put
assert put[0]["status"] == 200 and put[0]["path"] == "/_matrix/client/v3/devices/LOGDEV1"
regs = [l for l in lines if l["path"] == "/_matrix/client/v3/register" and l["status"] == 200
        and l.get("body", {}).get("username") == "logged"]
assert regs and regs[0]["body"]["password"] == "<redacted>" and \
    regs[0]["body"]["auth"]["token"] == "<redacted>" and regs[0]["user_id"] is None, regs
q = [l for l in lines if "access_token=" in l["path"]]
assert q and q[0]["path"].endswith("access_token=<redacted>") and q[0]["user_id"] == "@logged:localhost", q
cut = [l for l in lines if l.get("body_cut")]
assert cut and cut[-1]["body_bytes"] == len(json.dumps(big)) and len(cut[-1]["body_text"]) <= 2048, cut[-1:]
print("request log: %d lines, JSON each; bodies as sent, secrets redacted, identity shown, "
      "long body cut at 2 KiB with its length" % len(lines))
EOF
echo OK
