/*
 * dedup.c — clustering a stream of documents into copies: exact, near (MinHash-LSH) and
 * spun (minimizer index + alignment), joined by union-find, one kept per cluster.
 *
 * Documents arrive one by one (ty_dedup_add) and are processed in batches of opts.batch:
 *
 *   A (parallel)    tokenize; exact key (XXH3-128 of the token ids); near: MinHash
 *                   signature and band keys; spun: distinct minimizers, positions kept for
 *                   the boilerplate mask, and the text compressed with zstd (an original's
 *                   text is needed again when a later document is aligned against it);
 *   D (sequential)  spun: a batch-local table of the batch's minimizers (how many batch
 *                   documents hold each, and which) and of its exact keys;
 *   B (parallel)    spun: for each document, count the minimizers it shares with every
 *                   document indexed before the batch and every earlier document of the
 *                   batch, skipping boilerplate (document frequency over max_df, counting
 *                   the indexed documents and the whole batch); align the best candidates
 *                   with ty_compare() and keep the links whose containment is high enough;
 *   C (sequential)  in input order: report errors, apply the links (union-find), near and
 *                   exact bucket look-ups, and index the documents that are not copies.
 *
 * Nothing a worker computes depends on what another worker does in the same phase, and
 * everything that changes shared state happens in C, in input order: the result does not
 * depend on the number of threads.
 *
 * Memory (see docs/dedup.md): per document about 70 bytes plus its name; near mode adds
 * 4 bytes per permutation per document and 16 bytes per band bucket; spun mode keeps the
 * compressed text of every original and about 16 bytes per distinct minimizer plus 4 per
 * posting (postings of boilerplate minimizers are dropped).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "dedup.h"

#define NONE UINT32_MAX
#define ZSTD_LEVEL 1
#define SPAN_FRAC 0.65 /* see phase_b() */

/* ---- containers ------------------------------------------------------------------------- */

/* Open-addressing map from a 64-bit hash to two 32-bit values; key 0 marks an empty slot
 * (a hash of 0 is stored as 1: for hashes of text that only merges two keys in 2^64). */
typedef struct {
    uint64_t key;
    uint32_t val, aux;
} kv_t;

typedef struct {
    kv_t *a;
    size_t cap, n; /* cap: 0 or a power of two */
    int shift;     /* 64 - log2(cap) */
} map_t;

static inline uint64_t fix_key(uint64_t k) { return k ? k : 1; }

static kv_t *map_find(const map_t *m, uint64_t key)
{
    if (!m->n)
        return NULL;
    key = fix_key(key);
    size_t mask = m->cap - 1, s = (size_t)(ty__mix64(key) >> m->shift);
    while (m->a[s].key) {
        if (m->a[s].key == key)
            return &m->a[s];
        s = (s + 1) & mask;
    }
    return NULL;
}

static int map_grow(map_t *m)
{
    size_t nc = m->cap ? m->cap * 2 : 1024;
    int shift = 64;
    for (size_t c = nc; c > 1; c >>= 1)
        shift--;
    kv_t *na = calloc(nc, sizeof(kv_t));
    if (!na)
        return TY_ENOMEM;
    size_t mask = nc - 1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->a[i].key)
            continue;
        size_t s = (size_t)(ty__mix64(m->a[i].key) >> shift);
        while (na[s].key)
            s = (s + 1) & mask;
        na[s] = m->a[i];
    }
    free(m->a);
    m->a = na;
    m->cap = nc;
    m->shift = shift;
    return TY_OK;
}

/* The slot of key, inserted (zero values, *isnew = 1) if absent; NULL when out of memory.
 * The pointer is valid until the next map_put. */
static kv_t *map_put(map_t *m, uint64_t key, int *isnew)
{
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
        return NULL;
    key = fix_key(key);
    size_t mask = m->cap - 1, s = (size_t)(ty__mix64(key) >> m->shift);
    while (m->a[s].key) {
        if (m->a[s].key == key) {
            *isnew = 0;
            return &m->a[s];
        }
        s = (s + 1) & mask;
    }
    m->a[s].key = key;
    m->a[s].val = m->a[s].aux = 0;
    m->n++;
    *isnew = 1;
    return &m->a[s];
}

static void map_clear(map_t *m)
{
    if (m->n)
        memset(m->a, 0, m->cap * sizeof(kv_t));
    m->n = 0;
}

/* Append-only storage in chunks that never move: names and compressed texts. */
typedef struct {
    TY_VEC(char *) chunks;
    size_t used, cap, chunk_size, bytes;
} arena_t;

static char *arena_put(arena_t *a, const void *p, size_t n, int nul)
{
    size_t need = n + (nul ? 1 : 0);
    if (!a->chunks.n || a->cap - a->used < need) {
        size_t cs = need > a->chunk_size ? need : a->chunk_size;
        char *c = malloc(cs);
        if (!c)
            return NULL;
        if (ty_vec_push(a->chunks, c)) {
            free(c);
            return NULL;
        }
        a->used = 0;
        a->cap = cs;
        a->bytes += cs;
    }
    char *dst = a->chunks.a[a->chunks.n - 1] + a->used;
    if (n)
        memcpy(dst, p, n);
    if (nul)
        dst[n] = 0;
    a->used += need;
    return dst;
}

static void arena_free(arena_t *a)
{
    for (size_t i = 0; i < a->chunks.n; i++)
        free(a->chunks.a[i]);
    free(a->chunks.a);
    memset(a, 0, sizeof(*a));
}

/* ---- the handle ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;   /* in the names arena */
    const char *ctext;  /* spun, indexed: zstd frame of the text, in the text arena */
    uint64_t ex_hi;     /* upper half of the exact key (the lower half is the map key) */
    uint32_t clen, len; /* compressed and original bytes of the text */
    uint32_t ntok;      /* tokens */
    uint32_t nmz;       /* spun: distinct minimizers; near: distinct shingles */
    uint8_t indexed;
} drec_t;

typedef struct {
    uint32_t other;
    float sim, cont;
    ty_passage_t *ps; /* evidence (opts.evidence), malloc()ed */
    uint32_t nps;
} link_t;

typedef struct {
    size_t text_off, len; /* in the batch text buffer */
    ty_doc_t *doc;        /* spun: kept for the batch (in-batch candidates are aligned) */
    int err;
    char *msg;
    uint64_t ex_lo, ex_hi;
    uint32_t ntok, ncp, nmz, nsh;
    uint32_t ex_first; /* spun: earlier batch document with the same exact key */
    uint64_t *mz;      /* spun: distinct minimizer hashes, sorted */
    uint32_t *mzpos;   /* spun: first position of each */
    size_t mz_cap;
    ty_seed_t *seeds; /* spun: minimizers in position order (boilerplate mask) */
    size_t nseeds;
    char *ctext; /* spun: compressed text */
    size_t clen, ccap;
    TY_VEC(link_t) links;
} bdoc_t;

