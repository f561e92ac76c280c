/*
 * spill.h — the sorted runs' pieces that the engine's merge join (dedup_spill.c) reads as
 * spill.c does: the record and block layout, the Bloom filter's look-up, and the buffered
 * sequential reader and writers, inline (they run once a record). Internal.
 */
#ifndef TY_SPILL_H
#define TY_SPILL_H

#include <string.h>

#include "dedup_impl.h"

/* A file without a name in the spill directory (made first): its descriptor, or -1 with a
 * message naming tmp_dir in err. */
int ty__spill_file(ty__spill_t *s, char *err);

#define RUN_BLOCK 64
#define RUN_MAX 6
#define MERGE_FAN 3 /* runs of similar size merged at once */
#define BLOOM_K 6
#define BLOOM_AHEAD 16 /* keys whose filter blocks are fetched ahead (keys come in order) */
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

static inline int bloom_has(const ty__srun_t *r, uint64_t key)
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

/* A file written front to back through a buffer: seqw_put() gives each value's offset. */
typedef struct {
    int fd;
    char *buf;
    size_t nbuf;
    uint64_t off; /* bytes written before the buffer */
    int err;      /* the first errno */
} seqw_t;

static inline void seqw_flush(seqw_t *w)
{
    if (w->nbuf && !w->err)
        w->err = ty__pwrite_full(w->fd, w->buf, w->nbuf, w->off);
    w->off += w->nbuf;
    w->nbuf = 0;
}

static inline uint64_t seqw_put(seqw_t *w, const void *p, size_t n)
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

static inline int seqr_get(seqr_t *r, uint64_t off, size_t n, void *dst)
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

/* Reading a run in order, a buffer at a time. */
typedef struct {
    const ty__srun_t *r;
    char *buf;
    size_t rec, have, at;
    uint64_t next; /* records read from the file */
} run_reader_t;

/* The next record, or NULL at the end (*err: an errno when the file could not be read). */
static inline const char *reader_next(run_reader_t *rd, int *err)
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

#endif
