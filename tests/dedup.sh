#!/bin/sh
# tests/dedup.sh — `tongyuan dedup` end to end: the three modes on real dev-set documents,
# determinism across threads, near mode against the MinHash-LSH reference
# (scripts/minhash_ref.py), a template paragraph shared by 10,000 otherwise unrelated
# documents, broken JSONL lines, --write-kept (lines copied byte for byte, gzip and zstd
# inputs), --pairs-out, standard input and option errors.
#
#   BUILD=build sh tests/dedup.sh        (TY=... to test another binary)
#
# Ends with "N passed, N failed"; exits non-zero if anything failed. Needs python3.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
TY=${TY:-$BUILD/tongyuan}
TD=$BUILD/tests/test_dedup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_dedup.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
T=tests/data/text

# pass, fail NAME: tests/lib/cases.sh
. tests/lib/cases.sh
# check NAME COMMAND...: the command succeeds
check() {
    n=$1
    shift
    if "$@" > "$tmp/out.log" 2> "$tmp/err"; then pass; else fail "$n"; fi
}
# py SCRIPT ARGS...: a python check; prints why on failure
py() { python3 -c "$@"; }

# the same cluster for every pair of names given (file of decisions first)
SAME='
import json, sys
c = {}
for l in open(sys.argv[1]):
    j = json.loads(l); c[j["id"]] = j["cluster"]
    assert set(j) == {"id", "cluster", "keep", "dup_of", "similarity", "containment"}, j
for p in sys.argv[2:]:
    a, b = p.split(":")
    if c[a] != c[b]:
        sys.exit("%s and %s are apart" % (a, b))
'
APART='
import json, sys
c = {}
for l in open(sys.argv[1]):
    j = json.loads(l); c[j["id"]] = j["cluster"]
names = sys.argv[2:]
for i, a in enumerate(names):
    for b in names[i + 1:]:
        if c[a] == c[b]:
            sys.exit("%s and %s share a cluster" % (a, b))
'

# ---- spun (default) on the dev pairs of tests/data/text ------------------------------------
check "spun runs" "$TY" dedup -q "$T" -o "$tmp/spun.jsonl"
check "spun: spin10, verbatim part, Traditional spin, shuffled spin join their source" \
    py "$SAME" "$tmp/spun.jsonl" sus-00243.txt:src-00387.txt sus-00068.txt:src-00393.txt \
    sus-00180.txt:src-00255.txt sus-00097.txt:src-00085.txt src-00596.txt:src-00596.s2t.txt
check "spun: unrelated documents stay apart" py "$APART" "$tmp/spun.jsonl" src-00387.txt \
    src-00393.txt src-00255.txt src-00085.txt src-00456.txt hay-00031.txt hay-00207.txt \
    sus-00158.txt src-00596.txt src-00001.txt
n=$(wc -l < "$tmp/spun.jsonl")
if [ "$n" -eq "$(ls "$T"/*.txt "$T"/*.md | wc -l)" ]; then pass; else fail "one line per document ($n)"; fi

# ---- exact and near --------------------------------------------------------------------------
mkdir -p "$tmp/ex"
cp "$T/src-00387.txt" "$T/hay-00031.txt" "$T/sus-00243.txt" "$tmp/ex/"
sed 's/^/　　/; s/，/, /g' "$T/src-00387.txt" > "$tmp/ex/reindented.txt"
check "exact runs" "$TY" dedup -q --mode exact "$tmp/ex" -o "$tmp/exact.jsonl"
check "exact: a re-indented copy is the same text" py "$SAME" "$tmp/exact.jsonl" \
    reindented.txt:src-00387.txt
check "exact: a spun copy is not" py "$APART" "$tmp/exact.jsonl" sus-00243.txt src-00387.txt \
    hay-00031.txt
check "near runs" "$TY" dedup -q --mode near "$tmp/ex" -o "$tmp/near.jsonl"
check "near: a re-indented copy is near, a spin10 copy is not" sh -c \
    "python3 -c '$SAME' $tmp/near.jsonl reindented.txt:src-00387.txt &&
     python3 -c '$APART' $tmp/near.jsonl sus-00243.txt src-00387.txt hay-00031.txt"

# ---- keep rules ----------------------------------------------------------------------------
check "keep longest" sh -c "'$TY' dedup -q --keep longest '$T/sus-00068.txt' '$T/src-00393.txt' |
    python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin];
assert not r[0][\"keep\"] and r[1][\"keep\"] and r[0][\"dup_of\"] == \"$T/src-00393.txt\", r'"
check "keep first" sh -c "'$TY' dedup -q '$T/sus-00068.txt' '$T/src-00393.txt' |
    python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin];
