/*
 * mspun.h — private to spun mode's rounds across MPI ranks: the round state shared by
 * mdedup_spun.c (the rounds: deal, keys, candidates, alignment, links) and mdedup_groups.c
 * (the batch groups: the exchange of sketches and cover summaries). Not installed.
 */
#ifndef TY_MPI_MSPUN_H
#define TY_MPI_MSPUN_H

#include "mdedup.h"

typedef struct { /* minimizer record */
    uint64_t h;
    uint32_t g, pos;
} krec_t;

typedef struct { /* a round's document on the rank it was dealt to */
    uint32_t g, ntok, len, clen, usable, same;
    uint64_t ex_lo, ex_hi;
    const char *ctext;
    ty_doc_t *doc;
    ty__mzs_t mzs;
    uint8_t *boil; /* per distinct minimizer: boilerplate */
    ty__gsum_t gs; /* its cover-group summary (ty__gsum_make)... */
    uint64_t *gh;  /* ...in these when sampled */
    uint32_t *gpos;
    size_t gcap;
    size_t c0, nc; /* its candidates in sp->cands */
} bd_t;

typedef struct {
    uint32_t cand, len, clen;
    const char *ctext;
} ft_t;

struct spun {
    TY_VEC(bd_t) bd;
    uint32_t lo;    /* the round's first document */
    uint32_t *bdix; /* index in bd of each of the round's documents (TY__NONE: not here) */
    size_t nbdix;
    uint32_t *grp, *stamp; /* per round document: its batch group (ty__batch_groups), scratch */
    ty__map_t gtab;
    ty__u32vec_t glists, first;
    ty__map_t ctab; /* cover groups: the round's summaries' table, edges, scratch */
    ty__u32vec_t clists, edges;
    ty__coverbuf_t cb;
    ty__carry_t carry;       /* popular texts carried over (ty__groups_join) */
    TY_VEC(ty_doc_t *) docs; /* reused across rounds */
    char *pk, *ft;
    krec_t *kr; /* minimizer owner: the round's records, by (h, g) */
    size_t nkr;
    uint64_t *bh; /* ...their distinct minimizers and batch frequencies */
    uint32_t *bc;
    size_t nbh;
    xrec_t *xr; /* exact key owner: the round's records, by g */
    size_t nxr;
    ty__xmap_t bex;
    ty__candvec_t cands;
    ty__counter_t cnt;
    TY_VEC(ft_t) fts;
    uint64_t *uq; /* distinct minimizers of the fetched candidates, and their flags */
    uint8_t *uqf;
    size_t nuq;
    ty__verifier_t vf;
    ty_doc_t *sdoc; /* a fetched candidate */
    ty_seed_t *sseeds;
    size_t nsseeds;
    ty__unpacker_t up;
    ty_mdedup_t *m; /* step 3: the document being tried, and where its links go */
    bd_t *cur;
    lvec_t *mine;
};

/* Step 0b: every rank gets every round document's sketch and summary and computes the
 * round's groups of copies (s->grp), as one process does. */
int ty__spun_groups(ty_mdedup_t *m);

#endif
