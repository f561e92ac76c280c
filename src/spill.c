/*
 * spill.c — the disk under the one-process dedup engine when its memory budget
 * (ty_dedup_opts_t.memory, `dedup --memory`) would be passed: the temporary directory, the
 * append-only stores of per-document bytes (spun mode's compressed texts, near mode's
 * signatures), read back with pread, the default budget, and sorted runs of fixed-size
 * records with their look-ups and merges. What the engine keeps in them — its tables of first
 * documents and spun mode's minimizer table — is dedup_spill.c (docs/dedup.md, "Memory").
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

#include "spill.h"

#define CHUNK ((size_t)16 << 20)

/* ---- the temporary directory ------------------------------------------------------------- */

int ty__spill_file(ty__spill_t *s, char *err)
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
    if (b->fd < 0 && (b->fd = ty__spill_file(s, err)) < 0)
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

/* A run being written: records come in key order, postings (with rs->join) beside them. */

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
    if ((w->r.fd = w->recs.fd = ty__spill_file(s, err)) < 0 ||
        (postings && (w->r.pfd = w->post.fd = ty__spill_file(s, err)) < 0)) {
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
