/*
 * warc.c — WARC files (ISO 28500, WARC/1.0 and 1.1) → the documents they hold: each
 * response record's HTTP body (status 2xx; chunked transfer and gzip/deflate content
 * encodings undone), each resource record's block and each conversion record's text (WET
 * files), with the media type (and charset) that says how to extract it. Requests, metadata,
 * revisits, warcinfo and bodies that are not text (images, scripts, fonts ...) are not
 * documents and are passed over without a word.
 *
 * The bytes come from input.c's stream (stream.c: a .warc.gz of one gzip member per record is
 * read through as one stream) through its line buffer, which stream.c refills by its one rule;
 * a record's block is read whole (up to the document limit; a larger one is skipped, with an
 * error). A damaged record — no WARC/ version line, a header that is not "Name: value", no or a bad
 * Content-Length, a block that does not end in CRLF CRLF (a lying Content-Length), a broken HTTP
 * response — is an error naming the file, the record's number and its byte offset; the reader then
 * looks for the next line that starts with "WARC/" and goes on from there.
 */
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "extract.h"
#include "warc.h"

#define HDR_MAX (64 << 10) /* bytes of one record header (WARC or HTTP) */

struct ty__warc {
    ty_lbuf_t *lb; /* the caller's: unread bytes are lb->a[beg, end) */
    ty_stream_t *st;
    const char *path;
    size_t max;    /* largest payload read */
    uint64_t pos;  /* stream offset of buf[beg] */
    uint64_t nrec; /* records started */
    int resync;    /* after an error: skip to the next "WARC/" line */
    char type[32], uri[2048], ctype[256];
};

ty__warc_t *ty__warc_new(ty_lbuf_t *lb, ty_stream_t *st, const char *path, size_t max)
{
    ty__warc_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->lb = lb;
    w->st = st;
    w->path = path;
    w->max = max;
    return w;
}

void ty__warc_free(ty__warc_t *w) { free(w); }

/* At least want unread bytes (fewer at the end of the stream). 0, or an error. */
static int need(ty__warc_t *w, size_t want, char *err)
{
    while (w->lb->end - w->lb->beg < want && !w->lb->eof) {
        int rc = ty__lbuf_more(w->lb, w->st, err);
        if (rc)
            return rc;
    }
    return TY_OK;
}

static void consume(ty__warc_t *w, size_t n)
{
    w->lb->beg += n;
    w->pos += n;
}

/* The next line (without CRLF/LF) into *line, *len; 1, 0 at the end of the stream, <0. A
 * line longer than HDR_MAX is an error. Consumes it. */
static int get_line(ty__warc_t *w, char **line, size_t *len, char *err)
{
    size_t scanned = 0;
    for (;;) {
        char *s = w->lb->a ? w->lb->a + w->lb->beg : NULL;
        size_t have = w->lb->end - w->lb->beg;
        char *nl = have > scanned ? memchr(s + scanned, '\n', have - scanned) : NULL;
        if (nl) {
            size_t l = (size_t)(nl - s);
            *line = s;
            *len = l && s[l - 1] == '\r' ? l - 1 : l;
            consume(w, l + 1);
            return 1;
        }
        if (w->lb->eof) {
            if (!have)
                return 0;
            *line = s;
            *len = have;
            consume(w, have);
            return 1;
        }
        if (have > HDR_MAX)
            return ty__err(err, TY_ECORRUPT,
                           "%s: record %llu (byte %llu): a header line longer "
                           "than %d bytes",
                           w->path, (unsigned long long)w->nrec, (unsigned long long)w->pos,
                           HDR_MAX);
        scanned = have;
        int rc = need(w, have + 1, err);
        if (rc)
            return rc;
    }
}

/* Discard n bytes of the stream (a block too large to keep). */
static int skip(ty__warc_t *w, uint64_t n, char *err)
{
    while (n) {
        if (w->lb->beg == w->lb->end) {
            int rc = need(w, 1, err);
            if (rc)
                return rc;
            if (w->lb->beg == w->lb->end)
                return 1; /* ended early */
        }
        size_t k = w->lb->end - w->lb->beg < n ? w->lb->end - w->lb->beg : (size_t)n;
        consume(w, k);
        n -= k;
    }
    return TY_OK;
}

/* After an error: drop bytes up to the next line that starts with "WARC/". */
static int resync(ty__warc_t *w, char *err)
{
    for (;;) {
        int rc = need(w, 6, err);
        if (rc)
            return rc;
        size_t have = w->lb->end - w->lb->beg;
        if (have >= 5 && memcmp(w->lb->a + w->lb->beg, "WARC/", 5) == 0)
            return TY_OK;
        if (w->lb->eof && have < 6) {
            consume(w, have);
            return TY_OK;
        }
        char *nl = memchr(w->lb->a + w->lb->beg, '\n', have);
        if (!nl) {
            consume(w, have > 5 ? have - 5 : 0);
            if (w->lb->eof) {
                consume(w, w->lb->end - w->lb->beg);
                return TY_OK;
            }
            rc = need(w, (w->lb->end - w->lb->beg) + 1, err);
            if (rc)
                return rc;
            continue;
        }
        consume(w, (size_t)(nl - (w->lb->a + w->lb->beg)) + 1);
    }
}

