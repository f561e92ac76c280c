/*
 * dedup_spill.c — what the one-process dedup engine holds on disk when its memory budget
 * (ty_dedup_opts_t.memory, `dedup --memory`) would be passed: the temporary directory and the
 * append-only stores of per-document bytes (spun mode's compressed texts, near mode's
 * signatures), read back with pread (docs/dedup.md, "Memory").
 *
 * The temporary directory is made with mkdtemp in tmp_dir ($TMPDIR or /tmp) when the first
 * file is needed, and every file in it is created without a name (O_TMPFILE; elsewhere a named
 * file unlinked at once): the directory stays empty, the files vanish when they are closed or
 * the process ends however it ends, and removing the directory is one rmdir — which a front
 * end may call from a signal handler on the path ty_dedup_tmp_dir() gives (the library installs
 * no handler). pread, not mmap: pages of a mapped file are counted in the process's resident
 * memory; the page cache that serves pread is not, and the kernel gives it up under pressure.
 *
 * A store is one logical byte range [0, n): the bytes before `disk` are in the file, the rest
 * in memory chunks (a value may straddle two chunks). Spilling writes the memory part to the
 * end of the file and frees it; the offsets of the values do not change, so the records that
 * name them (drec_t.coff, a document's signature at g x bytes) stay as they are and a look-up
 * gives the same bytes before and after — the engine's decisions cannot depend on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup_impl.h"

#define CHUNK ((size_t)16 << 20)

/* ---- the temporary directory ------------------------------------------------------------- */

/* A file without a name in the directory (made first): its descriptor, or -1 with a
 * message naming tmp_dir. */
static int spill_file(ty__spill_t *s, char *err)
{
    if (!s->dir[0]) {
        const char *parent = s->parent && *s->parent ? s->parent : getenv("TMPDIR");
        if (!parent || !*parent)
            parent = "/tmp";
        /* mkdtemp fills s->dir in place: a signal handler reading it sees the template or
         * the name, and an rmdir of either is harmless */
        if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/tongyuan-dedup.XXXXXX", parent) >=
                sizeof s->dir ||
            !mkdtemp(s->dir)) {
            int e = errno;
            s->dir[0] = 0;
            ty__err(err, TY_EIO, "cannot make a temporary directory in %s (tmp_dir): %s", parent,
                    strerror(e));
            return -1;
        }
    }
    int fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* no O_TMPFILE here: a named file, unlinked at once */
        char path[sizeof s->dir + 16];
        snprintf(path, sizeof path, "%s/spill.XXXXXX", s->dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
    }
    if (fd < 0)
        ty__err(err, TY_EIO, "cannot make a temporary file in %s (tmp_dir): %s", s->dir,
                strerror(errno));
    return fd;
}

void ty__spill_end(ty__spill_t *s)
{
    if (s->dir[0])
        rmdir(s->dir);
    s->dir[0] = 0;
}

/* ---- append-only stores ------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int ty__blobs_put(ty__blobs_t *b, const void *p, size_t n, uint64_t *off)
{
    const char *s = p;
    *off = b->n;
    while (n) {
        size_t at = (size_t)(b->n - b->base), ci = at / CHUNK, co = at % CHUNK;
        if (ci == b->chunks.n) {
            char *c = malloc(CHUNK);
            if (!c || ty_vec_push(b->chunks, c)) {
                free(c);
                return TY_ENOMEM;
            }
        }
        size_t k = CHUNK - co < n ? CHUNK - co : n;
        memcpy(b->chunks.a[ci] + co, s, k);
        s += k;
        n -= k;
        b->n += k;
    }
    return TY_OK;
}

const char *ty__blobs_get(const ty__blobs_t *b, uint64_t off, size_t n, char *scratch)
{
    if (!n)
        return scratch;
    if (off >= b->base) { /* in memory: a pointer when it lies in one chunk */
        size_t at = (size_t)(off - b->base), ci = at / CHUNK, co = at % CHUNK;
        if (co + n <= CHUNK)
            return b->chunks.a[ci] + co;
    }
    for (size_t done = 0; done < n;) {
        uint64_t o = off + done;
        size_t k;
        if (o < b->base) { /* on disk */
            k = o + (n - done) > b->base ? (size_t)(b->base - o) : n - done;
            ssize_t r = pread(b->fd, scratch + done, k, (off_t)o);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return NULL;
            k = (size_t)r;
        } else {
            size_t at = (size_t)(o - b->base), ci = at / CHUNK, co = at % CHUNK;
            k = CHUNK - co < n - done ? CHUNK - co : n - done;
            memcpy(scratch + done, b->chunks.a[ci] + co, k);
        }
        done += k;
    }
    return scratch;
}

const char *ty__blobs_read(const ty__blobs_t *b, uint64_t off, size_t n, char **buf, size_t *cap)
{
    if (*cap < n) {
        char *p = realloc(*buf, n);
        if (!p)
            return NULL;
        *buf = p;
        *cap = n;
    }
    return ty__blobs_get(b, off, n, *buf);
}

int ty__blobs_spill(ty__blobs_t *b, ty__spill_t *s, char *err)
{
    if (b->n == b->base)
        return TY_OK;
    if (b->fd < 0 && (b->fd = spill_file(s, err)) < 0)
        return TY_EIO;
    for (size_t i = 0; i < b->chunks.n; i++) {
        uint64_t from = b->base + (uint64_t)i * CHUNK;
        size_t k = b->n - from < CHUNK ? (size_t)(b->n - from) : CHUNK;
        int e = write_all(b->fd, b->chunks.a[i], k, from);
        if (e)
            return ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s", s->dir,
                           strerror(e));
    }
    for (size_t i = 0; i < b->chunks.n; i++)
        free(b->chunks.a[i]);
    b->chunks.n = 0;
    s->disk_bytes += b->n - b->base;
    b->base = b->n;
    return TY_OK;
}

void ty__blobs_free(ty__blobs_t *b)
{
    for (size_t i = 0; i < b->chunks.n; i++)
        free(b->chunks.a[i]);
    free(b->chunks.a);
    if (b->fd >= 0)
        close(b->fd);
    memset(b, 0, sizeof *b);
    b->fd = -1;
}

/* ---- the budget ----------------------------------------------------------------------------- */

uint64_t ty__spill_default_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : (uint64_t)8 << 30;
    /* a container's limit (cgroup v2), when lower than the machine's memory */
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        unsigned long long lim;
        if (fscanf(f, "%llu", &lim) == 1 && lim > 0 && lim < ram)
            ram = lim;
        fclose(f);
    }
    return ram / 2;
}
