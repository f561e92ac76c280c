/*
 * serve.c — `tongyuan serve -x INDEX --listen ADDR`: the corpus index as an HTTP service, on
 * libmicrohttpd with its own thread pool.
 *
 *   POST   /v1/check      {"text", "name"?, "min_len"?, "min_score"?, "max_sources"?}
 *                         → {"name", "chars", "sources": [{"src", "id", "score", "covered",
 *                            "shared", "passages": [the JSONL fields of `compare`],
 *                            "also"?: [{"src", "id", "shared", "score"?}], "also_more"?}]}
 *   POST   /v1/report     the same request → the self-contained HTML report (text/html)
 *   POST   /v1/docs       {"id", "text"} → added and committed before the reply; 409 if taken
 *   GET    /v1/docs/{id}  the stored document; DELETE /v1/docs/{id} deletes it (tombstone)
 *   GET    /v1/stats      what the index holds;  GET /healthz;  GET / the page for people
 *
 * Threads: libmicrohttpd's pool threads run the handlers. Each thread makes, on its first
 * query, its own searcher and aligner on the one shared index handle (no locks on the query
 * path); writes (add, delete) and the calls that report through the handle's message buffer
 * (stats, find, get) take one mutex. The handle is opened TY_INDEX_WRITE when writes are
 * enabled (--token-file): LMDB wants one environment per process, and a searcher's read
 * transaction sees what the writer has committed.
 *
 * Adding a document from memory: the library reads documents through a ty_reader_t, which
 * reads files; the document is written as one JSONL line to a private spool file and added
 * from there (its recorded origin is that file). Deleting is by tombstone (index_del.c):
 * searches here filter deleted documents out.
 *
 * Shutdown: SIGTERM or SIGINT stops accepting (MHD_quiesce_daemon), waits up to --grace
 * seconds for the requests in progress, stops the threads and closes the index.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../cli/common.h"
#include "../cli/html.h"
#include "request.h"

/* GET /: server/page.html, turned into a C string by the Makefile */
static const char ty_serve_page[] =
#include "serve_page.inc"
    ;

#define MAX_ID_BYTES 1000

/* ---- server state ------------------------------------------------------------------------ */

/* Per pool thread: made on the thread's first query, freed after the daemon has stopped. */
typedef struct worker {
    ty_searcher_t *s;
    ty_aligner_t *al;
    ty_doc_t *q;
    struct worker *next;
} worker_t;

typedef struct {
    ty_index_t *ix;
    const char *ix_path;
    int writable;
    char *token;
    size_t token_len;
    int auth_reads;
    size_t max_body;
    ty_opts_t o;
    ty_query_opts_t q;
    pthread_mutex_t wlock; /* writes, and calls that use the handle's message buffer */
    pthread_mutex_t loglock;
    FILE *log;
    char spool_dir[PATH_MAX], spool[PATH_MAX + 16];
    atomic_long inflight;
    atomic_ullong requests;
    pthread_mutex_t wl_lock;
    worker_t *workers;
    double started;
    long threads;
} server_t;

static server_t S;
static _Thread_local worker_t *tl_worker;

/* One request (libmicrohttpd's con_cls). */
typedef struct {
    double t0;
    char method[16];
    char *path;
    char client[64];
    sbuf_t body;
    int too_big;
    int route;
    unsigned status;
    size_t bytes;
} req_t;

static worker_t *get_worker(void)
{
    if (tl_worker)
        return tl_worker;
    worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    ty_query_opts_t q = S.q;
    q.max_sources = MAX_SOURCES_LIMIT; /* deleted documents are filtered before the cut */
    w->s = ty_searcher_new(S.ix, &S.o, &q);
    w->al = ty_aligner_new(&S.o);
    w->q = ty_doc_new();
    if (!w->s || !w->al || !w->q) {
        ty_searcher_free(w->s);
        ty_aligner_free(w->al);
        ty_doc_free(w->q);
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&S.wl_lock);
    w->next = S.workers;
    S.workers = w;
    pthread_mutex_unlock(&S.wl_lock);
    tl_worker = w;
    return w;
}

/* ---- replies ----------------------------------------------------------------------------- */

/* Queue buf (malloc()ed, n bytes; taken over) as the reply. */
static enum MHD_Result reply(struct MHD_Connection *c, req_t *r, unsigned status, const char *ctype,
                             char *buf, size_t n, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        n, buf ? buf : (char *)"", buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(resp, "Allow", allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"tongyuan\"");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->bytes = n;
    return ret;
}

