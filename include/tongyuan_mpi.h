/*
 * tongyuan_mpi.h — the MPI part of tongyuan: libtongyuan_mpi.a (make MPI=1), beside the core
 * library, not inside it. libtongyuan.a is the same with or without this part; a program that
 * wants the work spread over the ranks of an MPI job links both, and Open MPI:
 *
 *   cc prog.c libtongyuan_mpi.a libtongyuan.a $(pkg-config --libs ompi-c ...)
 *
 * What it does, on a communicator the caller has set up (MPI_Init is the caller's):
 *   ty_mpi_share     each rank queues its share of the input (files, and byte ranges of big
 *                    JSONL files), the shares following one another in input order;
 *   ty_mdedup_*      deduplication over the ranks, with the decisions of one ty_dedup_t on
 *                    the same input (the same rules module runs on every rank);
 *   ty_mshards_*     a sharded index: a shard per rank, then DIR/MANIFEST, opened by
 *                    ty_index_open() as one index (see ty_index_shards_* in tongyuan.h).
 *
 * Errors. Nothing here prints, exits or aborts the job: every call returns TY_OK or a TY_E*
 * code, and the handle's (or the caller's) ty_mpi_err_t says what happened. The collective
 * calls agree on failures: when one rank fails, every rank's call returns an error, the
 * failing rank's with the reason (here = 1), the others' saying that another rank failed
 * (here = 0). One kind of failure cannot be agreed on: an MPI call that failed (a rank died,
 * the network broke) or memory that ran out between the exchanges of a step leaves the
 * other ranks waiting inside a collective that this rank will not join. Such a call returns
 * with stranded = 1, and the caller must end the job (MPI_Abort): the other ranks cannot be
 * reached otherwise.
 *
 * Threads: each handle is used by one thread; MPI must be initialized with at least
 * MPI_THREAD_FUNNELED when other threads exist (the library's worker threads make no MPI
 * calls).
 */
#ifndef TONGYUAN_MPI_H
#define TONGYUAN_MPI_H

#include <mpi.h>

#include "tongyuan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ty_mpi_err {
    int here;     /* 1: this rank reports the failure (it failed here, or every rank failed
                   * alike and this is rank 0); 0: another rank failed, or none */
    int stranded; /* 1: the other ranks may wait in a collective forever: end the job */
    char msg[512];
} ty_mpi_err_t;

/* ---- each rank's share of the input ------------------------------------------------------
 * Every rank has queued the same paths on all (ty_reader_add, in the same order). The items
 * are laid end to end and their bytes cut into size equal runs: rank r queues on mine what
 * starts in run r — whole files, except an uncompressed JSONL file that crosses a cut, which
 * is queued in byte ranges (a line belongs to the range holding its first byte; line numbers
 * stay the whole file's, counted by the ranks that hold the earlier ranges). The shares of
 * ranks 0..size-1 follow one another in input order. *split_files: JSONL files read in byte
 * ranges. Collective; TY_OK on every rank, or an error on every rank (err). */
int ty_mpi_share(MPI_Comm comm, ty_reader_t *all, ty_reader_t *mine, int *split_files,
                 ty_mpi_err_t *err);

/* ---- deduplication -----------------------------------------------------------------------
 * The same decisions as one ty_dedup_t given the whole input in order, in all three modes
 * (spun without evidence: opts.evidence must be 0). Each rank adds its own share, in its
 * input order (ty_mpi_share); the global order is rank 0's documents, then rank 1's, ...
 * Each rank tokenizes and sketches as it adds, with no communication; ty_mdedup_finish()
 * agrees on failures, numbers the documents globally and runs the rounds, in which keys go
 * to the rank that owns them and the candidates' data to where the documents are checked;
 * rank 0 joins the clusters and holds the results. docs/mpi.md tells how, and what it costs.
 *
 * ty_mdedup_new, ty_mdedup_finish and ty_mdedup_free are collective (every rank, in the same
 * order); ty_mdedup_add and ty_mdedup_fail are not; the results are on rank 0. */
typedef struct ty_mdedup ty_mdedup_t;

