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
 * Every decision is dedup_rules.c's (keys, sketches, boilerplate, candidates, the link and
 * its values), the same code the MPI part (mpi/) runs on N ranks: this file only decides
 * where the rules' inputs come from (the tables of one process) and runs the phases.
 *
 * Memory (see docs/dedup.md): per document about 70 bytes plus its name; near mode adds
 * 4 bytes per permutation per document and 16 bytes per band bucket; spun mode keeps the
 * compressed text of every original and about 16 bytes per distinct minimizer plus 4 per
 * posting (postings of boilerplate minimizers are dropped). Past opts.memory, after a batch,
 * the texts, the signatures and the tables of first documents (exact and band keys) go to
 * disk (dedup_spill.c): their look-ups give the same answers from there.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "dedup_impl.h"
#include "thread.h"

/* ty_dedup_opts_t's numeric fields (threads has no flag: the front end's --threads is every
 * mode's; seed none: its flag's range is the command line's, any 64-bit seed works here) */
#define F(field, flag, kind, lo, hi, def) TY__OPTF(ty_dedup_opts_t, field, flag, kind, lo, hi, def)
static const ty__optfield_t dedup_fields[] = {
    F(threads, NULL, TY__OPT_INT, 1, 1024, 1),
    F(batch, "--batch", TY__OPT_UINT, 16, 1048576, 4096),
    F(ngram, "--ngram", TY__OPT_INT, 1, 32, 5),
    F(bands, "--bands", TY__OPT_INT, 1, TY_MH_MAX_PERMS, 16),
    F(rows, "--rows", TY__OPT_INT, 1, TY_MH_MAX_PERMS, 8),
    F(k, "--sketch-k", TY__OPT_INT, 2, 16, 5),
    F(w, "--sketch-w", TY__OPT_INT, 1, 256, 8),
    F(max_df, "--max-df", TY__OPT_UINT, 1, 100000000, 32),
    F(min_shared, "--min-shared", TY__OPT_UINT, 1, 1000000, 3),
    F(min_shared_frac, "--min-shared-frac", TY__OPT_DOUBLE, 0, 1, 0.1),
    F(max_candidates, "--max-candidates", TY__OPT_INT, 1, 100000, 8),
    F(min_containment, "--min-containment", TY__OPT_DOUBLE, 0.01, 1, 0.6),
};
#undef F
_Static_assert(sizeof dedup_fields / sizeof *dedup_fields < TY_DEDUP_NARGS,
               "ty_dedup_opts_args' table size");

void ty_dedup_opts_init(ty_dedup_opts_t *o)
{
    ty__opts_reset(o, sizeof *o, TY__ROWS(dedup_fields));
    o->mode = TY_DEDUP_SPUN;
    o->keep = TY_KEEP_FIRST;
    o->seed = 1;
}

int ty_dedup_opts_check(const ty_dedup_opts_t *o, char *msg, size_t msg_size)
{
    const char *bad =
        o->mode != TY_DEDUP_EXACT && o->mode != TY_DEDUP_NEAR && o->mode != TY_DEDUP_SPUN
            ? "mode must be TY_DEDUP_EXACT, TY_DEDUP_NEAR or TY_DEDUP_SPUN"
        : o->keep != TY_KEEP_FIRST && o->keep != TY_KEEP_LONGEST
            ? "keep must be TY_KEEP_FIRST or TY_KEEP_LONGEST"
        : (long)o->bands * o->rows > TY_MH_MAX_PERMS ? "bands x rows must be at most 1024"
        : o->memory && o->memory < ((uint64_t)1 << 20)
            ? "memory must be 0 (half of the machine's) or at least 1 MiB"
            : NULL;
    return ty__opts_verdict(o, TY__ROWS(dedup_fields), bad, NULL, msg, msg_size);
}

void ty_dedup_opts_args(ty_dedup_opts_t *o, ty_argdef_t defs[TY_DEDUP_NARGS])
{
    ty__opts_table(o, TY__ROWS(dedup_fields), defs);
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
    if (threshold == 0)
        threshold = TY_DEDUP_THRESHOLD;
    if (perms == 0) {
        ty_dedup_opts_t d;
        ty_dedup_opts_init(&d);
        perms = d.bands * d.rows;
    }
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
    ty__verifier_free(&w->vf);
    ty_doc_free(w->doc);
    ZSTD_freeCCtx(w->cctx);
    ty__unpacker_free(&w->up);
    free(w->cbuf);
    ty__nearbuf_free(&w->nb);
    ty__counter_free(&w->cnt);
    TY_FREE(w->cands.a, w->seeds, w->gp.a, w->bp.a, w->df.a, w->gs.a, w->bs.a);
    ty__coverbuf_free(&w->cb);
}

/* The bytes a batch slot holds while its batch is processed. */
static size_t bdoc_mem(const bdoc_t *b)
{
    return (b->doc ? ty__doc_mem(b->doc) : 0) + b->mzs.nseeds * sizeof(ty_seed_t) +
           b->mzs.cap * (sizeof(uint64_t) + sizeof(uint32_t)) +
           b->gcap * (sizeof(uint64_t) + sizeof(uint32_t)) + b->ccap + b->links.m * sizeof(link_t) +
           (b->mzbase ? b->mzs.nmz * sizeof(uint32_t) : 0);
}

