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

#endif
