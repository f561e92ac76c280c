/*
 * index.c — the corpus index on disk: header and record formats, opening and creating,
 * posting segments (written sorted and appended), temporary sorted runs for `index build`,
 * size-tiered merging, statistics and a full consistency check. The layout is described in
 * index.h; ingest (threads) is in index_add.c, queries in search.c.
 *
 * Every record read from the file is decoded by a function that checks each length and
 * returns TY_ECORRUPT rather than trusting it (fuzz/fuzz_index.c runs them on arbitrary
 * bytes). Shortcut taken on purpose: the B-tree pages themselves are LMDB's; LMDB checks
 * its meta pages but does not defend against a maliciously crafted tree, so an index file
 * is trusted local data — we check what can go wrong by accident (a truncated copy, a
 * foreign file, another version) before LMDB maps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "index.h"

#define MAP_SIZE ((size_t)1 << 40) /* address space reserved; the file grows as needed */
#define MAX_READERS 1024
#define TIER_FANOUT 4                   /* merge when a size tier holds this many segments */
#define TIER_BASE 65536                 /* postings: segments below this are all tier 0 */
#define BUILD_COMMIT ((size_t)32 << 20) /* build: commit the postings every 32 MB */

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

/* ---- handle, errors ---------------------------------------------------------------------- */

void ty_index_opts_init(ty_index_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->k = 4;
    o->w = 8;
    o->zstd_level = 3;
}

void ty_index_add_opts_init(ty_index_add_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->threads = 1;
    o->commit_docs = 10000;
    o->run_pairs = (size_t)4 << 20;
}

ty_index_t *ty_index_new(void) { return calloc(1, sizeof(ty_index_t)); }

const char *ty_index_errmsg(const ty_index_t *ix) { return ix ? ix->err : "no index"; }

static int mdb_err_to(char *err, const char *path, int rc, const char *what)
{
    int code = TY_EIO;
    if (rc == ENOMEM)
        code = TY_ENOMEM;
    else if (rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_PAGE_NOTFOUND ||
             rc == MDB_BAD_VALSIZE || rc == MDB_INCOMPATIBLE)
        code = TY_ECORRUPT;
    else if (rc == MDB_VERSION_MISMATCH)
        code = TY_EVERSION;
    return ty__err(err, code, "%s: %s: %s", path ? path : "index", what, mdb_strerror(rc));
}

int ty__mdb_err(ty_index_t *ix, int rc, const char *what)
{
    return mdb_err_to(ix->err, ix->path, rc, what);
}

struct runs {
    TY_VEC(FILE *) f;
    TY_VEC(uint32_t) min_doc;
    TY_VEC(uint64_t) keys;
};

static void runs_free(struct runs *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->f.n; i++)
        fclose(r->f.a[i]);
    free(r->f.a);
    free(r->min_doc.a);
    free(r->keys.a);
    free(r);
}

static void lock_path(const char *p, char *out, size_t n) { snprintf(out, n, "%s-lock", p); }

static void close_env(ty_index_t *ix)
{
    if (ix->env)
        mdb_env_close(ix->env);
    ix->env = NULL;
}

void ty_index_free(ty_index_t *ix)
{
    if (!ix)
        return;
    close_env(ix);
    ty__shards_free(ix->shards);
    if (ix->tmp_path && !ix->finished) {
        char lp[4200];
        unlink(ix->tmp_path);
        lock_path(ix->tmp_path, lp, sizeof lp);
        unlink(lp);
    }
    runs_free(ix->runs);
    ty__build_names_free(ix->bnames);
    ZSTD_freeCDict(ix->cdict);
    ZSTD_freeDDict(ix->ddict);
    free(ix->pend.a);
    free(ix->path);
    free(ix->tmp_path);
    free(ix);
}

/* ---- open / create ----------------------------------------------------------------------- */

static int env_create(ty_index_t *ix, const char *file, unsigned flags)
{
    int rc = mdb_env_create(&ix->env);
    if (rc)
        return ty__mdb_err(ix, rc, "cannot create environment");
    if ((rc = mdb_env_set_maxdbs(ix->env, 16)) ||
        (rc = mdb_env_set_maxreaders(ix->env, MAX_READERS)))
        return ty__mdb_err(ix, rc, "cannot configure environment");
    /* The map is address space, not memory: ask for 1 TiB and settle for less where the
     * address space is limited (ulimit -v, sanitizers), down to what the file needs. */
    struct stat st;
    size_t need = stat(file, &st) == 0 ? (size_t)st.st_size : 0;
    for (size_t map = MAP_SIZE;; map /= 4) {
        if (map < need)
            map = need;
        if ((rc = mdb_env_set_mapsize(ix->env, map)))
            return ty__mdb_err(ix, rc, "cannot configure environment");
        rc = mdb_env_open(ix->env, file, flags | MDB_NOSUBDIR | MDB_NOTLS, 0644);
        if (rc != ENOMEM || map <= need || map <= ((size_t)64 << 20))
            break;
        /* LMDB leaves the environment closed but reusable after a failed map */
        mdb_env_close(ix->env);
        if ((rc = mdb_env_create(&ix->env)) || (rc = mdb_env_set_maxdbs(ix->env, 16)) ||
            (rc = mdb_env_set_maxreaders(ix->env, MAX_READERS)))
            return ty__mdb_err(ix, rc, "cannot configure environment");
    }
    if (rc) {
        close_env(ix);
        if (rc == MDB_INVALID)
            return ty__err(ix->err, TY_ECORRUPT, "%s: not a tongyuan index (not an LMDB file)",
                           ix->path);
        if (rc == MDB_VERSION_MISMATCH)
            return ty__err(ix->err, TY_EVERSION,
                           "%s: written by another LMDB version than this tongyuan uses", ix->path);
        return ty__err(ix->err, rc == ENOMEM ? TY_ENOMEM : TY_EIO, "%s: %s", ix->path,
                       mdb_strerror(rc));
    }
    return TY_OK;
}

static const struct {
    const char *name;
    size_t off;
} DBS[] = {
    {"meta", offsetof(ty_index_t, meta)},   {"docs", offsetof(ty_index_t, docs)},
    {"text", offsetof(ty_index_t, text)},   {"names", offsetof(ty_index_t, names)},
    {"files", offsetof(ty_index_t, files)}, {"segs", offsetof(ty_index_t, segs)},
    {"post", offsetof(ty_index_t, post)},
};

static int open_dbs(ty_index_t *ix, MDB_txn *txn, unsigned flags)
{
    for (size_t i = 0; i < sizeof(DBS) / sizeof(DBS[0]); i++) {
        MDB_dbi *d = (MDB_dbi *)((char *)ix + DBS[i].off);
        int rc = mdb_dbi_open(txn, DBS[i].name, flags, d);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return ty__err(ix->err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no table '%s')", ix->path,
                           DBS[i].name);
        if (rc)
            return ty__mdb_err(ix, rc, DBS[i].name);
    }
    return TY_OK;
}

static int set_path(char **dst, const char *src)
{
    free(*dst);
    *dst = strdup(src);
    return *dst ? TY_OK : TY_ENOMEM;
}

int ty__counts_get(ty_index_t *ix, MDB_txn *txn, index_counts_t *c, char *err)
{
    MDB_val k = {5, "stats"}, v;
    int rc = mdb_get(txn, ix->meta, &k, &v);
    if (rc)
        return rc == MDB_NOTFOUND
                   ? ty__err(err, TY_ECORRUPT, "%s: damaged index (no stats record)", ix->path)
                   : mdb_err_to(err, ix->path, rc, "reading stats");
    if (ty__counts_decode(v.mv_data, v.mv_size, c))
        return ty__err(err, TY_ECORRUPT, "%s: damaged index (stats record of %zu bytes)", ix->path,
                       v.mv_size);
    return TY_OK;
}

