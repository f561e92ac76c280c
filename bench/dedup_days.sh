#!/bin/sh
# bench/dedup_days.sh — `make bench-dedup-days`: incremental dedup (--save-index, --against) on
# scale_gen documents. Day 1 is the first N/2 documents, day 2 the other N/2 plus copies of
# N/20 day-1 documents (half verbatim, half spun by bench/spin.py at 0.15), shuffled. For
# each mode: one run over both days, day 1 with --save-index, day 2 --against it; checks that
# day 2's decisions are those of the one run, byte for byte, and prints CPU seconds (user +
# system), peak RSS, the state's size and how many of the copies were removed.
#
# usage: sh bench/dedup_days.sh TONGYUAN SHARED_DIR
#   DAYS_DOCS=N     documents of both days without the copies [100000]; the first N of
#                   build/syn100k.jsonl.gz or build/syn1m.jsonl.gz (made by bench-dedup)
#   DAYS_MODES=...  [exact near spun]
# Exits non-zero when a mode's day-2 decisions differ.
set -eu
[ $# -eq 2 ] || { echo "usage: sh bench/dedup_days.sh TONGYUAN SHARED_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
case $1 in /*) bin=$1 ;; *) bin=$(pwd)/$1 ;; esac
shared=$(cd "$2" && pwd)
cd "$root"
n=${DAYS_DOCS:-100000}
if [ "$n" -le 100000 ]; then syn=build/syn100k.jsonl.gz; m=100000; else
    syn=build/syn1m.jsonl.gz; m=1000000; fi
if [ ! -s "$syn" ]; then
    echo "bench-dedup-days: making $syn with scale_gen (once)"
    python3 "$shared/scale_gen.py" $m --out "$syn.tmp" && mv "$syn.tmp" "$syn"
fi
w=build/days
rm -rf "$w"
mkdir -p "$w"
python3 - "$syn" "$n" "$w" <<'PY'
import gzip, json, random, sys
sys.path.insert(0, "bench")
from spin import spin
syn, n, w = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = []
with gzip.open(syn, "rt", encoding="utf-8") as f:
    for l in f:
        lines.append(l.rstrip("\n"))
        if len(lines) == n:
            break
d1, d2 = lines[: n // 2], lines[n // 2:]
rng = random.Random(11)
for i, l in enumerate(rng.sample(d1, n // 20)):
    j = json.loads(l)
    t = j["text"] if i % 2 == 0 else spin(j["text"], i, 0.15)[0]
    d2.append(json.dumps({"id": j["id"] + ("#copy" if i % 2 == 0 else "#spun"), "text": t},
                         ensure_ascii=False))
rng.shuffle(d2)
for name, part in (("day1", d1), ("day2", d2), ("both", d1 + d2)):
    with open("%s/%s.jsonl" % (w, name), "w", encoding="utf-8") as f:
        f.write("\n".join(part) + "\n")
PY
n1=$((n / 2))
bad=0
printf '%-6s %12s %12s %12s %10s %10s %22s\n' mode "both CPU-s" "day1 CPU-s" "day2 CPU-s" \
    "day2 MB" "state MB" "copies removed v/spun"
for mode in ${DAYS_MODES:-exact near spun}; do
    rm -rf "$w/st"
    t() { /usr/bin/time -f "%U %S %M" -o "$w/time" "$@"; awk '{printf "%.1f %d", $1 + $2, $3 / 1024}' "$w/time"; }
    both=$(t "$bin" dedup -q --mode "$mode" "$w/both.jsonl" -o "$w/both.out")
    d1=$(t "$bin" dedup -q --mode "$mode" "$w/day1.jsonl" -o "$w/d1.out" --save-index "$w/st")
    d2=$(t "$bin" dedup -q --mode "$mode" "$w/day2.jsonl" -o "$w/d2.out" --against "$w/st")
    state=$(du -b "$w/st/dedup.state" | awk '{printf "%.1f", $1 / 1e6}')
    if tail -n +$((n1 + 1)) "$w/both.out" | cmp -s - "$w/d2.out"; then same=1; else same=0; bad=1; fi
    rem=$(python3 -c '
import json, sys
v = s = 0
for l in open(sys.argv[1]):
    j = json.loads(l)
    if not j["keep"]:
        v += j["id"].endswith("#copy")
        s += j["id"].endswith("#spun")
print("%d/%d" % (v, s))' "$w/d2.out")
    printf '%-6s %12s %12s %12s %10s %10s %22s%s\n' "$mode" "${both% *}" "${d1% *}" "${d2% *}" \
        "${d2#* }" "$state" "$rem of $((n / 40))" "$([ $same = 1 ] && echo "" || echo "  DAY 2 DIFFERS")"
done
[ $bad -eq 0 ] && echo "day 2's decisions equal one run's over both days, in every mode"
exit $bad
