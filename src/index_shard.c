/*
 * index_shard.c — a sharded index: a directory of ordinary indexes read as one.
 *
 * Layout: DIR/shard-0000, DIR/shard-0001, ... (each an ordinary index, with its -lock file)
 * and DIR/MANIFEST, a small text file:
 *
 *   tongyuan-shards 1                       format and version
 *   k 4                                     sketch parameters every shard must have
 *   w 8
 *   norm_fingerprint 0123456789abcdef
 *   docs 12345                              documents in all
 *   shards 2
 *   shard shard-0000 first 0 docs 6000 postings 812345 keys 400000
 *   shard shard-0001 first 6000 docs 6345 postings 860000 keys 410000
 *   df_hist N0 N1 ... N127                  distinct minimizers by document count, over
 *                                           all shards together (TY_HIST_BUCKETS buckets)
 *   end
 *
 * The shards hold consecutive runs of the input in its order: document `first + i` of the
 * whole is document i of its shard, the id the unsharded index gives it. The manifest is the
 * commit point: it is written (tmp, fsync, rename, fsync of DIR) only after every shard was
 * finished, and a directory without it is refused. At open, each shard must exist, be an
 * index with the manifest's k, w, fingerprint, document and posting counts.
 *
 * Why df_hist: the frequent-minimizer cut (search_votes.c df_limit) is a percentile of the
 * minimizers' document counts. Summing the shards' own histograms would count a minimizer
 * found in several shards several times, each with a smaller count; the unsharded index's
 * histogram needs the count of each minimizer over all shards. ty_index_shards_df_hist()
 * computes it by merging the shards' sorted posting keys (in parts of the key space, so
 * that the ranks of an MPI job share the work), and the manifest stores it.
 *
 * A sharded handle is read-only, with a part (index_part.c) per shard: searches and the
 * reads of index.c go to the parts as for one index file (whose one part has base 0);
 * adding, deleting and compacting are refused with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_impl.h"

#define MANIFEST_MAGIC "tongyuan-shards"
#define MANIFEST_VERSION 1
#define MAX_SHARDS 100000

void ty__shards_free(struct ty_shards *sh)
{
    if (!sh)
        return;
    free(sh->first);
    free(sh);
}

static void close_parts(ty_part_t *sx, uint32_t n)
{
    for (uint32_t i = 0; sx && i < n; i++)
        ty__part_close(&sx[i]);
    free(sx);
}

static int shard_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size;
}

int ty__shards_readonly(ty_index_t *ix, const char *what)
{
    return ty__err(ix->err, TY_EREADONLY,
                   "%s: a sharded index (a directory with a MANIFEST) is read-only: cannot %s "
                   "(rebuild it with tongyuan index build)",
                   ix->path, what);
}

static int open_shards(ty_index_shards_t *sh, ty_part_t **sxp);

/* ---- the global document-count histogram ------------------------------------------------ */

/* One segment's posting keys in [lo, hi), in increasing order. */
typedef struct {
    MDB_cursor *cur;
    uint32_t seg, bits;
    bucket_iter_t bi;
    int in_bucket;
    uint64_t key, cnt; /* current */
    int done;
    const char *path;
} kstream_t;

static int ks_advance(kstream_t *s, uint64_t hi, char *err)
{
    for (;;) {
        if (s->in_bucket) {
            const uint8_t *ip;
            size_t il;
            int br = ty__bucket_next(&s->bi, &s->key, &s->cnt, &ip, &il);
            if (br < 0)
                return ty__err(err, TY_ECORRUPT, "%s: segment %u: damaged postings", s->path,
                               s->seg);
            if (br == 1) {
                if (s->key >= hi) {
                    s->done = 1;
                    return TY_OK;
                }
                return TY_OK;
            }
            s->in_bucket = 0;
        }
        MDB_val k, v;
        int rc = mdb_cursor_get(s->cur, &k, &v, MDB_NEXT);
        if (rc == MDB_NOTFOUND ||
            (rc == 0 && (k.mv_size != 8 || ty__rd_be32(k.mv_data) != s->seg))) {
            s->done = 1;
            return TY_OK;
        }
        if (rc)
            return ty__err(err, TY_EIO, "%s: reading postings: %s", s->path, mdb_strerror(rc));
        uint32_t bucket = ty__rd_be32((const uint8_t *)k.mv_data + 4);
        if (ty__bucket_begin(&s->bi, v.mv_data, v.mv_size, bucket, s->bits))
            return ty__err(err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged", s->path, s->seg,
                           bucket);
        s->in_bucket = 1;
    }
}

