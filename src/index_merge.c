/*
 * index_merge.c — posting segments (index.h): written from sorted (key, document) pairs and
 * appended to the post table, and merged — a build's sorted runs into its one segment, an
 * index's segments of similar size into one (size-tiered, as an LSM tree does), or all of
 * them (ty_index_compact()).
 *
 * Segments, not one posting list per key: LMDB is a B-tree, and adding a document's ~100
 * postings to ~100 random keys of a large tree would rewrite most of its pages on every
 * commit; a segment's keys all sort after every existing key (segment ids only grow), so
 * they are appended with MDB_APPEND (full pages, no splits).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "index_impl.h"

#define TIER_FANOUT 4   /* merge when a size tier holds this many segments */
#define TIER_BASE 65536 /* postings: segments below this are all tier 0 */

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t rd64(const uint8_t *p)
{
    return ty__rd_le32(p) | (uint64_t)ty__rd_le32(p + 4) << 32;
}

/* ---- sorting pairs ----------------------------------------------------------------------- */

static void insertion_sort_pairs(pair_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        pair_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].hash > x.hash) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

void ty__sort_pairs(pair_t *a, pair_t *tmp, size_t n)
{
    if (n < 64) {
        insertion_sort_pairs(a, n);
        return;
    }
    /* LSD radix sort of the 40-bit keys, three 14-bit digits: stable, so equal keys keep
     * their (document) order */
    enum { BITS = 14, PASSES = 3 };
    size_t *cnt = malloc(((size_t)1 << BITS) * sizeof(size_t));
    if (!cnt) {
        insertion_sort_pairs(a, n); /* out of memory for 128 KB: slow but the same result */
        return;
    }
    pair_t *src = a, *dst = tmp;
    const uint64_t mask = ((uint64_t)1 << BITS) - 1;
    for (int pass = 0; pass < PASSES; pass++) {
        int shift = pass * BITS;
        memset(cnt, 0, ((size_t)1 << BITS) * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            cnt[(src[i].hash >> shift) & mask]++;
        size_t sum = 0;
        for (size_t d = 0; d < ((size_t)1 << BITS); d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i].hash >> shift) & mask]++] = src[i];
        pair_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(pair_t));
    free(cnt);
}

/* Bucket bits for a segment of about nkeys minimizers: about TY_BUCKET_KEYS a bucket. */
static uint32_t bits_for(uint64_t nkeys)
{
    uint32_t b = 0;
    while (b < 32 && (nkeys >> b) > TY_BUCKET_KEYS)
        b++;
    return b;
}

/* ---- segment writer ---------------------------------------------------------------------- */

typedef struct {
    ty_part_t *pt;
    char *err;
    MDB_txn **txnp; /* the caller's transaction (renewed when committing on the way) */
    MDB_cursor *cur;
    size_t commit_every; /* bytes: commit on the way (a build's temporary file only) */
    size_t pending;      /* bytes written since the last commit */
    uint32_t seg, bits;
    seg_rec_t rec;
    int have; /* a bucket is being filled */
    uint32_t bucket;
    uint64_t last_key, nkeys;
    TY_VEC(uint8_t) dir; /* the bucket's directory */
    TY_VEC(uint8_t) ids; /* and its id lists */
    TY_VEC(uint8_t) val; /* the assembled value */
} segw_t;

static int segw_begin(segw_t *w, ty_part_t *pt, char *err, MDB_txn **txnp, uint32_t seg,
                      uint64_t est_keys, size_t commit_every)
{
    memset(w, 0, sizeof(*w));
    w->pt = pt;
    w->err = err;
    w->txnp = txnp;
    w->commit_every = commit_every;
    w->seg = seg;
    w->bits = bits_for(est_keys);
    w->rec.bits = w->bits;
    w->rec.min_doc = UINT32_MAX;
    int rc = mdb_cursor_open(*txnp, pt->post, &w->cur);
    return rc ? ty__mdb_err(err, pt->path, rc, "cursor") : TY_OK;
}

