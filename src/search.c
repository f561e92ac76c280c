/*
 * search.c — querying the corpus index: which indexed documents does a document reuse?
 *
 * Seed, rank, align, report — as a read aligner does it (minimap2: seeds, chains ranked by
 * score, primary and secondary mappings):
 *  1. votes: the query's (w,k)-minimizers are looked up in every posting segment. Those in
 *     very many documents (boilerplate, stock phrases) are skipped: the top max_df_frac of
 *     the index's minimizers by document count (minimap2's -f), never fewer than min_df_cut
 *     documents, optionally capped by max_df. Of the others, the rarest give a vote to every
 *     document holding them, up to postings_per_minimizer postings a query minimizer in all
 *     (the cost of a query is bounded whatever the corpus: a sentence in 300 documents is
 *     300 postings); each remaining one credits only its first (lowest-id, earliest
 *     indexed) holder.
 *  2. candidates (choose): the documents with at least min_shared votes, most first, form a
 *     pool. Walking it in order, a document holding min_shared minimizers that no document
 *     before it holds is a primary: it explains text of the query no better candidate
 *     explains (documents past the pool holding min_shared minimizers no primary holds join
 *     it: pool_more). Every other document goes with the primary owning most of its
 *     minimizers: a
 *     rival when it holds RIVAL_SHARE of that primary's minimizers, a holder of its text
 *     from HOLDER_SHARE. The shares are
 *     counted on the minimizers every holder voted for (a credit to the lowest id says
 *     nothing of the others), at least 2 x min_shared of them a primary (widen_full: a
 *     text held by so many documents that the budget let none of its minimizers vote for
 *     every holder gets its rarest counted in full; the votes are counted again). Aligned:
 *     the primaries, then up to RIVALS_MAX rivals of each, max_candidates in all.
 *  3. alignment: each candidate's stored text is decompressed, tokenized and aligned with
 *     the query by ty_compare() (every k-mer, not just minimizers), exactly as `compare`
 *     does pairwise.
 *  4. sources (choose_sources, list_sources): the aligned candidates, by the suspect tokens
 *     their passages match in order (then coverage, shared minimizers, id): the one that
 *     explains the most comes first. A passage is a candidate's own when at least half of
 *     it is text no better candidate's own passage holds; a candidate with one is a source
 *     (with its own passages only: what it alone explains), and the others — aligned ones
 *     whose passages all repeat a better source's, and the pool's rivals and holders of its
 *     primary — are listed with the source as other holders of the same text (also, at most
 *     max_also, by the share of the source's text they hold; also_total counts them all,
 *     with documents past the pool estimated by their votes on the primary's minimizers
 *     every holder voted for: count_past_pool).
 *
 * Why not only the first holder of each minimizer (what the index did before): with
 * several versions of an article indexed (reposts sharing 80-95 %), a spun copy of a later
 * version was credited to the earliest one and the later never was a candidate. Why not
 * every holder with the old ranking (tried on the mpi-shard branch): documents sharing
 * scattered sentences with the query crowded the candidates — make eval-corpus 0.9754 ->
 * 0.9673; with 100,000 scale_gen documents whose sentences are resampled from the dev
 * sources, 0.1346. The primaries keep those out of the sources: they are holders.
 *
 * A searcher holds a read-only LMDB transaction that is renewed for every query (so it
 * sees the documents committed so far) and reset after it (so it does not pin old pages
 * while idle). Everything else it needs is in per-searcher buffers: no locks on the query
 * path.
 *
 * A sharded index (index_shard.c) is searched as the one index of the whole input: one
 * transaction per shard ("part"), a posting's id is the shard's first global id + its own;
 * a minimizer's document count is summed over the shards (and segments) before the cut and
 * the budget, and the cut itself comes from the manifest's histogram of those sums. Every
 * minimizer a query meets is looked up in every part first (pass 1), the votes are counted
 * after (pass 2), a first holder being the lowest global id over all parts. With those,
 * the votes, the pool (ties broken by global id) and the sources are those of the
 * unsharded index.
 *
 * Steps 1 and 2 are search_votes.c's; this file has the searcher, its transactions and steps
 * 3 and 4 (the state both use is in search.h).
 */
#include <string.h>

#include "search.h"

