/*
 * index_format.c — the codecs of the corpus index's records (the layout is index.h): the
 * header, the counters, segment records, document records, posting buckets and id lists,
 * the document-count histogram, the name keys and the fingerprint of the normalization.
 *
 * Every decoder checks each length and returns TY_ECORRUPT rather than trusting it
 * (fuzz/fuzz_index.c runs them on arbitrary bytes). Nothing here touches LMDB.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "index.h"

/* ---- small codecs ------------------------------------------------------------------------ */

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* The fixed-width fields of a record, each as X(field, byte offset, bits), listed once so that
 * the encoder and the decoder cannot disagree on the layout (index.h describes it). */
#define PUT_FIELD(f, off, bits) le##bits(out + (off), r->f);
#define GET_FIELD(f, off, bits) r->f = rd##bits(p + (off));

/* clang-format off */
#define HEADER_FIELDS(X)          \
    X(k, 16, 32)                  \
    X(w, 20, 32)                  \
    X(norm_fingerprint, 24, 64)   \
    X(zstd_level, 32, 32)         \
    X(flags, 36, 32)              \
    X(created, 40, 64)
#define COUNTS_FIELDS(X)          \
    X(docs, 0, 64)                \
    X(codepoints, 8, 64)          \
    X(bytes, 16, 64)              \
    X(stored_bytes, 24, 64)       \
    X(postings, 32, 64)           \
    X(keys, 40, 64)               \
    X(next_seg, 48, 32)           \
    X(next_file, 52, 32)
#define SEGREC_FIELDS(X)          \
    X(postings, 0, 64)            \
    X(keys, 8, 64)                \
    X(min_doc, 16, 32)            \
    X(max_doc, 20, 32)            \
    X(bits, 24, 32)
/* clang-format on */

void ty__header_encode(const index_header_t *r, uint8_t out[TY_HEADER_SIZE])
{
    memset(out, 0, TY_HEADER_SIZE);
    memcpy(out, r->magic, 8);
    le32(out + 8, r->format);
    le32(out + 12, TY_HEADER_SIZE);
    HEADER_FIELDS(PUT_FIELD)
    memcpy(out + 48, r->writer, 16);
}

int ty__header_decode(const void *buf, size_t len, index_header_t *h, char *err)
{
    const uint8_t *p = buf;
    memset(h, 0, sizeof(*h));
    if (len < 16 || memcmp(p, TY_INDEX_MAGIC, 8) != 0)
        return ty__err(err, TY_ECORRUPT, "no tongyuan index header (bad magic)");
    memcpy(h->magic, p, 8);
    h->format = rd32(p + 8);
    h->header_size = rd32(p + 12);
    if (h->format > TY_INDEX_FORMAT)
        return ty__err(err, TY_EVERSION,
                       "index format %u is newer than this tongyuan reads (%u): upgrade tongyuan",
                       h->format, TY_INDEX_FORMAT);
    if (h->format < TY_INDEX_FORMAT)
        return ty__err(err, TY_EVERSION,
                       "index format %u is older than this tongyuan's (%u): "
                       "rebuild the index",
                       h->format, TY_INDEX_FORMAT);
    if (h->header_size != TY_HEADER_SIZE || len != TY_HEADER_SIZE)
        return ty__err(err, TY_ECORRUPT, "damaged header (%zu bytes, says %u, expected %d)", len,
                       h->header_size, TY_HEADER_SIZE);
    index_header_t *r = h;
    HEADER_FIELDS(GET_FIELD)
    memcpy(h->writer, p + 48, 16);
    h->writer[15] = 0;
    if (h->k < 2 || h->k > 16 || h->w < 1 || h->w > 256 || h->zstd_level < 1 ||
        h->zstd_level > 22 || h->flags != 0)
        return ty__err(err, TY_ECORRUPT, "damaged header (k=%u w=%u level=%u flags=%u)", h->k, h->w,
                       h->zstd_level, h->flags);
    return TY_OK;
}

void ty__counts_encode(const index_counts_t *r, uint8_t out[TY_COUNTS_SIZE])
{
    COUNTS_FIELDS(PUT_FIELD)
}

int ty__counts_decode(const void *buf, size_t len, index_counts_t *r)
{
    const uint8_t *p = buf;
    if (len != TY_COUNTS_SIZE)
        return TY_ECORRUPT;
    COUNTS_FIELDS(GET_FIELD)
    if (r->docs > UINT32_MAX)
        return TY_ECORRUPT;
    return TY_OK;
}

