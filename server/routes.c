/*
 * routes.c — what `tongyuan serve` (serve.c) answers on its worker threads: POST /v1/check
 * and /v1/report, POST /v1/docs, GET and DELETE /v1/docs/{id}, GET /v1/stats; and the
 * replies every route sends.
 */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static _Thread_local worker_t *tl_worker;

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
enum MHD_Result reply(struct MHD_Connection *c, req_t *r, unsigned status, const char *ctype,
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
    if (status == MHD_HTTP_TOO_MANY_REQUESTS || status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        /* over a limit: the connection is not kept (an unread body may follow) */
        MHD_add_response_header(resp, "Retry-After", "1");
        MHD_add_response_header(resp, "Connection", "close");
    }
    conn_busy(c);
    r->status = status;
    r->bytes = n;
    if (r->deferred) { /* a worker thread: handler() queues it when the connection resumes */
        r->resp = resp;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_sb(struct MHD_Connection *c, req_t *r, unsigned status,
                                const char *ctype, ty_buf_t *b)
{
    char *a = b->data;
    size_t n = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return reply(c, r, status, ctype, a, n, NULL);
}

enum MHD_Result reply_error(struct MHD_Connection *c, req_t *r, unsigned status, const char *allow,
                            const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ty_buf_t b = {0};
    ty_buf_puts(&b, "{\"error\":");
    ty_buf_json_str(&b, msg, strlen(msg));
    ty_buf_printf(&b, ",\"status\":%u}\n", status);
    if (!b.data || b.err) {
        ty_buf_free(&b);
        return MHD_NO;
    }
    char *a = b.data;
    return reply(c, r, status, "application/json", a, b.len, allow);
}

/* 503: the request memory (mem_charge) has no room for this body now */
enum MHD_Result reply_mem_full(struct MHD_Connection *c, req_t *r)
{
    pthread_mutex_lock(&S.mem_lock);
    size_t used = S.mem_used;
    pthread_mutex_unlock(&S.mem_lock);
    return reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                       "the server is busy with large requests (%zu MB of the %zu MB of "
                       "--request-memory in use): try again later",
                       used >> 20, S.req_mem >> 20);
}

/* ---- request bodies ---------------------------------------------------------------------- */

/* The JSON object body (request.c); on failure the 400 reply is queued, NULL returned and
 * *ret set. */
static json_t *parse_body(struct MHD_Connection *c, req_t *r, enum MHD_Result *ret)
{
    char err[512];
    json_t *j = req_parse_body(r->body.data, r->body.len, err, sizeof err);
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
        ty_report_source_t *hs = calloc(nk ? nk : 1, sizeof *hs);
        size_t got = 0;
        int bad = !hs;
        for (size_t i = 0; !bad && i < nk; i++) {
            const ty_passage_t *p;
            size_t np;
            bad = ty_compare(al, keep[i]->doc, q, &p, &np) != TY_OK ||
                  ty_report_source_capture(&hs[i], keep[i]->doc, al, keep[i]->passages,
                                           keep[i]->npassages, keep[i]->aligned_at) != 0;
            got += !bad;
        }
        ty_buf_t hb = {0};
        if (!bad)
            bad = ty_report_html(&hb, q, hs, nk) != TY_OK;
        char *buf = hb.data;
        size_t blen = hb.len;
        for (size_t i = 0; i < got; i++)
            ty_report_source_free(&hs[i]);
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
    ty_buf_t b = {0};
    ty_buf_puts(&b, "{\"name\":");
    ty_buf_json_str(&b, name, strlen(name));
    ty_buf_printf(&b, ",\"chars\":%zu,\"sources\":[", nt);
    for (size_t i = 0; i < nk; i++) {
        const ty_source_t *x = keep[i];
        const char *sn = ty_doc_name(x->doc);
        ty_buf_puts(&b, i ? ",{\"src\":" : "{\"src\":");
        ty_buf_json_str(&b, sn, strlen(sn));
        ty_buf_printf(&b, ",\"id\":%u,\"score\":%.4f,\"covered\":%zu,\"shared\":%u,\"passages\":[",
                      x->id, nt ? (double)x->covered / (double)nt : 0.0, x->covered, x->shared);
        for (size_t p = 0; p < x->npassages; p++) {
            if (p)
                ty_buf_puts(&b, ",");
            ty_report_passage_json(&b, sn, name, &x->passages[p]);
            if (b.len && b.data[b.len - 1] == '\n')
                b.len--; /* ty_report_passage_json ends a JSON line */
        }
        ty_buf_puts(&b, "]");
        ty_report_also_objects(&b, x, nt);
        ty_buf_puts(&b, "}");
    }
    ty_buf_puts(&b, "]}\n");
    free(keep);
    ret = b.data && !b.err
              ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
              : reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    ty_buf_free(&b);
out:
    if (custom) {
        ty_searcher_free(s);
        ty_aligner_free(al);
    }
    json_decref(j);
    return ret;
}

/* ---- POST /v1/docs, GET and DELETE /v1/docs/{id} ---------------------------------------- */

#define ADD_ORIGIN "POST /v1/docs" /* the origin recorded for a document added here */

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
    char err[256];
    if (req_doc_id(id, idlen, err, sizeof err) != 0) {
        json_decref(j);
        return reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "\"id\": %s", err);
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
    char msg[700] = "", warn[700] = "";
    uint32_t docid = 0;
    pthread_mutex_lock(&S.wlock);
    rc = ty_index_add_doc(S.ix, id, text, len, ADD_ORIGIN, &S.o, &docid);
    if (rc == TY_OK) {
        snprintf(warn, sizeof warn, "%s", ty_index_warning(S.ix));
    } else if (rc == TY_EEXIST) {
        status = MHD_HTTP_CONFLICT;
        int del = ty_index_find(S.ix, id, &docid) == TY_OK && ty_index_is_deleted(S.ix, docid) == 1;
        snprintf(msg, sizeof msg,
                 del ? "a document with id '%s' was deleted; ids are not reused"
                     : "a document with id '%s' is already indexed",
                 id);
    } else {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        snprintf(msg, sizeof msg, "%s", ty_index_errmsg(S.ix));
    }
    pthread_mutex_unlock(&S.wlock);
    if (warn[0]) { /* the document is committed: the reply says so, the log says the rest */
        pthread_mutex_lock(&S.loglock);
        fprintf(stderr, "tongyuan serve: warning: %s\n", warn);
        pthread_mutex_unlock(&S.loglock);
    }
    if (status != MHD_HTTP_OK) {
        json_decref(j);
        return reply_error(c, r, status, NULL, "%s", msg);
    }
    ty_buf_t b = {0};
    ty_buf_puts(&b, "{\"id\":");
    ty_buf_json_str(&b, id, idlen);
    ty_buf_printf(&b, ",\"doc\":%u,\"chars\":%zu,\"tokens\":%zu,\"committed\":true}\n", docid, ncp,
                  ntok);
    json_decref(j);
    ret = b.data && !b.err
              ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
              : reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    ty_buf_free(&b);
    return ret;
}

