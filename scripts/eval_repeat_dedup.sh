#!/bin/sh
# eval-repeat, dedup part (issue 16): a popular article copied N times among 300 unrelated
# documents (scripts/repeat_gen.py copies), for N = 10, 100, 1,000 (and 10,000 in the full
# run), in each mode on the copies that mode is for:
#   exact  identical copies (--noise 0);
#   near   light copies (5 random characters changed: near mode is for Jaccard >= ~0.7,
#          and 30 changed characters put a short article below it);
#   spun   half light copies, half spun (20 %);
# and, in spun mode, five articles whose copies are all spun at 35 % (spun35x5: two copies of
# one article share too little to be grouped by themselves; from the second batch on, the
# article is indexed and its copies join the summary carried over from the first batch),
# N = 5,000 copies each (1,000 in the small run, with --batch 512 for several batches).
# Scored by scripts/eval_repeat_dedup.py: pair recall (every copy in its article's cluster)
# and precision (no unrelated document joins). Time and peak memory (/usr/bin/time) per
# document are printed for every run, with the ratio N=10,000 / N=100 in the full run (the
# bar: at most 3x; reported, not gated — timings are not tests).
# Bars (EVAL_REQUIRE=1): pair recall >= 0.99 and precision 1.0 in every mode at every N.
#
# usage: scripts/eval_repeat_dedup.sh TONGYUAN SHARED_DIR OUTDIR
#   REPEAT_SIZE=small (make check: N = 10, 100, 1,000; a few seconds) or full (the default)
set -eu
bin=$1; shared=$2; out=$3
mkdir -p "$out"
case ${REPEAT_SIZE:-full} in
small) sizes="10 100 1000" near="--articles 60 --others 200" n35=1000 b35="--batch 512" ;;
*) sizes="10 100 1000 10000" near="" n35=5000 b35="" ;;
esac
rc=0
printf '%-6s %6s %8s %9s %8s %10s %10s\n' mode N recall precision removed us/doc KB/doc
for mode in exact near spun; do
    case $mode in
    exact) gen="--noise 0" ;;
    near) gen="--noise 5" ;;
    spun) gen="--noise 30 --spin-frac 0.5" ;;
    esac
    for n in $sizes; do
        dir=$out/copies-$mode-$n
        if [ ! -s "$dir/truth.jsonl" ]; then
            # shellcheck disable=SC2086
            python3 scripts/repeat_gen.py copies "$dir" --n "$n" $gen --shared "$shared"
        fi
        /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" dedup -q --mode "$mode" --threads 1 \
            "$dir/corpus.jsonl" -o "$dir/out.jsonl"
        set -- $(python3 scripts/eval_repeat_dedup.py "$dir/truth.jsonl" "$dir/out.jsonl")
        rec=$2 prec=$4 removed=$8
        docs=$(wc -l < "$dir/truth.jsonl")
        read -r secs kb < "$dir/time"
        per=$(awk -v s="$secs" -v k="$kb" -v d="$docs" \
            'BEGIN { printf "%10.1f %10.2f", s * 1e6 / d, k / d }')
        printf '%-6s %6s %8s %9s %8s %s\n' "$mode" "$n" "$rec" "$prec" "$removed" "$per"
        echo "$per" > "$dir/per"
        if awk -v r="$rec" -v p="$prec" 'BEGIN { exit !(r < 0.99 || p < 1) }'; then
            echo "eval-repeat dedup: $mode N=$n below the bar (recall >= 0.99, precision 1.0)"
            rc=1
        fi
    done
    if [ -s "$out/copies-$mode-10000/per" ] && [ -s "$out/copies-$mode-100/per" ]; then
        read -r t1 m1 < "$out/copies-$mode-100/per"
        read -r t2 m2 < "$out/copies-$mode-10000/per"
        awk -v a="$t1" -v b="$t2" -v c="$m1" -v d="$m2" -v m="$mode" 'BEGIN {
            printf "%s: per document, N=10000 / N=100: time %.2fx, memory %.2fx (bar: 3x)\n",
                m, b / a, d / c }'
    fi
done
# five articles, every copy spun at 35 %
dir=$out/copies-spun35x5-$n35
if [ ! -s "$dir/truth.jsonl" ]; then
    python3 scripts/repeat_gen.py copies "$dir" --n "$n35" --articles 5 --noise 30 \
        --spin-frac 1 --spin 0.35 --shared "$shared"
fi
# shellcheck disable=SC2086
/usr/bin/time -f '%e %M' -o "$dir/time" "$bin" dedup -q --mode spun --threads 1 $b35 \
    "$dir/corpus.jsonl" -o "$dir/out.jsonl"
set -- $(python3 scripts/eval_repeat_dedup.py "$dir/truth.jsonl" "$dir/out.jsonl")
rec=$2 prec=$4 removed=$8
docs=$(wc -l < "$dir/truth.jsonl")
read -r secs kb < "$dir/time"
per=$(awk -v s="$secs" -v k="$kb" -v d="$docs" 'BEGIN { printf "%10.1f %10.2f", s * 1e6 / d, k / d }')
printf '%-9s %6s %8s %9s %8s %s\n' spun35x5 "5x$n35" "$rec" "$prec" "$removed" "$per"
if awk -v r="$rec" -v p="$prec" 'BEGIN { exit !(r < 0.99 || p < 1) }'; then
    echo "eval-repeat dedup: spun35x5 below the bar (recall >= 0.99, precision 1.0)"
    rc=1
fi
# near mode's estimate against the true Jaccard similarity (scripts/eval_near.py; needs
# BUILD/tests/test_dedup, which make eval-repeat builds; bars with --require)
echo "== near mode: estimate vs true Jaccard (scripts/eval_near.py)"
req=
[ "${EVAL_REQUIRE:-0}" = 1 ] && req=--require
# shellcheck disable=SC2086
python3 scripts/eval_near.py "$bin" "$shared" "$out/near" $near $req || rc=1
[ "${EVAL_REQUIRE:-0}" = 1 ] || rc=0
exit $rc
