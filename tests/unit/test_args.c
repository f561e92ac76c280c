/*
 * test_args.c — the command-line option tables (args.c): "--opt=value" and "--opt value",
 * "--" ending the options, positional arguments, every kind of value with its range and
 * message, a missing value, an unknown option with the closest known one suggested, nested
 * tables (the alignment and reader options), and the fields set as the commands use them.
 */
#include "check.h"
#include "tongyuan.h"

/* a command's variables and its table, as a command declares them */
typedef struct {
    long threads;
    int full, help, fmt, mode;
    size_t batch, max_bytes, body;
    double score;
    const char *out, *html;
    uint32_t df;
    int calls;
    const char *called_with;
    ty_argdef_t defs[16];
    const char *pos[32]; /* the positional arguments of the last parse */
    int npos;
    char msg[256]; /* its message */
} cmd_t;

static int note(void *dst, const char *v, char *msg, size_t msg_size)
{
    cmd_t *c = dst;
    if (strcmp(v, "bad") == 0) {
        snprintf(msg, msg_size, "'%s' is not a good value", v);
        return -1;
    }
    c->calls++;
    c->called_with = v;
    return 0;
}

static void cmd_init(cmd_t *c)
{
    static const int modes[] = {10, 20, 30};
    memset(c, 0, sizeof *c);
    c->threads = 4;
    c->batch = 1024;
    const ty_argdef_t t[] = {
        TY_ARG_INT("--threads", NULL, c->threads, 1, 1024),
        TY_ARG_FLAG("--full", NULL, c->full, 1),
        TY_ARG_ENUM("--format", c->fmt, "text|jsonl", NULL),
        TY_ARG_ENUM("--mode", c->mode, "exact|near|spun", modes),
        TY_ARG_INT("--batch", NULL, c->batch, 16, 1048576),
        TY_ARG_MB("--max-size", c->max_bytes, 1, 4095),
        TY_ARG_BYTES("--max-body", c->body),
        TY_ARG_DOUBLE("--min-score", c->score, 0, 1),
        TY_ARG_STRING("--output", "-o", c->out, 0),
        TY_ARG_STRING("--html", NULL, c->html, 1),
        TY_ARG_INT("--max-df", NULL, c->df, 1, 4000000000.0),
        TY_ARG_CALL("--note", c, note),
        TY_ARG_HELP(c->help),
        TY_ARG_END,
    };
    memcpy(c->defs, t, sizeof t);
}

