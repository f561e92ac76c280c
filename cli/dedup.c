/*
 * dedup.c — `tongyuan dedup PATH... -o OUT.jsonl`: one decision per document — its cluster,
 * whether it is kept, what it duplicates — for exact, near (MinHash-LSH) or spun copies.
 *
 * The command reads documents with the library's reader (input.c: text files, directories,
 * JSONL, .gz/.zst, stdin), feeds them to a ty_dedup_t, and owns everything users see:
 * the progress line (on a terminal only), messages for bad records, the evidence file
 * (--pairs-out, written as links are made), the decisions (written at the end, when the
 * clusters are final) and the kept documents (--write-kept: a second pass over the input
 * files, with the same reader, that copies the kept JSONL lines byte for byte).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "corpus.h"
#include "commands.h"
#ifdef TY_MPI
#include "mpi.h"
#endif

#define MAX_SHOWN_ERRORS 100

/* Where each document came from, for messages and --write-kept. */
typedef struct {
    uint32_t origin; /* index into ui_t.origins */
    uint64_t line;   /* JSONL line, 0 for a whole file */
} where_t;

typedef struct {
    int fail; /* --on-error fail */
    int quiet, verbose, tty, shown;
    FILE *pairs; /* --pairs-out */
    const char *pairs_path;
    int pairs_failed;
    char estimate[128]; /* what similarity is, as --pairs-out fields (docs/dedup.md) */
    ty_buf_t pb;
    size_t errors;  /* records and documents skipped */
    where_t *where; /* per document added */
    size_t nwhere, mwhere;
    char **origins;
    size_t norigins, morigins;
    ty_dedup_t *dd;
    const ty_opts_t *to; /* how documents were read (--input-format, --encoding ...) */
    size_t old;          /* --against: documents 0 .. old - 1 are the earlier run's (where[]
                          * starts at document old); SIZE_MAX while they are loaded */
} ui_t;

static void clear_line(ui_t *u)
{
    if (u->shown) {
        fputs("\r\033[K", stderr);
        u->shown = 0;
    }
}

static void draw(ui_t *u, uint64_t pos, uint64_t size, size_t docs, double secs)
{
    char bar[40], eta[32], el[16];
    double t = secs > 1e-6 ? secs : 1e-6;
    cli_progress(pos, size, secs, bar, el, eta);
    ty_dedup_stats_t st;
    ty_dedup_stats(u->dd, &st);
    fprintf(stderr, "\r\033[K%s%zu docs  %zu linked  %.0f docs/s  %s%s", bar, docs, st.links,
            (double)docs / t, el, eta);
    u->shown = 1;
}

static const char *origin_of(const ui_t *u, size_t doc, uint64_t *line)
{
    if (doc < u->old || doc - u->old >= u->nwhere) {
        *line = 0;
        return "?";
    }
    *line = u->where[doc - u->old].line;
    return u->origins[u->where[doc - u->old].origin];
}

static void put_json_name(ty_buf_t *b, const char *s) { ty_buf_json_str(b, s, strlen(s)); }

static int on_event(void *user, const ty_dedup_event_t *ev)
{
    ui_t *u = user;
    if (ev->doc < u->old)
        return 0; /* --against: an earlier run's document, reported by that run */
    if (ev->kind == TY_DEDUP_ERROR) {
        u->errors++;
        if (u->errors <= MAX_SHOWN_ERRORS || u->fail) {
            uint64_t line;
            const char *o = origin_of(u, ev->doc, &line);
            clear_line(u);
            if (line)
                fprintf(stderr, "tongyuan: %s:%llu: %s%s\n", o, (unsigned long long)line,
                        cli_flags(ev->msg), u->fail ? "" : " (skipped)");
            else
                fprintf(stderr, "tongyuan: %s%s\n",
                        cli_msg_at(cli_flags(ev->msg), ty_dedup_name(u->dd, ev->doc), o),
                        u->fail ? "" : " (skipped)");
        } else if (u->errors == MAX_SHOWN_ERRORS + 1) {
            clear_line(u);
            fprintf(stderr, "tongyuan: more records skipped; the summary counts them\n");
        }
        return u->fail;
    }
    if (!u->pairs || u->pairs_failed)
        return 0;
    ty_buf_t *b = &u->pb;
    b->len = 0;
    ty_buf_puts(b, "{\"src\":");
    put_json_name(b, ty_dedup_name(u->dd, ev->other));
    ty_buf_puts(b, ",\"sus\":");
    put_json_name(b, ty_dedup_name(u->dd, ev->doc));
    ty_buf_printf(b, ",\"similarity\":%.4f,\"containment\":%.4f,%s,\"passages\":[", ev->similarity,
                  ev->containment, u->estimate);
    for (size_t i = 0; i < ev->npassages; i++) {
        const ty_passage_t *p = &ev->passages[i];
        ty_buf_printf(b,
                      "%s{\"src_off\":%zu,\"src_len\":%zu,\"sus_off\":%zu,\"sus_len\":%zu,"
                      "\"src_byte_off\":%zu,\"src_byte_len\":%zu,\"sus_byte_off\":%zu,"
                      "\"sus_byte_len\":%zu,\"score\":%.4f}",
                      i ? "," : "", p->src_off, p->src_len, p->sus_off, p->sus_len, p->src_byte_off,
                      p->src_byte_len, p->sus_byte_off, p->sus_byte_len, p->score);
    }
    ty_buf_puts(b, "]}\n");
    if (b->err || fwrite(b->data, 1, b->len, u->pairs) != b->len)
        u->pairs_failed = 1;
    return 0;
}

