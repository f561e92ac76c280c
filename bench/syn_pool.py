#!/usr/bin/env python3
"""bench/syn_pool.py SHARED_DIR OUT — the sentence pool and the common characters that
scale_gen.py draws from, written for bench/syn_gen.c: line 1 holds the 3,000 common
characters, then one sentence a line, in scale_gen's order (UTF-8). Uses scale_gen's own
loader and patterns (imported), so the pool is the one scale_gen builds for the same --pool."""
import os, sys

shared, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, shared)
import scale_gen as sg  # noqa: E402

pool = os.path.join(shared, 'data', 'dev')
if not os.path.isdir(pool):
    pool = os.path.join(shared, 'pool', 'pool.jsonl')
# the same steps as scale_gen.main(), before its document loop
sents, chars = [], {}
for t in sg.load_texts(pool):
    for p in t.split('\n'):
        for s in sg.SENT.findall(p.strip()):
            s = s.strip()
            if len(s) >= 6 and len(sg.CJK.findall(s)) >= len(s) * 0.4:
                sents.append(s)
                for c in s:
                    if sg.CJK.match(c):
                        chars[c] = chars.get(c, 0) + 1
sents = sorted(set(sents))
common = sorted(chars, key=lambda c: (-chars[c], c))[:3000]
if not sents or any('\n' in s for s in sents) or any('\n' in c for c in common):
    raise SystemExit('syn_pool: unexpected pool')
tmp = out + '.tmp'
with open(tmp, 'w', encoding='utf-8') as f:
    f.write(''.join(common) + '\n')
    for s in sents:
        f.write(s + '\n')
os.replace(tmp, out)
