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
 * The vector code uses GCC/Clang vector extensions; on x86-64 an AVX2 copy of the loop is
 * chosen at run time when the CPU has it (8 lanes of 32-bit multiplies), else the SSE2
 * build (the same arithmetic, so the same signatures).
 */
#include <stdatomic.h>
#include <string.h>
#include <xxhash.h>

#include "dedup.h"

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
    /* open-addressing set of 32-bit values (0 marks an empty slot; the value 0 itself is
     * tracked apart) at load <= 0.5 */
    size_t cap = 64;
    while (cap < 2 * m)
        cap <<= 1;
    if (*set_cap < cap) {
        uint32_t *p = realloc(*set, cap * sizeof(uint32_t));
        if (!p)
            return (size_t)-1;
        *set = p;
        *set_cap = cap;
    }
    uint32_t *tab = *set;
    memset(tab, 0, cap * sizeof(uint32_t));
    size_t k = 0, mask = cap - 1;
    int zero_seen = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t x = (uint32_t)(hbuf[i] >> 32);
        if (x == 0) {
            if (!zero_seen)
                out[k++] = 0;
            zero_seen = 1;
            continue;
        }
        size_t s = (x * 0x9E3779B1u) & mask;
        while (tab[s] && tab[s] != x)
            s = (s + 1) & mask;
        if (!tab[s]) {
            tab[s] = x;
            out[k++] = x;
        }
    }
    return k;
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
#endif

void ty__minhash(const uint32_t *a, const uint32_t *b, int perms, const uint32_t *x, size_t n,
                 uint32_t *sig)
{
    int np = (perms + 7) & ~7;
#ifdef TY_HAVE_AVX2_PATH
    static atomic_int have_avx2 = -1; /* every thread that races here stores the same value */
    int h = atomic_load_explicit(&have_avx2, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx2") ? 1 : 0;
        atomic_store_explicit(&have_avx2, h, memory_order_relaxed);
    }
    if (h) {
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
