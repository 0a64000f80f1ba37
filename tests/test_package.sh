#!/usr/bin/env bash
# The Debian package: cpack -G DEB builds it; lintian finds no errors; its
# Depends come from the linked libraries (dpkg-shlibdeps); its version is
# project()'s. Unpacked with dpkg-deb -x, with the source checkout and the
# build folder hidden (a private mount namespace puts empty folders over them)
# and another working directory, the packaged suite against the packaged mock
# gives the same verdicts as the build tree's programs (what ./run-tests.sh
# runs). A copy of the program without its share/ folder must refuse to run
# rather than find data elsewhere, and MXDEV_FIXTURES_DIR must lead it back.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

need_tool dpkg-deb dpkg
need_tool dpkg-shlibdeps dpkg-dev
need_tool lintian lintian
need_tool cpack cmake
# Hiding the checkout needs a mount namespace: root, or user namespaces.
if [ "$(id -u)" -eq 0 ]; then hide=(unshare --mount); else hide=(unshare --mount --map-root-user); fi
"${hide[@]}" true 2>/dev/null ||
    { echo "SKIP: cannot create a mount namespace to hide the source tree"; exit 77; }

name=matrix-device-conformance
version=$(sed -n 's/^project([^ ]* VERSION \([0-9.]*\).*/\1/p' "$MXDEV_SOURCE_DIR/CMakeLists.txt")
[ -n "$version" ] || fail "no VERSION in project() of CMakeLists.txt"

# ---- build the package (output outside the build folder) ----
(cd "$work" && cpack --config "$MXDEV_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$work/out") \
    >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
deb=$work/out/${name}_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || fail "cpack did not write $deb: $(ls "$work/out")"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

[ "$(dpkg-deb -f "$deb" Package)" = "$name" ] || fail "package name is not $name"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
    fail "package version $(dpkg-deb -f "$deb" Version) is not project()'s $version"

# ---- lintian: no errors ----
lintian --fail-on error "$deb" >"$work/lintian.log" 2>&1
lint_status=$?
grep -v 'running with root privileges' "$work/lintian.log"
[ $lint_status -eq 0 ] || fail "lintian reports errors (exit $lint_status)"
! grep -q '^E: ' "$work/lintian.log" || fail "lintian reports errors"
echo "lintian: $(grep -c '^[EW]: ' "$work/lintian.log") errors and warnings"

# ---- unpack, and check the layout ----
root=$work/root
mkdir "$root"
dpkg-deb -x "$deb" "$root"
share=$root/usr/share/$name
for f in usr/bin/device-conformance usr/bin/mock-homeserver \
    usr/bin/device-conformance-compare \
    usr/share/man/man1/device-conformance.1.gz usr/share/man/man1/mock-homeserver.1.gz \
    usr/share/man/man1/device-conformance-compare.1.gz \
    usr/share/doc/$name/copyright usr/share/doc/$name/changelog.gz \
    usr/share/$name/requirements.tsv usr/share/$name/requirement-operations.tsv \
    usr/share/$name/appservice.yaml usr/share/$name/appservice.operator.yaml \
    usr/share/$name/seed.example.json usr/share/$name/report-schema.json \
    usr/share/$name/schemas/endpoints.json usr/share/$name/expect-fail/example.txt; do
    [ -e "$root/$f" ] || fail "the package lacks /$f"
