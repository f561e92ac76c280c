#!/bin/sh
# tests/mpi.sh — `mpirun -np N tongyuan dedup` (the MPI build, make MPI=1) against the
# single-process run of the same binary: byte-identical decisions at 1, 2 and 4 ranks in
# exact, near and spun mode (several rounds, keep first and longest, standard output; spun:
# spun, shuffled and partial copies whose originals another rank read, and boilerplate shared
# across ranks), --on-error fail, and a rank killed mid-run (the job fails with a message and
# leaves no output file); --save-index / --against across ranks (chains of days, mixed with
# the single process, byte-identical decisions) and their refusals.
#
#   make test-mpi                                   (builds build/mpi, then runs this)
#   BUILD=build/mpi sh tests/mpi.sh                 (uses $BUILD/tongyuan; builds nothing)
#
# Fails ("0 passed, 1 failed": never a silent skip) when $BUILD/tongyuan is not an MPI
# build or mpirun is missing. Ends with "N passed, N failed"; exits non-zero on a failure.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build/mpi}
TY=${TY:-$BUILD/tongyuan}
passed=0
failed=0
# fails the script without an MPI build or mpirun; $MPIRUN
. tests/lib/mpi.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_mpi.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# pass, fail NAME: tests/lib/cases.sh
. tests/lib/cases.sh

# A corpus with known copies, made from the test texts with a fixed seed: 1,500 mosaic
# documents, exact copies, near copies (a few characters changed), empty documents, and
# one broken JSONL line; plus the text files themselves as a second input.
python3 - "$tmp/c.jsonl" tests/data/text <<'PY' || { echo "FAIL corpus"; exit 1; }
import json, os, random, sys
out, d = sys.argv[1], sys.argv[2]
sys.path.insert(0, 'tests/lib')
from sentences import sentences
sent = sentences(d)
rng = random.Random(20240611)
docs = []
for i in range(1500):
    k = rng.randint(4, 20)
    docs.append({'id': 'doc-%05d' % i, 'text': ''.join(rng.choice(sent) for _ in range(k))})
    r = rng.random()
    if r < 0.08:
        docs.append({'id': 'doc-%05d-copy' % i, 'text': docs[-1]['text']})
    elif r < 0.16:
        t = list(docs[-1]['text'])
        for _ in range(3):
            t[rng.randrange(len(t))] = '的'
        docs.append({'id': 'doc-%05d-near' % i, 'text': ''.join(t)})
    if i % 400 == 0:
        docs.append({'id': 'empty-%d' % i, 'text': ''})
rng.shuffle(docs)  # copies before their originals too
with open(out, 'w', encoding='utf-8') as f:
    for i, x in enumerate(docs):
        f.write(json.dumps(x, ensure_ascii=False) + '\n')
        if i == 700:
            f.write('{"id": broken\n')
PY
IN="$tmp/c.jsonl tests/data/text"

# same NAME NP ARGS...: single-process output == mpirun -np NP output, byte for byte
same() {
    n=$1 np=$2
    shift 2
    if ! "$TY" dedup -q "$@" -o "$tmp/one.jsonl" 2> "$tmp/err"; then
        fail "$n (single process)"
        return
    fi
    if ! $MPIRUN -np "$np" "$TY" dedup -q "$@" -o "$tmp/many.jsonl" > /dev/null 2> "$tmp/err"; then
        fail "$n (mpirun -np $np)"
        return
    fi
    if cmp -s "$tmp/one.jsonl" "$tmp/many.jsonl" && [ -s "$tmp/one.jsonl" ]; then
        pass
    else
        echo "mpirun -np $np output differs from the single-process output" > "$tmp/err"
        diff "$tmp/one.jsonl" "$tmp/many.jsonl" | head -n 6 >> "$tmp/err"
        fail "$n"
    fi
}

for np in 1 2 4; do
    for mode in exact near; do
        same "$mode np=$np" $np --mode $mode $IN
        same "$mode np=$np batch=16 (many rounds)" $np --mode $mode --batch 16 $IN
    done
    same "near keep=longest np=$np" $np --mode near --keep longest --batch 16 $IN