assert r[0][\"keep\"] and not r[1][\"keep\"] and r[0][\"dup_of\"] is None, r'"

# ---- determinism: the same output whatever the threads --------------------------------------
for mode in spun near exact; do
    "$TY" dedup -q --mode "$mode" --batch 16 --threads 1 "$T" "$tmp/ex" -o "$tmp/d1.jsonl" 2> "$tmp/err"
    ok=1
    for t in 2 3 8; do
        "$TY" dedup -q --mode "$mode" --batch 16 --threads $t "$T" "$tmp/ex" -o "$tmp/dt.jsonl" \
            2> "$tmp/err" && cmp -s "$tmp/d1.jsonl" "$tmp/dt.jsonl" || ok=0
    done
    if [ $ok -eq 1 ]; then pass; else fail "$mode: output depends on --threads"; fi
done

# ---- near mode = the MinHash-LSH reference ------------------------------------------------
# 30 dev sources, each with variants cut, edited and extended to spread their Jaccard
# similarities around the thresholds
SHARED=${SHARED:-../shared}
DEV=$SHARED/data/dev
if [ -d "$DEV/src" ] && [ -x "$TD" ]; then
    mkdir -p "$tmp/var"
    python3 - "$DEV/src" "$tmp/var" <<'PY'
import os, sys, random
src, out = sys.argv[1:]
rng = random.Random(5)
names = sorted(os.listdir(src))[:30]
for n in names:
    t = open(os.path.join(src, n), encoding='utf-8').read()
    base = n[:-4]
    v = {'a': t, 'cut85': t[:len(t) * 85 // 100], 'cut60': t[:len(t) * 6 // 10],
         'tail': t[len(t) // 3:]}
    cs = list(t)
    for i in range(0, len(cs), rng.choice((9, 15, 25, 40))):
        if '\u4e00' <= cs[i] <= '\u9fff':
            cs[i] = '某'
    v['edit'] = ''.join(cs)
    for k, s in v.items():
        open(os.path.join(out, '%s-%s.txt' % (base, k)), 'w', encoding='utf-8').write(s)
PY
    "$TD" --dump-near-units "$tmp"/var/*.txt > "$tmp/tokens.jsonl" 2> "$tmp/err" || fail "dump tokens"
    for cfg in "16 8" "10 3" "32 2"; do
        set -- $cfg
        if "$TY" dedup -q --mode near --bands "$1" --rows "$2" "$tmp/var" -o "$tmp/nv.jsonl" \
            2> "$tmp/err" &&
            python3 scripts/minhash_ref.py "$tmp/tokens.jsonl" --bands "$1" --rows "$2" \
                --compare "$tmp/nv.jsonl" > "$tmp/err" 2>&1; then
            pass
        else
            fail "near mode $1x$2 differs from scripts/minhash_ref.py"
        fi
    done
else
    fail "near vs reference: the dev set is needed ($DEV or $TD missing; SHARED=${SHARED:-})"
fi

# ---- a template paragraph in 10,000 otherwise unrelated documents --------------------------
python3 - "$T/src-00596.txt" "$tmp/tpl.jsonl" <<'PY'
import json, random, sys
tpl = open(sys.argv[1], encoding='utf-8').read().replace('\n', '')[:300]
common = ('的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下'
          '过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都'
          '两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重'
          '新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想')
rng = random.Random(1)
with open(sys.argv[2], 'w', encoding='utf-8') as f:
    for i in range(10000):
        own = rng.randint(200, 1500)
        body = ''.join(rng.choice(common) + ('，' if rng.random() < 0.06 else '')
                       for _ in range(own))
        cut = rng.randint(0, own)
        text = body[:cut] + '\n' + tpl + '\n' + body[cut:]
        f.write(json.dumps({'id': 'doc%05d' % i, 'text': text}, ensure_ascii=False) + '\n')
PY
check "template corpus runs" "$TY" dedup -q "$tmp/tpl.jsonl" -o "$tmp/tplout.jsonl"
check "template: none of 10,000 documents marked a duplicate" py '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
bad = [x["id"] for x in r if not x["keep"]]
assert len(r) == 10000, len(r)
if bad: sys.exit("%d marked duplicates, e.g. %s" % (len(bad), bad[:5]))
' "$tmp/tplout.jsonl"

# ---- a popular article: 50 and 200 copies in one batch (issue 16) --------------------------
# Copies (30 random characters changed, or spun) of one dev article among 300 unrelated
# documents: every copy must be in the article's cluster. Counted by documents, the copies'
# own text was "held by more than max_df documents" past 32 copies in a batch and masked as
# boilerplate: 50 light copies, none removed. Grouped by sketch only, copies spun at 20 %
# each started a group of their own: 200 of them, all spun, none removed (the cover groups of
# src/dedup_rules.c group them). The template test above keeps the other side: text shared by
# documents that differ elsewhere is still boilerplate.
# cases: copies:share of spun copies:spin strength
for c in 50:0:0.2 50:0.5:0.2 200:0:0.2 200:0.5:0.2 200:1:0.2 200:1:0.35; do
    IFS=: read -r cn sf sp <<EOC
$c
EOC
    d=$tmp/pop$cn-$sf-$sp
    if python3 scripts/repeat_gen.py copies "$d" --n $cn --spin-frac $sf --spin $sp \
        --shared "$SHARED" > /dev/null 2> "$tmp/err"; then
        check "popular $cn copies (spun share $sf at $sp) runs" "$TY" dedup -q "$d/corpus.jsonl" \
            -o "$d/out.jsonl"
        check "popular $cn copies (spun share $sf at $sp): every copy in the article's cluster, \
no unrelated document joins" py '
import json, sys
fam = {}
for l in open(sys.argv[1]):
    j = json.loads(l); fam[j["id"]] = j["family"]
clu = {}
for l in open(sys.argv[2]):
    j = json.loads(l); clu[j["id"]] = j["cluster"]
arts = {f for f in fam.values() if f}
for a in arts:
    members = [i for i, f in fam.items() if f == a]
    apart = [i for i in members if clu[i] != clu[a]]
    assert not apart, "%d of %d copies apart: %s" % (len(apart), len(members), apart[:3])
    joined = [i for i, f in fam.items() if f is None and clu[i] == clu[a]]
    assert not joined, "unrelated in the cluster: %s" % joined[:3]
' "$d/truth.jsonl" "$d/out.jsonl"
    else
        fail "popular $cn copies: repeat_gen.py (the dev set is needed: SHARED=$SHARED)"
    fi
done

# the index side of the same question: an article indexed 201 times (itself and 200 light
# copies) is not boilerplate to `check` either: a spun copy of it is found, from the family
d=$tmp/pop200-0-0.2
if [ -s "$d/corpus.jsonl" ]; then
    python3 -c '
import json, sys
sys.path.insert(0, "bench")
from spin import spin
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["id"].startswith("src-") and "-copy" not in j["id"]:
        open(sys.argv[2], "w").write(spin(j["text"], 5, 0.2)[0])
        break
' "$d/corpus.jsonl" "$tmp/popq.txt"
    check "popular article indexed 201 times" "$TY" index build -o "$tmp/pop.idx" "$d/corpus.jsonl"
    "$TY" check --index "$tmp/pop.idx" --format jsonl "$tmp/popq.txt" > "$tmp/popq.jsonl" \
        2> "$tmp/err"
    check "popular article: its spun copy found by check" py '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows and all(r["src"].startswith("src-") for r in rows), rows[:1]
assert sum(r["sus_len"] for r in rows) > 1000, [r["sus_len"] for r in rows]
' "$tmp/popq.jsonl"
    # its 200 copies all hold the text: max_also (10) of them listed, the others counted
    check "popular article: 10 copies listed, the ~190 others counted" py '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
also, more = r.get("also", []), r.get("also_more", 0)
assert "-copy" not in r["src"], r["src"]
assert len(also) == 10 and all("-copy" in a for a in also), also
assert 150 <= more <= 190, more
' "$tmp/popq.jsonl"
fi

# ---- JSONL: broken lines, ids, --write-kept byte for byte, compressed inputs ---------------
python3 - "$T" "$tmp/c.jsonl" <<'PY'
import json, sys
T, out = sys.argv[1:]
a = open(T + '/src-00387.txt', encoding='utf-8').read()
b = open(T + '/sus-00243.txt', encoding='utf-8').read()
c = open(T + '/hay-00031.txt', encoding='utf-8').read()
with open(out, 'w', encoding='utf-8') as f:
    f.write(json.dumps({'id': 'a', 'text': a, 'meta': {'x': [1, 2]}}, ensure_ascii=False) + '\n')
    f.write('{"id": "broken", "text": "unterminated\n')
    f.write(json.dumps({'text': b, 'id': 'b'}) + '\n')            # escaped, other key order
    f.write('\n')                                                   # blank: skipped silently
    f.write(json.dumps({'id': 'c', 'text': c}, ensure_ascii=False) + '  \n')
    f.write('{"id": "notext", "body": "x"}\n')
    f.write(json.dumps({'id': 'a2', 'text': a}, ensure_ascii=False) + '\n')
PY
"$TY" dedup "$tmp/c.jsonl" -o "$tmp/c.out" --write-kept "$tmp/kept.jsonl" > "$tmp/o" 2> "$tmp/err"
rc=$?
if [ $rc -eq 0 ]; then pass; else fail "broken lines are skipped by default (exit $rc)"; fi
if grep -q "c.jsonl:2:.*(skipped)" "$tmp/err" && grep -q "c.jsonl:6:.*(skipped)" "$tmp/err"; then
    pass
else
    fail "broken lines reported with file:line"
fi
if grep -q "4 documents.* 2 skipped" "$tmp/err"; then pass; else fail "summary counts skipped"; fi
check "JSONL: b joins a, a2 is an exact copy, c alone" sh -c "
    python3 -c '$SAME' $tmp/c.out b:a a2:a && python3 -c '$APART' $tmp/c.out a c"
# kept lines are the input lines, unchanged (a and c; b and a2 removed)
sed -n '1p;5p' "$tmp/c.jsonl" > "$tmp/kept.expected"
if cmp -s "$tmp/kept.jsonl" "$tmp/kept.expected"; then pass; else fail "--write-kept copies lines unchanged"; fi
"$TY" dedup -q --on-error fail "$tmp/c.jsonl" -o "$tmp/c.out" 2> "$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "c.jsonl:2:" "$tmp/err"; then pass; else fail "--on-error fail stops at line 2 (exit $rc)"; fi
gzip -c "$tmp/c.jsonl" > "$tmp/cz.jsonl.gz"
check "gzip input, --write-kept through it" "$TY" dedup -q "$tmp/cz.jsonl.gz" -o "$tmp/cz.out" \
    --write-kept "$tmp/keptz.jsonl"
if cmp -s "$tmp/keptz.jsonl" "$tmp/kept.expected"; then pass; else fail "--write-kept from .gz"; fi
# zstd is a test dependency (scripts/deps.sh): without it these fail rather than skip
zstd -q -c "$tmp/c.jsonl" > "$tmp/cs.jsonl.zst"
check "zstd input" "$TY" dedup -q "$tmp/cs.jsonl.zst" -o "$tmp/cs.out" --write-kept "$tmp/kepts.jsonl"
if cmp -s "$tmp/kepts.jsonl" "$tmp/kept.expected"; then pass; else fail "--write-kept from .zst"; fi
# text files: kept as {"id","text"} with the text unchanged
check "--write-kept, text files" "$TY" dedup -q "$tmp/ex" -o "$tmp/ex.out" --write-kept "$tmp/exk.jsonl"
check "--write-kept, text files as id + text" py '
import json, os, sys
d = sys.argv[2]
r = [json.loads(l) for l in open(sys.argv[1])]
ids = [x["id"] for x in r]
assert ids == ["hay-00031.txt", "reindented.txt"], ids  # the first of each cluster
for x in r:
    assert x["text"] == open(os.path.join(d, x["id"]), encoding="utf-8").read()
' "$tmp/exk.jsonl" "$tmp/ex"

# ---- --pairs-out: the evidence --------------------------------------------------------------
check "--pairs-out" "$TY" dedup -q "$T" -o /dev/null --pairs-out "$tmp/pairs.jsonl"
check "--pairs-out has each link with its passages" py '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
p = {(x["src"], x["sus"]): x for x in r}
x = p[("src-00387.txt", "sus-00243.txt")]
assert x["containment"] >= 0.6 and 0 < x["similarity"] <= 1, x
assert x["passages"] and x["passages"][0]["sus_len"] > 1000, x
for x in r:
    for q in x["passages"]:
        assert set(q) >= {"src_off", "src_len", "sus_off", "sus_len", "score"}
' "$tmp/pairs.jsonl"

# ---- --mode spans: passages reused from earlier documents removed ------------------------------
# spans_gen.py on the dev set: 1001 documents of unique text, every one of documents 1..1000
# with a 150-character passage of document 0 (verbatim: repetition is the normal case, the
# index's repeated-seed cut must not hide it), about 60 % with 1-2 more passages of earlier
# documents (verbatim, spun, reordered, Traditional)
if [ -d "$DEV/src" ]; then
    mkdir -p "$tmp/sg"
    python3 scripts/spans_gen.py --dev "$DEV" --out "$tmp/sg" --docs 1001 --popular 1
    check "spans runs" "$TY" dedup -q --mode spans --min-len 15 "$tmp/sg/corpus.jsonl" -o "$tmp/sp.jsonl" \
        --write-kept "$tmp/spk.jsonl"
    check "spans: the passage copied into 1000 documents is removed from every one, the first kept" \
        py '
import json, sys
t = [json.loads(l) for l in open(sys.argv[1])]
o = [json.loads(l) for l in open(sys.argv[2])]
assert len(o) == len(t) == 1001
assert o[0]["removed"] == []
for tt, oo in zip(t[1:], o[1:]):
    c = [x for x in tt["copies"] if x["kind"] == "popular"][0]
    cov = set()
    for r in oo["removed"]:
        cov.update(range(r["sus_off"], r["sus_off"] + r["sus_len"]))
    miss = [i for i in range(c["off"], c["off"] + c["len"]) if i not in cov]
    assert len(miss) <= 2, (tt["id"], miss)
' "$tmp/sg/truth.jsonl" "$tmp/sp.jsonl"
    check "spans: cleaned text = original minus the removed passages; --write-kept has it" py '
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
o = [json.loads(l) for l in open(sys.argv[2])]
k = {r["id"]: r["text"] for r in map(json.loads, open(sys.argv[3]))}
for cc, oo in zip(c, o):
    assert cc["id"] == oo["id"]
    cut = set()
    for r in oo["removed"]:
        cut.update(range(r["sus_off"], r["sus_off"] + r["sus_len"]))
        assert r["src"] < oo["id"]
    want = "".join(ch for i, ch in enumerate(cc["text"]) if i not in cut)
    assert oo["text"] == want, oo["id"]
    assert k.get(oo["id"], "") == want
' "$tmp/sg/corpus.jsonl" "$tmp/sp.jsonl" "$tmp/spk.jsonl"
    check "spans: recall and precision (spans_score.py --require)" python3 scripts/spans_score.py \
        "$tmp/sg/truth.jsonl" "$tmp/sp.jsonl" --text "$tmp/sg/corpus.jsonl" --require
    # threads and batches: the output of the one-by-one order at any number of threads
    for tb in "--threads 1" "--threads 2" "--threads 4" "--threads 3 --batch 16"; do
        # shellcheck disable=SC2086
        check "spans: --mode spans $tb gives the same output" sh -c '"$1" dedup -q --mode spans \
            --min-len 15 $2 "$3" -o "$4" && cmp -s "$4" "$5"' sh "$TY" "$tb" "$tmp/sg/corpus.jsonl" \
            "$tmp/spt.jsonl" "$tmp/sp.jsonl"
    done
    check "spans-exact runs" "$TY" dedup -q --mode spans-exact "$tmp/sg/corpus.jsonl" \
        -o "$tmp/spx.jsonl"
    check "spans-exact: removes the verbatim passage, not the spun ones" py '
import json, sys
t = [json.loads(l) for l in open(sys.argv[1])]
o = [json.loads(l) for l in open(sys.argv[2])]
got = {"popular": [0, 0], "spin35": [0, 0]}
for tt, oo in zip(t, o):
    cov = set()
    for r in oo["removed"]:
        assert r["score"] == 1
        cov.update(range(r["sus_off"], r["sus_off"] + r["sus_len"]))
    for c in tt["copies"]:
        if c["kind"] in got:
            got[c["kind"]][0] += sum(1 for i in range(c["off"], c["off"] + c["len"]) if i in cov)
            got[c["kind"]][1] += c["len"]
assert got["popular"][0] > 0.95 * got["popular"][1], got
assert got["spin35"][0] < 0.2 * got["spin35"][1], got
' "$tmp/sg/truth.jsonl" "$tmp/spx.jsonl"
    check "spans-exact: --threads 2 --batch 16 gives the same output" sh -c '"$1" dedup -q \
        --mode spans-exact --threads 2 --batch 16 "$2" -o "$3" && cmp -s "$3" "$4"' sh "$TY" \
        "$tmp/sg/corpus.jsonl" "$tmp/spxt.jsonl" "$tmp/spx.jsonl"
else
    fail "spans: the dev set is needed ($DEV missing; SHARED=${SHARED:-})"
fi

# ---- --against / --save-index: a later run against an earlier one ---------------------------
# The decisions for B's documents must be those of one run over A then B, byte for byte, in
# every mode: A is run with --save-index, B --against it. A has 203 documents and --batch 16,
# so its last batch is partial (spun mode: the batch a document is in changes its decisions:
# the state keeps that batch unprocessed, and the run --against it processes it again).
if [ -d "$DEV/src" ]; then
    python3 - "$DEV" "$tmp/ag" <<'PY'
import json, os, random, sys
dev, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
docs = []
for sub in ("src", "sus", "haystack"):
    for f in sorted(os.listdir(os.path.join(dev, sub))):
        if f.endswith(".txt"):
            docs.append((sub + "/" + f, open(os.path.join(dev, sub, f), encoding="utf-8").read()))
random.seed(7)
random.shuffle(docs)
docs = docs[:500]
# the last batch of A (203 = 12 x 16 + 11) holds X and X2, an edited copy of X, and B starts
# with X2 again: in one run over A + B, they are in one batch and the copy of X2 is linked to
# X2 (the batch's documents are candidates before they are known to be copies); a run --against
# a state that had processed that batch would find only X (a copy is not indexed)
x = max((d for d in docs[:201] if d[0].startswith("src/")), key=lambda d: len(d[1]))
x2 = "".join("〇" if i % 97 == 50 else c for i, c in enumerate(x[1]))
A = docs[:201] + [(x[0] + "#x", x[1]), (x[0] + "#x2", x2)]
B = docs[201:] + [(n + "#copy", t) for n, t in docs[:40]]  # verbatim copies of A's first 40
random.shuffle(B)
B.insert(0, (x[0] + "#x2-again", x2))
for name, part in (("A", A), ("B", B), ("B1", B[:150]), ("B2", B[150:]), ("AB", A + B)):
    with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
        for n, t in part:
            f.write(json.dumps({"id": n, "text": t}, ensure_ascii=False) + "\n")
PY
    AG=$tmp/ag
    # removed documents of B whose dup_of is one of A's: at least N
    OFA='
import json, sys
a = {json.loads(l)["id"] for l in open(sys.argv[1])}
n = sum(1 for l in open(sys.argv[2]) if json.loads(l)["dup_of"] in a)
assert n >= int(sys.argv[3]), n
'
    for m in exact near spun; do
        rm -rf "$AG/st"
        "$TY" dedup -q --mode $m --batch 16 "$AG/AB.jsonl" -o "$AG/ab.jsonl" \
            --pairs-out "$AG/abp.jsonl" 2> "$tmp/err"
        "$TY" dedup -q --mode $m --batch 16 "$AG/A.jsonl" -o "$AG/a.jsonl" --save-index "$AG/st" \
            --pairs-out "$AG/ap.jsonl" 2>> "$tmp/err"
        "$TY" dedup -q --mode $m --batch 16 "$AG/B.jsonl" -o "$AG/b.jsonl" --against "$AG/st" \
            --pairs-out "$AG/bp.jsonl" --write-kept "$AG/bk.jsonl" 2>> "$tmp/err"
        tail -n +204 "$AG/ab.jsonl" > "$AG/ab_b.jsonl"
        if [ -s "$AG/b.jsonl" ] && cmp -s "$AG/ab_b.jsonl" "$AG/b.jsonl"; then pass; else
            fail "--against ($m): B's decisions are not those of one run over A + B"; fi
        sort "$AG/ap.jsonl" "$AG/bp.jsonl" > "$AG/p1"
        sort "$AG/abp.jsonl" > "$AG/p2"
        if cmp -s "$AG/p1" "$AG/p2"; then pass; else
            fail "--against ($m): --pairs-out of A and of B are not those of A + B"; fi
        check "--against ($m): the 40 copies of A's documents are removed, dup_of naming them" \
            py "$OFA" "$AG/A.jsonl" "$AG/b.jsonl" 40
        # --write-kept: B's kept lines, as they are in B
        python3 -c '
import json, sys
keep = {json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["keep"]}
want = [l for l in open(sys.argv[2]) if json.loads(l)["id"] in keep]
assert want == open(sys.argv[3]).readlines()
' "$AG/b.jsonl" "$AG/B.jsonl" "$AG/bk.jsonl" && pass || fail "--against ($m): --write-kept"
        # a chain: A, then B1 against A saved in place, then B2 against A + B1
        "$TY" dedup -q --mode $m --batch 16 "$AG/B1.jsonl" -o "$AG/b1.jsonl" \
            --against "$AG/st" --save-index "$AG/st" 2>> "$tmp/err"
        "$TY" dedup -q --mode $m --batch 16 "$AG/B2.jsonl" -o "$AG/b2.jsonl" \
            --against "$AG/st" 2>> "$tmp/err"
        cat "$AG/b1.jsonl" "$AG/b2.jsonl" > "$AG/bb.jsonl"
        if [ -s "$AG/b2.jsonl" ] && cmp -s "$AG/ab_b.jsonl" "$AG/bb.jsonl"; then pass; else
            fail "--against ($m): A, B1, B2 saved in place is not one run over A + B"; fi
    done
    # keep longest: applied at the end over old and new documents
    rm -rf "$AG/st"
    "$TY" dedup -q --keep longest --batch 16 "$AG/AB.jsonl" -o "$AG/ab.jsonl"
    "$TY" dedup -q --keep longest --batch 16 "$AG/A.jsonl" -o /dev/null --save-index "$AG/st"
    "$TY" dedup -q --keep longest --batch 16 "$AG/B.jsonl" -o "$AG/b.jsonl" --against "$AG/st"
    if tail -n +204 "$AG/ab.jsonl" | cmp -s - "$AG/b.jsonl"; then pass; else
        fail "--against --keep longest"; fi
    # an index built by index build: its documents are added first
    "$TY" index build -q -o "$AG/idx" "$AG/A.jsonl" 2> "$tmp/err"
    "$TY" dedup -q "$AG/AB.jsonl" -o "$AG/ab.jsonl"
    "$TY" dedup -q "$AG/B.jsonl" -o "$AG/bi.jsonl" --against "$AG/idx" 2> "$tmp/err"
    if [ -s "$AG/bi.jsonl" ] && tail -n +204 "$AG/ab.jsonl" | cmp -s - "$AG/bi.jsonl"; then pass
    else fail "--against INDEX (index build): not one run over A + B"; fi
    # what users get wrong
    rm -rf "$AG/st"
    # popular articles across the two days: five articles, 300 copies each spun at 35 %,
    # batches of 256; the summaries carried over from day A's batches (src/dedup_rules.c) are
    # part of the state, so day B groups the copies as one run does (a state without them
    # gave other decisions here)
    if python3 scripts/repeat_gen.py copies "$AG/p5" --n 300 --articles 5 --spin-frac 1 \
        --spin 0.35 --shared "$SHARED" > /dev/null 2> "$tmp/err"; then
        P=$AG/p5/corpus.jsonl
        head -n 800 "$P" > "$AG/PA.jsonl"
        tail -n +801 "$P" > "$AG/PB.jsonl"
        "$TY" dedup -q --batch 256 "$P" -o "$AG/pab.jsonl" 2> "$tmp/err"
        "$TY" dedup -q --batch 256 "$AG/PA.jsonl" -o /dev/null --save-index "$AG/pst" \
            2>> "$tmp/err"
        "$TY" dedup -q --batch 256 "$AG/PB.jsonl" -o "$AG/pb.jsonl" --against "$AG/pst" \
            2>> "$tmp/err"
        tail -n +801 "$AG/pab.jsonl" > "$AG/pab_b.jsonl"
        if [ -s "$AG/pb.jsonl" ] && cmp -s "$AG/pab_b.jsonl" "$AG/pb.jsonl"; then pass; else
            fail "--against (spun, popular articles): B's decisions are not those of one run"; fi
    else
        fail "--against (spun, popular articles): repeat_gen.py (SHARED=$SHARED)"
    fi
    "$TY" dedup -q --batch 16 "$AG/A.jsonl" -o /dev/null --save-index "$AG/st"
    ST=$AG/st/dedup.state
    # expect RC PATTERN ARGS...: dedup ARGS exits RC with PATTERN on standard error
    expect() {
        want=$1 pat=$2
        shift 2
        "$TY" dedup -q "$@" > /dev/null 2> "$tmp/err"
        rc=$?
        if [ $rc -eq "$want" ] && grep -q -- "$pat" "$tmp/err"; then pass; else
            fail "dedup $* (exit $rc, $(head -c 300 "$tmp/err"))"; fi
    }
    expect 2 "missing: No such file" --batch 16 "$AG/B.jsonl" --against "$AG/missing"
    expect 2 "made with --mode spun, this run has --mode near" --mode near --batch 16 \
        "$AG/B.jsonl" --against "$AG/st"
    expect 2 "made with --sketch-k 5, this run has --sketch-k 6" --sketch-k 6 --batch 16 \
        "$AG/B.jsonl" --against "$AG/st"
    expect 2 "made with --batch 16, this run has --batch 4096" "$AG/B.jsonl" --against "$AG/st"
    expect 2 "neither a directory written by dedup --save-index" --batch 16 "$AG/B.jsonl" \
        --against "$AG/A.jsonl"
    cp "$ST" "$AG/good.state"
    mkdir -p "$AG/bad"
    cp "$ST" "$AG/bad/dedup.state"
    printf 'X' | dd of="$AG/bad/dedup.state" bs=1 seek=3000 conv=notrunc 2> /dev/null
    expect 2 "bad/dedup.state: byte [0-9]*: the checksum of the section of bytes" --batch 16 \
        "$AG/B.jsonl" --against "$AG/bad"
    head -c 2000 "$ST" > "$AG/bad/dedup.state"
    expect 2 "bad/dedup.state: byte [0-9]*: .*more than the file\|bad/dedup.state: byte [0-9]*: the file ends" \
        --batch 16 "$AG/B.jsonl" --against "$AG/bad"
    printf 'not a state' > "$AG/bad/dedup.state"
    expect 2 "not a dedup state file" --batch 16 "$AG/B.jsonl" --against "$AG/bad"
    expect 2 "not --mode spans" --mode spans "$AG/B.jsonl" --save-index "$AG/st2"
    expect 2 "holds the state of an earlier run, which this run does not continue" --batch 16 \
        "$AG/B.jsonl" --save-index "$AG/st"
    # a run that holds the lock: flock(1) holds it while dedup tries
    flock "$AG/st/dedup.lock" "$TY" dedup -q --batch 16 "$AG/B.jsonl" --against "$AG/st" \
        --save-index "$AG/st" > /dev/null 2> "$tmp/err"
    if [ $? -eq 2 ] && grep -q "another dedup run is saving its state here" "$tmp/err"; then
        pass; else fail "--save-index: a locked directory"; fi
    # a run that fails (a bad record with --on-error fail) leaves the state as it was
    printf '{"id":"bad","text":1}\n' > "$AG/bad.jsonl"
    expect 2 "bad.jsonl:1" --on-error fail --batch 16 "$AG/B.jsonl" "$AG/bad.jsonl" \
        --against "$AG/st" --save-index "$AG/st"
    if cmp -s "$ST" "$AG/good.state" && [ ! -e "$ST.tmp" ]; then pass; else
        fail "--save-index: a failed run changed the state"; fi
    # a stale temporary file of an interrupted run changes nothing
    printf 'junk' > "$ST.tmp"
    "$TY" dedup -q --batch 16 "$AG/B.jsonl" -o "$AG/b.jsonl" --against "$AG/st" \
        --save-index "$AG/st" 2> "$tmp/err"
    if [ $? -eq 0 ] && [ ! -e "$ST.tmp" ] && ! cmp -s "$ST" "$AG/good.state"; then pass; else
        fail "--save-index over a stale dedup.state.tmp"; fi
    # ---- --memory: past the budget the tables go to disk, the output does not change ------
    # 1M is less than the engine holds of A + B after its first batches: every batch after
    # that writes runs (and merges them), and the texts and signatures go to files
    MT=$tmp/memtmp
    mkdir -p "$MT"
    for m in exact near spun; do
        "$TY" dedup -v --mode $m --batch 16 "$AG/AB.jsonl" -o "$AG/m0.jsonl" \
            --pairs-out "$AG/m0p.jsonl" 2> "$tmp/err0"
        "$TY" dedup --mode $m --batch 16 "$AG/AB.jsonl" -o "$AG/m1.jsonl" --memory 1M \
            --tmp-dir "$MT" -v --pairs-out "$AG/m1p.jsonl" 2> "$tmp/err"
        if [ -s "$AG/m0.jsonl" ] && cmp -s "$AG/m0.jsonl" "$AG/m1.jsonl" &&
            cmp -s "$AG/m0p.jsonl" "$AG/m1p.jsonl"; then pass; else
            fail "--memory 1M ($m): decisions or --pairs-out differ from the run in memory"; fi
        if grep -q "memory budget 1 MB (--memory)" "$tmp/err" &&
            python3 -c '
import re, sys
err = open(sys.argv[1]).read()
m = re.search(r"(\d+) batches passed the budget, (\d+) MB written to disk, (\d+) runs merged", err)
assert m and int(m.group(1)) >= 20 and int(m.group(3)) >= 3, m and m.groups()
# and the most the temporary files held at once (runs merged away are freed)
assert re.search(r"runs merged, at most \d+ MB on disk at once", err), err
# spun: the minimizer table went to runs too, and counts what the table in memory counts
mz = r"(\d+) minimizers \((\d+) boilerplate, (\d+) in runs on disk\)"
a, b = re.search(mz, open(sys.argv[2]).read()), re.search(mz, err)
assert a.group(3) == "0" and a.groups()[:2] == b.groups()[:2], (a.groups(), b.groups())
assert sys.argv[3] != "spun" or int(b.group(3)) > 0, b.groups()
' "$tmp/err" "$tmp/err0" $m; then pass; else
            fail "--memory 1M ($m): several spills and merges ($(tail -1 "$tmp/err"))"; fi
        # with a saved state: A then B --against it, both spilling, as one run over A + B
        rm -rf "$AG/mst"
        "$TY" dedup -q --mode $m --batch 16 "$AG/A.jsonl" -o /dev/null --memory 1M \
            --tmp-dir "$MT" --save-index "$AG/mst" 2>> "$tmp/err"
        "$TY" dedup -q --mode $m --batch 16 "$AG/B.jsonl" -o "$AG/mb.jsonl" --memory 1M \
            --tmp-dir "$MT" --against "$AG/mst" 2>> "$tmp/err"
        tail -n +204 "$AG/m0.jsonl" > "$AG/m0_b.jsonl"
        if [ -s "$AG/mb.jsonl" ] && cmp -s "$AG/m0_b.jsonl" "$AG/mb.jsonl"; then pass; else
            fail "--memory 1M --save-index, --against ($m): not one run over A + B"; fi
        # the state is larger than the budget: its tables spill while they load, every 1,024
        # entries (near: A's band keys, spun: its minimizers), not whole at the end
        if [ $m != exact ]; then
            : > "$AG/empty.jsonl"
            "$TY" dedup -v --mode $m --batch 16 "$AG/empty.jsonl" -o /dev/null --memory 1M \
                --tmp-dir "$MT" --against "$AG/mst" 2> "$tmp/err"
            n=$(sed -n 's/.* \([0-9]*\) batches passed the budget.*/\1/p' "$tmp/err")
            if [ "${n:-0}" -ge 3 ]; then pass; else
                fail "--memory 1M --against ($m): the state did not spill as it loaded (${n:-?})"; fi
        fi
    done
    if [ -z "$(ls -A "$MT")" ]; then pass; else fail "--memory: $MT not empty after the runs"; fi
    # an error stops the run: the temporary directory goes too
    expect 2 "bad.jsonl:1" --on-error fail --batch 16 --memory 1M --tmp-dir "$MT" \
        "$AG/AB.jsonl" "$AG/bad.jsonl"
    if [ -z "$(ls -A "$MT")" ]; then pass; else fail "--memory: $MT not empty after an error"; fi
    # SIGINT while the run waits for more input (its tables already spilled): the CLI's handler
    # removes the directory; its files have no names
    # (python3 gives it the default SIGINT: a background job of a script has it ignored, and
    # dedup leaves an ignored signal ignored)
    mkfifo "$tmp/fifo"
    python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$TY" dedup -q --batch 16 --memory 1M --tmp-dir "$MT" - \
        < "$tmp/fifo" > /dev/null 2>&1 &
    pid=$!
    exec 9> "$tmp/fifo"
    cat "$AG/AB.jsonl" >&9
    i=0
    while [ -z "$(ls -A "$MT")" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    made=$(ls -A "$MT")
    kill -INT $pid
    i=0
    while kill -0 $pid 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 $pid 2> /dev/null && kill -KILL $pid
    wait $pid
    rc=$?
    exec 9>&-
    if [ -n "$made" ] && [ $rc -ne 0 ] && [ -z "$(ls -A "$MT")" ]; then pass; else
        fail "--memory: SIGINT (made: '$made', exit $rc, left: '$(ls -A "$MT")')"; fi
    rm -rf "$MT"/*
    for bad in 12X abc 0 100K -5G 1.5Q; do
        expect 2 "--memory $bad: " --memory "$bad" "$AG/B.jsonl"
    done
    expect 2 "not --mode spans" --mode spans --memory 1G "$AG/B.jsonl"
    # a mistyped --tmp-dir is told at the start, not when the budget is first passed
    expect 2 "--tmp-dir $tmp/nodir: No such file or directory" --memory 4G \
        --tmp-dir "$tmp/nodir" --batch 16 "$AG/AB.jsonl"
    expect 2 "--tmp-dir $AG/B.jsonl: not a directory" --tmp-dir "$AG/B.jsonl" "$AG/B.jsonl"
else
    fail "--against: the dev set is needed ($DEV missing; SHARED=${SHARED:-})"
fi

# ---- standard input, errors ----------------------------------------------------------------
check "stdin JSONL" sh -c "'$TY' dedup -q - < '$tmp/c.jsonl' > '$tmp/stdin.out' 2> /dev/null"
if [ "$(wc -l < "$tmp/stdin.out")" -eq 4 ]; then pass; else fail "stdin: 4 decisions"; fi
"$TY" dedup -q - --write-kept "$tmp/x" < "$tmp/c.jsonl" > /dev/null 2> "$tmp/err"
if [ $? -eq 2 ] && grep -q "standard input" "$tmp/err"; then pass; else fail "--write-kept with -"; fi
"$TY" dedup -q --mode fuzzy "$T" > /dev/null 2> "$tmp/err"
if [ $? -eq 2 ] && grep -q "exact, near, spun, spans or spans-exact" "$tmp/err"; then pass; else fail "bad --mode"; fi
"$TY" dedup -q "$tmp/missing.jsonl" > /dev/null 2> "$tmp/err"
if [ $? -eq 2 ] && grep -q "missing.jsonl" "$tmp/err"; then pass; else fail "missing input"; fi
"$TY" dedup > /dev/null 2>&1
if [ $? -eq 2 ]; then pass; else fail "no input: usage, exit 2"; fi
check "--help" sh -c "'$TY' dedup --help | grep -q -- --write-kept"

echo "dedup.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