done
# Every schema and expect-fail list of the checkout is packaged.
for f in "$MXDEV_SOURCE_DIR"/fixtures/schemas/* "$MXDEV_SOURCE_DIR"/fixtures/expect-fail/*; do
    rel=${f#"$MXDEV_SOURCE_DIR"/fixtures/}
    cmp -s "$f" "$share/$rel" || fail "the package's $rel differs from fixtures/$rel"
done
gzip -t "$root"/usr/share/man/man1/*.gz || fail "a man page is not valid gzip"
"$root/usr/bin/device-conformance" --version | grep -qF "$version" ||
    fail "the packaged device-conformance does not report version $version"

# ---- Depends: the package of every library the programs link ----
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for bin in "$root"/usr/bin/*; do
    for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
        path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
        [ -n "$path" ] || fail "$(basename "$bin"): $lib not found by ldd"
        pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
            dpkg -S "/usr$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null)
        pkg=${pkg%%:*}
        [ -n "$pkg" ] || fail "no Debian package owns $path"
        grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" ||
            fail "$(basename "$bin") links $lib (package $pkg), which Depends lacks"
    done
done

# ---- the reference: the build tree's programs, as ./run-tests.sh runs them ----
start_server url "$MOCK" --appservice "$AS_REG"
"$SUITE" --homeserver "$url" --as-registration "$AS_REG" --report-dir "$work/ref" \
    >"$work/ref.log" 2>&1
ref_status=$?
kill -TERM "${server_pids[-1]}" && wait "${server_pids[-1]}" 2>/dev/null
[ $ref_status -eq 0 ] || { tail -5 "$work/ref.log"; fail "build-tree run: exit $ref_status"; }

# ---- the packaged programs, with the checkout and the build folder hidden ----
mkdir "$work/elsewhere" "$work/lonely" "$work/lonely/bin"
cp "$root/usr/bin/device-conformance" "$work/lonely/bin/"
cat >"$work/inside.sh" <<'EOF'
# Runs in a private mount namespace: $1 source dir, $2 build dir, $3 unpacked
# package root, $4 share folder, $5 work folder.
set -u
src=$1 build=$2 root=$3 share=$4 work=$5
# Read before the checkout is hidden.
# shellcheck source=scripts/listen.sh
source "$src/scripts/listen.sh"
for d in "$build" "$src"; do
    [ -d "$d" ] && { mount -t tmpfs -o size=1m mxdev-hidden "$d" || exit 90; }
done
[ ! -e "$src/fixtures/requirements.tsv" ] || { echo "the checkout is still visible"; exit 91; }
[ ! -e "$build/suite/device-conformance" ] || { echo "the build is still visible"; exit 91; }
unset MXDEV_FIXTURES_DIR MXDEV_BUILD_DIR MXDEV_SOURCE_DIR
cd "$work/elsewhere" || exit 92
listen_start "$root/usr/bin/mock-homeserver" --appservice "$share/appservice.yaml" ||
    { echo "the packaged mock did not start: $listen_error"; exit 93; }
mock=$listen_pid url=$listen_url
# Without share/ next to it, and no checkout, the program must stop (exit 2).
"$work/lonely/bin/device-conformance" --homeserver "$url" --report-dir "$work/lonely/r" \
    >"$work/lonely.log" 2>&1
echo "lonely=$?"
MXDEV_FIXTURES_DIR=$share "$work/lonely/bin/device-conformance" --homeserver "$url" \
    --report-dir "$work/lonely/env" -- --filter 'get/*' >"$work/lonely-env.log" 2>&1
echo "lonely_env=$?"
"$root/usr/bin/device-conformance" --homeserver "$url" --as-registration \
    "$share/appservice.yaml" --report-dir "$work/pkg" >"$work/pkg.log" 2>&1
echo "pkg=$?"
kill -TERM $mock
wait $mock
EOF
"${hide[@]}" bash "$work/inside.sh" "$MXDEV_SOURCE_DIR" "$MXDEV_BUILD_DIR" "$root" "$share" \
    "$work" >"$work/inside.out" 2>&1
inside=$?
cat "$work/inside.out"
[ $inside -eq 0 ] || fail "the run with the checkout hidden failed (exit $inside)"

grep -qx 'lonely=2' "$work/inside.out" ||
    fail "a copy without share/ did not stop with exit 2: $(tail -2 "$work/lonely.log")"
grep -q "$work/lonely/bin/../share/$name/requirements.tsv" "$work/lonely.log" ||
    fail "the error does not name the expected data location: $(tail -1 "$work/lonely.log")"
grep -qx 'lonely_env=0' "$work/inside.out" ||
    fail "MXDEV_FIXTURES_DIR did not lead the copy to the data: $(tail -2 "$work/lonely-env.log")"
grep -qx 'pkg=0' "$work/inside.out" ||
    { tail -5 "$work/pkg.log"; fail "the packaged suite failed against the packaged mock"; }

verdicts='"\n".join(sorted(c["test"] + " " + c["verdict"] for c in d["checks"]))'
json_get "$work/ref/results.json" "$verdicts" >"$work/ref.verdicts"
json_get "$work/pkg/results.json" "$verdicts" >"$work/pkg.verdicts"
[ "$(wc -l <"$work/pkg.verdicts")" -gt 40 ] || fail "too few checks in the packaged run"
diff -u "$work/ref.verdicts" "$work/pkg.verdicts" ||
    fail "the packaged run's verdicts differ from the build tree's"
echo "packaged run: $(json_get "$work/pkg/results.json" 'd["totals"]'), same verdicts" \
    "as the build tree ($(wc -l <"$work/pkg.verdicts") checks)"
