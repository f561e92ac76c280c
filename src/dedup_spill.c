/*
 * dedup_spill.c — what the one-process dedup engine keeps on disk when its memory budget
 * (ty_dedup_opts_t.memory, `dedup --memory`) would be passed, over spill.c's stores and sorted
 * runs: its tables of first documents (exact and band keys), asked in memory and then in the
 * runs, and spun mode's minimizer table — document frequencies summed over the runs, a batch's
 * minimizers joined against them in one merge (docs/dedup.md, "Memory").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spill.h"
#include "thread.h"

/* ---- the engine's tables of first documents, in memory and in runs ------------------------ */

/* exact key: (lo as the table stores it, hi, first document); band key: (key, document) */
#define EX_REC 20
#define BAND_REC 12

int ty__dd_ex_get(const ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t *g)
{
    *g = ty__xmap_get(&dd->ex, lo, hi);
    if (*g != NONE || !dd->exr.r.n)
        return TY_OK;
    char rec[EX_REC];
    int found = ty__sruns_find(&dd->exr, ty__fix_key(lo), rec);
    if (found < 0)
        return found;
    if (found && memcmp(rec + 8, &hi, 8) == 0)
        memcpy(g, rec + 16, 4);
    return TY_OK;
}

int ty__dd_ex_first(ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t g, uint32_t *first)
{
    char rec[EX_REC];
    int found = dd->exr.r.n ? ty__sruns_find(&dd->exr, ty__fix_key(lo), rec) : 0;
    if (found < 0)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    if (!found)
        return ty__xmap_first(&dd->ex, lo, hi, g, first) ? TY_ENOMEM : TY_OK;
    *first = NONE; /* a key is in one place: the runs have it, the memory table has not */
    if (memcmp(rec + 8, &hi, 8) == 0)
        memcpy(first, rec + 16, 4);
    return TY_OK;
}

int ty__dd_band(ty_dedup_t *dd, uint64_t key, uint32_t g, uint32_t *first)
{
    char rec[BAND_REC];
    int found = dd->bandr.r.n ? ty__sruns_find(&dd->bandr, key, rec) : 0;
    if (found < 0)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    if (found) {
        memcpy(first, rec + 8, 4);
        return TY_OK;
    }
    int isnew;
    ty__kv_t *e = ty__map_put(&dd->bands, key, &isnew);
    if (!e)
        return TY_ENOMEM;
    if (isnew)
        e->val = g;
    *first = isnew ? NONE : e->val;
    return TY_OK;
}

/* The memory tables out as runs, and started again empty. Each table's slots are sorted in
 * place by key (the occupied ones moved to the end, the n slots [cap - n, cap) sorted) and the
 * records are packed from them as they are written: no second copy of a table is made when
 * memory is short. */
static int cmp_u64_first(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return x < y ? -1 : x > y;
}

/* The slots of a hash table (16 bytes, the key in the first 8) sorted by key in place: one
 * split at a sampled median, then in each half (on a thread of its own, ty__for) one pass of an
 * American flag sort by the 16 bits below the highest its keys differ in, then each bucket by
 * the same sort on the next 8 bits, and so on, small ones by insertion. No second copy of the
 * table is made (glibc's qsort, a merge sort, takes one when it can, and it was a seventh of a
 * spilling run's time). */
typedef struct {
    uint64_t k, v;
} slot16_t;

