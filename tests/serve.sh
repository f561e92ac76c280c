#!/bin/sh
# tests/serve.sh — end-to-end tests of `tongyuan serve` over HTTP (curl and python3).
#
#   TY=build/tongyuan sh tests/serve.sh
#
# Builds a small index (examples/original.txt and a few test texts), starts the server on
# 127.0.0.1 with a port the kernel picks (--listen 127.0.0.1:0; the port is read from its
# "listening on" line), and checks every endpoint: /healthz, /, /v1/stats, /v1/check,
# /v1/report, POST /v1/docs, GET and DELETE /v1/docs/{id}; the bearer token (missing, wrong,
# writes disabled, --auth-reads); 413 (Content-Length and chunked), 400 (invalid JSON,
# invalid UTF-8, missing text, not an object, bad option), 405 with Allow, 404; a client
# that sends half a request and stalls (others are served meanwhile; it is cut off after
# --timeout); SIGTERM while a request is in flight (it is finished, the server exits 0); and
# durability: a document acknowledged with 200, then kill -9, restart: it is there; an added
# document's recorded origin is "POST /v1/docs" (not a temporary file); `index build` onto the
# index while the server writes to it is refused and every acknowledged document kept; a full
# disk (tests/lib/fullfs.c, LD_PRELOAD): 40 adds with random room — every 200 is there
# afterwards and nothing else, every refusal says "No space left on device", a retry with
# room never gets 409.
# Every wait is bounded; every server started is killed at the end.
# Prints a FAIL line per failed case and ends with "N passed, N failed". POSIX sh.

set -u
cd "$(dirname "$0")/.." || exit 2

