#!/usr/bin/env python3
"""eval_repeat_dedup.py — score one `tongyuan dedup` run on a repeat_gen.py copies corpus.

usage: eval_repeat_dedup.py TRUTH.jsonl DEDUP_OUT.jsonl
Prints "pair_recall P precision Q copies N removed R": pair recall = every copy (and the
article) in its article's cluster, counted over the pairs of each family; precision = share of
the pairs put in one cluster with a family member that are one family (an unrelated document
joining a family, or two families merged, lowers it). Exit 0 always (the caller decides the bar).
"""
import json
import sys
from collections import Counter, defaultdict


def main():
    fam = {}
    for line in open(sys.argv[1], encoding='utf-8'):
        r = json.loads(line)
        fam[r['id']] = r['family']
    clu = {}
    removed = 0
    for line in open(sys.argv[2], encoding='utf-8'):
        r = json.loads(line)
        if 'id' not in r:
            continue
        clu[r['id']] = r['cluster']
        removed += not r['keep']
    # pairs: true within-family pairs found; predicted same-cluster pairs that are true
    fam_clu = defaultdict(Counter)
    clu_fam = defaultdict(Counter)
    for i, f in fam.items():
        key = f if f is not None else ('other', i)
        fam_clu[key][clu.get(i)] += 1
        clu_fam[clu.get(i)][key] += 1
    def pairs(n):
        return n * (n - 1) // 2
    true_pairs = sum(pairs(sum(c.values())) for k, c in fam_clu.items() if k[0] != 'other')
    found = sum(pairs(v) for k, c in fam_clu.items() if k[0] != 'other' for v in c.values())
    # precision over the pairs a family member is in (pairs of two unrelated documents are
    # not this corpus's question: the unrelated mosaics may share text among themselves)
    pred = good = 0
    for c in clu_fam.values():
        nf = sum(v for k, v in c.items() if k[0] != 'other')
        n = sum(c.values())
        pred += pairs(n) - pairs(n - nf)
        good += sum(pairs(v) for k, v in c.items() if k[0] != 'other')
    copies = sum(1 for f in fam.values() if f is not None)
    rec = found / true_pairs if true_pairs else 1.0
    prec = good / pred if pred else 1.0
    print(f'pair_recall {rec:.4f} precision {prec:.4f} copies {copies} removed {removed}')


if __name__ == '__main__':
    main()
