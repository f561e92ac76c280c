#!/usr/bin/env python3
"""A plain MinHash-LSH reference for `tongyuan dedup --mode near`.

usage: minhash_ref.py TOKENS.jsonl [--ngram N] [--bands B] [--rows R] [--seed S]
                      [--compare DECISIONS.jsonl]

TOKENS.jsonl: {"id": ..., "tokens": [units]} per document, in input order, as
`build/tests/test_dedup --dump-near-units FILE...` prints them: near mode's units, the
characters of the normalized text (the normalizer is the library's; everything after it is
recomputed here, the textbook way, one permutation at a time):

  shingle   ty_kmer_hash() of every n consecutive units (a rolling polynomial, base
            0x100000001B3, each unit + 1, finished by the splitmix64 mixer); its upper 32
            bits are the shingle value x; a document shorter than n is one shingle of all its
            units; an empty one has none (and stays alone)
  perms     a[i] | 1 and b[i] from a splitmix64 sequence seeded with --seed
  signature sig[i] = min over the distinct x of (a[i] * x + b[i]) mod 2^32
  LSH       documents whose rows values of band j are all equal share a bucket; every two
            documents of a bucket are linked; clusters are the connected components

Prints the clusters as lists of ids; with --compare, checks that tongyuan's decisions
({"id", "cluster", ...} per document) make exactly the same clusters, and exits 1 if not.
Standard library only.
"""
import argparse
import collections
import json
import sys

M64 = (1 << 64) - 1
BASE = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15


def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return x


def kmer_hash(tok):
    h = 0
    for t in tok:
        h = (h * BASE + t + 1) & M64
    return mix64(h)


def shingles(tok, n):
    if not tok:
        return set()
    if len(tok) < n:
        return {kmer_hash(tok) >> 32}
    return {kmer_hash(tok[i:i + n]) >> 32 for i in range(len(tok) - n + 1)}


def perms(seed, p):
    s, a, b = seed, [], []
    for _ in range(p):
        s = (s + GOLDEN) & M64
        a.append((mix64(s) & 0xffffffff) | 1)
        s = (s + GOLDEN) & M64
        b.append(mix64(s) & 0xffffffff)
    return a, b


def clusters(docs, ngram, bands, rows, seed):
    a, b = perms(seed, bands * rows)
    parent = list(range(len(docs)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    buckets = collections.defaultdict(list)
    for d, (_, tok) in enumerate(docs):
        xs = shingles(tok, ngram)
        if not xs:
            continue
        sig = [min((ai * x + bi) & 0xffffffff for x in xs) for ai, bi in zip(a, b)]
        for j in range(bands):
            buckets[(j, tuple(sig[j * rows:(j + 1) * rows]))].append(d)
    for members in buckets.values():
        for d in members[1:]:
            x, y = find(members[0]), find(d)
            if x != y:
                parent[max(x, y)] = min(x, y)
    groups = collections.defaultdict(list)
    for d in range(len(docs)):
        groups[find(d)].append(docs[d][0])
    return sorted(groups.values(), key=lambda g: g[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('tokens')
    ap.add_argument('--ngram', type=int, default=5)
    ap.add_argument('--bands', type=int, default=16)
    ap.add_argument('--rows', type=int, default=8)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--compare')
    o = ap.parse_args()
    docs = []
    with open(o.tokens, encoding='utf-8') as f:
        for line in f:
            j = json.loads(line)
            docs.append((j['id'], j['tokens']))
    ref = clusters(docs, o.ngram, o.bands, o.rows, o.seed)
    if not o.compare:
        for g in ref:
            print(json.dumps(g, ensure_ascii=False))
        return
    got = collections.defaultdict(list)
    with open(o.compare, encoding='utf-8') as f:
        for line in f:
            j = json.loads(line)
            got[j['cluster']].append(j['id'])
    a = {frozenset(g) for g in ref}
    b = {frozenset(g) for g in got.values()}
    multi = sum(1 for g in a if len(g) > 1)
    if a == b:
        print('minhash_ref: same clusters (%d documents, %d clusters, %d with copies)' %
              (len(docs), len(a), multi))
        return
    for g in sorted(a - b, key=sorted)[:5]:
        print('reference only: ' + ' '.join(sorted(g)))
    for g in sorted(b - a, key=sorted)[:5]:
        print('tongyuan only:  ' + ' '.join(sorted(g)))
    print('minhash_ref: clusters differ (%d vs %d)' % (len(a), len(b)))
    sys.exit(1)


if __name__ == '__main__':
    main()
