/*
 * dedup_state.c — the file a dedup run's state is saved in (`dedup --save-index DIR`) and read
 * back from (`dedup --against DIR`), so that a later run goes on where an earlier one stopped:
 * its documents are the earlier documents of the new run, and the new documents get the
 * decisions one run over both would give them (docs/dedup.md, "Incremental dedup").
 *
 * Its first part is the format — header, parameters, sections with checksums, the atomic
 * replacement and the lock (also used by the MPI part's carried summaries); its second part
 * is what goes into the sections: the one-process engine's records and tables (the handle,
 * dedup_impl.h), written from and read into a ty_dedup_t.
 *
 * DIR/dedup.state, little-endian:
 *
 *   "TYDDSTAT"  u32 version (1)  u32 0x01020304 (byte order)
 *   sections:   u32 tag, the payload, u64 XXH3-64 of tag + payload
 *     PARM  u32 bytes, "name=value\n" lines: every option the decisions depend on (a run
 *           --against a state made with other values is refused, naming the first that differs)
 *     ...   the engine's sections (documents, keys, tables, the unprocessed last batch)
 *     END.  nothing: a file cut short is told from a complete one
 *
 * Writing: DIR/dedup.state.tmp, flushed and fsync()ed, renamed over DIR/dedup.state, then the
 * directory fsync()ed — an interrupted run leaves the old state as it was (and a stale .tmp,
 * overwritten next time). A run that saves holds an flock() on DIR/dedup.lock from the start
 * to the rename: two runs cannot update one state at once (one would lose the other's).
 *
 * Reading trusts nothing: every count is checked against the bytes left in the file before
 * anything is allocated, each section's checksum is checked at its end, and every error
 * names the file and the byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "dedup_impl.h"

#define MAGIC "TYDDSTAT"
#define VERSION 2u /* 2: spun mode carries popular texts over (CARY) */
#define BOM 0x01020304u

static char *path_in(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* ---- parameters ---------------------------------------------------------------------------- */

/* The options the saved decisions depend on, as "name=value\n" lines named like the CLI's
 * options. Not there: keep (applied at the end, over all documents), threads (no effect),
 * evidence. batch changes spun mode's decisions only. */
static int params_text(const ty__rules_t *R, char *out, size_t cap)
{
    const ty_dedup_opts_t *o = &R->o;
    const ty_opts_t *t = &R->to;
    static const char *modes[] = {"exact", "near", "spun"};
    int n = snprintf(out, cap, "mode=%s\nmax-size-bytes=%zu\ninvalid-utf8=%s\n", modes[o->mode],
                     t->max_doc_bytes, t->utf8_mode == TY_UTF8_REPLACE ? "replace" : "error");
    if (o->mode == TY_DEDUP_NEAR)
        n += snprintf(out + n, cap - (size_t)n, "ngram=%d\nbands=%d\nrows=%d\nseed=%llu\n",
                      o->ngram, o->bands, o->rows, (unsigned long long)o->seed);
    if (o->mode == TY_DEDUP_SPUN)
        n += snprintf(out + n, cap - (size_t)n,
                      "batch=%zu\nsketch-k=%d\nsketch-w=%d\nmax-df=%u\nmin-shared=%u\n"
                      "min-shared-frac=%.17g\nmax-candidates=%d\nmin-containment=%.17g\n"
                      "k=%d\nw=%d\nmax-occ=%d\nmax-gap=%d\ngap-cost=%.17g\ndrift-cost=%.17g\n"
                      "min-chain=%d\nmerge-gap=%d\nmin-len=%d\nmin-score=%.17g\nsnap=%d\n",
                      o->batch, o->k, o->w, o->max_df, o->min_shared, o->min_shared_frac,
                      o->max_candidates, o->min_containment, t->k, t->w, t->max_occ, t->max_gap,
                      t->gap_cost, t->drift_cost, t->min_chain, t->merge_gap, t->min_len,
                      t->min_score, t->snap);
    return n;
}

/* The value of line name= in text (NUL-terminated), its length in *len; NULL if absent. */
static const char *param_get(const char *text, const char *name, size_t nlen, size_t *len)
{
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if ((size_t)(e - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *len = (size_t)(e - p) - nlen - 1;
            return p + nlen + 1;
        }
        p = *e ? e + 1 : e;
    }
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Writer and reader alike: a section's checksum covers the buffer's bytes from the mark
 * (*hstart) to end, added as the buffer is flushed, refilled or the section ends; the mark
 * then moves to end. */
static void hash_upto(XXH3_state_t *hs, const unsigned char *buf, size_t *hstart, size_t end)
{
    if (end > *hstart)
        XXH3_64bits_update(hs, buf + *hstart, end - *hstart);
    *hstart = end;
}

struct ty__sw {
    FILE *f; /* NULL: a writer to memory (mem) */
    char *tmp, *dst, *dir;
    XXH3_state_t *hs;
    unsigned char buf[1 << 16];
    size_t n, hstart;
    int err; /* errno of the first failed write (memory: ENOMEM) */
    TY_VEC(char) mem;
};

static void sw_flush(ty__sw_t *w)
{
    if (w->f) /* (a writer to memory has no sections) */
        hash_upto(w->hs, w->buf, &w->hstart, w->n);
    if (w->n && !w->err && !w->f) {
        if (ty_vec_reserve(w->mem, w->mem.n + w->n))
            w->err = ENOMEM;
        else
            memcpy(w->mem.a + w->mem.n, w->buf, w->n);
        w->mem.n += w->err ? 0 : w->n;
    } else if (w->n && !w->err && fwrite(w->buf, 1, w->n, w->f) != w->n) {
        w->err = errno ? errno : EIO;
    }
    w->n = w->hstart = 0;
}

ty__sw_t *ty__sw_mem(void)
{
    ty__sw_t *w = calloc(1, sizeof(*w));
    if (w && !(w->hs = XXH3_createState())) {
        free(w);
        return NULL;
    }
    return w;
}

size_t ty__sw_mem_len(const ty__sw_t *w) { return w->mem.n + w->n; }

int ty__sw_take(ty__sw_t *w, char **p, size_t *n)
{
    sw_flush(w);
    *p = w->mem.a;
    *n = w->mem.n;
    memset(&w->mem, 0, sizeof w->mem);
    int rc = w->err ? TY_ENOMEM : TY_OK;
    w->err = 0;
    if (rc) {
        free(*p);
        *p = NULL;
        *n = 0;
    }
    return rc;
}

void ty__sw_put(ty__sw_t *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n) {
        if (w->n == sizeof w->buf)
            sw_flush(w);
        size_t k = sizeof w->buf - w->n < n ? sizeof w->buf - w->n : n;
        memcpy(w->buf + w->n, s, k);
        w->n += k;
        s += k;
        n -= k;
    }
}

void ty__sw_u32(ty__sw_t *w, uint32_t v) { ty__sw_put(w, &v, 4); }
void ty__sw_u64(ty__sw_t *w, uint64_t v) { ty__sw_put(w, &v, 8); }
void ty__sw_str(ty__sw_t *w, const char *s, size_t n)
{
    ty__sw_u32(w, (uint32_t)n);
    ty__sw_put(w, s, n);
}

void ty__sw_begin(ty__sw_t *w, uint32_t tag)
{
    if (w->n > w->hstart) /* bytes outside any section: not hashed */
        w->hstart = w->n;
    XXH3_64bits_reset(w->hs);
    ty__sw_u32(w, tag);
}

void ty__sw_end(ty__sw_t *w)
{
    hash_upto(w->hs, w->buf, &w->hstart, w->n);
    ty__sw_u64(w, XXH3_64bits_digest(w->hs));
    w->hstart = w->n;
}

int ty__state_lock(const char *dir, int *fd, char *msg)
{
    *fd = -1;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ty__err(msg, TY_EIO, "%s: cannot create the directory: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ty__err(msg, TY_EIO, "%s: not a directory", dir);
    char *p = path_in(dir, "dedup.lock");
    if (!p)
        return ty__err(msg, TY_ENOMEM, "out of memory");
    int f = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f < 0) {
        ty__err(msg, TY_EIO, "%s: %s", p, strerror(errno));
        free(p);
        return TY_EIO;
    }
    free(p);
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(f);
        if (busy)
            return ty__err(msg, TY_EBUSY,
                           "%s: another dedup run is saving its state here; wait for it to end",
                           dir);
        return ty__err(msg, TY_EIO, "%s: cannot lock: %s", dir, strerror(errno));
    }
    *fd = f;
    return TY_OK;
}

