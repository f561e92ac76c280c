/*
 * test_input.c — input.c (and stream.c): documents from files, directories (recursive, sorted,
 * relative names), JSONL (fields, names, bad lines reported with FILE:LINE and skipped past), gzip
 * and zstd (by content, concatenated members, truncated data), standard input (auto-detected JSONL
 * or text), JSONL lines handed out unparsed (ty_reader_next_line).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "check.h"
#include "input.h"
#include "internal.h"
#include "tongyuan.h"

static char tmpdir[256];

static const char *path_of(const char *name) { return ck_path(tmpdir, name); }

static const char *put(const char *name, const void *d, size_t n)
{
    return ck_put(tmpdir, name, d, n);
}

static const char *put_str(const char *name, const char *s) { return put(name, s, strlen(s)); }

/* gzip of s as `members` concatenated members (the text split evenly) */
static const char *put_gz(const char *name, const char *s, int members)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    size_t n = strlen(s), at = 0;
    for (int m = 0; m < members; m++) {
        size_t part = m + 1 == members ? n - at : n / (size_t)members;
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        unsigned char out[1 << 16];
        z.next_in = (Bytef *)(s + at);
        z.avail_in = (uInt)part;
        int zr;
        do {
            z.next_out = out;
            z.avail_out = sizeof out;
            zr = deflate(&z, Z_FINISH);
            fwrite(out, 1, sizeof out - z.avail_out, f);
        } while (zr != Z_STREAM_END);
        deflateEnd(&z);
        at += part;
    }
    fclose(f);
    return p;
}

static size_t zst_of(const char *s, size_t n, unsigned char *out, size_t cap)
{
    size_t z = ZSTD_compress(out, cap, s, n, 3);
    return ZSTD_isError(z) ? 0 : z;
}

static ty_reader_t *reader(void)
{
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    return ty_reader_new(&o);
}

/* all names and texts of r, "name=text|" each; errors as "!message|" */
static void drain(ty_reader_t *r, char *out, size_t size)
{
    size_t o = 0;
    out[0] = 0;
    ty_record_t rec;
    int rc;
    while ((rc = ty_reader_next(r, &rec)) != 0 && o < size) {
        if (rc < 0)
            o += (size_t)snprintf(out + o, size - o, "!%s|", ty_reader_errmsg(r));
        else
            o += (size_t)snprintf(out + o, size - o, "%s=%.*s|", rec.name, (int)rec.len, rec.text);
    }
}

/* All of r's records as drain writes them (valid until the next call), r freed. */
static const char *drain_free(ty_reader_t *r)
{
    static char out[4096];
    drain(r, out, sizeof out);
    ty_reader_free(r);
    return out;
}

/* ---- files and directories ------------------------------------------------------------ */

static void test_single_file(void)
{
    const char *p = put_str("one.txt", "第一行\n第二行");
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, p), TY_OK);
    CHECK_EQ_UINT(ty_reader_size(r), strlen("第一行\n第二行"));
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, p);
    CHECK_EQ_STR(rec.origin, p);
    CHECK_EQ_UINT(rec.line, 0);
    CHECK_EQ_MEM(rec.text, rec.len, "第一行\n第二行", strlen("第一行\n第二行"));
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0); /* and stays at the end */
    CHECK_EQ_UINT(ty_reader_pos(r), ty_reader_size(r));
    ty_reader_free(r);
}

static void test_missing_path(void)
{
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, path_of("no/such/file.txt")), TY_EIO);
    CHECK_CONTAINS(ty_reader_errmsg(r), "no/such/file.txt");
    CHECK_CONTAINS(ty_reader_errmsg(r), "No such file");
    CHECK_EQ_INT(ty_reader_add(r, ""), TY_EINVAL);
    ty_reader_free(r);
    ty_reader_free(NULL);
}

