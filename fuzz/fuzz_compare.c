/*
 * fuzz_compare.c — two documents from one input → ty_compare().
 *
 * Input: source and suspect are split at the first 0xFF byte (never valid UTF-8, so a seed is
 * two texts joined by it), or in the middle when there is none. Both are loaded in replace mode;
 * an input with a NUL byte is refused by the loader and skipped. Each pair is compared twice:
 * with the default options (the realistic case) and with permissive options picked by a hash
 * of the input (small k, no length or score floor, varied snap and gaps), so that short fuzz
 * inputs reach chaining, merging and refinement too.
 *
 * Invariants checked for every passage, against an independent UTF-8 segmentation:
 *   - token ranges non-empty and within both documents; matched <= both ranges;
 *   - code point spans non-empty and within both documents, byte spans within both texts;
 *   - byte spans start and end on code point starts, and agree with the code point offsets;
 *   - the refined span contains its token range (snapping only moves ends outwards);
 *   - passages sorted by suspect offset; 0 <= score <= 1; coverage <= suspect tokens;
 * and ty_compare(a, b) gives the same passages with a new aligner, with an aligner reused
 * for earlier inputs, and again after the aligner compared (b, a).
 */
#include <math.h>

#include "fuzz.h"

typedef struct {
    const ty_doc_t *d;
    const fz_text_t *tx;
    const ty_token_t *tok;
    size_t ntok;
} side_t;

static void check_span(const side_t *s, size_t tb, size_t te, size_t off, size_t len, size_t boff,
                       size_t blen)
{
    FZ_CHECK(tb < te && te <= s->ntok);
    FZ_CHECK(len >= 1 && blen >= 1);
    FZ_CHECK(off + len <= ty_doc_ncodepoints(s->d));
    FZ_CHECK(boff + blen <= s->tx->len);
    /* byte spans on code point starts */
    FZ_CHECK(s->tx->cp_at[boff] != UINT32_MAX);
    FZ_CHECK(s->tx->cp_at[boff + blen] != UINT32_MAX);
    /* ... that agree with the code point span */
    FZ_CHECK(fz_at_cp(s->tx, boff, off));
    FZ_CHECK(fz_at_cp(s->tx, boff + blen, off + len));
    /* the span holds its tokens */
    FZ_CHECK(boff <= s->tok[tb].byte_off);
    FZ_CHECK(boff + blen >= (size_t)s->tok[te - 1].byte_off + s->tok[te - 1].byte_len);
    FZ_CHECK(off <= s->tok[tb].cp_off);
    FZ_CHECK(off + len >= (size_t)s->tok[te - 1].cp_off + s->tok[te - 1].cp_len);
}

/* Run ty_compare and check its result; returns a copy of the passages (caller frees). */
static ty_passage_t *run(ty_aligner_t *a, const side_t *src, const side_t *sus, size_t *n)
{
    const ty_passage_t *p;
    FZ_CHECK(ty_compare(a, src->d, sus->d, &p, n) == TY_OK);
    FZ_CHECK(*n == 0 || p != NULL);
    size_t maxlen = 0;
    for (size_t i = 0; i < *n; i++) {
        const ty_passage_t *q = &p[i];
        check_span(src, q->src_tok_beg, q->src_tok_end, q->src_off, q->src_len, q->src_byte_off,
                   q->src_byte_len);
        check_span(sus, q->sus_tok_beg, q->sus_tok_end, q->sus_off, q->sus_len, q->sus_byte_off,
                   q->sus_byte_len);
        FZ_CHECK(q->matched <= q->sus_tok_end - q->sus_tok_beg);
        FZ_CHECK(q->matched <= q->src_tok_end - q->src_tok_beg);
        FZ_CHECK(!isnan(q->score) && q->score >= 0 && q->score <= 1);
        if (i)
            FZ_CHECK(p[i - 1].sus_off <= q->sus_off);
        if (q->sus_tok_end - q->sus_tok_beg > maxlen)
            maxlen = q->sus_tok_end - q->sus_tok_beg;
    }
    size_t cov = ty_passages_coverage(p, *n);
    FZ_CHECK(cov >= maxlen && cov <= sus->ntok);
    ty_passage_t *c = fz_alloc(*n * sizeof(ty_passage_t));
    if (*n)
        memcpy(c, p, *n * sizeof(ty_passage_t));
    return c;
}

