/*
 * index_add.c — ty_index_add_docs(): every document of a reader added to the corpus index,
 * on all cores — ty_index_add_doc()'s steps (index_write.c) as an ordered pipeline
 * (ty__pipeline, thread.h) over a ring of chunks (about a thousand documents each):
 *   read     fills the next chunk from the ty_reader_t: whole-file documents, or JSONL lines
 *            left unparsed (JSON decoding is slow, so it is done in parallel);
 *   prepare  the chunk's documents on --threads threads (ty__for): parse the JSON line, then
 *            prepare it as ty_index_add_doc() does (tokenize, sketch, compress);
 *   write    the calling thread stores each prepared chunk in input order — document ids
 *            follow the input whatever --threads is — in transactions of many documents.
 *            Events (progress, skipped records, commits, warnings) are reported from this
 *            thread only.
 * Reading the next chunk, preparing this one and writing the one before run at once.

 * Postings are not inserted one at a time: they are collected, sorted and written as one
 * segment per commit (TY_INDEX_WRITE) or as sorted runs merged once at the end
 * (TY_INDEX_CREATE, see index_build.c).
 *
 * Stored texts are compressed with a zstd dictionary trained on the first chunk of a new
 * index (stored in the index; an add uses the index's dictionary): documents are short,
 * and a dictionary of common characters and phrases takes a 2 KB Chinese text from about
 * 74 % of its size to about 52 % (measured on scale_gen.py documents), and compresses faster.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zdict.h>

#include "index_impl.h"
#include "input.h"
#include "thread.h"

#define PIPE_THREADS 2 /* pipeline threads: one reads a chunk while one prepares the one before */
#define NCHUNK (PIPE_THREADS + 2) /* chunks in flight at most (thread.h): the ring */
#define CHUNK_DOCS 1024
#define CHUNK_BYTES ((size_t)8 << 20)
#define BUILD_COMMIT_BYTES ((uint64_t)64 << 20) /* TY_INDEX_CREATE: text per transaction */
#define DICT_MAX 112640                         /* zstd's default dictionary size */
#define DICT_MIN_SAMPLE (256 << 10)             /* train only on this much text or more */

typedef struct {
    /* input, copied from the record */
    char *name, *text, *origin;
    size_t name_len, len, cap_name, cap_text, cap_origin;
    uint64_t line;
    int raw; /* text holds an unparsed JSONL line */
    int err; /* a reader error (message in msg), or after prepare a tokenize error */
    char msg[TY_ERRMSG_SIZE];
    ty_prep_t prep; /* prepared */
    int need_z;     /* prepared before the dictionary was decided: compress at write time */
} slot_t;

typedef struct {
    slot_t *s;
    size_t n, cap;
    size_t bytes;
} chunk_t;

/* Per-thread state of the prepare step. */
typedef struct {
    ty_prep_ws_t ws;
    ty_jsonl_t js;
    int ok; /* ws could be set up; if not, its documents fail with TY_ENOMEM */
} wstate_t;

typedef struct {
    chunk_t ring[NCHUNK];
    uint64_t seq; /* read: chunks filled so far */
    int eof;      /* read: the input has ended ... */
    int read_err; /* ... on this error (message in read_msg) */
    char read_msg[TY_ERRMSG_SIZE];
    atomic_int stop; /* write: stop reading (an error, or the callback asked to stop) */
    /* progress, written by the read step */
    atomic_uint_fast64_t docs, text_bytes, input_pos;
    /* prepare */
    chunk_t *cur; /* the chunk being prepared */
    wstate_t *wk; /* per thread */
    int nthreads;
    /* settings */
    ty_reader_t *r;
    const ty_reader_opts_t *ro;
    const ty_opts_t *o;
    int k, w;
    int level;
    const ZSTD_CDict *_Atomic cdict; /* the dictionary, once decided (may stay NULL) */
    atomic_int dict_decided;
} pool_t;