/* parse the NULL-terminated words after the command name (pos NULL: no positional ones) */
static int parse_words(cmd_t *c, int with_pos, ...)
{
    char *argv[32] = {"cmd"};
    int argc = 1;
    va_list ap;
    va_start(ap, with_pos);
    for (const char *w; argc < 31 && (w = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)w;
    va_end(ap);
    c->npos = 0;
    c->msg[0] = 0;
    return ty_args_parse(c->defs, argc, argv, with_pos ? c->pos : NULL, &c->npos, c->msg,
                         sizeof c->msg);
}
#define P(c, ...) parse_words(c, 1, __VA_ARGS__, NULL)

static void test_values_both_ways(void)
{
    cmd_t c;
    cmd_init(&c);
    CHECK_EQ_INT(P(&c, "--threads=8", "--batch", "64", "-o", "out.jsonl", "--output=x",
                   "--format=jsonl", "--mode", "near", "--full", "--max-size=2", "--max-body", "8M",
                   "--min-score=0.25", "--max-df", "3000000000"),
                 TY_OK);
    CHECK_EQ_INT(c.threads, 8);
    CHECK_EQ_UINT(c.batch, 64);
    CHECK_EQ_STR(c.out, "x"); /* the last one given wins */
    CHECK_EQ_INT(c.fmt, 1);
    CHECK_EQ_INT(c.mode, 20);
    CHECK_EQ_INT(c.full, 1);
    CHECK_EQ_UINT(c.max_bytes, (size_t)2 << 20);
    CHECK_EQ_UINT(c.body, (size_t)8 << 20);
    CHECK_NEAR(c.score, 0.25, 1e-12);
    CHECK_EQ_UINT(c.df, 3000000000u); /* past INT_MAX: stored as the uint32_t it is */
    CHECK_EQ_INT(c.npos, 0);
    CHECK_EQ_INT(c.help, 0);
}

static void test_positional_and_dashdash(void)
{
    cmd_t c;
    cmd_init(&c);
    CHECK_EQ_INT(P(&c, "a.txt", "-", "--full", "b.txt", "--", "--threads=2", "-o"), TY_OK);
    CHECK_EQ_INT(c.npos, 5);
    CHECK_EQ_STR(c.pos[0], "a.txt");
    CHECK_EQ_STR(c.pos[1], "-"); /* standard input, not an option */
    CHECK_EQ_STR(c.pos[2], "b.txt");
    CHECK_EQ_STR(c.pos[3], "--threads=2"); /* after --: a name, not an option */
    CHECK_EQ_STR(c.pos[4], "-o");
    CHECK_EQ_INT(c.threads, 4);
    CHECK_EQ_INT(c.full, 1);
    /* a command without positional arguments refuses one */
    CHECK_EQ_INT(parse_words(&c, 0, "x", NULL), TY_EINVAL);
    CHECK_EQ_STR(c.msg, "unexpected argument 'x'");
}

/* What each refused command line gives: the code and the message (NULL: not checked). */
static const struct {
    const char *w1, *w2; /* the words (w2 NULL: one word) */
    int rc;
    const char *msg;
} REFUSED[] = {
    /* bad numbers, each kind */
    {"--threads", "x", TY_EINVAL, "--threads: expected a whole number between 1 and 1024, got 'x'"},
    {"--threads=0", NULL, TY_EINVAL,
     "--threads: expected a whole number between 1 and 1024, got '0'"},
    {"--threads=1025", NULL, TY_EINVAL, NULL},
    {"--threads=4x", NULL, TY_EINVAL, NULL},
    {"--threads=", NULL, TY_EINVAL, NULL},
    {"--threads=99999999999999999999", NULL, TY_EINVAL, NULL},
    {"--min-score=1.5", NULL, TY_EINVAL,
     "--min-score: expected a number between 0 and 1, got '1.5'"},
    {"--min-score=nan", NULL, TY_EINVAL, NULL},
    {"--max-size", "4096", TY_EINVAL,
     "--max-size: expected a whole number of megabytes between 1 and 4095, got '4096'"},
    {"--max-body=0", NULL, TY_EINVAL, "--max-body: expected a size in bytes (e.g. 8M), got '0'"},
    {"--max-body=-1K", NULL, TY_EINVAL, NULL},
    {"--max-body=2Q", NULL, TY_EINVAL, NULL},
    /* names, strings, flags, calls */
    {"--format=json", NULL, TY_EINVAL, "--format: expected text or jsonl, got 'json'"},
    {"--mode", "fuzzy", TY_EINVAL, "--mode: expected exact, near or spun, got 'fuzzy'"},
    {"--html=", NULL, TY_EINVAL, "--html: needs a value, got ''"},
    {"--note=bad", NULL, TY_EINVAL, "--note: 'bad' is not a good value"},
    {"--full=yes", NULL, TY_EINVAL, "--full: takes no value, got 'yes'"},
    /* a missing value */
    {"a", "--threads", TY_EINVAL, "--threads: needs a value"},
    {"-o", NULL, TY_EINVAL, "-o: needs a value"},
    /* unknown options: the closest known one, by edits or as the start of it */
    {"--thread", "3", TY_ENOTFOUND, "unknown option '--thread'; did you mean --threads?"},
    {"--fromat=jsonl", NULL, TY_ENOTFOUND,
     "unknown option '--fromat=jsonl'; did you mean --format?"},
    {"--maxsize=3", NULL, TY_ENOTFOUND, "unknown option '--maxsize=3'; did you mean --max-size?"},
    {"--min-sc", NULL, TY_ENOTFOUND, "unknown option '--min-sc'; did you mean --min-score?"},
    {"--verbose", NULL, TY_ENOTFOUND, "unknown option '--verbose'"}, /* nothing close */
    {"-q", NULL, TY_ENOTFOUND, "unknown option '-q'"},
    /* an option that only starts like a known one is not that one */
    {"--threadsx=2", NULL, TY_ENOTFOUND, NULL},
};

static void test_refused(void)
{
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        cmd_t c;
        cmd_init(&c);
        int rc = P(&c, REFUSED[i].w1, REFUSED[i].w2);
        CHECKF(rc == REFUSED[i].rc, "%s %s: %d, not %d", REFUSED[i].w1,
               REFUSED[i].w2 ? REFUSED[i].w2 : "", rc, REFUSED[i].rc);
        if (REFUSED[i].msg)
            CHECK_EQ_STR(c.msg, REFUSED[i].msg);
        CHECK_EQ_INT(c.threads, 4); /* untouched by the bad values */
    }
}

