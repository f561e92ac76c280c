#!/usr/bin/env python3
"""bench/extract_gen.py — the inputs of bench/extract_bench.sh: the same N documents in each
format tongyuan reads, written with tests/lib/mkformats.py's writers.

usage: extract_gen.py DEV_DIR OUT_DIR N

Document i is the dev-set texts src-(3i+1..3i+3) joined (about 4 KB of UTF-8), written as
  text/     UTF-8 .txt (the plain-text baseline)        gb18030/  GB18030 .txt
  big5/     Big5 .txt (characters Big5 lacks replaced)  utf16/    UTF-16 with BOM .txt
  html/     a page of a made-up news site (.html)       docx/     Word .docx
  odt/      OpenDocument .odt                           pdf/      PDF in STSong-Light
  warc/     one .warc.gz of all the HTML pages, one gzip member per record
Deterministic.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'lib'))
import mkformats as M  # noqa: E402


def main():
    dev, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    srcs = sorted(f for f in os.listdir(os.path.join(dev, 'src')) if f.endswith('.txt'))
    rng = random.Random(3)
    recs = []
    for i in range(n):
        text = '\n'.join(M.read(os.path.join(dev, 'src', srcs[(3 * i + k) % len(srcs)]))
                         for k in range(3))
        name = 'd%05d' % i
        M.write(os.path.join(out, 'text', name + '.txt'), text)
        M.write(os.path.join(out, 'gb18030', name + '.txt'), text.encode('gb18030'))
        M.write(os.path.join(out, 'big5', name + '.txt'), M.big5_safe(text, rng).encode('big5'))
        M.write(os.path.join(out, 'utf16', name + '.txt'), text.encode('utf-16'))
        page = M.site_page(text, i, '2024-11-02')
        M.write(os.path.join(out, 'html', name + '.html'), page)
        M.write(os.path.join(out, 'docx', name + '.docx'), M.docx(text, name))
        M.write(os.path.join(out, 'odt', name + '.odt'), M.odt(text, name))
        M.write(os.path.join(out, 'pdf', name + '.pdf'), M.pdf(text, name, per_page=34))
        recs.append(M.warc_record('response', 'http://news.example/%s.html' % name,
                                  'application/http; msgtype=response',
                                  M.http(page.encode('utf-8')), i))
    M.write(os.path.join(out, 'warc', 'pages.warc.gz'), M.warc_gz(recs))


if __name__ == '__main__':
    main()
