/*
 * test_doc.c — doc.c and util.c: loading documents from memory, files and standard input,
 * refusing bad input with a message that says where, options, error strings.
 *
 * The corrupt inputs are the ones real collections contain: overlong forms, UTF-16
 * surrogates encoded in UTF-8 (CESU-8), sequences cut short by truncation, stray 0xFF / 0xFE
 * bytes, NUL bytes of binary files, and files larger than the limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "tongyuan.h"

static ty_opts_t opts(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    return o;
}

static char tmpdir[256]; /* made by main() before the tests (which run in child processes) */

/* a file in a private temporary directory, holding buf[0..len) */
static const char *tmpfile_with(const char *name, const void *buf, size_t len)
{
    return ck_put(tmpdir, name, buf, len);
}

/* ---- invalid UTF-8 ------------------------------------------------------------------------ */

/* Loading s[0..n) strictly fails with TY_EUTF8 and a message naming the document, the
 * 1-based line and the 0-based byte offset of the first bad byte. */
#define CHECK_BAD_UTF8(s, line, byte) \
    check_bad_utf8(__FILE__, __LINE__, s, sizeof(s) - 1, line, byte)
static void check_bad_utf8(const char *file, int ln, const char *s, size_t n, int line, int byte)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    int rc = ty_doc_load_mem(d, "notes/第一章.txt", s, n, &o);
    ck_report(rc == TY_EUTF8, file, ln, "rc %d (%s), expected TY_EUTF8", rc, ty_strerror(rc));
    const char *m = ty_doc_errmsg(d);
    char want_line[64], want_byte[64];
    snprintf(want_line, sizeof want_line, "line %d", line);
    snprintf(want_byte, sizeof want_byte, "byte %d", byte);
    ck_report(strstr(m, "notes/第一章.txt") != NULL, file, ln, "message without name: %s", m);
    ck_report(strstr(m, want_line) != NULL, file, ln, "message without '%s': %s", want_line, m);
    ck_report(strstr(m, want_byte) != NULL, file, ln, "message without '%s': %s", want_byte, m);
    ck_report(strchr(m, '\n') == NULL, file, ln, "message is not one line: %s", m);
    ck_report(ty_doc_ntokens(d) == 0, file, ln, "tokens left after a failed load");
    ty_doc_free(d);
}

static void test_invalid_utf8_strict(void)
{
    CHECK_BAD_UTF8("ab\n中文\xc0\xaf", 2, 9);                /* overlong '/' (2 bytes) */
    CHECK_BAD_UTF8("\xe0\x80\xaf", 1, 0);                    /* overlong '/' (3 bytes) */
    CHECK_BAD_UTF8("x\xf0\x80\x80\xaf", 1, 1);               /* overlong '/' (4 bytes) */
    CHECK_BAD_UTF8("中\xc1\xbf", 1, 3);                      /* overlong, 0xC1 lead */
    CHECK_BAD_UTF8("a\nb\n\xed\xa0\x80\xed\xb0\x80", 3, 4);  /* surrogate pair (CESU-8) */
    CHECK_BAD_UTF8("中文\xe4\xb8", 1, 6);                    /* truncated at end of text */
    CHECK_BAD_UTF8("中文\xe4\xb8。", 1, 6);                  /* truncated, text follows */
    CHECK_BAD_UTF8("\xf0\xa0\x80", 1, 0);                    /* truncated 4-byte sequence */
    CHECK_BAD_UTF8("中\xff文", 1, 3);                        /* 0xFF never appears in UTF-8 */
    CHECK_BAD_UTF8("\xfe\xff", 1, 0);                        /* UTF-16 BOM */
    CHECK_BAD_UTF8("abc\x80", 1, 3);                         /* lone continuation byte */
    CHECK_BAD_UTF8("\xf4\x90\x80\x80", 1, 0);                /* above U+10FFFF */
    CHECK_BAD_UTF8("\xf5\x80\x80\x80", 1, 0);                /* 0xF5 lead */
    CHECK_BAD_UTF8("第一行\r\n第二行\r\n第三\xa1行", 3, 28); /* GBK byte in UTF-8 text */
    /* the BOM and the largest code points are valid */
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    const char ok[] = "\xef\xbb\xbf中\xf4\x8f\xbf\xbf\xef\xbf\xbf";
    CHECK_EQ_INT(ty_doc_load_mem(d, "ok", ok, sizeof ok - 1, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 1);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 4);
    ty_doc_free(d);
}

