#!/usr/bin/env bash
# The catch matrix: the suite against the mock with each named deviation in
# turn. Every deviation must make the run fail (under --strict) with a check
# of one of its mapped requirement IDs among the failures. Writes
# deviations.json and deviations.md into MXDEV_MATRIX_DIR (default:
# <source>/reports).
source "$(dirname "$0")/lib.sh"
out_dir=${MXDEV_MATRIX_DIR:-$MXDEV_SOURCE_DIR/reports}
mkdir -p "$out_dir"
"$MOCK" --list-deviations >"$work/deviations.tsv" || fail "mock --list-deviations failed"
total=$(grep -c . "$work/deviations.tsv")
[ "$total" -gt 0 ] || fail "the mock lists no deviations"

# One run per deviation; runs in parallel, each with its own mock and port.
run_one() {
    local name=$1 ids=$2 version=$3 dir=$work/run.$1 url fifo line pid status
    mkdir -p "$dir"
    fifo=$dir/fifo && mkfifo "$fifo"
    "$MOCK" --appservice "$AS_REG" --spec-version "$version" --deviate "$name" >"$fifo" 2>"$dir/mock.err" &
    pid=$!
    if ! read -r -t 10 line <"$fifo"; then
        echo "$name	error	mock did not start"; kill "$pid" 2>/dev/null; return
    fi
    url=${line#listening on }
    timeout 300 "$SUITE" --homeserver "$url" --as-registration "$AS_REG" --strict \
        --spec-version "$version" \
        --report-dir "$dir/reports" >"$dir/suite.log" 2>&1
    status=$?
    kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    # Which mapped IDs failed (fail or warn), and every failing ID.
    python3 - "$dir/reports/results.json" "$name" "$ids" "$status" <<'PY'
import json, sys
path, name, ids, status = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
try:
    checks = json.load(open(path))["checks"]
except Exception as e:
    print(f"{name}\terror\tno results.json ({e}); suite exit {status}")
    sys.exit(0)
bad = [c for c in checks if c["verdict"] in ("fail", "warn")]
caught = sorted({c["test"] for c in bad if c["id"] in ids})
others = sorted({c["id"] for c in bad if c["id"] not in ids})
verdict = "caught" if caught and status == 1 else "missed"
print(f"{name}\t{verdict}\t{status}\t{','.join(ids)}\t{' '.join(caught)}\t{' '.join(others)}")
PY
}
export -f run_one
export MOCK SUITE AS_REG work
# A deviation runs at the spec version where its rules apply: 1.17 unless
# every requirement it breaks starts later (1.20) or ended earlier (1.16).
awk -F'\t' 'NR == FNR { if ($1 !~ /^#/) { since[$1] = $4; until[$1] = $5 }; next }
    { n = split($2, ids, ","); v = "1.17"; late = 1; early = 1
      for (i = 1; i <= n; i++) {
          if (since[ids[i]] != "1.20") late = 0
          if (until[ids[i]] != "1.16") early = 0
      }
      if (late) v = "1.20"; else if (early) v = "1.16"
      print $1 "\t" $2 "\t" v }' "$FIXTURES/requirements.tsv" "$work/deviations.tsv" |
    xargs -P "$(nproc)" -L1 bash -c 'run_one "$0" "$1" "$2"' >"$work/matrix.tsv"

python3 - "$work/matrix.tsv" "$work/deviations.tsv" "$out_dir" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
desc = {l.split("\t")[0]: l.rstrip("\n").split("\t")[2] if l.count("\t") >= 2 else ""
        for l in open(sys.argv[2]) if l.strip()}
out = []
for r in sorted(rows):
    r += [""] * (6 - len(r))
    out.append({"deviation": r[0], "result": r[1], "suite_exit": r[2], "requirements": r[3].split(","),
                "caught_by": r[4].split(), "also_failed": r[5].split(), "what": desc.get(r[0], "")})
caught = sum(1 for o in out if o["result"] == "caught")
json.dump({"caught": caught, "total": len(out), "deviations": out},
          open(sys.argv[3] + "/deviations.json", "w"), indent=2)
with open(sys.argv[3] + "/deviations.md", "w") as f:
    f.write(f"**{caught} of {len(out)} deviations caught**\n\n")
    f.write("| deviation | breaks | caught by | result |\n|---|---|---|---|\n")
    for o in out:
        f.write(f"| `{o['deviation']}` | {', '.join(o['requirements'])} | "
                f"{'<br>'.join(o['caught_by']) or '—'} | {o['result']} |\n")
print(f"deviation matrix: {caught} of {len(out)} deviations caught")
for o in out:
    if o["result"] != "caught":
        print(f"  NOT CAUGHT: {o['deviation']} (breaks {', '.join(o['requirements'])}); "
              f"suite exit {o['suite_exit']}; other failures: {' '.join(o['also_failed']) or 'none'}")
sys.exit(0 if caught == len(out) else 1)
PY
