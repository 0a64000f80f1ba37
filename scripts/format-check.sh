#!/usr/bin/env bash
# Checks that every tracked .c/.h file is formatted as .clang-format says.
# Exit 0 clean, 1 with the offending diffs printed, 77 when clang-format is missing.
set -u
cd "$(dirname "$0")/.." || exit 2
command -v clang-format >/dev/null || { echo "clang-format not found: format check skipped"; exit 77; }
status=0
while IFS= read -r -d '' f; do
    if ! diff -u "$f" <(clang-format --style=file "$f") >/tmp/mxdev-format.$$ 2>&1; then
        echo "format: $f differs from clang-format:"
        head -40 /tmp/mxdev-format.$$
        status=1
    fi
done < <(git ls-files -z -- '*.c' '*.h')
rm -f /tmp/mxdev-format.$$
[ $status -eq 0 ] && echo "format: all tracked C files are clang-format clean"
exit $status
