#!/bin/sh
# make eval-dedup: `tongyuan dedup` on the dev set's src/ and sus/ documents plus 100,000
# scale_gen documents, scored by scripts/dedup_eval.py against truth.jsonl (and scale_gen's
# own provenance, see there). Fails below pair recall 0.98 (whole-document copies) or pair
# precision 0.99.
#
# usage: scripts/dedup_eval.sh TONGYUAN SHARED_DIR [extra dedup options]
#   DEDUP_EVAL_DOCS=N   scale_gen documents [100000]; generated once into build/
set -eu
bin=$1; shared=$2; shift 2
dev=$shared/data/dev
n=${DEDUP_EVAL_DOCS:-100000}
case $n in 100000) syn=build/syn100k.jsonl.gz ;; 1000000) syn=build/syn1m.jsonl.gz ;;
    *) syn=build/syn$n.jsonl.gz ;; esac
out=${EVAL_OUT:-build/eval}
mkdir -p "$out" build
if [ ! -s "$syn" ]; then
    echo "eval-dedup: generating $n scale_gen documents into $syn (once)"
    python3 "$shared/scale_gen.py" "$n" --out "$syn.tmp.gz" && mv "$syn.tmp.gz" "$syn"
fi
"$bin" dedup "$dev/src" "$dev/sus" "$syn" -o "$out/dedup.jsonl" -v "$@"
python3 scripts/dedup_eval.py "$dev/truth.jsonl" "$out/dedup.jsonl" --shared "$shared" \
    --min-recall 0.98 --min-precision 0.99
