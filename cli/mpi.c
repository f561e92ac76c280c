/*
 * mpi.c — the command's MPI front end: `mpirun -np N tongyuan dedup ...` (make MPI=1), and
 * what cli/index.c's sharded build shares with it (MPI_Init, reporting, the fault hook).
 *
 * Every rank lists the same paths and reads only its share (ty_mpi_share, src/mpi/share.c):
 * the shares follow one another in input order, so the global document order — rank r's
 * documents after ranks 0..r-1's, numbered in ty_mdedup_finish (src/mpi/mdedup.c) — is the
 * single-process order. Each rank tokenizes and sketches its documents; rank 0 gets the
 * decisions and writes them, in the same format as cli/dedup.c, so the output is byte for
 * byte the single-process output.
 *
 * No complete-looking output after a failure: rank 0 removes OUT when it starts when it is a
 * regular file (a special file such as /dev/null or a FIFO, or a symbolic link, is left as
 * it is), and writes it only after every rank has finished the last exchange, through a
 * temporary file renamed into place (cli_out_open, as every output). If a rank dies, mpirun
 * stops the job (or an MPI call returns an error: the library reports it as stranded and
 * this front end ends the job with MPI_Abort); OUT does not exist either way.
 *
 * Distributed: --mode exact, near and spun. --write-kept, --pairs-out and standard input run
 * on rank 0 alone (the other ranks exit at once), with a note on stderr.
 *
 * Test hook: TY_MPI_FAULT=RANK:DOCS makes rank RANK kill itself (SIGKILL) after reading DOCS
 * documents — tests/mpi.sh checks that the job then fails and leaves no output.
 */
#ifdef TY_MPI

#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi.h"

#define MAX_SHOWN_ERRORS 100

typedef struct {
    int fail, rank;
    size_t shown;
    const char *origin; /* the record being added */
    uint64_t line;
} ctx_t;

static int env_int(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : -1;
}

int cli_mpi_ranks(void)
{
    int n = env_int("OMPI_COMM_WORLD_SIZE");
    if (n < 1)
        n = env_int("PMIX_SIZE");
    if (n < 1)
        n = env_int("PMI_SIZE");
    if (n < 1)
        n = 1;
    if (n == 1 && env_int("TY_MPI_FORCE") == 1)
        n = 2; /* any value over 1: take the MPI path */
    return n;
}

static int env_rank(void)
{
    int r = env_int("OMPI_COMM_WORLD_RANK");
    if (r < 0)
        r = env_int("PMIX_RANK");
    if (r < 0)
        r = env_int("PMI_RANK");
    return r < 0 ? 0 : r;
}

int cli_mpi_start(int *rank, int *size)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "tongyuan: MPI_Init failed\n");
        return EXIT_ERROR;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

void cli_mpi_abort(int rank, const char *why)
{
    fprintf(stderr, "tongyuan: rank %d: %s; aborting the MPI job\n", rank, why);
    MPI_Abort(MPI_COMM_WORLD, EXIT_ERROR);
    exit(EXIT_ERROR); /* MPI_Abort does not return */
}

void cli_mpi_report(const ty_mpi_err_t *e, int rank, const char *other)
{
    if (e->here)
        fprintf(stderr, "tongyuan: %s%s\n", cli_flags(e->msg),
                e->stranded ? "; aborting the MPI job" : "");
    else if (rank == 0 && other)
        fprintf(stderr, "tongyuan: %s\n", other);
    if (e->stranded) {
        MPI_Abort(MPI_COMM_WORLD, EXIT_ERROR); /* the others wait in a collective */
        exit(EXIT_ERROR);
    }
}

long cli_mpi_fault_docs(int rank)
{
    const char *fault = getenv("TY_MPI_FAULT");
    int frank = -1;
    long fdocs = -1;
    if (fault && sscanf(fault, "%d:%ld", &frank, &fdocs) == 2 && frank == rank && fdocs >= 0)
        return fdocs;
    return -1;
}

void cli_mpi_fault(int rank)
{
    fprintf(stderr, "tongyuan: rank %d: TY_MPI_FAULT: killing myself\n", rank);
    raise(SIGKILL);
}

/* Document errors, on the rank that owns the document (as cli/dedup.c words them). */
static int on_event(void *user, const ty_dedup_event_t *ev)
{
    ctx_t *c = user;
    if (ev->kind != TY_DEDUP_ERROR)
        return 0;
    if (++c->shown <= MAX_SHOWN_ERRORS || c->fail) {
        if (c->line)
            fprintf(stderr, "tongyuan: %s:%llu: %s%s\n", c->origin, (unsigned long long)c->line,
                    cli_flags(ev->msg), c->fail ? "" : " (skipped)");
        else
            fprintf(stderr, "tongyuan: %s%s\n", cli_flags(ev->msg), c->fail ? "" : " (skipped)");
    } else if (c->shown == MAX_SHOWN_ERRORS + 1) {
        fprintf(stderr, "tongyuan: rank %d: more records skipped; the summary counts them\n",
                c->rank);
    }
    return c->fail;
}

