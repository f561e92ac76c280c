/*
 * mdedup_groups.c — spun mode across MPI ranks, step 0b of a round (mdedup_spun.c runs the
 * rounds): the round's groups of copies. One process groups a batch's documents by sketch
 * (ty__batch_groups) and by cover (ty__cover_edges, ty__groups_join) before it counts
 * document frequencies; here each document's sketch (its TY__GROUP_SKETCH smallest
 * minimizers) and cover summary (ty__gsum_make) are on the rank it was dealt to, so every
 * rank gets every round document's (MPI_Allgatherv), builds the same table, finds the cover
 * edges of its own documents, and every rank joins the groups along all of them: the same
 * groups as one process, on every rank (the minimizer owners count groups, not documents).
 */
#include <string.h>

#include "mspun.h"

/* ---- step 0b: the round's groups of copies ---------------------------------------------- */

typedef struct { /* a document's group sketch: its TY__GROUP_SKETCH smallest minimizers */
    uint32_t g, nmz;
    uint64_t mz[TY__GROUP_SKETCH];
} gsk_t;

typedef struct { /* a document's cover summary (ty__gsum_make), followed by n gent_t */
    uint32_t g, n, ntok, rate;
} ghd_t;

typedef struct {
    uint64_t h;
    uint32_t pos, pad;
} gent_t;

typedef struct { /* a document's cover edges (ty__cover_edges) */
    uint32_t g, e[TY__COVER_TRY];
} gedge_t;

static const uint32_t *table_holders(void *ctx, uint64_t h, uint32_t *n)
{
    const spun_t *s = ctx;
    return ty__cover_holders(&s->ctab, &s->clists, h, n);
}

/* The cover step of the groups (ty__cover_edges): every rank gets every round document's
 * summary and builds the same table; each finds the edges of its own documents, and every
 * rank joins the groups along all of them (ty__groups_join), as one process does. */
static int cover_groups(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t n = s->nbdix, nh = 0, ne = 0, nent = 0;
    int rc = TY_OK;
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        bd_t *b = &s->bd.a[i];
        b->gs = ty__gsum_make(&b->mzs, b->ntok, &b->gh, &b->gpos, &b->gcap);
        if (!b->gs.rate)
            rc = ty__mpi_oom(&m->x, "groups");
        nent += b->gs.n;
    }
    ghd_t *hd = calloc(s->bd.n + 1, sizeof(ghd_t));
    gent_t *en = calloc(nent + 1, sizeof(gent_t));
    ty__gsum_t *gs = calloc(n + 1, sizeof(ty__gsum_t));
    uint64_t *hv = NULL;
    uint32_t *pv = NULL;
    void *ahd = NULL, *aen = NULL, *aed = NULL;
    gedge_t *ed = NULL;
    if (!rc && (!hd || !en || !gs))
        rc = ty__mpi_oom(&m->x, "groups");
    nent = 0;
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        const ty__gsum_t *g = &b->gs;
        hd[i] = (ghd_t){b->g, g->n, g->ntok, g->rate};
        for (uint32_t x = 0; x < g->n; x++)
            en[nent++] = (gent_t){g->h[x], g->pos[x], 0};
    }
    if (!rc)
        rc = ty__mpi_allgather(&m->x, hd, s->bd.n, sizeof(ghd_t), &ahd, &nh, &m->ms.gather_bytes);
    if (!rc)
        rc = ty__mpi_allgather(&m->x, en, nent, sizeof(gent_t), &aen, &ne, &m->ms.gather_bytes);
    if (!rc && (!(hv = malloc((ne + 1) * sizeof(uint64_t))) ||
                !(pv = malloc((ne + 1) * sizeof(uint32_t)))))
        rc = ty__mpi_oom(&m->x, "groups");
    /* headers and entries come in the same order (by rank, then as listed) */
    const ghd_t *h = ahd;
    const gent_t *e = aen;
    for (size_t i = 0, off = 0; !rc && i < nh; off += h[i++].n) {
        size_t j = h[i].g - s->lo;
        if (j >= n || off + h[i].n > ne) {
            rc = ty__mpi_oom(&m->x, "groups: a summary out of its round"); /* cannot happen */
            break;
        }
        for (uint32_t x = 0; x < h[i].n; x++) {
            hv[off + x] = e[off + x].h;
            pv[off + x] = e[off + x].pos;
        }
        gs[j] = (ty__gsum_t){hv + off, pv + off, h[i].n, h[i].ntok, h[i].rate};
    }
    if (!rc && ty__cover_table(gs, n, &s->ctab, &s->clists))
        rc = ty__mpi_oom(&m->x, "groups");
    /* this rank's documents that started a group of their own: their edges */
    if (!rc && !(ed = calloc(s->bd.n + 1, sizeof(gedge_t))))
        rc = ty__mpi_oom(&m->x, "groups");
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        size_t j = s->bd.a[i].g - s->lo;
        ed[i].g = s->bd.a[i].g;
        for (int t = 0; t < TY__COVER_TRY; t++)
            ed[i].e[t] = TY__NONE;
        if (s->grp[j] == (uint32_t)j &&
            ty__cover_edges(&m->R, gs, n, j, table_holders, s, &s->carry, &s->cb, ed[i].e))
            rc = ty__mpi_oom(&m->x, "groups");
    }
    size_t nd = 0;
    if (!rc)
        rc = ty__mpi_allgather(&m->x, ed, s->bd.n, sizeof(gedge_t), &aed, &nd, &m->ms.gather_bytes);
    if (!rc && ty_vec_reserve(s->edges, n * TY__COVER_TRY + 1))
        rc = ty__mpi_oom(&m->x, "groups");
    if (!rc) {
        memset(s->edges.a, 0xff, n * TY__COVER_TRY * sizeof(uint32_t));
        const gedge_t *a = aed;
        for (size_t i = 0; i < nd; i++)
            if (a[i].g - s->lo < n)
                memcpy(s->edges.a + (a[i].g - s->lo) * TY__COVER_TRY, a[i].e, sizeof a[i].e);
        if (ty__groups_join(s->grp, s->edges.a, n, gs, &s->carry))
            rc = ty__mpi_oom(&m->x, "groups");
    }
    TY_FREE(hd, en, gs, hv, pv, ahd, aen, aed, ed);
    return rc;
}

