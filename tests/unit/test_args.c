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

/* parse the NULL-terminated words after the command name */
static int parse(cmd_t *c, const char **pos, int *npos, char *msg, size_t n, ...)
{
    char *argv[32] = {"cmd"};
    int argc = 1;
    va_list ap;
    va_start(ap, n);
    for (const char *w; argc < 31 && (w = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)w;
    va_end(ap);
    *npos = 0;
    msg[0] = 0;
    return ty_args_parse(c->defs, argc, argv, pos, npos, msg, n);
}

static void test_values_both_ways(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=8", "--batch", "64", "-o",
                       "out.jsonl", "--output=x", "--format=jsonl", "--mode", "near", "--full",
                       "--max-size=2", "--max-body", "8M", "--min-score=0.25", "--max-df",
                       "3000000000", NULL),
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
    CHECK_EQ_INT(np, 0);
    CHECK_EQ_INT(c.help, 0);
}

static void test_positional_and_dashdash(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "a.txt", "-", "--full", "b.txt", "--",
                       "--threads=2", "-o", NULL),
                 TY_OK);
    CHECK_EQ_INT(np, 5);
    CHECK_EQ_STR(pos[0], "a.txt");
    CHECK_EQ_STR(pos[1], "-"); /* standard input, not an option */
    CHECK_EQ_STR(pos[2], "b.txt");
    CHECK_EQ_STR(pos[3], "--threads=2"); /* after --: a name, not an option */
    CHECK_EQ_STR(pos[4], "-o");
    CHECK_EQ_INT(c.threads, 4);
    CHECK_EQ_INT(c.full, 1);
    /* a command without positional arguments refuses one */
    CHECK_EQ_INT(parse(&c, NULL, &np, msg, sizeof msg, "x", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "unexpected argument 'x'");
}

static void test_bad_numbers(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads", "x", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--threads: expected a whole number between 1 and 1024, got 'x'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=0", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--threads: expected a whole number between 1 and 1024, got '0'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=1025", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=4x", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads=99999999999999999999", NULL),
                 TY_EINVAL);
    CHECK_EQ_INT(c.threads, 4); /* untouched by the bad values */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--min-score=1.5", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--min-score: expected a number between 0 and 1, got '1.5'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--min-score=nan", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--max-size", "4096", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg,
                 "--max-size: expected a whole number of megabytes between 1 and 4095, got '4096'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--max-body=0", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--max-body: expected a size in bytes (e.g. 8M), got '0'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--max-body=-1K", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--max-body=2Q", NULL), TY_EINVAL);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--max-body=3k", NULL), TY_OK);
    CHECK_EQ_UINT(c.body, 3072);
}

static void test_enums_strings_calls(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--format=json", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--format: expected text or jsonl, got 'json'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--mode", "fuzzy", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--mode: expected exact, near or spun, got 'fuzzy'");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--html=", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--html: needs a value, got ''");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--output=", NULL), TY_OK); /* may be "" */
    CHECK_EQ_STR(c.out, "");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--note", "a", "--note=b", NULL), TY_OK);
    CHECK_EQ_INT(c.calls, 2); /* called for each, in order */
    CHECK_EQ_STR(c.called_with, "b");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--note=bad", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--note: 'bad' is not a good value");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--full=yes", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--full: takes no value, got 'yes'");
}

static void test_missing_value(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "a", "--threads", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "--threads: needs a value");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "-o", NULL), TY_EINVAL);
    CHECK_EQ_STR(msg, "-o: needs a value");
    /* the next argument is the value, whatever it looks like */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "-o", "--full", NULL), TY_OK);
    CHECK_EQ_STR(c.out, "--full");
    CHECK_EQ_INT(c.full, 0);
}

static void test_unknown_suggests(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--thread", "3", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--thread'; did you mean --threads?");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--fromat=jsonl", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--fromat=jsonl'; did you mean --format?");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--maxsize=3", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--maxsize=3'; did you mean --max-size?");
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--min-sc", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--min-sc'; did you mean --min-score?"); /* a prefix */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--verbose", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--verbose'"); /* nothing close */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "-q", NULL), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '-q'");
    /* an option that only starts like a known one is not that one */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threadsx=2", NULL), TY_ENOTFOUND);
}

