/*
 * index_write.c — adding one document: ty_index_add_doc(), the library's basic call, and
 * the steps it is made of, which ty_index_add_docs() (index_add.c) runs on many threads:
 *
 *   prepare  tokenize (bad UTF-8 is caught here, with its position), sketch (the distinct
 *            40-bit minimizer keys), compress the text with zstd;
 *   store    in a write transaction: the name (duplicates are refused), the origin, the
 *            document record, the text, the postings (held for the transaction's segment,
 *            or for a build's runs);
 *   commit   TY_INDEX_WRITE: the transaction's postings become one new segment; then the
 *            size tiers are merged (index_merge.c).
 *
 * A merge after a commit is housekeeping: the documents are safe once the commit returns.
 * A merge that fails (a full disk, typically) leaves the index as committed, is reported as
 * a warning (ix->warn: ty_index_warning(), TY_EVENT_WARNING) and is tried again after the
 * next commit — never as a failed add, which a caller would retry and find taken.
 */
#include <stdio.h>
#include <string.h>

#include "index_impl.h"

/* ---- prepare --------------------------------------------------------------------------------- */

void ty__prep_free(ty_prep_t *p)
{
    free(p->z);
    free(p->h);
    memset(p, 0, sizeof(*p));
}

int ty__prep_ws_init(ty_prep_ws_t *ws)
{
    memset(ws, 0, sizeof(*ws));
    ws->doc = ty_doc_new();
    ws->cc = ZSTD_createCCtx();
    return ws->doc && ws->cc ? TY_OK : TY_ENOMEM;
}

void ty__prep_ws_free(ty_prep_ws_t *ws)
{
    ty_doc_free(ws->doc);
    ZSTD_freeCCtx(ws->cc);
    ty__keyset_free(&ws->set);
    memset(ws, 0, sizeof(*ws));
}

static int dedup_keys(ty_prep_ws_t *ws, ty_prep_t *p, const ty_seed_t *sd, size_t n)
{
    if (ty__keyset_reset(&ws->set, n))
        return -1;
    if (p->hcap < n) {
        uint64_t *q = realloc(p->h, (n ? n : 1) * sizeof(uint64_t));
        if (!q)
            return -1;
        p->h = q;
        p->hcap = n;
    }
    size_t m = 0;
    int zero_seen = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ty__mkey(sd[i].hash);
        if (h == 0) { /* the empty marker: tracked apart */
            if (!zero_seen)
                p->h[m++] = 0;
            zero_seen = 1;
            continue;
        }
        int isnew;
        ty__keyset_put(&ws->set, h, &isnew);
        if (isnew)
            p->h[m++] = h;
    }
    p->nh = m;
    return 0;
}

int ty__prep_sketch(ty_prep_ws_t *ws, const ty_opts_t *o, int k, int w, const char *name,
                    const char *text, size_t len, const char *origin, uint64_t line, ty_prep_t *p,
                    char *msg)
{
    p->zlen = p->nh = 0;
    int rc = ty_doc_load_mem(ws->doc, name, text, len, o);
    if (rc && line) /* a JSONL record: say where it is */
        return ty__err(msg, rc, "%s:%llu: %s", origin, (unsigned long long)line,
                       ty_doc_errmsg(ws->doc));
    if (rc) {
        /* a file read from a directory: its name is the path inside it; say the path as
         * given ("d/sub/bad.txt: invalid UTF-8 ..."), which the user can open */
        const char *m = ty_doc_errmsg(ws->doc);
        size_t nl = strlen(name);
        if (origin && strcmp(origin, name) != 0 && strncmp(m, name, nl) == 0 && m[nl] == ':')
            return ty__err(msg, rc, "%s%s", origin, m + nl);
        return ty__err(msg, rc, "%s", m);
    }
    p->ncp = ty_doc_ncodepoints(ws->doc);
    p->ntok = ty_doc_ntokens(ws->doc);
    ty_seed_t *sd = NULL;
    size_t n = 0;
    rc = ty_sketch(ws->doc, k, w, &sd, &n);
    if (rc == TY_OK && dedup_keys(ws, p, sd, n))
        rc = TY_ENOMEM;
    free(sd);
    return rc ? ty__err(msg, rc, "%s: out of memory", name) : TY_OK;
}

