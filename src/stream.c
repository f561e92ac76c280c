/*
 * stream.c — the bottom layers of reading input (input.c is the reader on top): a stream is
 * a file descriptor, decompressed on the fly when its first bytes are a gzip or zstd magic
 * number (content decides, not the file name: valid UTF-8 text can never start with those
 * bytes, so a text file is never mistaken for one); a line buffer over a stream hands out
 * JSONL lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"

/* ---- stream: raw or decompressed bytes of one file -------------------------------------- */

/* Read what the file gives (one read(2), again if interrupted) into the raw buffer behind
 * what it holds; at the end of the file, set s->eof. */
static int raw_read(ty_stream_t *s, char *err)
{
    for (;;) {
        ssize_t r = read(s->fd, s->ib + s->ilen, IBUF_SIZE - s->ilen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ty__err(err, TY_EIO, "%s: %s", s->path, strerror(errno));
        if (r == 0)
            s->eof = 1;
        s->ilen += (size_t)r;
        s->consumed += (uint64_t)r;
        return TY_OK;
    }
}

static int st_fill(ty_stream_t *s, char *err)
{
    if (s->ipos < s->ilen || s->eof)
        return TY_OK;
    s->ipos = s->ilen = 0;
    return raw_read(s, err);
}

void ty__stream_close(ty_stream_t *s)
{
    if (s->own && s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->z_init)
        inflateEnd(&s->z);
    s->z_init = 0;
    ZSTD_freeDCtx(s->zd);
    s->zd = NULL;
    free(s->ib);
    s->ib = NULL;
}

int ty__stream_open(ty_stream_t *s, const char *path, char *err)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->path = path;
    s->ib = malloc(IBUF_SIZE);
    if (!s->ib)
        return ty__err(err, TY_ENOMEM, "%s: out of memory", path);
    if (strcmp(path, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        s->own = 1;
        if (s->fd < 0) {
            int e = errno;
            free(s->ib);
            s->ib = NULL;
            return ty__err(err, TY_EIO, "%s: %s", path, strerror(e));
        }
    }
    ty__file_mark(s->fd, s->mark);
    return TY_OK;
}

/* Decide raw / gzip / zstd from the first four bytes (fewer at a short end of file). */
static int st_detect(ty_stream_t *s, char *err)
{
    while (s->ilen - s->ipos < 4 && !s->eof) {
        /* accumulate: move what we have to the front and read more behind it */
        size_t have = s->ilen - s->ipos;
        memmove(s->ib, s->ib + s->ipos, have);
        s->ipos = 0;
        s->ilen = have;
        int rc = raw_read(s, err);
        if (rc)
            return rc;
    }
    const unsigned char *b = s->ib + s->ipos;
    size_t n = s->ilen - s->ipos;
    s->kind = Z_NONE;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        s->kind = Z_GZIP;
    else if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        s->kind = Z_ZSTD;
    s->kind_known = 1;
    if (s->kind == Z_GZIP) {
        memset(&s->z, 0, sizeof(s->z));
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            return ty__err(err, TY_ENOMEM, "%s: out of memory (zlib)", s->path);
        s->z_init = 1;
    } else if (s->kind == Z_ZSTD) {
        s->zd = ZSTD_createDCtx();
        if (!s->zd)
            return ty__err(err, TY_ENOMEM, "%s: out of memory (zstd)", s->path);
    }
    return TY_OK;
}

/* Read up to cap decompressed bytes into out. *got = 0 means end of stream. */
int ty__stream_read(ty_stream_t *s, char *out, size_t cap, size_t *got, char *err)
{
    *got = 0;
    int rc;
    if (!s->kind_known && (rc = st_detect(s, err)) != TY_OK)
        return rc;
    while (*got == 0) {
        if ((rc = st_fill(s, err)) != TY_OK)
            return rc;
        size_t avail = s->ilen - s->ipos;
        if (s->kind == Z_NONE) {
            if (!avail)
                return TY_OK; /* eof */
            size_t n = avail < cap ? avail : cap;
            memcpy(out, s->ib + s->ipos, n);
            s->ipos += n;
            *got = n;
        } else if (s->kind == Z_GZIP) {
            if (!avail) {
                if (!s->zend)
                    return ty__err(err, TY_EIO,
                                   "%s: truncated gzip data (ends inside a member at byte %llu)",
                                   s->path, (unsigned long long)s->consumed);
                return TY_OK;
            }
            if (s->zend) {
                /* another member follows (concatenated .gz files) */
                if (inflateReset(&s->z) != Z_OK)
                    return ty__err(err, TY_EIO, "%s: zlib reset failed", s->path);
                s->zend = 0;
            }
            s->z.next_in = s->ib + s->ipos;
            s->z.avail_in = (uInt)avail;
            s->z.next_out = (Bytef *)out;
            s->z.avail_out = (uInt)(cap > (1u << 30) ? (1u << 30) : cap);
            uInt before_out = s->z.avail_out;
            int zr = inflate(&s->z, Z_NO_FLUSH);
            s->ipos += avail - s->z.avail_in;
            *got = before_out - s->z.avail_out;
            if (zr == Z_STREAM_END) {
                s->zend = 1;
            } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
                uint64_t at = s->consumed - (s->ilen - s->ipos);
                return ty__err(err, TY_EIO, "%s: corrupt gzip data near byte %llu (%s)", s->path,
                               (unsigned long long)at, s->z.msg ? s->z.msg : "zlib error");
            }
        } else {
            if (!avail) {
                if (s->zret != 0)
                    return ty__err(err, TY_EIO,
                                   "%s: truncated zstd data (ends inside a frame at byte %llu)",
                                   s->path, (unsigned long long)s->consumed);
                return TY_OK;
            }
            ZSTD_inBuffer in = {s->ib + s->ipos, avail, 0};
            ZSTD_outBuffer ob = {out, cap, 0};
            size_t zr = ZSTD_decompressStream(s->zd, &ob, &in);
            s->ipos += in.pos;
            *got = ob.pos;
            if (ZSTD_isError(zr)) {
                uint64_t at = s->consumed - (s->ilen - s->ipos);
                return ty__err(err, TY_EIO, "%s: corrupt zstd data near byte %llu (%s)", s->path,
                               (unsigned long long)at, ZSTD_getErrorName(zr));
            }
            s->zret = zr;
        }
    }
    return TY_OK;
}