/* ty_query_opts_t's fields, with `tongyuan check`'s flags */
#define F(field, flag, kind, lo, hi, def) TY__OPTF(ty_query_opts_t, field, flag, kind, lo, hi, def)
static const ty__optfield_t query_fields[] = {
    F(max_sources, "--max-sources", TY__OPT_UINT, 1, 1000000, 20),
    F(max_also, "--max-also", TY__OPT_UINT, 0, 1000000, 10),
    F(max_candidates, "--max-candidates", TY__OPT_UINT, 1, 1000000, 16),
    F(min_shared, "--min-shared", TY__OPT_UINT, 1, 1000000, 3),
    F(postings_per_minimizer, "--postings", TY__OPT_UINT, 0, 1000000, 4),
    F(max_df, "--max-df", TY__OPT_UINT, 0, 4294967295.0, 0),
    F(max_df_frac, "--max-df-frac", TY__OPT_DOUBLE, 0, 1, 0.0002),
    F(min_df_cut, NULL, TY__OPT_UINT, 0, 4294967295.0, 50),
};
#undef F
_Static_assert(sizeof query_fields / sizeof *query_fields < TY_QUERY_NARGS,
               "ty_query_opts_args' table size");

void ty_query_opts_init(ty_query_opts_t *q)
{
    ty__opts_reset(q, sizeof *q, TY__ROWS(query_fields));
}

int ty_query_opts_check(const ty_query_opts_t *q, char *msg, size_t msg_size)
{
    const char *bad = q->max_df_frac >= 1 ? "max_df_frac must be below 1" : NULL;
    return ty__opts_verdict(q, TY__ROWS(query_fields), bad, NULL, msg, msg_size);
}

void ty_query_opts_args(ty_query_opts_t *q, ty_argdef_t defs[TY_QUERY_NARGS])
{
    ty__opts_table(q, TY__ROWS(query_fields), defs);
}

ty_searcher_t *ty_searcher_new(ty_index_t *ix, const ty_opts_t *o, const ty_query_opts_t *q)
{
    if (!ix || !ix->nparts || !ix->part[0].env || !o)
        return NULL;
    ty_searcher_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ix = ix;
    s->nparts = ix->nparts;
    s->parts = calloc(s->nparts, sizeof(part_t));
    if (!s->parts) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->nparts; i++) {
        s->parts[i].ix = &ix->part[i];
        s->parts[i].base = ix->part[i].base;
    }
    s->o = *o;
    if (q)
        s->q = *q;
    else
        ty_query_opts_init(&s->q);
    s->al = ty_aligner_new(o);
    s->dc = ZSTD_createDCtx();
    return s->al && s->dc ? s : (ty_searcher_free(s), NULL); /* a part missing */
}

void ty_searcher_free(ty_searcher_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nparts; i++) {
        if (s->parts[i].txn)
            mdb_txn_abort(s->parts[i].txn);
        free(s->parts[i].segs);
    }
    TY_FREE(s->parts, s->hits.a, s->qdf.a, s->qfirst.a, s->qfull.a, s->dfhist.a);
    ty_aligner_free(s->al);
    ZSTD_freeDCtx(s->dc);
    TY_FREE(s->buf, s->qual.a, s->hashes.a, s->hid.a, s->slot.a);
    vote_tab_free(&s->votes);
    TY_FREE(s->tqual.a, s->tally.a, s->fresh.a, s->pool.a, s->bits.a, s->covered.a, s->owner.a,
            s->prim.a, s->more.a, s->cands.a);
    for (size_t i = 0; i < s->docs.n; i++)
        ty_doc_free(s->docs.a[i]);
    TY_FREE(s->docs.a, s->res.a, s->src.a, s->pass.a, s->pass_at.a, s->claims.a, s->hsort.a,
            s->hold.a, s->name_at.a, s->names.a, s);
}

const char *ty_searcher_errmsg(const ty_searcher_t *s) { return s ? s->err : "no searcher"; }

/* Renew the read transactions; load the document counts and the segment lists. */
static int begin(ty_searcher_t *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->nparts; i++) {
        part_t *p = &s->parts[i];
        int rc =
            p->txn ? mdb_txn_renew(p->txn) : mdb_txn_begin(p->ix->env, NULL, MDB_RDONLY, &p->txn);
        if (rc) {
            if (p->txn) {
                mdb_txn_abort(p->txn);
                p->txn = NULL;
            }
            return ty__search_mdb_fail(s, p, rc, "begin");
        }
        index_counts_t c;
        free(p->segs);
        p->segs = NULL;
        p->nsegs = 0;
        rc = ty__part_summary(p->ix, p->txn, &c, &p->segs, &p->nsegs, s->err);
        if (rc)
            return rc;
        if (s->ix->shards && c.docs != s->ix->shards->first[i + 1] - p->base)
            return ty__err(s->err, TY_ECORRUPT,
                           "%s: %llu documents, the manifest says %u: changed since the build",
                           p->ix->path, (unsigned long long)c.docs,
                           s->ix->shards->first[i + 1] - p->base);
        p->ndocs = c.docs;
        total = p->base + c.docs;
    }
    (void)total;
    return TY_OK;
}

