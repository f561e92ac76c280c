/*
 * mdedup.c — deduplication across the ranks of an MPI job (tongyuan_mpi.h): the handle,
 * each rank's reading and sketching, the global numbering, the rounds of exact and near
 * mode, and the join on rank 0. Spun mode's rounds are in mdedup_spun.c.
 *
 * Why the result is the single-process one: every decision is taken by dedup_rules.c, the
 * code one process runs (dedup.c). A document is linked, in input order, to the first
 * document holding the same exact key (exact mode) or each band key (near mode); the
 * union-find root, the cluster numbers and each document's best link do not depend on the
 * order the links are applied in (cluster.c). Here the rounds run in global input order and
 * a key's owner processes its records by document number, so it finds the same first
 * document; the link values come from ty__near_link() with the same signatures and counts;
 * rank 0 joins with the same functions.
 *
 * Reading and sketching: each rank adds its own share (ty_mdedup_add: no communication); it
 * keeps, per document, its facts (own_t, 48 bytes), name and, in near mode, signature.
 * ty_mdedup_finish: the ranks agree on failures (a failure anywhere stops everyone), number
 * the documents (MPI_Exscan + MPI_Allgather of the counts: shares follow one another), then
 * per round (the documents numbered [lo, lo + opts.batch x ranks); all steps collectives):
 *   1. key shuffle (MPI_Alltoallv): exact {key, upper half, doc} or near {band key, doc}
 *      records to the rank owning the key (mix64(key) mod ranks);
 *   2. near only: candidate pairs {doc, first} to the owner of first, which answers with
 *      first's shingle count and signature, to the owner of doc, which computes the link;
 *   3. MPI_Gatherv on rank 0 of the round's per-document facts (error, code points), names
 *      and links; rank 0 applies them.
 * A round's documents may all live on one rank (the shares are contiguous): that rank sends
 * the keys, but the key owners that process them are spread by hash, and the sketching, the
 * expensive part, was done in parallel before. Send and receive buffers hold one round.
 * What grows: each key owner's first-document table (as in one process, divided by the
 * ranks), each rank's facts and signatures of its share, and rank 0's per-document record
 * and names (about 40 bytes + the name per document: rank 0 writes the output).
 */
#include <stdio.h>
#include <string.h>

#include "mdedup.h"

int ty__md_owner_of_doc(const ty_mdedup_t *m, size_t g)
{
    if (g < m->nold) /* an earlier run's document: held in blocks (mdedup_state.c) */
        return (int)(g / m->oblk);
    /* the last rank whose share starts at or before g (shares are contiguous runs of global
     * numbers, in rank order; some may be empty) */
    int lo = 0, hi = m->x.size - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->starts[mid] <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* ---- handle -------------------------------------------------------------------------------- */

ty_mdedup_t *ty_mdedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, MPI_Comm comm,
                           ty_dedup_event_fn fn, void *user)
{
    if (!o || !to || o->evidence || ty_dedup_opts_check(o, NULL, 0) || ty_opts_check(to, NULL, 0))
        return NULL;
    ty_mdedup_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    ty__mztab_init(&m->gmz);
    if (ty__rules_init(&m->R, o, to) || ty__mpi_open(&m->x, comm)) {
        ty__rules_free(&m->R);
        free(m);
        return NULL;
    }
    m->fn = fn;
    m->user = user;
    m->lockfd = -1;
    m->round_docs = o->batch * (size_t)m->x.size;
    m->ms.ranks = m->x.size;
    m->doc = ty_doc_new();
    int ok = m->doc != NULL;
    if (ok && o->mode == TY_DEDUP_NEAR)
        ok = (m->nb.sig = malloc((size_t)m->R.np8 * sizeof(uint32_t))) != NULL;
    if (ok && o->mode == TY_DEDUP_SPUN) {
        m->round_docs = o->batch; /* a round is one of dedup.c's batches */
        m->cctx = ZSTD_createCCtx();
        m->dctx = ZSTD_createDCtx();
        ok = m->cctx && m->dctx && (m->sp = ty__spun_new(m)) != NULL;
    }
    return ok ? m : (ty_mdedup_free(m), NULL); /* a part missing: what was made goes */
}

