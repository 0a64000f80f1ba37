#!/usr/bin/env bash
# Throughput, latency and memory of the mock homeserver (a benchmark: it
# measures and prints, it asserts nothing about speed).
#
#   mock/bench/bench.sh [BUILD_DIR]        (default: build/)
#
# 1. Starts the mock on port 0, registers a user (POST /register, m.login.dummy),
#    and nginx (Debian's nginx-light; installed here when missing and root)
#    serving the very bytes of that user's GET /devices answer as a static
#    file on 127.0.0.1, as this machine's ceiling for an HTTP answer of that
#    size. Runs `wrk -t2 -c32` BENCH_RUNS times against each, alternating
#    (both see the same machine), sampling VmRSS, and prints each run's
#    requests/s and p99 latency, their medians, and the max RSS.
# 2. Starts a second mock seeded (--seed) with a user who has 10,000 devices,
#    times GET /devices for that user (median of BENCH_LISTINGS runs), then
#    runs the same alternating wrk against that listing and nginx serving its
#    bytes (BENCH_BIG_SECONDS), and times a bulk delete of 1,000 IDs (POST
#    /delete_devices, password UIA) on BENCH_BULK users of 1,001 devices each
#    (median), next to nginx answering the same POST with {}.
# 3. Prints the mock's requests/s and p99 as ratios to nginx-static, so that a
#    regression shows as a ratio, not as a noisy absolute: of the medians, and
#    of each server's best run (highest requests/s, lowest p99 or time).
# 4. When Stoplight Prism is installed (`prism` on PATH, or PRISM=/path/to/prism),
#    serves the spec's device_management.yaml with `prism mock` on a free
#    loopback port and runs the same wrk against its GET /devices, for a side
#    by side comparison (requests/s, p99, RSS, ratio).
#
# Environment: MOCK_BIN (the binary), BENCH_SECONDS (wrk duration, default 10),
# BENCH_BIG_SECONDS (wrk duration on the big listing, default 5), BENCH_BULK
# (bulk deletes timed, default 5), NGINX (the nginx binary; "none": skip it),
# BENCH_RUNS (wrk runs, default 3), BENCH_DEVICES (devices of the big user,
# default 10000), BENCH_LISTINGS (timed listings, default 20), PRISM (the prism
# binary), PRISM_SPEC (the OpenAPI file Prism serves, default the v1.17
# device_management.yaml of /work/shared/spec).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"
build=${1:-$here/build}
bin=${MOCK_BIN:-$build/mock/mock-homeserver}
seconds=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
n_devices=${BENCH_DEVICES:-10000}
listings=${BENCH_LISTINGS:-20}
big_seconds=${BENCH_BIG_SECONDS:-5}
n_bulk=${BENCH_BULK:-5}
prism=${PRISM:-$(command -v prism || true)}
prism_spec=${PRISM_SPEC:-/work/shared/spec/v1.17/client-server/device_management.yaml}

die() { printf 'bench.sh: %s\n' "$*" >&2; exit 2; }
[ -x "$bin" ] || die "no mock binary at $bin (build target mock-homeserver, or set MOCK_BIN)"
for tool in curl jq wrk; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_mock NAME ARGS...: starts the mock, sets mock_pid and mock_url from its
# first stdout line ("listening on http://127.0.0.1:PORT").
start_mock() {
    local name=$1
    shift
    listen_start "$bin" --listen 127.0.0.1:0 "$@" || die "$name: $listen_error"
    mock_pid=$listen_pid mock_url=$listen_url
    pids+=("$mock_pid")
}

# register URL USER PASSWORD: prints the new user's access token.
register() {
    local url=$1 user=$2 password=$3 reply session
    reply=$(curl -sS -X POST "$url/_matrix/client/v3/register" \
        -H 'Content-Type: application/json' \
        -d "$(jq -cn --arg u "$user" --arg p "$password" '{username: $u, password: $p}')")
    session=$(jq -r '.session // empty' <<<"$reply")
    reply=$(curl -sS -X POST "$url/_matrix/client/v3/register" \
        -H 'Content-Type: application/json' \
        -d "$(jq -cn --arg u "$user" --arg p "$password" --arg s "$session" \
            '{username: $u, password: $p,
              auth: ({type: "m.login.dummy"} + (if $s == "" then {} else {session: $s} end))}')")
    jq -er '.access_token' <<<"$reply" || die "registration failed: $reply"
}