/* Replace mode: every invalid byte is one code point and is not compared. */
static void test_invalid_utf8_replace(void)
{
    ty_opts_t o = opts();
    o.utf8_mode = TY_UTF8_REPLACE;
    CHECK_EQ_INT(ty_opts_check(&o, NULL, 0), TY_OK);
    ty_doc_t *d = ty_doc_new();
    static const struct {
        const char *s;
        size_t ncp, ntok;
        uint32_t last_cp_off, last_byte_off; /* of the last token */
    } T[] = {
        {"中\xff文", 3, 2, 2, 4},
        {"中\xe4\xb8", 3, 1, 0, 0},     /* truncated: two bad bytes, two cps */
        {"\xc0\xaf中", 3, 1, 2, 2},     /* overlong: both bytes bad */
        {"\xed\xa0\x80中", 4, 1, 3, 3}, /* surrogate: three bad bytes */
        {"ab\xff"
         "cd",
         5, 2, 3, 3},                   /* a bad byte splits a word */
        {"\xf0\x9f\x98中", 4, 1, 3, 3}, /* emoji cut short */
        {"\x80\x80\x80", 3, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        int rc = ty_doc_load_mem(d, "r", T[i].s, strlen(T[i].s), &o);
        CHECKF(rc == TY_OK, "case %zu: rc %d: %s", i, rc, ty_doc_errmsg(d));
        CHECKF(ty_doc_ncodepoints(d) == T[i].ncp, "case %zu: %zu code points, expected %zu", i,
               ty_doc_ncodepoints(d), T[i].ncp);
        CHECKF(ty_doc_ntokens(d) == T[i].ntok, "case %zu: %zu tokens, expected %zu", i,
               ty_doc_ntokens(d), T[i].ntok);
        ty_token_t t;
        if (T[i].ntok && ty_doc_token(d, T[i].ntok - 1, &t) == TY_OK)
            CHECKF(t.cp_off == T[i].last_cp_off && t.byte_off == T[i].last_byte_off,
                   "case %zu: last token at cp %u byte %u, expected cp %u byte %u", i, t.cp_off,
                   t.byte_off, T[i].last_cp_off, T[i].last_byte_off);
    }
    /* the same text as valid UTF-8 around the bad byte gives the same tokens */
    ty_doc_t *e = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "r", "使用\xff图层", 13, &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_mem(e, "r", "使用图层", 12, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 4);
    for (size_t i = 0; i < 4 && i < ty_doc_ntokens(d); i++) {
        ty_token_t a, b;
        ty_doc_token(d, i, &a);
        ty_doc_token(e, i, &b);
        CHECK_EQ_HEX(a.id, b.id);
    }
    ty_doc_free(d);
    ty_doc_free(e);
}

/* ---- binary, empty, too big --------------------------------------------------------------- */

static void test_nul_is_binary(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    const char s[] = "第一行\n第二\0行";
    CHECK_EQ_INT(ty_doc_load_mem(d, "x.bin", s, sizeof s - 1, &o), TY_EBINARY);
    CHECK_CONTAINS(ty_doc_errmsg(d), "x.bin");
    CHECK_CONTAINS(ty_doc_errmsg(d), "line 2");
    CHECK_CONTAINS(ty_doc_errmsg(d), "byte 16");
    CHECK_EQ_UINT(ty_doc_ntokens(d), 0);
    CHECK_EQ_INT(ty_doc_load_mem(d, "z", "\0", 1, &o), TY_EBINARY);
    /* also in replace mode: NUL is valid UTF-8 but means "not text" */
    o.utf8_mode = TY_UTF8_REPLACE;
    CHECK_EQ_INT(ty_doc_load_mem(d, "x.bin", s, sizeof s - 1, &o), TY_EBINARY);
    /* a real binary: the start of an ELF file */
    const char elf[] = "\x7f"
                       "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0";
    CHECK_EQ_INT(ty_doc_load_mem(d, "ls", elf, sizeof elf - 1, &o), TY_EBINARY);
    ty_doc_free(d);
}

static void test_empty_document(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "empty", "", 0, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 0);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 0);
    size_t len = 99;
    CHECK_EQ_STR(ty_doc_text(d, &len), "");
    CHECK_EQ_UINT(len, 0);
    ty_token_t t;
    CHECK_EQ_INT(ty_doc_token(d, 0, &t), TY_EINVAL);
    CHECK_EQ_INT(ty_doc_load_mem(d, "null", NULL, 0, &o), TY_OK); /* NULL with length 0 */
    CHECK_EQ_INT(ty_doc_load_mem(d, "null", NULL, 5, &o), TY_EINVAL);
    /* only spaces and punctuation: code points but no tokens */
    CHECK_EQ_INT(ty_doc_load_mem(d, "p", "，。 \n！", 11, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 0);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 5);
    /* an empty file, and a fresh document never loaded */
    CHECK_EQ_INT(ty_doc_load_file(d, tmpfile_with("empty.txt", "", 0), &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 0);
    ty_doc_t *e = ty_doc_new();
    CHECK_EQ_UINT(ty_doc_ntokens(e), 0);
    CHECK_EQ_STR(ty_doc_errmsg(e), "");
    CHECK_EQ_STR(ty_doc_text(e, NULL), "");
    ty_doc_free(e);
    ty_doc_free(d);
}

