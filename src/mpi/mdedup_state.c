/*
 * mdedup_state.c — the saved state of a dedup run across MPI ranks (--save-index DIR,
 * --against DIR; tongyuan_mpi.h). The file is one process's (dedup_state.c: the format and
 * the codecs of its records, which both engines call), so a state saved under mpirun is
 * loaded by one process and the other way round, at any number of ranks.
 *
 * Loading (collective, before the first document): every rank reads the file from start to
 * end and keeps its part of it, where the MPI engine keeps that kind of data:
 *   - rank 0: every earlier document's name and cluster entry (it applies the links and
 *     writes the output), and the counters;
 *   - the earlier documents' own data — near: signature and shingle count; spun: the
 *     compressed text of the kept ones — in blocks: rank r holds documents [r oblk,
 *     (r + 1) oblk), at the front of its own[] (ty__md_local, ty__md_owner_of_doc);
 *   - spun: each document's home (g mod N) its numbers of distinct minimizers and tokens;
 *   - the owner of each key (ty__mpi_owner) its entries: exact keys, band keys, minimizers
 *     with their postings; every rank the popular texts carried over;
 *   - rank 0 adds spun mode's saved last batch before its own share: those documents are the
 *     first of this run, as in one process.
 * The earlier documents are numbered 0 .. nold - 1, this run's after them, and the rounds
 * start at nold: what every rule sees is what one process sees after loading the same file.
 *
 * Saving (collective, from ty_mdedup_finish: spun before its last, partial round, the others
 * after the last round): rank 0 writes DIR/dedup.state.tmp; each section's parts come to it in
 * file order — the documents from the ranks holding them (rank 0 adds their names and cluster
 * entries), each table from each key owner — as a stream of messages of at most CHUNK bytes
 * (a length, then the bytes; length 0 ends a rank's part), so no rank holds more than its own
 * part and a chunk. Rank 0 renames the file after the outputs (ty_mdedup_commit_state), and
 * holds DIR/dedup.lock from ty_mdedup_save_state on.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mdedup.h"

#define CHUNK ((size_t)1 << 24)
#define TAG_LEN 7101
#define TAG_BYTES 7102

static void msg_to_err(ty_mdedup_t *m, const char *msg)
{
    snprintf(m->x.err.msg, sizeof m->x.err.msg, "%s", msg);
}

void ty__md_state_free(ty_mdedup_t *m)
{
    ty__sw_abort(m->save);
    m->save = NULL;
    free(m->save_dir);
    m->save_dir = NULL;
    if (m->lockfd >= 0)
        close(m->lockfd);
    m->lockfd = -1;
}

/* ---- saving ------------------------------------------------------------------------------ */

/* Rank 0 takes a chunk of a rank's part: the bytes as they go into the file, or (DOCS) the
 * holders' records, completed here. */
typedef int (*take_fn)(ty_mdedup_t *m, const char *p, size_t n);

typedef struct {
    ty_mdedup_t *m;
    ty__sw_t *w; /* this rank's part, in memory */
    take_fn take;
} part_t;

/* Hand over the part so far when it holds CHUNK bytes, or (last) all of it: rank 0 takes it,
 * the others send it to rank 0 (and, last, a length 0). */
static int part_cut(part_t *p, int last)
{
    ty_mdedup_t *m = p->m;
    if (!last && ty__sw_mem_len(p->w) < CHUNK)
        return TY_OK;
    char *b = NULL;
    size_t n = 0;
    if (ty__sw_take(p->w, &b, &n))
        return ty__mpi_oom(&m->x, "the state");
    int rc = TY_OK;
    if (m->x.rank == 0) {
        rc = n ? p->take(m, b, n) : TY_OK;
    } else {
        uint64_t len = n;
        int mrc = MPI_SUCCESS;
        if (n)
            mrc = MPI_Send(&len, 1, MPI_UINT64_T, 0, TAG_LEN, m->x.comm);
        if (mrc == MPI_SUCCESS && n)
            mrc = MPI_Send(b, (int)n, MPI_BYTE, 0, TAG_BYTES, m->x.comm);
        len = 0;
        if (mrc == MPI_SUCCESS && last)
            mrc = MPI_Send(&len, 1, MPI_UINT64_T, 0, TAG_LEN, m->x.comm);
        if (mrc != MPI_SUCCESS)
            rc = ty__mpi_fail(&m->x, mrc, "Send");
    }
    free(b);
    return rc;
}

