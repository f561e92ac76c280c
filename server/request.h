/*
 * request.h — parsing the service's requests (routes, methods, JSON bodies and their options),
 * apart from libmicrohttpd so that it can be fuzzed on its own (fuzz/fuzz_request.c). Failures
 * return NULL or -1 with a message for the 400 reply in err.
 */
#ifndef TY_SERVER_REQUEST_H
#define TY_SERVER_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "tongyuan.h"

enum { R_PAGE, R_HEALTH, R_STATS, R_CHECK, R_REPORT, R_DOCS, R_DOC, R_NONE };

#define MAX_SOURCES_LIMIT 1000
#define MAX_ID_BYTES 1000

/* The route of a URL path; for R_DOC *rest is the document id (percent-decoded by
 * libmicrohttpd; "" for "/v1/docs/", which req_doc_id() refuses). */
int req_route(const char *url, const char **rest);
/* The methods a route takes ("GET, HEAD"), for 405's Allow header; "" for R_NONE. */
const char *req_allowed(int route);
int req_method_ok(int route, const char *method);
int req_is_write(int route, const char *method);

/* A document id from a client (the rest of /v1/docs/{id}, or the "id" of POST /v1/docs, len
 * bytes): 0 if usable; -1 with the message for the 400 reply if empty, over MAX_ID_BYTES or
 * holding a NUL byte (it could be stored but never fetched or deleted over HTTP). */
int req_doc_id(const char *id, size_t len, char *err, size_t errsz);

/* The credentials of an Authorization header of the Bearer scheme: the scheme's name in any
 * case (RFC 7235), one or more spaces, then the token (the rest of the value); NULL for
 * another scheme or no token. */
const char *req_bearer(const char *authorization);

/* Allowed values of the Host header (--allowed-hosts): host names or IP addresses without
 * a port; ".example.org" also takes its subdomains; "*" any host. */
typedef struct {
    char **names; /* lower case, IPv6 literals without [] */
    size_t n;
    int any;
} req_hosts_t;
/* Add the comma-separated list to h (which starts zeroed): 0, or -1 with a message. */
int req_hosts_add(req_hosts_t *h, const char *list, char *err, size_t errsz);
/* Whether a request's Host header value ("name", "name:port", "[v6]:port"; NULL when the
 * request has none) names an allowed host. Case and a trailing dot do not matter. */
int req_host_ok(const req_hosts_t *h, const char *host);
void req_hosts_free(req_hosts_t *h);

/* The body as a JSON object (n bytes, not NUL-terminated; body may be NULL when n is 0). */
json_t *req_parse_body(const char *body, size_t n, char *err, size_t errsz);
/* A required string member: its value and length (it may hold NUL bytes), or NULL. */
const char *req_string(json_t *j, const char *key, size_t *len, char *err, size_t errsz);
/* The search options of /v1/check and /v1/report ("min_len", "min_score", "max_sources")
 * over the server's (base, base_max): 0, or -1. *custom is set when the alignment options
 * differ from base. */
int req_query_opts(json_t *j, const ty_opts_t *base, size_t base_max, ty_opts_t *o,
                   size_t *max_sources, int *custom, char *err, size_t errsz);

#endif
