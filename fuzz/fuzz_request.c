/*
 * fuzz_request.c — the service's request parsing (server/request.c, compiled in here: it is
 * not part of the library): a route and method from the first line ("METHOD URL"), the rest
 * as the JSON body of /v1/check or /v1/docs. The first line is also tried as an Authorization
 * header and as a Host header (against a list of allowed hosts made from the body's first
 * line).
 *
 * Invariants: every failure has a message; a route's method check agrees with its Allow list;
 * an empty document id or one with a NUL byte is refused; a bearer token is a non-empty
 * suffix of its header that starts after a space; a Host header is allowed by "*" and never
 * by an empty list; a string member's length is the JSON string's (NUL bytes
 * included) and within the body; accepted options are in their documented ranges and pass
 * ty_opts_check(); "custom" is set exactly when an alignment option differs.
 */
#include "../server/request.c"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - (const char *)data) : size;
    char line[256];
    size_t hl = head < sizeof line - 1 ? head : sizeof line - 1;
    memcpy(line, data, hl);
    line[hl] = 0;
    char *method = line, *url = strchr(line, ' ');
    if (url)
        *url++ = 0;
    else
        url = line + hl;
    const char *rest;
    int route = req_route(url, &rest);
    FZ_CHECK(route >= R_PAGE && route <= R_NONE);
    FZ_CHECK((route == R_DOC) == (rest != NULL));
    char err[512];
    if (rest) {
        err[0] = 0;
        int bad = req_doc_id(rest, strlen(rest), err, sizeof err) != 0;
        FZ_CHECK(bad == (rest[0] == 0 || strlen(rest) > MAX_ID_BYTES));
        FZ_CHECK(bad == (err[0] != 0));
    }
    err[0] = 0;
    FZ_CHECK(req_doc_id(line, hl, err, sizeof err) != 0 || (hl && !memchr(line, 0, hl)));
    const char *tok = req_bearer(line);
    if (tok)
        FZ_CHECK(tok > line + 6 && tok[-1] == ' ' && *tok && *tok != ' ');
    req_hosts_t none = {0}, any = {0}, some = {0};
    FZ_CHECK(req_hosts_add(&any, "*", err, sizeof err) == 0);
    FZ_CHECK(req_host_ok(&any, line) && !req_host_ok(&none, line));
    char list[256];
    const char *nl2 = nl ? memchr(nl + 1, '\n', size - head - 1) : NULL;
    size_t ll = nl2 ? (size_t)(nl2 - nl - 1) : 0;
    if (ll && ll < sizeof list) {
        memcpy(list, nl + 1, ll);
        list[ll] = 0;
        err[0] = 0;
        if (strlen(list) == ll && req_hosts_add(&some, list, err, sizeof err) == 0)
            (void)req_host_ok(&some, line);
        else
            FZ_CHECK(strlen(list) != ll || err[0] != 0);
    }
    req_hosts_free(&any);
    req_hosts_free(&some);
    int ok = req_method_ok(route, method);
    if (route == R_NONE || method[0] == 0)
        FZ_CHECK(!ok);
    if (ok) /* the method is one of the Allow list's words */
        FZ_CHECK(strstr(req_allowed(route), method) != NULL);
    (void)req_is_write(route, method);

    const char *body = nl ? nl + 1 : NULL;
    size_t n = nl ? size - head - 1 : 0;
    err[0] = 0;
    json_t *j = req_parse_body(body, n, err, sizeof err);
    if (!j) {
        FZ_CHECK(err[0] != 0);
        return 0;
    }
    FZ_CHECK(json_is_object(j));
    static const char *keys[] = {"text", "id", "name"};
    for (size_t k = 0; k < 3; k++) {
        size_t len = 0;
        err[0] = 0;
        const char *v = req_string(j, keys[k], &len, err, sizeof err);
        if (v) {
            FZ_CHECK(len == json_string_length(json_object_get(j, keys[k])));
            FZ_CHECK(len <= n);
        } else {
            FZ_CHECK(err[0] != 0);
        }
    }
    ty_opts_t base, o;
    ty_opts_init(&base);
    size_t max_sources = 0;
    int custom = -1;
    err[0] = 0;
    if (req_query_opts(j, &base, 20, &o, &max_sources, &custom, err, sizeof err) == 0) {
        FZ_CHECK(o.min_len >= 0 && o.min_len <= 1000000);
        FZ_CHECK(o.min_score >= 0 && o.min_score <= 1);
        FZ_CHECK(max_sources >= 1 && max_sources <= MAX_SOURCES_LIMIT);
        char msg[256];
        FZ_CHECK(ty_opts_check(&o, msg, sizeof msg) == TY_OK);
        FZ_CHECK(custom == (o.min_len != base.min_len || o.min_score != base.min_score));
    } else {
        FZ_CHECK(err[0] != 0);
    }
    json_decref(j);
    return 0;
}
