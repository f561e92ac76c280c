/*
 * index_part.c — one LMDB file of the corpus index (a whole index, or one shard of a
 * sharded one): the checks made before LMDB maps it, opening and creating it, its tables,
 * the counters, segment list, dictionary and document records, the writer lock, and the
 * messages for LMDB's errors.
 *
 * Shortcut taken on purpose: the B-tree pages themselves are LMDB's; LMDB checks its meta
 * pages only for their magic number and does not defend against a maliciously crafted
 * tree, so an index file is trusted local data — we check what can go wrong by accident (a
 * truncated copy, a foreign file, another version, a damaged meta page) before LMDB maps it.
 * A meta page whose last page or map size is garbage would otherwise make LMDB ask for a
 * map of petabytes and fail with "Cannot allocate memory".
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "index_impl.h"

#define MAP_SIZE ((size_t)1 << 40) /* address space reserved; the file grows as needed */
#define MAX_READERS 1024

void ty__part_init(ty_part_t *p)
{
    memset(p, 0, sizeof(*p));
    p->lock_fd = -1;
}

void ty__part_close(ty_part_t *p)
{
    if (p->env)
        mdb_env_close(p->env);
    if (p->lock_fd >= 0)
        close(p->lock_fd); /* releases the writer lock */
    ZSTD_freeCDict(p->cdict);
    ZSTD_freeDDict(p->ddict);
    if (p->file != p->path)
        free(p->file);
    free(p->path);
    ty__part_init(p);
}

/* ---- errors -------------------------------------------------------------------------------- */

/* 1 if the file system holding path has (about) no space left for us. */
static int disk_full(const char *path)
{
    char d[4200];
    snprintf(d, sizeof d, "%s", path ? path : ".");
    struct statvfs vs;
    if (statvfs(dirname(d), &vs) != 0)
        return 0;
    return (uint64_t)vs.f_bavail * vs.f_frsize < ((uint64_t)1 << 20);
}

int ty__mdb_err(char *err, const char *path, int rc, const char *what)
{
    int code = TY_EIO;
    if (rc == ENOMEM)
        code = TY_ENOMEM;
    else if (rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_PAGE_NOTFOUND ||
             rc == MDB_BAD_VALSIZE || rc == MDB_INCOMPATIBLE)
        code = TY_ECORRUPT;
    else if (rc == MDB_VERSION_MISMATCH)
        code = TY_EVERSION;
    /* LMDB reports a short write (what a full disk gives when part of a write fits) as EIO */
    if (rc == EIO && disk_full(path))
        rc = ENOSPC;
    return ty__err(err, code, "%s: %s: %s", path ? path : "index", what, mdb_strerror(rc));
}

/* ---- before LMDB maps a file ---------------------------------------------------------------- */

/* LMDB's meta pages (pages 0 and 1; the one with the larger transaction id is in use), as
 * lmdb.h 0.9 lays them out on a 64-bit machine: a 16-byte page header (page number, flags),
 * then magic, version, map address, map size, the free and main table records (48 bytes
 * each: page size in the first's md_pad, depth, page counts, root), last page, txn id. */
#define META_MAGIC 0xBEEFC0DEu
#define P_META 0x08
#define P_INVALID UINT64_MAX

static uint32_t rd_le32(const uint8_t *p) { return ty__rd_le32(p); }
static uint64_t rd_le64(const uint8_t *p) { return rd_le32(p) | (uint64_t)rd_le32(p + 4) << 32; }

typedef struct {
    uint64_t pgno, mapsize, last, txnid, psize;
    uint64_t root[2], pages[2];
    unsigned flags, depth[2];
    uint32_t magic, version;
} meta_t;

static void meta_read(const uint8_t *b, meta_t *m)
{
    m->pgno = rd_le64(b);
    m->flags = (unsigned)(b[10] | b[11] << 8);
    m->magic = rd_le32(b + 16);
    m->version = rd_le32(b + 20);
    m->mapsize = rd_le64(b + 32);
    for (int d = 0; d < 2; d++) {
        const uint8_t *db = b + 40 + 48 * d;
        if (d == 0)
            m->psize = rd_le32(db);
        m->depth[d] = (unsigned)(db[6] | db[7] << 8);
        m->pages[d] = rd_le64(db + 8) + rd_le64(db + 16) + rd_le64(db + 24);
        m->root[d] = rd_le64(db + 40);
    }
    m->last = rd_le64(b + 136);
    m->txnid = rd_le64(b + 144);
}

