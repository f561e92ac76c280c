#!/usr/bin/env python3
"""Score `tongyuan dedup` decisions against the dev set's truth (make eval-dedup).

usage: dedup_eval.py TRUTH.jsonl DECISIONS.jsonl [--min-recall R] [--min-precision P]

The corpus deduplicated is the dev set's src/ and sus/ documents (named src-NNNNN.txt and
sus-NNNNN.txt, as the reader names files of a directory) plus any number of unrelated
documents (scale_gen.py). Documents are "related" when the truth links them: every truth
row (full or partial copy) is an edge, and a connected component of those edges is one
family (two spun copies of one source are related to each other too).

- pair recall: share of the truth pairs (sus, src) with case=full — whole-document copies:
  verbatim, spun up to 50 %, shuffled, Traditional — whose two documents share a cluster,
  with the recall per obfuscation group;
- pair precision: of all document pairs that share a cluster, the share that are related.
  An unrelated pair merged is listed (the first few) so a failure can be looked at.

With --shared DIR (where scale_gen.py is), scale_gen documents get their truth from the
generator itself: it is deterministic per document, so the pool sentences each one is made
of are known by replaying it (only for documents found in a cluster of two or more). Two
documents are then also related when the pool sentences they share make up at least
--related (default 0.5) of the smaller one's characters. This matters: scale_gen splits
its pool at 。！？; only, so text punctuated with ． or . stays one "sentence" of up to
6,000 characters, and each such paragraph comes back, 8 %-mutated, in about one scale_gen
document in a thousand: those documents are real copies of each other and of the dev
source they were cut from (test: 'strict' precision, truth rows only, is printed too).

Prints one line per group and a last line `recall=... precision=... clusters=... docs=...`;
exits 1 if below --min-recall / --min-precision.
"""
import argparse
import collections
import json
import math
import os
import random
import sys


def shared_share(x, y):
    """Share of the smaller document made of pool sentences the other one has too."""
    (lx, px), (ly, py) = x, y
    if lx > ly:
        (lx, px), (ly, py) = (ly, py), (lx, px)
    ids = set(i for i, _ in py)
    return sum(n for i, n in px if i in ids) / lx if lx else 0.0


