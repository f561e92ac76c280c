#!/usr/bin/env python3
"""fuzz/mkcorpus_formats.py — (re)make the seed corpora of the extraction targets:
fuzz/corpus/fuzz_{encoding,html,docx,pdf,warc}/.

usage: python3 fuzz/mkcorpus_formats.py

Small seeds (each under the fuzzer's 8 KB max_len), made with tests/lib/mkformats.py's
writers: Chinese text in the charsets real archives use and broken forms of them, HTML pages
(with and without boilerplate, charsets in <meta>), minimal .docx/.odt archives and damaged
ones, a one-page PDF in STSong-Light and an encrypted one, WARC files (plain, one gzip member
per record, chunked and gzip HTTP bodies, a broken header, a lying Content-Length).
Deterministic: running it again writes the same files.
"""
import gzip
import os
import sys
import zipfile
import io

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'lib'))
import mkformats as M  # noqa: E402

ROOT = os.path.join(HERE, 'corpus')

TEXT = ('通过 “mount --bind” 挂载另一个目录来扩展可用存储空间。如果你在另一个分区里有一个带有可用空间的'
        '空目录，你可以把它挂载到一个你需要更多空间的目录下。\n新一代的路径工具有了全新界面。\n')
TRAD = '山城舊書店的第四十個年頭。店主林文雄每天清晨六點開門，先把門口的木頭書架擦乾淨。\n'


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))


# ---- fuzz_encoding ---------------------------------------------------------------------------
E = 'fuzz_encoding'
write(E, 'utf8', TEXT)
write(E, 'utf8-bom', b'\xef\xbb\xbf' + TEXT.encode())
write(E, 'gb18030', TEXT.encode('gb18030'))
write(E, 'gb18030-4byte', ('€' + TEXT + '𠀀').encode('gb18030'))
write(E, 'big5', TRAD.encode('big5'))
write(E, 'utf16le-bom', TEXT.encode('utf-16'))
write(E, 'utf16be-bom', b'\xfe\xff' + TEXT.encode('utf-16-be'))
write(E, 'utf16le-nobom', TEXT.encode('utf-16-le'))
write(E, 'utf16-ascii-nobom', 'Hello, world. This is UTF-16 without a mark.\n'.encode('utf-16-le'))
write(E, 'utf32le-bom', TEXT[:40].encode('utf-32'))
write(E, 'utf16-odd', TEXT.encode('utf-16')[:-1])
write(E, 'utf16-lone-surrogate', b'\xff\xfe' + 'ab'.encode('utf-16-le') + b'\x00\xd8a\x00')
write(E, 'shift_jis', '日本語のテキストです。これはテストです。東京は日本の首都です。\n'.encode('shift_jis'))
write(E, 'euc-kr', '한국어 텍스트입니다. 이것은 시험입니다. 서울은 한국의 수도입니다.\n'.encode('euc-kr'))
write(E, 'latin1', 'Café crème, naïve résumé à la française. Über straße.\n'.encode('latin-1'))
write(E, 'gbk-short', '中文'.encode('gbk'))
write(E, 'gb-truncated', TEXT.encode('gb18030')[:-1])
write(E, 'utf8-damaged', TEXT.encode()[:30] + b'\xff' + TEXT.encode()[30:])
write(E, 'binary', bytes(range(256)))

# ---- fuzz_html ------------------------------------------------------------------------------
H = 'fuzz_html'
write(H, 'site-page', M.site_page(M.SITE_D[:500], 1, '2024-11-02'))
write(H, 'copier-gb18030', M.copier_page(M.SITE_E[:400]).encode('gb18030'))
write(H, 'help-page', M.help_page(TEXT * 3, 1))
write(H, 'nav-only', M.nav_only_page())
write(H, 'lying-meta', M.site_page(M.SITE_E[:300], 2, 'x').encode('gb18030'))
write(H, 'fragment', '<p>只有一个段落，没有 html 和 body 标签。<br>第二行<a href=x>链接</a></p>')
write(H, 'nested', '<div>' * 300 + '深层嵌套的文字，测试解析器的深度限制。' + '</div>' * 300)
write(H, 'pre-table', '<html><body><pre>  保留   空格\n的文字</pre><table><tr><td>单元格一'
      '</td><td>单元格二</td></tr></table><script>var x="<p>不是正文</p>";</script></body></html>')
