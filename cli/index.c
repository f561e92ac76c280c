/*
 * index.c — `tongyuan index build|add|stats|verify|compact`: the corpus index from the
 * command line. The work is ty_index_add_docs() in the library; this file owns the options,
 * the progress line (on a terminal only), the messages and the exit status.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "commands.h"

#ifdef TY_MPI
#include <signal.h>

#include "mpi.h"
#endif

/* ---- shared with check.c, dedup.c and extract.c ------------------------------------------ */

void print_reader_help(FILE *f)
{
    fprintf(f, "Input (PATH): a file (one document, named by the path as given); a directory (its\n"
               "*.txt, *.md, *.html, *.htm, *.xhtml, *.docx, *.odt, *.pdf and *.warc files,\n"
               "recursively, sorted, named by their path relative to it); a *.jsonl or *.ndjson\n"
               "file (one {\"id\": ..., \"text\": ...} object a line); any of them gzip- or\n"
               "zstd-compressed (.gz, .zst: recognised by content); '-' for standard input (JSONL\n"
               "if its first line is such an object, else one document named '-').\n"
               "  --text-field NAME  JSONL member holding the text [text]\n"
               "  --id-field NAME    JSONL member naming the document [id]; missing: FILE:LINE\n"
               "  --stdin-format F   auto, text or jsonl: how '-' is read [auto]\n"
               "  --input-format F, --encoding NAME   see below\n");
    print_formats_help(f, 1);
}

/* ---- progress line ------------------------------------------------------------------------ */

typedef struct {
    int tty;     /* draw the progress line */
    int verbose; /* print commits and the summary */
    int strict;  /* stop at the first bad record */
    int shown;   /* a progress line is on screen */
    unsigned long long errors, dups;
} ui_t;

static void clear_line(ui_t *u)
{
    if (u->shown) {
        fputs("\r\033[K", stderr);
        u->shown = 0;
    }
}

static void draw(ui_t *u, const ty_index_progress_t *p)
{
    double mb = (double)p->text_bytes / 1e6, t = p->seconds > 1e-6 ? p->seconds : 1e-6;
    char bar[40], eta[32], el[16];
    cli_progress(p->input_pos, p->input_size, p->seconds, bar, el, eta);
    fprintf(stderr, "\r\033[K%s%llu docs  %.1f MB  %.1f MB/s  %.0f docs/s  %s%s", bar,
            (unsigned long long)p->docs, mb, mb / t, (double)p->docs / t, el, eta);
    u->shown = 1;
}

static int on_event(void *user, int ev, const char *msg, const ty_index_progress_t *p)
{
    ui_t *u = user;
    switch (ev) {
    case TY_EVENT_PROGRESS:
        if (u->tty)
            draw(u, p);
        return 0;
    case TY_EVENT_COMMIT:
        if (u->verbose) {
            clear_line(u);
            fprintf(stderr, "tongyuan: committed: %llu documents in the index\n",
                    (unsigned long long)p->committed);
        }
        return 0;
    case TY_EVENT_DUPLICATE:
        if (++u->dups <= 10) {
            clear_line(u);
            fprintf(stderr, "tongyuan: %s (not added again)\n", msg);
        }
        return 0;
    case TY_EVENT_WARNING:
        clear_line(u);
        fprintf(stderr, "tongyuan: warning: %s\n", msg);
        return 0;
    default:
        u->errors++;
        if (u->errors <= 100 || u->strict) {
            clear_line(u);
            fprintf(stderr, "tongyuan: %s%s\n", msg, u->strict ? "" : " (skipped)");
        }
        return u->strict;
    }
}

/* ---- build / add -------------------------------------------------------------------------- */

