/*
 * xchg.h — private to the MPI part (src/mpi/): a communicator with its error state, and the
 * exchanges every step is made of. Not installed.
 */
#ifndef TY_MPI_XCHG_H
#define TY_MPI_XCHG_H

#include "internal.h"
#include "tongyuan_mpi.h"

typedef struct {
    MPI_Comm comm; /* ours: a duplicate, MPI errors return */
    int rank, size;
    int lfail; /* this rank's failure, not agreed yet (ty__mpi_local) */
    ty_mpi_err_t err;
} ty__mpi_t;

/* Collective: duplicate comm. TY_OK, or TY_EIO (x->err says why). */
int ty__mpi_open(ty__mpi_t *x, MPI_Comm comm);
void ty__mpi_close(ty__mpi_t *x);

/* An MPI call failed (a rank died, the network broke): the others cannot be told. TY_EIO,
 * stranded. */
int ty__mpi_fail(ty__mpi_t *x, int mrc, const char *what);
/* Out of memory between the collectives of a step: the others wait in the next one.
 * TY_ENOMEM, stranded. */
int ty__mpi_oom(ty__mpi_t *x, const char *what);
/* A failure of this rank that the next ty__mpi_agree() tells everyone (the first one is
 * kept). Returns rc. */
int ty__mpi_local(ty__mpi_t *x, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Collective: this rank's status (rc, or an earlier ty__mpi_local failure) against every
 * rank's. TY_OK when all are fine; else this rank's error, or the most negative code of
 * the others with "rank R: stopped: another rank failed" (here = 0). */
int ty__mpi_agree(ty__mpi_t *x, int rc);

/* disp[r] = cnt[0] + ... + cnt[r-1], the displacements of MPI's v-collectives, for p ranks;
 * returns the sum of all p counts. */
size_t ty__mpi_displs(const int *cnt, int *disp, int p);
/* Send sbuf, grouped by destination rank (sc[r] bytes to rank r, in rank order): *out
 * (malloc()ed) gets what was sent to this rank, *nout bytes, grouped by sending rank in
 * rank order. *bytes counts what went to other ranks. */
int ty__mpi_xchg_raw(ty__mpi_t *x, const char *sbuf, const int *sc, char **out, size_t *nout,
                     uint64_t *bytes);
/* Send n records of sz bytes, record i to rank dest[i]: *out (malloc()ed) gets the records
 * sent to this rank, *nout of them, grouped by sending rank in rank order and in the order
 * each was sent. */
int ty__mpi_xchg(ty__mpi_t *x, const void *recs, size_t n, size_t sz, const int *dest, void **out,
                 size_t *nout, uint64_t *bytes);
/* The step after building one exchange's records: ty__mpi_xchg when rc is TY_OK (else rc
 * back, nothing sent), then recs and dest freed whatever happened (the caller's pointers
 * dangle). */
int ty__mpi_xchg_free(ty__mpi_t *x, int rc, void *recs, size_t n, size_t sz, int *dest, void **out,
                      size_t *nout, uint64_t *bytes);
/* Gather n records of sz bytes on rank 0: *out (rank 0, malloc()ed), *nout; *bytes counts
 * what the other ranks sent. */
int ty__mpi_gather0(ty__mpi_t *x, const void *recs, size_t n, size_t sz, void **out, size_t *nout,
                    uint64_t *bytes);
/* Every rank gets every rank's n records of sz bytes, in rank order, appended to *out
 * (grown; *nout records). */
int ty__mpi_allgather(ty__mpi_t *x, const void *recs, size_t n, size_t sz, void **out, size_t *nout,
                      uint64_t *bytes);

/* Questions and answers: question i (qsz bytes) goes to rank dest[i]; the rank that gets it
 * answers with answer(ctx, question, answer) — asz bytes, sent to the rank the function
 * returns (the one that asked: the questions carry it) — and *out (malloc()ed) gets the
 * answers to this rank, *nout of them, grouped by answering rank. */
typedef int (*ty__answer_fn)(void *ctx, const void *q, void *a);
int ty__mpi_ask(ty__mpi_t *x, const void *q, size_t n, size_t qsz, const int *dest, size_t asz,
                ty__answer_fn answer, void *ctx, void **out, size_t *nout, uint64_t *bytes);

/* ty_mpi_share() on x (share.c): this rank's failures are left for the caller's
 * ty__mpi_agree(). */
int ty__mpi_share_plan(ty__mpi_t *x, ty_reader_t *all, ty_reader_t *mine, int *split_files);

/* The rank owning a key (exact, band or minimizer key). */
static inline int ty__mpi_owner(const ty__mpi_t *x, uint64_t key)
{
    return (int)(ty__mix64(key) % (uint64_t)x->size);
}

#endif
