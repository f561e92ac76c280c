/*
 * index_add.c — adding documents to the corpus index, on all cores.
 *
 * A pipeline over a ring of chunks (about a thousand documents each):
 *   read     a reader thread fills a free chunk from the ty_reader_t: whole-file documents,
 *            or JSONL lines left unparsed (JSON decoding is slow, so it is done in parallel);
 *   prepare  worker threads take the documents of the oldest filled chunks one at a time:
 *            parse the JSON line, tokenize (bad UTF-8 is caught here, with its position),
 *            sketch (minimizers, deduplicated), compress the text with zstd;
 *   write    the calling thread stores each prepared chunk in input order — document ids
 *            follow the input whatever --threads is — and collects the postings. Events
 *            (progress, skipped records, commits) are reported from this thread only.
 *
 * Postings are not inserted one at a time: they are collected, sorted and written as one
 * segment per commit (TY_INDEX_WRITE) or as sorted runs merged once at the end
 * (TY_INDEX_CREATE, see index.c).
 *
 * Stored texts are compressed with a zstd dictionary trained on the first chunk of a new
 * index (stored in the index; an add uses the index's dictionary): documents are short,
 * and a dictionary of common characters and phrases takes a 2 KB Chinese text from about
 * 74 % of its size to about 52 % (measured on scale_gen.py documents), and compresses faster.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zdict.h>

#include "index.h"
#include "input.h"

#define NCHUNK 4 /* chunks in flight */
#define CHUNK_DOCS 1024
#define CHUNK_BYTES ((size_t)8 << 20)
#define BUILD_COMMIT_BYTES ((uint64_t)64 << 20) /* TY_INDEX_CREATE: text per transaction */
#define DICT_MAX 112640                         /* zstd's default dictionary size */
#define DICT_MIN_SAMPLE (256 << 10)             /* train only on this much text or more */

enum { C_FREE = 0, C_FILLED = 1, C_PREPARED = 2 };

typedef struct {
    /* input, copied from the record */
    char *name, *text, *origin;
    size_t name_len, len, cap_name, cap_text, cap_origin;
    uint64_t line;
    int raw; /* text holds an unparsed JSONL line */
    int err; /* a reader error (message in msg), or after prepare a tokenize error */
    char msg[TY_ERRMSG_SIZE];
    /* prepared */
    size_t ncp, ntok;
    uint8_t *z;
    size_t zlen, zcap;
    int need_z;  /* prepared before the dictionary was decided: compress at write time */
    uint64_t *h; /* 40-bit minimizer keys, distinct */
    size_t nh, hcap;
} slot_t;

typedef struct {
    slot_t *s;
    size_t n, cap;
    size_t bytes;
    int state;
    uint64_t seq;
    /* round << 32 | next document to hand out: a worker that picked the chunk in an earlier
     * round (it is reused) cannot claim a document of the new one */
    atomic_uint_fast64_t claim;
    atomic_size_t done; /* documents prepared */
} chunk_t;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk_t ring[NCHUNK];
    int quit;
    uint64_t produced; /* chunks filled so far */
    int eof;           /* the reader thread has finished: produced is final */
    int read_err;      /* and stopped on this error (message in read_msg) */
    char read_msg[TY_ERRMSG_SIZE];
    /* progress, written by the reader thread */
    atomic_uint_fast64_t docs, text_bytes, input_pos;
    /* settings */
    ty_reader_t *r;
    const ty_reader_opts_t *ro;
    const ty_opts_t *o;
    int k, w;
    int level;
    const ZSTD_CDict *_Atomic cdict; /* the dictionary, once decided (may stay NULL) */
    atomic_int dict_decided;
} pool_t;

static int copy_str(char **dst, size_t *cap, const char *src, size_t len)
{
    if (*cap < len + 1) {
        size_t nc = len + 1 > 64 ? len + 1 : 64;
        char *p = realloc(*dst, nc);
        if (!p)
            return -1;
        *dst = p;
        *cap = nc;
    }
    memcpy(*dst, src, len);
    (*dst)[len] = 0;
    return 0;
}

/* ---- read (reader thread) ----------------------------------------------------------------- */

