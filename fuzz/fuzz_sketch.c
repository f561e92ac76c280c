/*
 * fuzz_sketch.c — arbitrary text → ty_sketch(), with k and w taken from the input.
 *
 * Input: byte 0 picks k = 2 + b0 % 15 (2..16), byte 1 picks w = 1 + b1 (1..256), the rest is
 * the document, loaded in replace mode (inputs with a NUL byte are refused by the loader and
 * skipped).
 *
 * Invariants checked, against an oracle that hashes every k-mer with ty_kmer_hash() and finds
 * each window's minimum with prefix/suffix minima over blocks of w (a method other than the
 * library's deque):
 *   - no seeds when the document has fewer than k tokens;
 *   - positions strictly increasing and < ntokens - k + 1, each seed's hash equal to
 *     ty_kmer_hash() of the k tokens at its position (so the rolling hash is right);
 *   - every window of w consecutive k-mers (or all k-mers, when fewer than w) contains a
 *     sampled position: its minimum, leftmost on ties; and every seed is such a minimum;
 *   - out-of-range k or w is refused with TY_EINVAL and no seeds; a second call is identical.
 */
#include "fuzz.h"

typedef struct {
    uint64_t h;
    size_t pos;
} hp_t;

/* (hash, position) order: the window minimum, leftmost on ties */
static hp_t hp_min(hp_t a, hp_t b)
{
    if (a.h != b.h)
        return a.h < b.h ? a : b;
    return a.pos < b.pos ? a : b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int k = 2 + data[0] % 15;
    int w = 1 + data[1];
    ty_opts_t o;
    ty_opts_init(&o);
    o.utf8_mode = TY_UTF8_REPLACE;
    ty_doc_t *d = ty_doc_new();
    FZ_CHECK(d != NULL);
    if (ty_doc_load_mem(d, "fuzz", data + 2, size - 2, &o) != TY_OK) {
        ty_doc_free(d);
        return 0;
    }

    /* bad parameters */
    ty_seed_t *s = (ty_seed_t *)&o; /* not NULL: the call must reset it */
    size_t n = 1;
    static const int bad[4][2] = {{1, 1}, {17, 1}, {2, 0}, {2, 257}};
    for (int i = 0; i < 4; i++) {
        FZ_CHECK(ty_sketch(d, bad[i][0], bad[i][1], &s, &n) == TY_EINVAL);
        FZ_CHECK(s == NULL && n == 0);
    }

    size_t ntok = ty_doc_ntokens(d);
    uint32_t *tok = fz_alloc(ntok * sizeof(uint32_t));
    for (size_t i = 0; i < ntok; i++) {
        ty_token_t t;
        FZ_CHECK(ty_doc_token(d, i, &t) == TY_OK);
        tok[i] = t.id;
    }
    FZ_CHECK(ty_sketch(d, k, w, &s, &n) == TY_OK);
    if (ntok < (size_t)k) {
        FZ_CHECK(n == 0);
        free(s);
        free(tok);
        ty_doc_free(d);
        return 0;
    }
    size_t m = ntok - (size_t)k + 1;
    FZ_CHECK(n >= 1 && n <= m);

    /* oracle: every k-mer's hash, then the minimum of each window */
    hp_t *h = fz_alloc(m * sizeof(hp_t));
    for (size_t i = 0; i < m; i++)
        h[i] = (hp_t){ty_kmer_hash(tok + i, k), i};
    size_t W = (size_t)w < m ? (size_t)w : m; /* fewer k-mers than w: one window of all */
    size_t nwin = m - W + 1;
    hp_t *pre = fz_alloc(m * sizeof(hp_t)), *suf = fz_alloc(m * sizeof(hp_t));
    for (size_t i = 0; i < m; i++)
        pre[i] = i % W == 0 ? h[i] : hp_min(pre[i - 1], h[i]);
    for (size_t i = m; i-- > 0;)
        suf[i] = (i % W == W - 1 || i == m - 1) ? h[i] : hp_min(suf[i + 1], h[i]);
    uint8_t *want = fz_alloc(m), *got = fz_alloc(m);
    for (size_t j = 0; j < nwin; j++) {
        /* window [j, j + W): suffix of j's block joined with the prefix of the next one */
        hp_t mn = (j % W == 0) ? suf[j] : hp_min(suf[j], pre[j + W - 1]);
        want[mn.pos] = 1;
    }

    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(s[i].pos < m);
        if (i)
            FZ_CHECK(s[i].pos > s[i - 1].pos);
        FZ_CHECK(s[i].hash == h[s[i].pos].h);
        FZ_CHECK(s[i].hash == ty_kmer_hash(tok + s[i].pos, k));
        got[s[i].pos] = 1;
    }
    /* every window's minimum is sampled, and nothing else */
    FZ_CHECK(memcmp(want, got, m) == 0);
    /* hence every window of W k-mers holds a sampled position: check directly too */
    for (size_t j = 0, x = 0; j < nwin; j++) {
        while (x < n && s[x].pos < j)
            x++;
        FZ_CHECK(x < n && s[x].pos < j + W);
    }

    /* deterministic */
    ty_seed_t *s2;
    size_t n2;
    FZ_CHECK(ty_sketch(d, k, w, &s2, &n2) == TY_OK);
    FZ_CHECK(n2 == n);
    for (size_t i = 0; i < n; i++) /* field by field: the struct has padding */
        FZ_CHECK(s2[i].hash == s[i].hash && s2[i].pos == s[i].pos);

    free(s2);
    free(want);
    free(got);
    free(pre);
    free(suf);
    free(h);
    free(s);
    free(tok);
    ty_doc_free(d);
    return 0;
}
