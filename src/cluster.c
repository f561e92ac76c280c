/*
 * cluster.c — the clusters of deduplication: union-find over documents, each document's best
 * link, and after the last link one cluster number, size and keeper per cluster. Shared by
 * dedup.c and the MPI part (rank 0 of src/mpi/mdedup.c and mdedup_spun.c), so both join links by
 * the same rules and give the same results.
 *
 * Rules (none depends on the order links arrive in): a union makes the smaller root the
 * root, so a root is the earliest document of its cluster; a document's best link is the one
 * with the highest containment, ties to the smaller document number; clusters are numbered
 * by their root, in document order; the keeper is the root, or with keep_longest the first
 * document with the most code points.
 */
#include <string.h>

#include "dedup.h"

int ty__clu_add(ty__clusters_t *c, size_t n)
{
    if (ty_vec_reserve(c->d, c->d.n + n + 1))
        return TY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t g = (uint32_t)c->d.n++;
        c->d.a[g] = (ty__clu_t){g, UINT32_MAX, 0, 0, 0, 0, 0};
    }
    return TY_OK;
}

uint32_t ty__clu_find(ty__clusters_t *c, uint32_t x)
{
    ty__clu_t *d = c->d.a;
    while (d[x].parent != x) {
        d[x].parent = d[d[x].parent].parent; /* path halving */
        x = d[x].parent;
    }
    return x;
}

uint32_t ty__clu_root(const ty__clusters_t *c, uint32_t x)
{
    const ty__clu_t *d = c->d.a;
    while (d[x].parent != x)
        x = d[x].parent;
    return x;
}

static void note_best(ty__clu_t *r, uint32_t other, float sim, float cont)
{
    if (r->best == UINT32_MAX || cont > r->best_cont || (cont == r->best_cont && other < r->best)) {
        r->best = other;
        r->best_sim = sim;
        r->best_cont = cont;
    }
}

void ty__clu_link(ty__clusters_t *c, uint32_t a, uint32_t b, float sim, float cont)
{
    ty__clu_t *d = c->d.a;
    uint32_t ra = ty__clu_find(c, a), rb = ty__clu_find(c, b);
    if (ra < rb)
        d[rb].parent = ra;
    else if (rb < ra)
        d[ra].parent = rb;
    note_best(&d[a], b, sim, cont);
    note_best(&d[b], a, sim, cont);
}

int ty__clu_finish(ty__clusters_t *c, int keep_longest, size_t *nclusters)
{
    ty__clu_t *d = c->d.a;
    size_t n = c->d.n, nc = 0;
    c->keeper.n = c->csize.n = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].err)
            continue;
        uint32_t root = ty__clu_find(c, (uint32_t)i);
        if (root == i) {
            if (ty_vec_push(c->keeper, (uint32_t)i) || ty_vec_push(c->csize, 0u))
                return TY_ENOMEM;
            d[i].cluster = (uint32_t)nc++;
        } else {
            d[i].cluster = d[root].cluster; /* roots come first: root < i */
        }
        uint32_t k = c->keeper.a[d[i].cluster];
        c->csize.a[d[i].cluster]++;
        if (keep_longest && d[i].ncp > d[k].ncp)
            c->keeper.a[d[i].cluster] = (uint32_t)i;
    }
    *nclusters = nc;
    return TY_OK;
}

void ty__clu_result(const ty__clusters_t *c, size_t i, ty_dedup_result_t *res)
{
    const ty__clu_t *r = &c->d.a[i];
    memset(res, 0, sizeof(*res));
    res->err = r->err;
    if (r->err) {
        res->cluster = res->dup_of = SIZE_MAX;
        return;
    }
    res->cluster = r->cluster;
    res->cluster_size = c->csize.a[r->cluster];
    res->keep = c->keeper.a[r->cluster] == i;
    res->dup_of = SIZE_MAX;
    if (!res->keep) {
        res->dup_of = r->best != UINT32_MAX ? r->best : c->keeper.a[r->cluster];
        res->similarity = r->best != UINT32_MAX ? r->best_sim : 0;
        res->containment = r->best != UINT32_MAX ? r->best_cont : 0;
    }
}

int ty__join_finish(ty__clusters_t *c, ty_dedup_stats_t *st, int keep_longest)
{
    size_t nc = 0;
    if (ty__clu_finish(c, keep_longest, &nc))
        return TY_ENOMEM;
    st->clusters = nc;
    st->removed = c->d.n - st->errors - nc;
    return TY_OK;
}

void ty__clu_free(ty__clusters_t *c)
{
    TY_FREE(c->d.a, c->keeper.a, c->csize.a);
    memset(c, 0, sizeof(*c));
}
