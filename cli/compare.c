/*
 * compare.c — `tongyuan compare SOURCE SUSPECT` and `tongyuan compare --pairs FILE`.
 *
 * One pair: load both, align, print. Many pairs (--pairs): a TSV of "source<TAB>suspect"
 * lines is read whole, threads (ty_for) take pairs in small blocks (a thread keeps its last
 * source loaded, so pairs sorted by source load each source once), each result is rendered
 * into its own buffer, and the main thread writes the buffers in input order — the output
 * does not depend on --threads.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "commands.h"

typedef struct {
    char *src, *sus;
    size_t line;
} pair_t;

/* One thread's handles, made on its first block and kept to the end. */
typedef struct {
    ty_aligner_t *al;
    ty_doc_t *src, *sus;
    int src_ok; /* src holds the source last loaded */
} thr_t;

typedef struct {
    ty_opts_t o;
    int jsonl;
    const char *html; /* --html FILE (one pair only) */
    FILE *html_f;     /* where it goes (cli_out_t: a temporary file until the end) */
    ty_report_style_t st;
    pair_t *pairs;
    size_t npairs;
    ty_buf_t *out; /* per pair: rendered result */
    ty_buf_t *err; /* per pair: error message */
    int *status;   /* per pair: EXIT_* */
    size_t end;
    thr_t *th; /* per thread (--threads) */
} job_t;

#define BLOCK 8

static void run_one(job_t *j, size_t x, ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, int *src_ok)
{
    const pair_t *p = &j->pairs[x];
    int rc;
    if (!*src_ok || strcmp(ty_doc_name(src), p->src) != 0 || strcmp(p->src, "-") == 0) {
        rc = ty_doc_load_file(src, p->src, &j->o);
        *src_ok = rc == TY_OK;
        if (rc) {
            ty_buf_printf(&j->err[x], "tongyuan: %s\n", cli_flags(ty_doc_errmsg(src)));
            j->status[x] = EXIT_ERROR;
            return;
        }
    }
    rc = ty_doc_load_file(sus, p->sus, &j->o);
    if (rc) {
        ty_buf_printf(&j->err[x], "tongyuan: %s\n", cli_flags(ty_doc_errmsg(sus)));
        j->status[x] = EXIT_ERROR;
        return;
    }
    const ty_passage_t *ps;
    size_t n;
    rc = ty_compare(al, src, sus, &ps, &n);
    if (rc) {
        ty_buf_printf(&j->err[x], "tongyuan: %s\n", cli_flags(ty_aligner_errmsg(al)));
        j->status[x] = EXIT_ERROR;
        return;
    }
    if (j->html) {
        ty_report_source_t hs;
        memset(&hs, 0, sizeof hs);
        int bad = ty_report_source_capture(&hs, src, al, ps, n, NULL) != 0;
        if (!bad)
            bad = cli_write_html(j->html_f, sus, &hs, 1) != 0;
        ty_report_source_free(&hs);
        if (bad) {
            ty_buf_printf(&j->err[x], "tongyuan: %s: cannot write the HTML report\n", j->html);
            j->status[x] = EXIT_ERROR;
            return;
        }
        if (strcmp(j->html, "-") == 0) {
            j->status[x] = n ? EXIT_FOUND : EXIT_NONE;
            return;
        }
    }
    if (j->jsonl) {
        for (size_t i = 0; i < n; i++)
            ty_report_passage_json_docs(&j->out[x], p->src, p->sus, src, sus, &ps[i]);
    } else {
        ty_report_text(&j->out[x], &j->st, src, sus, ps, n, al, NULL);
    }
    j->status[x] = n ? EXIT_FOUND : EXIT_NONE;
}

/* Block b of the chunk (pairs b * BLOCK ..), on thread tid (ty_for). */
static void run_block(void *arg, size_t b, int tid)
{
    job_t *j = arg;
    thr_t *t = &j->th[tid];
    if (!t->al)
        t->al = ty_aligner_new(&j->o);
    if (!t->src)
        t->src = ty_doc_new();
    if (!t->sus)
        t->sus = ty_doc_new();
    size_t e = (b + 1) * BLOCK < j->end ? (b + 1) * BLOCK : j->end;
    for (size_t x = b * BLOCK; x < e; x++) {
        if (!t->al || !t->src || !t->sus) {
            ty_buf_puts(&j->err[x], "tongyuan: out of memory\n");
            j->status[x] = EXIT_ERROR;
            continue;
        }
        run_one(j, x, t->al, t->src, t->sus, &t->src_ok);
    }
}