/* Rank 0: rank r's part, chunk by chunk, until its length 0. */
static int part_recv(ty_mdedup_t *m, int r, take_fn take)
{
    for (;;) {
        uint64_t len;
        int mrc = MPI_Recv(&len, 1, MPI_UINT64_T, r, TAG_LEN, m->x.comm, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS)
            return ty__mpi_fail(&m->x, mrc, "Recv");
        if (!len)
            return TY_OK;
        char *b = malloc(len);
        if (!b)
            return ty__mpi_oom(&m->x, "the state");
        mrc = MPI_Recv(b, (int)len, MPI_BYTE, r, TAG_BYTES, m->x.comm, MPI_STATUS_IGNORE);
        int rc = mrc != MPI_SUCCESS ? ty__mpi_fail(&m->x, mrc, "Recv") : take(m, b, len);
        free(b);
        if (rc)
            return rc;
    }
}

/* One rank's part of a section: make(m, p, ctx) writes it (calling part_cut as it goes). */
typedef int (*make_fn)(ty_mdedup_t *m, part_t *p, void *ctx);

/* Every rank's part, in rank order: rank r makes its own, rank 0 takes them all. */
static int parts(ty_mdedup_t *m, make_fn make, take_fn take, void *ctx)
{
    int rc = TY_OK;
    for (int r = 0; r < m->x.size && !rc; r++) {
        if (r == m->x.rank) {
            part_t p = {m, ty__sw_mem(), take};
            rc = p.w ? make(m, &p, ctx) : ty__mpi_oom(&m->x, "the state");
            if (!rc)
                rc = part_cut(&p, 1);
            ty__sw_abort(p.w);
        } else if (m->x.rank == 0) {
            rc = part_recv(m, r, take);
        }
    }
    return rc;
}

static int take_raw(ty_mdedup_t *m, const char *p, size_t n)
{
    ty__sw_put(m->save, p, n);
    return TY_OK;
}

/* DOCS: the holder's record of a document (what rank 0 does not have), in this rank's
 * memory writer; rank 0 adds the name and the cluster entry (take_docs). */
typedef struct {
    uint32_t g, len, ntok, nmz, indexed, clen;
} hrec_t;

static int make_docs(ty_mdedup_t *m, part_t *p, void *ctx)
{
    const uint64_t *lim = ctx; /* [first own index, end own index) */
    const ty__rules_t *R = &m->R;
    int near = R->o.mode == TY_DEDUP_NEAR;
    for (size_t i = (size_t)lim[0]; i < (size_t)lim[1]; i++) {
        const own_t *d = &m->own.a[i];
        hrec_t h = {d->g, d->len, d->ntok, 0, d->indexed, d->indexed ? d->clen : 0};
        if (R->o.mode == TY_DEDUP_SPUN)
            h.nmz = d->nsh; /* from its home (write_state) */
        else if (near && d->ntok)
            h.nmz = d->nsh;
        ty__sw_put(p->w, &h, sizeof h);
        if (h.clen)
            ty__sw_put(p->w, m->ctexts.a + d->coff, h.clen);
        if (near)
            ty__sw_put(p->w, m->sigs.a + i * (size_t)R->perms, (size_t)R->perms * 4);
        int rc = part_cut(p, 0);
        if (rc)
            return rc;
    }
    return TY_OK;
}