/* Every rank gets every round document's sketch and computes the same groups as one
 * process does (ty__batch_groups, then cover_groups): the minimizer owners count groups, not
 * documents. */
int ty__spun_groups(ty_mdedup_t *m)
{
    spun_t *s = m->sp;
    size_t n = s->nbdix, nall = 0;
    gsk_t *mine = calloc(s->bd.n + 1, sizeof(gsk_t));
    const uint64_t **mzp = calloc(n + 1, sizeof(*mzp));
    uint32_t *nmz = calloc(n + 1, sizeof(uint32_t));
    if (!s->grp) {
        s->grp = malloc((n + TY__CARRY_MAX + 1) * sizeof(uint32_t));
        s->stamp = malloc((n + 1) * sizeof(uint32_t));
    }
    int rc = !mine || !mzp || !nmz || !s->grp || !s->stamp ? ty__mpi_oom(&m->x, "groups") : TY_OK;
    for (size_t i = 0; !rc && i < s->bd.n; i++) {
        const bd_t *b = &s->bd.a[i];
        mine[i].g = b->g;
        mine[i].nmz = b->mzs.nmz;
        for (uint32_t j = 0; j < b->mzs.nmz && j < TY__GROUP_SKETCH; j++)
            mine[i].mz[j] = b->mzs.mz[j];
    }
    void *all = NULL;
    if (!rc)
        rc = ty__mpi_allgather(&m->x, mine, s->bd.n, sizeof(gsk_t), &all, &nall,
                               &m->ms.gather_bytes);
    const gsk_t *a = all;
    for (size_t i = 0; !rc && i < nall; i++) {
        size_t j = a[i].g - s->lo;
        if (j < n) {
            mzp[j] = a[i].mz;
            nmz[j] = a[i].nmz;
        }
    }
    if (!rc && ty__batch_groups(mzp, nmz, n, s->grp, &s->gtab, &s->glists))
        rc = ty__mpi_oom(&m->x, "groups");
    if (!rc)
        rc = cover_groups(m);
    if (!rc)
        memset(s->stamp, 0, n * sizeof(uint32_t));
    TY_FREE(all, mine, mzp, nmz);
    return rc;
}
