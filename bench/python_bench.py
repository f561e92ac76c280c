#!/usr/bin/env python3
"""python_bench.py — the Python package against the CLI (make bench-python, or
BENCH_ONLY=python make bench).

usage: python_bench.py TONGYUAN SHARED_DIR [--docs 100000] [--last bench/python_last.txt]

1. compare: the bench pairs (bench/gen.py: 1000 spun pairs of ~3000 code points, made if
   missing). tongyuan.compare() calls per second on texts already in memory, in 1 and 2
   Python threads (the GIL is released in C), against `tongyuan compare --pairs
   pairs-spun.tsv --format jsonl --threads 1|2` (pairs per second, reading the files).
   Both give the same passages (checked).
2. dedup: DOCS scale_gen documents in a JSONL file. `tongyuan dedup FILE -o OUT --threads 1`
   against tongyuan.dedup() over a generator that reads and json-parses the same file, one
   line at a time, threads=1, every Decision consumed; the difference per document is the
   Python overhead (reading and parsing JSON in Python included, and reported alone).
   exact and spun modes.
Best of 3 wall times; the figures go to stdout and to --last.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

import tongyuan


def best(fn, r=3):
    t = []
    for _ in range(r):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("shared")
    ap.add_argument("--docs", type=int, default=int(os.environ.get("PY_BENCH_DOCS", 100000)))
    ap.add_argument("--last", default="bench/python_last.txt")
    a = ap.parse_args()
    data = "build/bench/data"
    subprocess.run([sys.executable, "bench/gen.py", a.shared, data], check=True)
    tsv = os.path.join(data, "pairs-spun.tsv")
    pairs = [l.split("\t") for l in open(tsv, encoding="utf-8").read().splitlines() if l]
    texts = [(open(s, encoding="utf-8").read(), open(u, encoding="utf-8").read()) for s, u in pairs]
    n = len(texts)
    out = ["python vs CLI, %s, %d cores, python %s" % (time.strftime("%Y-%m-%d %H:%MZ", time.gmtime()),
                                                    os.cpu_count(), sys.version.split()[0])]

    # 1. compare
    def py(threads):
        def run(part):
            for s, u in part:
                tongyuan.compare(s, u)
        ts = [threading.Thread(target=run, args=(texts[i::threads],)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    cli_lines = subprocess.run([a.bin, "compare", "--pairs", tsv, "--format", "jsonl"],
                               capture_output=True, text=True).stdout.splitlines()
    py_n = sum(len(tongyuan.compare(s, u)) for s, u in texts)
    assert py_n == len(cli_lines), (py_n, len(cli_lines))
    out.append("compare: %d spun pairs of ~3000 code points (bench/gen.py), same %d passages"
               % (n, py_n))
    out.append("%-44s %8s %10s" % ("", "threads", "pairs/s"))
    for th in (1, 2):
        t = best(lambda: py(th))
        out.append("%-44s %8d %10.0f" % ("tongyuan.compare() (texts in memory)", th, n / t))
        t = best(lambda: subprocess.run([a.bin, "compare", "--pairs", tsv, "--format", "jsonl",
                                         "--threads", str(th)], stdout=subprocess.DEVNULL))
        out.append("%-44s %8d %10.0f" % ("tongyuan compare --pairs (files)", th, n / t))
    print("\n".join(out), flush=True)

    # 2. dedup
    corpus = "build/bench/py/scale-%d.jsonl" % a.docs
    os.makedirs(os.path.dirname(corpus), exist_ok=True)
    if not os.path.exists(corpus):
        subprocess.run([sys.executable, os.path.join(a.shared, "scale_gen.py"), str(a.docs),
                        "--out", corpus + ".tmp"], check=True)
        os.rename(corpus + ".tmp", corpus)
    def parse():
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                json.loads(line)
    tj = best(parse)
    out.append("dedup: %d scale_gen documents (%s), 1 thread; reading and json.loads of the"
               " file alone in Python: %.2f s (%.1f us/doc)" % (a.docs, corpus, tj,
                                                               tj / a.docs * 1e6))
    out.append("%-6s %12s %12s %16s %10s" % ("mode", "CLI s", "Python s", "overhead us/doc",
                                            "removed"))
    for mode in ("exact", "spun"):
        def cli():
            subprocess.run([a.bin, "dedup", corpus, "-o", "build/bench/py/out.jsonl",
                            "--mode", mode, "--threads", "1"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        removed = [0]

        def pyd():
            def docs():
                with open(corpus, encoding="utf-8") as f:
                    for line in f:
                        yield json.loads(line)
            removed[0] = sum(not d.keep for d in tongyuan.dedup(docs(), mode=mode, threads=1))
        tc, tp = best(cli), best(pyd)
        cli_removed = sum(1 for l in open("build/bench/py/out.jsonl", encoding="utf-8")
                          if '"keep":false' in l)
        assert cli_removed == removed[0], (cli_removed, removed[0])
        out.append("%-6s %12.2f %12.2f %16.1f %10d" % (mode, tc, tp, (tp - tc) / a.docs * 1e6,
                                                      removed[0]))
        print(out[-1], flush=True)
    with open(a.last, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out[out.index(next(l for l in out if l.startswith("dedup"))):]))


if __name__ == "__main__":
    main()