int ty__sw_open(ty__sw_t **out, const char *dir, const ty__rules_t *R, char *msg)
{
    *out = NULL;
    ty__sw_t *w = calloc(1, sizeof(*w));
    if (!w || !(w->hs = XXH3_createState()) || !(w->tmp = path_in(dir, "dedup.state.tmp")) ||
        !(w->dst = path_in(dir, "dedup.state")) || !(w->dir = strdup(dir))) {
        ty__sw_abort(w);
        return ty__err(msg, TY_ENOMEM, "out of memory");
    }
    w->f = fopen(w->tmp, "wbe");
    if (!w->f) {
        ty__err(msg, TY_EIO, "%s: %s", w->tmp, strerror(errno));
        ty__sw_abort(w);
        return TY_EIO;
    }
    ty__sw_put(w, MAGIC, 8);
    ty__sw_u32(w, VERSION);
    ty__sw_u32(w, BOM);
    char p[2048];
    int n = params_text(R, p, sizeof p);
    ty__sw_begin(w, TY__ST_PARM);
    ty__sw_str(w, p, (size_t)n);
    ty__sw_end(w);
    *out = w;
    return TY_OK;
}

int ty__sw_commit(ty__sw_t *w, char *msg)
{
    ty__sw_begin(w, TY__ST_END);
    ty__sw_end(w);
    sw_flush(w);
    int rc = TY_OK;
    if (w->err || fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        rc = ty__err(msg, TY_EIO, "%s: %s", w->tmp, strerror(w->err ? w->err : errno));
    if (fclose(w->f) != 0 && !rc)
        rc = ty__err(msg, TY_EIO, "%s: %s", w->tmp, strerror(errno));
    w->f = NULL;
    if (!rc && rename(w->tmp, w->dst) != 0)
        rc =
            ty__err(msg, TY_EIO, "%s: cannot rename it to %s: %s", w->tmp, w->dst, strerror(errno));
    if (!rc) { /* the rename itself must survive a crash */
        int d = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
            fsync(d);
            close(d);
        }
        free(w->tmp);
        w->tmp = NULL; /* nothing to remove */
    }
    ty__sw_abort(w);
    return rc;
}

void ty__sw_abort(ty__sw_t *w)
{
    if (!w)
        return;
    if (w->f)
        fclose(w->f);
    if (w->tmp)
        unlink(w->tmp);
    if (w->hs)
        XXH3_freeState(w->hs);
    TY_FREE(w->tmp, w->dst, w->dir, w->mem.a, w);
}

/* ---- reading ------------------------------------------------------------------------------- */

struct ty__sr {
    FILE *f;
    char *path;
    char *msg; /* the caller's, TY_ERRMSG_SIZE */
    XXH3_state_t *hs;
    unsigned char buf[1 << 16];
    size_t pos, len, hstart;
    uint64_t off, size; /* file offset of buf[0]; file size */
    uint64_t sec;       /* where the current section starts */
};

