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
#include "thread.h"

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

/* Bytes written to the directory's files, and those of files closed (their space freed). */
static void disk_grow(ty__spill_t *s, uint64_t n)
{
    s->disk_bytes += n;
    s->disk_now += n;
    if (s->disk_now > s->disk_peak)
        s->disk_peak = s->disk_now;
}

static void disk_shrink(ty__spill_t *s, uint64_t n)
{
    s->disk_now -= n < s->disk_now ? n : s->disk_now;
}

/* ---- append-only stores ------------------------------------------------------------------- */

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
            if (ty__pread_full(b->fd, scratch + done, k, o))
                return NULL;
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
        int e = ty__pwrite_full(b->fd, b->chunks.a[i], k, from);
        if (e)
            return ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s", s->dir,
                           strerror(e));
    }
    for (size_t i = 0; i < b->chunks.n; i++)
        free(b->chunks.a[i]);
    b->chunks.n = 0;
    disk_grow(s, b->n - b->base);
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
 * size are merged (a k-way merge of sorted files, the external sort), so there are few; the
 * files of the runs merged are closed, which gives their space back. */

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

/* A blocked filter: a key's BLOOM_K bits are in one block of 512 bits (one cache line, one
 * miss a look-up; a filter of a large run is far larger than the caches), picked by a second
 * hash scaled to the number of blocks (the high word of a 64 x 64-bit product: any count, so
 * the filter is BLOOM_BITS a key, not up to twice that as a power of two would be); the bits
 * are 9-bit fields of the first. */
#define BLOOM_BITS 10
static inline uint64_t *bloom_block(const ty__srun_t *r, uint64_t h)
{
    return r->bloom + (uint64_t)(((unsigned __int128)ty__mix64(h) * r->nblk) >> 64) * 8;
}

static inline uint64_t bloom_hash(uint64_t key) { return ty__mix64(key ^ 0x6A09E667F3BCC909ULL); }

/* A look-up's block fetched ahead (the merge join knows its next keys: their misses overlap). */
static inline void bloom_prefetch(const ty__srun_t *r, uint64_t key)
{
    if (r->bloom)
        __builtin_prefetch(bloom_block(r, bloom_hash(key)));
}

static int bloom_has(const ty__srun_t *r, uint64_t key)
{
    if (!r->bloom) /* freed while the run is merged */
        return 1;
    uint64_t h = bloom_hash(key);
    const uint64_t *blk = bloom_block(r, h);
    for (int i = 0; i < BLOOM_K; i++) {
        unsigned b = (unsigned)(h >> (9 * i)) & 511;
        if (!(blk[b >> 6] >> (b & 63) & 1))
            return 0;
    }
    return 1;
}

static void bloom_set(uint64_t *blk, uint64_t h)
{
    for (int i = 0; i < BLOOM_K; i++) {
        unsigned b = (unsigned)(h >> (9 * i)) & 511;
        blk[b >> 6] |= 1ULL << (b & 63);
    }
}

static void run_free(ty__srun_t *r)
{
    if (r->fd >= 0)
        close(r->fd);
    if (r->pfd >= 0)
        close(r->pfd);
    free(r->fence);
    free(r->bloom);
    memset(r, 0, sizeof *r);
    r->fd = r->pfd = -1;
}

/* A file written front to back through a buffer: seqw_put() gives each value's offset. */
typedef struct {
    int fd;
    char *buf;
    size_t nbuf;
    uint64_t off; /* bytes written before the buffer */
    int err;      /* the first errno */
} seqw_t;

static void seqw_flush(seqw_t *w)
{
    if (w->nbuf && !w->err)
        w->err = ty__pwrite_full(w->fd, w->buf, w->nbuf, w->off);
    w->off += w->nbuf;
    w->nbuf = 0;
}

static uint64_t seqw_put(seqw_t *w, const void *p, size_t n)
{
    uint64_t at = w->off + w->nbuf;
    const char *s = p;
    while (n) {
        if (w->nbuf == IOBUF)
            seqw_flush(w);
        size_t k = IOBUF - w->nbuf < n ? IOBUF - w->nbuf : n;
        memcpy(w->buf + w->nbuf, s, k);
        w->nbuf += k;
        s += k;
        n -= k;
    }
    return at;
}

/* A file read front to back: the bytes asked for at increasing offsets, a buffer at a time. */
typedef struct {
    int fd;
    char *buf;
    uint64_t at, have, end; /* the buffer holds [at, at + have) of end bytes */
} seqr_t;

static int seqr_get(seqr_t *r, uint64_t off, size_t n, void *dst)
{
    if (off < r->at || off + n > r->at + r->have) {
        if (n > IOBUF)
            return ty__pread_full(r->fd, dst, n, off);
        size_t k = r->end - off < IOBUF ? (size_t)(r->end - off) : IOBUF;
        int e = ty__pread_full(r->fd, r->buf, k > n ? k : n, off);
        if (e)
            return e;
        r->at = off;
        r->have = k > n ? k : n;
    }
    memcpy(dst, r->buf + (off - r->at), n);
    return 0;
}