static void test_directory_sorted_relative(void)
{
    mkdir(path_of("corpus"), 0755);
    mkdir(path_of("corpus/b"), 0755);
    mkdir(path_of("corpus/a"), 0755);
    mkdir(path_of("corpus/.git"), 0755);
    put_str("corpus/b/2.txt", "B2");
    put_str("corpus/b/1.md", "B1");
    put_str("corpus/a/z.txt", "AZ");
    put_str("corpus/top.txt", "TOP");
    put_str("corpus/image.png", "PNG");
    put_str("corpus/.hidden.txt", "HIDDEN");
    put_str("corpus/.git/x.txt", "GIT");
    put_gz("corpus/c.txt.gz", "GZ", 1);
    unsigned char z[256];
    size_t zl = zst_of("ZS", 2, z, sizeof z);
    put("corpus/d.md.zst", z, zl);
    symlink(path_of("corpus/a"), path_of("corpus/loop")); /* a link to a directory: noted */
    ty_reader_t *r = reader();
    char dir[600];
    snprintf(dir, sizeof dir, "%s/", path_of("corpus")); /* a trailing slash is fine */
    CHECK_EQ_INT(ty_reader_add(r, dir), TY_OK);
    CHECK_EQ_STR(drain_free(r),
                 "a/z.txt=AZ|b/1.md=B1|b/2.txt=B2|c.txt.gz=GZ|d.md.zst=ZS|top.txt=TOP|");
}

/* Nothing in a directory is passed over without a word: special files, dangling links, link
 * loops and links to directories are noted one by one, files of other types counted. */
static void test_directory_notes(void)
{
    mkdir(path_of("noted"), 0755);
    mkdir(path_of("noted/sub"), 0755);
    put_str("noted/ok.txt", "OK");
    put_str("noted/a.png", "PNG");
    put_str("noted/sub/b.csv", "CSV");
    mkfifo(path_of("noted/fifo.txt"), 0644);
    symlink("nowhere.txt", path_of("noted/dangling.txt"));
    symlink("loop2.txt", path_of("noted/loop1.txt"));
    symlink("loop1.txt", path_of("noted/loop2.txt"));
    symlink("/dev/null", path_of("noted/null.txt"));
    symlink("sub", path_of("noted/subl"));
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, path_of("noted")), TY_OK);
    char all[2048] = "";
    for (size_t i = 0; ty_reader_note(r, i); i++) {
        const char *n = ty_reader_note(r, i);
        const char *rel = strstr(n, "noted");
        strncat(all, rel ? rel : n, sizeof all - strlen(all) - 2);
        strcat(all, "|");
    }
    CHECK_EQ_STR(all, "noted/dangling.txt: a dangling symbolic link, not read|"
                      "noted/fifo.txt: a FIFO, not read|"
                      "noted/loop1.txt: a loop of symbolic links, not read|"
                      "noted/loop2.txt: a loop of symbolic links, not read|"
                      "noted/null.txt: a character device, not read|"
                      "noted/subl: a symbolic link to a directory, not followed|"
                      "noted: 2 files not read: only *.txt, *.md, *.html, *.htm, *.xhtml, "
                      "*.docx, *.odt, *.pdf and *.warc files (also .gz, .zst) are read from a "
                      "directory|");
    CHECK(ty_reader_note(r, 7) == NULL);
    CHECK_EQ_STR(drain_free(r), "ok.txt=OK|");
}

/* An output must not be one of the inputs: found by device and inode, also through a link
 * or another spelling of the path, and also for a file listed from a directory. */
static void test_find_file(void)
{
    mkdir(path_of("ff"), 0755);
    const char *a = put_str("ff/a.txt", "A");
    put_str("ff/b.jsonl", "{\"text\":\"B\"}\n");
    put_str("ff/other.txt", "O");
    symlink("a.txt", path_of("ff/link"));
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, path_of("ff/b.jsonl")), TY_OK);
    CHECK_EQ_INT(ty_reader_add(r, a), TY_OK);
    const char *in = NULL;
    CHECK_EQ_INT(ty_reader_find_file(r, path_of("ff/link"), &in), 1);
    CHECK(in && strcmp(in, a) == 0);
    char twisted[600];
    snprintf(twisted, sizeof twisted, "%s/../ff/./b.jsonl", path_of("ff"));
    CHECK_EQ_INT(ty_reader_find_file(r, twisted, NULL), 1);
    CHECK_EQ_INT(ty_reader_find_file(r, path_of("ff/other.txt"), NULL), 0);
    CHECK_EQ_INT(ty_reader_find_file(r, path_of("ff/missing.txt"), NULL), 0);
    ty_reader_free(r);
    r = reader();
    CHECK_EQ_INT(ty_reader_add(r, path_of("ff")), TY_OK); /* listed from the directory */
    CHECK_EQ_INT(ty_reader_find_file(r, path_of("ff/other.txt"), NULL), 1);
    CHECK_EQ_INT(ty_reader_find_file(r, path_of("ff/b.jsonl"), NULL), 0); /* not read there */
    ty_reader_free(r);
}

