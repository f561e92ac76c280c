/*
 * dedup_spill.c — what the one-process dedup engine holds on disk when its memory budget
 * (ty_dedup_opts_t.memory, `dedup --memory`) would be passed: the temporary directory and the
 * append-only stores of per-document bytes (spun mode's compressed texts, near mode's
 * signatures), read back with pread, and the tables as sorted runs: the tables of first
 * documents (exact and band keys) and spun mode's minimizer table (docs/dedup.md, "Memory").
 *
 * The temporary directory is made with mkdtemp in tmp_dir ($TMPDIR or /tmp) when the first
 * file is needed, and every file in it is created without a name (O_TMPFILE; elsewhere a named
 * file unlinked at once): the directory stays empty, the files vanish when they are closed or
 * the process ends however it ends, and removing the directory is one rmdir — which a front
 * end may call from a signal handler on the path ty_dedup_tmp_dir() gives (the library installs
 * no handler). pread, not mmap: pages of a mapped file are counted in the process's resident
 * memory; the page cache that serves pread is not, and the kernel gives it up under pressure.
 *
 * A store is one logical byte range [0, n): the bytes before `disk` are in the file, the rest
 * in memory chunks (a value may straddle two chunks). Spilling writes the memory part to the
 * end of the file and frees it; the offsets of the values do not change, so the records that
 * name them (drec_t.coff, a document's signature at g x bytes) stay as they are and a look-up
 * gives the same bytes before and after — the engine's decisions cannot depend on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup_impl.h"

#define CHUNK ((size_t)16 << 20)

/* ---- the temporary directory ------------------------------------------------------------- */

/* A file without a name in the directory (made first): its descriptor, or -1 with a
 * message naming tmp_dir. */
static int spill_file(ty__spill_t *s, char *err)
{
    if (!s->dir[0]) {
        const char *parent = s->parent && *s->parent ? s->parent : getenv("TMPDIR");
        if (!parent || !*parent)
            parent = "/tmp";
        /* mkdtemp fills s->dir in place: a signal handler reading it sees the template or
         * the name, and an rmdir of either is harmless */
        if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/tongyuan-dedup.XXXXXX", parent) >=
                sizeof s->dir ||
            !mkdtemp(s->dir)) {
            int e = errno;
            s->dir[0] = 0;
            ty__err(err, TY_EIO, "cannot make a temporary directory in %s (tmp_dir): %s", parent,
                    strerror(e));
            return -1;
        }
    }
    int fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* no O_TMPFILE here: a named file, unlinked at once */
        char path[sizeof s->dir + 16];
        snprintf(path, sizeof path, "%s/spill.XXXXXX", s->dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
    }
    if (fd < 0)
        ty__err(err, TY_EIO, "cannot make a temporary file in %s (tmp_dir): %s", s->dir,
                strerror(errno));
    return fd;
}

void ty__spill_end(ty__spill_t *s)
{
    if (s->dir[0])
        rmdir(s->dir);
    s->dir[0] = 0;
}

/* ---- append-only stores ------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int ty__blobs_put(ty__blobs_t *b, const void *p, size_t n, uint64_t *off)
{
    const char *s = p;
    *off = b->n;
    while (n) {
        size_t at = (size_t)(b->n - b->base), ci = at / CHUNK, co = at % CHUNK;
        if (ci == b->chunks.n) {
            char *c = malloc(CHUNK);
            if (!c || ty_vec_push(b->chunks, c)) {
                free(c);
                return TY_ENOMEM;
            }
        }
        size_t k = CHUNK - co < n ? CHUNK - co : n;
        memcpy(b->chunks.a[ci] + co, s, k);
        s += k;
        n -= k;
        b->n += k;
    }
    return TY_OK;
}

const char *ty__blobs_get(const ty__blobs_t *b, uint64_t off, size_t n, char *scratch)
{
    if (!n)
        return scratch;
    if (off >= b->base) { /* in memory: a pointer when it lies in one chunk */
        size_t at = (size_t)(off - b->base), ci = at / CHUNK, co = at % CHUNK;
        if (co + n <= CHUNK)
            return b->chunks.a[ci] + co;
    }
    for (size_t done = 0; done < n;) {
        uint64_t o = off + done;
        size_t k;
        if (o < b->base) { /* on disk */
            k = o + (n - done) > b->base ? (size_t)(b->base - o) : n - done;
            ssize_t r = pread(b->fd, scratch + done, k, (off_t)o);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return NULL;
            k = (size_t)r;
        } else {
            size_t at = (size_t)(o - b->base), ci = at / CHUNK, co = at % CHUNK;
            k = CHUNK - co < n - done ? CHUNK - co : n - done;
            memcpy(scratch + done, b->chunks.a[ci] + co, k);
        }
        done += k;
    }
    return scratch;
}