/* ---- read (step 0) -------------------------------------------------------------------------- */

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
        s->prep.zlen = s->prep.nh = 0;
        s->need_z = 0;
        s->raw = raw;
        if (rc < 0) {
            s->err = rc;
            snprintf(s->msg, sizeof s->msg, "%s", ty_reader_errmsg(P->r));
            s->len = 0;
            if (ty__copy_str(&s->name, &s->cap_name, "", 0) ||
                ty__copy_str(&s->origin, &s->cap_origin, "", 0))
                return TY_ENOMEM;
        } else {
            const char *nm = rec.name ? rec.name : "";
            if (ty__copy_str(&s->name, &s->cap_name, nm, strlen(nm)) ||
                ty__copy_str(&s->text, &s->cap_text, rec.text, rec.len) ||
                ty__copy_str(&s->origin, &s->cap_origin, rec.origin, strlen(rec.origin)))
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

/* ---- prepare (step 1, on --threads threads) ------------------------------------------------ */

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
        if (ty__copy_str(&s->name, &s->cap_name, rec.name, strlen(rec.name)) ||
            ty__copy_str(&s->text, &s->cap_text, rec.text, rec.len))
            return fail_slot(s, TY_ENOMEM);
        s->name_len = strlen(rec.name);
        s->len = rec.len;
        s->raw = 0;
    }
    int rc = ty__prep_sketch(&ws->ws, P->o, P->k, P->w, s->name, s->text, s->len, s->origin,
                             s->line, &s->prep, s->msg);
    if (rc) {
        s->err = rc;
        return;
    }
    if (!atomic_load(&P->dict_decided)) {
        s->need_z = 1; /* the writer trains the dictionary first */
        return;
    }
    rc = ty__prep_compress(ws->ws.cc, atomic_load(&P->cdict), P->level, s->name, s->text, s->len,
                           &s->prep, s->msg);
    if (rc)
        s->err = rc;
}

/* Document i of the chunk being prepared, on thread tid (ty__for). */
static void prepare_one(void *arg, size_t i, int tid)
{
    pool_t *P = arg;
    slot_t *s = &P->cur->s[i];
    if (!P->wk[tid].ok)
        fail_slot(s, TY_ENOMEM);
    else
        prepare(P, &P->wk[tid], s);
}

/* ---- write (step 2, calling thread) --------------------------------------------------------- */

typedef struct {
    ty_index_t *ix;
    ty_reader_t *r;
    pool_t *P;
    const ty_index_add_opts_t *ao;
    ty_index_progress_t prog;
    struct timespec t0;
    double last_report;
    ty_wtxn_t *t;  /* the write transaction (ix->wtxn) */
    int rc;        /* the error that stopped the run */
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

/* Commit the open transaction (then, TY_INDEX_WRITE, merge: a failure there is a warning). */
static int commit_txn(run_t *R, int reopen)
{
    ty_index_t *ix = R->ix;
    uint64_t had = ty__wtxn_pending(R->t);
    int rc = ty__wtxn_commit(ix, R->t);
    if (rc)
        return rc;
    R->prog.committed = ty__wtxn_docs(R->t);
    if (had && event(R, TY_EVENT_COMMIT, ""))
        R->stopped = 1;
    if (ty__wtxn_merge(ix) && event(R, TY_EVENT_WARNING, ix->warn))
        R->stopped = 1;
    return reopen ? ty__wtxn_begin(ix, R->t) : TY_OK;
}

/* Store one prepared document. */
static int write_doc(run_t *R, slot_t *s)
{
    ty_index_t *ix = R->ix;
    if (!s->err && s->need_z) {
        int rc = ty__prep_compress(R->cc, atomic_load(&R->P->cdict), R->P->level, s->name, s->text,
                                   s->len, &s->prep, s->msg);
        if (rc)
            s->err = rc;
        s->need_z = 0;
    }
    if (s->err) {
        R->prog.skipped++;
        if (event(R, TY_EVENT_SKIPPED, s->msg))
            R->stopped = 1;
        return TY_OK;
    }
    int rc = ty__wtxn_store(ix, R->t, s->name, s->name_len, s->origin, s->line, s->len, &s->prep,
                            R->ao->run_pairs, NULL);
    if (rc == TY_EEXIST) {
        R->prog.skipped++;
        if (R->ao->event && event(R, TY_EVENT_DUPLICATE, ix->err))
            R->stopped = 1;
        ix->err[0] = 0;
        return TY_OK;
    }
    if (rc)
        return rc;
    if (ix->mode == TY_INDEX_WRITE ? ty__wtxn_pending(R->t) >= R->ao->commit_docs
                                   : ty__wtxn_pending_bytes(R->t) >= BUILD_COMMIT_BYTES)
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
                    rc = ty__part_set_dict(&ix->part[0], ty__wtxn_txn(R->t), dict, dl, ix->err);
            }
            TY_FREE(samp, sizes, dict);
        }
    }
    atomic_store(&P->cdict, ix->part[0].cdict);
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
        TY_FREE(c->s[i].name, c->s[i].text, c->s[i].origin);
        ty__prep_free(&c->s[i].prep);
    }
    free(c->s);
}

/* ---- the pipeline ------------------------------------------------------------------------ */

/* Step 0: the next chunk, or NULL when the input has ended (or the writer stopped). */
static chunk_t *read_chunk(pool_t *P)
{
    if (P->eof || atomic_load(&P->stop))
        return NULL;
    chunk_t *c = &P->ring[P->seq++ % NCHUNK];
    int rc = fill(P, c);
    if (rc) { /* the chunk read so far is still written */
        P->eof = 1;
        if (rc < 0) {
            P->read_err = rc;
            snprintf(P->read_msg, sizeof P->read_msg, "out of memory reading input");
        }
    }
    return c->n ? c : NULL;
}