static void usage_build(FILE *f)
{
    ty_index_opts_t io;
    ty_index_opts_init(&io);
    fprintf(f,
            "Usage: tongyuan index build -o INDEX [OPTIONS] PATH...\n"
            "       tongyuan index add [OPTIONS] INDEX PATH...\n"
            "       tongyuan index stats [--format text|json] INDEX\n"
            "       tongyuan index list INDEX     (id, name, origin of every document)\n"
            "       tongyuan index verify INDEX   (read everything, check every structure)\n"
            "       tongyuan index compact INDEX  (merge the posting segments into one)\n"
            "Index documents once, then ask of any document where it came from (tongyuan check).\n"
            "build writes a new INDEX (replacing an index there when done, never another file\n"
            "nor an index open for writing); add adds documents to INDEX in transactions:\n"
            "a crash leaves every document committed before it, and a document whose name is\n"
            "already indexed is not added again, so running an interrupted add again resumes\n"
            "it.\n\n"
            "Options:\n"
            "  -o, --output INDEX  (build) the index file to write (and INDEX-lock beside it);\n"
            "                     under mpirun -np N (N > 1, make MPI=1): a directory with a\n"
            "                     shard per rank and a MANIFEST, read by check/serve -x as one\n"
            "                     index (docs/mpi.md)\n"
            "  --threads N        worker threads [all cores]\n"
            "  --commit-every N   (add) commit every N documents [10000]\n"
            "  -k N               (build) minimizer k-mer length [%d]\n"
            "  -w N               (build) minimizer window [%d]\n"
            "  --level N          (build) zstd level of the stored texts [%d]\n"
            "  --strict           stop at the first record that cannot be read\n"
            "  --max-size MB      documents larger than this are errors [64]\n"
            "  --invalid-utf8 M   'error' (default): such documents are errors; 'replace'\n"
            "  -q, --quiet        no progress line even on a terminal\n"
            "  -v, --verbose      report each commit and a summary\n\n",
            io.k, io.w, io.zstd_level);
    print_reader_help(f);
    fprintf(f, "\nRecords that cannot be read or tokenized are reported (the first 100) and\n"
               "skipped. Exit status: 0 all added, 1 done but some records were skipped,\n"
               "2 error.\n");
}

#ifdef TY_MPI
/* ---- the sharded build: mpirun -np N tongyuan index build -o DIR ------------------------
 *
 * The work is the MPI part's (ty_mshards_*, src/mpi/shards.c): each rank reads its share of
 * the input and builds DIR/shard-RRRR; names found in an earlier shard are skipped by
 * building the later shards again; rank 0 writes DIR/MANIFEST, the commit point. This
 * front end owns the messages, the exit status and the job: a failure the other ranks
 * cannot be told of (err.stranded) ends it with MPI_Abort.
 *
 * Test hook: TY_MPI_FAULT=RANK:DOCS kills rank RANK (SIGKILL) once it has read DOCS
 * documents, or when its shard is finished if it has fewer. */

typedef struct {
    ui_t *u;
    int rank;
    long fault_docs; /* -1: no fault */
    int rebuild;     /* building again: bad records were reported the first time */
} mpi_ui_t;

static int mpi_event(void *user, int ev, const char *msg, const ty_index_progress_t *p)
{
    mpi_ui_t *m = user;
    if (!m->rebuild && m->fault_docs >= 0 && p && p->docs >= (uint64_t)m->fault_docs)
        cli_mpi_fault(m->rank);
    if (m->rebuild && ev == TY_EVENT_SKIPPED) {
        m->u->errors++;
        return m->u->strict;
    }
    return on_event(m->u, ev, msg, p);
}

