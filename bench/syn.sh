# bench/syn.sh — sourced by the dedup benchmarks (run from the checkout's root; needs $shared,
# the shared folder holding scale_gen.py).
#   syn_path N       sets $syn to the usual file for N documents: build/syn100k.jsonl.gz,
#                    build/syn1m.jsonl.gz, else build/synN.jsonl.gz
#   syn_make N FILE  writes N scale_gen documents (documents 0 .. N-1, seed 1) into FILE once,
#                    nothing when FILE already exists. It uses bench/syn_gen.c, scale_gen.py's
#                    document loop ported to C (about 5 minutes for 10,000,000 on two cores,
#                    against 70 for scale_gen.py), after syn_check has found the port's output
#                    byte for byte scale_gen.py's on samples; else scale_gen.py itself, by two
#                    processes in parallel (about 7 minutes a million on this machine)
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
    if syn_check "$1"; then
        build/syn_gen build/syn_pool.txt "$_half" | gzip -1 > "$2.0.gz" &
        build/syn_gen build/syn_pool.txt $(($1 - _half)) "$_half" | gzip -1 > "$2.1.gz"
    else
        echo "bench: build/syn_gen differs from scale_gen.py (or did not build): scale_gen.py"
        python3 "$shared/scale_gen.py" "$_half" --out "$2.0.gz" &
        python3 "$shared/scale_gen.py" $(($1 - _half)) --start "$_half" --out "$2.1.gz"
    fi
    wait
    cat "$2.0.gz" "$2.1.gz" > "$2.tmp" && rm -f "$2.0.gz" "$2.1.gz" && mv "$2.tmp" "$2"
}
