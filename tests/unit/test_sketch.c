/*
 * test_sketch.c — sketch.c: k-mer hashes and (w,k)-minimizers.
 *
 * The minimizer guarantee checked by brute force on real text and on low-entropy text (where
 * many hashes tie): every window of w consecutive k-mers contains a sampled position holding
 * the window's smallest hash, every sampled position is such a minimum, positions strictly
 * increase, and each seed's hash is ty_kmer_hash() of its k tokens.
 */
#include <stdint.h>

#include "check.h"
#include "internal.h"
#include "tongyuan.h"

static ty_opts_t opts(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    return o;
}

static ty_doc_t *load_str(const char *s)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(d, "mem", s, strlen(s), &o), TY_OK);
    return d;
}

static ty_doc_t *load_fixture(const char *name)
{
    ty_opts_t o = opts();
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_file(d, ck_data(name), &o), TY_OK);
    return d;
}

/* the token ids of d, malloc()ed */
static uint32_t *tokens(const ty_doc_t *d)
{
    size_t n = ty_doc_ntokens(d);
    uint32_t *t = malloc((n ? n : 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        ty_token_t x;
        ty_doc_token(d, i, &x);
        t[i] = x.id;
    }
    return t;
}

/* Check the minimizer properties of ty_sketch(d, k, w) against brute force. */
static void check_minimizers(const char *what, const ty_doc_t *d, int k, int w)
{
    size_t nt = ty_doc_ntokens(d), ns = 0;
    ty_seed_t *s = NULL;
    int rc = ty_sketch(d, k, w, &s, &ns);
    if (!CHECKF(rc == TY_OK, "%s k=%d w=%d: rc %d", what, k, w, rc))
        return;
    if (nt < (size_t)k) {
        CHECKF(ns == 0, "%s k=%d w=%d: %zu seeds from %zu tokens", what, k, w, ns, nt);
        free(s);
        return;
    }
    size_t m = nt - (size_t)k + 1; /* k-mers */
    uint32_t *t = tokens(d);
    uint64_t *h = malloc(m * sizeof(uint64_t));
    unsigned char *sampled = calloc(m, 1);
    for (size_t i = 0; i < m; i++)
        h[i] = ty_kmer_hash(t + i, k);
    long bad = 0;
    for (size_t i = 0; i < ns && bad < 3; i++) {
        if (!CHECKF(s[i].pos < m, "%s k=%d w=%d: seed %zu at %u beyond %zu k-mers", what, k, w, i,
                    s[i].pos, m)) {
            bad++;
            continue;
        }
        uint32_t before = i ? s[i - 1].pos : 0;
        if (!CHECKF(i == 0 || s[i].pos > before,
                    "%s k=%d w=%d: positions not increasing at seed %zu (%u after %u)", what, k, w,
                    i, s[i].pos, before))
            bad++;
        if (!CHECKF(s[i].hash == h[s[i].pos],
                    "%s k=%d w=%d: seed %zu hash differs from "
                    "ty_kmer_hash",
                    what, k, w, i))
            bad++;
        sampled[s[i].pos] = 1;
    }
    /* every window: its minimum is sampled */
    size_t nwin = m >= (size_t)w ? m - (size_t)w + 1 : 1, wl = m >= (size_t)w ? (size_t)w : m;
    unsigned char *is_min = calloc(m, 1); /* position is the minimum of some window */
    for (size_t b = 0; b < nwin && bad < 6; b++) {
        uint64_t mn = UINT64_MAX;
        for (size_t x = b; x < b + wl; x++)
            if (h[x] < mn)
                mn = h[x];
        int found = 0;
        for (size_t x = b; x < b + wl; x++)
            if (h[x] == mn) {
                is_min[x] = 1;
                found |= sampled[x];
            }
        if (!CHECKF(found, "%s k=%d w=%d: window [%zu, %zu) has no sampled minimum", what, k, w, b,
                    b + wl))
            bad++;
    }
    for (size_t x = 0; x < m && bad < 9; x++)
        if (sampled[x] && !CHECKF(is_min[x],
                                  "%s k=%d w=%d: position %zu sampled but not a "
                                  "window minimum",
                                  what, k, w, x))
            bad++;
    /* w = 1: every k-mer, in order */
    if (w == 1) {
        CHECKF(ns == m, "%s k=%d w=1: %zu seeds for %zu k-mers", what, k, ns, m);
        for (size_t i = 0; i < ns && i < m; i++)
            if (!CHECKF(s[i].pos == i, "%s k=%d w=1: seed %zu at %u", what, k, i, s[i].pos))
                break;
    } else {
        /* density: a seed serves at most w windows; at most every k-mer */
        size_t minseeds = m > (size_t)w ? (m - (size_t)w + 1 + (size_t)w - 1) / (size_t)w : 1;
        CHECKF(ns >= minseeds && ns <= m, "%s k=%d w=%d: %zu seeds for %zu k-mers", what, k, w, ns,
               m);
    }
    free(is_min);
    free(sampled);
    free(h);
    free(t);
    free(s);
}

/* seeds compared field by field (the struct has padding) */
static int same_seeds(const ty_seed_t *a, size_t na, const ty_seed_t *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].hash != b[i].hash || a[i].pos != b[i].pos)
            return 0;
    return 1;
}