static int mpi_build(const char *dir, const char **paths, int npaths, const ty_opts_t *o,
                     const ty_index_opts_t *io, int threads, const ty_reader_opts_t *ro, ui_t *u)
{
    int rank = 0, size = 1;
    if (cli_mpi_start(&rank, &size))
        return EXIT_ERROR;
    for (int i = 0; i < npaths; i++)
        if (strcmp(paths[i], "-") == 0) { /* every rank sees it: rank 0 says it */
            if (rank == 0)
                fprintf(stderr, "tongyuan: a sharded build (mpirun) cannot read standard input\n");
            MPI_Finalize();
            return EXIT_ERROR;
        }
    u->tty = 0; /* no progress lines from N ranks */
    mpi_ui_t m = {u, rank, cli_mpi_fault_docs(rank), 0};
    ty_index_add_opts_t ao;
    ty_index_add_opts_init(&ao);
    ao.threads = threads;
    ao.event = mpi_event;
    ao.user = &m;
    ty_mshards_t *s = ty_mshards_new(MPI_COMM_WORLD, dir, ro, o, io);
    if (!s)
        cli_mpi_abort(rank, "out of memory");
    int rc = ty_mshards_build(s, paths, npaths, &ao);
    if (m.fault_docs >= 0)
        cli_mpi_fault(rank);
    if (!rc) {
        size_t nskip = 0;
        int any = 0;
        rc = ty_mshards_dups(s, &nskip, &any);
        if (!rc && any) {
            m.rebuild = 1;
            if (nskip) {
                u->errors = 0; /* counted again by the new build */
                fprintf(stderr,
                        "tongyuan: rank %d: %zu names are in an earlier shard: building "
                        "shard %d again without them (as one index skips them)\n",
                        rank, nskip, rank);
            }
            rc = ty_mshards_rebuild(s, &ao);
        }
    }
    unsigned long long errs = u->errors, all_errs = 0;
    if (!rc && MPI_Reduce(&errs, &all_errs, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
        cli_mpi_abort(rank, "MPI_Reduce failed");
    if (!rc)
        rc = ty_mshards_commit(s);
    int st = rc ? EXIT_ERROR : 0;
    if (rc)
        cli_mpi_report(ty_mshards_err(s), rank, "index build failed on another rank (see above)");
    if (rank == 0) {
        if (st)
            fprintf(stderr, "tongyuan: %s: no MANIFEST written: not a usable index\n", dir);
        else if (u->verbose)
            fprintf(stderr, "tongyuan: %s: %d shards written\n", dir, size);
        if (!st && all_errs > 100)
            fprintf(stderr, "tongyuan: %llu records skipped in all\n", all_errs);
        if (!st && all_errs)
            st = 1; /* rank 0 reports skipped records in the exit status */
    }
    ty_mshards_free(s);
    MPI_Finalize();
    return st;
}
#endif

/* index build -o OUT: OUT must not be one of the inputs (it would be read while replaced). */
/* -o that is also one of the inputs: refused before anything is read (cli/output.c's rule) */
static int output_is_input(const char *out, const char **in, int n)
{
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* a sharded index (a directory of shards): the library decides */
    cli_files_t fs = {0};
    int bad = 0;
    for (int i = 0; i < n && !bad; i++)
        bad = cli_files_add_input(&fs, in[i]);
    if (!bad)
        bad = cli_files_check_output(&fs, "-o", out, NULL);
    cli_files_free(&fs);
    return bad;
}

static int build_or_add(int argc, char **argv, int add)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_index_opts_t io;
    ty_index_opts_init(&io);
    ty_index_add_opts_t ao;
    ty_index_add_opts_init(&ao);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    ui_t u;
    memset(&u, 0, sizeof u);
    u.tty = isatty(STDERR_FILENO);
    const char *out = NULL;
    int npos = 0;
    /* -k and -w are the index's (its minimizers), not the aligner's; the aligner's options
     * other than reading ones do not apply to building */
    ty_argdef_t reader[TY_READER_NARGS], align[TY_OPTS_NARGS];
    ty_reader_opts_args(&ro, reader);
    ty_opts_args(&o, align);
    int k = 0, w = 0; /* 0: not given (the index's own when adding) */
    const ty_argdef_t build_only[] = {TY_ARG_STRING("--output", "-o", out, 0),
                                      TY_ARG_INT("--level", NULL, io.zstd_level, 1, 19),
                                      TY_ARG_END},
                      add_only[] = {
                          TY_ARG_INT("--commit-every", NULL, ao.commit_docs, 1, 100000000),
                          TY_ARG_END};
    const ty_argdef_t defs[] = {
        TY_ARG_TABLE(reader),
        *ty_args_find(align, "--max-size"),
        *ty_args_find(align, "--invalid-utf8"),
        TY_ARG_FLAG("--quiet", "-q", u.tty, 0),
        TY_ARG_FLAG("--verbose", "-v", u.verbose, 1),
        TY_ARG_FLAG("--strict", NULL, u.strict, 1),
        TY_ARG_INT("--threads", NULL, threads, 1, 1024),
        TY_ARG_INT("-k", NULL, k, 2, 16),
        TY_ARG_INT("-w", NULL, w, 1, 256),
        TY_ARG_TABLE(add ? add_only : build_only),
        TY_ARG_END,
    };
    const char **pos;
    int rc =
        cli_args(add ? "index add" : "index build", defs, argc, argv, &pos, &npos, usage_build);
    if (rc)
        return rc > 0 ? 0 : EXIT_ERROR;
    rc = EXIT_ERROR;
    int kw_set = k || w;
    io.k = k ? k : io.k;
    io.w = w ? w : io.w;
    const char *path = out;
    int first = 0;
    if (add) {
        if (npos < 1) {
            fprintf(stderr, "tongyuan: index add needs INDEX and at least one PATH\n");
            goto done;
        }
        path = pos[0];
        first = 1;
    }
    if (!path) {
        fprintf(stderr, "tongyuan: index build needs -o INDEX\n");
        goto done;
    }
    if (npos - first < 1) {
        fprintf(stderr, "tongyuan: index %s needs at least one PATH to read\n",
                add ? "add" : "build");
        goto done;
    }
    if (cli_opts_ready(&o, &ro))
        goto done;
    if (!add && output_is_input(path, pos + first, npos - first))
        goto done;
#ifdef TY_MPI
    if (!add && cli_mpi_ranks() > 1) {
        rc = mpi_build(path, pos + first, npos - first, &o, &io, (int)threads, &ro, &u);
        goto done;
    }
#endif
    ty_reader_t *r = ty_reader_new(&ro);
    ty_index_t *ix = ty_index_new();
    if (!r || !ix) {
        fprintf(stderr, "tongyuan: out of memory\n");
        ty_reader_free(r);
        ty_index_free(ix);
        goto done;
    }
    int e = TY_OK;
    for (int p = first; p < npos && !e; p++)
        if ((e = ty_reader_add(r, pos[p])) != TY_OK)
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_reader_errmsg(r)));
    for (size_t i = 0; !e && ty_reader_note(r, i); i++)
        fprintf(stderr, "tongyuan: %s\n", ty_reader_note(r, i));
    if (!e) {
        e = ty_index_open(ix, path, add ? TY_INDEX_WRITE : TY_INDEX_CREATE,
                          add && !kw_set ? NULL : &io);
        if (e == TY_ENOTFOUND && add)
            fprintf(stderr, "tongyuan: %s (create it with tongyuan index build -o %s PATH...)\n",
                    cli_flags(ty_index_errmsg(ix)), path);
        else if (e)
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!e) {
        ao.threads = (int)threads;
        ao.event = on_event;
        ao.user = &u;
        e = ty_index_add_docs(ix, r, &o, &ao);
        clear_line(&u);
        if (e)
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
    }
    if (!e && !add && (e = ty_index_finish(ix)) != TY_OK)
        fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (u.errors)
        fprintf(stderr, "tongyuan: %llu record%s skipped in all%s\n", u.errors,
                u.errors == 1 ? "" : "s", u.errors > 100 ? " (only the first 100 shown)" : "");
    if (u.dups > 10)
        fprintf(stderr, "tongyuan: %llu documents already indexed, not added again\n", u.dups);
    if (!e && (u.verbose || u.tty)) {
        ty_index_stats_t st;
        if (ty_index_stats(ix, &st) == TY_OK) {
            double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            fprintf(stderr,
                    "tongyuan: %s: %llu documents, %.1f MB of text, %.1f MB on disk "
                    "(%.2f s)\n",
                    path, (unsigned long long)st.docs, (double)st.bytes / 1e6,
                    (double)st.file_bytes / 1e6, s);
        }
    }
    ty_index_free(ix);
    ty_reader_free(r);
    rc = e ? EXIT_ERROR : u.errors ? 1 : 0;
