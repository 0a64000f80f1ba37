#!/usr/bin/env bash
# Runs the suite at every supported spec version against the mock at every
# version and prints the grid (rows: suite version, columns: mock version).
#
#   scripts/version-matrix.sh [BUILD_DIR] [--report-dir DIR] [--jobs N]
#
#   BUILD_DIR         default: $MXDEV_BUILD_DIR, else build/
#   --report-dir DIR  where version-matrix.md and .json go (default:
#                     $MXDEV_REPORT_DIR, else reports/)
#   --jobs N          cells run at once (default: $MXDEV_MATRIX_JOBS, else
#                     the number of CPUs)
#
# Each cell gets a fresh mock (--spec-version M, the bundled appservice
# registration, port 0) and one suite run (--spec-version S); cells share
# nothing, so they run in parallel. A cell is PASS when the suite exits 0,
# FAIL(<requirement IDs>) when it reports failures, ERROR(exit N) when it
# could not run.
#
# Exit status: 0 when every diagonal cell (suite version = mock version)
# passes, 1 otherwise, 2 when the binaries are missing or on a usage error.
# Off-diagonal failures are expected: e.g. the 1.17 suite fails ASC-* and
# ASD-* against a 1.16 mock, which predates device management for
# application services.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"
usage_error() { echo "version-matrix: $*" >&2; exit 2; }
build_arg=""
report_dir=${MXDEV_REPORT_DIR:-$here/reports}
jobs=${MXDEV_MATRIX_JOBS:-$(nproc 2>/dev/null || echo 1)}
while [ $# -gt 0 ]; do
    case "$1" in
        --report-dir) [ $# -ge 2 ] || usage_error "--report-dir needs a folder"
                      report_dir=$2; shift ;;
        --report-dir=*) report_dir=${1#*=} ;;
        --jobs|-j) [ $# -ge 2 ] || usage_error "--jobs needs a number"; jobs=$2; shift ;;
        --jobs=*) jobs=${1#*=} ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
                   exit 0 ;;
        -*) usage_error "unknown option: $1" ;;
        *) [ -z "$build_arg" ] || usage_error "one build folder only: $1"; build_arg=$1 ;;
    esac
    shift
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs wants a positive number, not $jobs"
build_dir=${build_arg:-${MXDEV_BUILD_DIR:-$here/build}}
build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || {
    echo "version-matrix: no build directory ${build_arg:-${MXDEV_BUILD_DIR:-$here/build}}" >&2
    exit 2
}
mock=$build_dir/mock/mock-homeserver
suite=$build_dir/suite/device-conformance
registration=$here/fixtures/appservice.yaml
versions=(1.16 1.17 1.18 1.19 1.20)
# Bounds: how long the mock may take to print its port, and one suite run.
start_timeout_s=10
run_timeout_s=${MXDEV_MATRIX_RUN_TIMEOUT:-300}

for bin in "$mock" "$suite"; do
    [ -x "$bin" ] || { echo "version-matrix: $bin is missing (build first)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "version-matrix: needs python3" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mxdev-matrix.XXXXXX")