int ty__counts_put(ty_index_t *ix, MDB_txn *txn, const index_counts_t *c)
{
    uint8_t b[TY_COUNTS_SIZE];
    ty__counts_encode(c, b);
    MDB_val k = {5, "stats"}, v = {sizeof b, b};
    int rc = mdb_put(txn, ix->meta, &k, &v, 0);
    return rc ? ty__mdb_err(ix, rc, "writing stats") : TY_OK;
}

static int make_dicts(ty_index_t *ix, const void *dict, size_t len, int for_writing)
{
    ZSTD_freeCDict(ix->cdict);
    ZSTD_freeDDict(ix->ddict);
    ix->cdict = NULL;
    ix->ddict = ZSTD_createDDict(dict, len);
    if (for_writing)
        ix->cdict = ZSTD_createCDict(dict, len, (int)ix->hdr.zstd_level);
    if (!ix->ddict || (for_writing && !ix->cdict))
        return ty__err(ix->err, TY_ECORRUPT, "%s: damaged text dictionary (%zu bytes)", ix->path,
                       len);
    return TY_OK;
}

int ty__index_set_dict(ty_index_t *ix, MDB_txn *txn, const void *dict, size_t len)
{
    MDB_val k = {5, "zdict"}, v = {len, (void *)dict};
    int rc = mdb_put(txn, ix->meta, &k, &v, MDB_NOOVERWRITE);
    if (rc)
        return ty__mdb_err(ix, rc, "writing the text dictionary");
    return make_dicts(ix, dict, len, 1);
}

static int create_new(ty_index_t *ix, const ty_index_opts_t *io)
{
    char tmp[4096], lp[4200];
    struct stat st;
    if (stat(ix->path, &st) == 0 && S_ISDIR(st.st_mode))
        return ty__err(ix->err, TY_EIO, "%s: is a directory", ix->path);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ix->path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ty__err(ix->err, TY_EINVAL, "%s: path too long", ix->path);
    if (set_path(&ix->tmp_path, tmp))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    unlink(tmp);
    lock_path(tmp, lp, sizeof lp);
    unlink(lp);
    /* fail early, with the user's path in the message, if the directory is not writable */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return ty__err(ix->err, TY_EIO, "%s: cannot create %s: %s", ix->path, tmp, strerror(errno));
    close(fd);
    /* build: no fsync per commit; ty_index_finish() syncs once before the rename */
    int rc = env_create(ix, tmp, MDB_NOSYNC);
    if (rc)
        return rc;
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(ix->env, NULL, 0, &txn)))
        return ty__mdb_err(ix, rc, "begin");
    rc = open_dbs(ix, txn, MDB_CREATE);
    index_header_t *h = &ix->hdr;
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, TY_INDEX_MAGIC, 8);
    h->format = TY_INDEX_FORMAT;
    h->header_size = TY_HEADER_SIZE;
    h->k = (uint32_t)io->k;
    h->w = (uint32_t)io->w;
    h->norm_fingerprint = ty__norm_fingerprint();
    h->zstd_level = (uint32_t)io->zstd_level;
    h->created = (uint64_t)time(NULL);
    snprintf(h->writer, sizeof h->writer, "%s", ty_version());
    uint8_t hb[TY_HEADER_SIZE];
    ty__header_encode(h, hb);
    MDB_val k = {6, "header"}, v = {sizeof hb, hb};
    if (!rc && (rc = mdb_put(txn, ix->meta, &k, &v, 0)))
        rc = ty__mdb_err(ix, rc, "writing header");
    index_counts_t c;
    memset(&c, 0, sizeof c);
    if (!rc)
        rc = ty__counts_put(ix, txn, &c);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return ty__mdb_err(ix, rc, "commit");
    ix->runs = calloc(1, sizeof(struct runs));
    if (!ix->runs)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    return TY_OK;
}

/* Before LMDB maps a file: is it there, a regular file, and does it start like an LMDB
 * environment? (A file LMDB does not recognise is otherwise initialised as a new, empty
 * environment when opened for writing — it would overwrite a foreign file.) */
static int precheck(ty_index_t *ix, struct stat *st)
{
    const char *p = ix->path;
    if (stat(p, st) != 0)
        return ty__err(ix->err, errno == ENOENT ? TY_ENOTFOUND : TY_EIO, "%s: %s", p,
                       strerror(errno));
    if (S_ISDIR(st->st_mode))
        return ty__err(ix->err, TY_ECORRUPT, "%s: is a directory, not a tongyuan index", p);
    if (!S_ISREG(st->st_mode))
        return ty__err(ix->err, TY_ECORRUPT, "%s: not a regular file", p);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ty__err(ix->err, TY_EIO, "%s: %s", p, strerror(errno));
    uint8_t b[32];
    ssize_t r = pread(fd, b, sizeof b, 0);
    close(fd);
    if (r < 0)
        return ty__err(ix->err, TY_EIO, "%s: %s", p, strerror(errno));
    if (st->st_size == 0)
        return ty__err(ix->err, TY_ECORRUPT, "%s: empty file, not a tongyuan index", p);
    /* LMDB meta page: 16-byte page header, then magic 0xBEEFC0DE and data version 1 */
    if (r < 24 || rd32(b + 16) != 0xBEEFC0DEu)
        return ty__err(ix->err, TY_ECORRUPT,
                       "%s: not a tongyuan index (no LMDB signature at byte 16)", p);
    if (rd32(b + 20) != 1)
        return ty__err(ix->err, TY_EVERSION, "%s: LMDB data format %u, expected 1", p,
                       rd32(b + 20));
    if (st->st_size < 8192)
        return ty__err(ix->err, TY_ECORRUPT,
                       "%s: truncated (%lld bytes; an index has at least two 4096-byte pages)", p,
                       (long long)st->st_size);
    return TY_OK;
}

static int open_existing(ty_index_t *ix, int mode, const ty_index_opts_t *io)
{
    struct stat st;
    int rc = precheck(ix, &st);
    if (rc)
        return rc;
    if ((rc = env_create(ix, ix->path, mode == TY_INDEX_READ ? MDB_RDONLY : 0)))
        return rc;
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(ix->env, &info);
    mdb_env_stat(ix->env, &ms);
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if (stat(ix->path, &st) == 0 && (uint64_t)st.st_size < need) {
        close_env(ix);
        return ty__err(ix->err, TY_ECORRUPT,
                       "%s: truncated: %lld bytes, but its last committed page ends at byte %llu",
                       ix->path, (long long)st.st_size, (unsigned long long)need);
    }
    int dead;
    mdb_reader_check(ix->env, &dead);
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)))
        return ty__mdb_err(ix, rc, "begin");
    MDB_dbi meta;
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return ty__err(ix->err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no header)", ix->path);
        return ty__mdb_err(ix, rc, "meta");
    }
    MDB_val k = {6, "header"}, v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND)
            return ty__err(ix->err, TY_ECORRUPT,
                           "%s: an LMDB file but not a tongyuan index (no header)", ix->path);
        return ty__mdb_err(ix, rc, "header");
    }
    char msg[TY_ERRMSG_SIZE];
    rc = ty__header_decode(v.mv_data, v.mv_size, &ix->hdr, msg);
    if (rc) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, rc, "%s: %s", ix->path, msg);
    }
    const index_header_t *h = &ix->hdr;
    if (h->norm_fingerprint != ty__norm_fingerprint()) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_EVERSION,
                       "%s: built with another normalization table (fingerprint %016llx, this "
                       "tongyuan %016llx): rebuild the index",
                       ix->path, (unsigned long long)h->norm_fingerprint,
                       (unsigned long long)ty__norm_fingerprint());
    }
    if (io && ((uint32_t)io->k != h->k || (uint32_t)io->w != h->w)) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_EVERSION,
                       "%s: built with k=%u w=%u, not the k=%d w=%d asked for", ix->path, h->k,
                       h->w, io->k, io->w);
    }
    rc = open_dbs(ix, txn, 0);
    index_counts_t c;
    if (!rc)
        rc = ty__counts_get(ix, txn, &c, ix->err);
    MDB_val dk = {5, "zdict"}, dv;
    int e = rc ? MDB_NOTFOUND : mdb_get(txn, ix->meta, &dk, &dv);
    if (!rc && e == 0)
        rc = make_dicts(ix, dv.mv_data, dv.mv_size, mode == TY_INDEX_WRITE);
    else if (!rc && e != MDB_NOTFOUND)
        rc = ty__mdb_err(ix, e, "reading the text dictionary");
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn))) /* keeps the table handles for the environment */
        return ty__mdb_err(ix, rc, "commit");
    return TY_OK;
}

