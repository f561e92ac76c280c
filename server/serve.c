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
 * Threads: libmicrohttpd's one polling thread (epoll) accepts, reads and writes every
 * connection and answers what needs no index; the requests that use the index go to
 * --threads worker threads (work_main). Each worker makes, on its first query, its own
 * searcher and aligner on the one shared index handle (no locks on the query path);
 * writes (add, delete) and the calls that report through the handle's message buffer
 * (stats, find, get) take one mutex. The handle is opened TY_INDEX_WRITE when writes are
 * enabled (--token-file): LMDB wants one environment per process, and a searcher's read
 * transaction sees what the writer has committed.
 *
 * Adding a document: ty_index_add_doc(), the library's call for one document from memory,
 * committed before the reply; its recorded origin is "POST /v1/docs". A merge of posting
 * segments that fails after the commit (a full disk) is logged, not an error: the document
 * is committed. Deleting is by tombstone (index_del.c): searches filter deleted documents.
 *
 * Limits: connections in total and per client address, a deadline for reading a request,
 * and the memory requests may take (docs/serve.md, "Limits"): see notify_conn(), reap() and
 * mem_charge() (conn.c).
 *
 * Shutdown: SIGTERM or SIGINT stops accepting (MHD_quiesce_daemon), waits up to --grace
 * seconds for the requests in progress, stops the threads and closes the index.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tongyuan.h"
#include "serve.h"

/* GET /: server/page.html, turned into a C string by the Makefile */
static const char ty_serve_page[] =
#include "serve_page.inc"
    ;

enum { EXIT_ERROR = 2 }; /* the exit status of an error, as the tongyuan commands' */

/* ---- routing and authorization ----------------------------------------------------------- */

/* constant time in the length of the expected token */
static int token_ok(const char *authorization)
{
    const char *got = req_bearer(authorization);
    if (!got)
        return 0;
    size_t n = strlen(got);
    unsigned char d = n != S.token_len;
    for (size_t i = 0; i < S.token_len; i++)
        d |= (unsigned char)(S.token[i] ^ (i < n ? got[i] : 0));
    return d == 0;
}

/* ---- worker threads ---------------------------------------------------------------------- */

/* The routes that use the index (checks, reports, adds, deletes, reads, stats) run on
 * --threads worker threads, never on libmicrohttpd's one polling thread. That thread only
 * accepts, moves bytes and answers /healthz, / and the refusals, so it stays quick however
 * busy the workers are: a check of a long text takes a second, and libmicrohttpd accepts ten
 * connections per turn of its loop, so with checks in that loop a thousand connections
 * arriving at once kept a new client waiting seconds. handler() suspends the connection and
 * queues the request; a worker answers it (reply() keeps the response in the request) and
 * resumes the connection; handler() is called again and queues the response.
 *   Not ty_for nor ty_pipeline (thread.h), on purpose: those run a known set of items, or an
 * input read in order, to its end and return; this is a pool that lives as long as the server,
 * fed at any time by another thread (libmicrohttpd's), whose requests are independent (no
 * order to keep, none waits for the one before) and whose queue must be emptied, not finished,
 * at shutdown (work_stop). A pipeline would answer requests in arrival order only (one slow
 * check would hold back every quick one) and a parallel for has no items to count. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    req_t *head, *tail;
    int stop;
    pthread_t *threads;
    long n;
} W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, NULL, 0};

/* Queue r for a worker: 0, or -1 once the workers are stopping. */
static int work_push(req_t *r)
{
    pthread_mutex_lock(&W.lock);
    int ok = !W.stop;
    if (ok) {
        r->qnext = NULL;
        if (W.tail)
            W.tail->qnext = r;
        else
            W.head = r;
        W.tail = r;
        pthread_cond_signal(&W.cond);
    }
    pthread_mutex_unlock(&W.lock);
    return ok ? 0 : -1;
}

