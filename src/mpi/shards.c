/*
 * shards.c — the sharded index build across the ranks of an MPI job (ty_mshards_*, see
 * tongyuan_mpi.h): each rank reads its share of the input (ty_mpi_share: consecutive runs in
 * input order) and builds DIR/shard-RRRR, an ordinary index, with the single-process code
 * (ty_index_add_docs). When every rank has finished, the ranks, each over its part of the
 * key space:
 *   - find the document names held by more than one shard (ty_index_shards_dup_names): one
 *     index keeps the first and skips the later ones, so the names are gathered and each
 *     shard holding some builds itself again with them taken as indexed
 *     (ty_index_skip_names) — the same documents and ids as one index;
 *   - count, for each distinct minimizer, its documents over all shards: the histogram of
 *     those counts (ty_index_shards_df_hist, summed on rank 0),
 * and rank 0 writes DIR/MANIFEST, the commit point (ty_index_shards_commit). Rank 0 removes an
 * old MANIFEST before anything else: while the build runs, and after a failure, DIR is
 * refused by ty_index_open().
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xchg.h"

struct ty_mshards {
    ty__mpi_t x;
    char *dir, *shard; /* DIR, DIR/shard-RRRR */
    ty_reader_opts_t ro;
    ty_opts_t o;
    ty_index_opts_t io;
    char **paths; /* copied by ty_mshards_build, for the rebuild */
    int npaths;
    char *names; /* the gathered names in several shards */
    char **skip; /* ...this rank's shard skips these (pointers into names) */
    size_t nskip;
    int any_dups; /* some shard holds a name an earlier one holds */
};

ty_mshards_t *ty_mshards_new(MPI_Comm comm, const char *dir, const ty_reader_opts_t *ro,
                             const ty_opts_t *o, const ty_index_opts_t *io)
{
    ty_mshards_t *s = calloc(1, sizeof(*s));
    if (!s || !dir)
        return (free(s), NULL);
    if (ty__mpi_open(&s->x, comm)) {
        free(s);
        return NULL;
    }
    if (ro)
        s->ro = *ro;
    else
        ty_reader_opts_init(&s->ro);
    if (o)
        s->o = *o;
    else
        ty_opts_init(&s->o);
    if (io)
        s->io = *io;
    else
        ty_index_opts_init(&s->io);
    size_t l = strlen(dir) + 32;
    s->dir = strdup(dir);
    s->shard = malloc(l);
    if (!s->dir || !s->shard) {
        ty_mshards_free(s);
        return NULL;
    }
    snprintf(s->shard, l, "%s/shard-%04d", dir, s->x.rank);
    return s;
}

void ty_mshards_free(ty_mshards_t *s)
{
    if (!s)
        return;
    ty__mpi_close(&s->x);
    for (int i = 0; i < s->npaths; i++)
        free(s->paths[i]);
    TY_FREE(s->paths, s->dir, s->shard, s->names, s->skip, s);
}

const ty_mpi_err_t *ty_mshards_err(const ty_mshards_t *s)
{
    static const ty_mpi_err_t none = {1, 0, "no sharded build"};
    return s ? &s->x.err : &none;
}

/* Rank 0: DIR exists as a directory, with no MANIFEST and no shard numbered nshards or
 * more (left by an earlier build with more ranks). */