int ty_index_open(ty_index_t *ix, const char *path, int mode, const ty_index_opts_t *io)
{
    if (!ix || !path || ix->env || ix->shards)
        return TY_EINVAL;
    ix->err[0] = 0;
    if (set_path(&ix->path, path))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    ix->mode = mode;
    if (mode == TY_INDEX_CREATE) {
        ty_index_opts_t d;
        if (!io) {
            ty_index_opts_init(&d);
            io = &d;
        }
        if (io->k < 2 || io->k > 16 || io->w < 1 || io->w > 256 || io->zstd_level < 1 ||
            io->zstd_level > 19)
            return ty__err(ix->err, TY_EINVAL, "%s: bad index parameters (k=%d w=%d level=%d)",
                           path, io->k, io->w, io->zstd_level);
        int rc = create_new(ix, io);
        if (rc) {
            close_env(ix);
            if (ix->tmp_path)
                unlink(ix->tmp_path);
        }
        return rc;
    }
    if (mode != TY_INDEX_READ && mode != TY_INDEX_WRITE)
        return ty__err(ix->err, TY_EINVAL, "%s: bad open mode %d", path, mode);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ty__shards_open(ix, mode, io); /* a sharded index (index_shard.c) */
    int rc = open_existing(ix, mode, io);
    if (rc)
        close_env(ix);
    return rc;
}

/* ---- sorting pairs ----------------------------------------------------------------------- */

static void insertion_sort_pairs(pair_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        pair_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].hash > x.hash) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

void ty__sort_pairs(pair_t *a, pair_t *tmp, size_t n)
{
    if (n < 64) {
        insertion_sort_pairs(a, n);
        return;
    }
    /* LSD radix sort of the 40-bit keys, three 14-bit digits: stable, so equal keys keep
     * their (document) order */
    enum { BITS = 14, PASSES = 3 };
    size_t *cnt = malloc(((size_t)1 << BITS) * sizeof(size_t));
    if (!cnt) {
        insertion_sort_pairs(a, n); /* out of memory for 128 KB: slow but the same result */
        return;
    }
    pair_t *src = a, *dst = tmp;
    const uint64_t mask = ((uint64_t)1 << BITS) - 1;
    for (int pass = 0; pass < PASSES; pass++) {
        int shift = pass * BITS;
        memset(cnt, 0, ((size_t)1 << BITS) * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            cnt[(src[i].hash >> shift) & mask]++;
        size_t sum = 0;
        for (size_t d = 0; d < ((size_t)1 << BITS); d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i].hash >> shift) & mask]++] = src[i];
        pair_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(pair_t));
    free(cnt);
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

/* Bucket bits for a segment of about nkeys minimizers: about TY_BUCKET_KEYS a bucket. */
static uint32_t bits_for(uint64_t nkeys)
{
    uint32_t b = 0;
    while (b < 32 && (nkeys >> b) > TY_BUCKET_KEYS)
        b++;
    return b;
}

/* ---- segment writer ---------------------------------------------------------------------- */

typedef struct {
    ty_index_t *ix;
    MDB_txn **txnp; /* the caller's transaction (renewed when committing on the way) */
    MDB_cursor *cur;
    size_t commit_every; /* bytes: commit on the way (a build's temporary file only) */
    size_t pending;      /* bytes written since the last commit */
    uint32_t seg, bits;
    seg_rec_t rec;
    int have; /* a bucket is being filled */
    uint32_t bucket;
    uint64_t last_key, nkeys;
    TY_VEC(uint8_t) dir; /* the bucket's directory */
    TY_VEC(uint8_t) ids; /* and its id lists */
    TY_VEC(uint8_t) val; /* the assembled value */
} segw_t;

static int segw_begin(segw_t *w, ty_index_t *ix, MDB_txn **txnp, uint32_t seg, uint64_t est_keys,
                      size_t commit_every)
{
    memset(w, 0, sizeof(*w));
    w->ix = ix;
    w->txnp = txnp;
    w->commit_every = commit_every;
    w->seg = seg;
    w->bits = bits_for(est_keys);
    w->rec.bits = w->bits;
    w->rec.min_doc = UINT32_MAX;
    int rc = mdb_cursor_open(*txnp, ix->post, &w->cur);
    return rc ? ty__mdb_err(ix, rc, "cursor") : TY_OK;
}

static int segw_flush(segw_t *w)
{
    if (!w->have)
        return TY_OK;
    if (ty_vec_reserve(w->val, 20 + w->dir.n + w->ids.n))
        return ty__err(w->ix->err, TY_ENOMEM, "out of memory");
    size_t l = ty__put_varint(w->val.a, w->nkeys);
    l += ty__put_varint(w->val.a + l, w->dir.n);
    memcpy(w->val.a + l, w->dir.a, w->dir.n);
    l += w->dir.n;
    memcpy(w->val.a + l, w->ids.a, w->ids.n);
    l += w->ids.n;
    uint8_t kb[8];
    ty__be32(kb, w->seg);
    ty__be32(kb + 4, w->bucket);
    MDB_val k = {8, kb}, v = {l, w->val.a};
    int rc = mdb_cursor_put(w->cur, &k, &v, MDB_APPEND);
    if (rc)
        return ty__mdb_err(w->ix, rc, "writing postings");
    w->pending += l;
    if (w->commit_every && w->pending >= w->commit_every) {
        /* LMDB keeps a transaction's pages in memory until it commits: a build, whose file
         * is not in place yet, need not write its one big segment in one transaction */
        mdb_cursor_close(w->cur);
        w->cur = NULL;
        rc = mdb_txn_commit(*w->txnp);
        *w->txnp = NULL;
        if (!rc)
            rc = mdb_txn_begin(w->ix->env, NULL, 0, w->txnp);
        if (!rc)
            rc = mdb_cursor_open(*w->txnp, w->ix->post, &w->cur);
        if (rc)
            return ty__mdb_err(w->ix, rc, "committing postings");
        w->pending = 0;
    }
    w->have = 0;
    w->dir.n = w->ids.n = 0;
    w->nkeys = 0;
    return TY_OK;
}