static void test_values_in_edge_forms(void)
{
    cmd_t c;
    cmd_init(&c);
    CHECK_EQ_INT(P(&c, "--max-body=3k"), TY_OK);
    CHECK_EQ_UINT(c.body, 3072);
    CHECK_EQ_INT(P(&c, "--output="), TY_OK); /* may be "" */
    CHECK_EQ_STR(c.out, "");
    CHECK_EQ_INT(P(&c, "--note", "a", "--note=b"), TY_OK);
    CHECK_EQ_INT(c.calls, 2); /* called for each, in order */
    CHECK_EQ_STR(c.called_with, "b");
    /* the next argument is the value, whatever it looks like */
    CHECK_EQ_INT(P(&c, "-o", "--full"), TY_OK);
    CHECK_EQ_STR(c.out, "--full");
    CHECK_EQ_INT(c.full, 0);
}

static void test_help_stops(void)
{
    cmd_t c;
    cmd_init(&c);
    /* --help ends parsing: what follows is not read (nor refused) */
    CHECK_EQ_INT(P(&c, "--full", "-h", "--bogus"), TY_OK);
    CHECK_EQ_INT(c.help, 1);
    CHECK_EQ_INT(c.full, 1);
    cmd_init(&c);
    CHECK_EQ_INT(P(&c, "--bogus", "--help"), TY_ENOTFOUND);
    CHECK_EQ_INT(c.help, 0);
}

static void test_library_tables(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_reader_opts_t ro;
    ty_reader_opts_init(&ro);
    ty_argdef_t align[TY_OPTS_NARGS], reader[TY_READER_NARGS];
    ty_opts_args(&o, align);
    ty_reader_opts_args(&ro, reader);
    long threads = 1;
    cmd_t c;
    memset(&c, 0, sizeof c);
    const ty_argdef_t defs[] = {TY_ARG_TABLE(reader), TY_ARG_TABLE(align),
                                TY_ARG_INT("--threads", NULL, threads, 1, 64), TY_ARG_END};
    memcpy(c.defs, defs, sizeof defs);
    CHECK_EQ_INT(P(&c, "-k", "6", "--min-score=0.5", "--max-size", "3", "--encoding=gb18030",
                   "--invalid-utf8", "replace", "--input-format=htm", "--text-field", "body",
                   "--stdin-format=text", "--threads=2", "doc.txt"),
                 TY_OK);
    CHECK_EQ_STR(c.msg, "");
    CHECK_EQ_INT(o.k, 6);
    CHECK_NEAR(o.min_score, 0.5, 1e-12);
    CHECK_EQ_UINT(o.max_doc_bytes, (size_t)3 << 20);
    CHECK_EQ_STR(o.encoding, "gb18030");
    CHECK_EQ_INT(o.utf8_mode, TY_UTF8_REPLACE);
    CHECK_EQ_INT(o.input_format, TY_FORMAT_HTML);
    CHECK_EQ_STR(ro.text_field, "body");
    CHECK_EQ_INT(ro.stdin_format, TY_STDIN_TEXT);
    CHECK_EQ_INT(threads, 2);
    CHECK_EQ_INT(c.npos, 1);
    CHECK(ty_args_find(defs, "--max-size") != NULL);
    CHECK(ty_args_find(defs, "--max-size=3") == NULL);
    CHECK(ty_args_find(defs, "--nothing") == NULL);
    CHECK_EQ_INT(P(&c, "--input-format", "doc"), TY_EINVAL);
    CHECK_EQ_STR(c.msg, "--input-format: expected auto, text, html, docx, odt, pdf, warc or jsonl, "
                        "got 'doc'");
    CHECK_EQ_INT(P(&c, "-k", "17"), TY_EINVAL);
    CHECK_EQ_STR(c.msg, "-k: expected a whole number between 2 and 16, got '17'");
    CHECK_EQ_INT(P(&c, "--invalid-utf", "replace"), TY_ENOTFOUND);
    CHECK_EQ_STR(c.msg, "unknown option '--invalid-utf'; did you mean --invalid-utf8?");
}

/* every numeric option of a library table takes the ends of its range from the command line,
 * and the library's own check refuses one step past either end set directly: the ranges
 * are one (the rows of args.c, dedup.c, search.c), the command line and the library cannot
 * differ. s is the options struct, check its *_opts_check. */