void ty__segrec_encode(const seg_rec_t *r, uint8_t out[TY_SEGREC_SIZE])
{
    SEGREC_FIELDS(PUT_FIELD)
    le32(out + 28, 0);
    for (int i = 0; i < TY_HIST_BUCKETS; i++)
        le64(out + 32 + 8 * i, r->hist[i]);
}

int ty__segrec_decode(const void *buf, size_t len, seg_rec_t *s)
{
    const uint8_t *p = buf;
    if (len != TY_SEGREC_SIZE)
        return TY_ECORRUPT;
    seg_rec_t *r = s;
    SEGREC_FIELDS(GET_FIELD)
    if (s->bits > 32 || rd32(p + 28) != 0)
        return TY_ECORRUPT;
    uint64_t sum = 0;
    for (int i = 0; i < TY_HIST_BUCKETS; i++) {
        s->hist[i] = rd64(p + 32 + 8 * i);
        if (s->hist[i] > s->keys)
            return TY_ECORRUPT;
        sum += s->hist[i];
    }
    if (sum != s->keys || s->keys > s->postings || s->min_doc > s->max_doc)
        return TY_ECORRUPT;
    return TY_OK;
}

size_t ty__docrec_encode(const doc_rec_t *d, uint8_t *out)
{
    size_t n = 0;
    n += ty__put_varint(out + n, d->file);
    n += ty__put_varint(out + n, d->line);
    n += ty__put_varint(out + n, d->bytes);
    n += ty__put_varint(out + n, d->codepoints);
    n += ty__put_varint(out + n, d->tokens);
    n += ty__put_varint(out + n, d->name_len);
    memcpy(out + n, d->name, d->name_len);
    return n + d->name_len;
}

int ty__docrec_decode(const void *buf, size_t len, doc_rec_t *d)
{
    const uint8_t *p = buf, *end = p + len;
    uint64_t nl;
    if (ty__get_varint(&p, end, &d->file) || ty__get_varint(&p, end, &d->line) ||
        ty__get_varint(&p, end, &d->bytes) || ty__get_varint(&p, end, &d->codepoints) ||
        ty__get_varint(&p, end, &d->tokens) || ty__get_varint(&p, end, &nl))
        return TY_ECORRUPT;
    if (nl != (uint64_t)(end - p) || d->codepoints > d->bytes || d->tokens > d->codepoints ||
        d->bytes > UINT32_MAX)
        return TY_ECORRUPT;
    d->name = (const char *)p;
    d->name_len = (size_t)nl;
    return TY_OK;
}

int ty__hist_bucket(uint64_t c)
{
    if (c < 16)
        return (int)c;
    int l = 63 - __builtin_clzll(c);
    int b = 16 + (l - 4) * 4 + (int)((c >> (l - 2)) & 3);
    return b < TY_HIST_BUCKETS ? b : TY_HIST_BUCKETS - 1;
}

uint64_t ty__hist_low(int b)
{
    if (b < 16)
        return (uint64_t)b;
    int l = 4 + (b - 16) / 4, sub = (b - 16) % 4;
    return (uint64_t)(4 + sub) << (l - 2);
}

/* ---- normalization fingerprint ------------------------------------------------------------ */

static uint64_t g_fp;
static pthread_once_t g_fp_once = PTHREAD_ONCE_INIT;

/* Hash of everything that decides which postings a text gets: the normalized value of every
 * BMP code point, the tokens of a probe text in many scripts (token boundaries and word
 * hashes) and the k-mer hash. An index built by a tongyuan with another table differs here. */
