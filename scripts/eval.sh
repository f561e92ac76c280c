#!/bin/sh
# make eval: pairwise dev-set evaluation. Runs `tongyuan compare --pairs` over every truth pair
# plus as many non-reuse pairs, scores with the shared PAN scorer and prints its report.
# usage: scripts/eval.sh TONGYUAN SHARED_DIR [extra compare options]
set -eu
bin=$1; shared=$2; shift 2
dev=$shared/data/dev
out=${EVAL_OUT:-build/eval}
mkdir -p "$out"
python3 scripts/eval_pairs.py "$dev" > "$out/pairs.tsv"
start=$(date +%s.%N)
rc=0
"$bin" compare --pairs "$out/pairs.tsv" --format jsonl "$@" > "$out/detections.jsonl" || rc=$?
end=$(date +%s.%N)
[ $rc -le 1 ] || { echo "eval: tongyuan failed (exit $rc)" >&2; exit 1; }
n=$(wc -l < "$out/pairs.tsv")
python3 "$shared/score.py" "$dev/truth.jsonl" "$out/detections.jsonl" > "$out/score.txt"
sed '$d' "$out/score.txt"
awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN{printf "pairs=%d seconds=%.2f pairs/s=%.0f\n", n, e-s, n/(e-s)}'
tail -n 1 "$out/score.txt"
