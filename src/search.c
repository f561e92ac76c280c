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
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "index_impl.h"

/* The vote table's keys are document ids + 1 (0 marks an empty slot). */
static inline size_t vote_home(uint32_t id1) { return ty__hash_id(id1 - 1); }
TY_HASH_MAP_INIT(vote_tab, uint32_t, uint32_t, vote_home)

/* What a candidate is for (see step 2 at the top). */
enum { ROLE_PRIMARY = 1, ROLE_RIVAL, ROLE_HOLDER, ROLE_NONE };

typedef struct {
    uint32_t id, shared;
    uint32_t group; /* pool index of its primary (its own index for a primary) */
    uint32_t role;
    float frac; /* the share of its primary's minimizers it holds (pool_roles) */
} cand_t;

/* A document with enough votes (count_votes). */
typedef struct {
    uint32_t id, votes;
    uint32_t pool; /* its index in the pool, or UINT32_MAX */
} qual_t;

/* An aligned candidate with passages (before the sources are chosen). */
typedef struct {
    size_t cand; /* index in the pool */
    uint32_t id, shared;
    const ty_doc_t *doc;
    size_t pass_at, npass; /* its passages in s->pass (its own ones, once chosen) */
    size_t covered;        /* suspect tokens its (own) passages cover */
    size_t full;           /* ... all its passages cover */
    size_t matched;        /* suspect tokens its passages match in order */
    size_t also_of;        /* the result whose text it holds; SIZE_MAX: none */
    size_t tmp;
} res_t;

/* A stretch of the suspect (tokens [beg, end)) that a source's passage explains. */
typedef struct {
    size_t beg, end, res;
} claim_t;

/* A holder to list, with the rank of its source and its result (SIZE_MAX: not aligned). */
typedef struct {
    size_t src, res;
    float frac; /* the share of its source's text it holds (see cmp_holder) */
    ty_holder_t h;
} holder_t;

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
    size_t at, nid; /* its ids in hid (pass 2; nid = 0: cut) */
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
    TY_VEC(uint32_t) qfirst; /* per query minimizer: its lowest global id */
    TY_VEC(uint8_t) qfull;   /* per query minimizer: every holder votes */
    TY_VEC(uint32_t) dfhist; /* mark_full() */
    ZSTD_DCtx *dc;
    char *buf;
    size_t cap;
    TY_VEC(qual_t) qual; /* the documents with at least min_shared votes, most first */
    TY_VEC(uint64_t) hashes;
    TY_VEC(uint32_t)
    hid;                    /* every posting of the query's minimizers under the cut (a
                             * hit's ids: hid[at, at + nid)) */
    TY_VEC(uint32_t) slot;  /* per posting in hid: its slot (count_votes) */
    vote_tab_t votes;       /* the votes: document + 1 -> count */
    TY_VEC(uint32_t) tqual; /* per votes slot: its index in qual */
    TY_VEC(uint32_t) tally; /* per pool member: scratch of choose() */
    TY_VEC(uint32_t) fresh; /* per qual document: scratch of pool_more() */
    TY_VEC(cand_t) pool;    /* the documents sharing most minimizers, best first */
    TY_VEC(uint64_t) bits;  /* per pool member: which query minimizers it holds */
    TY_VEC(uint64_t)
    covered;                 /* query minimizers held by a primary; then (w words on) the
                              * minimizers every holder voted for */
    TY_VEC(uint32_t) owner;  /* per query minimizer: the first primary holding it */
    TY_VEC(uint32_t) prim;   /* pool indices of the primaries */
    TY_VEC(size_t) more;     /* per pool member (a primary): holders outside the pool */
    TY_VEC(size_t) cands;    /* pool indices to align, in order */
    TY_VEC(ty_doc_t *) docs; /* loaded candidates, reused */
    TY_VEC(res_t) res;
    TY_VEC(ty_source_t) src;
    TY_VEC(ty_passage_t) pass;
    TY_VEC(size_t) pass_at; /* per passage in pass: its index in its ty_compare() output */
    TY_VEC(claim_t) claims;
    TY_VEC(holder_t) hsort;
    TY_VEC(ty_holder_t) hold;
    TY_VEC(size_t) name_at; /* per holder: its name in names */
    TY_VEC(char) names;
    char err[TY_ERRMSG_SIZE];
};