static int remember(ui_t *u, const ty_record_t *rec)
{
    if (!u->norigins || strcmp(u->origins[u->norigins - 1], rec->origin) != 0) {
        if (u->norigins == u->morigins) {
            size_t m = u->morigins ? u->morigins * 2 : 16;
            char **p = realloc(u->origins, m * sizeof(char *));
            if (!p)
                return -1;
            u->origins = p;
            u->morigins = m;
        }
        if (!(u->origins[u->norigins] = strdup(rec->origin)))
            return -1;
        u->norigins++;
    }
    if (u->nwhere == u->mwhere) {
        size_t m = u->mwhere ? u->mwhere * 2 : 4096;
        where_t *p = realloc(u->where, m * sizeof(where_t));
        if (!p)
            return -1;
        u->where = p;
        u->mwhere = m;
    }
    u->where[u->nwhere++] = (where_t){(uint32_t)(u->norigins - 1), rec->line};
    return 0;
}

/* ---- input: the reader, on a thread of its own when there are workers to keep busy ------- */

/* Parsing JSONL costs about as much as deduplicating near copies: with --threads 2 or more a
 * reader thread reads chunks (records copied out of the reader) while the main thread feeds
 * ty_dedup_add(), so reading goes on while a batch is processed: a two-step ty_pipeline, step
 * 0 (read a chunk) on a thread of its own, step 1 (add its documents) on this thread. The
 * order of the records is the reader's either way. */
typedef struct {
    int rc;                    /* 1: a document; < 0: a record that could not be read */
    size_t name, text, origin; /* offsets in the chunk's blob (name: the message if rc < 0) */
    size_t len;
    uint64_t line;
} frec_t;

typedef struct {
    frec_t *r;
    size_t n, cap;
    char *blob;
    size_t bn, bcap;
    uint64_t pos, size; /* reader progress after the chunk */
    int end;
} chunk_t;

#define CHUNK_DOCS 256

static void chunk_free(chunk_t *c)
{
    if (c) {
        free(c->r);
        free(c->blob);
        free(c);
    }
}

static int blob_put(chunk_t *c, const char *s, size_t n, size_t *off)
{
    if (c->bn + n + 1 > c->bcap) {
        size_t nc = c->bcap ? c->bcap : 1 << 20;
        while (nc < c->bn + n + 1)
            nc *= 2;
        char *p = realloc(c->blob, nc);
        if (!p)
            return -1;
        c->blob = p;
        c->bcap = nc;
    }
    memcpy(c->blob + c->bn, s, n);
    c->blob[c->bn + n] = 0;
    *off = c->bn;
    c->bn += n + 1;
    return 0;
}

/* Read up to CHUNK_DOCS records into a new chunk; NULL when out of memory. */
static chunk_t *read_chunk(ty_reader_t *rd)
{
    chunk_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->r = malloc(CHUNK_DOCS * sizeof(frec_t)))) {
        free(c);
        return NULL;
    }
    c->cap = CHUNK_DOCS;
    while (c->n < c->cap && c->bn < ((size_t)8 << 20)) {
        ty_record_t rec;
        int rc = ty_reader_next(rd, &rec);
        if (rc == 0) {
            c->end = 1;
            break;
        }
        frec_t *f = &c->r[c->n];
        memset(f, 0, sizeof(*f));
        f->rc = rc;
        int bad;
        if (rc < 0) {
            const char *m = cli_flags(ty_reader_errmsg(rd));
            bad = blob_put(c, m, strlen(m), &f->name);
        } else {
            f->len = rec.len;
            f->line = rec.line;
            bad = blob_put(c, rec.name, strlen(rec.name), &f->name) ||
                  blob_put(c, rec.text, rec.len, &f->text) ||
                  blob_put(c, rec.origin, strlen(rec.origin), &f->origin);
        }
        if (bad) {
            chunk_free(c);
            return NULL;
        }
        c->n++;
    }
    c->pos = ty_reader_pos(rd);
    c->size = ty_reader_size(rd);
    return c;
}

/* ---- --write-kept: a second pass over the input files ------------------------------------ */

/* Copy the kept documents of origin path (documents [beg, end) in input order all come
 * from it) to out, reading it again with the library's reader (JSONL lines unparsed:
 * ty_reader_next_line). Returns 0, or -1 with a message printed. */