static void test_too_big(void)
{
    ty_opts_t o = opts();
    o.max_doc_bytes = 12;
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "big.txt", "一二三四", 12, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 4);
    CHECK_EQ_INT(ty_doc_load_mem(d, "big.txt", "一二三四五", 15, &o), TY_ETOOBIG);
    CHECK_CONTAINS(ty_doc_errmsg(d), "big.txt");
    CHECK_CONTAINS(ty_doc_errmsg(d), "15");
    const char *p = tmpfile_with("big.txt", "一二三四五", 15);
    CHECK_EQ_INT(ty_doc_load_file(d, p, &o), TY_ETOOBIG);
    CHECK_CONTAINS(ty_doc_errmsg(d), p);
    o.max_doc_bytes = 15;
    CHECK_EQ_INT(ty_doc_load_file(d, p, &o), TY_OK);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 5);
    ty_doc_free(d);
}

/* ---- files and standard input --------------------------------------------------------------- */

static void test_load_file_matches_mem(void)
{
    ty_opts_t o = opts();
    ty_doc_t *f = ty_doc_new(), *m = ty_doc_new();
    size_t len;
    char *buf = ck_slurp(ck_data("sus-00243.txt"), &len);
    CHECK_EQ_INT(ty_doc_load_file(f, ck_data("sus-00243.txt"), &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_mem(m, "m", buf, len, &o), TY_OK);
    CHECK_EQ_STR(ty_doc_name(f), ck_data("sus-00243.txt"));
    size_t fl;
    const char *ft = ty_doc_text(f, &fl);
    CHECK_EQ_MEM(ft, fl, buf, len);
    CHECK_EQ_UINT(ty_doc_ntokens(f), ty_doc_ntokens(m));
    CHECK_EQ_UINT(ty_doc_ncodepoints(f), ty_doc_ncodepoints(m));
    CHECK(ty_doc_ntokens(f) > 500);
    for (size_t i = 0; i < ty_doc_ntokens(f) && i < ty_doc_ntokens(m); i++) {
        ty_token_t a, b;
        ty_doc_token(f, i, &a);
        ty_doc_token(m, i, &b);
        if (!CHECKF(memcmp(&a, &b, sizeof a) == 0, "token %zu differs", i))
            break;
    }
    /* the text is a copy, NUL-terminated: the caller's buffer may go */
    memset(buf, 'x', len);
    CHECK(ty_doc_text(m, NULL)[0] != 'x');
    CHECK_EQ_INT(ty_doc_text(m, NULL)[len], 0);
    free(buf);
    ty_doc_free(f);
    ty_doc_free(m);
}

static void test_missing_file_and_directory(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_file(d, "tests/data/no/such/文件.txt", &o), TY_EIO);
    CHECK_CONTAINS(ty_doc_errmsg(d), "tests/data/no/such/文件.txt");
    CHECK_CONTAINS(ty_doc_errmsg(d), strerror(ENOENT));
    CHECK_EQ_INT(ty_doc_load_file(d, "tests/data", &o), TY_EIO);
    CHECK_CONTAINS(ty_doc_errmsg(d), "tests/data");
    CHECK_CONTAINS(ty_doc_errmsg(d), "directory");
    CHECK(strchr(ty_doc_errmsg(d), '\n') == NULL);
    /* unreadable (skipped when running as root, who reads anything) */
    if (geteuid() != 0) {
        const char *p = tmpfile_with("secret.txt", "中文", 6);
        chmod(p, 0);
        CHECK_EQ_INT(ty_doc_load_file(d, p, &o), TY_EIO);
        CHECK_CONTAINS(ty_doc_errmsg(d), strerror(EACCES));
    }
    /* invalid UTF-8 and NUL in a file: the message names the path */
    const char *p = tmpfile_with("bad.txt", "好\n\xff", 5);
    CHECK_EQ_INT(ty_doc_load_file(d, p, &o), TY_EUTF8);
    CHECK_CONTAINS(ty_doc_errmsg(d), p);
    CHECK_CONTAINS(ty_doc_errmsg(d), "line 2");
    p = tmpfile_with("nul.txt", "好\0", 4);
    CHECK_EQ_INT(ty_doc_load_file(d, p, &o), TY_EBINARY);
    CHECK_CONTAINS(ty_doc_errmsg(d), p);
    CHECK_EQ_INT(ty_doc_load_file(NULL, p, &o), TY_EINVAL);
    CHECK_EQ_INT(ty_doc_load_file(d, NULL, &o), TY_EINVAL);
    CHECK_EQ_INT(ty_doc_load_file(d, p, NULL), TY_EINVAL);
    ty_doc_free(d);
}

