/*
 * search.c — querying the corpus index: which indexed documents does a document reuse?
 *
 * Two steps, as a read aligner does it (minimap2: seed, then extend):
 *  1. candidates: the query's (w,k)-minimizers are looked up in every posting segment;
 *     each gives a vote to an indexed document holding it (see Votes below).
 *     Minimizers in very many documents (boilerplate, stock phrases) are skipped: those in
 *     the top max_df_frac of the index's minimizers by document count (minimap2's -f),
 *     never fewer than min_df_cut documents, optionally capped by max_df. The documents
 *     sharing at least min_shared minimizers, most first, up to max_candidates, go on.
 *  2. alignment: each candidate's stored text is decompressed, tokenized and aligned with
 *     the query by ty_compare() (every k-mer, not just minimizers), exactly as `compare`
 *     does pairwise; candidates with passages are the sources, ranked by how much of the
 *     query they cover.
 *
 * Votes: a minimizer credits only the first (lowest-id) document of its posting list in
 * each segment, not every document holding it. That was an accident (the decoding loop
 * stopped after one id) that the quality figures were measured with: counting every holder
 * (tried on the mpi-shard branch) keeps recall but lets documents that share scattered
 * sentences with the query crowd the candidates — make eval-corpus: plagdet 0.9754 ->
 * 0.9673; with 100,000 scale_gen documents (EVAL_EXTRA), whose sentences are resampled from
 * the dev sources: 0.9754 -> 0.1346 (precision 0.07), median check 0.21 -> 1.39 ms. So the
 * earliest-indexed holder takes the vote until the ranking can afford every holder.
 *
 * A searcher holds a read-only LMDB transaction that is renewed for every query (so it
 * sees the documents committed so far) and reset after it (so it does not pin old pages
 * while idle). Everything else it needs is in per-searcher buffers: no locks on the query
 * path.
 *
 * A sharded index (index_shard.c) is searched as the one index of the whole input: one
 * transaction per shard ("part"), a posting's id is the shard's first global id + its own;
 * a minimizer's document count is summed over the shards before the cut, and the cut itself
 * comes from the manifest's histogram of those sums. Every minimizer a query meets is looked
 * up in every part first (pass 1), the documents are counted after (pass 2). With those,
 * each document's shared count, the candidates (ties broken by global id) and the sources
 * are those of the unsharded index.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "index_impl.h"

typedef struct {
    uint32_t id, shared;
} cand_t;

/* One part of the index searched: the index file itself, or one shard of a sharded index. */
typedef struct {
    ty_part_t *ix;
    MDB_txn *txn;
    seginfo_t *segs;
    size_t nsegs;
    uint32_t base;  /* global id of its document 0 */
    uint64_t ndocs; /* as of this query */
} part_t;

/* A minimizer of the query found in one segment of one part (pass 1). */
typedef struct {
    uint32_t qk; /* which query minimizer */
    uint32_t part, seg;
    uint64_t cnt; /* documents in this segment */
    const uint8_t *ids;
    size_t len;
} hit_t;

struct ty_searcher {
    ty_index_t *ix;
    ty_opts_t o;
    ty_query_opts_t q;
    ty_aligner_t *al;
    part_t *parts;
    size_t nparts;
    TY_VEC(hit_t) hits;
    TY_VEC(uint64_t) qdf;    /* per query minimizer: documents over all parts (sharded) */
    TY_VEC(uint32_t) qfirst; /* per query minimizer: its lowest global id (sharded) */
    ZSTD_DCtx *dc;
    char *buf;
    size_t cap;
    uint32_t *cnt; /* per document: shared minimizers in this query */
    size_t ncnt;
    TY_VEC(uint32_t) touched;
    TY_VEC(uint64_t) hashes;
    TY_VEC(cand_t) cands;
    TY_VEC(ty_doc_t *) docs; /* loaded candidates, reused */
    TY_VEC(ty_source_t) src;
    TY_VEC(ty_passage_t) pass;
    TY_VEC(size_t) pass_at; /* per source: first passage in pass */
    char err[TY_ERRMSG_SIZE];
};