/* A slot emptied for the next batch, its buffers freed: kept, each would hold the capacity of
 * the longest document that ever passed through it (at 10M spun documents, the 4,096 slots
 * had come to hold about 0.7 GB that way, uncounted). */
static void bdoc_reset(bdoc_t *b)
{
    free(b->msg);
    b->msg = NULL;
    if (b->doc)
        ty__doc_release(b->doc);
    ty__mzs_free(&b->mzs);
    free(b->gh);
    free(b->gpos);
    b->gh = NULL;
    b->gpos = NULL;
    b->gcap = 0;
    free(b->ctext);
    b->ctext = NULL;
    b->ccap = 0;
    free(b->mzbase);
    b->mzbase = NULL;
    for (size_t i = 0; i < b->links.n; i++)
        free(b->links.a[i].ps);
    b->links.n = 0;
    b->err = 0;
    memset(&b->f, 0, sizeof b->f);
    b->nsh = b->mzs.nmz = 0;
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
    if (ty__rules_init(&dd->R, o, to)) {
        free(dd);
        return NULL;
    }
    dd->fn = fn;
    dd->user = user;
    dd->lockfd = -1;
    dd->names.chunk_size = (size_t)1 << 20;
    dd->texts.fd = dd->sigs.fd = -1;
    dd->sp.budget = o->memory ? o->memory : ty__spill_default_budget();
    ty__mztab_init(&dd->gmz);
    dd->batch = calloc(o->batch, sizeof(bdoc_t));
    dd->nwk = o->threads < 64 ? o->threads : 64; /* more would not help a batch */
    dd->wk = calloc((size_t)dd->nwk, sizeof(worker_t));
    int ok = dd->batch && dd->wk && (!o->tmp_dir || (dd->sp.parent = strdup(o->tmp_dir)));
    if (o->mode == TY_DEDUP_NEAR && ok) {
        dd->bkeys = calloc(o->batch * (size_t)o->bands, sizeof(uint64_t));
        dd->seen = calloc((size_t)o->bands, sizeof(uint32_t));
        dd->bsigs = calloc(o->batch * (size_t)dd->R.perms, sizeof(uint32_t));
        dd->sigbuf = malloc((size_t)dd->R.perms * sizeof(uint32_t));
        ok = dd->bkeys && dd->seen && dd->bsigs && dd->sigbuf;
    }
    for (int t = 0; ok && t < dd->nwk; t++) {
        worker_t *w = &dd->wk[t];
        w->doc = ty_doc_new();
        ok = w->doc != NULL;
        if (ok && o->mode == TY_DEDUP_NEAR)
            ok = (w->nb.sig = malloc((size_t)dd->R.np8 * sizeof(uint32_t))) != NULL;
        if (ok && o->mode == TY_DEDUP_SPUN) {
            w->cctx = ZSTD_createCCtx();
            ok = ty__verifier_init(&w->vf, to) == TY_OK && ty__unpacker_init(&w->up) == TY_OK &&
                 w->cctx;
        }
    }
    for (size_t i = 0; ok && i < o->batch; i++) {
        dd->batch[i].ex_first = NONE;
        if (o->mode == TY_DEDUP_SPUN)
            ok = (dd->batch[i].doc = ty_doc_new()) != NULL;
    }
    return ok ? dd : (ty_dedup_free(dd), NULL); /* a part missing: what was made goes */
}

void ty_dedup_free(ty_dedup_t *dd)
{
    if (!dd)
        return;
    if (dd->batch) {
        for (size_t i = 0; i < dd->R.o.batch; i++) {
            bdoc_reset(&dd->batch[i]);
            ty_doc_free(dd->batch[i].doc);
            ty__mzs_free(&dd->batch[i].mzs);
            TY_FREE(dd->batch[i].gh, dd->batch[i].gpos, dd->batch[i].ctext, dd->batch[i].links.a);
        }
        free(dd->batch);
    }
    if (dd->wk)
        for (int t = 0; t < dd->nwk; t++)
            worker_free(&dd->wk[t]);
    TY_FREE(dd->wk, dd->bkeys, dd->seen, dd->bsigs, dd->sigbuf, dd->docs.a);
    arena_free(&dd->names);
    ty__blobs_free(&dd->texts);
    ty__blobs_free(&dd->sigs);
    ty__spill_end(&dd->sp);
    free(dd->sp.parent);
    ty__xmap_free(&dd->ex);
    ty__map_free(&dd->bands);
    ty__sruns_free(&dd->exr);
    ty__sruns_free(&dd->bandr);
    ty__mztab_free(&dd->gmz);
    ty__sruns_free(&dd->mzr);
    ty__map_free(&dd->rcache);
    TY_FREE(dd->rcpool.a, dd->brdf, dd->broff, dd->rpost.a, dd->btext.a);
    ty__map_free(&dd->bmz);
    ty__xmap_free(&dd->bex);
    TY_FREE(dd->occ.a, dd->grp.a, dd->stamp.a, dd->gnmz.a, dd->gmzp.a);
    ty__map_free(&dd->gtab);
    TY_FREE(dd->glists.a, dd->gsum.a, dd->edges.a);
    ty__carry_free(&dd->carry);
    ty__clu_free(&dd->clu);
    ty__rules_free(&dd->R);
    ty__sw_abort(dd->save);
    free(dd->save_dir);
    if (dd->lockfd >= 0)
        close(dd->lockfd);
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
    const ty__rules_t *R = &dd->R;
    ty_doc_t *doc = R->o.mode == TY_DEDUP_SPUN ? b->doc : w->doc;
    drec_t *r = &dd->docs.a[dd->base + j];
    int rc = ty_doc_load_mem(doc, r->name, dd->btext.a + b->text_off, b->len, &R->to);
    if (rc) {
        b->err = rc;
        b->msg = strdup(ty_doc_errmsg(doc));
        return;
    }
    ty__dd_facts(doc, &b->f);
    if (R->o.mode == TY_DEDUP_NEAR) {
        uint32_t *sig = dd->bsigs + j * (size_t)R->perms;
        if (ty__near_sig(R, &w->nb, doc, sig, &b->nsh)) {
            worker_err(w, TY_ENOMEM, "near-duplicate signatures");
            return;
        }
        for (int band = 0; b->nsh && band < R->o.bands; band++)
            dd->bkeys[j * (size_t)R->o.bands + (size_t)band] = ty__near_band(R, sig, band);
    } else if (R->o.mode == TY_DEDUP_SPUN) {
        rc = ty__spun_sketch(R, doc, &b->mzs);
        if (!rc) {
            b->gs = ty__gsum_make(&b->mzs, b->f.ntok, &b->gh, &b->gpos, &b->gcap);
            rc = b->gs.rate ? TY_OK : TY_ENOMEM;
        }
        if (rc) {
            worker_err(w, rc, "minimizers");
            return;
        }
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
        b->clen = ty__dd_pack(w->cctx, dd->btext.a + b->text_off, b->len, b->ctext, bound);
        if (!b->clen)
            worker_err(w, TY_ENOMEM, "compressing a text");
    }
}