/* Add one minimizer key (40 bits, increasing from call to call) with n increasing ids. */
static int segw_put(segw_t *w, uint64_t key, const uint32_t *ids, size_t n)
{
    uint32_t bucket = (uint32_t)(key >> (TY_KEY_BITS - w->bits));
    uint64_t suffix = key & (((uint64_t)1 << (TY_KEY_BITS - w->bits)) - 1);
    int rc;
    if (w->have && bucket != w->bucket && (rc = segw_flush(w)) != TY_OK)
        return rc;
    if (ty_vec_reserve(w->ids, w->ids.n + 5 * n) || ty_vec_reserve(w->dir, w->dir.n + 30))
        return ty__err(w->ix->err, TY_ENOMEM, "out of memory");
    size_t before = w->ids.n;
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        w->ids.n += ty__put_varint(w->ids.a + w->ids.n, i ? ids[i] - last : ids[i]);
        last = ids[i];
    }
    uint64_t d =
        w->have ? suffix - (w->last_key & (((uint64_t)1 << (TY_KEY_BITS - w->bits)) - 1)) : suffix;
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, d);
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, n);
    w->dir.n += ty__put_varint(w->dir.a + w->dir.n, w->ids.n - before);
    w->have = 1;
    w->bucket = bucket;
    w->last_key = key;
    w->nkeys++;
    w->rec.postings += n;
    w->rec.keys++;
    w->rec.hist[ty__hist_bucket(n)]++;
    if (ids[0] < w->rec.min_doc)
        w->rec.min_doc = ids[0];
    if (ids[n - 1] > w->rec.max_doc)
        w->rec.max_doc = ids[n - 1];
    return TY_OK;
}

static void segw_release(segw_t *w)
{
    if (w->cur)
        mdb_cursor_close(w->cur);
    w->cur = NULL;
    free(w->dir.a);
    free(w->ids.a);
    free(w->val.a);
    w->dir.a = w->ids.a = w->val.a = NULL;
}

/* Finish: store the segment record and update the counts. An empty segment stores nothing. */
static int segw_end(segw_t *w, index_counts_t *c)
{
    int rc = segw_flush(w);
    segw_release(w);
    if (rc || !w->rec.keys)
        return rc;
    uint8_t kb[4], vb[TY_SEGREC_SIZE];
    ty__be32(kb, w->seg);
    ty__segrec_encode(&w->rec, vb);
    MDB_val k = {4, kb}, v = {sizeof vb, vb};
    rc = mdb_put(*w->txnp, w->ix->segs, &k, &v, 0);
    if (rc)
        return ty__mdb_err(w->ix, rc, "writing segment record");
    c->postings += w->rec.postings;
    c->keys += w->rec.keys;
    return TY_OK;
}

/* Sorted pairs (key, doc): the ids of each key, duplicates (two hashes of one document that
 * share a 40-bit key) dropped. *i advances past the key's pairs. */
static int group_ids(const pair_t *a, size_t n, size_t *i, void *vec)
{
    TY_VEC(uint32_t) *ids = vec;
    size_t j = *i;
    ids->n = 0;
    while (j < n && a[j].hash == a[*i].hash) {
        if (!ids->n || ids->a[ids->n - 1] != a[j].doc)
            if (ty_vec_push(*ids, a[j].doc))
                return -1;
        j++;
    }
    *i = j;
    return 0;
}

static uint64_t count_keys(const pair_t *a, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !i || a[i].hash != a[i - 1].hash;
    return k;
}

static int segment_from_pairs(ty_index_t *ix, MDB_txn **txnp, const pair_t *a, size_t n,
                              index_counts_t *c, size_t commit_every)
{
    if (!n)
        return TY_OK;
    segw_t w;
    int rc = segw_begin(&w, ix, txnp, c->next_seg, count_keys(a, n), commit_every);
    if (rc)
        return rc;
    c->next_seg++;
    TY_VEC(uint32_t) ids = {0};
    for (size_t i = 0; i < n && !rc;) {
        uint64_t key = a[i].hash;
        if (group_ids(a, n, &i, &ids))
            rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
        else
            rc = segw_put(&w, key, ids.a, ids.n);
    }
    free(ids.a);
    if (rc) {
        segw_release(&w);
        return rc;
    }
    return segw_end(&w, c);
}

int ty__segment_from_pairs(ty_index_t *ix, MDB_txn *txn, const pair_t *a, size_t n,
                           index_counts_t *c)
{
    return segment_from_pairs(ix, &txn, a, n, c, 0);
}

/* ---- temporary runs (build) -------------------------------------------------------------- */

/* A run is a temporary file (unlinked at once: nothing is left behind by a crash) holding
 * groups [key u64 LE][varint n][n varint ids, delta-coded] in key order. */
int ty__run_from_pairs(ty_index_t *ix, const pair_t *a, size_t n)
{
    if (!n)
        return TY_OK;
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s.run.XXXXXX", ix->tmp_path);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return ty__err(ix->err, TY_EIO, "%s: cannot create a temporary file: %s", tmpl,
                       strerror(errno));
    unlink(tmpl);
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    struct runs *r = ix->runs;
    if (ty_vec_push(r->f, f)) {
        fclose(f);
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    }
    if (ty_vec_push(r->min_doc, 0) || ty_vec_push(r->keys, 0))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    uint32_t mn = UINT32_MAX;
    uint64_t keys = 0;
    uint8_t buf[16];
    TY_VEC(uint32_t) ids = {0};
    for (size_t i = 0; i < n;) {
        uint64_t key = a[i].hash;
        if (group_ids(a, n, &i, &ids)) {
            free(ids.a);
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        }
        le64(buf, key);
        size_t l = 8 + ty__put_varint(buf + 8, ids.n);
        fwrite(buf, 1, l, f);
        for (size_t x = 0; x < ids.n; x++) {
            l = ty__put_varint(buf, x ? ids.a[x] - ids.a[x - 1] : ids.a[x]);
            fwrite(buf, 1, l, f);
        }
        if (ids.a[0] < mn)
            mn = ids.a[0];
        keys++;
    }
    free(ids.a);
    r->min_doc.a[r->f.n - 1] = mn;
    r->keys.a[r->f.n - 1] = keys;
    if (fflush(f) != 0 || ferror(f) || fseek(f, 0, SEEK_SET) != 0)
        return ty__err(ix->err, TY_EIO, "%s: writing a temporary run: %s", ix->path,
                       strerror(errno));
    return TY_OK;
}

/* ---- merging ----------------------------------------------------------------------------- */

/* One input of a merge: a run file or an LMDB segment. hash/ids: the current minimizer. */
typedef struct {
    FILE *f;       /* run, or NULL */
    MDB_cursor *c; /* segment, or NULL */
    uint32_t seg, bits;
    uint32_t min_doc; /* inputs are concatenated in this order */
    int done;
    int at_end; /* segment: the cursor stands on the table's last key, already read */
    uint64_t hash;
    TY_VEC(uint32_t) ids;
    TY_VEC(uint8_t) val; /* segment: a copy of the current bucket */
    bucket_iter_t bi;
    int in_bucket;
} src_t;