void ty_query_opts_init(ty_query_opts_t *q)
{
    memset(q, 0, sizeof(*q));
    q->max_sources = 20;
    q->max_candidates = 48;
    q->min_shared = 3;
    q->max_df_frac = 0.0002;
    q->max_df = 0;
    q->min_df_cut = 50;
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
    if (!s->al || !s->dc) {
        ty_searcher_free(s);
        return NULL;
    }
    return s;
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
    free(s->parts);
    free(s->hits.a);
    free(s->qdf.a);
    free(s->qfirst.a);
    ty_aligner_free(s->al);
    ZSTD_freeDCtx(s->dc);
    free(s->buf);
    free(s->cnt);
    free(s->touched.a);
    free(s->hashes.a);
    free(s->cands.a);
    for (size_t i = 0; i < s->docs.n; i++)
        ty_doc_free(s->docs.a[i]);
    free(s->docs.a);
    free(s->src.a);
    free(s->pass.a);
    free(s->pass_at.a);
    free(s);
}

const char *ty_searcher_errmsg(const ty_searcher_t *s) { return s ? s->err : "no searcher"; }

static int mdb_fail(ty_searcher_t *s, const part_t *p, int rc, const char *what)
{
    return ty__err(s->err, rc == ENOMEM ? TY_ENOMEM : TY_EIO, "%s: %s: %s", p->ix->path, what,
                   mdb_strerror(rc));
}

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
            return mdb_fail(s, p, rc, "begin");
        }
        index_counts_t c;
        free(p->segs);
        p->segs = NULL;
        p->nsegs = 0;
        rc = ty__counts_get(p->ix, p->txn, &c, s->err);
        if (!rc)
            rc = ty__read_segs(p->ix, p->txn, &p->segs, &p->nsegs, s->err);
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
    if (s->ncnt < total) {
        uint32_t *p = realloc(s->cnt, total * sizeof(uint32_t));
        if (!p)
            return ty__err(s->err, TY_ENOMEM, "out of memory");
        memset(p + s->ncnt, 0, (total - s->ncnt) * sizeof(uint32_t));
        s->cnt = p;
        s->ncnt = total;
    }
    return TY_OK;
}

static void end(ty_searcher_t *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].txn)
            mdb_txn_reset(s->parts[i].txn);
}

/* Minimizers in more documents than this are skipped. */
static uint64_t df_limit(const ty_searcher_t *s)
{
    uint64_t hist[TY_HIST_BUCKETS], keys = 0;
    memset(hist, 0, sizeof hist);
    if (s->ix->shards) /* counts over all shards together, from the manifest */
        memcpy(hist, s->ix->shards->hist, sizeof hist);
    else
        for (size_t i = 0; i < s->parts[0].nsegs; i++)
            for (int b = 0; b < TY_HIST_BUCKETS; b++)
                hist[b] += s->parts[0].segs[i].rec.hist[b];
    for (int b = 0; b < TY_HIST_BUCKETS; b++)
        keys += hist[b];
    uint64_t allowed = (uint64_t)(s->q.max_df_frac * (double)keys), above = 0;
    uint64_t lim = UINT64_MAX;
    for (int b = TY_HIST_BUCKETS - 1; b > 0; b--) {
        above += hist[b];
        if (above > allowed)
            break;
        if (hist[b])
            lim = ty__hist_low(b) - 1; /* every count in bucket b and above is cut */
    }
    if (lim < s->q.min_df_cut)
        lim = s->q.min_df_cut;
    if (s->q.max_df && lim > s->q.max_df)
        lim = s->q.max_df;
    return lim;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->shared != y->shared)
        return x->shared > y->shared ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* min-heap on (shared, -id): the root is the weakest of the kept candidates */
static int weaker(const cand_t *x, const cand_t *y)
{
    if (x->shared != y->shared)
        return x->shared < y->shared;
    return x->id > y->id;
}

