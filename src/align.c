/*
 * align.c — which passages of a suspect document come from a source document.
 *
 * The read-aligner recipe (minimap2), adapted to spun text:
 *  1. seeds: every k-mer of the source goes into a hash table; every k-mer of the suspect
 *     is looked up; a hit whose tokens really match is an anchor. A k-mer occurring more
 *     than max_occ times in the source (boilerplate, a repeated sentence, a tandem
 *     paragraph) is not seeded from every occurrence: where no run covers the suspect yet,
 *     only the occurrence a colinear chain would continue with is taken (frequent_mem);
 *  2. anchors on one diagonal are grown into maximal exact runs ("MEMs"), so a verbatim
 *     copy is one anchor, not thousands, and chaining stays cheap;
 *  3. chaining: dynamic programming over MEMs sorted by suspect position; a MEM scores its
 *     new matched tokens, a link costs gap_cost per unmatched token and drift_cost per token
 *     of diagonal shift (a spinner's longer or shorter synonym, an inserted spam phrase);
 *     links longer than max_gap are not made. Chains are read back best first: those
 *     scoring min_chain are kept, weaker ones (down to half of it) only fill regions;
 *  4. passages (chains grouped by region) and 5. their ends refined: passage.c, on the
 *     same aligner state (align.h).
 */
#include <math.h>
#include <string.h>

#include "align.h"

/* Chains scoring at least this are read back; below min_chain they only fill regions. */
static double weak_min(const ty_opts_t *o) { return o->min_chain / 2.0; }

ty_aligner_t *ty_aligner_new(const ty_opts_t *o)
{
    ty_aligner_t *a = calloc(1, sizeof(*a));
    if (a)
        a->o = *o;
    return a;
}

void ty_aligner_free(ty_aligner_t *a)
{
    if (!a)
        return;
    TY_FREE(a->hs.a, a->hq.a, a->tab.a, a->touched.a, a->next.a, a->occ.a, a->occ_at.a,
            a->occ_cnt.a, a->mem.a, a->f.a, a->prev.a, a->gain.a, a->ends.a, a->used.a, a->box.a,
            a->out.a, a->owner.a, a->visit.a, a->out_box.a, a->runs.a, a->run_beg.a, a->grp_start.a,
            a->grp_mem.a, a->units.a, a->tmp.a, a->keys.a, a->cuts.a, a->segs.a, a->stamp.a,
            a->claim.a, a);
}

const char *ty_aligner_errmsg(const ty_aligner_t *a) { return a ? a->err : "no aligner"; }

/* ---- 1+2: seeds and maximal exact runs --------------------------------------------------- */

/* K-mers that occur more than max_occ times in the source (a repeated sentence, a tandem
 * paragraph, a line made of one phrase) are kept out of ordinary seeding — each occurrence
 * would make its own MEM and the look-ups would cost occurrences x suspect length — but not
 * out of the answer (minimap2 keeps such seeds out of chaining, not out of the mapping):
 * where the suspect is not yet covered by a MEM, the occurrence nearest the diagonal of the
 * last MEM (before any MEM: the same relative position) is taken, the one a colinear chain
 * would continue with, and its MEM is grown both ways. Covered suspect stretches are not
 * looked up again, so a sentence repeated 40 times, or a megabyte of one phrase, costs a few
 * look-ups. For the nearest occurrence the lists are laid out by position (occ), built on
 * the first such k-mer of a call only. */
static int occ_build(ty_aligner_t *a, size_t ms)
{
    if (ty_vec_reserve(a->occ, ms) || ty_vec_reserve(a->occ_at, ms) ||
        ty_vec_reserve(a->occ_cnt, ms))
        return TY_ENOMEM;
    uint32_t c = 0;
    for (size_t t = 0; t < a->touched.n; t++) {
        int32_t h = a->tab.a[a->touched.a[t]].head;
        a->occ_at.a[h] = c;
        for (int32_t i = h; i >= 0; i = a->next.a[i])
            a->occ.a[c++] = i;
        a->occ_cnt.a[h] = c - a->occ_at.a[h];
    }
    return TY_OK;
}

