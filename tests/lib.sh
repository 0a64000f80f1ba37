# shellcheck shell=bash
# Shared by the integration tests (sourced). Needs MXDEV_BUILD_DIR and
# MXDEV_SOURCE_DIR, which ctest sets.
set -u
: "${MXDEV_BUILD_DIR:?run through ctest (MXDEV_BUILD_DIR unset)}"
: "${MXDEV_SOURCE_DIR:?run through ctest (MXDEV_SOURCE_DIR unset)}"
# Used by the tests that source this file.
# shellcheck disable=SC2034
MOCK=$MXDEV_BUILD_DIR/mock/mock-homeserver
# shellcheck disable=SC2034
SUITE=$MXDEV_BUILD_DIR/suite/device-conformance
FIXTURES=$MXDEV_SOURCE_DIR/fixtures
# shellcheck disable=SC2034
AS_REG=$FIXTURES/appservice.yaml
# The names the tests have start_server assign their servers' URLs to.
# shellcheck disable=SC2034
url="" furl=""

work=$(mktemp -d "${TMPDIR:-/tmp}/mxdev-test.XXXXXX")
server_pids=()
cleanup() {
    local p
    for p in "${server_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# shellcheck source=scripts/listen.sh
source "$MXDEV_SOURCE_DIR/scripts/listen.sh"

# start_server VAR PROGRAM ARGS...: starts a server that prints
# "listening on URL" first, and stores URL in VAR. Reading that line is the
# wait for readiness (bounded by 10 s).
start_server() {
    local var=$1
    shift
    listen_start "$@" || fail "$listen_error"
    server_pids+=("$listen_pid")
    printf -v "$var" '%s' "$listen_url"
}

# json_get FILE EXPR: evaluates a Python expression over the parsed JSON `d`.
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# need_tool COMMAND DEBIAN-PACKAGE: makes COMMAND available, installing the
# package with apt-get when root; exits 77 (skip) with the reason otherwise.
need_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: $1 missing (apt-get install $2, as root)"
        exit 77
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 ||
        { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1; } ||
        { echo "SKIP: could not install $2"; exit 77; }
    command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $2 has no $1"; exit 77; }
}
