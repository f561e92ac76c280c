/*
 * mpi.c — `mpirun -np N tongyuan dedup ...` (make MPI=1): the command's MPI front end.
 *
 * Every rank lists the same paths, and reads only its share (plan_share): the items laid end
 * to end are cut into equal byte runs, one per rank; whole files go to the rank where they
 * start, and an uncompressed JSONL file that crosses a cut is read in byte ranges (lines go
 * to the range holding their first byte; line numbers stay the whole file's). The shares
 * follow one another in input order, so the global document order — rank r's documents
 * after ranks 0..r-1's, numbered by MPI_Exscan in ty_mdedup_finish (src/mpi_dedup.c) — is
 * the single-process order. Each rank tokenizes and sketches its documents; rank 0 gets the
 * decisions and writes them, in the same format as cli/dedup.c, so the output is byte for
 * byte the single-process output.
 *
 * No complete-looking output after a failure: rank 0 removes OUT when it starts (as the
 * single-process run truncates it), writes OUT.tmp only after every rank has finished the
 * last exchange, and renames it to OUT at the end. If a rank dies, mpirun stops the job
 * (or an MPI call returns an error we report); OUT does not exist either way.
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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "input.h"
#include "mpi.h"
#include "mpi_dedup.h"

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

/* ---- each rank's share of the input ------------------------------------------------------ */

/* First byte of rank r's share of T bytes split over p ranks. */
static uint64_t share_begin(uint64_t T, int p, int r)
{
    return T / (uint64_t)p * (uint64_t)r + T % (uint64_t)p * (uint64_t)r / (uint64_t)p;
}

