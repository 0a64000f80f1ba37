#!/usr/bin/env bash
# Layers that hold by construction (docs/ARCHITECTURE.md). Over the modules
# of the folders below (a module is a .c/.h pair), fails with one line per
# problem on: an include cycle (#include "..." lines), a link cycle (the
# symbols one object file leaves undefined and another defines, read with
# nm from the build tree), and a core module (an object of the CMake target
# mx_core) that includes criterion, directly or through another module, uses
# a criterion symbol, or depends on a module outside the core. First proves
# that the checker (tests/check_layers.py) fails on a small tree made to
# break each rule, and passes on its mended twin.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

# The folders whose modules are checked, relative to the source tree.
LAYER_DIRS=(suite/lib suite/report suite/explore suite)
LAYER_DIRS+=(mock)

CORE_TARGET=mx_core
checker=$MXDEV_SOURCE_DIR/tests/check_layers.py
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm missing (binutils)"; exit 77; }
command -v cc >/dev/null 2>&1 || { echo "SKIP: cc missing"; exit 77; }

# ---- the checker can fail ----
# lib/a and lib/b include and call each other; lib/c is core and includes
# criterion; lib/d is core and includes and calls lib/h, which is not core
# and includes criterion.
# criterion/criterion.h is an empty stand-in, so that only the text counts.
make_tree() { # make_tree DIR broken|mended
    local t=$1 how=$2
    mkdir -p "$t/lib" "$t/inc/criterion" "$t/obj/$CORE_TARGET.dir/lib" "$t/obj/harness.dir/lib"
    : >"$t/inc/criterion/criterion.h"
    printf 'int a_one(void);\nint a_two(void);\n' >"$t/lib/a.h"
    printf '#include "a.h"\n#include "b.h"\nint a_one(void) { return b_one(); }\nint a_two(void) { return 2; }\n' >"$t/lib/a.c"
    printf 'int b_one(void);\n' >"$t/lib/b.h"
    printf 'int c_one(void);\n' >"$t/lib/c.h"
    printf '#include "c.h"\nint c_one(void) { return 3; }\n' >"$t/lib/c.c"
    printf 'int d_one(void);\n' >"$t/lib/d.h"
    printf '#include <criterion/criterion.h>\nint h_one(void);\n' >"$t/lib/h.h"
    printf '#include "h.h"\nint h_one(void) { return 4; }\n' >"$t/lib/h.c"
    if [ "$how" = broken ]; then
        printf '#include "b.h"\n#include "a.h"\nint b_one(void) { return a_two(); }\n' >"$t/lib/b.c"
        printf '#include <criterion/criterion.h>\n' >>"$t/lib/c.h"
        printf '#include "d.h"\n#include "h.h"\nint d_one(void) { return h_one(); }\n' >"$t/lib/d.c"
    else
        printf '#include "b.h"\nint b_one(void) { return 1; }\n' >"$t/lib/b.c"
        printf '#include "d.h"\nint d_one(void) { return 5; }\n' >"$t/lib/d.c"
    fi
    local m target sep="" db="["
    for m in a b c d h; do
        target=$CORE_TARGET
        [ "$m" = h ] && target=harness
        cc -c -I"$t/inc" -o "$t/obj/$target.dir/lib/$m.c.o" "$t/lib/$m.c" ||
            fail "self-check: cannot compile $t/lib/$m.c"
        db+="$sep{\"directory\": \"$t/obj\", \"file\": \"$t/lib/$m.c\", "
        db+="\"command\": \"cc -c -o $target.dir/lib/$m.c.o $t/lib/$m.c\"}"
        sep=", "
    done
    printf '%s]\n' "$db" >"$t/compile_commands.json"
}

make_tree "$work/broken" broken
python3 "$checker" --root "$work/broken" --compile-db "$work/broken/compile_commands.json" \
    --core-target "$CORE_TARGET" lib >"$work/broken.out" 2>"$work/broken.err"
rc=$?
[ "$rc" -eq 1 ] || fail "self-check: the checker exited $rc on a broken tree, expected 1: $(cat "$work/broken.err")"
for want in "include cycle: lib/a -> lib/b -> lib/a" \
    "link cycle: lib/a -> lib/b -> lib/a" \
    "core module lib/c includes criterion (lib/c.h:2)" \
    "core module lib/d reaches criterion: lib/d -> lib/h (lib/h.h:1)" \
    "core module lib/d depends on non-core module lib/h (include)" \
    "core module lib/d depends on non-core module lib/h (link)"; do
    grep -qxF "$want" "$work/broken.out" ||
        fail "self-check: the checker did not report \"$want\"; it said: $(tr '\n' '|' <"$work/broken.out")"
done
# Every line the broken tree gets is one of the six (nothing else, once each).
[ "$(wc -l <"$work/broken.out")" -eq 6 ] ||
    fail "self-check: expected 6 problems, got: $(tr '\n' '|' <"$work/broken.out")"

make_tree "$work/mended" mended
python3 "$checker" --root "$work/mended" --compile-db "$work/mended/compile_commands.json" \
    --core-target "$CORE_TARGET" lib >"$work/mended.out" 2>&1 ||
    fail "self-check: the checker fails a tree without problems: $(cat "$work/mended.out")"

# ---- this tree ----
db=$MXDEV_BUILD_DIR/compile_commands.json
[ -f "$db" ] || fail "$db missing (CMAKE_EXPORT_COMPILE_COMMANDS is on in CMakeLists.txt: reconfigure)"
if ! python3 "$checker" --root "$MXDEV_SOURCE_DIR" --compile-db "$db" \
    --core-target "$CORE_TARGET" "${LAYER_DIRS[@]}" >"$work/tree.out" 2>"$work/tree.err"; then
    cat "$work/tree.out" "$work/tree.err"
    fail "module layering: $(grep -c . "$work/tree.out") problems in ${LAYER_DIRS[*]} (above)"
fi
cat "$work/tree.err"
echo "layers: ${LAYER_DIRS[*]} without cycles; the core does not reach criterion"
