#!/bin/sh
# bench/shard_bench.sh — the sharded index (docs/mpi.md): build time at 1 process and at
# mpirun -np 1 (one shard), 2, 4; check latency on the sharded index against the unsharded
# one, and that the check outputs are identical. Not run in CI.
#
# usage: sh bench/shard_bench.sh MPI_TONGYUAN SHARED_DIR
#   SHARD_BENCH_DOCS=N   scale_gen.py documents [100000], plus the dev set's src/ and
#                        haystack/ (queries: the dev set's 300 suspects)
#   SHARD_BENCH_DIR      work directory [build/bench-shard]
set -eu
[ $# -ge 2 ] || { echo "usage: sh bench/shard_bench.sh MPI_TONGYUAN SHARED_DIR" >&2; exit 2; }
bin=$1
shared=$2
n=${SHARD_BENCH_DOCS:-100000}
dir=${SHARD_BENCH_DIR:-build/bench-shard}
dev=$shared/data/dev
mkdir -p "$dir"
MPIRUN="mpirun --oversubscribe --allow-run-as-root"
corpus=$dir/syn-$n.jsonl # uncompressed: cut in byte ranges between the ranks
if [ ! -s "$corpus" ]; then
    echo "shard-bench: generating $n documents"
    half=$((n / 2))
    python3 "$shared/scale_gen.py" "$half" --seed 1 --out "$dir/a.jsonl" &
    python3 "$shared/scale_gen.py" $((n - half)) --seed 1 --start "$half" --out "$dir/b.jsonl"
    wait
    cat "$dir/a.jsonl" "$dir/b.jsonl" > "$corpus"
    rm -f "$dir/a.jsonl" "$dir/b.jsonl"
fi
# the dev set first (its ids stay small), then the synthetic documents
IN="$dev/src $dev/haystack $corpus"
mb=$(du -sm "$dev/src" "$dev/haystack" "$corpus" | awk '{s += $1} END {print s}')
now() { date +%s.%N; }
run() { # run LABEL CMD...: wall seconds
    label=$1
    shift
    t0=$(now)
    "$@" > /dev/null 2> "$dir/err" || { echo "shard-bench: $label failed" >&2; cat "$dir/err" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" -v l="$label" -v mb="$mb" \
        'BEGIN { printf "%-34s %7.1f s  %6.1f MB/s\n", l, b - a, mb / (b - a) }'
}
echo "input: $mb MB ($n scale_gen documents + the dev set's src/ and haystack/)"
echo "build (--threads 1 per process):"
run "index build, 1 process" "$bin" index build -q --threads 1 -o "$dir/one.idx" $IN
rm -rf "$dir/sh1" "$dir/sh2" "$dir/sh4"
TY_MPI_FORCE=1 run "mpirun -np 1 (TY_MPI_FORCE: 1 shard)" $MPIRUN -np 1 "$bin" index build -q --threads 1 -o "$dir/sh1" $IN
run "mpirun -np 2" $MPIRUN -np 2 "$bin" index build -q --threads 1 -o "$dir/sh2" $IN
run "mpirun -np 4" $MPIRUN -np 4 "$bin" index build -q --threads 1 -o "$dir/sh4" $IN
echo "check, 300 dev suspects, --threads 1 (latency per document, index open excluded):"
for ix in one.idx sh1 sh2 sh4; do
    "$bin" check -x "$dir/$ix" --threads 1 --latency --format jsonl "$dev/sus" \
        > "$dir/$ix.out" 2> "$dir/$ix.err" || [ $? -eq 1 ]
    same=identical
    cmp -s "$dir/one.idx.out" "$dir/$ix.out" || same=DIFFERENT
    printf '%-8s %s  (output %s)\n' "$ix" "$(sed -n 's/^tongyuan: 300 documents checked: //p' "$dir/$ix.err")" "$same"
done
