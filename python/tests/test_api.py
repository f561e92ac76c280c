"""The Python API: every call and its error paths, on the bundled example texts."""
import json
import os
import subprocess

import pytest

import tongyuan


def cli_jsonl(build, *args):
    r = subprocess.run([os.path.join(build, "tongyuan")] + list(args), capture_output=True,
                       text=True)
    assert r.returncode in (0, 1), r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


# ---- compare ------------------------------------------------------------------------
def test_compare_matches_cli(build, root, original, spun):
    ps = tongyuan.compare(original, spun)
    cli = cli_jsonl(build, "compare", "--format", "jsonl",
                    os.path.join(root, "examples/original.txt"),
                    os.path.join(root, "examples/spun.txt"))
    assert len(ps) == len(cli) == 1
    d = ps[0].to_dict()
    for k in ("src_off", "src_len", "sus_off", "sus_len", "src_byte_off", "src_byte_len",
              "sus_byte_off", "sus_byte_len"):
        assert d[k] == cli[0][k], k
    assert round(d["score"], 4) == cli[0]["score"]
    # code-point offsets index the Python str, byte offsets its UTF-8 encoding
    p = ps[0]
    assert spun[p.sus_off:p.sus_off + p.sus_len].encode() == \
        spun.encode()[p.sus_byte_off:p.sus_byte_off + p.sus_byte_len]
    assert 0 < p.score <= 1 and p.matched > 300


def test_compare_bytes_and_files(root, original, spun):
    a = tongyuan.compare(original.encode(), spun.encode())
    b = tongyuan.compare_files(os.path.join(root, "examples/original.txt"),
                               os.path.join(root, "examples/spun.txt"))
    assert a == b == tongyuan.compare(original, spun)


def test_compare_unrelated_and_empty(original, unrelated):
    assert tongyuan.compare(original, unrelated) == []
    assert tongyuan.compare("", "") == []
    assert tongyuan.compare(original, "") == []


def test_compare_options(original, spun):
    base = tongyuan.compare(original, spun)
    strict = tongyuan.compare(original, spun, min_len=100000)
    assert base and strict == []
    assert tongyuan.compare(original, spun, k=4, min_score=0.2, max_size=1)
    with pytest.raises(TypeError):
        tongyuan.compare(original, spun, min_len="25")
    with pytest.raises(TypeError):
        tongyuan.compare(original, spun, no_such_option=1)
    with pytest.raises(TypeError):
        tongyuan.compare(original, 5)
    with pytest.raises(ValueError):
        tongyuan.compare(original, spun, k=99)
    with pytest.raises(ValueError):
        tongyuan.compare(original, spun, invalid_utf8="maybe")
    with pytest.raises(ValueError):
        tongyuan.compare(original, spun, max_size=0)
    with pytest.raises(ValueError):
        tongyuan.compare(original, spun, input_format="xls")


def test_compare_library_errors(root, original):
    with pytest.raises(tongyuan.Error) as e:
        tongyuan.compare(original, b"abc\xff\xfedef")
    assert e.value.code == -4 and "byte" in str(e.value)
    # the same bytes are accepted with invalid_utf8="replace"
    tongyuan.compare(original, b"abc\xff\xfedef", invalid_utf8="replace")
    with pytest.raises(tongyuan.Error) as e:
        tongyuan.compare("a\0b", original)
    assert e.value.code == -5
    with pytest.raises(tongyuan.Error) as e:
        tongyuan.compare_files(os.path.join(root, "examples/no-such.txt"),
                               os.path.join(root, "examples/spun.txt"))
    assert e.value.code == -3 and "no-such.txt" in str(e.value)
    with pytest.raises(TypeError):
        tongyuan.compare_files(1, 2)


