/*
 * mdedup_spun.c — spun mode's rounds across the ranks of an MPI job (mdedup.c runs them).
 *
 * A round is one of dedup.c's batches: the documents numbered [lo, lo + opts.batch). Its
 * decisions depend on the state left by the earlier batches (the minimizers and texts of the
 * documents indexed so far, the clusters) and on the whole batch (document frequencies count
 * it), so the rounds run one after the other, and within a round every rank takes a share:
 *   0. deal: the round's documents go to rank g mod N, their home (compressed text and
 *      facts), which tokenizes and sketches them again (ty__spun_sketch) and aligns them; it
 *      keeps their numbers of distinct minimizers and tokens, and answers for them when they
 *      are candidates later;
 *   0b. groups (mdedup_groups.c): every rank gets every round document's sketch and cover
 *      summary and computes the batch's groups of copies, as one process does;
 *   1. key shuffle: {minimizer, doc, position} to the minimizer's owner, {exact key, doc} to
 *      the exact key's owner. The minimizer owner holds the rules' index (ty__mztab_t) for
 *      its keys and sees the whole batch's records, so it knows each minimizer's document
 *      frequency exactly as one process does (indexed + the batch's groups holding it); it
 *      answers which are boilerplate (ty__boiler) and, for the others, sends the document's
 *      rank the candidates (postings and the earlier documents of the batch: past max_df
 *      holders, the first of each group), which that rank counts
 *      (ty__count). The exact key owner finds the first indexed document, or the first of
 *      the batch, with the same key;
 *   2. the document's rank filters the candidates (ty__cand_ok: their counts come from their
 *      homes) and sorts them (ty__cands_sort); their union-find roots at the start of the
 *      batch are asked of rank 0, which applies every link. It fetches the candidates that
 *      can be tried (ty__cands_reach) from the ranks that read them, and asks the minimizer
 *      owners which of their minimizers are boilerplate now (their text is masked too);
 *   3. the candidates are tried (ty__cands_try) and aligned (ty__verify), as in one process;
 *   4. MPI_Allgatherv of the round's links: the minimizer and exact key owners index the
 *      documents that got no link (the originals), in document order, as one process does;
 *      rank 0 applies the links (union-find, best links).
 * Every rule is dedup_rules.c's and sees what it sees in one process at the same point,
 * whatever N: the output is the same.
 *
 * Any failure inside a round leaves the other ranks in its collectives: it is returned
 * with err.stranded set (the caller ends the job).
 */
#include <stdio.h>
#include <string.h>

#include "mspun.h"

typedef struct { /* a round's document, as dealt (followed by its compressed text) */
    uint32_t g, ntok, len, clen;
    uint64_t ex_lo, ex_hi;
} pkg_t;

typedef struct { /* boilerplate minimizer h of doc g */
    uint64_t h;
    uint32_t g, pad;
} hg_t;

typedef TY_VEC(hg_t) hgvec_t;
typedef TY_VEC(int) intvec_t;
typedef TY_VEC(uint32_t) u32vec_t;

typedef struct { /* is h boilerplate now? answer to rank src, index tag */
    uint64_t h;
    uint32_t tag, src;
} fq_t;

typedef struct {
    uint32_t tag, flag;
} fa_t;

typedef struct { /* a candidate's text: header, then clen bytes padded to 8 */
    uint32_t cand, len, clen, pad;
} th_t;

typedef struct { /* a candidate's facts, from its home rank */
    uint32_t cand, nmz, ntok, pad;
} fct_t;

spun_t *ty__spun_new(ty_mdedup_t *m)
{
    spun_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->m = m;
    s->sdoc = ty_doc_new();
    if (ty__verifier_init(&s->vf, &m->R.to) || ty__unpacker_init(&s->up) || !s->sdoc) {
        ty__spun_free(s);
        return NULL;
    }
    return s;
}

static void round_free(spun_t *s)
{
    for (size_t i = 0; i < s->bd.n; i++) {
        ty__mzs_free(&s->bd.a[i].mzs);
        TY_FREE(s->bd.a[i].boil, s->bd.a[i].gh, s->bd.a[i].gpos);
    }
    s->bd.n = 0;
    TY_FREE(s->pk, s->ft, s->kr, s->bh, s->bc, s->xr, s->uq, s->uqf);
    s->pk = s->ft = NULL;
    s->kr = NULL;
    s->bh = s->uq = NULL;
    s->bc = NULL;
    s->xr = NULL;
    s->uqf = NULL;
    s->nkr = s->nbh = s->nxr = s->nuq = 0;
    s->cands.n = s->fts.n = 0;
}

void ty__spun_free(spun_t *s)
{
    if (!s)
        return;
    round_free(s);
    for (size_t i = 0; i < s->docs.n; i++)
        ty_doc_free(s->docs.a[i]);
    TY_FREE(s->docs.a, s->bd.a, s->bdix, s->grp, s->stamp);
    ty__map_free(&s->gtab);
    free(s->glists.a);
    free(s->first.a);
    ty__map_free(&s->ctab);
    free(s->clists.a);
    free(s->edges.a);
    ty__coverbuf_free(&s->cb);
    ty__carry_free(&s->carry);
    ty__xmap_free(&s->bex);
    free(s->cands.a);
    ty__counter_free(&s->cnt);
    free(s->fts.a);
    ty__verifier_free(&s->vf);
    ty_doc_free(s->sdoc);
    free(s->sseeds);
    ty__unpacker_free(&s->up);
    free(s);
}