static int copy_kept(ui_t *u, const ty_reader_opts_t *ro, FILE *out, size_t beg, size_t end,
                     const char *path)
{
    ty_reader_t *r = ty_reader_new(ro);
    if (!r || ty_reader_add(r, path) != TY_OK) {
        fprintf(stderr, "tongyuan: --write-kept: %s: cannot read it again: %s\n", path,
                r ? cli_flags(ty_reader_errmsg(r)) : "out of memory");
        ty_reader_free(r);
        return -1;
    }
    size_t d = beg;
    int rc = 0;
    ty_buf_t sb = {0};
    while (d < end) {
        ty_record_t rec;
        int n = ty_reader_next_line(r, &rec);
        if (n == 0)
            break; /* end of file before every document was found */
        if (n == TY_ETOOBIG)
            continue; /* a record the first pass refused too */
        if (n < 0) {
            fprintf(stderr, "tongyuan: --write-kept: %s\n", cli_flags(ty_reader_errmsg(r)));
            rc = -1;
            break;
        }
        ty_dedup_result_t res;
        if (!rec.line) { /* the whole file is the document */
            if (ty_dedup_result(u->dd, u->old + d, &res) == TY_OK && !res.err && res.keep) {
                sb.len = 0;
                ty_buf_puts(&sb, "{\"id\":");
                put_json_name(&sb, ty_dedup_name(u->dd, u->old + d));
                ty_buf_puts(&sb, ",\"text\":");
                ty_buf_json_str(&sb, rec.text, rec.len);
                ty_buf_puts(&sb, "}\n");
                cli_buf_write(&sb, out);
            }
            d++;
            /* one document a file, except a WARC crawl: many records, named by URI, whose
             * skipped records the first pass did not number — not written from here */
            if (ty_reader_next_line(r, &rec) == 1) {
                fprintf(stderr,
                        "tongyuan: --write-kept: %s: a WARC file: its kept records are not "
                        "written (write its text with tongyuan extract --format jsonl, and "
                        "dedup that)\n",
                        path);
                rc = -1;
            }
            break;
        }
        /* JSONL: the kept lines, byte for byte */
        while (d < end && u->where[d].line < rec.line)
            d++;
        if (d < end && u->where[d].line == rec.line) {
            if (ty_dedup_result(u->dd, u->old + d, &res) == TY_OK && !res.err && res.keep) {
                const char *t = rec.text;
                size_t l = rec.len;
                if (rec.line == 1 && l >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) {
                    t += 3;
                    l -= 3;
                }
                fwrite(t, 1, l, out);
                fputc('\n', out);
            }
            d++;
        }
    }
    if (!rc && d < end) {
        fprintf(stderr,
                "tongyuan: --write-kept: %s changed since it was read (%zu documents not "
                "found again)\n",
                path, end - d);
        rc = -1;
    }
    ty_buf_free(&sb);
    ty_reader_free(r);
    return rc;
}

static int write_kept(ui_t *u, const ty_reader_opts_t *ro, FILE *out)
{
    int rc = 0;
    for (size_t d = 0; d < u->nwhere && !rc;) {
        size_t e = d + 1;
        while (e < u->nwhere && u->where[e].origin == u->where[d].origin && u->where[d].line != 0)
            e++;
        rc = copy_kept(u, ro, out, d, e, u->origins[u->where[d].origin]);
        d = e;
    }
    return rc;
}

/* ---- --against and --save-index ---------------------------------------------------------- */

/* --against PATH that is an index built by `tongyuan index build`: its documents (in id order,
 * deleted ones left out) are added first, as the earlier documents of this run. why: what
 * ty_dedup_load_state() said. 0, or -1 with a message printed. */
static int replay_index(ui_t *u, const char *path, const ty_opts_t *to, const char *why)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "tongyuan: --against %s: %s\n", path, strerror(errno));
        return -1;
    }
    ty_index_t *ix = ty_index_new();
    ty_doc_t *d = ty_doc_new();
    if (!ix || !d || ty_index_open(ix, path, TY_INDEX_READ, NULL) != TY_OK) {
        fprintf(stderr,
                "tongyuan: --against %s: neither a directory written by dedup --save-index (%s) "
                "nor an index built by index build (%s)\n",
                path, why, ix && d ? ty_index_errmsg(ix) : "out of memory");
        ty_doc_free(d);
        ty_index_free(ix);
        return -1;
    }
    ty_index_stats_t st;
    int rc = ty_index_stats(ix, &st);
    char name[4096];
    for (uint64_t id = 0; !rc && id < st.docs; id++) {
        rc = ty_index_get_doc(ix, (uint32_t)id, d, to);
        if (rc == TY_ENOTFOUND) { /* deleted */
            rc = TY_OK;
            continue;
        }
        if (rc || (rc = ty_index_doc_info(ix, (uint32_t)id, name, sizeof name, NULL, 0, NULL)))
            break;
        size_t len;
        const char *t = ty_doc_text(d, &len);
        if ((rc = ty_dedup_add(u->dd, name, t, len)) != TY_OK) {
            fprintf(stderr, "tongyuan: --against %s: %s\n", path, ty_dedup_errmsg(u->dd));
            break;
        }
    }
    if (rc && rc != TY_ENOMEM && ty_index_errmsg(ix)[0])
        fprintf(stderr, "tongyuan: --against %s: %s\n", path, ty_index_errmsg(ix));
    else if (rc == TY_ENOMEM)
        fprintf(stderr, "tongyuan: out of memory\n");
    ty_doc_free(d);
    ty_index_free(ix);
    return rc ? -1 : 0;
}

/* --save-index DIR (locked first: it may be the --against directory, updated in place) and
 * --against PATH: a state saved by dedup, or an index. 0, or -1 with a message printed. */
static int open_state(ui_t *u, const char *against, const char *save, const ty_opts_t *to)
{
    if (save && ty_dedup_save_state(u->dd, save) != TY_OK) {
        fprintf(stderr, "tongyuan: --save-index: %s\n", ty_dedup_errmsg(u->dd));
        return -1;
    }
    if (save && cli_state_guard(save, against))
        return -1;
    if (!against)
        return 0;
    u->old = SIZE_MAX; /* events of the earlier documents are not shown */
    int rc = ty_dedup_load_state(u->dd, against);
    if (rc == TY_ENOTFOUND) {
        char why[512];
        snprintf(why, sizeof why, "%s", ty_dedup_errmsg(u->dd));
        rc = replay_index(u, against, to, why) ? TY_EINVAL : TY_OK;
    } else if (rc) {
        fprintf(stderr, "tongyuan: --against: %s\n", ty_dedup_errmsg(u->dd));
    }
    u->old = ty_dedup_count(u->dd);
    return rc ? -1 : 0;
}