/* A run being written: records come in key order, postings (with rs->join) beside them. */
#define BLOOM_AHEAD 16 /* keys whose filter blocks are being fetched (keys come in order) */

typedef struct {
    ty__srun_t r;
    seqw_t recs, post;
    size_t rec;
    uint64_t *blk[BLOOM_AHEAD], h[BLOOM_AHEAD]; /* filter bits set BLOOM_AHEAD keys later */
} run_writer_t;

static void writer_drop(run_writer_t *w)
{
    if (w->post.fd >= 0 && w->post.fd != w->r.pfd)
        close(w->post.fd);
    run_free(&w->r);
    free(w->recs.buf);
    free(w->post.buf);
    w->recs.buf = w->post.buf = NULL;
}

/* pfd: the run's postings, written already (-1: none, or written through w->post when
 * postings is set). The descriptor is the run's from here on, closed on failure too. */
static int writer_open(run_writer_t *w, size_t rec, uint64_t n, int pfd, uint64_t pn, int postings,
                       ty__spill_t *s, char *err)
{
    memset(w, 0, sizeof *w);
    w->rec = rec;
    w->r.fd = -1;
    w->r.pfd = pfd;
    w->r.pn = pn;
    w->post.fd = -1;
    w->r.nblk = (n * BLOOM_BITS + 511) / 512;
    w->r.bloom = calloc(w->r.nblk * 8, 8);
    w->r.fence = malloc(((n + RUN_BLOCK - 1) / RUN_BLOCK + 1) * 8);
    w->recs.buf = malloc(IOBUF);
    if (postings)
        w->post.buf = malloc(IOBUF);
    if (!w->r.bloom || !w->r.fence || !w->recs.buf || (postings && !w->post.buf)) {
        writer_drop(w);
        return TY_ENOMEM;
    }
    if ((w->r.fd = w->recs.fd = spill_file(s, err)) < 0 ||
        (postings && (w->r.pfd = w->post.fd = spill_file(s, err)) < 0)) {
        writer_drop(w);
        return TY_EIO;
    }
    return TY_OK;
}

static void writer_put(run_writer_t *w, const void *rec)
{
    uint64_t key = rec_key(rec), h = bloom_hash(key);
    if (w->r.n % RUN_BLOCK == 0)
        w->r.fence[w->r.n / RUN_BLOCK] = key;
    size_t at = w->r.n % BLOOM_AHEAD;
    if (w->r.n >= BLOOM_AHEAD)
        bloom_set(w->blk[at], w->h[at]);
    w->blk[at] = bloom_block(&w->r, h);
    w->h[at] = h;
    __builtin_prefetch(w->blk[at], 1);
    seqw_put(&w->recs, rec, w->rec);
    w->r.n++;
}

/* The run written, appended to rs; TY_EIO naming the directory. Its bytes, records and
 * postings, are counted on disk (s) from here until the run is freed. */
static int writer_close(run_writer_t *w, ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    for (uint64_t i = w->r.n > BLOOM_AHEAD ? w->r.n - BLOOM_AHEAD : 0; i < w->r.n; i++)
        bloom_set(w->blk[i % BLOOM_AHEAD], w->h[i % BLOOM_AHEAD]);
    seqw_flush(&w->recs);
    int e = w->recs.err;
    if (w->post.buf) {
        seqw_flush(&w->post);
        w->r.pn = w->post.off;
        e = e ? e : w->post.err;
    }
    free(w->recs.buf);
    free(w->post.buf);
    w->recs.buf = w->post.buf = NULL;
    uint64_t bytes = w->recs.off + w->r.pn;
    disk_grow(s, bytes);
    if (!e && ty_vec_push(rs->r, w->r))
        e = ENOMEM;
    if (e) {
        disk_shrink(s, bytes);
        run_free(&w->r);
        return e == ENOMEM ? TY_ENOMEM
                           : ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s",
                                     s->dir, strerror(e));
    }
    rs->n += w->r.n;
    rs->ver++;
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
        int e = ty__pread_full(rd->r->fd, rd->buf, k * rd->rec, rd->next * rd->rec);
        if (e) {
            *err = e;
            return NULL;
        }
        rd->next += k;
        rd->have = k;
        rd->at = 0;
    }
    return rd->buf + rd->rec * rd->at++;
}

/* Merge runs [from, rs->r.n) into one, in key order: the records of a key in several of them
 * (only with rs->join) are given to join, the oldest run's first. */