const char *ty__blobs_read(const ty__blobs_t *b, uint64_t off, size_t n, char **buf, size_t *cap)
{
    if (*cap < n) {
        char *p = realloc(*buf, n);
        if (!p)
            return NULL;
        *buf = p;
        *cap = n;
    }
    return ty__blobs_get(b, off, n, *buf);
}

int ty__blobs_spill(ty__blobs_t *b, ty__spill_t *s, char *err)
{
    if (b->n == b->base)
        return TY_OK;
    if (b->fd < 0 && (b->fd = spill_file(s, err)) < 0)
        return TY_EIO;
    for (size_t i = 0; i < b->chunks.n; i++) {
        uint64_t from = b->base + (uint64_t)i * CHUNK;
        size_t k = b->n - from < CHUNK ? (size_t)(b->n - from) : CHUNK;
        int e = write_all(b->fd, b->chunks.a[i], k, from);
        if (e)
            return ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s", s->dir,
                           strerror(e));
    }
    for (size_t i = 0; i < b->chunks.n; i++)
        free(b->chunks.a[i]);
    b->chunks.n = 0;
    s->disk_bytes += b->n - b->base;
    b->base = b->n;
    return TY_OK;
}

void ty__blobs_free(ty__blobs_t *b)
{
    for (size_t i = 0; i < b->chunks.n; i++)
        free(b->chunks.a[i]);
    free(b->chunks.a);
    if (b->fd >= 0)
        close(b->fd);
    memset(b, 0, sizeof *b);
    b->fd = -1;
}

/* ---- the budget ----------------------------------------------------------------------------- */

uint64_t ty__spill_default_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : (uint64_t)8 << 30;
    /* a container's limit (cgroup v2), when lower than the machine's memory */
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        unsigned long long lim;
        if (fscanf(f, "%llu", &lim) == 1 && lim > 0 && lim < ram)
            ram = lim;
        fclose(f);
    }
    return ram / 2;
}

/* ---- sorted runs ---------------------------------------------------------------------------
 *
 * A table of first documents (exact keys, near mode's band keys) holds each key once, and a
 * key never changes once it is there: the first document of a key is the first to come. So
 * when the budget is passed the memory table is written out as a run — its records sorted by
 * key, immutable — and started again empty; a look-up asks the memory table and then the runs,
 * and finds the key in at most one of them, with the value the one table would have given.
 * A run keeps in memory the first key of each block of RUN_BLOCK records (a look-up reads
 * one block with one pread) and a Bloom filter of its keys (10 bits a key, 6 probes: about
 * 1 % of the look-ups of an absent key read a block — most keys are new). Runs of similar
 * size are merged (a k-way merge of sorted files, the external sort), so there are few. */

#define RUN_BLOCK 256
#define RUN_MAX 6
#define BLOOM_K 6
#define IOBUF ((size_t)1 << 20)

static inline uint64_t rec_key(const void *r)
{
    uint64_t k;
    memcpy(&k, r, 8);
    return k;
}