/* The rank whose share holds byte pos (the last one starting at or before it). */
static int share_owner(uint64_t T, int p, uint64_t pos)
{
    int lo = 0, hi = p - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (share_begin(T, p, mid) <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* A JSONL file that may be read in byte ranges: not compressed (name and first bytes). */
static int splittable(const ty_reader_item_t *it)
{
    size_t l = strlen(it->path);
    if (!it->jsonl || it->is_stdin || !it->size || (l >= 3 && !strcmp(it->path + l - 3, ".gz")) ||
        (l >= 4 && !strcmp(it->path + l - 4, ".zst")))
        return 0;
    unsigned char b[4] = {0};
    int fd = open(it->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* read whole: the reader reports the error */
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return 0;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return 0;
    return 1;
}

/* Line breaks in bytes [b, e) of path; -1 on a read error. */
static int64_t count_lines(const char *path, uint64_t b, uint64_t e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    int64_t n = buf ? 0 : -1;
    while (buf && b < e) {
        size_t want = e - b < cap ? (size_t)(e - b) : cap;
        ssize_t got = pread(fd, buf, want, (off_t)b);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            n = got < 0 ? -1 : n;
            break;
        }
        for (const char *q = buf, *end = buf + got; (q = memchr(q, '\n', (size_t)(end - q))); q++)
            n++;
        b += (uint64_t)got;
    }
    free(buf);
    close(fd);
    return n;
}

/* Queue this rank's share of the items in all on mine. The items (files in input order,
 * directories listed) are laid end to end, the T bytes cut into p equal runs, and rank r
 * reads what starts in run r: whole files, except an uncompressed JSONL file that crosses a
 * cut, which is read in byte ranges (a line belongs to the range holding its first byte).
 * Every rank computes the same plan, so the shares follow one another in input order: rank
 * r's documents are those numbered after ranks 0..r-1's (ty_mdedup_finish). For the line
 * numbers of ranges (messages, "FILE:LINE" names), each rank counts the line breaks of its
 * ranges and an MPI_Allreduce hands every rank the counts before its own. Collective. */
int plan_share(ty_reader_t *all, ty_reader_t *mine, int rank, int p, int *split_files)
{
    size_t n = ty__reader_nitems(all);
    uint64_t T = 0;
    for (size_t i = 0; i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        T += it.size;
    }
    /* pass 1: which items are cut, how many ranges */
    char *cut = calloc(n + 1, 1);
    size_t nr = 0;
    uint64_t pos = 0;
    for (size_t i = 0; cut && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        int r0 = share_owner(T, p, pos), r1 = it.size ? share_owner(T, p, pos + it.size - 1) : r0;
        if (r1 > r0 && splittable(&it)) {
            cut[i] = 1;
            nr += (size_t)(r1 - r0 + 1);
        }
        pos += it.size;
    }
    uint64_t *cnt = calloc(nr + 1, sizeof(uint64_t)), *tot = calloc(nr + 1, sizeof(uint64_t));
    if (!cut || !cnt || !tot) {
        fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, EXIT_ERROR); /* the others wait in the MPI_Allreduce */
    }
    int rc = 0;
    /* pass 2: line breaks of my ranges */
    size_t k = 0;
    pos = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        if (cut[i]) {
            int r0 = share_owner(T, p, pos), r1 = share_owner(T, p, pos + it.size - 1);
            for (int r = r0; r <= r1; r++, k++) {
                uint64_t b = r == r0 ? 0 : share_begin(T, p, r) - pos;
                uint64_t e = r == r1 ? it.size : share_begin(T, p, r + 1) - pos;
                if (r != rank || r == r1)
                    continue; /* the last range's count is not needed */
                int64_t c = count_lines(it.path, b, e);
                if (c < 0) {
                    fprintf(stderr, "tongyuan: rank %d: %s: %s\n", rank, it.path, strerror(errno));
                    rc = EXIT_ERROR;
                    break;
                }
                cnt[k] = (uint64_t)c;
            }
        }
        pos += it.size;
    }
    if (MPI_Allreduce(cnt, tot, (int)nr, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        rc = EXIT_ERROR;
    /* pass 3: queue my share */
    k = 0;
    pos = 0;
    *split_files = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        ty_reader_item_t it;
        ty__reader_item(all, i, &it);
        int r0 = share_owner(T, p, pos);
        if (!cut[i]) {
            if (r0 == rank && ty__reader_add_item(mine, all, i) != TY_OK)
                rc = EXIT_ERROR;
        } else {
            (*split_files)++;
            int r1 = share_owner(T, p, pos + it.size - 1);
            uint64_t lines = 0;
            for (int r = r0; r <= r1 && !rc; r++, k++) {
                uint64_t b = r == r0 ? 0 : share_begin(T, p, r) - pos;
                /* the last range to the end of the file, as one process would read it */
                uint64_t e = r == r1 ? UINT64_MAX : share_begin(T, p, r + 1) - pos;
                if (r == rank && ty__reader_add_range(mine, all, i, b, e, lines) != TY_OK)
                    rc = EXIT_ERROR;
                lines += tot[k];
            }
        }
        pos += it.size;
    }
    if (rc == EXIT_ERROR && *ty_reader_errmsg(mine))
        fprintf(stderr, "tongyuan: rank %d: %s\n", rank, ty_reader_errmsg(mine));
    free(cut);
    free(cnt);
    free(tot);
    return rc;
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
    ty_reader_t *all = ty_reader_new(a->ro), *rd = ty_reader_new(a->ro);
    ty_mdedup_t *m = ty_mdedup_new(a->o, a->to, MPI_COMM_WORLD, on_event, &c);
    if (!all || !rd || !m) {
        fprintf(stderr, "tongyuan: rank %d: out of memory\n", rank);
        status = EXIT_ERROR;
    }
    /* every rank lists the same paths (a missing one fails everywhere) */
    for (int i = 0; i < a->npaths && !status; i++)
        if (ty_reader_add(all, a->paths[i]) != TY_OK) {
            fprintf(stderr, "tongyuan: rank %d: %s\n", rank, ty_reader_errmsg(all));
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
    int split_files = 0;
    if (!status) {
        int st = plan_share(all, rd, rank, size, &split_files);
        if (MPI_Allreduce(&st, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
            any = EXIT_ERROR;
        status = any;
    }
    ty_reader_free(all);
    all = NULL;
    int fault_rank = -1;
    long fault_docs = -1;
    const char *fault = getenv("TY_MPI_FAULT");
    if (fault && sscanf(fault, "%d:%ld", &fault_rank, &fault_docs) != 2)
        fault_rank = -1;
    double t0 = cli_now();
    uint64_t docs = 0, rerrors = 0, bytes = 0;
    int abort_job = 0; /* an MPI failure: the other ranks cannot be told */
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
            break;
        }
        if (rc < 0) {
            rerrors++;
            if (rerrors <= MAX_SHOWN_ERRORS || a->fail)
                fprintf(stderr, "tongyuan: %s%s\n", ty_reader_errmsg(rd),
                        a->fail ? "" : " (skipped)");
            else if (rerrors == MAX_SHOWN_ERRORS + 1)
                fprintf(stderr,
                        "tongyuan: rank %d: more records skipped; the summary counts them\n", rank);
            if (a->fail) {
                ty_mdedup_fail(m, rc, ty_reader_errmsg(rd));
                break;
            }
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
            const char *e = ty_mdedup_errmsg(m);
            if (!a->fail || rc == TY_ENOMEM || rc == TY_EINVAL)
                fprintf(stderr, "tongyuan: %s\n", e);
            break;
        }
    }
    double t_read = cli_now() - t0;
    if (!status) { /* every rank gets here: finish agrees on failures first */
        int rc = ty_mdedup_finish(m);
        if (rc) {
            status = EXIT_ERROR;
            abort_job = rc == TY_EIO;
            const char *e = ty_mdedup_errmsg(m);
            if (rc == TY_EIO || (rank == 0 && strstr(e, "another rank failed")))
                fprintf(stderr, "tongyuan: %s\n", e);
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
        status = EXIT_ERROR;
    docs = sum[0];
    bytes = sum[1];
    rerrors = sum[2];
    double secs = cli_now() - t0;
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
        double nd = docs ? (double)docs : 1;
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
    free(tmp_path);
    ty_mdedup_free(m);
    ty_reader_free(rd);
    if (abort_job)
        MPI_Abort(MPI_COMM_WORLD, status); /* another rank may still wait in a collective */
    MPI_Finalize();
    return status;
}

#endif /* TY_MPI */
