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

/* Defaults: chosen on the development set (make eval) with a sweep over k, gaps and
 * lengths; see README "Parameters". */
void ty_opts_init(ty_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->k = 4;
    o->w = 1;
    o->max_occ = 32;
    o->max_gap = 60;
    o->gap_cost = 0.4;
    o->drift_cost = 0.25;
    o->min_chain = 12;
    o->merge_gap = 60;
    o->min_len = 25;
    o->min_score = 0.25;
    o->snap = 12;
    o->utf8_mode = TY_UTF8_STRICT;
    o->max_doc_bytes = (size_t)64 << 20;
}

int ty_opts_check(const ty_opts_t *o, char *msg, size_t msg_size)
{
    const char *bad = NULL;
    if (o->k < 2 || o->k > 16)
        bad = "k must be between 2 and 16";
    else if (o->w < 1 || o->w > 256)
        bad = "w must be between 1 and 256";
    else if (o->max_occ < 1)
        bad = "max_occ must be at least 1";
    else if (o->max_gap < 0 || o->max_gap > 100000)
        bad = "max_gap must be between 0 and 100000";
    else if (!(o->gap_cost >= 0 && o->gap_cost <= 100))
        bad = "gap_cost must be between 0 and 100";
    else if (!(o->drift_cost >= 0 && o->drift_cost <= 100))
        bad = "drift_cost must be between 0 and 100";
    else if (o->min_chain < 0)
        bad = "min_chain must be >= 0";
    else if (o->merge_gap < 0 || o->merge_gap > 100000)
        bad = "merge_gap must be between 0 and 100000";
    else if (o->min_len < 0)
        bad = "min_len must be >= 0";
    else if (!(o->min_score >= 0 && o->min_score <= 1))
        bad = "min_score must be between 0 and 1";
    else if (o->snap < 0 || o->snap > 1000)
        bad = "snap must be between 0 and 1000";
    else if (o->utf8_mode != TY_UTF8_STRICT && o->utf8_mode != TY_UTF8_REPLACE)
        bad = "utf8_mode must be TY_UTF8_STRICT or TY_UTF8_REPLACE";
    else if (o->max_doc_bytes == 0 || o->max_doc_bytes > ((size_t)1 << 32) - 1)
        bad = "max_doc_bytes must be between 1 and 4294967295";
    else if (o->input_format < TY_FORMAT_AUTO || o->input_format > TY_FORMAT_WARC)
        bad = "input_format must be one of TY_FORMAT_*";
    return ty__opts_verdict(bad, o->encoding, msg, msg_size);
}

int ty__opts_verdict(const char *bad, const char *encoding, char *msg, size_t msg_size)
{
    if (!bad && encoding && *encoding) {
        char cs[32];
        if (ty__charset_canon(encoding, cs, sizeof cs) != 0) {
            if (msg && msg_size)
                snprintf(msg, msg_size,
                         "encoding '%s' is not a charset iconv knows (iconv -l lists them)",
                         encoding);
            return TY_EINVAL;
        }
    }
    if (!bad)
        return TY_OK;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", bad);
    return TY_EINVAL;
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
