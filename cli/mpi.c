/*
 * mpi.c — `mpirun -np N tongyuan dedup ...` (make MPI=1): the command's MPI front end.
 *
 * Every rank reads the whole input with the library's reader (the same records in the same
 * order: the global document order is the single-process input order) and hands every
 * record to a ty_mdedup_t (src/mpi_dedup.c), which sketches only the documents this rank
 * owns and runs the exchanges. Rank 0 holds the decisions and writes them, in the same
 * format as cli/dedup.c, so the output is byte for byte the single-process output.
 *
 * No complete-looking output after a failure: rank 0 removes OUT when it starts (as the
 * single-process run truncates it), writes OUT.tmp only after every rank has finished the
 * last exchange, and renames it to OUT at the end. If a rank dies, mpirun stops the job
 * (or an MPI call returns an error we report); OUT does not exist either way.
 *
 * Distributed: --mode exact and near. Spun mode, --write-kept, --pairs-out and standard
 * input run on rank 0 alone (the other ranks exit at once), with a note on stderr.
 *
 * Test hook: TY_MPI_FAULT=RANK:DOCS makes rank RANK kill itself (SIGKILL) after reading DOCS
 * documents — tests/mpi.sh checks that the job then fails and leaves no output.
 */
#ifdef TY_MPI

#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi.h"
#include "mpi_dedup.h"

#define MAX_SHOWN_ERRORS 100

typedef struct {
    int fail, rank;
    size_t shown;
    const char *origin; /* the record being added */
    uint64_t line;
} ctx_t;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

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

/* Document errors, on the rank that owns the document (as cli/dedup.c words them). */
static int on_event(void *user, const ty_dedup_event_t *ev)
{
    ctx_t *c = user;
    if (ev->kind != TY_DEDUP_ERROR)
        return 0;
    if (++c->shown <= MAX_SHOWN_ERRORS || c->fail) {
        if (c->line)
            fprintf(stderr, "tongyuan: %s:%llu: %s%s\n", c->origin, (unsigned long long)c->line,
                    ev->msg, c->fail ? "" : " (skipped)");
        else
            fprintf(stderr, "tongyuan: %s%s\n", ev->msg, c->fail ? "" : " (skipped)");
    } else if (c->shown == MAX_SHOWN_ERRORS + 1) {
        fprintf(stderr, "tongyuan: rank %d: more records skipped; the summary counts them\n",
                c->rank);
    }
    return c->fail;
}

static void put_name(sbuf_t *b, const char *s) { sb_json_str(b, s, strlen(s)); }

/* Rank 0: the decisions, one JSON line per document (cli/dedup.c's format). */
static int write_out(const ty_mdedup_t *m, FILE *out)
{
    sbuf_t b = {0};
    size_t n = ty_mdedup_count(m);
    for (size_t i = 0; i < n; i++) {
        ty_dedup_result_t res;
        if (ty_mdedup_result(m, i, &res) != TY_OK || res.err)
            continue;
        sb_puts(&b, "{\"id\":");
        put_name(&b, ty_mdedup_name(m, i));
        sb_printf(&b, ",\"cluster\":%zu,\"keep\":%s,\"dup_of\":", res.cluster,
                  res.keep ? "true" : "false");
        if (res.keep) {
            sb_puts(&b, "null,\"similarity\":null,\"containment\":null}\n");
        } else {
            put_name(&b, ty_mdedup_name(m, res.dup_of));
            sb_printf(&b, ",\"similarity\":%.4f,\"containment\":%.4f}\n", res.similarity,
                      res.containment);
        }
        if (b.n >= (1 << 16)) {
            if (fwrite(b.a, 1, b.n, out) != b.n) {
                sb_free(&b);
                return -1;
            }
            b.n = 0;
        }
    }
    int bad = b.n && fwrite(b.a, 1, b.n, out) != b.n;
    sb_free(&b);
    return bad ? -1 : 0;
}