void ty_mdedup_free(ty_mdedup_t *m)
{
    if (!m)
        return;
    ty__mpi_close(&m->x);
    ty_doc_free(m->doc);
    ty__nearbuf_free(&m->nb);
    TY_FREE(m->starts, m->own.a, m->lnames.a, m->sigs.a);
    ty__xmap_free(&m->keys);
    ty__map_free(&m->bands);
    free(m->ctexts.a);
    ZSTD_freeCCtx(m->cctx);
    ZSTD_freeDCtx(m->dctx);
    free(m->hf);
    ty__mztab_free(&m->gmz);
    ty__spun_free(m->sp);
    free(m->noff.a);
    free(m->names.a);
    ty__clu_free(&m->clu);
    ty__md_state_free(m);
    ty__rules_free(&m->R);
    free(m);
}

const ty_mpi_err_t *ty_mdedup_err(const ty_mdedup_t *m)
{
    static const ty_mpi_err_t none = {1, 0, "no dedup handle"};
    return m ? &m->x.err : &none;
}

int ty_mdedup_rank(const ty_mdedup_t *m) { return m ? m->x.rank : -1; }

/* ---- reading: one owned document, sketched as dedup.c's phase A does -------------------- */

static int local_fail(ty_mdedup_t *m, int rc, const char *what)
{
    return ty__mpi_local(&m->x, rc, "rank %d: %s: %s", m->x.rank, what, ty_strerror(rc));
}

/* Spun, at reading: the text, compressed (dealt to the rank that sketches and aligns the
 * document in its round, and fetched by the ranks that align against it). */
static int spun_keep(ty_mdedup_t *m, own_t *d, const char *text, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    if (ty_vec_reserve(m->ctexts, m->ctexts.n + bound + 1))
        return local_fail(m, TY_ENOMEM, "compressed texts");
    size_t c = ty__dd_pack(m->cctx, text, len, m->ctexts.a + m->ctexts.n, bound);
    if (!c)
        return local_fail(m, TY_ENOMEM, "compressing a text");
    d->coff = m->ctexts.n;
    d->clen = (uint32_t)c;
    d->len = (uint32_t)len;
    m->ctexts.n += c;
    return TY_OK;
}

