/*
 * check.c — `tongyuan check -x INDEX PATH...`: for every document read from PATH (files,
 * directories, JSONL, compressed, '-': the same inputs as `index build`), the indexed
 * documents it reuses, best first, with their passages — the output formats of `compare`.
 *
 * The main thread reads documents in chunks; threads (ty_for), each with its own searcher
 * on the one shared index handle, check them; the main thread writes each document's
 * rendered result in input order, so the output does not depend on --threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "commands.h"

#define CHUNK 256 /* documents read before they are checked and written */

typedef struct {
    char *name, *text;
    size_t len, cap_name, cap_text;
    ty_docinfo_t *info; /* what the text was read from (a copy of the record's) */
    int read_err;
    ty_buf_t out, err;
    int status;
    double seconds;
} item_t;

/* One thread's handles, made on its first document and kept to the end. */
typedef struct {
    ty_searcher_t *s;
    ty_doc_t *q;
    ty_aligner_t *al;
} thr_t;

typedef struct {
    ty_index_t *ix;
    ty_opts_t o;
    ty_query_opts_t q;
    int jsonl, candidates;
    ty_report_style_t st;
    const char *ix_path;
    const char *html; /* --html FILE: one report, for one document ('-': stdout) */
    FILE *html_f;     /* where it goes (cli_out_t: a temporary file until the end) */
    item_t *it;
    thr_t *th; /* per thread (--threads) */
} job_t;

/* The side-by-side report of q against its n sources: each source is aligned again with al
 * (deterministic: the searcher's passages) to capture the exact runs the report marks. */
static int write_html(job_t *j, item_t *x, const ty_doc_t *q, const ty_source_t *src, size_t n,
                      ty_aligner_t *al)
{
    ty_report_source_t *hs = calloc(n ? n : 1, sizeof(ty_report_source_t));
    size_t got = 0;
    int bad = !hs;
    for (size_t i = 0; !bad && i < n; i++) {
        const ty_passage_t *p;
        size_t np;
        if (ty_compare(al, src[i].doc, q, &p, &np) != TY_OK) {
            ty_buf_printf(&x->err, "tongyuan: %s\n", cli_flags(ty_aligner_errmsg(al)));
            x->status = EXIT_ERROR;
            bad = 2;
        } else if (ty_report_source_capture(&hs[i], src[i].doc, al, src[i].passages,
                                            src[i].npassages, src[i].aligned_at) != 0) {
            bad = 1;
        } else {
            got++;
        }
    }
    if (!bad)
        bad = cli_write_html(j->html_f, q, hs, n) != 0;
    for (size_t i = 0; i < got; i++)
        ty_report_source_free(&hs[i]);
    free(hs);
    if (bad == 1) {
        ty_buf_printf(&x->err, "tongyuan: %s: cannot write the HTML report\n", j->html);
        x->status = EXIT_ERROR;
    }
    return bad ? -1 : 0;
}