/* Exchange figures, summed over all ranks (valid on rank 0 after ty_mdedup_finish()). */
typedef struct ty_mdedup_stats {
    int ranks;
    uint64_t rounds;
    uint64_t key_bytes;    /* key records sent to another rank (exact key / band keys) */
    uint64_t pair_bytes;   /* near: candidate pairs and the signatures shipped for them;
                              spun: texts dealt and fetched, candidate counts and requests */
    uint64_t gather_bytes; /* per-document facts and links gathered on rank 0 */
    uint64_t pairs;        /* candidate pairs checked (near), aligned (spun) */
} ty_mdedup_stats_t;

/* o, to are copied; comm is duplicated (MPI errors return). fn gets TY_DEDUP_ERROR events
 * for the documents this rank adds, on this rank (doc: its number among them; no LINK
 * events). NULL when out of memory, bad options, evidence asked for, or MPI failing. */
ty_mdedup_t *ty_mdedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to, MPI_Comm comm,
                           ty_dedup_event_fn fn, void *user);
void ty_mdedup_free(ty_mdedup_t *m);
const ty_mpi_err_t *ty_mdedup_err(const ty_mdedup_t *m); /* the last failure */
int ty_mdedup_rank(const ty_mdedup_t *m);

/* Not collective: a document of this rank's share. TY_OK, or this rank's error (a document
 * error the event callback refused, out of memory): add nothing more, but still call
 * ty_mdedup_finish(), where the other ranks learn it. */
int ty_mdedup_add(ty_mdedup_t *m, const char *name, const char *text, size_t len);
/* Not collective: record a failure of this rank (rc < 0, msg) for ty_mdedup_finish(). */
void ty_mdedup_fail(ty_mdedup_t *m, int rc, const char *msg);
/* Collective: agree on failures, number the documents globally, run the rounds in global
 * order, and the clusters (on rank 0). */
int ty_mdedup_finish(ty_mdedup_t *m);

/* The saved state (dedup --save-index DIR, --against DIR), as ty_dedup_save_state(),
 * ty_dedup_load_state() and ty_dedup_commit_state(), in the same file: a state saved by one
 * process is loaded by N ranks and the other way round, at any N, with the decisions of one
 * run over the earlier documents and these.
 * ty_mdedup_save_state: collective, before the first document: rank 0 takes DIR/dedup.lock
 * (TY_EBUSY: another run saves there); ty_mdedup_finish() then writes DIR/dedup.state.tmp
 * (rank 0; every rank sends it its part). ty_mdedup_commit_state: rank 0 renames it over
 * DIR/dedup.state (call it after the outputs are in place; other ranks: TY_OK).
 * ty_mdedup_load_state: collective, before the first document (after the save, when both):
 * every rank reads the file and keeps its part (rank 0 the names and clusters; the key
 * owners their keys; the earlier documents' signatures or texts spread in blocks), and rank
 * 0 adds the earlier run's unprocessed last batch (spun) before its own documents. Errors as
 * ty_dedup_load_state's (TY_ENOTFOUND: no state in DIR), told by rank 0 (here). The earlier
 * documents are numbered first: ty_mdedup_earlier() of them (the last batch included), whose
 * results the earlier run gave; this run's follow. */
int ty_mdedup_save_state(ty_mdedup_t *m, const char *dir);
int ty_mdedup_load_state(ty_mdedup_t *m, const char *dir);
int ty_mdedup_commit_state(ty_mdedup_t *m);
size_t ty_mdedup_earlier(const ty_mdedup_t *m);

/* Rank 0, after finish (other ranks: 0 / NULL / TY_EINVAL). Same meaning as ty_dedup_*. */
size_t ty_mdedup_count(const ty_mdedup_t *m);
const char *ty_mdedup_name(const ty_mdedup_t *m, size_t i);
int ty_mdedup_result(const ty_mdedup_t *m, size_t i, ty_dedup_result_t *r);
void ty_mdedup_stats(const ty_mdedup_t *m, ty_dedup_stats_t *st, ty_mdedup_stats_t *ms);