void ty__md_sketch(ty_mdedup_t *m, const char *name, const char *text, size_t len,
                   const char *refused)
{
    const ty__rules_t *R = &m->R;
    uint32_t li = (uint32_t)m->own.n;
    own_t d;
    memset(&d, 0, sizeof d);
    d.g = li;
    d.name = m->lnames.n;
    char msg[TY_ERRMSG_SIZE] = "";
    if (refused)
        snprintf(msg, sizeof msg, "%s", refused);
    d.refused = refused || ty__dd_too_big(R, name, len, msg);
    d.len = d.refused ? 0 : (uint32_t)len;
    /* the name, and a refused document's message after it (saved with the last batch) */
    size_t nl = strlen(name), ml = d.refused ? strlen(msg) + 1 : 0;
    if (ty_vec_reserve(m->lnames, m->lnames.n + nl + 1 + ml)) {
        local_fail(m, TY_ENOMEM, "document names");
        return;
    }
    memcpy(m->lnames.a + m->lnames.n, name, nl + 1);
    memcpy(m->lnames.a + m->lnames.n + nl + 1, msg, ml);
    m->lnames.n += nl + 1 + ml;
    if (d.refused) {
        d.err = TY_ETOOBIG;
    } else {
        int rc = ty_doc_load_mem(m->doc, name, text ? text : "", len, &R->to);
        if (rc) {
            d.err = rc;
            snprintf(msg, sizeof msg, "%s", ty_doc_errmsg(m->doc));
        }
    }
    uint32_t *sig = NULL;
    if (R->o.mode == TY_DEDUP_NEAR) {
        if (ty_vec_reserve(m->sigs, (li + 1) * (size_t)R->perms)) {
            local_fail(m, TY_ENOMEM, "near-duplicate signatures");
            return;
        }
        m->sigs.n = (li + 1) * (size_t)R->perms;
        sig = m->sigs.a + li * (size_t)R->perms;
        memset(sig, 0xff, (size_t)R->perms * sizeof(uint32_t));
    }
    if (!d.err) {
        ty__facts_t f;
        ty__dd_facts(m->doc, &f);
        d.ntok = f.ntok;
        d.ncp = f.ncp;
        d.ex_lo = f.ex_lo;
        d.ex_hi = f.ex_hi;
        if (sig && ty__near_sig(R, &m->nb, m->doc, sig, &d.nsh)) {
            local_fail(m, TY_ENOMEM, "near-duplicate signatures");
            return;
        }
    }
    /* spun: the texts to align; saving, every text (the last batch is saved unprocessed) */
    if (R->o.mode == TY_DEDUP_SPUN && !d.refused && ((!d.err && d.ntok) || m->save_dir) &&
        spun_keep(m, &d, text, len))
        return;
    if (ty_vec_push(m->own, d)) {
        local_fail(m, TY_ENOMEM, "a round's documents");
        return;
    }
    if (d.err && m->fn && !m->replay) {
        ty_dedup_event_t ev = {TY_DEDUP_ERROR, li, 0, 0, 0, NULL, 0, d.err, msg};
        if (m->fn(m->user, &ev))
            ty__mpi_local(&m->x, d.err, "%s", msg);
    }
}

int ty_mdedup_add(ty_mdedup_t *m, const char *name, const char *text, size_t len)
{
    if (!m || (!text && len))
        return TY_EINVAL;
    if (m->failed)
        return m->failed;
    if (m->finished)
        return ty__err(m->x.err.msg, TY_EINVAL, "documents added after ty_mdedup_finish()");
    if (m->x.lfail)
        return m->x.lfail;
    if (m->own.n >= TY__NONE - 1)
        return ty__mpi_local(&m->x, TY_ETOOBIG, "rank %d: more than %u documents", m->x.rank,
                             TY__NONE - 2);
    ty__md_sketch(m, name ? name : "", text, len, NULL);
    return m->x.lfail;
}

void ty_mdedup_fail(ty_mdedup_t *m, int rc, const char *msg)
{
    if (m)
        ty__mpi_local(&m->x, rc ? rc : TY_EINVAL, "%s", msg ? msg : "");
}

/* ---- the rounds of exact and near mode ------------------------------------------------- */

typedef struct { /* near band key record */
    uint64_t key;
    uint32_t g, band;
} brec_t;

int ty__md_cmp_xrec(const void *x, const void *y)
{
    const xrec_t *a = x, *b = y;
    return a->g < b->g ? -1 : a->g > b->g;
}

TY_CMP_BY2(static int cmp_brec, brec_t, g, band)

TY_CMP_BY2(int ty__md_cmp_pair, pair_t, g, first)

/* Exact: the round's keys to their owners, which link each document to the first one
 * holding its key (the owner makes the link). */
