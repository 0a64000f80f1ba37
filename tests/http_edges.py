#!/usr/bin/env python3
"""Walks each dimension of an HTTP request up to and past the mock's limits
over raw sockets and checks that every request gets a well-formed answer or a
clean close within DEADLINE seconds, that other clients are served meanwhile,
and that refused requests change nothing the mock holds.

usage: http_edges.py URL     (URL as the mock printed it: http://127.0.0.1:PORT)
Exit 0 when every case holds, 1 otherwise (one line per broken case).

Limits (mock-homeserver --help): target 16 KiB -> 414, 100 header fields or
16 KiB of header names and values -> 431, body 64 KiB -> 413, all with a
JSON Matrix error. Past CONNECTION_MEMORY (128 KiB of request head)
libmicrohttpd answers by itself or closes: there any answer or close counts.
"""
import json
import re
import socket
import sys
import threading
import time
import urllib.parse

MAX_TARGET = 16 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY = 64 * 1024
POOL = 128 * 1024  # past this much request head, libmicrohttpd decides
# Silence is the failure this test hunts (a server that says nothing until
# its idle timeout, 30 s, runs out). Two seconds leave room for a loaded
# 2-core machine.
DEADLINE = 2.0

url = urllib.parse.urlsplit(sys.argv[1])
HOST, PORT = url.hostname, url.port
HOSTHDR = "%s:%d" % (HOST, PORT)
failures = []


def bad(case, why):
    failures.append("%s: %s" % (case, why))
    print("FAIL %s: %s" % (case, why), flush=True)


class Closed(Exception):
    pass


class Conn:
    """One raw connection with a response parser; every wait is bounded."""

    def __init__(self):
        self.s = socket.create_connection((HOST, PORT), timeout=DEADLINE)
        self.buf = b""

    def send(self, data):
        """Sends data; a peer that closed or reset first is not an error
        here (the answer or the close is judged by read)."""
        try:
            self.s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            return False

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.s.settimeout(left)
        try:
            chunk = self.s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def read(self, deadline):
        """One response: (status, headers dict, body bytes). Raises Closed
        when the peer closes before a full response, socket.timeout on
        silence past deadline, ValueError when malformed."""
        while b"\r\n\r\n" not in self.buf:
            self._more(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
        if not m:
            raise ValueError("bad status line %r" % lines[0][:80])
        headers = {}
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if not sep:
                raise ValueError("bad header line %r" % line[:80])
            headers[k.strip().lower()] = v.strip()
        status = int(m.group(1))
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._more(deadline)
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more(deadline)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                n = int(size_line.split(b";")[0], 16)
                while len(self.buf) < n + 2:
                    self._more(deadline)
                body += self.buf[:n]
                self.buf = self.buf[n + 2:]
                if n == 0:
                    break
        else:
            try:
                while True:
                    self._more(deadline)
            except Closed:
                pass
            body, self.buf = self.buf, b""
        return status, headers, body

    def close(self):
        self.s.close()


def request_bytes(method, target, headers=(), body=None, chunked=False, length=True):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + HOSTHDR]
    lines += ["%s: %s" % h for h in headers]
    data = b""
    if body is not None:
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            for i in range(0, len(body), 8192):
                part = body[i:i + 8192]
                data += b"%x\r\n%s\r\n" % (len(part), part)
            data += b"0\r\n\r\n"
        else:
            if length:
                lines.append("Content-Length: %d" % len(body))
            data = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def exchange(data):
    """Sends one request on a new connection. Returns ("answer", status,
    headers, body), ("closed",) or ("silent",)."""
    c = Conn()
    try:
        c.send(data)
        deadline = time.monotonic() + DEADLINE
        try:
            st, hd, body = c.read(deadline)
            return ("answer", st, hd, body)
        except Closed:
            return ("closed",)
        except socket.timeout:
            return ("silent",)
        except ValueError as e:
            return ("malformed", str(e))
    finally:
        c.close()


def judge(case, result, want, mock_domain):
    """want: the status expected (an int, or a set). mock_domain: the request
    is within what reaches the mock, so it must get that status with a JSON
    body (a Matrix error for >= 400); outside it, libmicrohttpd's own 4xx or a
    close also count."""
    kind = result[0]
    if kind == "silent":
        return bad(case, "no answer and no close within %.0f s" % DEADLINE)
    if kind == "malformed":
        return bad(case, "malformed answer: " + result[1])
    if kind == "closed":
        if mock_domain:
            bad(case, "closed without an answer (expected %s)" % want)
        return
    _, st, hd, body = result
    wants = want if isinstance(want, set) else {want}
    if not mock_domain and not hd.get("content-type", "").startswith("application/json"):
        if st not in (400, 413, 414, 431):
            bad(case, "libmicrohttpd answered %d" % st)
        return
    if st not in wants:
        return bad(case, "status %d, expected %s: %s" % (st, sorted(wants), body[:120]))
    if not hd.get("content-type", "").startswith("application/json"):
        return bad(case, "%d without a JSON Content-Type" % st)
    try:
        doc = json.loads(body)
    except ValueError:
        return bad(case, "%d body is not JSON: %r" % (st, body[:80]))
    if st >= 400 and not (isinstance(doc, dict) and isinstance(doc.get("errcode"), str)):
        bad(case, "%d body is not a Matrix error: %r" % (st, body[:80]))


