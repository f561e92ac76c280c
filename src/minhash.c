/*
 * minhash.c — MinHash signatures and LSH band keys for `dedup --mode near`.
 *
 * The textbook scheme (Broder 1997; LSH banding as in Leskovec et al., "Mining of Massive
 * Datasets", ch. 3) with cheap permutations: each of the P permutations is a 32-bit
 * multiply-add of the shingle value, so a document's signature costs P multiply-add-min
 * steps per distinct shingle, eight permutations at a time in one vector register. The
 * shingle values are already well mixed (the top half of a 64-bit k-mer hash), which is
 * what makes a linear map good enough as a permutation here.
 *
 * The vector code uses GCC/Clang vector extensions; on x86-64 an AVX-512 copy of the loop
 * (16 lanes of 32-bit multiplies) or an AVX2 copy (8 lanes) is chosen at run time when the
 * CPU has it, else the SSE2 build (the same arithmetic, so the same signatures).
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <xxhash.h>

#include "dedup.h"
#include "hash.h"

TY_HASH_SET_INIT(u32set, uint32_t, ty__hash_u32)

void ty__minhash_perms(uint64_t seed, int perms, uint32_t *a, uint32_t *b)
{
    uint64_t s = seed;
    for (int i = 0; i < perms; i++) {
        s += 0x9E3779B97F4A7C15ULL;
        a[i] = (uint32_t)ty__mix64(s) | 1u;
        s += 0x9E3779B97F4A7C15ULL;
        b[i] = (uint32_t)ty__mix64(s);
    }
}

size_t ty__shingles(const uint32_t *tok, size_t n, int ngram, uint32_t *out, uint64_t *hbuf,
                    uint32_t **set, size_t *set_cap)
{
    if (n == 0)
        return 0;
    size_t m;
    if (n < (size_t)ngram) {
        hbuf[0] = ty_kmer_hash(tok, (int)n);
        m = 1;
    } else {
        m = ty__kmer_hashes(tok, n, ngram, hbuf, 1);
    }
    /* the distinct values: a set of 32-bit values (0 marks an empty slot; the value 0 itself
     * is tracked apart), sized for load <= 0.5; the caller keeps the table between calls */
    u32set_t h = {*set, *set_cap, 0};
    int bad = u32set_reset(&h, m);
    *set = h.key;
    *set_cap = h.cap;
    if (bad)
        return (size_t)-1;
    size_t k = 0;
    int zero_seen = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t x = (uint32_t)(hbuf[i] >> 32);
        if (x == 0) {
            if (!zero_seen)
                out[k++] = 0;
            zero_seen = 1;
            continue;
        }
        int isnew;
        u32set_put(&h, x, &isnew);
        if (isnew)
            out[k++] = x;
    }
    return k;
}

size_t ty__near_units(const ty_doc_t *d, uint32_t *out)
{
    size_t k = 0;
    const unsigned char *t = (const unsigned char *)d->text;
    for (size_t i = 0; i < d->ntok; i++) {
        if (d->tok[i] <= 0x10FFFF) { /* a character (a word's id is a hash above them) */
            out[k++] = d->tok[i];
            continue;
        }
        for (size_t b = d->byte_off[i], e = d->byte_end[i]; b < e;) {
            uint32_t cp = 0xFFFD;
            int l = ty__utf8_decode(t + b, e - b, &cp);
            uint32_t u = ty_normalize_cp(l ? cp : 0xFFFD);
            b += l ? (size_t)l : 1;
            if (u)
                out[k++] = u;
        }
    }
    return k;
}

void ty__near_buf_free(near_buf_t *b)
{
    TY_FREE(b->u.a, b->x.a, b->set.a, b->h.a);
    memset(b, 0, sizeof *b);
}

size_t ty__near_shingles(const ty_doc_t *d, int ngram, near_buf_t *b)
{
    size_t n = ty_doc_ncodepoints(d) + 1;
    if (ty_vec_reserve(b->u, n) || ty_vec_reserve(b->x, n) || ty_vec_reserve(b->h, n))
        return (size_t)-1;
    size_t nu = ty__near_units(d, b->u.a);
    return ty__shingles(b->u.a, nu, ngram, b->x.a, b->h.a, &b->set.a, &b->set.m);
}

/* The Jaccard similarity J most likely to give e equal values of m (each equal with
 * probability J), f of those in bands known not to be wholly equal (each such band of rows
 * values conditioned on that: divided by 1 - J^rows). Bisection on the derivative of the log
 * likelihood, e/J - (m - e)/(1 - J) + f rows J^(rows-1) / (1 - J^rows), which falls from +inf
 * to -inf on (0, 1) (e < m). */
static double near_mle(int e, int m, int f, int rows)
{
    if (m <= 0 || e >= m)
        return 1.0;
    double lo = 0, hi = 1;
    for (int it = 0; it < 50; it++) {
        double J = 0.5 * (lo + hi), p = pow(J, rows - 1);
        double d = (double)e / J - (double)(m - e) / (1 - J) + f * rows * p / (1 - p * J);
        if (d > 0)
            lo = J;
        else
            hi = J;
    }
    return 0.5 * (lo + hi);
}