static int exact_round(ty_mdedup_t *m, lvec_t *links)
{
    size_t n = 0, nr = 0;
    xrec_t *s = malloc((m->rn + 1) * sizeof(xrec_t));
    int *dest = malloc((m->rn + 1) * sizeof(int));
    void *r = NULL;
    int rc = !s || !dest ? ty__mpi_oom(&m->x, "key shuffle") : TY_OK;
    for (size_t i = 0; !rc && i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        if (d->err || !d->ntok)
            continue;
        s[n] = (xrec_t){ty__fix_key(d->ex_lo), d->ex_hi, d->g, 0};
        dest[n] = ty__mpi_owner(&m->x, s[n].key);
        n++;
    }
    rc = ty__mpi_xchg_free(&m->x, rc, s, n, sizeof(xrec_t), dest, &r, &nr, &m->ms.key_bytes);
    if (rc)
        return rc;
    xrec_t *x = r;
    qsort(x, nr, sizeof(xrec_t), ty__md_cmp_xrec);
    for (size_t i = 0; i < nr && !rc; i++) {
        uint32_t first;
        if (ty__xmap_first(&m->keys, x[i].key, x[i].hi, x[i].g, &first))
            rc = ty__mpi_oom(&m->x, "exact keys");
        else if (first != TY__NONE && ty_vec_push(*links, ((lnk_t){x[i].g, first, 1.0f, 1.0f})))
            rc = ty__mpi_oom(&m->x, "links");
    }
    free(r);
    return rc;
}

/* Near: the round's band keys to their owners, which find the first document of each; the
 * pair goes to first's owner, which sends first's signature and shingle count to the
 * document's owner, which computes the link (once per first document). */
static int near_round(ty_mdedup_t *m, lvec_t *links)
{
    const ty__rules_t *R = &m->R;
    size_t nb = (size_t)R->o.bands, n = 0, nr = 0, np = 0, nrep = 0;
    size_t rsz = 4 * sizeof(uint32_t) + (size_t)R->perms * sizeof(uint32_t);
    brec_t *s = malloc((m->rn * nb + 1) * sizeof(brec_t));
    int *dest = malloc((m->rn * nb + 1) * sizeof(int));
    void *r = NULL;
    pair_t *pairs = NULL;
    char *rep = NULL;
    int rc = !s || !dest ? ty__mpi_oom(&m->x, "key shuffle") : TY_OK;
    for (size_t i = 0; !rc && i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        if (d->err || !d->ntok)
            continue;
        const uint32_t *sg = m->sigs.a + (m->rlo + i) * (size_t)R->perms;
        for (size_t b = 0; b < nb; b++) {
            s[n] = (brec_t){ty__near_band(R, sg, (int)b), d->g, (uint32_t)b};
            dest[n] = ty__mpi_owner(&m->x, s[n].key);
            n++;
        }
    }
    rc = ty__mpi_xchg_free(&m->x, rc, s, n, sizeof(brec_t), dest, &r, &nr, &m->ms.key_bytes);
    dest = NULL;
    if (rc)
        return rc;
    /* the key owner: the first document of each band key */
    brec_t *br = r;
    qsort(br, nr, sizeof(brec_t), cmp_brec);
    pairs = malloc((nr + 1) * sizeof(pair_t));
    dest = malloc((nr + 1) * sizeof(int));
    if (!pairs || !dest)
        rc = ty__mpi_oom(&m->x, "candidate pairs");
    for (size_t i = 0; i < nr && !rc; i++) {
        int isnew;
        ty__kv_t *e = ty__map_put(&m->bands, br[i].key, &isnew);
        if (!e) {
            rc = ty__mpi_oom(&m->x, "band keys");
        } else if (isnew) {
            e->val = br[i].g;
        } else {
            pairs[np] = (pair_t){br[i].g, e->val};
            dest[np++] = ty__md_owner_of_doc(m, e->val);
        }
    }
    free(r);
    r = NULL;
    /* to the owner of the first document: its shingle count and signature come back */
    rc = ty__mpi_xchg_free(&m->x, rc, pairs, np, sizeof(pair_t), dest, &r, &nr, &m->ms.pair_bytes);
    dest = NULL;
    if (rc)
        return rc;
    pair_t *pr = r;
    qsort(pr, nr, sizeof(pair_t), ty__md_cmp_pair);
    rep = malloc(nr * rsz + 1);
    dest = malloc((nr + 1) * sizeof(int));
    if (!rep || !dest)
        rc = ty__mpi_oom(&m->x, "signatures");
    for (size_t i = 0; i < nr && !rc; i++) {
        if (i && pr[i].g == pr[i - 1].g && pr[i].first == pr[i - 1].first)
            continue; /* the same first document in several bands: one link */
        size_t li = ty__md_local(m, pr[i].first);
        uint32_t hdr[4] = {pr[i].g, pr[i].first, m->own.a[li].nsh, 0};
        char *o = rep + nrep * rsz;
        memcpy(o, hdr, sizeof hdr);
        memcpy(o + sizeof hdr, m->sigs.a + li * (size_t)R->perms,
               (size_t)R->perms * sizeof(uint32_t));
        dest[nrep++] = ty__md_owner_of_doc(m, pr[i].g);
    }
    free(r);
    r = NULL;
    m->ms.pairs += nrep;
    rc = ty__mpi_xchg_free(&m->x, rc, rep, nrep, rsz, dest, &r, &nr, &m->ms.pair_bytes);
    if (rc)
        return rc;
    /* the document's owner: the link, by the rules */
    for (size_t i = 0; i < nr && !rc; i++) {
        const char *o = (const char *)r + i * rsz;
        uint32_t hdr[4];
        memcpy(hdr, o, sizeof hdr);
        const uint32_t *y = (const uint32_t *)(const void *)(o + sizeof hdr);
        size_t lg = ty__md_local(m, hdr[0]);
        lnk_t L = {hdr[0], hdr[1], 0, 0};
        ty__near_link(R, y, hdr[2], m->sigs.a + lg * (size_t)R->perms, m->own.a[lg].nsh, &L.sim,
                      &L.cont);
        if (ty_vec_push(*links, L))
            rc = ty__mpi_oom(&m->x, "links");
    }
    free(r);
    return rc;
}