static enum MHD_Result reply_sb(struct MHD_Connection *c, req_t *r, unsigned status,
                                const char *ctype, sbuf_t *b)
{
    char *a = b->a;
    size_t n = b->n;
    b->a = NULL;
    b->n = b->m = 0;
    return reply(c, r, status, ctype, a, n, NULL);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, req_t *r, unsigned status,
                                   const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum MHD_Result reply_error(struct MHD_Connection *c, req_t *r, unsigned status,
                                   const char *allow, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sbuf_t b = {0};
    sb_puts(&b, "{\"error\":");
    sb_json_str(&b, msg, strlen(msg));
    sb_printf(&b, ",\"status\":%u}\n", status);
    if (!b.a)
        return MHD_NO;
    char *a = b.a;
    return reply(c, r, status, "application/json", a, b.n, allow);
}

/* ---- routing and authorization ----------------------------------------------------------- */

/* constant time in the length of the expected token */
static int token_ok(const char *got)
{
    if (!got || strncmp(got, "Bearer ", 7) != 0)
        return 0;
    got += 7;
    size_t n = strlen(got);
    unsigned char d = n != S.token_len;
    for (size_t i = 0; i < S.token_len; i++)
        d |= (unsigned char)(S.token[i] ^ (i < n ? got[i] : 0));
    return d == 0;
}

/* ---- request bodies ---------------------------------------------------------------------- */

/* The JSON object body (request.c); on failure the 400 reply is queued, NULL returned and
 * *ret set. */
static json_t *parse_body(struct MHD_Connection *c, req_t *r, enum MHD_Result *ret)
{
    char err[512];
    json_t *j = req_parse_body(r->body.a, r->body.n, err, sizeof err);
    if (!j)
        *ret = reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "%s", err);
    return j;
}

/* A required string member: its value, or NULL with a 400 queued. */
static const char *want_string(struct MHD_Connection *c, req_t *r, json_t *j, const char *key,
                               size_t *len, enum MHD_Result *ret)
{
    char err[256];
    const char *v = req_string(j, key, len, err, sizeof err);
    if (!v)
        *ret = reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "%s", err);
    return v;
}

/* The request's search options over the server's; 0, or -1 with a 400 queued. */
static int query_opts(struct MHD_Connection *c, req_t *r, json_t *j, ty_opts_t *o,
                      size_t *max_sources, int *custom, enum MHD_Result *ret)
{
    char err[256];
    if (req_query_opts(j, &S.o, S.q.max_sources, o, max_sources, custom, err, sizeof err)) {
        *ret = reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "%s", err);
        return -1;
    }
    return 0;
}

static unsigned load_status(int rc)
{
    return rc == TY_ETOOBIG  ? MHD_HTTP_CONTENT_TOO_LARGE
           : rc == TY_ENOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR
                             : MHD_HTTP_BAD_REQUEST;
}

/* ---- POST /v1/check and /v1/report ------------------------------------------------------- */

