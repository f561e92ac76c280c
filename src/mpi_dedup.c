/*
 * mpi_dedup.c — exact and near deduplication across the ranks of an MPI job (make MPI=1);
 * see mpi_dedup.h for the scheme. Only compiled into the MPI build.
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

typedef struct { /* key owner's table: open addressing on key (0: empty) */
    uint64_t key, hi;
    uint32_t g, pad;
} slot_t;

typedef struct {
    slot_t *a;
    size_t cap, n;
} kmap_t;

typedef struct {   /* rank 0's record of a document */
    uint64_t name; /* offset in names */
    uint32_t parent, best, cluster, ncp;
    float best_sim, best_cont;
    int32_t err;
} mrec_t;

typedef struct {                /* a document this rank owns (read and sketched) */
    uint32_t g, ncp, ntok, nsh; /* g: local number until finish, then global */
    int err;
    uint64_t ex_lo, ex_hi;
    uint64_t name; /* offset in lnames */
} own_t;

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
    TY_VEC(uint64_t) h;
    TY_VEC(uint32_t) x;
    uint32_t *set;
    size_t set_cap;
    size_t round_docs;     /* documents of all ranks per round (global numbers) */
    size_t rlo, rn;        /* this round: own[rlo, rlo + rn) */
    uint64_t *starts;      /* after finish's count exchange: first global number of each rank's
                              share, [size] = all documents */
    TY_VEC(own_t) own;     /* every document this rank read, in its input order */
    TY_VEC(char) lnames;   /* their names */
    TY_VEC(uint32_t) sigs; /* near: perms per document owned */
    TY_VEC(uint32_t) nsh;  /* near: shingles per document owned */
    kmap_t keys;
    /* rank 0 */
    TY_VEC(mrec_t) docs;
    TY_VEC(char) names;
    TY_VEC(uint32_t) keeper;
    TY_VEC(uint32_t) csize;
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
        (o->mode != TY_DEDUP_EXACT && o->mode != TY_DEDUP_NEAR))
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
    free(m->h.a);
    free(m->x.a);
    free(m->set);
    free(m->starts);
    free(m->own.a);
    free(m->lnames.a);
    free(m->sigs.a);
    free(m->nsh.a);
    free(m->keys.a);
    free(m->docs.a);
    free(m->names.a);
    free(m->keeper.a);
    free(m->csize.a);
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
            if (ty_vec_reserve(m->h, nt + 1) || ty_vec_reserve(m->x, nt + 1)) {
                local_fail(m, TY_ENOMEM, "near-duplicate signatures");
                return;
            }
            size_t ns =
                ty__shingles(m->doc->tok, nt, m->o.ngram, m->x.a, m->h.a, &m->set, &m->set_cap);
            if (ns == (size_t)-1) {
                local_fail(m, TY_ENOMEM, "near-duplicate signatures");
                return;
            }
            d.nsh = (uint32_t)ns;
            m->nsh.a[li] = d.nsh;
            uint32_t *sg = m->sigs.a + li * (size_t)m->perms;
            if (ns) {
                ty__minhash(m->pa, m->pb, m->perms, m->x.a, ns, m->sig);
                memcpy(sg, m->sig, (size_t)m->perms * sizeof(uint32_t));
            }
        }
    }
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

/* Send n records of sz bytes, record i to rank dest[i]; *out (malloc()ed) gets the records
 * sent to this rank, *nout of them, grouped by sending rank in rank order and in the order
 * each was sent. *bytes counts what went to other ranks. */
static int xchg(ty_mdedup_t *m, const void *recs, size_t n, size_t sz, const int *dest, void **out,
                size_t *nout, uint64_t *bytes)
{
    int p = m->size;
    int *sc = calloc((size_t)p * 4, sizeof(int));
    if (!sc)
        abort_oom(m, "exchange counts");
    int *sd = sc + p, *rcnt = sc + 2 * p, *rd = sc + 3 * p;
    for (size_t i = 0; i < n; i++)
        sc[dest[i]]++;
    size_t off = 0;
    for (int r = 0; r < p; r++) {
        sd[r] = (int)off;
        off += (size_t)sc[r];
    }
    char *sbuf = malloc(n * sz + 1);
    size_t *fill = calloc((size_t)p, sizeof(size_t));
    if (!sbuf || !fill)
        abort_oom(m, "exchange buffer");
    for (size_t i = 0; i < n; i++) {
        int r = dest[i];
        memcpy(sbuf + ((size_t)sd[r] + fill[r]++) * sz, (const char *)recs + i * sz, sz);
    }
    free(fill);
    for (int r = 0; r < p; r++) {
        if (r != m->rank)
            *bytes += (uint64_t)sc[r] * sz;
        sc[r] = (int)((size_t)sc[r] * sz);
        sd[r] = (int)((size_t)sd[r] * sz);
    }
    int mrc = MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, m->comm);
    if (mrc != MPI_SUCCESS) {
        free(sbuf);
        free(sc);
        return mpi_fail(m, mrc, "Alltoall");
    }
    size_t tot = 0;
    for (int r = 0; r < p; r++) {
        rd[r] = (int)tot;
        tot += (size_t)rcnt[r];
    }
    char *rbuf = malloc(tot + 1);
    if (!rbuf)
        abort_oom(m, "exchange buffer");
    mrc = MPI_Alltoallv(sbuf, sc, sd, MPI_BYTE, rbuf, rcnt, rd, MPI_BYTE, m->comm);
    free(sbuf);
    free(sc);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return mpi_fail(m, mrc, "Alltoallv");
    }
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

