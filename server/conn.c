/*
 * conn.c — the life of a connection in `tongyuan serve` (serve.c): the limits on
 * connections, the request deadline, the request memory, and the access log.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "serve.h"

/* The server's state (serve.h), defined in the file the other two call into, so that the
 * calls between server/'s files go one way: serve.c -> routes.c -> conn.c. serve.c fills it
 * before the daemon starts. */
server_t S;

/* ---- connections: limits and the request deadline ------------------------------------- */

/* Every connection is in S.conns from accept to close (notify_conn). One over a limit is
 * let in, answered 429 (per address) or 503 (in total) as soon as its headers are in and
 * closed; one that does not send its headers within OVER_GRACE seconds is closed without
 * a word. libmicrohttpd's own limits, set a little higher, refuse connections beyond that
 * outright. The request deadline is kept by reap(), run by the main thread a few times a
 * second: a connection whose request has not come in whole within --request-deadline
 * seconds is shut down (shutdown(2) from this thread: libmicrohttpd then reads its end and
 * closes it; the descriptor stays valid because it is only closed after notify_conn's
 * CLOSED, which takes conn_lock). libmicrohttpd's --timeout is an idle timer that every
 * byte restarts, so by itself it lets a client that sends a byte a second hold a
 * connection for ever. */
#define OVER_GRACE 2.0

conn_t *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The connection's request is in (or answered): its deadline no longer runs. */
void conn_busy(struct MHD_Connection *c)
{
    conn_t *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&S.conn_lock);
    k->busy = 1;
    pthread_mutex_unlock(&S.conn_lock);
}

void client_of(struct MHD_Connection *c, char *out, size_t size)
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

