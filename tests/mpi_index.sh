#!/bin/sh
# tests/mpi_index.sh — the sharded index: `mpirun -np N tongyuan index build -o DIR` (the MPI
# build, make MPI=1) against one unsharded index of the same input. `check -x DIR` and
# `serve -x DIR` must give byte-identical output at 1, 2, 3 and 4 ranks: for the dev-set
# suspects (when ../shared is there), for verbatim, partial and spun copies spread over the
# shards, and for a boilerplate sentence found in 120 documents (in every shard, fewer than
# the cut of 50 in each: a per-shard frequent-minimizer cut would keep it and report dozens
# of sources). Also: a killed rank (non-zero exit, a message, no MANIFEST, an earlier
# complete index no longer usable), damaged or missing manifest and shards (clear errors
# naming the path), writes refused, and names found in several shards (skipped after the
# first, as one index does).
#
#   make test-mpi                                   (builds build/mpi, then runs this)
#   BUILD=build/mpi sh tests/mpi_index.sh           (uses $BUILD/tongyuan; builds nothing)
#
# Fails ("0 passed, 1 failed": never a silent skip) when $BUILD/tongyuan is not an MPI
# build or mpirun is missing. Ends with "N passed, N failed"; exits non-zero on a failure.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build/mpi}
TY=${TY:-$BUILD/tongyuan}
SHARED=${SHARED:-../shared}
DEV=$SHARED/data/dev
passed=0
failed=0
# fails the script without an MPI build or mpirun; $MPIRUN
. tests/lib/mpi.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_mpi_index.XXXXXX") || exit 2
pid=
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT

# pass, fail NAME: tests/lib/cases.sh
. tests/lib/cases.sh

# The corpus, one JSONL file (cut in byte ranges between the ranks): 600 documents of
# test-text sentences, 90 of them with the same boilerplate paragraph, the dev set's sources
# and haystack documents (named as in their directories) when ../shared is there, all
# interleaved so that the boilerplate documents are spread evenly over the shards: 90 in
# all, over the cut of 50, but at most 45 in any one shard at 2 ranks or more (a cut made
# per shard would keep the boilerplate); one broken line. The queries: copies of some
# documents (verbatim, partial across documents far apart, spun), the boilerplate alone and
# with a copy, and the dev set's suspects.
mkdir -p "$tmp/q"
python3 - "$tmp/c.jsonl" "$tmp/q" tests/data/text "$DEV" <<'PY' || { echo "FAIL corpus"; exit 1; }
import json, os, random, sys
out, qd, d, dev = sys.argv[1:]
sys.path.insert(0, 'tests/lib')
from sentences import sentences
sent = sentences(d)
rng = random.Random(20261124)
boiler = ('本文版权归原作者所有，转载请注明出处并保留本声明，未经许可不得用于任何商业用途，'
          '如有侵权请联系编辑部删除，感谢您的理解与支持，欢迎关注我们的公众号获取更多资讯。')
syn = []
for i in range(600):
    t = ''.join(rng.choice(sent) for _ in range(rng.randint(6, 14)))
    syn.append({'id': 'doc-%04d' % i, 'text': t})
real = []
for sub in ('src', 'haystack'):
    p = os.path.join(dev, sub)
    if os.path.isdir(p):
        for f in sorted(os.listdir(p)):
            real.append({'id': f, 'text': open(os.path.join(p, f), encoding='utf-8').read()})
docs, j = [], 0
for i, x in enumerate(syn):  # interleave: the real documents spread evenly
    docs.append(x)
    while j < len(real) and j * len(syn) < (i + 1) * len(real):
        docs.append(real[j])
        j += 1
docs += real[j:]
step = len(docs) / 90.0
for b in range(90):  # boilerplate in 90 documents spread evenly (bytes roughly too)
    x = docs[int(b * step)]
    x['text'] = x['text'] + boiler if b % 2 else boiler + x['text']
    print(x['id'], file=open(out + '.boiler', 'a'))
