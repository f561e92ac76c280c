/*
 * xchg.c — the MPI part's exchanges: a duplicated communicator whose errors return, the
 * agreement on failures, and the all-to-all, gather and all-gather steps of the rounds.
 *
 * Failures: a rank that fails on its own (a file it cannot read, a bad record with fail
 * mode) keeps the failure until the next ty__mpi_agree(), where every rank learns it and
 * returns an error; the ranks stay in step. An MPI call that fails, or memory that runs out
 * between two collectives of a step, leaves the others inside the next collective: those
 * set err.stranded, and the caller (the tongyuan command) ends the job with MPI_Abort —
 * the library itself never does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xchg.h"

#define XCHG_MAX ((size_t)INT32_MAX) /* MPI counts are ints */

int ty__mpi_open(ty__mpi_t *x, MPI_Comm comm)
{
    memset(x, 0, sizeof(*x));
    x->comm = MPI_COMM_NULL;
    int mrc = MPI_Comm_dup(comm, &x->comm);
    if (mrc != MPI_SUCCESS) {
        x->comm = MPI_COMM_NULL;
        return ty__mpi_fail(x, mrc, "Comm_dup");
    }
    MPI_Comm_set_errhandler(x->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(x->comm, &x->rank);
    MPI_Comm_size(x->comm, &x->size);
    return TY_OK;
}

void ty__mpi_close(ty__mpi_t *x)
{
    if (x->comm != MPI_COMM_NULL)
        MPI_Comm_free(&x->comm);
    x->comm = MPI_COMM_NULL;
}

int ty__mpi_fail(ty__mpi_t *x, int mrc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    s[0] = 0;
    MPI_Error_string(mrc, s, &n);
    snprintf(x->err.msg, sizeof x->err.msg,
             "rank %d: MPI %s failed (%s); another rank may have died", x->rank, what, s);
    x->err.here = 1;
    x->err.stranded = 1;
    return TY_EIO;
}

int ty__mpi_oom(ty__mpi_t *x, const char *what)
{
    snprintf(x->err.msg, sizeof x->err.msg, "rank %d: out of memory (%s)", x->rank, what);
    x->err.here = 1;
    x->err.stranded = 1;
    return TY_ENOMEM;
}

int ty__mpi_local(ty__mpi_t *x, int rc, const char *fmt, ...)
{
    if (x->lfail)
        return rc;
    x->lfail = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err.msg, sizeof x->err.msg, fmt, ap);
    va_end(ap);
    x->err.here = 1;
    return rc;
}

int ty__mpi_agree(ty__mpi_t *x, int rc)
{
    int mine = x->lfail ? x->lfail : rc, any = 0;
    int mrc = MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MIN, x->comm);
    if (mrc != MPI_SUCCESS)
        return ty__mpi_fail(x, mrc, "Allreduce");
    if (!any)
        return TY_OK;
    if (!mine) {
        snprintf(x->err.msg, sizeof x->err.msg, "rank %d: stopped: another rank failed", x->rank);
        x->err.here = 0;
    }
    return mine ? mine : any;
}

size_t ty__mpi_displs(const int *cnt, int *disp, int p)
{
    size_t tot = 0;
    for (int r = 0; r < p; r++) {
        disp[r] = (int)tot;
        tot += (size_t)cnt[r];
    }
    return tot;
}

int ty__mpi_xchg_raw(ty__mpi_t *x, const char *sbuf, const int *sc, char **out, size_t *nout,
                     uint64_t *bytes)
{
    int p = x->size;
    int *sd = calloc((size_t)p * 3, sizeof(int));
    if (!sd)
        return ty__mpi_oom(x, "exchange counts");
    int *rcnt = sd + p, *rd = sd + 2 * p;
    size_t off = 0;
    for (int r = 0; r < p; r++) {
        sd[r] = (int)off;
        off += (size_t)sc[r];
        if (r != x->rank)
            *bytes += (uint64_t)sc[r];
    }
    int mrc = MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, x->comm);
    if (mrc != MPI_SUCCESS) {
        free(sd);
        return ty__mpi_fail(x, mrc, "Alltoall");
    }
    size_t tot = ty__mpi_displs(rcnt, rd, p);
    char *rbuf = NULL;
    if (tot > XCHG_MAX || off > XCHG_MAX || !(rbuf = malloc(tot + 1))) {
        free(sd);
        return ty__mpi_oom(x, tot > XCHG_MAX || off > XCHG_MAX
                                  ? "an exchange of more than 2 GB: use a smaller batch"
                                  : "exchange buffer");
    }
    mrc = MPI_Alltoallv(sbuf, sc, sd, MPI_BYTE, rbuf, rcnt, rd, MPI_BYTE, x->comm);
    free(sd);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return ty__mpi_fail(x, mrc, "Alltoallv");
    }
    *out = rbuf;
    *nout = tot;
    return TY_OK;
}