int ty__spun_start(ty_mdedup_t *m, uint64_t total)
{
    /* (the earlier run's documents' facts were loaded: mdedup_state.c) */
    size_t p = (size_t)m->x.size, n = ((size_t)total / p + 1) * 2;
    size_t had = m->hf ? ((size_t)m->nold / p + 1) * 2 : 0;
    uint32_t *h = realloc(m->hf, n * sizeof(uint32_t));
    if (!h)
        return ty__mpi_oom(&m->x, "document facts");
    memset(h + had, 0, (n - had) * sizeof(uint32_t));
    m->hf = h;
    return TY_OK;
}

ty__carry_t *ty__spun_carry(spun_t *s) { return &s->carry; }

/* ---- helpers ------------------------------------------------------------------------------- */

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_ft(const void *x, const void *y)
{
    const ft_t *a = x, *b = y;
    return a->cand < b->cand ? -1 : a->cand > b->cand;
}

static int cmp_fct(const void *x, const void *y)
{
    const fct_t *a = x, *b = y;
    return a->cand < b->cand ? -1 : a->cand > b->cand;
}

static bd_t *find_bd(spun_t *s, uint32_t g)
{
    size_t i = g - s->lo;
    return g >= s->lo && i < s->nbdix && s->bdix[i] != TY__NONE ? &s->bd.a[s->bdix[i]] : NULL;
}

/* Sort minimizer records by (h, g): a counting sort on g (a round's numbers), then a
 * stable radix sort on h, 16 bits at a time. */
static int sort_krec(ty_mdedup_t *m, krec_t *a, size_t n, uint32_t lo, size_t span)
{
    krec_t *t = malloc((n + 1) * sizeof(krec_t));
    size_t *c = calloc((span > 65536 ? span : 65536) + 1, sizeof(size_t));
    if (!t || !c) {
        free(t);
        free(c);
        return ty__mpi_oom(&m->x, "minimizer records");
    }
    for (size_t i = 0; i < n; i++)
        c[a[i].g - lo + 1]++;
    for (size_t i = 0; i < span; i++)
        c[i + 1] += c[i];
    for (size_t i = 0; i < n; i++)
        t[c[a[i].g - lo]++] = a[i];
    krec_t *src = t, *dst = a;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(c, 0, 65537 * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            c[((src[i].h >> shift) & 0xffff) + 1]++;
        for (size_t i = 0; i < 65536; i++)
            c[i + 1] += c[i];
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i].h >> shift) & 0xffff]++] = src[i];
        krec_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != a) /* an odd number of passes (5) ends in t */
        memcpy(a, src, n * sizeof(krec_t));
    free(t);
    free(c);
    return TY_OK;
}

static int in_sorted(const uint32_t *a, size_t n, uint32_t x)
{
    return n && bsearch(&x, a, n, sizeof(uint32_t), cmp_u32) != NULL;
}

static inline size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Item i of a texts' exchange: its header (hsz bytes) into hdr, the document whose compressed
 * text follows it into *d; returns the rank it goes to, or -1 when it is not sent. Called
 * twice for each item (once to size the buffer, once to fill it). */
_Static_assert(sizeof(pkg_t) <= 64 && sizeof(th_t) <= 64, "a text's header fits send_text_items");
typedef int (*text_item_fn)(const ty_mdedup_t *m, const void *ctx, size_t i, void *hdr,
                            const own_t **d);

/* The texts' exchanges (deal, send_texts): n items, each a header and a compressed text
 * padded to 8 bytes, to the ranks item() names; what the others send comes back in *out,
 * *nout bytes. */
static int send_text_items(ty_mdedup_t *m, size_t n, size_t hsz, text_item_fn item, const void *ctx,
                           const char *what, char **out, size_t *nout)
{
    int p = m->x.size;
    int *sc = calloc((size_t)p * 2, sizeof(int));
    if (!sc)
        return ty__mpi_oom(&m->x, what);
    int *sd = sc + p;
    uint64_t hdr[8]; /* room for the largest header */
    const own_t *d;
    for (size_t i = 0; i < n; i++) {
        int r = item(m, ctx, i, hdr, &d);
        if (r >= 0)
            sc[r] += (int)(hsz + pad8(d->clen));
    }
    size_t off = ty__mpi_displs(sc, sd, p);
    char *sbuf = off > (size_t)INT32_MAX ? NULL : calloc(off + 1, 1);
    if (!sbuf) {
        free(sc);
        return ty__mpi_oom(&m->x, off > (size_t)INT32_MAX
                                      ? "an exchange of more than 2 GB: use a smaller batch"
                                      : what);
    }
    for (size_t i = 0; i < n; i++) {
        int r = item(m, ctx, i, hdr, &d);
        if (r < 0)
            continue;
        memcpy(sbuf + sd[r], hdr, hsz);
        memcpy(sbuf + sd[r] + hsz, m->ctexts.a + d->coff, d->clen);
        sd[r] += (int)(hsz + pad8(d->clen));
    }
    int rc = ty__mpi_xchg_raw(&m->x, sbuf, sc, out, nout, &m->ms.pair_bytes);
    free(sbuf);
    free(sc);
    return rc;
}

/* Unpack a shipped text into d (and its seeds, if seeds). */
static int load_text(ty_mdedup_t *m, ty_doc_t *d, const char *ctext, uint32_t clen, uint32_t len,
                     ty_seed_t **seeds, size_t *nseeds)
{
    spun_t *s = m->sp;
    char msg[TY_ERRMSG_SIZE];
    int rc = ty__dd_unpack(&m->R, &s->up, ctext, clen, len, "", d, msg);
    if (rc == TY_ENOMEM)
        return ty__mpi_oom(&m->x, "texts");
    if (rc) {
        snprintf(m->x.err.msg, sizeof m->x.err.msg, "rank %d: a shipped text does not load",
                 m->x.rank);
        m->x.err.here = m->x.err.stranded = 1;
        return rc;
    }
    if (seeds) {
        free(*seeds);
        *seeds = NULL;
        if (ty_sketch(d, m->R.o.k, m->R.o.w, seeds, nseeds))
            return ty__mpi_oom(&m->x, "minimizers");
    }
    return TY_OK;
}