/* A name that could never be fetched or deleted is refused where it is read. */
static void test_jsonl_empty_id(void)
{
    const char *p = put_str("empty-id.jsonl", "{\"id\":\"\",\"text\":\"甲\"}\n"
                                              "{\"id\":\"b\",\"text\":\"乙\"}\n"
                                              "{\"id\":\"\",\"text\":\"丙\",\"x\":[1]}\n");
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, p), TY_OK);
    char out[1024];
    drain(r, out, sizeof out);
    CHECK(strstr(out, "empty-id.jsonl:1: member \"id\" is an empty string") != NULL);
    CHECK(strstr(out, "|b=乙|") != NULL);
    CHECK(strstr(out, "empty-id.jsonl:3: member \"id\" is an empty string") != NULL);
    ty_reader_free(r);
}

/* A file rewritten while it is read is named as such (the helper both readers use). */
static void test_file_changed(void)
{
    const char *p = put_str("changing.txt", "第一版");
    int fd = open(p, O_RDONLY);
    int64_t mark[4];
    ty__file_mark(fd, mark);
    char err[TY_ERRMSG_SIZE] = "";
    CHECK_EQ_INT(ty__file_changed(fd, mark, p, err), 0);
    FILE *f = fopen(p, "ab");
    fputs("，又加了一句", f);
    fclose(f);
    CHECK_EQ_INT(ty__file_changed(fd, mark, p, err), 1);
    CHECK(strstr(err, "changed while it was being read (9 bytes when opened, 27 now)") != NULL);
    close(fd);
    ty__file_mark(-1, mark); /* not a file: never "changed" */
    CHECK_EQ_INT(ty__file_changed(-1, mark, p, err), 0);
}

/* Files whose size is not known in advance (/proc) are read to their end, not as empty. */
static void test_proc_file(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_file(d, "/proc/self/status", &o), TY_OK);
    size_t len;
    const char *t = ty_doc_text(d, &len);
    CHECK(len > 20 && strstr(t, "Name:") != NULL);
    ty_doc_free(d);
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, "/proc/self/status"), TY_OK);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK(rec.len > 20);
    ty_reader_free(r);
}

static void test_order_of_paths(void)
{
    const char *a = put_str("x1.txt", "X1"), *b = put_str("x2.txt", "X2");
    ty_reader_t *r = reader();
    ty_reader_add(r, b);
    ty_reader_add(r, a);
    char want[256];
    snprintf(want, sizeof want, "%s=X2|%s=X1|", b, a);
    CHECK_EQ_STR(drain_free(r), want);
}

/* ---- JSONL ----------------------------------------------------------------------------- */

static void test_jsonl_names_and_fields(void)
{
    const char *p = put_str("c.jsonl", "{\"id\":\"文档一\",\"text\":\"正文一\\n第二行\"}\n"
                                       "\n   \n"
                                       "{\"text\":\"无名\",\"id\":42}\r\n"
                                       "{\"text\":\"没有 id\"}\n"
                                       "{\"id\":null,\"text\":\"id 为 null\",\"extra\":[1,{}]}");
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, p), TY_OK);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "文档一");
    CHECK_EQ_STR(rec.text, "正文一\n第二行");
    CHECK_EQ_UINT(rec.line, 1);
    CHECK_EQ_STR(rec.origin, p);
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "42");
    CHECK_EQ_UINT(rec.line, 4); /* blank lines count */
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    char want[600];
    snprintf(want, sizeof want, "%s:5", p);
    CHECK_EQ_STR(rec.name, want);
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    snprintf(want, sizeof want, "%s:6", p);
    CHECK_EQ_STR(rec.name, want);
    CHECK_EQ_STR(rec.text, "id 为 null");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    ty_reader_free(r);

    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    o.text_field = "body";
    o.id_field = "url";
    p = put_str("d.ndjson", "{\"url\":\"http://x/1\",\"body\":\"内容\",\"text\":\"不是这个\"}\n");
    r = ty_reader_new(&o);
    ty_reader_add(r, p);
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "http://x/1");
    CHECK_EQ_STR(rec.text, "内容");
    ty_reader_free(r);
}

