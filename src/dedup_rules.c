/*
 * dedup_rules.c — the rules of deduplication, for one process (dedup.c) and for N MPI ranks
 * (mpi/) alike: the keys and sketches of a document, the tables the rules keep, the
 * boilerplate mask, which candidates are aligned and in what order, and when an alignment
 * makes a link and with what similarity and containment.
 *
 * Every function here decides from its arguments alone: the engines gather those (from a
 * local table in one process, from the rank owning a key under MPI) and call the same code,
 * which is why the output is the same at any number of threads and ranks. A change of a
 * rule (the boilerplate cut, the candidate filters, the link decision) is made here once.
 */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "dedup.h"

#define ZSTD_LEVEL 1
#define SPAN_FRAC 0.65 /* see ty__cand_ok() */

/* ---- tables ------------------------------------------------------------------------------- */

uint32_t ty__xmap_get(const ty__xmap_t *m, uint64_t lo, uint64_t hi)
{
    const ty__xkv_t *e = ty__xtab_find(m, lo);
    return e && m->hi.a[e->at] == hi ? e->g : TY__NONE;
}

int ty__xmap_first(ty__xmap_t *m, uint64_t lo, uint64_t hi, uint32_t g, uint32_t *first)
{
    *first = TY__NONE;
    if (ty_vec_reserve(m->hi, m->hi.n + 1))
        return TY_ENOMEM;
    int isnew;
    ty__xkv_t *e = ty__xtab_put(m, lo, &isnew);
    if (!e)
        return TY_ENOMEM;
    if (!isnew) {
        if (m->hi.a[e->at] == hi)
            *first = e->g;
        return TY_OK;
    }
    m->hi.a[m->hi.n] = hi;
    e->g = g;
    e->at = (uint32_t)m->hi.n++;
    return TY_OK;
}

/* A block of class cls (4 << cls ids), or TY__NONE when out of memory. */
static uint32_t pool_alloc(pool_t *p, int cls)
{
    uint32_t cap = 4u << cls;
    if (p->freel[cls] != TY__NONE) {
        uint32_t r = p->freel[cls];
        p->freel[cls] = p->v.a[r + 2];
        p->v.a[r] = 0;
        return r;
    }
    if (p->v.n + 2 + cap > (size_t)UINT32_MAX - 1 || ty_vec_reserve(p->v, p->v.n + 2 + cap))
        return TY__NONE;
    uint32_t r = (uint32_t)p->v.n;
    p->v.n += 2 + cap;
    p->v.a[r] = 0;
    p->v.a[r + 1] = (uint32_t)cls;
    return r;
}

static void pool_free(pool_t *p, uint32_t r)
{
    uint32_t cls = p->v.a[r + 1];
    p->v.a[r + 2] = p->freel[cls];
    p->freel[cls] = r;
}

void ty__mztab_init(ty__mztab_t *t)
{
    memset(t, 0, sizeof(*t));
    for (int c = 0; c < POOL_CLASSES; c++)
        t->pool.freel[c] = TY__NONE;
}

void ty__mztab_free(ty__mztab_t *t)
{
    ty__map_free(&t->map);
    free(t->pool.v.a);
    ty__mztab_init(t);
}

/* A minimizer in one document keeps the document in its slot; lists exist only for
 * 2..max_df documents, and past max_df the minimizer is only counted. */
int ty__mztab_add(ty__mztab_t *t, uint64_t h, uint32_t g, uint32_t base, uint32_t max_df,
                  size_t *frequent)
{
    int isnew;
    ty__kv_t *s = ty__map_put(&t->map, h, &isnew);
    if (!s)
        return TY_ENOMEM;
    uint64_t was = (uint64_t)base + (isnew ? 0 : s->val);
    if (was == max_df) /* boilerplate with g, counting the documents elsewhere */
        (*frequent)++;
    if (isnew) {
        s->val = 1;
        s->aux = g;
        return TY_OK;
    }
    if (s->val > max_df) { /* boilerplate already: just count */
        if (s->val < TY__NONE)
            s->val++;
        return TY_OK;
    }
    s->val++;
    if (s->val > max_df) { /* becomes boilerplate: its postings go */
        if (s->val - 1 >= 2)
            pool_free(&t->pool, s->aux);
        s->aux = TY__NONE;
        return TY_OK;
    }
    if (s->val == 2) {
        uint32_t first = s->aux, blk = pool_alloc(&t->pool, 0);
        if (blk == TY__NONE)
            return TY_ENOMEM;
        uint32_t *p = t->pool.v.a + blk;
        p[0] = 2;
        p[2] = first;
        p[3] = g;
        s->aux = blk;
        return TY_OK;
    }
    uint32_t *p = t->pool.v.a + s->aux;
    uint32_t cls = p[1], n = p[0];
    if (n == (4u << cls)) {
        uint32_t nb = pool_alloc(&t->pool, (int)cls + 1);
        if (nb == TY__NONE)
            return TY_ENOMEM;
        p = t->pool.v.a + s->aux; /* the pool may have moved */
        uint32_t *q = t->pool.v.a + nb;
        memcpy(q + 2, p + 2, n * sizeof(uint32_t));
        q[0] = n;
        pool_free(&t->pool, s->aux);
        s->aux = nb;
        p = q;
    }
    p[2 + p[0]++] = g;
    return TY_OK;
}