static enum MHD_Result do_check(struct MHD_Connection *c, req_t *r, int html)
{
    enum MHD_Result ret = MHD_NO;
    json_t *j = parse_body(c, r, &ret);
    if (!j)
        return ret;
    size_t len, max_sources;
    ty_opts_t o;
    int custom;
    const char *text = want_string(c, r, j, "text", &len, &ret);
    json_t *jn = json_object_get(j, "name");
    if (!text || query_opts(c, r, j, &o, &max_sources, &custom, &ret)) {
        json_decref(j);
        return ret;
    }
    if (jn && !json_is_string(jn)) {
        json_decref(j);
        return reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "\"name\" must be a string");
    }
    const char *name = jn ? json_string_value(jn) : "text";
    worker_t *w = get_worker();
    if (!w) {
        json_decref(j);
        return reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    }
    /* other alignment options than the server's: a searcher and aligner for this request */
    ty_searcher_t *s = w->s;
    ty_aligner_t *al = w->al;
    if (custom) {
        ty_query_opts_t q = S.q;
        q.max_sources = MAX_SOURCES_LIMIT;
        s = ty_searcher_new(S.ix, &o, &q);
        al = ty_aligner_new(&o);
    }
    ty_doc_t *q = w->q;
    const ty_source_t *src = NULL;
    size_t n = 0;
    int rc;
    if (!s || !al) {
        ret = reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    rc = ty_doc_load_mem(q, name, text, len, &o);
    if (rc != TY_OK) {
        ret = reply_error(c, r, load_status(rc), NULL, "%s", ty_doc_errmsg(q));
        goto out;
    }
    rc = ty_searcher_check(s, q, &src, &n);
    if (rc != TY_OK) {
        ret = reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", ty_searcher_errmsg(s));
        goto out;
    }
    /* deleted documents out, then the cut */
    const ty_source_t **keep = malloc((n ? n : 1) * sizeof *keep);
    size_t nk = 0;
    if (!keep) {
        ret = reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && nk < max_sources; i++)
        if (ty_index_is_deleted(S.ix, src[i].id) != 1)
            keep[nk++] = &src[i];
    if (html) {
        html_source_t *hs = calloc(nk ? nk : 1, sizeof *hs);
        size_t got = 0;
        int bad = !hs;
        for (size_t i = 0; !bad && i < nk; i++) {
            const ty_passage_t *p;
            size_t np;
            bad = ty_compare(al, keep[i]->doc, q, &p, &np) != TY_OK ||
                  html_source_capture(&hs[i], keep[i]->doc, al, keep[i]->passages,
                                      keep[i]->npassages, keep[i]->aligned_at) != 0;
            got += !bad;
        }
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = bad ? NULL : open_memstream(&buf, &blen);
        if (f) {
            bad = html_write(f, q, hs, nk) != 0;
            bad |= fclose(f) != 0;
        } else {
            bad = 1;
        }
        for (size_t i = 0; i < got; i++)
            html_source_free(&hs[i]);
        free(hs);
        if (bad) {
            free(buf);
            ret = reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                              "cannot make the report (out of memory)");
        } else {
            ret = reply(c, r, MHD_HTTP_OK, "text/html; charset=utf-8", buf, blen, NULL);
        }
        free(keep);
        goto out;
    }
    size_t nt = ty_doc_ntokens(q);
    sbuf_t b = {0};
    sb_puts(&b, "{\"name\":");
    sb_json_str(&b, name, strlen(name));
    sb_printf(&b, ",\"chars\":%zu,\"sources\":[", nt);
    for (size_t i = 0; i < nk; i++) {
        const ty_source_t *x = keep[i];
        const char *sn = ty_doc_name(x->doc);
        sb_puts(&b, i ? ",{\"src\":" : "{\"src\":");
        sb_json_str(&b, sn, strlen(sn));
        sb_printf(&b, ",\"id\":%u,\"score\":%.4f,\"covered\":%zu,\"shared\":%u,\"passages\":[",
                  x->id, nt ? (double)x->covered / (double)nt : 0.0, x->covered, x->shared);
        for (size_t p = 0; p < x->npassages; p++) {
            if (p)
                sb_puts(&b, ",");
            sb_passage_json(&b, sn, name, &x->passages[p]);
            if (b.n && b.a[b.n - 1] == '\n')
                b.n--; /* sb_passage_json ends a JSON line */
        }
        sb_puts(&b, "]");
        sb_also_objects(&b, x, nt);
        sb_puts(&b, "}");
    }
    sb_puts(&b, "]}\n");
    free(keep);
    ret = b.a ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
              : reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    sb_free(&b);
out:
    if (custom) {
        ty_searcher_free(s);
        ty_aligner_free(al);
    }
    json_decref(j);
    return ret;
}

/* ---- POST /v1/docs, GET and DELETE /v1/docs/{id} ---------------------------------------- */

typedef struct {
    char msg[600];
    int event;
} add_log_t;

static int add_event(void *user, int event, const char *msg, const ty_index_progress_t *p)
{
    (void)p;
    add_log_t *l = user;
    if (event == TY_EVENT_SKIPPED || event == TY_EVENT_DUPLICATE) {
        l->event = event;
        snprintf(l->msg, sizeof l->msg, "%s", msg ? msg : "");
        return 1; /* the one document could not be added: stop */
    }
    return 0;
}