def provenance(shared, names):
    """{name: (characters, [(pool sentence id, characters), ...])} for the scale_gen
    documents (syn-NNNNNNNNN, default seed and mutation) and dev src documents in names,
    by replaying scale_gen.py's pool and generator."""
    sys.path.insert(0, shared)
    import scale_gen as g
    dev = os.path.join(shared, 'data', 'dev')
    named = []
    for sub in ('src', 'haystack'):
        root = os.path.join(dev, sub)
        for dp, dn, fn in sorted(os.walk(root)):
            dn.sort()
            for f in sorted(fn):
                if f.endswith('.txt'):
                    named.append((f, open(os.path.join(dp, f), encoding='utf-8').read()))
    sents, chars, doc_sents = [], {}, {}
    for name, t in named:
        mine = []
        for p in t.split('\n'):
            for s in g.SENT.findall(p.strip()):
                s = s.strip()
                if len(s) >= 6 and len(g.CJK.findall(s)) >= len(s) * 0.4:
                    sents.append(s)
                    mine.append(s)
                    for c in s:
                        if g.CJK.match(c):
                            chars[c] = chars.get(c, 0) + 1
        doc_sents[name] = (len(t), mine)
    sents = sorted(set(sents))
    sid = {s: i for i, s in enumerate(sents)}
    common = sorted(chars, key=lambda c: (-chars[c], c))[:3000]
    ns, seed, mutate = len(sents), 1, 0.08
    out = {}
    for name in names:
        if name in doc_sents:
            n, mine = doc_sents[name]
            out[name] = (n, [(sid[s], len(s)) for s in mine])
            continue
        if not name.startswith('syn-'):
            continue
        i = int(name[4:]) - 1
        rng = random.Random(seed * 1000003 + i)
        target = int(min(6000, max(300, math.exp(rng.gauss(7.2, 0.6)))))
        pars, n, parts = [], 0, []
        npar = rng.randint(2, 12)
        while n < target:
            k = rng.randint(1, 8)
            par = []
            for _ in range(k):
                x = rng.randrange(ns)
                s = sents[x]
                # the same random calls as scale_gen.py's mutation (the text is not needed)
                for c in s:
                    if g.CJK.match(c) and rng.random() < mutate:
                        rng.randrange(len(common))
                par.append((x, len(s)))
                n += len(s)
                if n >= target:
                    break
            pars.append(par)
            if len(pars) >= npar and n >= 300:
                break
        # '\n'.join(pars)[:6000]
        pos, kept = 0, []
        for pi, par in enumerate(pars):
            if pi:
                pos += 1
            for x, l in par:
                take = max(0, min(l, 6000 - pos))
                if take:
                    kept.append((x, take))
                pos += l
        out[name] = (min(pos, 6000), kept)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('truth')
    ap.add_argument('decisions')
    ap.add_argument('--min-recall', type=float, default=0)
    ap.add_argument('--min-precision', type=float, default=0)
    ap.add_argument('--shared', help='directory of scale_gen.py (and data/dev)')
    ap.add_argument('--related', type=float, default=0.5)
    a = ap.parse_args()

    cluster, keep = {}, {}
    with open(a.decisions, encoding='utf-8') as f:
        for line in f:
            d = json.loads(line)
            cluster[d['id']] = d['cluster']
            keep[d['id']] = d['keep']

    # truth families (union-find over truth edges)
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows = [json.loads(l) for l in open(a.truth, encoding='utf-8') if l.strip()]
    for r in rows:
        x, y = find(r['sus']), find(r['src'])
        if x != y:
            parent[x] = y

    # recall over whole-document copies
    groups = collections.defaultdict(lambda: [0, 0])
    seen = set()
    missing = []
    for r in rows:
        if r['case'] != 'full' or (r['sus'], r['src']) in seen:
            continue
        seen.add((r['sus'], r['src']))
        obf = r['obf']
        g = 'trad' if 'trad' in obf else 'shuffle' if 'shuffle' in obf else obf
        ok = r['sus'] in cluster and cluster.get(r['sus']) == cluster.get(r['src'])
        groups[g][0] += ok
        groups[g][1] += 1
        groups['all'][0] += ok
        groups['all'][1] += 1
        if not ok:
            missing.append('%s %s (%s)' % (r['sus'], r['src'], obf))

    # precision over all pairs sharing a cluster
    members = collections.defaultdict(list)
    for doc, c in cluster.items():
        members[c].append(doc)
    prov = {}
    if a.shared:
        wanted = [d for docs in members.values() if len(docs) > 1 for d in docs]
        prov = provenance(a.shared, wanted)
    pairs = related = strict = lonely = 0
    wrong = []
    for c, docs in members.items():
        if len(docs) < 2:
            continue
        n = len(docs)
        pairs += n * (n - 1) // 2
        fam = collections.Counter(find(d) for d in docs)
        strict += sum(k * (k - 1) // 2 for k in fam.values())
        # components of the cluster under truth families + generator provenance
        up = {d: d for d in docs}

        def f2(x):
            while up[x] != x:
                up[x] = up[up[x]]
                x = up[x]
            return x
        byfam = {}
        for d in docs:
            r = find(d)
            if r in byfam:
                up[f2(d)] = f2(byfam[r])
            else:
                byfam[r] = d
        pd = [d for d in docs if d in prov]
        for i in range(len(pd)):
            for j in range(i + 1, len(pd)):
                if f2(pd[i]) != f2(pd[j]) and shared_share(prov[pd[i]], prov[pd[j]]) >= a.related:
                    up[f2(pd[i])] = f2(pd[j])
        comp = collections.Counter(f2(d) for d in docs)
        related += sum(k * (k - 1) // 2 for k in comp.values())
        lonely += sum(1 for d in docs if comp[f2(d)] == 1)
        if len(comp) > 1 and len(wrong) < 10:
            wrong.append('cluster %s: %s' % (c, ' '.join(sorted(docs)[:8])))

    for g in sorted(groups):
        ok, n = groups[g]
        print('%-10s %4d/%-4d recall %.4f' % (g, ok, n, ok / n if n else 0))
    for m in missing[:10]:
        print('missed: ' + m)
    for w in wrong:
        print('merged unrelated: ' + w)
    recall = groups['all'][0] / groups['all'][1] if groups['all'][1] else 0
    precision = related / pairs if pairs else 1.0
    print('pairs sharing a cluster %d: related %d, unrelated %d (strict, truth rows only: '
          'related %d, precision %.4f)' % (pairs, related, pairs - related, strict,
                                            strict / pairs if pairs else 1.0))
    print('documents in a cluster where nothing is related to them: %d' % lonely)
    print('recall=%.4f precision=%.4f clusters=%d docs=%d removed=%d' %
          (recall, precision, len(members), len(cluster),
           sum(1 for v in keep.values() if not v)))
    if recall < a.min_recall or precision < a.min_precision:
        print('dedup eval: below the bar (recall >= %g, precision >= %g)' %
              (a.min_recall, a.min_precision))
        sys.exit(1)


if __name__ == '__main__':
    main()
