/*
 * mpi_dedup.h — private to the MPI build (make MPI=1, -DTY_MPI): deduplication spread over
 * the ranks of an MPI communicator, with the same decisions as one ty_dedup_t on the same
 * input, in all three modes (spun without evidence: --pairs-out runs in one process). Not
 * installed; used by cli/mpi.c.
 *
 * Each rank is given its own share of the input (cli/mpi.c splits the files, and cuts big
 * JSONL files in byte ranges, so that the shares follow one another in input order) and
 * tokenizes and sketches those documents as they are added, with no communication. At
 * ty_mdedup_finish() the ranks agree on failures, number the documents globally (rank r's
 * come after ranks 0..r-1's: MPI_Exscan of the counts), and run rounds over the global
 * numbers (opts.batch x ranks documents each): the keys of the round's documents go to the
 * rank owning the key (MPI_Alltoallv), which links each document to the first one holding
 * it; near-mode candidates fetch the other signature from its owner; the links, the
 * per-document facts and the names are gathered on rank 0, which joins the clusters
 * (union-find) and holds the results. Rounds run in global input order, so "first" means
 * what it means in one process; memory for exchanges is bounded by the round. Spun mode
 * runs a round per dedup.c batch (opts.batch documents), dealt round-robin to the ranks
 * for sketching and alignment, with the minimizer table spread over the key owners; see
 * "spun mode" in mpi_dedup.c.
 *
 * ty_mdedup_new, ty_mdedup_finish and ty_mdedup_free are collective (every rank, same
 * order); ty_mdedup_add and ty_mdedup_fail are not; the result getters are for rank 0.
 * Errors: the library prints nothing; a failure on any rank makes every rank's call return
 * an error (the rank that failed has the message; the others say another rank failed).
 */
#ifndef TY_MPI_DEDUP_H
#define TY_MPI_DEDUP_H

#ifdef TY_MPI
#include <mpi.h>

#include "tongyuan.h"

typedef struct ty_mdedup ty_mdedup_t;

/* Shuffle figures, summed over all ranks (valid on rank 0 after ty_mdedup_finish()). */
typedef struct ty_mdedup_stats {
    int ranks;
    uint64_t rounds;
    uint64_t key_bytes;    /* key records sent to another rank (exact key / band keys) */
    uint64_t pair_bytes;   /* near: candidate pairs and the signatures shipped for them;
                              spun: texts dealt and fetched, candidate counts and requests */
    uint64_t gather_bytes; /* per-document facts and links gathered on rank 0 */
    uint64_t pairs;        /* candidate pairs checked (near), aligned (spun) */
} ty_mdedup_stats_t;

/* o must not ask for evidence (NULL otherwise); o, to are copied; comm is duplicated
 * (errors return instead of aborting). fn gets TY_DEDUP_ERROR events for the documents this
 * rank owns, on this rank (no LINK events). NULL when out of memory or bad options. */
ty_mdedup_t *ty_mdedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, MPI_Comm comm,
                           ty_dedup_event_fn fn, void *user);
void ty_mdedup_free(ty_mdedup_t *m);
const char *ty_mdedup_errmsg(const ty_mdedup_t *m);
int ty_mdedup_rank(const ty_mdedup_t *m);

/* Not collective: this rank's documents, in its input order; it tokenizes and sketches
 * them. TY_OK, or this rank's error (a document error the event callback refused, out of
 * memory): add nothing more, but still call ty_mdedup_finish() so the others learn it. */
int ty_mdedup_add(ty_mdedup_t *m, const char *name, const char *text, size_t len);
/* Not collective: record a failure of this rank (rc < 0, msg) for ty_mdedup_finish(). */
void ty_mdedup_fail(ty_mdedup_t *m, int rc, const char *msg);
/* Collective: agree on failures (any rank's failure makes every rank return an error),
 * number the documents globally (rank r's follow those of ranks 0..r-1: MPI_Exscan of the
 * counts), run the rounds in global order, the clusters (on rank 0). */
int ty_mdedup_finish(ty_mdedup_t *m);

/* Rank 0, after finish (other ranks: 0 / NULL / TY_EINVAL). Same meaning as ty_dedup_*. */
size_t ty_mdedup_count(const ty_mdedup_t *m);
const char *ty_mdedup_name(const ty_mdedup_t *m, size_t i);
int ty_mdedup_result(const ty_mdedup_t *m, size_t i, ty_dedup_result_t *r);
void ty_mdedup_stats(const ty_mdedup_t *m, ty_dedup_stats_t *st, ty_mdedup_stats_t *ms);

#endif
#endif