typedef struct {
    uint32_t doc, cnt;
    uint32_t lo, hi; /* first and last position in the new document of a shared minimizer */
} cand_t;

/* Per-thread scratch, kept across batches. */
typedef struct {
    ty_aligner_t *al;
    ty_doc_t *doc; /* exact/near: the document; spun: a stored candidate */
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    TY_VEC(char) tbuf;
    near_buf_t nb; /* near: shingles */
    uint32_t *sig; /* padded signature */
    cand_t *cnt;   /* candidate counts, open addressing on doc + 1 (0: empty) */
    size_t cnt_cap;
    TY_VEC(uint32_t) touched;
    TY_VEC(cand_t) cands;
    TY_VEC(uint8_t) mask_a, mask_b, cov_a, cov_b;
    ty_seed_t *seeds; /* of the stored candidate */
    size_t nseeds;
    TY_VEC(const kv_t *) gp, bp; /* per distinct minimizer of the document: its slots */
    TY_VEC(uint32_t) df;         /* ...and its document frequency */
    TY_VEC(size_t) gs, bs;       /* scratch: home slots */
    size_t candidates;           /* stats */
    int rc;
    char err[TY_ERRMSG_SIZE];
} worker_t;

struct ty_dedup {
    ty_dedup_opts_t o;
    ty_opts_t to;
    ty_dedup_event_fn fn;
    void *user;
    int perms, np8;    /* near: bands x rows, rounded up to 8 */
    uint32_t *pa, *pb; /* near: permutations (np8) */
    TY_VEC(drec_t) docs;
    arena_t names, texts;
    TY_VEC(uint32_t) sigs; /* near: perms per document */
    map_t ex;              /* exact key (lower half) -> first document */
    map_t bands;           /* near: band key -> first document */
    map_t gmz;             /* spun: minimizer -> df (val), document or postings (aux) */
    pool_t pool;
    /* the batch being filled / processed */
    bdoc_t *batch;
    size_t nb, base;
    TY_VEC(char) btext;
    uint64_t *bkeys;      /* near: bands per batch document */
    map_t bmz;            /* spun: minimizer -> batch df (val), its documents (aux: offset
                           * of bdf batch documents, in input order, in occ) */
    map_t bex;            /* spun: exact key -> first batch document */
    TY_VEC(uint32_t) occ; /* batch documents of each batch minimizer */
    worker_t *wk;
    int nwk;
    atomic_size_t next;
    int phase;
    /* results */
    int finished, failed;
    ty__clusters_t clu; /* per document: union-find, best link; keepers after finish */
    ty_dedup_stats_t st;
    char err[TY_ERRMSG_SIZE];
};

void ty_dedup_opts_init(ty_dedup_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = TY_DEDUP_SPUN;
    o->keep = TY_KEEP_FIRST;
    o->threads = 1;
    o->batch = 4096;
    o->ngram = 5;
    o->bands = 16;
    o->rows = 8;
    o->seed = 1;
    o->k = 5;
    o->w = 8;
    o->max_df = 32;
    o->min_shared = 3;
    o->min_shared_frac = 0.1;
    o->max_candidates = 8;
    o->min_containment = 0.6;
}

int ty_dedup_opts_check(const ty_dedup_opts_t *o, char *msg, size_t msg_size)
{
    const char *bad = NULL;
    if (o->mode != TY_DEDUP_EXACT && o->mode != TY_DEDUP_NEAR && o->mode != TY_DEDUP_SPUN)
        bad = "mode must be TY_DEDUP_EXACT, TY_DEDUP_NEAR or TY_DEDUP_SPUN";
    else if (o->keep != TY_KEEP_FIRST && o->keep != TY_KEEP_LONGEST)
        bad = "keep must be TY_KEEP_FIRST or TY_KEEP_LONGEST";
    else if (o->threads < 1 || o->threads > 1024)
        bad = "threads must be between 1 and 1024";
    else if (o->batch < 16 || o->batch > 1048576)
        bad = "batch must be between 16 and 1048576";
    else if (o->ngram < 1 || o->ngram > 32)
        bad = "ngram must be between 1 and 32";
    else if (o->bands < 1 || o->rows < 1 || (long)o->bands * o->rows > TY_MH_MAX_PERMS)
        bad = "bands and rows must be at least 1, bands x rows at most 1024";
    else if (o->k < 2 || o->k > 16)
        bad = "k must be between 2 and 16";
    else if (o->w < 1 || o->w > 256)
        bad = "w must be between 1 and 256";
    else if (o->max_df < 1)
        bad = "max_df must be at least 1";
    else if (o->min_shared < 1)
        bad = "min_shared must be at least 1";
    else if (!(o->min_shared_frac >= 0 && o->min_shared_frac <= 1))
        bad = "min_shared_frac must be between 0 and 1";
    else if (o->max_candidates < 1 || o->max_candidates > 100000)
        bad = "max_candidates must be between 1 and 100000";
    else if (!(o->min_containment > 0 && o->min_containment <= 1))
        bad = "min_containment must be more than 0 and at most 1";
    if (!bad)
        return TY_OK;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", bad);
    return TY_EINVAL;
}

/* Probability areas of the LSH S-curve 1 - (1 - s^r)^b below / above the threshold
 * (Simpson's rule), as datasketch's optimal_param computes them. */
static double lsh_area(double lo, double hi, int b, int r, int above)
{
    const int n = 100;
    double h = (hi - lo) / n, sum = 0;
    for (int i = 0; i <= n; i++) {
        double s = lo + h * i;
        double p = 1 - pow(1 - pow(s, r), b);
        if (above)
            p = 1 - p;
        sum += p * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
    }
    return sum * h / 3;
}

int ty_dedup_lsh_params(double threshold, int perms, int *bands, int *rows)
{
    if (!(threshold > 0 && threshold < 1) || perms < 1 || perms > TY_MH_MAX_PERMS)
        return TY_EINVAL;
    double best = 1e300;
    int bb = 1, br = 1;
    for (int b = 1; b <= perms; b++)
        for (int r = 1; r <= perms / b; r++) {
            double e =
                0.5 * lsh_area(0, threshold, b, r, 0) + 0.5 * lsh_area(threshold, 1, b, r, 1);
            if (e < best) {
                best = e;
                bb = b;
                br = r;
            }
        }
    *bands = bb;
    *rows = br;
    return TY_OK;
}

