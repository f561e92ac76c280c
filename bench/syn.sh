# bench/syn.sh — sourced by the dedup benchmarks (run from the checkout's root; needs $shared,
# the shared folder holding scale_gen.py).
#   syn_path N       sets $syn to the usual file for N documents: build/syn100k.jsonl.gz,
#                    build/syn1m.jsonl.gz, else build/synN.jsonl.gz
#   syn_make N FILE  writes N scale_gen documents (documents 0 .. N-1, seed 1) into FILE once,
#                    by two processes in parallel (about 7 minutes a million on this machine);
#                    nothing when FILE already exists
syn_path() {
    case $1 in 100000) syn=build/syn100k.jsonl.gz ;; 1000000) syn=build/syn1m.jsonl.gz ;;
        *) syn=build/syn$1.jsonl.gz ;; esac
}

syn_make() {
    [ -s "$2" ] && return 0
    echo "bench: generating $1 scale_gen documents into $2 (once)"
    mkdir -p "$(dirname "$2")"
    _half=$(($1 / 2))
    python3 "$shared/scale_gen.py" "$_half" --out "$2.0.gz" &
    python3 "$shared/scale_gen.py" $(($1 - _half)) --start "$_half" --out "$2.1.gz"
    wait
    cat "$2.0.gz" "$2.1.gz" > "$2.tmp" && rm -f "$2.0.gz" "$2.1.gz" && mv "$2.tmp" "$2"
}
