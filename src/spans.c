/*
 * spans.c — passage-level cleaning of a corpus: remove from each document the passages that
 * reuse text of earlier documents (`tongyuan dedup --mode spans`, docs/dedup.md).
 *
 * Documents are processed one by one in input order:
 *   1. tokenize and sketch ((w,k)-minimizers, dedup_rules.c's ty__spun_sketch);
 *   2. count, per kept document, the minimizers it shares with the new one (the index holds
 *      only minimizers of KEPT text: see 5); minimizers in more than max_df kept documents
 *      are short common phrases and find nothing;
 *   3. align the max_candidates documents sharing most (at least min_shared) with
 *      ty_compare() — exact mode: exact runs of at least min_len tokens whose original bytes
 *      are equal — and collect the passages;
 *   4. report the document: its removed passages and the kept text;
 *   5. index the minimizers that start outside the removed passages, and keep the text
 *      (zstd) for later alignments.
 * Because a removed passage is not indexed, a passage copied into a thousand documents is
 * indexed once, in the first, and found in every later one: its minimizers never reach
 * max_df (tests/dedup.sh checks it).
 *
 * Threads (ty__for), with the output of the one-by-one order at any number of threads:
 * documents come in batches (o.batch, or fewer when they hold BATCH_BYTES of text). Step A
 * runs on the threads, a document each: tokenize, sketch, count the minimizers shared with
 * the documents indexed BEFORE the batch (read-only meanwhile), keep the max_candidates best
 * and align them. Step B is in input order on one thread: count the minimizers shared with
 * the batch's earlier documents (a small index of their kept minimizers), merge the two lists
 * — the best max_candidates of all earlier documents are the best of (A's best, the batch's),
 * since the order is a total one — and align only the batch's candidates that made it (A's
 * alignments are used for the others, the rest thrown away); then steps 4 and 5, into the
 * batch index, which is added to the main one at the end of the batch in input order, as the
 * one-by-one order would have added it. One case changes the counts A made: a minimizer that
 * becomes boilerplate (more than max_df documents) through the batch's documents no longer
 * counts for any candidate; then B counts that document anew over both indexes and aligns
 * what A did not. So the result depends on the input and the options only (tests/dedup.sh
 * compares 1, 2 and 4 threads, and batch sizes, byte for byte).
 */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "dedup.h"
#include "hash.h"
#include "spans.h"
#include "thread.h"

/* A batch: at most o.batch documents, or this much text (bounds the memory held). */
#define BATCH_BYTES (32u << 20)

typedef TY_VEC(ty_span_t) spanvec_t;

/* A source's windows of n tokens, by hash (exact_runs). */
static inline uint64_t win_at(const uint64_t *hs, size_t i) { return hs[i]; }
TY_HASH_IDX_INIT(wintab, const uint64_t *, uint64_t, win_at, ty__mix64, TY_HASH_EQ)

typedef struct {
    char *name;
    char *ctext; /* zstd frame of the text, NULL when nothing of it was indexed */
    uint32_t clen, len, ntok, nmz;
} srec_t;

/* One thread's scratch for step A (and step B's alignments, thread 0's). */
typedef struct {
    ty_doc_t *cand;
    ty_aligner_t *al;
    ty__unpacker_t up;
    ty__counter_t cnt;
    TY_VEC(ty_token_t) ta, tb;
    TY_VEC(uint64_t) ha, hb;
    wintab_t win;
} work_t;

/* One document of the batch. */
typedef struct {
    uint32_t g; /* its number */
    char *text; /* a copy (NULL for an empty text) */
    size_t len;
    ty_doc_t *doc; /* tokenized (step A) */
    ty__mzs_t mzs;
    ty__candvec_t cands; /* step A: the best max_candidates among the documents before the batch */
    spanvec_t rm;        /* step A: the passages their alignments found */
    int rc;              /* step A failed: TY_SPANS_ERROR for a document that could not be read
                          * (loaded 0), else the error that stops the run */
    int loaded;
    char msg[TY_ERRMSG_SIZE];
} slot_t;

struct ty_spans {
    ty_spans_opts_t o;
    ty__rules_t R; /* sketch parameters and tokenizer options, as dedup's spun mode */
    ty_spans_event_fn fn;
    void *user;
    TY_VEC(srec_t) docs;
    ty__mztab_t idx;  /* kept minimizers of the documents before the batch */
    ty__mztab_t bidx; /* ...and of the batch's documents processed so far (step B) */
    work_t *work;     /* o.threads of them */
    slot_t *slots;    /* o.batch */
    size_t nslots, batch_bytes;
    ZSTD_CCtx *cctx;
    char *cbuf;
    size_t ccap;
    ty__candvec_t cands; /* step B: the merged candidates */
    spanvec_t rm, keep;
    TY_VEC(uint8_t) cut;
    TY_VEC(ty_seed_t) sd;
    TY_VEC(uint64_t) kmz;     /* the kept distinct minimizers of the batch's documents, in order */
    TY_VEC(size_t) kmz_at;    /* per slot: its first in kmz; kmz_at[nslots] = kmz.n */
    TY_VEC(char) kept, store; /* the kept text (events); the text stored (index_kept) */
    int rank, nranks;         /* ranks sharing the alignments (spans.h), 1 alone */
    ty__spans_share_fn share;
    void *share_ctx;
    int failed;
    size_t frequent; /* minimizers past max_df */
    ty_spans_stats_t st;
    char err[TY_ERRMSG_SIZE];
};

