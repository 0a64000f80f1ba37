#!/usr/bin/env bash
# The project's one entry point.
#
#   ./run-tests.sh                      the suite against the bundled mock; reports in reports/
#   ./run-tests.sh --homeserver URL     the suite against a real homeserver
#   ./run-tests.sh --self-test          the project's own tests (ctest)
#   ./run-tests.sh --help               everything else
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${MXDEV_BUILD_DIR:-$here/build}
# shellcheck source=scripts/listen.sh
source "$here/scripts/listen.sh"

# Debian packages needed to build and run the suite, and those the self-test adds.
run_pkgs=(cmake make gcc pkg-config libcurl4-openssl-dev libjansson-dev libcriterion-dev
          libmicrohttpd-dev libyaml-dev libssl-dev ca-certificates)
test_pkgs=(json-schema-test-suite clang libclang-rt-14-dev clang-format valgrind python3
           curl chromium)

usage() {
    cat <<'EOF'
Usage: ./run-tests.sh [MODE] [OPTIONS] [-- CRITERION-ARGS]

Modes (default: the suite against the bundled mock homeserver):
  --homeserver URL       run the suite against a real homeserver instead of the mock
  --self-test            run the project's own tests (unit, integration, deviation matrix)
    --with-synapse       with --self-test: also the tier against a real Synapse (sid chroot)
  --version-matrix       every suite version against the mock at every version (grid)
  --check-examples       validate the spec's examples (needs --spec-dir DIR; --report-dir)
  --package              build the Debian package (cpack -G DEB) into build/package/,
                         and check it with lintian when lintian is installed
  --help                 this text

Options for the bundled mock:
  --mock-deviate NAME    start the mock with a named deviation from the spec (repeatable;
                         list them with build/mock/mock-homeserver --list-deviations)
  --spec-version V       also sets the mock's version
Options for a suite run: every option of device-conformance (below). With the mock,
--as-registration defaults to fixtures/appservice.yaml and --report-dir to reports/.
Everything after "--" goes to criterion: --filter 'uia/*', -j2, --list.
An unknown option, or a suite-run option given to another mode, is an error (exit 2).

Exit status: 0 conformant (or self-test passed), 1 conformance failures, 2 usage or
configuration error, 3 homeserver unreachable or not speaking Matrix.
EOF
    local suite=$build_dir/suite/device-conformance
    if [ -x "$suite" ]; then
        echo
        echo "device-conformance options:"
        "$suite" --help | sed -n '/^  --/,/^$/p' | sed '$d'
    else
        echo
        echo "(device-conformance's options are listed here once it is built)"
    fi
}

die() { printf 'run-tests.sh: %s\n' "$*" >&2; exit 2; }

# Installs what is missing with apt-get when root; otherwise says what to run.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages. Install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 2
    fi
    echo "Installing Debian packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
            die "apt-get could not install: ${missing[*]}"
    fi
}

