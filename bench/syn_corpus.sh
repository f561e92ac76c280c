# bench/syn_corpus.sh — sourced by the dedup benchmarks: syn_corpus N SHARED_DIR WHO sets $syn
# to build/syn*.jsonl.gz, N scale_gen documents, generating it once (two processes in parallel;
# about 7 minutes a million). Run from the checkout's root.
syn_corpus() {
    case $1 in 100000) syn=build/syn100k.jsonl.gz ;; 1000000) syn=build/syn1m.jsonl.gz ;;
        *) syn=build/syn$1.jsonl.gz ;; esac
    mkdir -p build
    if [ ! -s "$syn" ]; then
        echo "$3: generating $1 scale_gen documents into $syn (once)"
        half=$(($1 / 2))
        python3 "$2/scale_gen.py" "$half" --out "$syn.0.gz" &
        python3 "$2/scale_gen.py" $(($1 - half)) --start "$half" --out "$syn.1.gz"
        wait
        cat "$syn.0.gz" "$syn.1.gz" > "$syn.tmp" && rm -f "$syn.0.gz" "$syn.1.gz" &&
            mv "$syn.tmp" "$syn"
    fi
}