int ty__prep_compress(ZSTD_CCtx *cc, const ZSTD_CDict *cd, int level, const char *name,
                      const char *text, size_t len, ty_prep_t *p, char *msg)
{
    size_t bound = ZSTD_compressBound(len);
    if (p->zcap < bound) {
        uint8_t *z = realloc(p->z, bound);
        if (!z)
            return ty__err(msg, TY_ENOMEM, "%s: out of memory", name);
        p->z = z;
        p->zcap = bound;
    }
    size_t zl = cd ? ZSTD_compress_usingCDict(cc, p->z, p->zcap, text, len, cd)
                   : ZSTD_compressCCtx(cc, p->z, p->zcap, text, len, level);
    if (ZSTD_isError(zl))
        return ty__err(msg, TY_ENOMEM, "%s: compression failed: %s", name, ZSTD_getErrorName(zl));
    p->zlen = zl;
    return TY_OK;
}

/* ---- store ----------------------------------------------------------------------------------- */

struct ty_wtxn {
    MDB_txn *txn;
    MDB_cursor *cdocs, *ctext;
    index_counts_t c;
    uint64_t docs, bytes; /* stored since the begin */
    TY_VEC(pair_t) batch; /* TY_INDEX_WRITE: postings of this transaction */
    pair_t *tmp;          /* sort buffer */
    size_t tmp_cap;
    char *last_origin; /* the origin of the last document and its file id in this txn */
    size_t last_origin_cap;
    uint32_t last_file;
    int have_file;
    /* ty_index_add_doc()'s scratch */
    ty_prep_ws_t ws;
    ty_prep_t prep;
};

ty_wtxn_t *ty__wtxn_new(void) { return calloc(1, sizeof(ty_wtxn_t)); }

void ty__wtxn_abort(ty_wtxn_t *t)
{
    if (t->txn)
        mdb_txn_abort(t->txn); /* closes the cursors too */
    t->txn = NULL;
    t->cdocs = t->ctext = NULL;
    t->batch.n = 0;
}

void ty__wtxn_free(ty_wtxn_t *t)
{
    if (!t)
        return;
    ty__wtxn_abort(t);
    TY_FREE(t->batch.a, t->tmp, t->last_origin);
    ty__prep_ws_free(&t->ws);
    ty__prep_free(&t->prep);
    free(t);
}

uint64_t ty__wtxn_docs(const ty_wtxn_t *t) { return t->c.docs; }
uint64_t ty__wtxn_pending(const ty_wtxn_t *t) { return t->docs; }
uint64_t ty__wtxn_pending_bytes(const ty_wtxn_t *t) { return t->bytes; }
MDB_txn *ty__wtxn_txn(ty_wtxn_t *t) { return t->txn; }

int ty__wtxn_begin(ty_index_t *ix, ty_wtxn_t *t)
{
    ty_part_t *pt = &ix->part[0];
    int rc = mdb_txn_begin(pt->env, NULL, 0, &t->txn);
    if (rc) {
        t->txn = NULL;
        return ty__mdb_err(ix->err, pt->path, rc, "begin");
    }
    if ((rc = mdb_cursor_open(t->txn, pt->docs, &t->cdocs)) ||
        (rc = mdb_cursor_open(t->txn, pt->text, &t->ctext)))
        return ty__mdb_err(ix->err, pt->path, rc, "cursor");
    t->docs = t->bytes = 0;
    t->batch.n = 0;
    t->have_file = 0; /* file ids are looked up again per transaction */
    return ty__counts_get(pt, t->txn, &t->c, ix->err);
}

int ty__copy_str(char **dst, size_t *cap, const char *src, size_t len)
{
    if (*cap < len + 1) {
        size_t nc = len + 1 > 64 ? len + 1 : 64;
        char *p = realloc(*dst, nc);
        if (!p)
            return -1;
        *dst = p;
        *cap = nc;
    }
    memcpy(*dst, src, len);
    (*dst)[len] = 0;
    return 0;
}