static void fp_init(void)
{
    XXH64_state_t *st = XXH64_createState();
    if (!st)
        return;
    XXH64_reset(st, 0x7479);
    for (uint32_t c = 0; c < 0x10000; c++) {
        uint32_t v = ty_normalize_cp(c);
        XXH64_update(st, &v, sizeof v);
    }
    static const char probe[] = "Hello, World! 123 abc-DEF x2 ÀÉÎõü ß ﬁ Ⅻ ① 漢字簡體繁體 臺灣 着著 "
                                "ひらがな カタカナ ｶﾀｶﾅ 한국어 ไทย русский ελληνικά עברית العربية "
                                "ＡＢＣ１２３ 　全角，標點。「引號」 😀 𠀀𠮷 \t\r\n";
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    if (d && ty_doc_load_mem(d, "probe", probe, sizeof probe - 1, &o) == TY_OK) {
        size_t n = ty_doc_ntokens(d);
        XXH64_update(st, &n, sizeof n);
        for (size_t i = 0; i < n; i++) {
            ty_token_t t;
            ty_doc_token(d, i, &t);
            XXH64_update(st, &t, sizeof t);
        }
    }
    ty_doc_free(d);
    uint32_t toks[16];
    for (int i = 0; i < 16; i++)
        toks[i] = 0x4e00u + (uint32_t)i * 7u;
    for (int k = 2; k <= 16; k++) {
        uint64_t h = ty_kmer_hash(toks, k);
        XXH64_update(st, &h, sizeof h);
    }
    g_fp = XXH64_digest(st);
    XXH64_freeState(st);
}

uint64_t ty__norm_fingerprint(void)
{
    pthread_once(&g_fp_once, fp_init);
    return g_fp;
}

/* ---- codecs of postings ------------------------------------------------------------------- */

int ty__post_begin(post_iter_t *it, const void *buf, size_t len, uint64_t n)
{
    it->p = buf;
    it->end = it->p + len;
    it->first = 1;
    it->last = 0;
    it->n = it->left = n;
    if (n == 0 || n > len) /* every id takes at least one byte */
        return TY_ECORRUPT;
    return TY_OK;
}

int ty__post_next(post_iter_t *it, uint32_t *id)
{
    if (!it->left)
        return it->p == it->end ? 0 : TY_ECORRUPT;
    uint64_t v;
    if (ty__get_varint(&it->p, it->end, &v))
        return TY_ECORRUPT;
    if (!it->first && v == 0)
        return TY_ECORRUPT;
    uint64_t x = it->first ? v : it->last + v;
    if (x > UINT32_MAX || x < it->last)
        return TY_ECORRUPT;
    it->first = 0;
    it->last = x;
    it->left--;
    *id = (uint32_t)x;
    return 1;
}

int ty__bucket_begin(bucket_iter_t *it, const void *buf, size_t len, uint32_t bucket, uint32_t bits)
{
    const uint8_t *p = buf, *end = p + len;
    uint64_t n, dl;
    memset(it, 0, sizeof(*it));
    if (bits > 32 || (bits < 32 && (uint64_t)bucket >> bits) || ty__get_varint(&p, end, &n) ||
        ty__get_varint(&p, end, &dl) || n == 0 || dl > (uint64_t)(end - p) || n > dl)
        return TY_ECORRUPT;
    it->dir = p;
    it->dir_end = p + dl;
    it->blob = it->dir_end;
    it->end = end;
    it->n = it->left = n;
    it->base = (uint64_t)bucket << (TY_KEY_BITS - bits);
    it->smax = (uint64_t)1 << (TY_KEY_BITS - bits);
    it->first = 1;
    return TY_OK;
}

int ty__bucket_next(bucket_iter_t *it, uint64_t *key, uint64_t *count, const uint8_t **ids,
                    size_t *ids_len)
{
    if (!it->left)
        return it->dir == it->dir_end && it->blob == it->end ? 0 : TY_ECORRUPT;
    uint64_t d, c, nb;
    if (ty__get_varint(&it->dir, it->dir_end, &d) || ty__get_varint(&it->dir, it->dir_end, &c) ||
        ty__get_varint(&it->dir, it->dir_end, &nb))
        return TY_ECORRUPT;
    if ((!it->first && d == 0) || d >= it->smax || c == 0 || c > nb ||
        nb > (uint64_t)(it->end - it->blob))
        return TY_ECORRUPT;
    uint64_t s = it->first ? d : it->suffix + d;
    if (s >= it->smax)
        return TY_ECORRUPT;
    it->first = 0;
    it->suffix = s;
    it->left--;
    *key = it->base | s;
    *count = c;
    *ids = it->blob;
    *ids_len = (size_t)nb;
    it->blob += nb;
    return 1;
}

void ty__name_key(const char *name, size_t len, uint8_t out[16])
{
    XXH128_hash_t h = XXH3_128bits(name, len);
    ty__be64(out, h.high64);
    ty__be64(out + 8, h.low64);
}