int ty__mpi_xchg(ty__mpi_t *x, const void *recs, size_t n, size_t sz, const int *dest, void **out,
                 size_t *nout, uint64_t *bytes)
{
    int p = x->size;
    if (n * sz > XCHG_MAX)
        return ty__mpi_oom(x, "an exchange of more than 2 GB: use a smaller batch");
    int *sc = calloc((size_t)p * 2, sizeof(int));
    char *sbuf = malloc(n * sz + 1);
    if (!sc || !sbuf) {
        free(sc);
        free(sbuf);
        return ty__mpi_oom(x, "exchange buffer");
    }
    int *sd = sc + p;
    for (size_t i = 0; i < n; i++)
        sc[dest[i]]++;
    ty__mpi_displs(sc, sd, p);
    for (size_t i = 0; i < n; i++) {
        int r = dest[i];
        memcpy(sbuf + (size_t)sd[r]++ * sz, (const char *)recs + i * sz, sz);
    }
    for (int r = 0; r < p; r++)
        sc[r] = (int)((size_t)sc[r] * sz);
    char *rbuf = NULL;
    size_t tot = 0;
    int rc = ty__mpi_xchg_raw(x, sbuf, sc, &rbuf, &tot, bytes);
    free(sbuf);
    free(sc);
    if (rc)
        return rc;
    *out = rbuf;
    *nout = tot / sz;
    return TY_OK;
}

int ty__mpi_xchg_free(ty__mpi_t *x, int rc, void *recs, size_t n, size_t sz, int *dest, void **out,
                      size_t *nout, uint64_t *bytes)
{
    if (!rc)
        rc = ty__mpi_xchg(x, recs, n, sz, dest, out, nout, bytes);
    free(recs);
    free(dest);
    return rc;
}

int ty__mpi_ask(ty__mpi_t *x, const void *q, size_t n, size_t qsz, const int *dest, size_t asz,
                ty__answer_fn answer, void *ctx, void **out, size_t *nout, uint64_t *bytes)
{
    void *r = NULL;
    size_t nr = 0;
    int rc = ty__mpi_xchg(x, q, n, qsz, dest, &r, &nr, bytes);
    if (rc)
        return rc;
    char *a = malloc(nr * asz + 1);
    int *ad = malloc((nr + 1) * sizeof(int));
    if (!a || !ad)
        rc = ty__mpi_oom(x, "answers");
    for (size_t i = 0; !rc && i < nr; i++)
        ad[i] = answer(ctx, (const char *)r + i * qsz, a + i * asz);
    free(r);
    if (!rc)
        rc = ty__mpi_xchg(x, a, nr, asz, ad, out, nout, bytes);
    free(a);
    free(ad);
    return rc;
}

int ty__mpi_gather0(ty__mpi_t *x, const void *recs, size_t n, size_t sz, void **out, size_t *nout,
                    uint64_t *bytes)
{
    int p = x->size, c = (int)(n * sz);
    int *rc = NULL, *rd = NULL;
    char *rbuf = NULL;
    *out = NULL;
    *nout = 0;
    if (n * sz > XCHG_MAX)
        return ty__mpi_oom(x, "a gather of more than 2 GB: use a smaller batch");
    if (x->rank == 0) {
        rc = calloc((size_t)p * 2, sizeof(int));
        if (!rc)
            return ty__mpi_oom(x, "gather counts");
        rd = rc + p;
    } else {
        *bytes += (uint64_t)c;
    }
    int mrc = MPI_Gather(&c, 1, MPI_INT, rc, 1, MPI_INT, 0, x->comm);
    if (mrc != MPI_SUCCESS) {
        free(rc);
        return ty__mpi_fail(x, mrc, "Gather");
    }
    size_t tot = 0;
    if (x->rank == 0) {
        tot = ty__mpi_displs(rc, rd, p);
        if (tot > XCHG_MAX || !(rbuf = malloc(tot + 1))) {
            free(rc);
            return ty__mpi_oom(x, "gather buffer");
        }
    }
    mrc = MPI_Gatherv(recs, c, MPI_BYTE, rbuf, rc, rd, MPI_BYTE, 0, x->comm);
    free(rc);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return ty__mpi_fail(x, mrc, "Gatherv");
    }
    *out = rbuf;
    *nout = tot / sz;
    return TY_OK;
}

int ty__mpi_allgather(ty__mpi_t *x, const void *recs, size_t n, size_t sz, void **out, size_t *nout,
                      uint64_t *bytes)
{
    int p = x->size, c = (int)(n * sz);
    *out = NULL;
    *nout = 0;
    if (n * sz > XCHG_MAX)
        return ty__mpi_oom(x, "an all-gather of more than 2 GB: use a smaller batch");
    int *rcnt = calloc((size_t)p * 2, sizeof(int));
    if (!rcnt)
        return ty__mpi_oom(x, "all-gather counts");
    int *rd = rcnt + p;
    int mrc = MPI_Allgather(&c, 1, MPI_INT, rcnt, 1, MPI_INT, x->comm);
    if (mrc != MPI_SUCCESS) {
        free(rcnt);
        return ty__mpi_fail(x, mrc, "Allgather");
    }
    size_t tot = ty__mpi_displs(rcnt, rd, p);
    char *rbuf = NULL;
    if (tot > XCHG_MAX || !(rbuf = malloc(tot + 1))) {
        free(rcnt);
        return ty__mpi_oom(x, "all-gather buffer");
    }
    mrc = MPI_Allgatherv(recs, c, MPI_BYTE, rbuf, rcnt, rd, MPI_BYTE, x->comm);
    free(rcnt);
    if (mrc != MPI_SUCCESS) {
        free(rbuf);
        return ty__mpi_fail(x, mrc, "Allgatherv");
    }
    *bytes += (uint64_t)c * (uint64_t)(p - 1);
    *out = rbuf;
    *nout = tot / sz;
    return TY_OK;
}