static void *work_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&W.lock);
        while (!W.head && !W.stop)
            pthread_cond_wait(&W.cond, &W.lock);
        req_t *r = W.head;
        if (r) {
            W.head = r->qnext;
            if (!W.head)
                W.tail = NULL;
        }
        pthread_mutex_unlock(&W.lock);
        if (!r)
            return NULL;
        struct MHD_Connection *c = r->conn;
        r->failed = route_work(c, r) == MHD_NO || !r->resp;
        MHD_resume_connection(c); /* r may be gone from here on */
    }
}

static int work_start(long n)
{
    W.threads = calloc((size_t)n, sizeof *W.threads);
    if (!W.threads)
        return -1;
    for (W.n = 0; W.n < n; W.n++)
        if (pthread_create(&W.threads[W.n], NULL, work_main, NULL) != 0)
            return -1;
    return 0;
}

/* Stop the workers: queued requests are dropped (their connections closed), the ones being
 * answered are finished. */
static void work_stop(void)
{
    pthread_mutex_lock(&W.lock);
    W.stop = 1;
    req_t *q = W.head;
    W.head = W.tail = NULL;
    pthread_cond_broadcast(&W.cond);
    pthread_mutex_unlock(&W.lock);
    for (req_t *nx; q; q = nx) {
        nx = q->qnext;
        q->failed = 1;
        MHD_resume_connection(q->conn);
    }
    for (long i = 0; i < W.n; i++)
        pthread_join(W.threads[i], NULL);
    free(W.threads);
    W.threads = NULL;
    W.n = 0;
}

/* ---- the request handler ----------------------------------------------------------------- */

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
        r->t0 = now_secs();
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = strdup(url);
        atomic_fetch_add(&S.inflight, 1);
        atomic_fetch_add(&S.requests, 1);
        conn_t *k = conn_of(c);
        if (k) {
            snprintf(r->client, sizeof r->client, "%s", k->client);
            pthread_mutex_lock(&S.conn_lock);
            k->has_req = 1;
            pthread_mutex_unlock(&S.conn_lock);
        } else {
            client_of(c, r->client, sizeof r->client);
        }
        if (k && k->over == MHD_HTTP_TOO_MANY_REQUESTS)
            return reply_error(c, r, k->over, NULL,
                               "too many connections from %s (at most %ld at once, "
                               "--max-conns-per-addr): close some, or try again later",
                               k->client, S.max_conns_addr);
        if (k && k->over)
            return reply_error(c, r, k->over, NULL,
                               "the server has as many connections as it takes (%ld, "
                               "--max-conns): try again later",
                               S.max_conns);
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        if (!req_host_ok(&S.hosts, host))
            return reply_error(c, r, MHD_HTTP_MISDIRECTED_REQUEST, NULL,
                               "%s%s%s is not a name of this server (see --allowed-hosts)",
                               host ? "Host '" : "a request without a Host header",
                               host ? host : "", host ? "'" : "");
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
        if (cl && mem_charge(r, mem_cost(strtoull(cl, NULL, 10))) != 0)
            return reply_mem_full(c, r);
        if (strcmp(method, "POST") == 0)
            return MHD_YES; /* the body follows */
    } else if (*upload_size) {
        /* body data: keep it unless over a limit (then drop it and answer 413 or 503 at the
         * end); without a Content-Length the charge grows with the body */
        if (!r->too_big && r->body.len + *upload_size > S.max_body) {
            r->too_big = 1;
            ty_buf_free(&r->body);
        }
        size_t need = mem_cost(r->body.len + *upload_size);
        if (!r->too_big && !r->no_mem && need > r->charge && mem_charge(r, need) != 0) {
            r->no_mem = 1;
            ty_buf_free(&r->body);
        }
        if (!r->too_big && !r->no_mem) {
            if (ty_buf_put(&r->body, upload, *upload_size) != TY_OK)
                return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->deferred) { /* resumed: a worker thread has answered */
        r->deferred = 0;
        if (r->failed || !r->resp)
            return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(c, r->status, r->resp);
        MHD_destroy_response(r->resp);
        r->resp = NULL;
        return ret;
    }
    if (r->status)
        return MHD_YES; /* already answered */
    conn_busy(c);       /* the request is in: no deadline while it is worked on */
    if (r->too_big)
        return reply_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                           "request body over the limit of %zu bytes", S.max_body);
    if (r->no_mem)
        return reply_mem_full(c, r);
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
    }
    /* the index's routes: a worker thread answers (work_main) */
    r->conn = c;
    r->deferred = 1;
    MHD_suspend_connection(c);
    if (work_push(r) != 0) { /* shutting down */
        MHD_resume_connection(c);
        r->deferred = 0;
        return reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the server is stopping");
    }
    return MHD_YES;
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
            "  --allowed-hosts LIST requests whose Host header names another host get 421;\n"
            "                       LIST: names or addresses, comma-separated, .example.org\n"
            "                       for subdomains too, * for any [on a loopback address:\n"
            "                       localhost,127.0.0.1,::1; elsewhere *]\n"
            "  --max-body BYTES     larger request bodies get 413 (suffix K, M, G) [8M]\n"
            "  --timeout SECONDS    close connections idle (no byte either way) this long [30]\n"
            "  --request-deadline SECONDS  close a connection whose request (headers and\n"
            "                       body) is not in whole this long after it began [60]\n"
            "  --max-conns N        connections at once; more get 503 [2048]\n"
            "  --max-conns-per-addr N  connections at once from one client address; more\n"
            "                       get 429; 0: no limit (behind a reverse proxy) [128]\n"
            "  --request-memory BYTES  memory for request bodies and the work on them, 18\n"
            "                       times each body; requests past it get 503 [256M]\n"
            "  --grace SECONDS      on SIGTERM/SIGINT, wait this long for requests [30]\n"
            "  --access-log FILE    one line per request (default: standard error)\n"
            "  --max-sources N      sources reported per check by default [20]\n"
            "  --max-candidates N   align at most N candidates per check [16]\n"
            "  -h, --help           this help\n\n");
    ty_buf_t b = {0};
    if (ty_opts_help(&b) == TY_OK)
        fwrite(b.data, 1, b.len, f);
    ty_buf_free(&b);
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