static void test_jsonl_bad_lines_are_errors_then_skipped(void)
{
    const char *p = put_str("bad.jsonl", "{\"id\":\"a\",\"text\":\"好\"}\n"
                                         "{\"id\":\"b\",\"text\":\"坏\"\n"       /* not closed */
                                         "[1,2]\n"                               /* not an object */
                                         "{\"id\":\"c\"}\n"                      /* no text */
                                         "{\"id\":\"d\",\"text\":5}\n"           /* not a string */
                                         "{\"id\":[1],\"text\":\"x\"}\n"         /* bad id */
                                         "{\"id\":\"e\",\"text\":\"\\u0000\"}\n" /* NUL */
                                         "{\"id\":\"f\",\"text\":\"\xff\"}\n"    /* bad UTF-8 */
                                         "{\"id\":\"g\",\"text\":\"末\"}\n");
    ty_reader_t *r = reader();
    ty_reader_add(r, p);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "a");
    for (int line = 2; line <= 8; line++) {
        int rc = ty_reader_next(r, &rec);
        CHECKF(rc == TY_ECORRUPT, "line %d: rc %d, expected TY_ECORRUPT", line, rc);
        char want[600];
        snprintf(want, sizeof want, "%s:%d", p, line);
        CHECKF(strstr(ty_reader_errmsg(r), want) != NULL, "line %d: message '%s' lacks '%s'", line,
               ty_reader_errmsg(r), want);
    }
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "g");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    ty_reader_free(r);
}

static void test_jsonl_too_long_line(void)
{
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    o.max_doc_bytes = 100; /* lines may take 2 × 100 + 1 MiB */
    size_t big = (size_t)3 << 20;
    char *s = malloc(big + 400);
    size_t n = (size_t)sprintf(s, "{\"id\":\"big\",\"text\":\"");
    memset(s + n, 'a', big);
    n += big;
    n += (size_t)snprintf(s + n, 400,
                          "\"}\n{\"id\":\"short\",\"text\":\"ok\"}\n{\"id\":"
                          "\"long\",\"text\":\"%0150d\"}\n",
                          0);
    const char *p = put("long.jsonl", s, n);
    free(s);
    ty_reader_t *r = ty_reader_new(&o);
    ty_reader_add(r, p);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), TY_ETOOBIG);
    CHECK_CONTAINS(ty_reader_errmsg(r), ":1: line longer than");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, "short");
    CHECK_EQ_UINT(rec.line, 2);
    CHECK_EQ_INT(ty_reader_next(r, &rec), TY_ETOOBIG); /* a 150-byte text, limit 100 */
    CHECK_CONTAINS(ty_reader_errmsg(r), ":3: text of 150 bytes");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    ty_reader_free(r);
}

static void test_whole_file_limit(void)
{
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    o.max_doc_bytes = 10;
    const char *a = put_str("big.txt", "0123456789AB"), *b = put_str("ok.txt", "0123456789");
    ty_reader_t *r = ty_reader_new(&o);
    ty_reader_add(r, a);
    ty_reader_add(r, b);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), TY_ETOOBIG);
    CHECK_CONTAINS(ty_reader_errmsg(r), "big.txt");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.name, b);
    ty_reader_free(r);
}

/* ---- compression ------------------------------------------------------------------------ */

static void test_gzip(void)
{
    const char *text = "{\"id\":\"1\",\"text\":\"甲\"}\n{\"id\":\"2\",\"text\":\"乙\"}\n"
                       "{\"id\":\"3\",\"text\":\"丙\"}\n";
    const char *p1 = put_gz("g1.jsonl.gz", text, 1), *p3 = put_gz("g3.jsonl.gz", text, 3);
    ty_reader_t *r = reader();
    ty_reader_add(r, p1);
    CHECK_EQ_STR(drain_free(r), "1=甲|2=乙|3=丙|");
    r = reader();
    ty_reader_add(r, p3); /* concatenated members, as `cat a.gz b.gz` makes */
    CHECK_EQ_STR(drain_free(r), "1=甲|2=乙|3=丙|");
    /* compressed but named .txt: content decides */
    const char *pt = put_gz("really-gz.txt", "正文", 1);
    r = reader();
    ty_reader_add(r, pt);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_STR(rec.text, "正文");
    ty_reader_free(r);
}