static int segw_flush(segw_t *w)
{
    if (!w->have)
        return TY_OK;
    if (ty_vec_reserve(w->val, 20 + w->dir.n + w->ids.n))
        return ty__err(w->err, TY_ENOMEM, "out of memory");
    size_t l = ty__put_varint(w->val.a, w->nkeys);
    l += ty__put_varint(w->val.a + l, w->dir.n);
    memcpy(w->val.a + l, w->dir.a, w->dir.n);
    l += w->dir.n;
    memcpy(w->val.a + l, w->ids.a, w->ids.n);
    l += w->ids.n;
    uint8_t kb[8];
    ty__be32(kb, w->seg);
    ty__be32(kb + 4, w->bucket);
    MDB_val k = {8, kb}, v = {l, w->val.a};
    int rc = mdb_cursor_put(w->cur, &k, &v, MDB_APPEND);
    if (rc)
        return ty__mdb_err(w->err, w->pt->path, rc, "writing postings");
    w->pending += l;
    if (w->commit_every && w->pending >= w->commit_every) {
        /* LMDB keeps a transaction's pages in memory until it commits: a build, whose file
         * is not in place yet, need not write its one big segment in one transaction */
        mdb_cursor_close(w->cur);
        w->cur = NULL;
        rc = mdb_txn_commit(*w->txnp);
        *w->txnp = NULL;
        if (!rc)
            rc = mdb_txn_begin(w->pt->env, NULL, 0, w->txnp);
        if (!rc)
            rc = mdb_cursor_open(*w->txnp, w->pt->post, &w->cur);
        if (rc)
            return ty__mdb_err(w->err, w->pt->path, rc, "committing postings");
        w->pending = 0;
    }
    w->have = 0;
    w->dir.n = w->ids.n = 0;
    w->nkeys = 0;
    return TY_OK;
}

/* Add one minimizer key (40 bits, increasing from call to call) with n increasing ids. */
static int segw_put(segw_t *w, uint64_t key, const uint32_t *ids, size_t n)
{
    uint32_t bucket = (uint32_t)(key >> (TY_KEY_BITS - w->bits));
    uint64_t suffix = key & (((uint64_t)1 << (TY_KEY_BITS - w->bits)) - 1);
    int rc;
    if (w->have && bucket != w->bucket && (rc = segw_flush(w)) != TY_OK)
        return rc;
    if (ty_vec_reserve(w->ids, w->ids.n + 5 * n) || ty_vec_reserve(w->dir, w->dir.n + 30))
        return ty__err(w->err, TY_ENOMEM, "out of memory");
    size_t before = w->ids.n;
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        w->ids.n += ty__put_varint(w->ids.a + w->ids.n, i ? ids[i] - last : ids[i]);
        last = ids[i];
    }
    uint64_t d =
        w->have ? suffix - (w->last_key & (((uint64_t)1 << (TY_KEY_BITS - w->bits)) - 1)) : suffix;
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, d);
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, n);
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, w->ids.n - before);
    w->have = 1;
    w->bucket = bucket;
    w->last_key = key;
    w->nkeys++;
    w->rec.postings += n;
    w->rec.keys++;
    w->rec.hist[ty__hist_bucket(n)]++;
    if (ids[0] < w->rec.min_doc)
        w->rec.min_doc = ids[0];
    if (ids[n - 1] > w->rec.max_doc)
        w->rec.max_doc = ids[n - 1];
    return TY_OK;
}

static void segw_release(segw_t *w)
{
    if (w->cur)
        mdb_cursor_close(w->cur);
    w->cur = NULL;
    TY_FREE(w->dir.a, w->ids.a, w->val.a);
    w->dir.a = w->ids.a = w->val.a = NULL;
}

/* Finish: store the segment record and update the counts. An empty segment stores nothing. */
static int segw_end(segw_t *w, index_counts_t *c)
{
    int rc = segw_flush(w);
    segw_release(w);
    if (rc || !w->rec.keys)
        return rc;
    uint8_t kb[4], vb[TY_SEGREC_SIZE];
    ty__be32(kb, w->seg);
    ty__segrec_encode(&w->rec, vb);
    MDB_val k = {4, kb}, v = {sizeof vb, vb};
    rc = mdb_put(*w->txnp, w->pt->segs, &k, &v, 0);
    if (rc)
        return ty__mdb_err(w->err, w->pt->path, rc, "writing segment record");
    c->postings += w->rec.postings;
    c->keys += w->rec.keys;
    return TY_OK;
}

/* Sorted pairs (key, doc): the ids of each key, duplicates (two hashes of one document that
 * share a 40-bit key) dropped. *i advances past the key's pairs. */
