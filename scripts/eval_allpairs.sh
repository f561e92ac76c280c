#!/bin/sh
# All-pairs false-positive check used to choose the defaults (README "Parameters"): every dev
# suspect against every dev source (300 x 600 = 180,000 pairs) with `compare --pairs`, scored
# by the shared PAN scorer; the pair precision counts the chance matches that random negative
# pairs (make eval) would rarely meet.
# usage: scripts/eval_allpairs.sh TONGYUAN SHARED_DIR [compare options, e.g. -k 3]
set -eu
bin=$1; shared=$2; shift 2
dev=$shared/data/dev
out=${EVAL_OUT:-build/eval-allpairs}
mkdir -p "$out"
for u in "$dev"/sus/*.txt; do
    for s in "$dev"/src/*.txt; do printf '%s\t%s\n' "$s" "$u"; done
done > "$out/pairs.tsv"
rc=0
"$bin" compare --pairs "$out/pairs.tsv" --format jsonl "$@" > "$out/detections.jsonl" || rc=$?
[ $rc -le 1 ] || { echo "eval-allpairs: tongyuan failed (exit $rc)" >&2; exit 1; }
python3 "$shared/score.py" "$dev/truth.jsonl" "$out/detections.jsonl" | tail -n 2