static int signed_meta(const meta_t *m) { return (m->flags & P_META) && m->magic == META_MAGIC; }

/* Why meta page i (read into m) cannot be right, or NULL. */
static const char *meta_wrong(const meta_t *m, uint64_t i, uint64_t psize, char *why, size_t n)
{
    if (!signed_meta(m))
        return "not an LMDB meta page";
    if (m->pgno != i)
        snprintf(why, n, "says it is page %llu", (unsigned long long)m->pgno);
    else if (m->psize != psize)
        snprintf(why, n, "page size %llu, meta page 0 says %llu", (unsigned long long)m->psize,
                 (unsigned long long)psize);
    else if (m->last < 1 || (m->mapsize && (m->last + 1) > m->mapsize / psize))
        snprintf(why, n, "last page %llu does not fit its map of %llu bytes",
                 (unsigned long long)m->last, (unsigned long long)m->mapsize);
    else {
        for (int d = 0; d < 2; d++)
            if ((m->root[d] != P_INVALID && (m->root[d] < 2 || m->root[d] > m->last)) ||
                m->depth[d] > 64 || m->pages[d] > m->last) {
                snprintf(why, n, "table %d: root page %llu, depth %u, %llu pages (last page %llu)",
                         d, (unsigned long long)m->root[d], m->depth[d],
                         (unsigned long long)m->pages[d], (unsigned long long)m->last);
                return why;
            }
        return NULL;
    }
    return why;
}

static int damaged_meta(char *err, const char *p, uint64_t i, uint64_t psize, const char *why)
{
    return ty__err(err, TY_ECORRUPT,
                   "%s: damaged: LMDB meta page %llu (bytes %llu-%llu): %s (restore a copy of "
                   "the index or rebuild it)",
                   p, (unsigned long long)i, (unsigned long long)(i * psize),
                   (unsigned long long)((i + 1) * psize - 1), why);
}

/* Is it there, a regular file, and does it start like an LMDB environment whose meta pages
 * are sound? (A file LMDB does not recognise is otherwise initialised as a new, empty
 * environment when opened for writing — it would overwrite a foreign file.) */
static int precheck(const char *p, char *err)
{
    struct stat st;
    if (stat(p, &st) != 0)
        return ty__err(err, errno == ENOENT ? TY_ENOTFOUND : TY_EIO, "%s: %s", p, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ty__err(err, TY_ECORRUPT, "%s: is a directory, not a tongyuan index", p);
    if (!S_ISREG(st.st_mode))
        return ty__err(err, TY_ECORRUPT, "%s: not a regular file", p);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ty__err(err, TY_EIO, "%s: %s", p, strerror(errno));
    static const uint64_t sizes[] = {4096, 512, 1024, 2048, 8192, 16384, 32768, 65536};
    uint8_t b[2][160];
    memset(b, 0, sizeof b);
    ssize_t r = pread(fd, b[0], sizeof b[0], 0);
    int e = errno;
    /* meta page 1, where meta page 0's page size puts it (or, page 0 being unreadable, where
     * a page size LMDB could have used does) */
    meta_t m[2];
    uint64_t psize = 0;
    meta_read(b[0], &m[0]);
    memset(&m[1], 0, sizeof m[1]);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && r >= 0; i++) {
        uint64_t ps = signed_meta(&m[0]) ? m[0].psize : sizes[i];
        if (ps < 512 || ps > 65536 || (ps & (ps - 1)))
            break;
        memset(b[1], 0, sizeof b[1]);
        if (pread(fd, b[1], sizeof b[1], (off_t)ps) < 0)
            break;
        meta_read(b[1], &m[1]);
        if (signed_meta(&m[0]) || (signed_meta(&m[1]) && m[1].pgno == 1)) {
            psize = ps;
            break;
        }
    }
    close(fd);
    if (r < 0)
        return ty__err(err, TY_EIO, "%s: %s", p, strerror(e));
    if (st.st_size == 0)
        return ty__err(err, TY_ECORRUPT, "%s: empty file, not a tongyuan index", p);
    if (!signed_meta(&m[0]) && psize) /* meta page 1 is there: an index, damaged */
        return damaged_meta(err, p, 0, psize, "not an LMDB meta page");
    /* LMDB meta page: 16-byte page header, then magic 0xBEEFC0DE and data version 1 */
    if (r < 24 || m[0].magic != META_MAGIC)
        return ty__err(err, TY_ECORRUPT, "%s: not a tongyuan index (no LMDB signature at byte 16)",
                       p);
    if (m[0].version != 1)
        return ty__err(err, TY_EVERSION, "%s: LMDB data format %u, expected 1", p, m[0].version);
    if (st.st_size < 8192)
        return ty__err(err, TY_ECORRUPT,
                       "%s: truncated (%lld bytes; an index has at least two 4096-byte pages)", p,
                       (long long)st.st_size);
    if (!psize)
        return damaged_meta(err, p, 0, 4096, "page size out of range");
    if ((uint64_t)st.st_size < 2 * psize)
        return ty__err(err, TY_ECORRUPT, "%s: truncated (%lld bytes, two meta pages of %llu)", p,
                       (long long)st.st_size, (unsigned long long)psize);
    if (!signed_meta(&m[1]))
        return damaged_meta(err, p, 1, psize, "not an LMDB meta page");
    if (m[1].version != 1)
        return ty__err(err, TY_EVERSION, "%s: LMDB data format %u, expected 1", p, m[1].version);
    /* LMDB uses the meta page with the larger transaction id: it must make sense */
    uint64_t use = m[1].txnid > m[0].txnid;
    char why[200];
    if (meta_wrong(&m[use], use, psize, why, sizeof why))
        return damaged_meta(err, p, use, psize, why);
    return TY_OK;
}

