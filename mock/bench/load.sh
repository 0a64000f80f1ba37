#!/usr/bin/env bash
# Mixed load on the mock: 64 clients for 60 s (login, list, rename, AS create,
# AS delete), every answer checked (failed or malformed answers make it exit
# 1), and the mock's resident memory sampled after a warm-up, during the load
# and at the end, which must be flat (no growth per request).
#
#   mock/bench/load.sh [BUILD_DIR] [--clients N] [--seconds S]
#
# BUILD_DIR (default build/) must hold mock/mock-homeserver and
# tests/mixed-load (target mixed-load).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"
build=$here/build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    build=$1
    shift
fi
clients=64 seconds=60
while [ $# -gt 0 ]; do
    case "$1" in
        --clients) clients=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        *) echo "usage: $0 [BUILD_DIR] [--clients N] [--seconds S]" >&2; exit 2 ;;
    esac
    shift
done
for f in "$build/mock/mock-homeserver" "$build/tests/mixed-load"; do
    [ -x "$f" ] || { echo "load.sh: $f is missing (cmake --build $build)" >&2; exit 2; }
done
as_token=$(sed -n 's/^as_token: *//p' "$here/fixtures/appservice.yaml")

listen_start "$build/mock/mock-homeserver" --appservice "$here/fixtures/appservice.yaml" ||
    { echo "load.sh: the mock did not start: $listen_error" >&2; exit 2; }
pid=$listen_pid url=$listen_url
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

echo "mock $url (pid $pid), RSS at start: $(rss) KiB"
warmup=0
"$build/tests/mixed-load" "$url" "$as_token" _mxdevconf_load --clients "$clients" \
    --seconds 10 || warmup=$?
after_warmup=$(rss)
echo "RSS after a 10 s warm-up: $after_warmup KiB"

"$build/tests/mixed-load" "$url" "$as_token" _mxdevconf_load2 --clients "$clients" \
    --seconds "$seconds" &
load_pid=$!
max_rss=$after_warmup
# Sample memory while the load runs; the loop ends with it (bounded by --seconds).
while kill -0 "$load_pid" 2>/dev/null; do
    r=$(rss)
    [ "$r" -gt "$max_rss" ] && max_rss=$r
    sleep 0.5
done
status=0
wait "$load_pid" || status=$?
at_end=$(rss)
echo "RSS during ${seconds} s of load: max $max_rss KiB;" \
    "at the end: $at_end KiB (growth since the warm-up $((at_end - after_warmup)) KiB)"
# The second run registers its own users (a few KiB); anything per request
# would show as megabytes.
if [ $((at_end - after_warmup)) -gt 2048 ]; then
    echo "load: resident memory grew by more than 2 MiB under load" >&2
    exit 1
fi
[ $warmup -eq 0 ] || { echo "load: wrong answers during the warm-up" >&2; exit 1; }
exit $status