/* Sorted distinct candidate numbers (those below lim) of the round's documents here. */
static uint32_t *cand_ids(spun_t *s, uint32_t lim, size_t *n)
{
    uint32_t *ids = malloc((s->cands.n + 1) * sizeof(uint32_t));
    if (!ids)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < s->cands.n; i++)
        if (s->cands.a[i].doc < lim)
            ids[k++] = s->cands.a[i].doc;
    if (k > 1)
        qsort(ids, k, sizeof(uint32_t), cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    *n = u;
    return ids;
}

/* ---- step 0: deal the round's documents; sketch the ones dealt here ---------------------- */

/* A round's document i to the rank that sketches it (with its facts) */
static int deal_item(const ty_mdedup_t *m, const void *ctx, size_t i, void *hdr, const own_t **dp)
{
    (void)ctx;
    const own_t *d = *dp = &m->own.a[m->rlo + i];
    if (d->err || !d->ntok)
        return -1;
    pkg_t h = {d->g, d->ntok, d->len, d->clen, d->ex_lo, d->ex_hi};
    memcpy(hdr, &h, sizeof h);
    return (int)(d->g % (uint32_t)m->x.size);
}

static int deal(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t n = 0;
    int rc = send_text_items(m, m->rn, sizeof(pkg_t), deal_item, NULL, "deal", &s->pk, &n);
    for (size_t o = 0; !rc && o < n;) {
        pkg_t h;
        memcpy(&h, s->pk + o, sizeof h);
        bd_t b;
        memset(&b, 0, sizeof b);
        b.g = h.g;
        b.ntok = h.ntok;
        b.len = h.len;
        b.clen = h.clen;
        b.ex_lo = h.ex_lo;
        b.ex_hi = h.ex_hi;
        b.same = TY__NONE;
        b.ctext = s->pk + o + sizeof h;
        o += sizeof h + pad8(h.clen);
        if (s->docs.n <= s->bd.n) {
            ty_doc_t *d = ty_doc_new();
            if (!d || ty_vec_push(s->docs, d)) {
                ty_doc_free(d);
                return ty__mpi_oom(&m->x, "documents");
            }
        }
        b.doc = s->docs.a[s->bd.n];
        rc = load_text(m, b.doc, b.ctext, b.clen, b.len, NULL, NULL);
        if (!rc && ty__spun_sketch(&m->R, b.doc, &b.mzs))
            rc = ty__mpi_oom(&m->x, "minimizers");
        if (!rc && !(b.boil = calloc(b.mzs.nmz + 1, 1)))
            rc = ty__mpi_oom(&m->x, "minimizers");
        if (!rc && b.g - s->lo >= s->nbdix)
            rc = ty__mpi_oom(&m->x, "a document outside its round"); /* cannot happen */
        if (!rc) {
            s->bdix[b.g - s->lo] = (uint32_t)s->bd.n;
            if (ty_vec_push(s->bd, b))
                rc = ty__mpi_oom(&m->x, "documents");
        }
        if (rc) {
            ty__mzs_free(&b.mzs);
            TY_FREE(b.boil, b.gh, b.gpos);
        }
    }
    if (rc)
        return rc;
    /* received by sending rank, each in its order: by document number already. This rank
     * is the documents' home: it answers for their facts (filter) */
    for (size_t i = 0; i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        size_t h = b->g / (uint32_t)m->x.size;
        m->hf[2 * h] = b->mzs.nmz;
        m->hf[2 * h + 1] = b->ntok;
    }
    return TY_OK;
}

/* ---- steps 1 and 2: the keys, the owners' answers, the candidates of each document ------- */

/* The minimizer owner: each key's batch frequency; for boilerplate keys an answer to the
 * documents' ranks (hb, hbd), for the others the candidate lists (cl: per destination
 * rank, [g, pos, n, cand x n]). */