build() {
    local opts=() log
    [ -n "${MXDEV_WERROR:-}" ] && opts+=("-DMXDEV_WERROR=$MXDEV_WERROR")
    [ -n "${MXDEV_SANITIZE+set}" ] && opts+=("-DMXDEV_SANITIZE=$MXDEV_SANITIZE")
    # Configure whenever the build system is missing (a failed configure leaves
    # a CMakeCache.txt without one), and whenever the caller asks for an option.
    if { [ ! -f "$build_dir/Makefile" ] && [ ! -f "$build_dir/build.ninja" ]; } ||
        [ ${#opts[@]} -gt 0 ]; then
        cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" \
            >/dev/null || die "configure failed (cmake -S $here -B $build_dir)"
    fi
    if ! cmake --build "$build_dir" -j"$(nproc)" >/dev/null 2>&1; then
        # Once more on one job, so that the first error is the last thing shown.
        log=$(cmake --build "$build_dir" -j1 2>&1) || true
        printf '%s\n' "$log" | tail -40 >&2
        die "build failed"
    fi
}

# closest WORD NAMES...: the name nearest to WORD (edit distance, a swap of
# neighbours counting 1), when reasonably near; nothing otherwise.
closest() {
    local word=$1
    shift
    printf '%s\n' "$@" | awk -v w="$word" '
        function dist(a, b,    la, lb, i, j, c, d, x) {
            la = length(a); lb = length(b)
            for (i = 0; i <= la; i++) d[i, 0] = i
            for (j = 0; j <= lb; j++) d[0, j] = j
            for (i = 1; i <= la; i++)
                for (j = 1; j <= lb; j++) {
                    c = substr(a, i, 1) != substr(b, j, 1)
                    x = d[i-1, j] + 1
                    if (d[i, j-1] + 1 < x) x = d[i, j-1] + 1
                    if (d[i-1, j-1] + c < x) x = d[i-1, j-1] + c
                    if (i > 1 && j > 1 && substr(a, i, 1) == substr(b, j-1, 1) &&
                        substr(a, i-1, 1) == substr(b, j, 1) && d[i-2, j-2] + 1 < x)
                        x = d[i-2, j-2] + 1
                    d[i, j] = x
                }
            return d[la, lb]
        }
        { n = dist(w, $0); if (best == "" || n < bestn) { best = $0; bestn = n } }
        END {
            limit = int(length(w) / 3); if (limit < 1) limit = 1; if (limit > 3) limit = 3
            if (best != "" && bestn <= limit) print best
        }'
}

# --package: the .deb of the current build, checked by lintian when present.
build_package() {
    ensure_packages "${run_pkgs[@]}" dpkg-dev
    build
    rm -rf "$build_dir/package"
    (cd "$build_dir" && cpack -G DEB -B "$build_dir/package" >"$build_dir/cpack.log" 2>&1) ||
        { tail -20 "$build_dir/cpack.log" >&2; die "cpack -G DEB failed"; }
    local deb
    deb=$(ls "$build_dir"/package/*.deb)
    echo "package: $deb"
    dpkg-deb -f "$deb" Package Version Depends
    if command -v lintian >/dev/null; then
        lintian --fail-on error "$deb" || die "lintian reports errors in $deb"
        echo "lintian: no errors"
    else
        echo "lintian not installed: package not checked (apt-get install lintian)"
    fi
}

mock_pid=""
stop_mock() {
    if [ -n "$mock_pid" ] && kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    mock_pid=""
}

# Starts the mock on a kernel-chosen port; sets mock_url. Extra args go to the mock.
start_mock() {
    listen_start "$build_dir/mock/mock-homeserver" --listen 127.0.0.1:0 "$@" ||
        die "the mock did not start: $listen_error"
    mock_pid=$listen_pid mock_url=$listen_url
}

mode=suite
homeserver=""
with_synapse=${MXDEV_WITH_SYNAPSE:-0}
spec_version=""
spec_dir=""
suite_args=()
mock_args=()
criterion_args=()
given=()      # the options given, for the checks below
problems=()
own_options=(help self-test with-synapse version-matrix check-examples package homeserver
             spec-version spec-dir mock-deviate)
need_value() { [ $# -ge 2 ] || problems+=("$1 needs a value"); }
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --self-test) mode=self-test; given+=(--self-test) ;;
        --with-synapse) with_synapse=1; given+=(--with-synapse) ;;
        --version-matrix) mode=version-matrix; given+=(--version-matrix) ;;
        --check-examples) mode=check-examples; given+=(--check-examples) ;;
        --package) mode=package; given+=(--package) ;;
        --homeserver) need_value "$@"; homeserver=${2:-}; given+=(--homeserver); shift ;;
        --homeserver=*) homeserver=${1#*=}; given+=(--homeserver) ;;
        --spec-version) need_value "$@"; spec_version=${2:-}; given+=(--spec-version); shift ;;
        --spec-version=*) spec_version=${1#*=}; given+=(--spec-version) ;;
        --spec-dir) need_value "$@"; spec_dir=${2:-}; shift ;;
        --spec-dir=*) spec_dir=${1#*=} ;;
        --mock-deviate) need_value "$@"; mock_args+=(--deviate "${2:-}"); given+=(--mock-deviate)
                        shift ;;
        --mock-deviate=*) mock_args+=(--deviate "${1#*=}"); given+=(--mock-deviate) ;;
        --) shift; criterion_args=("$@"); break ;;
        *) suite_args+=("$1") ;;
    esac
    [ $# -gt 0 ] && shift
done

ensure_packages "${run_pkgs[@]}"
build

# The suite's own options come from the suite (its option table), so that
# run-tests.sh knows every one of them without a list of its own.
suite_names=() suite_kinds=()
while IFS=$'\t' read -r name kind; do
    suite_names+=("$name") suite_kinds+=("$kind")
done < <("$build_dir/suite/device-conformance" --list-options)
suite_kind() {
    local i
    for i in "${!suite_names[@]}"; do
        [ "${suite_names[i]}" = "$1" ] && { echo "${suite_kinds[i]}"; return 0; }
    done
    return 0
}
suite_given=()
for ((i = 0; i < ${#suite_args[@]}; i++)); do
    a=${suite_args[i]}
    case "$a" in
        --*) name=${a#--} name=${name%%=*} ;;
        *) problems+=("unexpected argument \"$a\""); continue ;;
    esac
    kind=$(suite_kind "$name")
    if [ -z "$kind" ]; then
        near=$(closest "$name" "${own_options[@]}" "${suite_names[@]}")
        problems+=("unknown option --$name${near:+ (did you mean --$near?)}")
        # "--spec-verison 1.18": the word after it is its value.
        next=${suite_args[i + 1]:-}
        [ "$a" != "--$name" ] || [ -z "$next" ] || [ "${next#-}" != "$next" ] || i=$((i + 1))
        continue
    fi
    suite_given+=("--$name")
    [ "$kind" = value ] && [ "$a" = "--$name" ] && i=$((i + 1))
done
modes=0
for a in "${given[@]}"; do
    case "$a" in --self-test|--version-matrix|--check-examples|--package) modes=$((modes + 1)) ;; esac
done
[ $modes -le 1 ] ||
    problems+=("give one mode: --self-test, --version-matrix, --check-examples or --package")
# Options of a suite run that another mode would ignore.
if [ "$mode" != suite ]; then
    for a in "${suite_given[@]}" "${given[@]}"; do
        case "$mode:$a" in
            *:--self-test|*:--version-matrix|*:--check-examples|*:--package) ;;
            self-test:--with-synapse|check-examples:--report-dir) ;;
            check-examples:--mock-deviate) ;;
            *) problems+=("$a applies to a suite run; --$mode would ignore it") ;;
        esac
    done
    [ ${#criterion_args[@]} -eq 0 ] ||
        problems+=("criterion arguments (after --) apply to a suite run; --$mode would ignore them")
    [ "$mode" = check-examples ] || [ -z "$spec_dir" ] ||
        problems+=("--spec-dir applies to a suite run or --check-examples; --$mode would ignore it")
elif [ "$with_synapse" = 1 ] && [[ " ${given[*]} " == *" --with-synapse "* ]]; then
    problems+=("--with-synapse applies to --self-test only")
fi
if [ ${#problems[@]} -gt 0 ]; then
    printf 'run-tests.sh: error: %s\n' "${problems[@]}" >&2
    echo "see ./run-tests.sh --help" >&2
    exit 2
fi

case "$mode" in
    self-test)
        ensure_packages "${test_pkgs[@]}"
        export MXDEV_WITH_SYNAPSE=$with_synapse
        cd "$build_dir"
        exec ctest --output-on-failure -j"$(nproc)"
        ;;
    package) build_package; exit 0 ;;
    version-matrix)
        ensure_packages python3
        exec bash "$here/scripts/version-matrix.sh" "$build_dir"
        ;;
    check-examples)
        [ -n "$spec_dir" ] || die "--check-examples needs --spec-dir DIR (a data/api/client-server folder)"
        # The script names the mock's deviations --mock-deviate itself.
        extra=()
        for ((i = 1; i < ${#mock_args[@]}; i += 2)); do
            extra+=(--mock-deviate "${mock_args[i]}")
        done
        exec bash "$here/scripts/check-examples.sh" "$build_dir" --spec-dir "$spec_dir" \
            --with-mock "${extra[@]}" "${suite_args[@]}"
        ;;
esac

cmd=("$build_dir/suite/device-conformance")
[ -n "$spec_version" ] && cmd+=(--spec-version "$spec_version")
[ -n "$spec_dir" ] && cmd+=(--spec-dir "$spec_dir")
# Options that only print something need no mock.
for a in "${suite_given[@]}"; do
    case "$a" in
        --list-requirements|--list-options|--version) exec "${cmd[@]}" "${suite_args[@]}" ;;
    esac
done
has_report_dir=0
for a in "${suite_args[@]}"; do
    case "$a" in --report-dir|--report-dir=*) has_report_dir=1 ;; esac
done
[ $has_report_dir -eq 1 ] || cmd+=(--report-dir "$here/reports")

if [ -n "$homeserver" ]; then
    [ ${#mock_args[@]} -eq 0 ] || die "--mock-deviate only applies to the bundled mock"
    cmd+=(--homeserver "$homeserver" "${suite_args[@]}")
else
    mkdir -p "$here/reports"
    rm -f "$here/reports/mock-requests.log" # this run's requests only
    trap stop_mock EXIT
    trap 'stop_mock; exit 130' INT
    trap 'stop_mock; exit 143' TERM
    [ -n "$spec_version" ] && mock_args+=(--spec-version "$spec_version")
    start_mock --appservice "$here/fixtures/appservice.yaml" \
        --request-log "$here/reports/mock-requests.log" "${mock_args[@]}"
    # --format json and --quiet own stdout: the mock's line goes to stderr.
    quiet=0 prev=
    for a in "${suite_args[@]}"; do
        case "$prev$a" in --quiet|--format=json|--formatjson) quiet=1 ;; esac
        prev=$a
    done
    if [ $quiet -eq 1 ]; then
        echo "mock homeserver: $mock_url (pid $mock_pid)" >&2
    else
        echo "mock homeserver: $mock_url (pid $mock_pid)"
    fi
    has_as=0
    for a in "${suite_args[@]}"; do
        case "$a" in --as-registration|--as-registration=*) has_as=1 ;; esac
    done
    [ $has_as -eq 1 ] || cmd+=(--as-registration "$here/fixtures/appservice.yaml")
    cmd+=(--homeserver "$mock_url" "${suite_args[@]}")
fi
[ ${#criterion_args[@]} -eq 0 ] || cmd+=(-- "${criterion_args[@]}")

set +e
"${cmd[@]}"
status=$?
set -e
exit $status