int ty__sr_bad(ty__sr_t *r, uint64_t at, const char *fmt, ...)
{
    char why[TY_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return ty__err(r->msg, TY_ECORRUPT, "%s: byte %llu: %s (damaged, or not written by tongyuan)",
                   r->path, (unsigned long long)at, why);
}

uint64_t ty__sr_tell(const ty__sr_t *r) { return r->off + r->pos; }
uint64_t ty__sr_left(const ty__sr_t *r) { return r->size - ty__sr_tell(r); }

int ty__sr_get(ty__sr_t *r, void *p, size_t n)
{
    unsigned char *d = p;
    if (n > ty__sr_left(r))
        return ty__sr_bad(r, ty__sr_tell(r), "the file ends %llu bytes into a field of %zu",
                          (unsigned long long)ty__sr_left(r), n);
    while (n) {
        if (r->pos == r->len) {
            hash_upto(r->hs, r->buf, &r->hstart, r->len);
            r->off += r->len;
            r->pos = r->hstart = 0;
            r->len = fread(r->buf, 1, sizeof r->buf, r->f);
            if (!r->len)
                return ty__err(r->msg, TY_EIO, "%s: byte %llu: cannot read: %s", r->path,
                               (unsigned long long)r->off,
                               ferror(r->f) ? strerror(errno) : "the file got shorter");
        }
        size_t k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(d, r->buf + r->pos, k);
        r->pos += k;
        d += k;
        n -= k;
    }
    return TY_OK;
}

int ty__sr_u32(ty__sr_t *r, uint32_t *v) { return ty__sr_get(r, v, 4); }
int ty__sr_u64(ty__sr_t *r, uint64_t *v) { return ty__sr_get(r, v, 8); }

int ty__sr_count(ty__sr_t *r, const char *what, uint64_t rec_bytes, uint64_t max, uint64_t *n)
{
    uint64_t at = ty__sr_tell(r);
    int rc = ty__sr_u64(r, n);
    if (rc)
        return rc;
    if (*n > max || (rec_bytes && *n > ty__sr_left(r) / rec_bytes))
        return ty__sr_bad(r, at, "%llu %s: more than the file can hold", (unsigned long long)*n,
                          what);
    return TY_OK;
}

int ty__sr_begin(ty__sr_t *r, uint32_t tag)
{
    r->hstart = r->pos;
    XXH3_64bits_reset(r->hs);
    uint64_t at = ty__sr_tell(r);
    r->sec = at;
    uint32_t t;
    int rc = ty__sr_u32(r, &t);
    if (rc)
        return rc;
    if (t != tag)
        return ty__sr_bad(r, at, "section %.4s expected, found %08x", (const char *)&tag, t);
    return TY_OK;
}

int ty__sr_end(ty__sr_t *r)
{
    hash_upto(r->hs, r->buf, &r->hstart, r->pos);
    uint64_t want = XXH3_64bits_digest(r->hs), got, at = ty__sr_tell(r);
    int rc = ty__sr_u64(r, &got);
    r->hstart = r->pos;
    if (rc)
        return rc;
    if (got != want)
        return ty__sr_bad(r, at, "the checksum of the section of bytes %llu-%llu does not match",
                          (unsigned long long)r->sec, (unsigned long long)at);
    return TY_OK;
}

void ty__sr_close(ty__sr_t *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    if (r->hs)
        XXH3_freeState(r->hs);
    free(r->path);
    free(r);
}

int ty__sr_open(ty__sr_t **out, const char *dir, const ty__rules_t *R, char *msg)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0)
        return ty__err(msg, errno == ENOENT ? TY_ENOTFOUND : TY_EIO, "%s: %s", dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ty__err(msg, TY_ENOTFOUND, "%s: not a directory written by dedup --save-index", dir);
    ty__sr_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->hs = XXH3_createState()) || !(r->path = path_in(dir, "dedup.state"))) {
        ty__sr_close(r);
        return ty__err(msg, TY_ENOMEM, "out of memory");
    }
    r->msg = msg;
    r->f = fopen(r->path, "rbe");
    if (!r->f || fstat(fileno(r->f), &st) != 0) {
        int e = errno;
        ty__err(msg, e == ENOENT ? TY_ENOTFOUND : TY_EIO, "%s: %s", r->path, strerror(e));
        ty__sr_close(r);
        return e == ENOENT ? TY_ENOTFOUND : TY_EIO;
    }
    r->size = (uint64_t)st.st_size;
    char magic[8] = {0};
    uint32_t ver = 0, bom = 0;
    int rc = ty__sr_get(r, magic, r->size < 8 ? (size_t)r->size : 8);
    if (!rc && (r->size < 16 || memcmp(magic, MAGIC, 8) != 0))
        rc = ty__err(msg, TY_ECORRUPT, "%s: not a dedup state file (no TYDDSTAT at byte 0)",
                     r->path);
    if (!rc)
        rc = ty__sr_u32(r, &ver);
    if (!rc)
        rc = ty__sr_u32(r, &bom);
    if (!rc && ver != VERSION)
        rc = ty__err(msg, TY_EVERSION,
                     "%s: format version %u; this tongyuan reads version %u (run it again "
                     "with this tongyuan to make a new state)",
                     r->path, ver, VERSION);
    if (!rc && bom != BOM)
        rc = ty__err(msg, TY_EVERSION, "%s: written on a machine of another byte order", r->path);
    /* the parameters: the same as this run's, or the first that differs is named */
    uint32_t plen = 0;
    char *p = NULL;
    if (!rc)
        rc = ty__sr_begin(r, TY__ST_PARM);
    if (!rc && !(rc = ty__sr_u32(r, &plen)) && plen > 65536)
        rc = ty__sr_bad(r, ty__sr_tell(r) - 4, "a parameter block of %u bytes", plen);
    if (!rc && !(p = malloc(plen + 1)))
        rc = ty__err(msg, TY_ENOMEM, "out of memory");
    if (!rc && !(rc = ty__sr_get(r, p, plen)) && !(rc = ty__sr_end(r))) {
        p[plen] = 0;
        if (memchr(p, 0, plen))
            rc = ty__sr_bad(r, ty__sr_tell(r), "a NUL byte in the parameters");
    }
    if (!rc) {
        char mine[2048];
        params_text(R, mine, sizeof mine);
        for (const char *q = mine; *q && !rc;) {
            const char *eq = strchr(q, '='), *nl = strchr(q, '\n');
            size_t nlen = (size_t)(eq - q), vlen = (size_t)(nl - eq - 1), slen;
            const char *sv = param_get(p, q, nlen, &slen);
            if (!sv)
                rc = ty__err(msg, TY_EVERSION,
                             "%s: made without --%.*s (another mode, or another version)", r->path,
                             (int)nlen, q);
            else if (slen != vlen || memcmp(sv, eq + 1, vlen) != 0)
                rc = ty__err(msg, TY_EVERSION,
                             "%s: made with --%.*s %.*s, this run has --%.*s %.*s (the "
                             "decisions depend on it: run with the same value)",
                             r->path, (int)nlen, q, (int)slen, sv, (int)nlen, q, (int)vlen, eq + 1);
            q = nl + 1;
        }
    }
    free(p);
    if (rc) {
        ty__sr_close(r);
        return rc;
    }
    *out = r;
    return TY_OK;
}