#define F(field, kind, lo, hi, def) TY__OPTF(ty_spans_opts_t, field, NULL, kind, lo, hi, def)
static const ty__optfield_t spans_fields[] = {
    F(k, TY__OPT_INT, 2, 16, 5),
    F(w, TY__OPT_INT, 1, 256, 4),
    F(max_df, TY__OPT_UINT, 1, 4294967295.0, 64),
    F(min_shared, TY__OPT_UINT, 1, 4294967295.0, 3),
    F(max_candidates, TY__OPT_INT, 1, 100000, 8),
    F(threads, TY__OPT_INT, 1, 1024, 1),
    F(batch, TY__OPT_INT, 1, 65536, 512),
};
#undef F

void ty_spans_opts_init(ty_spans_opts_t *o)
{
    ty__opts_reset(o, sizeof *o, TY__ROWS(spans_fields));
}

int ty_spans_opts_check(const ty_spans_opts_t *o, char *msg, size_t msg_size)
{
    if (!o) /* no rows read: "no options", not the first range a zeroed struct would break */
        return ty__opts_verdict(NULL, (ty__optrows_t){NULL, 0}, "no options", NULL, msg, msg_size);
    return ty__opts_verdict(o, TY__ROWS(spans_fields), NULL, NULL, msg, msg_size);
}

static void work_free(work_t *w)
{
    ty_doc_free(w->cand);
    ty_aligner_free(w->al);
    ty__unpacker_free(&w->up);
    ty__counter_free(&w->cnt);
    TY_FREE(w->ta.a, w->tb.a, w->ha.a, w->hb.a);
    wintab_free(&w->win);
}

static void slot_free(slot_t *s)
{
    free(s->text);
    ty_doc_free(s->doc);
    ty__mzs_free(&s->mzs);
    free(s->cands.a);
    free(s->rm.a);
}

ty_spans_t *ty_spans_new(const ty_spans_opts_t *o, const ty_opts_t *to, ty_spans_event_fn fn,
                         void *user)
{
    if (ty_spans_opts_check(o, NULL, 0) || !to || ty_opts_check(to, NULL, 0))
        return NULL;
    ty_spans_t *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return NULL;
    sp->o = *o;
    ty_dedup_opts_t d;
    ty_dedup_opts_init(&d);
    d.mode = TY_DEDUP_SPUN;
    d.k = o->k;
    d.w = o->w;
    d.max_df = o->max_df;
    sp->fn = fn;
    sp->user = user;
    sp->nranks = 1;
    ty__mztab_init(&sp->idx);
    ty__mztab_init(&sp->bidx);
    int ok = !ty__rules_init(&sp->R, &d, to) && (sp->cctx = ZSTD_createCCtx()) &&
             (sp->work = calloc((size_t)o->threads, sizeof(work_t))) &&
             (sp->slots = calloc((size_t)o->batch, sizeof(slot_t)));
    for (int t = 0; ok && t < o->threads; t++) {
        work_t *w = &sp->work[t];
        ok = (w->cand = ty_doc_new()) && (w->al = ty_aligner_new(to)) &&
             ty__unpacker_init(&w->up) == TY_OK;
    }
    for (size_t i = 0; ok && i < (size_t)o->batch; i++)
        ok = (sp->slots[i].doc = ty_doc_new()) != NULL;
    return ok ? sp : (ty_spans_free(sp), NULL); /* a part missing: what was made goes */
}

void ty_spans_free(ty_spans_t *sp)
{
    if (!sp)
        return;
    for (size_t i = 0; i < sp->docs.n; i++) {
        free(sp->docs.a[i].name);
        free(sp->docs.a[i].ctext);
    }
    free(sp->docs.a);
    ty__mztab_free(&sp->idx);
    ty__mztab_free(&sp->bidx);
    if (sp->work)
        for (int t = 0; t < sp->o.threads; t++)
            work_free(&sp->work[t]);
    free(sp->work);
    if (sp->slots)
        for (size_t i = 0; i < (size_t)sp->o.batch; i++)
            slot_free(&sp->slots[i]);
    free(sp->slots);
    ZSTD_freeCCtx(sp->cctx);
    TY_FREE(sp->cbuf, sp->cands.a, sp->rm.a, sp->keep.a, sp->cut.a, sp->sd.a, sp->kmz.a,
            sp->kmz_at.a, sp->kept.a, sp->store.a);
    ty__rules_free(&sp->R);
    free(sp);
}

const char *ty_spans_errmsg(const ty_spans_t *sp) { return sp ? sp->err : "no spans handle"; }

const char *ty_spans_name(const ty_spans_t *sp, size_t i)
{
    return sp && i < sp->docs.n ? sp->docs.a[i].name : NULL;
}

/* ---- exact mode: runs of at least n tokens with equal original bytes ------------------- */

static int get_tokens(const ty_doc_t *d, void *vec)
{
    TY_VEC(ty_token_t) *v = vec;
    size_t n = ty_doc_ntokens(d);
    if (ty_vec_reserve(*v, n + 1))
        return TY_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ty_doc_token(d, i, &v->a[i]);
    v->n = n;
    return TY_OK;
}

/* Hashes of every window of n token ids (rolling, base B mod 2^64) into h. */
static int window_hashes(const ty_token_t *t, size_t nt, size_t n, void *vec)
{
    TY_VEC(uint64_t) *h = vec;
    h->n = 0;
    if (nt < n)
        return TY_OK;
    if (ty_vec_reserve(*h, nt - n + 1))
        return TY_ENOMEM;
    const uint64_t B = 0x100000001B3ULL;
    uint64_t pw = 1, x = 0;
    for (size_t i = 0; i < n; i++) {
        x = x * B + ty__mix64(t[i].id + 1ULL);
        if (i)
            pw *= B;
    }
    h->a[0] = x;
    for (size_t i = n; i < nt; i++) {
        x = (x - ty__mix64(t[i - n].id + 1ULL) * pw) * B + ty__mix64(t[i].id + 1ULL);
        h->a[i - n + 1] = x;
    }
    h->n = nt - n + 1;
    return TY_OK;
}