static int owner_lists(ty_mdedup_t *m, hgvec_t *hb, intvec_t *hbd, u32vec_t *cl)
{
    spun_t *s = m->sp;
    const krec_t *k = s->kr;
    s->bh = malloc((s->nkr + 1) * sizeof(uint64_t));
    s->bc = malloc((s->nkr + 1) * sizeof(uint32_t));
    if (!s->bh || !s->bc)
        return ty__mpi_oom(&m->x, "minimizer records");
    for (size_t a = 0, b; a < s->nkr; a = b) {
        for (b = a + 1; b < s->nkr && k[b].h == k[a].h; b++)
            ;
        /* the batch frequency counts groups (ty__batch_groups); past max_df holders, a
         * document's earlier batch candidates are the first holder of each group */
        uint32_t ng = 0, stamp = 2 * (uint32_t)s->nbh + 1; /* and + 1: the firsts */
        for (size_t i = a; i < b; i++) {
            uint32_t gr = s->grp[k[i].g - s->lo];
            if (s->stamp[gr] != stamp) {
                s->stamp[gr] = stamp;
                ng++;
            }
        }
        int compact = b - a > m->R.o.max_df;
        s->bh[s->nbh] = k[a].h;
        s->bc[s->nbh++] = ng;
        const ty__kv_t *e = ty__map_find(&m->gmz.map, k[a].h);
        if (ty__boiler(&m->R, (uint64_t)(e ? e->val : 0) + ng)) {
            for (size_t i = a; i < b; i++)
                if (ty_vec_push(*hb, ((hg_t){k[i].h, k[i].g, 0})) ||
                    ty_vec_push(*hbd, (int)(k[i].g % (uint32_t)m->x.size)))
                    return ty__mpi_oom(&m->x, "boilerplate answers");
            continue;
        }
        uint32_t one = 0, np = 0;
        const uint32_t *post = e ? ty__mztab_docs(&m->gmz, e, &one, &np) : NULL;
        size_t nfirst = 0; /* compact: the group firsts among k[a..i) are k[first[0..nfirst)] */
        for (size_t i = a; i < b; i++) {
            size_t n = np + (compact ? nfirst : i - a);
            if (n) {
                u32vec_t *v = &cl[k[i].g % (uint32_t)m->x.size];
                if (ty_vec_reserve(*v, v->n + 3 + n))
                    return ty__mpi_oom(&m->x, "candidate lists");
                v->a[v->n++] = k[i].g;
                v->a[v->n++] = k[i].pos;
                v->a[v->n++] = (uint32_t)n;
                for (uint32_t x = 0; x < np; x++)
                    v->a[v->n++] = post[x];
                if (compact) /* the first earlier document of each group */
                    for (size_t x = 0; x < nfirst; x++)
                        v->a[v->n++] = k[s->first.a[x]].g;
                else /* the earlier documents of the batch */
                    for (size_t x = a; x < i; x++)
                        v->a[v->n++] = k[x].g;
            }
            uint32_t gr = s->grp[k[i].g - s->lo];
            if (compact && s->stamp[gr] != stamp + 1) { /* a group's first holder */
                s->stamp[gr] = stamp + 1;
                if (ty_vec_push(s->first, (uint32_t)i))
                    return ty__mpi_oom(&m->x, "candidate lists");
                nfirst++;
            }
        }
        s->first.n = 0;
    }
    return TY_OK;
}

/* The exact key owner: the first indexed document with the key, else the first of the
 * batch; the answers {doc, first} to the documents' ranks. */
static int owner_same(ty_mdedup_t *m, pair_t *sm, int *smd, size_t *nsm)
{
    spun_t *s = m->sp;
    qsort(s->xr, s->nxr, sizeof(xrec_t), ty__md_cmp_xrec);
    ty__xmap_free(&s->bex);
    *nsm = 0;
    for (size_t i = 0; i < s->nxr; i++) {
        const xrec_t *x = &s->xr[i];
        uint32_t first, indexed;
        if (ty__xmap_first(&s->bex, x->key, x->hi, x->g, &first))
            return ty__mpi_oom(&m->x, "exact keys");
        indexed = ty__xmap_get(&m->keys, x->key, x->hi);
        if (indexed != TY__NONE)
            first = indexed;
        if (first != TY__NONE) {
            sm[*nsm] = (pair_t){x->g, first};
            smd[(*nsm)++] = (int)(x->g % (uint32_t)m->x.size);
        }
    }
    return TY_OK;
}

/* The document's rank: the candidate lists, grouped by document (counting sort), counted. */
static int count_lists(ty_mdedup_t *m, const uint32_t *w, size_t nw)
{
    spun_t *s = m->sp;
    size_t nbd = s->bd.n, nrec = 0;
    size_t *start = calloc(nbd + 2, sizeof(size_t)), *at = NULL, *fill = NULL;
    int rc = start ? TY_OK : ty__mpi_oom(&m->x, "candidate lists");
    for (size_t o = 0; !rc && o < nw; o += 3 + w[o + 2], nrec++)
        start[find_bd(s, w[o]) - s->bd.a + 1]++;
    for (size_t i = 0; !rc && i < nbd; i++)
        start[i + 1] += start[i];
    if (!rc) {
        at = malloc((nrec + 1) * sizeof(size_t));
        fill = calloc(nbd + 1, sizeof(size_t));
        if (!at || !fill)
            rc = ty__mpi_oom(&m->x, "candidate lists");
    }
    for (size_t o = 0; !rc && o < nw; o += 3 + w[o + 2]) {
        size_t j = (size_t)(find_bd(s, w[o]) - s->bd.a);
        at[start[j] + fill[j]++] = o;
    }
    for (size_t j = 0; !rc && j < nbd; j++) {
        bd_t *b = &s->bd.a[j];
        b->c0 = s->cands.n;
        if (b->same != TY__NONE)
            continue;
        for (size_t q = start[j]; q < start[j + 1] && !rc; q++) {
            const uint32_t *x = w + at[q];
            for (uint32_t i = 0; i < x[2] && !rc; i++)
                if (ty__count(&s->cnt, x[3 + i], x[1]))
                    rc = ty__mpi_oom(&m->x, "candidate counts");
        }
        if (!rc && ty__counter_take(&s->cnt, m->R.o.min_shared, &s->cands))
            rc = ty__mpi_oom(&m->x, "candidates");
        b->nc = s->cands.n - b->c0;
    }
    TY_FREE(start, at, fill);
    return rc;
}

/* The home's answer: the candidate's facts (pair_t {candidate, asking rank}). */
static int answer_facts(void *ctx, const void *qv, void *av)
{
    const ty_mdedup_t *m = ctx;
    const pair_t *q = qv;
    size_t h = q->g / (uint32_t)m->x.size;
    fct_t f = {q->g, m->hf[2 * h], m->hf[2 * h + 1], 0};
    memcpy(av, &f, sizeof f);
    return (int)q->first;
}

