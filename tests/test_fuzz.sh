#!/usr/bin/env bash
# The libFuzzer harness (mock/fuzz/fuzz_request.c) for a bounded time: any
# crash, leak or sanitizer report fails the test. Builds with clang in
# $MXDEV_BUILD_DIR/fuzz (configured once, reused) and fuzzes a copy of the
# corpus, so the source tree is never written to.
#
# MXDEV_FUZZ_SECONDS: fuzzing time (default 60).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=${MXDEV_FUZZ_SECONDS:-60}
fuzz_build=$MXDEV_BUILD_DIR/fuzz

cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
    echo "SKIP: clang is not installed (Debian: apt-get install clang libclang-rt-14-dev)"
    exit 77
fi
# -fsanitize=fuzzer needs the compiler-rt libraries (Debian: libclang-rt-14-dev).
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" \
    >"$work/probe.log" 2>&1; then
    echo "SKIP: $cc cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev):" \
        "$(head -1 "$work/probe.log")"
    exit 77
fi

if [ ! -f "$fuzz_build/CMakeCache.txt" ]; then
    CC=$cc cmake -S "$MXDEV_SOURCE_DIR" -B "$fuzz_build" -DMXDEV_FUZZ=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/configure.log" 2>&1 ||
        { cat "$work/configure.log" >&2; fail "configuring $fuzz_build failed"; }
fi
cmake --build "$fuzz_build" --target mock_fuzz_request -j"$(nproc)" >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; fail "building mock_fuzz_request failed"; }
fuzzer=$fuzz_build/mock/mock_fuzz_request
[ -x "$fuzzer" ] || fail "no fuzzer binary at $fuzzer"

# New inputs go to a scratch copy of the corpus; the source corpus stays read-only.
corpus=$work/corpus
mkdir -p "$corpus"
cp "$MXDEV_SOURCE_DIR"/mock/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/")
dict=$MXDEV_SOURCE_DIR/mock/fuzz/request.dict
[ -f "$dict" ] && args+=(-dict="$dict")

echo "fuzzing for $seconds s: $fuzzer ($(ls "$corpus" | wc -l) seed inputs)"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    timeout --signal=KILL $((seconds + 120)) "$fuzzer" "${args[@]}" "$corpus" \
    >"$work/fuzz.log" 2>&1
status=$?

# Summary: the last status line and the final statistics.
grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/fuzz.log"
echo "corpus: $(ls "$corpus" | wc -l) inputs"

reports=$(grep -E 'ERROR: |runtime error|==[0-9]+==WARNING' "$work/fuzz.log" | head -5)
if [ $status -ne 0 ] || [ -n "$reports" ]; then
    grep -E -A30 'ERROR: |runtime error' "$work/fuzz.log" | head -60 >&2
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [ -f "$a" ] || continue
        echo "--- artifact $(basename "$a") (base64):" >&2
        base64 "$a" | head -20 >&2
    done
    fail "the fuzzer found a problem (exit $status)"
fi
echo "fuzz: no crash, leak or sanitizer report in $seconds s"