static enum MHD_Result do_doc(struct MHD_Connection *c, req_t *r, const char *id, int del)
{
    uint32_t docid = 0;
    unsigned status = MHD_HTTP_OK;
    char msg[700] = "";
    ty_buf_t b = {0};
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
        ty_buf_puts(&b, "{\"id\":");
        ty_buf_json_str(&b, id, strlen(id));
        ty_buf_printf(&b, ",\"doc\":%u,\"deleted\":true}\n", docid);
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
            ty_buf_puts(&b, "{\"id\":");
            ty_buf_json_str(&b, id, strlen(id));
            ty_buf_printf(&b, ",\"doc\":%u,\"origin\":", docid);
            /* an index written by an older tongyuan serve records a temporary file as the
             * origin of a document added here */
            size_t ol = strlen(origin);
            if (strstr(origin, "/tongyuan-serve.") && ol > 11 &&
                strcmp(origin + ol - 11, "/post.jsonl") == 0)
                ty_buf_puts(&b, "\"" ADD_ORIGIN "\"");
            else
                ty_buf_json_str(&b, origin, strlen(origin));
            ty_buf_printf(&b, ",\"line\":%llu,\"bytes\":%zu,\"chars\":%zu,\"text\":",
                          (unsigned long long)line, tl, ty_doc_ncodepoints(d));
            ty_buf_json_str(&b, t, tl);
            ty_buf_puts(&b, "}\n");
        }
        ty_doc_free(d);
    }
    pthread_mutex_unlock(&S.wlock);
    if (status != MHD_HTTP_OK) {
        ty_buf_free(&b);
        return reply_error(c, r, status, NULL, "%s", msg);
    }
    enum MHD_Result ret = b.data && !b.err ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
                                           : reply_error(c, r, 500, NULL, "out of memory");
    ty_buf_free(&b);
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
    pthread_mutex_lock(&S.conn_lock);
    long nconns = S.nconns;
    pthread_mutex_unlock(&S.conn_lock);
    pthread_mutex_lock(&S.mem_lock);
    size_t mem = S.mem_used;
    pthread_mutex_unlock(&S.mem_lock);
    ty_buf_t b = {0};
    ty_buf_printf(
        &b,
        "{\"docs\":%llu,\"deleted\":%llu,\"indexed\":%llu,\"codepoints\":%llu,"
        "\"bytes\":%llu,\"stored_bytes\":%llu,\"postings\":%llu,\"keys\":%llu,"
        "\"segments\":%u,\"file_bytes\":%llu,\"map_bytes\":%llu,\"k\":%d,\"w\":%d,"
        "\"format\":%u,\"writable\":%s,\"threads\":%ld,\"requests\":%llu,"
        "\"uptime_s\":%.1f,\"connections\":%ld,\"request_memory\":%zu,"
        "\"version\":\"%s\"}\n",
        (unsigned long long)(st.docs - (ndel < st.docs ? ndel : st.docs)), (unsigned long long)ndel,
        (unsigned long long)st.docs, (unsigned long long)st.codepoints,
        (unsigned long long)st.bytes, (unsigned long long)st.stored_bytes,
        (unsigned long long)st.postings, (unsigned long long)st.keys, st.segments,
        (unsigned long long)st.file_bytes, (unsigned long long)st.map_bytes, st.k, st.w, st.format,
        S.writable ? "true" : "false", S.threads, (unsigned long long)atomic_load(&S.requests),
        now_secs() - S.started, nconns, mem, ty_version());
    enum MHD_Result ret = b.data && !b.err ? reply_sb(c, r, MHD_HTTP_OK, "application/json", &b)
                                           : reply_error(c, r, 500, NULL, "out of memory");
    ty_buf_free(&b);
    return ret;
}

enum MHD_Result route_work(struct MHD_Connection *c, req_t *r)
{
    const char *url = r->path ? r->path : "", *rest;
    req_route(url, &rest);
    switch (r->route) {
    case R_STATS: return do_stats(c, r);
    case R_CHECK: return do_check(c, r, 0);
    case R_REPORT: return do_check(c, r, 1);
    case R_DOCS: return do_add(c, r);
    case R_DOC: {
        char err[256];
        if (req_doc_id(rest, strlen(rest), err, sizeof err) != 0)
            return reply_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "%s %s: %s", r->method, url, err);
        return do_doc(c, r, rest, strcmp(r->method, "DELETE") == 0);
    }
    }
    return MHD_NO;
}
