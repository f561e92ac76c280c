/*
 * index_add.c — ty_index_add_docs(): every document of a reader added to the corpus index,
 * on all cores — ty_index_add_doc()'s steps (index_write.c) in a pipeline over a ring of
 * chunks (about a thousand documents each):
 *   read     a reader thread fills a free chunk from the ty_reader_t: whole-file documents,
 *            or JSONL lines left unparsed (JSON decoding is slow, so it is done in parallel);
 *   prepare  worker threads take the documents of the oldest filled chunks one at a time:
 *            parse the JSON line, then prepare it as ty_index_add_doc() does (tokenize,
 *            sketch, compress);
 *   write    the calling thread stores each prepared chunk in input order — document ids
 *            follow the input whatever --threads is — in transactions of many documents.
 *            Events (progress, skipped records, commits, warnings) are reported from this
 *            thread only.
 *
 * Postings are not inserted one at a time: they are collected, sorted and written as one
 * segment per commit (TY_INDEX_WRITE) or as sorted runs merged once at the end
 * (TY_INDEX_CREATE, see index_build.c).
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

#include "index_impl.h"
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
    ty_prep_t prep; /* prepared */
    int need_z;     /* prepared before the dictionary was decided: compress at write time */
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
    ty_prep_ws_t ws;
    ty_jsonl_t js;
} wstate_t;

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
    int ok = ty__prep_ws_init(&ws.ws) == TY_OK;
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
            if (!ok)
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
    ty__prep_ws_free(&ws.ws);
    ty__jsonl_free(&ws.js);
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
    ty_wtxn_t *t;  /* the write transaction (ix->wtxn) */
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
            free(samp);
            free(sizes);
            free(dict);
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
        free(c->s[i].name);
        free(c->s[i].text);
        free(c->s[i].origin);
        ty__prep_free(&c->s[i].prep);
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
        atomic_store(&P->cdict, ix->part[0].cdict);
        atomic_store(&P->dict_decided, 1);
    }
    int nthreads = ao->threads < 1 ? 1 : ao->threads > 1024 ? 1024 : ao->threads;
    pthread_t *th = calloc((size_t)nthreads + 1, sizeof(pthread_t));
    int nw = 0, reader_started = 0;
    int rc = R.cc && th ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (!rc)
        rc = ty__wtxn_begin(ix, R.t);
    R.prog.committed = ty__wtxn_docs(R.t);
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
    if (!rc && ty__wtxn_txn(R.t) && (ty__wtxn_pending(R.t) || ix->mode == TY_INDEX_CREATE))
        rc = commit_txn(&R, 0);
    if (!rc)
        ix->dict_decided = atomic_load(&P->dict_decided);
    else if (ix->mode == TY_INDEX_CREATE)
        ix->broken = 1; /* names and postings of an aborted transaction are held in memory */
    ty__wtxn_abort(R.t);
    pthread_mutex_lock(&P->mu);
    P->quit = 1;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    for (int t = 0; t < nw; t++)
        pthread_join(th[t], NULL);
    if (reader_started)
        pthread_join(th[nthreads], NULL);
    if (!rc && R.stopped)
        rc = ty__err(ix->err, TY_ECANCELED, "%s: stopped after %llu documents", ix->path,
                     (unsigned long long)ty__wtxn_docs(R.t));
    if (!rc)
        event(&R, TY_EVENT_PROGRESS, ""); /* the final figures */
    free(th);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cv);
    for (int i = 0; i < NCHUNK; i++)
        chunk_free(&P->ring[i]);
    free(P);
    ZSTD_freeCCtx(R.cc);
    return rc;
}