/* ---- what is in the file: the engine's records and tables ------------------------------

 * The state is the handle's: every processed document's record, cluster entry and (near)
 * signature; the tables of exact keys, band keys and minimizers; the counters. In spun mode
 * it is taken before the last, partial batch is processed, and that batch's documents are
 * saved as they were added (names and texts): a later run loads the state and adds them again
 * before its own, so its first batch holds what the batch of one run over both would have
 * held — the batch a document is in changes what counts as boilerplate and which copy a copy
 * is linked to. Exact and near mode's decisions do not depend on batches: their state is
 * taken after the last batch. Either way the new documents get the decisions of one run over
 * old + new, by construction.
 * Tables are written as their entries (key, values) and inserted again when read: the slots
 * and the postings pool are rebuilt, nothing of their layout is trusted. */

typedef TY_VEC(char) charvec_t;

static void put_f32(ty__sw_t *w, float f) { ty__sw_put(w, &f, 4); }

/* Slot i of a table of cap slots (a power of two) in the order its entries are written: a
 * permutation (an odd multiplier is a bijection modulo 2^k) that is not the hash order. Keys
 * read back in the order of their slots pile up in one run of the loader's table while it is
 * still smaller (linear probing): 800,000 band keys took 30 s to insert, against 0.1 s. */
static size_t nth_slot(size_t i, size_t cap)
{
    return (size_t)((i * 0x9E3779B97F4A7C15ULL) & (cap - 1));
}

/* Room for n keys in map m before they are inserted (one allocation, no rehashing). */
static int map_room(ty__map_t *m, uint64_t n)
{
    return n > SIZE_MAX / 4 || ty__map_reserve(m, (size_t)n) ? TY_ENOMEM : TY_OK;
}

/* A record of a run as it is in the file (ty__sruns_each). */
static void put_rec(void *ctx, const char *rec, size_t n) { ty__sw_put(ctx, rec, n); }

/* ---- the records, for both engines (this process's below, the MPI ranks' in mpi/) ------- */

void ty__st_put_doc(ty__sw_t *w, const ty__rules_t *R, const ty__st_doc_t *d)
{
    ty__sw_str(w, d->name, strlen(d->name));
    ty__sw_u32(w, d->len);
    ty__sw_u32(w, d->ntok);
    ty__sw_u32(w, d->nmz);
    ty__sw_u32(w, d->indexed ? 1 : 0);
    if (d->indexed)
        ty__sw_str(w, d->ctext, d->clen);
    ty__sw_u32(w, d->c.parent);
    ty__sw_u32(w, d->c.best);
    put_f32(w, d->c.best_sim);
    put_f32(w, d->c.best_cont);
    ty__sw_u32(w, d->c.ncp);
    ty__sw_u32(w, (uint32_t)d->c.err);
    if (R->o.mode == TY_DEDUP_NEAR)
        ty__sw_put(w, d->sig, (size_t)R->perms * 4);
}

void ty__st_put_keys(ty__sw_t *w, const ty__xmap_t *ex, size_t i0, size_t i1)
{
    for (size_t i = i0, s; i < i1; i++)
        if (ex->a[s = nth_slot(i, ex->cap)].lo) {
            ty__sw_u64(w, ex->a[s].lo);
            ty__sw_u64(w, ex->hi.a[ex->a[s].at]);
            ty__sw_u32(w, ex->a[s].g);
        }
}

void ty__st_put_bands(ty__sw_t *w, const ty__map_t *m, size_t i0, size_t i1)
{
    for (size_t i = i0, s; i < i1; i++)
        if (m->a[s = nth_slot(i, m->cap)].key) {
            ty__sw_u64(w, m->a[s].key);
            ty__sw_u32(w, m->a[s].val);
        }
}

void ty__st_put_minz(ty__sw_t *w, const ty__rules_t *R, const ty__mztab_t *t, size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        const ty__kv_t *e = &t->map.a[nth_slot(i, t->map.cap)];
        if (!e->key)
            continue;
        ty__sw_u64(w, e->key);
        ty__sw_u32(w, e->val);
        if (!ty__boiler(R, e->val)) { /* its documents, in the order they came */
            uint32_t one, k;
            const uint32_t *d = ty__mztab_docs(t, e, &one, &k);
            ty__sw_put(w, d, (size_t)k * 4);
        }
    }
}

