#!/bin/sh
# tests/index.sh — end-to-end tests of the corpus index: `tongyuan index build|add|stats|
# list|verify|compact` and `tongyuan check`.
#
#   TY=build/tongyuan sh tests/index.sh      run from anywhere; takes about 30 s
#   TY_CRASH_ROUNDS=N ...                    kill -9 rounds of the crash test [25]
#
# 1. build, stats, list, verify; names relative to the directory indexed; quiet off a tty;
# 2. check: JSONL with the fields of compare (and the same passages as compare gives for the
#    pair), text output, exit statuses 0/1/2, --threads does not change the output;
# 3. inputs: JSONL with a bad line (reported as FILE:LINE, skipped, exit 1; --strict: exit 2
#    and no index), gzip, zstd, standard input;
# 4. add: duplicates not added again, a missing INDEX, compaction;
# 5. bad INDEX files: truncated, foreign, empty, a directory — exit 2 and one line naming it;
# 6. crash test: `index add` killed with SIGKILL at random moments, many times; after each
#    kill the index opens, verifies, and holds exactly a prefix of the input in whole
#    transactions; running add again resumes it to exactly every document once;
# 7. two processes checking while a third adds;
# 8. what a build replaces: an index, never a file that is not one, never one of its inputs,
#    never an index open for writing (an add holding it keeps every document it commits);
# 9. a damaged LMDB meta page (tests/corrupt/damaged-meta.idx): "damaged" from every command;
#    a full disk (tests/lib/fullfs.c, LD_PRELOAD): "No space left on device" and the path,
#    the old index kept.
#
# Prints a FAIL line per failed case and ends with "N passed, N failed"; exits 1 on failure.
# POSIX sh (plus python3 for JSON, as tests/cli.sh).

set -u
cd "$(dirname "$0")/.." || exit 2

