/*
 * mpi_dedup.c — exact, near and spun deduplication across the ranks of an MPI job (make
 * MPI=1); see mpi_dedup.h for the scheme, and "spun mode" below for the spun rounds. Only
 * compiled into the MPI build.
 *
 * Why the result is the single-process one: dedup.c links each document, in input order,
 * to the first document holding the same exact key (exact mode) or each band key (near
 * mode), and the union-find root, the cluster numbers and each document's best link do not
 * depend on the order the links are applied in. Here the rounds run in global input order
 * and a key's owner processes its records by document number, so it finds the same first
 * document; the link values are computed with the same expressions (float Jaccard from the
 * signatures, containment from the shingle counts); rank 0 applies the same rules.
 *
 * Reading and sketching: each rank adds its own share (ty_mdedup_add: no communication);
 * it keeps, per document, its facts (own_t, 48 bytes), name and, in near mode, signature.
 * ty_mdedup_finish: MPI_Allreduce of the ranks' status (a failure anywhere stops everyone),
 * MPI_Exscan + MPI_Allgather of the counts (global numbers: shares follow one another), then
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
 * and names (about 40 bytes + the name per document: rank 0 writes the output). Running
 * out of memory in the middle of an exchange calls MPI_Abort: the other ranks are already
 * waiting in the collective and cannot be told otherwise.
 */
#ifdef TY_MPI

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "dedup.h"
#include "mpi_dedup.h"

#define NONE UINT32_MAX

typedef struct { /* per-document facts for rank 0 */
    uint32_t g;
    int32_t err;
    uint32_t ncp, nonempty;
} info_t;

typedef struct { /* a link, for rank 0 */
    uint32_t g, other;
    float sim, cont;
} lnk_t;

typedef struct { /* exact key record */
    uint64_t key, hi;
    uint32_t g, pad;
} xrec_t;

typedef struct { /* near band key record */
    uint64_t key;
    uint32_t g, band;
} brec_t;

typedef struct {
    uint32_t g, first;
} pair_t;

typedef TY_VEC(lnk_t) lvec_t;
typedef TY_VEC(uint32_t) u32vec_t;

typedef struct { /* key owner's table: open addressing on key (0: empty) */
    uint64_t key, hi;
    uint32_t g, pad;
} slot_t;

typedef struct {
    slot_t *a;
    size_t cap, n;
} kmap_t;

typedef struct {   /* rank 0's record of a document (its cluster facts: clu) */
    uint64_t name; /* offset in names */
} mrec_t;

typedef struct {                /* a document this rank owns (read and sketched) */
    uint32_t g, ncp, ntok, nsh; /* g: local number until finish, then global */
    int err;
    uint64_t ex_lo, ex_hi;
    uint64_t name; /* offset in lnames */
    uint64_t coff; /* spun: its zstd-compressed text in ctexts */
    uint32_t clen, len;
} own_t;

typedef struct { /* spun: key owner's minimizer table (dedup.c's gmz): val documents indexed
                  * so far (saturating), aux the one document (val 1) or its postings block
                  * in the pool (2..max_df), NONE past max_df */
    uint64_t key;
    uint32_t val, aux;
} kv_t;

typedef struct {
    kv_t *a;
    size_t cap, n;
} gmap_t;

typedef struct spun spun_t; /* spun mode's round state, below */
static spun_t *spun_new(ty_mdedup_t *m);
static void spun_free(spun_t *s);
static int spun_filter(ty_mdedup_t *m);

struct ty_mdedup {
    ty_dedup_opts_t o;
    ty_opts_t to;
    MPI_Comm comm;
    int rank, size;
    ty_dedup_event_fn fn;
    void *user;
    int perms, np8;
    uint32_t *pa, *pb, *sig;
    ty_doc_t *doc;
    near_buf_t nb;
    size_t round_docs;     /* documents of all ranks per round (global numbers) */
    size_t rlo, rn;        /* this round: own[rlo, rlo + rn) */
    uint64_t *starts;      /* after finish's count exchange: first global number of each rank's
                              share, [size] = all documents */
    TY_VEC(own_t) own;     /* every document this rank read, in its input order */
    TY_VEC(char) lnames;   /* their names */
    TY_VEC(uint32_t) sigs; /* near: perms per document owned */
    TY_VEC(uint32_t) nsh;  /* near: shingles per document owned */
    kmap_t keys;
    /* spun */
    TY_VEC(char) ctexts; /* compressed texts of the documents this rank owns */
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    uint32_t *hf; /* spun: [distinct minimizers, tokens] of the documents g with g mod N = this
                     rank (dealt here in their round), at g / N */
    gmap_t gmz;   /* key owner: minimizers of the indexed documents */
    pool_t pool;
    spun_t *sp;
    /* rank 0 */
    TY_VEC(mrec_t) docs;
    TY_VEC(char) names;
    ty__clusters_t clu; /* rank 0: per document, union-find and best link (cluster.c) */
    ty_dedup_stats_t st;
    ty_mdedup_stats_t ms;
    int lfail;  /* this rank's error, waiting for the next status exchange */
    int failed; /* agreed: the handle is dead */
    int finished;
    char err[TY_ERRMSG_SIZE];
};

static inline uint64_t fix_key(uint64_t k) { return k ? k : 1; }

/* The rank whose share holds document g: the last rank whose share starts at or before g
 * (shares are contiguous runs of global numbers, in rank order; some may be empty). */
