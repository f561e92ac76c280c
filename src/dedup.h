/*
 * dedup.h — private to deduplication (dedup.c: the handle, batches, clustering; minhash.c:
 * MinHash signatures and LSH band keys). Not installed.
 */
#ifndef TY_DEDUP_H
#define TY_DEDUP_H

#include "internal.h"

/* Largest number of permutations (bands x rows) a signature may have. */
#define TY_MH_MAX_PERMS 1024

/* Permutation i of the signature is h_i(x) = a[i] * x + b[i] (mod 2^32) over the 32-bit
 * shingle values x; a[i] (odd) and b[i] come from a splitmix64 sequence started at seed:
 * state += 0x9E3779B97F4A7C15, value = ty__mix64(state), a[i] from the first value (| 1),
 * b[i] from the second. perms entries each (scripts/minhash_ref.py computes the same). */
void ty__minhash_perms(uint64_t seed, int perms, uint32_t *a, uint32_t *b);

/* The distinct shingle values of tokens tok[0..n): x = upper 32 bits of ty_kmer_hash() of
 * every ngram consecutive tokens (a document shorter than ngram is one shingle of all its
 * tokens; an empty one has none). Written to out (room for n + 1 values), in first-seen
 * order, duplicates removed with set (scratch, grown as needed). Returns the count, or
 * (size_t)-1 when out of memory. */
size_t ty__shingles(const uint32_t *tok, size_t n, int ngram, uint32_t *out, uint64_t *hbuf,
                    uint32_t **set, size_t *set_cap);

/* Near mode's shingles are character n-grams of the normalized text, not token n-grams:
 * a token is a Han character or a whole Latin word or number, so five tokens span more text
 * than five characters and one changed character breaks a larger share of them — the same
 * copy had a Jaccard similarity 0.04-0.07 lower over tokens than over characters, and fewer
 * band hits than MinHash-LSH over character 5-grams (datasketch, text-dedup) at the same
 * bands and rows (docs/dedup.md, scripts/eval_near.py).
 *
 * The units of d: its normalized characters in order — a token of one character is that
 * character, a letter/digit run each of its characters as the tokenizer normalizes them;
 * what the tokenizer drops (spaces, punctuation, symbols) is not there. out has room for
 * ty_doc_ncodepoints(d) values. Returns the count. */
size_t ty__near_units(const ty_doc_t *d, uint32_t *out);

/* Scratch of ty__near_shingles (zeroed to start; ty__near_buf_free). */
typedef struct {
    TY_VEC(uint32_t) u, x, set;
    TY_VEC(uint64_t) h;
} near_buf_t;
void ty__near_buf_free(near_buf_t *b);

/* The distinct shingle values of d for near mode (ty__shingles of its units) into b->x.
 * Returns the count, or (size_t)-1 when out of memory. */
size_t ty__near_shingles(const ty_doc_t *d, int ngram, near_buf_t *b);

/* The similarity of a linked pair from its signatures (bands x rows values each) and shingle
 * counts nx, ny: *jac the Jaccard estimate — the maximum likelihood given the values outside
 * the first band in which the two signatures agree and that the bands before it do not
 * wholly agree (the pair was found through that band: counting its rows biased the plain
 * share of equal values up, by about rows / perms of 1 - J); the plain share when no band
 * agrees — and *cont the containment J (nx + ny) / (1 + J) / min(nx, ny), at most 1. */
void ty__near_estimate(const uint32_t *x, const uint32_t *y, int bands, int rows, double nx,
                       double ny, float *jac, float *cont);

/* sig[i] = min over x of h_i(x), i < perms (0xFFFFFFFF for no shingle). a, b, sig hold
 * perms rounded up to a multiple of 8 (the extra permutations are computed and ignored). */
void ty__minhash(const uint32_t *a, const uint32_t *b, int perms, const uint32_t *x, size_t n,
                 uint32_t *sig);

/* Key of band j: XXH3-64 of the rows values sig[j*rows .. (j+1)*rows) with seed j. */
uint64_t ty__band_key(const uint32_t *sig, int j, int rows);

/* Postings lists of the spun index (dedup.c, and mpi_dedup.c's minimizer owners): blocks in
 * one uint32 pool, [n, cap, ids...], capacities 4, 8, 16, ... with a free list per capacity
 * (UINT32_MAX: empty). A minimizer in one document keeps the document in its map slot; lists
 * exist only for 2..max_df documents. */
#define POOL_CLASSES 30
typedef struct {
    TY_VEC(uint32_t) v;
    uint32_t freel[POOL_CLASSES];
} pool_t;

/* A block of class cls (4 << cls ids), or UINT32_MAX when out of memory. */
static inline uint32_t pool_alloc(pool_t *p, int cls)
{
    uint32_t cap = 4u << cls;
    if (p->freel[cls] != UINT32_MAX) {
        uint32_t r = p->freel[cls];
        p->freel[cls] = p->v.a[r + 2];
        p->v.a[r] = 0;
        return r;
    }
    if (p->v.n + 2 + cap > (size_t)UINT32_MAX - 1 || ty_vec_reserve(p->v, p->v.n + 2 + cap))
        return UINT32_MAX;
    uint32_t r = (uint32_t)p->v.n;
    p->v.n += 2 + cap;
    p->v.a[r] = 0;
    p->v.a[r + 1] = (uint32_t)cls;
    return r;
}

static inline void pool_free(pool_t *p, uint32_t r)
{
    uint32_t cls = p->v.a[r + 1];
    p->v.a[r + 2] = p->freel[cls];
    p->freel[cls] = r;
}

/* qsort order of seeds: by hash, then position. */
static inline int cmp_seed(const void *x, const void *y)
{
    const ty_seed_t *a = x, *b = y;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* ---- clusters (cluster.c): union-find, best links, keepers ------------------------------- */

typedef struct {
    uint32_t parent; /* union-find: the root is the earliest document of its cluster */
    uint32_t best;   /* the linked document with the highest containment (UINT32_MAX: none) */
    float best_sim, best_cont;
    uint32_t ncp;     /* code points (the "longest" rule) */
    uint32_t cluster; /* after ty__clu_finish() */
    int32_t err;      /* a document that failed is in no cluster */
} ty__clu_t;

typedef struct {
    TY_VEC(ty__clu_t) d;     /* per document */
    TY_VEC(uint32_t) keeper; /* per cluster, after ty__clu_finish() */
    TY_VEC(uint32_t) csize;
} ty__clusters_t;

/* n more documents, each a cluster of its own; TY_ENOMEM. */
int ty__clu_add(ty__clusters_t *c, size_t n);
/* The root of x's cluster (path halving), and the same without changing anything (for
 * readers running in parallel). */
uint32_t ty__clu_find(ty__clusters_t *c, uint32_t x);
uint32_t ty__clu_root(const ty__clusters_t *c, uint32_t x);
/* Join a's and b's clusters; the link is a candidate for each one's best link. */
void ty__clu_link(ty__clusters_t *c, uint32_t a, uint32_t b, float sim, float cont);
/* Number the clusters, count them, pick the keepers; TY_ENOMEM. */
int ty__clu_finish(ty__clusters_t *c, int keep_longest, size_t *nclusters);
/* Document i's decision (after ty__clu_finish()). */
void ty__clu_result(const ty__clusters_t *c, size_t i, ty_dedup_result_t *res);
void ty__clu_free(ty__clusters_t *c);

#endif