static int fill(pool_t *P, chunk_t *c)
{
    c->n = 0;
    c->bytes = 0;
    while (c->n < CHUNK_DOCS && c->bytes < CHUNK_BYTES) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 64;
            slot_t *p = realloc(c->s, nc * sizeof(slot_t));
            if (!p)
                return TY_ENOMEM;
            memset(p + c->cap, 0, (nc - c->cap) * sizeof(slot_t));
            c->s = p;
            c->cap = nc;
        }
        slot_t *s = &c->s[c->n];
        ty_record_t rec;
        int raw = 0;
        int rc = ty__reader_next_raw(P->r, &rec, &raw);
        if (rc == 0)
            return 1; /* end of input */
        s->err = 0;
        s->msg[0] = 0;
        s->zlen = s->nh = 0;
        s->need_z = 0;
        s->raw = raw;
        if (rc < 0) {
            s->err = rc;
            snprintf(s->msg, sizeof s->msg, "%s", ty_reader_errmsg(P->r));
            s->len = 0;
            if (copy_str(&s->name, &s->cap_name, "", 0) ||
                copy_str(&s->origin, &s->cap_origin, "", 0))
                return TY_ENOMEM;
        } else {
            const char *nm = rec.name ? rec.name : "";
            if (copy_str(&s->name, &s->cap_name, nm, strlen(nm)) ||
                copy_str(&s->text, &s->cap_text, rec.text, rec.len) ||
                copy_str(&s->origin, &s->cap_origin, rec.origin, strlen(rec.origin)))
                return TY_ENOMEM;
            s->name_len = strlen(nm);
            s->len = rec.len;
            s->line = rec.line;
            c->bytes += rec.len;
        }
        c->n++;
        atomic_fetch_add(&P->docs, 1);
        atomic_fetch_add(&P->text_bytes, rc > 0 ? rec.len : 0);
        atomic_store(&P->input_pos, ty_reader_pos(P->r));
    }
    return 0;
}

static void *reader_main(void *arg)
{
    pool_t *P = arg;
    for (uint64_t seq = 0;; seq++) {
        chunk_t *c = &P->ring[seq % NCHUNK];
        pthread_mutex_lock(&P->mu);
        while (!P->quit && c->state != C_FREE)
            pthread_cond_wait(&P->cv, &P->mu);
        int quit = P->quit;
        pthread_mutex_unlock(&P->mu);
        if (quit)
            break;
        int rc = fill(P, c);
        pthread_mutex_lock(&P->mu);
        if (c->n) {
            c->seq = seq;
            atomic_store(&c->claim, (uint_fast64_t)(seq & 0xffffffffu) << 32);
            atomic_store(&c->done, 0);
            c->state = C_FILLED;
            P->produced = seq + 1;
        }
        if (rc) {
            P->eof = 1;
            if (rc < 0) {
                P->read_err = rc;
                snprintf(P->read_msg, sizeof P->read_msg, "out of memory reading input");
            }
        }
        pthread_cond_broadcast(&P->cv);
        pthread_mutex_unlock(&P->mu);
        if (rc)
            return NULL;
    }
    pthread_mutex_lock(&P->mu);
    P->eof = 1;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

/* ---- prepare (worker threads) ------------------------------------------------------------- */

typedef struct {
    ty_doc_t *doc;
    ZSTD_CCtx *cc;
    ty_jsonl_t js;
    uint64_t *set; /* open-addressing set for deduplicating keys (0 = empty) */
    size_t set_cap;
} wstate_t;

static int dedup_keys(wstate_t *ws, slot_t *s, const ty_seed_t *sd, size_t n)
{
    size_t cap = 64;
    while (cap < n * 2)
        cap <<= 1;
    if (ws->set_cap < cap) {
        free(ws->set);
        ws->set = malloc(cap * sizeof(uint64_t));
        ws->set_cap = ws->set ? cap : 0;
        if (!ws->set)
            return -1;
    }
    memset(ws->set, 0, cap * sizeof(uint64_t));
    if (s->hcap < n) {
        uint64_t *p = realloc(s->h, (n ? n : 1) * sizeof(uint64_t));
        if (!p)
            return -1;
        s->h = p;
        s->hcap = n;
    }
    size_t m = 0, mask = cap - 1;
    int zero_seen = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ty__mkey(sd[i].hash);
        if (h == 0) { /* the empty marker: tracked apart */
            if (!zero_seen)
                s->h[m++] = 0;
            zero_seen = 1;
            continue;
        }
        size_t x = (size_t)(h ^ (h >> 17)) & mask;
        while (ws->set[x] && ws->set[x] != h)
            x = (x + 1) & mask;
        if (!ws->set[x]) {
            ws->set[x] = h;
            s->h[m++] = h;
        }
    }
    s->nh = m;
    return 0;
}