/* Whether window i of a (n tokens) and window j of b have the same original text. */
static int same_bytes(const char *sa, const ty_token_t *ta, size_t i, const char *sb,
                      const ty_token_t *tb, size_t j, size_t n)
{
    size_t a0 = ta[i].byte_off, a1 = ta[i + n - 1].byte_off + ta[i + n - 1].byte_len;
    size_t b0 = tb[j].byte_off, b1 = tb[j + n - 1].byte_off + tb[j + n - 1].byte_len;
    /* equal bytes but for ASCII whitespace: a copied passage whose line breaks moved (its
     * sentences joined or split into paragraphs) is still an exact repeat */
    for (;;) {
        while (a0 < a1 && (sa[a0] == ' ' || sa[a0] == '\n' || sa[a0] == '\r' || sa[a0] == '\t'))
            a0++;
        while (b0 < b1 && (sb[b0] == ' ' || sb[b0] == '\n' || sb[b0] == '\r' || sb[b0] == '\t'))
            b0++;
        if (a0 == a1 || b0 == b1)
            return a0 == a1 && b0 == b1;
        if (sa[a0++] != sb[b0++])
            return 0;
    }
}

/* The exact runs of doc (the suspect) in w->cand (document src) into rm. */
static int exact_runs(const ty_spans_t *sp, work_t *w, const ty_doc_t *doc, uint32_t src,
                      spanvec_t *rm)
{
    size_t n = (size_t)sp->R.to.min_len;
    if (n < 1)
        n = 1;
    if (get_tokens(w->cand, &w->ta) || get_tokens(doc, &w->tb) ||
        window_hashes(w->ta.a, w->ta.n, n, &w->ha) || window_hashes(w->tb.a, w->tb.n, n, &w->hb))
        return TY_ENOMEM;
    size_t na = w->ha.n, nb = w->hb.n;
    if (!na || !nb)
        return TY_OK;
    /* the source's windows by hash: the first position of each */
    if (wintab_reset(&w->win, na))
        return TY_ENOMEM;
    for (size_t q = 0; q < na; q++) {
        int isnew;
        wintab_put(&w->win, w->ha.a, w->ha.a[q], q, &isnew); /* no growing: room for na */
    }
    size_t len_a, len_b;
    const char *sa = ty_doc_text(w->cand, &len_a), *sb = ty_doc_text(doc, &len_b);
    const ty_token_t *ta = w->ta.a, *tb = w->tb.a;
    size_t run_i = SIZE_MAX, run_q = 0, last_i = 0, last_q = 0;
    for (size_t i = 0; i <= nb; i++) {
        size_t q = SIZE_MAX;
        if (i < nb) {
            /* continue the diagonal first, else the first window of the same hash */
            if (run_i != SIZE_MAX && last_i + 1 == i && last_q + 1 < na &&
                w->ha.a[last_q + 1] == w->hb.a[i] && same_bytes(sa, ta, last_q + 1, sb, tb, i, n))
                q = last_q + 1;
            if (q == SIZE_MAX) {
                size_t f = wintab_get(&w->win, w->ha.a, w->hb.a[i]);
                if (f != SIZE_MAX && same_bytes(sa, ta, f, sb, tb, i, n))
                    q = f;
            }
        }
        int extends = q != SIZE_MAX && run_i != SIZE_MAX && last_i + 1 == i && last_q + 1 == q;
        if (run_i != SIZE_MAX && !extends) { /* close the run */
            const ty_token_t *b0 = &tb[run_i], *b1 = &tb[last_i + n - 1];
            const ty_token_t *a0 = &ta[run_q], *a1 = &ta[last_q + n - 1];
            ty_span_t s = {b0->cp_off,
                           b1->cp_off + b1->cp_len - b0->cp_off,
                           b0->byte_off,
                           b1->byte_off + b1->byte_len - b0->byte_off,
                           src,
                           a0->cp_off,
                           a1->cp_off + a1->cp_len - a0->cp_off,
                           1.0};
            if (ty_vec_push(*rm, s))
                return TY_ENOMEM;
            run_i = SIZE_MAX;
        }
        if (q != SIZE_MAX) {
            if (run_i == SIZE_MAX) {
                run_i = i;
                run_q = q;
            }
            last_i = i;
            last_q = q;
        }
    }
    return TY_OK;
}

/* ---- one document ------------------------------------------------------------------------ */

static int cmp_span(const void *x, const void *y)
{
    const ty_span_t *a = x, *b = y;
    if (a->sus_off != b->sus_off)
        return a->sus_off < b->sus_off ? -1 : 1;
    if (a->sus_len != b->sus_len)
        return a->sus_len > b->sus_len ? -1 : 1; /* the longer first */
    if (a->src != b->src)
        return a->src < b->src ? -1 : 1;
    return a->src_off < b->src_off ? -1 : a->src_off > b->src_off;
}

/* Count, for document m, the minimizers it shares with the documents of the main index (main
 * 1: those not boilerplate there; main 2: those not boilerplate in both indexes together) and
 * of the batch index (batch 1: those not boilerplate in both together), and take the
 * documents sharing at least min_shared into out: the best max_candidates, sorted (more
 * shared first, then earlier). Step A counts main 1 alone; step B the batch (and main 2, when
 * a minimizer became boilerplate through the batch). TY_ENOMEM. */