/* libmicrohttpd's memory per connection: the request line and headers (up to about half of
 * it) and the buffers to read and send; its default. */
#define MHD_POOL_BYTES (32 * 1024)

/* libmicrohttpd's own connection limits, above ours (notify_conn) so that connections over
 * ours are answered 429/503 rather than dropped; beyond these they are refused at once.
 * The open-file limit is raised to hold them (to its hard limit); where it cannot be,
 * --max-conns is lowered to fit, with a line saying so. */
static int fit_limits(long threads, unsigned *hard_conns, unsigned *hard_addr)
{
    struct rlimit rl;
    long spare = 64 + 4 * threads; /* the index, the log, epoll and pipes per thread */
    long want = S.max_conns + S.max_conns / 4 + 16 + spare;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)want) {
        rl.rlim_cur =
            rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ? (rlim_t)want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)want) {
            long fit = ((long)rl.rlim_cur - spare - 16) * 4 / 5;
            if (fit < 16) {
                fprintf(stderr,
                        "tongyuan: the open-file limit (%ld, ulimit -n) is too low to serve: "
                        "raise it to at least %ld\n",
                        (long)rl.rlim_cur, want);
                return -1;
            }
            fprintf(stderr,
                    "tongyuan serve: the open-file limit (%ld, ulimit -n) holds %ld "
                    "connections: --max-conns lowered from %ld\n",
                    (long)rl.rlim_cur, fit, S.max_conns);
            S.max_conns = fit;
        }
    }
    *hard_conns = (unsigned)(S.max_conns + S.max_conns / 4 + 16);
    *hard_addr = S.max_conns_addr ? (unsigned)(S.max_conns_addr + S.max_conns_addr / 4 + 8) : 0;
    return 0;
}

/* Without --allowed-hosts, a server on a loopback address answers only requests for
 * localhost, 127.0.0.1, ::1 or its own address: a web page a browser loaded from elsewhere
 * cannot read it through a DNS name rebound to 127.0.0.1. Elsewhere any Host is taken. */
