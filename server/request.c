/*
 * request.c — parsing the service's requests, without libmicrohttpd (request.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    if (strncmp(url, "/v1/docs/", 9) == 0) {
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

int req_doc_id(const char *id, size_t len, char *err, size_t errsz)
{
    if (len == 0)
        snprintf(err, errsz, "empty document id: ids are 1 to %d bytes long", MAX_ID_BYTES);
    else if (len > MAX_ID_BYTES)
        snprintf(err, errsz, "document id of %zu bytes: ids are 1 to %d bytes long", len,
                 MAX_ID_BYTES);
    else if (memchr(id, 0, len))
        snprintf(err, errsz, "document id with a NUL byte (\\u0000) at byte %zu",
                 (size_t)((const char *)memchr(id, 0, len) - id));
    else
        return 0;
    return -1;
}

const char *req_bearer(const char *a)
{
    if (!a || strncasecmp(a, "Bearer", 6) != 0 || a[6] != ' ')
        return NULL;
    a += 6;
    while (*a == ' ')
        a++;
    return *a ? a : NULL;
}

/* The host of a Host header value or of a list entry, lower case, without port, [] and one
 * trailing dot, into out; -1 if it is not "host", "host:port", "[v6]" or "[v6]:port" (a bare
 * IPv6 literal, with more than one colon, is taken whole when port_ok is 0). */
static int host_part(const char *v, int port_ok, char *out, size_t size)
{
    const char *b = v, *e, *port = NULL;
    if (*v == '[') {
        b = v + 1;
        e = strchr(b, ']');
        if (!e || (e[1] && e[1] != ':'))
            return -1;
        if (e[1])
            port = e + 2;
    } else {
        const char *c = strchr(v, ':');
        e = v + strlen(v);
        if (c && !strchr(c + 1, ':')) { /* host:port */
            e = c;
            port = c + 1;
        } else if (c && port_ok) {
            return -1; /* a Host header wants [] around an IPv6 address */
        }
    }
    if (port && (!port_ok || !*port || strspn(port, "0123456789") != strlen(port)))
        return -1;
    size_t n = (size_t)(e - b);
    if (n && b[n - 1] == '.')
        n--;
    if (n == 0 || n >= size)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (ch <= ' ' || ch == '/' || ch == '@' || ch == ',' || ch >= 0x7f)
            return -1;
        out[i] = (char)tolower(ch);
    }
    out[n] = 0;
    return 0;
}

int req_hosts_add(req_hosts_t *h, const char *list, char *err, size_t errsz)
{
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[256], host[256];
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof item) {
            snprintf(err, errsz, "%s in '%s'", n ? "a name over 255 bytes" : "an empty name", list);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (strcmp(item, "*") == 0) {
            h->any = 1;
        } else if (host_part(item, 0, host, sizeof host) != 0) {
            snprintf(err, errsz, "'%s' is not a host name or address (give no port)", item);
            return -1;
        } else {
            char **nn = realloc(h->names, (h->n + 1) * sizeof *nn);
            char *d = strdup(host);
            if (!nn || !d) {
                free(d);
                if (nn)
                    h->names = nn;
                snprintf(err, errsz, "out of memory");
                return -1;
            }
            h->names = nn;
            h->names[h->n++] = d;
        }
        p += strcspn(p, ",");
        if (!*p)
            return 0;
        p++;
    }
}

int req_host_ok(const req_hosts_t *h, const char *host)
{
    char name[256];
    if (h->any)
        return 1;
    if (!host || host_part(host, 1, name, sizeof name) != 0)
        return 0;
    size_t n = strlen(name);
    for (size_t i = 0; i < h->n; i++) {
        const char *a = h->names[i];
        size_t an = strlen(a);
        if (strcmp(a, name) == 0)
            return 1;
        /* ".example.org": example.org and any name ending in .example.org */
        if (a[0] == '.' && (strcmp(a + 1, name) == 0 || (n > an && strcmp(name + n - an, a) == 0)))
            return 1;
    }
    return 0;
}

void req_hosts_free(req_hosts_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->names[i]);
    free(h->names);
    memset(h, 0, sizeof *h);
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