/* ---- passage-level cleaning (dedup --mode spans) ------------------------------------------
 *   every rank: ty_spans_t *sp = ty_spans_new(&o, &to, fn, user);    the same options
 *               ty_mspans_t *m = ty_mspans_attach(sp, comm, &err);   collective
 *               ty_spans_add(sp, ...) for EVERY document, in order; ty_spans_finish(sp);
 *               ty_mspans_free(m); ty_spans_free(sp);
 * Attached, the ranks split the alignments of each batch (document i of a batch on rank
 * i mod N) and exchange what they found; every rank then reports the same events, those of
 * one process given the same input (write them on one rank). From the attach on, ty_spans_add
 * and ty_spans_finish are collective at batch ends. A failure of one rank stops every rank at
 * the same batch (their calls return an error, "another rank failed"); when ty_mspans_err()
 * says stranded, or a rank ran out of memory while settling a batch (ty_spans_add returned
 * TY_ENOMEM), the others may wait forever: end the job. */
typedef struct ty_mspans ty_mspans_t;

/* NULL when out of memory or MPI failing (err says why). sp must outlive the handle. */
ty_mspans_t *ty_mspans_attach(ty_spans_t *sp, MPI_Comm comm, ty_mpi_err_t *err);
const ty_mpi_err_t *ty_mspans_err(const ty_mspans_t *m); /* the last failure */
uint64_t ty_mspans_bytes(const ty_mspans_t *m);          /* bytes this rank sent to the others */
void ty_mspans_free(ty_mspans_t *m);                     /* detaches sp: alone again */

/* ---- a sharded index ---------------------------------------------------------------------
 *   ty_mshards_t *s = ty_mshards_new(comm, DIR, &ro, &o, &io);
 *   ty_mshards_build(s, paths, n, &ao);      each rank: DIR/shard-RRRR from its share
 *   ty_mshards_dups(s, &nskip);              names held by an earlier shard too
 *   ty_mshards_rebuild(s, &ao);              those shards again, without them
 *   ty_mshards_commit(s);                    rank 0: DIR/MANIFEST, the commit point
 *   ty_mshards_free(s);
 * All of them collective. Shard r holds the documents that one index of the whole input
 * numbers from its first id on (global id = first + local id), with the same names and
 * texts; the MANIFEST records the shards and the histogram of minimizer document counts
 * over all of them. While the build runs, and after any failure, DIR has no MANIFEST and
 * ty_index_open() refuses it. ao's events (and the ones of the rebuild) come on each rank
 * for its own shard. */
typedef struct ty_mshards ty_mshards_t;

/* NULL when out of memory or MPI failing. The options are copied (ro, o, io NULL:
 * defaults). */
ty_mshards_t *ty_mshards_new(MPI_Comm comm, const char *dir, const ty_reader_opts_t *ro,
                             const ty_opts_t *o, const ty_index_opts_t *io);
void ty_mshards_free(ty_mshards_t *s);
const ty_mpi_err_t *ty_mshards_err(const ty_mshards_t *s);
/* Rank 0 makes DIR (or checks it is a directory) and removes its MANIFEST and any shard
 * numbered size or more; then each rank reads its share of paths (ty_mpi_share; standard
 * input cannot be shared) and writes its shard with ty_index_add_docs(ao). */
int ty_mshards_build(ty_mshards_t *s, const char *const *paths, int npaths,
                     const ty_index_add_opts_t *ao);
/* The names held by more than one shard (one index keeps the first and skips the rest):
 * *nskip = how many this rank's shard holds that an earlier shard holds too. Returns TY_OK
 * and sets *any when some shard holds any. */
int ty_mshards_dups(ty_mshards_t *s, size_t *nskip, int *any);
/* The shards holding such names are built again with them taken as indexed
 * (ty_index_skip_names); the others are kept. */
int ty_mshards_rebuild(ty_mshards_t *s, const ty_index_add_opts_t *ao);
/* Every rank counts the minimizers of its part of the key space over all shards; rank 0
 * writes DIR/MANIFEST (ty_index_shards_commit). Its result is rank 0's alone: the other
 * ranks return TY_OK once they have sent their counts. */
int ty_mshards_commit(ty_mshards_t *s);

#ifdef __cplusplus
}
#endif
#endif /* TONGYUAN_MPI_H */