/* ---- options ------------------------------------------------------------------------------ */

int ty__rules_init(ty__rules_t *R, const ty_dedup_opts_t *o, const ty_opts_t *to)
{
    memset(R, 0, sizeof(*R));
    if (!o || !to || ty_dedup_opts_check(o, NULL, 0) || ty_opts_check(to, NULL, 0))
        return TY_EINVAL;
    R->o = *o;
    R->to = *to;
    if (o->mode == TY_DEDUP_NEAR) {
        R->perms = o->bands * o->rows;
        R->np8 = (R->perms + 7) & ~7;
        R->pa = calloc((size_t)R->np8, sizeof(uint32_t));
        R->pb = calloc((size_t)R->np8, sizeof(uint32_t));
        if (!R->pa || !R->pb) {
            ty__rules_free(R);
            return TY_ENOMEM;
        }
        ty__minhash_perms(o->seed, R->perms, R->pa, R->pb);
    }
    return TY_OK;
}

void ty__rules_free(ty__rules_t *R)
{
    free(R->pa);
    free(R->pb);
    R->pa = R->pb = NULL;
}

/* ---- one document ------------------------------------------------------------------------- */

int ty__dd_too_big(const ty__rules_t *R, const char *name, size_t len, char *msg)
{
    if (len <= R->to.max_doc_bytes)
        return TY_OK;
    return ty__err(msg, TY_ETOOBIG, "%s: %zu bytes, more than the limit of %zu bytes", name, len,
                   R->to.max_doc_bytes);
}

int ty__dd_finish_gate(int failed, int finished, char *err, const char *fn)
{
    if (failed)
        return failed;
    return finished ? ty__err(err, TY_EINVAL, "%s() called twice", fn) : TY_OK;
}

void ty__dd_facts(const ty_doc_t *doc, ty__facts_t *f)
{
    size_t nt = ty_doc_ntokens(doc);
    f->ntok = (uint32_t)nt;
    f->ncp = (uint32_t)ty_doc_ncodepoints(doc);
    XXH128_hash_t h = XXH3_128bits(doc->tok, nt * sizeof(uint32_t));
    f->ex_lo = h.low64;
    f->ex_hi = h.high64;
}

int ty__near_sig(const ty__rules_t *R, ty__nearbuf_t *nb, const ty_doc_t *doc, uint32_t *sig,
                 uint32_t *nsh)
{
    *nsh = 0;
    if (!nb->sig && !(nb->sig = malloc((size_t)R->np8 * sizeof(uint32_t))))
        return TY_ENOMEM;
    size_t ns = ty__near_shingles(doc, R->o.ngram, &nb->nb);
    if (ns == (size_t)-1)
        return TY_ENOMEM;
    *nsh = (uint32_t)ns;
    if (ns) {
        ty__minhash(R->pa, R->pb, R->perms, nb->nb.x.a, ns, nb->sig);
        memcpy(sig, nb->sig, (size_t)R->perms * sizeof(uint32_t));
    } else {
        memset(sig, 0xff, (size_t)R->perms * sizeof(uint32_t));
    }
    return TY_OK;
}

void ty__nearbuf_free(ty__nearbuf_t *nb)
{
    ty__near_buf_free(&nb->nb);
    free(nb->sig);
    memset(nb, 0, sizeof(*nb));
}

void ty__near_link(const ty__rules_t *R, const uint32_t *sig_first, uint32_t nsh_first,
                   const uint32_t *sig_doc, uint32_t nsh_doc, float *sim, float *cont)
{
    /* the unbiased estimate given the band that found the pair (minhash.c) */
    ty__near_estimate(sig_doc, sig_first, R->o.bands, R->o.rows, nsh_doc, nsh_first, sim, cont);
}

int ty__spun_sketch(const ty__rules_t *R, const ty_doc_t *doc, ty__mzs_t *s)
{
    free(s->seeds);
    s->seeds = NULL;
    s->nseeds = 0;
    s->nmz = 0;
    int rc = ty_sketch(doc, R->o.k, R->o.w, &s->seeds, &s->nseeds);
    if (rc)
        return rc;
    if (s->cap < s->nseeds) {
        uint64_t *p = realloc(s->mz, s->nseeds * sizeof(uint64_t));
        if (p)
            s->mz = p;
        uint32_t *q = p ? realloc(s->mzpos, s->nseeds * sizeof(uint32_t)) : NULL;
        if (!p || !q)
            return TY_ENOMEM;
        s->mzpos = q;
        s->cap = s->nseeds;
    }
    /* sort (hash, position) pairs, as seeds, by hash then position; keep the first */
    ty_seed_t *sd = malloc((s->nseeds + 1) * sizeof(ty_seed_t));
    if (!sd)
        return TY_ENOMEM;
    for (size_t i = 0; i < s->nseeds; i++)
        sd[i] = (ty_seed_t){ty__fix_key(s->seeds[i].hash), s->seeds[i].pos};
    qsort(sd, s->nseeds, sizeof(ty_seed_t), cmp_seed);
    size_t m = 0;
    for (size_t i = 0; i < s->nseeds; i++)
        if (!m || s->mz[m - 1] != sd[i].hash) {
            s->mz[m] = sd[i].hash;
            s->mzpos[m++] = sd[i].pos;
        }
    free(sd);
    s->nmz = (uint32_t)m;
    return TY_OK;
}

