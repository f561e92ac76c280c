/*
 * index.h — the corpus index's on-disk format: the layout, the records and their codecs
 * (index_format.c). Private to the library (and to fuzz/fuzz_index.c); not installed. The
 * handle and the calls between the index's source files are in index_impl.h.
 *
 * On-disk layout: one LMDB environment (a single file, MDB_NOSUBDIR) with these tables:
 *
 *   meta   "header" → index_header_t, fixed little-endian layout (magic, format, k, w,
 *                     normalization fingerprint, ...): written once at creation
 *          "stats"  → counters (documents, characters, bytes, postings, next ids)
 *          "zdict"  → the zstd dictionary of the stored texts (absent: none)
 *          "del:" ‖ doc id (u32 BE) → empty: the document is deleted (a tombstone, index_del.c)
 *   docs   doc id (u32 big-endian, so keys sort by id and are appended) → record:
 *          varint file id + 1 (0: none), varint line, varint bytes, varint code points,
 *          varint tokens, varint name length, name bytes
 *   text   doc id → the document's bytes as one zstd frame (content size in the frame)
 *   names  XXH3-128 of the name (16 bytes) → doc id (u32 LE): duplicate detection
 *   files  file id (u32 BE) → origin path bytes
 *   segs   segment id (u32 BE) → seg_rec_t: postings, keys, doc id range, bucket bits, a
 *          histogram of per-minimizer document counts (for the frequent-minimizer cut)
 *   post   segment id (u32 BE) ‖ bucket (u32 BE) → a bucket of about 32 minimizers:
 *            varint n, varint directory bytes,
 *            directory: n × (varint suffix delta, varint documents, varint id bytes),
 *            then the id lists: the first id absolute, the rest as deltas (increasing).
 *          A minimizer is identified by the top 40 bits of its hash (TY_KEY_BITS); its
 *          top `bits` bits (per segment) are the bucket, the rest the suffix. With 40 bits
 *          a query meets a false match in one lookup of 20,000 at 50M minimizers, which
 *          only adds a stray vote to a few documents; in exchange a minimizer that occurs
 *          once costs about 8 bytes instead of the ~24 of its own LMDB key.
 *
 * Why segments: LMDB is a B-tree; adding a document's ~100 postings to ~100 random keys
 * of a large tree would rewrite most of its pages on every commit. Instead each commit
 * writes its postings, sorted, as a new segment whose keys all sort after every existing
 * key (segment ids only grow), so they are appended (MDB_APPEND: full pages, no splits).
 * Segments of similar size are merged (size-tiered, like an LSM tree) so a query looks
 * up each minimizer in a few segments; `index build` sorts everything in runs in
 * temporary files and writes exactly one segment.
 *
 * Beside INDEX: INDEX-lock, LMDB's lock file (its table of readers). A process that has INDEX
 * open for writing holds flock(LOCK_SH) on INDEX itself; whoever replaces INDEX (a build's
 * rename) first takes flock(LOCK_EX), so that no writer commits into a replaced file.
 *
 * A sharded index is a directory: DIR/shard-0000, ... (each an index as above) and
 * DIR/MANIFEST, a text file (format in index_shard.c).
 */
#ifndef TY_INDEX_H
#define TY_INDEX_H

#include "internal.h"

#define TY_INDEX_FORMAT 1
#define TY_INDEX_MAGIC "TYIDX\r\n\x1a" /* 8 bytes: text mode and ^Z mangling show */
#define TY_HIST_BUCKETS 128

typedef struct {
    char magic[8];
    uint32_t format;
    uint32_t header_size; /* bytes of this record as written */
    uint32_t k, w;
    uint64_t norm_fingerprint;
    uint32_t zstd_level;
    uint32_t flags;   /* reserved, 0 */
    uint64_t created; /* unix time */
    char writer[16];  /* library version that created it, NUL-padded */
} index_header_t;
#define TY_HEADER_SIZE 64 /* encoded size */

typedef struct {
    uint64_t docs, codepoints, bytes, stored_bytes, postings, keys;
    uint32_t next_seg, next_file;
} index_counts_t;
#define TY_COUNTS_SIZE 56

typedef struct {
    uint64_t postings, keys;
    uint32_t min_doc, max_doc;
    uint32_t bits;                  /* bucket bits, 0..32 */
    uint64_t hist[TY_HIST_BUCKETS]; /* keys by document count, log-spaced buckets */
} seg_rec_t;
#define TY_SEGREC_SIZE (32 + 8 * TY_HIST_BUCKETS)