/* ---- the writer lock ------------------------------------------------------------------------ */

/* TY_INDEX_WRITE: hold flock(LOCK_SH) on the file at path for as long as it is open. A build
 * replacing the file holds LOCK_EX across its rename; a writer that waited for it finds the
 * path naming another file and locks that one. */
static int lock_writer(ty_part_t *p, const char *path, char *err)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return ty__err(err, errno == ENOENT ? TY_ENOTFOUND : TY_EIO, "%s: %s", path,
                           strerror(errno));
        int r;
        do
            r = flock(fd, LOCK_SH);
        while (r != 0 && errno == EINTR);
        if (r != 0) {
            int e = errno;
            close(fd);
            return ty__err(err, TY_EIO, "%s: cannot lock for writing: %s", path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            p->lock_fd = fd;
            return TY_OK;
        }
        close(fd); /* replaced while we waited: lock the file there now */
    }
    return ty__err(err, TY_EBUSY, "%s: replaced again and again while being opened", path);
}

int ty__lock_replace(const char *path, int *fdp, char *err)
{
    *fdp = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TY_OK : ty__err(err, TY_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return ty__err(err, TY_EBUSY,
                           "%s: open for writing by another process (a server taking writes, an "
                           "index add): not "
                           "replaced, its writes would be lost; stop the writer first",
                           path);
        return ty__err(err, TY_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    *fdp = fd;
    return TY_OK;
}

int ty__probe_replace(const char *path, char *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? TY_OK : ty__err(err, TY_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ty__err(err, TY_EIO, "%s: is a directory", path);
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return TY_OK; /* nothing to lose (a file made by mktemp) */
    char msg[TY_ERRMSG_SIZE];
    int rc = precheck(path, msg);
    if (rc == TY_EVERSION || (rc == TY_ECORRUPT && strstr(msg, ": damaged") != NULL))
        return TY_OK; /* an index we cannot read: rebuilding it is the remedy */
    if (rc == TY_OK) {
        /* an LMDB file: ours if it has our header (read without a lock file: it may be a
         * foreign environment) */
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi meta;
        MDB_val k = {6, "header"}, v;
        int ours = 1; /* an environment LMDB cannot open counts as a damaged index */
        if (mdb_env_create(&env) == 0) {
            mdb_env_set_maxdbs(env, 16);
            if (mdb_env_open(env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR, 0644) == 0 &&
                mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
                ours = mdb_dbi_open(txn, "meta", 0, &meta) == 0 &&
                       mdb_get(txn, meta, &k, &v) == 0 && v.mv_size >= 8 &&
                       memcmp(v.mv_data, TY_INDEX_MAGIC, 8) == 0;
                mdb_txn_abort(txn);
            }
            mdb_env_close(env);
        }
        if (ours)
            return TY_OK;
    }
    return ty__err(err, TY_EEXIST,
                   "%s: exists and is not a tongyuan index: not replaced (a build writes a new "
                   "file or over an index; remove it or choose another path)",
                   path);
}

/* ---- opening ------------------------------------------------------------------------------- */

static int env_create(ty_part_t *p, const char *file, unsigned flags, char *err)
{
    int rc = mdb_env_create(&p->env);
    if (rc)
        return ty__mdb_err(err, p->path, rc, "cannot create environment");
    if ((rc = mdb_env_set_maxdbs(p->env, 16)) || (rc = mdb_env_set_maxreaders(p->env, MAX_READERS)))
        return ty__mdb_err(err, p->path, rc, "cannot configure environment");
    /* The map is address space, not memory: ask for 1 TiB and settle for less where the
     * address space is limited (ulimit -v, sanitizers), down to what the file needs. */
    struct stat st;
    size_t need = stat(file, &st) == 0 ? (size_t)st.st_size : 0;
    for (size_t map = MAP_SIZE;; map /= 4) {
        if (map < need)
            map = need;
        if ((rc = mdb_env_set_mapsize(p->env, map)))
            return ty__mdb_err(err, p->path, rc, "cannot configure environment");
        rc = mdb_env_open(p->env, file, flags | MDB_NOSUBDIR | MDB_NOTLS, 0644);
        if (rc != ENOMEM || map <= need || map <= ((size_t)64 << 20))
            break;
        /* LMDB leaves the environment closed but reusable after a failed map */
        mdb_env_close(p->env);
        if ((rc = mdb_env_create(&p->env)) || (rc = mdb_env_set_maxdbs(p->env, 16)) ||
            (rc = mdb_env_set_maxreaders(p->env, MAX_READERS)))
            return ty__mdb_err(err, p->path, rc, "cannot configure environment");
    }
    if (rc) {
        mdb_env_close(p->env);
        p->env = NULL;
        if (rc == MDB_INVALID)
            return ty__err(err, TY_ECORRUPT, "%s: not a tongyuan index (not an LMDB file)",
                           p->path);
        if (rc == MDB_VERSION_MISMATCH)
            return ty__err(err, TY_EVERSION,
                           "%s: written by another LMDB version than this tongyuan uses", p->path);
        return ty__err(err, rc == ENOMEM ? TY_ENOMEM : TY_EIO, "%s: %s", p->path, mdb_strerror(rc));
    }
    return TY_OK;
}

static const struct {
    const char *name;
    size_t off;
} DBS[] = {
    {"meta", offsetof(ty_part_t, meta)},   {"docs", offsetof(ty_part_t, docs)},
    {"text", offsetof(ty_part_t, text)},   {"names", offsetof(ty_part_t, names)},
    {"files", offsetof(ty_part_t, files)}, {"segs", offsetof(ty_part_t, segs)},
    {"post", offsetof(ty_part_t, post)},
};

static int open_dbs(ty_part_t *p, MDB_txn *txn, unsigned flags, char *err)
{
    for (size_t i = 0; i < sizeof(DBS) / sizeof(DBS[0]); i++) {
        MDB_dbi *d = (MDB_dbi *)((char *)p + DBS[i].off);
        int rc = mdb_dbi_open(txn, DBS[i].name, flags, d);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return ty__err(err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no table '%s')", p->path,
                           DBS[i].name);
        if (rc)
            return ty__mdb_err(err, p->path, rc, DBS[i].name);
    }
    return TY_OK;
}

int ty__part_txn(ty_part_t *p, unsigned flags, MDB_txn **txn, char *err)
{
    int rc = mdb_txn_begin(p->env, NULL, flags, txn);
    return rc ? ty__mdb_err(err, p->path, rc, "begin") : TY_OK;
}

int ty__counts_get(ty_part_t *p, MDB_txn *txn, index_counts_t *c, char *err)
{
    MDB_val k = {5, "stats"}, v;
    int rc = mdb_get(txn, p->meta, &k, &v);
    if (rc)
        return rc == MDB_NOTFOUND
                   ? ty__err(err, TY_ECORRUPT, "%s: damaged index (no stats record)", p->path)
                   : ty__mdb_err(err, p->path, rc, "reading stats");
    if (ty__counts_decode(v.mv_data, v.mv_size, c))
        return ty__err(err, TY_ECORRUPT, "%s: damaged index (stats record of %zu bytes)", p->path,
                       v.mv_size);
    return TY_OK;
}

int ty__counts_put(ty_part_t *p, MDB_txn *txn, const index_counts_t *c, char *err)
{
    uint8_t b[TY_COUNTS_SIZE];
    ty__counts_encode(c, b);
    MDB_val k = {5, "stats"}, v = {sizeof b, b};
    int rc = mdb_put(txn, p->meta, &k, &v, 0);
    return rc ? ty__mdb_err(err, p->path, rc, "writing stats") : TY_OK;
}

static int make_dicts(ty_part_t *p, const void *dict, size_t len, int for_writing, char *err)
{
    ZSTD_freeCDict(p->cdict);
    ZSTD_freeDDict(p->ddict);
    p->cdict = NULL;
    p->ddict = ZSTD_createDDict(dict, len);
    if (for_writing)
        p->cdict = ZSTD_createCDict(dict, len, (int)p->hdr.zstd_level);
    if (!p->ddict || (for_writing && !p->cdict))
        return ty__err(err, TY_ECORRUPT, "%s: damaged text dictionary (%zu bytes)", p->path, len);
    return TY_OK;
}

int ty__part_set_dict(ty_part_t *p, MDB_txn *txn, const void *dict, size_t len, char *err)
{
    MDB_val k = {5, "zdict"}, v = {len, (void *)dict};
    int rc = mdb_put(txn, p->meta, &k, &v, MDB_NOOVERWRITE);
    if (rc)
        return ty__mdb_err(err, p->path, rc, "writing the text dictionary");
    return make_dicts(p, dict, len, 1, err);
}

static int set_path(ty_part_t *p, const char *path, const char *file)
{
    p->path = strdup(path);
    p->file = !p->path || !file ? p->path : strdup(file);
    return p->path && p->file ? TY_OK : TY_ENOMEM;
}

int ty__part_create(ty_part_t *p, const char *path, const char *file, const ty_index_opts_t *io,
                    char *err)
{
    if (set_path(p, path, file))
        return ty__err(err, TY_ENOMEM, "out of memory");
    /* build: no fsync per commit; ty_index_finish() syncs once before the rename */
    int rc = env_create(p, file, MDB_NOSYNC, err);
    if (rc)
        return rc;
    MDB_txn *txn;
    if ((rc = ty__part_txn(p, 0, &txn, err)))
        return rc;
    rc = open_dbs(p, txn, MDB_CREATE, err);
    index_header_t *h = &p->hdr;
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, TY_INDEX_MAGIC, 8);
    h->format = TY_INDEX_FORMAT;
    h->header_size = TY_HEADER_SIZE;
    h->k = (uint32_t)io->k;
    h->w = (uint32_t)io->w;
    h->norm_fingerprint = ty__norm_fingerprint();
    h->zstd_level = (uint32_t)io->zstd_level;
    h->created = (uint64_t)time(NULL);
    snprintf(h->writer, sizeof h->writer, "%s", ty_version());
    uint8_t hb[TY_HEADER_SIZE];
    ty__header_encode(h, hb);
    MDB_val k = {6, "header"}, v = {sizeof hb, hb};
    if (!rc && (rc = mdb_put(txn, p->meta, &k, &v, 0)))
        rc = ty__mdb_err(err, p->path, rc, "writing header");
    index_counts_t c;
    memset(&c, 0, sizeof c);
    if (!rc)
        rc = ty__counts_put(p, txn, &c, err);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return ty__mdb_err(err, p->path, rc, "commit");
    return TY_OK;
}

static int open_env(ty_part_t *p, int mode, const ty_index_opts_t *io, char *err)
{
    int rc = precheck(p->path, err);
    if (rc)
        return rc;
    if (mode == TY_INDEX_WRITE && (rc = lock_writer(p, p->path, err)))
        return rc;
    if ((rc = env_create(p, p->path, mode == TY_INDEX_READ ? MDB_RDONLY : 0, err)))
        return rc;
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(p->env, &info);
    mdb_env_stat(p->env, &ms);
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    struct stat st;
    if (stat(p->path, &st) == 0 && (uint64_t)st.st_size < need)
        return ty__err(err, TY_ECORRUPT,
                       "%s: truncated: %lld bytes, but its last committed page ends at byte %llu",
                       p->path, (long long)st.st_size, (unsigned long long)need);
    int dead;
    mdb_reader_check(p->env, &dead);
    MDB_txn *txn;
    if ((rc = ty__part_txn(p, MDB_RDONLY, &txn, err)))
        return rc;
    MDB_dbi meta;
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return ty__err(err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no header)", p->path);
        return ty__mdb_err(err, p->path, rc, "meta");
    }
    MDB_val k = {6, "header"}, v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND)
            return ty__err(err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no header)", p->path);
        return ty__mdb_err(err, p->path, rc, "header");
    }
    char msg[TY_ERRMSG_SIZE];
    rc = ty__header_decode(v.mv_data, v.mv_size, &p->hdr, msg);
    if (rc) {
        mdb_txn_abort(txn);
        return ty__err(err, rc, "%s: %s", p->path, msg);
    }
    const index_header_t *h = &p->hdr;
    if (h->norm_fingerprint != ty__norm_fingerprint()) {
        mdb_txn_abort(txn);
        return ty__err(err, TY_EVERSION,
                       "%s: built with another normalization table (fingerprint %016llx, this "
                       "tongyuan %016llx): rebuild the index",
                       p->path, (unsigned long long)h->norm_fingerprint,
                       (unsigned long long)ty__norm_fingerprint());
    }
    if (io && ((uint32_t)io->k != h->k || (uint32_t)io->w != h->w)) {
        mdb_txn_abort(txn);
        return ty__err(err, TY_EVERSION, "%s: built with k=%u w=%u, not the k=%d w=%d asked for",
                       p->path, h->k, h->w, io->k, io->w);
    }
    rc = open_dbs(p, txn, 0, err);
    index_counts_t c;
    if (!rc)
        rc = ty__counts_get(p, txn, &c, err);
    MDB_val dk = {5, "zdict"}, dv;
    int e = rc ? MDB_NOTFOUND : mdb_get(txn, p->meta, &dk, &dv);
    if (!rc && e == 0)
        rc = make_dicts(p, dv.mv_data, dv.mv_size, mode == TY_INDEX_WRITE, err);
    else if (!rc && e != MDB_NOTFOUND)
        rc = ty__mdb_err(err, p->path, e, "reading the text dictionary");
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn))) /* keeps the table handles for the environment */
        return ty__mdb_err(err, p->path, rc, "commit");
    return TY_OK;
}

