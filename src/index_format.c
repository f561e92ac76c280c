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

void ty__header_encode(const index_header_t *h, uint8_t out[TY_HEADER_SIZE])
{
    memset(out, 0, TY_HEADER_SIZE);
    memcpy(out, h->magic, 8);
    le32(out + 8, h->format);
    le32(out + 12, TY_HEADER_SIZE);
    le32(out + 16, h->k);
    le32(out + 20, h->w);
    le64(out + 24, h->norm_fingerprint);
    le32(out + 32, h->zstd_level);
    le32(out + 36, h->flags);
    le64(out + 40, h->created);
    memcpy(out + 48, h->writer, 16);
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
    h->k = rd32(p + 16);
    h->w = rd32(p + 20);
    h->norm_fingerprint = rd64(p + 24);
    h->zstd_level = rd32(p + 32);
    h->flags = rd32(p + 36);
    h->created = rd64(p + 40);
    memcpy(h->writer, p + 48, 16);
    h->writer[15] = 0;
    if (h->k < 2 || h->k > 16 || h->w < 1 || h->w > 256 || h->zstd_level < 1 ||
        h->zstd_level > 22 || h->flags != 0)
        return ty__err(err, TY_ECORRUPT, "damaged header (k=%u w=%u level=%u flags=%u)", h->k, h->w,
                       h->zstd_level, h->flags);
    return TY_OK;
}

void ty__counts_encode(const index_counts_t *c, uint8_t out[TY_COUNTS_SIZE])
{
    le64(out, c->docs);
    le64(out + 8, c->codepoints);
    le64(out + 16, c->bytes);
    le64(out + 24, c->stored_bytes);
    le64(out + 32, c->postings);
    le64(out + 40, c->keys);
    le32(out + 48, c->next_seg);
    le32(out + 52, c->next_file);
}

int ty__counts_decode(const void *buf, size_t len, index_counts_t *c)
{
    const uint8_t *p = buf;
    if (len != TY_COUNTS_SIZE)
        return TY_ECORRUPT;
    c->docs = rd64(p);
    c->codepoints = rd64(p + 8);
    c->bytes = rd64(p + 16);
    c->stored_bytes = rd64(p + 24);
    c->postings = rd64(p + 32);
    c->keys = rd64(p + 40);
    c->next_seg = rd32(p + 48);
    c->next_file = rd32(p + 52);
    if (c->docs > UINT32_MAX)
        return TY_ECORRUPT;
    return TY_OK;
}

void ty__segrec_encode(const seg_rec_t *s, uint8_t out[TY_SEGREC_SIZE])
{
    le64(out, s->postings);
    le64(out + 8, s->keys);
    le32(out + 16, s->min_doc);
    le32(out + 20, s->max_doc);
    le32(out + 24, s->bits);
    le32(out + 28, 0);
    for (int i = 0; i < TY_HIST_BUCKETS; i++)
        le64(out + 32 + 8 * i, s->hist[i]);
}

int ty__segrec_decode(const void *buf, size_t len, seg_rec_t *s)
{
    const uint8_t *p = buf;
    if (len != TY_SEGREC_SIZE)
        return TY_ECORRUPT;
    s->postings = rd64(p);
    s->keys = rd64(p + 8);
    s->min_doc = rd32(p + 16);
    s->max_doc = rd32(p + 20);
    s->bits = rd32(p + 24);
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
