/*
 * jsonl_both.h — one JSONL line parsed both ways, with the fast path (src/jsonl_fast.c) and
 * with jansson alone, for the differential checks that compare them: fuzz/fuzz_jsonl_fast.c
 * (any bytes) and tests/unit/test_jsonl_fast.c (the lines written to hit each branch).
 */
#ifndef TY_JSONL_BOTH_H
#define TY_JSONL_BOTH_H

#include <string.h>

#include "../src/input.h" /* the fuzz targets are built with -Iinclude only */

typedef struct {
    ty_jsonl_t a, b;    /* a: with the fast path; b: jansson only */
    ty_record_t ra, rb; /* their records (when x, y are 1) */
    int x, y;           /* their statuses, as ty__jsonl_parse() returns them */
    char ea[TY_ERRMSG_SIZE], eb[TY_ERRMSG_SIZE];
} jsonl_both_t;

/* Parse line (len bytes, line number no of path) both ways into j; jsonl_both_free() after. */
static void jsonl_both(jsonl_both_t *j, const char *path, uint64_t no, const char *line, size_t len)
{
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    memset(j, 0, sizeof(*j));
    j->b.no_fast = 1;
    j->x = ty__jsonl_parse(&j->a, &o, path, no, line, len, &j->ra, j->ea);
    j->y = ty__jsonl_parse(&j->b, &o, path, no, line, len, &j->rb, j->eb);
}

static void jsonl_both_free(jsonl_both_t *j)
{
    ty__jsonl_free(&j->a);
    ty__jsonl_free(&j->b);
}

#endif
