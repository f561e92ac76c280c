/*
 * mpi_dedup.h — private to the MPI build (make MPI=1, -DTY_MPI): deduplication spread over
 * the ranks of an MPI communicator, with the same decisions as one ty_dedup_t on the same
 * input. Exact and near modes only (spun mode runs in one process). Not installed; used by
 * cli/mpi.c.
 *
 * Every rank is given every document, in the same input order (each rank reads the input;
 * reading is cheap next to tokenizing and sketching). Documents are dealt to ranks in blocks
 * of TY_MDD_BLOCK in turn; only the owner of a document tokenizes and sketches it. Every
 * round (opts.batch documents per rank) the ranks exchange their keys by hash of the key
 * (MPI_Alltoallv), the owner of a key links each document to the first one holding it,
 * near-mode candidates fetch the other signature from its owner, and the links and the
 * per-document facts are gathered on rank 0, which joins the clusters (union-find) and
 * holds the results. Rounds run in global input order, so "first" means what it means in
 * one process; memory for exchanges is bounded by the round.
 *
 * All calls are collective (every rank, same order) except the result getters (rank 0).
 * Errors: the library prints nothing; a failure on any rank makes every rank's call return
 * an error (the rank that failed has the message; the others say another rank failed).
 */
#ifndef TY_MPI_DEDUP_H
#define TY_MPI_DEDUP_H

#ifdef TY_MPI
#include <mpi.h>

#include "tongyuan.h"

#define TY_MDD_BLOCK 256 /* documents dealt to one rank at a time */

typedef struct ty_mdedup ty_mdedup_t;

/* Shuffle figures, summed over all ranks (valid on rank 0 after ty_mdedup_finish()). */
typedef struct ty_mdedup_stats {
    int ranks;
    uint64_t rounds;
    uint64_t key_bytes;    /* key records sent to another rank (exact key / band keys) */
    uint64_t pair_bytes;   /* near: candidate pairs and the signatures shipped for them */
    uint64_t gather_bytes; /* per-document facts and links gathered on rank 0 */
    uint64_t pairs;        /* candidate pairs checked (near) */
} ty_mdedup_stats_t;

/* o must be exact or near mode (TY_EINVAL otherwise); o, to are copied; comm is duplicated
 * (errors return instead of aborting). fn gets TY_DEDUP_ERROR events for the documents this
 * rank owns, on this rank (no LINK events). NULL when out of memory or bad options. */
ty_mdedup_t *ty_mdedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, MPI_Comm comm,
                           ty_dedup_event_fn fn, void *user);
void ty_mdedup_free(ty_mdedup_t *m);
const char *ty_mdedup_errmsg(const ty_mdedup_t *m);
int ty_mdedup_rank(const ty_mdedup_t *m);

/* Collective: every rank adds every document in the same order. TY_OK, or an error agreed
 * by all ranks at the end of a round (the handle then accepts nothing more). */
int ty_mdedup_add(ty_mdedup_t *m, const char *name, const char *text, size_t len);
/* Collective: the last round, the clusters (on rank 0). */
int ty_mdedup_finish(ty_mdedup_t *m);

/* Rank 0, after finish (other ranks: 0 / NULL / TY_EINVAL). Same meaning as ty_dedup_*. */
size_t ty_mdedup_count(const ty_mdedup_t *m);
const char *ty_mdedup_name(const ty_mdedup_t *m, size_t i);
int ty_mdedup_result(const ty_mdedup_t *m, size_t i, ty_dedup_result_t *r);
void ty_mdedup_stats(const ty_mdedup_t *m, ty_dedup_stats_t *st, ty_mdedup_stats_t *ms);

#endif
#endif
