#!/bin/sh
# fuzz/replay.sh BUILD — replay every fuzz target's corpus (fuzz/corpus/<target>/) as a
# regression test against BUILD/libtongyuan.a, without libFuzzer: each target is linked with
# fuzz/replay_main.c, a plain main() that feeds it every file. Called by tests/run.sh (make test,
# make test-asan). Uses $CC (default cc); a BUILD whose name contains "asan" is an
# AddressSanitizer + UBSan build ("tsan": ThreadSanitizer), and the replay drivers are built
# the same way.
# Prints one line per target ("ok fuzz_normalize: 37 inputs"); exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."

build=${1:?usage: fuzz/replay.sh BUILD}
lib=$build/libtongyuan.a
if [ ! -f "$lib" ]; then
    echo "replay: $lib is missing (make BUILD=$build first)" >&2
    exit 1
fi
cc=${CC:-cc}
# every fuzz/fuzz_*.c is a target, with its seeds in fuzz/corpus/<target>/
targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)}
flags="-O1 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
       -Wno-unused-function"
case $build in
*asan*) flags="$flags -fsanitize=address,undefined -fno-sanitize-recover=all
               -fno-omit-frame-pointer" ;;
*tsan*) flags="$flags -fsanitize=thread" ;;
esac
# link flags as the Makefile has them (new dependencies need no change here; a calling
# make's flags left out: under make -j2 they put "Entering directory" lines into them)
# shellcheck disable=SC2016 # $($*) is make's, not the shell's
libs=$(MAKEFLAGS= MAKELEVEL= make -s --no-print-directory --eval='ty-print-%: ; @printf "%s\n" "$($*)"' \
    BUILD="$build" ty-print-LIBS 2>/dev/null || true)
[ -n "$libs" ] || libs="$(pkg-config --libs libutf8proc) -lpthread -lm"
out=$build/fuzz
mkdir -p "$out"

fail=0
for t in $targets; do
    bin=$out/replay_$t
    # shellcheck disable=SC2086 # flag lists are split on purpose
    if ! $cc $flags -Iinclude -o "$bin" "fuzz/$t.c" fuzz/replay_main.c "$lib" $libs; then
        echo "FAIL $t: does not build"
        fail=1
        continue
    fi
    dir=fuzz/corpus/$t
    if res=$("$bin" "$dir" 2> "$out/replay_$t.log"); then
        case $res in
        "0 inputs") echo "FAIL $t: no inputs in $dir"; fail=1 ;;
        *) echo "ok $t: $res" ;;
        esac
        continue
    fi
    fail=1
    echo "FAIL $t; log $out/replay_$t.log:"
    tail -n 30 "$out/replay_$t.log"
    # name the inputs that fail, one run each
    for f in "$dir"/*; do
        "$bin" "$f" > /dev/null 2>&1 || echo "FAIL $t: input $f"
    done
done
exit "$fail"