static int write_spool(const char *id, const char *text, size_t len)
{
    json_t *o = json_pack("{s:s, s:s%}", "id", id, "text", text, len);
    if (!o)
        return -1;
    FILE *f = fopen(S.spool, "w");
    int bad = !f || json_dumpf(o, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF;
    if (f && fclose(f) != 0)
        bad = 1;
    json_decref(o);
    return bad ? -1 : 0;
}

static enum MHD_Result do_add(struct MHD_Connection *c, req_t *r)
{
    enum MHD_Result ret = MHD_NO;
    json_t *j = parse_body(c, r, &ret);
    if (!j)
        return ret;
    size_t idlen, len;
    const char *id = want_string(c, r, j, "id", &idlen, &ret);
    const char *text = id ? want_string(c, r, j, "text", &len, &ret) : NULL;
    if (!id || !text) {
        json_decref(j);
        return ret;
    }
    if (idlen == 0 || idlen > MAX_ID_BYTES) {
        json_decref(j);
        return reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "\"id\" must be 1 to %d bytes long",
                           MAX_ID_BYTES);
    }
    /* the document must load as the index will load it: errors are the client's (400/413) */
    ty_doc_t *d = ty_doc_new();
    int rc = d ? ty_doc_load_mem(d, id, text, len, &S.o) : TY_ENOMEM;
    if (rc != TY_OK) {
        ret =
            reply_error(c, r, load_status(rc), NULL, "%s", d ? ty_doc_errmsg(d) : "out of memory");
        ty_doc_free(d);
        json_decref(j);
        return ret;
    }
    size_t ncp = ty_doc_ncodepoints(d), ntok = ty_doc_ntokens(d);
    ty_doc_free(d);

    unsigned status = MHD_HTTP_OK;
    char msg[700] = "";
    uint32_t docid = 0;
    pthread_mutex_lock(&S.wlock);
    rc = ty_index_find(S.ix, id, &docid);
    if (rc == TY_OK) {
        int del = ty_index_is_deleted(S.ix, docid) == 1;
        status = MHD_HTTP_CONFLICT;
        snprintf(msg, sizeof msg,
                 del ? "a document with id '%s' was deleted; ids are not reused"
                     : "a document with id '%s' is already indexed",
                 id);
    } else if (rc != TY_ENOTFOUND) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        snprintf(msg, sizeof msg, "%s", ty_index_errmsg(S.ix));
    } else if (write_spool(id, text, len) != 0) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        snprintf(msg, sizeof msg, "cannot write %.300s: %s", S.spool, strerror(errno));
    } else {
        ty_reader_opts_t ro;
        ty_reader_opts_init(&ro);
        ro.max_doc_bytes = S.o.max_doc_bytes;
        ty_reader_t *rd = ty_reader_new(&ro);
        ty_index_add_opts_t ao;
        ty_index_add_opts_init(&ao);
        add_log_t lg = {"", -1};
        ao.event = add_event;
        ao.user = &lg;
        rc = !rd ? TY_ENOMEM : ty_reader_add(rd, S.spool);
        if (rc == TY_OK)
            rc = ty_index_add_docs(S.ix, rd, &S.o, &ao);
        if (rc == TY_OK && lg.event < 0)
            rc = ty_index_find(S.ix, id, &docid);
        if (rc != TY_OK || lg.event >= 0) {
            status =
                lg.event == TY_EVENT_DUPLICATE ? MHD_HTTP_CONFLICT : MHD_HTTP_INTERNAL_SERVER_ERROR;
            snprintf(msg, sizeof msg, "%s",
                     lg.event >= 0 ? lg.msg
                     : rd          ? ty_index_errmsg(S.ix)
                                   : "out of memory");
        }
        ty_reader_free(rd);
    }
    pthread_mutex_unlock(&S.wlock);
    if (status != MHD_HTTP_OK) {
        json_decref(j);
        return reply_error(c, r, status, NULL, "%s", msg);
    }
    sbuf_t b = {0};
    sb_puts(&b, "{\"id\":");
    sb_json_str(&b, id, idlen);
    sb_printf(&b, ",\"doc\":%u,\"chars\":%zu,\"tokens\":%zu,\"committed\":true}\n", docid, ncp,
              ntok);
    json_decref(j);
    ret = b.a ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
              : reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    sb_free(&b);
    return ret;
}