# rss_kib PID: resident memory of PID and its child processes, in KiB.
rss_kib() {
    local p total=0 r
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${r:-0}))
    done
    echo "$total"
}

# median: the median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a";
        else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# load_one NAME URL PID CURL-HEADER...: one wrk run against URL while sampling
# the RSS of PID; appends its requests/s and p99 (ms) to NAME's lists and
# prints the run.
load_one() {
    local name=$1 url=$2 pid=$3 wrk_pid r max
    shift 3
    max=$(cat "$tmp/$name.rss" 2>/dev/null || echo 0)
    wrk -t2 -c32 -d"${seconds}s" --latency "$@" "$url" >"$tmp/wrk.out" 2>&1 &
    wrk_pid=$!
    # Sample memory while wrk runs; the loop ends with wrk (bounded by -d).
    while kill -0 "$wrk_pid" 2>/dev/null; do
        r=$(rss_kib "$pid")
        [ "$r" -gt "$max" ] && max=$r
        sleep 0.2
    done
    echo "$max" >"$tmp/$name.rss"
    wait "$wrk_pid" || die "wrk failed: $(cat "$tmp/wrk.out")"
    awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out" >>"$tmp/$name.rps"
    # wrk prints latencies as 512.00us, 1.23ms or 1.05s: convert to ms.
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                       print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' \
        "$tmp/wrk.out" >>"$tmp/$name.p99"
    printf '  %s: %s req/s, p99 %s ms' "$name" "$(tail -1 "$tmp/$name.rps")" "$(tail -1 "$tmp/$name.p99")"
    # Errors and non-2xx answers, when wrk reports any, on the same line.
    awk '/Non-2xx|Socket errors/ { $1 = $1; printf ", %s", $0 }' "$tmp/wrk.out"
    echo
}

# summary NAME LABEL: prints NAME's medians, best run and max RSS; sets
# load_rps, load_p99 (medians), best_rps, best_p99 (the highest requests/s,
# the lowest p99, each of any run) and load_rss.
summary() {
    load_rps=$(median <"$tmp/$1.rps")
    load_p99=$(median <"$tmp/$1.p99")
    best_rps=$(sort -g "$tmp/$1.rps" | tail -1)
    best_p99=$(sort -g "$tmp/$1.p99" | head -1)
    load_rss=$(cat "$tmp/$1.rss")
    echo "$2: median $load_rps req/s, p99 $load_p99 ms (best $best_rps req/s, p99" \
        "$best_p99 ms); max RSS during load $load_rss KiB" \
        "($(awk -v k="$load_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB)"
}

