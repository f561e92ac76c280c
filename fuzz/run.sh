#!/bin/sh
# fuzz/run.sh — `make fuzz`: build the libFuzzer targets with clang (ASan + UBSan) into
# build/fuzz/ and run each for FUZZ_SECONDS (default 60) on its seed corpus.
#
# The library is built once by the Makefile's own rules into build/fuzzlib/libtongyuan.a,
# instrumented for coverage and the sanitizers (-fsanitize=fuzzer-no-link,address,undefined),
# and each fuzzer links it; include paths and link flags are the Makefile's too, so a new
# source file or library dependency needs no change here. New inputs libFuzzer finds go to
# build/fuzz/corpus/<target>/ (the seeds in fuzz/corpus/<target>/ are only read); crashes go
# to build/fuzz/crashes/. Exits non-zero if any target crashed or failed to build.
#
# environment: FUZZ_SECONDS (60), FUZZ_TARGETS (all fuzz/fuzz_*.c), FUZZ_MAX_LEN (8192), CLANG (clang),
#              FUZZ_CFLAGS (extra compiler flags, e.g. -fno-sanitize=... to look past a known bug)
set -eu
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
max_len=${FUZZ_MAX_LEN:-8192}
clang=${CLANG:-clang}
# every fuzz/fuzz_*.c is a target, with its seeds in fuzz/corpus/<target>/
targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)}
out=build/fuzz

# a variable of the Makefile, expanded by make itself (BUILD given explicitly: a BUILD
# inherited from a calling make must not redirect the generated table; nor may its flags:
# under make -j2, -w and the jobserver put "Entering directory" lines into the output)
mkvar() {
    # shellcheck disable=SC2016 # $($*) is make's, not the shell's
    MAKEFLAGS= MAKELEVEL= make -s --no-print-directory \
        --eval='ty-print-%: ; @printf "%s\n" "$($*)"' BUILD=build "ty-print-$1"
}
cppflags=$(mkvar CPPFLAGS_ALL)
libs=$(mkvar LIBS)
[ -n "$cppflags" ] && [ -n "$libs" ] || { echo "fuzz: cannot read the Makefile's flags" >&2; exit 1; }
instr="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
echo "fuzz: building the instrumented library build/fuzzlib/libtongyuan.a"
make -s --no-print-directory BUILD=build/fuzzlib CC="$clang" OPT="$instr" build/fuzzlib/libtongyuan.a
# fuzz targets may include private headers (src/) and the server's request parser (-Ibuild/.../gen)
cppflags="-Iinclude -Isrc -Ibuild/fuzzlib/gen $cppflags"
mkdir -p "$out/crashes"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow
       -Wstrict-prototypes -Wno-unused-function ${FUZZ_CFLAGS:-}"
for t in $targets; do
    echo "fuzz: building $out/$t"
    # shellcheck disable=SC2086 # flag lists are split on purpose
    $clang $flags $cppflags -o "$out/$t" "fuzz/$t.c" build/fuzzlib/libtongyuan.a $libs
done

fail=0
for t in $targets; do
    mkdir -p "$out/corpus/$t"
    log=$out/$t.log
    echo "fuzz: running $t for ${secs}s"
    rc=0
    # the first directory gets the new inputs; the committed seeds are only read
    "$out/$t" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        "$out/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    if [ "$rc" -eq 0 ]; then
        echo "ok $t: ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}"
    else
        fail=1
        echo "FAIL $t (exit $rc); log $log:"
        grep -E 'ERROR|invariant failed|runtime error|SUMMARY|Test unit written|^    #[0-9]' \
            "$log" | head -n 40 || true
        echo "(reproduce: $out/$t FILE; once fixed, keep FILE as a seed in fuzz/corpus/$t/)"
    fi
done

[ "$fail" -eq 0 ] || { echo "fuzz: FAILED" >&2; exit 1; }
echo "fuzz: all targets ok"