done:
    free(pos);
    return rc;
}

/* ---- stats / verify / compact ------------------------------------------------------------- */

static int open_only(const char *path, int mode, ty_index_t **out)
{
    ty_index_t *ix = ty_index_new();
    if (!ix) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return EXIT_ERROR;
    }
    if (ty_index_open(ix, path, mode, NULL) != TY_OK) {
        fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
        ty_index_free(ix);
        return EXIT_ERROR;
    }
    *out = ix;
    return 0;
}

static void thousands(char *b, size_t n, unsigned long long v)
{
    char t[32];
    int l = snprintf(t, sizeof t, "%llu", v), o = 0;
    for (int i = 0; i < l && (size_t)o + 2 < n; i++) {
        if (i && (l - i) % 3 == 0)
            b[o++] = ',';
        b[o++] = t[i];
    }
    b[o] = 0;
}

static int cmd_stats(int argc, char **argv)
{
    int json = 0, npos = 0;
    const ty_argdef_t defs[] = {TY_ARG_ENUM("--format", json, "text|json", NULL), TY_ARG_END};
    const char **pos, *path;
    int rc = cli_args("index stats", defs, argc, argv, &pos, &npos, usage_build);
    if (rc)
        return rc > 0 ? 0 : EXIT_ERROR;
    path = npos ? pos[0] : NULL;
    if (npos > 1)
        fprintf(stderr, "tongyuan: index stats takes one INDEX, not '%s'\n", pos[1]);
    free(pos);
    if (npos > 1)
        return EXIT_ERROR;
    if (!path) {
        fprintf(stderr, "tongyuan: index stats needs INDEX\n");
        return EXIT_ERROR;
    }
    ty_index_t *ix;
    if (open_only(path, TY_INDEX_READ, &ix))
        return EXIT_ERROR;
    ty_index_stats_t st;
    int e = ty_index_stats(ix, &st);
    if (e) {
        fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
        ty_index_free(ix);
        return EXIT_ERROR;
    }
    if (json) {
        ty_buf_t b = {0};
        ty_buf_puts(&b, "{\"index\":");
        ty_buf_json_str(&b, path, strlen(path));
        ty_buf_printf(
            &b,
            ",\"format\":%u,\"k\":%d,\"w\":%d,\"normalization\":\"%016llx\",\"documents\":"
            "%llu,\"characters\":%llu,\"text_bytes\":%llu,\"stored_bytes\":%llu,"
            "\"postings\":%llu,\"minimizers\":%llu,\"segments\":%u,\"file_bytes\":%llu,"
            "\"used_bytes\":%llu}\n",
            st.format, st.k, st.w, (unsigned long long)st.norm_fingerprint,
            (unsigned long long)st.docs, (unsigned long long)st.codepoints,
            (unsigned long long)st.bytes, (unsigned long long)st.stored_bytes,
            (unsigned long long)st.postings, (unsigned long long)st.keys, st.segments,
            (unsigned long long)st.file_bytes, (unsigned long long)st.map_bytes);
        cli_buf_write(&b, stdout);
        ty_buf_free(&b);
    } else {
        char d[32], c[32], by[32], sb[32], p[32], k[32], fb[32], ub[32];
        thousands(d, sizeof d, st.docs);
        thousands(c, sizeof c, st.codepoints);
        thousands(by, sizeof by, st.bytes);
        thousands(sb, sizeof sb, st.stored_bytes);
        thousands(p, sizeof p, st.postings);
        thousands(k, sizeof k, st.keys);
        thousands(fb, sizeof fb, st.file_bytes);
        thousands(ub, sizeof ub, st.map_bytes);
        printf("index         %s\n"
               "format        %u (minimizers k=%d w=%d, normalization %016llx)\n"
               "documents     %s\n"
               "characters    %s\n"
               "text          %s bytes, stored in %s bytes (zstd)\n"
               "postings      %s in %s minimizers, %u segment%s\n"
               "size on disk  %s bytes (%s in use), %.2f per byte of text\n",
               path, st.format, st.k, st.w, (unsigned long long)st.norm_fingerprint, d, c, by, sb,
               p, k, st.segments, st.segments == 1 ? "" : "s", fb, ub,
               st.bytes ? (double)st.file_bytes / (double)st.bytes : 0.0);
    }
    ty_index_free(ix);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tongyuan: error writing output\n");
        return EXIT_ERROR;
    }
    return 0;
}