/* Read the TSV of pairs. Returns 0, or -1 with a message naming file and line. */
static int read_pairs(const char *path, pair_t **out, size_t *n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tongyuan: %s: cannot open: ", path);
        perror(NULL);
        return -1;
    }
    pair_t *v = NULL;
    size_t nv = 0, mv = 0, ln = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        if (memchr(line, 0, (size_t)len)) {
            fprintf(stderr, "tongyuan: %s:%zu: NUL byte in pairs file\n", path, ln);
            rc = -1;
            break;
        }
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || !tab[1] || strchr(tab + 1, '\t')) {
            fprintf(stderr,
                    "tongyuan: %s:%zu: expected 'SOURCE<TAB>SUSPECT', got %zu bytes without "
                    "exactly one tab between two paths\n",
                    path, ln, (size_t)len);
            rc = -1;
            break;
        }
        *tab = 0;
        if (nv == mv) {
            mv = mv ? mv * 2 : 256;
            pair_t *p = realloc(v, mv * sizeof(pair_t));
            if (!p) {
                fprintf(stderr, "tongyuan: out of memory\n");
                rc = -1;
                break;
            }
            v = p;
        }
        v[nv].src = strdup(line);
        v[nv].sus = strdup(tab + 1);
        v[nv].line = ln;
        if (!v[nv].src || !v[nv].sus) {
            fprintf(stderr, "tongyuan: out of memory\n");
            free(v[nv].src);
            free(v[nv].sus);
            rc = -1;
            break;
        }
        nv++;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "tongyuan: %s: read error\n", path);
        rc = -1;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (rc) {
        for (size_t i = 0; i < nv; i++) {
            free(v[i].src);
            free(v[i].sus);
        }
        free(v);
        return -1;
    }
    *out = v;
    *n = nv;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tongyuan compare [OPTIONS] SOURCE SUSPECT\n"
            "       tongyuan compare [OPTIONS] --pairs FILE\n"
            "Find the passages of SUSPECT reused from SOURCE — verbatim, edited, machine-spun\n"
            "(伪原创), shuffled or converted to Traditional Chinese — with offsets in both.\n"
            "'-' reads standard input.\n\n"
            "Options:\n"
            "  --format F         'text' (default, for people) or 'jsonl' (one passage a line)\n"
            "  --pairs FILE       compare many pairs: TSV lines 'SOURCE<TAB>SUSPECT' ('-': stdin)\n"
            "  --threads N        worker threads for --pairs [all cores]\n"
            "  --full             print whole passages, not excerpts (text format)\n"
            "  --html FILE        also write a side-by-side HTML report ('-': instead of the\n"
            "                     usual output, to stdout); one pair only\n"
            "  -h, --help         this help\n\n");
    print_align_help(f);
    fputc('\n', f);
    print_formats_help(f, 0);
    fprintf(f, "\nExit status: 0 reuse found, 1 none found, 2 error (like grep).\n"
               "JSONL fields: src sus src_off src_len sus_off sus_len (code points of the texts\n"
               "compared) src_byte_off src_byte_len sus_byte_off sus_byte_len score (0..1); for a\n"
               "PDF also *_page *_page_end, for text decoded from another charset *_file_off\n"
               "*_file_len (bytes of the original file).\n"
               "A passage may be reordered: its pieces come in another order than the source's.\n"
               "Text excerpts show about 600 bytes of each passage; --full shows it all.\n");
}