write(H, 'entities', '<html><head><title> 标题 &amp; &lt;x&gt; &#x4E2D;&#25991;</title></head>'
      '<body><p>&nbsp;&nbsp;正文 &copy; &unknown; &#0; &#xD800;</p></body></html>')
write(H, 'utf16-bom', M.site_page(M.SITE_D[:200], 3, 'y').encode('utf-16'))

# ---- fuzz_docx (first byte even: docx; odd: odt, given a leading byte before the archive) ----
D = 'fuzz_docx'
write(D, 'docx', M.docx(TEXT, '标题', [['甲', '乙'], ['丙', '丁']], '脚注文字'))
write(D, 'docx-truncated', M.docx(TEXT, '标题')[:700])
write(D, 'odt', b'\x01' + M.odt(TEXT, '标题', '注释'))
b = io.BytesIO()
with zipfile.ZipFile(b, 'w') as z:
    z.writestr(zipfile.ZipInfo('word/document.xml', (2024, 1, 1, 0, 0, 0)),
               '<w:document xmlns:w="x"><w:body><w:p><w:t>未闭合</w:p></w:body>')
write(D, 'docx-bad-xml', b.getvalue())
b = io.BytesIO()
with zipfile.ZipFile(b, 'w') as z:
    z.writestr(zipfile.ZipInfo('other.txt', (2024, 1, 1, 0, 0, 0)), 'not a word file')
write(D, 'zip-not-docx', b.getvalue())
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo('word/document.xml', (2024, 1, 1, 0, 0, 0)),
               '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
               '<w:document xmlns:w="x"><w:body><w:p><w:t>&b;&b;实体</w:t></w:p></w:body>'
               '</w:document>')
write(D, 'docx-entities', b.getvalue())

# ---- fuzz_pdf ---------------------------------------------------------------------------------
P = 'fuzz_pdf'
write(P, 'one-page', M.pdf(TEXT, '标题', per_page=40))
write(P, 'two-pages', M.pdf(TEXT + TEXT, '两页', per_page=3))
write(P, 'encrypted', M.pdf(TEXT, '加密', encrypt='secret'))
write(P, 'no-text', M.pdf('', '扫描件', blank=True))
write(P, 'truncated', M.pdf(TEXT, '截断')[:900])
write(P, 'not-pdf', b'%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')

# ---- fuzz_warc -------------------------------------------------------------------------------
W = 'fuzz_warc'
page = M.help_page(TEXT, 1).encode()
recs = [M.warc_record('warcinfo', None, 'application/warc-fields', b'software: x\r\n', 0),
        M.warc_record('response', 'http://a.example/1', 'application/http; msgtype=response',
                      M.http(page), 1),
        M.warc_record('response', 'http://a.example/2', 'application/http; msgtype=response',
                      M.http(M.chunked(page), extra=('Transfer-Encoding: chunked',)), 2),
        M.warc_record('response', 'http://a.example/3', 'application/http; msgtype=response',
                      M.http(gzip.compress(page, mtime=0), extra=('Content-Encoding: gzip',)), 3),
        M.warc_record('conversion', 'http://a.example/4', 'text/plain', TEXT.encode(), 4),
        M.warc_record('response', 'http://a.example/5', 'application/http; msgtype=response',
                      M.http(M.help_page(TRAD, 2).replace('<meta charset="utf-8">', '')
                             .encode('gb18030'), 'text/html; charset=gbk'), 5)]
write(W, 'plain.warc', b''.join(recs))
write(W, 'members.warc.gz', M.warc_gz(recs[:3]))
write(W, 'broken-header', recs[1].replace(b'WARC/1.0', b'WARX/1.0') + recs[4])
write(W, 'lying-length', recs[1].replace(b'Content-Length: ', b'Content-Length: 1', 1) + recs[4])
write(W, 'no-length', recs[4].replace(b'Content-Length', b'Content-Lenght', 1) + recs[1])
write(W, 'truncated', b''.join(recs)[:1500])
write(W, 'bad-chunks', M.warc_record('response', 'http://a.example/x',
                                     'application/http; msgtype=response',
                                     M.http(b'zz\r\nabc', extra=('Transfer-Encoding: chunked',)), 9))
write(W, 'not-warc', TEXT)
