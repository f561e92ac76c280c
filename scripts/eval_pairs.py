#!/usr/bin/env python3
"""Write the pairwise evaluation list for `make eval`: every (src, sus) pair named in
truth.jsonl plus as many pairs with no reuse (a random suspect with a random source that it
does not reuse; fixed seed), as TSV 'src<TAB>sus' lines.

usage: eval_pairs.py DEV_DIR > pairs.tsv
"""
import json, os, random, sys

dev = sys.argv[1]
truth = [json.loads(l) for l in open(os.path.join(dev, 'truth.jsonl'), encoding='utf-8') if l.strip()]
pos = sorted({(t['src'], t['sus']) for t in truth})
srcs = sorted(os.listdir(os.path.join(dev, 'src')))
suss = sorted(os.listdir(os.path.join(dev, 'sus')))
reused = set(pos)
rng = random.Random(20261124)
neg = set()
while len(neg) < len(pos):
    p = (rng.choice(srcs), rng.choice(suss))
    if p not in reused:
        neg.add(p)
for s, u in sorted(pos) + sorted(neg):
    print('%s\t%s' % (os.path.join(dev, 'src', s), os.path.join(dev, 'sus', u)))
