/*
 * corpus.h — what the corpus subcommands (`index`, `check`, `dedup`, `extract`) share: reading the
 * input options (--text-field, --id-field, --stdin-format) and the progress line.
 */
#ifndef TY_CLI_CORPUS_H
#define TY_CLI_CORPUS_H

#include "common.h"

/* If argv[*i] is an input option, consume it (and its value) into *ro and return 1; 0 if it
 * is not one; -1 (message printed) on a bad value. */
int parse_reader_opt(int argc, char **argv, int *i, ty_reader_opts_t *ro);
void print_reader_help(FILE *f);

#endif
