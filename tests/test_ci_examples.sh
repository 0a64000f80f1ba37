#!/usr/bin/env bash
# The CI examples a homeserver project copies (examples/ci/): both YAML files
# parse and have the steps a job needs; their shell steps, taken out of the
# YAML (tests/ci_extract.py), run here as the CI system would run them,
# against the bundled mock: green against the clean mock, with the reports
# published; red (exit 1) against a mock with a deviation, with the summary
# and the reports still published.
#
# Not run here: the "install" step (it clones a release tag and installs the
# .deb with apt; tests/test_package.sh checks the package): the build's
# programs are put on PATH instead. The registration the steps pass is the
# checkout's fixtures/appservice.yaml, because the package path does not exist
# here.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

need_tool curl curl
py=""
for p in python3 /usr/bin/python3; do
    "$p" -c 'import yaml' 2>/dev/null && { py=$p; break; }
done
if [ -z "$py" ]; then
    need_tool /usr/bin/python3 python3
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: python3-yaml missing (apt-get install python3-yaml)"; exit 77; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml >/dev/null 2>&1 ||
        { echo "SKIP: could not install python3-yaml"; exit 77; }
    py=/usr/bin/python3
    "$py" -c 'import yaml' || { echo "SKIP: python3-yaml does not import"; exit 77; }
fi

examples=$MXDEV_SOURCE_DIR/examples/ci
mkdir "$work/bin"
ln -s "$SUITE" "$MOCK" "$MXDEV_BUILD_DIR/suite/tools/device-conformance-compare" "$work/bin/"

# The job runner: runs the extracted steps of one file in a fresh folder, in
# its own session so that whatever a step leaves running (the homeserver) is
# stopped with the session afterwards.
cat >"$work/job.sh" <<'EOF'
# job.sh KIND STEPDIR JOBDIR SKIP...: exit status of the job; step statuses in
# JOBDIR/.status ("NAME STATUS" lines). Steps named in SKIP are not run.
kind=$1 steps=$2 dir=$3
shift 3
skip=" $* "
cd "$dir" || exit 90
source "$steps/env"
export MXDEV_AS_REGISTRATION=$CI_TEST_AS_REGISTRATION
export PATH=$CI_TEST_BIN:$PATH
job=0
if [ "$kind" = github ]; then
    export GITHUB_ENV=$dir/.github_env GITHUB_STEP_SUMMARY=$dir/.step_summary
    export GITHUB_OUTPUT=$dir/.github_output RUNNER_TEMP=$dir/.runner_temp
    mkdir -p "$RUNNER_TEMP"
    : >"$GITHUB_ENV"
    while read -r i name phase always; do
        [ "$phase" = run ] || continue
        case "$skip" in *" $name "*) continue ;; esac
        [ $job -eq 0 ] || [ "$always" = 1 ] || { echo "$name not-run" >>.status; continue; }
        # What earlier steps wrote to $GITHUB_ENV (NAME=VALUE lines).
        while IFS= read -r kv; do export "${kv?}"; done <"$GITHUB_ENV"
        bash --noprofile --norc -eo pipefail "$steps/$i.sh" >"$dir/.log.$name" 2>&1
        s=$?
        echo "$name $s" >>.status
        [ $s -eq 0 ] || job=$s
    done <"$steps/steps"
else
    # before_script and script share one shell; after_script gets its own.
    main=$dir/.main.sh after=$dir/.after.sh
    echo "set -eo pipefail" >"$main"
    echo "set -eo pipefail" >"$after"
    while read -r i name phase always; do
        case "$skip" in *" $name "*) continue ;; esac
        if [ "$phase" = after ]; then cat "$steps/$i.sh" >>"$after"
        else cat "$steps/$i.sh" >>"$main"; fi
    done <"$steps/steps"
    bash --noprofile --norc "$main" >"$dir/.log.main" 2>&1
    job=$?
    echo "main $job" >>.status
    bash --noprofile --norc "$after" >"$dir/.log.after" 2>&1
    echo "after $?" >>.status
fi
exit $job
EOF