static int varint_file(FILE *f, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int ch = getc(f);
        if (ch == EOF)
            return -1;
        x |= (uint64_t)(ch & 0x7f) << shift;
        if (!(ch & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int seg_damaged(ty_index_t *ix, uint32_t seg)
{
    return ty__err(ix->err, TY_ECORRUPT, "%s: damaged postings in segment %u", ix->path, seg);
}

/* Segment source: load the bucket under the cursor (copied: later writes in this
 * transaction may move pages) and step the cursor past it. */
static int src_load_bucket(ty_index_t *ix, src_t *s)
{
    MDB_val k, v;
    if (s->at_end) {
        s->done = 1;
        return TY_OK;
    }
    int rc = mdb_cursor_get(s->c, &k, &v, MDB_GET_CURRENT);
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != 8 || ty__rd_be32(k.mv_data) != s->seg))) {
        s->done = 1;
        return TY_OK;
    }
    if (rc)
        return ty__mdb_err(ix, rc, "reading postings");
    if (ty_vec_reserve(s->val, v.mv_size ? v.mv_size : 1))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    memcpy(s->val.a, v.mv_data, v.mv_size);
    if (ty__bucket_begin(&s->bi, s->val.a, v.mv_size, ty__rd_be32((const uint8_t *)k.mv_data + 4),
                         s->bits))
        return seg_damaged(ix, s->seg);
    s->in_bucket = 1;
    rc = mdb_cursor_get(s->c, &k, &v, MDB_NEXT);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(ix, rc, "reading postings");
    if (rc == MDB_NOTFOUND)
        s->at_end = 1; /* GET_CURRENT would give the last key again */
    return TY_OK;
}

/* Advance s to its next minimizer. */
static int src_next(ty_index_t *ix, src_t *s)
{
    s->ids.n = 0;
    if (s->f) {
        uint8_t hb[8];
        size_t r = fread(hb, 1, 8, s->f);
        if (r == 0 && feof(s->f)) {
            s->done = 1;
            return TY_OK;
        }
        uint64_t n, v, last = 0;
        if (r != 8 || varint_file(s->f, &n) || n == 0 || n > UINT32_MAX)
            return ty__err(ix->err, TY_EIO, "%s: temporary run damaged", ix->path);
        s->hash = rd64(hb);
        if (ty_vec_reserve(s->ids, n))
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        for (uint64_t i = 0; i < n; i++) {
            if (varint_file(s->f, &v))
                return ty__err(ix->err, TY_EIO, "%s: temporary run damaged", ix->path);
            last = i ? last + v : v;
            s->ids.a[s->ids.n++] = (uint32_t)last;
        }
        return TY_OK;
    }
    for (;;) {
        if (!s->in_bucket) {
            int rc = src_load_bucket(ix, s);
            if (rc || s->done)
                return rc;
        }
        uint64_t key, cnt;
        const uint8_t *ip;
        size_t il;
        int rc = ty__bucket_next(&s->bi, &key, &cnt, &ip, &il);
        if (rc < 0)
            return seg_damaged(ix, s->seg);
        if (rc == 0) {
            s->in_bucket = 0;
            continue;
        }
        post_iter_t it;
        uint32_t id;
        if (ty__post_begin(&it, ip, il, cnt) || ty_vec_reserve(s->ids, cnt))
            return cnt > il ? seg_damaged(ix, s->seg)
                            : ty__err(ix->err, TY_ENOMEM, "out of memory");
        while ((rc = ty__post_next(&it, &id)) == 1)
            s->ids.a[s->ids.n++] = id;
        if (rc < 0)
            return seg_damaged(ix, s->seg);
        s->hash = key;
        return TY_OK;
    }
}

/* Position a segment source on its first key. */
static int src_seek(ty_index_t *ix, src_t *s)
{
    uint8_t kb[8];
    ty__be32(kb, s->seg);
    memset(kb + 4, 0, 4);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(s->c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        s->done = 1;
        return TY_OK;
    }
    return rc ? ty__mdb_err(ix, rc, "seeking postings") : TY_OK;
}

/* heap of source indices ordered by (key, min_doc) */
static int src_less(const src_t *s, int a, int b)
{
    if (s[a].hash != s[b].hash)
        return s[a].hash < s[b].hash;
    return s[a].min_doc < s[b].min_doc;
}

static void heap_down(int *h, int n, int i, const src_t *s)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && src_less(s, h[l], h[m]))
            m = l;
        if (r < n && src_less(s, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        int t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Merge srcs (k of them, about est_keys distinct minimizers) into a new segment in txn.
 * The new segment's id is above every input's, so its keys are appended. */
static int merge_into(ty_index_t *ix, MDB_txn **txnp, src_t *s, int k, uint64_t est_keys,
                      index_counts_t *c, size_t commit_every)
{
    int rc = TY_OK;
    int *h = malloc((size_t)(k ? k : 1) * sizeof(int));
    TY_VEC(uint32_t) ids = {0};
    if (!h)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < k && !rc; i++) {
        if (s[i].c)
            rc = src_seek(ix, &s[i]);
        if (!rc && !s[i].done)
            rc = src_next(ix, &s[i]);
        if (!rc && !s[i].done)
            h[n++] = i;
    }
    for (int i = n / 2 - 1; i >= 0; i--)
        heap_down(h, n, i, s);
    segw_t w;
    if (!rc)
        rc = segw_begin(&w, ix, txnp, c->next_seg, est_keys, commit_every);
    if (rc) {
        free(h);
        return rc;
    }
    c->next_seg++;
    while (n > 0 && !rc) {
        uint64_t hash = s[h[0]].hash;
        ids.n = 0;
        /* pop every source at this key, in doc order (the heap breaks ties by min_doc) */
        while (n > 0 && s[h[0]].hash == hash && !rc) {
            src_t *x = &s[h[0]];
            if (ty_vec_reserve(ids, ids.n + x->ids.n)) {
                rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
                break;
            }
            if (ids.n && x->ids.n && x->ids.a[0] <= ids.a[ids.n - 1]) {
                rc = ty__err(ix->err, TY_ECORRUPT,
                             "%s: postings of merged segments overlap (doc %u)", ix->path,
                             x->ids.a[0]);
                break;
            }
            memcpy(ids.a + ids.n, x->ids.a, x->ids.n * sizeof(uint32_t));
            ids.n += x->ids.n;
            rc = src_next(ix, x);
            if (rc)
                break;
            if (x->done)
                h[0] = h[--n];
            heap_down(h, n, 0, s);
        }
        if (!rc && ids.n)
            rc = segw_put(&w, hash, ids.a, ids.n);
    }
    free(h);
    free(ids.a);
    if (rc) {
        segw_release(&w);
        return rc;
    }
    return segw_end(&w, c);
}

/* Delete segment seg's postings and record; subtract them from the counts. */
static int drop_segment(ty_index_t *ix, MDB_txn *txn, uint32_t seg, const seg_rec_t *rec,
                        index_counts_t *c)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->post, &cur);
    if (rc)
        return ty__mdb_err(ix, rc, "cursor");
    uint8_t kb[8];
    ty__be32(kb, seg);
    memset(kb + 4, 0, 4);
    MDB_val k = {8, kb}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size != 8 || ty__rd_be32(k.mv_data) != seg)
            break;
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (rc) {
            /* the cursor can sit past the end of a page after a delete: seek again */
            k.mv_size = 8;
            k.mv_data = kb;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(ix, rc, "deleting merged postings");
    ty__be32(kb, seg);
    MDB_val sk = {4, kb};
    rc = mdb_del(txn, ix->segs, &sk, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(ix, rc, "deleting segment record");
    c->postings -= rec->postings;
    c->keys -= rec->keys;
    return TY_OK;
}

int ty__read_segs(ty_index_t *ix, MDB_txn *txn, seginfo_t **out, size_t *n, char *err)
{
    TY_VEC(seginfo_t) v = {0};
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->segs, &cur);
    if (rc)
        return mdb_err_to(err, ix->path, rc, "cursor");
    MDB_val k, d;
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        seginfo_t s;
        if (k.mv_size != 4 || ty__segrec_decode(d.mv_data, d.mv_size, &s.rec)) {
            rc = -1;
            break;
        }
        s.id = ty__rd_be32(k.mv_data);
        if (ty_vec_push(v, s)) {
            rc = -2;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *out = v.a;
        *n = v.n;
        return TY_OK;
    }
    free(v.a);
    if (rc == -1)
        return ty__err(err, TY_ECORRUPT, "%s: damaged segment record", ix->path);
    if (rc == -2)
        return ty__err(err, TY_ENOMEM, "out of memory");
    return mdb_err_to(err, ix->path, rc, "reading segments");
}

