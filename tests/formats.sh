#!/bin/sh
# tests/formats.sh — documents as people have them (issue 12): text in GB18030, Big5 and UTF-16,
# HTML pages, Word, OpenDocument and PDF files, a WARC crawl, and damaged ones of each — all
# made by tests/lib/mkformats.py (never downloaded; the WARC's page bodies are dev-set texts).
#
#   TY=build/tongyuan SHARED=../shared sh tests/formats.sh
#
# What it shows:
#   1. extract: each format gives the article's text and title (an HTML page without its menu,
#      related links and footer; a Word table and footnote without the deleted text; a PDF's
#      two pages, a form feed between them; 100 documents from the WARC, images and 404s not);
#   2. compare, check and dedup find the spun copy (bench/spin.py) of each original, in the same
#      format, with at least 95% of the copy covered; two different articles of one site
#      (same navigation, same footer) are not reuse of each other;
#   3. offsets: *_file_off/_file_len slice the original GB18030 bytes to the passage, *_page
#      names the PDF page;
#   4. damaged inputs (a truncated zip, an encrypted PDF, a broken WARC header, a lying charset,
#      ...) give one clear line naming the file (and the WARC record), never a crash; documents
#      without text are skipped with a warning and counted.
# Ends with "formats.sh: N passed, N failed". POSIX sh + python3 (reportlab: python3-reportlab).
set -u
cd "$(dirname "$0")/.." || exit 2
TY=${TY:-build/tongyuan}
SHARED=${SHARED:-../shared}
DEV=$SHARED/data/dev
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ty_formats.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM
run_timeout=120
. tests/lib/cases.sh

