/*
 * test_dedup_state.c — a dedup run's state saved and loaded (ty_dedup_save_state,
 * ty_dedup_load_state, ty_dedup_commit_state): the decisions of a run that loads a state
 * equal those of one run over everything, in the three modes and whatever the threads; the
 * calls in the wrong order, the lock, an uncommitted save, a state of another mode.
 * The CLI side (--against, --save-index, damaged files) is tests/dedup.sh's.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "check.h"
#include "tongyuan.h"

static char tmp[512];

/* The texts: tests/data/text's documents, then copies of some of them (verbatim, and with a
 * few characters changed). */
#define NDOCS 26
static char *text[NDOCS], name[NDOCS][64];
static size_t len[NDOCS];

static int load_texts(void)
{
    DIR *d = opendir(ck_data("."));
    if (!d)
        return -1;
    struct dirent *e;
    char *names[64];
    int n = 0;
    while ((e = readdir(d)) && n < 64)
        if (strstr(e->d_name, ".txt"))
            names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++) /* name order: the same documents everywhere */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    int k = 0;
    for (int i = 0; i < n && k < 18; i++, k++) {
        text[k] = ck_slurp(ck_data(names[i]), &len[k]);
        snprintf(name[k], sizeof name[k], "%s", names[i]);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    if (k < 18)
        return -1;
    for (int c = 0; k < NDOCS; k++, c++) {
        int src = (c * 5) % 18;
        text[k] = malloc(len[src] + 1);
        memcpy(text[k], text[src], len[src] + 1);
        len[k] = len[src];
        if (c % 2) /* an edited copy: ASCII letters in the first part become 'x' */
            for (size_t b = 0; b < len[k] / 3; b += 41)
                if (text[k][b] >= 'a' && text[k][b] <= 'z')
                    text[k][b] = 'x';
        char base[64];
        memcpy(base, name[src], sizeof base);
        snprintf(name[k], sizeof name[k], "copy-%d-of-%.40s", c, base);
    }
    return 0;
}

static ty_dedup_t *make(int mode, int threads)
{
    ty_dedup_opts_t o;
    ty_dedup_opts_init(&o);
    o.mode = mode;
    o.batch = 16;
    o.threads = threads;
    ty_opts_t to;
    ty_opts_init(&to);
    return ty_dedup_new(&o, &to, NULL, NULL);
}

static void add_range(ty_dedup_t *dd, int beg, int end)
{
    for (int i = beg; i < end; i++)
        CHECK_EQ_INT(ty_dedup_add(dd, name[i], text[i], len[i]), TY_OK);
}

/* The state directory of test `what` (one buffer: valid until the next call). */
static const char *state_dir(const char *what)
{
    static char buf[600];
    snprintf(buf, sizeof buf, "%s/%s", tmp, what);
    return buf;
}

/* One run over all documents; a run over the first split saved; a run that loads it over the
 * rest (threads: 2). The decisions for the rest are the same, and the loaded run names the
 * earlier documents as they were added. */
static void same_as_one_run(int mode)
{
    const char *dir = state_dir(mode == 0 ? "exact" : mode == 1 ? "near" : "spun");
    const int split = 19; /* 16 + 3: the last batch of the first run is partial */
    ty_dedup_t *all = make(mode, 1), *a = make(mode, 1), *b = make(mode, 2);
    CHECK(all && a && b);
    if (!all || !a || !b)
        return;
    add_range(all, 0, NDOCS);
    CHECK_EQ_INT(ty_dedup_finish(all), TY_OK);
    CHECK_EQ_INT(ty_dedup_save_state(a, dir), TY_OK);
    add_range(a, 0, split);
    CHECK_EQ_INT(ty_dedup_finish(a), TY_OK);
    CHECK_EQ_INT(ty_dedup_commit_state(a), TY_OK);
    CHECKF(ty_dedup_load_state(b, dir) == TY_OK, "load: %s", ty_dedup_errmsg(b));
    CHECK_EQ_UINT(ty_dedup_count(b), (unsigned)split);
    CHECK_EQ_STR(ty_dedup_name(b, 3), name[3]);
    add_range(b, split, NDOCS);
    CHECK_EQ_INT(ty_dedup_finish(b), TY_OK);
    int removed = 0;
    for (int i = split; i < NDOCS; i++) {
        ty_dedup_result_t x, y;
        CHECK_EQ_INT(ty_dedup_result(all, (size_t)i, &x), TY_OK);
        CHECK_EQ_INT(ty_dedup_result(b, (size_t)i, &y), TY_OK);
        CHECKF(x.cluster == y.cluster && x.keep == y.keep && x.dup_of == y.dup_of &&
                   x.similarity == y.similarity && x.containment == y.containment,
               "mode %d, document %d: cluster %zu/%zu keep %d/%d dup_of %zu/%zu", mode, i,
               x.cluster, y.cluster, x.keep, y.keep, x.dup_of, y.dup_of);
        removed += !y.keep && y.dup_of < (size_t)split;
    }
    CHECKF(removed >= 3, "mode %d: %d copies of earlier documents removed", mode, removed);
    ty_dedup_free(all);
    ty_dedup_free(a);
    ty_dedup_free(b);
}

