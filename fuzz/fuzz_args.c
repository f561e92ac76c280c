/*
 * fuzz_args.c — arbitrary bytes → the option parser (args.c: ty_args_parse) as a command line,
 * with a table of every kind of option and the library's own tables (alignment, reader).
 *
 * Input: the words of argv after the command, separated by NUL bytes.
 *
 * Invariants checked:
 *   - the result is TY_OK, TY_EINVAL or TY_ENOTFOUND, with a message (a string within the
 *     buffer) on an error, naming an option, the unknown one or the unexpected argument;
 *   - positional arguments are argv's own words, in order, at most one per word;
 *   - after TY_OK every number is within its range;
 *   - parsing the same words again gives the same result and message.
 */
#include "fuzz.h"

typedef struct {
    long threads;
    int full, fmt, help;
    size_t mb, bytes;
    double score;
    const char *out;
    ty_opts_t o;
    ty_reader_opts_t ro;
} vars_t;

static int parse(vars_t *v, int argc, char **argv, const char **pos, int *npos, char *msg,
                 size_t msg_size)
{
    memset(v, 0, sizeof *v);
    v->threads = 4;
    ty_opts_init(&v->o);
    ty_reader_opts_init(&v->ro);
    ty_argdef_t align[TY_OPTS_NARGS], reader[TY_READER_NARGS];
    ty_opts_args(&v->o, align);
    ty_reader_opts_args(&v->ro, reader);
    const ty_argdef_t defs[] = {TY_ARG_TABLE(align),
                                TY_ARG_TABLE(reader),
                                TY_ARG_INT("--threads", NULL, v->threads, 1, 1024),
                                TY_ARG_FLAG("--full", NULL, v->full, 1),
                                TY_ARG_ENUM("--format", v->fmt, "text|jsonl", NULL),
                                TY_ARG_MB("--mb", v->mb, 1, 4095),
                                TY_ARG_BYTES("--bytes", v->bytes),
                                TY_ARG_DOUBLE("--score", v->score, 0, 1),
                                TY_ARG_STRING("--output", "-o", v->out, 1),
                                TY_ARG_HELP(v->help),
                                TY_ARG_END};
    *npos = 0;
    return ty_args_parse(defs, argc, argv, pos, npos, msg, msg_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fz_alloc(size + 1);
    memcpy(buf, data, size);
    int argc = 1;
    for (size_t i = 0; i < size; i++)
        argc += buf[i] == 0;
    argc += 1;
    char **argv = fz_alloc(sizeof(char *) * (size_t)(argc + 1));
    argv[0] = "fuzz";
    argc = 1;
    argv[argc++] = buf;
    for (size_t i = 0; i < size; i++)
        if (buf[i] == 0)
            argv[argc++] = buf + i + 1;
    const char **pos = fz_alloc(sizeof(char *) * (size_t)argc),
               **pos2 = fz_alloc(sizeof(char *) * (size_t)argc);
    char msg[96], msg2[96];
    memset(msg, 'x', sizeof msg);
    vars_t v, w;
    int npos, npos2;
    int rc = parse(&v, argc, argv, pos, &npos, msg, sizeof msg);
    FZ_CHECK(rc == TY_OK || rc == TY_EINVAL || rc == TY_ENOTFOUND);
    FZ_CHECK(npos >= 0 && npos < argc);
    for (int i = 0; i < npos; i++) {
        int found = 0;
        for (int j = 1; j < argc && !found; j++)
            found = pos[i] == argv[j];
        FZ_CHECK(found);
        FZ_CHECK(i == 0 || pos[i] > pos[i - 1]); /* in order */
    }
    if (rc != TY_OK) {
        FZ_CHECK(memchr(msg, 0, sizeof msg) != NULL);
        FZ_CHECK(msg[0] == '-' || strncmp(msg, "unknown option '", 16) == 0 ||
                 strncmp(msg, "unexpected argument", 19) == 0);
    } else {
        FZ_CHECK(v.threads >= 1 && v.threads <= 1024);
        FZ_CHECK(v.mb == 0 || (v.mb >= (size_t)1 << 20 && v.mb <= (size_t)4095 << 20));
        FZ_CHECK(v.score >= 0 && v.score <= 1);
        FZ_CHECK(!v.out || *v.out);
        FZ_CHECK(v.o.k >= 2 && v.o.k <= 16);
        FZ_CHECK(v.o.max_doc_bytes >= (size_t)1 << 20);
    }
    int rc2 = parse(&w, argc, argv, pos2, &npos2, msg2, sizeof msg2);
    FZ_CHECK(rc2 == rc && npos2 == npos);
    FZ_CHECK(rc == TY_OK || strcmp(msg, msg2) == 0);
    free(pos);
    free(pos2);
    free(argv);
    free(buf);
    return 0;
}
