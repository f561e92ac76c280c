/*
 * common.h — helpers shared by the tongyuan subcommands: exit codes, the terminal style,
 * option parsing (cli_args over ty_args_parse) with its messages printed, library messages
 * with the command line's flags (cli_flags), progress lines and output files. The reports
 * themselves are the library's (ty_report_*, report.c), shared with the server.
 */
#ifndef TY_CLI_COMMON_H
#define TY_CLI_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tongyuan.h"

/* exit codes, like grep */
enum { EXIT_FOUND = 0, EXIT_NONE = 1, EXIT_ERROR = 2 };

/* Colour for people only on a terminal without NO_COLOR (st->full: 0). */
void style_init(ty_report_style_t *st, FILE *f);

/* Parse argv with the table defs (ty_args_parse: argv[0] is the command) and -h, --help. 0:
 * parsed, *pos an array of the *npos positional arguments (free() it); 1: --help, usage(stdout)
 * called; -1: an error printed as "tongyuan CMD: ...", with "(see tongyuan CMD --help)" after
 * an unknown option. *pos is NULL unless 0 is returned. */
int cli_args(const char *cmd, const ty_argdef_t *defs, int argc, char **argv, const char ***pos,
             int *npos, void (*usage)(FILE *));
/* The help of the alignment options (ty_opts_help). */
void print_align_help(FILE *f);
/* The input formats (--input-format, --encoding and what offsets mean), for --help; corpus:
 * the reader's commands (WARC too). */
void print_formats_help(FILE *f, int corpus);
/* The reading options parsed into o (--input-format, --encoding, --invalid-utf8, --max-size)
 * copied into a reader's options. */
void cli_reader_from_opts(ty_reader_opts_t *ro, const ty_opts_t *o);
/* ty_opts_check(o) (its message printed), then cli_reader_from_opts(ro, o): 0, or -1. */
int cli_opts_ready(const ty_opts_t *o, ty_reader_opts_t *ro);

/* Seconds on the monotonic clock. */
double cli_now(void);

/* The pieces of a progress line on a terminal: bar "[#####...............]  25% " (empty
 * without a size), el the elapsed time "mm:ss" (h:mm:ss past an hour), eta "  ETA mm:ss"
 * (empty without a size). */
void cli_progress(uint64_t pos, uint64_t size, double secs, char bar[40], char el[16],
                  char eta[32]);

/* Write what b holds to f; a buffer that ran out of memory ends the command (exit status 2,
 * "out of memory"), as it did before the report layer returned errors. */
void cli_buf_write(const ty_buf_t *b, FILE *f);

/* The HTML report (ty_report_html) written to f: 0, or -1 out of memory or on a write error. */
int cli_write_html(FILE *f, const ty_doc_t *sus, const ty_report_source_t *s, size_t ns);

/* dedup's closing line on standard error (one process or MPI rank 0): documents, clusters,
 * removed, skipped (records refused by the reader and documents that failed), speed. */
void cli_dedup_summary(const ty_dedup_stats_t *st, size_t skipped, double secs, size_t docs,
                       uint64_t bytes);
/* The summary of a dedup run --against earlier documents (old of them): this run's ok
 * documents, removed of them, of_old copies of earlier documents, skipped. */
void cli_against_summary(size_t ok, size_t old, size_t removed, size_t of_old, size_t skipped,
                         double secs, size_t docs, uint64_t bytes);
/* dedup --save-index DIR: a state in DIR is replaced only by a run that continues it
 * (--against the same DIR): forgetting --against on day 2 would otherwise throw day 1
 * away. 0, or -1 with a message printed. */
int cli_state_guard(const char *save, const char *against);

/* ---- output files (output.c): never an input, written whole or not at all ---------------- */

typedef struct {
    dev_t dev;
    ino_t ino;
    const char *path; /* borrowed */
} cli_file_id_t;

/* The inputs and outputs of one command, to refuse an output that would overwrite one. */
typedef struct {
    cli_file_id_t *in;
    size_t nin, min;
    char **out; /* canonical paths of the outputs checked so far */
    size_t nout, mout;
} cli_files_t;

/* Note an input file (path borrowed: must outlive fs). Not a regular file, or "-": ignored.
 * -1 when out of memory. */
int cli_files_add_input(cli_files_t *fs, const char *path);
/* 0 if path may be written as output WHAT ("-o", "--html" ...): not the same file (device,
 * inode) as an input noted in fs or queued in r (may be NULL), not a directory, not another
 * output; -1 with a message printed. Call for every output before reading any input. */
int cli_files_check_output(cli_files_t *fs, const char *what, const char *path,
                           const ty_reader_t *r);
void cli_files_free(cli_files_t *fs);

/* One output being written: f is a temporary file beside the destination (standard output
 * for "-", the file itself for a special file such as /dev/null), renamed over it by
 * cli_out_close() once written and synced. A fatal signal removes the temporary file. */
typedef struct {
    FILE *f;
    const char *what, *path;
    char *dest, *tmp;
    int slot;
} cli_out_t;

/* 0, or -1 with a message printed. */
int cli_out_open(cli_out_t *o, const char *what, const char *path);
/* Flush, sync, close and rename into place: 0, or -1 with a message naming the output and the
 * reason ("No space left on device") — the old file is then left as it was. */
int cli_out_close(cli_out_t *o);
/* Drop the output: the temporary file is removed, the destination untouched. */
void cli_out_abort(cli_out_t *o);
/* A temporary file someone else writes (the library's dedup state: DIR/dedup.state.tmp),
 * removed on a fatal signal as cli_out_t's are: the slot, or -1 when no slot is free. */
int cli_tmp_watch(const char *path);
void cli_tmp_unwatch(int slot); /* -1: nothing */
/* A library's temporary directory (ty_dedup_tmp_dir(): its buffer, read when the signal comes,
 * "" while there is none) removed on a fatal signal; NULL: none. One at a time. */
void cli_tmp_watch_dir(const char *live);

/* s as one TSV field: tab, line feed, carriage return and backslash as \\t \\n \\r \\\\, other
 * control characters as \\xHH; everything else (UTF-8 included) as it is. */
void cli_put_tsv(FILE *f, const char *s);

/* A library message with the option fields it names (max_doc_bytes, encoding=NAME, ...) as the
 * command line's flags (--max-size, --encoding NAME, ...); msg itself when it names none. The
 * result is valid until the thread's next call. */
const char *cli_flags(const char *msg);

/* A library message "NAME: reason" about a document read from a directory, where NAME is
 * the path inside the directory given: "PATH: reason" with the path as the user can open it
 * (msg itself when it does not start with NAME). The result is valid until the thread's next
 * call. */
const char *cli_msg_at(const char *msg, const char *name, const char *path);

#endif