static int count_candidates(const ty_spans_t *sp, const ty__mzs_t *m, int main_idx, int batch,
                            ty__counter_t *cnt, ty__candvec_t *out)
{
    for (size_t i = 0; i < m->nmz; i++) {
        const ty__kv_t *f = batch ? ty__map_find(&sp->bidx.map, m->mz[i]) : NULL;
        if (!main_idx && !f)
            continue;
        const ty__kv_t *e = ty__map_find(&sp->idx.map, m->mz[i]);
        uint64_t df = (e ? e->val : 0) + (f ? f->val : 0);
        if (ty__boiler(&sp->R, main_idx == 1 ? (e ? e->val : 0) : df))
            continue;
        uint32_t one, n;
        if (main_idx && e) {
            const uint32_t *d = ty__mztab_docs(&sp->idx, e, &one, &n);
            for (uint32_t x = 0; x < n; x++)
                if (ty__count(cnt, d[x], m->mzpos[i]))
                    return TY_ENOMEM;
        }
        if (batch && f) {
            const uint32_t *d = ty__mztab_docs(&sp->bidx, f, &one, &n);
            for (uint32_t x = 0; x < n; x++)
                if (ty__count(cnt, d[x], m->mzpos[i]))
                    return TY_ENOMEM;
        }
    }
    out->n = 0;
    uint32_t ms = sp->o.exact ? 1 : sp->o.min_shared;
    if (ty__counter_take(cnt, ms, out))
        return TY_ENOMEM;
    ty__cands_sort(out->a, out->n);
    if (out->n > (size_t)sp->o.max_candidates)
        out->n = (size_t)sp->o.max_candidates;
    return TY_OK;
}

/* Whether a minimizer of m became boilerplate through the batch's documents (step A's counts
 * no longer hold). */
static int crossed(const ty_spans_t *sp, const ty__mzs_t *m)
{
    if (!sp->bidx.map.n)
        return 0;
    for (size_t i = 0; i < m->nmz; i++) {
        const ty__kv_t *f = ty__map_find(&sp->bidx.map, m->mz[i]);
        if (!f)
            continue;
        const ty__kv_t *e = ty__map_find(&sp->idx.map, m->mz[i]);
        uint64_t df = e ? e->val : 0;
        if (!ty__boiler(&sp->R, df) && ty__boiler(&sp->R, df + f->val))
            return 1;
    }
    return 0;
}

/* ---- passage ends ------------------------------------------------------------------------
 * ty_compare() bounds a passage by its first and last exact run (of k tokens at least). In a
 * spun copy a third to a half of the words changed: the last run that survived may end well
 * before the copy does (up to a few dozen characters), and for a cleaner those ends are
 * copied text left in the corpus. So each end is extended as BLAST extends a hit: a gapped
 * alignment of the tokens after (before) the passage in both texts, scored +2 a token equal,
 * -1 a token changed, -2 a token inserted or deleted, in a band of EXT_BAND tokens, given up
 * where it falls EXT_XDROP below the best score seen; the passage ends where the score was
 * best. The score climbs wherever more than a third of the tokens are unchanged: a spun
 * copy keeps half or more of its words, though a stretch of a sentence may keep less (an
 * end that kept 8 of 21 characters was left behind at +1/-1). Unrelated text matches by
 * chance only (two Han characters are equal about once in a hundred or more, a common word
 * here and there) and falls off within a few tokens, so an end moves only over text that
 * does align. Then the punctuation right after the passage (up to the next token or white
 * space) goes with it: a copied sentence's full stop is not left behind as a line of its
 * own. */
#define EXT_MAX 256 /* tokens looked at past each end */
#define EXT_BAND 8
#define EXT_MATCH 2
#define EXT_XDROP 12
#define EXT_GAP 2
#define EXT_NEG (-(1 << 28))

/* The best-scoring pair of prefixes (*lx tokens of x, *ly of y), by X-drop. */
static void xdrop(const uint32_t *x, size_t nx, const uint32_t *y, size_t ny, size_t *lx,
                  size_t *ly)
{
    int row[2][2 * EXT_BAND + 1]; /* cell j of row i: column i - EXT_BAND + j */
    int best = 0;
    *lx = *ly = 0;
    for (int j = 0; j <= 2 * EXT_BAND; j++) {
        int col = j - EXT_BAND;
        row[0][j] = col < 0 || (size_t)col > ny ? EXT_NEG : -EXT_GAP * col;
    }
    for (size_t i = 1; i <= nx; i++) {
        int *pr = row[(i - 1) & 1], *cr = row[i & 1], alive = 0;
        for (int j = 0; j <= 2 * EXT_BAND; j++) {
            long col = (long)i - EXT_BAND + j;
            int h = EXT_NEG;
            if (col == 0) {
                h = -EXT_GAP * (int)i;
            } else if (col > 0 && (size_t)col <= ny) {
                if (pr[j] > EXT_NEG) /* diagonal: (i-1, col-1) is cell j of the row above */
                    h = pr[j] + (x[i - 1] == y[col - 1] ? EXT_MATCH : -1);
                if (j + 1 <= 2 * EXT_BAND && pr[j + 1] > EXT_NEG && pr[j + 1] - EXT_GAP > h)
                    h = pr[j + 1] - EXT_GAP; /* (i-1, col): x[i-1] against nothing */
                if (j > 0 && cr[j - 1] > EXT_NEG && cr[j - 1] - EXT_GAP > h)
                    h = cr[j - 1] - EXT_GAP; /* (i, col-1): y[col-1] against nothing */
            }
            if (h < best - EXT_XDROP)
                h = EXT_NEG;
            if (h > EXT_NEG)
                alive = 1;
            if (h > best) {
                best = h;
                *lx = i;
                *ly = (size_t)col;
            }
            cr[j] = h;
        }
        if (!alive)
            break;
    }
}

