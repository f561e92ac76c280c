/*
 * mpi.h — the command's MPI front ends (make MPI=1 only): what cli/dedup.c and cli/index.c
 * call when the process is one rank of an mpirun / srun job with more than one rank. The
 * work is the MPI part's (libtongyuan_mpi.a, tongyuan_mpi.h); this layer owns MPI_Init and
 * MPI_Finalize, the messages, the exit status and ending the job.
 */
#ifndef TY_CLI_MPI_H
#define TY_CLI_MPI_H

#ifdef TY_MPI
#include "common.h"
#include "corpus.h"
#include "tongyuan_mpi.h"

typedef struct {
    const ty_dedup_opts_t *o;
    const ty_opts_t *to;
    const ty_reader_opts_t *ro;
    char **paths;
    int npaths;
    const char *out_path, *kept_path, *pairs_path;
    const char *against, *save_index; /* --against, --save-index */
    int quiet, verbose, fail;
} cli_mpi_dedup_t;

/* Ranks of the MPI job this process was started in, from the launcher's environment
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_SIZE); 1 outside a launcher. TY_MPI_FORCE=1 counts
 * as a job of its own size even with one rank (to test the MPI path). */
int cli_mpi_ranks(void);

/* Run dedup across the job's ranks. Returns the exit status, or -1 when this rank should run
 * the ordinary single-process path instead (rank 0, for what is not distributed:
 * --write-kept, --pairs-out, standard input; the other ranks then return 0 at once). */
int cli_mpi_dedup(const cli_mpi_dedup_t *a);

/* dedup --mode spans across the job's ranks: every rank reads the whole input (sa->rd) and
 * runs the same engine; the alignments are split between the ranks and rank 0 writes
 * (cli/spans.c). Returns the exit status, or -1 when this rank should run alone (rank 0, for
 * standard input; the other ranks then return 0 at once). */
int cli_mpi_spans(cli_spans_args_t *sa, char **paths, int npaths);

/* MPI_Init (unless done), MPI errors returned on MPI_COMM_WORLD; *rank, *size. 0, or
 * EXIT_ERROR with a message. */
int cli_mpi_start(int *rank, int *size);
/* A failure of the MPI part: its message when this rank failed (e->here), else on rank 0
 * other (if not NULL); a failure that stranded the other ranks ends the job here. */
void cli_mpi_report(const ty_mpi_err_t *e, int rank, const char *other);
/* End the job with a message (the other ranks may wait in a collective). */
void cli_mpi_abort(int rank, const char *why);

/* Test hook TY_MPI_FAULT=RANK:DOCS: DOCS for this rank, or -1; cli_mpi_fault() kills this
 * rank (SIGKILL) with a message. */
long cli_mpi_fault_docs(int rank);
void cli_mpi_fault(int rank);
#endif

#endif