done
# the MPI code path itself with one rank (mpirun -np 1 alone runs the single-process path)
TY_MPI_FORCE=1 same "exact TY_MPI_FORCE np=1" 1 --mode exact --batch 16 $IN
TY_MPI_FORCE=1 same "near TY_MPI_FORCE np=1" 1 --mode near --batch 16 $IN
same "near 3 ranks, 8 rows" 3 --mode near --bands 8 --rows 4 --batch 32 $IN
# each rank reads only its share of the input: several files (JSONL, a gzip JSONL that is
# never cut, text files), and one JSONL file cut in byte ranges at arbitrary offsets, with
# records lacking an id (named FILE:LINE: the line numbers must be the whole file's), blank
# lines, CRLF line ends and a broken line
mkdir -p "$tmp/parts"
split -l 400 -d --additional-suffix=.jsonl "$tmp/c.jsonl" "$tmp/parts/p"
gzip "$tmp/parts/p01.jsonl"
python3 - "$tmp/c.jsonl" "$tmp/r.jsonl" <<'PY' || fail "range corpus"
import json, sys
with open(sys.argv[2], 'w', encoding='utf-8', newline='') as f:
    for i, l in enumerate(open(sys.argv[1], encoding='utf-8')):
        try:
            x = json.loads(l)
        except ValueError:
            f.write(l)
            continue
        if i % 3 == 0:
            del x['id']
        f.write(json.dumps(x, ensure_ascii=False) + ('\r\n' if i % 7 == 0 else '\n'))
        if i % 250 == 0:
            f.write('\n   \n')
PY
PARTS="$(ls "$tmp"/parts/p*) tests/data/text $tmp/parts/p02.jsonl"
for np in 2 3 4; do
    same "several files exact np=$np" $np --mode exact --batch 16 $PARTS
    same "several files near np=$np" $np --mode near $PARTS
    same "one JSONL in byte ranges exact np=$np" $np --mode exact --batch 16 "$tmp/r.jsonl"
    same "one JSONL in byte ranges near np=$np" $np --mode near "$tmp/r.jsonl"
done
TY_MPI_FORCE=1 same "one JSONL TY_MPI_FORCE np=1" 1 --mode near "$tmp/r.jsonl"
# the ranges were really used, and the FILE:LINE names are there
if $MPIRUN -np 3 "$TY" dedup --mode near "$tmp/r.jsonl" -o "$tmp/many.jsonl" > /dev/null \
    2> "$tmp/err" && grep -q "1 JSONL files read in byte ranges" "$tmp/err" &&
    grep -q "r.jsonl:1\"" "$tmp/many.jsonl"; then pass; else fail "byte ranges used"; fi
# more ranks than files and bytes: empty shares
same "near np=4 on one tiny file" 4 --mode near tests/data/text/src-00001.txt

# spun on the test corpus (every -copy document is checked below on this output)
same "spun np=2 test corpus" 2 --mode spun $IN

# the copies were found: every -copy document is in its original's cluster
if python3 - "$tmp/one.jsonl" <<'PY' 2> "$tmp/err"; then pass; else fail "copies clustered"; fi
import json, sys
c = {}
for l in open(sys.argv[1]):
    j = json.loads(l); c[j['id']] = j['cluster']
n = 0
for k in c:
    if k.endswith('-copy'):
        assert c[k] == c[k[:-5]], k
        n += 1
assert n > 50, n
PY

# spun, distributed: a corpus with machine-spun copies (bench/spin.py), shuffled and partial
# copies, exact copies placed before their originals, and a boilerplate footer in 150
# documents (over --max-df 32, spread over every rank's share); most copies come at the end,
# so at 2-4 ranks their originals were read by another rank
python3 - "$tmp/s.jsonl" tests/data/text <<'PY' || { echo "FAIL spun corpus"; exit 1; }
import json, os, random, sys
sys.path.insert(0, 'bench')  # spin(): bench/spin.py
from spin import spin
out, d = sys.argv[1], sys.argv[2]
sys.path.insert(0, 'tests/lib')
from sentences import sentences
sent = sentences(d)
rng = random.Random(20261124)
foot = '本文由网站编辑整理发布，转载请注明出处并保留本声明。如有侵权请联系我们删除，谢谢合作与支持。' \
       '更多精彩内容请关注我们的官方网站和微信公众号，每日更新技术文章与使用教程。'