/* The candidates' distinct minimizers and tokens, asked of their home ranks (g mod N, which
 * sketched them in their round), then the rules' filter. */
static int filter(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    uint32_t p = (uint32_t)m->x.size;
    size_t nid = 0, nr = 0;
    uint32_t *ids = cand_ids(s, TY__NONE, &nid);
    pair_t *rq = malloc((nid + 1) * sizeof(pair_t));
    int *dest = malloc((nid + 1) * sizeof(int));
    void *r = NULL;
    int rc = !ids || !rq || !dest ? ty__mpi_oom(&m->x, "candidate facts") : TY_OK;
    for (size_t i = 0; !rc && i < nid; i++) {
        rq[i] = (pair_t){ids[i], (uint32_t)m->x.rank};
        dest[i] = (int)(ids[i] % p);
    }
    free(ids);
    if (!rc)
        rc = ty__mpi_ask(&m->x, rq, nid, sizeof(pair_t), dest, sizeof(fct_t), answer_facts, m, &r,
                         &nr, &m->ms.pair_bytes);
    free(rq);
    free(dest);
    if (rc)
        return rc;
    fct_t *fa = r;
    if (nr > 1)
        qsort(fa, nr, sizeof(fct_t), cmp_fct);
    size_t w = 0;
    for (size_t j = 0; j < s->bd.n && !rc; j++) {
        bd_t *b = &s->bd.a[j];
        size_t c0 = w;
        for (size_t c = b->c0; c < b->c0 + b->nc; c++) {
            ty__cand_t x = s->cands.a[c];
            fct_t key = {x.doc, 0, 0, 0};
            const fct_t *e = bsearch(&key, fa, nr, sizeof(fct_t), cmp_fct);
            if (!e) {
                rc = ty__mpi_oom(&m->x, "a candidate without facts"); /* cannot happen */
                break;
            }
            if (ty__cand_ok(&m->R, &x, b->usable, e->nmz, e->ntok, b->ntok))
                s->cands.a[w++] = x;
        }
        b->c0 = c0;
        b->nc = w - c0;
    }
    s->cands.n = w;
    free(r);
    return rc;
}

static int keys(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t nk = 0;
    for (size_t i = 0; i < s->bd.n; i++)
        nk += s->bd.a[i].mzs.nmz;
    krec_t *kr = malloc((nk + 1) * sizeof(krec_t));
    int *dest = malloc((nk + 1) * sizeof(int));
    xrec_t *xr = malloc((s->bd.n + 1) * sizeof(xrec_t));
    int *xdest = malloc((s->bd.n + 1) * sizeof(int));
    int rc = !kr || !dest || !xr || !xdest ? ty__mpi_oom(&m->x, "key shuffle") : TY_OK;
    nk = 0;
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        for (size_t j = 0; j < b->mzs.nmz; j++) {
            kr[nk] = (krec_t){b->mzs.mz[j], b->g, b->mzs.mzpos[j]};
            dest[nk++] = ty__mpi_owner(&m->x, b->mzs.mz[j]);
        }
        xr[i] = (xrec_t){ty__fix_key(b->ex_lo), b->ex_hi, b->g, 0};
        xdest[i] = ty__mpi_owner(&m->x, xr[i].key);
    }
    void *r = NULL;
    size_t nr = 0;
    rc = ty__mpi_xchg_free(&m->x, rc, kr, nk, sizeof(krec_t), dest, &r, &nr, &m->ms.key_bytes);
    if (!rc) {
        s->kr = r;
        s->nkr = nr;
    }
    rc =
        ty__mpi_xchg_free(&m->x, rc, xr, s->bd.n, sizeof(xrec_t), xdest, &r, &nr, &m->ms.key_bytes);
    if (rc)
        return rc;
    s->xr = r;
    s->nxr = nr;
    /* the owners' answers */
    hgvec_t hb = {0};
    intvec_t hbd = {0};
    u32vec_t *cl = calloc((size_t)m->x.size, sizeof(*cl));
    pair_t *sm = malloc((s->nxr + 1) * sizeof(pair_t));
    int *smd = malloc((s->nxr + 1) * sizeof(int));
    int *cls = calloc((size_t)m->x.size, sizeof(int));
    uint32_t *clb = NULL;
    size_t nsm = 0, ncl = 0;
    rc = !cl || !sm || !smd || !cls ? ty__mpi_oom(&m->x, "candidate lists") : TY_OK;
    if (!rc)
        rc = sort_krec(m, s->kr, s->nkr, s->lo, m->round_docs);
    if (!rc)
        rc = owner_lists(m, &hb, &hbd, cl);
    for (int q = 0; !rc && q < m->x.size; q++)
        ncl += cl[q].n;
    if (!rc && !(clb = malloc((ncl + 1) * sizeof(uint32_t))))
        rc = ty__mpi_oom(&m->x, "candidate lists");
    if (!rc && ncl * sizeof(uint32_t) > (size_t)INT32_MAX)
        rc = ty__mpi_oom(&m->x, "an exchange of more than 2 GB: use a smaller batch");
    ncl = 0;
    for (int q = 0; !rc && q < m->x.size; q++) {
        if (cl[q].n)
            memcpy(clb + ncl, cl[q].a, cl[q].n * sizeof(uint32_t));
        ncl += cl[q].n;
        cls[q] = (int)(cl[q].n * sizeof(uint32_t));
    }
    for (int q = 0; cl && q < m->x.size; q++)
        free(cl[q].a);
    free(cl);
    if (!rc)
        rc = owner_same(m, sm, smd, &nsm);
    void *rb = NULL, *rs = NULL;
    char *rcg = NULL;
    size_t nrb = 0, nrs = 0, nrc = 0;
    rc = ty__mpi_xchg_free(&m->x, rc, hb.a, hb.n, sizeof(hg_t), hbd.a, &rb, &nrb, &m->ms.key_bytes);
    rc = ty__mpi_xchg_free(&m->x, rc, sm, nsm, sizeof(pair_t), smd, &rs, &nrs, &m->ms.key_bytes);
    if (!rc)
        rc = ty__mpi_xchg_raw(&m->x, (const char *)clb, cls, &rcg, &nrc, &m->ms.pair_bytes);
    free(clb);
    free(cls);
    /* the document's rank: boilerplate flags, exact copies, candidate counts */
    for (size_t i = 0; !rc && i < nrb; i++) {
        const hg_t *x = (const hg_t *)rb + i;
        bd_t *b = find_bd(s, x->g);
        size_t j = b ? ty__find_u64(b->mzs.mz, b->mzs.nmz, x->h) : SIZE_MAX;
        if (j != SIZE_MAX)
            b->boil[j] = 1;
    }
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        bd_t *b = &s->bd.a[i];
        uint32_t nb = 0;
        for (size_t j = 0; j < b->mzs.nmz; j++)
            nb += b->boil[j];
        b->usable = b->mzs.nmz - nb;
    }
    for (size_t i = 0; !rc && i < nrs; i++) {
        const pair_t *x = (const pair_t *)rs + i;
        bd_t *b = find_bd(s, x->g);
        if (b)
            b->same = x->first;
    }
    if (!rc)
        rc = count_lists(m, (const uint32_t *)(const void *)rcg, nrc / sizeof(uint32_t));
    if (!rc)
        rc = filter(m);
    TY_FREE(rb, rs, rcg);
    return rc;
}

