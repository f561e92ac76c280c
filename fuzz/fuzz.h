/*
 * fuzz.h — helpers shared by the fuzz targets (fuzz_*.c): an invariant check that aborts (so
 * libFuzzer and the replay driver both see a crash) and an independent UTF-8 segmentation to
 * check the library's offsets against.
 *
 * The targets use only the public header: they test what a caller can see. The decoder here
 * is written from the RFC 3629 table, not copied from normalize.c, so that a mistake in one is
 * not repeated in the other.
 */
#ifndef TY_FUZZ_H
#define TY_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tongyuan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the failed condition: a crash for libFuzzer, a non-zero exit for replay. */
#define FZ_CHECK(cond)                                                                   \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* Allocation that cannot fail in a fuzz target (abort on ENOMEM, as libFuzzer's -rss_limit). */
static void *fz_alloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p)
        abort();
    return p;
}

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 (RFC 3629, section 4). */
static int fz_utf8_len(const unsigned char *s, size_t n)
{
    unsigned b = s[0];
#define CONT(i, lo, hi) (n > (i) && s[i] >= (lo) && s[i] <= (hi))
    if (b <= 0x7F)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return CONT(1, 0x80, 0xBF) ? 2 : 0;
    if (b == 0xE0)
        return CONT(1, 0xA0, 0xBF) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
        return CONT(1, 0x80, 0xBF) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if (b == 0xED)
        return CONT(1, 0x80, 0x9F) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if (b == 0xF0)
        return CONT(1, 0x90, 0xBF) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
    if (b >= 0xF1 && b <= 0xF3)
        return CONT(1, 0x80, 0xBF) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
    if (b == 0xF4)
        return CONT(1, 0x80, 0x8F) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
#undef CONT
    return 0;
}

/* The text's code points as the library counts them in TY_UTF8_REPLACE mode: a well-formed
 * sequence is one code point, every byte not starting one is one code point of its own. */
typedef struct {
    size_t len;      /* bytes */
    size_t ncp;      /* code points */
    size_t ninvalid; /* bytes not part of a well-formed sequence */
    int has_nul;
    uint32_t *cp_at; /* [len + 1]: code point index of a byte that starts one, else UINT32_MAX */
    uint8_t *bad;    /* [len]: 1 for an invalid byte (one code point of its own) */
} fz_text_t;

static void fz_text_init(fz_text_t *t, const uint8_t *s, size_t len)
{
    t->len = len;
    t->ncp = 0;
    t->ninvalid = 0;
    t->has_nul = len && memchr(s, 0, len) != NULL;
    t->cp_at = fz_alloc((len + 1) * sizeof(uint32_t));
    t->bad = fz_alloc(len);
    memset(t->cp_at, 0xff, (len + 1) * sizeof(uint32_t));
    size_t i = 0;
    while (i < len) {
        int l = fz_utf8_len(s + i, len - i);
        t->cp_at[i] = (uint32_t)t->ncp++;
        if (l == 0) {
            t->bad[i] = 1;
            t->ninvalid++;
            l = 1;
        }
        i += (size_t)l;
    }
    t->cp_at[len] = (uint32_t)t->ncp;
}

static void fz_text_free(fz_text_t *t)
{
    free(t->cp_at);
    free(t->bad);
}

/* Byte offset b starts a code point (or is the end of the text) and that code point is cp. */
static int fz_at_cp(const fz_text_t *t, size_t b, size_t cp)
{
    return b <= t->len && t->cp_at[b] != UINT32_MAX && t->cp_at[b] == cp;
}

/* Tokens of d copied out (caller frees), *n set. */
static ty_token_t *fz_tokens(const ty_doc_t *d, size_t *n)
{
    *n = ty_doc_ntokens(d);
    ty_token_t *t = fz_alloc(*n * sizeof(ty_token_t));
    for (size_t i = 0; i < *n; i++)
        FZ_CHECK(ty_doc_token(d, i, &t[i]) == TY_OK);
    return t;
}

/* A small deterministic hash of the input (FNV-1a) to pick options without spending bytes. */
static uint64_t fz_hash(const uint8_t *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

/* ---- the extraction targets (fuzz_encoding, fuzz_html, fuzz_docx, fuzz_pdf, fuzz_warc) ---- */

/* Well-formed UTF-8 without NUL bytes. */
static int fz_utf8_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int l = fz_utf8_len(u + i, n - i);
        if (l == 0 || u[i] == 0)
            return 0;
        i += (size_t)l;
    }
    return 1;
}

/* Load data as a file of format fmt (encoding may be NULL: detect) in strict mode and check
 * what extraction promises: a known outcome; on success well-formed text and title, a docinfo
 * that says what was read, and (text decoded from another charset) file offsets that rise
 * from the start of the input to its end, one per code point plus one; on failure a message
 * naming the file. Returns the outcome. */
static int fz_load_extracted(const uint8_t *data, size_t size, int fmt, const char *encoding)
{
    static const char name[] = "fuzz-input";
    ty_opts_t o;
    ty_opts_init(&o);
    o.input_format = fmt;
    o.encoding = encoding;
    ty_doc_t *d = ty_doc_new();
    FZ_CHECK(d != NULL);
    int rc = ty_doc_load_bytes(d, name, data, size, &o);
    FZ_CHECK(rc == TY_OK || rc == TY_EUTF8 || rc == TY_EBINARY || rc == TY_EENCODING ||
             rc == TY_ECORRUPT || rc == TY_EUNSUPPORTED || rc == TY_EEMPTY || rc == TY_ETOOBIG ||
             rc == TY_EINVAL);
    if (rc != TY_OK) {
        FZ_CHECK(strstr(ty_doc_errmsg(d), name) != NULL);
        FZ_CHECK(ty_doc_ntokens(d) == 0);
    } else {
        size_t len;
        const char *t = ty_doc_text(d, &len);
        FZ_CHECK(fz_utf8_ok(t, len));
        const ty_docinfo_t *in = ty_docinfo(d);
        FZ_CHECK(in->charset && in->title);
        FZ_CHECK(fz_utf8_ok(in->title, strlen(in->title)));
        FZ_CHECK(in->format >= TY_FORMAT_TEXT && in->format <= TY_FORMAT_PDF);
        FZ_CHECK(fmt == TY_FORMAT_AUTO || in->format == fmt);
        if (in->format != TY_FORMAT_TEXT)
            FZ_CHECK(ty_doc_ntokens(d) > 0); /* else TY_EEMPTY */
        if (in->file_off) {
            FZ_CHECK(in->format == TY_FORMAT_TEXT);
            FZ_CHECK(in->nfile_off == ty_doc_ncodepoints(d) + 1);
            FZ_CHECK(in->file_off[0] <= 4); /* after a byte order mark */
            FZ_CHECK(in->file_off[in->nfile_off - 1] == size);
            for (size_t i = 0; i + 1 < in->nfile_off; i++)
                FZ_CHECK(in->file_off[i] <= in->file_off[i + 1]);
        } else if (in->format == TY_FORMAT_TEXT && strcmp(in->charset, "UTF-8") == 0) {
            FZ_CHECK(len == size && memcmp(t, data, size) == 0); /* UTF-8 as it was */
        }
    }
    ty_doc_free(d);
    return rc;
}

#endif