/* ---- line buffer over a stream ---------------------------------------------------------- */

/* Read more of the stream into the buffer (growing it; unread data may move to the front).
 * Sets b->eof at the end of the stream. */
int ty__lbuf_more(ty_lbuf_t *b, ty_stream_t *s, char *err)
{
    if (b->beg > 0 && b->end - b->beg < b->cap / 2) {
        memmove(b->a, b->a + b->beg, b->end - b->beg);
        b->end -= b->beg;
        b->beg = 0;
    }
    if (b->cap - b->end < IBUF_SIZE) {
        size_t nc = b->cap ? b->cap * 2 : 4 * IBUF_SIZE;
        char *p = realloc(b->a, nc + 1);
        if (!p)
            return ty__err(err, TY_ENOMEM, "%s: out of memory", s->path);
        b->a = p;
        b->cap = nc;
    }
    size_t got;
    int rc = ty__stream_read(s, b->a + b->end, b->cap - b->end, &got, err);
    if (rc)
        return rc;
    if (!got)
        b->eof = 1;
    b->end += got;
    return TY_OK;
}

/* Make the next line available without consuming it: *line, *len (without the '\n').
 * Returns 1 with a line, 0 at end of stream, <0 on error. A line longer than max is
 * TY_ETOOBIG (the caller then skips it with ty__lbuf_skip_line). */
int ty__lbuf_peek(ty_lbuf_t *b, ty_stream_t *s, size_t max, char **line, size_t *len, char *err)
{
    size_t scanned = 0;
    for (;;) {
        size_t left = b->end - b->beg - scanned;
        char *nl = left ? memchr(b->a + b->beg + scanned, '\n', left) : NULL;
        if (nl) {
            *line = b->a + b->beg;
            *len = (size_t)(nl - *line);
            return 1;
        }
        scanned = b->end - b->beg;
        if (b->eof) {
            if (b->end == b->beg)
                return 0;
            *line = b->a + b->beg;
            *len = b->end - b->beg;
            return 1;
        }
        if (b->end - b->beg > max)
            return TY_ETOOBIG;
        int rc = ty__lbuf_more(b, s, err);
        if (rc)
            return rc;
    }
}

/* Consume the line returned by ty__lbuf_peek (len bytes plus its '\n', if any). */
void ty__lbuf_consume(ty_lbuf_t *b, size_t len)
{
    b->beg += len;
    if (b->beg < b->end && b->a[b->beg] == '\n')
        b->beg++;
}

/* Discard input up to and including the next '\n' (after a too-long line). */
int ty__lbuf_skip_line(ty_lbuf_t *b, ty_stream_t *s, char *err)
{
    for (;;) {
        char *nl = memchr(b->a + b->beg, '\n', b->end - b->beg);
        if (nl) {
            b->beg = (size_t)(nl - b->a) + 1;
            return TY_OK;
        }
        b->beg = b->end = 0;
        if (b->eof)
            return TY_OK;
        size_t got;
        int rc = ty__stream_read(s, b->a, b->cap, &got, err);
        if (rc)
            return rc;
        if (!got)
            b->eof = 1;
        b->end = got;
    }
}