/* index list INDEX: one line per document, in id order: id, name, origin[:line] (TSV, with
 * tab, line breaks, backslash and other control characters escaped: cli_put_tsv) */
static int cmd_list(const char *path)
{
    ty_index_t *ix;
    if (open_only(path, TY_INDEX_READ, &ix))
        return EXIT_ERROR;
    ty_index_stats_t st;
    int e = ty_index_stats(ix, &st);
    char *name = malloc(65536), *file = malloc(4096);
    if (!name || !file)
        e = TY_ENOMEM;
    for (uint64_t id = 0; !e && id < st.docs; id++) {
        uint64_t line;
        e = ty_index_doc_info(ix, (uint32_t)id, name, 65536, file, 4096, &line);
        if (e)
            break;
        /* names and paths may hold tabs and line breaks: escaped, one document a line */
        printf("%llu\t", (unsigned long long)id);
        cli_put_tsv(stdout, name);
        putchar('\t');
        cli_put_tsv(stdout, file);
        if (line)
            printf(":%llu", (unsigned long long)line);
        putchar('\n');
    }
    if (e)
        fprintf(stderr, "tongyuan: %s\n",
                e == TY_ENOMEM ? "out of memory" : cli_flags(ty_index_errmsg(ix)));
    free(name);
    free(file);
    ty_index_free(ix);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tongyuan: error writing output\n");
        return EXIT_ERROR;
    }
    return e ? EXIT_ERROR : 0;
}

