/*
 * output.c — the files the commands write (-o, --pairs-out, --write-kept, --html): never an
 * input, and whole or not at all.
 *
 * An output is refused when it is the same file (device and inode) as one of the command's
 * inputs or the same path as another of its outputs: `dedup in.jsonl -o in.jsonl` used to
 * truncate its input before reading it. Otherwise it is written to a temporary file in the
 * destination's directory (".NAME.tmp-XXXXXX": same file system, so the rename is atomic) and
 * renamed over the destination only when everything was written and synced; a failure or a
 * signal leaves the old file as it was and removes the temporary one. Standard output ("-")
 * and special files (/dev/null, a FIFO, a terminal) are written directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* ---- temporary files removed on a fatal signal -------------------------------------------- */

#define MAX_TMP 8
static char tmp_paths[MAX_TMP][PATH_MAX + 32];
static volatile sig_atomic_t tmp_used[MAX_TMP];
static const char *volatile tmp_dir; /* a library's temporary directory (its buffer) */
static int handlers_set;

static void on_signal(int sig)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (tmp_used[i])
            unlink(tmp_paths[i]); /* async-signal-safe */
    const char *d = tmp_dir;
    if (d && d[0])
        rmdir(d); /* empty: the library's files there have no names */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void set_handlers(void)
{
    if (!handlers_set) {
        handlers_set = 1;
        int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
            struct sigaction sa;
            if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
                continue; /* ignored on purpose (nohup): leave it so */
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_signal;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
}

static int tmp_register(const char *path)
{
    set_handlers();
    for (int i = 0; i < MAX_TMP; i++)
        if (!tmp_used[i] && strlen(path) < sizeof tmp_paths[i]) {
            strcpy(tmp_paths[i], path);
            tmp_used[i] = 1;
            return i;
        }
    return -1;
}

static void tmp_unregister(int slot)
{
    if (slot >= 0)
        tmp_used[slot] = 0;
}

int cli_tmp_watch(const char *path) { return tmp_register(path); }
void cli_tmp_unwatch(int slot) { tmp_unregister(slot); }

void cli_tmp_watch_dir(const char *live)
{
    set_handlers();
    tmp_dir = live;
}

/* ---- inputs and outputs of one command ------------------------------------------------------- */

int cli_files_add_input(cli_files_t *fs, const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* nothing an output could be the same file as */
    if (fs->nin == fs->min) {
        size_t m = fs->min ? 2 * fs->min : 8;
        cli_file_id_t *a = realloc(fs->in, m * sizeof(*a));
        if (!a)
            return -1;
        fs->in = a;
        fs->min = m;
    }
    fs->in[fs->nin++] = (cli_file_id_t){st.st_dev, st.st_ino, path};
    return 0;
}

void cli_files_free(cli_files_t *fs)
{
    free(fs->in);
    for (size_t i = 0; i < fs->nout; i++)
        free(fs->out[i]);
    free(fs->out);
    memset(fs, 0, sizeof(*fs));
}

/* dir/base of path with dir made absolute and free of symbolic links (the file need not exist) */
static char *canonical(const char *path)
{
    char *full = realpath(path, NULL);
    if (full)
        return full;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const char *base = slash ? slash + 1 : path;
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    char *d = realpath(dir, NULL);
    if (!d)
        return NULL;
    size_t n = strlen(d) + strlen(base) + 2;
    full = malloc(n);
    if (full)
        snprintf(full, n, "%s%s%s", d, strcmp(d, "/") ? "/" : "", base);
    free(d);
    return full;
}

int cli_files_check_output(cli_files_t *fs, const char *what, const char *path,
                           const ty_reader_t *r)
{
    if (strcmp(path, "-") == 0)
        return 0;
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tongyuan: %s %s: is a directory\n", what, path);
        return -1;
    }
    if (exists && S_ISREG(st.st_mode)) {
        for (size_t i = 0; i < fs->nin; i++)
            if (fs->in[i].dev == st.st_dev && fs->in[i].ino == st.st_ino) {
                fprintf(stderr,
                        "tongyuan: %s %s: that is the input %s; refusing to overwrite an input "
                        "(write the result to another file)\n",
                        what, path, fs->in[i].path);
                return -1;
            }
        const char *in = NULL;
        if (r && ty_reader_find_file(r, path, &in) == 1) {
            fprintf(stderr,
                    "tongyuan: %s %s: that is the input %s; refusing to overwrite an input "
                    "(write the result to another file)\n",
                    what, path, in);
            return -1;
        }
    }
    char *c = canonical(path);
    if (!c) {
        fprintf(stderr, "tongyuan: %s %s: %s\n", what, path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < fs->nout; i++)
        if (strcmp(fs->out[i], c) == 0) {
            fprintf(stderr, "tongyuan: %s %s: the same file is given for two outputs\n", what,
                    path);
            free(c);
            return -1;
        }
    if (fs->nout == fs->mout) {
        size_t m = fs->mout ? 2 * fs->mout : 4;
        char **a = realloc(fs->out, m * sizeof(*a));
        if (!a) {
            free(c);
            fprintf(stderr, "tongyuan: out of memory\n");
            return -1;
        }
        fs->out = a;
        fs->mout = m;
    }
    fs->out[fs->nout++] = c;
    return 0;
}

/* ---- writing one output ------------------------------------------------------------------- */

int cli_out_open(cli_out_t *o, const char *what, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->what = what;
    o->path = path;
    o->slot = -1;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) { /* /dev/null, a FIFO, a terminal: write directly */
        o->f = fopen(path, "w");
        if (!o->f) {
            fprintf(stderr, "tongyuan: %s %s: %s\n", what, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    o->dest = canonical(path); /* a symbolic link is followed: its target gets the output */
    if (!o->dest) {
        fprintf(stderr, "tongyuan: %s %s: %s\n", what, path, strerror(errno));
        return -1;
    }
    const char *slash = strrchr(o->dest, '/');
    size_t n = strlen(o->dest) + 32;
    o->tmp = malloc(n);
    if (!o->tmp) {
        fprintf(stderr, "tongyuan: out of memory\n");
        return cli_out_abort(o), -1;
    }
    snprintf(o->tmp, n, "%.*s.%s.tmp-XXXXXX", (int)(slash - o->dest + 1), o->dest, slash + 1);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "tongyuan: %s %s: cannot create a file in its directory: %s\n", what, path,
                strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return cli_out_abort(o), -1;
    }
    o->slot = tmp_register(o->tmp);
    /* the mode an ordinary open() would give: the old file's, or 0666 less the umask */
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
    } else {
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    }
    if (fchmod(fd, mode) != 0 || !(o->f = fdopen(fd, "w"))) {
        fprintf(stderr, "tongyuan: %s %s: %s\n", what, o->tmp, strerror(errno));
        close(fd);
        return cli_out_abort(o), -1;
    }
    return 0;
}

void cli_out_abort(cli_out_t *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp) {
        unlink(o->tmp);
        tmp_unregister(o->slot);
    }
    free(o->tmp);
    free(o->dest);
    o->tmp = o->dest = NULL;
}

int cli_out_close(cli_out_t *o)
{
    if (!o->f)
        return 0;
    int err = 0;
    if (o->f == stdout) {
        err = fflush(stdout) != 0 || ferror(stdout) ? errno ? errno : EIO : 0;
        o->f = NULL;
    } else {
        if (fflush(o->f) != 0 || ferror(o->f))
            err = errno ? errno : EIO;
        else if (o->tmp && fsync(fileno(o->f)) != 0)
            err = errno;
        if (fclose(o->f) != 0 && !err)
            err = errno ? errno : EIO;
        o->f = NULL;
        if (!err && o->tmp && rename(o->tmp, o->dest) != 0)
            err = errno;
    }
    if (err) {
        fprintf(stderr, "tongyuan: %s %s: cannot write: %s%s\n", o->what, o->path, strerror(err),
                o->tmp ? " (the old file, if any, is unchanged)" : "");
        cli_out_abort(o);
        return -1;
    }
    tmp_unregister(o->slot);
    free(o->tmp);
    free(o->dest);
    o->tmp = o->dest = NULL;
    return 0;
}