static int prepare_dir(ty_mshards_t *s)
{
    ty__mpi_t *x = &s->x;
    const char *dir = s->dir;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return ty__mpi_local(x, TY_EINVAL,
                                 "%s exists and is not a directory: a sharded index is a "
                                 "directory of shards",
                                 dir);
    } else if (mkdir(dir, 0777) != 0) {
        return ty__mpi_local(x, TY_EIO, "cannot create %s: %s", dir, strerror(errno));
    }
    size_t l = strlen(dir) + 300;
    char *p = malloc(l);
    if (!p)
        return ty__mpi_local(x, TY_ENOMEM, "out of memory");
    snprintf(p, l, "%s/MANIFEST", dir);
    if (unlink(p) != 0 && errno != ENOENT) {
        int rc = ty__mpi_local(x, TY_EIO, "cannot remove %s: %s", p, strerror(errno));
        free(p);
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        free(p);
        return ty__mpi_local(x, TY_EIO, "%s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned n;
        int len = 0;
        if (sscanf(e->d_name, "shard-%u%n", &n, &len) != 1 || n < (unsigned)x->size ||
            (e->d_name[len] && strcmp(e->d_name + len, "-lock") != 0))
            continue;
        snprintf(p, l, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    free(p);
    return TY_OK;
}

/* Build this rank's shard from its share of the input, taking the names in s->skip as
 * indexed already. Collective up to the share; with only_if_skip, a rank with nothing to
 * skip reads and builds nothing (its shard stays). This rank's status: the caller agrees. */
static int build_shard(ty_mshards_t *s, const ty_index_add_opts_t *ao, int only_if_skip)
{
    ty__mpi_t *x = &s->x;
    ty_reader_t *all = ty_reader_new(&s->ro), *mine = ty_reader_new(&s->ro);
    if (!all || !mine)
        ty__mpi_local(x, TY_ENOMEM, "rank %d: out of memory", x->rank);
    for (int i = 0; !x->lfail && i < s->npaths; i++)
        if (strcmp(s->paths[i], "-") == 0)
            ty__mpi_local(x, TY_EINVAL, "a sharded build cannot read standard input");
        else if (ty_reader_add(all, s->paths[i]) != TY_OK)
            ty__mpi_local(x, TY_EIO, "rank %d: %s", x->rank, ty_reader_errmsg(all));
    int split = 0, rc = ty__mpi_agree(x, TY_OK);
    if (!rc)
        rc = ty__mpi_share_plan(x, all, mine, &split);
    if (!rc)
        rc = ty__mpi_agree(x, TY_OK);
    if (!rc && (!only_if_skip || s->nskip)) {
        ty_index_t *ix = ty_index_new();
        int e = ix ? ty_index_open(ix, s->shard, TY_INDEX_CREATE, &s->io) : TY_ENOMEM;
        if (!e)
            e = ty_index_skip_names(ix, (const char *const *)s->skip, s->nskip);
        if (!e)
            e = ty_index_add_docs(ix, mine, &s->o, ao);
        if (!e)
            e = ty_index_finish(ix);
        if (e)
            rc = ty__mpi_local(x, e, "rank %d: %s", x->rank,
                               ix ? ty_index_errmsg(ix) : "out of memory");
        ty_index_free(ix);
    }
    ty_reader_free(all);
    ty_reader_free(mine);
    return rc;
}

int ty_mshards_build(ty_mshards_t *s, const char *const *paths, int npaths,
                     const ty_index_add_opts_t *ao)
{
    if (!s || (npaths && !paths))
        return TY_EINVAL;
    ty__mpi_t *x = &s->x;
    s->paths = calloc((size_t)npaths + 1, sizeof(char *));
    if (!s->paths)
        ty__mpi_local(x, TY_ENOMEM, "rank %d: out of memory", x->rank);
    for (int i = 0; s->paths && i < npaths; i++, s->npaths++)
        if (!(s->paths[i] = strdup(paths[i]))) {
            ty__mpi_local(x, TY_ENOMEM, "rank %d: out of memory", x->rank);
            break;
        }
    int rc = ty__mpi_agree(x, x->rank == 0 ? prepare_dir(s) : TY_OK);
    if (!rc)
        rc = ty__mpi_agree(x, build_shard(s, ao, 0));
    return rc;
}

/* Names a later shard must skip (ty_index_shards_dup_names), packed: shard (4 bytes), the
 * name, NUL. */
typedef struct {
    char *a;
    size_t n, cap;
} pack_t;

static int on_dup(void *user, uint32_t shard, const char *name)
{
    pack_t *p = user;
    size_t l = strlen(name) + 1;
    if (p->n + 4 + l > p->cap) {
        size_t c = (p->cap ? p->cap * 2 : 4096) + 4 + l;
        char *q = realloc(p->a, c);
        if (!q)
            return 1;
        p->a = q;
        p->cap = c;
    }
    memcpy(p->a + p->n, &shard, 4);
    memcpy(p->a + p->n + 4, name, l);
    p->n += 4 + l;
    return 0;
}

/* A failure every rank sees the same: rank 0 reports it. */
static int global_fail(ty__mpi_t *x, int rc, const char *msg)
{
    snprintf(x->err.msg, sizeof x->err.msg, "%s", msg);
    x->err.here = x->rank == 0;
    return rc;
}

int ty_mshards_dups(ty_mshards_t *s, size_t *nskip, int *any)
{
    if (!s || !nskip || !any)
        return TY_EINVAL;
    ty__mpi_t *x = &s->x;
    int size = x->size, rank = x->rank;
    *nskip = 0;
    *any = 0;
    pack_t pk = {NULL, 0, 0};
    ty_index_shards_t *hx = ty_index_shards_new(s->dir, (uint32_t)size);
    if (!hx || ty_index_shards_dup_names(hx, (uint32_t)rank, (uint32_t)size, on_dup, &pk) != TY_OK)
        ty__mpi_local(x, hx ? TY_EIO : TY_ENOMEM, "rank %d: %s", rank,
                      hx ? ty_index_shards_errmsg(hx) : "out of memory");
    ty_index_shards_free(hx);
    if (!x->lfail && pk.n > INT32_MAX / 2)
        ty__mpi_local(x, TY_ETOOBIG, "rank %d: too many names in two shards", rank);
    int mine_n = x->lfail ? 0 : (int)pk.n;
    int *lens = calloc((size_t)size * 2, sizeof(int));
    if (!lens) {
        free(pk.a);
        return ty__mpi_oom(x, "name counts"); /* the others wait in the MPI_Allgather */
    }
    int *displs = lens + size;
    int mrc = MPI_Allgather(&mine_n, 1, MPI_INT, lens, 1, MPI_INT, x->comm);
    int rc = mrc != MPI_SUCCESS ? ty__mpi_fail(x, mrc, "Allgather") : ty__mpi_agree(x, TY_OK);
    long long tot = 0;
    for (int r = 0; !rc && r < size; r++) {
        displs[r] = (int)tot;
        tot += lens[r];
    }
    if (!rc && tot > INT32_MAX) /* the same on every rank */
        rc = global_fail(x, TY_ETOOBIG, "too many names in two shards");
    if (!rc && !(s->names = malloc((size_t)tot + 1)))
        rc = ty__mpi_oom(x, "names in two shards");
    if (!rc) {
        mrc = MPI_Allgatherv(pk.a, mine_n, MPI_CHAR, s->names, lens, displs, MPI_CHAR, x->comm);
        if (mrc != MPI_SUCCESS)
            rc = ty__mpi_fail(x, mrc, "Allgatherv");
    }
    free(lens);
    free(pk.a);
    for (long long off = 0; !rc && off < tot;) {
        uint32_t sh;
        memcpy(&sh, s->names + off, 4);
        char *name = s->names + off + 4;
        off += 4 + (long long)strlen(name) + 1;
        if (sh != (uint32_t)rank)
            continue;
        char **q = realloc(s->skip, (s->nskip + 1) * sizeof(char *));
        if (!q) {
            ty__mpi_local(x, TY_ENOMEM, "rank %d: out of memory", rank);
            break;
        }
        s->skip = q;
        s->skip[s->nskip++] = name;
    }
    if (!rc)
        rc = ty__mpi_agree(x, TY_OK);
    if (!rc) {
        s->any_dups = tot > 0;
        *nskip = s->nskip;
        *any = s->any_dups;
    }
    return rc;
}

int ty_mshards_rebuild(ty_mshards_t *s, const ty_index_add_opts_t *ao)
{
    if (!s)
        return TY_EINVAL;
    if (!s->any_dups) /* the same on every rank */
        return TY_OK;
    return ty__mpi_agree(&s->x, build_shard(s, ao, 1));
}

int ty_mshards_commit(ty_mshards_t *s)
{
    if (!s)
        return TY_EINVAL;
    ty__mpi_t *x = &s->x;
    int size = x->size, rank = x->rank;
    /* minimizer document counts over all shards, each rank a part of the key space */
    uint64_t h[TY_INDEX_DF_BUCKETS], tot[TY_INDEX_DF_BUCKETS];
    memset(tot, 0, sizeof tot);
    ty_index_shards_t *hx = ty_index_shards_new(s->dir, (uint32_t)size);
    if (!hx || ty_index_shards_df_hist(hx, (uint32_t)rank, (uint32_t)size, h) != TY_OK) {
        ty__mpi_local(x, hx ? TY_EIO : TY_ENOMEM, "rank %d: %s", rank,
                      hx ? ty_index_shards_errmsg(hx) : "out of memory");
        memset(h, 0, sizeof h);
    }
    ty_index_shards_free(hx);
    int mrc = MPI_Reduce(h, tot, TY_INDEX_DF_BUCKETS, MPI_UINT64_T, MPI_SUM, 0, x->comm);
    int rc = mrc != MPI_SUCCESS ? ty__mpi_fail(x, mrc, "Reduce") : ty__mpi_agree(x, TY_OK);
    if (rc || rank != 0)
        return rc;
    ty_index_shards_t *cx = ty_index_shards_new(s->dir, (uint32_t)size);
    rc = cx ? ty_index_shards_commit(cx, tot) : TY_ENOMEM;
    if (rc)
        global_fail(x, rc, cx ? ty_index_shards_errmsg(cx) : "out of memory");
    ty_index_shards_free(cx);
    return rc;
}
