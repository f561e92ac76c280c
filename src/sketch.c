/*
 * sketch.c — k-mer hashes over the token stream and (w,k)-minimizer sampling.
 *
 * A k-mer is k consecutive tokens (k CJK characters, or words for Latin text). Its hash is a
 * rolling polynomial over 64-bit words, finished by a bijective mixer so that "smallest hash
 * in the window" picks a random-looking but deterministic representative (Roberts et al.
 * 2004; minimap2). Hash collisions are harmless downstream: alignment compares the tokens
 * themselves before it trusts an anchor.
 */
#include "internal.h"

#define BASE 0x100000001B3ULL /* odd multiplier of the rolling hash */

uint64_t ty_kmer_hash(const uint32_t *tok, int k)
{
    uint64_t h = 0;
    for (int j = 0; j < k; j++)
        h = h * BASE + tok[j] + 1;
    return ty__mix64(h);
}

/* All n-k+1 k-mer hashes of tok[0..n) into out (caller sized). Returns the count.
 * mixed = 0 skips the final mixer and leaves raw*golden-ratio (one multiply): enough for a
 * hash table that takes its slot from the high bits, as alignment does. */
size_t ty__kmer_hashes(const uint32_t *tok, size_t n, int k, uint64_t *out, int mixed)
{
    if (n < (size_t)k)
        return 0;
    uint64_t topb = BASE; /* BASE^k */
    for (int j = 1; j < k; j++)
        topb *= BASE;
    const size_t m = n - (size_t)k + 1, half = m / 2, K = (size_t)k;
    /* Two halves hashed side by side: each rolling step waits on the one before (a multiply
     * and an add), so two independent chains keep the multiplier busy twice as often. The
     * step is (h - old * BASE^(k-1)) * BASE + new, with the token terms computed off the
     * chain. */
    uint64_t ha = 0, hb = 0;
    for (size_t j = 0; j < K; j++) {
        ha = ha * BASE + tok[j] + 1;
        hb = hb * BASE + tok[half + j] + 1;
    }
#define TY_STEP(h, i) \
    (h = h * BASE + ((uint64_t)tok[(i) + K - 1] + 1 - ((uint64_t)tok[(i)-1] + 1) * topb))
    if (mixed) {
        out[0] = ty__mix64(ha);
        out[half] = ty__mix64(hb);
        for (size_t i = 1; i < half; i++) {
            out[i] = ty__mix64(TY_STEP(ha, i));
            out[half + i] = ty__mix64(TY_STEP(hb, half + i));
        }
        if (half && m - half > half)
            out[m - 1] = ty__mix64(TY_STEP(hb, m - 1));
    } else {
        out[0] = ha * 0x9E3779B97F4A7C15ULL;
        out[half] = hb * 0x9E3779B97F4A7C15ULL;
        for (size_t i = 1; i < half; i++) {
            out[i] = TY_STEP(ha, i) * 0x9E3779B97F4A7C15ULL;
            out[half + i] = TY_STEP(hb, half + i) * 0x9E3779B97F4A7C15ULL;
        }
        if (half && m - half > half)
            out[m - 1] = TY_STEP(hb, m - 1) * 0x9E3779B97F4A7C15ULL;
    }
#undef TY_STEP
    return m;
}

int ty_sketch(const ty_doc_t *d, int k, int w, ty_seed_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (k < 2 || k > 16 || w < 1 || w > 256)
        return TY_EINVAL;
    if (d->ntok < (size_t)k)
        return TY_OK;
    size_t m = d->ntok - (size_t)k + 1;
    uint64_t *h = malloc(m * sizeof(uint64_t));
    ty_seed_t *s = malloc(m * sizeof(ty_seed_t));
    size_t *dq = malloc((size_t)(w + 1) * sizeof(size_t)); /* ring buffer deque of indices */
    if (!h || !s || !dq) {
        TY_FREE(h, s, dq);
        return TY_ENOMEM;
    }
    ty__kmer_hashes(d->tok, d->ntok, k, h, 1);
    size_t ns = 0;
    if (w == 1) {
        for (size_t i = 0; i < m; i++)
            s[ns++] = (ty_seed_t){h[i], (uint32_t)i};
    } else {
        /* monotonic deque: front holds the position of the window's minimum (leftmost on
         * ties); a minimizer is emitted when it differs from the last emitted position */
        size_t cap = (size_t)w + 1, head = 0, cnt = 0, last = SIZE_MAX;
        for (size_t i = 0; i < m; i++) {
            while (cnt && h[dq[(head + cnt - 1) % cap]] > h[i])
                cnt--;
            dq[(head + cnt) % cap] = i;
            cnt++;
            if (dq[head] + (size_t)w <= i) {
                head = (head + 1) % cap;
                cnt--;
            }
            if (i + 1 >= (size_t)w || i + 1 == m) {
                size_t p = dq[head];
                if (p != last) {
                    s[ns++] = (ty_seed_t){h[p], (uint32_t)p};
                    last = p;
                }
            }
        }
    }
    free(h);
    free(dq);
    *out = s;
    *n = ns;
    return TY_OK;
}
