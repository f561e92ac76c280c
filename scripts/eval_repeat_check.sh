#!/bin/sh
# eval-repeat, check part (issue 16): which version of a reposted article does a spun copy
# come from? scripts/repeat_gen.py families writes F families of 2-10 near-duplicate versions
# of an article (each keeps 80-95 % of its sentences) among unrelated documents, and a spun
# copy (20 %) of every version as a query. The index holds the versions and the unrelated
# documents; every query is checked (--format jsonl) and scored:
#   first   the queried version (or a version with the same text) is the first source named;
#   listed  every version of its family is named (a source, or in "also": other holders);
#   foreign names from outside the family (sources or holders), in all.
# Two rounds: "clean" (the index as generated) and "crowded" (plus scale_gen mosaics of the
# dev sources, which share the articles' sentences: every sentence has many holders, and the
# queried version is rarely the lowest id holding it).
# Bars (EVAL_REQUIRE=1): first >= 0.98 in both rounds; listed >= 0.98 in the clean round,
# >= 0.95 in the crowded one (there a mosaic can hold more of an article than a version that
# kept little of it, and is listed before it: the cap is 10 names).
#
# usage: scripts/eval_repeat_check.sh TONGYUAN SHARED_DIR OUTDIR
#   REPEAT_SIZE=small (make check: 20 families, 300 others, 5,000 mosaics; well under a
#   minute) or full (the default: 60 families, 3,000 others, 100,000 mosaics)
set -eu
bin=$1; shared=$2; out=$3
mkdir -p "$out"
case ${REPEAT_SIZE:-full} in
small) fam=20 others=300 crowd=5000 ;;
*) fam=60 others=3000 crowd=100000 ;;
esac
dir=$out/families-$fam-$others
if [ ! -s "$dir/truth.jsonl" ]; then
    python3 scripts/repeat_gen.py families "$dir" --families "$fam" --others "$others" \
        --shared "$shared"
fi
mosaics=$out/mosaics-$crowd.jsonl.gz
if [ ! -s "$mosaics" ]; then
    python3 "$shared/scale_gen.py" "$crowd" --seed 3 --pool "$shared/data/dev" \
        --out "$mosaics.tmp.gz"
    mv "$mosaics.tmp.gz" "$mosaics"
fi
rc=0
for round in clean crowded; do
    idx=$out/$round.idx
    extra=
    [ "$round" = crowded ] && extra=$mosaics
    # shellcheck disable=SC2086 # extra: one path or none
    "$bin" index build -q -o "$idx" "$dir/index.jsonl" $extra
    t0=$(date +%s.%N)
    st=0
    "$bin" check -x "$idx" --format jsonl --latency "$dir/queries" > "$out/$round.jsonl" \
        2> "$out/$round.err" || st=$?
    t1=$(date +%s.%N)
    [ $st -le 1 ] || { echo "eval-repeat check: tongyuan check failed (exit $st)" >&2;
        cat "$out/$round.err" >&2; exit 1; }
    lat=$(sed -n 's/.*latency median \([0-9.]*\) ms.*/\1/p' "$out/$round.err")
    python3 - "$dir" "$out/$round.jsonl" "$round" "$lat" "${EVAL_REQUIRE:-0}" <<'PY' || rc=1
import collections, json, os, sys
gen, det_path, round_, lat, require = sys.argv[1:]
text = {}  # versions with the same text are the same answer
for line in open(os.path.join(gen, 'index.jsonl'), encoding='utf-8'):
    r = json.loads(line)
    text[r['id']] = r['text']
named = collections.defaultdict(list)  # query -> names in output order (sources, then also)
for line in open(det_path, encoding='utf-8'):
    r = json.loads(line)
    q = r['sus'].rsplit('/', 1)[-1]
    for n in [r['src']] + r.get('also', []):
        if n not in named[q]:
            named[q].append(n)
truth = [json.loads(l) for l in open(os.path.join(gen, 'truth.jsonl'), encoding='utf-8')]
first = listed = foreign = 0
for t in truth:
    got = named.get(t['query'], [])
    first += bool(got) and text.get(got[0]) == text[t['version']]
    listed += set(t['family']) <= set(got)
    foreign += len(set(got) - set(t['family']))
n = len(truth)
print('check %-8s %d queries: first %.4f  listed %.4f  foreign names %d  latency median %s ms'
      % (round_, n, first / n, listed / n, foreign, lat))
bar = 0.98 if round_ == 'clean' else 0.95
if require == '1' and (first / n < 0.98 or listed / n < bar):
    print('eval-repeat check: %s: below the bar (first >= 0.98, listed >= %.2f)' % (round_, bar))
    sys.exit(1)
PY
done
exit $rc