static void same(const ty_passage_t *a, size_t na, const ty_passage_t *b, size_t nb)
{
    FZ_CHECK(na == nb);
    FZ_CHECK(na == 0 || memcmp(a, b, na * sizeof(ty_passage_t)) == 0);
}

/* Permissive options from the input's hash. */
static void pick_opts(ty_opts_t *o, uint64_t h)
{
    ty_opts_init(o);
    o->k = 2 + (int)(h & 3);
    h >>= 2;
    o->max_occ = (h & 1) ? 1 + (int)((h >> 1) & 7) : 32;
    h >>= 4;
    o->max_gap = (int)(h & 15) * 4;
    h >>= 4;
    o->gap_cost = (double)(h & 3) * 0.25;
    h >>= 2;
    o->drift_cost = (double)(h & 3) * 0.25;
    h >>= 2;
    o->min_chain = (int)(h & 7);
    h >>= 3;
    o->merge_gap = (int)(h & 15) * 4;
    h >>= 4;
    o->min_len = (int)(h & 3);
    h >>= 2;
    o->min_score = (h & 1) ? 0.25 : 0;
    h >>= 1;
    o->snap = (int)(h & 15);
    o->utf8_mode = TY_UTF8_REPLACE;
    FZ_CHECK(ty_opts_check(o, NULL, 0) == TY_OK);
}

/* One configuration: fresh aligner vs reused one (*reuse, created on first use when
 * reuse != NULL), and a fresh aligner that compares (b, a) in between. */
static void compare_all(const ty_opts_t *o, const side_t *x, const side_t *y, ty_aligner_t **reuse)
{
    ty_aligner_t *a = ty_aligner_new(o);
    FZ_CHECK(a != NULL);
    size_t n1, n2, n3, n4;
    ty_passage_t *p1 = run(a, x, y, &n1);
    ty_passage_t *p2 = run(a, y, x, &n2); /* the other direction, same aligner */
    ty_passage_t *p3 = run(a, x, y, &n3);
    same(p1, n1, p3, n3);
    if (reuse) {
        if (!*reuse)
            *reuse = ty_aligner_new(o);
        FZ_CHECK(*reuse != NULL);
        ty_passage_t *p4 = run(*reuse, x, y, &n4);
        same(p1, n1, p4, n4);
        free(p4);
    }
    free(p1);
    free(p2);
    free(p3);
    ty_aligner_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* kept across inputs on purpose: a long-lived aligner must not carry state over */
    static ty_aligner_t *reused;
    const uint8_t *sep = size ? memchr(data, 0xFF, size) : NULL;
    size_t la = sep ? (size_t)(sep - data) : size / 2;
    size_t boff = sep ? la + 1 : la;
    const uint8_t *pa = data, *pb = data + boff;
    size_t lb = size - boff;

    ty_opts_t o;
    ty_opts_init(&o);
    o.utf8_mode = TY_UTF8_REPLACE;
    ty_doc_t *da = ty_doc_new(), *db = ty_doc_new();
    FZ_CHECK(da && db);
    if (ty_doc_load_mem(da, "a", pa, la, &o) != TY_OK ||
        ty_doc_load_mem(db, "b", pb, lb, &o) != TY_OK) {
        ty_doc_free(da);
        ty_doc_free(db);
        return 0;
    }
    fz_text_t ta, tb;
    fz_text_init(&ta, pa, la);
    fz_text_init(&tb, pb, lb);
    side_t x = {da, &ta, NULL, 0}, y = {db, &tb, NULL, 0};
    ty_token_t *toka = fz_tokens(da, &x.ntok), *tokb = fz_tokens(db, &y.ntok);
    x.tok = toka;
    y.tok = tokb;

    compare_all(&o, &x, &y, &reused);
    ty_opts_t po;
    pick_opts(&po, fz_hash(data, size));
    compare_all(&po, &x, &y, NULL);

    free(toka);
    free(tokb);
    fz_text_free(&ta);
    fz_text_free(&tb);
    ty_doc_free(da);
    ty_doc_free(db);
    return 0;
}