# start_nginx DIR: nginx serving DIR's files on a free loopback port, and
# answering POST /delete_devices with {} after reading the body; sets
# nginx_pid and nginx_url. A worker per core, as the mock has a polling
# thread per core; no access log, as the mock's --request-log is off.
start_nginx() {
    local www=$1 ngx=$tmp/nginx port t
    mkdir -p "$ngx/temp"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    {
        [ "$(id -u)" = 0 ] && echo "user root;"
        echo "worker_processes $(nproc);"
        echo "daemon off;"
        echo "pid $ngx/nginx.pid;"
        echo "error_log $ngx/error.log warn;"
        echo "events { worker_connections 1024; }"
        echo "http {"
        echo "    access_log off;"
        for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $ngx/temp;"; done
        echo "    client_max_body_size 1m;"
        echo "    client_body_buffer_size 128k;"
        echo "    keepalive_requests 1000000;"
        echo "    server {"
        echo "        listen 127.0.0.1:$port;"
        echo "        root $www;"
        echo "        default_type application/json;"
        echo "        location = /delete_devices { return 200 '{}'; }"
        echo "    }"
        echo "}"
    } >"$ngx/nginx.conf"
    "$nginx_bin" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" >"$ngx/stdout" 2>&1 &
    nginx_pid=$!
    pids+=("$nginx_pid")
    nginx_url=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$nginx_url/" && return 0
        kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited: $(cat "$ngx/error.log" "$ngx/stdout")"
        sleep 0.1
    done
    die "nginx did not answer within 10 s"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# nginx, the ceiling: found, or installed when root.
nginx_bin=${NGINX:-$(command -v nginx || true)}
if [ -z "$nginx_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing nginx-light (apt-get) for the static ceiling"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >"$tmp/apt.log" 2>&1 ||
        echo "apt-get install nginx-light failed: $(tail -1 "$tmp/apt.log")"
    nginx_bin=$(command -v nginx || true)
fi
[ "$nginx_bin" = none ] && nginx_bin=""
[ -n "$nginx_bin" ] ||
    echo "nginx not installed: no ratios (apt-get install nginx-light; NGINX=/path/to/nginx)"
www=$tmp/www
mkdir -p "$www"

# ---- 1. throughput of GET /devices for an ordinary user, nginx alongside ----

start_mock plain
token=$(register "$mock_url" "bench_$$" "bench-password-$$")
devices_url="$mock_url/_matrix/client/v3/devices"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$devices_url")
[ "$status" = 200 ] || die "GET /devices answered $status before the load"
curl -s -o "$www/devices.json" -H "Authorization: Bearer $token" "$devices_url"
if [ -n "$nginx_bin" ]; then
    start_nginx "$www"
    cmp -s "$www/devices.json" <(curl -s "$nginx_url/devices.json") ||
        die "nginx does not serve the mock's bytes"
    echo "nginx $("$nginx_bin" -v 2>&1 | sed 's|.*/||') on $nginx_url serves the same bytes as a static file"
fi
# The runs alternate between the two servers, so that both see the same
# machine (other load drifts over minutes).
echo "GET /devices ($mock_url, pid $mock_pid): wrk -t2 -c32 -d${seconds}s --latency, $runs runs each"
for i in $(seq 1 "$runs"); do
    load_one mock "$devices_url" "$mock_pid" -H "Authorization: Bearer $token"
    [ -z "$nginx_bin" ] ||
        load_one nginx-static "$nginx_url/devices.json" "$nginx_pid" -H "Authorization: Bearer $token"
done
summary mock "mock GET /devices"
mock_rps=$load_rps mock_p99=$load_p99 mock_rss=$load_rss
mock_brps=$best_rps mock_bp99=$best_p99
if [ -n "$nginx_bin" ]; then
    summary nginx-static "nginx-static, the same bytes"
    ngx_rps=$load_rps ngx_p99=$load_p99 ngx_brps=$best_rps ngx_bp99=$best_p99
fi
kill "$mock_pid"

# ---- 2. a user with 10,000 devices: listing; bulk delete of 1,000 IDs ----

seed=$tmp/seed.json
big_token="bench_big_user_token_$$"
# The big user, and n_bulk users of 1,001 devices: DEV0 (holding the token)
# deletes DEV1 .. DEV1000 in one request.
jq -n --argjson n "$n_devices" --arg t "$big_token" --argjson nb "$n_bulk" '
    def devs($k): [range($k) | {device_id: "DEV\(.)", display_name: "device \(.)",
                                last_seen_ip: "127.0.0.1", last_seen_ts: 1700000000000}];
    {users: ([{user_id: "bench_big", password: "bench-big-password",
               devices: (devs($n) | .[0].access_token = $t)}] +
             [range($nb) as $i | {user_id: "bench_bulk\($i)", password: "bench-bulk-password",
               devices: (devs(1001) | .[0].access_token = "bench_bulk_token_\($i)")}])}' >"$seed"
jq -nc '{devices: [range(1; 1001) | "DEV\(.)"]}' >"$tmp/bulk-ids.json"
start_mock big --seed "$seed"
echo "mock $mock_url (pid $mock_pid) seeded with $n_devices devices (and $n_bulk users" \
    "of 1,001), RSS: $(rss_kib "$mock_pid") KiB"
: >"$tmp/times"
for i in $(seq 1 "$listings"); do
    out=$(curl -s -o "$www/big.json" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $big_token" "$mock_url/_matrix/client/v3/devices")
    [ "${out%% *}" = 200 ] || die "GET /devices for the big user answered ${out%% *}"
    echo "${out#* }" >>"$tmp/times"
done
count=$(jq '.devices | length' "$www/big.json")
[ "$count" = "$n_devices" ] || die "listed $count devices, expected $n_devices"
sort -g "$tmp/times" | awk -v n="$n_devices" -v bytes="$(stat -c %s "$www/big.json")" '
    { t[NR] = $1 * 1000 }
    END { printf "GET /devices with %d devices (%d bytes), %d runs: min %.1f ms, median %.1f ms, max %.1f ms\n",
                 n, bytes, NR, t[1], (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2), t[NR] }'
saved_seconds=$seconds
seconds=$big_seconds
echo "GET /devices with $n_devices devices: wrk -t2 -c32 -d${seconds}s --latency, $runs runs each"
for i in $(seq 1 "$runs"); do
    load_one mock-big "$mock_url/_matrix/client/v3/devices" "$mock_pid" \
        -H "Authorization: Bearer $big_token"
    [ -z "$nginx_bin" ] || load_one nginx-static-big "$nginx_url/big.json" "$nginx_pid"
done
seconds=$saved_seconds
summary mock-big "mock GET /devices with $n_devices devices"
big_rps=$load_rps big_p99=$load_p99 big_brps=$best_rps big_bp99=$best_p99
if [ -n "$nginx_bin" ]; then
    summary nginx-static-big "nginx-static, the same bytes"
    ngx_big_rps=$load_rps ngx_big_p99=$load_p99 ngx_big_brps=$best_rps ngx_big_bp99=$best_p99
fi

# bulk_delete URL TOKEN USER: one POST /delete_devices of the 1,000 IDs
# through password UIA; prints the time of the request that deletes, in ms.
bulk_delete() {
    local url=$1 token=$2 user=$3 session out
    session=$(curl -s -X POST -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data-binary @"$tmp/bulk-ids.json" \
        "$url/_matrix/client/v3/delete_devices" | jq -r '.session // empty')
    [ -n "$session" ] || die "POST /delete_devices gave no UIA session"
    jq -c --arg s "$session" --arg u "$user" '. + {auth: {type: "m.login.password",
        session: $s, identifier: {type: "m.id.user", user: $u},
        password: "bench-bulk-password"}}' "$tmp/bulk-ids.json" >"$tmp/bulk-auth.json"
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary @"$tmp/bulk-auth.json" "$url/_matrix/client/v3/delete_devices")
    [ "${out%% *}" = 200 ] || die "POST /delete_devices answered ${out%% *}"
    awk -v t="${out#* }" 'BEGIN { printf "%.2f\n", t * 1000 }'
}
: >"$tmp/bulk"
: >"$tmp/nbulk"
for i in $(seq 0 $((n_bulk - 1))); do
    bulk_delete "$mock_url" "bench_bulk_token_$i" "bench_bulk$i" >>"$tmp/bulk"
    [ -z "$nginx_bin" ] ||
        curl -s -o /dev/null -w '%{time_total}\n' -X POST -H 'Content-Type: application/json' \
            --data-binary @"$tmp/bulk-auth.json" "$nginx_url/delete_devices" |
        awk '{ printf "%.2f\n", $1 * 1000 }' >>"$tmp/nbulk"