static void worker_free(worker_t *w)
{
    ty_aligner_free(w->al);
    ty_doc_free(w->doc);
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeDCtx(w->dctx);
    free(w->tbuf.a);
    ty__near_buf_free(&w->nb);
    free(w->sig);
    free(w->cnt);
    free(w->touched.a);
    free(w->cands.a);
    free(w->mask_a.a);
    free(w->mask_b.a);
    free(w->cov_a.a);
    free(w->cov_b.a);
    free(w->seeds);
    free(w->gp.a);
    free(w->bp.a);
    free(w->df.a);
    free(w->gs.a);
    free(w->bs.a);
}

static void bdoc_reset(bdoc_t *b)
{
    free(b->msg);
    b->msg = NULL;
    free(b->seeds);
    b->seeds = NULL;
    b->nseeds = 0;
    for (size_t i = 0; i < b->links.n; i++)
        free(b->links.a[i].ps);
    b->links.n = 0;
    b->err = 0;
    b->ntok = b->ncp = b->nmz = b->nsh = 0;
    b->ex_first = NONE;
    b->clen = 0;
}

ty_dedup_t *ty_dedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, ty_dedup_event_fn fn,
                         void *user)
{
    if (!o || !to || ty_dedup_opts_check(o, NULL, 0) || ty_opts_check(to, NULL, 0))
        return NULL;
    ty_dedup_t *dd = calloc(1, sizeof(*dd));
    if (!dd)
        return NULL;
    dd->o = *o;
    dd->to = *to;
    dd->fn = fn;
    dd->user = user;
    dd->names.chunk_size = (size_t)1 << 20;
    dd->texts.chunk_size = (size_t)64 << 20;
    for (int c = 0; c < POOL_CLASSES; c++)
        dd->pool.freel[c] = NONE;
    dd->batch = calloc(o->batch, sizeof(bdoc_t));
    dd->nwk = o->threads < 64 ? o->threads : 64; /* more would not help a batch */
    dd->wk = calloc((size_t)dd->nwk, sizeof(worker_t));
    int ok = dd->batch && dd->wk;
    if (o->mode == TY_DEDUP_NEAR && ok) {
        dd->perms = o->bands * o->rows;
        dd->np8 = (dd->perms + 7) & ~7;
        dd->pa = calloc((size_t)dd->np8, sizeof(uint32_t));
        dd->pb = calloc((size_t)dd->np8, sizeof(uint32_t));
        dd->bkeys = calloc(o->batch * (size_t)o->bands, sizeof(uint64_t));
        ok = dd->pa && dd->pb && dd->bkeys;
        if (ok)
            ty__minhash_perms(o->seed, dd->perms, dd->pa, dd->pb);
    }
    for (int t = 0; ok && t < dd->nwk; t++) {
        worker_t *w = &dd->wk[t];
        w->doc = ty_doc_new();
        ok = w->doc != NULL;
        if (ok && o->mode == TY_DEDUP_NEAR)
            ok = (w->sig = malloc((size_t)dd->np8 * sizeof(uint32_t))) != NULL;
        if (ok && o->mode == TY_DEDUP_SPUN) {
            w->al = ty_aligner_new(to);
            w->cctx = ZSTD_createCCtx();
            w->dctx = ZSTD_createDCtx();
            ok = w->al && w->cctx && w->dctx;
        }
    }
    for (size_t i = 0; ok && i < o->batch; i++) {
        dd->batch[i].ex_first = NONE;
        if (o->mode == TY_DEDUP_SPUN)
            ok = (dd->batch[i].doc = ty_doc_new()) != NULL;
    }
    if (!ok) {
        ty_dedup_free(dd);
        return NULL;
    }
    return dd;
}

void ty_dedup_free(ty_dedup_t *dd)
{
    if (!dd)
        return;
    if (dd->batch) {
        for (size_t i = 0; i < dd->o.batch; i++) {
            bdoc_reset(&dd->batch[i]);
            ty_doc_free(dd->batch[i].doc);
            free(dd->batch[i].mz);
            free(dd->batch[i].mzpos);
            free(dd->batch[i].ctext);
            free(dd->batch[i].links.a);
        }
        free(dd->batch);
    }
    if (dd->wk)
        for (int t = 0; t < dd->nwk; t++)
            worker_free(&dd->wk[t]);
    free(dd->wk);
    free(dd->pa);
    free(dd->pb);
    free(dd->bkeys);
    free(dd->docs.a);
    arena_free(&dd->names);
    arena_free(&dd->texts);
    free(dd->sigs.a);
    free(dd->ex.a);
    free(dd->bands.a);
    free(dd->gmz.a);
    free(dd->pool.v.a);
    free(dd->btext.a);
    free(dd->bmz.a);
    free(dd->bex.a);
    free(dd->occ.a);
    ty__clu_free(&dd->clu);
    free(dd);
}

const char *ty_dedup_errmsg(const ty_dedup_t *dd) { return dd ? dd->err : "no dedup handle"; }
size_t ty_dedup_count(const ty_dedup_t *dd) { return dd ? dd->docs.n : 0; }

const char *ty_dedup_name(const ty_dedup_t *dd, size_t i)
{
    return dd && i < dd->docs.n ? dd->docs.a[i].name : NULL;
}

/* ---- phase A: tokenize, keys, sketches ---------------------------------------------------- */

static int worker_err(worker_t *w, int rc, const char *what)
{
    if (!w->rc) {
        w->rc = rc;
        snprintf(w->err, sizeof w->err, "%s: %s", what, ty_strerror(rc));
    }
    return rc;
}