/* The summary of a run --against earlier documents: this run's documents only. */
static void against_summary(ui_t *u, double secs, size_t docs, uint64_t bytes)
{
    size_t n = ty_dedup_count(u->dd), ok = 0, removed = 0, of_old = 0;
    for (size_t i = u->old; i < n; i++) {
        ty_dedup_result_t res;
        if (ty_dedup_result(u->dd, i, &res) != TY_OK || res.err)
            continue;
        ok++;
        if (!res.keep) {
            removed++;
            of_old += res.dup_of < u->old;
        }
    }
    cli_against_summary(ok, u->old, removed, of_old, u->errors, secs, docs, bytes);
}

/* ---- options ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    ty_dedup_opts_t o;
    ty_dedup_opts_init(&o);
    fprintf(f,
            "Usage: tongyuan dedup [OPTIONS] PATH... [-o OUT.jsonl]\n"
            "Cluster documents that are copies of each other — identical, near-identical or\n"
            "machine-spun (伪原创), shuffled, Traditional-converted or partly copied — and\n"
            "decide which one of each cluster to keep. PATHs: files (text in any charset,\n"
            "HTML, Word, PDF), directories, JSONL and WARC files, .gz or .zst, or '-'.\n\n"
            "Output, one JSON object per document in input order:\n"
            "  {\"id\", \"cluster\", \"keep\", \"dup_of\", \"similarity\", \"containment\"}\n"
            "  cluster: number of the document's cluster (0, 1, ... in input order); keep: the\n"
            "  one kept; dup_of, similarity, containment: for a removed document, the document\n"
            "  it is most contained in or by, how similar they are and how much of the\n"
            "  smaller one the other covers (null for kept documents).\n\n"
            "Options:\n"
            "  -o, --output FILE      decisions to FILE [standard output]\n"
            "  --mode M               spun (default): minimizers + alignment, catches spun\n"
            "                         and partial copies; near: MinHash-LSH (Jaccard);\n"
            "                         exact: same text after normalization;\n"
            "                         spans: remove from each document the passages (at least\n"
            "                         --min-len) reused from earlier ones, spun ones included;\n"
            "                         output {\"id\",\"text\",\"removed\"} per document, the\n"
            "                         cleaned text (docs/dedup.md); spans-exact: only exact\n"
            "                         repeats of at least --min-len tokens (ExactSubstr)\n"
            "  --keep R               first (default): the first document of a cluster;\n"
            "                         longest: the one with the most characters\n"
            "  --write-kept FILE      the kept documents, JSONL: lines of JSONL inputs copied\n"
            "                         unchanged, other documents as {\"id\",\"text\"} (reads the\n"
            "                         input files a second time; not with '-')\n"
            "  --pairs-out FILE       evidence: every link, {\"src\",\"sus\",\"similarity\",\n"
            "                         \"containment\",\"estimate\",\"passages\"}: estimate says\n"
            "                         what similarity is (exact; alignment; near: minhash-mle,\n"
            "                         with \"shingles\" and \"perms\"); passages in spun mode\n"
            "  --save-index DIR       save this run's state in DIR (created if needed; the\n"
            "                         file DIR/dedup.state replaced atomically at the end)\n"
            "  --against PATH         the documents of an earlier run come first: PATH is a\n"
            "                         --save-index directory (made with the same mode and\n"
            "                         options) or an index built by index build; a copy of\n"
            "                         one of them is removed, dup_of naming it; only this\n"
            "                         run's documents are written. The decisions are those\n"
            "                         of one run over the earlier documents and these. With\n"
            "                         --save-index, the same DIR may be given to both.\n"
            "                         Under mpirun as well (exact, near, spun): the same\n"
            "                         state file, whichever made it (an index: one process)\n"
            "  --on-error E           skip (default): report a bad record or document with\n"
            "                         its file and line and go on; fail: stop at the first\n"
            "  --memory SIZE          hold at most about SIZE bytes (K, M, G, T: 4G, 512M),\n"
            "                         moving the rest to temporary files; the result does\n"
            "                         not change [half of the machine's memory] (not in\n"
            "                         spans modes, not under mpirun)\n"
            "  --tmp-dir DIR          where the temporary files go [$TMPDIR or /tmp]: a\n"
            "                         private directory, removed at the end\n"
            "  --threads N            worker threads [all cores]; the result does not change\n"
            "  --batch N              documents per batch [%zu]; the result depends on it\n"
            "                         (not in spans modes: the same at any batch size)\n"
            "  -q, --quiet            no progress line and no summary\n"
            "  -v, --verbose          the summary adds links, alignments and memory\n"
            "  -h, --help             this help\n\n"
            "Near mode:\n"
            "  --ngram N              shingle length in characters (of the normalized text:\n"
            "                         no spaces or punctuation) [%d]\n"
            "  --bands N, --rows N    LSH bands x rows = permutations [%d x %d]\n"
            "  --threshold X          Jaccard threshold: pick bands and rows for it (with\n"
            "  --perms N              --perms permutations [%d]; --perms alone: X = %g)\n"
            "  --seed N               seed of the permutations [%llu]\n\n"
            "Spun mode:\n"
            "  --sketch-k N           minimizer length in tokens [%d]\n"
            "  --sketch-w N           minimizer window [%d]\n"
            "  --max-df N             minimizers in more documents are boilerplate [%u]\n"
            "  --min-shared N         candidates share at least N minimizers [%u]\n"
            "  --min-shared-frac X    ...and this share of the smaller document's [%g]\n"
            "  --max-candidates N     align at most N candidates per document [%d]\n"
            "  --min-containment X    link when aligned passages cover this share of the\n"
            "                         smaller document, boilerplate left out [%g]\n\n",
            o.batch, o.ngram, o.bands, o.rows, o.bands * o.rows, TY_DEDUP_THRESHOLD,
            (unsigned long long)o.seed, o.k, o.w, o.max_df, o.min_shared, o.min_shared_frac,
            o.max_candidates, o.min_containment);
    print_reader_help(f);
    fputs("\n", f);
    print_align_help(f);
    fputs("\nExit status: 0 done, 2 error. A summary (documents, clusters, removed, rate) goes\n"
          "to standard error at the end.\n",
          f);
}

/* What the command line says, beside the library's option structs. */
typedef struct {
    ty_dedup_opts_t o;
    ty_opts_t to;
    ty_reader_opts_t ro;
    const char *out_path, *kept_path;
    const char *against, *save_index; /* --against, --save-index */
    const char *memory;               /* --memory, as given */
    const char **paths;
    int npaths;
    int spans; /* --mode spans (1) / spans-exact (2): cli/spans.c */
    long threads;
} args_t;