# ---- index --------------------------------------------------------------------------
def test_index_lifecycle(tmp_path, original, spun, unrelated):
    path = str(tmp_path / "ix")
    with pytest.raises(tongyuan.Error):
        tongyuan.Index(path, "r")  # missing
    with pytest.raises(ValueError):
        tongyuan.Index(path, "x")
    with tongyuan.Index(path, "c") as ix:
        assert len(ix) == 0 and list(ix) == []
        assert ix.add("original", original) == 0
        assert ix.add_many([("unrelated", unrelated), {"id": "u2", "text": unrelated + "。"}]) == 2
        with pytest.raises(tongyuan.Error) as e:
            ix.add("original", original)
        assert e.value.code == -11
        with pytest.raises(tongyuan.Error):
            ix.add("bad", b"\xff")
        assert len(ix) == 3 and list(ix) == ["original", "unrelated", "u2"]
        assert ix.get("original") == original
        with pytest.raises(KeyError):
            ix.get("nobody")
        src = ix.check(spun, name="spun.txt")
        assert src[0].name == "original" and src[0].coverage > 0.9
        assert src[0].passages[0].sus_len > 500
        ix.delete("u2")
        with pytest.raises(KeyError):
            ix.delete("u2")
        with pytest.raises(KeyError):
            ix.get("u2")
        assert "u2" not in ix and "original" in ix
        st = ix.stats()
        assert st["docs"] == 3 and st["deleted"] == 1 and st["k"] > 0
    with pytest.raises(ValueError):
        ix.check(spun)  # closed
    with tongyuan.Index(path) as ix:
        assert len(ix) == 2
        with pytest.raises(tongyuan.Error):
            ix.add("x", "text")  # read-only
        assert ix.check(unrelated)[0].name == "unrelated"


def test_index_damaged(tmp_path):
    p = tmp_path / "junk"
    p.write_bytes(b"not an index at all" * 1000)
    with pytest.raises(tongyuan.Error) as e:
        tongyuan.Index(str(p))
    assert e.value.code in (-7, -8) and "junk" in str(e.value)


# ---- dedup --------------------------------------------------------------------------
def test_dedup_modes(original, spun, unrelated):
    docs = [{"id": "a", "text": original}, {"id": "b", "text": unrelated},
            {"id": "c", "text": spun}, {"id": "d", "text": original}]
    ds = list(tongyuan.dedup(iter(docs), mode="spun"))
    assert [d.id for d in ds] == ["a", "b", "c", "d"]
    assert [d.keep for d in ds] == [True, True, False, False]
    assert ds[2].dup_of == "a" and ds[2].cluster == ds[0].cluster and ds[2].containment > 0.6
    assert ds[0].similarity is None and ds[0].containment is None
    ex = list(tongyuan.dedup([(1, original), (2, spun), (3, original)], mode="exact"))
    assert [d.id for d in ex] == [1, 2, 3] and ex[2].dup_of == 1 and ex[1].keep
    assert ex[2].similarity == 1.0
    near = list(tongyuan.dedup([(1, original), (2, original + "。")], mode="near", threshold=0.5))
    assert near[1].dup_of == 1
    lo = list(tongyuan.dedup([("s", spun[:200]), ("l", spun)], mode="spun", keep="longest"))
    assert lo[1].keep and not lo[0].keep


def test_dedup_errors(original):
    with pytest.raises(ValueError):
        list(tongyuan.dedup([], mode="fuzzy"))
    with pytest.raises(ValueError):
        tongyuan.dedup([], keep="last")
    with pytest.raises(ValueError):
        tongyuan.dedup([], threads=0)
    with pytest.raises(TypeError):
        list(tongyuan.dedup([42]))
    with pytest.raises(ValueError):
        list(tongyuan.dedup([{"id": 1}]))
    with pytest.raises(TypeError):
        list(tongyuan.dedup([(1.5, "x")]))
    # a document the library cannot read is left out, with its error, and the rest goes on
    ds = list(tongyuan.dedup([("ok", original), ("bad", b"\xff\xfe"), ("ok2", original)]))
    assert ds[1].error and ds[1].cluster is None and ds[2].dup_of == "ok"


def test_version():
    assert tongyuan.__version__ == tongyuan.version() and tongyuan.version().count(".") == 2


def test_dedup_does_not_hold_the_documents(original):
    import tracemalloc
    n = 3000
    text = original * 4  # ~2,100 code points, ~6 KB a document: ~18 MB in all

    def docs():
        for i in range(n):
            yield {"id": "d%d" % i, "text": text + str(i)}

    tracemalloc.start()
    ds = tongyuan.dedup(docs(), mode="exact")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, peak  # a few documents at a time, not the corpus
    out = list(ds)
    assert len(out) == n and all(d.keep for d in out)