done
left=$(curl -s -H "Authorization: Bearer bench_bulk_token_0" \
    "$mock_url/_matrix/client/v3/devices" | jq '.devices | length')
[ "$left" = 1 ] || die "after the bulk delete $left devices are left, expected 1"
bulk_ms=$(median <"$tmp/bulk")
bulk_best=$(sort -g "$tmp/bulk" | head -1)
echo "POST /delete_devices of 1,000 IDs (password UIA), $n_bulk users: median $bulk_ms ms" \
    "($(tr '\n' ' ' <"$tmp/bulk")ms)"
echo "  RSS after: $(rss_kib "$mock_pid") KiB"
kill "$mock_pid"

# ---- 3. the ratios to nginx-static ----

if [ -n "$nginx_bin" ]; then
    ngx_bulk_ms=$(median <"$tmp/nbulk")
    ngx_bulk_best=$(sort -g "$tmp/nbulk" | head -1)
    echo "nginx answering the same 1,000-ID POST (with its UIA) with {}: median $ngx_bulk_ms ms" \
        "($(tr '\n' ' ' <"$tmp/nbulk")ms)"
    # Medians, then the best run of each against the best of the other (on
    # a shared machine the best runs are the ones least disturbed).
    awk -v n="$n_devices" -v a="$mock_rps" -v b="$ngx_rps" -v c="$mock_p99" -v d="$ngx_p99" \
        -v e="$big_rps" -v f="$ngx_big_rps" -v g="$big_p99" -v h="$ngx_big_p99" \
        -v i="$bulk_ms" -v j="$ngx_bulk_ms" 'BEGIN {
        printf "mock / nginx-static, GET /devices: %.2f of the requests/s, p99 %.2fx\n", a / b, c / d
        printf "mock / nginx-static, %d-device listing: %.2f of the requests/s, p99 %.2fx\n", n, e / f, g / h
        printf "mock / nginx, bulk delete of 1,000 IDs: %.1fx the time of nginx answering the same POST\n", i / j }'
    awk -v n="$n_devices" -v a="$mock_brps" -v b="$ngx_brps" -v c="$mock_bp99" -v d="$ngx_bp99" \
        -v e="$big_brps" -v f="$ngx_big_brps" -v g="$big_bp99" -v h="$ngx_big_bp99" \
        -v i="$bulk_best" -v j="$ngx_bulk_best" 'BEGIN {
        printf "best runs: GET /devices %.2f of the requests/s, p99 %.2fx; %d-device listing %.2f, p99 %.2fx; bulk delete %.1fx the time\n",
               a / b, c / d, n, e / f, g / h, i / j }'
    kill "$nginx_pid"