static int cmp_seg_min(const void *a, const void *b)
{
    const seginfo_t *x = a, *y = b;
    return x->rec.min_doc < y->rec.min_doc ? -1 : x->rec.min_doc > y->rec.min_doc;
}

/* Merge the given segments (ids/records) into one, in txn. */
static int merge_segments(ty_index_t *ix, MDB_txn *txn, seginfo_t *sel, size_t ns,
                          index_counts_t *c)
{
    qsort(sel, ns, sizeof(seginfo_t), cmp_seg_min);
    src_t *s = calloc(ns, sizeof(src_t));
    if (!s)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    int rc = TY_OK;
    uint64_t est = 0;
    for (size_t i = 0; i < ns && !rc; i++) {
        s[i].seg = sel[i].id;
        s[i].bits = sel[i].rec.bits;
        s[i].min_doc = sel[i].rec.min_doc;
        est += sel[i].rec.keys;
        int e = mdb_cursor_open(txn, ix->post, &s[i].c);
        if (e)
            rc = ty__mdb_err(ix, e, "cursor");
    }
    if (!rc)
        rc = merge_into(ix, &txn, s, (int)ns, est, c, 0);
    for (size_t i = 0; i < ns; i++) {
        if (s[i].c)
            mdb_cursor_close(s[i].c);
        free(s[i].ids.a);
        free(s[i].val.a);
    }
    free(s);
    for (size_t i = 0; i < ns && !rc; i++)
        rc = drop_segment(ix, txn, sel[i].id, &sel[i].rec, c);
    return rc;
}

static int tier_of(uint64_t postings)
{
    int t = 0;
    while (postings >= (uint64_t)TIER_BASE) {
        postings /= TIER_FANOUT;
        t++;
    }
    return t;
}

/* Merge one tier that holds TIER_FANOUT or more segments; *merged = 1 if one was merged. */
static int merge_one_tier(ty_index_t *ix, int all, int *merged)
{
    *merged = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, 0, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    seginfo_t *sg = NULL;
    size_t ns = 0;
    index_counts_t c;
    rc = ty__read_segs(ix, txn, &sg, &ns, ix->err);
    if (!rc)
        rc = ty__counts_get(ix, txn, &c, ix->err);
    size_t nsel = 0;
    if (!rc && all) {
        nsel = ns > 1 ? ns : 0;
    } else if (!rc) {
        /* lowest tier first: small merges are cheap and keep the segment count down */
        for (int t = 0; t < 64 && !nsel; t++) {
            size_t cnt = 0;
            for (size_t i = 0; i < ns; i++)
                cnt += tier_of(sg[i].rec.postings) == t;
            if (cnt >= TIER_FANOUT) {
                for (size_t i = 0; i < ns; i++)
                    if (tier_of(sg[i].rec.postings) == t)
                        sg[nsel++] = sg[i];
            }
        }
    }
    if (!rc && nsel) {
        rc = merge_segments(ix, txn, sg, nsel, &c);
        if (!rc)
            rc = ty__counts_put(ix, txn, &c);
        if (!rc) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
            if (rc)
                rc = ty__mdb_err(ix, rc, "commit");
            else
                *merged = 1;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    free(sg);
    return rc;
}

int ty__merge_tiers(ty_index_t *ix)
{
    int merged = 1, rc = TY_OK;
    while (merged && !rc)
        rc = merge_one_tier(ix, 0, &merged);
    return rc;
}

int ty_index_compact(ty_index_t *ix)
{
    if (ix && ix->shards)
        return ty__shards_readonly(ix, "compact");
    if (!ix || !ix->env || ix->mode != TY_INDEX_WRITE)
        return TY_EINVAL;
    int merged;
    return merge_one_tier(ix, 1, &merged);
}

/* ---- finishing a build ------------------------------------------------------------------- */

int ty_index_finish(ty_index_t *ix)
{
    if (!ix || !ix->env || ix->mode != TY_INDEX_CREATE || ix->finished)
        return TY_EINVAL;
    struct runs *r = ix->runs;
    int rc = TY_OK;
    pair_t *tmp = NULL;
    if (ix->pend.n) {
        tmp = malloc(ix->pend.n * sizeof(pair_t));
        if (!tmp)
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        ty__sort_pairs(ix->pend.a, tmp, ix->pend.n);
        free(tmp);
    }
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(ix->env, NULL, 0, &txn)))
        return ty__mdb_err(ix, rc, "begin");
    index_counts_t c;
    rc = ty__counts_get(ix, txn, &c, ix->err);
    if (!rc && r->f.n == 0) {
        rc = segment_from_pairs(ix, &txn, ix->pend.a, ix->pend.n, &c, BUILD_COMMIT);
    } else if (!rc) {
        if (ix->pend.n)
            rc = ty__run_from_pairs(ix, ix->pend.a, ix->pend.n);
        src_t *s = rc ? NULL : calloc(r->f.n, sizeof(src_t));
        if (!rc && !s)
            rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
        uint64_t est = 0;
        for (size_t i = 0; !rc && i < r->f.n; i++) {
            s[i].f = r->f.a[i];
            s[i].min_doc = r->min_doc.a[i];
            est += r->keys.a[i];
        }
        if (!rc)
            rc = merge_into(ix, &txn, s, (int)r->f.n, est, &c, BUILD_COMMIT);
        for (size_t i = 0; s && i < r->f.n; i++)
            free(s[i].ids.a);
        free(s);
    }
    free(ix->pend.a);
    ix->pend.a = NULL;
    ix->pend.n = ix->pend.m = 0;
    if (!rc)
        rc = ty__build_names_flush(ix, &txn);
    ty__build_names_free(ix->bnames);
    ix->bnames = NULL;
    if (!rc)
        rc = ty__counts_put(ix, txn, &c);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return ty__mdb_err(ix, rc, "commit");
    if ((rc = mdb_env_sync(ix->env, 1)))
        return ty__mdb_err(ix, rc, "sync");
    close_env(ix);
    runs_free(ix->runs);
    ix->runs = NULL;
    /* A process that still has an old INDEX open keeps its lock file: LMDB readers take
     * the last transaction id from there, which belongs to the old file. Unlink it so that
     * the new file gets a lock file of its own (the old processes keep the old pair). */
    char olp[4200];
    lock_path(ix->path, olp, sizeof olp);
    unlink(olp);
    if (rename(ix->tmp_path, ix->path) != 0)
        return ty__err(ix->err, TY_EIO, "%s: cannot move %s into place: %s", ix->path, ix->tmp_path,
                       strerror(errno));
    ix->finished = 1;
    char lp[4200];
    lock_path(ix->tmp_path, lp, sizeof lp);
    unlink(lp);
    /* reopen read-only so that stats and queries work on the finished index */
    return open_existing(ix, TY_INDEX_READ, NULL);
}

/* ---- stats, lookup, verify --------------------------------------------------------------- */

static uint64_t free_pages(MDB_txn *txn)
{
    MDB_cursor *c;
    uint64_t n = 0;
    if (mdb_cursor_open(txn, 0, &c))
        return 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (v.mv_size >= sizeof(size_t)) {
            size_t cnt;
            memcpy(&cnt, v.mv_data, sizeof cnt);
            n += cnt;
        }
    mdb_cursor_close(c);
    return n;
}