/* The occurrence of the k-mer whose list starts at h nearest source position it (the lower
 * one on a tie). */
static int32_t occ_nearest(const ty_aligner_t *a, int32_t h, int64_t it)
{
    const int32_t *v = a->occ.a + a->occ_at.a[h];
    size_t lo = 0, hi = a->occ_cnt.a[h]; /* first position >= it, by bisection */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < it)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == a->occ_cnt.a[h])
        return v[lo - 1];
    if (lo > 0 && it - v[lo - 1] <= v[lo] - it)
        return v[lo - 1];
    return v[lo];
}

/* Is the run through (i, j) already a MEM? Only the last few are looked at: a run found
 * again is found right after the k-mer that made it. */
static int mem_known(const ty_aligner_t *a, uint32_t i, uint32_t j)
{
    size_t lo = a->mem.n > 8 ? a->mem.n - 8 : 0;
    for (size_t x = a->mem.n; x-- > lo;) {
        const mem_t *m = &a->mem.a[x];
        if (m->j - m->i == j - i && m->j <= j && j < m->j + m->len)
            return 1;
    }
    return 0;
}

static int cmp_mem(const void *x, const void *y)
{
    const mem_t *p = x, *q = y;
    if (p->j != q->j)
        return p->j < q->j ? -1 : 1;
    if (p->i != q->i)
        return p->i < q->i ? -1 : 1;
    return p->len < q->len ? -1 : p->len > q->len;
}

/* State of the look-ups of k-mers over max_occ during one find_mems(). */
typedef struct {
    size_t last_j;      /* the last such suspect k-mer: runs after it may start further left */
    uint32_t cover_end; /* suspect tokens before this lie inside a MEM found... */
    size_t cover_upto;  /* ...among the MEMs before this one */
    int occ_ready;      /* the occurrence lists are laid out (occ_build) */
    int unsorted;       /* a MEM grown leftwards may start before one found earlier */
} freq_t;

/* Suspect k-mer j occurs more than max_occ times in the source, in the list headed by h:
 * where no MEM covers j yet, take the occurrence a colinear chain would continue with and
 * grow its MEM both ways. */
static int frequent_mem(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus, size_t j,
                        int32_t h, freq_t *fq)
{
    const uint32_t *S = src->tok, *Q = sus->tok;
    const size_t ns = src->ntok, nq = sus->ntok, k = (size_t)a->o.k;
    fq->last_j = j;
    for (; fq->cover_upto < a->mem.n; fq->cover_upto++) {
        const mem_t *m = &a->mem.a[fq->cover_upto];
        if (m->j + m->len > fq->cover_end)
            fq->cover_end = m->j + m->len;
    }
    if (j < fq->cover_end)
        return TY_OK;
    if (!fq->occ_ready) {
        if (occ_build(a, ns - k + 1))
            return TY_ENOMEM;
        fq->occ_ready = 1;
    }
    int64_t it; /* the source position a colinear chain would continue at */
    if (a->mem.n) {
        const mem_t *m = &a->mem.a[a->mem.n - 1];
        it = (int64_t)j - ((int64_t)m->j - (int64_t)m->i);
    } else {
        it = (int64_t)((double)j * (double)(ns - k + 1) / (double)(nq - k + 1));
    }
    size_t i = (size_t)occ_nearest(a, h, it);
    if (memcmp(S + i, Q + j, k * sizeof(uint32_t)) != 0)
        return TY_OK; /* hash collision */
    size_t b = 0, L = k;
    while (i > b && j > b && S[i - b - 1] == Q[j - b - 1])
        b++;
    while (i + L < ns && j + L < nq && S[i + L] == Q[j + L])
        L++;
    fq->unsorted |= b > 0;
    mem_t m = {(uint32_t)(i - b), (uint32_t)(j - b), (uint32_t)(L + b)};
    return ty_vec_push(a->mem, m) ? TY_ENOMEM : TY_OK;
}

