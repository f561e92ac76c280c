# tests/lib/cases.sh — the small case/assertion layer of the shell tests (sourced by every
# tests/*.sh; they set $tmp first, and $run_timeout if 60 s is short).
#
#   case_begin NAME; expect DESCRIPTION TEST...; case_end
# A case passes if all its expects do; the counts are $passed and $failed. run CMD... runs
# with a time limit and standard input from $stdin (reset to /dev/null after each run), sets
# rc and leaves $tmp/out and $tmp/err.
passed=0
failed=0
# The direct style (dedup.sh, mpi.sh, mpi_index.sh, serve.sh): pass [NAME] counts a passed
# check (and prints "ok   NAME" when named); fail NAME counts a failed one and prints it with
# the head of $tmp/err and, when $fail_log names a file (a server's log), its tail.
pass() {
    passed=$((passed + 1))
    [ -z "${1:-}" ] || echo "ok   $1"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    if [ -s "$tmp/err" ]; then sed 's/^/    /' "$tmp/err" | head -n 12; fi
    if [ -n "${fail_log:-}" ] && [ -f "$fail_log" ]; then
        tail -n 5 "$fail_log" | sed 's/^/    log: /'
    fi
}
case_begin() {
    cname=$1
    cfail=0
}
expect() {
    what=$1
    shift
    if ! "$@"; then
        [ "$cfail" -eq 1 ] || echo "FAIL $cname"
        cfail=1
        echo "    expected: $what"
    fi
}
case_end() {
    if [ "$cfail" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        if [ -s "$tmp/err" ]; then
            echo "    stderr was:"
            head -n 5 "$tmp/err" | sed 's/^/      /'
        fi
    fi
}
stdin=/dev/null
run() {
    timeout "${run_timeout:-60}" "$@" < "$stdin" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    stdin=/dev/null
}