/* ---- phase B: candidates and alignment (spun) ------------------------------------------ */

/* Documents holding minimizer h: indexed before the batch (in memory and in runs) + in the
 * whole batch. */
static uint64_t df_of(const ty_dedup_t *dd, worker_t *w, uint64_t h)
{
    const ty__kv_t *a = ty__map_find(&dd->gmz.map, h), *b = ty__map_find(&dd->bmz, h);
    uint32_t r = 0;
    if (dd->mzr.r.n && b)
        r = dd->brdf[b - dd->bmz.a];
    else if (dd->mzr.r.n && ty__dd_mz_df(dd, h, &r))
        worker_err(w, TY_EIO, "reading a temporary file");
    return (uint64_t)(a ? a->val : 0) + (b ? b->val : 0) + r;
}

/* The slots and document frequencies of batch document j's distinct minimizers, into
 * w->gp, w->bp, w->df, and with runs on disk what they hold of each into b->mzbase (index_doc
 * then reads it in order on the calling thread instead of looking each key up again). The
 * look-ups go to two large tables at random places: all the slots are prefetched first so
 * that the cache misses overlap. */
static int probe_doc(ty_dedup_t *dd, worker_t *w, bdoc_t *b)
{
    size_t n = b->mzs.nmz;
    const uint64_t *mz = b->mzs.mz;
    if (ty_vec_reserve(w->gp, n + 1) || ty_vec_reserve(w->bp, n + 1) ||
        ty_vec_reserve(w->df, n + 1) || ty_vec_reserve(w->gs, n + 1) ||
        ty_vec_reserve(w->bs, n + 1))
        return TY_ENOMEM;
    if (dd->mzr.r.n && !b->mzbase && !(b->mzbase = malloc((n + 1) * sizeof(uint32_t))))
        return TY_ENOMEM;
    const ty__map_t *g = &dd->gmz.map, *bm = &dd->bmz;
    size_t *gs = w->gs.a, *bs = w->bs.a;
    for (size_t i = 0; i < n; i++) {
        if (g->n) {
            gs[i] = ty__map_slot(g, mz[i]);
            __builtin_prefetch(&g->a[gs[i]]);
        }
        bs[i] = ty__map_slot(bm, mz[i]);
        __builtin_prefetch(&bm->a[bs[i]]);
    }
    for (size_t i = 0; i < n; i++) {
        const ty__kv_t *ge = g->n ? ty__map_probe(g, gs[i], mz[i]) : NULL;
        const ty__kv_t *be = ty__map_probe(bm, bs[i], mz[i]);
        w->gp.a[i] = ge;
        w->bp.a[i] = be;
        uint64_t f = (uint64_t)(ge ? ge->val : 0) + (be ? be->val : 0);
        if (dd->mzr.r.n) { /* the spilled runs: looked up for the batch (ty__dd_mz_batch) */
            uint32_t r = be ? dd->brdf[be - bm->a] : 0;
            b->mzbase[i] = r;
            f += r;
        }
        w->df.a[i] = f > NONE ? NONE : (uint32_t)f;
    }
    return TY_OK;
}

/* Count, per document, the usable minimizers of batch document j it shares: the indexed
 * documents holding it and the earlier documents of the batch. Fills w->cands (unsorted)
 * and *usable. */
