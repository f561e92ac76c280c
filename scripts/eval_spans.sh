#!/bin/sh
# eval_spans.sh TONGYUAN SHARED — make eval-spans: passage-level cleaning (dedup --mode spans)
# on a composite corpus of spans_gen.py (SPANS_DOCS documents, default 1000), scored by
# spans_score.py beside the exact-only baseline (--mode spans-exact). EVAL_REQUIRE=1 fails
# when spans misses the floors of docs/dedup.md.
set -eu
bin=$1
shared=$2
docs=${SPANS_DOCS:-1000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
here=$(dirname "$0")
python3 "$here/spans_gen.py" --dev "$shared/data/dev" --out "$dir" --docs "$docs"
req=
[ "${EVAL_REQUIRE:-0}" = 1 ] && req=--require
"$bin" dedup -q --mode spans-exact "$dir/corpus.jsonl" -o "$dir/exact.jsonl"
python3 "$here/spans_score.py" "$dir/truth.jsonl" "$dir/exact.jsonl" --text "$dir/corpus.jsonl" \
    --label spans-exact
"$bin" dedup -q --mode spans --min-len 15 "$dir/corpus.jsonl" -o "$dir/spans.jsonl"
python3 "$here/spans_score.py" "$dir/truth.jsonl" "$dir/spans.jsonl" --text "$dir/corpus.jsonl" \
    --label spans $req
