/*
 * check.h — the unit tests' assertion framework: one header, no library, no setup.
 *
 *   static void test_sum(void) { CHECK_EQ_INT(1 + 1, 2); }
 *   int main(void) { RUN(test_sum); return ck_summary("test_example"); }
 *
 * A test case is one RUN(). A failed CHECK prints file:line, the expression and both values,
 * and does not stop the test: the checks after it still run, so one run shows every broken
 * expectation (only the first CK_MAX_REPORT failures of a test are printed; loops over a
 * million code points stay readable). ck_summary() prints "NAME: N passed, N failed" (test
 * cases) and returns the exit status; tests/run.sh adds these lines up.
 *
 * Each test runs in a forked child: a crash, a sanitizer report or a hang fails that test,
 * not the whole binary. Tests share nothing but what main() set up before them; a test must
 * not leave state for the next. CK_NOFORK=1 runs them in-process (for gdb); CK_VERBOSE=1
 * prints a line for every test.
 *
 * CK_KNOWN_BUG("why") at the top of a test marks a test kept failing on purpose because it
 * shows a library bug not fixed yet: the failure line says so, and if the test passes the
 * summary says the marker can go.
 *
 * Fixtures: ck_data("x.txt") is the path of tests/data/text/x.txt (the directory can be moved
 * with TY_TEST_DATA; tests run from the repository root), ck_slurp() reads a whole file.
 */
#ifndef TY_TEST_CHECK_H
#define TY_TEST_CHECK_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CK_MAX_REPORT 12
#define CK_TIMEOUT 120 /* seconds a test may take */

static int ck_cases_passed, ck_cases_failed; /* test cases */
/* atomic: tests check from several threads (ThreadSanitizer runs them: make test-tsan) */
static _Atomic long ck_checks, ck_fails; /* checks, all tests; failures in this test */
static const char *ck_test = "";         /* the running test */
static const char *ck_bug;               /* CK_KNOWN_BUG() of the running test */

/* Count one check; on failure print where and why (fmt describes the values). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
ck_report(int ok, const char *file, int line, const char *fmt, ...)
{
    ck_checks++;
    if (ok)
        return 1;
    long nf = ++ck_fails;
    if (nf <= CK_MAX_REPORT) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s:%d: %s: ", file, line, ck_test);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    } else if (nf == CK_MAX_REPORT + 1) {
        fprintf(stderr, "%s:%d: %s: (more failures not shown)\n", file, line, ck_test);
    }
    return 0;
}

/* s[0..n) quoted, control bytes escaped, cut after 160 bytes (UTF-8 text stays readable) */
static const char *ck_quote(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    if (!s)
        return "(null)";
    buf[o++] = '"';
    for (size_t i = 0; i < n && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 160) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, size - o, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

#define CHECK(cond) ck_report(!!(cond), __FILE__, __LINE__, "CHECK(%s) failed", #cond)

/* CHECKF(cond, fmt, ...): CHECK with a message of its own (say which item of a loop failed) */
#define CHECKF(cond, ...) ck_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long ck_a = (long long)(a), ck_b = (long long)(b);                                    \
        ck_report(ck_a == ck_b, __FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, ck_a, ck_b); \
    } while (0)