static void test_minimizers_real_text(void)
{
    static const char *files[] = {"src-00596.txt", "src-00001.txt", "hay-00207.txt"};
    static const int ks[] = {2, 4, 5, 8, 16};
    static const int ws[] = {1, 2, 3, 5, 10, 16, 64, 256};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        ty_doc_t *d = load_fixture(files[f]);
        for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
            for (size_t b = 0; b < sizeof ws / sizeof ws[0]; b++)
                check_minimizers(files[f], d, ks[a], ws[b]);
        ty_doc_free(d);
    }
}

/* Repetitive text: equal k-mers have equal hashes, so windows are full of ties. */
static void test_minimizers_repetitive_text(void)
{
    char buf[4096] = "";
    for (int i = 0; i < 200; i++)
        strcat(buf, "的");
    ty_doc_t *d = load_str(buf);
    for (int w = 1; w <= 12; w++)
        check_minimizers("的*200", d, 4, w);
    ty_doc_free(d);
    buf[0] = 0;
    for (int i = 0; i < 100; i++)
        strcat(buf, i % 7 == 6 ? "中文" : "ab ");
    d = load_str(buf);
    for (int w = 1; w <= 12; w++)
        check_minimizers("periodic", d, 3, w);
    ty_doc_free(d);
}

/* Short documents: fewer tokens than k, exactly k, fewer k-mers than w. */
static void test_sketch_short_documents(void)
{
    static const char *texts[] = {"",         "，。",         "中",           "中文",
                                  "中文分词", "中文分词测试", "a b c d e f g"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ty_doc_t *d = load_str(texts[i]);
        for (int w = 1; w <= 6; w++)
            check_minimizers(texts[i], d, 4, w);
        size_t n = 99;
        ty_seed_t *s = (ty_seed_t *)1;
        CHECK_EQ_INT(ty_sketch(d, 4, 3, &s, &n), TY_OK);
        size_t nt = ty_doc_ntokens(d);
        if (nt < 4) {
            CHECK_EQ_UINT(n, 0);
        } else {
            CHECKF(n >= 1, "\"%s\": no seed", texts[i]);
        }
        free(s);
        ty_doc_free(d);
    }
    /* exactly k tokens: one seed at 0 with the hash of the whole document */
    ty_doc_t *d = load_str("中文分词");
    ty_seed_t *s = NULL;
    size_t n = 0;
    CHECK_EQ_INT(ty_sketch(d, 4, 10, &s, &n), TY_OK);
    CHECK_EQ_UINT(n, 1);
    uint32_t *t = tokens(d);
    if (n == 1) {
        CHECK_EQ_UINT(s[0].pos, 0);
        CHECK_EQ_HEX(s[0].hash, ty_kmer_hash(t, 4));
    }
    free(t);
    free(s);
    ty_doc_free(d);
}

static void test_sketch_bad_arguments(void)
{
    ty_doc_t *d = load_str("中文分词测试中文分词测试");
    static const int bad[][2] = {{1, 1}, {0, 1}, {17, 1}, {-3, 1}, {4, 0}, {4, -1}, {4, 257}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ty_seed_t *s = (ty_seed_t *)1;
        size_t n = 99;
        CHECKF(ty_sketch(d, bad[i][0], bad[i][1], &s, &n) == TY_EINVAL, "k=%d w=%d accepted",
               bad[i][0], bad[i][1]);
        CHECKF(s == NULL && n == 0, "k=%d w=%d: output not cleared", bad[i][0], bad[i][1]);
    }
    ty_doc_free(d);
}

/* The hash is a function of the k normalized tokens: the same words in Traditional and
 * Simplified, full- and half-width punctuation, give the same sketch; order matters. */