static enum MHD_Result do_doc(struct MHD_Connection *c, req_t *r, const char *id, int del)
{
    uint32_t docid = 0;
    unsigned status = MHD_HTTP_OK;
    char msg[700] = "";
    sbuf_t b = {0};
    pthread_mutex_lock(&S.wlock);
    int rc = del ? ty_index_delete(S.ix, id, &docid) : ty_index_find(S.ix, id, &docid);
    if (rc == TY_OK && !del && ty_index_is_deleted(S.ix, docid) == 1)
        rc = TY_ENOTFOUND;
    if (rc != TY_OK) {
        status = rc == TY_ENOTFOUND ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (rc == TY_ENOTFOUND)
            snprintf(msg, sizeof msg, "no document with id '%s'", id);
        else
            snprintf(msg, sizeof msg, "%s", ty_index_errmsg(S.ix));
    } else if (del) {
        sb_puts(&b, "{\"id\":");
        sb_json_str(&b, id, strlen(id));
        sb_printf(&b, ",\"doc\":%u,\"deleted\":true}\n", docid);
    } else {
        ty_doc_t *d = ty_doc_new();
        char origin[PATH_MAX] = "";
        uint64_t line = 0;
        rc = d ? ty_index_get_doc(S.ix, docid, d, &S.o) : TY_ENOMEM;
        if (rc == TY_OK)
            rc = ty_index_doc_info(S.ix, docid, NULL, 0, origin, sizeof origin, &line);
        if (rc != TY_OK) {
            status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            snprintf(msg, sizeof msg, "%s", d ? ty_index_errmsg(S.ix) : "out of memory");
        } else {
            size_t tl;
            const char *t = ty_doc_text(d, &tl);
            sb_puts(&b, "{\"id\":");
            sb_json_str(&b, id, strlen(id));
            sb_printf(&b, ",\"doc\":%u,\"origin\":", docid);
            /* documents added through the API were read from the spool file */
            size_t ol = strlen(origin);
            if (strstr(origin, "/tongyuan-serve.") && ol > 11 &&
                strcmp(origin + ol - 11, "/post.jsonl") == 0)
                sb_puts(&b, "\"POST /v1/docs\"");
            else
                sb_json_str(&b, origin, strlen(origin));
            sb_printf(&b, ",\"line\":%llu,\"bytes\":%zu,\"chars\":%zu,\"text\":",
                      (unsigned long long)line, tl, ty_doc_ncodepoints(d));
            sb_json_str(&b, t, tl);
            sb_puts(&b, "}\n");
        }
        ty_doc_free(d);
    }
    pthread_mutex_unlock(&S.wlock);
    if (status != MHD_HTTP_OK) {
        sb_free(&b);
        return reply_error(c, r, status, NULL, "%s", msg);
    }
    enum MHD_Result ret = b.a ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
                              : reply_error(c, r, 500, NULL, "out of memory");
    sb_free(&b);
    return ret;
}

static enum MHD_Result do_stats(struct MHD_Connection *c, req_t *r)
{
    ty_index_stats_t st;
    uint64_t ndel = 0;
    pthread_mutex_lock(&S.wlock);
    int rc = ty_index_stats(S.ix, &st);
    if (rc == TY_OK)
        rc = ty_index_deleted_count(S.ix, &ndel);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ty_index_errmsg(S.ix));
    pthread_mutex_unlock(&S.wlock);
    if (rc != TY_OK)
        return reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", msg);
    sbuf_t b = {0};
    sb_printf(&b,
              "{\"docs\":%llu,\"deleted\":%llu,\"indexed\":%llu,\"codepoints\":%llu,"
              "\"bytes\":%llu,\"stored_bytes\":%llu,\"postings\":%llu,\"keys\":%llu,"
              "\"segments\":%u,\"file_bytes\":%llu,\"map_bytes\":%llu,\"k\":%d,\"w\":%d,"
              "\"format\":%u,\"writable\":%s,\"threads\":%ld,\"requests\":%llu,"
              "\"uptime_s\":%.1f,\"version\":\"%s\"}\n",
              (unsigned long long)(st.docs - (ndel < st.docs ? ndel : st.docs)),
              (unsigned long long)ndel, (unsigned long long)st.docs,
              (unsigned long long)st.codepoints, (unsigned long long)st.bytes,
              (unsigned long long)st.stored_bytes, (unsigned long long)st.postings,
              (unsigned long long)st.keys, st.segments, (unsigned long long)st.file_bytes,
              (unsigned long long)st.map_bytes, st.k, st.w, st.format,
              S.writable ? "true" : "false", S.threads,
              (unsigned long long)atomic_load(&S.requests), cli_now() - S.started, ty_version());
    enum MHD_Result ret = b.a ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
                              : reply_error(c, r, 500, NULL, "out of memory");
    sb_free(&b);
    return ret;
}

/* ---- the request handler ----------------------------------------------------------------- */

