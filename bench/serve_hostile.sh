#!/bin/sh
# bench/serve_hostile.sh — `tongyuan serve` with its default limits under hostile clients, on
# the loopback only: 1,000 slow connections (a header byte every 2 s), 40 uploads of 8 MB that
# stop short of the end, and meanwhile 64 normal clients checking documents and a /healthz
# probe. Goal (issue 15): /healthz and the checks answered within 1 s throughout, the
# server's RSS growing by less than 100 MB.
#
# usage: sh bench/serve_hostile.sh TONGYUAN SHARED_DIR [CSV]
#   SERVE_HOSTILE_DOCS=N       indexed documents [10000]
#   SERVE_HOSTILE_SECONDS=S    length of the attack [60] (after 10 s without it)
#   SERVE_HOSTILE_SLOW=N       slow connections [1000];  SERVE_HOSTILE_UPLOADS=N [40]
#   SERVE_HOSTILE_CLIENTS=N    normal clients [64]
#   SERVE_HOSTILE_THREADS=T    server threads [all cores]
#   SERVE_HOSTILE_DIR          work directory [build/bench-hostile]
# Results: bench/serve_hostile_last.txt (and standard output); with CSV, one row per figure.
#
# 1. Corpus: SHARED_DIR/scale_gen.py N documents (seed 1), indexed once (cached while N and
#    scale_gen.py are unchanged); 200 check bodies of 3,000 code points made of indexed texts.
# 2. The server with its defaults (--max-conns 2048, --max-conns-per-addr 128,
#    --request-deadline 60, --request-memory 256M, --timeout 30). The slow connections come
#    from 10 loopback addresses (127.0.1.1-10, 100 each: under the per-address limit, so all
#    are let in and only the total limit, the deadline and epoll protect the others); one
#    cut off by the deadline comes back at once. The uploads come from 127.0.2.1: each sends
#    the headers of an 8,000,000-byte POST /v1/check, then 7.9 MB, then stalls; refused (503)
#    or cut off, it starts again a second later. The 64 normal clients (127.0.0.1) POST
#    /v1/check one after another on kept-alive connections; a probe GETs /healthz on a new
#    connection every 0.2 s. All clients are one Python process (bench/hostile.py).
# 3. 10 s of normal load alone (the baseline), then the attack for S seconds with the normal
#    load going on. Reported: the normal checks' p50/p99/max latency and errors before and
#    during the attack, the /healthz probes' worst time, what the attackers got (connections
#    held, cut off, uploads refused), the server's RSS before and its peak during the attack.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 3 "sh bench/serve_hostile.sh TONGYUAN SHARED_DIR [CSV]" "$@"
n=${SERVE_HOSTILE_DOCS:-10000}
secs=${SERVE_HOSTILE_SECONDS:-60}
slow=${SERVE_HOSTILE_SLOW:-1000}
uploads=${SERVE_HOSTILE_UPLOADS:-40}
clients=${SERVE_HOSTILE_CLIENTS:-64}
sthreads=${SERVE_HOSTILE_THREADS:-$(nproc 2> /dev/null || echo 2)}
dir=${SERVE_HOSTILE_DIR:-build/bench-hostile}
gen=$shared/scale_gen.py
out=bench/serve_hostile_last.txt
command -v wrk > /dev/null || { echo "serve-hostile: needs wrk (Debian: wrk)" >&2; exit 2; }
[ "$secs" -le 600 ] && [ "$slow" -le 5000 ] && [ "$uploads" -le 200 ] && [ "$clients" -le 512 ] || {
    echo "serve-hostile: at most 600 s, 5000 slow connections, 200 uploads, 512 clients" >&2
    exit 2
}
# the client process holds every connection: raise its open-file limit (soft, up to the hard)
need=$((slow + uploads + clients + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2> /dev/null || ulimit -n "$(ulimit -H -n)" || true
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ] || {
    echo "serve-hostile: needs $need open files (ulimit -n is $(ulimit -n), hard $(ulimit -H -n))" >&2
    exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pid=
cleanup() { [ -z "$pid" ] || kill -9 "$pid" 2> /dev/null || true; }
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# ---- 1. corpus, index, check bodies (cached) ----------------------------------------------
. bench/serve_common.sh
serve_corpus serve-hostile || true

# ---- 2. the server, with its default limits -------------------------------------------------
serve_start "$dir/ix" --access-log "$dir/access.log"
echo "serve-hostile: server on $U ($sthreads threads); ${secs}s attack after 10s of normal load"

# ---- 3. normal load, then the attack with it --------------------------------------------------
python3 bench/hostile.py --port "$port" --pid "$pid" --bodies "$dir/bodies.jsonl" \
    --seconds "$secs" --slow "$slow" --uploads "$uploads" --clients "$clients" \
    > "$dir/result.txt"
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=

v() { sed -n "s/^$1=//p" "$dir/result.txt"; }
{
    echo "# tongyuan serve under hostile clients ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2> /dev/null || echo ?)$(git diff --quiet HEAD 2> /dev/null || echo +dirty))"
    echo "# sh bench/serve_hostile.sh: SERVE_HOSTILE_DOCS=$n SERVE_HOSTILE_SECONDS=$secs; $(nproc) cores; server --threads $sthreads, default limits; loopback"
    echo "attack:          $slow slow connections (a header byte every 2 s, from 10 addresses), $uploads stalled 8 MB uploads (from 1 address), for ${secs} s"
    echo "normal clients:  $clients, POST /v1/check (3,000 characters) one after another; index of $n documents"
    echo "checks before:   $(v base_n) answered, p50 $(v base_p50) ms, p99 $(v base_p99) ms, max $(v base_max) ms, errors $(v base_err)"
    echo "checks during:   $(v att_n) answered, p50 $(v att_p50) ms, p99 $(v att_p99) ms, max $(v att_max) ms, errors $(v att_err)"
    echo "/healthz during: $(v hz_n) probes, p99 $(v hz_p99) ms, max $(v hz_max) ms, failed $(v hz_err); over 1 s (when, into the attack): $(v hz_over_1s)"
    echo "slow conns:      $(v slow_peak) held at the peak; $(v slow_cut) cut off (deadline) and reopened; $(v slow_refused) refused"
    echo "uploads:         $(v up_started) started; $(v up_503) refused with 503 (request memory), $(v up_reset) more closed while sending; $(v up_cut) cut off while stalled"
    echo "server RSS:      $(v rss0) MB before the attack, peak $(v rss_peak) MB during it (growth $(v rss_growth) MB)"
    echo "goal:            checks and /healthz within 1 s throughout, RSS growth < 100 MB: $(v verdict)"
} | tee "$out"
if [ -n "$csv" ]; then
    c="$(git rev-parse --short HEAD 2> /dev/null || echo ?)$(git diff --quiet HEAD 2> /dev/null || echo +dirty)"
    d=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    for m in att_p99 att_max hz_max rss_growth; do
        echo "$c,$d,serve-hostile,$m,$(v $m)" >> "$csv"
    done
fi
[ "$(v verdict)" = met ]
