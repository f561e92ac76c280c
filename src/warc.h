/*
 * warc.h — private interface of warc.c (WARC records → documents) for input.c. Not installed.
 */
#ifndef TY_WARC_H
#define TY_WARC_H

#include "internal.h"
#include "stream.h"

typedef struct ty__warc ty__warc_t;

/* A WARC reader over the stream st through the line buffer lb (both the caller's, for as
 * long as the reader is used; what lb holds already comes first); path (borrowed) names the
 * file in messages; max: the largest block kept (a larger document record is skipped with
 * TY_ETOOBIG). NULL when out of memory. */
ty__warc_t *ty__warc_new(ty_lbuf_t *lb, ty_stream_t *st, const char *path, size_t max);
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