cell_pids=()
cleanup() {
    local p
    for p in ${cell_pids[@]+"${cell_pids[@]}"}; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in ${cell_pids[@]+"${cell_pids[@]}"}; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One cell, in its own subshell: its mock, its suite run, and one line of
# JSON in $work/cell-S-M.json. A signal stops both processes at once.
run_cell() {
    local s=$1 m=$2 out=$work/run-$1-$2
    local mock_url="" status=0 results=null
    # Not local: the EXIT trap runs after this function has returned.
    mock_pid=""
    suite_pid=""
    stop_cell() {
        [ -z "$suite_pid" ] || kill -TERM "$suite_pid" 2>/dev/null || true
        if [ -n "$mock_pid" ] && kill -0 "$mock_pid" 2>/dev/null; then
            kill -TERM "$mock_pid" 2>/dev/null || true
            wait "$mock_pid" 2>/dev/null || true
        fi
        suite_pid=""
        mock_pid=""
    }
    trap 'stop_cell; exit 143' TERM INT
    trap stop_cell EXIT
    mkdir -p "$out"
    if ! listen_start -t "$start_timeout_s" "$mock" --listen 127.0.0.1:0 --spec-version "$m" \
        --appservice "$registration" 2>"$out/mock.stderr"; then
        printf '{"suite":"%s","mock":"%s","exit":-1,"results":null,"note":"mock did not start"}\n' \
            "$s" "$m" >"$work/cell-$s-$m.json"
        echo "suite $s x mock $m: the mock did not start: $listen_error" >&2
        return 0
    fi
    mock_pid=$listen_pid mock_url=$listen_url
    # A runner that aborted (SIGABRT, exit 134; seen about once in a few
    # hundred runs on a loaded machine, cause not found) is run once more,
    # and the note says so.
    local attempt
    for attempt in 1 2; do
        status=0
        timeout "$run_timeout_s" "$suite" --spec-version "$s" --report-dir "$out" \
            --homeserver "$mock_url" --as-registration "$registration" \
            >"$out/stdout.txt" 2>"$out/stderr.txt" &
        suite_pid=$!
        wait "$suite_pid" || status=$?
        suite_pid=""
        [ $status -eq 134 ] && [ $attempt -eq 1 ] || break
        echo "suite $s x mock $m: the suite aborted (exit 134): $(tail -n 2 "$out/stderr.txt" | tr '\n' ' '); running it once more" >&2
    done
    stop_cell
    [ -f "$out/results.json" ] && results=\"$out/results.json\"
    printf '{"suite":"%s","mock":"%s","exit":%d,"results":%s,"stderr":"%s"}\n' \
        "$s" "$m" "$status" "$results" "$out/stderr.txt" >"$work/cell-$s-$m.json"
    echo "suite $s x mock $m: exit $status" >&2
}

t0=$(date +%s)
for s in "${versions[@]}"; do
    for m in "${versions[@]}"; do
        # At most $jobs cells at once.
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
            wait -n || true
        done
        (run_cell "$s" "$m") &
        cell_pids+=($!)
    done
done
for p in "${cell_pids[@]}"; do
    wait "$p" || true
done
cell_pids=()
cells=$work/cells.jsonl
: >"$cells"
for s in "${versions[@]}"; do
    for m in "${versions[@]}"; do
        if [ -f "$work/cell-$s-$m.json" ]; then
            cat "$work/cell-$s-$m.json" >>"$cells"
        else
            printf '{"suite":"%s","mock":"%s","exit":-1,"results":null,"note":"the cell did not finish"}\n' \
                "$s" "$m" >>"$cells"
        fi
    done
done
echo "version-matrix: ${#versions[@]}x${#versions[@]} cells, $jobs at once, $(($(date +%s) - t0)) s" >&2

mkdir -p "$report_dir"
python3 - "$cells" "$report_dir" <<'PY'
import json, sys

cells_file, report_dir = sys.argv[1], sys.argv[2]
versions = ["1.16", "1.17", "1.18", "1.19", "1.20"]
grid = {}
for line in open(cells_file):
    c = json.loads(line)
    failing, totals = [], None
    if c["results"]:
        try:
            r = json.load(open(c["results"]))
            totals = r.get("totals")
            for chk in r.get("checks", []):
                # Verdicts that make a run fail without --strict.
                if chk.get("verdict") in ("fail", "xpass"):
                    rid = chk.get("id") or chk.get("test")
                    if rid not in failing:
                        failing.append(rid)
        except (OSError, ValueError) as e:
            c["note"] = "unreadable results.json: %s" % e
    code = c["exit"]
    if code == 0 and not failing:
        verdict, text = "pass", "PASS"
    elif code == 1 or (code == 0 and failing):
        verdict, text = "fail", "FAIL(%s)" % ",".join(sorted(failing))
    else:
        verdict = "error"
        text = "ERROR(%s)" % (c.get("note") or "exit %d" % code)
    entry = {
        "suite_version": c["suite"], "mock_version": c["mock"], "exit_status": code,
        "verdict": verdict, "failing_ids": sorted(failing), "totals": totals,
        "text": text,
    }
    if verdict == "error" and c.get("stderr"):
        # The run's own words on why it could not finish (it is deleted after).
        try:
            entry["stderr_tail"] = open(c["stderr"], errors="replace").read().splitlines()[-5:]
        except OSError:
            pass
    grid[(c["suite"], c["mock"])] = entry

def cell(s, m):
    return grid.get((s, m), {"text": "n/a"})["text"]

def short(s, m):
    g = grid.get((s, m))
    if g and g["verdict"] == "fail":
        return "FAIL(%d)" % len(g["failing_ids"])
    return cell(s, m)

# Terminal grid: counts in the cells, the failing IDs listed below it.
width = max([len(short(s, m)) for s in versions for m in versions] + [6])
print("suite \\ mock".ljust(13) + " ".join(m.ljust(width) for m in versions))
for s in versions:
    print(("suite " + s).ljust(13) + " ".join(short(s, m).ljust(width) for m in versions))
for s in versions:
    for m in versions:
        if short(s, m) != cell(s, m):
            print("  suite %s x mock %s: %s" % (s, m, cell(s, m)))

# Markdown.
md = ["# Version matrix", "",
      "Rows: the suite's `--spec-version`; columns: the mock's `--spec-version`.",
      "PASS = the suite exited 0; FAIL lists the requirement IDs that failed.", "",
      "| suite \\ mock | " + " | ".join(versions) + " |",
      "|---|" + "---|" * len(versions)]
for s in versions:
    md.append("| **%s** | %s |" % (s, " | ".join(cell(s, m) for m in versions)))
open(report_dir + "/version-matrix.md", "w").write("\n".join(md) + "\n")

diagonal_ok = all(grid.get((v, v), {}).get("verdict") == "pass" for v in versions)
doc = {"tool": "version-matrix", "versions": versions, "diagonal_pass": diagonal_ok,
       "cells": [grid[k] for k in sorted(grid)]}
for c in doc["cells"]:
    del c["text"]
json.dump(doc, open(report_dir + "/version-matrix.json", "w"), indent=2)
print("diagonal: %s; wrote %s/version-matrix.md and .json"
      % ("all PASS" if diagonal_ok else "NOT all PASS", report_dir))
sys.exit(0 if diagonal_ok else 1)
PY