/* The union-find roots (at the start of the batch) of the candidates indexed before it,
 * asked of rank 0, which applies every link; a candidate of the batch is its own root. */
static int roots(ty_mdedup_t *m, uint32_t lo)
{
    spun_t *s = m->sp;
    int p = m->x.size;
    size_t nid = 0, tot = 0;
    uint32_t *ids = cand_ids(s, lo, &nid), *all = NULL, *rts = NULL;
    int c = (int)nid, *cnt = NULL, *dsp = NULL;
    if (!ids)
        return ty__mpi_oom(&m->x, "roots");
    if (m->x.rank == 0) {
        if (!(cnt = calloc((size_t)p * 2, sizeof(int)))) {
            free(ids);
            return ty__mpi_oom(&m->x, "roots");
        }
        dsp = cnt + p;
    } else {
        m->ms.gather_bytes += 2 * (uint64_t)c * sizeof(uint32_t);
    }
    int rc = TY_OK, mrc = MPI_Gather(&c, 1, MPI_INT, cnt, 1, MPI_INT, 0, m->x.comm);
    if (mrc == MPI_SUCCESS && m->x.rank == 0) {
        tot = ty__mpi_displs(cnt, dsp, p);
        if (!(all = malloc((tot + 1) * sizeof(uint32_t))))
            rc = ty__mpi_oom(&m->x, "roots");
    }
    if (!rc && !(rts = malloc((nid + 1) * sizeof(uint32_t))))
        rc = ty__mpi_oom(&m->x, "roots");
    if (!rc && mrc == MPI_SUCCESS)
        mrc = MPI_Gatherv(ids, c, MPI_UINT32_T, all, cnt, dsp, MPI_UINT32_T, 0, m->x.comm);
    if (!rc && mrc == MPI_SUCCESS && m->x.rank == 0)
        for (size_t i = 0; i < tot; i++)
            all[i] = ty__clu_find(&m->clu, all[i]);
    if (!rc && mrc == MPI_SUCCESS)
        mrc = MPI_Scatterv(all, cnt, dsp, MPI_UINT32_T, rts, c, MPI_UINT32_T, 0, m->x.comm);
    if (!rc && mrc != MPI_SUCCESS)
        rc = ty__mpi_fail(&m->x, mrc, "Gatherv");
    free(cnt);
    free(all);
    for (size_t i = 0; !rc && i < s->cands.n; i++) {
        ty__cand_t *x = &s->cands.a[i];
        if (x->doc >= lo) {
            x->root = x->doc;
            continue;
        }
        size_t a = 0, b = nid;
        while (a < b) {
            size_t mid = (a + b) / 2;
            if (ids[mid] < x->doc)
                a = mid + 1;
            else
                b = mid;
        }
        x->root = rts[a];
    }
    free(ids);
    free(rts);
    return rc;
}

/* A candidate asked for, q[i]: {candidate, asking rank}, to the asking rank */
static int text_item(const ty_mdedup_t *m, const void *ctx, size_t i, void *hdr, const own_t **dp)
{
    const pair_t *q = (const pair_t *)ctx + i;
    const own_t *d = *dp = &m->own.a[ty__md_local(m, q->g)];
    th_t h = {q->g, d->len, d->clen, 0};
    memcpy(hdr, &h, sizeof h);
    return (int)q->first;
}

/* Send the texts of the candidates asked for (q: {candidate, asking rank}), which this
 * rank read; *n bytes of texts from the others come back in s->ft. */
static int send_texts(ty_mdedup_t *m, const pair_t *q, size_t nq, size_t *n)
{
    return send_text_items(m, nq, sizeof(th_t), text_item, q, "texts", &m->sp->ft, n);
}