void ty__mzs_free(ty__mzs_t *s)
{
    TY_FREE(s->seeds, s->mz, s->mzpos);
    memset(s, 0, sizeof(*s));
}

size_t ty__dd_pack(ZSTD_CCtx *cctx, const char *text, size_t len, char *dst, size_t cap)
{
    size_t c = ZSTD_compressCCtx(cctx, dst, cap, text, len, ZSTD_LEVEL);
    return ZSTD_isError(c) ? 0 : c;
}

int ty__unpacker_init(ty__unpacker_t *u)
{
    memset(u, 0, sizeof(*u));
    u->dctx = ZSTD_createDCtx();
    return u->dctx ? TY_OK : TY_ENOMEM;
}

void ty__unpacker_free(ty__unpacker_t *u)
{
    ZSTD_freeDCtx(u->dctx);
    free(u->tbuf);
    memset(u, 0, sizeof(*u));
}

int ty__dd_unpack(const ty__rules_t *R, ty__unpacker_t *u, const char *ctext, size_t clen,
                  size_t len, const char *name, ty_doc_t *doc, char *msg)
{
    if (u->tcap < len + 1) {
        char *p = realloc(u->tbuf, len + 1);
        if (!p)
            return ty__err(msg, TY_ENOMEM, "out of memory");
        u->tbuf = p;
        u->tcap = len + 1;
    }
    size_t got = ZSTD_decompressDCtx(u->dctx, u->tbuf, len + 1, ctext, clen);
    if (ZSTD_isError(got) || got != len)
        return ty__err(msg, TY_ECORRUPT, "%s: stored text does not decompress", name);
    int rc = ty_doc_load_mem(doc, name, u->tbuf, len, &R->to);
    if (rc)
        return ty__err(msg, rc, "%s", ty_doc_errmsg(doc));
    return TY_OK;
}

/* ---- candidates --------------------------------------------------------------------------- */

int ty__counter_grow(ty__counter_t *c)
{
    for (size_t i = 0; i < c->touched.n; i++) /* slots -> keys, and back after growing */
        c->touched.a[i] = c->a[c->touched.a[i]].doc1;
    int rc = ty__cslots_grow(c) ? TY_ENOMEM : TY_OK;
    for (size_t i = 0; i < c->touched.n; i++) {
        uint32_t k = c->touched.a[i];
        c->touched.a[i] = (uint32_t)(ty__cslots_probe(c, ty__cslots_slot(c, k), k) - c->a);
    }
    return rc;
}

int ty__counter_take(ty__counter_t *c, uint32_t min_shared, ty__candvec_t *out)
{
    int rc = TY_OK;
    for (size_t t = 0; t < c->touched.n; t++) {
        ty__cslot_t *e = &c->a[c->touched.a[t]];
        ty__cand_t x = {e->doc1 - 1, e->cnt, e->lo, e->hi, 0};
        e->doc1 = 0;
        if (!rc && x.cnt >= min_shared && ty_vec_push(*out, x))
            rc = TY_ENOMEM;
    }
    c->touched.n = c->n = 0;
    return rc;
}

void ty__counter_free(ty__counter_t *c)
{
    ty__cslots_free(c);
    free(c->touched.a);
    memset(c, 0, sizeof(*c));
}

int ty__cand_ok(const ty__rules_t *R, const ty__cand_t *c, uint32_t usable, uint32_t cand_nmz,
                uint32_t cand_ntok, uint32_t ntok)
{
    const ty_dedup_opts_t *o = &R->o;
    uint32_t small = usable < cand_nmz ? usable : cand_nmz;
    if (c->cnt < o->min_shared || (double)c->cnt < o->min_shared_frac * small)
        return 0;
    /* the shared minimizers must spread over enough of the new document for the passages
     * to cover min_containment of the smaller one: one shared sentence in two long
     * documents is not worth an alignment (the factor leaves room for the minimizer sampling
     * and a copy's spam phrases; calibrated on the dev set) */
    uint32_t mn = cand_ntok < ntok ? cand_ntok : ntok;
    return (double)(c->hi - c->lo + (uint32_t)o->k) >= SPAN_FRAC * o->min_containment * mn;
}

