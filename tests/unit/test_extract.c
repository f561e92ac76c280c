/*
 * test_extract.c — the extraction stages (extract.c, encoding.c, html.c, warc.c through
 * input.c): which format bytes are, charsets told apart and decoded with offsets back into
 * the original, an HTML page's article and title, WARC records and their damage, docinfo
 * copies. Word, OpenDocument and PDF files are made by Python (tests/formats.sh); here only
 * what C can write by hand.
 */
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "extract.h"
#include "tongyuan.h"

static char tmpdir[256];

static const char *put(const char *name, const void *d, size_t n)
{
    return ck_put(tmpdir, name, d, n);
}

static const char *path_of_gz(void)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/b.warc.gz", tmpdir);
    return p;
}

/* Load bytes as a file of format fmt (0: by content) with encoding enc; the return code. */
static int load(ty_doc_t *d, const char *name, const void *b, size_t n, int fmt, const char *enc)
{
    ty_opts_t o;
    ty_opts_init(&o);
    o.input_format = fmt;
    o.encoding = enc;
    return ty_doc_load_bytes(d, name, b, n, &o);
}

/* ---- formats ----------------------------------------------------------------------------------
 */

static void test_sniff(void)
{
    CHECK_EQ_INT(ty__format_sniff("%PDF-1.4 ...", 12, "x.txt", NULL), TY_FORMAT_PDF);
    char lead[600];
    memset(lead, ' ', sizeof lead);
    memcpy(lead + 500, "%PDF-1.7", 8);
    CHECK_EQ_INT(ty__format_sniff(lead, sizeof lead, NULL, NULL), TY_FORMAT_PDF);
    CHECK_EQ_INT(ty__format_sniff("PK\3\4xxxx", 8, "a.docx", NULL), TY_FORMAT_DOCX);
    CHECK_EQ_INT(ty__format_sniff("PK\3\4xxxx", 8, "a.odt", NULL), TY_FORMAT_ODT);
    CHECK_EQ_INT(ty__format_sniff("WARC/1.0\r\n", 10, "x.txt", NULL), TY_FORMAT_WARC);
    CHECK_EQ_INT(ty__format_sniff("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8, "x.doc", NULL), -1);
    const char *h1 = "\xEF\xBB\xBF  <!-- c -->\n<!DOCTYPE html><p>x";
    CHECK_EQ_INT(ty__format_sniff(h1, strlen(h1), "x.txt", NULL), TY_FORMAT_HTML);
    CHECK_EQ_INT(ty__format_sniff("<?xml version=\"1.0\"?><html>", 27, NULL, NULL), TY_FORMAT_HTML);
    /* content first; then the media type; then the name */
    CHECK_EQ_INT(ty__format_sniff("<p>a</p>", 8, "x.txt", NULL), TY_FORMAT_TEXT);
    CHECK_EQ_INT(ty__format_sniff("<p>a</p>", 8, "x.html.gz", NULL), TY_FORMAT_HTML);
    CHECK_EQ_INT(ty__format_sniff("plain", 5, "x.htm", "text/plain; charset=gbk"), TY_FORMAT_TEXT);
    CHECK_EQ_INT(ty__format_sniff("<p>", 3, NULL, "text/html"), TY_FORMAT_HTML);
    CHECK_EQ_INT(ty__format_sniff("just text", 9, "x.pdf", NULL), TY_FORMAT_PDF);
    int f = -1;
    CHECK_EQ_INT(ty_format_parse("HTM", &f), TY_OK);
    CHECK_EQ_INT(f, TY_FORMAT_HTML);
    CHECK_EQ_INT(ty_format_parse("rtf", &f), TY_EINVAL);
    CHECK_EQ_STR(ty_format_name(TY_FORMAT_WARC), "warc");
    CHECK_EQ_STR(ty_format_name(99), "?");
}

/* ---- charsets ------------------------------------------------------------------------------- */

/* 中文€ in GB18030: D6D0 CEC4 A2E3; 𠀀 (U+20000) is the 4-byte 95 32 82 36 */
static void test_gb18030_offsets(void)
{
    const char raw[] = "ab\xD6\xD0\xCE\xC4\n\x95\x32\x82\x36"
                       "\xD6\xD0\xCE\xC4\xD6\xD0\xCE\xC4\xD6\xD0\xCE\xC4\xD6\xD0\xCE\xC4";
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(load(d, "g.txt", raw, sizeof raw - 1, 0, "gb18030"), TY_OK);
    size_t len;
    const char *t = ty_doc_text(d, &len);
    CHECK_EQ_STR(t, "ab中文\n𠀀中文中文中文中文");
    const ty_docinfo_t *in = ty_docinfo(d);
    CHECK_EQ_STR(in->charset, "GB18030");
    CHECK_EQ_INT(in->format, TY_FORMAT_TEXT);
    CHECK_EQ_UINT(in->nfile_off, ty_doc_ncodepoints(d) + 1);
    static const uint32_t want[] = {0, 1, 2, 4, 6, 7, 11, 13, 15, 17, 19, 21, 23, 25, 27};
    CHECK_EQ_UINT(in->nfile_off, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < in->nfile_off && i < sizeof want / sizeof want[0]; i++)
        CHECKF(in->file_off[i] == want[i], "file_off[%zu] = %u, want %u", i, in->file_off[i],
               want[i]);
    /* detected too (enough bytes outside ASCII), and the same offsets */
    ty_doc_t *e = ty_doc_new();
    char big[4096];
    size_t n = 0;
    while (n + sizeof raw < sizeof big) {
        memcpy(big + n, raw, sizeof raw - 1);
        n += sizeof raw - 1;
    }
    CHECK_EQ_INT(load(e, "g.txt", big, n, 0, NULL), TY_OK);
    CHECK_EQ_STR(ty_docinfo(e)->charset, "GB18030");
    CHECK_EQ_UINT(ty_docinfo(e)->file_off[ty_docinfo(e)->nfile_off - 1], n);
    ty_doc_free(d);
    ty_doc_free(e);
}

static void test_utf16(void)
{
    /* "Hello 中文\n" in UTF-16LE, with and without a BOM; and BE with one */
    const char le[] = "H\0e\0l\0l\0o\0 \0\x2d\x4e\x87\x65\n\0";
    char bom[64] = "\xFF\xFE";
    memcpy(bom + 2, le, sizeof le - 1);
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(load(d, "u.txt", bom, sizeof le + 1, 0, NULL), TY_OK);
    CHECK_EQ_STR(ty_doc_text(d, NULL), "Hello 中文\n");
    CHECK_EQ_STR(ty_docinfo(d)->charset, "UTF-16LE");
    CHECK_EQ_UINT(ty_docinfo(d)->file_off[0], 2); /* after the mark */
    CHECK_EQ_INT(load(d, "u.txt", le, sizeof le - 1, 0, NULL), TY_OK);
    CHECK_EQ_STR(ty_doc_text(d, NULL), "Hello 中文\n");
    CHECK_EQ_STR(ty_docinfo(d)->charset, "UTF-16LE");
    const char be[] = "\xFE\xFF\0H\0i\x4e\x2d";
    CHECK_EQ_INT(load(d, "u.txt", be, sizeof be - 1, 0, NULL), TY_OK);
    CHECK_EQ_STR(ty_doc_text(d, NULL), "Hi中");
    /* --encoding utf-8: the strict UTF-8 of before: NUL bytes are binary */
    CHECK_EQ_INT(load(d, "u.txt", bom, sizeof le + 1, 0, "utf-8"), TY_EBINARY);
    CHECK_EQ_INT(load(d, "u.txt", le, sizeof le - 1, 0, "utf-8"), TY_EBINARY);
    /* a lone surrogate after a BOM: an error naming the byte */
    const char lone[] = "\xFF\xFE"
                        "a\0\x00\xD8"
                        "b\0";
    CHECK_EQ_INT(load(d, "s.txt", lone, sizeof lone - 1, 0, NULL), TY_EENCODING);
    CHECK_CONTAINS(ty_doc_errmsg(d), "s.txt");
    ty_doc_free(d);
}

static void test_undecidable(void)
{
    ty_doc_t *d = ty_doc_new();
    /* 中文 in GBK alone: 4 bytes outside ASCII are too few to tell */
    CHECK_EQ_INT(load(d, "short.txt", "\xD6\xD0\xCE\xC4", 4, 0, NULL), TY_EENCODING);
    CHECK_CONTAINS(ty_doc_errmsg(d), "short.txt");
    /* the library names the option's field, not a flag of the command line */
    CHECK_CONTAINS(ty_doc_errmsg(d), "give encoding=NAME");
    CHECK_CONTAINS(ty_doc_errmsg(d), "or utf8_mode=TY_UTF8_REPLACE");
    CHECK(strstr(ty_doc_errmsg(d), "--") == NULL);
    /* ... but replace mode keeps the bytes and replaces them */
    ty_opts_t o;
    ty_opts_init(&o);
    o.utf8_mode = TY_UTF8_REPLACE;
    CHECK_EQ_INT(ty_doc_load_bytes(d, "short.txt", "\xD6\xD0\xCE\xC4", 4, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 4);
    /* damaged UTF-8 is UTF-8: the tokenizer's error, at its place */
    const char *bad = "第一行\n第二行\xFF第二行\n第三行，还有一些文字，足够让检测器判断。\n";
    CHECK_EQ_INT(load(d, "bad.txt", bad, strlen(bad), 0, NULL), TY_EUTF8);
    CHECK_CONTAINS(ty_doc_errmsg(d), "line 2");
    /* an unknown --encoding */
    CHECK_EQ_INT(load(d, "x.txt", "x", 1, 0, "no-such-charset"), TY_EINVAL);
    char msg[200];
    ty_opts_init(&o);
    o.encoding = "no-such-charset";
    CHECK_EQ_INT(ty_opts_check(&o, msg, sizeof msg), TY_EINVAL);
    CHECK_CONTAINS(msg, "no-such-charset");
    o.encoding = "GBK";
    CHECK_EQ_INT(ty_opts_check(&o, msg, sizeof msg), TY_OK);
    ty_doc_free(d);
}

/* ---- HTML --------------------------------------------------------------------------------------
 */

static void test_html(void)
{
    const char *page =
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\n  标题 &amp; 名字 "
        "</title><style>p{}</style><script>var s='<p>脚本</p>';</script></head><body>"
        "<nav><a href=/>首页</a> <a href=/a>新闻</a></nav>"
        "<article><h1>一篇文章</h1><p>第一段文字，这是文章的正文内容，足够长，有标点。</p>"
        "<p>第二段&nbsp;文字，<b>加粗</b>的部分和<a href=/x>一个链接</a>也在正文里。</p>"
        "<!-- 注释不是正文 --><p>诗句一行<br>诗句二行</p><pre>  保留\n  格式</pre></article>"
        "<footer>版权所有 © 2024 某网站</footer></body></html>";
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(load(d, "p.html", page, strlen(page), 0, NULL), TY_OK);
    const char *t = ty_doc_text(d, NULL);
    CHECK_EQ_STR(t, "一篇文章\n第一段文字，这是文章的正文内容，足够长，有标点。\n"
                    "第二段 文字，加粗的部分和一个链接也在正文里。\n诗句一行\n诗句二行\n"
                    "保留\n格式\n"); /* <pre>: line breaks kept, spaces collapsed */
    CHECK_EQ_STR(ty_docinfo(d)->title, "标题 & 名字");
    CHECK_EQ_INT(ty_docinfo(d)->format, TY_FORMAT_HTML);
    CHECK_EQ_STR(ty_docinfo(d)->charset, "UTF-8");
    /* a page of navigation only: no text */
    const char *nav = "<html><body><ul><li><a href=/1>一</a></li><li><a href=/2>二</a></li>"
                      "</ul></body></html>";
    CHECK_EQ_INT(load(d, "nav.html", nav, strlen(nav), 0, NULL), TY_EEMPTY);
    CHECK_CONTAINS(ty_doc_errmsg(d), "nav.html: no text extracted");
    /* the charset of <meta>, and a page that lies about it */
    char gbk[512];
    int n = snprintf(gbk, sizeof gbk,
                     "<html><head><meta charset=gbk></head><body><p>%s</p></body></html>",
                     "\xD6\xD0\xCE\xC4\xA3\xAC\xB2\xE2\xCA\xD4\xD2\xBB\xCF\xC2\xA1\xA3");
    CHECK_EQ_INT(load(d, "g.html", gbk, (size_t)n, 0, NULL), TY_OK);
    CHECK_EQ_STR(ty_doc_text(d, NULL), "中文，测试一下。\n");
    CHECK_EQ_STR(ty_docinfo(d)->charset, "GB18030");
    memcpy(strstr(gbk, "gbk"), "utf", 3);
    gbk[strstr(gbk, "utf") - gbk + 3] = '8';
    n = (int)strlen(gbk);
    CHECK_EQ_INT(load(d, "lie.html", gbk, (size_t)n, 0, NULL), TY_EENCODING);
    CHECK_CONTAINS(ty_doc_errmsg(d), "lie.html: declares charset utf8");
    /* --input-format text: the markup stays */
    CHECK_EQ_INT(load(d, "p.html", page, strlen(page), TY_FORMAT_TEXT, NULL), TY_OK);
    CHECK(strstr(ty_doc_text(d, NULL), "<nav>") != NULL);
    ty_doc_free(d);
}

/* ---- WARC --------------------------------------------------------------------------------------
 */

static size_t record(char *out, const char *type, const char *uri, const char *ctype,
                     const char *block, size_t blen)
{
    int n = sprintf(out,
                    "WARC/1.0\r\nWARC-Type: %s\r\nWARC-Target-URI: %s\r\nContent-Type: "
                    "%s\r\nContent-Length: %zu\r\n\r\n",
                    type, uri, ctype, blen);
    memcpy(out + n, block, blen);
    memcpy(out + n + blen, "\r\n\r\n", 4);
    return (size_t)n + blen + 4;
}

static void test_warc(void)
{
    static char w[1 << 16];
    const char *html = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                       "<html><body><article><p>第一页的正文，有足够的文字和标点。</p></article>"
                       "</body></html>";
    static char chunk[512];
    const char *c1 = "<p>分块", *c2 = "传输的正文，也有标点。</p>";
    snprintf(chunk, sizeof chunk,
             "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%zx\r\n%s\r\n%zx;ext=1\r\n%s\r\n0\r\n\r\n",
             strlen(c1), c1, strlen(c2), c2);
    const char *img = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG";
    const char *e404 = "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>没有</p>";
    size_t n = 0;
    n += record(w + n, "warcinfo", "", "application/warc-fields", "x: y\r\n", 6);
    n += record(w + n, "response", "http://a/1", "application/http; msgtype=response", html,
                strlen(html));
    n += record(w + n, "request", "http://a/1", "application/http; msgtype=request", "GET /", 5);
    n += record(w + n, "response", "http://a/img", "application/http; msgtype=response", img,
                strlen(img));
    n += record(w + n, "response", "http://a/404", "application/http; msgtype=response", e404,
                strlen(e404));
    size_t broken_at = n;
    n += record(w + n, "response", "http://a/2", "application/http; msgtype=response", chunk,
                strlen(chunk));
    n += record(w + n, "conversion", "http://a/3", "text/plain", "转换记录的文字。", 24);
    memcpy(w + broken_at, "WARX", 4); /* record 6 loses its version line */
    const char *p = put("a.warc", w, n);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    ty_reader_t *r = ty_reader_new(&ro);
    CHECK_EQ_INT(ty_reader_add(r, p), TY_OK);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "http://a/1");
    CHECK_EQ_STR(rec.text, "第一页的正文，有足够的文字和标点。\n");
    CHECK_EQ_INT(rec.info.format, TY_FORMAT_HTML);
    CHECK_EQ_INT(ty_reader_next(r, &rec), TY_ECORRUPT);
    CHECK_CONTAINS(ty_reader_errmsg(r), "a.warc: record 6 (byte");
    CHECK_CONTAINS(ty_reader_errmsg(r), "no WARC/1.x version line");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1); /* found again at the next WARC/ line */
    CHECK_EQ_STR(rec.name, "http://a/3");
    CHECK_EQ_STR(rec.text, "转换记录的文字。");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    ty_reader_free(r);
    /* the chunked record, intact; and the whole file as gzip members */
    memcpy(w + broken_at, "WARC", 4);
    gzFile g = gzopen(path_of_gz(), "wb");
    CHECK(g != NULL);
    if (g) {
        CHECK(gzwrite(g, w, (unsigned)broken_at) == (int)broken_at);
        gzclose(g);
        g = gzopen(path_of_gz(), "ab"); /* a second member */
        CHECK(gzwrite(g, w + broken_at, (unsigned)(n - broken_at)) == (int)(n - broken_at));
        gzclose(g);
    }
    r = ty_reader_new(&ro);
    CHECK_EQ_INT(ty_reader_add(r, path_of_gz()), TY_OK);
    const char *names[3] = {0};
    int k = 0, rc;
    while ((rc = ty_reader_next(r, &rec)) != 0 && k < 3)
        if (rc > 0)
            names[k++] = strdup(rec.name);
        else
            CHECKF(0, "unexpected error: %s", ty_reader_errmsg(r));
    CHECK_EQ_INT(k, 3);
    CHECK_EQ_STR(names[1] ? names[1] : "", "http://a/2");
    for (int i = 0; i < k; i++)
        free((char *)names[i]);
    ty_reader_free(r);
}

/* ---- docinfo --------------------------------------------------------------------------------- */

static void test_docinfo_copies(void)
{
    const char raw[] = "\xD6\xD0\xCE\xC4";
    ty_doc_t *d = ty_doc_new(), *e = ty_doc_new();
    CHECK_EQ_INT(load(d, "g.txt", raw, 4, 0, "gbk"), TY_OK);
    ty_docinfo_t *c = ty_docinfo_dup(ty_docinfo(d));
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_STR(c->charset, "GB18030");
        CHECK_EQ_UINT(c->nfile_off, 3);
        size_t len;
        const char *t = ty_doc_text(d, &len);
        ty_opts_t o;
        ty_opts_init(&o);
        CHECK_EQ_INT(ty_doc_load_mem(e, "copy", t, len, &o), TY_OK);
        CHECK_EQ_STR(ty_docinfo(e)->charset, ""); /* from memory: not known */
        CHECK_EQ_INT(ty_doc_set_info(e, c), TY_OK);
        CHECK_EQ_UINT(ty_docinfo(e)->file_off[2], 4);
        CHECK_EQ_INT(ty_doc_load_mem(e, "other", "abc", 3, &o), TY_OK);
        CHECK_EQ_INT(ty_doc_set_info(e, c), TY_EINVAL); /* 3 code points + 1 != 3 */
        ty_docinfo_free(c);
    }
    ty_doc_free(d);
    ty_doc_free(e);
}

int main(void)
{
    static const ck_test_t tests[] = {CK_TEST(test_sniff),         CK_TEST(test_gb18030_offsets),
                                      CK_TEST(test_utf16),         CK_TEST(test_undecidable),
                                      CK_TEST(test_html),          CK_TEST(test_warc),
                                      CK_TEST(test_docinfo_copies)};
    return ck_main("test_extract", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_extract");
}
