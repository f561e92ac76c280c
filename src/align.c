/*
 * align.c — which passages of a suspect document come from a source document.
 *
 * The read-aligner recipe (minimap2), adapted to spun text:
 *  1. seeds: every k-mer of the source goes into a hash table (k-mers occurring more than
 *     max_occ times — boilerplate, repeated lines — are ignored); every k-mer of the suspect
 *     is looked up; a hit whose tokens really match is an anchor;
 *  2. anchors on one diagonal are grown into maximal exact runs ("MEMs"), so a verbatim
 *     copy is one anchor, not thousands, and chaining stays cheap;
 *  3. chaining: dynamic programming over MEMs sorted by suspect position; a MEM scores its
 *     new matched tokens, a link costs gap_cost per unmatched token and drift_cost per token
 *     of diagonal shift (a spinner's longer or shorter synonym, an inserted spam phrase);
 *     links longer than max_gap are not made. Chains are read back best first;
 *  4. passages: chains whose boxes lie within merge_gap of each other in both texts are
 *     joined — shuffled sentences and swapped paragraphs make several colinear chains that
 *     together are one reused passage; a passage that mostly repeats a better one in the
 *     suspect is dropped;
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
} box_t;

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
    free(a);
}

const char *ty_aligner_errmsg(const ty_aligner_t *a) { return a ? a->err : "no aligner"; }

/* ---- 1+2: seeds and maximal exact runs --------------------------------------------------- */

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
            ok = c <= max_occ;
        }
        if (ok) {
            int unique = next[tab[s].head] < 0;
            for (int32_t i = tab[s].head; i >= 0; i = next[i]) {
                if (prev_ok && i > 0 && j > 0 && S[i - 1] == Q[j - 1])
                    continue; /* inside a run that started further left */
                if (memcmp(S + i, Q + j, (size_t)k * sizeof(uint32_t)) != 0)
                    continue; /* hash collision */
                size_t L = (size_t)k;
                while ((size_t)i + L < ns && j + L < nq && S[(size_t)i + L] == Q[j + L])
                    L++;
                if (unique && L > (size_t)k)
                    skip_to = j + L - (size_t)k + 1;
                mem_t m = {(uint32_t)i, (uint32_t)j, (uint32_t)L};
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
    fx_t *ends = a->ends.a;
    size_t ne = 0;
    for (size_t x = 0; x < n; x++)
        if (f[x] >= a->o.min_chain)
            ends[ne++] = (fx_t){f[x], (int32_t)x};
    sort_fx(ends, ends + ne, ne);
    memset(a->used.a, 0, n);
    for (size_t r = 0; r < ne; r++) {
        int32_t x = ends[r].x;
        if (a->used.a[x])
            continue;
        int32_t y = x, stop = -1;
        box_t b = {m[x].i, m[x].i + m[x].len, m[x].j, m[x].j + m[x].len, 0, 1, -1, 0};
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
        if (sc < a->o.min_chain)
            continue;
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

/* Join boxes within merge_gap of each other in both texts. A sweep over boxes ordered by
 * suspect start compares each box only with those that start before its end + merge_gap,
 * so large documents with thousands of chains stay near-linear; passes repeat until stable
 * because a grown box may now reach one it passed. Returns TY_ENOMEM or TY_OK. */
static int merge_boxes(ty_aligner_t *a)
{
    box_t *b = a->box.a;
    size_t n = a->box.n;
    const int64_t G = a->o.merge_gap;
    if (n < 2)
        return TY_OK;
    uint64_t *ord = malloc(n * sizeof(uint64_t));
    if (!ord)
        return TY_ENOMEM;
    for (size_t x = 0; x < n; x++)
        ord[x] = (uint64_t)b[x].qb << 32 | x; /* by suspect start, then creation */
    qsort(ord, n, sizeof(uint64_t), cmp_u64);
    int changed = 1;
    while (changed) {
        changed = 0;
        for (size_t xi = 0; xi < n; xi++) {
            size_t x = (uint32_t)ord[xi];
            if (!b[x].alive)
                continue;
            for (size_t yi = xi + 1; yi < n; yi++) {
                size_t y = (uint32_t)ord[yi];
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
                b[x].matched += b[y].matched;
                b[y].alive = 0;
                b[y].parent = (int32_t)x;
                changed = 1;
            }
        }
    }
    free(ord);
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
 * set each box's matched count to the suspect tokens its MEMs cover, each counted once
 * (merged chains can map the same suspect tokens to two places in the source). */
static int group_mems(ty_aligner_t *a)
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
    for (size_t x = 0; x < nb; x++) {
        box_t *b = &a->box.a[x];
        if (!b->alive)
            continue;
        uint32_t covered = 0, end = 0;
        for (size_t q = start[x]; q < start[x + 1]; q++) {
            const mem_t *m = &a->mem.a[bym[q]];
            uint32_t mb = m->j > end ? m->j : end, me = m->j + m->len;
            if (me > mb)
                covered += me - mb;
            if (me > end)
                end = me;
        }
        b->matched = covered;
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
    if (merge_boxes(a))
        return ty__err(a->err, TY_ENOMEM, "out of memory");
    /* every MEM now belongs to the root of its box (ids are creation indices) */
    for (size_t x = 0; x < a->mem.n; x++) {
        int32_t o = a->owner.a[x];
        while (o >= 0 && a->box.a[o].parent >= 0)
            o = a->box.a[o].parent;
        a->owner.a[x] = o;
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
