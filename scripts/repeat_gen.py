#!/usr/bin/env python3
"""repeat_gen.py — repetition corpora with exact truth (issue 16), deterministic.

Real corpora are repetitive in ways the dev set is not: a popular article is copied thousands
of times, news sites repost several versions of one story, pages repeat their own sentences,
spinners reorder whole articles. Each subcommand writes one such corpus into OUT (a folder):

  copies    OUT/corpus.jsonl   K articles, each with N copies (light noise: --noise characters
                               changed at random; or spun: bench/spin.py at --spin rate, or a
                               mix), shuffled among M unrelated documents
            OUT/truth.jsonl    {"id", "family"}: family = the article's id for the article and
                               its copies, null for unrelated documents
  families  OUT/index.jsonl    F families of V near-duplicate versions of an article (each
                               version keeps 80-95 % of the article's sentences and replaces,
                               drops or adds the rest) among M unrelated documents
            OUT/queries/q-*.txt  one spun copy (--spin) of each version
            OUT/truth.jsonl    {"query", "version", "family": [every version of its family]}
  selfrep   OUT/*.txt + OUT/pairs.tsv + OUT/truth.jsonl   self-repetitive texts and the pairs
                               to compare: a sentence repeated R times against itself, a suspect
                               that holds its source twice (or three times), a paragraph repeated
                               in tandem inside an article (against itself and a spun copy), and
                               one very long repeated line (for excerpt lengths);
                               truth.jsonl holds PAN cases (score.py format)
  reorder   OUT/src/*.txt, OUT/sus/*.txt, OUT/pairs.tsv, OUT/truth.jsonl   whole articles whose
                               sentences a spinner put in random order (and, with --spin, also
                               spun); truth: one case per copy (whole suspect, whole source);
                               half of the suspects embed the copy between two unrelated
                               paragraphs ("partial"), the rest are the copy alone; with
                               --apart K, K more suspects hold two separate borrowings
                               (apart-*.txt): an article's first and last thirds, each
                               reordered in itself, back to back (two cases, case "apart")

Articles are dev-set sources (SHARED/data/dev/src, real prose); unrelated documents are
scale_gen.py mosaics drawn from the disjoint haystack pool, so they never share text with an
article. Every choice is driven by random.Random(seed): the output depends only on the
arguments. Standard library only (the spinner is bench/spin.py).

usage: repeat_gen.py copies   OUT [--n 100] [--articles 1] [--others 300] [--noise 30]
                              [--spin-frac 0.0] [--spin 0.2] [--seed 1] [--shared ../shared]
       repeat_gen.py families OUT [--families 20] [--versions 2-10] [--others 300]
                              [--spin 0.2] [--seed 1]
       repeat_gen.py selfrep  OUT [--repeat 40] [--seed 1]
       repeat_gen.py reorder  OUT [--n 30] [--spin 0.2] [--apart 0] [--seed 1]
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'bench'))
from spin import spin, COMMON  # noqa: E402

SENT = re.compile(r'[^。！？；!?;\n]*[。！？；!?;]+|[^。！？；!?;\n]+')
CJK = re.compile(r'[\u4e00-\u9fff]')


def load_articles(shared, min_chars=800, max_chars=6000):
    """Dev-set sources long enough to be an article, Han-dominated, in name order."""
    d = os.path.join(shared, 'data', 'dev', 'src')
    out = []
    for name in sorted(os.listdir(d)):
        t = open(os.path.join(d, name), encoding='utf-8').read()
        if min_chars <= len(t) <= max_chars and len(CJK.findall(t)) > 0.5 * len(t):
            out.append((name[:-4], t))
    return out


def unrelated(shared, n, seed):
    """n scale_gen documents from the haystack pool (never shares text with dev src)."""
    if n <= 0:
        return []
    gen = os.path.join(shared, 'scale_gen.py')
    pool = os.path.join(shared, 'data', 'dev', 'haystack')
    p = subprocess.run([sys.executable, gen, str(n), '--seed', str(seed), '--pool', pool],
                       check=True, capture_output=True, text=True)
    return [json.loads(l)['text'] for l in p.stdout.splitlines()]


def noise(text, rng, nchars):
    """Change nchars random Han characters to other common characters."""
    pos = [i for i, c in enumerate(text) if CJK.match(c)]
    t = list(text)
    for i in rng.sample(pos, min(nchars, len(pos))):
        t[i] = rng.choice(COMMON)
    return ''.join(t)


def sentences(par):
    return [s for s in SENT.findall(par) if s.strip()]


def write_jsonl(path, rows):
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')
    os.replace(path + '.tmp', path)


def write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def cmd_copies(a, rng):
    arts = load_articles(a.shared)
    rng.shuffle(arts)
    docs = []
    for k, (aid, text) in enumerate(arts[:a.articles]):
        docs.append({'id': aid, 'text': text, 'family': aid})
        for c in range(a.n):
            if rng.random() < a.spin_frac:
                t, _ = spin(text, rng.randrange(1 << 30), a.spin)
                kind = 'spun'
            else:
                t = noise(text, rng, a.noise)
                kind = 'light'
            docs.append({'id': '%s-copy%05d-%s' % (aid, c, kind), 'text': t, 'family': aid})
    for i, t in enumerate(unrelated(a.shared, a.others, a.seed)):
        docs.append({'id': 'other-%06d' % i, 'text': t, 'family': None})
    # shuffled, but each article stays before its copies (the original comes first, as in a crawl)
    rng.shuffle(docs)
    first = {}
    for i, d in enumerate(docs):
        if d['family'] and d['family'] not in first:
            first[d['family']] = i
    for fam, i in first.items():
        j = next(j for j, d in enumerate(docs) if d['id'] == fam)
        docs[i], docs[j] = docs[j], docs[i]
    write_jsonl(os.path.join(a.out, 'corpus.jsonl'), ({'id': d['id'], 'text': d['text']} for d in docs))
    write_jsonl(os.path.join(a.out, 'truth.jsonl'), ({'id': d['id'], 'family': d['family']} for d in docs))


def make_version(pars, donor_sents, rng, keep):
    """A repost: each sentence kept with probability keep; the others are dropped, replaced by
    a donor sentence, or followed by an inserted donor sentence; sometimes a new lead line."""
    out = []
    for p in pars:
        ss = []
        for s in sentences(p):
            if rng.random() < keep:
                ss.append(s)
                continue
            r = rng.random()
            if r < 0.45:
                ss.append(rng.choice(donor_sents))
            elif r < 0.75:
                ss.extend([s, rng.choice(donor_sents)])
            # else: dropped
        if ss:
            out.append(''.join(ss))
    if rng.random() < 0.5:
        out.insert(0, rng.choice(donor_sents))
    return '\n'.join(out) + '\n'


def cmd_families(a, rng):
    arts = load_articles(a.shared, min_chars=1200)
    rng.shuffle(arts)
    lo, hi = (int(x) for x in a.versions.split('-'))
    need = a.families * 2
    if len(arts) < need:
        sys.exit('repeat_gen: only %d articles for %d families' % (len(arts), a.families))
    rows, truth = [], []
    qdir = os.path.join(a.out, 'queries')
    os.makedirs(qdir, exist_ok=True)
    for f in range(a.families):
        aid, text = arts[2 * f]
        donor = [s for p in arts[2 * f + 1][1].split('\n') for s in sentences(p) if len(s) >= 8]
        pars = [p for p in text.split('\n') if p.strip()]
        nv = rng.randint(lo, hi)
        names = ['%s-v%d' % (aid, v) for v in range(nv)]
        for v, name in enumerate(names):
            vt = make_version(pars, donor, rng, rng.uniform(0.80, 0.95))
            rows.append({'id': name, 'text': vt})
            q = 'q-%s.txt' % name
            st, _ = spin(vt, rng.randrange(1 << 30), a.spin)
            write(os.path.join(qdir, q), st)
            truth.append({'query': q, 'version': name, 'family': names})
    for i, t in enumerate(unrelated(a.shared, a.others, a.seed)):
        rows.append({'id': 'other-%06d' % i, 'text': t})
    rng.shuffle(rows)
    write_jsonl(os.path.join(a.out, 'index.jsonl'), rows)
    write_jsonl(os.path.join(a.out, 'truth.jsonl'), truth)


def case(sus, src, so, sl, ro, rl, obf):
    return {'sus': sus, 'src': src, 'sus_off': so, 'sus_len': sl, 'src_off': ro, 'src_len': rl,
            'obf': obf, 'case': 'full'}


def cmd_selfrep(a, rng):
    arts = load_articles(a.shared, min_chars=1500)
    rng.shuffle(arts)
    pairs, truth = [], []

    def add(name, text):
        write(os.path.join(a.out, name), text)
        return name

    def pair(x, y):
        pairs.append((os.path.join(a.out, x), os.path.join(a.out, y)))

    # 1. one sentence repeated R times (a slogan page), against itself
    for i in range(3):
        s = [s for s in sentences(arts[i][1].split('\n')[1]) if len(s) >= 15][0]
        n = add('rep-sentence-%d.txt' % i, s * a.repeat + '\n')
        pair(n, n)
        truth.append(case(n, n, 0, len(s) * a.repeat, 0, len(s) * a.repeat, 'self-repeat'))
    # 2. a suspect holding its source twice / three times (sep: a newline)
    for i, times in ((3, 2), (4, 3)):
        src = arts[i][1]
        s = add('src-%d.txt' % i, src)
        sus = add('sus-%dx%d.txt' % (i, times), src * times)
        pair(s, sus)
        for t in range(times):
            truth.append(case(sus, s, t * len(src), len(src), 0, len(src), 'twice'))
    # 3. a paragraph repeated in tandem (5x) inside an article; against itself and a spun copy
    for i in (5, 6):
        pars = [p for p in arts[i][1].split('\n') if p.strip()]
        j = len(pars) // 2
        t = '\n'.join(pars[:j] + [pars[j]] * 5 + pars[j + 1:]) + '\n'
        n = add('tandem-%d.txt' % i, t)
        pair(n, n)
        truth.append(case(n, n, 0, len(t), 0, len(t), 'tandem'))
        sp, _ = spin(t, rng.randrange(1 << 30), 0.2)
        m = add('tandem-%d-spun.txt' % i, sp)
        pair(n, m)
        truth.append(case(m, n, 0, len(sp), 0, len(t), 'tandem+spin'))
    # 4. one very long line made of a repeated sentence (about 1 MB): excerpts must stay short
    s = sentences(arts[7][1].split('\n')[1])[0]
    line = s * (1_000_000 // (3 * len(s)) + 1)
    n = add('longline.txt', line + '\n')
    pair(n, n)
    truth.append(case(n, n, 0, len(line), 0, len(line), 'longline'))
    with open(os.path.join(a.out, 'pairs.tsv'), 'w') as f:
        for x, y in pairs:
            f.write('%s\t%s\n' % (x, y))
    write_jsonl(os.path.join(a.out, 'truth.jsonl'), truth)


def cmd_reorder(a, rng):
    arts = load_articles(a.shared, min_chars=1000)
    rng.shuffle(arts)
    os.makedirs(os.path.join(a.out, 'src'), exist_ok=True)
    os.makedirs(os.path.join(a.out, 'sus'), exist_ok=True)
    fill = unrelated(a.shared, 2 * a.n, a.seed)
    pairs, truth = [], []
    for i in range(a.n):
        aid, text = arts[i]
        ss = [s for p in text.split('\n') for s in sentences(p)]
        rng.shuffle(ss)
        # new paragraphs of 2-6 sentences
        pars, j = [], 0
        while j < len(ss):
            k = rng.randint(2, 6)
            pars.append(''.join(ss[j:j + k]))
            j += k
        t = '\n'.join(pars) + '\n'
        obf = 'reorder'
        if a.spin > 0:
            t, _ = spin(t, rng.randrange(1 << 30), a.spin)
            obf = 'reorder+spin%d' % round(100 * a.spin)
        src, sus = '%s.txt' % aid, 'sus-%03d.txt' % i
        pre = ''
        if i % 2:  # embedded between two unrelated paragraphs
            pre = fill[2 * i].split('\n')[0] + '\n'
            t = pre + t + fill[2 * i + 1].split('\n')[0] + '\n'
        write(os.path.join(a.out, 'src', src), text)
        write(os.path.join(a.out, 'sus', sus), t)
        pairs.append((os.path.join(a.out, 'src', src), os.path.join(a.out, 'sus', sus)))
        body = len(t) - len(pre) - (len(fill[2 * i + 1].split('\n')[0]) + 1 if i % 2 else 0)
        c = case(sus, src, len(pre), body, 0, len(text), obf)
        c['case'] = 'partial' if i % 2 else 'full'
        truth.append(c)
    # separate borrowings: the first and the last third of an article, each reordered (and
    # spun) in itself, back to back in the suspect; the middle third is not used. Two cases:
    # a detector that makes one passage of a reordered region must still keep these apart.
    for i in range(a.apart):
        aid, text = arts[a.n + i]
        ss = [(m.start(), m.end()) for m in SENT.finditer(text) if m.group().strip()]
        t = len(ss) // 3
        parts, spans = [], []
        for lo, hi in ((0, t), (len(ss) - t, len(ss))):
            piece = [text[b:e] for b, e in ss[lo:hi]]
            rng.shuffle(piece)
            body = ''.join(piece) + '\n'
            if a.spin > 0:
                body, _ = spin(body, rng.randrange(1 << 30), a.spin)
            parts.append(body)
            spans.append((ss[lo][0], ss[hi - 1][1]))
        src, sus = '%s.txt' % aid, 'apart-%03d.txt' % i
        write(os.path.join(a.out, 'src', src), text)
        write(os.path.join(a.out, 'sus', sus), ''.join(parts))
        pairs.append((os.path.join(a.out, 'src', src), os.path.join(a.out, 'sus', sus)))
        off = 0
        for body, (b, e) in zip(parts, spans):
            c = case(sus, src, off, len(body), b, e - b,
                     'apart' + ('+spin%d' % round(100 * a.spin) if a.spin > 0 else ''))
            c['case'] = 'apart'
            truth.append(c)
            off += len(body)
    with open(os.path.join(a.out, 'pairs.tsv'), 'w') as f:
        for x, y in pairs:
            f.write('%s\t%s\n' % (x, y))
    write_jsonl(os.path.join(a.out, 'truth.jsonl'), truth)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('copies')
    c.add_argument('--n', type=int, default=100)
    c.add_argument('--articles', type=int, default=1)
    c.add_argument('--others', type=int, default=300)
    c.add_argument('--noise', type=int, default=30)
    c.add_argument('--spin-frac', type=float, default=0.0)
    c.add_argument('--spin', type=float, default=0.2)
    f = sub.add_parser('families')
    f.add_argument('--families', type=int, default=20)
    f.add_argument('--versions', default='2-10')
    f.add_argument('--others', type=int, default=300)
    f.add_argument('--spin', type=float, default=0.2)
    s = sub.add_parser('selfrep')
    s.add_argument('--repeat', type=int, default=40)
    r = sub.add_parser('reorder')
    r.add_argument('--n', type=int, default=30)
    r.add_argument('--spin', type=float, default=0.2)
    r.add_argument('--apart', type=int, default=0)
    for p in (c, f, s, r):
        p.add_argument('out')
        p.add_argument('--seed', type=int, default=1)
        p.add_argument('--shared', default=os.path.join(HERE, '..', '..', 'shared'))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random('%s:%d' % (a.cmd, a.seed))
    {'copies': cmd_copies, 'families': cmd_families, 'selfrep': cmd_selfrep,
     'reorder': cmd_reorder}[a.cmd](a, rng)


if __name__ == '__main__':
    main()