/* Token ids of d from token i on (dir 1) or before it backwards (dir -1), at most EXT_MAX. */
static size_t ext_ids(const ty_doc_t *d, size_t i, int dir, uint32_t *out)
{
    size_t n = 0, nt = ty_doc_ntokens(d);
    ty_token_t t;
    while (n < EXT_MAX && (dir > 0 ? i + n < nt : n < i)) {
        ty_doc_token(d, dir > 0 ? i + n : i - 1 - n, &t);
        out[n++] = t.id;
    }
    return n;
}

/* Extend passage p (source a, suspect b) at both ends into span *s. */
static void extend_ends(const ty_doc_t *a, const ty_doc_t *b, const ty_passage_t *p, ty_span_t *s)
{
    uint32_t x[EXT_MAX], y[EXT_MAX];
    size_t lx, ly, nx, ny;
    size_t sb = p->src_tok_beg, se = p->src_tok_end, qb = p->sus_tok_beg, qe = p->sus_tok_end;
    nx = ext_ids(a, se, 1, x);
    ny = ext_ids(b, qe, 1, y);
    xdrop(x, nx, y, ny, &lx, &ly);
    se += lx;
    qe += ly;
    nx = ext_ids(a, sb, -1, x);
    ny = ext_ids(b, qb, -1, y);
    xdrop(x, nx, y, ny, &lx, &ly);
    sb -= lx;
    qb -= ly;
    ty_token_t t0, t1;
    if (qb < p->sus_tok_beg || qe > p->sus_tok_end) {
        ty_doc_token(b, qb, &t0);
        ty_doc_token(b, qe - 1, &t1);
        size_t e = s->sus_off + s->sus_len, be = s->sus_byte_off + s->sus_byte_len;
        if (t1.cp_off + t1.cp_len > e)
            e = t1.cp_off + t1.cp_len;
        if (t1.byte_off + t1.byte_len > be)
            be = t1.byte_off + t1.byte_len;
        if (t0.cp_off < s->sus_off)
            s->sus_off = t0.cp_off;
        if (t0.byte_off < s->sus_byte_off)
            s->sus_byte_off = t0.byte_off;
        s->sus_len = e - s->sus_off;
        s->sus_byte_len = be - s->sus_byte_off;
    }
    /* the punctuation after the end, up to the next token or white space */
    size_t len, be = s->sus_byte_off + s->sus_byte_len, lim;
    const char *text = ty_doc_text(b, &len);
    lim = len;
    if (qe < ty_doc_ntokens(b)) {
        ty_doc_token(b, qe, &t0);
        lim = t0.byte_off;
    }
    while (be < lim && !strchr(" \t\r\n\f\v", text[be]) && text[be]) {
        if (((unsigned char)text[be] & 0xC0) != 0x80)
            s->sus_len++;
        be++;
    }
    while (be < lim && ((unsigned char)text[be] & 0xC0) == 0x80) /* never inside a character */
        be++;
    s->sus_byte_len = be - s->sus_byte_off;
    if (sb < p->src_tok_beg || se > p->src_tok_end) {
        ty_doc_token(a, sb, &t0);
        ty_doc_token(a, se - 1, &t1);
        size_t e = s->src_off + s->src_len;
        if (t1.cp_off + t1.cp_len > e)
            e = t1.cp_off + t1.cp_len;
        if (t0.cp_off < s->src_off)
            s->src_off = t0.cp_off;
        s->src_len = e - s->src_off;
    }
}

/* Align document c (earlier, its stored text) against doc with w's scratch; the passages go
 * to rm. An error's message goes to msg. */
static int align_candidate(const ty_spans_t *sp, work_t *w, const ty_doc_t *doc, uint32_t c,
                           spanvec_t *rm, char *msg)
{
    const srec_t *r = &sp->docs.a[c];
    int rc = ty__dd_unpack(&sp->R, &w->up, r->ctext, r->clen, r->len, r->name, w->cand, msg);
    if (rc)
        return rc;
    if (sp->o.exact)
        return exact_runs(sp, w, doc, c, rm);
    const ty_passage_t *ps;
    size_t nps;
    rc = ty_compare(w->al, w->cand, doc, &ps, &nps);
    if (rc) {
        snprintf(msg, TY_ERRMSG_SIZE, "%s", ty_aligner_errmsg(w->al));
        return rc;
    }
    for (size_t i = 0; i < nps; i++) {
        const ty_passage_t *p = &ps[i];
        ty_span_t s = {p->sus_off, p->sus_len, p->sus_byte_off, p->sus_byte_len,
                       c,          p->src_off, p->src_len,      p->score};
        extend_ends(w->cand, doc, p, &s);
        if (ty_vec_push(*rm, s))
            return TY_ENOMEM;
    }
    return TY_OK;
}

/* Sort the passages, drop those inside an earlier kept one, build the kept text and the
 * per-byte cut mask; *removed_cp: code points removed. */
static int settle(ty_spans_t *sp, const char *text, size_t len, size_t *removed_cp)
{
    if (sp->rm.n)
        qsort(sp->rm.a, sp->rm.n, sizeof(ty_span_t), cmp_span);
    sp->keep.n = 0;
    size_t end_cp = 0, cut_cp = 0;
    if (ty_vec_reserve(sp->cut, len + 1) || ty_vec_reserve(sp->kept, len + 1))
        return TY_ENOMEM;
    memset(sp->cut.a, 0, len + 1);
    for (size_t i = 0; i < sp->rm.n; i++) {
        const ty_span_t *s = &sp->rm.a[i];
        size_t e = s->sus_off + s->sus_len;
        if (sp->keep.n && e <= end_cp)
            continue; /* inside what is removed already */
        if (ty_vec_push(sp->keep, *s))
            return TY_ENOMEM;
        cut_cp += e - (s->sus_off > end_cp ? s->sus_off : end_cp);
        if (e > end_cp)
            end_cp = e;
        memset(sp->cut.a + s->sus_byte_off, 1, s->sus_byte_len);
    }
    sp->kept.n = 0;
    for (size_t b = 0; b < len; b++)
        if (!sp->cut.a[b])
            sp->kept.a[sp->kept.n++] = text[b];
    sp->kept.a[sp->kept.n] = 0;
    *removed_cp = cut_cp;
    return TY_OK;
}

