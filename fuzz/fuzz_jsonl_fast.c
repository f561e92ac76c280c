/*
 * fuzz_jsonl_fast.c — differential target: the JSONL fast path (src/jsonl_fast.c) against
 * jansson. Every line of the input is parsed by ty__jsonl_parse() with and without the fast
 * path; status, name and text must agree, and a text must be NUL-terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl_both.h"

static void agree(const char *line, size_t len)
{
    static jsonl_both_t j;
    jsonl_both(&j, "f.jsonl", 1, line, len);
    const ty_record_t *ra = &j.ra, *rb = &j.rb;
    if (j.x != j.y ||
        (j.x == 1 && (strcmp(ra->name, rb->name) != 0 || ra->len != rb->len ||
                      memcmp(ra->text, rb->text, ra->len) != 0 || ra->text[ra->len] != 0))) {
        fprintf(stderr, "fast path differs from jansson (%d vs %d) on %zu bytes\n", j.x, j.y, len);
        abort();
    }
    jsonl_both_free(&j);
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