with open(out, 'w', encoding='utf-8') as f:
    for i, x in enumerate(docs):
        f.write(json.dumps(x, ensure_ascii=False) + '\n')
        if i == 333:
            f.write('{"id": broken\n')
def w(name, text):
    open(os.path.join(qd, name), 'w', encoding='utf-8').write(text)
T = [x['text'] for x in syn]
w('q-copy.txt', T[10])
w('q-partial.txt', T[250][: len(T[250]) // 2] + T[590][len(T[590]) // 2 :] + T[5][:60])
cs = list(T[433])
for i in range(0, len(cs), 7):
    if '\u4e00' <= cs[i] <= '\u9fff':
        cs[i] = '某'
w('q-spun.txt', ''.join(cs))
w('q-boiler.txt', '今天天气很好，我们去公园散步。' + boiler + '晚上回家吃饭，早点休息。')
w('q-boiler-copy.txt', boiler + T[400][:200] + boiler)
PY
IN="$tmp/c.jsonl"
QUERIES="$tmp/q"
if [ -d "$DEV/sus" ]; then
    QUERIES="$QUERIES $DEV/sus"
else
    echo "note: no dev set at $DEV: synthetic documents and queries only"
fi

# the unsharded reference (skipped records: exit 1)
"$TY" index build -q --threads 1 -o "$tmp/one.idx" $IN 2> "$tmp/err"
if [ $? -eq 1 ]; then pass; else fail "unsharded build (exit 1: one broken line)"; fi
# (twice: with the default cut, a percentile of the minimizers' document counts that the
# sentences repeated over the synthetic documents push above 90, and with --max-df 60)
jcheck() { # jcheck INDEX > OUT
    "$TY" check -x "$1" --threads 2 --format jsonl $QUERIES 2> "$tmp/err"
    "$TY" check -x "$1" --threads 2 --format jsonl --max-df 60 $QUERIES 2> "$tmp/err"
}
jcheck "$tmp/one.idx" > "$tmp/one.out"
"$TY" index list "$tmp/one.idx" > "$tmp/one.list"
# the boilerplate (in 90 documents) is cut with --max-df 60: alone it finds nothing
if [ ! -s "$tmp/one.out" ]; then
    fail "unsharded check gave no output"
fi
if "$TY" check -x "$tmp/one.idx" --max-df 60 --format jsonl "$tmp/q/q-boiler.txt" > "$tmp/b.out" 2> "$tmp/err"
then fail "boilerplate alone: reuse found (the cut should drop it)"; else pass; fi
# (a cut computed per shard would keep the boilerplate at 2 ranks or more, and this query
# would report sources: the identical outputs below show it does not)

# sharded builds: the same documents, ids and check output, byte for byte
sharded() { # sharded NAME NP DIR [env...]: build DIR with NP ranks, compare
    n=$1 np=$2 dir=$3
    shift 3
    env "$@" $MPIRUN -np "$np" "$TY" index build -q --threads 1 -o "$dir" $IN > /dev/null 2> "$tmp/err"
    st=$?
    if [ $st -ne 1 ]; then
        fail "$n: build exit $st (1 expected: one broken line)"
        return
    fi
    if [ "$np" -gt 1 ] || [ $# -gt 0 ]; then
        if [ -f "$dir/MANIFEST" ] && [ -f "$dir/shard-$(printf %04d $((np - 1)))" ]; then pass; else
            fail "$n: no MANIFEST or shard"
        fi
    fi
    "$TY" index list "$dir" > "$tmp/many.list" 2> "$tmp/err"
    if cmp -s "$tmp/one.list" "$tmp/many.list"; then pass; else fail "$n: index list differs"; fi
    jcheck "$dir" > "$tmp/many.out"
    if cmp -s "$tmp/one.out" "$tmp/many.out"; then pass; else
        echo "check -x output differs from the unsharded index's" > "$tmp/err"
        diff "$tmp/one.out" "$tmp/many.out" | head -n 6 >> "$tmp/err"
        fail "$n: check output"
    fi
    # the text report names the index ("no reuse found in INDEX")
    "$TY" check -x "$dir" $QUERIES 2> "$tmp/err" | sed "s|$dir|INDEX|g" > "$tmp/many.txt"
    "$TY" check -x "$tmp/one.idx" $QUERIES 2> "$tmp/err" | sed "s|$tmp/one.idx|INDEX|g" > "$tmp/one.txt"
    if cmp -s "$tmp/one.txt" "$tmp/many.txt" && grep -q "reuses" "$tmp/one.txt"; then pass; else
        diff "$tmp/one.txt" "$tmp/many.txt" | head -n 6 > "$tmp/err"
        fail "$n: text report differs"
    fi
}
sharded "np=1" 1 "$tmp/sh1"
sharded "TY_MPI_FORCE np=1 (one shard)" 1 "$tmp/shf" TY_MPI_FORCE=1
sharded "np=2" 2 "$tmp/sh2"
sharded "np=3" 3 "$tmp/sh3"
sharded "np=4" 4 "$tmp/sh4"

# the boilerplate really is spread: in no shard of sh2 over the cut of 50
ok=1
for sh in "$tmp"/sh2/shard-0000 "$tmp"/sh2/shard-0001; do
    n=$("$TY" index list "$sh" | awk 'NR == FNR { b[$1] = 1; next } ($2 in b)' "$tmp/c.jsonl.boiler" - | wc -l)
    echo "$sh: $n boilerplate documents" >> "$tmp/err"
    [ "$n" -gt 0 ] && [ "$n" -lt 50 ] || ok=0
done
if [ $ok -eq 1 ]; then pass; else fail "boilerplate spread over the shards"; fi

# stats and verify on a sharded index
if "$TY" index verify "$tmp/sh4" > /dev/null 2> "$tmp/err"; then pass; else fail "verify sh4"; fi
d1=$("$TY" index stats --format json "$tmp/one.idx" | sed 's/.*"documents":\([0-9]*\).*/\1/')
d4=$("$TY" index stats --format json "$tmp/sh4" | sed 's/.*"documents":\([0-9]*\).*/\1/')
if [ -n "$d1" ] && [ "$d1" = "$d4" ]; then pass; else
    echo "documents: $d1 vs $d4" > "$tmp/err"
    fail "stats documents"
fi

# writes refused with a message
if ! "$TY" index add "$tmp/sh2" tests/data/text/src-00001.txt > /dev/null 2> "$tmp/err" &&
    grep -q "sharded index.*read-only" "$tmp/err"; then pass; else fail "index add refused"; fi
if ! "$TY" index compact "$tmp/sh2" > /dev/null 2> "$tmp/err" &&
    grep -q "read-only" "$tmp/err"; then pass; else fail "compact refused"; fi

# serve -x DIR: /v1/check gives the unsharded index's JSON
serve_check() { # serve_check INDEX OUT: start, POST /v1/check of q-partial, stop
    : > "$tmp/log"
    "$TY" serve -x "$1" --listen 127.0.0.1:0 --threads 2 2>> "$tmp/log" &
    pid=$!
    i=0
    port=
    while [ $i -lt 100 ]; do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' "$tmp/log")
        [ -n "$port" ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    ok=1
    if [ -n "$port" ]; then
        for f in q-partial q-spun q-boiler-copy; do
            python3 -c "import json,sys; print(json.dumps({'text': open(sys.argv[1], encoding='utf-8').read()}))" \
                "$tmp/q/$f.txt" > "$tmp/req.json"
            curl -s -m 20 -X POST --data-binary @"$tmp/req.json" "http://127.0.0.1:$port/v1/check" \
                >> "$2" || ok=0
            echo >> "$2"
        done
        curl -s -m 20 "http://127.0.0.1:$port/v1/docs/doc-0590" >> "$2" || ok=0
    else
        ok=0
    fi
    kill "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    pid=
    [ $ok -eq 1 ]
}
if serve_check "$tmp/one.idx" "$tmp/s1.json" && serve_check "$tmp/sh4" "$tmp/s4.json" &&
    grep -q '"sources"' "$tmp/s1.json" && cmp -s "$tmp/s1.json" "$tmp/s4.json"; then pass; else
    cp "$tmp/log" "$tmp/err"
    diff "$tmp/s1.json" "$tmp/s4.json" 2>&1 | cut -c1-200 | head -n 4 >> "$tmp/err"
    fail "serve -x sharded: /v1/check and /v1/docs as unsharded"
fi
# serve with a token (writes) on a sharded index: refused at start with a message
printf 'tok-123\n' > "$tmp/token"
if ! "$TY" serve -x "$tmp/sh2" --listen 127.0.0.1:0 --token-file "$tmp/token" > /dev/null \
    2> "$tmp/err" && grep -q "read-only" "$tmp/err"; then pass; else
    fail "serve --token-file on a sharded index: exit 2 and a message"
fi

# a rank killed after its shard is written: the job fails, says which rank, and the
# directory — which held a complete index before — has no MANIFEST and is refused
cp -r "$tmp/sh2" "$tmp/k"
for np in 2 4; do
    if TY_MPI_FAULT=1:0 $MPIRUN -np $np "$TY" index build -q --threads 1 -o "$tmp/k" $IN \
        > "$tmp/err" 2>&1; then
        fail "killed rank np=$np: exit status 0"
    elif ! grep -q "rank 1" "$tmp/err"; then
        fail "killed rank np=$np: no message naming the rank"
    elif [ -e "$tmp/k/MANIFEST" ]; then
        fail "killed rank np=$np: MANIFEST written"
    elif "$TY" check -x "$tmp/k" "$tmp/q/q-copy.txt" > /dev/null 2> "$tmp/err" ||
        ! grep -q "without a MANIFEST" "$tmp/err"; then
        fail "killed rank np=$np: check -x not refused clearly"
    else
        pass
    fi
done
# a record that cannot be read with --strict: no MANIFEST, exit 2
if ! $MPIRUN -np 2 "$TY" index build -q --strict --threads 1 -o "$tmp/st" $IN > /dev/null \
    2> "$tmp/err" && grep -q "c.jsonl:335" "$tmp/err" && [ ! -e "$tmp/st/MANIFEST" ]; then pass
else fail "--strict np=2"; fi

# damaged layouts: clear errors naming the path
bad() { # bad NAME EXPECTED: check -x $tmp/b must fail (exit 2) with EXPECTED in the message
    if "$TY" check -x "$tmp/b" "$tmp/q/q-copy.txt" > /dev/null 2> "$tmp/err"; then
        fail "$1: accepted"
    elif [ $? -ne 2 ] || ! grep -q "$2" "$tmp/err"; then
        fail "$1: expected a message with '$2'"
    else
        pass
    fi
}
fresh() { rm -rf "$tmp/b" && cp -r "$tmp/sh3" "$tmp/b"; }
fresh && rm "$tmp/b/MANIFEST" && bad "no MANIFEST" "b: is a directory without a MANIFEST"
fresh && head -n 4 "$tmp/sh3/MANIFEST" > "$tmp/b/MANIFEST" && bad "truncated MANIFEST" "b/MANIFEST: line"
fresh && echo garbage > "$tmp/b/MANIFEST" && bad "foreign MANIFEST" "not a tongyuan shard manifest"
fresh && sed 's/^tongyuan-shards 1/tongyuan-shards 9/' "$tmp/sh3/MANIFEST" > "$tmp/b/MANIFEST" &&
    bad "newer MANIFEST" "manifest version 9"
fresh && sed 's/^df_hist 0 /df_hist 0 x/' "$tmp/sh3/MANIFEST" > "$tmp/b/MANIFEST" &&
    bad "damaged df_hist" "bad df_hist"
fresh && rm "$tmp/b/shard-0001" && bad "missing shard" "b/shard-0001"
fresh && cp "$tmp/b/shard-0000" "$tmp/b/shard-0001" && bad "shard swapped" "b/shard-0001.*not the shard"
fresh && printf 'not an index' > "$tmp/b/shard-0002" && bad "foreign shard" "b/shard-0002"
"$TY" index build -q -k 5 -o "$tmp/k5.idx" tests/data/text 2> /dev/null
fresh && cp "$tmp/k5.idx" "$tmp/b/shard-0002" && bad "shard with another k" "b/shard-0002: k=5"
# a sharded build over an earlier one with more shards leaves no stray shard
$MPIRUN -np 2 "$TY" index build -q --threads 1 -o "$tmp/b" $IN > /dev/null 2>&1
if [ -f "$tmp/b/MANIFEST" ] && [ ! -e "$tmp/b/shard-0002" ] &&
    jcheck "$tmp/b" > "$tmp/many.out" &&
    cmp -s "$tmp/one.out" "$tmp/many.out"; then pass; else fail "rebuild over 3 shards with 2"; fi
# names in several shards: one index keeps the first and skips the others; the sharded build
# builds the later shards again without them — the same documents, ids and results. c2 holds
# documents of c with the same ids and other texts (every 7th), and new ones
python3 - "$tmp/c.jsonl" "$tmp/c2.jsonl" <<'PY' || fail "duplicate corpus"
import json, sys
out = open(sys.argv[2], 'w', encoding='utf-8')
for i, l in enumerate(open(sys.argv[1], encoding='utf-8')):
    try:
        x = json.loads(l)
    except ValueError:
        continue
    if i % 7 == 0:
        out.write(json.dumps({'id': x['id'], 'text': x['text'][::-1]}, ensure_ascii=False) + '\n')
    elif i % 7 == 1:
        out.write(json.dumps({'id': x['id'] + '-new', 'text': x['text'][: len(x['text']) // 2]},
                             ensure_ascii=False) + '\n')
PY
"$TY" index build -q --threads 1 -o "$tmp/dup1.idx" "$tmp/c2.jsonl" "$tmp/c.jsonl" "$tmp/c2.jsonl" \
    2> /dev/null
"$TY" index list "$tmp/dup1.idx" > "$tmp/one.list"
jcheck "$tmp/dup1.idx" > "$tmp/one.out"
for np in 2 4; do
    rm -rf "$tmp/dup"
    $MPIRUN -np $np "$TY" index build -q --threads 1 -o "$tmp/dup" "$tmp/c2.jsonl" "$tmp/c.jsonl" \
        "$tmp/c2.jsonl" > /dev/null 2> "$tmp/build.err"
    st=$?
    "$TY" index list "$tmp/dup" > "$tmp/many.list" 2> "$tmp/err"
    jcheck "$tmp/dup" > "$tmp/many.out"
    cat "$tmp/build.err" >> "$tmp/err"
    if [ $st -eq 1 ] && grep -q "building shard . again without them" "$tmp/build.err" &&
        cmp -s "$tmp/one.list" "$tmp/many.list" && cmp -s "$tmp/one.out" "$tmp/many.out"; then
        pass
    else
        echo "exit $st" >> "$tmp/err"
        diff "$tmp/one.list" "$tmp/many.list" | head -n 4 >> "$tmp/err"
        fail "names in several shards np=$np: as one index"
    fi
done
# -o naming a file: a sharded build wants a directory
if ! $MPIRUN -np 2 "$TY" index build -q -o "$tmp/one.idx" $IN > /dev/null 2> "$tmp/err" &&
    grep -q "not a directory" "$tmp/err"; then pass; else fail "-o FILE with np=2"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