# --- a user and a device to look after --------------------------------------

def call(method, path, body=None, token=None):
    hdrs = []
    if token:
        hdrs.append(("Authorization", "Bearer " + token))
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        hdrs.append(("Content-Type", "application/json"))
    r = exchange(request_bytes(method, path, hdrs, data))
    if r[0] != "answer":
        raise SystemExit("setup: %s %s got %s" % (method, path, r[0]))
    return r[1], json.loads(r[3] or b"null")


user = "edge%d" % int(time.time() * 1000 % 1e9)
reg = {"username": user, "password": "edge-password", "initial_device_display_name": "kept"}
st, doc = call("POST", "/_matrix/client/v3/register", reg)
if st == 401:
    reg["auth"] = {"type": "m.login.dummy", "session": doc.get("session")}
    st, doc = call("POST", "/_matrix/client/v3/register", reg)
if st != 200:
    raise SystemExit("setup: register answered %d %s" % (st, doc))
TOKEN, DEVICE = doc["access_token"], doc["device_id"]
AUTH = ("Authorization", "Bearer " + TOKEN)


def held():
    st, doc = call("GET", "/_matrix/client/v3/devices", token=TOKEN)
    if st != 200:
        raise SystemExit("GET /devices answered %d" % st)
    return sorted((d["device_id"], d.get("display_name")) for d in doc["devices"])


before = held()

# --- a bystander: a normal client that must be served throughout ------------

stop = threading.Event()
bystander = {"ok": 0, "bad": []}


def bystand():
    while not stop.is_set():
        r = exchange(request_bytes("GET", "/_matrix/client/v3/devices", [AUTH]))
        if r[0] == "answer" and r[1] == 200:
            bystander["ok"] += 1
        else:
            bystander["bad"].append(r[0] if r[0] != "answer" else r[1])
        stop.wait(0.05)


t = threading.Thread(target=bystand, daemon=True)
t.start()

V = "/_matrix/client/versions"
DEV = "/_matrix/client/v3/devices"
n_cases = 0


def case(name, data, want, mock_domain=True):
    global n_cases
    n_cases += 1
    judge(name, exchange(data), want, mock_domain)