int cli_mpi_dedup(const cli_mpi_dedup_t *a)
{
    int rank = env_rank();
    const char *why = NULL;
    if (a->o->mode == TY_DEDUP_SPUN)
        why = "--mode spun";
    else if (a->kept_path)
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
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "tongyuan: MPI_Init failed\n");
        return EXIT_ERROR;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ctx_t c = {a->fail, rank, 0, "", 0};
    int status = 0;
    ty_reader_t *rd = ty_reader_new(a->ro);
    ty_mdedup_t *m = ty_mdedup_new(a->o, a->to, MPI_COMM_WORLD, on_event, &c);
    if (!rd || !m) {
        fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
        status = EXIT_ERROR;
    }
    for (int i = 0; i < a->npaths && !status; i++)
        if (ty_reader_add(rd, a->paths[i]) != TY_OK) {
            fprintf(stderr, "tongyuan: rank %d: %s\n", rank, ty_reader_errmsg(rd));
            status = EXIT_ERROR;
        }
    const char *out_path = a->out_path && strcmp(a->out_path, "-") != 0 ? a->out_path : NULL;
    char *tmp_path = NULL;
    if (!status && rank == 0 && out_path) {
        size_t l = strlen(out_path);
        tmp_path = malloc(l + 5);
        if (!tmp_path) {
            status = EXIT_ERROR;
        } else {
            memcpy(tmp_path, out_path, l);
            memcpy(tmp_path + l, ".tmp", 5);
            if (unlink(out_path) != 0 && errno != ENOENT) {
                fprintf(stderr, "tongyuan: %s: %s\n", out_path, strerror(errno));
                status = EXIT_ERROR;
            }
            unlink(tmp_path);
        }
    }
    /* every rank must start, or none: a missing file on one node stops the job here */
    int any = 0;
    if (MPI_Allreduce(&status, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        any = EXIT_ERROR;
    if (any && !status && rank == 0)
        fprintf(stderr, "tongyuan: another rank could not start\n");
    status = any;
    int fault_rank = -1;
    long fault_docs = -1;
    const char *fault = getenv("TY_MPI_FAULT");
    if (fault && sscanf(fault, "%d:%ld", &fault_rank, &fault_docs) != 2)
        fault_rank = -1;
    double t0 = now();
    size_t docs = 0, rerrors = 0;
    uint64_t bytes = 0;
    int abort_job = 0; /* an MPI failure: the other ranks cannot be told */
    while (!status) {
        ty_record_t rec;
        int rc = ty_reader_next(rd, &rec);
        if (rc == 0)
            break;
        if (rc == TY_ENOMEM) {
            fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
            MPI_Abort(MPI_COMM_WORLD, EXIT_ERROR); /* the others wait in a collective */
        }
        if (rc < 0) { /* every rank reads the same records: all see this one */
            rerrors++;
            if (rank == 0 && (rerrors <= MAX_SHOWN_ERRORS || a->fail))
                fprintf(stderr, "tongyuan: %s%s\n", ty_reader_errmsg(rd),
                        a->fail ? "" : " (skipped)");
            else if (rank == 0 && rerrors == MAX_SHOWN_ERRORS + 1)
                fprintf(stderr, "tongyuan: more records skipped; the summary counts them\n");
            if (a->fail)
                status = EXIT_ERROR;
            continue;
        }
        if (rank == fault_rank && (long)docs == fault_docs) {
            fprintf(stderr, "tongyuan: rank %d: TY_MPI_FAULT: killing myself\n", rank);
            raise(SIGKILL);
        }
        docs++;
        bytes += rec.len;
        c.origin = rec.origin;
        c.line = rec.line;
        rc = ty_mdedup_add(m, rec.name, rec.text, rec.len);
        if (rc) {
            status = EXIT_ERROR;
            abort_job = rc == TY_EIO;
            const char *e = ty_mdedup_errmsg(m);
            if ((!a->fail || rc == TY_ENOMEM || rc == TY_EINVAL || rc == TY_EIO) &&
                (rank == 0 || !strstr(e, "another rank failed")))
                fprintf(stderr, "tongyuan: %s\n", e);
        }
    }
    if (!status) {
        int rc = ty_mdedup_finish(m);
        if (rc) {
            status = EXIT_ERROR;
            abort_job = rc == TY_EIO;
            const char *e = ty_mdedup_errmsg(m);
            if ((!a->fail || rc == TY_ENOMEM || rc == TY_EINVAL || rc == TY_EIO) &&
                (rank == 0 || !strstr(e, "another rank failed")))
                fprintf(stderr, "tongyuan: %s\n", e);
        }
    }
    double secs = now() - t0;
    if (!status && rank == 0) {
        FILE *out = tmp_path ? fopen(tmp_path, "w") : stdout;
        if (!out) {
            fprintf(stderr, "tongyuan: %s: %s\n", tmp_path, strerror(errno));
            status = EXIT_ERROR;
        } else {
            int bad = write_out(m, out);
            if (out != stdout)
                bad |= fclose(out) != 0;
            else
                bad |= fflush(stdout) != 0 || ferror(stdout);
            if (!bad && tmp_path && rename(tmp_path, out_path) != 0)
                bad = 1;
            if (bad) {
                fprintf(stderr, "tongyuan: %s: write error\n", out_path ? out_path : "output");
                if (tmp_path)
                    unlink(tmp_path);
                status = EXIT_ERROR;
            }
        }
    }
    if (!status && rank == 0 && !a->quiet) {
        ty_dedup_stats_t st;
        ty_mdedup_stats_t ms;
        ty_mdedup_stats(m, &st, &ms);
        double t = secs > 1e-6 ? secs : 1e-6, nd = docs ? (double)docs : 1;
        fprintf(stderr,
                "dedup: %zu documents, %zu clusters, %zu removed (%.2f%%), %zu skipped; "
                "%.1f s, %.0f docs/s, %.1f MB/s\n",
                st.docs - st.errors, st.clusters, st.removed,
                st.docs > st.errors ? 100.0 * (double)st.removed / (double)(st.docs - st.errors)
                                    : 0.0,
                rerrors + st.errors, secs, (double)docs / t, (double)bytes / 1e6 / t);
        fprintf(stderr,
                "dedup: mpi: %d ranks, %llu rounds; shuffle %.1f bytes/doc (keys %.1f, "
                "pairs+signatures %.1f, gathered on rank 0 %.1f); %llu candidate pairs\n",
                size, (unsigned long long)ms.rounds,
                (double)(ms.key_bytes + ms.pair_bytes + ms.gather_bytes) / nd,
                (double)ms.key_bytes / nd, (double)ms.pair_bytes / nd, (double)ms.gather_bytes / nd,
                (unsigned long long)ms.pairs);
        if (a->verbose)
            fprintf(stderr, "dedup: %zu links\n", st.links);
    }
    free(tmp_path);
    ty_mdedup_free(m);
    ty_reader_free(rd);
    if (abort_job)
        MPI_Abort(MPI_COMM_WORLD, status); /* another rank may still wait in a collective */
    MPI_Finalize();
    return status;
}

#endif /* TY_MPI */
