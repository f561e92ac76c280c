/*
 * index_build.c — a new index (TY_INDEX_CREATE, `tongyuan index build`): written to a
 * temporary file next to its path and moved into place by ty_index_finish().
 *
 * What a build keeps apart from an add (index_write.c stores the documents either way):
 *  - the names are held in memory (a random B-tree lookup per document would map most of
 *    the growing file through the kernel's fault-around) and written sorted at the end;
 *  - the postings are held in memory, sorted and spilled into temporary runs when there are
 *    many, and written at the end as exactly one segment (index_merge.c);
 *  - nothing is synced until the end: the file is not in place before it is complete.
 *
 * Replacing an existing file: only an index (or nothing) is replaced — a file that is not an
 * index is refused at the open, before anything is read. And never while a writer has the
 * index open (TY_EBUSY): its commits would go on into the old, unlinked file and be lost.
 * Writers hold a shared flock() on the file (index_part.c); the build checks at the open
 * (to fail before the work) and holds the exclusive lock across the rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_impl.h"

#define BUILD_COMMIT ((size_t)32 << 20) /* build: commit the postings every 32 MB */

typedef struct {
    uint8_t key[16];
    uint32_t id;
} name_ent_t;

/* The names so far: a set of the entries of names.a, by key (a hash already: its first bytes
 * are the home). */
static inline const uint8_t *name_at(const name_ent_t *names, size_t i) { return names[i].key; }
static inline size_t name_home(const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, 8);
    return (size_t)h;
}
#define NAME_EQ(a, b) (memcmp((a), (b), 16) == 0)
TY_HASH_IDX_INIT(nametab, const name_ent_t *, const uint8_t *, name_at, name_home, NAME_EQ)

struct ty_build {
    char *tmp;           /* the temporary file */
    TY_VEC(pair_t) pend; /* postings not yet in a run */
    pair_t *sorted;      /* sort buffer */
    size_t sorted_cap;
    ty_runs_t *runs;
    TY_VEC(name_ent_t) names; /* the names of the documents so far */
    nametab_t tab;            /* and their set */
};

static void lock_path(const char *p, char *out, size_t n) { snprintf(out, n, "%s-lock", p); }

void ty__build_free(ty_index_t *ix)
{
    struct ty_build *b = ix->build;
    if (!b)
        return;
    if (b->tmp && !ix->finished) {
        char lp[4200];
        if (ix->part)
            ty__part_close(&ix->part[0]); /* the environment, before its file goes */
        unlink(b->tmp);
        lock_path(b->tmp, lp, sizeof lp);
        unlink(lp);
    }
    ty__runs_free(b->runs);
    TY_FREE(b->pend.a, b->sorted, b->names.a);
    nametab_free(&b->tab);
    free(b->tmp);
    free(b);
    ix->build = NULL;
}

int ty__build_open(ty_index_t *ix, const ty_index_opts_t *io)
{
    char tmp[4096], lp[4200];
    /* only an index is replaced, and not under a writer's feet (see the top) */
    int rc = ty__probe_replace(ix->path, ix->err);
    int lfd = -1;
    if (!rc)
        rc = ty__lock_replace(ix->path, &lfd, ix->err);
    if (lfd >= 0)
        close(lfd);
    if (rc)
        return rc;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ix->path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ty__err(ix->err, TY_EINVAL, "%s: path too long", ix->path);
    struct ty_build *b = ix->build = calloc(1, sizeof(*b));
    ix->part = calloc(1, sizeof(ty_part_t));
    if (!b || !ix->part || !(b->tmp = strdup(tmp)))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    ix->nparts = 1;
    ty__part_init(&ix->part[0]);
    unlink(tmp);
    lock_path(tmp, lp, sizeof lp);
    unlink(lp);
    /* fail early, with the user's path in the message, if the directory is not writable */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return ty__err(ix->err, TY_EIO, "%s: cannot create %s: %s", ix->path, tmp, strerror(errno));
    close(fd);
    rc = ty__part_create(&ix->part[0], ix->path, tmp, io, ix->err);
    ix->hdr = ix->part[0].hdr;
    return rc;
}