static int cmp_cand(const void *x, const void *y)
{
    const ty__cand_t *a = x, *b = y;
    if (a->cnt != b->cnt)
        return a->cnt < b->cnt ? 1 : -1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

void ty__cands_sort(ty__cand_t *c, size_t n)
{
    if (n > 1)
        qsort(c, n, sizeof(ty__cand_t), cmp_cand);
}

/* Roots already linked: a second document of the same earlier cluster adds nothing. */
int ty__cands_try(const ty__rules_t *R, const ty__cand_t *c, size_t n,
                  int (*try_fn)(void *ctx, uint32_t doc), void *ctx)
{
    uint32_t roots[64];
    size_t nroots = 0, tried = 0;
    for (size_t i = 0; i < n && tried < (size_t)R->o.max_candidates; i++) {
        uint32_t root = c[i].root;
        int seen = 0;
        for (size_t r = 0; r < nroots && !seen; r++)
            seen = roots[r] == root;
        if (seen)
            continue;
        tried++;
        int linked = try_fn(ctx, c[i].doc);
        if (linked < 0)
            return linked;
        if (linked && nroots < 64)
            roots[nroots++] = root;
    }
    return TY_OK;
}

size_t ty__cands_reach(const ty__rules_t *R, const ty__cand_t *c, size_t n)
{
    TY_VEC(uint32_t) roots = {0};
    size_t i = 0;
    for (; i < n && roots.n < (size_t)R->o.max_candidates; i++) {
        int seen = 0;
        for (size_t r = 0; r < roots.n && !seen; r++)
            seen = roots.a[r] == c[i].root;
        if (!seen && ty_vec_push(roots, c[i].root)) {
            i = n; /* out of memory: all of them may be tried */
            break;
        }
    }
    free(roots.a);
    return i;
}

/* ---- alignment and the link decision ---------------------------------------------------- */

int ty__verifier_init(ty__verifier_t *v, const ty_opts_t *to)
{
    memset(v, 0, sizeof(*v));
    v->al = ty_aligner_new(to);
    return v->al ? TY_OK : TY_ENOMEM;
}

void ty__verifier_free(ty__verifier_t *v)
{
    ty_aligner_free(v->al);
    TY_FREE(v->flag.a, v->mask_a.a, v->mask_b.a, v->cov_a.a, v->cov_b.a);
    memset(v, 0, sizeof(*v));
}

/* Tokens covered by boilerplate minimizers: each frequent minimizer's k tokens, and the
 * span between two consecutive minimizers that are both frequent (a template's tokens
 * between its sampled k-mers). mask has ntok bytes; returns how many are marked. */
static size_t boiler_mask(int k, const ty_seed_t *s, const uint8_t *flag, size_t ns, size_t ntok,
                          uint8_t *mask)
{
    memset(mask, 0, ntok);
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < ns; i++) {
        size_t p = s[i].pos;
        if (!flag[i]) {
            prev = SIZE_MAX;
            continue;
        }
        size_t from = prev != SIZE_MAX ? prev : p, to = p + (size_t)k < ntok ? p + (size_t)k : ntok;
        memset(mask + from, 1, to - from);
        prev = p;
    }
    size_t n = 0;
    for (size_t i = 0; i < ntok; i++)
        n += mask[i];
    return n;
}

int ty__verify(ty__verifier_t *v, const ty__rules_t *R, const ty_doc_t *src, const ty_seed_t *ss,
               size_t nss, const ty_doc_t *sus, const ty_seed_t *bs, size_t nbs, int exact,
               ty__boil_fn boil, void *ctx, ty__verdict_t *out)
{
    const ty_passage_t *ps = NULL;
    size_t np = 0;
    *out = (ty__verdict_t){1.0f, 1.0f, NULL, 0};
    if (!exact || R->o.evidence) {
        int rc = ty_compare(v->al, src, sus, &ps, &np);
        if (rc)
            return rc;
    }
    if (!exact) {
        if (!np)
            return 0;
        size_t na = ty_doc_ntokens(src), nb = ty_doc_ntokens(sus);
        size_t nf = nss > nbs ? nss : nbs;
        if (ty_vec_reserve(v->mask_a, na + 1) || ty_vec_reserve(v->mask_b, nb + 1) ||
            ty_vec_reserve(v->cov_a, na + 1) || ty_vec_reserve(v->cov_b, nb + 1) ||
            ty_vec_reserve(v->flag, nf + 1))
            return TY_ENOMEM;
        boil(ctx, 0, ss, nss, v->flag.a);
        size_t ba = boiler_mask(R->o.k, ss, v->flag.a, nss, na, v->mask_a.a);
        boil(ctx, 1, bs, nbs, v->flag.a);
        size_t bb = boiler_mask(R->o.k, bs, v->flag.a, nbs, nb, v->mask_b.a);
        memset(v->cov_a.a, 0, na);
        memset(v->cov_b.a, 0, nb);
        size_t matched = 0;
        for (size_t p = 0; p < np; p++) {
            memset(v->cov_a.a + ps[p].src_tok_beg, 1, ps[p].src_tok_end - ps[p].src_tok_beg);
            memset(v->cov_b.a + ps[p].sus_tok_beg, 1, ps[p].sus_tok_end - ps[p].sus_tok_beg);
            matched += ps[p].matched;
        }
        size_t ca = 0, cb = 0;
        for (size_t t = 0; t < na; t++)
            ca += v->cov_a.a[t] & !v->mask_a.a[t];
        for (size_t t = 0; t < nb; t++)
            cb += v->cov_b.a[t] & !v->mask_b.a[t];
        size_t ua = na - ba, ub = nb - bb; /* tokens outside boilerplate */
        size_t us = ua < ub ? ua : ub, cs = ua < ub ? ca : cb;
        if (us < (size_t)(R->to.min_len > 1 ? R->to.min_len : 1))
            return 0; /* too little text of its own to call it a copy */
        double cont = (double)cs / (double)us;
        if (cont < R->o.min_containment)
            return 0;
        size_t mm = na < nb ? na : nb;
        if (matched > mm)
            matched = mm;
        out->cont = (float)cont;
        out->sim = (float)(2.0 * (double)matched / (double)(na + nb));
    }
    out->ps = ps;
    out->nps = np;
    return 1;
}

