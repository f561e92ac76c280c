/*
 * extract.c — the extraction dispatcher: which format a document's bytes are in, and the
 * stage that turns them into text (encoding.c, html.c, docx.c, pdf.c). doc.c calls it for
 * one file (compare), input.c for every whole file and WARC record it reads (index, check,
 * dedup, extract).
 *
 * The content decides the format (magic bytes: %PDF-, PK.. zip, WARC/, an OLE2 container,
 * an <!DOCTYPE html> or <html> start); a media type (a WARC record's) or the file name's
 * extension only decide between formats the content leaves open — a .html file that holds
 * plain text is read as HTML (libxml2 takes it whole), a .pdf file that holds no PDF is an
 * error naming the file. --input-format (xopts.format) forces a format.
 *
 * The "no text" rule: an HTML page, Word, OpenDocument or PDF file whose extracted text
 * holds no character that is compared (a scanned PDF, a page that is all navigation) is
 * TY_EEMPTY — callers skip it with a warning and count it. A plain text file is never
 * TY_EEMPTY: an empty text is a valid document with nothing to find, as it always was.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "extract.h"

/* ---- public: format names ----------------------------------------------------------------- */

static const char *const FORMAT_NAMES[] = {"auto", "text", "jsonl", "html",
                                           "docx", "odt",  "pdf",   "warc"};

const char *ty_format_name(int format)
{
    if (format < 0 || (size_t)format >= sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0])
        return "?";
    return FORMAT_NAMES[format];
}

int ty_format_parse(const char *name, int *format)
{
    for (size_t i = 0; name && i < sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0]; i++)
        if (strcasecmp(name, FORMAT_NAMES[i]) == 0) {
            *format = (int)i;
            return TY_OK;
        }
    if (name && (strcasecmp(name, "htm") == 0 || strcasecmp(name, "xhtml") == 0)) {
        *format = TY_FORMAT_HTML;
        return TY_OK;
    }
    if (name && (strcasecmp(name, "txt") == 0 || strcasecmp(name, "plain") == 0)) {
        *format = TY_FORMAT_TEXT;
        return TY_OK;
    }
    return TY_EINVAL;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

void ty__text_free(ty__text_t *t)
{
    if (!t)
        return;
    TY_FREE(t->text, t->title, t->file_off);
    memset(t, 0, sizeof *t);
}

static int str_grow(ty__str_t *s, size_t more)
{
    if (s->oom)
        return -1;
    if (s->n + more + 1 <= s->m)
        return 0;
    size_t m = s->m ? s->m : 256;
    while (m < s->n + more + 1)
        m *= 2;
    char *p = realloc(s->a, m);
    if (!p) {
        s->oom = 1;
        return -1;
    }
    s->a = p;
    s->m = m;
    return 0;
}

void ty__str_put(ty__str_t *s, const char *p, size_t n)
{
    if (!n || str_grow(s, n))
        return;
    memcpy(s->a + s->n, p, n);
    s->n += n;
    s->a[s->n] = 0;
}

void ty__str_putc(ty__str_t *s, char c) { ty__str_put(s, &c, 1); }

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

void ty__str_put_ws(ty__str_t *s, const char *p, size_t n, int keep_nl)
{
    if (str_grow(s, n))
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        /* U+00A0 (C2 A0) counts as a space too: &nbsp; between words */
        int nb = c == 0xC2 && i + 1 < n && (unsigned char)p[i + 1] == 0xA0;
        if (is_space(c) || nb) {
            if (nb)
                i++;
            if (keep_nl && c == '\n') {
                while (s->n && s->a[s->n - 1] == ' ')
                    s->n--;
                s->a[s->n++] = '\n';
            } else if (s->n && s->a[s->n - 1] != ' ' && s->a[s->n - 1] != '\n') {
                s->a[s->n++] = ' ';
            }
            continue;
        }
        s->a[s->n++] = (char)c;
    }
    s->a[s->n] = 0;
}

void ty__str_trim_end(ty__str_t *s)
{
    while (s->n && (s->a[s->n - 1] == ' ' || s->a[s->n - 1] == '\t'))
        s->n--;
    if (s->a)
        s->a[s->n] = 0;
}

int ty__has_text(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int l = ty__utf8_decode(s + i, n - i, &c);
        if (l && ty_normalize_cp(c))
            return 1;
        i += l ? (size_t)l : 1;
    }
    return 0;
}

