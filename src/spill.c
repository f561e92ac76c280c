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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spill.h"
#include "thread.h"

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

/* A filter's nblk 512-bit blocks, zeroed. A large one is mapped on its own and asked for huge
 * pages (madvise: Debian's default mode for transparent huge pages gives none otherwise): each
 * probe reads a random cache line of up to half a gigabyte, and with 4 KB pages each was a
 * TLB miss, a walk of the page tables from memory, besides. */
#define BLOOM_MAPPED ((uint64_t)2 << 20)
static uint64_t *bloom_alloc(uint64_t nblk)
{
    uint64_t bytes = nblk * 64;
    if (bytes < BLOOM_MAPPED)
        return calloc(nblk * 8, 8);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, 4 KB pages */
    return p;
}

static void bloom_free(uint64_t *b, uint64_t nblk)
{
    if (b && nblk * 64 < BLOOM_MAPPED)
        free(b);
    else if (b)
        munmap(b, nblk * 64);
}

static void run_free(ty__srun_t *r)
{
    if (r->fd >= 0)
        close(r->fd);
    if (r->pfd >= 0)
        close(r->pfd);
    free(r->fence);
    bloom_free(r->bloom, r->nblk);
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
    w->r.bloom = bloom_alloc(w->r.nblk);
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

/* The run's last filter bits and its buffers written: 0 or an errno. */
static int writer_finish(run_writer_t *w)
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
    return e;
}

/* The run written, appended to rs; TY_EIO naming the directory. Its bytes, records and
 * postings, are counted on disk (s) from here until the run is freed. */