static inline uint64_t bloom_pos(uint64_t h, int i, uint64_t mask)
{
    return (h + (uint64_t)i * ((h >> 32) | 1)) & mask;
}

static int bloom_has(const ty__srun_t *r, uint64_t key)
{
    uint64_t h = ty__mix64(key ^ 0x6A09E667F3BCC909ULL);
    for (int i = 0; i < BLOOM_K; i++) {
        uint64_t b = bloom_pos(h, i, r->mask);
        if (!(r->bloom[b >> 6] >> (b & 63) & 1))
            return 0;
    }
    return 1;
}

static void bloom_add(ty__srun_t *r, uint64_t key)
{
    uint64_t h = ty__mix64(key ^ 0x6A09E667F3BCC909ULL);
    for (int i = 0; i < BLOOM_K; i++) {
        uint64_t b = bloom_pos(h, i, r->mask);
        r->bloom[b >> 6] |= 1ULL << (b & 63);
    }
}

static void run_free(ty__srun_t *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->fence);
    free(r->bloom);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* A run being written: records come in key order. */
typedef struct {
    ty__srun_t r;
    char *buf;
    size_t nbuf, rec;
    uint64_t off;
    int err;
} run_writer_t;

static int writer_open(run_writer_t *w, size_t rec, uint64_t n, ty__spill_t *s, char *err)
{
    memset(w, 0, sizeof *w);
    w->rec = rec;
    uint64_t bits = 64;
    while (bits < n * 10)
        bits <<= 1;
    w->r.mask = bits - 1;
    w->r.bloom = calloc(bits / 64, 8);
    w->r.fence = malloc(((n + RUN_BLOCK - 1) / RUN_BLOCK + 1) * 8);
    w->buf = malloc(IOBUF);
    w->r.fd = -1;
    if (!w->r.bloom || !w->r.fence || !w->buf) {
        run_free(&w->r);
        free(w->buf);
        return TY_ENOMEM;
    }
    if ((w->r.fd = spill_file(s, err)) < 0) {
        run_free(&w->r);
        free(w->buf);
        return TY_EIO;
    }
    return TY_OK;
}

static void writer_flush(run_writer_t *w)
{
    if (w->nbuf && !w->err)
        w->err = write_all(w->r.fd, w->buf, w->nbuf, w->off);
    w->off += w->nbuf;
    w->nbuf = 0;
}

static void writer_put(run_writer_t *w, const ty__sruns_t *rs, const void *rec)
{
    uint64_t key = rec_key(rec);
    /* a key in several runs (rs->combine): one record, combined into the one written last,
     * which is still in the buffer (the buffer is flushed before a record, not after) */
    if (rs->combine && w->r.n && w->nbuf && rec_key(w->buf + w->nbuf - w->rec) == key) {
        int e = rs->combine(rs->cctx, w->buf + w->nbuf - w->rec, rec);
        if (e && !w->err)
            w->err = e;
        return;
    }
    if (w->r.n % RUN_BLOCK == 0)
        w->r.fence[w->r.n / RUN_BLOCK] = key;
    bloom_add(&w->r, key);
    if (w->nbuf + w->rec > IOBUF)
        writer_flush(w);
    memcpy(w->buf + w->nbuf, rec, w->rec);
    w->nbuf += w->rec;
    w->r.n++;
}

/* The run written, appended to rs; TY_EIO naming the directory. */
static int writer_close(run_writer_t *w, ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    writer_flush(w);
    free(w->buf);
    if (w->err) {
        int e = w->err;
        run_free(&w->r);
        return ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s", s->dir,
                       strerror(e));
    }
    if (ty_vec_push(rs->r, w->r)) {
        run_free(&w->r);
        return TY_ENOMEM;
    }
    rs->n += w->r.n;
    s->disk_bytes += w->off;
    return TY_OK;
}

/* Reading a run in order, a buffer at a time. */
typedef struct {
    const ty__srun_t *r;
    char *buf;
    size_t rec, have, at;
    uint64_t next; /* records read from the file */
} run_reader_t;