static int take_docs(ty_mdedup_t *m, const char *p, size_t n)
{
    const ty__rules_t *R = &m->R;
    size_t sig = R->o.mode == TY_DEDUP_NEAR ? (size_t)R->perms * 4 : 0;
    for (size_t o = 0; o + sizeof(hrec_t) <= n;) {
        hrec_t h;
        memcpy(&h, p + o, sizeof h);
        o += sizeof h;
        ty__st_doc_t d = {m->names.a + m->noff.a[h.g],
                          h.len,
                          h.ntok,
                          h.nmz,
                          (int)h.indexed,
                          p + o,
                          h.clen,
                          m->clu.d.a[h.g],
                          NULL};
        o += h.clen;
        if (sig) {
            d.sig = (const uint32_t *)(const void *)(p + o);
            o += sig;
        }
        ty__st_put_doc(m->save, R, &d);
    }
    return TY_OK;
}

/* The tables: each key owner's entries, as one process lists its own (ty__st_put_*). */
enum { T_KEYS, T_BANDS, T_MINZ };

static int make_table(ty_mdedup_t *m, part_t *p, void *ctx)
{
    int t = *(const int *)ctx;
    size_t cap = t == T_KEYS ? m->keys.cap : t == T_BANDS ? m->bands.cap : m->gmz.map.cap;
    for (size_t i = 0; i < cap; i += 65536) {
        size_t e = cap - i < 65536 ? cap : i + 65536;
        if (t == T_KEYS)
            ty__st_put_keys(p->w, &m->keys, i, e);
        else if (t == T_BANDS)
            ty__st_put_bands(p->w, &m->bands, i, e);
        else
            ty__st_put_minz(p->w, &m->R, &m->gmz, i, e);
        int rc = part_cut(p, 0);
        if (rc)
            return rc;
    }
    return TY_OK;
}

static int table_section(ty_mdedup_t *m, uint32_t tag, int t, uint64_t mine)
{
    uint64_t n = 0;
    int mrc = MPI_Reduce(&mine, &n, 1, MPI_UINT64_T, MPI_SUM, 0, m->x.comm);
    if (mrc != MPI_SUCCESS)
        return ty__mpi_fail(&m->x, mrc, "Reduce");
    if (m->x.rank == 0) {
        ty__sw_begin(m->save, tag);
        ty__sw_u64(m->save, n);
    }
    int rc = parts(m, make_table, take_raw, &t);
    if (!rc && m->x.rank == 0)
        ty__sw_end(m->save);
    return rc;
}

/* PEND: the documents [n, all) of this rank, as they were added (spun: the last round). */
static int make_pend(ty_mdedup_t *m, part_t *p, void *ctx)
{
    uint64_t n = *(const uint64_t *)ctx;
    TY_VEC(char) t = {0};
    int rc = TY_OK;
    for (size_t i = m->lold; i < m->own.n && !rc; i++) {
        const own_t *d = &m->own.a[i];
        if (d->g < n)
            continue;
        const char *name = m->lnames.a + d->name;
        size_t nl = strlen(name);
        if (d->refused) {
            ty__st_put_pend(p->w, name, 1, name + nl + 1, strlen(name + nl + 1));
        } else {
            if (ty_vec_reserve(t, (size_t)d->len + 1))
                return ty__mpi_oom(&m->x, "the state");
            size_t got =
                d->len ? ZSTD_decompressDCtx(m->dctx, t.a, d->len, m->ctexts.a + d->coff, d->clen)
                       : 0;
            if (ZSTD_isError(got) || got != d->len) {
                free(t.a);
                snprintf(m->x.err.msg, sizeof m->x.err.msg,
                         "rank %d: a kept text does not decompress", m->x.rank);
                m->x.err.here = m->x.err.stranded = 1;
                return TY_ECORRUPT;
            }
            ty__st_put_pend(p->w, name, 0, t.a, d->len);
        }
        rc = part_cut(p, 0);
    }
    free(t.a);
    return rc;
}

/* Spun: each document's distinct minimizers are known to its home (g mod N); the rank
 * holding the document gets them for its record. */