static int writer_close(run_writer_t *w, ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    int e = writer_finish(w);
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

/* ---- merges ---------------------------------------------------------------------------------
 *
 * A merge of runs [from, to) into one, in key order: the records of a key in several of them
 * (only with rs->join) are given to join, the oldest run's first. It is made in three steps:
 * merge_open (the calling thread: the merged run's files and filter, copies of the runs read),
 * merge_body (any thread: reads the runs, writes the merged one; it changes nothing the
 * look-ups read, so they go on meanwhile) and merge_install (the calling thread: the merged
 * run takes the place of the runs merged, which are closed: their space is given back). With
 * rs->async the body runs on a thread of its own, at the lowest priority (nice 19: it takes
 * the time the batches' serial steps leave a core idle), and a look-up gives the same answer
 * before and after the merged run is installed: the decisions cannot depend on when. */

struct ty__bgmerge {
    size_t from, to;
    ty__srun_t *in; /* copies of the runs merged (rs->r may grow meanwhile) */
    size_t rec;
    int (*join)(void *, const char *const *, void *const *, size_t, char *, void *, ty__u32vec_t *);
    void *cctx;
    ty__u32vec_t scratch; /* join's */
    run_writer_t w;
    uint64_t mem;    /* the merged run's filter and fences, held from the start */
    int e;           /* an errno from the body */
    atomic_int done; /* the body has returned */
    atomic_int stop; /* asked to give up (the handle is freed) */
    pthread_t th;
    int threaded;
};

static void merge_drop(ty__bgmerge_t *m)
{
    if (!m)
        return;
    writer_drop(&m->w);
    free(m->in);
    free(m->scratch.a);
    free(m);
}

static int merge_open(ty__sruns_t *rs, size_t from, size_t to, int keep_filters, ty__spill_t *s,
                      char *err, ty__bgmerge_t **out)
{
    ty__bgmerge_t *m = calloc(1, sizeof *m);
    uint64_t n = 0;
    if (!m || !(m->in = malloc((to - from) * sizeof *m->in))) {
        free(m);
        return TY_ENOMEM;
    }
    for (size_t i = from; i < to; i++) {
        n += rs->r.a[i].n;
        m->in[i - from] = rs->r.a[i];
        /* a merge on this thread: the filters of the runs merged are not read again, freed
         * before the merged run's is made (at 10M spun documents the two had put the peak
         * 1.2 GB past a 4 GB budget); a merge beside the look-ups keeps them */
        if (!keep_filters) {
            bloom_free(rs->r.a[i].bloom, rs->r.a[i].nblk);
            rs->r.a[i].bloom = m->in[i - from].bloom = NULL;
        }
    }
    m->from = from;
    m->to = to;
    m->rec = rs->rec;
    m->join = rs->join;
    m->cctx = rs->cctx;
    int rc = writer_open(&m->w, rs->rec, n, -1, 0, rs->join != NULL, s, err);
    if (rc) {
        free(m->in);
        free(m);
        return rc;
    }
    m->mem = m->w.r.nblk * 64 + (n / RUN_BLOCK + 1) * 8;
    *out = m;
    return TY_OK;
}

static void merge_body(ty__bgmerge_t *m)
{
    size_t k = m->to - m->from;
    run_reader_t *rd = calloc(k, sizeof *rd);
    seqr_t *pr = calloc(k, sizeof *pr);
    const char **head = calloc(k, sizeof *head), **grp = calloc(k, sizeof *grp);
    void **src = calloc(k, sizeof *src);
    int e = rd && pr && head && grp && src ? 0 : ENOMEM;
    for (size_t i = 0; !e && i < k; i++) {
        const ty__srun_t *r = &m->in[i];
        rd[i] = (run_reader_t){r, malloc(IOBUF), m->rec, 0, 0, 0};
        pr[i] = (seqr_t){r->pfd, m->join ? malloc(IOBUF) : NULL, 0, 0, r->pn};
        if (!rd[i].buf || (m->join && !pr[i].buf))
            e = ENOMEM;
        else
            head[i] = reader_next(&rd[i], &e);
    }
    char out[TY__RUN_MAX_REC];
    for (uint64_t cnt = 0; !e; cnt++) {
        if (!(cnt & 0xFFFF) && atomic_load_explicit(&m->stop, memory_order_relaxed)) {
            e = ECANCELED;
            break;
        }
        size_t best = k, g = 0;
        for (size_t i = 0; i < k; i++)
            if (head[i] && (best == k || rec_key(head[i]) < rec_key(head[best])))
                best = i;
        if (best == k)
            break;
        if (!m->join) {
            writer_put(&m->w, head[best]);
            head[best] = reader_next(&rd[best], &e);
            continue;
        }
        uint64_t key = rec_key(head[best]);
        for (size_t i = best; i < k; i++) /* the key's records, oldest run first */
            if (head[i] && rec_key(head[i]) == key) {
                grp[g] = head[i];
                src[g++] = &pr[i];
            }
        e = m->join(m->cctx, grp, src, g, out, &m->w.post, &m->scratch);
        if (!e)
            writer_put(&m->w, out);
        for (size_t i = best; !e && i < k; i++)
            if (head[i] && rec_key(head[i]) == key)
                head[i] = reader_next(&rd[i], &e);
    }
    for (size_t i = 0; rd && pr && i < k; i++) {
        free(rd[i].buf);
        free(pr[i].buf);
    }
    TY_FREE(rd, pr, head, grp, src);
    m->e = e ? e : writer_finish(&m->w);
    atomic_store(&m->done, 1);
}

static void *merge_thread(void *arg)
{
    /* this thread only (Linux: a thread's nice value is its own); unprivileged, may fail */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    merge_body(arg);
    return NULL;
}

/* The merged run in place of the runs merged, once the body has returned; m freed. */
static int merge_install(ty__sruns_t *rs, ty__bgmerge_t *m, ty__spill_t *s, char *err)
{
    if (m->threaded)
        pthread_join(m->th, NULL);
    if (rs->bg == m)
        rs->bg = NULL;
    int e = m->e;
    if (e) {
        merge_drop(m);
        return e == ENOMEM ? TY_ENOMEM
                           : ty__err(err, TY_EIO, "merging temporary files in %s (tmp_dir): %s",
                                     s->dir, strerror(e));
    }
    disk_grow(s, m->w.recs.off + m->w.r.pn);
    for (size_t i = m->from; i < m->to; i++) { /* closed: their space freed */
        rs->n -= rs->r.a[i].n;
        disk_shrink(s, rs->r.a[i].n * rs->rec + rs->r.a[i].pn);
        run_free(&rs->r.a[i]);
    }
    rs->n += m->w.r.n;
    rs->r.a[m->from] = m->w.r;
    memmove(rs->r.a + m->from + 1, rs->r.a + m->to, (rs->r.n - m->to) * sizeof *rs->r.a);
    rs->r.n -= m->to - m->from - 1;
    m->w.r.fd = m->w.r.pfd = m->w.post.fd = -1; /* the run's now */
    m->w.r.bloom = NULL;
    m->w.r.fence = NULL;
    s->bgmerges += m->threaded;
    merge_drop(m);
    s->merges++;
    /* rs->ver stays: the merged run gives each key what the runs merged gave together */
    return TY_OK;
}

static int runs_merge(ty__sruns_t *rs, size_t from, size_t to, ty__spill_t *s, char *err)
{
    ty__bgmerge_t *m;
    int rc = merge_open(rs, from, to, 0, s, err, &m);
    if (rc)
        return rc;
    merge_body(m);
    return merge_install(rs, m, s, err);
}

/* The runs to merge next, [from, *to): the newest runs, when at least MERGE_FAN of them are
 * within twice the newest's size (one k-way merge: each record is rewritten about
 * log3(spills) times), else the newest two past RUN_MAX runs; SIZE_MAX: none. (Merging two
 * neighbours whenever the older was at most 4 times the newer rewrote the largest run each
 * time the small ones had come to a quarter of it: at 2M spun documents under --memory 800M,
 * 16.4 GB written against 10.1 now, for the same runs.) */
static size_t merge_pick(const ty__sruns_t *rs, size_t *to)
{
    size_t n = rs->r.n, j = n ? n - 1 : 0;
    *to = n;
    while (j > 0 && rs->r.a[j - 1].n <= 2 * rs->r.a[n - 1].n)
        j--;
    if (n && n - j >= MERGE_FAN)
        return j;
    return n > RUN_MAX ? n - 2 : SIZE_MAX;
}

/* Runs of similar size are merged, and never more than RUN_MAX are left (RUN_MAX + 1 while
 * the merge that brings them back runs): a merge running (rs->bg) is installed when it is
 * done (waited for past RUN_MAX), then the next is started, on its own thread with
 * rs->async, else here until none is due. */
static int runs_settle(ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    int rc = TY_OK;
    while (!rc) {
        if (rs->bg) {
            if (rs->r.n <= RUN_MAX + 1 && !atomic_load(&rs->bg->done))
                return TY_OK; /* one at a time */
            rc = merge_install(rs, rs->bg, s, err);
            continue;
        }
        size_t to, i = merge_pick(rs, &to);
        if (i == SIZE_MAX)
            break;
        if (!rs->async) {
            rc = runs_merge(rs, i, to, s, err);
            continue;
        }
        ty__bgmerge_t *m;
        if ((rc = merge_open(rs, i, to, 1, s, err, &m)))
            break;
        m->threaded = 1;
        rs->bg = m;
        if (pthread_create(&m->th, NULL, merge_thread, m)) {
            m->threaded = 0; /* no thread: here */
            merge_body(m);
        }
        break;
    }
    return rc;
}

int ty__sruns_poll(ty__sruns_t *rs, ty__spill_t *s, char *err)
{
    return rs->bg && atomic_load(&rs->bg->done) ? runs_settle(rs, s, err) : TY_OK;
}

typedef struct {
    run_writer_t *w;
    size_t n;
    ty__rec_fn get;
    const void *ctx;
    int (*beside)(void *, uint64_t *);
    void *bctx;
    uint64_t pn;
    int e; /* beside's errno */
} add_job_t;

static void add_part(void *data, size_t i, int tid)
{
    (void)tid;
    add_job_t *j = data;
    if (i == 1) {
        j->e = j->beside(j->bctx, &j->pn);
        return;
    }
    char rec[TY__RUN_MAX_REC];
    for (size_t x = 0; x < j->n; x++) {
        j->get(j->ctx, x, rec);
        writer_put(j->w, rec);
    }
}

int ty__sruns_add(ty__sruns_t *rs, size_t n, ty__rec_fn get, const void *ctx, int pfd, uint64_t pn,
                  int (*beside)(void *, uint64_t *), void *bctx, int threads, ty__spill_t *s,
                  char *err)
{
    if (!n) {
        if (pfd >= 0)
            close(pfd);
        return TY_OK;
    }
    run_writer_t w;
    int rc = writer_open(&w, rs->rec, n, -1, 0, 0, s, err); /* the postings the run's below */
    if (rc) {
        if (pfd >= 0)
            close(pfd);
        return rc;
    }
    add_job_t job = {&w, n, get, ctx, beside, bctx, pn, 0};
    size_t parts = beside ? 2 : 1;
    if (ty__for(threads < 2 ? 1 : (int)parts, add_part, &job, parts))
        for (size_t i = 0; i < parts; i++) /* no threads: here */
            add_part(&job, i, 0);
    w.r.pfd = pfd;
    w.r.pn = job.pn;
    if (job.e) {
        writer_drop(&w);
        if (job.e == ENOMEM)
            return TY_ENOMEM;
        return ty__err(err, TY_EIO, "writing a temporary file in %s (tmp_dir): %s", s->dir,
                       strerror(job.e));
    }
    rc = writer_close(&w, rs, s, err);
    return rc ? rc : runs_settle(rs, s, err);
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
    int rc = rs->bg ? merge_install(rs, rs->bg, s, err) : TY_OK;
    return !rc && rs->r.n > 1 ? runs_merge(rs, 0, rs->r.n, s, err) : rc;
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
    return m + (rs->bg ? rs->bg->mem : 0);
}

void ty__sruns_free(ty__sruns_t *rs)
{
    if (rs->bg) { /* asked to stop, waited for, its files closed */
        atomic_store(&rs->bg->stop, 1);
        if (rs->bg->threaded)
            pthread_join(rs->bg->th, NULL);
        merge_drop(rs->bg);
        rs->bg = NULL;
    }
    for (size_t i = 0; i < rs->r.n; i++)
        run_free(&rs->r.a[i]);
    free(rs->r.a);
    rs->r.a = NULL;
    rs->r.n = rs->r.m = 0;
    rs->n = 0;
}