/* The minimizer owner's answer: boilerplate now? (indexed documents + the batch's groups) */
static int answer_boiler(void *ctx, const void *qv, void *av)
{
    const ty_mdedup_t *m = ctx;
    const spun_t *s = m->sp;
    const fq_t *q = qv;
    const ty__kv_t *e = ty__map_find(&m->gmz.map, q->h);
    size_t j = ty__find_u64(s->bh, s->nbh, q->h);
    uint64_t f = (uint64_t)(e ? e->val : 0) + (j != SIZE_MAX ? s->bc[j] : 0);
    fa_t a = {q->tag, (uint32_t)ty__boiler(&m->R, f)};
    memcpy(av, &a, sizeof a);
    return (int)q->src;
}

/* Which of the fetched candidates' minimizers are boilerplate now: asked of their owners. */
static int ask_boiler(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t nu = s->nuq, nr = 0;
    void *r = NULL;
    fq_t *fq = malloc((nu + 1) * sizeof(fq_t));
    int *dest = malloc((nu + 1) * sizeof(int));
    int rc = !fq || !dest ? ty__mpi_oom(&m->x, "boilerplate queries") : TY_OK;
    for (size_t i = 0; !rc && i < nu; i++) {
        fq[i] = (fq_t){s->uq[i], (uint32_t)i, (uint32_t)m->x.rank};
        dest[i] = ty__mpi_owner(&m->x, s->uq[i]);
    }
    if (!rc)
        rc = ty__mpi_ask(&m->x, fq, nu, sizeof(fq_t), dest, sizeof(fa_t), answer_boiler, m, &r, &nr,
                         &m->ms.key_bytes);
    free(fq);
    free(dest);
    for (size_t i = 0; !rc && i < nr; i++) {
        const fa_t *a = (const fa_t *)r + i;
        if (a->tag < nu)
            s->uqf[a->tag] = (uint8_t)a->flag;
    }
    free(r);
    return rc;
}

/* Step 2, second half: fetch the candidates that can be tried from the ranks that read them,
 * sketch them, and ask the minimizer owners which of their minimizers are boilerplate. */
static int fetch(ty_mdedup_t *m, uint32_t lo)
{
    spun_t *s = m->sp;
    int rc = roots(m, lo);
    if (rc)
        return rc;
    TY_VEC(uint32_t) need = {0};
    for (size_t i = 0; i < s->bd.n && !rc; i++) {
        bd_t *b = &s->bd.a[i];
        ty__cands_sort(s->cands.a + b->c0, b->nc);
        size_t reach = ty__cands_reach(&m->R, s->cands.a + b->c0, b->nc);
        for (size_t c = 0; c < reach && !rc; c++)
            if (ty_vec_push(need, s->cands.a[b->c0 + c].doc))
                rc = ty__mpi_oom(&m->x, "candidates");
    }
    if (need.n > 1)
        qsort(need.a, need.n, sizeof(uint32_t), cmp_u32);
    size_t nn = 0, nr = 0, n = 0;
    for (size_t i = 0; i < need.n; i++)
        if (!nn || need.a[nn - 1] != need.a[i])
            need.a[nn++] = need.a[i];
    pair_t *rq = malloc((nn + 1) * sizeof(pair_t));
    int *dest = malloc((nn + 1) * sizeof(int));
    void *r = NULL;
    if (!rc && (!rq || !dest))
        rc = ty__mpi_oom(&m->x, "candidate requests");
    for (size_t i = 0; !rc && i < nn; i++) {
        rq[i] = (pair_t){need.a[i], (uint32_t)m->x.rank};
        dest[i] = ty__md_owner_of_doc(m, need.a[i]);
    }
    free(need.a);
    rc = ty__mpi_xchg_free(&m->x, rc, rq, nn, sizeof(pair_t), dest, &r, &nr, &m->ms.pair_bytes);
    /* the reading rank sends the compressed texts */
    if (!rc)
        rc = send_texts(m, r, nr, &n);
    free(r);
    TY_VEC(uint64_t) hs = {0};
    for (size_t o = 0; !rc && o < n;) {
        th_t h;
        memcpy(&h, s->ft + o, sizeof h);
        ft_t f = {h.cand, h.len, h.clen, s->ft + o + sizeof h};
        o += sizeof h + pad8(h.clen);
        if (ty_vec_push(s->fts, f))
            rc = ty__mpi_oom(&m->x, "texts");
        if (!rc)
            rc = load_text(m, s->sdoc, f.ctext, f.clen, f.len, &s->sseeds, &s->nsseeds);
        if (!rc && ty_vec_reserve(hs, hs.n + s->nsseeds + 1))
            rc = ty__mpi_oom(&m->x, "minimizers");
        for (size_t i = 0; !rc && i < s->nsseeds; i++)
            hs.a[hs.n++] = ty__fix_key(s->sseeds[i].hash);
    }
    if (s->fts.n > 1)
        qsort(s->fts.a, s->fts.n, sizeof(ft_t), cmp_ft);
    if (hs.n > 1)
        qsort(hs.a, hs.n, sizeof(uint64_t), cmp_u64);
    size_t nu = 0;
    for (size_t i = 0; i < hs.n; i++)
        if (!nu || hs.a[nu - 1] != hs.a[i])
            hs.a[nu++] = hs.a[i];
    s->uq = hs.a;
    s->nuq = nu;
    if (!rc && !(s->uqf = calloc(nu + 1, 1)))
        rc = ty__mpi_oom(&m->x, "boilerplate queries");
    return rc ? rc : ask_boiler(m);
}

/* ---- step 3: the candidates tried, aligned and judged by the rules ----------------------- */

