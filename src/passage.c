/*
 * passage.c — steps 4 and 5 of the aligner (align.c has steps 1-3 and the recipe): the
 * chains chain() made become passages with refined ends and their exact runs.
 *
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
#include <string.h>

#include "align.h"

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

/* ---- passages out: sorted, with their exact runs ---------------------------------------- */

TY_CMP_BY2(static int cmp_pass, ty_passage_t, sus_off, src_off)

/* Sort the passages by suspect offset (with their box ids), then gather each passage's exact
 * runs in suspect order. */
TY_CMP_BY2(static int cmp_run, ty_match_t, sus_tok, src_tok)

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

/* Steps 4-5 on the chains of a->box (align.h). */
int ty__align_passages(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus)
{
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