/* --memory SIZE: bytes, or a number with K, M, G or T (powers of 1024; "1.5G"), at least 1M.
 * 0, or -1 with a message printed. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = 1;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end >= 'a' ? *end - 32 : *end) : NULL;
    if (u && *end) {
        for (const char *x = units; x <= u; x++)
            mul *= 1024;
        end++;
        if (*end == 'B' || *end == 'b') /* 4GB, 4G alike */
            end++;
    }
    if (end == s || *end || errno || !(v >= 0) || s[0] < '0' || s[0] > '9') {
        fprintf(stderr,
                "tongyuan: --memory %s: not a size (bytes, or a number with K, M, G or "
                "T: 512M, 4G)\n",
                s);
        return -1;
    }
    v *= mul;
    if (v < 1048576 || v > 1e18) {
        fprintf(stderr, "tongyuan: --memory %s: %s\n", s,
                v < 1048576 ? "at least 1M" : "more than any machine has");
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* argv into a and u: 0, 1 after --help (printed), -1 with a message printed */
static int parse_args(int argc, char **argv, args_t *a, ui_t *u)
{
    static const int keep[] = {TY_KEEP_FIRST, TY_KEEP_LONGEST};
    double threshold = -1;
    long perms = -1;
    int mode = -1; /* exact near spun spans spans-exact */
    ty_argdef_t reader[TY_READER_NARGS], align[TY_OPTS_NARGS], dd[TY_DEDUP_NARGS];
    ty_reader_opts_args(&a->ro, reader);
    ty_opts_args(&a->to, align);
    ty_dedup_opts_t *o = &a->o;
    ty_dedup_opts_args(o, dd);
    const ty_argdef_t defs[] = {
        TY_ARG_TABLE(reader),
        TY_ARG_TABLE(align),
        TY_ARG_TABLE(dd),
        TY_ARG_FLAG("--quiet", "-q", u->quiet, 1),
        TY_ARG_FLAG("--verbose", "-v", u->verbose, 1),
        TY_ARG_STRING("--output", "-o", a->out_path, 0),
        TY_ARG_ENUM("--mode", mode, "exact|near|spun|spans|spans-exact", NULL),
        TY_ARG_ENUM("--keep", o->keep, "first|longest", keep),
        TY_ARG_ENUM("--on-error", u->fail, "skip|fail", NULL),
        TY_ARG_STRING("--write-kept", NULL, a->kept_path, 0),
        TY_ARG_STRING("--pairs-out", NULL, u->pairs_path, 0),
        TY_ARG_STRING("--against", NULL, a->against, 0),
        TY_ARG_STRING("--save-index", NULL, a->save_index, 0),
        TY_ARG_STRING("--memory", NULL, a->memory, 0),
        TY_ARG_STRING("--tmp-dir", NULL, o->tmp_dir, 0),
        TY_ARG_INT("--threads", NULL, a->threads, 1, 1024),
        TY_ARG_INT("--perms", NULL, perms, 1, 1024),
        TY_ARG_DOUBLE("--threshold", threshold, 0.01, 0.99),
        TY_ARG_INT("--seed", NULL, o->seed, 0, 2147483647L),
        TY_ARG_END,
    };
    int rc = cli_args("dedup", defs, argc, argv, &a->paths, &a->npaths, usage);
    if (rc)
        return rc;
    if (!a->npaths) {
        usage(stderr);
        return -1;
    }
    if (mode >= 0 && mode < 3)
        o->mode = (int[]){TY_DEDUP_EXACT, TY_DEDUP_NEAR, TY_DEDUP_SPUN}[mode];
    a->spans = mode >= 3 ? mode - 2 : 0;
    /* what is not given is the library's default (0): the permutations are
     * ty_dedup_opts_init's bands x rows, whatever --bands and --rows said (they are replaced) */
    if ((threshold > 0 || perms > 0) &&
        ty_dedup_lsh_params(threshold > 0 ? threshold : 0, perms > 0 ? (int)perms : 0, &o->bands,
                            &o->rows) != TY_OK) {
        fprintf(stderr, "tongyuan: bad --threshold or --perms\n");
        return -1;
    }
    o->threads = (int)a->threads;
    o->evidence = u->pairs_path != NULL;
    if (a->memory && parse_size(a->memory, &o->memory))
        return -1;
    if (a->spans && (a->memory || o->tmp_dir)) {
        fprintf(stderr, "tongyuan: --memory and --tmp-dir are for the exact, near and spun "
                        "modes, not --mode spans (it holds its index in memory)\n");
        return -1;
    }
    /* the temporary directory is made when the budget is first passed, maybe hours in: a
     * mistyped --tmp-dir is told now */
    struct stat td;
    const char *why = NULL;
    if (o->tmp_dir && stat(o->tmp_dir, &td) != 0)
        why = strerror(errno);
    else if (o->tmp_dir && !S_ISDIR(td.st_mode))
        why = "not a directory";
    else if (o->tmp_dir && access(o->tmp_dir, W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why) {
        fprintf(stderr, "tongyuan: --tmp-dir %s: %s\n", o->tmp_dir, why);
        return -1;
    }
    char msg[256];
    if (ty_opts_check(&a->to, msg, sizeof msg) || ty_dedup_opts_check(o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return -1;
    }
    if (a->spans && (a->against || a->save_index)) {
        fprintf(stderr, "tongyuan: --against and --save-index are for the exact, near and spun "
                        "modes, not --mode spans\n");
        return -1;
    }
    for (int i = 0; i < a->npaths; i++)
        if (a->kept_path && strcmp(a->paths[i], "-") == 0) {
            fprintf(stderr, "tongyuan: --write-kept reads the input files a second time; it "
                            "cannot read standard input again (save it to a file first)\n");
            return -1;
        }
    cli_reader_from_opts(&a->ro, &a->to);
    return 0;
}

/* The reader with the inputs listed, each output checked against them (an output that is
 * one of them is refused before anything is read or written): NULL with a message printed. */
static ty_reader_t *open_inputs(const args_t *a, const ui_t *u)
{
    ty_reader_t *rd = ty_reader_new(&a->ro);
    if (!rd) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return NULL;
    }
    for (int i = 0; i < a->npaths; i++)
        if (ty_reader_add(rd, a->paths[i]) != TY_OK) {
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_reader_errmsg(rd)));
            ty_reader_free(rd);
            return NULL;
        }
    cli_files_t files = {0};
    int bad = (a->out_path && cli_files_check_output(&files, "-o", a->out_path, rd)) ||
              (u->pairs_path && cli_files_check_output(&files, "--pairs-out", u->pairs_path, rd)) ||
              (a->kept_path && cli_files_check_output(&files, "--write-kept", a->kept_path, rd));
    cli_files_free(&files);
    if (bad) {
        ty_reader_free(rd);
        return NULL;
    }
    for (size_t i = 0; !u->quiet && ty_reader_note(rd, i); i++)
        fprintf(stderr, "tongyuan: %s\n", ty_reader_note(rd, i));
    return rd;
}

