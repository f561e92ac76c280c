"""The package against the rest of the system: the CLI's detections on the dev set, threads,
memory over many calls, the installed C library (pkg-config) and its exports."""
import gc
import json
import os
import subprocess
import sys
import threading
import tracemalloc

import pytest

import tongyuan


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_dev_set_same_detections_as_cli(tmp_path, build, root, shared):
    dev = os.path.join(shared, "data", "dev")
    pairs = subprocess.run([sys.executable, os.path.join(root, "scripts", "eval_pairs.py"), dev],
                           check=True, capture_output=True, text=True).stdout
    (tmp_path / "pairs.tsv").write_text(pairs)
    cli = subprocess.run([os.path.join(build, "tongyuan"), "compare", "--pairs",
                          str(tmp_path / "pairs.tsv"), "--format", "jsonl"],
                         capture_output=True, text=True)
    assert cli.returncode in (0, 1), cli.stderr
    (tmp_path / "cli.jsonl").write_text(cli.stdout)
    lines = []
    texts = {}
    for line in pairs.splitlines():
        s, u = line.split("\t")
        for p in (s, u):
            if p not in texts:
                with open(p, encoding="utf-8") as f:
                    texts[p] = f.read()
        for p in tongyuan.compare(texts[s], texts[u]):
            d = {"src": s, "sus": u}
            d.update(p.to_dict())
            d["score"] = round(d["score"], 4)
            del d["matched"]
            lines.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
    (tmp_path / "py.jsonl").write_text("".join(l + "\n" for l in lines))
    assert len(lines) > 250
    assert [json.loads(l) for l in lines] == [json.loads(l) for l in cli.stdout.splitlines()]
    score = os.path.join(shared, "score.py")
    truth = os.path.join(dev, "truth.jsonl")
    a = subprocess.run([sys.executable, score, truth, str(tmp_path / "cli.jsonl")],
                       check=True, capture_output=True, text=True).stdout.splitlines()[-1]
    b = subprocess.run([sys.executable, score, truth, str(tmp_path / "py.jsonl")],
                       check=True, capture_output=True, text=True).stdout.splitlines()[-1]
    assert a == b and a.startswith("plagdet=") and float(a.split()[0].split("=")[1]) > 0.9


def test_two_threads_compare(original, spun, unrelated):
    want = {0: tongyuan.compare(original, spun), 1: tongyuan.compare(original, unrelated)}
    bad = []

    def run(t):
        for _ in range(300):
            if tongyuan.compare(original, spun if t == 0 else unrelated) != want[t]:
                bad.append(t)

    ts = [threading.Thread(target=run, args=(t,)) for t in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not bad and want[0] and not want[1]


def test_threads_check_and_dedup(tmp_path, original, spun, unrelated):
    with tongyuan.Index(str(tmp_path / "ix"), "c") as ix:
        ix.add_many([("o", original), ("u", unrelated)])
        res = {}

        def run(t):
            res[t] = [ix.check(spun)[0].name for _ in range(50)] + \
                [d.dup_of for d in tongyuan.dedup([("a", original), ("b", spun)])]

        ts = [threading.Thread(target=run, args=(t,)) for t in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert res[0] == res[1] == ["o"] * 50 + [None, "a"]


def test_no_memory_growth(original, spun):
    a, b = original[:300], spun[:300]
    for _ in range(2000):  # warm up: per-thread handles, allocator pools
        tongyuan.compare(a, b)
    gc.collect()
    r0 = rss_kib()
    tracemalloc.start()
    t0 = tracemalloc.take_snapshot()
    for _ in range(100000):
        tongyuan.compare(a, b)
    gc.collect()
    t1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in t1.compare_to(t0, "filename"))
    assert grown < 64 * 1024, grown
    assert rss_kib() - r0 < 8 * 1024, (r0, rss_kib())


def test_shared_library_exports_only_ty(build):
    so = os.path.join(build, "libtongyuan.so")
    out = subprocess.run(["nm", "-D", "--defined-only", so], check=True, capture_output=True,
                         text=True).stdout
    names = [l.split()[-1] for l in out.splitlines() if len(l.split()) >= 3]
    assert "ty_compare" in names and "ty_dedup_add" in names
    assert [n for n in names if not n.startswith("ty_") or n.startswith("ty__")] == []
    so_name = subprocess.run(["objdump", "-p", so], check=True, capture_output=True,
                             text=True).stdout
    assert "SONAME               libtongyuan.so.0" in so_name


C_PROG = r"""
#include <stdio.h>
#include <string.h>
#include <tongyuan.h>
int main(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *a = ty_doc_new(), *b = ty_doc_new();
    ty_aligner_t *al = ty_aligner_new(&o);
    const char *s = "本报讯 十一月的清晨，寒意已经很浓，但青石岭小学的孩子们还是早早来到了学校。";
    const char *t = "本报讯 十一月的早晨,冷意已经很浓,但青石岭小学的孩子们还是早早来到了学校.";
    const ty_passage_t *p;
    size_t n;
    o.min_len = 5;
    if (ty_doc_load_mem(a, "a", s, strlen(s), &o) || ty_doc_load_mem(b, "b", t, strlen(t), &o) ||
        ty_compare(al, a, b, &p, &n))
        return 2;
    printf("%s %zu\n", ty_version(), n);
    ty_aligner_free(al);
    ty_doc_free(a);
    ty_doc_free(b);
    return 0;
}
"""


@pytest.mark.parametrize("link", ["shared", "static"])
def test_c_program_against_installed_library(tmp_path, root, build, link):
    dest = tmp_path / "stage"
    subprocess.run(["make", "-s", "-C", root, "BUILD=" + os.path.relpath(build, root),
                    "install", "DESTDIR=" + str(dest), "PREFIX=/opt/ty"], check=True,
                   capture_output=True)
    for f in ("bin/tongyuan", "bin/tongyuan-serve", "lib/libtongyuan.a", "lib/libtongyuan.so",
              "lib/libtongyuan.so.0", "include/tongyuan.h", "lib/pkgconfig/tongyuan.pc",
              "share/man/man1/tongyuan.1"):
        assert (dest / "opt/ty" / f).exists(), f
    env = dict(os.environ, PKG_CONFIG_PATH=str(dest / "opt/ty/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    args = ["--cflags", "--libs"] + (["--static"] if link == "static" else [])
    flags = subprocess.run(["pkg-config"] + args + ["tongyuan"], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    (tmp_path / "p.c").write_text(C_PROG)
    exe = str(tmp_path / "p")
    if link == "static":
        flags = [f for f in flags if f != "-ltongyuan"]
        flags = [str(dest / "opt/ty/lib/libtongyuan.a")] + flags
    subprocess.run(["cc", "-std=c11", "-o", exe, str(tmp_path / "p.c")] + flags, check=True)
    r = subprocess.run([exe], env=dict(os.environ, LD_LIBRARY_PATH=str(dest / "opt/ty/lib")),
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == tongyuan.version() + " 1\n", r.stdout + r.stderr
    if link == "shared":
        ldd = subprocess.run(["ldd", exe], env=dict(os.environ,
                             LD_LIBRARY_PATH=str(dest / "opt/ty/lib")),
                             capture_output=True, text=True).stdout
        assert "libtongyuan.so.0" in ldd
    subprocess.run(["make", "-s", "-C", root, "BUILD=" + os.path.relpath(build, root),
                    "uninstall", "DESTDIR=" + str(dest), "PREFIX=/opt/ty"], check=True)
    left = [str(p) for p in (dest / "opt/ty").rglob("*") if p.is_file() or p.is_symlink()]
    assert left == []
