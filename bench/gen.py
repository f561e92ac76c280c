#!/usr/bin/env python3
"""gen.py — build the benchmark inputs (deterministic, cached).

usage: gen.py SHARED_DIR OUT_DIR [--n 1000] [--seed 20240601] [--chars 3000]

Writes into OUT_DIR:
  src/src-NNNN.txt   N source documents of about CHARS code points (sentence-aligned cut);
                     each is consecutive documents of `SHARED_DIR/scale_gen.py --seed SEED
                     --pool SHARED_DIR/data/dev/src` joined until long enough (scale_gen's
                     documents are ~800 code points on average, too short on their own), then
                     cut back to the last sentence end before CHARS (never below 0.93*CHARS:
                     then cut at CHARS).
  sus/sus-NNNN.txt   the machine-spun copy of src-NNNN (bench/spin.py, seed from SEED and i).
  oth/oth-NNNN.txt   N other sources made the same way but from the disjoint pool
                     SHARED_DIR/data/dev/haystack (seed SEED+1).
  pairs-spun.tsv     src-i <TAB> sus-i                  (N pairs: every one is reuse)
  pairs-unrel.tsv    src-i <TAB> oth-i                  (N pairs of unrelated documents)
  pairs-pool.tsv     src-i <TAB> src-((i+N/2) mod N)    (N pairs of same-pool mosaics, see below)
  manifest.tsv       per pair: code points of both files and the achieved substitution rate
  STAMP              the parameters and a hash of the generators; if it matches, nothing is
                     regenerated (the cache), otherwise OUT_DIR is rebuilt from scratch.
Paths in the TSVs are OUT_DIR-relative as given (run from the repository root).

Why two pools: scale_gen documents are mosaics of sentences drawn from one pool, so two
sources of the same pool often contain the same pool sentence (each copy with its own 8%
character noise) — 1 to 3 sentences of 20..230 characters in about a third of the pairs.
That is real shared text, not a false positive, so the unrelated pairs take their second
document from the other half of the dev set, which was de-duplicated against the first half
(no shared run of 30+ characters). pairs-pool.tsv keeps the same-pool pairing as a separate,
informational measurement. Without SHARED_DIR/data/dev both come from scale_gen's default pool
(and the unrelated pairs may then share sentences; gen.py says so).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no bench/__pycache__ in the source tree
import spin  # noqa: E402

SENT_END = re.compile(r'[。！？!?；\n]')


def stamp_of(a, scale_gen):
    h = hashlib.sha256()
    for p in (os.path.join(HERE, 'gen.py'), os.path.join(HERE, 'spin.py'), scale_gen):
        with open(p, 'rb') as f:
            h.update(f.read())
    return 'n=%d seed=%d chars=%d gen=%s\n' % (a.n, a.seed, a.chars, h.hexdigest()[:16])


def scale_docs(scale_gen, seed, pool, batch=4000):
    """Yield texts of scale_gen.py documents 0, 1, 2, ... (generated batch by batch)."""
    start = 0
    while True:
        cmd = [sys.executable, scale_gen, str(batch), '--seed', str(seed), '--start', str(start)]
        if pool:
            cmd += ['--pool', pool]
        p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE)
        for line in p.stdout.decode('utf-8').splitlines():
            if line.strip():
                yield json.loads(line)['text']
        start += batch


def long_docs(docs, chars):
    """Join consecutive documents until `chars` code points, cut, yield; forever."""
    while True:
        parts, n = [], 0
        while n < chars:
            t = next(docs)
            parts.append(t)
            n += len(t) + 1
        yield cut('\n'.join(parts) + '\n', chars)


def write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def cut(text, chars):
    """Cut to at most `chars` code points, at a sentence end if one is near enough."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    ends = [m.end() for m in SENT_END.finditer(head)]
    if ends and ends[-1] >= chars * 0.93:
        head = head[:ends[-1]]
    return head.rstrip('\n') + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('shared')
    ap.add_argument('out')
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=20240601)
    ap.add_argument('--chars', type=int, default=3000)
    a = ap.parse_args()
    scale_gen = os.path.join(a.shared, 'scale_gen.py')
    stamp = stamp_of(a, scale_gen)
    sp = os.path.join(a.out, 'STAMP')
    if os.path.exists(sp) and open(sp).read() == stamp:
        print('gen: inputs cached in %s (%s)' % (a.out, stamp.strip()), file=sys.stderr)
        return
    print('gen: generating %d pairs into %s ...' % (a.n, a.out), file=sys.stderr)
    shutil.rmtree(a.out, ignore_errors=True)
    for d in ('src', 'sus', 'oth'):
        os.makedirs(os.path.join(a.out, d))
    dev = os.path.join(a.shared, 'data', 'dev')
    pool_a, pool_b = os.path.join(dev, 'src'), os.path.join(dev, 'haystack')
    if not (os.path.isdir(pool_a) and os.path.isdir(pool_b)):
        print('gen: warning: no %s/{src,haystack}: one pool for all, so unrelated pairs may '
              'share sentences' % dev, file=sys.stderr)
        pool_a = pool_b = None
    srcs_txt = long_docs(scale_docs(scale_gen, a.seed, pool_a), a.chars)
    oths_txt = long_docs(scale_docs(scale_gen, a.seed + 1, pool_b), a.chars)
    width = max(4, len(str(a.n)))
    srcs, suss, oths, man = [], [], [], []
    for i in range(1, a.n + 1):
        text = next(srcs_txt)
        spun, rate = spin.spin(text, a.seed * 7919 + i)
        s, u, o = (os.path.join(a.out, d, '%s-%0*d.txt' % (d, width, i))
                   for d in ('src', 'sus', 'oth'))
        write(s, text)
        write(u, spun)
        write(o, next(oths_txt))
        srcs.append(s)
        suss.append(u)
        oths.append(o)
        man.append('%s\t%s\t%d\t%d\t%.3f' % (s, u, len(text), len(spun), rate))
    half = a.n // 2
    for name, sus in (('spun', suss), ('unrel', oths),
                      ('pool', [srcs[(i + half) % a.n] for i in range(a.n)])):
        with open(os.path.join(a.out, 'pairs-%s.tsv' % name), 'w') as f:
            f.writelines('%s\t%s\n' % p for p in zip(srcs, sus))
    with open(os.path.join(a.out, 'manifest.tsv'), 'w') as f:
        f.write('src\tsus\tsrc_chars\tsus_chars\tsubst_rate\n')
        f.writelines(x + '\n' for x in man)
    with open(sp, 'w') as f:
        f.write(stamp)
    print('gen: done', file=sys.stderr)


if __name__ == '__main__':
    main()
