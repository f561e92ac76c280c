/*
 * request.c — parsing the service's requests, without libmicrohttpd (request.h).
 */
#include <stdio.h>
#include <string.h>

#include "request.h"

int req_route(const char *url, const char **rest)
{
    *rest = NULL;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return R_PAGE;
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTH;
    if (strcmp(url, "/v1/stats") == 0)
        return R_STATS;
    if (strcmp(url, "/v1/check") == 0)
        return R_CHECK;
    if (strcmp(url, "/v1/report") == 0)
        return R_REPORT;
    if (strcmp(url, "/v1/docs") == 0)
        return R_DOCS;
    if (strncmp(url, "/v1/docs/", 9) == 0 && url[9]) {
        *rest = url + 9;
        return R_DOC;
    }
    return R_NONE;
}

const char *req_allowed(int route)
{
    switch (route) {
    case R_PAGE:
    case R_HEALTH:
    case R_STATS: return "GET, HEAD";
    case R_CHECK:
    case R_REPORT:
    case R_DOCS: return "POST";
    case R_DOC: return "GET, HEAD, DELETE";
    }
    return "";
}

int req_method_ok(int route, const char *m)
{
    const char *a = req_allowed(route);
    size_t n = strlen(m);
    if (n == 0)
        return 0;
    for (const char *p = a; (p = strstr(p, m)) != NULL; p += n)
        if ((p == a || p[-1] == ' ') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

int req_is_write(int route, const char *m)
{
    return route == R_DOCS || (route == R_DOC && strcmp(m, "DELETE") == 0);
}

json_t *req_parse_body(const char *body, size_t n, char *err, size_t errsz)
{
    if (n == 0 || !body) {
        snprintf(err, errsz, "empty body: send a JSON object, e.g. {\"text\": \"...\"}");
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        snprintf(err, errsz, "invalid JSON (or not UTF-8) at line %d, column %d (byte %d): %s",
                 e.line, e.column, e.position, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errsz, "the body must be a JSON object, e.g. {\"text\": \"...\"}");
        return NULL;
    }
    return j;
}

const char *req_string(json_t *j, const char *key, size_t *len, char *err, size_t errsz)
{
    json_t *v = json_object_get(j, key);
    if (!v || !json_is_string(v)) {
        snprintf(err, errsz, "%s \"%s\": a string is required", v ? "wrong type of" : "missing",
                 key);
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

int req_query_opts(json_t *j, const ty_opts_t *base, size_t base_max, ty_opts_t *o,
                   size_t *max_sources, int *custom, char *err, size_t errsz)
{
    *o = *base;
    *max_sources = base_max;
    *custom = 0;
    json_t *v = json_object_get(j, "min_len");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000) {
            snprintf(err, errsz, "\"min_len\" must be an integer from 0 to 1000000");
            return -1;
        }
        o->min_len = (int)json_integer_value(v);
    }
    v = json_object_get(j, "min_score");
    if (v) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
            snprintf(err, errsz, "\"min_score\" must be a number from 0 to 1");
            return -1;
        }
        o->min_score = json_number_value(v);
    }
    v = json_object_get(j, "max_sources");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > MAX_SOURCES_LIMIT) {
            snprintf(err, errsz, "\"max_sources\" must be an integer from 1 to %d",
                     MAX_SOURCES_LIMIT);
            return -1;
        }
        *max_sources = (size_t)json_integer_value(v);
    }
    if (ty_opts_check(o, err, errsz) != TY_OK)
        return -1;
    *custom = o->min_len != base->min_len || o->min_score != base->min_score;
    return 0;
}
