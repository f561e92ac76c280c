/*
 * input.h — private to input.c and its internal callers (index_add.c): JSONL lines handed
 * out unparsed, so that several threads can parse them (JSON decoding is the slowest part
 * of reading a JSONL corpus). Not installed.
 */
#ifndef TY_INPUT_H
#define TY_INPUT_H

#include <jansson.h>

#include "internal.h"

/* Like ty_reader_next(), but a JSONL line is returned unparsed: *raw = 1, rec->text/len
 * hold the line (without its line break), rec->origin/line say where it is, rec->name is
 * NULL. Whole-file documents come parsed as usual (*raw = 0). */
int ty__reader_next_raw(ty_reader_t *r, ty_record_t *rec, int *raw);
const ty_reader_opts_t *ty__reader_opts(const ty_reader_t *r);

/* Per-thread state of ty__jsonl_parse(): the parsed object and a name buffer. */
typedef struct {
    json_t *j;
    char *name;
    size_t cap;
} ty_jsonl_t;

/* Parse one JSONL line (origin and line for messages) into rec, whose pointers then point
 * into st (valid until the next parse or ty__jsonl_free). Returns 1, or an error code with
 * a message naming ORIGIN:LINE in err (TY_ERRMSG_SIZE bytes). Thread-safe for distinct st. */
int ty__jsonl_parse(ty_jsonl_t *st, const ty_reader_opts_t *o, const char *origin,
                    uint64_t line, const char *buf, size_t len, ty_record_t *rec, char *err);
void ty__jsonl_free(ty_jsonl_t *st);

#endif