void ty_query_opts_init(ty_query_opts_t *q)
{
    memset(q, 0, sizeof(*q));
    q->max_sources = 20;
    q->max_candidates = 16;
    q->min_shared = 3;
    q->max_df_frac = 0.0002;
    q->max_df = 0;
    q->min_df_cut = 50;
    q->max_also = 10;
    q->postings_per_minimizer = 4;
}

int ty_query_opts_check(const ty_query_opts_t *q, char *msg, size_t msg_size)
{
    const char *bad = NULL;
    if (q->max_sources < 1)
        bad = "max_sources must be at least 1";
    else if (q->max_candidates < 1)
        bad = "max_candidates must be at least 1";
    else if (q->min_shared < 1)
        bad = "min_shared must be at least 1";
    else if (!(q->max_df_frac >= 0 && q->max_df_frac < 1))
        bad = "max_df_frac must be at least 0 and below 1";
    else if (q->postings_per_minimizer < 1)
        bad = "postings_per_minimizer must be at least 1";
    return ty__opts_verdict(bad, NULL, msg, msg_size);
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
    free(s->qfull.a);
    free(s->dfhist.a);
    ty_aligner_free(s->al);
    ZSTD_freeDCtx(s->dc);
    free(s->buf);
    free(s->qual.a);
    free(s->hashes.a);
    free(s->hid.a);
    free(s->slot.a);
    vote_tab_free(&s->votes);
    free(s->tqual.a);
    free(s->tally.a);
    free(s->fresh.a);
    free(s->pool.a);
    free(s->bits.a);
    free(s->covered.a);
    free(s->owner.a);
    free(s->prim.a);
    free(s->more.a);
    free(s->cands.a);
    for (size_t i = 0; i < s->docs.n; i++)
        ty_doc_free(s->docs.a[i]);
    free(s->docs.a);
    free(s->res.a);
    free(s->src.a);
    free(s->pass.a);
    free(s->pass_at.a);
    free(s->claims.a);
    free(s->hsort.a);
    free(s->hold.a);
    free(s->name_at.a);
    free(s->names.a);
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
    (void)total;
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

#define NO_OWNER UINT32_MAX

/* A candidate is a rival of its primary when it holds this share of the primary's
 * minimizers, and is listed as another holder of its text from HOLDER_SHARE (see step 2 at
 * the top). */
#define RIVAL_SHARE 0.8
#define HOLDER_SHARE 0.2
/* At most this many rivals of a primary are aligned (the strongest: they are the ones that
 * may explain the suspect better; the others are listed as holders). */
#define RIVALS_MAX 2
/* The pool: the documents with most votes, max_candidates + POOL_SOURCES * max_also of them
 * (room for the ones to align and the holders of the first sources; pool_more adds the
 * documents past it that explain text of their own), at most POOL_MAX. */
#define POOL_SOURCES 4
#define POOL_MAX 4096

static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}

static inline unsigned ctz64(uint64_t x) { return popcount64((x & (~x + 1)) - 1); }

/* The index in s->qual of the document of posting k of s->hid, or UINT32_MAX. */
static inline uint32_t qual_of(const ty_searcher_t *s, size_t k)
{
    return s->tqual.a[s->slot.a[k]];
}

/* The votes: every id in s->hid is one vote (a query minimizer held), counted in a small
 * open-addressing table (about twice the postings: it stays in the cache, where an array of
 * one counter per indexed document, touched at random, does not); each posting keeps its
 * slot (s->slot) so that the later passes over the postings look nothing up again. The
 * documents with at least qual_at votes go to s->qual (in table order: every choice made
 * from it is by votes, then id). */
