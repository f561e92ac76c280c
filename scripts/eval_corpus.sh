#!/bin/sh
# make eval-corpus: corpus-mode dev-set evaluation. Indexes dev src/ + haystack/ (and, with
# EVAL_EXTRA, more documents: e.g. a scale_gen.py JSONL of 100,000 unrelated documents), runs
# `tongyuan check` on every sus/ document, scores the detections with the shared PAN scorer
# and prints its report; the last line is score.py's.
# usage: scripts/eval_corpus.sh TONGYUAN SHARED_DIR [extra check options]
# env:   EVAL_OUT (build/eval-corpus), EVAL_EXTRA (paths to index as well, space-separated),
#        EVAL_REQUIRE=1: fail below the issue's bar (plagdet >= 0.93, pair F1 >= 0.97)
set -eu
bin=$1; shared=$2; shift 2
dev=$shared/data/dev
out=${EVAL_OUT:-build/eval-corpus}
mkdir -p "$out"
idx=$out/dev.idx
t0=$(date +%s.%N)
# shellcheck disable=SC2086 # EVAL_EXTRA is a list of paths
"$bin" index build -q -o "$idx" "$dev/src" "$dev/haystack" ${EVAL_EXTRA:-}
t1=$(date +%s.%N)
rc=0
"$bin" check -x "$idx" --format jsonl --latency "$@" "$dev/sus" \
    > "$out/detections.jsonl" 2> "$out/check.err" || rc=$?
t2=$(date +%s.%N)
[ $rc -le 1 ] || { echo "eval-corpus: tongyuan check failed (exit $rc)" >&2; cat "$out/check.err" >&2; exit 1; }
python3 "$shared/score.py" "$dev/truth.jsonl" "$out/detections.jsonl" > "$out/score.txt"
sed '$d' "$out/score.txt"
docs=$("$bin" index stats --format json "$idx" | sed 's/.*"documents":\([0-9]*\).*/\1/')
awk -v d="$docs" -v a="$t0" -v b="$t1" -v c="$t2" \
    'BEGIN{printf "index: %d documents in %.2f s; check: 300 documents in %.2f s\n", d, b-a, c-b}'
sed -n 's/^tongyuan: //p' "$out/check.err"
tail -n 1 "$out/score.txt"
if [ "${EVAL_REQUIRE:-0}" = 1 ]; then
  python3 - "$out/score.txt" <<'PY'
import sys
last = dict(kv.split('=') for kv in open(sys.argv[1]).read().splitlines()[-1].split())
bad = []
if float(last['plagdet']) < 0.93: bad.append('plagdet %s < 0.93' % last['plagdet'])
if float(last['pairF1']) < 0.97: bad.append('pairF1 %s < 0.97' % last['pairF1'])
if bad:
    print('eval-corpus: below the bar: ' + '; '.join(bad)); sys.exit(1)
print('eval-corpus: meets the bar (plagdet >= 0.93, pairF1 >= 0.97)')
PY
fi