static int home_facts(ty_mdedup_t *m, uint64_t n)
{
    uint32_t p = (uint32_t)m->x.size, me = (uint32_t)m->x.rank;
    size_t k = 0, nr = 0;
    size_t cnt = (size_t)(n / p + 1);
    pair_t *q = malloc((cnt + 1) * sizeof(pair_t));
    int *dest = malloc((cnt + 1) * sizeof(int));
    void *r = NULL;
    int rc = !q || !dest ? ty__mpi_oom(&m->x, "the state") : TY_OK;
    for (uint64_t g = me; !rc && g < n; g += p) {
        q[k] = (pair_t){(uint32_t)g, m->hf[2 * (g / p)]};
        dest[k++] = ty__md_owner_of_doc(m, (size_t)g);
    }
    uint64_t bytes = 0;
    rc = ty__mpi_xchg_free(&m->x, rc, q, k, sizeof(pair_t), dest, &r, &nr, &bytes);
    for (size_t i = 0; !rc && i < nr; i++) {
        const pair_t *x = (const pair_t *)r + i;
        m->own.a[ty__md_local(m, x->g)].nsh = x->first;
    }
    free(r);
    return rc;
}

int ty__md_write_state(ty_mdedup_t *m, uint64_t n)
{
    const ty__rules_t *R = &m->R;
    int spun = R->o.mode == TY_DEDUP_SPUN, rank = m->x.rank, rc = TY_OK;
    m->saved = 1;
    if (rank == 0) {
        char msg[TY_ERRMSG_SIZE];
        rc = ty__sw_open(&m->save, m->save_dir, R, msg);
        if (rc)
            ty__mpi_local(&m->x, rc, "--save-index: %s", msg);
    }
    rc = ty__mpi_agree(&m->x, TY_OK);
    if (!rc && spun)
        rc = home_facts(m, n);
    /* the documents [0, n): the earlier run's (in blocks), then this run's (in shares) */
    if (!rc && rank == 0) {
        ty__sw_begin(m->save, TY__ST_DOCS);
        ty__sw_u64(m->save, n);
    }
    uint64_t lim[2] = {0, m->lold};
    if (!rc)
        rc = parts(m, make_docs, take_docs, lim);
    lim[0] = m->lold;
    lim[1] = m->lold;
    while (lim[1] < m->own.n && m->own.a[lim[1]].g < n)
        lim[1]++;
    if (!rc)
        rc = parts(m, make_docs, take_docs, lim);
    if (!rc && rank == 0)
        ty__sw_end(m->save);
    /* the tables, from their owners */
    if (!rc)
        rc = table_section(m, TY__ST_KEYS, T_KEYS, m->keys.n);
    if (!rc && R->o.mode == TY_DEDUP_NEAR)
        rc = table_section(m, TY__ST_BAND, T_BANDS, m->bands.n);
    if (!rc && spun)
        rc = table_section(m, TY__ST_MINZ, T_MINZ, m->gmz.map.n);
    if (!rc && spun && rank == 0) /* the same on every rank */
        ty__carry_save(m->save, ty__spun_carry(m->sp));
    /* the counters: rank 0's, and what the others count */
    uint64_t v[3] = {0, 0, m->ms.pairs}, t[3] = {0, 0, 0};
    for (size_t i = 0; i < lim[1]; i++)
        v[0] += m->own.a[i].indexed;
    for (size_t i = 0; i < m->gmz.map.cap; i++)
        v[1] += m->gmz.map.a[i].key && ty__boiler(R, m->gmz.map.a[i].val);
    if (!rc) {
        int mrc = MPI_Reduce(v, t, 3, MPI_UINT64_T, MPI_SUM, 0, m->x.comm);
        if (mrc != MPI_SUCCESS)
            rc = ty__mpi_fail(&m->x, mrc, "Reduce");
    }
    if (!rc && rank == 0) {
        uint64_t st[6] = {n, m->st.errors, m->st.links, t[2], t[0], t[1]};
        ty__st_put_stat(m->save, st);
        ty__sw_begin(m->save, TY__ST_PEND);
        ty__sw_u64(m->save, m->starts[m->x.size] - n);
    }
    if (!rc)
        rc = parts(m, make_pend, take_raw, &n);
    if (!rc && rank == 0)
        ty__sw_end(m->save);
    return rc;
}

