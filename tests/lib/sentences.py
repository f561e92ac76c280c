"""tests/lib/sentences.py — the sentences of the test texts, for the shell tests that build
corpora from them (mpi.sh, mpi_index.sh: `sys.path.insert(0, 'tests/lib')`).

sentences(d): every d/*.txt in name order, its line breaks removed, cut at 。; the pieces over
8 characters, each with its 。 back. The corpora are drawn from this list with a fixed seed,
so its order is part of every test's expected output."""
import os


def sentences(d):
    sent = []
    for f in sorted(os.listdir(d)):
        if f.endswith('.txt'):
            t = open(os.path.join(d, f), encoding='utf-8', errors='replace').read()
            sent += [s + '。' for s in t.replace('\n', '').split('。') if len(s) > 8]
    return sent
