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
 *  4. passages: a chain mostly repeating a better one in the suspect is dropped (it maps
 *     the same text to a repeat in the source). The rest are grouped by region: chains
 *     that tile one stretch of the suspect and one stretch of the source, with no large
 *     gap in either, are one passage, in whatever order they come (shuffled sentences, a
 *     wholly reordered article); separate borrowings leave source text uncovered between
 *     them and stay apart; a region matched twice (the suspect holds its source twice) is
 *     one passage per copy (group_regions). A passage's matched count is the tokens its
 *     MEMs cover in the suspect and in the source, each counted once, whichever is less;
 *  5. refinement: a passage end moves to the nearest sentence or line end within `snap`
 *     tokens (the spinner changed the last word, but the reuse goes on to the full stop),
 *     taking the punctuation and line break with it.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

typedef struct {
    uint32_t i, j, len; /* source token, suspect token, length in tokens */
} mem_t;

/* 8 bytes a slot so that a 3,000-character source's table (32,768 slots) stays in L2 cache:
 * the high bits of the hash pick the slot, the low 32 bits are the key. Occurrences are
 * counted along the position list only when a k-mer is hit. */
typedef struct {
    uint32_t key; /* upper 32 bits of the k-mer hash */
    int32_t head; /* first source position with this k-mer, -1 = empty slot */
} slot_t;

typedef struct {
    uint32_t sb, se, qb, qe; /* source [sb,se), suspect [qb,qe) in tokens */
    uint32_t matched;        /* suspect tokens matched in order */
    int alive;
    int32_t parent; /* box this one was merged into, -1 = none */
    int32_t id;     /* index at creation (boxes are sorted later) */
    int strong;     /* the chain scored min_chain or more (else: a weak chain, a filler) */
} box_t;

/* Chains scoring at least this are read back; below min_chain they only fill regions. */
static double weak_min(const ty_opts_t *o) { return o->min_chain / 2.0; }

/* A candidate region while grouping chains into passages: units u[lo..hi). */
typedef struct {
    uint32_t lo, hi;
    int flags; /* SEG_LAYERED: already cut into copies; SEG_STRONG: full chains only */
} useg_t;

/* A chain end: its score and MEM. Sorted best first, ties by MEM (a total order). */
typedef struct {
    double f;
    int32_t x;
} fx_t;

struct ty_aligner {
    ty_opts_t o;
    TY_VEC(uint64_t) hs;      /* source k-mer hashes */
    TY_VEC(uint64_t) hq;      /* suspect k-mer hashes */
    TY_VEC(slot_t) tab;       /* hash table of source k-mers, empty between calls */
    size_t tab_clean;         /* slots [0, tab_clean) are known empty */
    TY_VEC(uint32_t) touched; /* slots filled by this call, reset at its end */
    TY_VEC(int32_t) next;     /* per source position: next position with the same k-mer */
    TY_VEC(int32_t) occ;      /* frequent k-mers: every list laid out in position order */
    TY_VEC(uint32_t) occ_at;  /* per list head (source position): its first index in occ */
    TY_VEC(uint32_t) occ_cnt; /* per list head: its length */
    TY_VEC(mem_t) mem;
    TY_VEC(double) f;
    TY_VEC(int32_t) prev;
    TY_VEC(uint32_t) gain; /* suspect tokens a MEM adds to its chain */
    TY_VEC(fx_t) ends;     /* chain ends, best first (and the sort's scratch) */
    TY_VEC(uint8_t) used;
    TY_VEC(box_t) box;
    TY_VEC(ty_passage_t) out;
    TY_VEC(int32_t) owner;    /* per MEM: the box (chain) it belongs to, -1 = none */
    TY_VEC(int32_t) visit;    /* scratch: anchors of the chain being read back */
    TY_VEC(int32_t) out_box;  /* per passage: id of its box */
    TY_VEC(ty_match_t) runs;  /* exact runs of every passage, passage by passage */
    TY_VEC(size_t) run_beg;   /* per passage: first run; run_beg[n] = runs.n */
    size_t nbox0;             /* boxes made by chain() (ids 0..nbox0-1), before compaction */
    TY_VEC(size_t) grp_start; /* MEMs grouped by box: box id b owns grp_mem[start[b]..start[b+1]) */
    TY_VEC(int32_t) grp_mem;
    TY_VEC(int32_t) units;  /* grouping: box indices, cut into candidate regions */
    TY_VEC(int32_t) tmp;    /* grouping: a region's boxes in source order */
    TY_VEC(uint64_t) keys;  /* sort keys (grouping; source intervals of a passage) */
    TY_VEC(uint32_t) cuts;  /* grouping: where a candidate is cut */
    TY_VEC(useg_t) segs;    /* grouping: candidates still to look at */
    TY_VEC(uint32_t) stamp; /* grouping: per source token, the last copy that matched it */
    uint32_t stamp_id;      /* the last copy id given */
    int by_box;             /* grp_start/grp_mem hold the chains' MEMs (this call) */
    size_t ns, nq;          /* source and suspect tokens (this call) */
    TY_VEC(uint8_t) claim;  /* grouping: per suspect token, taken by a better chain */
    char err[TY_ERRMSG_SIZE];
};

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
    free(a->hs.a);
    free(a->hq.a);
    free(a->tab.a);
    free(a->touched.a);
    free(a->next.a);
    free(a->occ.a);
    free(a->occ_at.a);
    free(a->occ_cnt.a);
    free(a->mem.a);
    free(a->f.a);
    free(a->prev.a);
    free(a->gain.a);
    free(a->ends.a);
    free(a->used.a);
    free(a->box.a);
    free(a->out.a);
    free(a->owner.a);
    free(a->visit.a);
    free(a->out_box.a);
    free(a->runs.a);
    free(a->run_beg.a);
    free(a->grp_start.a);
    free(a->grp_mem.a);
    free(a->units.a);
    free(a->tmp.a);
    free(a->keys.a);
    free(a->cuts.a);
    free(a->segs.a);
    free(a->stamp.a);
    free(a->claim.a);
    free(a);
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