static void boil_flags(void *ctx, int side, const ty_seed_t *sd, size_t n, uint8_t *flags)
{
    const spun_t *s = ctx;
    const bd_t *b = s->cur;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ty__fix_key(sd[i].hash);
        size_t x =
            side == 0 ? ty__find_u64(s->uq, s->nuq, h) : ty__find_u64(b->mzs.mz, b->mzs.nmz, h);
        flags[i] = x != SIZE_MAX && (side == 0 ? s->uqf[x] : b->boil[x]);
    }
}

static int try_cand(void *ctx, uint32_t d)
{
    spun_t *s = ctx;
    ty_mdedup_t *m = s->m;
    bd_t *b = s->cur;
    ft_t key = {d, 0, 0, NULL};
    const ft_t *f = s->fts.n ? bsearch(&key, s->fts.a, s->fts.n, sizeof(ft_t), cmp_ft) : NULL;
    if (!f) { /* cannot happen: ty__cands_reach() bounds what is tried */
        snprintf(m->x.err.msg, sizeof m->x.err.msg, "rank %d: candidate %u was not fetched",
                 m->x.rank, d);
        m->x.err.here = m->x.err.stranded = 1;
        return TY_EINVAL;
    }
    int rc = load_text(m, s->sdoc, f->ctext, f->clen, f->len, &s->sseeds, &s->nsseeds);
    if (rc)
        return rc;
    m->ms.pairs++;
    ty__verdict_t v;
    int linked = ty__verify(&s->vf, &m->R, s->sdoc, s->sseeds, s->nsseeds, b->doc, b->mzs.seeds,
                            b->mzs.nseeds, 0, boil_flags, s, &v);
    if (linked < 0) {
        snprintf(m->x.err.msg, sizeof m->x.err.msg, "rank %d: aligning a candidate: %s", m->x.rank,
                 ty_strerror(linked));
        m->x.err.here = m->x.err.stranded = 1;
        return linked;
    }
    if (linked && ty_vec_push(*s->mine, ((lnk_t){b->g, d, v.sim, v.cont})))
        return ty__mpi_oom(&m->x, "links");
    return linked;
}

/* ---- step 4: the originals indexed by the key owners ------------------------------------- */

static int index_originals(ty_mdedup_t *m, const lvec_t *links)
{
    spun_t *s = m->sp;
    TY_VEC(uint32_t) cp = {0}; /* the copies (sorted: the links are by document) */
    for (size_t i = 0; i < links->n; i++)
        if (ty_vec_push(cp, links->a[i].g)) {
            free(cp.a);
            return ty__mpi_oom(&m->x, "links");
        }
    int rc = TY_OK;
    size_t frequent = 0;
    for (size_t i = 0; i < s->nkr && !rc; i++)
        if (!in_sorted(cp.a, cp.n, s->kr[i].g) &&
            ty__mztab_add(&m->gmz, s->kr[i].h, s->kr[i].g, 0, m->R.o.max_df, &frequent))
            rc = ty__mpi_oom(&m->x, "minimizer table");
    for (size_t i = 0; i < s->nxr && !rc; i++) {
        const xrec_t *x = &s->xr[i];
        uint32_t first;
        if (!in_sorted(cp.a, cp.n, x->g) && ty__xmap_first(&m->keys, x->key, x->hi, x->g, &first))
            rc = ty__mpi_oom(&m->x, "exact keys");
    }
    for (size_t i = m->rlo; i < m->rlo + m->rn; i++) { /* this rank's originals (the state) */
        own_t *d = &m->own.a[i];
        d->indexed = !d->err && d->ntok && !in_sorted(cp.a, cp.n, d->g);
    }
    free(cp.a);
    return rc;
}

int ty__spun_round(ty_mdedup_t *m, uint64_t lo, lvec_t *links)
{
    spun_t *s = m->sp;
    s->lo = (uint32_t)lo;
    if (!s->bdix) {
        s->nbdix = m->round_docs;
        if (!(s->bdix = malloc(s->nbdix * sizeof(uint32_t))))
            return ty__mpi_oom(&m->x, "documents");
    }
    memset(s->bdix, 0xff, s->nbdix * sizeof(uint32_t));
    int rc = deal(m);
    if (!rc)
        rc = ty__spun_groups(m);
    if (!rc)
        rc = keys(m);
    if (!rc)
        rc = fetch(m, (uint32_t)lo);
    /* step 3: each document here is linked to its identical first, or its candidates are
     * tried */
    lvec_t mine = {0};
    s->mine = &mine;
    for (size_t i = 0; i < s->bd.n && !rc; i++) {
        bd_t *b = &s->bd.a[i];
        if (b->same != TY__NONE) {
            if (ty_vec_push(mine, ((lnk_t){b->g, b->same, 1.0f, 1.0f})))
                rc = ty__mpi_oom(&m->x, "links");
            continue;
        }
        s->cur = b;
        rc = ty__cands_try(&m->R, s->cands.a + b->c0, b->nc, try_cand, s);
    }
    /* step 4: every rank gets the round's links */
    void *all = NULL;
    size_t nall = 0;
    if (!rc)
        rc = ty__mpi_allgather(&m->x, mine.a, mine.n, sizeof(lnk_t), &all, &nall,
                               &m->ms.gather_bytes);
    free(mine.a);
    if (!rc) {
        free(links->a);
        links->a = all;
        links->n = links->m = nall;
        qsort(links->a, links->n, sizeof(lnk_t), ty__md_cmp_pair);
        /* the originals (no link) are indexed, in document order per key */
        rc = index_originals(m, links);
    } else {
        free(all);
    }
    round_free(s);
    return rc;
}
