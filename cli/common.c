/*
 * common.c — option parsing and messages, output buffers, progress lines shared by the
 * subcommands. Output is built in memory per document pair so that parallel workers can hand
 * finished pieces to the writer in input order.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void style_init(ty_report_style_t *st, FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    st->color = isatty(fileno(f)) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
    st->full = 0;
}

int cli_args(const char *cmd, const ty_argdef_t *defs, int argc, char **argv, const char ***pos,
             int *npos, void (*usage)(FILE *))
{
    int help = 0;
    const ty_argdef_t all[] = {TY_ARG_TABLE(defs), TY_ARG_HELP(help), TY_ARG_END};
    char msg[512];
    *npos = 0;
    *pos = calloc((size_t)argc + 1, sizeof(char *));
    int rc = *pos ? ty_args_parse(all, argc, argv, *pos, npos, msg, sizeof msg) : TY_ENOMEM;
    if (rc == TY_OK && !help)
        return 0;
    free(*pos);
    *pos = NULL;
    if (help) {
        usage(stdout);
        return 1;
    }
    if (rc == TY_ENOMEM)
        fprintf(stderr, "tongyuan: out of memory\n");
    else
        fprintf(stderr, "tongyuan %s: %s%s%s%s\n", cmd, msg,
                rc == TY_ENOTFOUND ? " (see tongyuan " : "", rc == TY_ENOTFOUND ? cmd : "",
                rc == TY_ENOTFOUND ? " --help)" : "");
    return -1;
}

void print_align_help(FILE *f)
{
    ty_buf_t b = {0};
    if (ty_opts_help(&b) == TY_OK)
        fwrite(b.data, 1, b.len, f);
    ty_buf_free(&b);
}

void cli_buf_write(const ty_buf_t *b, FILE *f)
{
    if (b->err) {
        fflush(stdout);
        fputs("tongyuan: out of memory\n", stderr);
        exit(EXIT_ERROR);
    }
    if (b->len)
        fwrite(b->data, 1, b->len, f);
}

int cli_write_html(FILE *f, const ty_doc_t *sus, const ty_report_source_t *s, size_t ns)
{
    ty_buf_t b = {0};
    int bad = ty_report_html(&b, sus, s, ns) != TY_OK || fwrite(b.data, 1, b.len, f) != b.len;
    ty_buf_free(&b);
    return bad ? -1 : 0;
}

static void fmt_time(char *b, size_t n, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(b, n, "--:--");
    else if (s < 3600)
        snprintf(b, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(b, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

void cli_progress(uint64_t pos, uint64_t size, double secs, char bar[40], char el[16], char eta[32])
{
    bar[0] = eta[0] = 0;
    fmt_time(el, 16, secs);
    if (!size)
        return;
    double f = (double)pos / (double)size;
    if (f > 1)
        f = 1;
    int w = 20, fill = (int)(f * w + 0.5);
    bar[0] = '[';
    for (int i = 0; i < w; i++)
        bar[1 + i] = i < fill ? '#' : '.';
    snprintf(bar + 1 + w, 40 - 1 - (size_t)w, "] %3.0f%% ", 100 * f);
    char e[16];
    fmt_time(e, sizeof e, f > 0.001 ? secs * (1 - f) / f : -1);
    snprintf(eta, 32, "  ETA %s", e);
}

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void cli_put_tsv(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\t')
            fputs("\\t", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            putc(c, f);
    }
}

/* The library names the option fields in its messages (src/doc.c, encoding.c, input.c); the
 * command line's name for each, in the form the messages use them. */
static const char *const FIELD_FLAGS[][2] = {
    {"(max_doc_bytes)", "(--max-size)"},
    {"(encoding)", "(--encoding)"},
    {"encoding=", "--encoding "},
    {"utf8_mode=TY_UTF8_REPLACE", "--invalid-utf8 replace"},
    {"use text_field", "use --text-field"},
    {"(tmp_dir)", "(--tmp-dir)"},
    {"max_df_frac must", "--max-df-frac must"},
};

const char *cli_flags(const char *msg)
{
    static _Thread_local char buf[2048];
    size_t nf = sizeof FIELD_FLAGS / sizeof FIELD_FLAGS[0], o = 0;
    size_t f = 0;
    while (f < nf && !strstr(msg, FIELD_FLAGS[f][0]))
        f++;
    if (f == nf)
        return msg; /* nothing to translate: most messages */
    for (const char *p = msg; *p && o + 1 < sizeof buf;) {
        for (f = 0; f < nf; f++) {
            size_t l = strlen(FIELD_FLAGS[f][0]);
            if (strncmp(p, FIELD_FLAGS[f][0], l) == 0)
                break;
        }
        if (f == nf) {
            buf[o++] = *p++;
            continue;
        }
        size_t n = strlen(FIELD_FLAGS[f][1]);
        if (o + n >= sizeof buf)
            break;
        memcpy(buf + o, FIELD_FLAGS[f][1], n);
        o += n;
        p += strlen(FIELD_FLAGS[f][0]);
    }
    buf[o] = 0;
    return buf;
}