# run_job KIND FILE LABEL SKIP...: runs the job; sets job_status and job_dir.
run_job() {
    local kind=$1 file=$2 label=$3
    shift 3
    local steps=$work/steps-$kind
    job_dir=$work/job-$kind-$label
    mkdir -p "$job_dir"
    CI_TEST_BIN=$work/bin CI_TEST_AS_REGISTRATION=$AS_REG \
        setsid bash "$work/job.sh" "$kind" "$steps" "$job_dir" "$@" &
    local pid=$!
    wait $pid
    job_status=$?
    kill -TERM -- -$pid 2>/dev/null # what the steps left running
    echo "$kind/$label: job exit $job_status; steps: $(tr '\n' ' ' <"$job_dir/.status")"
}

# check_outputs KIND: the reports the job publishes exist.
check_outputs() {
    local kind=$1 p
    while IFS= read -r p; do
        [ -e "$job_dir/$p" ] || fail "$kind: the job publishes $p, which is missing"
    done <"$work/steps-$kind/outputs"
    local reports
    reports=$(sed -n 's/^export MXDEV_REPORT_DIR=//p' "$work/steps-$kind/env" | tr -d "'")
    for f in junit.xml report.html summary.md results.json; do
        [ -s "$job_dir/$reports/$f" ] || fail "$kind: no $reports/$f"
    done
    grep -qxF "$reports/junit.xml" "$work/steps-$kind/outputs" ||
        fail "$kind: junit.xml is not published as test results"
    grep -qE "^$reports/?\$" "$work/steps-$kind/outputs" ||
        fail "$kind: the report folder (report.html) is not kept as an artifact"
}

for kind in github gitlab; do
    case $kind in
        github) file=$examples/github-actions.yml ;;
        gitlab) file=$examples/gitlab-ci.yml ;;
    esac
    "$py" "$MXDEV_SOURCE_DIR/tests/ci_extract.py" "$kind" "$file" "$work/steps-$kind" ||
        fail "$(basename "$file") does not have the structure the job needs"
    echo "$kind: $(wc -l <"$work/steps-$kind/steps") steps in $(basename "$file")"

    # Green: everything but the install step, as written (the shipped
    # homeserver step starts the bundled mock).
    run_job "$kind" "$file" clean install
    [ $job_status -eq 0 ] || { cat "$job_dir"/.log.*; fail "$kind: the job fails against the clean mock"; }
    check_outputs "$kind"
    if [ $kind = github ]; then
        cmp -s "$job_dir/.step_summary" "$job_dir/device-conformance-reports/summary.md" ||
            fail "github: \$GITHUB_STEP_SUMMARY is not summary.md"
        grep -q '^MATRIX_HOMESERVER=http://127.0.0.1:' "$job_dir/.github_env" ||
            fail "github: the homeserver step did not pass MATRIX_HOMESERVER on"
    else
        grep -qF "$(head -1 "$job_dir/device-conformance-reports/summary.md")" \
            "$job_dir/.log.after" || fail "gitlab: summary.md is not in the job log"
    fi

    # Red: the homeserver step replaced by a mock that breaks ASC-CREATE.
    start_server url "$MOCK" --appservice "$AS_REG" --deviate as-create-200
    MATRIX_HOMESERVER=$url run_job "$kind" "$file" deviating install homeserver
    kill -TERM "${server_pids[-1]}" && wait "${server_pids[-1]}" 2>/dev/null
    [ $job_status -eq 1 ] || { cat "$job_dir"/.log.*; fail "$kind: job exit $job_status against a deviating mock, expected 1"; }
    check_outputs "$kind"
    grep -q 'NOT CONFORMANT' "$job_dir/device-conformance-reports/summary.md" ||
        fail "$kind: the summary of the failing run does not say NOT CONFORMANT"
    if [ $kind = github ]; then
        grep -qx 'suite 1' "$job_dir/.status" || fail "github: the suite step did not exit 1"
        grep -qx 'summary 0' "$job_dir/.status" || fail "github: the summary step did not run"
        grep -q 'NOT CONFORMANT' "$job_dir/.step_summary" ||
            fail "github: the failing run's summary is not the job summary"
        grep -q '^::error title=ASC-CREATE asc/ASC_CREATE::' "$job_dir/.log.suite" ||
            fail "github: the failure is not a workflow annotation (--github)"
    else
        grep -q 'ASC-CREATE' "$job_dir/.log.after" ||
            fail "gitlab: the failing run's summary is not in the job log"
    fi
done
echo "both CI examples: green against the clean mock, red (exit 1) against as-create-200"
