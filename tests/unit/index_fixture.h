/*
 * index_fixture.h — what the index tests (test_index.c, test_shard.c) share beside check.h.
 */
#ifndef TY_TEST_INDEX_FIXTURE_H
#define TY_TEST_INDEX_FIXTURE_H

#include "check.h"
#include "tongyuan.h"

/* The index at path opened in mode (TY_INDEX_READ, TY_INDEX_WRITE ...): the handle, or NULL
 * after a failed check with the library's message. */
static ty_index_t *ck_index_open(const char *path, int mode)
{
    ty_index_t *ix = ty_index_new();
    int rc = ty_index_open(ix, path, mode, NULL);
    CHECKF(rc == TY_OK, "open %s: %s", path, ty_index_errmsg(ix));
    if (rc) {
        ty_index_free(ix);
        return NULL;
    }
    return ix;
}

#endif
