#!/usr/bin/env bash
# Real clients: matrix-js-sdk (pinned, from npm) runs tests/jsclient/devices.mjs
# against the mock at every spec version it serves (1.16 .. 1.20), and, with
# MXDEV_WITH_SYNAPSE=1, against the Synapse tier. Every step passes, and the
# verdicts are the same on every server.
# The SDK is installed once into a cache folder outside the tree:
#   MXDEV_JSSDK_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/mxdev)
# Skips (77) with one line when node/npm are missing or npm cannot reach the
# registry.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
JSSDK_VERSION=37.5.0 # the last release that runs on node 20 (Debian's nodejs)
CLIENT=$MXDEV_SOURCE_DIR/tests/jsclient/devices.mjs

command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "SKIP: node and npm are needed (Debian: apt-get install nodejs npm)"; exit 77; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] ||
    { echo "SKIP: matrix-js-sdk $JSSDK_VERSION needs node >= 20, this is $(node --version)"; exit 77; }

cache=${MXDEV_JSSDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxdev}/matrix-js-sdk-$JSSDK_VERSION
installed() {
    [ "$(node -p "require('$cache/node_modules/matrix-js-sdk/package.json').version" 2>/dev/null)" = "$JSSDK_VERSION" ]
}
if ! installed; then
    if ! timeout 30 npm ping >"$work/npm.log" 2>&1; then
        echo "SKIP: npm cannot reach the registry ($(grep -m1 -i 'err' "$work/npm.log" || echo 'npm ping failed'))"
        exit 77
    fi
    mkdir -p "$cache"
    echo '{"private": true, "type": "module"}' >"$cache/package.json"
    timeout 600 npm install --prefix "$cache" --no-audit --no-fund --ignore-scripts \
        --save-exact "matrix-js-sdk@$JSSDK_VERSION" >"$work/npm.log" 2>&1 ||
        fail "npm install matrix-js-sdk@$JSSDK_VERSION failed: $(tail -3 "$work/npm.log")"
    installed || fail "matrix-js-sdk $JSSDK_VERSION is not in $cache after npm install"
fi
export MXDEV_JSSDK=$cache
echo "matrix-js-sdk $JSSDK_VERSION in $cache"

# run_client NAME URL: runs the client, keeps its VERDICTS and FIELDS lines.
run_client() {
    local name=$1 url=$2 status
    timeout 120 node "$CLIENT" "$url" >"$work/$name.out" 2>"$work/$name.err"
    status=$?
    grep -E '^(PASS|FAIL) ' "$work/$name.out" | sed "s/^/$name: /"
    sed -n 's/^VERDICTS //p' "$work/$name.out" >"$work/$name.verdicts"
    sed -n 's/^FIELDS //p' "$work/$name.out" >"$work/$name.fields"
    [ $status -eq 0 ] || fail "$name: the client exited $status: $(tail -3 "$work/$name.err")"
    [ -s "$work/$name.verdicts" ] || fail "$name: the client printed no verdicts"
}

for v in 1.16 1.17 1.18 1.19 1.20; do
    start_server url "$MOCK" --spec-version "$v"
    run_client "mock-$v" "$url"
    kill -TERM "${server_pids[-1]}"; wait "${server_pids[-1]}" 2>/dev/null
    cmp -s "$work/mock-1.16.verdicts" "$work/mock-$v.verdicts" ||
        fail "verdicts at $v differ from 1.16: $(cat "$work/mock-$v.verdicts")"
done
echo "mock fields: $(cat "$work/mock-1.20.fields")"

if [ "${MXDEV_WITH_SYNAPSE:-0}" = 1 ]; then
    SYNAPSE=$MXDEV_SOURCE_DIR/tests/synapse/synapse.sh
    export MXDEV_SOURCE_DIR
    bash "$SYNAPSE" prepare
    status=$?
    [ $status -eq 77 ] && exit 77
    [ $status -eq 0 ] || fail "could not prepare the Synapse chroot (status $status)"
    # synapse.sh run starts Synapse, exports MATRIX_HOMESERVER, stops it after.
    bash "$SYNAPSE" run -- bash -c \
        'timeout 120 node "$0" "$MATRIX_HOMESERVER" >"$1.out" 2>"$1.err"' \
        "$CLIENT" "$work/synapse"
    status=$?
    grep -E '^(PASS|FAIL) ' "$work/synapse.out" | sed 's/^/synapse: /'
    sed -n 's/^VERDICTS //p' "$work/synapse.out" >"$work/synapse.verdicts"
    sed -n 's/^FIELDS //p' "$work/synapse.out" >"$work/synapse.fields"
    [ $status -eq 0 ] || fail "synapse: the client exited $status: $(tail -3 "$work/synapse.err")"
    cmp -s "$work/mock-1.16.verdicts" "$work/synapse.verdicts" ||
        fail "verdicts on Synapse differ from the mock's: $(cat "$work/synapse.verdicts")"
    echo "synapse fields: $(cat "$work/synapse.fields")"
else
    echo "Synapse not requested (MXDEV_WITH_SYNAPSE=1 adds it)"
fi
echo OK