void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    conn_t *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!k)
            return;
        pthread_mutex_lock(&S.conn_lock);
        if (k->prev)
            k->prev->next = k->next;
        else
            S.conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        S.nconns -= !k->over;
        pthread_mutex_unlock(&S.conn_lock);
        free(k);
        *socket_context = NULL;
        return;
    }
    k = calloc(1, sizeof *k);
    if (!k)
        return; /* not tracked: no limit and no deadline for this one */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k->fd = ci ? ci->connect_fd : -1;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        k->addr[0] = (unsigned char)sa->sa_family;
        if (sa->sa_family == AF_INET)
            memcpy(k->addr + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        else if (sa->sa_family == AF_INET6)
            memcpy(k->addr + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
    client_of(c, k->client, sizeof k->client);
    pthread_mutex_lock(&S.conn_lock);
    long same = 0;
    for (conn_t *o = S.conns; o && S.max_conns_addr; o = o->next)
        same += !o->over && memcmp(o->addr, k->addr, sizeof k->addr) == 0;
    k->over = S.max_conns_addr && same >= S.max_conns_addr ? MHD_HTTP_TOO_MANY_REQUESTS
              : S.nconns >= S.max_conns                    ? MHD_HTTP_SERVICE_UNAVAILABLE
                                                           : 0;
    S.nconns += !k->over;
    k->t0 = now_secs();
    k->next = S.conns;
    if (S.conns)
        S.conns->prev = k;
    S.conns = k;
    pthread_mutex_unlock(&S.conn_lock);
    *socket_context = k;
}

/* Shut down the connections past their deadline (main thread). The log lines of those cut
 * off before their request line are written after conn_lock is let go: a thousand of them at
 * once must not hold up the threads that answer. */
void reap(void)
{
    typedef struct {
        char client[64];
        unsigned status;
        double ms;
    } cut_t;
    cut_t cut[64];
    size_t ncut = 0;
    double now = now_secs();
    conn_t *k;
    do {
        ncut = 0;
        pthread_mutex_lock(&S.conn_lock);
        for (k = S.conns; k && ncut < sizeof cut / sizeof *cut; k = k->next) {
            if (k->busy || k->reaped || k->fd < 0 ||
                now - k->t0 < (k->over ? OVER_GRACE : S.deadline))
                continue;
            shutdown(k->fd, SHUT_RDWR);
            k->reaped = 1;
            if (!k->has_req) { /* no request for completed() to log: the headers never came */
                memcpy(cut[ncut].client, k->client, sizeof k->client);
                cut[ncut].status = k->over ? k->over : MHD_HTTP_REQUEST_TIMEOUT;
                cut[ncut++].ms = (now - k->t0) * 1e3;
            }
        }
        pthread_mutex_unlock(&S.conn_lock);
        for (size_t i = 0; i < ncut; i++)
            log_line(cut[i].client, "-", NULL, cut[i].status, 0, cut[i].ms,
                     cut[i].status == MHD_HTTP_REQUEST_TIMEOUT ? "deadline" : "over-limit");
    } while (ncut == sizeof cut / sizeof *cut);
}

/* ---- request memory ---------------------------------------------------------------------- */

size_t mem_cost(size_t body)
{
    return body > SIZE_MAX / MEM_PER_BODY_BYTE ? SIZE_MAX : body * MEM_PER_BODY_BYTE;
}

/* Make r's charge want bytes: 0, or -1 (charge unchanged) if the budget has no room. */
int mem_charge(req_t *r, size_t want)
{
    int large = want > S.req_mem / 64;
    pthread_mutex_lock(&S.mem_lock);
    size_t used = S.mem_used - r->charge, lused = S.mem_large - (r->large ? r->charge : 0);
    int ok = want <= r->charge ||
             (want <= S.req_mem - used &&
              (!large || (lused <= S.req_mem / 4 * 3 && want <= S.req_mem / 4 * 3 - lused)));
    if (ok) {
        S.mem_used = used + want;
        S.mem_large = lused + (large ? want : 0);
        r->charge = want;
        r->large = large;
    }
    pthread_mutex_unlock(&S.mem_lock);
    return ok ? 0 : -1;
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

/* One access-log line; path NULL for a connection whose request line never came. */
void log_line(const char *client, const char *method, const char *path, unsigned status,
              size_t bytes, double ms, const char *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&S.loglock);
    fprintf(S.log, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, client, method);
    if (path)
        log_json_str(S.log, path);
    else
        fputc('-', S.log);
    fprintf(S.log, " %u %zu %.1fms", status, bytes, ms);
    if (why && *why)
        fprintf(S.log, " %s", why);
    fputc('\n', S.log);
    fflush(S.log);
    pthread_mutex_unlock(&S.loglock);
}

void completed(void *cls, struct MHD_Connection *c, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    req_t *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    /* the connection's next request, if any, has its own deadline */
    conn_t *k = conn_of(c);
    int reaped = 0;
    if (k) {
        pthread_mutex_lock(&S.conn_lock);
        reaped = k->reaped;
        k->busy = k->has_req = 0;
        k->t0 = now_secs();
        pthread_mutex_unlock(&S.conn_lock);
    }
    static const char *why[] = {"", "error", "timeout", "shutdown", "read-error", "client-abort"};
    const char *w =
        reaped ? "deadline"
        : toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && (size_t)toe < sizeof why / sizeof *why
            ? why[toe]
            : "";
    log_line(r->client, r->method, r->path ? r->path : "?",
             reaped && !r->status ? MHD_HTTP_REQUEST_TIMEOUT : r->status, r->bytes,
             (now_secs() - r->t0) * 1e3, w);
    mem_charge(r, 0);
    ty_buf_free(&r->body);
    free(r->path);
    free(r);
    atomic_fetch_sub(&S.inflight, 1);
}

/* libmicrohttpd's messages on standard error. Under a flood of connections it says the same
 * thing once per connection ("Connection was closed by remote side with incomplete
 * request."): a message repeated within 10 s is counted instead of printed. */
void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static char last[512];
    static double last_t;
    static long repeats;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    double now = now_secs();
    pthread_mutex_lock(&S.loglock);
    if (strcmp(msg, last) == 0 && now - last_t < 10) {
        repeats++;
    } else {
        if (repeats)
            fprintf(stderr, "tongyuan serve: libmicrohttpd: (the message before %ld more times)\n",
                    repeats);
        fprintf(stderr, "tongyuan serve: libmicrohttpd: %s\n", msg);
        snprintf(last, sizeof last, "%s", msg);
        last_t = now;
        repeats = 0;
    }
    pthread_mutex_unlock(&S.loglock);
}