static int owner_of_doc(const ty_mdedup_t *m, size_t g)
{
    int lo = 0, hi = m->size - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->starts[mid] <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Index of document g (one this rank owns) among this rank's documents. */
static size_t local_of(const ty_mdedup_t *m, size_t g) { return g - (size_t)m->starts[m->rank]; }

static int owner_of_key(const ty_mdedup_t *m, uint64_t key)
{
    return (int)(ty__mix64(key) % (uint64_t)m->size);
}

/* ---- the key owner's first-document table -------------------------------------------------- */

static slot_t *kmap_put(kmap_t *k, uint64_t key, int *isnew)
{
    if ((k->n + 1) * 4 > k->cap * 3) {
        size_t nc = k->cap ? k->cap * 2 : 4096;
        slot_t *na = calloc(nc, sizeof(slot_t));
        if (!na)
            return NULL;
        for (size_t i = 0; i < k->cap; i++) {
            if (!k->a[i].key)
                continue;
            size_t s = (size_t)ty__mix64(k->a[i].key ^ 0x5bd1e995ULL) & (nc - 1);
            while (na[s].key)
                s = (s + 1) & (nc - 1);
            na[s] = k->a[i];
        }
        free(k->a);
        k->a = na;
        k->cap = nc;
    }
    size_t s = (size_t)ty__mix64(key ^ 0x5bd1e995ULL) & (k->cap - 1);
    while (k->a[s].key) {
        if (k->a[s].key == key) {
            *isnew = 0;
            return &k->a[s];
        }
        s = (s + 1) & (k->cap - 1);
    }
    k->a[s].key = key;
    k->n++;
    *isnew = 1;
    return &k->a[s];
}

/* ---- handle -------------------------------------------------------------------------------- */

ty_mdedup_t *ty_mdedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, MPI_Comm comm,
                           ty_dedup_event_fn fn, void *user)
{
    if (!o || !to || ty_dedup_opts_check(o, NULL, 0) || ty_opts_check(to, NULL, 0) ||
        (o->mode != TY_DEDUP_EXACT && o->mode != TY_DEDUP_NEAR && o->mode != TY_DEDUP_SPUN) ||
        o->evidence)
        return NULL;
    ty_mdedup_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->o = *o;
    m->to = *to;
    m->fn = fn;
    m->user = user;
    if (MPI_Comm_dup(comm, &m->comm) != MPI_SUCCESS) {
        free(m);
        return NULL;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    m->round_docs = (o->batch ? o->batch : 1) * (size_t)m->size;
    m->ms.ranks = m->size;
    m->doc = ty_doc_new();
    int ok = m->doc != NULL;
    if (ok && o->mode == TY_DEDUP_NEAR) {
        m->perms = o->bands * o->rows;
        m->np8 = (m->perms + 7) & ~7;
        m->pa = calloc((size_t)m->np8, sizeof(uint32_t));
        m->pb = calloc((size_t)m->np8, sizeof(uint32_t));
        m->sig = calloc((size_t)m->np8, sizeof(uint32_t));
        ok = m->pa && m->pb && m->sig;
        if (ok)
            ty__minhash_perms(o->seed, m->perms, m->pa, m->pb);
    }
    if (ok && o->mode == TY_DEDUP_SPUN) {
        m->round_docs = o->batch; /* a round is one of dedup.c's batches */
        m->cctx = ZSTD_createCCtx();
        m->dctx = ZSTD_createDCtx();
        for (int c = 0; c < POOL_CLASSES; c++)
            m->pool.freel[c] = NONE;
        ok = m->cctx && m->dctx && (m->sp = spun_new(m)) != NULL;
    }
    if (!ok) {
        ty_mdedup_free(m);
        return NULL;
    }
    return m;
}

void ty_mdedup_free(ty_mdedup_t *m)
{
    if (!m)
        return;
    MPI_Comm_free(&m->comm);
    ty_doc_free(m->doc);
    free(m->pa);
    free(m->pb);
    free(m->sig);
    ty__near_buf_free(&m->nb);
    free(m->starts);
    free(m->own.a);
    free(m->lnames.a);
    free(m->sigs.a);
    free(m->nsh.a);
    free(m->keys.a);
    free(m->ctexts.a);
    ZSTD_freeCCtx(m->cctx);
    ZSTD_freeDCtx(m->dctx);
    free(m->hf);
    free(m->gmz.a);
    free(m->pool.v.a);
    spun_free(m->sp);
    free(m->docs.a);
    free(m->names.a);
    ty__clu_free(&m->clu);
    free(m);
}

const char *ty_mdedup_errmsg(const ty_mdedup_t *m) { return m ? m->err : "no dedup handle"; }
int ty_mdedup_rank(const ty_mdedup_t *m) { return m ? m->rank : -1; }

static void local_fail(ty_mdedup_t *m, int rc, const char *what)
{
    if (!m->lfail) {
        m->lfail = rc;
        snprintf(m->err, sizeof m->err, "rank %d: %s: %s", m->rank, what, ty_strerror(rc));
    }
}

/* An MPI call failed: a rank died or the network broke. Stop everything here. */
static int mpi_fail(ty_mdedup_t *m, int mrc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(mrc, s, &n);
    snprintf(m->err, sizeof m->err, "rank %d: MPI %s failed (%s); another rank may have died",
             m->rank, what, s);
    m->failed = TY_EIO;
    return TY_EIO;
}

static void abort_oom(ty_mdedup_t *m, const char *what)
{
    fprintf(stderr, "tongyuan: rank %d: out of memory (%s); aborting the MPI job\n", m->rank, what);
    MPI_Abort(m->comm, 2);
}

/* ---- sketching one owned document (dedup.c phase_a, exact and near) ------------------------ */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Spun, at reading: the text, compressed (dealt to the rank that sketches and aligns the
 * document in its round, and fetched by the ranks that align against it). */
static int spun_keep(ty_mdedup_t *m, own_t *d, const char *text, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    if (ty_vec_reserve(m->ctexts, m->ctexts.n + bound + 1)) {
        local_fail(m, TY_ENOMEM, "compressed texts");
        return TY_ENOMEM;
    }
    size_t c = ZSTD_compressCCtx(m->cctx, m->ctexts.a + m->ctexts.n, bound, text, len, 1);
    if (ZSTD_isError(c)) {
        local_fail(m, TY_ENOMEM, "compressing a text");
        return TY_ENOMEM;
    }
    d->coff = m->ctexts.n;
    d->clen = (uint32_t)c;
    d->len = (uint32_t)len;
    m->ctexts.n += c;
    return TY_OK;
}

static void sketch(ty_mdedup_t *m, uint32_t li, const char *name, const char *text, size_t len)
{
    own_t d;
    memset(&d, 0, sizeof d);
    d.g = li;
    d.name = m->lnames.n;
    size_t nl = strlen(name);
    if (ty_vec_reserve(m->lnames, m->lnames.n + nl + 1)) {
        local_fail(m, TY_ENOMEM, "document names");
        return;
    }
    memcpy(m->lnames.a + m->lnames.n, name, nl + 1);
    m->lnames.n += nl + 1;
    char msg[TY_ERRMSG_SIZE] = "";
    if (len > m->to.max_doc_bytes) {
        d.err = TY_ETOOBIG;
        snprintf(msg, sizeof msg, "%s: %zu bytes, more than the limit of %zu bytes", name, len,
                 m->to.max_doc_bytes);
    } else {
        int rc = ty_doc_load_mem(m->doc, name, text ? text : "", len, &m->to);
        if (rc) {
            d.err = rc;
            snprintf(msg, sizeof msg, "%s", ty_doc_errmsg(m->doc));
        }
    }
    if (m->o.mode == TY_DEDUP_NEAR) {
        if (ty_vec_reserve(m->sigs, (li + 1) * (size_t)m->perms) ||
            ty_vec_reserve(m->nsh, li + 1)) {
            local_fail(m, TY_ENOMEM, "near-duplicate signatures");
            return;
        }
        m->sigs.n = (li + 1) * (size_t)m->perms;
        m->nsh.n = li + 1;
        memset(m->sigs.a + li * (size_t)m->perms, 0xff, (size_t)m->perms * sizeof(uint32_t));
        m->nsh.a[li] = 0;
    }
    if (!d.err) {
        size_t nt = ty_doc_ntokens(m->doc);
        d.ntok = (uint32_t)nt;
        d.ncp = (uint32_t)ty_doc_ncodepoints(m->doc);
        XXH128_hash_t hh = XXH3_128bits(m->doc->tok, nt * sizeof(uint32_t));
        d.ex_lo = hh.low64;
        d.ex_hi = hh.high64;
        if (m->o.mode == TY_DEDUP_NEAR && nt) {
            size_t ns = ty__near_shingles(m->doc, m->o.ngram, &m->nb);
            if (ns == (size_t)-1) {
                local_fail(m, TY_ENOMEM, "near-duplicate signatures");
                return;
            }
            d.nsh = (uint32_t)ns;
            m->nsh.a[li] = d.nsh;
            uint32_t *sg = m->sigs.a + li * (size_t)m->perms;
            if (ns) {
                ty__minhash(m->pa, m->pb, m->perms, m->nb.x.a, ns, m->sig);
                memcpy(sg, m->sig, (size_t)m->perms * sizeof(uint32_t));
            }
        }
    }
    if (m->o.mode == TY_DEDUP_SPUN && !d.err && d.ntok && spun_keep(m, &d, text, len))
        return;
    if (ty_vec_push(m->own, d)) {
        local_fail(m, TY_ENOMEM, "a round's documents");
        return;
    }
    if (d.err && m->fn) {
        ty_dedup_event_t ev = {TY_DEDUP_ERROR, li, 0, 0, 0, NULL, 0, d.err, msg};
        if (m->fn(m->user, &ev) && !m->lfail) {
            m->lfail = d.err;
            snprintf(m->err, sizeof m->err, "%s", msg);
        }
    }
}

/* ---- exchanges ----------------------------------------------------------------------------- */

/* Send sbuf, grouped by destination rank (sc[r] bytes to rank r, in rank order; sc is
 * overwritten): *out (malloc()ed) gets what was sent to this rank, *nout bytes, grouped by
 * sending rank in rank order. *bytes counts what went to other ranks. */
static int xchg_raw(ty_mdedup_t *m, const char *sbuf, int *sc, char **out, size_t *nout,
                    uint64_t *bytes)
{
    int p = m->size;
    int *sd = calloc((size_t)p * 3, sizeof(int));
    if (!sd)
        abort_oom(m, "exchange counts");
    int *rcnt = sd + p, *rd = sd + 2 * p;
    size_t off = 0;
    for (int r = 0; r < p; r++) {
        sd[r] = (int)off;
        off += (size_t)sc[r];
        if (r != m->rank)
            *bytes += (uint64_t)sc[r];
    }
    int mrc = MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, m->comm);
    if (mrc != MPI_SUCCESS) {
        free(sd);
        return mpi_fail(m, mrc, "Alltoall");
    }
    size_t tot = 0;
    for (int r = 0; r < p; r++) {
        rd[r] = (int)tot;
        tot += (size_t)rcnt[r];
    }
    if (tot > (size_t)INT32_MAX || off > (size_t)INT32_MAX)
        abort_oom(m, "an exchange of more than 2 GB (use a smaller --batch)");
    char *rbuf = malloc(tot + 1);
    if (!rbuf)
        abort_oom(m, "exchange buffer");
    mrc = MPI_Alltoallv(sbuf, sc, sd, MPI_BYTE, rbuf, rcnt, rd, MPI_BYTE, m->comm);
    free(sd);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return mpi_fail(m, mrc, "Alltoallv");
    }
    *out = rbuf;
    *nout = tot;
    return TY_OK;
}

/* Send n records of sz bytes, record i to rank dest[i]; *out (malloc()ed) gets the records
 * sent to this rank, *nout of them, grouped by sending rank in rank order and in the order
 * each was sent. *bytes counts what went to other ranks. */
static int xchg(ty_mdedup_t *m, const void *recs, size_t n, size_t sz, const int *dest, void **out,
                size_t *nout, uint64_t *bytes)
{
    int p = m->size;
    int *sc = calloc((size_t)p * 2, sizeof(int));
    if (!sc)
        abort_oom(m, "exchange counts");
    int *sd = sc + p;
    for (size_t i = 0; i < n; i++)
        sc[dest[i]]++;
    size_t off = 0;
    for (int r = 0; r < p; r++) {
        sd[r] = (int)off;
        off += (size_t)sc[r];
    }
    if (n * sz > (size_t)INT32_MAX)
        abort_oom(m, "an exchange of more than 2 GB (use a smaller --batch)");
    char *sbuf = malloc(n * sz + 1);
    if (!sbuf)
        abort_oom(m, "exchange buffer");
    for (size_t i = 0; i < n; i++) {
        int r = dest[i];
        memcpy(sbuf + (size_t)sd[r]++ * sz, (const char *)recs + i * sz, sz);
    }
    for (int r = 0; r < p; r++)
        sc[r] = (int)((size_t)sc[r] * sz);
    char *rbuf = NULL;
    size_t tot = 0;
    int rc = xchg_raw(m, sbuf, sc, &rbuf, &tot, bytes);
    free(sbuf);
    free(sc);
    if (rc)
        return rc;
    *out = rbuf;
    *nout = tot / sz;
    return TY_OK;
}

/* Gather n records of sz bytes on rank 0: *out (rank 0, malloc()ed), *nout. */
static int gather0(ty_mdedup_t *m, const void *recs, size_t n, size_t sz, void **out, size_t *nout)
{
    int p = m->size, c = (int)(n * sz);
    int *rc = NULL, *rd = NULL;
    char *rbuf = NULL;
    if (m->rank == 0) {
        rc = calloc((size_t)p * 2, sizeof(int));
        if (!rc)
            abort_oom(m, "gather counts");
        rd = rc + p;
    } else {
        m->ms.gather_bytes += (uint64_t)c;
    }
    int mrc = MPI_Gather(&c, 1, MPI_INT, rc, 1, MPI_INT, 0, m->comm);
    if (mrc != MPI_SUCCESS) {
        free(rc);
        return mpi_fail(m, mrc, "Gather");
    }
    size_t tot = 0;
    if (m->rank == 0) {
        for (int r = 0; r < p; r++) {
            rd[r] = (int)tot;
            tot += (size_t)rc[r];
        }
        rbuf = malloc(tot + 1);
        if (!rbuf)
            abort_oom(m, "gather buffer");
    }
    mrc = MPI_Gatherv(recs, c, MPI_BYTE, rbuf, rc, rd, MPI_BYTE, 0, m->comm);
    free(rc);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return mpi_fail(m, mrc, "Gatherv");
    }
    *out = rbuf;
    *nout = tot / sz;
    return TY_OK;
}

static int cmp_xrec(const void *x, const void *y)
{
    const xrec_t *a = x, *b = y;
    return a->g < b->g ? -1 : a->g > b->g;
}

