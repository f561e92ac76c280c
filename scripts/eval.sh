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
# EVAL_REQUIRE=1 (set by make check): fail below the issue's bar — plagdet >= 0.93,
# pair F1 >= 0.98 and recall >= 0.9 in every obfuscation group.
if [ "${EVAL_REQUIRE:-0}" = 1 ]; then
  python3 - "$out/score.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
last = dict(kv.split('=') for kv in lines[-1].split())
bad = []
if float(last['plagdet']) < 0.93: bad.append('plagdet %s < 0.93' % last['plagdet'])
if float(last['pairF1']) < 0.98: bad.append('pairF1 %s < 0.98' % last['pairF1'])
for l in lines:
    m = re.match(r'(obf:\S+)\s+\d+\s+([\d.]+)', l)
    if m and float(m.group(2)) < 0.9: bad.append('%s char recall %s < 0.9' % m.groups())
if bad:
    print('eval: below the bar: ' + '; '.join(bad)); sys.exit(1)
print('eval: meets the bar (plagdet >= 0.93, pairF1 >= 0.98, every obf group recall >= 0.9)')
PY
fi
