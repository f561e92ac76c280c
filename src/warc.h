/*
 * warc.h — private interface of warc.c (WARC records → documents) for input.c. Not installed.
 */
#ifndef TY_WARC_H
#define TY_WARC_H

#include "internal.h"

typedef struct ty__warc ty__warc_t;

/* The stream's next bytes: up to cap into buf, *got = 0 at its end. TY_OK, or an error code
 * with a message in err (TY_ERRMSG_SIZE bytes). */
typedef int (*ty__warc_read_fn)(void *ctx, char *buf, size_t cap, size_t *got, char *err);

/* A WARC reader over rd; path (borrowed) names the file in messages; max: the largest block
 * kept (a larger document record is skipped with TY_ETOOBIG). NULL when out of memory. */
ty__warc_t *ty__warc_new(ty__warc_read_fn rd, void *ctx, const char *path, size_t max);
void ty__warc_free(ty__warc_t *w);

typedef struct {
    uint64_t number;          /* the record's number in the file, 1-based */
    uint64_t offset;          /* its first byte in the (decompressed) stream */
    const char *uri;          /* WARC-Target-URI, "" if none (valid until the next call) */
    const char *content_type; /* the payload's media type ("text/html; charset=gbk"), or "" */
    char *body;               /* the payload (malloc()ed, len + 1 allocated): the caller owns it */
    size_t len;
} ty__warc_rec_t;

/* The next record that holds a document: 1 with *rec; 0 at the end of the file; an error
 * code with err naming the file, the record's number and byte offset — the next call goes on
 * with the record after it. */
int ty__warc_next(ty__warc_t *w, ty__warc_rec_t *rec, char *err);

#endif