/* ---- the names, in memory ------------------------------------------------------------------ */

int ty__build_name(ty_index_t *ix, const uint8_t key[16], uint32_t *id)
{
    struct ty_build *b = ix->build;
    int isnew;
    if (ty_vec_reserve(b->names, b->names.n + 1))
        return TY_ENOMEM;
    size_t i = nametab_put(&b->tab, b->names.a, key, b->names.n, &isnew);
    if (i == SIZE_MAX)
        return TY_ENOMEM;
    if (!isnew) {
        *id = b->names.a[i].id;
        return 1;
    }
    name_ent_t *e = &b->names.a[b->names.n++];
    memcpy(e->key, key, 16);
    e->id = *id;
    return 0;
}

#define SKIPPED_NAME UINT32_MAX /* a name given to ty_index_skip_names(): not ours */

int ty_index_skip_names(ty_index_t *ix, const char *const *names, size_t n)
{
    if (!ix || (n && !names))
        return TY_EINVAL;
    if (ix->shards)
        return ty__shards_readonly(ix, "add documents");
    if (!ix->build || ix->mode != TY_INDEX_CREATE || ix->finished)
        return ty__err(ix->err, TY_EINVAL, "%s: names to skip are given to a new index only",
                       ix->path ? ix->path : "index");
    for (size_t i = 0; i < n; i++) {
        uint8_t key[16];
        uint32_t id = SKIPPED_NAME;
        ty__name_key(names[i], strlen(names[i]), key);
        if (ty__build_name(ix, key, &id) < 0)
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

static int cmp_name_ent(const void *a, const void *b)
{
    return memcmp(((const name_ent_t *)a)->key, ((const name_ent_t *)b)->key, 16);
}

/* Write the names table, sorted (appended), committing on the way. */
static int flush_names(ty_index_t *ix, MDB_txn **txnp)
{
    struct ty_build *b = ix->build;
    ty_part_t *pt = &ix->part[0];
    if (!b->names.n)
        return TY_OK;
    nametab_free(&b->tab); /* not needed any more: room for the sort */
    qsort(b->names.a, b->names.n, sizeof(name_ent_t), cmp_name_ent);
    MDB_cursor *c;
    int rc = mdb_cursor_open(*txnp, pt->names, &c);
    for (size_t i = 0; !rc && i < b->names.n; i++) {
        uint32_t id = b->names.a[i].id;
        if (id == SKIPPED_NAME)
            continue;
        uint8_t le[4];
        ty__le32(le, id);
        MDB_val k = {16, b->names.a[i].key}, v = {4, le};
        rc = mdb_cursor_put(c, &k, &v, MDB_APPEND);
        if (!rc && (i + 1) % 500000 == 0) { /* a build's file is not in place: commit freely */
            mdb_cursor_close(c);
            rc = mdb_txn_commit(*txnp);
            *txnp = NULL;
            if (!rc)
                rc = mdb_txn_begin(pt->env, NULL, 0, txnp);
            if (!rc)
                rc = mdb_cursor_open(*txnp, pt->names, &c);
            if (rc)
                c = NULL;
        }
    }
    if (c)
        mdb_cursor_close(c);
    return rc ? ty__mdb_err(ix->err, pt->path, rc, "writing names") : TY_OK;
}

/* ---- the postings, in memory and in runs ---------------------------------------------------- */

static int sort_pend(struct ty_build *b, char *err)
{
    if (b->sorted_cap < b->pend.n) {
        free(b->sorted);
        b->sorted = malloc(b->pend.n * sizeof(pair_t));
        b->sorted_cap = b->sorted ? b->pend.n : 0;
        if (!b->sorted)
            return ty__err(err, TY_ENOMEM, "out of memory");
    }
    ty__sort_pairs(b->pend.a, b->sorted, b->pend.n);
    return TY_OK;
}

int ty__build_postings(ty_index_t *ix, uint32_t id, const uint64_t *h, size_t nh, size_t run_pairs)
{
    struct ty_build *b = ix->build;
    /* the run buffer at its final size at once: doubling would overshoot it by half */
    if (!b->pend.m && ty_vec_reserve(b->pend, run_pairs + 65536))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (ty_vec_reserve(b->pend, b->pend.n + nh))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    for (size_t i = 0; i < nh; i++)
        b->pend.a[b->pend.n++] = (pair_t){h[i], id, 0};
    if (b->pend.n >= run_pairs) {
        int rc = sort_pend(b, ix->err);
        if (!rc)
            rc = ty__run_from_pairs(&b->runs, b->tmp, b->pend.a, b->pend.n, ix->err, ix->path);
        if (rc)
            return rc;
        b->pend.n = 0;
    }
    return TY_OK;
}

/* ---- finishing ------------------------------------------------------------------------------- */

int ty_index_finish(ty_index_t *ix)
{
    if (!ix || !ix->build || ix->mode != TY_INDEX_CREATE || ix->finished)
        return TY_EINVAL;
    if (ix->broken)
        return ty__err(ix->err, TY_EINVAL, "%s: an earlier error left the new index incomplete",
                       ix->path);
    struct ty_build *b = ix->build;
    ty_part_t *pt = &ix->part[0];
    int rc = TY_OK;
    if (b->pend.n && (rc = sort_pend(b, ix->err)) != TY_OK)
        return rc;
    free(b->sorted);
    b->sorted = NULL;
    b->sorted_cap = 0;
    MDB_txn *txn;
    if ((rc = ty__part_txn(pt, 0, &txn, ix->err)))
        return rc;
    index_counts_t c;
    rc = ty__counts_get(pt, txn, &c, ix->err);
    if (!rc && !ty__runs_count(b->runs)) {
        rc = ty__segment_from_pairs(pt, &txn, b->pend.a, b->pend.n, &c, BUILD_COMMIT, ix->err);
    } else if (!rc) {
        if (b->pend.n)
            rc = ty__run_from_pairs(&b->runs, b->tmp, b->pend.a, b->pend.n, ix->err, ix->path);
        if (!rc)
            rc = ty__merge_runs(pt, &txn, b->runs, &c, BUILD_COMMIT, ix->err);
    }
    free(b->pend.a);
    b->pend.a = NULL;
    b->pend.n = b->pend.m = 0;
    if (!rc)
        rc = flush_names(ix, &txn);
    free(b->names.a);
    nametab_free(&b->tab);
    b->names.a = NULL;
    b->names.n = b->names.m = 0;
    if (!rc)
        rc = ty__counts_put(pt, txn, &c, ix->err);
    if (rc) {
        if (txn)
            mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return ty__mdb_err(ix->err, pt->path, rc, "commit");
    if ((rc = mdb_env_sync(pt->env, 1)))
        return ty__mdb_err(ix->err, pt->path, rc, "sync");
    ty__runs_free(b->runs);
    b->runs = NULL;
    /* the old file, locked against writers until the new one is in place */
    int lfd = -1;
    if ((rc = ty__lock_replace(ix->path, &lfd, ix->err)) != TY_OK)
        return rc;
    ty__part_close(pt);
    /* A process that still has an old INDEX open keeps its lock file: LMDB readers take
     * the last transaction id from there, which belongs to the old file. Unlink it so that
     * the new file gets a lock file of its own (the old processes keep the old pair). */
    char olp[4200];
    lock_path(ix->path, olp, sizeof olp);
    unlink(olp);
    if (rename(b->tmp, ix->path) != 0) {
        rc = ty__err(ix->err, TY_EIO, "%s: cannot move %s into place: %s", ix->path, b->tmp,
                     strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return rc;
    }
    if (lfd >= 0)
        close(lfd);
    ix->finished = 1;
    char lp[4200];
    lock_path(b->tmp, lp, sizeof lp);
    unlink(lp);
    /* reopen read-only so that stats and queries work on the finished index */
    return ty__part_open(pt, ix->path, TY_INDEX_READ, NULL, ix->err);
}