#define CHECK_EQ_UINT(a, b)                                                                        \
    do {                                                                                           \
        unsigned long long ck_a = (unsigned long long)(a), ck_b = (unsigned long long)(b);         \
        ck_report(ck_a == ck_b, __FILE__, __LINE__, "%s == %s: %llu != %llu", #a, #b, ck_a, ck_b); \
    } while (0)

#define CHECK_EQ_HEX(a, b)                                                                      \
    do {                                                                                        \
        unsigned long long ck_a = (unsigned long long)(a), ck_b = (unsigned long long)(b);      \
        ck_report(ck_a == ck_b, __FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, ck_a, \
                  ck_b);                                                                        \
    } while (0)

/* |a - b| <= tol, as doubles (also for offsets that may be off by a few characters) */
#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double ck_a = (double)(a), ck_b = (double)(b);                                     \
        ck_report(fabs(ck_a - ck_b) <= (double)(tol), __FILE__, __LINE__,                  \
                  "%s ~ %s (within %g): %.6g vs %.6g", #a, #b, (double)(tol), ck_a, ck_b); \
    } while (0)

#define CHECK_EQ_MEM(a, alen, b, blen)                                                      \
    do {                                                                                    \
        const char *ck_a = (const char *)(a), *ck_b = (const char *)(b);                    \
        size_t ck_al = (size_t)(alen), ck_bl = (size_t)(blen);                              \
        char ck_q1[512], ck_q2[512];                                                        \
        ck_report(ck_a &&ck_b &&ck_al == ck_bl && memcmp(ck_a, ck_b, ck_al) == 0, __FILE__, \
                  __LINE__, "%s == %s: %s (%zu bytes) != %s (%zu bytes)", #a, #b,           \
                  ck_quote(ck_a, ck_al, ck_q1, sizeof ck_q1), ck_al,                        \
                  ck_quote(ck_b, ck_bl, ck_q2, sizeof ck_q2), ck_bl);                       \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                \
    do {                                                                                  \
        const char *ck_s1 = (a), *ck_s2 = (b);                                            \
        CHECK_EQ_MEM(ck_s1, ck_s1 ? strlen(ck_s1) : 0, ck_s2, ck_s2 ? strlen(ck_s2) : 0); \
    } while (0)

/* the string hay contains needle */
#define CHECK_CONTAINS(hay, needle)                                              \
    do {                                                                         \
        const char *ck_h = (hay), *ck_n = (needle);                              \
        char ck_q1[512], ck_q2[512];                                             \
        ck_report(ck_h &&ck_n &&strstr(ck_h, ck_n) != NULL, __FILE__, __LINE__,  \
                  "%s contains %s: %s does not contain %s", #hay, #needle,       \
                  ck_quote(ck_h, ck_h ? strlen(ck_h) : 0, ck_q1, sizeof ck_q1),  \
                  ck_quote(ck_n, ck_n ? strlen(ck_n) : 0, ck_q2, sizeof ck_q2)); \
    } while (0)

#define CK_KNOWN_BUG(why) (ck_bug = (why))

/* Read n bytes (less at end of file). */
static size_t ck_read_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Run fn in a child process, so that a crash, a sanitizer abort, a leak report or a hang
 * (CK_TIMEOUT seconds) fails this test only and the next tests still run. The child sends
 * back its counts through a pipe. */
static void ck_run_isolated(const char *name, void (*fn)(void))
{
    int fd[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) {
        fn();
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        fn();
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        alarm(CK_TIMEOUT);
        ck_checks = 0;
        fn();
        long r[3] = {ck_checks, ck_fails, (long)(intptr_t)ck_bug};
        if (write(fd[1], r, sizeof r) != (ssize_t)sizeof r)
            _exit(3);
        close(fd[1]);
        fflush(NULL);
        exit(0); /* not _exit: LeakSanitizer checks at exit */
    }
    close(fd[1]);
    long r[3] = {0, 0, 0};
    size_t got = ck_read_all(fd[0], r, sizeof r);
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof r) {
        ck_fails++;
        if (WIFSIGNALED(st))
            fprintf(stderr, "%s: died of signal %d%s\n", name, WTERMSIG(st),
                    WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
        else
            fprintf(stderr, "%s: exited with status %d before its end (sanitizer?)\n", name,
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return;
    }
    ck_checks += r[0];
    ck_fails = r[1];
    ck_bug = (const char *)(intptr_t)r[2]; /* same address in the forked child */
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        ck_fails++;
        fprintf(stderr, "%s: exit status %d after the test (leak report?)\n", name,
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

static void ck_run(const char *name, void (*fn)(void))
{
    ck_test = name;
    ck_fails = 0;
    ck_bug = NULL;
    const char *nofork = getenv("CK_NOFORK"), *verbose = getenv("CK_VERBOSE");
    long before = ck_checks;
    if (nofork && *nofork)
        fn(); /* for debuggers */
    else
        ck_run_isolated(name, fn);
    if (verbose && *verbose)
        fprintf(stderr, "%s %s (%ld checks)\n", ck_fails ? "fail" : "ok  ", name,
                ck_checks - before);
    if (ck_fails) {
        ck_cases_failed++;
        fprintf(stderr, "FAIL %s (%ld failed check%s)%s%s\n", name, ck_fails,
                ck_fails == 1 ? "" : "s", ck_bug ? " — known library bug: " : "",
                ck_bug ? ck_bug : "");
    } else {
        ck_cases_passed++;
        if (ck_bug)
            fprintf(stderr, "note: %s passes now; remove its CK_KNOWN_BUG marker (%s)\n", name,
                    ck_bug);
    }
}
#define RUN(fn) ck_run(#fn, fn)

static int ck_summary(const char *name)
{
    fflush(stdout);
    printf("%s: %d passed, %d failed (%ld checks)\n", name, ck_cases_passed, ck_cases_failed,
           ck_checks);
    return ck_cases_failed ? 1 : 0;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static const char *ck_data(const char *file)
{
    static _Thread_local char buf[8][1024];
    static _Thread_local int slot;
    const char *dir = getenv("TY_TEST_DATA");
    char *p = buf[slot++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir && *dir ? dir : "tests/data/text", file);
    return p;
}

/* Whole file, malloc()ed and NUL-terminated (caller frees); NULL (and a failed check) if it
 * cannot be read. */
static char *ck_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, m = 0, r;
    int ok = f != NULL;
    if (f) {
        for (;;) {
            if (n + 4096 + 1 > m) {
                char *p = realloc(buf, m = (n + 4096 + 1) * 2);
                if (!p) {
                    ok = 0;
                    break;
                }
                buf = p;
            }
            r = fread(buf + n, 1, 4096, f);
            n += r;
            if (r < 4096)
                break;
        }
        fclose(f);
    }
    if (!ck_report(ok && buf, __FILE__, __LINE__, "cannot read fixture %s", path)) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* A fresh temporary directory $TMPDIR/NAME.XXXXXX (or under /tmp) into buf; 0, or -1 after
 * saying why on stderr. A test's main() makes its directory with it. */
static int ck_tmpdir(char *buf, size_t size, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, size, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
    if (!mkdtemp(buf)) {
        perror(buf);
        return -1;
    }
    return 0;
}

/* DIR/NAME, in one of 32 buffers used in turn (valid for the next 31 calls). */
static const char *ck_path(const char *dir, const char *name)
{
    static char buf[32][512];
    static int slot;
    char *p = buf[slot++ % 32];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* A file DIR/NAME holding data[0..len) (a failed check if it cannot be written); its path. */
static const char *ck_put(const char *dir, const char *name, const void *data, size_t len)
{
    const char *p = ck_path(dir, name);
    FILE *f = fopen(p, "wb");
    CHECKF(f != NULL, "cannot create %s", p);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    return p;
}

/* Remove a test's temporary directory (ck_tmpdir) and all it holds; a warning if it cannot. */
static void ck_rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* The main() of a test binary with a temporary directory: tmpdir (tmpsize bytes) made
 * (ck_tmpdir, named after tmpname), each test run (RUN), the directory removed, the summary
 * printed; the exit status.
 *
 *   static const ck_test_t tests[] = {CK_TEST(test_a), CK_TEST(test_b)};
 *   return ck_main("test_x", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_x");
 */
typedef struct {
    const char *name;
    void (*fn)(void);
} ck_test_t;
#define CK_TEST(fn) \
    {               \
#fn, fn     \
    }
#define CK_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int ck_main(const char *name, const ck_test_t *tests, size_t n, char *tmpdir, size_t tmpsize,
                   const char *tmpname)
{
    if (ck_tmpdir(tmpdir, tmpsize, tmpname))
        return 2;
    for (size_t i = 0; i < n; i++)
        ck_run(tests[i].name, tests[i].fn);
    ck_rmtree(tmpdir);
    return ck_summary(name);
}

#endif