/* Position s on the first key >= lo of its segment. */
static int ks_begin(kstream_t *s, uint64_t lo, uint64_t hi, char *err)
{
    uint32_t bucket = s->bits ? (uint32_t)(lo >> (TY_KEY_BITS - s->bits)) : 0;
    uint8_t kb[8];
    ty__be32(kb, s->seg);
    ty__be32(kb + 4, bucket);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(s->cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != 8 || ty__rd_be32(k.mv_data) != s->seg))) {
        s->done = 1;
        return TY_OK;
    }
    if (rc)
        return ty__err(err, TY_EIO, "%s: reading postings: %s", s->path, mdb_strerror(rc));
    bucket = ty__rd_be32((const uint8_t *)k.mv_data + 4);
    if (ty__bucket_begin(&s->bi, v.mv_data, v.mv_size, bucket, s->bits))
        return ty__err(err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged", s->path, s->seg,
                       bucket);
    s->in_bucket = 1;
    do
        rc = ks_advance(s, hi, err);
    while (!rc && !s->done && s->key < lo);
    return rc;
}

/* The histogram of part `part` of `parts` of the key space over the open shards sx. */
static int merged_hist(ty_index_t *ix, ty_part_t *sx, uint32_t nshards, uint32_t part,
                       uint32_t parts, uint64_t hist[TY_INDEX_DF_BUCKETS])
{
    memset(hist, 0, TY_INDEX_DF_BUCKETS * sizeof(uint64_t));
    const uint64_t space = (uint64_t)1 << TY_KEY_BITS;
    uint64_t lo = space / parts * part + space % parts * part / parts;
    uint64_t hi =
        part + 1 == parts ? space : space / parts * (part + 1) + space % parts * (part + 1) / parts;
    MDB_txn **txn = calloc(nshards, sizeof(*txn));
    TY_VEC(kstream_t) ks = {0};
    int rc = txn ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    for (uint32_t i = 0; !rc && i < nshards; i++) {
        const char *p = sx[i].path;
        if ((rc = mdb_txn_begin(sx[i].env, NULL, MDB_RDONLY, &txn[i]))) {
            rc = ty__mdb_err(ix->err, ix->path, rc, "begin");
            break;
        }
        seginfo_t *sg = NULL;
        size_t ns = 0;
        if ((rc = ty__read_segs(&sx[i], txn[i], &sg, &ns, ix->err)))
            break;
        for (size_t g = 0; !rc && g < ns; g++) {
            kstream_t s;
            memset(&s, 0, sizeof s);
            s.seg = sg[g].id;
            s.bits = sg[g].rec.bits;
            s.path = sx[i].path;
            if (ty_vec_push(ks, s))
                rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
            else if ((rc = mdb_cursor_open(txn[i], sx[i].post, &ks.a[ks.n - 1].cur)))
                rc = ty__err(ix->err, TY_EIO, "%s: cursor: %s", p, mdb_strerror(rc));
        }
        free(sg);
    }
    for (size_t g = 0; !rc && g < ks.n; g++)
        rc = ks_begin(&ks.a[g], lo, hi, ix->err);
    /* merge: each distinct key once, with its document count summed over the streams */
    while (!rc) {
        uint64_t min = UINT64_MAX, cnt = 0;
        for (size_t g = 0; g < ks.n; g++)
            if (!ks.a[g].done && ks.a[g].key < min)
                min = ks.a[g].key;
        if (min == UINT64_MAX)
            break;
        for (size_t g = 0; !rc && g < ks.n; g++)
            if (!ks.a[g].done && ks.a[g].key == min) {
                cnt += ks.a[g].cnt;
                rc = ks_advance(&ks.a[g], hi, ix->err);
            }
        hist[ty__hist_bucket(cnt)]++;
    }
    for (size_t g = 0; g < ks.n; g++)
        if (ks.a[g].cur)
            mdb_cursor_close(ks.a[g].cur);
    free(ks.a);
    for (uint32_t i = 0; txn && i < nshards; i++)
        if (txn[i])
            mdb_txn_abort(txn[i]);
    free(txn);
    return rc;
}

