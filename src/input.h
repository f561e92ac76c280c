/*
 * input.h — private to input.c and its internal callers (index_add.c): JSONL lines handed
 * out unparsed, so that several threads can parse them (JSON decoding is the slowest part
 * of reading a JSONL corpus). Not installed.
 */
#ifndef TY_INPUT_H
#define TY_INPUT_H

#include <jansson.h>

#include "internal.h"
#include "jsonl_fast.h"

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
    ty_jsonl_fast_t fast; /* the fast path's buffers (jsonl_fast.c) */
    int no_fast;          /* 1: always jansson (tests compare the two) */
} ty_jsonl_t;

/* Parse one JSONL line (origin and line for messages) into rec, whose pointers then point
 * into st (valid until the next parse or ty__jsonl_free). Returns 1, or an error code with
 * a message naming ORIGIN:LINE in err (TY_ERRMSG_SIZE bytes). Thread-safe for distinct st. */
int ty__jsonl_parse(ty_jsonl_t *st, const ty_reader_opts_t *o, const char *origin, uint64_t line,
                    const char *buf, size_t len, ty_record_t *rec, char *err);
void ty__jsonl_free(ty_jsonl_t *st);

/* The queue, for splitting the input among processes (src/mpi/share.c): every process lists the
 * same paths, then queues only its share of the items, or byte ranges of a JSONL file. */
typedef struct {
    const char *path, *name; /* name: the document name of a whole-file item */
    int jsonl, is_stdin;
    uint64_t size; /* bytes of a regular file, 0 otherwise */
} ty_reader_item_t;

size_t ty__reader_nitems(const ty_reader_t *r);
/* Item i (pointers valid while r lives). TY_EINVAL if out of range. */
int ty__reader_item(const ty_reader_t *r, size_t i, ty_reader_item_t *it);
/* Queue item i of from as it is (same name and format). */
int ty__reader_add_item(ty_reader_t *r, const ty_reader_t *from, size_t i);
/* Queue the lines of JSONL item i of from that start at a byte offset in [begin, end); the
 * file must not be compressed. lines_before: line breaks in the file's first begin bytes,
 * so that line numbers (and "FILE:LINE" names) are the ones of the whole file. Splitting a
 * file at any offsets b0 = 0 <= b1 <= ... <= bn = size (or UINT64_MAX: to the end of the
 * file, however long it has grown) gives every line exactly once. */
int ty__reader_add_range(ty_reader_t *r, const ty_reader_t *from, size_t i, uint64_t begin,
                         uint64_t end, uint64_t lines_before);

#endif