TY=${TY:-build/tongyuan}
case $TY in /*) ;; *) TY=$PWD/$TY ;; esac
LC_ALL=C
export LC_ALL
passed=0
failed=0
pid=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_serve.XXXXXX") || exit 2
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2> /dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

# pass NAME, fail NAME (with the server log's tail): tests/lib/cases.sh
. tests/lib/cases.sh
fail_log=$tmp/log
check() { # check NAME COMMAND ARGS...
    name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
checke() { # checke NAME 'SHELL CONDITION'
    if eval "$2"; then pass "$1"; else fail "$1"; fi
}

for tool in curl python3; do
    if ! command -v $tool > /dev/null; then
        echo "serve.sh: $tool is needed"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

# start_server ARGS...: start in the background, wait (at most 10 s) for its port
start_server() {
    : > "$tmp/log"
    # shellcheck disable=SC2086 # SERVE_ENV: NAME=VALUE words, split on purpose
    env ${SERVE_ENV:-} "$TY" serve -x "${IX:-$tmp/ix}" --listen 127.0.0.1:0 --threads 4 --timeout 2 --grace 10 \
        --max-body 1M "$@" 2>> "$tmp/log" &
    pid=$!
    i=0
    port=
    while [ $i -lt 100 ]; do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' "$tmp/log")
        if [ -n "$port" ]; then break; fi
        if ! kill -0 "$pid" 2> /dev/null; then break; fi
        sleep 0.1
        i=$((i + 1))
    done
    U=http://127.0.0.1:$port
    [ -n "$port" ]
}
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2> /dev/null
        wait_exit
    fi
}
# wait_exit: wait (at most 15 s) for the server to exit; its status in $status
wait_exit() {
    i=0
    while kill -0 "$pid" 2> /dev/null && [ $i -lt 150 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$pid" 2> /dev/null; then
        kill -9 "$pid" 2> /dev/null
        status=137
    fi
    wait "$pid"
    status=$?
    pid=
}

# req METHOD PATH [curl args...]: body to $tmp/body, status code to $code
req() {
    m=$1
    p=$2
    shift 2
    code=$(curl -s -m 20 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X "$m" "$@" "$U$p")
}
# jq_py EXPR: evaluate a python expression on the JSON body (bound to j); prints the result
jq_py() { python3 -c "import json,sys; j=json.load(open('$tmp/body')); print($1)" 2> /dev/null; }
json_text() { # json_text FILE [extra members, as JSON without the braces]
    python3 -c "import json,sys; print(json.dumps({'text': open(sys.argv[1], encoding='utf-8').read()} | json.loads('{' + sys.argv[2] + '}')))" "$1" "${2:-}"
}

# the index: the bundled example's original and a few unrelated texts
if ! "$TY" index build -o "$tmp/ix" examples/original.txt tests/data/text/src-00109.txt \
    tests/data/text/src-00085.txt tests/data/text/src-00001.txt > "$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "0 passed, 1 failed"
    exit 1
fi
printf 'test-token-123\n' > "$tmp/token"
json_text examples/spun.txt > "$tmp/spun.json"
json_text examples/spun.txt '"name":"spun.txt","min_score":0.99' > "$tmp/spun_strict.json"

check "server starts (port printed)" start_server --token-file "$tmp/token"
AUTH="Authorization: Bearer test-token-123"

# ---- the port: a second server on it is refused (no SO_REUSEPORT splitting the requests) ---
cp -r "$tmp/ix" "$tmp/ix2"
"$TY" serve -x "$tmp/ix2" --listen "127.0.0.1:$port" > /dev/null 2> "$tmp/err" &
pid2=$!
i=0
while kill -0 $pid2 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid2 2> /dev/null; then kill -9 $pid2 2> /dev/null; fi
wait $pid2
checke "a second server on a busy port: exit 2" "[ $? = 2 ]"
check "a busy port: the message names it" grep -q "port $port is already in use" "$tmp/err"
"$TY" serve -x "$tmp/ix" --listen 192.0.2.1:8080 > /dev/null 2> "$tmp/err"
checke "an address not of this machine: exit 2" "[ $? = 2 ]"
check "... the message names the address and port" \
    grep -q "192.0.2.1:8080: 192.0.2.1 is not an address of this machine" "$tmp/err"

# ---- reads ------------------------------------------------------------------------------
req GET /healthz
check "GET /healthz 200" [ "$code" = 200 -a "$(jq_py "j['status']")" = ok ]
req GET /
checke "GET / is the page" '[ "$code" = 200 ] && grep -q "<textarea id=.text" "$tmp/body"'
check "GET / is text/html" grep -qi '^content-type: text/html' "$tmp/hdr"
req GET /v1/stats
check "GET /v1/stats: 4 documents" [ "$code" = 200 -a "$(jq_py "j['docs']")" = 4 ]
req POST /v1/check --data-binary @"$tmp/spun.json"
check "POST /v1/check 200" [ "$code" = 200 ]
check "check finds examples/original.txt" \
    [ "$(jq_py "j['sources'][0]['src']")" = examples/original.txt ]
check "check: passages have the JSONL fields" [ "$(jq_py "sorted(j['sources'][0]['passages'][0])")" = \
    "['score', 'src', 'src_byte_len', 'src_byte_off', 'src_len', 'src_off', 'sus', 'sus_byte_len', 'sus_byte_off', 'sus_len', 'sus_off']" ]
# the same passages as `tongyuan check --format jsonl`
"$TY" check -x "$tmp/ix" --format jsonl examples/spun.txt > "$tmp/cli.jsonl" 2> /dev/null
python3 - "$tmp/body" "$tmp/cli.jsonl" > "$tmp/cmp" 2>&1 << 'EOF'
import json, sys
api = json.load(open(sys.argv[1]))
cli = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
key = lambda p: (p['src'], p['src_off'], p['src_len'], p['sus_off'], p['sus_len'], p['score'])
a = sorted(key(p) for s in api['sources'] for p in s['passages'])
c = sorted(key(p) for p in cli)
print('same' if a == c and a else 'differ %r %r' % (a, c))
EOF
check "check: the passages of tongyuan check --format jsonl" [ "$(cat "$tmp/cmp")" = same ]
req POST /v1/check --data-binary @"$tmp/spun_strict.json"
check "check: min_score applies" [ "$code" = 200 -a "$(jq_py "len(j['sources'])")" = 0 ]
req POST /v1/check --data '{"text":"无关的一句话，和索引里的文章没有关系。"}'
check "check: unrelated text, no sources" [ "$code" = 200 -a "$(jq_py "len(j['sources'])")" = 0 ]
req POST /v1/report --data-binary @"$tmp/spun.json"
checke "POST /v1/report: an HTML report with passages" \
    '[ "$code" = 200 ] && grep -q "<mark class=.p" "$tmp/body"'

# ---- writes -----------------------------------------------------------------------------
DOC='{"id":"api/doc-1","text":"青石岭小学的孩子们在新建的图书馆里读书，老师说这是全村人一起努力的结果。村里的木匠做了书架。"}'
req POST /v1/docs --data "$DOC"
check "POST /v1/docs without a token: 401" [ "$code" = 401 ]
check "401 says WWW-Authenticate" grep -qi '^www-authenticate: bearer' "$tmp/hdr"
req POST /v1/docs -H "Authorization: Bearer wrong" --data "$DOC"
check "POST /v1/docs with a wrong token: 401" [ "$code" = 401 ]
req POST /v1/docs -H "$AUTH" --data "$DOC"
check "POST /v1/docs: 200, committed" [ "$code" = 200 -a "$(jq_py "j['committed']")" = True ]
req POST /v1/docs -H "$AUTH" --data "$DOC"
check "POST /v1/docs with a taken id: 409" [ "$code" = 409 ]
req POST /v1/docs -H "authorization: bearer   test-token-123" --data "$DOC"
check "the scheme in lower case, spaces after it: the token is taken (409, not 401)" [ "$code" = 409 ]
req POST /v1/docs -H "Authorization: BEARER test-token-123" --data "$DOC"
check "the scheme in upper case: the token is taken" [ "$code" = 409 ]
req POST /v1/docs -H "Authorization: Basic dGVzdC10b2tlbi0xMjM=" --data "$DOC"
check "another scheme: 401" [ "$code" = 401 ]
req POST /v1/docs -H "$AUTH" --data '{"id":"","text":"空的编号不能用来取回文章。"}'
check "POST /v1/docs with an empty id: 400 saying so" \
    [ "$code" = 400 -a "$(jq_py "'empty document id' in j['error']")" = True ]
req POST /v1/docs -H "$AUTH" --data '{"id":"a\u0000b","text":"编号里有空字符的文章。"}'
check "POST /v1/docs with a NUL in the id: 400" \
    [ "$code" = 400 -a "$(jq_py "'NUL' in j['error']")" = True ]
req GET /v1/docs/a
check "... and nothing was stored under the id cut at the NUL" [ "$code" = 404 ]
req GET /v1/docs/
check "GET /v1/docs/ (no id): 400 saying the id is empty" \
    [ "$code" = 400 -a "$(jq_py "'empty document id' in j['error']")" = True ]
req DELETE /v1/docs/ -H "$AUTH"
check "DELETE /v1/docs/ (no id): 400" [ "$code" = 400 ]
req GET /v1/docs/api/doc-1
check "GET /v1/docs/{id}: the text" [ "$code" = 200 -a "$(jq_py "j['text'][:5]")" = "青石岭小学" ]
req GET /v1/docs/examples/original.txt
check "GET /v1/docs/{id} of an indexed file" [ "$code" = 200 -a "$(jq_py "j['origin']")" = examples/original.txt ]
req POST /v1/check --data '{"text":"青石岭小学的孩子们在新建的图书馆里读书，老师说这是全村人一起努力的结果。"}'
check "check finds the added document" [ "$(jq_py "[s['src'] for s in j['sources']].count('api/doc-1')")" = 1 ]
req DELETE /v1/docs/api/doc-1
check "DELETE without a token: 401" [ "$code" = 401 ]
req DELETE /v1/docs/api/doc-1 -H "$AUTH"
check "DELETE /v1/docs/{id}: 200" [ "$code" = 200 ]
req GET /v1/docs/api/doc-1
check "GET a deleted document: 404" [ "$code" = 404 ]
req DELETE /v1/docs/api/doc-1 -H "$AUTH"
check "DELETE again: 404" [ "$code" = 404 ]
req POST /v1/check --data '{"text":"青石岭小学的孩子们在新建的图书馆里读书，老师说这是全村人一起努力的结果。"}'
check "check no longer reports the deleted document" [ "$(jq_py "[s['src'] for s in j['sources']].count('api/doc-1')")" = 0 ]
req GET /v1/stats
check "stats count the deletion" [ "$(jq_py "(j['docs'], j['deleted'])")" = "(4, 1)" ]
REPOST='"text":"大雪封山的第三天，护林员老周踩着齐膝的积雪把药送到了山顶的气象站，站里的两个年轻人已经断粮一天。"'
req POST /v1/docs -H "$AUTH" --data "{\"id\":\"api/story\",$REPOST}"
req POST /v1/docs -H "$AUTH" --data "{\"id\":\"api/repost\",$REPOST}"
req POST /v1/check --data "{$REPOST}"
check "a repost: one source, the other in also (id, shared, score)" [ "$(jq_py "[(s['src'], [(a['src'], a['id'] > 0, a['shared'] > 0, a['score'] > 0.9) for a in s['also']], s['also_more']) for s in j['sources']]")" = "[('api/story', [('api/repost', True, True, True)], 0)]" ]
req GET /v1/docs/no-such-doc
check "GET an unknown document: 404" [ "$code" = 404 ]
req POST /v1/docs -H "$AUTH" --data '{"id":"x","text":"a\u0000b"}'
check "POST /v1/docs with a NUL in the text: 400" [ "$code" = 400 ]

# ---- the Host header: on a loopback address, only local names (DNS rebinding) -----------
req GET /v1/stats -H "Host: rebound.example.com"
check "Host of another site on a loopback server: 421" \
    [ "$code" = 421 -a "$(jq_py "'rebound.example.com' in j['error']")" = True ]
req GET /v1/docs/examples/original.txt -H "Host: rebound.example.com:$port"
check "... also with a port, for a stored document" [ "$code" = 421 ]
# host_gets HOST CODE WHAT: GET /v1/stats with that Host header answers CODE
host_gets() {
    req GET /v1/stats -H "Host: $1"
    check "$3" [ "$code" = "$2" ]
}
host_gets "localhost:$port" 200 "Host localhost:PORT: 200"
host_gets "LocalHost." 200 "Host in another case, with a trailing dot: 200"
host_gets "[::1]:$port" 200 "Host [::1]:PORT: 200"

# ---- bad requests -----------------------------------------------------------------------
python3 -c "print('{\"text\":\"' + 'a' * (1 << 20) + '\"}')" > "$tmp/big.json"
req POST /v1/check --data-binary @"$tmp/big.json"
check "body over --max-body: 413" [ "$code" = 413 -a -n "$(jq_py "j['error']")" ]
req POST /v1/check -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big.json"
check "chunked body over --max-body: 413" [ "$code" = 413 ]
req POST /v1/check --data '{"text": "abc"'
check "invalid JSON: 400 with a message" [ "$code" = 400 -a -n "$(jq_py "j['error']")" ]
printf '{"text":"\377\376 bad"}' > "$tmp/bad_utf8.json"
req POST /v1/check --data-binary @"$tmp/bad_utf8.json"
check "invalid UTF-8: 400" [ "$code" = 400 ]
req POST /v1/check --data '{"name":"no text"}'
check "missing text: 400" [ "$code" = 400 -a "$(jq_py "'text' in j['error']")" = True ]
req POST /v1/check --data '["text"]'
check "not an object: 400" [ "$code" = 400 ]
req POST /v1/check --data '{"text":"abc","min_score":7}'
check "bad min_score: 400" [ "$code" = 400 ]
req POST /v1/check
check "empty body: 400" [ "$code" = 400 ]
req GET /v1/check
check "GET /v1/check: 405" [ "$code" = 405 ]
check "405 says Allow: POST" grep -qi '^allow: POST' "$tmp/hdr"
req DELETE /v1/stats
check "DELETE /v1/stats: 405 with Allow" grep -qi '^allow: GET' "$tmp/hdr"
req GET /v2/nothing
check "unknown path: 404" [ "$code" = 404 ]
req GET /healthz
check "still serving after the bad requests" [ "$code" = 200 ]

# ---- a slow client does not block the others -------------------------------------------
python3 - 127.0.0.1 "$port" > "$tmp/slow" 2>&1 << 'EOF'
import socket, sys, time, urllib.request
host, port = sys.argv[1], int(sys.argv[2])
stalled = []
for _ in range(8):  # more stalled connections than threads
    s = socket.create_connection((host, port))
    s.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"te')
    stalled.append(s)
t0 = time.time()
for _ in range(5):
    with urllib.request.urlopen('http://%s:%d/healthz' % (host, port), timeout=5) as r:
        assert r.status == 200
fast = time.time() - t0
# the stalled ones are cut off after --timeout 2
stalled[0].settimeout(8)
t1 = time.time()
try:
    closed = stalled[0].recv(4096) == b''
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
print('fast' if fast < 2 else 'slow %.2f' % fast, 'closed' if closed else 'open',
      '%.1f' % (time.time() - t1))
EOF
check "stalled clients do not block others" grep -q '^fast' "$tmp/slow"
check "a stalled client is cut off after --timeout" grep -q ' closed ' "$tmp/slow"

# ---- durability: 200-acknowledged, kill -9, restart --------------------------------------
req POST /v1/docs -H "$AUTH" --data '{"id":"durable-1","text":"这是一篇在服务器被强行终止之前写入的文章，重启之后应该还能找到它。"}'
check "POST before kill -9: 200" [ "$code" = 200 ]
kill -9 "$pid"
wait "$pid" 2> /dev/null
pid=
check "restart after kill -9" start_server --token-file "$tmp/token"
req GET /v1/docs/durable-1
check "the acknowledged document survived kill -9" [ "$code" = 200 ]
check "its origin says POST /v1/docs" [ "$(jq_py "j['origin']")" = "POST /v1/docs" ]
req POST /v1/check --data '{"text":"这是一篇在服务器被强行终止之前写入的文章，重启之后应该还能找到它。"}'
check "and is found by check" [ "$(jq_py "j['sources'][0]['src']")" = durable-1 ]

# ---- a rebuild while the server writes: refused, nothing acknowledged lost ---------------
cp "$tmp/ix" "$tmp/ix.bak"
"$TY" index build -o "$tmp/ix" tests/data/text/src-00387.txt > /dev/null 2> "$tmp/err"
checke "index build onto the served index: exit 2" "[ $? = 2 ]"
check "... says a writer has it open" grep -q "ix: open for writing" "$tmp/err"
check "... the index left as it was" cmp -s "$tmp/ix" "$tmp/ix.bak"
req POST /v1/docs -H "$AUTH" --data '{"id":"after-rebuild","text":"重建索引被拒绝之后写入的文章，确认之后必须还在索引里面。"}'
check "POST after the refused rebuild: 200" [ "$code" = 200 ]

# ---- SIGTERM with a request in flight: it is finished, then a clean exit -----------------
python3 - 127.0.0.1 "$port" "$pid" "$tmp/spun.json" > "$tmp/term" 2>&1 << 'EOF'
import os, signal, socket, sys, time
host, port, pid, body = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), open(sys.argv[4], 'rb').read()
s = socket.create_connection((host, port))
s.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n' % len(body))
s.sendall(body[:100])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.3)
# new connections are refused now
try:
    socket.create_connection((host, port), timeout=1).close()
    refused = False
except OSError:
    refused = True
s.sendall(body[100:])
s.settimeout(10)
resp = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    resp += d
print(resp.split(b'\r\n', 1)[0].decode(), 'refused' if refused else 'accepted')
EOF
wait_exit
check "SIGTERM: the request in flight is answered" grep -q '^HTTP/1.1 200' "$tmp/term"
check "SIGTERM: no new connections" grep -q 'refused' "$tmp/term"
check "SIGTERM: exit status 0" [ "$status" = 0 ]
check "SIGTERM: says it stopped" grep -q 'tongyuan serve: stopped' "$tmp/log"
check "access log: one line per request" grep -q '127.0.0.1 POST "/v1/check" 200 ' "$tmp/log"

"$TY" index list "$tmp/ix" > "$tmp/list" 2> "$tmp/err"
check "acknowledged documents there after the server stopped" \
    grep -q "	after-rebuild	POST /v1/docs\$" "$tmp/list"
check "index list: the origin of an added document is POST /v1/docs" \
    grep -q "	durable-1	POST /v1/docs\$" "$tmp/list"

# ---- a full disk ---------------------------------------------------------------------------
FULLFS=${BUILD:-build}/tests/fullfs.so
case $FULLFS in /*) ;; *) FULLFS=$PWD/$FULLFS ;; esac
mkdir -p "$tmp/full"
"$TY" index build -o "$tmp/full/ix" examples/original.txt > /dev/null 2>&1
echo -1 > "$tmp/budget"
check "$FULLFS is built (make test builds it)" test -f "$FULLFS"
IX=$tmp/full/ix
SERVE_ENV="LD_PRELOAD=$FULLFS TY_FULLFS_DIR=$tmp/full TY_FULLFS_BUDGET=$tmp/budget"
SERVE_ENV="$SERVE_ENV ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
check "start on a disk that fills up" start_server --token-file "$tmp/token"
SERVE_ENV=
python3 - "$U" "$tmp/budget" > "$tmp/fullrun" 2>&1 << 'EOF'
import json, random, sys, urllib.error, urllib.request
url, budget = sys.argv[1], sys.argv[2]
rnd = random.Random(15)
def post(i, text):
    body = json.dumps({'id': 'full-%02d' % i, 'text': text}).encode()
    rq = urllib.request.Request(url + '/v1/docs', body, method='POST', headers={
        'Authorization': 'Bearer test-token-123', 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(rq, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
acked, bad, refused = [], [], 0
for i in range(40):  # documents of 4,000 random CJK characters: postings of their own
    text = ''.join(chr(0x4E00 + rnd.randrange(0x5000)) for _ in range(4000))
    room = rnd.choice([0, rnd.randrange(200000), rnd.randrange(40000), -1])
    open(budget, 'w').write('%d\n' % room)
    st, j = post(i, text)
    if st == 200 and j.get('committed') is True:
        acked.append('full-%02d' % i)
    elif st != 500 or 'No space left on device' not in j.get('error', ''):
        bad.append('full-%02d: %d %r' % (i, st, j))
    else:
        refused += 1
        if rnd.random() < 0.5:  # retry with room: added now, never 409
            open(budget, 'w').write('-1\n')
            st, j = post(i, text)
            if st == 200:
                acked.append('full-%02d' % i)
            else:
                bad.append('full-%02d retried: %d %r' % (i, st, j))
open(budget, 'w').write('-1\n')
print('acked', ' '.join(acked))
print('bad', ' | '.join(bad))
print('refused', refused)
EOF
stop_server
IX=
"$TY" index list "$tmp/full/ix" 2> /dev/null | cut -f2 | grep '^full-' | tr '\n' ' ' > "$tmp/present"
check "full disk: every refusal says No space left on device; retries get 200" \
    grep -q '^bad $' "$tmp/fullrun"
check "full disk: exactly the acknowledged documents are in the index" \
    [ "acked $(cat "$tmp/present")" = "$(grep '^acked' "$tmp/fullrun") " ]
check "full disk: some adds refused (then retried or not)" \
    grep -q '^refused [1-9]' "$tmp/fullrun"
"$TY" index verify "$tmp/full/ix" > /dev/null 2>&1
checke "full disk: the index verifies" "[ $? = 0 ]"
grep '^bad .' "$tmp/fullrun" | cut -c1-600 | sed 's/^/    /'

# ---- limits: connections per address and in total, the request deadline, request memory ---
# Small limits so that this takes a few seconds: 3 connections per address, 6 in all, 2 s to
# send a whole request, 2 MB of request memory (a 60 KB body is charged 18 times: 1.08 MB, a
# "large" request; large ones share 3/4 of the budget: one at a time).
check "start with small limits" start_server --max-conns-per-addr 3 --max-conns 6 \
    --request-deadline 2 --timeout 10 --max-body 64K --request-memory 2M
python3 - 127.0.0.1 "$port" > "$tmp/limits" 2>&1 << 'EOF'
import json, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
def conn(src='127.0.0.1'):
    s = socket.socket()
    s.bind((src, 0))
    s.connect((host, port))
    s.settimeout(8)
    return s
def answer(s):
    d = b''
    try:
        while b'\r\n\r\n' not in d:
            x = s.recv(65536)
            if not x:
                break
            d += x
    except OSError:
        pass
    head = d.split(b'\r\n\r\n')[0].decode('latin-1').lower()
    return head.split(' ')[1] if ' ' in head else 'closed', head
def get(s, path='/healthz'):
    s.sendall(b'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % path.encode())
    return answer(s)
def post(body, chunked=False):
    s = conn()
    try:
        if chunked:
            s.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                      b'Transfer-Encoding: chunked\r\n\r\n')
            for i in range(0, len(body), 8192):
                s.sendall(b'%x\r\n%s\r\n' % (len(body[i:i + 8192]), body[i:i + 8192]))
            s.sendall(b'0\r\n\r\n')
        else:
            s.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n'
                      % len(body) + body)
    except OSError:
        pass  # answered (and closed) before the whole body was sent
    code, head = answer(s)
    s.close()
    return code, head
def cut_after(s, data, limit=6):
    # send data a byte every 0.3 s until the server closes the connection: seconds, or None
    t0 = time.time()
    for ch in data:
        try:
            s.send(bytes([ch]))
        except OSError:
            return time.time() - t0
        time.sleep(0.3)
        if time.time() - t0 > limit:
            return None
    return None
# per address: the 4th connection from 127.0.0.1 is answered 429, with Retry-After
held = [conn() for _ in range(3)]
time.sleep(0.2)
code, head = get(conn())
print('per-address', code, 'retry-after' if 'retry-after: 1' in head else 'no-retry-after')
code, _ = get(conn('127.0.0.2'))
print('other-address', code)
# in total: 3 + 3 connections from other addresses fill the 6; the 7th gets 503
held += [conn('127.0.0.%d' % i) for i in (3, 4, 5)]
time.sleep(0.2)
code, _ = get(conn('127.0.0.6'))
print('total', code)
for s in held:
    s.close()
time.sleep(0.3)
# the deadline: a client sending its headers a byte every 0.3 s (each byte restarts the idle
# timer of --timeout 10) is cut off after --request-deadline 2; another is served meanwhile
slow = conn()
slow.send(b'P')
code, _ = get(conn('127.0.0.7'))
print('served-meanwhile', code)
cut = cut_after(slow, b'OST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n' * 4)
print('slow-headers', 'cut' if cut and 1.0 < cut < 4.5 else 'not-cut %r' % cut)
# the same for a body sent a byte at a time after complete headers
slow = conn()
slow.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n')
cut = cut_after(slow, b' ' * 100)
print('slow-body', 'cut' if cut and 1.5 < cut < 4.5 else 'not-cut %r' % cut)
# request memory: a stalled 60 KB upload holds its charge; a second large body gets 503
# (with and without Content-Length), a small check is served, and once the stalled one is
# gone the large body is served
big = json.dumps({'text': '山' * 20000}, ensure_ascii=False).encode()
small = json.dumps({'text': '山区小学迎来新图书馆'}, ensure_ascii=False).encode()
stalled = conn()
stalled.sendall(b'POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n'
                % len(big) + big[:1000])
time.sleep(0.3)
code, head = post(big)
print('memory-large', code, 'retry-after' if 'retry-after: 1' in head else 'no-retry-after')
print('memory-chunked', post(big, chunked=True)[0])
print('memory-small', post(small)[0])
stalled.close()
time.sleep(0.5)
print('memory-after', post(big)[0])
EOF
check "per address: the connection over --max-conns-per-addr gets 429 with Retry-After" \
    grep -q '^per-address 429 retry-after' "$tmp/limits"
check "per address: another address is served" grep -q '^other-address 200' "$tmp/limits"
check "in total: the connection over --max-conns gets 503" grep -q '^total 503' "$tmp/limits"
check "slow headers (a byte every 0.3 s) are cut off after --request-deadline" \
    grep -q '^slow-headers cut' "$tmp/limits"
check "... while others are served" grep -q '^served-meanwhile 200' "$tmp/limits"
check "a slow body is cut off after --request-deadline" grep -q '^slow-body cut' "$tmp/limits"
check "the cut-off connections are logged (408, deadline)" grep -q ' 408 .* deadline$' "$tmp/log"
check "request memory: a large body past --request-memory gets 503 with Retry-After" \
    grep -q '^memory-large 503 retry-after' "$tmp/limits"
check "... also without Content-Length (chunked)" grep -q '^memory-chunked 503' "$tmp/limits"
check "... while small checks are served" grep -q '^memory-small 200' "$tmp/limits"
check "... and the large body once the memory is free" grep -q '^memory-after 200' "$tmp/limits"
req GET /v1/stats
check "stats: request memory back to 0, connections counted" \
    [ "$(jq_py "(j['request_memory'], j['connections'] >= 1)")" = "(0, True)" ]
if grep -qv '^[a-z-]* [0-9c]' "$tmp/limits"; then sed 's/^/    limits: /' "$tmp/limits"; fi
stop_server
"$TY" serve -x "$tmp/ix" --max-body 8M --request-memory 64M > /dev/null 2> "$tmp/err"
checke "--max-body over what --request-memory holds: exit 2 and a message" \
    "[ $? = 2 ] && grep -q 'needs --request-memory of at least 192M' \"\$tmp/err\""

# ---- read-only and --auth-reads ---------------------------------------------------------
check "start read-only with --auth-reads" start_server --auth-reads --access-log "$tmp/access"
req POST /v1/docs --data '{"id":"z","text":"z"}'
check "writes without --token-file: 403" [ "$code" = 403 ]
req POST /v1/check --data-binary @"$tmp/spun.json"
check "--auth-reads without a token file: reads refused (401)" [ "$code" = 401 ]
req GET /healthz
check "--auth-reads: /healthz stays open" [ "$code" = 200 ]
check "--access-log FILE gets the lines" grep -q '"/healthz" 200' "$tmp/access"
stop_server
check "start with --auth-reads and a token" start_server --auth-reads --token-file "$tmp/token"
req GET /v1/stats
check "--auth-reads: GET /v1/stats without a token: 401" [ "$code" = 401 ]
req GET /v1/stats -H "$AUTH"
check "--auth-reads: with the token: 200" [ "$code" = 200 ]
stop_server

# ---- --allowed-hosts --------------------------------------------------------------------
check "start with --allowed-hosts" start_server --allowed-hosts "tongyuan.example.org, .corp.example"
host_gets "tongyuan.example.org:8080" 200 "--allowed-hosts: a listed name: 200"
host_gets "ty.corp.example" 200 "--allowed-hosts: .corp.example takes its subdomains"
host_gets "evilcorp.example" 421 "--allowed-hosts: ... but not names that only end the same"
req GET /v1/stats
check "--allowed-hosts: 127.0.0.1 is not listed: 421" [ "$code" = 421 ]
stop_server
"$TY" serve -x "$tmp/ix" --allowed-hosts "example.org:80" > /dev/null 2> "$tmp/err"
checke "--allowed-hosts with a port: exit 2 and a message" "[ $? = 2 ] && grep -q 'no port' \"\$tmp/err\""

# ---- bad command lines ------------------------------------------------------------------
"$TY" serve > /dev/null 2> "$tmp/err"
checke "serve without -x: exit 2 and a message" "[ $? = 2 ] && grep -q 'needs -x' \"\$tmp/err\""
"$TY" serve -x "$tmp/none" --listen 127.0.0.1:0 > /dev/null 2> "$tmp/err"
checke "serve with a missing index: exit 2" "[ $? = 2 ] && grep -q none \"\$tmp/err\""
"$TY" serve -x "$tmp/ix" --listen nonsense:port > /dev/null 2> "$tmp/err"
check "serve with a bad --listen: exit 2" [ $? = 2 ]
"$TY" serve -x "$tmp/ix" --token-file "$tmp/no-token" > /dev/null 2> "$tmp/err"
checke "serve with a missing token file: exit 2" "[ $? = 2 ] && grep -q no-token \"\$tmp/err\""

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