static void check_one(job_t *j, item_t *x, ty_searcher_t *s, ty_doc_t *q, ty_aligner_t *al)
{
    if (x->read_err)
        return; /* message already in x->err */
    double t0 = cli_now();
    if (ty_doc_load_mem(q, x->name, x->text, x->len, &j->o) != TY_OK) {
        ty_buf_printf(&x->err, "tongyuan: %s\n", cli_flags(ty_doc_errmsg(q)));
        x->status = EXIT_ERROR;
        return;
    }
    if (x->info)
        ty_doc_set_info(q, x->info); /* title, pages, original bytes for the report */
    if (j->candidates) {
        /* debugging and tuning: the candidate step only, one JSON line per candidate */
        size_t max = j->q.max_candidates, n;
        uint32_t *ids = malloc((max ? max : 1) * sizeof(uint32_t));
        uint32_t *sh = malloc((max ? max : 1) * sizeof(uint32_t));
        int rc = ids && sh ? ty_searcher_candidates(s, q, ids, sh, max, &n) : TY_ENOMEM;
        if (rc) {
            ty_buf_printf(&x->err, "tongyuan: %s\n",
                          rc == TY_ENOMEM ? "out of memory" : cli_flags(ty_searcher_errmsg(s)));
            x->status = EXIT_ERROR;
        } else {
            for (size_t i = 0; i < n; i++) {
                char name[1024];
                if (ty_index_doc_info(j->ix, ids[i], name, sizeof name, NULL, 0, NULL))
                    name[0] = 0;
                ty_buf_puts(&x->out, "{\"sus\":");
                ty_buf_json_str(&x->out, x->name, strlen(x->name));
                ty_buf_puts(&x->out, ",\"src\":");
                ty_buf_json_str(&x->out, name, strlen(name));
                ty_buf_printf(&x->out, ",\"rank\":%zu,\"shared\":%u}\n", i + 1, sh[i]);
            }
            x->status = n ? EXIT_FOUND : EXIT_NONE;
        }
        free(ids);
        free(sh);
        x->seconds = cli_now() - t0;
        return;
    }
    const ty_source_t *src;
    size_t n;
    if (ty_searcher_check(s, q, &src, &n) != TY_OK) {
        ty_buf_printf(&x->err, "tongyuan: %s: %s\n", x->name, cli_flags(ty_searcher_errmsg(s)));
        x->status = EXIT_ERROR;
        return;
    }
    x->seconds = cli_now() - t0;
    x->status = n ? EXIT_FOUND : EXIT_NONE;
    if (j->html) {
        if (write_html(j, x, q, src, n, al) != 0)
            return;
        if (strcmp(j->html, "-") == 0)
            return; /* the report is the output */
    }
    if (j->jsonl) {
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < src[i].npassages; p++)
                ty_report_source_passage_json(&x->out, &src[i], p, x->name, q);
        return;
    }
    const char *B = j->st.color ? "\033[1m" : "", *R = j->st.color ? "\033[0m" : "";
    if (!n) {
        ty_buf_printf(&x->out, "%s%s%s: no reuse found in %s (%zu characters compared)\n", B,
                      x->name, R, j->ix_path, ty_doc_ntokens(q));
        return;
    }
    ty_buf_printf(&x->out, "%s%s%s: reuses %zu indexed document%s\n", B, x->name, R, n,
                  n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        /* the report marks what changed inside each passage from the aligner's exact runs:
         * align this source again with our own aligner (the same passages: it is
         * deterministic) rather than keep every candidate's runs in the searcher */
        const ty_passage_t *p;
        size_t np;
        int ok = ty_compare(al, src[i].doc, q, &p, &np) == TY_OK;
        ty_buf_printf(&x->out, "\n%s[%zu]%s ", B, i + 1, R);
        ty_report_text(&x->out, &j->st, src[i].doc, q, src[i].passages, src[i].npassages,
                       ok ? al : NULL, &src[i]);
    }
}

/* Document i of the chunk, on thread tid (ty_for). */
static void check_item(void *arg, size_t i, int tid)
{
    job_t *j = arg;
    thr_t *t = &j->th[tid];
    item_t *x = &j->it[i];
    if (!t->s)
        t->s = ty_searcher_new(j->ix, &j->o, &j->q);
    if (!t->q)
        t->q = ty_doc_new();
    if (!t->al)
        t->al = ty_aligner_new(&j->o);
    if (!t->s || !t->q || !t->al) {
        ty_buf_puts(&x->err, "tongyuan: out of memory\n");
        x->status = EXIT_ERROR;
        return;
    }
    check_one(j, x, t->s, t->q, t->al);
}

static int copy(char **dst, size_t *cap, const char *src, size_t len)
{
    if (*cap < len + 1) {
        char *p = realloc(*dst, len + 1);
        if (!p)
            return -1;
        *dst = p;
        *cap = len + 1;
    }
    memcpy(*dst, src, len);
    (*dst)[len] = 0;
    return 0;
}