static int compress_slot(ZSTD_CCtx *cc, const ZSTD_CDict *cd, int level, slot_t *s)
{
    size_t bound = ZSTD_compressBound(s->len);
    if (s->zcap < bound) {
        uint8_t *z = realloc(s->z, bound);
        if (!z)
            return TY_ENOMEM;
        s->z = z;
        s->zcap = bound;
    }
    size_t zl = cd ? ZSTD_compress_usingCDict(cc, s->z, s->zcap, s->text, s->len, cd)
                   : ZSTD_compressCCtx(cc, s->z, s->zcap, s->text, s->len, level);
    if (ZSTD_isError(zl)) {
        snprintf(s->msg, sizeof s->msg, "%s: compression failed: %s", s->name,
                 ZSTD_getErrorName(zl));
        return TY_ENOMEM;
    }
    s->zlen = zl;
    s->need_z = 0;
    return TY_OK;
}

static void fail_slot(slot_t *s, int rc)
{
    s->err = rc;
    snprintf(s->msg, sizeof s->msg, "%s: out of memory", s->name);
}

static void prepare(pool_t *P, wstate_t *ws, slot_t *s)
{
    if (s->err)
        return;
    if (s->raw) {
        ty_record_t rec;
        int rc = ty__jsonl_parse(&ws->js, P->ro, s->origin, s->line, s->text, s->len, &rec, s->msg);
        if (rc < 0) {
            s->err = rc;
            return;
        }
        /* the parsed text replaces the line (copied: the parser's buffers are reused) */
        if (copy_str(&s->name, &s->cap_name, rec.name, strlen(rec.name)) ||
            copy_str(&s->text, &s->cap_text, rec.text, rec.len))
            return fail_slot(s, TY_ENOMEM);
        s->name_len = strlen(rec.name);
        s->len = rec.len;
        s->raw = 0;
    }
    int rc = ty_doc_load_mem(ws->doc, s->name, s->text, s->len, P->o);
    if (rc) {
        s->err = rc;
        if (s->line) /* JSONL: say where the record is */
            snprintf(s->msg, sizeof s->msg, "%s:%llu: %s", s->origin, (unsigned long long)s->line,
                     ty_doc_errmsg(ws->doc));
        else
            snprintf(s->msg, sizeof s->msg, "%s", ty_doc_errmsg(ws->doc));
        return;
    }
    s->ncp = ty_doc_ncodepoints(ws->doc);
    s->ntok = ty_doc_ntokens(ws->doc);
    ty_seed_t *sd = NULL;
    size_t n = 0;
    rc = ty_sketch(ws->doc, P->k, P->w, &sd, &n);
    if (rc == TY_OK && dedup_keys(ws, s, sd, n))
        rc = TY_ENOMEM;
    free(sd);
    if (rc)
        return fail_slot(s, rc);
    if (!atomic_load(&P->dict_decided)) {
        s->need_z = 1; /* the writer trains the dictionary first */
        return;
    }
    if ((rc = compress_slot(ws->cc, atomic_load(&P->cdict), P->level, s)) != TY_OK)
        s->err = rc;
}

/* The oldest filled chunk that still has documents to hand out, or NULL. Under P->mu. */
static chunk_t *work_chunk(pool_t *P)
{
    chunk_t *best = NULL;
    for (int i = 0; i < NCHUNK; i++) {
        chunk_t *c = &P->ring[i];
        if (c->state == C_FILLED && (atomic_load(&c->claim) & 0xffffffffu) < c->n &&
            (!best || c->seq < best->seq))
            best = c;
    }
    return best;
}

/* Claim the next document of c in round `round` (n documents): 1 and *i, or 0. */
static int claim(chunk_t *c, uint64_t round, size_t n, size_t *i)
{
    uint_fast64_t v = atomic_load(&c->claim);
    for (;;) {
        if ((v >> 32) != round || (v & 0xffffffffu) >= n)
            return 0;
        if (atomic_compare_exchange_weak(&c->claim, &v, v + 1)) {
            *i = (size_t)(v & 0xffffffffu);
            return 1;
        }
    }
}