static int cmd_simple(int argc, char **argv, const char *what)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            usage_build(stdout);
            return 0;
        }
        fprintf(stderr, "tongyuan: index %s takes one INDEX\n", what);
        return EXIT_ERROR;
    }
    if (strcmp(what, "list") == 0)
        return cmd_list(argv[1]);
    int verify = strcmp(what, "verify") == 0;
    ty_index_t *ix;
    if (open_only(argv[1], verify ? TY_INDEX_READ : TY_INDEX_WRITE, &ix))
        return EXIT_ERROR;
    int e = verify ? ty_index_verify(ix) : ty_index_compact(ix);
    if (e)
        fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(ix)));
    else if (verify)
        printf("%s: ok\n", argv[1]);
    ty_index_free(ix);
    return e ? EXIT_ERROR : 0;
}

int cmd_index(int argc, char **argv)
{
    if (argc < 2) {
        usage_build(stderr);
        return EXIT_ERROR;
    }
    const char *c = argv[1];
    if (strcmp(c, "build") == 0)
        return build_or_add(argc - 1, argv + 1, 0);
    if (strcmp(c, "add") == 0)
        return build_or_add(argc - 1, argv + 1, 1);
    if (strcmp(c, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(c, "verify") == 0 || strcmp(c, "compact") == 0 || strcmp(c, "list") == 0)
        return cmd_simple(argc - 1, argv + 1, c);
    if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0) {
        usage_build(stdout);
        return 0;
    }
    fprintf(stderr,
            "tongyuan: index: unknown command '%s' (build, add, stats, list, verify, compact)\n",
            c);
    return EXIT_ERROR;
}