/* Load "-" with fd 0 replaced by `fd`. */
static int load_stdin_from(ty_doc_t *d, int fd, const ty_opts_t *o)
{
    int saved = dup(0);
    dup2(fd, 0);
    close(fd);
    int rc = ty_doc_load_file(d, "-", o);
    dup2(saved, 0);
    close(saved);
    return rc;
}

/* a pipe whose writer (a child process) writes n bytes of repeated text, then closes */
static int pipe_of(size_t n, pid_t *pid)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        close(p[0]);
        const char *s = "文本工具结合了旧的文本工具和动态文本插件。\n"; /* 64 bytes */
        size_t l = strlen(s);
        while (n) {
            size_t k = n < l ? n : l;
            if (write(p[1], s, k) != (ssize_t)k)
                _exit(1);
            n -= k;
        }
        _exit(0);
    }
    close(p[1]);
    return p[0];
}

static void test_stdin(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    /* a regular file on fd 0 */
    int fd = open(ck_data("src-00596.txt"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_OK);
    CHECK_EQ_STR(ty_doc_name(d), "-");
    size_t len;
    char *buf = ck_slurp(ck_data("src-00596.txt"), &len);
    size_t dl;
    const char *t = ty_doc_text(d, &dl);
    CHECK_EQ_MEM(t, dl, buf, len);
    free(buf);
    /* a pipe of 300 800 bytes: more than the first read buffer, grown as it comes */
    pid_t pid;
    fd = pipe_of(300800, &pid);
    CHECK(fd >= 0);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_OK);
    waitpid(pid, NULL, 0);
    ty_doc_text(d, &dl);
    CHECK_EQ_UINT(dl, 300800);
    CHECK_EQ_UINT(ty_doc_ntokens(d), 300800 / 64 * 20);
    /* a pipe longer than max_doc_bytes; exactly max_doc_bytes is fine */
    o.max_doc_bytes = 100032;
    fd = pipe_of(100033, &pid);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_ETOOBIG);
    CHECK_CONTAINS(ty_doc_errmsg(d), "-");
    waitpid(pid, NULL, 0);
    fd = pipe_of(100032, &pid);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_OK);
    waitpid(pid, NULL, 0);
    o.max_doc_bytes = 65536; /* the first read buffer's size */
    fd = pipe_of(65536, &pid);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_OK);
    waitpid(pid, NULL, 0);
    fd = pipe_of(65537, &pid);
    CHECK_EQ_INT(load_stdin_from(d, fd, &o), TY_ETOOBIG);
    waitpid(pid, NULL, 0);
    ty_doc_free(d);
}