static void *worker_main(void *arg)
{
    pool_t *P = arg;
    wstate_t ws;
    memset(&ws, 0, sizeof ws);
    ws.doc = ty_doc_new();
    ws.cc = ZSTD_createCCtx();
    for (;;) {
        pthread_mutex_lock(&P->mu);
        chunk_t *c = NULL;
        while (!P->quit && (c = work_chunk(P)) == NULL)
            pthread_cond_wait(&P->cv, &P->mu);
        int quit = P->quit;
        uint64_t round = c ? c->seq & 0xffffffffu : 0;
        size_t n = c ? c->n : 0, i;
        pthread_mutex_unlock(&P->mu);
        if (quit)
            break;
        while (claim(c, round, n, &i)) {
            slot_t *s = &c->s[i];
            if (!ws.doc || !ws.cc)
                fail_slot(s, TY_ENOMEM);
            else
                prepare(P, &ws, s);
            if (atomic_fetch_add(&c->done, 1) + 1 == n) {
                pthread_mutex_lock(&P->mu);
                c->state = C_PREPARED;
                pthread_cond_broadcast(&P->cv);
                pthread_mutex_unlock(&P->mu);
            }
        }
    }
    ty_doc_free(ws.doc);
    ZSTD_freeCCtx(ws.cc);
    ty__jsonl_free(&ws.js);
    free(ws.set);
    return NULL;
}

/* ---- write (calling thread) --------------------------------------------------------------- */

typedef struct {
    ty_index_t *ix;
    ty_reader_t *r;
    pool_t *P;
    const ty_index_add_opts_t *ao;
    ty_index_progress_t prog;
    struct timespec t0;
    double last_report;
    MDB_txn *txn;
    MDB_cursor *cdocs, *ctext;
    index_counts_t c;
    uint64_t txn_docs, txn_bytes;
    TY_VEC(pair_t) batch; /* TY_INDEX_WRITE: postings of this transaction */
    pair_t *tmp;          /* sort buffer */
    size_t tmp_cap;
    char *last_origin;
    size_t last_origin_cap;
    uint32_t last_file;
    int have_file;
    int stopped;   /* the callback asked to stop */
    ZSTD_CCtx *cc; /* for documents prepared before the dictionary was decided */
} run_t;

static double now_s(const run_t *R)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - R->t0.tv_sec) + (double)(t.tv_nsec - R->t0.tv_nsec) * 1e-9;
}

static int event(run_t *R, int ev, const char *msg)
{
    R->prog.seconds = now_s(R);
    R->prog.docs = atomic_load(&R->P->docs);
    R->prog.text_bytes = atomic_load(&R->P->text_bytes);
    R->prog.input_pos = atomic_load(&R->P->input_pos);
    R->prog.input_size = ty_reader_size(R->r); /* fixed once the paths are queued */
    if (!R->ao->event)
        return ev == TY_EVENT_SKIPPED; /* no callback: an error stops the run */
    return R->ao->event(R->ao->user, ev, msg, &R->prog);
}

static void maybe_progress(run_t *R)
{
    double t = now_s(R);
    if (t - R->last_report >= 0.2) {
        R->last_report = t;
        event(R, TY_EVENT_PROGRESS, "");
    }
}

