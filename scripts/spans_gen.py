#!/usr/bin/env python3
"""spans_gen.py — composite corpora with exact truth for `tongyuan dedup --mode spans`.

usage: spans_gen.py --dev DIR --out DIR [--docs N] [--seed S] [--popular K]

Writes OUT/corpus.jsonl ({"id","text"} per document, in order) and OUT/truth.jsonl (one line
per document: {"id", "copies": [{"off","len","kind","src","src_off","src_len"}]}, offsets in
code points of the document's text).

Each document is unique text — runs of consecutive sentences of the dev set's src/ and
haystack/ documents, every sentence used once (a sentence sharing any 8-character shingle
with an earlier one of the pool is dropped: unique text is really unique) —
plus, in about 60 % of documents, 1-2 passages (100-400 characters, whole sentences) copied
from the unique text of an EARLIER document and inserted as a paragraph of their own, as one
of these kinds:
  verbatim  unchanged
  spinNN    bench/spin.py's substitution at a rate drawn in 0.10-0.50 (that share of the
            2-character tokens replaced by a synonym or a changed character), reported in
            three bins: spin10 (0.10-0.20), spin20 (0.20-0.35), spin35 (0.35-0.50)
  reorder   its sentences shuffled (and spun at 0.10)
  trad      converted to Traditional Chinese with `opencc -c s2t` (scripts/deps.sh installs it)
  popular   one passage of document 0 copied verbatim into every K-th document (--popular,
            default 5): repetition is the normal case and every copy must go.
Standard library + the opencc command. Deterministic for (dev set, options).
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench'))
from spin import substitute  # noqa: E402

SENT = re.compile(r'[^。！？\n]*[。！？]')


def pool_sentences(dev):
    seen, out = set(), []
    for sub in ('src', 'haystack'):
        d = os.path.join(dev, sub)
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), encoding='utf-8') as fh:
                text = fh.read()
            for line in text.split('\n'):
                for m in SENT.finditer(line):
                    s = m.group(0).strip()
                    # really unique: no 8-character shingle in common with the pool so far
                    # (the dev set's manuals and poems repeat phrases across sentences)
                    g = {s[i:i + 8] for i in range(len(s) - 7)}
                    if len(s) < 8 or g & seen:
                        continue
                    seen |= g
                    out.append(s)
    return out


def trad(texts):
    if not texts:
        return []
    joined = '\n'.join(t.replace('\n', ' ') for t in texts) + '\n'
    r = subprocess.run(['opencc', '-c', 's2t.json'], input=joined.encode('utf-8'),
                       stdout=subprocess.PIPE, check=True)
    return r.stdout.decode('utf-8').rstrip('\n').split('\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dev', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--docs', type=int, default=400)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--popular', type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pool = pool_sentences(a.dev)
    pi = 0
    docs = []  # per doc: list of paragraphs (list of sentences), unique sentences list
    plans = []
    for d in range(a.docs):
        nsent = rng.randint(6, 16)
        if pi + nsent > len(pool):
            sys.exit('spans_gen.py: the dev set has too few sentences for %d documents' % a.docs)
        uniq = pool[pi:pi + nsent]
        pi += nsent
        docs.append(uniq)
        copies = []
        if d > 0 and a.popular and d % a.popular == 0:
            copies.append(('popular', 0))
        if d > 0 and rng.random() < 0.6:
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(['verbatim', 'spin', 'spin', 'spin', 'reorder', 'trad'])
                copies.append((kind, rng.randrange(d)))
        plans.append(copies)
    # choose the copied passages: consecutive sentences of the source's unique text
    pieces = []  # (doc, kind, src, start sentence, n sentences, text, src text)
    for d, copies in enumerate(plans):
        for kind, src in copies:
            u = docs[src]
            if kind == 'popular':
                st, n = 0, 1
                while n < len(u) and sum(len(s) for s in u[:n]) < 150:
                    n += 1
            else:
                st = rng.randrange(len(u))
                n = 1
                while st + n < len(u) and sum(len(s) for s in u[st:st + n]) < rng.randint(100, 400):
                    n += 1
                if sum(len(s) for s in u[st:st + n]) < 60:
                    continue
            sents = u[st:st + n]
            rate = 0.0
            if kind == 'spin':
                rate = rng.uniform(0.10, 0.50)
                kind = 'spin%d' % (10 if rate < 0.2 else 20 if rate < 0.35 else 35)
                text = substitute(''.join(sents), rng, rate, [0, 0])
            elif kind == 'reorder':
                s2 = sents[:]
                if len(s2) > 1:
                    while s2 == sents:
                        rng.shuffle(s2)
                text = substitute(''.join(s2), rng, 0.10, [0, 0])
            else:
                text = ''.join(sents)
            pieces.append([d, kind, src, st, n, text])
    tr = trad([p[5] for p in pieces if p[1] == 'trad'])
    ti = 0
    for p in pieces:
        if p[1] == 'trad':
            p[5] = tr[ti]
            ti += 1
    by_doc = {}
    for p in pieces:
        by_doc.setdefault(p[0], []).append(p)
    # lay out the documents: unique sentences in paragraphs of 2-4, passages between them
    texts, offs = [], []  # offs[d][k] = code point offset of unique sentence k
    with open(os.path.join(a.out, 'corpus.jsonl'), 'w', encoding='utf-8') as cf, \
            open(os.path.join(a.out, 'truth.jsonl'), 'w', encoding='utf-8') as tf:
        for d, u in enumerate(docs):
            pars, k = [], 0
            while k < len(u):
                m = rng.randint(2, 4)
                pars.append(('u', k, u[k:k + m]))
                k += m
            for p in by_doc.get(d, []):
                pars.insert(rng.randint(0, len(pars)), ('c', p))
            out, pos, so, truth = [], 0, {}, []
            for i, par in enumerate(pars):
                if i:
                    out.append('\n')
                    pos += 1
                if par[0] == 'u':
                    for j, s in enumerate(par[2]):
                        so[par[1] + j] = pos
                        out.append(s)
                        pos += len(s)
                else:
                    p = par[1]
                    truth.append({'off': pos, 'len': len(p[5]), 'kind': p[1], 'src': 'd%06d' % p[2],
                                  'src_sent': p[3], 'src_n': p[4]})
                    out.append(p[5])
                    pos += len(p[5])
            text = ''.join(out)
            texts.append(text)
            offs.append(so)
            for t in truth:  # the source passage in the source's text
                s0 = offs[int(t['src'][1:])]
                t['src_off'] = s0[t['src_sent']]
                src_u = docs[int(t['src'][1:])]
                t['src_len'] = sum(len(s) for s in src_u[t['src_sent']:t['src_sent'] + t['src_n']])
                del t['src_sent'], t['src_n']
            cf.write(json.dumps({'id': 'd%06d' % d, 'text': text}, ensure_ascii=False) + '\n')
            tf.write(json.dumps({'id': 'd%06d' % d, 'copies': truth}, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