/* ---- reloading ---------------------------------------------------------------------------- */

static void test_reload_replaces(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "a", "一二三四五六", 18, &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_mem(d, "b", "七八", 6, &o), TY_OK);
    CHECK_EQ_STR(ty_doc_name(d), "b");
    CHECK_EQ_UINT(ty_doc_ntokens(d), 2);
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 2);
    ty_token_t t;
    CHECK_EQ_INT(ty_doc_token(d, 1, &t), TY_OK);
    CHECK_EQ_HEX(t.id, 0x516B); /* 八 */
    CHECK_EQ_INT(ty_doc_token(d, 2, &t), TY_EINVAL);
    /* an error then a success: the message is cleared */
    CHECK_EQ_INT(ty_doc_load_mem(d, "c", "\xff", 1, &o), TY_EUTF8);
    CHECK(ty_doc_errmsg(d)[0] != 0);
    CHECK_EQ_INT(ty_doc_load_mem(d, "c", "九", 3, &o), TY_OK);
    CHECK_EQ_STR(ty_doc_errmsg(d), "");
    CHECK_EQ_UINT(ty_doc_ntokens(d), 1);
    ty_doc_free(d);
}

/* After a failed load the document must not show the previous document's text and tokens
 * under the new name: some error paths empty it, others leave the old content. */
static void test_failed_reload_leaves_no_stale_content(void)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    static const char *what[] = {"mem too big",  "missing file",  "directory",
                                 "file too big", "invalid UTF-8", "NUL"};
    for (int k = 0; k < 6; k++) {
        o.max_doc_bytes = 100;
        CHECK_EQ_INT(ty_doc_load_mem(d, "old", "一二三四五六", 18, &o), TY_OK);
        int rc;
        switch (k) {
        case 0:
            rc = ty_doc_load_mem(d, "new",
                                 "一二三四五六七八九十一二三四五六七八九十"
                                 "一二三四五六七八九十一二三四五六七八九十",
                                 120, &o);
            break;
        case 1: rc = ty_doc_load_file(d, "tests/data/no-such-file", &o); break;
        case 2: rc = ty_doc_load_file(d, "tests/data", &o); break;
        case 3:
            o.max_doc_bytes = 10;
            rc = ty_doc_load_file(d, ck_data("src-00596.txt"), &o);
            break;
        case 4: rc = ty_doc_load_mem(d, "new", "\xff", 1, &o); break;
        default: rc = ty_doc_load_mem(d, "new", "a\0", 2, &o); break;
        }
        size_t len;
        ty_doc_text(d, &len);
        CHECKF(rc != TY_OK, "%s: load did not fail", what[k]);
        CHECKF(ty_doc_ntokens(d) == 0 && len == 0 && ty_doc_ncodepoints(d) == 0,
               "%s: after the failed load the document still has %zu tokens, %zu bytes, "
               "%zu code points (name '%s')",
               what[k], ty_doc_ntokens(d), len, ty_doc_ncodepoints(d), ty_doc_name(d));
    }
    ty_doc_free(d);
}

/* ---- options, errors, versions -------------------------------------------------------------- */