# Number of query parameters: "a=b" pairs on three paths (no auth, auth, unknown).
for n in (0, 1, 100, 400, 450, 500, 1000, 4000, 4095, 4096, 5000, 20000, 40000):
    q = "&".join(["a=b"] * n)
    for path, hdrs, ok in ((V, [], 200), (DEV, [AUTH], 200),
                           ("/_matrix/client/v3/nowhere", [], 404)):
        target = path + ("?" + q if n else "")
        within = len(target) <= MAX_TARGET
        case("query %d pairs %s" % (n, path), request_bytes("GET", target, hdrs),
             ok if within else 414, mock_domain=len(target) < POOL // 2)

# URL length: one long parameter value; one long path segment.
for n in (100, 4000, MAX_TARGET - 100, MAX_TARGET + 100, 60000, 120000, 400000):
    target = V + "?x=" + "v" * n
    within = len(target) <= MAX_TARGET
    case("url %d bytes" % len(target), request_bytes("GET", target),
         200 if within else 414, mock_domain=len(target) < POOL // 2)
for n in (255, 8000, MAX_TARGET - 100, MAX_TARGET + 100, 100000):
    target = DEV + "/" + "d" * n
    within = len(target) <= MAX_TARGET
    case("path segment %d bytes" % n, request_bytes("GET", target, [AUTH]),
         404 if within else 414, mock_domain=len(target) < POOL // 2)

# Number of header fields (Host and Authorization are two of them).
for n in (10, MAX_HEADERS - 2, MAX_HEADERS - 1, 200, 1000, 5000):
    hdrs = [AUTH] + [("X-H%d" % i, "v") for i in range(n)]
    total = n + 2
    case("%d header fields" % total, request_bytes("GET", DEV, hdrs),
         200 if total <= MAX_HEADERS else 431, mock_domain=total * 70 < POOL // 2)


def header_bytes(hdrs):
    return len("Host") + len(HOSTHDR) + sum(len(k) + len(v) for k, v in hdrs)


# Header size: one large field; the bytes counted are names and values.
base = header_bytes([AUTH, ("X-Big", "")])
for n in (5000, MAX_HEADER_BYTES - base, MAX_HEADER_BYTES - base + 1, 60000, 200000,
          1 << 20):
    hdrs = [AUTH, ("X-Big", "b" * n)]
    total = header_bytes(hdrs)
    case("header of %d bytes" % n, request_bytes("GET", DEV, hdrs),
         200 if total <= MAX_HEADER_BYTES else 431, mock_domain=total < POOL // 2)

# Authorization size: an unknown token of growing length.
base = header_bytes([("Authorization", "Bearer ")])
for n in (100, 8000, MAX_HEADER_BYTES - base, MAX_HEADER_BYTES - base + 1, 100000):
    hdrs = [("Authorization", "Bearer " + "t" * n)]
    total = header_bytes(hdrs)
    case("Authorization of %d bytes" % n, request_bytes("GET", DEV, hdrs),
         401 if total <= MAX_HEADER_BYTES else 431, mock_domain=total < POOL // 2)


# Body size: a JSON object padded to n bytes, with Content-Length, with
# "Expect: 100-continue" (refused before the body), and chunked. Login with
# a wrong password: within the limit 403, past it 413; and a rename of the
# kept device, which must not happen when refused.
def padded(n, obj):
    text = json.dumps(dict(obj, pad=""))
    return (text[:-2] + "x" * (n - len(text)) + '"}').encode()


login = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
         "password": "wrong"}
for n in (1000, MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 200000, 1 << 20):
    body = padded(n, login)
    assert len(body) == n
    want = 403 if n <= MAX_BODY else 413
    hj = [("Content-Type", "application/json")]
    case("body %d bytes, Content-Length" % n,
         request_bytes("POST", "/_matrix/client/v3/login", hj, body), want)
    case("body %d bytes, chunked" % n,
         request_bytes("POST", "/_matrix/client/v3/login", hj, body, chunked=True), want)
    rename = padded(n, {"display_name": "renamed by a refused request"})
    if n > MAX_BODY:
        case("rename with a %d-byte body" % n,
             request_bytes("PUT", DEV + "/" + DEVICE, [AUTH] + hj, rename), 413)
# Announced too large and waiting for 100 Continue: refused before the body.
n_cases += 1
c = Conn()
c.send(request_bytes("PUT", DEV + "/" + DEVICE, [AUTH, ("Expect", "100-continue"),
                     ("Content-Length", str(10 << 20))]))
try:
    r = c.read(time.monotonic() + DEADLINE)
    judge("Content-Length 10 MiB with Expect", ("answer",) + r, 413, True)
except (Closed, socket.timeout) as e:
    bad("Content-Length 10 MiB with Expect", "no 413 before the body: %r" % e)
c.close()

# Slow senders: four connections dribble a request, a byte every 40 ms
# (bounded: about 3 s), while a normal request is answered at once.
n_cases += 1
slow_req = request_bytes("GET", DEV + "?slow=1", [AUTH])
slow = [Conn() for _ in range(4)]
t0 = time.monotonic()
half = len(slow_req) // 2
for i in range(half):
    for c in slow:
        c.send(slow_req[i:i + 1])
    time.sleep(0.04) if i % 4 == 0 else None
judge("normal request while 4 clients dribble", exchange(request_bytes("GET", DEV, [AUTH])),
      200, True)
for i in range(half, len(slow_req)):
    for c in slow:
        c.send(slow_req[i:i + 1])
    time.sleep(0.04) if i % 4 == 0 else None
for k, c in enumerate(slow):
    try:
        judge("slow sender %d" % k, ("answer",) + c.read(time.monotonic() + DEADLINE), 200, True)
    except (Closed, socket.timeout) as e:
        bad("slow sender %d" % k, "no answer after its last byte: %r" % e)
    c.close()

# Pipelined: three requests in one write, three answers in order.
n_cases += 1
c = Conn()
c.send(request_bytes("GET", V) + request_bytes("GET", DEV, [AUTH]) +
       request_bytes("GET", "/_matrix/client/v3/nowhere"))
got = []
try:
    for _ in range(3):
        got.append(c.read(time.monotonic() + DEADLINE)[0])
except (Closed, socket.timeout, ValueError) as e:
    got.append(repr(e))
c.close()
if got != [200, 200, 404]:
    bad("pipelined", "answers %s, expected [200, 200, 404]" % got)

# A client that closes half-way: in the request line, in the headers, in the
# body of a rename. The mock goes on serving; nothing is renamed.
rename = json.dumps({"display_name": "renamed by a half request"}).encode()
full = request_bytes("PUT", DEV + "/" + DEVICE, [AUTH, ("Content-Type", "application/json")],
                     rename)
for cut in (10, full.index(b"\r\n\r\n") - 5, len(full) - 5):
    n_cases += 1
    c = Conn()
    c.send(full[:cut])
    c.close()
    judge("served after a client closed at byte %d" % cut,
          exchange(request_bytes("GET", DEV, [AUTH])), 200, True)

stop.set()
t.join(5)
after = held()
if after != before:
    bad("state", "refused requests changed the devices: %s -> %s" % (before, after))
if bystander["bad"]:
    bad("bystander", "a normal client was not served: %s" % bystander["bad"][:10])
if bystander["ok"] == 0:
    bad("bystander", "the normal client made no request")
print("%d cases, bystander served %d requests, devices unchanged: %s; %d failures"
      % (n_cases, bystander["ok"], after == before, len(failures)))
sys.exit(1 if failures else 0)