int cmd_compare(int argc, char **argv)
{
    job_t j;
    memset(&j, 0, sizeof j);
    ty_opts_init(&j.o);
    style_init(&j.st, stdout);
    const char *pairs_path = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    int npos = 0;
    ty_argdef_t align[TY_OPTS_NARGS];
    ty_opts_args(&j.o, align);
    const ty_argdef_t defs[] = {
        TY_ARG_TABLE(align),
        TY_ARG_ENUM("--format", j.jsonl, "text|jsonl", NULL),
        TY_ARG_STRING("--pairs", NULL, pairs_path, 0),
        TY_ARG_INT("--threads", NULL, threads, 1, 1024),
        TY_ARG_STRING("--html", NULL, j.html, 1),
        TY_ARG_FLAG("--full", NULL, j.st.full, 1),
        TY_ARG_END,
    };
    const char **pos;
    int rc = cli_args("compare", defs, argc, argv, &pos, &npos, usage);
    if (rc)
        return rc > 0 ? 0 : EXIT_ERROR;
    const char *src = npos > 0 ? pos[0] : NULL, *sus = npos > 1 ? pos[1] : NULL;
    if (npos > 2)
        fprintf(stderr, "tongyuan: compare takes SOURCE and SUSPECT, got a third: '%s'\n", pos[2]);
    free(pos);
    if (npos > 2)
        return EXIT_ERROR;
    char msg[256];
    if (ty_opts_check(&j.o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return EXIT_ERROR;
    }
    if (pairs_path) {
        if (npos) {
            fprintf(stderr, "tongyuan: compare: give either --pairs or SOURCE SUSPECT, not both\n");
            return EXIT_ERROR;
        }
        if (j.html) {
            fprintf(stderr, "tongyuan: --html makes one report for one pair; not with --pairs\n");
            return EXIT_ERROR;
        }
        if (read_pairs(pairs_path, &j.pairs, &j.npairs))
            return EXIT_ERROR;
    } else {
        if (npos != 2) {
            usage(stderr);
            return EXIT_ERROR;
        }
        if (strcmp(src, "-") == 0 && strcmp(sus, "-") == 0) {
            fprintf(stderr, "tongyuan: only one of SOURCE and SUSPECT can be '-'\n");
            return EXIT_ERROR;
        }
        j.pairs = malloc(sizeof(pair_t));
        if (!j.pairs)
            return EXIT_ERROR;
        j.pairs[0].src = strdup(src);
        j.pairs[0].sus = strdup(sus);
        j.pairs[0].line = 0;
        j.npairs = 1;
        threads = 1;
    }
    /* --html: refused if it names an input; written to a temporary file renamed at the end */
    cli_out_t html = {0};
    if (j.html) {
        cli_files_t files = {0};
        int bad = cli_files_add_input(&files, src) || cli_files_add_input(&files, sus) ||
                  cli_files_check_output(&files, "--html", j.html, NULL) ||
                  cli_out_open(&html, "--html", j.html);
        cli_files_free(&files);
        if (bad) {
            free(j.pairs[0].src);
            free(j.pairs[0].sus);
            free(j.pairs);
            return EXIT_ERROR;
        }
        j.html_f = html.f;
    }
    if ((size_t)threads > j.npairs)
        threads = j.npairs ? (long)j.npairs : 1;
    int any_found = 0, any_err = 0;
    const size_t CHUNK = 4096; /* pairs rendered before they are written out */
    j.out = calloc(CHUNK, sizeof(ty_buf_t));
    j.err = calloc(CHUNK, sizeof(ty_buf_t));
    j.status = calloc(CHUNK, sizeof(int));
    j.th = calloc((size_t)threads, sizeof(thr_t));
    if (!j.out || !j.err || !j.status || !j.th) {
        fprintf(stderr, "tongyuan: out of memory\n");
        cli_out_abort(&html);
        return EXIT_ERROR;
    }
    for (size_t base = 0; base < j.npairs; base += CHUNK) {
        size_t cnt = j.npairs - base < CHUNK ? j.npairs - base : CHUNK;
        /* threads index out/err/status relative to the chunk */
        pair_t *all = j.pairs;
        j.pairs = all + base;
        j.end = cnt;
        rc = ty_for((int)threads, run_block, &j, (cnt + BLOCK - 1) / BLOCK);
        j.pairs = all;
        if (rc != TY_OK) {
            fprintf(stderr, "tongyuan: out of memory\n");
            any_err = 1;
            break;
        }
        for (size_t x = 0; x < cnt; x++) {
            if (j.err[x].len) {
                fflush(stdout);
                cli_buf_write(&j.err[x], stderr);
            }
            if (j.out[x].len) {
                if (!j.jsonl && x > 0)
                    fputs("\n", stdout);
                cli_buf_write(&j.out[x], stdout);
            }
            any_found |= j.status[x] == EXIT_FOUND;
            any_err |= j.status[x] == EXIT_ERROR;
            j.out[x].len = 0;
            j.err[x].len = 0;
        }
    }
    for (size_t x = 0; x < CHUNK; x++) {
        ty_buf_free(&j.out[x]);
        ty_buf_free(&j.err[x]);
    }
    for (size_t x = 0; x < j.npairs; x++) {
        free(j.pairs[x].src);
        free(j.pairs[x].sus);
    }
    free(j.pairs);
    free(j.out);
    free(j.err);
    free(j.status);
    for (long t = 0; t < threads; t++) {
        ty_aligner_free(j.th[t].al);
        ty_doc_free(j.th[t].src);
        ty_doc_free(j.th[t].sus);
    }
    free(j.th);
    if (j.html) {
        if (any_err)
            cli_out_abort(&html);
        else if (cli_out_close(&html))
            any_err = 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tongyuan: error writing output\n");
        return EXIT_ERROR;
    }
    return any_err ? EXIT_ERROR : any_found ? EXIT_FOUND : EXIT_NONE;
}