/* The next record, or NULL at the end (*err: an errno when the file could not be read). */
static const char *reader_next(run_reader_t *rd, int *err)
{
    if (rd->at == rd->have) {
        uint64_t left = rd->r->n - rd->next;
        size_t k = IOBUF / rd->rec < left ? IOBUF / rd->rec : (size_t)left;
        if (!k)
            return NULL;
        size_t bytes = k * rd->rec, got = 0;
        while (got < bytes) {
            ssize_t g =
                pread(rd->r->fd, rd->buf + got, bytes - got, (off_t)(rd->next * rd->rec + got));
            if (g < 0 && errno == EINTR)
                continue;
            if (g <= 0) {
                *err = g < 0 ? errno : EIO;
                return NULL;
            }
            got += (size_t)g;
        }
        rd->next += k;
        rd->have = k;
        rd->at = 0;
    }
    return rd->buf + rd->rec * rd->at++;
}

/* Merge runs [from, rs->r.n) into one, in key order: a key in two of them (only with
 * rs->combine) is taken from the older run first and the newer combined into it. */
static int runs_merge(ty__sruns_t *rs, size_t from, ty__spill_t *s, char *err)
{
    size_t k = rs->r.n - from;
    uint64_t n = 0;
    for (size_t i = from; i < rs->r.n; i++)
        n += rs->r.a[i].n;
    run_reader_t *rd = calloc(k, sizeof *rd);
    const char **head = calloc(k, sizeof *head);
    run_writer_t w;
    int rc = rd && head ? writer_open(&w, rs->rec, n, s, err) : TY_ENOMEM;
    int e = 0;
    for (size_t i = 0; !rc && i < k; i++) {
        rd[i] = (run_reader_t){&rs->r.a[from + i], malloc(IOBUF), rs->rec, 0, 0, 0};
        if (!rd[i].buf)
            rc = TY_ENOMEM;
        else
            head[i] = reader_next(&rd[i], &e);
    }
    while (!rc && !e) {
        size_t best = k;
        for (size_t i = 0; i < k; i++)
            if (head[i] && (best == k || rec_key(head[i]) < rec_key(head[best])))
                best = i;
        if (best == k)
            break;
        writer_put(&w, rs, head[best]);
        head[best] = reader_next(&rd[best], &e);
    }
    for (size_t i = 0; rd && i < k; i++)
        free(rd[i].buf);
    free(rd);
    free(head);
    if (rc)
        return rc;
    if (e) {
        free(w.buf);
        run_free(&w.r);
        return ty__err(err, TY_EIO, "reading a temporary file in %s (tmp_dir): %s", s->dir,
                       strerror(e));
    }
    /* the merged run replaces the k */
    for (size_t i = from; i < rs->r.n; i++) {
        rs->n -= rs->r.a[i].n;
        run_free(&rs->r.a[i]);
    }
    rs->r.n = from;
    rc = writer_close(&w, rs, s, err);
    s->merges++;
    return rc;
}

int ty__sruns_add(ty__sruns_t *rs, size_t n, ty__rec_fn get, const void *ctx, ty__spill_t *s,
                  char *err)
{
    if (!n)
        return TY_OK;
    char rec[TY__RUN_MAX_REC];
    run_writer_t w;
    int rc = writer_open(&w, rs->rec, n, s, err);
    for (size_t i = 0; !rc && i < n; i++) {
        get(ctx, i, rec);
        writer_put(&w, rs, rec);
    }
    if (!rc)
        rc = writer_close(&w, rs, s, err);
    /* runs of similar size are merged, and never more than RUN_MAX are left */
    while (!rc && rs->r.n >= 2 &&
           (rs->r.a[rs->r.n - 2].n <= 4 * rs->r.a[rs->r.n - 1].n || rs->r.n > RUN_MAX))
        rc = runs_merge(rs, rs->r.n - 2, s, err);
    return rc;
}