static int cmp_brec(const void *x, const void *y)
{
    const brec_t *a = x, *b = y;
    if (a->g != b->g)
        return a->g < b->g ? -1 : 1;
    return a->band < b->band ? -1 : a->band > b->band;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair_t *a = x, *b = y;
    if (a->g != b->g)
        return a->g < b->g ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* ---- rank 0: union-find and best links (dedup.c's rules) ----------------------------------- */

static void apply_link(ty_mdedup_t *m, const lnk_t *L)
{
    ty__clu_link(&m->clu, L->g, L->other, L->sim, L->cont);
    m->st.links++;
}

/* ---- one round ----------------------------------------------------------------------------- */

static int round_links(ty_mdedup_t *m, lvec_t *links);
static int spun_round(ty_mdedup_t *m, uint64_t lo, lvec_t *links);

/* Round lo: the documents numbered [lo, lo + round_docs) of all ranks. */
static int process_round(ty_mdedup_t *m, uint64_t lo)
{
    uint64_t hi = lo + m->round_docs, st = m->starts[m->rank], en = m->starts[m->rank + 1];
    uint64_t a = lo > st ? lo : st, b = hi < en ? hi : en;
    m->rlo = a < b ? (size_t)(a - st) : 0;
    m->rn = a < b ? (size_t)(b - a) : 0;
    m->ms.rounds++;
    lvec_t links = {0};
    int spun = m->o.mode == TY_DEDUP_SPUN;
    int rc = spun ? spun_round(m, lo, &links) : round_links(m, &links);
    /* per-document facts, names and links to rank 0 */
    info_t *info = malloc((m->rn + 1) * sizeof(info_t));
    if (!info)
        abort_oom(m, "round facts");
    size_t nbytes = 0;
    for (size_t i = 0; i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        info[i] = (info_t){d->g, d->err, d->ncp, d->ntok > 0};
        nbytes += strlen(m->lnames.a + d->name) + 1;
    }
    char *nm = malloc(nbytes + 1);
    if (!nm)
        abort_oom(m, "round names");
    for (size_t i = 0, o = 0; i < m->rn; i++) {
        const char *x = m->lnames.a + m->own.a[m->rlo + i].name;
        size_t l = strlen(x) + 1;
        memcpy(nm + o, x, l);
        o += l;
    }
    void *rin = NULL, *rl = NULL, *rnm = NULL;
    size_t nin = 0, nl = 0, nnm = 0;
    if (!rc)
        rc = gather0(m, info, m->rn, sizeof(info_t), &rin, &nin);
    if (!rc)
        rc = gather0(m, nm, nbytes, 1, &rnm, &nnm);
    if (!rc && !spun) /* spun: every rank has every link already */
        rc = gather0(m, links.a, links.n, sizeof(lnk_t), &rl, &nl);
    free(info);
    free(nm);
    if (!rc && m->rank == 0) {
        for (size_t i = 0; i < nin; i++) {
            const info_t *f = (const info_t *)rin + i;
            ty__clu_t *r = &m->clu.d.a[f->g];
            r->err = f->err;
            r->ncp = f->ncp;
            if (f->err)
                m->st.errors++;
        }
        /* the names come in rank order, which is the documents' order */
        if (ty_vec_reserve(m->names, m->names.n + nnm + 1))
            abort_oom(m, "document names");
        const char *p = rnm;
        for (uint64_t g = lo; g < hi && g < m->starts[m->size]; g++) {
            size_t l = strlen(p) + 1;
            m->docs.a[g].name = m->names.n;
            memcpy(m->names.a + m->names.n, p, l);
            m->names.n += l;
            p += l;
        }
        for (size_t i = 0; i < nl; i++)
            apply_link(m, (const lnk_t *)rl + i);
        for (size_t i = 0; spun && i < links.n; i++)
            apply_link(m, &links.a[i]);
    }
    free(rin);
    free(rnm);
    free(rl);
    free(links.a);
    if (rc)
        m->failed = rc;
    return rc;
}

/* Steps 2 and 3: this round's links whose later document this rank owns... or, for exact
 * mode, whose key this rank owns (either way each link is made once). */
static int round_links(ty_mdedup_t *m, lvec_t *links)
{
    int rc = TY_OK;
    size_t n = 0;
    int *dest = NULL;
    if (m->o.mode == TY_DEDUP_EXACT) {
        xrec_t *s = malloc((m->rn + 1) * sizeof(xrec_t));
        dest = malloc((m->rn + 1) * sizeof(int));
        if (!s || !dest)
            abort_oom(m, "key shuffle");
        for (size_t i = 0; i < m->rn; i++) {
            const own_t *d = &m->own.a[m->rlo + i];
            if (d->err || !d->ntok)
                continue;
            s[n] = (xrec_t){fix_key(d->ex_lo), d->ex_hi, d->g, 0};
            dest[n] = owner_of_key(m, s[n].key);
            n++;
        }
        void *r = NULL;
        size_t nr = 0;
        rc = xchg(m, s, n, sizeof(xrec_t), dest, &r, &nr, &m->ms.key_bytes);
        free(s);
        free(dest);
        if (rc)
            return rc;
        xrec_t *x = r;
        qsort(x, nr, sizeof(xrec_t), cmp_xrec);
        for (size_t i = 0; i < nr; i++) {
            int isnew;
            slot_t *e = kmap_put(&m->keys, x[i].key, &isnew);
            if (!e)
                abort_oom(m, "exact keys");
            if (isnew) {
                e->g = x[i].g;
                e->hi = x[i].hi;
            } else if (e->hi == x[i].hi) {
                lnk_t L = {x[i].g, e->g, 1.0f, 1.0f};
                if (ty_vec_push(*links, L))
                    abort_oom(m, "links");
            }
        }
        free(r);
        return TY_OK;
    }
    /* near: band keys */
    size_t nb = (size_t)m->o.bands;
    brec_t *s = malloc((m->rn * nb + 1) * sizeof(brec_t));
    dest = malloc((m->rn * nb + 1) * sizeof(int));
    if (!s || !dest)
        abort_oom(m, "key shuffle");
    for (size_t i = 0; i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        if (d->err || !d->ntok)
            continue;
        const uint32_t *sg = m->sigs.a + (m->rlo + i) * (size_t)m->perms;
        for (size_t b = 0; b < nb; b++) {
            s[n] = (brec_t){fix_key(ty__band_key(sg, (int)b, m->o.rows)), d->g, (uint32_t)b};
            dest[n] = owner_of_key(m, s[n].key);
            n++;
        }
    }
    void *r = NULL;
    size_t nr = 0;
    rc = xchg(m, s, n, sizeof(brec_t), dest, &r, &nr, &m->ms.key_bytes);
    free(s);
    free(dest);
    if (rc)
        return rc;
    brec_t *br = r;
    qsort(br, nr, sizeof(brec_t), cmp_brec);
    pair_t *pairs = malloc((nr + 1) * sizeof(pair_t));
    dest = malloc((nr + 1) * sizeof(int));
    if (!pairs || !dest)
        abort_oom(m, "candidate pairs");
    size_t np = 0;
    for (size_t i = 0; i < nr; i++) {
        int isnew;
        slot_t *e = kmap_put(&m->keys, br[i].key, &isnew);
        if (!e)
            abort_oom(m, "band keys");
        if (isnew) {
            e->g = br[i].g;
            continue;
        }
        pairs[np] = (pair_t){br[i].g, e->g};
        dest[np++] = owner_of_doc(m, e->g);
    }
    free(r);
    /* to the owner of the first document: its shingle count and signature come back */
    rc = xchg(m, pairs, np, sizeof(pair_t), dest, &r, &nr, &m->ms.pair_bytes);
    free(pairs);
    free(dest);
    if (rc)
        return rc;
    pair_t *pr = r;
    qsort(pr, nr, sizeof(pair_t), cmp_pair);
    size_t rsz = 4 * sizeof(uint32_t) + (size_t)m->perms * sizeof(uint32_t);
    char *rep = malloc(nr * rsz + 1);
    dest = malloc((nr + 1) * sizeof(int));
    if (!rep || !dest)
        abort_oom(m, "signatures");
    size_t nrep = 0;
    for (size_t i = 0; i < nr; i++) {
        if (i && pr[i].g == pr[i - 1].g && pr[i].first == pr[i - 1].first)
            continue; /* the same first document in several bands: one link (dedup.c: seen) */
        size_t li = local_of(m, pr[i].first);
        uint32_t hdr[4] = {pr[i].g, pr[i].first, m->nsh.a[li], 0};
        char *o = rep + nrep * rsz;
        memcpy(o, hdr, sizeof hdr);
        memcpy(o + sizeof hdr, m->sigs.a + li * (size_t)m->perms,
               (size_t)m->perms * sizeof(uint32_t));
        dest[nrep++] = owner_of_doc(m, pr[i].g);
    }
    free(r);
    m->ms.pairs += nrep;
    rc = xchg(m, rep, nrep, rsz, dest, &r, &nr, &m->ms.pair_bytes);
    free(rep);
    free(dest);
    if (rc)
        return rc;
    for (size_t i = 0; i < nr; i++) {
        const char *o = (const char *)r + i * rsz;
        uint32_t hdr[4];
        memcpy(hdr, o, sizeof hdr);
        const uint32_t *y = (const uint32_t *)(const void *)(o + sizeof hdr);
        size_t lg = local_of(m, hdr[0]);
        const uint32_t *xs = m->sigs.a + lg * (size_t)m->perms;
        lnk_t L = {hdr[0], hdr[1], 0, 0}; /* the estimate of dedup.c */
        ty__near_estimate(xs, y, m->o.bands, m->o.rows, m->nsh.a[lg], hdr[2], &L.sim, &L.cont);
        if (ty_vec_push(*links, L))
            abort_oom(m, "links");
    }
    free(r);
    return TY_OK;
}

/* ---- spun mode ------------------------------------------------------------------------------
 *
 * A round is one of dedup.c's batches: the documents numbered [lo, lo + opts.batch). Its
 * decisions depend on the state left by the earlier batches (the minimizers and texts of the
 * documents indexed so far, the clusters) and on the whole batch (document frequencies count
 * it), so the rounds run one after the other, and within a round every rank takes a share:
 *   0. deal: the round's documents go to rank g mod N, their home (compressed text and
 *      facts), which tokenizes and sketches them again and aligns them (dedup.c phases A and
 *      B); it keeps their numbers of distinct minimizers and tokens, and answers for them
 *      when they are candidates later;
 *   1. key shuffle: {minimizer, doc, position} to the minimizer's owner, {exact key, doc} to
 *      the exact key's owner. The minimizer owner holds dedup.c's gmz for its keys (documents
 *      indexed so far, their postings up to max_df) and sees the whole batch's records, so it
 *      knows each minimizer's document frequency exactly as dedup.c does (indexed + whole
 *      batch); it answers which are boilerplate and, for the others, sends the document's
 *      rank the candidates (postings and the earlier documents of the batch), which that
 *      rank counts as dedup.c's count_shared() does (count, first and last position). The
 *      exact key owner finds the first indexed document, or the first of the batch, with
 *      the same key;
 *   2. the document's rank applies dedup.c's rules: min_shared, min_shared_frac of the
 *      smaller (the candidate's counts come from its home), the span, order by count then
 *      number, skip candidates whose cluster (union-find root at the start of the batch,
 *      asked of rank 0, which applies every link) already linked. It fetches the candidates that
 * can be tried — the list up to its max_candidates-th distinct root: a candidate is skipped only
 * for a root seen before, so no more can be tried — from the ranks that read them, and asks the
 * minimizer owners which of their minimizers are boilerplate now (their text is masked too);
 *   3. alignment and the link decision, dedup.c's verify() with the same expressions;
 *   4. MPI_Allgatherv of the round's links: the minimizer and exact key owners index the
 *      documents that got no link (the originals), in document order, as dedup.c's phase
 *      C; rank 0 applies the links (union-find, best links).
 * Every rule sees what dedup.c sees at the same point, whatever N: the output is the same.
 */

typedef struct { /* a round's document, as dealt (followed by its compressed text) */
    uint32_t g, ntok, len, clen;
    uint64_t ex_lo, ex_hi;
} pkg_t;

typedef struct { /* minimizer record */
    uint64_t h;
    uint32_t g, pos;
} krec_t;

typedef struct { /* boilerplate minimizer h of doc g */
    uint64_t h;
    uint32_t g, pad;
} hg_t;

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

typedef struct {
    uint32_t doc, cnt, lo, hi;
    uint32_t root; /* spun_fetch: its cluster at the start of the batch */
} cand_t;

typedef struct { /* a round's document on the rank it was dealt to */
    uint32_t g, ntok, len, clen, nmz, usable, same;
    uint64_t ex_lo, ex_hi;
    const char *ctext;
    ty_doc_t *doc;
    ty_seed_t *seeds;
    size_t nseeds;
    uint64_t *mz;
    uint32_t *mzpos;
    uint8_t *boil;
    size_t c0, nc; /* its candidates in sp->cands */
} bd_t;

typedef struct {
    uint32_t cand, len, clen;
    const char *ctext;
} ft_t;

struct spun {
    TY_VEC(bd_t) bd;
    uint32_t lo;    /* the round's first document */
    uint32_t *bdix; /* index in bd of each of the round's documents (NONE: not here) */
    size_t nbdix;
    TY_VEC(ty_doc_t *) docs; /* reused across rounds */
    char *pk, *ft;
    krec_t *kr; /* minimizer owner: the round's records, by (h, g) */
    size_t nkr;
    uint64_t *bh; /* ...their distinct minimizers and batch frequencies */
    uint32_t *bc;
    size_t nbh;
    xrec_t *xr; /* exact key owner: the round's records, by g */
    size_t nxr;
    kmap_t bex;
    TY_VEC(cand_t) cands;
    cand_t *cnt; /* counts of one document's candidates: open addressing on doc + 1 */
    size_t cnt_cap;
    TY_VEC(uint32_t) touched;
    TY_VEC(ft_t) fts;
    uint64_t *uq; /* distinct minimizers of the fetched candidates, and their flags */
    uint8_t *uqf;
    size_t nuq;
    ty_aligner_t *al;
    ty_doc_t *sdoc;
    ty_seed_t *sseeds;
    size_t nsseeds;
    TY_VEC(char) tbuf;
    TY_VEC(uint8_t) mask_a, mask_b, cov_a, cov_b;
};

static spun_t *spun_new(ty_mdedup_t *m)
{
    spun_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->al = ty_aligner_new(&m->to);
    s->sdoc = ty_doc_new();
    if (!s->al || !s->sdoc) {
        spun_free(s);
        return NULL;
    }
    return s;
}

static void spun_round_free(spun_t *s)
{
    for (size_t i = 0; i < s->bd.n; i++) {
        bd_t *b = &s->bd.a[i];
        free(b->seeds);
        free(b->mz);
        free(b->mzpos);
        free(b->boil);
    }
    s->bd.n = 0;
    free(s->pk);
    free(s->ft);
    free(s->kr);
    free(s->bh);
    free(s->bc);
    free(s->xr);
    free(s->uq);
    free(s->uqf);
    s->pk = s->ft = NULL;
    s->kr = NULL;
    s->bh = s->uq = NULL;
    s->bc = NULL;
    s->xr = NULL;
    s->uqf = NULL;
    s->nkr = s->nbh = s->nxr = s->nuq = 0;
    s->cands.n = s->fts.n = 0;
}

static void spun_free(spun_t *s)
{
    if (!s)
        return;
    spun_round_free(s);
    for (size_t i = 0; i < s->docs.n; i++)
        ty_doc_free(s->docs.a[i]);
    free(s->docs.a);
    free(s->bd.a);
    free(s->bdix);
    free(s->bex.a);
    free(s->cands.a);
    free(s->cnt);
    free(s->touched.a);
    free(s->fts.a);
    ty_aligner_free(s->al);
    ty_doc_free(s->sdoc);
    free(s->sseeds);
    free(s->tbuf.a);
    free(s->mask_a.a);
    free(s->mask_b.a);
    free(s->cov_a.a);
    free(s->cov_b.a);
    free(s);
}

/* -- the minimizer owner's table (dedup.c's gmz and postings pool) -- */

static kv_t *gmap_find(const gmap_t *t, uint64_t key)
{
    if (!t->n)
        return NULL;
    size_t s = (size_t)ty__mix64(key ^ 0x2545f491ULL) & (t->cap - 1);
    while (t->a[s].key) {
        if (t->a[s].key == key)
            return &t->a[s];
        s = (s + 1) & (t->cap - 1);
    }
    return NULL;
}

static kv_t *gmap_put(gmap_t *t, uint64_t key, int *isnew)
{
    if ((t->n + 1) * 4 > t->cap * 3) {
        size_t nc = t->cap ? t->cap * 2 : 4096;
        kv_t *na = calloc(nc, sizeof(kv_t));
        if (!na)
            return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->a[i].key)
                continue;
            size_t s = (size_t)ty__mix64(t->a[i].key ^ 0x2545f491ULL) & (nc - 1);
            while (na[s].key)
                s = (s + 1) & (nc - 1);
            na[s] = t->a[i];
        }
        free(t->a);
        t->a = na;
        t->cap = nc;
    }
    size_t s = (size_t)ty__mix64(key ^ 0x2545f491ULL) & (t->cap - 1);
    while (t->a[s].key) {
        if (t->a[s].key == key) {
            *isnew = 0;
            return &t->a[s];
        }
        s = (s + 1) & (t->cap - 1);
    }
    t->a[s] = (kv_t){key, 0, 0};
    t->n++;
    *isnew = 1;
    return &t->a[s];
}

