/*
 * mspans.c — passage-level cleaning across MPI ranks (`mpirun -np N tongyuan dedup --mode
 * spans`, tongyuan_mpi.h). Every rank reads the whole input and runs its own ty_spans_t
 * (src/spans.c: the one engine, the same rules); attached here, each batch's alignments — the
 * costly part — are split between the ranks (document i of a batch on rank i mod N), and this
 * file's share() hands every rank the others' results before the batch is settled in input
 * order, the same on every rank (spans.h). So every rank keeps the same index and reports the
 * same events, those of one process, at any number of ranks.
 *
 * Shortcuts taken on purpose: the index, the kept texts and the settling of each batch (step
 * B: the batch's own candidates, the kept text, the indexing) are repeated on every rank, so
 * memory is not divided and step B bounds the speed-up; what crosses the network per batch
 * is small (the candidates and passages found, a few hundred bytes a document).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spans.h"
#include "xchg.h"

struct ty_mspans {
    ty__mpi_t x;
    ty_spans_t *sp;
    ty_buf_t b;
    char *sbuf;
    size_t scap;
    int *sc;
    uint64_t bytes;
};

static int share(void *ctx, ty_spans_t *sp, size_t n, int status, char *msg)
{
    ty_mspans_t *m = ctx;
    int rc = status;
    m->b.len = 0;
    m->b.err = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (ty__spans_mine(sp, i))
            rc = ty__spans_pack(sp, i, &m->b);
    rc = ty__mpi_agree(&m->x, rc);
    if (rc) {
        snprintf(msg, TY_ERRMSG_SIZE, "%s", m->x.err.msg[0] ? m->x.err.msg : "stopped");
        return rc;
    }
    /* the same bytes to every other rank */
    size_t len = m->b.len, need = len * (size_t)(m->x.size - 1) + 1;
    if (len > (size_t)INT32_MAX / 2)
        return ty__err(msg, TY_ETOOBIG, "a batch's alignments exceed an MPI message");
    if (m->scap < need) {
        char *p = realloc(m->sbuf, need);
        if (!p) {
            ty__mpi_oom(&m->x, "alignments to share");
            snprintf(msg, TY_ERRMSG_SIZE, "%s", m->x.err.msg);
            return TY_ENOMEM;
        }
        m->sbuf = p;
        m->scap = need;
    }
    size_t off = 0;
    for (int r = 0; r < m->x.size; r++) {
        m->sc[r] = r == m->x.rank ? 0 : (int)len;
        if (r != m->x.rank && len) {
            memcpy(m->sbuf + off, m->b.data, len);
            off += len;
        }
    }
    char *in = NULL;
    size_t nin = 0;
    rc = ty__mpi_xchg_raw(&m->x, m->sbuf, m->sc, &in, &nin, &m->bytes);
    if (rc) {
        snprintf(msg, TY_ERRMSG_SIZE, "%s", m->x.err.msg);
        return rc;
    }
    for (size_t at = 0; at < nin;) {
        size_t used = ty__spans_unpack(sp, in + at, nin - at);
        if (!used) { /* cannot happen between ranks of one build: the job cannot go on */
            free(in);
            m->x.err.stranded = 1;
            return ty__err(msg, TY_ECORRUPT, "rank %d: alignments received are damaged", m->x.rank);
        }
        at += used;
    }
    free(in);
    return TY_OK;
}

ty_mspans_t *ty_mspans_attach(ty_spans_t *sp, MPI_Comm comm, ty_mpi_err_t *err)
{
    ty_mspans_t *m = calloc(1, sizeof(*m));
    if (err)
        memset(err, 0, sizeof(*err));
    if (!m || !sp) {
        free(m);
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s", sp ? "out of memory" : "no spans handle");
        return NULL;
    }
    if (ty__mpi_open(&m->x, comm)) {
        if (err)
            *err = m->x.err;
        free(m);
        return NULL;
    }
    m->sp = sp;
    if (!(m->sc = calloc((size_t)m->x.size, sizeof(int)))) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        ty_mspans_free(m);
        return NULL;
    }
    ty__spans_share(sp, m->x.rank, m->x.size, share, m);
    return m;
}

const ty_mpi_err_t *ty_mspans_err(const ty_mspans_t *m) { return m ? &m->x.err : NULL; }

uint64_t ty_mspans_bytes(const ty_mspans_t *m) { return m ? m->bytes : 0; }

void ty_mspans_free(ty_mspans_t *m)
{
    if (!m)
        return;
    if (m->sp)
        ty__spans_share(m->sp, 0, 1, NULL, NULL);
    ty_buf_free(&m->b);
    free(m->sbuf);
    free(m->sc);
    ty__mpi_close(&m->x);
    free(m);
}