static int group_ids(const pair_t *a, size_t n, size_t *i, void *vec)
{
    TY_VEC(uint32_t) *ids = vec;
    size_t j = *i;
    ids->n = 0;
    while (j < n && a[j].hash == a[*i].hash) {
        if (!ids->n || ids->a[ids->n - 1] != a[j].doc)
            if (ty_vec_push(*ids, a[j].doc))
                return -1;
        j++;
    }
    *i = j;
    return 0;
}

static uint64_t count_keys(const pair_t *a, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !i || a[i].hash != a[i - 1].hash;
    return k;
}

int ty__segment_from_pairs(ty_part_t *pt, MDB_txn **txnp, const pair_t *a, size_t n,
                           index_counts_t *c, size_t commit_every, char *err)
{
    if (!n)
        return TY_OK;
    segw_t w;
    int rc = segw_begin(&w, pt, err, txnp, c->next_seg, count_keys(a, n), commit_every);
    if (rc)
        return rc;
    c->next_seg++;
    TY_VEC(uint32_t) ids = {0};
    for (size_t i = 0; i < n && !rc;) {
        uint64_t key = a[i].hash;
        if (group_ids(a, n, &i, &ids))
            rc = ty__err(err, TY_ENOMEM, "out of memory");
        else
            rc = segw_put(&w, key, ids.a, ids.n);
    }
    free(ids.a);
    if (rc) {
        segw_release(&w);
        return rc;
    }
    return segw_end(&w, c);
}

/* ---- temporary runs (build) -------------------------------------------------------------- */

struct ty_runs {
    TY_VEC(FILE *) f;
    TY_VEC(uint32_t) min_doc;
    TY_VEC(uint64_t) keys;
};

void ty__runs_free(ty_runs_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->f.n; i++)
        fclose(r->f.a[i]);
    TY_FREE(r->f.a, r->min_doc.a, r->keys.a, r);
}

size_t ty__runs_count(const ty_runs_t *r) { return r ? r->f.n : 0; }

/* A run is a temporary file (unlinked at once: nothing is left behind by a crash) holding
 * groups [key u64 LE][varint n][n varint ids, delta-coded] in key order. */
int ty__run_from_pairs(ty_runs_t **rp, const char *near, const pair_t *a, size_t n, char *err,
                       const char *path)
{
    if (!n)
        return TY_OK;
    if (!*rp && !(*rp = calloc(1, sizeof(ty_runs_t))))
        return ty__err(err, TY_ENOMEM, "out of memory");
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s.run.XXXXXX", near);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return ty__err(err, TY_EIO, "%s: cannot create a temporary file: %s", tmpl,
                       strerror(errno));
    unlink(tmpl);
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        return ty__err(err, TY_ENOMEM, "out of memory");
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    ty_runs_t *r = *rp;
    if (ty_vec_push(r->f, f)) {
        fclose(f);
        return ty__err(err, TY_ENOMEM, "out of memory");
    }
    if (ty_vec_push(r->min_doc, 0) || ty_vec_push(r->keys, 0))
        return ty__err(err, TY_ENOMEM, "out of memory");
    uint32_t mn = UINT32_MAX;
    uint64_t keys = 0;
    uint8_t buf[16];
    TY_VEC(uint32_t) ids = {0};
    for (size_t i = 0; i < n;) {
        uint64_t key = a[i].hash;
        if (group_ids(a, n, &i, &ids)) {
            free(ids.a);
            return ty__err(err, TY_ENOMEM, "out of memory");
        }
        le64(buf, key);
        size_t l = 8 + ty__put_varint(buf + 8, ids.n);
        fwrite(buf, 1, l, f);
        for (size_t x = 0; x < ids.n; x++) {
            l = ty__put_varint(buf, x ? ids.a[x] - ids.a[x - 1] : ids.a[x]);
            fwrite(buf, 1, l, f);
        }
        if (ids.a[0] < mn)
            mn = ids.a[0];
        keys++;
    }
    free(ids.a);
    r->min_doc.a[r->f.n - 1] = mn;
    r->keys.a[r->f.n - 1] = keys;
    if (fflush(f) != 0 || ferror(f) || fseek(f, 0, SEEK_SET) != 0)
        return ty__err(err, TY_EIO, "%s: writing a temporary run: %s", path, strerror(errno));
    return TY_OK;
}

/* ---- merging ----------------------------------------------------------------------------- */

