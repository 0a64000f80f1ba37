#!/usr/bin/env bash
# The man pages say what the programs do: for each program, the options its
# --help lists and the options the OPTIONS section of its man page lists are
# the same set (any difference, in either direction, is named); every verdict
# of fixtures/report-schema.json is explained in device-conformance(1); the
# pages render without groff warnings.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

man_dir=$MXDEV_SOURCE_DIR/man
status=0
for prog in "$SUITE" "$MOCK" "$MXDEV_BUILD_DIR/suite/tools/device-conformance-compare"; do
    name=$(basename "$prog")
    page=$man_dir/$name.1
    [ -f "$page" ] || { echo "no man page $page for $name"; status=1; continue; }
    "$prog" --help >"$work/$name.help" 2>&1 || fail "$name --help exited $?"
    python3 - "$work/$name.help" "$page" "$name" <<'EOF' || status=1
import re, sys

help_path, page_path, name = sys.argv[1:]

# --help: an option line starts with "-"; its option column ends at the first
# run of two spaces (e.g. "  -h, --help    this text", "  --rate-limit[=N]  ...").
in_help = set()
for line in open(help_path):
    text = line.strip()
    if not text.startswith("-"):
        continue
    column = re.split(r"\s{2,}", text)[0]
    in_help.update(re.findall(r"--([a-z][a-z0-9-]*)", column))

# man page: the line after each .TP in the OPTIONS section names the option(s).
in_page = set()
section = None
after_tp = False
for line in open(page_path):
    if line.startswith(".SH"):
        section = line[3:].strip().strip('"')
        continue
    if section != "OPTIONS":
        continue
    if line.startswith(".TP"):
        after_tp = True
        continue
    if after_tp:
        in_page.update(re.findall(r"\\-\\-([a-z][a-z0-9-]*)", line))
        after_tp = False

if not in_help:
    sys.exit(f"{name}: no options found in --help")
missing_in_page = sorted(in_help - in_page)
missing_in_help = sorted(in_page - in_help)
for opt in missing_in_page:
    print(f"{name}: --{opt} is in --help but not in the man page ({page_path})")
for opt in missing_in_help:
    print(f"{name}: --{opt} is in the man page but not in --help (the program does not accept it)")
if missing_in_page or missing_in_help:
    sys.exit(1)
print(f"{name}: {len(in_help)} options, man page and --help agree")
EOF
done

# Every verdict the report schema allows is explained in VERDICTS.
verdicts=$(json_get "$FIXTURES/report-schema.json" \
    '" ".join(d["$defs"]["check"]["properties"]["verdict"]["enum"])')
section=$(sed -n '/^\.SH VERDICTS/,/^\.SH /p' "$man_dir/device-conformance.1")
for v in $verdicts; do
    grep -qxF ".B $v" <<<"$section" ||
        { echo "device-conformance.1: verdict '$v' (report-schema.json) not in VERDICTS"; status=1; }
done

if command -v groff >/dev/null 2>&1; then
    for page in "$man_dir"/*.1; do
        warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1)
        [ -z "$warnings" ] || { echo "$(basename "$page"): groff: $warnings"; status=1; }
    done
else
    echo "groff missing: rendering not checked"
fi
[ $status -eq 0 ] || fail "man pages and programs disagree (see above)"