/* a[0..n) by key, whose bits above shift + 8 are the same in all */
static void flag_sort(slot16_t *a, size_t n, int shift)
{
    if (shift <= -8) /* all the bits are the same: equal keys */
        return;
    if (shift < 0) /* fewer than 8 bits left: bit 7 and above are the same */
        shift = 0;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            slot16_t x = a[i];
            size_t j = i;
            for (; j && a[j - 1].k > x.k; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t cnt[256] = {0}, next[256], end[256];
    for (size_t i = 0; i < n; i++)
        cnt[(a[i].k >> shift) & 255]++;
    for (size_t b = 0, at = 0; b < 256; b++) {
        next[b] = at;
        at += cnt[b];
        end[b] = at;
    }
    for (size_t b = 0; b < 256; b++)
        while (next[b] < end[b]) { /* a cycle: each slot moved once into its bucket */
            slot16_t x = a[next[b]];
            size_t d = (size_t)(x.k >> shift) & 255;
            while (d != b) {
                slot16_t y = a[next[d]];
                a[next[d]++] = x;
                x = y;
                d = (size_t)(x.k >> shift) & 255;
            }
            a[next[b]++] = x;
        }
    for (size_t b = 0, at = 0; b < 256; at += cnt[b++])
        if (cnt[b] > 1)
            flag_sort(a + at, cnt[b], shift - 8);
}
_Static_assert(sizeof(ty__kv_t) == 16 && sizeof(ty__xkv_t) == 16, "16-byte slots");

/* a[0..n) by key, whose bits above shift + 16 are the same in all: one pass on the 16 bits
 * from shift (a cycle: each slot moved once into its bucket), then each bucket by flag_sort */
static int sort16(slot16_t *a, size_t n, int shift)
{
    const size_t nb = (size_t)1 << 16;
    size_t *start = calloc(nb + 1, sizeof *start), *next = malloc(nb * sizeof *next);
    if (!start || !next) {
        free(start);
        free(next);
        return TY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        start[((a[i].k >> shift) & 0xFFFF) + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    memcpy(next, start, nb * sizeof *next);
    for (size_t b = 0; b < nb; b++)
        while (next[b] < start[b + 1]) {
            slot16_t x = a[next[b]];
            size_t d = (size_t)(x.k >> shift) & 0xFFFF;
            while (d != b) {
                slot16_t y = a[next[d]];
                a[next[d]++] = x;
                x = y;
                d = (size_t)(x.k >> shift) & 0xFFFF;
            }
            a[next[b]++] = x;
        }
    free(next);
    for (size_t b = 0; b < nb; b++)
        if (start[b + 1] - start[b] > 1)
            flag_sort(a + start[b], start[b + 1] - start[b], shift - 8);
    free(start);
    return TY_OK;
}

/* The two halves of a table, split at a sampled median of its keys, each sorted on a thread of
 * its own. */
typedef struct {
    slot16_t *a;
    size_t at[3];
    int rc[2];
} sortjob_t;

static void sort_half(void *data, size_t h, int tid)
{
    (void)tid;
    sortjob_t *j = data;
    slot16_t *a = j->a + j->at[h];
    size_t n = j->at[h + 1] - j->at[h];
    uint64_t all = ~(uint64_t)0, any = 0; /* the bits set in all keys, in any */
    for (size_t i = 0; i < n; i++) {
        all &= a[i].k;
        any |= a[i].k;
    }
    /* the first pass on the 16 bits below the highest the keys differ in (not always bit 63:
     * minimizers have fewer bits) */
    int top = any ^ all ? 63 - __builtin_clzll(any ^ all) : -1;
    if (top < 24) /* a handful of keys, or keys of few bits */
        qsort(a, n, sizeof(slot16_t), cmp_u64_first);
    else
        j->rc[h] = sort16(a, n, top - 15);
}

static void sort_slots(void *base, size_t cap, int threads)
{
    /* the occupied slots moved to the end first (one sequential pass), the rest left as it is:
     * the sort then moves n slots, not cap, and the empty ones (key 0) do not make one bucket
     * that one thread would sort down to its last bit */
    slot16_t *a = base;
    size_t at = cap;
    for (size_t i = cap; i-- > 0;)
        if (a[i].k)
            a[--at] = a[i];
    a += at;
    size_t n = cap - at, lo = 0, hi = n;
    /* split at the median of 1,023 keys spread over the table: minimizers are the smallest
     * hashes of their windows, most of them far below half the range, so a split by a bit
     * would give one thread nearly all of them (it did: by bit 63, then by the highest bit the
     * keys differ in). Both ends read in order, so the halves' passes run side by side. */
    uint64_t pivot = 0;
    if (n >= 4096) {
        uint64_t smp[1023];
        for (size_t i = 0; i < 1023; i++)
            smp[i] = a[(i * 2 + 1) * (n / 2046)].k;
        qsort(smp, 1023, 8, cmp_u64_first);
        pivot = smp[511];
    }
    while (lo < hi) {
        if (a[lo].k < pivot) {
            lo++;
        } else {
            slot16_t x = a[lo];
            a[lo] = a[--hi];
            a[hi] = x;
        }
    }
    sortjob_t job = {a, {0, lo, n}, {0, 0}};
    if (ty__for(threads < 2 ? threads : 2, sort_half, &job, 2)) /* no threads: here */
        for (size_t h = 0; h < 2; h++)
            sort_half(&job, h, 0);
    if (job.rc[0] || job.rc[1])
        qsort(a, n, sizeof(slot16_t), cmp_u64_first); /* out of memory for the counts */
}

static void ex_rec(const void *ctx, size_t i, char *r)
{
    const ty__xmap_t *m = ctx;
    const ty__xkv_t *e = &m->a[m->cap - m->n + i];
    memcpy(r, &e->lo, 8);
    memcpy(r + 8, &m->hi.a[e->at], 8);
    memcpy(r + 16, &e->g, 4);
}

static void band_rec(const void *ctx, size_t i, char *r)
{
    const ty__map_t *m = ctx;
    const ty__kv_t *e = &m->a[m->cap - m->n + i];
    memcpy(r, &e->key, 8);
    memcpy(r + 8, &e->val, 4);
}

static int mz_spill(ty_dedup_t *dd);

int ty__dd_spill_tables(ty_dedup_t *dd)
{
    dd->exr.rec = EX_REC;
    dd->bandr.rec = BAND_REC;
    int rc = TY_OK;
    if (dd->ex.n) {
        sort_slots(dd->ex.a, dd->ex.cap, dd->nwk);
        rc = ty__sruns_add(&dd->exr, dd->ex.n, ex_rec, &dd->ex, -1, 0, NULL, NULL, 1, &dd->sp,
                           dd->err);
        ty__xmap_free(&dd->ex); /* sorted: of no use as a table, whatever happened */
    }
    if (!rc && dd->bands.n) {
        sort_slots(dd->bands.a, dd->bands.cap, dd->nwk);
        rc = ty__sruns_add(&dd->bandr, dd->bands.n, band_rec, &dd->bands, -1, 0, NULL, NULL, 1,
                           &dd->sp, dd->err);
        ty__map_free(&dd->bands);
    }
    return rc ? rc : mz_spill(dd);
}

/* ---- spun mode's minimizer table, in memory and in runs ----------------------------------
 *
 * Unlike a table of first documents, a minimizer's entry changes as documents come: its
 * document frequency grows and its postings get longer. So the memory table written out is a
 * run of (minimizer, df, the one document when df is 1, the offset of its df documents in the
 * run's own postings file when df is 2..max_df) for what came since the run before, and a key
 * may be in several runs and the memory table: its df is the sum, its documents the
 * concatenation, the oldest run first (the documents came in that order), used only when the
 * sum is at most max_df, as the one table's would be. A run's postings are written in its key
 * order, so reading a run in key order reads its postings front to back too. Merging runs
 * joins the records of a key the same way (postings past max_df dropped) and writes every
 * list into the merged run's postings file; the files of the runs merged are closed: what is
 * on disk stays about one copy of the table (two while the largest runs merge). */

#define MZ_REC 24
#define WIN ((size_t)1 << 20) /* the largest read of a batch's look-ups */
#define GAP ((size_t)4096)    /* bytes between two wanted ranges read through, not skipped */

static void mz_get(const char *r, uint32_t *df, uint32_t *one, uint64_t *off)
{
    memcpy(df, r + 8, 4);
    memcpy(one, r + 12, 4);
    memcpy(off, r + 16, 8);
}

static void mz_set(char *r, uint32_t df, uint32_t one, uint64_t off)
{
    memcpy(r + 8, &df, 4);
    memcpy(r + 12, &one, 4);
    memcpy(r + 16, &off, 8);
}

/* ty__sruns_t.join: the n records of a key, oldest run first, each with its run's postings
 * (src: seqr_t), into one record in out, its postings written to dst (seqw_t). */
static int mz_join(void *ctx, const char *const *recs, void *const *src, size_t n, char *out,
                   void *dst, ty__u32vec_t *scratch)
{
    ty_dedup_t *dd = ctx;
    uint64_t sum = 0, off = 0;
    uint32_t df, one, first;
    for (size_t i = 0; i < n; i++) {
        mz_get(recs[i], &df, &one, &off);
        sum += df;
    }
    mz_get(recs[0], &df, &first, &off);
    off = 0;
    if (sum >= 2 && sum <= dd->R.o.max_df) {
        if (ty_vec_reserve(*scratch, (size_t)sum))
            return ENOMEM;
        uint32_t *d = scratch->a;
        for (size_t i = 0; i < n; i++) {
            uint64_t o;
            mz_get(recs[i], &df, &one, &o);
            int e = df == 1 ? (*d = one, 0) : seqr_get(src[i], o, (size_t)df * 4, d);
            if (e)
                return e;
            d += df;
        }
        off = seqw_put(dst, scratch->a, (size_t)sum * 4);
    }
    memcpy(out, recs[0], 8);
    mz_set(out, sum > NONE ? NONE : (uint32_t)sum, first, off);
    return 0;
}

/* The cache's entry of key while the cache is the runs', or NULL (also for a dropped key). */
static ty__kv_t *rc_entry(const ty_dedup_t *dd, uint64_t key)
{
    if (dd->rcver != dd->mzr.ver || !dd->rcache.n)
        return NULL;
    ty__kv_t *e = ty__map_find(&dd->rcache, key);
    return e && e->val != NONE ? e : NULL; /* NONE: dropped (rc_fold) */
}

/* The cached join of key (rcache), or NULL. Read-only: any number of threads at once. */
static const uint32_t *rc_find(const ty_dedup_t *dd, uint64_t key)
{
    const ty__kv_t *e = rc_entry(dd, key);
    return e ? dd->rcpool.a + e->val : NULL;
}

/* rc_find for the merge join, which marks the key asked since the last spill: rc_fold keeps
 * only those. A key is in one chunk: one thread writes its entry's aux. */
static const uint32_t *rc_use(ty_dedup_t *dd, uint64_t key)
{
    ty__kv_t *e = rc_entry(dd, key);
    if (!e)
        return NULL;
    e->aux = dd->rcepoch;
    return dd->rcpool.a + e->val;
}

int ty__dd_mz_df(const ty_dedup_t *dd, uint64_t key, uint32_t *df)
{
    uint64_t sum = 0;
    char rec[MZ_REC];
    key = ty__fix_key(key);
    const uint32_t *c = rc_find(dd, key);
    if (c) {
        *df = c[0];
        return TY_OK;
    }
    for (size_t i = 0; i < dd->mzr.r.n; i++) {
        int found = ty__sruns_find_in(&dd->mzr, i, key, rec);
        if (found < 0)
            return found;
        if (found) {
            uint32_t d;
            memcpy(&d, rec + 8, 4);
            sum += d;
        }
    }
    *df = sum > NONE ? NONE : (uint32_t)sum;
    return TY_OK;
}

/* ---- the batch's minimizers against the runs: a merge join --------------------------------
 *
 * The batch's distinct minimizers (bmz) are split by their top bits into chunks, and each
 * chunk — on any of the worker threads (ty__for), the calling thread among them — sorts its
 * keys and walks every run with them in key order: the Bloom filter, then the fences, and the
 * blocks holding keys read with one pread for neighbouring blocks (up to WIN bytes; a gap
 * of up to GAP bytes is read through), then the postings of the keys whose df sum is at most
 * max_df, run by run (oldest first: document order), in the run's order, coalesced the same
 * way. Each chunk fills a list of its own; the lists are then put end to end in rpost. */

typedef struct {
    uint32_t x, df; /* the key (in the chunk), its df in the run */
    uint32_t one, pad;
    uint64_t off;
} mzhit_t;

typedef struct {
    uint64_t off; /* in the run's postings */
    size_t len;   /* bytes */
    size_t at;    /* where they go in the chunk's list */
} need_t;

typedef struct {
    ty__u32vec_t out; /* per key in key order: n, the n documents of the runs */
    TY_VEC(mzhit_t) hits;
    TY_VEC(need_t) needs;
    TY_VEC(size_t) pend;    /* keys of a window of blocks: key index, block */
    TY_VEC(uint32_t) fresh; /* bmz slots of the keys found in the runs, not in the cache */
    size_t cached;          /* keys the cache answered */
    int rc;                 /* an errno, or TY_ENOMEM */
} mzchunk_t;

typedef struct {
    ty_dedup_t *dd;
    slot16_t *keys; /* key, its slot in bmz */
    int bits;       /* the chunks are of the keys' top bits */
    size_t *start;  /* chunk c: keys [start[c], start[c + 1]) */
    mzchunk_t *ch;
} mzjob_t;

/* The records of run r holding keys k[0..nk) (sorted) into ch->hits, their dfs added to sum. */
static int join_run(const ty__srun_t *r, const slot16_t *k, size_t nk, char *buf, mzchunk_t *ch,
                    uint64_t *sum)
{
    if (!r->n)
        return 0;
    const size_t bb = RUN_BLOCK * MZ_REC, maxb = WIN / bb, gapb = GAP / bb;
    size_t nb = (size_t)((r->n + RUN_BLOCK - 1) / RUN_BLOCK), b = 0;
    for (size_t i = 0; i < nk;) {
        size_t sb = 0, eb = 0;
        ch->pend.n = 0;
        for (; i < nk; i++) {
            uint64_t key = k[i].k;
            if (i + BLOOM_AHEAD < nk)
                bloom_prefetch(r, k[i + BLOOM_AHEAD].k);
            if (key < r->fence[0] || !bloom_has(r, key))
                continue;
            /* the last block whose first key is <= key: at b (the last key's) or after it,
             * and near it (the keys are in order): a galloping search from b */
            size_t step = 1, lo, hi;
            while (b + step < nb && r->fence[b + step] <= key)
                step *= 2;
            lo = b + step / 2 + 1;
            hi = b + step < nb ? b + step : nb;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->fence[mid] <= key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t blk = lo - 1;
            if (ch->pend.n && (blk > eb + gapb || blk - sb >= maxb))
                break; /* not in this window: the next one starts with it */
            if (!ch->pend.n)
                sb = blk;
            eb = b = blk;
            if (ty_vec_push(ch->pend, i) || ty_vec_push(ch->pend, blk))
                return ENOMEM;
        }
        if (!ch->pend.n)
            break;
        uint64_t first = (uint64_t)sb * RUN_BLOCK, end = (uint64_t)(eb + 1) * RUN_BLOCK;
        if (end > r->n)
            end = r->n;
        int e = ty__pread_full(r->fd, buf, (size_t)(end - first) * MZ_REC, first * MZ_REC);
        if (e)
            return e;
        for (size_t p = 0; p < ch->pend.n; p += 2) {
            size_t x = ch->pend.a[p], blk = ch->pend.a[p + 1];
            uint64_t key = k[x].k, at = (uint64_t)blk * RUN_BLOCK;
            const char *rb = buf + (size_t)(at - first) * MZ_REC;
            size_t cnt = r->n - at < RUN_BLOCK ? (size_t)(r->n - at) : RUN_BLOCK, l = 0, h = cnt;
            while (l < h) {
                size_t mid = (l + h) / 2;
                if (rec_key(rb + mid * MZ_REC) < key)
                    l = mid + 1;
                else
                    h = mid;
            }
            if (l == cnt || rec_key(rb + l * MZ_REC) != key)
                continue;
            mzhit_t hit = {(uint32_t)x, 0, 0, 0, 0};
            mz_get(rb + l * MZ_REC, &hit.df, &hit.one, &hit.off);
            if (ty_vec_push(ch->hits, hit))
                return ENOMEM;
            sum[x] += hit.df;
        }
    }
    return 0;
}

/* The needed ranges of postings file fd (at increasing offsets) into out, coalesced. */
static int read_needs(int fd, const need_t *nd, size_t n, uint32_t *out, char *buf)
{
    for (size_t a = 0; a < n;) {
        if (nd[a].len > WIN) {
            int e = ty__pread_full(fd, out + nd[a].at, nd[a].len, nd[a].off);
            if (e)
                return e;
            a++;
            continue;
        }
        uint64_t start = nd[a].off, end = start + nd[a].len;
        size_t b = a + 1;
        while (b < n && nd[b].off >= start && nd[b].off <= end + GAP &&
               nd[b].off + nd[b].len - start <= WIN) {
            if (nd[b].off + nd[b].len > end)
                end = nd[b].off + nd[b].len;
            b++;
        }
        int e = ty__pread_full(fd, buf, (size_t)(end - start), start);
        if (e)
            return e;
        for (; a < b; a++)
            memcpy(out + nd[a].at, buf + (nd[a].off - start), nd[a].len);
    }
    return 0;
}

static int join_chunk_do(mzjob_t *j, mzchunk_t *ch, slot16_t *k, size_t nk, char *buf,
                         uint64_t *sum, size_t *cur)
{
    ty_dedup_t *dd = j->dd;
    const ty__sruns_t *rs = &dd->mzr;
    uint32_t max_df = dd->R.o.max_df;
    flag_sort(k, nk, 64 - j->bits - 8);
    size_t hb[RUN_MAX + 2];
    if (rs->r.n > RUN_MAX + 1)
        return EINVAL; /* never: runs are merged down to RUN_MAX after each spill */
    /* the keys the cache has are not looked for in the runs: the others (ku, still in key
     * order: u counts them as x goes) are, their sums in sum[u] */
    const uint32_t **got = calloc(nk, sizeof *got);
    slot16_t *ku = malloc(nk * sizeof *ku);
    size_t nu = 0;
    if (!got || !ku) {
        free(got);
        free(ku);
        return ENOMEM;
    }
    for (size_t x = 0; x < nk; x++) {
        if (x + 8 < nk && dd->rcache.cap) /* a later key's slot, loaded meanwhile */
            __builtin_prefetch(&dd->rcache.a[ty__map_slot(&dd->rcache, k[x + 8].k)]);
        if (!(got[x] = rc_use(dd, k[x].k)))
            ku[nu++] = k[x];
    }
    ch->cached = nk - nu;
    int e = 0;
    for (size_t r = 0; !e && r < rs->r.n; r++) {
        hb[r] = ch->hits.n;
        e = join_run(&rs->r.a[r], ku, nu, buf, ch, sum);
    }
    hb[rs->r.n] = ch->hits.n;
    size_t total = 0;
    for (size_t u = 0; !e && u < nu; u++)
        total += 1 + (sum[u] <= max_df ? (size_t)sum[u] : 0);
    for (size_t x = 0; !e && x < nk; x++)
        if (got[x])
            total += 1 + (size_t)got[x][1];
    if (!e && ty_vec_reserve(ch->out, total))
        e = ENOMEM;
    for (size_t x = 0, u = 0; !e && x < nk; x++) {
        size_t o = ch->out.n;
        dd->broff[k[x].v] = (uint32_t)o; /* in the chunk's list, for now */
        if (got[x]) {
            dd->brdf[k[x].v] = got[x][0];
            memcpy(ch->out.a + o, got[x] + 1, (1 + (size_t)got[x][1]) * sizeof(uint32_t));
            ch->out.n += 1 + (size_t)got[x][1];
            continue;
        }
        uint32_t n = sum[u] <= max_df ? (uint32_t)sum[u] : 0;
        dd->brdf[k[x].v] = sum[u] > NONE ? NONE : (uint32_t)sum[u];
        ch->out.a[o] = n;
        cur[u] = o + 1;
        ch->out.n += 1 + (size_t)n;
        if (sum[u] && ty_vec_push(ch->fresh, k[x].v)) /* found in the runs: to be cached */
            e = ENOMEM;
        u++;
    }
    for (size_t r = 0; !e && r < rs->r.n; r++) { /* oldest first: the documents in order */
        ch->needs.n = 0;
        for (size_t h = hb[r]; !e && h < hb[r + 1]; h++) {
            const mzhit_t *t = &ch->hits.a[h];
            if (sum[t->x] > max_df)
                continue;
            if (t->df == 1)
                ch->out.a[cur[t->x]] = t->one;
            else if (ty_vec_push(ch->needs, ((need_t){t->off, (size_t)t->df * 4, cur[t->x]})))
                e = ENOMEM;
            cur[t->x] += t->df;
        }
        if (!e)
            e = read_needs(rs->r.a[r].pfd, ch->needs.a, ch->needs.n, ch->out.a, buf);
    }
    free(got);
    free(ku);
    return e;
}

static void join_chunk(void *data, size_t c, int tid)
{
    (void)tid;
    mzjob_t *j = data;
    mzchunk_t *ch = &j->ch[c];
    size_t nk = j->start[c + 1] - j->start[c];
    if (!nk)
        return;
    char *buf = malloc(WIN);
    uint64_t *sum = calloc(nk, sizeof *sum);
    size_t *cur = malloc(nk * sizeof *cur);
    ch->rc =
        buf && sum && cur ? join_chunk_do(j, ch, j->keys + j->start[c], nk, buf, sum, cur) : ENOMEM;
    TY_FREE(buf, sum, cur);
}

/* The bytes the cache holds. */
uint64_t ty__dd_rc_mem(const ty_dedup_t *dd)
{
    return dd->rcache.cap * sizeof(ty__kv_t) + dd->rcpool.m * sizeof(uint32_t);
}

/* The keys chunk ch found in the runs, with their sums and documents (in rpost, joined), into
 * the cache while it holds at most an eighth of the budget. A batch's minimizers found in the
 * runs are mostly those of text many documents share, found again by batch after batch: the
 * cache reads each from the runs once until they change (a spill) instead of once a batch —
 * at 2M spun documents under --memory 800M the batches had read 373 GB of runs that way. */
static void rc_put(ty_dedup_t *dd, const mzchunk_t *ch)
{
    for (size_t i = 0; i < ch->fresh.n; i++) {
        if (ty__dd_rc_mem(dd) > dd->sp.budget / 8)
            return;
        if (i + 8 < ch->fresh.n && dd->rcache.cap) /* a later key's slot, loaded meanwhile */
            __builtin_prefetch(
                &dd->rcache.a[ty__map_slot(&dd->rcache, dd->bmz.a[ch->fresh.a[i + 8]].key)], 1);
        uint32_t slot = ch->fresh.a[i];
        const uint32_t *l = dd->rpost.a + dd->broff[slot]; /* n, documents */
        size_t at = dd->rcpool.n;
        if (at > NONE - 2 - (size_t)l[0] || ty_vec_reserve(dd->rcpool, at + 2 + (size_t)l[0]))
            return; /* a cache: without it the runs are read */
        int isnew;
        ty__kv_t *e = ty__map_put(&dd->rcache, dd->bmz.a[slot].key, &isnew);
        if (!e || (!isnew && e->val != NONE))
            return;
        dd->rcdropped -= !isnew; /* a dropped key back */
        e->val = (uint32_t)at;
        e->aux = dd->rcepoch;
        dd->rcpool.a[at] = dd->brdf[slot];
        memcpy(dd->rcpool.a + at + 1, l, (1 + (size_t)l[0]) * sizeof(uint32_t));
        dd->rcpool.n = at + 2 + (size_t)l[0];
    }
}

static void rc_clear(ty_dedup_t *dd)
{
    ty__map_free(&dd->rcache);
    free(dd->rcpool.a);
    memset(&dd->rcpool, 0, sizeof dd->rcpool);
    dd->rcdead = dd->rcdropped = 0;
}

/* The cache kept through a spill: called before gmz is written out (and sorted). The run made
 * of gmz is the newest, so a cached key that gmz has gets gmz's df added and, while the sum
 * stays at most max_df, gmz's documents after its own (document order) — the answer the runs
 * give once the spill is done. An entry that grows is written again at the pool's end, and
 * one that would pass the cache's share of the budget is dropped (val NONE: absent), as is a
 * key not asked since the spill before (keeping them all filled the cache for good: more
 * spills); the words left behind are counted (rc_compact). 1 when the cache holds the runs'
 * answers after the spill, 0 when it is to be emptied (it did not hold the runs' answers
 * before). Before, every spill emptied the cache, and each batch after it read again from the
 * runs what the cache had held (at 2M spun documents under --memory 800M, 35 million keys
 * found in runs, 57 GB of their blocks). */
static int rc_fold(ty_dedup_t *dd)
{
    if (dd->rcver != dd->mzr.ver || !dd->rcache.n)
        return 0;
    const ty__map_t *g = &dd->gmz.map;
    uint32_t max_df = dd->R.o.max_df;
    size_t words = dd->sp.budget / 8 / sizeof(uint32_t);
    ty__kv_t *a = dd->rcache.a;
    for (size_t s = 0; s < dd->rcache.cap; s++) {
        if (s + 8 < dd->rcache.cap && a[s + 8].key && g->cap) /* a later key's gmz slot */
            __builtin_prefetch(&g->a[ty__map_slot(g, a[s + 8].key)]);
        if (!a[s].key || a[s].val == NONE)
            continue;
        uint32_t *old = dd->rcpool.a + a[s].val, one, k;
        if (a[s].aux != dd->rcepoch) { /* not asked since the last spill: dropped */
            dd->rcdead += 2 + (size_t)old[1];
            dd->rcdropped++;
            a[s].val = NONE;
            continue;
        }
        const ty__kv_t *m = g->n ? ty__map_find(g, a[s].key) : NULL;
        if (!m)
            continue;
        dd->rcgrown++;
        uint64_t sum = (uint64_t)old[0] + m->val;
        uint32_t df = sum > NONE ? NONE : (uint32_t)sum, n = old[1];
        if (sum > max_df) { /* past max_df: no documents, in place */
            old[0] = df;
            old[1] = 0;
            dd->rcdead += n;
            continue;
        }
        const uint32_t *d = ty__mztab_docs(&dd->gmz, m, &one, &k);
        size_t at = dd->rcpool.n;
        dd->rcdead += 2 + (size_t)n;
        if (at + 2 + (size_t)df > words || ty_vec_reserve(dd->rcpool, at + 2 + (size_t)df)) {
            a[s].val = NONE; /* dropped: the runs are read for it */
            dd->rcdropped++;
            continue;
        }
        old = dd->rcpool.a + a[s].val; /* the pool may have moved */
        uint32_t *e = dd->rcpool.a + at;
        e[0] = e[1] = df;
        memcpy(e + 2, old + 2, (size_t)n * sizeof(uint32_t));
        memcpy(e + 2 + n, d, (size_t)k * sizeof(uint32_t));
        dd->rcpool.n = at + 2 + (size_t)df;
        a[s].val = (uint32_t)at;
    }
    dd->rcepoch++;
    dd->rckept += dd->rcache.n - dd->rcdropped;
    return 1;
}

/* After a spill, once the memory table is freed (not at the spill's peak): when most of the
 * pool is dead, the live entries into a new pool, in slot order; when most keys are dropped,
 * into a new table too (each new one is at most half the old, which is freed after it). 0
 * when memory ran out: the cache is to be emptied. */
static int rc_compact(ty_dedup_t *dd)
{
    if (dd->rcdead <= dd->rcpool.n / 2 && dd->rcdropped <= dd->rcache.n / 2)
        return 1;
    ty__kv_t *a = dd->rcache.a;
    int newtab = dd->rcdropped > dd->rcache.n / 2;
    ty__map_t nm = {0};
    ty__u32vec_t np = {0};
    if ((newtab && ty__map_reserve(&nm, dd->rcache.n - dd->rcdropped)) ||
        ty_vec_reserve(np, dd->rcpool.n - dd->rcdead + 1)) {
        ty__map_free(&nm);
        free(np.a);
        return 0;
    }
    for (size_t s = 0; s < dd->rcache.cap; s++) {
        if (!a[s].key || a[s].val == NONE)
            continue;
        const uint32_t *c = dd->rcpool.a + a[s].val;
        uint32_t at = (uint32_t)np.n;
        memcpy(np.a + at, c, (2 + (size_t)c[1]) * sizeof(uint32_t));
        np.n += 2 + (size_t)c[1];
        int isnew;
        ty__kv_t *e = newtab ? ty__map_at(&nm, a[s].key, &isnew) : &a[s];
        e->val = at;
        e->aux = a[s].aux;
    }
    free(dd->rcpool.a);
    dd->rcpool = np;
    dd->rcdead = 0;
    if (newtab) {
        ty__map_free(&dd->rcache);
        dd->rcache = nm;
        dd->rcdropped = 0;
    }
    return 1;
}

int ty__dd_mz_batch(ty_dedup_t *dd)
{
    if (!dd->mzr.r.n)
        return TY_OK;
    if (dd->rcver != dd->mzr.ver) { /* the runs changed: what the cache holds may not be theirs */
        rc_clear(dd);
        dd->rcver = dd->mzr.ver;
    }
    if (dd->brcap < dd->bmz.cap) {
        free(dd->brdf);
        free(dd->broff);
        dd->brdf = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->broff = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->brcap = dd->brdf && dd->broff ? dd->bmz.cap : 0;
        if (!dd->brcap)
            return ty__err(dd->err, TY_ENOMEM, "out of memory");
    }
    /* chunks of about 4096 keys by their top bits (the keys are hashes) */
    size_t nk = dd->bmz.n;
    int bits = 0;
    while (bits < 12 && (nk >> bits) > 4096)
        bits++;
    size_t nc = (size_t)1 << bits;
    mzjob_t job = {dd, malloc((nk ? nk : 1) * sizeof(slot16_t)), bits,
                   calloc(nc + 1, sizeof(size_t)), calloc(nc, sizeof(mzchunk_t))};
    int rc = job.keys && job.start && job.ch ? TY_OK : TY_ENOMEM;
    if (!rc) {
        const ty__kv_t *a = dd->bmz.a;
        for (size_t s = 0; s < dd->bmz.cap; s++)
            if (a[s].key)
                job.start[bits ? (a[s].key >> (64 - bits)) + 1 : 1]++;
        for (size_t c = 0; c < nc; c++)
            job.start[c + 1] += job.start[c];
        size_t *fill = calloc(nc, sizeof *fill);
        if (!fill)
            rc = TY_ENOMEM;
        for (size_t s = 0; !rc && s < dd->bmz.cap; s++)
            if (a[s].key) {
                size_t c = bits ? (size_t)(a[s].key >> (64 - bits)) : 0;
                job.keys[job.start[c] + fill[c]++] = (slot16_t){a[s].key, s};
            }
        free(fill);
    }
    if (!rc)
        rc = ty__for(dd->nwk > 0 ? dd->nwk : 1, join_chunk, &job, nc);
    size_t total = 0;
    for (size_t c = 0; !rc && c < nc; c++) {
        if (job.ch[c].rc)
            rc = job.ch[c].rc == ENOMEM ? TY_ENOMEM : TY_EIO;
        total += job.ch[c].out.n;
    }
    dd->rpost.n = 0;
    if (!rc && ty_vec_reserve(dd->rpost, total + 1))
        rc = TY_ENOMEM;
    for (size_t c = 0; !rc && c < nc; c++) { /* the chunks' lists end to end */
        const mzchunk_t *ch = &job.ch[c];
        if (ch->out.n)
            memcpy(dd->rpost.a + dd->rpost.n, ch->out.a, ch->out.n * sizeof(uint32_t));
        for (size_t x = job.start[c]; x < job.start[c + 1]; x++)
            dd->broff[job.keys[x].v] += (uint32_t)dd->rpost.n;
        dd->rpost.n += ch->out.n;
    }
    for (size_t c = 0; !rc && c < nc; c++) { /* what the runs gave, cached: see rc_put */
        rc_put(dd, &job.ch[c]);
        dd->rchits += job.ch[c].cached;
    }
    for (size_t c = 0; job.ch && c < nc; c++) {
        TY_FREE(job.ch[c].fresh.a, job.ch[c].out.a, job.ch[c].hits.a, job.ch[c].needs.a,
                job.ch[c].pend.a);
    }
    TY_FREE(job.keys, job.start, job.ch);
    if (rc == TY_ENOMEM)
        return ty__err(dd->err, rc, "out of memory");
    if (rc)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    return TY_OK;
}

/* ---- the memory table out as a run ------------------------------------------------------ */

/* The memory table's records, its postings written to the run's postings file in the same
 * order first. */
typedef struct {
    const ty__mztab_t *t;
    uint32_t max_df;
    uint64_t *next; /* the offset of the next postings in the run's file */
} mz_src_t;

static void mz_rec(const void *ctx, size_t i, char *r)
{
    const mz_src_t *m = ctx;
    const ty__kv_t *e = &m->t->map.a[m->t->map.cap - m->t->map.n + i];
    uint64_t off = 0;
    if (e->val >= 2 && e->val <= m->max_df) {
        off = *m->next;
        *m->next += (uint64_t)e->val * 4;
    }
    memcpy(r, &e->key, 8);
    mz_set(r, e->val, e->val == 1 ? e->aux : NONE, off);
}

/* The memory table's postings lists, in the order of its sorted slots, to the run's postings
 * file: beside the records (ty__sruns_add) on a second thread. */
typedef struct {
    const ty__mztab_t *t;
    uint32_t max_df;
    int fd;
} mz_post_t;

static int mz_post(void *ctx, uint64_t *pn)
{
    const mz_post_t *p = ctx;
    const ty__map_t *m = &p->t->map;
    seqw_t pw = {p->fd, malloc(IOBUF), 0, 0, 0};
    if (!pw.buf)
        return ENOMEM;
    for (size_t i = m->cap - m->n; i < m->cap && !pw.err; i++)
        if (m->a[i].val >= 2 && m->a[i].val <= p->max_df) {
            uint32_t one, k;
            const uint32_t *d = ty__mztab_docs(p->t, &m->a[i], &one, &k);
            seqw_put(&pw, d, (size_t)k * 4);
        }
    seqw_flush(&pw);
    free(pw.buf);
    *pn = pw.off;
    return pw.err;
}

static int mz_spill(ty_dedup_t *dd)
{
    dd->mzr.rec = MZ_REC;
    dd->mzr.join = mz_join;
    dd->mzr.cctx = dd;
    dd->mzr.async = dd->nwk > 1; /* --threads 1: one core */
    if (!dd->gmz.map.n)
        return TY_OK;
    ty__map_t *m = &dd->gmz.map;
    int keep = rc_fold(dd);
    sort_slots(m->a, m->cap, dd->nwk);
    int pfd = ty__spill_file(&dd->sp, dd->err), rc = TY_EIO;
    if (pfd >= 0) { /* the postings file is the run's from here */
        uint64_t next = 0;
        mz_src_t src = {&dd->gmz, dd->R.o.max_df, &next};
        mz_post_t post = {&dd->gmz, dd->R.o.max_df, pfd};
        rc = ty__sruns_add(&dd->mzr, m->n, mz_rec, &src, pfd, 0, mz_post, &post, dd->nwk, &dd->sp,
                           dd->err);
    }
    ty__mztab_free(&dd->gmz); /* sorted: of no use as a table, whatever happened */
    if (!rc && keep && rc_compact(dd))
        dd->rcver = dd->mzr.ver;
    return rc;
}

int ty__dd_mz_merge(ty_dedup_t *dd)
{
    int rc = mz_spill(dd);
    if (!rc)
        rc = ty__sruns_merge_all(&dd->mzr, &dd->sp, dd->err);
    if (rc == TY_ENOMEM)
        ty__err(dd->err, rc, "out of memory");
    return rc;
}

int ty__dd_mz_each(ty_dedup_t *dd, ty__mz_fn fn, void *ctx)
{
    if (!dd->mzr.r.n)
        return TY_OK;
    const ty__srun_t *r = &dd->mzr.r.a[0];
    run_reader_t rd = {r, malloc(IOBUF), MZ_REC, 0, 0, 0};
    seqr_t pr = {r->pfd, malloc(IOBUF), 0, 0, r->pn};
    int rc = rd.buf && pr.buf ? TY_OK : TY_ENOMEM, e = 0;
    for (const char *p = rc ? NULL : reader_next(&rd, &e); p && !rc; p = reader_next(&rd, &e)) {
        uint32_t df, one;
        uint64_t off, key;
        mz_get(p, &df, &one, &off);
        memcpy(&key, p, 8);
        if (df > dd->R.o.max_df) {
            fn(ctx, key, df, NULL);
            continue;
        }
        if (ty_vec_reserve(dd->rpost, df))
            rc = TY_ENOMEM;
        else if (df == 1)
            dd->rpost.a[0] = one;
        else if (seqr_get(&pr, off, (size_t)df * 4, dd->rpost.a))
            rc = TY_EIO;
        if (!rc)
            fn(ctx, key, df, dd->rpost.a);
    }
    free(rd.buf);
    free(pr.buf);
    return rc ? rc : e ? TY_EIO : TY_OK;
}