static int count_votes(ty_searcher_t *s, uint32_t qual_at)
{
    size_t n = s->hid.n;
    s->qual.n = 0;
    if (vote_tab_reset(&s->votes, n) || ty_vec_reserve(s->slot, n + 1) ||
        ty_vec_reserve(s->tqual, s->votes.cap))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    vote_tab_t *t = &s->votes; /* sized for n keys: the puts do not grow it */
    for (size_t i = 0; i < n; i++) {
        int isnew;
        size_t x = vote_tab_put(t, s->hid.a[i] + 1, &isnew);
        t->val[x]++;
        s->slot.a[i] = (uint32_t)x;
    }
    for (size_t x = 0; x < t->cap; x++) {
        s->tqual.a[x] = UINT32_MAX;
        if (t->val[x] < qual_at) /* empty slots hold 0 votes */
            continue;
        qual_t q = {t->key[x] - 1, t->val[x], UINT32_MAX};
        s->tqual.a[x] = (uint32_t)s->qual.n;
        if (ty_vec_push(s->qual, q))
            return ty__err(s->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

static int pool_bits(ty_searcher_t *s, size_t m, size_t from);

/* The pool (s->pool, best first): the cap documents of s->qual with most votes (ties: lower
 * id); and which query minimizers each member holds (s->bits, w words a member). */
static int pool_fill(ty_searcher_t *s, size_t m, size_t cap)
{
    size_t hn = 0;
    if (ty_vec_reserve(s->pool, cap + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    cand_t *h = s->pool.a; /* a bounded min-heap, then sorted */
    for (size_t i = 0; i < s->qual.n; i++) {
        cand_t c = {s->qual.a[i].id, s->qual.a[i].votes, (uint32_t)i, ROLE_NONE, 0};
        if (hn < cap) {
            h[hn++] = c;
            if (hn == cap)
                for (size_t j = cap / 2; j-- > 0;)
                    sift_down(h, hn, j);
        } else if (weaker(&h[0], &c)) {
            h[0] = c;
            sift_down(h, hn, 0);
        }
    }
    if (hn > 1)
        qsort(h, hn, sizeof(cand_t), cmp_cand);
    for (size_t i = 0; i < hn; i++) { /* group: its index in qual, until the roles */
        s->qual.a[h[i].group].pool = (uint32_t)i;
        h[i].group = 0;
    }
    s->pool.n = hn;
    return pool_bits(s, m, 0);
}

/* Which query minimizers the pool members [from, pool.n) hold (s->bits, w words each). */
static int pool_bits(ty_searcher_t *s, size_t m, size_t from)
{
    size_t w = (m + 63) / 64, hn = s->pool.n;
    if (ty_vec_reserve(s->bits, hn * w + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    uint64_t *bits = s->bits.a;
    memset(bits + from * w, 0, (hn - from) * w * sizeof(uint64_t));
    for (size_t j = 0; j < s->hits.n; j++) {
        const hit_t *x = &s->hits.a[j];
        uint64_t bit = UINT64_C(1) << (x->qk % 64);
        for (size_t k = x->at; k < x->at + x->nid; k++) {
            uint32_t r = qual_of(s, k);
            if (r != UINT32_MAX && s->qual.a[r].pool != UINT32_MAX && s->qual.a[r].pool >= from)
                bits[(size_t)s->qual.a[r].pool * w + x->qk / 64] |= bit;
        }
    }
    return TY_OK;
}

/* The roles, greedily in pool order: a member holding at least min_shared minimizers that no
 * primary before it holds is a primary (it explains text of the query no better candidate
 * explains; it owns those minimizers); any other goes with the primary owning most of its
 * minimizers, as a rival or a holder of its text by the share of that primary's minimizers
 * it holds (or as nothing). cov, full: w words each. */
static void pool_roles(ty_searcher_t *s, size_t m, uint64_t *cov, const uint64_t *full, size_t from)
{
    cand_t *h = s->pool.a;
    const uint64_t *bits = s->bits.a;
    size_t w = (m + 63) / 64;
    if (!from) {
        for (size_t k = 0; k < m; k++)
            s->owner.a[k] = NO_OWNER;
        memset(cov, 0, w * sizeof(uint64_t));
    }
    memset(s->tally.a, 0, s->pool.n * sizeof(uint32_t));
    for (size_t i = from; i < s->pool.n; i++) {
        const uint64_t *row = bits + i * w;
        size_t fresh = 0;
        for (size_t x = 0; x < w; x++)
            fresh += popcount64(row[x] & ~cov[x]);
        if (fresh >= s->q.min_shared) {
            for (size_t x = 0; x < w; x++) {
                for (uint64_t f = row[x] & ~cov[x]; f; f &= f - 1)
                    s->owner.a[x * 64 + ctz64(f)] = (uint32_t)i;
                cov[x] |= row[x];
            }
            h[i].role = ROLE_PRIMARY;
            h[i].group = (uint32_t)i;
            h[i].frac = 1;
            s->prim.a[s->prim.n++] = (uint32_t)i;
            continue;
        }
        uint32_t best = NO_OWNER, bo = 0;
        for (int pass = 0; pass < 2; pass++) /* tally the owners, then clear the tally */
            for (size_t x = 0; x < w; x++)
                for (uint64_t f = row[x]; f; f &= f - 1) {
                    uint32_t o = s->owner.a[x * 64 + ctz64(f)];
                    if (o == NO_OWNER)
                        continue;
                    if (pass) {
                        s->tally.a[o] = 0;
                        continue;
                    }
                    uint32_t t = ++s->tally.a[o];
                    if (t > bo || (t == bo && o < best)) {
                        bo = t;
                        best = o;
                    }
                }
        h[i].role = ROLE_NONE;
        if (best == NO_OWNER) /* cannot be: it holds fewer than min_shared of its own */
            continue;
        /* the share of that primary's minimizers it holds, counted on those every holder
         * voted for (the others credited only their lowest-id holder, which says nothing of
         * the rest) unless there are too few of those */
        const uint64_t *prow = bits + (size_t)best * w;
        size_t all = 0, of = 0, pf = 0;
        for (size_t x = 0; x < w; x++) {
            uint64_t both = row[x] & prow[x];
            all += popcount64(both);
            of += popcount64(both & full[x]);
            pf += popcount64(prow[x] & full[x]);
        }
        int on_full = pf >= 2 * (size_t)s->q.min_shared;
        double frac = (double)(on_full ? of : all) / (on_full ? (double)pf : h[best].shared);
        /* a rival may explain the suspect as well as its primary */
        h[i].group = best;
        h[i].frac = (float)frac;
        h[i].role = frac >= RIVAL_SHARE    ? ROLE_RIVAL
                    : frac >= HOLDER_SHARE ? ROLE_HOLDER
                                           : ROLE_NONE;
    }
}

/* Documents past the pool holding a primary's text, told as the roles tell them (pool_roles):
 * at least HOLDER_SHARE of the primary's minimizers that every holder voted for (when it has
 * 2 x min_shared of those; else HOLDER_SHARE of its votes, if the pool's weakest has that
 * many). Counted into s->more, with the first primary (in pool order) whose text they hold.
 * cnt: per qual document, zero (left so). */
static void count_past_pool(ty_searcher_t *s, size_t m, const uint64_t *full, uint32_t *cnt)
{
    cand_t *h = s->pool.a;
    size_t hn = s->pool.n, w = (m + 63) / 64;
    for (size_t i = 0; i < hn; i++)
        s->more.a[i] = 0;
    if (s->qual.n <= hn)
        return;
    for (size_t p = 0; p < s->prim.n; p++) {
        uint32_t i = s->prim.a[p];
        const uint64_t *row = s->bits.a + (size_t)i * w;
        size_t pf = 0;
        for (size_t x = 0; x < w; x++)
            pf += popcount64(row[x] & full[x]);
        int on_full = pf >= 2 * (size_t)s->q.min_shared;
        uint32_t bar = (uint32_t)ceil(HOLDER_SHARE * (double)(on_full ? pf : h[i].shared));
        if (!on_full && bar < s->q.min_shared)
            bar = s->q.min_shared;
        if (!on_full && bar > h[hn - 1].shared)
            continue; /* the pool holds every document with that many votes */
        for (int pass = 0; pass < 2; pass++) /* count, then clear the counts */
            for (size_t j = 0; j < s->hits.n; j++) {
                const hit_t *x = &s->hits.a[j];
                if (!(row[x->qk / 64] >> (x->qk % 64) & 1) || (on_full && !s->qfull.a[x->qk]))
                    continue;
                for (size_t k = x->at; k < x->at + x->nid; k++) {
                    uint32_t r = qual_of(s, k);
                    if (r == UINT32_MAX || s->qual.a[r].pool != UINT32_MAX)
                        continue;
                    if (pass)
                        cnt[r] = 0;
                    else if (s->qual.a[r].votes &&
                             (on_full ? ++cnt[r] == bar : s->qual.a[r].votes >= bar)) {
                        s->more.a[i]++;
                        s->qual.a[r].votes = 0; /* counted once */
                    }
                }
            }
    }
}

/* Documents past the pool that hold at least min_shared minimizers no primary holds: they
 * explain text of the query of their own (a short passage whose minimizers the many holders
 * of a longer one outvote). Up to max of them join the pool, most votes first, and get their
 * roles like the others. cov: the minimizers the primaries hold. */
static int pool_more(ty_searcher_t *s, size_t m, const uint64_t *cov, const uint64_t *full,
                     size_t max)
{
    if (s->qual.n <= s->pool.n || !max)
        return TY_OK;
    if (ty_vec_reserve(s->fresh, s->qual.n + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    uint32_t *fresh = s->fresh.a;
    memset(fresh, 0, s->qual.n * sizeof(uint32_t));
    for (size_t j = 0; j < s->hits.n; j++) {
        const hit_t *x = &s->hits.a[j];
        if (cov[x->qk / 64] >> (x->qk % 64) & 1)
            continue;
        for (size_t k = x->at; k < x->at + x->nid; k++) {
            uint32_t r = qual_of(s, k);
            if (r != UINT32_MAX && s->qual.a[r].pool == UINT32_MAX)
                fresh[r]++;
        }
    }
    size_t from = s->pool.n, n = 0;
    cand_t *h = s->pool.a;
    for (size_t r = 0; r < s->qual.n; r++) { /* a bounded min-heap after the pool */
        if (fresh[r] < s->q.min_shared)
            continue;
        cand_t c = {s->qual.a[r].id, s->qual.a[r].votes, (uint32_t)r, ROLE_NONE, 0};
        if (n < max) {
            h[from + n++] = c;
            if (n == max)
                for (size_t j = max / 2; j-- > 0;)
                    sift_down(h + from, n, j);
        } else if (weaker(&h[from], &c)) {
            h[from] = c;
            sift_down(h + from, n, 0);
        }
    }
    if (!n)
        return TY_OK;
    if (n > 1)
        qsort(h + from, n, sizeof(cand_t), cmp_cand);
    for (size_t i = from; i < from + n; i++) {
        s->qual.a[h[i].group].pool = (uint32_t)i;
        h[i].group = 0;
    }
    s->pool.n = from + n;
    int rc = pool_bits(s, m, from);
    if (rc)
        return rc;
    pool_roles(s, m, (uint64_t *)cov, full, from);
    return TY_OK;
}

/* From the votes (s->qual, from the postings in s->hid per hit): the pool with each member's role
 * and group, and the pool indices to align in s->cands (at most max: the primaries, then the
 * rivals). See "Candidates" at the top. */
static int choose(ty_searcher_t *s, size_t m, size_t max)
{
    s->pool.n = s->cands.n = s->prim.n = 0;
    size_t cap = max ? max + POOL_SOURCES * s->q.max_also : 0;
    if (cap > POOL_MAX)
        cap = POOL_MAX;
    if (!cap || !s->qual.n)
        return TY_OK;
    if (ty_vec_reserve(s->pool, cap + max + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    int rc = pool_fill(s, m, cap);
    if (rc)
        return rc;
    size_t w = (m + 63) / 64, most = s->pool.n + max;
    if (ty_vec_reserve(s->covered, 2 * w + 1) || ty_vec_reserve(s->owner, m + 1) ||
        ty_vec_reserve(s->prim, most + 1) || ty_vec_reserve(s->more, most + 1) ||
        ty_vec_reserve(s->tally, most + 1) || ty_vec_reserve(s->cands, max + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    uint64_t *cov = s->covered.a, *full = s->covered.a + w;
    memset(full, 0, w * sizeof(uint64_t));
    for (size_t k = 0; k < m; k++)
        if (s->qfull.a[k])
            full[k / 64] |= UINT64_C(1) << (k % 64);
    pool_roles(s, m, cov, full, 0);
    if ((rc = pool_more(s, m, cov, full, max)))
        return rc;
    size_t hn = s->pool.n;
    for (size_t i = 0; i < hn && s->cands.n < max; i++)
        if (s->pool.a[i].role == ROLE_PRIMARY)
            s->cands.a[s->cands.n++] = i;
    /* rivals: the strongest RIVALS_MAX of each primary (tally: how many so far) */
    for (size_t i = 0; i < hn && s->cands.n < max; i++)
        if (s->pool.a[i].role == ROLE_RIVAL && s->tally.a[s->pool.a[i].group]++ < RIVALS_MAX)
            s->cands.a[s->cands.n++] = i;
    memset(s->tally.a, 0, hn * sizeof(uint32_t));
    if (ty_vec_reserve(s->fresh, s->qual.n + 1))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    memset(s->fresh.a, 0, s->qual.n * sizeof(uint32_t));
    count_past_pool(s, m, full, s->fresh.a);
    return TY_OK;
}

/* Which query minimizers under the cut lim have every holder vote (s->qfull): the rarest,
 * as many as fit in postings_per_minimizer x m postings (among equally rare ones, the first in
 * query minimizer order). A histogram of the counts, not a sort: one past FULL_HIST - 1 documents
 * never fits a budget of any sense. Clears s->qfirst too. */
#define FULL_HIST 4096
static int mark_full(ty_searcher_t *s, size_t m, uint64_t lim)
{
    if (ty_vec_reserve(s->qfull, m + 1) || ty_vec_reserve(s->qfirst, m + 1) ||
        ty_vec_reserve(s->dfhist, FULL_HIST))
        return ty__err(s->err, TY_ENOMEM, "out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < m; i++) {
        s->qfull.a[i] = 0;
        s->qfirst.a[i] = UINT32_MAX;
        if (s->qdf.a[i] <= lim)
            total += s->qdf.a[i];
    }
    uint64_t below = FULL_HIST, part = 0; /* full: count < below, and part of those = below */
    uint64_t budget = (uint64_t)s->q.postings_per_minimizer * m;
    if (total > budget) {
        uint32_t *hist = s->dfhist.a;
        memset(hist, 0, FULL_HIST * sizeof(uint32_t));
        for (size_t i = 0; i < m; i++)
            if (s->qdf.a[i] <= lim && s->qdf.a[i] < FULL_HIST)
                hist[s->qdf.a[i]]++;
        uint64_t left = budget;
        for (uint64_t d = 1; d < FULL_HIST; d++) {
            if ((uint64_t)hist[d] * d <= left) {
                left -= (uint64_t)hist[d] * d;
                continue;
            }
            below = d;
            part = left / d;
            break;
        }
    } else {
        below = UINT64_MAX;
    }
    for (size_t i = 0; i < m; i++) {
        uint64_t d = s->qdf.a[i];
        if (!d || d > lim)
            continue;
        if (d < below)
            s->qfull.a[i] = 1;
        else if (d == below && part) {
            s->qfull.a[i] = 1;
            part--;
        }
    }
    return TY_OK;
}

/* Pass 2 of find_candidates: the postings of the query's minimizers under the cut lim
 * (s->hits[0, nhits): pass 1) into s->hid, every holder of those marked full (s->qfull), the
 * lowest-id holder of each other one as a hit of one id; then the votes. */
static int gather_votes(ty_searcher_t *s, size_t m, uint64_t lim, size_t nhits)
{
    int rc = TY_OK;
    s->hid.n = 0;
    s->hits.n = nhits;
    for (size_t j = 0; !rc && j < nhits; j++) {
        hit_t *h = &s->hits.a[j];
        const part_t *p = &s->parts[h->part];
        h->at = s->hid.n;
        h->nid = 0;
        if (s->qdf.a[h->qk] > lim)
            continue;
        int full = s->qfull.a[h->qk];
        if (full && ty_vec_reserve(s->hid, s->hid.n + h->cnt)) {
            rc = ty__err(s->err, TY_ENOMEM, "out of memory");
            break;
        }
        post_iter_t it;
        uint32_t id;
        int pr = ty__post_begin(&it, h->ids, h->len, h->cnt);
        while (pr == TY_OK && (pr = ty__post_next(&it, &id)) == 1) {
            if (id >= p->ndocs) {
                rc = ty__err(s->err, TY_ECORRUPT, "%s: segment %u: posting to document %u of %llu",
                             p->ix->path, h->seg, id, (unsigned long long)p->ndocs);
                break;
            }
            id += p->base;
            if (!full) { /* the list is in id order: its first is its lowest */
                if (id < s->qfirst.a[h->qk])
                    s->qfirst.a[h->qk] = id;
                break;
            }
            s->hid.a[s->hid.n++] = id;
            pr = TY_OK;
        }
        h->nid = s->hid.n - h->at;
        if (!rc && pr < 0)
            rc = ty__err(s->err, TY_ECORRUPT, "%s: segment %u: damaged postings", p->ix->path,
                         h->seg);
    }
    /* the credits of the others, as hits of one id each */
    for (uint32_t k = 0; !rc && k < m; k++) {
        uint32_t id = s->qfirst.a[k];
        if (s->qfull.a[k] || id == UINT32_MAX)
            continue;
        hit_t h = {k, 0, 0, 1, NULL, 0, s->hid.n, 1};
        if (ty_vec_push(s->hits, h) || ty_vec_push(s->hid, id))
            return ty__err(s->err, TY_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = count_votes(s, s->q.min_shared < 1 ? 1 : s->q.min_shared);
    return rc;
}

/* A primary's holders are told by the share of its minimizers that every holder voted for
 * (pool_roles, count_past_pool: at least 2 x min_shared of them). When the budget left a
 * primary fewer — its text is held by so many documents that its minimizers did not fit —
 * its rarest other minimizers under the cut lim are counted in full too (s->qfull), up to
 * WIDEN_POSTINGS postings a query in all (a text held by 10,000 documents: 6 x 10,001).
 * Returns whether any was: the votes are then counted again. */
#define WIDEN_POSTINGS (UINT64_C(1) << 16)
static int widen_full(ty_searcher_t *s, size_t m, uint64_t lim)
{
    size_t w = (m + 63) / 64, need = 2 * (size_t)s->q.min_shared;
    const uint64_t *full = s->covered.a + w; /* choose() */
    uint64_t left = WIDEN_POSTINGS;
    int any = 0;
    for (size_t p = 0; p < s->prim.n; p++) {
        const uint64_t *row = s->bits.a + (size_t)s->prim.a[p] * w;
        size_t pf = 0;
        for (size_t x = 0; x < w; x++)
            pf += popcount64(row[x] & full[x]);
        for (; pf < need; pf++) {
            size_t best = SIZE_MAX;
            for (size_t k = 0; k < m; k++)
                if ((row[k / 64] >> (k % 64) & 1) && !s->qfull.a[k] && s->qdf.a[k] &&
                    s->qdf.a[k] <= lim && (best == SIZE_MAX || s->qdf.a[k] < s->qdf.a[best]))
                    best = k;
            if (best == SIZE_MAX || s->qdf.a[best] > left)
                break;
            left -= s->qdf.a[best];
            s->qfull.a[best] = 1;
            any = 1;
        }
    }
    return any;
}

/* Step 1 (inside an open transaction): fill s->cands, best first. */
static int find_candidates(ty_searcher_t *s, const ty_doc_t *q, size_t max)
{
    s->cands.n = 0;
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
                hit_t h = {(uint32_t)i, (uint32_t)pi, seg, cnt, ip, il, 0, 0};
                if (ty_vec_push(s->hits, h))
                    return ty__err(s->err, TY_ENOMEM, "out of memory");
                s->qdf.a[i] += cnt;
            }
        }
    }
    /* pass 2: the votes (see "Votes" at the top); then the pool. When a primary has too few
     * minimizers that every holder voted for to tell its holders (widen_full), its rarest
     * others are counted in full too, and the votes are counted again. */
    size_t nhits = s->hits.n;
    rc = mark_full(s, m, lim);
    if (!rc)
        rc = gather_votes(s, m, lim, nhits);
    if (!rc)
        rc = choose(s, m, max);
    if (!rc && widen_full(s, m, lim)) {
        for (size_t k = 0; k < m; k++)
            s->qfirst.a[k] = UINT32_MAX;
        rc = gather_votes(s, m, lim, nhits);
        if (!rc)
            rc = choose(s, m, max);
    }
    return rc;
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
        return mdb_fail(s, pt, rc, "reading a document record");
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
                    rc = d < 0 ? mdb_fail(s, pt, MDB_PANIC, "reading tombstones") : d;
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
        rc = find_candidates(s, q, s->q.max_candidates);
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
