# bench/syn.sh — sourced by the dedup benchmarks (run from the checkout's root; needs $shared,
# the shared folder holding scale_gen.py).
#   syn_path N       sets $syn to the usual file for N documents: build/syn100k.jsonl.gz,
#                    build/syn1m.jsonl.gz, else build/synN.jsonl.gz
#   syn_make N FILE  writes N scale_gen documents (documents 0 .. N-1, seed 1) into FILE once,
#                    nothing when FILE already exists. It uses bench/syn_gen.c, scale_gen.py's
#                    document loop ported to C (10,000,000 in 11 minutes by two processes with
#                    gzip -1, beside a CI run, against about 70 for scale_gen.py), after
#                    syn_check has found the port's output byte for byte scale_gen.py's on
#                    samples; else scale_gen.py itself, by two processes in parallel (about 7
#                    minutes a million on this machine). A half that fails (a generator's or
#                    gzip's error, a full disk) fails the whole: FILE is not made
#   syn_check N      0 when build/syn_gen (built here) writes what scale_gen.py writes for
#                    documents 0..99 and N-100..N-1
syn_path() {
    case $1 in 100000) syn=build/syn100k.jsonl.gz ;; 1000000) syn=build/syn1m.jsonl.gz ;;
        *) syn=build/syn$1.jsonl.gz ;; esac
}

syn_check() {
    mkdir -p build
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -o build/syn_gen bench/syn_gen.c -lm 2>/dev/null || return 1
    python3 bench/syn_pool.py "$shared" build/syn_pool.txt || return 1
    _end=$(($1 > 300 ? $1 - 100 : 200))
    for _s in 0 "$_end"; do
        build/syn_gen build/syn_pool.txt 100 "$_s" > build/syn_check.c.jsonl &&
            python3 "$shared/scale_gen.py" 100 --start "$_s" > build/syn_check.py.jsonl &&
            cmp -s build/syn_check.c.jsonl build/syn_check.py.jsonl || return 1
    done
    rm -f build/syn_check.c.jsonl build/syn_check.py.jsonl
}

syn_make() {
    [ -s "$2" ] && return 0
    echo "bench: generating $1 scale_gen documents into $2 (once)"
    mkdir -p "$(dirname "$2")"
    _half=$(($1 / 2))
    _c=
    syn_check "$1" && _c=1 ||
        echo "bench: build/syn_gen differs from scale_gen.py (or did not build): scale_gen.py"
    rm -f "$2.0.fail" "$2.1.fail"
    syn_half "$_half" 0 "$2.0" &
    syn_half $(($1 - _half)) "$_half" "$2.1"
    wait
    if [ -e "$2.0.fail" ] || [ -e "$2.1.fail" ]; then
        rm -f "$2.0.gz" "$2.1.gz" "$2.0.fail" "$2.1.fail"
        echo "bench: generating $2 failed" >&2
        return 1
    fi
    cat "$2.0.gz" "$2.1.gz" > "$2.tmp" && rm -f "$2.0.gz" "$2.1.gz" && mv "$2.tmp" "$2"
}

# syn_half N START PREFIX: documents START.. into PREFIX.gz; PREFIX.fail when anything failed
syn_half() {
    if [ -n "$_c" ]; then
        { build/syn_gen build/syn_pool.txt "$1" "$2" || : > "$3.fail"; } | gzip -1 > "$3.gz" ||
            : > "$3.fail"
    else
        python3 "$shared/scale_gen.py" "$1" --start "$2" --out "$3.gz" || : > "$3.fail"
    fi
}
