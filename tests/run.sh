#!/bin/sh
# tests/run.sh — the whole test suite: `make test` (BUILD=build) and `make test-asan`
# (BUILD=build/asan) call it after building everything.
#
#   BUILD=build sh tests/run.sh
#
# Runs, from the repository root:
#   1. every unit test binary $BUILD/tests/test_* (tests/unit/*.c; each ends with
#      "NAME: N passed, N failed"; a binary that dies before its summary, or exits non-zero
#      after it — e.g. LeakSanitizer — counts as one more failure);
#   2. the export check: libtongyuan.a defines no global symbol outside the ty_ namespace;
#   3. tests/cli.sh with TY=$BUILD/tongyuan (golden files, CLI behaviour, bad input);
#   3b. every other tests/*.sh (index, dedup, serve...) with BUILD, TY and SHARED set, but
#       tests/mpi*.sh (make test-mpi);
#   4. fuzz/replay.sh $BUILD if it exists (the fuzz corpora as regression tests), as one case.
# TESTS_SH="cli dedup index" runs only those shell tests (and no fuzz replay): make test-tsan.
# A sanitizer report in any part's output is a failure even when its exit status is 0.
# Ends with exactly one line "N passed, N failed" (test cases, all parts) and exits non-zero
# if anything failed. POSIX sh.

set -u
cd "$(dirname "$0")/.." || exit 2

BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_run.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM

# add FILE NAME STATUS: add the counts of the last "N passed, N failed" line of FILE; none, or
# a non-zero STATUS with no failure counted, is one more failure.
add() {
    # a sanitizer report from any process the part ran is a failure, whatever its exit status
    if grep -q -E '^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: (Address|Leak)Sanitizer)|: runtime error: ' "$1"; then
        echo "FAIL $2: a sanitizer report:"
        grep -E -A12 'WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|: runtime error: ' "$1" | head -n 30 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL $2: no summary line (exit status $3; crashed or killed?)"
        tail -n 15 "$1" | sed 's/^/    /'
        failed=$((failed + 1))
        return
    fi
    re='^\(.*[^0-9]\)\{0,1\}\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*$'
    p=$(echo "$line" | sed "s/$re/\\2/")
    f=$(echo "$line" | sed "s/$re/\\3/")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $2: exit status $3 after its summary (sanitizer report at exit?)"
        tail -n 15 "$1" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# 1. unit tests
found=0
for t in "$BUILD"/tests/test_*; do
    if [ ! -f "$t" ] || [ ! -x "$t" ]; then
        continue
    fi
    found=1
    name=$(basename "$t")
    timeout 300 "$t" > "$tmp/log" 2>&1
    rc=$?
    cat "$tmp/log"
    add "$tmp/log" "$name" "$rc"
done
if [ "$found" -eq 0 ]; then
    echo "FAIL unit tests: none in $BUILD/tests/ (make builds them from tests/unit/test_*.c)"
    failed=$((failed + 1))
fi

# 2. only ty_ symbols exported (ty__ internal ones included): a library linked into other
#    programs must not take their names
if nm -g --defined-only "$BUILD/libtongyuan.a" > "$tmp/nm" 2> "$tmp/nm.err"; then
    awk 'NF >= 3 && $2 ~ /^[A-Z]$/ && $3 !~ /^ty_/ { print "    " $3 " (" $2 ")" }' \
        "$tmp/nm" > "$tmp/foreign"
    nsym=$(awk 'NF >= 3 && $2 ~ /^[A-Z]$/' "$tmp/nm" | wc -l | tr -d ' ')
    if [ -s "$tmp/foreign" ]; then
        echo "FAIL exports: libtongyuan.a defines global symbols outside ty_:"
        cat "$tmp/foreign"
        failed=$((failed + 1))
    elif [ "$nsym" -eq 0 ]; then
        echo "FAIL exports: no global symbols found in $BUILD/libtongyuan.a"
        failed=$((failed + 1))
    else
        echo "exports: $nsym global symbols, all ty_"
        passed=$((passed + 1))
    fi
else
    echo "FAIL exports: nm $BUILD/libtongyuan.a failed:"
    sed 's/^/    /' "$tmp/nm.err"
    failed=$((failed + 1))
fi

# wanted NAME: is tests/NAME.sh among $TESTS_SH (space-separated names; unset: all of them)
wanted() {
    [ -z "${TESTS_SH+x}" ] && return 0
    case " $TESTS_SH " in *" $1 "*) return 0 ;; esac
    return 1
}

# 3. the command line
if wanted cli; then
    TY_UPDATE_GOLDEN='' TY=$BUILD/tongyuan sh tests/cli.sh > "$tmp/log" 2>&1
    rc=$?
    grep -v '^updated ' "$tmp/log"
    add "$tmp/log" cli.sh "$rc"
fi

# 3b. the other commands' shell tests (index, dedup, serve, ...): every tests/*.sh but this
#     runner, cli.sh and the MPI ones (make test-mpi runs those against the MPI build), each
#     ending with its own "N passed, N failed" line
for t in tests/*.sh; do
    case $t in tests/run.sh | tests/cli.sh | tests/mpi*.sh) continue ;; esac
    wanted "$(basename "$t" .sh)" || continue
    BUILD=$BUILD TY=$BUILD/tongyuan SHARED=${SHARED:-../shared} sh "$t" > "$tmp/log" 2>&1
    rc=$?
    cat "$tmp/log"
    add "$tmp/log" "$(basename "$t")" "$rc"
done

# 4. fuzz corpora replayed
if [ -f fuzz/replay.sh ] && [ -z "${TESTS_SH+x}" ]; then
    if sh fuzz/replay.sh "$BUILD" > "$tmp/log" 2>&1; then
        sed 's/^/fuzz replay: /' "$tmp/log"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz/replay.sh $BUILD:"
        sed 's/^/    /' "$tmp/log"
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