/* The file id of origin in this transaction: the last one again, or a new files record. */
static int file_id(ty_index_t *ix, ty_wtxn_t *t, const char *origin, uint32_t *id)
{
    if (t->have_file && strcmp(t->last_origin, origin) == 0) {
        *id = t->last_file;
        return TY_OK;
    }
    ty_part_t *pt = &ix->part[0];
    uint8_t kb[4];
    ty__be32(kb, t->c.next_file);
    MDB_val k = {4, kb}, v = {strlen(origin), (void *)origin};
    int rc = mdb_put(t->txn, pt->files, &k, &v, MDB_APPEND);
    if (rc)
        return ty__mdb_err(ix->err, pt->path, rc, "writing file record");
    if (ty__copy_str(&t->last_origin, &t->last_origin_cap, origin, strlen(origin)))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    t->last_file = t->c.next_file++;
    t->have_file = 1;
    *id = t->last_file;
    return TY_OK;
}

int ty__wtxn_store(ty_index_t *ix, ty_wtxn_t *t, const char *name, size_t name_len,
                   const char *origin, uint64_t line, size_t len, const ty_prep_t *p,
                   size_t run_pairs, uint32_t *idp)
{
    ty_part_t *pt = &ix->part[0];
    uint8_t nk[16];
    ty__name_key(name, name_len, nk);
    MDB_val k = {16, nk}, v;
    int rc;
    if (t->c.docs >= UINT32_MAX)
        return ty__err(ix->err, TY_ETOOBIG, "%s: full (%llu documents)", pt->path,
                       (unsigned long long)t->c.docs);
    uint32_t id = (uint32_t)t->c.docs, fid = 0;
    if (ix->mode == TY_INDEX_CREATE) {
        uint32_t known = id;
        rc = ty__build_name(ix, nk, &known);
        if (rc < 0)
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        rc = rc == 1 ? 0 : MDB_NOTFOUND; /* 0: a duplicate, as mdb_get() would say */
    } else {
        rc = mdb_get(t->txn, pt->names, &k, &v);
    }
    if (rc == 0) {
        if (line)
            return ty__err(ix->err, TY_EEXIST, "%s:%llu: a document named '%s' is already indexed",
                           origin, (unsigned long long)line, name);
        return ty__err(ix->err, TY_EEXIST, "%s: a document of this name is already indexed", name);
    }
    if (rc != MDB_NOTFOUND)
        return ty__mdb_err(ix->err, pt->path, rc, "reading names");
    if ((rc = file_id(ix, t, origin, &fid)) != TY_OK)
        return rc;
    uint8_t ib[4], rb[64 + 16];
    ty__be32(ib, id);
    uint8_t le[4];
    ty__le32(le, id);
    MDB_val vid = {4, le};
    if (ix->mode == TY_INDEX_WRITE &&
        (rc = mdb_put(t->txn, pt->names, &k, &vid, MDB_NOOVERWRITE)) != 0)
        return ty__mdb_err(ix->err, pt->path, rc, "writing name");
    doc_rec_t dr = {(uint64_t)fid + 1, line, len, p->ncp, p->ntok, name, name_len};
    uint8_t *recb = name_len <= 16 ? rb : malloc(64 + name_len);
    if (!recb)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    size_t rl = ty__docrec_encode(&dr, recb);
    MDB_val dk = {4, ib}, dv = {rl, recb};
    rc = mdb_cursor_put(t->cdocs, &dk, &dv, MDB_APPEND);
    if (recb != rb)
        free(recb);
    if (rc)
        return ty__mdb_err(ix->err, pt->path, rc, "writing document");
    MDB_val tv = {p->zlen, p->z};
    if ((rc = mdb_cursor_put(t->ctext, &dk, &tv, MDB_APPEND)))
        return ty__mdb_err(ix->err, pt->path, rc, "writing text");
    /* postings */
    if (ix->mode == TY_INDEX_CREATE) {
        if ((rc = ty__build_postings(ix, id, p->h, p->nh, run_pairs)) != TY_OK)
            return rc;
    } else {
        if (ty_vec_reserve(t->batch, t->batch.n + p->nh))
            return ty__err(ix->err, TY_ENOMEM, "out of memory");
        for (size_t i = 0; i < p->nh; i++)
            t->batch.a[t->batch.n++] = (pair_t){p->h[i], id, 0};
    }
    t->c.docs++;
    t->c.codepoints += p->ncp;
    t->c.bytes += len;
    t->c.stored_bytes += p->zlen;
    t->docs++;
    t->bytes += len;
    if (idp)
        *idp = id;
    return TY_OK;
}