#define TY_KEY_BITS 40    /* a minimizer's identity: the top bits of its hash */
#define TY_BUCKET_KEYS 32 /* minimizers per bucket aimed at */
static inline uint64_t ty__mkey(uint64_t hash) { return hash >> (64 - TY_KEY_BITS); }

/* ---- varints (LEB128) -------------------------------------------------------------------- */
static inline size_t ty__put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Decode one varint from [*p, end). Returns 0 and advances *p, or -1 if it runs past end
 * or is longer than 10 bytes. */
static inline int ty__get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    int shift = 0;
    const uint8_t *q = *p;
    while (q < end && shift < 64) {
        uint8_t b = *q++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            *p = q;
            return 0;
        }
        shift += 7;
    }
    return -1;
}

static inline void ty__be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t ty__rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void ty__be64(uint8_t *p, uint64_t v)
{
    ty__be32(p, (uint32_t)(v >> 32));
    ty__be32(p + 4, (uint32_t)v);
}
static inline uint64_t ty__rd_be64(const uint8_t *p)
{
    return (uint64_t)ty__rd_be32(p) << 32 | ty__rd_be32(p + 4);
}

/* ---- record codecs (index_format.c); the decoders check every length and return TY_ECORRUPT ---
 */
void ty__header_encode(const index_header_t *h, uint8_t out[TY_HEADER_SIZE]);
int ty__header_decode(const void *buf, size_t len, index_header_t *h, char *err);
void ty__counts_encode(const index_counts_t *c, uint8_t out[TY_COUNTS_SIZE]);
int ty__counts_decode(const void *buf, size_t len, index_counts_t *c);
void ty__segrec_encode(const seg_rec_t *s, uint8_t out[TY_SEGREC_SIZE]);
int ty__segrec_decode(const void *buf, size_t len, seg_rec_t *s);

typedef struct {
    uint64_t file; /* file id + 1, 0 = none */
    uint64_t line, bytes, codepoints, tokens;
    const char *name; /* points into the decoded buffer */
    size_t name_len;
} doc_rec_t;
/* Encode into out (at least 60 + name_len bytes); returns the length. */
size_t ty__docrec_encode(const doc_rec_t *d, uint8_t *out);
int ty__docrec_decode(const void *buf, size_t len, doc_rec_t *d);

/* A cursor over one minimizer's id list of n ids (the first absolute, then deltas). */
typedef struct {
    const uint8_t *p, *end;
    uint64_t n, left;
    uint64_t last;
    int first;
} post_iter_t;
int ty__post_begin(post_iter_t *it, const void *buf, size_t len, uint64_t n);
/* 1 with *id, 0 at the end (every byte used), TY_ECORRUPT on a bad encoding or ids not
 * increasing. */
int ty__post_next(post_iter_t *it, uint32_t *id);

/* A cursor over the minimizers of one bucket value. */
typedef struct {
    const uint8_t *dir, *dir_end, *blob, *end;
    uint64_t n, left;
    uint64_t base;   /* bucket << (40 - bits) */
    uint64_t suffix; /* of the last entry */
    uint64_t smax;   /* suffixes are below this */
    int first;
} bucket_iter_t;
int ty__bucket_begin(bucket_iter_t *it, const void *buf, size_t len, uint32_t bucket,
                     uint32_t bits);
/* 1 with the minimizer's key (40 bits), its document count and id list; 0 at the end;
 * TY_ECORRUPT if the bucket is damaged (lengths, order, sizes). */
int ty__bucket_next(bucket_iter_t *it, uint64_t *key, uint64_t *count, const uint8_t **ids,
                    size_t *ids_len);

/* Histogram bucket of a document count (>= 1) and the smallest count in a bucket. */
int ty__hist_bucket(uint64_t count);
uint64_t ty__hist_low(int bucket);

/* Fingerprint of the normalization table and k-mer hash of this build (computed once). */
uint64_t ty__norm_fingerprint(void);

/* Key of a name in the names table: XXH3-128, big-endian. */
void ty__name_key(const char *name, size_t len, uint8_t out[16]);

/* Key of a document's tombstone in the meta table: "del:" ‖ id (u32 BE). */
#define TY_DEL_PREFIX "del:"
#define TY_DEL_KEY_SIZE 8
static inline void ty__del_key(uint8_t k[TY_DEL_KEY_SIZE], uint32_t id)
{
    k[0] = 'd';
    k[1] = 'e';
    k[2] = 'l';
    k[3] = ':';
    k[4] = (uint8_t)(id >> 24);
    k[5] = (uint8_t)(id >> 16);
    k[6] = (uint8_t)(id >> 8);
    k[7] = (uint8_t)id;
}

/* Little-endian u32 (the value of a names entry). */
static inline uint32_t ty__rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void ty__le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