static void client_of(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "-");
    if (!ci || !ci->client_addr)
        return;
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                          : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, sl, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, size, "?");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req_t *r = *con_cls;
    const char *rest;
    if (!r) {
        /* first call: the headers are in; decide everything that needs no body now */
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->t0 = cli_now();
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = strdup(url);
        client_of(c, r->client, sizeof r->client);
        atomic_fetch_add(&S.inflight, 1);
        atomic_fetch_add(&S.requests, 1);
        r->route = req_route(url, &rest);
        if (r->route == R_NONE)
            return reply_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "no such resource: %s", url);
        if (!req_method_ok(r->route, method))
            return reply_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, req_allowed(r->route),
                               "%s %s: method not allowed (allowed: %s)", method, url,
                               req_allowed(r->route));
        int w = req_is_write(r->route, method);
        if (w && !S.token)
            return reply_error(c, r, MHD_HTTP_FORBIDDEN, NULL,
                               "writes are disabled: the server was started without "
                               "--token-file");
        if ((w || (S.auth_reads && r->route != R_PAGE && r->route != R_HEALTH)) &&
            !token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")))
            return reply_error(c, r, MHD_HTTP_UNAUTHORIZED, NULL,
                               "missing or wrong token: send 'Authorization: Bearer TOKEN'");
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > S.max_body)
            return reply_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                               "request body of %s bytes is over the limit of %zu bytes", cl,
                               S.max_body);
        if (strcmp(method, "POST") == 0)
            return MHD_YES; /* the body follows */
    } else if (*upload_size) {
        /* body data: keep it unless over the limit (then drop it and answer 413 at the end) */
        if (!r->too_big && r->body.n + *upload_size > S.max_body) {
            r->too_big = 1;
            sb_free(&r->body);
        }
        if (!r->too_big) {
            sb_putn(&r->body, upload, *upload_size);
            if (!r->body.a)
                return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->status)
        return MHD_YES; /* already answered */
    if (r->too_big)
        return reply_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                           "request body over the limit of %zu bytes", S.max_body);
    req_route(url, &rest);
    switch (r->route) {
    case R_PAGE: {
        size_t n = strlen(ty_serve_page);
        char *p = malloc(n);
        if (!p)
            return MHD_NO;
        memcpy(p, ty_serve_page, n);
        return reply(c, r, MHD_HTTP_OK, "text/html; charset=utf-8", p, n, NULL);
    }
    case R_HEALTH: {
        char *p = strdup("{\"status\":\"ok\"}\n");
        return p ? reply(c, r, MHD_HTTP_OK, "application/json", p, strlen(p), NULL) : MHD_NO;
    }
    case R_STATS: return do_stats(c, r);
    case R_CHECK: return do_check(c, r, 0);
    case R_REPORT: return do_check(c, r, 1);
    case R_DOCS: return do_add(c, r);
    case R_DOC: return do_doc(c, r, rest, strcmp(method, "DELETE") == 0);
    }
    return MHD_NO;
}

/* ---- access log -------------------------------------------------------------------------- */

static void log_json_str(FILE *f, const char *s)
{
    /* the path as a quoted string with controls and quotes escaped: one line per request */
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    req_t *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    double ms = (cli_now() - r->t0) * 1e3;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    static const char *why[] = {"", "error", "timeout", "shutdown", "read-error", "client-abort"};
    pthread_mutex_lock(&S.loglock);
    fprintf(S.log, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, r->client, r->method);
    log_json_str(S.log, r->path ? r->path : "?");
    fprintf(S.log, " %u %zu %.1fms", r->status, r->bytes, ms);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && (size_t)toe < sizeof why / sizeof *why)
        fprintf(S.log, " %s", why[toe]);
    fputc('\n', S.log);
    fflush(S.log);
    pthread_mutex_unlock(&S.loglock);
    sb_free(&r->body);
    free(r->path);
    free(r);
    atomic_fetch_sub(&S.inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    pthread_mutex_lock(&S.loglock);
    fprintf(stderr, "tongyuan serve: libmicrohttpd: %s\n", msg);
    pthread_mutex_unlock(&S.loglock);
}

