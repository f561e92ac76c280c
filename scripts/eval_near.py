#!/usr/bin/env python3
"""eval_near.py — `tongyuan dedup --mode near` on planted copies, against exact Jaccard.

usage: eval_near.py TONGYUAN SHARED OUTDIR [--articles 200] [--others 500] [--bands 14]
                    [--rows 9] [--seed 7] [--require]

Plants copies of dev-set articles (SHARED/data/dev/src, real prose) among unrelated
documents: each article has two copies with 0.3-6 % of its Han characters changed at random
(scripts/repeat_gen.py's noise), which spreads their Jaccard similarity over 0.4-0.95. Runs
near mode with the bands and rows given (14 x 9 = 126 permutations: the text-dedup recipe)
and --pairs-out, then computes in Python, exactly, for every planted pair:
  J       the Jaccard similarity of near mode's own shingles: character n-grams of the
          normalized text (the units `test_dedup --dump-near-units` prints, hashed as
          scripts/minhash_ref.py does);
  J_raw   the Jaccard similarity of the character 5-grams of the raw texts (what MinHash-LSH
          over characters — datasketch, text-dedup — estimates).
It prints
  recall  of the planted pairs with J >= 0.7 (and with J_raw >= 0.7) that share a cluster,
          beside the recall an unbiased MinHash-LSH has on the same pairs: the mean of the
          banding's S-curve 1 - (1 - J^rows)^bands over them (over J_raw: what datasketch
          would reach with the same bands and rows on the raw characters);
  bias    mean(similarity reported in --pairs-out - J) over the linked planted pairs, and
          the estimator --pairs-out names.
--require: exit 1 unless near mode's recall is within 0.05 of the S-curve's on its own
shingles (J >= 0.7) and |bias| <= 0.01. Needs build/tests/test_dedup next to TONGYUAN's
build directory (make builds it with `make test`; `make BUILD/tests/test_dedup`).
Standard library only.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import minhash_ref  # noqa: E402
import repeat_gen  # noqa: E402


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 1.0


def char_grams(t, n=5):
    return {t[i:i + n] for i in range(len(t) - n + 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('tongyuan')
    ap.add_argument('shared')
    ap.add_argument('out')
    ap.add_argument('--articles', type=int, default=200)
    ap.add_argument('--others', type=int, default=500)
    ap.add_argument('--bands', type=int, default=14)
    ap.add_argument('--rows', type=int, default=9)
    ap.add_argument('--ngram', type=int, default=5)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--require', action='store_true')
    a = ap.parse_args()
    td = os.path.join(os.path.dirname(os.path.abspath(a.tongyuan)), 'tests', 'test_dedup')
    if not os.access(td, os.X_OK):
        sys.exit('eval_near: %s is missing (make %s)' % (td, os.path.relpath(td)))
    docs = os.path.join(a.out, 'docs')
    os.makedirs(docs, exist_ok=True)
    rng = random.Random(a.seed)
    arts = repeat_gen.load_articles(a.shared)
    rng.shuffle(arts)
    texts, pairs = {}, []
    for i, (_, text) in enumerate(arts[:a.articles]):
        orig = 'a%04d-orig.txt' % i
        texts[orig] = text
        for c in range(2):
            k = rng.randint(3, 60)  # per mille of the characters
            copy = 'a%04d-copy%d.txt' % (i, c)
            texts[copy] = repeat_gen.noise(text, rng, len(text) * k // 1000)
            pairs.append((orig, copy))
    for i, t in enumerate(repeat_gen.unrelated(a.shared, a.others, a.seed)):
        texts['z%05d.txt' % i] = t
    for name, t in texts.items():
        with open(os.path.join(docs, name), 'w', encoding='utf-8') as f:
            f.write(t)
    dec, pout = os.path.join(a.out, 'decisions.jsonl'), os.path.join(a.out, 'pairs.jsonl')
    subprocess.run([a.tongyuan, 'dedup', '-q', '--mode', 'near', '--bands', str(a.bands),
                    '--rows', str(a.rows), '--ngram', str(a.ngram), docs, '-o', dec,
                    '--pairs-out', pout], check=True)
    names = sorted(texts)
    dump = subprocess.run([td, '--dump-near-units'] + [os.path.join(docs, n) for n in names],
                          check=True, capture_output=True, text=True).stdout
    units = {}
    for line in dump.splitlines():
        j = json.loads(line)
        units[j['id']] = j['tokens']
    cluster = {}
    for line in open(dec, encoding='utf-8'):
        j = json.loads(line)
        cluster[os.path.basename(j['id'])] = j['cluster']
    est, estimators = {}, collections.Counter()
    for line in open(pout, encoding='utf-8'):
        j = json.loads(line)
        est[frozenset((os.path.basename(j['src']), os.path.basename(j['sus'])))] = j['similarity']
        estimators['%s over %s, %s permutations' % (j.get('estimate'), j.get('shingles'),
                                                    j.get('perms'))] += 1
    rows = []
    for o, c in pairs:
        J = jaccard(minhash_ref.shingles(units[o], a.ngram), minhash_ref.shingles(units[c], a.ngram))
        Jr = jaccard(char_grams(texts[o]), char_grams(texts[c]))
        rows.append((J, Jr, cluster[o] == cluster[c], est.get(frozenset((o, c)))))

    def s_curve(j):
        return 1 - (1 - j ** a.rows) ** a.bands

    def recall(k):
        sel = [r for r in rows if r[k] >= 0.7]
        if not sel:
            return 0, 0.0, 0.0
        return (len(sel), sum(r[2] for r in sel) / len(sel),
                sum(s_curve(r[k]) for r in sel) / len(sel))

    n, rec, exp = recall(0)
    nr, recr, expr = recall(1)
    linked = [r for r in rows if r[3] is not None]
    bias = sum(r[3] - r[0] for r in linked) / len(linked) if linked else float('nan')
    gap = sum(r[0] - r[1] for r in rows) / len(rows)
    print('near %dx%d, %d planted pairs, %d other documents; estimate: %s' % (
        a.bands, a.rows, len(pairs), a.others, '; '.join(sorted(estimators)) or 'no links'))
    print('  own shingles (normalized characters, %d-grams), J >= 0.7: %d pairs, recall %.3f '
          '(unbiased MinHash-LSH: %.3f)' % (a.ngram, n, rec, exp))
    print('  raw-text character 5-grams, J_raw >= 0.7: %d pairs, recall %.3f (MinHash-LSH over '
          'raw characters: %.3f); mean J - J_raw %+.4f' % (nr, recr, expr, gap))
    print('  estimate bias over %d linked planted pairs: mean(similarity - J) %+.4f' % (
        len(linked), bias))
    if a.require:
        bad = []
        if n and rec < exp - 0.05:
            bad.append('recall %.3f < %.3f - 0.05' % (rec, exp))
        if not linked or abs(bias) > 0.01:
            bad.append('|bias| %.4f > 0.01' % abs(bias))
        if bad:
            print('eval_near: below the bar: ' + '; '.join(bad))
            sys.exit(1)
        print('eval_near: meets the bar (recall as the S-curve, |bias| <= 0.01)')


if __name__ == '__main__':
    main()