static int find_mems(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus)
{
    const int k = a->o.k;
    const uint32_t *S = src->tok, *Q = sus->tok;
    const size_t ns = src->ntok, nq = sus->ntok;
    a->mem.n = 0;
    if (ns < (size_t)k || nq < (size_t)k)
        return TY_OK;
    size_t ms = ns - (size_t)k + 1, mq = nq - (size_t)k + 1;
    size_t tsz = 64;
    int bits = 6;
    /* load factor <= 0.125 up to 32,768 slots (256 KB: sources of up to 4,096 tokens), <= 0.25
     * beyond: most suspect look-ups miss, and the fewer slots they probe the better (measured:
     * 3 % faster on 3,000-character pairs than 0.25 throughout; 0.5 is 6 % slower) */
    while (tsz < 4 * ms || (tsz < 8 * ms && tsz < 32768)) {
        tsz <<= 1;
        bits++;
    }
    if (ty_vec_reserve(a->hs, ms) || ty_vec_reserve(a->hq, mq) || ty_vec_reserve(a->tab, tsz) ||
        ty_vec_reserve(a->touched, ms) || ty_vec_reserve(a->next, ms))
        return TY_ENOMEM;
    ty__kmer_hashes(S, ns, k, a->hs.a, 0);
    ty__kmer_hashes(Q, nq, k, a->hq.a, 0);
    slot_t *tab = a->tab.a;
    /* The table is kept empty between calls: cleared whole only when it grows, afterwards only
     * the slots a call used are reset (a 3,000-token source touches 3,000 of 16,384). */
    if (a->tab_clean < tsz) {
        memset(tab, 0xff, tsz * sizeof(slot_t)); /* head = -1 everywhere */
        a->tab_clean = tsz;
    }
    a->touched.n = 0;
    const size_t mask = tsz - 1;
    int32_t *next = a->next.a;
    /* insert from the end so that each list runs in increasing source position */
#define PF 8 /* prefetch the slot this many k-mers ahead: the table is L2-sized */
    for (size_t p = ms; p-- > 0;) {
        uint64_t h = a->hs.a[p];
        if (p >= PF)
            __builtin_prefetch(&tab[a->hs.a[p - PF] >> (64 - bits)]);
        uint32_t key = (uint32_t)h;
        size_t s = (size_t)(h >> (64 - bits));
        while (tab[s].head >= 0 && tab[s].key != key)
            s = (s + 1) & mask;
        if (tab[s].head < 0)
            a->touched.a[a->touched.n++] = (uint32_t)s;
        next[p] = tab[s].head; /* -1 for a new key */
        tab[s].key = key;
        tab[s].head = (int32_t)p;
    }
    /* look up every suspect k-mer; remember whether the previous one was usable so that a
     * hit inside a run already found from its left end is skipped */
    const uint32_t max_occ = (uint32_t)a->o.max_occ;
    int rc = TY_OK;
    int prev_ok = 0;
    freq_t fq = {SIZE_MAX, 0, 0, 0, 0};
    size_t skip_to = 0; /* suspect k-mers before this lie inside a unique run already found */
    for (size_t j = 0; j < mq; j++) {
        if (j < skip_to) {
            /* Inside a run grown from a k-mer that occurs once in the source: its k-mers can
             * only repeat that run, so they are not looked up (most of a copy's k-mers). */
            prev_ok = j + 1 < skip_to;
            if (j + PF >= skip_to && j + PF < mq) /* the look-ups after the run */
                __builtin_prefetch(&tab[a->hq.a[j + PF] >> (64 - bits)]);
            continue;
        }
        uint64_t h = a->hq.a[j];
        if (j + PF < mq)
            __builtin_prefetch(&tab[a->hq.a[j + PF] >> (64 - bits)]);
        uint32_t key = (uint32_t)h;
        size_t s = (size_t)(h >> (64 - bits));
        while (tab[s].head >= 0 && tab[s].key != key)
            s = (s + 1) & mask;
        int ok = tab[s].head >= 0;
        if (ok) { /* too frequent in the source (boilerplate, repeated lines)? */
            uint32_t c = 0;
            for (int32_t i = tab[s].head; i >= 0 && c <= max_occ; i = next[i])
                c++;
            if (c > max_occ) {
                rc = frequent_mem(a, src, sus, j, tab[s].head, &fq);
                if (rc)
                    goto out;
                prev_ok = 0;
                continue;
            }
        }
        if (ok) {
            int unique = next[tab[s].head] < 0;
            for (int32_t i = tab[s].head; i >= 0; i = next[i]) {
                if (prev_ok && i > 0 && j > 0 && S[i - 1] == Q[j - 1])
                    continue; /* inside a run that started further left */
                if (memcmp(S + i, Q + j, (size_t)k * sizeof(uint32_t)) != 0)
                    continue; /* hash collision */
                size_t b = 0; /* after a frequent k-mer the run may start further left */
                if (fq.last_j + 1 == j) {
                    while ((size_t)i > b && j > b && S[(size_t)i - b - 1] == Q[j - b - 1])
                        b++;
                    if (b && mem_known(a, (uint32_t)i, (uint32_t)j))
                        continue;
                }
                size_t L = (size_t)k;
                while ((size_t)i + L < ns && j + L < nq && S[(size_t)i + L] == Q[j + L])
                    L++;
                if (unique && L > (size_t)k)
                    skip_to = j + L - (size_t)k + 1;
                fq.unsorted |= b > 0;
                mem_t m = {(uint32_t)((size_t)i - b), (uint32_t)(j - b), (uint32_t)(L + b)};
                if (ty_vec_push(a->mem, m)) {
                    rc = TY_ENOMEM;
                    goto out;
                }
            }
        }
        prev_ok = ok;
    }
out:
    for (size_t t = 0; t < a->touched.n; t++)
        tab[a->touched.a[t]].head = -1;
    if (rc == TY_OK && fq.unsorted) /* chaining wants suspect order */
        qsort(a->mem.a, a->mem.n, sizeof(mem_t), cmp_mem);
    return rc;
}