int ty__sruns_find_in(const ty__sruns_t *rs, size_t i, uint64_t key, void *out)
{
    char blk[RUN_BLOCK * TY__RUN_MAX_REC];
    const ty__srun_t *r = &rs->r.a[i];
    if (!r->n || !bloom_has(r, key))
        return 0;
    size_t nb = (size_t)((r->n + RUN_BLOCK - 1) / RUN_BLOCK), lo = 0, hi = nb;
    while (lo < hi) { /* the last block whose first key is <= key */
        size_t mid = (lo + hi) / 2;
        if (r->fence[mid] <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return 0;
    uint64_t b = lo - 1, first = b * RUN_BLOCK;
    size_t cnt = r->n - first < RUN_BLOCK ? (size_t)(r->n - first) : RUN_BLOCK;
    size_t bytes = cnt * rs->rec, got = 0;
    while (got < bytes) {
        ssize_t g = pread(r->fd, blk + got, bytes - got, (off_t)(first * rs->rec + got));
        if (g < 0 && errno == EINTR)
            continue;
        if (g <= 0)
            return TY_EIO;
        got += (size_t)g;
    }
    size_t l = 0, h = cnt;
    while (l < h) {
        size_t mid = (l + h) / 2;
        if (rec_key(blk + mid * rs->rec) < key)
            l = mid + 1;
        else
            h = mid;
    }
    if (l < cnt && rec_key(blk + l * rs->rec) == key) {
        memcpy(out, blk + l * rs->rec, rs->rec);
        return 1;
    }
    return 0;
}

int ty__sruns_find(const ty__sruns_t *rs, uint64_t key, void *out)
{
    for (size_t i = 0; i < rs->r.n; i++) {
        int found = ty__sruns_find_in(rs, i, key, out);
        if (found)
            return found;
    }
    return 0;
}

int ty__sruns_merge_all(ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    return rs->r.n > 1 ? runs_merge(rs, 0, s, err) : TY_OK;
}

int ty__sruns_each(const ty__sruns_t *rs, void (*fn)(void *ctx, const char *rec, size_t n),
                   void *ctx)
{
    for (size_t i = 0; i < rs->r.n; i++) {
        run_reader_t rd = {&rs->r.a[i], malloc(IOBUF), rs->rec, 0, 0, 0};
        if (!rd.buf)
            return TY_ENOMEM;
        int e = 0;
        const char *p = reader_next(&rd, &e);
        while (p) {
            fn(ctx, p, rs->rec);
            p = reader_next(&rd, &e);
        }
        free(rd.buf);
        if (e)
            return TY_EIO;
    }
    return TY_OK;
}

uint64_t ty__sruns_mem(const ty__sruns_t *rs)
{
    uint64_t m = 0;
    for (size_t i = 0; i < rs->r.n; i++)
        m += (rs->r.a[i].mask + 1) / 8 + (rs->r.a[i].n / RUN_BLOCK + 1) * 8;
    return m;
}

void ty__sruns_free(ty__sruns_t *rs)
{
    for (size_t i = 0; i < rs->r.n; i++)
        run_free(&rs->r.a[i]);
    free(rs->r.a);
    rs->r.a = NULL;
    rs->r.n = rs->r.m = 0;
    rs->n = 0;
}

/* ---- the engine's tables of first documents, in memory and in runs ------------------------ */

/* exact key: (lo as the table stores it, hi, first document); band key: (key, document) */
#define EX_REC 20
#define BAND_REC 12

int ty__dd_ex_get(const ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t *g)
{
    *g = ty__xmap_get(&dd->ex, lo, hi);
    if (*g != NONE || !dd->exr.r.n)
        return TY_OK;
    char rec[EX_REC];
    int found = ty__sruns_find(&dd->exr, ty__fix_key(lo), rec);
    if (found < 0)
        return found;
    if (found && memcmp(rec + 8, &hi, 8) == 0)
        memcpy(g, rec + 16, 4);
    return TY_OK;
}

int ty__dd_ex_first(ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t g, uint32_t *first)
{
    char rec[EX_REC];
    int found = dd->exr.r.n ? ty__sruns_find(&dd->exr, ty__fix_key(lo), rec) : 0;
    if (found < 0)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    if (!found)
        return ty__xmap_first(&dd->ex, lo, hi, g, first) ? TY_ENOMEM : TY_OK;
    *first = NONE; /* a key is in one place: the runs have it, the memory table has not */
    if (memcmp(rec + 8, &hi, 8) == 0)
        memcpy(first, rec + 16, 4);
    return TY_OK;
}

int ty__dd_band(ty_dedup_t *dd, uint64_t key, uint32_t g, uint32_t *first)
{
    char rec[BAND_REC];
    int found = dd->bandr.r.n ? ty__sruns_find(&dd->bandr, key, rec) : 0;
    if (found < 0)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    if (found) {
        memcpy(first, rec + 8, 4);
        return TY_OK;
    }
    int isnew;
    ty__kv_t *e = ty__map_put(&dd->bands, key, &isnew);
    if (!e)
        return TY_ENOMEM;
    if (isnew)
        e->val = g;
    *first = isnew ? NONE : e->val;
    return TY_OK;
}

/* The memory tables out as runs, and started again empty. Each table's slots are sorted in
 * place by key (the empty ones, key 0, first) and the records are packed from them as they are
 * written: no second copy of a table is made when memory is short. */
static int cmp_u64_first(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return x < y ? -1 : x > y;
}

static void ex_rec(const void *ctx, size_t i, char *r)
{
    const ty__xmap_t *m = ctx;
    const ty__xkv_t *e = &m->a[m->cap - m->n + i];
    memcpy(r, &e->lo, 8);
    memcpy(r + 8, &m->hi.a[e->at], 8);
    memcpy(r + 16, &e->g, 4);
}

static void band_rec(const void *ctx, size_t i, char *r)
{
    const ty__map_t *m = ctx;
    const ty__kv_t *e = &m->a[m->cap - m->n + i];
    memcpy(r, &e->key, 8);
    memcpy(r + 8, &e->val, 4);
}

static int mz_spill(ty_dedup_t *dd);

int ty__dd_spill_tables(ty_dedup_t *dd)
{
    dd->exr.rec = EX_REC;
    dd->bandr.rec = BAND_REC;
    int rc = TY_OK;
    if (dd->ex.n) {
        qsort(dd->ex.a, dd->ex.cap, sizeof(ty__xkv_t), cmp_u64_first);
        rc = ty__sruns_add(&dd->exr, dd->ex.n, ex_rec, &dd->ex, &dd->sp, dd->err);
        ty__xmap_free(&dd->ex); /* sorted: of no use as a table, whatever happened */
    }
    if (!rc && dd->bands.n) {
        qsort(dd->bands.a, dd->bands.cap, sizeof(ty__kv_t), cmp_u64_first);
        rc = ty__sruns_add(&dd->bandr, dd->bands.n, band_rec, &dd->bands, &dd->sp, dd->err);
        ty__map_free(&dd->bands);
    }
    return rc ? rc : mz_spill(dd);
}

/* ---- spun mode's minimizer table, in memory and in runs ----------------------------------
 *
 * Unlike a table of first documents, a minimizer's entry changes as documents come: its
 * document frequency grows and its postings get longer. So the memory table written out is a
 * run of (minimizer, df, the one document when df is 1, the offset in mzpost of its df
 * documents when df is 2..max_df) for what came since the run before, and a key may be in
 * several runs and the memory table: its df is the sum, its documents the concatenation, the
 * oldest run first (the documents came in that order), used only when the sum is at most
 * max_df, as the one table's would be. Merging runs combines the records of a key the same way
 * (postings past max_df dropped); mzpost is append-only, so a combined list is written anew. */

#define MZ_REC 24

static void mz_get(const char *r, uint32_t *df, uint32_t *one, uint64_t *off)
{
    memcpy(df, r + 8, 4);
    memcpy(one, r + 12, 4);
    memcpy(off, r + 16, 8);
}

static void mz_set(char *r, uint32_t df, uint32_t one, uint64_t off)
{
    memcpy(r + 8, &df, 4);
    memcpy(r + 12, &one, 4);
    memcpy(r + 16, &off, 8);
}

/* The df (2..max_df) documents of a record into out. Any number of threads. */
static int mz_docs(const ty_dedup_t *dd, const char *r, uint32_t *out)
{
    uint32_t df, one;
    uint64_t off;
    mz_get(r, &df, &one, &off);
    if (df == 1) {
        *out = one;
        return TY_OK;
    }
    const char *p = ty__blobs_get(&dd->mzpost, off, (size_t)df * 4, (char *)out);
    if (!p)
        return TY_EIO;
    if (p != (const char *)out)
        memcpy(out, p, (size_t)df * 4);
    return TY_OK;
}

static int mz_combine(void *ctx, char *into, const char *newer)
{
    ty_dedup_t *dd = ctx;
    uint32_t da, db, one;
    uint64_t off = 0;
    memcpy(&da, into + 8, 4);
    memcpy(&db, newer + 8, 4);
    uint64_t sum = (uint64_t)da + db;
    if (sum <= dd->R.o.max_df) { /* rpost: scratch here (no batch is being looked up) */
        if (ty_vec_reserve(dd->rpost, (size_t)sum))
            return ENOMEM;
        if (mz_docs(dd, into, dd->rpost.a) || mz_docs(dd, newer, dd->rpost.a + da))
            return EIO;
        if (ty__blobs_put(&dd->mzpost, dd->rpost.a, (size_t)sum * 4, &off))
            return ENOMEM;
    }
    memcpy(&one, into + 12, 4);
    mz_set(into, sum > NONE ? NONE : (uint32_t)sum, one, off);
    return 0;
}

int ty__dd_mz_runs(const ty_dedup_t *dd, uint64_t key, uint32_t *df, ty__u32vec_t *docs)
{
    uint64_t sum = 0;
    char rec[MZ_REC];
    key = ty__fix_key(key);
    for (size_t i = 0; i < dd->mzr.r.n; i++) {
        int found = ty__sruns_find_in(&dd->mzr, i, key, rec);
        if (found < 0)
            return found;
        if (!found)
            continue;
        uint32_t d;
        memcpy(&d, rec + 8, 4);
        sum += d;
        if (docs && sum <= dd->R.o.max_df) {
            if (ty_vec_reserve(*docs, docs->n + d))
                return TY_ENOMEM;
            if (mz_docs(dd, rec, docs->a + docs->n))
                return TY_EIO;
            docs->n += d;
        }
    }
    *df = sum > NONE ? NONE : (uint32_t)sum;
    return TY_OK;
}

int ty__dd_mz_batch(ty_dedup_t *dd)
{
    if (!dd->mzr.r.n)
        return TY_OK;
    if (dd->brcap < dd->bmz.cap) {
        free(dd->brdf);
        free(dd->broff);
        dd->brdf = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->broff = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->brcap = dd->brdf && dd->broff ? dd->bmz.cap : 0;
        if (!dd->brcap)
            return ty__err(dd->err, TY_ENOMEM, "out of memory");
    }
    dd->rpost.n = 0;
    for (size_t s = 0; s < dd->bmz.cap; s++) {
        if (!dd->bmz.a[s].key)
            continue;
        size_t at = dd->rpost.n;
        if (ty_vec_push(dd->rpost, 0))
            return ty__err(dd->err, TY_ENOMEM, "out of memory");
        int rc = ty__dd_mz_runs(dd, dd->bmz.a[s].key, &dd->brdf[s], &dd->rpost);
        if (rc)
            return ty__err(dd->err, rc, "reading a temporary file in %s (tmp_dir) failed",
                           dd->sp.dir);
        dd->broff[s] = (uint32_t)at;
        dd->rpost.a[at] = (uint32_t)(dd->rpost.n - at - 1);
    }
    return TY_OK;
}

/* The memory table's records, its postings written to mzpost in the same order first. */
typedef struct {
    const ty__mztab_t *t;
    uint32_t max_df;
    uint64_t *next; /* the offset of the next postings in mzpost */
} mz_src_t;

static void mz_rec(const void *ctx, size_t i, char *r)
{
    const mz_src_t *m = ctx;
    const ty__kv_t *e = &m->t->map.a[m->t->map.cap - m->t->map.n + i];
    uint64_t off = 0;
    if (e->val >= 2 && e->val <= m->max_df) {
        off = *m->next;
        *m->next += (uint64_t)e->val * 4;
    }
    memcpy(r, &e->key, 8);
    mz_set(r, e->val, e->val == 1 ? e->aux : NONE, off);
}

static int mz_spill(ty_dedup_t *dd)
{
    dd->mzr.rec = MZ_REC;
    dd->mzr.combine = mz_combine;
    dd->mzr.cctx = dd;
    if (!dd->gmz.map.n)
        return TY_OK;
    ty__map_t *m = &dd->gmz.map;
    qsort(m->a, m->cap, sizeof(ty__kv_t), cmp_u64_first);
    uint64_t next = dd->mzpost.n;
    int rc = TY_OK;
    for (size_t i = m->cap - m->n; !rc && i < m->cap; i++) {
        uint64_t off;
        if (m->a[i].val >= 2 && m->a[i].val <= dd->R.o.max_df) {
            uint32_t one, k;
            const uint32_t *d = ty__mztab_docs(&dd->gmz, &m->a[i], &one, &k);
            rc = ty__blobs_put(&dd->mzpost, d, (size_t)k * 4, &off);
        }
    }
    mz_src_t src = {&dd->gmz, dd->R.o.max_df, &next};
    if (!rc)
        rc = ty__sruns_add(&dd->mzr, m->n, mz_rec, &src, &dd->sp, dd->err);
    ty__mztab_free(&dd->gmz); /* sorted: of no use as a table, whatever happened */
    if (!rc)
        rc = ty__blobs_spill(&dd->mzpost, &dd->sp, dd->err);
    return rc;
}

int ty__dd_mz_merge(ty_dedup_t *dd)
{
    int rc = mz_spill(dd);
    if (!rc)
        rc = ty__sruns_merge_all(&dd->mzr, &dd->sp, dd->err);
    if (rc == TY_ENOMEM)
        ty__err(dd->err, rc, "out of memory");
    return rc;
}

int ty__dd_mz_each(ty_dedup_t *dd, ty__mz_fn fn, void *ctx)
{
    if (!dd->mzr.r.n)
        return TY_OK;
    int rc = TY_OK;
    run_reader_t rd = {&dd->mzr.r.a[0], malloc(IOBUF), MZ_REC, 0, 0, 0};
    if (!rd.buf)
        return TY_ENOMEM;
    int e = 0;
    for (const char *p = reader_next(&rd, &e); p && !rc; p = reader_next(&rd, &e)) {
        uint32_t df, one;
        uint64_t off, key;
        mz_get(p, &df, &one, &off);
        memcpy(&key, p, 8);
        if (df > dd->R.o.max_df) {
            fn(ctx, key, df, NULL);
            continue;
        }
        if (ty_vec_reserve(dd->rpost, df))
            rc = TY_ENOMEM;
        else if (mz_docs(dd, p, dd->rpost.a))
            rc = TY_EIO;
        else
            fn(ctx, key, df, dd->rpost.a);
    }
    free(rd.buf);
    return rc ? rc : e ? TY_EIO : TY_OK;
}