/* The pipeline's state: step 0's (the reader's) and step 1's (this thread's). */
typedef struct {
    ty_reader_t *rd;
    int ended, oom;  /* step 0: the input has ended; a chunk could not be made */
    atomic_int stop; /* step 1: an error, read no more */
    ui_t *u;
    int status;
    size_t *docs;
    uint64_t *bytes;
    double t0, last;
} feed_t;

/* One record of a chunk into u->dd: 0, or EXIT_ERROR (with its message printed). */
static int feed_one(feed_t *f, const chunk_t *c, const frec_t *r)
{
    ui_t *u = f->u;
    const char *b = c->blob;
    if (r->rc < 0) {
        u->errors++;
        if (u->errors <= MAX_SHOWN_ERRORS || u->fail) {
            clear_line(u);
            fprintf(stderr, "tongyuan: %s%s\n", cli_flags(b + r->name),
                    u->fail ? "" : " (skipped)");
        } else if (u->errors == MAX_SHOWN_ERRORS + 1) {
            clear_line(u);
            fprintf(stderr, "tongyuan: more records skipped; the summary counts them\n");
        }
        return u->fail ? EXIT_ERROR : 0;
    }
    ty_record_t rec = {.name = b + r->name,
                       .text = b + r->text,
                       .len = r->len,
                       .origin = b + r->origin,
                       .line = r->line};
    if (remember(u, &rec)) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return EXIT_ERROR;
    }
    ++*f->docs;
    *f->bytes += rec.len;
    int rc = ty_dedup_add(u->dd, rec.name, rec.text, rec.len);
    if (rc) {
        /* a document error that --on-error fail stopped at was printed already */
        if (!u->fail || rc == TY_ENOMEM || rc == TY_EINVAL)
            fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_dedup_errmsg(u->dd)));
        return EXIT_ERROR;
    }
    if (u->tty && (*f->docs & 255) == 0) {
        double t = cli_now();
        if (t - f->last >= 0.2) {
            draw(u, c->pos, c->size, *f->docs, t - f->t0);
            f->last = t;
        }
    }
    return 0;
}