/* A shard set being written: its directory and count, and a handle never opened whose
 * message buffer the calls below fill (the reading code they share takes a handle). */
struct ty_index_shards {
    ty_index_t *ix;
    char *dir;
    uint32_t nshards;
};

ty_index_shards_t *ty_index_shards_new(const char *dir, uint32_t nshards)
{
    ty_index_shards_t *sh = calloc(1, sizeof(*sh));
    if (!sh || !dir || !(sh->ix = ty_index_new()) || !(sh->dir = strdup(dir))) {
        ty_index_shards_free(sh);
        return NULL;
    }
    sh->nshards = nshards;
    return sh;
}

void ty_index_shards_free(ty_index_shards_t *sh)
{
    if (!sh)
        return;
    ty_index_free(sh->ix);
    free(sh->dir);
    free(sh);
}

const char *ty_index_shards_errmsg(const ty_index_shards_t *sh)
{
    return sh ? ty_index_errmsg(sh->ix) : "no shard set";
}

/* The start of every call on a shard set: its shard count checked, its message cleared. */
static int shards_begin(ty_index_shards_t *sh)
{
    if (!sh->nshards || sh->nshards > MAX_SHARDS)
        return ty__err(sh->ix->err, TY_EINVAL, "%s: %u shards (1 to %u)", sh->dir, sh->nshards,
                       (unsigned)MAX_SHARDS);
    sh->ix->err[0] = 0;
    return TY_OK;
}

int ty_index_shards_df_hist(ty_index_shards_t *sh, uint32_t part, uint32_t parts,
                            uint64_t hist[TY_INDEX_DF_BUCKETS])
{
    if (!sh || !hist || !parts || part >= parts)
        return TY_EINVAL;
    ty_part_t *sx = NULL;
    int rc = open_shards(sh, &sx);
    if (!rc)
        rc = merged_hist(sh->ix, sx, sh->nshards, part, parts, hist);
    close_parts(sx, sh->nshards);
    return rc;
}

/* ---- names: each in one shard only ------------------------------------------------------- */

/* Open the set's shards 0..nshards-1 read-only into *sxp (closed with close_parts by the
 * caller, whatever this returns; NULL when out of memory or the set is not valid). */
static int open_shards(ty_index_shards_t *sh, ty_part_t **sxp)
{
    if (shards_begin(sh))
        return TY_EINVAL;
    ty_index_t *ix = sh->ix;
    const char *dir = sh->dir;
    uint32_t nshards = sh->nshards;
    ty_part_t *sx = *sxp = calloc(nshards, sizeof(*sx));
    if (!sx)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    char p[4200];
    for (uint32_t i = 0; i < nshards; i++)
        ty__part_init(&sx[i]);
    for (uint32_t i = 0; i < nshards; i++) {
        char name[32];
        snprintf(name, sizeof name, "shard-%04u", i);
        if (shard_path(p, sizeof p, dir, name))
            return ty__err(ix->err, TY_EINVAL, "%s: path too long", dir);
        int rc = ty__part_open(&sx[i], p, TY_INDEX_READ, NULL, ix->err);
        if (rc)
            return rc;
    }
    return TY_OK;
}

/* The names of part `part` of `parts` of the name keys held by several of the open shards sx
 * (ty_index_shards_dup_names). */