/* ---- batch groups: copies of one text within a batch count once ------------------------- */

/* Each document's sketch is the GROUP_SKETCH smallest of its distinct minimizers (mz is
 * sorted); each sketch value keeps its first GROUP_HOLDERS documents of the batch. */
#define GROUP_SKETCH TY__GROUP_SKETCH
#define GROUP_HOLDERS 8

/* Value h is held by document j: keep j if h has fewer than GROUP_HOLDERS holders yet. */
static int add_holder(ty__map_t *tab, ty__u32vec_t *lists, uint64_t h, uint32_t j)
{
    int isnew;
    ty__kv_t *e = ty__map_put(tab, h, &isnew);
    if (!e)
        return TY_ENOMEM;
    if (isnew) {
        if (ty_vec_reserve(*lists, lists->n + GROUP_HOLDERS))
            return TY_ENOMEM;
        e->aux = (uint32_t)lists->n;
        lists->n += GROUP_HOLDERS;
    }
    if (e->val < GROUP_HOLDERS)
        lists->a[e->aux + e->val++] = j;
    return TY_OK;
}

int ty__batch_groups(const uint64_t *const *mz, const uint32_t *nmz, size_t n, uint32_t *grp,
                     ty__map_t *tab, ty__u32vec_t *lists)
{
    ty__map_clear(tab);
    lists->n = 0;
    for (size_t j = 0; j < n; j++) {
        grp[j] = (uint32_t)j;
        uint32_t m = nmz[j] < GROUP_SKETCH ? nmz[j] : GROUP_SKETCH;
        if (!m)
            continue;
        /* count the sketch values shared with each earlier holder */
        uint32_t who[GROUP_SKETCH * GROUP_HOLDERS], cnt[GROUP_SKETCH * GROUP_HOLDERS];
        size_t nw = 0;
        for (uint32_t i = 0; i < m; i++) {
            const ty__kv_t *e = ty__map_find(tab, mz[j][i]);
            if (!e)
                continue;
            const uint32_t *l = lists->a + e->aux;
            for (uint32_t x = 0; x < e->val; x++) {
                size_t y = 0;
                while (y < nw && who[y] != l[x])
                    y++;
                if (y == nw) {
                    who[nw] = l[x];
                    cnt[nw++] = 0;
                }
                cnt[y]++;
            }
        }
        /* the earliest holder sharing at least half of the smaller sketch (a third let documents
         * that are 2/3 one template group, and the template went unmasked: test_template) */
        uint32_t best = TY__NONE;
        for (size_t y = 0; y < nw; y++) {
            uint32_t mk = nmz[who[y]] < GROUP_SKETCH ? nmz[who[y]] : GROUP_SKETCH;
            uint32_t need = ((m < mk ? m : mk) + 1) / 2;
            if (cnt[y] >= need && who[y] < best)
                best = who[y];
        }
        if (best != TY__NONE)
            grp[j] = grp[best];
        for (uint32_t i = 0; i < m; i++)
            if (add_holder(tab, lists, mz[j][i], (uint32_t)j))
                return TY_ENOMEM;
    }
    return TY_OK;
}

/* ---- cover groups: spun copies of one text within a batch count once ------------------- */

ty__gsum_t ty__gsum_make(const ty__mzs_t *s, uint32_t ntok, uint64_t **h, uint32_t **pos,
                         size_t *cap)
{
    uint32_t rate = 1;
    while (s->nmz / rate > TY__COVER_CAP)
        rate *= 2;
    if (rate == 1)
        return (ty__gsum_t){s->mz, s->mzpos, s->nmz, ntok, 1};
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nmz; i++)
        n += ty__gsum_holds(rate, s->mz[i]);
    if (*cap < n) {
        uint64_t *a = realloc(*h, n * sizeof(uint64_t));
        if (a)
            *h = a;
        uint32_t *b = a ? realloc(*pos, n * sizeof(uint32_t)) : NULL;
        if (!a || !b)
            return (ty__gsum_t){NULL, NULL, 0, 0, 0};
        *pos = b;
        *cap = n;
    }
    n = 0;
    for (uint32_t i = 0; i < s->nmz; i++)
        if (ty__gsum_holds(rate, s->mz[i])) {
            (*h)[n] = s->mz[i];
            (*pos)[n++] = s->mzpos[i];
        }
    return (ty__gsum_t){*h, *pos, n, ntok, rate};
}

