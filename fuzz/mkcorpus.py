#!/usr/bin/env python3
"""fuzz/mkcorpus.py — (re)make the seed corpora in fuzz/corpus/<target>/.

usage: python3 fuzz/mkcorpus.py [SHARED_DIR]   (default ../shared)

Seeds are small on purpose (a few dozen files, < 100 KB): real Chinese snippets cut from the
development set (passages named in truth.jsonl, so that fuzz_compare starts from pairs that do
share text), the odd scripts and compatibility characters the normalizer expands, and
malformed UTF-8 of every kind. libFuzzer grows its own corpus from these in build/fuzz/.
Deterministic: running it again writes the same files.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "..", "..", "shared")
DEV = os.path.join(SHARED, "data", "dev")


def text(sub, name):
    with open(os.path.join(DEV, sub, name), encoding="utf-8") as f:
        return f.read()


def cut(s, off, n):
    """n code points from off, as UTF-8 bytes."""
    return s[off:off + n].encode("utf-8")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


truth = [json.loads(line) for line in open(os.path.join(DEV, "truth.jsonl"), encoding="utf-8")]


def first(pred):
    return next(t for t in truth if pred(t))


# ---- shared snippets ------------------------------------------------------------------------
trad = cut(text("src", "src-00001.txt"), 0, 200)        # Traditional (詩經)
simp = cut(text("src", "src-00451.txt"), 0, 200)        # Simplified prose
spun = cut(text("sus", "sus-00002.txt"), 0, 200)        # spun: half-width punctuation, 　　
latin = b"Hello, World! tongyuan 0.1.0 -- CamelCase snake_case 3.14159 e-mail@example.org\n"
expand = "½ ﬁ ㍻ ① ⑴ ＡＢＣｄｅｆ ｶﾀｶﾅ ﾊﾟ ㈱ ﬀ Ⅻ ǆ ß ﹏ 〇 ㊣ ℡ ％\n".encode()
scripts = ("한국어 텍스트. 日本語のテキスト。ภาษาไทย ລາວ Ελληνικά Кириллица עברית العربية "
           "e\u0301 n\u0303 \u00e9 中\u0300文\n").encode()
astral = "𠀀𪚥𫝀 😀👍🏽 𝐀𝐁𝐂 𝟏𝟐 \U0010FFFD 古籍𠮷野家\n".encode()
invalid = {
    "lone_cont": b"\x80abc\xbf",
    "overlong2": b"a\xc0\xaf.b\xc1\xbf",             # overlong '/' and '.'-like
    "overlong3": b"\xe0\x80\xaf\xe0\x9f\xbf\xe3\x80\x82",
    "overlong4": b"\xf0\x80\x80\xaf\xf0\x8f\xbf\xbf",
    "surrogate": "中".encode() + b"\xed\xa0\x80\xed\xbf\xbf" + "文".encode(),
    "above_max": b"\xf4\x90\x80\x80\xf5\x80\x80\x80\xf7\xbf\xbf\xbf",
    "bad_lead": b"\xf8\x88\x80\x80\x80\xfc\x84\x80\x80\x80\x80\xfe\xff",
    "truncated_mid": "中".encode() + b"\xe4\xb8" + "文".encode() + b"\xf0\x9f\x98" + "字".encode(),
    "truncated_end": "中文".encode() + b"\xe4\xb8",
    "c0c1": b"\xc0\x80\xc1\x81 zero",
}

# ---- fuzz_normalize: the document is the whole input -----------------------------------------
N = "fuzz_normalize"
write(N, "empty", b"")
write(N, "latin", latin)
write(N, "zh_trad", trad)
write(N, "zh_simp", simp)
write(N, "zh_spun", spun)
write(N, "expand", expand)
write(N, "scripts", scripts)
write(N, "astral", astral)
write(N, "crlf_bom", "\ufeff第一行。\r\n第二行！\r\n\r\n　　第三行？".encode())
write(N, "nul", "中文".encode() + b"\x00" + "字".encode())
# first byte 'C' (bits 0-1 = 3): also checks the max_doc_bytes limit
write(N, "limit", b"C" + simp[:120])
for k, v in invalid.items():
    write(N, "invalid_" + k, v)

# ---- fuzz_sketch: byte 0 → k = 2 + b % 15, byte 1 → w = 1 + b ---------------------------------
S = "fuzz_sketch"
write(S, "empty", b"\x02\x00")
write(S, "k4_w1_simp", b"\x02\x00" + simp)           # k 4, w 1 (pairwise default)
write(S, "k4_w10_trad", b"\x02\x09" + trad)          # k 4, w 10
write(S, "k5_w50_spun", b"\x03\x31" + spun)           # k 5, w 50
write(S, "k16_w256", b"\x0e\xff" + simp[:300])        # k 16, w 256 (more than the k-mers)
write(S, "k2_w2_repeat", b"\x00\x01" + "甲乙甲乙甲乙甲乙甲乙甲乙".encode())  # hash ties
write(S, "k3_w3_same", b"\x01\x02" + "哈" .encode() * 40)                 # one k-mer only
write(S, "short", b"\x0e\x05" + "三个字".encode())     # fewer tokens than k
write(S, "latin", b"\x01\x03" + latin)
write(S, "invalid", b"\x02\x04" + invalid["surrogate"] + invalid["truncated_mid"] * 3)
write(S, "astral", b"\x02\x02" + astral)


# ---- fuzz_compare: source 0xFF suspect (or split in the middle) ------------------------------
C = "fuzz_compare"


def pair(t, n=900):
    """Source and suspect of truth line t, from the start of each passage, n code points."""
    a = cut(text("src", t["src"]), t["src_off"], n)
    b = cut(text("sus", t["sus"]), t["sus_off"], n)
    return a + b"\xff" + b


write(C, "verbatim", pair(first(lambda t: t["obf"] == "verbatim")))
write(C, "spin20", pair(first(lambda t: t["obf"] == "spin20" and t["case"] == "full")))
write(C, "spin50", pair(first(lambda t: t["obf"] == "spin50")))
write(C, "shuffle", pair(first(lambda t: "shuffle" in t["obf"])))
write(C, "trad", pair(first(lambda t: t["obf"].endswith("trad") and t["case"] == "full")))
write(C, "partial_punct", pair(first(lambda t: t["obf"] == "punct"), 400))
neg = cut(text("sus", "sus-00012.txt"), 0, 600)
write(C, "negative", simp + b"\xff" + neg)
write(C, "self", simp + b"\xff" + simp)
write(C, "no_separator", simp * 2)                   # split in the middle
write(C, "empty_src", b"\xff" + simp)
write(C, "empty", b"")
write(C, "latin", latin * 8 + b"\xff" + latin * 8)
# only malformed bytes that every decoder splits alike: overlong forms and surrogates in a
# passage's edge gap hit a known bug (fuzz/crashes/compare-cp-offset-overlong), and a seed
# must pass to be replayed by make test
inv = invalid["lone_cont"] + invalid["truncated_mid"] + invalid["truncated_end"]
write(C, "invalid", simp[:150] + inv + simp[150:] + b"\xff" + inv + simp + inv)
write(C, "terminators", ("甲乙丙丁戊己庚辛。\n" * 12).encode() + b"\xff" +
      ("甲乙丙丁戊己庚辛！」\r\n" * 12).encode())