static int begin_txn(run_t *R)
{
    ty_index_t *ix = R->ix;
    int rc = mdb_txn_begin(ix->env, NULL, 0, &R->txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    if ((rc = mdb_cursor_open(R->txn, ix->docs, &R->cdocs)) ||
        (rc = mdb_cursor_open(R->txn, ix->text, &R->ctext)))
        return ty__mdb_err(ix, rc, "cursor");
    R->txn_docs = R->txn_bytes = 0;
    R->have_file = 0; /* file ids are looked up again per transaction */
    return ty__counts_get(ix, R->txn, &R->c, ix->err);
}

static void abort_txn(run_t *R)
{
    if (R->txn)
        mdb_txn_abort(R->txn); /* closes the cursors too */
    R->txn = NULL;
    R->cdocs = R->ctext = NULL;
}

static int sort_buf(run_t *R, size_t n)
{
    if (R->tmp_cap < n) {
        free(R->tmp);
        R->tmp = malloc(n * sizeof(pair_t));
        R->tmp_cap = R->tmp ? n : 0;
        if (!R->tmp)
            return ty__err(R->ix->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

/* Commit the open transaction (TY_INDEX_WRITE: with this batch's postings as a segment). */
static int commit_txn(run_t *R, int reopen)
{
    ty_index_t *ix = R->ix;
    int rc = TY_OK;
    if (ix->mode == TY_INDEX_WRITE && R->batch.n) {
        rc = sort_buf(R, R->batch.n);
        if (!rc) {
            ty__sort_pairs(R->batch.a, R->tmp, R->batch.n);
            rc = ty__segment_from_pairs(ix, R->txn, R->batch.a, R->batch.n, &R->c);
        }
    }
    if (!rc)
        rc = ty__counts_put(ix, R->txn, &R->c);
    if (rc) {
        abort_txn(R);
        return rc;
    }
    mdb_cursor_close(R->cdocs);
    mdb_cursor_close(R->ctext);
    R->cdocs = R->ctext = NULL;
    rc = mdb_txn_commit(R->txn);
    R->txn = NULL;
    if (rc)
        return ty__mdb_err(ix, rc, "commit");
    R->batch.n = 0;
    R->prog.committed = R->c.docs;
    if (R->txn_docs && event(R, TY_EVENT_COMMIT, ""))
        R->stopped = 1;
    if (ix->mode == TY_INDEX_WRITE && (rc = ty__merge_tiers(ix)) != TY_OK)
        return rc;
    return reopen ? begin_txn(R) : TY_OK;
}

static int file_id(run_t *R, const slot_t *s, uint32_t *id)
{
    if (R->have_file && strcmp(R->last_origin, s->origin) == 0) {
        *id = R->last_file;
        return TY_OK;
    }
    ty_index_t *ix = R->ix;
    uint8_t kb[4];
    ty__be32(kb, R->c.next_file);
    MDB_val k = {4, kb}, v = {strlen(s->origin), s->origin};
    int rc = mdb_put(R->txn, ix->files, &k, &v, MDB_APPEND);
    if (rc)
        return ty__mdb_err(ix, rc, "writing file record");
    if (copy_str(&R->last_origin, &R->last_origin_cap, s->origin, strlen(s->origin)))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    R->last_file = R->c.next_file++;
    R->have_file = 1;
    *id = R->last_file;
    return TY_OK;
}

/* ---- the names of a new index, in memory ---------------------------------------------------- */

typedef struct {
    uint8_t key[16];
    uint32_t id;
} name_ent_t;

struct build_names {
    TY_VEC(name_ent_t) e;
    uint32_t *tab; /* open addressing: index + 1 into e, 0 = empty */
    size_t cap;
};

void ty__build_names_free(struct build_names *bn)
{
    if (!bn)
        return;
    free(bn->e.a);
    free(bn->tab);
    free(bn);
}

static size_t name_slot(const struct build_names *bn, const uint8_t key[16])
{
    uint64_t h;
    memcpy(&h, key, 8); /* the key is a hash already */
    size_t x = (size_t)h & (bn->cap - 1);
    while (bn->tab[x] && memcmp(bn->e.a[bn->tab[x] - 1].key, key, 16) != 0)
        x = (x + 1) & (bn->cap - 1);
    return x;
}

/* 1 if key is there (*id set), 0 if it was added with id, or TY_ENOMEM. */
static int build_name(ty_index_t *ix, const uint8_t key[16], uint32_t *id)
{
    struct build_names *bn = ix->bnames;
    if (!bn && (bn = ix->bnames = calloc(1, sizeof(*bn))) == NULL)
        return TY_ENOMEM;
    if ((bn->e.n + 1) * 2 > bn->cap) {
        size_t nc = bn->cap ? bn->cap * 2 : 1024;
        uint32_t *t = calloc(nc, sizeof(uint32_t));
        if (!t)
            return TY_ENOMEM;
        free(bn->tab);
        bn->tab = t;
        bn->cap = nc;
        for (size_t i = 0; i < bn->e.n; i++)
            bn->tab[name_slot(bn, bn->e.a[i].key)] = (uint32_t)i + 1;
    }
    size_t x = name_slot(bn, key);
    if (bn->tab[x]) {
        *id = bn->e.a[bn->tab[x] - 1].id;
        return 1;
    }
    name_ent_t e;
    memcpy(e.key, key, 16);
    e.id = *id;
    if (ty_vec_push(bn->e, e))
        return TY_ENOMEM;
    bn->tab[x] = (uint32_t)bn->e.n;
    return 0;
}

#define SKIPPED_NAME UINT32_MAX /* a name given to ty_index_skip_names(): not ours */

int ty_index_skip_names(ty_index_t *ix, const char *const *names, size_t n)
{
    if (!ix || (n && !names))
        return TY_EINVAL;
    if (ix->shards)
        return ty__shards_readonly(ix, "add documents");
    if (!ix->env || ix->mode != TY_INDEX_CREATE || ix->finished)
        return ty__err(ix->err, TY_EINVAL, "%s: names to skip are given to a new index only",
                       ix->path ? ix->path : "index");
    for (size_t i = 0; i < n; i++) {
        uint8_t key[16];
        uint32_t id = SKIPPED_NAME;
        ty__name_key(names[i], strlen(names[i]), key);
        if (build_name(ix, key, &id) < 0)
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

static int cmp_name_ent(const void *a, const void *b)
{
    return memcmp(((const name_ent_t *)a)->key, ((const name_ent_t *)b)->key, 16);
}

int ty__build_names_flush(ty_index_t *ix, MDB_txn **txnp)
{
    struct build_names *bn = ix->bnames;
    if (!bn || !bn->e.n)
        return TY_OK;
    free(bn->tab); /* not needed any more: room for the sort */
    bn->tab = NULL;
    bn->cap = 0;
    qsort(bn->e.a, bn->e.n, sizeof(name_ent_t), cmp_name_ent);
    MDB_cursor *c;
    int rc = mdb_cursor_open(*txnp, ix->names, &c);
    for (size_t i = 0; !rc && i < bn->e.n; i++) {
        uint32_t id = bn->e.a[i].id;
        if (id == SKIPPED_NAME)
            continue;
        uint8_t le[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
        MDB_val k = {16, bn->e.a[i].key}, v = {4, le};
        rc = mdb_cursor_put(c, &k, &v, MDB_APPEND);
        if (!rc && (i + 1) % 500000 == 0) { /* a build's file is not in place: commit freely */
            mdb_cursor_close(c);
            rc = mdb_txn_commit(*txnp);
            *txnp = NULL;
            if (!rc)
                rc = mdb_txn_begin(ix->env, NULL, 0, txnp);
            if (!rc)
                rc = mdb_cursor_open(*txnp, ix->names, &c);
            if (rc)
                c = NULL;
        }
    }
    if (c)
        mdb_cursor_close(c);
    return rc ? ty__mdb_err(ix, rc, "writing names") : TY_OK;
}

/* Store one prepared document. */
static int write_doc(run_t *R, slot_t *s)
{
    ty_index_t *ix = R->ix;
    if (!s->err && s->need_z) {
        int rc = compress_slot(R->cc, atomic_load(&R->P->cdict), R->P->level, s);
        if (rc)
            s->err = rc;
    }
    if (s->err) {
        R->prog.skipped++;
        if (event(R, TY_EVENT_SKIPPED, s->msg))
            R->stopped = 1;
        return TY_OK;
    }
    uint8_t nk[16];
    ty__name_key(s->name, s->name_len, nk);
    MDB_val k = {16, nk}, v;
    int rc;
    if (R->c.docs >= UINT32_MAX)
        return ty__err(ix->err, TY_ETOOBIG, "%s: full (%llu documents)", ix->path,
                       (unsigned long long)R->c.docs);
    uint32_t id = (uint32_t)R->c.docs, fid = 0;
    if (ix->mode == TY_INDEX_CREATE) {
        uint32_t known = id;
        rc = build_name(ix, nk, &known);
        if (rc < 0)
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        rc = rc == 1 ? 0 : MDB_NOTFOUND; /* 0: a duplicate, as mdb_get() would say */
    } else {
        rc = mdb_get(R->txn, ix->names, &k, &v);
    }
    if (rc == 0) {
        R->prog.skipped++;
        char msg[TY_ERRMSG_SIZE];
        if (s->line)
            snprintf(msg, sizeof msg, "%s:%llu: a document named '%s' is already indexed",
                     s->origin, (unsigned long long)s->line, s->name);
        else
            snprintf(msg, sizeof msg, "%s: a document of this name is already indexed", s->name);
        if (R->ao->event && event(R, TY_EVENT_DUPLICATE, msg))
            R->stopped = 1;
        return TY_OK;
    }
    if (rc != MDB_NOTFOUND)
        return ty__mdb_err(ix, rc, "reading names");
    if ((rc = file_id(R, s, &fid)) != TY_OK)
        return rc;
    uint8_t ib[4], rb[64 + 16];
    ty__be32(ib, id);
    uint8_t le[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    MDB_val vid = {4, le};
    if (ix->mode == TY_INDEX_WRITE &&
        (rc = mdb_put(R->txn, ix->names, &k, &vid, MDB_NOOVERWRITE)) != 0)
        return ty__mdb_err(ix, rc, "writing name");
    doc_rec_t dr = {(uint64_t)fid + 1, s->line, s->len, s->ncp, s->ntok, s->name, s->name_len};
    uint8_t *recb = s->name_len <= 16 ? rb : malloc(64 + s->name_len);
    if (!recb)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    size_t rl = ty__docrec_encode(&dr, recb);
    MDB_val dk = {4, ib}, dv = {rl, recb};
    rc = mdb_cursor_put(R->cdocs, &dk, &dv, MDB_APPEND);
    if (recb != rb)
        free(recb);
    if (rc)
        return ty__mdb_err(ix, rc, "writing document");
    MDB_val tv = {s->zlen, s->z};
    if ((rc = mdb_cursor_put(R->ctext, &dk, &tv, MDB_APPEND)))
        return ty__mdb_err(ix, rc, "writing text");
    /* postings */
    if (ix->mode == TY_INDEX_CREATE) {
        /* the run buffer at its final size at once: doubling would overshoot it by half */
        if (!ix->pend.m && ty_vec_reserve(ix->pend, R->ao->run_pairs + 65536))
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        if (ty_vec_reserve(ix->pend, ix->pend.n + s->nh))
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        for (size_t i = 0; i < s->nh; i++)
            ix->pend.a[ix->pend.n++] = (pair_t){s->h[i], id, 0};
        if (ix->pend.n >= R->ao->run_pairs) {
            if ((rc = sort_buf(R, ix->pend.n)) != TY_OK)
                return rc;
            ty__sort_pairs(ix->pend.a, R->tmp, ix->pend.n);
            if ((rc = ty__run_from_pairs(ix, ix->pend.a, ix->pend.n)) != TY_OK)
                return rc;
            ix->pend.n = 0;
        }
    } else {
        if (ty_vec_reserve(R->batch, R->batch.n + s->nh))
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        for (size_t i = 0; i < s->nh; i++)
            R->batch.a[R->batch.n++] = (pair_t){s->h[i], id, 0};
    }
    R->c.docs++;
    R->c.codepoints += s->ncp;
    R->c.bytes += s->len;
    R->c.stored_bytes += s->zlen;
    R->txn_docs++;
    R->txn_bytes += s->len;
    if (ix->mode == TY_INDEX_WRITE ? R->txn_docs >= R->ao->commit_docs
                                   : R->txn_bytes >= BUILD_COMMIT_BYTES)
        return commit_txn(R, 1);
    return TY_OK;
}

/* New index: train the text dictionary on the first chunk's documents and store it. */
static int decide_dict(run_t *R, chunk_t *c)
{
    ty_index_t *ix = R->ix;
    pool_t *P = R->P;
    int rc = TY_OK;
    if (ix->mode == TY_INDEX_CREATE) {
        size_t total = 0, n = 0;
        for (size_t i = 0; i < c->n; i++)
            if (!c->s[i].err) {
                total += c->s[i].len;
                n++;
            }
        if (total >= DICT_MIN_SAMPLE && n >= 16) {
            char *samp = malloc(total);
            size_t *sizes = malloc(n * sizeof(size_t));
            size_t dsz = total / 16 < DICT_MAX ? total / 16 : DICT_MAX;
            void *dict = malloc(dsz);
            if (samp && sizes && dict) {
                size_t off = 0, j = 0;
                for (size_t i = 0; i < c->n; i++)
                    if (!c->s[i].err) {
                        memcpy(samp + off, c->s[i].text, c->s[i].len);
                        off += c->s[i].len;
                        sizes[j++] = c->s[i].len;
                    }
                size_t dl = ZDICT_trainFromBuffer(dict, dsz, samp, sizes, (unsigned)n);
                /* a failed training (too little variety) only means: no dictionary */
                if (!ZDICT_isError(dl))
                    rc = ty__index_set_dict(ix, R->txn, dict, dl);
            }
            free(samp);
            free(sizes);
            free(dict);
        }
    }
    atomic_store(&P->cdict, ix->cdict);
    atomic_store(&P->dict_decided, 1);
    return rc;
}

static int write_chunk(run_t *R, chunk_t *c)
{
    if (!atomic_load(&R->P->dict_decided)) {
        int rc = decide_dict(R, c);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < c->n && !R->stopped; i++) {
        int rc = write_doc(R, &c->s[i]);
        if (rc)
            return rc;
        if ((i & 63) == 0)
            maybe_progress(R);
    }
    return TY_OK;
}

static void chunk_free(chunk_t *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        free(c->s[i].name);
        free(c->s[i].text);
        free(c->s[i].origin);
        free(c->s[i].z);
        free(c->s[i].h);
    }
    free(c->s);
}

/* Wait until chunk seq is prepared (1), the input ended before it (0) or reading failed. */
static int wait_chunk(run_t *R, uint64_t seq, chunk_t **out)
{
    pool_t *P = R->P;
    chunk_t *c = &P->ring[seq % NCHUNK];
    pthread_mutex_lock(&P->mu);
    for (;;) {
        if (c->state == C_PREPARED && c->seq == seq) {
            pthread_mutex_unlock(&P->mu);
            *out = c;
            return 1;
        }
        if (P->eof && P->produced <= seq) {
            int e = P->read_err;
            pthread_mutex_unlock(&P->mu);
            return e ? ty__err(R->ix->err, e, "%s: %s", R->ix->path, P->read_msg) : 0;
        }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 200000000;
        if (t.tv_nsec >= 1000000000) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000;
        }
        int w = pthread_cond_timedwait(&P->cv, &P->mu, &t);
        if (w == ETIMEDOUT) {
            pthread_mutex_unlock(&P->mu);
            maybe_progress(R);
            pthread_mutex_lock(&P->mu);
        }
    }
}

int ty_index_add_docs(ty_index_t *ix, ty_reader_t *r, const ty_opts_t *o,
                      const ty_index_add_opts_t *ao)
{
    if (ix && ix->shards)
        return ty__shards_readonly(ix, "add documents");
    if (!ix || !ix->env || !r || !o || ix->mode == TY_INDEX_READ || ix->finished)
        return TY_EINVAL;
    ty_index_add_opts_t dflt, given;
    ty_index_add_opts_init(&dflt);
    if (ao) { /* zero sizes mean the defaults */
        given = *ao;
        if (!given.commit_docs)
            given.commit_docs = dflt.commit_docs;
        if (!given.run_pairs)
            given.run_pairs = dflt.run_pairs;
        ao = &given;
    } else {
        ao = &dflt;
    }
    ix->err[0] = 0;
    pool_t *P = calloc(1, sizeof(pool_t));
    if (!P)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    run_t R;
    memset(&R, 0, sizeof R);
    R.ix = ix;
    R.r = r;
    R.P = P;
    R.ao = ao;
    R.cc = ZSTD_createCCtx();
    clock_gettime(CLOCK_MONOTONIC, &R.t0);
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cv, NULL);
    P->r = r;
    P->ro = ty__reader_opts(r);
    P->o = o;
    P->k = (int)ix->hdr.k;
    P->w = (int)ix->hdr.w;
    P->level = (int)ix->hdr.zstd_level;
    /* an existing index has decided its dictionary (possibly none) when it was built */
    if (ix->mode == TY_INDEX_WRITE || ix->dict_decided) {
        atomic_store(&P->cdict, ix->cdict);
        atomic_store(&P->dict_decided, 1);
    }
    int nthreads = ao->threads < 1 ? 1 : ao->threads > 1024 ? 1024 : ao->threads;
    pthread_t *th = calloc((size_t)nthreads + 1, sizeof(pthread_t));
    int nw = 0, reader_started = 0;
    int rc = R.cc && th ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (!rc)
        rc = begin_txn(&R);
    R.prog.committed = R.c.docs;
    if (!rc) {
        for (int t = 0; t < nthreads; t++) {
            if (pthread_create(&th[t], NULL, worker_main, P) != 0)
                break;
            nw++;
        }
        if (!nw || pthread_create(&th[nthreads], NULL, reader_main, P) != 0)
            rc = ty__err(ix->err, TY_ENOMEM, "%s: cannot start threads", ix->path);
        else
            reader_started = 1;
    }
    for (uint64_t seq = 0; !rc && !R.stopped; seq++) {
        chunk_t *c = NULL;
        int got = wait_chunk(&R, seq, &c);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = write_chunk(&R, c);
        pthread_mutex_lock(&P->mu);
        c->state = C_FREE;
        pthread_cond_broadcast(&P->cv);
        pthread_mutex_unlock(&P->mu);
        maybe_progress(&R);
    }
    /* the last transaction; an add that added nothing has nothing to commit (a build
     * commits anyway: the dictionary may be in it) */
    if (!rc && R.txn && (R.txn_docs || ix->mode == TY_INDEX_CREATE))
        rc = commit_txn(&R, 0);
    if (!rc)
        ix->dict_decided = atomic_load(&P->dict_decided);
    abort_txn(&R);
    pthread_mutex_lock(&P->mu);
    P->quit = 1;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    for (int t = 0; t < nw; t++)
        pthread_join(th[t], NULL);
    if (reader_started)
        pthread_join(th[nthreads], NULL);
    if (!rc && R.stopped)
        rc = ty__err(ix->err, TY_EINVAL, "%s: stopped after %llu documents", ix->path,
                     (unsigned long long)R.c.docs);
    if (!rc)
        event(&R, TY_EVENT_PROGRESS, ""); /* the final figures */
    free(th);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cv);
    for (int i = 0; i < NCHUNK; i++)
        chunk_free(&P->ring[i]);
    free(P);
    ZSTD_freeCCtx(R.cc);
    free(R.batch.a);
    free(R.tmp);
    free(R.last_origin);
    return rc;
}