orig, late, early = [], [], []
for i in range(600):
    text = ''.join(rng.choice(sent) for _ in range(rng.randint(6, 18)))
    if i % 4 == 0:
        text += '\n' + foot  # boilerplate in 150 documents, on every rank
    orig.append({'id': 'o-%04d' % i, 'text': text})
    r = rng.random()
    if r < 0.15:
        late.append({'id': 'o-%04d-spun' % i, 'text': spin(text, i)[0]})
    elif r < 0.20:
        ss = text.split('。')
        rng.shuffle(ss)
        late.append({'id': 'o-%04d-shuf' % i, 'text': '。'.join(ss)})
    elif r < 0.25:
        late.append({'id': 'o-%04d-part' % i, 'text': text[:len(text) * 2 // 3] +
                     ''.join(rng.choice(sent) for _ in range(2))})
    elif r < 0.28:
        early.append({'id': 'o-%04d-copy' % i, 'text': text})
rng.shuffle(late)
docs = early + orig + late  # copies before their originals; spun copies far from theirs
with open(out, 'w', encoding='utf-8') as f:
    for x in docs:
        f.write(json.dumps(x, ensure_ascii=False) + '\n')
PY
for np in 1 2 3 4; do
    if [ $np = 1 ]; then
        TY_MPI_FORCE=1 same "spun TY_MPI_FORCE np=1" 1 --mode spun "$tmp/s.jsonl"
        TY_MPI_FORCE=1 same "spun TY_MPI_FORCE np=1 batch=16" 1 --mode spun --batch 16 "$tmp/s.jsonl"
        continue
    fi
    same "spun np=$np (one round)" $np --mode spun "$tmp/s.jsonl"
    same "spun np=$np batch=16 (48 rounds)" $np --mode spun --batch 16 "$tmp/s.jsonl"
    same "spun np=$np batch=64 keep=longest" $np --mode spun --batch 64 --keep longest "$tmp/s.jsonl"
done
same "spun np=4 max-df=4 max-candidates=2" 4 --mode spun --batch 32 --max-df 4 --max-candidates 2 \
    "$tmp/s.jsonl"
same "spun np=3 several files" 3 --mode spun --batch 64 $PARTS
same "spun np=3 one JSONL in byte ranges" 3 --mode spun --batch 16 "$tmp/r.jsonl"
# a popular article: 300 copies spun at 35 % in rounds of 128 (the cover groups of each round
# come from every rank's summaries: the same groups, the same output)
if python3 scripts/repeat_gen.py copies "$tmp/pop" --n 300 --spin-frac 1 --spin 0.35 \
    --shared "${SHARED:-../shared}" > /dev/null 2> "$tmp/err"; then
    for np in 2 3; do
        same "spun np=$np popular article, 300 spun copies" $np --mode spun --batch 128 \
            "$tmp/pop/corpus.jsonl"
    done
else
    fail "popular article: repeat_gen.py (the dev set is needed: SHARED=${SHARED:-../shared})"
fi

# dedup --mode spans: every rank reads the whole input, the alignments of each batch are split
# between the ranks; the output is the single process's at any number of ranks and threads
same "spans np=2" 2 --mode spans --min-len 15 $IN
same "spans np=3 batch=16 threads=2" 3 --mode spans --batch 16 --threads 2 $IN
same "spans np=4 several files, batch=16" 4 --mode spans --batch 16 $PARTS
same "spans-exact np=2 batch=16" 2 --mode spans-exact --batch 16 $IN
TY_MPI_FORCE=1 same "spans TY_MPI_FORCE np=1" 1 --mode spans --batch 16 $IN
"$TY" dedup -q --mode spans --batch 16 $IN -o /dev/null --write-kept "$tmp/k1.jsonl" 2> /dev/null
if $MPIRUN -np 2 "$TY" dedup -q --mode spans --batch 16 $IN -o /dev/null \
    --write-kept "$tmp/k2.jsonl" > /dev/null 2>&1 && [ -s "$tmp/k1.jsonl" ] &&
    cmp -s "$tmp/k1.jsonl" "$tmp/k2.jsonl"; then
    pass
else
    fail "spans np=2 --write-kept: not the single process's"
fi
# the spun copies were found, and the footer was treated as boilerplate: without the
# --max-df rule many more documents are merged
"$TY" dedup -q --mode spun "$tmp/s.jsonl" -o "$tmp/one.jsonl" 2> "$tmp/err"
"$TY" dedup -q --mode spun --max-df 100000 "$tmp/s.jsonl" -o "$tmp/nodf.jsonl" 2>> "$tmp/err"
if python3 - "$tmp/one.jsonl" "$tmp/nodf.jsonl" 2>> "$tmp/err" <<'PY'; then pass; else fail "spun copies"; fi
import json, sys
c = {}
for l in open(sys.argv[1]):
    j = json.loads(l); c[j['id']] = j['cluster']
for suf, least in (('-spun', 70), ('-shuf', 30), ('-copy', 15)):
    ks = [k for k in c if k.endswith(suf)]
    n = sum(c[k] == c[k[:-len(suf)]] for k in ks)
    assert n >= least and n >= 0.9 * len(ks), (suf, n, len(ks))
removed = lambda f: sum(not json.loads(l)['keep'] for l in open(f))
assert removed(sys.argv[2]) > removed(sys.argv[1]) + 50, (removed(sys.argv[1]), removed(sys.argv[2]))
PY
if $MPIRUN -np 2 "$TY" dedup --mode spun --batch 16 "$tmp/s.jsonl" -o "$tmp/many.jsonl" \
    > /dev/null 2> "$tmp/err" && grep -q "dedup: mpi: 2 ranks, 48 rounds" "$tmp/err" &&
    ! grep -q "rank 0 does all" "$tmp/err"; then pass; else fail "spun ran across ranks"; fi


# standard output (-o -)
"$TY" dedup -q --mode near $IN > "$tmp/one.jsonl" 2> "$tmp/err"
if $MPIRUN -np 2 "$TY" dedup -q --mode near $IN > "$tmp/many.jsonl" 2> "$tmp/err" &&
    cmp -s "$tmp/one.jsonl" "$tmp/many.jsonl"; then pass; else fail "stdout np=2"; fi

# --on-error fail on the broken line: every rank stops, exit 2, no output file
rm -f "$tmp/f.jsonl"
if ! $MPIRUN -np 2 "$TY" dedup -q --mode exact --on-error fail $IN -o "$tmp/f.jsonl" \
    > /dev/null 2> "$tmp/err" && grep -q "not valid JSON" "$tmp/err" && [ ! -e "$tmp/f.jsonl" ]
then pass; else fail "--on-error fail np=2"; fi

# a rank killed mid-run: non-zero exit, a message naming the rank, no output (not even a
# stale one: OUT is removed when the job starts), no OUT.tmp looking complete
for np in 2 4 spun; do
    mode=near
    [ $np = spun ] && np=2 mode=spun
    echo stale > "$tmp/k.jsonl"
    if TY_MPI_FAULT=1:100 $MPIRUN -np $np "$TY" dedup -q --mode $mode --batch 16 $IN \
        -o "$tmp/k.jsonl" > "$tmp/err" 2>&1; then
        fail "killed rank $mode np=$np: exit status 0"
    elif ! grep -q "rank 1" "$tmp/err"; then
        fail "killed rank $mode np=$np: no message naming the rank"
    elif [ -e "$tmp/k.jsonl" ] || [ -e "$tmp/k.jsonl.tmp" ]; then
        fail "killed rank $mode np=$np: output left behind"
    else
        pass
    fi
done

# -o a special file (a FIFO here; /dev/null alike): written through, never removed or
# replaced by a regular file (rank 0 used to unlink OUT and rename OUT.tmp over it: run as
# root with -o /dev/null, that replaced the machine's /dev/null); an old regular OUT is
# replaced by the run's output
mkfifo "$tmp/fifo"
timeout 120 cat "$tmp/fifo" > "$tmp/fifo.out" & # no hang if the FIFO is removed
if $MPIRUN -np 2 "$TY" dedup -q --mode near $IN -o "$tmp/fifo" 2> "$tmp/err" && wait &&
    [ -p "$tmp/fifo" ] && cmp -s "$tmp/one.jsonl" "$tmp/fifo.out"; then pass
else fail "-o FIFO np=2: $(head -c 300 "$tmp/err")"; fi
echo stale > "$tmp/reg.jsonl"
if $MPIRUN -np 2 "$TY" dedup -q --mode near $IN -o "$tmp/reg.jsonl" 2> "$tmp/err" &&
    cmp -s "$tmp/one.jsonl" "$tmp/reg.jsonl" && [ -z "$(ls "$tmp" | grep 'reg.jsonl.*tmp')" ]
then pass; else fail "-o an old regular file np=2"; fi

# --save-index / --against across ranks: the state file is the single process's, written by
# rank 0 with every rank's part, read by every rank. days NAME NP ARGS -- FILES: the files
# are days A B1 B2. A is saved under mpirun -np NP, B1 and B2 go --against it, saved in place
# (the chain A -> B1 -> B2): B1's decisions must be those of one single-process run over A
# and B1, B2's those of one run over all three, byte for byte (a day's decisions can change
# later: a removed document's dup_of may be a later one, a later link may join two
# clusters). Then the same chain with the runs alternating: A by one process, B1 by NP
# ranks, B2 by one process again.
days() {
    n=$1 np=$2
    shift 2
    args=
    while [ "$1" != -- ]; do
        args="$args $1"
        shift
    done
    a=$2 b1=$3 b2=$4
    rm -rf "$tmp/st" "$tmp/st1"
    cat "$a" "$b1" > "$tmp/ab.jsonl"
    cat "$a" "$b1" "$b2" > "$tmp/all.jsonl"
    if ! "$TY" dedup -q $args "$tmp/all.jsonl" -o "$tmp/one.jsonl" 2> "$tmp/err" ||
        ! "$TY" dedup -q $args "$tmp/ab.jsonl" -o "$tmp/ab.out" 2> "$tmp/err" ||
        ! "$TY" dedup -q $args "$a" -o "$tmp/a.jsonl" 2> "$tmp/err"; then
        fail "$n (single process)"
        return
    fi
    tail -n +$(($(wc -l < "$tmp/a.jsonl") + 1)) "$tmp/ab.out" > "$tmp/ref"
    tail -n +$(($(wc -l < "$tmp/ab.out") + 1)) "$tmp/one.jsonl" >> "$tmp/ref"
    if ! $MPIRUN -np "$np" "$TY" dedup -q $args "$a" -o "$tmp/d1.jsonl" --save-index "$tmp/st" \
        > /dev/null 2> "$tmp/err" ||
        ! $MPIRUN -np "$np" "$TY" dedup -q $args "$b1" -o "$tmp/d2.jsonl" --against "$tmp/st" \
            --save-index "$tmp/st" > /dev/null 2> "$tmp/err" ||
        ! $MPIRUN -np "$np" "$TY" dedup -q $args "$b2" -o "$tmp/d3.jsonl" --against "$tmp/st" \
            --save-index "$tmp/st" > /dev/null 2> "$tmp/err"; then
        fail "$n (mpirun -np $np chain)"
        return
    fi
    if ! cat "$tmp/d2.jsonl" "$tmp/d3.jsonl" | cmp -s - "$tmp/ref" || [ ! -s "$tmp/d3.jsonl" ]; then
        echo "mpirun -np $np: A -> B1 -> B2 differs from the one runs" > "$tmp/err"
        cat "$tmp/d2.jsonl" "$tmp/d3.jsonl" | diff - "$tmp/ref" | head -n 6 >> "$tmp/err"
        fail "$n (chain np=$np)"
        return
    fi
    if ! "$TY" dedup -q $args "$a" -o "$tmp/d1.jsonl" --save-index "$tmp/st1" 2> "$tmp/err" ||
        ! $MPIRUN -np "$np" "$TY" dedup -q $args "$b1" -o "$tmp/d2.jsonl" --against "$tmp/st1" \
            --save-index "$tmp/st1" > /dev/null 2> "$tmp/err" ||
        ! "$TY" dedup -q $args "$b2" -o "$tmp/d3.jsonl" --against "$tmp/st1" 2> "$tmp/err"; then
        fail "$n (one process, np=$np, one process)"
        return
    fi
    if cat "$tmp/d2.jsonl" "$tmp/d3.jsonl" | cmp -s - "$tmp/ref"; then
        pass
    else
        echo "one process -> mpirun -np $np -> one process: differs from the one runs" > "$tmp/err"
        fail "$n (mixed chain np=$np)"
    fi
}
# the days: the test corpus (exact and near copies, empty documents, a broken line) and the
# spun corpus (spun, shuffled, partial copies, a boilerplate footer), cut in three; a
# document over --max-size in A's last batch (spun: saved unprocessed, refused again)
head -n 900 "$tmp/c.jsonl" > "$tmp/cA.jsonl"
python3 -c 'print("{\"id\": \"big\", \"text\": \"%s\"}" % ("大" * 400000))' >> "$tmp/cA.jsonl"
sed -n 901,1300p "$tmp/c.jsonl" > "$tmp/cB1.jsonl"
tail -n +1301 "$tmp/c.jsonl" > "$tmp/cB2.jsonl"
head -n 420 "$tmp/s.jsonl" > "$tmp/sA.jsonl"
sed -n 421,600p "$tmp/s.jsonl" > "$tmp/sB1.jsonl"
tail -n +601 "$tmp/s.jsonl" > "$tmp/sB2.jsonl"
for np in 2 3; do
    days "days exact np=$np" $np --mode exact --batch 64 --max-size 1 -- \
        "$tmp/cA.jsonl" "$tmp/cB1.jsonl" "$tmp/cB2.jsonl"
    days "days near np=$np" $np --mode near --max-size 1 -- \
        "$tmp/cA.jsonl" "$tmp/cB1.jsonl" "$tmp/cB2.jsonl"
    days "days spun np=$np test corpus" $np --mode spun --batch 100 --max-size 1 -- \
        "$tmp/cA.jsonl" "$tmp/cB1.jsonl" "$tmp/cB2.jsonl"
    days "days spun np=$np spun corpus" $np --mode spun --batch 64 -- \
        "$tmp/sA.jsonl" "$tmp/sB1.jsonl" "$tmp/sB2.jsonl"
    days "days near np=$np spun corpus" $np --mode near -- \
        "$tmp/sA.jsonl" "$tmp/sB1.jsonl" "$tmp/sB2.jsonl"
done
days "days spun np=4 batch=16" 4 --mode spun --batch 16 -- \
    "$tmp/sA.jsonl" "$tmp/sB1.jsonl" "$tmp/sB2.jsonl"
# a popular article across days: its 300 copies (spun at 35 %) come on all three days; the
# carried popular texts and the batch groups go from one day to the next through the state
if [ -s "$tmp/pop/corpus.jsonl" ]; then
    head -n 250 "$tmp/pop/corpus.jsonl" > "$tmp/pA.jsonl"
    sed -n 251,450p "$tmp/pop/corpus.jsonl" > "$tmp/pB1.jsonl"
    tail -n +451 "$tmp/pop/corpus.jsonl" > "$tmp/pB2.jsonl"
    for np in 2 3; do
        days "days spun np=$np popular article" $np --mode spun --batch 128 -- \
            "$tmp/pA.jsonl" "$tmp/pB1.jsonl" "$tmp/pB2.jsonl"
    done
fi
# what the single process refuses, the ranks refuse too, with its messages: a state of
# another mode (naming the file), a --save-index DIR that holds a state this run does not
# continue; a DIR without a state; nothing written
if ! $MPIRUN -np 2 "$TY" dedup -q --mode near "$tmp/sB2.jsonl" -o "$tmp/x.jsonl" \
    --against "$tmp/st" > "$tmp/err" 2>&1 && grep -q "st/dedup.state: made with --mode spun" \
    "$tmp/err" && [ "$(grep -c "made with" "$tmp/err")" = 1 ] && [ ! -e "$tmp/x.jsonl" ]
then pass; else fail "--against np=2: a state of another mode refused"; fi
if ! $MPIRUN -np 2 "$TY" dedup -q --mode spun --batch 16 "$tmp/sB2.jsonl" -o "$tmp/x.jsonl" \
    --save-index "$tmp/st" > "$tmp/err" 2>&1 && grep -q "which this run does not continue" \
    "$tmp/err" && [ ! -e "$tmp/x.jsonl" ]
then pass; else fail "--save-index np=2: a state not continued refused"; fi
mkdir -p "$tmp/nost"
if ! $MPIRUN -np 2 "$TY" dedup -q --mode exact "$tmp/sB2.jsonl" -o "$tmp/x.jsonl" \
    --against "$tmp/nost" > "$tmp/err" 2>&1 && grep -q "nost/dedup.state" "$tmp/err" &&
    [ ! -e "$tmp/x.jsonl" ]
then pass; else fail "--against np=2: no state"; fi
# a damaged state: refused by every rank, told once, by rank 0, with the byte
"$TY" dedup -q --mode spun --batch 64 "$tmp/sA.jsonl" -o /dev/null --save-index "$tmp/bad" \
    2> /dev/null
printf 'XXXX' | dd of="$tmp/bad/dedup.state" bs=1 seek=600 conv=notrunc 2> /dev/null
if ! $MPIRUN -np 3 "$TY" dedup -q --mode spun --batch 64 "$tmp/sB2.jsonl" -o "$tmp/x.jsonl" \
    --against "$tmp/bad" > "$tmp/err" 2>&1 && grep -q "bad/dedup.state: byte" "$tmp/err" &&
    [ "$(grep -c "dedup.state: byte" "$tmp/err")" = 1 ]
then pass; else fail "--against np=3: a damaged state"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