/* ---- one round: the links, then every document's facts on rank 0 ------------------------- */

typedef struct { /* per-document facts for rank 0 */
    uint32_t g;
    int32_t err;
    uint32_t ncp, nonempty;
} info_t;

/* Rank 0: the round's facts, names (in rank order, which is the documents' order) and
 * links, joined as one process joins them. */
static int join_round(ty_mdedup_t *m, uint64_t lo, uint64_t hi, const info_t *info, size_t nin,
                      const char *names, size_t nnames, const lnk_t *links, size_t nl)
{
    for (size_t i = 0; i < nin; i++)
        ty__join_doc(&m->clu, &m->st, info[i].g, info[i].err, info[i].ncp);
    if (ty_vec_reserve(m->names, m->names.n + nnames + 1))
        return ty__mpi_oom(&m->x, "document names");
    const char *p = names;
    for (uint64_t g = lo; g < hi && g < m->starts[m->x.size]; g++) {
        size_t l = strlen(p) + 1;
        m->noff.a[g] = m->names.n;
        memcpy(m->names.a + m->names.n, p, l);
        m->names.n += l;
        p += l;
    }
    for (size_t i = 0; i < nl; i++)
        ty__join_link(&m->clu, &m->st, links[i].g, links[i].other, links[i].sim, links[i].cont);
    return TY_OK;
}

