# bench/serve_common.sh — sourced by bench/serve_bench.sh and bench/serve_hostile.sh: the
# corpus they serve and the start of the server. POSIX sh; uses $bin, $dir, $gen, $n and
# $sthreads of the sourcing script.

# serve_corpus NAME: $dir/ix (the index of $n scale_gen.py documents, seed 1) and
# $dir/bodies.jsonl (200 /v1/check bodies of exactly 3,000 code points made of the first
# indexed documents' texts: each reuses several indexed documents). Made once and kept while
# $n, scale_gen.py and the binary are the same (the stamp in $dir/STAMP). Returns 0 when it
# made them, 1 when they were there.
serve_corpus() {
    stamp="n=$n $(cksum < "$gen") $(cksum < "$bin")"
    if [ -f "$dir/STAMP" ] && [ "$(cat "$dir/STAMP")" = "$stamp" ] && [ -f "$dir/ix" ]; then
        return 1
    fi
    echo "$1: generating and indexing $n documents"
    python3 "$gen" "$n" --seed 1 --out "$dir/corpus.jsonl.gz"
    rm -f "$dir/ix" "$dir/ix-lock"
    "$bin" index build -o "$dir/ix" --threads "$sthreads" "$dir/corpus.jsonl.gz" > /dev/null
    python3 "$gen" 400 --seed 1 | python3 -c '
import json, sys
out, buf = [], ""
for line in sys.stdin:
    buf += json.loads(line)["text"] + "\n"
    while len(buf) >= 3000 and len(out) < 200:
        out.append(buf[:3000]); buf = buf[3000:]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for t in out:
        f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
' "$dir/bodies.jsonl"
    echo "$stamp" > "$dir/STAMP"
    return 0
}

# serve_start INDEX ARGS...: `$bin serve -x INDEX --listen 127.0.0.1:0 --threads $sthreads
# ARGS...` in the background (its log in $dir/server.log); waits (at most 30 s) for its port.
# Sets pid (`tongyuan serve` replaces itself with tongyuan-serve: the same process), port and
# U (its URL); exits 1 with the log if it does not start.
serve_start() {
    ix=$1
    shift
    : > "$dir/server.log"
    "$bin" serve -x "$ix" --listen 127.0.0.1:0 --threads "$sthreads" "$@" 2> "$dir/server.log" &
    pid=$!
    i=0
    port=
    while [ $i -lt 300 ] && [ -z "$port" ]; do
        sleep 0.1
        i=$((i + 1))
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' "$dir/server.log")
    done
    [ -n "$port" ] || { cat "$dir/server.log" >&2; exit 1; }
    U=http://127.0.0.1:$port
}