static void test_opts(void)
{
    ty_opts_t o = opts();
    char msg[256];
    CHECK_EQ_INT(ty_opts_check(&o, msg, sizeof msg), TY_OK);
    CHECK(o.k >= 2 && o.k <= 16 && o.w >= 1 && o.min_score >= 0 && o.min_score <= 1);
    CHECK_EQ_INT(o.utf8_mode, TY_UTF8_STRICT);
    CHECK(o.max_doc_bytes > 0);
#define BAD(field, value, word)                                                                \
    do {                                                                                       \
        ty_opts_t b = opts();                                                                  \
        b.field = value;                                                                       \
        msg[0] = 0;                                                                            \
        CHECKF(ty_opts_check(&b, msg, sizeof msg) == TY_EINVAL, "%s = %s accepted", #field,    \
               #value);                                                                        \
        CHECKF(strstr(msg, word) != NULL, "%s = %s: message '%s' does not name %s", #field,    \
               #value, msg, word);                                                             \
        CHECKF(ty_opts_check(&b, NULL, 0) == TY_EINVAL, "%s = %s accepted (msg NULL)", #field, \
               #value);                                                                        \
    } while (0)
#define GOOD(field, value)                                                                         \
    do {                                                                                           \
        ty_opts_t b = opts();                                                                      \
        b.field = value;                                                                           \
        CHECKF(ty_opts_check(&b, msg, sizeof msg) == TY_OK, "%s = %s refused: %s", #field, #value, \
               msg);                                                                               \
    } while (0)
    BAD(k, 1, "k");
    BAD(k, 17, "k");
    BAD(k, -4, "k");
    BAD(w, 0, "w");
    BAD(w, 257, "w");
    BAD(max_occ, 0, "max_occ");
    BAD(max_gap, -1, "max_gap");
    BAD(gap_cost, -0.5, "gap_cost");
    BAD(gap_cost, NAN, "gap_cost");
    BAD(drift_cost, -1, "drift_cost");
    BAD(drift_cost, INFINITY, "drift_cost");
    BAD(min_chain, -1, "min_chain");
    BAD(merge_gap, -1, "merge_gap");
    BAD(min_len, -1, "min_len");
    BAD(min_score, 1.5, "min_score");
    BAD(min_score, -0.01, "min_score");
    BAD(min_score, NAN, "min_score");
    BAD(snap, -1, "snap");
    BAD(snap, 1001, "snap");
    BAD(utf8_mode, 2, "utf8_mode");
    BAD(utf8_mode, -1, "utf8_mode");
    BAD(max_doc_bytes, 0, "max_doc_bytes");
    GOOD(k, 2);
    GOOD(k, 16);
    GOOD(w, 1);
    GOOD(w, 256);
    GOOD(min_score, 0);
    GOOD(min_score, 1);
    GOOD(max_gap, 0);
    GOOD(snap, 0);
    GOOD(utf8_mode, TY_UTF8_REPLACE);
    GOOD(max_doc_bytes, 1);
    /* a short message buffer is cut, not overrun */
    ty_opts_t b = opts();
    b.k = 0;
    char small[5] = "xxxx";
    CHECK_EQ_INT(ty_opts_check(&b, small, 4), TY_EINVAL);
    CHECK_EQ_UINT(strlen(small), 3);
#undef BAD
#undef GOOD
}

/* The other option structs: the defaults pass their check; a bad field is refused with a
 * message naming it. */
static void test_other_opts_check(void)
{
    char msg[256];
    ty_reader_opts_t ro;
    ty_index_opts_t io;
    ty_query_opts_t qo;
    ty_reader_opts_init(&ro);
    ty_index_opts_init(&io);
    ty_query_opts_init(&qo);
    CHECK_EQ_INT(ty_reader_opts_check(&ro, msg, sizeof msg), TY_OK);
    CHECK_EQ_INT(ty_index_opts_check(&io, msg, sizeof msg), TY_OK);
    CHECK_EQ_INT(ty_query_opts_check(&qo, msg, sizeof msg), TY_OK);
    /* one bad field each: refused, with and without a message buffer, the field named */
    for (int i = 0; i < 5; i++) {
        ty_reader_opts_t r = ro;
        ty_index_opts_t x = io;
        ty_query_opts_t q = qo;
        static const char *const field[] = {"stdin_format", "text_field", "no-such-charset",
                                            "zstd_level", "max_df_frac"};
        int rc1, rc2;
        if (i == 0)
            r.stdin_format = 7;
        else if (i == 1)
            r.text_field = "";
        else if (i == 2)
            r.encoding = "no-such-charset";
        else if (i == 3)
            x.zstd_level = 20;
        else
            q.max_df_frac = 1.5;
        if (i < 3)
            rc1 = ty_reader_opts_check(&r, NULL, 0),
            rc2 = ty_reader_opts_check(&r, msg, sizeof msg);
        else if (i == 3)
            rc1 = ty_index_opts_check(&x, NULL, 0), rc2 = ty_index_opts_check(&x, msg, sizeof msg);
        else
            rc1 = ty_query_opts_check(&q, NULL, 0), rc2 = ty_query_opts_check(&q, msg, sizeof msg);
        CHECKF(rc1 == TY_EINVAL && rc2 == TY_EINVAL, "case %d accepted", i);
        CHECK_CONTAINS(msg, field[i]);
    }
}

static void test_strerror_and_version(void)
{
    static const int codes[] = {
        TY_OK,      TY_ENOMEM,    TY_EINVAL,       TY_EIO,       TY_EUTF8,    TY_EBINARY,
        TY_ETOOBIG, TY_ECORRUPT,  TY_EVERSION,     TY_ENOTFOUND, TY_EBUSY,    TY_EEXIST,
        TY_EEMPTY,  TY_EENCODING, TY_EUNSUPPORTED, TY_ECANCELED, TY_EREADONLY};
    const int n = sizeof codes / sizeof codes[0];
    /* append-only enum: the released values never change */
    CHECK_EQ_INT(TY_OK, 0);
    CHECK_EQ_INT(TY_ENOMEM, -1);
    CHECK_EQ_INT(TY_EUTF8, -4);
    CHECK_EQ_INT(TY_ENOTFOUND, -9);
    CHECK_EQ_INT(TY_EUNSUPPORTED, -14);
    CHECK_EQ_INT(TY_ECANCELED, -15);
    CHECK_EQ_INT(TY_EREADONLY, -16);
    for (int i = 0; i < n; i++) {
        const char *s = ty_strerror(codes[i]);
        CHECKF(s && *s, "ty_strerror(%d) empty", codes[i]);
        for (int j = 0; j < i; j++)
            CHECKF(strcmp(s, ty_strerror(codes[j])) != 0, "codes %d and %d share '%s'", codes[i],
                   codes[j], s);
    }
    CHECK(ty_strerror(12345) != NULL && *ty_strerror(12345));
    CHECK(ty_strerror(-100) != NULL);
    CHECK_EQ_STR(ty_version(), TY_VERSION_STRING);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", TY_VERSION_MAJOR, TY_VERSION_MINOR, TY_VERSION_PATCH);
    CHECK_EQ_STR(ty_version(), v);
    /* free(NULL)-style no-ops */
    ty_doc_free(NULL);
    ty_aligner_free(NULL);
    CHECK(ty_doc_errmsg(NULL) != NULL);
    CHECK(ty_aligner_errmsg(NULL) != NULL);
}

int main(void)
{
    static const ck_test_t tests[] = {CK_TEST(test_invalid_utf8_strict),
                                      CK_TEST(test_invalid_utf8_replace),
                                      CK_TEST(test_nul_is_binary),
                                      CK_TEST(test_empty_document),
                                      CK_TEST(test_too_big),
                                      CK_TEST(test_load_file_matches_mem),
                                      CK_TEST(test_missing_file_and_directory),
                                      CK_TEST(test_stdin),
                                      CK_TEST(test_reload_replaces),
                                      CK_TEST(test_failed_reload_leaves_no_stale_content),
                                      CK_TEST(test_opts),
                                      CK_TEST(test_other_opts_check),
                                      CK_TEST(test_strerror_and_version)};
    return ck_main("test_doc", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_test_doc");
}
