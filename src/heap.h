/*
 * heap.h — a typed binary min-heap's sift-down, in the manner of hash.h:
 *
 *   static inline int cand_before(const void *ctx, const cand_t *a, const cand_t *b);
 *   TY_HEAP_INIT(candheap, cand_t, const void *, cand_before)
 *
 *   for (size_t i = n / 2; i-- > 0;)        // heapify h[0..n)
 *       candheap_down(h, n, i, NULL);
 *   h[0] = x; candheap_down(h, n, 0, NULL);  // replace the root
 *   candheap_keep(h, &n, cap, x, NULL);      // of all x offered, the cap coming last
 *
 * before(ctx, a, b) is nonzero when *a belongs nearer the root than *b; ctx is the caller's
 * (what the elements index into, say). The functions are static inline: the comparison is
 * inlined into the loop, as it was in each caller's hand-written copy. Ties keep whichever
 * the steps below leave, the same on every run: a caller wanting a total order breaks them
 * in before.
 */
#ifndef TY_HEAP_H
#define TY_HEAP_H

#include <stddef.h>

/* name_down(h, n, i, ctx): move h[i] down h[0..n) until neither child comes before it. */
#define TY_HEAP_INIT(name, elem_t, ctx_t, before)                                         \
    static inline void name##_down(elem_t *h, size_t n, size_t i, ctx_t ctx)              \
    {                                                                                     \
        for (;;) {                                                                        \
            size_t l = 2 * i + 1, r = l + 1, m = i;                                       \
            if (l < n && before(ctx, &h[l], &h[m]))                                       \
                m = l;                                                                    \
            if (r < n && before(ctx, &h[r], &h[m]))                                       \
                m = r;                                                                    \
            if (m == i)                                                                   \
                return;                                                                   \
            elem_t t = h[i];                                                              \
            h[i] = h[m];                                                                  \
            h[m] = t;                                                                     \
            i = m;                                                                        \
        }                                                                                 \
    }                                                                                     \
    /* Offer x to a bounded heap h[0..*n) of at most cap: it keeps, of all offered,       \
     * the cap that come last in before's order (heapified when it fills). */             \
    static inline void name##_keep(elem_t *h, size_t *n, size_t cap, elem_t x, ctx_t ctx) \
    {                                                                                     \
        if (*n < cap) {                                                                   \
            h[(*n)++] = x;                                                                \
            if (*n == cap)                                                                \
                for (size_t j = cap / 2; j-- > 0;)                                        \
                    name##_down(h, cap, j, ctx);                                          \
        } else if (before(ctx, &h[0], &x)) {                                              \
            h[0] = x;                                                                     \
            name##_down(h, cap, 0, ctx);                                                  \
        }                                                                                 \
    }

#endif