/* One input of a merge: a run file or an LMDB segment. hash/ids: the current minimizer. */
typedef struct {
    FILE *f;       /* run, or NULL */
    MDB_cursor *c; /* segment, or NULL */
    uint32_t seg, bits;
    uint32_t min_doc; /* inputs are concatenated in this order */
    int done;
    int at_end; /* segment: the cursor stands on the table's last key, already read */
    uint64_t hash;
    TY_VEC(uint32_t) ids;
    TY_VEC(uint8_t) val; /* segment: a copy of the current bucket */
    bucket_iter_t bi;
    int in_bucket;
} src_t;

static int varint_file(FILE *f, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int ch = getc(f);
        if (ch == EOF)
            return -1;
        x |= (uint64_t)(ch & 0x7f) << shift;
        if (!(ch & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int seg_damaged(ty_part_t *pt, char *err, uint32_t seg)
{
    return ty__err(err, TY_ECORRUPT, "%s: damaged postings in segment %u", pt->path, seg);
}

/* Segment source: load the bucket under the cursor (copied: later writes in this
 * transaction may move pages) and step the cursor past it. */
static int src_load_bucket(ty_part_t *pt, char *err, src_t *s)
{
    MDB_val k, v;
    if (s->at_end) {
        s->done = 1;
        return TY_OK;
    }
    int rc = mdb_cursor_get(s->c, &k, &v, MDB_GET_CURRENT);
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != 8 || ty__rd_be32(k.mv_data) != s->seg))) {
        s->done = 1;
        return TY_OK;
    }
    if (rc)
        return ty__mdb_err(err, pt->path, rc, "reading postings");
    if (ty_vec_reserve(s->val, v.mv_size ? v.mv_size : 1))
        return ty__err(err, TY_ENOMEM, "out of memory");
    memcpy(s->val.a, v.mv_data, v.mv_size);
    if (ty__bucket_begin(&s->bi, s->val.a, v.mv_size, ty__rd_be32((const uint8_t *)k.mv_data + 4),
                         s->bits))
        return seg_damaged(pt, err, s->seg);
    s->in_bucket = 1;
    rc = mdb_cursor_get(s->c, &k, &v, MDB_NEXT);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(err, pt->path, rc, "reading postings");
    if (rc == MDB_NOTFOUND)
        s->at_end = 1; /* GET_CURRENT would give the last key again */
    return TY_OK;
}

/* Advance s to its next minimizer. */
static int src_next(ty_part_t *pt, char *err, src_t *s)
{
    s->ids.n = 0;
    if (s->f) {
        uint8_t hb[8];
        size_t r = fread(hb, 1, 8, s->f);
        if (r == 0 && feof(s->f)) {
            s->done = 1;
            return TY_OK;
        }
        uint64_t n, v, last = 0;
        if (r != 8 || varint_file(s->f, &n) || n == 0 || n > UINT32_MAX)
            return ty__err(err, TY_EIO, "%s: temporary run damaged", pt->path);
        s->hash = rd64(hb);
        if (ty_vec_reserve(s->ids, n))
            return ty__err(err, TY_ENOMEM, "out of memory");
        for (uint64_t i = 0; i < n; i++) {
            if (varint_file(s->f, &v))
                return ty__err(err, TY_EIO, "%s: temporary run damaged", pt->path);
            last = i ? last + v : v;
            s->ids.a[s->ids.n++] = (uint32_t)last;
        }
        return TY_OK;
    }
    for (;;) {
        if (!s->in_bucket) {
            int rc = src_load_bucket(pt, err, s);
            if (rc || s->done)
                return rc;
        }
        uint64_t key, cnt;
        const uint8_t *ip;
        size_t il;
        int rc = ty__bucket_next(&s->bi, &key, &cnt, &ip, &il);
        if (rc < 0)
            return seg_damaged(pt, err, s->seg);
        if (rc == 0) {
            s->in_bucket = 0;
            continue;
        }
        post_iter_t it;
        uint32_t id;
        if (ty__post_begin(&it, ip, il, cnt) || ty_vec_reserve(s->ids, cnt))
            return cnt > il ? seg_damaged(pt, err, s->seg)
                            : ty__err(err, TY_ENOMEM, "out of memory");
        while ((rc = ty__post_next(&it, &id)) == 1)
            s->ids.a[s->ids.n++] = id;
        if (rc < 0)
            return seg_damaged(pt, err, s->seg);
        s->hash = key;
        return TY_OK;
    }
}