static int runs_merge(ty__sruns_t *rs, size_t from, ty__spill_t *s, char *err)
{
    size_t k = rs->r.n - from;
    uint64_t n = 0;
    for (size_t i = from; i < rs->r.n; i++)
        n += rs->r.a[i].n;
    run_reader_t *rd = calloc(k, sizeof *rd);
    seqr_t *pr = calloc(k, sizeof *pr);
    const char **head = calloc(k, sizeof *head), **grp = calloc(k, sizeof *grp);
    void **src = calloc(k, sizeof *src);
    run_writer_t w;
    /* the filters of the runs merged are not read again: freed before the merged run's is made
     * (at 10M spun documents, the two had put the peak 1.2 GB past a 4 GB budget) */
    for (size_t i = from; i < rs->r.n; i++) {
        free(rs->r.a[i].bloom);
        rs->r.a[i].bloom = NULL;
    }
    int rc = rd && pr && head && grp && src
                 ? writer_open(&w, rs->rec, n, -1, 0, rs->join != NULL, s, err)
                 : TY_ENOMEM;
    int e = 0;
    for (size_t i = 0; !rc && i < k; i++) {
        const ty__srun_t *r = &rs->r.a[from + i];
        rd[i] = (run_reader_t){r, malloc(IOBUF), rs->rec, 0, 0, 0};
        pr[i] = (seqr_t){r->pfd, rs->join ? malloc(IOBUF) : NULL, 0, 0, r->pn};
        if (!rd[i].buf || (rs->join && !pr[i].buf))
            rc = TY_ENOMEM;
        else
            head[i] = reader_next(&rd[i], &e);
    }
    char out[TY__RUN_MAX_REC];
    while (!rc && !e) {
        size_t best = k, g = 0;
        for (size_t i = 0; i < k; i++)
            if (head[i] && (best == k || rec_key(head[i]) < rec_key(head[best])))
                best = i;
        if (best == k)
            break;
        if (!rs->join) {
            writer_put(&w, head[best]);
            head[best] = reader_next(&rd[best], &e);
            continue;
        }
        uint64_t key = rec_key(head[best]);
        for (size_t i = best; i < k; i++) /* the key's records, oldest run first */
            if (head[i] && rec_key(head[i]) == key) {
                grp[g] = head[i];
                src[g++] = &pr[i];
            }
        e = rs->join(rs->cctx, grp, src, g, out, &w.post);
        if (!e)
            writer_put(&w, out);
        for (size_t i = best; !e && i < k; i++)
            if (head[i] && rec_key(head[i]) == key)
                head[i] = reader_next(&rd[i], &e);
    }
    for (size_t i = 0; rd && pr && i < k; i++) {
        free(rd[i].buf);
        free(pr[i].buf);
    }
    TY_FREE(rd, pr, head, grp, src);
    if (rc)
        return rc;
    if (e) {
        writer_drop(&w);
        return e == ENOMEM ? TY_ENOMEM
                           : ty__err(err, TY_EIO, "merging temporary files in %s (tmp_dir): %s",
                                     s->dir, strerror(e));
    }
    rc = writer_close(&w, rs, s, err); /* appended after the k... */
    if (rc)
        return rc;
    for (size_t i = from; i < rs->r.n - 1; i++) { /* ...which are closed: their space freed */
        rs->n -= rs->r.a[i].n;
        disk_shrink(s, rs->r.a[i].n * rs->rec + rs->r.a[i].pn);
        run_free(&rs->r.a[i]);
    }
    rs->r.a[from] = rs->r.a[rs->r.n - 1];
    rs->r.n = from + 1;
    s->merges++;
    return TY_OK;
}