static int dup_names_in(ty_index_t *ix, const char *dir, ty_part_t *sx, uint32_t nshards,
                        uint32_t part, uint32_t parts, ty_index_dup_fn fn, void *user)
{
    /* part of the name keys by their first 8 bytes (big-endian) */
    uint64_t lo = UINT64_MAX / parts * part, hi = UINT64_MAX / parts * (part + 1);
    MDB_txn **txn = calloc(nshards, sizeof(*txn));
    MDB_cursor **cur = calloc(nshards, sizeof(*cur));
    MDB_val *key = calloc(nshards, sizeof(*key)), *val = calloc(nshards, sizeof(*val));
    int *live = calloc(nshards, sizeof(int));
    int rc =
        txn && cur && key && val && live ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    for (uint32_t i = 0; !rc && i < nshards; i++) {
        int e = mdb_txn_begin(sx[i].env, NULL, MDB_RDONLY, &txn[i]);
        if (!e)
            e = mdb_cursor_open(txn[i], sx[i].names, &cur[i]);
        uint8_t kb[16];
        ty__be64(kb, lo);
        memset(kb + 8, 0, 8);
        key[i].mv_size = 16;
        key[i].mv_data = kb;
        if (!e)
            e = mdb_cursor_get(cur[i], &key[i], &val[i], MDB_SET_RANGE);
        if (e && e != MDB_NOTFOUND)
            rc = ty__err(ix->err, TY_EIO, "%s: reading names: %s", sx[i].path, mdb_strerror(e));
        live[i] =
            !e && key[i].mv_size == 16 && (part + 1 == parts || ty__rd_be64(key[i].mv_data) < hi);
    }
    while (!rc) {
        int m = -1;
        for (uint32_t i = 0; i < nshards; i++)
            if (live[i] && (m < 0 || memcmp(key[i].mv_data, key[m].mv_data, 16) < 0))
                m = (int)i;
        if (m < 0)
            break;
        int first = m;
        uint8_t cur_key[16]; /* key[first] moves when its cursor does */
        memcpy(cur_key, key[first].mv_data, 16);
        for (uint32_t i = 0; !rc && i < nshards; i++) {
            if (!live[i] || (int)i == first || memcmp(key[i].mv_data, key[first].mv_data, 16))
                continue;
            /* the same name in two shards: one index would keep only the first */
            uint32_t id = 0;
            const uint8_t *v = val[i].mv_data;
            if (val[i].mv_size == 4) /* little-endian (index.h) */
                id = ty__rd_le32(v);
            uint8_t kb[4];
            ty__be32(kb, id);
            MDB_val dk = {4, kb}, dv;
            doc_rec_t dr;
            char *name = NULL;
            int e = mdb_get(txn[i], sx[i].docs, &dk, &dv);
            if (e || val[i].mv_size != 4 || ty__docrec_decode(dv.mv_data, dv.mv_size, &dr)) {
                rc = ty__err(ix->err, TY_ECORRUPT, "%s: document %u: damaged name or record",
                             sx[i].path, id);
                break;
            }
            if (memchr(dr.name, 0, dr.name_len)) { /* could not be passed on as a string */
                rc = ty__err(ix->err, TY_EINVAL,
                             "%s: document %u: a name with a NUL byte is also in another shard",
                             sx[i].path, id);
                break;
            }
            if (!(name = malloc(dr.name_len + 1))) {
                rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
                break;
            }
            memcpy(name, dr.name, dr.name_len);
            name[dr.name_len] = 0;
            if (!fn)
                rc = ty__err(ix->err, TY_EINVAL,
                             "%s: a document named '%.200s' is in shard-%04u and shard-%04u", dir,
                             name, (unsigned)first, i);
            else if (fn(user, i, name))
                rc = ty__err(ix->err, TY_ECANCELED, "%s: stopped by the caller", dir);
            free(name);
        }
        for (uint32_t i = 0; !rc && i < nshards; i++) {
            if (!live[i] || memcmp(key[i].mv_data, cur_key, 16))
                continue;
            int e = mdb_cursor_get(cur[i], &key[i], &val[i], MDB_NEXT);
            if (e && e != MDB_NOTFOUND)
                rc = ty__err(ix->err, TY_EIO, "%s: reading names: %s", sx[i].path, mdb_strerror(e));
            live[i] = !e && key[i].mv_size == 16 &&
                      (part + 1 == parts || ty__rd_be64(key[i].mv_data) < hi);
        }
    }
    for (uint32_t i = 0; txn && i < nshards; i++) {
        if (cur && cur[i])
            mdb_cursor_close(cur[i]);
        if (txn[i])
            mdb_txn_abort(txn[i]);
    }
    TY_FREE(txn, cur, key, val, live);
    return rc;
}

int ty_index_shards_dup_names(ty_index_shards_t *sh, uint32_t part, uint32_t parts,
                              ty_index_dup_fn fn, void *user)
{
    if (!sh || !parts || part >= parts)
        return TY_EINVAL;
    ty_part_t *sx = NULL;
    int rc = open_shards(sh, &sx);
    if (!rc)
        rc = dup_names_in(sh->ix, sh->dir, sx, sh->nshards, part, parts, fn, user);
    close_parts(sx, sh->nshards);
    return rc;
}