/* Round lo: the documents numbered [lo, lo + round_docs) of all ranks. */
static int process_round(ty_mdedup_t *m, uint64_t lo)
{
    uint64_t hi = lo + m->round_docs, st = m->starts[m->x.rank], en = m->starts[m->x.rank + 1];
    uint64_t a = lo > st ? lo : st, b = hi < en ? hi : en;
    m->rlo = m->lold + (a < b ? (size_t)(a - st) : 0);
    m->rn = a < b ? (size_t)(b - a) : 0;
    m->ms.rounds++;
    lvec_t links = {0};
    int spun = m->R.o.mode == TY_DEDUP_SPUN;
    int rc = spun                            ? ty__spun_round(m, lo, &links)
             : m->R.o.mode == TY_DEDUP_EXACT ? exact_round(m, &links)
                                             : near_round(m, &links);
    /* per-document facts, names and links to rank 0 */
    info_t *info = NULL;
    char *nm = NULL;
    size_t nbytes = 0;
    if (!rc && !(info = malloc((m->rn + 1) * sizeof(info_t))))
        rc = ty__mpi_oom(&m->x, "round facts");
    for (size_t i = 0; !rc && i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        info[i] = (info_t){d->g, d->err, d->ncp, d->ntok > 0};
        nbytes += strlen(m->lnames.a + d->name) + 1;
    }
    if (!rc && !(nm = malloc(nbytes + 1)))
        rc = ty__mpi_oom(&m->x, "round names");
    for (size_t i = 0, o = 0; !rc && i < m->rn; i++) {
        const char *x = m->lnames.a + m->own.a[m->rlo + i].name;
        size_t l = strlen(x) + 1;
        memcpy(nm + o, x, l);
        o += l;
    }
    void *rin = NULL, *rl = NULL, *rnm = NULL;
    size_t nin = 0, nl = 0, nnm = 0;
    uint64_t *gb = &m->ms.gather_bytes;
    if (!rc)
        rc = ty__mpi_gather0(&m->x, info, m->rn, sizeof(info_t), &rin, &nin, gb);
    if (!rc)
        rc = ty__mpi_gather0(&m->x, nm, nbytes, 1, &rnm, &nnm, gb);
    if (!rc && !spun) /* spun: every rank has every link already */
        rc = ty__mpi_gather0(&m->x, links.a, links.n, sizeof(lnk_t), &rl, &nl, gb);
    free(info);
    free(nm);
    if (!rc && m->x.rank == 0)
        rc = spun ? join_round(m, lo, hi, rin, nin, rnm, nnm, links.a, links.n)
                  : join_round(m, lo, hi, rin, nin, rnm, nnm, rl, nl);
    TY_FREE(rin, rnm, rl, links.a);
    return rc;
}

/* ---- finish and results -------------------------------------------------------------------- */

/* Global numbers: this rank's documents follow those of the ranks before it. */
static int number(ty_mdedup_t *m, uint64_t *total)
{
    uint64_t cnt = m->own.n - m->lold, first = 0, nold = m->nold;
    int size = m->x.size, rank = m->x.rank;
    if (!(m->starts = calloc((size_t)size + 1, sizeof(uint64_t))))
        return ty__mpi_oom(&m->x, "share counts");
    int mrc = MPI_Exscan(&cnt, &first, 1, MPI_UINT64_T, MPI_SUM, m->x.comm);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Allgather(&first, 1, MPI_UINT64_T, m->starts, 1, MPI_UINT64_T, m->x.comm);
    if (mrc != MPI_SUCCESS)
        return ty__mpi_fail(&m->x, mrc, "Exscan");
    if (rank == 0)
        m->starts[0] = 0;          /* MPI_Exscan leaves rank 0's result undefined */
    for (int r = 0; r < size; r++) /* this run's documents follow the earlier run's */
        m->starts[r] += nold;
    *total = m->starts[size - 1] + (rank == size - 1 ? cnt : 0);
    mrc = MPI_Bcast(total, 1, MPI_UINT64_T, size - 1, m->x.comm);
    if (mrc != MPI_SUCCESS)
        return ty__mpi_fail(&m->x, mrc, "Bcast");
    m->starts[size] = *total;
    if (*total >= TY__NONE - 1) /* the same on every rank */
        return ty__err(m->x.err.msg, TY_ETOOBIG, "more than %u documents", TY__NONE - 2);
    for (size_t i = m->lold; i < m->own.n; i++)
        m->own.a[i].g = (uint32_t)(m->starts[rank] + (i - m->lold));
    if (rank == 0) { /* (the earlier documents' entries were loaded) */
        if (ty_vec_reserve(m->noff, (size_t)*total + 1) ||
            ty__clu_add(&m->clu, (size_t)(*total - nold)))
            return ty__mpi_oom(&m->x, "documents");
        m->noff.n = (size_t)*total;
        memset(m->noff.a + nold, 0, (size_t)(*total - nold) * sizeof(uint64_t));
        m->st.docs = (size_t)*total;
    }
    return TY_OK;
}