int ty_index_stats(ty_index_t *ix, ty_index_stats_t *st)
{
    if (ix && ix->shards && st)
        return ty__shards_stats(ix, st);
    if (!ix || !ix->env || !st)
        return TY_EINVAL;
    memset(st, 0, sizeof(*st));
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    index_counts_t c;
    seginfo_t *sg = NULL;
    size_t ns = 0;
    rc = ty__counts_get(ix, txn, &c, ix->err);
    if (!rc)
        rc = ty__read_segs(ix, txn, &sg, &ns, ix->err);
    if (!rc) {
        MDB_envinfo info;
        MDB_stat ms;
        mdb_env_info(ix->env, &info);
        mdb_env_stat(ix->env, &ms);
        uint64_t fp = free_pages(txn);
        uint64_t pages = (uint64_t)info.me_last_pgno + 1;
        st->map_bytes = (pages > fp ? pages - fp : 0) * ms.ms_psize;
    }
    mdb_txn_abort(txn);
    free(sg);
    if (rc)
        return rc;
    st->format = ix->hdr.format;
    st->k = (int)ix->hdr.k;
    st->w = (int)ix->hdr.w;
    st->norm_fingerprint = ix->hdr.norm_fingerprint;
    st->docs = c.docs;
    st->codepoints = c.codepoints;
    st->bytes = c.bytes;
    st->stored_bytes = c.stored_bytes;
    st->postings = c.postings;
    st->keys = c.keys;
    st->segments = (uint32_t)ns;
    struct stat fs;
    const char *file = ix->mode == TY_INDEX_CREATE && !ix->finished ? ix->tmp_path : ix->path;
    if (stat(file, &fs) == 0)
        st->file_bytes = (uint64_t)fs.st_size;
    return TY_OK;
}

static void be32key(uint8_t kb[4], uint32_t id) { ty__be32(kb, id); }

int ty__index_load_doc(ty_index_t *ix, MDB_txn *txn, ZSTD_DCtx *dctx, uint32_t id, ty_doc_t *d,
                       const ty_opts_t *o, char **buf, size_t *cap, char *err)
{
    uint8_t kb[4];
    be32key(kb, id);
    MDB_val k = {4, kb}, v, t;
    int rc = mdb_get(txn, ix->docs, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ty__err(err, TY_ENOTFOUND, "%s: no document %u", ix->path, id);
    if (rc)
        return mdb_err_to(err, ix->path, rc, "reading document");
    doc_rec_t dr;
    if (ty__docrec_decode(v.mv_data, v.mv_size, &dr))
        return ty__err(err, TY_ECORRUPT, "%s: document %u: damaged record", ix->path, id);
    rc = mdb_get(txn, ix->text, &k, &t);
    if (rc)
        return rc == MDB_NOTFOUND
                   ? ty__err(err, TY_ECORRUPT, "%s: document %u: no text", ix->path, id)
                   : mdb_err_to(err, ix->path, rc, "reading text");
    unsigned long long sz = ZSTD_getFrameContentSize(t.mv_data, t.mv_size);
    if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz != dr.bytes)
        return ty__err(err, TY_ECORRUPT,
                       "%s: document %u: damaged text (size %llu, record "
                       "says %llu)",
                       ix->path, id, sz, (unsigned long long)dr.bytes);
    if (*cap < sz + 1) {
        char *p = realloc(*buf, sz + 1);
        if (!p)
            return ty__err(err, TY_ENOMEM, "out of memory");
        *buf = p;
        *cap = sz + 1;
    }
    size_t got = ix->ddict
                     ? ZSTD_decompress_usingDDict(dctx, *buf, *cap, t.mv_data, t.mv_size, ix->ddict)
                     : ZSTD_decompressDCtx(dctx, *buf, *cap, t.mv_data, t.mv_size);
    if (ZSTD_isError(got) || got != sz)
        return ty__err(err, TY_ECORRUPT, "%s: document %u: damaged text (%s)", ix->path, id,
                       ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
    /* the name is not NUL-terminated in the record */
    char small[256], *name = dr.name_len < sizeof small ? small : malloc(dr.name_len + 1);
    if (!name)
        return ty__err(err, TY_ENOMEM, "out of memory");
    memcpy(name, dr.name, dr.name_len);
    name[dr.name_len] = 0;
    rc = ty_doc_load_mem(d, name, *buf, got, o);
    if (name != small)
        free(name);
    if (rc)
        return ty__err(err, rc, "%s: document %u: %s", ix->path, id, ty_doc_errmsg(d));
    return TY_OK;
}

int ty_index_get_doc(ty_index_t *ix, uint32_t id, ty_doc_t *d, const ty_opts_t *o)
{
    if (ix && ix->shards && d && o)
        return ty__shards_get_doc(ix, id, d, o);
    if (!ix || !ix->env || !d || !o)
        return TY_EINVAL;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    if (ty__index_deleted_in(ix, txn, id) == 1) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ENOTFOUND, "%s: document %u was deleted", ix->path, id);
    }
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    char *buf = NULL;
    size_t cap = 0;
    rc = dc ? ty__index_load_doc(ix, txn, dc, id, d, o, &buf, &cap, ix->err)
            : ty__err(ix->err, TY_ENOMEM, "out of memory");
    free(buf);
    ZSTD_freeDCtx(dc);
    mdb_txn_abort(txn);
    return rc;
}

void ty__name_key(const char *name, size_t len, uint8_t out[16])
{
    XXH128_hash_t h = XXH3_128bits(name, len);
    ty__be64(out, h.high64);
    ty__be64(out + 8, h.low64);
}

