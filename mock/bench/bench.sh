#!/usr/bin/env bash
# Throughput, latency and memory of the mock homeserver.
#
#   mock/bench/bench.sh [BUILD_DIR]        (default: build/)
#
# 1. Starts the mock on port 0, registers a user (POST /register, m.login.dummy),
#    runs wrk against GET /_matrix/client/v3/devices with that user's token while
#    sampling the mock's VmRSS, and prints requests/s, p99 latency and max RSS.
# 2. Starts a second mock seeded (--seed) with a user who has 10,000 devices and
#    times GET /devices for that user.
#
# Environment: MOCK_BIN (the binary), BENCH_SECONDS (wrk duration, default 10),
# BENCH_DEVICES (devices of the big user, default 10000).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
bin=${MOCK_BIN:-$build/mock/mock-homeserver}
seconds=${BENCH_SECONDS:-10}
n_devices=${BENCH_DEVICES:-10000}

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
    local name=$1 fifo fd line
    shift
    fifo=$tmp/$name.stdout
    mkfifo "$fifo"
    "$bin" --listen 127.0.0.1:0 "$@" >"$fifo" &
    mock_pid=$!
    pids+=("$mock_pid")
    exec {fd}<"$fifo"
    if ! read -r -t 10 -u "$fd" line; then
        die "$name: the mock printed no listening line within 10 s"
    fi
    case "$line" in
        "listening on http://"*) mock_url=${line#listening on } ;;
        *) die "$name: unexpected first line: $line" ;;
    esac
    # Keep reading its stdout so that later output can never block it.
    cat <&"$fd" >/dev/null &
    pids+=("$!")
    exec {fd}<&-
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

rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# ---- 1. throughput of GET /devices for an ordinary user ----

start_mock plain
token=$(register "$mock_url" "bench_$$" "bench-password-$$")
devices_url="$mock_url/_matrix/client/v3/devices"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$devices_url")
[ "$status" = 200 ] || die "GET /devices answered $status before the load"

echo "mock $mock_url (pid $mock_pid), RSS at start: $(rss_kib "$mock_pid") KiB"
wrk -t2 -c32 -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "$devices_url" >"$tmp/wrk.out" &
wrk_pid=$!
pids+=("$wrk_pid")
max_rss=0
# Sample memory while wrk runs; the loop ends with wrk (bounded by its -d).
while kill -0 "$wrk_pid" 2>/dev/null; do
    r=$(rss_kib "$mock_pid")
    [ "$r" -gt "$max_rss" ] && max_rss=$r
    sleep 0.2
done
wait "$wrk_pid" || die "wrk failed: $(cat "$tmp/wrk.out")"

rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$tmp/wrk.out")
errors=$(awk '/Socket errors:/ {print}' "$tmp/wrk.out")
echo "GET /devices, wrk -t2 -c32 -d${seconds}s:"
echo "  requests/s: $rps"
echo "  p99 latency: $p99"
echo "  max RSS during load: $max_rss KiB (after: $(rss_kib "$mock_pid") KiB)"
[ -n "$non2xx" ] && echo "  non-2xx responses: $non2xx"
[ -n "$errors" ] && echo "  $errors"

# ---- 2. GET /devices for a user with many devices ----

seed=$tmp/seed.json
big_token="bench_big_user_token_$$"
jq -n --argjson n "$n_devices" --arg t "$big_token" '
    {users: [{user_id: "bench_big", password: "bench-big-password",
              devices: ([range($n) | {device_id: "DEV\(.)", display_name: "device \(.)",
                                      last_seen_ip: "127.0.0.1",
                                      last_seen_ts: 1700000000000}]
                        | .[0].access_token = $t)}]}' >"$seed"
start_mock big --seed "$seed"
echo "mock $mock_url (pid $mock_pid) seeded with $n_devices devices," \
    "RSS: $(rss_kib "$mock_pid") KiB"
times=()
for i in $(seq 1 20); do
    out=$(curl -s -o "$tmp/big.json" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $big_token" "$mock_url/_matrix/client/v3/devices")
    [ "${out%% *}" = 200 ] || die "GET /devices for the big user answered ${out%% *}"
    times+=("${out#* }")
done
count=$(jq '.devices | length' "$tmp/big.json")
[ "$count" = "$n_devices" ] || die "listed $count devices, expected $n_devices"
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n_devices" -v bytes="$(stat -c %s "$tmp/big.json")" '
    { t[NR] = $1 * 1000 }
    END { printf "GET /devices with %d devices (%d bytes), 20 runs: min %.1f ms, median %.1f ms, max %.1f ms\n",
                 n, bytes, t[1], t[int((NR + 1) / 2)], t[NR] }'
echo "  RSS after: $(rss_kib "$mock_pid") KiB"
