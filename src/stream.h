/*
 * stream.h — private to src/: a file's bytes, raw or decompressed (gzip, zstd), and a line
 * buffer over them (stream.c); input.c reads every file through them.
 */
#ifndef TY_STREAM_H
#define TY_STREAM_H

#include <zlib.h>
#include <zstd.h>

#include "internal.h"

#define IBUF_SIZE (1 << 16) /* bytes read from a file at a time */

enum { Z_NONE = 0, Z_GZIP = 1, Z_ZSTD = 2 };

typedef struct {
    int fd, own;
    int kind; /* Z_* (decided from the first bytes) */
    int kind_known;
    int eof;           /* the raw file is exhausted */
    int zend;          /* decompressor finished its last member/frame cleanly */
    unsigned char *ib; /* raw input buffer */
    size_t ilen, ipos;
    uint64_t consumed; /* raw bytes read from fd */
    z_stream z;
    int z_init;
    ZSTD_DCtx *zd;
    size_t zret;      /* last ZSTD_decompressStream result: 0 = at a frame boundary */
    const char *path; /* borrowed, for messages */
    int64_t mark[4];  /* size and time when opened (ty__file_mark) */
} ty_stream_t;

/* Open path ("-": standard input, not closed by ty__stream_close); TY_OK, or TY_EIO /
 * TY_ENOMEM with a message naming the file in err. Whether it is compressed is decided on
 * the first read. s->path borrows path. */
int ty__stream_open(ty_stream_t *s, const char *path, char *err);
void ty__stream_close(ty_stream_t *s);
/* Read up to cap decompressed bytes into out. *got = 0 means end of stream. */
int ty__stream_read(ty_stream_t *s, char *out, size_t cap, size_t *got, char *err);

typedef struct {
    char *a;
    size_t beg, end, cap; /* unread data is a[beg, end) */
    int eof;
} ty_lbuf_t;

/* Read more of the stream into the buffer (growing it; unread data may move to the front).
 * Sets b->eof at the end of the stream. */
int ty__lbuf_more(ty_lbuf_t *b, ty_stream_t *s, char *err);
/* Make the next line available without consuming it: *line, *len (without the '\n').
 * Returns 1 with a line, 0 at end of stream, <0 on error. A line longer than max is
 * TY_ETOOBIG (the caller then skips it with ty__lbuf_skip_line). */
int ty__lbuf_peek(ty_lbuf_t *b, ty_stream_t *s, size_t max, char **line, size_t *len, char *err);
/* Consume the line returned by ty__lbuf_peek (len bytes plus its '\n', if any). */
void ty__lbuf_consume(ty_lbuf_t *b, size_t len);
/* Discard input up to and including the next '\n' (after a too-long line). */
int ty__lbuf_skip_line(ty_lbuf_t *b, ty_stream_t *s, char *err);

#endif