void ty__st_put_stat(ty__sw_t *w, const uint64_t v[6])
{
    ty__sw_begin(w, TY__ST_STAT);
    for (int i = 0; i < 6; i++)
        ty__sw_u64(w, v[i]);
    ty__sw_end(w);
}

void ty__st_put_pend(ty__sw_t *w, const char *name, int refused, const char *text, size_t len)
{
    ty__sw_str(w, name, strlen(name));
    ty__sw_u32(w, refused ? 1 : 0); /* refused when added (too big): text is the message */
    ty__sw_str(w, text, len);
}

/* A string of at most max bytes into *buf (grown; NUL-terminated), its length in *len. */
static int get_str(ty__sr_t *r, charvec_t *buf, uint32_t max, uint32_t *len, char *err)
{
    uint64_t at = ty__sr_tell(r);
    int rc = ty__sr_u32(r, len);
    if (rc)
        return rc;
    if (*len > max || *len > ty__sr_left(r))
        return ty__sr_bad(r, at, "a string of %u bytes: more than the file holds", *len);
    if (ty_vec_reserve(*buf, (size_t)*len + 1))
        return ty__err(err, TY_ENOMEM, "out of memory");
    buf->a[*len] = 0;
    return ty__sr_get(r, buf->a, *len);
}

static int get_f32(ty__sr_t *r, float *f) { return ty__sr_get(r, f, 4); }

static int sink_oom(int rc, char *err)
{
    return rc == TY_ENOMEM ? ty__err(err, TY_ENOMEM, "out of memory") : rc;
}

int ty__st_get_docs(ty__sr_t *r, const ty__rules_t *R, ty__st_doc_fn fn, void *ctx,
                    uint8_t **flagsp, uint64_t *np, uint64_t *errors, char *err)
{
    int near = R->o.mode == TY_DEDUP_NEAR, spun = R->o.mode == TY_DEDUP_SPUN;
    size_t sig = near ? (size_t)R->perms * 4 : 0;
    uint64_t n;
    *flagsp = NULL;
    *errors = 0;
    int rc = ty__sr_begin(r, TY__ST_DOCS);
    if (!rc)
        rc = ty__sr_count(r, "documents", 44 + sig, NONE - 2, &n);
    if (rc)
        return rc;
    uint8_t *fl = calloc(n + 1, 1);
    uint32_t *sg = near ? malloc(sig) : NULL;
    charvec_t name = {0}, ctext = {0};
    if (!fl || (near && !sg))
        rc = ty__err(err, TY_ENOMEM, "out of memory");
    if (!rc)
        rc = sink_oom(fn(ctx, 0, n, NULL), err);
    for (uint32_t i = 0; !rc && i < n; i++) {
        uint64_t at = ty__sr_tell(r);
        ty__st_doc_t d;
        ty__clu_t *c = &d.c;
        uint32_t len, flags, e;
        memset(&d, 0, sizeof d);
        if ((rc = get_str(r, &name, 1u << 24, &len, err)) || (rc = ty__sr_u32(r, &d.len)) ||
            (rc = ty__sr_u32(r, &d.ntok)) || (rc = ty__sr_u32(r, &d.nmz)) ||
            (rc = ty__sr_u32(r, &flags)))
            break;
        if (flags > 1 || (flags && !spun)) {
            rc = ty__sr_bad(r, at, "document %u: flags %u", i, flags);
            break;
        }
        if (flags && (rc = get_str(r, &ctext, UINT32_MAX, &d.clen, err)))
            break;
        if ((rc = ty__sr_u32(r, &c->parent)) || (rc = ty__sr_u32(r, &c->best)) ||
            (rc = get_f32(r, &c->best_sim)) || (rc = get_f32(r, &c->best_cont)) ||
            (rc = ty__sr_u32(r, &c->ncp)) || (rc = ty__sr_u32(r, &e)))
            break;
        c->err = (int32_t)e;
        /* a root is the earliest document of its cluster: parents never point forward, so
         * the union-find walks end; a document left out (err) is in no cluster */
        if (c->parent > i || (c->best != NONE && c->best >= n) ||
            !(c->best_sim >= 0 && c->best_sim <= 1 && c->best_cont >= 0 && c->best_cont <= 1) ||
            c->err > 0 || c->err < -64 || (c->err && (c->parent != i || c->best != NONE)) ||
            (c->parent != i && (fl[c->parent] & TY__ST_FERR))) {
            rc = ty__sr_bad(r, at, "document %u: a cluster entry out of range", i);
            break;
        }
        if (near && (rc = ty__sr_get(r, sg, sig)))
            break;
        *errors += c->err != 0;
        fl[i] = (uint8_t)((c->err ? TY__ST_FERR : 0) | (flags ? TY__ST_FINDEXED : 0));
        d.name = name.a;
        d.indexed = (int)flags;
        d.ctext = flags ? ctext.a : NULL;
        d.sig = sg;
        rc = sink_oom(fn(ctx, i, n, &d), err);
    }
    TY_FREE(name.a, ctext.a, sg);
    if (!rc)
        rc = ty__sr_end(r);
    if (rc) {
        free(fl);
        return rc;
    }
    *flagsp = fl;
    *np = n;
    return TY_OK;
}

/* Document id g, read at offset at, must be one of the n documents (spun: an indexed one:
 * only those have a text to align). */
static int check_doc(const ty__rules_t *R, const uint8_t *fl, uint64_t n, ty__sr_t *r, uint64_t at,
                     uint32_t g)
{
    int spun = R->o.mode == TY_DEDUP_SPUN;
    if (g >= n || (spun && !(fl[g] & TY__ST_FINDEXED)))
        return ty__sr_bad(r, at, "document %u: not a %sdocument of the state", g,
                          spun ? "kept (indexed) " : "");
    return TY_OK;
}