static void test_kmer_hash(void)
{
    uint32_t a[] = {0x4E2D, 0x6587, 0x5206, 0x8BCD}, b[] = {0x4E2D, 0x6587, 0x8BCD, 0x5206};
    CHECK(ty_kmer_hash(a, 4) == ty_kmer_hash(a, 4));
    CHECK(ty_kmer_hash(a, 4) != ty_kmer_hash(b, 4));
    CHECK(ty_kmer_hash(a, 3) != ty_kmer_hash(a, 4));
    CHECK(ty_kmer_hash(a, 2) == ty_kmer_hash(b, 2));
    uint32_t z[] = {0, 0, 0}, z1[] = {0, 0, 1};
    CHECK(ty_kmer_hash(z, 3) != ty_kmer_hash(z1, 3));
    CHECK(ty_kmer_hash(z, 2) != ty_kmer_hash(z, 3)); /* zeros still count */
    /* no collisions among the k-mers of a real document that differ */
    ty_doc_t *d = load_fixture("src-00596.txt");
    size_t n = ty_doc_ntokens(d), coll = 0;
    uint32_t *t = tokens(d);
    for (size_t i = 0; i + 4 <= n && i < 400; i++)
        for (size_t j = i + 1; j + 4 <= n && j < 400; j++)
            if (ty_kmer_hash(t + i, 4) == ty_kmer_hash(t + j, 4) &&
                memcmp(t + i, t + j, 4 * sizeof(uint32_t)) != 0)
                coll++;
    CHECK_EQ_UINT(coll, 0);
    free(t);
    ty_doc_free(d);

    ty_doc_t *x = load_fixture("src-00596.txt"), *y = load_fixture("src-00596.s2t.txt");
    ty_seed_t *sx, *sy;
    size_t nx, ny;
    CHECK_EQ_INT(ty_sketch(x, 5, 8, &sx, &nx), TY_OK);
    CHECK_EQ_INT(ty_sketch(y, 5, 8, &sy, &ny), TY_OK);
    CHECK_EQ_UINT(nx, ny);
    CHECK(nx > 100 && same_seeds(sx, nx, sy, ny));
    free(sx);
    free(sy);
    ty_doc_free(x);
    ty_doc_free(y);
    x = load_str("你好，世界。再见！朋友们");
    y = load_str("　　你好,世界.再见!朋友们\n");
    CHECK_EQ_INT(ty_sketch(x, 3, 1, &sx, &nx), TY_OK);
    CHECK_EQ_INT(ty_sketch(y, 3, 1, &sy, &ny), TY_OK);
    CHECK(nx == 7 && same_seeds(sx, nx, sy, ny));
    free(sx);
    free(sy);
    ty_doc_free(x);
    ty_doc_free(y);
}

/* Same input, same sketch: no hidden state between calls or documents. */
static void test_sketch_deterministic(void)
{
    ty_doc_t *d = load_fixture("src-00387.txt"), *e = load_fixture("src-00596.txt");
    ty_seed_t *s1, *s2, *s3;
    size_t n1, n2, n3;
    CHECK_EQ_INT(ty_sketch(d, 4, 10, &s1, &n1), TY_OK);
    CHECK_EQ_INT(ty_sketch(e, 4, 10, &s3, &n3), TY_OK);
    free(s3);
    CHECK_EQ_INT(ty_sketch(d, 4, 10, &s2, &n2), TY_OK);
    CHECK(n1 > 0 && same_seeds(s1, n1, s2, n2));
    free(s1);
    free(s2);
    ty_doc_free(d);
    ty_doc_free(e);
}

/* ty__kmer_hashes() rolls two halves of the array side by side: every length from none to a
 * few hundred k-mers (odd and even, halves of 0 and 1), every k, both finishes, against the
 * hash of each k-mer on its own (ty_kmer_hash: the mixed value; the raw polynomial times the
 * golden ratio for the unmixed one), tokens with the high bit (word ids) included. */
static void test_kmer_hashes_rolling(void)
{
    uint32_t t[300];
    uint64_t st = 7;
    for (size_t i = 0; i < 300; i++) {
        st = ty__mix64(st + i);
        t[i] = i % 7 == 3 ? (uint32_t)(st >> 32) | 0x80000000u : 0x4E00 + (uint32_t)(st % 900);
    }
    t[17] = 0xFFFFFFFFu; /* the largest word id: no wrap in the rolling step */
    uint64_t out[300];
    long bad = 0;
    for (int k = 2; k <= 8; k++)
        for (size_t n = 0; n <= 300 && bad < 5; n += n < 40 ? 1 : 37)
            for (int mixed = 0; mixed <= 1; mixed++) {
                size_t m = ty__kmer_hashes(t, n, k, out, mixed);
                if (!CHECKF(m == (n >= (size_t)k ? n - (size_t)k + 1 : 0), "k=%d n=%zu: %zu k-mers",
                            k, n, m))
                    bad++;
                for (size_t i = 0; i < m; i++) {
                    uint64_t raw = 0;
                    for (int j = 0; j < k; j++)
                        raw = raw * 0x100000001B3ULL + t[i + (size_t)j] + 1;
                    uint64_t want = mixed ? ty_kmer_hash(t + i, k) : raw * 0x9E3779B97F4A7C15ULL;
                    if (!CHECKF(out[i] == want, "k=%d n=%zu mixed=%d: k-mer %zu differs", k, n,
                                mixed, i)) {
                        bad++;
                        break;
                    }
                }
            }
}

int main(void)
{
    RUN(test_kmer_hashes_rolling);
    RUN(test_minimizers_real_text);
    RUN(test_minimizers_repetitive_text);
    RUN(test_sketch_short_documents);
    RUN(test_sketch_bad_arguments);
    RUN(test_kmer_hash);
    RUN(test_sketch_deterministic);
    return ck_summary("test_sketch");
}
