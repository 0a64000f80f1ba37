#!/bin/bash
# Run a real Synapse (Debian sid's matrix-synapse package) on loopback, in a
# cached minimal sid chroot, so the conformance suite can be run against it.
#
#   synapse.sh prepare          build or reuse the cached chroot (idempotent)
#   synapse.sh prepare --refresh  also upgrade the cached chroot's packages
#   synapse.sh start            start Synapse; prints url=... and pid=...
#   synapse.sh stop             stop it, unmount everything
#   synapse.sh status           print the state of a running instance
#   synapse.sh version          print the installed matrix-synapse version
#   synapse.sh run -- CMD...    start, run CMD with MATRIX_HOMESERVER and
#                               MXDEV_SHARED_SECRET exported, stop; exits
#                               with CMD's status
#
# Environment:
#   MXDEV_SYNAPSE_CACHE   cache dir holding the chroot (/var/cache/mxdev-synapse)
#   MXDEV_SYNAPSE_MIRROR  Debian mirror (default: the one this machine's apt
#                         sources name; there is no built-in fallback)
#   MXDEV_SOURCE_DIR      source tree (default: two levels above this script)
#   MXDEV_SYNAPSE_SERVER_NAME  server_name (default localhost)
#   MXDEV_SYNAPSE_START_TIMEOUT  seconds to wait for /versions (default 180)
#   MXDEV_SYNAPSE_CONFIG  a file appended to homeserver.yaml, e.g. the output
#                         of device-conformance --print-server-config synapse
#                         (its app_service_config_files is replaced by the
#                         tier's own); without it Synapse keeps its stock rate
#                         limits and gets open registration only
#   MXDEV_SYNAPSE_APPSERVICE  the application-service registration Synapse
#                         loads (default fixtures/appservice.yaml)
#   MXDEV_SYNAPSE_BCRYPT_ROUNDS  bcrypt_rounds (default 4; "default" leaves
#                         Synapse's own, 12)
#
# Exit status 77 means the environment cannot host the tier (not root, no
# debootstrap, no mirror reachable); the reason is printed on one line.