/* One table entry {u64 key, [u64 hi: with_hi], u32 document}, read and checked (a key 0, a
 * document not of the state); *keep: the key is this engine's (mine). */
static int get_entry(ty__sr_t *r, const ty__rules_t *R, const uint8_t *fl, uint64_t nd, int with_hi,
                     const char *what, ty__st_mine_fn mine, void *ctx, uint64_t *key, uint64_t *hi,
                     uint32_t *g, int *keep)
{
    uint64_t at = ty__sr_tell(r);
    int rc = ty__sr_u64(r, key);
    if (!rc && with_hi)
        rc = ty__sr_u64(r, hi);
    if (!rc)
        rc = ty__sr_u32(r, g);
    if (!rc)
        rc = check_doc(R, fl, nd, r, at, *g);
    if (!rc && !*key)
        rc = ty__sr_bad(r, at, "%s that is 0", what);
    *keep = !rc && (!mine || mine(ctx, *key));
    return rc;
}

int ty__st_get_tables(ty__sr_t *r, const ty__rules_t *R, const uint8_t *fl, uint64_t nd,
                      ty__st_mine_fn mine, void *ctx, ty__st_room_fn room, void *rctx,
                      ty__xmap_t *ex, ty__map_t *bands, ty__mztab_t *gmz, ty__carry_t *carry,
                      char *err)
{
#define ROOM(i) (room && ((i)&1023) == 1023 ? room(rctx) : TY_OK)
    uint64_t n, at;
    int rc = ty__sr_begin(r, TY__ST_KEYS);
    if (!rc)
        rc = ty__sr_count(r, "exact keys", 20, NONE, &n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        uint64_t lo, hi;
        uint32_t g, first;
        int keep;
        at = ty__sr_tell(r);
        if ((rc = get_entry(r, R, fl, nd, 1, "an exact key", mine, ctx, &lo, &hi, &g, &keep)) ||
            !keep)
            continue;
        size_t before = ex->n;
        if (ty__xmap_first(ex, lo, hi, g, &first))
            return ty__err(err, TY_ENOMEM, "out of memory");
        if (ex->n == before)
            rc = ty__sr_bad(r, at, "an exact key listed twice");
        else
            rc = ROOM(i);
    }
    if (!rc)
        rc = ty__sr_end(r);
    if (!rc && R->o.mode == TY_DEDUP_NEAR) {
        rc = ty__sr_begin(r, TY__ST_BAND);
        if (!rc)
            rc = ty__sr_count(r, "band keys", 12, NONE, &n);
        if (!rc && !room && map_room(bands, mine ? n / 2 : n))
            return ty__err(err, TY_ENOMEM, "out of memory");
        for (uint64_t i = 0; !rc && i < n; i++) {
            uint64_t key;
            uint32_t g;
            int isnew, keep;
            at = ty__sr_tell(r);
            if ((rc = get_entry(r, R, fl, nd, 0, "a band key", mine, ctx, &key, NULL, &g, &keep)) ||
                !keep)
                continue;
            ty__kv_t *e = ty__map_put(bands, key, &isnew);
            if (!e)
                return ty__err(err, TY_ENOMEM, "out of memory");
            e->val = g;
            rc = isnew ? ROOM(i) : ty__sr_bad(r, at, "a band key listed twice");
        }
        if (!rc)
            rc = ty__sr_end(r);
    }
    if (!rc && R->o.mode == TY_DEDUP_SPUN) {
        rc = ty__sr_begin(r, TY__ST_MINZ);
        if (!rc)
            rc = ty__sr_count(r, "minimizers", 12, NONE, &n);
        if (!rc && !room && map_room(&gmz->map, mine ? n / 2 : n))
            return ty__err(err, TY_ENOMEM, "out of memory");
        size_t frequent = 0;
        for (uint64_t i = 0; !rc && i < n; i++) {
            uint64_t key;
            uint32_t df, g, prev = 0;
            at = ty__sr_tell(r);
            if ((rc = ty__sr_u64(r, &key)) || (rc = ty__sr_u32(r, &df)))
                break;
            int keep = !mine || mine(ctx, key);
            if (!key || !df || (keep && ty__map_find(&gmz->map, key))) {
                rc = ty__sr_bad(r, at, "a minimizer that is 0, in no document or listed twice");
                break;
            }
            if (ty__boiler(R, df)) { /* boilerplate: counted, no postings */
                int isnew;
                ty__kv_t *e = keep ? ty__map_put(&gmz->map, key, &isnew) : NULL;
                if (keep && !e)
                    return ty__err(err, TY_ENOMEM, "out of memory");
                if (e) {
                    e->val = df;
                    e->aux = NONE;
                }
                rc = ROOM(i);
                continue;
            }
            if ((uint64_t)df * 4 > ty__sr_left(r)) {
                rc = ty__sr_bad(r, at, "a minimizer in %u documents: more than the file holds", df);
                break;
            }
            for (uint32_t x = 0; !rc && x < df; x++) { /* rebuilt as the documents came */
                uint64_t gat = ty__sr_tell(r);
                if ((rc = ty__sr_u32(r, &g)) || (rc = check_doc(R, fl, nd, r, gat, g)))
                    break;
                if (x && g <= prev)
                    rc = ty__sr_bad(r, gat, "postings not in increasing order");
                else if (keep && ty__mztab_add(gmz, key, g, 0, R->o.max_df, &frequent))
                    return ty__err(err, TY_ENOMEM, "out of memory");
                prev = g;
            }
            if (!rc)
                rc = ROOM(i);
        }
        if (!rc)
            rc = ty__sr_end(r);
        if (!rc && (rc = ty__carry_load(r, carry)) == TY_ENOMEM)
            return ty__err(err, TY_ENOMEM, "out of memory");
    }
    return rc;
#undef ROOM
}