int ty__part_open(ty_part_t *p, const char *path, int mode, const ty_index_opts_t *io, char *err)
{
    if (!p->path && set_path(p, path, NULL))
        return ty__err(err, TY_ENOMEM, "out of memory");
    int rc = open_env(p, mode, io, err);
    if (rc) {
        if (p->env)
            mdb_env_close(p->env);
        p->env = NULL;
        if (p->lock_fd >= 0)
            close(p->lock_fd);
        p->lock_fd = -1;
    }
    return rc;
}

/* ---- records ------------------------------------------------------------------------------- */

int ty__read_segs(ty_part_t *p, MDB_txn *txn, seginfo_t **out, size_t *n, char *err)
{
    TY_VEC(seginfo_t) v = {0};
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->segs, &cur);
    if (rc)
        return ty__mdb_err(err, p->path, rc, "cursor");
    MDB_val k, d;
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        seginfo_t s;
        if (k.mv_size != 4 || ty__segrec_decode(d.mv_data, d.mv_size, &s.rec)) {
            rc = -1;
            break;
        }
        s.id = ty__rd_be32(k.mv_data);
        if (ty_vec_push(v, s)) {
            rc = -2;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *out = v.a;
        *n = v.n;
        return TY_OK;
    }
    free(v.a);
    if (rc == -1)
        return ty__err(err, TY_ECORRUPT, "%s: damaged segment record", p->path);
    if (rc == -2)
        return ty__err(err, TY_ENOMEM, "out of memory");
    return ty__mdb_err(err, p->path, rc, "reading segments");
}

