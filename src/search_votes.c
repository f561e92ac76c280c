/*
 * search_votes.c — steps 1 and 2 of a search (search.c describes them): the votes of the
 * query's minimizers over every part of the index, the pool of the documents with most
 * votes, their roles (primary, rival, holder) and the candidates to align.
 */
#include <math.h>
#include <string.h>

#include "heap.h"
#include "search.h"

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
static inline int weaker(const void *ctx, const cand_t *x, const cand_t *y)
{
    (void)ctx;
    if (x->shared != y->shared)
        return x->shared < y->shared;
    return x->id > y->id;
}

TY_HEAP_INIT(candheap, cand_t, const void *, weaker)

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
        candheap_keep(h, &hn, cap, c, NULL);
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
        candheap_keep(h + from, &n, max, c, NULL);
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
int ty__search_candidates(ty_searcher_t *s, const ty_doc_t *q, size_t max)
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
                        return ty__search_mdb_fail(s, p, rc, "reading postings");
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