/* ---- writing the manifest ---------------------------------------------------------------- */

int ty_index_shards_commit(ty_index_shards_t *sh, const uint64_t hist[TY_INDEX_DF_BUCKETS])
{
    if (!sh || !hist)
        return TY_EINVAL;
    if (shards_begin(sh))
        return TY_EINVAL;
    ty_index_t *ix = sh->ix;
    const char *dir = sh->dir;
    uint32_t nshards = sh->nshards;
    char p[4200], tmp[4200];
    if (shard_path(p, sizeof p, dir, "MANIFEST") ||
        shard_path(tmp, sizeof tmp, dir, "MANIFEST.tmp"))
        return ty__err(ix->err, TY_EINVAL, "%s: path too long", dir);
    size_t cap = 256 + (size_t)nshards * 160 + TY_INDEX_DF_BUCKETS * 22, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    int rc = TY_OK;
    uint64_t first = 0;
    index_header_t h0;
    memset(&h0, 0, sizeof h0);
    char *body = malloc((size_t)nshards * 160 + 1);
    size_t blen = 0;
    if (!body)
        rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
    for (uint32_t i = 0; !rc && i < nshards; i++) {
        char name[32], sp[4200];
        snprintf(name, sizeof name, "shard-%04u", i);
        if (shard_path(sp, sizeof sp, dir, name)) {
            rc = ty__err(ix->err, TY_EINVAL, "%s: path too long", dir);
            break;
        }
        ty_part_t s;
        ty_index_stats_t st;
        ty__part_init(&s);
        rc = ty__part_open(&s, sp, TY_INDEX_READ, NULL, ix->err);
        if (!rc)
            rc = ty__part_stats(&s, &st, ix->err);
        if (!rc && i == 0)
            h0 = s.hdr;
        else if (!rc && (s.hdr.k != h0.k || s.hdr.w != h0.w ||
                         s.hdr.norm_fingerprint != h0.norm_fingerprint))
            rc = ty__err(ix->err, TY_EVERSION, "%s: k=%u w=%u, but shard-0000 has k=%u w=%u", sp,
                         s.hdr.k, s.hdr.w, h0.k, h0.w);
        ty__part_close(&s);
        if (rc)
            break;
        blen += (size_t)snprintf(body + blen, 160,
                                 "shard %s first %" PRIu64 " docs %" PRIu64 " postings %" PRIu64
                                 " keys %" PRIu64 "\n",
                                 name, first, st.docs, st.postings, st.keys);
        first += st.docs;
    }
    if (!rc && first > UINT32_MAX)
        rc =
            ty__err(ix->err, TY_ETOOBIG, "%s: %" PRIu64 " documents: more than 2^32-1", dir, first);
    if (!rc) {
        len = (size_t)snprintf(buf, cap,
                               MANIFEST_MAGIC " %d\nk %u\nw %u\nnorm_fingerprint %016" PRIx64
                                              "\ndocs %" PRIu64 "\nshards %u\n",
                               MANIFEST_VERSION, h0.k, h0.w, h0.norm_fingerprint, first, nshards);
        memcpy(buf + len, body, blen);
        len += blen;
        len += (size_t)snprintf(buf + len, cap - len, "df_hist");
        for (int b = 0; b < TY_INDEX_DF_BUCKETS; b++)
            len += (size_t)snprintf(buf + len, cap - len, " %" PRIu64, hist[b]);
        len += (size_t)snprintf(buf + len, cap - len, "\nend\n");
    }
    free(body);
    if (!rc) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int e = fd < 0 ? errno : ty__pwrite_full(fd, buf, len, 0);
        if (e || fsync(fd) != 0 || close(fd) != 0) {
            rc = ty__err(ix->err, TY_EIO, "%s: %s", tmp, strerror(e ? e : errno));
            if (fd >= 0)
                close(fd);
            unlink(tmp);
        } else if (rename(tmp, p) != 0) {
            rc = ty__err(ix->err, TY_EIO, "%s: %s", p, strerror(errno));
            unlink(tmp);
        } else {
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    free(buf);
    return rc;
}

/* ---- opening -------------------------------------------------------------------------------- */

static int bad(ty_index_t *ix, const char *mp, int line, const char *what)
{
    return ty__err(ix->err, TY_ECORRUPT, "%s: line %d: %s (damaged: rebuild the index)", mp, line,
                   what);
}

int ty__shards_open(ty_index_t *ix, int mode, const ty_index_opts_t *io)
{
    char mp[4200];
    if (shard_path(mp, sizeof mp, ix->path, "MANIFEST"))
        return ty__err(ix->err, TY_EINVAL, "%s: path too long", ix->path);
    FILE *f = fopen(mp, "r");
    if (!f) {
        if (errno == ENOENT)
            return ty__err(ix->err, TY_ECORRUPT,
                           "%s: is a directory without a MANIFEST: not a tongyuan index, or a "
                           "sharded build that did not finish (a MANIFEST is written only when "
                           "every shard is complete)",
                           ix->path);
        return ty__err(ix->err, TY_EIO, "%s: %s", mp, strerror(errno));
    }
    if (mode != TY_INDEX_READ) {
        fclose(f);
        return ty__shards_readonly(ix, "add or delete documents");
    }
    struct ty_shards *sh = calloc(1, sizeof(*sh));
    size_t lcap = 64 + TY_INDEX_DF_BUCKETS * 22;
    char *l = malloc(lcap);
    int rc = sh && l ? TY_OK : ty__err(ix->err, TY_ENOMEM, "out of memory");
    int ln = 0, ver = 0;
    unsigned k = 0, w = 0, n = 0;
    uint64_t fp = 0, docs = 0;
    uint64_t *want_post = NULL;
#define NEXT_LINE() (ln++, fgets(l, (int)lcap, f) != NULL && strchr(l, '\n'))
    if (!rc && (!NEXT_LINE() || sscanf(l, MANIFEST_MAGIC " %d", &ver) != 1))
        rc = ty__err(ix->err, TY_ECORRUPT, "%s: not a tongyuan shard manifest", mp);
    if (!rc && ver != MANIFEST_VERSION)
        rc = ty__err(ix->err, TY_EVERSION,
                     "%s: manifest version %d, this tongyuan reads version %d: rebuild the index",
                     mp, ver, MANIFEST_VERSION);
    if (!rc && (!NEXT_LINE() || sscanf(l, "k %u", &k) != 1))
        rc = bad(ix, mp, ln, "expected k");
    if (!rc && (!NEXT_LINE() || sscanf(l, "w %u", &w) != 1))
        rc = bad(ix, mp, ln, "expected w");
    if (!rc && (!NEXT_LINE() || sscanf(l, "norm_fingerprint %" SCNx64, &fp) != 1))
        rc = bad(ix, mp, ln, "expected norm_fingerprint");
    if (!rc && (!NEXT_LINE() || sscanf(l, "docs %" SCNu64, &docs) != 1 || docs > UINT32_MAX))
        rc = bad(ix, mp, ln, "expected docs");
    if (!rc && (!NEXT_LINE() || sscanf(l, "shards %u", &n) != 1 || !n || n > MAX_SHARDS))
        rc = bad(ix, mp, ln, "expected shards (1..100000)");
    ty_part_t *part = NULL;
    if (!rc) {
        part = calloc(n, sizeof(ty_part_t));
        sh->first = calloc((size_t)n + 1, sizeof(uint32_t));
        want_post = calloc(n, sizeof(uint64_t));
        if (!part || !sh->first || !want_post)
            rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
        for (unsigned i = 0; part && i < n; i++)
            ty__part_init(&part[i]);
    }
    uint64_t sum = 0;
    for (unsigned i = 0; !rc && i < n; i++) {
        char name[64], want[32];
        uint64_t first, d, post, keys;
        if (!NEXT_LINE() || sscanf(l,
                                   "shard %63s first %" SCNu64 " docs %" SCNu64 " postings %" SCNu64
                                   " keys %" SCNu64,
                                   name, &first, &d, &post, &keys) != 5) {
            rc = bad(ix, mp, ln, "expected a shard line");
            break;
        }
        snprintf(want, sizeof want, "shard-%04u", i);
        if (strcmp(name, want) != 0 || first != sum || d > UINT32_MAX - sum) {
            rc = bad(ix, mp, ln, "shards out of order");
            break;
        }
        sh->first[i] = (uint32_t)sum;
        sum += d;
        want_post[i] = post;
    }
    if (!rc && sum != docs)
        rc = bad(ix, mp, ln, "the shards' documents do not add up");
    if (!rc) {
        sh->first[n] = (uint32_t)sum;
        sh->docs = sum;
    }
    if (!rc && (!NEXT_LINE() || strncmp(l, "df_hist", 7) != 0))
        rc = bad(ix, mp, ln, "expected df_hist");
    if (!rc) {
        const char *q = l + 7;
        for (int b = 0; !rc && b < TY_INDEX_DF_BUCKETS; b++) {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(q, &e, 10);
            if (e == q || errno || (*e != ' ' && *e != '\n'))
                rc = bad(ix, mp, ln, "bad df_hist");
            sh->hist[b] = v;
            q = e;
        }
        if (!rc && *q != '\n')
            rc = bad(ix, mp, ln, "bad df_hist");
    }
    if (!rc && (!NEXT_LINE() || strcmp(l, "end\n") != 0 || fgets(l, (int)lcap, f)))
        rc = bad(ix, mp, ln, "expected end");
#undef NEXT_LINE
    fclose(f);
    free(l);
    /* the shards: each an index with the manifest's parameters and counts */
    for (unsigned i = 0; !rc && i < n; i++) {
        char name[32], sp[4200];
        snprintf(name, sizeof name, "shard-%04u", i);
        if (shard_path(sp, sizeof sp, ix->path, name)) {
            rc = ty__err(ix->err, TY_EINVAL, "%s: path too long", ix->path);
            break;
        }
        ty_part_t *s = &part[i];
        ty_index_stats_t st;
        char msg[TY_ERRMSG_SIZE];
        s->base = sh->first[i];
        if ((rc = ty__part_open(s, sp, TY_INDEX_READ, io, msg)) ||
            (rc = ty__part_stats(s, &st, msg))) {
            ty__err(ix->err, rc, "%s (shard %u of the sharded index %s)", msg, i, ix->path);
            break;
        }
        if (s->hdr.k != k || s->hdr.w != w || s->hdr.norm_fingerprint != fp)
            rc = ty__err(ix->err, TY_EVERSION,
                         "%s: k=%u w=%u fingerprint %016" PRIx64
                         ", but %s says k=%u w=%u fingerprint %016" PRIx64
                         ": a shard of another index",
                         sp, s->hdr.k, s->hdr.w, s->hdr.norm_fingerprint, mp, k, w, fp);
        else if (st.docs != sh->first[i + 1] - sh->first[i] || st.postings != want_post[i])
            rc = ty__err(ix->err, TY_ECORRUPT,
                         "%s: %" PRIu64 " documents and %" PRIu64 " postings, but %s says %u and "
                         "%" PRIu64 ": not the shard this manifest was written for (rebuild)",
                         sp, st.docs, st.postings, mp, sh->first[i + 1] - sh->first[i],
                         want_post[i]);
    }
    free(want_post);
    if (rc) {
        for (unsigned i = 0; part && i < n; i++)
            ty__part_close(&part[i]);
        free(part);
        ty__shards_free(sh);
        return rc;
    }
    ix->part = part;
    ix->nparts = n;
    ix->hdr = part[0].hdr;
    ix->shards = sh;
    return TY_OK;
}

/* ---- checking a sharded index -------------------------------------------------------------- */

int ty__shards_verify(ty_index_t *ix)
{
    /* no name in two shards; the stored histogram is the shards' merged one */
    int rc = dup_names_in(ix, ix->path, ix->part, (uint32_t)ix->nparts, 0, 1, NULL, NULL);
    uint64_t h[TY_INDEX_DF_BUCKETS];
    if (!rc)
        rc = merged_hist(ix, ix->part, (uint32_t)ix->nparts, 0, 1, h);
    if (!rc && memcmp(h, ix->shards->hist, sizeof h) != 0)
        rc = ty__err(ix->err, TY_ECORRUPT,
                     "%s/MANIFEST: df_hist differs from the shards' postings (rebuild)", ix->path);
    return rc;
}