int ty__cover_table(const ty__gsum_t *gs, size_t n, ty__map_t *tab, ty__u32vec_t *lists)
{
    ty__map_clear(tab);
    lists->n = 0;
    for (size_t j = 0; j < n; j++)
        for (uint32_t i = 0; i < gs[j].n; i++)
            if (add_holder(tab, lists, gs[j].h[i], (uint32_t)j))
                return TY_ENOMEM;
    return TY_OK;
}

const uint32_t *ty__cover_holders(const ty__map_t *tab, const ty__u32vec_t *lists, uint64_t h,
                                  uint32_t *n)
{
    const ty__kv_t *e = ty__map_find(tab, h);
    *n = e ? e->val : 0;
    return e ? lists->a + e->aux : NULL;
}

void ty__coverbuf_free(ty__coverbuf_t *b)
{
    TY_FREE(b->cnt.a, b->lo.a, b->hi.a, b->touched.a, b->pa.a, b->pb.a);
    memset(b, 0, sizeof(*b));
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Tokens of a text of ntok tokens covered by shared minimizers at positions p[0..n) (sorted
 * here): each one's k tokens, and the gap to the next one when it is at most gap tokens. */
static size_t covered(uint32_t *p, size_t n, int k, size_t gap, size_t ntok)
{
    if (!n)
        return 0;
    qsort(p, n, sizeof(uint32_t), cmp_u32);
    size_t c = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t d = p[i + 1] - p[i];
        c += d <= gap ? d : (size_t)k;
    }
    c += (size_t)k;
    return c < ntok ? c : ntok;
}

/* Do the shared minimizers of a and b cover TY__COVER_MIN of both? */
static int cover_ok(const ty__rules_t *R, const ty__gsum_t *a, const ty__gsum_t *b,
                    ty__coverbuf_t *buf, int *oom)
{
    uint32_t rate = a->rate > b->rate ? a->rate : b->rate;
    size_t m = a->n < b->n ? a->n : b->n;
    if (ty_vec_reserve(buf->pa, m + 1) || ty_vec_reserve(buf->pb, m + 1)) {
        *oom = 1;
        return 0;
    }
    size_t n = 0;
    for (uint32_t i = 0, j = 0; i < a->n && j < b->n;) {
        if (a->h[i] < b->h[j]) {
            i++;
        } else if (a->h[i] > b->h[j]) {
            j++;
        } else {
            if (ty__gsum_holds(rate, a->h[i])) {
                buf->pa.a[n] = a->pos[i];
                buf->pb.a[n++] = b->pos[j];
            }
            i++;
            j++;
        }
    }
    size_t gap = (size_t)TY__COVER_GAP * (size_t)(R->o.w + 1) * rate;
    size_t ga = a->ntok / TY__COVER_GAP_DIV > gap ? a->ntok / TY__COVER_GAP_DIV : gap;
    size_t gb = b->ntok / TY__COVER_GAP_DIV > gap ? b->ntok / TY__COVER_GAP_DIV : gap;
    return covered(buf->pa.a, n, R->o.k, ga, a->ntok) >= TY__COVER_MIN * a->ntok &&
           covered(buf->pb.a, n, R->o.k, gb, b->ntok) >= TY__COVER_MIN * b->ntok;
}

#define COVER_SUB_FROM 128

/* Candidate e (a batch document, or n + a carried one) shares the summary value at position p
 * of the document counted. */
static int cover_count(ty__coverbuf_t *b, uint32_t e, uint32_t p)
{
    if (!b->cnt.a[e]++) {
        b->lo.a[e] = b->hi.a[e] = p;
        return ty_vec_push(b->touched, e);
    }
    b->lo.a[e] = p < b->lo.a[e] ? p : b->lo.a[e];
    b->hi.a[e] = p > b->hi.a[e] ? p : b->hi.a[e];
    return TY_OK;
}

