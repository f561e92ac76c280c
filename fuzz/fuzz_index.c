/*
 * fuzz_index.c — arbitrary bytes → the corpus index's decoders and its file checks.
 *
 * Every record the index reads from its file is decoded by a function that must refuse,
 * never trust, a bad length (src/index.c). Input byte 0 picks what the rest is:
 *   0  the header record        ty__header_decode: TY_OK, TY_ECORRUPT or TY_EVERSION with a
 *                               message; accepted ones re-encode to the same bytes
 *   1  the counts record        accepted ones re-encode to the same bytes
 *   2  a segment record         accepted ones re-encode to the same bytes; histogram sums
 *   3  a document record        the name lies inside the record; re-encodes to the same bytes
 *   4  a bucket of postings     byte 1: bucket bits (0..32), bytes 2-5: the bucket; keys
 *                               strictly increasing and in the bucket, document counts as
 *                               declared, ids strictly increasing, every byte used
 *   5  an INDEX file            written to a temporary file and opened: an error with the
 *                               file's name, never a crash. Inputs that carry the LMDB
 *                               signature are left out: past it LMDB reads its B-tree
 *                               pages as they are (see index.c on what is checked).
 * This target includes the private src/index.h (by path: the replay driver compiles with
 * -Iinclude only).
 */
#include <unistd.h>

#include "../src/index.h"
#include "fuzz.h"

static void header(const uint8_t *p, size_t n)
{
    index_header_t h;
    char err[TY_ERRMSG_SIZE];
    err[0] = 0;
    int rc = ty__header_decode(p, n, &h, err);
    FZ_CHECK(rc == TY_OK || rc == TY_ECORRUPT || rc == TY_EVERSION);
    if (rc) {
        FZ_CHECK(err[0] != 0);
        return;
    }
    FZ_CHECK(n == TY_HEADER_SIZE && h.k >= 2 && h.k <= 16 && h.w >= 1 && h.w <= 256);
    uint8_t b[TY_HEADER_SIZE];
    ty__header_encode(&h, b);
    index_header_t h2;
    FZ_CHECK(ty__header_decode(b, sizeof b, &h2, err) == TY_OK);
    FZ_CHECK(h2.k == h.k && h2.w == h.w && h2.norm_fingerprint == h.norm_fingerprint);
}

static void counts(const uint8_t *p, size_t n)
{
    index_counts_t c;
    if (ty__counts_decode(p, n, &c) != TY_OK)
        return;
    uint8_t b[TY_COUNTS_SIZE];
    ty__counts_encode(&c, b);
    FZ_CHECK(n == TY_COUNTS_SIZE && memcmp(b, p, n) == 0);
}

static void segrec(const uint8_t *p, size_t n)
{
    seg_rec_t s;
    if (ty__segrec_decode(p, n, &s) != TY_OK)
        return;
    uint64_t sum = 0;
    for (int i = 0; i < TY_HIST_BUCKETS; i++)
        sum += s.hist[i];
    FZ_CHECK(sum == s.keys && s.keys <= s.postings && s.bits <= 32);
    uint8_t b[TY_SEGREC_SIZE];
    ty__segrec_encode(&s, b);
    FZ_CHECK(n == TY_SEGREC_SIZE && memcmp(b, p, n) == 0);
}

static void docrec(const uint8_t *p, size_t n)
{
    doc_rec_t d;
    if (ty__docrec_decode(p, n, &d) != TY_OK)
        return;
    FZ_CHECK((const uint8_t *)d.name >= p && (const uint8_t *)d.name + d.name_len == p + n);
    uint8_t *b = fz_alloc(64 + d.name_len);
    size_t l = ty__docrec_encode(&d, b);
    /* varints may have been written longer than needed: equal when canonical */
    doc_rec_t d2;
    FZ_CHECK(ty__docrec_decode(b, l, &d2) == TY_OK);
    FZ_CHECK(d2.file == d.file && d2.line == d.line && d2.bytes == d.bytes &&
             d2.codepoints == d.codepoints && d2.tokens == d.tokens && d2.name_len == d.name_len &&
             memcmp(d2.name, d.name, d.name_len) == 0);
    free(b);
}

static void bucket(const uint8_t *p, size_t n)
{
    if (n < 5)
        return;
    uint32_t bits = p[0] % 33;
    uint32_t bk = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (bits < 32)
        bk &= (uint32_t)(((uint64_t)1 << bits) - 1);
    p += 5;
    n -= 5;
    bucket_iter_t bi;
    if (ty__bucket_begin(&bi, p, n, bk, bits) != TY_OK)
        return;
    uint64_t key, cnt, last = 0, seen = 0;
    const uint8_t *ip;
    size_t il;
    int r;
    while ((r = ty__bucket_next(&bi, &key, &cnt, &ip, &il)) == 1) {
        FZ_CHECK(seen == 0 || key > last);
        FZ_CHECK(key >> (TY_KEY_BITS - bits) == bk);
        FZ_CHECK(ip >= p && ip + il <= p + n);
        last = key;
        seen++;
        post_iter_t it;
        if (ty__post_begin(&it, ip, il, cnt) != TY_OK)
            continue;
        uint32_t id, prev = 0;
        uint64_t got = 0;
        int q;
        while ((q = ty__post_next(&it, &id)) == 1) {
            FZ_CHECK(got == 0 || id > prev);
            prev = id;
            got++;
        }
        FZ_CHECK(q < 0 || got == cnt);
    }
    FZ_CHECK(r < 0 || seen == bi.n);
}

static void file(const uint8_t *p, size_t n)
{
    if (n >= 24 && p[16] == 0xDE && p[17] == 0xC0 && p[18] == 0xEF && p[19] == 0xBE)
        return; /* an LMDB signature: left to LMDB */
    char path[64], lock[80];
    snprintf(path, sizeof path, "/tmp/fuzz_index.%ld.idx", (long)getpid());
    snprintf(lock, sizeof lock, "%s-lock", path);
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
    for (int mode = TY_INDEX_READ; mode <= TY_INDEX_WRITE; mode++) {
        ty_index_t *ix = ty_index_new();
        FZ_CHECK(ix != NULL);
        int rc = ty_index_open(ix, path, mode, NULL);
        FZ_CHECK(rc == TY_ECORRUPT || rc == TY_EVERSION);
        FZ_CHECK(strstr(ty_index_errmsg(ix), path) != NULL);
        ty_index_free(ix);
    }
    /* and the file was not changed by the attempt to open it for writing */
    f = fopen(path, "rb");
    FZ_CHECK(f != NULL);
    uint8_t *b = fz_alloc(n + 1);
    FZ_CHECK(fread(b, 1, n + 1, f) == n);
    fclose(f);
    FZ_CHECK(n == 0 || memcmp(b, p, n) == 0);
    free(b);
    unlink(path);
    unlink(lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0: header(p, n); break;
    case 1: counts(p, n); break;
    case 2: segrec(p, n); break;
    case 3: docrec(p, n); break;
    case 4: bucket(p, n); break;
    default: file(p, n); break;
    }
    return 0;
}