static void test_help_stops(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[256];
    /* --help ends parsing: what follows is not read (nor refused) */
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--full", "-h", "--bogus", NULL), TY_OK);
    CHECK_EQ_INT(c.help, 1);
    CHECK_EQ_INT(c.full, 1);
    cmd_init(&c);
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--bogus", "--help", NULL), TY_ENOTFOUND);
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
    const ty_argdef_t defs[] = {TY_ARG_TABLE(reader), TY_ARG_TABLE(align),
                                TY_ARG_INT("--threads", NULL, threads, 1, 64), TY_ARG_END};
    char *argv[] = {"check",
                    "-k",
                    "6",
                    "--min-score=0.5",
                    "--max-size",
                    "3",
                    "--encoding=gb18030",
                    "--invalid-utf8",
                    "replace",
                    "--input-format=htm",
                    "--text-field",
                    "body",
                    "--stdin-format=text",
                    "--threads=2",
                    "doc.txt"};
    int argc = (int)(sizeof argv / sizeof argv[0]), np = 0;
    const char *pos[16];
    char msg[256] = "";
    CHECK_EQ_INT(ty_args_parse(defs, argc, argv, pos, &np, msg, sizeof msg), TY_OK);
    CHECK_EQ_STR(msg, "");
    CHECK_EQ_INT(o.k, 6);
    CHECK_NEAR(o.min_score, 0.5, 1e-12);
    CHECK_EQ_UINT(o.max_doc_bytes, (size_t)3 << 20);
    CHECK_EQ_STR(o.encoding, "gb18030");
    CHECK_EQ_INT(o.utf8_mode, TY_UTF8_REPLACE);
    CHECK_EQ_INT(o.input_format, TY_FORMAT_HTML);
    CHECK_EQ_STR(ro.text_field, "body");
    CHECK_EQ_INT(ro.stdin_format, TY_STDIN_TEXT);
    CHECK_EQ_INT(threads, 2);
    CHECK_EQ_INT(np, 1);
    CHECK(ty_args_find(defs, "--max-size") != NULL);
    CHECK(ty_args_find(defs, "--max-size=3") == NULL);
    CHECK(ty_args_find(defs, "--nothing") == NULL);
    char *bad[] = {"check", "--input-format", "doc"};
    CHECK_EQ_INT(ty_args_parse(defs, 3, bad, pos, &np, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "--input-format: expected auto, text, html, docx, odt, pdf, warc or jsonl, "
                      "got 'doc'");
    char *k[] = {"check", "-k", "17"};
    CHECK_EQ_INT(ty_args_parse(defs, 3, k, pos, &np, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "-k: expected a whole number between 2 and 16, got '17'");
    char *near[] = {"check", "--invalid-utf", "replace"};
    CHECK_EQ_INT(ty_args_parse(defs, 3, near, pos, &np, msg, sizeof msg), TY_ENOTFOUND);
    CHECK_EQ_STR(msg, "unknown option '--invalid-utf'; did you mean --invalid-utf8?");
}

static void test_small_msg_buffer(void)
{
    cmd_t c;
    cmd_init(&c);
    const char *pos[32];
    int np;
    char msg[16];
    CHECK_EQ_INT(parse(&c, pos, &np, msg, sizeof msg, "--threads", "xxxxxxxxxxxxxxxx", NULL),
                 TY_EINVAL);
    CHECK_EQ_UINT(strlen(msg), sizeof msg - 1); /* cut, still a string */
}

int main(void)
{
    RUN(test_values_both_ways);
    RUN(test_positional_and_dashdash);
    RUN(test_bad_numbers);
    RUN(test_enums_strings_calls);
    RUN(test_missing_value);
    RUN(test_unknown_suggests);
    RUN(test_help_stops);
    RUN(test_library_tables);
    RUN(test_small_msg_buffer);
    return ck_summary("test_args");
}