/* Index (in the batch index, and in kmz for the main one at the batch's end) the minimizers
 * of the slot's document that start outside the removed text, and keep its text when any was
 * indexed. */
static int index_kept(ty_spans_t *sp, const slot_t *sl)
{
    const ty__mzs_t *m = &sl->mzs;
    uint32_t g = sl->g;
    const char *text = sl->text ? sl->text : "";
    size_t len = sl->len;
    sp->sd.n = 0;
    if (ty_vec_reserve(sp->sd, m->nseeds + 1))
        return TY_ENOMEM;
    for (size_t i = 0; i < m->nseeds; i++) {
        ty_token_t t;
        ty_doc_token(sl->doc, m->seeds[i].pos, &t);
        if (!sp->cut.a[t.byte_off])
            sp->sd.a[sp->sd.n++] = (ty_seed_t){ty__fix_key(m->seeds[i].hash), m->seeds[i].pos};
    }
    if (!sp->sd.n)
        return TY_OK;
    qsort(sp->sd.a, sp->sd.n, sizeof(ty_seed_t), cmp_seed);
    size_t dummy = 0;
    for (size_t i = 0; i < sp->sd.n; i++)
        if ((!i || sp->sd.a[i].hash != sp->sd.a[i - 1].hash) &&
            (ty__mztab_add(&sp->bidx, sp->sd.a[i].hash, g, 0, TY__NONE - 1, &dummy) ||
             ty_vec_push(sp->kmz, sp->sd.a[i].hash)))
            return TY_ENOMEM;
    /* The stored text has each removed code point replaced by 'x': code point offsets stay
     * those of the original, but a later document aligned against it cannot match the removed
     * copies — else a passage this document copied (say a popular one) would chain with a
     * passage a later document copied from this one and carry the unique text between them
     * off with it. */
    if (ty_vec_reserve(sp->store, len + 1))
        return TY_ENOMEM;
    size_t n = 0;
    for (size_t b = 0; b < len;) {
        size_t e = b + 1;
        while (e < len && ((unsigned char)text[e] & 0xC0) == 0x80)
            e++;
        if (sp->cut.a[b]) {
            sp->store.a[n++] = 'x';
        } else {
            memcpy(sp->store.a + n, text + b, e - b);
            n += e - b;
        }
        b = e;
    }
    size_t bound = ZSTD_compressBound(n);
    if (sp->ccap < bound) {
        char *p = realloc(sp->cbuf, bound);
        if (!p)
            return TY_ENOMEM;
        sp->cbuf = p;
        sp->ccap = bound;
    }
    size_t cl = ty__dd_pack(sp->cctx, sp->store.a, n, sp->cbuf, bound);
    srec_t *r = &sp->docs.a[g];
    if (!cl || !(r->ctext = malloc(cl)))
        return TY_ENOMEM;
    memcpy(r->ctext, sp->cbuf, cl);
    r->clen = (uint32_t)cl;
    r->len = (uint32_t)n;
    sp->st.mem_bytes += cl;
    return TY_OK;
}

/* ---- step A: one document of the batch, on any thread -------------------------------------- */

static void step_a(void *data, size_t i, int tid)
{
    ty_spans_t *sp = data;
    slot_t *sl = &sp->slots[i];
    work_t *w = &sp->work[tid];
    const srec_t *r = &sp->docs.a[sl->g];
    sl->rm.n = 0;
    sl->cands.n = 0;
    sl->loaded = 0;
    int rc = ty__dd_too_big(&sp->R, r->name, sl->len, sl->msg);
    if (!rc) {
        rc = ty_doc_load_mem(sl->doc, r->name, sl->text ? sl->text : "", sl->len, &sp->R.to);
        if (rc)
            snprintf(sl->msg, sizeof sl->msg, "%s", ty_doc_errmsg(sl->doc));
    }
    if (rc) {
        sl->rc = rc;
        return;
    }
    sl->loaded = 1;
    rc = ty__spun_sketch(&sp->R, sl->doc, &sl->mzs);
    if (!rc && !ty__spans_mine(sp, i))
        return; /* another rank's: its results come by share() */
    if (!rc)
        rc = count_candidates(sp, &sl->mzs, 1, 0, &w->cnt, &sl->cands);
    if (rc) {
        ty__err(sl->msg, rc, "%s: minimizers: %s", r->name, ty_strerror(rc));
        sl->rc = rc;
        return;
    }
    for (size_t c = 0; c < sl->cands.n && !rc; c++)
        rc = align_candidate(sp, w, sl->doc, sl->cands.a[c].doc, &sl->rm, sl->msg);
    if (rc == TY_ENOMEM)
        ty__err(sl->msg, rc, "%s: aligning: %s", r->name, ty_strerror(rc));
    sl->rc = rc;
}

/* ---- step B: the batch's documents in input order, on the calling thread ------------------ */

static int stop(ty_spans_t *sp, int rc, const char *msg)
{
    snprintf(sp->err, sizeof sp->err, "%s", msg);
    sp->failed = rc;
    return rc;
}