/* Index minimizer h of original g: dedup.c's index_doc() for one key. */
static void gmz_index(ty_mdedup_t *m, uint64_t h, uint32_t g)
{
    const uint32_t max_df = m->o.max_df;
    int isnew;
    kv_t *s = gmap_put(&m->gmz, h, &isnew);
    if (!s)
        abort_oom(m, "minimizer table");
    if (isnew) {
        s->val = 1;
        s->aux = g;
        return;
    }
    if (s->val > max_df) {
        if (s->val < NONE)
            s->val++;
        return;
    }
    s->val++;
    if (s->val > max_df) {
        if (s->val - 1 >= 2)
            pool_free(&m->pool, s->aux);
        s->aux = NONE;
        return;
    }
    if (s->val == 2) {
        uint32_t first = s->aux, blk = pool_alloc(&m->pool, 0);
        if (blk == NONE)
            abort_oom(m, "postings");
        uint32_t *p = m->pool.v.a + blk;
        p[0] = 2;
        p[2] = first;
        p[3] = g;
        s->aux = blk;
        return;
    }
    uint32_t *p = m->pool.v.a + s->aux;
    uint32_t cls = p[1], n = p[0];
    if (n == (4u << cls)) {
        uint32_t nb = pool_alloc(&m->pool, (int)cls + 1);
        if (nb == NONE)
            abort_oom(m, "postings");
        p = m->pool.v.a + s->aux;
        uint32_t *q = m->pool.v.a + nb;
        memcpy(q + 2, p + 2, n * sizeof(uint32_t));
        q[0] = n;
        pool_free(&m->pool, s->aux);
        s->aux = nb;
        p = q;
    }
    p[2 + p[0]++] = g;
}

static const slot_t *kmap_get(const kmap_t *k, uint64_t key)
{
    if (!k->n)
        return NULL;
    size_t s = (size_t)ty__mix64(key ^ 0x5bd1e995ULL) & (k->cap - 1);
    while (k->a[s].key) {
        if (k->a[s].key == key)
            return &k->a[s];
        s = (s + 1) & (k->cap - 1);
    }
    return NULL;
}

/* -- helpers -- */

/* One more shared minimizer (at position pos) with document doc: dedup.c's cnt_add(). */
static void cnt_add(ty_mdedup_t *m, uint32_t doc, uint32_t pos)
{
    spun_t *t = m->sp;
    if ((t->touched.n + 1) * 2 > t->cnt_cap) { /* grow, keeping the counts */
        size_t nc = t->cnt_cap ? t->cnt_cap * 4 : 4096;
        cand_t *na = calloc(nc, sizeof(cand_t));
        if (!na)
            abort_oom(m, "candidate counts");
        for (size_t i = 0; i < t->touched.n; i++) {
            cand_t e = t->cnt[t->touched.a[i]];
            size_t s = (size_t)(ty__mix64(e.doc) & (nc - 1));
            while (na[s].doc)
                s = (s + 1) & (nc - 1);
            na[s] = e;
            t->touched.a[i] = (uint32_t)s;
        }
        free(t->cnt);
        t->cnt = na;
        t->cnt_cap = nc;
    }
    size_t mask = t->cnt_cap - 1, s = (size_t)(ty__mix64(doc + 1ULL) & mask);
    while (t->cnt[s].doc && t->cnt[s].doc != doc + 1)
        s = (s + 1) & mask;
    cand_t *c = &t->cnt[s];
    if (!c->doc) {
        *c = (cand_t){doc + 1, 0, pos, pos, 0};
        if (ty_vec_push(t->touched, (uint32_t)s))
            abort_oom(m, "candidate counts");
    }
    c->cnt++;
    if (pos < c->lo)
        c->lo = pos;
    if (pos > c->hi)
        c->hi = pos;
}