static int count_shared(ty_dedup_t *dd, worker_t *w, size_t j, uint32_t *usable)
{
    const bdoc_t *b = &dd->batch[j];
    uint32_t u = 0;
    for (size_t i = 0; i < b->mzs.nmz; i++) {
        if (ty__boiler(&dd->R, w->df.a[i]))
            continue;
        const ty__kv_t *g = w->gp.a[i], *bs = w->bp.a[i];
        uint32_t pos = b->mzs.mzpos[i];
        u++;
        if (dd->mzr.r.n && bs) { /* in the spilled runs: the oldest documents */
            const uint32_t *o = dd->rpost.a + dd->broff[bs - dd->bmz.a] + 1;
            for (uint32_t x = 0; x < o[-1]; x++)
                if (ty__count(&w->cnt, o[x], pos))
                    return TY_ENOMEM;
        }
        if (g) {
            uint32_t one, n;
            const uint32_t *d = ty__mztab_docs(&dd->gmz, g, &one, &n);
            for (uint32_t x = 0; x < n; x++)
                if (ty__count(&w->cnt, d[x], pos))
                    return TY_ENOMEM;
        }
        /* batch documents holding it, in input order: the earlier ones */
        if (bs) {
            const uint32_t *o = dd->occ.a + bs->aux + 1;
            for (uint32_t x = 0; x < o[-1] && o[x] < j; x++)
                if (ty__count(&w->cnt, (uint32_t)(dd->base + o[x]), pos))
                    return TY_ENOMEM;
        }
    }
    *usable = u;
    w->cands.n = 0;
    return ty__counter_take(&w->cnt, dd->R.o.min_shared, &w->cands);
}

/* Load stored (indexed) document i into w->doc, with its minimizers in w->seeds. */
static int load_stored(ty_dedup_t *dd, worker_t *w, uint32_t i)
{
    const drec_t *r = &dd->docs.a[i];
    char msg[TY_ERRMSG_SIZE];
    const char *ctext = ty__blobs_read(&dd->texts, r->coff, r->clen, &w->cbuf, &w->ccap);
    int rc = ctext ? TY_OK : TY_EIO;
    if (!ctext)
        snprintf(msg, sizeof msg,
                 "%s: its text could not be read back from the temporary "
                 "directory (tmp_dir)",
                 r->name);
    else
        rc = ty__dd_unpack(&dd->R, &w->up, ctext, r->clen, r->len, r->name, w->doc, msg);
    if (!rc) {
        free(w->seeds);
        w->seeds = NULL;
        rc = ty_sketch(w->doc, dd->R.o.k, dd->R.o.w, &w->seeds, &w->nseeds);
    }
    if (rc && !w->rc) {
        w->rc = rc;
        if (rc == TY_ENOMEM)
            snprintf(w->err, sizeof w->err, "loading a candidate: out of memory");
        else
            snprintf(w->err, sizeof w->err, "%s", msg);
    }
    return rc;
}

/* The boilerplate flags of ty__verify(): the candidate's minimizers looked up in the tables,
 * the new document's from its probe (w->df, by its sorted distinct minimizers). */
static void boil_flags(void *ctx, int side, const ty_seed_t *s, size_t n, uint8_t *flags)
{
    worker_t *w = ctx;
    const ty_dedup_t *dd = w->dd;
    const bdoc_t *b = &dd->batch[w->j];
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ty__fix_key(s[i].hash), f;
        if (side == 0) {
            f = df_of(dd, w, h);
        } else {
            size_t x = ty__find_u64(b->mzs.mz, b->mzs.nmz, h);
            f = x != SIZE_MAX ? w->df.a[x] : 0;
        }
        flags[i] = (uint8_t)ty__boiler(&dd->R, f);
    }
}

/* Align candidate other (earlier) against batch document j (sus) and keep the link if the
 * rules make one. exact: the texts are the same after normalization (linked whatever the
 * alignment says). 1 linked, 0 not, < 0 an error (in w->rc). */
static int verify(ty_dedup_t *dd, worker_t *w, size_t j, uint32_t other, int exact)
{
    bdoc_t *b = &dd->batch[j];
    const ty_doc_t *src;
    const ty_seed_t *sseeds;
    size_t nsseeds;
    if (other >= dd->base) {
        const bdoc_t *ob = &dd->batch[other - dd->base];
        src = ob->doc;
        sseeds = ob->mzs.seeds;
        nsseeds = ob->mzs.nseeds;
    } else {
        int rc = load_stored(dd, w, other);
        if (rc)
            return rc;
        src = w->doc;
        sseeds = w->seeds;
        nsseeds = w->nseeds;
    }
    w->candidates++;
    w->dd = dd;
    w->j = j;
    ty__verdict_t v;
    int linked = ty__verify(&w->vf, &dd->R, src, sseeds, nsseeds, b->doc, b->mzs.seeds,
                            b->mzs.nseeds, exact, boil_flags, w, &v);
    if (linked < 0)
        return worker_err(w, linked, "aligning a candidate");
    if (!linked)
        return 0;
    link_t L = {other, v.sim, v.cont, NULL, 0};
    if (dd->R.o.evidence && v.nps) {
        L.ps = malloc(v.nps * sizeof(ty_passage_t));
        if (!L.ps)
            return worker_err(w, TY_ENOMEM, "keeping the evidence");
        memcpy(L.ps, v.ps, v.nps * sizeof(ty_passage_t));
        L.nps = (uint32_t)v.nps;
    }
    if (ty_vec_push(b->links, L)) {
        free(L.ps);
        return worker_err(w, TY_ENOMEM, "keeping a link");
    }
    return 1;
}

static int try_cand(void *ctx, uint32_t doc)
{
    worker_t *w = ctx;
    return verify(w->dd, w, w->j, doc, 0);
}

