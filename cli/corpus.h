/*
 * corpus.h — what the corpus subcommands (`index`, `check`, `dedup`, `extract`) share: the help
 * of the reader's options (their table is the library's: ty_reader_opts_args) and dedup's
 * passage-level mode.
 */
#ifndef TY_CLI_CORPUS_H
#define TY_CLI_CORPUS_H

#include "common.h"

/* The help of the reader's options and inputs (--text-field, --id-field, --stdin-format). */
void print_reader_help(FILE *f);

/* Under mpirun (cli/mpi.c, make MPI=1): this rank, and what joins the run to the others. */
typedef struct {
    int rank; /* only rank 0 writes the output, the messages and the summary */
    int (*attach)(void *ctx, ty_spans_t *sp); /* after ty_spans_new; nonzero: stop */
    void (*done)(void *ctx, int rc);          /* after the run (rc: the library's error) */
    void *ctx;
} cli_spans_mpi_t;

/* dedup --mode spans / spans-exact (cli/spans.c): what cmd_dedup parsed, and its reader with
 * the inputs added (the whole input on every rank under mpirun: mpi not NULL). Returns the
 * exit status. */
typedef struct {
    const ty_spans_opts_t *o;
    const ty_opts_t *to;
    ty_reader_t *rd;
    const char *out_path, *kept_path;
    int quiet, verbose, fail;
    const cli_spans_mpi_t *mpi;
} cli_spans_args_t;
int cli_dedup_spans(const cli_spans_args_t *a);

#endif