F=$tmp/f
O=$F/orig
S=$F/spun
C=$F/corrupt
status_is() { [ "$rc" -eq "$1" ]; }
no_crash() { [ "$rc" -lt 128 ] && [ "$rc" -ne 124 ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
out_lacks() { ! grep -qF -- "$1" "$tmp/out"; }
err_lines_are() { [ "$(wc -l < "$tmp/err" | tr -d ' ')" -eq "$1" ]; }
py() { python3 -c "$@"; }

case_begin "the test documents are made (tests/lib/mkformats.py)"
run python3 tests/lib/mkformats.py "$F" "$DEV"
expect "mkformats.py exits 0, got $rc" status_is 0
expect "9 originals, 8 copies and 9 damaged files" \
    test "$(find "$O" "$S" "$C" -type f 2> /dev/null | wc -l)" -eq 26
case_end
if [ ! -f "$F/truth.tsv" ]; then
    sed 's/^/    /' "$tmp/err"
    echo "formats.sh: $passed passed, $((failed + 1)) failed"
    exit 1
fi

# ---- 1. extraction ------------------------------------------------------------------------

# extract --format jsonl FILE, then FIELD of document N (0-based) via python
field() { py 'import json,sys
d=[json.loads(l) for l in open(sys.argv[1],"rb")]
v=d[int(sys.argv[2])][sys.argv[3]]
print(v if isinstance(v,str) else json.dumps(v))' "$tmp/out" "$1" "$2"; }

case_begin "extract: GB18030, Big5 and UTF-16 text are decoded, the charset named"
run "$TY" extract --format jsonl "$O/news.gb18030.txt"
expect "GB18030: exit 0, got $rc" status_is 0
expect "GB18030: charset" test "$(field 0 charset)" = GB18030
expect "GB18030: the headline" out_has "青石镇启动老旧小区改造工程"
run "$TY" extract --format jsonl "$O/trad.big5.txt"
expect "Big5: charset" test "$(field 0 charset)" = BIG5-HKSCS
expect "Big5: Traditional text" out_has "山城舊書店的第四十個年頭"
run "$TY" extract --format jsonl "$O/utf16.txt"
expect "UTF-16 with BOM: charset" test "$(field 0 charset)" = UTF-16LE
run "$TY" extract --encoding utf-8 "$O/news.gb18030.txt"
expect "--encoding utf-8: strict UTF-8 as before: exit 1 (skipped), got $rc" status_is 1
expect "--encoding utf-8: invalid UTF-8 named" err_has "invalid UTF-8"
case_end

case_begin "extract: an HTML page gives its article and title, not the site's menus and footer"
run "$TY" extract --format jsonl "$O/site-a.html"
expect "exit 0, got $rc" status_is 0
expect "the title" test "$(field 0 title)" = "青石岭小学新建图书馆正式开放_青石新闻网"
expect "format html" test "$(field 0 format)" = html
expect "the headline" out_has "青石岭小学新建图书馆正式开放\\n"
expect "the first paragraph" out_has "本报讯 十一月的清晨"
expect "the last paragraph" out_has "让山区的孩子也能读到更多好书"
for junk in 首页 关于我们 版权所有 京ICP备 相关新闻 县教育局召开秋季工作会议 分享到 上一篇 \
    欢迎访问 var _hmt; do
    expect "no '$junk'" out_lacks "$junk"
done
case_end

case_begin "extract: Word (table, footnote, no deleted text), OpenDocument (note), PDF (pages)"
run "$TY" extract --format jsonl "$O/manual.docx"
expect "docx: exit 0, got $rc" status_is 0
expect "docx: title" test "$(field 0 title)" = "排版选项说明"
expect "docx: a table cell" out_has "表格单元格底部"
expect "docx: the footnote" out_has "本文根据软件帮助文档整理"
expect "docx: no deleted text" out_lacks "已删除的文字"
run "$TY" extract --format jsonl "$O/guide.odt"
expect "odt: title" test "$(field 0 title)" = "使用指南"
expect "odt: the note, after the text" out_has "仅供测试使用。\\n\""
run "$TY" extract --format jsonl "$O/paper.pdf"
expect "pdf: 2 pages" test "$(field 0 pages)" = 2
expect "pdf: one form feed between them" test "$(field 0 text | tr -cd '\f' | wc -c)" -eq 1
expect "pdf: title" test "$(field 0 title)" = "技术说明"
case_end

case_begin "extract: a .warc.gz of 100 HTML records gives 100 documents named by URI"
run "$TY" extract --format jsonl "$O/crawl.warc.gz"
expect "exit 0, got $rc" status_is 0
expect "100 documents" test "$(wc -l < "$tmp/out")" -eq 100
expect "named by their URIs, in order" py 'import json,sys
ids=[json.loads(l)["id"] for l in open(sys.argv[1],"rb")]
sys.exit(ids != ["http://help.example.org/doc/%03d.html" % i for i in range(1,101)])' "$tmp/out"
expect "GBK named by the HTTP header, chunked and gzip bodies read" py 'import json,sys
d={json.loads(l)["id"]:json.loads(l) for l in open(sys.argv[1],"rb")}
dev=sys.argv[2]
for n in (4, 6, 8):
    t=d["http://help.example.org/doc/%03d.html" % n]["text"]
    src=open("%s/src/src-%05d.txt" % (dev, n), encoding="utf-8").read().split("\n")
    line=[x for x in src if len(x.strip()) > 20][1].strip()
    assert line[:15] in t, (n, line[:15])' "$tmp/out" "$DEV"
expect "the charset of a GBK page" test "$(field 3 charset)" = GB18030
stdin=$O/crawl.warc.gz
run "$TY" extract -
expect "from standard input too: 100 documents" test "$(grep -c '^==> http' "$tmp/out")" -eq 100
case_end

case_begin "extract: --input-format forces a format"
run "$TY" extract --input-format text "$O/site-a.html"
expect "html read as text keeps the markup" out_has '<div class="footer">'
cp "$O/site-a.html" "$tmp/page.txt"
run "$TY" extract "$tmp/page.txt"
expect "a .txt that holds HTML: the content decides" out_lacks "<div"
run "$TY" extract --input-format pdf "$O/site-a.html"
expect "html read as pdf: exit 1, got $rc" status_is 1
expect "html read as pdf: an error naming the file" err_has "$O/site-a.html"
case_end

# ---- 2. compare, check, dedup find the spun copies ------------------------------------------

# coverage of the copy by the passages: "(A of B characters compared)" of a text report
cover() { sed -n 's/.*(\([0-9]*\) of \([0-9]*\) characters compared) comes from.*/\1 \2/p' "$tmp/out" |
    head -n 1 | awk '{ if ($2 > 0) printf "%.4f\n", $1 / $2; else print 0 }'; }
at_least() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x + 0 >= y + 0) }'; }

case_begin "compare finds each spun copy, in each format, with >= 95% of the copy covered"
for o in news.gb18030.txt trad.big5.txt utf16.txt manual.docx guide.odt paper.pdf; do
    s=$(awk -F '\t' -v o="$o" '$2 == o { print $1 }' "$F/truth.tsv")
    run "$TY" compare "$O/$o" "$S/$s"
    c=$(cover)
    expect "$o: exit 0, got $rc" status_is 0
    expect "$o: coverage $c >= 0.95" at_least "${c:-0}" 0.95
done
run "$TY" compare "$O/site-a.html" "$S/copy-site.html"
c=$(cover)
expect "site-a.html on the copier's site (GB18030, table layout): coverage $c >= 0.95" \
    at_least "${c:-0}" 0.95
expect "the report shows both titles" out_has "title “青石岭小学新建图书馆正式开放_青石新闻网”"
expect "the report shows both titles" out_has " - 好文摘抄网”"
case_end

case_begin "compare: two articles of one site (same navigation and footer) are not reuse"
run "$TY" compare "$O/site-a.html" "$O/site-b.html"
expect "a -> b: exit 1, got $rc" status_is 1
expect "a -> b: nothing on stderr" test ! -s "$tmp/err"
run "$TY" compare --format jsonl "$O/site-b.html" "$O/site-a.html"
expect "b -> a: exit 1, got $rc" status_is 1
expect "b -> a: no passage" test ! -s "$tmp/out"
run "$TY" compare --input-format text --min-len 25 "$O/site-a.html" "$O/site-b.html"
expect "the same pages read as text do share their template (exit 0, got $rc)" status_is 0
case_end

case_begin "offsets: file bytes of a GB18030 text and PDF pages"
run "$TY" compare --format jsonl "$O/news.gb18030.txt" "$S/news.spun.gb18030.txt"
expect "the passage's file bytes decode to its code points" py 'import json,sys
p=json.loads(open(sys.argv[1],"rb").readline())
raw=open(sys.argv[2],"rb").read()
text=raw.decode("gb18030")
a=raw[p["sus_file_off"]:p["sus_file_off"]+p["sus_file_len"]].decode("gb18030")
sys.exit(a != text[p["sus_off"]:p["sus_off"]+p["sus_len"]])' "$tmp/out" "$S/news.spun.gb18030.txt"
run "$TY" compare --format jsonl "$O/paper.pdf" "$S/paper.spun.pdf"
expect "PDF passages name their pages" py 'import json,sys
p=json.loads(open(sys.argv[1],"rb").readline())
sys.exit(not (p["src_page"] == 1 and p["src_page_end"] == 2 and p["sus_page"] == 1))' "$tmp/out"
run "$TY" compare "$O/paper.pdf" "$S/paper.spun.pdf"
expect "the text report says pages 1-2" out_has "(pages 1-2, lines"
case_end

case_begin "index build + check: each spun copy finds its original (>= 95% covered)"
run "$TY" index build -o "$tmp/ix" "$O"
expect "index build: exit 0, got $rc" status_is 0
run "$TY" check -x "$tmp/ix" "$S"
expect "check: exit 0, got $rc" status_is 0
expect "every copy's best source is its original, >= 0.95 covered" py 'import re,sys
want=dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2],encoding="utf-8"))
got={}
for l in open(sys.argv[1],encoding="utf-8"):
    m=re.match(r"\[1\] (.*): \d+% of its text \((\d+) of (\d+) characters compared\) comes from (.*) in \d+ passage", l)
    if m: got[m.group(1)]=(m.group(4), int(m.group(2))/int(m.group(3)))