static void sift_down(cand_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && weaker(&h[l], &h[m]))
            m = l;
        if (r < n && weaker(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        cand_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Step 1 (inside an open transaction): fill s->cands, best first. */
static int find_candidates(ty_searcher_t *s, const ty_doc_t *q, size_t max)
{
    s->cands.n = 0;
    s->touched.n = 0;
    s->hashes.n = 0;
    ty_seed_t *sd = NULL;
    size_t n = 0;
    int rc = ty_sketch(q, (int)s->ix->hdr.k, (int)s->ix->hdr.w, &sd, &n);
    if (rc)
        return ty__err(s->err, rc, "%s: cannot sketch: %s", ty_doc_name(q), ty_strerror(rc));
    if (ty_vec_reserve(s->hashes, n ? n : 1)) {
        free(sd);
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        s->hashes.a[i] = ty__mkey(sd[i].hash);
    free(sd);
    if (n > 1)
        qsort(s->hashes.a, n, sizeof(uint64_t), cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || s->hashes.a[i] != s->hashes.a[m - 1])
            s->hashes.a[m++] = s->hashes.a[i];
    s->hashes.n = m;
    uint64_t lim = df_limit(s);
    /* pass 1: where each query minimizer is, in every segment of every part */
    s->hits.n = 0;
    if (ty_vec_reserve(s->qdf, m ? m : 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    memset(s->qdf.a, 0, (m ? m : 1) * sizeof(uint64_t));
    for (size_t pi = 0; pi < s->nparts; pi++) {
        const part_t *p = &s->parts[pi];
        for (size_t g = 0; g < p->nsegs; g++) {
            const uint32_t seg = p->segs[g].id, bits = p->segs[g].rec.bits;
            uint8_t kb[8];
            ty__be32(kb, seg);
            int have = 0;
            uint32_t cur = 0;
            MDB_val v = {0, NULL};
            for (size_t i = 0; i < m; i++) {
                /* the keys are sorted: consecutive ones often share a bucket */
                uint32_t bucket = (uint32_t)(s->hashes.a[i] >> (TY_KEY_BITS - bits));
                if (!have || bucket != cur) {
                    ty__be32(kb + 4, bucket);
                    MDB_val k = {8, kb};
                    rc = mdb_get(p->txn, p->ix->post, &k, &v);
                    if (rc && rc != MDB_NOTFOUND)
                        return mdb_fail(s, p, rc, "reading postings");
                    if (rc == MDB_NOTFOUND)
                        v.mv_size = 0;
                    have = 1;
                    cur = bucket;
                }
                if (!v.mv_size)
                    continue;
                bucket_iter_t bi;
                if (ty__bucket_begin(&bi, v.mv_data, v.mv_size, bucket, bits))
                    return ty__err(s->err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged",
                                   p->ix->path, seg, bucket);
                uint64_t key = 0, cnt = 0;
                const uint8_t *ip = NULL;
                size_t il = 0;
                int br;
                while ((br = ty__bucket_next(&bi, &key, &cnt, &ip, &il)) == 1 &&
                       key < s->hashes.a[i])
                    ;
                if (br < 0)
                    return ty__err(s->err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged",
                                   p->ix->path, seg, bucket);
                if (br == 0 || key != s->hashes.a[i])
                    continue;
                hit_t h = {(uint32_t)i, (uint32_t)pi, seg, cnt, ip, il};
                if (ty_vec_push(s->hits, h))
                    return ty__err(s->err, TY_ENOMEM, "out of memory");
                s->qdf.a[i] += cnt;
            }
        }
    }
    /* pass 2: the votes of the minimizers under the cut. Each credits only the first
     * (lowest-id) document of its posting list: see "Votes" at the top. One index keeps its
     * own rule (each segment: its count against the cut, its first id); a sharded one cuts on
     * the count over all shards and credits the lowest global id over all shards — what the
     * one index of the whole input (one segment) does */
    if (s->ix->shards) {
        if (ty_vec_reserve(s->qfirst, m ? m : 1))
            return ty__err(s->err, TY_ENOMEM, "out of memory");
        for (size_t i = 0; i < m; i++)
            s->qfirst.a[i] = UINT32_MAX;
    }
    for (size_t j = 0; j < s->hits.n; j++) {
        const hit_t *h = &s->hits.a[j];
        const part_t *p = &s->parts[h->part];
        if ((s->ix->shards ? s->qdf.a[h->qk] : h->cnt) > lim)
            continue;
        post_iter_t it;
        uint32_t id;
        int pr = ty__post_begin(&it, h->ids, h->len, h->cnt);
        if (!pr)
            pr = ty__post_next(&it, &id);
        if (pr != 1)
            return ty__err(s->err, TY_ECORRUPT, "%s: segment %u: damaged postings", p->ix->path,
                           h->seg);
        if (id >= p->ndocs)
            return ty__err(s->err, TY_ECORRUPT, "%s: segment %u: posting to document %u of %llu",
                           p->ix->path, h->seg, id, (unsigned long long)p->ndocs);
        id += p->base;
        if (s->ix->shards) {
            if (id < s->qfirst.a[h->qk])
                s->qfirst.a[h->qk] = id;
        } else if (!s->cnt[id]++ && ty_vec_push(s->touched, id)) {
            return ty__err(s->err, TY_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; s->ix->shards && i < m; i++) {
        uint32_t id = s->qfirst.a[i];
        if (id != UINT32_MAX && !s->cnt[id]++ && ty_vec_push(s->touched, id))
            return ty__err(s->err, TY_ENOMEM, "out of memory");
    }
    /* keep the best `max` of those sharing at least min_shared: a bounded min-heap */
    if (ty_vec_reserve(s->cands, max ? max : 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    size_t hn = 0;
    for (size_t i = 0; i < s->touched.n; i++) {
        uint32_t id = s->touched.a[i];
        cand_t c = {id, s->cnt[id]};
        s->cnt[id] = 0;
        if (c.shared < s->q.min_shared || !max)
            continue;
        if (hn < max) {
            s->cands.a[hn++] = c;
            if (hn == max)
                for (size_t j = max / 2; j-- > 0;)
                    sift_down(s->cands.a, hn, j);
        } else if (weaker(&s->cands.a[0], &c)) {
            s->cands.a[0] = c;
            sift_down(s->cands.a, hn, 0);
        }
    }
    s->touched.n = 0;
    if (hn > 1)
        qsort(s->cands.a, hn, sizeof(cand_t), cmp_cand);
    s->cands.n = hn;
    return TY_OK;
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
        rc = find_candidates(s, q, max);
    end(s);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->cands.n; i++) {
        ids[i] = s->cands.a[i].id;
        shared[i] = s->cands.a[i].shared;
    }
    *n = s->cands.n;
    return TY_OK;
}

/* The part holding global id (the same order and bases as the index's parts). */
static const part_t *part_of(const ty_searcher_t *s, uint32_t id)
{
    return &s->parts[ty__part_of(s->ix, id)];
}

static int cmp_source(const void *a, const void *b)
{
    const ty_source_t *x = a, *y = b;
    if (x->covered != y->covered)
        return x->covered > y->covered ? -1 : 1;
    if (x->shared != y->shared)
        return x->shared > y->shared ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int ty_searcher_check(ty_searcher_t *s, const ty_doc_t *q, const ty_source_t **out, size_t *n)
{
    if (!s || !q || !out || !n)
        return TY_EINVAL;
    *out = NULL;
    *n = 0;
    s->err[0] = 0;
    s->src.n = 0;
    s->pass.n = 0;
    s->pass_at.n = 0;
    int rc = begin(s);
    if (!rc)
        rc = find_candidates(s, q, s->q.max_candidates);
    while (!rc && s->docs.n < s->cands.n) {
        ty_doc_t *d = ty_doc_new();
        if (!d || ty_vec_push(s->docs, d)) {
            ty_doc_free(d);
            rc = ty__err(s->err, TY_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; !rc && i < s->cands.n; i++) {
        ty_doc_t *d = s->docs.a[i];
        const part_t *pt = part_of(s, s->cands.a[i].id);
        uint32_t local = s->cands.a[i].id - pt->base;
        if (ty__index_deleted_in(pt->ix, pt->txn, local) == 1)
            continue; /* deleted (tombstone): not a source any more */
        /* the stored text was valid when it was added; a failure here means damage, or
         * stricter options (--max-size, --invalid-utf8) than at indexing time */
        rc = ty__index_load_doc(pt->ix, pt->txn, s->dc, local, d, &s->o, &s->buf, &s->cap, s->err);
        if (rc)
            break;
        const ty_passage_t *p;
        size_t np;
        rc = ty_compare(s->al, d, q, &p, &np);
        if (rc) {
            snprintf(s->err, sizeof s->err, "%s", ty_aligner_errmsg(s->al));
            break;
        }
        if (!np)
            continue;
        ty_source_t src;
        memset(&src, 0, sizeof src);
        src.id = s->cands.a[i].id;
        src.doc = d;
        src.shared = s->cands.a[i].shared;
        src.npassages = np;
        src.covered = ty_passages_coverage(p, np);
        if (ty_vec_push(s->pass_at, s->pass.n) || ty_vec_reserve(s->pass, s->pass.n + np) ||
            ty_vec_push(s->src, src)) {
            rc = ty__err(s->err, TY_ENOMEM, "out of memory");
            break;
        }
        memcpy(s->pass.a + s->pass.n, p, np * sizeof(ty_passage_t));
        s->pass.n += np;
    }
    end(s);
    if (rc)
        return rc;
    /* passage pointers now that the passage array has stopped moving */
    for (size_t i = 0; i < s->src.n; i++)
        s->src.a[i].passages = s->pass.a + s->pass_at.a[i];
    if (s->src.n > 1)
        qsort(s->src.a, s->src.n, sizeof(ty_source_t), cmp_source);
    *out = s->src.a;
    *n = s->src.n < s->q.max_sources ? s->src.n : s->q.max_sources;
    return TY_OK;
}