int ty__st_get_stat(ty__sr_t *r, uint64_t n, uint64_t errors, uint64_t v[6])
{
    uint64_t at = ty__sr_tell(r);
    int rc = ty__sr_begin(r, TY__ST_STAT);
    for (int i = 0; !rc && i < 6; i++)
        rc = ty__sr_u64(r, &v[i]);
    if (!rc && (v[0] != n || v[1] != errors || v[4] > v[0]))
        rc = ty__sr_bad(r, at, "counters that do not fit the documents");
    return rc ? rc : ty__sr_end(r);
}

int ty__st_get_pend(ty__sr_t *r, ty__st_pend_fn fn, void *ctx, char *err)
{
    uint64_t n, at;
    int rc = ty__sr_begin(r, TY__ST_PEND);
    if (!rc)
        rc = ty__sr_count(r, "documents of the last batch", 12, NONE - 2, &n);
    charvec_t name = {0}, buf = {0};
    for (uint64_t i = 0; !rc && i < n; i++) {
        uint32_t len, refused;
        at = ty__sr_tell(r);
        if ((rc = get_str(r, &name, 1u << 24, &len, err)) || (rc = ty__sr_u32(r, &refused)))
            break;
        if (refused > 1) {
            rc = ty__sr_bad(r, at, "a document of the last batch: flags %u", refused);
            break;
        }
        if ((rc = get_str(r, &buf, UINT32_MAX, &len, err)))
            break;
        rc = fn(ctx, name.a, refused ? NULL : buf.a, refused ? 0 : len, refused ? buf.a : NULL);
    }
    free(name.a);
    free(buf.a);
    if (!rc)
        rc = ty__sr_end(r);
    if (!rc)
        rc = ty__sr_begin(r, TY__ST_END);
    if (!rc)
        rc = ty__sr_end(r);
    if (!rc && ty__sr_left(r))
        rc = ty__sr_bad(r, ty__sr_tell(r), "%llu bytes after the end",
                        (unsigned long long)ty__sr_left(r));
    return rc;
}

/* ---- this process's handle --------------------------------------------------------------- */

static void put_mz(void *ctx, uint64_t key, uint32_t df, const uint32_t *docs)
{
    ty__sw_u64(ctx, key);
    ty__sw_u32(ctx, df);
    if (docs)
        ty__sw_put(ctx, docs, (size_t)df * 4);
}

int ty__dd_write_state(ty_dedup_t *dd)
{
    const ty__rules_t *R = &dd->R;
    int near = R->o.mode == TY_DEDUP_NEAR, spun = R->o.mode == TY_DEDUP_SPUN;
    ty__sw_t *w;
    int rc = ty__sw_open(&w, dd->save_dir, R, dd->err);
    if (rc)
        return rc;
    size_t n = dd->base; /* processed; [base, base + nb) are the last batch's */
    size_t sig = near ? (size_t)R->perms * 4 : 0, cap = 0;
    char *buf = NULL;
    ty__sw_begin(w, TY__ST_DOCS);
    ty__sw_u64(w, n);
    for (size_t i = 0; i < n; i++) {
        const drec_t *r = &dd->docs.a[i];
        /* spilled or not, the same bytes (dedup_spill.c) */
        const char *ct = r->indexed ? ty__blobs_read(&dd->texts, r->coff, r->clen, &buf, &cap) : "";
        const char *sg = near ? ty__blobs_get(&dd->sigs, i * sig, sig, dd->sigbuf) : "";
        if (!ct || !sg) {
            free(buf);
            ty__sw_abort(w);
            return ty__err(dd->err, TY_EIO,
                           "reading the texts and signatures back from %s "
                           "(tmp_dir) failed",
                           dd->sp.dir);
        }
        ty__st_doc_t d = {
            r->name, r->len,         r->ntok,
            r->nmz,  r->indexed,     ct,
            r->clen, dd->clu.d.a[i], near ? (const uint32_t *)(const void *)sg : NULL};
        ty__st_put_doc(w, R, &d);
    }
    free(buf);
    ty__sw_end(w);
    ty__sw_begin(w, TY__ST_KEYS);
    ty__sw_u64(w, dd->ex.n + dd->exr.n); /* the memory table's, then the runs' */
    ty__st_put_keys(w, &dd->ex, 0, dd->ex.cap);
    rc = ty__sruns_each(&dd->exr, put_rec, w); /* records as written: u64, u64, u32 */
    ty__sw_end(w);
    if (near && !rc) {
        ty__sw_begin(w, TY__ST_BAND);
        ty__sw_u64(w, dd->bands.n + dd->bandr.n);
        ty__st_put_bands(w, &dd->bands, 0, dd->bands.cap);
        rc = ty__sruns_each(&dd->bandr, put_rec, w); /* u64, u32 */
        ty__sw_end(w);
    }
    if (rc) {
        ty__sw_abort(w);
        return ty__err(dd->err, rc, "reading a temporary file in %s (tmp_dir) failed", dd->sp.dir);
    }
    if (spun) { /* spilled: the memory table is written out and the runs merged into one */
        if (dd->mzr.r.n && (rc = ty__dd_mz_merge(dd))) {
            ty__sw_abort(w);
            return rc;
        }
        ty__sw_begin(w, TY__ST_MINZ);
        ty__sw_u64(w, dd->gmz.map.n + dd->mzr.n);            /* one of them is 0 */
        ty__st_put_minz(w, R, &dd->gmz, 0, dd->gmz.map.cap); /* the memory table... */
        rc = ty__dd_mz_each(dd, put_mz, w);                  /* ...or the merged run */
        ty__sw_end(w);
        if (rc) {
            ty__sw_abort(w);
            return ty__err(dd->err, rc, "reading a temporary file in %s (tmp_dir) failed",
                           dd->sp.dir);
        }
    }
    const ty_dedup_stats_t *st = &dd->st;
    if (spun) /* the popular texts the next batch's groups see (ty__groups_join) */
        ty__carry_save(w, &dd->carry);
    uint64_t v[6] = {n, st->errors, st->links, st->candidates, st->indexed, st->frequent};
    ty__st_put_stat(w, v);
    ty__sw_begin(w, TY__ST_PEND);
    ty__sw_u64(w, dd->nb);
    for (size_t j = 0; j < dd->nb; j++) {
        const bdoc_t *b = &dd->batch[j];
        const char *name = dd->docs.a[dd->base + j].name;
        if (b->err)
            ty__st_put_pend(w, name, 1, b->msg ? b->msg : "", b->msg ? strlen(b->msg) : 0);
        else
            ty__st_put_pend(w, name, 0, dd->btext.a + b->text_off, b->len);
    }
    ty__sw_end(w);
    dd->save = w; /* the end and the rename: ty_dedup_commit_state() */
    return TY_OK;
}