int ty_mdedup_finish(ty_mdedup_t *m)
{
    int rc = m ? ty__dd_finish_gate(m->failed, m->finished, m->x.err.msg, "ty_mdedup_finish")
               : TY_EINVAL;
    if (rc)
        return rc;
    /* a failure anywhere stops everyone here */
    rc = ty__mpi_agree(&m->x, TY_OK);
    uint64_t total = 0;
    if (!rc)
        rc = number(m, &total);
    if (!rc && m->R.o.mode == TY_DEDUP_SPUN)
        rc = ty__spun_start(m, total);
    /* the rounds, in global order (after the earlier run's documents); every rank runs the
     * same number. The state (--save-index): spun mode's before its last, partial round
     * (batches change its decisions: that round is saved unprocessed, as dedup.c saves its
     * last batch), exact and near mode's after the last round */
    int spun = m->R.o.mode == TY_DEDUP_SPUN;
    for (uint64_t lo = m->nold; !rc && (lo < total || lo == m->nold); lo += m->round_docs) {
        if (m->save_dir && spun && total - lo < m->round_docs)
            rc = ty__md_write_state(m, lo);
        if (!rc)
            rc = process_round(m, lo);
    }
    if (!rc && m->save_dir && !m->saved)
        rc = ty__md_write_state(m, total);
    /* the exchange totals, on rank 0 */
    uint64_t v[4] = {m->ms.key_bytes, m->ms.pair_bytes, m->ms.gather_bytes, m->ms.pairs}, t[4];
    int mrc = rc ? MPI_SUCCESS : MPI_Reduce(v, t, 4, MPI_UINT64_T, MPI_SUM, 0, m->x.comm);
    if (mrc != MPI_SUCCESS)
        rc = ty__mpi_fail(&m->x, mrc, "Reduce");
    if (rc) {
        m->failed = rc;
        return rc;
    }
    m->finished = 1;
    if (m->x.rank != 0)
        return TY_OK;
    m->ms.key_bytes = t[0];
    m->ms.pair_bytes = t[1];
    m->ms.gather_bytes = t[2];
    m->ms.pairs = t[3];
    /* clusters, as ty_dedup_finish() */
    if (ty__join_finish(&m->clu, &m->st, m->R.o.keep == TY_KEEP_LONGEST))
        return ty__err(m->x.err.msg, TY_ENOMEM, "out of memory");
    return TY_OK;
}

size_t ty_mdedup_count(const ty_mdedup_t *m) { return m && m->x.rank == 0 ? m->noff.n : 0; }

const char *ty_mdedup_name(const ty_mdedup_t *m, size_t i)
{
    return m && m->x.rank == 0 && i < m->noff.n ? m->names.a + m->noff.a[i] : NULL;
}

int ty_mdedup_result(const ty_mdedup_t *m, size_t i, ty_dedup_result_t *res)
{
    if (!m || !res || m->x.rank != 0 || !m->finished || i >= m->noff.n)
        return TY_EINVAL;
    ty__clu_result(&m->clu, i, res);
    return TY_OK;
}

void ty_mdedup_stats(const ty_mdedup_t *m, ty_dedup_stats_t *st, ty_mdedup_stats_t *ms)
{
    if (st)
        memset(st, 0, sizeof(*st));
    if (ms)
        memset(ms, 0, sizeof(*ms));
    if (!m)
        return;
    if (st)
        *st = m->st;
    if (ms)
        *ms = m->ms;
}