static void test_exact(void) { same_as_one_run(0); }
static void test_near(void) { same_as_one_run(1); }
static void test_spun(void) { same_as_one_run(2); }

static void test_order(void)
{
    const char *dir = state_dir("order");
    ty_dedup_t *dd = make(0, 1);
    CHECK_EQ_INT(ty_dedup_commit_state(dd), TY_EINVAL); /* nothing saved */
    CHECK_EQ_INT(ty_dedup_save_state(dd, dir), TY_OK);
    CHECK_EQ_INT(ty_dedup_save_state(dd, dir), TY_EINVAL); /* twice */
    add_range(dd, 0, 2);
    CHECK_EQ_INT(ty_dedup_load_state(dd, dir), TY_EINVAL); /* after documents */
    CHECK_EQ_INT(ty_dedup_commit_state(dd), TY_EINVAL);    /* before finish */
    CHECK_EQ_INT(ty_dedup_finish(dd), TY_OK);
    ty_dedup_free(dd); /* not committed: nothing left */
    char p[700];
    struct stat st;
    snprintf(p, sizeof p, "%s/dedup.state", dir);
    CHECK(stat(p, &st) != 0);
    snprintf(p, sizeof p, "%s/dedup.state.tmp", dir);
    CHECK(stat(p, &st) != 0);
    CHECK_EQ_INT(ty_dedup_load_state(NULL, dir), TY_EINVAL);
    ty_dedup_t *e = make(1, 1);
    CHECK_EQ_INT(ty_dedup_load_state(e, dir), TY_ENOTFOUND); /* no state there */
    CHECK_CONTAINS(ty_dedup_errmsg(e), "dedup.state");
    ty_dedup_free(e);
}

static void test_lock(void)
{
    const char *dir = state_dir("lock");
    ty_dedup_t *a = make(0, 1), *b = make(0, 1);
    CHECK_EQ_INT(ty_dedup_save_state(a, dir), TY_OK);
    CHECK_EQ_INT(ty_dedup_save_state(b, dir), TY_EBUSY);
    CHECK_CONTAINS(ty_dedup_errmsg(b), "another dedup run");
    ty_dedup_free(a); /* the lock goes with the handle */
    ty_dedup_free(b);
    b = make(0, 1);
    CHECK_EQ_INT(ty_dedup_save_state(b, dir), TY_OK);
    ty_dedup_free(b);
}

/* A state of exact mode is not one of near mode: refused, the message naming the mode. */
static void test_other_mode(void)
{
    const char *dir = state_dir("mode");
    ty_dedup_t *a = make(0, 1), *b = make(1, 1);
    CHECK_EQ_INT(ty_dedup_save_state(a, dir), TY_OK);
    add_range(a, 0, 3);
    CHECK_EQ_INT(ty_dedup_finish(a), TY_OK);
    CHECK_EQ_INT(ty_dedup_commit_state(a), TY_OK);
    CHECK_EQ_INT(ty_dedup_load_state(b, dir), TY_EVERSION);
    CHECK_CONTAINS(ty_dedup_errmsg(b), "made with --mode exact, this run has --mode near");
    add_range(b, 0, 1); /* the handle is still usable: nothing was loaded */
    CHECK_EQ_INT(ty_dedup_finish(b), TY_OK);
    ty_dedup_free(a);
    ty_dedup_free(b);
}

int main(void)
{
    if (ck_tmpdir(tmp, sizeof tmp, "test_dedup_state") || load_texts()) {
        fprintf(stderr, "test_dedup_state: no temporary directory or no test texts\n");
        return 1;
    }
    RUN(test_exact);
    RUN(test_near);
    RUN(test_spun);
    RUN(test_order);
    RUN(test_lock);
    RUN(test_other_mode);
    int rc = ck_summary("test_dedup_state");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "test_dedup_state: %s not removed\n", tmp);
    for (int i = 0; i < NDOCS; i++)
        free(text[i]);
    return rc;
}
