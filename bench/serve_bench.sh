#!/bin/sh
# bench/serve_bench.sh — `tongyuan serve` under load: wrk POSTing 3,000-character documents to
# /v1/check while another client adds documents; then kill -9, restart, and every document
# the server acknowledged with 200 must be there.
#
# usage: sh bench/serve_bench.sh TONGYUAN SHARED_DIR
#   SERVE_BENCH_DOCS=N       indexed documents [100000]
#   SERVE_BENCH_SECONDS=S    wrk duration [60]
#   SERVE_BENCH_CONNS=C      wrk connections [64];  SERVE_BENCH_WRK_THREADS [2]
#   SERVE_BENCH_THREADS=T    server threads [all cores]
#   SERVE_BENCH_DIR          work directory [build/bench-serve]
# Results: bench/serve_last.txt (and standard output).
#
# 1. Corpus: SHARED_DIR/scale_gen.py N documents (seed 1), indexed once (cached while N and
#    scale_gen.py are unchanged). Queries: 200 bodies of exactly 3,000 code points made of
#    the first indexed documents' texts (each query reuses several indexed documents).
#    Documents to add: scale_gen.py with seed 9 (not in the index).
# 2. The server (--token-file), warmed up for 3 s; RSS (and its anonymous part: heap, not
#    the index's mapped pages) before; wrk -t2 -c64 -d60s with a Lua script cycling the
#    bodies; meanwhile one client POSTs /v1/docs one after another and logs each 200.
#    RSS after. wrk's requests/s, p50/p99 latency, non-2xx responses and socket errors.
# 3. kill -9 while the adder is still posting; restart; GET /v1/docs/{id} for every
#    acknowledged id: all must be found. Goals (issue 5): zero errors, flat memory, nothing
#    acknowledged lost.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 9 "sh bench/serve_bench.sh TONGYUAN SHARED_DIR" "$@"
n=${SERVE_BENCH_DOCS:-100000}
secs=${SERVE_BENCH_SECONDS:-60}
conns=${SERVE_BENCH_CONNS:-64}
wthreads=${SERVE_BENCH_WRK_THREADS:-2}
sthreads=${SERVE_BENCH_THREADS:-$(nproc 2> /dev/null || echo 2)}
dir=${SERVE_BENCH_DIR:-build/bench-serve}
gen=$shared/scale_gen.py
out=bench/serve_last.txt
command -v wrk > /dev/null || { echo "serve-bench: needs wrk (Debian: wrk)" >&2; exit 2; }
command -v curl > /dev/null || { echo "serve-bench: needs curl" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pid=
adder=
cleanup() {
    [ -z "$adder" ] || kill "$adder" 2> /dev/null || true
    [ -z "$pid" ] || kill -9 "$pid" 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# ---- 1. corpus, index, queries, documents to add (cached) ---------------------------------
. bench/serve_common.sh
if serve_corpus serve-bench || [ ! -f "$dir/adds.jsonl" ]; then
    python3 "$gen" 5000 --seed 9 --out "$dir/adds.jsonl"
fi
# the adds of an earlier run are in the index: use a fresh copy of it
cp "$dir/ix" "$dir/run-ix"
rm -f "$dir/run-ix-lock"

# ---- 2. server, load, concurrent adds ------------------------------------------------------
printf 'bench-token\n' > "$dir/token"
start_server() {
    serve_start "$dir/run-ix" --token-file "$dir/token" --access-log "$dir/access.log"
}
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

start_server
echo "serve-bench: server on $U ($sthreads threads); warming up"
BODIES=$dir/bodies.jsonl wrk -t1 -c4 -d3s -s bench/check.lua "$U" > /dev/null
rss0=$(rss "$pid" VmRSS)
anon0=$(rss "$pid" RssAnon)

# the adder: POST /v1/docs one after another until stopped; each 200 logged (id) at once
python3 - "$U" "$dir/adds.jsonl" "$dir/acked.txt" > "$dir/adder.log" 2>&1 << 'EOF' &
import json, sys, time, urllib.request, urllib.error
url, src, log = sys.argv[1], sys.argv[2], sys.argv[3]
ok = bad = 0
lat = []
with open(log, "w") as acked:
    for n, line in enumerate(open(src, encoding="utf-8")):
        d = json.loads(line)
        body = json.dumps({"id": "bench-add-%05d" % n, "text": d["text"]}).encode()
        rq = urllib.request.Request(url + "/v1/docs", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": "Bearer bench-token"})
        t = time.time()
        try:
            with urllib.request.urlopen(rq, timeout=30) as r:
                r.read()
                if r.status == 200:
                    acked.write("bench-add-%05d\n" % n); acked.flush()
                    ok += 1; lat.append(time.time() - t)
        except urllib.error.HTTPError as e:
            bad += 1
        except Exception:
            break  # the server is gone (kill -9)
        print("adds ok=%d failed=%d" % (ok, bad), flush=True)
lat.sort()
if lat:
    print("adds ok=%d failed=%d p50_ms=%.1f p99_ms=%.1f" % (ok, bad, 1e3 * lat[len(lat) // 2],
          1e3 * lat[min(len(lat) - 1, int(len(lat) * .99))]), flush=True)
EOF
adder=$!

echo "serve-bench: wrk -t$wthreads -c$conns -d${secs}s POST /v1/check (3,000-character documents)"
BODIES=$dir/bodies.jsonl wrk -t"$wthreads" -c"$conns" -d"${secs}s" --timeout 10s \
    -s bench/check.lua "$U" > "$dir/wrk.txt" 2>&1 || true
rss1=$(rss "$pid" VmRSS)
anon1=$(rss "$pid" RssAnon)

# ---- 3. kill -9 while adding; restart; every acknowledged document is there ---------------
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
sleep 0.5
kill "$adder" 2> /dev/null || true
wait "$adder" 2> /dev/null || true
adder=
acked=$(wc -l < "$dir/acked.txt" | tr -d ' ')
start_server
found=0
missing=0
while read -r id; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/docs/$id")
    if [ "$code" = 200 ]; then found=$((found + 1)); else missing=$((missing + 1)); fi
done < "$dir/acked.txt"
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=

res=$(grep '^RESULT' "$dir/wrk.txt" || true)
[ -n "$res" ] || { cat "$dir/wrk.txt" >&2; exit 1; }
f() { echo "$res" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
errors=$(($(f non2xx) + $(f connect) + $(f read) + $(f write) + $(f timeout)))
adds=$(tail -n 1 "$dir/adder.log")
{
    echo "# tongyuan serve under load ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2> /dev/null || echo ?)$(git diff --quiet HEAD 2> /dev/null || echo +dirty))"
    echo "# sh bench/serve_bench.sh: SERVE_BENCH_DOCS=$n SERVE_BENCH_SECONDS=$secs; $(nproc) cores; server --threads $sthreads"
    echo "index:          $n documents (scale_gen.py seed 1)"
    echo "load:           wrk -t$wthreads -c$conns -d${secs}s POST /v1/check, 3,000-character documents"
    echo "requests/s:     $(f rps)"
    echo "latency:        p50 $(f p50_ms) ms, p90 $(f p90_ms) ms, p99 $(f p99_ms) ms, max $(f max_ms) ms"
    echo "requests:       $(f requests)"
    echo "errors:         $errors (non-2xx $(f non2xx), connect $(f connect), read $(f read), write $(f write), timeout $(f timeout))"
    echo "server RSS:     before $((rss0 / 1024)) MB, after $((rss1 / 1024)) MB (anonymous: before $((anon0 / 1024)) MB, after $((anon1 / 1024)) MB; the rest is the index's mapped pages)"
    echo "concurrent adds: $adds"
    echo "kill -9 + restart: $acked acknowledged with 200, $found found, $missing missing"
} | tee "$out"
[ "$missing" -eq 0 ]