static int in_cands(const ty__candvec_t *v, size_t c)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->a[i].doc == c)
            return 1;
    return 0;
}

static int step_b(ty_spans_t *sp, size_t i)
{
    slot_t *sl = &sp->slots[i];
    work_t *w = &sp->work[0];
    const char *text = sl->text ? sl->text : "";
    char msg[TY_ERRMSG_SIZE];
    if (!sl->loaded) { /* could not be read: skipped, or the caller stops */
        sp->st.errors++;
        ty_spans_event_t ev = {TY_SPANS_ERROR, sl->g, text, NULL, sl->len, 0,
                               NULL,           0,     0,    0,    sl->rc,  sl->msg};
        if (sp->fn && sp->fn(sp->user, &ev))
            return stop(sp, sl->rc, sl->msg);
        return TY_OK;
    }
    if (sl->rc)
        return stop(sp, sl->rc, sl->msg);
    srec_t *r = &sp->docs.a[sl->g];
    r->len = (uint32_t)sl->len;
    r->ntok = (uint32_t)ty_doc_ntokens(sl->doc);
    /* the candidates of the one-by-one order: step A's merged with the batch's, or counted
     * anew when the batch made one of this document's minimizers boilerplate */
    int again = crossed(sp, &sl->mzs);
    int rc = count_candidates(sp, &sl->mzs, again ? 2 : 0, 1, &w->cnt, &sp->cands);
    if (rc)
        return stop(sp, rc, "counting shared minimizers: out of memory");
    if (!again) {
        for (size_t c = 0; c < sl->cands.n; c++)
            if (ty_vec_push(sp->cands, sl->cands.a[c]))
                return stop(sp, TY_ENOMEM, "counting shared minimizers: out of memory");
        ty__cands_sort(sp->cands.a, sp->cands.n);
        if (sp->cands.n > (size_t)sp->o.max_candidates)
            sp->cands.n = (size_t)sp->o.max_candidates;
    }
    sp->rm.n = 0;
    for (size_t x = 0; x < sl->rm.n; x++) /* step A's alignments of the chosen candidates */
        if (in_cands(&sp->cands, sl->rm.a[x].src) && ty_vec_push(sp->rm, sl->rm.a[x]))
            return stop(sp, TY_ENOMEM, "keeping a document: out of memory");
    for (size_t c = 0; c < sp->cands.n; c++) { /* and the others */
        uint32_t d = sp->cands.a[c].doc;
        if (in_cands(&sl->cands, d))
            continue;
        rc = align_candidate(sp, w, sl->doc, d, &sp->rm, msg);
        if (rc) {
            if (rc == TY_ENOMEM)
                ty__err(msg, rc, "%s: aligning: %s", r->name, ty_strerror(rc));
            return stop(sp, rc, msg);
        }
    }
    sp->st.candidates += sp->cands.n;
    size_t removed_cp = 0;
    if (settle(sp, text, sl->len, &removed_cp) || index_kept(sp, sl))
        return stop(sp, TY_ENOMEM, "keeping a document: out of memory");
    size_t ncp = ty_doc_ncodepoints(sl->doc);
    sp->st.cp += ncp;
    sp->st.removed_cp += removed_cp;
    if (sp->keep.n)
        sp->st.changed++;
    if (sp->fn) {
        ty_spans_event_t ev = {TY_SPANS_DOC, sl->g,      text, sp->kept.a, sl->len, sp->kept.n,
                               sp->keep.a,   sp->keep.n, ncp,  removed_cp, 0,       NULL};
        if (sp->fn(sp->user, &ev))
            return stop(sp, TY_EINVAL, "stopped by the caller");
    }
    return TY_OK;
}

/* Process the queued batch: step A on the threads, step B in order, then the batch's kept
 * minimizers into the main index, in input order. */
static int run_batch(ty_spans_t *sp)
{
    size_t n = sp->nslots;
    sp->nslots = 0;
    sp->batch_bytes = 0;
    char msg[TY_ERRMSG_SIZE];
    if (sp->failed) { /* the ranks sharing the work learn it (once: then they stop too) */
        if (sp->share) {
            sp->share(sp->share_ctx, sp, 0, sp->failed, msg);
            sp->share = NULL;
        }
        return sp->failed;
    }
    if (!n && !sp->share)
        return TY_OK;
    int rc = ty__for(sp->o.threads, step_a, sp, n) ? TY_ENOMEM : TY_OK;
    if (sp->share && (rc = sp->share(sp->share_ctx, sp, n, rc, msg)) != TY_OK) {
        sp->share = NULL;
        return stop(sp, rc, msg);
    }
    if (rc)
        return stop(sp, TY_ENOMEM, "starting threads: out of memory");
    sp->kmz.n = 0;
    sp->kmz_at.n = 0;
    size_t done = 0;
    for (; done < n && !rc; done++) {
        if (ty_vec_push(sp->kmz_at, sp->kmz.n))
            rc = stop(sp, TY_ENOMEM, "keeping a document: out of memory");
        else
            rc = step_b(sp, done);
    }
    if (!rc && ty_vec_push(sp->kmz_at, sp->kmz.n))
        rc = stop(sp, TY_ENOMEM, "keeping a document: out of memory");
    if (!rc)
        for (size_t i = 0; i < n && !rc; i++)
            for (size_t k = sp->kmz_at.a[i]; k < sp->kmz_at.a[i + 1] && !rc; k++)
                if (ty__mztab_add(&sp->idx, sp->kmz.a[k], sp->slots[i].g, 0, sp->o.max_df,
                                  &sp->frequent))
                    rc = stop(sp, TY_ENOMEM, "indexing: out of memory");
    ty__map_clear(&sp->bidx.map); /* emptied, not freed: the next batch fills it as much */
    sp->bidx.pool.v.n = 0;
    for (int c = 0; c < POOL_CLASSES; c++)
        sp->bidx.pool.freel[c] = TY__NONE;
    for (size_t i = 0; i < n; i++) { /* the texts go; the documents' memory is reused */
        free(sp->slots[i].text);
        sp->slots[i].text = NULL;
    }
    return rc;
}