void ty__near_estimate(const uint32_t *x, const uint32_t *y, int bands, int rows, double nx,
                       double ny, float *jac, float *cont)
{
    /* The pair was found through a band whose rows all agree; the bands before the first
     * such band do not wholly agree (or the pair would have been found there); the bands
     * after it are unconstrained. The share of equal values over all bands is biased up (by
     * about rows / perms of 1 - J: +0.016 at J 0.7 with 14 x 9); leaving the first agreeing
     * band out, down (-0.006, as the bands before it are known to disagree). The maximum
     * likelihood given those facts is unbiased within 0.001 (scripts/eval_near.py). */
    int e = 0, m = 0, first = -1;
    for (int j = 0; j < bands; j++) {
        int k = 0;
        for (int r = j * rows; r < (j + 1) * rows; r++)
            k += x[r] == y[r];
        if (k == rows && first < 0) {
            first = j;
            continue;
        }
        e += k;
        m += rows;
    }
    double J = first < 0 ? (double)e / (m ? m : 1) : near_mle(e, m, first, rows);
    double inter = J * (nx + ny) / (1.0 + J), mn = nx < ny ? nx : ny;
    double c = mn > 0 ? inter / mn : 0;
    *jac = (float)J;
    *cont = (float)(c > 1 ? 1 : c);
}

typedef uint32_t v8u __attribute__((vector_size(32)));

/* The loop body, shared by the generic and the AVX2 copies: eight permutations at a time,
 * their running minima kept in a register across all shingles. */
#define MINHASH_BODY                     \
    for (int p = 0; p < np; p += 8) {    \
        v8u av, bv, sv;                  \
        memcpy(&av, a + p, sizeof av);   \
        memcpy(&bv, b + p, sizeof bv);   \
        sv = (v8u){0} + 0xFFFFFFFFu;     \
        for (size_t s = 0; s < n; s++) { \
            v8u xv = (v8u){0} + x[s];    \
            v8u h = av * xv + bv;        \
            v8u lt = (v8u)(h < sv);      \
            sv = (h & lt) | (sv & ~lt);  \
        }                                \
        memcpy(sig + p, &sv, sizeof sv); \
    }

static void minhash_generic(const uint32_t *a, const uint32_t *b, int np, const uint32_t *x,
                            size_t n, uint32_t *sig)
{
    MINHASH_BODY
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TY_HAVE_AVX2_PATH 1
__attribute__((target("avx2"))) static void minhash_avx2(const uint32_t *a, const uint32_t *b,
                                                         int np, const uint32_t *x, size_t n,
                                                         uint32_t *sig)
{
    MINHASH_BODY
}

typedef uint32_t v16u __attribute__((vector_size(64)));

/* Sixteen permutations at a time (the same arithmetic: the same signatures), then the last
 * eight when np is an odd multiple of 8. Near mode's shingles are characters since the
 * estimate fix, about a fifth more than tokens on prose with Latin words; this path pays
 * for them where the CPU has AVX-512. */
__attribute__((target("avx512f"))) static void minhash_avx512(const uint32_t *a, const uint32_t *b,
                                                              int np, const uint32_t *x, size_t n,
                                                              uint32_t *sig)
{
    int p = 0;
    for (; p + 16 <= np; p += 16) {
        v16u av, bv, sv;
        memcpy(&av, a + p, sizeof av);
        memcpy(&bv, b + p, sizeof bv);
        sv = (v16u){0} + 0xFFFFFFFFu;
        for (size_t s = 0; s < n; s++) {
            v16u h = av * ((v16u){0} + x[s]) + bv;
            v16u lt = (v16u)(h < sv);
            sv = (h & lt) | (sv & ~lt);
        }
        memcpy(sig + p, &sv, sizeof sv);
    }
    if (p < np)
        minhash_avx2(a + p, b + p, np - p, x, n, sig + p);
}
#endif

void ty__minhash(const uint32_t *a, const uint32_t *b, int perms, const uint32_t *x, size_t n,
                 uint32_t *sig)
{
    int np = (perms + 7) & ~7;
#ifdef TY_HAVE_AVX2_PATH
    /* 0 generic, 1 AVX2, 2 AVX-512; every thread that races here stores the same value */
    static atomic_int level = -1;
    int h = atomic_load_explicit(&level, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
        atomic_store_explicit(&level, h, memory_order_relaxed);
    }
    if (h == 2) {
        minhash_avx512(a, b, np, x, n, sig);
        return;
    }
    if (h == 1) {
        minhash_avx2(a, b, np, x, n, sig);
        return;
    }
#endif
    minhash_generic(a, b, np, x, n, sig);
}

uint64_t ty__band_key(const uint32_t *sig, int j, int rows)
{
    return XXH3_64bits_withSeed(sig + (size_t)j * (size_t)rows, (size_t)rows * sizeof(uint32_t),
                                (uint64_t)j);
}