static void put_name(ty_buf_t *b, const char *s) { ty_buf_json_str(b, s, strlen(s)); }

/* This run's documents, for the summary of a run --against earlier ones. */
typedef struct {
    size_t ok, removed, of_old, errors;
} counts_t;

/* Rank 0: the decisions, one JSON line per document of this run (cli/dedup.c's format);
 * the earlier run's documents (--against) come first and are not written. */
static int write_out(const ty_mdedup_t *m, FILE *out, counts_t *c)
{
    ty_buf_t b = {0};
    size_t n = ty_mdedup_count(m), old = ty_mdedup_earlier(m);
    for (size_t i = old; i < n; i++) {
        ty_dedup_result_t res;
        if (ty_mdedup_result(m, i, &res) != TY_OK || res.err) {
            c->errors++;
            continue;
        }
        c->ok++;
        c->removed += !res.keep;
        c->of_old += !res.keep && res.dup_of < old;
        ty_buf_puts(&b, "{\"id\":");
        put_name(&b, ty_mdedup_name(m, i));
        ty_buf_printf(&b, ",\"cluster\":%zu,\"keep\":%s,\"dup_of\":", res.cluster,
                      res.keep ? "true" : "false");
        if (res.keep) {
            ty_buf_puts(&b, "null,\"similarity\":null,\"containment\":null}\n");
        } else {
            put_name(&b, ty_mdedup_name(m, res.dup_of));
            ty_buf_printf(&b, ",\"similarity\":%.4f,\"containment\":%.4f}\n", res.similarity,
                          res.containment);
        }
        if (b.len >= (1 << 16)) {
            if (b.err || fwrite(b.data, 1, b.len, out) != b.len) {
                ty_buf_free(&b);
                return -1;
            }
            b.len = 0;
        }
    }
    int bad = b.err || (b.len && fwrite(b.data, 1, b.len, out) != b.len);
    ty_buf_free(&b);
    return bad ? -1 : 0;
}