static void phase_b(ty_dedup_t *dd, worker_t *w, size_t j)
{
    bdoc_t *b = &dd->batch[j];
    if (b->err || !b->f.ntok)
        return;
    const ty__rules_t *R = &dd->R;
    /* identical after normalization: linked to the first such document, no search */
    uint32_t same;
    if (ty__dd_ex_get(dd, b->f.ex_lo, b->f.ex_hi, &same)) {
        worker_err(w, TY_EIO, "reading a temporary file");
        return;
    }
    if (same == NONE && b->ex_first != NONE)
        same = (uint32_t)(dd->base + b->ex_first);
    if (same != NONE) {
        if (R->o.evidence) {
            verify(dd, w, j, same, 1);
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
        ty__cand_t x = w->cands.a[c];
        int in_batch = x.doc >= dd->base;
        const bdoc_t *ob = in_batch ? &dd->batch[x.doc - dd->base] : NULL;
        uint32_t nm = in_batch ? ob->mzs.nmz : dd->docs.a[x.doc].nmz;
        uint32_t nt = in_batch ? ob->f.ntok : dd->docs.a[x.doc].ntok;
        if (!ty__cand_ok(R, &x, usable, nm, nt, b->f.ntok))
            continue;
        x.root = in_batch ? x.doc : ty__clu_root(&dd->clu, x.doc);
        w->cands.a[nc++] = x;
    }
    w->cands.n = nc;
    ty__cands_sort(w->cands.a, nc);
    w->dd = dd;
    w->j = j;
    ty__cands_try(R, w->cands.a, nc, try_cand, w);
}

/* The batch documents holding minimizer h, for ty__cover_edges(). */
static const uint32_t *batch_holders(void *ctx, uint64_t h, uint32_t *n)
{
    const ty_dedup_t *dd = ctx;
    const ty__kv_t *m = ty__map_find(&dd->bmz, h);
    *n = m ? m->val : 0; /* every holder, in input order (before phase_d compacts the lists) */
    return m ? dd->occ.a + m->aux + 1 : NULL;
}

/* A document that started a group of its own by sketch: the earlier ones it is a copy of by
 * cover (ty__cover_edges; phase D). */
static void phase_join(ty_dedup_t *dd, worker_t *w, size_t j)
{
    uint32_t *e = dd->edges.a + j * TY__COVER_TRY;
    if (dd->grp.a[j] != (uint32_t)j)
        e[0] = TY__NONE; /* in a group by sketch already */
    else if (ty__cover_edges(&dd->R, dd->gsum.a, dd->nb, j, batch_holders, dd, &dd->carry, &w->cb,
                             e))
        worker_err(w, TY_ENOMEM, "batch groups");
}

/* ---- running a phase on all workers ---------------------------------------------------- */

/* Batch document j of the current phase, on worker tid (ty__for). */
static void phase_item(void *data, size_t j, int tid)
{
    ty_dedup_t *dd = data;
    worker_t *w = &dd->wk[tid];
    if (w->rc)
        return; /* this worker failed: the phase is given up */
    if (dd->phase == 0)
        phase_a(dd, w, j);
    else if (dd->phase == 1)
        phase_b(dd, w, j);
    else
        phase_join(dd, w, j);
}

static int run_phase(ty_dedup_t *dd, int phase)
{
    dd->phase = phase;
    if (ty__for(dd->nwk, phase_item, dd, dd->nb)) {
        snprintf(dd->err, sizeof dd->err, "out of memory starting the workers");
        return TY_ENOMEM;
    }
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
    ty__map_clear(&dd->bmz);
    ty__xmap_clear(&dd->bex);
    size_t total = 0, nb = dd->nb;
    if (ty_vec_reserve(dd->grp, nb + TY__CARRY_MAX + 1) || ty_vec_reserve(dd->stamp, nb + 1) ||
        ty_vec_reserve(dd->gnmz, nb + 1) || ty_vec_reserve(dd->gmzp, nb + 1))
        return TY_ENOMEM;
    /* count the batch documents of each minimizer... */
    for (size_t j = 0; j < nb; j++) {
        bdoc_t *b = &dd->batch[j];
        int skip = b->err || !b->f.ntok;
        dd->gmzp.a[j] = b->mzs.mz;
        dd->gnmz.a[j] = skip ? 0 : b->mzs.nmz;
        dd->stamp.a[j] = 0;
        if (skip)
            continue;
        if (ty__xmap_first(&dd->bex, b->f.ex_lo, b->f.ex_hi, (uint32_t)j, &b->ex_first))
            return TY_ENOMEM;
        for (size_t i = 0; i < b->mzs.nmz; i++) {
            int isnew;
            ty__kv_t *m = ty__map_put(&dd->bmz, b->mzs.mz[i], &isnew);
            if (!m)
                return TY_ENOMEM;
            m->val++;
        }
        total += b->mzs.nmz;
    }
    /* ...give each its run of occ, and fill the runs in input order... */
    if (ty_vec_reserve(dd->occ, total + dd->bmz.n + 1))
        return TY_ENOMEM;
    uint32_t off = 0;
    for (size_t i = 0; i < dd->bmz.cap; i++) {
        ty__kv_t *m = &dd->bmz.a[i];
        if (!m->key)
            continue;
        m->aux = off;
        off += m->val + 1;
        m->val = 0;
    }
    for (size_t j = 0; j < nb; j++) {
        const bdoc_t *b = &dd->batch[j];
        if (!dd->gnmz.a[j])
            continue;
        for (size_t i = 0; i < b->mzs.nmz; i++) {
            ty__kv_t *m = ty__map_find(&dd->bmz, b->mzs.mz[i]);
            dd->occ.a[m->aux + 1 + m->val++] = (uint32_t)j;
        }
    }
    /* ...find the batch's groups (copies of one text count once): by sketch, then by cover
     * (phase_join, on the workers, reading the lists)... */
    if (ty__batch_groups(dd->gmzp.a, dd->gnmz.a, nb, dd->grp.a, &dd->gtab, &dd->glists) ||
        ty_vec_reserve(dd->gsum, nb + 1) || ty_vec_reserve(dd->edges, nb * TY__COVER_TRY + 1))
        return TY_ENOMEM;
    for (size_t j = 0; j < nb; j++)
        dd->gsum.a[j] = dd->gnmz.a[j] ? dd->batch[j].gs : (ty__gsum_t){0};
    int rc = run_phase(dd, 2);
    if (rc)
        return rc;
    if (ty__groups_join(dd->grp.a, dd->edges.a, nb, dd->gsum.a, &dd->carry))
        return TY_ENOMEM;
    /* ...then each minimizer's frequency is its number of groups; past max_df holders its
     * list keeps the first holder of each group (a copy finds its group through it, and
     * 4,000 copies of an article do not count each other 4,000 times) */
    for (size_t i = 0; i < dd->bmz.cap; i++) {
        ty__kv_t *m = &dd->bmz.a[i];
        if (!m->key)
            continue;
        uint32_t *l = dd->occ.a + m->aux + 1, n = m->val, ng = 0, keep = 0;
        int compact = n > dd->R.o.max_df;
        for (uint32_t x = 0; x < n; x++) {
            uint32_t g = dd->grp.a[l[x]];
            if (dd->stamp.a[g] == (uint32_t)i + 1)
                continue;
            dd->stamp.a[g] = (uint32_t)i + 1;
            ng++;
            if (compact)
                l[keep++] = l[x];
        }
        l[-1] = compact ? keep : n;
        m->val = ng;
    }
    dd->occ.n = off;
    return TY_OK;
}

/* ---- phase C: merge in input order ------------------------------------------------------ */

static void apply_link(ty_dedup_t *dd, uint32_t g, const link_t *L)
{
    ty__join_link(&dd->clu, &dd->st, g, L->other, L->sim, L->cont);
    if (dd->fn) {
        ty_dedup_event_t ev = {TY_DEDUP_LINK, g, L->other, L->sim, L->cont, L->ps, L->nps, 0, NULL};
        dd->fn(dd->user, &ev);
    }
}

/* Index original g (spun): its minimizers and its compressed text. The table's slots are
 * random reads of up to gigabytes: each key's are fetched INDEX_AHEAD keys before it is put. */
#define INDEX_AHEAD 8
static int index_doc(ty_dedup_t *dd, uint32_t g, bdoc_t *b)
{
    drec_t *r = &dd->docs.a[g];
    const uint64_t *mz = b->mzs.mz;
    for (size_t i = 0; i < b->mzs.nmz; i++) {
        if (i + INDEX_AHEAD < b->mzs.nmz) { /* the slots of a later key, loaded meanwhile */
            uint64_t k = mz[i + INDEX_AHEAD];
            if (dd->gmz.map.cap)
                __builtin_prefetch(&dd->gmz.map.a[ty__map_slot(&dd->gmz.map, k)], 1);
            if (dd->mzr.r.n && !b->mzbase) { /* its batch slot and the df there, by the slot */
                size_t hs = ty__map_slot(&dd->bmz, k);
                __builtin_prefetch(&dd->bmz.a[hs]);
                __builtin_prefetch(&dd->brdf[hs]);
            }
        }
        uint32_t base = 0; /* documents holding it in the spilled runs: probe_doc's, or here */
        if (b->mzbase)
            base = b->mzbase[i];
        else if (dd->mzr.r.n)
            base = dd->brdf[ty__map_find(&dd->bmz, mz[i]) - dd->bmz.a];
        size_t had = dd->gmz.map.n;
        if (ty__mztab_add(&dd->gmz, mz[i], g, base, dd->R.o.max_df, &dd->st.frequent))
            return TY_ENOMEM;
        dd->nmz += dd->gmz.map.n > had && !base;
    }
    if (ty__blobs_put(&dd->texts, b->ctext, b->clen, &r->coff))
        return TY_ENOMEM;
    r->clen = (uint32_t)b->clen;
    r->indexed = 1;
    dd->st.indexed++;
    return TY_OK;
}

/* Near: link g to the first document of each of its band keys, once per document. */
static int near_links(ty_dedup_t *dd, size_t j, uint32_t g, const bdoc_t *b)
{
    const ty__rules_t *R = &dd->R;
    const uint32_t *sig = dd->bsigs + j * (size_t)R->perms;
    size_t bytes = (size_t)R->perms * 4;
    int nseen = 0;
    for (int band = 0; band < R->o.bands; band++) {
        uint32_t i;
        int rc = ty__dd_band(dd, dd->bkeys[j * (size_t)R->o.bands + (size_t)band], g, &i);
        if (rc)
            return rc;
        if (i == NONE)
            continue; /* the band's first document */
        int dup = 0;
        for (int s = 0; s < nseen && !dup; s++)
            dup = dd->seen[s] == i;
        if (dup)
            continue;
        dd->seen[nseen++] = i;
        link_t L = {i, 0, 0, NULL, 0};
        const char *si = ty__blobs_get(&dd->sigs, (uint64_t)i * bytes, bytes, dd->sigbuf);
        if (!si)
            return ty__err(dd->err, TY_EIO, "reading a signature back from %s (tmp_dir) failed",
                           dd->sp.dir);
        ty__near_link(R, (const uint32_t *)si, dd->docs.a[i].nmz, sig, b->nsh, &L.sim, &L.cont);
        apply_link(dd, g, &L);
    }
    return TY_OK;
}

static int phase_c(ty_dedup_t *dd)
{
    const ty_dedup_opts_t *o = &dd->R.o;
    for (size_t j = 0; j < dd->nb; j++) {
        bdoc_t *b = &dd->batch[j];
        uint32_t g = (uint32_t)(dd->base + j);
        drec_t *r = &dd->docs.a[g];
        if (o->mode == TY_DEDUP_NEAR) { /* every document's signature, at g x its bytes */
            uint32_t *sig = dd->bsigs + j * (size_t)dd->R.perms;
            uint64_t off;
            if (b->err)
                memset(sig, 0, (size_t)dd->R.perms * 4);
            if (ty__blobs_put(&dd->sigs, sig, (size_t)dd->R.perms * 4, &off))
                return TY_ENOMEM;
        }
        if (b->err) {
            ty__join_doc(&dd->clu, &dd->st, g, b->err, 0);
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
        ty__join_doc(&dd->clu, &dd->st, g, 0, b->f.ncp);
        r->ntok = b->f.ntok;
        if (!b->f.ntok)
            continue; /* nothing to compare: a cluster of its own */
        int rc = TY_OK;
        uint32_t first;
        if (o->mode == TY_DEDUP_EXACT) {
            if ((rc = ty__dd_ex_first(dd, b->f.ex_lo, b->f.ex_hi, g, &first)))
                return rc;
            if (first != NONE) {
                link_t L = {first, 1.0f, 1.0f, NULL, 0};
                apply_link(dd, g, &L);
            }
        } else if (o->mode == TY_DEDUP_NEAR) {
            r->nmz = b->nsh;
            rc = near_links(dd, j, g, b);
        } else {
            r->nmz = b->mzs.nmz;
            for (size_t l = 0; l < b->links.n; l++)
                apply_link(dd, g, &b->links.a[l]);
            if (!b->links.n) /* an original: indexed, with its exact key */
                rc = index_doc(dd, g, b);
            if (!rc && r->indexed)
                rc = ty__dd_ex_first(dd, b->f.ex_lo, b->f.ex_hi, g, &first);
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
    size_t n0[3] = {dd->bands.n, dd->ex.n, dd->gmz.map.n};
    rc = run_phase(dd, 0);
    if (!rc && dd->R.o.mode == TY_DEDUP_SPUN) {
        rc = phase_d(dd);
        if (!rc)
            rc = ty__dd_mz_batch(dd);
        if (!rc)
            rc = run_phase(dd, 1);
    }
    if (!rc)
        rc = phase_c(dd);
    size_t bm = 0;
    for (size_t j = 0; j < dd->nb; j++) {
        bm += bdoc_mem(&dd->batch[j]);
        bdoc_reset(&dd->batch[j]);
    }
    if (bm > dd->bmem)
        dd->bmem = bm;
    for (int t = 0; t < dd->nwk; t++) {
        dd->st.candidates += dd->wk[t].candidates;
        dd->wk[t].candidates = 0;
    }
    size_t n1[3] = {dd->bands.n, dd->ex.n, dd->gmz.map.n};
    for (int t = 0; t < 3; t++)
        if (n1[t] > n0[t] && n1[t] - n0[t] > dd->grow[t])
            dd->grow[t] = n1[t] - n0[t];
    dd->base += dd->nb;
    dd->nb = 0;
    dd->btext.n = 0;
    if (!rc)
        rc = ty__dd_budget(dd);
    if (rc) {
        if (!dd->err[0])
            snprintf(dd->err, sizeof dd->err, "%s", ty_strerror(rc));
        dd->failed = rc;
    }
    return rc;
}

/* ty_dedup_add(); refused: a document refused before (the saved last batch of an earlier run,
 * text NULL), with the message it had. */
int ty__dd_add_doc(ty_dedup_t *dd, const char *name, const char *text, size_t len,
                   const char *refused)
{
    if (dd->failed)
        return dd->failed;
    if (dd->finished)
        return ty__err(dd->err, TY_EINVAL, "documents added after ty_dedup_finish()");
    if (dd->docs.n >= NONE - 1)
        return ty__err(dd->err, TY_ETOOBIG, "more than %u documents", NONE - 2);
    char m[TY_ERRMSG_SIZE];
    int too_big = 1;
    if (refused)
        snprintf(m, sizeof m, "%s", refused);
    else
        too_big = ty__dd_too_big(&dd->R, name ? name : "", len, m) != TY_OK;
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
        b->err = TY_ETOOBIG;
        b->msg = strdup(m);
    } else if (len) {
        memcpy(dd->btext.a + dd->btext.n, text, len);
    }
    dd->btext.n += keep_len;
    dd->st.docs++;
    if (dd->nb == dd->R.o.batch)
        return process_batch(dd);
    return TY_OK;
}

int ty_dedup_add(ty_dedup_t *dd, const char *name, const char *text, size_t len)
{
    if (!dd || (!text && len))
        return TY_EINVAL;
    return ty__dd_add_doc(dd, name, text, len, NULL);
}

int ty_dedup_finish(ty_dedup_t *dd)
{
    int rc =
        dd ? ty__dd_finish_gate(dd->failed, dd->finished, dd->err, "ty_dedup_finish") : TY_EINVAL;
    if (rc)
        return rc;
    /* the state: spun mode's before its last batch (batches change its decisions, so the
     * batch is saved unprocessed and processed again by the next run with its first
     * documents); exact and near mode's after it (their decisions do not depend on batches) */
    int spun = dd->R.o.mode == TY_DEDUP_SPUN;
    rc = dd->save_dir && spun ? ty__dd_write_state(dd) : TY_OK;
    if (!rc)
        rc = process_batch(dd);
    if (!rc && dd->save_dir && !spun)
        rc = ty__dd_write_state(dd);
    if (rc) {
        dd->failed = rc;
        return rc;
    }
    if (ty__join_finish(&dd->clu, &dd->st, dd->R.o.keep == TY_KEEP_LONGEST))
        return ty__err(dd->err, TY_ENOMEM, "out of memory");
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

/* ---- the memory budget -------------------------------------------------------------------- */

/* The bytes the handle holds, about. */
static size_t held(const ty_dedup_t *dd)
{
    return dd->docs.m * sizeof(drec_t) + dd->clu.d.m * sizeof(ty__clu_t) + dd->names.bytes +
           ty__blobs_mem(&dd->texts) + ty__blobs_mem(&dd->sigs) + ty__sruns_mem(&dd->exr) +
           ty__sruns_mem(&dd->bandr) + ty__sruns_mem(&dd->mzr) + dd->brcap * 2 * sizeof(uint32_t) +
           dd->rpost.m * sizeof(uint32_t) +
           (dd->bands.cap + dd->gmz.map.cap + dd->bmz.cap) * sizeof(ty__kv_t) +
           (dd->ex.cap + dd->bex.cap) * sizeof(ty__xkv_t) +
           (dd->ex.hi.m + dd->bex.hi.m) * sizeof(uint64_t) + dd->gmz.pool.v.m * sizeof(uint32_t) +
           dd->btext.m +
           (dd->occ.m + dd->grp.m + dd->stamp.m + dd->gnmz.m + dd->glists.m) * sizeof(uint32_t) +
           dd->gmzp.m * sizeof(void *) + dd->gtab.cap * sizeof(ty__kv_t) +
           dd->R.o.batch * sizeof(bdoc_t) + dd->bmem + ty__dd_rc_mem(dd);
}

/* A hash table doubles when it passes its load limit (3/4, hash.h's _fits), and holds its old slots
 * while it fills the new ones: 3 times its size for a moment. So the budget counts, for each table
 * the next batch may make grow (by twice the most one batch has added so far), the 2 x cap more it
 * would take then: a table is written out before it doubles past the budget, not after. (At 10M
 * near-mode documents under --memory 4G, the band table doubling from 2 to 4 GB inside a batch had
 * put the peak at 6.6 GB.) */
static size_t growth(const ty_dedup_t *dd)
{
    size_t g = 0;
    if (dd->bands.cap && !ty__map_fits(&dd->bands, dd->bands.n + 2 * dd->grow[0]))
        g += 2 * dd->bands.cap * sizeof(ty__kv_t);
    if (dd->ex.cap && !ty__xtab_fits(&dd->ex, dd->ex.n + 2 * dd->grow[1]))
        g += 2 * dd->ex.cap * sizeof(ty__xkv_t);
    if (dd->gmz.map.cap && !ty__map_fits(&dd->gmz.map, dd->gmz.map.n + 2 * dd->grow[2]))
        g += 2 * dd->gmz.map.cap * sizeof(ty__kv_t);
    return g;
}

int ty__dd_budget(ty_dedup_t *dd)
{
    int rc = ty__sruns_poll(&dd->mzr, &dd->sp, dd->err); /* a merge done on its thread */
    if (rc || held(dd) + growth(dd) <= dd->sp.budget)
        return rc == TY_ENOMEM ? ty__err(dd->err, rc, "out of memory") : rc;
    dd->sp.spills++;
    rc = ty__blobs_spill(&dd->texts, &dd->sp, dd->err);
    if (!rc)
        rc = ty__blobs_spill(&dd->sigs, &dd->sp, dd->err);
    if (!rc)
        rc = ty__dd_spill_tables(dd);
    if (rc == TY_ENOMEM)
        ty__err(dd->err, rc, "out of memory");
    return rc;
}

void ty_dedup_stats(const ty_dedup_t *dd, ty_dedup_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (!dd)
        return;
    *st = dd->st;
    st->mem_bytes = held(dd);
    st->minimizers = dd->nmz;
    st->mz_disk = dd->mzr.n; /* records of the runs: a key may be in several */
    st->mem_budget = dd->sp.budget;
    st->disk_bytes = dd->sp.disk_bytes;
    st->disk_peak = dd->sp.disk_peak;
    st->spills = dd->sp.spills;
    st->merges = dd->sp.merges;
}

const char *ty_dedup_tmp_dir(const ty_dedup_t *dd) { return dd ? dd->sp.dir : ""; }
