/*
 * serve.h — private to server/: the server's state and what its files call of each other.
 *   serve.c   options, startup and shutdown, the request handler, the worker threads;
 *   conn.c    connections: the limits, the request deadline, the request memory, the log;
 *   routes.c  the index's routes (check, report, documents, stats) and the replies.
 * Calls go one way, serve.c -> routes.c -> conn.c; S is defined in conn.c.
 */
#ifndef TY_SERVE_H
#define TY_SERVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "tongyuan.h"
#include "request.h"

/* Seconds on the monotonic clock. */
static inline double now_secs(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

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
    req_hosts_t hosts; /* --allowed-hosts */
    size_t max_body;
    ty_opts_t o;
    ty_query_opts_t q;
    pthread_mutex_t wlock; /* writes, and calls that use the handle's message buffer */
    pthread_mutex_t loglock;
    FILE *log;
    atomic_long inflight;
    atomic_ullong requests;
    pthread_mutex_t wl_lock;
    worker_t *workers;
    double started;
    long threads;
    /* limits (docs/serve.md, "Limits"); conn_lock guards the connection list, mem_lock the
     * request memory in use */
    long max_conns, max_conns_addr;
    double deadline;
    size_t req_mem;
    pthread_mutex_t conn_lock;
    struct conn *conns;
    long nconns; /* connections within the limits */
    pthread_mutex_t mem_lock;
    size_t mem_used, mem_large;
} server_t;

extern server_t S;

/* One connection (libmicrohttpd's socket_context), from accept to close, in S.conns. */
typedef struct conn {
    struct conn *prev, *next;
    int fd;
    unsigned char addr[17]; /* address family, then the address: the per-address key */
    char client[64];        /* the address, for the log */
    unsigned over;          /* 0, or 429 / 503: over the per-address / total limit */
    /* under S.conn_lock: */
    double t0;   /* when the request being read began: accept, or the end of the one before */
    int busy;    /* its request is in and being answered: the deadline does not apply */
    int has_req; /* handler() has a request on it (completed() logs it) */
    int reaped;  /* shut down by the deadline */
} conn_t;

/* One request (libmicrohttpd's con_cls). */
typedef struct req {
    double t0;
    char method[16];
    char *path;
    char client[64];
    ty_buf_t body;
    int too_big, no_mem;
    int route;
    unsigned status;
    size_t bytes;
    size_t charge; /* of the request memory (mem_charge) */
    int large;
    /* a request handed to the worker threads (work_main): its connection is suspended;
     * reply() keeps the response in resp, which handler() queues once it is resumed */
    struct MHD_Connection *conn;
    struct MHD_Response *resp;
    int deferred, failed;
    struct req *qnext;
} req_t;

/* ---- conn.c ------------------------------------------------------------------------------ */

/* The connection's tracking (notify_conn), or NULL. */
conn_t *conn_of(struct MHD_Connection *c);
/* The connection's request is in (or answered): its deadline no longer runs. */
void conn_busy(struct MHD_Connection *c);
/* The client's address, for the log. */
void client_of(struct MHD_Connection *c, char *out, size_t size);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION: a connection opened or closed. */
void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);
/* Shut down the connections past their deadline (main thread). */
void reap(void);
/* A request's body and the work on it are charged to --request-memory from its headers
 * (Content-Length) or as its chunks come, until its reply has been sent: MEM_PER_BODY_BYTE
 * bytes per body byte, above the peak working memory measured for Chinese text, the most
 * per byte (one request at a time, 0.9 to 7.3 MB bodies: /v1/report 17.2 times the body,
 * POST /v1/docs 16.9, /v1/check 12.7; Latin text 10.6 at most). A request that does not
 * fit gets 503. Large requests (charged over 1/64 of the budget) together take at most 3/4
 * of it, so that a few large uploads, finished or stalled, never stop the small checks. */
#define MEM_PER_BODY_BYTE 18
/* The request memory a body of this many bytes is charged. */
size_t mem_cost(size_t body);
/* Make r's charge want bytes: 0, or -1 (charge unchanged) if the budget has no room. */
int mem_charge(req_t *r, size_t want);
/* One access-log line; path NULL for a connection whose request line never came. */
void log_line(const char *client, const char *method, const char *path, unsigned status,
              size_t bytes, double ms, const char *why);
/* libmicrohttpd's MHD_OPTION_NOTIFY_COMPLETED: the request's log line, its memory freed. */
void completed(void *cls, struct MHD_Connection *c, void **con_cls,
               enum MHD_RequestTerminationCode toe);
/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages on standard error. */
void mhd_log(void *cls, const char *fmt, va_list ap);

/* ---- routes.c ---------------------------------------------------------------------------- */

/* Queue buf (malloc()ed, n bytes; taken over) as the reply. */
enum MHD_Result reply(struct MHD_Connection *c, req_t *r, unsigned status, const char *ctype,
                      char *buf, size_t n, const char *allow);
/* A JSON error reply {"error": the message, "status"}; allow: the Allow header, or NULL. */
enum MHD_Result reply_error(struct MHD_Connection *c, req_t *r, unsigned status, const char *allow,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 503: the request memory (mem_charge) has no room for this body now */
enum MHD_Result reply_mem_full(struct MHD_Connection *c, req_t *r);
/* Answer a request of the index's routes (on a worker thread). */
enum MHD_Result route_work(struct MHD_Connection *c, req_t *r);

#endif