int ty_index_find(ty_index_t *ix, const char *name, uint32_t *id)
{
    if (ix && ix->shards && name && id)
        return ty__shards_find(ix, name, id);
    if (!ix || !ix->env || !name || !id)
        return TY_EINVAL;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    uint8_t kb[16];
    ty__name_key(name, strlen(name), kb);
    MDB_val k = {16, kb}, v;
    rc = mdb_get(txn, ix->names, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        *id = rd32(v.mv_data);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ty__err(ix->err, TY_ENOTFOUND, "%s: no document named '%s'", ix->path, name);
    if (rc)
        return ty__mdb_err(ix, rc, "reading names");
    if (v.mv_size != 4)
        return ty__err(ix->err, TY_ECORRUPT, "%s: damaged name record", ix->path);
    return TY_OK;
}

static void copy_out(char *dst, size_t size, const void *src, size_t len)
{
    if (!dst || !size)
        return;
    size_t l = len < size - 1 ? len : size - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

int ty_index_doc_info(ty_index_t *ix, uint32_t id, char *name, size_t name_size, char *file,
                      size_t size, uint64_t *line)
{
    if (ix && ix->shards)
        return ty__shards_doc_info(ix, id, name, name_size, file, size, line);
    if (!ix || !ix->env)
        return TY_EINVAL;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    uint8_t kb[4];
    be32key(kb, id);
    MDB_val k = {4, kb}, v;
    doc_rec_t dr;
    rc = mdb_get(txn, ix->docs, &k, &v);
    if (rc == 0 && ty__docrec_decode(v.mv_data, v.mv_size, &dr))
        rc = -1;
    if (rc == 0) {
        if (line)
            *line = dr.line;
        copy_out(name, name_size, dr.name, dr.name_len);
        copy_out(file, size, "", 0);
        if (file && size && dr.file) {
            be32key(kb, (uint32_t)(dr.file - 1));
            MDB_val fk = {4, kb}, fv;
            if (mdb_get(txn, ix->files, &fk, &fv) == 0)
                copy_out(file, size, fv.mv_data, fv.mv_size);
        }
    }
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ty__err(ix->err, TY_ENOTFOUND, "%s: no document %u", ix->path, id);
    if (rc == -1)
        return ty__err(ix->err, TY_ECORRUPT, "%s: document %u: damaged record", ix->path, id);
    return rc ? ty__mdb_err(ix, rc, "reading document") : TY_OK;
}

int ty_index_verify(ty_index_t *ix)
{
    if (ix && ix->shards)
        return ty__shards_verify(ix);
    if (!ix || !ix->env)
        return TY_EINVAL;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    index_counts_t c;
    seginfo_t *sg = NULL;
    size_t ns = 0;
    MDB_cursor *cur = NULL;
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ty_doc_t *d = ty_doc_new();
    ty_opts_t o;
    ty_opts_init(&o);
    o.utf8_mode = TY_UTF8_REPLACE;
    o.max_doc_bytes = UINT32_MAX;
    char *buf = NULL;
    size_t cap = 0;
    uint64_t ncp = 0, nbytes = 0, nstored = 0;
    if (!dc || !d)
        rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (!rc)
        rc = ty__counts_get(ix, txn, &c, ix->err);
    if (!rc)
        rc = ty__read_segs(ix, txn, &sg, &ns, ix->err);
    /* documents: ids 0..docs-1, each with a record, a text of the recorded size, a name */
    if (!rc) {
        MDB_stat ms;
        if (mdb_stat(txn, ix->docs, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: %zu document records, stats say %llu", ix->path,
                         ms.ms_entries, (unsigned long long)c.docs);
        if (!rc && mdb_stat(txn, ix->text, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: %zu texts, stats say %llu", ix->path,
                         ms.ms_entries, (unsigned long long)c.docs);
        if (!rc && mdb_stat(txn, ix->names, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: %zu names, stats say %llu", ix->path,
                         ms.ms_entries, (unsigned long long)c.docs);
    }
    for (uint64_t id = 0; !rc && id < c.docs; id++) {
        rc = ty__index_load_doc(ix, txn, dc, (uint32_t)id, d, &o, &buf, &cap, ix->err);
        if (rc)
            break;
        ncp += ty_doc_ncodepoints(d);
        size_t tl;
        ty_doc_text(d, &tl);
        nbytes += tl;
        uint8_t kb[16];
        be32key(kb, (uint32_t)id);
        MDB_val k = {4, kb}, v;
        if (mdb_get(txn, ix->text, &k, &v) == 0)
            nstored += v.mv_size;
        const char *nm = ty_doc_name(d);
        ty__name_key(nm, strlen(nm), kb);
        MDB_val nk = {16, kb}, nv;
        int e = mdb_get(txn, ix->names, &nk, &nv);
        if (e || nv.mv_size != 4 || rd32(nv.mv_data) != id)
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: document %llu: name '%s' not mapped to it",
                         ix->path, (unsigned long long)id, nm);
    }
    if (!rc && (ncp != c.codepoints || nbytes != c.bytes || nstored != c.stored_bytes))
        rc = ty__err(ix->err, TY_ECORRUPT,
                     "%s: texts hold %llu characters, %llu bytes, %llu stored; stats say %llu, "
                     "%llu, %llu",
                     ix->path, (unsigned long long)ncp, (unsigned long long)nbytes,
                     (unsigned long long)nstored, (unsigned long long)c.codepoints,
                     (unsigned long long)c.bytes, (unsigned long long)c.stored_bytes);
    /* postings: each key in a known segment, ids increasing and < docs, sums match */
    uint64_t tot_post = 0, tot_keys = 0;
    if (!rc && (rc = mdb_cursor_open(txn, ix->post, &cur)))
        rc = ty__mdb_err(ix, rc, "cursor");
    size_t si = 0;
    uint64_t sp = 0, sk = 0;
    uint64_t hist[TY_HIST_BUCKETS];
    memset(hist, 0, sizeof hist);
    int have_last = 0;
    uint32_t last_seg = 0, last_bucket = 0;
    MDB_val k, v;
    int e = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; !rc; e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint32_t seg = UINT32_MAX;
        if (e == 0) {
            if (k.mv_size != 8) {
                rc = ty__err(ix->err, TY_ECORRUPT, "%s: posting key of %zu bytes", ix->path,
                             k.mv_size);
                break;
            }
            seg = ty__rd_be32(k.mv_data);
        } else if (e != MDB_NOTFOUND) {
            rc = ty__mdb_err(ix, e, "reading postings");
            break;
        }
        /* close finished segments */
        while (si < ns && seg > sg[si].id) {
            if (sp != sg[si].rec.postings || sk != sg[si].rec.keys ||
                memcmp(hist, sg[si].rec.hist, sizeof hist) != 0) {
                rc = ty__err(ix->err, TY_ECORRUPT,
                             "%s: segment %u holds %llu postings in %llu keys, its record says "
                             "%llu in %llu",
                             ix->path, sg[si].id, (unsigned long long)sp, (unsigned long long)sk,
                             (unsigned long long)sg[si].rec.postings,
                             (unsigned long long)sg[si].rec.keys);
                break;
            }
            tot_post += sp;
            tot_keys += sk;
            sp = sk = 0;
            memset(hist, 0, sizeof hist);
            si++;
        }
        if (rc || e == MDB_NOTFOUND)
            break;
        if (si >= ns || seg != sg[si].id) {
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: postings of unknown segment %u", ix->path, seg);
            break;
        }
        /* every minimizer of the bucket: in order, ids increasing, in range */
        uint32_t bucket = ty__rd_be32((const uint8_t *)k.mv_data + 4);
        bucket_iter_t bi;
        int pr = ty__bucket_begin(&bi, v.mv_data, v.mv_size, bucket, sg[si].rec.bits);
        if (!pr && have_last && last_seg == seg && bucket <= last_bucket)
            pr = TY_ECORRUPT;
        while (!pr) {
            uint64_t key, cnt;
            const uint8_t *ip;
            size_t il;
            int br = ty__bucket_next(&bi, &key, &cnt, &ip, &il);
            if (br <= 0) {
                pr = br;
                break;
            }
            post_iter_t it;
            uint32_t id;
            if (ty__post_begin(&it, ip, il, cnt)) {
                pr = TY_ECORRUPT;
                break;
            }
            while ((pr = ty__post_next(&it, &id)) == 1)
                if (id >= c.docs || id < sg[si].rec.min_doc || id > sg[si].rec.max_doc) {
                    pr = TY_ECORRUPT;
                    break;
                }
            sp += cnt;
            sk++;
            hist[ty__hist_bucket(cnt)]++;
        }
        if (pr) {
            rc = ty__err(ix->err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged postings",
                         ix->path, seg, bucket);
            break;
        }
        have_last = 1;
        last_seg = seg;
        last_bucket = bucket;
    }
    if (!rc && si != ns)
        rc = ty__err(ix->err, TY_ECORRUPT, "%s: segment %u has no postings", ix->path, sg[si].id);
    if (!rc && (tot_post != c.postings || tot_keys != c.keys))
        rc = ty__err(ix->err, TY_ECORRUPT, "%s: %llu postings in %llu keys; stats say %llu in %llu",
                     ix->path, (unsigned long long)tot_post, (unsigned long long)tot_keys,
                     (unsigned long long)c.postings, (unsigned long long)c.keys);
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    free(sg);
    free(buf);
    ty_doc_free(d);
    ZSTD_freeDCtx(dc);
    return rc;
}