/* Position a segment source on its first key. */
static int src_seek(ty_part_t *pt, char *err, src_t *s)
{
    uint8_t kb[8];
    ty__be32(kb, s->seg);
    memset(kb + 4, 0, 4);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(s->c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        s->done = 1;
        return TY_OK;
    }
    return rc ? ty__mdb_err(err, pt->path, rc, "seeking postings") : TY_OK;
}

/* heap of source indices ordered by (key, min_doc) */
static inline int src_less(const src_t *s, const int *a, const int *b)
{
    if (s[*a].hash != s[*b].hash)
        return s[*a].hash < s[*b].hash;
    return s[*a].min_doc < s[*b].min_doc;
}

TY_HEAP_INIT(srcheap, int, const src_t *, src_less)

/* Merge srcs (k of them, about est_keys distinct minimizers) into a new segment in txn.
 * The new segment's id is above every input's, so its keys are appended. */
static int merge_into(ty_part_t *pt, char *err, MDB_txn **txnp, src_t *s, int k, uint64_t est_keys,
                      index_counts_t *c, size_t commit_every)
{
    int rc = TY_OK;
    int *h = malloc((size_t)(k ? k : 1) * sizeof(int));
    TY_VEC(uint32_t) ids = {0};
    if (!h)
        return ty__err(err, TY_ENOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < k && !rc; i++) {
        if (s[i].c)
            rc = src_seek(pt, err, &s[i]);
        if (!rc && !s[i].done)
            rc = src_next(pt, err, &s[i]);
        if (!rc && !s[i].done)
            h[n++] = i;
    }
    for (int i = n / 2 - 1; i >= 0; i--)
        srcheap_down(h, (size_t)n, (size_t)i, s);
    segw_t w;
    if (!rc)
        rc = segw_begin(&w, pt, err, txnp, c->next_seg, est_keys, commit_every);
    if (rc) {
        free(h);
        return rc;
    }
    c->next_seg++;
    while (n > 0 && !rc) {
        uint64_t hash = s[h[0]].hash;
        ids.n = 0;
        /* pop every source at this key, in doc order (the heap breaks ties by min_doc) */
        while (n > 0 && s[h[0]].hash == hash && !rc) {
            src_t *x = &s[h[0]];
            if (ty_vec_reserve(ids, ids.n + x->ids.n)) {
                rc = ty__err(err, TY_ENOMEM, "out of memory");
                break;
            }
            if (ids.n && x->ids.n && x->ids.a[0] <= ids.a[ids.n - 1]) {
                rc = ty__err(err, TY_ECORRUPT, "%s: postings of merged segments overlap (doc %u)",
                             pt->path, x->ids.a[0]);
                break;
            }
            memcpy(ids.a + ids.n, x->ids.a, x->ids.n * sizeof(uint32_t));
            ids.n += x->ids.n;
            rc = src_next(pt, err, x);
            if (rc)
                break;
            if (x->done)
                h[0] = h[--n];
            srcheap_down(h, (size_t)n, 0, s);
        }
        if (!rc && ids.n)
            rc = segw_put(&w, hash, ids.a, ids.n);
    }
    free(h);
    free(ids.a);
    if (rc) {
        segw_release(&w);
        return rc;
    }
    return segw_end(&w, c);
}