static void test_gzip_truncated_and_corrupt(void)
{
    char big[20000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = 0;
    const char *p = put_gz("t.txt.gz", big, 1);
    size_t n = 0;
    char *gz = ck_slurp(p, &n);
    if (!gz)
        return;
    const char *cut = put("cut.txt.gz", gz, n / 2);
    ty_reader_t *r = reader();
    ty_reader_add(r, cut);
    ty_record_t rec;
    int rc = ty_reader_next(r, &rec);
    CHECK_EQ_INT(rc, TY_EIO);
    CHECK_CONTAINS(ty_reader_errmsg(r), "cut.txt.gz");
    CHECK_CONTAINS(ty_reader_errmsg(r), "truncated gzip");
    CHECK_EQ_INT(ty_reader_next(r, &rec), 0);
    ty_reader_free(r);
    gz[n / 2] ^= 0x55;
    gz[n / 2 + 1] ^= 0xff;
    const char *bad = put("bad.txt.gz", gz, n);
    r = reader();
    ty_reader_add(r, bad);
    rc = ty_reader_next(r, &rec);
    CHECK(rc == TY_EIO);
    CHECK_CONTAINS(ty_reader_errmsg(r), "bad.txt.gz");
    ty_reader_free(r);
    free(gz);
}

static void test_zstd(void)
{
    const char *a = "{\"id\":\"x\",\"text\":\"一\"}\n", *b = "{\"id\":\"y\",\"text\":\"二\"}\n";
    unsigned char z[512];
    size_t l1 = zst_of(a, strlen(a), z, sizeof z);
    size_t l2 = zst_of(b, strlen(b), z + l1, sizeof z - l1); /* two frames */
    const char *p = put("two.jsonl.zst", z, l1 + l2);
    ty_reader_t *r = reader();
    ty_reader_add(r, p);
    CHECK_EQ_STR(drain_free(r), "x=一|y=二|");
    const char *cut = put("cut.jsonl.zst", z, l1 + l2 - 3);
    r = reader();
    ty_reader_add(r, cut);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1); /* the first frame is whole */
    CHECK_EQ_INT(ty_reader_next(r, &rec), TY_EIO);
    CHECK_CONTAINS(ty_reader_errmsg(r), "truncated zstd");
    ty_reader_free(r);
}

/* ---- standard input --------------------------------------------------------------------- */