int ty__cover_edges(const ty__rules_t *R, const ty__gsum_t *gs, size_t n, size_t j,
                    ty__holders_fn holders, void *ctx, const ty__carry_t *carry, ty__coverbuf_t *b,
                    uint32_t *out)
{
    const ty__gsum_t *d = &gs[j];
    size_t nc = carry->e.n, all = n + nc;
    for (int t = 0; t < TY__COVER_TRY; t++)
        out[t] = TY__NONE;
    if (ty_vec_reserve(b->cnt, all + 1) || ty_vec_reserve(b->lo, all + 1) ||
        ty_vec_reserve(b->hi, all + 1))
        return TY_ENOMEM;
    if (b->cnt.n < all) { /* zeroed once; the touched ones are zeroed again below */
        memset(b->cnt.a + b->cnt.n, 0, (all - b->cnt.n) * sizeof(uint32_t));
        b->cnt.n = all;
    }
    b->touched.n = 0;
    int oom = 0;
    /* candidates by a quarter of a longer summary (the bits above the rate's), enough to
     * rank them: half as much time on the batch's lists */
    uint64_t sub = d->n >= COVER_SUB_FROM ? 3 : 0;
    for (uint32_t i = 0; i < d->n; i++) {
        if ((ty__mix64(d->h[i]) >> 40) & sub)
            continue;
        uint32_t nh, taken = 0;
        /* the carried documents first (they come before the batch), then the batch's */
        const uint32_t *l = nc ? ty__cover_holders(&carry->tab, &carry->lists, d->h[i], &nh) : NULL;
        for (uint32_t x = 0; l && x < nh; x++)
            if (ty__gsum_holds(carry->gs.a[l[x]].rate, d->h[i]) && taken < GROUP_HOLDERS) {
                taken++;
                oom |= cover_count(b, (uint32_t)n + l[x], d->pos[i]);
            }
        l = holders(ctx, d->h[i], &nh);
        for (uint32_t x = 0; x < nh && l[x] < j && taken < GROUP_HOLDERS; x++)
            if (ty__gsum_holds(gs[l[x]].rate, d->h[i])) {
                taken++;
                oom |= cover_count(b, l[x], d->pos[i]);
            }
    }
    /* the TY__COVER_TRY earlier documents sharing the most (the earliest on a tie) */
    uint32_t top[TY__COVER_TRY], cnt[TY__COVER_TRY];
    int nt = 0;
    for (size_t x = 0; x < b->touched.n; x++) {
        uint32_t e = b->touched.a[x], c = b->cnt.a[e];
        b->cnt.a[e] = 0;
        /* enough of them, spread over half of this document at least (a shared sentence or
         * two, the usual overlap of unrelated documents, is not worth a look) */
        if (c < (uint32_t)R->o.min_shared ||
            2 * ((size_t)b->hi.a[e] - b->lo.a[e] + (size_t)R->o.k) < d->ntok)
            continue;
        int at = nt;
        while (at > 0 && (cnt[at - 1] < c || (cnt[at - 1] == c && top[at - 1] > e)))
            at--;
        if (at >= TY__COVER_TRY)
            continue;
        for (int z = nt < TY__COVER_TRY ? nt : TY__COVER_TRY - 1; z > at; z--) {
            top[z] = top[z - 1];
            cnt[z] = cnt[z - 1];
        }
        top[at] = e;
        cnt[at] = c;
        if (nt < TY__COVER_TRY)
            nt++;
    }
    for (int t = 0, k = 0; t < nt && !oom; t++)
        if (cover_ok(R, d, top[t] < n ? &gs[top[t]] : &carry->gs.a[top[t] - n], b, &oom))
            out[k++] = top[t];
    return oom ? TY_ENOMEM : TY_OK;
}

