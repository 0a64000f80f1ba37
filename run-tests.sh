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
  --check-examples       validate the spec's examples (needs --spec-dir DIR)
  --package              build the Debian package (cpack -G DEB) into build/package/,
                         and check it with lintian when lintian is installed
  --help                 this text

Options for a suite run (passed to device-conformance; see its --help):
  --spec-version V       1.16 .. 1.20 (default 1.17); also sets the mock's version
  --strict               SHOULD failures fail the run
  --as-registration F    the application-service registration the homeserver was given
                         (default with the mock: fixtures/appservice.yaml)
  --report-dir DIR       where reports go (default: reports/)
  --expect-fail FILE     known failures, one requirement ID or test per line
  --timeout S, --deadline S, --settle-ms N, --registration-token T,
  --registration-token-file F, --shared-secret S, --shared-secret-file F,
  --user @a:hs=PASSWORD, --user-file F, --insecure, --cacert F,
  --require-appservice, --spec-dir DIR
Options for the bundled mock:
  --mock-deviate NAME    start the mock with a named deviation from the spec (repeatable;
                         list them with build/mock/mock-homeserver --list-deviations)
Everything after "--" goes to criterion: --filter 'uia/*', -j2, --list.

Exit status: 0 conformant (or self-test passed), 1 conformance failures, 2 usage or
configuration error, 3 homeserver unreachable or not speaking Matrix.
EOF
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
    local opts=()
    [ -n "${MXDEV_WERROR:-}" ] && opts+=("-DMXDEV_WERROR=$MXDEV_WERROR")
    [ -n "${MXDEV_SANITIZE+set}" ] && opts+=("-DMXDEV_SANITIZE=$MXDEV_SANITIZE")
    # Configure once, and again whenever the caller asks for a build option.
    if [ ! -f "$build_dir/CMakeCache.txt" ] || [ ${#opts[@]} -gt 0 ]; then
        cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" \
            >/dev/null
    fi
    cmake --build "$build_dir" -j"$(nproc)" >/dev/null ||
        { cmake --build "$build_dir" -j1 2>&1 | tail -40 >&2; die "build failed"; }
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
    local fifo line
    fifo=$(mktemp -u) && mkfifo "$fifo"
    "$build_dir/mock/mock-homeserver" --listen 127.0.0.1:0 "$@" >"$fifo" &
    mock_pid=$!
    # The first line names the port; reading it is the wait for readiness.
    if ! read -r -t 10 line <"$fifo"; then
        rm -f "$fifo"
        die "the mock did not start (no 'listening on' line within 10 s)"
    fi
    rm -f "$fifo"
    case "$line" in
        "listening on http://"*) mock_url=${line#listening on } ;;
        *) die "unexpected first line from the mock: $line" ;;
    esac
}

mode=suite
homeserver=""
with_synapse=${MXDEV_WITH_SYNAPSE:-0}
spec_version=""
spec_dir=""
suite_args=()
mock_args=()
criterion_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --self-test) mode=self-test ;;
        --with-synapse) with_synapse=1 ;;
        --version-matrix) mode=version-matrix ;;
        --check-examples) mode=check-examples ;;
        --package) mode=package ;;
        --homeserver) [ $# -ge 2 ] || die "--homeserver needs a URL"; homeserver=$2; shift ;;
        --homeserver=*) homeserver=${1#*=} ;;
        --spec-version) [ $# -ge 2 ] || die "--spec-version needs a value"
                        spec_version=$2; shift ;;
        --spec-version=*) spec_version=${1#*=} ;;
        --spec-dir) [ $# -ge 2 ] || die "--spec-dir needs a folder"; spec_dir=$2; shift ;;
        --spec-dir=*) spec_dir=${1#*=} ;;
        --mock-deviate) [ $# -ge 2 ] || die "--mock-deviate needs a name"
                        mock_args+=(--deviate "$2"); shift ;;
        --mock-deviate=*) mock_args+=(--deviate "${1#*=}") ;;
        --) shift; criterion_args=("$@"); break ;;
        *) suite_args+=("$1") ;;
    esac
    shift
done

case "$mode" in
    self-test)
        ensure_packages "${run_pkgs[@]}" "${test_pkgs[@]}"
        build
        export MXDEV_WITH_SYNAPSE=$with_synapse
        cd "$build_dir"
        exec ctest --output-on-failure -j"$(nproc)"
        ;;
    package) build_package; exit 0 ;;
    version-matrix)
        ensure_packages "${run_pkgs[@]}" python3
        build
        exec bash "$here/scripts/version-matrix.sh" "$build_dir"
        ;;
    check-examples)
        [ -n "$spec_dir" ] || die "--check-examples needs --spec-dir DIR (a data/api/client-server folder)"
        ensure_packages "${run_pkgs[@]}"
        build
        # The script names the mock's deviations --mock-deviate itself.
        extra=()
        for ((i = 1; i < ${#mock_args[@]}; i += 2)); do
            extra+=(--mock-deviate "${mock_args[i]}")
        done
        exec bash "$here/scripts/check-examples.sh" "$build_dir" --spec-dir "$spec_dir" \
            --with-mock "${extra[@]}" "${suite_args[@]}"
        ;;
esac

ensure_packages "${run_pkgs[@]}"
build

cmd=("$build_dir/suite/device-conformance")
[ -n "$spec_version" ] && cmd+=(--spec-version "$spec_version")
[ -n "$spec_dir" ] && cmd+=(--spec-dir "$spec_dir")
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
    echo "mock homeserver: $mock_url (pid $mock_pid)"
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