const char *cli_msg_at(const char *msg, const char *name, const char *path)
{
    static _Thread_local char buf[1024];
    size_t n = strlen(name);
    if (!path || strcmp(name, path) == 0 || strncmp(msg, name, n) != 0 || msg[n] != ':')
        return msg;
    snprintf(buf, sizeof buf, "%s%s", path, msg + n);
    return buf;
}

void cli_dedup_summary(const ty_dedup_stats_t *st, size_t skipped, double secs, size_t docs,
                       uint64_t bytes)
{
    double t = secs > 1e-6 ? secs : 1e-6;
    size_t ok = st->docs - st->errors;
    fprintf(stderr,
            "dedup: %zu documents, %zu clusters, %zu removed (%.2f%%), %zu skipped; "
            "%.1f s, %.0f docs/s, %.1f MB/s\n",
            ok, st->clusters, st->removed, ok ? 100.0 * (double)st->removed / (double)ok : 0.0,
            skipped, secs, (double)docs / t, (double)bytes / 1e6 / t);
}

void cli_against_summary(size_t ok, size_t old, size_t removed, size_t of_old, size_t skipped,
                         double secs, size_t docs, uint64_t bytes)
{
    double t = secs > 1e-6 ? secs : 1e-6;
    fprintf(stderr,
            "dedup: %zu documents against %zu earlier ones, %zu removed (%.2f%%: %zu copies of "
            "earlier documents), %zu skipped; %.1f s, %.0f docs/s, %.1f MB/s\n",
            ok, old, removed, ok ? 100.0 * (double)removed / (double)ok : 0.0, of_old, skipped,
            secs, (double)docs / t, (double)bytes / 1e6 / t);
}

int cli_state_guard(const char *save, const char *against)
{
    struct stat ss, as;
    size_t n = strlen(save) + 16;
    char *f = malloc(n);
    if (f)
        snprintf(f, n, "%s/dedup.state", save);
    int exists = f && stat(f, &ss) == 0;
    free(f);
    if (exists && !(against && stat(save, &ss) == 0 && stat(against, &as) == 0 &&
                    ss.st_dev == as.st_dev && ss.st_ino == as.st_ino)) {
        fprintf(stderr,
                "tongyuan: --save-index %s: it holds the state of an earlier run, which this "
                "run does not continue: add --against %s to go on from it, or remove "
                "%s/dedup.state to start over\n",
                save, save, save);
        return -1;
    }
    return 0;
}

void print_formats_help(FILE *f, int corpus)
{
    fputs("Formats, from the content (the name's extension as a hint; --input-format forces\n"
          "one): text in UTF-8 or another charset (GB18030/GBK, Big5, UTF-16 with or without\n"
          "BOM, Shift_JIS, EUC-KR ...: detected, or --encoding); HTML (.html .htm: the\n"
          "article's text and title, without menus, navigation and footers); Word .docx and\n"
          "OpenDocument .odt (paragraphs, tables, footnotes); PDF (text in reading order,\n"
          "pages kept: reports say \"page 3\").\n",
          f);
    if (corpus)
        fputs("WARC and WET crawls (.warc, .warc.gz): one document per HTML or text record,\n"
              "named by its URI. An extracted file without text is skipped with a warning\n"
              "and counted.\n",
              f);
    fputs("Offsets are into the decoded or extracted text (tongyuan extract FILE prints it);\n"
          "for text in another charset, *_file_off/*_file_len give bytes of the original.\n",
          f);
}

void cli_reader_from_opts(ty_reader_opts_t *ro, const ty_opts_t *o)
{
    ro->format = o->input_format;
    ro->encoding = o->encoding;
    ro->utf8_mode = o->utf8_mode;
    ro->max_doc_bytes = o->max_doc_bytes;
}

int cli_opts_ready(const ty_opts_t *o, ty_reader_opts_t *ro)
{
    char msg[256];
    if (ty_opts_check(o, msg, sizeof msg)) {
        fprintf(stderr, "tongyuan: %s\n", msg);
        return -1;
    }
    cli_reader_from_opts(ro, o);
    return 0;
}