static int default_hosts(const struct sockaddr_storage *ss, socklen_t sl)
{
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    int loopback = ss->ss_family == AF_INET
                       ? (ntohl(v4->sin_addr.s_addr) >> 24) == 127
                       : ss->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    char host[128], msg[256];
    if (!loopback)
        return req_hosts_add(&S.hosts, "*", msg, sizeof msg);
    if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof host, NULL, 0, NI_NUMERICHOST) !=
        0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (req_hosts_add(&S.hosts, "localhost,127.0.0.1,::1", msg, sizeof msg) != 0 ||
        req_hosts_add(&S.hosts, host, msg, sizeof msg) != 0) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return -1;
    }
    return 0;
}

/* The listening socket on ss, made here rather than by libmicrohttpd to say why a bind fails.
 * SO_REUSEADDR only (a restart need not wait for TIME_WAIT), never SO_REUSEPORT: with it a
 * second server on the same port would start and the kernel would split the requests
 * between the two. Returns the socket, or -1 with the message printed. */
static int open_listener(const struct sockaddr_storage *ss, socklen_t sl, const char *listen_at)
{
    char host[128] = "?", port[16] = "?";
    getnameinfo((const struct sockaddr *)ss, sl, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        fprintf(stderr, "tongyuan: --listen %s: cannot make a socket: %s\n", listen_at,
                strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0) {
        int e = errno;
        const char *b = ss->ss_family == AF_INET6 ? "[" : "", *k = *b ? "]" : "";
        if (e == EADDRINUSE)
            fprintf(stderr,
                    "tongyuan: --listen %s: port %s is already in use on %s%s%s (another "
                    "server listens there: stop it or choose another port)\n",
                    listen_at, port, b, host, k);
        else if (e == EADDRNOTAVAIL)
            fprintf(stderr,
                    "tongyuan: --listen %s: cannot listen on %s%s%s:%s: %s is not an address "
                    "of this machine\n",
                    listen_at, b, host, k, port, host);
        else if (e == EACCES)
            fprintf(stderr,
                    "tongyuan: --listen %s: cannot listen on %s%s%s:%s: permission denied "
                    "(ports below 1024 need privileges)\n",
                    listen_at, b, host, k, port);
        else
            fprintf(stderr, "tongyuan: --listen %s: cannot listen on %s%s%s:%s: %s\n", listen_at, b,
                    host, k, port, strerror(e));
        close(fd);
        return -1;
    }
    if (listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "tongyuan: --listen %s: %s\n", listen_at, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* --allowed-hosts LIST, which may be given more than once: *(int *)set notes that it was */
static int hosts_arg(void *set, const char *v, char *msg, size_t msg_size)
{
    if (req_hosts_add(&S.hosts, v, msg, msg_size) != 0)
        return -1;
    *(int *)set = 1;
    return 0;
}

/* What the command line says beside S's fields. */
typedef struct {
    long threads, timeout, grace;
    const char *listen_at, *token_file, *log_path;
    int hosts_set;
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned hard_conns, hard_addr;
} args_t;

/* argv into S and a, then everything that can be refused before the index is opened: 0, 1
 * after --help (printed), -1 with a message printed. */
static int parse_args(int argc, char **argv, args_t *a)
{
    long deadline = 60;
    int help = 0;
    char msg[512];
    ty_argdef_t align[TY_OPTS_NARGS];
    ty_opts_args(&S.o, align);
    const ty_argdef_t defs[] = {
        TY_ARG_TABLE(align),
        TY_ARG_HELP(help),
        TY_ARG_FLAG("--auth-reads", NULL, S.auth_reads, 1),
        TY_ARG_CALL("--allowed-hosts", &a->hosts_set, hosts_arg),
        TY_ARG_STRING("--index", "-x", S.ix_path, 0),
        TY_ARG_STRING("--listen", NULL, a->listen_at, 0),
        TY_ARG_INT("--threads", NULL, a->threads, 1, 1024),
        TY_ARG_STRING("--token-file", NULL, a->token_file, 0),
        TY_ARG_BYTES("--max-body", S.max_body),
        TY_ARG_INT("--timeout", NULL, a->timeout, 1, 86400),
        TY_ARG_INT("--request-deadline", NULL, deadline, 1, 86400),
        TY_ARG_INT("--max-conns", NULL, S.max_conns, 1, 1000000),
        TY_ARG_INT("--max-conns-per-addr", NULL, S.max_conns_addr, 0, 1000000),
        TY_ARG_BYTES("--request-memory", S.req_mem),
        TY_ARG_INT("--grace", NULL, a->grace, 0, 86400),
        TY_ARG_STRING("--access-log", NULL, a->log_path, 0),
        TY_ARG_INT("--max-sources", NULL, S.q.max_sources, 1, MAX_SOURCES_LIMIT),
        TY_ARG_INT("--max-candidates", NULL, S.q.max_candidates, 1, 100000),
        TY_ARG_END,
    };
    int rc = ty_args_parse(defs, argc, argv, NULL, NULL, msg, sizeof msg);
    if (rc != TY_OK) {
        fprintf(stderr, "tongyuan serve: %s%s\n", msg,
                rc == TY_ENOTFOUND ? " (see tongyuan serve --help)" : "");
        return -1;
    }
    if (help) {
        usage(stdout);
        return 1;
    }
    S.deadline = (double)deadline;
    if (!S.ix_path) {
        fprintf(stderr, "tongyuan: serve needs -x INDEX (see tongyuan serve --help)\n");
        return -1;
    }
    if (ty_opts_check(&S.o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return -1;
    }
    if (parse_listen(a->listen_at, &a->ss, &a->sl))
        return -1;
    if (!a->hosts_set && default_hosts(&a->ss, a->sl) != 0)
        return -1;
    if (mem_cost(S.max_body) > S.req_mem / 4 * 3) {
        fprintf(stderr,
                "tongyuan: --max-body %zu needs --request-memory of at least %.0fM (%d times "
                "the body, within 3/4 of it)\n",
                S.max_body, ceil((double)mem_cost(S.max_body) * 4 / 3 / 1048576),
                MEM_PER_BODY_BYTE);
        return -1;
    }
    if (fit_limits(a->threads, &a->hard_conns, &a->hard_addr) != 0)
        return -1;
    if (a->token_file && read_token(a->token_file))
        return -1;
    if (a->log_path && strcmp(a->log_path, "-") != 0) {
        S.log = fopen(a->log_path, "a");
        if (!S.log) {
            fprintf(stderr, "tongyuan: --access-log %s: %s\n", a->log_path, strerror(errno));
            return -1;
        }
    }
    S.threads = a->threads;
    S.writable = S.token != NULL;
    return 0;
}

/* The listening socket (a busy port is found before the index loads), the index, the
 * workers and the HTTP daemon, started: the daemon, or NULL with a message printed. */
static struct MHD_Daemon *start(const args_t *a, sigset_t *sigs)
{
    int lfd = open_listener(&a->ss, a->sl, a->listen_at);
    if (lfd < 0)
        return NULL;
    S.ix = ty_index_new();
    if (!S.ix) {
        fprintf(stderr, "tongyuan: out of memory\n");
        close(lfd);
        return NULL;
    }
    if (ty_index_open(S.ix, S.ix_path, S.writable ? TY_INDEX_WRITE : TY_INDEX_READ, NULL) !=
        TY_OK) {
        fprintf(stderr, "tongyuan: %s\n", ty_index_errmsg(S.ix));
        close(lfd);
        return NULL;
    }
    pthread_mutex_init(&S.wlock, NULL);
    pthread_mutex_init(&S.loglock, NULL);
    pthread_mutex_init(&S.wl_lock, NULL);
    pthread_mutex_init(&S.conn_lock, NULL);
    pthread_mutex_init(&S.mem_lock, NULL);

    /* the signals are taken by sigtimedwait() in run(): block them before any thread starts */
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (work_start(a->threads) != 0) {
        fprintf(stderr, "tongyuan: cannot start %ld worker threads\n", a->threads);
        close(lfd);
        return NULL;
    }

    /* one polling thread (epoll) for every connection; the work is the workers' */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_USE_SUSPEND_RESUME;
    if (a->ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)a->timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL, MHD_OPTION_CONNECTION_LIMIT, a->hard_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, a->hard_addr, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)MHD_POOL_BYTES, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "tongyuan: cannot start the HTTP server on %s (see the message above)\n",
                a->listen_at);
        close(lfd);
        return NULL;
    }
    /* the port the kernel chose for port 0 (lfd is the daemon's now) */
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    char host[128] = "?", port[16] = "?";
    if (getsockname(MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD)->listen_fd,
                    (struct sockaddr *)&bound, &bl) == 0)
        getnameinfo((struct sockaddr *)&bound, bl, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    S.started = now_secs();
    ty_index_stats_t st;
    uint64_t ndocs = ty_index_stats(S.ix, &st) == TY_OK ? st.docs : 0;
    int v6 = a->ss.ss_family == AF_INET6;
    fprintf(stderr,
            "tongyuan serve: listening on http://%s%s%s:%s/ (index %s: %llu documents, %ld "
            "threads, writes %s)\n",
            v6 ? "[" : "", host, v6 ? "]" : "", port, S.ix_path, (unsigned long long)ndocs,
            a->threads, S.writable ? "enabled" : "disabled");
    fflush(stderr);
    return d;
}

/* Serve until SIGTERM or SIGINT (keeping the request deadline meanwhile), then stop taking
 * connections, give the requests in flight the grace period and stop the daemon. */
static void run(struct MHD_Daemon *d, const sigset_t *sigs, long grace)
{
    int sig = 0;
    const struct timespec tick = {0, 250 * 1000 * 1000};
    while (sig != SIGTERM && sig != SIGINT) {
        sig = sigtimedwait(sigs, NULL, &tick);
        reap();
    }
    fprintf(stderr, "tongyuan serve: %s: no new connections; finishing %ld requests\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", atomic_load(&S.inflight));
    /* quiesce hands the listening socket back to us: close it, so new connections are
     * refused rather than left waiting in the backlog */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double t_end = now_secs() + (double)grace;
    while (atomic_load(&S.inflight) > 0 && now_secs() < t_end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        reap();
    }
    long left = atomic_load(&S.inflight);
    /* the workers finish what they are answering; what they have not begun is dropped;
     * then the polling thread has a moment to send the last replies */
    work_stop();
    for (int i = 0; i < 100 && atomic_load(&S.inflight) > 0; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    if (left)
        fprintf(stderr, "tongyuan serve: %ld requests cut off after %lds\n", left, grace);
    fprintf(stderr, "tongyuan serve: stopped\n");
}

int cmd_serve(int argc, char **argv)
{
    memset(&S, 0, sizeof S);
    ty_opts_init(&S.o);
    ty_query_opts_init(&S.q);
    S.max_body = (size_t)8 << 20;
    S.req_mem = (size_t)256 << 20;
    S.max_conns = 2048;
    S.max_conns_addr = 128;
    S.log = stderr;
    args_t a = {.threads = sysconf(_SC_NPROCESSORS_ONLN),
                .timeout = 30,
                .grace = 30,
                .listen_at = "127.0.0.1:8080"};
    if (a.threads < 1)
        a.threads = 1;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) {
        sigset_t sigs;
        struct MHD_Daemon *d = start(&a, &sigs);
        if (d)
            run(d, &sigs, a.grace);
        rc = d ? 0 : -1;
    }
    if (W.threads)
        work_stop();
    for (worker_t *w = S.workers, *nx; w; w = nx) {
        nx = w->next;
        ty_searcher_free(w->s);
        ty_aligner_free(w->al);
        ty_doc_free(w->q);
        free(w);
    }
    ty_index_free(S.ix);
    if (S.log && S.log != stderr)
        fclose(S.log);
    free(S.token);
    req_hosts_free(&S.hosts);
    return rc == 1 ? 0 : rc ? EXIT_ERROR : 0;
}