/* ---- format --------------------------------------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t l = strlen(suf);
    return n >= l && strncasecmp(s + n - l, suf, l) == 0;
}

/* The name's extension (before any .gz/.zst) as a format, or TY_FORMAT_AUTO. */
static int format_of_name(const char *name)
{
    if (!name)
        return TY_FORMAT_AUTO;
    size_t n = strlen(name);
    if (ends_with(name, n, ".gz"))
        n -= 3;
    else if (ends_with(name, n, ".zst"))
        n -= 4;
    if (ends_with(name, n, ".html") || ends_with(name, n, ".htm") || ends_with(name, n, ".xhtml") ||
        ends_with(name, n, ".shtml"))
        return TY_FORMAT_HTML;
    if (ends_with(name, n, ".docx"))
        return TY_FORMAT_DOCX;
    if (ends_with(name, n, ".odt"))
        return TY_FORMAT_ODT;
    if (ends_with(name, n, ".pdf"))
        return TY_FORMAT_PDF;
    if (ends_with(name, n, ".warc"))
        return TY_FORMAT_WARC;
    return TY_FORMAT_AUTO;
}

static int format_of_type(const char *ct)
{
    if (!ct)
        return TY_FORMAT_AUTO;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
#define IS(s) (n == sizeof(s) - 1 && strncasecmp(ct, s, n) == 0)
    if (IS("text/html") || IS("application/xhtml+xml"))
        return TY_FORMAT_HTML;
    if (IS("text/plain"))
        return TY_FORMAT_TEXT;
    if (IS("application/pdf"))
        return TY_FORMAT_PDF;
    if (IS("application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
        return TY_FORMAT_DOCX;
    if (IS("application/vnd.oasis.opendocument.text"))
        return TY_FORMAT_ODT;
#undef IS
    return TY_FORMAT_AUTO;
}

/* Case-insensitive prefix test. */
static int starts_ci(const char *p, size_t n, const char *pre)
{
    size_t l = strlen(pre);
    return n >= l && strncasecmp(p, pre, l) == 0;
}

/* An HTML start: after a byte order mark, white space, <?xml ...?> and comments, a doctype
 * html or one of <html> <head> <body>. */
static int looks_html(const char *p, size_t n)
{
    size_t i = 0, lim = n < 4096 ? n : 4096;
    if (lim >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        i = 3;
    for (;;) {
        while (i < lim && is_space((unsigned char)p[i]))
            i++;
        if (i >= lim || p[i] != '<')
            return 0;
        const char *s = p + i;
        size_t left = lim - i;
        if (starts_ci(s, left, "<!doctype html") || starts_ci(s, left, "<html") ||
            starts_ci(s, left, "<head") || starts_ci(s, left, "<body"))
            return 1;
        const char *end = NULL;
        size_t skip = 0;
        if (starts_ci(s, left, "<?xml"))
            end = memmem(s, left, "?>", 2), skip = 2;
        else if (starts_ci(s, left, "<!--"))
            end = memmem(s, left, "-->", 3), skip = 3;
        if (!end)
            return 0;
        i = (size_t)(end - p) + skip;
    }
}

int ty__format_sniff(const char *buf, size_t len, const char *name, const char *content_type)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t head = len < 1024 ? len : 1024;
    if (head >= 5 && memmem(buf, head, "%PDF-", 5))
        return TY_FORMAT_PDF;
    if (len >= 4 && memcmp(buf, "PK\3\4", 4) == 0) {
        /* OpenDocument: the first entry is "mimetype", stored, holding the media type */
        if (len >= 38 + 39 && memcmp(buf + 30, "mimetype", 8) == 0 &&
            memcmp(buf + 38, "application/vnd.oasis.opendocument.text", 39) == 0)
            return TY_FORMAT_ODT;
        return format_of_name(name) == TY_FORMAT_ODT ? TY_FORMAT_ODT : TY_FORMAT_DOCX;
    }
    if (len >= 6 && memcmp(buf, "WARC/", 5) == 0)
        return TY_FORMAT_WARC;
    if (len >= 8 && b[0] == 0xD0 && b[1] == 0xCF && b[2] == 0x11 && b[3] == 0xE0 && b[4] == 0xA1 &&
        b[5] == 0xB1 && b[6] == 0x1A && b[7] == 0xE1)
        return -1;
    if (looks_html(buf, len))
        return TY_FORMAT_HTML;
    int f = format_of_type(content_type);
    if (f == TY_FORMAT_AUTO)
        f = format_of_name(name);
    return f == TY_FORMAT_AUTO ? TY_FORMAT_TEXT : f;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* charset=NAME of a media type into out; 0, or -1 if none */
static int type_charset(const char *ct, char *out, size_t outsz)
{
    const char *p = ct ? strcasestr(ct, "charset=") : NULL;
    if (!p)
        return -1;
    p += 8;
    while (*p == ' ' || *p == '"' || *p == '\'')
        p++;
    size_t n = strcspn(p, "\"'; \t\r\n");
    if (!n || n >= outsz)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int extract_html(ty__text_t *out, char *buf, size_t len, const ty__xopts_t *o, char *err)
{
    /* the charset: forced, a byte order mark, the HTTP header, <meta>, else as plain text */
    char decl[64];
    const char *by = NULL, *declared = NULL;
    if (type_charset(o->content_type, decl, sizeof decl) == 0)
        declared = decl, by = "HTTP header";
    else if (ty__html_meta_charset(buf, len, decl, sizeof decl) == 0)
        declared = decl, by = "<meta>";
    ty__text_t raw;
    memset(&raw, 0, sizeof raw);
    int rc = ty__decode(&raw, buf, len, o, declared, by, err);
    if (rc)
        return rc;
    /* damaged UTF-8 (decode hands it on as it is): an error at its place in the file, as for
     * text; or, with --invalid-utf8 replace, U+FFFD for each bad byte */
    size_t bad = ty__utf8_valid_upto((const unsigned char *)raw.text, raw.len);
    if (bad < raw.len && o->utf8_mode != TY_UTF8_REPLACE) {
        size_t line, col;
        ty__line_col(raw.text, bad, &line, &col);
        rc = ty__err(err, TY_EUTF8, "%s: invalid UTF-8 at line %zu, column %zu (byte %zu: 0x%02x)",
                     o->name ? o->name : "", line, col, bad, (unsigned char)raw.text[bad]);
        ty__text_free(&raw);
        return rc;
    }
    if (bad < raw.len && ty__utf8_repair(&raw.text, &raw.len) != 0) {
        ty__text_free(&raw);
        return ty__err(err, TY_ENOMEM, "%s: out of memory", o->name ? o->name : "");
    }
    rc = ty__html_extract(out, raw.text, raw.len, o, err);
    snprintf(out->charset, sizeof out->charset, "%s", raw.charset);
    ty__text_free(&raw);
    return rc;
}

int ty__extract(ty__text_t *out, char *buf, size_t len, const ty__xopts_t *o, char *err)
{
    const char *name = o->name ? o->name : "";
    memset(out, 0, sizeof *out);
    int f = o->format ? o->format : ty__format_sniff(buf, len, name, o->content_type);
    int rc;
    switch (f) {
    case TY_FORMAT_TEXT:
        rc = ty__decode(out, buf, len, o, NULL, NULL, err);
        out->format = TY_FORMAT_TEXT;
        return rc;
    case TY_FORMAT_HTML: rc = extract_html(out, buf, len, o, err); break;
    case TY_FORMAT_DOCX:
    case TY_FORMAT_ODT:
        rc = ty__docx_extract(out, buf, len, f, name, err);
        free(buf);
        break;
    case TY_FORMAT_PDF:
        rc = ty__pdf_extract(out, buf, len, name, err);
        free(buf);
        break;
    case -1:
        free(buf);
        return ty__err(err, TY_EUNSUPPORTED,
                       "%s: a Word 97-2003 (.doc) or password-protected Office file: not read "
                       "(save it as .docx, without a password)",
                       name);
    case TY_FORMAT_WARC:
        if (!o->format && !(len >= 5 && memcmp(buf, "WARC/", 5) == 0)) {
            free(buf);
            return ty__err(err, TY_ECORRUPT,
                           "%s: named .warc but not a WARC file (it does not start with "
                           "\"WARC/\")",
                           name);
        }
        /* fall through */
    default:
        free(buf);
        return ty__err(err, TY_EINVAL,
                       "%s: a %s file holds many documents: read it with index, check, dedup or "
                       "extract",
                       name, ty_format_name(f));
    }
    if (rc) {
        ty__text_free(out);
        return rc;
    }
    /* what a parser hands back is not taken on trust: well-formed UTF-8 from here on */
    size_t tl = out->title ? strlen(out->title) : 0;
    if (ty__utf8_repair(&out->text, &out->len) != 0 ||
        (out->title && ty__utf8_repair(&out->title, &tl) != 0)) {
        ty__text_free(out);
        return ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    }
    out->format = f;
    if (!ty__has_text(out->text, out->len)) {
        char what[64] = "";
        if (f == TY_FORMAT_PDF)
            snprintf(what, sizeof what, " (a PDF of %u page%s: scanned images?)", out->pages,
                     out->pages == 1 ? "" : "s");
        ty__text_free(out);
        return ty__err(err, TY_EEMPTY, "%s: no text extracted from this %s file%s", name,
                       ty_format_name(f), what);
    }
    return TY_OK;
}