set -euo pipefail
# A signal ends the script through exit, so the EXIT traps (stop, unmount) run.
trap 'exit 130' INT
trap 'exit 143' TERM

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=${MXDEV_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
cache=${MXDEV_SYNAPSE_CACHE:-/var/cache/mxdev-synapse}
root=$cache/root
# Inside the chroot: all per-run data (config, database, media, log).
data_in=/mxdev
data=$root$data_in
state=$cache/state
server_name=${MXDEV_SYNAPSE_SERVER_NAME:-localhost}
start_timeout=${MXDEV_SYNAPSE_START_TIMEOUT:-180}
extra_config=${MXDEV_SYNAPSE_CONFIG:-}
appservice=${MXDEV_SYNAPSE_APPSERVICE:-$source_dir/fixtures/appservice.yaml}
bcrypt_rounds=${MXDEV_SYNAPSE_BCRYPT_ROUNDS:-4}

log() { printf 'synapse.sh: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}
# The one loud line when the tier cannot run here.
skip() {
    printf 'SKIP: Synapse tier unavailable: %s\n' "$*" >&2
    exit 77
}

# The Debian mirror this machine's apt uses (not the security archive);
# nothing (status 1) when there is none: the tree names no mirror of its own.
find_mirror() {
    if [ -n "${MXDEV_SYNAPSE_MIRROR:-}" ]; then
        echo "$MXDEV_SYNAPSE_MIRROR"
        return
    fi
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        case $f in
        *.sources) uri=$(sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n') ;;
        *) uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f") ;;
        esac
        uri=$(printf '%s\n' "$uri" | grep -E '^https?://.*/debian/?$' | head -n 1 || true)
        if [ -n "$uri" ]; then
            echo "${uri%/}"
            return
        fi
    done
    return 1
}

# dpkg status of matrix-synapse in the chroot, "" when absent.
installed_version() {
    [ -f "$root/var/lib/dpkg/status" ] || return 0
    dpkg-query --admindir="$root/var/lib/dpkg" -W \
        -f '${Status} ${Version}\n' matrix-synapse 2>/dev/null |
        sed -n 's/^install ok installed //p'
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

# Unmount everything this script mounts below a chroot, innermost first.
unmount_all() {
    local dir=$1 m
    for m in dev/pts dev sys proc; do
        if is_mounted "$dir/$m"; then
            umount "$dir/$m" 2>/dev/null || umount -l "$dir/$m" || true
        fi
    done
}

# rm -rf a chroot tree, but never through a mount point (a bound /dev would
# take the host's device nodes with it).
safe_rm() {
    local dir=$1
    [ -e "$dir" ] || return 0
    unmount_all "$dir"
    if awk -v d="$(realpath "$dir")/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' \
        /proc/mounts; then
        die "something is still mounted below $dir; not removing it"
    fi
    rm -rf "$dir"
}

need_tools() {
    local t
    for t in curl python3 chroot setsid mountpoint; do
        command -v "$t" >/dev/null || skip "the host has no $t"
    done
}

check_host() {
    [ "$(id -u)" = 0 ] || skip "needs root for debootstrap and chroot (uid $(id -u))"
    need_tools
    if ! command -v debootstrap >/dev/null; then
        if command -v apt-get >/dev/null; then
            log "installing debootstrap with apt-get"
            apt-get install -y debootstrap >/dev/null 2>&1 ||
                { apt-get update >/dev/null 2>&1 &&
                    apt-get install -y debootstrap >/dev/null 2>&1; } ||
                skip "debootstrap is not installed and apt-get could not install it"
        else
            skip "debootstrap is not installed and there is no apt-get"
        fi
    fi
}

# Upgrade the packages of the cached chroot (sid moves on).
refresh() {
    check_host
    log "upgrading the packages of $root"
    trap 'unmount_all "$root"' EXIT
    is_mounted "$root/proc" || mount -t proc proc "$root/proc"
    local status=0
    {
        chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update &&
            chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
                apt-get dist-upgrade -y &&
            chroot "$root" apt-get clean
    } >"$cache/apt.log" 2>&1 || status=$?
    unmount_all "$root"
    trap - EXIT
    [ "$status" = 0 ] || die "upgrading the chroot failed; full log in $cache/apt.log"
    log "matrix-synapse is now $(installed_version)"
}

cmd_prepare() {
    local version
    version=$(installed_version)
    if [ -n "$version" ] && [ -x "$root/usr/bin/python3" ]; then
        log "cached chroot $root has matrix-synapse $version"
        if [ "${1:-}" = --refresh ]; then
            refresh
        fi
        return 0
    fi
    check_host
    local mirror
    mirror=$(find_mirror) ||
        skip "no Debian mirror: none in this machine's apt sources (/etc/apt/sources.list{,.d}); set MXDEV_SYNAPSE_MIRROR=http://.../debian"
    curl -sf --max-time 20 -o /dev/null "$mirror/dists/sid/InRelease" ||
        skip "Debian mirror $mirror has no reachable sid suite"
    mkdir -p "$cache"
    # One prepare at a time per cache; a waiting one reuses the result.
    exec 9>"$cache/.lock"
    flock -w 1800 9 || die "another prepare holds $cache/.lock"
    version=$(installed_version)
    if [ -n "$version" ] && [ -x "$root/usr/bin/python3" ]; then
        log "cached chroot $root has matrix-synapse $version"
        return 0
    fi
    local tmp=$cache/root.new
    safe_rm "$tmp"
    log "debootstrap sid from $mirror into $tmp"
    # debootstrap checks the Release signature (gpgv) but not Valid-Until, so
    # a machine whose clock is past sid's Valid-Until still bootstraps.
    if ! debootstrap --variant=minbase sid "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
        tail -n 20 "$cache/debootstrap.log" >&2
        unmount_all "$tmp"
        die "debootstrap failed; full log in $cache/debootstrap.log"
    fi
    # The mirror's sid Release can be past its Valid-Until for this clock.
    cat >"$tmp/etc/apt/apt.conf.d/99mxdev" <<'EOF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    printf 'deb %s sid main\n' "$mirror" >"$tmp/etc/apt/sources.list"
    # No service may start inside the chroot while packages install.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
    log "installing matrix-synapse in the chroot"
    trap 'unmount_all "$tmp"' EXIT
    mount -t proc proc "$tmp/proc"
    local status=0
    {
        chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update &&
            chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y matrix-synapse &&
            chroot "$tmp" apt-get clean
    } >"$cache/apt.log" 2>&1 || status=$?
    unmount_all "$tmp"
    trap - EXIT
    if [ "$status" != 0 ]; then
        tail -n 20 "$cache/apt.log" >&2
        die "installing matrix-synapse failed; full log in $cache/apt.log"
    fi
    # Swap in atomically-ish: the old tree (if any) had no synapse anyway.
    safe_rm "$root"
    mv "$tmp" "$root"
    log "prepared $root with matrix-synapse $(installed_version)"
}

# A port the kernel says is free right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

random_secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

write_config() {
    local port=$1 secret=$2
    cat >"$data/homeserver.yaml" <<EOF
# Generated by tests/synapse/synapse.sh for one test run: loopback only.
server_name: "$server_name"
pid_file: $data_in/homeserver.pid
public_baseurl: "http://127.0.0.1:$port/"
listeners:
  - port: $port
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: $data_in/homeserver.db
log_config: $data_in/log.config
media_store_path: $data_in/media_store
signing_key_path: $data_in/signing.key
trusted_key_servers: []
suppress_key_server_warning: true
report_stats: false
enable_metrics: false
url_preview_enabled: false
presence:
  enabled: false
registration_shared_secret: "$secret"
macaroon_secret_key: "$(random_secret)"
form_secret: "$(random_secret)"
app_service_config_files:
  - $data_in/appservice.yaml
EOF
    if [ "$bcrypt_rounds" != default ]; then
        printf '# Password hashing: the suite logs in many times.\nbcrypt_rounds: %s\n' \
            "$bcrypt_rounds" >>"$data/homeserver.yaml"
    fi
    if [ -n "$extra_config" ]; then
        # The given configuration, but the application service is the tier's.
        printf '# From %s:\n' "$extra_config" >>"$data/homeserver.yaml"
        awk '/^app_service_config_files:/ { skip = 1; next }
             skip && /^[[:space:]]+-/ { next }
             { skip = 0; print }' "$extra_config" >>"$data/homeserver.yaml"
    else
        # Stock Synapse (its default rate limits), open registration.
        printf 'enable_registration: true\nenable_registration_without_verification: true\n' \
            >>"$data/homeserver.yaml"
    fi
    cat >"$data/log.config" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $data_in/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: INFO
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF
}

# Mounts for a run; undone by cmd_stop (and by our trap if start fails).
mount_run() {
    is_mounted "$root/proc" || mount -t proc proc "$root/proc"
    is_mounted "$root/dev" || mount --bind /dev "$root/dev"
}

cmd_stop() {
    local pid=""
    if [ -f "$state/pid" ]; then
        pid=$(cat "$state/pid")
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "Synapse (pid $pid) ignored SIGTERM for 10 s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    unmount_all "$root"
    rm -f "$state/pid" "$state/url" "$state/port" "$state/shared_secret" "$state/env"
}

# One attempt at starting Synapse on port $1; 0 once /versions answers.
start_once() {
    local port=$1 secret=$2
    safe_rm "$data"
    mkdir -p "$data/media_store"
    cp "$appservice" "$data/appservice.yaml"
    write_config "$port" "$secret"
    local uid gid
    uid=$(awk -F: '$1 == "matrix-synapse" { print $3 }' "$root/etc/passwd")
    gid=$(awk -F: '$1 == "matrix-synapse" { print $4 }' "$root/etc/passwd")
    if [ -z "$uid" ]; then
        uid=0
        gid=0
    fi
    chown -R "$uid:$gid" "$data"
    chroot --userspec="$uid:$gid" "$root" /usr/bin/python3 -m synapse.app.homeserver \
        -c "$data_in/homeserver.yaml" --generate-keys >"$state/generate.log" 2>&1 ||
        {
            cat "$state/generate.log" >&2
            return 2
        }
    # setsid: Synapse leads its own process group, so stop can kill it whole.
    setsid chroot --userspec="$uid:$gid" "$root" /usr/bin/env HOME=$data_in \
        /usr/bin/python3 -m synapse.app.homeserver -c "$data_in/homeserver.yaml" \
        </dev/null >"$state/stdout.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$state/pid"
    local url=http://127.0.0.1:$port
    local deadline=$((SECONDS + start_timeout))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            if grep -q -i 'address already in use' "$state/stdout.log" \
                "$data/homeserver.log" 2>/dev/null; then
                return 1
            fi
            tail -n 30 "$state/stdout.log" >&2
            tail -n 30 "$data/homeserver.log" >&2 2>/dev/null || true
            return 2
        fi
        if curl -sf --max-time 2 -o /dev/null "$url/_matrix/client/versions"; then
            echo "$url" >"$state/url"
            echo "$port" >"$state/port"
            echo "$secret" >"$state/shared_secret"
            return 0
        fi
        sleep 0.2
    done
    log "Synapse did not answer /versions within $start_timeout s"
    tail -n 30 "$data/homeserver.log" >&2 2>/dev/null || true
    return 2
}

cmd_start() {
    [ "$(id -u)" = 0 ] || skip "needs root for chroot (uid $(id -u))"
    need_tools
    [ -n "$(installed_version)" ] || die "no prepared chroot in $root: run '$0 prepare' first"
    mkdir -p "$state"
    # One instance per cache. A leftover one (its caller was killed before it
    # could stop it) would hold the chroot's data dir: replace it.
    if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        log "stopping a leftover Synapse (pid $(cat "$state/pid")) of an earlier run"
    fi
    cmd_stop
    trap 'cmd_stop' EXIT
    mount_run
    local secret attempt port rc
    secret=$(random_secret)
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        rc=0
        start_once "$port" "$secret" || rc=$?
        if [ "$rc" = 0 ]; then
            trap - EXIT
            {
                echo "MATRIX_HOMESERVER=$(cat "$state/url")"
                echo "MXDEV_SHARED_SECRET=$secret"
                echo "MXDEV_SYNAPSE_SERVER_NAME=$server_name"
            } >"$state/env"
            echo "url=$(cat "$state/url")"
            echo "pid=$(cat "$state/pid")"
            echo "server_name=$server_name"
            echo "log=$data/homeserver.log"
            return 0
        fi
        rm -f "$state/pid"
        [ "$rc" = 1 ] || die "Synapse failed to start (logs: $state/stdout.log, $data/homeserver.log)"
        log "port $port was taken before Synapse bound it; retrying ($attempt)"
    done
    die "could not find a free port after 5 attempts"
}

cmd_status() {
    if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        echo "url=$(cat "$state/url")"
        echo "pid=$(cat "$state/pid")"
        return 0
    fi
    echo "not running"
    return 1
}

cmd_run() {
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: $0 run -- COMMAND [ARGS...]"
    cmd_start >/dev/null
    trap 'cmd_stop' EXIT
    local status=0 child
    export MATRIX_HOMESERVER MXDEV_SHARED_SECRET MXDEV_SYNAPSE_SERVER_NAME
    MATRIX_HOMESERVER=$(cat "$state/url")
    MXDEV_SHARED_SECRET=$(cat "$state/shared_secret")
    MXDEV_SYNAPSE_SERVER_NAME=$server_name
    # In the background, so a signal to us is handled at once (bash defers
    # traps while a foreground child runs): pass it on, then stop Synapse.
    "$@" &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null; exit 130' INT
    trap 'kill -TERM "$child" 2>/dev/null; exit 143' TERM
    wait "$child" || status=$?
    trap 'exit 130' INT
    trap 'exit 143' TERM
    cmd_stop
    trap - EXIT
    return "$status"
}

case ${1:-} in
prepare)
    shift
    cmd_prepare "$@"
    ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
version) installed_version ;;
run)
    shift
    cmd_run "$@"
    ;;
*)
    echo "usage: $0 prepare|start|stop|status|version|run -- COMMAND..." >&2
    exit 2
    ;;
esac