/* ---- 4: passages ------------------------------------------------------------------------ */

static int64_t ivl_gap(uint32_t b1, uint32_t e1, uint32_t b2, uint32_t e2)
{
    if (e1 <= b2)
        return (int64_t)b2 - e1;
    if (e2 <= b1)
        return (int64_t)b1 - e2;
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Sort v[0..n) ascending: insertion sort for the few keys of most calls, else qsort. */
static void sort_u64(uint64_t *v, size_t n)
{
    if (n > 24) {
        qsort(v, n, sizeof(uint64_t), cmp_u64);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t t = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

/* MEMs grouped by owning box (a->owner) with one counting sort — linear however many boxes:
 * box b owns grp_mem[grp_start[b] .. grp_start[b+1]), in suspect order. */
static int mems_by_box(ty_aligner_t *a)
{
    size_t nb = a->nbox0, nm = a->mem.n;
    a->grp_start.n = 0;
    if (ty_vec_reserve(a->grp_start, nb + 1) || ty_vec_reserve(a->grp_mem, nm ? nm : 1))
        return TY_ENOMEM;
    size_t *start = a->grp_start.a;
    int32_t *bym = a->grp_mem.a;
    memset(start, 0, (nb + 1) * sizeof(size_t));
    for (size_t k = 0; k < nm; k++)
        if (a->owner.a[k] >= 0)
            start[a->owner.a[k] + 1]++;
    for (size_t x = 0; x < nb; x++)
        start[x + 1] += start[x];
    for (size_t k = 0; k < nm; k++) /* in MEM order, i.e. suspect order, within each box */
        if (a->owner.a[k] >= 0)
            bym[start[a->owner.a[k]]++] = (int32_t)k;
    for (size_t x = nb; x > 0; x--) /* start[] was advanced to the ends: shift back */
        start[x] = start[x - 1];
    start[0] = 0;
    return TY_OK;
}

/* Sort the box indices u[0..n) by suspect start (by_src = 0) or source start, ties by index. */
static void sort_units(ty_aligner_t *a, int32_t *u, size_t n, int by_src)
{
    const box_t *b = a->box.a;
    uint64_t *k = a->keys.a;
    for (size_t x = 0; x < n; x++)
        k[x] = (uint64_t)(by_src ? b[u[x]].sb : b[u[x]].qb) << 32 | (uint32_t)u[x];
    sort_u64(k, n);
    for (size_t x = 0; x < n; x++)
        u[x] = (int32_t)(uint32_t)k[x];
}

/* u[0..n) sorted by one text's start: the number of places where the next box starts more
 * than G tokens after every box before it ends in that text; with cut != NULL, the index
 * after each such place. */
static size_t find_cuts(const box_t *b, const int32_t *u, size_t n, int by_src, int64_t G,
                        uint32_t *cut)
{
    size_t nc = 0;
    uint32_t end = by_src ? b[u[0]].se : b[u[0]].qe;
    for (size_t x = 1; x < n; x++) {
        uint32_t beg = by_src ? b[u[x]].sb : b[u[x]].qb, e = by_src ? b[u[x]].se : b[u[x]].qe;
        if ((int64_t)beg - (int64_t)end > G) {
            if (cut)
                cut[nc] = (uint32_t)x;
            nc++;
        }
        if (e > end)
            end = e;
    }
    return nc;
}

/* Tokens covered by the intervals [beg, end) of u[0..n) in one text (sorted by its start). */
static uint64_t covered_len(const box_t *b, const int32_t *u, size_t n, int by_src)
{
    uint64_t cov = 0;
    uint32_t upto = 0;
    for (size_t x = 0; x < n; x++) {
        uint32_t beg = by_src ? b[u[x]].sb : b[u[x]].qb, e = by_src ? b[u[x]].se : b[u[x]].qe;
        if (beg < upto)
            beg = upto;
        if (e > beg)
            cov += e - beg;
        if (e > upto)
            upto = e;
    }
    return cov;
}

static void kill_box(box_t *b)
{
    b->alive = 0;
    b->parent = -1;
}

/* Join boxes within merge_gap of each other in both texts (box by box: the rule for units
 * that do not tile one region, see group_regions). A sweep over u[0..n) ordered by suspect
 * start compares each box only with those that start before its end + merge_gap; passes
 * repeat until stable because a grown box may now reach one it passed. */
static void merge_near(ty_aligner_t *a, const int32_t *u, size_t n)
{
    box_t *b = a->box.a;
    const int64_t G = a->o.merge_gap;
    int changed = 1;
    while (changed) {
        changed = 0;
        for (size_t xi = 0; xi < n; xi++) {
            size_t x = (size_t)u[xi];
            if (!b[x].alive)
                continue;
            for (size_t yi = xi + 1; yi < n; yi++) {
                size_t y = (size_t)u[yi];
                if ((int64_t)b[y].qb - (int64_t)b[x].qe > G)
                    break;
                if (!b[y].alive || ivl_gap(b[x].sb, b[x].se, b[y].sb, b[y].se) > G)
                    continue;
                if (b[y].qe > b[x].qe)
                    b[x].qe = b[y].qe;
                if (b[y].sb < b[x].sb)
                    b[x].sb = b[y].sb;
                if (b[y].se > b[x].se)
                    b[x].se = b[y].se;
                b[y].alive = 0;
                b[y].parent = (int32_t)x;
                changed = 1;
            }
        }
    }
}

enum { SEG_LAYERED = 1, SEG_STRONG = 2 };

/* Per source token, the id of the last copy that matched it (settle_region): ids only grow,
 * so nothing is cleared between copies or calls. */
static int stamps_ready(ty_aligner_t *a)
{
    if (a->stamp.n < a->ns) {
        if (ty_vec_reserve(a->stamp, a->ns))
            return TY_ENOMEM;
        memset(a->stamp.a, 0, a->ns * sizeof(uint32_t));
        a->stamp.n = a->ns;
        a->stamp_id = 0;
    }
    return TY_OK;
}

static uint32_t stamp_new(ty_aligner_t *a)
{
    if (++a->stamp_id == 0) { /* wrapped: start again */
        memset(a->stamp.a, 0, a->stamp.n * sizeof(uint32_t));
        a->stamp_id = 1;
    }
    return a->stamp_id;
}

/* Source tokens of box x's MEMs (*tot) and how many of them copy id already holds (*seen). */
static void box_count(const ty_aligner_t *a, int32_t x, uint32_t id, uint64_t *tot, uint64_t *seen)
{
    for (size_t q = a->grp_start.a[x]; q < a->grp_start.a[x + 1]; q++) {
        const mem_t *m = &a->mem.a[a->grp_mem.a[q]];
        for (uint32_t t = m->i; t < m->i + m->len; t++)
            *seen += a->stamp.a[t] == id;
        *tot += m->len;
    }
}

/* box_count, then give box x's source tokens to copy id */
static void box_stamp(ty_aligner_t *a, int32_t x, uint32_t id, uint64_t *tot, uint64_t *seen)
{
    box_count(a, x, id, tot, seen);
    for (size_t q = a->grp_start.a[x]; q < a->grp_start.a[x + 1]; q++) {
        const mem_t *m = &a->mem.a[a->grp_mem.a[q]];
        for (uint32_t t = m->i; t < m->i + m->len; t++)
            a->stamp.a[t] = id;
    }
}

#define REGION_DENSITY 0.5 /* share of both hulls a region's chains must cover */

/* One candidate region u[lo..hi), sorted by suspect start, that no gap splits further.
 * Returns how many segments it pushed back for another look (copies, or its full chains
 * alone), 0 when it was settled here, -1 when out of memory. */
static int settle_region(ty_aligner_t *a, uint32_t lo, uint32_t hi, int flags)
{
    box_t *b = a->box.a;
    int32_t *u = a->units.a;
    const int64_t G = a->o.merge_gap;
    /* a suspect holding the region twice (or a passage repeated) maps the same source text
     * twice: one passage per copy, cut where a chain lands on source text that the copy so
     * far already matched (one-to-one). Box extents tell cheaply that no text can be
     * matched twice; if they overlap, the MEMs' source tokens are counted. */
    if (!(flags & SEG_LAYERED) && hi - lo > 1) {
        uint64_t sum = 0;
        for (uint32_t x = lo; x < hi; x++)
            sum += b[u[x]].se - b[u[x]].sb;
        memcpy(a->tmp.a, u + lo, (hi - lo) * sizeof(int32_t));
        sort_units(a, a->tmp.a, hi - lo, 1);
        uint64_t uni = covered_len(b, a->tmp.a, hi - lo, 1);
        if (sum - uni > uni / 4) {
            if (stamps_ready(a) || (!a->by_box && mems_by_box(a)))
                return -1;
            a->by_box = 1; /* box b's MEMs (no box merged yet: owners are chains) */
            uint32_t id = stamp_new(a);
            uint64_t tot = 0, seen = 0;
            for (uint32_t x = lo; x < hi; x++)
                box_stamp(a, u[x], id, &tot, &seen);
            if (seen > (tot - seen) / 4) {
                uint32_t start = lo;
                int pushed = 0;
                id = stamp_new(a);
                for (uint32_t x = lo; x <= hi; x++) {
                    int cut = x == hi;
                    if (!cut) {
                        uint64_t t = 0, ov = 0;
                        box_count(a, u[x], id, &t, &ov);
                        cut = x > start && 2 * ov > t;
                    }
                    if (cut) {
                        useg_t sg = {start, x, flags | SEG_LAYERED};
                        if (ty_vec_push(a->segs, sg))
                            return -1;
                        pushed++;
                        start = x;
                        id = stamp_new(a);
                    }
                    if (x < hi)
                        box_stamp(a, u[x], id, &tot, &seen);
                }
                return pushed;
            }
        }
    }
    /* weak chains at either end that stand apart are not part of the region */
    const int64_t T = G / 4;
    while (hi > lo && !b[u[lo]].strong &&
           (hi - lo == 1 || (int64_t)b[u[lo + 1]].qb - (int64_t)b[u[lo]].qe > T))
        kill_box(&b[u[lo++]]);
    uint32_t *upto = a->cuts.a; /* upto[x - lo]: where the boxes before u[x] end */
    for (uint32_t x = lo, e = 0; x < hi; x++) {
        upto[x - lo] = e;
        e = b[u[x]].qe > e ? b[u[x]].qe : e;
    }
    while (hi > lo && !b[u[hi - 1]].strong &&
           (hi - lo == 1 || (int64_t)b[u[hi - 1]].qb - (int64_t)upto[hi - 1 - lo] > T))
        kill_box(&b[u[--hi]]);
    uint32_t nstrong = 0;
    int32_t root = -1;
    for (uint32_t x = lo; x < hi; x++)
        if (b[u[x]].strong) {
            nstrong++;
            if (root < 0 || u[x] < root)
                root = u[x]; /* boxes were made best chain first */
        }
    if (hi - lo <= 1 || !nstrong) {
        if (!nstrong)
            for (uint32_t x = lo; x < hi; x++)
                kill_box(&b[u[x]]);
        return 0;
    }
    /* a region: its chains cover most of its extent in both texts, in whatever order */
    uint32_t qb = UINT32_MAX, qe = 0, sb = UINT32_MAX, se = 0;
    for (uint32_t x = lo; x < hi; x++) {
        const box_t *c = &b[u[x]];
        qb = c->qb < qb ? c->qb : qb;
        qe = c->qe > qe ? c->qe : qe;
        sb = c->sb < sb ? c->sb : sb;
        se = c->se > se ? c->se : se;
    }
    uint64_t cq = covered_len(b, u + lo, hi - lo, 0);
    memcpy(a->tmp.a, u + lo, (hi - lo) * sizeof(int32_t));
    sort_units(a, a->tmp.a, hi - lo, 1);
    uint64_t cs = covered_len(b, a->tmp.a, hi - lo, 1);
    if ((double)cq >= REGION_DENSITY * (qe - qb) && (double)cs >= REGION_DENSITY * (se - sb)) {
        for (uint32_t x = lo; x < hi; x++)
            if (u[x] != root) {
                b[u[x]].alive = 0;
                b[u[x]].parent = root;
            }
        b[root].qb = qb, b[root].qe = qe, b[root].sb = sb, b[root].se = se;
        return 0;
    }
    if (nstrong < hi - lo && !(flags & SEG_STRONG)) {
        /* the weak chains did not make a region: try the full chains alone */
        uint32_t o = lo;
        for (uint32_t x = lo; x < hi; x++) {
            if (b[u[x]].strong)
                u[o++] = u[x];
            else
                kill_box(&b[u[x]]);
        }
        useg_t sg = {lo, o, flags | SEG_STRONG};
        return ty_vec_push(a->segs, sg) ? -1 : 1;
    }
    for (uint32_t x = lo, o = lo; x < hi; x++) /* only full chains are left here */
        if (b[u[x]].strong)
            u[o++] = u[x];
    merge_near(a, u + lo, nstrong);
    return 0;
}

/* u[0..n) in suspect order with suspect gaps before u[cut[0]], u[cut[1]], ...: keep only
 * the gaps whose two sides map to separate places in the source. A sentence spun beyond
 * recognition leaves a gap in a reordered copy too, but there the full chains before and
 * after it come from the same stretch of the source, interleaved; separate borrowings come
 * from separate stretches (or are copies of one, cut apart later). Returns the cuts kept. */
static size_t keep_apart(ty_aligner_t *a, const int32_t *u, size_t n, uint32_t *cut, size_t nc)
{
    const box_t *b = a->box.a;
    uint64_t *suf = a->keys.a; /* suf[x]: source hull of the full chains in u[x..n) */
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t x = n; x-- > 0;) {
        if (b[u[x]].strong) {
            lo = b[u[x]].sb < lo ? b[u[x]].sb : lo;
            hi = b[u[x]].se > hi ? b[u[x]].se : hi;
        }
        suf[x] = (uint64_t)lo << 32 | hi;
    }
    size_t kept = 0, x = 0;
    lo = UINT32_MAX, hi = 0; /* hull of the full chains before the cut */
    for (size_t c = 0; c < nc; c++) {
        for (; x < cut[c]; x++)
            if (b[u[x]].strong) {
                lo = b[u[x]].sb < lo ? b[u[x]].sb : lo;
                hi = b[u[x]].se > hi ? b[u[x]].se : hi;
            }
        uint32_t rlo = (uint32_t)(suf[cut[c]] >> 32), rhi = (uint32_t)suf[cut[c]];
        uint32_t ol = lo > rlo ? lo : rlo, oh = hi < rhi ? hi : rhi;
        uint64_t lw = hi > lo ? hi - lo : 0, rw = rhi > rlo ? rhi - rlo : 0;
        uint64_t minw = lw < rw ? lw : rw;
        if (!(oh > ol && 4 * (uint64_t)(oh - ol) > minw))
            cut[kept++] = cut[c]; /* apart in the source too: a real cut */
    }
    return kept;
}

/* Group the chains into passages. A passage is a region of the suspect and a region of the
 * source that its chains tile — in order (an edited copy) or in any order (shuffled
 * sentences, a wholly reordered article) — with no gap over merge_gap in either text and
 * most of both regions covered; separate borrowings stay apart because the source text
 * between them is not covered. Candidate regions come from cutting at gaps: the chains are
 * cut where the suspect has a gap, each piece where the source has one, and so on until no
 * gap is left. A candidate that maps the same source text twice is cut into copies; weak
 * chains (below min_chain) only fill regions; a candidate that does not cover its region
 * falls back to joining chains that are near each other in both texts. */
static int group_regions(ty_aligner_t *a)
{
    box_t *b = a->box.a;
    size_t n = a->box.n;
    const int64_t G = a->o.merge_gap;
    if (ty_vec_reserve(a->units, n + 1) || ty_vec_reserve(a->tmp, n + 1) ||
        ty_vec_reserve(a->keys, n + 1) || ty_vec_reserve(a->cuts, n + 1))
        return TY_ENOMEM;
    int32_t *u = a->units.a;
    size_t nu = 0;
    for (size_t x = 0; x < n; x++)
        if (b[x].alive)
            u[nu++] = (int32_t)x;
    a->segs.n = 0;
    if (!nu)
        return TY_OK;
    /* Secondary chains first: a chain whose suspect text is mostly taken by a better chain
     * maps it to another place of the source (a repeated sentence there) and is dropped, so
     * that each suspect token counts for one source place. Chains were made best first. */
    memcpy(a->tmp.a, u, nu * sizeof(int32_t));
    sort_units(a, a->tmp.a, nu, 0);
    int overlap = 0;
    for (size_t x = 1, end = b[a->tmp.a[0]].qe; x < nu && !overlap; x++) {
        overlap = b[a->tmp.a[x]].qb < end;
        if (b[a->tmp.a[x]].qe > end)
            end = b[a->tmp.a[x]].qe;
    }
    if (overlap) { /* boxes overlap: count the suspect tokens their MEMs match */
        if (ty_vec_reserve(a->claim, a->nq) || (!a->by_box && mems_by_box(a)))
            return TY_ENOMEM;
        a->by_box = 1;
        memset(a->claim.a, 0, a->nq);
        size_t o = 0;
        for (size_t x = 0; x < nu; x++) {
            uint64_t tot = 0, taken = 0;
            for (size_t q = a->grp_start.a[u[x]]; q < a->grp_start.a[u[x] + 1]; q++) {
                const mem_t *m = &a->mem.a[a->grp_mem.a[q]];
                for (uint32_t t = m->j; t < m->j + m->len; t++)
                    taken += a->claim.a[t];
                tot += m->len;
            }
            if (2 * taken > tot) {
                kill_box(&b[u[x]]);
                continue;
            }
            for (size_t q = a->grp_start.a[u[x]]; q < a->grp_start.a[u[x] + 1]; q++) {
                const mem_t *m = &a->mem.a[a->grp_mem.a[q]];
                memset(a->claim.a + m->j, 1, m->len);
            }
            u[o++] = u[x];
        }
        nu = o;
    }
    useg_t all = {0, (uint32_t)nu, 0};
    if (ty_vec_push(a->segs, all))
        return TY_ENOMEM;
    uint32_t *cut = a->cuts.a;
    while (a->segs.n) {
        useg_t sg = a->segs.a[--a->segs.n];
        uint32_t lo = sg.lo, hi = sg.hi, m = hi - lo;
        if (m == 0)
            continue;
        /* cut at suspect gaps (those whose sides lie apart in the source), else at source
         * holes; a piece that neither cuts is a candidate region */
        sort_units(a, u + lo, m, 0);
        size_t nc = m > 1 ? find_cuts(b, u + lo, m, 0, G, cut) : 0;
        if (nc)
            nc = keep_apart(a, u + lo, m, cut, nc);
        if (nc == 0 && m > 1) {
            sort_units(a, u + lo, m, 1);
            /* a hole in the source is a cut when it is also large beside the text the
             * candidate covers there: one dropped or rewritten sentence inside a reordered
             * article is not a second borrowing */
            int64_t gs = (int64_t)(covered_len(b, u + lo, m, 1) / 8);
            nc = find_cuts(b, u + lo, m, 1, gs > G ? gs : G, cut);
            if (nc == 0)
                sort_units(a, u + lo, m, 0);
        }
        if (nc) {
            uint32_t prev = lo;
            for (size_t c = 0; c <= nc; c++) {
                uint32_t e = c < nc ? lo + cut[c] : hi;
                useg_t p = {prev, e, sg.flags};
                if (ty_vec_push(a->segs, p))
                    return TY_ENOMEM;
                prev = e;
            }
            continue;
        }
        if (settle_region(a, lo, hi, sg.flags) < 0)
            return TY_ENOMEM;
    }
    return TY_OK;
}

/* ---- 5: refinement ---------------------------------------------------------------------- */

static int is_terminator(uint32_t c)
{
    switch (c) {
    case '\n':
    case '.':
    case '!':
    case '?':
    case ';':
    case 0x3002: /* 。 */
    case 0xFF01: /* ！ */
    case 0xFF1F: /* ？ */
    case 0xFF1B: /* ； */
    case 0xFF0E: /* ． */
    case 0x2026: /* … */ return 1;
    default: return 0;
    }
}

/* Decode one code point with the tokenizer's rules, so that code-point counts agree with
 * the token offsets: each byte of an invalid sequence counts as one code point (U+FFFD). */
static uint32_t cp_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    uint32_t c;
    int l = ty__utf8_decode(s + i, n - i, &c);
    if (l == 0) {
        *len = 1;
        return 0xFFFD;
    }
    *len = (size_t)l;
    return c;
}

/* In the bytes [from, to) between two tokens, is there a sentence end? If so, for an end side
 * return via *cut the byte and code point just after the terminator (and after a following
 * line break); for a start side, just after the last terminator or line break. */
static int boundary_in(const ty_doc_t *d, size_t from, size_t to, uint32_t cp_from, int is_end,
                       size_t *cut_b, uint32_t *cut_cp)
{
    const unsigned char *s = (const unsigned char *)d->text;
    size_t i = from, l;
    uint32_t cp = cp_from;
    int found = 0;
    while (i < to) {
        uint32_t c = cp_at(s, d->len, i, &l);
        i += l;
        cp++;
        if (is_terminator(c)) {
            found = 1;
            *cut_b = i;
            *cut_cp = cp;
            if (is_end) {
                /* take the rest of a terminator run ("。」", "?!") and the line break */
                while (i < to) {
                    c = cp_at(s, d->len, i, &l);
                    if (c == ' ' || c == '\t' || c == '\r' || c == 0x3000 ||
                        (!is_terminator(c) && c != 0x201D && c != 0x300D && c != 0x300F &&
                         c != 0xFF09 && c != ')' && c != '"'))
                        if (c != '\n')
                            break;
                    i += l;
                    cp++;
                    *cut_b = i;
                    *cut_cp = cp;
                    if (c == '\n')
                        break;
                }
                return 1;
            }
        }
    }
    return found;
}

/* Refine the token range [*b, *e) of d into code point / byte spans. */
static void refine(const ty_doc_t *d, uint32_t b, uint32_t e, int snap, size_t *cpb, size_t *cpe,
                   size_t *byb, size_t *bye)
{
    *cpb = d->cp_off[b];
    *byb = d->byte_off[b];
    *cpe = d->cp_end[e - 1];
    *bye = d->byte_end[e - 1];
    /* start: look back over at most snap tokens for a sentence end in the gap before a token */
    for (int t = 0; t <= snap; t++) {
        if ((int64_t)b - t < 0)
            break;
        uint32_t x = b - (uint32_t)t;
        size_t gb = x ? d->byte_end[x - 1] : 0;
        uint32_t gcp = x ? d->cp_end[x - 1] : 0;
        size_t cb;
        uint32_t ccp;
        if (x == 0) {
            if (t <= snap) {
                *cpb = 0;
                *byb = 0;
            }
            break;
        }
        if (boundary_in(d, gb, d->byte_off[x], gcp, 0, &cb, &ccp)) {
            *cpb = ccp;
            *byb = cb;
            break;
        }
    }
    /* end: look forward over at most snap tokens for a sentence end after a token */
    for (int t = 0; t <= snap; t++) {
        uint32_t x = e - 1 + (uint32_t)t; /* last token included */
        if (x >= d->ntok)
            break;
        size_t ge = x + 1 < d->ntok ? d->byte_off[x + 1] : d->len;
        size_t cb;
        uint32_t ccp;
        if (boundary_in(d, d->byte_end[x], ge, d->cp_end[x], 1, &cb, &ccp)) {
            *cpe = ccp;
            *bye = cb;
            break;
        }
        if (x + 1 == d->ntok) { /* end of text: take what is left */
            *cpe = d->ncp;
            *bye = d->len;
            break;
        }
    }
}

/* ---- driver ----------------------------------------------------------------------------- */

static int cmp_pass(const void *x, const void *y)
{
    const ty_passage_t *p = x, *q = y;
    if (p->sus_off != q->sus_off)
        return p->sus_off < q->sus_off ? -1 : 1;
    return p->src_off < q->src_off ? -1 : p->src_off > q->src_off;
}

/* Sort the passages by suspect offset (with their box ids), then gather each passage's exact
 * runs in suspect order. */
static int cmp_run(const void *x, const void *y)
{
    const ty_match_t *p = x, *q = y;
    if (p->sus_tok != q->sus_tok)
        return p->sus_tok < q->sus_tok ? -1 : 1;
    return p->src_tok < q->src_tok ? -1 : p->src_tok > q->src_tok;
}

/* Group MEMs by owning (root) box with one counting sort — linear however many boxes — and
 * set each box's matched count: the tokens its MEMs cover in the suspect and in the source,
 * each counted once, whichever is less. A passage whose chains map two suspect places to
 * one source place (or the reverse) can so never claim more matched tokens than either side
 * has. */
static int group_mems(ty_aligner_t *a)
{
    if (mems_by_box(a))
        return TY_ENOMEM;
    size_t nb = a->nbox0;
    const size_t *start = a->grp_start.a;
    const int32_t *bym = a->grp_mem.a;
    for (size_t x = 0; x < nb; x++) {
        box_t *b = &a->box.a[x];
        if (!b->alive)
            continue;
        /* MEMs come in suspect order; within a chain they also run forwards in the source,
         * so one pass counts both sides unless chains were joined out of order */
        uint32_t covered = 0, end = 0, covs = 0, ends = 0, sorted = 1, prev_i = 0;
        for (size_t q = start[x]; q < start[x + 1]; q++) {
            const mem_t *m = &a->mem.a[bym[q]];
            uint32_t mb = m->j > end ? m->j : end, me = m->j + m->len;
            if (me > mb)
                covered += me - mb;
            if (me > end)
                end = me;
            sorted &= m->i >= prev_i;
            prev_i = m->i;
            mb = m->i > ends ? m->i : ends, me = m->i + m->len;
            if (me > mb)
                covs += me - mb;
            if (me > ends)
                ends = me;
        }
        if (!sorted) { /* reordered chains, or copies: count each source token once */
            if (stamps_ready(a))
                return TY_ENOMEM;
            uint32_t id = stamp_new(a);
            covs = 0;
            for (size_t q = start[x]; q < start[x + 1]; q++) {
                const mem_t *m = &a->mem.a[bym[q]];
                for (uint32_t t = m->i; t < m->i + m->len; t++) {
                    covs += a->stamp.a[t] != id;
                    a->stamp.a[t] = id;
                }
            }
        }
        b->matched = covered < covs ? covered : covs;
    }
    return TY_OK;
}

static int collect_runs(ty_aligner_t *a)
{
    size_t n = a->out.n;
    /* insertion sort: passages are few, and out_box must follow */
    for (size_t x = 1; x < n; x++) {
        ty_passage_t p = a->out.a[x];
        int32_t id = a->out_box.a[x];
        size_t y = x;
        while (y > 0 && cmp_pass(&a->out.a[y - 1], &p) > 0) {
            a->out.a[y] = a->out.a[y - 1];
            a->out_box.a[y] = a->out_box.a[y - 1];
            y--;
        }
        a->out.a[y] = p;
        a->out_box.a[y] = id;
    }
    const size_t *start = a->grp_start.a;
    const int32_t *bym = a->grp_mem.a;
    int rc = TY_OK;
    for (size_t x = 0; x < n && rc == TY_OK; x++) {
        if (ty_vec_push(a->run_beg, a->runs.n)) {
            rc = TY_ENOMEM;
            break;
        }
        size_t first = a->runs.n, id = (size_t)a->out_box.a[x];
        for (size_t q = start[id]; q < start[id + 1]; q++) {
            const mem_t *m = &a->mem.a[bym[q]];
            ty_match_t r = {m->i, m->j, m->len};
            if (ty_vec_push(a->runs, r)) {
                rc = TY_ENOMEM;
                break;
            }
        }
        /* MEMs are made in suspect order, so runs usually are too: sort only if needed */
        for (size_t k = first + 1; k < a->runs.n; k++) {
            if (cmp_run(&a->runs.a[k - 1], &a->runs.a[k]) > 0) {
                qsort(a->runs.a + first, a->runs.n - first, sizeof(ty_match_t), cmp_run);
                break;
            }
        }
    }
    if (rc)
        return rc;
    return ty_vec_push(a->run_beg, a->runs.n) ? TY_ENOMEM : TY_OK;
}

int ty_compare_runs(const ty_aligner_t *a, size_t i, const ty_match_t **runs, size_t *n)
{
    if (!a || i >= a->out.n || i + 1 >= a->run_beg.n)
        return TY_EINVAL;
    *runs = a->runs.a + a->run_beg.a[i];
    *n = a->run_beg.a[i + 1] - a->run_beg.a[i];
    return TY_OK;
}

static int cmp_box_matched(const void *x, const void *y)
{
    const box_t *p = x, *q = y;
    if (p->matched != q->matched)
        return p->matched < q->matched ? 1 : -1;
    return p->qb < q->qb ? -1 : p->qb > q->qb;
}

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
    a->nbox0 = a->box.n;
    a->by_box = 0;
    a->ns = src->ntok;
    a->nq = sus->ntok;
    if (group_regions(a))
        return ty__err(a->err, TY_ENOMEM, "out of memory");
    /* every MEM now belongs to the root of its box (ids are creation indices), or to none
     * when that box was dropped */
    for (size_t x = 0; x < a->mem.n; x++) {
        int32_t o = a->owner.a[x];
        while (o >= 0 && a->box.a[o].parent >= 0)
            o = a->box.a[o].parent;
        a->owner.a[x] = o >= 0 && a->box.a[o].alive ? o : -1;
    }
    if (group_mems(a))
        return ty__err(a->err, TY_ENOMEM, "out of memory");
    /* keep live boxes, best first; drop one that mostly repeats a kept box in the suspect */
    size_t nb = 0;
    for (size_t x = 0; x < a->box.n; x++)
        if (a->box.a[x].alive)
            a->box.a[nb++] = a->box.a[x];
    a->box.n = nb;
    if (nb)
        qsort(a->box.a, nb, sizeof(box_t), cmp_box_matched);
    for (size_t x = 0; x < nb; x++) {
        box_t *b = &a->box.a[x];
        uint32_t ql = b->qe - b->qb, sl = b->se - b->sb;
        double score = 2.0 * b->matched / (double)(ql + sl);
        if (score > 1)
            score = 1;
        /* evidence = matched tokens weighted by density: a short passage must be dense to
         * count (stock phrases shared by unrelated texts are short and loosely matched) */
        if (score < a->o.min_score || (double)b->matched * score < (double)a->o.min_len) {
            b->alive = 0;
            continue;
        }
        for (size_t y = 0; y < x; y++) {
            const box_t *c = &a->box.a[y];
            if (!c->alive)
                continue;
            uint32_t lo = b->qb > c->qb ? b->qb : c->qb, hi = b->qe < c->qe ? b->qe : c->qe;
            if (hi > lo && (hi - lo) * 2 > ql) {
                b->alive = 0;
                break;
            }
        }
        if (!b->alive)
            continue;
        ty_passage_t p;
        memset(&p, 0, sizeof(p));
        p.src_tok_beg = b->sb;
        p.src_tok_end = b->se;
        p.sus_tok_beg = b->qb;
        p.sus_tok_end = b->qe;
        p.matched = b->matched > ql ? ql : b->matched;
        p.score = score;
        size_t cb, ce, bb, be;
        refine(src, b->sb, b->se, a->o.snap, &cb, &ce, &bb, &be);
        p.src_off = cb;
        p.src_len = ce - cb;
        p.src_byte_off = bb;
        p.src_byte_len = be - bb;
        refine(sus, b->qb, b->qe, a->o.snap, &cb, &ce, &bb, &be);
        p.sus_off = cb;
        p.sus_len = ce - cb;
        p.sus_byte_off = bb;
        p.sus_byte_len = be - bb;
        if (ty_vec_push(a->out, p) || ty_vec_push(a->out_box, b->id))
            return ty__err(a->err, TY_ENOMEM, "out of memory");
    }
    if (collect_runs(a))
        return ty__err(a->err, TY_ENOMEM, "out of memory");
    *out = a->out.a;
    *n = a->out.n;
    return TY_OK;
}

size_t ty_passages_coverage(const ty_passage_t *p, size_t n)
{
    /* passages are few: sort-free union by repeated scan over suspect token ranges */
    size_t total = 0, pos = 0;
    for (;;) {
        size_t best_b = SIZE_MAX, best_e = 0;
        for (size_t x = 0; x < n; x++) {
            size_t b = p[x].sus_tok_beg > pos ? p[x].sus_tok_beg : pos;
            if (p[x].sus_tok_end > b && b < best_b) {
                best_b = b;
                best_e = p[x].sus_tok_end;
            }
        }
        if (best_b == SIZE_MAX)
            break;
        for (size_t x = 0; x < n; x++)
            if (p[x].sus_tok_beg <= best_e && p[x].sus_tok_end > best_e)
                best_e = p[x].sus_tok_end;
        total += best_e - best_b;
        pos = best_e;
    }
    return total;
}
