#!/usr/bin/env bash
# Mixed load on the mock: 64 clients for 60 s (login, list, rename, AS create,
# AS delete), every answer checked, and the mock's resident memory sampled
# after a warm-up and at the end, which must be flat (no growth per request).
#
#   mock/bench/load.sh [BUILD_DIR] [--clients N] [--seconds S]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
shift || true
clients=64 seconds=60
while [ $# -gt 0 ]; do
    case "$1" in
        --clients) clients=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        *) echo "usage: $0 [BUILD_DIR] [--clients N] [--seconds S]" >&2; exit 2 ;;
    esac
    shift
done
as_token=$(sed -n 's/^as_token: *//p' "$here/fixtures/appservice.yaml")

fifo=$(mktemp -u) && mkfifo "$fifo"
"$build/mock/mock-homeserver" --appservice "$here/fixtures/appservice.yaml" >"$fifo" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$fifo"' EXIT
read -r -t 10 line <"$fifo"
url=${line#listening on }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

echo "mock $url (pid $pid), RSS at start: $(rss) KiB"
"$build/tests/mixed-load" "$url" "$as_token" _mxdevconf_load --clients "$clients" --seconds 10
after_warmup=$(rss)
echo "RSS after a 10 s warm-up: $after_warmup KiB"
"$build/tests/mixed-load" "$url" "$as_token" _mxdevconf_load2 --clients "$clients" --seconds "$seconds"
status=$?
at_end=$(rss)
echo "RSS after ${seconds} s more: $at_end KiB (growth $(( at_end - after_warmup )) KiB)"
# The second run registers its own users (a few KiB); anything per request
# would show as megabytes.
if [ $(( at_end - after_warmup )) -gt 2048 ]; then
    echo "load: resident memory grew by more than 2 MiB under load" >&2
    exit 1
fi
exit $status
