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
 * Shortcuts taken on purpose (until search.c and ty_index_get_doc() check tombstones):
 *  - ty_searcher_check() and ty_index_get_doc() still return a deleted document: callers
 *    filter with ty_index_is_deleted() (the server does);
 *  - the name stays taken: a deleted document's name cannot be added again;
 *  - the space is not reclaimed, and ty_index_stats() still counts the document.
 */
#include <errno.h>
#include <string.h>

#include "index.h"

#define DEL_PREFIX "del:"
#define DEL_KEY_SIZE 8

static void del_key(uint8_t k[DEL_KEY_SIZE], uint32_t id)
{
    memcpy(k, DEL_PREFIX, 4);
    ty__be32(k + 4, id);
}

static uint32_t rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ty_index_delete(ty_index_t *ix, const char *name, uint32_t *id_out)
{
    if (ix && ix->shards && name)
        return ty__shards_readonly(ix, "delete documents");
    if (!ix || !ix->env || !name)
        return TY_EINVAL;
    if (ix->mode != TY_INDEX_WRITE)
        return ty__err(ix->err, TY_EINVAL, "%s: opened read-only: cannot delete", ix->path);
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, 0, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    uint8_t nk[16], dk[DEL_KEY_SIZE];
    ty__name_key(name, strlen(name), nk);
    MDB_val k = {16, nk}, v;
    rc = mdb_get(txn, ix->names, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ENOTFOUND, "%s: no document named '%s'", ix->path, name);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return ty__mdb_err(ix, rc, "reading names");
    }
    if (v.mv_size != 4) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ECORRUPT, "%s: damaged name record", ix->path);
    }
    uint32_t id = rd_le32(v.mv_data);
    del_key(dk, id);
    MDB_val tk = {DEL_KEY_SIZE, dk}, tv = {0, ""};
    rc = mdb_put(txn, ix->meta, &tk, &tv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        return ty__err(ix->err, TY_ENOTFOUND, "%s: document '%s' is already deleted", ix->path,
                       name);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return ty__mdb_err(ix, rc, "writing tombstone");
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return ty__mdb_err(ix, rc, "commit");
    if (id_out)
        *id_out = id;
    return TY_OK;
}

int ty__index_deleted_in(ty_index_t *ix, MDB_txn *txn, uint32_t id)
{
    uint8_t dk[DEL_KEY_SIZE];
    del_key(dk, id);
    MDB_val k = {DEL_KEY_SIZE, dk}, v;
    int rc = mdb_get(txn, ix->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? TY_EIO : 1;
}

/* Thread-safe on a shared handle: a read transaction of its own, no message written to the
 * handle (errors are returned as codes only). */
int ty_index_is_deleted(ty_index_t *ix, uint32_t id)
{
    if (ix && ix->shards)
        return ty__shards_is_deleted(ix, id);
    if (!ix || !ix->env)
        return TY_EINVAL;
    MDB_txn *txn;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc == ENOMEM ? TY_ENOMEM : TY_EIO;
    uint8_t dk[DEL_KEY_SIZE];
    del_key(dk, id);
    MDB_val k = {DEL_KEY_SIZE, dk}, v;
    rc = mdb_get(txn, ix->meta, &k, &v);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? TY_EIO : 1;
}

int ty_index_deleted_count(ty_index_t *ix, uint64_t *n)
{
    if (ix && ix->shards && n)
        return ty__shards_deleted_count(ix, n);
    if (!ix || !ix->env || !n)
        return TY_EINVAL;
    *n = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ty__mdb_err(ix, rc, "begin");
    if ((rc = mdb_cursor_open(txn, ix->meta, &cur))) {
        mdb_txn_abort(txn);
        return ty__mdb_err(ix, rc, "cursor");
    }
    MDB_val k = {4, (void *)DEL_PREFIX}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != DEL_KEY_SIZE || memcmp(k.mv_data, DEL_PREFIX, 4) != 0)
            break;
        ++*n;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc && rc != MDB_NOTFOUND)
        return ty__mdb_err(ix, rc, "reading tombstones");
    return TY_OK;
}
