#!/bin/sh
# bench/index_bench.sh — the corpus index at scale: build throughput, size, query latency,
# peak memory.
#
# usage: sh bench/index_bench.sh TONGYUAN SHARED_DIR [CSV]
#   INDEX_BENCH_DOCS=N   corpus size [1000000: ~2 GB of text; 20000-100000 for a quick look]
#   INDEX_BENCH_QUERIES  number of 3,000-character queries [300]
#   INDEX_BENCH_DIR      work directory [build/bench-index]
#   CSV                  if given, one row per figure is appended (commit,date,tool,metric,
#                        value — the format of bench/results.csv)
#
# 1. The corpus: SHARED_DIR/scale_gen.py N documents (seed 1) as one .jsonl.gz, made once in
#    parallel parts (--start; gzip members concatenate) and reused while N and scale_gen.py
#    are unchanged. Queries: documents of scale_gen.py with another seed, joined into texts of
#    exactly 3,000 code points (they share pool sentences with many indexed documents: a
#    demanding case for the candidate step).
# 2. index build with --threads 1 and 2: MB/s (of document text) and docs/s, peak RSS (GNU
#    time); index size on disk per MB of text.
# 3. tongyuan check --latency --threads 1 on the queries against the 2-thread index: median
#    and p99 time per document (in-process, index open excluded), peak RSS.
# Goals (issue 3): build >= 20 MB/s per core; median query <= 10 ms against 1M documents;
# index <= 1.5 x the input text.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 3 "sh bench/index_bench.sh TONGYUAN SHARED_DIR [CSV]" "$@"
n=${INDEX_BENCH_DOCS:-1000000}
nq=${INDEX_BENCH_QUERIES:-300}
dir=${INDEX_BENCH_DIR:-build/bench-index}
mkdir -p "$dir"
gen=$shared/scale_gen.py
command -v /usr/bin/time > /dev/null || { echo "index-bench: needs GNU time (Debian: time)" >&2; exit 2; }

# ---- 1. corpus and queries (cached) ---------------------------------------------------------------
stamp="n=$n q=$nq $(cksum < "$gen")"
corpus=$dir/corpus-$n.jsonl.gz
queries=$dir/queries.jsonl
if [ ! -f "$dir/STAMP" ] || [ "$(cat "$dir/STAMP")" != "$stamp" ] || [ ! -f "$corpus" ]; then
    parts=$(nproc 2> /dev/null || echo 2)
    echo "index-bench: generating $n documents with scale_gen.py ($parts parts; 1M takes minutes)"
    per=$(((n + parts - 1) / parts))
    i=0
    pids=
    while [ "$i" -lt "$parts" ]; do
        start=$((i * per))
        cnt=$((n - start < per ? n - start : per))
        if [ "$cnt" -gt 0 ]; then
            python3 "$gen" "$cnt" --seed 1 --start "$start" --out "$dir/part$i.jsonl.gz" &
            pids="$pids $!"
        fi
        i=$((i + 1))
    done
    for p in $pids; do wait "$p"; done
    rm -f "$corpus"
    i=0
    while [ "$i" -lt "$parts" ]; do
        [ -f "$dir/part$i.jsonl.gz" ] && cat "$dir/part$i.jsonl.gz" >> "$corpus"
        rm -f "$dir/part$i.jsonl.gz"
        i=$((i + 1))
    done
    python3 "$gen" $((nq * 4)) --seed 7 | python3 -c '
import json, sys
nq, out = int(sys.argv[1]), []
buf = ""
for line in sys.stdin:
    buf += json.loads(line)["text"] + "\n"
    while len(buf) >= 3000 and len(out) < nq:
        out.append(buf[:3000])
        buf = buf[3000:]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i, t in enumerate(out):
        f.write(json.dumps({"id": "q%04d" % i, "text": t}, ensure_ascii=False) + "\n")
' "$nq" "$queries"
    echo "$stamp" > "$dir/STAMP"
fi

commit=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
git diff --quiet HEAD 2> /dev/null || commit="$commit+dirty"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
row() { # TOOL METRIC VALUE
    echo "$1 $2 $3"
    [ -z "$csv" ] || echo "$commit,$date,$1,$2,$3" >> "$csv"
}
json_field() { sed "s/.*\"$2\":\([0-9]*\).*/\1/" "$1"; }

# ---- 2. build -----------------------------------------------------------------------------------------
for t in 1 2; do
    idx=$dir/t$t.idx
    rm -f "$idx" "$idx-lock"
    /usr/bin/time -f "%e %M" -o "$dir/time.$t" "$bin" index build -q --threads "$t" -o "$idx" \
        "$corpus"
    "$bin" index stats --format json "$idx" > "$dir/stats.$t"
    read -r secs rss < "$dir/time.$t"
    bytes=$(json_field "$dir/stats.$t" text_bytes)
    docs=$(json_field "$dir/stats.$t" documents)
    file=$(json_field "$dir/stats.$t" file_bytes)
    row "index-build-t$t" mb_per_s "$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f", b/1e6/s}')"
    row "index-build-t$t" docs_per_s "$(awk -v d="$docs" -v s="$secs" 'BEGIN{printf "%.0f", d/s}')"
    row "index-build-t$t" seconds "$secs"
    row "index-build-t$t" peak_rss_mb "$(awk -v k="$rss" 'BEGIN{printf "%.0f", k/1024}')"
done
row index size_per_text_mb "$(awk -v f="$file" -v b="$bytes" 'BEGIN{printf "%.3f", f/b}')"
row index documents "$docs"
row index text_mb "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')"
row index file_mb "$(awk -v f="$file" 'BEGIN{printf "%.1f", f/1e6}')"

# ---- 3. queries ------------------------------------------------------------------------------------------
idx=$dir/t2.idx
"$bin" check -x "$idx" --threads 1 --format jsonl "$queries" > /dev/null 2>&1 || true # warm the cache
/usr/bin/time -f "%e %M" -o "$dir/time.q" "$bin" check -x "$idx" --latency --threads 1 \
    --format jsonl "$queries" > "$dir/check.jsonl" 2> "$dir/check.err" || true
lat=$(grep 'latency median' "$dir/check.err" || true)
[ -n "$lat" ] || { echo "index-bench: check failed:" >&2; cat "$dir/check.err" >&2; exit 1; }
read -r qsecs qrss < "$dir/time.q"
row "check-3000" median_ms "$(echo "$lat" | sed 's/.*median \([0-9.]*\) ms.*/\1/')"
row "check-3000" p99_ms "$(echo "$lat" | sed 's/.*p99 \([0-9.]*\) ms.*/\1/')"
row "check-3000" queries_per_s "$(awk -v n="$nq" -v s="$qsecs" 'BEGIN{printf "%.0f", n/s}')"
row "check-3000" peak_rss_mb "$(awk -v k="$qrss" 'BEGIN{printf "%.0f", k/1024}')"
row "check-3000" sources_found "$(cut -d, -f1 "$dir/check.jsonl" | sort -u | wc -l | tr -d ' ')"
