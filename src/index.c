/*
 * index.c — the corpus index handle: ty_index_new/open/free, and the public calls that read
 * it (stats, get_doc, doc_info, find, verify) or compact it.
 *
 * An index is N parts (index_impl.h): an index file is one part with base 0, a sharded
 * index (a directory, index_shard.c) a part per shard. The calls here work on the parts as
 * they are, with no case for either: a document id goes to the part holding it (its id
 * there is the global id less the part's base), a name is looked up part by part, stats are
 * summed over the parts. Where the parts are written, read and merged: index_impl.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "index_impl.h"

/* the sketch's ranges are ty_opts_check's: an index is sketched with those k and w */
#define F(field, kind, lo, hi, def) TY__OPTF(ty_index_opts_t, field, NULL, kind, lo, hi, def)
static const ty__optfield_t index_fields[] = {
    F(k, TY__OPT_INT, 2, 16, 4),
    F(w, TY__OPT_INT, 1, 256, 8),
    F(zstd_level, TY__OPT_INT, 1, 19, 3),
};
#undef F

void ty_index_opts_init(ty_index_opts_t *o)
{
    ty__opts_reset(o, sizeof *o, TY__ROWS(index_fields));
}

int ty_index_opts_check(const ty_index_opts_t *o, char *msg, size_t msg_size)
{
    return ty__opts_verdict(o, TY__ROWS(index_fields), NULL, NULL, msg, msg_size);
}

ty_index_t *ty_index_new(void) { return calloc(1, sizeof(ty_index_t)); }

const char *ty_index_errmsg(const ty_index_t *ix) { return ix ? ix->err : "no index"; }

const char *ty_index_warning(const ty_index_t *ix) { return ix ? ix->warn : ""; }

void ty_index_free(ty_index_t *ix)
{
    if (!ix)
        return;
    ty__wtxn_free(ix->wtxn);
    ty__build_free(ix); /* an unfinished build: its temporary file goes */
    for (size_t i = 0; i < ix->nparts; i++)
        ty__part_close(&ix->part[i]);
    free(ix->part);
    ty__shards_free(ix->shards);
    free(ix->path);
    free(ix);
}

int ty_index_open(ty_index_t *ix, const char *path, int mode, const ty_index_opts_t *io)
{
    if (!ix || !path || ix->nparts || ix->build)
        return TY_EINVAL;
    ix->err[0] = ix->warn[0] = 0;
    free(ix->path);
    if (!(ix->path = strdup(path)))
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    ix->mode = mode;
    if (mode == TY_INDEX_CREATE) {
        ty_index_opts_t d;
        if (!io) {
            ty_index_opts_init(&d);
            io = &d;
        }
        if (ty_index_opts_check(io, NULL, 0) != TY_OK)
            return ty__err(ix->err, TY_EINVAL, "%s: bad index parameters (k=%d w=%d level=%d)",
                           path, io->k, io->w, io->zstd_level);
        int rc = ty__build_open(ix, io);
        if (rc) {
            ty__build_free(ix);
            free(ix->part);
            ix->part = NULL;
            ix->nparts = 0;
        }
        return rc;
    }
    if (mode != TY_INDEX_READ && mode != TY_INDEX_WRITE)
        return ty__err(ix->err, TY_EINVAL, "%s: bad open mode %d", path, mode);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ty__shards_open(ix, mode, io); /* a sharded index (index_shard.c) */
    ty_part_t *p = calloc(1, sizeof(ty_part_t));
    if (!p)
        return ty__err(ix->err, TY_ENOMEM, "out of memory");
    ty__part_init(p);
    int rc = ty__part_open(p, path, mode, io, ix->err);
    if (rc) {
        ty__part_close(p);
        free(p);
        return rc;
    }
    ix->part = p;
    ix->nparts = 1;
    ix->hdr = p->hdr;
    return TY_OK;
}

/* ---- reads over the parts ------------------------------------------------------------------ */

static int is_open(const ty_index_t *ix) { return ix && ix->nparts && ix->part[0].env; }

/* The part of global id, or NULL (with a message) past the last document of a sharded index.
 * An index file's one part takes every id (its own lookup says whether it is there). */
static ty_part_t *part_of(ty_index_t *ix, uint32_t id)
{
    if (ix->shards && id >= ix->shards->docs) {
        ty__err(ix->err, TY_ENOTFOUND, "%s: no document %u", ix->path, id);
        return NULL;
    }
    return &ix->part[ty__part_of(ix, id)];
}

int ty_index_stats(ty_index_t *ix, ty_index_stats_t *st)
{
    if (!is_open(ix) || !st)
        return TY_EINVAL;
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < ix->nparts; i++) {
        ty_index_stats_t s;
        int rc = ty__part_stats(&ix->part[i], &s, ix->err);
        if (rc)
            return rc;
        st->docs += s.docs;
        st->codepoints += s.codepoints;
        st->bytes += s.bytes;
        st->stored_bytes += s.stored_bytes;
        st->postings += s.postings;
        st->keys += s.keys;
        st->segments += s.segments;
        st->file_bytes += s.file_bytes;
        st->map_bytes += s.map_bytes;
    }
    st->format = ix->hdr.format;
    st->k = (int)ix->hdr.k;
    st->w = (int)ix->hdr.w;
    st->norm_fingerprint = ix->hdr.norm_fingerprint;
    return TY_OK;
}

int ty_index_get_doc(ty_index_t *ix, uint32_t id, ty_doc_t *d, const ty_opts_t *o)
{
    if (!is_open(ix) || !d || !o)
        return TY_EINVAL;
    ty_part_t *p = part_of(ix, id);
    return p ? ty__part_get_doc(p, id - p->base, d, o, ix->err) : TY_ENOTFOUND;
}

int ty_index_doc_info(ty_index_t *ix, uint32_t id, char *name, size_t name_size, char *file,
                      size_t size, uint64_t *line)
{
    if (!is_open(ix))
        return TY_EINVAL;
    ty_part_t *p = part_of(ix, id);
    return p ? ty__part_doc_info(p, id - p->base, name, name_size, file, size, line, ix->err)
             : TY_ENOTFOUND;
}

int ty_index_find(ty_index_t *ix, const char *name, uint32_t *id)
{
    if (!is_open(ix) || !name || !id)
        return TY_EINVAL;
    for (size_t i = 0; i < ix->nparts; i++) {
        uint32_t local;
        int rc = ty__part_find(&ix->part[i], name, &local, ix->err);
        if (rc == TY_OK) {
            *id = ix->part[i].base + local;
            return TY_OK;
        }
        if (rc != TY_ENOTFOUND)
            return rc;
    }
    return ty__err(ix->err, TY_ENOTFOUND, "%s: no document named '%s'", ix->path, name);
}

int ty_index_verify(ty_index_t *ix)
{
    if (!is_open(ix))
        return TY_EINVAL;
    for (size_t i = 0; i < ix->nparts; i++) {
        int rc = ty__part_verify(&ix->part[i], ix->err);
        if (rc)
            return rc;
    }
    return ix->shards ? ty__shards_verify(ix) : TY_OK;
}

int ty_index_compact(ty_index_t *ix)
{
    if (ix && ix->shards)
        return ty__shards_readonly(ix, "compact");
    if (!is_open(ix) || ix->mode != TY_INDEX_WRITE)
        return TY_EINVAL;
    return ty__compact(&ix->part[0], ix->err);
}