/* ---- the calls ------------------------------------------------------------------------------ */

int ty_mdedup_save_state(ty_mdedup_t *m, const char *dir)
{
    if (!m || !dir)
        return TY_EINVAL;
    if (m->finished || m->save_dir || m->own.n)
        return ty__err(m->x.err.msg, TY_EINVAL,
                       "ty_mdedup_save_state() after a document, after finishing, or twice");
    int rc = (m->save_dir = strdup(dir)) ? TY_OK : TY_ENOMEM;
    char msg[TY_ERRMSG_SIZE] = "out of memory";
    if (!rc && m->x.rank == 0)
        rc = ty__state_lock(dir, &m->lockfd, msg);
    if (rc)
        ty__mpi_local(&m->x, rc, "%s", msg);
    rc = ty__mpi_agree(&m->x, TY_OK);
    if (rc)
        m->failed = rc;
    return rc;
}

int ty_mdedup_commit_state(ty_mdedup_t *m)
{
    if (!m)
        return TY_EINVAL;
    if (m->x.rank != 0)
        return TY_OK;
    if (!m->finished || !m->save)
        return ty__err(m->x.err.msg, TY_EINVAL,
                       "no state to save: ty_mdedup_save_state() and ty_mdedup_finish() "
                       "come first");
    ty__sw_t *w = m->save;
    m->save = NULL;
    char msg[TY_ERRMSG_SIZE];
    int rc = ty__sw_commit(w, msg);
    if (rc) {
        msg_to_err(m, msg);
        m->x.err.here = 1;
    }
    return rc;
}

size_t ty_mdedup_earlier(const ty_mdedup_t *m) { return m ? m->earlier : 0; }

/* ---- loading -------------------------------------------------------------------------------- */

typedef struct {
    ty_mdedup_t *m;
    int rc; /* a failure of this rank alone (out of memory) */
} load_t;

static int load_doc(void *ctx, uint64_t i, uint64_t n, const ty__st_doc_t *d)
{
    load_t *L = ctx;
    ty_mdedup_t *m = L->m;
    const ty__rules_t *R = &m->R;
    size_t p = (size_t)m->x.size;
    if (!d) { /* the count, first */
        m->nold = n;
        m->oblk = n / p + 1;
        if ((m->x.rank == 0 &&
             (ty_vec_reserve(m->noff, (size_t)n + 1) || ty__clu_add(&m->clu, (size_t)n))) ||
            (R->o.mode == TY_DEDUP_SPUN &&
             !(m->hf = calloc(((size_t)n / p + 1) * 2, sizeof(uint32_t)))))
            return L->rc = TY_ENOMEM;
        return TY_OK;
    }
    if (m->x.rank == 0) {
        size_t l = strlen(d->name) + 1;
        if (ty_vec_reserve(m->names, m->names.n + l))
            return L->rc = TY_ENOMEM;
        m->noff.a[m->noff.n++] = m->names.n;
        memcpy(m->names.a + m->names.n, d->name, l);
        m->names.n += l;
        m->clu.d.a[i] = d->c;
    }
    if (R->o.mode == TY_DEDUP_SPUN && i % p == (size_t)m->x.rank) { /* its home */
        m->hf[2 * (i / p)] = d->nmz;
        m->hf[2 * (i / p) + 1] = d->ntok;
    }
    if (i / m->oblk != (uint64_t)m->x.rank)
        return TY_OK;
    own_t o;
    memset(&o, 0, sizeof o);
    o.g = (uint32_t)i;
    o.ncp = d->c.ncp;
    o.ntok = d->ntok;
    o.nsh = d->nmz;
    o.err = d->c.err;
    o.len = d->len;
    o.indexed = (uint8_t)d->indexed;
    if (d->indexed) {
        if (ty_vec_reserve(m->ctexts, m->ctexts.n + d->clen + 1))
            return L->rc = TY_ENOMEM;
        memcpy(m->ctexts.a + m->ctexts.n, d->ctext, d->clen);
        o.coff = m->ctexts.n;
        o.clen = d->clen;
        m->ctexts.n += d->clen;
    }
    if (R->o.mode == TY_DEDUP_NEAR) {
        size_t k = m->own.n * (size_t)R->perms;
        if (ty_vec_reserve(m->sigs, k + (size_t)R->perms))
            return L->rc = TY_ENOMEM;
        memcpy(m->sigs.a + k, d->sig, (size_t)R->perms * 4);
        m->sigs.n = k + (size_t)R->perms;
    }
    if (ty_vec_push(m->own, o))
        return L->rc = TY_ENOMEM;
    return TY_OK;
}

