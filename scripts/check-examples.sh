#!/usr/bin/env bash
# Checks the examples of a matrix-spec checkout against the spec's own
# schemas (build/suite/tools/check-examples), and optionally replays the
# response examples against the bundled mock seeded with the examples' data.
# Builds nothing.
#
#   scripts/check-examples.sh [BUILD_DIR] --spec-dir DIR [--with-mock]
#                             [--mock-version V] [--mock-deviate NAME]...
#                             [--report-dir DIR]
#
#   BUILD_DIR         default: $MXDEV_BUILD_DIR, else build/
#   --spec-dir DIR    data/api/client-server folder of a matrix-spec checkout
#   --with-mock       start the mock (seeded from the examples) and replay
#   --mock-version V  the mock's --spec-version (default: from a "v1.NN" in
#                     DIR, else 1.17)
#   --mock-deviate N  start the mock with a named deviation (to see a replay fail)
#   --report-dir DIR  where examples.json goes (default: reports/)
#
# Exit status: that of check-examples: 0 all valid (and replays matched),
# 1 something invalid, 2 usage, load or start-up error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"
build_dir=${MXDEV_BUILD_DIR:-$here/build}
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    build_dir=$1
    shift
fi
spec_dir=""
with_mock=0
mock_version=""
mock_args=()
report_dir=$here/reports

die() { printf 'check-examples.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --spec-dir) [ $# -ge 2 ] || die "--spec-dir needs a folder"; spec_dir=$2; shift ;;
        --spec-dir=*) spec_dir=${1#*=} ;;
        --with-mock) with_mock=1 ;;
        --mock-version) [ $# -ge 2 ] || die "--mock-version needs a value"
                        mock_version=$2; shift ;;
        --mock-version=*) mock_version=${1#*=} ;;
        --mock-deviate) [ $# -ge 2 ] || die "--mock-deviate needs a name"
                        mock_args+=(--deviate "$2"); shift ;;
        --mock-deviate=*) mock_args+=(--deviate "${1#*=}") ;;
        --report-dir) [ $# -ge 2 ] || die "--report-dir needs a folder"; report_dir=$2; shift ;;
        --report-dir=*) report_dir=${1#*=} ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1" ;;
    esac
    shift
done
[ -n "$spec_dir" ] || die "--spec-dir DIR is required"
[ -f "$spec_dir/device_management.yaml" ] ||
    die "$spec_dir has no device_management.yaml (expected a data/api/client-server folder)"

tool=$build_dir/suite/tools/check-examples
[ -x "$tool" ] || die "$tool is missing (build first)"

if [ $with_mock -eq 0 ]; then
    exec "$tool" --spec-dir "$spec_dir" --report-dir "$report_dir"
fi

mock=$build_dir/mock/mock-homeserver
[ -x "$mock" ] || die "$mock is missing (build first)"
if [ -z "$mock_version" ]; then
    case "$spec_dir" in
        *v1.1[6-9]*) mock_version=$(printf '%s\n' "$spec_dir" | grep -o 'v1\.1[6-9]' | tail -1)
                     mock_version=${mock_version#v} ;;
        *) mock_version=1.17 ;;
    esac
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mxdev-examples.XXXXXX")
mock_pid=""
cleanup() {
    if [ -n "$mock_pid" ] && kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The seed: one account whose devices are the ones the examples show.
"$tool" --spec-dir "$spec_dir" --write-seed "$work/seed.json" || exit 2

if ! listen_start "$mock" --listen 127.0.0.1:0 --spec-version "$mock_version" \
    --seed "$work/seed.json" ${mock_args[@]+"${mock_args[@]}"} 2>"$work/mock.stderr"; then
    cat "$work/mock.stderr" >&2
    die "the mock did not start: $listen_error"
fi
mock_pid=$listen_pid mock_url=$listen_url

status=0
"$tool" --spec-dir "$spec_dir" --report-dir "$report_dir" --mock "$mock_url" || status=$?
exit $status