static void field(char *dst, size_t dsz, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    /* WARC 1.0 wrote the URI in <...> */
    if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
        v++, n -= 2;
    if (n >= dsz)
        n = dsz - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = ' ';
}

static int name_is(const char *line, size_t n, const char *name)
{
    size_t l = strlen(name);
    return n > l && line[l] == ':' && strncasecmp(line, name, l) == 0;
}

/* ---- HTTP responses ------------------------------------------------------------------------- */

/* Undo chunked transfer coding in place; the new length, or SIZE_MAX when broken. */
static size_t unchunk(char *b, size_t n)
{
    size_t in = 0, out = 0;
    for (;;) {
        size_t k = 0;
        int digits = 0;
        while (in < n) {
            char c = b[in];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                break;
            if (k > (SIZE_MAX >> 4))
                return SIZE_MAX;
            k = k * 16 + (size_t)d;
            in++;
            digits++;
        }
        if (!digits)
            return SIZE_MAX;
        char *nl = memchr(b + in, '\n', n - in); /* chunk extensions are ignored */
        if (!nl)
            return SIZE_MAX;
        in = (size_t)(nl - b) + 1;
        if (k == 0)
            return out;
        if (k > n - in)
            return SIZE_MAX;
        memmove(b + out, b + in, k);
        out += k;
        in += k;
        if (in < n && b[in] == '\r')
            in++;
        if (in < n && b[in] == '\n')
            in++;
    }
}

/* gzip or deflate (zlib or raw) → a new buffer; 0, or -1 broken, -2 too large / no memory */
static int inflate_all(const char *in, size_t n, size_t max, char **out, size_t *outlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        /* 15+32: gzip or zlib, by the header; then raw deflate (some servers send that) */
        if (inflateInit2(&z, attempt == 0 ? 15 + 32 : -15) != Z_OK)
            return -2;
        size_t cap = n * 4 + 4096, len = 0;
        char *b = malloc(cap + 1);
        int zr = Z_OK;
        while (b) {
            z.next_in = (Bytef *)in + z.total_in;
            z.avail_in = (uInt)((n - z.total_in) > (1u << 30) ? (1u << 30) : n - z.total_in);
            z.next_out = (Bytef *)b + len;
            z.avail_out = (uInt)((cap - len) > (1u << 30) ? (1u << 30) : cap - len);
            uInt before = z.avail_out;
            zr = inflate(&z, Z_NO_FLUSH);
            len += before - z.avail_out;
            if (zr == Z_STREAM_END || (zr != Z_OK && zr != Z_BUF_ERROR))
                break;
            if (zr == Z_BUF_ERROR && z.total_in == n)
                break;
            if (len == cap) {
                if (cap > max) {
                    free(b);
                    inflateEnd(&z);
                    return -2;
                }
                char *p = realloc(b, cap * 2 + 1);
                if (!p) {
                    free(b);
                    b = NULL;
                    break;
                }
                b = p;
                cap *= 2;
            }
        }
        inflateEnd(&z);
        if (!b)
            return -2;
        if (zr == Z_STREAM_END && len <= max) {
            *out = b;
            *outlen = len;
            return 0;
        }
        free(b);
    }
    return -1;
}