int ty__part_summary(ty_part_t *p, MDB_txn *txn, index_counts_t *c, seginfo_t **segs, size_t *n,
                     char *err)
{
    int rc = ty__counts_get(p, txn, c, err);
    return rc ? rc : ty__read_segs(p, txn, segs, n, err);
}

int ty__part_view_open(ty_part_t *p, part_view_t *v, char *err)
{
    memset(v, 0, sizeof(*v));
    int rc = ty__part_txn(p, MDB_RDONLY, &v->txn, err);
    if (!rc && (rc = ty__part_summary(p, v->txn, &v->c, &v->seg, &v->nseg, err)))
        ty__part_view_close(v);
    return rc;
}

void ty__part_view_close(part_view_t *v)
{
    if (v->txn)
        mdb_txn_abort(v->txn);
    free(v->seg);
    memset(v, 0, sizeof(*v));
}

int ty__index_load_doc(ty_part_t *p, MDB_txn *txn, ZSTD_DCtx *dctx, uint32_t id, ty_doc_t *d,
                       const ty_opts_t *o, char **buf, size_t *cap, char *err)
{
    uint8_t kb[4];
    ty__be32(kb, id);
    MDB_val k = {4, kb}, v, t;
    int rc = mdb_get(txn, p->docs, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ty__err(err, TY_ENOTFOUND, "%s: no document %u", p->path, id);
    if (rc)
        return ty__mdb_err(err, p->path, rc, "reading document");
    doc_rec_t dr;
    if (ty__docrec_decode(v.mv_data, v.mv_size, &dr))
        return ty__err(err, TY_ECORRUPT, "%s: document %u: damaged record", p->path, id);
    rc = mdb_get(txn, p->text, &k, &t);
    if (rc)
        return rc == MDB_NOTFOUND
                   ? ty__err(err, TY_ECORRUPT, "%s: document %u: no text", p->path, id)
                   : ty__mdb_err(err, p->path, rc, "reading text");
    unsigned long long sz = ZSTD_getFrameContentSize(t.mv_data, t.mv_size);
    if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz != dr.bytes)
        return ty__err(err, TY_ECORRUPT,
                       "%s: document %u: damaged text (size %llu, record "
                       "says %llu)",
                       p->path, id, sz, (unsigned long long)dr.bytes);
    if (*cap < sz + 1) {
        char *q = realloc(*buf, sz + 1);
        if (!q)
            return ty__err(err, TY_ENOMEM, "out of memory");
        *buf = q;
        *cap = sz + 1;
    }
    size_t got = p->ddict
                     ? ZSTD_decompress_usingDDict(dctx, *buf, *cap, t.mv_data, t.mv_size, p->ddict)
                     : ZSTD_decompressDCtx(dctx, *buf, *cap, t.mv_data, t.mv_size);
    if (ZSTD_isError(got) || got != sz)
        return ty__err(err, TY_ECORRUPT, "%s: document %u: damaged text (%s)", p->path, id,
                       ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
    /* the name is not NUL-terminated in the record */
    char small[256], *name = dr.name_len < sizeof small ? small : malloc(dr.name_len + 1);
    if (!name)
        return ty__err(err, TY_ENOMEM, "out of memory");
    memcpy(name, dr.name, dr.name_len);
    name[dr.name_len] = 0;
    rc = ty_doc_load_mem(d, name, *buf, got, o);
    if (name != small)
        free(name);
    if (rc)
        return ty__err(err, rc, "%s: document %u: %s", p->path, id, ty_doc_errmsg(d));
    return TY_OK;
}

int ty__index_deleted_in(ty_part_t *p, MDB_txn *txn, uint32_t id)
{
    uint8_t dk[TY_DEL_KEY_SIZE];
    ty__del_key(dk, id);
    MDB_val k = {TY_DEL_KEY_SIZE, dk}, v;
    int rc = mdb_get(txn, p->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? TY_EIO : 1;
}

/* ---- the public reads, on one part ------------------------------------------------------- */

static uint64_t free_pages(MDB_txn *txn)
{
    MDB_cursor *c;
    uint64_t n = 0;
    if (mdb_cursor_open(txn, 0, &c))
        return 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (v.mv_size >= sizeof(size_t)) {
            size_t cnt;
            memcpy(&cnt, v.mv_data, sizeof cnt);
            n += cnt;
        }
    mdb_cursor_close(c);
    return n;
}

int ty__part_stats(ty_part_t *p, ty_index_stats_t *st, char *err)
{
    memset(st, 0, sizeof(*st));
    part_view_t v;
    int rc = ty__part_view_open(p, &v, err);
    if (rc)
        return rc;
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(p->env, &info);
    mdb_env_stat(p->env, &ms);
    uint64_t fp = free_pages(v.txn);
    uint64_t pages = (uint64_t)info.me_last_pgno + 1;
    st->map_bytes = (pages > fp ? pages - fp : 0) * ms.ms_psize;
    index_counts_t c = v.c;
    size_t ns = v.nseg;
    ty__part_view_close(&v);
    st->format = p->hdr.format;
    st->k = (int)p->hdr.k;
    st->w = (int)p->hdr.w;
    st->norm_fingerprint = p->hdr.norm_fingerprint;
    st->docs = c.docs;
    st->codepoints = c.codepoints;
    st->bytes = c.bytes;
    st->stored_bytes = c.stored_bytes;
    st->postings = c.postings;
    st->keys = c.keys;
    st->segments = (uint32_t)ns;
    struct stat fs;
    if (stat(p->file, &fs) == 0)
        st->file_bytes = (uint64_t)fs.st_size;
    return TY_OK;
}

int ty__part_get_doc(ty_part_t *p, uint32_t id, ty_doc_t *d, const ty_opts_t *o, char *err)
{
    MDB_txn *txn;
    int rc = ty__part_txn(p, MDB_RDONLY, &txn, err);
    if (rc)
        return rc;
    if (ty__index_deleted_in(p, txn, id) == 1) {
        mdb_txn_abort(txn);
        return ty__err(err, TY_ENOTFOUND, "%s: document %u was deleted", p->path, id);
    }
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    char *buf = NULL;
    size_t cap = 0;
    rc = dc ? ty__index_load_doc(p, txn, dc, id, d, o, &buf, &cap, err)
            : ty__err(err, TY_ENOMEM, "out of memory");
    free(buf);
    ZSTD_freeDCtx(dc);
    mdb_txn_abort(txn);
    return rc;
}

int ty__part_find(ty_part_t *p, const char *name, uint32_t *id, char *err)
{
    MDB_txn *txn;
    int rc = ty__part_txn(p, MDB_RDONLY, &txn, err);
    if (rc)
        return rc;
    uint8_t kb[16];
    ty__name_key(name, strlen(name), kb);
    MDB_val k = {16, kb}, v;
    rc = mdb_get(txn, p->names, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        *id = ty__rd_le32(v.mv_data);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ty__err(err, TY_ENOTFOUND, "%s: no document named '%s'", p->path, name);
    if (rc)
        return ty__mdb_err(err, p->path, rc, "reading names");
    if (v.mv_size != 4)
        return ty__err(err, TY_ECORRUPT, "%s: damaged name record", p->path);
    return TY_OK;
}

static void copy_out(char *dst, size_t size, const void *src, size_t len)
{
    if (!dst || !size)
        return;
    size_t l = len < size - 1 ? len : size - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

int ty__part_doc_info(ty_part_t *p, uint32_t id, char *name, size_t name_size, char *file,
                      size_t size, uint64_t *line, char *err)
{
    MDB_txn *txn;
    int rc = ty__part_txn(p, MDB_RDONLY, &txn, err);
    if (rc)
        return rc;
    uint8_t kb[4];
    ty__be32(kb, id);
    MDB_val k = {4, kb}, v;
    doc_rec_t dr;
    rc = mdb_get(txn, p->docs, &k, &v);
    if (rc == 0 && ty__docrec_decode(v.mv_data, v.mv_size, &dr))
        rc = -1;
    if (rc == 0) {
        if (line)
            *line = dr.line;
        copy_out(name, name_size, dr.name, dr.name_len);
        copy_out(file, size, "", 0);
        if (file && size && dr.file) {
            ty__be32(kb, (uint32_t)(dr.file - 1));
            MDB_val fk = {4, kb}, fv;
            if (mdb_get(txn, p->files, &fk, &fv) == 0)
                copy_out(file, size, fv.mv_data, fv.mv_size);
        }
    }
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ty__err(err, TY_ENOTFOUND, "%s: no document %u", p->path, id);
    if (rc == -1)
        return ty__err(err, TY_ECORRUPT, "%s: document %u: damaged record", p->path, id);
    return rc ? ty__mdb_err(err, p->path, rc, "reading document") : TY_OK;
}
