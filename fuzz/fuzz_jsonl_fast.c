/*
 * fuzz_jsonl_fast.c — differential target: the JSONL fast path (src/jsonl_fast.c) against
 * jansson. Every line of the input is parsed by ty__jsonl_parse() with and without the fast
 * path; status, name and text must agree, and a text must be NUL-terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/input.h"

static void agree(const char *line, size_t len)
{
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    ty_jsonl_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    b.no_fast = 1;
    ty_record_t ra, rb;
    char ea[TY_ERRMSG_SIZE], eb[TY_ERRMSG_SIZE];
    int x = ty__jsonl_parse(&a, &o, "f.jsonl", 1, line, len, &ra, ea);
    int y = ty__jsonl_parse(&b, &o, "f.jsonl", 1, line, len, &rb, eb);
    if (x != y || (x == 1 && (strcmp(ra.name, rb.name) != 0 || ra.len != rb.len ||
                              memcmp(ra.text, rb.text, ra.len) != 0 || ra.text[ra.len] != 0))) {
        fprintf(stderr, "fast path differs from jansson (%d vs %d) on %zu bytes\n", x, y, len);
        abort();
    }
    ty__jsonl_free(&a);
    ty__jsonl_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *e = p + size;
    while (p <= e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        agree(p, n);
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}