static void usage(FILE *f)
{
    ty_query_opts_t q;
    ty_query_opts_init(&q);
    fprintf(f,
            "Usage: tongyuan check -x INDEX [OPTIONS] PATH...\n"
            "For each document of PATH, the indexed documents it reuses — verbatim, edited or\n"
            "machine-spun (伪原创) — best first (the one explaining the most of it), each with\n"
            "its passages and offsets in both, and the other indexed documents holding the\n"
            "same text (near-duplicate versions, reposts): docs/index.md.\n\n"
            "Options:\n"
            "  -x, --index INDEX  the index (tongyuan index build; a sharded index directory too)\n"
            "  --format F         'text' (default, for people) or 'jsonl' (one passage a line,\n"
            "                     the fields of tongyuan compare, src the indexed name; and\n"
            "                     \"also\": other holders, \"also_more\": how many past those)\n"
            "  --max-sources N    report at most N sources per document [%zu]\n"
            "  --max-also N       list at most N other holders per source [%zu]\n"
            "  --max-candidates N align at most N candidates per document [%zu]\n"
            "  --min-shared N     candidates share at least N minimizers [%u]\n"
            "  --postings N       every holder of the rarest minimizers votes, N postings per\n"
            "                     minimizer of the document in all; the others credit their\n"
            "                     first holder [%zu]\n"
            "  --max-df N         ignore minimizers found in more than N documents [no limit]\n"
            "  --max-df-frac X    ignore the fraction X of minimizers in most documents [%g]\n"
            "  --threads N        worker threads [all cores]\n"
            "  --full             print whole passages, not excerpts (text format)\n"
            "  --html FILE        also write a side-by-side HTML report of the document (one\n"
            "                     document only; '-': the report instead of the text)\n"
            "  --latency          print the median and 99th percentile time per document\n"
            "  --candidates       print only the candidates to align (JSON lines: sus, src,\n"
            "                     rank, shared minimizers), for tuning\n"
            "  -h, --help         this help\n\n",
            q.max_sources, q.max_also, q.max_candidates, q.min_shared, q.postings_per_minimizer,
            q.max_df_frac);
    print_reader_help(f);
    fputc('\n', f);
    print_align_help(f);
    fprintf(f, "\nExit status: 0 reuse found, 1 none found, 2 error (like grep).\n");
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the per-document times of --latency */
typedef struct {
    double *a;
    size_t n, m;
} lat_t;

/* Up to CHUNK records of r into j->it: how many, or -1 (out of memory, told). *eof set at the
 * end; a record that could not be read is an item with its message (and counted in *no_text
 * when it had no text: a scanned PDF is skipped with a warning). */
static long read_chunk(job_t *j, ty_reader_t *r, int *eof, size_t *no_text)
{
    size_t n = 0;
    while (n < CHUNK) {
        item_t *x = &j->it[n];
        ty_record_t rec;
        int e = ty_reader_next(r, &rec);
        if (e == 0) {
            *eof = 1;
            break;
        }
        x->out.len = x->err.len = 0;
        x->read_err = 0;
        x->status = EXIT_NONE;
        x->seconds = -1;
        ty_docinfo_free(x->info);
        x->info = NULL;
        if (e < 0) {
            x->read_err = 1;
            x->status = e == TY_EEMPTY ? EXIT_NONE : EXIT_ERROR;
            *no_text += e == TY_EEMPTY;
            ty_buf_printf(&x->err, "tongyuan: %s%s%s\n", e == TY_EEMPTY ? "warning: " : "",
                          cli_flags(ty_reader_errmsg(r)), e == TY_EEMPTY ? " (skipped)" : "");
        } else if (copy(&x->name, &x->cap_name, rec.name, strlen(rec.name)) ||
                   copy(&x->text, &x->cap_text, rec.text, rec.len) ||
                   !(x->info = ty_docinfo_dup(&rec.info))) {
            fprintf(stderr, "tongyuan: out of memory\n");
            return -1;
        } else {
            x->len = rec.len;
        }
        n++;
    }
    return (long)n;
}

/* The chunk's results in input order: messages to stderr, reports to stdout (a blank line
 * between text reports), the statuses folded in, the times kept (lat non-NULL). 0, or -1
 * when out of memory (told). */
static int emit_chunk(job_t *j, size_t n, size_t *written, int *any_found, int *any_err, lat_t *lat)
{
    for (size_t x = 0; x < n; x++) {
        item_t *it = &j->it[x];
        if (it->err.len) {
            fflush(stdout);
            cli_buf_write(&it->err, stderr);
        }
        if (it->out.len) {
            if (!j->jsonl && !j->candidates && (*written)++ > 0)
                fputs("\n", stdout);
            cli_buf_write(&it->out, stdout);
        }
        *any_found |= it->status == EXIT_FOUND;
        *any_err |= it->status == EXIT_ERROR;
        if (lat && it->seconds >= 0) {
            if (lat->n == lat->m) {
                size_t m = lat->m ? lat->m * 2 : 1024;
                double *p = realloc(lat->a, m * sizeof(double));
                if (!p) {
                    fprintf(stderr, "tongyuan: out of memory\n");
                    return -1;
                }
                lat->a = p;
                lat->m = m;
            }
            lat->a[lat->n++] = it->seconds;
        }
    }
    return 0;
}

static void print_latency(double *lat, size_t nlat)
{
    qsort(lat, nlat, sizeof(double), cmp_dbl);
    double sum = 0;
    for (size_t i = 0; i < nlat; i++)
        sum += lat[i];
    size_t p99 = (size_t)ceil(0.99 * (double)nlat) - 1;
    fprintf(stderr,
            "tongyuan: %zu documents checked: latency median %.2f ms, p99 %.2f ms, mean %.2f "
            "ms, max %.2f ms (per document, in its thread)\n",
            nlat, 1e3 * lat[nlat / 2], 1e3 * lat[p99], 1e3 * sum / (double)nlat,
            1e3 * lat[nlat - 1]);
}

/* what cmd_check allocated in j (its items, its threads' handles) */
static void job_free(job_t *j, long threads)
{
    for (size_t x = 0; j->it && x < CHUNK; x++) {
        free(j->it[x].name);
        free(j->it[x].text);
        ty_docinfo_free(j->it[x].info);
        ty_buf_free(&j->it[x].out);
        ty_buf_free(&j->it[x].err);
    }
    free(j->it);
    for (long t = 0; j->th && t < threads; t++) {
        ty_searcher_free(j->th[t].s);
        ty_doc_free(j->th[t].q);
        ty_aligner_free(j->th[t].al);
    }
    free(j->th);
}

int cmd_check(int argc, char **argv)
{
    job_t j;
    memset(&j, 0, sizeof j);
    ty_opts_init(&j.o);
    ty_query_opts_init(&j.q);
    style_init(&j.st, stdout);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    int latency = 0, npos = 0;
    ty_argdef_t reader[TY_READER_NARGS], align[TY_OPTS_NARGS], query[TY_QUERY_NARGS];
    ty_reader_opts_args(&ro, reader);
    ty_opts_args(&j.o, align);
    ty_query_opts_args(&j.q, query);
    const ty_argdef_t defs[] = {
        TY_ARG_TABLE(reader),
        TY_ARG_TABLE(align),
        TY_ARG_TABLE(query),
        TY_ARG_STRING("--index", "-x", j.ix_path, 0),
        TY_ARG_ENUM("--format", j.jsonl, "text|jsonl", NULL),
        TY_ARG_INT("--threads", NULL, threads, 1, 1024),
        TY_ARG_FLAG("--full", NULL, j.st.full, 1),
        TY_ARG_STRING("--html", NULL, j.html, 1),
        TY_ARG_FLAG("--latency", NULL, latency, 1),
        TY_ARG_FLAG("--candidates", NULL, j.candidates, 1),
        TY_ARG_END,
    };
    const char **pos;
    int rc = cli_args("check", defs, argc, argv, &pos, &npos, usage);
    if (rc)
        return rc > 0 ? 0 : EXIT_ERROR;
    rc = EXIT_ERROR;
    if (!j.ix_path) {
        fprintf(stderr, "tongyuan: check needs -x INDEX (see tongyuan check --help)\n");
        goto done;
    }
    if (!npos) {
        fprintf(stderr, "tongyuan: check needs at least one PATH to check ('-': stdin)\n");
        goto done;
    }
    if (j.html && j.candidates) {
        fprintf(stderr, "tongyuan: --html and --candidates do not go together\n");
        goto done;
    }
    if (cli_opts_ready(&j.o, &ro))
        goto done;
    char qmsg[256];
    if (ty_query_opts_check(&j.q, qmsg, sizeof qmsg) != TY_OK) {
        fprintf(stderr, "tongyuan check: %s\n", cli_flags(qmsg));
        goto done;
    }
    ty_reader_t *r = ty_reader_new(&ro);
    cli_out_t html = {0};
    j.ix = ty_index_new();
    j.it = calloc(CHUNK, sizeof(item_t));
    j.th = calloc((size_t)threads, sizeof(thr_t));
    lat_t lat = {0};
    if (!r || !j.ix || !j.it || !j.th) {
        fprintf(stderr, "tongyuan: out of memory\n");
        goto cleanup;
    }
    for (int p = 0; p < npos; p++)
        if (ty_reader_add(r, pos[p]) != TY_OK) {
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_reader_errmsg(r)));
            goto cleanup;
        }
    for (size_t i = 0; ty_reader_note(r, i); i++)
        fprintf(stderr, "tongyuan: %s\n", ty_reader_note(r, i));
    if (j.html) {
        /* refused if it names an input or the index; a temporary file renamed at the end */
        cli_files_t files = {0};
        int bad = cli_files_add_input(&files, j.ix_path) ||
                  cli_files_check_output(&files, "--html", j.html, r) ||
                  cli_out_open(&html, "--html", j.html);
        cli_files_free(&files);
        if (bad)
            goto cleanup;
        j.html_f = html.f;
    }
    if (ty_index_open(j.ix, j.ix_path, TY_INDEX_READ, NULL) != TY_OK) {
        fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_index_errmsg(j.ix)));
        goto cleanup;
    }
    int any_found = 0, any_err = 0, eof = 0;
    size_t written = 0, no_text = 0;
    while (!eof) {
        long got = read_chunk(&j, r, &eof, &no_text);
        if (got < 0)
            goto cleanup;
        size_t n = (size_t)got;
        if (j.html && (n > 1 || written > 0)) {
            fprintf(stderr, "tongyuan: --html makes one report for one document; the input "
                            "holds more\n");
            goto cleanup;
        }
        if (ty_for((int)threads, check_item, &j, n) != TY_OK) {
            fprintf(stderr, "tongyuan: out of memory\n");
            goto cleanup;
        }
        if (emit_chunk(&j, n, &written, &any_found, &any_err, latency ? &lat : NULL))
            goto cleanup;
    }
    if (latency && lat.n)
        print_latency(lat.a, lat.n);
    if (no_text)
        fprintf(stderr, "tongyuan: check: %zu document%s skipped: no text extracted\n", no_text,
                no_text == 1 ? "" : "s");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tongyuan: error writing output\n");
        any_err = 1;
    }
    if (j.html && !any_err && cli_out_close(&html))
        any_err = 1;
    rc = any_err ? EXIT_ERROR : any_found ? EXIT_FOUND : EXIT_NONE;
cleanup:
    cli_out_abort(&html);
    job_free(&j, threads);
    free(lat.a);
    ty_index_free(j.ix);
    ty_reader_free(r);
done:
    free(pos);
    return rc;
}