/* Media types worth extracting. */
static int wanted_type(const char *ct)
{
    size_t n = strcspn(ct, "; \t");
#define IS(s) (n == sizeof(s) - 1 && strncasecmp(ct, s, n) == 0)
    return n == 0 || IS("text/html") || IS("application/xhtml+xml") || IS("text/plain") ||
           IS("application/pdf") || IS("application/vnd.oasis.opendocument.text") ||
           IS("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
#undef IS
}

/* An HTTP response in blk[0, n) → its body (in place or replaced) and media type. 1 a
 * document, 0 not one (status, media type), <0 an error with err set. */
static int http_response(ty__warc_t *w, char **blk, size_t *n, char *err)
{
    char *b = *blk, *end = b + *n, *p = b;
    char *sp = memchr(b, '\n', *n);
    if (*n < 12 || strncmp(b, "HTTP/", 5) != 0 || !sp)
        return ty__err(err, TY_ECORRUPT,
                       "%s: record %llu (%s): the HTTP response has no "
                       "status line",
                       w->path, (unsigned long long)w->nrec, w->uri);
    int status = 0;
    const char *q = memchr(b, ' ', (size_t)(sp - b));
    if (q)
        status = atoi(q + 1);
    p = sp + 1;
    int chunked = 0, enc = 0; /* 1 gzip/deflate, 2 something else */
    char encname[32] = "";
    w->ctype[0] = 0;
    for (;;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return ty__err(err, TY_ECORRUPT,
                           "%s: record %llu (%s): the HTTP headers do not "
                           "end (no blank line)",
                           w->path, (unsigned long long)w->nrec, w->uri);
        size_t l = (size_t)(nl - p);
        if (l && p[l - 1] == '\r')
            l--;
        char *line = p;
        p = nl + 1;
        if (!l)
            break;
        if (name_is(line, l, "Content-Type")) {
            field(w->ctype, sizeof w->ctype, line + 13, l - 13);
        } else if (name_is(line, l, "Transfer-Encoding")) {
            char v[64];
            field(v, sizeof v, line + 18, l - 18);
            chunked = strcasestr(v, "chunked") != NULL;
        } else if (name_is(line, l, "Content-Encoding")) {
            field(encname, sizeof encname, line + 17, l - 17);
            enc = !encname[0] || !strcasecmp(encname, "identity") ? 0
                  : !strcasecmp(encname, "gzip") || !strcasecmp(encname, "x-gzip") ||
                          !strcasecmp(encname, "deflate")
                      ? 1
                      : 2;
        }
    }
    if (status < 200 || status > 299 || !wanted_type(w->ctype))
        return 0;
    size_t bl = (size_t)(end - p);
    memmove(b, p, bl);
    if (chunked) {
        size_t u = unchunk(b, bl);
        if (u == SIZE_MAX)
            return ty__err(err, TY_ECORRUPT,
                           "%s: record %llu (%s): broken chunked transfer "
                           "coding",
                           w->path, (unsigned long long)w->nrec, w->uri);
        bl = u;
    }
    if (enc == 2)
        return ty__err(err, TY_EUNSUPPORTED,
                       "%s: record %llu (%s): Content-Encoding %s is not "
                       "read",
                       w->path, (unsigned long long)w->nrec, w->uri, encname);
    if (enc == 1) {
        char *o;
        size_t ol;
        int r = inflate_all(b, bl, w->max, &o, &ol);
        if (r)
            return ty__err(err, r == -1 ? TY_ECORRUPT : TY_ETOOBIG,
                           "%s: record %llu (%s): %s body %s", w->path, (unsigned long long)w->nrec,
                           w->uri, encname,
                           r == -1 ? "is damaged" : "is larger than the document limit");
        free(b);
        *blk = o;
        bl = ol;
    }
    *n = bl;
    return 1;
}

/* ---- records -------------------------------------------------------------------------------- */

int ty__warc_next(ty__warc_t *w, ty__warc_rec_t *rec, char *err)
{
    memset(rec, 0, sizeof *rec);
    for (;;) {
        int rc;
        if (w->resync) {
            w->resync = 0;
            if ((rc = resync(w, err)) != TY_OK)
                return rc;
        }
        /* blank lines between records */
        char *line;
        size_t len;
        uint64_t at; /* the record's first byte in the stream */
        do {
            at = w->pos;
            rc = get_line(w, &line, &len, err);
            if (rc <= 0)
                return rc;
        } while (len == 0);
        w->nrec++;
        if (len < 6 || memcmp(line, "WARC/", 5) != 0) {
            char got[24];
            field(got, sizeof got, line, len < 20 ? len : 20);
            w->resync = 1;
            return ty__err(err, TY_ECORRUPT,
                           "%s: record %llu (byte %llu): no WARC/1.x version line (found "
                           "\"%s\"): not a WARC record",
                           w->path, (unsigned long long)w->nrec, (unsigned long long)at, got);
        }
        w->type[0] = w->uri[0] = w->ctype[0] = 0;
        uint64_t clen = 0;
        int have_len = 0, bad = 0;
        size_t hdr = 0;
        for (;;) {
            rc = get_line(w, &line, &len, err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                return ty__err(err, TY_ECORRUPT,
                               "%s: record %llu (byte %llu): the file ends inside the record's "
                               "header",
                               w->path, (unsigned long long)w->nrec, (unsigned long long)at);
            }
            if (!len)
                break;
            if ((hdr += len) > HDR_MAX) {
                bad = 2;
                continue;
            }
            if (line[0] == ' ' || line[0] == '\t')
                continue; /* a folded line: values we read are never folded */
            if (!memchr(line, ':', len)) {
                bad = 1;
                continue;
            }
            if (name_is(line, len, "WARC-Type"))
                field(w->type, sizeof w->type, line + 10, len - 10);
            else if (name_is(line, len, "WARC-Target-URI"))
                field(w->uri, sizeof w->uri, line + 16, len - 16);
            else if (name_is(line, len, "Content-Type"))
                field(w->ctype, sizeof w->ctype, line + 13, len - 13);
            else if (name_is(line, len, "Content-Length")) {
                char v[32];
                field(v, sizeof v, line + 15, len - 15);
                char *e;
                unsigned long long x = strtoull(v, &e, 10);
                if (!v[0] || *e || v[0] == '-' || x > ((uint64_t)1 << 50))
                    bad = 3;
                else
                    clen = x, have_len = 1;
            }
        }
        if (bad || !have_len) {
            w->resync = 1;
            return ty__err(err, TY_ECORRUPT, "%s: record %llu (byte %llu): %s", w->path,
                           (unsigned long long)w->nrec, (unsigned long long)at,
                           bad == 1   ? "a header line that is not \"Name: value\""
                           : bad == 2 ? "a header longer than 64 KB"
                           : bad == 3 ? "Content-Length is not a number"
                                      : "no Content-Length");
        }
        int doc = !strcasecmp(w->type, "response") || !strcasecmp(w->type, "resource") ||
                  !strcasecmp(w->type, "conversion");
        if (!doc || clen > w->max) {
            rc = skip(w, clen, err);
            if (rc < 0)
                return rc;
            if (rc > 0)
                return ty__err(err, TY_ECORRUPT,
                               "%s: record %llu (byte %llu): truncated (the file ends inside "
                               "its %llu-byte block)",
                               w->path, (unsigned long long)w->nrec, (unsigned long long)at,
                               (unsigned long long)clen);
        } else {
            if ((rc = need(w, (size_t)clen, err)) != TY_OK)
                return rc;
            if (w->lb->end - w->lb->beg < clen) {
                uint64_t have = w->lb->end - w->lb->beg;
                consume(w, (size_t)have);
                return ty__err(err, TY_ECORRUPT,
                               "%s: record %llu (byte %llu): truncated (Content-Length %llu, "
                               "%llu bytes left in the file)",
                               w->path, (unsigned long long)w->nrec, (unsigned long long)at,
                               (unsigned long long)clen, (unsigned long long)have);
            }
            char *blk = malloc((size_t)clen + 1);
            if (!blk)
                return ty__err(err, TY_ENOMEM, "%s: out of memory", w->path);
            memcpy(blk, w->lb->a + w->lb->beg, (size_t)clen);
            consume(w, (size_t)clen);
            rec->body = blk;
            rec->len = (size_t)clen;
        }
        /* the block ends with CR LF CR LF */
        if ((rc = need(w, 4, err)) != TY_OK) {
            free(rec->body);
            rec->body = NULL;
            return rc;
        }
        size_t have = w->lb->end - w->lb->beg, trailer = 0; /* CR LF CR LF, or LF LF */
        int ok = have == 0 && w->lb->eof;                   /* the last record, its trailer lost */
        if (have >= 4 && memcmp(w->lb->a + w->lb->beg, "\r\n\r\n", 4) == 0)
            ok = 1, trailer = 4;
        else if (have >= 2 && memcmp(w->lb->a + w->lb->beg, "\n\n", 2) == 0)
            ok = 1, trailer = 2;
        if (!ok) {
            free(rec->body);
            rec->body = NULL;
            w->resync = 1;
            return ty__err(err, TY_ECORRUPT,
                           "%s: record %llu (byte %llu): the block does not end where "
                           "Content-Length %llu says (no CR LF CR LF after it)",
                           w->path, (unsigned long long)w->nrec, (unsigned long long)at,
                           (unsigned long long)clen);
        }
        consume(w, trailer);
        if (clen > w->max && doc)
            return ty__err(err, TY_ETOOBIG,
                           "%s: record %llu (%s): a block of %llu bytes, more than the limit "
                           "of %zu bytes; skipped",
                           w->path, (unsigned long long)w->nrec, w->uri, (unsigned long long)clen,
                           w->max);
        if (!doc)
            continue;
        if (!strcasecmp(w->type, "response") &&
            strncasecmp(w->ctype, "application/http", 16) == 0) {
            rc = http_response(w, &rec->body, &rec->len, err);
            if (rc <= 0) {
                free(rec->body);
                rec->body = NULL;
                if (rc < 0)
                    return rc;
                continue; /* not a document */
            }
        } else if (!strcasecmp(w->type, "response") || !wanted_type(w->ctype)) {
            free(rec->body); /* a response that is not HTTP, or a resource of another type */
            rec->body = NULL;
            continue;
        }
        rec->number = w->nrec;
        rec->offset = at;
        rec->uri = w->uri;
        rec->content_type = w->ctype;
        return 1;
    }
}