static uint32_t uf_find(mrec_t *d, uint32_t x)
{
    while (d[x].parent != x) {
        d[x].parent = d[d[x].parent].parent;
        x = d[x].parent;
    }
    return x;
}

static void note_best(mrec_t *r, uint32_t other, float sim, float cont)
{
    if (r->best == NONE || cont > r->best_cont || (cont == r->best_cont && other < r->best)) {
        r->best = other;
        r->best_sim = sim;
        r->best_cont = cont;
    }
}

static void apply_link(ty_mdedup_t *m, const lnk_t *L)
{
    mrec_t *d = m->docs.a;
    uint32_t a = uf_find(d, L->g), b = uf_find(d, L->other);
    if (a < b)
        d[b].parent = a;
    else if (b < a)
        d[a].parent = b;
    note_best(&d[L->g], L->other, L->sim, L->cont);
    note_best(&d[L->other], L->g, L->sim, L->cont);
    m->st.links++;
}

/* ---- one round ----------------------------------------------------------------------------- */

static int round_links(ty_mdedup_t *m, lvec_t *links);

/* Round lo: the documents numbered [lo, lo + round_docs) of all ranks. */
static int process_round(ty_mdedup_t *m, uint64_t lo)
{
    uint64_t hi = lo + m->round_docs, st = m->starts[m->rank], en = m->starts[m->rank + 1];
    uint64_t a = lo > st ? lo : st, b = hi < en ? hi : en;
    m->rlo = a < b ? (size_t)(a - st) : 0;
    m->rn = a < b ? (size_t)(b - a) : 0;
    m->ms.rounds++;
    lvec_t links = {0};
    int rc = round_links(m, &links);
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
    if (!rc)
        rc = gather0(m, links.a, links.n, sizeof(lnk_t), &rl, &nl);
    free(info);
    free(nm);
    free(links.a);
    if (!rc && m->rank == 0) {
        for (size_t i = 0; i < nin; i++) {
            const info_t *f = (const info_t *)rin + i;
            mrec_t *r = &m->docs.a[f->g];
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
    }
    free(rin);
    free(rnm);
    free(rl);
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
        int eq = 0;
        for (int k = 0; k < m->perms; k++)
            eq += xs[k] == y[k];
        float jac = (float)eq / (float)m->perms;
        /* containment from the Jaccard estimate and the shingle counts, as dedup.c */
        double na = hdr[2], nbs = m->nsh.a[lg];
        double inter = jac * (na + nbs) / (1.0 + jac), mn = na < nbs ? na : nbs;
        double cont = mn > 0 ? inter / mn : 0;
        lnk_t L = {hdr[0], hdr[1], jac, (float)(cont > 1 ? 1 : cont)};
        if (ty_vec_push(*links, L))
            abort_oom(m, "links");
    }
    free(r);
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
        if (ty_vec_reserve(m->docs, (size_t)total + 1))
            abort_oom(m, "documents");
        m->docs.n = (size_t)total;
        for (size_t g = 0; g < total; g++) {
            mrec_t *r = &m->docs.a[g];
            memset(r, 0, sizeof(*r));
            r->parent = (uint32_t)g;
            r->best = NONE;
        }
        m->st.docs = (size_t)total;
    }
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
    mrec_t *d = m->docs.a;
    size_t n = m->docs.n, nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].err)
            continue;
        uint32_t root = uf_find(d, (uint32_t)i);
        if (root == i) {
            if (ty_vec_push(m->keeper, (uint32_t)i) || ty_vec_push(m->csize, 0u))
                return ty__err(m->err, TY_ENOMEM, "out of memory");
            d[i].cluster = (uint32_t)nc++;
        } else {
            d[i].cluster = d[root].cluster;
        }
        uint32_t c = d[i].cluster, k = m->keeper.a[c];
        m->csize.a[c]++;
        if (m->o.keep == TY_KEEP_LONGEST && d[i].ncp > d[k].ncp)
            m->keeper.a[c] = (uint32_t)i;
    }
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
    const mrec_t *r = &m->docs.a[i];
    memset(res, 0, sizeof(*res));
    res->err = r->err;
    if (r->err) {
        res->cluster = res->dup_of = SIZE_MAX;
        return TY_OK;
    }
    res->cluster = r->cluster;
    res->cluster_size = m->csize.a[r->cluster];
    res->keep = m->keeper.a[r->cluster] == i;
    res->dup_of = SIZE_MAX;
    if (!res->keep) {
        res->dup_of = r->best != NONE ? r->best : m->keeper.a[r->cluster];
        res->similarity = r->best != NONE ? r->best_sim : 0;
        res->containment = r->best != NONE ? r->best_cont : 0;
    }
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