typedef int (*check_fn)(const void *o, char *msg, size_t msg_size);
static void ranges_agree(const char *what, const ty_argdef_t *defs, void *s, size_t size,
                         check_fn check)
{
    unsigned char saved[512];
    CHECK(size <= sizeof saved);
    memcpy(saved, s, size);
    int tried = 0;
    for (const ty_argdef_t *d = defs; d->kind != TY_ARGK_END; d++) {
        if (d->kind != TY_ARGK_INT && d->kind != TY_ARGK_DOUBLE && d->kind != TY_ARGK_MB)
            continue;
        tried++;
        double ends[2] = {d->lo, d->hi};
        for (int e = 0; e < 2; e++) {
            char val[64], *argv[] = {"cmd", (char *)d->name, val}, msg[256] = "";
            int np = 0;
            snprintf(val, sizeof val, d->kind == TY_ARGK_DOUBLE ? "%.17g" : "%.0f", ends[e]);
            ty_argdef_t one[] = {*d, TY_ARG_END};
            CHECK_EQ_INT(ty_args_parse(one, 3, argv, NULL, &np, msg, sizeof msg), TY_OK);
            int rc = check(s, msg, sizeof msg);
            ck_report(rc == TY_OK, __FILE__, __LINE__, "%s %s %s: the library refuses it: %s", what,
                      d->name, val, msg);
            memcpy(s, saved, size);
            /* one step past the end, as a caller of the library might set it */
            double past = ends[e] + (e ? 1 : -1) * (d->kind == TY_ARGK_DOUBLE ? 1e-6 : 1);
            if (d->kind == TY_ARGK_MB)
                past = (ends[e] + (e ? 1 : -1)) * 1048576.0;
            if (past < 0)
                continue; /* an unsigned field cannot hold it */
            if (d->kind == TY_ARGK_DOUBLE)
                memcpy(d->dst, &past, sizeof past);
            else if (d->size == 4) {
                uint32_t x = (uint32_t)(int64_t)past;
                memcpy(d->dst, &x, 4);
            } else {
                uint64_t x = (uint64_t)(int64_t)past;
                memcpy(d->dst, &x, 8);
            }
            rc = check(s, msg, sizeof msg);
            ck_report(rc == TY_EINVAL, __FILE__, __LINE__,
                      "%s %s: %.17g is accepted by the library", what, d->name, past);
            memcpy(s, saved, size);
        }
    }
    CHECK(tried >= 7);
}

static int opts_check(const void *o, char *m, size_t n) { return ty_opts_check(o, m, n); }
static int dedup_check(const void *o, char *m, size_t n) { return ty_dedup_opts_check(o, m, n); }
static int query_check(const void *o, char *m, size_t n) { return ty_query_opts_check(o, m, n); }

static void test_ranges_agree(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_argdef_t a[TY_OPTS_NARGS];
    ty_opts_args(&o, a);
    ranges_agree("align", a, &o, sizeof o, opts_check);
    ty_dedup_opts_t d;
    ty_dedup_opts_init(&d);
    d.bands = d.rows = 1; /* bands x rows stays within 1024 while one of them moves */
    ty_argdef_t dd[TY_DEDUP_NARGS];
    ty_dedup_opts_args(&d, dd);
    ranges_agree("dedup", dd, &d, sizeof d, dedup_check);
    ty_query_opts_t q;
    ty_query_opts_init(&q);
    ty_argdef_t qa[TY_QUERY_NARGS];
    ty_query_opts_args(&q, qa);
    CHECK(ty_args_find(qa, "--max-df-frac") != NULL);
    /* --max-df-frac 1 is refused by the library's own rule (below 1), past the table's */
    q.max_df_frac = 1;
    char msg[128];
    CHECK_EQ_INT(ty_query_opts_check(&q, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "max_df_frac must be below 1");
    /* the defaults are the rows': the help texts print them */
    ty_query_opts_init(&q);
    q.max_sources = 0; /* the range's message names the field and both ends */
    CHECK_EQ_INT(ty_query_opts_check(&q, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "max_sources must be between 1 and 1000000");
    ty_query_opts_init(&q);
    CHECK_EQ_UINT(q.max_sources, 20);
    CHECK_EQ_UINT(q.min_df_cut, 50);
    CHECK_EQ_UINT(d.max_df, 32);
    CHECK_EQ_UINT(o.max_doc_bytes, (size_t)64 << 20);
    CHECK_NEAR(o.gap_cost, 0.4, 1e-12);
}

static void test_small_msg_buffer(void)
{
    cmd_t c;
    cmd_init(&c);
    char *argv[] = {"cmd", "--threads", "xxxxxxxxxxxxxxxx"}, msg[16];
    CHECK_EQ_INT(ty_args_parse(c.defs, 3, argv, c.pos, &c.npos, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "--threads: expe"); /* cut, still a string */
}

int main(void)
{
    RUN(test_values_both_ways);
    RUN(test_positional_and_dashdash);
    RUN(test_refused);
    RUN(test_values_in_edge_forms);
    RUN(test_help_stops);
    RUN(test_library_tables);
    RUN(test_ranges_agree);
    RUN(test_small_msg_buffer);
    return ck_summary("test_args");
}