/* Delete segment seg's postings and record; subtract them from the counts. */
static int drop_segment(ty_part_t *pt, char *err, MDB_txn *txn, uint32_t seg, const seg_rec_t *rec,
                        index_counts_t *c)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, pt->post, &cur);
    if (rc)
        return ty__mdb_err(err, pt->path, rc, "cursor");
    uint8_t kb[8];
    ty__be32(kb, seg);
    memset(kb + 4, 0, 4);
    MDB_val k = {8, kb}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size != 8 || ty__rd_be32(k.mv_data) != seg)
            break;
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (rc) {
            /* the cursor can sit past the end of a page after a delete: seek again */
            k.mv_size = 8;
            k.mv_data = kb;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(err, pt->path, rc, "deleting merged postings");
    ty__be32(kb, seg);
    MDB_val sk = {4, kb};
    rc = mdb_del(txn, pt->segs, &sk, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(err, pt->path, rc, "deleting segment record");
    c->postings -= rec->postings;
    c->keys -= rec->keys;
    return TY_OK;
}

static int cmp_seg_min(const void *a, const void *b)
{
    const seginfo_t *x = a, *y = b;
    return x->rec.min_doc < y->rec.min_doc ? -1 : x->rec.min_doc > y->rec.min_doc;
}

/* Merge the given segments (ids/records) into one, in txn. */
static int merge_segments(ty_part_t *pt, char *err, MDB_txn *txn, seginfo_t *sel, size_t ns,
                          index_counts_t *c)
{
    qsort(sel, ns, sizeof(seginfo_t), cmp_seg_min);
    src_t *s = calloc(ns, sizeof(src_t));
    if (!s)
        return ty__err(err, TY_ENOMEM, "out of memory");
    int rc = TY_OK;
    uint64_t est = 0;
    for (size_t i = 0; i < ns && !rc; i++) {
        s[i].seg = sel[i].id;
        s[i].bits = sel[i].rec.bits;
        s[i].min_doc = sel[i].rec.min_doc;
        est += sel[i].rec.keys;
        int e = mdb_cursor_open(txn, pt->post, &s[i].c);
        if (e)
            rc = ty__mdb_err(err, pt->path, e, "cursor");
    }
    if (!rc)
        rc = merge_into(pt, err, &txn, s, (int)ns, est, c, 0);
    for (size_t i = 0; i < ns; i++) {
        if (s[i].c)
            mdb_cursor_close(s[i].c);
        free(s[i].ids.a);
        free(s[i].val.a);
    }
    free(s);
    for (size_t i = 0; i < ns && !rc; i++)
        rc = drop_segment(pt, err, txn, sel[i].id, &sel[i].rec, c);
    return rc;
}

static int tier_of(uint64_t postings)
{
    int t = 0;
    while (postings >= (uint64_t)TIER_BASE) {
        postings /= TIER_FANOUT;
        t++;
    }
    return t;
}

/* Merge one tier that holds TIER_FANOUT or more segments; *merged = 1 if one was merged. */
static int merge_one_tier(ty_part_t *pt, char *err, int all, int *merged)
{
    *merged = 0;
    MDB_txn *txn;
    int rc = ty__part_txn(pt, 0, &txn, err);
    if (rc)
        return rc;
    seginfo_t *sg = NULL;
    size_t ns = 0;
    index_counts_t c;
    rc = ty__read_segs(pt, txn, &sg, &ns, err);
    if (!rc)
        rc = ty__counts_get(pt, txn, &c, err);
    size_t nsel = 0;
    if (!rc && all) {
        nsel = ns > 1 ? ns : 0;
    } else if (!rc) {
        /* lowest tier first: small merges are cheap and keep the segment count down */
        for (int t = 0; t < 64 && !nsel; t++) {
            size_t cnt = 0;
            for (size_t i = 0; i < ns; i++)
                cnt += tier_of(sg[i].rec.postings) == t;
            if (cnt >= TIER_FANOUT) {
                for (size_t i = 0; i < ns; i++)
                    if (tier_of(sg[i].rec.postings) == t)
                        sg[nsel++] = sg[i];
            }
        }
    }
    if (!rc && nsel) {
        rc = merge_segments(pt, err, txn, sg, nsel, &c);
        if (!rc)
            rc = ty__counts_put(pt, txn, &c, err);
        if (!rc) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
            if (rc)
                rc = ty__mdb_err(err, pt->path, rc, "commit");
            else
                *merged = 1;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    free(sg);
    return rc;
}

int ty__merge_tiers(ty_part_t *pt, char *err)
{
    int merged = 1, rc = TY_OK;
    while (merged && !rc)
        rc = merge_one_tier(pt, err, 0, &merged);
    return rc;
}

int ty__compact(ty_part_t *pt, char *err)
{
    int merged;
    return merge_one_tier(pt, err, 1, &merged);
}

/* A build's runs: merged into its one segment. */
int ty__merge_runs(ty_part_t *pt, MDB_txn **txnp, ty_runs_t *r, index_counts_t *c,
                   size_t commit_every, char *err)
{
    size_t n = ty__runs_count(r);
    src_t *s = n ? calloc(n, sizeof(src_t)) : NULL;
    if (n && !s)
        return ty__err(err, TY_ENOMEM, "out of memory");
    uint64_t est = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].f = r->f.a[i];
        s[i].min_doc = r->min_doc.a[i];
        est += r->keys.a[i];
    }
    int rc = merge_into(pt, err, txnp, s, (int)n, est, c, commit_every);
    for (size_t i = 0; i < n; i++)
        free(s[i].ids.a);
    free(s);
    return rc;
}