/* ---- 3: chaining ------------------------------------------------------------------------ */

#define MAX_ITER 64 /* predecessors examined per anchor */
#define MAX_SKIP 16 /* ...stopping after this many in a row that did not improve (minimap2) */

static inline int fx_before(const fx_t *p, const fx_t *q)
{
    return p->f > q->f || (p->f == q->f && p->x < q->x);
}

/* Sort v[0..n) best first: insertion sort of 16-element blocks, then bottom-up merges
 * through tmp (keys next to their index: no indirection in the comparisons). */
static void sort_fx(fx_t *v, fx_t *tmp, size_t n)
{
    for (size_t b = 0; b < n; b += 16) {
        size_t e = b + 16 < n ? b + 16 : n;
        for (size_t i = b + 1; i < e; i++) {
            fx_t t = v[i];
            size_t j = i;
            for (; j > b && fx_before(&t, &v[j - 1]); j--)
                v[j] = v[j - 1];
            v[j] = t;
        }
    }
    fx_t *src = v, *dst = tmp;
    for (size_t w = 16; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = fx_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        fx_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof(fx_t));
}

static int chain(ty_aligner_t *a)
{
    size_t n = a->mem.n;
    a->box.n = 0;
    if (!n)
        return TY_OK;
    if (ty_vec_reserve(a->f, n) || ty_vec_reserve(a->prev, n) || ty_vec_reserve(a->gain, n) ||
        ty_vec_reserve(a->ends, 2 * n) || ty_vec_reserve(a->used, n) ||
        ty_vec_reserve(a->owner, n) || ty_vec_reserve(a->visit, n))
        return TY_ENOMEM;
    for (size_t x = 0; x < n; x++)
        a->owner.a[x] = -1;
    const mem_t *m = a->mem.a;
    double *f = a->f.a;
    int32_t *prev = a->prev.a;
    uint32_t *gain = a->gain.a;
    const double gc = a->o.gap_cost, dc = a->o.drift_cost;
    const int64_t G = a->o.max_gap;
    for (size_t x = 0; x < n; x++) {
        double best = m[x].len;
        int32_t bp = -1;
        uint32_t bg = m[x].len;
        size_t lo = x > MAX_ITER ? x - MAX_ITER : 0;
        int skip = 0;
        for (size_t y = x; y-- > lo;) {
            if (m[x].j - m[y].j > (uint32_t)G + 256)
                break; /* sorted by suspect start: all further ones are farther still */
            if (m[y].j >= m[x].j || m[y].i >= m[x].i)
                continue;
            int64_t gq = (int64_t)m[x].j - (m[y].j + m[y].len); /* suspect gap (<0: overlap) */
            int64_t gs = (int64_t)m[x].i - (m[y].i + m[y].len); /* source gap */
            if (gq > G || gs > G)
                continue;
            int64_t ov = 0;
            if (gq < 0)
                ov = -gq;
            if (gs < 0 && -gs > ov)
                ov = -gs;
            if (ov >= m[x].len)
                continue;
            int64_t g = gq < gs ? gq : gs;
            if (g < 0)
                g = 0;
            int64_t dd = ((int64_t)m[x].j - m[x].i) - ((int64_t)m[y].j - m[y].i);
            if (dd < 0)
                dd = -dd;
            double sc = f[y] + (double)(m[x].len - ov) - gc * (double)g - dc * (double)dd;
            if (sc > best) {
                best = sc;
                bp = (int32_t)y;
                bg = (uint32_t)(m[x].len - ov);
                skip = 0;
            } else if (++skip > MAX_SKIP) {
                break;
            }
        }
        f[x] = best;
        prev[x] = bp;
        gain[x] = bg;
    }
    /* read chains back from the best ends; a chain stops where it meets a used anchor */
    /* only a MEM whose score reaches min_chain can end a chain that is read back */
    /* chains down to half of min_chain are read back too, after every full one (so they
     * take no anchor from it): alone they are dropped, but they may fill a region whose
     * full chains are reordered (grouping below) */
    const double weak = weak_min(&a->o);
    fx_t *ends = a->ends.a;
    size_t ne = 0;
    for (size_t x = 0; x < n; x++)
        if (f[x] >= weak)
            ends[ne++] = (fx_t){f[x], (int32_t)x};
    sort_fx(ends, ends + ne, ne);
    memset(a->used.a, 0, n);
    for (size_t r = 0; r < ne; r++) {
        int32_t x = ends[r].x;
        if (a->used.a[x])
            continue;
        int32_t y = x, stop = -1;
        box_t b = {m[x].i, m[x].i + m[x].len, m[x].j, m[x].j + m[x].len, 0, 1, -1, 0, 0};
        size_t nv = 0;
        while (y >= 0) {
            if (a->used.a[y]) {
                stop = y;
                break;
            }
            a->used.a[y] = 1;
            a->visit.a[nv++] = y;
            if (m[y].i < b.sb)
                b.sb = m[y].i;
            if (m[y].i + m[y].len > b.se)
                b.se = m[y].i + m[y].len;
            b.qb = m[y].j;
            b.matched += gain[y];
            y = prev[y];
        }
        double sc = f[x] - (stop >= 0 ? f[stop] : 0);
        if (sc < weak)
            continue;
        b.strong = sc >= a->o.min_chain;
        b.id = (int32_t)a->box.n;
        for (size_t v = 0; v < nv; v++)
            a->owner.a[a->visit.a[v]] = b.id;
        if (ty_vec_push(a->box, b))
            return TY_ENOMEM;
    }
    return TY_OK;
}

/* ---- driver ----------------------------------------------------------------------------- */

int ty_compare(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t **out,
               size_t *n)
{
    *out = NULL;
    *n = 0;
    a->out.n = 0;
    a->out_box.n = 0;
    a->runs.n = 0;
    a->run_beg.n = 0;
    a->err[0] = 0;
    int rc = find_mems(a, src, sus);
    if (!rc)
        rc = chain(a);
    if (rc)
        return ty__err(a->err, rc, "%s vs %s: out of memory", ty_doc_name(src), ty_doc_name(sus));
    rc = ty__align_passages(a, src, sus);
    if (rc)
        return rc;
    *out = a->out.a;
    *n = a->out.n;
    return TY_OK;
}
