#!/bin/sh
# bench/dedup_days.sh — `make bench-dedup-days`: incremental dedup (--save-index, --against) on
# scale_gen documents. Day 1 is the first N1 documents, day 2 the next N2 plus copies of C
# day-1 documents (half verbatim, half spun by bench/spin.py at 0.15), shuffled. For each
# mode: one run over both days, day 1 with --save-index, day 2 --against it; checks that day
# 2's decisions are those of the one run, byte for byte, and prints for each run its wall
# seconds, CPU seconds (user + system), peak RSS, then the state's size and how many of the
# copies were removed.
#
# usage: sh bench/dedup_days.sh TONGYUAN SHARED_DIR
#   DAYS_DOCS=N     N1 = N/2, N2 = N - N/2 [100000]
#   DAYS_DAY1=N1, DAYS_DAY2=N2   the days' sizes (override DAYS_DOCS)
#   DAYS_COPIES=C   copies of day-1 documents added to day 2 [N1/10]
#   DAYS_MODES=...  [exact near spun]    DAYS_THREADS=T  dedup --threads [all cores]
#   DAYS_LAST=FILE  also write the table to FILE (bench/dedup_days_last.txt holds the
#                   1,000,000 + 1,100,000 run)
# Documents: the first N1 + N2 of build/syn100k.jsonl.gz (up to 100,000), build/syn1m.jsonl.gz
# (up to 1,000,000) or build/synM.jsonl.gz (M = N1 + N2), made once by scale_gen (bench/syn.sh).
# Exits non-zero when a mode's day-2 decisions differ.
set -eu
. "$(dirname "$0")/lib.sh"
bench_start 2 2 "sh bench/dedup_days.sh TONGYUAN SHARED_DIR" "$@"
n=${DAYS_DOCS:-100000}
n1=${DAYS_DAY1:-$((n / 2))}
n2=${DAYS_DAY2:-$((n - n / 2))}
copies=${DAYS_COPIES:-$((n1 / 10))}
n=$((n1 + n2))
if [ "$n" -le 100000 ]; then syn=build/syn100k.jsonl.gz; m=100000
elif [ "$n" -le 1000000 ]; then syn=build/syn1m.jsonl.gz; m=1000000
else syn=build/syn$n.jsonl.gz; m=$n; fi
. bench/syn.sh
syn_make "$m" "$syn"
w=build/days
rm -rf "$w"
mkdir -p "$w"
# Streams day 1; holds only day 2 (as bytes) to shuffle it. The sample and the shuffle depend
# only on the sizes, so a size gives the same days from run to run.
python3 - "$syn" "$n1" "$n2" "$copies" "$w" <<'PY'
import gzip, json, random, sys
sys.path.insert(0, "bench")
from spin import spin
syn, n1, n2, c, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = random.Random(11)
pick = {k: i for i, k in enumerate(rng.sample(range(n1), c))}
copy, d2 = [None] * c, []
with gzip.open(syn, "rb") as f, open(w + "/day1.jsonl", "wb") as o1, \
        open(w + "/both.jsonl", "wb") as ob:
    for k, l in enumerate(f):
        if k == n1 + n2:
            break
        l = l.rstrip(b"\n") + b"\n"
        if k >= n1:
            d2.append(l)
            continue
        o1.write(l)
        ob.write(l)
        if k in pick:
            i = pick[k]
            j = json.loads(l)
            t = j["text"] if i % 2 == 0 else spin(j["text"], i, 0.15)[0]
            copy[i] = (json.dumps({"id": j["id"] + ("#copy" if i % 2 == 0 else "#spun"),
                                   "text": t}, ensure_ascii=False) + "\n").encode()
    d2 += copy
    rng.shuffle(d2)
    with open(w + "/day2.jsonl", "wb") as o2:
        o2.writelines(d2)
    ob.writelines(d2)
PY
thr=${DAYS_THREADS:+--threads $DAYS_THREADS}
bad=0
table=$(
    printf 'incremental dedup: day 1 = %d scale_gen documents, day 2 = %d more + %d copies of day 1 (%s)\n' \
        "$n1" "$n2" "$copies" "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf '%-6s %-5s %9s %9s %9s %8s  %s\n' mode run wall-s CPU-s "peak MB" "state MB" \
        "day 2: copies removed verbatim/spun, decisions"
)
echo "$table"
for mode in ${DAYS_MODES:-exact near spun}; do
    rm -rf "$w/st"
    # t RUN ARGS...: runs tongyuan dedup, prints the row's timing columns
    t() {
        r=$1
        shift
        /usr/bin/time -f "%e %U %S %M" -o "$w/time" "$bin" dedup -q --mode "$mode" $thr "$@"
        awk -v m="$mode" -v r="$r" '{printf "%-6s %-5s %9.1f %9.1f %9d", m, r, $1, $2 + $3, $4 / 1024}' \
            "$w/time"
    }
    rb=$(t both "$w/both.jsonl" -o "$w/both.out")
    r1=$(t day1 "$w/day1.jsonl" -o "$w/d1.out" --save-index "$w/st")
    s1=$(du -b "$w/st/dedup.state" | awk '{printf "%.1f", $1 / 1e6}')
    r2=$(t day2 "$w/day2.jsonl" -o "$w/d2.out" --against "$w/st")
    if tail -n +$((n1 + 1)) "$w/both.out" | cmp -s - "$w/d2.out"; then same="equal to the one run's"
    else same="DIFFER from the one run's"; bad=1; fi
    rem=$(python3 -c '
import json, sys
v = s = 0
for l in open(sys.argv[1]):
    j = json.loads(l)
    if not j["keep"]:
        v += j["id"].endswith("#copy")
        s += j["id"].endswith("#spun")
print("%d/%d" % (v, s))' "$w/d2.out")
    rows=$(printf '%s\n%s %8s\n%s %8s  %s of %d/%d, %s' "$rb" "$r1" "$s1" "$r2" "" "$rem" \
        $(((copies + 1) / 2)) $((copies / 2)) "$same")
    echo "$rows"
    table=$(printf '%s\n%s' "$table" "$rows")
done
[ -n "${DAYS_LAST:-}" ] && printf '%s\n' "$table" > "$DAYS_LAST"
[ $bad -eq 0 ] && echo "day 2's decisions equal one run's over both days, in every mode"
exit $bad