static uint32_t find_root(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

void ty__carry_free(ty__carry_t *c)
{
    for (size_t i = 0; i < c->e.n; i++) {
        free(c->e.a[i].h);
        free(c->e.a[i].pos);
    }
    free(c->e.a);
    free(c->gs.a);
    ty__map_free(&c->tab);
    free(c->lists.a);
    memset(c, 0, sizeof(*c));
}

void ty__carry_save(ty__sw_t *w, const ty__carry_t *c)
{
    ty__sw_begin(w, TY__ST_CARY);
    ty__sw_u64(w, c->round);
    ty__sw_u64(w, c->e.n);
    for (size_t x = 0; x < c->e.n; x++) {
        const ty__carried_t *e = &c->e.a[x];
        ty__sw_u32(w, e->n);
        ty__sw_u32(w, e->ntok);
        ty__sw_u32(w, e->rate);
        ty__sw_u64(w, e->last);
        ty__sw_put(w, e->h, (size_t)e->n * sizeof(uint64_t));
        ty__sw_put(w, e->pos, (size_t)e->n * sizeof(uint32_t));
    }
    ty__sw_end(w);
}

static int carry_views(ty__carry_t *c);

int ty__carry_load(ty__sr_t *r, ty__carry_t *c)
{
    uint64_t n, at;
    int rc = ty__sr_begin(r, TY__ST_CARY);
    if (!rc)
        rc = ty__sr_u64(r, &c->round);
    if (!rc)
        rc = ty__sr_count(r, "carried texts", 20, TY__CARRY_MAX, &n);
    for (uint64_t x = 0; !rc && x < n; x++) {
        ty__carried_t e = {0};
        at = ty__sr_tell(r);
        if ((rc = ty__sr_u32(r, &e.n)) || (rc = ty__sr_u32(r, &e.ntok)) ||
            (rc = ty__sr_u32(r, &e.rate)) || (rc = ty__sr_u64(r, &e.last)))
            break;
        if (!e.n || !e.rate || (e.rate & (e.rate - 1)) || (uint64_t)e.n * 12 > ty__sr_left(r) ||
            e.last > c->round) {
            rc = ty__sr_bad(r, at, "a carried text that cannot be (%u values, rate %u)", e.n,
                            e.rate);
            break;
        }
        e.h = malloc((size_t)e.n * sizeof(uint64_t));
        e.pos = malloc((size_t)e.n * sizeof(uint32_t));
        if (!e.h || !e.pos || ty_vec_push(c->e, e)) {
            free(e.h);
            free(e.pos);
            return TY_ENOMEM;
        }
        if ((rc = ty__sr_get(r, e.h, (size_t)e.n * sizeof(uint64_t))) ||
            (rc = ty__sr_get(r, e.pos, (size_t)e.n * sizeof(uint32_t))))
            break;
        for (uint32_t i = 1; i < e.n && !rc; i++)
            if (e.h[i] <= e.h[i - 1])
                rc = ty__sr_bad(r, at, "a carried text whose values are not in order");
    }
    if (!rc)
        rc = ty__sr_end(r);
    return rc ? rc : carry_views(c);
}

static int cmp_carried(const void *x, const void *y)
{
    const ty__carried_t *a = x, *b = y;
    return a->last > b->last ? -1 : a->last < b->last;
}

/* grp: the joined groups of the batch's n documents and of the carried ones (n + c). */
static int carry_update(ty__carry_t *c, const uint32_t *grp, size_t n, const ty__gsum_t *gs,
                        uint32_t *size)
{
    size_t nc = c->e.n;
    c->round++;
    memset(size, 0, n * sizeof(uint32_t));
    for (size_t j = 0; j < n; j++)
        size[grp[j]]++;
    for (size_t x = 0; x < nc; x++) /* a carried text joined again: kept longer */
        if (grp[n + x] < n && size[grp[n + x]] >= TY__CARRY_MIN) {
            c->e.a[x].last = c->round;
            size[grp[n + x]] = 0;
        }
    for (size_t j = 0; j < n; j++) {
        if (grp[j] != j || size[j] < TY__CARRY_MIN || !gs[j].n)
            continue;
        ty__carried_t e = {malloc(gs[j].n * sizeof(uint64_t)),
                           malloc(gs[j].n * sizeof(uint32_t)),
                           gs[j].n,
                           gs[j].ntok,
                           gs[j].rate,
                           c->round};
        if (!e.h || !e.pos || ty_vec_push(c->e, e)) {
            free(e.h);
            free(e.pos);
            return TY_ENOMEM;
        }
        memcpy(e.h, gs[j].h, e.n * sizeof(uint64_t));
        memcpy(e.pos, gs[j].pos, e.n * sizeof(uint32_t));
    }
    /* the most recently joined first (a stable order: the earlier carried on a tie) */
    if (c->e.n > 1) {
        for (size_t x = 0; x < c->e.n; x++)
            c->e.a[x].last = (c->e.a[x].last << 32) | (uint32_t)(UINT32_MAX - x);
        qsort(c->e.a, c->e.n, sizeof(ty__carried_t), cmp_carried);
        for (size_t x = 0; x < c->e.n; x++)
            c->e.a[x].last >>= 32;
    }
    while (c->e.n > TY__CARRY_MAX) {
        c->e.n--;
        free(c->e.a[c->e.n].h);
        free(c->e.a[c->e.n].pos);
    }
    return carry_views(c);
}

/* c's summaries as views, and their table (ty__cover_edges reads both). */
static int carry_views(ty__carry_t *c)
{
    if (ty_vec_reserve(c->gs, c->e.n + 1))
        return TY_ENOMEM;
    for (size_t x = 0; x < c->e.n; x++) {
        const ty__carried_t *e = &c->e.a[x];
        c->gs.a[x] = (ty__gsum_t){e->h, e->pos, e->n, e->ntok, e->rate};
    }
    c->gs.n = c->e.n;
    return ty__cover_table(c->gs.a, c->gs.n, &c->tab, &c->lists);
}

int ty__groups_join(uint32_t *grp, const uint32_t *edges, size_t n, const ty__gsum_t *gs,
                    ty__carry_t *carry)
{
    /* union-find over the batch and the carried documents, each group named by its first
     * batch document */
    for (size_t x = 0; x < carry->e.n; x++)
        grp[n + x] = (uint32_t)(n + x);
    for (size_t j = 0; j < n; j++)
        for (int t = 0; t < TY__COVER_TRY; t++) {
            uint32_t e = edges[j * TY__COVER_TRY + (size_t)t];
            if (e == TY__NONE)
                break;
            uint32_t a = find_root(grp, (uint32_t)j), c = find_root(grp, e);
            if (a < c)
                grp[c] = a;
            else
                grp[a] = c;
        }
    size_t all = n + carry->e.n;
    for (size_t j = 0; j < all; j++)
        grp[j] = find_root(grp, (uint32_t)j);
    uint32_t *size = malloc((n + 1) * sizeof(uint32_t));
    int rc = size ? carry_update(carry, grp, n, gs, size) : TY_ENOMEM;
    free(size);
    return rc;
}
