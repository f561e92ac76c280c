/*
 * share.c — each rank's share of the input (ty_mpi_share), for the MPI dedup and the
 * sharded index build.
 *
 * Every rank lists the same paths; the items (files in input order, directories listed)
 * are laid end to end, the T bytes cut into p equal runs, and rank r reads what starts in
 * run r: whole files, except an uncompressed JSONL file that crosses a cut, which is read in
 * byte ranges (ty__reader_add_range in input.c: a line belongs to the range holding its
 * first byte, so every line is read exactly once). Every rank computes the same plan, so the
 * shares follow one another in input order: rank r's documents come right after ranks
 * 0..r-1's, the single-process order. For the line numbers of ranges (messages, "FILE:LINE"
 * names), each rank counts the line breaks of its ranges and one MPI_Allreduce hands every
 * rank the counts before its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "input.h"
#include "xchg.h"

/* First byte of rank r's share of T bytes split over p ranks. */
static uint64_t share_begin(uint64_t T, int p, int r)
{
    return T / (uint64_t)p * (uint64_t)r + T % (uint64_t)p * (uint64_t)r / (uint64_t)p;
}

/* The rank whose share holds byte pos (the last one starting at or before it). */
static int share_owner(uint64_t T, int p, uint64_t pos)
{
    int lo = 0, hi = p - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (share_begin(T, p, mid) <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* A JSONL file that may be read in byte ranges: not compressed (name and first bytes). */
static int splittable(const ty_reader_item_t *it)
{
    size_t l = strlen(it->path);
    if (!it->jsonl || it->is_stdin || !it->size || (l >= 3 && !strcmp(it->path + l - 3, ".gz")) ||
        (l >= 4 && !strcmp(it->path + l - 4, ".zst")))
        return 0;
    unsigned char b[4] = {0};
    int fd = open(it->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* read whole: the reader reports the error */
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return 0;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return 0;
    return 1;
}

/* Line breaks in bytes [b, e) of path; -1 on a read error (errno). */
static int64_t count_lines(const char *path, uint64_t b, uint64_t e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    int64_t n = buf ? 0 : -1;
    if (!buf)
        errno = ENOMEM;
    while (buf && b < e) {
        size_t want = e - b < cap ? (size_t)(e - b) : cap;
        ssize_t got = pread(fd, buf, want, (off_t)b);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            n = got < 0 ? -1 : n;
            break;
        }
        for (const char *q = buf, *end = buf + got; (q = memchr(q, '\n', (size_t)(end - q))); q++)
            n++;
        b += (uint64_t)got;
    }
    int e2 = errno;
    free(buf);
    close(fd);
    errno = e2;
    return n;
}

int ty__mpi_share_plan(ty__mpi_t *x, ty_reader_t *all, ty_reader_t *mine, int *split_files)
{
    int rank = x->rank, p = x->size;
    size_t n = ty__reader_nitems(all);
    uint64_t T = 0;
    for (size_t i = 0; i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        T += it.size;
    }
    /* pass 1: which items are cut, how many ranges */
    char *cut = calloc(n + 1, 1);
    size_t nr = 0;
    uint64_t pos = 0;
    for (size_t i = 0; cut && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        int r0 = share_owner(T, p, pos), r1 = it.size ? share_owner(T, p, pos + it.size - 1) : r0;
        if (r1 > r0 && splittable(&it)) {
            cut[i] = 1;
            nr += (size_t)(r1 - r0 + 1);
        }
        pos += it.size;
    }
    uint64_t *cnt = calloc(nr + 1, sizeof(uint64_t)), *tot = calloc(nr + 1, sizeof(uint64_t));
    if (!cut || !cnt || !tot) { /* the others wait in the MPI_Allreduce */
        TY_FREE(cut, cnt, tot);
        return ty__mpi_oom(x, "the input plan");
    }
    /* pass 2: line breaks of my ranges */
    size_t k = 0;
    pos = 0;
    for (size_t i = 0; !x->lfail && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        if (cut[i]) {
            int r0 = share_owner(T, p, pos), r1 = share_owner(T, p, pos + it.size - 1);
            for (int r = r0; r <= r1; r++, k++) {
                uint64_t b = r == r0 ? 0 : share_begin(T, p, r) - pos;
                uint64_t e = r == r1 ? it.size : share_begin(T, p, r + 1) - pos;
                if (r != rank || r == r1)
                    continue; /* the last range's count is not needed */
                int64_t c = count_lines(it.path, b, e);
                if (c < 0) {
                    ty__mpi_local(x, TY_EIO, "rank %d: %s: %s", rank, it.path, strerror(errno));
                    break;
                }
                cnt[k] = (uint64_t)c;
            }
        }
        pos += it.size;
    }
    int rc = TY_OK;
    int mrc = MPI_Allreduce(cnt, tot, (int)nr, MPI_UINT64_T, MPI_SUM, x->comm);
    if (mrc != MPI_SUCCESS)
        rc = ty__mpi_fail(x, mrc, "Allreduce");
    /* pass 3: queue my share */
    k = 0;
    pos = 0;
    *split_files = 0;
    for (size_t i = 0; !rc && !x->lfail && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        int r0 = share_owner(T, p, pos), e = TY_OK;
        if (!cut[i]) {
            if (r0 == rank)
                e = ty__reader_add_item(mine, all, i);
        } else {
            (*split_files)++;
            int r1 = share_owner(T, p, pos + it.size - 1);
            uint64_t lines = 0;
            for (int r = r0; r <= r1 && !e; r++, k++) {
                uint64_t b = r == r0 ? 0 : share_begin(T, p, r) - pos;
                /* the last range to the end of the file, as one process would read it */
                uint64_t end = r == r1 ? UINT64_MAX : share_begin(T, p, r + 1) - pos;
                if (r == rank)
                    e = ty__reader_add_range(mine, all, i, b, end, lines);
                lines += tot[k];
            }
        }
        if (e)
            ty__mpi_local(x, e, "rank %d: %s", rank,
                          *ty_reader_errmsg(mine) ? ty_reader_errmsg(mine) : ty_strerror(e));
        pos += it.size;
    }
    TY_FREE(cut, cnt, tot);
    return rc;
}

int ty_mpi_share(MPI_Comm comm, ty_reader_t *all, ty_reader_t *mine, int *split_files,
                 ty_mpi_err_t *err)
{
    ty__mpi_t x;
    int rc = ty__mpi_open(&x, comm);
    *split_files = 0;
    if (!rc)
        rc = ty__mpi_share_plan(&x, all, mine, split_files);
    if (!rc) /* every rank ends here together: one failure is everyone's */
        rc = ty__mpi_agree(&x, TY_OK);
    if (err)
        *err = x.err;
    ty__mpi_close(&x);
    return rc;
}
