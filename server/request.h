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

/* The route of a URL path; for R_DOC *rest is the document id (still percent-decoded by
 * libmicrohttpd, never empty). */
int req_route(const char *url, const char **rest);
/* The methods a route takes ("GET, HEAD"), for 405's Allow header; "" for R_NONE. */
const char *req_allowed(int route);
int req_method_ok(int route, const char *method);
int req_is_write(int route, const char *method);

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