static void end(ty_searcher_t *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].txn)
            mdb_txn_reset(s->parts[i].txn);
}

int ty_searcher_candidates(ty_searcher_t *s, const ty_doc_t *q, uint32_t *ids, uint32_t *shared,
                           size_t max, size_t *n)
{
    if (!s || !q || !n || (max && (!ids || !shared)))
        return TY_EINVAL;
    *n = 0;
    s->err[0] = 0;
    int rc = begin(s);
    if (!rc)
        rc = ty__search_candidates(s, q, max);
    end(s);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->cands.n; i++) {
        ids[i] = s->pool.a[s->cands.a[i]].id;
        shared[i] = s->pool.a[s->cands.a[i]].shared;
    }
    *n = s->cands.n;
    return TY_OK;
}

/* The part holding global id (the same order and bases as the index's parts). */
static const part_t *part_of(const ty_searcher_t *s, uint32_t id)
{
    return &s->parts[ty__part_of(s->ix, id)];
}

static int cmp_res(const void *a, const void *b)
{
    const res_t *x = a, *y = b;
    if (x->matched != y->matched)
        return x->matched > y->matched ? -1 : 1;
    if (x->covered != y->covered)
        return x->covered > y->covered ? -1 : 1;
    if (x->shared != y->shared)
        return x->shared > y->shared ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* listed holders: by the rank of their source, then by the share of its text they hold (an
 * aligned one: its coverage over the source's; the others: the share of the primary's
 * minimizers they hold), then by coverage, then by shared
 * minimizers, then id */
static int cmp_holder(const void *a, const void *b)
{
    const holder_t *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    if (x->frac != y->frac)
        return x->frac > y->frac ? -1 : 1;
    if (x->h.covered != y->h.covered)
        return x->h.covered > y->h.covered ? -1 : 1;
    if (x->h.shared != y->h.shared)
        return x->h.shared > y->h.shared ? -1 : 1;
    return x->h.id < y->h.id ? -1 : x->h.id > y->h.id;
}

/* Suspect tokens of [b, e) inside [cb, ce). */
static size_t overlap(size_t b, size_t e, size_t cb, size_t ce)
{
    size_t lo = b > cb ? b : cb, hi = e < ce ? e : ce;
    return hi > lo ? hi - lo : 0;
}

/* Step 2 (inside the transaction): align the candidates into s->res. */
static int align_candidates(ty_searcher_t *s, const ty_doc_t *q)
{
    while (s->docs.n < s->cands.n) {
        ty_doc_t *d = ty_doc_new();
        if (!d || ty_vec_push(s->docs, d)) {
            ty_doc_free(d);
            return ty__err(s->err, TY_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < s->cands.n; i++) {
        const cand_t *c = &s->pool.a[s->cands.a[i]];
        ty_doc_t *d = s->docs.a[i];
        const part_t *pt = part_of(s, c->id);
        uint32_t local = c->id - pt->base;
        if (ty__index_deleted_in(pt->ix, pt->txn, local) == 1)
            continue; /* deleted (tombstone): not a source any more */
        /* the stored text was valid when it was added; a failure here means damage, or
         * stricter options (--max-size, --invalid-utf8) than at indexing time */
        int rc =
            ty__index_load_doc(pt->ix, pt->txn, s->dc, local, d, &s->o, &s->buf, &s->cap, s->err);
        if (rc)
            return rc;
        const ty_passage_t *p;
        size_t np;
        rc = ty_compare(s->al, d, q, &p, &np);
        if (rc)
            return ty__err(s->err, rc, "%s", ty_aligner_errmsg(s->al));
        if (!np)
            continue;
        res_t r = {
            s->cands.a[i], c->id, c->shared, d, s->pass.n, np, ty_passages_coverage(p, np), 0, 0,
            SIZE_MAX,      0};
        r.full = r.covered;
        for (size_t k = 0; k < np; k++)
            r.matched += p[k].matched;
        if (ty_vec_reserve(s->pass, s->pass.n + np) || ty_vec_reserve(s->pass_at, s->pass.n + np) ||
            ty_vec_push(s->res, r))
            return ty__err(s->err, TY_ENOMEM, "out of memory");
        memcpy(s->pass.a + s->pass.n, p, np * sizeof(ty_passage_t));
        for (size_t k = 0; k < np; k++)
            s->pass_at.a[s->pass.n + k] = k;
        s->pass.n += np;
    }
    return TY_OK;
}

/* Step 3: which results are sources. In order of coverage, a result's passage is its own when
 * at least half of it is text no better source's passage holds; a result with a passage of
 * its own is a source (with those passages only), and it is listed as a holder of the text
 * of the source whose passages hold most of its other ones; a result with none is only
 * listed. */
static int choose_sources(ty_searcher_t *s)
{
    if (s->res.n > 1)
        qsort(s->res.a, s->res.n, sizeof(res_t), cmp_res);
    s->claims.n = 0;
    for (size_t ri = 0; ri < s->res.n; ri++) {
        res_t *r = &s->res.a[ri];
        ty_passage_t *pa = s->pass.a + r->pass_at;
        size_t nclaims = s->claims.n, keep = 0;
        for (size_t i = 0; i < s->res.n; i++)
            s->res.a[i].tmp = 0;
        for (size_t k = 0; k < r->npass; k++) {
            size_t b = pa[k].sus_tok_beg, e = pa[k].sus_tok_end, ov = 0, bo = 0, by = SIZE_MAX;
            for (size_t c = 0; c < nclaims; c++) {
                size_t o = overlap(b, e, s->claims.a[c].beg, s->claims.a[c].end);
                ov += o;
                if (o > bo) {
                    bo = o;
                    by = s->claims.a[c].res;
                }
            }
            if (2 * ov >= e - b && by != SIZE_MAX) {
                s->res.a[by].tmp += e - b;
                continue;
            }
            claim_t cl = {b, e, ri};
            if (ty_vec_push(s->claims, cl))
                return ty__err(s->err, TY_ENOMEM, "out of memory");
            s->pass_at.a[r->pass_at + keep] = s->pass_at.a[r->pass_at + k];
            pa[keep++] = pa[k];
        }
        size_t best = SIZE_MAX, bl = 0;
        for (size_t i = 0; i < ri; i++)
            if (s->res.a[i].tmp > bl) {
                bl = s->res.a[i].tmp;
                best = i;
            }
        r->also_of = best;
        r->npass = keep;
        r->covered = keep ? ty_passages_coverage(pa, keep) : 0;
    }
    return TY_OK;
}

/* The name of document id into s->names (a holder not loaded): its position there. */
static int read_name(ty_searcher_t *s, uint32_t id, size_t *at)
{
    const part_t *pt = part_of(s, id);
    uint8_t kb[4];
    ty__be32(kb, id - pt->base);
    MDB_val k = {4, kb}, v;
    doc_rec_t dr;
    int rc = mdb_get(pt->txn, pt->ix->docs, &k, &v);
    if (rc)
        return ty__search_mdb_fail(s, pt, rc, "reading a document record");
    if (ty__docrec_decode(v.mv_data, v.mv_size, &dr))
        return ty__err(s->err, TY_ECORRUPT, "%s: document %u: damaged record", pt->ix->path,
                       id - pt->base);
    *at = s->names.n;
    if (ty_vec_reserve(s->names, s->names.n + dr.name_len + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    memcpy(s->names.a + s->names.n, dr.name, dr.name_len);
    s->names.n += dr.name_len;
    s->names.a[s->names.n++] = 0;
    return TY_OK;
}

/* Step 4 (inside the transaction): the sources in s->src, their holders in s->hold. */
static int list_sources(ty_searcher_t *s)
{
    /* a result's source: itself, or the one it holds the text of */
    size_t *srank = NULL, nsrc = 0;
    TY_VEC(size_t) pres = {0}; /* per pool member: its result, or SIZE_MAX */
    int rc = TY_OK;
    if (ty_vec_reserve(pres, s->pool.n + 1) || !(srank = malloc((s->res.n + 1) * sizeof(size_t))))
        goto oom;
    for (size_t i = 0; i < s->pool.n; i++)
        pres.a[i] = SIZE_MAX;
    for (size_t ri = 0; ri < s->res.n; ri++) {
        pres.a[s->res.a[ri].cand] = ri;
        srank[ri] = s->res.a[ri].npass ? nsrc++ : SIZE_MAX;
    }
    /* every holder with the rank of its source */
    s->hsort.n = 0;
    for (size_t ri = 0; ri < s->res.n; ri++) {
        const res_t *r = &s->res.a[ri];
        if (r->also_of == SIZE_MAX)
            continue;
        double of = (double)s->res.a[r->also_of].full;
        holder_t x = {srank[r->also_of],
                      ri,
                      (float)(r->full < of ? (double)r->full / of : 1.0),
                      {r->id, ty_doc_name(r->doc), r->shared, r->full}};
        if (ty_vec_push(s->hsort, x))
            goto oom;
    }
    for (size_t i = 0; i < s->pool.n; i++) {
        const cand_t *c = &s->pool.a[i];
        if (pres.a[i] != SIZE_MAX || c->role == ROLE_PRIMARY || c->role == ROLE_NONE)
            continue;
        size_t g = pres.a[c->group];
        if (g == SIZE_MAX)
            continue; /* its primary was not aligned, or had no passage */
        double frac = c->frac;
        if (!s->res.a[g].npass) { /* its primary holds the text of a source: scale */
            size_t src = s->res.a[g].also_of;
            if (s->res.a[g].full < s->res.a[src].full)
                frac *= (double)s->res.a[g].full / (double)s->res.a[src].full;
            g = src;
        }
        holder_t x = {srank[g], SIZE_MAX, (float)frac, {c->id, NULL, c->shared, 0}};
        if (ty_vec_push(s->hsort, x))
            goto oom;
    }
    if (s->hsort.n > 1)
        qsort(s->hsort.a, s->hsort.n, sizeof(holder_t), cmp_holder);
    /* the sources, with their holders: the first max_also not deleted are listed */
    s->src.n = s->hold.n = s->name_at.n = s->names.n = 0;
    if (ty_vec_reserve(s->src, nsrc + 1) || ty_vec_reserve(s->hold, s->hsort.n + 1) ||
        ty_vec_reserve(s->name_at, s->hsort.n + 1))
        goto oom;
    size_t hi = 0;
    for (size_t ri = 0; ri < s->res.n; ri++) {
        const res_t *r = &s->res.a[ri];
        if (!r->npass)
            continue;
        ty_source_t *x = &s->src.a[s->src.n];
        memset(x, 0, sizeof *x);
        x->id = r->id;
        x->doc = r->doc;
        x->shared = r->shared;
        x->npassages = r->npass;
        x->covered = r->covered;
        x->passages = s->pass.a + r->pass_at; /* the passage array has stopped moving */
        x->aligned_at = s->pass_at.a + r->pass_at;
        x->also = s->hold.a + s->hold.n;
        for (; hi < s->hsort.n && s->hsort.a[hi].src == s->src.n; hi++) {
            holder_t *h = &s->hsort.a[hi];
            x->also_total++;
            if (x->nalso >= s->q.max_also)
                continue;
            size_t at = SIZE_MAX;
            if (!h->h.name) {
                const part_t *pt = part_of(s, h->h.id);
                int d = ty__index_deleted_in(pt->ix, pt->txn, h->h.id - pt->base);
                if (d == 1) {
                    x->also_total--;
                    continue;
                }
                if (d < 0 || (d = read_name(s, h->h.id, &at)) != TY_OK) {
                    rc = d < 0 ? ty__search_mdb_fail(s, pt, MDB_PANIC, "reading tombstones") : d;
                    goto done;
                }
            }
            s->name_at.a[s->hold.n] = at;
            s->hold.a[s->hold.n++] = h->h;
            x->nalso++;
        }
        /* holders past the pool: counted with the primary of this source's group */
        const cand_t *c = &s->pool.a[r->cand];
        if (c->role == ROLE_PRIMARY)
            x->also_total += s->more.a[r->cand];
        s->src.n++;
    }
    for (size_t i = 0; i < s->hold.n; i++)
        if (s->name_at.a[i] != SIZE_MAX)
            s->hold.a[i].name = s->names.a + s->name_at.a[i];
    goto done;
oom:
    rc = ty__err(s->err, TY_ENOMEM, "out of memory");
done:
    free(pres.a);
    free(srank);
    return rc;
}

int ty_searcher_check(ty_searcher_t *s, const ty_doc_t *q, const ty_source_t **out, size_t *n)
{
    if (!s || !q || !out || !n)
        return TY_EINVAL;
    *out = NULL;
    *n = 0;
    s->err[0] = 0;
    s->src.n = s->res.n = s->pass.n = 0;
    int rc = begin(s);
    if (!rc)
        rc = ty__search_candidates(s, q, s->q.max_candidates);
    if (!rc)
        rc = align_candidates(s, q);
    if (!rc)
        rc = choose_sources(s);
    if (!rc)
        rc = list_sources(s);
    end(s);
    if (rc)
        return rc;
    *out = s->src.a;
    *n = s->src.n < s->q.max_sources ? s->src.n : s->q.max_sources;
    return TY_OK;
}