/* ---- sharing the alignments between ranks (spans.h) --------------------------------------- */

void ty__spans_share(ty_spans_t *sp, int rank, int nranks, ty__spans_share_fn fn, void *ctx)
{
    sp->share = nranks > 1 ? fn : NULL;
    sp->share_ctx = ctx;
    sp->rank = fn && nranks > 1 ? rank : 0;
    sp->nranks = fn && nranks > 1 ? nranks : 1;
}

int ty__spans_mine(const ty_spans_t *sp, size_t i)
{
    return (int)(i % (size_t)sp->nranks) == sp->rank;
}

/* A record: slot, rc, message length, candidates, passages; then the message, the candidates
 * and the passages (raw: every rank runs the same build on the same machine type). */
typedef struct {
    uint32_t slot;
    int32_t rc;
    uint32_t msglen, ncands, nrm;
} rec_t;

int ty__spans_pack(const ty_spans_t *sp, size_t i, ty_buf_t *b)
{
    const slot_t *sl = &sp->slots[i];
    rec_t r = {(uint32_t)i, sl->rc, sl->rc ? (uint32_t)strlen(sl->msg) : 0, (uint32_t)sl->cands.n,
               (uint32_t)sl->rm.n};
    ty_buf_put(b, (const char *)&r, sizeof r);
    ty_buf_put(b, sl->msg, r.msglen);
    ty_buf_put(b, (const char *)sl->cands.a, sl->cands.n * sizeof(ty__cand_t));
    ty_buf_put(b, (const char *)sl->rm.a, sl->rm.n * sizeof(ty_span_t));
    return b->err ? TY_ENOMEM : TY_OK;
}

size_t ty__spans_unpack(ty_spans_t *sp, const char *p, size_t n)
{
    rec_t r;
    if (n < sizeof r)
        return 0;
    memcpy(&r, p, sizeof r);
    size_t need = sizeof r + r.msglen + (size_t)r.ncands * sizeof(ty__cand_t) +
                  (size_t)r.nrm * sizeof(ty_span_t);
    if (r.slot >= (uint32_t)sp->o.batch || r.msglen >= TY_ERRMSG_SIZE || need > n)
        return 0;
    slot_t *sl = &sp->slots[r.slot];
    p += sizeof r;
    if (!sl->rc) { /* (a failure of this rank's own step A, out of memory, stays) */
        sl->rc = r.rc;
        memcpy(sl->msg, p, r.msglen);
        sl->msg[r.msglen] = 0;
    }
    p += r.msglen;
    if (ty_vec_reserve(sl->cands, r.ncands + 1) || ty_vec_reserve(sl->rm, r.nrm + 1)) {
        sl->rc = TY_ENOMEM; /* every rank stops at this document, this one out of memory */
        snprintf(sl->msg, sizeof sl->msg, "receiving alignments: out of memory");
        return need;
    }
    memcpy(sl->cands.a, p, (size_t)r.ncands * sizeof(ty__cand_t));
    sl->cands.n = r.ncands;
    p += (size_t)r.ncands * sizeof(ty__cand_t);
    memcpy(sl->rm.a, p, (size_t)r.nrm * sizeof(ty_span_t));
    sl->rm.n = r.nrm;
    return need;
}

int ty_spans_add(ty_spans_t *sp, const char *name, const char *text, size_t len)
{
    if (!sp || (!text && len))
        return TY_EINVAL;
    if (sp->failed)
        return sp->failed;
    if (sp->docs.n >= TY__NONE - 1)
        return ty__err(sp->err, TY_ETOOBIG, "more than %u documents", TY__NONE - 2);
    if (!name)
        name = "";
    if (ty_vec_reserve(sp->docs, sp->docs.n + 1))
        return stop(sp, TY_ENOMEM, "adding a document: out of memory");
    srec_t *r = &sp->docs.a[sp->docs.n];
    memset(r, 0, sizeof(*r));
    if (!(r->name = strdup(name)))
        return stop(sp, TY_ENOMEM, "adding a document: out of memory");
    slot_t *sl = &sp->slots[sp->nslots];
    sl->text = NULL;
    if (len && !(sl->text = malloc(len)))
        return stop(sp, TY_ENOMEM, "adding a document: out of memory");
    if (len)
        memcpy(sl->text, text, len);
    sl->g = (uint32_t)sp->docs.n++;
    sl->len = len;
    sl->rc = 0;
    sp->st.docs++;
    sp->st.mem_bytes += sizeof(srec_t) + strlen(name) + 1;
    sp->nslots++;
    sp->batch_bytes += len;
    if (sp->nslots == (size_t)sp->o.batch || sp->batch_bytes >= BATCH_BYTES)
        return run_batch(sp);
    return TY_OK;
}

int ty_spans_finish(ty_spans_t *sp)
{
    if (!sp)
        return TY_EINVAL;
    return run_batch(sp);
}

void ty_spans_stats(const ty_spans_t *sp, ty_spans_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (!sp)
        return;
    *st = sp->st;
    st->minimizers = sp->idx.map.n;
    st->mem_bytes = sp->st.mem_bytes + sp->idx.map.cap * sizeof(ty__kv_t) +
                    sp->idx.pool.v.m * sizeof(uint32_t) + sp->docs.m * sizeof(srec_t);
}
