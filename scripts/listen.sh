# shellcheck shell=bash
# Sourced, not run: the one way the scripts and tests start a server that
# binds a kernel-chosen port (the mock, the test servers) and learn its URL.
#
# listen_start [-t SECONDS] PROGRAM ARGS...
#   Starts PROGRAM ARGS in the background with its stdout on a fifo. Its
#   first line must be "listening on URL"; reading that line is the wait for
#   readiness, bounded by SECONDS (default 10). The rest of its stdout is
#   then drained, so that the server never blocks writing it. Sets
#   listen_pid (the server) and listen_url, and returns 0; or returns 1 with
#   listen_error set, the server stopped. The server's stderr is the call's:
#   `listen_start ... 2>FILE` keeps it in FILE.
# The variables it sets are its callers' to read.
# shellcheck disable=SC2034
listen_start() {
    local timeout=10 fifo line fd
    if [ "${1-}" = -t ]; then
        timeout=$2
        shift 2
    fi
    listen_pid="" listen_url="" listen_error=""
    if ! fifo=$(mktemp -u "${TMPDIR:-/tmp}/mxdev-listen.XXXXXX") || ! mkfifo "$fifo"; then
        listen_error="cannot make a fifo for the output of $1"
        return 1
    fi
    "$@" >"$fifo" &
    listen_pid=$!
    exec {fd}<"$fifo"
    rm -f "$fifo"
    if ! read -r -t "$timeout" -u "$fd" line; then
        listen_error="$1 printed no 'listening on' line within $timeout s"
    else
        case "$line" in
            "listening on "*) listen_url=${line#listening on } ;;
            *) listen_error="unexpected first line from $1: $line" ;;
        esac
    fi
    if [ -z "$listen_error" ]; then
        cat <&"$fd" >/dev/null &
        exec {fd}<&-
        return 0
    fi
    exec {fd}<&-
    kill -TERM "$listen_pid" 2>/dev/null || true
    wait "$listen_pid" 2>/dev/null || true
    return 1
}