int cli_mpi_dedup(const cli_mpi_dedup_t *a)
{
    int rank = env_rank();
    const char *why = NULL;
    if (a->kept_path)
        why = "--write-kept";
    else if (a->pairs_path)
        why = "--pairs-out";
    for (int i = 0; i < a->npaths && !why; i++)
        if (strcmp(a->paths[i], "-") == 0)
            why = "standard input";
    if (why) {
        if (rank != 0)
            return 0;
        if (!a->quiet)
            fprintf(stderr,
                    "tongyuan: %s does not run across MPI ranks yet: rank 0 does all "
                    "the work, the other ranks exit\n",
                    why);
        return -1;
    }
    int size = 1;
    if (cli_mpi_start(&rank, &size))
        return EXIT_ERROR;
    ctx_t c = {a->fail, rank, 0, "", 0};
    int status = 0;
    ty_reader_t *all = ty_reader_new(a->ro), *rd = ty_reader_new(a->ro);
    ty_mdedup_t *m = ty_mdedup_new(a->o, a->to, MPI_COMM_WORLD, on_event, &c);
    if (!all || !rd || !m) {
        fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
        status = EXIT_ERROR;
    }
    /* every rank lists the same paths (a missing one fails everywhere) */
    for (int i = 0; i < a->npaths && !status; i++)
        if (ty_reader_add(all, a->paths[i]) != TY_OK) {
            fprintf(stderr, "tongyuan: rank %d: %s\n", rank, cli_flags(ty_reader_errmsg(all)));
            status = EXIT_ERROR;
        }
    /* --save-index: a state is replaced only by a run that continues it */
    if (!status && rank == 0 && a->save_index && cli_state_guard(a->save_index, a->against))
        status = EXIT_ERROR;
    const char *out_path = a->out_path && strcmp(a->out_path, "-") != 0 ? a->out_path : NULL;
    struct stat ost;
    /* a stale OUT is removed at the start; only a regular file: /dev/null, a FIFO or a
     * symbolic link is left as it is and written through at the end (cli_out_open) */
    if (!status && rank == 0 && out_path && lstat(out_path, &ost) == 0 && S_ISREG(ost.st_mode) &&
        unlink(out_path) != 0) {
        fprintf(stderr, "tongyuan: %s: %s\n", out_path, strerror(errno));
        status = EXIT_ERROR;
    }
    /* every rank must start, or none: a missing file on one node stops the job here */
    int any = 0;
    if (MPI_Allreduce(&status, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        cli_mpi_abort(rank, "MPI_Allreduce failed");
    if (any && !status && rank == 0)
        fprintf(stderr, "tongyuan: another rank could not start\n");
    status = any;
    int split_files = 0;
    if (!status) {
        ty_mpi_err_t e;
        if (ty_mpi_share(MPI_COMM_WORLD, all, rd, &split_files, &e)) {
            cli_mpi_report(&e, rank, NULL);
            status = EXIT_ERROR;
        }
    }
    ty_reader_free(all);
    all = NULL;
    /* --save-index (rank 0 locks DIR), --against (every rank reads the state: collective) */
    int state_slot = -1;
    char *state_tmp = NULL;
    if (!status && a->save_index) {
        if (ty_mdedup_save_state(m, a->save_index) != TY_OK) {
            cli_mpi_report(ty_mdedup_err(m), rank, NULL);
            status = EXIT_ERROR;
        } else if (rank == 0 && (state_tmp = malloc(strlen(a->save_index) + 24)) != NULL) {
            sprintf(state_tmp, "%s/dedup.state.tmp", a->save_index);
            state_slot = cli_tmp_watch(state_tmp);
        }
    }
    if (!status && a->against) {
        int rc = ty_mdedup_load_state(m, a->against);
        const ty_mpi_err_t *e = ty_mdedup_err(m);
        if (rc == TY_ENOTFOUND && rank == 0)
            fprintf(stderr,
                    "tongyuan: --against %s: not a directory written by dedup --save-index (%s); "
                    "an index built by index build is read as --against by one process only: "
                    "run without mpirun\n",
                    a->against, e->msg);
        else if (rc && e->here)
            fprintf(stderr, "tongyuan: --against: %s\n", cli_flags(e->msg));
        if (rc && e->stranded)
            cli_mpi_report(e, rank, NULL);
        if (rc)
            status = EXIT_ERROR;
    }
    long fault_docs = cli_mpi_fault_docs(rank);
    double t0 = cli_now();
    uint64_t docs = 0, rerrors = 0, bytes = 0;
    int told = 0; /* this rank's failure was reported while reading */
    /* this rank's share only: no collectives until ty_mdedup_finish() */
    int reading = !status;
    while (reading) {
        ty_record_t rec;
        int rc = ty_reader_next(rd, &rec);
        if (rc == 0)
            break;
        if (rc == TY_ENOMEM) {
            fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
            ty_mdedup_fail(m, rc, "out of memory");
            told = 1;
            break;
        }
        if (rc < 0) {
            rerrors++;
            if (rerrors <= MAX_SHOWN_ERRORS || a->fail)
                fprintf(stderr, "tongyuan: %s%s\n", cli_flags(ty_reader_errmsg(rd)),
                        a->fail ? "" : " (skipped)");
            else if (rerrors == MAX_SHOWN_ERRORS + 1)
                fprintf(stderr,
                        "tongyuan: rank %d: more records skipped; the summary counts them\n", rank);
            if (a->fail) {
                ty_mdedup_fail(m, rc, cli_flags(ty_reader_errmsg(rd)));
                told = 1;
                break;
            }
            continue;
        }
        if ((long)docs == fault_docs)
            cli_mpi_fault(rank);
        docs++;
        bytes += rec.len;
        c.origin = rec.origin;
        c.line = rec.line;
        rc = ty_mdedup_add(m, rec.name, rec.text, rec.len);
        if (rc) {
            /* a document error that --on-error fail stopped at was printed already */
            if (!a->fail || rc == TY_ENOMEM || rc == TY_EINVAL)
                fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_mdedup_err(m)->msg));
            told = 1;
            break;
        }
    }
    double t_read = cli_now() - t0;
    if (!status) { /* every rank gets here: finish agrees on failures first */
        int rc = ty_mdedup_finish(m);
        if (rc) {
            status = EXIT_ERROR;
            const ty_mpi_err_t *e = ty_mdedup_err(m);
            if (!told || !e->here || e->stranded) /* (a stranded failure ends the job) */
                cli_mpi_report(e, rank, e->msg);
        }
    }
    if (a->verbose && !status)
        fprintf(stderr,
                "dedup: rank %d: read and sketched %llu documents (%.1f MB) in %.2f s, "
                "%.0f docs/s; exchanges and join %.2f s\n",
                rank, (unsigned long long)docs, (double)bytes / 1e6, t_read,
                t_read > 0 ? (double)docs / t_read : 0.0, cli_now() - t0 - t_read);
    uint64_t mine[3] = {docs, bytes, rerrors}, sum[3] = {docs, bytes, rerrors};
    if (!status &&
        MPI_Reduce(mine, sum, 3, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        cli_mpi_abort(rank, "MPI_Reduce failed");
    docs = sum[0];
    bytes = sum[1];
    rerrors = sum[2];
    double secs = cli_now() - t0;
    counts_t cnt = {0, 0, 0, 0};
    if (!status && rank == 0) {
        cli_out_t out; /* a temporary file renamed into place (or a special file, directly) */
        if (cli_out_open(&out, "-o", out_path ? out_path : "-")) {
            status = EXIT_ERROR;
        } else if (write_out(m, out.f, &cnt)) {
            fprintf(stderr, "tongyuan: -o %s: cannot write\n", out_path ? out_path : "-");
            cli_out_abort(&out);
            status = EXIT_ERROR;
        } else if (cli_out_close(&out)) {
            status = EXIT_ERROR;
        }
    }
    /* the state last: outputs without it are made again by the same run; a state without
     * them would make this run's documents copies of themselves */
    if (!status && rank == 0 && a->save_index && ty_mdedup_commit_state(m) != TY_OK) {
        fprintf(stderr,
                "tongyuan: --save-index: %s (the outputs are written; %s holds the state it "
                "had before this run)\n",
                ty_mdedup_err(m)->msg, a->save_index);
        status = EXIT_ERROR;
    }
    cli_tmp_unwatch(state_slot);
    free(state_tmp);
    if (!status && rank == 0 && !a->quiet) {
        ty_dedup_stats_t st;
        ty_mdedup_stats_t ms;
        ty_mdedup_stats(m, &st, &ms);
        double nd = docs ? (double)docs : 1;
        if (a->against)
            cli_against_summary(cnt.ok, ty_mdedup_earlier(m), cnt.removed, cnt.of_old,
                                (size_t)rerrors + cnt.errors, secs, docs, bytes);
        else
            cli_dedup_summary(&st, (size_t)rerrors + st.errors, secs, docs, bytes);
        fprintf(stderr,
                "dedup: mpi: %d ranks, %llu rounds; shuffle %.1f bytes/doc (keys %.1f, "
                "pairs+%s %.1f, gathered on rank 0 %.1f); %llu candidate pairs; "
                "input split in %d shares (%d JSONL files read in byte ranges)\n",
                size, (unsigned long long)ms.rounds,
                (double)(ms.key_bytes + ms.pair_bytes + ms.gather_bytes) / nd,
                (double)ms.key_bytes / nd, a->o->mode == TY_DEDUP_SPUN ? "texts" : "signatures",
                (double)ms.pair_bytes / nd, (double)ms.gather_bytes / nd,
                (unsigned long long)ms.pairs, size, split_files);
        if (a->verbose)
            fprintf(stderr, "dedup: %zu links\n", st.links);
    }
    ty_mdedup_free(m);
    ty_reader_free(rd);
    MPI_Finalize();
    return status;
}

/* ---- dedup --mode spans ------------------------------------------------------------------ */

typedef struct {
    ty_mspans_t *m;
    int rank;
} spans_ctx_t;

static int spans_attach(void *ctx, ty_spans_t *sp)
{
    spans_ctx_t *c = ctx;
    ty_mpi_err_t e;
    c->m = ty_mspans_attach(sp, MPI_COMM_WORLD, &e);
    if (!c->m) /* a collective that failed on this rank: the others cannot be told */
        cli_mpi_abort(c->rank, e.msg);
    return 0;
}

static void spans_done(void *ctx, int rc)
{
    spans_ctx_t *c = ctx;
    const ty_mpi_err_t *e = ty_mspans_err(c->m);
    if (rc && e && e->stranded)
        cli_mpi_abort(c->rank, e->msg);
    if (rc == TY_ENOMEM && !(e && !e->here && e->msg[0])) /* this rank only: end the job */
        cli_mpi_abort(c->rank, "out of memory");
    ty_mspans_free(c->m);
    c->m = NULL;
}

int cli_mpi_spans(cli_spans_args_t *sa, char **paths, int npaths)
{
    int rank = env_rank();
    for (int i = 0; i < npaths; i++)
        if (strcmp(paths[i], "-") == 0) {
            if (rank != 0)
                return 0;
            if (!sa->quiet)
                fprintf(stderr, "tongyuan: standard input does not run across MPI ranks yet: "
                                "rank 0 does all the work, the other ranks exit\n");
            return -1;
        }
    int size = 1;
    if (cli_mpi_start(&rank, &size))
        return EXIT_ERROR;
    spans_ctx_t c = {NULL, rank};
    cli_spans_mpi_t mp = {rank, spans_attach, spans_done, &c};
    sa->mpi = &mp;
    int st = cli_dedup_spans(sa);
    sa->mpi = NULL;
    MPI_Finalize();
    return st;
}

#endif /* TY_MPI */
