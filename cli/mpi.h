/*
 * mpi.h — the MPI front end of `tongyuan dedup` (make MPI=1 only): what cli/dedup.c calls
 * when the process is one rank of an mpirun / srun job with more than one rank.
 */
#ifndef TY_CLI_MPI_H
#define TY_CLI_MPI_H

#ifdef TY_MPI
#include "common.h"

typedef struct {
    const ty_dedup_opts_t *o;
    const ty_opts_t *to;
    const ty_reader_opts_t *ro;
    char **paths;
    int npaths;
    const char *out_path, *kept_path, *pairs_path;
    int quiet, verbose, fail;
} cli_mpi_dedup_t;

/* Ranks of the MPI job this process was started in, from the launcher's environment
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_SIZE); 1 outside a launcher. TY_MPI_FORCE=1 counts
 * as a job of its own size even with one rank (to test the MPI path). */
int cli_mpi_ranks(void);

/* Run dedup across the job's ranks. Returns the exit status, or -1 when this rank should run
 * the ordinary single-process path instead (rank 0, for what is not distributed: spun mode,
 * --write-kept, --pairs-out, standard input; the other ranks then return 0 at once). */
int cli_mpi_dedup(const cli_mpi_dedup_t *a);

/* Queue on mine this rank's share of the items queued on all (files laid end to end, cut
 * into p equal byte runs; an uncompressed JSONL file crossing a cut is read in byte ranges):
 * the shares of ranks 0..p-1 follow one another in input order. Collective (an
 * MPI_Allreduce): every rank calls it. 0, or EXIT_ERROR with a message printed. Also used by
 * the sharded `index build` (cli/index.c). */
int plan_share(ty_reader_t *all, ty_reader_t *mine, int rank, int p, int *split_files);
#endif

#endif