fi

# ---- 4. Stoplight Prism side by side ----

if [ -z "$prism" ] || [ ! -x "$prism" ]; then
    echo "Prism not installed: skipped (npm install @stoplight/prism-cli; PRISM=/path/to/prism)"
    exit 0
fi
[ -f "$prism_spec" ] || { echo "Prism: no spec file at $prism_spec (set PRISM_SPEC): skipped"; exit 0; }
# Request logging off (-v warn), as the mock's --request-log is off; port 0,
# found from the listening socket since Prism then prints no address.
"$prism" mock -h 127.0.0.1 -p 0 -v warn "$prism_spec" >"$tmp/prism.log" 2>&1 &
prism_pid=$!
pids+=("$prism_pid")
prism_port=""
for _ in $(seq 1 300); do
    kill -0 "$prism_pid" 2>/dev/null || die "prism exited: $(cat "$tmp/prism.log")"
    prism_port=$(ss -Hltnp 2>/dev/null |
        awk -v p="pid=$prism_pid," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
    [ -n "$prism_port" ] && break
    sleep 0.1
done
[ -n "$prism_port" ] || die "prism did not listen within 30 s"
# Prism serves the paths without the spec's basePath (/_matrix/client/v3).
prism_url="http://127.0.0.1:$prism_port/devices"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$prism_url")
[ "$status" = 200 ] || die "Prism's GET /devices answered $status"
prism_label="Prism $("$prism" --version) GET /devices (pid $prism_pid)"
echo "$prism_label: wrk -t2 -c32 -d${seconds}s --latency, $runs runs, RSS at start $(rss_kib "$prism_pid") KiB"
for _ in $(seq 1 "$runs"); do
    load_one prism "$prism_url" "$prism_pid" -H "Authorization: Bearer $token"
done
summary prism "$prism_label"
awk -v mr="$mock_rps" -v pr="$load_rps" -v mm="$mock_rss" -v pm="$load_rss" \
    -v mp="$mock_p99" -v pp="$load_p99" 'BEGIN {
    printf "mock vs Prism: %.1fx the requests/s, p99 %s vs %s ms, %.1fx less memory (%.1f vs %.1f MiB)\n",
           mr / pr, mp, pp, pm / mm, mm / 1024, pm / 1024 }'