/* ---- options and main -------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tongyuan serve -x INDEX [--listen ADDR] [OPTIONS]\n"
            "Serve the index over HTTP: a JSON API to check documents and add or delete\n"
            "indexed ones, and a page (GET /) where a person pastes a text and sees the\n"
            "side-by-side report. See docs/serve.md.\n\n"
            "Options:\n"
            "  -x, --index INDEX    the index (tongyuan index build); a sharded index directory\n"
            "                       is served read-only (no --token-file)\n"
            "  --listen ADDR        HOST:PORT, [IPV6]:PORT or PORT [127.0.0.1:8080];\n"
            "                       port 0: any free port (printed when ready)\n"
            "  --threads N          worker threads [all cores]\n"
            "  --token-file FILE    bearer token for writes (POST /v1/docs, DELETE); without\n"
            "                       it the index is opened read-only and writes get 403\n"
            "  --auth-reads         the API's reads need the token too (not / and /healthz)\n"
            "  --max-body BYTES     larger request bodies get 413 (suffix K, M, G) [8M]\n"
            "  --timeout SECONDS    close connections idle (or stalled) this long [30]\n"
            "  --grace SECONDS      on SIGTERM/SIGINT, wait this long for requests [30]\n"
            "  --access-log FILE    one line per request (default: standard error)\n"
            "  --max-sources N      sources reported per check by default [20]\n"
            "  --max-candidates N   align at most N candidates per check [16]\n"
            "  -h, --help           this help\n\n");
    print_align_help(f);
}

static int parse_size(const char *opt, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = 1;
    if (end != s && (*end == 'k' || *end == 'K'))
        mul = 1ULL << 10, end++;
    else if (end != s && (*end == 'm' || *end == 'M'))
        mul = 1ULL << 20, end++;
    else if (end != s && (*end == 'g' || *end == 'G'))
        mul = 1ULL << 30, end++;
    if (end == s || *end || errno || s[0] == '-' || v == 0 || v > (SIZE_MAX >> 2) / mul) {
        fprintf(stderr, "tongyuan: %s wants a size in bytes (e.g. 8M), not '%s'\n", opt, s);
        return -1;
    }
    *out = (size_t)(v * mul);
    return 0;
}

static int read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tongyuan: --token-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int err = ferror(f);
    fclose(f);
    buf[n] = 0;
    while (n &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = 0;
    if (err || n == 0 || n >= sizeof buf - 1 || strchr(buf, '\n') || strlen(buf) != n) {
        fprintf(stderr, "tongyuan: --token-file %s: %s\n", path,
                err  ? "cannot read it"
                : !n ? "empty: put the token on one line"
                     : "want one line of at most 4000 bytes");
        return -1;
    }
    S.token = strdup(buf);
    S.token_len = n;
    return S.token ? 0 : -1;
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" → a socket address */
static int parse_listen(const char *a, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[256] = "127.0.0.1", port[16];
    const char *colon = strrchr(a, ':');
    if (a[0] == '[') {
        const char *e = strchr(a, ']');
        if (!e || e[1] != ':' || (size_t)(e - a - 1) >= sizeof host)
            goto bad;
        memcpy(host, a + 1, (size_t)(e - a - 1));
        host[e - a - 1] = 0;
        colon = e + 1;
    } else if (colon) {
        if ((size_t)(colon - a) >= sizeof host)
            goto bad;
        if (colon > a) {
            memcpy(host, a, (size_t)(colon - a));
            host[colon - a] = 0;
        }
    }
    const char *p = colon ? colon + 1 : a;
    if (!*p || strlen(p) >= sizeof port || strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
        goto bad;
    snprintf(port, sizeof port, "%s", p);
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "tongyuan: --listen %s: %s\n", a, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sl = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
bad:
    fprintf(stderr, "tongyuan: --listen wants HOST:PORT, [IPV6]:PORT or PORT, not '%s'\n", a);
    return -1;
}

int cmd_serve(int argc, char **argv)
{
    memset(&S, 0, sizeof S);
    ty_opts_init(&S.o);
    ty_query_opts_init(&S.q);
    S.max_body = (size_t)8 << 20;
    S.log = stderr;
    long threads = sysconf(_SC_NPROCESSORS_ONLN), timeout = 30, grace = 30, l;
    if (threads < 1)
        threads = 1;
    const char *listen_at = "127.0.0.1:8080", *token_file = NULL, *log_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, rc;
        if ((rc = parse_align_opt(argc, argv, &i, &S.o)) != 0) {
            if (rc < 0)
                return EXIT_ERROR;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--auth-reads") == 0) {
            S.auth_reads = 1;
        } else if ((v = cli_opt_value(argc, argv, &i, "--index", "-x", &missing))) {
            S.ix_path = v;
        } else if (!missing && (v = cli_opt_value(argc, argv, &i, "--listen", NULL, &missing))) {
            listen_at = v;
        } else if (!missing && (v = cli_opt_value(argc, argv, &i, "--threads", NULL, &missing))) {
            if (parse_long("--threads", v, 1, 1024, &threads))
                return EXIT_ERROR;
        } else if (!missing &&
                   (v = cli_opt_value(argc, argv, &i, "--token-file", NULL, &missing))) {
            token_file = v;
        } else if (!missing && (v = cli_opt_value(argc, argv, &i, "--max-body", NULL, &missing))) {
            if (parse_size("--max-body", v, &S.max_body))
                return EXIT_ERROR;
        } else if (!missing && (v = cli_opt_value(argc, argv, &i, "--timeout", NULL, &missing))) {
            if (parse_long("--timeout", v, 1, 86400, &timeout))
                return EXIT_ERROR;
        } else if (!missing && (v = cli_opt_value(argc, argv, &i, "--grace", NULL, &missing))) {
            if (parse_long("--grace", v, 0, 86400, &grace))
                return EXIT_ERROR;
        } else if (!missing &&
                   (v = cli_opt_value(argc, argv, &i, "--access-log", NULL, &missing))) {
            log_path = v;
        } else if (!missing &&
                   (v = cli_opt_value(argc, argv, &i, "--max-sources", NULL, &missing))) {
            if (parse_long("--max-sources", v, 1, MAX_SOURCES_LIMIT, &l))
                return EXIT_ERROR;
            S.q.max_sources = (size_t)l;
        } else if (!missing &&
                   (v = cli_opt_value(argc, argv, &i, "--max-candidates", NULL, &missing))) {
            if (parse_long("--max-candidates", v, 1, 100000, &l))
                return EXIT_ERROR;
            S.q.max_candidates = (size_t)l;
        } else {
            if (missing)
                fprintf(stderr, "tongyuan: %s needs a value\n", a);
            else
                fprintf(stderr,
                        "tongyuan: serve: unknown option '%s' (see tongyuan serve "
                        "--help)\n",
                        a);
            return EXIT_ERROR;
        }
        if (missing) {
            fprintf(stderr, "tongyuan: %s needs a value\n", a);
            return EXIT_ERROR;
        }
    }
    if (!S.ix_path) {
        fprintf(stderr, "tongyuan: serve needs -x INDEX (see tongyuan serve --help)\n");
        return EXIT_ERROR;
    }
    char msg[256];
    if (ty_opts_check(&S.o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return EXIT_ERROR;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_listen(listen_at, &ss, &sl))
        return EXIT_ERROR;
    if (token_file && read_token(token_file))
        return EXIT_ERROR;
    if (log_path && strcmp(log_path, "-") != 0) {
        S.log = fopen(log_path, "a");
        if (!S.log) {
            fprintf(stderr, "tongyuan: --access-log %s: %s\n", log_path, strerror(errno));
            return EXIT_ERROR;
        }
    }
    S.threads = threads;
    S.writable = S.token != NULL;
    int rc = EXIT_ERROR;
    struct MHD_Daemon *d = NULL;
    S.ix = ty_index_new();
    if (!S.ix) {
        fprintf(stderr, "tongyuan: out of memory\n");
        goto out;
    }
    if (ty_index_open(S.ix, S.ix_path, S.writable ? TY_INDEX_WRITE : TY_INDEX_READ, NULL) !=
        TY_OK) {
        fprintf(stderr, "tongyuan: %s\n", ty_index_errmsg(S.ix));
        goto out;
    }
    if (S.writable) {
        const char *tmp = getenv("TMPDIR");
        snprintf(S.spool_dir, sizeof S.spool_dir, "%s/tongyuan-serve.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(S.spool_dir)) {
            fprintf(stderr, "tongyuan: cannot create a spool directory %s: %s\n", S.spool_dir,
                    strerror(errno));
            S.spool_dir[0] = 0;
            goto out;
        }
        snprintf(S.spool, sizeof S.spool, "%s/post.jsonl", S.spool_dir);
    }
    pthread_mutex_init(&S.wlock, NULL);
    pthread_mutex_init(&S.loglock, NULL);
    pthread_mutex_init(&S.wl_lock, NULL);

    /* the signals are taken by sigwait() below: block them before any thread starts */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "tongyuan: cannot listen on %s (address in use, or not allowed?)\n",
                listen_at);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[128] = "?";
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    S.started = cli_now();
    ty_index_stats_t st;
    uint64_t ndocs = ty_index_stats(S.ix, &st) == TY_OK ? st.docs : 0;
    fprintf(stderr,
            "tongyuan serve: listening on http://%s%s%s:%u/ (index %s: %llu documents, %ld "
            "threads, writes %s)\n",
            ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
            di ? di->port : 0, S.ix_path, (unsigned long long)ndocs, threads,
            S.writable ? "enabled" : "disabled");
    fflush(stderr);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "tongyuan serve: %s: no new connections; finishing %ld requests\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", atomic_load(&S.inflight));
    /* quiesce hands the listening socket back to us: close it, so new connections are
     * refused rather than left waiting in the backlog */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double t_end = cli_now() + (double)grace;
    while (atomic_load(&S.inflight) > 0 && cli_now() < t_end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long left = atomic_load(&S.inflight);
    MHD_stop_daemon(d);
    d = NULL;
    if (left)
        fprintf(stderr, "tongyuan serve: %ld requests cut off after %lds\n", left, grace);
    fprintf(stderr, "tongyuan serve: stopped\n");
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    for (worker_t *w = S.workers, *nx; w; w = nx) {
        nx = w->next;
        ty_searcher_free(w->s);
        ty_aligner_free(w->al);
        ty_doc_free(w->q);
        free(w);
    }
    ty_index_free(S.ix);
    if (S.spool_dir[0]) {
        unlink(S.spool);
        rmdir(S.spool_dir);
    }
    if (S.log && S.log != stderr)
        fclose(S.log);
    free(S.token);
    return rc;
}