bad=[(s,o,got.get(s)) for s,o in want.items() if s not in got or got[s][0]!=o or got[s][1]<0.95]
if bad: print(bad)
sys.exit(bool(bad) or len(got)!=len(want))' "$tmp/out" "$F/truth.tsv"
mkdir -p "$tmp/a" && cp "$O/site-a.html" "$tmp/a/"
run "$TY" index build -o "$tmp/ixa" "$tmp/a"
run "$TY" check -x "$tmp/ixa" "$O/site-b.html"
expect "site-b against an index of site-a: exit 1 (no reuse), got $rc" status_is 1
case_end

case_begin "dedup: each spun copy joins its original's cluster; site-a and site-b apart"
run "$TY" dedup "$O" "$S" -o "$tmp/dd.jsonl"
expect "dedup: exit 0, got $rc" status_is 0
expect "clusters as the truth says, containment >= 0.95" py 'import json,sys
r={json.loads(l)["id"]:json.loads(l) for l in open(sys.argv[1],encoding="utf-8")}
want=dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2],encoding="utf-8"))
bad=[s for s,o in want.items() if r[s]["cluster"]!=r[o]["cluster"] or r[s]["dup_of"]!=o or r[s]["containment"]<0.95]
bad+=["site-a/b together"] if r["site-a.html"]["cluster"]==r["site-b.html"]["cluster"] else []
if bad: print(bad)
sys.exit(bool(bad))' "$tmp/dd.jsonl" "$F/truth.tsv"
run "$TY" dedup -q "$O/site-a.html" "$O/news.gb18030.txt" -o "$tmp/d2.jsonl" \
    --write-kept "$tmp/kept.jsonl"