/* read "-" with stdin fed from the bytes s */
static void drain_stdin(const char *s, size_t n, int format, char *out, size_t size)
{
    const char *p = put("stdin.bin", s, n);
    int fd = open(p, O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
    ty_reader_opts_t o;
    ty_reader_opts_init(&o);
    o.stdin_format = format;
    ty_reader_t *r = ty_reader_new(&o);
    CHECK_EQ_INT(ty_reader_add(r, "-"), TY_OK);
    CHECK_EQ_INT(ty_reader_add(r, "-"), TY_EINVAL);
    CHECK_EQ_UINT(ty_reader_size(r), 0); /* unknown */
    drain(r, out, size);
    ty_reader_free(r);
}

static void test_stdin_auto(void)
{
    char out[512];
    const char *jl = "\n{\"id\":\"s1\",\"text\":\"标准输入\"}\n{\"id\":\"s2\",\"text\":\"二\"}\n";
    drain_stdin(jl, strlen(jl), TY_STDIN_AUTO, out, sizeof out);
    CHECK_EQ_STR(out, "s1=标准输入|s2=二|");
    const char *tx = "  {不是 JSON}\n第二行";
    drain_stdin(tx, strlen(tx), TY_STDIN_AUTO, out, sizeof out);
    CHECK_EQ_STR(out, "-=  {不是 JSON}\n第二行|");
    const char *obj = "{\"title\":\"an object without the text field\"}\n";
    drain_stdin(obj, strlen(obj), TY_STDIN_AUTO, out, sizeof out);
    CHECK_EQ_STR(out, "-={\"title\":\"an object without the text field\"}\n|");
    drain_stdin(jl, strlen(jl), TY_STDIN_TEXT, out, sizeof out);
    CHECK(strncmp(out, "-=\n{", 4) == 0);
    /* empty standard input (a producer that failed) is an error, not an empty document */
    drain_stdin("", 0, TY_STDIN_AUTO, out, sizeof out);
    CHECK_EQ_STR(out, "!-: standard input is empty: no document read|");
    drain_stdin("", 0, TY_STDIN_TEXT, out, sizeof out);
    CHECK_EQ_STR(out, "!-: standard input is empty: no document read|");
    unsigned char z[256];
    size_t zl = zst_of(jl, strlen(jl), z, sizeof z);
    drain_stdin((const char *)z, zl, TY_STDIN_AUTO, out, sizeof out);
    CHECK_EQ_STR(out, "s1=标准输入|s2=二|");
}

static void test_stdin_forced_jsonl(void)
{
    char out[512];
    const char *s = "not json\n{\"id\":\"ok\",\"text\":\"是\"}\n";
    drain_stdin(s, strlen(s), TY_STDIN_JSONL, out, sizeof out);
    CHECK_CONTAINS(out, "!-:1:");
    CHECK_CONTAINS(out, "ok=是|");
}

/* ---- whole files are byte-exact --------------------------------------------------------- */

static void test_bytes_unchanged(void)
{
    /* a BOM, CRLF, NUL and invalid UTF-8 stay as they are: the tokenizer judges them */
    static const char s[] = "\xEF\xBB\xBF"
                            "甲\r\n\0乙\xff";
    const char *p = put("raw.txt", s, sizeof s - 1);
    ty_reader_t *r = reader();
    ty_reader_add(r, p);
    ty_record_t rec;
    CHECK_EQ_INT(ty_reader_next(r, &rec), 1);
    CHECK_EQ_MEM(rec.text, rec.len, s, sizeof s - 1);
    ty_reader_free(r);
}

/* ty_reader_next_line (dedup --write-kept's second pass): JSONL lines as they are in the file
 * — a BOM kept, a CR before the line break dropped, blank lines skipped, a bad line given
 * like any other, line numbers of the whole file, also through gzip — and whole files as
 * ty_reader_next() gives them. */
static void test_next_line(void)
{
    static const char jl[] = "\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"甲\"}\r\n"
                             "\n  \n"
                             "{\"id\": broken\n"
                             "{\"text\":\"乙\"}";
    const char *p = put("lines.jsonl", jl, sizeof jl - 1);
    const char *z = put_gz("lines.jsonl.gz", jl, 2);
    const char *t = put_str("whole.txt", "丙\r\n丁\n");
    ty_reader_t *r = reader();
    ty_reader_add(r, p);
    ty_reader_add(r, z);
    ty_reader_add(r, t);
    ty_record_t rec;
    for (int pass = 0; pass < 2; pass++) {
        CHECK_EQ_INT(ty_reader_next_line(r, &rec), 1);
        CHECK(rec.name == NULL);
        CHECK_EQ_UINT(rec.line, 1);
        CHECK_EQ_STR(rec.origin, pass ? z : p);
        const char *l1 = "\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"甲\"}";
        CHECK_EQ_MEM(rec.text, rec.len, l1, strlen(l1));
        CHECK_EQ_INT(ty_reader_next_line(r, &rec), 1);
        CHECK_EQ_UINT(rec.line, 4);
        CHECK_EQ_MEM(rec.text, rec.len, "{\"id\": broken", strlen("{\"id\": broken"));
        CHECK_EQ_INT(ty_reader_next_line(r, &rec), 1);
        CHECK_EQ_UINT(rec.line, 5);
        CHECK_EQ_MEM(rec.text, rec.len, "{\"text\":\"乙\"}", strlen("{\"text\":\"乙\"}"));
    }
    CHECK_EQ_INT(ty_reader_next_line(r, &rec), 1);
    CHECK_EQ_UINT(rec.line, 0);
    CHECK_EQ_STR(rec.name, t);
    CHECK_EQ_MEM(rec.text, rec.len, "丙\r\n丁\n", strlen("丙\r\n丁\n"));
    CHECK_EQ_INT(ty_reader_next_line(r, &rec), 0);
    ty_reader_free(r);
}

/* ty__reader_add_range (the MPI build's split input): cutting a JSONL file at any offsets
 * and reading the ranges in order gives the records of the whole file, with the same
 * names and line numbers (blank lines, CRLF, a bad line, records without an id). */
typedef struct {
    int rc;
    char name[64];
    uint64_t line;
    size_t len;
} seen_t;

static size_t read_all(ty_reader_t *r, seen_t *out, size_t cap)
{
    size_t n = 0;
    ty_record_t rec;
    int rc;
    while ((rc = ty_reader_next(r, &rec)) != 0 && n < cap) {
        seen_t *x = &out[n++];
        memset(x, 0, sizeof(*x));
        x->rc = rc;
        if (rc > 0) {
            snprintf(x->name, sizeof x->name, "%s", rec.name);
            x->line = rec.line;
            x->len = rec.len;
        }
    }
    return n;
}

static void test_jsonl_ranges(void)
{
    const char *body = "{\"id\":\"a\",\"text\":\"一\"}\n"
                       "\n"
                       "{\"text\":\"无名二\"}\r\n"
                       "{\"id\": broken\n"
                       "   \n"
                       "{\"id\":7,\"text\":\"三三三\"}\n"
                       "{\"text\":\"最后一行没有换行\"}";
    const char *p = put_str("r.jsonl", body);
    size_t size = strlen(body);
    seen_t whole[16], part[16];
    ty_reader_t *r = reader();
    CHECK_EQ_INT(ty_reader_add(r, p), TY_OK);
    size_t nw = read_all(r, whole, 16);
    CHECK_EQ_UINT(nw, 5);
    CHECK_EQ_UINT(ty__reader_nitems(r), 1);
    ty_reader_item_t it;
    CHECK_EQ_INT(ty__reader_item(r, 0, &it), TY_OK);
    CHECK_EQ_UINT(it.size, size);
    CHECK(it.jsonl && !it.is_stdin);
    for (size_t b1 = 0; b1 <= size; b1++) {
        for (size_t b2 = b1; b2 <= size; b2 += 5) {
            ty_reader_t *q = reader();
            uint64_t cuts[4] = {0, b1, b2, b2 % 2 ? size : UINT64_MAX}, nl = 0;
            for (int k = 0; k < 3; k++) {
                CHECK_EQ_INT(ty__reader_add_range(q, r, 0, cuts[k], cuts[k + 1], nl), TY_OK);
                for (uint64_t i = cuts[k]; i < cuts[k + 1] && i < size; i++)
                    nl += body[i] == '\n';
            }
            size_t np = read_all(q, part, 16);
            int same = np == nw;
            for (size_t i = 0; same && i < nw; i++)
                same = part[i].rc == whole[i].rc && part[i].line == whole[i].line &&
                       part[i].len == whole[i].len && !strcmp(part[i].name, whole[i].name);
            CHECKF(same, "cut at %zu and %zu: %zu records, want %zu", b1, b2, np, nw);
            ty_reader_free(q);
        }
    }
    /* the item as it is */
    ty_reader_t *q = reader();
    CHECK_EQ_INT(ty__reader_add_item(q, r, 0), TY_OK);
    CHECK_EQ_UINT(read_all(q, part, 16), nw);
    CHECK_EQ_INT(ty__reader_add_range(q, r, 1, 0, 1, 0), TY_EINVAL);
    ty_reader_free(q);
    ty_reader_free(r);
}

int main(void)
{
    static const ck_test_t tests[] = {CK_TEST(test_single_file),
                                      CK_TEST(test_missing_path),
                                      CK_TEST(test_directory_sorted_relative),
                                      CK_TEST(test_directory_notes),
                                      CK_TEST(test_find_file),
                                      CK_TEST(test_jsonl_empty_id),
                                      CK_TEST(test_file_changed),
                                      CK_TEST(test_proc_file),
                                      CK_TEST(test_order_of_paths),
                                      CK_TEST(test_jsonl_names_and_fields),
                                      CK_TEST(test_jsonl_bad_lines_are_errors_then_skipped),
                                      CK_TEST(test_jsonl_too_long_line),
                                      CK_TEST(test_whole_file_limit),
                                      CK_TEST(test_gzip),
                                      CK_TEST(test_gzip_truncated_and_corrupt),
                                      CK_TEST(test_zstd),
                                      CK_TEST(test_stdin_auto),
                                      CK_TEST(test_stdin_forced_jsonl),
                                      CK_TEST(test_bytes_unchanged),
                                      CK_TEST(test_next_line),
                                      CK_TEST(test_jsonl_ranges)};
    return ck_main("test_input", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_input");
}