static void *step(void *shared, int s, void *in)
{
    run_t *R = shared;
    pool_t *P = R->P;
    chunk_t *c = in;
    if (s == 0)
        return read_chunk(P);
    if (s == 1) {
        P->cur = c;
        if (ty__for(P->nthreads, prepare_one, P, c->n))
            for (size_t i = 0; i < c->n; i++)
                fail_slot(&c->s[i], TY_ENOMEM);
        return c;
    }
    if (R->rc || R->stopped)
        return NULL; /* the chunks read before the stop reached the reader are dropped */
    if (s == 2) {
        R->rc = write_chunk(R, c);
        if (R->rc || R->stopped)
            atomic_store(&P->stop, 1);
    }
    maybe_progress(R); /* after a chunk, and while waiting for the next (TY__STEP_WAIT) */
    return NULL;
}

void ty_index_add_opts_init(ty_index_add_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->threads = 1;
    o->commit_docs = 10000;
    o->run_pairs = TY_RUN_PAIRS_DEFAULT;
}

int ty_index_add_docs(ty_index_t *ix, ty_reader_t *r, const ty_opts_t *o,
                      const ty_index_add_opts_t *ao)
{
    if (ix && ix->shards)
        return ty__shards_readonly(ix, "add documents");
    if (!ix || !ix->nparts || !ix->part[0].env || !r || !o || ix->mode == TY_INDEX_READ ||
        ix->finished)
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
    ix->err[0] = ix->warn[0] = 0;
    if (!ix->wtxn && !(ix->wtxn = ty__wtxn_new()))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    pool_t *P = calloc(1, sizeof(pool_t));
    if (!P)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    run_t R;
    memset(&R, 0, sizeof R);
    R.ix = ix;
    R.r = r;
    R.P = P;
    R.ao = ao;
    R.t = ix->wtxn;
    R.cc = ZSTD_createCCtx();
    clock_gettime(CLOCK_MONOTONIC, &R.t0);
    P->r = r;
    P->ro = ty__reader_opts(r);
    P->o = o;
    P->k = (int)ix->hdr.k;
    P->w = (int)ix->hdr.w;
    P->level = (int)ix->hdr.zstd_level;
    /* an existing index has decided its dictionary (possibly none) when it was built */
    if (ix->mode == TY_INDEX_WRITE || ix->dict_decided) {
        atomic_store(&P->cdict, ix->part[0].cdict);
        atomic_store(&P->dict_decided, 1);
    }
    P->nthreads = ao->threads < 1 ? 1 : ao->threads > 1024 ? 1024 : ao->threads;
    P->wk = calloc((size_t)P->nthreads, sizeof(wstate_t));
    int rc = R.cc && P->wk ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    for (int t = 0; !rc && t < P->nthreads; t++)
        P->wk[t].ok = ty__prep_ws_init(&P->wk[t].ws) == TY_OK;
    if (!rc)
        rc = ty__wtxn_begin(ix, R.t);
    R.prog.committed = ty__wtxn_docs(R.t);
    if (!rc && ty__pipeline(PIPE_THREADS, step, &R, 3))
        rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (!rc)
        rc = R.rc;
    if (!rc && !R.stopped && P->read_err)
        rc = ty__err(ix->err, P->read_err, "%s: %s", ix->path, P->read_msg);
    /* the last transaction; an add that added nothing has nothing to commit (a build
     * commits anyway: the dictionary may be in it) */
    if (!rc && ty__wtxn_txn(R.t) && (ty__wtxn_pending(R.t) || ix->mode == TY_INDEX_CREATE))
        rc = commit_txn(&R, 0);
    if (!rc)
        ix->dict_decided = atomic_load(&P->dict_decided);
    else if (ix->mode == TY_INDEX_CREATE)
        ix->broken = 1; /* names and postings of an aborted transaction are held in memory */
    ty__wtxn_abort(R.t);
    if (!rc && R.stopped)
        rc = ty__err(ix->err, TY_ECANCELED, "%s: stopped after %llu documents", ix->path,
                     (unsigned long long)ty__wtxn_docs(R.t));
    if (!rc)
        event(&R, TY_EVENT_PROGRESS, ""); /* the final figures */
    for (int t = 0; P->wk && t < P->nthreads; t++) {
        ty__prep_ws_free(&P->wk[t].ws);
        ty__jsonl_free(&P->wk[t].js);
    }
    free(P->wk);
    for (int i = 0; i < NCHUNK; i++)
        chunk_free(&P->ring[i]);
    free(P);
    ZSTD_freeCCtx(R.cc);
    return rc;
}