static void phase_a(ty_dedup_t *dd, worker_t *w, size_t j)
{
    bdoc_t *b = &dd->batch[j];
    if (b->err)
        return; /* refused when added (too big) */
    const ty_dedup_opts_t *o = &dd->o;
    ty_doc_t *doc = o->mode == TY_DEDUP_SPUN ? b->doc : w->doc;
    drec_t *r = &dd->docs.a[dd->base + j];
    int rc = ty_doc_load_mem(doc, r->name, dd->btext.a + b->text_off, b->len, &dd->to);
    if (rc) {
        b->err = rc;
        b->msg = strdup(ty_doc_errmsg(doc));
        return;
    }
    size_t nt = ty_doc_ntokens(doc);
    b->ntok = (uint32_t)nt;
    b->ncp = (uint32_t)ty_doc_ncodepoints(doc);
    XXH128_hash_t h = XXH3_128bits(doc->tok, nt * sizeof(uint32_t));
    b->ex_lo = h.low64;
    b->ex_hi = h.high64;
    if (o->mode == TY_DEDUP_NEAR) {
        size_t ns = ty__near_shingles(doc, o->ngram, &w->nb);
        if (ns == (size_t)-1) {
            worker_err(w, TY_ENOMEM, "near-duplicate signatures");
            return;
        }
        b->nsh = (uint32_t)ns;
        uint32_t *sig = dd->sigs.a + (dd->base + j) * (size_t)dd->perms;
        if (ns) {
            ty__minhash(dd->pa, dd->pb, dd->perms, w->nb.x.a, ns, w->sig);
            memcpy(sig, w->sig, (size_t)dd->perms * sizeof(uint32_t));
            for (int band = 0; band < o->bands; band++)
                dd->bkeys[j * (size_t)o->bands + (size_t)band] = ty__band_key(sig, band, o->rows);
        } else {
            memset(sig, 0xff, (size_t)dd->perms * sizeof(uint32_t));
        }
    } else if (o->mode == TY_DEDUP_SPUN) {
        rc = ty_sketch(doc, o->k, o->w, &b->seeds, &b->nseeds);
        if (rc) {
            worker_err(w, rc, "minimizers");
            return;
        }
        if (b->mz_cap < b->nseeds) {
            uint64_t *p = realloc(b->mz, b->nseeds * sizeof(uint64_t));
            if (p)
                b->mz = p;
            uint32_t *q = p ? realloc(b->mzpos, b->nseeds * sizeof(uint32_t)) : NULL;
            if (!p || !q) {
                worker_err(w, TY_ENOMEM, "minimizers");
                return;
            }
            b->mzpos = q;
            b->mz_cap = b->nseeds;
        }
        /* sort (hash, position) pairs, as seeds, by hash then position; keep the first */
        ty_seed_t *sd = malloc((b->nseeds + 1) * sizeof(ty_seed_t));
        if (!sd) {
            worker_err(w, TY_ENOMEM, "minimizers");
            return;
        }
        for (size_t i = 0; i < b->nseeds; i++)
            sd[i] = (ty_seed_t){fix_key(b->seeds[i].hash), b->seeds[i].pos};
        qsort(sd, b->nseeds, sizeof(ty_seed_t), cmp_seed);
        size_t m = 0;
        for (size_t i = 0; i < b->nseeds; i++)
            if (!m || b->mz[m - 1] != sd[i].hash) {
                b->mz[m] = sd[i].hash;
                b->mzpos[m++] = sd[i].pos;
            }
        free(sd);
        b->nmz = (uint32_t)m;
        size_t bound = ZSTD_compressBound(b->len);
        if (b->ccap < bound) {
            char *p = realloc(b->ctext, bound);
            if (!p) {
                worker_err(w, TY_ENOMEM, "compressing a text");
                return;
            }
            b->ctext = p;
            b->ccap = bound;
        }
        size_t c = ZSTD_compressCCtx(w->cctx, b->ctext, bound, dd->btext.a + b->text_off, b->len,
                                     ZSTD_LEVEL);
        if (ZSTD_isError(c)) {
            worker_err(w, TY_ENOMEM, "compressing a text");
            return;
        }
        b->clen = c;
    }
}

/* ---- phase B: candidates and alignment (spun) ------------------------------------------ */

/* Documents holding minimizer h: indexed before the batch + in the whole batch. */
static uint32_t df_of(const ty_dedup_t *dd, uint64_t h, const kv_t **g, const kv_t **bs)
{
    const kv_t *a = map_find(&dd->gmz, h), *b = map_find(&dd->bmz, h);
    if (g)
        *g = a;
    if (bs)
        *bs = b;
    uint64_t n = (uint64_t)(a ? a->val : 0) + (b ? b->val : 0);
    return n > NONE ? NONE : (uint32_t)n;
}

/* Tokens covered by boilerplate minimizers: each frequent minimizer's k tokens, and the
 * span between two consecutive minimizers that are both frequent (a template's tokens
 * between its sampled k-mers). mask has ntok bytes; returns how many are marked. */