int ty__sruns_add(ty__sruns_t *rs, size_t n, ty__rec_fn get, const void *ctx, int pfd, uint64_t pn,
                  ty__spill_t *s, char *err)
{
    if (!n) {
        if (pfd >= 0)
            close(pfd);
        return TY_OK;
    }
    char rec[TY__RUN_MAX_REC];
    run_writer_t w;
    int rc = writer_open(&w, rs->rec, n, pfd, pn, 0, s, err);
    for (size_t i = 0; !rc && i < n; i++) {
        get(ctx, i, rec);
        writer_put(&w, rec);
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
    if (ty__pread_full(r->fd, blk, cnt * rs->rec, first * rs->rec))
        return TY_EIO;
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
        m += (rs->r.a[i].bloom ? rs->r.a[i].nblk * 64 : 0) + (rs->r.a[i].n / RUN_BLOCK + 1) * 8;
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

/* The slots of a hash table (16 bytes, the key in the first 8) sorted by key in place: one
 * pass of an American flag sort by the key's top 16 bits (the keys are hashes: the buckets
 * are even; the empty slots, key 0, go first), then each bucket by the same sort on the next
 * 8 bits, and so on, small ones by insertion, the buckets shared by `threads` threads
 * (ty__for). No second copy of the table is made (glibc's qsort, a merge sort, takes one when
 * it can, and it was a seventh of a spilling run's time). */
typedef struct {
    uint64_t k, v;
} slot16_t;

/* a[0..n) by key, whose bits above shift + 8 are the same in all */
static void flag_sort(slot16_t *a, size_t n, int shift)
{
    if (shift < 0) /* all the bits are the same: equal keys (the empty slots) */
        return;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            slot16_t x = a[i];
            size_t j = i;
            for (; j && a[j - 1].k > x.k; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t cnt[256] = {0}, next[256], end[256];
    for (size_t i = 0; i < n; i++)
        cnt[(a[i].k >> shift) & 255]++;
    for (size_t b = 0, at = 0; b < 256; b++) {
        next[b] = at;
        at += cnt[b];
        end[b] = at;
    }
    for (size_t b = 0; b < 256; b++)
        while (next[b] < end[b]) { /* a cycle: each slot moved once into its bucket */
            slot16_t x = a[next[b]];
            size_t d = (size_t)(x.k >> shift) & 255;
            while (d != b) {
                slot16_t y = a[next[d]];
                a[next[d]++] = x;
                x = y;
                d = (size_t)(x.k >> shift) & 255;
            }
            a[next[b]++] = x;
        }
    for (size_t b = 0, at = 0; b < 256; at += cnt[b++])
        if (cnt[b] > 1)
            flag_sort(a + at, cnt[b], shift - 8);
}
_Static_assert(sizeof(ty__kv_t) == 16 && sizeof(ty__xkv_t) == 16, "16-byte slots");

#define SORT_BITS 16
#define SORT_GROUPS 256

typedef struct {
    slot16_t *a;
    const size_t *start;
} sortjob_t;

static void sort_group(void *data, size_t g, int tid)
{
    (void)tid;
    const sortjob_t *j = data;
    size_t per = ((size_t)1 << SORT_BITS) / SORT_GROUPS;
    for (size_t b = g * per; b < (g + 1) * per; b++)
        flag_sort(j->a + j->start[b], j->start[b + 1] - j->start[b], 64 - SORT_BITS - 8);
}

static void sort_slots(void *base, size_t n, int threads)
{
    const size_t nb = (size_t)1 << SORT_BITS;
    slot16_t *a = base;
    size_t *start = calloc(nb + 1, sizeof *start), *next = malloc(nb * sizeof *next);
    sortjob_t job = {a, start};
    if (!start || !next) {
        free(start);
        free(next);
        qsort(base, n, sizeof(slot16_t), cmp_u64_first);
        return;
    }
    for (size_t i = 0; i < n; i++)
        start[(a[i].k >> (64 - SORT_BITS)) + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    memcpy(next, start, nb * sizeof *next);
    for (size_t b = 0; b < nb; b++)
        while (next[b] < start[b + 1]) { /* a cycle: each slot moved once into its bucket */
            slot16_t x = a[next[b]];
            size_t d = (size_t)(x.k >> (64 - SORT_BITS));
            while (d != b) {
                slot16_t y = a[next[d]];
                a[next[d]++] = x;
                x = y;
                d = (size_t)(x.k >> (64 - SORT_BITS));
            }
            a[next[b]++] = x;
        }
    free(next);
    if (ty__for(threads, sort_group, &job, SORT_GROUPS)) /* no threads: here */
        for (size_t g = 0; g < SORT_GROUPS; g++)
            sort_group(&job, g, 0);
    free(start);
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
        sort_slots(dd->ex.a, dd->ex.cap, dd->nwk);
        rc = ty__sruns_add(&dd->exr, dd->ex.n, ex_rec, &dd->ex, -1, 0, &dd->sp, dd->err);
        ty__xmap_free(&dd->ex); /* sorted: of no use as a table, whatever happened */
    }
    if (!rc && dd->bands.n) {
        sort_slots(dd->bands.a, dd->bands.cap, dd->nwk);
        rc = ty__sruns_add(&dd->bandr, dd->bands.n, band_rec, &dd->bands, -1, 0, &dd->sp, dd->err);
        ty__map_free(&dd->bands);
    }
    return rc ? rc : mz_spill(dd);
}

/* ---- spun mode's minimizer table, in memory and in runs ----------------------------------
 *
 * Unlike a table of first documents, a minimizer's entry changes as documents come: its
 * document frequency grows and its postings get longer. So the memory table written out is a
 * run of (minimizer, df, the one document when df is 1, the offset of its df documents in the
 * run's own postings file when df is 2..max_df) for what came since the run before, and a key
 * may be in several runs and the memory table: its df is the sum, its documents the
 * concatenation, the oldest run first (the documents came in that order), used only when the
 * sum is at most max_df, as the one table's would be. A run's postings are written in its key
 * order, so reading a run in key order reads its postings front to back too. Merging runs
 * joins the records of a key the same way (postings past max_df dropped) and writes every
 * list into the merged run's postings file; the files of the runs merged are closed: what is
 * on disk stays about one copy of the table (two while the largest runs merge). */

#define MZ_REC 24
#define WIN ((size_t)1 << 20) /* the largest read of a batch's look-ups */
#define GAP ((size_t)16384)   /* bytes between two wanted ranges read through, not skipped */

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

/* ty__sruns_t.join: the n records of a key, oldest run first, each with its run's postings
 * (src: seqr_t), into one record in out, its postings written to dst (seqw_t). */
static int mz_join(void *ctx, const char *const *recs, void *const *src, size_t n, char *out,
                   void *dst)
{
    ty_dedup_t *dd = ctx;
    uint64_t sum = 0, off = 0;
    uint32_t df, one, first;
    for (size_t i = 0; i < n; i++) {
        mz_get(recs[i], &df, &one, &off);
        sum += df;
    }
    mz_get(recs[0], &df, &first, &off);
    off = 0;
    if (sum >= 2 && sum <= dd->R.o.max_df) { /* rpost: scratch here (no batch is looked up) */
        if (ty_vec_reserve(dd->rpost, (size_t)sum))
            return ENOMEM;
        uint32_t *d = dd->rpost.a;
        for (size_t i = 0; i < n; i++) {
            uint64_t o;
            mz_get(recs[i], &df, &one, &o);
            int e = df == 1 ? (*d = one, 0) : seqr_get(src[i], o, (size_t)df * 4, d);
            if (e)
                return e;
            d += df;
        }
        off = seqw_put(dst, dd->rpost.a, (size_t)sum * 4);
    }
    memcpy(out, recs[0], 8);
    mz_set(out, sum > NONE ? NONE : (uint32_t)sum, first, off);
    return 0;
}

/* The cached join of key (rcache), or NULL. Read-only: any number of threads at once. */
static const uint32_t *rc_find(const ty_dedup_t *dd, uint64_t key)
{
    if (dd->rcver != dd->mzr.ver || !dd->rcache.n)
        return NULL;
    const ty__kv_t *e = ty__map_find(&dd->rcache, key);
    return e ? dd->rcpool.a + e->val : NULL;
}

int ty__dd_mz_df(const ty_dedup_t *dd, uint64_t key, uint32_t *df)
{
    uint64_t sum = 0;
    char rec[MZ_REC];
    key = ty__fix_key(key);
    const uint32_t *c = rc_find(dd, key);
    if (c) {
        *df = c[0];
        return TY_OK;
    }
    for (size_t i = 0; i < dd->mzr.r.n; i++) {
        int found = ty__sruns_find_in(&dd->mzr, i, key, rec);
        if (found < 0)
            return found;
        if (found) {
            uint32_t d;
            memcpy(&d, rec + 8, 4);
            sum += d;
        }
    }
    *df = sum > NONE ? NONE : (uint32_t)sum;
    return TY_OK;
}

/* ---- the batch's minimizers against the runs: a merge join --------------------------------
 *
 * The batch's distinct minimizers (bmz) are split by their top bits into chunks, and each
 * chunk — on any of the worker threads (ty__for), the calling thread among them — sorts its
 * keys and walks every run with them in key order: the Bloom filter, then the fences, and the
 * blocks holding keys read with one pread for neighbouring blocks (up to WIN bytes; a gap
 * of up to GAP bytes is read through), then the postings of the keys whose df sum is at most
 * max_df, run by run (oldest first: document order), in the run's order, coalesced the same
 * way. Each chunk fills a list of its own; the lists are then put end to end in rpost. */

typedef struct {
    uint32_t x, df; /* the key (in the chunk), its df in the run */
    uint32_t one, pad;
    uint64_t off;
} mzhit_t;

typedef struct {
    uint64_t off; /* in the run's postings */
    size_t len;   /* bytes */
    size_t at;    /* where they go in the chunk's list */
} need_t;

typedef struct {
    ty__u32vec_t out; /* per key in key order: n, the n documents of the runs */
    TY_VEC(mzhit_t) hits;
    TY_VEC(need_t) needs;
    TY_VEC(size_t) pend;    /* keys of a window of blocks: key index, block */
    TY_VEC(uint32_t) fresh; /* bmz slots of the keys found in the runs, not in the cache */
    size_t cached;          /* keys the cache answered */
    int rc;                 /* an errno, or TY_ENOMEM */
} mzchunk_t;

typedef struct {
    ty_dedup_t *dd;
    slot16_t *keys; /* key, its slot in bmz */
    int bits;       /* the chunks are of the keys' top bits */
    size_t *start;  /* chunk c: keys [start[c], start[c + 1]) */
    mzchunk_t *ch;
} mzjob_t;

/* The records of run r holding keys k[0..nk) (sorted) into ch->hits, their dfs added to sum. */
static int join_run(const ty__srun_t *r, const slot16_t *k, size_t nk, char *buf, mzchunk_t *ch,
                    uint64_t *sum)
{
    if (!r->n)
        return 0;
    const size_t bb = RUN_BLOCK * MZ_REC, maxb = WIN / bb, gapb = GAP / bb;
    size_t nb = (size_t)((r->n + RUN_BLOCK - 1) / RUN_BLOCK), b = 0;
    for (size_t i = 0; i < nk;) {
        size_t sb = 0, eb = 0;
        ch->pend.n = 0;
        for (; i < nk; i++) {
            uint64_t key = k[i].k;
            if (i + BLOOM_AHEAD < nk)
                bloom_prefetch(r, k[i + BLOOM_AHEAD].k);
            if (key < r->fence[0] || !bloom_has(r, key))
                continue;
            size_t lo = b, hi = nb; /* the last block whose first key is <= key */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->fence[mid] <= key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t blk = lo - 1;
            if (ch->pend.n && (blk > eb + gapb || blk - sb >= maxb))
                break; /* not in this window: the next one starts with it */
            if (!ch->pend.n)
                sb = blk;
            eb = b = blk;
            if (ty_vec_push(ch->pend, i) || ty_vec_push(ch->pend, blk))
                return ENOMEM;
        }
        if (!ch->pend.n)
            break;
        uint64_t first = (uint64_t)sb * RUN_BLOCK, end = (uint64_t)(eb + 1) * RUN_BLOCK;
        if (end > r->n)
            end = r->n;
        int e = ty__pread_full(r->fd, buf, (size_t)(end - first) * MZ_REC, first * MZ_REC);
        if (e)
            return e;
        for (size_t p = 0; p < ch->pend.n; p += 2) {
            size_t x = ch->pend.a[p], blk = ch->pend.a[p + 1];
            uint64_t key = k[x].k, at = (uint64_t)blk * RUN_BLOCK;
            const char *rb = buf + (size_t)(at - first) * MZ_REC;
            size_t cnt = r->n - at < RUN_BLOCK ? (size_t)(r->n - at) : RUN_BLOCK, l = 0, h = cnt;
            while (l < h) {
                size_t mid = (l + h) / 2;
                if (rec_key(rb + mid * MZ_REC) < key)
                    l = mid + 1;
                else
                    h = mid;
            }
            if (l == cnt || rec_key(rb + l * MZ_REC) != key)
                continue;
            mzhit_t hit = {(uint32_t)x, 0, 0, 0, 0};
            mz_get(rb + l * MZ_REC, &hit.df, &hit.one, &hit.off);
            if (ty_vec_push(ch->hits, hit))
                return ENOMEM;
            sum[x] += hit.df;
        }
    }
    return 0;
}

/* The needed ranges of postings file fd (at increasing offsets) into out, coalesced. */
static int read_needs(int fd, const need_t *nd, size_t n, uint32_t *out, char *buf)
{
    for (size_t a = 0; a < n;) {
        if (nd[a].len > WIN) {
            int e = ty__pread_full(fd, out + nd[a].at, nd[a].len, nd[a].off);
            if (e)
                return e;
            a++;
            continue;
        }
        uint64_t start = nd[a].off, end = start + nd[a].len;
        size_t b = a + 1;
        while (b < n && nd[b].off >= start && nd[b].off <= end + GAP &&
               nd[b].off + nd[b].len - start <= WIN) {
            if (nd[b].off + nd[b].len > end)
                end = nd[b].off + nd[b].len;
            b++;
        }
        int e = ty__pread_full(fd, buf, (size_t)(end - start), start);
        if (e)
            return e;
        for (; a < b; a++)
            memcpy(out + nd[a].at, buf + (nd[a].off - start), nd[a].len);
    }
    return 0;
}

static int join_chunk_do(mzjob_t *j, mzchunk_t *ch, slot16_t *k, size_t nk, char *buf,
                         uint64_t *sum, size_t *cur)
{
    ty_dedup_t *dd = j->dd;
    const ty__sruns_t *rs = &dd->mzr;
    uint32_t max_df = dd->R.o.max_df;
    flag_sort(k, nk, 64 - j->bits - 8);
    size_t hb[RUN_MAX + 2];
    if (rs->r.n > RUN_MAX + 1)
        return EINVAL; /* never: runs are merged down to RUN_MAX after each spill */
    /* the keys the cache has are not looked for in the runs: the others (ku, still in key
     * order: u counts them as x goes) are, their sums in sum[u] */
    const uint32_t **got = calloc(nk, sizeof *got);
    slot16_t *ku = malloc(nk * sizeof *ku);
    size_t nu = 0;
    if (!got || !ku) {
        free(got);
        free(ku);
        return ENOMEM;
    }
    for (size_t x = 0; x < nk; x++)
        if (!(got[x] = rc_find(dd, k[x].k)))
            ku[nu++] = k[x];
    ch->cached = nk - nu;
    int e = 0;
    for (size_t r = 0; !e && r < rs->r.n; r++) {
        hb[r] = ch->hits.n;
        e = join_run(&rs->r.a[r], ku, nu, buf, ch, sum);
    }
    hb[rs->r.n] = ch->hits.n;
    size_t total = 0;
    for (size_t u = 0; !e && u < nu; u++)
        total += 1 + (sum[u] <= max_df ? (size_t)sum[u] : 0);
    for (size_t x = 0; !e && x < nk; x++)
        if (got[x])
            total += 1 + (size_t)got[x][1];
    if (!e && ty_vec_reserve(ch->out, total))
        e = ENOMEM;
    for (size_t x = 0, u = 0; !e && x < nk; x++) {
        size_t o = ch->out.n;
        dd->broff[k[x].v] = (uint32_t)o; /* in the chunk's list, for now */
        if (got[x]) {
            dd->brdf[k[x].v] = got[x][0];
            memcpy(ch->out.a + o, got[x] + 1, (1 + (size_t)got[x][1]) * sizeof(uint32_t));
            ch->out.n += 1 + (size_t)got[x][1];
            continue;
        }
        uint32_t n = sum[u] <= max_df ? (uint32_t)sum[u] : 0;
        dd->brdf[k[x].v] = sum[u] > NONE ? NONE : (uint32_t)sum[u];
        ch->out.a[o] = n;
        cur[u] = o + 1;
        ch->out.n += 1 + (size_t)n;
        if (sum[u] && ty_vec_push(ch->fresh, k[x].v)) /* found in the runs: to be cached */
            e = ENOMEM;
        u++;
    }
    for (size_t r = 0; !e && r < rs->r.n; r++) { /* oldest first: the documents in order */
        ch->needs.n = 0;
        for (size_t h = hb[r]; !e && h < hb[r + 1]; h++) {
            const mzhit_t *t = &ch->hits.a[h];
            if (sum[t->x] > max_df)
                continue;
            if (t->df == 1)
                ch->out.a[cur[t->x]] = t->one;
            else if (ty_vec_push(ch->needs, ((need_t){t->off, (size_t)t->df * 4, cur[t->x]})))
                e = ENOMEM;
            cur[t->x] += t->df;
        }
        if (!e)
            e = read_needs(rs->r.a[r].pfd, ch->needs.a, ch->needs.n, ch->out.a, buf);
    }
    free(got);
    free(ku);
    return e;
}

static void join_chunk(void *data, size_t c, int tid)
{
    (void)tid;
    mzjob_t *j = data;
    mzchunk_t *ch = &j->ch[c];
    size_t nk = j->start[c + 1] - j->start[c];
    if (!nk)
        return;
    char *buf = malloc(WIN);
    uint64_t *sum = calloc(nk, sizeof *sum);
    size_t *cur = malloc(nk * sizeof *cur);
    ch->rc =
        buf && sum && cur ? join_chunk_do(j, ch, j->keys + j->start[c], nk, buf, sum, cur) : ENOMEM;
    TY_FREE(buf, sum, cur);
}

/* The bytes the cache holds. */
uint64_t ty__dd_rc_mem(const ty_dedup_t *dd)
{
    return dd->rcache.cap * sizeof(ty__kv_t) + dd->rcpool.m * sizeof(uint32_t);
}

/* The keys chunk ch found in the runs, with their sums and documents (in rpost, joined), into
 * the cache while it holds at most an eighth of the budget. A batch's minimizers found in the
 * runs are mostly those of text many documents share, found again by batch after batch: the
 * cache reads each from the runs once until they change (a spill) instead of once a batch —
 * at 2M spun documents under --memory 800M the batches had read 373 GB of runs that way. */
static void rc_put(ty_dedup_t *dd, const mzchunk_t *ch)
{
    for (size_t i = 0; i < ch->fresh.n; i++) {
        if (ty__dd_rc_mem(dd) > dd->sp.budget / 8)
            return;
        uint32_t slot = ch->fresh.a[i];
        const uint32_t *l = dd->rpost.a + dd->broff[slot]; /* n, documents */
        size_t at = dd->rcpool.n;
        if (at > NONE - 2 - (size_t)l[0] || ty_vec_reserve(dd->rcpool, at + 2 + (size_t)l[0]))
            return; /* a cache: without it the runs are read */
        int isnew;
        ty__kv_t *e = ty__map_put(&dd->rcache, dd->bmz.a[slot].key, &isnew);
        if (!e || !isnew)
            return;
        e->val = (uint32_t)at;
        dd->rcpool.a[at] = dd->brdf[slot];
        memcpy(dd->rcpool.a + at + 1, l, (1 + (size_t)l[0]) * sizeof(uint32_t));
        dd->rcpool.n = at + 2 + (size_t)l[0];
    }
}

int ty__dd_mz_batch(ty_dedup_t *dd)
{
    if (!dd->mzr.r.n)
        return TY_OK;
    if (dd->rcver != dd->mzr.ver) { /* the runs changed: what the cache holds may not be theirs */
        ty__map_free(&dd->rcache);
        free(dd->rcpool.a);
        memset(&dd->rcpool, 0, sizeof dd->rcpool);
        dd->rcver = dd->mzr.ver;
    }
    if (dd->brcap < dd->bmz.cap) {
        free(dd->brdf);
        free(dd->broff);
        dd->brdf = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->broff = malloc(dd->bmz.cap * sizeof(uint32_t));
        dd->brcap = dd->brdf && dd->broff ? dd->bmz.cap : 0;
        if (!dd->brcap)
            return ty__err(dd->err, TY_ENOMEM, "out of memory");
    }
    /* chunks of about 4096 keys by their top bits (the keys are hashes) */
    size_t nk = dd->bmz.n;
    int bits = 0;
    while (bits < 12 && (nk >> bits) > 4096)
        bits++;
    size_t nc = (size_t)1 << bits;
    mzjob_t job = {dd, malloc((nk ? nk : 1) * sizeof(slot16_t)), bits,
                   calloc(nc + 1, sizeof(size_t)), calloc(nc, sizeof(mzchunk_t))};
    int rc = job.keys && job.start && job.ch ? TY_OK : TY_ENOMEM;
    if (!rc) {
        const ty__kv_t *a = dd->bmz.a;
        for (size_t s = 0; s < dd->bmz.cap; s++)
            if (a[s].key)
                job.start[bits ? (a[s].key >> (64 - bits)) + 1 : 1]++;
        for (size_t c = 0; c < nc; c++)
            job.start[c + 1] += job.start[c];
        size_t *fill = calloc(nc, sizeof *fill);
        if (!fill)
            rc = TY_ENOMEM;
        for (size_t s = 0; !rc && s < dd->bmz.cap; s++)
            if (a[s].key) {
                size_t c = bits ? (size_t)(a[s].key >> (64 - bits)) : 0;
                job.keys[job.start[c] + fill[c]++] = (slot16_t){a[s].key, s};
            }
        free(fill);
    }
    if (!rc)
        rc = ty__for(dd->nwk > 0 ? dd->nwk : 1, join_chunk, &job, nc);
    size_t total = 0;
    for (size_t c = 0; !rc && c < nc; c++) {
        if (job.ch[c].rc)
            rc = job.ch[c].rc == ENOMEM ? TY_ENOMEM : TY_EIO;
        total += job.ch[c].out.n;
    }
    dd->rpost.n = 0;
    if (!rc && ty_vec_reserve(dd->rpost, total + 1))
        rc = TY_ENOMEM;
    for (size_t c = 0; !rc && c < nc; c++) { /* the chunks' lists end to end */
        const mzchunk_t *ch = &job.ch[c];
        if (ch->out.n)
            memcpy(dd->rpost.a + dd->rpost.n, ch->out.a, ch->out.n * sizeof(uint32_t));
        for (size_t x = job.start[c]; x < job.start[c + 1]; x++)
            dd->broff[job.keys[x].v] += (uint32_t)dd->rpost.n;
        dd->rpost.n += ch->out.n;
    }
    for (size_t c = 0; !rc && c < nc; c++) { /* what the runs gave, cached: see rc_put */
        rc_put(dd, &job.ch[c]);
        dd->rchits += job.ch[c].cached;
    }
    for (size_t c = 0; job.ch && c < nc; c++) {
        TY_FREE(job.ch[c].fresh.a, job.ch[c].out.a, job.ch[c].hits.a, job.ch[c].needs.a,
                job.ch[c].pend.a);
    }
    TY_FREE(job.keys, job.start, job.ch);
    if (rc == TY_ENOMEM)
        return ty__err(dd->err, rc, "out of memory");
    if (rc)
        return ty__err(dd->err, TY_EIO, "reading a temporary file in %s (tmp_dir) failed",
                       dd->sp.dir);
    return TY_OK;
}

/* ---- the memory table out as a run ------------------------------------------------------ */

/* The memory table's records, its postings written to the run's postings file in the same
 * order first. */
typedef struct {
    const ty__mztab_t *t;
    uint32_t max_df;
    uint64_t *next; /* the offset of the next postings in the run's file */
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
    dd->mzr.join = mz_join;
    dd->mzr.cctx = dd;
    if (!dd->gmz.map.n)
        return TY_OK;
    ty__map_t *m = &dd->gmz.map;
    sort_slots(m->a, m->cap, dd->nwk);
    seqw_t pw = {-1, malloc(IOBUF), 0, 0, 0};
    int rc = pw.buf ? TY_OK : TY_ENOMEM;
    if (!rc && (pw.fd = spill_file(&dd->sp, dd->err)) < 0)
        rc = TY_EIO;
    for (size_t i = m->cap - m->n; !rc && i < m->cap; i++)
        if (m->a[i].val >= 2 && m->a[i].val <= dd->R.o.max_df) {
            uint32_t one, k;
            const uint32_t *d = ty__mztab_docs(&dd->gmz, &m->a[i], &one, &k);
            seqw_put(&pw, d, (size_t)k * 4);
        }
    if (!rc) {
        seqw_flush(&pw);
        if (pw.err)
            rc = ty__err(dd->err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s",
                         dd->sp.dir, strerror(pw.err));
    }
    free(pw.buf);
    uint64_t next = 0;
    mz_src_t src = {&dd->gmz, dd->R.o.max_df, &next};
    if (!rc) { /* the postings file is the run's from here */
        rc = ty__sruns_add(&dd->mzr, m->n, mz_rec, &src, pw.fd, pw.off, &dd->sp, dd->err);
        pw.fd = -1;
    }
    if (pw.fd >= 0)
        close(pw.fd);
    ty__mztab_free(&dd->gmz); /* sorted: of no use as a table, whatever happened */
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
    const ty__srun_t *r = &dd->mzr.r.a[0];
    run_reader_t rd = {r, malloc(IOBUF), MZ_REC, 0, 0, 0};
    seqr_t pr = {r->pfd, malloc(IOBUF), 0, 0, r->pn};
    int rc = rd.buf && pr.buf ? TY_OK : TY_ENOMEM, e = 0;
    for (const char *p = rc ? NULL : reader_next(&rd, &e); p && !rc; p = reader_next(&rd, &e)) {
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
        else if (df == 1)
            dd->rpost.a[0] = one;
        else if (seqr_get(&pr, off, (size_t)df * 4, dd->rpost.a))
            rc = TY_EIO;
        if (!rc)
            fn(ctx, key, df, dd->rpost.a);
    }
    free(rd.buf);
    free(pr.buf);
    return rc ? rc : e ? TY_EIO : TY_OK;
}