expect "--write-kept: exit 0, got $rc" status_is 0
expect "--write-kept writes the texts as read: the article, not the markup" py 'import json,sys
k={json.loads(l)["id"]:json.loads(l)["text"] for l in open(sys.argv[1],encoding="utf-8")}
a=k[sys.argv[2]]; n=k[sys.argv[3]]
sys.exit(not (a.startswith("青石岭小学新建图书馆正式开放\n") and "<div" not in a and
              n.startswith("青石镇启动老旧小区改造工程")))' "$tmp/kept.jsonl" "$O/site-a.html" \
    "$O/news.gb18030.txt"
run "$TY" dedup -q "$O/crawl.warc.gz" -o "$tmp/d3.jsonl" --write-kept "$tmp/kept3.jsonl"
expect "--write-kept of a WARC: exit 2 with a message, got $rc" status_is 2
expect "--write-kept of a WARC: says what to do" err_has "tongyuan extract --format jsonl"
case_end

# ---- 3. damaged inputs ------------------------------------------------------------------------

case_begin "damaged files: one line naming the file, exit 2, no crash (compare)"
for f in truncated.docx not-a-zip.docx bad-xml.docx old.doc encrypted.pdf lying.html \
    scanned.pdf nav-only.html; do
    run "$TY" compare "$O/site-a.html" "$C/$f"
    expect "$f: no crash (exit $rc)" no_crash
    expect "$f: exit 2, got $rc" status_is 2
    expect "$f: one line on stderr" err_lines_are 1
    expect "$f: stderr names the file" err_has "$C/$f"
done
run "$TY" compare "$O/site-a.html" "$C/truncated.docx"
expect "truncated zip: says so" err_has "truncated or damaged"
run "$TY" compare "$O/site-a.html" "$C/encrypted.pdf"
expect "encrypted PDF: says so" err_has "encrypted PDF"
run "$TY" compare "$O/site-a.html" "$C/lying.html"
expect "lying charset: names the declaration and what it looks like" \
    err_has "declares charset utf-8 (<meta>), but byte"
expect "lying charset: suggests --encoding gb18030" err_has "--encoding gb18030 reads it"
run "$TY" extract --encoding gb18030 "$C/lying.html"
expect "lying charset, --encoding gb18030: read (exit 0, got $rc)" status_is 0
expect "lying charset, --encoding gb18030: the article" out_has "青石镇举办首届农民丰收节"
run "$TY" extract "$C/lying.html"
expect "lying charset, extract: exit 1 (skipped), got $rc" status_is 1
run "$TY" compare "$O/site-a.html" "$C/broken.warc"
expect "WARC to compare: exit 2 (many documents), got $rc" status_is 2
case_end

case_begin "a broken WARC: errors name the file and the record; the good records are read"
run "$TY" extract --format jsonl "$C/broken.warc"
expect "exit 1 (records skipped), got $rc" status_is 1
expect "record 2: no WARC/ line, named with its byte offset" \
    err_has "$C/broken.warc: record 2 (byte"
expect "record 3: the lying Content-Length" err_has "record 3 (byte"
expect "the 2 good records" test "$(wc -l < "$tmp/out")" -eq 2
expect "the summary counts them" err_has "2 documents, 2 skipped"
case_end

case_begin "documents without text: skipped with a warning, counted (index, check, dedup)"
run "$TY" index build -o "$tmp/ixc" "$C" "$O/site-a.html"
expect "index: exit 1 (records skipped), got $rc" status_is 1
expect "index: the scanned PDF skipped" err_has "scanned.pdf: no text extracted from this pdf file"
expect "index: the page of navigation skipped" err_has "nav-only.html: no text extracted"
expect "index: counted" err_has "records skipped in all"
run "$TY" check -x "$tmp/ix" "$C/scanned.pdf" "$C/nav-only.html" "$S/copy-site.html"
expect "check: exit 0 (copy-site found; no error), got $rc" status_is 0
expect "check: a warning" err_has "warning: $C/scanned.pdf: no text extracted"
expect "check: counted" err_has "check: 2 documents skipped: no text extracted"
run "$TY" dedup "$C" "$O/site-a.html" -o "$tmp/dc.jsonl"
expect "dedup: exit 0, got $rc" status_is 0
expect "dedup: counted in the summary (9 files: 2 good WARC records + site-a read)" \
    err_has "3 documents, 3 clusters, 0 removed (0.00%), 9 skipped"
case_end

case_begin "the boilerplate rule on six made-up sites (scripts/html_eval.py, 4 pages each)"
run python3 scripts/html_eval.py "$TY" "$DEV" --pages 4 --check
expect "recall and precision >= 0.95, no empty page, no pair of articles added (exit $rc)" \
    status_is 0
case_end

echo "formats.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