static void *feed_step(void *shared, int step, void *in)
{
    feed_t *f = shared;
    if (step == 0) { /* the reader */
        if (f->ended || atomic_load(&f->stop))
            return NULL;
        chunk_t *c = read_chunk(f->rd);
        f->oom = !c;
        f->ended = !c || c->end;
        return c;
    }
    if (step == 1) { /* this thread: a chunk that comes after an error is only freed */
        chunk_t *c = in;
        for (size_t i = 0; i < c->n && !f->status; i++)
            f->status = feed_one(f, c, &c->r[i]);
        if (f->status)
            atomic_store(&f->stop, 1);
        chunk_free(c);
    }
    return NULL;
}

/* Read every document into u->dd (the progress line on a terminal): 0 or EXIT_ERROR. */
static int feed_all(ui_t *u, ty_reader_t *rd, int threaded, size_t *docs, uint64_t *bytes,
                    double t0)
{
    feed_t f = {.rd = rd, .u = u, .docs = docs, .bytes = bytes, .t0 = t0, .last = t0};
    atomic_init(&f.stop, 0);
    if (ty_pipeline(threaded ? 1 : 0, feed_step, &f, 2) || (f.oom && !f.status)) {
        fprintf(stderr, "tongyuan: out of memory\n");
        f.status = EXIT_ERROR;
    }
    int status = f.status;
    if (!status) {
        int rc = ty_dedup_finish(u->dd);
        if (rc) {
            if (!u->fail || rc == TY_ENOMEM || rc == TY_EINVAL)
                fprintf(stderr, "tongyuan: %s\n", cli_flags(ty_dedup_errmsg(u->dd)));
            status = EXIT_ERROR;
        }
    }
    clear_line(u);
    return status;
}

/* The decisions, one JSON line per document in input order. */
static void write_decisions(ui_t *u, FILE *f)
{
    ty_buf_t b = {0};
    size_t n = ty_dedup_count(u->dd);
    for (size_t i = u->old; i < n; i++) { /* --against: this run's documents */
        ty_dedup_result_t res;
        if (ty_dedup_result(u->dd, i, &res) != TY_OK || res.err)
            continue;
        ty_buf_puts(&b, "{\"id\":");
        put_json_name(&b, ty_dedup_name(u->dd, i));
        ty_buf_printf(&b, ",\"cluster\":%zu,\"keep\":%s,\"dup_of\":", res.cluster,
                      res.keep ? "true" : "false");
        if (res.keep) {
            ty_buf_puts(&b, "null,\"similarity\":null,\"containment\":null}\n");
        } else {
            put_json_name(&b, ty_dedup_name(u->dd, res.dup_of));
            ty_buf_printf(&b, ",\"similarity\":%.4f,\"containment\":%.4f}\n", res.similarity,
                          res.containment);
        }
        if (b.len >= (1 << 16)) {
            cli_buf_write(&b, f);
            b.len = 0;
        }
    }
    if (b.len)
        cli_buf_write(&b, f);
    ty_buf_free(&b);
}

/* The outputs of one process: decisions, --pairs-out (written as links are made) and
 * --write-kept, all to temporary files renamed into place only when every one was written.
 * Returns the exit status. */
static int dedup_here(const args_t *a, ui_t *u, ty_reader_t *rd)
{
    const ty_dedup_opts_t *o = &a->o;
    u->dd = ty_dedup_new(o, &a->to, on_event, u);
    u->to = &a->to;
    if (!u->dd) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return EXIT_ERROR;
    }
    cli_tmp_watch_dir(ty_dedup_tmp_dir(u->dd)); /* removed on a signal too */
    if (u->verbose) {
        ty_dedup_stats_t st;
        ty_dedup_stats(u->dd, &st);
        fprintf(stderr, "dedup: memory budget %.0f MB (%s), temporary files in %s\n",
                (double)st.mem_budget / 1048576.0,
                o->memory ? "--memory" : "half of the machine's memory",
                o->tmp_dir         ? o->tmp_dir
                : getenv("TMPDIR") ? getenv("TMPDIR")
                                   : "/tmp");
    }
    if (o->mode == TY_DEDUP_NEAR) /* near mode's estimate: minhash.c, ty__near_estimate */
        snprintf(u->estimate, sizeof u->estimate,
                 "\"estimate\":\"minhash-mle\",\"shingles\":\"char-%d\",\"perms\":%d", o->ngram,
                 o->bands * o->rows);
    else
        snprintf(u->estimate, sizeof u->estimate, "\"estimate\":\"%s\"",
                 o->mode == TY_DEDUP_EXACT ? "exact" : "alignment");
    int status = 0, state_slot = -1;
    if ((a->against || a->save_index) && open_state(u, a->against, a->save_index, &a->to))
        status = EXIT_ERROR;
    char *state_tmp = NULL; /* written by ty_dedup_finish(): removed if a signal stops us */
    if (!status && a->save_index && (state_tmp = malloc(strlen(a->save_index) + 24)) != NULL) {
        sprintf(state_tmp, "%s/dedup.state.tmp", a->save_index);
        state_slot = cli_tmp_watch(state_tmp);
    }
    cli_out_t out = {0}, pairs = {0}, kept = {0};
    if (!status && cli_out_open(&out, "-o", a->out_path ? a->out_path : "-"))
        status = EXIT_ERROR;
    if (!status && u->pairs_path) {
        if (cli_out_open(&pairs, "--pairs-out", u->pairs_path))
            status = EXIT_ERROR;
        u->pairs = pairs.f;
    }
    u->tty = !u->quiet && isatty(STDERR_FILENO);
    double t0 = cli_now();
    size_t docs = 0;
    uint64_t bytes = 0;
    if (!status)
        status = feed_all(u, rd, a->threads > 1, &docs, &bytes, t0);
    double secs = cli_now() - t0;
    if (!status)
        write_decisions(u, out.f);
    if (!status && u->pairs_failed) {
        fprintf(stderr, "tongyuan: --pairs-out %s: write error\n", u->pairs_path);
        status = EXIT_ERROR;
    }
    if (!status && a->kept_path &&
        (cli_out_open(&kept, "--write-kept", a->kept_path) || write_kept(u, &a->ro, kept.f)))
        status = EXIT_ERROR;
    if (!status && (cli_out_close(&pairs) || cli_out_close(&kept) || cli_out_close(&out)))
        status = EXIT_ERROR;
    cli_out_abort(&pairs);
    cli_out_abort(&kept);
    cli_out_abort(&out);
    /* the state last: outputs without it are made again by the same run; a state without
     * them would make this run's documents copies of themselves */
    if (!status && a->save_index && ty_dedup_commit_state(u->dd) != TY_OK) {
        fprintf(stderr,
                "tongyuan: --save-index: %s (the outputs are written; %s holds the "
                "state it had before this run)\n",
                ty_dedup_errmsg(u->dd), a->save_index);
        status = EXIT_ERROR;
    }
    cli_tmp_unwatch(state_slot);
    free(state_tmp);
    if (!status && !u->quiet) {
        ty_dedup_stats_t st;
        ty_dedup_stats(u->dd, &st);
        if (a->against)
            against_summary(u, secs, docs, bytes);
        else
            cli_dedup_summary(&st, u->errors, secs, docs, bytes);
        if (u->verbose)
            fprintf(stderr,
                    "dedup: %zu links, %zu candidate pairs aligned, %zu documents indexed, "
                    "%zu minimizers (%zu boilerplate, %zu in runs on disk), about %.0f MB held; "
                    "%zu batches passed the budget, %.0f MB written to disk, %zu runs merged, "
                    "at most %.0f MB on disk at once\n",
                    st.links, st.candidates, st.indexed, st.minimizers, st.frequent, st.mz_disk,
                    (double)st.mem_bytes / 1e6, st.spills, (double)st.disk_bytes / 1e6, st.merges,
                    (double)st.disk_peak / 1e6);
    }
    return status;
}