static int cmp_cand(const void *x, const void *y) /* dedup.c: count down, then number */
{
    const cand_t *a = x, *b = y;
    if (a->cnt != b->cnt)
        return a->cnt < b->cnt ? 1 : -1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_ft(const void *x, const void *y)
{
    const ft_t *a = x, *b = y;
    return a->cand < b->cand ? -1 : a->cand > b->cand;
}

static size_t find_u64(const uint64_t *a, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == h ? lo : SIZE_MAX;
}

static bd_t *find_bd(spun_t *s, uint32_t g)
{
    size_t i = g - s->lo;
    return g >= s->lo && i < s->nbdix && s->bdix[i] != NONE ? &s->bd.a[s->bdix[i]] : NULL;
}

/* Sort minimizer records by (h, g): a counting sort on g (a round's numbers), then a
 * stable radix sort on h, 16 bits at a time. */
static void sort_krec(ty_mdedup_t *m, krec_t *a, size_t n, uint32_t lo, size_t span)
{
    krec_t *t = malloc((n + 1) * sizeof(krec_t));
    size_t *c = calloc((span > 65536 ? span : 65536) + 1, sizeof(size_t));
    if (!t || !c)
        abort_oom(m, "minimizer records");
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
}

static int in_sorted(const uint32_t *a, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == x;
}

static inline size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* dedup.c's boiler_mask(): keys (sorted) with flag 1 are boilerplate. */
static size_t bmask(int k, const ty_seed_t *s, size_t ns, size_t ntok, const uint64_t *keys,
                    const uint8_t *flag, size_t nk, uint8_t *mask)
{
    memset(mask, 0, ntok);
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < ns; i++) {
        size_t p = s[i].pos, x = find_u64(keys, nk, fix_key(s[i].hash));
        if (x == SIZE_MAX || !flag[x]) {
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

/* Decompress and load a text into d (and its seeds, if seeds). */
static void load_text(ty_mdedup_t *m, ty_doc_t *d, const char *ctext, uint32_t clen, uint32_t len,
                      ty_seed_t **seeds, size_t *nseeds)
{
    spun_t *s = m->sp;
    if (ty_vec_reserve(s->tbuf, (size_t)len + 1))
        abort_oom(m, "texts");
    size_t got = ZSTD_decompressDCtx(m->dctx, s->tbuf.a, (size_t)len + 1, ctext, clen);
    if (ZSTD_isError(got) || got != len || ty_doc_load_mem(d, "", s->tbuf.a, len, &m->to)) {
        fprintf(stderr, "tongyuan: rank %d: a shipped text does not load; aborting the MPI job\n",
                m->rank);
        MPI_Abort(m->comm, 2);
    }
    if (seeds) {
        free(*seeds);
        *seeds = NULL;
        if (ty_sketch(d, m->o.k, m->o.w, seeds, nseeds))
            abort_oom(m, "minimizers");
    }
}

/* -- the steps -- */

/* Step 0: deal the round's documents; sketch the ones dealt here (dedup.c phase A). */
static int spun_deal(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    int p = m->size;
    int *sc = calloc((size_t)p * 2, sizeof(int));
    if (!sc)
        abort_oom(m, "deal");
    int *sd = sc + p;
    for (size_t i = 0; i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        if (!d->err && d->ntok)
            sc[d->g % (uint32_t)p] += (int)(sizeof(pkg_t) + pad8(d->clen));
    }
    size_t off = 0;
    for (int r = 0; r < p; r++) {
        sd[r] = (int)off;
        off += (size_t)sc[r];
    }
    char *sbuf = calloc(off + 1, 1);
    if (!sbuf)
        abort_oom(m, "deal");
    for (size_t i = 0; i < m->rn; i++) {
        const own_t *d = &m->own.a[m->rlo + i];
        if (d->err || !d->ntok)
            continue;
        int r = (int)(d->g % (uint32_t)p);
        pkg_t h = {d->g, d->ntok, d->len, d->clen, d->ex_lo, d->ex_hi};
        memcpy(sbuf + sd[r], &h, sizeof h);
        memcpy(sbuf + sd[r] + sizeof h, m->ctexts.a + d->coff, d->clen);
        sd[r] += (int)(sizeof h + pad8(d->clen));
    }
    size_t n = 0;
    int rc = xchg_raw(m, sbuf, sc, &s->pk, &n, &m->ms.pair_bytes);
    free(sbuf);
    free(sc);
    if (rc)
        return rc;
    for (size_t o = 0; o < n;) {
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
        b.same = NONE;
        b.ctext = s->pk + o + sizeof h;
        o += sizeof h + pad8(h.clen);
        if (s->docs.n <= s->bd.n) {
            ty_doc_t *d = ty_doc_new();
            if (!d || ty_vec_push(s->docs, d))
                abort_oom(m, "documents");
        }
        b.doc = s->docs.a[s->bd.n];
        load_text(m, b.doc, b.ctext, b.clen, b.len, &b.seeds, &b.nseeds);
        ty_seed_t *t = malloc((b.nseeds + 1) * sizeof(ty_seed_t));
        b.mz = malloc((b.nseeds + 1) * sizeof(uint64_t));
        b.mzpos = malloc((b.nseeds + 1) * sizeof(uint32_t));
        b.boil = calloc(b.nseeds + 1, 1);
        if (!t || !b.mz || !b.mzpos || !b.boil)
            abort_oom(m, "minimizers");
        for (size_t i = 0; i < b.nseeds; i++)
            t[i] = (ty_seed_t){fix_key(b.seeds[i].hash), b.seeds[i].pos};
        qsort(t, b.nseeds, sizeof(ty_seed_t), cmp_seed);
        size_t k = 0;
        for (size_t i = 0; i < b.nseeds; i++)
            if (!k || b.mz[k - 1] != t[i].hash) {
                b.mz[k] = t[i].hash;
                b.mzpos[k++] = t[i].pos;
            }
        free(t);
        b.nmz = (uint32_t)k;
        if (b.g - s->lo >= s->nbdix)
            abort_oom(m, "a document outside its round"); /* cannot happen */
        s->bdix[b.g - s->lo] = (uint32_t)s->bd.n;
        if (ty_vec_push(s->bd, b))
            abort_oom(m, "documents");
    }
    /* received by sending rank, each in its order: by document number already. This rank
     * is the documents' home: it answers for their facts (spun_filter) */
    for (size_t i = 0; i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        size_t h = b->g / (uint32_t)p;
        m->hf[2 * h] = b->nmz;
        m->hf[2 * h + 1] = b->ntok;
    }
    return TY_OK;
}

/* Steps 1 and 2: the key shuffle, the owners' answers, the candidates of each document. */
static int spun_keys(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t nk = 0;
    for (size_t i = 0; i < s->bd.n; i++)
        nk += s->bd.a[i].nmz;
    krec_t *kr = malloc((nk + 1) * sizeof(krec_t));
    int *dest = malloc((nk + 1) * sizeof(int));
    xrec_t *xr = malloc((s->bd.n + 1) * sizeof(xrec_t));
    int *xdest = malloc((s->bd.n + 1) * sizeof(int));
    if (!kr || !dest || !xr || !xdest)
        abort_oom(m, "key shuffle");
    nk = 0;
    for (size_t i = 0; i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        for (size_t j = 0; j < b->nmz; j++) {
            kr[nk] = (krec_t){b->mz[j], b->g, b->mzpos[j]};
            dest[nk++] = owner_of_key(m, b->mz[j]);
        }
        xr[i] = (xrec_t){fix_key(b->ex_lo), b->ex_hi, b->g, 0};
        xdest[i] = owner_of_key(m, xr[i].key);
    }
    void *r = NULL;
    size_t nr = 0;
    int rc = xchg(m, kr, nk, sizeof(krec_t), dest, &r, &nr, &m->ms.key_bytes);
    free(kr);
    free(dest);
    if (!rc) {
        s->kr = r;
        s->nkr = nr;
        rc = xchg(m, xr, s->bd.n, sizeof(xrec_t), xdest, &r, &nr, &m->ms.key_bytes);
    }
    free(xr);
    free(xdest);
    if (rc)
        return rc;
    s->xr = r;
    s->nxr = nr;
    /* the minimizer owner: batch frequencies, boilerplate, candidate counts */
    krec_t *k = s->kr;
    sort_krec(m, k, s->nkr, s->lo, m->round_docs);
    s->bh = malloc((s->nkr + 1) * sizeof(uint64_t));
    s->bc = malloc((s->nkr + 1) * sizeof(uint32_t));
    if (!s->bh || !s->bc)
        abort_oom(m, "minimizer records");
    /* per usable record with candidates, to the document's rank: [g, pos, n, cand x n] */
    u32vec_t *cl = calloc((size_t)m->size, sizeof(*cl));
    if (!cl)
        abort_oom(m, "candidate lists");
    TY_VEC(hg_t) hb = {0};
    TY_VEC(int) hbd = {0};
    for (size_t a = 0, b; a < s->nkr; a = b) {
        for (b = a + 1; b < s->nkr && k[b].h == k[a].h; b++)
            ;
        s->bh[s->nbh] = k[a].h;
        s->bc[s->nbh++] = (uint32_t)(b - a);
        const kv_t *e = gmap_find(&m->gmz, k[a].h);
        uint64_t f = (uint64_t)(e ? e->val : 0) + (b - a);
        if (f > m->o.max_df) {
            for (size_t i = a; i < b; i++) {
                if (ty_vec_push(hb, ((hg_t){k[i].h, k[i].g, 0})) ||
                    ty_vec_push(hbd, (int)(k[i].g % (uint32_t)m->size)))
                    abort_oom(m, "boilerplate answers");
            }
            continue;
        }
        const uint32_t *post = NULL;
        uint32_t np = 0, one = 0;
        if (e && e->val == 1) {
            one = e->aux;
            post = &one;
            np = 1;
        } else if (e && e->val > 1) {
            post = m->pool.v.a + e->aux + 2;
            np = m->pool.v.a[e->aux];
        }
        for (size_t i = a; i < b; i++) {
            size_t n = np + (i - a);
            if (!n)
                continue;
            u32vec_t *v = &cl[k[i].g % (uint32_t)m->size];
            if (ty_vec_reserve(*v, v->n + 3 + n))
                abort_oom(m, "candidate lists");
            v->a[v->n++] = k[i].g;
            v->a[v->n++] = k[i].pos;
            v->a[v->n++] = (uint32_t)n;
            for (uint32_t x = 0; x < np; x++)
                v->a[v->n++] = post[x];
            for (size_t x = a; x < i; x++) /* the earlier documents of the batch */
                v->a[v->n++] = k[x].g;
        }
    }
    int *cls = calloc((size_t)m->size, sizeof(int));
    size_t ncl = 0;
    for (int q = 0; q < m->size; q++)
        ncl += cl[q].n;
    if (ncl * 4 > (size_t)INT32_MAX)
        abort_oom(m, "an exchange of more than 2 GB (use a smaller --batch)");
    uint32_t *clb = malloc((ncl + 1) * sizeof(uint32_t));
    if (!cls || !clb)
        abort_oom(m, "candidate lists");
    ncl = 0;
    for (int q = 0; q < m->size; q++) {
        if (cl[q].n)
            memcpy(clb + ncl, cl[q].a, cl[q].n * sizeof(uint32_t));
        ncl += cl[q].n;
        cls[q] = (int)(cl[q].n * sizeof(uint32_t));
        free(cl[q].a);
    }
    free(cl);
    /* the exact key owner: the first indexed document, else the first of the batch */
    qsort(s->xr, s->nxr, sizeof(xrec_t), cmp_xrec);
    free(s->bex.a);
    memset(&s->bex, 0, sizeof s->bex);
    pair_t *sm = malloc((s->nxr + 1) * sizeof(pair_t));
    int *smd = malloc((s->nxr + 1) * sizeof(int));
    if (!sm || !smd)
        abort_oom(m, "exact keys");
    size_t nsm = 0;
    for (size_t i = 0; i < s->nxr; i++) {
        const xrec_t *x = &s->xr[i];
        int isnew;
        slot_t *be = kmap_put(&s->bex, x->key, &isnew);
        if (!be)
            abort_oom(m, "exact keys");
        uint32_t first = NONE;
        if (isnew) {
            be->g = x->g;
            be->hi = x->hi;
        } else if (be->hi == x->hi) {
            first = be->g;
        }
        const slot_t *e = kmap_get(&m->keys, x->key);
        if (e && e->hi == x->hi)
            first = e->g;
        if (first != NONE) {
            sm[nsm] = (pair_t){x->g, first};
            smd[nsm++] = (int)(x->g % (uint32_t)m->size);
        }
    }
    void *rb = NULL, *rs = NULL;
    char *rcg = NULL;
    size_t nrb = 0, nrs = 0, nrc = 0;
    rc = xchg(m, hb.a, hb.n, sizeof(hg_t), hbd.a, &rb, &nrb, &m->ms.key_bytes);
    if (!rc)
        rc = xchg(m, sm, nsm, sizeof(pair_t), smd, &rs, &nrs, &m->ms.key_bytes);
    if (!rc)
        rc = xchg_raw(m, (const char *)clb, cls, &rcg, &nrc, &m->ms.pair_bytes);
    free(hb.a);
    free(hbd.a);
    free(sm);
    free(smd);
    free(clb);
    free(cls);
    if (rc) {
        free(rb);
        free(rs);
        free(rcg);
        return rc;
    }
    /* the document's rank: boilerplate flags, exact copies, candidate counts summed */
    for (size_t i = 0; i < nrb; i++) {
        const hg_t *x = (const hg_t *)rb + i;
        bd_t *b = find_bd(s, x->g);
        size_t j = b ? find_u64(b->mz, b->nmz, x->h) : SIZE_MAX;
        if (j != SIZE_MAX)
            b->boil[j] = 1;
    }
    for (size_t i = 0; i < s->bd.n; i++) {
        bd_t *b = &s->bd.a[i];
        uint32_t nb = 0;
        for (size_t j = 0; j < b->nmz; j++)
            nb += b->boil[j];
        b->usable = b->nmz - nb;
    }
    for (size_t i = 0; i < nrs; i++) {
        const pair_t *x = (const pair_t *)rs + i;
        bd_t *b = find_bd(s, x->g);
        if (b)
            b->same = x->first;
    }
    /* the candidate lists, grouped by document (counting sort), counted as dedup.c's
     * count_shared() does */
    const uint32_t *w = (const uint32_t *)(const void *)rcg;
    size_t nw = nrc / sizeof(uint32_t), nbd = s->bd.n;
    size_t *start = calloc(nbd + 2, sizeof(size_t));
    size_t nrec = 0;
    if (!start)
        abort_oom(m, "candidate lists");
    for (size_t o = 0; o < nw; o += 3 + w[o + 2], nrec++)
        start[find_bd(s, w[o]) - s->bd.a + 1]++;
    for (size_t i = 0; i < nbd; i++)
        start[i + 1] += start[i];
    size_t *at = malloc((nrec + 1) * sizeof(size_t)), *fill = calloc(nbd + 1, sizeof(size_t));
    if (!at || !fill)
        abort_oom(m, "candidate lists");
    for (size_t o = 0; o < nw; o += 3 + w[o + 2]) {
        size_t j = (size_t)(find_bd(s, w[o]) - s->bd.a);
        at[start[j] + fill[j]++] = o;
    }
    free(fill);
    for (size_t j = 0; j < nbd; j++) {
        bd_t *b = &s->bd.a[j];
        b->c0 = s->cands.n;
        if (b->same != NONE)
            continue;
        for (size_t q = start[j]; q < start[j + 1]; q++) {
            const uint32_t *x = w + at[q];
            for (uint32_t i = 0; i < x[2]; i++)
                cnt_add(m, x[3 + i], x[1]);
        }
        for (size_t t = 0; t < s->touched.n; t++) {
            cand_t *e = &s->cnt[s->touched.a[t]];
            cand_t x = *e;
            e->doc = 0;
            x.doc--;
            if (x.cnt >= m->o.min_shared && ty_vec_push(s->cands, x))
                abort_oom(m, "candidates");
        }
        s->touched.n = 0;
        b->nc = s->cands.n - b->c0;
    }
    free(start);
    free(at);
    if (!rc)
        rc = spun_filter(m);
    free(rb);
    free(rs);
    free(rcg);
    return rc;
}

typedef struct { /* a candidate's facts, from its home rank */
    uint32_t cand, nmz, ntok, pad;
} fct_t;

static int cmp_fct(const void *x, const void *y)
{
    const fct_t *a = x, *b = y;
    return a->cand < b->cand ? -1 : a->cand > b->cand;
}

/* Sorted distinct candidate numbers (those below lim) of the round's documents here. */
static uint32_t *cand_ids(ty_mdedup_t *m, uint32_t lim, size_t *n)
{
    spun_t *s = m->sp;
    uint32_t *ids = malloc((s->cands.n + 1) * sizeof(uint32_t));
    if (!ids)
        abort_oom(m, "candidates");
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

/* The candidates' distinct minimizers and tokens, asked of their home ranks (g mod N, which
 * sketched them in their round), then dedup.c's filters: min_shared_frac of the smaller
 * document's usable minimizers, and the span. */
static int spun_filter(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    uint32_t p = (uint32_t)m->size;
    size_t nid = 0;
    uint32_t *ids = cand_ids(m, NONE, &nid);
    pair_t *rq = malloc((nid + 1) * sizeof(pair_t));
    int *dest = malloc((nid + 1) * sizeof(int));
    if (!rq || !dest)
        abort_oom(m, "candidate facts");
    for (size_t i = 0; i < nid; i++) {
        rq[i] = (pair_t){ids[i], (uint32_t)m->rank};
        dest[i] = (int)(ids[i] % p);
    }
    free(ids);
    void *r = NULL;
    size_t nr = 0;
    int rc = xchg(m, rq, nid, sizeof(pair_t), dest, &r, &nr, &m->ms.pair_bytes);
    free(rq);
    free(dest);
    if (rc)
        return rc;
    const pair_t *q = r;
    fct_t *f = malloc((nr + 1) * sizeof(fct_t));
    dest = malloc((nr + 1) * sizeof(int));
    if (!f || !dest)
        abort_oom(m, "candidate facts");
    for (size_t i = 0; i < nr; i++) {
        size_t h = q[i].g / p;
        f[i] = (fct_t){q[i].g, m->hf[2 * h], m->hf[2 * h + 1], 0};
        dest[i] = (int)q[i].first;
    }
    free(r);
    rc = xchg(m, f, nr, sizeof(fct_t), dest, &r, &nr, &m->ms.pair_bytes);
    free(f);
    free(dest);
    if (rc)
        return rc;
    fct_t *fa = r;
    if (nr > 1)
        qsort(fa, nr, sizeof(fct_t), cmp_fct);
    size_t w = 0;
    for (size_t j = 0; j < s->bd.n; j++) {
        bd_t *b = &s->bd.a[j];
        size_t c0 = w;
        for (size_t c = b->c0; c < b->c0 + b->nc; c++) {
            cand_t x = s->cands.a[c];
            fct_t key = {x.doc, 0, 0, 0};
            const fct_t *e = bsearch(&key, fa, nr, sizeof(fct_t), cmp_fct);
            if (!e)
                abort_oom(m, "a candidate without facts"); /* cannot happen */
            uint32_t nm = e->nmz, small = b->usable < nm ? b->usable : nm;
            if ((double)x.cnt < m->o.min_shared_frac * small)
                continue;
            /* the shared minimizers must spread over enough of the new document (dedup.c) */
            uint32_t nti = e->ntok, mn = nti < b->ntok ? nti : b->ntok;
            if ((double)(x.hi - x.lo + (uint32_t)m->o.k) < 0.65 * m->o.min_containment * mn)
                continue;
            s->cands.a[w++] = x;
        }
        b->c0 = c0;
        b->nc = w - c0;
    }
    s->cands.n = w;
    free(r);
    return TY_OK;
}

/* The union-find roots (at the start of the batch) of the candidates indexed before it,
 * asked of rank 0, which applies every link; a candidate of the batch is its own root. */
static int spun_roots(ty_mdedup_t *m, uint32_t lo)
{
    spun_t *s = m->sp;
    int p = m->size;
    size_t nid = 0;
    uint32_t *ids = cand_ids(m, lo, &nid);
    int c = (int)nid, *cnt = NULL, *dsp = NULL;
    uint32_t *all = NULL;
    if (m->rank == 0) {
        cnt = calloc((size_t)p * 2, sizeof(int));
        if (!cnt)
            abort_oom(m, "roots");
        dsp = cnt + p;
    } else {
        m->ms.gather_bytes += 2 * (uint64_t)c * sizeof(uint32_t);
    }
    int mrc = MPI_Gather(&c, 1, MPI_INT, cnt, 1, MPI_INT, 0, m->comm);
    size_t tot = 0;
    if (m->rank == 0) {
        for (int r = 0; r < p; r++) {
            dsp[r] = (int)tot;
            tot += (size_t)cnt[r];
        }
        if (!(all = malloc((tot + 1) * sizeof(uint32_t))))
            abort_oom(m, "roots");
    }
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Gatherv(ids, c, MPI_UINT32_T, all, cnt, dsp, MPI_UINT32_T, 0, m->comm);
    if (mrc == MPI_SUCCESS && m->rank == 0)
        for (size_t i = 0; i < tot; i++)
            all[i] = ty__clu_find(&m->clu, all[i]);
    uint32_t *roots = malloc((nid + 1) * sizeof(uint32_t));
    if (!roots)
        abort_oom(m, "roots");
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Scatterv(all, cnt, dsp, MPI_UINT32_T, roots, c, MPI_UINT32_T, 0, m->comm);
    free(cnt);
    free(all);
    if (mrc != MPI_SUCCESS) {
        free(ids);
        free(roots);
        return mpi_fail(m, mrc, "Gatherv");
    }
    for (size_t i = 0; i < s->cands.n; i++) {
        cand_t *x = &s->cands.a[i];
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
        x->root = roots[a];
    }
    free(ids);
    free(roots);
    return TY_OK;
}

/* Step 2, second half: fetch the candidates that can be tried from the ranks that read them,
 * sketch them, and ask the minimizer owners which of their minimizers are boilerplate. */
static int spun_fetch(ty_mdedup_t *m, uint32_t lo)
{
    spun_t *s = m->sp;
    int rc = spun_roots(m, lo);
    if (rc)
        return rc;
    TY_VEC(uint32_t) need = {0};
    TY_VEC(uint32_t) roots = {0};
    for (size_t i = 0; i < s->bd.n; i++) {
        bd_t *b = &s->bd.a[i];
        if (b->nc > 1)
            qsort(s->cands.a + b->c0, b->nc, sizeof(cand_t), cmp_cand);
        /* the list up to its max_candidates-th distinct root: the first candidate of each
         * root is always tried (only a root linked before is skipped), so the loop in
         * spun_round() has tried max_candidates by then */
        roots.n = 0;
        for (size_t c = 0; c < b->nc && roots.n < (size_t)m->o.max_candidates; c++) {
            uint32_t d = s->cands.a[b->c0 + c].doc, root = s->cands.a[b->c0 + c].root;
            int seen = 0;
            for (size_t r = 0; r < roots.n && !seen; r++)
                seen = roots.a[r] == root;
            if ((!seen && ty_vec_push(roots, root)) || ty_vec_push(need, d))
                abort_oom(m, "candidates");
        }
    }
    free(roots.a);
    if (need.n > 1)
        qsort(need.a, need.n, sizeof(uint32_t), cmp_u32);
    size_t nn = 0;
    for (size_t i = 0; i < need.n; i++)
        if (!nn || need.a[nn - 1] != need.a[i])
            need.a[nn++] = need.a[i];
    pair_t *rq = malloc((nn + 1) * sizeof(pair_t));
    int *dest = malloc((nn + 1) * sizeof(int));
    if (!rq || !dest)
        abort_oom(m, "candidate requests");
    for (size_t i = 0; i < nn; i++) {
        rq[i] = (pair_t){need.a[i], (uint32_t)m->rank};
        dest[i] = owner_of_doc(m, need.a[i]);
    }
    free(need.a);
    void *r = NULL;
    size_t nr = 0;
    rc = xchg(m, rq, nn, sizeof(pair_t), dest, &r, &nr, &m->ms.pair_bytes);
    free(rq);
    free(dest);
    if (rc)
        return rc;
    /* the reading rank sends the compressed texts */
    int p = m->size;
    int *sc = calloc((size_t)p * 2, sizeof(int));
    if (!sc)
        abort_oom(m, "texts");
    int *sd = sc + p;
    const pair_t *q = r;
    for (size_t i = 0; i < nr; i++)
        sc[q[i].first] += (int)(sizeof(th_t) + pad8(m->own.a[local_of(m, q[i].g)].clen));
    size_t off = 0;
    for (int k = 0; k < p; k++) {
        sd[k] = (int)off;
        off += (size_t)sc[k];
    }
    if (off > (size_t)INT32_MAX)
        abort_oom(m, "an exchange of more than 2 GB (use a smaller --batch)");
    char *sbuf = calloc(off + 1, 1);
    if (!sbuf)
        abort_oom(m, "texts");
    for (size_t i = 0; i < nr; i++) {
        const own_t *d = &m->own.a[local_of(m, q[i].g)];
        th_t h = {q[i].g, d->len, d->clen, 0};
        int k = (int)q[i].first;
        memcpy(sbuf + sd[k], &h, sizeof h);
        memcpy(sbuf + sd[k] + sizeof h, m->ctexts.a + d->coff, d->clen);
        sd[k] += (int)(sizeof h + pad8(d->clen));
    }
    free(r);
    size_t n = 0;
    rc = xchg_raw(m, sbuf, sc, &s->ft, &n, &m->ms.pair_bytes);
    free(sbuf);
    free(sc);
    if (rc)
        return rc;
    TY_VEC(uint64_t) hs = {0};
    for (size_t o = 0; o < n;) {
        th_t h;
        memcpy(&h, s->ft + o, sizeof h);
        ft_t f = {h.cand, h.len, h.clen, s->ft + o + sizeof h};
        o += sizeof h + pad8(h.clen);
        if (ty_vec_push(s->fts, f))
            abort_oom(m, "texts");
        load_text(m, s->sdoc, f.ctext, f.clen, f.len, &s->sseeds, &s->nsseeds);
        if (ty_vec_reserve(hs, hs.n + s->nsseeds + 1))
            abort_oom(m, "minimizers");
        for (size_t i = 0; i < s->nsseeds; i++)
            hs.a[hs.n++] = fix_key(s->sseeds[i].hash);
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
    s->uqf = calloc(nu + 1, 1);
    fq_t *fq = malloc((nu + 1) * sizeof(fq_t));
    dest = malloc((nu + 1) * sizeof(int));
    if (!s->uqf || !fq || !dest)
        abort_oom(m, "boilerplate queries");
    for (size_t i = 0; i < nu; i++) {
        fq[i] = (fq_t){s->uq[i], (uint32_t)i, (uint32_t)m->rank};
        dest[i] = owner_of_key(m, s->uq[i]);
    }
    rc = xchg(m, fq, nu, sizeof(fq_t), dest, &r, &nr, &m->ms.key_bytes);
    free(fq);
    free(dest);
    if (rc)
        return rc;
    /* the owner: indexed documents + the whole batch, as dedup.c's df_of() */
    const fq_t *x = r;
    fa_t *fa = malloc((nr + 1) * sizeof(fa_t));
    dest = malloc((nr + 1) * sizeof(int));
    if (!fa || !dest)
        abort_oom(m, "boilerplate answers");
    for (size_t i = 0; i < nr; i++) {
        const kv_t *e = gmap_find(&m->gmz, x[i].h);
        size_t j = find_u64(s->bh, s->nbh, x[i].h);
        uint64_t f = (uint64_t)(e ? e->val : 0) + (j != SIZE_MAX ? s->bc[j] : 0);
        fa[i] = (fa_t){x[i].tag, f > m->o.max_df};
        dest[i] = (int)x[i].src;
    }
    free(r);
    rc = xchg(m, fa, nr, sizeof(fa_t), dest, &r, &nr, &m->ms.key_bytes);
    free(fa);
    free(dest);
    if (rc)
        return rc;
    for (size_t i = 0; i < nr; i++) {
        const fa_t *a = (const fa_t *)r + i;
        if (a->tag < nu)
            s->uqf[a->tag] = (uint8_t)a->flag;
    }
    free(r);
    return TY_OK;
}

/* dedup.c's verify() (not exact): align candidate d against b; push the link if made. */
static int spun_verify(ty_mdedup_t *m, bd_t *b, uint32_t d, lvec_t *links)
{
    spun_t *s = m->sp;
    ft_t key = {d, 0, 0, NULL};
    const ft_t *f = s->fts.n ? bsearch(&key, s->fts.a, s->fts.n, sizeof(ft_t), cmp_ft) : NULL;
    if (!f) {
        fprintf(stderr, "tongyuan: rank %d: candidate %u was not fetched; aborting the MPI job\n",
                m->rank, d);
        MPI_Abort(m->comm, 2);
        return TY_EINVAL;
    }
    load_text(m, s->sdoc, f->ctext, f->clen, f->len, &s->sseeds, &s->nsseeds);
    const ty_doc_t *src = s->sdoc;
    const ty_passage_t *ps = NULL;
    size_t np = 0;
    m->ms.pairs++;
    int rc = ty_compare(s->al, src, b->doc, &ps, &np);
    if (rc) {
        snprintf(m->err, sizeof m->err, "rank %d: aligning a candidate: %s", m->rank,
                 ty_strerror(rc));
        return rc;
    }
    if (!np)
        return 0;
    size_t na = ty_doc_ntokens(src), nb = b->ntok;
    if (ty_vec_reserve(s->mask_a, na + 1) || ty_vec_reserve(s->mask_b, nb + 1) ||
        ty_vec_reserve(s->cov_a, na + 1) || ty_vec_reserve(s->cov_b, nb + 1))
        abort_oom(m, "aligning a candidate");
    size_t ba = bmask(m->o.k, s->sseeds, s->nsseeds, na, s->uq, s->uqf, s->nuq, s->mask_a.a);
    size_t bb = bmask(m->o.k, b->seeds, b->nseeds, nb, b->mz, b->boil, b->nmz, s->mask_b.a);
    memset(s->cov_a.a, 0, na);
    memset(s->cov_b.a, 0, nb);
    size_t matched = 0;
    for (size_t p = 0; p < np; p++) {
        memset(s->cov_a.a + ps[p].src_tok_beg, 1, ps[p].src_tok_end - ps[p].src_tok_beg);
        memset(s->cov_b.a + ps[p].sus_tok_beg, 1, ps[p].sus_tok_end - ps[p].sus_tok_beg);
        matched += ps[p].matched;
    }
    size_t ca = 0, cb = 0;
    for (size_t t = 0; t < na; t++)
        ca += s->cov_a.a[t] & !s->mask_a.a[t];
    for (size_t t = 0; t < nb; t++)
        cb += s->cov_b.a[t] & !s->mask_b.a[t];
    size_t ua = na - ba, ub = nb - bb;
    size_t us = ua < ub ? ua : ub, cs = ua < ub ? ca : cb;
    if (us < (size_t)(m->to.min_len > 1 ? m->to.min_len : 1))
        return 0;
    double cont = (double)cs / (double)us;
    if (cont < m->o.min_containment)
        return 0;
    size_t mm = na < nb ? na : nb;
    if (matched > mm)
        matched = mm;
    lnk_t L = {b->g, d, (float)(2.0 * (double)matched / (double)(na + nb)), (float)cont};
    if (ty_vec_push(*links, L))
        abort_oom(m, "links");
    return 1;
}

static int cmp_lnk(const void *x, const void *y)
{
    const lnk_t *a = x, *b = y;
    if (a->g != b->g)
        return a->g < b->g ? -1 : 1;
    return a->other < b->other ? -1 : a->other > b->other;
}

/* One round of spun mode: *links gets the round's links, all of them, on every rank. */
static int spun_round(ty_mdedup_t *m, uint64_t lo, lvec_t *links)
{
    spun_t *s = m->sp;
    s->lo = (uint32_t)lo;
    if (!s->bdix) {
        s->nbdix = m->round_docs;
        if (!(s->bdix = malloc(s->nbdix * sizeof(uint32_t))))
            abort_oom(m, "documents");
    }
    memset(s->bdix, 0xff, s->nbdix * sizeof(uint32_t));
    int rc = spun_deal(m);
    if (!rc)
        rc = spun_keys(m);
    if (!rc)
        rc = spun_fetch(m, (uint32_t)lo);
    /* step 3: alignment, dedup.c's phase B loop */
    lvec_t mine = {0};
    for (size_t i = 0; i < s->bd.n && !rc; i++) {
        bd_t *b = &s->bd.a[i];
        if (b->same != NONE) {
            lnk_t L = {b->g, b->same, 1.0f, 1.0f};
            if (ty_vec_push(mine, L))
                abort_oom(m, "links");
            continue;
        }
        uint32_t roots[64];
        size_t nroots = 0, tried = 0;
        for (size_t c = 0; c < b->nc && tried < (size_t)m->o.max_candidates; c++) {
            uint32_t d = s->cands.a[b->c0 + c].doc, root = s->cands.a[b->c0 + c].root;
            int seen = 0;
            for (size_t r = 0; r < nroots && !seen; r++)
                seen = roots[r] == root;
            if (seen)
                continue;
            tried++;
            int linked = spun_verify(m, b, d, &mine);
            if (linked < 0) {
                rc = linked;
                break;
            }
            if (linked && nroots < 64)
                roots[nroots++] = root;
        }
    }
    /* step 4: every rank gets the round's links */
    int p = m->size, c = (int)(mine.n * sizeof(lnk_t));
    int *rcnt = calloc((size_t)p * 2, sizeof(int));
    if (!rcnt)
        abort_oom(m, "links");
    int *rd = rcnt + p;
    int mrc = rc ? MPI_SUCCESS : MPI_Allgather(&c, 1, MPI_INT, rcnt, 1, MPI_INT, m->comm);
    if (!rc && mrc != MPI_SUCCESS)
        rc = mpi_fail(m, mrc, "Allgather");
    size_t tot = 0;
    for (int r = 0; r < p; r++) {
        rd[r] = (int)tot;
        tot += (size_t)rcnt[r];
    }
    if (!rc) {
        if (ty_vec_reserve(*links, tot / sizeof(lnk_t) + 1))
            abort_oom(m, "links");
        mrc = MPI_Allgatherv(mine.a, c, MPI_BYTE, links->a, rcnt, rd, MPI_BYTE, m->comm);
        if (mrc != MPI_SUCCESS)
            rc = mpi_fail(m, mrc, "Allgatherv");
        links->n = tot / sizeof(lnk_t);
        m->ms.gather_bytes += (uint64_t)c * (uint64_t)(p - 1);
    }
    free(rcnt);
    free(mine.a);
    if (rc) {
        spun_round_free(s);
        return rc;
    }
    qsort(links->a, links->n, sizeof(lnk_t), cmp_lnk);
    /* the originals (no link) are indexed, in document order per key (dedup.c phase C) */
    TY_VEC(uint32_t) cp = {0};
    for (size_t i = 0; i < links->n; i++)
        if (ty_vec_push(cp, links->a[i].g))
            abort_oom(m, "links");
    for (size_t i = 0; i < s->nkr; i++)
        if (!in_sorted(cp.a, cp.n, s->kr[i].g))
            gmz_index(m, s->kr[i].h, s->kr[i].g);
    for (size_t i = 0; i < s->nxr; i++) {
        const xrec_t *x = &s->xr[i];
        if (in_sorted(cp.a, cp.n, x->g))
            continue;
        int isnew;
        slot_t *e = kmap_put(&m->keys, x->key, &isnew);
        if (!e)
            abort_oom(m, "exact keys");
        if (isnew) {
            e->g = x->g;
            e->hi = x->hi;
        }
    }
    free(cp.a);
    spun_round_free(s);
    return TY_OK;
}

/* ---- the API ------------------------------------------------------------------------------- */

int ty_mdedup_add(ty_mdedup_t *m, const char *name, const char *text, size_t len)
{
    if (!m || (!text && len))
        return TY_EINVAL;
    if (m->failed)
        return m->failed;
    if (m->finished)
        return ty__err(m->err, TY_EINVAL, "documents added after ty_mdedup_finish()");
    if (m->lfail)
        return m->lfail;
    if (m->own.n >= NONE - 1)
        return ty__err(m->err, TY_ETOOBIG, "more than %u documents", NONE - 2);
    sketch(m, (uint32_t)m->own.n, name ? name : "", text, len);
    return m->lfail;
}

void ty_mdedup_fail(ty_mdedup_t *m, int rc, const char *msg)
{
    if (m && !m->lfail) {
        m->lfail = rc ? rc : TY_EINVAL;
        snprintf(m->err, sizeof m->err, "%s", msg ? msg : "");
    }
}

/* Spun: room for the facts of the documents this rank is home to (g mod N = rank). */
static int spun_start(ty_mdedup_t *m, uint64_t total)
{
    m->hf = calloc(((size_t)total / (size_t)m->size + 1) * 2, sizeof(uint32_t));
    if (!m->hf)
        abort_oom(m, "document facts");
    return TY_OK;
}

int ty_mdedup_finish(ty_mdedup_t *m)
{
    if (!m)
        return TY_EINVAL;
    if (m->failed)
        return m->failed;
    if (m->finished)
        return ty__err(m->err, TY_EINVAL, "ty_mdedup_finish() called twice");
    /* a failure anywhere stops everyone here */
    int mine = m->lfail, any = 0;
    int mrc = MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MIN, m->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(m, mrc, "Allreduce");
    if (any) {
        if (!mine)
            snprintf(m->err, sizeof m->err, "rank %d: stopped: another rank failed", m->rank);
        m->failed = mine ? mine : any;
        return m->failed;
    }
    /* global numbers: this rank's documents follow those of the ranks before it */
    uint64_t cnt = m->own.n, first = 0;
    m->starts = calloc((size_t)m->size + 1, sizeof(uint64_t));
    if (!m->starts)
        abort_oom(m, "share counts");
    mrc = MPI_Exscan(&cnt, &first, 1, MPI_UINT64_T, MPI_SUM, m->comm);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Allgather(&first, 1, MPI_UINT64_T, m->starts, 1, MPI_UINT64_T, m->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(m, mrc, "Exscan");
    if (m->rank == 0)
        m->starts[0] = 0; /* MPI_Exscan leaves rank 0's result undefined */
    uint64_t total = m->starts[m->size - 1] + (m->rank == m->size - 1 ? cnt : 0);
    mrc = MPI_Bcast(&total, 1, MPI_UINT64_T, m->size - 1, m->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(m, mrc, "Bcast");
    m->starts[m->size] = total;
    if (total >= NONE - 1) {
        m->failed = ty__err(m->err, TY_ETOOBIG, "more than %u documents", NONE - 2);
        return m->failed;
    }
    for (size_t i = 0; i < m->own.n; i++)
        m->own.a[i].g += (uint32_t)m->starts[m->rank];
    if (m->rank == 0) {
        if (ty_vec_reserve(m->docs, (size_t)total + 1) || ty__clu_add(&m->clu, (size_t)total))
            abort_oom(m, "documents");
        m->docs.n = (size_t)total;
        memset(m->docs.a, 0, (size_t)total * sizeof(mrec_t));
        m->st.docs = (size_t)total;
    }
    if (m->o.mode == TY_DEDUP_SPUN && spun_start(m, total))
        return m->failed;
    /* the rounds, in global order; every rank runs the same number */
    for (uint64_t lo = 0; lo < total || lo == 0; lo += m->round_docs) {
        int rc = process_round(m, lo);
        if (rc)
            return rc;
    }
    /* the shuffle totals, on rank 0 */
    uint64_t v[4] = {m->ms.key_bytes, m->ms.pair_bytes, m->ms.gather_bytes, m->ms.pairs}, t[4];
    mrc = MPI_Reduce(v, t, 4, MPI_UINT64_T, MPI_SUM, 0, m->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(m, mrc, "Reduce");
    m->finished = 1;
    if (m->rank != 0)
        return TY_OK;
    m->ms.key_bytes = t[0];
    m->ms.pair_bytes = t[1];
    m->ms.gather_bytes = t[2];
    m->ms.pairs = t[3];
    /* clusters, as ty_dedup_finish() */
    size_t n = m->docs.n, nc = 0;
    if (ty__clu_finish(&m->clu, m->o.keep == TY_KEEP_LONGEST, &nc))
        return ty__err(m->err, TY_ENOMEM, "out of memory");
    m->st.clusters = nc;
    m->st.removed = n - m->st.errors - nc;
    return TY_OK;
}

size_t ty_mdedup_count(const ty_mdedup_t *m) { return m && m->rank == 0 ? m->docs.n : 0; }

const char *ty_mdedup_name(const ty_mdedup_t *m, size_t i)
{
    return m && m->rank == 0 && i < m->docs.n ? m->names.a + m->docs.a[i].name : NULL;
}

int ty_mdedup_result(const ty_mdedup_t *m, size_t i, ty_dedup_result_t *res)
{
    if (!m || !res || m->rank != 0 || !m->finished || i >= m->docs.n)
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

#endif /* TY_MPI */
