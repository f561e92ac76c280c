/*
 * extract.h — private interface of the extraction stages: what a document's bytes become
 * before they are tokenized. Not installed.
 *
 *   extract.c   the dispatcher: the format from the content (magic bytes), the file name and
 *               a media type as hints, or forced; the "no text" rule; used by doc.c (one file)
 *               and input.c (files, directories, WARC records)
 *   encoding.c  plain text in any charset → UTF-8 (BOM, declared, detected with uchardet,
 *               converted with iconv), with each code point's byte offset in the original
 *   html.c      HTML → the article's text and title (libxml2's HTML parser, a boilerplate rule)
 *   docx.c      Word .docx and OpenDocument .odt → text (libzip + libxml2)
 *   pdf.c       PDF → text in reading order, a form feed between pages (poppler-glib)
 *   warc.c      WARC files → records; an HTTP response → its body, media type and charset
 *
 *   extlib.c    the libraries these use (libxml2, libzip, uchardet, poppler-glib), loaded
 *               on first use
 *
 * Every stage returns TY_OK or a TY_E* code with a one-line message in err (TY_ERRMSG_SIZE
 * bytes) that names the document; none prints, none exits. Thread-safe for distinct outputs
 * (pdf.c serialises poppler behind a mutex of its own).
 */
#ifndef TY_EXTRACT_H
#define TY_EXTRACT_H

#include "internal.h"

/* What extraction gives: UTF-8 text (NUL-terminated; owned) and what it was read from. */
typedef struct {
    char *text;
    size_t len;
    char *title;        /* NULL if none (owned) */
    int format;         /* TY_FORMAT_* it was read as */
    char charset[32];   /* the charset decoded from ("UTF-8" when it already was); "" for
                         * formats with their own (DOCX, ODT, PDF) */
    uint32_t *file_off; /* re-encoded plain text: byte offset in the input of code point i,
                         * i = 0..ncp (the last: the input's length); NULL otherwise */
    size_t nfile_off;
    uint32_t pages; /* PDF: pages (a form feed ends each page but the last); 0 otherwise */
} ty__text_t;

void ty__text_free(ty__text_t *t); /* frees the members, not t; t zeroed */

/* Memory of the blocks seen on pages of one site (html.c): a block of text that several
 * pages of a site share is navigation or a footer, not an article. One per reader. */
typedef struct ty__sites ty__sites_t;
ty__sites_t *ty__sites_new(void);
void ty__sites_free(ty__sites_t *s);

typedef struct {
    int format;               /* forced TY_FORMAT_*, or TY_FORMAT_AUTO */
    const char *encoding;     /* forced charset (an iconv or WHATWG name), or NULL */
    int utf8_mode;            /* TY_UTF8_REPLACE: text whose charset cannot be told is kept
                               * as it is (bad bytes replaced later) instead of an error */
    const char *name;         /* for messages; its extension is a hint for the format */
    const char *content_type; /* a media type ("text/html; charset=gbk") as a hint, or NULL */
    ty__sites_t *sites;       /* HTML: repeated blocks across pages (NULL: each page alone) */
    const char *site;         /* the site of this page (a host name) when sites is set */
} ty__xopts_t;

/* The format of a file's bytes: TY_FORMAT_PDF, _DOCX, _ODT, _WARC, _HTML or _TEXT, from
 * magic bytes first, then the media type, then the name's extension (.html .docx .pdf ...,
 * before any .gz/.zst). -1: an OLE2 container (Word 97-2003 .doc, or an encrypted Office
 * file), which is not read. */
int ty__format_sniff(const char *buf, size_t len, const char *name, const char *content_type);

/* Extract buf (len bytes, malloc()ed with at least len + 1 allocated; ownership passes to
 * this call whatever it returns) into *out. Plain UTF-8 text is handed back as it is
 * (out->text == buf). A format that holds many documents (JSONL, WARC) is TY_EINVAL here:
 * the reader splits them. An extracted format (HTML, DOCX, ODT, PDF) whose text has no
 * character to compare is TY_EEMPTY. */
int ty__extract(ty__text_t *out, char *buf, size_t len, const ty__xopts_t *o, char *err);

/* ---- encoding.c ---- */

/* Canonical iconv name for a charset label (WHATWG's aliases: gb2312 and gbk read as GB18030,
 * big5 as BIG5-HKSCS, shift_jis as CP932, euc-kr as CP949, latin1/ascii as WINDOWS-1252) into
 * out; 0, or -1 when iconv does not know it. */
int ty__charset_canon(const char *label, char *out, size_t outsz);

/* Plain text in any charset → UTF-8 (see encoding.c for the order of the rules). declared:
 * a charset the document names for itself (HTML <meta>, HTTP header), NULL if none; by: where
 * it was declared, for messages ("<meta>", "HTTP header"). Takes buf as ty__extract does;
 * out->text may be buf itself. */
int ty__decode(ty__text_t *out, char *buf, size_t len, const ty__xopts_t *o, const char *declared,
               const char *by, char *err);

/* First byte of u[0, n) that is not well-formed UTF-8 (RFC 3629), n when all are. */
size_t ty__utf8_valid_upto(const unsigned char *u, size_t n);
/* Replace each byte of *s (*n bytes, malloc()ed) that is not well-formed UTF-8 with U+FFFD,
 * in a new buffer when needed (the old one freed). 0, or -1 when out of memory. */
int ty__utf8_repair(char **s, size_t *n);

/* ---- html.c ---- */

/* The charset an HTML page declares in its first 4 KB (<meta charset>, <meta http-equiv
 * content="...; charset=">) into out; 0, or -1 if none. */
int ty__html_meta_charset(const char *buf, size_t len, char *out, size_t outsz);
/* UTF-8 HTML → out->text (the main text, blocks separated by line breaks) and out->title. */
int ty__html_extract(ty__text_t *out, const char *html, size_t len, const ty__xopts_t *o,
                     char *err);

/* ---- docx.c ---- */
int ty__docx_extract(ty__text_t *out, const char *buf, size_t len, int format, const char *name,
                     char *err);

/* ---- pdf.c ---- */
int ty__pdf_extract(ty__text_t *out, const char *buf, size_t len, const char *name, char *err);

/* ---- shared by the stages ---- */

/* A growable UTF-8 string. */
typedef struct {
    char *a;
    size_t n, m;
    int oom;
} ty__str_t;
void ty__str_put(ty__str_t *s, const char *p, size_t n);
void ty__str_putc(ty__str_t *s, char c);
/* Append text with runs of white space as one space (a line break kept when keep_nl). */
void ty__str_put_ws(ty__str_t *s, const char *p, size_t n, int keep_nl);
/* Drop trailing spaces and tabs of the last line. */
void ty__str_trim_end(ty__str_t *s);
/* 1 if the text has at least one character that is compared (ty_normalize_cp != 0). */
int ty__has_text(const char *p, size_t n);

#endif
