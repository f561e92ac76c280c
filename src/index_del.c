/*
 * index_del.c — deleting documents from the corpus index, by tombstone.
 *
 * A deleted document keeps its record, text, name entry and postings; a tombstone
 * "del:" ‖ doc id (u32 big-endian) in the meta table marks it deleted. Why not remove it:
 * its postings are spread over the posting segments (and any removal there would rewrite
 * them), the queries and ty_index_verify() expect every id below the document count to
 * have a record, and the name table must map every record's name. A tombstone is one small
 * key in one committed transaction: crash-safe like an add.
 *
 * Searches (search.c) and ty_index_get_doc() skip documents with a tombstone. Shortcuts
 * taken on purpose:
 *  - the name stays taken: a deleted document's name cannot be added again;
 *  - the space is not reclaimed, and ty_index_stats() still counts the document.
 */
#include <errno.h>
#include <string.h>

#include "index_impl.h"

int ty_index_delete(ty_index_t *ix, const char *name, uint32_t *id_out)
{
    if (!ix || !name)
        return TY_EINVAL;
    if (ix->shards)
        return ty__shards_readonly(ix, "delete documents");
    if (!ix->nparts || !ix->part[0].env)
        return TY_EINVAL;
    if (ix->mode != TY_INDEX_WRITE)
        return ty__err(ix->err, TY_EREADONLY, "%s: opened read-only: cannot delete", ix->path);
    ty_part_t *pt = &ix->part[0];
    MDB_txn *txn;
    int rc = ty__part_txn(pt, 0, &txn, ix->err);
    if (rc)
        return rc;
    uint8_t nk[16], dk[TY_DEL_KEY_SIZE];
    ty__name_key(name, strlen(name), nk);
    MDB_val k = {16, nk}, v;
    rc = mdb_get(txn, pt->names, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ENOTFOUND, "%s: no document named '%s'", ix->path, name);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return ty__mdb_err(ix->err, pt->path, rc, "reading names");
    }
    if (v.mv_size != 4) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ECORRUPT, "%s: damaged name record", ix->path);
    }
    uint32_t id = ty__rd_le32(v.mv_data);
    ty__del_key(dk, id);
    MDB_val tk = {TY_DEL_KEY_SIZE, dk}, tv = {0, ""};
    rc = mdb_put(txn, pt->meta, &tk, &tv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ENOTFOUND, "%s: document '%s' is already deleted", ix->path,
                       name);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return ty__mdb_err(ix->err, pt->path, rc, "writing tombstone");
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return ty__mdb_err(ix->err, pt->path, rc, "commit");
    if (id_out)
        *id_out = id;
    return TY_OK;
}

/* Thread-safe on a shared handle: a read transaction of its own, no message written to the
 * handle (errors are returned as codes only). */
int ty_index_is_deleted(ty_index_t *ix, uint32_t id)
{
    if (!ix || !ix->nparts || !ix->part[0].env)
        return TY_EINVAL;
    if (ix->shards && id >= ix->shards->docs)
        return 0;
    ty_part_t *pt = &ix->part[ty__part_of(ix, id)];
    MDB_txn *txn;
    int rc = mdb_txn_begin(pt->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc == ENOMEM ? TY_ENOMEM : TY_EIO;
    rc = ty__index_deleted_in(pt, txn, id - pt->base);
    mdb_txn_abort(txn);
    return rc;
}

int ty_index_deleted_count(ty_index_t *ix, uint64_t *n)
{
    if (!ix || !ix->nparts || !ix->part[0].env || !n)
        return TY_EINVAL;
    *n = 0;
    for (size_t i = 0; i < ix->nparts; i++) {
        ty_part_t *pt = &ix->part[i];
        MDB_txn *txn;
        MDB_cursor *cur;
        int rc = ty__part_txn(pt, MDB_RDONLY, &txn, ix->err);
        if (rc)
            return rc;
        if ((rc = mdb_cursor_open(txn, pt->meta, &cur))) {
            mdb_txn_abort(txn);
            return ty__mdb_err(ix->err, pt->path, rc, "cursor");
        }
        MDB_val k = {4, (void *)TY_DEL_PREFIX}, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (k.mv_size != TY_DEL_KEY_SIZE || memcmp(k.mv_data, TY_DEL_PREFIX, 4) != 0)
                break;
            ++*n;
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        if (rc && rc != MDB_NOTFOUND)
            return ty__mdb_err(ix->err, pt->path, rc, "reading tombstones");
    }
    return TY_OK;
}