static int mine_key(void *ctx, uint64_t key)
{
    const ty_mdedup_t *m = ctx;
    return ty__mpi_owner(&m->x, key) == m->x.rank;
}

/* The saved last batch: rank 0's first documents (their errors were reported by their run). */
static int load_pend(void *ctx, const char *name, const char *text, size_t len, const char *refused)
{
    load_t *L = ctx;
    ty_mdedup_t *m = L->m;
    m->earlier++;
    if (m->x.rank != 0)
        return TY_OK;
    m->replay = 1;
    ty__md_sketch(m, name, text, len, refused);
    m->replay = 0;
    return m->x.lfail ? (L->rc = m->x.lfail) : TY_OK;
}

int ty_mdedup_load_state(ty_mdedup_t *m, const char *dir)
{
    if (!m || !dir)
        return TY_EINVAL;
    if (m->own.n || m->nold || m->finished || m->failed)
        return ty__err(m->x.err.msg, TY_EINVAL, "a state is loaded before the first document");
    char msg[TY_ERRMSG_SIZE] = "";
    load_t L = {m, TY_OK};
    ty__sr_t *r = NULL;
    uint8_t *flags = NULL;
    uint64_t n = 0, errors = 0, v[6];
    int rc = ty__sr_open(&r, dir, &m->R, msg);
    if (!rc)
        rc = ty__st_get_docs(r, &m->R, load_doc, &L, &flags, &n, &errors, msg);
    if (!rc) {
        m->lold = m->own.n;
        m->earlier = n;
        rc = ty__st_get_tables(r, &m->R, flags, n, mine_key, m, NULL, NULL, &m->keys, &m->bands,
                               &m->gmz, m->sp ? ty__spun_carry(m->sp) : NULL, msg);
    }
    if (!rc)
        rc = ty__st_get_stat(r, n, errors, v);
    if (!rc && m->x.rank == 0) {
        m->st.errors = v[1];
        m->st.links = v[2];
    }
    if (!rc)
        rc = ty__st_get_pend(r, load_pend, &L, msg);
    free(flags);
    ty__sr_close(r);
    if (rc == TY_ENOMEM || L.rc == TY_ENOMEM) {
        rc = TY_ENOMEM;
        snprintf(msg, sizeof msg, "rank %d: out of memory loading the state", m->x.rank);
    } else if (rc && !msg[0]) {
        snprintf(msg, sizeof msg, "%s", ty_strerror(rc));
    }
    if (rc)
        ty__mpi_local(&m->x, rc, "%s", msg);
    rc = ty__mpi_agree(&m->x, TY_OK);
    /* every rank read the same file: rank 0 tells what was wrong with it */
    if (rc && m->x.rank != 0 && m->x.lfail != TY_ENOMEM)
        m->x.err.here = 0;
    if (rc)
        m->failed = rc;
    return rc;
}
