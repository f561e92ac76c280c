/*
 * jsonl_fast.h — the fast path for plain JSONL lines (jsonl_fast.c). Private.
 */
#ifndef TY_JSONL_FAST_H
#define TY_JSONL_FAST_H

#include <stddef.h>

enum { TY_FAST_ID_NONE = 0, TY_FAST_ID_STRING = 1 };

typedef struct {
    char *text; /* the text member, decoded, NUL-terminated */
    size_t text_len, text_cap;
    char *id; /* the id member when id_kind is TY_FAST_ID_STRING */
    size_t id_len, id_cap;
    int id_kind;   /* TY_FAST_ID_*: absent or null, or a string */
    char *scratch; /* other string members, decoded only to be checked */
    size_t scratch_cap;
} ty_jsonl_fast_t;

/* 1: the line is a flat JSON object with a string member text_field (and, if present, a
 * string or null id_field), decoded into f. 0: not handled here (anything unusual, or an
 * error): parse the line with jansson instead. Never a different result from jansson. */
int ty__jsonl_fast(ty_jsonl_fast_t *f, const char *line, size_t len, const char *text_field,
                   const char *id_field);
void ty__jsonl_fast_free(ty_jsonl_fast_t *f);

#endif
