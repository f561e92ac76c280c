/*
 * util.c — error strings, version, options, and the small helpers every stage uses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"

const char *ty_strerror(int err)
{
    switch (err) {
    case TY_OK: return "success";
    case TY_ENOMEM: return "out of memory";
    case TY_EINVAL: return "invalid argument";
    case TY_EIO: return "input/output error";
    case TY_EUTF8: return "invalid UTF-8";
    case TY_EBINARY: return "binary input (NUL bytes)";
    case TY_ETOOBIG: return "input too large";
    case TY_ECORRUPT: return "damaged or foreign file";
    case TY_EVERSION: return "incompatible format version or parameters";
    case TY_ENOTFOUND: return "not found";
    case TY_EBUSY: return "in use by a writer";
    case TY_EEXIST: return "already exists";
    case TY_EEMPTY: return "no text extracted";
    case TY_EENCODING: return "unknown or mismatched character encoding";
    case TY_EUNSUPPORTED: return "format or feature not supported";
    case TY_ECANCELED: return "stopped by the caller";
    case TY_EREADONLY: return "read-only";
    default: return "unknown error";
    }
}

const char *ty_version(void) { return TY_VERSION_STRING; }

int ty__err(char *buf, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, TY_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    return code;
}

int ty__vec_grow(void **a, size_t *m, size_t need, size_t elem)
{
    size_t nm = *m ? *m : 16;
    while (nm < need) {
        if (nm > SIZE_MAX / 2 / elem)
            return -1;
        nm *= 2;
    }
    void *p = realloc(*a, nm * elem);
    if (!p)
        return -1;
    *a = p;
    *m = nm;
    return 0;
}

void ty__line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

void ty__free_all(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
}

void ty__file_mark(int fd, int64_t mark[4])
{
    struct stat st;
    memset(mark, 0, 4 * sizeof(int64_t));
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        mark[0] = (int64_t)st.st_size;
        mark[1] = (int64_t)st.st_mtim.tv_sec;
        mark[2] = (int64_t)st.st_mtim.tv_nsec;
        mark[3] = 1;
    }
}

int ty__file_changed(int fd, const int64_t mark[4], const char *path, char *err)
{
    int64_t now[4];
    if (!mark[3])
        return 0;
    ty__file_mark(fd, now);
    if (!now[3] || (now[0] == mark[0] && now[1] == mark[1] && now[2] == mark[2]))
        return 0;
    ty__err(err, TY_EIO,
            "%s: changed while it was being read (%lld bytes when opened, %lld now): read it "
            "again once it is complete",
            path, (long long)mark[0], (long long)now[0]);
    return 1;
}

/* One loop for both directions: pread and pwrite may move fewer bytes than asked (a signal,
 * a pipe-like file, the end of the file or of the disk), so both go on from where they
 * stopped until n bytes have moved. */
static int pio_full(int fd, char *p, size_t n, uint64_t off, int writing)
{
    while (n) {
        ssize_t k = writing ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : writing ? ENOSPC : EIO;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int ty__pread_full(int fd, void *p, size_t n, uint64_t off) { return pio_full(fd, p, n, off, 0); }

int ty__pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
    return pio_full(fd, (char *)p, n, off, 1); /* pwrite only reads p */
}