TY=${TY:-build/tongyuan}
case $TY in /*) ;; *) TY=$PWD/$TY ;; esac
if [ ! -x "$TY" ]; then
    echo "index.sh: $TY is not an executable (build it first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
LC_ALL=C
export LC_ALL
D=tests/data/text
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_index.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM

# case_begin / expect / case_end and run (120 s limit): tests/lib/cases.sh
run_timeout=120
. tests/lib/cases.sh
lines() { wc -l < "$1" | tr -d ' '; }

# the corpus: the sources of the test texts, in a directory
mkdir -p "$tmp/corpus/sub"
for f in src-00387 src-00393 src-00255 src-00085 src-00109 src-00456 src-00001 hay-00031; do
    cp "$D/$f.txt" "$tmp/corpus/"
done
cp "$D/src-00596.txt" "$tmp/corpus/sub/"
cp "$D/hay-00207.txt" "$tmp/corpus/sub/hay-00207.md"
echo "not indexed" > "$tmp/corpus/notes.csv"
I=$tmp/c.idx

# ---- 1. build, stats, list, verify -----------------------------------------------------------
case_begin "build a directory"
run "$TY" index build -o "$I" "$tmp/corpus"
expect "exit 0 (got $rc)" test "$rc" -eq 0
expect "only a note on the file not read" test "$(cat "$tmp/err")" = "tongyuan: $tmp/corpus: 1 file not read: only *.txt, *.md, *.html, *.htm, *.xhtml, *.docx, *.odt, *.pdf and *.warc files (also .gz, .zst) are read from a directory"
expect "INDEX and its lock file" test -f "$I" -a -f "$I-lock"
expect "no temporary file left" sh -c "! ls '$tmp' | grep -q 'c.idx.tmp'"
run "$TY" index list "$I"
expect "10 documents listed" test "$(lines "$tmp/out")" -eq 10
expect "names relative to the directory, sorted" \
    test "$(cut -f2 "$tmp/out" | tr '\n' ' ')" = "hay-00031.txt src-00001.txt src-00085.txt src-00109.txt src-00255.txt src-00387.txt src-00393.txt src-00456.txt sub/hay-00207.md sub/src-00596.txt "
expect "origin is the file read" grep -q "	$tmp/corpus/sub/src-00596.txt\$" "$tmp/out"
run "$TY" index stats --format json "$I"
expect "stats exit 0" test "$rc" -eq 0
expect "stats JSON with the counts" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["documents"] == 10 and d["k"] == 4 and d["w"] == 8 and d["segments"] == 1, d
assert d["postings"] > 0 and 0 < d["stored_bytes"] < d["text_bytes"] <= d["file_bytes"] * 10, d
' "$tmp/out"
run "$TY" index stats "$I"
expect "stats for people" grep -q "^documents     10$" "$tmp/out"
expect "size on disk" grep -q "^size on disk" "$tmp/out"
run "$TY" index verify "$I"
expect "verify: ok" test "$rc" -eq 0 -a "$(cat "$tmp/out")" = "$I: ok"
case_end

# ---- 2. check ------------------------------------------------------------------------------------
case_begin "check: JSONL, same passages as compare"
run "$TY" check -x "$I" --format jsonl "$D/sus-00243.txt"
expect "exit 0 (found)" test "$rc" -eq 0
cp "$tmp/out" "$tmp/check.jsonl"
run "$TY" compare --format jsonl "$D/src-00387.txt" "$D/sus-00243.txt"
cp "$tmp/out" "$tmp/compare.jsonl"
expect "src is the indexed name; every other field as compare has it" python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert a and len(a) == len(b), (len(a), len(b))
for x, y in zip(a, b):
    assert x["src"] == "src-00387.txt" and x["sus"] == y["sus"], (x["src"], x["sus"])
    assert set(x) == set(y), (sorted(x), sorted(y))
    for k in x:
        if k != "src":
            assert x[k] == y[k], (k, x[k], y[k])
' "$tmp/check.jsonl" "$tmp/compare.jsonl"
case_end

case_begin "check: sources best first, text output, exit statuses"
run "$TY" check -x "$I" --format jsonl "$D/sus-00017.txt"
expect "two sources" test "$(cut -d, -f1 "$tmp/out" | sort -u | wc -l | tr -d ' ')" -eq 2
run "$TY" check -x "$I" "$D/sus-00017.txt"
expect "text: how many sources" grep -q "reuses 2 indexed documents" "$tmp/out"
expect "text: a report per source" test "$(grep -c 'comes from' "$tmp/out")" -eq 2
run "$TY" check -x "$I" --max-sources 1 --format jsonl "$D/sus-00017.txt"
expect "--max-sources 1" test "$(cut -d, -f1 "$tmp/out" | sort -u | wc -l | tr -d ' ')" -eq 1
run "$TY" check -x "$I" "$D/sus-00158.txt"
expect "nothing found: exit 1 (got $rc)" test "$rc" -eq 1
expect "nothing found: said so" grep -q "no reuse found in" "$tmp/out"
run "$TY" check -x "$I" "$D/sus-00158.txt" "$tmp/nope.txt"
expect "a missing file: exit 2 (got $rc)" test "$rc" -eq 2
expect "a missing file: named" grep -q "nope.txt" "$tmp/err"
run "$TY" check "$D/sus-00158.txt"
expect "no -x: exit 2" test "$rc" -eq 2
case_end

case_begin "check: other holders of the same text (a repost), JSONL and text"
mkdir -p "$tmp/reposts"
cp "$D/src-00387.txt" "$tmp/reposts/a-original.txt"
cp "$D/src-00387.txt" "$tmp/reposts/b-repost.txt"
cp "$D/src-00393.txt" "$D/hay-00031.txt" "$tmp/reposts/"
run "$TY" index build -o "$tmp/reposts.idx" "$tmp/reposts"
run "$TY" check -x "$tmp/reposts.idx" --format jsonl "$D/sus-00243.txt"
expect "found (exit $rc)" test "$rc" -eq 0
expect "one source, the first indexed of the equals; the repost in also on every line" python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
assert a and all(x["src"] == "a-original.txt" for x in a), [x["src"] for x in a]
assert all(x["also"] == ["b-repost.txt"] and x["also_more"] == 0 for x in a), a[0]
' "$tmp/out"
run "$TY" check -x "$tmp/reposts.idx" "$D/sus-00243.txt"
expect "text: one source" grep -q "reuses 1 indexed document" "$tmp/out"
expect "text: the other holder under its summary line, with its coverage" \
    grep -q "^    also in 1 other document: b-repost.txt ([0-9]*%)$" "$tmp/out"
run "$TY" check -x "$tmp/reposts.idx" --max-also 0 --format jsonl "$D/sus-00243.txt"
expect "--max-also 0: none named, one more" python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
assert a and all(x["also"] == [] and x["also_more"] == 1 for x in a), a[0]
' "$tmp/out"
run "$TY" check -x "$I" --format jsonl "$D/sus-00068.txt"
expect "no other holder: no also field" python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
assert a and all("also" not in x and "also_more" not in x for x in a), a[0]
' "$tmp/out"
case_end

case_begin "check: --threads does not change the output"
cp "$D"/sus-*.txt "$tmp/corpus/sub/" 2> /dev/null
mkdir -p "$tmp/q"
cp "$D"/sus-*.txt "$tmp/q/"
run "$TY" check -x "$I" --format jsonl --threads 1 "$tmp/q"
cp "$tmp/out" "$tmp/t1"
run "$TY" check -x "$I" --format jsonl --threads 4 "$tmp/q"
expect "same bytes" cmp -s "$tmp/out" "$tmp/t1"
expect "sus names relative to the directory" grep -q '"sus":"sus-00243.txt"' "$tmp/out"
case_end

# ---- 3. inputs ------------------------------------------------------------------------------------
python3 - "$D" "$tmp" << 'EOF'
import json, os, sys, gzip
d, t = sys.argv[1], sys.argv[2]
docs = []
for f in sorted(os.listdir(d)):
    if f.endswith('.txt') and f.startswith(('src', 'hay')):
        docs.append({'id': f, 'text': open(os.path.join(d, f), encoding='utf-8').read()})
with open(os.path.join(t, 'c.jsonl'), 'w', encoding='utf-8') as o:
    for x in docs:
        o.write(json.dumps(x, ensure_ascii=False) + '\n')
with gzip.open(os.path.join(t, 'c.jsonl.gz'), 'wt', encoding='utf-8') as o:
    for x in docs:
        o.write(json.dumps(x) + '\n')
with open(os.path.join(t, 'bad.jsonl'), 'w', encoding='utf-8') as o:
    o.write(json.dumps(docs[0], ensure_ascii=False) + '\n')
    o.write('{"id": "broken", "text": \n')
    o.write(json.dumps({'id': 'notext'}) + '\n')
    o.write(json.dumps(docs[1], ensure_ascii=False) + '\n')
# many small documents for the crash and concurrency tests: paragraphs of every text
n = 0
with open(os.path.join(t, 'many.jsonl'), 'w', encoding='utf-8') as o:
    for rep in range(3):
        for f in sorted(os.listdir(d)):
            if not f.endswith('.txt'):
                continue
            for p in open(os.path.join(d, f), encoding='utf-8').read().split('\n'):
                if len(p) >= 20:
                    n += 1
                    o.write(json.dumps({'id': 'p%05d' % n, 'text': p}, ensure_ascii=False) + '\n')
EOF
nmany=$(lines "$tmp/many.jsonl")

case_begin "inputs: JSONL, gzip, zstd, stdin"
run "$TY" index build -o "$tmp/j.idx" "$tmp/c.jsonl"
expect "JSONL: exit 0" test "$rc" -eq 0
run "$TY" index list "$tmp/j.idx"
njl=$(lines "$tmp/out")
expect "JSONL: names are the ids, origin FILE:LINE" grep -q "	src-00387.txt	$tmp/c.jsonl:" "$tmp/out"
run "$TY" index build -o "$tmp/g.idx" "$tmp/c.jsonl.gz"
run "$TY" index list "$tmp/g.idx"
expect "gzip: the same documents" test "$(lines "$tmp/out")" -eq "$njl"
zstd -q -f "$tmp/c.jsonl" -o "$tmp/c.jsonl.zst" # a test dependency: fails, never skips
run "$TY" index build -o "$tmp/z.idx" "$tmp/c.jsonl.zst"
run "$TY" index list "$tmp/z.idx"
expect "zstd: the same documents" test "$(lines "$tmp/out")" -eq "$njl"
stdin=$tmp/c.jsonl
run "$TY" index build -o "$tmp/s.idx" -
stdin=/dev/null
run "$TY" index list "$tmp/s.idx"
expect "stdin (JSONL detected): the same documents" test "$(lines "$tmp/out")" -eq "$njl"
stdin=$D/sus-00243.txt
run "$TY" check -x "$tmp/s.idx" --format jsonl -
stdin=/dev/null
expect "check - (a text): found" test "$rc" -eq 0
expect "check - : named -" grep -q '"sus":"-"' "$tmp/out"
case_end

case_begin "inputs: a bad JSONL line is reported and skipped"
run "$TY" index build -o "$tmp/b.idx" "$tmp/bad.jsonl"
expect "exit 1: done, something skipped (got $rc)" test "$rc" -eq 1
expect "FILE:LINE of the broken line" grep -q "bad.jsonl:2:.*not valid JSON.*(skipped)" "$tmp/err"
expect "FILE:LINE of the line without text" grep -q "bad.jsonl:3: no string member \"text\"" "$tmp/err"
run "$TY" index list "$tmp/b.idx"
expect "the two good documents" test "$(lines "$tmp/out")" -eq 2
run "$TY" index build --strict -o "$tmp/b2.idx" "$tmp/bad.jsonl"
expect "--strict: exit 2" test "$rc" -eq 2
expect "--strict: no index" test ! -e "$tmp/b2.idx"
run "$TY" index build -o "$tmp/b3.idx" --text-field body "$tmp/c.jsonl"
expect "--text-field that no line has: every line reported" test "$(grep -c 'no string member "body"' "$tmp/err")" -eq "$njl"
case_end

# ---- 4. add --------------------------------------------------------------------------------------
case_begin "add: new documents, duplicates, compaction"
run "$TY" index build -o "$tmp/a.idx" "$tmp/corpus/src-00387.txt"
run "$TY" index add --commit-every 2 "$tmp/a.idx" "$tmp/c.jsonl"
expect "add: exit 0 (got $rc)" test "$rc" -eq 0
run "$TY" index add "$tmp/a.idx" "$tmp/c.jsonl"
expect "again: exit 0" test "$rc" -eq 0
expect "again: not added again" grep -q "already indexed (not added again)" "$tmp/err"
run "$TY" index list "$tmp/a.idx"
expect "1 + $njl documents" test "$(lines "$tmp/out")" -eq $((njl + 1))
run "$TY" index compact "$tmp/a.idx"
run "$TY" index stats --format json "$tmp/a.idx"
expect "compacted: one segment" grep -q '"segments":1,' "$tmp/out"
run "$TY" index verify "$tmp/a.idx"
expect "verify after compact" test "$rc" -eq 0
run "$TY" index add "$tmp/none.idx" "$tmp/c.jsonl"
expect "add to a missing index: exit 2" test "$rc" -eq 2
expect "add to a missing index: says how to make one" grep -q "index build" "$tmp/err"
run "$TY" index add -k 5 "$tmp/a.idx" "$tmp/c.jsonl"
expect "add with other parameters: exit 2" test "$rc" -eq 2
expect "add with other parameters: says which" grep -q "built with k=4 w=8" "$tmp/err"
case_end

# ---- 5. bad INDEX files ---------------------------------------------------------------------------
bad_index() { # NAME FILE PATTERN
    run "$TY" check -x "$2" "$D/sus-00243.txt"
    expect "$1: exit 2 (got $rc)" test "$rc" -eq 2
    expect "$1: one line on stderr" test "$(lines "$tmp/err")" -eq 1
    expect "$1: names the file and says '$3'" grep -q "$2.*$3" "$tmp/err"
    run "$TY" index stats "$2"
    expect "$1: stats exit 2" test "$rc" -eq 2
}
case_begin "bad INDEX files"
size=$(wc -c < "$I")
head -c $((size / 2)) "$I" > "$tmp/half.idx"
bad_index truncated "$tmp/half.idx" "truncated"
head -c $((size - 100)) "$I" > "$tmp/cut.idx"
bad_index "cut short" "$tmp/cut.idx" "truncated"
cp "$D/src-00387.txt" "$tmp/text.idx"
bad_index foreign "$tmp/text.idx" "not a tongyuan index"
cmp -s "$D/src-00387.txt" "$tmp/text.idx"
expect "the foreign file is left as it was" test $? -eq 0
run "$TY" index add "$tmp/text.idx" "$tmp/c.jsonl"
cmp -s "$D/src-00387.txt" "$tmp/text.idx"
expect "add does not overwrite a foreign file" test $? -eq 0
: > "$tmp/empty.idx"
bad_index empty "$tmp/empty.idx" "empty file"
bad_index directory "$tmp/corpus" "is a directory"
bad_index missing "$tmp/missing.idx" "No such file"
cp tests/corrupt/damaged-meta.idx "$tmp/dm.idx"
bad_index "damaged meta page" "$tmp/dm.idx" "damaged: LMDB meta page 1"
for c in list verify; do
    run "$TY" index $c "$tmp/dm.idx"
    expect "damaged meta page: index $c says so (exit $rc)" \
        sh -c "[ $rc -eq 2 ] && grep -q 'dm.idx: damaged: LMDB meta page 1' '$tmp/err'"
done
run "$TY" index add "$tmp/dm.idx" "$D/src-00001.txt"
expect "damaged meta page: index add says so" grep -q "dm.idx: damaged" "$tmp/err"
expect "damaged meta page: nothing written" cmp -s tests/corrupt/damaged-meta.idx "$tmp/dm.idx"
case_end

# ---- 6. crash test --------------------------------------------------------------------------------
# Every round starts from an empty index and kills `index add --commit-every 5` after a random
# delay; the index must then verify and hold the first N documents of the input, N a multiple
# of 5. Then add is run again (and killed again) until it completes: every document once.
rounds=${TY_CRASH_ROUNDS:-25}
: > "$tmp/empty.jsonl"
"$TY" index build -o "$tmp/empty.idx" "$tmp/empty.jsonl" 2> "$tmp/err"
cut -d'"' -f4 "$tmp/many.jsonl" > "$tmp/many.ids"
# how long an uninterrupted add takes here (sanitizer builds are slower): kills are spread
# over that time
cp "$tmp/empty.idx" "$tmp/k.idx"
t0=$(date +%s.%N)
"$TY" index add -q --commit-every 5 --threads 2 "$tmp/k.idx" "$tmp/many.jsonl" 2> /dev/null
t1=$(date +%s.%N)
span=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
crash_round() { # SEED: kill add after a random delay; check the index
    delay=$(awk -v s="$1" -v t="$span" 'BEGIN { srand(s); printf "%.3f", rand() * t }')
    "$TY" index add -q --commit-every 5 --threads 2 "$tmp/k.idx" "$tmp/many.jsonl" \
        > /dev/null 2> "$tmp/add.err" &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
}
case_begin "crash test: kill -9 at random moments ($rounds rounds)"
bad=0
seen_partial=0
r=0
while [ "$r" -lt "$rounds" ]; do
    r=$((r + 1))
    cp "$tmp/empty.idx" "$tmp/k.idx"
    rm -f "$tmp/k.idx-lock"
    crash_round "$r"
    if ! "$TY" index verify "$tmp/k.idx" > "$tmp/out" 2> "$tmp/err"; then
        echo "    round $r: verify failed: $(cat "$tmp/err")"
        bad=1
        break
    fi
    "$TY" index list "$tmp/k.idx" | cut -f2 > "$tmp/got"
    n=$(lines "$tmp/got")
    head -n "$n" "$tmp/many.ids" > "$tmp/want"
    if ! cmp -s "$tmp/got" "$tmp/want"; then
        echo "    round $r: the $n documents are not the first $n of the input"
        bad=1
        break
    fi
    if [ "$n" -ne "$nmany" ] && [ $((n % 5)) -ne 0 ]; then
        echo "    round $r: $n documents: not whole transactions of 5"
        bad=1
        break
    fi
    [ "$n" -gt 0 ] && [ "$n" -lt "$nmany" ] && seen_partial=$((seen_partial + 1))
    [ -n "${TY_CRASH_VERBOSE:-}" ] && echo "    round $r: $n of $nmany documents committed"
done
expect "every killed add left a valid index holding whole committed transactions" \
    test "$bad" -eq 0
expect "some kills landed mid-way (got $seen_partial of $rounds)" test "$seen_partial" -ge 3
# resume: kill a few more times, then let it finish
cp "$tmp/empty.idx" "$tmp/k.idx"
rm -f "$tmp/k.idx-lock"
for s in 101 102 103; do crash_round "$s"; done
run "$TY" index add -q --commit-every 5 "$tmp/k.idx" "$tmp/many.jsonl"
expect "resumed add: exit 0 (got $rc)" test "$rc" -eq 0
"$TY" index list "$tmp/k.idx" | cut -f2 > "$tmp/got"
expect "after resuming: every document exactly once, in order" cmp -s "$tmp/got" "$tmp/many.ids"
run "$TY" index verify "$tmp/k.idx"
expect "after resuming: verify" test "$rc" -eq 0
case_end

# ---- 7. readers while a writer adds ------------------------------------------------------------------
case_begin "two processes check while one adds"
cp "$I" "$tmp/rw.idx"
rm -f "$tmp/rw.idx-lock"
"$TY" index add -q --commit-every 10 "$tmp/rw.idx" "$tmp/many.jsonl" 2> "$tmp/add.err" &
apid=$!
checker() { # N: check ten times, record any bad exit or output
    i=0
    while [ "$i" -lt 10 ]; do
        i=$((i + 1))
        "$TY" check -x "$tmp/rw.idx" --format jsonl "$D/sus-00243.txt" "$D/sus-00158.txt" \
            > "$tmp/chk$1.out" 2> "$tmp/chk$1.err"
        c=$?
        if [ "$c" -ne 0 ] ||
            ! python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
                "$tmp/chk$1.out" ||
            ! grep -q '"src":"src-00387.txt"' "$tmp/chk$1.out"; then
            echo "exit $c: $(head -c 300 "$tmp/chk$1.err")" >> "$tmp/chk$1.bad"
        fi
    done
}
checker 1 &
c1=$!
checker 2 &
c2=$!
wait "$c1"
wait "$c2"
wait "$apid"
arc=$?
expect "the add finished (exit $arc)" test "$arc" -eq 0
expect "checker 1: every check exit 0 with valid output" test ! -e "$tmp/chk1.bad"
expect "checker 2: every check exit 0 with valid output" test ! -e "$tmp/chk2.bad"
[ -e "$tmp/chk1.bad" ] && head -n 3 "$tmp/chk1.bad" | sed 's/^/    /'
run "$TY" index verify "$tmp/rw.idx"
expect "verify after" test "$rc" -eq 0
run "$TY" index list "$tmp/rw.idx"
expect "every document added" test "$(lines "$tmp/out")" -eq $((10 + nmany))
case_end

# ---- 8. what a build replaces ---------------------------------------------------------------------
case_begin "build -o: only over an index, never over one of its inputs"
printf 'my notes\n' > "$tmp/mine.txt"
cp "$tmp/mine.txt" "$tmp/mine.bak"
run "$TY" index build -o "$tmp/mine.txt" "$D/src-00387.txt"
expect "a text file as -o: exit 2 (got $rc)" test "$rc" -eq 2
expect "says it is not an index" grep -q "mine.txt: exists and is not a tongyuan index" "$tmp/err"
expect "the text file is as it was" cmp -s "$tmp/mine.txt" "$tmp/mine.bak"
expect "no temporary file left" sh -c "! ls '$tmp' | grep -q 'mine.txt.tmp'"
cp "$I" "$tmp/self.idx"
cp "$I" "$tmp/self.bak"
run "$TY" index build -o "$tmp/self.idx" "$tmp/self.idx"
expect "-o that is also an input: exit 2 (got $rc)" test "$rc" -eq 2
expect "-o that is also an input: says so" grep -q -- "-o .*: that is the input" "$tmp/err"
expect "-o that is also an input: left as it was" cmp -s "$tmp/self.idx" "$tmp/self.bak"
: > "$tmp/made-by-mktemp.idx"
run "$TY" index build -o "$tmp/made-by-mktemp.idx" "$D/src-00387.txt"
expect "an empty file as -o: replaced (exit $rc)" test "$rc" -eq 0
case_end

case_begin "build -o never replaces an index open for writing"
cp "$I" "$tmp/w.idx"
mkfifo "$tmp/fifo"
"$TY" index add -q --stdin-format jsonl "$tmp/w.idx" - < "$tmp/fifo" 2> "$tmp/add.err" &
apid=$!
exec 3> "$tmp/fifo"
i=0 # wait (10 s at most) until the add has the index open
while [ "$i" -lt 100 ] && ! ls -l "/proc/$apid/fd" 2> /dev/null | grep -q 'w\.idx$'; do
    sleep 0.1
    i=$((i + 1))
done
echo '{"id":"held-1","text":"这是一篇在重建索引的同时写入的文章，写入已经确认，不能丢失。"}' >&3
run "$TY" index build -o "$tmp/w.idx" "$D/src-00001.txt"
expect "build while an add holds the index: exit 2 (got $rc)" test "$rc" -eq 2
expect "says a writer has it open" grep -q "w.idx: open for writing" "$tmp/err"
exec 3>&-
wait "$apid"
arc=$?
expect "the add finished: exit 0 (got $arc)" test "$arc" -eq 0
run "$TY" index list "$tmp/w.idx"
expect "the add's document is in the index" grep -q "	held-1	" "$tmp/out"
expect "with the 10 documents before it" test "$(lines "$tmp/out")" -eq 11
run "$TY" index build -o "$tmp/w.idx" "$D/src-00001.txt"
expect "the writer gone, the build replaces it (exit $rc)" test "$rc" -eq 0
case_end

# ---- 9. a full disk ---------------------------------------------------------------------------------
# tests/lib/fullfs.c (LD_PRELOAD): files below $tmp/full may grow by what $tmp/budget says
FULLFS=${BUILD:-build}/tests/fullfs.so
case $FULLFS in /*) ;; *) FULLFS=$PWD/$FULLFS ;; esac
full() { # COMMAND...: run with a full disk below $tmp/full
    run env LD_PRELOAD="$FULLFS" TY_FULLFS_DIR="$tmp/full" TY_FULLFS_BUDGET="$tmp/budget" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
case_begin "a full disk: No space left on device and the path, the old index kept"
expect "$FULLFS is built (make test builds it)" test -f "$FULLFS"
mkdir -p "$tmp/full"
cp "$I" "$tmp/full/f.idx"
cp "$I" "$tmp/f.bak"
for room in 0 20000 45000; do
    echo "$room" > "$tmp/budget"
    full "$TY" index build -o "$tmp/full/f.idx" "$tmp/corpus" "$tmp/c.jsonl"
    expect "build, room $room: exit 2 (got $rc)" test "$rc" -eq 2
    expect "build, room $room: says why and where" \
        grep -q "full/f.idx.*No space left on device" "$tmp/err"
    expect "build, room $room: the old index as it was" cmp -s "$tmp/full/f.idx" "$tmp/f.bak"
    expect "build, room $room: no temporary file left" \
        sh -c "! ls '$tmp/full' | grep -q 'f.idx.tmp'"
done
echo 0 > "$tmp/budget"
full "$TY" index add "$tmp/full/f.idx" "$tmp/many.jsonl"
expect "add: exit 2 (got $rc)" test "$rc" -eq 2
expect "add: says why and where" grep -q "full/f.idx.*No space left on device" "$tmp/err"
run "$TY" index verify "$tmp/full/f.idx"
expect "add: the index verifies after" test "$rc" -eq 0
case_end

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
