#!/usr/bin/env bash
# Every shell script of the project is clean under shellcheck (warnings and
# errors; sourced files followed). Skips (77) when shellcheck cannot be had.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
need_tool shellcheck shellcheck
cd "$MXDEV_SOURCE_DIR" || fail "no source folder"
mapfile -t scripts < <(git ls-files '*.sh' 2>/dev/null || find . -name '*.sh' -not -path './build*')
scripts+=(.ci/run)
shellcheck -x -S warning "${scripts[@]}" || fail "shellcheck found problems (above)"
echo "shellcheck: ${#scripts[@]} scripts clean"
