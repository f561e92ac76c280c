/*
 * fullfs.c — a full disk, simulated for the tests, without root or a small tmpfs: it takes
 * the place of write(), pwrite(), writev() and statvfs() (LMDB writes its pages with pwrite
 * and writev). Built as $(BUILD)/tests/fullfs.so for LD_PRELOAD (tests/serve.sh); a unit
 * test may include this file instead and call fullfs_set().
 *
 *   TY_FULLFS_DIR=DIR     only files below DIR are on the "disk"
 *   TY_FULLFS_BUDGET=FILE FILE holds a decimal number: the bytes by which files below DIR
 *                         may still grow. Read before and rewritten after each write that
 *                         grows a file, so that a test (or several processes) share one
 *                         disk; absent: no limit.
 *
 * As on ext4 or tmpfs, overwriting bytes a file has always succeeds (its blocks are there);
 * a write that grows a file past the budget writes what fits — a short write, which LMDB
 * reports as EIO — or, nothing fitting, fails with ENOSPC. statvfs() of DIR's file system
 * says no block is free once the budget is spent.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

static char fs_dir[4096];         /* "" : not active */
static char fs_budget_file[4096]; /* "" : the budget is fs_budget */
static long long fs_budget = -1;  /* < 0: no limit */
static int fs_init_done;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_statvfs)(const char *, struct statvfs *);

static void fs_init(void)
{
    if (fs_init_done)
        return;
    fs_init_done = 1;
    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    real_statvfs = (int (*)(const char *, struct statvfs *))dlsym(RTLD_NEXT, "statvfs");
    const char *d = getenv("TY_FULLFS_DIR"), *b = getenv("TY_FULLFS_BUDGET");
    if (d && *d && !fs_dir[0])
        snprintf(fs_dir, sizeof fs_dir, "%s", d);
    if (b && *b && !fs_budget_file[0])
        snprintf(fs_budget_file, sizeof fs_budget_file, "%s", b);
}

/* For a test that includes this file: files below dir may grow by budget bytes in all
 * (budget < 0: no limit; dir NULL: off). */
void fullfs_set(const char *dir, long long budget);
void fullfs_set(const char *dir, long long budget)
{
    fs_init();
    snprintf(fs_dir, sizeof fs_dir, "%s", dir ? dir : "");
    fs_budget_file[0] = 0;
    fs_budget = budget;
}

static long long budget_get(void)
{
    if (!fs_budget_file[0])
        return fs_budget;
    int fd = open(fs_budget_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char b[64];
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0)
        return -1;
    b[n] = 0;
    return strtoll(b, NULL, 10);
}

static void budget_put(long long v)
{
    if (!fs_budget_file[0]) {
        fs_budget = v;
        return;
    }
    char b[64];
    int n = snprintf(b, sizeof b, "%lld\n", v);
    int fd = open(fs_budget_file, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd >= 0) {
        if (real_write(fd, b, (size_t)n) != n) {
            /* the test's own file: nothing to do but leave it */
        }
        close(fd);
    }
}

static int below(const char *path)
{
    size_t n = strlen(fs_dir);
    return n && strncmp(path, fs_dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* How many of len bytes at off may be written to fd (-1: ENOSPC); *size: the file's size. */
static long long allowed(int fd, off_t off, size_t len, long long *budget, off_t *size)
{
    fs_init();
    *budget = -1;
    if (!fs_dir[0])
        return (long long)len;
    struct stat st;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t pl = readlink(link, path, sizeof path - 1);
    if (pl <= 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return (long long)len;
    path[pl] = 0;
    if (!below(path))
        return (long long)len;
    *budget = budget_get();
    *size = st.st_size;
    if (*budget < 0 || (long long)off + (long long)len <= (long long)st.st_size + *budget)
        return (long long)len;
    long long fit = (long long)st.st_size + *budget - (long long)off;
    return fit > 0 ? fit : -1;
}

static void spent(int fd, long long budget, off_t size)
{
    struct stat st;
    if (budget < 0 || fstat(fd, &st) != 0 || st.st_size <= size)
        return;
    long long left = budget - (long long)(st.st_size - size);
    budget_put(left > 0 ? left : 0);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    long long budget;
    off_t size = 0;
    long long ok = allowed(fd, off, len, &budget, &size);
    if (ok < 0) {
        errno = ENOSPC;
        return -1;
    }
    ssize_t r = real_pwrite(fd, buf, (size_t)ok, off);
    spent(fd, budget, size);
    return r;
}

static off_t where(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_APPEND)) {
        struct stat st;
        return fstat(fd, &st) == 0 ? st.st_size : 0;
    }
    off_t o = lseek(fd, 0, SEEK_CUR);
    return o < 0 ? 0 : o;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    fs_init();
    long long budget;
    off_t size = 0;
    long long ok = fs_dir[0] ? allowed(fd, where(fd), len, &budget, &size) : (long long)len;
    if (!fs_dir[0])
        budget = -1;
    if (ok < 0) {
        errno = ENOSPC;
        return -1;
    }
    ssize_t r = real_write(fd, buf, (size_t)ok);
    spent(fd, budget, size);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    fs_init();
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    long long budget = -1;
    off_t size = 0;
    long long ok = fs_dir[0] ? allowed(fd, where(fd), len, &budget, &size) : (long long)len;
    if (ok < 0) {
        errno = ENOSPC;
        return -1;
    }
    if ((size_t)ok == len) {
        ssize_t r = real_writev(fd, iov, n);
        spent(fd, budget, size);
        return r;
    }
    /* what fits: the first ok bytes of the vector */
    struct iovec cut[64];
    int m = 0;
    for (long long left = ok; m < n && m < 64 && left > 0; m++) {
        cut[m] = iov[m];
        if ((long long)cut[m].iov_len > left)
            cut[m].iov_len = (size_t)left;
        left -= (long long)cut[m].iov_len;
    }
    ssize_t r = real_writev(fd, cut, m);
    spent(fd, budget, size);
    return r;
}

int statvfs(const char *path, struct statvfs *vs)
{
    fs_init();
    int r = real_statvfs(path, vs);
    char rp[4096];
    if (r == 0 && fs_dir[0] && realpath(path, rp) && below(rp) && budget_get() == 0)
        vs->f_bavail = vs->f_bfree = 0;
    return r;
}