/* Each saved document into the handle (ty__st_get_docs). */
static int load_doc(void *ctx, uint64_t i, uint64_t n, const ty__st_doc_t *s)
{
    ty_dedup_t *dd = ctx;
    const ty__rules_t *R = &dd->R;
    if (!s) /* the count, first */
        return ty_vec_reserve(dd->docs, n + 1) || ty__clu_add(&dd->clu, n) ? TY_ENOMEM : TY_OK;
    drec_t *d = &dd->docs.a[i];
    memset(d, 0, sizeof(*d));
    if (!(d->name = arena_put(&dd->names, s->name, strlen(s->name), 1)))
        return TY_ENOMEM;
    d->len = s->len;
    d->ntok = s->ntok;
    d->nmz = s->nmz;
    if (s->indexed) {
        if (ty__blobs_put(&dd->texts, s->ctext, s->clen, &d->coff))
            return TY_ENOMEM;
        d->clen = s->clen;
        d->indexed = 1;
    }
    dd->clu.d.a[i] = s->c;
    uint64_t off;
    if (R->o.mode == TY_DEDUP_NEAR && ty__blobs_put(&dd->sigs, s->sig, (size_t)R->perms * 4, &off))
        return TY_ENOMEM;
    dd->docs.n = i + 1;
    if ((i & 65535) == 65535) /* a large state spills as it loads */
        return ty__dd_budget(dd);
    return TY_OK;
}

/* While the tables load: past the budget they spill, as they do between batches, so a state
 * larger than the budget never passes through memory whole. The minimizers spilled are
 * counted here (dd->nmz), the rest when the load ends. */
static int load_room(void *ctx)
{
    ty_dedup_t *dd = ctx;
    size_t had = dd->gmz.map.n;
    int rc = ty__dd_budget(dd);
    if (dd->gmz.map.n < had)
        dd->nmz += had;
    return rc;
}

/* The saved last batch: added again, before this run's documents. */
static int load_pend(void *ctx, const char *name, const char *text, size_t len, const char *refused)
{
    return ty__dd_add_doc(ctx, name, text, len, refused);
}

int ty_dedup_load_state(ty_dedup_t *dd, const char *dir)
{
    if (!dd || !dir)
        return TY_EINVAL;
    if (dd->docs.n || dd->finished || dd->failed)
        return ty__err(dd->err, TY_EINVAL, "a state is loaded before the first document");
    ty__sr_t *r;
    int rc = ty__sr_open(&r, dir, &dd->R, dd->err);
    if (rc)
        return rc;
    uint8_t *flags = NULL;
    uint64_t n = 0, errors = 0, v[6];
    rc = ty__st_get_docs(r, &dd->R, load_doc, dd, &flags, &n, &errors, dd->err);
    if (!rc) {
        dd->base = n;
        rc = ty__st_get_tables(r, &dd->R, flags, n, NULL, NULL, load_room, dd, &dd->ex, &dd->bands,
                               &dd->gmz, &dd->carry, dd->err);
        dd->nmz += dd->gmz.map.n; /* distinct minimizers (spun), kept as the table spills */
    }
    if (!rc)
        rc = ty__st_get_stat(r, n, errors, v);
    if (!rc) {
        dd->st.docs = v[0];
        dd->st.errors = v[1];
        dd->st.links = v[2];
        dd->st.candidates = v[3];
        dd->st.indexed = v[4];
        dd->st.frequent = v[5];
        rc = ty__st_get_pend(r, load_pend, dd, dd->err);
    }
    if (!rc)
        rc = ty__dd_budget(dd); /* past the budget, what was loaded goes to disk */
    free(flags);
    ty__sr_close(r);
    if (rc)
        dd->failed = rc; /* half loaded: the handle takes nothing more */
    return rc;
}

int ty_dedup_save_state(ty_dedup_t *dd, const char *dir)
{
    if (!dd || !dir)
        return TY_EINVAL;
    if (dd->finished || dd->save_dir)
        return ty__err(dd->err, TY_EINVAL,
                       "ty_dedup_save_state() after ty_dedup_finish() or "
                       "twice");
    int rc = ty__state_lock(dir, &dd->lockfd, dd->err);
    if (!rc && !(dd->save_dir = strdup(dir)))
        rc = ty__err(dd->err, TY_ENOMEM, "out of memory");
    return rc;
}

int ty_dedup_commit_state(ty_dedup_t *dd)
{
    if (!dd)
        return TY_EINVAL;
    if (!dd->finished || !dd->save)
        return ty__err(dd->err, TY_EINVAL,
                       "no state to save: ty_dedup_save_state() and "
                       "ty_dedup_finish() come first");
    ty__sw_t *w = dd->save;
    dd->save = NULL;
    return ty__sw_commit(w, dd->err);
}