/* --mode spans / spans-exact: passage-level cleaning (cli/spans.c) */
static int dedup_spans(const args_t *a, const ui_t *u, ty_reader_t *rd)
{
    ty_spans_opts_t so;
    ty_spans_opts_init(&so);
    so.exact = a->spans == 2;
    if (so.exact)
        so.min_shared = 1;
    so.threads = (int)a->threads;
    ty_dedup_opts_t d; /* --batch given: documents per batch (spans output ignores it) */
    ty_dedup_opts_init(&d);
    if (a->o.batch != d.batch)
        so.batch = a->o.batch < 65536 ? (int)a->o.batch : 65536;
    cli_spans_args_t sa = {&so,      &a->to,     rd,      a->out_path, a->kept_path,
                           u->quiet, u->verbose, u->fail, NULL};
    int st = -1;
#ifdef TY_MPI
    if (cli_mpi_ranks() > 1) /* every rank reads all of rd; cli/mpi.c (-1: here alone) */
        st = cli_mpi_spans(&sa, (char **)a->paths, a->npaths);
#endif
    return st < 0 ? cli_dedup_spans(&sa) : st;
}

int cmd_dedup(int argc, char **argv)
{
    args_t a;
    memset(&a, 0, sizeof a);
    ty_dedup_opts_init(&a.o);
    ty_opts_init(&a.to);
    ty_reader_opts_init(&a.ro);
    a.threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (a.threads < 1)
        a.threads = 1;
    ui_t u;
    memset(&u, 0, sizeof u);
    int st = parse_args(argc, argv, &a, &u);
    ty_reader_t *rd = st == 0 ? open_inputs(&a, &u) : NULL;
    if (st != 0 || !rd) {
        free(a.paths);
        return st == 1 ? 0 : EXIT_ERROR;
    }
    st = -1;
#ifdef TY_MPI
    if ((a.o.memory || a.o.tmp_dir) && cli_mpi_ranks() > 1) {
        fprintf(stderr, "tongyuan: dedup --memory and --tmp-dir run in one process only (each "
                        "MPI rank holds its share in memory): run them without mpirun\n");
        st = EXIT_ERROR;
    } else if (!a.spans && cli_mpi_ranks() > 1) {
        /* one rank of an mpirun / srun job with several ranks: cli/mpi.c (-1: run here alone) */
        cli_mpi_dedup_t ma = {&a.o,       &a.to,       &a.ro,        (char **)a.paths, a.npaths,
                              a.out_path, a.kept_path, u.pairs_path, a.against,        a.save_index,
                              u.quiet,    u.verbose,   u.fail};
        st = cli_mpi_dedup(&ma);
    }
#endif
    if (st < 0)
        st = a.spans ? dedup_spans(&a, &u, rd) : dedup_here(&a, &u, rd);
    ty_dedup_free(u.dd);
    ty_reader_free(rd);
    for (size_t i = 0; i < u.norigins; i++)
        free(u.origins[i]);
    free(u.origins);
    free(u.where);
    ty_buf_free(&u.pb);
    free(a.paths);
    return st;
}