static uint32_t df_sorted(const uint64_t *mz, const uint32_t *df, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (mz[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && mz[lo] == h ? df[lo] : 0;
}

/* mz/df: the document's distinct minimizers (sorted) with their frequencies, or NULL to
 * look them up in the tables. */
static size_t boiler_mask(const ty_dedup_t *dd, const ty_seed_t *s, size_t ns, size_t ntok,
                          const uint64_t *mz, const uint32_t *df, size_t nmz, uint8_t *mask)
{
    memset(mask, 0, ntok);
    size_t k = (size_t)dd->o.k, prev = SIZE_MAX;
    for (size_t i = 0; i < ns; i++) {
        size_t p = s[i].pos;
        uint64_t h = fix_key(s[i].hash);
        uint32_t f = mz ? df_sorted(mz, df, nmz, h) : df_of(dd, h, NULL, NULL);
        if (f <= dd->o.max_df) {
            prev = SIZE_MAX;
            continue;
        }
        size_t from = prev != SIZE_MAX ? prev : p, to = p + k < ntok ? p + k : ntok;
        memset(mask + from, 1, to - from);
        prev = p;
    }
    size_t n = 0;
    for (size_t i = 0; i < ntok; i++)
        n += mask[i];
    return n;
}

static int cnt_add(worker_t *w, uint32_t doc, uint32_t pos)
{
    size_t mask = w->cnt_cap - 1, s = (size_t)(ty__mix64(doc + 1ULL) & mask);
    while (w->cnt[s].doc && w->cnt[s].doc != doc + 1)
        s = (s + 1) & mask;
    cand_t *c = &w->cnt[s];
    if (!c->doc) {
        if ((w->touched.n + 1) * 2 > w->cnt_cap)
            return 1; /* full: the caller grows the table and recounts */
        *c = (cand_t){doc + 1, 0, pos, pos};
        if (ty_vec_push(w->touched, (uint32_t)s))
            return -1;
    }
    c->cnt++;
    if (pos < c->lo)
        c->lo = pos;
    if (pos > c->hi)
        c->hi = pos;
    return 0;
}

static int cmp_cand(const void *x, const void *y)
{
    const cand_t *a = x, *b = y;
    if (a->cnt != b->cnt)
        return a->cnt < b->cnt ? 1 : -1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

static inline size_t slot_of(const map_t *m, uint64_t key)
{
    return (size_t)(ty__mix64(key) >> m->shift);
}

static inline const kv_t *probe(const map_t *m, size_t s, uint64_t key)
{
    size_t mask = m->cap - 1;
    while (m->a[s].key) {
        if (m->a[s].key == key)
            return &m->a[s];
        s = (s + 1) & mask;
    }
    return NULL;
}

/* The slots and document frequencies of batch document j's distinct minimizers, into
 * w->gp, w->bp, w->df. The look-ups go to two large tables at random places: all the
 * slots are prefetched first so that the cache misses overlap. */
static int probe_doc(ty_dedup_t *dd, worker_t *w, const bdoc_t *b)
{
    size_t n = b->nmz;
    if (ty_vec_reserve(w->gp, n + 1) || ty_vec_reserve(w->bp, n + 1) ||
        ty_vec_reserve(w->df, n + 1) || ty_vec_reserve(w->gs, n + 1) ||
        ty_vec_reserve(w->bs, n + 1))
        return TY_ENOMEM;
    const map_t *g = &dd->gmz, *bm = &dd->bmz;
    size_t *gs = w->gs.a, *bs = w->bs.a;
    for (size_t i = 0; i < n; i++) {
        if (g->n) {
            gs[i] = slot_of(g, b->mz[i]);
            __builtin_prefetch(&g->a[gs[i]]);
        }
        bs[i] = slot_of(bm, b->mz[i]);
        __builtin_prefetch(&bm->a[bs[i]]);
    }
    for (size_t i = 0; i < n; i++) {
        const kv_t *ge = g->n ? probe(g, gs[i], b->mz[i]) : NULL;
        const kv_t *be = probe(bm, bs[i], b->mz[i]);
        w->gp.a[i] = ge;
        w->bp.a[i] = be;
        uint64_t f = (uint64_t)(ge ? ge->val : 0) + (be ? be->val : 0);
        w->df.a[i] = f > NONE ? NONE : (uint32_t)f;
    }
    return TY_OK;
}

/* Count, per document, the usable minimizers of batch document j it shares. Fills
 * w->cands (unsorted) and *usable. */
static int count_shared(ty_dedup_t *dd, worker_t *w, size_t j, uint32_t *usable)
{
    const bdoc_t *b = &dd->batch[j];
    if (!w->cnt_cap) {
        w->cnt_cap = 4096;
        if (!(w->cnt = calloc(w->cnt_cap, sizeof(cand_t))))
            return TY_ENOMEM;
    }
    for (;;) {
        int full = 0;
        uint32_t u = 0;
        for (size_t i = 0; i < b->nmz && !full; i++) {
            if (w->df.a[i] > dd->o.max_df)
                continue;
            const kv_t *g = w->gp.a[i], *bs = w->bp.a[i];
            u++;
            if (g && g->val == 1) {
                full = cnt_add(w, g->aux, b->mzpos[i]);
            } else if (g && g->val > 1) {
                const uint32_t *blk = dd->pool.v.a + g->aux;
                for (uint32_t x = 0; x < blk[0] && !full; x++)
                    full = cnt_add(w, blk[2 + x], b->mzpos[i]);
            }
            /* batch documents holding it, in input order: the earlier ones */
            if (bs) {
                const uint32_t *o = dd->occ.a + bs->aux;
                for (uint32_t x = 0; x < bs->val && o[x] < j && !full; x++)
                    full = cnt_add(w, (uint32_t)(dd->base + o[x]), b->mzpos[i]);
            }
        }
        if (full < 0)
            return TY_ENOMEM;
        w->cands.n = 0;
        for (size_t t = 0; t < w->touched.n; t++) {
            cand_t *e = &w->cnt[w->touched.a[t]];
            cand_t c = *e;
            c.doc--;
            if (!full && ty_vec_push(w->cands, c))
                return TY_ENOMEM;
            e->doc = 0;
        }
        w->touched.n = 0;
        if (!full) {
            *usable = u;
            return TY_OK;
        }
        free(w->cnt);
        w->cnt_cap *= 4;
        if (!(w->cnt = calloc(w->cnt_cap, sizeof(cand_t))))
            return TY_ENOMEM;
    }
}

/* Load stored (indexed) document i into w->doc, with its minimizers in w->seeds. */
static int load_stored(ty_dedup_t *dd, worker_t *w, uint32_t i)
{
    const drec_t *r = &dd->docs.a[i];
    if (ty_vec_reserve(w->tbuf, (size_t)r->len + 1))
        return TY_ENOMEM;
    size_t got = ZSTD_decompressDCtx(w->dctx, w->tbuf.a, (size_t)r->len + 1, r->ctext, r->clen);
    if (ZSTD_isError(got) || got != r->len)
        return ty__err(w->err, TY_ECORRUPT, "%s: stored text does not decompress", r->name);
    int rc = ty_doc_load_mem(w->doc, r->name, w->tbuf.a, r->len, &dd->to);
    if (rc)
        return ty__err(w->err, rc, "%s", ty_doc_errmsg(w->doc));
    free(w->seeds);
    w->seeds = NULL;
    return ty_sketch(w->doc, dd->o.k, dd->o.w, &w->seeds, &w->nseeds);
}

/* Align candidate src (earlier) against batch document j (sus); decide the link. exact:
 * the texts are the same after normalization (linked whatever the alignment says). */
static int verify(ty_dedup_t *dd, worker_t *w, size_t j, uint32_t other, int exact, int *linked)
{
    bdoc_t *b = &dd->batch[j];
    const ty_doc_t *src;
    const ty_seed_t *sseeds;
    size_t nsseeds;
    *linked = 0;
    if (other >= dd->base) {
        const bdoc_t *ob = &dd->batch[other - dd->base];
        src = ob->doc;
        sseeds = ob->seeds;
        nsseeds = ob->nseeds;
    } else {
        int rc = load_stored(dd, w, other);
        if (rc) {
            if (!w->rc) {
                w->rc = rc;
                if (rc == TY_ENOMEM)
                    snprintf(w->err, sizeof w->err, "loading a candidate: out of memory");
            }
            return rc;
        }
        src = w->doc;
        sseeds = w->seeds;
        nsseeds = w->nseeds;
    }
    const ty_passage_t *ps = NULL;
    size_t np = 0;
    w->candidates++;
    if (!exact || dd->o.evidence) {
        int rc = ty_compare(w->al, src, b->doc, &ps, &np);
        if (rc)
            return worker_err(w, rc, "aligning a candidate");
    }
    link_t L = {other, 1.0f, 1.0f, NULL, 0};
    if (!exact) {
        if (!np)
            return TY_OK;
        size_t na = ty_doc_ntokens(src), nb = b->ntok;
        if (ty_vec_reserve(w->mask_a, na + 1) || ty_vec_reserve(w->mask_b, nb + 1) ||
            ty_vec_reserve(w->cov_a, na + 1) || ty_vec_reserve(w->cov_b, nb + 1))
            return worker_err(w, TY_ENOMEM, "aligning a candidate");
        size_t ba = boiler_mask(dd, sseeds, nsseeds, na, NULL, NULL, 0, w->mask_a.a);
        size_t bb = boiler_mask(dd, b->seeds, b->nseeds, nb, b->mz, w->df.a, b->nmz, w->mask_b.a);
        memset(w->cov_a.a, 0, na);
        memset(w->cov_b.a, 0, nb);
        size_t matched = 0;
        for (size_t p = 0; p < np; p++) {
            memset(w->cov_a.a + ps[p].src_tok_beg, 1, ps[p].src_tok_end - ps[p].src_tok_beg);
            memset(w->cov_b.a + ps[p].sus_tok_beg, 1, ps[p].sus_tok_end - ps[p].sus_tok_beg);
            matched += ps[p].matched;
        }
        size_t ca = 0, cb = 0;
        for (size_t t = 0; t < na; t++)
            ca += w->cov_a.a[t] & !w->mask_a.a[t];
        for (size_t t = 0; t < nb; t++)
            cb += w->cov_b.a[t] & !w->mask_b.a[t];
        size_t ua = na - ba, ub = nb - bb; /* tokens outside boilerplate */
        size_t us = ua < ub ? ua : ub, cs = ua < ub ? ca : cb;
        if (us < (size_t)(dd->to.min_len > 1 ? dd->to.min_len : 1))
            return TY_OK; /* too little text of its own to call it a copy */
        double cont = (double)cs / (double)us;
        if (cont < dd->o.min_containment)
            return TY_OK;
        size_t mm = na < nb ? na : nb;
        if (matched > mm)
            matched = mm;
        L.cont = (float)cont;
        L.sim = (float)(2.0 * (double)matched / (double)(na + nb));
    }
    if (dd->o.evidence && np) {
        L.ps = malloc(np * sizeof(ty_passage_t));
        if (!L.ps)
            return worker_err(w, TY_ENOMEM, "keeping the evidence");
        memcpy(L.ps, ps, np * sizeof(ty_passage_t));
        L.nps = (uint32_t)np;
    }
    if (ty_vec_push(b->links, L)) {
        free(L.ps);
        return worker_err(w, TY_ENOMEM, "keeping a link");
    }
    *linked = 1;
    return TY_OK;
}

static void phase_b(ty_dedup_t *dd, worker_t *w, size_t j)
{
    bdoc_t *b = &dd->batch[j];
    if (b->err || !b->ntok)
        return;
    /* identical after normalization: linked to the first such document, no search */
    uint32_t same = NONE;
    const kv_t *e = map_find(&dd->ex, b->ex_lo);
    if (e && dd->docs.a[e->val].ex_hi == b->ex_hi)
        same = e->val;
    else if (b->ex_first != NONE)
        same = (uint32_t)(dd->base + b->ex_first);
    int linked;
    if (same != NONE) {
        if (dd->o.evidence) {
            verify(dd, w, j, same, 1, &linked);
        } else {
            link_t L = {same, 1.0f, 1.0f, NULL, 0};
            if (ty_vec_push(b->links, L))
                worker_err(w, TY_ENOMEM, "keeping a link");
        }
        return;
    }
    uint32_t usable = 0;
    if (probe_doc(dd, w, b) || count_shared(dd, w, j, &usable)) {
        worker_err(w, TY_ENOMEM, "counting shared minimizers");
        return;
    }
    size_t nc = 0;
    for (size_t c = 0; c < w->cands.n; c++) {
        cand_t x = w->cands.a[c];
        uint32_t nm = x.doc >= dd->base ? dd->batch[x.doc - dd->base].nmz : dd->docs.a[x.doc].nmz;
        uint32_t small = usable < nm ? usable : nm;
        if (x.cnt < dd->o.min_shared || (double)x.cnt < dd->o.min_shared_frac * small)
            continue;
        /* the shared minimizers must spread over enough of the new document for the
         * passages to cover min_containment of the smaller one: one shared sentence in
         * two long documents is not worth an alignment (the factor leaves room for the
         * minimizer sampling and a copy's spam phrases; calibrated on the dev set) */
        uint32_t nti =
            x.doc >= dd->base ? dd->batch[x.doc - dd->base].ntok : dd->docs.a[x.doc].ntok;
        uint32_t mn = nti < b->ntok ? nti : b->ntok;
        if ((double)(x.hi - x.lo + (uint32_t)dd->o.k) < SPAN_FRAC * dd->o.min_containment * mn)
            continue;
        w->cands.a[nc++] = x;
    }
    w->cands.n = nc;
    if (nc > 1)
        qsort(w->cands.a, nc, sizeof(cand_t), cmp_cand);
    /* roots already linked: a second document of the same earlier cluster adds nothing */
    uint32_t roots[64];
    size_t nroots = 0;
    size_t tried = 0;
    for (size_t c = 0; c < nc && tried < (size_t)dd->o.max_candidates; c++) {
        uint32_t d = w->cands.a[c].doc, root = d >= dd->base ? d : ty__clu_root(&dd->clu, d);
        int seen = 0;
        for (size_t r = 0; r < nroots && !seen; r++)
            seen = roots[r] == root;
        if (seen)
            continue;
        tried++;
        if (verify(dd, w, j, d, 0, &linked))
            return;
        if (linked && nroots < 64)
            roots[nroots++] = root;
    }
}

/* ---- running a phase on all workers ---------------------------------------------------- */

typedef struct {
    ty_dedup_t *dd;
    int t;
} warg_t;

#define CHUNK 16

static void *run_worker(void *arg)
{
    warg_t *a = arg;
    ty_dedup_t *dd = a->dd;
    worker_t *w = &dd->wk[a->t];
    for (;;) {
        size_t beg = atomic_fetch_add(&dd->next, CHUNK);
        if (beg >= dd->nb)
            break;
        size_t end = beg + CHUNK < dd->nb ? beg + CHUNK : dd->nb;
        for (size_t j = beg; j < end && !w->rc; j++) {
            if (dd->phase == 0)
                phase_a(dd, w, j);
            else
                phase_b(dd, w, j);
        }
    }
    return NULL;
}

static int run_phase(ty_dedup_t *dd, int phase)
{
    dd->phase = phase;
    atomic_store(&dd->next, 0);
    int nt = dd->nwk;
    if ((size_t)nt > (dd->nb + CHUNK - 1) / CHUNK)
        nt = (int)((dd->nb + CHUNK - 1) / CHUNK);
    if (nt < 1)
        nt = 1;
    pthread_t th[64];
    warg_t args[64];
    int started = 0;
    if (nt > 64)
        nt = 64;
    for (int t = 1; t < nt; t++) {
        args[t] = (warg_t){dd, t};
        if (pthread_create(&th[t], NULL, run_worker, &args[t]) != 0)
            break;
        started = t;
    }
    args[0] = (warg_t){dd, 0};
    run_worker(&args[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < dd->nwk; t++)
        if (dd->wk[t].rc) {
            int rc = dd->wk[t].rc;
            snprintf(dd->err, sizeof dd->err, "%s", dd->wk[t].err);
            dd->wk[t].rc = 0;
            return rc;
        }
    return TY_OK;
}

/* ---- phase D: the batch's own minimizer and exact tables (spun) ------------------------- */

static int phase_d(ty_dedup_t *dd)
{
    map_clear(&dd->bmz);
    map_clear(&dd->bex);
    size_t total = 0;
    /* count the batch documents of each minimizer... */
    for (size_t j = 0; j < dd->nb; j++) {
        bdoc_t *b = &dd->batch[j];
        if (b->err || !b->ntok)
            continue;
        int isnew;
        kv_t *e = map_put(&dd->bex, b->ex_lo, &isnew);
        if (!e)
            return TY_ENOMEM;
        if (isnew)
            e->val = (uint32_t)j;
        else if (dd->batch[e->val].ex_hi == b->ex_hi)
            b->ex_first = e->val;
        for (size_t i = 0; i < b->nmz; i++) {
            kv_t *m = map_put(&dd->bmz, b->mz[i], &isnew);
            if (!m)
                return TY_ENOMEM;
            m->val++;
        }
        total += b->nmz;
    }
    /* ...give each its run of occ, and fill the runs in input order */
    if (ty_vec_reserve(dd->occ, total + 1))
        return TY_ENOMEM;
    uint32_t off = 0;
    for (size_t i = 0; i < dd->bmz.cap; i++) {
        kv_t *m = &dd->bmz.a[i];
        if (!m->key)
            continue;
        m->aux = off;
        off += m->val;
        m->val = 0;
    }
    for (size_t j = 0; j < dd->nb; j++) {
        bdoc_t *b = &dd->batch[j];
        if (b->err || !b->ntok)
            continue;
        for (size_t i = 0; i < b->nmz; i++) {
            kv_t *m = map_find(&dd->bmz, b->mz[i]);
            dd->occ.a[m->aux + m->val++] = (uint32_t)j;
        }
    }
    dd->occ.n = total;
    return TY_OK;
}

/* ---- phase C: merge in input order ------------------------------------------------------ */

static int apply_link(ty_dedup_t *dd, uint32_t g, const link_t *L)
{
    ty__clu_link(&dd->clu, g, L->other, L->sim, L->cont);
    dd->st.links++;
    if (dd->fn) {
        ty_dedup_event_t ev = {TY_DEDUP_LINK, g, L->other, L->sim, L->cont, L->ps, L->nps, 0, NULL};
        dd->fn(dd->user, &ev);
    }
    return TY_OK;
}

/* Index original g (spun): its minimizers and its compressed text. */
static int index_doc(ty_dedup_t *dd, uint32_t g, bdoc_t *b)
{
    drec_t *r = &dd->docs.a[g];
    const uint32_t max_df = dd->o.max_df;
    for (size_t i = 0; i < b->nmz; i++) {
        int isnew;
        kv_t *s = map_put(&dd->gmz, b->mz[i], &isnew);
        if (!s)
            return TY_ENOMEM;
        if (isnew) {
            s->val = 1;
            s->aux = g;
            continue;
        }
        if (s->val > max_df) { /* boilerplate already: just count */
            if (s->val < NONE)
                s->val++;
            continue;
        }
        s->val++;
        if (s->val > max_df) { /* becomes boilerplate: its postings go */
            if (s->val - 1 >= 2)
                pool_free(&dd->pool, s->aux);
            s->aux = NONE;
            dd->st.frequent++;
            continue;
        }
        if (s->val == 2) {
            uint32_t first = s->aux, blk = pool_alloc(&dd->pool, 0);
            if (blk == NONE)
                return TY_ENOMEM;
            uint32_t *p = dd->pool.v.a + blk;
            p[0] = 2;
            p[2] = first;
            p[3] = g;
            s->aux = blk;
            continue;
        }
        uint32_t *p = dd->pool.v.a + s->aux;
        uint32_t cls = p[1], n = p[0];
        if (n == (4u << cls)) {
            uint32_t nb = pool_alloc(&dd->pool, (int)cls + 1);
            if (nb == NONE)
                return TY_ENOMEM;
            p = dd->pool.v.a + s->aux; /* the pool may have moved */
            uint32_t *q = dd->pool.v.a + nb;
            memcpy(q + 2, p + 2, n * sizeof(uint32_t));
            q[0] = n;
            pool_free(&dd->pool, s->aux);
            s->aux = nb;
            p = q;
        }
        p[2 + p[0]++] = g;
    }
    r->ctext = arena_put(&dd->texts, b->ctext, b->clen, 0);
    if (!r->ctext)
        return TY_ENOMEM;
    r->clen = (uint32_t)b->clen;
    r->indexed = 1;
    dd->st.indexed++;
    return TY_OK;
}

static int phase_c(ty_dedup_t *dd)
{
    const ty_dedup_opts_t *o = &dd->o;
    for (size_t j = 0; j < dd->nb; j++) {
        bdoc_t *b = &dd->batch[j];
        uint32_t g = (uint32_t)(dd->base + j);
        drec_t *r = &dd->docs.a[g];
        if (b->err) {
            dd->clu.d.a[g].err = b->err;
            dd->st.errors++;
            if (dd->fn) {
                ty_dedup_event_t ev = {TY_DEDUP_ERROR,
                                       g,
                                       0,
                                       0,
                                       0,
                                       NULL,
                                       0,
                                       b->err,
                                       b->msg ? b->msg : ty_strerror(b->err)};
                if (dd->fn(dd->user, &ev)) {
                    snprintf(dd->err, sizeof dd->err, "%s", ev.msg);
                    return b->err;
                }
            }
            continue;
        }
        dd->clu.d.a[g].ncp = b->ncp;
        r->ntok = b->ntok;
        r->ex_hi = b->ex_hi;
        if (!b->ntok)
            continue; /* nothing to compare: a cluster of its own */
        int rc = TY_OK;
        if (o->mode == TY_DEDUP_EXACT) {
            int isnew;
            kv_t *e = map_put(&dd->ex, b->ex_lo, &isnew);
            if (!e)
                return TY_ENOMEM;
            if (isnew)
                e->val = g;
            else if (dd->docs.a[e->val].ex_hi == b->ex_hi) {
                link_t L = {e->val, 1.0f, 1.0f, NULL, 0};
                rc = apply_link(dd, g, &L);
            }
        } else if (o->mode == TY_DEDUP_NEAR) {
            r->nmz = b->nsh;
            uint32_t seen[64];
            int nseen = 0;
            for (int band = 0; band < o->bands && !rc; band++) {
                int isnew;
                kv_t *e =
                    map_put(&dd->bands, dd->bkeys[j * (size_t)o->bands + (size_t)band], &isnew);
                if (!e)
                    return TY_ENOMEM;
                if (isnew) {
                    e->val = g;
                    continue;
                }
                uint32_t i = e->val;
                int dup = 0;
                for (int s = 0; s < nseen && !dup; s++)
                    dup = seen[s] == i;
                if (dup)
                    continue;
                if (nseen < 64)
                    seen[nseen++] = i;
                link_t L = {i, 0, 0, NULL, 0};
                ty__near_estimate(dd->sigs.a + (size_t)g * (size_t)dd->perms,
                                  dd->sigs.a + (size_t)i * (size_t)dd->perms, o->bands, o->rows,
                                  b->nsh, dd->docs.a[i].nmz, &L.sim, &L.cont);
                rc = apply_link(dd, g, &L);
            }
        } else {
            r->nmz = b->nmz;
            for (size_t l = 0; l < b->links.n && !rc; l++)
                rc = apply_link(dd, g, &b->links.a[l]);
            if (!rc && !b->links.n)
                rc = index_doc(dd, g, b);
            if (!rc && r->indexed) { /* only originals have their text stored */
                int isnew;
                kv_t *e = map_put(&dd->ex, b->ex_lo, &isnew);
                if (!e)
                    return TY_ENOMEM;
                if (isnew)
                    e->val = g;
            }
        }
        if (rc)
            return rc;
    }
    return TY_OK;
}

static int process_batch(ty_dedup_t *dd)
{
    if (!dd->nb)
        return TY_OK;
    int rc;
    dd->err[0] = 0;
    if (dd->o.mode == TY_DEDUP_NEAR &&
        ty_vec_reserve(dd->sigs, (dd->base + dd->nb) * (size_t)dd->perms))
        rc = TY_ENOMEM;
    else
        rc = run_phase(dd, 0);
    if (!rc && dd->o.mode == TY_DEDUP_SPUN) {
        rc = phase_d(dd);
        if (!rc)
            rc = run_phase(dd, 1);
    }
    if (!rc)
        rc = phase_c(dd);
    for (size_t j = 0; j < dd->nb; j++)
        bdoc_reset(&dd->batch[j]);
    for (int t = 0; t < dd->nwk; t++) {
        dd->st.candidates += dd->wk[t].candidates;
        dd->wk[t].candidates = 0;
    }
    dd->base += dd->nb;
    dd->nb = 0;
    dd->btext.n = 0;
    if (rc) {
        if (!dd->err[0])
            snprintf(dd->err, sizeof dd->err, "%s", ty_strerror(rc));
        dd->failed = rc;
    }
    return rc;
}

int ty_dedup_add(ty_dedup_t *dd, const char *name, const char *text, size_t len)
{
    if (!dd || (!text && len))
        return TY_EINVAL;
    if (dd->failed)
        return dd->failed;
    if (dd->finished)
        return ty__err(dd->err, TY_EINVAL, "documents added after ty_dedup_finish()");
    if (dd->docs.n >= NONE - 1)
        return ty__err(dd->err, TY_ETOOBIG, "more than %u documents", NONE - 2);
    int too_big = len > dd->to.max_doc_bytes;
    size_t keep_len = too_big ? 0 : len;
    const char *nm = arena_put(&dd->names, name ? name : "", name ? strlen(name) : 0, 1);
    if (!nm || ty_vec_reserve(dd->docs, dd->docs.n + 1) ||
        ty_vec_reserve(dd->btext, dd->btext.n + keep_len + 1) || ty__clu_add(&dd->clu, 1))
        return ty__err(dd->err, TY_ENOMEM, "out of memory"); /* the last can fail alone */
    drec_t *r = &dd->docs.a[dd->docs.n++];
    memset(r, 0, sizeof(*r));
    r->name = nm;
    r->len = (uint32_t)keep_len;
    bdoc_t *b = &dd->batch[dd->nb++];
    b->text_off = dd->btext.n;
    b->len = keep_len;
    if (too_big) {
        char m[TY_ERRMSG_SIZE];
        snprintf(m, sizeof m, "%s: %zu bytes, more than the limit of %zu bytes", nm, len,
                 dd->to.max_doc_bytes);
        b->err = TY_ETOOBIG;
        b->msg = strdup(m);
    } else if (len) {
        memcpy(dd->btext.a + dd->btext.n, text, len);
    }
    dd->btext.n += keep_len;
    dd->st.docs++;
    if (dd->nb == dd->o.batch)
        return process_batch(dd);
    return TY_OK;
}

int ty_dedup_finish(ty_dedup_t *dd)
{
    if (!dd)
        return TY_EINVAL;
    if (dd->failed)
        return dd->failed;
    if (dd->finished)
        return ty__err(dd->err, TY_EINVAL, "ty_dedup_finish() called twice");
    int rc = process_batch(dd);
    if (rc)
        return rc;
    size_t n = dd->docs.n, nc = 0;
    if (ty__clu_finish(&dd->clu, dd->o.keep == TY_KEEP_LONGEST, &nc))
        return ty__err(dd->err, TY_ENOMEM, "out of memory");
    dd->st.clusters = nc;
    dd->st.removed = n - dd->st.errors - nc;
    dd->finished = 1;
    return TY_OK;
}

int ty_dedup_result(const ty_dedup_t *dd, size_t i, ty_dedup_result_t *res)
{
    if (!dd || !res || !dd->finished || i >= dd->docs.n)
        return TY_EINVAL;
    ty__clu_result(&dd->clu, i, res);
    return TY_OK;
}

void ty_dedup_stats(const ty_dedup_t *dd, ty_dedup_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (!dd)
        return;
    *st = dd->st;
    size_t m =
        dd->docs.m * sizeof(drec_t) + dd->clu.d.m * sizeof(ty__clu_t) + dd->names.bytes +
        dd->texts.bytes + dd->sigs.m * sizeof(uint32_t) +
        (dd->ex.cap + dd->bands.cap + dd->gmz.cap + dd->bmz.cap + dd->bex.cap) * sizeof(kv_t) +
        dd->pool.v.m * sizeof(uint32_t) + dd->btext.m + dd->occ.m * sizeof(uint32_t) +
        dd->o.batch * sizeof(bdoc_t);
    st->mem_bytes = m;
    st->minimizers = dd->gmz.n;
}