/* ---- commit ---------------------------------------------------------------------------------- */

int ty__wtxn_commit(ty_index_t *ix, ty_wtxn_t *t)
{
    ty_part_t *pt = &ix->part[0];
    int rc = TY_OK;
    if (ix->mode == TY_INDEX_WRITE && t->batch.n) {
        if (t->tmp_cap < t->batch.n) {
            free(t->tmp);
            t->tmp = malloc(t->batch.n * sizeof(pair_t));
            t->tmp_cap = t->tmp ? t->batch.n : 0;
            if (!t->tmp)
                rc = ty__err(ix->err, TY_ENOMEM, "out of memory");
        }
        if (!rc) {
            ty__sort_pairs(t->batch.a, t->tmp, t->batch.n);
            rc = ty__segment_from_pairs(pt, &t->txn, t->batch.a, t->batch.n, &t->c, 0, ix->err);
        }
    }
    if (!rc)
        rc = ty__counts_put(pt, t->txn, &t->c, ix->err);
    if (rc) {
        ty__wtxn_abort(t);
        return rc;
    }
    mdb_cursor_close(t->cdocs);
    mdb_cursor_close(t->ctext);
    t->cdocs = t->ctext = NULL;
    rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    t->batch.n = 0;
    if (rc)
        return ty__mdb_err(ix->err, pt->path, rc, "commit");
    return TY_OK;
}

int ty__wtxn_merge(ty_index_t *ix)
{
    char msg[TY_ERRMSG_SIZE];
    if (ix->mode != TY_INDEX_WRITE || ty__merge_tiers(&ix->part[0], msg) == TY_OK)
        return 0;
    ty__err(ix->warn, TY_OK,
            "%s (the documents are committed; the segments are merged after a later commit, "
            "or by index compact)",
            msg);
    return 1;
}

/* ---- the basic call ----------------------------------------------------------------------------
 */

int ty_index_add_doc(ty_index_t *ix, const char *name, const void *text, size_t len,
                     const char *origin, const ty_opts_t *o, uint32_t *id)
{
    if (!ix || !name || (!text && len) || !o)
        return TY_EINVAL;
    ix->err[0] = ix->warn[0] = 0;
    if (ix->shards)
        return ty__shards_readonly(ix, "add documents");
    if (ix->nparts && ix->part[0].env && ix->mode == TY_INDEX_READ)
        return ty__err(ix->err, TY_EREADONLY, "%s: opened read-only: cannot add documents",
                       ix->path ? ix->path : "index");
    if (!ix->nparts || !ix->part[0].env || ix->finished)
        return ty__err(ix->err, TY_EINVAL, "%s: not open for adding documents",
                       ix->path ? ix->path : "index");
    ty_part_t *pt = &ix->part[0];
    ty_wtxn_t *t = ix->wtxn;
    if (!t && !(t = ix->wtxn = ty__wtxn_new()))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    if (!t->ws.doc && ty__prep_ws_init(&t->ws))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    /* a new index trains its text dictionary on ty_index_add_docs()'s first chunk: documents
     * added one at a time before that decide it — none */
    ix->dict_decided = 1;
    const char *tx = text ? text : "";
    int rc = ty__prep_sketch(&t->ws, o, (int)pt->hdr.k, (int)pt->hdr.w, name, tx, len, NULL, 0,
                             &t->prep, ix->err);
    if (!rc)
        rc = ty__prep_compress(t->ws.cc, pt->cdict, (int)pt->hdr.zstd_level, name, tx, len,
                               &t->prep, ix->err);
    if (rc)
        return rc; /* nothing stored */
    rc = ty__wtxn_begin(ix, t);
    if (!rc)
        rc = ty__wtxn_store(ix, t, name, strlen(name), origin ? origin : "", 0, len, &t->prep,
                            TY_RUN_PAIRS_DEFAULT, id);
    if (!rc)
        rc = ty__wtxn_commit(ix, t);
    ty__wtxn_abort(t);
    /* a build holds names and postings in memory that an aborted transaction leaves there */
    if (rc && rc != TY_EEXIST && ix->mode == TY_INDEX_CREATE)
        ix->broken = 1;
    if (!rc)
        ty__wtxn_merge(ix);
    return rc;
}
