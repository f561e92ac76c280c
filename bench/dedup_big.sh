#!/bin/sh
# bench/dedup_big.sh — `make bench-dedup-big` (not in CI, not in `make bench`: hours at the
# default size): tongyuan dedup in near and spun mode on N scale_gen documents with a memory
# budget (--memory, docs/dedup.md "Memory"), against the run without one: documents per
# second, per CPU-second, peak RSS (/usr/bin/time -v), what was written to disk and the most
# the temporary files held at once (`-v`: runs merged away are freed), and whether the
# decisions are byte for byte those of the run in memory.
#
# usage: sh bench/dedup_big.sh TONGYUAN SHARED_DIR
#   BIG_DOCS=N        documents [10000000]; generated once into build/ (bench/syn.sh: scale_gen's
#                     documents by its C port, checked against scale_gen.py; minutes for 10M)
#   BIG_MODES=...     [near spun]
#   BIG_MEMORY=...    the budgets to run, "none" = no --memory [4G; "none 4G" up to 1M documents]
#   BIG_THREADS=N     [2]
#   BIG_TMP=DIR       --tmp-dir [$TMPDIR or /tmp]
#   BIG_REF=N         also run each mode in memory on the first N documents, in the same bench
#                     run, as the rate the budgeted runs are compared with (column "vs ref": how
#                     many times the CPU time per document; "wall vs": how many times the
#                     wall-clock time per document, issue 14's docs/s, which only a machine
#                     doing nothing else makes fair) [1000000 when BIG_DOCS is larger; "none"]
#   BIG_LAST=FILE     the table's copy [bench/dedup_big_last.txt]
# The in-memory run ("none") needs the memory of the whole corpus (docs/dedup.md): leave it out
# of BIG_MEMORY at sizes this machine cannot hold. Outputs of every run are kept in build/ and
# compared (cmp) with the first budget's.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 2 "sh bench/dedup_big.sh TONGYUAN SHARED_DIR" "$@"
n=${BIG_DOCS:-10000000}
. bench/syn.sh
syn_path "$n"
syn_make "$n" "$syn"
[ -x /usr/bin/time ] || { echo "bench-dedup-big: /usr/bin/time is needed (GNU time)" >&2; exit 2; }
ref=${BIG_REF:-}
[ -n "$ref" ] || { ref=none; [ "$n" -le 1000000 ] || ref=1000000; }
big=$syn
if [ "$ref" != none ]; then
    syn_path "$ref"
    syn_make "$ref" "$syn"
    refsyn=$syn
fi
last=${BIG_LAST:-bench/dedup_big_last.txt}
thr=${BIG_THREADS:-2}
{
    echo "dedup, $n scale_gen documents ($big), --threads $thr, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    [ "$ref" = none ] || echo "ref: the same mode in memory on the first $ref documents ($refsyn)"
    printf '%-5s %9s %7s %9s %9s %11s %9s %8s %8s %7s %7s %7s  %s\n' mode docs memory seconds \
        docs/s docs/CPU-s "peak MB" "disk MB" "disk max" spills "vs ref" "wall vs" output
} > "$last.tmp"
for m in ${BIG_MODES:-near spun}; do
    first=
    rate=build/big-$m-ref.rate
    rm -f "$rate"
    runs=${BIG_MEMORY:-}
    [ -n "$runs" ] || { runs=4G; [ "$n" -gt 1000000 ] || runs="none 4G"; }
    [ "$ref" = none ] || runs="ref $runs"
    for mem in $runs; do
        out=build/big-$m-$mem.jsonl
        syn=$big docs=$n
        [ "$mem" != ref ] || syn=$refsyn docs=$ref
        set -- "$bin" dedup --mode "$m" --threads "$thr" -v "$syn" -o "$out"
        [ "$mem" = none ] || [ "$mem" = ref ] || set -- "$@" --memory "$mem"
        [ -z "${BIG_TMP:-}" ] || set -- "$@" --tmp-dir "$BIG_TMP"
        echo "bench-dedup-big: $*" >&2
        /usr/bin/time -v "$@" 2> "build/big-$m-$mem.err" || {
            tail -5 "build/big-$m-$mem.err" >&2
            exit 1
        }
        python3 - "build/big-$m-$mem.err" "$docs" "$m" "$mem" "$out" "${first:-}" "$rate" \
            >> "$last.tmp" <<'PY'
import filecmp, os, re, sys
err, n, mode, mem, out, first, rate = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
t = open(err).read()
def num(pat, cast=float, default=0):
    m = re.search(pat, t)
    return cast(m.group(1)) if m else default
wall = t.split('Elapsed (wall clock) time (h:mm:ss or m:ss): ')[1].split()[0].split(':')
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
cpu = num(r'User time \(seconds\): ([\d.]+)') + num(r'System time \(seconds\): ([\d.]+)')
rss = num(r'Maximum resident set size \(kbytes\): (\d+)') / 1024
disk = num(r'(\d+) MB written to disk')
dmax = num(r'at most (\d+) MB on disk at once')
spills = num(r'(\d+) batches passed the budget', int)
per_cpu = n / max(cpu, 1e-9)
if mem == 'ref':
    open(rate, 'w').write('%f %f\n' % (per_cpu, n / secs))
    same, vs, wvs = '-', '1.00', '1.00'
else:
    same = 'first' if not first else ('identical' if filecmp.cmp(first, out, shallow=False)
                                      else 'DIFFERS')
    r = [float(x) for x in open(rate).read().split()] if os.path.exists(rate) else []
    vs = '%.2f' % (r[0] / per_cpu) if r else '-'
    wvs = '%.2f' % (r[1] / (n / secs)) if len(r) > 1 else '-'
print('%-5s %9d %7s %9.1f %9.0f %11.0f %9.0f %8.0f %8.0f %7d %7s %7s  %s' % (mode, n, mem,
      secs, n / secs, per_cpu, rss, disk, dmax, spills, vs, wvs, same))
PY
        [ -n "$first" ] || [ "$mem" = ref ] || first=$out
        tail -1 "$last.tmp"
    done
done
mv "$last.tmp" "$last"
cat "$last"
